/*
 * Neighbor Discovery (RFC 4861), duplicate address detection (RFC 4862 5.4)
 * and the MLDv2 reports for our groups (RFC 3810), for one port.
 *
 * Neighbor cache: a fixed table in hash chains, states INCOMPLETE,
 * REACHABLE, STALE, DELAY and PROBE with the RFC's timers (RetransTimer 1 s,
 * ReachableTime 30 s, DELAY_FIRST_PROBE_TIME 5 s, three solicitations).
 * Packets wait on an INCOMPLETE entry, bounded like ARP's queue. An NA
 * updates an entry as RFC 4861 7.2.5 says; an NS or RA with a source
 * link-layer address creates or refreshes a STALE one (7.2.3, 6.3.4).
 *
 * Addresses: the link-local one (EUI-64 from the MAC) and the configured
 * global one start TENTATIVE; one NS from :: probes each (DupAddrDetect-
 * Transmits 1) and after RetransTimer they are ASSIGNED unless an NA or a
 * probe from another node claimed them first (then they stay DUPLICATE and
 * unused, counted as UST_DROP_ND_DAD). Then routers are solicited (three RS,
 * 4 s apart) until an RA names a default router, on-link prefixes, an MTU
 * and a hop limit. ND messages we send are built whole here, with their own
 * source (:: while probing) and destination MAC.
 */
#include "nd6.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "eth.h"
#include "ipv6.h"
#include "wire/bytes.h"
#include "wire/eth.h"

#define ND_ENTRIES 1024
#define ND_BUCKETS 256
#define ND_SOLICITS 3                          /* MAX_MULTICAST_SOLICIT, MAX_UNICAST_SOLICIT */
#define ND_RETRANS_NS (1 * UST_NS_PER_S)       /* RetransTimer */
#define ND_REACHABLE_NS (30 * UST_NS_PER_S)    /* REACHABLE_TIME */
#define ND_DELAY_NS (5 * UST_NS_PER_S)         /* DELAY_FIRST_PROBE_TIME */
#define ND_RS_MAX 3                            /* MAX_RTR_SOLICITATIONS */
#define ND_RS_INTERVAL_NS (4 * UST_NS_PER_S)   /* RTR_SOLICITATION_INTERVAL */
#define ND_PREFIXES 4
#define ND_HLIM 255

enum nd_state { ND_FREE, ND_INCOMPLETE, ND_REACHABLE, ND_STALE, ND_DELAY, ND_PROBE };
enum addr_state { ADDR_NONE, ADDR_TENTATIVE, ADDR_ASSIGNED, ADDR_DUPLICATE };

struct nd_entry {
	struct ust_timer timer;  /* retransmission or state change; first for the cast */
	struct nd_entry *next;   /* hash chain or free list */
	uint8_t ip[16];          /* neighbor address */
	uint8_t mac[6];          /* its link-layer address */
	uint8_t state;           /* enum nd_state */
	uint8_t tries;           /* solicitations sent in INCOMPLETE or PROBE */
	struct ust_pktq q;       /* packets waiting for resolution */
};

struct nd_addr {
	uint8_t a[16];    /* the address */
	uint8_t prefix;   /* on-link prefix length */
	uint8_t state;    /* enum addr_state */
};

struct nd_prefix {
	uint8_t p[16];     /* on-link prefix from an RA */
	uint8_t len;       /* its length */
	uint64_t until_ns; /* valid until */
};

struct ust_nd6 {
	struct nd_addr addr[2];        /* [0] link-local, [1] global */
	struct ust_timer dad_timer;    /* end of DAD */
	struct ust_timer rs_timer;     /* next router solicitation */
	unsigned rs_sent;              /* solicitations sent */
	bool have_router;              /* a default router is known */
	uint8_t router[16];            /* its address */
	uint64_t router_until_ns;      /* valid until (UST_TIME_NEVER if configured) */
	struct nd_prefix prefix[ND_PREFIXES]; /* on-link prefixes from RAs */
	uint16_t link_mtu;             /* from an RA's MTU option, else the port's */
	uint8_t hlim;                  /* from an RA, else the default */
	unsigned queued;               /* packets waiting in all entries */
	struct nd_entry *bucket[ND_BUCKETS]; /* hash chains */
	struct nd_entry *free_list;    /* unused entries */
	struct nd_entry entries[ND_ENTRIES]; /* every entry */
};

