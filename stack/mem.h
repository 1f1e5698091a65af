/* Reference-counted memory: one destructor per object (../shared/STYLE.md,
   after libre's mem_zalloc/mem_ref/mem_deref). */
#ifndef TANDEM_MEM_H
#define TANDEM_MEM_H

#include <stddef.h>
#include <stdint.h>

/* Called once, when the last reference goes; must release what the object
   owns (children, timers, hash links) but not the object itself. */
typedef void(mem_destroy_h)(void *obj);

/*
 * Allocate size zeroed bytes with one reference. dh may be NULL. Returns
 * NULL when out of memory. Objects are not thread-safe: an object belongs
 * to one shard (../shared/ARCHITECTURE.md) and is only touched there.
 */
void *mem_zalloc(size_t size, mem_destroy_h *dh);
/* Take a reference; returns obj (NULL stays NULL). */
void *mem_ref(void *obj);
/* Drop a reference, destroying the object at zero; always returns NULL so
   callers write p = mem_deref(p). NULL is accepted. */
void *mem_deref(void *obj);
/* Current reference count (0 for NULL). */
uint32_t mem_nrefs(const void *obj);

#endif
