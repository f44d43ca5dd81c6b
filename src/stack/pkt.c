/*
 * Packet buffer helpers and the plain heap pool used by tests, pcap and the
 * loopback path. See pkt.h for the ownership rules.
 */
#include "pkt.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

struct ust_pkt_pool {
	struct ust_pkt *free_list; /* linked through qnext */
	struct ust_pkt *pkts;      /* all descriptors */
	uint8_t *mem;              /* all buffers */
	unsigned count;            /* descriptors in the pool */
	unsigned in_use;           /* handed out */
	uint32_t buf_size;         /* bytes per buffer */
};

uint8_t *
ust_pkt_prepend(struct ust_pkt *pkt, uint32_t n)
{
	if (pkt->data_off < n)
		return NULL;
	pkt->data_off -= n;
	pkt->len += n;
	pkt->pkt_len += n;
	return ust_pkt_data(pkt);
}

uint8_t *
ust_pkt_adj(struct ust_pkt *pkt, uint32_t n)
{
	if (pkt->len < n)
		return NULL;
	pkt->data_off += n;
	pkt->len -= n;
	pkt->pkt_len -= n;
	return ust_pkt_data(pkt);
}

void
ust_pkt_trim(struct ust_pkt *pkt, uint32_t len)
{
	uint32_t left = len;
	for (struct ust_pkt *seg = pkt; seg != NULL; seg = seg->next) {
		if (seg->len > left)
			seg->len = left;
		left -= seg->len;
	}
	if (pkt->pkt_len > len)
		pkt->pkt_len = len;
}

uint8_t *
ust_pkt_append(struct ust_pkt *pkt, uint32_t n)
{
	if (ust_pkt_tailroom(pkt) < n)
		return NULL;
	uint8_t *tail = ust_pkt_data(pkt) + pkt->len;
	pkt->len += n;
	pkt->pkt_len += n;
	return tail;
}

int
ust_pkt_linearize(struct ust_pkt *pkt)
{
	if (pkt->next == NULL)
		return 0;
	if (pkt->pkt_len > pkt->buf_len - pkt->data_off)
		return -ENOSPC;
	uint8_t *dst = ust_pkt_data(pkt) + pkt->len;
	struct ust_pkt *seg = pkt->next;
	while (seg != NULL) {
		memcpy(dst, ust_pkt_data(seg), seg->len);
		dst += seg->len;
		pkt->len += seg->len;
		struct ust_pkt *next = seg->next;
		seg->next = NULL;
		seg->refcnt = 1;
		seg->ops->free(seg);
		seg = next;
	}
	pkt->next = NULL;
	pkt->nb_segs = 1;
	return 0;
}

uint32_t
ust_pkt_read(const struct ust_pkt *pkt, uint32_t off, void *dst, uint32_t len)
{
	uint32_t done = 0;
	for (const struct ust_pkt *seg = pkt; seg != NULL && done < len; seg = seg->next) {
		if (off >= seg->len) {
			off -= seg->len;
			continue;
		}
		uint32_t n = seg->len - off;
		if (n > len - done)
			n = len - done;
		memcpy((uint8_t *)dst + done, ust_pkt_data(seg) + off, n);
		done += n;
		off = 0;
	}
	return done;
}

void
ust_pkt_free(struct ust_pkt *pkt)
{
	if (pkt == NULL || --pkt->refcnt > 0)
		return;
	while (pkt != NULL) {
		struct ust_pkt *next = pkt->next;
		pkt->next = NULL;
		pkt->ops->free(pkt);
		pkt = next;
	}
}

void
ust_pkt_free_bulk(struct ust_pkt **pkts, unsigned n)
{
	for (unsigned i = 0; i < n; i++)
		ust_pkt_free(pkts[i]);
}

void
ust_pkt_reset(struct ust_pkt *pkt)
{
	pkt->data_off = pkt->buf_len < UST_PKT_HEADROOM ? 0 : UST_PKT_HEADROOM;
	pkt->len = 0;
	pkt->pkt_len = 0;
	pkt->refcnt = 1;
	pkt->ol_flags = 0;
	pkt->l2_off = pkt->l3_off = pkt->l4_off = 0;
	pkt->nb_segs = 1;
	pkt->next = NULL;
	pkt->qnext = NULL;
	pkt->ts_ns = 0;
}

static void
pool_free(struct ust_pkt *pkt)
{
	struct ust_pkt_pool *pool = pkt->owner;
	pkt->qnext = pool->free_list;
	pool->free_list = pkt;
	pool->in_use--;
}

static const struct ust_pkt_ops pool_ops = {.free = pool_free};

struct ust_pkt_pool *
ust_pkt_pool_create(unsigned count, uint32_t buf_size)
{
	struct ust_pkt_pool *pool = calloc(1, sizeof(*pool));
	if (pool == NULL)
		return NULL;
	pool->pkts = calloc(count, sizeof(*pool->pkts));
	pool->mem = malloc((size_t)count * buf_size);
	if (pool->pkts == NULL || pool->mem == NULL) {
		ust_pkt_pool_destroy(pool);
		return NULL;
	}
	pool->count = count;
	pool->buf_size = buf_size;
	for (unsigned i = count; i-- > 0;) {
		struct ust_pkt *p = &pool->pkts[i];
		p->buf = pool->mem + (size_t)i * buf_size;
		p->buf_len = buf_size;
		p->ops = &pool_ops;
		p->owner = pool;
		p->qnext = pool->free_list;
		pool->free_list = p;
	}
	return pool;
}

void
ust_pkt_pool_destroy(struct ust_pkt_pool *pool)
{
	if (pool == NULL)
		return;
	free(pool->pkts);
	free(pool->mem);
	free(pool);
}

struct ust_pkt *
ust_pkt_pool_alloc(struct ust_pkt_pool *pool)
{
	struct ust_pkt *p = pool->free_list;
	if (p == NULL)
		return NULL;
	pool->free_list = p->qnext;
	pool->in_use++;
	ust_pkt_reset(p);
	return p;
}

unsigned
ust_pkt_pool_in_use(const struct ust_pkt_pool *pool)
{
	return pool->in_use;
}

unsigned
ust_pkt_pool_avail(const struct ust_pkt_pool *pool)
{
	return pool->count - pool->in_use;
}

struct ust_pkt *
ust_pkt_copy(struct ust_pkt_pool *pool, const struct ust_pkt *pkt)
{
	struct ust_pkt *c = ust_pkt_pool_alloc(pool);
	if (c == NULL)
		return NULL;
	if (pkt->pkt_len > c->buf_len - c->data_off) {
		ust_pkt_free(c);
		return NULL;
	}
	c->len = c->pkt_len = ust_pkt_read(pkt, 0, ust_pkt_data(c), pkt->pkt_len);
	c->ol_flags = pkt->ol_flags;
	c->ts_ns = pkt->ts_ns;
	return c;
}
