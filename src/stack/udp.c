/*
 * UDP (RFC 768) sockets: port table, demultiplexing, datagram queues.
 *
 * Each socket sits in a hash chain keyed by its local port; input picks the
 * most specific match (connected 4-tuple beats a bound address beats a
 * wildcard), as Linux's udp4_lib_lookup scores them. Received datagrams stay
 * in the packet that carried them, queued on the socket with l3_off/l4_off
 * still pointing at their headers, so nothing is copied before recvfrom().
 * Errors and limits follow man 7 udp.
 */
#include "udp.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "ip.h"
#include "ipv4.h"
#include "wire/bytes.h"
#include "wire/csum.h"
#include "wire/ipv6.h"
#include "wire/udp.h"

#define UDP_BUCKETS 1024
#define UDP_EPHEMERAL_LO 32768 /* net.ipv4.ip_local_port_range */
#define UDP_EPHEMERAL_HI 60999
#define UDP_MAX_PAYLOAD4 (65535 - UST_IPV4_HLEN - UST_UDP_HLEN)
#define UDP_MAX_PAYLOAD6 (65535 - UST_UDP_HLEN) /* no jumbograms */
/* Linux defaults: net.core.rmem_default/wmem_default and the *_max caps. */
#define UDP_RMEM_DEFAULT 212992
#define UDP_WMEM_DEFAULT 212992
#define UDP_MEM_MAX 212992
/* A queued datagram costs its bytes and this much more, about what a
 * small one's sk_buff costs Linux on loopback (truesize 768 for a few
 * bytes); not the buffer that carried it, which a port with jumbo frames
 * makes 10 KiB whatever the datagram's size. */
#define UDP_DGRAM_OVERHEAD 640
#define UDP_RCVBUF_MIN 2304
#define UDP_SNDBUF_MIN 4608

struct udp_sock {
	struct ust_sock s;      /* common part; first member for the cast */
	struct udp_sock *next;  /* hash chain of the local port */
	struct ust_pkt *q_head; /* received datagrams, oldest first */
	struct ust_pkt *q_tail; /* newest */
	uint32_t q_bytes;       /* buffer bytes charged to rcvbuf */
	bool in_table;          /* linked in a hash chain */
	bool linger_on;         /* SO_LINGER l_onoff (kept; a datagram never lingers) */
	int linger_s;           /* SO_LINGER l_linger */
	bool shut_rd;           /* shutdown(SHUT_RD) */
	bool shut_wr;           /* shutdown(SHUT_WR) */
	bool port_auto;         /* bound implicitly (connect, sendto), not by bind() */
	bool addr_auto;         /* local address chosen by connect(), not by bind() */
};

struct ust_udp {
	struct udp_sock *bucket[UDP_BUCKETS]; /* bound sockets by local port */
	struct ust_sock *all;                 /* every socket, bound or not */
	unsigned count;                       /* sockets in the table */
};

static unsigned
bucket_of(uint16_t port)
{
	return port % UDP_BUCKETS;
}

int
ust_udp_init(struct ust_stack *st)
{
	st->udp = calloc(1, sizeof(*st->udp));
	return st->udp == NULL ? -ENOMEM : 0;
}

static void
queue_purge(struct udp_sock *u)
{
	ust_pkt_free_list(u->q_head);
	u->q_head = NULL;
	u->q_tail = NULL;
	u->q_bytes = 0;
}

static void
unhash(struct ust_stack *st, struct udp_sock *u)
{
	if (!u->in_table)
		return;
	struct udp_sock **pp = &st->udp->bucket[bucket_of(u->s.local.port)];
	while (*pp != u)
		pp = &(*pp)->next;
	*pp = u->next;
	u->in_table = false;
	st->udp->count--;
}

static void
udp_close(struct ust_sock *s)
{
	struct udp_sock *u = (struct udp_sock *)s;
	struct ust_udp *t = s->stack->udp;
	unhash(s->stack, u);
	queue_purge(u);
	ust_sock_err_purge(s);
	ust_sock_list_del(&t->all, s);
	free(u);
}

