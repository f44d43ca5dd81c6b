/*
 * Connection blocks and the tables that find them: a 4-tuple hash (O(1)
 * lookup however many connections), listeners by port, the list of all
 * connections (for `ustack stat` and teardown). Ports per RFC 6056
 * (algorithm 3), ISNs per RFC 6528 (SipHash-2-4 keyed by a per-stack secret
 * plus a 4 µs clock).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "../ip.h"
#include "tcp_var.h"

#define HASH_BUCKETS 65536

static uint64_t
rotl(uint64_t x, int b)
{
	return (x << b) | (x >> (64 - b));
}

#define SIPROUND                                                                                   \
	do {                                                                                       \
		v0 += v1;                                                                          \
		v1 = rotl(v1, 13);                                                                 \
		v1 ^= v0;                                                                          \
		v0 = rotl(v0, 32);                                                                 \
		v2 += v3;                                                                          \
		v3 = rotl(v3, 16);                                                                 \
		v3 ^= v2;                                                                          \
		v0 += v3;                                                                          \
		v3 = rotl(v3, 21);                                                                 \
		v3 ^= v0;                                                                          \
		v2 += v1;                                                                          \
		v1 = rotl(v1, 17);                                                                 \
		v1 ^= v2;                                                                          \
		v2 = rotl(v2, 32);                                                                 \
	} while (0)

static uint64_t
load64(const uint8_t *p)
{
	uint64_t v = 0;
	for (int i = 7; i >= 0; i--)
		v = v << 8 | p[i];
	return v;
}

uint64_t
tcp_siphash(const uint8_t key[16], const uint8_t *data, size_t len)
{
	/* SipHash-2-4 (Aumasson & Bernstein), little-endian words. */
	uint64_t k0 = load64(key), k1 = load64(key + 8);
	uint64_t v0 = 0x736f6d6570736575ull ^ k0, v1 = 0x646f72616e646f6dull ^ k1;
	uint64_t v2 = 0x6c7967656e657261ull ^ k0, v3 = 0x7465646279746573ull ^ k1;
	size_t end = len - len % 8;
	for (size_t i = 0; i < end; i += 8) {
		uint64_t m = load64(data + i);
		v3 ^= m;
		SIPROUND;
		SIPROUND;
		v0 ^= m;
	}
	uint64_t b = (uint64_t)len << 56;
	for (size_t i = 0; i < len % 8; i++)
		b |= (uint64_t)data[end + i] << (8 * i);
	v3 ^= b;
	SIPROUND;
	SIPROUND;
	v0 ^= b;
	v2 ^= 0xff;
	SIPROUND;
	SIPROUND;
	SIPROUND;
	SIPROUND;
	return v0 ^ v1 ^ v2 ^ v3;
}

static uint64_t
tuple_hash(const struct ust_tcp *t, const uint8_t laddr[16], uint16_t lport,
	   const uint8_t faddr[16], uint16_t fport, uint32_t extra)
{
	uint8_t d[40];
	memcpy(d, laddr, 16);
	memcpy(d + 16, faddr, 16);
	memcpy(d + 32, &lport, 2);
	memcpy(d + 34, &fport, 2);
	memcpy(d + 36, &extra, 4);
	return tcp_siphash(t->secret, d, sizeof(d));
}

int
ust_tcp_init(struct ust_stack *st)
{
	struct ust_tcp *t = calloc(1, sizeof(*t));
	if (t == NULL)
		return -ENOMEM;
	t->hash = calloc(HASH_BUCKETS, sizeof(*t->hash));
	if (t->hash == NULL) {
		free(t);
		return -ENOMEM;
	}
	t->hash_mask = HASH_BUCKETS - 1;
	uint64_t a = ust_stack_rand(st), b = ust_stack_rand(st);
	memcpy(t->secret, &a, 8);
	memcpy(t->secret + 8, &b, 8);
	t->challenge_tokens = TCP_CHALLENGE_PER_S;
	t->challenge_ts_ns = st->now_ns;
	st->tcp = t;
	return 0;
}

