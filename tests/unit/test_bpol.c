/* Unit tests: the static policy of the config file compiled into a
   routing snapshot (b2bua/policy.c), routed with db/pol.h pol_route the
   way the database policy is: longest prefix, strip/add rewrite per
   target, target order, failover codes, the sources allow list. */
#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "b2bua/cfg.h"
#include "b2bua/policy.h"
#include "testutil.h"

static struct cfg c;
static char err[512];

static void
setup(const char *const *ov)
{
	cfg_default(&c);
	for (; *ov; ov++)
		CU_ASSERT_EQUAL_FATAL(cfg_override(&c, *ov, err, sizeof(err)),
				      0);
}

static int
route(struct pol_snap *s, const char *src_ip, const char *called,
      struct pol_verdict *v)
{
	struct sockaddr_in sin = {.sin_family = AF_INET,
				  .sin_port = htons(5070)};
	struct pol_req rq = {.src = (struct sockaddr *)&sin, .now = 1700000000};

	inet_pton(AF_INET, src_ip, &sin.sin_addr);
	rq.called.p = called;
	rq.called.l = strlen(called);
	rq.calling.p = "0301110000";
	rq.calling.l = 10;
	return pol_route(s, &rq, v);
}

static void
test_static_routes(void)
{
	static const char *const ov[] = {
		"route.all.targets=127.0.0.9:5099",
		"route.berlin.prefix=030",
		"route.berlin.strip=1",
		"route.berlin.add=+4930",
		"route.berlin.targets=127.0.0.3:5080,127.0.0.4:5082/tcp",
		"route.berlin.failover=486,503",
		NULL};
	struct pol_snap *s = NULL;
	struct pol_verdict v;

	setup(ov);
	CU_ASSERT_EQUAL_FATAL(
		bpol_static_build(&c, 1700000000, &s, err, sizeof(err)), 0);
	CU_ASSERT_EQUAL_FATAL(pol_verdict_init(&v), 0);
	/* the longer prefix wins, the rewrite is the target's */
	CU_ASSERT_EQUAL(route(s, "127.0.0.2", "0301234567", &v), 0);
	CU_ASSERT_EQUAL(v.status, 0);
	CU_ASSERT_EQUAL_FATAL(v.ntargets, 2);
	CU_ASSERT_STRING_EQUAL(v.targets[0].trunk->host, "127.0.0.3");
	CU_ASSERT_EQUAL(v.targets[0].trunk->port, 5080);
	CU_ASSERT_EQUAL(v.targets[0].trunk->transport, POL_TP_UDP);
	CU_ASSERT_STRING_EQUAL(v.targets[0].called, "+4930301234567");
	CU_ASSERT_STRING_EQUAL(v.targets[1].trunk->host, "127.0.0.4");
	CU_ASSERT_EQUAL(v.targets[1].trunk->transport, POL_TP_TCP);
	CU_ASSERT_EQUAL_FATAL(v.nfailover, 2);
	CU_ASSERT_EQUAL(v.failover[0], 486);
	CU_ASSERT_EQUAL(v.failover[1], 503);
	CU_ASSERT_STRING_EQUAL(v.src->name, "static-in");
	/* the empty prefix takes the rest, number unchanged, default
	   failover set (408, 5xx) */
	CU_ASSERT_EQUAL(route(s, "127.0.0.2", "0401234", &v), 0);
	CU_ASSERT_EQUAL(v.status, 0);
	CU_ASSERT_EQUAL_FATAL(v.ntargets, 1);
	CU_ASSERT_STRING_EQUAL(v.targets[0].trunk->host, "127.0.0.9");
	CU_ASSERT_STRING_EQUAL(v.targets[0].called, "0401234");
	CU_ASSERT_EQUAL(v.nfailover, 5);
	pol_verdict_fini(&v);
	pol_snap_deref(s);
}

