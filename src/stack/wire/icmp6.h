/*
 * ICMPv6 (RFC 4443) with its pseudo-header checksum, and the Neighbor
 * Discovery messages and options (RFC 4861 4 and 4.6) and the MLDv2 report
 * (RFC 3810 5.2) that ride on it: parse into views, build into bytes.
 */
#ifndef UST_WIRE_ICMP6_H
#define UST_WIRE_ICMP6_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../stats.h"

#define UST_ICMP6_HLEN 8
#define UST_ICMP6_UNREACH 1
#define UST_ICMP6_PKT_TOO_BIG 2
#define UST_ICMP6_TIME_EXCEEDED 3
#define UST_ICMP6_PARAM_PROB 4
#define UST_ICMP6_ECHO 128
#define UST_ICMP6_ECHO_REPLY 129
#define UST_ICMP6_MLD_QUERY 130
#define UST_ND_RS 133
#define UST_ND_RA 134
#define UST_ND_NS 135
#define UST_ND_NA 136
#define UST_ND_REDIRECT 137
#define UST_ICMP6_MLD2_REPORT 143
#define UST_ICMP6_UNREACH_NOROUTE 0
#define UST_ICMP6_UNREACH_ADMIN 1
#define UST_ICMP6_UNREACH_ADDR 3
#define UST_ICMP6_UNREACH_PORT 4
#define UST_ICMP6_UNREACH_POLICY 5
#define UST_ICMP6_UNREACH_REJECT 6
#define UST_ND_MAX_PREFIX 4 /* prefix options kept from one RA */

struct ust_icmp6_view {
	uint8_t type;          /* UST_ICMP6_* / UST_ND_* */
	uint8_t code;          /* per type */
	uint32_t rest;         /* the 32 bits after the checksum */
	const uint8_t *body;   /* bytes after the 8-byte header */
	size_t body_len;       /* their count */
};

struct ust_nd_prefix {
	uint8_t prefix[16];   /* the prefix as sent */
	uint8_t len;          /* prefix length */
	bool onlink;          /* L flag */
	bool autonomous;      /* A flag */
	uint32_t valid_s;     /* valid lifetime, seconds */
	uint32_t preferred_s; /* preferred lifetime, seconds */
};

/* An NS, NA, RS or RA (RFC 4861 4.1-4.4) with its options. */
struct ust_nd_view {
	uint8_t target[16];    /* NS/NA: target address */
	bool router;           /* NA: R flag */
	bool solicited;        /* NA: S flag */
	bool override;         /* NA: O flag */
	uint8_t cur_hlim;      /* RA: hop limit to use, 0 = unspecified */
	uint16_t router_lifetime_s; /* RA: 0 = not a default router */
	uint32_t reachable_ms; /* RA: 0 = unspecified */
	uint32_t retrans_ms;   /* RA: 0 = unspecified */
	bool has_slla;         /* source link-layer address option present */
	bool has_tlla;         /* target link-layer address option present */
	uint8_t slla[6];       /* its address */
	uint8_t tlla[6];       /* its address */
	uint32_t mtu;          /* RA: MTU option, 0 = none */
	unsigned nprefix;      /* RA: prefix information options kept */
	struct ust_nd_prefix prefix[UST_ND_MAX_PREFIX]; /* RA: the first of them */
};

/* Checks the length and the checksum against the pseudo header of src/dst
 * (ICMPv6 has no offload). */
enum ust_drop ust_icmp6_parse(const uint8_t *p, size_t len, const uint8_t src[16],
			      const uint8_t dst[16], struct ust_icmp6_view *out);
/* Write the header and the checksum over header + `body_len` bytes that
 * already follow it at out + 8. */
void ust_icmp6_build(uint8_t *out, uint8_t type, uint8_t code, uint32_t rest, size_t body_len,
		     const uint8_t src[16], const uint8_t dst[16]);
/* Decode an ND message of `ic` (RFC 4861 6.1.1, 6.1.2, 7.1.1, 7.1.2: code 0,
 * minimum lengths, a multicast target, option lengths not 0 and within the
 * message). The hop limit and addresses are the caller's to check. */
enum ust_drop ust_nd_parse(const struct ust_icmp6_view *ic, struct ust_nd_view *out);
/* An NS or NA body (after the 8-byte header) with a link-layer address
 * option (type 1 source or 2 target) when lla != NULL; returns its bytes. */
size_t ust_nd_build(uint8_t *body, const uint8_t target[16], uint8_t opt_type, const uint8_t *lla);
/* An MLDv2 report body joining `group` (one record, no sources); returns
 * its bytes. The header's `rest` is (number of records) = 1. */
size_t ust_mld2_build(uint8_t *body, const uint8_t group[16]);

#endif
