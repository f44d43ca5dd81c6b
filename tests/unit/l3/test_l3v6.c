/* IPv6 through two stacks on a memlink: DAD and Neighbor Discovery, UDP
 * over IPv6, reassembly (out of order, overlaps, duplicates, timeout,
 * atomic and tiny fragments), ICMPv6 errors with their rules and rate
 * limit, echo, a packet too big lowering a live connection's MSS,
 * errors reaching a socket's error queue (IPV6_RECVERR), and scope ids. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "l3_fixture.h"
#include "stack/nd6.h"
#include "stack/wire/bytes.h"
#include "stack/wire/csum.h"
#include "stack/wire/eth.h"
#include "stack/wire/icmp6.h"
#include "stack/wire/ipv4.h"
#include "stack/wire/ipv6.h"
#include "stack/wire/udp.h"

static const uint8_t A6[16] = {0x20, 0x01, 0, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2};
static const uint8_t B6[16] = {0x20, 0x01, 0, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};
static const uint8_t ALL_NODES[16] = {0xff, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};

#define UST_SOCK_CHECK(x) assert_int_equal((x), 0)

static struct ust_sockaddr
sa6(const uint8_t a[16], uint16_t port)
{
	struct ust_sockaddr s = {.family = UST_AF_INET6, .port = port};
	memcpy(s.addr6, a, 16);
	return s;
}

static struct ust_sock *
udp6(struct ust_stack *st, uint16_t port)
{
	struct ust_sock *s;
	UST_SOCK_CHECK(ust_sock_open(st, UST_AF_INET6, UST_SOCK_DGRAM, &s));
	if (port != 0) {
		struct ust_sockaddr any = sa6((const uint8_t[16]){0}, port);
		UST_SOCK_CHECK(ust_sock_bind(s, &any));
	}
	return s;
}

/* A fully built IPv6 datagram with `l4` (len bytes) after `ext`. */
static uint32_t
build6(uint8_t *out, const uint8_t src[16], const uint8_t dst[16], uint8_t next, uint8_t hlim,
       const uint8_t *ext, uint32_t ext_len, const uint8_t *l4, uint32_t len)
{
	ust_ipv6_build(out, 0, 0, (uint16_t)(ext_len + len), next, hlim, src, dst);
	if (ext_len > 0)
		memcpy(out + UST_IPV6_HLEN, ext, ext_len);
	memcpy(out + UST_IPV6_HLEN + ext_len, l4, len);
	return UST_IPV6_HLEN + ext_len + len;
}

/* A UDP datagram B6:5000 -> A6:port with `n` payload bytes of a pattern. */
static uint32_t
udp_dgram(uint8_t *out, uint16_t port, uint32_t n)
{
	for (uint32_t i = 0; i < n; i++)
		out[UST_UDP_HLEN + i] = (uint8_t)(i * 7 + 3);
	uint32_t len = UST_UDP_HLEN + n;
	ust_udp_build(out, 5000, port, (uint16_t)len, ust_csum_pseudo6(B6, A6, UST_IPPROTO_UDP, len),
		      false);
	return len;
}

/* Inject [off, off+n) of `l4` as a fragment of datagram `id`. */
static void
inject_frag(struct fx *f, const uint8_t *l4, uint32_t off, uint32_t n, bool mf, uint32_t id)
{
	uint8_t fh[8], p[2048];
	ust_ipv6_frag_build(fh, UST_IPPROTO_UDP, (uint16_t)off, mf, id);
	fx_inject_ip6(f, p, build6(p, B6, A6, UST_IPPROTO_FRAGMENT, 64, fh, 8, l4 + off, n));
}

/* The last frame A sent that carries ICMPv6 `type` right after the fixed
 * header, or -1. */
static int
find_icmp6(const struct fx *f, uint8_t type)
{
	for (int i = (int)f->ncap - 1; i >= 0; i--)
		if (ust_get16(f->cap[i] + 12) == UST_ETHERTYPE_IPV6 &&
		    f->cap[i][UST_ETH_HLEN + 6] == UST_IPPROTO_ICMPV6 &&
		    f->cap[i][UST_ETH_HLEN + UST_IPV6_HLEN] == type)
			return i;
	return -1;
}