void
ust_udp_fini(struct ust_stack *st)
{
	if (st->udp == NULL)
		return;
	/* Sockets their owner never closed, unbound ones included. */
	while (st->udp->all != NULL)
		udp_close(st->udp->all);
	free(st->udp);
	st->udp = NULL;
}

static void
update_events(struct udp_sock *u)
{
	uint32_t ev = UST_EV_OUT;
	if (u->q_head != NULL || u->shut_rd)
		ev |= UST_EV_IN;
	ev |= ust_sock_err_events(&u->s);
	if (u->shut_rd && u->shut_wr)
		ev |= UST_EV_HUP;
	if (u->shut_rd)
		ev |= UST_EV_RDHUP;
	ust_sock_notify(&u->s, ev);
}

/* Linux's compute_score in spirit: -1 for no match, higher is more specific. */
static int
score(const struct udp_sock *u, const uint8_t saddr[16], uint16_t sport, const uint8_t daddr[16])
{
	int m = ust_sock_local_match(&u->s, daddr);
	if (m < 0)
		return -1;
	int sc = m * 4 + (u->s.family == UST_AF_INET);
	if (u->s.connected) {
		if (!ust_ip_eq(u->s.remote.addr6, saddr) || u->s.remote.port != sport)
			return -1;
		sc += 8;
	}
	return sc;
}

static struct udp_sock *
lookup(struct ust_stack *st, const uint8_t saddr[16], uint16_t sport, const uint8_t daddr[16],
       uint16_t dport)
{
	struct udp_sock *best = NULL;
	int best_sc = -1;
	for (struct udp_sock *u = st->udp->bucket[bucket_of(dport)]; u != NULL; u = u->next) {
		if (u->s.local.port != dport)
			continue;
		int sc = score(u, saddr, sport, daddr);
		if (sc > best_sc) {
			best = u;
			best_sc = sc;
		}
	}
	return best;
}

void
ust_udp_input(struct ust_stack *st, struct ust_pkt *pkt, const struct ust_ip_info *ip)
{
	struct ust_udp_view uv;
	uint32_t ps = ust_ip_pseudo(ip->src, ip->dst, UST_IPPROTO_UDP, pkt->len);
	enum ust_drop why = ust_udp_parse(ust_pkt_data(pkt), pkt->len, ps, pkt->ol_flags, &uv);
	if (why != UST_DROP_NONE) {
		ust_drop(st, pkt, why);
		return;
	}
	struct udp_sock *u = lookup(st, ip->src, uv.sport, ip->dst, uv.dport);
	if (u == NULL) {
		ust_ip_send_port_unreach(st, pkt, ip);
		ust_drop(st, pkt, UST_DROP_UDP_NO_PORT);
		return;
	}
	if (u->shut_rd || u->q_bytes + uv.len + UDP_DGRAM_OVERHEAD > u->s.rcvbuf_bytes) {
		ust_drop(st, pkt, UST_DROP_UDP_RCVBUF);
		return;
	}
	/* Keep only the datagram (UDP header at l4_off, payload after it). */
	ust_pkt_trim(pkt, uv.len);
	pkt->ts_ns = st->now_ns; /* SO_TIMESTAMP: when it was queued */
	pkt->qnext = NULL;
	if (u->q_tail != NULL)
		u->q_tail->qnext = pkt;
	else
		u->q_head = pkt;
	u->q_tail = pkt;
	u->q_bytes += pkt->len + UDP_DGRAM_OVERHEAD;
	ust_stat_inc(st, UST_STAT_UDP_IN);
	ust_sock_arrived(&u->s);
	update_events(u);
}

