/*
 * Segment arrival in the synchronized states, in the order of RFC 9293
 * 3.10.7.4: PAWS (RFC 7323 5), sequence acceptability, RST and SYN with the
 * RFC 5961 blind-attack rules, ACK processing (RTT per RFC 6298, duplicate
 * ACKs, fast retransmit and recovery per RFC 6675 with SACK or RFC 6582
 * without), window update, data (in order straight into the receive ring,
 * out of order into the ring at its offset), FIN.
 */
#include <errno.h>
#include <string.h>

#include "tcp_var.h"

#define PAWS_IDLE_NS (24ull * 24 * 3600 * UST_NS_PER_S) /* RFC 7323 5.5 */

void
tcp_xmit_timer(struct tcpcb *tp, uint64_t rtt_ns)
{
	if (rtt_ns == 0)
		rtt_ns = UST_NS_PER_US;
	if (tp->srtt_ns == 0) {
		tp->srtt_ns = rtt_ns;
		tp->rttvar_ns = rtt_ns / 2;
	} else {
		uint64_t d = tp->srtt_ns > rtt_ns ? tp->srtt_ns - rtt_ns : rtt_ns - tp->srtt_ns;
		tp->rttvar_ns = (3 * tp->rttvar_ns + d) / 4;
		tp->srtt_ns = (7 * tp->srtt_ns + rtt_ns) / 8;
	}
	tcp_rack_rtt_sample(tp, rtt_ns);
	tp->last_rtt_ns = rtt_ns;
	/* RFC 6298 2.3 with Linux's floor on the variance term. */
	uint64_t var = 4 * tp->rttvar_ns;
	if (var < TCP_RTO_MIN_NS)
		var = TCP_RTO_MIN_NS;
	uint64_t rto = tp->srtt_ns + var;
	tp->rto_ns = rto > TCP_RTO_MAX_NS ? TCP_RTO_MAX_NS : rto;
}

static void
set_dsack(struct tcpcb *tp, uint32_t start, uint32_t end)
{
	tp->dsack = tp->sack_ok;
	tp->dsack_range.start = start;
	tp->dsack_range.end = end;
}

static bool
seq_acceptable(const struct tcpcb *tp, uint32_t seq, uint32_t seg_len)
{
	uint32_t wnd = SEQ_GT(tp->rcv_adv, tp->rcv_nxt) ? tp->rcv_adv - tp->rcv_nxt : 0;
	if (seg_len == 0) {
		if (wnd == 0)
			return seq == tp->rcv_nxt;
		return SEQ_GEQ(seq, tp->rcv_nxt) && SEQ_LT(seq, tp->rcv_nxt + wnd);
	}
	if (wnd == 0)
		return false;
	return (SEQ_GEQ(seq, tp->rcv_nxt) && SEQ_LT(seq, tp->rcv_nxt + wnd)) ||
	       (SEQ_GEQ(seq + seg_len - 1, tp->rcv_nxt) &&
		SEQ_LT(seq + seg_len - 1, tp->rcv_nxt + wnd));
}

static void
enter_time_wait(struct ust_stack *st, struct tcpcb *tp)
{
	tcp_set_state(st, tp, TCPS_TIME_WAIT);
	/* Linux's TIME_WAIT socket is new: its rate limit of answers starts
	 * afresh. */
	tp->oow_ack_ns = 0;
	tp->rexmt_at = tp->persist_at = tp->keep_at = tp->delack_at = 0;
	tp->tlp_at = tp->reo_at = 0;
	tp->tw_at = st->now_ns + 2 * TCP_MSL_NS;
	tcp_shed(tp);
}

/* Our FIN acknowledged: move on. Returns true if the connection closed. */
static bool
fin_acked(struct ust_stack *st, struct tcpcb *tp)
{
	switch (tp->state) {
	case TCPS_FIN_WAIT_1:
		tcp_set_state(st, tp, TCPS_FIN_WAIT_2);
		/* An orphan must not wait forever for the peer's FIN. */
		if (tp->orphan)
			tp->keep_at = st->now_ns + tcp_fin_timeout_ns(st, tp);
		return false;
	case TCPS_CLOSING:
		enter_time_wait(st, tp);
		return false;
	case TCPS_LAST_ACK:
		tcp_close_conn(st, tp);
		return true;
	default:
		return false;
	}
}

