/*
 * Packet buffers.
 *
 * A struct ust_pkt describes one contiguous buffer segment; segments chain
 * through `next` for packets larger than one buffer. The buffer memory is
 * owned by whoever allocated it: a plain pool (tests, pcap) or an rte_mbuf
 * (ustackd), which keeps the ust_pkt in its private area so nothing is copied.
 * `ops->free` returns the memory to its owner.
 *
 * Reference count: the number of owners that will each call ust_pkt_free().
 * A freshly allocated packet has refcnt 1. Anyone who keeps a packet beyond
 * the call that handed it over (ARP queue, reassembly, a netif that delays
 * it) takes ownership of the caller's reference; ust_pkt_ref() adds one when
 * two holders need the same bytes (memlink duplication, a capture tap).
 *
 * Entry points: ust_pkt_pool_*, ust_pkt_free, ust_pkt_prepend/adj/append,
 * ust_pkt_linearize, ust_pkt_copy. Not here: anything about protocols.
 */
#ifndef UST_PKT_H
#define UST_PKT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Room in front of the data for eth + ipv6 + tcp with options, rounded up. */
#define UST_PKT_HEADROOM 128
/* Default payload room of a pool buffer: a full 1500-byte frame plus headroom. */
#define UST_PKT_BUF_SIZE 2048

/* Offload flags (ol_flags). RX: what the NIC verified. TX: what it will do. */
#define UST_PKT_RX_IP_CSUM_GOOD (1u << 0)  /* IPv4 header checksum verified */
#define UST_PKT_RX_L4_CSUM_GOOD (1u << 1)  /* TCP/UDP checksum verified */
#define UST_PKT_RX_IP_CSUM_BAD (1u << 2)   /* NIC saw a bad IPv4 checksum */
#define UST_PKT_RX_L4_CSUM_BAD (1u << 3)   /* NIC saw a bad L4 checksum */
#define UST_PKT_TX_IP_CSUM (1u << 8)       /* NIC fills the IPv4 checksum */
#define UST_PKT_TX_L4_CSUM (1u << 9)       /* NIC fills the TCP/UDP checksum */

struct ust_pkt;

struct ust_pkt_ops {
	void (*free)(struct ust_pkt *pkt); /* give one segment back to its owner */
};

struct ust_pkt {
	/* first cache line: what the fast path touches */
	uint8_t *buf;                  /* start of the buffer */
	uint32_t data_off;             /* offset of the first valid byte in buf */
	uint32_t len;                  /* valid bytes in this segment */
	uint32_t pkt_len;              /* valid bytes in the whole chain (head only) */
	uint32_t buf_len;              /* size of buf */
	uint16_t refcnt;               /* owners that will call ust_pkt_free() */
	uint16_t ol_flags;             /* UST_PKT_RX_* / UST_PKT_TX_* */
	uint16_t l2_off;               /* offset from buf of the Ethernet header */
	uint16_t l3_off;               /* offset from buf of the IP header */
	uint16_t l4_off;               /* offset from buf of the L4 header */
	uint16_t nb_segs;              /* segments in the chain (head only) */
	struct ust_pkt *next;          /* next segment of this packet */
	struct ust_pkt *qnext;         /* link while the packet waits in a queue */
	/* second cache line: ownership */
	const struct ust_pkt_ops *ops; /* how to free; never NULL */
	void *owner;                   /* pool or rte_mbuf behind this segment */
	uint64_t ts_ns;                /* rx timestamp or memlink delivery time */
};

static inline uint8_t *
ust_pkt_data(const struct ust_pkt *pkt)
{
	return pkt->buf + pkt->data_off;
}

static inline uint32_t
ust_pkt_headroom(const struct ust_pkt *pkt)
{
	return pkt->data_off;
}

static inline uint32_t
ust_pkt_tailroom(const struct ust_pkt *pkt)
{
	return pkt->buf_len - pkt->data_off - pkt->len;
}

