/* Parsers and builders of src/stack/wire: known vectors, truncation at every
 * length, corruption, and build→parse round trips. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "stack/pkt.h"
#include "stack/wire/arp.h"
#include "stack/wire/bytes.h"
#include "stack/wire/csum.h"
#include "stack/wire/eth.h"
#include "stack/wire/icmp.h"
#include "stack/wire/ipv4.h"
#include "stack/wire/tcp.h"
#include "stack/wire/udp.h"

/* A real IPv4 header (from a capture) with its checksum 0xb861. */
static const uint8_t ip_hdr[20] = {0x45, 0x00, 0x00, 0x73, 0x00, 0x00, 0x40, 0x00, 0x40, 0x11,
				   0xb8, 0x61, 0xc0, 0xa8, 0x00, 0x01, 0xc0, 0xa8, 0x00, 0xc7};

static void
test_csum_rfc1071_example(void **state)
{
	(void)state;
	/* RFC 1071 4.1: the words 0001 f203 f4f5 f6f7 sum to ddf2. */
	const uint8_t d[8] = {0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7};
	assert_int_equal(ust_csum_fold(ust_csum_partial(d, 8, 0)), (uint16_t)~0xddf2);
	/* Odd length pads with a zero byte. */
	const uint8_t o[3] = {0x01, 0x02, 0x03};
	assert_int_equal(ust_csum_fold(ust_csum_partial(o, 3, 0)), (uint16_t)~(0x0102 + 0x0300));
	/* Summing in pieces (even split) equals summing at once. */
	uint32_t s = ust_csum_partial(d, 4, 0);
	assert_int_equal(ust_csum_fold(ust_csum_partial(d + 4, 4, s)), (uint16_t)~0xddf2);
}

static void
test_csum_real_ipv4_header(void **state)
{
	(void)state;
	assert_int_equal(ust_csum_fold(ust_csum_partial(ip_hdr, 20, 0)), 0);
	uint8_t h[20];
	memcpy(h, ip_hdr, 20);
	h[10] = h[11] = 0;
	assert_int_equal(ust_csum_fold(ust_csum_partial(h, 20, 0)), 0xb861);
}

static void
test_csum_incremental_update_rfc1624(void **state)
{
	(void)state;
	uint8_t h[20];
	memcpy(h, ip_hdr, 20);
	/* Decrement the TTL (0x40 → 0x3f) and patch the sum incrementally. */
	uint16_t old_w = ust_get16(h + 8), csum = ust_get16(h + 10);
	h[8] = 0x3f;
	uint16_t nc = ust_csum_update16(csum, old_w, ust_get16(h + 8));
	ust_put16(h + 10, nc);
	assert_int_equal(ust_csum_fold(ust_csum_partial(h, 20, 0)), 0);
}

static void
test_eth_parse_valid_vlan_truncated(void **state)
{
	(void)state;
	uint8_t f[64] = {0};
	const uint8_t dst[6] = {1, 2, 3, 4, 5, 6}, src[6] = {0x02, 0, 0, 0, 0, 9};
	ust_eth_build(f, dst, src, UST_ETHERTYPE_IPV4);
	struct ust_eth_view v;
	assert_int_equal(ust_eth_parse(f, 14, &v), UST_DROP_NONE);
	assert_int_equal(v.type, UST_ETHERTYPE_IPV4);
	assert_int_equal(v.hlen, 14);
	assert_memory_equal(v.src, src, 6);
	for (size_t n = 0; n < 14; n++)
		assert_int_equal(ust_eth_parse(f, n, &v), UST_DROP_ETH_SHORT);
	ust_put16(f + 12, UST_ETHERTYPE_VLAN);
	ust_put16(f + 16, UST_ETHERTYPE_ARP);
	assert_int_equal(ust_eth_parse(f, 17, &v), UST_DROP_ETH_SHORT);
	assert_int_equal(ust_eth_parse(f, 18, &v), UST_DROP_NONE);
	assert_int_equal(v.type, UST_ETHERTYPE_ARP);
	assert_int_equal(v.hlen, 18);
	f[6] |= 1; /* multicast source */
	assert_int_equal(ust_eth_parse(f, 18, &v), UST_DROP_ETH_SRC_MCAST);
}