void
ust_tcp_fini(struct ust_stack *st)
{
	struct ust_tcp *t = st->tcp;
	if (t == NULL)
		return;
	while (t->all != NULL)
		tcp_free(st, t->all);
	free(t->hash);
	free(t);
	st->tcp = NULL;
}

uint32_t
tcp_ts_now(const struct ust_stack *st, const struct tcpcb *tp)
{
	/* A 1 ms clock like Linux's, offset per connection (RFC 7323 5.4). */
	return (uint32_t)(st->now_ns / UST_NS_PER_MS) + tp->ts_offset;
}

/* A control block as a new socket has it (zeroed memory in). */
static void
tcp_init(struct ust_stack *st, struct tcpcb *tp, int family)
{
	const struct ust_sysctl *sc = &st->sysctl;
	ust_sock_init(&tp->s, st, &ust_tcp_proto, family, UST_SOCK_STREAM);
	/* The buffers start at tcp_rmem's and tcp_wmem's defaults and grow
	 * (tcp_tune.c): the receive buffer with what the program reads, the
	 * send buffer at establishment and with cwnd. */
	tp->s.rcvbuf_bytes = (uint32_t)sc->tcp_rmem[1];
	tp->s.sndbuf_bytes = (uint32_t)sc->tcp_wmem[1];
	tp->state = TCPS_CLOSED;
	tp->rto_ns = TCP_RTO_INIT_NS;
	tp->mss = TCP_DEFAULT_MSS;
	tp->keepidle_s = (uint32_t)sc->tcp_keepalive_time;
	tp->keepintvl_s = (uint32_t)sc->tcp_keepalive_intvl;
	tp->keepcnt = (uint32_t)sc->tcp_keepalive_probes;
	tp->ssthresh = UINT32_MAX;
	tcp_set_cc(tp, sc->tcp_congestion_control);
	ust_timer_init(&tp->timer, tcp_timer_fire);
}

struct tcpcb *
tcp_alloc(struct ust_stack *st, int family)
{
	struct ust_tcp *t = st->tcp;
	struct tcpcb *tp = calloc(1, sizeof(*tp));
	if (tp == NULL)
		return NULL;
	tcp_init(st, tp, family);
	tp->all_next = t->all;
	if (t->all != NULL)
		t->all->all_prev = tp;
	t->all = tp;
	t->count++;
	return tp;
}

int
tcp_set_cc(struct tcpcb *tp, const char *name)
{
	if (strcmp(name, tcp_cc_newreno.name) == 0)
		tp->cc = &tcp_cc_newreno;
	else if (strcmp(name, tcp_cc_cubic.name) == 0)
		tp->cc = &tcp_cc_cubic;
	else
		return -ENOENT;
	return 0;
}

uint32_t
tcp_full_space(const struct ust_stack *st, const struct tcpcb *tp)
{
	/* Linux offers half of sk_rcvbuf (tcp_win_from_space); its sk_rcvbuf
	 * is tcp_rmem's default until SO_RCVBUF sets it. */
	uint32_t full = (tp->rcvbuf_locked ? tp->s.rcvbuf_bytes : (uint32_t)st->sysctl.tcp_rmem[1]) / 2;
	if (tp->window_clamp != 0 && full > tp->window_clamp)
		full = tp->window_clamp;
	return full;
}

void
tcp_offer_options(struct ust_stack *st, struct tcpcb *tp)
{
	const struct ust_sysctl *sc = &st->sysctl;
	tp->ts_ok = sc->tcp_timestamps != 0;
	tp->sack_ok = sc->tcp_sack != 0;
	tp->ws_ok = sc->tcp_window_scaling != 0;
	tp->rcv_wscale = tp->ws_ok ? tcp_rcv_wscale(st, tp) : 0;
}

uint64_t
tcp_fin_timeout_ns(const struct ust_stack *st, const struct tcpcb *tp)
{
	int32_t s = tp->linger2_s != 0 ? tp->linger2_s : st->sysctl.tcp_fin_timeout;
	return (uint64_t)(s < 0 ? 0 : s) * UST_NS_PER_S;
}

