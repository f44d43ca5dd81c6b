/*
 * ICMPv6 (RFC 4443): echo replies; errors out through a token bucket
 * (Linux's icmp_msgs_per_sec/icmp_msgs_burst apply to ICMPv6 too); errors
 * in, checked against a datagram we could have sent and handed to UDP and
 * TCP; packet too big recorded as the path MTU (RFC 8201). ND and MLD
 * queries go to nd6.c.
 */
#include "icmp6.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "ipv6.h"
#include "nd6.h"
#include "raw.h"
#include "tcp/tcp.h"
#include "udp.h"
#include "wire/bytes.h"
#include "wire/icmp6.h"

#define ICMP6_RATE_PER_S 1000
#define ICMP6_BURST 50
/* RFC 4443 2.4 (c): as much of the offending packet as fits in 1280. */
#define ICMP6_QUOTE_MAX (UST_IPV6_MIN_MTU - UST_IPV6_HLEN - UST_ICMP6_HLEN)

struct ust_icmp6 {
	uint64_t tokens_ts_ns; /* when tokens was last refilled */
	uint32_t tokens;       /* errors we may send now */
};

int
ust_icmp6_init(struct ust_stack *st)
{
	st->icmp6 = calloc(1, sizeof(*st->icmp6));
	if (st->icmp6 == NULL)
		return -ENOMEM;
	st->icmp6->tokens = ICMP6_BURST;
	st->icmp6->tokens_ts_ns = st->now_ns;
	return 0;
}

void
ust_icmp6_fini(struct ust_stack *st)
{
	free(st->icmp6);
	st->icmp6 = NULL;
}

static bool
take_token(struct ust_stack *st)
{
	struct ust_icmp6 *ic = st->icmp6;
	uint64_t add = (st->now_ns - ic->tokens_ts_ns) * ICMP6_RATE_PER_S / UST_NS_PER_S;
	if (add > 0) {
		ic->tokens = (uint32_t)(ic->tokens + add > ICMP6_BURST ? ICMP6_BURST : ic->tokens + add);
		ic->tokens_ts_ns += add * UST_NS_PER_S / ICMP6_RATE_PER_S;
	}
	if (ic->tokens == 0)
		return false;
	ic->tokens--;
	return true;
}

static void
echo_reply(struct ust_stack *st, struct ust_pkt *req, const struct ust_ipv6_view *ip,
	   const struct ust_icmp6_view *ic)
{
	struct ust_ipv6_tx tx = {.proto = UST_IPPROTO_ICMPV6, .tclass = ip->tclass};
	/* A reply to a group comes from our own address for the asker. */
	if (ust_ipv6_is_mcast(ip->dst))
		ust_ipv6_source(st, ip->src, tx.src);
	else
		memcpy(tx.src, ip->dst, 16);
	memcpy(tx.dst, ip->src, 16);
	/* Reuse the request's buffer: the reply has the same size. */
	ust_icmp6_build(ust_pkt_data(req), UST_ICMP6_ECHO_REPLY, 0, ic->rest, ic->body_len, tx.src,
			tx.dst);
	req->ol_flags = 0;
	ust_stat_inc(st, UST_STAT_ICMP6_ECHO_REPLY_OUT);
	ust_ipv6_output(st, req, &tx);
}

/* icmpv6_err_convert: the errno of an error and whether it is "fatal" (a
 * connected socket hears of it without IPV6_RECVERR). */
static int
error_errno(uint8_t type, uint8_t code, bool *hard)
{
	*hard = true;
	switch (type) {
	case UST_ICMP6_UNREACH:
		switch (code) {
		case UST_ICMP6_UNREACH_NOROUTE:
			*hard = false;
			return ENETUNREACH;
		case UST_ICMP6_UNREACH_ADMIN:
		case UST_ICMP6_UNREACH_POLICY:
		case UST_ICMP6_UNREACH_REJECT:
			return EACCES;
		case UST_ICMP6_UNREACH_PORT:
			return ECONNREFUSED;
		default:
			*hard = false;
			return EHOSTUNREACH;
		}
	case UST_ICMP6_PKT_TOO_BIG:
		return EMSGSIZE;
	case UST_ICMP6_PARAM_PROB:
		return EPROTO;
	default:
		*hard = false;
		return EHOSTUNREACH;
	}
}

