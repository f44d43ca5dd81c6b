/* TCP header parse/build (RFC 9293 3.1). Options live in tcp_opt.c. */
#include "tcp.h"

#include "../pkt.h"
#include "bytes.h"
#include "csum.h"

enum ust_drop
ust_tcp_parse(const uint8_t *p, size_t len, uint32_t pseudo_sum, uint32_t ol_flags,
	      struct ust_tcp_view *out)
{
	if (len < UST_TCP_HLEN)
		return UST_DROP_TCP_SHORT;
	size_t hlen = (size_t)(p[12] >> 4) * 4;
	if (hlen < UST_TCP_HLEN || hlen > len)
		return UST_DROP_TCP_HLEN;
	if (ol_flags & UST_PKT_RX_L4_CSUM_BAD)
		return UST_DROP_TCP_CSUM;
	if (!(ol_flags & UST_PKT_RX_L4_CSUM_GOOD) &&
	    ust_csum_fold(ust_csum_partial(p, len, pseudo_sum)) != 0)
		return UST_DROP_TCP_CSUM;
	uint8_t flags = p[13];
	if ((flags & UST_TCP_SYN) && (flags & (UST_TCP_FIN | UST_TCP_RST)))
		return UST_DROP_TCP_FLAGS;
	if ((flags & (UST_TCP_SYN | UST_TCP_ACK | UST_TCP_RST | UST_TCP_FIN)) == 0)
		return UST_DROP_TCP_FLAGS;
	ust_tcp_opts_parse(p + UST_TCP_HLEN, hlen - UST_TCP_HLEN, &out->opts);
	out->sport = ust_get16(p);
	out->dport = ust_get16(p + 2);
	out->seq = ust_get32(p + 4);
	out->ack = ust_get32(p + 8);
	out->hlen = (uint8_t)hlen;
	out->flags = flags;
	out->win = ust_get16(p + 14);
	out->urp = ust_get16(p + 18);
	out->payload = p + hlen;
	out->payload_len = (uint32_t)(len - hlen);
	return UST_DROP_NONE;
}

void
ust_tcp_build(uint8_t *out, const struct ust_tcp_view *v, size_t seg_len, uint32_t pseudo_sum,
	      bool csum_by_nic)
{
	ust_put16(out, v->sport);
	ust_put16(out + 2, v->dport);
	ust_put32(out + 4, v->seq);
	ust_put32(out + 8, v->ack);
	out[12] = (uint8_t)((v->hlen / 4) << 4);
	out[13] = v->flags;
	ust_put16(out + 14, v->win);
	ust_put16(out + 16, 0);
	ust_put16(out + 18, v->urp);
	if (csum_by_nic) {
		uint32_t s = (pseudo_sum & 0xffff) + (pseudo_sum >> 16);
		ust_put16(out + 16, (uint16_t)((s & 0xffff) + (s >> 16)));
		return;
	}
	ust_put16(out + 16, ust_csum_fold(ust_csum_partial(out, seg_len, pseudo_sum)));
}
