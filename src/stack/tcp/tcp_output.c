/*
 * What to send now (FreeBSD tcp_output in spirit): new data within
 * min(snd_wnd, cwnd) with Nagle as Linux applies it (Minshall's rule), no
 * sliver at the window's edge until the probe timer, PSH where Linux puts
 * it, TCP_CORK and MSG_MORE, autocorking; in fast recovery, the holes below the
 * highest SACKed byte first while the pipe is under cwnd (RFC 6675 5);
 * a FIN after the last byte; ACKs and window updates; RSTs, challenge ACKs,
 * keepalives. Every segment is built here, from the send ring, so a
 * retransmission is the same code as a first transmission.
 */
#include <string.h>

#include "../ip.h"
#include "../wire/bytes.h"
#include "../wire/csum.h"
#include "tcp_var.h"

static uint32_t
window_to_advertise(struct ust_stack *st, struct tcpcb *tp)
{
	/* Linux __tcp_select_window: the free space, no more than the window
	 * has grown to (rcv_ssthresh) or TCP_WINDOW_CLAMP allows. */
	if (tp->rcv_ssthresh == 0)
		tp->rcv_ssthresh = tcp_syn_window(st, tp);
	uint32_t space = tcp_rcv_space(tp);
	if (space > tp->rcv_ssthresh)
		space = tp->rcv_ssthresh;
	if (tp->window_clamp != 0 && space > tp->window_clamp)
		space = tp->window_clamp;
	uint32_t cur = SEQ_GT(tp->rcv_adv, tp->rcv_nxt) ? tp->rcv_adv - tp->rcv_nxt : 0;
	/* Never shrink the window we offered (RFC 9293 3.8.6.2.2); grow it only
	 * by a worthwhile amount (receiver SWS avoidance, RFC 1122 4.2.3.3). */
	if (space < cur)
		return cur;
	uint32_t cap = tp->rcv.buf != NULL ? tp->rcv.cap : tp->s.rcvbuf_bytes;
	uint32_t step = cap / 2 < tp->rcv_mss ? cap / 2 : tp->rcv_mss;
	if (space - cur < step && cur > 0)
		return cur;
	/* Offer whole segments only: less than one is a silly window. */
	if (space < tp->rcv_mss)
		return cur;
	uint32_t max = 65535u << tp->rcv_wscale;
	return space > max ? max : space;
}

/* Linux tcp_select_initial_window: the buffer's window in whole segments
 * (of the MSS less the timestamps a SYN-ACK has agreed on), unscaled. */
uint32_t
tcp_syn_window(const struct ust_stack *st, const struct tcpcb *tp)
{
	uint32_t space = tcp_full_space(st, tp);
	uint32_t mss = tp->rcv_mss - (tp->state == TCPS_SYN_RECEIVED && tp->ts_ok ? 12u : 0u);
	if (space > mss)
		space -= space % mss;
	return space > 65535 ? 65535 : space;
}

