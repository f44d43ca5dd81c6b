/*
 * libFuzzer target: arbitrary frames into a stack that has a listener and a
 * live TCP connection (made over a memlink, deterministic), in virtual time.
 * Built a second time with UST_FUZZ_CALLS (fuzz_stack_calls): socket calls
 * on either end mixed with the frames.
 *
 * Input: records of [mode:1][len:2 BE][frame:len]. Mode bits let the fuzzer
 * reach deep states without guessing 32-bit numbers: bit 0 writes a valid
 * Ethernet header, bit 1 a valid IPv4 header (addresses of the connection,
 * right length and checksum), bit 2 the connection's ports with seq/ack taken
 * as offsets from rcv_nxt/snd_una, bit 3 a valid TCP checksum; the high
 * nibble advances time by that many 10 ms steps. A frame whose ethertype is
 * IPv6 keeps it: bit 1 then writes the IPv6 header (A to B, right length)
 * and bit 3 the checksum of an ICMPv6, UDP or TCP header right after it. With UST_FUZZ_CALLS a mode
 * with bit 7 set is instead a call [op:1][a:1][b:1] (see do_call).
 *
 * Speed: the two stacks, the listener and the connection are built once per
 * process, and the heap is snapshotted then (snapshot.c); after each input
 * the heap and this file's state are copied back, so every input starts
 * from the same bytes without a handshake or a teardown (the code those run
 * would also be coverage libFuzzer has to sift through on every input).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "stack/netif/memlink.h"
#include "stack/sock.h"
#include "stack/stack.h"
#include "stack/tcp/tcp_var.h"
#include "stack/wire/bytes.h"
#include "stack/wire/csum.h"
#include "snapshot.h"

#define IP_A 0xc6120001u
#define IP_B 0xc6120002u
static const uint8_t A6[16] = {0x20, 0x01, 0, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};
static const uint8_t B6[16] = {0x20, 0x01, 0, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2};
#define CLIENT_PORT 40000
#define FRAMES 512 /* per end: the queues an input can fill, no more */

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t len);

struct world {
	struct ust_memlink *link; /* the wire */
	struct ust_stack *a;      /* client */
	struct ust_stack *b;      /* server under attack */
	struct ust_sock *l;       /* listener on B:80 */
	struct ust_sock *c;       /* client end, or NULL once closed */
	struct ust_sock *v;       /* server end, or NULL once closed */
	struct ust_sock *extra[4]; /* more accepted connections (calls target) */
	uint64_t now;             /* virtual time */
};

static struct world w, w0; /* w0: as at the snapshot */
static int built;

static void
run(uint64_t dt)
{
	uint64_t end = w.now + dt;
	for (int guard = 0; guard < 100000; guard++) {
		ust_memlink_set_time(w.link, w.now);
		while (ust_stack_poll(w.a, w.now) + ust_stack_poll(w.b, w.now) > 0)
			;
		uint64_t next = ust_memlink_next_delivery(w.link);
		uint64_t da = ust_stack_next_deadline(w.a), db = ust_stack_next_deadline(w.b);
		next = next < da ? next : da;
		next = next < db ? next : db;
		if (next <= w.now)
			next = w.now + 1;
		if (next > end)
			break;
		w.now = next;
	}
	w.now = end;
}

static struct ust_sock *
listener(void)
{
	struct ust_sock *l;
	int one = 1;
	if (ust_sock_open(w.b, UST_AF_INET, UST_SOCK_STREAM, &l) != 0)
		abort();
	ust_sock_setopt(l, UST_SOL_SOCKET, UST_SO_REUSEADDR, &one, sizeof(one));
	struct ust_sockaddr la = {.family = UST_AF_INET, .port = 80};
	if (ust_sock_bind(l, &la) != 0 || ust_sock_listen(l, 4) != 0)
		abort();
	return l;
}

/* The connection the inputs attack: A's port CLIENT_PORT to B:80, with a
 * request delivered. */
static void
connect_pair(void)
{
	int one = 1;
	if (ust_sock_open(w.a, UST_AF_INET, UST_SOCK_STREAM, &w.c) != 0)
		abort();
	ust_sock_setopt(w.c, UST_SOL_SOCKET, UST_SO_REUSEADDR, &one, sizeof(one));
	struct ust_sockaddr ca = {.family = UST_AF_INET, .port = CLIENT_PORT};
	struct ust_sockaddr to = {.family = UST_AF_INET, .addr4 = IP_B, .port = 80};
	ust_sock_bind(w.c, &ca);
	ust_sock_connect(w.c, &to);
	run(5 * UST_NS_PER_MS);
	if (ust_sock_accept(w.l, &w.v, NULL) != 0)
		abort();
	ust_sock_send(w.c, "GET / HTTP/1.0\r\n\r\n", 18, 0);
	run(5 * UST_NS_PER_MS);
	/* Answered, so both ends' rings exist in the snapshot rather than
	 * being allocated anew by most inputs. */
	char buf[64];
	ust_sock_recv(w.v, buf, sizeof(buf), 0);
	ust_sock_send(w.v, "ok\n", 3, 0);
	run(5 * UST_NS_PER_MS);
	ust_sock_recv(w.c, buf, sizeof(buf), 0);
}

