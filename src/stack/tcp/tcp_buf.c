/*
 * Byte rings for the send and receive buffers, and the maps beside them: the
 * out-of-order islands of the receive side (their bytes are written straight
 * into the ring at their offset, so reassembly copies nothing) and the SACK
 * scoreboard of the send side (RFC 2018, RFC 6675 2).
 *
 * Rings are allocated on first use, so idle connections cost only their
 * struct tcpcb.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "tcp_var.h"

void
tcp_ring_release(const struct ust_sock_mem *mem, uint8_t *p, uint32_t cap)
{
	if (mem != NULL)
		mem->free(mem->arg, p, cap);
	else
		free(p);
}

static void
ring_mem_free(const struct ust_sock *s, struct tcp_ring *r)
{
	tcp_ring_release(s->mem, r->buf, r->cap);
}

int
tcp_ring_reserve(const struct ust_sock *s, struct tcp_ring *r, uint32_t cap)
{
	if (r->buf != NULL && r->cap >= cap)
		return 0;
	uint8_t *nb = tcp_ring_alloc(s->mem, cap);
	if (nb == NULL)
		return -ENOMEM;
	if (r->buf != NULL) {
		tcp_ring_read(r, 0, nb, r->len);
		ring_mem_free(s, r);
	}
	r->buf = nb;
	r->cap = cap;
	r->head = 0;
	return 0;
}

int
tcp_ring_grow(const struct ust_sock *s, struct tcp_ring *r, uint32_t cap)
{
	if (r->buf == NULL || cap <= r->cap)
		return 0;
	uint8_t *nb = tcp_ring_alloc(s->mem, cap);
	if (nb == NULL)
		return -ENOMEM;
	/* The whole old ring from its head: offsets past len (out-of-order
	 * bytes) stay where they were relative to the head. */
	memcpy(nb, r->buf + r->head, r->cap - r->head);
	memcpy(nb + (r->cap - r->head), r->buf, r->head);
	ring_mem_free(s, r);
	r->buf = nb;
	r->cap = cap;
	r->head = 0;
	return 0;
}

void
tcp_ring_free(const struct ust_sock *s, struct tcp_ring *r)
{
	if (r->buf != NULL)
		ring_mem_free(s, r);
	r->buf = NULL;
	r->len = 0;
	r->head = 0;
}

void
tcp_free_empty_rings(struct tcpcb *tp)
{
	if (tp->snd.len == 0)
		tcp_ring_free(&tp->s, &tp->snd);
	if (tp->rcv.len == 0 && tp->nooo == 0)
		tcp_ring_free(&tp->s, &tp->rcv);
}

void
tcp_shed(struct tcpcb *tp)
{
	tcp_free_empty_rings(tp);
	free(tp->ooo);
	free(tp->sacked);
	free(tp->xmarks);
	free(tp->rxmarks);
	tp->ooo = NULL;
	tp->sacked = NULL;
	tp->xmarks = NULL;
	tp->rxmarks = NULL;
	tp->nooo = tp->nsacked = tp->nxmarks = tp->nrxmarks = 0;
}

uint8_t *
tcp_ring_alloc(const struct ust_sock_mem *mem, uint32_t cap)
{
	return mem != NULL ? mem->alloc(mem->arg, cap) : malloc(cap);
}

void
tcp_ring_move(const struct ust_sock *s, struct tcp_ring *r, uint8_t *nb)
{
	/* Out-of-order bytes beyond len keep their offsets: copy the whole ring. */
	memcpy(nb, r->buf, r->cap);
	ring_mem_free(s, r);
	r->buf = nb;
}

uint32_t
tcp_ring_spans(const struct tcp_ring *r, uint32_t off, uint32_t len, struct ust_sock_span *sp)
{
	uint32_t pos = (r->head + off) % r->cap;
	uint32_t first = r->cap - pos < len ? r->cap - pos : len;
	sp->p[0] = r->buf + pos;
	sp->len[0] = first;
	sp->p[1] = r->buf;
	sp->len[1] = len - first;
	return len;
}

void
tcp_ring_write_at(struct tcp_ring *r, uint32_t off, const void *src, uint32_t len)
{
	uint32_t pos = (r->head + off) % r->cap;
	uint32_t first = r->cap - pos < len ? r->cap - pos : len;
	memcpy(r->buf + pos, src, first);
	memcpy(r->buf, (const uint8_t *)src + first, len - first);
}

uint32_t
tcp_ring_write(struct tcp_ring *r, const void *src, uint32_t len)
{
	uint32_t room = r->cap - r->len;
	if (len > room)
		len = room;
	tcp_ring_write_at(r, r->len, src, len);
	r->len += len;
	return len;
}

