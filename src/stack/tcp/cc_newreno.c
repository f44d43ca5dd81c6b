/*
 * NewReno congestion control (RFC 5681, RFC 6582 for recovery, RFC 3465
 * byte counting with L = 2 SMSS). Fast recovery itself lives in tcp_input.c;
 * this decides window growth and the reductions.
 */
#include "tcp_var.h"

static void
newreno_init(struct tcpcb *tp)
{
	/* RFC 6928 initial window of ten segments, as Linux. */
	tp->cwnd = 10u * tp->mss;
	tp->ssthresh = UINT32_MAX;
	tp->bytes_acked = 0;
}

static void
newreno_ack(struct tcpcb *tp, uint32_t acked)
{
	if (tp->cwnd < tp->ssthresh) {
		uint32_t inc = acked < 2u * tp->mss ? acked : 2u * tp->mss;
		tp->cwnd += inc;
		return;
	}
	tp->bytes_acked += acked;
	if (tp->bytes_acked >= tp->cwnd) {
		tp->bytes_acked -= tp->cwnd;
		tp->cwnd += tp->mss;
	}
}

static uint32_t
half_flight(const struct tcpcb *tp)
{
	/* RFC 5681 eqn. 4: max(FlightSize / 2, 2 * SMSS). */
	uint32_t flight = tp->snd_max - tp->snd_una;
	uint32_t h = flight / 2;
	return h > 2u * tp->mss ? h : 2u * tp->mss;
}

static void
newreno_loss(struct tcpcb *tp)
{
	tp->ssthresh = half_flight(tp);
	tp->bytes_acked = 0;
}

static void
newreno_rto(struct tcpcb *tp, bool reduce)
{
	if (reduce)
		tp->ssthresh = half_flight(tp);
	tp->cwnd = tp->mss;
	tp->bytes_acked = 0;
}

const struct tcp_cc tcp_cc_newreno = {
	.name = "reno",
	.init = newreno_init,
	.ack = newreno_ack,
	.loss = newreno_loss,
	.rto = newreno_rto,
};
