/*
 * The socket face of TCP: struct ust_sock_proto for SOCK_STREAM. Calls never
 * block: connect answers -EINPROGRESS, send/recv -EAGAIN, and readiness
 * follows through ust_sock_notify. Errors are the ones Linux returns
 * (man 7 tcp, man 2 connect/send/recv/shutdown).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "../ip.h"
#include "tcp_var.h"

/* Linux's struct linger. */
struct tcp_linger {
	int l_onoff;  /* linger active */
	int l_linger; /* seconds */
};

static int
tcp_bind(struct ust_sock *s, const struct ust_sockaddr *a)
{
	struct tcpcb *tp = tcpcb_of(s);
	struct ust_stack *st = s->stack;
	if (tp->state != TCPS_CLOSED)
		return -EINVAL;
	if (a->port == 0) {
		ust_sockaddr_set_ip(&s->local, a->addr6);
		int rc = tcp_pick_port(st, tp, NULL, 0);
		if (rc < 0)
			s->local = ust_sockaddr_any(s->family);
		return rc;
	}
	if (tcp_port_in_use(st, tp, a->addr6, a->port))
		return -EADDRINUSE;
	ust_sockaddr_set_ip(&s->local, a->addr6);
	s->local.port = a->port;
	tcp_bind_insert(st, tp);
	return 0;
}

static int
tcp_listen(struct ust_sock *s, int backlog)
{
	struct tcpcb *tp = tcpcb_of(s);
	struct ust_stack *st = s->stack;
	if (tp->state != TCPS_CLOSED && tp->state != TCPS_LISTEN)
		return -EINVAL;
	if (backlog > st->sysctl.somaxconn)
		backlog = st->sysctl.somaxconn;
	if (backlog < 0)
		backlog = 0;
	tp->backlog = backlog;
	if (tp->state == TCPS_LISTEN)
		return 0;
	if (!s->bound) {
		int rc = tcp_pick_port(st, tp, NULL, 0);
		if (rc < 0)
			return rc;
	} else if (tcp_lookup_listener(st, s->local.addr6, s->local.port) != NULL &&
		   !ust_sock_reuseport_shares(s, &tcp_lookup_listener(st, s->local.addr6, s->local.port)->s)) {
		return -EADDRINUSE;
	}
	tcp_listen_insert(st, tp);
	tcp_set_state(st, tp, TCPS_LISTEN);
	return 0;
}

static int
tcp_accept(struct ust_sock *s, struct ust_sock **out)
{
	struct tcpcb *l = tcpcb_of(s);
	if (l->state != TCPS_LISTEN)
		return -EINVAL;
	struct tcpcb *c = l->acceptq_head;
	if (c == NULL)
		return -EAGAIN;
	l->acceptq_head = c->q_next;
	if (l->acceptq_head == NULL)
		l->acceptq_tail = NULL;
	l->acceptq_len--;
	c->q_next = NULL;
	c->parent = NULL;
	c->accepted = true;
	tcp_update_events(l);
	tcp_update_events(c);
	*out = &c->s;
	return 0;
}

static int take_error(struct tcpcb *tp);

