/* Unit tests: policy compilation and lookup without a database
   (db/pol_*.c). */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "db/pol.h"
#include "testutil.h"

/* 2026-03-29 01:00 UTC: Europe/Berlin goes from +01:00 to +02:00. */
#define DST_BERLIN 1774746000LL

static struct pol_trunk
trunk(int64_t id, const char *name, const char *cidrs, uint16_t in_port)
{
	struct pol_trunk t;

	memset(&t, 0, sizeof(t));
	t.id = id;
	t.name = name;
	t.host = "127.0.0.1";
	t.port = 5060;
	t.cidrs = cidrs;
	t.in_port = in_port;
	t.enabled = true;
	t.max_calls = 10 * (uint32_t)id;
	return t;
}

static void
add_route(struct pol_build *b, int64_t id, int64_t src, const char *called,
	  const char *calling, int prio)
{
	struct pol_route_cfg r = {id,	src,  NULL, called, calling,
				  prio, NULL, 0,    true};

	CU_ASSERT_EQUAL_FATAL(pol_build_route(b, &r), 0);
}

static void
add_target(struct pol_build *b, int64_t id, int64_t route, int64_t trunk_id,
	   int prio, uint32_t w)
{
	struct pol_target_cfg t = {id, route, trunk_id, prio, w};

	CU_ASSERT_EQUAL_FATAL(pol_build_target(b, &t), 0);
}

/* Trunks 1 carrier (10.0.0.0/8, 2001:db8::/32), 2 pbx (10.1.0.0/16 port
   5080), 3 carrier2 (10.1.2.3), 4 backup (no CIDR). */
static struct pol_build *
base(void)
{
	struct pol_build *b = NULL;
	struct pol_trunk t;

	CU_ASSERT_EQUAL_FATAL(pol_build_alloc(&b), 0);
	t = trunk(1, "carrier", "10.0.0.0/8, 2001:db8::/32", 0);
	CU_ASSERT_EQUAL(pol_build_trunk(b, &t), 0);
	t = trunk(2, "pbx", "10.1.0.0/16", 5080);
	CU_ASSERT_EQUAL(pol_build_trunk(b, &t), 0);
	t = trunk(3, "carrier2", "10.1.2.3", 0);
	CU_ASSERT_EQUAL(pol_build_trunk(b, &t), 0);
	t = trunk(4, "backup", NULL, 0);
	CU_ASSERT_EQUAL(pol_build_trunk(b, &t), 0);
	return b;
}

static struct pol_snap *
compile(struct pol_build *b, int64_t now)
{
	struct pol_snap *s = NULL;
	char err[256] = "";

	CU_ASSERT_EQUAL(pol_build_compile(b, now, &s, err, sizeof(err)), 0);
	if (err[0])
		fprintf(stderr, "compile: %s\n", err);
	pol_build_free(b);
	CU_ASSERT_PTR_NOT_NULL_FATAL(s);
	return s;
}

static struct sockaddr_storage ss;

static const struct sockaddr *
addr(const char *ip, uint16_t port)
{
	memset(&ss, 0, sizeof(ss));
	if (strchr(ip, ':')) {
		struct sockaddr_in6 *s6 = (void *)&ss;

		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons(port);
		inet_pton(AF_INET6, ip, &s6->sin6_addr);
	} else {
		struct sockaddr_in *s4 = (void *)&ss;

		s4->sin_family = AF_INET;
		s4->sin_port = htons(port);
		inet_pton(AF_INET, ip, &s4->sin_addr);
	}
	return (const struct sockaddr *)&ss;
}

static int
route(const struct pol_snap *s, const char *ip, uint16_t port,
      const char *called, const char *calling, int64_t now, uint32_t rnd,
      struct pol_verdict *v)
{
	struct pol_req r;

	memset(&r, 0, sizeof(r));
	r.src = addr(ip, port);
	pl_set(&r.called, called, strlen(called));
	pl_set(&r.calling, calling, strlen(calling));
	r.now = now;
	r.rnd = rnd;
	return pol_route(s, &r, v);
}

