/*
 * Raw and ping sockets (raw.h). One list holds them all: a datagram walks it
 * only when a raw socket exists, so the common case pays nothing. Received
 * datagrams are copies (the protocol goes on with the original), kept from
 * their IP header on; pkt->l4_off of a queued copy is the number of bytes a
 * read skips (0 for IPv4 raw sockets, which see the header).
 */
#include "raw.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "ipv4.h"
#include "ipv6.h"
#include "wire/bytes.h"
#include "wire/csum.h"
#include "wire/icmp.h"
#include "wire/icmp6.h"
#include "wire/ipv6.h"

#define UST_SOL_RAW 255
#define UST_SOL_ICMPV6 58
#define UST_ICMP_FILTER 1
#define UST_ICMP6_FILTER 1
#define RAW_RMEM_DEFAULT 212992
#define RAW_MEM_MAX 212992

struct raw_sock {
	struct ust_sock s;         /* common part; first member for the cast */
	uint8_t protocol;          /* IP protocol, or ICMP/ICMPv6 for a ping socket */
	bool ping;                 /* SOCK_DGRAM ICMP socket: local.port is the identifier */
	bool hdrincl;              /* IP_HDRINCL (always for IPPROTO_RAW) */
	int csum_off;              /* IPV6_CHECKSUM offset, -1 = none */
	uint32_t icmp_filter;      /* ICMP_FILTER: bit t set drops ICMP type t */
	uint32_t icmp6_filter[8];  /* ICMP6_FILTER: bit t set blocks ICMPv6 type t */
	struct ust_pkt *q_head;    /* received copies, oldest first */
	struct ust_pkt *q_tail;    /* newest */
	uint32_t q_bytes;          /* their bytes, charged to rcvbuf */
};

struct ust_raw {
	struct ust_sock *all;      /* every raw and ping socket */
	uint16_t next_ident;       /* next ping identifier to try */
};

int
ust_raw_init(struct ust_stack *st)
{
	st->raw = calloc(1, sizeof(*st->raw));
	if (st->raw == NULL)
		return -ENOMEM;
	st->raw->next_ident = (uint16_t)ust_stack_rand(st);
	return 0;
}

static void
raw_close(struct ust_sock *s)
{
	struct raw_sock *r = (struct raw_sock *)s;
	struct ust_raw *t = s->stack->raw;
	ust_pkt_free_list(r->q_head);
	ust_sock_err_purge(s);
	ust_sock_list_del(&t->all, s);
	free(r);
}

void
ust_raw_fini(struct ust_stack *st)
{
	if (st->raw == NULL)
		return;
	while (st->raw->all != NULL)
		raw_close(st->raw->all);
	free(st->raw);
	st->raw = NULL;
}

static struct raw_sock *
first(const struct ust_stack *st)
{
	return (struct raw_sock *)st->raw->all;
}

static struct raw_sock *
next(const struct raw_sock *r)
{
	return (struct raw_sock *)r->s.all_next;
}

bool
ust_raw_any(const struct ust_stack *st)
{
	return st->raw->all != NULL;
}

static void
update_events(struct raw_sock *r)
{
	uint32_t ev = UST_EV_OUT;
	if (r->q_head != NULL)
		ev |= UST_EV_IN;
	ev |= ust_sock_err_events(&r->s);
	ust_sock_notify(&r->s, ev);
}

/* Queue a copy of the datagram at pkt's l3_off; a read skips `skip` bytes. */
static void
deliver(struct raw_sock *r, const struct ust_pkt *pkt, uint32_t skip)
{
	struct ust_stack *st = r->s.stack;
	const uint8_t *l3 = pkt->buf + pkt->l3_off;
	uint32_t len = pkt->len + (pkt->data_off - pkt->l3_off);
	if (r->q_bytes + len > r->s.rcvbuf_bytes) {
		st->stats.drop[UST_DROP_RAW_RCVBUF]++;
		return;
	}
	struct ust_pkt *c = ust_ip_chain(st, l3, len, 0);
	if (c == NULL)
		return;
	c->l4_off = (uint16_t)skip;
	c->ts_ns = st->now_ns; /* SO_TIMESTAMP: when it was queued */
	c->qnext = NULL;
	if (r->q_tail != NULL)
		r->q_tail->qnext = c;
	else
		r->q_head = c;
	r->q_tail = c;
	r->q_bytes += len;
	update_events(r);
}

