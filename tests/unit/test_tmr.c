/* Unit tests: timer heap with an injected clock (stack/tmr.c). */
#include <stdint.h>
#include <stdlib.h>

#include "stack/mem.h"
#include "stack/tmr.h"
#include "testutil.h"

static uint64_t fake_now;

static uint64_t
fake_clock(void *arg)
{
	(void)arg;
	return fake_now;
}

struct rec {
	int order[2048];
	int n;
};

struct item {
	struct rec *rec; /* borrowed */
	struct tmr t;
	struct tmr *other; /* borrowed: to cancel/restart */
	struct tmr_ctx *ctx;
	int id;
	int restarts;
	bool free_self;
};

static void
item_h(void *arg)
{
	struct item *it = arg;

	it->rec->order[it->rec->n++] = it->id;
	if (it->other)
		tmr_cancel(it->other);
	if (it->restarts > 0) {
		it->restarts--;
		tmr_start(&it->t, it->ctx, 0, item_h, it);
	}
	if (it->free_self)
		free(it);
}

static struct tmr_ctx *
ctx_new(void)
{
	struct tmr_ctx *ctx = NULL;

	fake_now = 1000;
	CU_ASSERT_EQUAL_FATAL(tmr_ctx_alloc(&ctx, fake_clock, NULL), 0);
	return ctx;
}

static void
test_order(void)
{
	struct tmr_ctx *ctx = ctx_new();
	struct rec rec = {0};
	struct item a = {&rec, {0}, NULL, ctx, 1, 0, false};
	struct item b = {&rec, {0}, NULL, ctx, 2, 0, false};
	struct item c = {&rec, {0}, NULL, ctx, 3, 0, false};

	CU_ASSERT_EQUAL(tmr_poll(ctx), -1);
	tmr_start(&a.t, ctx, 300, item_h, &a);
	tmr_start(&b.t, ctx, 100, item_h, &b);
	tmr_start(&c.t, ctx, 100, item_h, &c); /* tie: b first */
	CU_ASSERT_EQUAL(tmr_count(ctx), 3);
	CU_ASSERT_EQUAL(tmr_poll(ctx), 100);
	CU_ASSERT_EQUAL(tmr_remaining(&a.t), 300);
	fake_now += 99;
	CU_ASSERT_EQUAL(tmr_poll(ctx), 1);
	CU_ASSERT_EQUAL(rec.n, 0);
	fake_now += 1;
	CU_ASSERT_EQUAL(tmr_poll(ctx), 200);
	CU_ASSERT_EQUAL(rec.n, 2);
	CU_ASSERT_EQUAL(rec.order[0], 2);
	CU_ASSERT_EQUAL(rec.order[1], 3);
	CU_ASSERT_FALSE(tmr_isrunning(&b.t));
	fake_now += 500;
	CU_ASSERT_EQUAL(tmr_poll(ctx), -1);
	CU_ASSERT_EQUAL(rec.order[2], 1);
	CU_ASSERT_EQUAL(tmr_count(ctx), 0);
	mem_deref(ctx);
}

static void
test_cancel_restart(void)
{
	struct tmr_ctx *ctx = ctx_new();
	struct rec rec = {0};
	struct item a = {&rec, {0}, NULL, ctx, 1, 0, false};
	struct item b = {&rec, {0}, NULL, ctx, 2, 0, false};

	tmr_cancel(&a.t); /* idle: no-op */
	tmr_start(&a.t, ctx, 100, item_h, &a);
	tmr_start(&b.t, ctx, 200, item_h, &b);
	tmr_cancel(&a.t);
	CU_ASSERT_FALSE(tmr_isrunning(&a.t));
	CU_ASSERT_EQUAL(tmr_count(ctx), 1);
	tmr_start(&b.t, ctx, 50, item_h, &b); /* restart moves it */
	CU_ASSERT_EQUAL(tmr_count(ctx), 1);
	CU_ASSERT_EQUAL(tmr_poll(ctx), 50);
	fake_now += 50;
	CU_ASSERT_EQUAL(tmr_poll(ctx), -1);
	CU_ASSERT_EQUAL(rec.n, 1);
	mem_deref(ctx);
}

/* Handlers restart themselves with 0 (next poll only), cancel others,
   free their owner. */
static void
test_handlers(void)
{
	struct tmr_ctx *ctx = ctx_new();
	struct rec rec = {0};
	struct item a = {&rec, {0}, NULL, ctx, 1, 2, false};
	struct item b = {&rec, {0}, NULL, ctx, 2, 0, false};
	struct item *c = calloc(1, sizeof(*c));

	CU_ASSERT_PTR_NOT_NULL_FATAL(c);
	*c = (struct item){&rec, {0}, NULL, ctx, 3, 0, true};
	a.other = &b.t;
	tmr_start(&a.t, ctx, 10, item_h, &a);
	tmr_start(&b.t, ctx, 10, item_h, &b);
	tmr_start(&c->t, ctx, 5, item_h, c);
	fake_now += 10;
	CU_ASSERT_EQUAL(tmr_poll(ctx), 0); /* a restarted with 0 */
	CU_ASSERT_EQUAL(rec.n, 2);	   /* c, a; b cancelled by a */
	CU_ASSERT_EQUAL(rec.order[0], 3);
	CU_ASSERT_EQUAL(rec.order[1], 1);
	CU_ASSERT_EQUAL(tmr_poll(ctx), 0);
	CU_ASSERT_EQUAL(tmr_poll(ctx), -1);
	CU_ASSERT_EQUAL(rec.n, 4);
	mem_deref(ctx);
}

