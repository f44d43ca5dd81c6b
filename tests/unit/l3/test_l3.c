/* ARP, IPv4, reassembly, ICMP and UDP, driven through two stacks on a memlink. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "l3_fixture.h"
#include "stack/arp.h"
#include "stack/wire/bytes.h"
#include "stack/wire/csum.h"
#include "stack/wire/eth.h"
#include "stack/wire/icmp.h"
#include "stack/wire/ipv4.h"
#include "stack/wire/udp.h"

static struct ust_sock *
udp_bound(struct ust_stack *st, uint32_t addr, uint16_t port)
{
	struct ust_sock *s;
	assert_int_equal(ust_sock_open(st, UST_AF_INET, UST_SOCK_DGRAM, &s), 0);
	struct ust_sockaddr a = {.family = UST_AF_INET, .addr4 = addr, .port = port};
	assert_int_equal(ust_sock_bind(s, &a), 0);
	return s;
}

static struct ust_sockaddr
sa(uint32_t addr, uint16_t port)
{
	struct ust_sockaddr a = {.family = UST_AF_INET, .addr4 = addr, .port = port};
	return a;
}

static void
test_gratuitous_arp_sent_at_start(void **state)
{
	(void)state;
	struct fx *f = fx_new(1);
	int i = fx_find(f, UST_ETHERTYPE_ARP, 0);
	assert_true(i >= 0);
	/* A request whose sender and target are both our address (RFC 5227). */
	assert_int_equal(ust_get16(f->cap[i] + 14 + 6), 1);
	assert_int_equal(ust_get32(f->cap[i] + 14 + 14), IP_A);
	assert_int_equal(ust_get32(f->cap[i] + 14 + 24), IP_A);
	assert_int_equal(f->a->stats.stat[UST_STAT_ARP_GRATUITOUS_OUT], 1);
	fx_free(f);
}

static void
test_udp_resolves_arp_then_delivers(void **state)
{
	(void)state;
	struct fx *f = fx_new(2);
	struct ust_sock *srv = udp_bound(f->a, 0, 5000);
	struct ust_sock *cli = udp_bound(f->b, 0, 0);
	struct ust_sockaddr to = sa(IP_A, 5000);
	uint8_t mac[6];
	/* A learned B from B's gratuitous ARP? No: it was not for A. */
	assert_int_equal(ust_arp_lookup(f->b, IP_A, mac), -ENOENT);
	assert_int_equal(ust_sock_sendto(cli, "hello", 5, 0, &to), 5);
	fx_run(f, 10 * UST_NS_PER_MS);
	assert_int_equal(ust_arp_lookup(f->b, IP_A, mac), 0);
	assert_memory_equal(mac, ust_memlink_netif(f->link, 0)->mac, 6);
	/* The request to A taught A about B (RFC 826 merge). */
	assert_int_equal(ust_arp_lookup(f->a, IP_B, mac), 0);
	assert_int_equal(f->a->stats.stat[UST_STAT_ARP_REPLY_OUT], 1);
	char buf[16];
	struct ust_sockaddr from;
	assert_true(ust_sock_events(srv) & UST_EV_IN);
	assert_int_equal(ust_sock_nread(srv), 5);
	assert_int_equal(ust_sock_recvfrom(srv, buf, sizeof(buf), 0, &from), 5);
	assert_memory_equal(buf, "hello", 5);
	assert_int_equal(from.addr4, IP_B);
	struct ust_sockaddr me;
	ust_sock_getname(cli, &me);
	assert_int_equal(from.port, me.port);
	assert_true(me.port >= 32768 && me.port <= 60999);
	assert_int_equal(ust_sock_recv(srv, buf, sizeof(buf), 0), -EAGAIN);
	ust_sock_close(srv);
	ust_sock_close(cli);
	fx_free(f);
}