static void
test_prefix_and_source(void)
{
	struct pol_build *b = base();
	struct pol_verdict v;
	struct pol_snap *s;
	long live0 = pol_snap_live();

	add_route(b, 1, 0, "+49", "", 100);
	add_route(b, 2, 0, "+4930", "", 100);
	add_route(b, 3, 0, "+4930", "+44", 100); /* calling prefix */
	add_route(b, 4, 2, "+4930", "", 200);	 /* from pbx only */
	add_route(b, 5, 0, "+1", "", 100);
	add_target(b, 1, 1, 1, 0, 1);
	add_target(b, 2, 2, 3, 0, 1);
	add_target(b, 3, 3, 4, 0, 1);
	add_target(b, 4, 4, 1, 0, 1);
	/* route 5 has no target: never chosen */
	s = compile(b, DST_BERLIN);
	CU_ASSERT_EQUAL(pol_snap_live(), live0 + 1);
	CU_ASSERT_EQUAL_FATAL(pol_verdict_init(&v), 0);

	CU_ASSERT_EQUAL(
		route(s, "10.9.9.9", 5060, "+4989123", "+4911", 0, 0, &v), 0);
	CU_ASSERT_EQUAL(v.status, 0);
	CU_ASSERT_EQUAL(v.route_id, 1);
	CU_ASSERT_STRING_EQUAL(v.src->name, "carrier");
	CU_ASSERT_EQUAL(v.max_calls, 10);
	CU_ASSERT_EQUAL(v.ntargets, 1);
	CU_ASSERT_STRING_EQUAL(v.targets[0].trunk->name, "carrier");
	CU_ASSERT_STRING_EQUAL(v.targets[0].called, "+4989123");
	route(s, "10.9.9.9", 5060, "+4930123", "+4911", 0, 0, &v);
	CU_ASSERT_EQUAL(v.route_id, 2); /* longest prefix */
	route(s, "10.9.9.9", 5060, "+4930123", "+44207", 0, 0, &v);
	CU_ASSERT_EQUAL(v.route_id, 3); /* longer calling prefix */
	CU_ASSERT_STRING_EQUAL(v.targets[0].trunk->name, "backup");
	route(s, "10.1.7.7", 5080, "+4930123", "+44207", 0, 0, &v);
	CU_ASSERT_STRING_EQUAL(v.src->name, "pbx");
	CU_ASSERT_EQUAL(v.route_id, 4); /* source trunk beats any */
	route(s, "10.1.7.7", 5081, "+4930123", "", 0, 0, &v);
	CU_ASSERT_STRING_EQUAL(v.src->name, "carrier"); /* port differs */
	route(s, "10.1.2.3", 5080, "+4930123", "", 0, 0, &v);
	CU_ASSERT_STRING_EQUAL(v.src->name, "carrier2"); /* /32 beats /16 */
	route(s, "2001:db8::1", 5060, "+4930", "", 0, 0, &v);
	CU_ASSERT_STRING_EQUAL(v.src->name, "carrier");
	CU_ASSERT_EQUAL(v.route_id, 2);
	route(s, "::ffff:10.1.2.3", 5060, "+4930", "", 0, 0, &v);
	CU_ASSERT_STRING_EQUAL(v.src->name, "carrier2");
	route(s, "2001:db9::1", 5060, "+4930", "", 0, 0, &v);
	CU_ASSERT_EQUAL(v.status, 403);
	CU_ASSERT_STRING_EQUAL(v.reason, "unknown source");
	route(s, "192.168.1.1", 5060, "+4930", "", 0, 0, &v);
	CU_ASSERT_EQUAL(v.status, 403);
	route(s, "10.9.9.9", 5060, "+1555", "", 0, 0, &v);
	CU_ASSERT_EQUAL(v.status, 404);
	route(s, "10.9.9.9", 5060, "+33", "", 0, 0, &v);
	CU_ASSERT_EQUAL(v.status, 404);
	/* the source alone, as pol_route() identifies it */
	CU_ASSERT_STRING_EQUAL(pol_trunk_by_src(s, addr("10.9.9.9", 1))->name,
			       "carrier");
	CU_ASSERT_STRING_EQUAL(
		pol_trunk_by_src(s, addr("10.1.7.7", 5080))->name, "pbx");
	CU_ASSERT_STRING_EQUAL(
		pol_trunk_by_src(s, addr("10.1.7.7", 5081))->name, "carrier");
	CU_ASSERT_STRING_EQUAL(
		pol_trunk_by_src(s, addr("::ffff:10.1.2.3", 9))->name,
		"carrier2");
	CU_ASSERT_PTR_NULL(pol_trunk_by_src(s, addr("192.168.1.1", 5060)));
	CU_ASSERT_PTR_NULL(pol_trunk_by_src(s, addr("2001:db9::1", 5060)));
	CU_ASSERT_PTR_NULL(pol_trunk_by_src(s, NULL));
	CU_ASSERT_PTR_NULL(pol_trunk_by_src(NULL, addr("10.9.9.9", 1)));
	CU_ASSERT_PTR_NOT_NULL(pol_trunk_by_name(s, "backup"));
	CU_ASSERT_EQUAL(pol_trunk_by_id(s, 3)->id, 3);
	CU_ASSERT_PTR_NULL(pol_trunk_by_id(s, 99));
	pol_verdict_fini(&v);
	pol_snap_deref(s);
	CU_ASSERT_EQUAL(pol_snap_live(), live0);
}

static void
test_priority_weights(void)
{
	struct pol_build *b = base();
	struct pol_verdict v;
	struct pol_snap *s;
	int first1 = 0, i, first4 = 0;

	add_route(b, 1, 0, "+49", "", 20);
	add_route(b, 2, 0, "+49", "", 10); /* same prefix: lower priority */
	add_target(b, 1, 1, 4, 0, 1);
	add_target(b, 2, 2, 1, 0, 3); /* 3:1 with trunk 3 */
	add_target(b, 3, 2, 3, 0, 1);
	add_target(b, 4, 2, 4, 5, 0); /* then backup, weight 0 */
	s = compile(b, 0);
	CU_ASSERT_EQUAL_FATAL(pol_verdict_init(&v), 0);
	for (i = 0; i < 4000; i++) {
		route(s, "10.9.9.9", 5060, "+4930", "", 0, (uint32_t)i, &v);
		CU_ASSERT_EQUAL_FATAL(v.ntargets, 3);
		CU_ASSERT_EQUAL(v.route_id, 2);
		first1 += v.targets[0].trunk->id == 1;
		first4 += v.targets[0].trunk->id == 4;
		CU_ASSERT_EQUAL(v.targets[2].trunk->id, 4);
		CU_ASSERT_NOT_EQUAL(v.targets[0].trunk, v.targets[1].trunk);
	}
	CU_ASSERT(first1 > 2800 && first1 < 3200); /* about 3000 */
	CU_ASSERT_EQUAL(first4, 0);
	/* Deterministic for a given random value. */
	route(s, "10.9.9.9", 5060, "+4930", "", 0, 7, &v);
	i = (int)v.targets[0].trunk->id;
	route(s, "10.9.9.9", 5060, "+4930", "", 0, 7, &v);
	CU_ASSERT_EQUAL(v.targets[0].trunk->id, i);
	pol_verdict_fini(&v);
	pol_snap_deref(s);
}

