/* ICMPv4: echo replies, destination unreachable out (rate limited) and in. */
#ifndef UST_ICMP_H
#define UST_ICMP_H

#include <stdint.h>

#include "stack.h"
#include "wire/ipv4.h"

int ust_icmp_init(struct ust_stack *st);
void ust_icmp_fini(struct ust_stack *st);
/* pkt data starts at the ICMP header. */
void ust_icmp_input(struct ust_stack *st, struct ust_pkt *pkt, const struct ust_ipv4_view *ip);
/* Reply to the datagram `orig` (data at its L4 header, l3_off at its IP
 * header, view ip) with destination unreachable `code`. Does not consume it. */
void ust_icmp_send_unreach(struct ust_stack *st, const struct ust_pkt *orig,
			   const struct ust_ipv4_view *ip, uint8_t code);

#endif
