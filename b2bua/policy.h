/* The call's policy source: one routing path (db/pol.h pol_route) over a
   snapshot that comes either from PostgreSQL (the db_watch thread keeps
   it live) or from the static [route.*] table of the config file,
   compiled into the same kind of snapshot, so a lab without a database
   routes exactly as the database would. */
#ifndef TANDEM_B2B_POLICY_H
#define TANDEM_B2B_POLICY_H

#include <stddef.h>
#include <stdint.h>

#include "cfg.h"
#include "db/pol.h"

struct bpol;

/*
 * Compile the static table of c into a snapshot: one inbound trunk
 * "static-in" matching c->sources (any address when empty), per route
 * and target one outbound trunk "ROUTE/N" in the target order, the
 * route's prefix (longest prefix wins, as in the database) and failover
 * codes, and strip/add as the targets' outbound rewrite of the called
 * number. Returns 0, EINVAL (err says why), ENOMEM.
 */
int bpol_static_build(const struct cfg *c, int64_t now, struct pol_snap **snapp,
		      char *err, size_t errsz);

/*
 * Start the policy source of c: c->db_dsn set: the database watcher
 * (calls get 503 until the first snapshot is loaded; a database outage
 * keeps the last good one); else the static table, compiled now.
 * Returns 0 or an errno with err set.
 */
int bpol_start(struct bpol **pp, const struct cfg *c, char *err, size_t errsz);
/* SIGHUP: recompile the static table of c (the database source reloads
   by itself on NOTIFY). Keeps the old snapshot on error. */
int bpol_reload(struct bpol *p, const struct cfg *c, char *err, size_t errsz);
/* The current snapshot (a new reference: pol_snap_deref()) or NULL. Any
   thread. */
struct pol_snap *bpol_get(struct bpol *p);
/* True when the snapshot comes from the database. */
int bpol_is_db(const struct bpol *p);
void bpol_stop(struct bpol *p);

#endif