static const uint8_t all_nodes[16] = {0xff, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};
static const uint8_t all_routers[16] = {0xff, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2};
static const uint8_t mld_routers[16] = {0xff, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x16};

static unsigned
hash6(const uint8_t a[16])
{
	return (unsigned)((ust_get32(a + 12) * 2654435761u) >> 24) % ND_BUCKETS;
}

static bool
prefix_match(const uint8_t a[16], const uint8_t p[16], unsigned len)
{
	unsigned bytes = len / 8, bits = len % 8;
	if (memcmp(a, p, bytes) != 0)
		return false;
	return bits == 0 || ((a[bytes] ^ p[bytes]) & (uint8_t)(0xff << (8 - bits))) == 0;
}

/* Frame an ICMPv6 message already at pkt's data: checksum, an IPv6 header
 * (with a hop-by-hop Router Alert for MLD, RFC 3810 5) and Ethernet. */
static void
send_icmp6(struct ust_stack *st, struct ust_pkt *pkt, uint8_t type, uint32_t rest,
	   const uint8_t src[16], const uint8_t dst[16], const uint8_t mac[6], uint8_t hlim,
	   bool router_alert)
{
	uint32_t len = pkt->len;
	ust_icmp6_build(ust_pkt_data(pkt), type, 0, rest, len - UST_ICMP6_HLEN, src, dst);
	uint8_t next = UST_IPPROTO_ICMPV6;
	if (router_alert) {
		uint8_t *h = ust_pkt_prepend(pkt, 8);
		static const uint8_t hbh[8] = {UST_IPPROTO_ICMPV6, 0, 5, 2, 0, 0, 1, 0};
		memcpy(h, hbh, 8);
		next = UST_IPPROTO_HOPOPTS;
		len += 8;
	}
	uint8_t *h = ust_pkt_prepend(pkt, UST_IPV6_HLEN);
	if (h == NULL) {
		ust_drop(st, pkt, UST_DROP_NO_BUFFER);
		return;
	}
	ust_ipv6_build(h, 0, 0, (uint16_t)len, next, hlim, src, dst);
	pkt->l3_off = (uint16_t)pkt->data_off;
	ust_eth_output(st, pkt, mac, UST_ETHERTYPE_IPV6);
}

/* NS for target: multicast to its solicited-node group (resolution, DAD)
 * or unicast to a known MAC (PROBE). `src` NULL sends from :: (DAD). */
static void
send_ns(struct ust_stack *st, const uint8_t target[16], const uint8_t *src, const uint8_t *ucast_mac)
{
	struct ust_pkt *pkt = ust_stack_alloc_reply(st);
	if (pkt == NULL)
		return;
	uint8_t *b = ust_pkt_append(pkt, UST_ICMP6_HLEN + 24);
	/* RFC 4861 4.3: no source link-layer option from the unspecified address. */
	size_t n = ust_nd_build(b + UST_ICMP6_HLEN, target, 1, src != NULL ? st->nif->mac : NULL);
	ust_pkt_trim(pkt, (uint32_t)(UST_ICMP6_HLEN + n));
	uint8_t dst[16], mac[6];
	if (ucast_mac != NULL) {
		memcpy(dst, target, 16);
		memcpy(mac, ucast_mac, 6);
	} else {
		ust_ipv6_solicited_node(target, dst);
		ust_ipv6_mcast_mac(dst, mac);
	}
	ust_stat_inc(st, UST_STAT_ND_NS_OUT);
	send_icmp6(st, pkt, UST_ND_NS, 0, src != NULL ? src : ust_ip_any6, dst, mac, ND_HLIM, false);
}

