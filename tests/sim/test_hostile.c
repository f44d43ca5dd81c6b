/*
 * Hostile peers, each against a real stack in virtual time (run under ASan
 * in the sanitizer build): the stack stays responsive and its memory stays
 * under its caps. The peer is crafted segments from A's address; the stack
 * under attack is B. Segment-level hostility the kernel can be asked about
 * (tiny and zero MSS, window scale 15, malformed options, SYN with data,
 * data after FIN) is in tests/wire/scripts instead.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "harness.h"
#include "stack/tcp/tcp_var.h"
#include "stack/wire/icmp.h"
#include "stack/wire/ipv4.h"

#define PEER_PORT 40000

static struct tcpcb *
tcb(struct ust_sock *s)
{
	return (struct tcpcb *)s;
}

/* A crafted segment from A (port `port`) to B:80. */
static void
peer_send(struct sim *s, uint16_t port, uint32_t seq, uint32_t ack, uint8_t flags, uint16_t win,
	  const uint8_t *opt, uint8_t opt_len, const void *data, uint16_t len)
{
	struct sim_seg g = {.src = SIM_IP_A, .dst = SIM_IP_B, .sport = port, .dport = 80, .seq = seq,
			    .ack = ack, .flags = flags, .win = win, .opt = opt, .opt_len = opt_len,
			    .data = data, .len = len};
	sim_inject_tcp(s, 0, &g);
}

/* A's stack must not answer B for the crafted connections: cut B → A. */
static struct sim *
hostile_sim(uint64_t seed)
{
	struct sim *s = sim_new(seed, NULL, NULL);
	struct ust_memlink_impair cut = {.partitioned = true};
	ust_memlink_set_impair(s->link, 1, &cut);
	/* B's sends are queued whole: a send buffer as large as them from the
	 * start (autotuning would size it for MSS 48). */
	s->b->sysctl.tcp_wmem[1] = 262144;
	return s;
}

/* Handshake from the crafted peer on `port`: returns B's accepted socket. */
static struct ust_sock *
peer_connect(struct sim *s, struct ust_sock *l, uint16_t port, uint32_t isn, const uint8_t *opt,
	     uint8_t opt_len)
{
	peer_send(s, port, isn, 0, UST_TCP_SYN, 65535, opt, opt_len, NULL, 0);
	sim_run_for(s, UST_NS_PER_MS);
	struct tcpcb *c = NULL;
	for (struct tcpcb *tp = s->b->tcp->all; tp != NULL; tp = tp->all_next)
		if (tp->s.remote.port == port && tp->state == TCPS_SYN_RECEIVED)
			c = tp;
	assert_non_null(c);
	peer_send(s, port, isn + 1, c->iss + 1, UST_TCP_ACK, 65535, NULL, 0, NULL, 0);
	sim_run_for(s, UST_NS_PER_MS);
	struct ust_sock *v = NULL;
	assert_int_equal(ust_sock_accept(l, &v, NULL), 0);
	return v;
}

/* Bytes the peer resends with other contents never replace what the
 * reader will get: the first copy wins, out of order and in order. */
static void
test_hostile_overlap_first_copy_wins(void **state)
{
	(void)state;
	struct sim *s = hostile_sim(61);
	struct ust_sock *l = sim_listen(s->b, 80, 8);
	struct ust_sock *v = peer_connect(s, l, PEER_PORT, 1000, NULL, 0);
	uint32_t una = tcb(v)->iss + 1;
	peer_send(s, PEER_PORT, 1001 + 100, una, UST_TCP_ACK, 65535, NULL, 0, "AAAA", 4);
	peer_send(s, PEER_PORT, 1001 + 100, una, UST_TCP_ACK, 65535, NULL, 0, "BBBB", 4);
	peer_send(s, PEER_PORT, 1001 + 98, una, UST_TCP_ACK, 65535, NULL, 0, "CCCCCCCC", 8);
	uint8_t fill[110];
	memset(fill, 'x', sizeof(fill));
	peer_send(s, PEER_PORT, 1001, una, UST_TCP_ACK | UST_TCP_PSH, 65535, NULL, 0, fill, sizeof(fill));
	sim_run_for(s, UST_NS_PER_MS);
	char got[200];
	assert_int_equal(ust_sock_recv(v, got, sizeof(got), 0), 110);
	assert_memory_equal(got + 96, "xxCCAAAACC", 10);
	ust_sock_close(v);
	ust_sock_close(l);
	sim_run_for(s, 130 * UST_NS_PER_S);
	sim_free(s);
}

/* Every flag combination on an established connection, in window: only an
 * exact RST closes it; the stack keeps serving a second, real connection. */
