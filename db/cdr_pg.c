/* CDR batches into PostgreSQL: COPY (text format) into a per-session
   staging table, then one INSERT .. ON CONFLICT DO NOTHING into the
   partitioned cdr table, so replaying a batch inserts nothing twice. */
#define LOG_MODULE "cdr"
#include "db/cdr_int.h"

#include <errno.h>
#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "stack/log.h"

#define COLS                                                                   \
	"id, attempt_at, node, a_callid, b_callid, session_id, src_trunk, "    \
	"dst_trunk, calling_in, called_in, calling_out, called_out, "          \
	"provisional_at, answer_at, end_at, duration_ms, billable_s, "         \
	"disposition, hangup, a_status, a_reason, b_status, b_reason, "        \
	"routes, a_codecs, b_codecs, a_srtp, b_srtp, ab_packets, ab_lost, "    \
	"ab_jitter_us, ab_mos, ba_packets, ba_lost, ba_jitter_us, ba_mos"

#define MONTHS_CACHED 8

struct cdr_pg {
	PGconn *c;
	struct cdr_buf buf;
	int months[MONTHS_CACHED]; /* yyyy*12+mm with a partition ensured */
	unsigned nmonths;
};

/* ---- COPY text encoding --------------------------------------------- */

int
cdr_buf_need(struct cdr_buf *b, size_t n)
{
	size_t cap;
	char *p;

	if (b->cap - b->len >= n)
		return 0;
	cap = b->cap ? b->cap : 65536;
	while (cap - b->len < n)
		cap *= 2;
	p = realloc(b->p, cap);
	if (!p)
		return ENOMEM;
	b->p = p;
	b->cap = cap;
	return 0;
}

/* Length of the valid UTF-8 sequence at s (RFC 3629), 0 if invalid. */
static size_t
utf8_len(const unsigned char *s)
{
	unsigned char c = s[0];
	size_t n, i;

	if (c < 0x80)
		return 1;
	if (c >= 0xc2 && c <= 0xdf)
		n = 2;
	else if (c >= 0xe0 && c <= 0xef)
		n = 3;
	else if (c >= 0xf0 && c <= 0xf4)
		n = 4;
	else
		return 0;
	for (i = 1; i < n; i++)
		if ((s[i] & 0xc0) != 0x80)
			return 0;
	if ((c == 0xe0 && s[1] < 0xa0) || (c == 0xed && s[1] > 0x9f) ||
	    (c == 0xf0 && s[1] < 0x90) || (c == 0xf4 && s[1] > 0x8f))
		return 0;
	return n;
}

/* Text from SIP may hold anything: keep valid UTF-8, turn control bytes
   and invalid sequences into '?', escape COPY's specials. The server
   would refuse invalid UTF-8 and a refused row must never exist. */
static void
put_text(struct cdr_buf *b, const char *s)
{
	const unsigned char *u = (const unsigned char *)s;
	size_t n;

	while (*u) {
		char *o = b->p + b->len;

		if (*u == '\\' || *u == '\t' || *u == '\n' || *u == '\r') {
			o[0] = '\\';
			o[1] = *u == '\\'   ? '\\'
			       : *u == '\t' ? 't'
			       : *u == '\n' ? 'n'
					    : 'r';
			b->len += 2;
			u++;
			continue;
		}
		n = *u < 0x20 || *u == 0x7f ? 0 : utf8_len(u);
		if (!n) {
			o[0] = '?';
			b->len++;
			u++;
			continue;
		}
		memcpy(o, u, n);
		b->len += n;
		u += n;
	}
}

static void
put_raw(struct cdr_buf *b, const char *s)
{
	size_t n = strlen(s);

	memcpy(b->p + b->len, s, n);
	b->len += n;
}

static void
put_fmt(struct cdr_buf *b, const char *fmt, long long v)
{
	b->len += (size_t)snprintf(b->p + b->len, 32, fmt, v);
}

