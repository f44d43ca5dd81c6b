/*
 * The send side as Linux sizes and batches it, in virtual time:
 *  - send-buffer autotuning: SO_SNDBUF reads tcp_wmem's default before the
 *    handshake and Linux's figure for ten segments after it (87040 for MSS
 *    1460); over a long fat path (100 Mbit/s, 80 ms RTT: a bandwidth-delay
 *    product of 1 MB) the buffer grows with cwnd until the transfer runs at
 *    the link's rate, while one fixed by SO_SNDBUF caps the rate at
 *    buffer / RTT;
 *  - autocorking (tcp_autocorking): small writes made while the
 *    connection's earlier segment still waits in the transmit queue leave
 *    as one segment when the queue is flushed; with the tunable 0, each
 *    write is a segment.
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
#include "stack/stats.h"
#include "stack/tcp/tcp_var.h"

#define LINK_BPS 100000000ull
#define ONE_WAY_NS (40 * UST_NS_PER_MS)
#define BDP_BYTES (LINK_BPS / 8 * 2 * ONE_WAY_NS / UST_NS_PER_S)
#define TOTAL (32u << 20)

static int
sndbuf(struct ust_sock *s)
{
	int v = 0;
	size_t len = sizeof(v);
	assert_int_equal(ust_sock_getopt(s, UST_SOL_SOCKET, UST_SO_SNDBUF, &v, &len), 0);
	return v;
}

/* The transfer's rate in Mbit/s, slow start included; so_sndbuf: the
 * sender's SO_SNDBUF, 0 = none. The sender's final SO_SNDBUF in *final. */
static double
transfer(int so_sndbuf, int *final)
{
	struct ust_memlink_impair im = {.delay_ns = ONE_WAY_NS, .rate_bps = LINK_BPS, .queue_frames = 2000};
	struct sim *s = sim_new(91, &im, &im);
	struct sim_flow f = {.total = TOTAL};
	struct ust_sock *l = sim_listen(s->b, 80, 8);
	assert_int_equal(ust_sock_open(s->a, UST_AF_INET, UST_SOCK_STREAM, &f.c), 0);
	if (so_sndbuf != 0)
		assert_int_equal(ust_sock_setopt(f.c, UST_SOL_SOCKET, UST_SO_SNDBUF, &so_sndbuf, sizeof(so_sndbuf)), 0);
	struct ust_sockaddr to = sim_addr(SIM_IP_B, 80);
	assert_int_equal(ust_sock_connect(f.c, &to), -EINPROGRESS);
	while (ust_sock_accept(l, &f.v, NULL) != 0)
		assert_true(sim_step(s, s->now + 10 * UST_NS_PER_S));
	uint64_t t0 = s->now;
	if (!sim_run_until(s, sim_flow_pump, &f, 120 * UST_NS_PER_S))
		fail_msg("seed %llu: %zu of %u bytes in 120 s", (unsigned long long)s->seed, f.got, TOTAL);
	double rate = (double)TOTAL * 8 / ((double)(s->now - t0) / 1e9) / 1e6;
	*final = sndbuf(f.c);
	printf("SIM so_sndbuf=%d: %u bytes in %.2f s, %.1f Mbit/s, send buffer %d, ring %u\n", so_sndbuf,
	       TOTAL, (double)(s->now - t0) / 1e9, rate, *final, ((struct tcpcb *)f.c)->snd.cap);
	ust_sock_close(l);
	ust_sock_close(f.c);
	ust_sock_close(f.v);
	sim_run_for(s, 130 * UST_NS_PER_S);
	sim_free(s);
	return rate;
}

