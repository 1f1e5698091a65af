/* Policy loading: every policy table read in one consistent transaction
   into a builder (pol.h), then compiled. */
#define LOG_MODULE "db"
#include "db/db.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "stack/log.h"

/* NULL for SQL NULL. */
static const char *
val(const PGresult *r, int row, int col)
{
	return PQgetisnull(r, row, col) ? NULL : PQgetvalue(r, row, col);
}

static int64_t
num(const PGresult *r, int row, int col)
{
	const char *v = val(r, row, col);

	return v ? strtoll(v, NULL, 10) : 0;
}

static bool
flag(const PGresult *r, int row, int col)
{
	const char *v = val(r, row, col);

	return v && v[0] == 't';
}

static bool
is(const PGresult *r, int row, int col, const char *s)
{
	const char *v = val(r, row, col);

	return v && strcmp(v, s) == 0;
}

static int
row_trunk(struct pol_build *b, const PGresult *r, int i)
{
	struct pol_trunk t;

	memset(&t, 0, sizeof(t));
	t.id = num(r, i, 0);
	t.name = val(r, i, 1);
	t.role = is(r, i, 2, "pbx") ? POL_ROLE_PBX : POL_ROLE_CARRIER;
	t.group = val(r, i, 3);
	t.host = val(r, i, 4);
	t.port = (uint16_t)num(r, i, 5);
	t.transport = is(r, i, 6, "tls")   ? POL_TP_TLS
		      : is(r, i, 6, "tcp") ? POL_TP_TCP
					   : POL_TP_UDP;
	t.cidrs = val(r, i, 7);
	t.in_port = (uint16_t)num(r, i, 8);
	t.in_user = val(r, i, 9);
	t.in_pass = val(r, i, 10);
	t.out_user = val(r, i, 11);
	t.out_pass = val(r, i, 12);
	t.reg = flag(r, i, 13);
	t.reg_expires = (uint32_t)num(r, i, 14);
	t.codecs = val(r, i, 15);
	t.srtp = is(r, i, 16, "mandatory")  ? POL_SRTP_MANDATORY
		 : is(r, i, 16, "optional") ? POL_SRTP_OPTIONAL
					    : POL_SRTP_OFF;
	t.media_addr = val(r, i, 17);
	t.hdr_pass = is(r, i, 18, "pass");
	t.pai_trust = flag(r, i, 19);
	t.options_s = (uint32_t)num(r, i, 20);
	t.max_calls = (uint32_t)num(r, i, 21);
	t.max_cps = (uint32_t)num(r, i, 22);
	t.enabled = flag(r, i, 23);
	t.status_map = val(r, i, 24);
	t.hdr_list = val(r, i, 25);
	t.hdr_add = val(r, i, 26);
	t.nat = flag(r, i, 27);
	t.relay_3xx = is(r, i, 28, "relay");
	t.keep_ice = flag(r, i, 29);
	return pol_build_trunk(b, &t);
}

static int
row_route(struct pol_build *b, const PGresult *r, int i)
{
	uint16_t fo[POL_FAILOVER_MAX + 1];
	struct pol_route_cfg c;
	const char *p = val(r, i, 6);
	char *end;

	memset(&c, 0, sizeof(c));
	c.id = num(r, i, 0);
	c.src_trunk = num(r, i, 1);
	c.src_group = val(r, i, 2);
	c.called_prefix = val(r, i, 3);
	c.calling_prefix = val(r, i, 4);
	c.priority = (int32_t)num(r, i, 5);
	c.enabled = flag(r, i, 7);
	/* "408,480,503"; more than POL_FAILOVER_MAX is refused by compile */
	while (p && *p && c.nfailover <= POL_FAILOVER_MAX) {
		fo[c.nfailover++] = (uint16_t)strtoul(p, &end, 10);
		p = *end == ',' ? end + 1 : end;
		if (end == p && *p)
			break;
	}
	c.failover = fo;
	return pol_build_route(b, &c);
}