static void
test_arp_unresolved_drops_queue_after_retries(void **state)
{
	(void)state;
	struct fx *f = fx_new(3);
	struct ust_sock *s = udp_bound(f->a, 0, 0);
	struct ust_sockaddr to = sa(0xc6120063u, 9); /* 198.18.0.99: nobody */
	for (int i = 0; i < 3; i++)
		assert_int_equal(ust_sock_sendto(s, "x", 1, 0, &to), 1);
	fx_run(f, 500 * UST_NS_PER_MS);
	assert_int_equal(f->a->stats.stat[UST_STAT_ARP_REQ_OUT], 1);
	fx_run(f, 5 * UST_NS_PER_S);
	assert_int_equal(f->a->stats.stat[UST_STAT_ARP_REQ_OUT], 3);
	assert_int_equal(f->a->stats.drop[UST_DROP_ARP_UNRESOLVED], 3);
	ust_sock_close(s);
	fx_free(f);
}

static void
test_arp_queue_cap_counts_overflow(void **state)
{
	(void)state;
	struct fx *f = fx_new(4);
	struct ust_sock *s = udp_bound(f->a, 0, 0);
	struct ust_sockaddr to = sa(0xc6120063u, 9);
	for (int i = 0; i < 70; i++)
		assert_int_equal(ust_sock_sendto(s, "x", 1, 0, &to), 1);
	assert_int_equal(f->a->stats.drop[UST_DROP_ARP_QUEUE_FULL], 70 - 64);
	ust_sock_close(s);
	fx_free(f);
}

static void
test_arp_entry_expires(void **state)
{
	(void)state;
	struct fx *f = fx_new(5);
	struct ust_sock *s = udp_bound(f->b, 0, 0);
	struct ust_sockaddr to = sa(IP_A, 9);
	ust_sock_sendto(s, "x", 1, 0, &to);
	fx_run(f, UST_NS_PER_S);
	uint8_t mac[6];
	assert_int_equal(ust_arp_lookup(f->b, IP_A, mac), 0);
	fx_run(f, 61 * UST_NS_PER_S);
	assert_int_equal(ust_arp_lookup(f->b, IP_A, mac), -ENOENT);
	ust_sock_close(s);
	fx_free(f);
}

static void
test_icmp_echo_reply_mirrors_request(void **state)
{
	(void)state;
	struct fx *f = fx_new(6);
	uint8_t icmp[8 + 56];
	for (int i = 0; i < 56; i++)
		icmp[8 + i] = (uint8_t)i;
	ust_icmp_build(icmp, UST_ICMP_ECHO, 0, 0x12340007u, 56);
	uint8_t ip[128];
	uint32_t n = fx_build_ip(ip, IP_B, IP_A, UST_IPPROTO_ICMP, 99, 0, 0, icmp, sizeof(icmp));
	fx_inject_ip(f, ip, n);
	fx_run(f, 10 * UST_NS_PER_MS);
	int i = fx_find(f, UST_ETHERTYPE_IPV4, UST_IPPROTO_ICMP);
	assert_true(i >= 0);
	const uint8_t *r = f->cap[i] + UST_ETH_HLEN;
	struct ust_ipv4_view v;
	assert_int_equal(ust_ipv4_parse(r, f->cap_len[i] - UST_ETH_HLEN, 0, &v), UST_DROP_NONE);
	assert_int_equal(v.src, IP_A);
	assert_int_equal(v.dst, IP_B);
	struct ust_icmp_view ic;
	assert_int_equal(ust_icmp_parse(v.payload, v.payload_len, &ic), UST_DROP_NONE);
	assert_int_equal(ic.type, UST_ICMP_ECHO_REPLY);
	assert_int_equal(ic.id, 0x1234);
	assert_int_equal(ic.seq, 7);
	assert_int_equal(ic.body_len, 56);
	assert_memory_equal(ic.body, icmp + 8, 56);
	assert_int_equal(f->a->stats.stat[UST_STAT_ICMP_ECHO_REPLY_OUT], 1);
	fx_free(f);
}

