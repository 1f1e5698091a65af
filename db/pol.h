/* Compiled call policy: a builder fed row by row (from PostgreSQL or a
   test), compiled into an immutable, refcounted snapshot; one lookup per
   call (pol_route) and an atomically swapped current snapshot (pol_store). */
#ifndef TANDEM_POL_H
#define TANDEM_POL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "stack/pl.h"

#define POL_NUM_MAX 64	   /* longest number, NUL included */
#define POL_TARGETS_MAX 16 /* targets a verdict carries */
#define POL_FAILOVER_MAX 16
#define POL_CAPTURES_MAX 16 /* capture groups a rewrite pattern may use */
#define POL_TZ_DAYS 400	    /* time-zone horizon of a snapshot (days) */

enum pol_role { POL_ROLE_CARRIER, POL_ROLE_PBX };
enum pol_transport { POL_TP_UDP, POL_TP_TCP, POL_TP_TLS };
enum pol_srtp { POL_SRTP_OFF, POL_SRTP_OPTIONAL, POL_SRTP_MANDATORY };
enum pol_dir { POL_DIR_IN, POL_DIR_OUT, POL_DIR_COUNT };
enum pol_field { POL_F_CALLED, POL_F_CALLING, POL_F_COUNT };
enum pol_list { POL_LIST_BLOCK, POL_LIST_ALLOW };
enum pol_pai { POL_PAI_KEEP, POL_PAI_INSERT, POL_PAI_STRIP };
enum pol_privacy { POL_PRIV_KEEP, POL_PRIV_NONE, POL_PRIV_ID };

/*
 * A trunk (table trunks). As input to pol_build_trunk() strings are
 * borrowed for the call and copied; in a snapshot every pointer is owned
 * by the snapshot (valid while a reference is held). NULL strings: unset.
 */
struct pol_trunk {
	int64_t id;
	const char *name;
	enum pol_role role;
	const char *group; /* trunk_group, may be NULL */
	const char *host;  /* address or DNS name */
	uint16_t port;
	enum pol_transport transport;
	const char *cidrs;   /* inbound source CIDRs, comma separated */
	uint16_t in_port;    /* inbound source port, 0: any */
	const char *in_user; /* inbound digest credentials */
	const char *in_pass;
	const char *out_user; /* outbound credentials, registration */
	const char *out_pass;
	bool reg;
	uint32_t reg_expires;
	const char *codecs;	/* allow list, comma separated; NULL: any */
	const char *status_map; /* "486=600,503=480": final statuses of
				   attempts toward the trunk answered to the
				   caller as others; NULL: none */
	enum pol_srtp srtp;
	const char *media_addr;
	bool hdr_pass; /* header policy: pass unknown headers (else strip) */
	const char *hdr_list; /* names (comma separated) that are the
				 exceptions: stripped when hdr_pass, passed
				 otherwise; NULL: none */
	const char *hdr_add;  /* "Name: value" lines (LF separated) added
				 toward the trunk, replacing the caller's
				 header of that name; NULL: none */
	bool pai_trust;
	bool nat; /* behind NAT: media latched from any source (RFC 7362) */
	bool keep_ice;	    /* ICE attributes of the other side kept in the
			       SDP sent to the trunk (else removed) */
	bool relay_3xx;	    /* a 3xx from the trunk goes to the caller with its
			       Contacts; else Tandem follows it to a known
			       trunk or answers 480 */
	uint32_t options_s; /* OPTIONS probe interval, 0: off */
	uint32_t max_calls; /* 0: unlimited */
	uint32_t max_cps;
	bool enabled;
};

/* A route (table routes); the called/calling prefixes may be empty. */
struct pol_route_cfg {
	int64_t id;
	int64_t src_trunk;     /* 0: any */
	const char *src_group; /* NULL: any; exclusive with src_trunk */
	const char *called_prefix;
	const char *calling_prefix;
	int32_t priority; /* lower first among equally specific routes */
	const uint16_t *failover;
	size_t nfailover;
	bool enabled;
};

/* A time window (table route_windows): weekdays bit 0 Monday .. bit 6
   Sunday (the day the window starts), minutes of the day [start, end);
   end <= start crosses midnight; tz an IANA zone name. */
struct pol_window_cfg {
	int64_t id;
	int64_t route;
	uint8_t weekdays;
	uint16_t start_min, end_min;
	const char *tz;
};

struct pol_target_cfg {
	int64_t id;
	int64_t route;
	int64_t trunk;
	int32_t priority; /* lower first */
	uint32_t weight;  /* weighted random order within one priority */
};

struct pol_rewrite_cfg {
	int64_t id;
	int64_t trunk; /* 0: every trunk */
	enum pol_dir dir;
	enum pol_field field;
	int32_t priority;
	const char *pattern; /* PCRE2 */
	const char *replacement;
	bool enabled;
};