/* A bound or connected raw socket takes only its addresses (raw_v4_match). */
static bool
addr_ok(const struct raw_sock *r, const struct ust_ip_info *ip)
{
	if (!ust_ip_is_unspec(r->s.local.addr6) && !ust_ip_eq(r->s.local.addr6, ip->dst))
		return false;
	return !r->s.connected || ust_ip_eq(r->s.remote.addr6, ip->src);
}

bool
ust_raw_input(struct ust_stack *st, const struct ust_pkt *pkt, const struct ust_ip_info *ip)
{
	uint8_t type = pkt->len > 0 ? ust_pkt_data(pkt)[0] : 0;
	bool took = false;
	for (struct raw_sock *r = first(st); r != NULL; r = next(r)) {
		if (r->ping || r->s.family != ip->family || r->protocol != ip->proto ||
		    r->protocol == UST_IPPROTO_RAW || !addr_ok(r, ip))
			continue;
		if (ip->proto == UST_IPPROTO_ICMP && type < 32 && (r->icmp_filter >> type) & 1)
			continue;
		if (ip->proto == UST_IPPROTO_ICMPV6 && (r->icmp6_filter[type / 32] >> (type % 32)) & 1)
			continue;
		/* IPv4 raw sockets read the header too; IPv6 ones do not. */
		deliver(r, pkt, ip->family == UST_AF_INET ? 0 : pkt->data_off - pkt->l3_off);
		took = true;
	}
	return took;
}

bool
ust_raw_ping_input(struct ust_stack *st, const struct ust_pkt *pkt, const struct ust_ip_info *ip,
		   uint16_t id)
{
	for (struct raw_sock *r = first(st); r != NULL; r = next(r)) {
		if (!r->ping || r->s.local.port != id || !addr_ok(r, ip) ||
		    (r->s.family == UST_AF_INET) != (ip->family == UST_AF_INET))
			continue;
		deliver(r, pkt, pkt->data_off - pkt->l3_off);
		return true;
	}
	return false;
}

void
ust_raw_icmp_error(struct ust_stack *st, const struct ust_ip_info *inner, const struct ust_ip_err *e)
{
	/* The quoted datagram went from inner->src to inner->dst: a socket
	 * matches it as it would the reply (raw_v4_match). */
	struct ust_ip_info back = {.family = inner->family, .proto = inner->proto};
	memcpy(back.src, inner->dst, 16);
	memcpy(back.dst, inner->src, 16);
	const uint8_t *l4 = e->quote + e->l4_off;
	uint8_t echo = inner->family == UST_AF_INET ? UST_ICMP_ECHO : UST_ICMP6_ECHO;
	bool is_echo = (inner->proto == UST_IPPROTO_ICMP || inner->proto == UST_IPPROTO_ICMPV6) &&
		       l4[0] == echo;
	for (struct raw_sock *r = first(st); r != NULL; r = next(r)) {
		if ((r->s.family == UST_AF_INET) != (inner->family == UST_AF_INET) ||
		    r->protocol != inner->proto || !addr_ok(r, &back))
			continue;
		if (r->ping && (!is_echo || ust_get16(l4 + 4) != r->s.local.port))
			continue;
		bool hard = e->hard;
		if (e->ee.err == EMSGSIZE)
			hard = (inner->family == UST_AF_INET ? r->s.ip_pmtudisc : r->s.ip6_pmtudisc) !=
			       UST_IP_PMTUDISC_DONT;
		/* A ping socket reads the quote from its ICMP header, a raw
		 * one after the IP header (IPv4 with IP_HDRINCL: from it). */
		size_t from = r->hdrincl ? 0 : e->l4_off;
		ust_sock_icmp_error(&r->s, &e->ee, hard, e->quote + from, e->len - from);
		if (r->ping)
			return;
	}
}

