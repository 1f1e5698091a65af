/* SIP transactions: RFC 3261 §17 (client and server, INVITE and
   non-INVITE) as amended by RFC 6026 (Accepted states, Timers L and M) and
   RFC 4320 (non-INVITE timeouts). Knows nothing of dialogs or calls. */
#ifndef TANDEM_TXN_H
#define TANDEM_TXN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "sip_msg.h"
#include "tmr.h"

struct txn_ctx;
struct txn;

/*
 * Where a message goes or came from. Our own small type until the
 * transport layer's address type is reconciled with it: the transaction
 * layer only copies it and hands it back to the send callback, except for
 * `reliable`, which selects the §17 reliable-transport rules (no A/E/G
 * retransmissions, Timers D, I, J, K = 0).
 */
struct txn_dest {
	struct sockaddr_storage addr; /* peer address */
	socklen_t len;		      /* of addr; 0 if unset */
	int proto;		      /* IPPROTO_UDP, IPPROTO_TCP... (opaque) */
	bool reliable;		      /* stream transport (TCP, TLS, WS) */
	void *conn;		      /* weak: transport connection, or NULL */
	uint64_t conn_id; /* opaque: the transport's id of the connection
			     a request came on (tp_recv.conn_id), 0 if
			     none; safe to keep, unlike conn */
};

/* Configuration, times in ms. txn_cfg_default() fills the defaults. */
struct txn_cfg {
	uint32_t t1;	    /* RTT estimate, §17.1.1.1; default 500 */
	uint32_t t2;	    /* max non-INVITE/response retransmit; 4000 */
	uint32_t t4;	    /* max time a message stays in the net; 5000 */
	uint32_t timer_c;   /* INVITE client: no final response this long
			       after the last 1xx -> TXN_CEV_PROV_TIMEOUT
			       (like §16.6 Timer C); 0 disables; 180000 */
	uint32_t trying_ms; /* INVITE server: send 100 (Trying) if the TU
			       has sent no provisional this long after the
			       INVITE (§17.2.1: 200 ms at most). 0 = at the
			       end of the current event-loop turn (the next
			       tmr_poll()), so a TU answering at once sends
			       no 100; default 0 */
	uint32_t hash_size; /* buckets per table, a power of 2; 1024 */
	uint32_t max_live;  /* transactions alive at once (client + server,
			       TU references included); beyond it creating
			       one fails with ENOBUFS, so a flood of new
			       branches the TU never answers cannot grow
			       memory without bound; the TU answers such a
			       request 503 statelessly; 0 = no limit;
			       default 65536 */
};

void txn_cfg_default(struct txn_cfg *cfg);

/*
 * Transport send: put buf[0..len) on the wire to dst. Returns 0 or an
 * errno; an error is a §17.1.4 / §17.2.4 transport error: the transaction
 * tells the TU and terminates. buf and dst are borrowed for the call.
 */
typedef int(txn_send_h)(const struct txn_dest *dst, const char *buf, size_t len,
			void *arg);

/* What a client transaction reports to its TU. */
enum txn_cev {
	TXN_CEV_RESPONSE,     /* msg: a 1xx, the first 3xx-6xx, every 2xx
				 (RFC 6026: also retransmitted 2xx while
				 Accepted, for the TU to ACK again) */
	TXN_CEV_TIMEOUT,      /* Timer B or F (or the §9.1 guard after a
				 CANCEL): act as if 408 was received
				 (§17.1.1.2, §17.1.2.2); status 408 */
	TXN_CEV_TRANSPORT,    /* sending failed (§17.1.4): act as if 503
				 was received; status 503, err set */
	TXN_CEV_PROV_TIMEOUT, /* INVITE only: cfg.timer_c elapsed since the
				 last 1xx without a final response; the TU
				 should CANCEL (and fail over). The
				 transaction stays; 64*T1 later without a
				 final it ends with TXN_CEV_TIMEOUT (§9.1) */
};