static int
tcp_connect(struct ust_sock *s, const struct ust_sockaddr *a)
{
	struct tcpcb *tp = tcpcb_of(s);
	struct ust_stack *st = s->stack;
	if (a->family == 0) {
		tcp_disconnect(st, tp);
		return 0;
	}
	/* Asked again after -EINPROGRESS, connect() reports the attempt's
	 * outcome once: 0, or its error (Linux's SS_CONNECTING). */
	bool pending = tp->connect_pending;
	tp->connect_pending = false;
	switch (tp->state) {
	case TCPS_CLOSED:
		if (pending) {
			int e = take_error(tp);
			return e != 0 ? e : -ECONNABORTED;
		}
		break;
	case TCPS_SYN_SENT:
	case TCPS_SYN_RECEIVED:
		tp->connect_pending = pending;
		return -EALREADY;
	case TCPS_LISTEN:
		return -EISCONN;
	default:
		return pending ? 0 : -EISCONN;
	}
	if (tp->was_established || tp->fin_rcvd) {
		/* A socket that was connected once cannot connect again; one
		 * whose attempt failed may try again (Linux). */
		return -EISCONN;
	}
	int rc = ust_sock_peer_addr_ok(s, a);
	if (rc < 0)
		return rc;
	if (a->port == 0 || ust_ip_is_unspec(a->addr6))
		return -ECONNREFUSED;
	if (ust_ip_route_ok(st, a->addr6) < 0)
		return -ENETUNREACH;
	if (ust_ip_is_unspec(s->local.addr6)) {
		uint8_t src[16];
		rc = ust_ip_source(st, a->addr6, src);
		tp->addr_auto = true;
		if (rc < 0)
			return rc;
		ust_sockaddr_set_ip(&s->local, src);
	}
	if (!s->bound || s->local.port == 0) {
		rc = tcp_pick_port(st, tp, a->addr6, a->port);
		if (rc < 0)
			return rc;
	} else if (tcp_lookup(st, s->local.addr6, s->local.port, a->addr6, a->port) != NULL) {
		return -EADDRNOTAVAIL;
	}
	ust_sockaddr_set_ip(&s->remote, a->addr6);
	s->remote.port = a->port;
	s->so_error = 0;
	tcp_seq_init(tp, tcp_new_isn(st, s->local.addr6, s->local.port, a->addr6, a->port));
	tp->ts_offset = (uint32_t)ust_stack_rand(st);
	tcp_offer_options(st, tp); /* negotiate() settles them */
	tcp_mss_init(st, tp, NULL);
	tcp_hash_insert(st, tp);
	tcp_set_state(st, tp, TCPS_SYN_SENT);
	tp->rtt_start_ns = st->now_ns;
	tp->retrans_stamp_ns = st->now_ns;
	tcp_send_syn(st, tp);
	tcp_timer_update(st, tp);
	tp->connect_pending = true;
	return -EINPROGRESS;
}

/* The pending error, reported once by the call that takes it (Linux's
 * sock_error); 0 if none. */
static int
take_error(struct tcpcb *tp)
{
	int e = tp->s.so_error;
	if (e != 0) {
		tp->s.so_error = 0;
		tcp_update_events(tp);
	}
	return -e;
}

/* Whether the state lets send() queue bytes: 0, or its error. */
static int
send_state(const struct tcpcb *tp)
{
	switch (tp->state) {
	case TCPS_ESTABLISHED:
	case TCPS_CLOSE_WAIT:
		break;
	case TCPS_SYN_SENT:
	case TCPS_SYN_RECEIVED:
		return -EAGAIN;
	default:
		/* Never connected, shut down for writing, or gone (Linux). */
		return -EPIPE;
	}
	return tp->fin_queued ? -EPIPE : 0;
}

/* Whether send() may queue bytes now: 0, or its error. */
static int
send_check(struct tcpcb *tp)
{
	int rc = take_error(tp);
	if (rc == 0)
		rc = send_state(tp);
	if (rc == 0 && tp->snd.buf == NULL && tcp_ring_reserve(&tp->s, &tp->snd, tp->s.sndbuf_bytes) < 0)
		rc = -ENOBUFS;
	/* The buffer grew (autotuning, SO_SNDBUF): the ring follows here,
	 * where no span of it is lent out. One that cannot grow keeps its
	 * size and bytes, and the buffer is what the ring holds (so poll does
	 * not report room the ring lacks). */
	if (rc == 0 && tp->snd.cap < tp->s.sndbuf_bytes &&
	    tcp_ring_grow(&tp->s, &tp->snd, tp->s.sndbuf_bytes) < 0)
		tp->s.sndbuf_bytes = tp->snd.cap;
	return rc;
}

static ssize_t
tcp_sendto(struct ust_sock *s, const void *buf, size_t len, int flags,
	   const struct ust_sockaddr *to)
{
	struct tcpcb *tp = tcpcb_of(s);
	(void)to;
	int rc = send_check(tp);
	if (rc < 0)
		return rc;
	/* MSG_MORE holds a partial segment like TCP_CORK until a send
	 * without it (Linux's tcp_push with TCP_NAGLE_CORK). */
	tp->more = (flags & UST_MSG_MORE) != 0;
	if (len == 0) {
		if (!tp->more)
			tcp_push(s->stack, tp);
		return 0;
	}
	uint32_t n = tcp_ring_write(&tp->snd, buf, len > UINT32_MAX ? UINT32_MAX : (uint32_t)len);
	if (n < len)
		tp->snd_nospace = true;
	if (n == 0)
		return -EAGAIN;
	tcp_push(s->stack, tp);
	tcp_update_events(tp);
	return n;
}

static ssize_t
tcp_send_spans(struct ust_sock *s, size_t max, struct ust_sock_span *sp)
{
	struct tcpcb *tp = tcpcb_of(s);
	int rc = send_check(tp);
	if (rc < 0)
		return rc;
	uint32_t room = tp->snd.cap - tp->snd.len;
	uint32_t n = max < room ? (uint32_t)max : room;
	if (n < max)
		tp->snd_nospace = true;
	if (n == 0)
		return max == 0 ? 0 : -EAGAIN;
	return tcp_ring_spans(&tp->snd, tp->snd.len, n, sp);
}

