/* Ethernet II parse/build; one 802.1Q tag is skipped (VLAN 0 priority tags). */
#include "eth.h"

#include <string.h>

#include "bytes.h"

enum ust_drop
ust_eth_parse(const uint8_t *frame, size_t len, struct ust_eth_view *out)
{
	if (len < UST_ETH_HLEN)
		return UST_DROP_ETH_SHORT;
	memcpy(out->dst, frame, UST_ETH_ALEN);
	memcpy(out->src, frame + 6, UST_ETH_ALEN);
	out->type = ust_get16(frame + 12);
	out->hlen = UST_ETH_HLEN;
	if (out->type == UST_ETHERTYPE_VLAN) {
		if (len < UST_ETH_HLEN + 4)
			return UST_DROP_ETH_SHORT;
		out->type = ust_get16(frame + 16);
		out->hlen = UST_ETH_HLEN + 4;
	}
	if (ust_eth_is_mcast(out->src))
		return UST_DROP_ETH_SRC_MCAST;
	return UST_DROP_NONE;
}

void
ust_eth_build(uint8_t *out, const uint8_t dst[UST_ETH_ALEN], const uint8_t src[UST_ETH_ALEN],
	      uint16_t type)
{
	memcpy(out, dst, UST_ETH_ALEN);
	memcpy(out + 6, src, UST_ETH_ALEN);
	ust_put16(out + 12, type);
}
