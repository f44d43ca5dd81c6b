/*
 * libFuzzer target: arbitrary frames into a stack that has a listener and a
 * live TCP connection (made over a memlink, deterministic), in virtual time.
 *
 * Input: records of [mode:1][len:2 BE][frame:len]. Mode bits let the fuzzer
 * reach deep states without guessing 32-bit numbers: bit 0 writes a valid
 * Ethernet header, bit 1 a valid IPv4 header (addresses of the connection,
 * right length and checksum), bit 2 the connection's ports with seq/ack taken
 * as offsets from rcv_nxt/snd_una, bit 3 a valid TCP checksum; the high
 * nibble advances time by that many 10 ms steps. Afterwards timers run out
 * and both stacks are destroyed: every packet buffer must come back.
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

#define IP_A 0xc6120001u
#define IP_B 0xc6120002u

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t len);

struct world {
	struct ust_memlink *link; /* the wire */
	struct ust_stack *a;      /* client */
	struct ust_stack *b;      /* server under attack */
	struct ust_sock *l;       /* listener on B:80 */
	struct ust_sock *c;       /* client end */
	struct ust_sock *v;       /* server end */
	uint64_t now;             /* virtual time */
};

static void
run(struct world *w, uint64_t dt)
{
	uint64_t end = w->now + dt;
	for (int guard = 0; guard < 100000; guard++) {
		ust_memlink_set_time(w->link, w->now);
		while (ust_stack_poll(w->a, w->now) + ust_stack_poll(w->b, w->now) > 0)
			;
		uint64_t next = ust_memlink_next_delivery(w->link);
		uint64_t da = ust_stack_next_deadline(w->a), db = ust_stack_next_deadline(w->b);
		next = next < da ? next : da;
		next = next < db ? next : db;
		if (next <= w->now)
			next = w->now + 1;
		if (next > end)
			break;
		w->now = next;
	}
	w->now = end;
}

static void
setup(struct world *w)
{
	memset(w, 0, sizeof(*w));
	w->now = UST_NS_PER_S;
	w->link = ust_memlink_create(2048, 7);
	struct ust_stack_config ca = {.ip4_addr = IP_A, .ip4_prefix = 24, .seed = 1};
	struct ust_stack_config cb = {.ip4_addr = IP_B, .ip4_prefix = 24, .seed = 2};
	w->a = ust_stack_create(&ca, ust_memlink_netif(w->link, 0), w->now);
	w->b = ust_stack_create(&cb, ust_memlink_netif(w->link, 1), w->now);
	ust_sock_open(w->b, UST_AF_INET, UST_SOCK_STREAM, &w->l);
	struct ust_sockaddr la = {.family = UST_AF_INET, .port = 80};
	ust_sock_bind(w->l, &la);
	ust_sock_listen(w->l, 4);
	ust_sock_open(w->a, UST_AF_INET, UST_SOCK_STREAM, &w->c);
	struct ust_sockaddr to = {.family = UST_AF_INET, .addr4 = IP_B, .port = 80};
	ust_sock_connect(w->c, &to);
	run(w, 50 * UST_NS_PER_MS);
	if (ust_sock_accept(w->l, &w->v, NULL) != 0)
		abort();
	ust_sock_send(w->c, "GET / HTTP/1.0\r\n\r\n", 18, 0);
	run(w, 50 * UST_NS_PER_MS);
}

static void
fix_frame(struct world *w, uint8_t mode, uint8_t *f, uint32_t n)
{
	struct ust_netif *na = ust_memlink_netif(w->link, 0), *nb = ust_memlink_netif(w->link, 1);
	if ((mode & 1) && n >= 14) {
		memcpy(f, nb->mac, 6);
		memcpy(f + 6, na->mac, 6);
		ust_put16(f + 12, 0x0800);
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
	if (mode & 4) {
		struct tcpcb *tv = (struct tcpcb *)w->v;
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

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	struct world w;
	setup(&w);
	size_t off = 0;
	while (off + 3 <= len) {
		uint8_t mode = data[off];
		uint32_t n = (uint32_t)data[off + 1] << 8 | data[off + 2];
		off += 3;
		if (n > len - off)
			n = (uint32_t)(len - off);
		if (n > 1514)
			n = 1514;
		uint8_t frame[1514];
		memcpy(frame, data + off, n);
		off += n;
		fix_frame(&w, mode, frame, n);
		ust_memlink_inject(w.link, 0, frame, n);
		run(&w, (uint64_t)(mode >> 4) * 10 * UST_NS_PER_MS + 1);
		/* The server keeps serving: read what arrived, answer a little. */
		char buf[2048];
		while (ust_sock_recv(w.v, buf, sizeof(buf), 0) > 0)
			ust_sock_send(w.v, "ok\n", 3, 0);
	}
	run(&w, 200 * UST_NS_PER_S);
	ust_sock_close(w.c);
	ust_sock_close(w.v);
	ust_sock_close(w.l);
	run(&w, 200 * UST_NS_PER_S);
	ust_stack_destroy(w.a);
	ust_stack_destroy(w.b);
	ust_memlink_set_time(w.link, UINT64_MAX - 1);
	struct ust_pkt *p[32];
	for (unsigned e = 0; e < 2; e++) {
		struct ust_netif *nif = ust_memlink_netif(w.link, e);
		uint16_t k;
		while ((k = nif->ops->rx_burst(nif, p, 32)) > 0)
			ust_pkt_free_bulk(p, k);
	}
	if (ust_memlink_in_use(w.link, 0) != 0 || ust_memlink_in_use(w.link, 1) != 0)
		abort(); /* a leaked packet buffer */
	ust_memlink_destroy(w.link);
	return 0;
}
