/*
 * RACK-TLP loss detection (RFC 8985) with Linux's timings, for connections
 * that negotiated SACK:
 *  - a hole is lost once a segment sent after it was delivered and
 *    RACK.rtt + reo_wnd has passed since the hole was sent; reo_wnd is a
 *    quarter of the minimum RTT (0 while no reordering was seen and three
 *    segments are SACKed, as Linux's tcp_rack_reo_wnd), and a timer waits
 *    for holes not yet that old;
 *  - a tail loss probe 2·SRTT after the last transmission (plus 200 ms
 *    when one segment is out, never later than the RTO) resends the last
 *    segment, or sends a new one, so a lost tail is found by an ACK.
 * Transmission times are kept per run of first transmissions (the marks),
 * and per retransmitted hole, so a retransmission that is lost too is found
 * as Linux's RACK finds it (a segment sent after it was delivered) instead
 * of waiting for the retransmission timer. The minimum RTT behind reo_wnd is
 * Linux's windowed minimum over tcp_min_rtt_wlen (300 s), so a path whose
 * delay rose is not judged by a minimum from long ago. A probe that resent
 * old data and repaired a loss (no D-SACK says the original arrived too)
 * reduces cwnd as a loss does (RFC 8985 7.4).
 */
#include <stdlib.h>
#include <string.h>

#include "tcp_var.h"

/* Linux 6.18 detects losses by RACK alone on a SACK connection:
 * tcp_recovery's bit 0 no longer turns it off (wire recovery_off.wire). */
bool
tcp_rack_enabled(const struct tcpcb *tp)
{
	return tp->sack_ok;
}

void
tcp_rack_sent(struct ust_stack *st, struct tcpcb *tp, uint32_t end)
{
	if (!tcp_rack_enabled(tp))
		return;
	if (tp->xmarks == NULL && (tp->xmarks = calloc(TCP_XMIT_MARKS, sizeof(*tp->xmarks))) == NULL)
		return;
	struct tcp_xmit_mark *last = tp->nxmarks > 0 ? &tp->xmarks[tp->nxmarks - 1] : NULL;
	if (last != NULL && last->ns == st->now_ns) {
		last->end = end;
		return;
	}
	if (tp->nxmarks == TCP_XMIT_MARKS) {
		/* Full: the two oldest runs become one, timed as the later, so
		 * a hole is never declared lost early. */
		for (unsigned i = 1; i < tp->nxmarks; i++)
			tp->xmarks[i - 1] = tp->xmarks[i];
		tp->nxmarks--;
	}
	tp->xmarks[tp->nxmarks].end = end;
	tp->xmarks[tp->nxmarks].ns = st->now_ns;
	tp->nxmarks++;
}

/* When the byte at seq was first sent; 0 if unknown. */
static uint64_t
xmit_ns(const struct tcpcb *tp, uint32_t seq)
{
	for (unsigned i = 0; i < tp->nxmarks; i++)
		if (SEQ_GT(tp->xmarks[i].end, seq))
			return tp->xmarks[i].ns;
	return 0;
}

static void
prune(struct tcpcb *tp)
{
	unsigned k = 0;
	while (k < tp->nxmarks && SEQ_LEQ(tp->xmarks[k].end, tp->snd_una))
		k++;
	for (unsigned i = k; i < tp->nxmarks; i++)
		tp->xmarks[i - k] = tp->xmarks[i];
	tp->nxmarks -= k;
	k = 0;
	while (k < tp->nrxmarks && SEQ_LEQ(tp->rxmarks[k].end, tp->snd_una))
		k++;
	for (unsigned i = k; i < tp->nrxmarks; i++)
		tp->rxmarks[i - k] = tp->rxmarks[i];
	tp->nrxmarks -= k;
}

/* Kathleen Nichols' windowed min filter, as Linux's lib/minmax.c: the best
 * three samples of the window, each newer and larger than the one before,
 * so the minimum of the window is always best[0]. */
