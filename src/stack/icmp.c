/*
 * ICMPv4: echo replies (RFC 792, RFC 1122 3.2.2.6), destination unreachable
 * out with a token bucket like Linux's icmp_ratelimit/icmp_msgs_burst, and
 * unreachable in, handed to UDP/TCP as an errno.
 */
#include "icmp.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "ipv4.h"
#include "raw.h"
#include "tcp/tcp.h"
#include "udp.h"
#include "wire/bytes.h"
#include "wire/icmp.h"

/* Linux: net.ipv4.icmp_msgs_per_sec 1000, icmp_msgs_burst 50. */
#define ICMP_RATE_PER_S 1000
#define ICMP_BURST 50
/* RFC 1812 4.3.2.3: quote as much as fits in 576 bytes. */
#define ICMP_QUOTE_MAX (576 - UST_IPV4_HLEN - UST_ICMP_HLEN)

struct ust_icmp {
	uint64_t tokens_ts_ns; /* when tokens was last refilled */
	uint32_t tokens;       /* errors we may send now */
};

int
ust_icmp_init(struct ust_stack *st)
{
	st->icmp = calloc(1, sizeof(*st->icmp));
	if (st->icmp == NULL)
		return -ENOMEM;
	st->icmp->tokens = ICMP_BURST;
	st->icmp->tokens_ts_ns = st->now_ns;
	return 0;
}

void
ust_icmp_fini(struct ust_stack *st)
{
	free(st->icmp);
	st->icmp = NULL;
}

static bool
take_token(struct ust_stack *st)
{
	struct ust_icmp *ic = st->icmp;
	uint64_t elapsed = st->now_ns - ic->tokens_ts_ns;
	uint64_t add = elapsed * ICMP_RATE_PER_S / UST_NS_PER_S;
	if (add > 0) {
		ic->tokens = (uint32_t)(ic->tokens + add > ICMP_BURST ? ICMP_BURST : ic->tokens + add);
		ic->tokens_ts_ns += add * UST_NS_PER_S / ICMP_RATE_PER_S;
	}
	if (ic->tokens == 0)
		return false;
	ic->tokens--;
	return true;
}

static void
echo_reply(struct ust_stack *st, struct ust_pkt *req, const struct ust_ipv4_view *ip,
	   const struct ust_icmp_view *ic)
{
	if (ust_ipv4_is_bcast(st, ip->dst)) {
		/* Linux ignores broadcast pings by default (icmp_echo_ignore_broadcasts). */
		ust_drop(st, req, UST_DROP_ICMP_TYPE);
		return;
	}
	size_t body = ic->body_len;
	/* Reuse the request's buffer: the reply has the same size. */
	uint8_t *p = ust_pkt_data(req);
	uint32_t rest = (uint32_t)ic->id << 16 | ic->seq;
	ust_icmp_build(p, UST_ICMP_ECHO_REPLY, 0, rest, body);
	req->ol_flags = 0;
	struct ust_ipv4_tx tx = {.src = ip->dst, .dst = ip->src, .proto = UST_IPPROTO_ICMP,
				 .tos = ip->tos};
	ust_stat_inc(st, UST_STAT_ICMP_ECHO_REPLY_OUT);
	ust_ipv4_output(st, req, &tx);
}

/* icmp_err_convert: the errno of each unreachable code and whether it is
 * "fatal" (a connected socket hears of it without IP_RECVERR). */
static int
unreach_errno(uint8_t code, bool *hard)
{
	static const struct {
		uint8_t err;
		bool hard;
	} conv[] = {
		{ENETUNREACH, false}, {EHOSTUNREACH, false}, {ENOPROTOOPT, true},
		{ECONNREFUSED, true}, {EMSGSIZE, false},     {EOPNOTSUPP, false},
		{ENETUNREACH, true},  {EHOSTDOWN, true},     {ENONET, true},
		{ENETUNREACH, true},  {EHOSTUNREACH, true},  {ENETUNREACH, false},
		{EHOSTUNREACH, false}, {EHOSTUNREACH, true}, {EHOSTUNREACH, true},
		{EHOSTUNREACH, true},
	};
	if (code >= sizeof(conv) / sizeof(conv[0])) {
		*hard = false;
		return EHOSTUNREACH;
	}
	*hard = conv[code].hard;
	return conv[code].err;
}

/* Unreachable, time exceeded or parameter problem about a datagram we
 * sent: to its UDP or TCP socket and to the raw sockets that want it. */