static void
test_udp6_waits_for_dad_then_resolves(void **state)
{
	(void)state;
	struct fx *f = fx_new6(1, A6, B6);
	struct ust_sock *a = udp6(f->a, 0), *b = udp6(f->b, 7000);
	struct ust_sockaddr to = sa6(B6, 7000), from;
	/* Tentative addresses may not be used (RFC 4862 5.4). */
	assert_int_equal(ust_sock_sendto(a, "hello", 5, 0, &to), -EADDRNOTAVAIL);
	fx_run(f, 2 * UST_NS_PER_S);
	uint64_t ns_before = f->a->stats.stat[UST_STAT_ND_NS_OUT];
	assert_int_equal(ust_sock_sendto(a, "hello", 5, 0, &to), 5);
	fx_run(f, 10 * UST_NS_PER_MS);
	char buf[16];
	assert_int_equal(ust_sock_recvfrom(b, buf, sizeof(buf), 0, &from), 5);
	assert_memory_equal(buf, "hello", 5);
	assert_int_equal(from.family, UST_AF_INET6);
	assert_memory_equal(from.addr6, A6, 16);
	/* A solicited B, and B answered. */
	assert_int_equal(f->a->stats.stat[UST_STAT_ND_NS_OUT], ns_before + 1);
	assert_true(f->b->stats.stat[UST_STAT_ND_NA_OUT] >= 1);
	assert_true(f->a->stats.stat[UST_STAT_ND_MLD_OUT] >= 1);
	/* B answers without a solicitation of its own: the NS told it A's MAC. */
	uint64_t b_ns = f->b->stats.stat[UST_STAT_ND_NS_OUT];
	assert_int_equal(ust_sock_sendto(b, "back", 4, 0, &from), 4);
	fx_run(f, 10 * UST_NS_PER_MS);
	assert_int_equal(ust_sock_recvfrom(a, buf, sizeof(buf), 0, NULL), 4);
	assert_int_equal(f->b->stats.stat[UST_STAT_ND_NS_OUT], b_ns);
	ust_sock_close(a);
	ust_sock_close(b);
	fx_free(f);
}

static void
test_dad_duplicate_address_not_used(void **state)
{
	(void)state;
	struct fx *f = fx_new6(2, A6, A6);
	fx_run(f, 2 * UST_NS_PER_S);
	assert_true(f->a->stats.drop[UST_DROP_ND_DAD] >= 1);
	assert_true(f->b->stats.drop[UST_DROP_ND_DAD] >= 1);
	struct ust_sock *s;
	UST_SOCK_CHECK(ust_sock_open(f->a, UST_AF_INET6, UST_SOCK_DGRAM, &s));
	struct ust_sockaddr me = sa6(A6, 7);
	assert_int_equal(ust_sock_bind(s, &me), -EADDRNOTAVAIL);
	ust_sock_close(s);
	fx_free(f);
}

static void
test_ns_needs_hop_limit_255(void **state)
{
	(void)state;
	struct fx *f = fx_new6(3, A6, B6);
	fx_run(f, 2 * UST_NS_PER_S);
	const uint8_t mac[6] = {2, 0, 0, 0, 0, 0x42};
	uint8_t m[64], p[128], sn[16];
	size_t n = ust_nd_build(m + 8, A6, 1, mac);
	ust_ipv6_solicited_node(A6, sn);
	ust_icmp6_build(m, UST_ND_NS, 0, 0, n, B6, sn);
	f->ncap = 0;
	fx_inject_ip6(f, p, build6(p, B6, sn, UST_IPPROTO_ICMPV6, 64, NULL, 0, m, 8 + (uint32_t)n));
	fx_run(f, 10 * UST_NS_PER_MS);
	assert_int_equal(f->a->stats.drop[UST_DROP_ND_HLIM], 1);
	assert_int_equal(find_icmp6(f, UST_ND_NA), -1);
	fx_inject_ip6(f, p, build6(p, B6, sn, UST_IPPROTO_ICMPV6, 255, NULL, 0, m, 8 + (uint32_t)n));
	fx_run(f, 10 * UST_NS_PER_MS);
	int i = find_icmp6(f, UST_ND_NA);
	assert_true(i >= 0);
	/* A solicited NA, to the soliciting MAC, naming our MAC. */
	assert_memory_equal(f->cap[i], mac, 6);
	assert_int_equal(f->cap[i][UST_ETH_HLEN + UST_IPV6_HLEN + 4] & 0x40, 0x40);
	fx_free(f);
}