/* A timestamptz literal in UTC with milliseconds; \N for 0 if nullable. */
static void
put_time(struct cdr_buf *b, int64_t ms, bool nullable)
{
	time_t s = (time_t)(ms >= 0 ? ms / 1000 : (ms - 999) / 1000);
	struct tm tm;

	if (ms == 0 && nullable) {
		put_raw(b, "\\N");
		return;
	}
	gmtime_r(&s, &tm);
	b->len += (size_t)snprintf(
		b->p + b->len, 48, "%04d-%02d-%02d %02d:%02d:%02d.%03d+00",
		tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
		tm.tm_min, tm.tm_sec, (int)(ms - (int64_t)s * 1000));
}

/* The route attempts as a JSON array, JSON-escaped then COPY-escaped. */
static void
put_routes(struct cdr_buf *b, const struct cdr_rec *r)
{
	char js[CDR_ROUTES_MAX * (CDR_TARGET_SZ * 6 + 64) + 8];
	size_t o = 0, i;
	const unsigned char *t;

	js[o++] = '[';
	for (i = 0; i < r->nroutes && i < CDR_ROUTES_MAX; i++) {
		o += (size_t)snprintf(js + o, 16, "%s{\"target\":\"",
				      i ? "," : "");
		for (t = (const unsigned char *)r->routes[i].target; *t; t++) {
			if (*t == '"' || *t == '\\' || *t < 0x20)
				o += (size_t)snprintf(js + o, 8, "\\u%04x", *t);
			else
				js[o++] = (char)*t;
		}
		o += (size_t)snprintf(
			js + o, 64, "\",\"status\":%u,\"start_ms\":%lld}",
			r->routes[i].status, (long long)r->routes[i].start_ms);
	}
	js[o++] = ']';
	js[o] = '\0';
	put_text(b, js);
}

static void
put_media(struct cdr_buf *b, const struct cdr_media *m)
{
	put_fmt(b, "\t%lld",
		(long long)(m->packets > INT64_MAX ? INT64_MAX : m->packets));
	put_fmt(b, "\t%lld",
		(long long)(m->lost > INT64_MAX ? INT64_MAX : m->lost));
	put_fmt(b, "\t%lld", (long long)m->jitter_us);
	if (m->mos)
		put_fmt(b, "\t%lld", (long long)m->mos);
	else
		put_raw(b, "\t\\N");
}

static void
put_tab_text(struct cdr_buf *b, const char *s)
{
	put_raw(b, "\t");
	put_text(b, s);
}

int
cdr_copy_line(struct cdr_buf *b, const struct cdr_rec *r)
{
	char id[CDR_ID_TEXT_SZ];

	/* Bound: a text byte may double; a JSON byte grow 6x, then double. */
	if (cdr_buf_need(b, 4 * sizeof(*r) +
				    16 * CDR_ROUTES_MAX * CDR_TARGET_SZ + 1024))
		return ENOMEM;
	cdr_id_text(r->id, id);
	put_raw(b, id);
	put_raw(b, "\t");
	put_time(b, r->attempt_ms, false);
	put_tab_text(b, r->node);
	put_tab_text(b, r->a_callid);
	put_tab_text(b, r->b_callid);
	put_tab_text(b, r->session_id);
	put_tab_text(b, r->src_trunk);
	put_tab_text(b, r->dst_trunk);
	put_tab_text(b, r->calling_in);
	put_tab_text(b, r->called_in);
	put_tab_text(b, r->calling_out);
	put_tab_text(b, r->called_out);
	put_raw(b, "\t");
	put_time(b, r->provisional_ms, true);
	put_raw(b, "\t");
	put_time(b, r->answer_ms, true);
	put_raw(b, "\t");
	put_time(b, r->end_ms, false);
	put_fmt(b, "\t%lld", (long long)r->duration_ms);
	put_fmt(b, "\t%lld", (long long)r->billable_s);
	put_tab_text(b, cdr_disp_name(r->disp));
	put_tab_text(b, cdr_side_name(r->hangup));
	put_fmt(b, "\t%lld", (long long)r->a_status);
	put_tab_text(b, r->a_reason);
	if (r->b_status)
		put_fmt(b, "\t%lld", (long long)r->b_status);
	else
		put_raw(b, "\t\\N");
	put_tab_text(b, r->b_reason);
	put_raw(b, "\t");
	put_routes(b, r);
	put_tab_text(b, r->a_codecs);
	put_tab_text(b, r->b_codecs);
	put_raw(b, r->a_srtp ? "\tt" : "\tf");
	put_raw(b, r->b_srtp ? "\tt" : "\tf");
	put_media(b, &r->ab);
	put_media(b, &r->ba);
	put_raw(b, "\n");
	return 0;
}

