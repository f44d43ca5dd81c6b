/*
 * ARP (RFC 826): a cache with expiry, a bounded queue of packets waiting for
 * resolution, replies for our address, gratuitous ARP at start.
 */
#ifndef UST_ARP_H
#define UST_ARP_H

#include <stdint.h>

#include "stack.h"

int ust_arp_init(struct ust_stack *st);
void ust_arp_fini(struct ust_stack *st);
/* data starts at the ARP body (after Ethernet). */
void ust_arp_input(struct ust_stack *st, struct ust_pkt *pkt, const uint8_t src_mac[6]);
/* Send an IPv4 packet (data at the IP header) to `nexthop`: now if the MAC is
 * known, else queued while a request goes out. Consumes pkt; 0 or -errno. */
int ust_arp_output(struct ust_stack *st, struct ust_pkt *pkt, uint32_t nexthop);
/* Gratuitous ARP for our address. */
void ust_arp_announce(struct ust_stack *st);
/* 0 and the MAC if `ip` is resolved, else -ENOENT. */
int ust_arp_lookup(const struct ust_stack *st, uint32_t ip, uint8_t mac[6]);

#endif