static void
tcp_send_commit(struct ust_sock *s, size_t n, int flags)
{
	struct tcpcb *tp = tcpcb_of(s);
	tp->more = (flags & UST_MSG_MORE) != 0;
	/* The connection may have failed since the room was handed out; the
	 * bytes are then dropped, as a closed connection drops its queue, and
	 * the error stays for the program's next call. */
	if (n == 0 || tp->snd.buf == NULL || tp->s.so_error != 0 || send_state(tp) < 0)
		return;
	uint32_t room = tp->snd.cap - tp->snd.len;
	tp->snd.len += n < room ? (uint32_t)n : room;
	tcp_push(s->stack, tp);
	tcp_update_events(tp);
}

/* What recv() returns when no byte is waiting (rcv.len == 0). */
static ssize_t
recv_empty(struct tcpcb *tp)
{
	int rc = take_error(tp);
	if (rc < 0)
		return rc;
	if (tp->fin_rcvd || tp->shut_rd)
		return 0;
	if (tp->state == TCPS_CLOSED)
		return tp->snd_max == 0 && tp->iss == 0 ? -ENOTCONN : 0;
	/* Even a zero-length read waits for a byte (Linux's rcvlowat). */
	return -EAGAIN;
}

/* The window the free space allows, as far as the window has grown. */
static uint32_t
offerable(const struct tcpcb *tp)
{
	uint32_t space = tcp_rcv_space(tp);
	return tp->rcv_ssthresh != 0 && space > tp->rcv_ssthresh ? tp->rcv_ssthresh : space;
}

static void
recv_consume(struct tcpcb *tp, uint32_t n)
{
	struct ust_stack *st = tp->s.stack;
	uint32_t before = offerable(tp);
	tcp_ring_consume(&tp->rcv, n);
	tcp_rcv_space_adjust(st, tp);
	/* Tell the sender once the window has opened by a useful amount
	 * (RFC 9293 3.8.6.2.2, receiver SWS avoidance). */
	uint32_t adv = SEQ_GT(tp->rcv_adv, tp->rcv_nxt) ? tp->rcv_adv - tp->rcv_nxt : 0;
	uint32_t now_space = offerable(tp);
	uint32_t step = tp->rcv.cap / 2 < tp->rcv_mss ? tp->rcv.cap / 2 : tp->rcv_mss;
	if (now_space - adv >= step && before - adv < step &&
	    (tp->state == TCPS_ESTABLISHED || tp->state == TCPS_FIN_WAIT_1 ||
	     tp->state == TCPS_FIN_WAIT_2)) {
		tp->ack_now = true;
		tcp_output(st, tp);
	}
	tcp_update_events(tp);
}

static ssize_t
tcp_recvfrom(struct ust_sock *s, void *buf, size_t len, int flags, struct ust_sockaddr *from)
{
	struct tcpcb *tp = tcpcb_of(s);
	if (from != NULL)
		*from = s->remote;
	if (tp->state == TCPS_LISTEN)
		return -ENOTCONN;
	if (tp->rcv.len == 0)
		return recv_empty(tp);
	uint32_t n = tcp_ring_read(&tp->rcv, 0, buf, len > UINT32_MAX ? UINT32_MAX : (uint32_t)len);
	if (!(flags & UST_MSG_PEEK))
		recv_consume(tp, n);
	return n;
}

static int
tcp_rehome(struct ust_sock *s, const struct ust_sock_mem *mem)
{
	struct tcpcb *tp = tcpcb_of(s);
	/* An empty ring is not moved but freed: a closed socket lingering in
	 * FIN_WAIT or TIME_WAIT would otherwise hold a full buffer of malloc. */
	tcp_free_empty_rings(tp);
	/* Both or neither: a ring must be freed by the allocator it came from. */
	uint8_t *ns = tp->snd.buf != NULL ? tcp_ring_alloc(mem, tp->snd.cap) : NULL;
	uint8_t *nr = tp->rcv.buf != NULL ? tcp_ring_alloc(mem, tp->rcv.cap) : NULL;
	if ((tp->snd.buf != NULL && ns == NULL) || (tp->rcv.buf != NULL && nr == NULL)) {
		if (ns != NULL)
			tcp_ring_release(mem, ns, tp->snd.cap);
		if (nr != NULL)
			tcp_ring_release(mem, nr, tp->rcv.cap);
		return -ENOMEM;
	}
	if (ns != NULL)
		tcp_ring_move(s, &tp->snd, ns);
	if (nr != NULL)
		tcp_ring_move(s, &tp->rcv, nr);
	s->mem = mem;
	return 0;
}

