/*
 * RACK-TLP details (RFC 8985) in virtual time, with chosen segments lost:
 * a retransmission that is lost too is found by RACK, not by the timer; a
 * probe that repaired a tail loss lowers cwnd (7.4) while one whose original
 * also arrived (a D-SACK says so) does not; the minimum RTT behind the
 * reordering window is a windowed minimum that forgets a path's old delay.
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
#include "stack/pkt.h"
#include "stack/stats.h"
#include "stack/tcp/tcp_var.h"
#include "stack/wire/bytes.h"

static struct tcpcb *
tcb(struct ust_sock *s)
{
	return (struct tcpcb *)s;
}

/* Drops by sequence: the first `times` frames from end `from` whose TCP
 * seq (data) or ack (pure ACK without SACK blocks) is `at`. */
struct drop {
	unsigned from;  /* sending end */
	bool by_ack;    /* match pure ACKs by their ack field, else data by seq */
	uint32_t at;    /* absolute sequence number */
	unsigned times; /* frames still to drop */
	unsigned seen;  /* frames dropped */
};

static bool
drop_filter(void *arg, unsigned from, const struct ust_pkt *pkt, uint64_t now_ns)
{
	struct drop *d = arg;
	(void)now_ns;
	const uint8_t *f = ust_pkt_data(pkt);
	/* Ethernet, IPv4 without options, TCP. */
	if (d->times == 0 || from != d->from || pkt->len < 54 || f[12] != 0x08 || f[13] != 0x00 || f[23] != 6)
		return false;
	const uint8_t *th = f + 34;
	uint32_t ip_len = ust_get16(f + 16);
	uint32_t payload = ip_len - 20 - (uint32_t)(th[12] >> 4) * 4;
	uint32_t v = ust_get32(d->by_ack ? th + 8 : th + 4);
	/* ACKs carrying SACK blocks (a D-SACK) always pass. */
	if (v != d->at || (d->by_ack ? payload != 0 || (th[12] >> 4) * 4 > 32 : payload == 0))
		return false;
	d->times--;
	d->seen++;
	return true;
}

struct reader {
	struct ust_sock *s; /* reads everything that arrives */
	size_t got;         /* bytes read */
	size_t want;        /* stop when this many were read */
};

static bool
read_all(void *arg)
{
	struct reader *r = arg;
	char buf[65536];
	ssize_t n;
	while ((n = ust_sock_recv(r->s, buf, sizeof(buf), 0)) > 0)
		r->got += (size_t)n;
	return r->got >= r->want;
}

static bool
all_acked(void *arg)
{
	const struct tcpcb *tp = arg;
	return tp->snd_una == tp->snd_max;
}

/* Send len bytes from c, read them at v, until c has their ACK. */
static void
send_and_read(struct sim *s, struct ust_sock *c, struct ust_sock *v, size_t len, uint64_t max_ns)
{
	static char data[262144];
	assert_true(len <= sizeof(data));
	assert_int_equal(ust_sock_send(c, data, len, 0), (ssize_t)len);
	struct reader r = {.s = v, .want = len};
	if (!sim_run_until(s, read_all, &r, max_ns))
		fail_msg("%zu of %zu bytes arrived", r.got, len);
	if (!sim_run_until(s, all_acked, tcb(c), max_ns))
		fail_msg("the sender saw no ACK of its %zu bytes", len);
}

static struct sim *
path_sim(uint64_t seed, uint64_t one_way_ns)
{
	struct ust_memlink_impair im = {.delay_ns = one_way_ns, .rate_bps = 100000000, .queue_frames = 1000};
	struct sim *s = sim_new(seed, &im, &im);
	/* Room for a whole send_and_read from the start. */
	s->a->sysctl.tcp_wmem[1] = 262144;
	return s;
}

/* The first retransmission of a hole is lost as well: segments sent after
 * it are SACKed, so RACK resends it again a RACK.rtt later, and the
 * retransmission timer never fires. */
static void
test_rack_lost_retransmission_found_without_rto(void **state)
{
	(void)state;
	struct sim *s = path_sim(71, 5 * UST_NS_PER_MS);
	struct ust_sock *c, *v;
	sim_connect_pair(s, 80, &c, &v);
	/* A first exchange sets the RTT. */
	send_and_read(s, c, v, 1000, UST_NS_PER_S);
	struct drop d = {.from = 0, .at = tcb(c)->snd_max + 5u * tcb(c)->mss, .times = 2};
	ust_memlink_set_filter(s->link, drop_filter, &d);
	send_and_read(s, c, v, 200000, 5 * UST_NS_PER_S);
	assert_int_equal(d.seen, 2);
	assert_int_equal(s->a->stats.stat[UST_STAT_TCP_RTO], 0);
	assert_true(s->a->stats.stat[UST_STAT_TCP_LOST_RETRANSMIT] >= 1);
	ust_sock_close(c);
	ust_sock_close(v);
	sim_run_for(s, 130 * UST_NS_PER_S);
	sim_free(s);
}

