/*
 * CUBIC (RFC 9438): W_cubic(t) = C (t - K)^3 + W_max, with the Reno-friendly
 * estimate of 4.3 and fast convergence of 4.7, and HyStart++ (RFC 9406) in
 * slow start: a round whose minimum RTT rose by an eighth (4-16 ms) moves to
 * conservative slow start (a quarter of the growth) and, five rounds later,
 * to congestion avoidance, before the queue overflows. Windows are computed
 * in segments as the RFC writes them, time in seconds from the epoch start.
 */
#include <math.h>

#include "tcp_var.h"

#define CUBIC_BETA 0.7
#define CUBIC_C 0.4
#define HS_MIN_RTT_THRESH_NS (4 * UST_NS_PER_MS)  /* RFC 9406 4.3 */
#define HS_MAX_RTT_THRESH_NS (16 * UST_NS_PER_MS)
#define HS_N_RTT_SAMPLE 8
#define HS_CSS_GROWTH_DIVISOR 4
#define HS_CSS_ROUNDS 5

static void
cubic_init(struct tcpcb *tp)
{
	tp->cwnd = 10u * tp->mss;
	tp->ssthresh = UINT32_MAX;
	tp->cubic_wmax = 0;
	tp->cubic_epoch_ns = 0;
	tp->bytes_acked = 0;
	tp->hs_round_end = tp->snd_max;
	tp->hs_last_min_ns = tp->hs_cur_min_ns = 0;
	tp->hs_samples = 0;
	tp->hs_css_base_ns = 0;
	tp->hs_css_rounds = 0;
}

/* RFC 9406 4.2-4.3: the slow start increase for `inc` bytes, after HyStart++
 * had its say (it may end slow start by setting ssthresh). */
static uint32_t
hystart(struct tcpcb *tp, uint32_t inc)
{
	if (SEQ_GEQ(tp->snd_una, tp->hs_round_end)) {
		/* A new round. */
		tp->hs_round_end = tp->snd_max;
		tp->hs_last_min_ns = tp->hs_cur_min_ns;
		tp->hs_cur_min_ns = 0;
		tp->hs_samples = 0;
		if (tp->hs_css_base_ns != 0 && ++tp->hs_css_rounds >= HS_CSS_ROUNDS) {
			tp->ssthresh = tp->cwnd;
			tp->hs_css_base_ns = 0;
			return 0;
		}
	}
	if (tp->last_rtt_ns != 0) {
		if (tp->hs_cur_min_ns == 0 || tp->last_rtt_ns < tp->hs_cur_min_ns)
			tp->hs_cur_min_ns = tp->last_rtt_ns;
		tp->hs_samples++;
	}
	if (tp->hs_css_base_ns != 0) {
		/* The RTT came back down: the rise was not the queue. */
		if (tp->hs_cur_min_ns != 0 && tp->hs_cur_min_ns < tp->hs_css_base_ns) {
			tp->hs_css_base_ns = 0;
			tp->hs_css_rounds = 0;
			return inc;
		}
		return inc / HS_CSS_GROWTH_DIVISOR;
	}
	if (tp->hs_samples >= HS_N_RTT_SAMPLE && tp->hs_cur_min_ns != 0 && tp->hs_last_min_ns != 0) {
		uint64_t thresh = tp->hs_last_min_ns / 8;
		thresh = thresh < HS_MIN_RTT_THRESH_NS ? HS_MIN_RTT_THRESH_NS :
			 thresh > HS_MAX_RTT_THRESH_NS ? HS_MAX_RTT_THRESH_NS : thresh;
		if (tp->hs_cur_min_ns >= tp->hs_last_min_ns + thresh) {
			tp->hs_css_base_ns = tp->hs_cur_min_ns;
			tp->hs_css_rounds = 0;
			return inc / HS_CSS_GROWTH_DIVISOR;
		}
	}
	return inc;
}

static void
cubic_ack(struct tcpcb *tp, uint32_t acked)
{
	double mss = tp->mss;
	if (tp->cwnd < tp->ssthresh) {
		uint32_t inc = acked < 2u * tp->mss ? acked : 2u * tp->mss;
		/* HyStart++ only in the first slow start: after a loss
		 * ssthresh already bounds it (RFC 9406 4.2). */
		if (tp->ssthresh == UINT32_MAX)
			inc = hystart(tp, inc);
		tp->cwnd += inc;
		return;
	}
	uint64_t now = tp->s.stack->now_ns;
	double cwnd = tp->cwnd / mss;
	if (tp->cubic_epoch_ns == 0) {
		/* 4.2: a new congestion avoidance epoch. */
		tp->cubic_epoch_ns = now;
		if (cwnd < tp->cubic_wmax) {
			tp->cubic_k = cbrt((tp->cubic_wmax - cwnd) / CUBIC_C);
		} else {
			tp->cubic_k = 0;
			tp->cubic_wmax = cwnd;
		}
		tp->cubic_west = cwnd;
	}
	double rtt = tp->srtt_ns != 0 ? (double)tp->srtt_ns / 1e9 : 0.1;
	double t = (double)(now - tp->cubic_epoch_ns) / 1e9;
	double target = CUBIC_C * pow(t + rtt - tp->cubic_k, 3) + tp->cubic_wmax;
	/* 4.2: the target never exceeds 1.5 cwnd. */
	if (target > 1.5 * cwnd)
		target = 1.5 * cwnd;
	double segs = acked / mss;
	/* 4.3: Reno-friendly estimate with alpha = 3 (1 - beta) / (1 + beta),
	 * and Reno's own alpha of 1 once it is past W_max, so CUBIC never
	 * grows slower than Reno where losses keep the window small. */
	double alpha = tp->cubic_west >= tp->cubic_wmax ? 1.0 : 3.0 * (1 - CUBIC_BETA) / (1 + CUBIC_BETA);
	tp->cubic_west += alpha * segs / cwnd;
	double next;
	if (tp->cubic_west > target)
		next = tp->cubic_west;
	else if (target > cwnd)
		next = cwnd + (target - cwnd) / cwnd * segs;
	else
		next = cwnd;
	if (next > cwnd)
		tp->cwnd = (uint32_t)(next * mss);
}

static void
reduce(struct tcpcb *tp)
{
	double cwnd = tp->cwnd / (double)tp->mss;
	/* 4.7 fast convergence: release bandwidth to newer flows. */
	if (cwnd < tp->cubic_wmax)
		tp->cubic_wmax = cwnd * (1 + CUBIC_BETA) / 2;
	else
		tp->cubic_wmax = cwnd;
	uint32_t ss = (uint32_t)(tp->cwnd * CUBIC_BETA);
	tp->ssthresh = ss > 2u * tp->mss ? ss : 2u * tp->mss;
	tp->cubic_epoch_ns = 0;
}

static void
cubic_loss(struct tcpcb *tp)
{
	reduce(tp);
}

static void
cubic_rto(struct tcpcb *tp, bool reduce_now)
{
	if (reduce_now)
		reduce(tp);
	else
		tp->cubic_epoch_ns = 0;
	tp->cwnd = tp->mss;
}

const struct tcp_cc tcp_cc_cubic = {
	.name = "cubic",
	.init = cubic_init,
	.ack = cubic_ack,
	.loss = cubic_loss,
	.rto = cubic_rto,
};
