/*
 * IPv4 reassembly (RFC 791 3.2).
 *
 * Each datagram under reassembly owns one contiguous buffer that grows to the
 * highest byte seen, and a bitmap of the 8-byte blocks received. The finished
 * datagram is handed up in that same buffer, wrapped as a struct ust_pkt
 * whose ops->free returns the memory, so nothing is copied twice and the
 * memory cap covers it until the application has read it.
 *
 * Limits: cfg.frag_mem_max bytes of buffers, FRAG_MAX_FRAGS fragments per
 * datagram, FRAG_TIMEOUT_NS to complete (Linux ipfrag_time, 30 s). Overlaps
 * that carry different bytes discard the datagram (a classic IDS evasion;
 * RFC 5722 takes the same line for IPv6).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "ipv4.h"
#include "wire/bytes.h"
#include "wire/csum.h"

#define FRAG_MAX_FRAGS 64
#define FRAG_TIMEOUT_NS (30 * UST_NS_PER_S)
#define FRAG_SLOTS 64
#define FRAG_HEADROOM (UST_PKT_HEADROOM + 60)
#define FRAG_BLOCKS (65536 / 8)
#define FRAG_GROW 2048

struct frag_ctx {
	struct ust_timer timer;          /* expiry; first member for the cast */
	struct ust_pkt pkt;              /* the finished datagram, wrapping buf */
	struct ust_stack *st;            /* for accounting when pkt is freed */
	uint32_t src;                    /* key: source address */
	uint32_t dst;                    /* key: destination address */
	uint16_t id;                     /* key: identification */
	uint8_t proto;                   /* key: protocol */
	uint8_t hlen;                    /* header length of the first fragment */
	uint8_t hdr[60];                 /* header of the offset-0 fragment */
	bool have_first;                 /* offset 0 seen */
	bool have_last;                  /* MF=0 seen: total is known */
	uint32_t total;                  /* payload bytes, once have_last */
	uint32_t filled;                 /* payload bytes received, without overlap */
	uint32_t cap;                    /* payload bytes buf can hold */
	uint8_t *buf;                    /* FRAG_HEADROOM + cap bytes */
	unsigned nfrags;                 /* fragments received */
	uint64_t have[FRAG_BLOCKS / 64]; /* 8-byte blocks received */
};

struct ust_ipv4_frag {
	struct frag_ctx *slot[FRAG_SLOTS]; /* datagrams being reassembled */
	size_t mem;                        /* buffer bytes held, finished ones too */
};

int
ust_ipv4_frag_init(struct ust_stack *st)
{
	st->ip4_frag = calloc(1, sizeof(*st->ip4_frag));
	return st->ip4_frag == NULL ? -ENOMEM : 0;
}

static void
ctx_release(struct frag_ctx *c)
{
	c->st->ip4_frag->mem -= c->cap + FRAG_HEADROOM;
	free(c->buf);
	free(c);
}

static void
ctx_drop(struct ust_stack *st, unsigned i, enum ust_drop why)
{
	struct frag_ctx *c = st->ip4_frag->slot[i];
	st->ip4_frag->slot[i] = NULL;
	ust_timer_cancel(&st->timers, &c->timer);
	/* Count each fragment thrown away, as a drop of that reason. */
	st->stats.drop[why] += c->nfrags;
	ctx_release(c);
}

void
ust_ipv4_frag_fini(struct ust_stack *st)
{
	if (st->ip4_frag == NULL)
		return;
	for (unsigned i = 0; i < FRAG_SLOTS; i++)
		if (st->ip4_frag->slot[i] != NULL)
			ctx_drop(st, i, UST_DROP_IP_FRAG_TIMEOUT);
	/* Finished datagrams still queued in sockets free themselves later and
	 * touch ip4_frag->mem; the sockets are closed before us (stack.c). */
	free(st->ip4_frag);
	st->ip4_frag = NULL;
}

static void
on_timeout(void *ctx, struct ust_timer *t, uint64_t now_ns)
{
	struct ust_stack *st = ctx;
	(void)now_ns;
	for (unsigned i = 0; i < FRAG_SLOTS; i++)
		if (st->ip4_frag->slot[i] == (struct frag_ctx *)t) {
			ctx_drop(st, i, UST_DROP_IP_FRAG_TIMEOUT);
			return;
		}
}

static void
pkt_free(struct ust_pkt *pkt)
{
	ctx_release(pkt->owner);
}

static const struct ust_pkt_ops frag_pkt_ops = {.free = pkt_free};

static bool
block_has(const struct frag_ctx *c, uint32_t b)
{
	return (c->have[b / 64] >> (b % 64)) & 1;
}

static int
grow(struct ust_stack *st, struct frag_ctx *c, uint32_t need)
{
	if (need <= c->cap)
		return 0;
	uint32_t cap = (need + FRAG_GROW - 1) / FRAG_GROW * FRAG_GROW;
	if (st->ip4_frag->mem + (cap - c->cap) > st->cfg.frag_mem_max)
		return -ENOMEM;
	uint8_t *nb = realloc(c->buf, FRAG_HEADROOM + cap);
	if (nb == NULL)
		return -ENOMEM;
	st->ip4_frag->mem += cap - c->cap;
	c->buf = nb;
	c->cap = cap;
	return 0;
}

