/*
 * What IPv4 and IPv6 share, so UDP and TCP are written once for both.
 *
 * Addresses of either family have one shape inside the stack: 16 bytes in
 * wire order, IPv4 as the mapped address ::ffff:a.b.c.d (RFC 4291 2.5.5.2).
 * One compare, one hash and one table then serve both families, and a
 * dual-stack socket's IPv4 peers look the way getpeername() shows them.
 *
 * Entry points: the address helpers below; ust_ip_output and
 * ust_ip_mtu_payload, which pick ipv4.c or ipv6.c from the destination;
 * ust_ip_source (the address a reply or a connection leaves from);
 * ust_ip_send_unreach (port/protocol unreachable in the datagram's family).
 * Not here: anything that parses a header (wire/) or keeps state.
 */
#ifndef UST_IP_H
#define UST_IP_H

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "sock.h"
#include "stack.h"
#include "wire/ipv4.h"

struct ust_ipv6_view;

/* What L4 is told about the datagram it was handed. */
struct ust_ip_info {
	uint8_t family;    /* UST_AF_INET or UST_AF_INET6: the datagram's, not a socket's */
	uint8_t proto;     /* upper-layer protocol */
	uint8_t hlim;      /* TTL or hop limit as received */
	uint8_t tclass;    /* TOS or traffic class */
	bool bcast;        /* to an IPv4 broadcast or any multicast address */
	uint8_t src[16];   /* source, IPv4 mapped */
	uint8_t dst[16];   /* destination, IPv4 mapped */
	const struct ust_ipv4_view *v4; /* the IPv4 header, or NULL */
	const struct ust_ipv6_view *v6; /* the IPv6 header, or NULL */
};

/* An ICMP or ICMPv6 error about a datagram we sent, for L4 (icmp.c and
 * icmp6.c fill it; the quote's framing is checked, its lengths are not). */
struct ust_ip_err {
	struct ust_sock_ee ee; /* errno, origin, type, code, info, offender, dst (port: L4's) */
	bool hard;             /* icmp_err_convert's "fatal": a connected socket is told */
	const uint8_t *quote;  /* the quoted datagram from its IP header on */
	size_t len;            /* bytes quoted */
	size_t l4_off;         /* where its L4 header starts (at least 8 bytes of it quoted) */
};

/* How L4 asks for a datagram to be sent. */
struct ust_ip_tx {
	uint8_t src[16];    /* source; an unspecified address picks one for dst */
	uint8_t dst[16];    /* destination, IPv4 mapped */
	uint8_t proto;      /* upper-layer protocol */
	uint8_t hlim;       /* TTL or hop limit, 0 = the default */
	uint8_t tclass;     /* TOS or traffic class */
	bool df;            /* IPv4: don't fragment (IPv6 routers never fragment) */
	uint32_t flowlabel; /* IPv6 flow label, 20 bits */
};

static const uint8_t ust_ip_any6[16];
static const uint8_t ust_ip_any4[16] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0, 0, 0, 0};

static inline bool
ust_ip_is_v4(const uint8_t a[16])
{
	return memcmp(a, ust_ip_any4, 12) == 0;
}

static inline uint32_t
ust_ip_v4(const uint8_t a[16])
{
	return (uint32_t)a[12] << 24 | (uint32_t)a[13] << 16 | (uint32_t)a[14] << 8 | a[15];
}

static inline void
ust_ip_set_v4(uint8_t a[16], uint32_t v4)
{
	memcpy(a, ust_ip_any4, 12);
	a[12] = (uint8_t)(v4 >> 24);
	a[13] = (uint8_t)(v4 >> 16);
	a[14] = (uint8_t)(v4 >> 8);
	a[15] = (uint8_t)v4;
}

/* :: or 0.0.0.0 (as ::ffff:0.0.0.0): no address chosen. */
static inline bool
ust_ip_is_unspec(const uint8_t a[16])
{
	return memcmp(a, ust_ip_any6, 16) == 0 || memcmp(a, ust_ip_any4, 16) == 0;
}

static inline bool
ust_ip_eq(const uint8_t a[16], const uint8_t b[16])
{
	return memcmp(a, b, 16) == 0;
}

/* Fill addr6 from addr4 for AF_INET, addr4 from a mapped addr6 for
 * AF_INET6 (0 otherwise), so either field can be read. */
void ust_sockaddr_canon(struct ust_sockaddr *a);
/* The unspecified address of a family, port 0. */
struct ust_sockaddr ust_sockaddr_any(int family);
/* Set the address of `a` from the 16-byte form, both fields. */
void ust_sockaddr_set_ip(struct ust_sockaddr *a, const uint8_t ip[16]);
/* What recvmsg()'s control messages tell of a datagram whose IP header
 * is `ip` (IPv4 or IPv6): its destination, TTL or hop limit, TOS or class,
 * and the interface (the loopback path brings one from our own address;
 * the port's input drops those). */
