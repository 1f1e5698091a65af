/*
 * ua_peer: the Tandem side of the UA-core integration tests (RFC 3261
 * §8-§15 on the wire, against SIPp; run by run_ua.sh). One process, one
 * event loop with the real tp, txn, tmr and ua contexts of the stack; the
 * driver plays the app above the UA (what the b2bua will do per leg).
 *
 * Usage:
 *   ua_peer port            print a free UDP port on 127.0.0.1, exit
 *   ua_peer MODE PORT PEER  MODE as below; we listen on 127.0.0.1:PORT,
 *                           SIPp on 127.0.0.1:PEER
 * UAS modes (SIPp calls us):
 *   uas-basic     180, 200 with SDP; SIPp ACKs and sends BYE
 *   uas-bye       200; after the ACK we send the BYE
 *   uas-cancel    180; SIPp CANCELs (we answer 200 and 487)
 *   uas-reinvite  200; SIPp re-INVITEs (hold), we answer 200, SIPp BYEs
 *   uas-info      200; SIPp sends INFO (DTMF), we answer 200, SIPp BYEs
 *   uas-prack     reliable 180 (RFC 3262) and a 200 held until SIPp's
 *                 PRACK; SIPp ACKs and BYEs
 *   uas-timer     RFC 4028: SIPp asks for 90 s (refresher=uac); we
 *                 answer with Session-Expires; SIPp refreshes with a
 *                 re-INVITE (same SDP) and an UPDATE, which the UA
 *                 answers itself (answer_refreshes); SIPp BYEs
 * UAC modes (we call SIPp):
 *   uac-basic     SIPp answers 180, 200; we ACK, then BYE
 *   uac-remote-bye SIPp answers and hangs up
 *   uac-cancel    SIPp rings; we CANCEL; SIPp answers 487
 *   uac-busy      SIPp answers 486
 *   uac-reinvite  SIPp answers; we re-INVITE (hold), then BYE
 *   uac-fork      SIPp sends two 180s with different To tags, then 200
 *                 on the second: two early dialogs, the second confirmed
 *   uac-fork-2xx  as uac-fork, then a 200 on the first fork too: the UA
 *                 ACKs it and sends it a BYE (§13.2.2.4); we BYE the
 *                 second
 *   uac-prack     SIPp answers a reliable 183 with SDP; we PRACK it,
 *                 SIPp answers 200; we BYE
 *   uac-timer     RFC 4028: SIPp answers 422 (Min-SE 120) to our
 *                 Session-Expires 90; we retry with 120, SIPp takes the
 *                 refreshes (refresher=uas) and sends an UPDATE, answered
 *                 by the UA; we BYE
 * Glare, UPDATE, session-timer expiry, digest (both roles):
 *   uac-glare     we re-INVITE; SIPp re-INVITEs at once too (it gets our
 *                 491), then answers ours 491; its retry gets our 200, and
 *                 ours follows 2.1-4 s after the 491 (§14.1: we own the
 *                 Call-ID); we BYE
 *   uas-glare     the same with SIPp as the caller: our retry is due
 *                 0-2 s after the 491; SIPp retries after ours and BYEs
 *   uas-update    180; SIPp UPDATEs in the early dialog (we answer 200,
 *                 then 200 the INVITE), ACKs, UPDATEs with SDP in the
 *                 confirmed dialog, BYEs (RFC 3311)
 *   uac-update    SIPp rings; we UPDATE in the early dialog, SIPp answers
 *                 it and the INVITE; we UPDATE with SDP, then BYE
 *   uas-timer-expiry  RFC 4028 §10: SIPp asks for 90 s, refresher=uac,
 *                 and never refreshes: we BYE (Reason) at 60 s
 *   uac-timer-expiry  SIPp grants 90 s with refresher=uas and never
 *                 refreshes: we BYE at 60 s
 *                 (both run our clock 20 times fast: 60 s take 3 s)
 *   uac-digest    SIPp challenges (401, qop=auth, MD5) and verifies our
 *                 one answer (CSeq 2); 200; we BYE
 *   uac-digest-wrong  our password is wrong: SIPp's second 401 ends the
 *                 call (FAILED 401); no third INVITE
 *   uas-digest    we challenge SIPp (401 from auth_server: HMAC nonce),
 *                 verify its answer, 200; SIPp BYEs
 *   uas-digest-wrong  SIPp's password is wrong: 403, once; no session
 *                 is left
 *
 * Prints "RESULT key=value" lines and one PASS/FAIL line; exits 0 on
 * PASS. Bounded: a deadline on the loop and alarm() as the hard stop.
 */