static void
test_udp_closed_port_gets_port_unreachable_and_econnrefused(void **state)
{
	(void)state;
	struct fx *f = fx_new(7);
	struct ust_sock *c = udp_bound(f->b, 0, 0);
	struct ust_sockaddr to = sa(IP_A, 4444);
	assert_int_equal(ust_sock_connect(c, &to), 0);
	assert_int_equal(ust_sock_send(c, "ping", 4, 0), 4);
	fx_run(f, 10 * UST_NS_PER_MS);
	assert_int_equal(f->a->stats.drop[UST_DROP_UDP_NO_PORT], 1);
	assert_int_equal(f->a->stats.stat[UST_STAT_ICMP_UNREACH_OUT], 1);
	int i = fx_find(f, UST_ETHERTYPE_IPV4, UST_IPPROTO_ICMP);
	assert_true(i >= 0);
	const uint8_t *icmp = f->cap[i] + UST_ETH_HLEN + UST_IPV4_HLEN;
	assert_int_equal(icmp[0], UST_ICMP_UNREACH);
	assert_int_equal(icmp[1], UST_ICMP_UNREACH_PORT);
	/* The quote starts with the offending datagram's IP header. */
	assert_int_equal(ust_get32(icmp + 8 + 12), IP_B);
	assert_int_equal(ust_get16(icmp + 8 + 20 + 2), 4444);
	assert_true(ust_sock_events(c) & UST_EV_ERR);
	char buf[8];
	assert_int_equal(ust_sock_recv(c, buf, sizeof(buf), 0), -ECONNREFUSED);
	assert_int_equal(ust_sock_recv(c, buf, sizeof(buf), 0), -EAGAIN);
	ust_sock_close(c);
	fx_free(f);
}

static void
test_icmp_errors_are_rate_limited(void **state)
{
	(void)state;
	struct fx *f = fx_new(8);
	uint8_t udp[8 + 4];
	memcpy(udp + 8, "data", 4);
	for (int k = 0; k < 80; k++) {
		uint32_t ps = ust_csum_pseudo4(IP_B, IP_A, UST_IPPROTO_UDP, sizeof(udp));
		ust_udp_build(udp, 1000, (uint16_t)(2000 + k), sizeof(udp), ps, false);
		uint8_t ip[64];
		uint32_t n = fx_build_ip(ip, IP_B, IP_A, UST_IPPROTO_UDP, (uint16_t)k, 0, 0, udp, sizeof(udp));
		fx_inject_ip(f, ip, n);
	}
	fx_run(f, 1000);
	assert_int_equal(f->a->stats.drop[UST_DROP_UDP_NO_PORT], 80);
	assert_int_equal(f->a->stats.stat[UST_STAT_ICMP_UNREACH_OUT], 50);
	assert_int_equal(f->a->stats.drop[UST_DROP_ICMP_RATE], 30);
	fx_free(f);
}

static void
test_udp_demux_prefers_connected_and_filters(void **state)
{
	(void)state;
	struct fx *f = fx_new(9);
	struct ust_sock *wild, *conn, *b1, *b2;
	int one = 1;
	assert_int_equal(ust_sock_open(f->a, UST_AF_INET, UST_SOCK_DGRAM, &wild), 0);
	assert_int_equal(ust_sock_open(f->a, UST_AF_INET, UST_SOCK_DGRAM, &conn), 0);
	ust_sock_setopt(wild, UST_SOL_SOCKET, UST_SO_REUSEADDR, &one, sizeof(one));
	ust_sock_setopt(conn, UST_SOL_SOCKET, UST_SO_REUSEADDR, &one, sizeof(one));
	struct ust_sockaddr p = sa(0, 6000);
	assert_int_equal(ust_sock_bind(wild, &p), 0);
	assert_int_equal(ust_sock_bind(conn, &p), 0);
	b1 = udp_bound(f->b, 0, 7001);
	b2 = udp_bound(f->b, 0, 7002);
	struct ust_sockaddr peer1 = sa(IP_B, 7001);
	assert_int_equal(ust_sock_connect(conn, &peer1), 0);
	struct ust_sockaddr to = sa(IP_A, 6000);
	ust_sock_sendto(b1, "one", 3, 0, &to);
	ust_sock_sendto(b2, "two", 3, 0, &to);
	fx_run(f, 10 * UST_NS_PER_MS);
	char buf[8];
	assert_int_equal(ust_sock_recv(conn, buf, sizeof(buf), 0), 3);
	assert_memory_equal(buf, "one", 3);
	assert_int_equal(ust_sock_recv(conn, buf, sizeof(buf), 0), -EAGAIN);
	assert_int_equal(ust_sock_recv(wild, buf, sizeof(buf), 0), 3);
	assert_memory_equal(buf, "two", 3);
	ust_sock_close(wild);
	ust_sock_close(conn);
	ust_sock_close(b1);
	ust_sock_close(b2);
	fx_free(f);
}

