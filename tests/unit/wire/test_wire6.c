/* IPv6 and ICMPv6 parsers and builders of src/stack/wire: the extension
 * chain and its limits, options by their high bits, routing and fragment
 * headers, truncation at every length, ICMPv6 checksums and ND messages
 * with malformed options. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "stack/wire/bytes.h"
#include "stack/wire/csum.h"
#include "stack/wire/icmp6.h"
#include "stack/wire/ipv4.h"
#include "stack/wire/ipv6.h"
#include "stack/wire/udp.h"

static const uint8_t SRC[16] = {0x20, 0x01, 0, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};
static const uint8_t DST[16] = {0x20, 0x01, 0, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2};
static const uint8_t MCAST[16] = {0xff, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};

/* A datagram: fixed header naming `next`, then `ext` (extension headers),
 * then 8 bytes of UDP header. Returns its length. */
static size_t
dgram(uint8_t *out, uint8_t next, const uint8_t *ext, size_t ext_len, const uint8_t dst[16])
{
	size_t plen = ext_len + 8;
	ust_ipv6_build(out, 0, 0, (uint16_t)plen, next, 64, SRC, dst);
	memcpy(out + UST_IPV6_HLEN, ext, ext_len);
	memset(out + UST_IPV6_HLEN + ext_len, 0, 8);
	return UST_IPV6_HLEN + plen;
}

/* The byte of `pp` as stored: reading a bool that holds neither 0 nor 1
 * is itself undefined. */
static uint8_t
pp_byte(const struct ust_ipv6_view *v)
{
	uint8_t b;
	memcpy(&b, &v->pp, 1);
	return b;
}

static void
test_ipv6_plain_and_fields(void **state)
{
	(void)state;
	uint8_t p[128];
	ust_ipv6_build(p, 0xb8, 0xabcde, 8, UST_IPPROTO_UDP, 17, SRC, DST);
	memset(p + 40, 0, 8);
	struct ust_ipv6_view v;
	assert_int_equal(ust_ipv6_parse(p, 48 + 6 /* link padding */, &v), UST_DROP_NONE);
	assert_int_equal(v.tclass, 0xb8);
	assert_int_equal(v.flow, 0xabcde);
	assert_int_equal(v.hlim, 17);
	assert_int_equal(v.proto, UST_IPPROTO_UDP);
	assert_int_equal(v.l4_off, 40);
	assert_int_equal(v.next_off, 6);
	assert_memory_equal(v.src, SRC, 16);
	assert_false(v.frag);
	/* Every truncation is a drop, never a read past the end, and the
	 * view says no parameter problem (ust_ipv6_input reads `pp` of every
	 * refusal; fuzz_stack found it unset). */
	for (size_t n = 0; n < 48; n++) {
		memset(&v, 0xff, sizeof(v));
		assert_int_not_equal(ust_ipv6_parse(p, n, &v), UST_DROP_NONE);
		assert_int_equal(pp_byte(&v), 0);
	}
	p[0] = 0x45;
	memset(&v, 0xff, sizeof(v));
	assert_int_equal(ust_ipv6_parse(p, 48, &v), UST_DROP_IP6_VERSION);
	assert_int_equal(pp_byte(&v), 0);
	p[0] = 0x6b;
	ust_put16(p + 4, 0);
	memset(&v, 0xff, sizeof(v));
	assert_int_equal(ust_ipv6_parse(p, 48, &v), UST_DROP_IP6_LEN);
	assert_int_equal(pp_byte(&v), 0);
}

