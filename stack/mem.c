/* Reference-counted memory (see mem.h). */
#include "mem.h"

#include <stdalign.h>
#include <stdlib.h>

/* Header in front of every object; keeps the object max-aligned. */
struct mem_hdr {
	alignas(max_align_t) uint32_t nrefs;
	mem_destroy_h *dh;
};

static struct mem_hdr *
hdr_of(const void *obj)
{
	return (struct mem_hdr *)((char *)(uintptr_t)obj -
				  sizeof(struct mem_hdr));
}

void *
mem_zalloc(size_t size, mem_destroy_h *dh)
{
	struct mem_hdr *h;

	if (size > SIZE_MAX - sizeof(*h))
		return NULL;
	h = calloc(1, sizeof(*h) + size);
	if (!h)
		return NULL;
	h->nrefs = 1;
	h->dh = dh;
	return h + 1;
}

void *
mem_ref(void *obj)
{
	if (obj)
		hdr_of(obj)->nrefs++;
	return obj;
}

void *
mem_deref(void *obj)
{
	struct mem_hdr *h;

	if (!obj)
		return NULL;
	h = hdr_of(obj);
	if (--h->nrefs > 0)
		return NULL;
	if (h->dh)
		h->dh(obj);
	free(h);
	return NULL;
}

uint32_t
mem_nrefs(const void *obj)
{
	return obj ? hdr_of(obj)->nrefs : 0;
}
