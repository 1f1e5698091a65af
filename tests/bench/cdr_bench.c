/* Benchmark: the CDR writer (db/cdr.h). Prints the spool's write rate
   (records appended and fdatasync'ed, database down), the replay rate of
   that spool into PostgreSQL, and the steady-state rate of CDRs written
   to PostgreSQL while two threads submit.
     cdr_bench [records]                (default 100000)
   PostgreSQL: $TANDEM_PG_DSN if set (its schema is migrated and its cdr
   table truncated!), else a throw-away cluster started with
   tests/integration/pg.sh in a temporary folder (as root it runs as
   postgres) and stopped at the end. The spool goes to $TMPDIR or /tmp.
   CDR_BATCH=n sets the batch size (default 1000). */
#include <errno.h>
#include <libpq-fe.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "db/cdr.h"
#include "db/cdr_int.h"
#include "db/db.h"

static double
now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void
sleep_ms(int ms)
{
	struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};

	nanosleep(&ts, NULL);
}

/* A realistic record: two routes, media, both Call-IDs, a Reason. */
static void
gen(struct cdr_rec *r, long i, int64_t base)
{
	char s[128];

	memset(r, 0, sizeof(*r));
	r->attempt_ms = base + i;
	cdr_id_make(r->id, r->attempt_ms);
	snprintf(s, sizeof(s), "%08lx-5c3a-4b7e@192.0.2.10", i);
	cdr_strset(r->a_callid, sizeof(r->a_callid), s);
	snprintf(s, sizeof(s), "t3-%08lx-bench", i);
	cdr_strset(r->b_callid, sizeof(r->b_callid), s);
	cdr_strset(r->session_id, sizeof(r->session_id),
		   "ab30317f1a784dc48ff824d0d3715d86");
	cdr_strset(r->src_trunk, sizeof(r->src_trunk), "carrier-a");
	cdr_strset(r->dst_trunk, sizeof(r->dst_trunk), "pbx-1");
	snprintf(s, sizeof(s), "0171%07ld", i % 10000000);
	cdr_strset(r->calling_in, sizeof(r->calling_in), s);
	cdr_strset(r->called_in, sizeof(r->called_in), "030123456");
	snprintf(s, sizeof(s), "+49171%07ld", i % 10000000);
	cdr_strset(r->calling_out, sizeof(r->calling_out), s);
	cdr_strset(r->called_out, sizeof(r->called_out), "+4930123456");
	r->provisional_ms = r->attempt_ms + 150;
	r->answer_ms = i % 3 ? r->attempt_ms + 4000 : 0;
	r->end_ms = r->attempt_ms + 64000;
	cdr_rec_bill(r);
	r->disp = i % 3 ? CDR_D_ANSWERED : CDR_D_BUSY;
	r->hangup = CDR_H_CALLER;
	r->a_status = i % 3 ? 200 : 486;
	r->b_status = r->a_status;
	cdr_strset(r->b_reason, sizeof(r->b_reason), "Q.850;cause=16");
	r->nroutes = 2;
	cdr_strset(r->routes[0].target, CDR_TARGET_SZ, "192.0.2.20:5060/udp");
	r->routes[0].status = 503;
	r->routes[0].start_ms = r->attempt_ms + 10;
	cdr_strset(r->routes[1].target, CDR_TARGET_SZ, "192.0.2.21:5060/udp");
	r->routes[1].status = r->a_status;
	r->routes[1].start_ms = r->attempt_ms + 40;
	cdr_strset(r->a_codecs, sizeof(r->a_codecs), "PCMA,telephone-event");
	cdr_strset(r->b_codecs, sizeof(r->b_codecs), "PCMA,telephone-event");
	r->ab = (struct cdr_media){3000, 2, 1800, 435};
	r->ba = (struct cdr_media){2998, 0, 900, 438};
}

struct sub {
	struct cdr_writer *w;
	long first, n, step;
	int64_t base;
};

static void *
submit_thread(void *a)
{
	struct sub *s = a;
	struct cdr_rec r;
	long i;

	for (i = s->first; i < s->n; i += s->step) {
		gen(&r, i, s->base);
		while (cdr_submit(s->w, &r) == ENOMEM)
			sleep_ms(1);
	}
	return NULL;
}

/* Submit n records from two threads; returns the seconds it took. */
static double
submit(struct cdr_writer *w, long n, int64_t base)
{
	struct sub s[2] = {{w, 0, n, 2, base}, {w, 1, n, 2, base}};
	pthread_t t[2];
	double t0 = now_s();
	int i;

	for (i = 0; i < 2; i++)
		pthread_create(&t[i], NULL, submit_thread, &s[i]);
	for (i = 0; i < 2; i++)
		pthread_join(t[i], NULL);
	return now_s() - t0;
}

/* Wait until the stats field selected by what reaches n. */
static void
wait_for(struct cdr_writer *w, long n, int what, struct cdr_stats *st)
{
	for (;;) {
		cdr_writer_stats(w, st);
		if ((what == 0 && (long)st->spooled >= n) ||
		    (what == 1 && (long)(st->written + st->dup_skipped) >= n))
			return;
		sleep_ms(2);
	}
}

static int
start_cluster(char *dir, char *dsn, size_t dsnsz)
{
	char cmd[1200], line[1200], pgsh[700];
	const char *src = __FILE__;
	FILE *f;

	snprintf(pgsh, sizeof(pgsh), "%.*s/../integration/pg.sh",
		 (int)(strrchr(src, '/') - src), src);
	if (!mkdtemp(dir))
		return -1;
	snprintf(cmd, sizeof(cmd), "'%s' start '%s' >/dev/null", pgsh, dir);
	if (system(cmd) != 0)
		return -1;
	snprintf(line, sizeof(line), "%s/env", dir);
	f = fopen(line, "r");
	while (f && fgets(line, sizeof(line), f))
		if (!strncmp(line, "TANDEM_PG_DSN='", 15)) {
			line[15 + strcspn(line + 15, "'")] = '\0';
			snprintf(dsn, dsnsz, "%s", line + 15);
		}
	if (f)
		fclose(f);
	return dsn[0] ? 0 : -1;
}