static void
test_udp_bind_errors_match_linux(void **state)
{
	(void)state;
	struct fx *f = fx_new(10);
	struct ust_sock *a = udp_bound(f->a, 0, 7000);
	struct ust_sock *b;
	assert_int_equal(ust_sock_open(f->a, UST_AF_INET, UST_SOCK_DGRAM, &b), 0);
	struct ust_sockaddr p = sa(0, 7000);
	assert_int_equal(ust_sock_bind(b, &p), -EADDRINUSE);
	struct ust_sockaddr other = sa(0xc6120063u, 7001);
	assert_int_equal(ust_sock_bind(b, &other), -EADDRNOTAVAIL);
	struct ust_sockaddr ok = sa(IP_A, 7001);
	assert_int_equal(ust_sock_bind(b, &ok), 0);
	assert_int_equal(ust_sock_bind(b, &ok), -EINVAL);
	struct ust_sockaddr v6 = {.family = UST_AF_INET6, .port = 1};
	assert_int_equal(ust_sock_connect(a, &v6), -EAFNOSUPPORT);
	assert_int_equal(ust_sock_send(a, "x", 1, 0), -EDESTADDRREQ);
	char big[1];
	struct ust_sockaddr to = sa(IP_B, 9);
	assert_int_equal(ust_sock_sendto(a, big, 65508, 0, &to), -EMSGSIZE);
	struct ust_sockaddr bc = sa(0xffffffffu, 9);
	assert_int_equal(ust_sock_sendto(a, "x", 1, 0, &bc), -EACCES);
	assert_int_equal(ust_sock_listen(a, 1), -EOPNOTSUPP);
	ust_sock_close(a);
	ust_sock_close(b);
	fx_free(f);
}

static void
test_udp_peek_and_truncation(void **state)
{
	(void)state;
	struct fx *f = fx_new(11);
	struct ust_sock *srv = udp_bound(f->a, 0, 5001);
	struct ust_sock *cli = udp_bound(f->b, 0, 0);
	struct ust_sockaddr to = sa(IP_A, 5001);
	ust_sock_sendto(cli, "abcdef", 6, 0, &to);
	ust_sock_sendto(cli, "gh", 2, 0, &to);
	fx_run(f, 10 * UST_NS_PER_MS);
	char buf[8];
	assert_int_equal(ust_sock_recv(srv, buf, 3, UST_MSG_PEEK), 3);
	assert_memory_equal(buf, "abc", 3);
	/* A short read takes the whole datagram away (man 7 udp). */
	assert_int_equal(ust_sock_recv(srv, buf, 3, 0), 3);
	assert_int_equal(ust_sock_recv(srv, buf, sizeof(buf), 0), 2);
	assert_memory_equal(buf, "gh", 2);
	ust_sock_close(srv);
	ust_sock_close(cli);
	fx_free(f);
}

static void
test_udp_large_datagram_fragmented_and_reassembled(void **state)
{
	(void)state;
	struct fx *f = fx_new(12);
	struct ust_sock *srv = udp_bound(f->a, 0, 5002);
	struct ust_sock *cli = udp_bound(f->b, 0, 0);
	static uint8_t msg[20000], got[20000];
	for (size_t i = 0; i < sizeof(msg); i++)
		msg[i] = (uint8_t)(i * 7 + 3);
	struct ust_sockaddr to = sa(IP_A, 5002);
	assert_int_equal(ust_sock_sendto(cli, msg, sizeof(msg), 0, &to), sizeof(msg));
	fx_run(f, 50 * UST_NS_PER_MS);
	assert_int_equal(f->b->stats.stat[UST_STAT_IP_FRAG_OUT], 14);
	assert_int_equal(f->a->stats.stat[UST_STAT_IP_REASM_OK], 1);
	assert_int_equal(ust_sock_recv(srv, got, sizeof(got), 0), sizeof(msg));
	assert_memory_equal(got, msg, sizeof(msg));
	ust_sock_close(srv);
	ust_sock_close(cli);
	fx_free(f);
}

