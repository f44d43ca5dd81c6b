/*
 * IPv6 header and extension headers (RFC 8200): parse with the chain walked
 * to the upper-layer header, and build.
 *
 * The walk is bounded (UST_IPV6_EXT_MAX headers) and checks every length
 * against the packet. Hop-by-hop and destination options are skipped or
 * refused as the two high bits of an unknown option's type say (RFC 8200
 * 4.2); a refusal that asks for an ICMPv6 parameter problem fills `pp` so
 * the caller can answer. A routing header with segments left is refused as
 * RFC 5095 asks for type 0 (we do not forward); with none left it is skipped.
 * A fragment header ends the walk unless it is an atomic fragment
 * (RFC 6946), which is read on as if it were not there.
 */
#ifndef UST_WIRE_IPV6_H
#define UST_WIRE_IPV6_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../stats.h"

#define UST_IPV6_HLEN 40
#define UST_IPV6_FRAG_HLEN 8
#define UST_IPV6_MIN_MTU 1280
#define UST_IPPROTO_HOPOPTS 0
#define UST_IPPROTO_ROUTING 43
#define UST_IPPROTO_FRAGMENT 44
#define UST_IPPROTO_ICMPV6 58
#define UST_IPPROTO_NONE 59
#define UST_IPPROTO_DSTOPTS 60
/* Extension headers walked at most before the packet is dropped. */
#define UST_IPV6_EXT_MAX 8

/* ICMPv6 parameter problem codes (RFC 4443 3.4). */
#define UST_IP6_PP_HEADER 0 /* erroneous header field */
#define UST_IP6_PP_NEXT 1   /* unrecognized Next Header */
#define UST_IP6_PP_OPTION 2 /* unrecognized IPv6 option */

struct ust_ipv6_view {
	uint8_t tclass;        /* traffic class */
	uint32_t flow;         /* flow label, 20 bits */
	uint16_t payload_len;  /* bytes after the fixed header */
	uint8_t hlim;          /* hop limit */
	uint8_t src[16];       /* source address */
	uint8_t dst[16];       /* destination address */
	uint8_t proto;         /* upper-layer protocol after the chain (UST_IPPROTO_*) */
	uint16_t l4_off;       /* offset of the upper-layer header from the IPv6 header */
	uint16_t next_off;     /* offset of the Next Header byte that names proto */
	bool frag;             /* a non-atomic fragment: proto/l4_off describe its data */
	bool mf;               /* fragment: more follow */
	uint16_t frag_off;     /* fragment: offset of its data, bytes */
	uint32_t frag_id;      /* fragment: identification */
	uint16_t unfrag_len;   /* fragment: bytes before the fragment header */
	uint16_t frag_next_off; /* fragment: offset of the Next Header byte naming it */
	bool pp;               /* the drop asks for an ICMPv6 parameter problem */
	uint8_t pp_code;       /* its code (UST_IP6_PP_*) */
	uint32_t pp_ptr;       /* its pointer: offset of the bad byte from the IPv6 header */
};

/*
 * Validates version, the payload length against `len` (bytes beyond it are
 * link padding) and the extension chain. Returns UST_DROP_NONE with the view,
 * or why; for a drop with out->pp set the caller may send a parameter
 * problem (never for an option of type 10xxxxxx/11xxxxxx refused in a packet
 * to multicast when the type is 11xxxxxx, RFC 8200 4.2).
 */
enum ust_drop ust_ipv6_parse(const uint8_t *p, size_t len, struct ust_ipv6_view *out);
/* Write the 40-byte fixed header; `next` is its Next Header. */
void ust_ipv6_build(uint8_t *out, uint8_t tclass, uint32_t flow, uint16_t payload_len, uint8_t next,
		    uint8_t hlim, const uint8_t src[16], const uint8_t dst[16]);
/* Write an 8-byte fragment header (RFC 8200 4.5); off in bytes, a multiple of 8. */
void ust_ipv6_frag_build(uint8_t *out, uint8_t next, uint16_t off, bool mf, uint32_t id);

static inline bool
ust_ipv6_is_mcast(const uint8_t a[16])
{
	return a[0] == 0xff;
}

static inline bool
ust_ipv6_is_linklocal(const uint8_t a[16])
{
	return a[0] == 0xfe && (a[1] & 0xc0) == 0x80;
}

static inline bool
ust_ipv6_is_loopback(const uint8_t a[16])
{
	for (int i = 0; i < 15; i++)
		if (a[i] != 0)
			return false;
	return a[15] == 1;
}

/* ff02::1:ffXX:XXXX for `a` (RFC 4291 2.7.1). */
void ust_ipv6_solicited_node(const uint8_t a[16], uint8_t out[16]);
/* 33:33 and the low 32 bits of a multicast address (RFC 2464 7). */
void ust_ipv6_mcast_mac(const uint8_t a[16], uint8_t mac[6]);

#endif
