/* The UA core: RFC 3261 §8 (request construction, the §8.2 UAS checks),
   §9 (CANCEL), §12-§15 (dialogs, INVITE sessions with the §13.3.1.4 2xx
   retransmission and §13.2.2.4 ACK, re-INVITE with §14.1 glare, BYE).
   One struct ua per signaling worker, on top of its transaction layer.
   Knows nothing of calls: the b2bua drives one ua_sess per call leg. */
#ifndef TANDEM_UA_H
#define TANDEM_UA_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dlg.h"
#include "sip_msg.h"
#include "tmr.h"
#include "txn.h"

struct ua;
struct ua_sess; /* one INVITE dialog usage: a call leg; refcounted */
struct ua_req;	/* a received request the app answers; refcounted */

/* Configuration. Strings are copied by ua_alloc(). */
struct ua_conf {
	const char *host;      /* our numeric address for Via and Contact */
	uint16_t port;	       /* our port (0: 5060) */
	const char *user;      /* Contact user part; NULL: "tandem" */
	const char *server;    /* Server / User-Agent value; NULL: "Tandem" */
	unsigned shard;	       /* Call-IDs we make carry it (sipw.h) */
	unsigned max_sessions; /* sessions alive at once; more INVITEs get
				  503 with Retry-After; default 10000 */
	unsigned glare_tries;  /* re-INVITEs resent after a 491 (§14.1)
				  before the 491 is reported; default 2 */
	const char *supported; /* option tags we support ("timer, 100rel"),
				  listed in Supported and accepted in
				  Require; NULL: none */
	uint32_t t1, t2;       /* §17.1.1.1 timers for the 2xx
				  retransmission (§13.3.1.4); the same as
				  the transaction layer's; 500, 4000 */
	/* RFC 3262: with "100rel" in supported, our INVITEs say Supported:
	   100rel, reliable provisionals from the peer are PRACKed by the
	   UA, and a UAS session may answer 101-199 reliably (automatically
	   when the INVITE has Require: 100rel, or ua_sess_answer_rel()). */
	/* RFC 4028 session timers (0: off; "timer" is then added to
	   supported by ua_alloc()). */
	uint32_t session_expires; /* Session-Expires we ask for and grant
				     at most, s; 0: no session timers */
	uint32_t min_se;	  /* our Min-SE, s (0 or < 90: 90) */
	bool session_refresher;	  /* when the choice is ours, we refresh */
	bool answer_refreshes;	  /* a received re-INVITE/UPDATE that only
				     refreshes the session (an UPDATE
				     without SDP, or SDP with the o=
				     session id and version of the last
				     one received) is answered by
				     the UA with our last SDP and reported
				     as UA_EV_REFRESHED, not as REINVITE /
				     REQUEST; default false */
	/* While *unavailable is true (the app refuses new INVITEs, e.g. a
	   draining b2bua), out-of-dialog OPTIONS get 503 with Retry-After
	   instead of 200 (RFC 3261 §11.2); read atomically on every OPTIONS,
	   so it must outlive the UA. NULL: always 200. */
	const atomic_bool *unavailable;
};

void ua_conf_default(struct ua_conf *conf);

/* What a session reports to the app. */
enum ua_ev {
	UA_EV_PROGRESS,	   /* UAC: a 101-199 (msg; early dialog created
			      when it had a To tag) */
	UA_EV_ANSWERED,	   /* UAC: the 2xx (msg); the UA has sent the ACK
			      (ua_conn.delay_ack: the app must call
			      ua_sess_ack() with the answer) */
	UA_EV_CONFIRMED,   /* UAS: the ACK for our 2xx (msg: may carry the
			      answer to an offer made in the 2xx) */
	UA_EV_FAILED,	   /* UAC: a 3xx-6xx, or local 408 / 503 (msg may
			      be NULL); the session is over */
	UA_EV_CANCELLED,   /* UAS: the caller cancelled (200 to the CANCEL
			      and 487 to the INVITE already sent); over */
	UA_EV_REINVITE,	   /* a re-INVITE arrived (msg, req): answer it
			      with ua_req_reply() */
	UA_EV_REQUEST,	   /* another request in the dialog (INFO, MESSAGE,
			      NOTIFY, REFER, UPDATE, OPTIONS ...): answer
			      it with ua_req_reply() */
	UA_EV_RESPONSE,	   /* a final response (msg, or NULL with the local
			      408/503) to our re-INVITE or other request in
			      the dialog; cookie is what the app gave */
	UA_EV_REQ_ABORTED, /* a request the app was to answer is gone (a
			      CANCEL for it arrived, or the session ended):
			      req is not to be answered any more */
	UA_EV_ENDED,	   /* the dialog is over: BYE received (answered
			      200) or our BYE done, or no ACK for our 2xx
			      (status 408, BYE sent), or the session timer
			      expired (status 408, BYE sent, RFC 4028 §10),
			      or, UAS, no PRACK for a reliable provisional
			      (status 504 sent to the INVITE, RFC 3262 §3).
			      Last event. */
	UA_EV_PRACK,	   /* UAS: a PRACK matched our reliable 1xx (msg:
			      the PRACK, which may carry a body); the UA
			      answered it 200 */
	UA_EV_REFRESHED,   /* a session refresh (re-INVITE / UPDATE) was
			      answered by the UA (conf.answer_refreshes;
			      msg: the request), or our own refresh got
			      its 2xx (msg: the 2xx); nothing to relay */
	UA_EV_COUNT
};