static void
fin_arrived(struct ust_stack *st, struct tcpcb *tp)
{
	tp->rcv_nxt++;
	tp->fin_rcvd = true;
	tp->ooo_fin = false;
	tp->ack_now = true;
	switch (tp->state) {
	case TCPS_SYN_RECEIVED:
	case TCPS_ESTABLISHED:
		tcp_set_state(st, tp, TCPS_CLOSE_WAIT);
		break;
	case TCPS_FIN_WAIT_1:
		if (tp->fin_acked)
			enter_time_wait(st, tp);
		else
			tcp_set_state(st, tp, TCPS_CLOSING);
		break;
	case TCPS_FIN_WAIT_2:
		enter_time_wait(st, tp);
		break;
	default:
		break;
	}
	tcp_update_events(tp);
}

static void
established(struct ust_stack *st, struct tcpcb *tp)
{
	struct tcpcb *l = tp->parent;
	tcp_set_state(st, tp, TCPS_ESTABLISHED);
	tp->cc->init(tp);
	tp->recover = tp->snd_una;
	ust_stat_inc(st, l != NULL ? UST_STAT_TCP_PASSIVE_OPEN : UST_STAT_TCP_ACTIVE_OPEN);
	if (l == NULL)
		return;
	/* From the SYN queue to the accept queue. */
	l->synq_len--;
	tp->q_next = NULL;
	if (l->acceptq_tail != NULL)
		l->acceptq_tail->q_next = tp;
	else
		l->acceptq_head = tp;
	l->acceptq_tail = tp;
	l->acceptq_len++;
	ust_sock_arrived(&l->s);
	tcp_update_events(l);
}

static void
enter_recovery(struct ust_stack *st, struct tcpcb *tp)
{
	tp->cc->loss(tp);
	tp->in_recovery = true;
	tp->recover = tp->snd_max;
	tp->rexmit_nxt = tp->snd_una;
	tp->rexmit_first = true;
	tp->rtt_start_ns = 0;
	/* RFC 6675 5 step 4.2 / RFC 6582 3.2 step 2. */
	tp->cwnd = tp->sack_ok ? tp->ssthresh : tp->ssthresh + 3u * tp->mss;
	ust_stat_inc(st, UST_STAT_TCP_FAST_RETRANS);
}

/* The end of the highest byte this ACK delivers, cumulatively or by SACK. */
static uint32_t
delivered_end(const struct tcpcb *tp, const struct ust_tcp_view *th)
{
	uint32_t hi = tp->snd_una;
	for (unsigned i = 0; i < th->opts.nsack; i++) {
		uint32_t e = th->opts.sack[i].end;
		if (SEQ_GT(e, hi) && SEQ_LEQ(e, tp->snd_max) && SEQ_LT(th->opts.sack[i].start, e))
			hi = e;
	}
	return hi;
}

/* RACK found the first hole's retransmission lost (no new reduction: the
 * episode's one was made, as Linux's tcp_mark_skb_lost). */
static void
rexmit_lost(struct ust_stack *st, struct tcpcb *tp)
{
	ust_stat_inc(st, UST_STAT_TCP_LOST_RETRANSMIT);
	tp->rexmit_lost = true;
}

void
tcp_rack_timeout(struct ust_stack *st, struct tcpcb *tp)
{
	if (tp->snd_max == tp->snd_una)
		return;
	if (!tp->in_recovery && tcp_rack_detect(st, tp)) {
		ust_stat_inc(st, UST_STAT_TCP_RACK_LOSS);
		enter_recovery(st, tp);
		tcp_output(st, tp);
	} else if (tp->in_recovery && tcp_rack_detect_rexmit(st, tp)) {
		rexmit_lost(st, tp);
		tcp_output(st, tp);
	}
}

/* Returns true when processing stops: the segment is dropped, or the
 * connection closed (and may be freed). */
