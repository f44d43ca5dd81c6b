/*
 * SYN cookies (RFC 4987 3.6), used only when a listener's SYN queue is full.
 * The ISN we answer with encodes a keyed hash of the 4-tuple and the peer's
 * ISN, a 64-second counter, and an MSS index, so the final ACK alone can
 * create the connection. Like Linux without timestamps, window scaling and
 * SACK are not recorded in the cookie and are off for such connections.
 */
#include <string.h>

#include "tcp_var.h"

static const uint16_t mss_table[4] = {536, 1300, 1440, 1460};

#define COOKIE_PERIOD_NS (64 * UST_NS_PER_S)
#define COOKIE_MAX_AGE 2 /* periods: a cookie is good for 2-3 minutes */

static uint32_t
cookie_hash(struct ust_stack *st, const struct ust_ip_info *ip, const struct ust_tcp_view *th,
	    uint32_t count)
{
	uint8_t d[44];
	memcpy(d, ip->src, 16);
	memcpy(d + 16, ip->dst, 16);
	memcpy(d + 32, &th->sport, 2);
	memcpy(d + 34, &th->dport, 2);
	memcpy(d + 36, &count, 4);
	uint32_t tag = 0x4987;
	memcpy(d + 40, &tag, 4);
	return (uint32_t)tcp_siphash(st->tcp->secret, d, sizeof(d));
}

uint32_t
tcp_syncookie_make(struct ust_stack *st, const struct ust_ip_info *ip,
		   const struct ust_tcp_view *th, uint16_t *mss)
{
	uint16_t want = th->opts.has_mss ? th->opts.mss : TCP_DEFAULT_MSS;
	unsigned idx = 0;
	for (unsigned i = 0; i < 4; i++)
		if (mss_table[i] <= want)
			idx = i;
	*mss = mss_table[idx];
	uint32_t count = (uint32_t)(st->now_ns / COOKIE_PERIOD_NS);
	/* Top 6 bits: the counter; low 26 bits: hash + MSS index. */
	uint32_t h = cookie_hash(st, ip, th, count) + th->seq;
	return (count & 0x3f) << 26 | ((h << 2 | idx) & 0x3ffffff);
}

int
tcp_syncookie_check(struct ust_stack *st, const struct ust_ip_info *ip,
		    const struct ust_tcp_view *th, uint16_t *mss)
{
	uint32_t cookie = th->ack - 1;
	uint32_t now = (uint32_t)(st->now_ns / COOKIE_PERIOD_NS);
	uint32_t age = (now - (cookie >> 26)) & 0x3f;
	if (age > COOKIE_MAX_AGE)
		return -1;
	uint32_t count = now - age;
	/* The ACK's seq is the peer's ISN + 1. */
	uint32_t h = cookie_hash(st, ip, th, count) + th->seq - 1;
	for (unsigned idx = 0; idx < 4; idx++) {
		if (((h << 2 | idx) & 0x3ffffff) == (cookie & 0x3ffffff)) {
			*mss = mss_table[idx];
			return 0;
		}
	}
	return -1;
}