uint8_t
tcp_rcv_wscale(const struct ust_stack *st, const struct tcpcb *tp)
{
	/* Linux tcp_select_initial_window: the shift that lets the window
	 * reach the largest buffer the socket could grow to (tcp_rmem's
	 * maximum, rmem_max), or only its own when SO_RCVBUF fixed it. */
	uint64_t full = tcp_full_space(st, tp);
	uint64_t space = full;
	if ((uint64_t)st->sysctl.tcp_rmem[2] > space)
		space = (uint64_t)st->sysctl.tcp_rmem[2];
	if ((uint64_t)st->sysctl.rmem_max > space)
		space = (uint64_t)st->sysctl.rmem_max;
	if ((tp->rcvbuf_locked || tp->window_clamp != 0) && space > full)
		space = full;
	int shift = -15;
	for (; space > 1; space >>= 1)
		shift++;
	return (uint8_t)(shift < 0 ? 0 : shift > 14 ? 14 : shift);
}

/* The four 32-bit words of an address folded into one. */
static uint32_t
fold_addr(const uint8_t a[16])
{
	uint32_t w[4];
	memcpy(w, a, 16);
	return w[0] ^ w[1] ^ w[2] ^ w[3];
}

static uint32_t
bucket(const struct ust_tcp *t, const uint8_t laddr[16], uint16_t lport, const uint8_t faddr[16],
       uint16_t fport)
{
	/* Cheap mix: the table only needs spread; the secret guards ISNs. */
	uint32_t h = fold_addr(laddr) * 2654435761u ^ fold_addr(faddr) * 2246822519u ^
		     (uint32_t)lport << 16 ^ fport;
	h ^= h >> 15;
	h *= 2654435761u;
	return (h ^ (h >> 13)) & t->hash_mask;
}

void
tcp_hash_insert(struct ust_stack *st, struct tcpcb *tp)
{
	struct ust_tcp *t = st->tcp;
	uint32_t b = bucket(t, tp->s.local.addr6, tp->s.local.port, tp->s.remote.addr6,
			    tp->s.remote.port);
	tp->hnext = t->hash[b];
	t->hash[b] = tp;
	tp->hashed = true;
}

void
tcp_hash_remove(struct ust_stack *st, struct tcpcb *tp)
{
	if (!tp->hashed)
		return;
	struct ust_tcp *t = st->tcp;
	uint32_t b = bucket(t, tp->s.local.addr6, tp->s.local.port, tp->s.remote.addr6,
			    tp->s.remote.port);
	struct tcpcb **pp = &t->hash[b];
	while (*pp != tp)
		pp = &(*pp)->hnext;
	*pp = tp->hnext;
	tp->hashed = false;
}

struct tcpcb *
tcp_lookup(struct ust_stack *st, const uint8_t laddr[16], uint16_t lport, const uint8_t faddr[16],
	   uint16_t fport)
{
	struct ust_tcp *t = st->tcp;
	for (struct tcpcb *tp = t->hash[bucket(t, laddr, lport, faddr, fport)]; tp != NULL;
	     tp = tp->hnext)
		if (tp->s.local.port == lport && tp->s.remote.port == fport &&
		    ust_ip_eq(tp->s.local.addr6, laddr) && ust_ip_eq(tp->s.remote.addr6, faddr))
			return tp;
	return NULL;
}

void
tcp_listen_insert(struct ust_stack *st, struct tcpcb *tp)
{
	struct tcpcb **head = &st->tcp->listeners[tp->s.local.port & 255];
	tp->hnext = *head;
	*head = tp;
	tp->s.listening = true;
}

void
tcp_listen_remove(struct ust_stack *st, struct tcpcb *tp)
{
	if (!tp->s.listening)
		return;
	struct tcpcb **pp = &st->tcp->listeners[tp->s.local.port & 255];
	while (*pp != tp)
		pp = &(*pp)->hnext;
	*pp = tp->hnext;
	tp->s.listening = false;
}