/* A client event. msg is borrowed for the call only (NULL unless
   TXN_CEV_RESPONSE). status is msg's status or the local 408/503. */
struct txn_cevent {
	enum txn_cev ev;
	uint16_t status;
	int err;
	const struct sip_msg *msg;
};

/* What a server transaction reports to its TU. */
enum txn_sev {
	TXN_SEV_ACK,	   /* INVITE, Accepted: an ACK matched it (RFC 6026
			      §8.7: ACKs for 2xx go to the TU); msg set */
	TXN_SEV_TIMEOUT,   /* INVITE, Timer H: no ACK for a 3xx-6xx
			      (§17.2.1) */
	TXN_SEV_TRANSPORT, /* a send by the layer itself (retransmission,
			      100 Trying) failed (§17.2.4); err set */
};

typedef void(txn_resp_h)(struct txn *txn, const struct txn_cevent *ev,
			 void *arg);
typedef void(txn_req_h)(struct txn *txn, enum txn_sev ev, int err,
			const struct sip_msg *msg, void *arg);

/* Counters for metrics and leak checks. */
struct txn_stats {
	uint64_t live;	 /* transaction objects allocated, not freed */
	uint64_t active; /* in the matching tables (not terminated) */
	uint64_t created;
	uint64_t destroyed;
	uint64_t retransmits; /* requests, responses and ACKs sent again */
	uint64_t retrans_in;  /* retransmissions received: requests that
				 matched a server transaction (ACKs only in
				 Confirmed), final responses that matched
				 a client transaction already Completed */
	uint64_t timeouts;    /* B, F, H and the §9.1 guard */
	uint64_t tp_errors;   /* failed sends */
	uint64_t msg_bytes;   /* message copies (requests, responses, ACKs)
				 the transactions in the tables hold now;
				 counted when asked, O(transactions) */
};

/*
 * Allocate a context (refcounted; mem_deref() it). cfg NULL: defaults.
 * send_h is mandatory. tmr is referenced. Destroying the context
 * terminates every transaction silently (no TU events); transactions the
 * TU still references become inert (calls on them return ESHUTDOWN).
 * The tables hash under a key drawn from OpenSSL's CSPRNG here.
 * Returns 0, EINVAL, ENOMEM or EIO (no random key).
 */
int txn_ctx_alloc(struct txn_ctx **ctxp, const struct txn_cfg *cfg,
		  txn_send_h *send_h, void *arg, struct tmr_ctx *tmr);
void txn_ctx_stats(const struct txn_ctx *ctx, struct txn_stats *st);
/* The counters metrics read from another thread (txn_stats fields of
   the same names): relaxed atomics the ctx's thread stores, so any
   thread may call txn_ctx_counters() while the ctx lives. */
struct txn_counters {
	uint64_t active, created, retransmits, retrans_in;
};
void txn_ctx_counters(const struct txn_ctx *ctx, struct txn_counters *c);

/*
 * Feed a received message (borrowed for the call) to the layer.
 * A request matching a server transaction (§17.2.3: Via branch with the
 * "z9hG4bK" cookie + sent-by + method, ACK matching the INVITE; RFC 2543
 * rules for other branches) drives it: retransmissions are answered or
 * absorbed, ACK for a 3xx-6xx is absorbed. A response matching a client
 * transaction (§17.1.3: branch + CSeq method) drives it.
 * Returns 0 when a transaction took the message, ENOENT when none
 * matched: a new request (ACK: for a 2xx, the dialog's business; other:
 * check txn_merged(), then txn_server_create()) or a stray response,
 * which the TU may use or drop. EINVAL on bad arguments.
 */
int txn_recv(struct txn_ctx *ctx, const struct sip_msg *msg,
	     const struct txn_dest *src);