static void
test_reassembly_order_overlap_duplicate_timeout(void **state)
{
	(void)state;
	struct fx *f = fx_new6(4, A6, B6);
	fx_run(f, 2 * UST_NS_PER_S);
	struct ust_sock *s = udp6(f->a, 9000);
	uint8_t l4[4096], got[4096];
	uint32_t len = udp_dgram(l4, 9000, 3000);
	/* Out of order. */
	inject_frag(f, l4, 1496, len - 1496, false, 1);
	inject_frag(f, l4, 0, 1496, true, 1);
	fx_run(f, UST_NS_PER_MS);
	assert_int_equal(ust_sock_recvfrom(s, got, sizeof(got), 0, NULL), 3000);
	assert_memory_equal(got, l4 + UST_UDP_HLEN, 3000);
	/* An exact duplicate is ignored. */
	inject_frag(f, l4, 0, 1496, true, 2);
	inject_frag(f, l4, 0, 1496, true, 2);
	inject_frag(f, l4, 1496, len - 1496, false, 2);
	fx_run(f, UST_NS_PER_MS);
	assert_int_equal(ust_sock_recvfrom(s, got, sizeof(got), 0, NULL), 3000);
	/* RFC 5722: an overlap, even of equal bytes, discards the datagram. */
	inject_frag(f, l4, 0, 1496, true, 3);
	inject_frag(f, l4, 1488, len - 1488, false, 3);
	fx_run(f, UST_NS_PER_MS);
	assert_int_equal(ust_sock_recvfrom(s, got, sizeof(got), 0, NULL), -EAGAIN);
	assert_int_equal(f->a->stats.drop[UST_DROP_IP6_FRAG_OVERLAP], 2);
	/* Tiny fragments: the 65th of one datagram drops all of them. */
	for (uint32_t off = 0; off < 8 * 65; off += 8)
		inject_frag(f, l4, off, 8, true, 4);
	fx_run(f, UST_NS_PER_MS);
	assert_int_equal(f->a->stats.drop[UST_DROP_IP6_FRAG_BAD], 65);
	/* An unfinished datagram is given up after 60 s, not before. */
	inject_frag(f, l4, 0, 1496, true, 5);
	fx_run(f, 59 * UST_NS_PER_S);
	assert_int_equal(f->a->stats.drop[UST_DROP_IP6_FRAG_TIMEOUT], 0);
	fx_run(f, 2 * UST_NS_PER_S);
	assert_int_equal(f->a->stats.drop[UST_DROP_IP6_FRAG_TIMEOUT], 1);
	/* RFC 6946: an atomic fragment is delivered at once. */
	uint32_t small = udp_dgram(l4, 9000, 100);
	inject_frag(f, l4, 0, small, false, 6);
	fx_run(f, UST_NS_PER_MS);
	assert_int_equal(ust_sock_recvfrom(s, got, sizeof(got), 0, NULL), 100);
	assert_int_equal(f->a->stats.stat[UST_STAT_IP6_REASM_OK], 2);
	ust_sock_close(s);
	fx_free(f);
}

static void
test_icmp6_errors_follow_the_rules(void **state)
{
	(void)state;
	struct fx *f = fx_new6(5, A6, B6);
	fx_run(f, 2 * UST_NS_PER_S);
	uint8_t l4[64], p[256];
	/* Unknown next header: parameter problem code 1 at the Next Header byte. */
	f->ncap = 0;
	fx_inject_ip6(f, p, build6(p, B6, A6, 253, 64, NULL, 0, l4, 8));
	fx_run(f, UST_NS_PER_MS);
	int i = find_icmp6(f, UST_ICMP6_PARAM_PROB);
	assert_true(i >= 0);
	const uint8_t *ic = f->cap[i] + UST_ETH_HLEN + UST_IPV6_HLEN;
	assert_int_equal(ic[1], UST_IP6_PP_NEXT);
	assert_int_equal(ust_get32(ic + 4), 6);
	/* A closed port: destination unreachable, port (4), quoting the datagram. */
	uint32_t n = udp_dgram(l4, 4444, 10);
	fx_inject_ip6(f, p, build6(p, B6, A6, UST_IPPROTO_UDP, 64, NULL, 0, l4, n));
	fx_run(f, UST_NS_PER_MS);
	i = find_icmp6(f, UST_ICMP6_UNREACH);
	assert_true(i >= 0);
	ic = f->cap[i] + UST_ETH_HLEN + UST_IPV6_HLEN;
	assert_int_equal(ic[1], UST_ICMP6_UNREACH_PORT);
	assert_memory_equal(ic + 8, p, UST_IPV6_HLEN + n);
	/* Never about a datagram to a group (RFC 4443 2.4 e.3). */
	f->ncap = 0;
	fx_inject_ip6(f, p, build6(p, B6, ALL_NODES, UST_IPPROTO_UDP, 64, NULL, 0, l4, n));
	fx_run(f, UST_NS_PER_MS);
	assert_int_equal(find_icmp6(f, UST_ICMP6_UNREACH), -1);
	/* A burst gets at most the bucket's 50 errors. */
	uint64_t out0 = f->a->stats.stat[UST_STAT_ICMP6_ERR_OUT];
	for (int k = 0; k < 100; k++)
		fx_inject_ip6(f, p, build6(p, B6, A6, UST_IPPROTO_UDP, 64, NULL, 0, l4, n));
	fx_run(f, UST_NS_PER_MS);
	assert_true(f->a->stats.stat[UST_STAT_ICMP6_ERR_OUT] - out0 <= 50);
	assert_true(f->a->stats.drop[UST_DROP_ICMP6_RATE] >= 50);
	fx_free(f);
}

