/*
 * TCP entry points: segment validation and demultiplexing (4-tuple, then
 * listener, then the CLOSED-state reset), the LISTEN state (SYN queue, accept
 * queue, SYN cookies when the queue is full), SYN_SENT (RFC 9293 3.10.7.3),
 * TIME_WAIT reuse by a new SYN, and ICMP errors.
 */
#include "tcp.h"

#include <errno.h>
#include <string.h>

#include "../ip.h"
#include "tcp_var.h"

/* Options both sides agreed on (RFC 7323 1.3, RFC 2018 2). */
static void
negotiate(struct ust_stack *st, struct tcpcb *tp, const struct ust_tcp_view *th)
{
	/* What we offered (or, answering a SYN, what we would offer) and the
	 * peer offered too. */
	tp->ts_ok = tp->ts_ok && th->opts.has_ts;
	tp->sack_ok = tp->sack_ok && th->opts.sack_ok;
	tp->ws_ok = tp->ws_ok && th->opts.has_wscale;
	tp->snd_wscale = tp->ws_ok ? (th->opts.wscale > 14 ? 14 : th->opts.wscale) : 0;
	if (!tp->ws_ok)
		tp->rcv_wscale = 0;
	if (tp->ts_ok) {
		tp->ts_recent = th->opts.tsval;
		tp->ts_recent_ns = st->now_ns;
	}
	tcp_mss_init(st, tp, &th->opts);
}

void
tcp_inherit(struct tcpcb *c, const struct tcpcb *l)
{
	c->s.reuseaddr = l->s.reuseaddr;
	c->s.reuseport = l->s.reuseport;
	c->s.keepalive = l->s.keepalive;
	c->s.broadcast = l->s.broadcast;
	c->s.dontroute = l->s.dontroute;
	c->s.freebind = l->s.freebind;
	c->s.transparent = l->s.transparent;
	c->s.rcvlowat = l->s.rcvlowat;
	c->s.priority = l->s.priority;
	c->s.mark = l->s.mark;
	c->s.uid = l->s.uid;
	c->s.rx_cmsgs = l->s.rx_cmsgs;
	c->s.rcvbuf_bytes = l->s.rcvbuf_bytes;
	c->s.sndbuf_bytes = l->s.sndbuf_bytes;
	c->nodelay = l->nodelay;
	c->cc = l->cc;
	c->keepidle_s = l->keepidle_s;
	c->keepintvl_s = l->keepintvl_s;
	c->keepcnt = l->keepcnt;
	c->linger_on = l->linger_on;
	c->linger_s = l->linger_s;
	c->user_mss = l->user_mss;
	c->window_clamp = l->window_clamp;
	c->rcvbuf_locked = l->rcvbuf_locked;
	c->sndbuf_locked = l->sndbuf_locked;
	c->syn_retries = l->syn_retries;
	c->linger2_s = l->linger2_s;
	c->user_timeout_ms = l->user_timeout_ms;
	c->notsent_lowat = l->notsent_lowat;
	c->s.mem = l->s.mem;
}

static struct tcpcb *
new_child(struct ust_stack *st, struct tcpcb *l, const struct ust_ip_info *ip,
	  const struct ust_tcp_view *th)
{
	struct tcpcb *c = tcp_alloc(st, l->s.family);
	if (c == NULL)
		return NULL;
	tcp_inherit(c, l);
	ust_sockaddr_set_ip(&c->s.local, ip->dst);
	c->s.local.port = th->dport;
	ust_sockaddr_set_ip(&c->s.remote, ip->src);
	c->s.remote.port = th->sport;
	tcp_bind_insert(st, c);
	c->parent = l;
	c->irs = th->seq;
	c->rcv_nxt = th->seq + 1;
	c->rcv_adv = c->rcv_nxt;
	c->ts_offset = (uint32_t)ust_stack_rand(st);
	c->quickacks = 16;
	c->last_rcv_ns = st->now_ns;
	tcp_hash_insert(st, c);
	return c;
}