static int
raw_bind(struct ust_sock *s, const struct ust_sockaddr *a)
{
	struct raw_sock *r = (struct raw_sock *)s;
	if (r->ping) {
		/* A ping socket's port is its echo identifier (ping_get_port). */
		uint16_t id = a->port;
		for (unsigned tries = 0; id == 0 && tries < 65535; tries++) {
			uint16_t c = s->stack->raw->next_ident++;
			bool used = false;
			for (struct raw_sock *o = first(s->stack); o != NULL && !used; o = next(o))
				used = o != r && o->ping && o->s.bound && o->s.local.port == c &&
				       o->s.family == s->family;
			if (!used && c != 0)
				id = c;
		}
		for (struct raw_sock *o = first(s->stack); o != NULL; o = next(o))
			if (o != r && o->ping && o->s.bound && o->s.local.port == id &&
			    o->s.family == s->family && ust_sock_addrs_overlap(s, a->addr6, &o->s))
				return -EADDRINUSE;
		s->local.port = id;
	}
	ust_sockaddr_set_ip(&s->local, a->addr6);
	s->bound = true;
	return 0;
}

static int
raw_connect(struct ust_sock *s, const struct ust_sockaddr *a)
{
	if (a->family == 0) {
		s->connected = false;
		s->remote = ust_sockaddr_any(s->family);
		return 0;
	}
	int rc = ust_sock_peer_addr_ok(s, a);
	if (rc < 0)
		return rc;
	if (ust_ip_route_ok(s->stack, a->addr6) < 0)
		return -ENETUNREACH;
	if (((struct raw_sock *)s)->ping && !s->bound) {
		struct ust_sockaddr any = ust_sockaddr_any(s->family);
		rc = raw_bind(s, &any);
		if (rc < 0)
			return rc;
	}
	s->remote = *a;
	s->connected = true;
	return 0;
}

/* Fill a 16-bit checksum at `off` of the chain's first segment over the
 * whole chain, from the pseudo sum `sum`. */
static int
put_csum(struct ust_pkt *pkt, uint32_t off, uint32_t sum)
{
	if (off + 2 > pkt->len)
		return -EINVAL;
	uint8_t *d = ust_pkt_data(pkt);
	ust_put16(d + off, 0);
	for (struct ust_pkt *seg = pkt; seg != NULL; seg = seg->next)
		sum = ust_csum_partial(ust_pkt_data(seg), seg->len, sum);
	ust_put16(d + off, ust_csum_fold(sum));
	return 0;
}