static void
test_arp_roundtrip_truncated_bad_format(void **state)
{
	(void)state;
	struct ust_arp_view in = {.op = UST_ARP_OP_REPLY, .sha = {2, 1, 2, 3, 4, 5}, .spa = 0xc6120001,
				  .tha = {2, 9, 9, 9, 9, 9}, .tpa = 0xc6120002};
	uint8_t b[UST_ARP_LEN];
	ust_arp_build(b, &in);
	struct ust_arp_view out;
	assert_int_equal(ust_arp_parse(b, sizeof(b), &out), UST_DROP_NONE);
	assert_int_equal(out.op, in.op);
	assert_memory_equal(out.sha, in.sha, 6);
	assert_memory_equal(out.tha, in.tha, 6);
	assert_int_equal(out.spa, in.spa);
	assert_int_equal(out.tpa, in.tpa);
	for (size_t n = 0; n < UST_ARP_LEN; n++)
		assert_int_equal(ust_arp_parse(b, n, &out), UST_DROP_ARP_SHORT);
	b[5] = 16; /* IPv6-sized protocol addresses */
	assert_int_equal(ust_arp_parse(b, sizeof(b), &out), UST_DROP_ARP_FORMAT);
	b[5] = 4;
	ust_put16(b + 6, 3); /* RARP */
	assert_int_equal(ust_arp_parse(b, sizeof(b), &out), UST_DROP_ARP_OP);
}

static uint32_t
build_ip(uint8_t *p, uint16_t tot)
{
	struct ust_ipv4_view v = {.tot_len = tot, .id = 7, .df = true, .ttl = 64,
				  .proto = UST_IPPROTO_UDP, .src = 0xc6120001, .dst = 0xc6120002};
	ust_ipv4_build(p, &v, false);
	return tot;
}

static void
test_ipv4_roundtrip_and_every_truncation(void **state)
{
	(void)state;
	uint8_t p[64] = {0};
	build_ip(p, 28);
	struct ust_ipv4_view v;
	assert_int_equal(ust_ipv4_parse(p, 28, 0, &v), UST_DROP_NONE);
	assert_int_equal(v.src, 0xc6120001);
	assert_int_equal(v.dst, 0xc6120002);
	assert_true(v.df);
	assert_false(v.mf);
	assert_int_equal(v.payload_len, 8);
	assert_ptr_equal(v.payload, p + 20);
	/* Ethernet padding beyond tot_len is allowed. */
	assert_int_equal(ust_ipv4_parse(p, 46, 0, &v), UST_DROP_NONE);
	for (size_t n = 0; n < 20; n++)
		assert_int_equal(ust_ipv4_parse(p, n, 0, &v), UST_DROP_IP_SHORT);
	for (size_t n = 20; n < 28; n++)
		assert_int_equal(ust_ipv4_parse(p, n, 0, &v), UST_DROP_IP_TOTLEN);
}

static void
test_ipv4_corrupt_fields(void **state)
{
	(void)state;
	uint8_t p[64] = {0}, q[64];
	build_ip(p, 28);
	struct ust_ipv4_view v;
	memcpy(q, p, 64);
	q[0] = 0x65;
	assert_int_equal(ust_ipv4_parse(q, 28, 0, &v), UST_DROP_IP_VERSION);
	memcpy(q, p, 64);
	q[0] = 0x44; /* IHL 4 */
	assert_int_equal(ust_ipv4_parse(q, 28, 0, &v), UST_DROP_IP_HLEN);
	memcpy(q, p, 64);
	q[0] = 0x4f; /* IHL 15 = 60 bytes > 28 */
	assert_int_equal(ust_ipv4_parse(q, 28, 0, &v), UST_DROP_IP_HLEN);
	memcpy(q, p, 64);
	ust_put16(q + 2, 19);
	assert_int_equal(ust_ipv4_parse(q, 28, 0, &v), UST_DROP_IP_TOTLEN);
	memcpy(q, p, 64);
	q[11] ^= 0x10;
	assert_int_equal(ust_ipv4_parse(q, 28, 0, &v), UST_DROP_IP_CSUM);
	/* Unless the NIC already verified it, or flagged it bad. */
	assert_int_equal(ust_ipv4_parse(q, 28, UST_PKT_RX_IP_CSUM_GOOD, &v), UST_DROP_NONE);
	assert_int_equal(ust_ipv4_parse(p, 28, UST_PKT_RX_IP_CSUM_BAD, &v), UST_DROP_IP_CSUM);
}

