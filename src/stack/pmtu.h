/*
 * Path MTUs per destination, both families: what an ICMP "fragmentation
 * needed" (RFC 1191) or an ICMPv6 "packet too big" (RFC 8201) said, when it
 * was below the link MTU, for ten minutes. Addresses in the 16-byte form
 * (IPv4 mapped). ipv4.c and ipv6.c apply their own floors before calling;
 * nothing here probes upward: an entry expires instead.
 */
#ifndef UST_PMTU_H
#define UST_PMTU_H

#include <stdbool.h>
#include <stdint.h>

#include "stack.h"

int ust_pmtu_init(struct ust_stack *st);
void ust_pmtu_fini(struct ust_stack *st);
/* The path MTU to dst over a link of `link_mtu`. */
uint16_t ust_pmtu_get(const struct ust_stack *st, const uint8_t dst[16], uint16_t link_mtu);
/* Remember `mtu` for dst if it is below the path MTU now. Returns true if
 * the path MTU went down. */
bool ust_pmtu_lower(struct ust_stack *st, const uint8_t dst[16], uint32_t mtu, uint16_t link_mtu);

#endif
