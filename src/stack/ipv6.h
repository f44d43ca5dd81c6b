/*
 * IPv6 (RFC 8200) on one Ethernet port: our addresses (the link-local one
 * from the MAC, RFC 4291 2.5.1, and a configured global one), input through
 * the extension chain to ICMPv6/UDP/TCP, reassembly (ipv6_frag.c), routing
 * (on-link prefixes, then the default router), path MTU per destination
 * (RFC 8201), source fragmentation, and output through Neighbor Discovery
 * (nd6.c). ::1 and our own addresses take the stack's loopback path.
 */
#ifndef UST_IPV6_H
#define UST_IPV6_H

#include <stdbool.h>
#include <stdint.h>

#include "ip.h"
#include "stack.h"
#include "wire/ipv6.h"

#define UST_IP6_DEFAULT_HLIM 64 /* net.ipv6.conf.all.hop_limit */

struct ust_ipv6_tx {
	uint8_t src[16];    /* :: picks one for dst */
	uint8_t dst[16];    /* destination */
	uint8_t proto;      /* upper-layer protocol */
	uint8_t hlim;       /* 0 = the default (or the router's) */
	uint8_t tclass;     /* traffic class */
	bool no_frag;       /* never fragment here: too big is -EMSGSIZE (TCP) */
	uint32_t flowlabel; /* flow label */
};

int ust_ipv6_init(struct ust_stack *st);
void ust_ipv6_fini(struct ust_stack *st);
/* data starts at the IPv6 header. */
void ust_ipv6_input(struct ust_stack *st, struct ust_pkt *pkt);
/* A datagram from our loopback path (data at its IPv6 header). */
void ust_ipv6_loopback_input(struct ust_stack *st, struct ust_pkt *pkt);
/* pkt data starts at the L4 header with its checksum filled; consumes pkt.
 * 0, -ENETUNREACH, -EMSGSIZE, -ENOBUFS. */
int ust_ipv6_output(struct ust_stack *st, struct ust_pkt *pkt, const struct ust_ipv6_tx *tx);
/* Ours: an assigned (not tentative) unicast address, or ::1. */
bool ust_ipv6_is_local(const struct ust_stack *st, const uint8_t a[16]);
/* 0 and the next hop for dst, or -ENETUNREACH. */
int ust_ipv6_route(const struct ust_stack *st, const uint8_t dst[16], uint8_t nexthop[16]);
/* The source for dst (RFC 6724 in short: link-local for link-local and
 * link-scope multicast, else the global address if we have one). */
void ust_ipv6_source(const struct ust_stack *st, const uint8_t dst[16], uint8_t out[16]);
/* Path MTU to dst (RFC 8201): the link MTU until a packet too big lowered it. */
uint16_t ust_ipv6_pmtu(const struct ust_stack *st, const uint8_t dst[16]);
/* A packet too big said `mtu` for dst: remember it (never below 1280) for
 * 10 minutes. Returns true if the path MTU went down. */
bool ust_ipv6_pmtu_update(struct ust_stack *st, const uint8_t dst[16], uint32_t mtu);
/* What L4 is told about an IPv6 datagram (ip.h). */
void ust_ipv6_info(const struct ust_ipv6_view *ip, struct ust_ip_info *out);

/* Reassembly (ipv6_frag.c): takes the fragment in pkt (data at its IPv6
 * header, view ip); returns the whole datagram (data at its IPv6 header,
 * *ip re-parsed) when this fragment completes one, else NULL. */
struct ust_pkt *ust_ipv6_reass(struct ust_stack *st, struct ust_pkt *pkt, struct ust_ipv6_view *ip);
int ust_ipv6_frag_init(struct ust_stack *st);
void ust_ipv6_frag_fini(struct ust_stack *st);

#endif