static void
test_sndbuf_linux_sizes_at_start(void **state)
{
	(void)state;
	struct sim *s = sim_new(90, NULL, NULL);
	struct ust_sock *l = sim_listen(s->b, 80, 8);
	struct ust_sock *c, *v;
	assert_int_equal(ust_sock_open(s->a, UST_AF_INET, UST_SOCK_STREAM, &c), 0);
	assert_int_equal(sndbuf(c), 16384);
	struct ust_sockaddr to = sim_addr(SIM_IP_B, 80);
	assert_int_equal(ust_sock_connect(c, &to), -EINPROGRESS);
	while (ust_sock_accept(l, &v, NULL) != 0)
		assert_true(sim_step(s, s->now + 10 * UST_NS_PER_S));
	/* Linux: 2 * 10 segments * (4096 + 256) for MSS 1460, both ends. */
	assert_int_equal(sndbuf(c), 87040);
	assert_int_equal(sndbuf(v), 87040);
	/* SO_SNDBUF on the listener: its connections keep the doubled size. */
	struct ust_sock *l2 = sim_listen(s->b, 81, 8), *c2, *v2;
	int fixed = 30000;
	assert_int_equal(ust_sock_setopt(l2, UST_SOL_SOCKET, UST_SO_SNDBUF, &fixed, sizeof(fixed)), 0);
	assert_int_equal(ust_sock_open(s->a, UST_AF_INET, UST_SOCK_STREAM, &c2), 0);
	to = sim_addr(SIM_IP_B, 81);
	assert_int_equal(ust_sock_connect(c2, &to), -EINPROGRESS);
	while (ust_sock_accept(l2, &v2, NULL) != 0)
		assert_true(sim_step(s, s->now + 10 * UST_NS_PER_S));
	assert_int_equal(sndbuf(v2), 60000);
	struct ust_sock *all[] = {c, v, c2, v2, l, l2};
	for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++)
		ust_sock_close(all[i]);
	sim_run_for(s, 130 * UST_NS_PER_S);
	sim_free(s);
}

static void
test_sndbuf_autotuning_reaches_link_rate(void **state)
{
	(void)state;
	int final;
	double rate = transfer(0, &final);
	/* 1448 bytes of payload per 1538 on the wire: 94 Mbit/s at most. */
	assert_true(rate >= 75.0);
	assert_true((uint64_t)final > BDP_BYTES);
	assert_true(final <= 4194304);
}

static void
test_sndbuf_fixed_by_so_sndbuf_stays(void **state)
{
	(void)state;
	int final;
	double rate = transfer(128 * 1024, &final);
	/* Doubled by Linux, then fixed: at most 256 KiB per 80 ms. */
	assert_int_equal(final, 256 * 1024);
	assert_true(rate < 30.0);
}

/* Ten 100-byte writes with TCP_NODELAY, made before the stack flushes its
 * transmit queue; returns the data segments the sender sent for them. */
static uint64_t
small_writes(int autocorking, uint64_t *corked)
{
	struct sim *s = sim_new(92, NULL, NULL);
	s->a->sysctl.tcp_autocorking = autocorking;
	struct ust_sock *c, *v;
	sim_connect_pair(s, 80, &c, &v);
	int one = 1;
	assert_int_equal(ust_sock_setopt(c, UST_SOL_TCP, UST_TCP_NODELAY, &one, sizeof(one)), 0);
	uint64_t seg0 = s->a->stats.stat[UST_STAT_TCP_SEG_OUT];
	char msg[1000];
	for (size_t i = 0; i < sizeof(msg); i++)
		msg[i] = (char)('a' + i % 26);
	for (int i = 0; i < 10; i++)
		assert_int_equal(ust_sock_send(c, msg + 100 * i, 100, 0), 100);
	char got[1000];
	size_t n = 0;
	while (n < sizeof(got)) {
		assert_true(sim_step(s, s->now + UST_NS_PER_S));
		ssize_t k = ust_sock_recv(v, got + n, sizeof(got) - n, 0);
		if (k > 0)
			n += (size_t)k;
	}
	assert_memory_equal(got, msg, sizeof(msg));
	uint64_t segs = s->a->stats.stat[UST_STAT_TCP_SEG_OUT] - seg0;
	*corked = s->a->stats.stat[UST_STAT_TCP_AUTOCORKING];
	ust_sock_close(c);
	ust_sock_close(v);
	sim_run_for(s, 130 * UST_NS_PER_S);
	sim_free(s);
	return segs;
}

static void
test_autocork_small_writes_leave_as_one_segment(void **state)
{
	(void)state;
	uint64_t corked;
	/* The first write leaves at once; the nine made while it waits in the
	 * transmit queue go out together when the queue is flushed. */
	assert_int_equal(small_writes(1, &corked), 2);
	assert_int_equal(corked, 1);
	assert_int_equal(small_writes(0, &corked), 10);
	assert_int_equal(corked, 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sndbuf_linux_sizes_at_start),
		cmocka_unit_test(test_sndbuf_autotuning_reaches_link_rate),
		cmocka_unit_test(test_sndbuf_fixed_by_so_sndbuf_stays),
		cmocka_unit_test(test_autocork_small_writes_leave_as_one_segment),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