/* ---- the connection ------------------------------------------------- */

/* The first line of libpq's message only: the DETAIL lines that follow
   may quote a whole row, numbers included, which logs must not carry. */
static void
set_err(char *err, size_t errsz, const char *what, PGconn *c)
{
	const char *m = PQerrorMessage(c);
	size_t n = strcspn(m, "\n");

	if (err && errsz)
		snprintf(err, errsz, "%s: %.*s", what, (int)n, m);
}

/* A failed statement's SQLSTATE as our errno: EEXIST for a unique
   violation (the row is in already), EBADMSG for the other data errors
   (classes 22 and 23) while the connection is fine, else EIO. */
static int
classify(PGconn *c, const PGresult *r)
{
	const char *code = PQresultErrorField(r, PG_DIAG_SQLSTATE);

	if (!code || PQstatus(c) != CONNECTION_OK)
		return EIO;
	if (!strcmp(code, "23505"))
		return EEXIST;
	if (!strncmp(code, "22", 2) || !strncmp(code, "23", 2))
		return EBADMSG;
	return EIO;
}

/* Run sql; 0 or classify()'s errno. */
static int
run(PGconn *c, const char *sql, const char *what, char *err, size_t errsz,
    PGresult **rp)
{
	PGresult *r = PQexec(c, sql);
	ExecStatusType st = PQresultStatus(r);
	int ret = 0;

	if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK &&
	    st != PGRES_COPY_IN) {
		set_err(err, errsz, what, c);
		ret = classify(c, r);
	}
	if (rp && !ret)
		*rp = r;
	else
		PQclear(r);
	return ret;
}

static int
month_of(int64_t ms)
{
	time_t s = (time_t)(ms >= 0 ? ms / 1000 : (ms - 999) / 1000);
	struct tm tm;

	gmtime_r(&s, &tm);
	return (tm.tm_year + 1900) * 12 + tm.tm_mon;
}

/* Make sure the month m (yyyy*12+mm) has its partition, once per
   connection; a failure (e.g. rows of that month already in the default
   partition) leaves the rows to cdr_default, which is still correct. */
static int
ensure_month(struct cdr_pg *pg, int m, char *err, size_t errsz)
{
	char sql[128];
	unsigned i;
	int ret;

	for (i = 0; i < pg->nmonths && i < MONTHS_CACHED; i++)
		if (pg->months[i] == m)
			return 0;
	snprintf(sql, sizeof(sql),
		 "SELECT cdr_partition_ensure('%04d-%02d-01 00:00+00')", m / 12,
		 m % 12 + 1);
	ret = run(pg->c, sql, "cdr_partition_ensure", err, errsz, NULL);
	if (!ret)
		pg->months[pg->nmonths++ % MONTHS_CACHED] = m;
	return ret ? EIO : 0;
}

int
cdr_pg_open(struct cdr_pg **pgp, const char *dsn, char *err, size_t errsz)
{
	/* Bounds on a dead network, so that the thread (and a stop) never
	   waits forever; settings in dsn, which comes last, win. */
	static const char *const kw[] = {
		"connect_timeout",  "keepalives_idle", "keepalives_interval",
		"keepalives_count", "dbname",	       NULL};
	const char *val[] = {"10", "30", "10", "3", dsn, NULL};
	struct cdr_pg *pg = calloc(1, sizeof(*pg));
	int64_t now = (int64_t)time(NULL) * 1000;
	int ret = ENOMEM;

	if (!pg)
		return ENOMEM;
	pg->c = PQconnectdbParams(kw, val, 1);
	if (PQstatus(pg->c) != CONNECTION_OK) {
		set_err(err, errsz, "connect", pg->c);
		ret = EIO;
		goto out;
	}
	PQclear(PQexec(pg->c, "SET client_min_messages = warning"));
	ret = run(pg->c,
		  "CREATE TEMP TABLE cdr_in ON COMMIT DELETE ROWS AS "
		  "SELECT " COLS " FROM cdr WITH NO DATA",
		  "staging table", err, errsz, NULL);
	if (!ret)
		ret = ensure_month(pg, month_of(now), err, errsz);
	if (!ret)
		ret = ensure_month(pg, month_of(now) + 1, err, errsz);
out:
	if (ret) {
		ret = ret == ENOMEM ? ENOMEM : EIO;
		cdr_pg_close(pg);
		return ret;
	}
	*pgp = pg;
	return 0;
}