static ssize_t
tcp_recv_spans(struct ust_sock *s, size_t max, struct ust_sock_span *sp)
{
	struct tcpcb *tp = tcpcb_of(s);
	if (tp->state == TCPS_LISTEN)
		return -ENOTCONN;
	if (tp->rcv.len == 0)
		return recv_empty(tp);
	uint32_t n = max < tp->rcv.len ? (uint32_t)max : tp->rcv.len;
	return tcp_ring_spans(&tp->rcv, 0, n, sp);
}

static void
tcp_recv_consume(struct ust_sock *s, size_t n)
{
	struct tcpcb *tp = tcpcb_of(s);
	recv_consume(tp, n < tp->rcv.len ? (uint32_t)n : tp->rcv.len);
}

static int
tcp_shutdown(struct ust_sock *s, int how)
{
	struct tcpcb *tp = tcpcb_of(s);
	struct ust_stack *st = s->stack;
	switch (tp->state) {
	case TCPS_CLOSED:
		/* Linux records the shutdown even so (inet_shutdown), and poll
		 * shows it. */
		if (how != UST_SHUT_WR && !tp->shut_rd) {
			tp->shut_rd = true;
			tcp_update_events(tp);
		}
		return -ENOTCONN;
	case TCPS_LISTEN:
		/* Linux: shutting a listener's read side closes it; its queue
		 * is reset and a blocked accept() sees EINVAL. */
		if (how == UST_SHUT_WR)
			return 0;
		tcp_drop_children(st, tp);
		tcp_listen_remove(st, tp);
		tcp_set_state(st, tp, TCPS_CLOSED);
		return 0;
	case TCPS_SYN_SENT:
		tcp_close_conn(st, tp);
		return 0;
	default:
		break;
	}
	if (how != UST_SHUT_WR)
		tp->shut_rd = true;
	if (how != UST_SHUT_RD && !tp->fin_queued) {
		tp->fin_queued = true;
		if (tp->state == TCPS_ESTABLISHED || tp->state == TCPS_SYN_RECEIVED)
			tcp_set_state(st, tp, TCPS_FIN_WAIT_1);
		else if (tp->state == TCPS_CLOSE_WAIT)
			tcp_set_state(st, tp, TCPS_LAST_ACK);
		tcp_output(st, tp);
	}
	tcp_update_events(tp);
	return 0;
}

static void
tcp_close(struct ust_sock *s)
{
	struct tcpcb *tp = tcpcb_of(s);
	struct ust_stack *st = s->stack;
	tp->orphan = true;
	s->on_event = NULL;
	switch (tp->state) {
	case TCPS_CLOSED:
	case TCPS_LISTEN:
	case TCPS_SYN_SENT:
		tcp_free(st, tp);
		return;
	case TCPS_TIME_WAIT:
		return;
	default:
		break;
	}
	/* Linux (and RFC 2525 2.17): closing with unread data, or with
	 * SO_LINGER of zero seconds, aborts with a RST. */
	if (tp->rcv.len > 0 || (tp->linger_on && tp->linger_s == 0)) {
		tcp_send_rst_for(st, tp);
		tcp_free(st, tp);
		return;
	}
	if (!tp->fin_queued)
		tcp_shutdown(s, UST_SHUT_WR);
	/* Linux tcp_close: past tcp_max_orphans the new orphan is reset at
	 * once instead of being kept (tcp_check_oom, "too many orphaned
	 * sockets"). */
	if (tcp_orphan_check(st, tp)) {
		ust_stat_inc(st, UST_STAT_TCP_ABORT_ORPHANS);
		tcp_send_rst_for(st, tp);
		tcp_free(st, tp);
		return;
	}
	if (tp->state == TCPS_FIN_WAIT_2 && tp->keep_at == 0) {
		tp->keep_at = st->now_ns + tcp_fin_timeout_ns(st, tp);
		tcp_timer_update(st, tp);
	}
}

static uint32_t
buf_size(int v, int32_t max, uint32_t min, bool force)
{
	uint64_t b = v < 0 ? 0 : (uint64_t)v;
	/* rmem_max or wmem_max; SO_*BUFFORCE (CAP_NET_ADMIN) passes the cap
	 * (__sock_set_rcvbuf). */
	uint64_t cap = force ? INT32_MAX / 2 : (uint64_t)max;
	if (b > cap)
		b = cap;
	b *= 2; /* man 7 socket: the kernel doubles it */
	return b < min ? min : (uint32_t)b;
}