static bool
process_ack(struct ust_stack *st, struct tcpcb *tp, const struct ust_tcp_view *th, uint32_t seg_len)
{
	uint32_t ack = th->ack;
	if (SEQ_GT(ack, tp->snd_max)) {
		ust_drop(st, NULL, UST_DROP_TCP_BAD_ACK);
		tcp_send_oow_ack(st, tp);
		return true;
	}
	/* RFC 5961 5.2: an ACK far below snd_una is a blind injection attempt. */
	if (SEQ_LT(ack, tp->snd_una - tp->max_sndwnd)) {
		ust_drop(st, NULL, UST_DROP_TCP_BAD_ACK);
		tcp_send_challenge_ack(st, tp);
		return true;
	}
	uint32_t win = (uint32_t)th->win << tp->snd_wscale;
	bool win_changed = win != tp->snd_wnd;
	uint32_t old_una = tp->snd_una;
	tp->persist_probes = 0; /* the peer is there */
	if (SEQ_GT(ack, tp->snd_una)) {
		uint32_t acked = ack - tp->snd_una;
		/* RFC 7661: grow cwnd only when it was what limited us. */
		bool cwnd_limited = 2 * (tp->snd_max - tp->snd_una) >= tp->cwnd;
		if (tp->ts_ok && th->opts.has_ts && th->opts.tsecr != 0) {
			uint32_t ms = tcp_ts_now(st, tp) - th->opts.tsecr;
			if (ms < 60000u)
				tcp_xmit_timer(tp, (uint64_t)ms * UST_NS_PER_MS + UST_NS_PER_MS / 2);
		} else if (tp->rtt_start_ns != 0 && SEQ_GT(ack, tp->rtt_seq)) {
			tcp_xmit_timer(tp, st->now_ns - tp->rtt_start_ns);
			tp->rtt_start_ns = 0;
		}
		tp->rxtshift = 0;
		tp->retrans_stamp_ns = 0;
		uint32_t data = acked < tp->snd.len ? acked : tp->snd.len;
		tcp_ring_consume(&tp->snd, data);
		if (acked > data && tp->fin_sent)
			tp->fin_acked = true;
		tp->snd_una = ack;
		if (SEQ_LT(tp->snd_nxt, tp->snd_una))
			tp->snd_nxt = tp->snd_una;
		tcp_sack_update(tp, &th->opts);
		if (tp->rto_recovery) {
			/* After a timeout cwnd slow-starts from one segment. */
			tp->cc->ack(tp, data);
			if (SEQ_GEQ(ack, tp->recover)) {
				tp->in_recovery = false;
				tp->rto_recovery = false;
				tp->dupacks = 0;
			}
		} else if (tp->in_recovery) {
			if (SEQ_GEQ(ack, tp->recover)) {
				/* Full ACK: leave recovery (RFC 6582 3.2 step 3). */
				tp->in_recovery = false;
				tp->cwnd = tp->ssthresh;
				tp->dupacks = 0;
			} else if (!tp->sack_ok) {
				/* Partial ACK: resend the next hole, deflate by what
				 * was acked (RFC 6582 3.2 step 4). */
				tp->rexmit_nxt = tp->snd_una;
				tp->cwnd = tp->cwnd > acked ? tp->cwnd - acked : tp->mss;
				tp->cwnd += tp->mss;
			}
		} else {
			tp->dupacks = 0;
			if (cwnd_limited)
				tp->cc->ack(tp, data);
		}
		if (tp->snd_una == tp->snd_max)
			tp->rexmt_at = 0;
		else
			tcp_arm_rexmt(st, tp);
		if (tp->fin_acked && fin_acked(st, tp))
			return true;
		tcp_update_events(tp);
	} else if (ack == tp->snd_una && seg_len == 0 && !win_changed && tp->snd_max != tp->snd_una) {
		tp->dupacks++;
		tp->dupacks_in++;
		ust_stat_inc(st, UST_STAT_TCP_DUPACK_IN);
		tcp_sack_update(tp, &th->opts);
		if (tp->in_recovery && !tp->sack_ok)
			tp->cwnd += tp->mss; /* RFC 6582 3.2 step 3: inflate */
	} else {
		tcp_sack_update(tp, &th->opts);
	}
	if (tcp_tlp_ack(tp, th, tp->snd_una == old_una && seg_len == 0 && th->opts.nsack == 0 && !win_changed) &&
	    !tp->in_recovery) {
		/* RFC 8985 7.4: the probe repaired a tail loss; the window
		 * falls as for a loss, without a recovery (Linux's CWR). */
		ust_stat_inc(st, UST_STAT_TCP_TLP_RECOVERY);
		tp->cc->loss(tp);
		if (tp->cwnd > tp->ssthresh)
			tp->cwnd = tp->ssthresh;
	}
	tcp_rack_ack(st, tp, old_una, delivered_end(tp, th));
	if (tcp_rack_enabled(tp)) {
		/* RFC 8985: a hole is lost when a later-sent segment arrived
		 * and RACK.rtt + reo_wnd has passed since it was sent. */
		if (!tp->in_recovery && tp->snd_max != tp->snd_una && SEQ_GEQ(tp->snd_una, tp->recover) &&
		    tcp_rack_detect(st, tp)) {
			ust_stat_inc(st, UST_STAT_TCP_RACK_LOSS);
			enter_recovery(st, tp);
		} else if (tp->in_recovery && tp->snd_max != tp->snd_una && tcp_rack_detect_rexmit(st, tp)) {
			rexmit_lost(st, tp);
		}
	} else if (!tp->in_recovery && tp->snd_max != tp->snd_una && SEQ_GEQ(tp->snd_una, tp->recover)) {
		/* Without RACK (no SACK): three duplicate
		 * ACKs or SACKed segments (RFC 5681 3.2, RFC 6675 IsLost). */
		uint32_t sacked_segs = tp->sack_ok ? tcp_sacked_bytes(tp) / tp->mss : 0;
		uint32_t out_segs = (tp->snd_max - tp->snd_una + tp->mss - 1) / tp->mss;
		/* RFC 5827 early retransmit: with fewer than four segments out and
		 * nothing new to send, DupThresh drops to out - 1. */
		uint32_t thresh = 3;
		uint32_t unsent_bytes = tp->snd.len > tp->snd_max - tp->snd_una ?
						tp->snd.len - (tp->snd_max - tp->snd_una) : 0;
		if (out_segs < 4 && (unsent_bytes == 0 || tp->snd_wnd <= tp->snd_max - tp->snd_una))
			thresh = out_segs > 1 ? out_segs - 1 : 1;
		if (tp->dupacks >= thresh || (tp->sack_ok && sacked_segs >= thresh))
			enter_recovery(st, tp);
	}
	if (tp->snd_una != tp->snd_max)
		tcp_tlp_arm(st, tp);
	else
		tp->tlp_at = tp->reo_at = 0;
	/* Window update (RFC 9293 3.10.7.4, fifth check). */
	if (SEQ_LT(tp->snd_wl1, th->seq) || (tp->snd_wl1 == th->seq && SEQ_LEQ(tp->snd_wl2, ack))) {
		tp->snd_wnd = win;
		tp->snd_wl1 = th->seq;
		tp->snd_wl2 = ack;
		if (win > tp->max_sndwnd)
			tp->max_sndwnd = win;
		if (win > 0) {
			tp->persist_at = 0;
			tp->persist_shift = 0;
			tp->persist_start_ns = 0;
		}
	}
	return false;
}