/* An event; everything borrowed for the call. */
struct ua_event {
	enum ua_ev ev;
	uint16_t status;	   /* response status, or the local one */
	const struct sip_msg *msg; /* the message behind it, or NULL */
	struct ua_req *req;	   /* REINVITE, REQUEST, REQ_ABORTED */
	void *cookie;		   /* RESPONSE: the app's, from the request */
	bool by_remote;		   /* ENDED: the peer sent the BYE */
};

typedef void(ua_sess_h)(struct ua_sess *s, const struct ua_event *ev,
			void *arg);

/*
 * A new INVITE outside any dialog, past the §8.2 checks: s is a UAS
 * session (the handler's reference: keep it with mem_ref() or the
 * session is released when the handler returns without answering,
 * after a 500). The app must set its event handler (ua_sess_set_handler)
 * and answer with ua_sess_answer().
 */
typedef void(ua_invite_h)(struct ua *ua, struct ua_sess *s,
			  const struct sip_msg *invite, void *arg);

/*
 * Allocate the UA on the worker's transaction layer (referenced) and
 * timers (referenced). send_h sends a message the UA builds outside a
 * transaction (the ACK for a 2xx, §17.1.1.3). invite_h is required.
 * Returns 0, EINVAL, ENOMEM.
 */
int ua_alloc(struct ua **uap, const struct ua_conf *conf, struct txn_ctx *txn,
	     struct tmr_ctx *tmr, txn_send_h *send_h, void *send_arg,
	     ua_invite_h *invite_h, void *arg);

/*
 * Feed a received message (borrowed for the call) whose Call-ID this
 * worker owns; src says where responses go (sipw_txn_dest()). Requests
 * that no transaction takes run the §8.2 checks in order (405 with
 * Allow, 416, 482, 420 with Unsupported, 400 naming the header, 415,
 * 483), then go to their dialog (481 when none; 500 for an out-of-order
 * CSeq; §14.2 491 and 500 with Retry-After for overlapping INVITEs) or,
 * outside a dialog: INVITE to invite_h, OPTIONS answered 200, CANCEL
 * per §9.2, others 405 / 481. Responses go to their transaction or, for
 * stray 2xx of a forked INVITE, are ACKed and ended with BYE
 * (§13.2.2.4). Returns 0, or EINVAL on bad arguments; every protocol
 * outcome is a response, not an error.
 */
int ua_recv(struct ua *ua, const struct sip_msg *msg,
	    const struct txn_dest *src);

/* Counters (metrics, leak checks). */
struct ua_stats {
	uint64_t sess_live;	 /* sessions allocated, not freed */
	uint64_t sess_active;	 /* sessions in the table (not ended) */
	uint64_t reqs_live;	 /* struct ua_req allocated, not freed */
	uint64_t rejected[7];	 /* responses sent by the §8.2/§12 checks,
				    by class 0..6 (index status / 100) */
	uint64_t stray;		 /* messages that matched nothing, dropped */
	uint64_t acks_2xx;	 /* ACKs we sent for a 2xx */
	uint64_t retrans_2xx;	 /* 2xx retransmissions (§13.3.1.4) */
	uint64_t glare;		 /* 491 received and retried (§14.1) */
	uint64_t fork_byes;	 /* extra 2xx ACKed and ended (§13.2.2.4) */
	uint64_t auth_retries;	 /* INVITEs resent with credentials (§22.2) */
	uint64_t rel1xx_sent;	 /* reliable provisionals sent (RFC 3262) */
	uint64_t rel1xx_retrans; /* and retransmitted (counted when
				    the INVITE got its final) */
	uint64_t prack_in;	 /* PRACKs received that matched (200) */
	uint64_t prack_out;	 /* PRACKs we sent */
	uint64_t rel1xx_dropped; /* reliable 1xx received and discarded
				    (retransmission, out of order) */
	uint64_t refresh_out;	 /* session refreshes we sent (RFC 4028) */
	uint64_t refresh_in;	 /* refreshes answered by the UA itself */
	uint64_t st_expired;	 /* sessions ended by the session timer */
	uint64_t st_422;	 /* 422s sent or retried after */
};
void ua_stats(const struct ua *ua, struct ua_stats *st);