#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

#include "stack/auth.h"
#include "stack/log.h"
#include "stack/mem.h"
#include "stack/sip_msg.h"
#include "stack/sipw.h"
#include "stack/tmr.h"
#include "stack/tp.h"
#include "stack/txn.h"
#include "stack/ua.h"

#define IP "127.0.0.1"
#define HARD_LIMIT_S 30
#define DEADLINE_MS 15000
#define HANGUP_MS 300

static const char sdp_a[] = "v=0\r\no=tandem 1 1 IN IP4 127.0.0.1\r\ns=-\r\n"
			    "c=IN IP4 127.0.0.1\r\nt=0 0\r\n"
			    "m=audio 30000 RTP/AVP 0 101\r\n"
			    "a=rtpmap:101 telephone-event/8000\r\n";
static const char sdp_hold[] = "v=0\r\no=tandem 1 2 IN IP4 127.0.0.1\r\ns=-\r\n"
			       "c=IN IP4 127.0.0.1\r\nt=0 0\r\n"
			       "m=audio 30000 RTP/AVP 0\r\na=sendonly\r\n";

struct peer {
	const char *mode;
	uint16_t port, sipp_port;
	struct event_base *base;
	struct event *tmr_ev;
	struct tmr_ctx *tmr;
	struct tp_ctx *tp;
	struct txn_ctx *txn;
	struct ua *ua;
	struct ua_sess *s;	  /* ref */
	unsigned speed;		  /* our clock runs this many times fast */
	uint64_t mono0;		  /* tmr_clock_mono() at the start */
	struct auth_server *auth; /* uas-digest* */
	unsigned rejected_auth;	  /* INVITEs refused 401 / 403 */
	/* the wire, as ua_peer saw it (our clock, ms) */
	unsigned invites_out; /* INVITEs sent with a new CSeq */
	uint32_t last_inv_cseq;
	uint64_t t_491_in;	/* a 491 received */
	uint64_t t_retry_out;	/* the first new INVITE sent after it */
	uint64_t t_2xx;		/* the dialog came up (ANSWERED/CONFIRMED) */
	uint64_t t_bye_out;	/* our first BYE */
	unsigned early_updates; /* UPDATEs answered / sent in early */
	unsigned conf_updates;	/* and in the confirmed dialog */
	struct tmr t_act;	/* the app's next step */
	struct tmr t_deadline;
	unsigned n[UA_EV_COUNT]; /* events seen */
	uint16_t last_status[UA_EV_COUNT];
	bool by_remote;
	uint32_t interval; /* RFC 4028, at the 2xx */
	bool refresher;
	unsigned reinvites_sent;
	bool done;
	int rc;
};

static bool
is(const struct peer *p, const char *m)
{
	return strcmp(p->mode, m) == 0;
}

static void
on_linger(void *arg)
{
	struct peer *p = arg;

	event_base_loopbreak(p->base);
}

static void __attribute__((format(printf, 3, 4)))
finish(struct peer *p, int rc, const char *fmt, ...)
{
	va_list ap;

	if (p->done)
		return;
	p->done = true;
	p->rc = rc;
	printf("%s: %s: ", rc ? "FAIL" : "PASS", p->mode);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	fflush(stdout);
	/* Stay a little for the last retransmissions (a 200 to BYE lost,
	   an ACK for a 487), then leave the loop. */
	tmr_start(&p->t_deadline, p->tmr, 300 * p->speed, on_linger, p);
}

static void
on_alarm(int sig)
{
	static const char msg[] = "FAIL: hard time limit (alarm) reached\n";

	(void)sig;
	(void)!write(STDOUT_FILENO, msg, sizeof(msg) - 1);
	_exit(1);
}

/* ---- event loop glue ------------------------------------------------ */

/* Our clock: the monotonic one, speed times fast (the expiry modes). */
static uint64_t
peer_clock(void *arg)
{
	struct peer *p = arg;
	uint64_t m = tmr_clock_mono(NULL);

	return p->mono0 + (m - p->mono0) * p->speed;
}

