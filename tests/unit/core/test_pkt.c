/* Packet buffers: pool accounting, headroom, chains, refcounts, counter names. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <errno.h>
#include <string.h>

#include <cmocka.h>

#include "stack/pkt.h"
#include "stack/stats.h"

static void
test_pool_alloc_free_accounting(void **state)
{
	(void)state;
	struct ust_pkt_pool *pool = ust_pkt_pool_create(4, UST_PKT_BUF_SIZE);
	struct ust_pkt *p[4];
	for (int i = 0; i < 4; i++)
		assert_non_null(p[i] = ust_pkt_pool_alloc(pool));
	assert_null(ust_pkt_pool_alloc(pool));
	assert_int_equal(ust_pkt_pool_in_use(pool), 4);
	assert_int_equal(ust_pkt_headroom(p[0]), UST_PKT_HEADROOM);
	ust_pkt_free_bulk(p, 4);
	assert_int_equal(ust_pkt_pool_in_use(pool), 0);
	ust_pkt_pool_destroy(pool);
}

static void
test_pkt_prepend_adj_append_bounds(void **state)
{
	(void)state;
	struct ust_pkt_pool *pool = ust_pkt_pool_create(1, 256);
	struct ust_pkt *p = ust_pkt_pool_alloc(pool);
	assert_non_null(ust_pkt_append(p, 100));
	assert_null(ust_pkt_append(p, 256 - UST_PKT_HEADROOM - 100 + 1));
	assert_non_null(ust_pkt_prepend(p, UST_PKT_HEADROOM));
	assert_null(ust_pkt_prepend(p, 1));
	assert_int_equal(p->len, 100 + UST_PKT_HEADROOM);
	assert_int_equal(p->pkt_len, p->len);
	assert_null(ust_pkt_adj(p, p->len + 1));
	assert_non_null(ust_pkt_adj(p, 28));
	ust_pkt_trim(p, 10);
	assert_int_equal(p->len, 10);
	assert_int_equal(p->pkt_len, 10);
	ust_pkt_free(p);
	assert_int_equal(ust_pkt_pool_in_use(pool), 0);
	ust_pkt_pool_destroy(pool);
}

static struct ust_pkt *
chain3(struct ust_pkt_pool *pool)
{
	struct ust_pkt *seg[3];
	for (int i = 0; i < 3; i++) {
		seg[i] = ust_pkt_pool_alloc(pool);
		memset(ust_pkt_append(seg[i], 100), 'a' + i, 100);
		if (i > 0)
			seg[i - 1]->next = seg[i];
	}
	seg[0]->pkt_len = 300;
	seg[0]->nb_segs = 3;
	return seg[0];
}

static void
test_pkt_chain_read_linearize_free(void **state)
{
	(void)state;
	struct ust_pkt_pool *pool = ust_pkt_pool_create(8, UST_PKT_BUF_SIZE);
	struct ust_pkt *p = chain3(pool);
	uint8_t buf[300];
	assert_int_equal(ust_pkt_read(p, 150, buf, 100), 100);
	assert_int_equal(buf[0], 'b');
	assert_int_equal(buf[49], 'b');
	assert_int_equal(buf[50], 'c');
	assert_int_equal(ust_pkt_pool_in_use(pool), 3);
	assert_int_equal(ust_pkt_linearize(p), 0);
	assert_int_equal(ust_pkt_pool_in_use(pool), 1);
	assert_int_equal(p->len, 300);
	assert_int_equal(ust_pkt_data(p)[299], 'c');
	ust_pkt_free(p);
	/* A chain freed whole gives every segment back. */
	p = chain3(pool);
	ust_pkt_free(p);
	assert_int_equal(ust_pkt_pool_in_use(pool), 0);
	ust_pkt_pool_destroy(pool);
}

static void
test_pkt_linearize_too_long_fails_cleanly(void **state)
{
	(void)state;
	struct ust_pkt_pool *pool = ust_pkt_pool_create(8, 300);
	struct ust_pkt *p = chain3(pool);
	assert_int_equal(ust_pkt_linearize(p), -ENOSPC);
	assert_int_equal(ust_pkt_pool_in_use(pool), 3);
	ust_pkt_free(p);
	assert_int_equal(ust_pkt_pool_in_use(pool), 0);
	ust_pkt_pool_destroy(pool);
}

static void
test_pkt_refcount_keeps_buffer_until_last_owner(void **state)
{
	(void)state;
	struct ust_pkt_pool *pool = ust_pkt_pool_create(2, UST_PKT_BUF_SIZE);
	struct ust_pkt *p = ust_pkt_pool_alloc(pool);
	ust_pkt_ref(p);
	ust_pkt_free(p);
	assert_int_equal(ust_pkt_pool_in_use(pool), 1);
	ust_pkt_free(p);
	assert_int_equal(ust_pkt_pool_in_use(pool), 0);
	ust_pkt_pool_destroy(pool);
}

static void
test_pkt_copy_is_independent(void **state)
{
	(void)state;
	struct ust_pkt_pool *pool = ust_pkt_pool_create(8, UST_PKT_BUF_SIZE);
	struct ust_pkt *p = chain3(pool);
	struct ust_pkt *c = ust_pkt_copy(pool, p);
	assert_non_null(c);
	assert_int_equal(c->len, 300);
	assert_null(c->next);
	ust_pkt_data(c)[0] = 'z';
	assert_int_equal(ust_pkt_data(p)[0], 'a');
	ust_pkt_free(p);
	ust_pkt_free(c);
	assert_int_equal(ust_pkt_pool_in_use(pool), 0);
	ust_pkt_pool_destroy(pool);
}

static void
test_counter_names_cover_every_counter(void **state)
{
	(void)state;
	for (int i = 0; i < UST_DROP_MAX; i++) {
		assert_non_null(ust_drop_name(i));
		assert_string_not_equal(ust_drop_name(i), "?");
	}
	for (int i = 0; i < UST_STAT_MAX; i++)
		assert_string_not_equal(ust_stat_name(i), "?");
	assert_string_equal(ust_drop_id(UST_DROP_IP_CSUM), "IP_CSUM");
	assert_string_equal(ust_drop_name(UST_DROP_MAX), "?");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_pool_alloc_free_accounting),
		cmocka_unit_test(test_pkt_prepend_adj_append_bounds),
		cmocka_unit_test(test_pkt_chain_read_linearize_free),
		cmocka_unit_test(test_pkt_linearize_too_long_fails_cleanly),
		cmocka_unit_test(test_pkt_refcount_keeps_buffer_until_last_owner),
		cmocka_unit_test(test_pkt_copy_is_independent),
		cmocka_unit_test(test_counter_names_cover_every_counter),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