/* ---- UAC ------------------------------------------------------------ */

/* What an outgoing INVITE says. Strings borrowed for the call. */
struct ua_conn {
	const char *ruri;      /* Request-URI */
	const char *from_uri;  /* our identity on this leg */
	const char *from_name; /* display name or NULL */
	const char *to_uri;    /* the callee */
	const char *to_name;   /* or NULL */
	const char *callid;    /* NULL: a fresh one of our shard */
	const char *hdrs;      /* extra header lines, each ending in CRLF,
				  or NULL (the app's header policy) */
	const char *ctype;     /* body type ("application/sdp") or NULL */
	const char *body;      /* or NULL: an offerless INVITE */
	size_t body_len;
	unsigned max_forwards; /* 0: 70 */
	const char *auth_user; /* digest credentials for a 401/407 from
				  the peer (RFC 3261 §22.2), or NULL: the
				  challenge fails the call */
	const char *auth_pass;
	bool delay_ack;	      /* the app sends the ACK (ua_sess_ack()), as
				 for an offerless INVITE */
	struct txn_dest dest; /* where the INVITE goes (the b2bua's
				 routing resolved it) */
};

/*
 * Send an INVITE (§8.1, §13.2.1) creating a UAC session: fresh From tag
 * and branch (>= 64 random bits each), CSeq 1, our Contact. A 401 or 407
 * is answered with the credentials once per challenge (§22.2: the INVITE
 * again with CSeq + 1, a new branch and Authorization); a second
 * non-stale challenge for the same realm means they were refused: the
 * 401/407 comes as FAILED, never a loop. *sp gets the
 * app's reference. Events go to h. Returns 0, EINVAL, ENOMEM, ENOBUFS,
 * or the send error.
 */
int ua_sess_connect(struct ua_sess **sp, struct ua *ua, const struct ua_conn *c,
		    ua_sess_h *h, void *arg);

/* UAC, delay_ack: the ACK for the 2xx with the answer (ctype/body may
   be NULL). Returns 0, EPROTO (no 2xx yet or ACK sent), or an error. */
int ua_sess_ack(struct ua_sess *s, const char *ctype, const char *body,
		size_t body_len);

/* ---- UAS ------------------------------------------------------------ */

void ua_sess_set_handler(struct ua_sess *s, ua_sess_h *h, void *arg);

/*
 * Answer the INVITE of a UAS session: 101-199 (the first one with our To
 * tag creates the early dialog; 100 is the transaction layer's; sent
 * reliably, as by ua_sess_answer_rel(), when the INVITE has Require:
 * 100rel and conf.supported lists it), 2xx (retransmitted until the ACK,
 * §13.3.1.4; the body is the answer or, for an offerless INVITE, the
 * offer; held while a reliable 1xx waits for its PRACK, RFC 3262 §3;
 * with session timers it carries Session-Expires per RFC 4028 §9), or
 * 3xx-6xx (the session is over; no event follows; a held 2xx is
 * dropped). hdrs: extra header lines (CRLF-terminated) or NULL.
 * Returns 0, EPROTO (already answered finally, or a 2xx is held), EINVAL,
 * or an error.
 */
int ua_sess_answer(struct ua_sess *s, uint16_t status, const char *reason,
		   const char *hdrs, const char *ctype, const char *body,
		   size_t body_len);

/*
 * RFC 3262: answer 101-199 reliably (Require: 100rel, RSeq; resent at
 * T1, 2*T1 ... until the PRACK, which comes as UA_EV_PRACK; no PRACK in
 * 64*T1: 504 to the INVITE and UA_EV_ENDED 504). A second reliable 1xx
 * waits for the PRACK of the first (§3); a 2xx given while any is
 * unacknowledged is held and sent after the last PRACK (returns 0). Same
 * arguments as ua_sess_answer(). Returns 0, ENOTSUP (conf.supported lacks
 * 100rel or the INVITE has neither Supported nor Require: 100rel:
 * nothing sent, use ua_sess_answer()), EINVAL (not 101-199), EPROTO, or
 * an error.
 */
int ua_sess_answer_rel(struct ua_sess *s, uint16_t status, const char *reason,
		       const char *hdrs, const char *ctype, const char *body,
		       size_t body_len);

/* ---- both ----------------------------------------------------------- */

