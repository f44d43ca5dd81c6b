/* Raw and ping sockets through two stacks on a memlink: each raw socket
 * gets its copy (IPv4 with the header, IPv6 without), ICMP_FILTER and
 * ICMP6_FILTER, the ICMPv6 checksum filled by the stack, a raw UDP socket
 * beside a UDP one, IP_HDRINCL, an unknown protocol taken by a raw socket
 * (no protocol unreachable), ping sockets with their identifier, and the
 * ICMP errors ping and raw sockets queue (IP_RECVERR). */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "l3_fixture.h"
#include "stack/wire/bytes.h"
#include "stack/wire/csum.h"
#include "stack/wire/eth.h"
#include "stack/wire/icmp.h"
#include "stack/wire/icmp6.h"
#include "stack/wire/ipv4.h"
#include "stack/wire/ipv6.h"

static const uint8_t A6[16] = {0x20, 0x01, 0, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2};
static const uint8_t B6[16] = {0x20, 0x01, 0, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};

#define SOL_RAW_ 255
#define SOL_ICMPV6_ 58

static struct ust_sock *
open_sock(struct ust_stack *st, int family, int type, int proto)
{
	struct ust_sock *s;
	assert_int_equal(ust_sock_open_proto(st, family, type, proto, &s), 0);
	return s;
}

static struct ust_sockaddr
to4(uint32_t a)
{
	struct ust_sockaddr s = {.family = UST_AF_INET, .addr4 = a};
	return s;
}

static struct ust_sockaddr
to6(const uint8_t a[16])
{
	struct ust_sockaddr s = {.family = UST_AF_INET6};
	memcpy(s.addr6, a, 16);
	return s;
}

/* An echo request with id/seq and 8 bytes of data, checksummed for IPv4. */
static size_t
echo4(uint8_t *m, uint16_t id, uint16_t seq)
{
	memcpy(m + 8, "rawdata!", 8);
	ust_icmp_build(m, UST_ICMP_ECHO, 0, (uint32_t)id << 16 | seq, 8);
	return 16;
}

static void
test_raw_icmp4_copy_with_header_and_filter(void **state)
{
	(void)state;
	struct fx *f = fx_new(11);
	struct ust_sock *r = open_sock(f->a, UST_AF_INET, UST_SOCK_RAW, UST_IPPROTO_ICMP);
	struct ust_sock *all = open_sock(f->a, UST_AF_INET, UST_SOCK_RAW, UST_IPPROTO_ICMP);
	/* ping's filter: everything but echo reply (and errors) is dropped. */
	uint32_t filt = ~((1u << UST_ICMP_ECHO_REPLY) | (1u << UST_ICMP_UNREACH));
	assert_int_equal(ust_sock_setopt(r, SOL_RAW_, 1, &filt, sizeof(filt)), 0);
	uint8_t m[64], got[128];
	size_t n = echo4(m, 0x4242, 1);
	struct ust_sockaddr b = to4(IP_B), from;
	assert_int_equal(ust_sock_sendto(r, m, n, 0, &b), (ssize_t)n);
	fx_run(f, 10 * UST_NS_PER_MS);
	/* B's stack answered; the reply reached both sockets, with its header. */
	ssize_t k = ust_sock_recvfrom(r, got, sizeof(got), 0, &from);
	assert_int_equal(k, UST_IPV4_HLEN + 16);
	assert_int_equal(got[0], 0x45);
	assert_int_equal(got[9], UST_IPPROTO_ICMP);
	assert_int_equal(got[UST_IPV4_HLEN], UST_ICMP_ECHO_REPLY);
	assert_int_equal(ust_get16(got + UST_IPV4_HLEN + 4), 0x4242);
	assert_memory_equal(got + UST_IPV4_HLEN + 8, "rawdata!", 8);
	assert_int_equal(from.addr4, IP_B);
	assert_int_equal(ust_sock_recvfrom(r, got, sizeof(got), 0, NULL), -EAGAIN);
	assert_int_equal(ust_sock_recvfrom(all, got, sizeof(got), 0, NULL), UST_IPV4_HLEN + 16);
	/* An echo request to A is answered by A's stack, and the unfiltered
	 * socket sees the request too; the filtered one does not. */
	uint8_t ip[128];
	n = echo4(m, 7, 7);
	fx_inject_ip(f, ip, fx_build_ip(ip, IP_B, IP_A, UST_IPPROTO_ICMP, 9, 0, 0, m, (uint32_t)n));
	fx_run(f, 10 * UST_NS_PER_MS);
	assert_int_equal(ust_sock_recvfrom(all, got, sizeof(got), 0, NULL), UST_IPV4_HLEN + 16);
	assert_int_equal(got[UST_IPV4_HLEN], UST_ICMP_ECHO);
	assert_int_equal(ust_sock_recvfrom(r, got, sizeof(got), 0, NULL), -EAGAIN);
	assert_true(f->a->stats.stat[UST_STAT_ICMP_ECHO_REPLY_OUT] >= 1);
	ust_sock_close(r);
	ust_sock_close(all);
	fx_free(f);
}

