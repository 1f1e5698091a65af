/* Internals of the call object shared by call.c (set-up, attempts,
   teardown) and call_relay.c (bodies and in-dialog requests). */
#ifndef TANDEM_CALL_INT_H
#define TANDEM_CALL_INT_H

#include "call.h"
#include "db/pol.h"
#include "media/relay.h"

enum { LEG_A, LEG_B, LEG_COUNT };

#define CALL_ATTEMPTS_MAX 8
#define CALL_PREV_MAX 12
#define CALL_REDIRECTS 2       /* 3xx followed per call */
#define CALL_REDIRECT_HDR 1024 /* Contact lines of a relayed 3xx */
#define CALL_LADDER_MAX 32     /* messages kept per call */
#define CALL_LADDER_LINE 52    /* of each: its first line, cut */

/* One message of the call's ladder (GET /calls/{id}). */
struct call_lad {
	uint32_t t_ms; /* since the call began */
	uint8_t leg;   /* LEG_A, LEG_B */
	bool out;      /* sent by Tandem */
	char line[CALL_LADDER_LINE];
};

enum call_hangup {
	CALL_HUP_NONE,
	CALL_HUP_CALLER,
	CALL_HUP_CALLEE,
	CALL_HUP_TANDEM
};

struct call_target {
	const struct pol_trunk *trunk; /* borrowed from c->snap */
	struct pol_cid cid;	       /* the target's caller-ID rule */
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
	struct relay_sess *rs;	/* NULL: bodies pass unchanged */
	struct call_srtp *srtp; /* SRTP keys per leg (call_srtp.c), NULL
				   until a trunk asks for SRTP */
	const struct pol_trunk *b_trunk; /* trunk of the B-leg (attempt being
					    placed or running), from snap */
	struct pol_snap *snap;	     /* ref: targets borrow trunks from it */
	const struct pol_trunk *src; /* the caller's trunk, from snap */
	struct lim_slot *src_slot;   /* counted against src, or NULL */
	struct lim_slot *dst_slot;   /* the attempt's trunk, or NULL */
	bool limited;		     /* refused by a trunk limit */
	char session_id[72];	     /* RFC 7989, or "" */
	char a_pai[160];	     /* caller's P-Asserted-Identity, or "" */
	char a_privacy[64];	     /* caller's Privacy, or "" */
	char *a_pass;		     /* caller's headers a trunk with
					hdr_pass may get, or NULL */
	char b_reason[64];	     /* last B-leg final reason phrase */
	struct call_target tg[POL_TARGETS_MAX];
	unsigned ntg, cur;  /* cur: next target to try */
	unsigned redirects; /* 3xx followed so far */
	uint16_t failover[POL_FAILOVER_MAX];
	unsigned nfail;
	char called[POL_NUM_MAX], calling[POL_NUM_MAX]; /* A side, raw */
	char from_name[64];
	char *offer; /* B-leg offer (rewritten) or NULL: offerless */
	size_t offer_len;
	char offer_type[64];
	char *a_sdp; /* the A-leg's own offer (raw), to build the offer again
			for a target whose SRTP mode differs */
	size_t a_sdp_len;
	const struct pol_trunk *offer_for; /* the trunk offer was built for */
	char codecs[64];  /* of the last answer's audio m-line (CDR) */
	unsigned dns_k;	  /* DNS destination of the attempt's trunk */
	bool dns_again;	  /* the next placement retries the same
			     target at dns_k (RFC 3263 §4.3) */
	uint16_t b_cause; /* set while a translated status is answered:
			     the target's own, for the Reason */
	char b_cause_text[64];
	uint64_t osess;		   /* our o= session id (both legs) */
	char *last_sdp[LEG_COUNT]; /* last description sent to each leg
				      (rewritten), for a transfer */
	size_t last_sdp_len[LEG_COUNT];
	struct ua_sess *xfer;		    /* ref: the new leg of a transfer */
	int xfer_leg;			    /* the leg it replaces */
	bool xfer_done;			    /* it reports nothing more */
	const struct pol_trunk *xfer_trunk; /* the trunk the new leg faces */
	char *xfer_sdp; /* the offer it got: last_sdp[xfer_leg] once it has
			   taken over */
	size_t xfer_sdp_len;
	uint64_t xfer_over; /* its o= version (RFC 3264 §8: ours grows by
			       one per description to a peer) */
	struct call_srtp *xfer_srtp; /* SRTP state before its offer, put
					back if it fails */
	const struct pol_trunk *leg_trunk[LEG_COUNT]; /* a leg's trunk after
							 a transfer replaced
							 its peer */
	uint64_t over[LEG_COUNT]; /* o= version last sent per leg */
	unsigned max_fwd; /* for the B-leg: A's minus one (§16.6 step 3) */
	bool a_final;	  /* the A-leg got its final response */
	bool stop;	  /* no more attempts: caller gone, hangup */
	bool noanswer;	  /* the attempt was ended by the no-answer timer */
	bool ack_wait[LEG_COUNT]; /* leg waits for ua_sess_ack() with the
				     answer the other leg's ACK brings */
	bool counted;		  /* in b2b active */
	bool refused;		  /* refused by policy */
	enum call_hangup hangup;
	uint16_t a_status;
	char a_reason[64];
	struct tmr t_noans, t_maxdur, t_reap;
	uint64_t t_start, t_prov, t_answer, t_end; /* ms UTC */
	struct call_lad *lad; /* CALL_LADDER_MAX, or NULL (api.ladder off) */
	unsigned nlad;	      /* kept */
	unsigned lad_more;    /* not kept: after the first CALL_LADDER_MAX */
	struct call_attempt att[CALL_ATTEMPTS_MAX];
	unsigned natt;
};

