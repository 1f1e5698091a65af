/* The lookup's rewrite fast path (db/pol_rw.c) against pcre2_substitute()
   itself: for each pattern and replacement, every number of a set is
   rewritten through pol_route() and the result must be byte for byte
   what PCRE2 gives, or a refusal where PCRE2 fails. */
#define PCRE2_CODE_UNIT_WIDTH 8
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pcre2.h>
#include <stdio.h>
#include <string.h>

#include "db/pol.h"
#include "testutil.h"

/* The numbers every rule is tried on: empty, short, long, E.164 and
   national forms, the alphabet's * # +, and one that makes 63 bytes. */
static const char *const nums[] = {
	"",
	"0",
	"00",
	"5",
	"004930123456",
	"+4930123456",
	"030123456",
	"4930",
	"*31#0301234",
	"#",
	"+",
	"1200",
	"123456789012345678901234567890",
	"555555555555555555555555555555555555555555555555555555555555555",
	"+4930\n",
	"004930\n",
	"+49301a",
	"0049\r",
	"12#",
	"#31#030",
	"*0049",
	"#+1234",
	"\n",
};

struct rw_case {
	const char *pat, *repl;
};

/* Template forms ($N, ${N}, $$, literals), group edge cases (unset, 0,
   \K), unanchored and caseless-flag patterns, results too long, and
   replacements only PCRE2 itself handles (names, a bad '$'). */
static const struct rw_case cases[] = {
	{"^00([1-9][0-9]+)$", "+$1"},
	{"^0([1-9][0-9]+)$", "+49${1}"},
	{"^\\+49([0-9]+)$", "0$1"},
	{"^\\+([0-9]+)$", "00$1"},
	{"^([0-9]{3})([0-9]*)$", "${2}x$1$$"},
	{"0", "zero"},
	{"^(1)?2(3)", "$1-$2"},
	{"^(1)?(2)", "[$1]$2"},
	{"^([0-9]*)$", "$1$1$1"},
	{"^(.*)$", "$0$0"},
	{"^49\\K(.*)", "[$1]"},
	{"(?=5)", "!"},
	{"^$", "empty"},
	{"(?i)^0(.*)", "o$1"},
	{"^(?<cc>49)(.*)", "0${cc}$2"},
	{"^(?<cc>0)(.*)", "+49$2$cc"},
	{"^0", "$"},
	{"^0", "a$b"},
	{"5+$", "$$$0$$"},
	{"^(\\*31#)?(0[0-9]+)$", "$2"},
	{"(*NO_START_OPT)^0([0-9]*)", "+$1"},
	{"^[#*+]", ""},
	/* the prefix form decided without PCRE2, and near misses of it */
	{"^00(\\d+)$", "+$1"},
	{"^([0-9]+)$", "+49$1"},
	{"^#31#([0-9]*)$", "$0:$1"},
	{"^\\*([0-9]+)$", "x$1"},
	{"^\\#\\+1(\\d*)$", "${1}$$"},
	{"^0049([0-9]+)$", "0$1"},
	{"^00([0-9]+)", "+$1"},
	{"00([0-9]+)$", "+$1"},
	{"^00([0-9])+$", "+$1"},
	{"^00([0-9]+)$\\n", "+$1"},
	{"^(?i)00([0-9]+)$", "+$1"},
};

/* What pcre2_substitute() makes of num: 1 and out, 0 (no match), -1 a
   failure (the lookup must refuse the call). */
static int
reference(const char *pat, const char *repl, const char *num, char *out)
{
	PCRE2_SIZE off, olen = POL_NUM_MAX;
	pcre2_match_data *md;
	pcre2_code *re;
	int ec, rc;

	re = pcre2_compile((PCRE2_SPTR)pat, PCRE2_ZERO_TERMINATED, 0, &ec, &off,
			   NULL);
	CU_ASSERT_PTR_NOT_NULL_FATAL(re);
	pcre2_jit_compile(re, PCRE2_JIT_COMPLETE);
	md = pcre2_match_data_create(POL_CAPTURES_MAX + 1, NULL);
	rc = pcre2_substitute(re, (PCRE2_SPTR)num, strlen(num), 0, 0, md, NULL,
			      (PCRE2_SPTR)repl, PCRE2_ZERO_TERMINATED,
			      (PCRE2_UCHAR *)out, &olen);
	pcre2_match_data_free(md);
	pcre2_code_free(re);
	return rc > 0 ? 1 : rc == 0 || rc == PCRE2_ERROR_NOMATCH ? 0 : -1;
}