static void
build(void)
{
	snapshot_track();
	memset(&w, 0, sizeof(w));
	w.now = UST_NS_PER_S;
	w.link = ust_memlink_create(FRAMES, 7);
	struct ust_stack_config ca = {.ip4_addr = IP_A, .ip4_prefix = 24, .seed = 1};
	struct ust_stack_config cb = {.ip4_addr = IP_B, .ip4_prefix = 24, .seed = 2};
	ca.ip6_enable = cb.ip6_enable = true;
	ca.ip6_prefix = cb.ip6_prefix = 64;
	memcpy(ca.ip6_addr, A6, 16);
	memcpy(cb.ip6_addr, B6, 16);
	w.a = ust_stack_create(&ca, ust_memlink_netif(w.link, 0), w.now);
	w.b = ust_stack_create(&cb, ust_memlink_netif(w.link, 1), w.now);
	/* 16 KiB rings: full windows come sooner. */
	for (int i = 0; i < 2; i++) {
		struct ust_sysctl *sc = i == 0 ? &w.a->sysctl : &w.b->sysctl;
		ust_sysctl_set(sc, "net.ipv4.tcp_rmem", "4096 8192 6291456");
		ust_sysctl_set(sc, "net.ipv4.tcp_wmem", "1024 1024 4194304");
	}
	/* Past duplicate address detection, so B's IPv6 address is its own. */
	run(1100 * UST_NS_PER_MS);
	w.l = listener();
	connect_pair();
	/* Quiet before the snapshot: nothing on the wire, the ACK sent. */
	run(100 * UST_NS_PER_MS);
	snapshot_take((size_t)FRAMES * UST_PKT_BUF_SIZE);
	w0 = w;
	built = 1;
}

static void
fix_frame(uint8_t mode, uint8_t *f, uint32_t n)
{
	struct ust_netif *na = ust_memlink_netif(w.link, 0), *nb = ust_memlink_netif(w.link, 1);
	bool v6 = n >= 14 && ust_get16(f + 12) == 0x86dd;
	if ((mode & 1) && n >= 14) {
		memcpy(f, nb->mac, 6);
		memcpy(f + 6, na->mac, 6);
		ust_put16(f + 12, v6 ? 0x86dd : 0x0800);
	}
	if (v6) {
		if (!(mode & 2) || n < 54)
			return;
		uint8_t *ip = f + 14;
		uint32_t plen = n - 54;
		ip[0] = (uint8_t)(0x60 | (ip[0] & 0xf));
		ust_put16(ip + 4, (uint16_t)plen);
		memcpy(ip + 8, A6, 16);
		memcpy(ip + 24, B6, 16);
		int at = ip[6] == 58 ? 2 : ip[6] == 17 ? 6 : ip[6] == 6 ? 16 : -1;
		if ((mode & 8) && at >= 0 && plen >= (uint32_t)at + 2) {
			ust_put16(ip + 40 + at, 0);
			uint32_t ps = ust_csum_pseudo6(A6, B6, ip[6], plen);
			ust_put16(ip + 40 + at, ust_csum_fold(ust_csum_partial(ip + 40, plen, ps)));
		}
		return;
	}
	if (!(mode & 2) || n < 34)
		return;
	uint8_t *ip = f + 14;
	uint32_t iplen = n - 14;
	ip[0] = 0x45;
	ust_put16(ip + 2, (uint16_t)iplen);
	ip[9] = 6;
	ust_put32(ip + 12, IP_A);
	ust_put32(ip + 16, IP_B);
	ust_put16(ip + 10, 0);
	ust_put16(ip + 10, ust_csum_fold(ust_csum_partial(ip, 20, 0)));
	if (iplen < 40)
		return;
	uint8_t *th = ip + 20;
	if ((mode & 4) && w.v != NULL) {
		struct tcpcb *tv = (struct tcpcb *)w.v;
		ust_put16(th, tv->s.remote.port);
		ust_put16(th + 2, tv->s.local.port);
		ust_put32(th + 4, tv->rcv_nxt + ust_get32(th + 4) % 70000u);
		ust_put32(th + 8, tv->snd_una + ust_get32(th + 8) % 70000u);
	}
	if (mode & 8) {
		ust_put16(th + 16, 0);
		uint32_t ps = ust_csum_pseudo4(IP_A, IP_B, 6, (uint16_t)(iplen - 20));
		ust_put16(th + 16, ust_csum_fold(ust_csum_partial(th, iplen - 20, ps)));
	}
}

