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
 *   uac-prack     SIPp answers a reliable 183 with SDP; we PRACK it,
 *                 SIPp answers 200; we BYE
 *   uac-timer     RFC 4028: SIPp answers 422 (Min-SE 120) to our
 *                 Session-Expires 90; we retry with 120, SIPp takes the
 *                 refreshes (refresher=uas) and sends an UPDATE, answered
 *                 by the UA; we BYE

 *                 491 and retry after the §14.1 delay; SIPp's re-INVITE
 *                 gets our 491
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
	struct ua_sess *s; /* ref */
	struct tmr t_act;  /* the app's next step */
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
	tmr_start(&p->t_deadline, p->tmr, 300, on_linger, p);
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

static void
sync_tmr(struct peer *p)
{
	int64_t ms = tmr_poll(p->tmr);
	struct timeval tv;

	if (ms < 0) {
		evtimer_del(p->tmr_ev);
		return;
	}
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

static int
on_send(const struct txn_dest *dst, const char *buf, size_t len, void *arg)
{
	struct peer *p = arg;

	return tp_send(p->tp, (enum tp_proto)dst->proto,
		       (const struct sockaddr *)&dst->addr, dst->len, dst->conn,
		       buf, len);
}

static void
on_recv(const struct sip_msg *msg, const struct tp_recv *rx, void *arg)
{
	struct peer *p = arg;
	struct txn_dest src;

	if (sipw_txn_dest(rx, &src) == 0)
		ua_recv(p->ua, msg, &src);
	sync_tmr(p);
}

/* ---- the app -------------------------------------------------------- */

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
on_reinvite_now(void *arg)
{
	struct peer *p = arg;
	int err = ua_sess_request(p->s, "INVITE", NULL, "application/sdp",
				  sdp_hold, strlen(sdp_hold), p);

	p->reinvites_sent++;
	if (err)
		finish(p, 1, "re-INVITE: %s", strerror(err));
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
	if (is(p, "uac-timer"))
		return ev->ev == UA_EV_ENDED && !ev->by_remote &&
		       ev->status == 200 && p->n[UA_EV_REFRESHED] == 1 &&
		       st.st_422 == 1 && p->interval == 120 && !p->refresher;
	return true;
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
		 is(p, "uac-prack") || is(p, "uac-timer"))
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
	if (ok && is(p, "uas-reinvite"))
		ok = p->n[UA_EV_REINVITE] == 1 && p->n[UA_EV_CONFIRMED] == 2;
	if (ok && is(p, "uas-info"))
		ok = p->n[UA_EV_REQUEST] == 1;
	if (ok && is(p, "uac-fork"))
		ok = p->n[UA_EV_PROGRESS] == 2 &&
		     strcmp(ua_sess_dlg(p->s)->rtag.p, "fork2") == 0;
	ok = ok && judge_ext(p, ev);
	finish(p, ok ? 0 : 1, "final event %u status %u", ev->ev, ev->status);
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
		break;
	case UA_EV_ANSWERED:
		p->interval = ua_sess_interval(p->s, &p->refresher);
		if (is(p, "uac-basic") || is(p, "uac-fork") ||
		    is(p, "uac-prack"))
			tmr_start(&p->t_act, p->tmr, HANGUP_MS, on_hangup, p);
		else if (is(p, "uac-reinvite"))
			tmr_start(&p->t_act, p->tmr, 100, on_reinvite_now, p);
		break;
	case UA_EV_REFRESHED:
		if (is(p, "uac-timer"))
			tmr_start(&p->t_act, p->tmr, HANGUP_MS, on_hangup, p);
		break;
	case UA_EV_CONFIRMED:
		if (is(p, "uas-bye"))
			tmr_start(&p->t_act, p->tmr, HANGUP_MS, on_hangup, p);
		break;
	case UA_EV_REINVITE:
		ua_req_reply(ev->req, 200, NULL, NULL, "application/sdp", sdp_a,
			     strlen(sdp_a));
		break;
	case UA_EV_REQUEST:
		ua_req_reply(ev->req, 200, NULL, NULL, NULL, NULL, 0);
		break;
	case UA_EV_RESPONSE:
		if (is(p, "uac-reinvite"))
			tmr_start(&p->t_act, p->tmr, 100, on_hangup, p);
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

static void
on_invite(struct ua *ua, struct ua_sess *s, const struct sip_msg *inv,
	  void *arg)
{
	struct peer *p = arg;

	(void)ua;
	(void)inv;
	p->s = mem_ref(s);
	ua_sess_set_handler(s, on_ev, p);
	if (is(p, "uas-prack")) {
		/* The 200 waits for the PRACK of the reliable 180. */
		if (ua_sess_answer_rel(s, 180, NULL, NULL, NULL, NULL, 0))
			finish(p, 1, "reliable 180 not sent");
	}
	if (is(p, "uas-basic") || is(p, "uas-cancel"))
		ua_sess_answer(s, 180, NULL, NULL, NULL, NULL, 0);
	if (!is(p, "uas-cancel"))
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
	err = tmr_ctx_alloc(&p.tmr, NULL, NULL);
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
	tmr_start(&p.t_deadline, p.tmr, DEADLINE_MS, on_deadline, &p);
	if (strncmp(p.mode, "uac-", 4) == 0)
		tmr_start(&p.t_act, p.tmr, 200, start_call, &p);
	sync_tmr(&p);
	event_base_dispatch(p.base);
	/* Let the last transactions (BYE 200, ACK) leave. */
	tp_flush(p.tp);
	tmr_cancel(&p.t_act);
	tmr_cancel(&p.t_deadline);
	mem_deref(p.s);
	mem_deref(p.ua);
	mem_deref(p.txn);
	mem_deref(p.tp);
	mem_deref(p.tmr);
	event_free(p.tmr_ev);
	event_base_free(p.base);
	return p.rc;
}