int
tcp_send_segment(struct ust_stack *st, struct tcpcb *tp, uint32_t seq, uint32_t len, uint8_t flags)
{
	/* A SYN-ACK or RST may use the reserve: new connections start, and dead
	 * ones end, while connections hold the rest of the pool. */
	bool reply = (flags & UST_TCP_RST) ||
		     (flags & (UST_TCP_SYN | UST_TCP_ACK)) == (UST_TCP_SYN | UST_TCP_ACK);
	struct ust_pkt *pkt = reply ? ust_stack_alloc_reply(st) : ust_stack_alloc(st);
	if (pkt == NULL)
		return -1;
	struct ust_tcp_opts o;
	memset(&o, 0, sizeof(o));
	if (flags & UST_TCP_SYN) {
		o.has_mss = true;
		o.mss = tp->rcv_mss;
		/* In SYN_SENT these are our offers; answering, what was agreed. */
		o.has_wscale = tp->ws_ok;
		o.wscale = tp->rcv_wscale;
		o.sack_ok = tp->sack_ok;
		o.has_ts = tp->ts_ok;
	} else {
		o.has_ts = tp->ts_ok;
	}
	if (o.has_ts) {
		o.tsval = tcp_ts_now(st, tp);
		o.tsecr = tp->ts_recent;
	}
	/* RFC 2883: a duplicate is reported first, once. */
	if (tp->sack_ok && tp->dsack && (flags & UST_TCP_ACK)) {
		o.sack[0].start = tp->dsack_range.start;
		o.sack[0].end = tp->dsack_range.end;
		o.nsack = 1;
		tp->dsack = false;
	}
	/* RFC 2018 4: report the islands we hold, the newest first. */
	if (tp->sack_ok && tp->nooo > 0 && (flags & UST_TCP_ACK)) {
		for (unsigned i = tp->nooo; i-- > 0 && o.nsack < UST_TCP_MAX_SACK;) {
			o.sack[o.nsack].start = tp->ooo[i].start;
			o.sack[o.nsack].end = tp->ooo[i].end;
			o.nsack++;
		}
	}
	uint8_t opt[UST_TCP_MAX_OPT_LEN];
	size_t olen = ust_tcp_opts_build(opt, &o);
	/* SACK blocks ride in the option space the MSS left for them; a full
	 * data segment carries fewer, never more than the MTU allows. */
	while (o.nsack > 0 && UST_TCP_HLEN + olen + len > ust_ip_mtu_payload(st, tp->s.remote.addr6)) {
		o.nsack--;
		olen = ust_tcp_opts_build(opt, &o);
	}
	uint32_t hlen = (uint32_t)(UST_TCP_HLEN + olen);
	uint8_t *h = ust_pkt_append(pkt, hlen + len);
	if (h == NULL) {
		ust_drop(st, pkt, UST_DROP_NO_BUFFER);
		return -1;
	}
	memcpy(h + UST_TCP_HLEN, opt, olen);
	if (len > 0)
		tcp_ring_read(&tp->snd, seq - tp->snd_una, h + hlen, len);
	uint32_t win = (flags & UST_TCP_SYN) ? tcp_syn_window(st, tp) : window_to_advertise(st, tp);
	struct ust_tcp_view v = {
		.sport = tp->s.local.port,
		.dport = tp->s.remote.port,
		.seq = seq,
		.ack = (flags & UST_TCP_ACK) ? tp->rcv_nxt : 0,
		.hlen = (uint8_t)hlen,
		.flags = flags,
		.win = (uint16_t)((flags & UST_TCP_SYN) ? win : win >> tp->rcv_wscale),
	};
	uint32_t ps = ust_ip_pseudo(tp->s.local.addr6, tp->s.remote.addr6, UST_IPPROTO_TCP,
				    hlen + len);
	ust_tcp_build(h, &v, hlen + len, ps, false);
	if (flags & UST_TCP_ACK) {
		tp->last_ack_sent = tp->rcv_nxt;
		if (!(flags & UST_TCP_SYN)) {
			/* The scaled field rounds the window down, which can put
			 * its edge short of one offered before: the sender may
			 * have sent up to that one, and it fits the buffer, so
			 * the edge never moves back (Linux never shrinks it). */
			uint32_t edge = tp->rcv_nxt + ((uint32_t)v.win << tp->rcv_wscale);
			if (SEQ_GT(edge, tp->rcv_adv))
				tp->rcv_adv = edge;
		} else
			tp->rcv_adv = tp->rcv_nxt + win;
		tp->delack_at = 0;
		tp->ack_now = false;
		tp->segs_unacked = 0;
	}
	/* Linux ip_dont_fragment: DF unless IP_MTU_DISCOVER says otherwise. */
	struct ust_ip_tx tx = {.proto = UST_IPPROTO_TCP,
			       .df = tp->s.ip_pmtudisc == UST_IP_PMTUDISC_WANT ||
				     tp->s.ip_pmtudisc == UST_IP_PMTUDISC_DO,
			       .hlim = tp->s.ip_ttl,
			       .tclass = tp->s.ip_tos};
	memcpy(tx.src, tp->s.local.addr6, 16);
	memcpy(tx.dst, tp->s.remote.addr6, 16);
	ust_stat_inc(st, UST_STAT_TCP_SEG_OUT);
	if (SEQ_LT(seq, tp->snd_max) && (len > 0 || (flags & (UST_TCP_SYN | UST_TCP_FIN)))) {
		ust_stat_inc(st, UST_STAT_TCP_RETRANS);
		tp->total_retrans++;
		if (SEQ_GT(seq + len, tp->retrans_hi))
			tp->retrans_hi = seq + len;
	}
	/* Whether the frame now waits in the transmit queue (not on loopback,
	 * not for ARP): autocorking holds a small write behind it. */
	uint64_t queued = st->tx_queued;
	int rc = ust_ip_output(st, pkt, &tx);
	if (st->tx_queued != queued)
		tp->tx_mark = st->tx_queued;
	return rc;
}

