/*
 * The in-stack socket API: argument checks shared by every protocol, then
 * dispatch through struct ust_sock_proto. Errors are the ones Linux returns
 * for the same call (man 2 socket/bind/connect/..., man 7 socket).
 */
#include "sock.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "ip.h"
#include "ipv4.h"
#include "ipv6.h"
#include "raw.h"
#include "stack.h"
#include "wire/ipv4.h"
#include "wire/ipv6.h"
#include "tcp/tcp.h"
#include "udp.h"

static void err_notify(struct ust_sock *s);

void
ust_sock_init(struct ust_sock *s, struct ust_stack *st, const struct ust_sock_proto *proto,
	      int family, int type)
{
	memset(s, 0, sizeof(*s));
	s->proto = proto;
	s->stack = st;
	s->family = (uint8_t)family;
	s->type = (uint8_t)type;
	s->local.family = (uint16_t)family;
	s->remote.family = (uint16_t)family;
	s->rcvlowat = 1;
	s->uid = st->caller.uid;
	s->ip_pmtudisc = UST_IP_PMTUDISC_WANT;
	s->ip6_pmtudisc = UST_IP_PMTUDISC_WANT;
	ust_sockaddr_canon(&s->local);
	ust_sockaddr_canon(&s->remote);
}

void
ust_stack_set_caller(struct ust_stack *st, const struct ust_sock_cred *cred)
{
	st->caller = *cred;
}

bool
ust_sock_reuseport_shares(const struct ust_sock *me, const struct ust_sock *other)
{
	/* Only one user's sockets share a port, so no one takes over
	 * another's traffic (Linux compares sk_uid). */
	return me->reuseport && other->reuseport && me->uid == other->uid;
}

static int
match(const struct ust_sock *s, const uint8_t l[16], const uint8_t dst[16])
{
	if (ust_ip_eq(l, dst))
		return 1;
	if (ust_ip_is_v4(dst))
		return ust_ip_eq(l, ust_ip_any4) ||
			       (ust_ip_eq(l, ust_ip_any6) && s->family == UST_AF_INET6 && !s->v6only)
			   ? 0
			   : -1;
	return ust_ip_eq(l, ust_ip_any6) ? 0 : -1;
}

int
ust_sock_local_match(const struct ust_sock *s, const uint8_t dst[16])
{
	return match(s, s->local.addr6, dst);
}

int
ust_sock_peer_addr_ok(const struct ust_sock *s, const struct ust_sockaddr *a)
{
	bool v4 = ust_ip_is_v4(a->addr6);
	if (s->family == UST_AF_INET6 && s->v6only && v4)
		return -ENETUNREACH;
	if (!ust_ip_is_unspec(s->local.addr6) && ust_ip_is_v4(s->local.addr6) != v4)
		return -ENETUNREACH;
	return 0;
}

/* Whether a wildcard takes IPv4 at all. */
static bool
covers_v4(const struct ust_sock *s, const uint8_t a[16])
{
	if (ust_ip_eq(a, ust_ip_any6))
		return s->family == UST_AF_INET6 && !s->v6only;
	return ust_ip_is_v4(a);
}

bool
ust_sock_addrs_overlap(const struct ust_sock *me, const uint8_t addr[16],
		       const struct ust_sock *other)
{
	const uint8_t *o = other->local.addr6;
	bool me_wild = ust_ip_is_unspec(addr), o_wild = ust_ip_is_unspec(o);
	if (!me_wild && !o_wild)
		return ust_ip_eq(addr, o);
	if (!me_wild)
		return match(other, o, addr) >= 0;
	if (!o_wild)
		return match(me, addr, o) >= 0;
	/* Two wildcards share IPv6 if both are ::, IPv4 if both take it. */
	if (ust_ip_eq(addr, ust_ip_any6) && ust_ip_eq(o, ust_ip_any6))
		return true;
	return covers_v4(me, addr) && covers_v4(other, o);
}

int
ust_sock_open_proto(struct ust_stack *st, int family, int type, int protocol,
		    struct ust_sock **out)
{
	if (family != UST_AF_INET && family != UST_AF_INET6)
		return -EAFNOSUPPORT;
	switch (type) {
	case UST_SOCK_STREAM:
		if (protocol != 0 && protocol != UST_IPPROTO_TCP)
			return -EPROTONOSUPPORT;
		return ust_tcp_sock_create(st, family, out);
	case UST_SOCK_DGRAM:
		if (protocol == 0 || protocol == UST_IPPROTO_UDP)
			return ust_udp_sock_create(st, family, out);
		return ust_raw_sock_create(st, family, type, protocol, out);
	case UST_SOCK_RAW:
		return ust_raw_sock_create(st, family, type, protocol, out);
	default:
		return -ESOCKTNOSUPPORT;
	}
}