void
ust_udp_icmp_error(struct ust_stack *st, const struct ust_ip_info *inner, const struct ust_ip_err *e)
{
	const uint8_t *l4 = e->quote + e->l4_off;
	uint16_t sport = ust_get16(l4);
	uint16_t dport = ust_get16(l4 + 2);
	/* The quoted datagram is one we sent: its source is our side. */
	struct udp_sock *u = lookup(st, inner->dst, dport, inner->src, sport);
	if (u == NULL || (u->s.connected && (!ust_ip_eq(u->s.remote.addr6, inner->dst) ||
					     u->s.remote.port != dport)))
		return;
	struct ust_sock_ee ee = e->ee;
	ee.port = dport;
	bool hard = e->hard;
	if (ee.err == EMSGSIZE) {
		/* Path MTU news: an error only to a socket that lets no
		 * datagram be fragmented on the way (IPv4 ignores it then). */
		bool v4 = ee.origin == UST_EE_ORIGIN_ICMP;
		uint8_t disc = v4 ? u->s.ip_pmtudisc : u->s.ip6_pmtudisc;
		if (disc == UST_IP_PMTUDISC_DONT && v4)
			return;
		hard = disc != UST_IP_PMTUDISC_DONT;
	}
	ust_sock_icmp_error(&u->s, &ee, hard, l4 + UST_UDP_HLEN, e->len - e->l4_off - UST_UDP_HLEN);
}

static bool
port_conflict(struct ust_stack *st, const struct udp_sock *me, const uint8_t addr[16],
	      uint16_t port)
{
	for (struct udp_sock *u = st->udp->bucket[bucket_of(port)]; u != NULL; u = u->next) {
		if (u == me || u->s.local.port != port)
			continue;
		if (!ust_sock_addrs_overlap(&me->s, addr, &u->s))
			continue;
		if ((u->s.reuseaddr && me->s.reuseaddr) || ust_sock_reuseport_shares(&me->s, &u->s))
			continue;
		return true;
	}
	return false;
}

static void
hash_in(struct ust_stack *st, struct udp_sock *u)
{
	unsigned b = bucket_of(u->s.local.port);
	u->next = st->udp->bucket[b];
	st->udp->bucket[b] = u;
	u->in_table = true;
	u->s.bound = true;
	st->udp->count++;
}

static int
do_bind(struct udp_sock *u, const uint8_t addr[16], uint16_t port)
{
	struct ust_stack *st = u->s.stack;
	if (port == 0) {
		/* RFC 6056 algorithm 1: a random start, then the next free port. */
		uint32_t range = UDP_EPHEMERAL_HI - UDP_EPHEMERAL_LO + 1;
		uint32_t start = (uint32_t)(ust_stack_rand(st) % range);
		for (uint32_t i = 0; i < range; i++) {
			uint16_t p = (uint16_t)(UDP_EPHEMERAL_LO + (start + i) % range);
			if (!port_conflict(st, u, addr, p)) {
				port = p;
				break;
			}
		}
		if (port == 0)
			return -EAGAIN;
	} else if (port_conflict(st, u, addr, port)) {
		return -EADDRINUSE;
	}
	ust_sockaddr_set_ip(&u->s.local, addr);
	u->s.local.port = port;
	hash_in(st, u);
	return 0;
}

static int
udp_bind(struct ust_sock *s, const struct ust_sockaddr *a)
{
	struct udp_sock *u = (struct udp_sock *)s;
	int rc = do_bind(u, a->addr6, a->port);
	/* Port 0 leaves the choice to us, so a disconnect may give it back
	 * (Linux sets SOCK_BINDPORT_LOCK only for a chosen port). */
	if (rc == 0)
		u->port_auto = a->port == 0;
	return rc;
}

static int
udp_connect(struct ust_sock *s, const struct ust_sockaddr *a)
{
	struct udp_sock *u = (struct udp_sock *)s;
	if (a->family == 0) {
		/* AF_UNSPEC dissolves the association (man 2 connect) and,
		 * as Linux does, gives back a port the socket never asked for. */
		s->connected = false;
		s->remote = ust_sockaddr_any(s->family);
		if (u->addr_auto) {
			uint16_t port = s->local.port;
			s->local = ust_sockaddr_any(s->family);
			s->local.port = port;
			u->addr_auto = false;
		}
		if (u->port_auto) {
			unhash(s->stack, u);
			s->bound = false;
			s->local = ust_sockaddr_any(s->family);
			u->port_auto = false;
		}
		return 0;
	}
	int rc = ust_sock_peer_addr_ok(s, a);
	if (rc < 0)
		return rc;
	if (a->port == 0)
		return -ECONNREFUSED;
	if (ust_ip_route_ok(s->stack, a->addr6) < 0)
		return -ENETUNREACH;
	if (!s->bound) {
		rc = do_bind(u, s->local.addr6, 0);
		if (rc < 0)
			return rc;
		u->port_auto = true;
	}
	/* The route's source becomes the local address (ip4_datagram_connect). */
	if (ust_ip_is_unspec(s->local.addr6)) {
		uint8_t src[16];
		rc = ust_ip_sock_source(s, a->addr6, src);
		if (rc < 0)
			return rc;
		ust_sockaddr_set_ip(&s->local, src);
		u->addr_auto = true;
	}
	s->remote = *a;
	s->connected = true;
	s->so_error = 0;
	update_events(u);
	return 0;
}

