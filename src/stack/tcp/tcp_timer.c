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
	unsigned shift = tp->rxtshift;
	/* tcp_syn_linear_timeouts: the first SYN retransmissions keep the
	 * initial RTO, then it doubles. */
	unsigned linear = (unsigned)tp->s.stack->sysctl.tcp_syn_linear_timeouts;
	if (tp->state == TCPS_SYN_SENT)
		shift = shift > linear ? shift - linear : 0;
	for (unsigned i = 0; i < shift && rto < TCP_RTO_MAX_NS; i++)
		rto *= 2;
	return rto > TCP_RTO_MAX_NS ? TCP_RTO_MAX_NS : rto;
}

void
tcp_arm_rexmt(struct ust_stack *st, struct tcpcb *tp)
{
	tp->rexmt_at = st->now_ns + tcp_rto_backed_off(tp);
	/* Linux tcp_clamp_rto_to_user_timeout: never past TCP_USER_TIMEOUT. */
	if (tp->user_timeout_ms != 0 && tp->retrans_stamp_ns != 0 && tp->state != TCPS_SYN_SENT) {
		uint64_t end = tp->retrans_stamp_ns + (uint64_t)tp->user_timeout_ms * UST_NS_PER_MS;
		if (end < tp->rexmt_at)
			tp->rexmt_at = end > st->now_ns ? end : st->now_ns;
	}
	tp->persist_at = 0;
}

