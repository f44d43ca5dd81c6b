/*
 * Routing for one interface: the local subnet is on-link, everything else
 * goes to the default gateway. Our own addresses and 127.0.0.0/8 never reach
 * here: ipv4.c loops them back.
 */
#include <errno.h>

#include "ipv4.h"

static uint32_t
prefix_mask(uint8_t prefix)
{
	return prefix == 0 ? 0 : ~0u << (32 - prefix);
}

bool
ust_ipv4_is_local(const struct ust_stack *st, uint32_t a)
{
	return a == st->cfg.ip4_addr || (a >> 24) == 127;
}

static bool
is_subnet_bcast(const struct ust_stack *st, uint32_t a)
{
	uint32_t m = prefix_mask(st->cfg.ip4_prefix);
	return st->cfg.ip4_prefix < 31 && (a & m) == (st->cfg.ip4_addr & m) && (a | m) == ~0u;
}

int
ust_route_lookup(const struct ust_stack *st, uint32_t dst, uint32_t *nexthop)
{
	uint32_t m = prefix_mask(st->cfg.ip4_prefix);
	if (dst == UST_IPV4_BROADCAST || is_subnet_bcast(st, dst)) {
		*nexthop = UST_IPV4_BROADCAST;
		return 0;
	}
	if (st->cfg.ip4_addr != 0 && (dst & m) == (st->cfg.ip4_addr & m)) {
		*nexthop = dst;
		return 0;
	}
	if (st->cfg.ip4_gateway != 0) {
		*nexthop = st->cfg.ip4_gateway;
		return 0;
	}
	return -ENETUNREACH;
}

bool
ust_ipv4_is_bcast(const struct ust_stack *st, uint32_t a)
{
	return a == UST_IPV4_BROADCAST || is_subnet_bcast(st, a);
}