/* A request relayed from one leg to the other, waiting for the answer
   (the cookie of ua_sess_request()). */
struct call_pend {
	struct call *c;	    /* ref */
	struct ua_req *req; /* ref: the request to answer on leg `from` */
	int from;
	bool offerless;	    /* a re-INVITE without an offer */
	bool replied;	    /* answered early (t_guard) */
	struct tmr t_guard; /* non-INVITE: answer 408 before the sender's
			       own Timer F (RFC 4320 §4.1) */
};

uint64_t call_now_ms(void);
/* The body of msg as it must go to leg `to` (SDP through the relay).
   *ctype / *body NULL when msg has none. Returns 0 or an errno (the SDP
   could not be read or rewritten: answer 488). */
int call_body_cross(struct call *c, int from, const struct sip_msg *msg,
		    bool answer, const char **ctype, const char **body,
		    size_t *len, char *tbuf, size_t tsz);
/* The same for an SDP body already out of its message. */
int call_sdp_cross(struct call *c, int from, const char *in, size_t inlen,
		   bool answer, const char **body, size_t *len);

/* call_srtp.c: SRTP per leg by the trunks' modes. _in() on a description
   from leg `from` before the relay rewrite (takes and strips the peer's
   a=crypto; EPROTO when the leg's trunk requires SRTP and it has none),
   _out() after it, toward leg `to` (adds ours where that leg gets SRTP,
   sets the relay's transforms). answer: the description answers an offer
   (RFC 3264), else it is one. */
/* call_codec.c: an offer from leg `from` restricted to the codecs both
   legs' trunks allow (ENOENT: none left on an m-line, answer 488); the
   codecs of an answer noted for the CDR. */
int call_codecs_filter(struct call *c, int from, struct sdp *sdp);
/* The trunk of a leg: the caller's, or the B-leg attempt's (NULL). */
const struct pol_trunk *call_leg_trunk(const struct call *c, int leg);
void call_codecs_note(struct call *c, const struct sdp *sdp);
/* A transfer's new leg x answered: map the payload types the other leg
   sends to the numbers the new peer chose. */
void call_ptmap_xfer(struct call *c, int x, const struct sdp *ans);

enum pol_srtp call_srtp_mode(const struct call *c, int leg);
int call_srtp_in(struct call *c, int from, struct sdp *sdp, bool answer);
int call_srtp_out(struct call *c, int to, struct sdp *sdp, bool answer);
bool call_srtp_used(const struct call *c, int leg);
/* Give the relay the current keys of every stream again. */
void call_srtp_apply(struct call *c);
/* A transfer offers sdp, the description leg x was sent last, to a new
   peer behind trunk t: the SRTP state is kept to go back to, the relay's
   transforms stay as they are until call_srtp_xfer_end(), and our
   a=crypto toward x leaves the description (call_srtp_out() with t's
   mode puts a new one in). EPROTO: SRTP passing end to end cannot move
   to a trunk where Tandem terminates it. */
