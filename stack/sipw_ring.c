/* Lock-free SPSC ring (see sipw_ring.h). Classic Lamport queue with
   free-running indexes and a cached copy of the other side's index, each
   side's fields on its own cache line so the two threads do not share
   lines on the fast path. */
#include "sipw_ring.h"

#include <errno.h>
#include <stdalign.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define RING_LINE 64

struct sipw_ring {
	/* producer's line */
	alignas(RING_LINE) _Atomic size_t tail; /* next slot to publish */
	size_t head_cache;			/* producer's view of head */
	/* consumer's line */
	alignas(RING_LINE) _Atomic size_t head; /* next slot to consume */
	size_t tail_cache;			/* consumer's view of tail */
	/* read-only after alloc */
	alignas(RING_LINE) size_t mask;
	size_t esize;
	char *slots; /* owned: (mask + 1) * esize bytes */
};

int
sipw_ring_alloc(struct sipw_ring **ringp, size_t cap, size_t esize)
{
	struct sipw_ring *r;

	if (!ringp || cap < 2 || (cap & (cap - 1)) || !esize ||
	    esize > SIZE_MAX / 2 / cap)
		return EINVAL;
	r = aligned_alloc(RING_LINE, sizeof(*r));
	if (!r)
		return ENOMEM;
	memset(r, 0, sizeof(*r));
	r->esize = (esize + 15) & ~(size_t)15;
	r->mask = cap - 1;
	r->slots = aligned_alloc(RING_LINE, (cap * r->esize + RING_LINE - 1) &
						    ~(size_t)(RING_LINE - 1));
	if (!r->slots) {
		free(r);
		return ENOMEM;
	}
	atomic_init(&r->head, 0);
	atomic_init(&r->tail, 0);
	*ringp = r;
	return 0;
}

void
sipw_ring_free(struct sipw_ring *ring)
{
	if (!ring)
		return;
	free(ring->slots);
	free(ring);
}

size_t
sipw_ring_cap(const struct sipw_ring *ring)
{
	return ring->mask + 1;
}

size_t
sipw_ring_esize(const struct sipw_ring *ring)
{
	return ring->esize;
}

void *
sipw_ring_reserve(struct sipw_ring *ring)
{
	size_t t = atomic_load_explicit(&ring->tail, memory_order_relaxed);

	if (t - ring->head_cache > ring->mask) {
		ring->head_cache =
			atomic_load_explicit(&ring->head, memory_order_acquire);
		if (t - ring->head_cache > ring->mask)
			return NULL;
	}
	return ring->slots + (t & ring->mask) * ring->esize;
}

void
sipw_ring_commit(struct sipw_ring *ring)
{
	size_t t = atomic_load_explicit(&ring->tail, memory_order_relaxed);

	atomic_store_explicit(&ring->tail, t + 1, memory_order_release);
}

void *
sipw_ring_peek(struct sipw_ring *ring)
{
	size_t h = atomic_load_explicit(&ring->head, memory_order_relaxed);

	if (h == ring->tail_cache) {
		ring->tail_cache =
			atomic_load_explicit(&ring->tail, memory_order_acquire);
		if (h == ring->tail_cache)
			return NULL;
	}
	return ring->slots + (h & ring->mask) * ring->esize;
}

void
sipw_ring_release(struct sipw_ring *ring)
{
	size_t h = atomic_load_explicit(&ring->head, memory_order_relaxed);

	atomic_store_explicit(&ring->head, h + 1, memory_order_release);
}

size_t
sipw_ring_count(const struct sipw_ring *ring)
{
	size_t h = atomic_load_explicit(&ring->head, memory_order_acquire);
	size_t t = atomic_load_explicit(&ring->tail, memory_order_acquire);

	return t - h;
}