static void
send_na(struct ust_stack *st, const uint8_t target[16], const uint8_t dst[16], const uint8_t mac[6],
	bool solicited)
{
	struct ust_pkt *pkt = ust_stack_alloc_reply(st);
	if (pkt == NULL)
		return;
	uint8_t *b = ust_pkt_append(pkt, UST_ICMP6_HLEN + 24);
	ust_nd_build(b + UST_ICMP6_HLEN, target, 2, st->nif->mac);
	/* R=0 (a host), S as asked, O=1: our address is ours alone. */
	uint32_t flags = (solicited ? 0x40000000u : 0) | 0x20000000u;
	ust_stat_inc(st, UST_STAT_ND_NA_OUT);
	send_icmp6(st, pkt, UST_ND_NA, flags, target, dst, mac, ND_HLIM, false);
}

static void
send_mld_report(struct ust_stack *st)
{
	struct ust_nd6 *nd = st->nd6;
	struct ust_pkt *pkt = ust_stack_alloc(st);
	if (pkt == NULL)
		return;
	uint8_t *b = ust_pkt_append(pkt, UST_ICMP6_HLEN + 40);
	uint16_t nrec = 0;
	uint8_t groups[2][16];
	for (unsigned i = 0; i < 2; i++) {
		if (nd->addr[i].state == ADDR_NONE)
			continue;
		ust_ipv6_solicited_node(nd->addr[i].a, groups[nrec]);
		/* Two addresses with the same low 24 bits share one group. */
		if (nrec == 1 && ust_ip_eq(groups[0], groups[1]))
			continue;
		ust_mld2_build(b + UST_ICMP6_HLEN + 20 * nrec, groups[nrec]);
		nrec++;
	}
	ust_pkt_trim(pkt, UST_ICMP6_HLEN + 20u * nrec);
	uint8_t mac[6];
	ust_ipv6_mcast_mac(mld_routers, mac);
	/* RFC 3810 5.2.13 allows :: as the source while the link-local probes. */
	const uint8_t *src = nd->addr[0].state == ADDR_ASSIGNED ? nd->addr[0].a : ust_ip_any6;
	ust_stat_inc(st, UST_STAT_ND_MLD_OUT);
	send_icmp6(st, pkt, UST_ICMP6_MLD2_REPORT, nrec, src, mld_routers, mac, 1, true);
}

static void
send_rs(struct ust_stack *st)
{
	struct ust_nd6 *nd = st->nd6;
	struct ust_pkt *pkt = ust_stack_alloc(st);
	if (pkt == NULL)
		return;
	bool have_src = nd->addr[0].state == ADDR_ASSIGNED;
	uint8_t *b = ust_pkt_append(pkt, UST_ICMP6_HLEN + (have_src ? 8 : 0));
	if (have_src) {
		b[UST_ICMP6_HLEN] = 1;
		b[UST_ICMP6_HLEN + 1] = 1;
		memcpy(b + UST_ICMP6_HLEN + 2, st->nif->mac, 6);
	}
	uint8_t mac[6];
	ust_ipv6_mcast_mac(all_routers, mac);
	ust_stat_inc(st, UST_STAT_ND_RS_OUT);
	send_icmp6(st, pkt, UST_ND_RS, 0, have_src ? nd->addr[0].a : ust_ip_any6, all_routers, mac,
		   ND_HLIM, false);
}

static struct nd_entry *
find(const struct ust_nd6 *nd, const uint8_t ip[16])
{
	for (struct nd_entry *e = nd->bucket[hash6(ip)]; e != NULL; e = e->next)
		if (ust_ip_eq(e->ip, ip))
			return e;
	return NULL;
}

static void
drop_queue(struct ust_stack *st, struct nd_entry *e)
{
	st->nd6->queued -= e->q.len;
	for (struct ust_pkt *p; (p = ust_pktq_pop(&e->q)) != NULL;)
		ust_drop(st, p, UST_DROP_ND_UNRESOLVED);
}