static ssize_t
raw_sendto(struct ust_sock *s, const void *buf, size_t len, int flags,
	   const struct ust_sockaddr *to)
{
	struct raw_sock *r = (struct raw_sock *)s;
	struct ust_stack *st = s->stack;
	(void)flags;
	if (to != NULL && to->family != s->family)
		return -EAFNOSUPPORT;
	const struct ust_sockaddr *dst = to != NULL ? to : (s->connected ? &s->remote : NULL);
	if (dst == NULL)
		return -EDESTADDRREQ;
	int rc = ust_sock_peer_addr_ok(s, dst);
	if (rc < 0)
		return rc;
	if (len > 65535 - (s->family == UST_AF_INET ? UST_IPV4_HLEN : 0))
		return -EMSGSIZE;
	/* A pending error fails the send that finds it (sock_alloc_send_skb). */
	rc = ust_sock_take_error(s);
	if (rc < 0)
		return rc;
	if (r->ping) {
		if (!s->bound) {
			struct ust_sockaddr any = ust_sockaddr_any(s->family);
			rc = raw_bind(s, &any);
			if (rc < 0)
				return rc;
		}
		/* Linux's ping_common_sendmsg: an echo request, nothing else. */
		uint8_t want = s->family == UST_AF_INET ? UST_ICMP_ECHO : UST_ICMP6_ECHO;
		if (len < UST_ICMP_HLEN || ((const uint8_t *)buf)[0] != want ||
		    ((const uint8_t *)buf)[1] != 0)
			return -EINVAL;
	}
	if (r->hdrincl && s->family == UST_AF_INET) {
		if (len < UST_IPV4_HLEN)
			return -EINVAL;
		struct ust_pkt *pkt = ust_ip_chain(st, buf, len, 0);
		if (pkt == NULL)
			return -ENOBUFS;
		rc = ust_ipv4_output_hdrincl(st, pkt);
		return rc < 0 && rc != -ENOBUFS ? rc : (ssize_t)len;
	}
	/* sendmsg's IP_PKTINFO/IPV6_PKTINFO, IP_TTL/IPV6_HOPLIMIT and
	 * IP_TOS/IPV6_TCLASS act on this datagram (raw_sendmsg's
	 * ip_cmsg_send, rawv6_sendmsg's ip6_datagram_send_ctl, and the ping
	 * sockets' likewise). */
	struct ust_ip_tx tx = {.proto = r->protocol};
	rc = ust_ip_sock_tx(s, dst->addr6, &tx);
	if (rc < 0)
		return rc;
	const uint8_t *src = tx.src;
	struct ust_pkt *pkt = ust_ip_chain(st, buf, len, 0);
	if (pkt == NULL)
		return -ENOBUFS;
	rc = 0;
	if (r->ping) {
		ust_put16(ust_pkt_data(pkt) + 4, s->local.port);
		uint32_t sum = s->family == UST_AF_INET
				       ? 0
				       : ust_csum_pseudo6(src, dst->addr6, UST_IPPROTO_ICMPV6, (uint32_t)len);
		rc = put_csum(pkt, 2, sum);
	} else if (s->family == UST_AF_INET6 &&
		   (r->protocol == UST_IPPROTO_ICMPV6 || r->csum_off >= 0)) {
		/* RFC 3542 3.1: the kernel computes the ICMPv6 checksum. */
		uint32_t off = r->protocol == UST_IPPROTO_ICMPV6 ? 2 : (uint32_t)r->csum_off;
		rc = put_csum(pkt, off, ust_csum_pseudo6(src, dst->addr6, r->protocol, (uint32_t)len));
	}
	if (rc < 0) {
		ust_pkt_free(pkt);
		return rc;
	}
	rc = ust_ip_output(st, pkt, &tx);
	if (rc < 0 && rc != -ENOBUFS)
		return rc;
	return (ssize_t)len;
}

static ssize_t
raw_recvfrom(struct ust_sock *s, void *buf, size_t len, int flags, struct ust_sockaddr *from)
{
	struct raw_sock *r = (struct raw_sock *)s;
	struct ust_pkt *p = r->q_head;
	/* A pending error comes before any datagram (__skb_try_recv_datagram). */
	int e = ust_sock_take_error(s);
	if (e < 0)
		return e;
	if (p == NULL)
		return -EAGAIN;
	uint32_t skip = p->l4_off, avail = p->pkt_len - skip;
	uint32_t n = avail < len ? avail : (uint32_t)len;
	ust_pkt_read(p, skip, buf, n);
	if (from != NULL) {
		uint8_t h[40], ip[16];
		ust_pkt_read(p, 0, h, sizeof(h));
		if ((h[0] >> 4) == 4)
			ust_ip_set_v4(ip, ust_get32(h + 12));
		else
			memcpy(ip, h + 8, 16);
		*from = ust_sockaddr_any(s->family);
		ust_sockaddr_set_ip(from, ip);
	}
	if (!(flags & UST_MSG_PEEK)) {
		r->q_head = p->qnext;
		if (r->q_head == NULL)
			r->q_tail = NULL;
		r->q_bytes -= p->pkt_len;
		p->qnext = NULL;
		ust_pkt_free(p);
		update_events(r);
	}
	return n;
}