int
ust_sock_open(struct ust_stack *st, int family, int type, struct ust_sock **out)
{
	return ust_sock_open_proto(st, family, type, 0, out);
}

static int
check_addr(const struct ust_sock *s, const struct ust_sockaddr *a)
{
	if (a == NULL)
		return -EFAULT;
	if (a->family != s->family)
		return -EAFNOSUPPORT;
	return 0;
}

int
ust_sock_bind(struct ust_sock *s, const struct ust_sockaddr *a)
{
	int rc = check_addr(s, a);
	if (rc < 0)
		return rc;
	/* inet_bind's order: the address, the right to a low port, then
	 * whether the socket or the port is taken. Multicast and broadcast
	 * addresses are bindable, any address with IP_FREEBIND. */
	struct ust_stack *st = s->stack;
	struct ust_sockaddr c = *a;
	ust_sockaddr_canon(&c);
	/* inet6_bind: an IPv4-mapped address on a V6ONLY socket is EINVAL. */
	if (s->family == UST_AF_INET6 && s->v6only && ust_ip_is_v4(c.addr6))
		return -EINVAL;
	bool v4 = ust_ip_is_v4(c.addr6);
	bool group = v4 ? ust_ipv4_is_bcast(st, c.addr4) || ust_ipv4_is_mcast(c.addr4)
			: ust_ipv6_is_mcast(c.addr6);
	bool ours = ust_ip_is_unspec(c.addr6) || ust_ip_is_local(st, c.addr6) || group || s->freebind ||
		    s->transparent;
	bool low = a->port != 0 && a->port < st->caller.bind_min_port;
	/* inet6_bind's order differs: the low port first, and for an IPv6
	 * address whether the socket is bound before whether it is ours. */
	if (s->family == UST_AF_INET6) {
		if (low)
			return -EACCES;
		if (!v4 && s->bound)
			return -EINVAL;
		/* __inet6_bind: a link-scope address needs its interface, which
		 * must exist; it is ours only on the port (lo has none). */
		if (!v4 && ust_ip_needs_scope(c.addr6)) {
			if (c.scope_id == 0)
				return -EINVAL;
			int rc = ust_ip_scope_check(st, c.scope_id);
			if (rc < 0)
				return rc;
			if (c.scope_id != st->cfg.ifindex)
				ours = group || s->freebind || s->transparent;
		}
	}
	if (!ours)
		return -EADDRNOTAVAIL;
	if (low)
		return -EACCES;
	if (s->bound)
		return -EINVAL;
	return s->proto->bind(s, &c);
}

int
ust_sock_listen(struct ust_sock *s, int backlog)
{
	if (s->type != UST_SOCK_STREAM)
		return -EOPNOTSUPP;
	return s->proto->listen(s, backlog);
}

int
ust_sock_accept(struct ust_sock *s, struct ust_sock **out, struct ust_sockaddr *peer)
{
	if (s->type != UST_SOCK_STREAM)
		return -EOPNOTSUPP;
	int rc = s->proto->accept(s, out);
	if (rc == 0 && peer != NULL) {
		*peer = (*out)->remote;
		ust_sockaddr_scope(s->stack, peer);
	}
	return rc;
}

/* A link-scope destination goes out of the interface its scope id names
 * (or the socket's link-local bind names, sk_bound_dev_if): a scope id
 * other than that bind's is EINVAL (sk_dev_equal_l3scope); none at all is
 * EINVAL where Linux needs one, `need` (connect: tcp_v6_connect,
 * __ip6_datagram_connect; a ping socket's send: ping_v6_sendmsg), else
 * the port, the one interface with link-local routes; an interface that
 * does not exist, or lo, has no route there (ip6_dst_lookup_flow:
 * ENETUNREACH). A stream to a multicast group is TCP's to refuse. */
static int
scope_route(const struct ust_sock *s, const struct ust_sockaddr *a, bool need)
{
	if (a->family != UST_AF_INET6 || !ust_ip_needs_scope(a->addr6) ||
	    (s->type == UST_SOCK_STREAM && ust_ipv6_is_mcast(a->addr6)))
		return 0;
	uint32_t port = s->stack->cfg.ifindex;
	uint32_t bound = s->bound && ust_ip_needs_scope(s->local.addr6) ? port : 0;
	if (a->scope_id != 0 && bound != 0 && a->scope_id != bound)
		return -EINVAL;
	uint32_t oif = a->scope_id != 0 ? a->scope_id : bound;
	if (oif == 0)
		return need ? -EINVAL : 0;
	return oif == port ? 0 : -ENETUNREACH;
}

/* A datagram socket refused for its destination still got its port first
 * (inet_dgram_connect's and inet_send_prepare's autobind). */