static void
test_hostile_every_flag_combination(void **state)
{
	(void)state;
	struct sim *s = sim_new(62, NULL, NULL);
	for (unsigned f = 0; f < 256; f++) {
		struct ust_sock *c, *v;
		sim_connect_pair(s, (uint16_t)(1000 + f), &c, &v);
		struct tcpcb *t = tcb(v);
		uint32_t seq = t->rcv_nxt, ack = t->snd_una;
		struct sim_seg g = {.src = t->s.remote.addr4, .dst = t->s.local.addr4,
				    .sport = t->s.remote.port, .dport = t->s.local.port, .seq = seq, .ack = ack,
				    .flags = (uint8_t)f, .win = 65535, .data = (const uint8_t *)"0123456789",
				    .len = 10};
		sim_inject_tcp(s, 0, &g);
		sim_run_for(s, 10 * UST_NS_PER_MS);
		bool reset = (f & UST_TCP_RST) && !(f & UST_TCP_SYN);
		if (reset)
			assert_int_equal(t->state, TCPS_CLOSED);
		else if (!(f & UST_TCP_SYN) && (f & UST_TCP_ACK))
			assert_true(t->state == TCPS_ESTABLISHED || t->state == TCPS_CLOSE_WAIT);
		ust_sock_close(c);
		ust_sock_close(v);
		sim_run_for(s, 100 * UST_NS_PER_MS);
	}
	/* Still a stack that serves. */
	struct ust_sock *c, *v;
	sim_connect_pair(s, 2000, &c, &v);
	assert_int_equal(ust_sock_send(c, "ping", 4, 0), 4);
	sim_run_for(s, 100 * UST_NS_PER_MS);
	char buf[8];
	assert_int_equal(ust_sock_recv(v, buf, sizeof(buf), 0), 4);
	ust_sock_close(c);
	ust_sock_close(v);
	sim_run_for(s, 130 * UST_NS_PER_S);
	sim_free(s);
}

/* One-byte segments at random offsets of the window on several
 * connections: the out-of-order map stays at its cap (the excess is
 * counted and dropped), and each connection still delivers in order once
 * the holes are filled. */
static void
test_hostile_ooo_one_byte_capped(void **state)
{
	(void)state;
	struct sim *s = hostile_sim(63);
	struct ust_sock *l = sim_listen(s->b, 80, 16);
	struct ust_sock *v[4];
	for (int k = 0; k < 4; k++)
		v[k] = peer_connect(s, l, (uint16_t)(PEER_PORT + k), 5000, NULL, 0);
	uint64_t rng = 0x1234;
	for (int i = 0; i < 20000; i++) {
		rng = rng * 6364136223846793005ull + 1442695040888963407ull;
		int k = (int)(rng >> 62);
		uint32_t off = 1 + (uint32_t)((rng >> 20) % 60000);
		peer_send(s, (uint16_t)(PEER_PORT + k), 5001 + off, tcb(v[k])->snd_una, UST_TCP_ACK, 65535,
			  NULL, 0, "z", 1);
		if (i % 64 == 0)
			sim_run_for(s, UST_NS_PER_MS);
	}
	sim_run_for(s, UST_NS_PER_MS);
	for (int k = 0; k < 4; k++)
		assert_true(tcb(v[k])->nooo <= TCP_OOO_RANGES);
	assert_true(s->b->stats.drop[UST_DROP_TCP_OOO_MEM] > 0);
	/* The holes filled in order: every connection delivers what it got. */
	static uint8_t fill[1460];
	memset(fill, 'f', sizeof(fill));
	for (int k = 0; k < 4; k++) {
		uint32_t base = 5001;
		for (uint32_t off = 0; off < 61000; off += sizeof(fill))
			peer_send(s, (uint16_t)(PEER_PORT + k), base + off, tcb(v[k])->snd_una, UST_TCP_ACK,
				  65535, NULL, 0, fill, sizeof(fill));
		sim_run_for(s, UST_NS_PER_MS);
		assert_true(ust_sock_nread(v[k]) >= 61000);
		assert_int_equal(tcb(v[k])->nooo, 0);
	}
	for (int k = 0; k < 4; k++)
		ust_sock_close(v[k]);
	ust_sock_close(l);
	sim_run_for(s, 130 * UST_NS_PER_S);
	sim_free(s);
}

/* MSS 48 and SACK blocks that split the scoreboard at every other segment:
 * the scoreboard stays at its cap and its byte count below what is in
 * flight; the connection completes once the peer acknowledges. */
static void
test_hostile_sack_split_at_min_mss(void **state)
{
	(void)state;
	struct sim *s = hostile_sim(64);
	struct ust_sock *l = sim_listen(s->b, 80, 8);
	const uint8_t opt[] = {2, 4, 0, 1, 4, 2, 1, 1}; /* MSS 1, SACK permitted */
	struct ust_sock *v = peer_connect(s, l, PEER_PORT, 7000, opt, sizeof(opt));
	struct tcpcb *t = tcb(v);
	assert_int_equal(t->mss, TCP_MIN_SND_MSS);
	static uint8_t buf[200000];
	assert_int_equal(ust_sock_send(v, buf, sizeof(buf), 0), (ssize_t)sizeof(buf));
	sim_run_for(s, UST_NS_PER_MS);
	/* Hostile ACKs: cumulative ACK stuck at the start, four SACK blocks
	 * each, every other segment, walking up the window. */
	uint32_t una = t->snd_una;
	for (uint32_t i = 0; i < 5000; i++) {
		uint8_t sack[36] = {1, 1, 5, 34};
		for (int b = 0; b < 4; b++) {
			uint32_t start = una + 48 * (2 * ((i * 4 + b) % 1000) + 1);
			uint8_t *p = sack + 4 + 8 * b;
			p[0] = (uint8_t)(start >> 24), p[1] = (uint8_t)(start >> 16);
			p[2] = (uint8_t)(start >> 8), p[3] = (uint8_t)start;
			uint32_t end = start + 48;
			p[4] = (uint8_t)(end >> 24), p[5] = (uint8_t)(end >> 16);
			p[6] = (uint8_t)(end >> 8), p[7] = (uint8_t)end;
		}
		peer_send(s, PEER_PORT, 7001, una, UST_TCP_ACK, 65535, sack, sizeof(sack), NULL, 0);
		if (i % 16 == 0)
			sim_run_for(s, 100 * UST_NS_PER_US);
		assert_true(t->nsacked <= TCP_SACK_RANGES);
		assert_true(tcp_sacked_bytes(t) <= t->snd_max - t->snd_una);
	}
	/* The peer comes clean: everything goes through. */
	for (int i = 0; i < 20000 && t->snd_una != t->iss + 1 + sizeof(buf); i++) {
		peer_send(s, PEER_PORT, 7001, t->snd_max, UST_TCP_ACK, 65535, NULL, 0, NULL, 0);
		sim_run_for(s, 10 * UST_NS_PER_MS);
	}
	assert_int_equal(t->snd_una, t->iss + 1 + sizeof(buf));
	ust_sock_close(v);
	ust_sock_close(l);
	sim_run_for(s, 130 * UST_NS_PER_S);
	sim_free(s);
}