static void
test_echo_reply(void **state)
{
	(void)state;
	struct fx *f = fx_new6(6, A6, B6);
	fx_run(f, 2 * UST_NS_PER_S);
	uint8_t m[64], p[256];
	memcpy(m + 8, "0123456789abcdef", 16);
	ust_icmp6_build(m, UST_ICMP6_ECHO, 0, 0x77770009, 16, B6, A6);
	f->ncap = 0;
	fx_inject_ip6(f, p, build6(p, B6, A6, UST_IPPROTO_ICMPV6, 64, NULL, 0, m, 24));
	fx_run(f, UST_NS_PER_MS);
	int i = find_icmp6(f, UST_ICMP6_ECHO_REPLY);
	assert_true(i >= 0);
	const uint8_t *ip = f->cap[i] + UST_ETH_HLEN;
	struct ust_icmp6_view v;
	assert_int_equal(ust_icmp6_parse(ip + 40, 24, ip + 8, ip + 24, &v), UST_DROP_NONE);
	assert_int_equal(v.rest, 0x77770009);
	assert_memory_equal(v.body, "0123456789abcdef", 16);
	assert_memory_equal(ip + 24, B6, 16);
	fx_free(f);
}

static void
test_packet_too_big_lowers_mss(void **state)
{
	(void)state;
	struct fx *f = fx_new6(7, A6, B6);
	fx_run(f, 2 * UST_NS_PER_S);
	struct ust_sock *l, *c, *srv;
	UST_SOCK_CHECK(ust_sock_open(f->a, UST_AF_INET6, UST_SOCK_STREAM, &l));
	struct ust_sockaddr any = sa6((const uint8_t[16]){0}, 80), to = sa6(A6, 80);
	UST_SOCK_CHECK(ust_sock_bind(l, &any));
	UST_SOCK_CHECK(ust_sock_listen(l, 4));
	UST_SOCK_CHECK(ust_sock_open(f->b, UST_AF_INET6, UST_SOCK_STREAM, &c));
	assert_int_equal(ust_sock_connect(c, &to), -EINPROGRESS);
	fx_run(f, 10 * UST_NS_PER_MS);
	UST_SOCK_CHECK(ust_sock_accept(l, &srv, NULL));
	int mss;
	size_t ml = sizeof(mss);
	UST_SOCK_CHECK(ust_sock_getopt(srv, UST_SOL_TCP, UST_TCP_MAXSEG, &mss, &ml));
	assert_int_equal(mss, 1500 - 40 - 20 - 12);
	static uint8_t data[20000], got[20000];
	for (size_t k = 0; k < sizeof(data); k++)
		data[k] = (uint8_t)(k * 13);
	f->ncap = 0;
	assert_int_equal(ust_sock_send(srv, data, sizeof(data), 0), (ssize_t)sizeof(data));
	ust_stack_poll(f->a, f->now);
	/* A router says the first segment was too big for a 1280-byte hop. */
	int i = -1;
	for (unsigned k = 0; k < f->ncap && i < 0; k++)
		if (ust_get16(f->cap[k] + 12) == UST_ETHERTYPE_IPV6 && f->cap_len[k] > 1300)
			i = (int)k;
	assert_true(i >= 0);
	uint8_t m[1300], p[1400];
	uint32_t q = UST_IPV6_MIN_MTU - UST_IPV6_HLEN - UST_ICMP6_HLEN;
	memcpy(m + 8, f->cap[i] + UST_ETH_HLEN, q);
	ust_icmp6_build(m, UST_ICMP6_PKT_TOO_BIG, 0, 1280, q, B6, A6);
	fx_inject_ip6(f, p, build6(p, B6, A6, UST_IPPROTO_ICMPV6, 64, NULL, 0, m, 8 + q));
	f->ncap = 0;
	fx_run(f, 5 * UST_NS_PER_S);
	ml = sizeof(mss);
	UST_SOCK_CHECK(ust_sock_getopt(srv, UST_SOL_TCP, UST_TCP_MAXSEG, &mss, &ml));
	assert_int_equal(mss, 1280 - 40 - 20 - 12);
	assert_int_equal(f->a->stats.stat[UST_STAT_ICMP6_PTB_IN], 1);
	/* Every byte still arrives, and nothing leaves bigger than the path. */
	size_t have = 0;
	ssize_t r;
	while ((r = ust_sock_recv(c, got + have, sizeof(got) - have, 0)) > 0)
		have += (size_t)r;
	assert_int_equal(have, sizeof(data));
	assert_memory_equal(got, data, sizeof(data));
	for (unsigned k = 0; k < f->ncap; k++)
		assert_true(f->cap_len[k] <= UST_ETH_HLEN + 1280);
	ust_sock_close(c);
	ust_sock_close(srv);
	ust_sock_close(l);
	fx_run(f, 200 * UST_NS_PER_S);
	fx_free(f);
}