static int
dgram_refused(struct ust_sock *s, int rc)
{
	if (s->type == UST_SOCK_DGRAM && !s->bound) {
		struct ust_sockaddr any = ust_sockaddr_any(s->family);
		ust_sock_bind(s, &any);
	}
	return rc;
}

static bool
is_ping(const struct ust_sock *s)
{
	return s->type == UST_SOCK_DGRAM && s->family == UST_AF_INET6 && s->protocol == UST_IPPROTO_ICMPV6;
}

int
ust_sock_connect(struct ust_sock *s, const struct ust_sockaddr *a)
{
	/* AF_UNSPEC dissolves the association (man 2 connect); a stream is
	 * reset. */
	if (a != NULL && a->family == 0)
		return s->proto->connect(s, a);
	int rc = check_addr(s, a);
	if (rc < 0)
		return rc;
	struct ust_sockaddr c = *a;
	ust_sockaddr_canon(&c);
	rc = scope_route(s, &c, true);
	if (rc < 0)
		return dgram_refused(s, rc);
	return s->proto->connect(s, &c);
}

ssize_t
ust_sock_send(struct ust_sock *s, const void *buf, size_t len, int flags)
{
	return s->proto->sendto(s, buf, len, flags, NULL);
}

ssize_t
ust_sock_sendto(struct ust_sock *s, const void *buf, size_t len, int flags,
		const struct ust_sockaddr *to)
{
	return ust_sock_sendmsg(s, buf, len, flags, to, NULL);
}

ssize_t
ust_sock_sendmsg(struct ust_sock *s, const void *buf, size_t len, int flags,
		 const struct ust_sockaddr *to, const struct ust_sock_txinfo *tx)
{
	struct ust_sockaddr c;
	if (to != NULL) {
		c = *to;
		ust_sockaddr_canon(&c);
		int rc = c.family == s->family ? scope_route(s, &c, is_ping(s)) : 0;
		if (rc < 0)
			return dgram_refused(s, rc);
		to = &c;
	}
	s->tx = tx;
	ssize_t rc = s->proto->sendto(s, buf, len, flags, to);
	s->tx = NULL;
	return rc;
}

ssize_t
ust_sock_send_oversize(struct ust_sock *s, const struct ust_sockaddr *to)
{
	struct ust_sockaddr c = {0};
	if (to != NULL) {
		c = *to;
		ust_sockaddr_canon(&c);
	} else if (s->connected) {
		c = s->remote;
	}
	if (s->proto == &ust_udp_proto && c.family == UST_AF_INET6 && c.port != 0 &&
	    !ust_ip_is_v4(c.addr6))
		ust_sock_local_error(s, EMSGSIZE, c.addr6, c.port,
				     ust_ip_mtu_payload(s->stack, c.addr6) + UST_IPV6_HLEN);
	return -EMSGSIZE;
}

ssize_t
ust_sock_recv(struct ust_sock *s, void *buf, size_t len, int flags)
{
	return s->proto->recvfrom(s, buf, len, flags, NULL);
}

ssize_t
ust_sock_recvfrom(struct ust_sock *s, void *buf, size_t len, int flags, struct ust_sockaddr *from)
{
	ssize_t n = s->proto->recvfrom(s, buf, len, flags, from);
	if (n >= 0 && from != NULL)
		ust_sockaddr_scope(s->stack, from);
	return n;
}

int
ust_sock_shutdown(struct ust_sock *s, int how)
{
	if (how < UST_SHUT_RD || how > UST_SHUT_RDWR)
		return -EINVAL;
	return s->proto->shutdown(s, how);
}

void
ust_sock_close(struct ust_sock *s)
{
	s->on_event = NULL;
	s->proto->close(s);
}

int
ust_sockopt_get_int(const void *val, size_t len, int *out)
{
	if (len < sizeof(int))
		return -EINVAL;
	memcpy(out, val, sizeof(int));
	return 0;
}

int
ust_sockopt_put_int(void *val, size_t *len, int v)
{
	if (*len > sizeof(int))
		*len = sizeof(int);
	memcpy(val, &v, *len);
	return 0;
}