/* Mon-Fri 08:00-18:00 Berlin; the night window 22:00-06:00 every day. */
static void
test_windows_dst(void)
{
	struct pol_build *b = base();
	struct pol_window_cfg w1 = {1,	    1,	     0x1f,
				    8 * 60, 18 * 60, "Europe/Berlin"};
	struct pol_window_cfg w2 = {2,	     2,	     0x7f,
				    22 * 60, 6 * 60, "Europe/Berlin"};
	struct pol_window_cfg bad = {3, 1, 1, 0, 60, "Mars/Olympus"};
	struct pol_verdict v;
	struct pol_snap *s;
	char err[256];
	/* Fri 2026-03-27 07:30 UTC = 08:30 CET; Mon 03-30 06:30 UTC = 08:30
	   CEST but 07:30 CET. */
	int64_t fri_0730 = DST_BERLIN - 2 * 86400 + 6 * 3600 + 1800;
	int64_t mon_0630 = DST_BERLIN + 86400 + 5 * 3600 + 1800;

	add_route(b, 1, 0, "+49900", "", 10);
	add_route(b, 2, 0, "+49900", "", 20);
	add_target(b, 1, 1, 1, 0, 1);
	add_target(b, 2, 2, 3, 0, 1);
	CU_ASSERT_EQUAL(pol_build_window(b, &w1), 0);
	CU_ASSERT_EQUAL(pol_build_window(b, &w2), 0);
	s = compile(b, DST_BERLIN - 3 * 86400);
	CU_ASSERT_EQUAL_FATAL(pol_verdict_init(&v), 0);
	route(s, "10.9.9.9", 0, "+499001", "", fri_0730, 0, &v);
	CU_ASSERT_EQUAL(v.route_id, 1);
	route(s, "10.9.9.9", 0, "+499001", "", fri_0730 - 3600, 0, &v);
	CU_ASSERT_EQUAL(v.status, 480); /* 07:30 CET: closed */
	route(s, "10.9.9.9", 0, "+499001", "", mon_0630, 0, &v);
	CU_ASSERT_EQUAL(v.route_id, 1); /* 08:30 CEST */
	route(s, "10.9.9.9", 0, "+499001", "", mon_0630 - 3600, 0, &v);
	CU_ASSERT_EQUAL(v.status, 480); /* 07:30 CEST */
	/* Night window across midnight and across the change itself:
	   Sun 03-29 00:59:59 UTC = 01:59:59 CET, 01:00 UTC = 03:00 CEST;
	   the window closes at 06:00 local = 04:00 UTC after the change. */
	route(s, "10.9.9.9", 0, "+499001", "", DST_BERLIN - 1, 0, &v);
	CU_ASSERT_EQUAL(v.route_id, 2);
	route(s, "10.9.9.9", 0, "+499001", "", DST_BERLIN + 3 * 3600 - 1, 0,
	      &v);
	CU_ASSERT_EQUAL(v.route_id, 2);
	route(s, "10.9.9.9", 0, "+499001", "", DST_BERLIN + 3 * 3600, 0, &v);
	CU_ASSERT_EQUAL(v.status, 480); /* Sunday 06:00 CEST: closed */
	pol_verdict_fini(&v);
	pol_snap_deref(s);

	b = base();
	add_route(b, 1, 0, "+49", "", 10);
	CU_ASSERT_EQUAL(pol_build_window(b, &bad), 0);
	CU_ASSERT_EQUAL(pol_build_compile(b, 0, &s, err, sizeof(err)), EINVAL);
	CU_ASSERT_STRING_EQUAL(err, "route_windows id=3: unknown time zone "
				    "'Mars/Olympus'");
	pol_build_free(b);
}

/* Autumn: 2026-10-25 01:00 UTC Berlin goes back to +01:00. The same
   08:00 opening is 06:00 UTC on Friday 10-23 and 07:00 UTC on Monday. */
static void
test_windows_autumn(void)
{
	const int64_t back = 1792890000LL;
	struct pol_build *b = base();
	struct pol_window_cfg w = {1,	   1,	    0x1f,
				   8 * 60, 18 * 60, "Europe/Berlin"};
	struct pol_verdict v;
	struct pol_snap *s;
	int64_t fri = back - 2 * 86400 + 5 * 3600; /* Fri 06:00 UTC */
	int64_t mon = back + 86400 + 6 * 3600;	   /* Mon 07:00 UTC */

	add_route(b, 1, 0, "+49", "", 10);
	add_target(b, 1, 1, 1, 0, 1);
	CU_ASSERT_EQUAL(pol_build_window(b, &w), 0);
	s = compile(b, back - 5 * 86400);
	CU_ASSERT_EQUAL_FATAL(pol_verdict_init(&v), 0);
	route(s, "10.9.9.9", 0, "+49", "", fri, 0, &v);
	CU_ASSERT_EQUAL(v.route_id, 1);
	route(s, "10.9.9.9", 0, "+49", "", fri - 1, 0, &v);
	CU_ASSERT_EQUAL(v.status, 480);
	route(s, "10.9.9.9", 0, "+49", "", mon, 0, &v);
	CU_ASSERT_EQUAL(v.route_id, 1);
	route(s, "10.9.9.9", 0, "+49", "", mon - 1, 0, &v);
	CU_ASSERT_EQUAL(v.status, 480);
	route(s, "10.9.9.9", 0, "+49", "", mon + 10 * 3600 - 1, 0, &v);
	CU_ASSERT_EQUAL(v.route_id, 1); /* 17:59:59 CET */
	route(s, "10.9.9.9", 0, "+49", "", mon + 10 * 3600, 0, &v);
	CU_ASSERT_EQUAL(v.status, 480);
	pol_verdict_fini(&v);
	pol_snap_deref(s);
}

static void
add_rw(struct pol_build *b, int64_t id, int64_t trunk_id, enum pol_dir d,
       enum pol_field f, int prio, const char *pat, const char *rep)
{
	struct pol_rewrite_cfg r = {id, trunk_id, d, f, prio, pat, rep, true};

	CU_ASSERT_EQUAL_FATAL(pol_build_rewrite(b, &r), 0);
}

/* E.164 normalisation inbound from trunk 1 (00 and 0 prefixes on the
   called number, 0 on every trunk's calling number) and back to the
   national form toward trunk 3. */
static void
add_e164_rewrites(struct pol_build *b)
{
	add_rw(b, 1, 1, POL_DIR_IN, POL_F_CALLED, 10, "^00([1-9][0-9]+)$",
	       "+$1");
	add_rw(b, 2, 1, POL_DIR_IN, POL_F_CALLED, 20, "^0([1-9][0-9]+)$",
	       "+49$1");
	add_rw(b, 3, 0, POL_DIR_IN, POL_F_CALLING, 10, "^0([1-9][0-9]+)$",
	       "+49${1}");
	add_rw(b, 4, 3, POL_DIR_OUT, POL_F_CALLED, 10, "^\\+49([0-9]+)$",
	       "0$1");
}