void
tcp_send_ack(struct ust_stack *st, struct tcpcb *tp)
{
	tcp_send_segment(st, tp, tp->snd_nxt, 0, UST_TCP_ACK);
}

void
tcp_send_syn(struct ust_stack *st, struct tcpcb *tp)
{
	uint8_t flags = UST_TCP_SYN | (tp->state == TCPS_SYN_RECEIVED ? UST_TCP_ACK : 0);
	tcp_send_segment(st, tp, tp->iss, 0, flags);
	tp->rcv_ssthresh = tcp_syn_window(st, tp);
	if (SEQ_GT(tp->iss + 1, tp->snd_max))
		tp->snd_max = tp->iss + 1;
	tp->snd_nxt = tp->iss + 1;
	tcp_arm_rexmt(st, tp);
}

void
tcp_send_rst_for(struct ust_stack *st, struct tcpcb *tp)
{
	if (tp->state == TCPS_CLOSED || tp->state == TCPS_LISTEN || tp->state == TCPS_SYN_SENT)
		return;
	ust_stat_inc(st, UST_STAT_TCP_RST_OUT);
	tcp_send_segment(st, tp, tp->snd_nxt, 0, UST_TCP_RST | UST_TCP_ACK);
}

void
tcp_send_keepalive(struct ust_stack *st, struct tcpcb *tp)
{
	/* An old sequence number forces the peer to ACK (RFC 1122 4.2.3.6). */
	ust_stat_inc(st, UST_STAT_TCP_KEEPALIVE_OUT);
	tcp_send_segment(st, tp, tp->snd_una - 1, 0, UST_TCP_ACK);
}

void
tcp_send_challenge_ack(struct ust_stack *st, struct tcpcb *tp)
{
	struct ust_tcp *t = st->tcp;
	/* Linux tcp_send_challenge_ack: at most one per tcp_invalid_ratelimit
	 * per connection (with the other answers to unacceptable segments),
	 * and RFC 5961 7's budget per second per stack. */
	if (tcp_oow_limited(st, tp))
		return;
	if (st->now_ns - t->challenge_ts_ns >= UST_NS_PER_S) {
		t->challenge_ts_ns = st->now_ns;
		t->challenge_tokens = TCP_CHALLENGE_PER_S;
	}
	if (t->challenge_tokens == 0)
		return;
	t->challenge_tokens--;
	ust_stat_inc(st, UST_STAT_TCP_CHALLENGE_ACK);
	tcp_send_ack(st, tp);
}

bool
tcp_oow_limited(struct ust_stack *st, struct tcpcb *tp)
{
	/* Linux tcp_oow_rate_limited: two stacks that disagree about the
	 * sequence space (one was fed a forged segment) would otherwise ACK
	 * each other's ACKs forever. */
	if (tp->oow_ack_ns != 0 && st->now_ns - tp->oow_ack_ns < TCP_OOW_RATELIMIT_NS)
		return true;
	tp->oow_ack_ns = st->now_ns;
	return false;
}

void
tcp_send_oow_ack(struct ust_stack *st, struct tcpcb *tp)
{
	if (!tcp_oow_limited(st, tp))
		tcp_send_ack(st, tp);
}

/* Highest SACKed sequence, or snd_una. */
static uint32_t
high_sacked(const struct tcpcb *tp)
{
	return tp->nsacked > 0 ? tp->sacked[tp->nsacked - 1].end : tp->snd_una;
}

/* Bytes in [a, b) that the peer has not SACKed. */
static uint32_t
unsacked_between(const struct tcpcb *tp, uint32_t a, uint32_t b)
{
	if (!SEQ_LT(a, b))
		return 0;
	uint32_t n = b - a;
	for (unsigned i = 0; i < tp->nsacked; i++) {
		uint32_t s = SEQ_MAX(tp->sacked[i].start, a), e = SEQ_MIN(tp->sacked[i].end, b);
		if (SEQ_LT(s, e))
			n -= e - s;
	}
	return n;
}

/* RFC 6675 NextSeg rule 1: the first unSACKed byte at or after `from`
 * below the highest SACKed one; sets *len to the hole's size (≤ mss). */
