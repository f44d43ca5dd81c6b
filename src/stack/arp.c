/*
 * ARP (RFC 826) for one IPv4 address on one Ethernet port.
 *
 * Cache: a fixed table of entries in hash chains, O(1) lookup. An entry is
 * INCOMPLETE while requests go out (UST_ARP_RETRIES, one per second) with
 * packets waiting on it, then REACHABLE until it expires. A reply, or a
 * request for our address, fills it (the RFC's "merge" step). Unresolved
 * entries drop their packets as UST_DROP_ARP_UNRESOLVED.
 */
#include "arp.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "eth.h"
#include "ipv4.h"
#include "wire/arp.h"
#include "wire/eth.h"

#define ARP_ENTRIES 1024
#define ARP_BUCKETS 256
#define ARP_RETRIES 3
#define ARP_RETRY_NS (1 * UST_NS_PER_S)
/* Linux's base_reachable_time is 30 s, randomised; a fixed minute keeps
 * tests simple and still re-validates neighbours. */
#define ARP_REACHABLE_NS (60 * UST_NS_PER_S)

enum arp_state {
	ARP_FREE,       /* on the free list */
	ARP_INCOMPLETE, /* request sent, no reply yet */
	ARP_REACHABLE,  /* MAC known until expire */
};

struct arp_entry {
	struct ust_timer timer;   /* retry or expiry; first member for the cast */
	struct arp_entry *next;   /* hash chain or free list */
	uint32_t ip;              /* IPv4 address, host order */
	uint8_t mac[6];           /* resolved MAC */
	uint8_t state;            /* enum arp_state */
	uint8_t tries;            /* requests sent while INCOMPLETE */
	struct ust_pktq q;        /* packets waiting for resolution */
};

struct ust_arp {
	struct arp_entry *bucket[ARP_BUCKETS]; /* hash chains */
	struct arp_entry *free_list;           /* unused entries */
	unsigned queued;                       /* packets waiting in all entries */
	struct arp_entry entries[ARP_ENTRIES]; /* every entry */
};

static const uint8_t bcast_mac[6] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff};

static unsigned
hash_ip(uint32_t ip)
{
	return (ip * 2654435761u) >> 24;
}

static struct arp_entry *
find(const struct ust_arp *arp, uint32_t ip)
{
	for (struct arp_entry *e = arp->bucket[hash_ip(ip) % ARP_BUCKETS]; e != NULL; e = e->next)
		if (e->ip == ip)
			return e;
	return NULL;
}

static void
drop_queue(struct ust_stack *st, struct arp_entry *e, enum ust_drop why)
{
	st->arp->queued -= e->q.len;
	for (struct ust_pkt *p; (p = ust_pktq_pop(&e->q)) != NULL;)
		ust_drop(st, p, why);
}

static void
entry_free(struct ust_stack *st, struct arp_entry *e)
{
	struct ust_arp *arp = st->arp;
	drop_queue(st, e, UST_DROP_ARP_UNRESOLVED);
	ust_timer_cancel(&st->timers, &e->timer);
	struct arp_entry **pp = &arp->bucket[hash_ip(e->ip) % ARP_BUCKETS];
	while (*pp != e)
		pp = &(*pp)->next;
	*pp = e->next;
	e->state = ARP_FREE;
	e->next = arp->free_list;
	arp->free_list = e;
}

static void
send_arp(struct ust_stack *st, uint16_t op, const uint8_t dst_mac[6], const uint8_t tha[6],
	 uint32_t tpa)
{
	struct ust_pkt *pkt = ust_stack_alloc_reply(st);
	if (pkt == NULL)
		return;
	struct ust_arp_view v = {.op = op, .spa = st->cfg.ip4_addr, .tpa = tpa};
	memcpy(v.sha, st->nif->mac, 6);
	memcpy(v.tha, tha, 6);
	uint8_t *body = ust_pkt_append(pkt, UST_ARP_LEN);
	ust_arp_build(body, &v);
	/* Pad to the Ethernet minimum, as the kernel does. */
	uint8_t *pad = ust_pkt_append(pkt, 60 - UST_ETH_HLEN - UST_ARP_LEN);
	if (pad != NULL)
		memset(pad, 0, 60 - UST_ETH_HLEN - UST_ARP_LEN);
	ust_eth_output(st, pkt, dst_mac, UST_ETHERTYPE_ARP);
}

