/* Timer wheel: ordering, cancel, re-arm from a callback, far timers, next(). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include <cmocka.h>

#include "stack/timer.h"

struct probe {
	struct ust_timer t; /* the timer under test */
	uint64_t fired_at;  /* now_ns of the firing, 0 if not fired */
	int fires;          /* times fired */
	uint64_t rearm_ns;  /* re-arm to now + this when fired, 0 for no */
};

static struct ust_timer_wheel wheel;

static void
on_fire(void *ctx, struct ust_timer *t, uint64_t now_ns)
{
	struct probe *p = (struct probe *)t;
	(void)ctx;
	p->fired_at = now_ns;
	p->fires++;
	if (p->rearm_ns != 0)
		ust_timer_arm(&wheel, t, now_ns + p->rearm_ns);
}

static void
test_timer_fires_at_deadline_not_before(void **state)
{
	(void)state;
	struct probe p = {0};
	ust_timer_wheel_init(&wheel, 0);
	ust_timer_init(&p.t, on_fire);
	ust_timer_arm(&wheel, &p.t, 5 * UST_NS_PER_MS + 1);
	assert_int_equal(ust_timer_next(&wheel), 5 * UST_NS_PER_MS + 1);
	assert_int_equal(ust_timer_run(&wheel, 5 * UST_NS_PER_MS, NULL), 0);
	assert_int_equal(p.fires, 0);
	assert_int_equal(ust_timer_run(&wheel, 5 * UST_NS_PER_MS + 1, NULL), 1);
	assert_int_equal(p.fires, 1);
	assert_false(ust_timer_armed(&p.t));
	assert_int_equal(ust_timer_next(&wheel), UST_TIME_NEVER);
}

static void
test_timer_cancel_prevents_firing(void **state)
{
	(void)state;
	struct probe a = {0}, b = {0};
	ust_timer_wheel_init(&wheel, 0);
	ust_timer_init(&a.t, on_fire);
	ust_timer_init(&b.t, on_fire);
	ust_timer_arm(&wheel, &a.t, 10 * UST_NS_PER_MS);
	ust_timer_arm(&wheel, &b.t, 10 * UST_NS_PER_MS);
	ust_timer_cancel(&wheel, &a.t);
	ust_timer_cancel(&wheel, &a.t); /* cancelling twice is harmless */
	assert_int_equal(ust_timer_run(&wheel, 20 * UST_NS_PER_MS, NULL), 1);
	assert_int_equal(a.fires, 0);
	assert_int_equal(b.fires, 1);
}

static void
test_timer_beyond_one_turn_waits_its_turn(void **state)
{
	(void)state;
	struct probe p = {0};
	/* Same slot as 1 ms, but several turns later. */
	uint64_t far = (1 + 3 * (uint64_t)UST_TIMER_SLOTS) * UST_TIMER_TICK_NS;
	ust_timer_wheel_init(&wheel, 0);
	ust_timer_init(&p.t, on_fire);
	ust_timer_arm(&wheel, &p.t, far);
	for (uint64_t now = 0; now < far; now += 7 * UST_NS_PER_MS)
		ust_timer_run(&wheel, now, NULL);
	assert_int_equal(p.fires, 0);
	ust_timer_run(&wheel, far, NULL);
	assert_int_equal(p.fires, 1);
}

static void
test_timer_big_jump_fires_everything_due(void **state)
{
	(void)state;
	struct probe p[50] = {0};
	ust_timer_wheel_init(&wheel, 0);
	for (int i = 0; i < 50; i++) {
		ust_timer_init(&p[i].t, on_fire);
		ust_timer_arm(&wheel, &p[i].t, (uint64_t)(i + 1) * 97 * UST_NS_PER_MS);
	}
	assert_int_equal(ust_timer_run(&wheel, 100 * UST_NS_PER_S, NULL), 50);
	for (int i = 0; i < 50; i++)
		assert_int_equal(p[i].fires, 1);
}

