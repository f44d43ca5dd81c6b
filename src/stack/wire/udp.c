/* UDP header parse/build (RFC 768; zero checksum over IPv4 means none). */
#include "udp.h"

#include "../pkt.h"
#include "bytes.h"
#include "csum.h"

enum ust_drop
ust_udp_parse(const uint8_t *p, size_t len, uint32_t pseudo_sum, uint32_t ol_flags,
	      struct ust_udp_view *out)
{
	if (len < UST_UDP_HLEN)
		return UST_DROP_UDP_SHORT;
	uint16_t ulen = ust_get16(p + 4);
	if (ulen < UST_UDP_HLEN || ulen > len)
		return UST_DROP_UDP_LEN;
	uint16_t csum = ust_get16(p + 6);
	if (csum != 0) {
		if (ol_flags & UST_PKT_RX_L4_CSUM_BAD)
			return UST_DROP_UDP_CSUM;
		if (!(ol_flags & UST_PKT_RX_L4_CSUM_GOOD) &&
		    ust_csum_fold(ust_csum_partial(p, ulen, pseudo_sum)) != 0)
			return UST_DROP_UDP_CSUM;
	}
	out->sport = ust_get16(p);
	out->dport = ust_get16(p + 2);
	out->len = ulen;
	out->payload = p + UST_UDP_HLEN;
	out->payload_len = (uint16_t)(ulen - UST_UDP_HLEN);
	return UST_DROP_NONE;
}

void
ust_udp_build(uint8_t *out, uint16_t sport, uint16_t dport, uint16_t len, uint32_t pseudo_sum,
	      bool csum_by_nic)
{
	ust_put16(out, sport);
	ust_put16(out + 2, dport);
	ust_put16(out + 4, len);
	ust_put16(out + 6, 0);
	if (csum_by_nic) {
		/* The NIC adds the data to the folded, uncomplemented pseudo sum. */
		uint32_t s = (pseudo_sum & 0xffff) + (pseudo_sum >> 16);
		ust_put16(out + 6, (uint16_t)((s & 0xffff) + (s >> 16)));
		return;
	}
	uint16_t c = ust_csum_fold(ust_csum_partial(out, len, pseudo_sum));
	ust_put16(out + 6, c == 0 ? 0xffff : c);
}