void
tcp_rack_rtt_sample(struct tcpcb *tp, uint64_t rtt_ns)
{
	struct tcp_rtt_sample *b = tp->rtt_min_best;
	uint64_t now = tp->s.stack->now_ns;
	struct tcp_rtt_sample v = {rtt_ns, now};
	if (tp->rtt_min_ns == 0 || rtt_ns <= b[0].rtt_ns || now - b[2].at_ns > TCP_MINRTT_WIN_NS) {
		b[0] = b[1] = b[2] = v;
	} else {
		if (rtt_ns <= b[1].rtt_ns)
			b[1] = b[2] = v;
		else if (rtt_ns <= b[2].rtt_ns)
			b[2] = v;
		/* The best aged out: the next ones move up. */
		uint64_t dt = now - b[0].at_ns;
		if (dt > TCP_MINRTT_WIN_NS) {
			b[0] = b[1];
			b[1] = b[2];
			b[2] = v;
			if (now - b[0].at_ns > TCP_MINRTT_WIN_NS) {
				b[0] = b[1];
				b[1] = b[2];
			}
		} else if (b[1].at_ns == b[0].at_ns && dt > TCP_MINRTT_WIN_NS / 4) {
			b[2] = b[1] = v;
		} else if (b[2].at_ns == b[1].at_ns && dt > TCP_MINRTT_WIN_NS / 2) {
			b[2] = v;
		}
	}
	tp->rtt_min_ns = b[0].rtt_ns;
}

void
tcp_rack_resent(struct ust_stack *st, struct tcpcb *tp, uint32_t seq, uint32_t end)
{
	if (!tcp_rack_enabled(tp) || !SEQ_LT(seq, end))
		return;
	if (tp->rxmarks == NULL &&
	    (tp->rxmarks = calloc(TCP_REXMIT_MARKS, sizeof(*tp->rxmarks))) == NULL)
		return;
	/* Marks of what this overlaps lose it: the new time is theirs. */
	unsigned k = 0;
	struct tcp_rexmit_mark keep[TCP_REXMIT_MARKS + 1];
	for (unsigned i = 0; i < tp->nrxmarks; i++) {
		struct tcp_rexmit_mark m = tp->rxmarks[i];
		if (SEQ_LEQ(m.end, seq) || SEQ_GEQ(m.start, end)) {
			keep[k++] = m;
			continue;
		}
		if (SEQ_LT(m.start, seq))
			keep[k++] = (struct tcp_rexmit_mark){m.start, seq, m.ns};
		if (SEQ_GT(m.end, end))
			keep[k++] = (struct tcp_rexmit_mark){end, m.end, m.ns};
	}
	unsigned at = 0;
	while (at < k && SEQ_LT(keep[at].start, seq))
		at++;
	memmove(&keep[at + 1], &keep[at], (k - at) * sizeof(keep[0]));
	keep[at] = (struct tcp_rexmit_mark){seq, end, st->now_ns};
	k++;
	/* Full: the highest holes are forgotten (the timer still covers them). */
	tp->nrxmarks = k < TCP_REXMIT_MARKS ? k : TCP_REXMIT_MARKS;
	memcpy(tp->rxmarks, keep, tp->nrxmarks * sizeof(keep[0]));
}

/* When the byte at seq was last retransmitted; 0 if it was not (or it is
 * forgotten). */
static uint64_t
rexmit_ns(const struct tcpcb *tp, uint32_t seq)
{
	for (unsigned i = 0; i < tp->nrxmarks; i++)
		if (SEQ_LEQ(tp->rxmarks[i].start, seq) && SEQ_LT(seq, tp->rxmarks[i].end))
			return tp->rxmarks[i].ns;
	return 0;
}