static void
entry_free(struct ust_stack *st, struct nd_entry *e)
{
	struct ust_nd6 *nd = st->nd6;
	drop_queue(st, e);
	ust_timer_cancel(&st->timers, &e->timer);
	struct nd_entry **pp = &nd->bucket[hash6(e->ip)];
	while (*pp != e)
		pp = &(*pp)->next;
	*pp = e->next;
	e->state = ND_FREE;
	e->next = nd->free_list;
	nd->free_list = e;
}

static void
on_entry_timer(void *ctx, struct ust_timer *t, uint64_t now_ns)
{
	struct ust_stack *st = ctx;
	struct nd_entry *e = (struct nd_entry *)t;
	switch (e->state) {
	case ND_REACHABLE:
		e->state = ND_STALE;
		return;
	case ND_DELAY:
		e->state = ND_PROBE;
		e->tries = 0;
		/* FALLTHROUGH */
	case ND_PROBE:
	case ND_INCOMPLETE:
		if (e->tries < ND_SOLICITS) {
			e->tries++;
			uint8_t src[16];
			ust_ipv6_source(st, e->ip, src);
			/* While our addresses probe, nothing may leave from them. */
			if (!ust_ip_eq(src, ust_ip_any6))
				send_ns(st, e->ip, src, e->state == ND_PROBE ? e->mac : NULL);
			ust_timer_arm(&st->timers, &e->timer, now_ns + ND_RETRANS_NS);
			return;
		}
		entry_free(st, e);
		return;
	default:
		return;
	}
}

static struct nd_entry *
entry_new(struct ust_stack *st, const uint8_t ip[16])
{
	struct ust_nd6 *nd = st->nd6;
	struct nd_entry *e = nd->free_list;
	if (e == NULL) {
		/* Full: recycle an entry nobody waits on; it is re-resolved on use. */
		for (unsigned i = 0; i < ND_ENTRIES && e == NULL; i++)
			if (nd->entries[i].state != ND_INCOMPLETE)
				e = &nd->entries[i];
		if (e == NULL)
			return NULL;
		entry_free(st, e);
	}
	nd->free_list = e->next;
	memset(e, 0, sizeof(*e));
	ust_timer_init(&e->timer, on_entry_timer);
	memcpy(e->ip, ip, 16);
	unsigned b = hash6(ip);
	e->next = nd->bucket[b];
	nd->bucket[b] = e;
	return e;
}

static void
flush_queue(struct ust_stack *st, struct nd_entry *e)
{
	for (struct ust_pkt *p; (p = ust_pktq_pop(&e->q)) != NULL;) {
		st->nd6->queued--;
		ust_eth_output(st, p, e->mac, UST_ETHERTYPE_IPV6);
	}
}

static void
set_state(struct ust_stack *st, struct nd_entry *e, enum nd_state s)
{
	e->state = (uint8_t)s;
	e->tries = 0;
	ust_timer_cancel(&st->timers, &e->timer);
	if (s == ND_REACHABLE)
		ust_timer_arm(&st->timers, &e->timer, st->now_ns + ND_REACHABLE_NS);
}

/* RFC 4861 7.2.3 / 6.3.4: a source link-layer address from an NS, RS or RA. */
static void
learn_slla(struct ust_stack *st, const uint8_t ip[16], const uint8_t mac[6])
{
	struct nd_entry *e = find(st->nd6, ip);
	if (e == NULL) {
		e = entry_new(st, ip);
		if (e == NULL)
			return;
		memcpy(e->mac, mac, 6);
		set_state(st, e, ND_STALE);
		return;
	}
	if (e->state == ND_INCOMPLETE || memcmp(e->mac, mac, 6) != 0) {
		memcpy(e->mac, mac, 6);
		set_state(st, e, ND_STALE);
	}
	flush_queue(st, e);
}

