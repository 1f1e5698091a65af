/* Signaling workers: one thread per core, each with its own event loop,
   timers, transport and transaction contexts; messages sharded by Call-ID
   (../shared/ARCHITECTURE.md "Threads: share nothing, shard by Call-ID").
 *
 * Each worker reads its own SO_REUSEPORT UDP socket on the shared port.
 * The kernel spreads datagrams over the sockets by source address, not by
 * Call-ID, so a message may arrive on a worker that does not own its
 * Call-ID: that worker copies the bytes and the tp_recv into a slot of the
 * lock-free SPSC ring (from, to) and wakes the owner through its eventfd;
 * the owner parses the copy again and delivers it. When the ring is full
 * the message is dropped and counted (UDP senders retransmit); a worker
 * never blocks on another.
 *
 * TCP (optional) listens on worker 0 only: a connection carries messages
 * of many Call-IDs, so spreading connections over workers would not spare
 * the hand-over, and one owner keeps the connection table in one place.
 * A TCP message owned by another shard is handed over without its
 * connection pointer (rx->conn is NULL there; tp_conn is not
 * thread-safe) but with its id (rx->conn_id, whose tag names the worker
 * owning the connection). sipw_send() and sipw_send_response() (and so
 * the transaction layer of every worker) pass a send for such a
 * connection back through the ring to its owner, which writes it on that
 * same connection (§18.2.2: for a reliable transport the response goes
 * over the connection the request came on), or, if it has closed
 * meanwhile, takes the §18.2.2 fall-back (source address and Via port).
 */
#ifndef TANDEM_SIPW_H
#define TANDEM_SIPW_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sip_msg.h"
#include "tp.h"
#include "txn.h"

struct event_base;
struct tmr_ctx;
struct sipw;	   /* one worker; owned by its group */
struct sipw_group; /* refcounted: mem_deref() stops and frees */

#define SIPW_MAX 64	   /* workers per group */
#define SIPW_CALLID_LEN 41 /* "tdm-" 4 hex shard "-" 32 hex random */

/*
 * The TU hook: a message (request or response) whose Call-ID this worker
 * owns. Runs on the owning worker's thread only. msg and rx are borrowed
 * for the call (copy what you keep: tp_recv_copy()). Answer with
 * tp_send_response(sipw_tp(w), rx, ...) or through sipw_txn(w). arg is the
 * group's (shared by every worker: per-worker state goes in an array
 * indexed by sipw_index(w)).
 */
typedef void(sipw_recv_h)(struct sipw *w, const struct sip_msg *msg,
			  const struct tp_recv *rx, void *arg);

/*
 * Optional screen, run on the worker whose socket received the message,
 * before the message is handed over to its Call-ID's owner: a message it
 * drops or answers itself costs no hand-over (copy, wake-up, second
 * parse). Runs on any worker's thread (state per sipw_index(w)); msg and
 * rx as for sipw_recv_h (rx->conn is still set for TCP/TLS). Returns
 * false when it consumed the message (counted in sipw_stats.filtered).
 */
typedef bool(sipw_filter_h)(struct sipw *w, const struct sip_msg *msg,
			    const struct tp_recv *rx, void *arg);

struct sipw_conf {
	unsigned nworkers;   /* 0: the number of online cores */
	const char *ip;	     /* numeric listening address; NULL: 127.0.0.1 */
	uint16_t port;	     /* 0: worker 0 binds an ephemeral port and the
				others join it (sipw_group_port()) */
	bool tcp;	     /* also listen on TCP (worker 0 only) */
	unsigned ring_slots; /* slots per (from, to) ring, power of 2;
				default 1024 */
	unsigned slot_bytes; /* message bytes stored in a slot; larger
				messages are copied to the heap;
				default 2048 */
	unsigned drain_max;  /* hand-overs delivered per wake-up before the
				worker yields to its sockets; default 256 */
	size_t big_bytes;    /* heap bytes of large hand-overs one worker
				may have waiting; more are dropped and
				counted (a sender must not make a worker
				hold ring_slots x 64 KiB); 0 = no limit;
				default 8 MiB */
	struct tp_conf tp;
	struct txn_cfg txn;
	sipw_recv_h *recvh;	/* required */
	sipw_filter_h *filterh; /* optional (NULL: every message passes) */
	void *arg;		/* of both hooks */
};

/* Counters of one worker. Written only by their worker; read from any
   thread with sipw_stats() (relaxed atomics: a consistent-enough
   snapshot, not a transaction). */
struct sipw_stats {
	uint64_t rx;		/* messages the transport gave this worker */
	uint64_t delivered;	/* messages given to the TU hook here */
	uint64_t handoff_out;	/* messages handed to another worker */
	uint64_t handoff_in;	/* hand-overs received and delivered */
	uint64_t handoff_drop;	/* dropped: the target's ring was full, its
				   big_bytes budget spent, or no memory */
	uint64_t handoff_big;	/* hand-overs copied to the heap */
	uint64_t handoff_bad;	/* hand-overs that failed to parse again */
	uint64_t wakeups;	/* eventfd wake-ups handled */
	uint64_t filtered;	/* consumed by conf.filterh on this worker */
	uint64_t send_out;	/* sends passed to the worker owning their
				   connection (sipw_send()) */
	uint64_t send_in;	/* such sends written here, on their
				   connection */
	uint64_t send_fallback; /* such sends whose connection had closed
				   (sent here per the §18.2.2 fall-back),
				   or whose ring was full (sent by the
				   sender the same way) */
	uint64_t big_held;	/* gauge: heap bytes of large hand-overs
				   waiting for this worker (conf.big_bytes) */
};

