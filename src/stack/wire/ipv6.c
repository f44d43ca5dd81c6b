/* IPv6 fixed header and extension chain (RFC 8200, RFC 5095, RFC 6946). */
#include "ipv6.h"

#include <string.h>

#include "bytes.h"

static enum ust_drop
ask_pp(struct ust_ipv6_view *out, uint8_t code, size_t ptr, enum ust_drop why)
{
	out->pp = true;
	out->pp_code = code;
	out->pp_ptr = (uint32_t)ptr;
	return why;
}

/* The options of a hop-by-hop or destination options header at [off, end). */
static enum ust_drop
options(const uint8_t *p, size_t off, size_t end, struct ust_ipv6_view *out)
{
	size_t i = off + 2;
	while (i < end) {
		uint8_t type = p[i];
		if (type == 0) { /* Pad1 */
			i++;
			continue;
		}
		if (i + 2 > end || i + 2 + (size_t)p[i + 1] > end)
			return UST_DROP_IP6_OPT_BAD;
		/* PadN and Router Alert have 00 in their high bits: skipped like
		 * any option that asks to be skipped. Nothing else is known. */
		switch (type >> 6) {
		case 0:
			break;
		case 1:
			return UST_DROP_IP6_OPT_UNKNOWN;
		case 2:
			return ask_pp(out, UST_IP6_PP_OPTION, i, UST_DROP_IP6_OPT_UNKNOWN);
		default:
			if (ust_ipv6_is_mcast(out->dst))
				return UST_DROP_IP6_OPT_UNKNOWN;
			return ask_pp(out, UST_IP6_PP_OPTION, i, UST_DROP_IP6_OPT_UNKNOWN);
		}
		i += 2 + (size_t)p[i + 1];
	}
	return UST_DROP_NONE;
}

enum ust_drop
ust_ipv6_parse(const uint8_t *p, size_t len, struct ust_ipv6_view *out)
{
	/* Even a refused packet's view is defined: the caller reads `pp`. */
	memset(out, 0, sizeof(*out));
	if (len < UST_IPV6_HLEN)
		return UST_DROP_IP6_SHORT;
	if ((p[0] >> 4) != 6)
		return UST_DROP_IP6_VERSION;
	uint16_t plen = ust_get16(p + 4);
	/* A zero length belongs to a jumbogram (RFC 2675), which we do not take. */
	if (plen == 0 || (size_t)plen + UST_IPV6_HLEN > len)
		return UST_DROP_IP6_LEN;
	uint32_t w = ust_get32(p);
	out->tclass = (uint8_t)(w >> 20);
	out->flow = w & 0xfffff;
	out->payload_len = plen;
	out->hlim = p[7];
	memcpy(out->src, p + 8, 16);
	memcpy(out->dst, p + 24, 16);
	size_t end = UST_IPV6_HLEN + (size_t)plen;
	size_t off = UST_IPV6_HLEN, nh_off = 6;
	uint8_t next = p[6];
	for (unsigned n = 0;; n++) {
		enum ust_drop why;
		size_t hl;
		switch (next) {
		case UST_IPPROTO_HOPOPTS:
			/* RFC 8200 4.1: only right after the fixed header. */
			if (off != UST_IPV6_HLEN)
				return ask_pp(out, UST_IP6_PP_NEXT, nh_off, UST_DROP_IP6_HBH_PLACE);
			/* FALLTHROUGH */
		case UST_IPPROTO_DSTOPTS:
		case UST_IPPROTO_ROUTING:
			if (n >= UST_IPV6_EXT_MAX)
				return UST_DROP_IP6_EXT_CHAIN;
			if (off + 8 > end)
				return UST_DROP_IP6_EXT_LEN;
			hl = ((size_t)p[off + 1] + 1) * 8;
			if (off + hl > end)
				return UST_DROP_IP6_EXT_LEN;
			if (next == UST_IPPROTO_ROUTING) {
				/* Segments left: we would have to forward it. RFC 5095
				 * treats type 0 like an unknown type: refused. */
				if (p[off + 3] != 0)
					return ask_pp(out, UST_IP6_PP_HEADER, off + 2, UST_DROP_IP6_RH);
			} else if ((why = options(p, off, off + hl, out)) != UST_DROP_NONE) {
				return why;
			}
			nh_off = off;
			next = p[off];
			off += hl;
			continue;
		case UST_IPPROTO_FRAGMENT: {
			if (n >= UST_IPV6_EXT_MAX)
				return UST_DROP_IP6_EXT_CHAIN;
			if (off + UST_IPV6_FRAG_HLEN > end)
				return UST_DROP_IP6_EXT_LEN;
			uint16_t fo = ust_get16(p + off + 2);
			uint16_t foff = fo & 0xfff8;
			bool mf = fo & 1;
			if (foff == 0 && !mf) {
				/* RFC 6946: an atomic fragment is a whole datagram. */
				nh_off = off;
				next = p[off];
				off += UST_IPV6_FRAG_HLEN;
				continue;
			}
			size_t dlen = end - off - UST_IPV6_FRAG_HLEN;
			/* RFC 8200 4.5: all but the last fragment are multiples of 8
			 * bytes, and none reaches beyond 65535. */
			if (mf && (dlen % 8 != 0 || dlen == 0))
				return ask_pp(out, UST_IP6_PP_HEADER, 4, UST_DROP_IP6_FRAG_BAD);
			if (foff + dlen > 65535)
				return ask_pp(out, UST_IP6_PP_HEADER, off + 2, UST_DROP_IP6_FRAG_TOO_BIG);
			out->frag = true;
			out->mf = mf;
			out->frag_off = foff;
			out->frag_id = ust_get32(p + off + 4);
			out->unfrag_len = (uint16_t)off;
			out->frag_next_off = (uint16_t)nh_off;
			out->proto = p[off];
			out->next_off = (uint16_t)off;
			out->l4_off = (uint16_t)(off + UST_IPV6_FRAG_HLEN);
			return UST_DROP_NONE;
		}
		default:
			out->proto = next;
			out->next_off = (uint16_t)nh_off;
			out->l4_off = (uint16_t)off;
			return UST_DROP_NONE;
		}
	}
}

void
ust_ipv6_build(uint8_t *out, uint8_t tclass, uint32_t flow, uint16_t payload_len, uint8_t next,
	       uint8_t hlim, const uint8_t src[16], const uint8_t dst[16])
{
	ust_put32(out, 6u << 28 | (uint32_t)tclass << 20 | (flow & 0xfffff));
	ust_put16(out + 4, payload_len);
	out[6] = next;
	out[7] = hlim;
	memcpy(out + 8, src, 16);
	memcpy(out + 24, dst, 16);
}

void
ust_ipv6_frag_build(uint8_t *out, uint8_t next, uint16_t off, bool mf, uint32_t id)
{
	out[0] = next;
	out[1] = 0;
	ust_put16(out + 2, (uint16_t)((off & 0xfff8) | (mf ? 1 : 0)));
	ust_put32(out + 4, id);
}

void
ust_ipv6_solicited_node(const uint8_t a[16], uint8_t out[16])
{
	static const uint8_t pfx[13] = {0xff, 0x02, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0xff};
	memcpy(out, pfx, 13);
	memcpy(out + 13, a + 13, 3);
}

void
ust_ipv6_mcast_mac(const uint8_t a[16], uint8_t mac[6])
{
	mac[0] = 0x33;
	mac[1] = 0x33;
	memcpy(mac + 2, a + 12, 4);
}