struct tcpcb *
tcp_lookup_listener(struct ust_stack *st, const uint8_t laddr[16], uint16_t lport)
{
	struct tcpcb *best = NULL;
	int best_sc = -1;
	for (struct tcpcb *tp = st->tcp->listeners[lport & 255]; tp != NULL; tp = tp->hnext) {
		if (tp->s.local.port != lport)
			continue;
		int m = ust_sock_local_match(&tp->s, laddr);
		if (m < 0)
			continue;
		int sc = m * 2 + (tp->s.family == UST_AF_INET);
		if (sc > best_sc) {
			best = tp;
			best_sc = sc;
		}
	}
	return best;
}

void
tcp_bind_insert(struct ust_stack *st, struct tcpcb *tp)
{
	struct tcpcb **head = &st->tcp->bound[tp->s.local.port % TCP_BIND_BUCKETS];
	tp->bnext = *head;
	*head = tp;
	tp->bhashed = true;
	tp->s.bound = true;
}

static void
bind_remove(struct ust_stack *st, struct tcpcb *tp)
{
	if (!tp->bhashed)
		return;
	struct tcpcb **pp = &st->tcp->bound[tp->s.local.port % TCP_BIND_BUCKETS];
	while (*pp != tp)
		pp = &(*pp)->bnext;
	*pp = tp->bnext;
	tp->bhashed = false;
}

bool
tcp_port_in_use(struct ust_stack *st, const struct tcpcb *me, const uint8_t laddr[16],
		uint16_t lport)
{
	/* Linux bind semantics: a port is taken by any socket bound to it on an
	 * overlapping address, unless both set SO_REUSEADDR and the other is not
	 * listening (TIME_WAIT and closed sockets then do not block), or both
	 * set SO_REUSEPORT. */
	for (struct tcpcb *tp = st->tcp->bound[lport % TCP_BIND_BUCKETS]; tp != NULL; tp = tp->bnext) {
		if (tp == me || tp->s.local.port != lport)
			continue;
		if (!ust_sock_addrs_overlap(&me->s, laddr, &tp->s))
			continue;
		if (ust_sock_reuseport_shares(&me->s, &tp->s) ||
		    (me->s.reuseport && tp->s.reuseport && tp->state == TCPS_TIME_WAIT))
			continue;
		if (me->s.reuseaddr && tp->s.reuseaddr && tp->state != TCPS_LISTEN)
			continue;
		if (me->s.reuseaddr && tp->state == TCPS_TIME_WAIT)
			continue;
		return true;
	}
	return false;
}

int
tcp_pick_port(struct ust_stack *st, struct tcpcb *tp, const uint8_t *faddr, uint16_t fport)
{
	/* RFC 6056 algorithm 3: a keyed offset per destination plus a global
	 * counter, so ports are unpredictable yet spread for one peer. */
	struct ust_tcp *t = st->tcp;
	uint32_t lo = (uint32_t)st->sysctl.ip_local_port_range[0];
	uint32_t range = (uint32_t)st->sysctl.ip_local_port_range[1] - lo + 1;
	const uint8_t *peer = faddr != NULL ? faddr : ust_ip_any6;
	uint32_t off = (uint32_t)tuple_hash(t, tp->s.local.addr6, 0, peer, fport, 0x6056);
	for (uint32_t i = 0; i < range; i++) {
		uint16_t port = (uint16_t)(lo + (off + t->port_offset_seq + i) % range);
		if (faddr != NULL && tcp_lookup(st, tp->s.local.addr6, port, faddr, fport) != NULL)
			continue;
		if (tcp_lookup_listener(st, ust_ip_any4, port) != NULL ||
		    tcp_port_in_use(st, tp, tp->s.local.addr6, port))
			continue;
		t->port_offset_seq += i + 1;
		tp->s.local.port = port;
		tcp_bind_insert(st, tp);
		return 0;
	}
	return -EADDRNOTAVAIL;
}