int call_srtp_xfer_begin(struct call *c, int x, const struct pol_trunk *t,
			 struct sdp *sdp);
/* The transfer's new leg took over (took) or failed: keep or restore. */
void call_srtp_xfer_end(struct call *c, bool took);
void call_srtp_free(struct call *c);
/* In-dialog events of a confirmed (or early) leg: REINVITE, REQUEST,
   RESPONSE, CONFIRMED with an answer. */
void call_relay_event(struct call *c, int from, const struct ua_event *ev);
/* call_out.c: the B-leg request. */
void call_user_escape(const char *in, char *out, size_t size);
void call_host_fmt(const char *host, char *out, size_t size);
int call_target_dest(const struct b2b *b, const struct pol_trunk *t,
		     struct txn_dest *d);
int call_take_hdrs(struct call *c, const struct sip_msg *inv);
void call_b_hdrs(const struct call *c, const struct call_target *t,
		 const char *host, char *buf, size_t size);
bool call_is_self(const struct b2b *b, const struct pol_trunk *t);
/* pol_req.usable for b (a struct b2b *): not found down by OPTIONS. */
bool call_trunk_usable(void *b, const struct pol_trunk *t);

/* call_auth.c: inbound digest per trunk. */
int call_auth_init(struct b2b_worker *bw);
/* The enabled trunk with inbound user `user` (NULL: any with one). */
const struct pol_trunk *call_auth_trunk(const struct pol_snap *s,
					const char *user);
/* Check the INVITE's Proxy-Authorization: 0 with *trunk (authentic),
   ENOENT (none for our realm), or EAGAIN/EACCES (the A-leg has been
   answered: 407 stale, 400, 403). */
int call_auth_check(struct call *c, const struct sip_msg *inv,
		    const struct tp_recv *src, const struct pol_trunk **trunk);
/* Answer the A-leg 407 with a fresh challenge bound to the source. */
void call_auth_challenge(struct call *c, const struct tp_recv *src, bool stale);
/* The A-leg's final failure (3xx-6xx). */
void call_fail_a(struct call *c, uint16_t status, const char *phrase,
		 const char *hdrs);

/* The event handler of leg A or B (a transfer's new leg takes it). */
ua_sess_h *call_leg_h(int leg);
/* Keep a finished session's reference until the call goes (never
   released inside its own callback). */
void call_keep_prev(struct call *c, struct ua_sess *s);

/* call_xfer.c: REFER (RFC 3515) handled by Tandem: a blind transfer
   places a new leg and replaces the referring one. */
void call_xfer_refer(struct call *c, int from, const struct ua_event *ev);
/* A leg ended or the call is ending: abandon a transfer in progress. */
void call_xfer_abort(struct call *c);

/* call_ladder.c: the SIP messages of each call, by Call-ID (both legs,
   a transfer's new leg). The worker's transaction layer's sends (its
   sipw tap), the UA's own sends and every message received. */
void call_ladder_sent(struct b2b_worker *bw, const char *buf, size_t len);
void call_ladder_recv(struct b2b_worker *bw, const struct sip_msg *msg);
/* One entry: the first line of buf. */
void call_ladder_add(struct call *c, int leg, bool out, const char *buf,
		     size_t len);
/* Is h (with arg) the handler of a call's leg? The call, *leg. */
struct call *call_of_handler(ua_sess_h *h, void *arg, int *leg);
/* The transfer leg's handler (call_xfer.c). */
ua_sess_h *call_xfer_h(void);

/* The call's CDR to the writer (at its end). */
void call_cdr(struct call *c);
/* The per-trunk counters (lim.h) of the call over: its source trunk
   (in) and every attempt's trunk (out). At its end, once. */
void call_trunk_count(struct call *c);
/* A CDR for an INVITE refused before a call existed (limits, drain). */
void call_cdr_refused(struct b2b_worker *bw, const struct sip_msg *inv,
		      uint16_t status, const char *phrase);
/* Both legs over: account, log, release on the next tick. */
void call_maybe_done(struct call *c);
/* End leg `leg` (BYE / CANCEL / final response) with Reason. */
void call_leg_end(struct call *c, int leg, uint16_t cause, const char *text);

#endif