static bool
next_hole(const struct tcpcb *tp, uint32_t from, uint32_t *seq, uint32_t *len)
{
	uint32_t s = SEQ_MAX(from, tp->snd_una);
	uint32_t hi = tp->rto_recovery ? tp->snd_max : tp->sack_ok ? high_sacked(tp) : tp->snd_una + tp->mss;
	if (!tp->sack_ok && SEQ_GT(from, tp->snd_una))
		return false;
	for (unsigned i = 0; i <= tp->nsacked && SEQ_LT(s, hi); i++) {
		uint32_t end = i < tp->nsacked ? tp->sacked[i].start : hi;
		if (SEQ_LT(s, end)) {
			uint32_t n = end - s;
			if (n > tp->mss)
				n = tp->mss;
			if (SEQ_GT(s + n, tp->snd_max))
				n = tp->snd_max - s;
			if (n == 0)
				return false;
			*seq = s;
			*len = n;
			return true;
		}
		if (i < tp->nsacked && SEQ_LT(s, tp->sacked[i].end))
			s = tp->sacked[i].end;
	}
	return false;
}

/* tcp_slow_start_after_idle (RFC 5681 4.1, Linux tcp_cwnd_restart): after
 * an RTO of silence with nothing in flight, halve cwnd per RTO idle, down to
 * the initial window at most. */
static void
restart_after_idle(struct ust_stack *st, struct tcpcb *tp)
{
	if (!st->sysctl.tcp_slow_start_after_idle || tp->last_snd_ns == 0 || tp->snd_una != tp->snd_max)
		return;
	uint64_t rto = tp->rto_ns, idle = st->now_ns - tp->last_snd_ns;
	uint32_t restart = 10u * tp->mss;
	if (idle <= rto || tp->cwnd <= restart)
		return;
	if (tp->ssthresh < tp->cwnd / 4 * 3)
		tp->ssthresh = tp->cwnd / 4 * 3; /* Linux: tcp_current_ssthresh */
	for (; idle > rto && tp->cwnd > restart; idle -= rto)
		tp->cwnd /= 2;
	if (tp->cwnd < restart)
		tp->cwnd = restart;
}

/* Data bytes in the ring beyond snd_nxt (the FIN is not data). */
static uint32_t
unsent(const struct tcpcb *tp)
{
	uint32_t off = tp->snd_nxt - tp->snd_una;
	return tp->snd.len > off ? tp->snd.len - off : 0;
}

/* Linux tcp_should_autocork: a small tail written by a send call while
 * unacknowledged data is out and a frame of this connection still waits in
 * the stack's transmit queue (Linux: in the qdisc or the NIC's ring) stays
 * until that queue is handed to the netif, so the writes made meanwhile
 * leave as one segment. On loopback frames never wait (Linux's loopback
 * frees them at once too). */
static bool
autocork(const struct ust_stack *st, const struct tcpcb *tp)
{
	return tp->send_call && st->sysctl.tcp_autocorking && tp->snd_una != tp->snd_max &&
	       tp->tx_mark > st->tx_flushed;
}

/* Wait for the flush (Linux sets TSQ_THROTTLED and counts TCPAutoCorking
 * once per wait). */
static void
tsq_defer(struct ust_stack *st, struct tcpcb *tp)
{
	if (tp->tsq_queued)
		return;
	ust_stat_inc(st, UST_STAT_TCP_AUTOCORKING);
	tp->tsq_queued = true;
	tp->tsq_next = st->tcp->tsq;
	st->tcp->tsq = tp;
}

void
ust_tcp_tx_done(struct ust_stack *st)
{
	struct ust_tcp *t = st->tcp;
	struct tcpcb *tp;
	/* Linux tcp_tsq_handler; tcp_free unlinks a connection freed meanwhile. */
	while (t != NULL && (tp = t->tsq) != NULL) {
		t->tsq = tp->tsq_next;
		tp->tsq_next = NULL;
		tp->tsq_queued = false;
		tcp_output(st, tp);
	}
}