static void
test_rewrite_lists(void)
{
	struct pol_build *b = base();
	struct pol_list_cfg l1 = {
		1,   POL_LIST_BLOCK, POL_F_CALLING, "+4915199",
		603, "fraud",	     true};
	struct pol_list_cfg l2 = {2,   POL_LIST_BLOCK, POL_F_CALLED, "+49137",
				  403, NULL,	       true};
	struct pol_verdict v;
	struct pol_snap *s;

	add_route(b, 1, 0, "+49", "", 10);
	add_target(b, 1, 1, 3, 0, 1);
	add_e164_rewrites(b);
	CU_ASSERT_EQUAL(pol_build_list(b, &l1), 0);
	CU_ASSERT_EQUAL(pol_build_list(b, &l2), 0);
	s = compile(b, 0);
	CU_ASSERT_EQUAL_FATAL(pol_verdict_init(&v), 0);
	route(s, "10.9.9.9", 0, "004930123456", "0301111", 0, 0, &v);
	CU_ASSERT_EQUAL(v.status, 0);
	CU_ASSERT_STRING_EQUAL(v.called, "+4930123456");
	CU_ASSERT_STRING_EQUAL(v.calling, "+49301111");
	CU_ASSERT_STRING_EQUAL(v.targets[0].called, "030123456");
	CU_ASSERT_STRING_EQUAL(v.targets[0].calling, "+49301111");
	route(s, "10.9.9.9", 0, "030123456", "+4930", 0, 0, &v);
	CU_ASSERT_STRING_EQUAL(v.called, "+4930123456");
	route(s, "10.1.2.3", 0, "030123456", "", 0, 0, &v); /* not trunk 1 */
	CU_ASSERT_EQUAL(v.status, 404);
	CU_ASSERT_STRING_EQUAL(v.called, "030123456");
	route(s, "10.9.9.9", 0, "+4930", "015199123", 0, 0, &v);
	CU_ASSERT_EQUAL(v.status, 603); /* blocked after the rewrite */
	CU_ASSERT_STRING_EQUAL(v.reason, "fraud");
	route(s, "10.9.9.9", 0, "0137555", "+4930", 0, 0, &v);
	CU_ASSERT_EQUAL(v.status, 403);
	route(s, "10.9.9.9", 0,
	      "012345678901234567890123456789012345678901234567890123456789012"
	      "3",
	      "", 0, 0, &v);
	CU_ASSERT_EQUAL(v.status, 484);
	pol_verdict_fini(&v);
	pol_snap_deref(s);
}

static void
test_refused(void)
{
	struct pol_build *b = base();
	struct pol_snap *s = NULL;
	char err[256];
	long live0 = pol_snap_live();

	add_rw(b, 7, 1, POL_DIR_IN, POL_F_CALLED, 10, "^(0[0-9+$", "$1");
	CU_ASSERT_EQUAL(pol_build_compile(b, 0, &s, err, sizeof(err)), EINVAL);
	CU_ASSERT_PTR_NULL(s);
	CU_ASSERT_STRING_EQUAL(err,
			       "rewrite_rules id=7: bad pattern '^(0[0-9+$' at "
			       "offset 9: missing terminating ] for character "
			       "class");
	pol_build_free(b);
	b = base();
	add_rw(b, 8, 1, POL_DIR_IN, POL_F_CALLED, 10, "^0(.*)$", "$2");
	CU_ASSERT_EQUAL(pol_build_compile(b, 0, &s, err, sizeof(err)), EINVAL);
	CU_ASSERT_STRING_EQUAL(err, "rewrite_rules id=8: replacement '$2' "
				    "refers to group 2, pattern has 1");
	pol_build_free(b);
	b = base();
	add_route(b, 1, 0, "+49", "", 10);
	add_target(b, 1, 1, 42, 0, 1);
	CU_ASSERT_EQUAL(pol_build_compile(b, 0, &s, err, sizeof(err)), EINVAL);
	CU_ASSERT_STRING_EQUAL(err, "route_targets id=1: unknown trunk 42");
	pol_build_free(b);
	b = base();
	{
		struct pol_trunk t = trunk(9, "bad", "10.0.0.0/33", 0);

		CU_ASSERT_EQUAL(pol_build_trunk(b, &t), 0);
	}
	CU_ASSERT_EQUAL(pol_build_compile(b, 0, &s, err, sizeof(err)), EINVAL);
	CU_ASSERT_STRING_EQUAL(err, "trunks id=9: bad CIDR '10.0.0.0/33'");
	pol_build_free(b);
	CU_ASSERT_EQUAL(pol_snap_live(), live0);
}

struct reader {
	struct pol_store *st;
	volatile int stop;
	long gets, bad;
};

static void *
reader_h(void *arg)
{
	struct reader *r = arg;
	struct pol_verdict v;

	if (pol_verdict_init(&v))
		return NULL;
	while (!r->stop) {
		struct pol_snap *s = pol_store_get(r->st);

		if (!s)
			continue;
		route(s, "10.9.9.9", 0, "+4930", "", 0, 0, &v);
		if (v.status != 0 || v.route_id != pol_snap_version(s))
			r->bad++;
		r->gets++;
		pol_snap_deref(s);
	}
	pol_verdict_fini(&v);
	return NULL;
}

/* One thread swaps 2000 snapshots while another takes references and
   routes on them; each snapshot's route id equals its version. */