static void
error_in(struct ust_stack *st, struct ust_pkt *pkt, const struct ust_ipv4_view *ip,
	 const struct ust_icmp_view *ic)
{
	struct ust_ipv4_view inner;
	/* The quote is a header plus at least 8 bytes; the datagram was cut, so
	 * its length and checksum do not match: check framing only. */
	size_t hl = ic->body_len >= UST_IPV4_HLEN ? (size_t)(ic->body[0] & 0xf) * 4 : 0;
	if (hl < UST_IPV4_HLEN || (ic->body[0] >> 4) != 4 || hl + 8 > ic->body_len) {
		ust_drop(st, pkt, UST_DROP_ICMP_SHORT);
		return;
	}
	/* Fill the view from the raw header: tot_len may exceed the quote. */
	memset(&inner, 0, sizeof(inner));
	inner.hlen = (uint8_t)hl;
	inner.proto = ic->body[9];
	inner.src = ust_get32(ic->body + 12);
	inner.dst = ust_get32(ic->body + 16);
	inner.payload = ic->body + hl;
	inner.payload_len = (uint16_t)(ic->body_len - hl);
	struct ust_ip_info info;
	ust_ipv4_info(st, &inner, &info);
	struct ust_ip_err e = {.ee = {.origin = UST_EE_ORIGIN_ICMP, .type = ic->type, .code = ic->code},
			       .quote = ic->body, .len = ic->body_len, .l4_off = hl};
	ust_ip_set_v4(e.ee.offender, ip->src);
	e.ee.hlim = ip->ttl;
	memcpy(e.ee.dst, info.dst, 16);
	bool tcp = inner.proto == UST_IPPROTO_TCP && ic->type == UST_ICMP_UNREACH;
	switch (ic->type) {
	case UST_ICMP_UNREACH:
		ust_stat_inc(st, UST_STAT_ICMP_UNREACH_IN);
		e.ee.err = (uint32_t)unreach_errno(ic->code, &e.hard);
		if (ic->code == UST_ICMP_UNREACH_NEEDFRAG) {
			e.ee.info = ic->mtu;
			/* RFC 1191: only a lower path MTU matters to TCP (its
			 * MSS follows it down). */
			tcp = ust_ipv4_pmtu_update(st, inner.dst, ic->mtu) && tcp;
		}
		break;
	case UST_ICMP_PARAM_PROB:
		e.ee.err = EPROTO;
		e.hard = true;
		e.ee.info = ic->id >> 8; /* the pointer */
		break;
	default:
		e.ee.err = EHOSTUNREACH;
		break;
	}
	if (ust_raw_any(st))
		ust_raw_icmp_error(st, &info, &e);
	if (inner.proto == UST_IPPROTO_UDP)
		ust_udp_icmp_error(st, &info, &e);
	else if (tcp)
		ust_tcp_icmp_error(st, &info, inner.payload, (int)e.ee.err);
	ust_pkt_free(pkt);
}

void
ust_icmp_input(struct ust_stack *st, struct ust_pkt *pkt, const struct ust_ipv4_view *ip)
{
	struct ust_icmp_view ic;
	enum ust_drop why = ust_icmp_parse(ust_pkt_data(pkt), pkt->len, &ic);
	if (why != UST_DROP_NONE) {
		ust_drop(st, pkt, why);
		return;
	}
	switch (ic.type) {
	case UST_ICMP_ECHO:
		ust_stat_inc(st, UST_STAT_ICMP_ECHO_IN);
		echo_reply(st, pkt, ip, &ic);
		return;
	case UST_ICMP_UNREACH:
	case UST_ICMP_TIME_EXCEEDED:
	case UST_ICMP_PARAM_PROB:
		error_in(st, pkt, ip, &ic);
		return;
	case UST_ICMP_ECHO_REPLY: {
		struct ust_ip_info info;
		ust_ipv4_info(st, ip, &info);
		if (ust_raw_any(st) && ust_raw_ping_input(st, pkt, &info, ic.id)) {
			ust_pkt_free(pkt);
			return;
		}
		ust_drop(st, pkt, UST_DROP_ICMP_TYPE);
		return;
	}
	default:
		ust_drop(st, pkt, UST_DROP_ICMP_TYPE);
		return;
	}
}

void
ust_icmp_send_unreach(struct ust_stack *st, const struct ust_pkt *orig,
		      const struct ust_ipv4_view *ip, uint8_t code)
{
	/* RFC 1122 3.2.2: never about broadcasts, non-first fragments or ICMP
	 * errors. */
	if (ust_ipv4_is_bcast(st, ip->dst) || ip->frag_off != 0)
		return;
	if (ip->proto == UST_IPPROTO_ICMP) {
		uint8_t t = ip->payload_len > 0 ? ip->payload[0] : 0;
		if (t != UST_ICMP_ECHO && t != UST_ICMP_ECHO_REPLY)
			return;
	}
	if (!take_token(st)) {
		st->stats.drop[UST_DROP_ICMP_RATE]++;
		return;
	}
	/* Quote from the offending datagram's IP header on. */
	const uint8_t *dgram = orig->buf + orig->l3_off;
	size_t dlen = orig->len + (orig->data_off - orig->l3_off);
	size_t quote = dlen < ICMP_QUOTE_MAX ? dlen : ICMP_QUOTE_MAX;
	struct ust_pkt *pkt = ust_stack_alloc(st);
	if (pkt == NULL)
		return;
	uint8_t *p = ust_pkt_append(pkt, (uint32_t)(UST_ICMP_HLEN + quote));
	if (p == NULL) {
		ust_drop(st, pkt, UST_DROP_NO_BUFFER);
		return;
	}
	memcpy(p + UST_ICMP_HLEN, dgram, quote);
	ust_icmp_build(p, UST_ICMP_UNREACH, code, 0, quote);
	struct ust_ipv4_tx tx = {.src = ip->dst, .dst = ip->src, .proto = UST_IPPROTO_ICMP,
				 .tos = 0xc0};
	ust_stat_inc(st, UST_STAT_ICMP_UNREACH_OUT);
	ust_ipv4_output(st, pkt, &tx);
}
