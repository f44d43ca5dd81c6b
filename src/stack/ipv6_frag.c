/*
 * IPv6 reassembly (RFC 8200 4.5).
 *
 * As for IPv4 (ipv4_frag.c): one growing buffer and a bitmap of 8-byte
 * blocks per datagram, and the finished datagram handed up in that buffer.
 * The differences are IPv6's: the key is (source, destination, 32-bit
 * identification); the unfragmentable part of the first fragment becomes
 * the datagram's headers, with the Next Header that named the fragment
 * header rewritten; any overlap discards the whole datagram (RFC 5722),
 * while an exact duplicate is ignored; 60 s to complete (RFC 8200 4.5,
 * Linux ip6frag_time). Atomic fragments never get here (wire/ipv6.c).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "ipv6.h"
#include "wire/bytes.h"

#define FRAG6_MAX_FRAGS 64
#define FRAG6_TIMEOUT_NS (60 * UST_NS_PER_S)
#define FRAG6_SLOTS 64
#define FRAG6_UNFRAG_MAX 256 /* headers before the fragment header kept at most */
#define FRAG6_HEADROOM (UST_PKT_HEADROOM + FRAG6_UNFRAG_MAX)
#define FRAG6_BLOCKS (65536 / 8)
#define FRAG6_GROW 2048

struct frag6_ctx {
	struct ust_timer timer;           /* expiry; first member for the cast */
	struct ust_pkt pkt;               /* the finished datagram, wrapping buf */
	struct ust_stack *st;             /* for accounting when pkt is freed */
	uint8_t src[16];                  /* key: source */
	uint8_t dst[16];                  /* key: destination */
	uint32_t id;                      /* key: identification */
	uint8_t proto;                    /* upper-layer protocol (first fragment's) */
	uint16_t unfrag_len;              /* bytes of hdr */
	uint16_t next_off;                /* where in hdr the fragment header is named */
	uint8_t hdr[FRAG6_UNFRAG_MAX];    /* unfragmentable part of the first fragment */
	bool have_first;                  /* offset 0 seen */
	bool have_last;                   /* M=0 seen: total is known */
	uint32_t total;                   /* payload bytes, once have_last */
	uint32_t filled;                  /* payload bytes received */
	uint32_t cap;                     /* payload bytes buf can hold */
	uint8_t *buf;                     /* FRAG6_HEADROOM + cap bytes */
	unsigned nfrags;                  /* fragments received */
	uint64_t have[FRAG6_BLOCKS / 64]; /* 8-byte blocks received */
};

struct ust_ipv6_frag {
	struct frag6_ctx *slot[FRAG6_SLOTS]; /* datagrams being reassembled */
	size_t mem;                          /* buffer bytes held, finished ones too */
};

int
ust_ipv6_frag_init(struct ust_stack *st)
{
	st->ip6_frag = calloc(1, sizeof(*st->ip6_frag));
	return st->ip6_frag == NULL ? -ENOMEM : 0;
}

static void
ctx_release(struct frag6_ctx *c)
{
	c->st->ip6_frag->mem -= c->cap + FRAG6_HEADROOM;
	free(c->buf);
	free(c);
}

static void
ctx_drop(struct ust_stack *st, unsigned i, enum ust_drop why)
{
	struct frag6_ctx *c = st->ip6_frag->slot[i];
	st->ip6_frag->slot[i] = NULL;
	ust_timer_cancel(&st->timers, &c->timer);
	st->stats.drop[why] += c->nfrags;
	ctx_release(c);
}

void
ust_ipv6_frag_fini(struct ust_stack *st)
{
	if (st->ip6_frag == NULL)
		return;
	for (unsigned i = 0; i < FRAG6_SLOTS; i++)
		if (st->ip6_frag->slot[i] != NULL)
			ctx_drop(st, i, UST_DROP_IP6_FRAG_TIMEOUT);
	free(st->ip6_frag);
	st->ip6_frag = NULL;
}

static void
on_timeout(void *ctx, struct ust_timer *t, uint64_t now_ns)
{
	struct ust_stack *st = ctx;
	(void)now_ns;
	for (unsigned i = 0; i < FRAG6_SLOTS; i++)
		if (st->ip6_frag->slot[i] == (struct frag6_ctx *)t) {
			/* RFC 8200 4.5 asks for a time exceeded only if the first
			 * fragment came; Linux sends it then too. We stay silent:
			 * the peer's data is gone either way. */
			ctx_drop(st, i, UST_DROP_IP6_FRAG_TIMEOUT);
			return;
		}
}

static void
pkt_free(struct ust_pkt *pkt)
{
	ctx_release(pkt->owner);
}

static const struct ust_pkt_ops frag6_pkt_ops = {.free = pkt_free};

static int
grow(struct ust_stack *st, struct frag6_ctx *c, uint32_t need)
{
	if (need <= c->cap)
		return 0;
	uint32_t cap = (need + FRAG6_GROW - 1) / FRAG6_GROW * FRAG6_GROW;
	if (st->ip6_frag->mem + (cap - c->cap) > st->cfg.frag_mem_max)
		return -ENOMEM;
	uint8_t *nb = realloc(c->buf, FRAG6_HEADROOM + cap);
	if (nb == NULL)
		return -ENOMEM;
	st->ip6_frag->mem += cap - c->cap;
	c->buf = nb;
	c->cap = cap;
	return 0;
}