/* Make room for `n` bytes in front of the data; NULL when headroom is short. */
uint8_t *ust_pkt_prepend(struct ust_pkt *pkt, uint32_t n);
/* Drop `n` bytes from the front of a single-segment packet; NULL if too short. */
uint8_t *ust_pkt_adj(struct ust_pkt *pkt, uint32_t n);
/* Cut the packet to `len` bytes (for L2 padding after the IP total length). */
void ust_pkt_trim(struct ust_pkt *pkt, uint32_t len);
/* Extend the tail by `n` bytes; NULL when tailroom is short. */
uint8_t *ust_pkt_append(struct ust_pkt *pkt, uint32_t n);
/* Copy a chain into its head segment; -ENOSPC if it does not fit. */
int ust_pkt_linearize(struct ust_pkt *pkt);
/* Copy `len` bytes from `off` of the chain into `dst`; returns bytes copied. */
uint32_t ust_pkt_read(const struct ust_pkt *pkt, uint32_t off, void *dst, uint32_t len);

static inline void
ust_pkt_ref(struct ust_pkt *pkt)
{
	pkt->refcnt++;
}

/* Drop one reference to the chain; segments go back to their owners at zero. */
void ust_pkt_free(struct ust_pkt *pkt);
/* Free every packet of an array. */
void ust_pkt_free_bulk(struct ust_pkt **pkts, unsigned n);

/* A fixed-size pool of plain heap buffers, for tests, pcap and loopback. */
struct ust_pkt_pool;

struct ust_pkt_pool *ust_pkt_pool_create(unsigned count, uint32_t buf_size);
/* Frees the pool; packets still out are a bug of the caller. */
void ust_pkt_pool_destroy(struct ust_pkt_pool *pool);
/* A packet with refcnt 1, len 0 and UST_PKT_HEADROOM in front; NULL when empty. */
struct ust_pkt *ust_pkt_pool_alloc(struct ust_pkt_pool *pool);
/* Buffers currently handed out: tests assert 0 at teardown. */
unsigned ust_pkt_pool_in_use(const struct ust_pkt_pool *pool);
/* Buffers still free. */
unsigned ust_pkt_pool_avail(const struct ust_pkt_pool *pool);

/* Reset a packet for reuse as an empty single segment with default headroom. */
void ust_pkt_reset(struct ust_pkt *pkt);

/* A copy of the chain as one segment from `pool`; NULL when out of buffers. */
struct ust_pkt *ust_pkt_copy(struct ust_pkt_pool *pool, const struct ust_pkt *pkt);

/* Free every packet of a list linked by qnext. */
static inline void
ust_pkt_free_list(struct ust_pkt *head)
{
	while (head != NULL) {
		struct ust_pkt *p = head;
		head = p->qnext;
		p->qnext = NULL;
		ust_pkt_free(p);
	}
}

/* Packets waiting in line on their qnext link (for a neighbor to resolve,
 * or on the loopback path). */
struct ust_pktq {
	struct ust_pkt *head; /* oldest */
	struct ust_pkt *tail; /* newest */
	unsigned len;         /* their count */
};

static inline void
ust_pktq_push(struct ust_pktq *q, struct ust_pkt *pkt)
{
	pkt->qnext = NULL;
	if (q->tail != NULL)
		q->tail->qnext = pkt;
	else
		q->head = pkt;
	q->tail = pkt;
	q->len++;
}

/* The oldest packet, taken off the line; NULL when it is empty. */
static inline struct ust_pkt *
ust_pktq_pop(struct ust_pktq *q)
{
	struct ust_pkt *pkt = q->head;
	if (pkt == NULL)
		return NULL;
	q->head = pkt->qnext;
	if (q->head == NULL)
		q->tail = NULL;
	pkt->qnext = NULL;
	q->len--;
	return pkt;
}

#endif