static void
send_new(struct ust_stack *st, struct tcpcb *tp, uint32_t budget)
{
	for (;;) {
		uint32_t avail = unsent(tp);
		uint32_t data_end = tp->snd_una + tp->snd.len;
		/* The FIN takes the sequence number after the last byte; it is
		 * (re)sent when snd_nxt reaches it and it is not yet acked. */
		bool fin_pending = tp->fin_queued && !tp->fin_acked && SEQ_LEQ(tp->snd_nxt, data_end);
		uint32_t wnd_end = tp->snd_una + tp->snd_wnd;
		uint32_t usable = SEQ_GT(wnd_end, tp->snd_nxt) ? wnd_end - tp->snd_nxt : 0;
		if (usable > budget)
			usable = budget;
		uint32_t len = avail < usable ? avail : usable;
		if (len > tp->mss)
			len = tp->mss;
		bool fin_now = fin_pending && tp->snd_nxt + len == data_end;
		if (len == 0 && !fin_now)
			return;
		if (len > 0 && len < tp->mss && len == avail && !fin_now && !tp->push &&
		    (tp->cork || tp->more || (!tp->nodelay && SEQ_GT(tp->snd_sml, tp->snd_una))))
			return; /* Nagle with Minshall's rule (as Linux): a small tail
				 * waits while an earlier small segment is unacknowledged;
				 * TCP_CORK and MSG_MORE: it waits for the rest */
		if (len > 0 && len < tp->mss && len < avail && !tp->push)
			return; /* a sliver at the window's edge waits for the window
				 * or the probe timer (Linux tcp_snd_wnd_test) */
		if (len > 0 && len < tp->mss && len == avail && !fin_now && !tp->push && autocork(st, tp)) {
			tsq_defer(st, tp);
			return;
		}
		uint8_t flags = UST_TCP_ACK | (fin_now ? UST_TCP_FIN : 0);
		/* PSH on the last byte queued (unless more is coming: cork,
		 * MSG_MORE), and on the last segment the window or cwnd lets
		 * out, as Linux's tcp_push: the receiver should not wait for a
		 * flight's tail. */
		bool last_of_flight = len < avail && (budget - len < tp->mss ||
						      SEQ_GEQ(tp->snd_nxt + len + tp->mss, wnd_end + 1));
		if (len > 0 && ((len == avail && (!tp->more || tp->push)) || last_of_flight))
			flags |= UST_TCP_PSH;
		if (tp->rtt_start_ns == 0 && !tp->ts_ok && tp->snd_nxt == tp->snd_max && len > 0) {
			tp->rtt_seq = tp->snd_nxt;
			tp->rtt_start_ns = st->now_ns;
		}
		bool fresh = tp->snd_nxt == tp->snd_max;
		if (fresh && len > 0)
			restart_after_idle(st, tp);
		tcp_send_segment(st, tp, tp->snd_nxt, len, flags);
		if (len > 0)
			tp->last_snd_ns = st->now_ns;
		if (fresh)
			tcp_rack_sent(st, tp, tp->snd_nxt + len + (fin_now ? 1 : 0));
		if (len < tp->mss)
			tp->snd_sml = tp->snd_nxt + len;
		tp->snd_nxt += len + (fin_now ? 1 : 0);
		if (fin_now)
			tp->fin_sent = true;
		if (SEQ_GT(tp->snd_nxt, tp->snd_max))
			tp->snd_max = tp->snd_nxt;
		if (tp->rexmt_at == 0)
			tcp_arm_rexmt(st, tp);
		budget -= len < budget ? len : budget;
		if (fin_now)
			return;
	}
}

void
tcp_push(struct ust_stack *st, struct tcpcb *tp)
{
	tp->send_call = true;
	tcp_output(st, tp);
	tp->send_call = false;
}

void
tcp_output_one(struct ust_stack *st, struct tcpcb *tp)
{
	uint32_t sent = tp->snd_max;
	tp->snd_nxt = tp->snd_max;
	send_new(st, tp, tp->mss);
	if (tp->snd_max != sent)
		tcp_timer_update(st, tp);
}