static void
test_raw_udp_sees_udp_and_unknown_protocol_is_taken(void **state)
{
	(void)state;
	struct fx *f = fx_new(12);
	struct ust_sock *r = open_sock(f->a, UST_AF_INET, UST_SOCK_RAW, UST_IPPROTO_UDP);
	uint8_t l4[8 + 4] = {0x13, 0x88, 0x11, 0x5c, 0, 12, 0, 0, 'd', 'a', 't', 'a'};
	uint8_t ip[128], got[128];
	fx_inject_ip(f, ip, fx_build_ip(ip, IP_B, IP_A, UST_IPPROTO_UDP, 1, 0, 0, l4, sizeof(l4)));
	fx_run(f, UST_NS_PER_MS);
	assert_int_equal(ust_sock_recvfrom(r, got, sizeof(got), 0, NULL), UST_IPV4_HLEN + 12);
	assert_memory_equal(got + UST_IPV4_HLEN + 8, "data", 4);
	/* Protocol 253 with a raw socket for it: no protocol unreachable. */
	struct ust_sock *r253 = open_sock(f->a, UST_AF_INET, UST_SOCK_RAW, 253);
	uint64_t unreach = f->a->stats.stat[UST_STAT_ICMP_UNREACH_OUT];
	fx_inject_ip(f, ip, fx_build_ip(ip, IP_B, IP_A, 253, 2, 0, 0, l4, sizeof(l4)));
	fx_run(f, UST_NS_PER_MS);
	assert_int_equal(ust_sock_recvfrom(r253, got, sizeof(got), 0, NULL), UST_IPV4_HLEN + 12);
	assert_int_equal(f->a->stats.stat[UST_STAT_ICMP_UNREACH_OUT], unreach);
	ust_sock_close(r253);
	fx_inject_ip(f, ip, fx_build_ip(ip, IP_B, IP_A, 253, 3, 0, 0, l4, sizeof(l4)));
	fx_run(f, UST_NS_PER_MS);
	assert_int_equal(f->a->stats.stat[UST_STAT_ICMP_UNREACH_OUT], unreach + 1);
	ust_sock_close(r);
	fx_free(f);
}

static void
test_hdrincl_fills_length_checksum_and_source(void **state)
{
	(void)state;
	struct fx *f = fx_new(13);
	struct ust_sock *w = open_sock(f->a, UST_AF_INET, UST_SOCK_RAW, UST_IPPROTO_RAW);
	struct ust_sock *rb = open_sock(f->b, UST_AF_INET, UST_SOCK_RAW, 253);
	uint8_t d[UST_IPV4_HLEN + 4] = {0x45, 0, 0, 0, 0, 0, 0, 0, 64, 253};
	ust_put32(d + 16, IP_B);
	memcpy(d + UST_IPV4_HLEN, "hinc", 4);
	struct ust_sockaddr b = to4(IP_B);
	assert_int_equal(ust_sock_sendto(w, d, sizeof(d), 0, &b), (ssize_t)sizeof(d));
	fx_run(f, 10 * UST_NS_PER_MS);
	uint8_t got[64];
	assert_int_equal(ust_sock_recvfrom(rb, got, sizeof(got), 0, NULL), (ssize_t)sizeof(d));
	assert_int_equal(ust_get16(got + 2), sizeof(d));
	assert_int_equal(ust_get32(got + 12), IP_A);
	assert_int_equal(ust_csum_fold(ust_csum_partial(got, UST_IPV4_HLEN, 0)), 0);
	assert_memory_equal(got + UST_IPV4_HLEN, "hinc", 4);
	/* An IPPROTO_RAW socket receives nothing. */
	assert_int_equal(ust_sock_recvfrom(w, got, sizeof(got), 0, NULL), -EAGAIN);
	ust_sock_close(w);
	ust_sock_close(rb);
	fx_free(f);
}