static int
row_window(struct pol_build *b, const PGresult *r, int i)
{
	struct pol_window_cfg w = {
		num(r, i, 0),		num(r, i, 1),
		(uint8_t)num(r, i, 2),	(uint16_t)num(r, i, 3),
		(uint16_t)num(r, i, 4), val(r, i, 5)};

	if (w.end_min == 1440)
		w.end_min = 0;
	return pol_build_window(b, &w);
}

static int
row_target(struct pol_build *b, const PGresult *r, int i)
{
	struct pol_target_cfg t = {num(r, i, 0), num(r, i, 1), num(r, i, 2),
				   (int32_t)num(r, i, 3),
				   (uint32_t)num(r, i, 4)};

	return pol_build_target(b, &t);
}

static int
row_rewrite(struct pol_build *b, const PGresult *r, int i)
{
	struct pol_rewrite_cfg c = {
		num(r, i, 0),
		num(r, i, 1),
		is(r, i, 2, "outbound") ? POL_DIR_OUT : POL_DIR_IN,
		is(r, i, 3, "calling") ? POL_F_CALLING : POL_F_CALLED,
		(int32_t)num(r, i, 4),
		val(r, i, 5),
		val(r, i, 6),
		flag(r, i, 7)};

	return pol_build_rewrite(b, &c);
}

static int
row_list(struct pol_build *b, const PGresult *r, int i)
{
	struct pol_list_cfg l = {
		num(r, i, 0),
		is(r, i, 1, "allow") ? POL_LIST_ALLOW : POL_LIST_BLOCK,
		is(r, i, 2, "calling") ? POL_F_CALLING : POL_F_CALLED,
		val(r, i, 3),
		(uint16_t)num(r, i, 4),
		val(r, i, 5),
		flag(r, i, 6)};

	return pol_build_list(b, &l);
}

static int
row_cid(struct pol_build *b, const PGresult *r, int i)
{
	struct pol_cid_cfg c = {num(r, i, 0),
				num(r, i, 1),
				is(r, i, 2, "outbound") ? POL_DIR_OUT
							: POL_DIR_IN,
				is(r, i, 3, "insert")  ? POL_PAI_INSERT
				: is(r, i, 3, "strip") ? POL_PAI_STRIP
						       : POL_PAI_KEEP,
				val(r, i, 4),
				is(r, i, 5, "id")     ? POL_PRIV_ID
				: is(r, i, 5, "none") ? POL_PRIV_NONE
						      : POL_PRIV_KEEP,
				(int32_t)num(r, i, 6),
				flag(r, i, 7)};

	return pol_build_cid(b, &c);
}

struct table {
	const char *name;
	const char *sql;
	int (*row)(struct pol_build *b, const PGresult *r, int i);
};

static const struct table tables[] = {
	{"trunks",
	 "SELECT id, name, role, trunk_group, host, port, transport, "
	 "array_to_string(inbound_cidrs, ','), inbound_port, inbound_user, "
	 "inbound_password, outbound_user, outbound_password, register, "
	 "register_expires, array_to_string(codecs, ','), srtp, "
	 "media_address, header_policy, pai_trust, options_interval, "
	 "max_calls, max_cps, enabled, array_to_string(status_map, ','), "
	 "array_to_string(header_list, ','), "
	 "array_to_string(header_add, E'\\n'), behind_nat, redirect, "
	 "keep_ice FROM trunks",
	 row_trunk},
	{"routes",
	 "SELECT id, src_trunk_id, src_group, called_prefix, calling_prefix, "
	 "priority, array_to_string(failover_codes, ','), enabled FROM routes",
	 row_route},
	{"route_windows",
	 "SELECT id, route_id, weekdays, "
	 "(extract(epoch FROM start_time) / 60)::int, "
	 "(extract(epoch FROM end_time) / 60)::int, time_zone "
	 "FROM route_windows",
	 row_window},
	{"route_targets",
	 "SELECT id, route_id, trunk_id, priority, weight FROM route_targets",
	 row_target},
	{"rewrite_rules",
	 "SELECT id, coalesce(trunk_id, 0), direction, field, priority, "
	 "pattern, replacement, enabled FROM rewrite_rules",
	 row_rewrite},
	{"number_lists",
	 "SELECT id, kind, field, prefix, status, reason, enabled "
	 "FROM number_lists",
	 row_list},
	{"caller_id_rules",
	 "SELECT id, coalesce(trunk_id, 0), direction, pai, pai_value, "
	 "privacy, priority, enabled FROM caller_id_rules",
	 row_cid},
};