/* An error about a datagram we sent: the quote is its IPv6 header, any
 * extension headers, and at least 8 bytes of its L4 header. */
static void
error_in(struct ust_stack *st, struct ust_pkt *pkt, const struct ust_ipv6_view *ip,
	 const struct ust_icmp6_view *ic)
{
	const uint8_t *q = ic->body;
	size_t n = ic->body_len;
	if (n < UST_IPV6_HLEN + 8 || (q[0] >> 4) != 6 || !ust_ipv6_is_local(st, q + 8)) {
		ust_drop(st, pkt, UST_DROP_ICMP6_ERR_BAD);
		return;
	}
	uint8_t next = q[6];
	size_t off = UST_IPV6_HLEN;
	for (unsigned i = 0; i < UST_IPV6_EXT_MAX && off + 8 <= n; i++) {
		if (next == UST_IPPROTO_FRAGMENT) {
			next = q[off];
			off += UST_IPV6_FRAG_HLEN;
		} else if (next == UST_IPPROTO_HOPOPTS || next == UST_IPPROTO_DSTOPTS ||
			   next == UST_IPPROTO_ROUTING) {
			next = q[off];
			off += ((size_t)q[off + 1] + 1) * 8;
		} else {
			break;
		}
	}
	if (off + 8 > n || next == UST_IPPROTO_FRAGMENT || next == UST_IPPROTO_HOPOPTS ||
	    next == UST_IPPROTO_DSTOPTS || next == UST_IPPROTO_ROUTING) {
		ust_drop(st, pkt, UST_DROP_ICMP6_ERR_BAD);
		return;
	}
	ust_stat_inc(st, UST_STAT_ICMP6_ERR_IN);
	struct ust_ip_info inner = {.family = UST_AF_INET6, .proto = next};
	memcpy(inner.src, q + 8, 16);
	memcpy(inner.dst, q + 24, 16);
	struct ust_ip_err e = {.ee = {.origin = UST_EE_ORIGIN_ICMP6, .type = ic->type, .code = ic->code},
			       .quote = q, .len = n, .l4_off = off};
	e.ee.err = (uint32_t)error_errno(ic->type, ic->code, &e.hard);
	memcpy(e.ee.offender, ip->src, 16);
	e.ee.hlim = ip->hlim;
	memcpy(e.ee.dst, inner.dst, 16);
	bool tcp = next == UST_IPPROTO_TCP;
	if (ic->type == UST_ICMP6_PKT_TOO_BIG || ic->type == UST_ICMP6_PARAM_PROB)
		e.ee.info = ic->rest; /* the MTU, the pointer */
	if (ic->type == UST_ICMP6_PKT_TOO_BIG) {
		ust_stat_inc(st, UST_STAT_ICMP6_PTB_IN);
		/* Only a lower MTU matters to TCP: its MSS follows it down. */
		tcp = ust_ipv6_pmtu_update(st, inner.dst, ic->rest) && tcp;
	}
	if (ust_raw_any(st))
		ust_raw_icmp_error(st, &inner, &e);
	if (next == UST_IPPROTO_UDP)
		ust_udp_icmp_error(st, &inner, &e);
	else if (tcp)
		ust_tcp_icmp_error(st, &inner, q + off, (int)e.ee.err);
	ust_pkt_free(pkt);
}

