/*
 * memlink: see memlink.h. Frames in flight wait in a per-direction list
 * sorted by delivery time (insertion from the tail, so the common in-order
 * case is O(1)). The rate limiter tracks when the wire is next free.
 */
#include "memlink.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "../time.h"

struct dir {
	struct ust_memlink_impair im;     /* impairments of this direction */
	struct ust_memlink_counters ctr;  /* what happened */
	struct ust_pkt *head;             /* in flight, by delivery time */
	struct ust_pkt *tail;             /* latest delivery */
	uint64_t wire_free_ns;            /* when the rate limiter can start the next frame */
	uint32_t queued;                  /* frames in flight */
};

struct end {
	struct ust_netif nif;       /* what the stack drives */
	struct ust_memlink *link;   /* back pointer */
	struct ust_pkt_pool *pool;  /* this end's buffers */
	unsigned idx;               /* 0 or 1 */
};

struct ust_memlink {
	struct end end[2];          /* the two ports */
	struct dir dir[2];          /* dir[i]: frames sent by end i */
	uint64_t now_ns;            /* the harness's virtual time */
	uint64_t rng;               /* splitmix64 state */
	ust_memlink_tap_fn *tap;    /* observer, or NULL */
	ust_memlink_filter_fn *filter; /* chooses frames to drop, or NULL */
	void *filter_arg;           /* its argument */
	void *tap_arg;              /* its argument */
};