static void
sync_tmr(struct peer *p)
{
	int64_t ms = tmr_poll(p->tmr);
	struct timeval tv;

	if (ms < 0) {
		evtimer_del(p->tmr_ev);
		return;
	}
	ms = (ms + p->speed - 1) / p->speed; /* real ms */
	tv.tv_sec = ms / 1000;
	tv.tv_usec = (ms % 1000) * 1000;
	evtimer_add(p->tmr_ev, &tv);
}

static void
on_tmr_ev(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	sync_tmr(arg);
}

/* What we send: INVITEs with a new CSeq (a retry after 491 or a
   challenge is one, a retransmission is not) and the first BYE. */
static void
watch_out(struct peer *p, const char *buf, size_t len)
{
	const char *cs;
	uint32_t n;

	if (len > 4 && memcmp(buf, "BYE ", 4) == 0 && !p->t_bye_out)
		p->t_bye_out = tmr_now(p->tmr);
	if (len < 7 || memcmp(buf, "INVITE ", 7) != 0)
		return;
	cs = strstr(buf, "\r\nCSeq: ");
	if (!cs)
		return;
	n = (uint32_t)strtoul(cs + 8, NULL, 10);
	if (p->invites_out && n == p->last_inv_cseq)
		return;
	p->invites_out++;
	p->last_inv_cseq = n;
	if (p->t_491_in && !p->t_retry_out)
		p->t_retry_out = tmr_now(p->tmr);
}

static int
on_send(const struct txn_dest *dst, const char *buf, size_t len, void *arg)
{
	struct peer *p = arg;

	watch_out(p, buf, len);
	return tp_send(p->tp, (enum tp_proto)dst->proto,
		       (const struct sockaddr *)&dst->addr, dst->len, dst->conn,
		       buf, len);
}

static void
on_recv(const struct sip_msg *msg, const struct tp_recv *rx, void *arg)
{
	struct peer *p = arg;
	struct txn_dest src;

	if (!msg->req && msg->status == 491 && !p->t_491_in)
		p->t_491_in = tmr_now(p->tmr);
	if (sipw_txn_dest(rx, &src) == 0)
		ua_recv(p->ua, msg, &src);
	sync_tmr(p);
}

/* ---- the app -------------------------------------------------------- */

/* From the 491 we got to the retry of our re-INVITE, ms (-1: none). */
static long long
glare_delay(const struct peer *p)
{
	return p->t_491_in && p->t_retry_out
		       ? (long long)(p->t_retry_out - p->t_491_in)
		       : -1;
}

/* From the 2xx to our BYE, ms of our clock (-1: none). */
static long long
expiry_delay(const struct peer *p)
{
	return p->t_2xx && p->t_bye_out ? (long long)(p->t_bye_out - p->t_2xx)
					: -1;
}

static bool
in_range(long long v, long long lo, long long hi)
{
	return v >= lo && v <= hi;
}

/* Cookies of our UPDATEs. */
static char upd_early, upd_conf;

static void
report(struct peer *p)
{
	struct ua_stats st;
	unsigned i;

	ua_stats(p->ua, &st);
	for (i = 0; i < UA_EV_COUNT; i++)
		if (p->n[i])
			printf("RESULT ev%u=%u status=%u\n", i, p->n[i],
			       p->last_status[i]);
	printf("RESULT acks_2xx=%" PRIu64 " retrans_2xx=%" PRIu64
	       " glare=%" PRIu64 " fork_byes=%" PRIu64 "\n",
	       st.acks_2xx, st.retrans_2xx, st.glare, st.fork_byes);
	printf("RESULT invites_out=%u glare_delay_ms=%lld expiry_ms=%lld "
	       "early_updates=%u conf_updates=%u auth_retries=%" PRIu64
	       " st_expired=%" PRIu64 "\n",
	       p->invites_out, glare_delay(p), expiry_delay(p),
	       p->early_updates, p->conf_updates, st.auth_retries,
	       st.st_expired);
	if (p->auth) {
		const struct auth_server_stats *as = auth_server_stats(p->auth);

		printf("RESULT auth challenges=%" PRIu64 " ok=%" PRIu64
		       " fail=%" PRIu64 " rejected=%u\n",
		       as->challenges, as->ok, as->fail, p->rejected_auth);
	}
}