static void
test_ipv6_chain_walked(void **state)
{
	(void)state;
	/* Hop-by-hop (Router Alert, skipped: 00 high bits), destination options
	 * (PadN), routing with no segments left, then UDP. */
	const uint8_t ext[24] = {UST_IPPROTO_DSTOPTS, 0, 5, 2, 0, 0, 1, 0,
				 UST_IPPROTO_ROUTING, 0, 1, 4, 0, 0, 0, 0,
				 UST_IPPROTO_UDP, 0, 0, 0, 0, 0, 0, 0};
	uint8_t p[128];
	size_t n = dgram(p, UST_IPPROTO_HOPOPTS, ext, sizeof(ext), DST);
	struct ust_ipv6_view v;
	assert_int_equal(ust_ipv6_parse(p, n, &v), UST_DROP_NONE);
	assert_int_equal(v.proto, UST_IPPROTO_UDP);
	assert_int_equal(v.l4_off, 64);
	assert_int_equal(v.next_off, 56);
	for (size_t k = 0; k < n; k++)
		assert_int_not_equal(ust_ipv6_parse(p, k, &v), UST_DROP_NONE);
}

static void
test_ipv6_hbh_not_first_is_parameter_problem(void **state)
{
	(void)state;
	const uint8_t ext[16] = {UST_IPPROTO_HOPOPTS, 0, 1, 4, 0, 0, 0, 0,
				 UST_IPPROTO_UDP, 0, 1, 4, 0, 0, 0, 0};
	uint8_t p[128];
	size_t n = dgram(p, UST_IPPROTO_DSTOPTS, ext, sizeof(ext), DST);
	struct ust_ipv6_view v;
	assert_int_equal(ust_ipv6_parse(p, n, &v), UST_DROP_IP6_HBH_PLACE);
	assert_true(v.pp);
	assert_int_equal(v.pp_code, UST_IP6_PP_NEXT);
	assert_int_equal(v.pp_ptr, 40); /* the Next Header byte that named it */
}

static void
test_ipv6_unknown_option_by_high_bits(void **state)
{
	(void)state;
	static const struct {
		uint8_t type;
		const uint8_t *dst;
		enum ust_drop why;
		bool pp;
	} cases[] = {
		{0x1e, DST, UST_DROP_NONE, false},           /* 00: skip */
		{0x5e, DST, UST_DROP_IP6_OPT_UNKNOWN, false}, /* 01: discard */
		{0x9e, DST, UST_DROP_IP6_OPT_UNKNOWN, true},  /* 10: discard, always ICMP */
		{0x9e, MCAST, UST_DROP_IP6_OPT_UNKNOWN, true},
		{0xde, DST, UST_DROP_IP6_OPT_UNKNOWN, true},  /* 11: ICMP unless multicast */
		{0xde, MCAST, UST_DROP_IP6_OPT_UNKNOWN, false},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const uint8_t ext[8] = {UST_IPPROTO_UDP, 0, 1, 0, cases[i].type, 2, 0, 0};
		uint8_t p[128];
		size_t n = dgram(p, UST_IPPROTO_DSTOPTS, ext, sizeof(ext), cases[i].dst);
		struct ust_ipv6_view v;
		assert_int_equal(ust_ipv6_parse(p, n, &v), cases[i].why);
		assert_int_equal(v.pp, cases[i].pp);
		if (v.pp) {
			assert_int_equal(v.pp_code, UST_IP6_PP_OPTION);
			assert_int_equal(v.pp_ptr, 44);
		}
	}
	/* An option whose length runs past its header. */
	const uint8_t bad[8] = {UST_IPPROTO_UDP, 0, 1, 0, 0x1e, 4, 0, 0};
	uint8_t p[128];
	size_t n = dgram(p, UST_IPPROTO_DSTOPTS, bad, sizeof(bad), DST);
	struct ust_ipv6_view v;
	assert_int_equal(ust_ipv6_parse(p, n, &v), UST_DROP_IP6_OPT_BAD);
}