/* IP-level options, the same for every protocol (ip_setsockopt). */
static int
ip_setopt(struct ust_sock *s, int name, const void *val, size_t len)
{
	/* Linux takes an int, or one byte from a shorter value; no value at
	 * all counts as 0. */
	int v = 0;
	if (len >= sizeof(int))
		memcpy(&v, val, sizeof(int));
	else if (len >= 1)
		v = *(const uint8_t *)val;
	switch (name) {
	case UST_IP_FREEBIND:
		s->freebind = v != 0;
		return 0;
	case UST_IP_PKTINFO:
	case UST_IP_RECVTTL:
	case UST_IP_RECVTOS: {
		uint8_t bit = name == UST_IP_PKTINFO ? UST_SOCK_RX_PKTINFO
			      : name == UST_IP_RECVTTL ? UST_SOCK_RX_TTL
						       : UST_SOCK_RX_TOS;
		s->rx_cmsgs = (uint16_t)(v != 0 ? s->rx_cmsgs | bit : s->rx_cmsgs & ~bit);
		return 0;
	}
	case UST_IP_TRANSPARENT:
		if (v != 0 && !s->stack->caller.net_admin && !s->stack->caller.net_raw)
			return -EPERM;
		s->transparent = v != 0;
		return 0;
	case UST_IP_TTL:
		if (len < 1)
			return -EINVAL;
		if (v == -1)
			v = 0;
		else if (v < 1 || v > 255)
			return -EINVAL;
		s->ip_ttl = (uint8_t)v;
		return 0;
	case UST_IP_RECVERR:
		/* Turning it off empties the queue (ip_setsockopt). */
		s->recverr = v != 0;
		if (!s->recverr)
			ust_sock_err_purge(s);
		return 0;
	case UST_IP_TOS:
		/* A stream keeps its ECN bits: TCP owns them (RFC 3168). */
		if (s->type == UST_SOCK_STREAM)
			v = (v & ~3) | (s->ip_tos & 3);
		s->ip_tos = (uint8_t)v;
		return 0;
	case UST_IP_MTU_DISCOVER:
		if (v < UST_IP_PMTUDISC_DONT || v > UST_IP_PMTUDISC_OMIT)
			return -EINVAL;
		s->ip_pmtudisc = (uint8_t)v;
		return 0;
	default:
		return -ENOPROTOOPT;
	}
}

static int
ip_getopt(const struct ust_sock *s, int name, void *val, size_t *len)
{
	switch (name) {
	case UST_IP_FREEBIND:
		return ust_sockopt_put_int(val, len, s->freebind);
	case UST_IP_PKTINFO:
		return ust_sockopt_put_int(val, len, (s->rx_cmsgs & UST_SOCK_RX_PKTINFO) != 0);
	case UST_IP_RECVTTL:
		return ust_sockopt_put_int(val, len, (s->rx_cmsgs & UST_SOCK_RX_TTL) != 0);
	case UST_IP_RECVTOS:
		return ust_sockopt_put_int(val, len, (s->rx_cmsgs & UST_SOCK_RX_TOS) != 0);
	case UST_IP_TRANSPARENT:
		return ust_sockopt_put_int(val, len, s->transparent);
	case UST_IP_TTL:
		return ust_sockopt_put_int(val, len, s->ip_ttl != 0 ? s->ip_ttl : UST_IP_DEFAULT_TTL);
	case UST_IP_TOS:
		return ust_sockopt_put_int(val, len, s->ip_tos);
	case UST_IP_MTU_DISCOVER:
		return ust_sockopt_put_int(val, len, s->ip_pmtudisc);
	case UST_IP_MTU:
		if (!s->connected)
			return -ENOTCONN;
		return ust_sockopt_put_int(val, len, ust_ip_pmtu(s->stack, s->remote.addr6));
	case UST_IP_RECVERR:
		return ust_sockopt_put_int(val, len, s->recverr);
	default:
		return -ENOPROTOOPT;
	}
}

/* IPv6-level options (do_ipv6_setsockopt); an AF_INET socket has none. */
static int
ip6_setopt(struct ust_sock *s, int name, const void *val, size_t len)
{
	int v;
	if (s->family != UST_AF_INET6)
		return -ENOPROTOOPT;
	if (ust_sockopt_get_int(val, len, &v) < 0)
		return -EINVAL;
	switch (name) {
	case UST_IPV6_V6ONLY:
		/* Fixed once the socket has an address (Linux: EINVAL). */
		if (s->bound)
			return -EINVAL;
		s->v6only = v != 0;
		return 0;
	case UST_IPV6_RECVERR:
		s->recverr6 = v != 0;
		if (!s->recverr6)
			ust_sock_err_purge(s);
		return 0;
	case UST_IPV6_RECVHOPLIMIT:
	case UST_IPV6_RECVPKTINFO:
	case UST_IPV6_RECVTCLASS: {
		uint16_t bit = name == UST_IPV6_RECVHOPLIMIT ? UST_SOCK_RX_HOPLIMIT
			       : name == UST_IPV6_RECVPKTINFO ? UST_SOCK_RX_PKTINFO6
							       : UST_SOCK_RX_TCLASS;
		s->rx_cmsgs = (uint16_t)(v != 0 ? s->rx_cmsgs | bit : s->rx_cmsgs & ~bit);
		return 0;
	}
	case UST_IPV6_2292HOPLIMIT:
		s->recvhoplimit2292 = v != 0;
		return 0;
	case UST_IPV6_MTU_DISCOVER:
		if (v < UST_IP_PMTUDISC_DONT || v > UST_IP_PMTUDISC_OMIT)
			return -EINVAL;
		s->ip6_pmtudisc = (uint8_t)v;
		return 0;
	case UST_IPV6_UNICAST_HOPS:
		if (v < -1 || v > 255)
			return -EINVAL;
		s->ip_ttl = (uint8_t)(v == -1 ? 0 : v);
		return 0;
	case UST_IPV6_TCLASS:
		if (v < -1 || v > 255)
			return -EINVAL;
		if (v == -1)
			v = 0;
		if (s->type == UST_SOCK_STREAM)
			v = (v & ~3) | (s->ip_tos & 3);
		s->ip_tos = (uint8_t)v;
		return 0;
	default:
		return -ENOPROTOOPT;
	}
}

