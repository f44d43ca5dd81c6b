/*
 * TCP options: decode (RFC 9293 3.2, RFC 7323, RFC 2018) and encode in the
 * order and packing Linux uses, so captures look familiar.
 */
#include <string.h>

#include "bytes.h"
#include "tcp.h"

enum {
	OPT_EOL = 0,
	OPT_NOP = 1,
	OPT_MSS = 2,
	OPT_WS = 3,
	OPT_SACK_PERM = 4,
	OPT_SACK = 5,
	OPT_TS = 8,
};

void
ust_tcp_opts_parse(const uint8_t *p, size_t len, struct ust_tcp_opts *o)
{
	memset(o, 0, sizeof(*o));
	size_t i = 0;
	while (i < len) {
		uint8_t kind = p[i];
		if (kind == OPT_EOL)
			break;
		if (kind == OPT_NOP) {
			i++;
			continue;
		}
		/* Linux tcp_parse_options: a length under 2 or past the end
		 * ends the parse; what came before counts, the segment too. */
		if (i + 1 >= len)
			break;
		uint8_t olen = p[i + 1];
		if (olen < 2 || i + olen > len)
			break;
		const uint8_t *v = p + i + 2;
		/* A known option with the wrong length is ignored, as Linux does. */
		switch (kind) {
		case OPT_MSS:
			if (olen == 4) {
				o->has_mss = true;
				o->mss = ust_get16(v);
			}
			break;
		case OPT_WS:
			if (olen == 3) {
				o->has_wscale = true;
				o->wscale = v[0];
			}
			break;
		case OPT_SACK_PERM:
			if (olen == 2)
				o->sack_ok = true;
			break;
		case OPT_SACK:
			if (olen >= 10 && (olen - 2) % 8 == 0) {
				unsigned n = (olen - 2u) / 8u;
				for (unsigned k = 0; k < n && o->nsack < UST_TCP_MAX_SACK; k++) {
					o->sack[o->nsack].start = ust_get32(v + 8 * k);
					o->sack[o->nsack].end = ust_get32(v + 8 * k + 4);
					o->nsack++;
				}
			}
			break;
		case OPT_TS:
			if (olen == 10) {
				o->has_ts = true;
				o->tsval = ust_get32(v);
				o->tsecr = ust_get32(v + 4);
			}
			break;
		default:
			break;
		}
		i += olen;
	}
}

size_t
ust_tcp_opts_build(uint8_t *out, const struct ust_tcp_opts *o)
{
	size_t n = 0;
	if (o->has_mss) {
		out[n++] = OPT_MSS;
		out[n++] = 4;
		ust_put16(out + n, o->mss);
		n += 2;
	}
	if (o->has_ts) {
		if (o->sack_ok) {
			out[n++] = OPT_SACK_PERM;
			out[n++] = 2;
		} else {
			out[n++] = OPT_NOP;
			out[n++] = OPT_NOP;
		}
		out[n++] = OPT_TS;
		out[n++] = 10;
		ust_put32(out + n, o->tsval);
		ust_put32(out + n + 4, o->tsecr);
		n += 8;
	} else if (o->sack_ok) {
		out[n++] = OPT_NOP;
		out[n++] = OPT_NOP;
		out[n++] = OPT_SACK_PERM;
		out[n++] = 2;
	}
	if (o->has_wscale) {
		out[n++] = OPT_NOP;
		out[n++] = OPT_WS;
		out[n++] = 3;
		out[n++] = o->wscale;
	}
	if (o->nsack > 0 && n + 2 + 2 + 8 <= UST_TCP_MAX_OPT_LEN) {
		unsigned fit = (unsigned)((UST_TCP_MAX_OPT_LEN - n - 4) / 8);
		unsigned k = o->nsack < fit ? o->nsack : fit;
		out[n++] = OPT_NOP;
		out[n++] = OPT_NOP;
		out[n++] = OPT_SACK;
		out[n++] = (uint8_t)(2 + 8 * k);
		for (unsigned i = 0; i < k; i++) {
			ust_put32(out + n, o->sack[i].start);
			ust_put32(out + n + 4, o->sack[i].end);
			n += 8;
		}
	}
	while (n % 4 != 0)
		out[n++] = OPT_NOP;
	return n;
}