uint32_t
tcp_new_isn(struct ust_stack *st, const uint8_t laddr[16], uint16_t lport, const uint8_t faddr[16],
	    uint16_t fport)
{
	/* RFC 6528: ISN = M + F(4-tuple, secret), M a 4 µs timer. */
	uint32_t m = (uint32_t)(st->now_ns / (4 * UST_NS_PER_US));
	return m + (uint32_t)tuple_hash(st->tcp, laddr, lport, faddr, fport, 0x6528);
}

void
tcp_mss_init(struct ust_stack *st, struct tcpcb *tp, const struct ust_tcp_opts *o)
{
	/* TCP_MAXSEG bounds what we announce and what we send (Linux's
	 * user_mss clamps both). */
	uint32_t ours = ust_ip_mtu_payload(st, tp->s.remote.addr6) - UST_TCP_HLEN;
	if (tp->user_mss != 0 && tp->user_mss < ours)
		ours = tp->user_mss;
	tp->rcv_mss = (uint16_t)ours;
	/* An MSS of 0 is no MSS (Linux). */
	tp->peer_mss = o != NULL && o->has_mss && o->mss != 0 ? o->mss : TCP_DEFAULT_MSS;
	uint32_t mss = tp->peer_mss < ours ? tp->peer_mss : ours;
	/* Linux's tcp_min_snd_mss: a peer cannot make us send tiny segments
	 * (and a flood of them). */
	if (mss < TCP_MIN_SND_MSS)
		mss = TCP_MIN_SND_MSS;
	/* Room for the timestamp option in every segment (RFC 7323 3.2). */
	if (tp->ts_ok)
		mss -= 12;
	tp->mss = (uint16_t)mss;
}

bool
tcp_notsent_ok(const struct tcpcb *tp)
{
	uint32_t lowat = tp->notsent_lowat != 0 ? tp->notsent_lowat : (uint32_t)tp->s.stack->sysctl.tcp_notsent_lowat;
	uint32_t inflight = tp->snd_nxt - tp->snd_una;
	uint64_t notsent = tp->snd.len > inflight ? tp->snd.len - inflight : 0;
	return (notsent << 1) < lowat;
}

void
tcp_seq_init(struct tcpcb *tp, uint32_t iss)
{
	tp->iss = iss;
	tp->snd_una = tp->snd_nxt = tp->snd_max = iss;
	tp->snd_sml = tp->retrans_hi = tp->rack_fack = iss;
}

void
tcp_update_events(struct tcpcb *tp)
{
	uint32_t ev = 0;
	switch (tp->state) {
	case TCPS_LISTEN:
		if (tp->acceptq_len > 0)
			ev |= UST_EV_IN;
		break;
	case TCPS_CLOSED:
		/* Linux's tcp_poll: HUP and OUT when closed; a connection that
		 * ended, or a shutdown(SHUT_RD), is also shut for reading
		 * (IN|RDHUP); a never-connected socket is not. */
		ev |= UST_EV_OUT | UST_EV_HUP;
		if (tp->ended || tp->shut_rd)
			ev |= UST_EV_IN | UST_EV_RDHUP;
		break;
	case TCPS_SYN_SENT:
	case TCPS_SYN_RECEIVED:
		break;
	default:
		/* Readable from SO_RCVLOWAT's bytes on (tcp_stream_is_readable). */
		if (tp->rcv.len >= (uint32_t)tp->s.rcvlowat || tp->fin_rcvd || tp->shut_rd)
			ev |= UST_EV_IN;
		if (tp->fin_rcvd || tp->shut_rd)
			ev |= UST_EV_RDHUP;
		/* Shut for writing is writable in Linux: the write fails at once. */
		if (tp->fin_queued || (tp->s.sndbuf_bytes - tp->snd.len >= tp->s.sndbuf_bytes / 3 &&
				       tcp_notsent_ok(tp) &&
				       (tp->state == TCPS_ESTABLISHED || tp->state == TCPS_CLOSE_WAIT)))
			ev |= UST_EV_OUT;
		if (tp->fin_queued && (tp->fin_rcvd || tp->shut_rd))
			ev |= UST_EV_HUP;
		break;
	}
	if (tp->s.so_error != 0)
		ev |= UST_EV_ERR;
	ust_sock_notify(&tp->s, ev);
}

