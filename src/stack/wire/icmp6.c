/* ICMPv6 (RFC 4443), ND messages (RFC 4861) and the MLDv2 report (RFC 3810). */
#include "icmp6.h"

#include <string.h>

#include "bytes.h"
#include "csum.h"
#include "ipv6.h"

#define ND_OPT_SLLA 1
#define ND_OPT_TLLA 2
#define ND_OPT_PREFIX 3
#define ND_OPT_MTU 5

enum ust_drop
ust_icmp6_parse(const uint8_t *p, size_t len, const uint8_t src[16], const uint8_t dst[16],
		struct ust_icmp6_view *out)
{
	if (len < UST_ICMP6_HLEN)
		return UST_DROP_ICMP6_SHORT;
	uint32_t s = ust_csum_pseudo6(src, dst, UST_IPPROTO_ICMPV6, (uint32_t)len);
	if (ust_csum_fold(ust_csum_partial(p, len, s)) != 0)
		return UST_DROP_ICMP6_CSUM;
	out->type = p[0];
	out->code = p[1];
	out->rest = ust_get32(p + 4);
	out->body = p + UST_ICMP6_HLEN;
	out->body_len = len - UST_ICMP6_HLEN;
	return UST_DROP_NONE;
}

void
ust_icmp6_build(uint8_t *out, uint8_t type, uint8_t code, uint32_t rest, size_t body_len,
		const uint8_t src[16], const uint8_t dst[16])
{
	out[0] = type;
	out[1] = code;
	ust_put16(out + 2, 0);
	ust_put32(out + 4, rest);
	size_t len = UST_ICMP6_HLEN + body_len;
	uint32_t s = ust_csum_pseudo6(src, dst, UST_IPPROTO_ICMPV6, (uint32_t)len);
	ust_put16(out + 2, ust_csum_fold(ust_csum_partial(out, len, s)));
}

static enum ust_drop
nd_options(const uint8_t *o, size_t len, struct ust_nd_view *out)
{
	size_t i = 0;
	while (i < len) {
		if (i + 2 > len || o[i + 1] == 0 || i + (size_t)o[i + 1] * 8 > len)
			return UST_DROP_ND_BAD;
		size_t olen = (size_t)o[i + 1] * 8;
		switch (o[i]) {
		case ND_OPT_SLLA:
			out->has_slla = true;
			memcpy(out->slla, o + i + 2, 6);
			break;
		case ND_OPT_TLLA:
			out->has_tlla = true;
			memcpy(out->tlla, o + i + 2, 6);
			break;
		case ND_OPT_MTU:
			if (olen != 8)
				return UST_DROP_ND_BAD;
			out->mtu = ust_get32(o + i + 4);
			break;
		case ND_OPT_PREFIX:
			if (olen != 32)
				return UST_DROP_ND_BAD;
			if (out->nprefix < UST_ND_MAX_PREFIX) {
				struct ust_nd_prefix *pf = &out->prefix[out->nprefix++];
				pf->len = o[i + 2];
				pf->onlink = o[i + 3] & 0x80;
				pf->autonomous = o[i + 3] & 0x40;
				pf->valid_s = ust_get32(o + i + 4);
				pf->preferred_s = ust_get32(o + i + 8);
				memcpy(pf->prefix, o + i + 16, 16);
			}
			break;
		default:
			/* RFC 4861 4.6: unknown options are skipped. */
			break;
		}
		i += olen;
	}
	return UST_DROP_NONE;
}

enum ust_drop
ust_nd_parse(const struct ust_icmp6_view *ic, struct ust_nd_view *out)
{
	memset(out, 0, sizeof(*out));
	if (ic->code != 0)
		return UST_DROP_ND_BAD;
	const uint8_t *b = ic->body;
	size_t n = ic->body_len;
	switch (ic->type) {
	case UST_ND_NS:
	case UST_ND_NA:
		if (n < 16)
			return UST_DROP_ND_BAD;
		memcpy(out->target, b, 16);
		if (ust_ipv6_is_mcast(out->target))
			return UST_DROP_ND_BAD;
		if (ic->type == UST_ND_NA) {
			out->router = ic->rest & 0x80000000u;
			out->solicited = ic->rest & 0x40000000u;
			out->override = ic->rest & 0x20000000u;
		}
		return nd_options(b + 16, n - 16, out);
	case UST_ND_RS:
		return nd_options(b, n, out);
	case UST_ND_RA:
		if (n < 8)
			return UST_DROP_ND_BAD;
		out->cur_hlim = (uint8_t)(ic->rest >> 24);
		out->router_lifetime_s = (uint16_t)ic->rest;
		out->reachable_ms = ust_get32(b);
		out->retrans_ms = ust_get32(b + 4);
		return nd_options(b + 8, n - 8, out);
	default:
		return UST_DROP_ND_BAD;
	}
}

size_t
ust_nd_build(uint8_t *body, const uint8_t target[16], uint8_t opt_type, const uint8_t *lla)
{
	memcpy(body, target, 16);
	if (lla == NULL)
		return 16;
	body[16] = opt_type;
	body[17] = 1;
	memcpy(body + 18, lla, 6);
	return 24;
}

size_t
ust_mld2_build(uint8_t *body, const uint8_t group[16])
{
	/* RFC 3810 5.2.12: CHANGE_TO_EXCLUDE_MODE with no sources is a join. */
	body[0] = 4;
	body[1] = 0;
	ust_put16(body + 2, 0);
	memcpy(body + 4, group, 16);
	return 20;
}