/* A thousand connections the peer holds at a zero window, answering every
 * probe: TCP_USER_TIMEOUT (from the listener) aborts them all, and their
 * memory is freed. */
static void
test_hostile_zero_window_thousand_user_timeout(void **state)
{
	(void)state;
	struct sim *s = hostile_sim(65);
	struct ust_sock *l = sim_listen(s->b, 80, 1024);
	int ut = 5000;
	assert_int_equal(ust_sock_setopt(l, UST_SOL_TCP, UST_TCP_USER_TIMEOUT, &ut, sizeof(ut)), 0);
	enum { N = 1000 };
	static struct ust_sock *v[N];
	for (int k = 0; k < N; k++) {
		v[k] = peer_connect(s, l, (uint16_t)(20000 + k), 9000, NULL, 0);
		assert_int_equal(ust_sock_send(v[k], "data", 4, 0), 4);
	}
	/* The peer closes its window on each and answers probes with it. */
	for (int round = 0; round < 40; round++) {
		for (int k = 0; k < N; k++) {
			struct tcpcb *t = tcb(v[k]);
			if (t->state != TCPS_ESTABLISHED)
				continue;
			peer_send(s, (uint16_t)(20000 + k), 9001, t->snd_una, UST_TCP_ACK, 0, NULL, 0, NULL, 0);
		}
		sim_run_for(s, 250 * UST_NS_PER_MS);
	}
	unsigned closed = 0;
	for (int k = 0; k < N; k++) {
		if (tcb(v[k])->state == TCPS_CLOSED)
			closed++;
		ust_sock_close(v[k]);
	}
	assert_int_equal(closed, N);
	assert_int_equal(s->b->tcp->count, 1); /* the listener alone */
	ust_sock_close(l);
	sim_run_for(s, 130 * UST_NS_PER_S);
	sim_free(s);
}

/* hostile_sim with A's address already in B's ARP cache, so what B sends
 * leaves at once and can be counted. */
static struct sim *
hostile_sim_resolved(uint64_t seed)
{
	struct sim *s = sim_new(seed, NULL, NULL);
	struct ust_sock *u;
	assert_int_equal(ust_sock_open(s->a, UST_AF_INET, UST_SOCK_DGRAM, &u), 0);
	struct ust_sockaddr to = sim_addr(SIM_IP_B, 9);
	assert_int_equal(ust_sock_sendto(u, "arp", 3, 0, &to), 3);
	sim_run_for(s, 10 * UST_NS_PER_MS);
	ust_sock_close(u);
	struct ust_memlink_impair cut = {.partitioned = true};
	ust_memlink_set_impair(s->link, 1, &cut);
	s->b->sysctl.tcp_wmem[1] = 262144;
	return s;
}

/* Frames B has handed to the link (B → A is cut, they are counted anyway). */
static uint64_t
b_sent(const struct sim *s)
{
	return ust_memlink_counters(s->link, 1)->sent;
}

static void
put32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24), p[1] = (uint8_t)(v >> 16), p[2] = (uint8_t)(v >> 8), p[3] = (uint8_t)v;
}

/* An ACK for `ack` with up to four SACK blocks [start, start + len). */
static void
peer_sack(struct sim *s, uint16_t port, uint32_t seq, uint32_t ack, const uint32_t *start,
	  const uint32_t *len, int n)
{
	uint8_t opt[36] = {1, 1, 5, (uint8_t)(2 + 8 * n)};
	for (int b = 0; b < n; b++) {
		put32(opt + 4 + 8 * b, start[b]);
		put32(opt + 8 + 8 * b, start[b] + len[b]);
	}
	peer_send(s, port, seq, ack, UST_TCP_ACK, 65535, opt, (uint8_t)(4 + 8 * n), NULL, 0);
}

/* MSS 1 clamped to 48; the flight grown to hundreds of segments; then SACK
 * blocks that split the scoreboard at every other segment, blocks that merge
 * it back, and blocks outside the flight. The scoreboard stays under its cap
 * and its byte count inside the flight, one ACK makes B send a bounded number
 * of frames, and the transfer completes once the peer acknowledges. */
