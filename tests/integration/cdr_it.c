/* Integration tests of the CDR writer (db/cdr.h) against a real
   PostgreSQL (the pg fixture of tests/integration/pg.sh): 10,000 CDRs
   from two threads with their content checked, the same with PostgreSQL
   stopped and restarted in the middle, a writer killed with SIGKILL, a
   spool with a torn tail and a corrupt record, a full replay, a refused
   record and a partition made for a new month. */
#include <dirent.h>
#include <errno.h>
#include <libpq-fe.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "db/cdr.h"
#include "db/cdr_int.h"
#include "db/db.h"

#define N_CALLS 10000

static int failures;
static char dsn[1200];	   /* the fixture's database (admin) */
static char cdr_dsn[1300]; /* tandem_cdr */

#define CHECK(cond)                                                            \
	do {                                                                   \
		if (!(cond)) {                                                 \
			fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, \
				__LINE__, #cond);                              \
			failures++;                                            \
		}                                                              \
	} while (0)

/* DSN from $TANDEM_PG_ENVFILE (must exist when set), else $TANDEM_PG_DSN.
   1: found, 0: nothing configured (skip), -1: promised but missing. */
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
		return dsn[0] ? 1 : -1;
	}
	if (d && *d) {
		snprintf(dsn, sizeof(dsn), "%s", d);
		return 1;
	}
	return 0;
}