/* Linux secs_to_retrans: TCP_DEFER_ACCEPT seconds as the SYN-ACK
 * retransmissions (1 s, doubling) that cover them. */
static uint8_t
secs_to_retrans(int secs)
{
	if (secs <= 0)
		return 0;
	int timeout = 1, period = 1;
	uint8_t n = 1;
	while (secs > period && n < 255) {
		n++;
		timeout = timeout * 2 > 120 ? 120 : timeout * 2;
		period += timeout;
	}
	return n;
}

static int
retrans_to_secs(uint8_t n)
{
	int timeout = 1, period = n > 0 ? 1 : 0;
	while (n > 1) {
		n--;
		timeout = timeout * 2 > 120 ? 120 : timeout * 2;
		period += timeout;
	}
	return period;
}

static int
tcp_setopt(struct ust_sock *s, int level, int name, const void *val, size_t len)
{
	struct tcpcb *tp = tcpcb_of(s);
	struct ust_stack *st = s->stack;
	int v = 0;
	if (level == UST_SOL_SOCKET) {
		switch (name) {
		case UST_SO_REUSEADDR:
		case UST_SO_REUSEPORT:
			return 0;
		case UST_SO_KEEPALIVE:
			/* Linux tcp_set_keepalive: the first check is a full idle
			 * time from now, whatever came before. */
			tp->keep_at = s->keepalive && (tp->state == TCPS_ESTABLISHED || tp->state == TCPS_CLOSE_WAIT) ?
					      st->now_ns + (uint64_t)tp->keepidle_s * UST_NS_PER_S : 0;
			tcp_timer_update(st, tp);
			return 0;
		case UST_SO_RCVLOWAT:
			tcp_update_events(tp);
			return 0;
		case UST_SO_RCVBUF:
		case UST_SO_RCVBUFFORCE:
			if (ust_sockopt_get_int(val, len, &v) < 0)
				return -EINVAL;
			/* The ring is sized once, at the first byte. */
			if (tp->rcv.buf == NULL) {
				s->rcvbuf_bytes = buf_size(v, st->sysctl.rmem_max, 2304, name == UST_SO_RCVBUFFORCE);
				tp->rcvbuf_locked = true;
			}
			return 0;
		case UST_SO_SNDBUF:
		case UST_SO_SNDBUFFORCE: {
			if (ust_sockopt_get_int(val, len, &v) < 0)
				return -EINVAL;
			/* The ring grows at the next send; it cannot shrink under
			 * its bytes. */
			uint32_t b = buf_size(v, st->sysctl.wmem_max, 4608, name == UST_SO_SNDBUFFORCE);
			if (tp->snd.buf == NULL || b > tp->snd.cap)
				s->sndbuf_bytes = b;
			tp->sndbuf_locked = true;
			return 0;
		}
		case UST_SO_LINGER: {
			struct tcp_linger l;
			if (len < sizeof(l))
				return -EINVAL;
			memcpy(&l, val, sizeof(l));
			tp->linger_on = l.l_onoff != 0;
			/* Turning lingering off keeps the old time (Linux). */
			if (tp->linger_on)
				tp->linger_s = (uint16_t)(l.l_linger < 0 ? 0 : l.l_linger > 65535 ? 65535 : l.l_linger);
			return 0;
		}
		default:
			return -ENOPROTOOPT;
		}
	}
	if (level != UST_SOL_TCP)
		return -ENOPROTOOPT;
	if (name == UST_TCP_CONGESTION) {
		char n[16] = {0};
		memcpy(n, val, len < sizeof(n) - 1 ? len : sizeof(n) - 1);
		return tcp_set_cc(tp, n);
	}
	if (ust_sockopt_get_int(val, len, &v) < 0)
		return -EINVAL;
	switch (name) {
	case UST_TCP_NODELAY:
		tp->nodelay = v != 0;
		if (tp->nodelay) {
			/* Linux: turning Nagle off pushes what waits, corked too. */
			tp->push = true;
			tcp_output(st, tp);
			tp->push = false;
		}
		return 0;
	case UST_TCP_CORK:
		tp->cork = v != 0;
		if (!tp->cork)
			tcp_output(st, tp);
		return 0;
	case UST_TCP_MAXSEG:
		/* Linux: 0 clears it; otherwise TCP_MIN_MSS .. MAX_TCP_WINDOW;
		 * used by the next SYN or SYN-ACK. */
		if (v != 0 && (v < 88 || v > 32767))
			return -EINVAL;
		tp->user_mss = (uint16_t)v;
		return 0;
	case UST_TCP_SYNCNT:
		if (v < 1 || v > 127)
			return -EINVAL;
		tp->syn_retries = (uint8_t)v;
		return 0;
	case UST_TCP_LINGER2:
		/* Linux: negative disables FIN_WAIT_2 waiting, capped at 120 s. */
		tp->linger2_s = v < 0 ? -1 : v > 120 ? 120 : v;
		return 0;
	case UST_TCP_DEFER_ACCEPT:
		tp->defer_accept = secs_to_retrans(v);
		return 0;
	case UST_TCP_WINDOW_CLAMP:
		if (v == 0) {
			if (tp->state != TCPS_CLOSED)
				return -EINVAL;
			tp->window_clamp = 0;
			return 0;
		}
		/* Linux: at least half of SOCK_MIN_RCVBUF. */
		tp->window_clamp = v < 1152 ? 1152 : (uint32_t)v;
		return 0;
	case UST_TCP_QUICKACK:
		if (v & 1) {
			tp->quickacks = 16;
			if (tp->delack_at != 0) {
				tp->ack_now = true;
				tcp_output(st, tp);
			}
		} else {
			tp->quickacks = 0;
		}
		return 0;
	case UST_TCP_USER_TIMEOUT:
		if (v < 0)
			return -EINVAL;
		tp->user_timeout_ms = (uint32_t)v;
		return 0;
	case UST_TCP_NOTSENT_LOWAT:
		tp->notsent_lowat = (uint32_t)v;
		tcp_update_events(tp);
		return 0;
	case UST_TCP_INQ:
		if (v < 0 || v > 1)
			return -EINVAL;
		s->rx_cmsgs = (uint8_t)(v != 0 ? s->rx_cmsgs | UST_SOCK_RX_INQ : s->rx_cmsgs & ~UST_SOCK_RX_INQ);
		return 0;
	case UST_TCP_KEEPIDLE:
	case UST_TCP_KEEPINTVL:
		if (v < 1 || v > 32767)
			return -EINVAL;
		if (name == UST_TCP_KEEPIDLE)
			tp->keepidle_s = (uint32_t)v;
		else
			tp->keepintvl_s = (uint32_t)v;
		tp->keep_at = 0;
		tcp_timer_update(st, tp);
		return 0;
	case UST_TCP_KEEPCNT:
		if (v < 1 || v > 127)
			return -EINVAL;
		tp->keepcnt = (uint32_t)v;
		return 0;
	default:
		return -ENOPROTOOPT;
	}
}

