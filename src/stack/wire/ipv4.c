/* IPv4 header parse (RFC 791, RFC 1122 3.2.1) and build. */
#include "ipv4.h"

#include "../pkt.h"
#include "bytes.h"
#include "csum.h"

/* Option TLVs must tile the option area exactly (RFC 791 3.1). */
static bool
options_ok(const uint8_t *o, size_t len)
{
	size_t i = 0;
	while (i < len) {
		uint8_t type = o[i];
		if (type == 0) /* end of option list */
			return true;
		if (type == 1) { /* no-operation */
			i++;
			continue;
		}
		if (i + 1 >= len || o[i + 1] < 2 || i + o[i + 1] > len)
			return false;
		i += o[i + 1];
	}
	return true;
}

enum ust_drop
ust_ipv4_parse(const uint8_t *p, size_t len, uint32_t ol_flags, struct ust_ipv4_view *out)
{
	if (len < UST_IPV4_HLEN)
		return UST_DROP_IP_SHORT;
	if ((p[0] >> 4) != 4)
		return UST_DROP_IP_VERSION;
	size_t hlen = (size_t)(p[0] & 0xf) * 4;
	if (hlen < UST_IPV4_HLEN || hlen > len)
		return UST_DROP_IP_HLEN;
	uint16_t tot = ust_get16(p + 2);
	if (tot < hlen || tot > len)
		return UST_DROP_IP_TOTLEN;
	if (ol_flags & UST_PKT_RX_IP_CSUM_BAD)
		return UST_DROP_IP_CSUM;
	if (!(ol_flags & UST_PKT_RX_IP_CSUM_GOOD) && ust_csum_fold(ust_csum_partial(p, hlen, 0)) != 0)
		return UST_DROP_IP_CSUM;
	if (!options_ok(p + UST_IPV4_HLEN, hlen - UST_IPV4_HLEN))
		return UST_DROP_IP_OPTIONS;
	uint16_t frag = ust_get16(p + 6);
	out->hlen = (uint8_t)hlen;
	out->tos = p[1];
	out->tot_len = tot;
	out->id = ust_get16(p + 4);
	out->df = (frag & 0x4000) != 0;
	out->mf = (frag & 0x2000) != 0;
	out->frag_off = (uint16_t)((frag & 0x1fff) * 8);
	out->ttl = p[8];
	out->proto = p[9];
	out->src = ust_get32(p + 12);
	out->dst = ust_get32(p + 16);
	out->opts = p + UST_IPV4_HLEN;
	out->payload = p + hlen;
	out->payload_len = (uint16_t)(tot - hlen);
	return UST_DROP_NONE;
}

void
ust_ipv4_build(uint8_t *out, const struct ust_ipv4_view *v, bool csum_by_nic)
{
	out[0] = 0x45;
	out[1] = v->tos;
	ust_put16(out + 2, v->tot_len);
	ust_put16(out + 4, v->id);
	ust_put16(out + 6, (uint16_t)((v->df ? 0x4000 : 0) | (v->mf ? 0x2000 : 0) | (v->frag_off / 8)));
	out[8] = v->ttl;
	out[9] = v->proto;
	ust_put16(out + 10, 0);
	ust_put32(out + 12, v->src);
	ust_put32(out + 16, v->dst);
	if (!csum_by_nic)
		ust_put16(out + 10, ust_csum_fold(ust_csum_partial(out, UST_IPV4_HLEN, 0)));
}
