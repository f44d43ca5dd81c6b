/* The two-stack fixture of l3_fixture.h. */
#include "l3_fixture.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "stack/wire/bytes.h"
#include "stack/wire/eth.h"
#include "stack/wire/ipv4.h"

static void
tap(void *arg, unsigned from, const struct ust_pkt *pkt, uint64_t now_ns)
{
	struct fx *f = arg;
	(void)now_ns;
	if (from != 0 || f->ncap == CAP_MAX)
		return;
	f->cap_len[f->ncap] = ust_pkt_read(pkt, 0, f->cap[f->ncap], pkt->pkt_len);
	f->ncap++;
}

static struct fx *
create(uint64_t seed, const uint8_t *a6, const uint8_t *b6)
{
	struct fx *f = calloc(1, sizeof(*f));
	assert_non_null(f);
	f->now = UST_NS_PER_S;
	f->link = ust_memlink_create(512, seed);
	assert_non_null(f->link);
	ust_memlink_set_tap(f->link, tap, f);
	struct ust_stack_config ca = {.ip4_addr = IP_A, .ip4_prefix = 24, .seed = seed, .ifindex = FX_IFINDEX_A};
	struct ust_stack_config cb = {.ip4_addr = IP_B, .ip4_prefix = 24, .seed = seed + 1,
				      .ifindex = FX_IFINDEX_B};
	if (a6 != NULL) {
		ca.ip6_enable = cb.ip6_enable = true;
		ca.ip6_prefix = cb.ip6_prefix = 64;
		memcpy(ca.ip6_addr, a6, 16);
		memcpy(cb.ip6_addr, b6, 16);
	}
	f->a = ust_stack_create(&ca, ust_memlink_netif(f->link, 0), f->now);
	f->b = ust_stack_create(&cb, ust_memlink_netif(f->link, 1), f->now);
	assert_non_null(f->a);
	assert_non_null(f->b);
	fx_run(f, 0);
	return f;
}

struct fx *
fx_new(uint64_t seed)
{
	return create(seed, NULL, NULL);
}

struct fx *
fx_new6(uint64_t seed, const uint8_t a6[16], const uint8_t b6[16])
{
	return create(seed, a6, b6);
}

void
fx_free(struct fx *f)
{
	ust_stack_destroy(f->a);
	ust_stack_destroy(f->b);
	/* Nothing may stay referenced once both stacks are gone. */
	ust_memlink_set_time(f->link, UINT64_MAX - 1);
	struct ust_pkt *p[32];
	for (unsigned e = 0; e < 2; e++) {
		uint16_t n;
		while ((n = ust_memlink_netif(f->link, e)->ops->rx_burst(ust_memlink_netif(f->link, e),
									  p, 32)) > 0)
			ust_pkt_free_bulk(p, n);
	}
	assert_int_equal(ust_memlink_in_use(f->link, 0), 0);
	assert_int_equal(ust_memlink_in_use(f->link, 1), 0);
	ust_memlink_destroy(f->link);
	free(f);
}

void
fx_run(struct fx *f, uint64_t dt_ns)
{
	uint64_t end = f->now + dt_ns;
	for (;;) {
		ust_memlink_set_time(f->link, f->now);
		while (ust_stack_poll(f->a, f->now) + ust_stack_poll(f->b, f->now) > 0)
			;
		uint64_t next = ust_memlink_next_delivery(f->link);
		uint64_t da = ust_stack_next_deadline(f->a);
		uint64_t db = ust_stack_next_deadline(f->b);
		if (da < next)
			next = da;
		if (db < next)
			next = db;
		if (next <= f->now)
			next = f->now + 1;
		if (next > end)
			break;
		f->now = next;
	}
	f->now = end;
	ust_memlink_set_time(f->link, f->now);
	ust_stack_poll(f->a, f->now);
	ust_stack_poll(f->b, f->now);
}

uint32_t
fx_build_ip(uint8_t *out, uint32_t src, uint32_t dst, uint8_t proto, uint16_t id, uint16_t frag_off,
	    int mf, const uint8_t *payload, uint32_t plen)
{
	struct ust_ipv4_view v = {.tot_len = (uint16_t)(UST_IPV4_HLEN + plen), .id = id,
				  .frag_off = frag_off, .mf = mf != 0, .ttl = 64, .proto = proto,
				  .src = src, .dst = dst};
	ust_ipv4_build(out, &v, false);
	memcpy(out + UST_IPV4_HLEN, payload, plen);
	return UST_IPV4_HLEN + plen;
}

void
fx_inject_ip(struct fx *f, const uint8_t *ip, uint32_t len)
{
	uint8_t frame[2048];
	ust_eth_build(frame, ust_memlink_netif(f->link, 0)->mac, ust_memlink_netif(f->link, 1)->mac,
		      UST_ETHERTYPE_IPV4);
	memcpy(frame + UST_ETH_HLEN, ip, len);
	assert_int_equal(ust_memlink_inject(f->link, 1, frame, UST_ETH_HLEN + len), 0);
}

void
fx_inject_ip6(struct fx *f, const uint8_t *ip, uint32_t len)
{
	uint8_t frame[2048];
	ust_eth_build(frame, ust_memlink_netif(f->link, 0)->mac, ust_memlink_netif(f->link, 1)->mac,
		      UST_ETHERTYPE_IPV6);
	memcpy(frame + UST_ETH_HLEN, ip, len);
	assert_int_equal(ust_memlink_inject(f->link, 1, frame, UST_ETH_HLEN + len), 0);
}

int
fx_find(const struct fx *f, uint16_t ethertype, uint8_t proto)
{
	for (int i = (int)f->ncap - 1; i >= 0; i--) {
		if (ust_get16(f->cap[i] + 12) != ethertype)
			continue;
		if (proto != 0 && f->cap[i][UST_ETH_HLEN + 9] != proto)
			continue;
		return i;
	}
	return -1;
}
