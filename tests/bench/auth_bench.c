/*
 * auth_bench: cost of digest authentication (stack/auth_*.c): issuing a
 * challenge, a client answer, and server verification for a user with a
 * password, a user with a stored HA1, a wrong password and an unknown
 * user (these must cost the same, or timing tells which users exist),
 * for MD5 and SHA-256. Each figure is the best of 5 runs (the machine is
 * shared).
 *
 * Usage: auth_bench [iterations]   (default 20000)
 * Prints figures; it is a measurement, not a pass/fail test.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "stack/auth.h"
#include "stack/mem.h"
#include "stack/sip_msg.h"

#define PLS(s) ((struct pl){(s), strlen(s)})

/* Stored HA1s, computed once so the lookup costs a copy, as in memory. */
static char ha1s[AUTH_ALG_COUNT][AUTH_HEX_MAX];

static int
lookup(const struct pl *user, const struct pl *realm, enum auth_alg alg,
       struct auth_secret *sec, void *arg)
{
	struct pl pw = PLS("secret pw");

	(void)arg;
	(void)realm;
	if (pl_eq_str(user, "pass")) {
		sec->is_ha1 = false;
		sec->len = pw.l;
		memcpy(sec->buf, pw.p, pw.l);
		return 0;
	}
	if (pl_eq_str(user, "ha1")) {
		sec->is_ha1 = true;
		sec->len = strlen(ha1s[alg]);
		memcpy(sec->buf, ha1s[alg], sec->len);
		return 0;
	}
	return ENOENT;
}

static double
now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

struct ctx {
	struct auth_server *srv;
	struct auth_req req;
	char ch[512], cr[1024];
	struct sip_auth cha, cra;
};

static void
dec(struct sip_auth *a, const char *s)
{
	struct pl p = PLS(s);

	if (sip_auth_decode(a, &p, NULL))
		abort();
}

/* Fresh credentials of user/pw in c->cra. */
static void
creds(struct ctx *c, enum auth_alg alg, const char *user, const char *pw)
{
	struct auth_cred cred = {PLS(user), PLS(pw)};
	struct auth_client cl;

	if (auth_server_challenge(c->srv, alg, false, NULL, c->ch,
				  sizeof(c->ch)))
		abort();
	dec(&c->cha, c->ch);
	auth_client_init(&cl);
	if (auth_client_answer(&cl, &c->cha, &cred, &c->req, c->cr,
			       sizeof(c->cr)))
		abort();
	dec(&c->cra, c->cr);
}

/* ns per verification of the same credentials (after the first, a
   correct one is a replay: the same hashing work as OK). */
static double
bench_verify(struct ctx *c, enum auth_alg alg, const char *user, const char *pw,
	     unsigned n, enum auth_verdict want)
{
	enum auth_verdict v;
	double t0, t, best = 1e18;
	unsigned i, r;

	creds(c, alg, user, pw);
	if (auth_server_verify(c->srv, &c->cra, &c->req, NULL, &v))
		abort();
	for (r = 0; r < 5; r++) {
		t0 = now_ns();
		for (i = 0; i < n; i++) {
			if (auth_server_verify(c->srv, &c->cra, &c->req, NULL,
					       &v) ||
			    v != want)
				abort();
		}
		t = (now_ns() - t0) / n;
		best = t < best ? t : best;
	}
	return best;
}