/*
 * Start a client transaction (§17.1) for the request req[0..len), which
 * the TU built completely (top Via with a fresh "z9hG4bK" branch,
 * §8.1.1.7). It is parsed for the method and branch, copied, and sent to
 * dst at once. ACK cannot start a transaction (EINVAL). On success *txnp
 * gets a reference for the TU (mem_deref() it; txn_detach() first if the
 * TU goes away while the transaction may still report). Returns 0,
 * EINVAL, EBADMSG (req does not parse or has no branch), EEXIST (a client
 * transaction with that branch and method exists), ENOBUFS (cfg.max_live
 * reached), ENOMEM, or the send
 * error (then no transaction exists and the TU acts as on a 503).
 */
int txn_client_start(struct txn **txnp, struct txn_ctx *ctx, const char *req,
		     size_t len, const struct txn_dest *dst, txn_resp_h *resp_h,
		     void *arg);

/*
 * §9.1: the TU sent a CANCEL for this INVITE client transaction. If no
 * final response arrives within 64*T1 the transaction ends with
 * TXN_CEV_TIMEOUT. Returns 0 or EINVAL (not an INVITE client transaction
 * in Calling/Proceeding).
 */
int txn_client_cancelled(struct txn *txn);

/*
 * Create the server transaction (§17.2) for the request msg (borrowed for
 * the call), which txn_recv() did not match; ACK is refused (EINVAL).
 * Responses go to src. An INVITE transaction schedules the 100 (Trying)
 * (cfg.trying_ms). *txnp gets a reference for the TU. Returns 0, EINVAL,
 * EEXIST (it matches a transaction), ENOBUFS (cfg.max_live reached: answer
 * 503 statelessly), ENOMEM.
 */
int txn_server_create(struct txn **txnp, struct txn_ctx *ctx,
		      const struct sip_msg *msg, const struct txn_dest *src,
		      txn_req_h *req_h, void *arg);

/*
 * Send the response resp[0..len) with the given status through server
 * transaction txn (the TU built it, e.g. with sip_wb_reply()); the bytes
 * are copied to answer retransmissions. INVITE: 1xx keeps Proceeding, 2xx
 * moves to Accepted (RFC 6026; further 2xx, e.g. the TU's §13.3.1.4
 * retransmissions, are sent as given), 3xx-6xx to Completed. Non-INVITE
 * (RFC 4320 §4.1, §4.2): 1xx other than 100 and 408 are refused.
 * Returns 0, EINVAL (bad status or arguments), EPROTO (not allowed in the
 * current state, e.g. a second final), ESHUTDOWN (terminated), ENOMEM, or
 * the send error: then the transaction has terminated (§17.2.4) and, the
 * error being returned here, no TXN_SEV_TRANSPORT event is raised.
 */
int txn_server_reply(struct txn *txn, const char *resp, size_t len,
		     uint16_t status);

/*
 * §9.2: the INVITE server transaction that the CANCEL msg cancels (same
 * matching as §17.2.3 with the method taken as INVITE), or NULL. Borrowed:
 * valid until control returns to the event loop; mem_ref() to keep it.
 */
struct txn *txn_cancel_target(struct txn_ctx *ctx, const struct sip_msg *msg);

/*
 * §8.2.2.2 merged request: msg has no To tag and its From tag, Call-ID and
 * CSeq equal those of a request in a live server transaction that msg does
 * not match (it came another way, e.g. forked). The TU answers 482 (Loop
 * Detected). Call it for requests txn_recv() did not match.
 */
bool txn_merged(struct txn_ctx *ctx, const struct sip_msg *msg);

/* Stop reporting to the TU (before its handler argument goes away). */
void txn_detach(struct txn *txn);

/* Introspection (tests, logs). */
bool txn_is_server(const struct txn *txn);
enum sip_method txn_method(const struct txn *txn);
const char *txn_branch(const struct txn *txn);
const char *txn_state_str(const struct txn *txn);
bool txn_terminated(const struct txn *txn);

#endif