static void
test_hostile_sack_split_merge_at_min_mss(void **state)
{
	(void)state;
	struct sim *s = hostile_sim_resolved(66);
	struct ust_sock *l = sim_listen(s->b, 80, 8);
	const uint8_t opt[] = {2, 4, 0, 1, 4, 2, 1, 1}; /* MSS 1, SACK permitted */
	struct ust_sock *v = peer_connect(s, l, PEER_PORT, 7000, opt, sizeof(opt));
	struct tcpcb *t = tcb(v);
	assert_int_equal(t->mss, TCP_MIN_SND_MSS);
	static uint8_t buf[120000];
	assert_int_equal(ust_sock_send(v, buf, sizeof(buf), 0), (ssize_t)sizeof(buf));
	sim_run_for(s, UST_NS_PER_MS);
	/* Slow start: acknowledge each segment until the flight is large. */
	for (int r = 0; r < 40 && t->snd_max - t->snd_una < 30000; r++) {
		for (uint32_t a = t->snd_una + 48; SEQ_LEQ(a, t->snd_max); a += 48)
			peer_send(s, PEER_PORT, 7001, a, UST_TCP_ACK, 65535, NULL, 0, NULL, 0);
		sim_run_for(s, UST_NS_PER_MS);
	}
	uint32_t una = t->snd_una, flight = t->snd_max - una;
	assert_true(flight >= 30000);
	uint32_t segs = flight / 48;
	uint64_t most = 0;
	/* Split: every other segment, four blocks an ACK, up the flight. */
	for (uint32_t j = 1; j + 6 < segs; j += 8) {
		uint32_t st[4] = {una + 48 * j, una + 48 * (j + 2), una + 48 * (j + 4), una + 48 * (j + 6)};
		uint32_t ln[4] = {48, 48, 48, 48};
		uint64_t before = b_sent(s);
		peer_sack(s, PEER_PORT, 7001, una, st, ln, 4);
		sim_run_for(s, 100 * UST_NS_PER_US);
		most = b_sent(s) - before > most ? b_sent(s) - before : most;
		assert_true(t->nsacked <= TCP_SACK_RANGES);
		assert_true(tcp_sacked_bytes(t) <= t->snd_max - t->snd_una);
	}
	assert_true(t->nsacked >= TCP_SACK_RANGES / 2);
	/* Merge: blocks that fill the gaps, then one over all of it. */
	for (uint32_t j = 2; j + 6 < segs; j += 8) {
		uint32_t st[4] = {una + 48 * j, una + 48 * (j + 2), una + 48 * (j + 4), una + 48 * (j + 6)};
		uint32_t ln[4] = {48, 48, 48, 48};
		uint64_t before = b_sent(s);
		peer_sack(s, PEER_PORT, 7001, una, st, ln, 4);
		sim_run_for(s, 100 * UST_NS_PER_US);
		most = b_sent(s) - before > most ? b_sent(s) - before : most;
		assert_true(t->nsacked <= TCP_SACK_RANGES);
		assert_true(tcp_sacked_bytes(t) <= t->snd_max - t->snd_una);
	}
	uint32_t all_st[1] = {una + 48}, all_ln[1] = {48 * (segs - 1)};
	peer_sack(s, PEER_PORT, 7001, una, all_st, all_ln, 1);
	sim_run_for(s, 100 * UST_NS_PER_US);
	assert_int_equal(t->nsacked, 1);
	assert_int_equal(tcp_sacked_bytes(t), 48 * (segs - 1));
	/* Blocks below snd_una, past snd_max, reversed, or the whole space:
	 * none counts beyond the flight. */
	uint32_t bad_st[4] = {una - 5000, t->snd_max + 48, una + 960, una + 48};
	uint32_t bad_ln[4] = {4000, 4800, (uint32_t)-480, 0x7fffffff};
	peer_sack(s, PEER_PORT, 7001, una, bad_st, bad_ln, 4);
	sim_run_for(s, 100 * UST_NS_PER_US);
	assert_true(tcp_sacked_bytes(t) <= t->snd_max - t->snd_una);
	/* One ACK of four 48-byte blocks releases a few segments, not the window. */
	assert_true(most > 0 && most <= 16);
	for (int i = 0; i < 20000 && t->snd_una != t->iss + 1 + sizeof(buf); i++) {
		peer_send(s, PEER_PORT, 7001, t->snd_max, UST_TCP_ACK, 65535, NULL, 0, NULL, 0);
		sim_run_for(s, 10 * UST_NS_PER_MS);
	}
	assert_int_equal(t->snd_una, t->iss + 1 + sizeof(buf));
	ust_sock_close(v);
	ust_sock_close(l);
	sim_run_for(s, 130 * UST_NS_PER_S);
	sim_free(s);
}

/* One-byte out-of-order segments on three connections while a fourth gets
 * its data in order: the attacked ones stay at the map's cap, the fourth
 * delivers every byte, in order, with nothing held out of order. */