/* A SYN-ACK carrying a cookie, from a throwaway block: no state is kept. */
static void
send_cookie_synack(struct ust_stack *st, struct tcpcb *l, const struct ust_ip_info *ip,
		   const struct ust_tcp_view *th)
{
	struct tcpcb tmp;
	memset(&tmp, 0, sizeof(tmp));
	tmp.s.stack = st;
	tmp.s.rcvbuf_bytes = l->s.rcvbuf_bytes;
	ust_sockaddr_set_ip(&tmp.s.local, ip->dst);
	tmp.s.local.port = th->dport;
	ust_sockaddr_set_ip(&tmp.s.remote, ip->src);
	tmp.s.remote.port = th->sport;
	tmp.state = TCPS_SYN_RECEIVED;
	tmp.rcv_nxt = th->seq + 1;
	uint16_t mss;
	tmp.iss = tcp_syncookie_make(st, ip, th, &mss);
	tmp.rcv_mss = (uint16_t)(ust_ip_mtu_payload(st, ip->src) - UST_TCP_HLEN);
	if (mss < tmp.rcv_mss)
		tmp.rcv_mss = mss;
	tmp.snd_max = tmp.iss;
	ust_stat_inc(st, UST_STAT_TCP_SYNCOOKIE_SENT);
	tcp_send_segment(st, &tmp, tmp.iss, 0, UST_TCP_SYN | UST_TCP_ACK);
}

static bool
accept_queue_full(const struct tcpcb *l)
{
	/* Linux's sk_acceptq_is_full: more than `backlog` waiting. */
	return l->acceptq_len > (unsigned)l->backlog;
}

static void
listen_input(struct ust_stack *st, struct tcpcb *l, struct ust_pkt *pkt,
	     const struct ust_ip_info *ip, const struct ust_tcp_view *th)
{
	uint8_t f = th->flags;
	if (f & UST_TCP_RST) {
		ust_drop(st, pkt, UST_DROP_TCP_NO_CONN);
		return;
	}
	if (f & UST_TCP_ACK) {
		uint16_t mss;
		if ((f & UST_TCP_SYN) || tcp_syncookie_check(st, ip, th, &mss) < 0) {
			ust_tcp_send_reset(st, ip, th);
			ust_drop(st, pkt, (f & UST_TCP_SYN) ? UST_DROP_TCP_NO_CONN
							   : UST_DROP_TCP_SYN_COOKIE_BAD);
			return;
		}
		if (accept_queue_full(l)) {
			ust_drop(st, pkt, UST_DROP_TCP_LISTEN_OVERFLOW);
			return;
		}
		/* A valid cookie: the handshake completes without state. */
		struct tcpcb *c = new_child(st, l, ip, th);
		if (c == NULL) {
			ust_drop(st, pkt, UST_DROP_NO_BUFFER);
			return;
		}
		c->irs = th->seq - 1;
		c->rcv_nxt = th->seq;
		c->rcv_adv = c->rcv_nxt;
		tcp_seq_init(c, th->ack - 1);
		c->snd_nxt = c->snd_max = th->ack;
		struct ust_tcp_opts o = {.has_mss = true, .mss = mss};
		tcp_mss_init(st, c, &o);
		/* The window our cookie SYN-ACK offered (no scaling in it). */
		c->rcv_adv = c->rcv_nxt + tcp_syn_window(st, c);
		c->state = TCPS_SYN_RECEIVED;
		l->synq_len++;
		ust_stat_inc(st, UST_STAT_TCP_SYNCOOKIE_OK);
		tcp_input_sync(st, c, pkt, ip, th);
		return;
	}
	if (!(f & UST_TCP_SYN)) {
		ust_drop(st, pkt, UST_DROP_TCP_NO_CONN);
		return;
	}
	if (accept_queue_full(l)) {
		ust_drop(st, pkt, UST_DROP_TCP_LISTEN_OVERFLOW);
		return;
	}
	unsigned synq_max = l->backlog > 0 ? (unsigned)l->backlog : 1;
	int cookies = st->sysctl.tcp_syncookies;
	unsigned max_syn = (unsigned)st->sysctl.tcp_max_syn_backlog;
	if (cookies == 2 || (cookies == 1 && l->synq_len >= synq_max)) {
		/* RFC 4987 3.6: under a flood (or always, at 2), answer without
		 * keeping state. */
		send_cookie_synack(st, l, ip, th);
		ust_pkt_free(pkt);
		return;
	}
	/* Without cookies Linux drops once the queue is full, or when fewer
	 * than a quarter of tcp_max_syn_backlog's places are left. */
	if (l->synq_len >= synq_max || (cookies == 0 && l->synq_len + max_syn / 4 > max_syn)) {
		ust_drop(st, pkt, UST_DROP_TCP_LISTEN_OVERFLOW);
		return;
	}
	struct tcpcb *c = new_child(st, l, ip, th);
	if (c == NULL) {
		ust_drop(st, pkt, UST_DROP_NO_BUFFER);
		return;
	}
	l->synq_len++;
	tcp_offer_options(st, c);
	negotiate(st, c, th);
	c->snd_wnd = th->win; /* never scaled in a SYN (RFC 7323 2.2) */
	c->max_sndwnd = c->snd_wnd;
	tcp_seq_init(c, tcp_new_isn(st, ip->dst, th->dport, ip->src, th->sport));
	c->state = TCPS_SYN_RECEIVED;
	tcp_send_syn(st, c);
	tcp_timer_update(st, c);
	ust_pkt_free(pkt);
}