void
tcp_output(struct ust_stack *st, struct tcpcb *tp)
{
	switch (tp->state) {
	case TCPS_CLOSED:
	case TCPS_LISTEN:
	case TCPS_SYN_SENT:
	case TCPS_SYN_RECEIVED:
	case TCPS_TIME_WAIT:
		if (tp->ack_now && tp->state == TCPS_TIME_WAIT)
			tcp_send_ack(st, tp);
		if (tp->state != TCPS_CLOSED)
			tcp_timer_update(st, tp);
		return;
	default:
		break;
	}
	uint32_t before = tp->snd_max;
	if (tp->in_recovery) {
		/* RFC 6675 5: pipe = outstanding - SACKed - lost-not-resent. */
		for (;;) {
			uint32_t out = tp->snd_max - tp->snd_una;
			uint32_t pipe = out - tcp_sacked_bytes(tp);
			if (tp->sack_ok)
				pipe -= unsacked_between(tp, SEQ_MAX(tp->rexmit_nxt, tp->snd_una),
							 tp->rto_recovery ? tp->snd_max : high_sacked(tp));
			/* RFC 6675 5 step 4.3, RFC 5681 3.2 step 2: the fast
			 * retransmission itself does not wait for the pipe. */
			if (pipe >= tp->cwnd && !tp->rexmit_first && !tp->rexmit_lost)
				break;
			uint32_t seq, len;
			bool first = tp->rexmit_first;
			/* RACK found the first hole's retransmission lost: it goes
			 * again, alone (the holes after it are not known lost). */
			bool again = tp->rexmit_lost;
			tp->rexmit_first = tp->rexmit_lost = false;
			if (next_hole(tp, again ? tp->snd_una : tp->rexmit_nxt, &seq, &len)) {
				/* The FIN has a sequence number but no byte in the ring:
				 * a hole reaching it is resent as data up to the end,
				 * then the FIN flag. */
				uint32_t data_end = tp->snd_una + tp->snd.len;
				/* A resent tail keeps the PSH it had (Linux resends
				 * the buffer with its flags). */
				uint8_t flags = UST_TCP_ACK | (seq + len == data_end ? UST_TCP_PSH : 0);
				if (tp->fin_sent && SEQ_GEQ(seq + len, data_end + 1)) {
					len = data_end - seq;
					flags |= UST_TCP_FIN;
				}
				tcp_send_segment(st, tp, seq, len, flags);
				uint32_t end = seq + len + ((flags & UST_TCP_FIN) ? 1 : 0);
				tcp_rack_resent(st, tp, seq, end);
				if (!again || SEQ_GT(end, tp->rexmit_nxt))
					tp->rexmit_nxt = end;
				continue;
			}
			if (first && pipe >= tp->cwnd)
				break;
			uint32_t sent = tp->snd_max;
			tp->snd_nxt = tp->snd_max;
			send_new(st, tp, tp->cwnd - pipe);
			if (tp->snd_max == sent)
				break;
		}
	} else {
		/* RFC 6675 pipe: SACKed bytes have left the network, which also
		 * gives limited transmit (RFC 3042) as SACKs arrive. */
		uint32_t flight = tp->snd_nxt - tp->snd_una - tcp_sacked_bytes(tp);
		uint32_t budget = tp->cwnd > flight ? tp->cwnd - flight : 0;
		send_new(st, tp, budget);
	}
	/* A window too small to use (zero, or a sliver) with data waiting and
	 * nothing in flight: probe, or the two
	 * sides would wait for each other forever (RFC 9293 3.8.6.1). */
	uint32_t usable = tp->snd_wnd > tp->snd_nxt - tp->snd_una ? tp->snd_wnd - (tp->snd_nxt - tp->snd_una) : 0;
	if (usable < tp->mss && unsent(tp) > usable && tp->snd_una == tp->snd_max && tp->persist_at == 0) {
		tp->rexmt_at = 0;
		tp->persist_shift = 0;
		tp->persist_at = st->now_ns + tcp_rto_backed_off(tp);
	}
	/* Data held by TCP_CORK or MSG_MORE with nothing in flight goes out
	 * when the probe timer fires (Linux's probe0: the RTO, at least
	 * 200 ms), the ceiling man 7 tcp promises for a cork. */
	if (unsent(tp) > 0 && unsent(tp) <= usable && tp->snd_una == tp->snd_max && tp->persist_at == 0 &&
	    (tp->cork || tp->more)) {
		uint64_t d = tcp_rto_backed_off(tp);
		tp->persist_shift = 0;
		tp->persist_at = st->now_ns + (d > TCP_RTO_MIN_NS ? d : TCP_RTO_MIN_NS);
	}
	if (tp->ack_now && tp->snd_max == before)
		tcp_send_ack(st, tp);
	/* New data moves the probe to 2·SRTT after the last transmission, and
	 * may make the socket writable (TCP_NOTSENT_LOWAT). */
	if (tp->snd_max != before) {
		tcp_tlp_arm(st, tp);
		tcp_update_events(tp);
	}
	tcp_timer_update(st, tp);
}
