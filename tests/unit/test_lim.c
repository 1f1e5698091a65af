/* Unit tests: admission control (b2bua/lim.c): per-trunk concurrent
   limits and CPS token buckets, with an injected clock, and slots shared
   by threads. */
#include <pthread.h>

#include "b2bua/lim.h"
#include "testutil.h"

static void
test_concurrent(void)
{
	struct lim_table *t = NULL;
	struct lim_slot *s;
	int i;

	CU_ASSERT_EQUAL_FATAL(lim_alloc(&t, 8), 0);
	s = lim_slot(t, 42);
	CU_ASSERT_PTR_NOT_NULL_FATAL(s);
	CU_ASSERT_PTR_EQUAL(lim_slot(t, 42), s);
	CU_ASSERT_PTR_NOT_EQUAL(lim_slot(t, 43), s);
	CU_ASSERT_PTR_NULL(lim_slot(t, 0));
	for (i = 0; i < 3; i++)
		CU_ASSERT_EQUAL(lim_take(s, 3, 0, 0), LIM_OK);
	CU_ASSERT_EQUAL(lim_take(s, 3, 0, 0), LIM_CALLS);
	CU_ASSERT_EQUAL(lim_active(s), 3);
	lim_release(s);
	CU_ASSERT_EQUAL(lim_take_calls(s, 3), LIM_OK);
	CU_ASSERT_EQUAL(lim_take_calls(s, 3), LIM_CALLS);
	/* 0 = unlimited */
	CU_ASSERT_EQUAL(lim_take(s, 0, 0, 0), LIM_OK);
	CU_ASSERT_EQUAL(lim_active(s), 4);
	lim_free(t);
}

/* [cluster] nodes: each node's share is ceil(limit / nodes); 0 (no
   limit) and a single node keep the limit as it is. */
static void
test_share(void)
{
	struct lim_table *t = NULL;
	struct lim_slot *s;
	unsigned n, i, sum;

	CU_ASSERT_EQUAL(lim_share(10, 1), 10);
	CU_ASSERT_EQUAL(lim_share(10, 0), 10);
	CU_ASSERT_EQUAL(lim_share(10, 2), 5);
	CU_ASSERT_EQUAL(lim_share(11, 2), 6);
	CU_ASSERT_EQUAL(lim_share(10, 3), 4);
	CU_ASSERT_EQUAL(lim_share(1, 4), 1); /* never 0: that is "none" */
	CU_ASSERT_EQUAL(lim_share(0, 4), 0);
	CU_ASSERT_EQUAL(lim_share(UINT32_MAX, 2), 2147483648u);
	/* the nodes together: at least the limit, at most limit + nodes - 1 */
	for (n = 1; n <= 16; n++)
		for (i = 1; i <= 100; i++) {
			sum = n * lim_share(i, n);
			CU_ASSERT_TRUE(sum >= i && sum <= i + n - 1);
		}
	/* a slot admits exactly its share */
	CU_ASSERT_EQUAL_FATAL(lim_alloc(&t, 4), 0);
	s = lim_slot(t, 7);
	for (i = 0; i < 4; i++)
		CU_ASSERT_EQUAL(lim_take(s, lim_share(10, 3), 0, 0), LIM_OK);
	CU_ASSERT_EQUAL(lim_take(s, lim_share(10, 3), 0, 0), LIM_CALLS);
	lim_free(t);
}

static void
test_cps(void)
{
	struct lim_table *t = NULL;
	struct lim_slot *s;
	unsigned ok = 0, i;
	uint64_t now = 1000000;

	CU_ASSERT_EQUAL_FATAL(lim_alloc(&t, 8), 0);
	s = lim_slot(t, 7);
	/* a burst of max_cps, then nothing until tokens come back */
	for (i = 0; i < 20; i++)
		ok += lim_take(s, 0, 10, now) == LIM_OK;
	CU_ASSERT_EQUAL(ok, 10);
	CU_ASSERT_EQUAL(lim_take(s, 0, 10, now + 50), LIM_CPS);
	CU_ASSERT_EQUAL(lim_take(s, 0, 10, now + 100), LIM_OK);
	CU_ASSERT_EQUAL(lim_take(s, 0, 10, now + 100), LIM_CPS);
	/* over 10 s at 10 cps offered 100 per second: 100 admitted (+1) */
	for (ok = 0, i = 0; i < 1000; i++)
		ok += lim_take(s, 0, 10, now + 100 + i * 10) == LIM_OK;
	CU_ASSERT(ok >= 99 && ok <= 101);
	/* a refused call does not count against the concurrent limit */
	CU_ASSERT_EQUAL(lim_active(s), 11 + ok);
	lim_free(t);
}