/* The leading part of Linux's struct tcp_info (linux/tcp.h), same layout. */
struct tcp_info_linux {
	uint8_t tcpi_state, tcpi_ca_state, tcpi_retransmits, tcpi_probes, tcpi_backoff,
		tcpi_options, tcpi_wscale, tcpi_flags;
	uint32_t tcpi_rto, tcpi_ato, tcpi_snd_mss, tcpi_rcv_mss;
	uint32_t tcpi_unacked, tcpi_sacked, tcpi_lost, tcpi_retrans, tcpi_fackets;
	uint32_t tcpi_last_data_sent, tcpi_last_ack_sent, tcpi_last_data_recv, tcpi_last_ack_recv;
	uint32_t tcpi_pmtu, tcpi_rcv_ssthresh, tcpi_rtt, tcpi_rttvar, tcpi_snd_ssthresh,
		tcpi_snd_cwnd, tcpi_advmss, tcpi_reordering;
	uint32_t tcpi_rcv_rtt, tcpi_rcv_space;
	uint32_t tcpi_total_retrans;
};
_Static_assert(sizeof(struct tcp_info_linux) == 104, "struct tcp_info prefix layout");

/* Linux's TCP_ESTABLISHED.. numbering for tcpi_state. */
static const uint8_t linux_state[] = {
	[TCPS_CLOSED] = 7,      [TCPS_LISTEN] = 10,     [TCPS_SYN_SENT] = 2,
	[TCPS_SYN_RECEIVED] = 3, [TCPS_ESTABLISHED] = 1, [TCPS_CLOSE_WAIT] = 8,
	[TCPS_FIN_WAIT_1] = 4,  [TCPS_CLOSING] = 11,    [TCPS_LAST_ACK] = 9,
	[TCPS_FIN_WAIT_2] = 5,  [TCPS_TIME_WAIT] = 6,
};

