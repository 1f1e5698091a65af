/* Integration tests of db/ against a real PostgreSQL (the pg fixture of
   tests/integration/pg.sh): migrations, policy loading, live reload. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <libpq-fe.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "db/db.h"

static int failures;
static char dsn[1200];

#define CHECK(cond)                                                            \
	do {                                                                   \
		if (!(cond)) {                                                 \
			fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, \
				__LINE__, #cond);                              \
			failures++;                                            \
		}                                                              \
	} while (0)

/* DSN from $TANDEM_PG_ENVFILE (written by pg.sh; must exist when set:
   the fixture promised a database), else $TANDEM_PG_DSN. 1: found, 0:
   nothing configured (skip), -1: promised but missing (fail). */
static int
get_dsn(void)
{
	const char *envf = getenv("TANDEM_PG_ENVFILE");
	const char *d = getenv("TANDEM_PG_DSN");
	char line[1200];
	FILE *f;

	if (envf && *envf) {
		f = fopen(envf, "r");
		if (!f) {
			fprintf(stderr, "FAIL: %s: %s\n", envf,
				strerror(errno));
			return -1;
		}
		while (fgets(line, sizeof(line), f)) {
			char *v;

			if (strncmp(line, "TANDEM_PG_DSN='", 15) != 0)
				continue;
			v = line + 15;
			v[strcspn(v, "'")] = '\0';
			snprintf(dsn, sizeof(dsn), "%s", v);
		}
		fclose(f);
		if (!dsn[0])
			fprintf(stderr, "FAIL: no TANDEM_PG_DSN in %s\n", envf);
		return dsn[0] ? 1 : -1;
	}
	if (d && *d) {
		snprintf(dsn, sizeof(dsn), "%s", d);
		return 1;
	}
	return 0;
}

static PGconn *
conn_to(const char *dbname)
{
	char d[1300];
	PGconn *c;

	if (dbname)
		snprintf(d, sizeof(d), "%s dbname=%s", dsn, dbname);
	else
		snprintf(d, sizeof(d), "%s", dsn);
	c = PQconnectdb(d);
	if (PQstatus(c) != CONNECTION_OK) {
		fprintf(stderr, "connect %s: %s", d, PQerrorMessage(c));
		PQfinish(c);
		return NULL;
	}
	PQclear(PQexec(c, "SET client_min_messages = warning"));
	return c;
}

static int
exec_sql(PGconn *c, const char *sql)
{
	PGresult *r = PQexec(c, sql);
	int st = PQresultStatus(r);

	PQclear(r);
	if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) {
		fprintf(stderr, "SQL failed: %s: %s", sql, PQerrorMessage(c));
		return -1;
	}
	return 0;
}

static long
query_long(PGconn *c, const char *sql)
{
	PGresult *r = PQexec(c, sql);
	long v = -1;

	if (PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1)
		v = atol(PQgetvalue(r, 0, 0));
	else
		fprintf(stderr, "query %s: %s", sql, PQerrorMessage(c));
	PQclear(r);
	return v;
}

/* ---- migrations --------------------------------------------------- */

struct mig_arg {
	int ret, applied;
	char err[512];
};

static void *
mig_thread(void *a)
{
	struct mig_arg *m = a;
	PGconn *c = conn_to("tandem_mig");

	m->ret = c ? db_migrate(c, &m->applied, m->err, sizeof(m->err)) : -1;
	PQfinish(c);
	return NULL;
}

/* Two processes' worth of db_migrate on a fresh database at once: one
   applies everything, the other waits on the lock and applies nothing. */