static uint64_t
earliest(const struct tcpcb *tp)
{
	uint64_t d[7] = {tp->rexmt_at, tp->persist_at, tp->delack_at, tp->keep_at,
			 tp->tw_at, tp->tlp_at, tp->reo_at};
	uint64_t m = 0;
	for (int i = 0; i < 7; i++)
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

/* Linux tcp_probe_timer: a zero window probed tcp_retries2 times (8 for an
 * orphan) without any ACK, or for TCP_USER_TIMEOUT, is given up; a peer
 * that answers but never opens is held only by the user timeout. */
static bool
persist_gives_up(const struct ust_stack *st, const struct tcpcb *tp)
{
	if (tp->user_timeout_ms != 0 && tp->persist_start_ns != 0 &&
	    st->now_ns - tp->persist_start_ns >= (uint64_t)tp->user_timeout_ms * UST_NS_PER_MS)
		return true;
	int max = tp->orphan ? 8 : st->sysctl.tcp_retries2;
	return tp->persist_probes >= max;
}

/* TCP_USER_TIMEOUT: that long since the first timeout retransmission. */
static bool
user_timed_out(const struct ust_stack *st, const struct tcpcb *tp)
{
	return tp->user_timeout_ms != 0 && tp->retrans_stamp_ns != 0 &&
	       st->now_ns - tp->retrans_stamp_ns >= (uint64_t)tp->user_timeout_ms * UST_NS_PER_MS;
}

/* Linux tcp_model_timeout: how long `n` retransmissions doubling from
 * `base` take, the RTO capped at TCP_RTO_MAX. */
static uint64_t
model_timeout_ns(unsigned n, uint64_t base)
{
	unsigned thresh = 0;
	while ((base << (thresh + 1)) <= TCP_RTO_MAX_NS)
		thresh++;
	if (n <= thresh)
		return ((2ull << n) - 1) * base;
	return ((2ull << thresh) - 1) * base + (uint64_t)(n - thresh) * TCP_RTO_MAX_NS;
}

/* Linux tcp_out_of_resources: an orphan whose timer fires while the
 * orphans, doubled per backoff, pass tcp_max_orphans is reset and freed,
 * so the longest-stuck go first. Returns true when it was. */
static bool
orphan_out_of_resources(struct ust_stack *st, struct tcpcb *tp, unsigned shift)
{
	if (!tp->orphan || tp->state == TCPS_TIME_WAIT)
		return false;
	uint64_t n = (uint64_t)st->tcp->orphans << (shift < 31 ? shift : 31);
	if (n <= (uint64_t)st->sysctl.tcp_max_orphans)
		return false;
	ust_stat_inc(st, UST_STAT_TCP_ABORT_ORPHANS);
	tcp_send_rst_for(st, tp);
	tcp_free(st, tp);
	return true;
}

/* Returns true when the connection was closed (and may be freed). */
static bool
on_rexmt(struct ust_stack *st, struct tcpcb *tp)
{
	tp->rexmt_at = 0;
	tp->tlp_at = tp->reo_at = 0;
	tp->tlp_high = 0;
	tp->rxtshift++;
	ust_stat_inc(st, UST_STAT_TCP_RTO);
	if (tp->state == TCPS_SYN_SENT) {
		/* Linux gives up by time: as long as tcp_syn_retries doubling
		 * retransmissions would take, whatever the linear ones sent. */
		unsigned retries = tp->syn_retries != 0 ? tp->syn_retries : (unsigned)st->sysctl.tcp_syn_retries;
		if (tp->rxtshift > 1 &&
		    st->now_ns - tp->retrans_stamp_ns >= model_timeout_ns(retries, TCP_RTO_INIT_NS)) {
			tcp_write_err(st, tp, ETIMEDOUT);
			return true;
		}
		tcp_send_syn(st, tp);
		return false;
	}
	if (tp->state == TCPS_SYN_RECEIVED) {
		/* Linux syn_ack_recalc: a deferred connection that was ACKed is
		 * kept through the deferral and gets no SYN-ACK until its last
		 * round, a last chance for data. */
		uint8_t defer = tp->parent != NULL ? tp->parent->defer_accept : 0;
		if (tp->rxtshift > st->sysctl.tcp_synack_retries && (!tp->defer_acked || tp->rxtshift > defer)) {
			tcp_close_conn(st, tp);
			return true;
		}
		if (!tp->defer_acked || tp->rxtshift >= defer)
			tcp_send_syn(st, tp);
		else
			tcp_arm_rexmt(st, tp);
		return false;
	}
	if (tp->rxtshift > st->sysctl.tcp_retries2 || user_timed_out(st, tp)) {
		tcp_write_err(st, tp, ETIMEDOUT);
		return true;
	}
	if (orphan_out_of_resources(st, tp, tp->rxtshift))
		return true;
	if (tp->retrans_stamp_ns == 0)
		tp->retrans_stamp_ns = st->now_ns;
	/* RFC 5681 3.1 eqn. 4 and RFC 6298 5.5-5.7: shrink to one segment,
	 * back off, and go back to the first unacknowledged byte. Karn: the
	 * retransmitted segment is not timed. ssthresh falls once per loss
	 * episode, as Linux's tcp_enter_loss: a timeout during recovery or
	 * after another timeout keeps the threshold already lowered (at 10 %
	 * loss, lowering it again per timeout left CUBIC at two segments). */
	if (tp->snd_max != tp->snd_una)
		tp->cc->rto(tp, !tp->in_recovery && tp->rxtshift == 1);
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

/* Returns true when the connection was closed (and may be freed). */
static bool
on_persist(struct ust_stack *st, struct tcpcb *tp)
{
	/* A window probe the receiver must answer with its current window;
	 * the probes back off like retransmissions and never give up while
	 * the peer answers, unless TCP_USER_TIMEOUT says so. */
	uint32_t usable = SEQ_GT(tp->snd_una + tp->snd_wnd, tp->snd_nxt) ? tp->snd_una + tp->snd_wnd - tp->snd_nxt : 0;
	if (usable > 0 && tp->snd.len > tp->snd_nxt - tp->snd_una) {
		/* Linux tcp_write_wakeup: the window has room, so what waits
		 * (held by a cork, or a sliver of window) goes out now. */
		tp->persist_at = 0;
		tp->push = true;
		tcp_output(st, tp);
		tp->push = false;
		return false;
	}
	if (persist_gives_up(st, tp)) {
		tcp_write_err(st, tp, ETIMEDOUT);
		return true;
	}
	if (orphan_out_of_resources(st, tp, tp->persist_shift))
		return true;
	if (tp->persist_start_ns == 0)
		tp->persist_start_ns = st->now_ns;
	tp->persist_probes++;
	ust_stat_inc(st, UST_STAT_TCP_PERSIST_OUT);
	tcp_send_segment(st, tp, tp->snd_una - 1, 0, UST_TCP_ACK);
	if (tp->persist_shift < 12)
		tp->persist_shift++;
	uint64_t d = tp->rto_ns << tp->persist_shift;
	tp->persist_at = st->now_ns + (d > TCP_RTO_MAX_NS ? TCP_RTO_MAX_NS : d);
	return false;
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
	if (tp->reo_at != 0 && tp->reo_at <= now_ns) {
		tp->reo_at = 0;
		tcp_rack_timeout(st, tp);
	}
	if (tp->tlp_at != 0 && tp->tlp_at <= now_ns && tp->tlp_at <= tp->rexmt_at)
		tcp_tlp_fire(st, tp);
	tp->tlp_at = tp->tlp_at <= now_ns ? 0 : tp->tlp_at;
	if (tp->rexmt_at != 0 && tp->rexmt_at <= now_ns && on_rexmt(st, tp))
		return;
	if (tp->persist_at != 0 && tp->persist_at <= now_ns && on_persist(st, tp))
		return;
	if (tp->keep_at != 0 && tp->keep_at <= now_ns && on_keep(st, tp))
		return;
	tcp_timer_update(st, tp);
}