static void
test_raw_icmp6_checksum_and_filter(void **state)
{
	(void)state;
	struct fx *f = fx_new6(14, A6, B6);
	fx_run(f, 2 * UST_NS_PER_S);
	struct ust_sock *r = open_sock(f->a, UST_AF_INET6, UST_SOCK_RAW, UST_IPPROTO_ICMPV6);
	/* Block everything but echo reply (ping -6's filter). */
	uint32_t filt[8];
	memset(filt, 0xff, sizeof(filt));
	filt[UST_ICMP6_ECHO_REPLY / 32] &= ~(1u << (UST_ICMP6_ECHO_REPLY % 32));
	assert_int_equal(ust_sock_setopt(r, SOL_ICMPV6_, 1, filt, sizeof(filt)), 0);
	/* The checksum is the stack's to fill: send zeros. */
	uint8_t m[16] = {UST_ICMP6_ECHO, 0, 0, 0, 0x12, 0x34, 0, 1};
	memcpy(m + 8, "v6echo!!", 8);
	struct ust_sockaddr b = to6(B6), from;
	assert_int_equal(ust_sock_sendto(r, m, sizeof(m), 0, &b), 16);
	fx_run(f, 10 * UST_NS_PER_MS);
	assert_int_equal(f->b->stats.stat[UST_STAT_ICMP6_ECHO_REPLY_OUT], 1);
	uint8_t got[64];
	assert_int_equal(ust_sock_recvfrom(r, got, sizeof(got), 0, &from), 16);
	assert_int_equal(got[0], UST_ICMP6_ECHO_REPLY);
	assert_int_equal(ust_get16(got + 4), 0x1234);
	assert_memory_equal(got + 8, "v6echo!!", 8);
	assert_int_equal(from.family, UST_AF_INET6);
	assert_memory_equal(from.addr6, B6, 16);
	/* ND traffic to A was blocked by the filter: nothing else is queued. */
	assert_int_equal(ust_sock_recvfrom(r, got, sizeof(got), 0, NULL), -EAGAIN);
	ust_sock_close(r);
	fx_free(f);
}

static void
test_ping_sockets_own_their_identifier(void **state)
{
	(void)state;
	struct fx *f = fx_new6(15, A6, B6);
	fx_run(f, 2 * UST_NS_PER_S);
	struct ust_sock *p4 = open_sock(f->a, UST_AF_INET, UST_SOCK_DGRAM, UST_IPPROTO_ICMP);
	struct ust_sock *p6 = open_sock(f->a, UST_AF_INET6, UST_SOCK_DGRAM, UST_IPPROTO_ICMPV6);
	struct ust_sock *other = open_sock(f->a, UST_AF_INET, UST_SOCK_DGRAM, UST_IPPROTO_ICMP);
	uint8_t m[16] = {UST_ICMP_ECHO, 0, 0, 0, 0xde, 0xad, 0, 5}, got[64];
	memcpy(m + 8, "pingsock", 8);
	struct ust_sockaddr b4 = to4(IP_B), b6 = to6(B6), me;
	/* Only echo requests may be sent. */
	m[0] = UST_ICMP_ECHO_REPLY;
	assert_int_equal(ust_sock_sendto(p4, m, sizeof(m), 0, &b4), -EINVAL);
	m[0] = UST_ICMP_ECHO;
	assert_int_equal(ust_sock_sendto(p4, m, sizeof(m), 0, &b4), 16);
	assert_int_equal(ust_sock_sendto(other, m, sizeof(m), 0, &b4), 16);
	m[0] = UST_ICMP6_ECHO;
	assert_int_equal(ust_sock_sendto(p6, m, sizeof(m), 0, &b6), 16);
	fx_run(f, 10 * UST_NS_PER_MS);
	assert_int_equal(ust_sock_getname(p4, &me), 0);
	/* The reply, without the IP header, carries the socket's identifier. */
	assert_int_equal(ust_sock_recvfrom(p4, got, sizeof(got), 0, NULL), 16);
	assert_int_equal(got[0], UST_ICMP_ECHO_REPLY);
	assert_int_equal(ust_get16(got + 4), me.port);
	assert_int_equal(ust_get16(got + 6), 5);
	assert_memory_equal(got + 8, "pingsock", 8);
	assert_int_equal(ust_sock_recvfrom(p4, got, sizeof(got), 0, NULL), -EAGAIN);
	assert_int_equal(ust_sock_recvfrom(other, got, sizeof(got), 0, NULL), 16);
	assert_int_equal(ust_sock_recvfrom(p6, got, sizeof(got), 0, NULL), 16);
	assert_int_equal(got[0], UST_ICMP6_ECHO_REPLY);
	/* Two ping sockets may not share an identifier. */
	struct ust_sockaddr same = to4(0);
	same.port = me.port;
	struct ust_sock *dup = open_sock(f->a, UST_AF_INET, UST_SOCK_DGRAM, UST_IPPROTO_ICMP);
	assert_int_equal(ust_sock_bind(dup, &same), -EADDRINUSE);
	ust_sock_close(dup);
	ust_sock_close(p4);
	ust_sock_close(p6);
	ust_sock_close(other);
	fx_free(f);
}