static int
ip6_getopt(const struct ust_sock *s, int name, void *val, size_t *len)
{
	if (s->family != UST_AF_INET6)
		return -EOPNOTSUPP;
	switch (name) {
	case UST_IPV6_V6ONLY:
		return ust_sockopt_put_int(val, len, s->v6only);
	case UST_IPV6_UNICAST_HOPS:
		return ust_sockopt_put_int(val, len, s->ip_ttl != 0 ? s->ip_ttl : UST_IP6_DEFAULT_HLIM);
	case UST_IPV6_TCLASS:
		return ust_sockopt_put_int(val, len, s->ip_tos);
	case UST_IPV6_RECVERR:
		return ust_sockopt_put_int(val, len, s->recverr6);
	case UST_IPV6_RECVHOPLIMIT:
		return ust_sockopt_put_int(val, len, (s->rx_cmsgs & UST_SOCK_RX_HOPLIMIT) != 0);
	case UST_IPV6_RECVPKTINFO:
		return ust_sockopt_put_int(val, len, (s->rx_cmsgs & UST_SOCK_RX_PKTINFO6) != 0);
	case UST_IPV6_RECVTCLASS:
		return ust_sockopt_put_int(val, len, (s->rx_cmsgs & UST_SOCK_RX_TCLASS) != 0);
	case UST_IPV6_2292HOPLIMIT:
		return ust_sockopt_put_int(val, len, s->recvhoplimit2292);
	case UST_IPV6_MTU_DISCOVER:
		return ust_sockopt_put_int(val, len, s->ip6_pmtudisc);
	case UST_IPV6_MTU:
		if (!s->connected)
			return -ENOTCONN;
		return ust_sockopt_put_int(val, len, ust_ip_mtu_payload(s->stack, s->remote.addr6) +
							     (ust_ip_is_v4(s->remote.addr6) ? UST_IPV4_HLEN
											    : UST_IPV6_HLEN));
	default:
		return -ENOPROTOOPT;
	}
}

#define STREAM_RCVLOWAT_MAX (2 << 20) /* tcp_set_rcvlowat: half of tcp_rmem's maximum */

/* SOL_SOCKET options every socket keeps the same way (sk_setsockopt).
 * The kernel's qdisc and netfilter read SO_PRIORITY and SO_MARK; ustack
 * has neither, so they are kept for the program to read back. */
static int
sol_setopt(struct ust_sock *s, int name, int v)
{
	const struct ust_sock_cred *c = &s->stack->caller;
	switch (name) {
	case UST_SO_BROADCAST:
		s->broadcast = v != 0;
		return 0;
	case UST_SO_DONTROUTE:
		s->dontroute = v != 0;
		return 0;
	case UST_SO_RCVLOWAT:
		if (v < 0 || (s->type == UST_SOCK_STREAM && v > STREAM_RCVLOWAT_MAX))
			v = s->type == UST_SOCK_STREAM ? STREAM_RCVLOWAT_MAX : INT32_MAX;
		s->rcvlowat = v != 0 ? v : 1;
		return 0;
	case UST_SO_PRIORITY:
		if ((v < 0 || v > 6) && !c->net_admin && !c->net_raw)
			return -EPERM;
		s->priority = v;
		return 0;
	case UST_SO_MARK:
		if (!c->net_admin && !c->net_raw)
			return -EPERM;
		s->mark = (uint32_t)v;
		return 0;
	default:
		/* SO_TIMESTAMP or SO_TIMESTAMPNS: one replaces the other, and
		 * turning either off stops both (sock_set_timestamp). */
		s->rx_cmsgs &= (uint16_t)~(UST_SOCK_RX_TIMESTAMP | UST_SOCK_RX_TIMESTAMPNS);
		if (v != 0)
			s->rx_cmsgs |= name == UST_SO_TIMESTAMP ? UST_SOCK_RX_TIMESTAMP : UST_SOCK_RX_TIMESTAMPNS;
		return 0;
	}
}

