/* Admission control (lim.h): an open-addressed table of per-trunk slots,
   each a mutex-guarded counter and token bucket. */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "lim.h"

struct lim_slot {
	atomic_int_fast64_t id; /* 0: free */
	pthread_mutex_t mu;
	unsigned active;
	double tokens;
	uint64_t last_ms;
	bool primed; /* the bucket was filled once */
	atomic_bool down;
	uint64_t probe_ms;
	bool probing;
	/* lim_counts(), relaxed atomics (every worker adds) */
	atomic_uint_fast64_t attempts[LIM_DIR_COUNT];
	atomic_uint_fast64_t answered[LIM_DIR_COUNT];
	atomic_uint_fast64_t billable_ms[LIM_DIR_COUNT];
	atomic_uint_fast64_t refused_calls, refused_cps;
};

#define ADD(f, v) atomic_fetch_add_explicit(&(f), (v), memory_order_relaxed)
#define GET(f) atomic_load_explicit(&(f), memory_order_relaxed)

struct lim_table {
	unsigned mask;
	struct lim_slot *slot;
};

int
lim_alloc(struct lim_table **tp, unsigned nslots)
{
	struct lim_table *t;
	unsigned n = 16, i;

	if (!tp || !nslots || nslots > (1u << 24))
		return EINVAL;
	while (n < nslots)
		n <<= 1;
	t = calloc(1, sizeof(*t));
	if (t)
		t->slot = calloc(n, sizeof(*t->slot));
	if (!t || !t->slot) {
		free(t);
		return ENOMEM;
	}
	t->mask = n - 1;
	for (i = 0; i < n; i++)
		pthread_mutex_init(&t->slot[i].mu, NULL);
	*tp = t;
	return 0;
}

void
lim_free(struct lim_table *t)
{
	unsigned i;

	if (!t)
		return;
	for (i = 0; i <= t->mask; i++)
		pthread_mutex_destroy(&t->slot[i].mu);
	free(t->slot);
	free(t);
}

struct lim_slot *
lim_slot(struct lim_table *t, int64_t id)
{
	uint64_t h = (uint64_t)id * 0x9e3779b97f4a7c15ULL;
	unsigned i, n;

	if (!t || id <= 0)
		return NULL;
	for (n = 0, i = (unsigned)(h >> 40) & t->mask; n <= t->mask;
	     n++, i = (i + 1) & t->mask) {
		struct lim_slot *s = &t->slot[i];
		int_fast64_t cur = atomic_load(&s->id);

		if (cur == id)
			return s;
		if (cur == 0) {
			int_fast64_t zero = 0;

			if (atomic_compare_exchange_strong(&s->id, &zero, id) ||
			    zero == id)
				return s;
		}
	}
	return NULL;
}

static bool
bucket_take(struct lim_slot *s, uint32_t max_cps, uint64_t now_ms)
{
	if (!max_cps)
		return true;
	if (!s->primed) {
		s->tokens = max_cps;
		s->primed = true;
	} else if (now_ms > s->last_ms) {
		s->tokens += (double)(now_ms - s->last_ms) * max_cps / 1000.0;
		if (s->tokens > max_cps)
			s->tokens = max_cps;
	}
	s->last_ms = now_ms > s->last_ms ? now_ms : s->last_ms;
	if (s->tokens < 1.0)
		return false;
	s->tokens -= 1.0;
	return true;
}

enum lim_refusal
lim_take(struct lim_slot *s, uint32_t max_calls, uint32_t max_cps,
	 uint64_t now_ms)
{
	enum lim_refusal r = LIM_OK;

	if (!s)
		return LIM_OK;
	pthread_mutex_lock(&s->mu);
	if (max_calls && s->active >= max_calls)
		r = LIM_CALLS;
	else if (!bucket_take(s, max_cps, now_ms))
		r = LIM_CPS;
	else
		s->active++;
	pthread_mutex_unlock(&s->mu);
	if (r == LIM_CALLS)
		ADD(s->refused_calls, 1);
	else if (r == LIM_CPS)
		ADD(s->refused_cps, 1);
	return r;
}

uint32_t
lim_share(uint32_t limit, unsigned nodes)
{
	if (nodes <= 1 || !limit)
		return limit;
	return (uint32_t)(((uint64_t)limit + nodes - 1) / nodes);
}

enum lim_refusal
lim_take_calls(struct lim_slot *s, uint32_t max_calls)
{
	return lim_take(s, max_calls, 0, 0);
}

void
lim_release(struct lim_slot *s)
{
	if (!s)
		return;
	pthread_mutex_lock(&s->mu);
	if (s->active)
		s->active--;
	pthread_mutex_unlock(&s->mu);
}

unsigned
lim_active(struct lim_slot *s)
{
	unsigned n;

	if (!s)
		return 0;
	pthread_mutex_lock(&s->mu);
	n = s->active;
	pthread_mutex_unlock(&s->mu);
	return n;
}

void
lim_set_down(struct lim_slot *s, bool down)
{
	if (s)
		atomic_store(&s->down, down);
}

bool
lim_is_down(struct lim_slot *s)
{
	return s && atomic_load(&s->down);
}

uint64_t *
lim_probe_ms(struct lim_slot *s)
{
	return &s->probe_ms;
}

bool *
lim_probing(struct lim_slot *s)
{
	return &s->probing;
}

void
lim_count_call(struct lim_slot *s, enum lim_dir dir, bool answered,
	       uint64_t billable_ms)
{
	if (!s || dir >= LIM_DIR_COUNT)
		return;
	ADD(s->attempts[dir], 1);
	if (!answered)
		return;
	ADD(s->answered[dir], 1);
	ADD(s->billable_ms[dir], billable_ms);
}

void
lim_counts(struct lim_slot *s, struct lim_counts *c)
{
	memset(c, 0, sizeof(*c));
	if (!s)
		return;
	for (int d = 0; d < LIM_DIR_COUNT; d++) {
		c->attempts[d] = GET(s->attempts[d]);
		c->answered[d] = GET(s->answered[d]);
		c->billable_ms[d] = GET(s->billable_ms[d]);
	}
	c->refused_calls = GET(s->refused_calls);
	c->refused_cps = GET(s->refused_cps);
}
