/* memlink: each impairment does what it says, and a seed fixes the outcome. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "stack/netif/memlink.h"
#include "stack/time.h"

/* Send n numbered 100-byte frames from end 0 at 10 µs intervals, receive
 * everything at end 1; record arrival order and times. */
struct run {
	unsigned got;          /* frames received */
	uint32_t order[20000]; /* sequence numbers in arrival order */
	uint64_t at[20000];    /* arrival times */
};

static void
drain(struct ust_memlink *l, struct run *r, uint64_t now)
{
	struct ust_netif *rx = ust_memlink_netif(l, 1);
	struct ust_pkt *p[32];
	uint16_t n;
	ust_memlink_set_time(l, now);
	while ((n = rx->ops->rx_burst(rx, p, 32)) > 0) {
		for (uint16_t i = 0; i < n; i++) {
			if (r->got < 20000) {
				memcpy(&r->order[r->got], ust_pkt_data(p[i]), 4);
				r->at[r->got] = now;
			}
			r->got++;
			ust_pkt_free(p[i]);
		}
	}
}

static void
run_link(const struct ust_memlink_impair *im, unsigned n, uint64_t seed, struct run *r)
{
	struct ust_memlink *l = ust_memlink_create(4096, seed);
	ust_memlink_set_impair(l, 0, im);
	struct ust_netif *tx = ust_memlink_netif(l, 0);
	memset(r, 0, sizeof(*r));
	uint64_t now = 0;
	for (uint32_t i = 0; i < n; i++) {
		/* Receive at the exact delivery times, so arrival times are exact. */
		for (uint64_t t = ust_memlink_next_delivery(l); t <= now; t = ust_memlink_next_delivery(l))
			drain(l, r, t);
		ust_memlink_set_time(l, now);
		struct ust_pkt *p = tx->ops->alloc(tx);
		assert_non_null(p);
		uint8_t *d = ust_pkt_append(p, 100);
		memset(d, 0, 100);
		memcpy(d, &i, 4);
		assert_int_equal(tx->ops->tx_burst(tx, &p, 1), 1);
		drain(l, r, now);
		now += 10 * UST_NS_PER_US;
	}
	for (uint64_t t = ust_memlink_next_delivery(l); t != UST_TIME_NEVER; t = ust_memlink_next_delivery(l))
		drain(l, r, t);
	assert_int_equal(ust_memlink_in_use(l, 0), 0);
	assert_int_equal(ust_memlink_in_use(l, 1), 0);
	const struct ust_memlink_counters *c = ust_memlink_counters(l, 0);
	assert_int_equal(c->delivered, r->got);
	ust_memlink_destroy(l);
}

static struct run r1, r2;

static void
test_clean_link_delivers_all_in_order_after_delay(void **state)
{
	(void)state;
	struct ust_memlink_impair im = {.delay_ns = 5 * UST_NS_PER_MS};
	run_link(&im, 1000, 1, &r1);
	assert_int_equal(r1.got, 1000);
	for (uint32_t i = 0; i < 1000; i++) {
		assert_int_equal(r1.order[i], i);
		assert_int_equal(r1.at[i], i * 10 * UST_NS_PER_US + 5 * UST_NS_PER_MS);
	}
}

static void
test_loss_rate_close_to_setting(void **state)
{
	(void)state;
	struct ust_memlink_impair im = {.loss_pct = 5};
	run_link(&im, 10000, 2, &r1);
	/* 5 % of 10000 = 500; binomial sd ~22, allow 5 sd. */
	assert_in_range(10000 - r1.got, 390, 610);
}

static void
test_duplication_adds_copies(void **state)
{
	(void)state;
	struct ust_memlink_impair im = {.dup_pct = 10};
	run_link(&im, 10000, 3, &r1);
	assert_in_range(r1.got - 10000, 850, 1150);
}

static void
test_reordering_observed(void **state)
{
	(void)state;
	struct ust_memlink_impair im = {.reorder_pct = 5, .reorder_delay_ns = 100 * UST_NS_PER_US};
	run_link(&im, 2000, 4, &r1);
	assert_int_equal(r1.got, 2000);
	unsigned inversions = 0;
	for (unsigned i = 1; i < r1.got; i++)
		inversions += r1.order[i] < r1.order[i - 1];
	assert_true(inversions > 50);
}

static void
test_rate_limit_spaces_frames(void **state)
{
	(void)state;
	/* 100-byte frames + 24 bytes of wire overhead at 10 Mbit/s: 99.2 µs each,
	 * slower than the 10 µs they are offered at. */
	struct ust_memlink_impair im = {.rate_bps = 10000000, .queue_frames = 100000};
	run_link(&im, 100, 5, &r1);
	assert_int_equal(r1.got, 100);
	uint64_t per = 124 * 8 * UST_NS_PER_S / 10000000;
	assert_int_equal(r1.at[99] - r1.at[0], 99 * per);
}

static void
test_rate_limit_queue_tail_drops(void **state)
{
	(void)state;
	struct ust_memlink_impair im = {.rate_bps = 1000000, .queue_frames = 10};
	run_link(&im, 200, 6, &r1);
	assert_true(r1.got < 200);
	assert_true(r1.got >= 10);
}

static void
test_partition_drops_everything(void **state)
{
	(void)state;
	struct ust_memlink_impair im = {.partitioned = true};
	run_link(&im, 100, 7, &r1);
	assert_int_equal(r1.got, 0);
}

static void
test_jitter_bounded(void **state)
{
	(void)state;
	struct ust_memlink_impair im = {.delay_ns = UST_NS_PER_MS, .jitter_ns = 200 * UST_NS_PER_US};
	run_link(&im, 1000, 8, &r1);
	assert_int_equal(r1.got, 1000);
	for (unsigned i = 0; i < r1.got; i++) {
		uint64_t sent = r1.order[i] * 10 * UST_NS_PER_US;
		assert_in_range(r1.at[i] - sent, UST_NS_PER_MS, UST_NS_PER_MS + 200 * UST_NS_PER_US);
	}
}

static void
test_same_seed_same_trace_other_seed_differs(void **state)
{
	(void)state;
	struct ust_memlink_impair im = {.loss_pct = 10, .dup_pct = 5, .reorder_pct = 5,
					.reorder_delay_ns = 50 * UST_NS_PER_US};
	run_link(&im, 5000, 42, &r1);
	run_link(&im, 5000, 42, &r2);
	assert_int_equal(r1.got, r2.got);
	assert_memory_equal(r1.order, r2.order, r1.got * sizeof(uint32_t));
	run_link(&im, 5000, 43, &r2);
	assert_true(r1.got != r2.got || memcmp(r1.order, r2.order, r1.got * sizeof(uint32_t)) != 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_clean_link_delivers_all_in_order_after_delay),
		cmocka_unit_test(test_loss_rate_close_to_setting),
		cmocka_unit_test(test_duplication_adds_copies),
		cmocka_unit_test(test_reordering_observed),
		cmocka_unit_test(test_rate_limit_spaces_frames),
		cmocka_unit_test(test_rate_limit_queue_tail_drops),
		cmocka_unit_test(test_partition_drops_everything),
		cmocka_unit_test(test_jitter_bounded),
		cmocka_unit_test(test_same_seed_same_trace_other_seed_differs),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