static void
test_migrate_concurrent(PGconn *admin)
{
	struct mig_arg a[2];
	pthread_t t[2];
	PGconn *c;
	int i;

	memset(a, 0, sizeof(a));
	CHECK(exec_sql(admin, "DROP DATABASE IF EXISTS tandem_mig") == 0);
	CHECK(exec_sql(admin, "CREATE DATABASE tandem_mig") == 0);
	for (i = 0; i < 2; i++)
		CHECK(pthread_create(&t[i], NULL, mig_thread, &a[i]) == 0);
	for (i = 0; i < 2; i++) {
		pthread_join(t[i], NULL);
		if (a[i].ret)
			fprintf(stderr, "migrate: %s\n", a[i].err);
		CHECK(a[i].ret == 0);
	}
	CHECK(a[0].applied + a[1].applied == db_schema_version());
	CHECK(a[0].applied == 0 || a[1].applied == 0);
	c = conn_to("tandem_mig");
	CHECK(c != NULL);
	if (c) {
		CHECK(query_long(c, "SELECT count(*) FROM schema_migrations") ==
		      db_schema_version());
		PQfinish(c);
	}
	CHECK(exec_sql(admin, "DROP DATABASE tandem_mig") == 0);
}

/* Migrating twice: the second run applies nothing and changes nothing. */
static void
test_migrate_twice(PGconn *c)
{
	char err[512] = "";
	int n = -1;

	CHECK(db_migrate(c, &n, err, sizeof(err)) == 0);
	if (err[0])
		fprintf(stderr, "migrate: %s\n", err);
	CHECK(n == db_schema_version());
	CHECK(db_migrate(c, &n, err, sizeof(err)) == 0);
	CHECK(n == 0);
	CHECK(query_long(c, "SELECT count(*) FROM schema_migrations") ==
	      db_schema_version());
	CHECK(query_long(c, "SELECT version FROM policy_version") >= 1);
	/* A change to a policy table bumps the version (trigger). */
	CHECK(exec_sql(c, "INSERT INTO trunks (name, role, host) VALUES "
			  "('probe', 'pbx', '127.0.0.1')") == 0);
	CHECK(query_long(c, "SELECT version FROM policy_version") >= 2);
	CHECK(exec_sql(c, "DELETE FROM trunks WHERE name = 'probe'") == 0);
}

/* ---- policy loading ------------------------------------------------ */

static int
load_sample(PGconn *c)
{
	FILE *f = fopen(TANDEM_SAMPLE_POLICY, "r");
	static char sql[65536];
	size_t n;

	if (!f) {
		fprintf(stderr, "%s: %s\n", TANDEM_SAMPLE_POLICY,
			strerror(errno));
		return -1;
	}
	n = fread(sql, 1, sizeof(sql) - 1, f);
	fclose(f);
	sql[n] = '\0';
	return exec_sql(c, sql);
}

static void
route_from(const struct pol_snap *s, uint16_t port, const char *called,
	   const char *calling, struct pol_verdict *v)
{
	struct sockaddr_in sin;
	struct pol_req r;

	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_port = htons(port);
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	memset(&r, 0, sizeof(r));
	r.src = (const struct sockaddr *)&sin;
	pl_set(&r.called, called, strlen(called));
	pl_set(&r.calling, calling, strlen(calling));
	r.now = (int64_t)time(NULL);
	CHECK(pol_route(s, &r, v) == 0);
}

