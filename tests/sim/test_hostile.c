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

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_hostile_overlap_first_copy_wins),
		cmocka_unit_test(test_hostile_every_flag_combination),
		cmocka_unit_test(test_hostile_ooo_one_byte_capped),
		cmocka_unit_test(test_hostile_sack_split_at_min_mss),
		cmocka_unit_test(test_hostile_zero_window_thousand_user_timeout),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