void
ust_icmp6_input(struct ust_stack *st, struct ust_pkt *pkt, const struct ust_ipv6_view *ip)
{
	struct ust_icmp6_view ic;
	enum ust_drop why = ust_icmp6_parse(ust_pkt_data(pkt), pkt->len, ip->src, ip->dst, &ic);
	if (why != UST_DROP_NONE) {
		ust_drop(st, pkt, why);
		return;
	}
	switch (ic.type) {
	case UST_ICMP6_ECHO:
		ust_stat_inc(st, UST_STAT_ICMP6_ECHO_IN);
		echo_reply(st, pkt, ip, &ic);
		return;
	case UST_ICMP6_ECHO_REPLY: {
		struct ust_ip_info info;
		ust_ipv6_info(ip, &info);
		if (ust_raw_any(st) && ust_raw_ping_input(st, pkt, &info, (uint16_t)(ic.rest >> 16))) {
			ust_pkt_free(pkt);
			return;
		}
		ust_drop(st, pkt, UST_DROP_ICMP6_TYPE);
		return;
	}
	case UST_ICMP6_UNREACH:
	case UST_ICMP6_PKT_TOO_BIG:
	case UST_ICMP6_TIME_EXCEEDED:
	case UST_ICMP6_PARAM_PROB:
		error_in(st, pkt, ip, &ic);
		return;
	case UST_ICMP6_MLD_QUERY:
	case UST_ND_RS:
	case UST_ND_RA:
	case UST_ND_NS:
	case UST_ND_NA:
		ust_nd6_input(st, pkt, ip, &ic);
		return;
	default:
		/* RFC 4443 2.4 (b): unknown informational messages are dropped
		 * silently; so are redirects, which a one-link host can ignore. */
		ust_drop(st, pkt, UST_DROP_ICMP6_TYPE);
		return;
	}
}

void
ust_icmp6_send_error(struct ust_stack *st, const struct ust_pkt *orig,
		     const struct ust_ipv6_view *ip, uint8_t type, uint8_t code, uint32_t param)
{
	const uint8_t *dgram = orig->buf + orig->l3_off;
	/* RFC 4443 2.4 (e). */
	if (ust_ipv6_is_mcast(ip->src) || ust_ip_eq(ip->src, ust_ip_any6))
		return;
	if (ust_ipv6_is_mcast(ip->dst) && type != UST_ICMP6_PKT_TOO_BIG &&
	    !(type == UST_ICMP6_PARAM_PROB && code == UST_IP6_PP_OPTION))
		return;
	if (ip->proto == UST_IPPROTO_ICMPV6 && ip->l4_off < orig->len + (orig->data_off - orig->l3_off) &&
	    dgram[ip->l4_off] < 128)
		return;
	if (!take_token(st)) {
		st->stats.drop[UST_DROP_ICMP6_RATE]++;
		return;
	}
	size_t dlen = orig->len + (orig->data_off - orig->l3_off);
	size_t quote = dlen < ICMP6_QUOTE_MAX ? dlen : ICMP6_QUOTE_MAX;
	struct ust_pkt *pkt = ust_stack_alloc(st);
	if (pkt == NULL)
		return;
	uint8_t *p = ust_pkt_append(pkt, (uint32_t)(UST_ICMP6_HLEN + quote));
	if (p == NULL) {
		ust_drop(st, pkt, UST_DROP_NO_BUFFER);
		return;
	}
	memcpy(p + UST_ICMP6_HLEN, dgram, quote);
	struct ust_ipv6_tx tx = {.proto = UST_IPPROTO_ICMPV6};
	if (ust_ipv6_is_mcast(ip->dst) || !ust_ipv6_is_local(st, ip->dst))
		ust_ipv6_source(st, ip->src, tx.src);
	else
		memcpy(tx.src, ip->dst, 16);
	memcpy(tx.dst, ip->src, 16);
	ust_icmp6_build(p, type, code, param, quote, tx.src, tx.dst);
	ust_stat_inc(st, UST_STAT_ICMP6_ERR_OUT);
	ust_ipv6_output(st, pkt, &tx);
}