struct pol_list_cfg {
	int64_t id;
	enum pol_list kind;
	enum pol_field field;
	const char *prefix;
	uint16_t status; /* 403 or 603 */
	const char *reason;
	bool enabled;
};

struct pol_cid_cfg {
	int64_t id;
	int64_t trunk; /* 0: every trunk */
	enum pol_dir dir;
	enum pol_pai pai;
	const char *pai_value; /* insert: NULL means the calling number */
	enum pol_privacy privacy;
	int32_t priority;
	bool enabled;
};

struct pol_build;
struct pol_snap;

/*
 * Builder: collects rows (copying every string), then compiles. Not
 * thread-safe; one builder per load. Each add returns 0, EINVAL (a field
 * out of range: err of pol_build_compile() will not say more, so callers
 * validate their input through the DB schema), or ENOMEM. Rows may come in
 * any order; references between rows are resolved by pol_build_compile().
 */
int pol_build_alloc(struct pol_build **bp);
void pol_build_free(struct pol_build *b);
void pol_build_version(struct pol_build *b, int64_t version);
int pol_build_trunk(struct pol_build *b, const struct pol_trunk *t);
int pol_build_route(struct pol_build *b, const struct pol_route_cfg *r);
int pol_build_window(struct pol_build *b, const struct pol_window_cfg *w);
int pol_build_target(struct pol_build *b, const struct pol_target_cfg *t);
int pol_build_rewrite(struct pol_build *b, const struct pol_rewrite_cfg *r);
int pol_build_list(struct pol_build *b, const struct pol_list_cfg *l);
int pol_build_cid(struct pol_build *b, const struct pol_cid_cfg *c);

/*
 * Compile everything added into a new snapshot (one reference, the
 * caller's). now (UTC seconds) starts the time-zone horizon: windows are
 * exact from now - 1 day to now + POL_TZ_DAYS; beyond it the last known
 * UTC offset is used (the watcher recompiles daily). Must not run
 * concurrently with anything that reads TZ (it sets TZ under a mutex and
 * restores it). On failure returns EINVAL with err naming the table, row
 * id and reason (bad regex with PCRE2's message and offset, unknown
 * trunk, bad CIDR, unknown zone, bad prefix), or ENOMEM; the builder can
 * be freed either way.
 */
/*
 * The local policy cache (db/pol_cache.c): save the builder's rows to
 * path atomically (a temporary file, fsync, rename; mode 0600), or read
 * such a file into a new builder. load refuses a truncated or damaged
 * file whole (EBADMSG) and names the bad line (EINVAL); err says which.
 * Both return 0 or an errno.
 */
int pol_cache_save(const struct pol_build *b, const char *path, char *err,
		   size_t errsz);
int pol_cache_load(struct pol_build **bp, const char *path, char *err,
		   size_t errsz);

int pol_build_compile(struct pol_build *b, int64_t now, struct pol_snap **snapp,
		      char *err, size_t errsz);

/* Snapshot references: thread-safe (C11 atomics). deref returns NULL. */
struct pol_snap *pol_snap_ref(struct pol_snap *s);
struct pol_snap *pol_snap_deref(struct pol_snap *s);
int64_t pol_snap_version(const struct pol_snap *s);
/* When the snapshot was compiled (UTC ms) and how long its load took
   (µs: the compile, or what the loader set with pol_snap_set_load_us()
   before publishing it, e.g. queries plus compile). */
void pol_snap_loaded(const struct pol_snap *s, int64_t *at_ms,
		     uint64_t *took_us);
/* Only before the snapshot is shared (published). */
void pol_snap_set_load_us(struct pol_snap *s, uint64_t took_us);
/* Bytes the snapshot holds (all its allocations, PCRE2 code estimated). */
size_t pol_snap_memory(const struct pol_snap *s);
/* Snapshots alive in the process (a diagnostic counter for tests). */
long pol_snap_live(void);
/* The snapshot's trunks, by index 0..pol_snap_ntrunks()-1 (probing,
   listings); borrowed from s, NULL past the end. */
size_t pol_snap_ntrunks(const struct pol_snap *s);
const struct pol_trunk *pol_snap_trunk(const struct pol_snap *s, size_t i);
/* status translated by a trunk's status_map ("FROM=TO,..."), or status
   itself when the map does not name it. */
uint16_t pol_status_map(const char *map, uint16_t status);
/* Whether map is well formed (NULL and "" are). */
bool pol_status_map_ok(const char *map);
/* Whether a trunk's hdr_add lines are well formed and add nothing that
   carries the dialog or the route (NULL and "" are fine); *why says
   what is wrong. */
