/* Benchmark: the timer heap (stack/tmr.c) under the load transactions
   put on it. Each simulated transaction starts a retransmission timer
   (500 ms, cancelled 2 ms later as if the answer came) and a linger
   timer (Timer J/K-like, 32 s by default) that fires. C transactions
   start every simulated millisecond, so about C x 32,000 linger timers
   are live in steady state, as on a worker at C x 1,000 transactions a
   second with the default T1. The clock is injected: only the heap's own
   work is timed. Prints ns per transaction (2 starts, 1 cancel, 1 fire)
   over the second half of the run, when the heap is full.
   Usage: tmr_bench [C [linger ms]]   (default 10 and 32000). */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "stack/mem.h"
#include "stack/tmr.h"

struct txn {
	struct tmr r, j;
};

static uint64_t now_ms;
static unsigned long fired;

static uint64_t
clock_h(void *arg)
{
	(void)arg;
	return now_ms;
}

static void
r_h(void *arg)
{
	(void)arg; /* cancelled before it is due: never runs */
}

static void
j_h(void *arg)
{
	(void)arg;
	fired++;
}

static double
now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int
main(int argc, char **argv)
{
	long c = argc > 1 ? atol(argv[1]) : 10;
	long linger = argc > 2 ? atol(argv[2]) : 32000;
	long steps, ms, k, ring, n = 0, timed = 0;
	struct tmr_ctx *ctx = NULL;
	struct txn *tx;
	double t0 = 0, t1;
	size_t live = 0;

	if (c < 1 || c > 1000 || linger < 10 || linger > 120000) {
		fprintf(stderr, "usage: tmr_bench [1..1000 [10..120000]]\n");
		return 2;
	}
	steps = 2 * linger;
	ring = c * (linger + 10);
	tx = calloc((size_t)ring, sizeof(*tx));
	if (!tx || tmr_ctx_alloc(&ctx, clock_h, NULL)) {
		fprintf(stderr, "out of memory\n");
		return 1;
	}
	for (ms = 0; ms < steps; ms++) {
		if (ms == linger) { /* the heap is full: time from here */
			live = tmr_count(ctx);
			timed = n;
			fired = 0;
			t0 = now_s();
		}
		now_ms = (uint64_t)ms;
		(void)tmr_poll(ctx);
		for (k = 0; k < c; k++, n++) {
			struct txn *t = &tx[n % ring];
			/* the one started 2 ms earlier got its answer */
			struct txn *o = &tx[(n + ring - 2 * c) % ring];

			if (n >= 2 * c)
				tmr_cancel(&o->r);
			tmr_start(&t->r, ctx, 500, r_h, t);
			tmr_start(&t->j, ctx, (uint64_t)linger, j_h, t);
		}
	}
	t1 = now_s();
	printf("tmr_bench: %ld transactions/ms simulated, linger %ld ms: "
	       "%zu timers live at the start of the timed half\n",
	       c, linger, live);
	printf("  %ld transactions in %.3f s = %.1f ns per transaction "
	       "(2 starts, 1 cancel, 1 fire; %lu fired)\n",
	       n - timed, t1 - t0, (t1 - t0) * 1e9 / (double)(n - timed),
	       fired);
	mem_deref(ctx);
	free(tx);
	return 0;
}