/* The level a protocol's own options live at. */
static int
proto_level(const struct ust_sock *s)
{
	return s->type == UST_SOCK_STREAM ? UST_SOL_TCP : UST_SOL_UDP;
}

int
ust_sock_setopt(struct ust_sock *s, int level, int name, const void *val, size_t len)
{
	int v;
	if (val == NULL)
		return -EFAULT;
	if (level == UST_SOL_SOCKET) {
		switch (name) {
		case UST_SO_REUSEADDR:
		case UST_SO_REUSEPORT:
		case UST_SO_KEEPALIVE:
			if (ust_sockopt_get_int(val, len, &v) < 0)
				return -EINVAL;
			if (name == UST_SO_REUSEADDR)
				s->reuseaddr = v != 0;
			else if (name == UST_SO_REUSEPORT)
				s->reuseport = v != 0;
			else
				s->keepalive = v != 0;
			/* The protocol sees every option too (keepalive arms timers). */
			return s->proto->setopt(s, level, name, val, len);
		case UST_SO_OOBINLINE:
			if (ust_sockopt_get_int(val, len, &v) < 0)
				return -EINVAL;
			s->oobinline = v != 0;
			return 0;
		case UST_SO_RCVLOWAT:
			if (ust_sockopt_get_int(val, len, &v) < 0)
				return -EINVAL;
			sol_setopt(s, name, v);
			/* A stream's readiness depends on it (tcp_set_rcvlowat). */
			return s->type == UST_SOCK_STREAM ? s->proto->setopt(s, level, name, val, len) : 0;
		case UST_SO_BROADCAST:
		case UST_SO_DONTROUTE:
		case UST_SO_PRIORITY:
		case UST_SO_MARK:
		case UST_SO_TIMESTAMP:
		case UST_SO_TIMESTAMPNS:
			if (ust_sockopt_get_int(val, len, &v) < 0)
				return -EINVAL;
			return sol_setopt(s, name, v);
		case UST_SO_RCVBUFFORCE:
		case UST_SO_SNDBUFFORCE:
			if (!s->stack->caller.net_admin)
				return -EPERM;
			return s->proto->setopt(s, level, name, val, len);
		case UST_SO_SNDLOWAT:
			return -ENOPROTOOPT; /* fixed at 1 (sock_setsockopt) */
		case UST_SO_TYPE:
		case UST_SO_ERROR:
		case UST_SO_DOMAIN:
		case UST_SO_PROTOCOL:
		case UST_SO_ACCEPTCONN:
			return -ENOPROTOOPT;
		default:
			break;
		}
	} else if (s->type == UST_SOCK_RAW && ((level == UST_SOL_IP && name == UST_IP_HDRINCL) ||
						(level == UST_SOL_IPV6 && name == UST_IPV6_CHECKSUM))) {
		return s->proto->setopt(s, level, name, val, len);
	} else if (level == UST_SOL_IP) {
		return ip_setopt(s, name, val, len);
	} else if (level == UST_SOL_IPV6) {
		return ip6_setopt(s, name, val, len);
	} else if (s->type != UST_SOCK_RAW && level != proto_level(s)) {
		return -ENOPROTOOPT;
	}
	return s->proto->setopt(s, level, name, val, len);
}