static int
addr_index(const struct ust_nd6 *nd, const uint8_t a[16])
{
	for (int i = 0; i < 2; i++)
		if (nd->addr[i].state != ADDR_NONE && ust_ip_eq(nd->addr[i].a, a))
			return i;
	return -1;
}

static void
dad_failed(struct ust_stack *st, int i)
{
	st->nd6->addr[i].state = ADDR_DUPLICATE;
	st->stats.drop[UST_DROP_ND_DAD]++;
}

static void
ns_input(struct ust_stack *st, const struct ust_ipv6_view *ip, const struct ust_nd_view *v,
	 const uint8_t eth_src[6])
{
	struct ust_nd6 *nd = st->nd6;
	bool from_any = ust_ip_eq(ip->src, ust_ip_any6);
	ust_stat_inc(st, UST_STAT_ND_NS_IN);
	int i = addr_index(nd, v->target);
	if (i < 0 || nd->addr[i].state == ADDR_DUPLICATE)
		return;
	if (nd->addr[i].state == ADDR_TENTATIVE) {
		/* RFC 4862 5.4.3: another node probes the same address. */
		if (from_any)
			dad_failed(st, i);
		return;
	}
	if (from_any) {
		/* A probe for an address we hold: tell everyone (RFC 4861 7.2.4). */
		uint8_t mac[6];
		ust_ipv6_mcast_mac(all_nodes, mac);
		send_na(st, v->target, all_nodes, mac, false);
		return;
	}
	const uint8_t *mac = eth_src;
	if (v->has_slla) {
		learn_slla(st, ip->src, v->slla);
		mac = v->slla;
	}
	send_na(st, v->target, ip->src, mac, true);
}

static void
na_input(struct ust_stack *st, const struct ust_ipv6_view *ip, const struct ust_nd_view *v)
{
	struct ust_nd6 *nd = st->nd6;
	ust_stat_inc(st, UST_STAT_ND_NA_IN);
	int i = addr_index(nd, v->target);
	if (i >= 0) {
		/* Someone else answers for our address. */
		if (nd->addr[i].state == ADDR_TENTATIVE)
			dad_failed(st, i);
		return;
	}
	(void)ip;
	struct nd_entry *e = find(nd, v->target);
	if (e == NULL)
		return; /* unsolicited for a stranger: no entry is created (7.2.5) */
	if (e->state == ND_INCOMPLETE) {
		if (!v->has_tlla)
			return;
		memcpy(e->mac, v->tlla, 6);
		set_state(st, e, v->solicited ? ND_REACHABLE : ND_STALE);
		flush_queue(st, e);
		return;
	}
	bool differs = v->has_tlla && memcmp(v->tlla, e->mac, 6) != 0;
	if (!v->override && differs) {
		if (e->state == ND_REACHABLE)
			set_state(st, e, ND_STALE);
		return;
	}
	if (differs)
		memcpy(e->mac, v->tlla, 6);
	if (v->solicited)
		set_state(st, e, ND_REACHABLE);
	else if (differs)
		set_state(st, e, ND_STALE);
}