static void
test_ipv6_chain_bounded(void **state)
{
	(void)state;
	/* UST_IPV6_EXT_MAX destination options headers pass; one more does not. */
	uint8_t ext[8 * (UST_IPV6_EXT_MAX + 1)];
	for (unsigned k = 0; k <= UST_IPV6_EXT_MAX; k++) {
		const uint8_t h[8] = {UST_IPPROTO_DSTOPTS, 0, 1, 4, 0, 0, 0, 0};
		memcpy(ext + 8 * k, h, 8);
	}
	uint8_t p[256];
	struct ust_ipv6_view v;
	ext[8 * (UST_IPV6_EXT_MAX - 1)] = UST_IPPROTO_UDP;
	size_t n = dgram(p, UST_IPPROTO_DSTOPTS, ext, 8 * UST_IPV6_EXT_MAX, DST);
	assert_int_equal(ust_ipv6_parse(p, n, &v), UST_DROP_NONE);
	ext[8 * (UST_IPV6_EXT_MAX - 1)] = UST_IPPROTO_DSTOPTS;
	ext[8 * UST_IPV6_EXT_MAX] = UST_IPPROTO_UDP;
	n = dgram(p, UST_IPPROTO_DSTOPTS, ext, sizeof(ext), DST);
	assert_int_equal(ust_ipv6_parse(p, n, &v), UST_DROP_IP6_EXT_CHAIN);
	/* A header length beyond the payload. */
	const uint8_t longh[8] = {UST_IPPROTO_UDP, 3, 1, 4, 0, 0, 0, 0};
	n = dgram(p, UST_IPPROTO_DSTOPTS, longh, 8, DST);
	assert_int_equal(ust_ipv6_parse(p, n, &v), UST_DROP_IP6_EXT_LEN);
}

static void
test_ipv6_routing_header_type0_refused(void **state)
{
	(void)state;
	/* RFC 5095: type 0 with segments left is refused with a parameter
	 * problem at the routing type; with none left it is skipped. */
	uint8_t ext[24] = {UST_IPPROTO_UDP, 2, 0, 1, 0, 0, 0, 0};
	uint8_t p[128];
	size_t n = dgram(p, UST_IPPROTO_ROUTING, ext, sizeof(ext), DST);
	struct ust_ipv6_view v;
	assert_int_equal(ust_ipv6_parse(p, n, &v), UST_DROP_IP6_RH);
	assert_true(v.pp);
	assert_int_equal(v.pp_code, UST_IP6_PP_HEADER);
	assert_int_equal(v.pp_ptr, 42);
	ext[3] = 0;
	n = dgram(p, UST_IPPROTO_ROUTING, ext, sizeof(ext), DST);
	assert_int_equal(ust_ipv6_parse(p, n, &v), UST_DROP_NONE);
	assert_int_equal(v.proto, UST_IPPROTO_UDP);
}

static void
test_ipv6_fragments(void **state)
{
	(void)state;
	uint8_t fh[8];
	uint8_t p[128];
	struct ust_ipv6_view v;
	/* A first fragment: the walk stops at the fragment header. */
	ust_ipv6_frag_build(fh, UST_IPPROTO_UDP, 0, true, 0x01020304);
	size_t n = dgram(p, UST_IPPROTO_FRAGMENT, fh, 8, DST);
	assert_int_equal(ust_ipv6_parse(p, n, &v), UST_DROP_NONE);
	assert_true(v.frag);
	assert_true(v.mf);
	assert_int_equal(v.frag_id, 0x01020304);
	assert_int_equal(v.unfrag_len, 40);
	assert_int_equal(v.frag_next_off, 6);
	assert_int_equal(v.l4_off, 48);
	/* RFC 6946: an atomic fragment is read on as a whole datagram. */
	ust_ipv6_frag_build(fh, UST_IPPROTO_UDP, 0, false, 7);
	n = dgram(p, UST_IPPROTO_FRAGMENT, fh, 8, DST);
	assert_int_equal(ust_ipv6_parse(p, n, &v), UST_DROP_NONE);
	assert_false(v.frag);
	assert_int_equal(v.proto, UST_IPPROTO_UDP);
	assert_int_equal(v.l4_off, 48);
	/* Not the last, and not a multiple of 8 bytes. */
	ust_ipv6_frag_build(fh, UST_IPPROTO_UDP, 8, true, 7);
	n = dgram(p, UST_IPPROTO_FRAGMENT, fh, 8, DST);
	ust_put16(p + 4, 8 + 5);
	assert_int_equal(ust_ipv6_parse(p, 40 + 13, &v), UST_DROP_IP6_FRAG_BAD);
	assert_int_equal(v.pp_ptr, 4);
	/* Reaching beyond 65535. */
	ust_ipv6_frag_build(fh, UST_IPPROTO_UDP, 65528, false, 7);
	n = dgram(p, UST_IPPROTO_FRAGMENT, fh, 8, DST);
	assert_int_equal(ust_ipv6_parse(p, n, &v), UST_DROP_IP6_FRAG_TOO_BIG);
	assert_int_equal(v.pp_ptr, 42);
}

