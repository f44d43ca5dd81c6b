/*
 * Per-connection timers. Each connection keeps five deadlines (retransmit,
 * persist, delayed ACK, keepalive/FIN_WAIT_2, TIME_WAIT) and ONE entry in the
 * stack's timer wheel at the earliest of them, so arming and cancelling stay
 * O(1) with a million connections (RFC 6298 for the RTO, RFC 1122 4.2.3.6
 * for keepalive, RFC 9293 3.8.6.1 for the persist timer).
 */
#include <errno.h>
#include <stddef.h>

#include "tcp_var.h"

uint64_t
tcp_rto_backed_off(const struct tcpcb *tp)
{
	uint64_t rto = tp->rto_ns;
	for (unsigned i = 0; i < tp->rxtshift && rto < TCP_RTO_MAX_NS; i++)
		rto *= 2;
	return rto > TCP_RTO_MAX_NS ? TCP_RTO_MAX_NS : rto;
}

void
tcp_arm_rexmt(struct ust_stack *st, struct tcpcb *tp)
{
	tp->rexmt_at = st->now_ns + tcp_rto_backed_off(tp);
	tp->persist_at = 0;
}

static uint64_t
earliest(const struct tcpcb *tp)
{
	uint64_t d[5] = {tp->rexmt_at, tp->persist_at, tp->delack_at, tp->keep_at, tp->tw_at};
	uint64_t m = 0;
	for (int i = 0; i < 5; i++)
		if (d[i] != 0 && (m == 0 || d[i] < m))
			m = d[i];
	return m;
}

void
tcp_timer_update(struct ust_stack *st, struct tcpcb *tp)
{
	if (tp->s.keepalive && tp->keep_at == 0 &&
	    (tp->state == TCPS_ESTABLISHED || tp->state == TCPS_CLOSE_WAIT))
		tp->keep_at = tp->last_rcv_ns + (uint64_t)tp->keepidle_s * UST_NS_PER_S;
	uint64_t at = earliest(tp);
	if (at == 0)
		ust_timer_cancel(&st->timers, &tp->timer);
	else if (!ust_timer_armed(&tp->timer) || tp->timer.expire_ns != at)
		ust_timer_arm(&st->timers, &tp->timer, at);
}

/* Returns true when the connection was closed (and may be freed). */
static bool
on_rexmt(struct ust_stack *st, struct tcpcb *tp)
{
	tp->rexmt_at = 0;
	tp->rxtshift++;
	ust_stat_inc(st, UST_STAT_TCP_RTO);
	if (tp->state == TCPS_SYN_SENT) {
		if (tp->rxtshift > TCP_SYN_RETRIES) {
			tcp_drop(st, tp, ETIMEDOUT);
			return true;
		}
		tcp_send_syn(st, tp);
		return false;
	}
	if (tp->state == TCPS_SYN_RECEIVED) {
		if (tp->rxtshift > TCP_SYNACK_RETRIES) {
			tcp_close_conn(st, tp);
			return true;
		}
		tcp_send_syn(st, tp);
		return false;
	}
	if (tp->rxtshift > TCP_RETRIES2) {
		tcp_drop(st, tp, ETIMEDOUT);
		return true;
	}
	/* RFC 5681 3.1 eqn. 4 and RFC 6298 5.5-5.7: shrink to one segment,
	 * back off, and go back to the first unacknowledged byte. Karn: the
	 * retransmitted segment is not timed. */
	if (tp->snd_max != tp->snd_una)
		tp->cc->rto(tp);
	tp->dupacks = 0;
	tp->rtt_start_ns = 0;
	tp->rexmit_nxt = tp->snd_una;
	if (tp->sack_ok && tp->snd_max != tp->snd_una) {
		/* RFC 6675 5.1: keep the scoreboard; every unSACKed byte is now
		 * lost and is resent in order from one segment of cwnd, skipping
		 * what the receiver holds. */
		tp->in_recovery = true;
		tp->rto_recovery = true;
		tp->recover = tp->snd_max;
	} else {
		tp->in_recovery = false;
		tp->rto_recovery = false;
		tp->nsacked = 0;
		tp->snd_nxt = tp->snd_una;
	}
	tcp_output(st, tp);
	if (tp->rexmt_at == 0 && tp->snd_max != tp->snd_una)
		tcp_arm_rexmt(st, tp);
	return false;
}

static void
on_persist(struct ust_stack *st, struct tcpcb *tp)
{
	/* A window probe the receiver must answer with its current window;
	 * the probes back off like retransmissions but never give up while
	 * the peer answers. */
	ust_stat_inc(st, UST_STAT_TCP_PERSIST_OUT);
	tcp_send_segment(st, tp, tp->snd_una - 1, 0, UST_TCP_ACK);
	if (tp->persist_shift < 12)
		tp->persist_shift++;
	uint64_t d = tp->rto_ns << tp->persist_shift;
	tp->persist_at = st->now_ns + (d > TCP_RTO_MAX_NS ? TCP_RTO_MAX_NS : d);
}

/* Returns true when the connection was closed (and may be freed). */
static bool
on_keep(struct ust_stack *st, struct tcpcb *tp)
{
	tp->keep_at = 0;
	if (tp->state == TCPS_FIN_WAIT_2) {
		/* tcp_fin_timeout: an orphan does not wait forever for the FIN. */
		tcp_close_conn(st, tp);
		return true;
	}
	if (!tp->s.keepalive || (tp->state != TCPS_ESTABLISHED && tp->state != TCPS_CLOSE_WAIT))
		return false;
	uint64_t idle = st->now_ns - tp->last_rcv_ns;
	uint64_t idle_ns = (uint64_t)tp->keepidle_s * UST_NS_PER_S;
	if (idle < idle_ns) {
		tp->keep_probes = 0;
		tp->keep_at = tp->last_rcv_ns + idle_ns;
		return false;
	}
	if (tp->keep_probes >= tp->keepcnt) {
		tcp_drop(st, tp, ETIMEDOUT);
		return true;
	}
	tp->keep_probes++;
	tcp_send_keepalive(st, tp);
	tp->keep_at = st->now_ns + (uint64_t)tp->keepintvl_s * UST_NS_PER_S;
	return false;
}

void
tcp_timer_fire(void *ctx, struct ust_timer *t, uint64_t now_ns)
{
	struct ust_stack *st = ctx;
	struct tcpcb *tp = (struct tcpcb *)((char *)t - offsetof(struct tcpcb, timer));
	if (tp->tw_at != 0 && tp->tw_at <= now_ns) {
		tp->tw_at = 0;
		tcp_close_conn(st, tp);
		return;
	}
	if (tp->delack_at != 0 && tp->delack_at <= now_ns) {
		tp->delack_at = 0;
		tcp_send_ack(st, tp);
	}
	if (tp->rexmt_at != 0 && tp->rexmt_at <= now_ns && on_rexmt(st, tp))
		return;
	if (tp->persist_at != 0 && tp->persist_at <= now_ns)
		on_persist(st, tp);
	if (tp->keep_at != 0 && tp->keep_at <= now_ns && on_keep(st, tp))
		return;
	tcp_timer_update(st, tp);
}