void
cdr_pg_close(struct cdr_pg *pg)
{
	if (!pg)
		return;
	PQfinish(pg->c);
	free(pg->buf.p);
	free(pg);
}

/* COPY the prepared lines into table. */
static int
copy_in(struct cdr_pg *pg, const char *table, char *err, size_t errsz)
{
	char sql[sizeof(COLS) + 64];
	PGresult *r;
	int ret;

	snprintf(sql, sizeof(sql), "COPY %s (" COLS ") FROM STDIN", table);
	ret = run(pg->c, sql, "copy", err, errsz, NULL);
	if (ret)
		return ret;
	if (PQputCopyData(pg->c, pg->buf.p, (int)pg->buf.len) != 1 ||
	    PQputCopyEnd(pg->c, NULL) != 1) {
		set_err(err, errsz, "copy data", pg->c);
		return EIO;
	}
	while ((r = PQgetResult(pg->c))) {
		if (PQresultStatus(r) != PGRES_COMMAND_OK && !ret) {
			set_err(err, errsz, "copy", pg->c);
			ret = classify(pg->c, r);
		}
		PQclear(r);
	}
	return ret;
}

/* Idempotent: COPY into the staging table, then INSERT .. ON CONFLICT
   DO NOTHING, in one transaction. */
static int
insert_idem(struct cdr_pg *pg, uint64_t *inserted, char *err, size_t errsz)
{
	PGresult *r = NULL;
	int ret = run(pg->c, "BEGIN", "begin", err, errsz, NULL);

	if (!ret)
		ret = copy_in(pg, "cdr_in", err, errsz);
	if (!ret)
		ret = run(pg->c,
			  "INSERT INTO cdr (" COLS ") SELECT " COLS
			  " FROM cdr_in ON CONFLICT DO NOTHING",
			  "insert", err, errsz, &r);
	if (!ret) {
		*inserted = strtoull(PQcmdTuples(r), NULL, 10);
		PQclear(r);
		ret = run(pg->c, "COMMIT", "commit", err, errsz, NULL);
	}
	if (ret && PQstatus(pg->c) == CONNECTION_OK)
		PQclear(PQexec(pg->c, "ROLLBACK"));
	return ret;
}

int
cdr_pg_insert(struct cdr_pg *pg, const struct cdr_rec *recs, size_t n,
	      bool idem, uint64_t *inserted, char *err, size_t errsz)
{
	size_t i;
	int ret = 0;

	*inserted = 0;
	pg->buf.len = 0;
	/* Each month met, and the one after it: partitions stay ahead. */
	for (i = 0; i < n && !ret; i++) {
		int m = month_of(recs[i].attempt_ms);

		ret = ensure_month(pg, m, err, errsz);
		if (!ret)
			ret = ensure_month(pg, m + 1, err, errsz);
	}
	for (i = 0; i < n && !ret; i++)
		ret = cdr_copy_line(&pg->buf, &recs[i]);
	if (ret)
		return ret;
	if (idem) {
		ret = insert_idem(pg, inserted, err, errsz);
	} else {
		/* One COPY is one transaction: all rows or none. */
		ret = copy_in(pg, "cdr", err, errsz);
		if (!ret)
			*inserted = n;
	}
	if (ret)
		*inserted = 0;
	return ret;
}