static void
test_ipv4_options_framing(void **state)
{
	(void)state;
	uint8_t p[64] = {0};
	build_ip(p, 32);
	p[0] = 0x46; /* 24-byte header */
	p[20] = 1;   /* NOP */
	p[21] = 7;   /* record route */
	p[22] = 3;   /* length 3: fits */
	p[23] = 0;   /* EOL */
	ust_put16(p + 10, 0);
	ust_put16(p + 10, ust_csum_fold(ust_csum_partial(p, 24, 0)));
	struct ust_ipv4_view v;
	assert_int_equal(ust_ipv4_parse(p, 32, 0, &v), UST_DROP_NONE);
	assert_int_equal(v.hlen, 24);
	p[22] = 9; /* runs past the header */
	ust_put16(p + 10, 0);
	ust_put16(p + 10, ust_csum_fold(ust_csum_partial(p, 24, 0)));
	assert_int_equal(ust_ipv4_parse(p, 32, 0, &v), UST_DROP_IP_OPTIONS);
	p[22] = 1; /* length below 2 */
	ust_put16(p + 10, 0);
	ust_put16(p + 10, ust_csum_fold(ust_csum_partial(p, 24, 0)));
	assert_int_equal(ust_ipv4_parse(p, 32, 0, &v), UST_DROP_IP_OPTIONS);
}

static void
test_ipv4_fragment_fields(void **state)
{
	(void)state;
	uint8_t p[64];
	struct ust_ipv4_view b = {.tot_len = 28, .id = 9, .frag_off = 1480, .mf = true, .ttl = 1,
				  .proto = 1, .src = 1, .dst = 2};
	ust_ipv4_build(p, &b, false);
	struct ust_ipv4_view v;
	assert_int_equal(ust_ipv4_parse(p, 28, 0, &v), UST_DROP_NONE);
	assert_int_equal(v.frag_off, 1480);
	assert_true(v.mf);
	assert_false(v.df);
}

static void
test_icmp_echo_roundtrip_truncated_corrupt(void **state)
{
	(void)state;
	uint8_t p[8 + 4] = {0, 0, 0, 0, 0, 0, 0, 0, 'p', 'i', 'n', 'g'};
	ust_icmp_build(p, UST_ICMP_ECHO, 0, 0xbeef0003u, 4);
	struct ust_icmp_view v;
	assert_int_equal(ust_icmp_parse(p, sizeof(p), &v), UST_DROP_NONE);
	assert_int_equal(v.type, UST_ICMP_ECHO);
	assert_int_equal(v.id, 0xbeef);
	assert_int_equal(v.seq, 3);
	assert_int_equal(v.body_len, 4);
	for (size_t n = 0; n < 8; n++)
		assert_int_equal(ust_icmp_parse(p, n, &v), UST_DROP_ICMP_SHORT);
	p[9] ^= 1;
	assert_int_equal(ust_icmp_parse(p, sizeof(p), &v), UST_DROP_ICMP_CSUM);
}

static void
test_udp_roundtrip_checksum_and_lengths(void **state)
{
	(void)state;
	uint8_t p[8 + 5];
	memcpy(p + 8, "hello", 5);
	uint32_t ps = ust_csum_pseudo4(0xc6120001, 0xc6120002, UST_IPPROTO_UDP, sizeof(p));
	ust_udp_build(p, 1000, 7, sizeof(p), ps, false);
	struct ust_udp_view v;
	assert_int_equal(ust_udp_parse(p, sizeof(p), ps, 0, &v), UST_DROP_NONE);
	assert_int_equal(v.sport, 1000);
	assert_int_equal(v.dport, 7);
	assert_int_equal(v.payload_len, 5);
	for (size_t n = 0; n < 8; n++)
		assert_int_equal(ust_udp_parse(p, n, ps, 0, &v), UST_DROP_UDP_SHORT);
	for (size_t n = 8; n < sizeof(p); n++)
		assert_int_equal(ust_udp_parse(p, n, ps, 0, &v), UST_DROP_UDP_LEN);
	/* A different pseudo header (wrong destination) fails the checksum. */
	uint32_t bad = ust_csum_pseudo4(0xc6120001, 0xc6120003, UST_IPPROTO_UDP, sizeof(p));
	assert_int_equal(ust_udp_parse(p, sizeof(p), bad, 0, &v), UST_DROP_UDP_CSUM);
	/* Checksum 0 means "none" over IPv4. */
	ust_put16(p + 6, 0);
	assert_int_equal(ust_udp_parse(p, sizeof(p), bad, 0, &v), UST_DROP_NONE);
	/* UDP length below 8. */
	ust_put16(p + 4, 7);
	assert_int_equal(ust_udp_parse(p, sizeof(p), ps, 0, &v), UST_DROP_UDP_LEN);
}

