/*
 * Timer wheel: O(1) arm and cancel, however many timers are armed.
 *
 * A hashed wheel of UST_TIMER_SLOTS slots of UST_TIMER_TICK_NS each. A timer
 * further away than one turn waits in its slot and is skipped until its turn
 * comes. Each connection keeps one wheel entry at its earliest deadline, so a
 * million connections mean a million entries, never a scan per connection.
 *
 * Entry points: ust_timer_arm/cancel, ust_timer_run (fires what is due),
 * ust_timer_next (earliest deadline, for sleeping). Reads no clock.
 */
#ifndef UST_TIMER_H
#define UST_TIMER_H

#include <stdbool.h>
#include <stdint.h>

#include "time.h"

#define UST_TIMER_TICK_NS (1 * UST_NS_PER_MS)
#define UST_TIMER_SLOTS 4096u

struct ust_timer;
typedef void ust_timer_fn(void *ctx, struct ust_timer *t, uint64_t now_ns);

struct ust_timer {
	struct ust_timer *next;   /* next in the slot */
	struct ust_timer **pprev; /* the pointer that points at us; NULL when idle */
	uint64_t expire_ns;       /* when fn is due */
	ust_timer_fn *fn;         /* called once when due, after the timer is disarmed */
};

struct ust_timer_wheel {
	struct ust_timer *slot[UST_TIMER_SLOTS];  /* armed timers by expire tick */
	uint64_t busy[UST_TIMER_SLOTS / 64];      /* bit set: slot non-empty */
	uint64_t cur_tick;                        /* ticks up to here have run */
	uint64_t next_hint_ns;                    /* lower bound of the earliest expiry */
	uint32_t count;                           /* armed timers */
};

void ust_timer_wheel_init(struct ust_timer_wheel *w, uint64_t now_ns);

static inline void
ust_timer_init(struct ust_timer *t, ust_timer_fn *fn)
{
	t->next = 0;
	t->pprev = 0;
	t->expire_ns = 0;
	t->fn = fn;
}

static inline bool
ust_timer_armed(const struct ust_timer *t)
{
	return t->pprev != 0;
}

/* Arm or re-arm `t` to fire at `expire_ns` (a time in the past fires next run). */
void ust_timer_arm(struct ust_timer_wheel *w, struct ust_timer *t, uint64_t expire_ns);
void ust_timer_cancel(struct ust_timer_wheel *w, struct ust_timer *t);
/* Fire every timer due at `now_ns`; returns how many fired. */
unsigned ust_timer_run(struct ust_timer_wheel *w, uint64_t now_ns, void *ctx);
/* Earliest armed expiry (possibly early, never late), or UST_TIME_NEVER. */
uint64_t ust_timer_next(struct ust_timer_wheel *w);

#endif