uint32_t
tcp_ring_read(const struct tcp_ring *r, uint32_t off, void *dst, uint32_t len)
{
	if (off >= r->len)
		return 0;
	if (len > r->len - off)
		len = r->len - off;
	uint32_t pos = (r->head + off) % r->cap;
	uint32_t first = r->cap - pos < len ? r->cap - pos : len;
	memcpy(dst, r->buf + pos, first);
	memcpy((uint8_t *)dst + first, r->buf, len - first);
	return len;
}

void
tcp_ring_consume(struct tcp_ring *r, uint32_t len)
{
	if (len > r->len)
		len = r->len;
	r->head = (r->head + len) % (r->cap == 0 ? 1 : r->cap);
	r->len -= len;
}

uint32_t
tcp_rcv_space(const struct tcpcb *tp)
{
	uint32_t cap = tp->rcv.buf != NULL ? tp->rcv.cap : tp->s.rcvbuf_bytes;
	return cap - tp->rcv.len;
}

/* Merge [start, end) into a sorted array of disjoint ranges. When the array
 * is full the highest range makes room (forgetting the far end of what the
 * peer holds costs at most a needless retransmission) if `evict`, else the
 * insert fails. */
static bool
range_insert(struct tcp_range *arr, unsigned *n, uint32_t start, uint32_t end, bool evict)
{
	struct tcp_range r = {start, end};
	unsigned i = 0;
	while (i < *n) {
		struct tcp_range *x = &arr[i];
		if (SEQ_LT(r.end, x->start) || SEQ_GT(r.start, x->end)) {
			i++;
			continue;
		}
		r.start = SEQ_MIN(r.start, x->start);
		r.end = SEQ_MAX(r.end, x->end);
		memmove(x, x + 1, (*n - i - 1) * sizeof(*x));
		(*n)--;
	}
	if (*n == TCP_OOO_RANGES) {
		if (!evict)
			return false;
		(*n)--;
	}
	for (i = 0; i < *n && SEQ_LT(arr[i].start, r.start); i++)
		;
	memmove(&arr[i + 1], &arr[i], (*n - i) * sizeof(r));
	arr[i] = r;
	(*n)++;
	return true;
}

bool
tcp_ooo_add(struct tcpcb *tp, uint32_t seq, uint32_t len)
{
	if (tp->ooo == NULL && (tp->ooo = malloc(TCP_OOO_RANGES * sizeof(*tp->ooo))) == NULL)
		return false;
	return range_insert(tp->ooo, &tp->nooo, seq, seq + len, false);
}

uint32_t
tcp_ooo_pull(struct tcpcb *tp)
{
	uint32_t pulled = 0;
	while (tp->nooo > 0 && SEQ_LEQ(tp->ooo[0].start, tp->rcv_nxt)) {
		if (SEQ_GT(tp->ooo[0].end, tp->rcv_nxt)) {
			uint32_t n = tp->ooo[0].end - tp->rcv_nxt;
			tp->rcv_nxt += n;
			tp->rcv.len += n;
			pulled += n;
		}
		memmove(&tp->ooo[0], &tp->ooo[1], (tp->nooo - 1) * sizeof(tp->ooo[0]));
		tp->nooo--;
	}
	return pulled;
}

void
tcp_sack_update(struct tcpcb *tp, const struct ust_tcp_opts *o)
{
	/* Drop what the cumulative ACK now covers. */
	unsigned k = 0;
	for (unsigned i = 0; i < tp->nsacked; i++) {
		struct tcp_range r = tp->sacked[i];
		if (SEQ_LEQ(r.end, tp->snd_una))
			continue;
		if (SEQ_LT(r.start, tp->snd_una))
			r.start = tp->snd_una;
		tp->sacked[k++] = r;
	}
	tp->nsacked = k;
	if (!tp->sack_ok)
		return;
	for (unsigned i = 0; i < o->nsack; i++) {
		uint32_t s = o->sack[i].start, e = o->sack[i].end;
		/* RFC 2018 5 / RFC 5961: only blocks inside what we sent count. */
		if (!SEQ_LT(s, e) || SEQ_LT(s, tp->snd_una) || SEQ_GT(e, tp->snd_max))
			continue;
		if (tp->sacked == NULL &&
		    (tp->sacked = malloc(TCP_SACK_RANGES * sizeof(*tp->sacked))) == NULL)
			return;
		range_insert(tp->sacked, &tp->nsacked, s, e, true);
	}
}

uint32_t
tcp_sacked_bytes(const struct tcpcb *tp)
{
	uint32_t n = 0;
	for (unsigned i = 0; i < tp->nsacked; i++)
		n += tp->sacked[i].end - tp->sacked[i].start;
	return n;
}
