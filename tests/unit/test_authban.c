/* Digest brute force blocks (b2bua/authban.c) on an injected clock. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <string.h>

#include "b2bua/authban.h"
#include "testutil.h"

static struct sockaddr_storage
v4(const char *ip, uint16_t port)
{
	struct sockaddr_storage ss;
	struct sockaddr_in *sin = (struct sockaddr_in *)&ss;

	memset(&ss, 0, sizeof(ss));
	sin->sin_family = AF_INET;
	sin->sin_port = htons(port);
	inet_pton(AF_INET, ip, &sin->sin_addr);
	return ss;
}

#define SA(x) ((const struct sockaddr *)&(x))

/* 3 failures in the window block for 10 s, a fourth source is untouched,
   the next block doubles, the port does not matter, a success clears. */
static void
test_block(void)
{
	struct authban_conf cf = {3, 60000, 10000};
	struct authban *ab = NULL;
	struct sockaddr_storage a = v4("192.0.2.7", 5060),
				a2 = v4("192.0.2.7", 40000),
				b = v4("192.0.2.8", 5060);
	uint64_t t = 1000000;
	unsigned n = 0;

	CU_ASSERT_EQUAL_FATAL(authban_alloc(&ab, &cf), 0);
	CU_ASSERT_EQUAL(authban_blocked(ab, SA(a), t), 0);
	CU_ASSERT_EQUAL(authban_fail(ab, SA(a), t, &n), 0);
	CU_ASSERT_EQUAL(n, 1);
	CU_ASSERT_EQUAL(authban_fail(ab, SA(a2), t + 100, &n), 0);
	CU_ASSERT_EQUAL(n, 2); /* another port, the same source */
	CU_ASSERT_EQUAL(authban_fail(ab, SA(a), t + 200, &n), 10000);
	CU_ASSERT_EQUAL(n, 3);
	CU_ASSERT_EQUAL(authban_blocked(ab, SA(a), t + 200), 10000);
	CU_ASSERT_EQUAL(authban_blocked(ab, SA(a2), t + 5200), 5000);
	CU_ASSERT_EQUAL(authban_blocked(ab, SA(b), t + 5200), 0);
	CU_ASSERT_EQUAL(authban_blocked(ab, SA(a), t + 10200), 0);
	/* three more: the second block is twice as long */
	t += 20000;
	authban_fail(ab, SA(a), t, &n);
	authban_fail(ab, SA(a), t + 1, &n);
	CU_ASSERT_EQUAL(authban_fail(ab, SA(a), t + 2, &n), 20000);
	CU_ASSERT_EQUAL(authban_blocked(ab, SA(a), t + 19002), 1000);
	/* a verified digest forgets it all */
	authban_ok(ab, SA(a));
	CU_ASSERT_EQUAL(authban_blocked(ab, SA(a), t + 3), 0);
	authban_fail(ab, SA(a), t + 4, &n);
	CU_ASSERT_EQUAL(n, 1);
	authban_free(ab);
}

/* Failures spread wider than the window never block; off blocks
   nothing; strikes are forgotten after a quiet hour. */
static void
test_window_off_quiet(void)
{
	struct authban_conf cf = {3, 1000, 5000}, off = {0, 1000, 5000};
	struct authban *ab = NULL, *ob = NULL;
	struct sockaddr_storage a = v4("198.51.100.1", 5060);
	struct sockaddr_in6 s6;
	uint64_t t = 50000;
	unsigned n, i;

	CU_ASSERT_EQUAL_FATAL(authban_alloc(&ab, &cf), 0);
	for (i = 0; i < 10; i++)
		CU_ASSERT_EQUAL(authban_fail(ab, SA(a), t + i * 600, &n), 0);
	CU_ASSERT(n <= 2);
	CU_ASSERT_EQUAL(authban_blocked(ab, SA(a), t + 6000), 0);
	/* block, block (x2), then an hour of quiet: x1 again */
	t = 100000;
	for (i = 0; i < 3; i++)
		authban_fail(ab, SA(a), t + i, &n);
	CU_ASSERT_EQUAL(authban_blocked(ab, SA(a), t + 2), 5000);
	t += 10000;
	for (i = 0; i < 3; i++)
		authban_fail(ab, SA(a), t + i, &n);
	CU_ASSERT_EQUAL(authban_blocked(ab, SA(a), t + 2), 10000);
	t += 2ULL * 3600 * 1000;
	for (i = 0; i < 3; i++)
		authban_fail(ab, SA(a), t + i, &n);
	CU_ASSERT_EQUAL(authban_blocked(ab, SA(a), t + 2), 5000);
	/* IPv6 sources count too */
	memset(&s6, 0, sizeof(s6));
	s6.sin6_family = AF_INET6;
	inet_pton(AF_INET6, "2001:db8::9", &s6.sin6_addr);
	for (i = 0; i < 3; i++)
		authban_fail(ab, (struct sockaddr *)&s6, t + i, &n);
	CU_ASSERT_EQUAL(authban_blocked(ab, (struct sockaddr *)&s6, t + 2),
			5000);
	authban_free(ab);
	CU_ASSERT_EQUAL_FATAL(authban_alloc(&ob, &off), 0);
	for (i = 0; i < 10; i++)
		CU_ASSERT_EQUAL(authban_fail(ob, SA(a), t + i, &n), 0);
	CU_ASSERT_EQUAL(authban_blocked(ob, SA(a), t + 10), 0);
	authban_free(ob);
}

/* Many sources (a distributed guesser) fill the table: old ones give
   way, recent blocks hold. */
static void
test_many_sources(void)
{
	struct authban_conf cf = {1, 60000, 60000};
	struct authban *ab = NULL;
	struct sockaddr_storage a;
	char ip[32];
	unsigned i, n, held = 0;

	CU_ASSERT_EQUAL_FATAL(authban_alloc(&ab, &cf), 0);
	for (i = 0; i < 20000; i++) {
		snprintf(ip, sizeof(ip), "10.%u.%u.%u", (i >> 16) & 255,
			 (i >> 8) & 255, i & 255);
		a = v4(ip, 5060);
		CU_ASSERT_EQUAL(authban_fail(ab, SA(a), 1000 + i, &n), 60000);
	}
	/* the last 1,000 are all still blocked */
	for (i = 19000; i < 20000; i++) {
		snprintf(ip, sizeof(ip), "10.%u.%u.%u", (i >> 16) & 255,
			 (i >> 8) & 255, i & 255);
		a = v4(ip, 5060);
		held += authban_blocked(ab, SA(a), 21000) > 0;
	}
	CU_ASSERT(held >= 990);
	authban_free(ab);
}

void test_authban_register(void);

void
test_authban_register(void)
{
	CU_pSuite s = tu_suite("authban");

	TU_ADD(s, test_block);
	TU_ADD(s, test_window_off_quiet);
	TU_ADD(s, test_many_sources);
}
