/* Timers: a binary min-heap per context with an injected millisecond clock.
   One context per signaling shard; driven by one libevent timer (or, in
   tests, by a fake clock and explicit tmr_poll() calls). */
#ifndef TANDEM_TMR_H
#define TANDEM_TMR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct tmr_ctx;

/* Clock: milliseconds from any fixed origin, never going backwards. */
typedef uint64_t(tmr_now_h)(void *arg);
/* A timer fired. The timer is already idle: the handler may start it
   again, start or cancel other timers, and destroy the timer's owner. */
typedef void(tmr_h)(void *arg);

/*
 * A timer, embedded in its owner (no allocation per start). Zero it (or
 * tmr_init()) before first use; fields are private. The owner must
 * tmr_cancel() it before the memory goes away.
 */
struct tmr {
	struct tmr_ctx *ctx; /* weak: set while running */
	tmr_h *h;
	void *arg;    /* borrowed: the owner */
	uint64_t due; /* absolute, in clock ms */
	size_t idx;   /* position in the heap + 1; 0 when idle (the heap
			 entry holds the start order: ties fire
			 first-started first) */
};

/*
 * Allocate a context (refcounted: mem_deref() it). now_h NULL means the
 * monotonic system clock (CLOCK_MONOTONIC). Timers still running when the
 * context is destroyed are made idle without firing. Returns 0, EINVAL or
 * ENOMEM.
 */
int tmr_ctx_alloc(struct tmr_ctx **ctxp, tmr_now_h *now_h, void *arg);
/* The context's clock now. */
uint64_t tmr_now(const struct tmr_ctx *ctx);
/* Number of running timers. */
size_t tmr_count(const struct tmr_ctx *ctx);

void tmr_init(struct tmr *tmr);
/*
 * (Re)start tmr to call h(arg) delay_ms from now; a running timer is first
 * cancelled. A timer started from a handler with delay 0 fires on the next
 * tmr_poll(), never in the poll that is running (so a handler that
 * restarts itself cannot loop). Returns 0, or ENOMEM when the heap cannot
 * grow (the timer is then idle).
 */
int tmr_start(struct tmr *tmr, struct tmr_ctx *ctx, uint64_t delay_ms, tmr_h *h,
	      void *arg);
/* Stop tmr if running; safe on an idle or zeroed timer. */
void tmr_cancel(struct tmr *tmr);
bool tmr_isrunning(const struct tmr *tmr);
/* ms until tmr fires (0 if due or idle). */
uint64_t tmr_remaining(const struct tmr *tmr);

/*
 * Fire every timer due now (in due order) that was started before this
 * call. Returns the ms until the next timer is due (0 if one is due
 * already, e.g. started with delay 0 by a handler), or -1 when none runs.
 */
int64_t tmr_poll(struct tmr_ctx *ctx);

/* Monotonic system clock in ms (the default tmr_now_h). */
uint64_t tmr_clock_mono(void *arg);

#endif
