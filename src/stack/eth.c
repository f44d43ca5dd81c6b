/* Ethernet input demultiplexing and frame output. */
#include "eth.h"

#include <string.h>

#include "arp.h"
#include "ipv4.h"
#include "ipv6.h"
#include "wire/eth.h"

static const uint8_t bcast_mac[UST_ETH_ALEN] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff};

void
ust_eth_input(struct ust_stack *st, struct ust_pkt *pkt)
{
	struct ust_eth_view eth;
	enum ust_drop why = ust_eth_parse(ust_pkt_data(pkt), pkt->len, &eth);
	if (why != UST_DROP_NONE) {
		ust_drop(st, pkt, why);
		return;
	}
	/* 33:33:xx is IPv6 multicast (RFC 2464 7); ipv6.c keeps our groups. */
	bool mcast6 = eth.dst[0] == 0x33 && eth.dst[1] == 0x33 && st->cfg.ip6_enable;
	if (memcmp(eth.dst, st->nif->mac, UST_ETH_ALEN) != 0 &&
	    memcmp(eth.dst, bcast_mac, UST_ETH_ALEN) != 0 && !mcast6) {
		ust_drop(st, pkt, UST_DROP_ETH_NOT_US);
		return;
	}
	pkt->l2_off = (uint16_t)pkt->data_off;
	ust_pkt_adj(pkt, eth.hlen);
	switch (eth.type) {
	case UST_ETHERTYPE_ARP:
		ust_arp_input(st, pkt, eth.src);
		break;
	case UST_ETHERTYPE_IPV4:
		ust_ipv4_input(st, pkt);
		break;
	case UST_ETHERTYPE_IPV6:
		if (!st->cfg.ip6_enable) {
			ust_drop(st, pkt, UST_DROP_ETH_TYPE);
			break;
		}
		ust_ipv6_input(st, pkt);
		break;
	default:
		ust_drop(st, pkt, UST_DROP_ETH_TYPE);
		break;
	}
}

void
ust_eth_output(struct ust_stack *st, struct ust_pkt *pkt, const uint8_t dst[6], uint16_t type)
{
	uint8_t *h = ust_pkt_prepend(pkt, UST_ETH_HLEN);
	if (h == NULL) {
		ust_drop(st, pkt, UST_DROP_NO_BUFFER);
		return;
	}
	ust_eth_build(h, dst, st->nif->mac, type);
	pkt->l2_off = (uint16_t)pkt->data_off;
	ust_stack_xmit(st, pkt);
}