static uint64_t
rnd(struct ust_memlink *l)
{
	uint64_t z = (l->rng += 0x9e3779b97f4a7c15ull);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

/* True with probability pct percent. */
static bool
chance(struct ust_memlink *l, double pct)
{
	if (pct <= 0)
		return false;
	return (double)(rnd(l) >> 11) * (1.0 / 9007199254740992.0) * 100.0 < pct;
}

static void
enqueue(struct dir *d, struct ust_pkt *p)
{
	/* Sorted by ts_ns; equal times keep send order. */
	p->qnext = NULL;
	if (d->tail == NULL) {
		d->head = d->tail = p;
	} else if (d->tail->ts_ns <= p->ts_ns) {
		d->tail->qnext = p;
		d->tail = p;
	} else {
		struct ust_pkt **pp = &d->head;
		while (*pp != NULL && (*pp)->ts_ns <= p->ts_ns)
			pp = &(*pp)->qnext;
		p->qnext = *pp;
		*pp = p;
	}
	d->queued++;
}

static void
send_one(struct ust_memlink *l, unsigned from, struct ust_pkt *p)
{
	struct dir *d = &l->dir[from];
	struct ust_memlink_impair *im = &d->im;
	d->ctr.sent++;
	if (im->partitioned) {
		d->ctr.partition_drop++;
		ust_pkt_free(p);
		return;
	}
	if (chance(l, im->loss_pct) || (l->filter != NULL && l->filter(l->filter_arg, from, p, l->now_ns))) {
		d->ctr.lost++;
		ust_pkt_free(p);
		return;
	}
	uint32_t qmax = im->queue_frames != 0 ? im->queue_frames : 1000;
	if (d->queued >= qmax) {
		d->ctr.queue_drop++;
		ust_pkt_free(p);
		return;
	}
	uint64_t start = l->now_ns;
	if (im->rate_bps != 0) {
		if (d->wire_free_ns > start)
			start = d->wire_free_ns;
		/* Preamble, SFD, FCS and inter-frame gap: 24 bytes on the wire. */
		uint64_t bits = ((uint64_t)p->pkt_len + 24) * 8;
		start += bits * UST_NS_PER_S / im->rate_bps;
		d->wire_free_ns = start;
	}
	uint64_t at = start + im->delay_ns;
	if (im->jitter_ns != 0)
		at += rnd(l) % (im->jitter_ns + 1);
	if (chance(l, im->reorder_pct)) {
		at += im->reorder_delay_ns;
		d->ctr.reordered++;
	}
	if (l->tap != NULL)
		l->tap(l->tap_arg, from, p, l->now_ns);
	if (chance(l, im->dup_pct)) {
		struct ust_pkt *c = ust_pkt_copy(l->end[from].pool, p);
		if (c != NULL) {
			c->ts_ns = at + 1;
			d->ctr.duplicated++;
			enqueue(d, c);
		}
	}
	p->ts_ns = at;
	enqueue(d, p);
}

static uint16_t
ml_tx(struct ust_netif *nif, struct ust_pkt **pkts, uint16_t n)
{
	struct end *e = nif->priv;
	for (uint16_t i = 0; i < n; i++) {
		if (pkts[i]->next != NULL && ust_pkt_linearize(pkts[i]) < 0) {
			ust_pkt_free(pkts[i]);
			continue;
		}
		send_one(e->link, e->idx, pkts[i]);
	}
	return n;
}

static uint16_t
ml_rx(struct ust_netif *nif, struct ust_pkt **pkts, uint16_t n)
{
	struct end *e = nif->priv;
	struct ust_memlink *l = e->link;
	struct dir *d = &l->dir[1 - e->idx];
	uint16_t got = 0;
	while (got < n && d->head != NULL && d->head->ts_ns <= l->now_ns) {
		struct ust_pkt *p = d->head;
		d->head = p->qnext;
		if (d->head == NULL)
			d->tail = NULL;
		d->queued--;
		p->qnext = NULL;
		p->ol_flags = 0;
		d->ctr.delivered++;
		pkts[got++] = p;
	}
	return got;
}

static struct ust_pkt *
ml_alloc(struct ust_netif *nif)
{
	struct end *e = nif->priv;
	return ust_pkt_pool_alloc(e->pool);
}

static unsigned
ml_avail(struct ust_netif *nif)
{
	struct end *e = nif->priv;
	return ust_pkt_pool_avail(e->pool);
}

static const struct ust_netif_ops ml_ops = {
	.rx_burst = ml_rx,
	.tx_burst = ml_tx,
	.alloc = ml_alloc,
	.avail = ml_avail,
};

struct ust_memlink *
ust_memlink_create(unsigned frames, uint64_t seed)
{
	struct ust_memlink *l = calloc(1, sizeof(*l));
	if (l == NULL)
		return NULL;
	l->rng = seed;
	for (unsigned i = 0; i < 2; i++) {
		struct end *e = &l->end[i];
		e->link = l;
		e->idx = i;
		e->pool = ust_pkt_pool_create(frames, UST_PKT_BUF_SIZE);
		if (e->pool == NULL) {
			ust_memlink_destroy(l);
			return NULL;
		}
		e->nif.ops = &ml_ops;
		e->nif.priv = e;
		e->nif.mtu = 1500;
		uint8_t mac[6] = {0x02, 0, 0, 0, 0, (uint8_t)(i + 1)};
		memcpy(e->nif.mac, mac, 6);
	}
	return l;
}

void
ust_memlink_destroy(struct ust_memlink *l)
{
	if (l == NULL)
		return;
	for (unsigned i = 0; i < 2; i++) {
		struct dir *d = &l->dir[i];
		while (d->head != NULL) {
			struct ust_pkt *p = d->head;
			d->head = p->qnext;
			p->qnext = NULL;
			ust_pkt_free(p);
		}
	}
	for (unsigned i = 0; i < 2; i++)
		ust_pkt_pool_destroy(l->end[i].pool);
	free(l);
}

struct ust_netif *
ust_memlink_netif(struct ust_memlink *l, unsigned end)
{
	return &l->end[end & 1].nif;
}

void
ust_memlink_set_impair(struct ust_memlink *l, unsigned from, const struct ust_memlink_impair *im)
{
	l->dir[from & 1].im = *im;
}

void
ust_memlink_set_time(struct ust_memlink *l, uint64_t now_ns)
{
	if (now_ns > l->now_ns)
		l->now_ns = now_ns;
}

uint64_t
ust_memlink_next_delivery(const struct ust_memlink *l)
{
	uint64_t t = UST_TIME_NEVER;
	for (unsigned i = 0; i < 2; i++)
		if (l->dir[i].head != NULL && l->dir[i].head->ts_ns < t)
			t = l->dir[i].head->ts_ns;
	return t;
}

const struct ust_memlink_counters *
ust_memlink_counters(const struct ust_memlink *l, unsigned from)
{
	return &l->dir[from & 1].ctr;
}

unsigned
ust_memlink_in_use(const struct ust_memlink *l, unsigned end)
{
	return ust_pkt_pool_in_use(l->end[end & 1].pool);
}

int
ust_memlink_inject(struct ust_memlink *l, unsigned from, const uint8_t *frame, uint32_t len)
{
	struct ust_pkt *p = ust_pkt_pool_alloc(l->end[from & 1].pool);
	if (p == NULL)
		return -ENOBUFS;
	uint8_t *d = ust_pkt_append(p, len);
	if (d == NULL) {
		ust_pkt_free(p);
		return -EMSGSIZE;
	}
	memcpy(d, frame, len);
	send_one(l, from & 1, p);
	return 0;
}

void
ust_memlink_set_tap(struct ust_memlink *l, ust_memlink_tap_fn *fn, void *arg)
{
	l->tap = fn;
	l->tap_arg = arg;
}

void
ust_memlink_set_filter(struct ust_memlink *l, ust_memlink_filter_fn *fn, void *arg)
{
	l->filter = fn;
	l->filter_arg = arg;
}
