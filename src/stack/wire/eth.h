/* Ethernet II header: parse (with one optional 802.1Q tag skipped) and build. */
#ifndef UST_WIRE_ETH_H
#define UST_WIRE_ETH_H

#include <stddef.h>
#include <stdint.h>

#include "../stats.h"

#define UST_ETH_HLEN 14
#define UST_ETH_ALEN 6
#define UST_ETHERTYPE_IPV4 0x0800
#define UST_ETHERTYPE_ARP 0x0806
#define UST_ETHERTYPE_VLAN 0x8100
#define UST_ETHERTYPE_IPV6 0x86dd

struct ust_eth_view {
	uint8_t dst[UST_ETH_ALEN]; /* destination MAC */
	uint8_t src[UST_ETH_ALEN]; /* source MAC */
	uint16_t type;             /* ethertype after any VLAN tag */
	uint16_t hlen;             /* 14, or 18 with a VLAN tag */
};

enum ust_drop ust_eth_parse(const uint8_t *frame, size_t len, struct ust_eth_view *out);
/* Write a 14-byte header at `out`. */
void ust_eth_build(uint8_t *out, const uint8_t dst[UST_ETH_ALEN], const uint8_t src[UST_ETH_ALEN],
		   uint16_t type);

static inline int
ust_eth_is_mcast(const uint8_t mac[UST_ETH_ALEN])
{
	return mac[0] & 1;
}

#endif