static int
find_slot(struct ust_stack *st, const struct ust_ipv6_view *ip)
{
	int free_i = -1;
	for (unsigned i = 0; i < FRAG6_SLOTS; i++) {
		struct frag6_ctx *c = st->ip6_frag->slot[i];
		if (c == NULL) {
			if (free_i < 0)
				free_i = (int)i;
			continue;
		}
		if (c->id == ip->frag_id && ust_ip_eq(c->src, ip->src) && ust_ip_eq(c->dst, ip->dst))
			return (int)i;
	}
	if (free_i < 0 || st->ip6_frag->mem + FRAG6_HEADROOM > st->cfg.frag_mem_max)
		return -1;
	struct frag6_ctx *c = calloc(1, sizeof(*c));
	if (c == NULL)
		return -1;
	c->buf = malloc(FRAG6_HEADROOM);
	if (c->buf == NULL) {
		free(c);
		return -1;
	}
	c->st = st;
	memcpy(c->src, ip->src, 16);
	memcpy(c->dst, ip->dst, 16);
	c->id = ip->frag_id;
	st->ip6_frag->mem += FRAG6_HEADROOM;
	ust_timer_init(&c->timer, on_timeout);
	ust_timer_arm(&st->timers, &c->timer, st->now_ns + FRAG6_TIMEOUT_NS);
	st->ip6_frag->slot[free_i] = c;
	return free_i;
}

/* Whether [off, off+len) is already held; *dup says if it is held whole
 * with the same bytes. */
static bool
overlaps(const struct frag6_ctx *c, uint32_t off, const uint8_t *src, uint32_t len, bool *dup)
{
	bool any = false, all = true;
	for (uint32_t b = off / 8; b * 8 < off + len; b++) {
		bool has = (c->have[b / 64] >> (b % 64)) & 1;
		any |= has;
		all &= has;
	}
	*dup = any && all && off + len <= c->cap &&
	       memcmp(c->buf + FRAG6_HEADROOM + off, src, len) == 0;
	return any;
}

struct ust_pkt *
ust_ipv6_reass(struct ust_stack *st, struct ust_pkt *pkt, struct ust_ipv6_view *ip)
{
	uint32_t off = ip->frag_off;
	const uint8_t *data = ust_pkt_data(pkt) + ip->l4_off;
	uint32_t len = (uint32_t)(UST_IPV6_HLEN + ip->payload_len - ip->l4_off);
	if (off == 0 && ip->unfrag_len > FRAG6_UNFRAG_MAX) {
		ust_drop(st, pkt, UST_DROP_IP6_FRAG_BAD);
		return NULL;
	}
	int i = find_slot(st, ip);
	if (i < 0) {
		ust_drop(st, pkt, UST_DROP_IP6_FRAG_MEM);
		return NULL;
	}
	struct frag6_ctx *c = st->ip6_frag->slot[i];
	bool dup;
	if (overlaps(c, off, data, len, &dup)) {
		if (dup) {
			ust_pkt_free(pkt);
			return NULL;
		}
		ust_drop(st, pkt, UST_DROP_IP6_FRAG_OVERLAP);
		ctx_drop(st, (unsigned)i, UST_DROP_IP6_FRAG_OVERLAP);
		return NULL;
	}
	bool bad = c->nfrags >= FRAG6_MAX_FRAGS || len == 0;
	if (!ip->mf) {
		bad |= (c->have_last && c->total != off + len) || off + len < c->filled;
		c->have_last = true;
		c->total = off + len;
	} else {
		bad |= c->have_last && off + len > c->total;
	}
	if (bad) {
		ust_drop(st, pkt, UST_DROP_IP6_FRAG_BAD);
		ctx_drop(st, (unsigned)i, UST_DROP_IP6_FRAG_BAD);
		return NULL;
	}
	if (grow(st, c, off + len) < 0) {
		ust_drop(st, pkt, UST_DROP_IP6_FRAG_MEM);
		ctx_drop(st, (unsigned)i, UST_DROP_IP6_FRAG_MEM);
		return NULL;
	}
	memcpy(c->buf + FRAG6_HEADROOM + off, data, len);
	for (uint32_t b = off / 8; b * 8 < off + len; b++)
		c->have[b / 64] |= 1ull << (b % 64);
	c->filled += len;
	if (off == 0) {
		c->have_first = true;
		c->proto = ip->proto;
		c->unfrag_len = ip->unfrag_len;
		c->next_off = ip->frag_next_off;
		memcpy(c->hdr, ust_pkt_data(pkt), ip->unfrag_len);
	}
	c->nfrags++;
	ust_pkt_free(pkt);
	if (!c->have_first || !c->have_last || c->filled != c->total)
		return NULL;

	/* Complete: the datagram leaves the table and lives in its buffer. */
	st->ip6_frag->slot[i] = NULL;
	ust_timer_cancel(&st->timers, &c->timer);
	uint8_t *h = c->buf + FRAG6_HEADROOM - c->unfrag_len;
	memcpy(h, c->hdr, c->unfrag_len);
	h[c->next_off] = c->proto;
	uint32_t plen = c->unfrag_len - UST_IPV6_HLEN + c->total;
	struct ust_pkt *out = &c->pkt;
	memset(out, 0, sizeof(*out));
	out->buf = c->buf;
	out->buf_len = FRAG6_HEADROOM + c->cap;
	out->data_off = FRAG6_HEADROOM - c->unfrag_len;
	out->len = out->pkt_len = c->unfrag_len + c->total;
	out->refcnt = 1;
	out->nb_segs = 1;
	out->ops = &frag6_pkt_ops;
	out->owner = c;
	out->ts_ns = st->now_ns;
	if (plen > 65535) {
		ust_drop(st, out, UST_DROP_IP6_FRAG_TOO_BIG);
		return NULL;
	}
	ust_put16(h + 4, (uint16_t)plen);
	enum ust_drop why = ust_ipv6_parse(h, out->len, ip);
	if (why != UST_DROP_NONE || ip->frag) {
		ust_drop(st, out, why != UST_DROP_NONE ? why : UST_DROP_IP6_FRAG_BAD);
		return NULL;
	}
	return out;
}