static void
test_hostile_ooo_bystander_unaffected(void **state)
{
	(void)state;
	struct sim *s = hostile_sim(67);
	struct ust_sock *l = sim_listen(s->b, 80, 16);
	struct ust_sock *v[4];
	for (int k = 0; k < 4; k++)
		v[k] = peer_connect(s, l, (uint16_t)(PEER_PORT + k), 5000, NULL, 0);
	uint64_t rng = 0x5678;
	uint32_t sent = 0, got = 0;
	uint8_t chunk[1000], rd[4096];
	for (int i = 0; i < 12000; i++) {
		rng = rng * 6364136223846793005ull + 1442695040888963407ull;
		int k = (int)((rng >> 62) % 3);
		uint32_t off = 1 + (uint32_t)((rng >> 20) % 60000);
		peer_send(s, (uint16_t)(PEER_PORT + k), 5001 + off, tcb(v[k])->snd_una, UST_TCP_ACK, 65535,
			  NULL, 0, "z", 1);
		if (i % 64 == 0) {
			for (size_t b = 0; b < sizeof(chunk); b++)
				chunk[b] = (uint8_t)(sent + b);
			peer_send(s, PEER_PORT + 3, 5001 + sent, tcb(v[3])->snd_una, UST_TCP_ACK, 65535, NULL, 0,
				  chunk, sizeof(chunk));
			sent += sizeof(chunk);
			sim_run_for(s, UST_NS_PER_MS);
			ssize_t n;
			while ((n = ust_sock_recv(v[3], rd, sizeof(rd), 0)) > 0) {
				for (ssize_t b = 0; b < n; b++)
					assert_int_equal(rd[b], (uint8_t)(got + (uint32_t)b));
				got += (uint32_t)n;
			}
		}
	}
	sim_run_for(s, UST_NS_PER_MS);
	for (int k = 0; k < 3; k++)
		assert_true(tcb(v[k])->nooo <= TCP_OOO_RANGES);
	assert_true(s->b->stats.drop[UST_DROP_TCP_OOO_MEM] > 0);
	assert_int_equal(got, sent);
	assert_int_equal(tcb(v[3])->nooo, 0);
	assert_int_equal(tcb(v[3])->rcv_nxt, 5001 + sent);
	for (int k = 0; k < 4; k++)
		ust_sock_close(v[k]);
	ust_sock_close(l);
	sim_run_for(s, 130 * UST_NS_PER_S);
	sim_free(s);
}

/* Malformed options in SYNs (length 0 or 1 ends the parse, a length past
 * the header ends it too, window scale above 14, MSS 0 and 1, wrong lengths
 * for known options): each SYN is answered with what the options before the
 * bad one say, and the connection carries data. Then malformed SACK options
 * on an established connection leave its scoreboard empty. */
static void
test_hostile_option_abuse(void **state)
{
	(void)state;
	static const struct {
		uint8_t opt[12], len;
		uint16_t mss;    /* the MSS B sends with */
		int8_t wscale;   /* the peer's shift B uses, -1 = no scaling */
		bool ts, sack;
	} c[] = {
		{{8, 0, 2, 4, 2, 188, 1, 1}, 8, 536, -1, false, false},     /* length 0, then MSS 700 */
		{{8, 1, 2, 4, 2, 188, 1, 1}, 8, 536, -1, false, false},     /* length 1, then MSS 700 */
		{{2, 4, 2, 188, 3, 40, 1, 1}, 8, 700, -1, false, false},    /* past the header */
		{{2, 4, 5, 180, 1, 3, 3, 15}, 8, 1460, 14, false, false},   /* window scale 15 */
		{{2, 4, 5, 180, 1, 3, 3, 255}, 8, 1460, 14, false, false},  /* window scale 255 */
		{{2, 4, 0, 0}, 4, 536, -1, false, false},                   /* MSS 0 */
		{{2, 4, 0, 1}, 4, 48, -1, false, false},                    /* MSS 1 */
		{{2, 3, 5, 1, 4, 3, 1, 1}, 8, 536, -1, false, false},       /* MSS and SACK-permitted of length 3 */
		{{1, 1, 8, 10, 0, 0, 0, 1}, 8, 536, -1, false, false},      /* timestamps cut by the header end */
		{{8, 9, 0, 0, 0, 1, 0, 0, 0, 1, 1, 1}, 12, 536, -1, false, false}, /* timestamps of length 9 */
		{{99, 12, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}, 12, 536, -1, false, false}, /* unknown, whole space */
		{{2, 4, 5, 180, 4, 2, 8, 10, 0, 0, 0, 9}, 12, 1460, -1, false, true}, /* TS cut: MSS and SACK count */
	};
	struct sim *s = hostile_sim(68);
	struct ust_sock *l = sim_listen(s->b, 80, 32);
	for (unsigned i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
		uint16_t port = (uint16_t)(PEER_PORT + i);
		struct ust_sock *v = peer_connect(s, l, port, 3000, c[i].opt, (uint8_t)((c[i].len + 3) & ~3u));
		struct tcpcb *t = tcb(v);
		assert_int_equal(t->state, TCPS_ESTABLISHED);
		assert_int_equal(t->mss, c[i].mss);
		assert_int_equal(t->ws_ok, c[i].wscale >= 0);
		if (c[i].wscale >= 0)
			assert_int_equal(t->snd_wscale, c[i].wscale);
		assert_int_equal(t->ts_ok, c[i].ts);
		assert_int_equal(t->sack_ok, c[i].sack);
		peer_send(s, port, 3001, t->snd_una, UST_TCP_ACK | UST_TCP_PSH, 65535, NULL, 0, "hello", 5);
		sim_run_for(s, UST_NS_PER_MS);
		assert_int_equal(ust_sock_nread(v), 5);
		ust_sock_close(v);
	}
	/* Established, SACK permitted, data in flight. */
	const uint8_t sack_ok[] = {2, 4, 5, 180, 4, 2, 1, 1};
	struct ust_sock *v = peer_connect(s, l, PEER_PORT + 100, 3000, sack_ok, sizeof(sack_ok));
	struct tcpcb *t = tcb(v);
	static uint8_t data[14600];
	assert_int_equal(ust_sock_send(v, data, sizeof(data), 0), (ssize_t)sizeof(data));
	sim_run_for(s, UST_NS_PER_MS);
	uint32_t una = t->snd_una;
	uint8_t bad[][12] = {
		{5, 2, 1, 1},                                   /* SACK without a block */
		{5, 11, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1},          /* SACK of length 11 */
		{5, 255, 0, 0},                                 /* SACK past the header */
		{5, 0, 0, 0},                                   /* length 0 */
		{5, 1, 0, 0},                                   /* length 1 */
	};
	put32(bad[1] + 2, una + 1460);
	put32(bad[1] + 6, una + 2920);
	for (unsigned i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		peer_send(s, PEER_PORT + 100, 3001, una, UST_TCP_ACK, 65535, bad[i], 12, NULL, 0);
		sim_run_for(s, UST_NS_PER_MS);
		assert_int_equal(t->nsacked, 0);
		assert_int_equal(t->state, TCPS_ESTABLISHED);
	}
	peer_send(s, PEER_PORT + 100, 3001, t->snd_max, UST_TCP_ACK, 65535, NULL, 0, NULL, 0);
	sim_run_for(s, UST_NS_PER_MS);
	assert_int_equal(t->snd_una, t->snd_max);
	ust_sock_close(v);
	ust_sock_close(l);
	sim_run_for(s, 130 * UST_NS_PER_S);
	sim_free(s);
}

