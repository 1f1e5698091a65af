/* Policy source for calls (policy.h): static table or database. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define LOG_MODULE "policy"
#include "db/db.h"
#include "policy.h"
#include "stack/log.h"

struct bpol {
	struct pol_store *store;
	struct db_watch *watch; /* NULL: static source */
};

#define TRUNK_IN 1
#define TRUNK_ID(r, t) (100 + (int64_t)(r)*CFG_MAX_TARGETS + (t))

static int
add_route(struct pol_build *b, const struct cfg_route *r, unsigned ri)
{
	struct pol_route_cfg rc = {
		.id = ri + 1,
		.called_prefix = r->prefix,
		.priority = (int32_t)ri,
		.failover = r->failover,
		.nfailover = r->nfailover,
		.enabled = true,
	};
	unsigned t;
	int err = pol_build_route(b, &rc);

	for (t = 0; !err && t < r->ntargets; t++) {
		const struct cfg_target *ct = &r->targets[t];
		char name[48], pat[32], rep[48];
		struct pol_trunk tr = {
			.id = TRUNK_ID(ri, t),
			.name = name,
			.role = POL_ROLE_PBX,
			.host = ct->host,
			.port = ct->port,
			.transport = strcmp(ct->transport, "tcp") ? POL_TP_UDP
								  : POL_TP_TCP,
			.options_s = r->options_s,
			.out_user = r->auth_user[0] ? r->auth_user : NULL,
			.out_pass = r->auth_user[0] ? r->auth_pass : NULL,
			.reg = r->reg && r->auth_user[0],
			.reg_expires = r->reg_expires,
			.srtp = (enum pol_srtp)r->srtp,
			.codecs = r->codecs[0] ? r->codecs : NULL,
			.status_map = r->status_map[0] ? r->status_map : NULL,
			.hdr_pass = r->hdr_pass,
			.nat = r->nat,
			.relay_3xx = r->relay_3xx,
			.keep_ice = r->keep_ice,
			.media_addr = r->media_addr[0] ? r->media_addr : NULL,
			.hdr_list = r->hdr_list[0] ? r->hdr_list : NULL,
			.hdr_add = r->hdr_add[0] ? r->hdr_add : NULL,
			.enabled = true,
		};
		struct pol_target_cfg tc = {
			.id = TRUNK_ID(ri, t),
			.route = ri + 1,
			.trunk = tr.id,
			.priority = (int32_t)t,
			.weight = 1,
		};
		struct pol_rewrite_cfg rw = {
			.id = TRUNK_ID(ri, t),
			.trunk = tr.id,
			.dir = POL_DIR_OUT,
			.field = POL_F_CALLED,
			.pattern = pat,
			.replacement = rep,
			.enabled = true,
		};

		snprintf(name, sizeof(name), "%s/%u", r->name, t + 1);
		err = pol_build_trunk(b, &tr);
		if (!err)
			err = pol_build_target(b, &tc);
		if (err || (!r->strip && !r->add[0]))
			continue;
		snprintf(pat, sizeof(pat), "^.{%u}(.*)$", r->strip);
		snprintf(rep, sizeof(rep), "%s$1", r->add);
		err = pol_build_rewrite(b, &rw);
	}
	return err;
}

int
bpol_static_build(const struct cfg *c, int64_t now, struct pol_snap **snapp,
		  char *err, size_t errsz)
{
	struct pol_trunk in = {
		.id = TRUNK_IN,
		.name = "static-in",
		.role = POL_ROLE_CARRIER,
		.host = c->listen,
		.cidrs = c->sources[0] ? c->sources : "0.0.0.0/0,::/0",
		.in_user = c->auth_user[0] ? c->auth_user : NULL,
		.in_pass = c->auth_user[0] ? c->auth_pass : NULL,
		.srtp = (enum pol_srtp)c->srtp,
		.codecs = c->codecs[0] ? c->codecs : NULL,
		.nat = c->nat,
		.enabled = true,
	};
	struct pol_build *b = NULL;
	unsigned i;
	int e = pol_build_alloc(&b);

	if (e)
		goto out;
	pol_build_version(b, 1);
	e = pol_build_trunk(b, &in);
	for (i = 0; !e && i < c->nroutes; i++)
		e = add_route(b, &c->routes[i], i);
	if (e) {
		snprintf(err, errsz, "static policy: %s", strerror(e));
		goto out;
	}
	e = pol_build_compile(b, now, snapp, err, errsz);
out:
	pol_build_free(b);
	return e;
}

int
bpol_start(struct bpol **pp, const struct cfg *c, char *err, size_t errsz)
{
	struct bpol *p = calloc(1, sizeof(*p));
	int e;

	if (!p)
		return ENOMEM;
	e = pol_store_alloc(&p->store);
	if (e)
		goto fail;
	if (c->db_dsn[0]) {
		struct db_watch_cfg wc = {.dsn = c->db_dsn};
		char cache[300] = "";

		if (!strcmp(c->db_cache, "off"))
			cache[0] = '\0';
		else if (c->db_cache[0])
			snprintf(cache, sizeof(cache), "%s", c->db_cache);
		else if (c->cdr_spool[0])
			snprintf(cache, sizeof(cache), "%s/policy.cache",
				 c->cdr_spool);
		wc.cache = cache;

		e = db_watch_start(&p->watch, &wc, p->store);
		if (e) {
			snprintf(err, errsz, "policy watcher: %s", strerror(e));
			goto fail;
		}
	} else {
		e = bpol_reload(p, c, err, errsz);
		if (e)
			goto fail;
	}
	*pp = p;
	return 0;
fail:
	bpol_stop(p);
	return e;
}

int
bpol_reload(struct bpol *p, const struct cfg *c, char *err, size_t errsz)
{
	struct pol_snap *s = NULL;
	int e;

	if (p->watch)
		return 0;
	e = bpol_static_build(c, (int64_t)time(NULL), &s, err, errsz);
	if (e)
		return e;
	pol_store_set(p->store, s);
	pol_snap_deref(s);
	LOG_INFO("static policy loaded: %u routes", c->nroutes);
	return 0;
}

struct pol_snap *
bpol_get(struct bpol *p)
{
	return pol_store_get(p->store);
}

int
bpol_is_db(const struct bpol *p)
{
	return p->watch != NULL;
}

void
bpol_stop(struct bpol *p)
{
	if (!p)
		return;
	db_watch_stop(p->watch);
	if (p->store)
		pol_store_free(p->store);
	free(p);
}