bool pol_hdr_add_ok(const char *lines, const char **why);
/* Whether name is in the comma-separated list (case-insensitive). */
bool pol_name_listed(const char *list, const char *name, size_t len);
/* Trunk by id or name, NULL if absent; borrowed from s. */
const struct pol_trunk *pol_trunk_by_id(const struct pol_snap *s, int64_t id);
const struct pol_trunk *pol_trunk_by_name(const struct pol_snap *s,
					  const char *name);

/* The trunk a source address belongs to, as pol_route() identifies it
   (longest CIDR match, exact port first), enabled or not; NULL when the
   policy does not know the address. Borrowed from s; any thread. */
const struct pol_trunk *pol_trunk_by_src(const struct pol_snap *s,
					 const struct sockaddr *src);

/* One lookup's input. */
struct pol_req {
	const struct sockaddr *src; /* AF_INET or AF_INET6 (with port) */
	enum pol_transport tp;
	const struct pol_trunk *trunk; /* already identified (digest), or NULL:
					  identify by source address */
	struct pl called, calling;
	int64_t now;  /* UTC seconds */
	uint32_t rnd; /* random value for the weighted order */
	/* Optional: false for a trunk known unreachable now (OPTIONS
	   probing). A route none of whose targets is usable is passed over
	   for the next one that fits; NULL: every trunk is usable. */
	bool (*usable)(void *arg, const struct pol_trunk *t);
	void *usable_arg;
};

struct pol_cid {
	const char *pai_value; /* borrowed from the snapshot; NULL: calling */
	enum pol_pai pai;
	enum pol_privacy privacy;
};

struct pol_target {
	const struct pol_trunk *trunk; /* borrowed from the snapshot */
	char called[POL_NUM_MAX];      /* after the outbound rewrite */
	char calling[POL_NUM_MAX];
	struct pol_cid cid; /* outbound caller-ID rule of the trunk */
};

/*
 * A lookup's result. Allocate it once per thread, pol_verdict_init() it
 * (that allocates the PCRE2 match data), reuse it for any number of
 * lookups, pol_verdict_fini() it. Pointers in it borrow from the snapshot
 * of the last lookup.
 */
struct pol_verdict {
	uint16_t status;    /* 0: route to targets; else reject status */
	const char *reason; /* static or snapshot text */
	int64_t route_id;   /* matched route, 0 if none */
	const struct pol_trunk *src; /* identified source trunk, or NULL */
	char called[POL_NUM_MAX];    /* after the inbound rewrite */
	char calling[POL_NUM_MAX];
	size_t called_len, calling_len; /* strlen() of the two */
	struct pol_cid cid_in;		/* inbound caller-ID rule of src */
	uint32_t max_calls, max_cps;	/* limits of src (0: none) */
	uint16_t failover[POL_FAILOVER_MAX];
	size_t nfailover;
	struct pol_target targets[POL_TARGETS_MAX]; /* in the order to try */
	size_t ntargets;
	void *md; /* pcre2_match_data, owned */
};

/* Returns 0 or ENOMEM. */
int pol_verdict_init(struct pol_verdict *v);
void pol_verdict_fini(struct pol_verdict *v);

/*
 * Route one call: identify the source trunk (req->trunk, else the longest
 * CIDR match on req->src plus its port), rewrite the numbers inbound
 * (first matching rule of the source trunk, then of all trunks), check
 * block/allow lists, pick the route (longest called prefix; among routes
 * on one prefix: source trunk before group before any, longer calling
 * prefix, lower priority; closed time windows skip a route, and so does a
 * route whose targets are all unusable by req->usable, unless no later
 * route is usable either: then the first of them stands), order its
 * targets (priority, then weighted by req->rnd) and rewrite outbound per
 * target. Outcomes are data in v: status 403 unknown source, 403/603
 * listed, 484 number too long, 404 no route, 480 no route open now, 500
 * rewrite failed; 0 with targets otherwise. O(number length) plus the
 * routes stored on the matched prefixes; no allocation (the JIT uses its
 * default machine stack; without JIT, PCRE2 may grow v->md once). Safe
 * from any thread holding a reference to s, each with its own v.
 * Returns 0, or EINVAL for missing arguments.
 */
int pol_route(const struct pol_snap *s, const struct pol_req *req,
	      struct pol_verdict *v);

/*
 * The current snapshot, shared by every thread. get() returns a new
 * reference (or NULL before the first set) that the caller drops with
 * pol_snap_deref(); set() publishes s (taking its own reference) and
 * drops the store's reference to the previous one, which lives on while
 * calls hold it. A mutex guards only the pointer and the reference
 * increment (tens of nanoseconds), so a reader can never take a
 * reference to a snapshot whose count already reached zero.
 */
struct pol_store;
int pol_store_alloc(struct pol_store **stp);
void pol_store_free(struct pol_store *st);
struct pol_snap *pol_store_get(struct pol_store *st);
void pol_store_set(struct pol_store *st, struct pol_snap *s);

#endif