/* The next datagram's control messages: a queued copy starts at its IP
 * header. */
static int
raw_rxinfo(const struct ust_sock *s, struct ust_sock_rxinfo *out)
{
	const struct raw_sock *r = (const struct raw_sock *)s;
	const struct ust_pkt *p = r->q_head;
	if (p == NULL)
		return -EAGAIN;
	uint8_t h[40];
	ust_pkt_read(p, 0, h, sizeof(h));
	ust_ip_rxinfo(s->stack, h, out);
	/* Linux's ping sockets queue without ipv4_pktinfo_prepare. */
	out->no_spec_dst = r->ping;
	out->arrival_ns = p->ts_ns;
	return 0;
}

static int
raw_shutdown(struct ust_sock *s, int how)
{
	(void)how;
	return s->connected ? 0 : -ENOTCONN;
}

static uint32_t
buf_size(int v)
{
	/* man 7 socket: the kernel doubles the value, capped by *mem_max. */
	uint64_t b = v < 0 ? 0 : (uint64_t)v;
	if (b > RAW_MEM_MAX)
		b = RAW_MEM_MAX;
	b *= 2;
	return b < 2304 ? 2304 : (uint32_t)b;
}

static int
raw_setopt(struct ust_sock *s, int level, int name, const void *val, size_t len)
{
	struct raw_sock *r = (struct raw_sock *)s;
	bool v6 = s->family == UST_AF_INET6;
	int v = 0;
	if (level == UST_SOL_ICMPV6 && name == UST_ICMP6_FILTER) {
		if (!v6 || r->protocol != UST_IPPROTO_ICMPV6 || r->ping)
			return -EOPNOTSUPP;
		memset(r->icmp6_filter, 0, sizeof(r->icmp6_filter));
		memcpy(r->icmp6_filter, val, len < sizeof(r->icmp6_filter) ? len : sizeof(r->icmp6_filter));
		return 0;
	}
	if (level == UST_SOL_RAW && name == UST_ICMP_FILTER && !v6) {
		if (r->protocol != UST_IPPROTO_ICMP || r->ping)
			return -EOPNOTSUPP;
		if (len < sizeof(uint32_t))
			return -EINVAL;
		memcpy(&r->icmp_filter, val, sizeof(uint32_t));
		return 0;
	}
	if (ust_sockopt_get_int(val, len, &v) < 0)
		return -EINVAL;
	if (v6 && !r->ping && name == UST_IPV6_CHECKSUM &&
	    (level == UST_SOL_RAW || level == UST_SOL_IPV6)) {
		/* Linux: ICMPv6 is always summed; the IPv6 level may not say so. */
		if (r->protocol == UST_IPPROTO_ICMPV6 && level == UST_SOL_IPV6)
			return -EINVAL;
		if (v != -1 && (v < 0 || (v & 1)))
			return -EINVAL;
		r->csum_off = v;
		return 0;
	}
	if (!v6 && !r->ping && level == UST_SOL_IP && name == UST_IP_HDRINCL) {
		r->hdrincl = v != 0 || r->protocol == UST_IPPROTO_RAW;
		return 0;
	}
	if (level != UST_SOL_SOCKET)
		return -ENOPROTOOPT;
	switch (name) {
	case UST_SO_REUSEADDR:
	case UST_SO_REUSEPORT:
	case UST_SO_KEEPALIVE:
		return 0;
	case UST_SO_RCVBUF:
		s->rcvbuf_bytes = buf_size(v);
		return 0;
	case UST_SO_SNDBUF:
		s->sndbuf_bytes = buf_size(v);
		return 0;
	default:
		return -ENOPROTOOPT;
	}
}