/* A UDP datagram to A:5003 split by hand into fragments of `chunk` bytes. */
static uint32_t
make_udp(uint8_t *udp, uint32_t plen)
{
	for (uint32_t i = 0; i < plen; i++)
		udp[8 + i] = (uint8_t)(i ^ 0x5a);
	uint16_t ulen = (uint16_t)(plen + 8);
	ust_udp_build(udp, 1234, 5003, ulen, ust_csum_pseudo4(IP_B, IP_A, UST_IPPROTO_UDP, ulen), false);
	return ulen;
}

static void
inject_frag(struct fx *f, const uint8_t *udp, uint32_t off, uint32_t len, int mf, uint16_t id)
{
	uint8_t ip[2048];
	uint32_t n = fx_build_ip(ip, IP_B, IP_A, UST_IPPROTO_UDP, id, (uint16_t)off, mf, udp + off, len);
	fx_inject_ip(f, ip, n);
}

static void
test_reassembly_out_of_order_and_duplicate(void **state)
{
	(void)state;
	struct fx *f = fx_new(13);
	struct ust_sock *srv = udp_bound(f->a, 0, 5003);
	static uint8_t udp[3008];
	uint32_t ulen = make_udp(udp, 3000);
	inject_frag(f, udp, 2000, ulen - 2000, 0, 77);
	inject_frag(f, udp, 0, 1000, 1, 77);
	inject_frag(f, udp, 0, 1000, 1, 77); /* same bytes again: harmless */
	inject_frag(f, udp, 1000, 1000, 1, 77);
	fx_run(f, 10 * UST_NS_PER_MS);
	static uint8_t got[3000];
	assert_int_equal(ust_sock_recv(srv, got, sizeof(got), 0), 3000);
	assert_memory_equal(got, udp + 8, 3000);
	assert_int_equal(f->a->stats.drop[UST_DROP_IP_FRAG_OVERLAP], 0);
	ust_sock_close(srv);
	fx_free(f);
}

static void
test_reassembly_conflicting_overlap_drops_datagram(void **state)
{
	(void)state;
	struct fx *f = fx_new(14);
	struct ust_sock *srv = udp_bound(f->a, 0, 5003);
	static uint8_t udp[3008], evil[3008];
	uint32_t ulen = make_udp(udp, 3000);
	memcpy(evil, udp, sizeof(evil));
	evil[1000] ^= 0xff;
	inject_frag(f, udp, 0, 1200, 1, 78);
	inject_frag(f, evil, 800, 800, 1, 78);
	inject_frag(f, udp, 1600, ulen - 1600, 0, 78);
	fx_run(f, 10 * UST_NS_PER_MS);
	/* Both fragments held so far are dropped; the last one starts a new
	 * datagram that never completes. */
	assert_int_equal(f->a->stats.drop[UST_DROP_IP_FRAG_OVERLAP], 2);
	char buf[8];
	assert_int_equal(ust_sock_recv(srv, buf, sizeof(buf), 0), -EAGAIN);
	ust_sock_close(srv);
	fx_free(f);
}

static void
test_reassembly_too_many_fragments_dropped(void **state)
{
	(void)state;
	struct fx *f = fx_new(15);
	static uint8_t udp[1008];
	make_udp(udp, 1000);
	/* 8-byte pieces: a 1008-byte datagram needs 126 of them, over the 64 cap. */
	for (uint32_t off = 0; off < 8 * 70; off += 8)
		inject_frag(f, udp, off, 8, 1, 79);
	fx_run(f, 10 * UST_NS_PER_MS);
	assert_true(f->a->stats.drop[UST_DROP_IP_FRAG_BAD] >= 64);
	assert_int_equal(f->a->stats.stat[UST_STAT_IP_REASM_OK], 0);
	fx_free(f);
}