static void
test_udp_zero_checksum_sent_as_ffff(void **state)
{
	(void)state;
	/* Find a payload whose checksum computes to 0, then check the builder
	 * writes 0xffff (RFC 768) and the parser accepts it. */
	uint8_t p[10] = {0};
	uint32_t ps = ust_csum_pseudo4(0, 0, UST_IPPROTO_UDP, sizeof(p));
	for (uint32_t x = 0; x < 65536; x++) {
		ust_put16(p + 8, (uint16_t)x);
		ust_put16(p + 6, 0);
		ust_put16(p + 4, sizeof(p));
		ust_put32(p, 0);
		if (ust_csum_fold(ust_csum_partial(p, sizeof(p), ps)) == 0) {
			ust_udp_build(p, 0, 0, sizeof(p), ps, false);
			assert_int_equal(ust_get16(p + 6), 0xffff);
			struct ust_udp_view v;
			assert_int_equal(ust_udp_parse(p, sizeof(p), ps, 0, &v), UST_DROP_NONE);
			return;
		}
	}
	fail_msg("no payload with a zero checksum found");
}

static size_t
build_tcp(uint8_t *p, const struct ust_tcp_opts *o, uint8_t flags, uint32_t ps)
{
	size_t ol = ust_tcp_opts_build(p + 20, o);
	struct ust_tcp_view v = {.sport = 40000, .dport = 80, .seq = 0x01020304, .ack = 0xa0b0c0d0,
				 .hlen = (uint8_t)(20 + ol), .flags = flags, .win = 65535};
	memcpy(p + 20 + ol, "DATA", 4);
	ust_tcp_build(p, &v, 20 + ol + 4, ps, false);
	return 20 + ol + 4;
}

static void
test_tcp_syn_options_roundtrip_linux_layout(void **state)
{
	(void)state;
	struct ust_tcp_opts o = {.has_mss = true, .mss = 1460, .sack_ok = true, .has_ts = true,
				 .tsval = 111, .tsecr = 0, .has_wscale = true, .wscale = 7};
	uint8_t p[80];
	uint32_t ps = ust_csum_pseudo4(1, 2, UST_IPPROTO_TCP, 64);
	size_t n = build_tcp(p, &o, UST_TCP_SYN, ps);
	assert_int_equal(n, 20 + 20 + 4);
	/* Linux's SYN layout: MSS, SACK_PERM+TS, NOP+WS. */
	const uint8_t want[20] = {2, 4, 0x05, 0xb4, 4, 2, 8, 10, 0, 0, 0, 111, 0, 0, 0, 0, 1, 3, 3, 7};
	assert_memory_equal(p + 20, want, 20);
	struct ust_tcp_view v;
	assert_int_equal(ust_tcp_parse(p, n, ps, 0, &v), UST_DROP_NONE);
	assert_int_equal(v.seq, 0x01020304);
	assert_int_equal(v.ack, 0xa0b0c0d0);
	assert_int_equal(v.flags, UST_TCP_SYN);
	assert_int_equal(v.payload_len, 4);
	assert_true(v.opts.has_mss && v.opts.mss == 1460);
	assert_true(v.opts.sack_ok);
	assert_true(v.opts.has_ts && v.opts.tsval == 111);
	assert_true(v.opts.has_wscale && v.opts.wscale == 7);
}

static void
test_tcp_sack_blocks_fit_with_timestamps(void **state)
{
	(void)state;
	struct ust_tcp_opts o = {.has_ts = true, .tsval = 5, .tsecr = 6, .nsack = 4};
	for (int i = 0; i < 4; i++) {
		o.sack[i].start = 1000u * (uint32_t)(i + 1);
		o.sack[i].end = 1000u * (uint32_t)(i + 1) + 500;
	}
	uint8_t b[UST_TCP_MAX_OPT_LEN];
	size_t n = ust_tcp_opts_build(b, &o);
	assert_true(n <= UST_TCP_MAX_OPT_LEN);
	struct ust_tcp_opts d;
	ust_tcp_opts_parse(b, n, &d);
	/* With timestamps only three blocks fit in 40 bytes (RFC 2018 3). */
	assert_int_equal(d.nsack, 3);
	assert_int_equal(d.sack[2].start, 3000);
	assert_true(d.has_ts && d.tsecr == 6);
}