/* The sample policy loads and routes both ways; a change notifies. */
static void
test_load_sample(PGconn *c)
{
	struct pol_snap *s = NULL;
	struct pol_verdict v;
	char err[512] = "";
	PGconn *l = conn_to(NULL);
	PGnotify *nt = NULL;
	int i;

	CHECK(load_sample(c) == 0);
	CHECK(db_policy_load(c, (int64_t)time(NULL), &s, err, sizeof(err)) ==
	      0);
	if (err[0])
		fprintf(stderr, "load: %s\n", err);
	if (!s || pol_verdict_init(&v) != 0) {
		CHECK(s != NULL);
		PQfinish(l);
		return;
	}
	CHECK(pol_snap_version(s) ==
	      query_long(c, "SELECT version FROM policy_version"));
	route_from(s, 5070, "030123456", "01711234567", &v);
	CHECK(v.status == 0 && v.ntargets == 1);
	CHECK(strcmp(v.called, "+4930123456") == 0);
	CHECK(strcmp(v.calling, "+491711234567") == 0);
	CHECK(v.ntargets == 1 && strcmp(v.targets[0].trunk->name, "pbx") == 0);
	CHECK(v.targets[0].trunk->port == 5080);
	route_from(s, 5080, "+4940999", "+4930123001", &v);
	CHECK(v.status == 0 && v.ntargets == 1);
	CHECK(v.ntargets == 1 && strcmp(v.targets[0].called, "040999") == 0);
	CHECK(v.ntargets == 1 && v.targets[0].cid.pai == POL_PAI_INSERT);
	route_from(s, 5070, "030123456", "015199999123", &v);
	CHECK(v.status == 603);
	route_from(s, 5090, "030123456", "", &v);
	CHECK(v.status == 403);
	pol_snap_deref(s);
	s = NULL;

	/* trunks.redirect (migration 0004): follow by default, relay read
	   into the snapshot, anything else refused by the table. */
	CHECK(exec_sql(c, "UPDATE trunks SET redirect = 'relay' "
			  "WHERE name = 'pbx'") == 0);
	CHECK(exec_sql(c, "UPDATE trunks SET redirect = 'elsewhere' "
			  "WHERE name = 'pbx'") != 0);
	CHECK(exec_sql(c, "UPDATE trunks SET keep_ice = true "
			  "WHERE name = 'pbx'") == 0);
	CHECK(db_policy_load(c, (int64_t)time(NULL), &s, err, sizeof(err)) ==
	      0);
	if (s) {
		route_from(s, 5070, "030123456", "01711234567", &v);
		CHECK(v.ntargets == 1 && v.targets[0].trunk->relay_3xx);
		CHECK(v.ntargets == 1 && v.targets[0].trunk->keep_ice);
		route_from(s, 5080, "+4940999", "+4930123001", &v);
		CHECK(v.ntargets == 1 && !v.targets[0].trunk->relay_3xx);
		pol_snap_deref(s);
		s = NULL;
	}

	/* A bad regex is refused, naming the row. */
	CHECK(exec_sql(c,
		       "UPDATE rewrite_rules SET pattern = '^(0' "
		       "WHERE id = (SELECT min(id) FROM rewrite_rules)") == 0);
	CHECK(db_policy_load(c, 0, &s, err, sizeof(err)) == EINVAL);
	CHECK(s == NULL);
	CHECK(strstr(err, "rewrite_rules id=") != NULL &&
	      strstr(err, "missing closing parenthesis") != NULL);
	fprintf(stderr, "refused as expected: %s\n", err);

	/* Any change NOTIFYs tandem_policy with the new version. */
	CHECK(l && exec_sql(l, "LISTEN " DB_POLICY_CHANNEL) == 0);
	CHECK(load_sample(c) == 0);
	for (i = 0; l && i < 20 && !nt; i++) {
		struct pollfd p = {PQsocket(l), POLLIN, 0};

		poll(&p, 1, 100);
		PQconsumeInput(l);
		nt = PQnotifies(l);
	}
	CHECK(nt != NULL);
	if (nt) {
		CHECK(strcmp(nt->relname, DB_POLICY_CHANNEL) == 0);
		CHECK(atol(nt->extra) > 0);
		PQfreemem(nt);
	}
	pol_verdict_fini(&v);
	PQfinish(l);
	CHECK(pol_snap_live() == 0);
}

/* ---- live reload ---------------------------------------------------- */

static void
sleep_ms(int ms)
{
	struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};

	nanosleep(&ts, NULL);
}

/* Poll the watcher's stats until pred holds or ms pass; ms waited or -1. */
static int
wait_stats(struct db_watch *w, int ms,
	   int (*pred)(const struct db_watch_stats *, long), long arg,
	   struct db_watch_stats *st)
{
	int t;

	for (t = 0; t <= ms; t += 10) {
		db_watch_stats_get(w, st);
		if (pred(st, arg))
			return t;
		sleep_ms(10);
	}
	return -1;
}

static int
p_version(const struct db_watch_stats *st, long v)
{
	return st->version >= v;
}

static int
p_refused(const struct db_watch_stats *st, long n)
{
	return (long)st->refused >= n;
}

static int
p_cache(const struct db_watch_stats *st, long n)
{
	return st->from_cache == n;
}

