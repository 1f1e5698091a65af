/* Session timers: RFC 4028 §7 (UAC), §9 (UAS) negotiation and §10 timer
   behaviour, independent of the dialog layer. */
#ifndef TANDEM_SESS_TIMER_H
#define TANDEM_SESS_TIMER_H

#include <stdbool.h>
#include <stdint.h>

#include "sip_msg.h"
#include "sip_write.h"
#include "tmr.h"

/*
 * Typical use by the UA core (each leg of a B2BUA on its own):
 *   UAC: sess_timer_uac_init(); sess_timer_uac_write() into the INVITE;
 *        422 -> sess_timer_uac_422(), retry (new CSeq) while *retry;
 *        2xx -> sess_timer_uac_2xx() -> sess_timer_start(&leg->st).
 *   UAS: sess_timer_uas_decide() on the INVITE/UPDATE; status 422/420:
 *        answer it with sess_timer_uas_write(); else write the 2xx with
 *        sess_timer_uas_write(), send it, sess_timer_uas_neg() ->
 *        sess_timer_start().
 *   Both: refresh_h -> sess_timer_refresh_prep() + re-INVITE/UPDATE;
 *        expire_h -> BYE; each refresh 2xx -> sess_timer_start() again;
 *        Min-SE of received refreshes -> sess_timer_note_min_se().
 */

/* RFC 4028 §4: "the minimum value ... MUST NOT be less than 90 seconds" */
#define SESS_TIMER_MIN_SE 90u

/* Configuration; sess_timer_cfg_default() fills the defaults. Seconds. */
struct sess_timer_cfg {
	bool enabled;	   /* false: act as a UA without RFC 4028 (no
			      headers written, requests' timers ignored,
			      Require: timer answered 420); default true */
	uint32_t expires;  /* Session-Expires we ask for / grant at most;
			      default 1800 */
	uint32_t min_se;   /* our minimum: Min-SE we send, 422 below it;
			      at least 90 (§4); default 90 */
	bool want_refresh; /* when the choice is ours, we refresh; as UAC
			      we then send refresher=uac (§7.1 recommends
			      leaving it out: false does); default false */
	bool uas_always;   /* as UAS, run a timer (refresher=uas) even for
			      a UAC that neither supports 'timer' nor asked
			      for one (§9 allows it); default false */
	unsigned max_422;  /* retries of one request after 422 (§7.3);
			      default 2 */
};

void sess_timer_cfg_default(struct sess_timer_cfg *cfg);
/* EINVAL when min_se < 90, expires < min_se, or a value is 0. */
int sess_timer_cfg_check(const struct sess_timer_cfg *cfg);

/*
 * The outcome of a negotiation, from our point of view: what a leg runs.
 * interval 0 means no session timer (§7.2: a 2xx without Session-Expires
 * turns it off). min_se is the value the next refresh request of the
 * dialog must carry (§7.4), 0 for none.
 */
struct sess_timer_neg {
	uint32_t interval;	      /* session interval, s; 0: none */
	bool local_refresher;	      /* we send the refreshes */
	enum sip_refresher refresher; /* as written in the 2xx (uac/uas of
					 that transaction) */
	uint32_t min_se;
};

/* ------------------------------------------------------------------ */
/* UAC side: building requests (§7.1, §7.4), 2xx (§7.2) and 422 (§7.3). */

/*
 * What one session refresh request (initial INVITE, re-INVITE, UPDATE)
 * carries, and its 422 retries. A plain struct: embed or keep on the
 * stack while the request is outstanding.
 */
struct sess_timer_uac {
	bool enabled;		      /* write the headers at all */
	bool supported;		      /* write "Supported: timer" (true; the
					 UA clears it when it writes its
					 own Supported list with 'timer') */
	uint32_t expires;	      /* Session-Expires; 0: none */
	uint32_t min_se;	      /* Min-SE; 0: none */
	enum sip_refresher refresher; /* NONE: no refresher parameter */
	unsigned n422;		      /* 422 received for this request */
	unsigned max_422;
};

/*
 * Prepare an initial session refresh request (§7.1): Session-Expires
 * cfg->expires, Min-SE cfg->min_se, refresher=uac only when
 * cfg->want_refresh.
 */
void sess_timer_uac_init(struct sess_timer_uac *uac,
			 const struct sess_timer_cfg *cfg);

/*
 * Write "Supported: timer" (when uac->supported), "Session-Expires:
 * <n>[;refresher=...]" and "Min-SE: <n>" into a request being built
 * (§7.1: Supported in every request but ACK). Nothing when uac->enabled is
 * false. Returns 0 or the writer's error (sticky, see sip_wbuf).
 */
int sess_timer_uac_write(const struct sess_timer_uac *uac, struct sip_wbuf *wb);

/*
 * A 2xx answered the request uac describes: *neg gets the negotiated
 * interval and refresher (§7.2). No Session-Expires: interval 0. A
 * refresher parameter missing from the 2xx (a UAS breaking §9) makes us
 * the refresher, which keeps the session alive either way. Returns 0,
 * or EBADMSG when Session-Expires does not decode (then *neg is
 * "no timer").
 */