/* Store bytes [seq, seq + len) at their place in the receive ring, except
 * those an out-of-order island already holds: a peer that resends the same
 * sequence with other bytes cannot change what the reader gets (the first
 * copy wins). */
static void
write_first_copy(struct tcpcb *tp, uint32_t seq, const uint8_t *data, uint32_t len)
{
	uint32_t end = seq + len, s = seq;
	for (unsigned i = 0; i < tp->nooo && SEQ_LT(s, end); i++) {
		uint32_t rs = tp->ooo[i].start, re = tp->ooo[i].end;
		if (SEQ_LEQ(re, s))
			continue;
		if (SEQ_GEQ(rs, end))
			break;
		if (SEQ_LT(s, rs))
			tcp_ring_write_at(&tp->rcv, tp->rcv.len + (s - tp->rcv_nxt), data + (s - seq), rs - s);
		s = re;
	}
	if (SEQ_LT(s, end))
		tcp_ring_write_at(&tp->rcv, tp->rcv.len + (s - tp->rcv_nxt), data + (s - seq), end - s);
}

static void
process_data(struct ust_stack *st, struct tcpcb *tp, const struct ust_tcp_view *th)
{
	uint32_t seq = th->seq;
	const uint8_t *data = th->payload;
	uint32_t len = th->payload_len;
	bool fin = (th->flags & UST_TCP_FIN) != 0;
	if (SEQ_LT(seq, tp->rcv_nxt)) {
		uint32_t skip = tp->rcv_nxt - seq;
		if (skip >= len) {
			/* All old: only the FIN (if any) may be new. */
			data += len;
			seq += len;
			len = 0;
			if (fin && seq != tp->rcv_nxt)
				fin = false;
		} else {
			set_dsack(tp, seq, tp->rcv_nxt);
			data += skip;
			len -= skip;
			seq = tp->rcv_nxt;
		}
	}
	uint32_t seq_before = tp->rcv_nxt;
	if (len > 0) {
		if (tp->rcv.buf == NULL && tcp_ring_reserve(&tp->s, &tp->rcv, tp->s.rcvbuf_bytes) < 0) {
			ust_drop(st, NULL, UST_DROP_TCP_RCVBUF);
			return;
		}
		uint32_t off = tp->rcv.len + (seq - tp->rcv_nxt);
		uint32_t room = tp->rcv.cap > off ? tp->rcv.cap - off : 0;
		if (len > room) {
			ust_drop(st, NULL, UST_DROP_TCP_RCVBUF);
			len = room;
			fin = false;
		}
		if (len == 0) {
			tp->ack_now = true;
			return;
		}
		write_first_copy(tp, seq, data, len);
		if (seq == tp->rcv_nxt) {
			bool had_ooo = tp->nooo > 0;
			tp->rcv.len += len;
			tp->rcv_nxt += len;
			tcp_ooo_pull(tp);
			tcp_rcv_arrived(st, tp, th, len);
			tp->segs_unacked++;
			if (had_ooo || tp->quickacks > 0 || tp->segs_unacked >= 2 || (th->flags & UST_TCP_PSH && tp->nodelay)) {
				tp->ack_now = true;
				if (tp->quickacks > 0)
					tp->quickacks--;
			} else if (tp->delack_at == 0) {
				tp->delack_at = st->now_ns + TCP_DELACK_NS;
			}
		} else {
			/* Out of order: keep it, and tell the sender at once with a
			 * duplicate ACK carrying SACK blocks (RFC 5681 4.2). */
			if (!tcp_ooo_add(tp, seq, len)) {
				ust_drop(st, NULL, UST_DROP_TCP_OOO_MEM);
				fin = false;
			} else {
				ust_stat_inc(st, UST_STAT_TCP_OOO_IN);
			}
			tp->ack_now = true;
		}
		if (tp->rcv_nxt != seq_before)
			ust_sock_arrived(&tp->s);
		tcp_update_events(tp);
	}
	if (fin) {
		uint32_t fin_seq = seq + len;
		if (fin_seq == tp->rcv_nxt) {
			fin_arrived(st, tp);
		} else if (SEQ_GT(fin_seq, tp->rcv_nxt)) {
			tp->ooo_fin = true;
			tp->ooo_fin_seq = fin_seq;
		}
	}
	if (tp->ooo_fin && tp->ooo_fin_seq == tp->rcv_nxt)
		fin_arrived(st, tp);
}