static void
test_many(void)
{
	struct tmr_ctx *ctx = ctx_new();
	static struct item it[1000];
	struct rec *rec = calloc(1, sizeof(*rec));
	uint64_t last = 0;

	CU_ASSERT_PTR_NOT_NULL_FATAL(rec);
	srand(7);
	for (int i = 0; i < 1000; i++) {
		it[i] = (struct item){rec, {0}, NULL, ctx, i, 0, false};
		tmr_start(&it[i].t, ctx, (uint64_t)(rand() % 5000), item_h,
			  &it[i]);
	}
	for (int i = 0; i < 1000; i += 3) /* cancel a third */
		tmr_cancel(&it[i].t);
	CU_ASSERT_EQUAL(tmr_count(ctx), 666);
	fake_now += 5000;
	tmr_poll(ctx);
	CU_ASSERT_EQUAL(rec->n, 666);
	for (int i = 0; i < rec->n; i++) {
		uint64_t due = it[rec->order[i]].t.due;

		CU_ASSERT(due >= last);
		CU_ASSERT(rec->order[i] % 3 != 0);
		last = due;
	}
	free(rec);
	mem_deref(ctx);
}

/* Random starts, restarts, cancels and polls on 3,000 timers, against a
   model that keeps (due, start order) per running timer: each poll must
   fire exactly the due ones, earliest first and ties in start order, and
   the count must match after every step. Delays are drawn from a small
   range so that many timers share a due time. */
struct model {
	uint64_t due, seq;
	bool on;
};

static int
model_cmp(const void *a, const void *b)
{
	const struct model *x = *(const struct model *const *)a,
			   *y = *(const struct model *const *)b;

	if (x->due != y->due)
		return x->due < y->due ? -1 : 1;
	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

static void
test_random_model(void)
{
	enum { N = 3000 };
	struct tmr_ctx *ctx = ctx_new();
	static struct item it[N];
	static struct model m[N];
	static const struct model *due[N];
	struct rec *rec = calloc(1, sizeof(*rec));
	uint64_t seq = 0;
	size_t running = 0, mismatches = 0;
	unsigned x = 12345;

	CU_ASSERT_PTR_NOT_NULL_FATAL(rec);
	for (int i = 0; i < N; i++) {
		it[i] = (struct item){rec, {0}, NULL, ctx, i, 0, false};
		m[i] = (struct model){0, 0, false};
	}
	for (int step = 0; step < 200000; step++) {
		int i, op, nd = 0;

		x = x * 1103515245u + 12345u;
		i = (int)((x >> 8) % N);
		op = (int)((x >> 24) % 16);
		if (op < 9) { /* start or restart */
			uint64_t d = (x >> 4) % 40;

			tmr_start(&it[i].t, ctx, d, item_h, &it[i]);
			running += !m[i].on;
			m[i] = (struct model){fake_now + d, seq++, true};
		} else if (op < 14) {
			tmr_cancel(&it[i].t);
			running -= m[i].on;
			m[i].on = false;
		} else { /* time passes; what is due fires */
			fake_now += (x >> 4) % 7;
			for (int k = 0; k < N; k++)
				if (m[k].on && m[k].due <= fake_now)
					due[nd++] = &m[k];
			CU_ASSERT_FATAL(nd <= 2048); /* rec->order */
			qsort(due, (size_t)nd, sizeof(*due), model_cmp);
			rec->n = 0;
			tmr_poll(ctx);
			CU_ASSERT_EQUAL(rec->n, nd);
			for (int k = 0; k < nd && k < rec->n; k++) {
				mismatches += rec->order[k] != due[k] - m;
				m[due[k] - m].on = false;
			}
			running -= (size_t)nd;
		}
		CU_ASSERT_EQUAL(tmr_count(ctx), running);
		CU_ASSERT_EQUAL(tmr_isrunning(&it[i].t), m[i].on);
	}
	CU_ASSERT_EQUAL(mismatches, 0);
	free(rec);
	mem_deref(ctx);
}

static void
test_ctx_destroy(void)
{
	struct tmr_ctx *ctx = ctx_new();
	struct rec rec = {0};
	struct item a = {&rec, {0}, NULL, ctx, 1, 0, false};

	tmr_start(&a.t, ctx, 10, item_h, &a);
	mem_deref(ctx);
	CU_ASSERT_FALSE(tmr_isrunning(&a.t));
	tmr_cancel(&a.t); /* safe after the context went */
	CU_ASSERT(tmr_clock_mono(NULL) > 0);
}

void test_tmr_register(void);
void
test_tmr_register(void)
{
	CU_pSuite s = tu_suite("tmr");

	TU_ADD(s, test_order);
	TU_ADD(s, test_cancel_restart);
	TU_ADD(s, test_handlers);
	TU_ADD(s, test_many);
	TU_ADD(s, test_random_model);
	TU_ADD(s, test_ctx_destroy);
}