static void
test_ipv6_group_addresses(void **state)
{
	(void)state;
	uint8_t sn[16], mac[6];
	ust_ipv6_solicited_node(DST, sn);
	const uint8_t want[16] = {0xff, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0xff, 0, 0, 2};
	assert_memory_equal(sn, want, 16);
	ust_ipv6_mcast_mac(sn, mac);
	const uint8_t wmac[6] = {0x33, 0x33, 0xff, 0, 0, 2};
	assert_memory_equal(mac, wmac, 6);
}

static void
test_udp_over_ipv6_checksum(void **state)
{
	(void)state;
	uint8_t u[12] = {0, 0, 0, 0, 0, 0, 0, 0, 'a', 'b', 'c', 'd'};
	uint32_t ps = ust_csum_pseudo6(SRC, DST, UST_IPPROTO_UDP, sizeof(u));
	ust_udp_build(u, 5000, 7, sizeof(u), ps, false);
	struct ust_udp_view v;
	assert_int_equal(ust_udp_parse(u, sizeof(u), ps, 0, &v), UST_DROP_NONE);
	/* The addresses are covered: another destination fails. */
	uint32_t other = ust_csum_pseudo6(SRC, MCAST, UST_IPPROTO_UDP, sizeof(u));
	assert_int_equal(ust_udp_parse(u, sizeof(u), other, 0, &v), UST_DROP_UDP_CSUM);
}

static void
test_icmp6_checksum_and_truncation(void **state)
{
	(void)state;
	uint8_t m[16] = {0};
	memcpy(m + 8, "pingdata", 8);
	ust_icmp6_build(m, UST_ICMP6_ECHO, 0, 0x12340001, 8, SRC, DST);
	struct ust_icmp6_view v;
	assert_int_equal(ust_icmp6_parse(m, 16, SRC, DST, &v), UST_DROP_NONE);
	assert_int_equal(v.type, UST_ICMP6_ECHO);
	assert_int_equal(v.rest, 0x12340001);
	assert_int_equal(v.body_len, 8);
	assert_int_equal(ust_icmp6_parse(m, 16, SRC, MCAST, &v), UST_DROP_ICMP6_CSUM);
	for (size_t n = 0; n < UST_ICMP6_HLEN; n++)
		assert_int_equal(ust_icmp6_parse(m, n, SRC, DST, &v), UST_DROP_ICMP6_SHORT);
	m[12] ^= 1;
	assert_int_equal(ust_icmp6_parse(m, 16, SRC, DST, &v), UST_DROP_ICMP6_CSUM);
}

/* An ND message of `type` with `body` after the 8-byte header, parsed. */
static enum ust_drop
nd(uint8_t type, uint8_t code, uint32_t rest, const uint8_t *body, size_t len,
   struct ust_nd_view *out)
{
	uint8_t m[256];
	memcpy(m + 8, body, len);
	ust_icmp6_build(m, type, code, rest, len, SRC, DST);
	struct ust_icmp6_view ic;
	assert_int_equal(ust_icmp6_parse(m, 8 + len, SRC, DST, &ic), UST_DROP_NONE);
	return ust_nd_parse(&ic, out);
}