static void
syn_sent_input(struct ust_stack *st, struct tcpcb *tp, struct ust_pkt *pkt,
	       const struct ust_ip_info *ip, const struct ust_tcp_view *th)
{
	uint8_t f = th->flags;
	bool ack_ok = false;
	if (f & UST_TCP_ACK) {
		if (SEQ_LEQ(th->ack, tp->iss) || SEQ_GT(th->ack, tp->snd_max)) {
			if (!(f & UST_TCP_RST))
				ust_tcp_send_reset(st, ip, th);
			/* Linux: the peer may still hold an old connection of
			 * this tuple and have ignored our RST; the first time,
			 * the SYN goes again at once (TCP_TIMEOUT_MIN). */
			if (tp->rxtshift == 0) {
				tp->rexmt_at = st->now_ns + TCP_TIMEOUT_MIN_NS;
				tcp_timer_update(st, tp);
			}
			ust_drop(st, pkt, UST_DROP_TCP_BAD_ACK);
			return;
		}
		ack_ok = true;
	}
	if (f & UST_TCP_RST) {
		if (!ack_ok) {
			ust_drop(st, pkt, UST_DROP_TCP_BAD_RST);
			return;
		}
		ust_stat_inc(st, UST_STAT_TCP_RST_IN);
		ust_pkt_free(pkt);
		tp->s.so_error = ECONNREFUSED;
		tcp_close_conn(st, tp);
		return;
	}
	if (!(f & UST_TCP_SYN)) {
		ust_drop(st, pkt, UST_DROP_TCP_FLAGS);
		return;
	}
	tp->irs = th->seq;
	tp->rcv_nxt = th->seq + 1;
	tp->rcv_adv = tp->rcv_nxt;
	negotiate(st, tp, th);
	tp->snd_wnd = th->win;
	tp->max_sndwnd = tp->snd_wnd;
	tp->snd_wl1 = th->seq;
	tp->snd_wl2 = th->ack;
	tp->last_rcv_ns = st->now_ns;
	if (ack_ok) {
		tp->snd_una = th->ack;
		tp->rexmt_at = 0;
		if (tp->rxtshift == 0) {
			if (tp->ts_ok && th->opts.tsecr != 0)
				tcp_xmit_timer(tp, (uint64_t)(tcp_ts_now(st, tp) - th->opts.tsecr) *
							   UST_NS_PER_MS);
			else if (tp->rtt_start_ns != 0)
				tcp_xmit_timer(tp, st->now_ns - tp->rtt_start_ns);
		}
		tp->rtt_start_ns = 0;
		tp->rxtshift = 0;
		tp->retrans_stamp_ns = 0;
		tcp_set_state(st, tp, TCPS_ESTABLISHED);
		tp->cc->init(tp);
		tp->recover = tp->snd_una;
		tp->quickacks = 16;
		ust_stat_inc(st, UST_STAT_TCP_ACTIVE_OPEN);
		ust_pkt_free(pkt);
		tp->ack_now = true;
		tcp_output(st, tp);
		return;
	}
	/* Simultaneous open (RFC 9293 3.5, figure 8). */
	tcp_set_state(st, tp, TCPS_SYN_RECEIVED);
	ust_pkt_free(pkt);
	tcp_send_syn(st, tp);
	tcp_timer_update(st, tp);
}