struct race {
	struct lim_table *t;
	unsigned ok;
};

static void *
racer(void *arg)
{
	struct race *r = arg;
	unsigned i;

	for (i = 0; i < 10000; i++) {
		struct lim_slot *s = lim_slot(r->t, 1 + i % 5);

		if (lim_take(s, 100, 0, 0) == LIM_OK)
			r->ok++;
	}
	return NULL;
}

static void
test_threads(void)
{
	struct race r[2] = {{0}, {0}};
	pthread_t th[2];
	struct lim_table *t = NULL;
	unsigned id, total = 0;
	int i;

	CU_ASSERT_EQUAL_FATAL(lim_alloc(&t, 16), 0);
	for (i = 0; i < 2; i++) {
		r[i].t = t;
		CU_ASSERT_EQUAL_FATAL(
			pthread_create(&th[i], NULL, racer, &r[i]), 0);
	}
	for (i = 0; i < 2; i++)
		pthread_join(th[i], NULL);
	/* exactly 100 per trunk admitted across both threads */
	CU_ASSERT_EQUAL(r[0].ok + r[1].ok, 500);
	for (id = 1; id <= 5; id++)
		total += lim_active(lim_slot(t, id));
	CU_ASSERT_EQUAL(total, 500);
	lim_free(t);
}

static void
test_full_table(void)
{
	struct lim_table *t = NULL;
	int64_t id;

	CU_ASSERT_EQUAL_FATAL(lim_alloc(&t, 16), 0);
	for (id = 1; id <= 16; id++)
		CU_ASSERT_PTR_NOT_NULL(lim_slot(t, id));
	CU_ASSERT_PTR_NULL(lim_slot(t, 17));
	CU_ASSERT_EQUAL(lim_take(NULL, 1, 1, 0), LIM_OK);
	lim_free(t);
}

/* The per-trunk metrics counters: refusals by reason from lim_take*,
   calls and attempts by direction with their connected time. */
static void
test_counts(void)
{
	struct lim_table *t = NULL;
	struct lim_slot *s;
	struct lim_counts c;

	CU_ASSERT_EQUAL_FATAL(lim_alloc(&t, 8), 0);
	s = lim_slot(t, 9);
	CU_ASSERT_EQUAL(lim_take(s, 1, 0, 0), LIM_OK);
	CU_ASSERT_EQUAL(lim_take(s, 1, 0, 0), LIM_CALLS);
	CU_ASSERT_EQUAL(lim_take_calls(s, 1), LIM_CALLS);
	lim_release(s);
	CU_ASSERT_EQUAL(lim_take(s, 0, 1, 5000), LIM_OK);
	CU_ASSERT_EQUAL(lim_take(s, 0, 1, 5000), LIM_CPS);
	lim_count_call(s, LIM_IN, true, 1500);
	lim_count_call(s, LIM_IN, false, 99); /* not answered: no time */
	lim_count_call(s, LIM_OUT, true, 2500);
	lim_count_call(s, LIM_OUT, true, 500);
	lim_count_call(NULL, LIM_OUT, true, 1);
	lim_counts(s, &c);
	CU_ASSERT_EQUAL(c.refused_calls, 2);
	CU_ASSERT_EQUAL(c.refused_cps, 1);
	CU_ASSERT_EQUAL(c.attempts[LIM_IN], 2);
	CU_ASSERT_EQUAL(c.answered[LIM_IN], 1);
	CU_ASSERT_EQUAL(c.billable_ms[LIM_IN], 1500);
	CU_ASSERT_EQUAL(c.attempts[LIM_OUT], 2);
	CU_ASSERT_EQUAL(c.answered[LIM_OUT], 2);
	CU_ASSERT_EQUAL(c.billable_ms[LIM_OUT], 3000);
	lim_counts(lim_slot(t, 10), &c); /* another trunk: its own */
	CU_ASSERT_EQUAL(c.attempts[LIM_OUT] + c.refused_calls, 0);
	lim_counts(NULL, &c);
	CU_ASSERT_EQUAL(c.answered[LIM_IN], 0);
	lim_free(t);
}

void test_lim_register(void);

void
test_lim_register(void)
{
	CU_pSuite s = tu_suite("lim");

	TU_ADD(s, test_concurrent);
	TU_ADD(s, test_cps);
	TU_ADD(s, test_share);
	TU_ADD(s, test_threads);
	TU_ADD(s, test_full_table);
	TU_ADD(s, test_counts);
}