void
tcp_set_state(struct ust_stack *st, struct tcpcb *tp, enum tcp_state state)
{
	/* Linux tcp_init_buffer_space: the send buffer takes room for the
	 * initial window at once. */
	if (state == TCPS_ESTABLISHED && !tp->was_established && !tp->sndbuf_locked)
		tcp_sndbuf_expand(st, tp);
	tp->state = state;
	tcp_orphan_check(st, tp);
	if (state == TCPS_ESTABLISHED)
		tp->was_established = true;
	tp->s.connected = state >= TCPS_ESTABLISHED || state == TCPS_SYN_RECEIVED;
	tcp_update_events(tp);
}

static void unlink_from_parent(struct tcpcb *tp);

bool
tcp_orphan_check(struct ust_stack *st, struct tcpcb *tp)
{
	/* Linux counts an orphan until it is closed or becomes a TIME_WAIT
	 * mini-socket (tcp_orphan_count). */
	bool counts = tp->orphan && tp->state != TCPS_CLOSED && tp->state != TCPS_TIME_WAIT;
	if (counts != tp->orphan_counted) {
		tp->orphan_counted = counts;
		if (counts)
			st->tcp->orphans++;
		else
			st->tcp->orphans--;
	}
	return st->tcp->orphans > (unsigned)st->sysctl.tcp_max_orphans;
}

void
tcp_drop_children(struct ust_stack *st, struct tcpcb *l)
{
	while (l->acceptq_head != NULL) {
		struct tcpcb *c = l->acceptq_head;
		l->acceptq_head = c->q_next;
		c->parent = NULL;
		c->q_next = NULL;
		tcp_send_rst_for(st, c);
		tcp_free(st, c);
	}
	l->acceptq_tail = NULL;
	l->acceptq_len = 0;
	if (l->synq_len > 0) {
		for (struct tcpcb *c = st->tcp->all; c != NULL;) {
			struct tcpcb *next = c->all_next;
			if (c->parent == l)
				tcp_free(st, c);
			c = next;
		}
	}
}

/* Off the autocorked list (short: the connections of one flush). */
static void
tsq_remove(struct ust_tcp *t, struct tcpcb *tp)
{
	if (!tp->tsq_queued)
		return;
	struct tcpcb **pp = &t->tsq;
	while (*pp != tp)
		pp = &(*pp)->tsq_next;
	*pp = tp->tsq_next;
	tp->tsq_queued = false;
}

void
tcp_free(struct ust_stack *st, struct tcpcb *tp)
{
	struct ust_tcp *t = st->tcp;
	tp->orphan = false;
	tcp_orphan_check(st, tp);
	ust_timer_cancel(&st->timers, &tp->timer);
	tcp_hash_remove(st, tp);
	tcp_listen_remove(st, tp);
	bind_remove(st, tp);
	/* A listener takes its unaccepted children with it. */
	tcp_drop_children(st, tp);
	unlink_from_parent(tp);
	if (tp->all_prev != NULL)
		tp->all_prev->all_next = tp->all_next;
	else
		t->all = tp->all_next;
	if (tp->all_next != NULL)
		tp->all_next->all_prev = tp->all_prev;
	t->count--;
	tsq_remove(t, tp);
	tcp_ring_free(&tp->s, &tp->snd);
	tcp_ring_free(&tp->s, &tp->rcv);
	tcp_shed(tp);
	free(tp);
}