static void
ra_input(struct ust_stack *st, const struct ust_ipv6_view *ip, const struct ust_nd_view *v)
{
	struct ust_nd6 *nd = st->nd6;
	ust_stat_inc(st, UST_STAT_ND_RA_IN);
	if (v->cur_hlim != 0)
		nd->hlim = v->cur_hlim;
	if (v->mtu >= UST_IPV6_MIN_MTU && v->mtu <= st->nif->mtu)
		nd->link_mtu = (uint16_t)v->mtu;
	if (nd->router_until_ns != UST_TIME_NEVER) {
		if (v->router_lifetime_s != 0) {
			nd->have_router = true;
			memcpy(nd->router, ip->src, 16);
			nd->router_until_ns = st->now_ns + v->router_lifetime_s * UST_NS_PER_S;
		} else if (nd->have_router && ust_ip_eq(nd->router, ip->src)) {
			nd->have_router = false;
		}
	}
	for (unsigned k = 0; k < v->nprefix; k++) {
		const struct ust_nd_prefix *pf = &v->prefix[k];
		/* RFC 4861 6.3.4: the link-local prefix is never from an RA. */
		if (!pf->onlink || pf->len > 128 || ust_ipv6_is_linklocal(pf->prefix))
			continue;
		struct nd_prefix *slot = NULL;
		for (unsigned j = 0; j < ND_PREFIXES; j++) {
			struct nd_prefix *q = &nd->prefix[j];
			bool live = q->until_ns > st->now_ns;
			if (live && q->len == pf->len && prefix_match(q->p, pf->prefix, pf->len)) {
				slot = q;
				break;
			}
			if (!live && slot == NULL)
				slot = q;
		}
		if (slot == NULL)
			continue;
		memcpy(slot->p, pf->prefix, 16);
		slot->len = pf->len;
		slot->until_ns = pf->valid_s == UINT32_MAX ? UST_TIME_NEVER
							   : st->now_ns + pf->valid_s * UST_NS_PER_S;
	}
	if (v->has_slla)
		learn_slla(st, ip->src, v->slla);
	ust_timer_cancel(&st->timers, &nd->rs_timer);
}

void
ust_nd6_input(struct ust_stack *st, struct ust_pkt *pkt, const struct ust_ipv6_view *ip,
	      const struct ust_icmp6_view *ic)
{
	if (ic->type == UST_ICMP6_MLD_QUERY) {
		/* A querier asks who listens: answer so the switch keeps our groups. */
		send_mld_report(st);
		ust_pkt_free(pkt);
		return;
	}
	/* RFC 4861 7.1: a hop limit of 255 proves the sender is on-link. */
	if (ip->hlim != ND_HLIM) {
		ust_drop(st, pkt, UST_DROP_ND_HLIM);
		return;
	}
	struct ust_nd_view v;
	enum ust_drop why = ust_nd_parse(ic, &v);
	if (why != UST_DROP_NONE) {
		ust_drop(st, pkt, why);
		return;
	}
	bool src_any = ust_ip_eq(ip->src, ust_ip_any6);
	const uint8_t *eth_src = pkt->buf + pkt->l2_off + UST_ETH_ALEN;
	switch (ic->type) {
	case UST_ND_NS: {
		uint8_t sn[16];
		ust_ipv6_solicited_node(v.target, sn);
		if (src_any && (!ust_ip_eq(ip->dst, sn) || v.has_slla)) {
			ust_drop(st, pkt, UST_DROP_ND_ADDR);
			return;
		}
		ns_input(st, ip, &v, eth_src);
		break;
	}
	case UST_ND_NA:
		if (ust_ipv6_is_mcast(ip->dst) && v.solicited) {
			ust_drop(st, pkt, UST_DROP_ND_ADDR);
			return;
		}
		na_input(st, ip, &v);
		break;
	case UST_ND_RA:
		if (!ust_ipv6_is_linklocal(ip->src)) {
			ust_drop(st, pkt, UST_DROP_ND_ADDR);
			return;
		}
		ra_input(st, ip, &v);
		break;
	default:
		/* Router solicitations are for routers; we are a host. */
		ust_drop(st, pkt, UST_DROP_ICMP6_TYPE);
		return;
	}
	ust_pkt_free(pkt);
}