/* A ping socket hears of the ICMP errors about its own echo requests only;
 * a raw ICMP socket of errors about any (both with IP_RECVERR). */
static void
test_ping_and_raw_sockets_get_their_errors(void **state)
{
	(void)state;
	struct fx *f = fx_new(16);
	struct ust_sock *p4 = open_sock(f->a, UST_AF_INET, UST_SOCK_DGRAM, UST_IPPROTO_ICMP);
	struct ust_sock *other = open_sock(f->a, UST_AF_INET, UST_SOCK_DGRAM, UST_IPPROTO_ICMP);
	struct ust_sock *raw = open_sock(f->a, UST_AF_INET, UST_SOCK_RAW, UST_IPPROTO_ICMP);
	int one = 1;
	assert_int_equal(ust_sock_setopt(p4, UST_SOL_IP, UST_IP_RECVERR, &one, sizeof(one)), 0);
	assert_int_equal(ust_sock_setopt(other, UST_SOL_IP, UST_IP_RECVERR, &one, sizeof(one)), 0);
	assert_int_equal(ust_sock_setopt(raw, UST_SOL_IP, UST_IP_RECVERR, &one, sizeof(one)), 0);
	uint8_t m[16] = {UST_ICMP_ECHO, 0, 0, 0, 0, 0, 0, 9};
	memcpy(m + 8, "pingerrs", 8);
	struct ust_sockaddr b4 = to4(IP_B);
	assert_int_equal(ust_sock_sendto(other, m, sizeof(m), 0, &b4), 16);
	fx_run(f, 10 * UST_NS_PER_MS);
	f->ncap = 0;
	assert_int_equal(ust_sock_sendto(p4, m, sizeof(m), 0, &b4), 16);
	ust_stack_poll(f->a, f->now);
	int i = fx_find(f, UST_ETHERTYPE_IPV4, UST_IPPROTO_ICMP);
	assert_true(i >= 0);
	/* A router on the way: time exceeded, quoting header and request. */
	uint8_t q[64], p[128];
	memcpy(q + 8, f->cap[i] + UST_ETH_HLEN, 20 + 16);
	ust_icmp_build(q, UST_ICMP_TIME_EXCEEDED, 0, 0, 20 + 16);
	fx_inject_ip(f, p, fx_build_ip(p, IP_B, IP_A, UST_IPPROTO_ICMP, 77, 0, 0, q, 8 + 20 + 16));
	fx_run(f, UST_NS_PER_MS);
	uint8_t got[64];
	struct ust_sock_ee ee;
	bool trunc;
	assert_int_equal(ust_sock_recv_err(other, got, sizeof(got), &ee, &trunc), -EAGAIN);
	/* The ping socket reads the quote from the ICMP header on. */
	assert_int_equal(ust_sock_recv_err(p4, got, sizeof(got), &ee, &trunc), 16);
	assert_int_equal(got[0], UST_ICMP_ECHO);
	assert_memory_equal(got + 8, "pingerrs", 8);
	assert_int_equal(ee.err, EHOSTUNREACH);
	assert_int_equal(ee.origin, UST_EE_ORIGIN_ICMP);
	assert_int_equal(ee.type, UST_ICMP_TIME_EXCEEDED);
	assert_int_equal(ust_get32(ee.offender + 12), IP_B);
	assert_int_equal(ee.port, 0);
	/* A pending error comes before the datagrams a socket holds. */
	assert_true(ust_sock_events(raw) & UST_EV_IN);
	assert_int_equal(ust_sock_recvfrom(raw, got, sizeof(got), 0, NULL), -EHOSTUNREACH);
	assert_int_equal(ust_sock_recv_err(raw, got, sizeof(got), &ee, &trunc), 16);
	assert_int_equal(got[0], UST_ICMP_ECHO);
	ust_sock_close(p4);
	ust_sock_close(other);
	ust_sock_close(raw);
	fx_free(f);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_raw_icmp4_copy_with_header_and_filter),
		cmocka_unit_test(test_raw_udp_sees_udp_and_unknown_protocol_is_taken),
		cmocka_unit_test(test_hdrincl_fills_length_checksum_and_source),
		cmocka_unit_test(test_raw_icmp6_checksum_and_filter),
		cmocka_unit_test(test_ping_sockets_own_their_identifier),
		cmocka_unit_test(test_ping_and_raw_sockets_get_their_errors),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