static void
on_hangup(void *arg)
{
	struct peer *p = arg;
	int err = ua_sess_end(p->s, 0, "Reason: Q.850;cause=16\r\n");

	if (err)
		finish(p, 1, "hang-up: %s", strerror(err));
}

static void
on_update_now(void *arg)
{
	struct peer *p = arg;
	int err = ua_sess_request(p->s, "UPDATE", NULL, "application/sdp",
				  sdp_hold, strlen(sdp_hold), &upd_conf);

	if (err)
		finish(p, 1, "UPDATE: %s", strerror(err));
}

static void
on_reinvite_now(void *arg)
{
	struct peer *p = arg;
	int err = ua_sess_request(p->s, "INVITE", NULL, "application/sdp",
				  sdp_hold, strlen(sdp_hold), p);

	p->reinvites_sent++;
	if (err)
		finish(p, 1, "re-INVITE: %s", strerror(err));
}

/* The modes of glare, UPDATE, expiry and digest: the whole verdict. */
static bool
judge_more(struct peer *p, const struct ua_event *ev, const struct ua_stats *st)
{
	bool ended_local =
		ev->ev == UA_EV_ENDED && !ev->by_remote && ev->status == 200;
	bool ended_remote = ev->ev == UA_EV_ENDED && ev->by_remote;

	if (is(p, "uac-glare") || is(p, "uas-glare"))
		/* §14.1: one 491 each way, one retry of ours in its window:
		   2.1-4 s when we own the Call-ID, 0-2 s when not (plus
		   200 ms for the scheduler of a shared machine). */
		return (is(p, "uac-glare") ? ended_local : ended_remote) &&
		       st->glare == 1 && p->n[UA_EV_REINVITE] == 1 &&
		       p->last_status[UA_EV_RESPONSE] == 200 &&
		       p->invites_out == (is(p, "uac-glare") ? 3u : 2u) &&
		       (is(p, "uac-glare")
				? in_range(glare_delay(p), 2090, 4200)
				: in_range(glare_delay(p), 0, 2200));
	if (is(p, "uas-update"))
		return ended_remote && p->early_updates == 1 &&
		       p->conf_updates == 1 && p->n[UA_EV_REQUEST] == 2;
	if (is(p, "uac-update"))
		return ended_local && p->early_updates == 1 &&
		       p->conf_updates == 1;
	if (is(p, "uas-timer-expiry") || is(p, "uac-timer-expiry"))
		/* RFC 4028 §10: BYE at interval - min(32, interval / 3) =
		   60 s after the 2xx (plus 150 ms real at speed 20). */
		return ev->ev == UA_EV_ENDED && !ev->by_remote &&
		       ev->status == 408 && st->st_expired == 1 &&
		       p->interval == 90 && p->refresher == false &&
		       in_range(expiry_delay(p), 59900, 63000);
	if (is(p, "uac-digest"))
		return ended_local && st->auth_retries == 1 &&
		       p->invites_out == 2;
	if (is(p, "uac-digest-wrong"))
		/* §22.2 once per challenge: the second 401 is the answer */
		return ev->ev == UA_EV_FAILED && ev->status == 401 &&
		       st->auth_retries == 1 && p->invites_out == 2;
	if (is(p, "uas-digest")) {
		const struct auth_server_stats *as = auth_server_stats(p->auth);

		return ended_remote && as->challenges == 1 && as->ok == 1 &&
		       as->fail == 0 && p->rejected_auth == 1 &&
		       p->n[UA_EV_CONFIRMED] == 1;
	}
	return true;
}

