/*
 * Neighbor Discovery (RFC 4861) and address configuration (RFC 4862) for one
 * port: our IPv6 addresses with duplicate address detection, the
 * solicited-node groups and their MLDv2 reports (RFC 3810), the neighbor
 * cache with the RFC's states and a bounded queue of packets waiting for
 * resolution, router solicitation at start, and from router advertisements
 * a default router, on-link prefixes, the link MTU and the hop limit.
 */
#ifndef UST_ND6_H
#define UST_ND6_H

#include <stdbool.h>
#include <stdint.h>

#include "stack.h"
#include "wire/icmp6.h"
#include "wire/ipv6.h"

enum ust_nd6_addr {
	UST_ND6_NOT_OURS = -1,  /* not one of our addresses */
	UST_ND6_TENTATIVE = 0,  /* ours once DAD passes */
	UST_ND6_ASSIGNED = 1,   /* ours */
};

int ust_nd6_init(struct ust_stack *st);
void ust_nd6_fini(struct ust_stack *st);
/* Join the groups, start DAD on our addresses and solicit routers. */
void ust_nd6_start(struct ust_stack *st);
/* An ND message or MLD query (ic), data at the ICMPv6 header. Consumes pkt. */
void ust_nd6_input(struct ust_stack *st, struct ust_pkt *pkt, const struct ust_ipv6_view *ip,
		   const struct ust_icmp6_view *ic);
/* Send an IPv6 packet (data at its header) to `nexthop`: now if its link
 * address is known, else queued while solicitations go out. Consumes pkt. */
int ust_nd6_output(struct ust_stack *st, struct ust_pkt *pkt, const uint8_t nexthop[16]);
enum ust_nd6_addr ust_nd6_addr_state(const struct ust_stack *st, const uint8_t a[16]);
/* A multicast group we listen to: all-nodes or one of our solicited-node groups. */
bool ust_nd6_is_group(const struct ust_stack *st, const uint8_t a[16]);
/* Our link-local address, and the global one (NULL when none is assigned). */
const uint8_t *ust_nd6_linklocal(const struct ust_stack *st);
const uint8_t *ust_nd6_global(const struct ust_stack *st);
/* Our link-local address from the start, still tentative or not; NULL
 * when IPv6 is off. */
const uint8_t *ust_nd6_linklocal_cfg(const struct ust_stack *st);
/* 0 and the next hop (dst itself when on-link), or -ENETUNREACH. */
int ust_nd6_route(const struct ust_stack *st, const uint8_t dst[16], uint8_t nexthop[16]);
/* The hop limit to send with (a router may set it), and the link MTU. */
uint8_t ust_nd6_hlim(const struct ust_stack *st);
uint16_t ust_nd6_link_mtu(const struct ust_stack *st);

#endif
