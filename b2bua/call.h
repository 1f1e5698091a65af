/* The call object: one A-leg (our UAS session toward the caller) and its
   B-leg attempts (UAC sessions toward the policy's targets, one at a
   time, serial failover), with one writer of the call state (the worker
   thread of its shard). Topology hiding by construction: each leg is its
   own dialog (Call-ID, tags, CSeq, Via, Contact, Route set); only bodies
   (SDP rewritten for the media relay), the numbers and Max-Forwards
   cross between legs. */
#ifndef TANDEM_CALL_H
#define TANDEM_CALL_H

#include "b2b.h"

enum call_state {
	CALL_S_ROUTING,	    /* A-leg INVITE taken, B-leg being placed */
	CALL_S_EARLY,	    /* a provisional relayed to the A-leg */
	CALL_S_CONNECTED,   /* 2xx relayed: both legs up */
	CALL_S_TERMINATING, /* one leg ended, the other being ended */
	CALL_S_ENDED,	    /* both legs over */
	CALL_S_COUNT
};

const char *call_state_name(enum call_state s);

/*
 * A new INVITE on the worker bw (past the UA's §8.2 checks): ask the
 * policy, place the B-leg and bridge the two. a is the A-leg (the call
 * takes its own reference); inv and src are borrowed for the call.
 * Answers the A-leg itself on any failure (the policy's status, 503
 * with Retry-After over the limits or while draining, 500).
 */
void call_incoming(struct b2b_worker *bw, struct ua_sess *a,
		   const struct sip_msg *inv, const struct tp_recv *src);

/* End every call of bw (drain timeout, shutdown): BYE / CANCEL / 503. */
void call_hangup_all(struct b2b_worker *bw);

/* Once a second on bw's thread: end connected calls whose RTP stopped
   (media.rtp_timeout_s; issue 6 item 5) on both legs with a Reason. */
void call_media_check(struct b2b_worker *bw);

/* The workers are stopped: release every call of bw without signaling
   (shutdown after the drain). */
void call_drop_all(struct b2b_worker *bw);

/* Answer a management query on bw's thread (b2b_query). */
void call_query(struct b2b_worker *bw, struct b2b_query *q);

#endif
