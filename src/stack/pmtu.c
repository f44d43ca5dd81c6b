/*
 * The path MTU cache (pmtu.h): a small table searched linearly, since only
 * destinations behind a smaller hop have an entry; when it is full, the
 * entry closest to expiry makes room.
 */
#include "pmtu.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "ip.h"

#define PMTU_ENTRIES 64
#define PMTU_EXPIRE_NS (600 * UST_NS_PER_S) /* RFC 1191 6.3, RFC 8201 5.3: ten minutes */

struct pmtu_entry {
	uint8_t dst[16];   /* destination */
	uint16_t mtu;      /* what the ICMP error said, after the family's floor */
	uint64_t until_ns; /* forgotten after; 0 = unused */
};

struct ust_pmtu {
	struct pmtu_entry e[PMTU_ENTRIES]; /* path MTUs below the link MTU */
	uint64_t live_until_ns;            /* no entry lives past this */
};

int
ust_pmtu_init(struct ust_stack *st)
{
	st->pmtu = calloc(1, sizeof(*st->pmtu));
	return st->pmtu == NULL ? -ENOMEM : 0;
}

void
ust_pmtu_fini(struct ust_stack *st)
{
	free(st->pmtu);
	st->pmtu = NULL;
}

static struct pmtu_entry *
find(const struct ust_stack *st, const uint8_t dst[16])
{
	for (unsigned i = 0; i < PMTU_ENTRIES; i++) {
		const struct pmtu_entry *e = &st->pmtu->e[i];
		if (e->until_ns > st->now_ns && ust_ip_eq(e->dst, dst))
			return (struct pmtu_entry *)e;
	}
	return NULL;
}

uint16_t
ust_pmtu_get(const struct ust_stack *st, const uint8_t dst[16], uint16_t link_mtu)
{
	/* Every datagram asks: without a live entry, no search. */
	if (st->pmtu->live_until_ns <= st->now_ns)
		return link_mtu;
	const struct pmtu_entry *e = find(st, dst);
	return e != NULL && e->mtu < link_mtu ? e->mtu : link_mtu;
}

bool
ust_pmtu_lower(struct ust_stack *st, const uint8_t dst[16], uint32_t mtu, uint16_t link_mtu)
{
	if (mtu >= ust_pmtu_get(st, dst, link_mtu))
		return false;
	struct pmtu_entry *e = find(st, dst);
	for (unsigned i = 0; i < PMTU_ENTRIES && e == NULL; i++) {
		struct pmtu_entry *c = &st->pmtu->e[i];
		if (c->until_ns <= st->now_ns)
			e = c;
	}
	if (e == NULL) {
		e = &st->pmtu->e[0];
		for (unsigned i = 1; i < PMTU_ENTRIES; i++)
			if (st->pmtu->e[i].until_ns < e->until_ns)
				e = &st->pmtu->e[i];
	}
	memcpy(e->dst, dst, 16);
	e->mtu = (uint16_t)mtu;
	e->until_ns = st->now_ns + PMTU_EXPIRE_NS;
	st->pmtu->live_until_ns = e->until_ns;
	return true;
}