static int
tcp_getopt(struct ust_sock *s, int level, int name, void *val, size_t *len)
{
	struct tcpcb *tp = tcpcb_of(s);
	if (level == UST_SOL_SOCKET) {
		switch (name) {
		case UST_SO_RCVBUF:
			return ust_sockopt_put_int(val, len, (int)s->rcvbuf_bytes);
		case UST_SO_SNDBUF:
			return ust_sockopt_put_int(val, len, (int)s->sndbuf_bytes);
		case UST_SO_LINGER: {
			struct tcp_linger l = {tp->linger_on, tp->linger_s};
			if (*len < sizeof(l))
				return -EINVAL;
			memcpy(val, &l, sizeof(l));
			*len = sizeof(l);
			return 0;
		}
		default:
			return -ENOPROTOOPT;
		}
	}
	if (level != UST_SOL_TCP)
		return -ENOPROTOOPT;
	switch (name) {
	case UST_TCP_NODELAY:
		return ust_sockopt_put_int(val, len, tp->nodelay);
	case UST_TCP_CORK:
		return ust_sockopt_put_int(val, len, tp->cork);
	case UST_TCP_MAXSEG:
		/* Linux: the user's value until the connection has an MSS. */
		if (tp->state < TCPS_ESTABLISHED && tp->user_mss != 0)
			return ust_sockopt_put_int(val, len, tp->user_mss);
		return ust_sockopt_put_int(val, len, tp->state >= TCPS_ESTABLISHED ? tp->mss : TCP_DEFAULT_MSS);
	case UST_TCP_SYNCNT:
		return ust_sockopt_put_int(val, len, tp->syn_retries != 0 ? tp->syn_retries : s->stack->sysctl.tcp_syn_retries);
	case UST_TCP_LINGER2:
		return ust_sockopt_put_int(val, len, tp->linger2_s < 0 ? -1 : (int)(tcp_fin_timeout_ns(s->stack, tp) / UST_NS_PER_S));
	case UST_TCP_DEFER_ACCEPT:
		return ust_sockopt_put_int(val, len, retrans_to_secs(tp->defer_accept));
	case UST_TCP_WINDOW_CLAMP:
		return ust_sockopt_put_int(val, len, (int)tp->window_clamp);
	case UST_TCP_QUICKACK:
		return ust_sockopt_put_int(val, len, tp->quickacks > 0);
	case UST_TCP_USER_TIMEOUT:
		return ust_sockopt_put_int(val, len, (int)tp->user_timeout_ms);
	case UST_TCP_NOTSENT_LOWAT:
		return ust_sockopt_put_int(val, len, (int)tp->notsent_lowat);
	case UST_TCP_INQ:
		return ust_sockopt_put_int(val, len, (s->rx_cmsgs & UST_SOCK_RX_INQ) != 0);
	case UST_TCP_CC_INFO:
		/* Neither CUBIC nor Reno has information to give (Linux's
		 * get_info is NULL for both): an empty answer. */
		*len = 0;
		return 0;
	case UST_TCP_KEEPIDLE:
		return ust_sockopt_put_int(val, len, (int)tp->keepidle_s);
	case UST_TCP_KEEPINTVL:
		return ust_sockopt_put_int(val, len, (int)tp->keepintvl_s);
	case UST_TCP_KEEPCNT:
		return ust_sockopt_put_int(val, len, (int)tp->keepcnt);
	case UST_TCP_CONGESTION: {
		size_t n = strlen(tp->cc->name) + 1;
		if (*len < n)
			n = *len;
		memcpy(val, tp->cc->name, n);
		*len = n;
		return 0;
	}
	case UST_TCP_INFO: {
		struct tcp_info_linux ti;
		memset(&ti, 0, sizeof(ti));
		ti.tcpi_state = linux_state[tp->state];
		ti.tcpi_ca_state = tp->in_recovery ? 3 : 0;
		ti.tcpi_retransmits = tp->rxtshift;
		ti.tcpi_backoff = tp->rxtshift;
		ti.tcpi_options = (uint8_t)((tp->ts_ok ? 1 : 0) | (tp->sack_ok ? 2 : 0) | (tp->ws_ok ? 4 : 0));
		ti.tcpi_wscale = (uint8_t)(tp->snd_wscale | tp->rcv_wscale << 4);
		ti.tcpi_rto = (uint32_t)(tcp_rto_backed_off(tp) / UST_NS_PER_US);
		ti.tcpi_ato = (uint32_t)(TCP_DELACK_NS / UST_NS_PER_US);
		ti.tcpi_snd_mss = tp->mss;
		ti.tcpi_rcv_mss = tp->rcv_mss;
		ti.tcpi_unacked = tp->mss != 0 ? (tp->snd_max - tp->snd_una + tp->mss - 1) / tp->mss : 0;
		ti.tcpi_sacked = tp->mss != 0 ? tcp_sacked_bytes(tp) / tp->mss : 0;
		ti.tcpi_pmtu = ust_ip_pmtu(s->stack, s->remote.addr6);
		ti.tcpi_rtt = (uint32_t)(tp->srtt_ns / UST_NS_PER_US);
		ti.tcpi_rttvar = (uint32_t)(tp->rttvar_ns / UST_NS_PER_US);
		ti.tcpi_snd_ssthresh = tp->ssthresh == UINT32_MAX || tp->mss == 0 ? 0x7fffffff : tp->ssthresh / tp->mss;
		ti.tcpi_snd_cwnd = tp->mss != 0 ? tp->cwnd / tp->mss : 0;
		ti.tcpi_advmss = tp->rcv_mss;
		ti.tcpi_reordering = 3;
		ti.tcpi_rcv_space = tcp_rcv_space(tp);
		ti.tcpi_total_retrans = tp->total_retrans;
		size_t n = *len < sizeof(ti) ? *len : sizeof(ti);
		memcpy(val, &ti, n);
		*len = n;
		return 0;
	}
	default:
		return -ENOPROTOOPT;
	}
}

