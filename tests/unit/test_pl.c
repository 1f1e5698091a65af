/* Unit tests: pointer-length slices (stack/pl.c). */
#include <errno.h>

#include "stack/pl.h"
#include "testutil.h"

static void
test_u32(void)
{
	uint32_t v = 0;
	struct pl p = PL("0009");

	CU_ASSERT_EQUAL(pl_u32(&p, UINT32_MAX, &v), 0);
	CU_ASSERT_EQUAL(v, 9);
	p = (struct pl)PL("4294967295");
	CU_ASSERT_EQUAL(pl_u32(&p, UINT32_MAX, &v), 0);
	CU_ASSERT_EQUAL(v, 4294967295u);
	p = (struct pl)PL("4294967296");
	CU_ASSERT_EQUAL(pl_u32(&p, UINT32_MAX, &v), ERANGE);
	p = (struct pl)PL("256");
	CU_ASSERT_EQUAL(pl_u32(&p, 255, &v), ERANGE);
	p = (struct pl)PL("");
	CU_ASSERT_EQUAL(pl_u32(&p, 255, &v), EINVAL);
	p = (struct pl)PL("-1");
	CU_ASSERT_EQUAL(pl_u32(&p, 255, &v), EINVAL);
}

static void
test_cmp_trim(void)
{
	struct pl a = PL("  Hello\r\n\t"), b = PL("HELLO");
	char buf[4];

	pl_trim(&a);
	CU_ASSERT(pl_eq_str(&a, "Hello"));
	CU_ASSERT(!pl_eq(&a, &b));
	CU_ASSERT(pl_caseeq(&a, &b));
	CU_ASSERT(pl_caseeq_str(&b, "hello"));
	CU_ASSERT(!pl_caseeq_str(&b, "hell"));
	CU_ASSERT_STRING_EQUAL(pl_strcpy(&a, buf, sizeof(buf)), "Hel");
}

void test_pl_register(void);
void
test_pl_register(void)
{
	CU_pSuite s = tu_suite("pl");

	TU_ADD(s, test_u32);
	TU_ADD(s, test_cmp_trim);
}