#ifdef UST_FUZZ_CALLS
/* Options a program may set, with a value drawn from the input. */
static const struct {
	int level, name, scale;
} opts[] = {
	{UST_SOL_TCP, UST_TCP_NODELAY, 1},       {UST_SOL_TCP, UST_TCP_CORK, 1},
	{UST_SOL_TCP, UST_TCP_QUICKACK, 1},      {UST_SOL_TCP, UST_TCP_MAXSEG, 8},
	{UST_SOL_TCP, UST_TCP_WINDOW_CLAMP, 64}, {UST_SOL_TCP, UST_TCP_USER_TIMEOUT, 10},
	{UST_SOL_TCP, UST_TCP_NOTSENT_LOWAT, 16}, {UST_SOL_TCP, UST_TCP_LINGER2, 1},
	{UST_SOL_TCP, UST_TCP_KEEPIDLE, 1},      {UST_SOL_TCP, UST_TCP_KEEPINTVL, 1},
	{UST_SOL_TCP, UST_TCP_KEEPCNT, 1},       {UST_SOL_SOCKET, UST_SO_KEEPALIVE, 1},
	{UST_SOL_SOCKET, UST_SO_RCVBUF, 256},    {UST_SOL_SOCKET, UST_SO_SNDBUF, 256},
	{UST_SOL_TCP, UST_TCP_INQ, 1},           {UST_SOL_IP, UST_IP_MTU_DISCOVER, 1},
};

/* op bits 0-3: what; bit 4: on the client end instead of the server's. */
static void
do_call(uint8_t op, uint8_t a, uint8_t b)
{
	struct ust_sock **s = (op & 0x10) ? &w.c : &w.v;
	static uint8_t buf[4096];
	switch (op & 0x0f) {
	case 0:
		if (*s != NULL) {
			memset(buf, a, sizeof(buf));
			ust_sock_send(*s, buf, (size_t)a * 16, (b & 1) ? UST_MSG_MORE : 0);
		}
		break;
	case 1:
		if (*s != NULL)
			ust_sock_recv(*s, buf, (size_t)a * 16 + 1, (b & 1) ? UST_MSG_PEEK : 0);
		break;
	case 2:
		if (*s != NULL)
			ust_sock_shutdown(*s, a % 3);
		break;
	case 3:
		if (*s != NULL) {
			unsigned i = a % (sizeof(opts) / sizeof(opts[0]));
			int v = (int)b * opts[i].scale - ((a & 0x80) ? 1 : 0);
			ust_sock_setopt(*s, opts[i].level, opts[i].name, &v, sizeof(v));
		}
		break;
	case 4:
		if (*s != NULL) {
			size_t len = sizeof(buf);
			ust_sock_getopt(*s, UST_SOL_TCP, a & 1 ? UST_TCP_INFO : UST_TCP_MAXSEG, buf, &len);
		}
		break;
	case 5:
		/* A graceful close: the connection lives on as an orphan. */
		if (*s != NULL) {
			ust_sock_close(*s);
			*s = NULL;
		}
		break;
	case 6:
		run((uint64_t)a * 100 * UST_NS_PER_MS);
		break;
	case 7:
		for (int i = 0; i < 4; i++)
			if (w.extra[i] == NULL) {
				if (ust_sock_accept(w.l, &w.extra[i], NULL) != 0)
					w.extra[i] = NULL;
				break;
			}
		break;
	default:
		break;
	}
	run(1);
}
#endif

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	if (!built)
		build();
	size_t off = 0;
	while (off + 3 <= len) {
		uint8_t mode = data[off];
#ifdef UST_FUZZ_CALLS
		if (mode & 0x80) {
			do_call(mode & 0x7f, data[off + 1], data[off + 2]);
			off += 3;
			continue;
		}
#endif
		uint32_t n = (uint32_t)data[off + 1] << 8 | data[off + 2];
		off += 3;
		if (n > len - off)
			n = (uint32_t)(len - off);
		if (n > 1514)
			n = 1514;
		uint8_t frame[1514];
		memcpy(frame, data + off, n);
		off += n;
		fix_frame(mode, frame, n);
		ust_memlink_inject(w.link, 0, frame, n);
		run((uint64_t)(mode >> 4) * 10 * UST_NS_PER_MS + 1);
		/* The server keeps serving: read what arrived, answer a little. */
		char buf[2048];
		while (w.v != NULL && ust_sock_recv(w.v, buf, sizeof(buf), 0) > 0)
			ust_sock_send(w.v, "ok\n", 3, 0);
	}
	/* Let the timers the input armed run a while, as a peer would wait. */
	run(3 * UST_NS_PER_S);
	snapshot_restore();
	w = w0;
	return 0;
}
