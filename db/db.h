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

#endif