void sipw_conf_default(struct sipw_conf *conf);

/*
 * Create a group of workers on conf (copied; conf->ip is copied too):
 * per worker an event_base, tmr_ctx, tp_ctx (UDP on ip:port with
 * SO_REUSEPORT, TCP on worker 0 if asked), txn_ctx sending through the
 * tp_ctx, an eventfd and the rings towards it. Nothing runs until
 * sipw_group_start(). Returns 0, EINVAL, ENOMEM, EIO (no random key for
 * the Call-ID hash), or the errno of socket,
 * bind or eventfd.
 */
int sipw_group_alloc(struct sipw_group **gp, const struct sipw_conf *conf);
/* Start one thread per worker. Returns 0, EALREADY, or pthread's errno
   (then the threads already started are stopped again). */
int sipw_group_start(struct sipw_group *g);
/*
 * Stop every worker (each leaves its loop at its next wake-up, via its
 * eventfd) and join the threads. Messages still in rings are dropped
 * when the group is freed. Idempotent; mem_deref(g) calls it.
 */
void sipw_group_stop(struct sipw_group *g);

unsigned sipw_group_count(const struct sipw_group *g);
struct sipw *sipw_group_worker(struct sipw_group *g, unsigned i);
/* The UDP port every worker listens on. */
uint16_t sipw_group_port(const struct sipw_group *g);
/* Sum of every worker's counters. */
void sipw_group_stats(const struct sipw_group *g, struct sipw_stats *st);
/* Sum over the workers of their transports' responses by class and
   their transaction counters (tp_resp_counts(), txn_ctx_counters()):
   any thread, while the group lives. */
void sipw_group_counts(const struct sipw_group *g, struct tp_resp_counts *rc,
		       struct txn_counters *tc);

/* Accessors. The contexts belong to the worker's thread: use them only
   from it (inside the TU hook) or while the group is not running. */
unsigned sipw_index(const struct sipw *w);
struct event_base *sipw_base(struct sipw *w);
struct tmr_ctx *sipw_tmr(struct sipw *w);
struct tp_ctx *sipw_tp(struct sipw *w);
struct txn_ctx *sipw_txn(struct sipw *w);
/* A look at every message the worker's transaction layer sends (requests,
   responses, their retransmissions), before it goes out; on the worker's
   thread. For the per-call message ladder of the management API. NULL h:
   none. Set on the worker's thread (or before the group starts). */
typedef void(sipw_tap_h)(const char *buf, size_t len, void *arg);
void sipw_set_tap(struct sipw *w, sipw_tap_h *h, void *arg);
void sipw_stats(const struct sipw *w, struct sipw_stats *st);

/*
 * The transaction layer's view of where the request rx came from: the
 * response destination (tp_response_dest()), the protocol (proto holds
 * the enum tp_proto: the worker's txn send callback reads it back), the
 * reliable flag and the connection id (rx->conn_id). conn is left NULL:
 * a weak tp_conn pointer kept by a transaction could dangle, and the
 * connection may belong to another worker; sipw_send() finds it by id.
 * Returns 0 or EINVAL.
 */
int sipw_txn_dest(const struct tp_recv *rx, struct txn_dest *dst);

/*
 * Send buf[0..len) to dst from worker w (its thread only): what the
 * worker's transaction layer calls, and what a TU's own send callback
 * should call. With dst->conn_id naming a TCP/TLS connection
 * (sipw_txn_dest()): over that connection, on this worker if it owns it,
 * else copied through the ring to the owner (returns 0 once queued:
 * later errors are the owner's tx_errors); a closed connection, or a
 * full ring, means the §18.2.2 fall-back to dst->addr. Otherwise as
 * tp_send() with dst->conn. Returns 0 or tp_send()'s errors.
 */
int sipw_send(struct sipw *w, const struct txn_dest *dst, const char *buf,
	      size_t len);
/* tp_send_response() for a message delivered on w, handed over or not:
   over its connection, wherever that lives (sipw_send()). */
int sipw_send_response(struct sipw *w, const struct tp_recv *rx,
		       const char *buf, size_t len);

/* ------------------------------------------------------------------ */
/* Sharding: pure functions of the Call-ID.                             */

/*
 * Write a fresh Call-ID owned by shard into buf[0..size): "tdm-" then the
 * shard in 4 lower-case hex digits, "-", then 128 random bits from
 * OpenSSL RAND_bytes() in 32 hex digits; NUL-terminated (size >=
 * SIPW_CALLID_LEN + 1). The caller may append "@host". Returns 0,
 * EINVAL (shard > 0xffff, small buffer) or EIO (RAND_bytes failed).
 */
int sipw_callid_make(unsigned shard, char *buf, size_t size);

/*
 * The shard (< nshards) owning callid[0..len): the embedded shard of a
 * Call-ID from sipw_callid_make() when it is < nshards, else SipHash-2-4
 * of the bytes (Call-IDs compare byte-exact, §20.8) under one random key
 * per process (drawn at the first call: every thread gets the same
 * answer, a peer cannot predict it), reduced to nshards. nshards 0 is
 * taken as 1.
 */
unsigned sipw_shard_of(const char *callid, size_t len, unsigned nshards);

#endif