static void
test_store_threads(void)
{
	struct reader r = {NULL, 0, 0, 0};
	struct pol_snap *held;
	long live0 = pol_snap_live();
	pthread_t t;
	int i;

	CU_ASSERT_EQUAL_FATAL(pol_store_alloc(&r.st), 0);
	CU_ASSERT_PTR_NULL(pol_store_get(r.st));
	CU_ASSERT_EQUAL_FATAL(pthread_create(&t, NULL, reader_h, &r), 0);
	for (i = 1; i <= 2000; i++) {
		struct pol_build *b = base();
		struct pol_snap *s;

		pol_build_version(b, i);
		add_route(b, i, 0, "+49", "", 10);
		add_target(b, 1, i, 1, 0, 1);
		s = compile(b, 0);
		pol_store_set(r.st, s);
		pol_snap_deref(s);
	}
	r.stop = 1;
	pthread_join(t, NULL);
	CU_ASSERT(r.gets > 0);
	CU_ASSERT_EQUAL(r.bad, 0);
	held = pol_store_get(r.st); /* a call keeps its snapshot */
	CU_ASSERT_EQUAL(pol_snap_version(held), 2000);
	pol_store_set(r.st, NULL);
	CU_ASSERT_EQUAL(pol_snap_live(), live0 + 1);
	CU_ASSERT(pol_snap_memory(held) > 0);
	pol_snap_deref(held);
	pol_store_free(r.st);
	CU_ASSERT_EQUAL(pol_snap_live(), live0);
}

/* Longest-prefix matching against a brute-force reference: 3000 random
   prefixes over a small alphabet (so they nest), 20000 random numbers. */
static void
test_lpm_reference(void)
{
	static char pfx[3000][8];
	struct pol_build *b = base();
	struct pol_verdict v;
	struct pol_snap *s;
	uint32_t x = 99;
	int i, j, bad = 0;

	for (i = 0; i < 3000; i++) {
		int len = 1 + (int)((x = x * 1103515245u + 12345u) >> 16) % 6;

		for (j = 0; j < len; j++) {
			x = x * 1103515245u + 12345u;
			pfx[i][j] = "0123*#+"[(x >> 16) % 4];
		}
		pfx[i][len] = '\0';
		/* distinct priorities: equal prefixes with equal ones would
		   be refused (test_route_conflicts) */
		add_route(b, i + 1, 0, pfx[i], "", 100 + i);
		add_target(b, i + 1, i + 1, 1, 0, 1);
	}
	s = compile(b, 0);
	CU_ASSERT_EQUAL_FATAL(pol_verdict_init(&v), 0);
	for (i = 0; i < 20000; i++) {
		char num[12];
		size_t best = 0;
		int64_t want = 0;

		for (j = 0; j < 10; j++) {
			x = x * 1103515245u + 12345u;
			num[j] = "0123"[(x >> 16) % 4];
		}
		num[10] = '\0';
		/* Longest matching prefix; equal prefixes: the lowest
		   priority, which is the lowest id here. */
		for (j = 0; j < 3000; j++) {
			size_t l = strlen(pfx[j]);

			if (strncmp(num, pfx[j], l) == 0 &&
			    (l > best || want == 0)) {
				best = l;
				want = j + 1;
			}
		}
		route(s, "10.9.9.9", 0, num, "", 0, 0, &v);
		if (want ? v.route_id != want : v.status != 404)
			bad++;
	}
	CU_ASSERT_EQUAL(bad, 0);
	pol_verdict_fini(&v);
	pol_snap_deref(s);
}

/* Routes that cannot be ordered (same source, prefixes and priority, open
   at a common time) refuse the policy naming both; a different priority,
   source or calling prefix, or windows that never meet, are fine. */
static int
compile_err(struct pol_build *b, char *err, size_t errsz)
{
	struct pol_snap *s = NULL;
	int ret = pol_build_compile(b, 0, &s, err, errsz);

	pol_snap_deref(s);
	pol_build_free(b);
	return ret;
}

static struct pol_build *
two_routes(int prio2, int64_t src2, const char *calling2)
{
	struct pol_build *b = base();

	add_route(b, 7, 1, "+4930", "", 10);
	add_target(b, 1, 7, 2, 0, 1);
	add_route(b, 8, src2, "+4930", calling2, prio2);
	add_target(b, 2, 8, 4, 0, 1);
	return b;
}

static void
add_win(struct pol_build *b, int64_t id, int64_t route, uint8_t days,
	unsigned from, unsigned to, const char *tz)
{
	struct pol_window_cfg w = {id,		 route, days, (uint16_t)from,
				   (uint16_t)to, tz};

	CU_ASSERT_EQUAL_FATAL(pol_build_window(b, &w), 0);
}

static void
test_route_conflicts(void)
{
	static const struct {
		struct {
			uint8_t days;
			unsigned from, to;
			const char *tz;
		} w[2];
		int want;
	} wins[] = {
		/* one without windows is always open: it meets any window */
		{{{0, 0, 0, NULL}, {0x1f, 480, 1080, "Europe/Berlin"}}, EINVAL},
		/* office hours and the night (22:00-06:00 over midnight) */
		{{{0x1f, 480, 1080, "Europe/Berlin"},
		  {0x7f, 1320, 360, "Europe/Berlin"}},
		 0},
		/* a night that runs into office hours: 22:00-09:00 */
		{{{0x1f, 480, 1080, "Europe/Berlin"},
		  {0x7f, 1320, 540, "Europe/Berlin"}},
		 EINVAL},
		/* Sunday night into Monday morning */
		{{{0x01, 0, 480, "Europe/Berlin"},
		  {0x40, 1200, 420, "Europe/Berlin"}},
		 EINVAL},
		{{{0x01, 480, 720, "Europe/Berlin"},
		  {0x40, 1200, 420, "Europe/Berlin"}},
		 0},
		/* windows in different zones are not compared */
		{{{0x7f, 0, 1440, "Europe/Berlin"},
		  {0x7f, 0, 1440, "America/New_York"}},
		 0},
	};
	struct pol_build *b;
	char err[256] = "";
	size_t i, j;

	CU_ASSERT_EQUAL(compile_err(two_routes(10, 1, ""), err, sizeof(err)),
			EINVAL);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "routes id=7 and id=8"));
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "cannot be ordered"));
	CU_ASSERT_EQUAL(compile_err(two_routes(11, 1, ""), err, sizeof(err)),
			0);
	CU_ASSERT_EQUAL(compile_err(two_routes(10, 0, ""), err, sizeof(err)),
			0);
	CU_ASSERT_EQUAL(compile_err(two_routes(10, 1, "+49"), err, sizeof(err)),
			0);
	/* windows: {route 7's, route 8's} as {days, from, to, zone}, days
	   bit 0 Monday .. bit 6 Sunday, 0 days: no window (always open) */
	for (i = 0; i < sizeof(wins) / sizeof(wins[0]); i++) {
		b = two_routes(10, 1, "");
		for (j = 0; j < 2; j++)
			if (wins[i].w[j].days)
				add_win(b, (int64_t)j + 1, 7 + (int64_t)j,
					wins[i].w[j].days, wins[i].w[j].from,
					wins[i].w[j].to, wins[i].w[j].tz);
		if (compile_err(b, err, sizeof(err)) != wins[i].want) {
			fprintf(stderr, "window case %zu\n", i);
			CU_FAIL("route conflict by windows");
		}
	}
}