static void
test_timer_rearm_from_callback_periodic(void **state)
{
	(void)state;
	struct probe p = {.rearm_ns = 3 * UST_NS_PER_MS};
	ust_timer_wheel_init(&wheel, 0);
	ust_timer_init(&p.t, on_fire);
	ust_timer_arm(&wheel, &p.t, 3 * UST_NS_PER_MS);
	for (uint64_t now = 0; now <= 30 * UST_NS_PER_MS; now += UST_NS_PER_MS)
		ust_timer_run(&wheel, now, NULL);
	assert_int_equal(p.fires, 10);
	assert_true(ust_timer_armed(&p.t));
}

static void
test_timer_past_deadline_fires_on_next_run(void **state)
{
	(void)state;
	struct probe p = {0};
	ust_timer_wheel_init(&wheel, 50 * UST_NS_PER_MS);
	ust_timer_init(&p.t, on_fire);
	ust_timer_arm(&wheel, &p.t, 10 * UST_NS_PER_MS);
	/* A harness that sleeps until next() and runs must see it fire. */
	uint64_t when = ust_timer_next(&wheel);
	assert_true(when <= 50 * UST_NS_PER_MS);
	assert_int_equal(ust_timer_run(&wheel, 50 * UST_NS_PER_MS, NULL), 1);
}

static void
test_timer_next_is_earliest_among_many(void **state)
{
	(void)state;
	enum { N = 1000 };
	static struct probe p[N];
	ust_timer_wheel_init(&wheel, 0);
	uint64_t min = UST_TIME_NEVER;
	uint64_t x = 12345;
	for (int i = 0; i < N; i++) {
		x = x * 6364136223846793005ull + 1442695040888963407ull;
		uint64_t at = UST_NS_PER_MS + (x >> 33) % (20 * UST_NS_PER_S);
		ust_timer_init(&p[i].t, on_fire);
		p[i].fires = 0;
		ust_timer_arm(&wheel, &p[i].t, at);
		if (at < min)
			min = at;
	}
	/* Every deadline reported must be exact: run at it, something fires. */
	unsigned total = 0;
	uint64_t next = ust_timer_next(&wheel);
	assert_int_equal(next, min);
	while (next != UST_TIME_NEVER) {
		unsigned n = ust_timer_run(&wheel, next, NULL);
		assert_true(n >= 1);
		total += n;
		uint64_t after = ust_timer_next(&wheel);
		assert_true(after > next || after == UST_TIME_NEVER);
		next = after;
	}
	assert_int_equal(total, N);
}

static void
test_timer_million_arm_cancel_keeps_count(void **state)
{
	(void)state;
	enum { N = 1000000 };
	struct probe *p = calloc(N, sizeof(*p));
	assert_non_null(p);
	ust_timer_wheel_init(&wheel, 0);
	for (int i = 0; i < N; i++) {
		ust_timer_init(&p[i].t, on_fire);
		ust_timer_arm(&wheel, &p[i].t, (uint64_t)(i % 5000 + 1) * UST_NS_PER_MS);
	}
	assert_int_equal(wheel.count, N);
	for (int i = 0; i < N; i += 2)
		ust_timer_cancel(&wheel, &p[i].t);
	assert_int_equal(wheel.count, N / 2);
	assert_int_equal(ust_timer_run(&wheel, 6 * UST_NS_PER_S, NULL), N / 2);
	assert_int_equal(wheel.count, 0);
	free(p);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_timer_fires_at_deadline_not_before),
		cmocka_unit_test(test_timer_cancel_prevents_firing),
		cmocka_unit_test(test_timer_beyond_one_turn_waits_its_turn),
		cmocka_unit_test(test_timer_big_jump_fires_everything_due),
		cmocka_unit_test(test_timer_rearm_from_callback_periodic),
		cmocka_unit_test(test_timer_past_deadline_fires_on_next_run),
		cmocka_unit_test(test_timer_next_is_earliest_among_many),
		cmocka_unit_test(test_timer_million_arm_cancel_keeps_count),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