static size_t
tcp_nread(const struct ust_sock *s)
{
	const struct tcpcb *tp = (const struct tcpcb *)s;
	return tp->rcv.len;
}

static size_t
tcp_nunacked(const struct ust_sock *s)
{
	const struct tcpcb *tp = (const struct tcpcb *)s;
	return tp->snd.len;
}

const struct ust_sock_proto ust_tcp_proto = {
	.bind = tcp_bind,
	.listen = tcp_listen,
	.accept = tcp_accept,
	.connect = tcp_connect,
	.sendto = tcp_sendto,
	.recvfrom = tcp_recvfrom,
	.shutdown = tcp_shutdown,
	.close = tcp_close,
	.setopt = tcp_setopt,
	.getopt = tcp_getopt,
	.nread = tcp_nread,
	.nunacked = tcp_nunacked,
	.recv_spans = tcp_recv_spans,
	.recv_consume = tcp_recv_consume,
	.send_spans = tcp_send_spans,
	.send_commit = tcp_send_commit,
	.rehome = tcp_rehome,
};

/* ss's state names (iproute2 misc/ss.c). */
static const char *const ss_state[] = {
	[TCPS_CLOSED] = "CLOSE",        [TCPS_LISTEN] = "LISTEN",         [TCPS_SYN_SENT] = "SYN-SENT",
	[TCPS_SYN_RECEIVED] = "SYN-RECV", [TCPS_ESTABLISHED] = "ESTAB",  [TCPS_CLOSE_WAIT] = "CLOSE-WAIT",
	[TCPS_FIN_WAIT_1] = "FIN-WAIT-1", [TCPS_CLOSING] = "CLOSING",    [TCPS_LAST_ACK] = "LAST-ACK",
	[TCPS_FIN_WAIT_2] = "FIN-WAIT-2", [TCPS_TIME_WAIT] = "TIME-WAIT",
};

void
ust_tcp_foreach(struct ust_stack *st, ust_sock_info_fn *fn, void *arg)
{
	for (struct tcpcb *tp = st->tcp->all; tp != NULL; tp = tp->all_next) {
		struct ust_sock_info i = {
			.type = UST_SOCK_STREAM,
			.state = ss_state[tp->state],
			.local = tp->s.local,
			.peer = tp->s.remote,
			.recvq = tp->state == TCPS_LISTEN ? tp->acceptq_len : tp->rcv.len,
			.sendq = tp->state == TCPS_LISTEN ? (uint32_t)tp->backlog : tp->snd.len,
			.owner = tp->orphan ? NULL : tp->s.user,
		};
		if (tp->state == TCPS_LISTEN || tp->state == TCPS_CLOSED)
			i.peer = ust_sockaddr_any(tp->s.family);
		fn(&i, arg);
	}
}

int
ust_tcp_sock_create(struct ust_stack *st, int family, struct ust_sock **out)
{
	struct tcpcb *tp = tcp_alloc(st, family);
	if (tp == NULL)
		return -ENOMEM;
	tcp_update_events(tp);
	*out = &tp->s;
	return 0;
}