/* The extension modes: what must have happened besides the end. */
static bool
judge_ext(struct peer *p, const struct ua_event *ev)
{
	struct ua_stats st;

	ua_stats(p->ua, &st);
	if (is(p, "uas-prack"))
		return ev->ev == UA_EV_ENDED && ev->by_remote &&
		       p->n[UA_EV_PRACK] == 1 && p->n[UA_EV_CONFIRMED] == 1 &&
		       st.prack_in == 1;
	if (is(p, "uac-prack"))
		return ev->ev == UA_EV_ENDED && !ev->by_remote &&
		       ev->status == 200 && p->n[UA_EV_PROGRESS] == 1 &&
		       st.prack_out == 1;
	if (is(p, "uas-timer"))
		return ev->ev == UA_EV_ENDED && ev->by_remote &&
		       p->n[UA_EV_REFRESHED] == 2 &&
		       p->n[UA_EV_REINVITE] == 0 && p->n[UA_EV_REQUEST] == 0 &&
		       st.refresh_in == 2;
	if (is(p, "uac-fork-2xx"))
		/* §13.2.2.4: the second 2xx (the other fork) is ACKed and
		   ended with BYE by the UA; the app sees one answer */
		return st.fork_byes == 1 && st.acks_2xx == 2 &&
		       p->n[UA_EV_ANSWERED] == 1;
	if (is(p, "uac-timer"))
		return ev->ev == UA_EV_ENDED && !ev->by_remote &&
		       ev->status == 200 && p->n[UA_EV_REFRESHED] == 1 &&
		       st.st_422 == 1 && p->interval == 120 && !p->refresher;
	return judge_more(p, ev, &st);
}

/* The end of the session decides the run. */
static void
judge(struct peer *p, const struct ua_event *ev)
{
	bool ok = false;

	report(p);
	if (is(p, "uas-basic") || is(p, "uas-reinvite") || is(p, "uas-info") ||
	    is(p, "uac-remote-bye") || is(p, "uas-prack") || is(p, "uas-timer"))
		ok = ev->ev == UA_EV_ENDED && ev->by_remote;
	else if (is(p, "uas-bye") || is(p, "uac-basic") || is(p, "uac-fork") ||
		 is(p, "uac-fork-2xx") || is(p, "uac-prack") ||
		 is(p, "uac-timer"))
		ok = ev->ev == UA_EV_ENDED && !ev->by_remote &&
		     ev->status == 200;
	else if (is(p, "uas-cancel"))
		ok = ev->ev == UA_EV_CANCELLED;
	else if (is(p, "uac-cancel"))
		ok = ev->ev == UA_EV_FAILED && ev->status == 487;
	else if (is(p, "uac-busy"))
		ok = ev->ev == UA_EV_FAILED && ev->status == 486;
	else if (is(p, "uac-reinvite"))
		ok = ev->ev == UA_EV_ENDED && ev->status == 200 &&
		     p->last_status[UA_EV_RESPONSE] == 200;
	else if (strstr(p->mode, "-glare") || strstr(p->mode, "-update") ||
		 strstr(p->mode, "-expiry") || strstr(p->mode, "-digest"))
		ok = true; /* judge_more() decides */
	if (ok && is(p, "uas-reinvite"))
		ok = p->n[UA_EV_REINVITE] == 1 && p->n[UA_EV_CONFIRMED] == 2;
	if (ok && is(p, "uas-info"))
		ok = p->n[UA_EV_REQUEST] == 1;
	if (ok && (is(p, "uac-fork") || is(p, "uac-fork-2xx")))
		ok = p->n[UA_EV_PROGRESS] == 2 &&
		     strcmp(ua_sess_dlg(p->s)->rtag.p, "fork2") == 0;
	ok = ok && judge_ext(p, ev);
	finish(p, ok ? 0 : 1, "final event %u status %u", ev->ev, ev->status);
}

/* A request in the dialog: 200, with our SDP when it carried an offer
   (RFC 3311 §5.2: the UPDATE's answer is in its 2xx). */
static void
on_request(struct peer *p, const struct ua_event *ev)
{
	bool upd = ua_req_method(ev->req) == SIP_M_UPDATE;
	bool offer = upd && ev->msg && ev->msg->body.l;
	enum ua_sess_state st = ua_sess_state(p->s);

	ua_req_reply(ev->req, 200, NULL, NULL, offer ? "application/sdp" : NULL,
		     offer ? sdp_a : NULL, offer ? strlen(sdp_a) : 0);
	if (upd && st == UA_S_EARLY) {
		p->early_updates++;
		if (is(p, "uas-update"))
			ua_sess_answer(p->s, 200, NULL, NULL, "application/sdp",
				       sdp_a, strlen(sdp_a));
	} else if (upd && st == UA_S_CONFIRMED) {
		p->conf_updates++;
	}
}