static void
test_tcp_truncated_bad_offset_bad_csum_bad_flags(void **state)
{
	(void)state;
	struct ust_tcp_opts o = {.has_mss = true, .mss = 536};
	uint8_t p[80];
	uint32_t ps = ust_csum_pseudo4(1, 2, UST_IPPROTO_TCP, 28);
	size_t n = build_tcp(p, &o, UST_TCP_ACK, ps);
	assert_int_equal(n, 28);
	struct ust_tcp_view v;
	for (size_t k = 0; k < 20; k++)
		assert_int_equal(ust_tcp_parse(p, k, ps, UST_PKT_RX_L4_CSUM_GOOD, &v), UST_DROP_TCP_SHORT);
	assert_int_equal(ust_tcp_parse(p, 23, ps, UST_PKT_RX_L4_CSUM_GOOD, &v), UST_DROP_TCP_HLEN);
	uint8_t q[80];
	memcpy(q, p, n);
	q[12] = 0x40; /* data offset 4 */
	assert_int_equal(ust_tcp_parse(q, n, ps, UST_PKT_RX_L4_CSUM_GOOD, &v), UST_DROP_TCP_HLEN);
	memcpy(q, p, n);
	q[27] ^= 1;
	assert_int_equal(ust_tcp_parse(q, n, ps, 0, &v), UST_DROP_TCP_CSUM);
	assert_int_equal(ust_tcp_parse(p, n, ps, UST_PKT_RX_L4_CSUM_BAD, &v), UST_DROP_TCP_CSUM);
	memcpy(q, p, n);
	q[13] = UST_TCP_SYN | UST_TCP_FIN;
	assert_int_equal(ust_tcp_parse(q, n, ps, UST_PKT_RX_L4_CSUM_GOOD, &v), UST_DROP_TCP_FLAGS);
	q[13] = 0;
	assert_int_equal(ust_tcp_parse(q, n, ps, UST_PKT_RX_L4_CSUM_GOOD, &v), UST_DROP_TCP_FLAGS);
}

static void
test_tcp_options_malformed_and_ignored(void **state)
{
	(void)state;
	struct ust_tcp_opts o;
	/* Linux stops at an option whose length runs past the end, is under
	 * 2, or is missing: what came before counts. */
	const uint8_t runs_past[] = {3, 3, 7, 2, 8, 0, 0};
	ust_tcp_opts_parse(runs_past, sizeof(runs_past), &o);
	assert_true(o.has_wscale);
	assert_int_equal(o.wscale, 7);
	assert_false(o.has_mss);
	const uint8_t len_one[] = {2, 4, 2, 0, 5, 1, 4, 2};
	ust_tcp_opts_parse(len_one, sizeof(len_one), &o);
	assert_true(o.has_mss);
	assert_false(o.sack_ok);
	const uint8_t len_zero[] = {8, 0, 2, 4, 2, 0};
	ust_tcp_opts_parse(len_zero, sizeof(len_zero), &o);
	assert_false(o.has_mss);
	const uint8_t no_len[] = {1, 1, 1, 3};
	ust_tcp_opts_parse(no_len, sizeof(no_len), &o);
	assert_false(o.has_wscale);
	/* An MSS option of the wrong size is ignored, as Linux does. */
	const uint8_t bad_mss[] = {2, 3, 5, 1, 1, 1, 1, 1};
	ust_tcp_opts_parse(bad_mss, sizeof(bad_mss), &o);
	assert_false(o.has_mss);
	/* Unknown kinds are skipped; EOL ends the list even before garbage. */
	const uint8_t unknown[] = {30, 4, 9, 9, 3, 3, 14, 0, 0xff, 0xff};
	ust_tcp_opts_parse(unknown, sizeof(unknown), &o);
	assert_true(o.has_wscale && o.wscale == 14);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_csum_rfc1071_example),
		cmocka_unit_test(test_csum_real_ipv4_header),
		cmocka_unit_test(test_csum_incremental_update_rfc1624),
		cmocka_unit_test(test_eth_parse_valid_vlan_truncated),
		cmocka_unit_test(test_arp_roundtrip_truncated_bad_format),
		cmocka_unit_test(test_ipv4_roundtrip_and_every_truncation),
		cmocka_unit_test(test_ipv4_corrupt_fields),
		cmocka_unit_test(test_ipv4_options_framing),
		cmocka_unit_test(test_ipv4_fragment_fields),
		cmocka_unit_test(test_icmp_echo_roundtrip_truncated_corrupt),
		cmocka_unit_test(test_udp_roundtrip_checksum_and_lengths),
		cmocka_unit_test(test_udp_zero_checksum_sent_as_ffff),
		cmocka_unit_test(test_tcp_syn_options_roundtrip_linux_layout),
		cmocka_unit_test(test_tcp_sack_blocks_fit_with_timestamps),
		cmocka_unit_test(test_tcp_truncated_bad_offset_bad_csum_bad_flags),
		cmocka_unit_test(test_tcp_options_malformed_and_ignored),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