static int
load_table(PGconn *c, struct pol_build *b, const struct table *t, char *err,
	   size_t errsz)
{
	PGresult *r = PQexec(c, t->sql);
	int ret = 0, i;

	if (PQresultStatus(r) != PGRES_TUPLES_OK) {
		snprintf(err, errsz, "%s: %s", t->name, PQerrorMessage(c));
		ret = EIO;
		goto out;
	}
	for (i = 0; !ret && i < PQntuples(r); i++) {
		ret = t->row(b, r, i);
		if (ret == EINVAL)
			snprintf(err, errsz, "%s id=%s: invalid row", t->name,
				 PQgetvalue(r, i, 0));
	}
out:
	PQclear(r);
	return ret;
}

static int
load_version(PGconn *c, struct pol_build *b, char *err, size_t errsz)
{
	PGresult *r = PQexec(c, "SELECT version FROM policy_version");
	int ret = 0;

	if (PQresultStatus(r) != PGRES_TUPLES_OK || PQntuples(r) != 1) {
		snprintf(err, errsz, "policy_version: %s", PQerrorMessage(c));
		ret = EIO;
	} else {
		pol_build_version(b, strtoll(PQgetvalue(r, 0, 0), NULL, 10));
	}
	PQclear(r);
	return ret;
}

int
db_policy_load(PGconn *c, int64_t now, struct pol_snap **snapp, char *err,
	       size_t errsz)
{
	return db_policy_load_cache(c, now, NULL, snapp, err, errsz);
}

int
db_policy_load_cache(PGconn *c, int64_t now, const char *cache,
		     struct pol_snap **snapp, char *err, size_t errsz)
{
	char scratch[8];
	struct pol_build *b = NULL;
	PGresult *r;
	size_t i;
	int ret;

	if (!err || !errsz) {
		err = scratch;
		errsz = sizeof(scratch);
	}
	err[0] = '\0';
	if (!c || !snapp)
		return EINVAL;
	ret = pol_build_alloc(&b);
	if (ret)
		return ret;
	r = PQexec(c, "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY");
	if (PQresultStatus(r) != PGRES_COMMAND_OK) {
		snprintf(err, errsz, "begin: %s", PQerrorMessage(c));
		ret = EIO;
	}
	PQclear(r);
	if (!ret)
		ret = load_version(c, b, err, errsz);
	for (i = 0; !ret && i < sizeof(tables) / sizeof(tables[0]); i++)
		ret = load_table(c, b, &tables[i], err, errsz);
	/* Read only: COMMIT and ROLLBACK are the same; errors already seen. */
	PQclear(PQexec(c, ret ? "ROLLBACK" : "COMMIT"));
	if (!ret)
		ret = pol_build_compile(b, now, snapp, err, errsz);
	if (!ret && cache) {
		char cerr[512];

		/* the policy is good: keep it for a start without the
		   database; failing to is not failing the load */
		if (pol_cache_save(b, cache, cerr, sizeof(cerr)))
			LOG_WARN("policy cache not written: %s", cerr);
	}
	pol_build_free(b);
	return ret;
}

int
db_policy_cache_load(const char *cache, int64_t now, struct pol_snap **snapp,
		     char *err, size_t errsz)
{
	struct pol_build *b = NULL;
	int ret = pol_cache_load(&b, cache, err, errsz);

	if (ret)
		return ret;
	ret = pol_build_compile(b, now, snapp, err, errsz);
	pol_build_free(b);
	return ret;
}