static void
send_request(struct ust_stack *st, uint32_t ip)
{
	static const uint8_t zero[6];
	send_arp(st, UST_ARP_OP_REQUEST, bcast_mac, zero, ip);
	ust_stat_inc(st, UST_STAT_ARP_REQ_OUT);
}

static void
on_timer(void *ctx, struct ust_timer *t, uint64_t now_ns)
{
	struct ust_stack *st = ctx;
	struct arp_entry *e = (struct arp_entry *)t;
	if (e->state == ARP_INCOMPLETE && e->tries < ARP_RETRIES) {
		e->tries++;
		send_request(st, e->ip);
		ust_timer_arm(&st->timers, &e->timer, now_ns + ARP_RETRY_NS);
		return;
	}
	/* Unresolved after every retry, or a reachable entry that aged out. */
	entry_free(st, e);
}

static struct arp_entry *
entry_new(struct ust_stack *st, uint32_t ip)
{
	struct ust_arp *arp = st->arp;
	struct arp_entry *e = arp->free_list;
	if (e == NULL) {
		/* Table full: recycle a reachable entry; it is re-resolved on use. */
		for (unsigned i = 0; i < ARP_ENTRIES && e == NULL; i++)
			if (arp->entries[i].state == ARP_REACHABLE)
				e = &arp->entries[i];
		if (e == NULL)
			return NULL;
		entry_free(st, e);
	}
	arp->free_list = e->next;
	memset(e, 0, sizeof(*e));
	ust_timer_init(&e->timer, on_timer);
	e->ip = ip;
	unsigned b = hash_ip(ip) % ARP_BUCKETS;
	e->next = arp->bucket[b];
	arp->bucket[b] = e;
	return e;
}

static void
learn(struct ust_stack *st, struct arp_entry *e, const uint8_t mac[6])
{
	memcpy(e->mac, mac, 6);
	e->state = ARP_REACHABLE;
	ust_timer_arm(&st->timers, &e->timer, st->now_ns + ARP_REACHABLE_NS);
	for (struct ust_pkt *p; (p = ust_pktq_pop(&e->q)) != NULL;) {
		st->arp->queued--;
		ust_eth_output(st, p, e->mac, UST_ETHERTYPE_IPV4);
	}
}

int
ust_arp_init(struct ust_stack *st)
{
	struct ust_arp *arp = calloc(1, sizeof(*arp));
	if (arp == NULL)
		return -ENOMEM;
	for (unsigned i = ARP_ENTRIES; i-- > 0;) {
		arp->entries[i].next = arp->free_list;
		arp->free_list = &arp->entries[i];
	}
	st->arp = arp;
	return 0;
}

void
ust_arp_fini(struct ust_stack *st)
{
	if (st->arp == NULL)
		return;
	for (unsigned i = 0; i < ARP_ENTRIES; i++)
		if (st->arp->entries[i].state != ARP_FREE)
			entry_free(st, &st->arp->entries[i]);
	free(st->arp);
	st->arp = NULL;
}