static int
p_down(const struct db_watch_stats *st, long n)
{
	(void)n;
	return !st->connected;
}

static int
p_connects(const struct db_watch_stats *st, long n)
{
	return (long)st->connects >= n && st->connected;
}

static int
pg_ctl(const char *cmd)
{
	const char *sh = getenv("TANDEM_PG_SH"), *dir = getenv("TANDEM_PG_DIR");
	char line[2048];

	if (!sh || !dir) {
		fprintf(stderr, "FAIL: TANDEM_PG_SH/TANDEM_PG_DIR unset\n");
		return -1;
	}
	snprintf(line, sizeof(line), "'%s' %s '%s'", sh, cmd, dir);
	return system(line) == 0 ? 0 : -1;
}

static void
route_version(struct pol_store *st, struct pol_verdict *v, uint16_t *status)
{
	struct pol_snap *s = pol_store_get(st);

	*status = 999;
	if (!s)
		return;
	route_from(s, 5070, "030123456", "", v);
	*status = v->status;
	pol_snap_deref(s);
}

/* A watcher started while PostgreSQL is down: the cache file's policy
   (version ver) serves; a damaged cache is refused whole. */
static void
watch_from_cache(const char *cache, long ver)
{
	struct db_watch_cfg cfg = {dsn, 50, 50, 400, 0, cache};
	struct db_watch_stats st;
	struct pol_store *store = NULL;
	struct db_watch *w = NULL;
	struct pol_verdict v;
	char bad[512];
	uint16_t status;
	FILE *f;

	CHECK(pol_verdict_init(&v) == 0);
	CHECK(pol_store_alloc(&store) == 0);
	CHECK(db_watch_start(&w, &cfg, store) == 0);
	if (!w || !store)
		return;
	CHECK(wait_stats(w, 3000, p_cache, 1, &st) >= 0);
	CHECK(st.version == ver && !st.connected);
	route_version(store, &v, &status);
	CHECK(status == 0);
	db_watch_stop(w);
	pol_store_free(store);
	/* the same file cut short: nothing is served from it */
	snprintf(bad, sizeof(bad), "%s.cut", cache);
	{
		FILE *in = fopen(cache, "rb");
		char buf[65536];
		size_t n = in ? fread(buf, 1, sizeof(buf), in) : 0;

		if (in)
			fclose(in);
		f = fopen(bad, "wb");
		CHECK(f != NULL && n > 100);
		if (f) {
			fwrite(buf, 1, n - 40, f);
			fclose(f);
		}
	}
	cfg.cache = bad;
	store = NULL;
	CHECK(pol_store_alloc(&store) == 0);
	CHECK(db_watch_start(&w, &cfg, store) == 0);
	if (w) {
		struct pol_snap *s;

		sleep_ms(600);
		s = pol_store_get(store);
		CHECK(s == NULL);
		pol_snap_deref(s);
		db_watch_stats_get(w, &st);
		CHECK(st.from_cache == 0);
		db_watch_stop(w);
	}
	pol_store_free(store);
	unlink(bad);
	pol_verdict_fini(&v);
}

/* UPDATE -> NOTIFY -> new snapshot within a second; a bad regex refused
   with the last good one kept; PostgreSQL stopped -> still served, and a
   watcher starting then serves the cache file; started again ->
   reconnect and reload. */