/* Five segments, the last lost: the probe 2·SRTT later repairs it, and once
 * an ACK passes the probe cwnd falls as for a loss (RFC 8985 7.4.2). */
static void
test_tlp_repaired_tail_loss_reduces_cwnd(void **state)
{
	(void)state;
	struct sim *s = path_sim(72, 5 * UST_NS_PER_MS);
	struct ust_sock *c, *v;
	sim_connect_pair(s, 80, &c, &v);
	send_and_read(s, c, v, 1000, UST_NS_PER_S);
	struct tcpcb *tp = tcb(c);
	struct drop d = {.from = 0, .at = tp->snd_max + 4u * tp->mss, .times = 1};
	ust_memlink_set_filter(s->link, drop_filter, &d);
	send_and_read(s, c, v, 5u * tp->mss, UST_NS_PER_S);
	assert_int_equal(d.seen, 1);
	assert_int_equal(s->a->stats.stat[UST_STAT_TCP_TLP], 1);
	assert_int_equal(s->a->stats.stat[UST_STAT_TCP_RTO], 0);
	assert_true(tp->ssthresh == UINT32_MAX);
	uint32_t cwnd = tp->cwnd;
	send_and_read(s, c, v, 1000, UST_NS_PER_S);
	assert_int_equal(s->a->stats.stat[UST_STAT_TCP_TLP_RECOVERY], 1);
	assert_true(tp->ssthresh < cwnd);
	assert_true(tp->cwnd <= tp->ssthresh + tp->mss);
	ust_sock_close(c);
	ust_sock_close(v);
	sim_run_for(s, 130 * UST_NS_PER_S);
	sim_free(s);
}

/* The tail arrived but its ACK was lost: the probe's copy is D-SACKed, no
 * loss happened, and cwnd stays. */
static void
test_tlp_dsack_keeps_cwnd(void **state)
{
	(void)state;
	struct sim *s = path_sim(73, 5 * UST_NS_PER_MS);
	struct ust_sock *c, *v;
	sim_connect_pair(s, 80, &c, &v);
	send_and_read(s, c, v, 1000, UST_NS_PER_S);
	struct tcpcb *tp = tcb(c);
	struct drop d = {.from = 1, .by_ack = true, .at = tp->snd_max + 5u * tp->mss, .times = 100};
	ust_memlink_set_filter(s->link, drop_filter, &d);
	send_and_read(s, c, v, 5u * tp->mss, UST_NS_PER_S);
	sim_run_for(s, UST_NS_PER_S);
	d.times = 0;
	assert_true(d.seen >= 1);
	assert_int_equal(s->a->stats.stat[UST_STAT_TCP_TLP], 1);
	send_and_read(s, c, v, 1000, UST_NS_PER_S);
	assert_int_equal(s->a->stats.stat[UST_STAT_TCP_TLP_RECOVERY], 0);
	assert_true(tp->ssthresh == UINT32_MAX);
	assert_int_equal(tp->tlp_high, 0);
	ust_sock_close(c);
	ust_sock_close(v);
	sim_run_for(s, 130 * UST_NS_PER_S);
	sim_free(s);
}

/* RTT 2 ms, then the path's delay rises to 40 ms: the minimum keeps the
 * old 2 ms for Linux's window of 300 s and then follows the new delay. */
static void
test_min_rtt_is_windowed(void **state)
{
	(void)state;
	struct sim *s = path_sim(74, UST_NS_PER_MS);
	struct ust_sock *c, *v;
	sim_connect_pair(s, 80, &c, &v);
	send_and_read(s, c, v, 1000, UST_NS_PER_S);
	struct tcpcb *tp = tcb(c);
	assert_true(tp->rtt_min_ns < 4 * UST_NS_PER_MS);
	struct ust_memlink_impair slow = {.delay_ns = 20 * UST_NS_PER_MS, .rate_bps = 100000000, .queue_frames = 1000};
	ust_memlink_set_impair(s->link, 0, &slow);
	ust_memlink_set_impair(s->link, 1, &slow);
	uint64_t t0 = s->now;
	while (s->now - t0 < 200 * UST_NS_PER_S) {
		send_and_read(s, c, v, 1000, UST_NS_PER_S);
		sim_run_for(s, 5 * UST_NS_PER_S);
	}
	assert_true(tp->rtt_min_ns < 4 * UST_NS_PER_MS);
	while (s->now - t0 < 320 * UST_NS_PER_S) {
		send_and_read(s, c, v, 1000, UST_NS_PER_S);
		sim_run_for(s, 5 * UST_NS_PER_S);
	}
	assert_true(tp->rtt_min_ns >= 40 * UST_NS_PER_MS);
	ust_sock_close(c);
	ust_sock_close(v);
	sim_run_for(s, 130 * UST_NS_PER_S);
	sim_free(s);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rack_lost_retransmission_found_without_rto),
		cmocka_unit_test(test_tlp_repaired_tail_loss_reduces_cwnd),
		cmocka_unit_test(test_tlp_dsack_keeps_cwnd),
		cmocka_unit_test(test_min_rtt_is_windowed),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
