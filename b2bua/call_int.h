/* Internals of the call object shared by call.c (set-up, attempts,
   teardown) and call_relay.c (bodies and in-dialog requests). */
#ifndef TANDEM_CALL_INT_H
#define TANDEM_CALL_INT_H

#include "call.h"
#include "db/pol.h"
#include "media/relay.h"

enum { LEG_A, LEG_B, LEG_COUNT };

#define CALL_ATTEMPTS_MAX 8
#define CALL_PREV_MAX 8

enum call_hangup {
	CALL_HUP_NONE,
	CALL_HUP_CALLER,
	CALL_HUP_CALLEE,
	CALL_HUP_TANDEM
};

struct call_target {
	const struct pol_trunk *trunk; /* borrowed from c->snap */
	char called[POL_NUM_MAX];      /* after the outbound rewrite */
	char calling[POL_NUM_MAX];
};

struct call_attempt {
	unsigned target;   /* index in tg[] */
	uint16_t status;   /* final status, 0 while running */
	uint64_t start_ms; /* UTC */
};

struct call {
	struct call *next, **pprev; /* the worker's list */
	struct b2b_worker *bw;
	char id[40]; /* log prefix: "c<worker>-<seq>" */
	enum call_state state;
	struct ua_sess *leg[LEG_COUNT]; /* refs; leg[B] the current attempt */
	bool done[LEG_COUNT];		/* the leg reports nothing more */
	struct ua_sess *prev[CALL_PREV_MAX]; /* refs of finished attempts */
	unsigned nprev;
	struct relay_sess *rs; /* NULL: bodies pass unchanged */
	struct pol_snap *snap; /* ref: targets borrow trunks from it */
	struct call_target tg[POL_TARGETS_MAX];
	unsigned ntg, cur; /* cur: next target to try */
	uint16_t failover[POL_FAILOVER_MAX];
	unsigned nfail;
	char called[POL_NUM_MAX], calling[POL_NUM_MAX]; /* A side, raw */
	char from_name[64];
	char *offer; /* B-leg offer (rewritten) or NULL: offerless */
	size_t offer_len;
	char offer_type[64];
	unsigned max_fwd; /* for the B-leg: A's minus one (§16.6 step 3) */
	bool a_final;	  /* the A-leg got its final response */
	bool stop;	  /* no more attempts: caller gone, hangup */
	bool noanswer;	  /* the attempt was ended by the no-answer timer */
	bool ack_wait[LEG_COUNT]; /* leg waits for ua_sess_ack() with the
				     answer the other leg's ACK brings */
	bool counted;		  /* in b2b active */
	enum call_hangup hangup;
	uint16_t a_status;
	char a_reason[64];
	struct tmr t_noans, t_maxdur, t_reap;
	uint64_t t_start, t_prov, t_answer, t_end; /* ms UTC */
	struct call_attempt att[CALL_ATTEMPTS_MAX];
	unsigned natt;
};

/* A request relayed from one leg to the other, waiting for the answer
   (the cookie of ua_sess_request()). */
struct call_pend {
	struct call *c;	    /* ref */
	struct ua_req *req; /* ref: the request to answer on leg `from` */
	int from;
	bool offerless; /* a re-INVITE without an offer */
};

uint64_t call_now_ms(void);
/* The body of msg as it must go to leg `to` (SDP through the relay).
   *ctype / *body NULL when msg has none. Returns 0 or an errno (the SDP
   could not be read or rewritten: answer 488). */
int call_body_cross(struct call *c, int from, const struct sip_msg *msg,
		    const char **ctype, const char **body, size_t *len,
		    char *tbuf, size_t tsz);
/* In-dialog events of a confirmed (or early) leg: REINVITE, REQUEST,
   RESPONSE, CONFIRMED with an answer. */
void call_relay_event(struct call *c, int from, const struct ua_event *ev);
/* End leg `leg` (BYE / CANCEL / final response) with Reason. */
void call_leg_end(struct call *c, int leg, uint16_t cause, const char *text);

#endif