/* A passive SYN_RECEIVED connection is Linux's request socket
 * (tcp_check_req), not yet bound by RFC 5961's rules. */
static bool
embryonic(const struct tcpcb *tp)
{
	return tp->state == TCPS_SYN_RECEIVED && tp->parent != NULL;
}

void
tcp_input_sync(struct ust_stack *st, struct tcpcb *tp, struct ust_pkt *pkt,
	       const struct ust_ip_info *ip, const struct ust_tcp_view *th)
{
	uint8_t flags = th->flags;
	uint32_t seg_len = th->payload_len + !!(flags & UST_TCP_SYN) + !!(flags & UST_TCP_FIN);
	tp->last_rcv_ns = st->now_ns;
	tp->keep_probes = 0;

	/* The peer's SYN again: our SYN-ACK was lost; it goes again at once
	 * (rate-limited like other answers to old segments), its timer
	 * unchanged (Linux inet_rtx_syn_ack). */
	if (embryonic(tp) && th->seq == tp->irs &&
	    (flags & (UST_TCP_SYN | UST_TCP_ACK | UST_TCP_RST)) == UST_TCP_SYN) {
		ust_pkt_free(pkt);
		if (!tcp_oow_limited(st, tp))
			tcp_send_segment(st, tp, tp->iss, 0, UST_TCP_SYN | UST_TCP_ACK);
		return;
	}
	/* Simultaneous open: the peer's SYN-ACK answers our SYN-ACK. Its SYN
	 * is one we had, its ACK completes the handshake (Linux
	 * tcp_validate_incoming lets it pass, and ACKs the old SYN with a
	 * D-SACK). */
	bool crossed = tp->state == TCPS_SYN_RECEIVED && tp->parent == NULL &&
		       (flags & (UST_TCP_SYN | UST_TCP_ACK | UST_TCP_RST | UST_TCP_FIN)) ==
			       (UST_TCP_SYN | UST_TCP_ACK) &&
		       th->payload_len == 0 && th->seq + 1 == tp->rcv_nxt && th->ack == tp->snd_nxt;
	if (crossed) {
		set_dsack(tp, th->seq, th->seq + 1);
		tp->ack_now = true;
	}

	/* RFC 7323 5.3: PAWS. */
	if (tp->ts_ok && th->opts.has_ts && !(flags & UST_TCP_RST) &&
	    SEQ_LT(th->opts.tsval, tp->ts_recent)) {
		if (st->now_ns - tp->ts_recent_ns > PAWS_IDLE_NS) {
			tp->ts_recent = th->opts.tsval;
		} else {
			ust_drop(st, pkt, UST_DROP_TCP_PAWS);
			tcp_send_oow_ack(st, tp);
			tcp_timer_update(st, tp);
			return;
		}
	}
	if (!crossed && !seq_acceptable(tp, th->seq, seg_len)) {
		ust_drop(st, pkt, UST_DROP_TCP_BAD_SEQ);
		if (!(flags & UST_TCP_RST)) {
			if (tp->state == TCPS_TIME_WAIT && (flags & UST_TCP_FIN))
				tp->tw_at = st->now_ns + 2 * TCP_MSL_NS;
			bool fin_again = (flags & UST_TCP_FIN) && tp->state != TCPS_TIME_WAIT;
			if ((th->payload_len > 0 || fin_again) && SEQ_LT(th->seq, tp->rcv_nxt)) {
				/* Data (or a FIN) we hold already: the sender
				 * retransmitted needlessly; say so at once (Linux
				 * tcp_send_dupack; data cannot start an ACK loop, so
				 * no rate limit). */
				uint32_t end = th->seq + th->payload_len + (fin_again ? 1u : 0u);
				set_dsack(tp, th->seq, SEQ_GT(end, tp->rcv_nxt) ? tp->rcv_nxt : end);
				tcp_send_ack(st, tp);
			} else {
				tcp_send_oow_ack(st, tp);
			}
			tcp_timer_update(st, tp);
		}
		return;
	}
	/* RFC 7323 4.3: remember the timestamp of in-window segments. */
	if (tp->ts_ok && th->opts.has_ts && SEQ_LEQ(th->seq, tp->last_ack_sent)) {
		tp->ts_recent = th->opts.tsval;
		tp->ts_recent_ns = st->now_ns;
	}
	if (flags & UST_TCP_RST) {
		/* RFC 5961 3.2: only an exact match resets; in-window gets a
		 * challenge. */
		if (th->seq != tp->rcv_nxt) {
			ust_drop(st, pkt, UST_DROP_TCP_BAD_RST);
			tcp_send_challenge_ack(st, tp);
			return;
		}
		ust_stat_inc(st, UST_STAT_TCP_RST_IN);
		ust_pkt_free(pkt);
		if (tp->state != TCPS_TIME_WAIT && tp->state != TCPS_SYN_RECEIVED)
			tp->s.so_error = tp->state == TCPS_CLOSE_WAIT ? EPIPE : ECONNRESET;
		if (tp->state == TCPS_SYN_RECEIVED && tp->parent == NULL)
			tp->s.so_error = ECONNREFUSED;
		tcp_close_conn(st, tp);
		return;
	}
	if ((flags & UST_TCP_SYN) && embryonic(tp)) {
		/* tcp_check_req: a new SYN in the window ends the handshake,
		 * with a RST for it. */
		ust_tcp_send_reset(st, ip, th);
		ust_drop(st, pkt, UST_DROP_TCP_FLAGS);
		tcp_close_conn(st, tp);
		return;
	}
	if ((flags & UST_TCP_SYN) && !crossed) {
		/* RFC 5961 4.2: a SYN in a synchronized state is answered with a
		 * challenge ACK, whatever its sequence number. */
		ust_drop(st, pkt, UST_DROP_TCP_FLAGS);
		tcp_send_challenge_ack(st, tp);
		return;
	}
	if (!(flags & UST_TCP_ACK)) {
		ust_drop(st, pkt, UST_DROP_TCP_FLAGS);
		return;
	}
	if (tp->state == TCPS_SYN_RECEIVED) {
		if (SEQ_LEQ(th->ack, tp->snd_una) || SEQ_GT(th->ack, tp->snd_max)) {
			ust_tcp_send_reset(st, ip, th);
			ust_drop(st, pkt, UST_DROP_TCP_BAD_ACK);
			return;
		}
		/* TCP_DEFER_ACCEPT: a bare ACK does not complete the handshake
		 * until the deferral's last SYN-ACK (Linux tcp_check_req). */
		if (tp->parent != NULL && tp->rxtshift < tp->parent->defer_accept && th->payload_len == 0 &&
		    !(flags & UST_TCP_FIN)) {
			tp->defer_acked = true;
			ust_pkt_free(pkt);
			return;
		}
		/* A SYN's window is never scaled (RFC 7323 2.2). */
		tp->snd_wnd = (uint32_t)th->win << ((flags & UST_TCP_SYN) ? 0 : tp->snd_wscale);
		tp->max_sndwnd = tp->snd_wnd;
		tp->snd_wl1 = th->seq;
		tp->snd_wl2 = th->ack;
		tp->snd_una = th->ack;
		tp->rexmt_at = 0;
		if (tp->rxtshift == 0 && tp->ts_ok && th->opts.has_ts && th->opts.tsecr != 0)
			tcp_xmit_timer(tp, (uint64_t)(tcp_ts_now(st, tp) - th->opts.tsecr) * UST_NS_PER_MS);
		tp->rxtshift = 0;
		established(st, tp);
	} else if (process_ack(st, tp, th, seg_len)) {
		ust_pkt_free(pkt);
		return;
	}
	switch (tp->state) {
	case TCPS_FIN_WAIT_1:
	case TCPS_FIN_WAIT_2:
		/* RFC 1122 4.2.2.13, as Linux: new data for a socket that reads
		 * no more (closed, or shut for reading) is answered with a reset. */
		if ((tp->orphan || tp->shut_rd) && th->payload_len > 0 &&
		    SEQ_GT(th->seq + th->payload_len, tp->rcv_nxt)) {
			ust_pkt_free(pkt);
			tcp_drop(st, tp, ECONNRESET);
			return;
		}
		/* FALLTHROUGH */
	case TCPS_ESTABLISHED:
		process_data(st, tp, th);
		break;
	case TCPS_TIME_WAIT:
		if (flags & UST_TCP_FIN) {
			tp->ack_now = true;
			tp->tw_at = st->now_ns + 2 * TCP_MSL_NS;
		}
		break;
	default:
		break;
	}
	ust_pkt_free(pkt);
	tcp_output(st, tp);
	tcp_snd_space_check(st, tp);
}
