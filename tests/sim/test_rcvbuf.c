/*
 * Receive-buffer autotuning over a long fat path (100 Mbit/s, 80 ms RTT: a
 * bandwidth-delay product of 1 MB, eight times tcp_rmem's default): the
 * buffer and the window offered grow until the transfer runs at the link's
 * rate, as Linux's dynamic right-sizing does; a buffer fixed by SO_RCVBUF
 * stays fixed and caps the rate at window / RTT; an idle connection holds no
 * buffer. Virtual time; the sender's buffer is made large (tcp_wmem) so the
 * receiver is what is measured.
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

#define LINK_BPS 100000000ull
#define ONE_WAY_NS (40 * UST_NS_PER_MS)
#define BDP_BYTES (LINK_BPS / 8 * 2 * ONE_WAY_NS / UST_NS_PER_S)
#define TOTAL (48u << 20)

struct flow {
	struct sim *s;
	struct sim_flow fl;      /* the bytes */
	uint32_t max_wnd;        /* largest window the receiver offered */
};

static bool
pump(void *arg)
{
	struct flow *f = arg;
	bool done = sim_flow_pump(&f->fl);
	const struct tcpcb *r = (const struct tcpcb *)f->fl.v;
	uint32_t wnd = r->rcv_adv - r->rcv_nxt;
	if (wnd > f->max_wnd)
		f->max_wnd = wnd;
	return done;
}

/* Runs the transfer (rcvbuf: SO_RCVBUF on the receiver, 0 = none;
 * moderate: its tcp_moderate_rcvbuf); returns its rate in Mbit/s, slow
 * start included (the rate over a later part would count as one burst the
 * out-of-order bytes a filled hole releases). */
static double
transfer(struct flow *f, int rcvbuf, bool moderate)
{
	struct ust_memlink_impair im = {.delay_ns = ONE_WAY_NS, .rate_bps = LINK_BPS, .queue_frames = 2000};
	struct sim *s = sim_new(81, &im, &im);
	f->s = s;
	f->fl.total = TOTAL;
	s->a->sysctl.tcp_wmem[1] = 16 << 20; /* a 16 MiB send buffer from the start */
	s->a->sysctl.tcp_wmem[2] = 16 << 20;
	s->b->sysctl.tcp_moderate_rcvbuf = moderate;
	struct ust_sock *l = sim_listen(s->b, 80, 8);
	if (rcvbuf != 0)
		assert_int_equal(ust_sock_setopt(l, UST_SOL_SOCKET, UST_SO_RCVBUF, &rcvbuf, sizeof(rcvbuf)), 0);
	assert_int_equal(ust_sock_open(s->a, UST_AF_INET, UST_SOCK_STREAM, &f->fl.c), 0);
	struct ust_sockaddr to = sim_addr(SIM_IP_B, 80);
	assert_int_equal(ust_sock_connect(f->fl.c, &to), -EINPROGRESS);
	while (ust_sock_accept(l, &f->fl.v, NULL) != 0)
		assert_true(sim_step(s, s->now + 10 * UST_NS_PER_S));
	const struct tcpcb *r = (const struct tcpcb *)f->fl.v;
	/* Idle: no buffer memory yet. */
	sim_run_for(s, UST_NS_PER_S);
	assert_null(r->rcv.buf);
	assert_null(r->snd.buf);
	uint64_t t0 = s->now;
	if (!sim_run_until(s, pump, f, 120 * UST_NS_PER_S))
		fail_msg("%zu of %u bytes in 120 s", f->fl.got, TOTAL);
	double rate = (double)TOTAL * 8 / ((double)(s->now - t0) / 1e9) / 1e6;
	printf("SIM rcvbuf=%d moderate=%d: %u bytes in %.2f s, %.1f Mbit/s, largest window %u, buffer %u\n",
	       rcvbuf, moderate, TOTAL, (double)(s->now - t0) / 1e9, rate, f->max_wnd, r->s.rcvbuf_bytes);
	ust_sock_close(l);
	return rate;
}

static void
finish(struct flow *f)
{
	ust_sock_close(f->fl.c);
	ust_sock_close(f->fl.v);
	sim_run_for(f->s, 130 * UST_NS_PER_S);
	sim_free(f->s);
}

static void
test_rcvbuf_autotuning_reaches_link_rate(void **state)
{
	(void)state;
	struct flow f = {0};
	double rate = transfer(&f, 0, true);
	const struct tcpcb *r = (const struct tcpcb *)f.fl.v;
	/* 1448 bytes of payload per 1538 on the wire: 94 Mbit/s at most, less
	 * the slow start of the first half second. */
	assert_true(rate >= 75.0);
	assert_true(f.max_wnd >= BDP_BYTES);
	assert_true(r->s.rcvbuf_bytes > BDP_BYTES);
	assert_true(r->s.rcvbuf_bytes <= (uint32_t)f.s->b->sysctl.tcp_rmem[2]);
	finish(&f);
}

static void
test_rcvbuf_fixed_by_so_rcvbuf_stays(void **state)
{
	(void)state;
	struct flow f = {0};
	double rate = transfer(&f, 128 * 1024, true);
	const struct tcpcb *r = (const struct tcpcb *)f.fl.v;
	/* Linux doubles SO_RCVBUF; the window never passes it, so the rate is
	 * at most 256 KiB per 80 ms (26 Mbit/s). */
	assert_int_equal(r->s.rcvbuf_bytes, 256 * 1024);
	assert_true(f.max_wnd <= 256 * 1024);
	assert_true(rate < 30.0);
	finish(&f);
}

/* tcp_moderate_rcvbuf 0: the buffer stays at tcp_rmem's default. */
static void
test_rcvbuf_moderate_off_stays_at_default(void **state)
{
	(void)state;
	struct flow f = {0};
	double rate = transfer(&f, 0, false);
	const struct tcpcb *r = (const struct tcpcb *)f.fl.v;
	assert_int_equal(r->s.rcvbuf_bytes, (uint32_t)f.s->b->sysctl.tcp_rmem[1]);
	assert_true(f.max_wnd <= (uint32_t)f.s->b->sysctl.tcp_rmem[1]);
	assert_true(rate < 15.0);
	finish(&f);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rcvbuf_autotuning_reaches_link_rate),
		cmocka_unit_test(test_rcvbuf_fixed_by_so_rcvbuf_stays),
		cmocka_unit_test(test_rcvbuf_moderate_off_stays_at_default),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
