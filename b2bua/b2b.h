/* The B2BUA engine: signaling workers (stack/sipw.h), each carrying a UA
   core (stack/ua.h) and the calls of its Call-ID shard (call.h), the
   media relay (media/relay.h) and the policy source (policy.h). tandemd.c
   owns one struct b2b (../shared/ARCHITECTURE.md: a call lives on the
   worker that owns its A-leg Call-ID; its B-leg Call-ID is made for the
   same shard, so both legs' messages arrive on that one thread and the
   call has a single writer without locks). */
#ifndef TANDEM_B2B_H
#define TANDEM_B2B_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "cfg.h"
#include "db/pol.h"
#include "stack/sipw.h"
#include "stack/stag.h"
#include "stack/tmr.h"
#include "stack/ua.h"

struct b2b;
struct bpol;
struct relay_ctx;
struct sdp;
struct call;
struct cdr_writer;
struct lim_table;
struct probe;
struct reg_set;
struct auth_server;

/* One worker's share: touched only on that worker's thread (cmd_* under
   cmd_lock from any thread). */
struct b2b_worker {
	struct b2b *b2b;	  /* weak: owns us */
	atomic_bool started;	  /* worker_init done: the tick runs */
	struct sipw *w;		  /* weak: the signaling worker */
	struct ua *ua;		  /* ref: made on the worker's thread at its
				     first message */
	struct pol_verdict v;	  /* routing scratch */
	bool v_ok;		  /* v initialised */
	struct sdp *sdp;	  /* SDP scratch (large) */
	char *body;		  /* rewritten-body scratch, B2B_BODY_MAX */
	const struct tp_recv *rx; /* the message being delivered (the
				     INVITE handler reads its source) */
	struct call *calls;	  /* calls alive here (list) */
	unsigned ncalls;
	struct tmr tick;	    /* housekeeping: queries, drain, probes */
	struct probe *probes;	    /* worker 0: OPTIONS probes out */
	struct reg_set *regs;	    /* worker 0: outbound registrations */
	struct auth_server *auth;   /* inbound digest (call_auth.c) */
	struct pol_snap *auth_snap; /* borrowed while verifying */
	uint64_t seq;		    /* call ids */
	uint64_t ticks;		    /* housekeeping ticks so far */
	struct b2b_src *src;	    /* B2B_SRC_SLOTS, direct-mapped */
	uint64_t src_warn_ms;	    /* last "over its rate" log line */
	char *sreply;		    /* stateless 403s, B2B_SREPLY_MAX */
	struct stag_key stag;	    /* their To tags (§8.2.7) */
};

#define B2B_BODY_MAX 16384
#define B2B_SRC_SLOTS 4096  /* per-source rate buckets per worker */
#define B2B_SREPLY_MAX 8192 /* a stateless 403 (Via lines included) */

/* One source address's budget of out-of-dialog requests. */
struct b2b_src {
	uint64_t key; /* hash of the address; 0 free */
	double tokens;
	uint64_t last_ms;
	uint64_t banned_until; /* ms: refused before this */
};

/* Counters, summed over workers (relaxed atomics). */
struct b2b_stats {
	atomic_uint_fast64_t calls;	    /* INVITEs that became calls */
	atomic_uint_fast64_t answered;	    /* 2xx relayed to the A-leg */
	atomic_uint_fast64_t failed;	    /* final 3xx-6xx to the A-leg */
	atomic_uint_fast64_t cancelled;	    /* the caller cancelled */
	atomic_uint_fast64_t rejected;	    /* refused by policy */
	atomic_uint_fast64_t rejected_load; /* 503: limits or draining */
	atomic_uint_fast64_t attempts;	    /* B-leg INVITEs sent */
	atomic_uint_fast64_t failovers;	    /* next target tried */
	atomic_uint_fast64_t relayed;	    /* in-dialog requests relayed */
	atomic_uint_fast64_t ended;	    /* calls over */
	atomic_uint_fast64_t src_dropped;   /* requests over a source's
					       rate, dropped */
	atomic_uint_fast64_t src_unknown;   /* INVITEs from unknown sources
					       refused statelessly (403) */
	atomic_uint_fast64_t src_banned;    /* sources banned for their rate */
	atomic_uint_fast64_t auth_failed;   /* digests that failed */
	atomic_uint_fast64_t auth_blocked;  /* digests refused unchecked:
					       the source is blocked */
	atomic_int_fast64_t active;	    /* calls alive now */
};

/* A question from another thread (the management API) answered by one
   worker at its next tick, under b2b.q_lock. */
enum b2b_qkind { B2B_Q_LIST, B2B_Q_SHOW, B2B_Q_HANGUP };
struct b2b_query {
	enum b2b_qkind kind;
	const char *trunk, *number, *state; /* LIST filters, or NULL */
	const char *id;			    /* SHOW, HANGUP */
	const char *reason;		    /* HANGUP, or NULL */
	void *out;			    /* json_t *: LIST appends to it,
					       SHOW sets it */
	int err;
	bool done;
};

struct b2b {
	struct cfg cfg; /* read-only once the workers run */
	pthread_mutex_t q_lock;
	pthread_cond_t q_cond;
	struct b2b_query *q[SIPW_MAX]; /* per worker, or NULL */
	struct sipw_group *g;
	struct relay_ctx *relay; /* NULL: media not relayed */
	struct bpol *pol;
	struct cdr_writer *cdr; /* NULL: no CDR database configured */
	struct lim_table *lim;	/* per-trunk admission control */
	struct authban *ban;	/* digest failures per source */
	struct tdns *tdns;	/* trunks named by DNS (tdns.c) */
	unsigned nw;
	struct b2b_worker bw[SIPW_MAX];
	atomic_bool draining;	/* new calls get 503 */
	atomic_bool hangup_all; /* drain timeout: end every call */
	struct b2b_stats st;
	char host[64]; /* our address for Via / Contact */
	uint16_t port;
};

/*
 * Create the engine on cfg (copied): the worker group listening on
 * cfg->listen:port, the media relay (cfg->media), the policy source.
 * Nothing runs until b2b_start(). Returns 0 or an errno with err set.
 */
int b2b_alloc(struct b2b **bp, const struct cfg *cfg, char *err, size_t errsz);
int b2b_start(struct b2b *b);
/* Stop the workers (joins them) and free everything. NULL accepted. */
void b2b_free(struct b2b *b);
/* Calls alive, over all workers (any thread). */
int64_t b2b_active(struct b2b *b);
/* SIGTERM: refuse new calls with 503 (any thread). */
void b2b_drain(struct b2b *b, bool on);
/* Drain timeout: every worker ends its calls at its next tick. */
void b2b_hangup_all(struct b2b *b);
/* SIGHUP: what can change live (the static policy). */
int b2b_reload(struct b2b *b, const struct cfg *cfg, char *err, size_t errsz);
/*
 * Ask worker i (any thread but the workers'): it answers at its next
 * tick (<= 100 ms). Returns 0 (q->err holds the answer's error),
 * EAGAIN when the worker has not started (no call can be there), or
 * ETIMEDOUT.
 */
int b2b_query(struct b2b *b, unsigned i, struct b2b_query *q);
/* The port SIP listens on. */
uint16_t b2b_port(const struct b2b *b);

#endif
