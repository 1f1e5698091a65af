/* Schema migrations: the embedded db/migrations applied in order, once,
   in one transaction under an advisory lock. */
#define LOG_MODULE "db"
#include "db/db.h"
#include "db/db_int.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "stack/log.h"

/* pg_advisory_xact_lock key: "tandem" + schema, any fixed 64-bit value. */
#define MIGRATE_LOCK_KEY "7451337300000001"

int
db_schema_version(void)
{
	if (db_migrations_count == 0)
		return 0;
	return db_migrations[db_migrations_count - 1].version;
}

/* Run one command; on failure copy what and PostgreSQL's message to err. */
static int
exec_ok(PGconn *c, const char *sql, const char *what, char *err, size_t errsz)
{
	PGresult *r = PQexec(c, sql);
	ExecStatusType st = PQresultStatus(r);
	int ret = 0;

	if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) {
		if (err)
			snprintf(err, errsz, "%s: %s", what, PQerrorMessage(c));
		ret = EIO;
	}
	PQclear(r);
	return ret;
}

/* Is version v recorded in schema_migrations? -1 on error. */
static int
is_applied(PGconn *c, int v, char *err, size_t errsz)
{
	char vs[16];
	const char *params[1] = {vs};
	PGresult *r;
	int ret;

	snprintf(vs, sizeof(vs), "%d", v);
	r = PQexecParams(c,
			 "SELECT 1 FROM schema_migrations WHERE version = $1",
			 1, NULL, params, NULL, NULL, 0);
	if (PQresultStatus(r) != PGRES_TUPLES_OK) {
		if (err)
			snprintf(err, errsz, "schema_migrations: %s",
				 PQerrorMessage(c));
		ret = -1;
	} else {
		ret = PQntuples(r) > 0;
	}
	PQclear(r);
	return ret;
}

static int
record(PGconn *c, const struct db_migration *m, char *err, size_t errsz)
{
	char vs[16];
	const char *params[2] = {vs, m->name};
	PGresult *r;
	int ret = 0;

	snprintf(vs, sizeof(vs), "%d", m->version);
	r = PQexecParams(c,
			 "INSERT INTO schema_migrations (version, name) "
			 "VALUES ($1, $2)",
			 2, NULL, params, NULL, NULL, 0);
	if (PQresultStatus(r) != PGRES_COMMAND_OK) {
		if (err)
			snprintf(err, errsz, "recording migration %04d: %s",
				 m->version, PQerrorMessage(c));
		ret = EIO;
	}
	PQclear(r);
	return ret;
}

/* Apply what is missing; runs inside the open transaction. */
static int
apply_missing(PGconn *c, int *n, char *err, size_t errsz)
{
	char what[128];
	size_t i;
	int err2, a;

	for (i = 0; i < db_migrations_count; i++) {
		const struct db_migration *m = &db_migrations[i];

		a = is_applied(c, m->version, err, errsz);
		if (a < 0)
			return EIO;
		if (a)
			continue;
		snprintf(what, sizeof(what), "migration %04d_%s", m->version,
			 m->name);
		err2 = exec_ok(c, m->sql, what, err, errsz);
		if (!err2)
			err2 = record(c, m, err, errsz);
		if (err2)
			return err2;
		LOG_INFO("applied %s", what);
		(*n)++;
	}
	return 0;
}

int
db_migrate(PGconn *c, int *applied, char *err, size_t errsz)
{
	int n = 0, ret;

	if (!c)
		return EINVAL;
	if (err && errsz)
		err[0] = '\0';
	ret = exec_ok(c, "BEGIN", "begin", err, errsz);
	if (ret)
		goto out;
	/* Lock first: concurrent CREATE TABLE IF NOT EXISTS can collide. */
	ret = exec_ok(c, "SELECT pg_advisory_xact_lock(" MIGRATE_LOCK_KEY ")",
		      "advisory lock", err, errsz);
	if (!ret)
		ret = exec_ok(c,
			      "CREATE TABLE IF NOT EXISTS schema_migrations ("
			      "version integer PRIMARY KEY, "
			      "name text NOT NULL, "
			      "applied_at timestamptz NOT NULL DEFAULT now())",
			      "schema_migrations", err, errsz);
	if (!ret)
		ret = apply_missing(c, &n, err, errsz);
	if (!ret)
		ret = exec_ok(c, "COMMIT", "commit", err, errsz);
	if (ret) {
		PQclear(PQexec(c, "ROLLBACK"));
		n = 0;
	}
out:
	if (applied)
		*applied = n;
	return ret;
}