static void
test_no_route_and_sources(void)
{
	static const char *const ov[] = {"route.b.prefix=030",
					 "route.b.targets=127.0.0.3:5080",
					 "sip.sources=127.0.0.2/32", NULL};
	struct pol_snap *s = NULL;
	struct pol_verdict v;

	setup(ov);
	CU_ASSERT_EQUAL_FATAL(
		bpol_static_build(&c, 1700000000, &s, err, sizeof(err)), 0);
	CU_ASSERT_EQUAL_FATAL(pol_verdict_init(&v), 0);
	CU_ASSERT_EQUAL(route(s, "127.0.0.2", "0401234", &v), 0);
	CU_ASSERT_EQUAL(v.status, 404);
	CU_ASSERT_EQUAL(route(s, "127.0.0.2", "0301234", &v), 0);
	CU_ASSERT_EQUAL(v.status, 0);
	/* a source outside sip.sources is refused (403) */
	CU_ASSERT_EQUAL(route(s, "127.0.0.5", "0301234", &v), 0);
	CU_ASSERT_EQUAL(v.status, 403);
	pol_verdict_fini(&v);
	pol_snap_deref(s);
	/* a bad CIDR is refused with a reason */
	CU_ASSERT_EQUAL(
		cfg_override(&c, "sip.sources=127.0.0.300/8", err, sizeof(err)),
		0);
	s = NULL;
	CU_ASSERT_NOT_EQUAL(
		bpol_static_build(&c, 1700000000, &s, err, sizeof(err)), 0);
	CU_ASSERT_PTR_NULL(s);
	CU_ASSERT(err[0] != '\0');
}

static void
test_source_lifecycle(void)
{
	static const char *const ov[] = {"route.b.targets=127.0.0.3:5080",
					 NULL};
	struct bpol *p = NULL;
	struct pol_snap *s;
	long live = pol_snap_live();

	setup(ov);
	CU_ASSERT_EQUAL_FATAL(bpol_start(&p, &c, err, sizeof(err)), 0);
	CU_ASSERT_FALSE(bpol_is_db(p));
	s = bpol_get(p);
	CU_ASSERT_PTR_NOT_NULL(s);
	/* a reload publishes a new snapshot; the old one lives while held */
	CU_ASSERT_EQUAL(bpol_reload(p, &c, err, sizeof(err)), 0);
	CU_ASSERT_EQUAL(pol_snap_live(), live + 2);
	pol_snap_deref(s);
	CU_ASSERT_EQUAL(pol_snap_live(), live + 1);
	bpol_stop(p);
	CU_ASSERT_EQUAL(pol_snap_live(), live);
}

/* The snapshot says when it was compiled and how long that took (the
   policy load-time metrics); a loader may replace the duration before
   publishing. */
static void
test_load_time(void)
{
	static const char *const ov[] = {"route.all.targets=127.0.0.9:5099",
					 NULL};
	struct pol_snap *s = NULL;
	struct timespec t0, t1;
	int64_t at, lo, hi;
	uint64_t took;

	setup(ov);
	clock_gettime(CLOCK_REALTIME, &t0);
	CU_ASSERT_EQUAL_FATAL(
		bpol_static_build(&c, 1700000000, &s, err, sizeof(err)), 0);
	clock_gettime(CLOCK_REALTIME, &t1);
	pol_snap_loaded(s, &at, &took);
	lo = (int64_t)t0.tv_sec * 1000 + t0.tv_nsec / 1000000;
	hi = (int64_t)t1.tv_sec * 1000 + t1.tv_nsec / 1000000;
	CU_ASSERT(at >= lo && at <= hi);
	CU_ASSERT(took < 1000000); /* a one-route compile: well under 1 s */
	CU_ASSERT_EQUAL(pol_snap_version(s), 1);
	pol_snap_set_load_us(s, 2500);
	pol_snap_loaded(s, NULL, &took);
	CU_ASSERT_EQUAL(took, 2500);
	pol_snap_loaded(NULL, &at, &took);
	CU_ASSERT_EQUAL(at, 0);
	CU_ASSERT_EQUAL(took, 0);
	pol_snap_deref(s);
}

void test_bpol_register(void);

void
test_bpol_register(void)
{
	CU_pSuite s = tu_suite("bpol");

	TU_ADD(s, test_static_routes);
	TU_ADD(s, test_no_route_and_sources);
	TU_ADD(s, test_source_lifecycle);
	TU_ADD(s, test_load_time);
}