int
ust_sock_getopt(struct ust_sock *s, int level, int name, void *val, size_t *len)
{
	if (val == NULL || len == NULL)
		return -EFAULT;
	if (level == UST_SOL_SOCKET) {
		switch (name) {
		case UST_SO_TYPE:
			return ust_sockopt_put_int(val, len, s->type);
		case UST_SO_ERROR: {
			int e = -ust_sock_take_error(s);
			/* Reading it ends EPOLLERR, unless the error queue holds more. */
			err_notify(s);
			return ust_sockopt_put_int(val, len, e);
		}
		case UST_SO_REUSEADDR:
			return ust_sockopt_put_int(val, len, s->reuseaddr);
		case UST_SO_REUSEPORT:
			return ust_sockopt_put_int(val, len, s->reuseport);
		case UST_SO_KEEPALIVE:
			return ust_sockopt_put_int(val, len, s->keepalive);
		case UST_SO_OOBINLINE:
			return ust_sockopt_put_int(val, len, s->oobinline);
		case UST_SO_DOMAIN:
			return ust_sockopt_put_int(val, len, s->family);
		case UST_SO_PROTOCOL:
			return ust_sockopt_put_int(val, len,
						   s->protocol != 0 ? s->protocol
						   : s->type == UST_SOCK_STREAM ? 6 : 17);
		case UST_SO_ACCEPTCONN:
			return ust_sockopt_put_int(val, len, s->listening);
		case UST_SO_BROADCAST:
			return ust_sockopt_put_int(val, len, s->broadcast);
		case UST_SO_DONTROUTE:
			return ust_sockopt_put_int(val, len, s->dontroute);
		case UST_SO_RCVLOWAT:
			return ust_sockopt_put_int(val, len, s->rcvlowat);
		case UST_SO_SNDLOWAT:
			return ust_sockopt_put_int(val, len, 1);
		case UST_SO_PRIORITY:
			return ust_sockopt_put_int(val, len, s->priority);
		case UST_SO_MARK:
			return ust_sockopt_put_int(val, len, (int)s->mark);
		case UST_SO_TIMESTAMP:
			return ust_sockopt_put_int(val, len, (s->rx_cmsgs & UST_SOCK_RX_TIMESTAMP) != 0);
		case UST_SO_TIMESTAMPNS:
			return ust_sockopt_put_int(val, len, (s->rx_cmsgs & UST_SOCK_RX_TIMESTAMPNS) != 0);
		default:
			break;
		}
	} else if (s->type == UST_SOCK_RAW && ((level == UST_SOL_IP && name == UST_IP_HDRINCL) ||
						(level == UST_SOL_IPV6 && name == UST_IPV6_CHECKSUM))) {
		return s->proto->getopt(s, level, name, val, len);
	} else if (level == UST_SOL_IP) {
		return ip_getopt(s, name, val, len);
	} else if (level == UST_SOL_IPV6) {
		return ip6_getopt(s, name, val, len);
	} else if (s->type != UST_SOCK_RAW && level != proto_level(s)) {
		/* Linux: ip_getsockopt refuses a level it does not know. */
		return -EOPNOTSUPP;
	}
	return s->proto->getopt(s, level, name, val, len);
}

int
ust_sock_getname(const struct ust_sock *s, struct ust_sockaddr *a)
{
	*a = s->local;
	a->family = s->family;
	ust_sockaddr_scope(s->stack, a);
	return 0;
}

int
ust_sock_getpeer(const struct ust_sock *s, struct ust_sockaddr *a)
{
	if (!s->connected)
		return -ENOTCONN;
	*a = s->remote;
	ust_sockaddr_scope(s->stack, a);
	return 0;
}

size_t
ust_sock_nread(const struct ust_sock *s)
{
	return s->proto->nread(s);
}

int
ust_sock_rxinfo(const struct ust_sock *s, struct ust_sock_rxinfo *out)
{
	if (s->proto->rxinfo == NULL)
		return -EOPNOTSUPP;
	return s->proto->rxinfo(s, out);
}

size_t
ust_sock_outq(const struct ust_sock *s)
{
	return s->proto->nunacked(s);
}

void
ust_sock_set_mem(struct ust_sock *s, const struct ust_sock_mem *mem)
{
	s->mem = mem;
}

int
ust_sock_rehome(struct ust_sock *s, const struct ust_sock_mem *mem)
{
	if (s->proto->rehome == NULL) {
		s->mem = mem;
		return 0;
	}
	return s->proto->rehome(s, mem);
}

ssize_t
ust_sock_recv_spans(struct ust_sock *s, size_t max, struct ust_sock_span *sp)
{
	if (s->proto->recv_spans == NULL)
		return -EOPNOTSUPP;
	return s->proto->recv_spans(s, max, sp);
}

void
ust_sock_recv_consume(struct ust_sock *s, size_t n)
{
	s->proto->recv_consume(s, n);
}

ssize_t
ust_sock_send_spans(struct ust_sock *s, size_t max, struct ust_sock_span *sp)
{
	if (s->proto->send_spans == NULL)
		return -EOPNOTSUPP;
	return s->proto->send_spans(s, max, sp);
}

void
ust_sock_send_commit(struct ust_sock *s, size_t n, int flags)
{
	s->proto->send_commit(s, n, flags);
}

uint32_t
ust_sock_events(const struct ust_sock *s)
{
	return s->events;
}

void
ust_sock_set_callback(struct ust_sock *s, ust_sock_event_fn *fn, void *arg)
{
	s->on_event = fn;
	s->cb_arg = arg;
}

void
ust_sock_notify(struct ust_sock *s, uint32_t events)
{
	if (events == s->events && !s->arrival)
		return;
	s->arrival = false;
	s->events = events;
	if (s->on_event != NULL)
		s->on_event(s, events, s->cb_arg);
}

void
ust_sock_arrived(struct ust_sock *s)
{
	s->arrival = true;
}

void
ust_sock_list_add(struct ust_sock **head, struct ust_sock *s)
{
	s->all_prev = NULL;
	s->all_next = *head;
	if (*head != NULL)
		(*head)->all_prev = s;
	*head = s;
}

