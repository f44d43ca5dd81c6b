/*
 * ICMPv6 (RFC 4443): echo replies, errors out (destination unreachable,
 * packet too big, time exceeded, parameter problem) with a token bucket like
 * Linux's icmpv6 ratelimit, and errors in: handed to UDP/TCP as an errno, a
 * packet too big lowering the path MTU (RFC 8201) and TCP's MSS. Neighbor
 * Discovery and MLD queries go on to nd6.c.
 */
#ifndef UST_ICMP6_H
#define UST_ICMP6_H

#include <stdint.h>

#include "stack.h"
#include "wire/ipv6.h"

int ust_icmp6_init(struct ust_stack *st);
void ust_icmp6_fini(struct ust_stack *st);
/* pkt data starts at the ICMPv6 header, l3_off at the IPv6 header. */
void ust_icmp6_input(struct ust_stack *st, struct ust_pkt *pkt, const struct ust_ipv6_view *ip);
/* An error about `orig` (l3_off at its IPv6 header, view ip) with `param`
 * as the 32 bits after the checksum (MTU, pointer). Does not consume orig.
 * Follows RFC 4443 2.4 (e): never about an error, nor to a multicast or
 * unspecified source, nor about a multicast destination except packet too
 * big and an unknown option that asks for it. */
void ust_icmp6_send_error(struct ust_stack *st, const struct ust_pkt *orig,
			  const struct ust_ipv6_view *ip, uint8_t type, uint8_t code, uint32_t param);

#endif
