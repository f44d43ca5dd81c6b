/*
 * CUBIC (RFC 9438): W_cubic(t) = C (t - K)^3 + W_max, with the Reno-friendly
 * estimate of 4.3 and fast convergence of 4.7. Windows are computed in
 * segments as the RFC writes them, time in seconds from the epoch start.
 */
#include <math.h>

#include "tcp_var.h"

#define CUBIC_BETA 0.7
#define CUBIC_C 0.4

static void
cubic_init(struct tcpcb *tp)
{
	tp->cwnd = 10u * tp->mss;
	tp->ssthresh = UINT32_MAX;
	tp->cubic_wmax = 0;
	tp->cubic_epoch_ns = 0;
	tp->bytes_acked = 0;
}

static void
cubic_ack(struct tcpcb *tp, uint32_t acked)
{
	double mss = tp->mss;
	if (tp->cwnd < tp->ssthresh) {
		uint32_t inc = acked < 2u * tp->mss ? acked : 2u * tp->mss;
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
cubic_rto(struct tcpcb *tp)
{
	reduce(tp);
	tp->cwnd = tp->mss;
}

const struct tcp_cc tcp_cc_cubic = {
	.name = "cubic",
	.init = cubic_init,
	.ack = cubic_ack,
	.loss = cubic_loss,
	.rto = cubic_rto,
};