/* One trunk (127.0.0.0/8) with the case as its inbound called rewrite,
   and a catch-all route so every rewritten number is routed. */
static struct pol_snap *
snap_for(const struct rw_case *c)
{
	struct pol_trunk t;
	struct pol_route_cfg r = {1, 0, NULL, "", "", 10, NULL, 0, true};
	struct pol_target_cfg tg = {1, 1, 1, 0, 1};
	struct pol_rewrite_cfg rw = {1,	 1,	 POL_DIR_IN, POL_F_CALLED,
				     10, c->pat, c->repl,    true};
	struct pol_build *b = NULL;
	struct pol_snap *s = NULL;
	char err[256] = "";

	memset(&t, 0, sizeof(t));
	t.id = 1;
	t.name = "carrier";
	t.host = "127.0.0.1";
	t.port = 5060;
	t.cidrs = "127.0.0.0/8";
	t.enabled = true;
	CU_ASSERT_EQUAL_FATAL(pol_build_alloc(&b), 0);
	CU_ASSERT_EQUAL(pol_build_trunk(b, &t), 0);
	CU_ASSERT_EQUAL(pol_build_route(b, &r), 0);
	CU_ASSERT_EQUAL(pol_build_target(b, &tg), 0);
	CU_ASSERT_EQUAL(pol_build_rewrite(b, &rw), 0);
	CU_ASSERT_EQUAL(pol_build_compile(b, 0, &s, err, sizeof(err)), 0);
	if (err[0])
		fprintf(stderr, "%s -> %s: %s\n", c->pat, c->repl, err);
	pol_build_free(b);
	CU_ASSERT_PTR_NOT_NULL_FATAL(s);
	return s;
}

static void
test_rw_matches_pcre2(void)
{
	struct sockaddr_in sin;
	struct pol_verdict v;
	struct pol_req req;
	size_t i, j, fails = 0, hits = 0;

	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	CU_ASSERT_EQUAL_FATAL(pol_verdict_init(&v), 0);
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct pol_snap *s = snap_for(&cases[i]);

		for (j = 0; j < sizeof(nums) / sizeof(nums[0]); j++) {
			char want[POL_NUM_MAX] = "";
			int ref = reference(cases[i].pat, cases[i].repl,
					    nums[j], want);

			memset(&req, 0, sizeof(req));
			req.src = (const struct sockaddr *)&sin;
			pl_set(&req.called, nums[j], strlen(nums[j]));
			CU_ASSERT_EQUAL(pol_route(s, &req, &v), 0);
			if (ref < 0) {
				fails++;
				CU_ASSERT_EQUAL(v.status, 500);
				CU_ASSERT_STRING_EQUAL(
					v.reason, "inbound rewrite failed");
				continue;
			}
			hits += ref > 0;
			CU_ASSERT_EQUAL(v.status, 0);
			CU_ASSERT_STRING_EQUAL(v.called, ref ? want : nums[j]);
			if (v.status || strcmp(v.called, ref ? want : nums[j]))
				fprintf(stderr,
					"%s -> %s on '%s': '%s' (%u), "
					"PCRE2 '%s' (%d)\n",
					cases[i].pat, cases[i].repl, nums[j],
					v.called, v.status, want, ref);
		}
		pol_snap_deref(s);
	}
	pol_verdict_fini(&v);
	/* the set exercises all three outcomes */
	CU_ASSERT(fails >= 10);
	CU_ASSERT(hits >= 60);
}

void test_pol_rw_register(void);

void
test_pol_rw_register(void)
{
	CU_pSuite s = tu_suite("pol_rw");

	TU_ADD(s, test_rw_matches_pcre2);
}