static void
unlink_from_parent(struct tcpcb *tp)
{
	struct tcpcb *l = tp->parent;
	if (l == NULL)
		return;
	if (tp->state == TCPS_SYN_RECEIVED) {
		l->synq_len--;
	} else {
		struct tcpcb **pp = &l->acceptq_head, *prev = NULL;
		while (*pp != NULL && *pp != tp) {
			prev = *pp;
			pp = &(*pp)->q_next;
		}
		if (*pp == tp) {
			*pp = tp->q_next;
			if (l->acceptq_tail == tp)
				l->acceptq_tail = prev;
			l->acceptq_len--;
			tcp_update_events(l);
		}
	}
	tp->parent = NULL;
	tp->q_next = NULL;
}

void
tcp_close_conn(struct ust_stack *st, struct tcpcb *tp)
{
	/* An embryonic child has no owner to call close(); one already in the
	 * accept queue stays there, closed, for accept() to return with its
	 * error (Linux). */
	bool queued = tp->parent != NULL && !tp->accepted && tp->state != TCPS_SYN_RECEIVED;
	bool ownerless = tp->orphan || (tp->parent != NULL && !tp->accepted && !queued);
	if (!queued)
		unlink_from_parent(tp);
	tcp_hash_remove(st, tp);
	tp->rexmt_at = tp->persist_at = tp->delack_at = tp->keep_at = tp->tw_at = 0;
	tp->tlp_at = tp->reo_at = 0;
	ust_timer_cancel(&st->timers, &tp->timer);
	tp->ended = true;
	tcp_set_state(st, tp, TCPS_CLOSED);
	if (ownerless)
		tcp_free(st, tp);
}

void
tcp_disconnect(struct ust_stack *st, struct tcpcb *tp)
{
	enum tcp_state old = tp->state;
	if (old == TCPS_LISTEN) {
		tcp_drop_children(st, tp);
		tcp_listen_remove(st, tp);
	}
	/* tcp_disconnect: a synchronized connection is reset; the error is
	 * the owner's to read. */
	tcp_send_rst_for(st, tp);
	bool reset = old == TCPS_SYN_SENT || (old >= TCPS_SYN_RECEIVED && old != TCPS_TIME_WAIT);
	tcp_hash_remove(st, tp);
	ust_timer_cancel(&st->timers, &tp->timer);
	tsq_remove(st->tcp, tp);
	tcp_ring_free(&tp->s, &tp->snd);
	tcp_ring_free(&tp->s, &tp->rcv);
	tcp_shed(tp);
	/* Everything of the connection goes; the socket's own settings, its
	 * place in the stack's lists and its port stay. */
	struct tcpcb keep = *tp;
	memset(tp, 0, sizeof(*tp));
	tcp_init(st, tp, keep.s.family);
	struct ust_timer timer = tp->timer;
	tp->s = keep.s;
	tcp_inherit(tp, &keep);
	tp->timer = timer;
	tp->cork = keep.cork;
	tp->bnext = keep.bnext;
	tp->bhashed = keep.bhashed;
	tp->all_next = keep.all_next;
	tp->all_prev = keep.all_prev;
	tp->s.listening = false;
	tp->s.connected = false;
	tp->s.so_error = reset ? ECONNRESET : 0;
	tp->s.remote = ust_sockaddr_any(tp->s.family);
	if (keep.addr_auto) {
		uint16_t port = tp->s.local.port;
		tp->s.local = ust_sockaddr_any(tp->s.family);
		tp->s.local.port = port;
	}
	tcp_update_events(tp);
}

void
tcp_write_err(struct ust_stack *st, struct tcpcb *tp, int err)
{
	tp->s.so_error = err;
	ust_stat_inc(st, UST_STAT_TCP_TIMEOUT);
	tcp_close_conn(st, tp);
}

void
tcp_drop(struct ust_stack *st, struct tcpcb *tp, int err)
{
	if (tp->state >= TCPS_SYN_RECEIVED && tp->state != TCPS_TIME_WAIT)
		tcp_send_rst_for(st, tp);
	tp->s.so_error = err;
	if (err == ETIMEDOUT)
		ust_stat_inc(st, UST_STAT_TCP_TIMEOUT);
	tcp_close_conn(st, tp);
}