static int
raw_getopt(struct ust_sock *s, int level, int name, void *val, size_t *len)
{
	struct raw_sock *r = (struct raw_sock *)s;
	bool v6 = s->family == UST_AF_INET6;
	if (level == UST_SOL_ICMPV6 && name == UST_ICMP6_FILTER && v6 && !r->ping) {
		size_t n = *len < sizeof(r->icmp6_filter) ? *len : sizeof(r->icmp6_filter);
		memcpy(val, r->icmp6_filter, n);
		*len = n;
		return 0;
	}
	if (level == UST_SOL_RAW && name == UST_ICMP_FILTER && !v6 &&
	    r->protocol == UST_IPPROTO_ICMP && !r->ping) {
		size_t n = *len < sizeof(uint32_t) ? *len : sizeof(uint32_t);
		memcpy(val, &r->icmp_filter, n);
		*len = n;
		return 0;
	}
	if (v6 && !r->ping && name == UST_IPV6_CHECKSUM &&
	    (level == UST_SOL_RAW || level == UST_SOL_IPV6))
		return ust_sockopt_put_int(val, len, r->csum_off);
	if (!v6 && !r->ping && level == UST_SOL_IP && name == UST_IP_HDRINCL)
		return ust_sockopt_put_int(val, len, r->hdrincl);
	if (level != UST_SOL_SOCKET)
		return -ENOPROTOOPT;
	switch (name) {
	case UST_SO_RCVBUF:
		return ust_sockopt_put_int(val, len, (int)s->rcvbuf_bytes);
	case UST_SO_SNDBUF:
		return ust_sockopt_put_int(val, len, (int)s->sndbuf_bytes);
	default:
		return -ENOPROTOOPT;
	}
}

static size_t
raw_nread(const struct ust_sock *s)
{
	const struct raw_sock *r = (const struct raw_sock *)s;
	return r->q_head == NULL ? 0 : r->q_head->pkt_len - r->q_head->l4_off;
}

static size_t
raw_nunacked(const struct ust_sock *s)
{
	(void)s;
	return 0;
}

static int
raw_listen(struct ust_sock *s, int backlog)
{
	(void)s;
	(void)backlog;
	return -EOPNOTSUPP;
}

static int
raw_accept(struct ust_sock *s, struct ust_sock **out)
{
	(void)s;
	(void)out;
	return -EOPNOTSUPP;
}

static const struct ust_sock_proto raw_proto = {
	.bind = raw_bind,
	.listen = raw_listen,
	.accept = raw_accept,
	.connect = raw_connect,
	.sendto = raw_sendto,
	.recvfrom = raw_recvfrom,
	.shutdown = raw_shutdown,
	.close = raw_close,
	.setopt = raw_setopt,
	.getopt = raw_getopt,
	.nread = raw_nread,
	.nunacked = raw_nunacked,
	.rxinfo = raw_rxinfo,
};

int
ust_raw_sock_create(struct ust_stack *st, int family, int type, int protocol,
		    struct ust_sock **out)
{
	uint8_t icmp = family == UST_AF_INET ? UST_IPPROTO_ICMP : UST_IPPROTO_ICMPV6;
	if (protocol <= 0 || protocol > 255 || (type == UST_SOCK_DGRAM && protocol != icmp))
		return -EPROTONOSUPPORT;
	struct raw_sock *r = calloc(1, sizeof(*r));
	if (r == NULL)
		return -ENOMEM;
	ust_sock_init(&r->s, st, &raw_proto, family, type);
	r->s.protocol = (uint8_t)protocol;
	r->s.rcvbuf_bytes = RAW_RMEM_DEFAULT;
	r->s.sndbuf_bytes = RAW_RMEM_DEFAULT;
	r->s.events = UST_EV_OUT;
	r->protocol = (uint8_t)protocol;
	r->ping = type == UST_SOCK_DGRAM;
	r->hdrincl = protocol == UST_IPPROTO_RAW;
	r->csum_off = -1;
	ust_sock_list_add(&st->raw->all, &r->s);
	*out = &r->s;
	return 0;
}