static void
on_ev(struct ua_sess *s, const struct ua_event *ev, void *arg)
{
	struct peer *p = arg;

	(void)s;
	p->n[ev->ev]++;
	p->last_status[ev->ev] = ev->status;
	printf("event %u status %u\n", ev->ev, ev->status);
	switch (ev->ev) {
	case UA_EV_PROGRESS:
		if (is(p, "uac-cancel") && ev->status == 180)
			on_hangup(p);
		if (is(p, "uac-update") && ev->status == 180 &&
		    ua_sess_request(p->s, "UPDATE", NULL, NULL, NULL, 0,
				    &upd_early))
			finish(p, 1, "early UPDATE refused");
		break;
	case UA_EV_ANSWERED:
		p->interval = ua_sess_interval(p->s, &p->refresher);
		p->t_2xx = tmr_now(p->tmr);
		if (is(p, "uac-basic") || is(p, "uac-fork") ||
		    is(p, "uac-fork-2xx") || is(p, "uac-prack") ||
		    is(p, "uac-digest"))
			tmr_start(&p->t_act, p->tmr, HANGUP_MS, on_hangup, p);
		else if (is(p, "uac-reinvite") || is(p, "uac-glare"))
			tmr_start(&p->t_act, p->tmr, 100, on_reinvite_now, p);
		else if (is(p, "uac-update"))
			tmr_start(&p->t_act, p->tmr, 100, on_update_now, p);
		break;
	case UA_EV_REFRESHED:
		if (is(p, "uac-timer"))
			tmr_start(&p->t_act, p->tmr, HANGUP_MS, on_hangup, p);
		break;
	case UA_EV_CONFIRMED:
		if (p->n[UA_EV_CONFIRMED] == 1) {
			p->t_2xx = tmr_now(p->tmr);
			p->interval = ua_sess_interval(p->s, &p->refresher);
		}
		if (is(p, "uas-bye"))
			tmr_start(&p->t_act, p->tmr, HANGUP_MS, on_hangup, p);
		if (is(p, "uas-glare") && p->n[UA_EV_CONFIRMED] == 1)
			tmr_start(&p->t_act, p->tmr, 100, on_reinvite_now, p);
		break;
	case UA_EV_REINVITE:
		ua_req_reply(ev->req, 200, NULL, NULL, "application/sdp", sdp_a,
			     strlen(sdp_a));
		break;
	case UA_EV_REQUEST:
		on_request(p, ev);
		break;
	case UA_EV_RESPONSE:
		if (is(p, "uac-reinvite") || is(p, "uac-glare"))
			tmr_start(&p->t_act, p->tmr, 100, on_hangup, p);
		if (ev->cookie == &upd_early && ev->status == 200 &&
		    ua_sess_state(p->s) == UA_S_EARLY)
			p->early_updates++;
		if (ev->cookie == &upd_conf && ev->status == 200 &&
		    ua_sess_state(p->s) == UA_S_CONFIRMED) {
			p->conf_updates++;
			tmr_start(&p->t_act, p->tmr, 100, on_hangup, p);
		}
		break;
	case UA_EV_ENDED:
	case UA_EV_FAILED:
	case UA_EV_CANCELLED:
		judge(p, ev);
		break;
	default:
		break;
	}
}

/* uas-digest*: the app challenges every INVITE (RFC 3261 §22.4, 401 with
   an auth_server nonce) and takes it only with valid credentials; wrong
   ones get 403 (no new challenge: the caller must not loop). Returns
   true when s may go on. */
static void on_verdict_wrong(void *arg);

