/* Lock-free single-producer/single-consumer ring of fixed-size slots: the
   hand-over queue between two signaling workers (../shared/ARCHITECTURE.md
   "share nothing, shard by Call-ID"). */
#ifndef TANDEM_SIPW_RING_H
#define TANDEM_SIPW_RING_H

#include <stdbool.h>
#include <stddef.h>

struct sipw_ring;

/*
 * Allocate a ring of cap slots (a power of 2, >= 2) of esize bytes each
 * (rounded up to 16). Exactly one thread may produce and one consume; the
 * ring may be created on a third thread before both start. Free with
 * sipw_ring_free() when neither uses it any more. Returns 0, EINVAL or
 * ENOMEM.
 */
int sipw_ring_alloc(struct sipw_ring **ringp, size_t cap, size_t esize);
void sipw_ring_free(struct sipw_ring *ring);

size_t sipw_ring_cap(const struct sipw_ring *ring);
size_t sipw_ring_esize(const struct sipw_ring *ring);

/*
 * Producer: the next free slot to fill, or NULL when the ring is full
 * (never blocks). The slot is invisible to the consumer until
 * sipw_ring_commit(); reserving again without committing returns the same
 * slot.
 */
void *sipw_ring_reserve(struct sipw_ring *ring);
/* Producer: publish the reserved slot (release ordering: every write to
   the slot is visible to the consumer that sees it). */
void sipw_ring_commit(struct sipw_ring *ring);

/* Consumer: the oldest published slot, or NULL when empty. The slot stays
   owned by the consumer until sipw_ring_release(). */
void *sipw_ring_peek(struct sipw_ring *ring);
/* Consumer: give the slot returned by sipw_ring_peek() back. */
void sipw_ring_release(struct sipw_ring *ring);

/* Either side: slots published and not yet released (a snapshot). */
size_t sipw_ring_count(const struct sipw_ring *ring);

#endif