/*
 * End the session whatever its state (§15, §9): UAC before the final
 * response: CANCEL (sent once a provisional arrived, §9.1); UAC or UAS
 * confirmed: BYE (a UAS that has not seen the ACK yet waits for it or
 * its timeout, §15); UAS before answering: a final response `status`
 * (0: 480). hdrs (a Reason header, say) go into the BYE / CANCEL /
 * response. An ENDED (or FAILED / CANCELLED) event follows unless the
 * session was not answered yet (UAS). Returns 0, EALREADY (ending or
 * ended), or an error.
 */
int ua_sess_end(struct ua_sess *s, uint16_t status, const char *hdrs);

/*
 * Send a request in the confirmed (or, for UPDATE, PRACK, INFO, early)
 * dialog; a UAC session before the 2xx uses the early dialog of the
 * latest provisional (RFC 3311 §5.1). Method "INVITE" is a re-INVITE (§14.1:
 * EBUSY while another INVITE transaction is in progress on the dialog; a 491 is
 * retried after the §14.1 random delay up to conf.glare_tries times). The final
 * response comes as UA_EV_RESPONSE with cookie. A 2xx to a re-INVITE is
 * ACKed by the UA (delay_ack semantics do not apply: a re-INVITE without
 * an offer gets the app's ACK through ua_sess_ack()). With session
 * timers on, a re-INVITE or UPDATE in the confirmed dialog is a session
 * refresh (RFC 4028 §7.4: Session-Expires, Min-SE; a 422 is retried).
 * Returns 0, EINVAL, EPROTO (no dialog), EBUSY, or an error.
 */
int ua_sess_request(struct ua_sess *s, const char *method, const char *hdrs,
		    const char *ctype, const char *body, size_t body_len,
		    void *cookie);

/*
 * Answer a request the app got in a REINVITE or REQUEST event. A 2xx to
 * a re-INVITE is retransmitted until the ACK (which comes as
 * UA_EV_CONFIRMED). Drops the app's interest: the req reference passed in
 * the event is the session's; mem_ref() it to keep it beyond the event.
 * Returns 0, EPROTO (answered already or aborted), EINVAL, or an error.
 */
int ua_req_reply(struct ua_req *r, uint16_t status, const char *reason,
		 const char *hdrs, const char *ctype, const char *body,
		 size_t body_len);
/* The request's method (for the app's bookkeeping). */
enum sip_method ua_req_method(const struct ua_req *r);

/* ndigits random lower-case hex digits (OpenSSL RAND_bytes) and a NUL
   into buf (ndigits + 1 bytes, ndigits <= 64): the UA's tags and
   branches, and those of requests the app builds itself (OPTIONS
   probes, REGISTER). Returns 0 or EIO. */
int ua_rand_hex(char *buf, size_t ndigits);

/* Introspection. */
enum ua_sess_state {
	UA_S_CALLING,	  /* UAC: INVITE sent, no provisional yet */
	UA_S_INCOMING,	  /* UAS: INVITE received, not answered */
	UA_S_EARLY,	  /* a provisional sent or received */
	UA_S_ANSWERED,	  /* UAS: 2xx sent, waiting for the ACK */
	UA_S_CONFIRMED,	  /* the dialog is up */
	UA_S_TERMINATING, /* CANCEL or BYE sent, waiting for the end */
	UA_S_ENDED,	  /* over */
	UA_S_COUNT
};
enum ua_sess_state ua_sess_state(const struct ua_sess *s);
const char *ua_sess_state_name(enum ua_sess_state st);
/* The confirmed (or first early) dialog, or NULL. Borrowed. */
const struct dlg *ua_sess_dlg(const struct ua_sess *s);
bool ua_sess_is_uac(const struct ua_sess *s);
/* The session's Call-ID (NUL-terminated, borrowed). */
const char *ua_sess_callid(const struct ua_sess *s);
/* A session (not ended) with this Call-ID, or NULL; with *h and *arg its
   event handler and argument. */
struct ua_sess *ua_sess_by_callid(struct ua *ua, const char *callid, size_t len,
				  ua_sess_h **h, void **arg);
/* RFC 3891: for a UAS session whose INVITE carried Replaces, the session
   it names (a confirmed dialog, or an early one we initiated; the UA has
   already answered 481 / 486 / 603 / 400 to the other cases, §3), else
   NULL. Borrowed: valid while s lives. The UA does no replacing itself:
   the app answers the new INVITE and ends the old session. Only this
   UA's sessions are searched: with several signaling workers a dialog
   of another shard (the new INVITE is sharded by its own Call-ID) is
   "no match", 481. */
struct ua_sess *ua_sess_replaces(const struct ua_sess *s);
/* RFC 4028: the running session interval in s (0: no session timer),
   and whether we are the refresher. */
uint32_t ua_sess_interval(const struct ua_sess *s, bool *refresher);

#endif