/* Rules with the same pattern share one compiled code (pol_compile.c):
   each still rewrites with its own replacement, in its own chain; a bad
   replacement for a shared pattern is refused; freeing frees it once
   (ASan). */
static void
test_rewrite_shared(void)
{
	struct pol_build *b = base();
	struct pol_verdict v;
	struct pol_snap *s;
	char err[256] = "";

	add_route(b, 1, 0, "+49", "", 10);
	add_target(b, 1, 1, 3, 0, 1);
	add_route(b, 2, 0, "+44", "", 10);
	add_target(b, 2, 2, 4, 0, 1);
	add_rw(b, 1, 3, POL_DIR_OUT, POL_F_CALLED, 10, "^\\+([0-9]+)$", "00$1");
	add_rw(b, 2, 4, POL_DIR_OUT, POL_F_CALLED, 10, "^\\+([0-9]+)$",
	       "011$1");
	add_rw(b, 3, 4, POL_DIR_OUT, POL_F_CALLING, 10, "^\\+([0-9]+)$", "$1");
	s = compile(b, 0);
	CU_ASSERT_EQUAL_FATAL(pol_verdict_init(&v), 0);
	route(s, "10.9.9.9", 0, "+4930123", "+4930999", 0, 0, &v);
	CU_ASSERT_EQUAL(v.ntargets, 1);
	CU_ASSERT_STRING_EQUAL(v.targets[0].called, "004930123");
	CU_ASSERT_STRING_EQUAL(v.targets[0].calling, "+4930999");
	route(s, "10.9.9.9", 0, "+4420777", "+4930999", 0, 0, &v);
	CU_ASSERT_EQUAL(v.ntargets, 1);
	CU_ASSERT_STRING_EQUAL(v.targets[0].called, "0114420777");
	CU_ASSERT_STRING_EQUAL(v.targets[0].calling, "4930999");
	pol_verdict_fini(&v);
	pol_snap_deref(s);
	/* $2 of a one-group pattern seen before: refused */
	b = base();
	add_rw(b, 1, 3, POL_DIR_OUT, POL_F_CALLED, 10, "^\\+([0-9]+)$", "00$1");
	add_rw(b, 2, 4, POL_DIR_OUT, POL_F_CALLED, 10, "^\\+([0-9]+)$", "00$2");
	CU_ASSERT_EQUAL(compile_err(b, err, sizeof(err)), EINVAL);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "rewrite_rules id=2"));
}

/* trunks.media_address: a numeric address of either family, else the
   policy is refused naming the row. */
static void
test_media_addr(void)
{
	static const char *const ok[] = {"127.0.0.31", "2001:db8::7"};
	struct pol_build *b;
	struct pol_trunk t;
	char err[256] = "";
	size_t i;

	for (i = 0; i < 2; i++) {
		b = base();
		t = trunk(9, "media", NULL, 0);
		t.media_addr = ok[i];
		CU_ASSERT_EQUAL(pol_build_trunk(b, &t), 0);
		CU_ASSERT_EQUAL(compile_err(b, err, sizeof(err)), 0);
	}
	b = base();
	t = trunk(9, "media", NULL, 0);
	t.media_addr = "media.example.net";
	CU_ASSERT_EQUAL(pol_build_trunk(b, &t), 0);
	CU_ASSERT_EQUAL(compile_err(b, err, sizeof(err)), EINVAL);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "trunks id=9: media_address "
					   "'media.example.net' is not a "
					   "numeric"));
}

/* The local cache (db/pol_cache.c): every kind of row saved and read back
   routes the same; strings with tabs, backslashes and NULLs survive; a
   cut or altered file is refused whole. */