/* RFC 6191 / Linux tcp_timewait_state_process: a SYN may reopen a TIME_WAIT
 * tuple if it cannot be confused with the old connection. */
static bool
time_wait_reusable(const struct tcpcb *tp, const struct ust_tcp_view *th)
{
	return SEQ_GT(th->seq, tp->rcv_nxt) ||
	       (tp->ts_ok && th->opts.has_ts && SEQ_GT(th->opts.tsval, tp->ts_recent));
}

void
ust_tcp_input(struct ust_stack *st, struct ust_pkt *pkt, const struct ust_ip_info *ip)
{
	struct ust_tcp_view th;
	uint32_t ps = ust_ip_pseudo(ip->src, ip->dst, UST_IPPROTO_TCP, pkt->len);
	enum ust_drop why = ust_tcp_parse(ust_pkt_data(pkt), pkt->len, ps, pkt->ol_flags, &th);
	if (why != UST_DROP_NONE) {
		ust_drop(st, pkt, why);
		return;
	}
	ust_stat_inc(st, UST_STAT_TCP_SEG_IN);
	struct tcpcb *tp = tcp_lookup(st, ip->dst, th.dport, ip->src, th.sport);
	if (tp != NULL && tp->state == TCPS_TIME_WAIT && (th.flags & UST_TCP_SYN) &&
	    !(th.flags & UST_TCP_ACK) && time_wait_reusable(tp, &th)) {
		ust_stat_inc(st, UST_STAT_TCP_TW_REUSE);
		tcp_close_conn(st, tp);
		tp = NULL;
	}
	if (tp != NULL) {
		if (tp->state == TCPS_SYN_SENT)
			syn_sent_input(st, tp, pkt, ip, &th);
		else
			tcp_input_sync(st, tp, pkt, ip, &th);
		return;
	}
	struct tcpcb *l = tcp_lookup_listener(st, ip->dst, th.dport);
	if (l != NULL) {
		listen_input(st, l, pkt, ip, &th);
		return;
	}
	ust_tcp_send_reset(st, ip, &th);
	ust_drop(st, pkt, UST_DROP_TCP_NO_CONN);
}

void
ust_tcp_icmp_error(struct ust_stack *st, const struct ust_ip_info *inner, const uint8_t *l4,
		   int err)
{
	uint16_t sport = (uint16_t)(l4[0] << 8 | l4[1]);
	uint16_t dport = (uint16_t)(l4[2] << 8 | l4[3]);
	struct tcpcb *tp = tcp_lookup(st, inner->src, sport, inner->dst, dport);
	if (tp == NULL)
		return;
	uint32_t seq = (uint32_t)l4[4] << 24 | (uint32_t)l4[5] << 16 | (uint32_t)l4[6] << 8 | l4[7];
	/* RFC 5927 4.1: only errors about data in flight are believed. */
	if (SEQ_LT(seq, tp->snd_una) || SEQ_GEQ(seq, tp->snd_max))
		return;
	if (err == EMSGSIZE) {
		/* RFC 1191, RFC 8201: the IP layer now knows the smaller path
		 * MTU; the MSS follows it, and what was lost on the way goes
		 * again, cut to it, at the next retransmission. */
		struct ust_tcp_opts o = {.has_mss = true, .mss = tp->peer_mss};
		tcp_mss_init(st, tp, &o);
		return;
	}
	/* RFC 1122 4.2.3.9: hard errors abort a connection still opening;
	 * on an established one Linux only reports them if it times out. */
	if (tp->state == TCPS_SYN_SENT)
		tcp_drop(st, tp, err);
}