void
ust_arp_input(struct ust_stack *st, struct ust_pkt *pkt, const uint8_t src_mac[6])
{
	struct ust_arp_view v;
	enum ust_drop why = ust_arp_parse(ust_pkt_data(pkt), pkt->len, &v);
	if (why != UST_DROP_NONE) {
		ust_drop(st, pkt, why);
		return;
	}
	(void)src_mac;
	if (ust_eth_is_mcast(v.sha) || v.spa == UST_IPV4_BROADCAST || ust_ipv4_is_mcast(v.spa) ||
	    memcmp(v.sha, st->nif->mac, 6) == 0) {
		ust_drop(st, pkt, UST_DROP_ARP_BAD_SENDER);
		return;
	}
	if (v.spa == st->cfg.ip4_addr && v.spa != 0) {
		/* Someone else claims our address: do not learn it. */
		ust_drop(st, pkt, UST_DROP_ARP_BAD_SENDER);
		return;
	}
	ust_stat_inc(st, v.op == UST_ARP_OP_REQUEST ? UST_STAT_ARP_REQ_IN : UST_STAT_ARP_REPLY_IN);
	bool for_us = v.tpa == st->cfg.ip4_addr && st->cfg.ip4_addr != 0;
	/* RFC 826 merge: update an existing entry; create one only if the
	 * packet is for us (a request to us means we will talk back). */
	struct arp_entry *e = v.spa != 0 ? find(st->arp, v.spa) : NULL;
	if (e != NULL)
		learn(st, e, v.sha);
	else if (for_us && v.spa != 0 && (e = entry_new(st, v.spa)) != NULL)
		learn(st, e, v.sha);
	if (!for_us) {
		/* Gratuitous ARPs (tpa == spa) and replies that only refreshed the
		 * cache are consumed, not dropped. */
		if (e == NULL && v.tpa != v.spa) {
			ust_drop(st, pkt, UST_DROP_ARP_NOT_US);
			return;
		}
		ust_pkt_free(pkt);
		return;
	}
	if (v.op == UST_ARP_OP_REQUEST) {
		send_arp(st, UST_ARP_OP_REPLY, v.sha, v.sha, v.spa);
		ust_stat_inc(st, UST_STAT_ARP_REPLY_OUT);
	}
	ust_pkt_free(pkt);
}

int
ust_arp_output(struct ust_stack *st, struct ust_pkt *pkt, uint32_t nexthop)
{
	if (nexthop == UST_IPV4_BROADCAST) {
		ust_eth_output(st, pkt, bcast_mac, UST_ETHERTYPE_IPV4);
		return 0;
	}
	struct ust_arp *arp = st->arp;
	struct arp_entry *e = find(arp, nexthop);
	if (e != NULL && e->state == ARP_REACHABLE) {
		ust_eth_output(st, pkt, e->mac, UST_ETHERTYPE_IPV4);
		return 0;
	}
	if (arp->queued >= st->cfg.arp_queue_max) {
		ust_drop(st, pkt, UST_DROP_ARP_QUEUE_FULL);
		return -ENOBUFS;
	}
	if (e == NULL) {
		e = entry_new(st, nexthop);
		if (e == NULL) {
			ust_drop(st, pkt, UST_DROP_ARP_QUEUE_FULL);
			return -ENOBUFS;
		}
		e->state = ARP_INCOMPLETE;
		e->tries = 1;
		send_request(st, nexthop);
		ust_timer_arm(&st->timers, &e->timer, st->now_ns + ARP_RETRY_NS);
	}
	ust_pktq_push(&e->q, pkt);
	arp->queued++;
	return 0;
}

void
ust_arp_announce(struct ust_stack *st)
{
	/* A gratuitous ARP is a request for our own address (RFC 5227 2.4). */
	static const uint8_t zero[6];
	send_arp(st, UST_ARP_OP_REQUEST, bcast_mac, zero, st->cfg.ip4_addr);
	ust_stat_inc(st, UST_STAT_ARP_GRATUITOUS_OUT);
}

int
ust_arp_lookup(const struct ust_stack *st, uint32_t ip, uint8_t mac[6])
{
	const struct arp_entry *e = find(st->arp, ip);
	if (e == NULL || e->state != ARP_REACHABLE)
		return -ENOENT;
	memcpy(mac, e->mac, 6);
	return 0;
}