static void
test_cache(void)
{
	static const char *const nums[][2] = {{"004930123456", "0301111"},
					      {"030123456", "+4930"},
					      {"+4930", "015199123"},
					      {"0137555", "+4930"},
					      {"+4989", "+44"},
					      {"+1555", ""}};
	struct pol_build *b = base(), *b2 = NULL;
	struct pol_list_cfg l1 = {
		1,   POL_LIST_BLOCK,   POL_F_CALLING, "+4915199",
		603, "fraud\tring\\x", true};
	struct pol_cid_cfg cid = {1,
				  3,
				  POL_DIR_OUT,
				  POL_PAI_INSERT,
				  "sip:+4930@example.org",
				  POL_PRIV_ID,
				  5,
				  true};
	struct pol_window_cfg w = {1, 2, 0x7f, 0, 1440, "Europe/Berlin"};
	uint16_t fo[] = {408, 486, 503};
	struct pol_route_cfg r = {2, 0, NULL, "+4989", "+44", 5, fo, 3, true};
	char path[] = "/tmp/tandem-pol-cache-XXXXXX", err[256] = "";
	struct pol_verdict v1, v2;
	struct pol_snap *s1, *s2 = NULL;
	int fd = mkstemp(path);
	size_t i;
	FILE *f;
	char buf[8192];
	size_t n;

	struct pol_trunk t5 = trunk(5, "redirector", NULL, 0);

	CU_ASSERT_FATAL(fd >= 0);
	close(fd);
	t5.relay_3xx = t5.nat = t5.keep_ice = true;
	t5.status_map = "486=600";
	CU_ASSERT_EQUAL(pol_build_trunk(b, &t5), 0);
	add_route(b, 1, 0, "+49", "", 10);
	add_target(b, 1, 1, 3, 0, 1);
	CU_ASSERT_EQUAL(pol_build_route(b, &r), 0);
	add_target(b, 2, 2, 4, 0, 7);
	add_target(b, 3, 2, 2, 1, 0);
	CU_ASSERT_EQUAL(pol_build_window(b, &w), 0);
	add_e164_rewrites(b);
	CU_ASSERT_EQUAL(pol_build_list(b, &l1), 0);
	CU_ASSERT_EQUAL(pol_build_cid(b, &cid), 0);
	pol_build_version(b, 77);
	CU_ASSERT_EQUAL_FATAL(pol_cache_save(b, path, err, sizeof(err)), 0);
	s1 = compile(b, DST_BERLIN);
	CU_ASSERT_EQUAL_FATAL(pol_cache_load(&b2, path, err, sizeof(err)), 0);
	s2 = compile(b2, DST_BERLIN);
	CU_ASSERT_EQUAL(pol_snap_version(s2), 77);
	CU_ASSERT_EQUAL(pol_snap_ntrunks(s2), pol_snap_ntrunks(s1));
	for (i = 0; i < pol_snap_ntrunks(s2); i++) {
		const struct pol_trunk *a = pol_snap_trunk(s1, i),
				       *z = pol_snap_trunk(s2, i);

		CU_ASSERT_EQUAL(a->relay_3xx, z->relay_3xx);
		CU_ASSERT_EQUAL(a->keep_ice, z->keep_ice);
		CU_ASSERT_EQUAL(a->nat, z->nat);
		CU_ASSERT_EQUAL(a->relay_3xx, a->id == 5);
	}
	CU_ASSERT_EQUAL_FATAL(pol_verdict_init(&v1), 0);
	CU_ASSERT_EQUAL_FATAL(pol_verdict_init(&v2), 0);
	for (i = 0; i < sizeof(nums) / sizeof(nums[0]); i++) {
		route(s1, "10.9.9.9", 0, nums[i][0], nums[i][1], DST_BERLIN, 3,
		      &v1);
		route(s2, "10.9.9.9", 0, nums[i][0], nums[i][1], DST_BERLIN, 3,
		      &v2);
		CU_ASSERT_EQUAL(v1.status, v2.status);
		CU_ASSERT_EQUAL(v1.route_id, v2.route_id);
		CU_ASSERT_STRING_EQUAL(v1.called, v2.called);
		CU_ASSERT_EQUAL(v1.ntargets, v2.ntargets);
		CU_ASSERT_EQUAL(v1.nfailover, v2.nfailover);
		if (v1.ntargets && v2.ntargets) {
			CU_ASSERT_STRING_EQUAL(v1.targets[0].called,
					       v2.targets[0].called);
			CU_ASSERT_EQUAL(v1.targets[0].cid.privacy,
					v2.targets[0].cid.privacy);
		}
		if (v1.reason && v2.reason)
			CU_ASSERT_STRING_EQUAL(v1.reason, v2.reason);
	}
	route(s2, "10.9.9.9", 0, "+4930", "015199123", 0, 0, &v2);
	CU_ASSERT_EQUAL(v2.status, 603);
	CU_ASSERT_PTR_NOT_NULL_FATAL(v2.reason);
	CU_ASSERT_STRING_EQUAL(v2.reason, "fraud\tring\\x");
	route(s2, "10.9.9.9", 0, "+4989", "+44", DST_BERLIN, 0, &v2);
	CU_ASSERT_EQUAL(v2.route_id, 2);
	CU_ASSERT_EQUAL(v2.nfailover, 3);
	/* a byte changed, then the end cut: refused */
	f = fopen(path, "r+b");
	CU_ASSERT_FATAL(f != NULL);
	n = fread(buf, 1, sizeof(buf), f);
	CU_ASSERT_FATAL(n > 200);
	buf[n / 2] ^= 1;
	rewind(f);
	fwrite(buf, 1, n, f);
	fclose(f);
	b2 = NULL;
	CU_ASSERT_EQUAL(pol_cache_load(&b2, path, err, sizeof(err)), EBADMSG);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "truncated or damaged"));
	buf[n / 2] ^= 1;
	f = fopen(path, "wb");
	CU_ASSERT_FATAL(f != NULL);
	fwrite(buf, 1, n - 10, f);
	fclose(f);
	CU_ASSERT_EQUAL(pol_cache_load(&b2, path, err, sizeof(err)), EBADMSG);
	CU_ASSERT_EQUAL(pol_cache_load(&b2, "/nonexistent/x", err, sizeof(err)),
			ENOENT);
	CU_ASSERT_PTR_NULL(b2);
	unlink(path);
	pol_verdict_fini(&v1);
	pol_verdict_fini(&v2);
	pol_snap_deref(s1);
	pol_snap_deref(s2);
}

/* Status translation maps ("FROM=TO,..."): lookups, refusals, and a
   trunk with a bad map refused by the builder. */