/* The latest retransmission among bytes [from, to); 0 if none. */
static uint64_t
rexmit_ns_in(const struct tcpcb *tp, uint32_t from, uint32_t to)
{
	uint64_t ns = 0;
	for (unsigned i = 0; i < tp->nrxmarks; i++)
		if (SEQ_LT(tp->rxmarks[i].start, to) && SEQ_GT(tp->rxmarks[i].end, from) && tp->rxmarks[i].ns > ns)
			ns = tp->rxmarks[i].ns;
	return ns;
}

void
tcp_rack_ack(struct ust_stack *st, struct tcpcb *tp, uint32_t old_una, uint32_t delivered_hi)
{
	if (!tcp_rack_enabled(tp))
		return;
	/* RFC 8985 6.2 step 3: bytes delivered below what was delivered
	 * before, never resent, arrived out of order. */
	if (SEQ_GT(tp->snd_una, old_una) && SEQ_LEQ(tp->snd_una, tp->rack_fack) &&
	    SEQ_GEQ(old_una, tp->retrans_hi) && tp->rack_fack != old_una)
		tp->reord_seen = true;
	/* Steps 1-2: RACK.rtt from the most recently sent segment delivered,
	 * unless it was resent (its ACK could be for either copy). */
	if (SEQ_GT(delivered_hi, tp->rack_fack)) {
		uint64_t sent = xmit_ns(tp, delivered_hi - 1);
		if (sent != 0 && SEQ_GEQ(delivered_hi - 1, tp->retrans_hi)) {
			tp->rack_rtt_ns = st->now_ns - sent;
			tp->rack_xmit_ns = sent;
		}
		tp->rack_fack = delivered_hi;
	}
	/* A cumulative ACK of retransmitted bytes: RACK.xmit_ts moves to
	 * their retransmission unless the ACK came sooner than any RTT could
	 * bring it, so it was for the original (Linux tcp_rack_advance). */
	uint64_t resent = SEQ_GT(tp->snd_una, old_una) ? rexmit_ns_in(tp, old_una, tp->snd_una) : 0;
	if (resent > tp->rack_xmit_ns && st->now_ns - resent >= tp->rtt_min_ns) {
		tp->rack_rtt_ns = st->now_ns - resent;
		tp->rack_xmit_ns = resent;
	}
	prune(tp);
}

static uint64_t
reo_wnd(const struct tcpcb *tp)
{
	uint32_t sacked_segs = tp->mss != 0 ? tcp_sacked_bytes(tp) / tp->mss : 0;
	if (!tp->reord_seen && (tp->in_recovery || sacked_segs >= 3))
		return 0;
	uint64_t w = tp->rtt_min_ns / 4;
	return w < tp->srtt_ns ? w : tp->srtt_ns;
}

bool
tcp_rack_detect(struct ust_stack *st, struct tcpcb *tp)
{
	tp->reo_at = 0;
	if (!tcp_rack_enabled(tp) || tp->nsacked == 0 || tp->rack_xmit_ns == 0 ||
	    SEQ_LT(tp->snd_una, tp->retrans_hi))
		return false;
	uint64_t sent = xmit_ns(tp, tp->snd_una);
	/* Only a hole sent before the segment RACK.rtt was taken from. */
	if (sent == 0 || sent > tp->rack_xmit_ns)
		return false;
	uint64_t lost_at = sent + tp->rack_rtt_ns + reo_wnd(tp);
	if (st->now_ns >= lost_at)
		return true;
	tp->reo_at = lost_at;
	return false;
}

bool
tcp_rack_detect_rexmit(struct ust_stack *st, struct tcpcb *tp)
{
	if (!tcp_rack_enabled(tp) || !tp->in_recovery || tp->rack_xmit_ns == 0)
		return false;
	uint64_t sent = rexmit_ns(tp, tp->snd_una);
	/* Only a retransmission sent before what was delivered since. */
	if (sent == 0 || sent >= tp->rack_xmit_ns)
		return false;
	uint64_t lost_at = sent + tp->rack_rtt_ns + reo_wnd(tp);
	if (st->now_ns >= lost_at)
		return true;
	if (tp->reo_at == 0 || lost_at < tp->reo_at)
		tp->reo_at = lost_at;
	return false;
}