static void
test_reassembly_timeout_frees_memory(void **state)
{
	(void)state;
	struct fx *f = fx_new(16);
	static uint8_t udp[3008];
	make_udp(udp, 3000);
	inject_frag(f, udp, 0, 1000, 1, 80);
	fx_run(f, 29 * UST_NS_PER_S);
	assert_int_equal(f->a->stats.drop[UST_DROP_IP_FRAG_TIMEOUT], 0);
	fx_run(f, 2 * UST_NS_PER_S);
	assert_int_equal(f->a->stats.drop[UST_DROP_IP_FRAG_TIMEOUT], 1);
	fx_free(f);
}

static void
test_reassembly_memory_cap(void **state)
{
	(void)state;
	struct fx *f = fx_new(17);
	ust_stack_destroy(f->a);
	struct ust_stack_config ca = {.ip4_addr = IP_A, .ip4_prefix = 24, .frag_mem_max = 16384,
				      .no_gratuitous_arp = true};
	f->a = ust_stack_create(&ca, ust_memlink_netif(f->link, 0), f->now);
	static uint8_t udp[8008];
	make_udp(udp, 8000);
	/* First fragments of many datagrams: the cap must stop the growth. */
	for (uint16_t id = 0; id < 20; id++)
		inject_frag(f, udp, 0, 1480, 1, id);
	fx_run(f, 10 * UST_NS_PER_MS);
	assert_true(f->a->stats.drop[UST_DROP_IP_FRAG_MEM] > 0);
	fx_free(f);
}

static void
test_ipv4_malformed_are_counted_not_crashing(void **state)
{
	(void)state;
	struct fx *f = fx_new(18);
	uint8_t ip[64];
	uint8_t pl[8] = {0};
	uint32_t n = fx_build_ip(ip, IP_B, IP_A, UST_IPPROTO_UDP, 1, 0, 0, pl, sizeof(pl));
	ip[10] ^= 1; /* checksum */
	fx_inject_ip(f, ip, n);
	n = fx_build_ip(ip, IP_B, IP_A, UST_IPPROTO_UDP, 1, 0, 0, pl, sizeof(pl));
	ip[0] = 0x65; /* version 6 in an IPv4 frame */
	fx_inject_ip(f, ip, n);
	n = fx_build_ip(ip, IP_B, 0xc6120063u, UST_IPPROTO_UDP, 1, 0, 0, pl, sizeof(pl));
	fx_inject_ip(f, ip, n); /* not for us */
	n = fx_build_ip(ip, 0xffffffffu, IP_A, UST_IPPROTO_UDP, 1, 0, 0, pl, sizeof(pl));
	fx_inject_ip(f, ip, n); /* broadcast source */
	fx_inject_ip(f, ip, 10); /* truncated */
	n = fx_build_ip(ip, IP_B, IP_A, 99, 1, 0, 0, pl, sizeof(pl));
	fx_inject_ip(f, ip, n); /* unknown protocol */
	fx_run(f, 10 * UST_NS_PER_MS);
	assert_int_equal(f->a->stats.drop[UST_DROP_IP_CSUM], 1);
	assert_int_equal(f->a->stats.drop[UST_DROP_IP_VERSION], 1);
	assert_int_equal(f->a->stats.drop[UST_DROP_IP_NOT_US], 1);
	assert_int_equal(f->a->stats.drop[UST_DROP_IP_SRC], 1);
	assert_int_equal(f->a->stats.drop[UST_DROP_IP_SHORT], 1);
	assert_int_equal(f->a->stats.drop[UST_DROP_IP_PROTO], 1);
	int i = fx_find(f, UST_ETHERTYPE_IPV4, UST_IPPROTO_ICMP);
	assert_true(i >= 0);
	assert_int_equal(f->cap[i][UST_ETH_HLEN + 20 + 1], UST_ICMP_UNREACH_PROTO);
	fx_free(f);
}