int sess_timer_uac_2xx(const struct sess_timer_uac *uac,
		       const struct sip_msg *resp, struct sess_timer_neg *neg);

/*
 * A 422 answered the request (§7.3). When *retry, uac holds the values
 * for the new request: Min-SE the largest seen in the 422s (and ours),
 * Session-Expires at least that. No retry when max_422 is reached, the
 * 422 lacks a usable Min-SE, or its Min-SE does not exceed what we sent
 * (retrying could not help). Returns 0, or EBADMSG (Min-SE malformed;
 * *retry false).
 */
int sess_timer_uac_422(struct sess_timer_uac *uac, const struct sip_msg *resp,
		       bool *retry);

/* ------------------------------------------------------------------ */
/* UAS side (§9).                                                      */

/* The UAS's answer to a session refresh request. */
struct sess_timer_uas {
	uint16_t status;	      /* 0: accept (2xx); 422: too small; 420:
					 Require: timer while disabled */
	uint32_t min_se;	      /* 422: our Min-SE to send */
	uint32_t interval;	      /* 2xx Session-Expires; 0: none */
	enum sip_refresher refresher; /* 2xx refresher parameter */
	bool require;		      /* 2xx gets "Require: timer" */
	bool supported;		      /* write "Supported: timer" */
	bool local_refresher;	      /* refresher is us (uas) */
	uint32_t req_min_se;	      /* Min-SE of the request (0: none),
					 to remember for §7.4 */
};

/*
 * Decide the answer to the received INVITE or UPDATE req (borrowed for
 * the call) per §9 and Table 2. Returns 0 with *res, or EBADMSG when its
 * Session-Expires or Min-SE does not decode (answer 400).
 */
int sess_timer_uas_decide(const struct sess_timer_cfg *cfg,
			  const struct sip_msg *req,
			  struct sess_timer_uas *res);

/*
 * Write the headers of the answer into the response being built: for
 * 422 "Min-SE"; for 420 "Unsupported: timer"; for a 2xx "Supported:
 * timer" (when res->supported), "Session-Expires" and "Require: timer"
 * as decided. Returns 0 or the writer's error.
 */
int sess_timer_uas_write(const struct sess_timer_uas *res, struct sip_wbuf *wb);

/* *neg from a UAS decision (for sess_timer_start() once the 2xx went). */
void sess_timer_uas_neg(const struct sess_timer_uas *res,
			struct sess_timer_neg *neg);

/* ------------------------------------------------------------------ */
/* Running state of one dialog leg (§10).                              */

typedef void(sess_timer_h)(void *arg);

/*
 * A session timer, embedded in the leg that owns it. When we refresh,
 * refresh_h fires at half the interval (§10); the UA then sends a
 * re-INVITE or UPDATE (sess_timer_refresh_prep()). If no refresh
 * completes, and always when the peer refreshes, expire_h fires
 * min(32, interval/3) seconds before the session expires (§10): the UA
 * sends BYE. Every 2xx to a refresh, sent or received, calls
 * sess_timer_start() again. The owner calls sess_timer_stop() before the
 * memory goes away.
 */
struct sess_timer {
	struct tmr tmr;
	struct tmr_ctx *ctx; /* borrowed: outlives the leg */
	sess_timer_h *refresh_h;
	sess_timer_h *expire_h;
	void *arg;	      /* borrowed: the owner */
	uint32_t interval;    /* s; 0: not running */
	bool local_refresher; /* we refresh */
	bool refresh_fired;   /* refresh_h called for this interval */
	uint64_t started;     /* clock ms of the last (re)start */
	uint32_t min_se;      /* largest Min-SE seen on the dialog (§7.4) */
};

void sess_timer_init(struct sess_timer *st, struct tmr_ctx *ctx,
		     sess_timer_h *refresh_h, sess_timer_h *expire_h,
		     void *arg);

/*
 * (Re)start with a negotiation result: from now, per §10. interval 0
 * stops the timer. Raises st->min_se to neg->min_se. Returns 0, or
 * ENOMEM (timer heap) with the timer stopped.
 */
int sess_timer_start(struct sess_timer *st, const struct sess_timer_neg *neg);
void sess_timer_stop(struct sess_timer *st);
bool sess_timer_running(const struct sess_timer *st);
/* ms until the next callback (0 when stopped). */
uint64_t sess_timer_remaining(const struct sess_timer *st);
/* Raise the dialog's Min-SE memory (a 422 or a received request's
   Min-SE, §7.4); lower values are ignored. */
void sess_timer_note_min_se(struct sess_timer *st, uint32_t min_se);

/*
 * Prepare the next refresh request we send on this dialog (§7.4):
 * Session-Expires the current interval (cfg->expires when none runs),
 * refresher=uac when we refresh, uas otherwise (roles are those of the
 * new transaction), Min-SE the largest seen on the dialog, or ours.
 */
void sess_timer_refresh_prep(const struct sess_timer *st,
			     const struct sess_timer_cfg *cfg,
			     struct sess_timer_uac *uac);

/* Schedule helpers (ms after a (re)start), exposed for tests and logs. */
uint64_t sess_timer_refresh_ms(uint32_t interval);
uint64_t sess_timer_expire_ms(uint32_t interval);

#endif