static bool
auth_ok(struct peer *p, struct ua_sess *s, const struct sip_msg *inv)
{
	const struct sip_hdr *h = sip_msg_hdr(inv, SIP_HDR_AUTHORIZATION);
	struct auth_req rq = {inv->method, inv->ruri_raw, inv->body};
	enum auth_verdict v = AUTH_V_FAIL;
	struct sip_auth cr;
	char val[400], hdr[460];
	const char *why;
	size_t idx = 0;

	if (h && sip_auth_decode(&cr, &h->val, &why) == 0 &&
	    auth_server_pick(p->auth, &cr, 1, &idx) == 0) {
		if (auth_server_verify(p->auth, &cr, &rq, NULL, &v))
			v = AUTH_V_FAIL;
		if (v == AUTH_V_OK)
			return true;
		p->rejected_auth++;
		ua_sess_answer(s, v == AUTH_V_MALFORMED ? 400 : 403, NULL, NULL,
			       NULL, NULL, 0);
		if (is(p, "uas-digest-wrong"))
			tmr_start(&p->t_act, p->tmr, 1000, on_verdict_wrong, p);
		return false;
	}
	p->rejected_auth++;
	if (auth_server_challenge(p->auth, AUTH_ALG_MD5, false, NULL, val,
				  sizeof(val))) {
		finish(p, 1, "challenge");
		return false;
	}
	snprintf(hdr, sizeof(hdr), "WWW-Authenticate: %s\r\n", val);
	ua_sess_answer(s, 401, NULL, hdr, NULL, NULL, 0);
	return false;
}

/* uas-digest-wrong: a second after our 403, nothing else came and no
   session is left. */
static void
on_verdict_wrong(void *arg)
{
	struct peer *p = arg;
	const struct auth_server_stats *as = auth_server_stats(p->auth);
	struct ua_stats st;
	bool ok;

	ua_stats(p->ua, &st);
	report(p);
	ok = as->challenges == 1 && as->fail == 1 && as->ok == 0 &&
	     p->rejected_auth == 2 && st.sess_active == 0 &&
	     st.reqs_live == 0 && !p->s;
	finish(p, ok ? 0 : 1,
	       "wrong password refused, sessions active %" PRIu64,
	       st.sess_active);
}

static int
lookup(const struct pl *user, const struct pl *realm, enum auth_alg alg,
       struct auth_secret *sec, void *arg)
{
	(void)realm;
	(void)alg;
	(void)arg;
	if (!pl_eq_str(user, "sipp"))
		return ENOENT;
	sec->is_ha1 = false;
	sec->len = strlen("sippsecret");
	memcpy(sec->buf, "sippsecret", sec->len);
	return 0;
}

static void
on_invite(struct ua *ua, struct ua_sess *s, const struct sip_msg *inv,
	  void *arg)
{
	struct peer *p = arg;

	(void)ua;
	if (p->auth && !auth_ok(p, s, inv))
		return;
	p->s = mem_ref(s);
	ua_sess_set_handler(s, on_ev, p);
	if (is(p, "uas-prack")) {
		/* The 200 waits for the PRACK of the reliable 180. */
		if (ua_sess_answer_rel(s, 180, NULL, NULL, NULL, NULL, 0))
			finish(p, 1, "reliable 180 not sent");
	}
	if (is(p, "uas-basic") || is(p, "uas-cancel") || is(p, "uas-update"))
		ua_sess_answer(s, 180, NULL, NULL, NULL, NULL, 0);
	if (!is(p, "uas-cancel") && !is(p, "uas-update"))
		ua_sess_answer(s, 200, NULL, NULL, "application/sdp", sdp_a,
			       strlen(sdp_a));
}

static void
start_call(void *arg)
{
	struct peer *p = arg;
	char ruri[64];
	struct ua_conn c;
	int err;

	snprintf(ruri, sizeof(ruri), "sip:sipp@%s:%u", IP, p->sipp_port);
	memset(&c, 0, sizeof(c));
	c.ruri = ruri;
	c.to_uri = ruri;
	c.from_uri = "sip:tandem@127.0.0.1";
	c.from_name = "Tandem Test";
	c.ctype = "application/sdp";
	c.body = sdp_a;
	c.body_len = strlen(sdp_a);
	tp_addr_set(&c.dest.addr, &c.dest.len, IP, p->sipp_port);
	c.dest.proto = TP_UDP;
	if (strstr(p->mode, "-digest")) {
		c.auth_user = "alice";
		c.auth_pass = is(p, "uac-digest-wrong") ? "wrong" : "secret";
	}
	err = ua_sess_connect(&p->s, p->ua, &c, on_ev, p);
	if (err)
		finish(p, 1, "connect: %s", strerror(err));
}

static void
on_deadline(void *arg)
{
	struct peer *p = arg;

	report(p);
	finish(p, 1, "deadline");
}