/* An ICMPv6 error from B quoting the last UDP datagram A sent. */
static void
inject_error_about_last(struct fx *f, uint8_t type, uint8_t code, uint32_t rest)
{
	int i = -1;
	for (int k = (int)f->ncap - 1; k >= 0 && i < 0; k--)
		if (ust_get16(f->cap[k] + 12) == UST_ETHERTYPE_IPV6 &&
		    f->cap[k][UST_ETH_HLEN + 6] == UST_IPPROTO_UDP)
			i = k;
	assert_true(i >= 0);
	uint8_t m[1300], p[1400];
	uint32_t q = f->cap_len[i] - UST_ETH_HLEN;
	memcpy(m + 8, f->cap[i] + UST_ETH_HLEN, q);
	ust_icmp6_build(m, type, code, rest, q, B6, A6);
	fx_inject_ip6(f, p, build6(p, B6, A6, UST_IPPROTO_ICMPV6, 61, NULL, 0, m, 8 + q));
	fx_run(f, UST_NS_PER_MS);
}

static void
test_errors_reach_the_error_queue(void **state)
{
	(void)state;
	struct fx *f = fx_new6(8, A6, B6);
	fx_run(f, 2 * UST_NS_PER_S);
	/* B takes the datagrams: the errors are the ones injected. */
	struct ust_sock *s = udp6(f->a, 0), *quiet = udp6(f->a, 0), *sink = udp6(f->b, 9999);
	int one = 1;
	UST_SOCK_CHECK(ust_sock_setopt(s, UST_SOL_IPV6, UST_IPV6_RECVERR, &one, sizeof(one)));
	struct ust_sockaddr to = sa6(B6, 9999);
	uint8_t buf[64];
	struct ust_sock_ee ee;
	bool trunc;
	assert_int_equal(ust_sock_recv_err(s, buf, sizeof(buf), &ee, &trunc), -EAGAIN);
	/* Time exceeded: soft, but queued with the router as offender. */
	assert_int_equal(ust_sock_sendto(s, "probe-1", 7, 0, &to), 7);
	fx_run(f, UST_NS_PER_MS);
	inject_error_about_last(f, UST_ICMP6_TIME_EXCEEDED, 0, 0);
	assert_true(ust_sock_events(s) & UST_EV_ERR);
	assert_int_equal(ust_sock_recv_err(s, buf, sizeof(buf), &ee, &trunc), 7);
	assert_memory_equal(buf, "probe-1", 7);
	assert_false(trunc);
	assert_int_equal(ee.err, EHOSTUNREACH);
	assert_int_equal(ee.origin, UST_EE_ORIGIN_ICMP6);
	assert_int_equal(ee.type, UST_ICMP6_TIME_EXCEEDED);
	assert_int_equal(ee.hlim, 61);
	assert_int_equal(ee.port, 9999);
	assert_memory_equal(ee.offender, B6, 16);
	assert_memory_equal(ee.dst, B6, 16);
	/* so_error left with the entry it came with. */
	assert_false(ust_sock_events(s) & UST_EV_ERR);
	/* Packet too big tells the MTU; parameter problem its pointer; two
	 * entries queue in order, so_error following the head. */
	assert_int_equal(ust_sock_sendto(s, "probe-2", 7, 0, &to), 7);
	fx_run(f, UST_NS_PER_MS);
	inject_error_about_last(f, UST_ICMP6_PKT_TOO_BIG, 0, 1280);
	inject_error_about_last(f, UST_ICMP6_PARAM_PROB, 0, 6);
	assert_int_equal(ust_sock_recv_err(s, buf, 3, &ee, &trunc), 3);
	assert_true(trunc);
	assert_int_equal(ee.err, EMSGSIZE);
	assert_int_equal(ee.info, 1280);
	int e;
	size_t el = sizeof(e);
	UST_SOCK_CHECK(ust_sock_getopt(s, UST_SOL_SOCKET, UST_SO_ERROR, &e, &el));
	assert_int_equal(e, EPROTO);
	assert_true(ust_sock_events(s) & UST_EV_ERR); /* the queue still holds one */
	assert_int_equal(ust_sock_recv_err(s, buf, sizeof(buf), &ee, &trunc), 7);
	assert_int_equal(ee.err, EPROTO);
	assert_int_equal(ee.info, 6);
	assert_false(ust_sock_events(s) & UST_EV_ERR);
	/* IPV6_MTU_DISCOVER DO: over the (now lower) path MTU is refused with
	 * a local error naming it. */
	int v = UST_IP_PMTUDISC_DO;
	UST_SOCK_CHECK(ust_sock_setopt(s, UST_SOL_IPV6, UST_IPV6_MTU_DISCOVER, &v, sizeof(v)));
	static uint8_t big[1300];
	assert_int_equal(ust_sock_sendto(s, big, sizeof(big), 0, &to), -EMSGSIZE);
	assert_int_equal(ust_sock_recv_err(s, buf, sizeof(buf), &ee, &trunc), 0);
	assert_int_equal(ee.origin, UST_EE_ORIGIN_LOCAL);
	assert_int_equal(ee.err, EMSGSIZE);
	assert_int_equal(ee.info, 1280);
	assert_int_equal(ust_sock_sendto(s, big, 1280 - 48, 0, &to), 1280 - 48);
	/* Without IPV6_RECVERR an unconnected socket hears nothing. */
	assert_int_equal(ust_sock_sendto(quiet, "q", 1, 0, &to), 1);
	fx_run(f, UST_NS_PER_MS);
	inject_error_about_last(f, UST_ICMP6_UNREACH, UST_ICMP6_UNREACH_PORT, 0);
	assert_false(ust_sock_events(quiet) & UST_EV_ERR);
	assert_int_equal(ust_sock_recv_err(quiet, buf, sizeof(buf), &ee, &trunc), -EAGAIN);
	/* An error left queued is freed with its socket. */
	assert_int_equal(ust_sock_sendto(s, "probe-3", 7, 0, &to), 7);
	fx_run(f, UST_NS_PER_MS);
	inject_error_about_last(f, UST_ICMP6_UNREACH, UST_ICMP6_UNREACH_PORT, 0);
	assert_true(ust_sock_events(s) & UST_EV_ERR);
	ust_sock_close(s);
	ust_sock_close(quiet);
	ust_sock_close(sink);
	fx_free(f);
}