static ssize_t
udp_sendto(struct ust_sock *s, const void *buf, size_t len, int flags,
	   const struct ust_sockaddr *to)
{
	struct udp_sock *u = (struct udp_sock *)s;
	struct ust_stack *st = s->stack;
	(void)flags;
	/* Linux binds a port before it looks at anything else (inet_send_prepare),
	 * so even a send that fails leaves the socket bound. */
	if (!s->bound) {
		int rc = do_bind(u, s->local.addr6, 0);
		if (rc < 0)
			return rc;
		u->port_auto = true;
	}
	if (to != NULL && to->family != s->family)
		return -EAFNOSUPPORT;
	if (to != NULL) {
		int rc = ust_sock_peer_addr_ok(s, to);
		if (rc < 0)
			return rc;
	}
	if (u->shut_wr)
		return -EPIPE;
	const struct ust_sockaddr *dst = to != NULL ? to : (s->connected ? &s->remote : NULL);
	if (dst == NULL)
		return -EDESTADDRREQ;
	bool v4 = ust_ip_is_v4(dst->addr6);
	if (v4 && len > 0xffff)
		return -EMSGSIZE;
	if (dst->port == 0)
		return -EINVAL;
	if (v4 && ust_ipv4_is_bcast(st, dst->addr4) && !s->broadcast)
		return -EACCES;
	/* Too big for one datagram, or (IP_PMTUDISC_DO, _PROBE) for the path
	 * whole: refused and, with IP_RECVERR, queued as a local error telling
	 * the MTU (ip_append_data, __ip6_append_data; IPv4 names the connected
	 * port, IPv6 the destination's). */
	uint8_t disc = v4 ? s->ip_pmtudisc : s->ip6_pmtudisc;
	uint16_t room = ust_ip_mtu_payload(st, dst->addr6);
	bool df = disc == UST_IP_PMTUDISC_DO || disc == UST_IP_PMTUDISC_PROBE;
	if (len > (v4 ? UDP_MAX_PAYLOAD4 : UDP_MAX_PAYLOAD6) || (df && len + UST_UDP_HLEN > room)) {
		uint32_t mtu = room + (v4 ? UST_IPV4_HLEN : UST_IPV6_HLEN);
		ust_sock_local_error(s, EMSGSIZE, dst->addr6, v4 ? s->remote.port : dst->port, mtu);
		return -EMSGSIZE;
	}
	/* A pending error fails the send that finds it (sock_alloc_send_skb). */
	int e = ust_sock_take_error(s);
	if (e < 0)
		return e;
	struct ust_ip_tx itx = {.proto = UST_IPPROTO_UDP};
	int rc = ust_ip_sock_tx(s, dst->addr6, &itx);
	if (rc < 0)
		return rc;
	const uint8_t *src = itx.src;
	struct ust_pkt *pkt = ust_ip_chain(st, buf, len, UST_UDP_HLEN);
	if (pkt == NULL)
		return -ENOBUFS;
	uint16_t ulen = (uint16_t)(len + UST_UDP_HLEN);
	uint32_t sum = ust_ip_pseudo(src, dst->addr6, UST_IPPROTO_UDP, ulen);
	uint8_t *h = ust_pkt_data(pkt);
	ust_put16(h, s->local.port);
	ust_put16(h + 2, dst->port);
	ust_put16(h + 4, ulen);
	ust_put16(h + 6, 0);
	for (struct ust_pkt *seg = pkt; seg != NULL; seg = seg->next)
		sum = ust_csum_partial(ust_pkt_data(seg), seg->len, sum);
	uint16_t c = ust_csum_fold(sum);
	ust_put16(h + 6, c == 0 ? 0xffff : c);
	rc = ust_ip_output(st, pkt, &itx);
	if (rc < 0 && rc != -ENOBUFS)
		return rc;
	ust_stat_inc(st, UST_STAT_UDP_OUT);
	return (ssize_t)len;
}

