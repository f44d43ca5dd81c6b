/*
 * memlink: an in-memory Ethernet link between two netifs (ends 0 and 1) in
 * one process, for tests. Deterministic for a seed: its own PRNG, and time
 * only as the harness sets it (ust_memlink_set_time).
 *
 * Each direction has its own impairments: loss, duplication, reordering
 * (a frame held back by reorder_delay_ns), fixed delay plus uniform jitter,
 * a rate limit with a bounded queue (tail drop), and a partition switch.
 */
#ifndef UST_MEMLINK_H
#define UST_MEMLINK_H

#include <stdbool.h>
#include <stdint.h>

#include "../netif.h"
#include "../pkt.h"

struct ust_memlink_impair {
	double loss_pct;           /* frames dropped, percent */
	double dup_pct;            /* frames delivered twice, percent */
	double reorder_pct;        /* frames held back, percent */
	uint64_t reorder_delay_ns; /* how long a held-back frame waits extra */
	uint64_t delay_ns;         /* one-way propagation delay */
	uint64_t jitter_ns;        /* extra delay, uniform in [0, jitter_ns] */
	uint64_t rate_bps;         /* bits per second on the wire; 0 = unlimited */
	uint32_t queue_frames;     /* frames waiting for the wire at most (0: 1000) */
	bool partitioned;          /* drop everything */
};

struct ust_memlink_counters {
	uint64_t sent;       /* frames handed to the link */
	uint64_t delivered;  /* frames received by the far end */
	uint64_t lost;       /* dropped by loss_pct */
	uint64_t duplicated; /* extra copies made */
	uint64_t reordered;  /* frames held back */
	uint64_t queue_drop; /* tail drops at the rate limiter */
	uint64_t partition_drop; /* dropped while partitioned */
};

struct ust_memlink;

/* `frames` buffers per end (their pools), `seed` for the impairments. */
struct ust_memlink *ust_memlink_create(unsigned frames, uint64_t seed);
/* Frees in-flight frames; returns them to the pools first. */
void ust_memlink_destroy(struct ust_memlink *l);
/* The netif of end 0 or 1; MACs 02:00:00:00:00:01 and :02, MTU 1500. */
struct ust_netif *ust_memlink_netif(struct ust_memlink *l, unsigned end);
/* Impairments of frames sent BY end `from`. */
void ust_memlink_set_impair(struct ust_memlink *l, unsigned from, const struct ust_memlink_impair *im);
void ust_memlink_set_time(struct ust_memlink *l, uint64_t now_ns);
/* When the next frame becomes receivable, or UST_TIME_NEVER. */
uint64_t ust_memlink_next_delivery(const struct ust_memlink *l);
const struct ust_memlink_counters *ust_memlink_counters(const struct ust_memlink *l, unsigned from);
/* Buffers out of end `end`'s pool (in flight or held by a stack). */
unsigned ust_memlink_in_use(const struct ust_memlink *l, unsigned end);
/* Inject a raw frame as if end `from` had sent it (SYN floods, fuzzing). */
int ust_memlink_inject(struct ust_memlink *l, unsigned from, const uint8_t *frame, uint32_t len);
/* Observe frames sent by either end (after impairment decisions, before
 * delivery); called with the frame's bytes. */
typedef void ust_memlink_tap_fn(void *arg, unsigned from, const struct ust_pkt *pkt, uint64_t now_ns);
void ust_memlink_set_tap(struct ust_memlink *l, ust_memlink_tap_fn *fn, void *arg);
/* Drop the frames fn returns true for (counted as lost): a test losing
 * exactly the segments it means to. */
typedef bool ust_memlink_filter_fn(void *arg, unsigned from, const struct ust_pkt *pkt, uint64_t now_ns);
void ust_memlink_set_filter(struct ust_memlink *l, ust_memlink_filter_fn *fn, void *arg);

#endif
