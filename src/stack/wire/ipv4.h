/* IPv4 header (RFC 791): parse with full validation, and build. */
#ifndef UST_WIRE_IPV4_H
#define UST_WIRE_IPV4_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../stats.h"

#define UST_IPV4_HLEN 20
#define UST_IPPROTO_ICMP 1
#define UST_IPPROTO_TCP 6
#define UST_IPPROTO_UDP 17
#define UST_IPPROTO_RAW 255 /* raw(7): send whole datagrams, receive nothing */
#define UST_IPV4_BROADCAST 0xffffffffu

struct ust_ipv4_view {
	uint8_t hlen;          /* header bytes, 20..60 */
	uint8_t tos;           /* DSCP + ECN */
	uint16_t tot_len;      /* header + payload bytes */
	uint16_t id;           /* identification */
	uint16_t frag_off;     /* fragment offset in bytes */
	bool df;               /* don't fragment */
	bool mf;               /* more fragments */
	uint8_t ttl;           /* time to live */
	uint8_t proto;         /* UST_IPPROTO_* */
	uint32_t src;          /* host order */
	uint32_t dst;          /* host order */
	const uint8_t *opts;   /* options, hlen - 20 bytes */
	const uint8_t *payload; /* first payload byte */
	uint16_t payload_len;  /* tot_len - hlen */
};

/*
 * Validates version, header length, total length against `len` (the frame may
 * carry Ethernet padding beyond tot_len), option TLV framing, and the header
 * checksum unless ol_flags says the NIC verified it (UST_PKT_RX_IP_CSUM_*).
 */
enum ust_drop ust_ipv4_parse(const uint8_t *p, size_t len, uint32_t ol_flags,
			     struct ust_ipv4_view *out);
/* Write a 20-byte header (no options) from v; fills the checksum unless
 * `csum_by_nic`. Uses hlen 20 and v->tot_len, id, frag_off, df, mf, ttl,
 * proto, tos, src, dst. */
void ust_ipv4_build(uint8_t *out, const struct ust_ipv4_view *v, bool csum_by_nic);

static inline bool
ust_ipv4_is_mcast(uint32_t a)
{
	return (a >> 28) == 0xe;
}

#endif
