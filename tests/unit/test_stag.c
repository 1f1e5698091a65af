/* Stateless To tags (stack/stag.c): SipHash-2-4 reference vectors and the
   §8.2.7 property (the same request, the same tag). */
#include <string.h>

#include "stack/stag.h"
#include "testutil.h"

/* The SipHash paper's test key 00 01 .. 0f and messages 00 01 .. (n-1). */
static void
test_vectors(void)
{
	struct stag_key k = {0x0706050403020100ULL, 0x0f0e0d0c0b0a0908ULL};
	unsigned char m[64];
	unsigned i;

	for (i = 0; i < sizeof(m); i++)
		m[i] = (unsigned char)i;
	CU_ASSERT_EQUAL(stag_siphash(&k, m, 0), 0x726fdb47dd0e0e31ULL);
	CU_ASSERT_EQUAL(stag_siphash(&k, m, 1), 0x74f839c593dc67fdULL);
	CU_ASSERT_EQUAL(stag_siphash(&k, m, 7), 0xab0200f58b01d137ULL);
	CU_ASSERT_EQUAL(stag_siphash(&k, m, 8), 0x93f5f5799a932462ULL);
	CU_ASSERT_EQUAL(stag_siphash(&k, m, 15), 0xa129ca6149be45e5ULL);
	CU_ASSERT_EQUAL(stag_siphash(&k, m, 63), 0x958a324ceb064572ULL);
}

static void
parts3(struct pl *p, const char *a, const char *b, const char *c)
{
	pl_set(&p[0], a, strlen(a));
	pl_set(&p[1], b, strlen(b));
	pl_set(&p[2], c, strlen(c));
}

static void
test_tags(void)
{
	struct stag_key k1, k2;
	struct pl p[3];
	char t1[STAG_LEN + 1], t2[STAG_LEN + 1], t3[STAG_LEN + 1];
	size_t i;

	CU_ASSERT_EQUAL_FATAL(stag_key_init(&k1), 0);
	CU_ASSERT_EQUAL_FATAL(stag_key_init(&k2), 0);
	CU_ASSERT(k1.k0 != k2.k0 || k1.k1 != k2.k1);
	parts3(p, "SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bK1", "cid@x",
	       "1 INVITE");
	stag_make(&k1, p, 3, t1);
	CU_ASSERT_EQUAL(strlen(t1), STAG_LEN);
	for (i = 0; i < STAG_LEN; i++) /* a token (§25.1) */
		CU_ASSERT(strchr("0123456789abcdef", t1[i]) != NULL);
	/* a retransmission: the same tag (§8.2.7) */
	stag_make(&k1, p, 3, t2);
	CU_ASSERT_STRING_EQUAL(t1, t2);
	/* another branch, another key: other tags */
	parts3(p, "SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bK2", "cid@x",
	       "1 INVITE");
	stag_make(&k1, p, 3, t2);
	CU_ASSERT_STRING_NOT_EQUAL(t1, t2);
	parts3(p, "SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bK1", "cid@x",
	       "1 INVITE");
	stag_make(&k2, p, 3, t3);
	CU_ASSERT_STRING_NOT_EQUAL(t1, t3);
	/* parts are length-prefixed: moving a byte between them matters */
	parts3(p, "ab", "c", "");
	stag_make(&k1, p, 3, t2);
	parts3(p, "a", "bc", "");
	stag_make(&k1, p, 3, t3);
	CU_ASSERT_STRING_NOT_EQUAL(t2, t3);
}

void test_stag_register(void);

void
test_stag_register(void)
{
	CU_pSuite s = tu_suite("stag");

	TU_ADD(s, test_vectors);
	TU_ADD(s, test_tags);
}
