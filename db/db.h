/* Database access on the database thread: schema migrations, policy
   loading and the policy watcher (LISTEN/NOTIFY live reload). */
#ifndef TANDEM_DB_H
#define TANDEM_DB_H

#include <libpq-fe.h>
#include <stddef.h>
#include <stdint.h>

#include "db/pol.h"

/* The channel the schema triggers NOTIFY on every policy change. */
#define DB_POLICY_CHANNEL "tandem_policy"

/*
 * Apply every embedded migration (db/migrations/NNNN_name.sql, compiled
 * into the binary) that schema_migrations does not list yet, in version
 * order, in one transaction holding a transaction-scoped advisory lock, so
 * running it twice is a no-op and concurrent runs serialise (the second
 * sees what the first committed). *applied (may be NULL) gets how many
 * were applied now. On failure everything is rolled back and err (may be
 * NULL) names the migration and PostgreSQL's message. Returns 0, EIO on a
 * database error, EINVAL if c is NULL. The connection must be idle (no
 * transaction open).
 */
int db_migrate(PGconn *c, int *applied, char *err, size_t errsz);

/* Highest embedded migration version (what db_migrate brings a database
   to). */
int db_schema_version(void);

/*
 * Read every policy table in one REPEATABLE READ READ ONLY transaction (a
 * consistent view) into a builder and compile it (pol_build_compile) with
 * now (UTC seconds) as the start of the time-zone horizon. On success *snapp
 * holds a new snapshot (one reference, the caller's) whose version is
 * policy_version.version. Errors: EIO (database; err has PQerrorMessage),
 * EINVAL (a row the compiler refused; err names table, id and reason),
 * ENOMEM. *snapp is untouched on error.
 */
int db_policy_load(PGconn *c, int64_t now, struct pol_snap **snapp, char *err,
		   size_t errsz);
/* The same, and on success the rows also go to the local cache file
   (cache NULL: none; a write failure is logged, not returned). */
int db_policy_load_cache(PGconn *c, int64_t now, const char *cache,
			 struct pol_snap **snapp, char *err, size_t errsz);
/* A snapshot from the cache file alone (PostgreSQL unreachable at
   start). 0, or pol_cache_load()'s / the compiler's error in err. */
int db_policy_cache_load(const char *cache, int64_t now,
			 struct pol_snap **snapp, char *err, size_t errsz);

/* Policy watcher: its own thread and connection. */
struct db_watch;

struct db_watch_cfg {
	const char *dsn;	 /* libpq connection string (copied) */
	unsigned debounce_ms;	 /* NOTIFY -> reload delay (0: 100) */
	unsigned backoff_min_ms; /* reconnect back-off start (0: 100) */
	unsigned backoff_max_ms; /* and cap (0: 5000) */
	unsigned refresh_s;	 /* reload at least this often, so time-zone
				    tables never run out (0: 86400) */
	const char *cache;	 /* local copy of the last good policy, read
				    when the database is unreachable before
				    any snapshot was published (copied; NULL
				    or "": none) */
};

/* Counters for tests and /stats; a consistent copy. */
struct db_watch_stats {
	uint64_t loads;	    /* snapshots published */
	uint64_t refused;   /* loads refused (bad policy) */
	uint64_t db_errors; /* connection or query failures */
	uint64_t connects;  /* successful (re)connections */
	int connected;	    /* 1 while the connection is up */
	int64_t version;    /* version of the last published snapshot, or 0 */
	int from_cache;	    /* 1 while serving the cache file's policy */
};

/*
 * Start the watcher thread: connect, LISTEN DB_POLICY_CHANNEL, load and
 * publish into store; on each NOTIFY reload after debounce_ms (notifies in
 * between are folded); on connection loss keep what store holds, reconnect
 * with exponential back-off and reload once back. A policy that fails to
 * compile is refused with a log line naming the row, and the store keeps
 * the last good snapshot. store is borrowed: it must outlive the watcher.
 * Returns 0, EINVAL, ENOMEM or an errno from pthread_create.
 */
int db_watch_start(struct db_watch **wp, const struct db_watch_cfg *cfg,
		   struct pol_store *store);
/* Stop the thread, close its connection and free w (NULL is accepted). */
void db_watch_stop(struct db_watch *w);
void db_watch_stats_get(struct db_watch *w, struct db_watch_stats *st);

#endif
