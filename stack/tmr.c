/* Timers: a 4-ary min-heap ordered by (due, start order), injected clock. */
#define LOG_MODULE "tmr"
#include "tmr.h"

#include <errno.h>
#include <stdlib.h>
#include <time.h>

#include "mem.h"

/* A heap entry carries its timer's key, so the sifts compare within the
   array and never load the timers they pass over (with 10^5 or more live
   timers, as Timer J and K make at high transaction rates, each of those
   loads missed the cache). The heap is 4-ary: half the levels of a
   binary heap, and a node's children share one or two cache lines. */
struct tmr_ent {
	uint64_t due;
	uint64_t seq;
	struct tmr *t;
};

struct tmr_ctx {
	tmr_now_h *now_h;
	void *now_arg;	      /* borrowed: the clock's state */
	struct tmr_ent *heap; /* owned; the timers are weak */
	size_t n, cap;
	uint64_t seq; /* next start order */
};

uint64_t
tmr_clock_mono(void *arg)
{
	struct timespec ts;

	(void)arg;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static void
ctx_destroy(void *arg)
{
	struct tmr_ctx *ctx = arg;

	for (size_t i = 0; i < ctx->n; i++) {
		ctx->heap[i].t->idx = 0;
		ctx->heap[i].t->ctx = NULL;
	}
	free(ctx->heap);
}

int
tmr_ctx_alloc(struct tmr_ctx **ctxp, tmr_now_h *now_h, void *arg)
{
	struct tmr_ctx *ctx;

	if (!ctxp)
		return EINVAL;
	ctx = mem_zalloc(sizeof(*ctx), ctx_destroy);
	if (!ctx)
		return ENOMEM;
	ctx->now_h = now_h ? now_h : tmr_clock_mono;
	ctx->now_arg = arg;
	*ctxp = ctx;
	return 0;
}

uint64_t
tmr_now(const struct tmr_ctx *ctx)
{
	return ctx->now_h(ctx->now_arg);
}

size_t
tmr_count(const struct tmr_ctx *ctx)
{
	return ctx->n;
}

void
tmr_init(struct tmr *tmr)
{
	*tmr = (struct tmr){0};
}

#define ARITY 4

static inline bool
before(const struct tmr_ent *a, const struct tmr_ent *b)
{
	return a->due < b->due || (a->due == b->due && a->seq < b->seq);
}

static inline void
put(struct tmr_ctx *ctx, size_t i, const struct tmr_ent *e)
{
	ctx->heap[i] = *e;
	e->t->idx = i + 1;
}

static void
sift_up(struct tmr_ctx *ctx, size_t i)
{
	struct tmr_ent e = ctx->heap[i];

	while (i > 0) {
		size_t parent = (i - 1) / ARITY;

		if (!before(&e, &ctx->heap[parent]))
			break;
		put(ctx, i, &ctx->heap[parent]);
		i = parent;
	}
	put(ctx, i, &e);
}

static void
sift_down(struct tmr_ctx *ctx, size_t i)
{
	struct tmr_ent e = ctx->heap[i];

	for (;;) {
		size_t c = ARITY * i + 1, end = c + ARITY, best = c, j;

		if (c >= ctx->n)
			break;
		if (end > ctx->n)
			end = ctx->n;
		for (j = c + 1; j < end; j++)
			if (before(&ctx->heap[j], &ctx->heap[best]))
				best = j;
		if (!before(&ctx->heap[best], &e))
			break;
		put(ctx, i, &ctx->heap[best]);
		i = best;
	}
	put(ctx, i, &e);
}

void
tmr_cancel(struct tmr *tmr)
{
	struct tmr_ctx *ctx;
	size_t i;

	if (!tmr || !tmr->idx || !tmr->ctx)
		return;
	ctx = tmr->ctx;
	i = tmr->idx - 1;
	tmr->idx = 0;
	tmr->ctx = NULL;
	if (i == --ctx->n)
		return;
	/* The last entry fills the hole; it may need to go either way. */
	put(ctx, i, &ctx->heap[ctx->n]);
	if (i > 0 && before(&ctx->heap[i], &ctx->heap[(i - 1) / ARITY]))
		sift_up(ctx, i);
	else
		sift_down(ctx, i);
}

static int
grow(struct tmr_ctx *ctx)
{
	size_t cap = ctx->cap ? ctx->cap * 2 : 64;
	struct tmr_ent *h;

	if (ctx->n < ctx->cap)
		return 0;
	h = realloc(ctx->heap, cap * sizeof(*h));
	if (!h)
		return ENOMEM;
	ctx->heap = h;
	ctx->cap = cap;
	return 0;
}

int
tmr_start(struct tmr *tmr, struct tmr_ctx *ctx, uint64_t delay_ms, tmr_h *h,
	  void *arg)
{
	if (!tmr || !ctx || !h)
		return EINVAL;
	tmr_cancel(tmr);
	if (grow(ctx))
		return ENOMEM;
	tmr->ctx = ctx;
	tmr->h = h;
	tmr->arg = arg;
	tmr->due = tmr_now(ctx) + delay_ms;
	ctx->heap[ctx->n++] = (struct tmr_ent){tmr->due, ctx->seq++, tmr};
	sift_up(ctx, ctx->n - 1);
	return 0;
}

bool
tmr_isrunning(const struct tmr *tmr)
{
	return tmr && tmr->idx != 0;
}

uint64_t
tmr_remaining(const struct tmr *tmr)
{
	uint64_t now;

	if (!tmr_isrunning(tmr))
		return 0;
	now = tmr_now(tmr->ctx);
	return tmr->due > now ? tmr->due - now : 0;
}

int64_t
tmr_poll(struct tmr_ctx *ctx)
{
	uint64_t now = tmr_now(ctx);
	uint64_t limit = ctx->seq; /* started during this poll: next one */

	while (ctx->n > 0) {
		struct tmr *t = ctx->heap[0].t;

		if (ctx->heap[0].due > now || ctx->heap[0].seq >= limit)
			break;
		tmr_cancel(t);
		t->h(t->arg); /* may free t's owner: do not touch t after */
	}
	if (ctx->n == 0)
		return -1;
	now = tmr_now(ctx);
	return ctx->heap[0].due > now ? (int64_t)(ctx->heap[0].due - now) : 0;
}