static int
cmp_dbl(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

#define BATCH 64
#define ROUNDS 200

/* Median ns per verification of a wrong password and of an unknown user,
   measured in alternating batches so that load on the machine hits both
   alike. */
static void
bench_pair(struct ctx *c, enum auth_alg alg, double *wrong, double *unknown)
{
	static double tw[ROUNDS], tu[ROUNDS];
	struct sip_auth cw, cu;
	char bw[1024], bu[1024];
	enum auth_verdict v;
	unsigned r, i;
	double t0;

	creds(c, alg, "pass", "wrong");
	memcpy(bw, c->cr, sizeof(bw));
	dec(&cw, bw);
	creds(c, alg, "nobody", "secret pw");
	memcpy(bu, c->cr, sizeof(bu));
	dec(&cu, bu);
	for (r = 0; r < ROUNDS; r++) {
		t0 = now_ns();
		for (i = 0; i < BATCH; i++)
			if (auth_server_verify(c->srv, &cw, &c->req, NULL, &v))
				abort();
		tw[r] = (now_ns() - t0) / BATCH;
		t0 = now_ns();
		for (i = 0; i < BATCH; i++)
			if (auth_server_verify(c->srv, &cu, &c->req, NULL, &v))
				abort();
		tu[r] = (now_ns() - t0) / BATCH;
	}
	qsort(tw, ROUNDS, sizeof(tw[0]), cmp_dbl);
	qsort(tu, ROUNDS, sizeof(tu[0]), cmp_dbl);
	*wrong = tw[ROUNDS / 2];
	*unknown = tu[ROUNDS / 2];
}

static void
bench_alg(struct ctx *c, enum auth_alg alg, unsigned n)
{
	struct auth_cred cred = {PLS("pass"), PLS("secret pw")};
	struct auth_client cl;
	double t0, tch, tans, tw, tu;
	unsigned i;

	t0 = now_ns();
	for (i = 0; i < n; i++)
		if (auth_server_challenge(c->srv, alg, false, NULL, c->ch,
					  sizeof(c->ch)))
			abort();
	tch = (now_ns() - t0) / n;
	dec(&c->cha, c->ch);
	t0 = now_ns();
	for (i = 0; i < n; i++) {
		auth_client_init(&cl);
		if (auth_client_answer(&cl, &c->cha, &cred, &c->req, c->cr,
				       sizeof(c->cr)))
			abort();
	}
	tans = (now_ns() - t0) / n;
	printf("%-8s challenge %6.0f ns  answer %6.0f ns\n", auth_alg_name(alg),
	       tch, tans);
	printf("%-8s verify: right pw (replay) %6.0f ns, stored HA1 (replay) "
	       "%6.0f ns, wrong pw %6.0f ns, unknown user %6.0f ns\n",
	       auth_alg_name(alg),
	       bench_verify(c, alg, "pass", "secret pw", n, AUTH_V_REPLAY),
	       bench_verify(c, alg, "ha1", "secret pw", n, AUTH_V_REPLAY),
	       bench_verify(c, alg, "pass", "wrong", n, AUTH_V_FAIL),
	       bench_verify(c, alg, "nobody", "secret pw", n, AUTH_V_FAIL));
	bench_pair(c, alg, &tw, &tu);
	printf("%-8s median of %u alternating batches: wrong pw %6.0f ns, "
	       "unknown user %6.0f ns (%+.1f%%)\n",
	       auth_alg_name(alg), ROUNDS, tw, tu, 100.0 * (tu - tw) / tw);
}

int
main(int argc, char **argv)
{
	struct auth_server_conf conf;
	struct ctx c;
	unsigned n = argc > 1 ? (unsigned)strtoul(argv[1], NULL, 10) : 20000;

	if (!n)
		n = 1;
	n = (n + 4) / 5; /* 5 runs per figure */
	memset(&conf, 0, sizeof(conf));
	memset(&c, 0, sizeof(c));
	conf.realm = "bench.example.org";
	conf.lookup_h = lookup;
	if (auth_server_alloc(&c.srv, &conf))
		return 1;
	for (unsigned a = 0; a < AUTH_ALG_COUNT; a++)
		if (auth_digest_ha1((enum auth_alg)a, &PLS("ha1"),
				    &PLS("bench.example.org"),
				    &PLS("secret pw"), ha1s[a], AUTH_HEX_MAX))
			return 1;
	c.req.method = PLS("INVITE");
	c.req.uri = PLS("sip:bob@bench.example.org");
	bench_alg(&c, AUTH_ALG_MD5, n);
	bench_alg(&c, AUTH_ALG_SHA256, n);
	c.srv = mem_deref(c.srv);
	return 0;
}