static void
test_loopback_to_own_address_and_127(void **state)
{
	(void)state;
	struct fx *f = fx_new(19);
	struct ust_sock *srv = udp_bound(f->a, 0, 5004);
	struct ust_sock *cli = udp_bound(f->a, 0, 0);
	struct ust_sockaddr own = sa(IP_A, 5004), lo = sa(0x7f000001u, 5004);
	unsigned before = f->ncap;
	assert_int_equal(ust_sock_sendto(cli, "own", 3, 0, &own), 3);
	assert_int_equal(ust_sock_sendto(cli, "lo", 2, 0, &lo), 2);
	fx_run(f, 1000);
	assert_int_equal(f->ncap, before); /* nothing went on the wire */
	char buf[8];
	struct ust_sockaddr from;
	assert_int_equal(ust_sock_recvfrom(srv, buf, sizeof(buf), 0, &from), 3);
	assert_int_equal(from.addr4, IP_A);
	assert_int_equal(ust_sock_recvfrom(srv, buf, sizeof(buf), 0, &from), 2);
	assert_int_equal(from.addr4, 0x7f000001u);
	ust_sock_close(srv);
	ust_sock_close(cli);
	/* Sockets nobody closed, bound or not, go with the stack (the ASan
	 * build's leak checker fails this test otherwise). */
	struct ust_sock *forgotten;
	assert_int_equal(ust_sock_open(f->a, UST_AF_INET, UST_SOCK_DGRAM, &forgotten), 0);
	udp_bound(f->a, 0, 5005);
	fx_free(f);
}

static int
sockopt(struct ust_sock *s, int level, int name)
{
	int v = -1;
	size_t l = sizeof(v);
	assert_int_equal(ust_sock_getopt(s, level, name, &v, &l), 0);
	return v;
}

/* A router's fragmentation needed about captured frame i, saying `mtu`. */
static void
inject_frag_needed(struct fx *f, int i, uint16_t mtu)
{
	uint8_t m[8 + 60], ip[128];
	memcpy(m + 8, f->cap[i] + UST_ETH_HLEN, 60);
	ust_icmp_build(m, UST_ICMP_UNREACH, UST_ICMP_UNREACH_NEEDFRAG, mtu, 60);
	uint32_t n = fx_build_ip(ip, IP_B, IP_A, UST_IPPROTO_ICMP, 7, 0, 0, m, sizeof(m));
	fx_inject_ip(f, ip, n);
}