/* Data in a SYN is neither acknowledged nor delivered (no Fast Open); after
 * the peer's FIN, data beyond it is discarded and the reader sees the bytes
 * before the FIN, then end of file. */
static void
test_hostile_syn_data_and_data_after_fin(void **state)
{
	(void)state;
	struct sim *s = hostile_sim(69);
	struct ust_sock *l = sim_listen(s->b, 80, 8);
	peer_send(s, PEER_PORT, 4000, 0, UST_TCP_SYN, 65535, NULL, 0, "synda", 5);
	sim_run_for(s, UST_NS_PER_MS);
	struct tcpcb *c = NULL;
	for (struct tcpcb *tp = s->b->tcp->all; tp != NULL; tp = tp->all_next)
		if (tp->s.remote.port == PEER_PORT)
			c = tp;
	assert_non_null(c);
	assert_int_equal(c->state, TCPS_SYN_RECEIVED);
	assert_int_equal(c->rcv_nxt, 4001);
	peer_send(s, PEER_PORT, 4001, c->iss + 1, UST_TCP_ACK, 65535, NULL, 0, NULL, 0);
	sim_run_for(s, UST_NS_PER_MS);
	struct ust_sock *v = NULL;
	assert_int_equal(ust_sock_accept(l, &v, NULL), 0);
	assert_int_equal(ust_sock_nread(v), 0);
	uint32_t una = tcb(v)->snd_una;
	peer_send(s, PEER_PORT, 4001, una, UST_TCP_ACK | UST_TCP_FIN, 65535, NULL, 0, "abc", 3);
	sim_run_for(s, UST_NS_PER_MS);
	assert_int_equal(tcb(v)->state, TCPS_CLOSE_WAIT);
	peer_send(s, PEER_PORT, 4005, una, UST_TCP_ACK | UST_TCP_PSH, 65535, NULL, 0, "def", 3);
	peer_send(s, PEER_PORT, 4004, una, UST_TCP_ACK | UST_TCP_PSH, 65535, NULL, 0, "ghi", 3);
	sim_run_for(s, UST_NS_PER_MS);
	assert_int_equal(tcb(v)->rcv_nxt, 4005);
	char got[16];
	assert_int_equal(ust_sock_recv(v, got, sizeof(got), 0), 3);
	assert_memory_equal(got, "abc", 3);
	assert_int_equal(ust_sock_recv(v, got, sizeof(got), 0), 0);
	ust_sock_close(v);
	ust_sock_close(l);
	sim_run_for(s, 130 * UST_NS_PER_S);
	sim_free(s);
}

/* Every flag combination at a listener (a new port each): only a SYN
 * without ACK, RST or FIN makes an embryonic connection; an ACK without RST
 * is answered with one RST; anything else gets no answer. Then at a
 * TIME_WAIT: an exact RST ends it, nothing else does, and no segment gets
 * more than one answer. */