static PGconn *
conn(const char *d)
{
	PGconn *c = PQconnectdb(d);

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

/* One number from a query on a fresh connection (the cluster may have
   been restarted since the last one). */
static long
query_long(const char *sql)
{
	PGconn *c = conn(cdr_dsn);
	PGresult *r;
	long v = -1;

	if (!c)
		return -1;
	r = PQexec(c, sql);
	if (PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1)
		v = atol(PQgetvalue(r, 0, 0));
	else
		fprintf(stderr, "query %s: %s", sql, PQerrorMessage(c));
	PQclear(r);
	PQfinish(c);
	return v;
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
sleep_ms(int ms)
{
	struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};

	nanosleep(&ts, NULL);
}

/* ---- records ------------------------------------------------------ */

static const uint16_t a_status_of[CDR_D_COUNT] = {200, 486, 480, 487,
						  503, 403, 503};

/* Record i of a run named tag: every field derived from i, mixed
   dispositions; the id is random and kept by the caller. */
static void
gen(struct cdr_rec *r, const char *tag, int i, int64_t base)
{
	enum cdr_disp d = (enum cdr_disp)(i % CDR_D_COUNT);
	char s[128];
	int k;

	memset(r, 0, sizeof(*r));
	r->attempt_ms = base + i * 7;
	if (cdr_id_make(r->id, r->attempt_ms))
		failures++;
	snprintf(s, sizeof(s), "%s-%d@it.example", tag, i);
	cdr_strset(r->a_callid, sizeof(r->a_callid), s);
	snprintf(s, sizeof(s), "b%d-t1", i);
	cdr_strset(r->b_callid, sizeof(r->b_callid), s);
	if (i % 2)
		cdr_strset(r->session_id, sizeof(r->session_id),
			   "ab30317f1a784dc48ff824d0d3715d86");
	cdr_strset(r->src_trunk, sizeof(r->src_trunk), i % 3 ? "c1" : "c2");
	cdr_strset(r->dst_trunk, sizeof(r->dst_trunk), "pbx");
	snprintf(s, sizeof(s), "0171%07d", i);
	cdr_strset(r->calling_in, sizeof(r->calling_in), s);
	snprintf(s, sizeof(s), "+49171%07d", i);
	cdr_strset(r->calling_out, sizeof(r->calling_out), s);
	cdr_strset(r->called_in, sizeof(r->called_in), "030123456");
	cdr_strset(r->called_out, sizeof(r->called_out), "+4930123456");
	r->disp = d;
	r->provisional_ms = i % 5 ? r->attempt_ms + 100 : 0;
	r->answer_ms = d == CDR_D_ANSWERED ? r->attempt_ms + 2000 : 0;
	r->end_ms = r->attempt_ms + 2000 + (i % 100) * 1000 + i % 7;
	cdr_rec_bill(r);
	r->hangup = d == CDR_D_ANSWERED	   ? (enum cdr_side)(1 + i % 3)
		    : d == CDR_D_CANCELLED ? CDR_H_CALLER
					   : CDR_H_CALLEE;
	r->a_status = a_status_of[d];
	r->b_status = d >= CDR_D_REJECTED_POLICY ? 0 : r->a_status;
	if (i % 4 == 0)
		cdr_strset(r->b_reason, sizeof(r->b_reason),
			   "SIP;cause=480;text=\"Temp\\Unavail\ttab\"");
	r->nroutes = d >= CDR_D_REJECTED_POLICY ? 0 : (uint8_t)(1 + i % 3);
	for (k = 0; k < r->nroutes; k++) {
		snprintf(s, sizeof(s), "10.0.%d.%d:5060/udp", k, i % 250);
		cdr_strset(r->routes[k].target, CDR_TARGET_SZ, s);
		r->routes[k].status = k + 1 < r->nroutes ? 503 : r->b_status;
		r->routes[k].start_ms = r->attempt_ms + 10 * k;
	}
	cdr_strset(r->a_codecs, sizeof(r->a_codecs), "PCMA,telephone-event");
	r->a_srtp = i % 2;
	r->b_srtp = i % 3 == 0;
	if (d == CDR_D_ANSWERED) {
		r->ab = (struct cdr_media){(uint64_t)i * 50, (uint64_t)i % 9,
					   1000u + (uint32_t)i, 430};
		r->ba = (struct cdr_media){(uint64_t)i * 49, 0, 800, 0};
	}
}

struct run {
	struct cdr_writer *w;
	struct cdr_rec *recs; /* N_CALLS, generated up front */
	int first, step;
	int pace; /* sleep 1 ms every pace records (0: never) */
};

static void *
submit_thread(void *a)
{
	struct run *r = a;
	int i, n = 0, err;

	for (i = r->first; i < N_CALLS; i += r->step) {
		while ((err = cdr_submit(r->w, &r->recs[i])) == ENOMEM)
			sleep_ms(1);
		if (err)
			failures++;
		if (r->pace && ++n % r->pace == 0)
			sleep_ms(1);
	}
	return NULL;
}

/* Submit recs[] from two threads. */
static void
submit_all(struct cdr_writer *w, struct cdr_rec *recs, int pace,
	   void (*during)(struct cdr_writer *))
{
	struct run r[2] = {{w, recs, 0, 2, pace}, {w, recs, 1, 2, pace}};
	pthread_t t[2];
	int i;

	for (i = 0; i < 2; i++)
		CHECK(pthread_create(&t[i], NULL, submit_thread, &r[i]) == 0);
	if (during)
		during(w);
	for (i = 0; i < 2; i++)
		pthread_join(t[i], NULL);
}

/* Wait until nothing is left to write (ms at most); returns 0 or -1. */
static int
wait_drained(struct cdr_writer *w, int ms, struct cdr_stats *st)
{
	int t;

	for (t = 0; t <= ms; t += 20) {
		cdr_writer_stats(w, st);
		if (st->queue == 0 && st->spool_bytes == 0 &&
		    st->submitted == st->spooled)
			return 0;
		sleep_ms(20);
	}
	fprintf(stderr, "not drained: queue %llu spool %llu\n",
		(unsigned long long)st->queue,
		(unsigned long long)st->spool_bytes);
	return -1;
}

static int
cmp_field(const char *what, int i, const char *got, const char *want)
{
	if (strcmp(got, want) == 0)
		return 0;
	if (failures < 20)
		fprintf(stderr, "row %d: %s: got '%s', want '%s'\n", i, what,
			got, want);
	failures++;
	return 1;
}

static void
cmp_long(const char *what, int i, const char *got, long long want)
{
	char b[32];

	snprintf(b, sizeof(b), "%lld", want);
	cmp_field(what, i, got, b);
}

#define SEL                                                                    \
	"SELECT a_callid, id::text, node, b_callid, session_id, src_trunk, "   \
	"calling_in, calling_out, called_out, disposition, hangup, "           \
	"a_status, coalesce(b_status, 0), b_reason, duration_ms, "             \
	"billable_s, "                                                         \
	"(extract(epoch FROM attempt_at) * 1000)::bigint, "                    \
	"coalesce((extract(epoch FROM provisional_at) * 1000)::bigint, 0), "   \
	"coalesce((extract(epoch FROM answer_at) * 1000)::bigint, 0), "        \
	"(extract(epoch FROM end_at) * 1000)::bigint, "                        \
	"jsonb_array_length(routes), coalesce(routes->-1->>'target', ''), "    \
	"coalesce((routes->-1->>'status')::int, 0), "                          \
	"coalesce((routes->-1->>'start_ms')::bigint, 0), a_codecs, "           \
	"a_srtp::int, b_srtp::int, ab_packets, ab_lost, ab_jitter_us, "        \
	"coalesce(ab_mos, 0), ba_packets, coalesce(ba_mos, 0) FROM cdr "

/* Compare one row with the record it came from. */
static void
check_row(PGresult *res, int row, const struct cdr_rec *r, int i)
{
	const struct cdr_route *last =
		&r->routes[r->nroutes ? r->nroutes - 1 : 0];
	char id[CDR_ID_TEXT_SZ];
	int c = 1;

	cdr_id_text(r->id, id);
	cmp_field("id", i, PQgetvalue(res, row, c++), id);
	cmp_field("node", i, PQgetvalue(res, row, c++), "it-node");
	cmp_field("b_callid", i, PQgetvalue(res, row, c++), r->b_callid);
	cmp_field("session_id", i, PQgetvalue(res, row, c++), r->session_id);
	cmp_field("src_trunk", i, PQgetvalue(res, row, c++), r->src_trunk);
	cmp_field("calling_in", i, PQgetvalue(res, row, c++), r->calling_in);
	cmp_field("calling_out", i, PQgetvalue(res, row, c++), r->calling_out);
	cmp_field("called_out", i, PQgetvalue(res, row, c++), r->called_out);
	cmp_field("disposition", i, PQgetvalue(res, row, c++),
		  cdr_disp_name(r->disp));
	cmp_field("hangup", i, PQgetvalue(res, row, c++),
		  cdr_side_name(r->hangup));
	cmp_long("a_status", i, PQgetvalue(res, row, c++), r->a_status);
	cmp_long("b_status", i, PQgetvalue(res, row, c++), r->b_status);
	cmp_field("b_reason", i, PQgetvalue(res, row, c++), r->b_reason);
	cmp_long("duration", i, PQgetvalue(res, row, c++), r->duration_ms);
	cmp_long("billable", i, PQgetvalue(res, row, c++), r->billable_s);
	cmp_long("attempt", i, PQgetvalue(res, row, c++), r->attempt_ms);
	cmp_long("provisional", i, PQgetvalue(res, row, c++),
		 r->provisional_ms);
	cmp_long("answer", i, PQgetvalue(res, row, c++), r->answer_ms);
	cmp_long("end", i, PQgetvalue(res, row, c++), r->end_ms);
	cmp_long("nroutes", i, PQgetvalue(res, row, c++), r->nroutes);
	cmp_field("route target", i, PQgetvalue(res, row, c++),
		  r->nroutes ? last->target : "");
	cmp_long("route status", i, PQgetvalue(res, row, c++),
		 r->nroutes ? last->status : 0);
	cmp_long("route start", i, PQgetvalue(res, row, c++),
		 r->nroutes ? last->start_ms : 0);
	cmp_field("a_codecs", i, PQgetvalue(res, row, c++), r->a_codecs);
	cmp_long("a_srtp", i, PQgetvalue(res, row, c++), r->a_srtp);
	cmp_long("b_srtp", i, PQgetvalue(res, row, c++), r->b_srtp);
	cmp_long("ab_packets", i, PQgetvalue(res, row, c++),
		 (long long)r->ab.packets);
	cmp_long("ab_lost", i, PQgetvalue(res, row, c++),
		 (long long)r->ab.lost);
	cmp_long("ab_jitter", i, PQgetvalue(res, row, c++), r->ab.jitter_us);
	cmp_long("ab_mos", i, PQgetvalue(res, row, c++), r->ab.mos);
	cmp_long("ba_packets", i, PQgetvalue(res, row, c++),
		 (long long)r->ba.packets);
	cmp_long("ba_mos", i, PQgetvalue(res, row, c++), r->ba.mos);
}

/* Every row of run tag matches recs[] and each index appears once; the
   rows expected are those with want[i] set (NULL: all). Returns rows. */
static long
check_rows(const char *tag, const struct cdr_rec *recs, const char *want)
{
	char sql[2048], *seen = calloc(N_CALLS, 1), pfx[64];
	PGconn *c = conn(cdr_dsn);
	PGresult *res;
	long rows = -1;
	int row, i, missing = 0;

	snprintf(sql, sizeof(sql), "%s WHERE a_callid LIKE '%s-%%'", SEL, tag);
	snprintf(pfx, sizeof(pfx), "%s-", tag);
	if (!c || !seen) {
		CHECK(c && seen);
		goto out;
	}
	res = PQexec(c, sql);
	CHECK(PQresultStatus(res) == PGRES_TUPLES_OK);
	rows = PQntuples(res);
	for (row = 0; row < rows; row++) {
		i = atoi(PQgetvalue(res, row, 0) + strlen(pfx));
		CHECK(i >= 0 && i < N_CALLS && !seen[i]);
		if (i < 0 || i >= N_CALLS || seen[i])
			continue;
		seen[i] = 1;
		check_row(res, row, &recs[i], i);
	}
	PQclear(res);
	for (i = 0; i < N_CALLS; i++)
		missing += seen[i] != (want ? want[i] : 1);
	if (missing)
		fprintf(stderr, "%s: %d row(s) missing or unexpected\n", tag,
			missing);
	CHECK(missing == 0);
out:
	PQfinish(c);
	free(seen);
	return rows;
}

/* ---- the tests ---------------------------------------------------- */

static struct cdr_cfg
cfg_for(const char *spool, const char *d)
{
	struct cdr_cfg cfg;

	memset(&cfg, 0, sizeof(cfg));
	cfg.dsn = d;
	cfg.spool_dir = spool;
	cfg.node = "it-node";
	cfg.fsync_ms = 20;
	cfg.backoff_min_ms = 50;
	cfg.backoff_max_ms = 400;
	return cfg;
}

static struct cdr_rec *
gen_all(const char *tag)
{
	struct cdr_rec *recs = calloc(N_CALLS, sizeof(*recs));
	int64_t base = (int64_t)time(NULL) * 1000 - 3600 * 1000;
	int i;

	for (i = 0; recs && i < N_CALLS; i++)
		gen(&recs[i], tag, i, base);
	return recs;
}

/* Some of the bulk records again, through a fresh spool: the fast plain
   COPY hits the primary key and the batch is redone with ON CONFLICT DO
   NOTHING, so only the one new record goes in. */
static void
test_again(const char *spool, const struct cdr_rec *recs)
{
	struct cdr_cfg cfg;
	struct cdr_writer *w = NULL;
	struct cdr_stats st;
	struct cdr_rec extra;
	char path[700];
	int i;

	gen(&extra, "bulk", N_CALLS, (int64_t)time(NULL) * 1000);
	snprintf(path, sizeof(path), "%s-again", spool);
	cfg = cfg_for(path, cdr_dsn);
	CHECK(cdr_writer_start(&w, &cfg) == 0);
	if (!w)
		return;
	for (i = 0; i < 300; i++)
		CHECK(cdr_submit(w, &recs[i * 7]) == 0);
	CHECK(cdr_submit(w, &extra) == 0);
	CHECK(wait_drained(w, 30000, &st) == 0);
	CHECK(st.dup_skipped == 300 && st.written == 1);
	cdr_writer_stop(w);
	CHECK(query_long("SELECT count(*) FROM cdr WHERE a_callid LIKE "
			 "'bulk-%'") == N_CALLS + 1);
}

/* 10,000 CDRs of mixed outcomes from two threads: exactly 10,000 rows,
   each with its content; then the checkpoint removed so the whole spool
   is replayed: nothing inserted twice. */
static void
test_bulk(const char *spool)
{
	struct cdr_rec *recs = gen_all("bulk");
	struct cdr_cfg cfg = cfg_for(spool, cdr_dsn);
	struct cdr_writer *w = NULL;
	struct cdr_stats st;
	char path[700];

	CHECK(recs != NULL);
	if (!recs || cdr_writer_start(&w, &cfg) != 0) {
		CHECK(!"writer started");
		free(recs);
		return;
	}
	submit_all(w, recs, 0, NULL);
	CHECK(wait_drained(w, 30000, &st) == 0);
	CHECK(st.submitted == N_CALLS && st.written == N_CALLS);
	CHECK(st.dup_skipped == 0 && st.rejected == 0 && st.replayed == 0);
	printf("bulk: %llu rows in %llu batches\n",
	       (unsigned long long)st.written, (unsigned long long)st.batches);
	cdr_writer_stop(w);
	CHECK(check_rows("bulk", recs, NULL) == N_CALLS);
	CHECK(query_long("SELECT count(*) FROM cdr_default") == 0);
	CHECK(query_long("SELECT count(*) FROM pg_inherits WHERE "
			 "inhparent = 'cdr'::regclass") >= 3);

	/* Lose the checkpoint: the last segment is replayed in full. */
	snprintf(path, sizeof(path), "%s/checkpoint", spool);
	CHECK(unlink(path) == 0);
	CHECK(cdr_writer_start(&w, &cfg) == 0);
	if (w) {
		CHECK(wait_drained(w, 30000, &st) == 0);
		CHECK(st.replayed == N_CALLS && st.dup_skipped == N_CALLS);
		CHECK(st.written == 0);
		cdr_writer_stop(w);
	}
	CHECK(query_long("SELECT count(*) FROM cdr WHERE a_callid LIKE "
			 "'bulk-%'") == N_CALLS);
	test_again(spool, recs);
	free(recs);
}

static void
outage(struct cdr_writer *w)
{
	struct cdr_stats st;
	int t;

	for (t = 0; t < 10000; t += 5) {
		cdr_writer_stats(w, &st);
		if (st.submitted >= 3000)
			break;
		sleep_ms(5);
	}
	CHECK(pg_ctl("stop") == 0);
	cdr_writer_stats(w, &st);
	printf("outage: PostgreSQL stopped at %llu submitted, %llu "
	       "written\n",
	       (unsigned long long)st.submitted,
	       (unsigned long long)st.written);
	sleep_ms(800);
	cdr_writer_stats(w, &st);
	CHECK(st.connected == 0);
	CHECK(pg_ctl("resume") == 0);
	printf("outage: PostgreSQL back at %llu submitted, %llu written\n",
	       (unsigned long long)st.submitted,
	       (unsigned long long)st.written);
}

/* The same load with PostgreSQL stopped in the middle and started again:
   still exactly 10,000 rows, no duplicate. */
static void
test_outage(const char *spool)
{
	struct cdr_rec *recs = gen_all("outage");
	struct cdr_cfg cfg = cfg_for(spool, cdr_dsn);
	struct cdr_writer *w = NULL;
	struct cdr_stats st;
	uint64_t *segs = NULL;
	size_t nseg = 9;

	cfg.segment_kb = 256; /* ~16 segments: rotation and deletion */
	if (!recs || cdr_writer_start(&w, &cfg) != 0) {
		CHECK(!"writer started");
		free(recs);
		return;
	}
	submit_all(w, recs, 2, outage);
	CHECK(wait_drained(w, 60000, &st) == 0);
	CHECK(st.submitted == N_CALLS);
	CHECK(st.written + st.dup_skipped == N_CALLS);
	CHECK(st.db_errors >= 1);
	printf("outage: written %llu, dup_skipped %llu, db_errors %llu\n",
	       (unsigned long long)st.written,
	       (unsigned long long)st.dup_skipped,
	       (unsigned long long)st.db_errors);
	CHECK(cdr_spool_list(spool, &segs, &nseg) == 0);
	CHECK(nseg == 1); /* committed segments are gone */
	free(segs);
	cdr_writer_stop(w);
	CHECK(check_rows("outage", recs, NULL) == N_CALLS);
	CHECK(query_long("SELECT count(DISTINCT a_callid) FROM cdr WHERE "
			 "a_callid LIKE 'outage-%'") == N_CALLS);
	free(recs);
}

/* Child: a writer that submits n records, tells the parent once they are
   all in the spool file and at least min_written are in the database,
   and waits to be killed. */
static void
child_writer(const char *spool, const char *d, struct cdr_rec *recs, int n,
	     int fd, int min_written)
{
	struct cdr_cfg cfg = cfg_for(spool, d);
	struct cdr_writer *w = NULL;
	struct cdr_stats st;
	int i;

	if (cdr_writer_start(&w, &cfg) != 0)
		_exit(2);
	for (i = 0; i < n; i++)
		if (cdr_submit(w, &recs[i]) != 0)
			_exit(3);
	do {
		sleep_ms(1);
		cdr_writer_stats(w, &st);
	} while (st.spooled < (uint64_t)n ||
		 st.written < (uint64_t)min_written);
	if (write(fd, "k", 1) != 1)
		_exit(4);
	for (;;)
		pause();
}

/* Fork a writer, SIGKILL it once its n records are spooled and
   min_written of them inserted, then start a new writer on the same spool:
   every record in the database exactly once. d: the DSN the killed writer uses.
 */
static void
test_kill(const char *spool, const char *tag, const char *d, int min_written)
{
	struct cdr_rec *recs = gen_all(tag);
	struct cdr_cfg cfg = cfg_for(spool, cdr_dsn);
	struct cdr_writer *w = NULL;
	struct cdr_stats st;
	char sql[256], *want = calloc(N_CALLS, 1), b;
	int p[2], n = 5000, status, i;
	long before;
	pid_t pid;

	if (!recs || !want || pipe(p) != 0) {
		CHECK(!"setup");
		goto out;
	}
	memset(want, 1, (size_t)n);
	fflush(NULL);
	pid = fork();
	if (pid == 0) {
		close(p[0]);
		child_writer(spool, d, recs, n, p[1], min_written);
	}
	close(p[1]);
	CHECK(read(p[0], &b, 1) == 1);
	close(p[0]);
	kill(pid, SIGKILL);
	CHECK(waitpid(pid, &status, 0) == pid);
	CHECK(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
	/* The killed writer's backend may still be finishing a COPY it had
	   sent whole: count once it is gone. */
	for (i = 0; i < 250 && query_long("SELECT count(*) FROM "
					  "pg_stat_activity WHERE datname = "
					  "'tandem_cdr' AND backend_type = "
					  "'client backend' AND pid <> "
					  "pg_backend_pid()") > 0;
	     i++)
		sleep_ms(20);
	snprintf(sql, sizeof(sql),
		 "SELECT count(*) FROM cdr WHERE a_callid LIKE '%s-%%'", tag);
	before = query_long(sql);
	printf("%s: %ld of %d rows in before the kill\n", tag, before, n);
	CHECK(before >= min_written && before < n);
	CHECK(cdr_writer_start(&w, &cfg) == 0);
	if (w) {
		CHECK(wait_drained(w, 30000, &st) == 0);
		CHECK(st.written == (uint64_t)(n - before));
		CHECK(st.replayed >= st.written);
		printf("%s: replayed %llu, written %llu, dup_skipped %llu\n",
		       tag, (unsigned long long)st.replayed,
		       (unsigned long long)st.written,
		       (unsigned long long)st.dup_skipped);
		cdr_writer_stop(w);
	}
	CHECK(check_rows(tag, recs, want) == n);
out:
	free(want);
	free(recs);
}

/* Offset of frame k in a segment file's bytes. */
static size_t
frame_off(const uint8_t *buf, size_t len, int k)
{
	struct cdr_rec r;
	size_t pos = 0, used;

	while (k-- > 0 && pos < len &&
	       cdr_frame_next(buf + pos, len - pos, &r, &used) == CDR_F_OK)
		pos += used;
	return pos;
}

/* A spool left with a corrupt record in the middle and a torn last
   record: both skipped and counted, all the others written. */
static void
test_torn(const char *spool)
{
	struct cdr_rec *recs = gen_all("torn");
	struct cdr_cfg cfg = cfg_for(spool, "host=127.0.0.1 port=1");
	struct cdr_writer *w = NULL;
	struct cdr_stats st;
	char path[700], *want = calloc(N_CALLS, 1);
	uint8_t *buf = malloc(1 << 20);
	size_t len = 0, off;
	FILE *f;
	int i, n = 100;

	if (!recs || !want || !buf || cdr_writer_start(&w, &cfg) != 0) {
		CHECK(!"setup");
		goto out;
	}
	for (i = 0; i < n; i++)
		CHECK(cdr_submit(w, &recs[i]) == 0);
	cdr_writer_stop(w); /* database down: all of it stays spooled */
	cdr_seg_path(path, sizeof(path), spool, 1);
	f = fopen(path, "r+b");
	CHECK(f != NULL);
	if (f) {
		len = fread(buf, 1, 1 << 20, f);
		off = frame_off(buf, len, 50) + CDR_FRAME_HDR + 30;
		buf[off] ^= 0x10; /* record 50: bad CRC */
		CHECK(fseek(f, (long)off, SEEK_SET) == 0);
		CHECK(fwrite(buf + off, 1, 1, f) == 1);
		fclose(f);
		CHECK(truncate(path, (off_t)len - 10) == 0); /* 99 torn */
	}
	memset(want, 1, (size_t)n);
	want[50] = want[99] = 0;
	cfg.dsn = cdr_dsn;
	CHECK(cdr_writer_start(&w, &cfg) == 0);
	if (w) {
		CHECK(wait_drained(w, 30000, &st) == 0);
		CHECK(st.torn_skipped == 1 && st.corrupt_skipped == 1);
		CHECK(st.written == (uint64_t)n - 2 &&
		      st.replayed == st.written);
		cdr_writer_stop(w);
	}
	CHECK(check_rows("torn", recs, want) == n - 2);
out:
	free(buf);
	free(want);
	free(recs);
}

/* A record the database refuses (a CHECK constraint) costs that record
   only, which is kept in rejected.cdr; a record of a far month gets its
   own partition made on the fly. */
static void
test_rejected(const char *spool)
{
	struct cdr_rec *recs = gen_all("rej"), back;
	struct cdr_cfg cfg = cfg_for(spool, cdr_dsn);
	struct cdr_writer *w = NULL;
	struct cdr_stats st;
	uint8_t buf[CDR_FRAME_MAX];
	char path[700], *want = calloc(N_CALLS, 1);
	size_t used;
	FILE *f;
	int i, n = 50;

	if (!recs || !want || cdr_writer_start(&w, &cfg) != 0) {
		CHECK(!"setup");
		goto out;
	}
	recs[20].duration_ms = -5;	       /* CHECK (duration_ms >= 0) */
	recs[30].attempt_ms = 1935590400000LL; /* 2031-05-03 */
	recs[30].end_ms = recs[30].attempt_ms + 1000;
	for (i = 0; i < n; i++)
		CHECK(cdr_submit(w, &recs[i]) == 0);
	CHECK(wait_drained(w, 30000, &st) == 0);
	CHECK(st.rejected == 1 && st.written == (uint64_t)n - 1);
	cdr_writer_stop(w);
	memset(want, 1, (size_t)n);
	want[20] = 0;
	CHECK(check_rows("rej", recs, want) == n - 1);
	snprintf(path, sizeof(path), "%s/%s", spool, CDR_REJECTED_FILE);
	f = fopen(path, "rb");
	CHECK(f != NULL);
	if (f) {
		size_t len = fread(buf, 1, sizeof(buf), f);

		CHECK(cdr_frame_next(buf, len, &back, &used) == CDR_F_OK);
		CHECK(used == len && !memcmp(back.id, recs[20].id, 16));
		fclose(f);
	}
	CHECK(query_long("SELECT count(*) FROM cdr_203105") == 1);
	CHECK(query_long("SELECT count(*) FROM pg_class WHERE relname = "
			 "'cdr_203106'") == 1);
	CHECK(query_long("SELECT count(*) FROM cdr_default") == 0);
out:
	free(want);
	free(recs);
}

static int
setup_db(void)
{
	PGconn *c = conn(dsn);
	char err[512] = "";
	int ret = -1;

	if (!c)
		return -1;
	if (exec_sql(c, "DROP DATABASE IF EXISTS tandem_cdr") ||
	    exec_sql(c, "CREATE DATABASE tandem_cdr"))
		goto out;
	PQfinish(c);
	snprintf(cdr_dsn, sizeof(cdr_dsn), "%s dbname=tandem_cdr", dsn);
	c = conn(cdr_dsn);
	if (c && db_migrate(c, NULL, err, sizeof(err)) == 0)
		ret = 0;
	else
		fprintf(stderr, "migrate: %s\n", err);
out:
	PQfinish(c);
	return ret;
}

int
main(void)
{
	char base[] = "/tmp/cdr_it.XXXXXX", dir[600], cmd[700];
	int r = get_dsn();

	if (r == 0) {
		printf("SKIP: neither TANDEM_PG_ENVFILE nor TANDEM_PG_DSN "
		       "set\n");
		return 77;
	}
	if (r < 0 || setup_db() != 0 || !mkdtemp(base)) {
		fprintf(stderr, "FAIL: setup\n");
		return 1;
	}
	snprintf(dir, sizeof(dir), "%s/bulk", base);
	test_bulk(dir);
	snprintf(dir, sizeof(dir), "%s/outage", base);
	test_outage(dir);
	snprintf(dir, sizeof(dir), "%s/kill-up", base);
	test_kill(dir, "killup", cdr_dsn, 500);
	snprintf(dir, sizeof(dir), "%s/kill-down", base);
	test_kill(dir, "killdown", "host=127.0.0.1 port=1", 0);
	snprintf(dir, sizeof(dir), "%s/torn", base);
	test_torn(dir);
	snprintf(dir, sizeof(dir), "%s/rejected", base);
	test_rejected(dir);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", base);
	if (system(cmd) != 0)
		failures++;
	printf("%s: %d failure(s)\n", failures ? "FAIL" : "PASS", failures);
	return failures ? 1 : 0;
}