static void
test_status_map(void)
{
	struct pol_build *b = NULL;
	struct pol_trunk t = trunk(9, "x", NULL, 0);

	CU_ASSERT_EQUAL(pol_status_map("486=600,503=480", 486), 600);
	CU_ASSERT_EQUAL(pol_status_map("486=600,503=480", 503), 480);
	CU_ASSERT_EQUAL(pol_status_map("486=600,503=480", 404), 404);
	CU_ASSERT_EQUAL(pol_status_map(NULL, 486), 486);
	CU_ASSERT_EQUAL(pol_status_map("", 486), 486);
	CU_ASSERT(pol_status_map_ok(NULL) && pol_status_map_ok(""));
	CU_ASSERT(pol_status_map_ok("404=484"));
	CU_ASSERT(!pol_status_map_ok("486=200"));
	CU_ASSERT(!pol_status_map_ok("486=600,"));
	CU_ASSERT(!pol_status_map_ok("486:600"));
	CU_ASSERT(!pol_status_map_ok("4860=600"));
	CU_ASSERT(!pol_status_map_ok("486=600 "));
	CU_ASSERT_EQUAL_FATAL(pol_build_alloc(&b), 0);
	t.status_map = "486=600";
	CU_ASSERT_EQUAL(pol_build_trunk(b, &t), 0);
	t.id = 10;
	t.status_map = "486=6000";
	CU_ASSERT_EQUAL(pol_build_trunk(b, &t), EINVAL);
	/* header additions: lines, and never a dialog or routing header */
	t.status_map = NULL;
	t.hdr_add = "X-Tenant: acme\nSubject: hi";
	CU_ASSERT_EQUAL(pol_build_trunk(b, &t), 0);
	t.hdr_add = "X-A: 1\nContact: <sip:evil@example>";
	CU_ASSERT_EQUAL(pol_build_trunk(b, &t), EINVAL);
	{
		const char *why = NULL;

		CU_ASSERT(!pol_hdr_add_ok("via: x", &why));
		CU_ASSERT_STRING_EQUAL(why, "that header carries the dialog or "
					    "the route");
		CU_ASSERT(!pol_hdr_add_ok("No colon here", &why));
		CU_ASSERT(!pol_hdr_add_ok("X-A: a\rb", &why));
		CU_ASSERT(!pol_hdr_add_ok(": empty name", &why));
		CU_ASSERT(pol_hdr_add_ok("X-A: tab\there", &why));
		CU_ASSERT(pol_hdr_add_ok(NULL, &why));
	}
	CU_ASSERT(pol_name_listed("X-A, x-account ,Y", "X-Account", 9));
	CU_ASSERT(!pol_name_listed("X-A,X-Accoun", "X-Account", 9));
	CU_ASSERT(!pol_name_listed(NULL, "X-A", 3));
	pol_build_free(b);
}

/* Trunks found down (req->usable): a route with no usable target is
   passed over for the next route that fits (a shorter prefix, a later
   priority); when none is usable the first fitting route stands, so the
   caller reports the trunk down rather than "no route". */
static bool
not_down(void *arg, const struct pol_trunk *t)
{
	const int64_t *down = arg;
	size_t i;

	for (i = 0; down[i]; i++)
		if (down[i] == t->id)
			return false;
	return true;
}

static void
test_trunk_down(void)
{
	struct pol_build *b = base();
	struct pol_verdict v;
	struct pol_snap *s;
	struct pol_req r;
	int64_t down[4] = {0};

	add_route(b, 1, 0, "+4930", "", 100); /* to pbx, then backup */
	add_route(b, 2, 0, "+4930", "", 200); /* to carrier2 */
	add_route(b, 3, 0, "+49", "", 100);   /* to carrier */
	add_target(b, 1, 1, 2, 0, 1);
	add_target(b, 2, 1, 4, 1, 1);
	add_target(b, 3, 2, 3, 0, 1);
	add_target(b, 4, 3, 1, 0, 1);
	s = compile(b, DST_BERLIN);
	CU_ASSERT_EQUAL_FATAL(pol_verdict_init(&v), 0);
	memset(&r, 0, sizeof(r));
	r.src = addr("10.9.9.9", 5060);
	pl_set(&r.called, "+4930123", 8);
	r.usable = not_down;
	r.usable_arg = down;

	CU_ASSERT_EQUAL(pol_route(s, &r, &v), 0);
	CU_ASSERT_EQUAL(v.route_id, 1);
	CU_ASSERT_EQUAL(v.ntargets, 2);
	down[0] = 2; /* one target of route 1 left: it stays, both listed */
	CU_ASSERT_EQUAL(pol_route(s, &r, &v), 0);
	CU_ASSERT_EQUAL(v.route_id, 1);
	CU_ASSERT_EQUAL(v.ntargets, 2);
	down[1] = 4; /* route 1 all down: the next priority on the prefix */
	CU_ASSERT_EQUAL(pol_route(s, &r, &v), 0);
	CU_ASSERT_EQUAL(v.route_id, 2);
	CU_ASSERT_STRING_EQUAL(v.targets[0].trunk->name, "carrier2");
	down[2] = 3; /* then the shorter prefix */
	CU_ASSERT_EQUAL(pol_route(s, &r, &v), 0);
	CU_ASSERT_EQUAL(v.route_id, 3);
	CU_ASSERT_STRING_EQUAL(v.targets[0].trunk->name, "carrier");
	down[3] = 1; /* nothing usable: the first route stands */
	CU_ASSERT_EQUAL(pol_route(s, &r, &v), 0);
	CU_ASSERT_EQUAL(v.status, 0);
	CU_ASSERT_EQUAL(v.route_id, 1);
	r.usable = NULL; /* no predicate: as before */
	CU_ASSERT_EQUAL(pol_route(s, &r, &v), 0);
	CU_ASSERT_EQUAL(v.route_id, 1);
	pol_verdict_fini(&v);
	pol_snap_deref(s);
}

void test_pol_register(void);

void
test_pol_register(void)
{
	CU_pSuite s = tu_suite("pol");

	TU_ADD(s, test_prefix_and_source);
	TU_ADD(s, test_priority_weights);
	TU_ADD(s, test_windows_dst);
	TU_ADD(s, test_windows_autumn);
	TU_ADD(s, test_rewrite_lists);
	TU_ADD(s, test_refused);
	TU_ADD(s, test_trunk_down);
	TU_ADD(s, test_cache);
	TU_ADD(s, test_route_conflicts);
	TU_ADD(s, test_media_addr);
	TU_ADD(s, test_rewrite_shared);
	TU_ADD(s, test_status_map);
	TU_ADD(s, test_lpm_reference);
	TU_ADD(s, test_store_threads);
}