static void
test_hostile_flags_listen_and_time_wait(void **state)
{
	(void)state;
	struct sim *s = hostile_sim_resolved(70);
	struct ust_sock *l = sim_listen(s->b, 80, 512);
	struct tcpcb *lt = tcb(l);
	for (unsigned f = 0; f < 256; f++) {
		unsigned synq = lt->synq_len;
		uint64_t before = b_sent(s);
		peer_send(s, (uint16_t)(10000 + f), 1000, 5000, (uint8_t)f, 65535, NULL, 0, "x", 1);
		sim_run_for(s, UST_NS_PER_MS);
		bool syn = (f & UST_TCP_SYN) && !(f & (UST_TCP_ACK | UST_TCP_RST | UST_TCP_FIN));
		bool rst = (f & UST_TCP_ACK) && !(f & UST_TCP_RST) && !((f & UST_TCP_SYN) && (f & UST_TCP_FIN));
		assert_int_equal(lt->synq_len, synq + (syn ? 1 : 0));
		if (b_sent(s) - before != (syn || rst ? 1u : 0u))
			fail_msg("flags 0x%02x: %u frames", f, (unsigned)(b_sent(s) - before));
	}
	ust_sock_close(l);
	sim_run_for(s, 130 * UST_NS_PER_S);
	sim_free(s);

	s = hostile_sim_resolved(71);
	l = sim_listen(s->b, 80, 512);
	for (unsigned f = 0; f < 256; f++) {
		uint16_t port = (uint16_t)(20000 + f);
		struct ust_sock *v = peer_connect(s, l, port, 1000, NULL, 0);
		struct tcpcb *t = tcb(v);
		/* B closes first, the peer acknowledges and closes: TIME_WAIT. */
		ust_sock_close(v);
		sim_run_for(s, UST_NS_PER_MS);
		peer_send(s, port, 1001, t->snd_nxt, UST_TCP_ACK | UST_TCP_FIN, 65535, NULL, 0, NULL, 0);
		sim_run_for(s, UST_NS_PER_MS);
		assert_int_equal(t->state, TCPS_TIME_WAIT);
		uint64_t before = b_sent(s);
		peer_send(s, port, t->rcv_nxt, t->snd_nxt, (uint8_t)f, 65535, NULL, 0, NULL, 0);
		sim_run_for(s, UST_NS_PER_MS);
		assert_true(b_sent(s) - before <= 1);
		bool gone = true;
		for (struct tcpcb *tp = s->b->tcp->all; tp != NULL; tp = tp->all_next)
			if (tp == t && tp->s.remote.port == port)
				gone = false;
		bool exact_rst = (f & UST_TCP_RST) && !(f & UST_TCP_SYN);
		assert_int_equal(gone, exact_rst);
	}
	ust_sock_close(l);
	sim_run_for(s, 130 * UST_NS_PER_S);
	sim_free(s);
}

/* A thousand connections held at a zero window with data queued, then
 * closed by their owner: past tcp_max_orphans each new orphan is reset at
 * once (Linux tcp_close's tcp_check_oom), and as the probes back off the
 * kept ones go too (tcp_out_of_resources), so what the stack holds is
 * bounded by the cap, not by the peer. */
static void
test_hostile_zero_window_orphans_capped(void **state)
{
	(void)state;
	struct sim *s = hostile_sim(66);
	s->b->sysctl.tcp_max_orphans = 100;
	struct ust_sock *l = sim_listen(s->b, 80, 1024);
	enum { N = 1000 };
	static struct ust_sock *v[N];
	static char data[8192];
	for (int k = 0; k < N; k++) {
		v[k] = peer_connect(s, l, (uint16_t)(20000 + k), 9000, NULL, 0);
		peer_send(s, (uint16_t)(20000 + k), 9001, tcb(v[k])->snd_una, UST_TCP_ACK, 0, NULL, 0, NULL, 0);
	}
	sim_run_for(s, UST_NS_PER_MS);
	for (int k = 0; k < N; k++) {
		assert_int_equal(tcb(v[k])->snd_wnd, 0);
		assert_int_equal(ust_sock_send(v[k], data, sizeof(data), 0), (ssize_t)sizeof(data));
	}
	uint64_t rst0 = s->b->stats.stat[UST_STAT_TCP_RST_OUT];
	for (int k = 0; k < N; k++)
		ust_sock_close(v[k]);
	assert_int_equal(s->b->tcp->orphans, 100);
	assert_int_equal(s->b->tcp->count, 1 + 100);
	assert_int_equal(s->b->stats.stat[UST_STAT_TCP_ABORT_ORPHANS], N - 100);
	assert_int_equal(s->b->stats.stat[UST_STAT_TCP_RST_OUT] - rst0, N - 100);
	/* The peer keeps answering the probes with a zero window: the kept
	 * orphans are reset as their probes back off past the cap. */
	for (int round = 0; round < 600 && s->b->tcp->count > 1; round++) {
		for (struct tcpcb *t = s->b->tcp->all; t != NULL; t = t->all_next)
			if (t->state != TCPS_LISTEN)
				peer_send(s, t->s.remote.port, 9001, t->snd_una, UST_TCP_ACK, 0, NULL, 0, NULL, 0);
		sim_run_for(s, 500 * UST_NS_PER_MS);
	}
	assert_int_equal(s->b->tcp->count, 1);
	assert_int_equal(s->b->tcp->orphans, 0);
	ust_sock_close(l);
	sim_run_for(s, 130 * UST_NS_PER_S);
	sim_free(s);
}

/* A stream from B's server end to A's client, `want` bytes in all. */
struct drain {
	struct ust_sock *srv; /* B's end */
	struct ust_sock *cli; /* A's end */
	size_t put;           /* bytes B has queued */
	size_t got;           /* bytes A has read */
	size_t want;          /* bytes to move */
};

