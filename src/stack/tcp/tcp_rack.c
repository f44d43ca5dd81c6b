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
 * Transmission times are kept per run of first transmissions (the marks);
 * retransmitted bytes are left to the retransmission timer.
 */
#include <stdlib.h>

#include "tcp_var.h"

#define TLP_MIN_NS (2 * UST_NS_PER_MS) /* Linux TCP_TIMEOUT_MIN: two jiffies */

bool
tcp_rack_enabled(const struct ust_stack *st, const struct tcpcb *tp)
{
	return tp->sack_ok && (st->sysctl.tcp_recovery & 1) != 0;
}

void
tcp_rack_sent(struct ust_stack *st, struct tcpcb *tp, uint32_t end)
{
	if (!tcp_rack_enabled(st, tp))
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
}

void
tcp_rack_rtt_sample(struct tcpcb *tp, uint64_t rtt_ns)
{
	if (tp->rtt_min_ns == 0 || rtt_ns < tp->rtt_min_ns)
		tp->rtt_min_ns = rtt_ns;
}

void
tcp_rack_ack(struct ust_stack *st, struct tcpcb *tp, uint32_t old_una, uint32_t delivered_hi)
{
	if (!tcp_rack_enabled(st, tp))
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
	if (!tcp_rack_enabled(st, tp) || tp->nsacked == 0 || tp->rack_xmit_ns == 0 ||
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

void
tcp_tlp_arm(struct ust_stack *st, struct tcpcb *tp)
{
	tp->tlp_at = 0;
	if (!tcp_rack_enabled(st, tp) || (st->sysctl.tcp_early_retrans != 3 && st->sysctl.tcp_early_retrans != 4) ||
	    tp->in_recovery || tp->tlp_high != 0 || tp->snd_una == tp->snd_max || tp->rexmt_at == 0 ||
	    (tp->state != TCPS_ESTABLISHED && tp->state != TCPS_CLOSE_WAIT && tp->state != TCPS_FIN_WAIT_1 &&
	     tp->state != TCPS_CLOSING && tp->state != TCPS_LAST_ACK))
		return;
	/* RFC 8985 7.2 with Linux's numbers (tcp_schedule_loss_probe). */
	uint64_t pto = UST_NS_PER_S;
	if (tp->srtt_ns != 0) {
		bool one_out = tp->snd_max - tp->snd_una <= tp->mss;
		pto = 2 * tp->srtt_ns + (one_out ? TCP_RTO_MIN_NS : TLP_MIN_NS);
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
	}
	tp->tlp_high = tp->snd_max;
	/* Linux rearms the retransmission timer a full RTO after the probe. */
	tp->rexmt_at = st->now_ns + tcp_rto_backed_off(tp);
}