static void
test_nd_messages_and_options(void **state)
{
	(void)state;
	uint8_t b[64];
	const uint8_t mac[6] = {2, 0, 0, 0, 0, 1};
	struct ust_nd_view v;
	size_t n = ust_nd_build(b, DST, 1, mac);
	assert_int_equal(n, 24);
	assert_int_equal(nd(UST_ND_NS, 0, 0, b, n, &v), UST_DROP_NONE);
	assert_memory_equal(v.target, DST, 16);
	assert_true(v.has_slla);
	assert_memory_equal(v.slla, mac, 6);
	n = ust_nd_build(b, DST, 2, mac);
	assert_int_equal(nd(UST_ND_NA, 0, 0x60000000u, b, n, &v), UST_DROP_NONE);
	assert_true(v.solicited);
	assert_true(v.override);
	assert_false(v.router);
	assert_true(v.has_tlla);
	/* Code not 0, short body, multicast target, zero-length and overrunning options. */
	assert_int_equal(nd(UST_ND_NS, 1, 0, b, n, &v), UST_DROP_ND_BAD);
	assert_int_equal(nd(UST_ND_NS, 0, 0, b, 12, &v), UST_DROP_ND_BAD);
	ust_nd_build(b, MCAST, 1, mac);
	assert_int_equal(nd(UST_ND_NS, 0, 0, b, 24, &v), UST_DROP_ND_BAD);
	ust_nd_build(b, DST, 1, mac);
	b[17] = 0;
	assert_int_equal(nd(UST_ND_NS, 0, 0, b, 24, &v), UST_DROP_ND_BAD);
	b[17] = 2;
	assert_int_equal(nd(UST_ND_NS, 0, 0, b, 24, &v), UST_DROP_ND_BAD);
	/* An unknown option is skipped. */
	b[16] = 99;
	b[17] = 1;
	assert_int_equal(nd(UST_ND_NS, 0, 0, b, 24, &v), UST_DROP_NONE);
	assert_false(v.has_slla);
}

static void
test_nd_router_advertisement(void **state)
{
	(void)state;
	uint8_t b[8 + 8 + 32 + 8] = {0};
	ust_put32(b, 30000);   /* reachable */
	ust_put32(b + 4, 1000); /* retrans */
	b[8] = 5;               /* MTU option */
	b[9] = 1;
	ust_put32(b + 12, 1400);
	b[16] = 3; /* prefix information */
	b[17] = 4;
	b[18] = 64;
	b[19] = 0xc0;
	ust_put32(b + 20, 3600);
	ust_put32(b + 24, 1800);
	memcpy(b + 32, DST, 8);
	b[48] = 1; /* source link-layer address */
	b[49] = 1;
	b[50] = 2;
	struct ust_nd_view v;
	assert_int_equal(nd(UST_ND_RA, 0, 64u << 24 | 1800, b, sizeof(b), &v), UST_DROP_NONE);
	assert_int_equal(v.cur_hlim, 64);
	assert_int_equal(v.router_lifetime_s, 1800);
	assert_int_equal(v.reachable_ms, 30000);
	assert_int_equal(v.mtu, 1400);
	assert_int_equal(v.nprefix, 1);
	assert_int_equal(v.prefix[0].len, 64);
	assert_true(v.prefix[0].onlink);
	assert_true(v.prefix[0].autonomous);
	assert_int_equal(v.prefix[0].valid_s, 3600);
	assert_memory_equal(v.prefix[0].prefix, DST, 8);
	assert_true(v.has_slla);
	/* A prefix option of the wrong size. */
	b[17] = 3;
	assert_int_equal(nd(UST_ND_RA, 0, 0, b, 40, &v), UST_DROP_ND_BAD);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ipv6_plain_and_fields),
		cmocka_unit_test(test_ipv6_chain_walked),
		cmocka_unit_test(test_ipv6_hbh_not_first_is_parameter_problem),
		cmocka_unit_test(test_ipv6_unknown_option_by_high_bits),
		cmocka_unit_test(test_ipv6_chain_bounded),
		cmocka_unit_test(test_ipv6_routing_header_type0_refused),
		cmocka_unit_test(test_ipv6_fragments),
		cmocka_unit_test(test_ipv6_group_addresses),
		cmocka_unit_test(test_udp_over_ipv6_checksum),
		cmocka_unit_test(test_icmp6_checksum_and_truncation),
		cmocka_unit_test(test_nd_messages_and_options),
		cmocka_unit_test(test_nd_router_advertisement),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