bool
tcp_tlp_ack(struct tcpcb *tp, const struct ust_tcp_view *th, bool pure_dup)
{
	if (tp->tlp_high == 0 || SEQ_LT(th->ack, tp->tlp_high))
		return false;
	/* RFC 2883: a first block below the ACK is a D-SACK: the original
	 * and the probe both arrived, nothing was lost. */
	bool dsack = th->opts.nsack > 0 && SEQ_LT(th->opts.sack[0].start, th->ack);
	bool loss = false;
	if (!tp->tlp_retrans || dsack) {
		/* New data probed, or both copies arrived. */
	} else if (SEQ_GT(th->ack, tp->tlp_high)) {
		loss = true;
	} else if (!pure_dup) {
		/* Linux tcp_process_tlp_ack: the ACK of the probe itself may be
		 * followed by a D-SACK of it; wait for the next ACK. */
		return false;
	}
	tp->tlp_high = 0;
	tp->tlp_retrans = false;
	return loss;
}

void
tcp_tlp_arm(struct ust_stack *st, struct tcpcb *tp)
{
	tp->tlp_at = 0;
	if (!tcp_rack_enabled(tp) || (st->sysctl.tcp_early_retrans != 3 && st->sysctl.tcp_early_retrans != 4) ||
	    tp->in_recovery || tp->tlp_high != 0 || tp->snd_una == tp->snd_max || tp->rexmt_at == 0 ||
	    (tp->state != TCPS_ESTABLISHED && tp->state != TCPS_CLOSE_WAIT && tp->state != TCPS_FIN_WAIT_1 &&
	     tp->state != TCPS_CLOSING && tp->state != TCPS_LAST_ACK))
		return;
	/* RFC 8985 7.2 with Linux's numbers (tcp_schedule_loss_probe). */
	uint64_t pto = UST_NS_PER_S;
	if (tp->srtt_ns != 0) {
		bool one_out = tp->snd_max - tp->snd_una <= tp->mss;
		pto = 2 * tp->srtt_ns + (one_out ? TCP_RTO_MIN_NS : TCP_TIMEOUT_MIN_NS);
	}
	uint64_t at = st->now_ns + pto;
	tp->tlp_at = at < tp->rexmt_at ? at : tp->rexmt_at;
}

void
tcp_tlp_fire(struct ust_stack *st, struct tcpcb *tp)
{
	tp->tlp_at = 0;
	if (tp->snd_una == tp->snd_max || tp->in_recovery)
		return;
	ust_stat_inc(st, UST_STAT_TCP_TLP);
	/* RFC 8985 7.3: new data if the window allows, else the last segment. */
	uint32_t before = tp->snd_max;
	tp->push = true;
	tcp_output_one(st, tp);
	tp->push = false;
	if (tp->snd_max == before) {
		uint32_t data_end = tp->snd_una + tp->snd.len;
		uint32_t end = SEQ_LT(data_end, tp->snd_max) ? data_end : tp->snd_max;
		uint32_t len = end - tp->snd_una < tp->mss ? end - tp->snd_una : tp->mss;
		uint8_t flags = UST_TCP_ACK | (len > 0 ? UST_TCP_PSH : 0);
		if (tp->fin_sent && !tp->fin_acked)
			flags |= UST_TCP_FIN;
		tcp_send_segment(st, tp, end - len, len, flags);
		tcp_rack_resent(st, tp, end - len, end);
	}
	tp->tlp_retrans = tp->snd_max == before;
	tp->tlp_high = tp->snd_max;
	/* Linux rearms the retransmission timer a full RTO after the probe. */
	tp->rexmt_at = st->now_ns + tcp_rto_backed_off(tp);
}