void
ust_sock_list_del(struct ust_sock **head, struct ust_sock *s)
{
	if (s->all_prev != NULL)
		s->all_prev->all_next = s->all_next;
	else
		*head = s->all_next;
	if (s->all_next != NULL)
		s->all_next->all_prev = s->all_prev;
}

struct ust_sock_errq {
	struct ust_sock_errq *next; /* the next newer entry */
	struct ust_sock_ee ee;      /* what recvmsg's control message says */
	uint32_t len;               /* bytes of data[] */
	uint8_t data[];             /* the quoted datagram from its payload on */
};

uint32_t
ust_sock_err_events(const struct ust_sock *s)
{
	return s->so_error != 0 || s->errq != NULL ? UST_EV_ERR : 0;
}

/* The error bit follows so_error and the queue; the rest is the protocol's. */
static void
err_notify(struct ust_sock *s)
{
	ust_sock_notify(s, (s->events & ~(uint32_t)UST_EV_ERR) | ust_sock_err_events(s));
}

static bool
wants_err(const struct ust_sock *s, const uint8_t dst[16])
{
	return ust_ip_is_v4(dst) ? s->recverr : s->recverr6;
}

static void
err_queue(struct ust_sock *s, const struct ust_sock_ee *ee, const uint8_t *quote, size_t len)
{
	size_t bytes = sizeof(struct ust_sock_errq) + len;
	/* sock_queue_err_skb: the queue shares the receive buffer's limit. */
	if (s->errq_bytes + bytes > s->rcvbuf_bytes)
		return;
	struct ust_sock_errq *q = malloc(bytes);
	if (q == NULL)
		return;
	q->next = NULL;
	q->ee = *ee;
	q->len = (uint32_t)len;
	if (len > 0)
		memcpy(q->data, quote, len);
	if (s->errq_tail != NULL)
		s->errq_tail->next = q;
	else
		s->errq = q;
	s->errq_tail = q;
	s->errq_bytes += (uint32_t)bytes;
}

void
ust_sock_icmp_error(struct ust_sock *s, const struct ust_sock_ee *ee, bool hard,
		    const uint8_t *quote, size_t len)
{
	if (wants_err(s, ee->dst))
		err_queue(s, ee, quote, len);
	else if (!hard || !s->connected)
		return;
	s->so_error = (int)ee->err;
	ust_sock_arrived(s);
	err_notify(s);
}

void
ust_sock_local_error(struct ust_sock *s, int err, const uint8_t dst[16], uint16_t port,
		     uint32_t info)
{
	if (!wants_err(s, dst))
		return;
	struct ust_sock_ee ee = {.err = (uint32_t)err, .origin = UST_EE_ORIGIN_LOCAL, .info = info,
				 .port = port};
	memcpy(ee.dst, dst, 16);
	err_queue(s, &ee, NULL, 0);
	ust_sock_arrived(s);
	err_notify(s);
}

int
ust_sock_take_error(struct ust_sock *s)
{
	int e = s->so_error;
	if (e == 0)
		return 0;
	s->so_error = 0;
	err_notify(s);
	return -e;
}

ssize_t
ust_sock_recv_err(struct ust_sock *s, void *buf, size_t len, struct ust_sock_ee *ee, bool *trunc)
{
	struct ust_sock_errq *q = s->errq;
	if (q == NULL)
		return -EAGAIN;
	s->errq = q->next;
	if (s->errq == NULL)
		s->errq_tail = NULL;
	s->errq_bytes -= (uint32_t)(sizeof(*q) + q->len);
	size_t n = q->len < len ? q->len : len;
	memcpy(buf, q->data, n);
	*ee = q->ee;
	*trunc = n < q->len;
	/* sock_dequeue_err_skb: so_error becomes the next ICMP error's, or
	 * nothing once an ICMP error leaves with none behind it. */
	bool icmp = q->ee.origin != UST_EE_ORIGIN_LOCAL;
	if (s->errq != NULL && s->errq->ee.origin != UST_EE_ORIGIN_LOCAL)
		s->so_error = (int)s->errq->ee.err;
	else if (icmp)
		s->so_error = 0;
	free(q);
	err_notify(s);
	return (ssize_t)n;
}

void
ust_sock_err_purge(struct ust_sock *s)
{
	while (s->errq != NULL) {
		struct ust_sock_errq *q = s->errq;
		s->errq = q->next;
		free(q);
	}
	s->errq_tail = NULL;
	s->errq_bytes = 0;
}

void
ust_stack_foreach_sock(struct ust_stack *st, ust_sock_info_fn *fn, void *arg)
{
	ust_tcp_foreach(st, fn, arg);
	ust_udp_foreach(st, fn, arg);
}