int
ust_nd6_output(struct ust_stack *st, struct ust_pkt *pkt, const uint8_t nexthop[16])
{
	struct ust_nd6 *nd = st->nd6;
	if (ust_ipv6_is_mcast(nexthop)) {
		uint8_t mac[6];
		ust_ipv6_mcast_mac(nexthop, mac);
		ust_eth_output(st, pkt, mac, UST_ETHERTYPE_IPV6);
		return 0;
	}
	struct nd_entry *e = find(nd, nexthop);
	if (e != NULL && e->state != ND_INCOMPLETE) {
		if (e->state == ND_STALE) {
			/* RFC 4861 7.3.3: use it, and probe if nothing confirms it. */
			e->state = ND_DELAY;
			ust_timer_arm(&st->timers, &e->timer, st->now_ns + ND_DELAY_NS);
		}
		ust_eth_output(st, pkt, e->mac, UST_ETHERTYPE_IPV6);
		return 0;
	}
	if (nd->queued >= st->cfg.arp_queue_max) {
		ust_drop(st, pkt, UST_DROP_ND_QUEUE_FULL);
		return -ENOBUFS;
	}
	if (e == NULL) {
		e = entry_new(st, nexthop);
		if (e == NULL) {
			ust_drop(st, pkt, UST_DROP_ND_QUEUE_FULL);
			return -ENOBUFS;
		}
		e->state = ND_INCOMPLETE;
		on_entry_timer(st, &e->timer, st->now_ns);
	}
	ust_pktq_push(&e->q, pkt);
	nd->queued++;
	return 0;
}

static void
on_rs_timer(void *ctx, struct ust_timer *t, uint64_t now_ns)
{
	struct ust_stack *st = ctx;
	struct ust_nd6 *nd = st->nd6;
	if (nd->rs_sent >= ND_RS_MAX)
		return;
	nd->rs_sent++;
	send_rs(st);
	ust_timer_arm(&st->timers, t, now_ns + ND_RS_INTERVAL_NS);
}

static void
on_dad_timer(void *ctx, struct ust_timer *t, uint64_t now_ns)
{
	struct ust_stack *st = ctx;
	struct ust_nd6 *nd = st->nd6;
	(void)t;
	for (unsigned i = 0; i < 2; i++)
		if (nd->addr[i].state == ADDR_TENTATIVE)
			nd->addr[i].state = ADDR_ASSIGNED;
	/* The link-local source is usable now: say so to MLD snoopers again
	 * and look for routers. */
	send_mld_report(st);
	on_rs_timer(st, &nd->rs_timer, now_ns);
}

int
ust_nd6_init(struct ust_stack *st)
{
	struct ust_nd6 *nd = calloc(1, sizeof(*nd));
	if (nd == NULL)
		return -ENOMEM;
	for (unsigned i = ND_ENTRIES; i-- > 0;) {
		nd->entries[i].next = nd->free_list;
		nd->free_list = &nd->entries[i];
	}
	ust_timer_init(&nd->dad_timer, on_dad_timer);
	ust_timer_init(&nd->rs_timer, on_rs_timer);
	nd->link_mtu = st->nif->mtu;
	nd->hlim = UST_IP6_DEFAULT_HLIM;
	st->nd6 = nd;
	if (!st->cfg.ip6_enable)
		return 0;
	/* RFC 4291 2.5.1 / RFC 2464 4: fe80::/64 with the modified EUI-64. */
	uint8_t *ll = nd->addr[0].a;
	ll[0] = 0xfe;
	ll[1] = 0x80;
	const uint8_t *m = st->nif->mac;
	uint8_t iid[8] = {(uint8_t)(m[0] ^ 2), m[1], m[2], 0xff, 0xfe, m[3], m[4], m[5]};
	memcpy(ll + 8, iid, 8);
	nd->addr[0].prefix = 64;
	nd->addr[0].state = ADDR_TENTATIVE;
	if (!ust_ip_eq(st->cfg.ip6_addr, ust_ip_any6)) {
		memcpy(nd->addr[1].a, st->cfg.ip6_addr, 16);
		nd->addr[1].prefix = st->cfg.ip6_prefix;
		nd->addr[1].state = ADDR_TENTATIVE;
	}
	if (!ust_ip_eq(st->cfg.ip6_gateway, ust_ip_any6)) {
		nd->have_router = true;
		memcpy(nd->router, st->cfg.ip6_gateway, 16);
		nd->router_until_ns = UST_TIME_NEVER;
	}
	return 0;
}