static void
test_watch(PGconn *c)
{
	char cache[] = "/tmp/tandem-policy-cache-XXXXXX";
	int cfd = mkstemp(cache);
	struct db_watch_cfg cfg = {dsn, 50, 50, 400, 0, cache};
	struct db_watch_stats st;
	struct pol_store *store = NULL;
	struct db_watch *w = NULL;
	struct pol_verdict v;
	uint16_t status;
	long ver;
	int t;

	CHECK(pol_verdict_init(&v) == 0);
	CHECK(load_sample(c) == 0);
	ver = query_long(c, "SELECT version FROM policy_version");
	CHECK(pol_store_alloc(&store) == 0);
	CHECK(db_watch_start(&w, &cfg, store) == 0);
	if (!w || !store)
		return;
	CHECK(wait_stats(w, 5000, p_version, ver, &st) >= 0);
	route_version(store, &v, &status);
	CHECK(status == 0);
	CHECK(cfd >= 0 && st.from_cache == 0);
	if (cfd >= 0)
		close(cfd);
	{
		FILE *f = fopen(cache, "r");
		char line[64] = "";

		CHECK(f != NULL && fgets(line, sizeof(line), f) &&
		      strcmp(line, "tandem-policy-cache 1\n") == 0);
		if (f)
			fclose(f);
	}

	/* Disable the inbound route: the next lookup finds none. */
	CHECK(exec_sql(c, "UPDATE routes SET enabled = false "
			  "WHERE name = 'did-to-pbx'") == 0);
	ver = query_long(c, "SELECT version FROM policy_version");
	t = wait_stats(w, 1000, p_version, ver, &st);
	printf("reload after UPDATE: %d ms\n", t);
	CHECK(t >= 0);
	route_version(store, &v, &status);
	CHECK(status == 404);

	/* Broken rule: refused, version ver still served. */
	CHECK(exec_sql(c, "INSERT INTO rewrite_rules (direction, field, "
			  "pattern, replacement) VALUES ('inbound', "
			  "'called', '([', 'x')") == 0);
	CHECK(wait_stats(w, 2000, p_refused, 1, &st) >= 0);
	CHECK(st.version == ver);
	CHECK(exec_sql(c, "DELETE FROM rewrite_rules WHERE pattern = '(['") ==
	      0);
	CHECK(exec_sql(c, "UPDATE routes SET enabled = true "
			  "WHERE name = 'did-to-pbx'") == 0);
	ver = query_long(c, "SELECT version FROM policy_version");
	CHECK(wait_stats(w, 2000, p_version, ver, &st) >= 0);

	/* Outage: the last good snapshot keeps routing. */
	PQfinish(c);
	CHECK(pg_ctl("stop") == 0);
	CHECK(wait_stats(w, 5000, p_down, 0, &st) >= 0);
	route_version(store, &v, &status);
	CHECK(status == 0);
	sleep_ms(500); /* a few failed reconnects */
	route_version(store, &v, &status);
	CHECK(status == 0);
	watch_from_cache(cache, ver);
	CHECK(pg_ctl("resume") == 0);
	CHECK(wait_stats(w, 5000, p_connects, 2, &st) >= 0);
	c = conn_to(NULL);
	CHECK(c != NULL);
	if (c) {
		CHECK(exec_sql(c, "UPDATE routes SET enabled = false "
				  "WHERE name = 'did-to-pbx'") == 0);
		ver = query_long(c, "SELECT version FROM policy_version");
		CHECK(wait_stats(w, 2000, p_version, ver, &st) >= 0);
		route_version(store, &v, &status);
		CHECK(status == 404);
		PQfinish(c);
	}
	db_watch_stop(w);
	pol_store_free(store);
	pol_verdict_fini(&v);
	unlink(cache);
	CHECK(pol_snap_live() == 0);
}

int
main(int argc, char **argv)
{
	PGconn *c;
	int r = get_dsn();

	(void)argc;
	(void)argv;
	if (r == 0) {
		printf("SKIP: neither TANDEM_PG_ENVFILE nor TANDEM_PG_DSN "
		       "set\n");
		return 77;
	}
	if (r < 0)
		return 1;
	c = conn_to(NULL);
	if (!c) {
		fprintf(stderr, "FAIL: cannot connect to %s\n", dsn);
		return 1;
	}
	/* The fixture's database starts empty: start from scratch anyway so
	   the test can be re-run against the same cluster. */
	CHECK(exec_sql(c, "DROP SCHEMA public CASCADE; CREATE SCHEMA public") ==
	      0);
	test_migrate_concurrent(c);
	test_migrate_twice(c);
	test_load_sample(c);
	test_watch(c); /* closes c */
	printf("%s: %d failure(s)\n", failures ? "FAIL" : "PASS", failures);
	return failures ? 1 : 0;
}
