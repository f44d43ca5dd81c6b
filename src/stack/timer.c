/*
 * Hashed timer wheel (Varghese & Lauck, scheme 6). See timer.h for the map.
 * A bitmap of non-empty slots keeps ust_timer_next() at 64 word tests plus
 * the timers of the slots it looks into.
 */
#include "timer.h"

#include <string.h>

static uint64_t
tick_of(uint64_t ns)
{
	return ns / UST_TIMER_TICK_NS;
}

static void
slot_mark(struct ust_timer_wheel *w, unsigned s)
{
	w->busy[s / 64] |= 1ull << (s % 64);
}

static void
slot_check_empty(struct ust_timer_wheel *w, unsigned s)
{
	if (w->slot[s] == 0)
		w->busy[s / 64] &= ~(1ull << (s % 64));
}

void
ust_timer_wheel_init(struct ust_timer_wheel *w, uint64_t now_ns)
{
	memset(w, 0, sizeof(*w));
	w->cur_tick = tick_of(now_ns);
	w->next_hint_ns = UST_TIME_NEVER;
}

static unsigned
slot_index(const struct ust_timer *t)
{
	return (unsigned)(tick_of(t->expire_ns) % UST_TIMER_SLOTS);
}

void
ust_timer_cancel(struct ust_timer_wheel *w, struct ust_timer *t)
{
	if (!ust_timer_armed(t))
		return;
	*t->pprev = t->next;
	if (t->next != 0)
		t->next->pprev = t->pprev;
	t->next = 0;
	t->pprev = 0;
	w->count--;
	slot_check_empty(w, slot_index(t));
}

void
ust_timer_arm(struct ust_timer_wheel *w, struct ust_timer *t, uint64_t expire_ns)
{
	ust_timer_cancel(w, t);
	t->expire_ns = expire_ns;
	/* A deadline already past waits in the current slot, which every run
	 * visits, so it fires at the next ust_timer_run(). */
	uint64_t tick = tick_of(expire_ns);
	if (tick < w->cur_tick)
		tick = w->cur_tick;
	unsigned s = (unsigned)(tick % UST_TIMER_SLOTS);
	t->next = w->slot[s];
	if (t->next != 0)
		t->next->pprev = &t->next;
	w->slot[s] = t;
	t->pprev = &w->slot[s];
	slot_mark(w, s);
	w->count++;
	if (expire_ns < w->next_hint_ns)
		w->next_hint_ns = expire_ns;
}

unsigned
ust_timer_run(struct ust_timer_wheel *w, uint64_t now_ns, void *ctx)
{
	uint64_t target = tick_of(now_ns);
	unsigned fired = 0;

	if (now_ns < w->next_hint_ns)
		goto advance;
	/* Walk at most one turn: a longer gap visits every slot once anyway. */
	uint64_t from = w->cur_tick;
	if (target >= from + UST_TIMER_SLOTS)
		from = target - UST_TIMER_SLOTS + 1;
	for (uint64_t tick = from; tick <= target; tick++) {
		unsigned s = (unsigned)(tick % UST_TIMER_SLOTS);
		/* Empty slots go by a bitmap word at a time: after a long sleep
		 * (a daemon idle for a second, a simulation jumping to the next
		 * deadline) the walk costs words, not ticks. */
		uint64_t word = w->busy[s / 64] >> (s % 64);
		if (word == 0) {
			tick += 63 - s % 64;
			continue;
		}
		if ((word & 1) == 0) {
			tick += (unsigned)__builtin_ctzll(word) - 1;
			continue;
		}
		struct ust_timer **pp = &w->slot[s];
		while (*pp != 0) {
			struct ust_timer *t = *pp;
			if (t->expire_ns > now_ns) {
				pp = &t->next;
				continue;
			}
			ust_timer_cancel(w, t);
			fired++;
			/* The callback may arm or cancel any timer, this one included,
			 * so restart the slot rather than trust `pp`. */
			t->fn(ctx, t, now_ns);
			pp = &w->slot[s];
		}
	}
	w->next_hint_ns = UST_TIME_NEVER;
advance:
	if (target > w->cur_tick)
		w->cur_tick = target;
	if (w->next_hint_ns == UST_TIME_NEVER)
		w->next_hint_ns = ust_timer_next(w);
	return fired;
}

uint64_t
ust_timer_next(struct ust_timer_wheel *w)
{
	if (w->count == 0)
		return UST_TIME_NEVER;
	if (w->next_hint_ns != UST_TIME_NEVER)
		return w->next_hint_ns;
	uint64_t best = UST_TIME_NEVER;
	unsigned start = (unsigned)(w->cur_tick % UST_TIMER_SLOTS);
	for (unsigned i = 0; i < UST_TIMER_SLOTS; i++) {
		unsigned s = (start + i) % UST_TIMER_SLOTS;
		uint64_t word = w->busy[s / 64] >> (s % 64);
		if (word == 0) {
			/* Skip to the next word boundary. */
			i += 63 - (s % 64);
			continue;
		}
		if ((word & 1) == 0)
			continue;
		for (struct ust_timer *t = w->slot[s]; t != 0; t = t->next)
			if (t->expire_ns < best)
				best = t->expire_ns;
		/* A timer due in this slot's first turn cannot be beaten by a
		 * later slot. */
		if (best != UST_TIME_NEVER && tick_of(best) <= w->cur_tick + i)
			break;
	}
	w->next_hint_ns = best;
	return best;
}
