/* Snapshot lifetime (C11 atomic reference count) and publication (the
   store: a pointer behind a mutex held only for a reference increment). */
#include "db/pol_build_int.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

/* Live snapshots in the process: a diagnostic for leak checks. */
static atomic_long snap_live;

void
pol_snap_count(long delta)
{
	atomic_fetch_add(&snap_live, delta);
}

long
pol_snap_live(void)
{
	return atomic_load(&snap_live);
}

void
pol_snap_destroy(struct pol_snap *s)
{
	size_t i;
	int f;

	if (!s)
		return;
	for (i = 0; i < s->ntrunks; i++)
		pol_trunk_strs_free(&s->trunks[i]);
	free(s->trunks);
	free(s->tx);
	free(s->tgroup);
	free(s->tid);
	for (i = 0; i < s->nstrs; i++)
		free(s->strs[i]);
	free(s->strs);
	free(s->groups);
	free(s->rts);
	free(s->tgts);
	free(s->wins);
	free(s->fo);
	for (i = 0; i < s->ntzs; i++)
		pol_tz_free(&s->tzs[i]);
	free(s->tzs);
	for (i = 0; i < s->nrws; i++) {
		if (!s->rws[i].shared)
			pcre2_code_free(s->rws[i].re);
		pol_rw_release(&s->rws[i]);
		free(s->rws[i].repl);
	}
	free(s->rws);
	free(s->chain);
	free(s->lents);
	pol_trie_free(&s->routes);
	for (f = 0; f < POL_F_COUNT; f++)
		pol_trie_free(&s->lists[f]);
	pol_cidx_free(&s->cidx);
	free(s);
	pol_snap_count(-1);
}

struct pol_snap *
pol_snap_ref(struct pol_snap *s)
{
	if (s)
		atomic_fetch_add_explicit(&s->refs, 1, memory_order_relaxed);
	return s;
}

struct pol_snap *
pol_snap_deref(struct pol_snap *s)
{
	/* acq_rel: the last owner sees every other owner's reads done. */
	if (s &&
	    atomic_fetch_sub_explicit(&s->refs, 1, memory_order_acq_rel) == 1)
		pol_snap_destroy(s);
	return NULL;
}

int64_t
pol_snap_version(const struct pol_snap *s)
{
	return s->version;
}

void
pol_snap_loaded(const struct pol_snap *s, int64_t *at_ms, uint64_t *took_us)
{
	if (at_ms)
		*at_ms = s ? s->loaded_ms : 0;
	if (took_us)
		*took_us = s ? s->load_us : 0;
}

void
pol_snap_set_load_us(struct pol_snap *s, uint64_t took_us)
{
	if (s)
		s->load_us = took_us;
}

size_t
pol_snap_memory(const struct pol_snap *s)
{
	return s->mem;
}

const struct pol_trunk *
pol_trunk_by_id(const struct pol_snap *s, int64_t id)
{
	uint32_t i = pol_trunk_idx(s, id);

	return i == POL_NONE ? NULL : &s->trunks[i];
}

const struct pol_trunk *
pol_trunk_by_src(const struct pol_snap *s, const struct sockaddr *src)
{
	uint32_t i = s && src ? pol_cidx_find(&s->cidx, src) : POL_NONE;

	return i == POL_NONE ? NULL : &s->trunks[i];
}

size_t
pol_snap_ntrunks(const struct pol_snap *s)
{
	return s ? s->ntrunks : 0;
}

const struct pol_trunk *
pol_snap_trunk(const struct pol_snap *s, size_t i)
{
	return s && i < s->ntrunks ? &s->trunks[i] : NULL;
}

const struct pol_trunk *
pol_trunk_by_name(const struct pol_snap *s, const char *name)
{
	size_t i;

	for (i = 0; i < s->ntrunks; i++) {
		if (strcmp(s->trunks[i].name, name) == 0)
			return &s->trunks[i];
	}
	return NULL;
}

struct pol_store {
	pthread_mutex_t lock;
	struct pol_snap *cur; /* ref; guarded by lock */
};

int
pol_store_alloc(struct pol_store **stp)
{
	struct pol_store *st;

	if (!stp)
		return EINVAL;
	st = calloc(1, sizeof(*st));
	if (!st)
		return ENOMEM;
	pthread_mutex_init(&st->lock, NULL);
	*stp = st;
	return 0;
}

void
pol_store_free(struct pol_store *st)
{
	if (!st)
		return;
	pol_snap_deref(st->cur);
	pthread_mutex_destroy(&st->lock);
	free(st);
}

/* The reference is taken under the lock: set() cannot drop the store's
   reference (possibly the last) between our load and our increment. */
struct pol_snap *
pol_store_get(struct pol_store *st)
{
	struct pol_snap *s;

	pthread_mutex_lock(&st->lock);
	s = pol_snap_ref(st->cur);
	pthread_mutex_unlock(&st->lock);
	return s;
}

void
pol_store_set(struct pol_store *st, struct pol_snap *s)
{
	struct pol_snap *old;

	pol_snap_ref(s);
	pthread_mutex_lock(&st->lock);
	old = st->cur;
	st->cur = s;
	pthread_mutex_unlock(&st->lock);
	pol_snap_deref(old); /* outside the lock: may free a big snapshot */
}