static int
find_slot(struct ust_stack *st, const struct ust_ipv4_view *ip)
{
	int free_i = -1;
	for (unsigned i = 0; i < FRAG_SLOTS; i++) {
		struct frag_ctx *c = st->ip4_frag->slot[i];
		if (c == NULL) {
			if (free_i < 0)
				free_i = (int)i;
			continue;
		}
		if (c->src == ip->src && c->dst == ip->dst && c->id == ip->id && c->proto == ip->proto)
			return (int)i;
	}
	if (free_i < 0 || st->ip4_frag->mem + FRAG_HEADROOM > st->cfg.frag_mem_max)
		return -1;
	struct frag_ctx *c = calloc(1, sizeof(*c));
	if (c == NULL)
		return -1;
	c->st = st;
	c->src = ip->src;
	c->dst = ip->dst;
	c->id = ip->id;
	c->proto = ip->proto;
	c->buf = malloc(FRAG_HEADROOM);
	if (c->buf == NULL) {
		free(c);
		return -1;
	}
	st->ip4_frag->mem += FRAG_HEADROOM;
	ust_timer_init(&c->timer, on_timeout);
	ust_timer_arm(&st->timers, &c->timer, st->now_ns + FRAG_TIMEOUT_NS);
	st->ip4_frag->slot[free_i] = c;
	return free_i;
}

struct ust_pkt *
ust_ipv4_reass(struct ust_stack *st, struct ust_pkt *pkt, struct ust_ipv4_view *ip)
{
	uint32_t off = ip->frag_off;
	uint32_t len = ip->payload_len;
	if ((ip->mf && (len == 0 || len % 8 != 0)) || (!ip->mf && len == 0 && off == 0)) {
		ust_drop(st, pkt, UST_DROP_IP_FRAG_BAD);
		return NULL;
	}
	if (off + len + ip->hlen > 65535) {
		ust_drop(st, pkt, UST_DROP_IP_FRAG_TOO_BIG);
		return NULL;
	}
	int i = find_slot(st, ip);
	if (i < 0) {
		ust_drop(st, pkt, UST_DROP_IP_FRAG_MEM);
		return NULL;
	}
	struct frag_ctx *c = st->ip4_frag->slot[i];
	if (c->nfrags >= FRAG_MAX_FRAGS) {
		ust_drop(st, pkt, UST_DROP_IP_FRAG_BAD);
		ctx_drop(st, (unsigned)i, UST_DROP_IP_FRAG_BAD);
		return NULL;
	}
	if (!ip->mf) {
		if ((c->have_last && c->total != off + len) || off + len < c->filled) {
			ust_drop(st, pkt, UST_DROP_IP_FRAG_BAD);
			ctx_drop(st, (unsigned)i, UST_DROP_IP_FRAG_BAD);
			return NULL;
		}
		c->have_last = true;
		c->total = off + len;
	} else if (c->have_last && off + len > c->total) {
		ust_drop(st, pkt, UST_DROP_IP_FRAG_BAD);
		ctx_drop(st, (unsigned)i, UST_DROP_IP_FRAG_BAD);
		return NULL;
	}
	if (grow(st, c, off + len) < 0) {
		ust_drop(st, pkt, UST_DROP_IP_FRAG_MEM);
		ctx_drop(st, (unsigned)i, UST_DROP_IP_FRAG_MEM);
		return NULL;
	}
	uint8_t *dst = c->buf + FRAG_HEADROOM + off;
	const uint8_t *src = ip->payload;
	for (uint32_t b = off / 8; b * 8 < off + len; b++) {
		uint32_t bo = b * 8 - off;
		uint32_t n = len - bo < 8 ? len - bo : 8;
		if (block_has(c, b)) {
			if (memcmp(dst + bo, src + bo, n) != 0) {
				ust_drop(st, pkt, UST_DROP_IP_FRAG_OVERLAP);
				ctx_drop(st, (unsigned)i, UST_DROP_IP_FRAG_OVERLAP);
				return NULL;
			}
			continue;
		}
		memcpy(dst + bo, src + bo, n);
		c->have[b / 64] |= 1ull << (b % 64);
		c->filled += n;
	}
	if (off == 0) {
		c->have_first = true;
		c->hlen = ip->hlen;
		memcpy(c->hdr, ust_pkt_data(pkt), ip->hlen);
	}
	c->nfrags++;
	ust_pkt_free(pkt);
	if (!c->have_first || !c->have_last || c->filled != c->total)
		return NULL;

	/* Complete: the datagram leaves the table and lives in its buffer. */
	st->ip4_frag->slot[i] = NULL;
	ust_timer_cancel(&st->timers, &c->timer);
	uint8_t *h = c->buf + FRAG_HEADROOM - c->hlen;
	memcpy(h, c->hdr, c->hlen);
	ust_put16(h + 2, (uint16_t)(c->hlen + c->total));
	ust_put16(h + 6, 0);
	ust_put16(h + 10, 0);
	ust_put16(h + 10, ust_csum_fold(ust_csum_partial(h, c->hlen, 0)));
	struct ust_pkt *out = &c->pkt;
	memset(out, 0, sizeof(*out));
	out->buf = c->buf;
	out->buf_len = FRAG_HEADROOM + c->cap;
	out->data_off = FRAG_HEADROOM - c->hlen;
	out->len = out->pkt_len = c->hlen + c->total;
	out->refcnt = 1;
	out->nb_segs = 1;
	out->ops = &frag_pkt_ops;
	out->owner = c;
	out->ts_ns = st->now_ns;
	ip->tot_len = (uint16_t)out->len;
	ip->mf = false;
	ip->frag_off = 0;
	ip->hlen = c->hlen;
	ip->opts = h + UST_IPV4_HLEN;
	ip->payload = h + c->hlen;
	ip->payload_len = (uint16_t)c->total;
	return out;
}
