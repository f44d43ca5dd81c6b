/* ICMPv4 header parse/build (RFC 792; needfrag MTU from RFC 1191). */
#include "icmp.h"

#include "bytes.h"
#include "csum.h"

enum ust_drop
ust_icmp_parse(const uint8_t *p, size_t len, struct ust_icmp_view *out)
{
	if (len < UST_ICMP_HLEN)
		return UST_DROP_ICMP_SHORT;
	if (ust_csum_fold(ust_csum_partial(p, len, 0)) != 0)
		return UST_DROP_ICMP_CSUM;
	out->type = p[0];
	out->code = p[1];
	out->id = ust_get16(p + 4);
	out->seq = ust_get16(p + 6);
	out->mtu = ust_get16(p + 6);
	out->body = p + UST_ICMP_HLEN;
	out->body_len = len - UST_ICMP_HLEN;
	return UST_DROP_NONE;
}

void
ust_icmp_build(uint8_t *out, uint8_t type, uint8_t code, uint32_t rest, size_t body_len)
{
	out[0] = type;
	out[1] = code;
	ust_put16(out + 2, 0);
	ust_put32(out + 4, rest);
	ust_put16(out + 2, ust_csum_fold(ust_csum_partial(out, UST_ICMP_HLEN + body_len, 0)));
}
