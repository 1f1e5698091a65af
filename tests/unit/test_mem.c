/* Unit tests: reference-counted memory (stack/mem.c). */
#include <stddef.h>
#include <stdint.h>

#include "stack/mem.h"
#include "testutil.h"

struct obj {
	int *destroyed;	   /* borrowed: counter owned by the test */
	struct obj *child; /* owned */
};

static void
obj_destroy(void *arg)
{
	struct obj *o = arg;

	(*o->destroyed)++;
	o->child = mem_deref(o->child);
}

static void
test_refs(void)
{
	int destroyed = 0;
	struct obj *o = mem_zalloc(sizeof(*o), obj_destroy);

	CU_ASSERT_PTR_NOT_NULL_FATAL(o);
	CU_ASSERT_PTR_NULL(o->child); /* zeroed */
	o->destroyed = &destroyed;
	CU_ASSERT_EQUAL(mem_nrefs(o), 1);
	CU_ASSERT_PTR_EQUAL(mem_ref(o), o);
	CU_ASSERT_EQUAL(mem_nrefs(o), 2);
	CU_ASSERT_PTR_NULL(mem_deref(o));
	CU_ASSERT_EQUAL(destroyed, 0);
	mem_deref(o);
	CU_ASSERT_EQUAL(destroyed, 1);
	CU_ASSERT_PTR_NULL(mem_deref(NULL));
	CU_ASSERT_PTR_NULL(mem_ref(NULL));
	CU_ASSERT_EQUAL(mem_nrefs(NULL), 0);
}

static void
test_children(void)
{
	int destroyed = 0;
	struct obj *parent = mem_zalloc(sizeof(*parent), obj_destroy);
	struct obj *child = mem_zalloc(sizeof(*child), obj_destroy);

	CU_ASSERT_PTR_NOT_NULL_FATAL(parent);
	CU_ASSERT_PTR_NOT_NULL_FATAL(child);
	parent->destroyed = child->destroyed = &destroyed;
	parent->child = child; /* the parent owns the child */
	mem_deref(parent);
	CU_ASSERT_EQUAL(destroyed, 2);
}

static void
test_alignment(void)
{
	void *p = mem_zalloc(1, NULL);

	CU_ASSERT_PTR_NOT_NULL_FATAL(p);
	CU_ASSERT_EQUAL((uintptr_t)p % _Alignof(max_align_t), 0);
	mem_deref(p);
	CU_ASSERT_PTR_NULL(mem_zalloc(SIZE_MAX, NULL));
}

void test_mem_register(void);
void
test_mem_register(void)
{
	CU_pSuite s = tu_suite("mem");

	TU_ADD(s, test_refs);
	TU_ADD(s, test_children);
	TU_ADD(s, test_alignment);
}