static ssize_t
udp_recvfrom(struct ust_sock *s, void *buf, size_t len, int flags, struct ust_sockaddr *from)
{
	struct udp_sock *u = (struct udp_sock *)s;
	struct ust_pkt *p = u->q_head;
	/* A pending error comes before any datagram (__skb_recv_udp). */
	int e = ust_sock_take_error(s);
	if (e < 0)
		return e;
	if (p == NULL)
		return u->shut_rd ? 0 : -EAGAIN;
	uint32_t plen = p->len - UST_UDP_HLEN;
	uint32_t n = plen < len ? plen : (uint32_t)len;
	memcpy(buf, ust_pkt_data(p) + UST_UDP_HLEN, n);
	if (from != NULL) {
		memset(from, 0, sizeof(*from));
		from->family = s->family;
		uint8_t ip[16];
		const uint8_t *l3 = p->buf + p->l3_off;
		if ((l3[0] >> 4) == 4)
			ust_ip_set_v4(ip, ust_get32(l3 + 12));
		else
			memcpy(ip, l3 + 8, 16);
		ust_sockaddr_set_ip(from, ip);
		from->port = ust_get16(ust_pkt_data(p));
	}
	if (!(flags & UST_MSG_PEEK)) {
		u->q_head = p->qnext;
		if (u->q_head == NULL)
			u->q_tail = NULL;
		u->q_bytes -= p->len + UDP_DGRAM_OVERHEAD;
		p->qnext = NULL;
		ust_pkt_free(p);
		update_events(u);
	}
	return n;
}

static int
udp_shutdown(struct ust_sock *s, int how)
{
	struct udp_sock *u = (struct udp_sock *)s;
	if (how != UST_SHUT_WR)
		u->shut_rd = true;
	if (how != UST_SHUT_RD)
		u->shut_wr = true;
	update_events(u);
	/* Linux sets the flags but reports ENOTCONN on an unconnected socket. */
	return s->connected ? 0 : -ENOTCONN;
}



static uint32_t
buf_size(int v, uint32_t min, bool force)
{
	/* man 7 socket: the kernel doubles the value, capped by *mem_max
	 * unless forced (SO_*BUFFORCE, CAP_NET_ADMIN). */
	uint64_t b = v < 0 ? 0 : (uint64_t)v;
	if (b > (force ? INT32_MAX / 2 : UDP_MEM_MAX))
		b = force ? INT32_MAX / 2 : UDP_MEM_MAX;
	b *= 2;
	return b < min ? min : (uint32_t)b;
}

static int
udp_setopt(struct ust_sock *s, int level, int name, const void *val, size_t len)
{
	struct udp_sock *u = (struct udp_sock *)s;
	int v;
	if (level != UST_SOL_SOCKET)
		return -ENOPROTOOPT;
	if (name == UST_SO_LINGER) {
		int l[2];
		if (len < sizeof(l))
			return -EINVAL;
		memcpy(l, val, sizeof(l));
		u->linger_on = l[0] != 0;
		if (u->linger_on)
			u->linger_s = l[1];
		return 0;
	}
	if (ust_sockopt_get_int(val, len, &v) < 0)
		return -EINVAL;
	switch (name) {
	case UST_SO_REUSEADDR:
	case UST_SO_REUSEPORT:
	case UST_SO_KEEPALIVE:
		return 0;
	case UST_SO_RCVBUF:
	case UST_SO_RCVBUFFORCE:
		s->rcvbuf_bytes = buf_size(v, UDP_RCVBUF_MIN, name == UST_SO_RCVBUFFORCE);
		return 0;
	case UST_SO_SNDBUF:
	case UST_SO_SNDBUFFORCE:
		s->sndbuf_bytes = buf_size(v, UDP_SNDBUF_MIN, name == UST_SO_SNDBUFFORCE);
		return 0;
	default:
		return -ENOPROTOOPT;
	}
}