static void
stop_cluster(const char *dir)
{
	char cmd[1200];
	const char *src = __FILE__;

	snprintf(cmd, sizeof(cmd),
		 "'%.*s/../integration/pg.sh' stop '%s' && rm -rf '%s'",
		 (int)(strrchr(src, '/') - src), src, dir, dir);
	if (system(cmd) != 0)
		fprintf(stderr, "could not stop the cluster in %s\n", dir);
}

static int
prepare_db(const char *dsn)
{
	PGconn *c = PQconnectdb(dsn);
	char err[512] = "";
	int ret = -1;

	if (PQstatus(c) == CONNECTION_OK &&
	    db_migrate(c, NULL, err, sizeof(err)) == 0) {
		PGresult *r = PQexec(c, "TRUNCATE cdr");

		ret = PQresultStatus(r) == PGRES_COMMAND_OK ? 0 : -1;
		PQclear(r);
	} else {
		fprintf(stderr, "%s %s\n", PQerrorMessage(c), err);
	}
	PQfinish(c);
	return ret;
}

/* Encode + decode alone, one core. */
static void
bench_codec(long n)
{
	static uint8_t f[CDR_FRAME_MAX];
	struct cdr_rec r, d;
	size_t len = 0, used;
	double t0;
	long i, ok = 0;

	gen(&r, 1, 1764765197000LL);
	t0 = now_s();
	for (i = 0; i < n; i++) {
		r.attempt_ms++;
		len = cdr_frame_encode(&r, f);
		ok += cdr_frame_next(f, len, &d, &used) == CDR_F_OK;
	}
	printf("frame encode+decode: %.0f /s (%zu bytes a record, %ld ok)\n",
	       (double)n / (now_s() - t0), len, ok);
}

/* 1. Spool only (the database is down): write rate, fdatasync
   included. */
static int
bench_spool(struct cdr_cfg *cfg, long n, int64_t base)
{
	struct cdr_writer *w = NULL;
	struct cdr_stats st;
	double t0 = now_s(), ts, t;

	cfg->dsn = "host=127.0.0.1 port=1";
	if (cdr_writer_start(&w, cfg) != 0)
		return -1;
	ts = submit(w, n, base);
	wait_for(w, n, 0, &st);
	cdr_writer_stop(w); /* the last fdatasync */
	t = now_s() - t0;
	printf("spool write: %ld records in %.2f s: %.0f /s (%.1f MB/s); "
	       "submit alone %.0f /s from 2 threads\n",
	       n, t, (double)n / t, (double)st.spool_bytes / t / 1e6,
	       (double)n / ts);
	return 0;
}

/* 2. Replay that spool into PostgreSQL, then 3. steady state: 2n more
   submitted while the writer writes. */
static int
bench_db(struct cdr_cfg *cfg, const char *dsn, long n, int64_t base)
{
	struct cdr_writer *w = NULL;
	struct cdr_stats st;
	double t0 = now_s(), ts, t;

	cfg->dsn = dsn;
	if (cdr_writer_start(&w, cfg) != 0)
		return -1;
	wait_for(w, n, 1, &st);
	t = now_s() - t0;
	printf("replay: %llu rows in %.2f s: %.0f rows/s (%llu batches)\n",
	       (unsigned long long)st.written, t, (double)st.written / t,
	       (unsigned long long)st.batches);
	t0 = now_s();
	ts = submit(w, 2 * n, base + 2 * n);
	wait_for(w, 3 * n, 1, &st);
	t = now_s() - t0;
	printf("steady state: %ld CDRs submitted in %.2f s and written in "
	       "%.2f s: %.0f CDRs/s (%llu batches, %llu dup)\n",
	       2 * n, ts, t, (double)(2 * n) / t,
	       (unsigned long long)st.batches,
	       (unsigned long long)st.dup_skipped);
	cdr_writer_stop(w);
	return 0;
}

int
main(int argc, char **argv)
{
	long n = argc > 1 ? atol(argv[1]) : 100000;
	const char *env = getenv("TANDEM_PG_DSN"), *tmp = getenv("TMPDIR");
	const char *batch = getenv("CDR_BATCH");
	char pgdir[] = "/tmp/cdr_bench_pg.XXXXXX", spool[600], dsn[1200] = "";
	int64_t base = (int64_t)time(NULL) * 1000 - 86400000LL;
	struct cdr_cfg cfg = {0};
	char cmd[700];
	int ret = 1;

	if (env && *env)
		snprintf(dsn, sizeof(dsn), "%s", env);
	else if (start_cluster(pgdir, dsn, sizeof(dsn)) != 0)
		return 1;
	snprintf(spool, sizeof(spool), "%s/cdr_bench_spool.%d",
		 tmp ? tmp : "/tmp", (int)getpid());
	cfg.spool_dir = spool;
	cfg.node = "bench";
	cfg.fsync_ms = 100;
	cfg.batch_max = batch ? (unsigned)atoi(batch) : 0;
	bench_codec(n);
	if (prepare_db(dsn) == 0 && bench_spool(&cfg, n, base) == 0 &&
	    bench_db(&cfg, dsn, n, base) == 0)
		ret = 0;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", spool);
	if (system(cmd) != 0)
		fprintf(stderr, "rm %s failed\n", spool);
	if (!(env && *env))
		stop_cluster(pgdir);
	return ret;
}