void
ust_nd6_start(struct ust_stack *st)
{
	struct ust_nd6 *nd = st->nd6;
	if (nd->addr[0].state == ADDR_NONE)
		return;
	/* RFC 4862 5.4.2: join the solicited-node groups, then probe. */
	send_mld_report(st);
	for (unsigned i = 0; i < 2; i++)
		if (nd->addr[i].state == ADDR_TENTATIVE)
			send_ns(st, nd->addr[i].a, NULL, NULL);
	ust_timer_arm(&st->timers, &nd->dad_timer, st->now_ns + ND_RETRANS_NS);
}

void
ust_nd6_fini(struct ust_stack *st)
{
	struct ust_nd6 *nd = st->nd6;
	if (nd == NULL)
		return;
	for (unsigned i = 0; i < ND_ENTRIES; i++)
		if (nd->entries[i].state != ND_FREE)
			entry_free(st, &nd->entries[i]);
	ust_timer_cancel(&st->timers, &nd->dad_timer);
	ust_timer_cancel(&st->timers, &nd->rs_timer);
	free(nd);
	st->nd6 = NULL;
}

enum ust_nd6_addr
ust_nd6_addr_state(const struct ust_stack *st, const uint8_t a[16])
{
	int i = addr_index(st->nd6, a);
	if (i < 0)
		return UST_ND6_NOT_OURS;
	switch (st->nd6->addr[i].state) {
	case ADDR_ASSIGNED:
		return UST_ND6_ASSIGNED;
	case ADDR_TENTATIVE:
		return UST_ND6_TENTATIVE;
	default:
		return UST_ND6_NOT_OURS;
	}
}

bool
ust_nd6_is_group(const struct ust_stack *st, const uint8_t a[16])
{
	const struct ust_nd6 *nd = st->nd6;
	if (nd->addr[0].state == ADDR_NONE)
		return false;
	if (ust_ip_eq(a, all_nodes))
		return true;
	for (unsigned i = 0; i < 2; i++) {
		uint8_t sn[16];
		if (nd->addr[i].state == ADDR_NONE)
			continue;
		ust_ipv6_solicited_node(nd->addr[i].a, sn);
		if (ust_ip_eq(a, sn))
			return true;
	}
	return false;
}

const uint8_t *
ust_nd6_linklocal(const struct ust_stack *st)
{
	return st->nd6->addr[0].state == ADDR_ASSIGNED ? st->nd6->addr[0].a : NULL;
}

const uint8_t *
ust_nd6_linklocal_cfg(const struct ust_stack *st)
{
	return st->cfg.ip6_enable ? st->nd6->addr[0].a : NULL;
}

const uint8_t *
ust_nd6_global(const struct ust_stack *st)
{
	return st->nd6->addr[1].state == ADDR_ASSIGNED ? st->nd6->addr[1].a : NULL;
}

int
ust_nd6_route(const struct ust_stack *st, const uint8_t dst[16], uint8_t nexthop[16])
{
	const struct ust_nd6 *nd = st->nd6;
	if (nd->addr[0].state == ADDR_NONE)
		return -ENETUNREACH;
	bool onlink = ust_ipv6_is_mcast(dst) || ust_ipv6_is_linklocal(dst);
	if (!onlink && nd->addr[1].state != ADDR_NONE)
		onlink = prefix_match(dst, nd->addr[1].a, nd->addr[1].prefix);
	for (unsigned j = 0; j < ND_PREFIXES && !onlink; j++)
		onlink = nd->prefix[j].until_ns > st->now_ns &&
			 prefix_match(dst, nd->prefix[j].p, nd->prefix[j].len);
	if (onlink) {
		memcpy(nexthop, dst, 16);
		return 0;
	}
	if (nd->have_router && nd->router_until_ns > st->now_ns) {
		memcpy(nexthop, nd->router, 16);
		return 0;
	}
	return -ENETUNREACH;
}

uint8_t
ust_nd6_hlim(const struct ust_stack *st)
{
	return st->nd6->hlim;
}

uint16_t
ust_nd6_link_mtu(const struct ust_stack *st)
{
	return st->nd6->link_mtu;
}