static int
udp_getopt(struct ust_sock *s, int level, int name, void *val, size_t *len)
{
	struct udp_sock *u = (struct udp_sock *)s;
	int v;
	if (level != UST_SOL_SOCKET)
		return -ENOPROTOOPT;
	switch (name) {
	case UST_SO_RCVBUF:
		v = (int)s->rcvbuf_bytes;
		break;
	case UST_SO_SNDBUF:
		v = (int)s->sndbuf_bytes;
		break;
	case UST_SO_LINGER: {
		int l[2] = {u->linger_on, u->linger_s};
		size_t n = *len < sizeof(l) ? *len : sizeof(l);
		memcpy(val, l, n);
		*len = n;
		return 0;
	}
	default:
		return -ENOPROTOOPT;
	}
	return ust_sockopt_put_int(val, len, v);
}

static size_t
udp_nread(const struct ust_sock *s)
{
	const struct udp_sock *u = (const struct udp_sock *)s;
	return u->q_head == NULL ? 0 : u->q_head->len - UST_UDP_HLEN;
}

static int
udp_rxinfo(const struct ust_sock *s, struct ust_sock_rxinfo *out)
{
	const struct udp_sock *u = (const struct udp_sock *)s;
	const struct ust_pkt *p = u->q_head;
	if (p == NULL)
		return -EAGAIN;
	/* The IP header is still in front of the datagram. */
	ust_ip_rxinfo(s->stack, p->buf + p->l3_off, out);
	out->arrival_ns = p->ts_ns;
	return 0;
}

static size_t
udp_nunacked(const struct ust_sock *s)
{
	(void)s;
	return 0; /* a datagram leaves at once or is dropped */
}

static int
udp_listen(struct ust_sock *s, int backlog)
{
	(void)s;
	(void)backlog;
	return -EOPNOTSUPP;
}

static int
udp_accept(struct ust_sock *s, struct ust_sock **out)
{
	(void)s;
	(void)out;
	return -EOPNOTSUPP;
}

const struct ust_sock_proto ust_udp_proto = {
	.bind = udp_bind,
	.listen = udp_listen,
	.accept = udp_accept,
	.connect = udp_connect,
	.sendto = udp_sendto,
	.recvfrom = udp_recvfrom,
	.shutdown = udp_shutdown,
	.close = udp_close,
	.setopt = udp_setopt,
	.getopt = udp_getopt,
	.nread = udp_nread,
	.nunacked = udp_nunacked,
	.rxinfo = udp_rxinfo,
};

void
ust_udp_foreach(struct ust_stack *st, ust_sock_info_fn *fn, void *arg)
{
	for (unsigned b = 0; b < UDP_BUCKETS; b++) {
		for (struct udp_sock *u = st->udp->bucket[b]; u != NULL; u = u->next) {
			struct ust_sock_info i = {
				.type = UST_SOCK_DGRAM,
				.state = u->s.connected ? "ESTAB" : "UNCONN",
				.local = u->s.local,
				.peer = u->s.connected ? u->s.remote : u->s.local,
				.recvq = u->q_bytes,
				.owner = u->s.user,
			};
			if (!u->s.connected)
				i.peer = ust_sockaddr_any(u->s.family);
			fn(&i, arg);
		}
	}
}

int
ust_udp_sock_create(struct ust_stack *st, int family, struct ust_sock **out)
{
	struct udp_sock *u = calloc(1, sizeof(*u));
	if (u == NULL)
		return -ENOMEM;
	ust_sock_init(&u->s, st, &ust_udp_proto, family, UST_SOCK_DGRAM);
	u->s.rcvbuf_bytes = UDP_RMEM_DEFAULT;
	u->s.sndbuf_bytes = UDP_WMEM_DEFAULT;
	u->s.events = UST_EV_OUT;
	ust_sock_list_add(&st->udp->all, &u->s);
	*out = &u->s;
	return 0;
}
