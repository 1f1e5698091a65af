/* Admission control (issue 7 item 5): per-trunk concurrent-call counters
   and calls-per-second token buckets shared by every signaling worker.
   Slots are keyed by the trunk's policy id, so counts survive policy
   reloads (calls in progress keep counting against their trunk). */
#ifndef TANDEM_LIM_H
#define TANDEM_LIM_H

#include <stdbool.h>
#include <stdint.h>

struct lim_table;
struct lim_slot;

/* Why lim_take() refused. */
enum lim_refusal { LIM_OK, LIM_CALLS, LIM_CPS };

/* A table of nslots (rounded up to a power of two) slots. Returns 0,
   EINVAL or ENOMEM. */
int lim_alloc(struct lim_table **tp, unsigned nslots);
void lim_free(struct lim_table *t);

/* The slot of trunk id (> 0), claimed on first use; NULL when the table
   is full (then no limit applies: say so in the log) or id <= 0. Any
   thread; lock-free. */
struct lim_slot *lim_slot(struct lim_table *t, int64_t id);

/*
 * Admit one call on slot s at now_ms: the token bucket (max_cps per
 * second, a burst of max_cps; 0 = no rate limit) first, then the
 * concurrent count (max_calls; 0 = unlimited). On LIM_OK the call counts
 * until lim_release(). Any thread (a short mutex per slot).
 */
enum lim_refusal lim_take(struct lim_slot *s, uint32_t max_calls,
			  uint32_t max_cps, uint64_t now_ms);
/* Admit against the concurrent count only (an outbound attempt). */
enum lim_refusal lim_take_calls(struct lim_slot *s, uint32_t max_calls);
void lim_release(struct lim_slot *s);
/* Trunk reachability (OPTIONS probing, b2bua/probe.c): a down trunk is
   skipped by routing until it answers again. Any thread. */
void lim_set_down(struct lim_slot *s, bool down);
bool lim_is_down(struct lim_slot *s);
/* The prober's bookkeeping (its worker only): when the trunk was last
   probed, and whether a probe is out. */
uint64_t *lim_probe_ms(struct lim_slot *s);
bool *lim_probing(struct lim_slot *s);
/* Calls counted now. */
unsigned lim_active(struct lim_slot *s);

/*
 * This node's share of a trunk limit (max_calls or max_cps) when nodes
 * tandemds share the trunk behind a dispatcher ([cluster] nodes,
 * deploy/cluster/README.md): ceil(limit / nodes), so every node admits
 * at least 1 and the nodes together admit at most limit + nodes - 1.
 * 0 (no limit) stays 0; nodes <= 1 returns limit.
 */
uint32_t lim_share(uint32_t limit, unsigned nodes);

/* Per-trunk call counters (issue 9 metrics), kept in the slot so they
   survive policy reloads like the limits do. "in": calls that arrived
   from the trunk; "out": B-leg INVITEs sent to it. Relaxed atomics:
   any thread adds, any thread reads. */
enum lim_dir { LIM_IN, LIM_OUT, LIM_DIR_COUNT };
struct lim_counts {
	uint64_t attempts[LIM_DIR_COUNT];
	uint64_t answered[LIM_DIR_COUNT];
	uint64_t billable_ms[LIM_DIR_COUNT]; /* answer to end, answered */
	uint64_t refused_calls;		     /* lim_take*: max_calls */
	uint64_t refused_cps;		     /* lim_take: max_cps */
};
/* One call (in) or attempt (out) over, answered or not, with the time
   it was connected. NULL s ignored. */
void lim_count_call(struct lim_slot *s, enum lim_dir dir, bool answered,
		    uint64_t billable_ms);
/* All zero for NULL. */
void lim_counts(struct lim_slot *s, struct lim_counts *c);

#endif