/* B queues what its send ring takes, A reads what arrived. */
static bool
drained(void *arg)
{
	struct drain *d = arg;
	static uint8_t buf[16384];
	ssize_t n;
	while (d->put < d->want) {
		size_t len = d->want - d->put < sizeof(buf) ? d->want - d->put : sizeof(buf);
		if ((n = ust_sock_send(d->srv, buf, len, UST_MSG_DONTWAIT)) <= 0)
			break;
		d->put += (size_t)n;
	}
	while ((n = ust_sock_recv(d->cli, buf, sizeof(buf), UST_MSG_DONTWAIT)) > 0)
		d->got += (size_t)n;
	return d->got >= d->want;
}

static bool
established(void *arg)
{
	return sim_tcp_state(arg) == TCPS_ESTABLISHED;
}

/*
 * B's packet-buffer pool runs dry for a second of virtual time: every buffer
 * an ordinary allocation can get is held (as queues that are never read would
 * hold them). A ping and a new SYN are still answered from the reserve, B's
 * own data segments are refused and counted, and once the buffers come back
 * the queued bytes and a further megabyte arrive within a second.
 */
static void
test_hostile_pool_dry_reserve_answers(void **state)
{
	(void)state;
	struct sim *s = sim_new(72, NULL, NULL);
	struct ust_sock *cli, *srv;
	sim_connect_pair(s, 80, &cli, &srv);
	struct ust_sock *l = sim_listen(s->b, 81, 16);
	struct ust_sock *ping;
	assert_int_equal(ust_sock_open_proto(s->a, UST_AF_INET, UST_SOCK_DGRAM, UST_IPPROTO_ICMP, &ping), 0);

	enum { HOG_MAX = 8192 };
	static struct ust_pkt *hog[HOG_MAX];
	unsigned held = 0;
	while (held < HOG_MAX && (hog[held] = ust_stack_alloc(s->b)) != NULL)
		held++;
	uint64_t dry_start = s->now;
	uint64_t kept = s->b->stats.stat[UST_STAT_PKT_RESERVE_KEPT];
	struct drain d = {.srv = srv, .cli = cli, .want = 65536};
	assert_false(drained(&d));
	assert_int_equal(d.put, d.want);

	uint8_t echo[16] = {UST_ICMP_ECHO, 0, 0, 0, 0, 7, 0, 1, 'r', 'e', 's', 'e', 'r', 'v', 'e', '!'};
	struct ust_sockaddr to = sim_addr(SIM_IP_B, 0);
	assert_int_equal(ust_sock_sendto(ping, echo, sizeof(echo), 0, &to), (ssize_t)sizeof(echo));
	sim_run_for(s, 10 * UST_NS_PER_MS);
	uint8_t reply[64];
	assert_int_equal(ust_sock_recv(ping, reply, sizeof(reply), UST_MSG_DONTWAIT), (ssize_t)sizeof(echo));
	assert_int_equal(reply[0], UST_ICMP_ECHO_REPLY);

	struct ust_sock *c2;
	assert_int_equal(ust_sock_open(s->a, UST_AF_INET, UST_SOCK_STREAM, &c2), 0);
	struct ust_sockaddr b81 = sim_addr(SIM_IP_B, 81);
	assert_int_equal(ust_sock_connect(c2, &b81), -EINPROGRESS);
	if (!sim_run_until(s, established, c2, 100 * UST_NS_PER_MS))
		fail_msg("seed %llu: no SYN-ACK while the pool was dry", (unsigned long long)s->seed);
	struct ust_sock *srv2;
	assert_int_equal(ust_sock_accept(l, &srv2, NULL), 0);

	/* None of B's data got out, and each refusal was counted. */
	sim_run_for(s, dry_start + UST_NS_PER_S - s->now);
	assert_false(drained(&d));
	assert_int_equal(d.got, 0);
	assert_true(s->b->stats.stat[UST_STAT_PKT_RESERVE_KEPT] > kept);
	assert_true(s->b->stats.stat[UST_STAT_PKT_RESERVE_USED] > 0);

	for (unsigned k = 0; k < held; k++)
		ust_pkt_free(hog[k]);
	d.want += 1u << 20;
	if (!sim_run_until(s, drained, &d, UST_NS_PER_S))
		fail_msg("seed %llu: %zu of %zu bytes within a second of the pool refilling",
			 (unsigned long long)s->seed, d.got, d.want);

	ust_sock_close(ping);
	ust_sock_close(c2);
	ust_sock_close(srv2);
	ust_sock_close(l);
	ust_sock_close(cli);
	ust_sock_close(srv);
	sim_run_for(s, 130 * UST_NS_PER_S);
	sim_free(s);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_hostile_overlap_first_copy_wins),
		cmocka_unit_test(test_hostile_every_flag_combination),
		cmocka_unit_test(test_hostile_ooo_one_byte_capped),
		cmocka_unit_test(test_hostile_sack_split_at_min_mss),
		cmocka_unit_test(test_hostile_zero_window_thousand_user_timeout),
		cmocka_unit_test(test_hostile_sack_split_merge_at_min_mss),
		cmocka_unit_test(test_hostile_ooo_bystander_unaffected),
		cmocka_unit_test(test_hostile_option_abuse),
		cmocka_unit_test(test_hostile_syn_data_and_data_after_fin),
		cmocka_unit_test(test_hostile_flags_listen_and_time_wait),
		cmocka_unit_test(test_hostile_zero_window_orphans_capped),
		cmocka_unit_test(test_hostile_pool_dry_reserve_answers),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
