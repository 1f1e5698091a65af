/* Benchmark: policy compile time, snapshot memory and lookups per second
   on one core, for N random called prefixes (default 100,000), an E.164
   rewrite inbound and R outbound rewrite rules (default 10,000, the
   issue's figure), one on each of R PBX trunks the routes point at in
   turn, so every lookup runs one that matches (strip the '+').
   The called numbers cycle through D distinct random ones (default 4096;
   larger D walks more of the trie cold, as varied live traffic would).
   Usage: pol_bench [routes] [lookups] [rewrites] [distinct];
   POL_BENCH_CIDRS=n gives the first n PBX trunks a /32 source CIDR. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "db/pol.h"

/* Transparent huge pages the process holds (kB), -1 unknown: the
   snapshot asks for them (madvise), and the lookup rate depends on
   whether the kernel could give them (TLB misses otherwise). */
static long
huge_kb(void)
{
	FILE *f = fopen("/proc/self/smaps_rollup", "r");
	char line[256];
	long kb = -1;

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "AnonHugePages: %ld kB", &kb) == 1)
			break;
	fclose(f);
	return kb;
}

static double
now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* CPU time of this thread: the per-core figure on a shared machine */
static double
cpu_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static uint32_t
rnd(uint32_t *x)
{
	*x ^= *x << 13;
	*x ^= *x >> 17;
	*x ^= *x << 5;
	return *x;
}

static void
rand_num(uint32_t *x, char *buf, int len)
{
	int i;

	buf[0] = '+';
	for (i = 1; i < len; i++)
		buf[i] = (char)('0' + rnd(x) % 10);
	buf[len] = '\0';
}

int
main(int argc, char **argv)
{
	long nroutes = argc > 1 ? atol(argv[1]) : 100000;
	long nlook = argc > 2 ? atol(argv[2]) : 2000000;
	long nrw = argc > 3 ? atol(argv[3]) : 10000;
	long nd = argc > 4 ? atol(argv[4]) : 4096, mask;
	/* POL_BENCH_CIDRS=n: the first n PBX trunks get a /32 source CIDR
	   each, as trunks listed by address do */
	const char *nc = getenv("POL_BENCH_CIDRS");
	long ncidr = nc ? atol(nc) : 0;
	struct pol_trunk t = {0};
	struct pol_build *b = NULL;
	struct pol_snap *s = NULL;
	struct pol_rewrite_cfg rw = {
		1,     1,   POL_DIR_IN, POL_F_CALLED, 10, "^00([1-9][0-9]+)$",
		"+$1", true};
	struct pol_verdict v;
	struct sockaddr_in sin;
	struct pol_req req;
	char err[256], (*nums)[24];
	uint32_t x = 12345;
	double t0, t1, c0, c1;
	long i, routed = 0;

	pol_build_alloc(&b);
	t.id = 1;
	t.name = "carrier";
	t.host = "192.0.2.1";
	t.cidrs = "127.0.0.0/8";
	t.enabled = true;
	pol_build_trunk(b, &t);
	pol_build_rewrite(b, &rw);
	for (i = 0; i < nrw; i++) {
		char name[32], cidr[48];
		struct pol_trunk pt = {0};
		struct pol_rewrite_cfg orw = {
			2 + i, 2 + i,		POL_DIR_OUT, POL_F_CALLED,
			10,    "^\\+([0-9]+)$", "00$1",	     true};

		snprintf(name, sizeof(name), "pbx%ld", i);
		if (i < ncidr) /* 127.1.0.1 on: under the carrier's /8 */
			snprintf(cidr, sizeof(cidr), "127.%ld.%ld.%ld/32",
				 1 + i / 65536, i / 256 % 256, i % 256);
		pt.cidrs = i < ncidr ? cidr : NULL;
		pt.id = 2 + i;
		pt.name = name;
		pt.host = "192.0.2.2"; /* never contacted */
		pt.role = POL_ROLE_PBX;
		pt.enabled = true;
		pol_build_trunk(b, &pt);
		pol_build_rewrite(b, &orw);
	}
	for (i = 0; i < nroutes; i++) {
		char p[24];
		/* one priority each: equal random prefixes with equal
		   priorities would be refused as routes that cannot be
		   ordered */
		struct pol_route_cfg r = {i + 1,      0,    NULL, p,   "",
					  (int32_t)i, NULL, 0,	  true};
		struct pol_target_cfg tg = {i + 1, i + 1, nrw ? 2 + i % nrw : 1,
					    0, 1};

		rand_num(&x, p, 3 + (int)(rnd(&x) % 8)); /* 2..9 digits */
		pol_build_route(b, &r);
		pol_build_target(b, &tg);
	}
	t0 = now_s();
	if (pol_build_compile(b, (int64_t)time(NULL), &s, err, sizeof(err))) {
		fprintf(stderr, "compile: %s\n", err);
		return 1;
	}
	t1 = now_s();
	pol_build_free(b);
	printf("routes %ld, outbound rewrites %ld: compile %.3f s, snapshot "
	       "%.1f MB (%.1f MB of the process on huge pages)\n",
	       nroutes, nrw, t1 - t0, (double)pol_snap_memory(s) / 1e6,
	       (double)huge_kb() / 1e3);

	/* a power of two, 1..2^24 */
	for (mask = 1; mask < nd && mask < (1L << 24); mask <<= 1)
		;
	nums = malloc((size_t)mask * sizeof(*nums));
	for (i = 0; i < mask; i++)
		rand_num(&x, nums[i], 12);
	memcpy(nums[0], "004930123456", 13); /* one through the rewrite */
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	memset(&req, 0, sizeof(req));
	req.src = (const struct sockaddr *)&sin;
	pl_set(&req.calling, "+4930111", 8);
	pol_verdict_init(&v);
	mask--;
	t0 = now_s();
	c0 = cpu_s();
	for (i = 0; i < nlook; i++) {
		const char *n = nums[i & mask];

		pl_set(&req.called, n, strlen(n));
		req.rnd = (uint32_t)i;
		pol_route(s, &req, &v);
		routed += v.status == 0;
	}
	t1 = now_s();
	c1 = cpu_s();
	printf("lookups: %ld (%ld distinct numbers) in %.3f s = %.2f M/s "
	       "wall, %.2f M/s per CPU second on one core (%ld routed)\n",
	       nlook, mask + 1, t1 - t0, (double)nlook / (t1 - t0) / 1e6,
	       (double)nlook / (c1 - c0) / 1e6, routed);
	pol_verdict_fini(&v);
	pol_snap_deref(s);
	free(nums);
	return 0;
}