/* Scope ids as Linux: a link-local peer reads with the receiving port's
 * index (recvfrom, accept, getpeername, getsockname, IPV6_PKTINFO); a given
 * one must name the port (lo's has no link-local route, another is no
 * device); connect, and bind to a link-local address, need one. */
static void
test_scope_ids(void **state)
{
	(void)state;
	struct fx *f = fx_new6(11, A6, B6);
	fx_run(f, 2 * UST_NS_PER_S);
	uint8_t lla[16], llb[16];
	memcpy(lla, ust_nd6_linklocal(f->a), 16);
	memcpy(llb, ust_nd6_linklocal(f->b), 16);
	struct ust_sock *a = udp6(f->a, 0), *b = udp6(f->b, 7000);
	struct ust_sockaddr to = sa6(llb, 7000), from;
	to.scope_id = 99;
	assert_int_equal(ust_sock_sendto(a, "x", 1, 0, &to), -ENETUNREACH);
	to.scope_id = UST_IFINDEX_LOOPBACK;
	assert_int_equal(ust_sock_sendto(a, "x", 1, 0, &to), -ENETUNREACH);
	to.scope_id = 0;
	assert_int_equal(ust_sock_connect(a, &to), -EINVAL);
	to.scope_id = FX_IFINDEX_A;
	assert_int_equal(ust_sock_sendto(a, "hello", 5, 0, &to), 5);
	fx_run(f, 10 * UST_NS_PER_MS);
	struct ust_sock_rxinfo ri;
	UST_SOCK_CHECK(ust_sock_rxinfo(b, &ri));
	assert_int_equal(ri.ifindex, FX_IFINDEX_B);
	char buf[16];
	assert_int_equal(ust_sock_recvfrom(b, buf, sizeof(buf), 0, &from), 5);
	assert_memory_equal(from.addr6, lla, 16);
	assert_int_equal(from.scope_id, FX_IFINDEX_B);
	/* Without a scope id a datagram takes the port, as Linux's route. */
	to.scope_id = 0;
	assert_int_equal(ust_sock_sendto(a, "again", 5, 0, &to), 5);
	fx_run(f, 10 * UST_NS_PER_MS);
	assert_int_equal(ust_sock_recvfrom(b, buf, sizeof(buf), 0, NULL), 5);

	struct ust_sock *l, *c, *srv;
	UST_SOCK_CHECK(ust_sock_open(f->a, UST_AF_INET6, UST_SOCK_STREAM, &l));
	struct ust_sockaddr me = sa6(lla, 80);
	assert_int_equal(ust_sock_bind(l, &me), -EINVAL);
	me.scope_id = 99;
	assert_int_equal(ust_sock_bind(l, &me), -ENODEV);
	me.scope_id = UST_IFINDEX_LOOPBACK;
	assert_int_equal(ust_sock_bind(l, &me), -EADDRNOTAVAIL);
	me.scope_id = FX_IFINDEX_A;
	UST_SOCK_CHECK(ust_sock_bind(l, &me));
	struct ust_sockaddr name;
	UST_SOCK_CHECK(ust_sock_getname(l, &name));
	assert_int_equal(name.scope_id, FX_IFINDEX_A);
	UST_SOCK_CHECK(ust_sock_listen(l, 4));
	UST_SOCK_CHECK(ust_sock_open(f->b, UST_AF_INET6, UST_SOCK_STREAM, &c));
	struct ust_sockaddr dst = sa6(lla, 80);
	dst.scope_id = FX_IFINDEX_B;
	assert_int_equal(ust_sock_connect(c, &dst), -EINPROGRESS);
	fx_run(f, 10 * UST_NS_PER_MS);
	struct ust_sockaddr peer;
	UST_SOCK_CHECK(ust_sock_accept(l, &srv, &peer));
	assert_memory_equal(peer.addr6, llb, 16);
	assert_int_equal(peer.scope_id, FX_IFINDEX_A);
	UST_SOCK_CHECK(ust_sock_getpeer(c, &peer));
	assert_int_equal(peer.scope_id, FX_IFINDEX_B);
	UST_SOCK_CHECK(ust_sock_getname(c, &name));
	assert_int_equal(name.scope_id, FX_IFINDEX_B);
	/* A global address has none. */
	UST_SOCK_CHECK(ust_sock_getname(b, &name));
	assert_int_equal(name.scope_id, 0);
	ust_sock_close(srv);
	ust_sock_close(c);
	ust_sock_close(l);
	ust_sock_close(a);
	ust_sock_close(b);
	fx_run(f, 200 * UST_NS_PER_S);
	fx_free(f);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_udp6_waits_for_dad_then_resolves),
		cmocka_unit_test(test_dad_duplicate_address_not_used),
		cmocka_unit_test(test_ns_needs_hop_limit_255),
		cmocka_unit_test(test_reassembly_order_overlap_duplicate_timeout),
		cmocka_unit_test(test_icmp6_errors_follow_the_rules),
		cmocka_unit_test(test_echo_reply),
		cmocka_unit_test(test_packet_too_big_lowers_mss),
		cmocka_unit_test(test_errors_reach_the_error_queue),
		cmocka_unit_test(test_scope_ids),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