static int
free_port(void)
{
	struct event_base *b = event_base_new();
	struct tp_ctx *tp = NULL;
	int port = -1;

	if (b && tp_ctx_alloc(&tp, b, NULL, on_recv, NULL, NULL) == 0 &&
	    tp_listen_str(tp, TP_UDP, IP, 0) == 0)
		port = tp_local_port(tp, TP_UDP, AF_INET);
	mem_deref(tp);
	if (b)
		event_base_free(b);
	if (port < 0)
		return 1;
	printf("%d\n", port);
	return 0;
}

int
main(int argc, char **argv)
{
	struct peer p;
	struct ua_conf uc;
	struct txn_cfg tc;
	int err;

	if (argc == 2 && strcmp(argv[1], "port") == 0)
		return free_port();
	if (argc != 4) {
		fprintf(stderr, "usage: %s MODE PORT SIPP_PORT | port\n",
			argv[0]);
		return 2;
	}
	signal(SIGALRM, on_alarm);
	alarm(HARD_LIMIT_S);
	log_setup(getenv("UA_DEBUG") ? LOG_L_DEBUG : LOG_L_WARN, LOG_T_STDERR,
		  "ua_peer");
	memset(&p, 0, sizeof(p));
	p.mode = argv[1];
	p.port = (uint16_t)atoi(argv[2]);
	p.sipp_port = (uint16_t)atoi(argv[3]);
	p.speed = strstr(p.mode, "-expiry") ? 20 : 1;
	p.mono0 = tmr_clock_mono(NULL);
	p.base = event_base_new();
	p.tmr_ev = evtimer_new(p.base, on_tmr_ev, &p);
	txn_cfg_default(&tc);
	ua_conf_default(&uc);
	uc.host = IP;
	uc.port = p.port;
	if (strstr(p.mode, "-prack"))
		uc.supported = "100rel";
	if (strstr(p.mode, "-timer")) {
		uc.session_expires = strncmp(p.mode, "uac", 3) == 0 ? 90 : 1800;
		uc.answer_refreshes = true;
	}
	err = tmr_ctx_alloc(&p.tmr, peer_clock, &p);
	if (!err && strstr(p.mode, "uas-digest")) {
		struct auth_server_conf ac;

		memset(&ac, 0, sizeof(ac));
		ac.realm = "tandem.test";
		ac.algs = AUTH_ALG_BIT(AUTH_ALG_MD5);
		ac.lookup_h = lookup;
		err = auth_server_alloc(&p.auth, &ac);
	}
	if (!err)
		err = tp_ctx_alloc(&p.tp, p.base, NULL, on_recv, NULL, &p);
	if (!err)
		err = tp_listen_str(p.tp, TP_UDP, IP, p.port);
	if (!err)
		err = txn_ctx_alloc(&p.txn, &tc, on_send, &p, p.tmr);
	if (!err)
		err = ua_alloc(&p.ua, &uc, p.txn, p.tmr, on_send, &p, on_invite,
			       &p);
	if (err) {
		printf("FAIL: set-up: %s\n", strerror(err));
		return 1;
	}
	tmr_start(&p.t_deadline, p.tmr, DEADLINE_MS * p.speed, on_deadline, &p);
	if (strncmp(p.mode, "uac-", 4) == 0)
		tmr_start(&p.t_act, p.tmr, 200, start_call, &p);
	sync_tmr(&p);
	event_base_dispatch(p.base);
	/* Let the last transactions (BYE 200, ACK) leave. */
	tp_flush(p.tp);
	tmr_cancel(&p.t_act);
	tmr_cancel(&p.t_deadline);
	p.s = mem_deref(p.s);
	{
		/* No state left: every session out of the table, every
		   request the app got answered or dropped. */
		struct ua_stats st;

		ua_stats(p.ua, &st);
		printf("RESULT sess_active=%" PRIu64 " reqs_live=%" PRIu64 "\n",
		       st.sess_active, st.reqs_live);
		if (st.sess_active || st.reqs_live) {
			printf("FAIL: %s: state left behind\n", p.mode);
			p.rc = 1;
		}
	}
	mem_deref(p.auth);
	mem_deref(p.ua);
	mem_deref(p.txn);
	mem_deref(p.tp);
	mem_deref(p.tmr);
	event_free(p.tmr_ev);
	event_base_free(p.base);
	return p.rc;
}