void ust_ip_rxinfo(const struct ust_stack *st, const uint8_t *ip, struct ust_sock_rxinfo *out);
/* A datagram's header from its socket and this sendmsg()'s control
 * messages (s->tx): the source (the socket's, the route's, or one of ours
 * named by IP_PKTINFO/IPV6_PKTINFO), TTL or hop limit, TOS or class. Sets
 * tx->src, dst, hlim and tclass; 0, -EINVAL (a source not ours) or the
 * route's error. */
int ust_ip_sock_tx(const struct ust_sock *s, const uint8_t dst[16], struct ust_ip_tx *tx);
/* A link-scope IPv6 address (link-local unicast, interface- and
 * link-local multicast) names an interface only with a scope id
 * (Linux's __ipv6_addr_needs_scope_id). */
bool ust_ip_needs_scope(const uint8_t a[16]);
/* Set the scope id Linux reports with an address (ipv6_iface_scope_id):
 * the port's index for a link-scope IPv6 address, else 0. */
void ust_sockaddr_scope(const struct ust_stack *st, struct ust_sockaddr *a);
/* A given scope id: 0 (none), the port's or loopback's index, else -ENODEV
 * (no such device, as dev_get_by_index finds none on Linux). */
int ust_ip_scope_check(const struct ust_stack *st, uint32_t scope_id);

/* The loopback path of both families: a datagram (data at its IP header)
 * to our own addresses is queued, and delivered by the poll loop, so
 * delivery never recurses into the sender. */
void ust_ip_loopback_queue(struct ust_stack *st, struct ust_pkt *pkt);
void ust_ip_loopback_run(struct ust_stack *st);
bool ust_ip_loopback_pending(const struct ust_stack *st);

/* Send a datagram whose L4 header and checksum are at pkt's data. Consumes
 * pkt; 0 or -errno as ust_ipv4_output/ust_ipv6_output. */
int ust_ip_output(struct ust_stack *st, struct ust_pkt *pkt, const struct ust_ip_tx *tx);
/* Bytes of L4 that fit one unfragmented datagram to dst (path MTU aware). */
uint16_t ust_ip_mtu_payload(struct ust_stack *st, const uint8_t dst[16]);
/* The path MTU to dst (IP_MTU, IPV6_MTU, tcpi_pmtu). */
uint16_t ust_ip_pmtu(struct ust_stack *st, const uint8_t dst[16]);
/* TCP/UDP pseudo-header sum (RFC 768, RFC 8200 8.1) for either family. */
uint32_t ust_ip_pseudo(const uint8_t src[16], const uint8_t dst[16], uint8_t proto, uint32_t len);
/* True if dst is one of ours (delivered on the stack's loopback path). */
bool ust_ip_is_local(const struct ust_stack *st, const uint8_t a[16]);
/* 0 if dst can be reached (ours, on-link or via a router), else -ENETUNREACH. */
int ust_ip_route_ok(const struct ust_stack *st, const uint8_t dst[16]);
/* The source address for a datagram to dst: 0, or -EADDRNOTAVAIL while
 * no address of ours may be used for it (IPv6 still probing, DAD). */
int ust_ip_source(const struct ust_stack *st, const uint8_t dst[16], uint8_t out[16]);
/* The source for a datagram socket s sending to dst: its bound address,
 * unless it is none or a broadcast one. */
int ust_ip_sock_source(const struct ust_sock *s, const uint8_t dst[16], uint8_t out[16]);
/* `len` bytes of data in a chain of netif packets, the first with `hdr`
 * bytes of room in front for a header (left unwritten). Segment lengths stay
 * even, so a checksum can be summed per segment. NULL when out of buffers. */
struct ust_pkt *ust_ip_chain(struct ust_stack *st, const uint8_t *data, size_t len, uint32_t hdr);
/* Bytes [off, off + n) of pkt's data in a fresh packet, to put a fragment's
 * headers in front of; NULL when out of buffers. */
struct ust_pkt *ust_ip_frag_piece(struct ust_stack *st, const struct ust_pkt *pkt, uint32_t off,
				  uint32_t n);
/* ICMP port unreachable about the datagram in pkt (data at its L4 header,
 * l3_off at its IP header), in its family. Does not consume pkt. */
void ust_ip_send_port_unreach(struct ust_stack *st, const struct ust_pkt *pkt,
			      const struct ust_ip_info *ip);

#endif