static void
test_frag_needed_lowers_path_mtu_and_mss(void **state)
{
	(void)state;
	struct fx *f = fx_new(9);
	struct ust_sock *l, *c, *srv;
	assert_int_equal(ust_sock_open(f->a, UST_AF_INET, UST_SOCK_STREAM, &l), 0);
	struct ust_sockaddr any = sa(0, 80), to = sa(IP_A, 80);
	assert_int_equal(ust_sock_bind(l, &any), 0);
	assert_int_equal(ust_sock_listen(l, 4), 0);
	assert_int_equal(ust_sock_open(f->b, UST_AF_INET, UST_SOCK_STREAM, &c), 0);
	assert_int_equal(ust_sock_connect(c, &to), -EINPROGRESS);
	fx_run(f, 10 * UST_NS_PER_MS);
	assert_int_equal(ust_sock_accept(l, &srv, NULL), 0);
	assert_int_equal(sockopt(srv, UST_SOL_TCP, UST_TCP_MAXSEG), 1500 - 20 - 20 - 12);
	assert_int_equal(sockopt(srv, UST_SOL_IP, UST_IP_MTU), 1500);
	static uint8_t data[30000], got[30000];
	for (size_t k = 0; k < sizeof(data); k++)
		data[k] = (uint8_t)(k * 7);
	f->ncap = 0;
	assert_int_equal(ust_sock_send(srv, data, sizeof(data), 0), (ssize_t)sizeof(data));
	ust_stack_poll(f->a, f->now);
	int i = -1;
	for (unsigned k = 0; k < f->ncap && i < 0; k++)
		if (ust_get16(f->cap[k] + 12) == UST_ETHERTYPE_IPV4 && f->cap_len[k] > 1300)
			i = (int)k;
	assert_true(i >= 0);
	/* A higher MTU than the path's changes nothing (RFC 1191 6.3). */
	inject_frag_needed(f, i, 1500);
	ust_stack_poll(f->a, f->now);
	assert_int_equal(sockopt(srv, UST_SOL_IP, UST_IP_MTU), 1500);
	/* A hop of 1200 bytes: the path MTU and the MSS follow it. */
	inject_frag_needed(f, i, 1200);
	f->ncap = 0;
	fx_run(f, 5 * UST_NS_PER_S);
	assert_int_equal(sockopt(srv, UST_SOL_IP, UST_IP_MTU), 1200);
	assert_int_equal(sockopt(srv, UST_SOL_TCP, UST_TCP_MAXSEG), 1200 - 20 - 20 - 12);
	size_t have = 0;
	ssize_t r;
	while ((r = ust_sock_recv(c, got + have, sizeof(got) - have, 0)) > 0)
		have += (size_t)r;
	assert_int_equal(have, sizeof(data));
	assert_memory_equal(got, data, sizeof(data));
	for (unsigned k = 0; k < f->ncap; k++)
		assert_true(f->cap_len[k] <= UST_ETH_HLEN + 1200);
	/* Below Linux's min_pmtu (an old router's 0 too) is taken as 552. */
	assert_int_equal(ust_sock_send(srv, data, 4000, 0), 4000);
	f->ncap = 0;
	ust_stack_poll(f->a, f->now);
	assert_true(f->ncap > 0);
	inject_frag_needed(f, 0, 0);
	fx_run(f, 5 * UST_NS_PER_S);
	assert_int_equal(sockopt(srv, UST_SOL_IP, UST_IP_MTU), 552);
	assert_int_equal(sockopt(srv, UST_SOL_TCP, UST_TCP_MAXSEG), 552 - 20 - 20 - 12);
	/* Another destination keeps the port's MTU; an unconnected socket has
	 * none to report (ENOTCONN, as Linux). */
	struct ust_sock *u = udp_bound(f->a, 0, 5006);
	int v;
	size_t vl = sizeof(v);
	assert_int_equal(ust_sock_getopt(u, UST_SOL_IP, UST_IP_MTU, &v, &vl), -ENOTCONN);
	struct ust_sockaddr other = sa(0xc6120009u, 9);
	assert_int_equal(ust_sock_connect(u, &other), 0);
	assert_int_equal(sockopt(u, UST_SOL_IP, UST_IP_MTU), 1500);
	/* Ten minutes on, the entry is forgotten (RFC 1191 6.3). */
	fx_run(f, 601 * UST_NS_PER_S);
	assert_int_equal(sockopt(srv, UST_SOL_IP, UST_IP_MTU), 1500);
	ust_sock_close(u);
	ust_sock_close(c);
	ust_sock_close(srv);
	ust_sock_close(l);
	fx_run(f, 200 * UST_NS_PER_S);
	fx_free(f);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_gratuitous_arp_sent_at_start),
		cmocka_unit_test(test_udp_resolves_arp_then_delivers),
		cmocka_unit_test(test_arp_unresolved_drops_queue_after_retries),
		cmocka_unit_test(test_arp_queue_cap_counts_overflow),
		cmocka_unit_test(test_arp_entry_expires),
		cmocka_unit_test(test_icmp_echo_reply_mirrors_request),
		cmocka_unit_test(test_udp_closed_port_gets_port_unreachable_and_econnrefused),
		cmocka_unit_test(test_icmp_errors_are_rate_limited),
		cmocka_unit_test(test_udp_demux_prefers_connected_and_filters),
		cmocka_unit_test(test_udp_bind_errors_match_linux),
		cmocka_unit_test(test_udp_peek_and_truncation),
		cmocka_unit_test(test_udp_large_datagram_fragmented_and_reassembled),
		cmocka_unit_test(test_reassembly_out_of_order_and_duplicate),
		cmocka_unit_test(test_reassembly_conflicting_overlap_drops_datagram),
		cmocka_unit_test(test_reassembly_too_many_fragments_dropped),
		cmocka_unit_test(test_reassembly_timeout_frees_memory),
		cmocka_unit_test(test_reassembly_memory_cap),
		cmocka_unit_test(test_ipv4_malformed_are_counted_not_crashing),
		cmocka_unit_test(test_loopback_to_own_address_and_127),
		cmocka_unit_test(test_frag_needed_lowers_path_mtu_and_mss),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
