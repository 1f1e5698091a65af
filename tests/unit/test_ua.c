/* Unit tests: the UA core (stack/ua*.c): INVITE sessions between two UAs
   over an in-memory network with a fake clock (RFC 3261 §13-§15, §9,
   §14.1 glare), the §8.2 checks, and forked 2xx (§13.2.2.4). */
#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include "stack/mem.h"
#include "stack/sip_msg.h"
#include "stack/tmr.h"
#include "stack/tp.h"
#include "stack/txn.h"
#include "stack/ua.h"
#include "testutil.h"

#define NQ 256
#define NEV 64
#define RAW_PORT 5099 /* a hand-driven peer: messages to it are kept */

struct ep { /* one UA on the fake network */
	uint16_t port;
	struct txn_ctx *txn;
	struct ua *ua;
	struct ua_sess *s; /* ref: the session under test */
	unsigned nev;
	struct ua_event ev[NEV]; /* msg, req pointers not kept */
	uint16_t ev_status[NEV];
	struct ua_req *req;	  /* ref: the last REINVITE / REQUEST */
	uint16_t auto_answer[4];  /* UAS: statuses to answer INVITEs with */
	unsigned reinvite_answer; /* status for re-INVITEs (0: hold) */
};

struct pkt {
	uint16_t from, to;
	size_t len;
	char buf[8192];
};

static struct {
	uint64_t now;
	struct tmr_ctx *tmr;
	struct ep a, b;
	struct pkt q[NQ];
	unsigned qh, qt;
	unsigned drop_acks; /* drop this many ACKs */
	bool drop_all_acks;
	/* messages that reached RAW_PORT, parsed on demand */
	unsigned nraw;
	struct pkt raw[32];
} fx;

static const char sdp[] = "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\n"
			  "c=IN IP4 127.0.0.1\r\nt=0 0\r\n"
			  "m=audio 4000 RTP/AVP 0\r\n";

static uint64_t
fx_clock(void *arg)
{
	(void)arg;
	return fx.now;
}

static uint16_t
port_of(const struct txn_dest *d)
{
	return ntohs(((const struct sockaddr_in *)&d->addr)->sin_port);
}

static bool
is_ack(const char *buf, size_t len)
{
	return len > 4 && memcmp(buf, "ACK ", 4) == 0;
}

static int
net_send(const struct txn_dest *dst, const char *buf, size_t len, void *arg)
{
	struct ep *from = arg;
	struct pkt *p;

	if (is_ack(buf, len) && (fx.drop_all_acks || fx.drop_acks)) {
		if (fx.drop_acks)
			fx.drop_acks--;
		return 0;
	}
	CU_ASSERT_FATAL(fx.qt - fx.qh < NQ && len < sizeof(p->buf));
	p = &fx.q[fx.qt++ % NQ];
	p->from = from->port;
	p->to = port_of(dst);
	p->len = len;
	memcpy(p->buf, buf, len);
	p->buf[len] = '\0';
	return 0;
}

static struct ep *
ep_of(uint16_t port)
{
	return port == fx.a.port ? &fx.a : port == fx.b.port ? &fx.b : NULL;
}

static void
dest_set(struct txn_dest *d, uint16_t port)
{
	memset(d, 0, sizeof(*d));
	tp_addr_set(&d->addr, &d->len, "127.0.0.1", port);
	d->proto = TP_UDP;
}

/* Deliver p to its UA, or keep it if it goes to the raw peer. */
static void
deliver(const struct pkt *p)
{
	static struct sip_msg m;
	struct sip_limits lim;
	struct sip_perr perr;
	struct txn_dest src;
	struct ep *e = ep_of(p->to);

	if (p->to == RAW_PORT) {
		if (fx.nraw < 32)
			fx.raw[fx.nraw++] = *p;
		return;
	}
	CU_ASSERT_PTR_NOT_NULL_FATAL(e);
	sip_limits_default(&lim);
	CU_ASSERT_EQUAL_FATAL(sip_msg_parse(&m, p->buf, p->len,
					    SIP_FRAMING_DGRAM, &lim, &perr),
			      0);
	dest_set(&src, p->from);
	CU_ASSERT_EQUAL(ua_recv(e->ua, &m, &src), 0);
}

/* Deliver everything queued (and what that makes), firing due timers. */
static void
pump(void)
{
	for (int guard = 0; guard < 1000; guard++) {
		tmr_poll(fx.tmr);
		if (fx.qh == fx.qt)
			return;
		struct pkt p = fx.q[fx.qh++ % NQ];

		deliver(&p);
	}
	CU_FAIL("pump did not settle");
}

/* Advance the clock by ms in timer steps, pumping at each. */
static void
advance(uint64_t ms)
{
	uint64_t end = fx.now + ms;

	pump();
	while (fx.now < end) {
		int64_t r = tmr_poll(fx.tmr);

		if (r < 0 || fx.now + (uint64_t)r > end)
			break;
		fx.now += r ? (uint64_t)r : 1;
		pump();
	}
	fx.now = end;
	pump();
}

static void
on_ev(struct ua_sess *s, const struct ua_event *ev, void *arg)
{
	struct ep *e = arg;

	(void)s;
	if (e->nev < NEV) {
		e->ev[e->nev] = *ev;
		e->ev[e->nev].msg = NULL;
		e->ev_status[e->nev] = ev->status;
	}
	e->nev++;
	if (ev->ev == UA_EV_REINVITE || ev->ev == UA_EV_REQUEST) {
		if (ev->ev == UA_EV_REINVITE && e->reinvite_answer) {
			ua_req_reply(ev->req, (uint16_t)e->reinvite_answer,
				     NULL, NULL, "application/sdp", sdp,
				     strlen(sdp));
			return;
		}
		mem_deref(e->req);
		e->req = mem_ref(ev->req);
	}
}

static void
on_invite(struct ua *ua, struct ua_sess *s, const struct sip_msg *inv,
	  void *arg)
{
	struct ep *e = arg;
	unsigned i;

	(void)ua;
	(void)inv;
	mem_deref(e->s);
	e->s = mem_ref(s);
	ua_sess_set_handler(s, on_ev, e);
	for (i = 0; i < 4 && e->auto_answer[i]; i++)
		ua_sess_answer(s, e->auto_answer[i], NULL, NULL,
			       e->auto_answer[i] < 300 ? "application/sdp"
						       : NULL,
			       e->auto_answer[i] < 300 ? sdp : NULL,
			       e->auto_answer[i] < 300 ? strlen(sdp) : 0);
}

/* Every endpoint's ua_conf.unavailable (false unless a test sets it). */
static atomic_bool ua_unavail;

static void
ep_init(struct ep *e, uint16_t port)
{
	struct ua_conf uc;
	struct txn_cfg tc;

	memset(e, 0, sizeof(*e));
	e->port = port;
	txn_cfg_default(&tc);
	tc.t1 = 100;
	tc.t2 = 400;
	tc.t4 = 500;
	CU_ASSERT_EQUAL_FATAL(txn_ctx_alloc(&e->txn, &tc, net_send, e, fx.tmr),
			      0);
	ua_conf_default(&uc);
	uc.port = port;
	uc.t1 = 100;
	uc.t2 = 400;
	uc.shard = port == 5061 ? 1 : 2;
	uc.unavailable = &ua_unavail;
	CU_ASSERT_EQUAL_FATAL(ua_alloc(&e->ua, &uc, e->txn, fx.tmr, net_send, e,
				       on_invite, e),
			      0);
}

static void
fx_init(void)
{
	memset(&fx, 0, sizeof(fx));
	fx.now = 1000000;
	CU_ASSERT_EQUAL_FATAL(tmr_ctx_alloc(&fx.tmr, fx_clock, NULL), 0);
	ep_init(&fx.a, 5061);
	ep_init(&fx.b, 5062);
}

static void
ep_done(struct ep *e)
{
	struct ua_stats st;

	e->req = mem_deref(e->req);
	e->s = mem_deref(e->s);
	ua_stats(e->ua, &st);
	CU_ASSERT_EQUAL(st.sess_live, 0);
	CU_ASSERT_EQUAL(st.sess_active, 0);
	CU_ASSERT_EQUAL(st.reqs_live, 0);
	e->ua = mem_deref(e->ua);
	e->txn = mem_deref(e->txn);
}

/* Let every transaction run out, then check nothing is left. */
static void
fx_done(void)
{
	advance(10000);
	ep_done(&fx.a);
	ep_done(&fx.b);
	CU_ASSERT_EQUAL(tmr_count(fx.tmr), 0);
	fx.tmr = mem_deref(fx.tmr);
}

static unsigned
count_ev(const struct ep *e, enum ua_ev ev)
{
	unsigned i, n = 0;

	for (i = 0; i < e->nev && i < NEV; i++)
		n += e->ev[i].ev == ev;
	return n;
}

/* The status of the last event ev of e, or 0. */
static uint16_t
last_status(const struct ep *e, enum ua_ev ev)
{
	unsigned i;
	uint16_t st = 0;

	for (i = 0; i < e->nev && i < NEV; i++)
		if (e->ev[i].ev == ev)
			st = e->ev_status[i];
	return st;
}

static int
call(struct ep *from, struct ep *to, bool offer)
{
	struct ua_conn c;

	memset(&c, 0, sizeof(c));
	c.ruri = to == &fx.b ? "sip:bob@127.0.0.1:5062"
			     : "sip:raw@127.0.0.1:5099";
	c.from_uri = "sip:alice@127.0.0.1:5061";
	c.from_name = "Alice";
	c.to_uri = c.ruri;
	if (offer) {
		c.ctype = "application/sdp";
		c.body = sdp;
		c.body_len = strlen(sdp);
	}
	dest_set(&c.dest, to ? to->port : RAW_PORT);
	return ua_sess_connect(&from->s, from->ua, &c, on_ev, from);
}

/* ---- flows ---------------------------------------------------------- */

static void
test_basic_call_caller_hangs_up(void)
{
	struct ua_stats st;

	fx_init();
	fx.b.auto_answer[0] = 180;
	fx.b.auto_answer[1] = 200;
	CU_ASSERT_EQUAL_FATAL(call(&fx.a, &fx.b, true), 0);
	pump();
	CU_ASSERT_EQUAL(count_ev(&fx.a, UA_EV_PROGRESS), 1);
	CU_ASSERT_EQUAL(last_status(&fx.a, UA_EV_ANSWERED), 200);
	CU_ASSERT_EQUAL(ua_sess_state(fx.a.s), UA_S_CONFIRMED);
	CU_ASSERT_EQUAL(count_ev(&fx.b, UA_EV_CONFIRMED), 1);
	CU_ASSERT_EQUAL(ua_sess_state(fx.b.s), UA_S_CONFIRMED);
	/* Both sides agree on the dialog ID, mirrored. */
	CU_ASSERT_STRING_EQUAL(ua_sess_dlg(fx.a.s)->ltag.p,
			       ua_sess_dlg(fx.b.s)->rtag.p);
	CU_ASSERT_STRING_EQUAL(ua_sess_dlg(fx.a.s)->rtag.p,
			       ua_sess_dlg(fx.b.s)->ltag.p);
	CU_ASSERT_EQUAL(strlen(ua_sess_dlg(fx.a.s)->ltag.p), 16);
	CU_ASSERT_EQUAL(strncmp(ua_sess_callid(fx.a.s), "tdm-0001-", 9), 0);

	CU_ASSERT_EQUAL(ua_sess_end(fx.a.s, 0, "Reason: Q.850;cause=16\r\n"),
			0);
	CU_ASSERT_EQUAL(ua_sess_end(fx.a.s, 0, NULL), EALREADY);
	pump();
	CU_ASSERT_EQUAL(count_ev(&fx.b, UA_EV_ENDED), 1);
	CU_ASSERT_TRUE(fx.b.ev[fx.b.nev - 1].by_remote);
	CU_ASSERT_EQUAL(last_status(&fx.a, UA_EV_ENDED), 200);
	CU_ASSERT_FALSE(fx.a.ev[fx.a.nev - 1].by_remote);
	CU_ASSERT_EQUAL(ua_sess_state(fx.a.s), UA_S_ENDED);
	ua_stats(fx.b.ua, &st);
	CU_ASSERT_EQUAL(st.retrans_2xx, 0);
	ua_stats(fx.a.ua, &st);
	CU_ASSERT_EQUAL(st.acks_2xx, 1);
	fx_done();
}

static void
test_callee_hangs_up(void)
{
	fx_init();
	fx.b.auto_answer[0] = 200;
	CU_ASSERT_EQUAL_FATAL(call(&fx.a, &fx.b, true), 0);
	pump();
	CU_ASSERT_EQUAL(ua_sess_end(fx.b.s, 0, NULL), 0);
	pump();
	CU_ASSERT_EQUAL(count_ev(&fx.a, UA_EV_ENDED), 1);
	CU_ASSERT_TRUE(fx.a.ev[fx.a.nev - 1].by_remote);
	CU_ASSERT_EQUAL(last_status(&fx.b, UA_EV_ENDED), 200);
	fx_done();
}

static void
test_cancel_while_ringing(void)
{
	fx_init();
	fx.b.auto_answer[0] = 180;
	CU_ASSERT_EQUAL_FATAL(call(&fx.a, &fx.b, true), 0);
	pump();
	CU_ASSERT_EQUAL(ua_sess_state(fx.a.s), UA_S_EARLY);
	CU_ASSERT_EQUAL(ua_sess_state(fx.b.s), UA_S_EARLY);
	CU_ASSERT_EQUAL(ua_sess_end(fx.a.s, 0, NULL), 0);
	pump();
	CU_ASSERT_EQUAL(count_ev(&fx.b, UA_EV_CANCELLED), 1);
	CU_ASSERT_EQUAL(last_status(&fx.a, UA_EV_FAILED), 487);
	CU_ASSERT_EQUAL(ua_sess_state(fx.b.s), UA_S_ENDED);
	/* The callee cannot answer any more. */
	CU_ASSERT_EQUAL(ua_sess_answer(fx.b.s, 200, NULL, NULL, NULL, NULL, 0),
			EPROTO);
	fx_done();
}

/* §9.1: no CANCEL before a provisional; the 100 from the transaction
   layer lets it go. */
static void
test_cancel_waits_for_provisional(void)
{
	fx_init();
	CU_ASSERT_EQUAL_FATAL(call(&fx.a, &fx.b, true), 0);
	/* The INVITE is queued, not delivered: nothing came back. */
	CU_ASSERT_EQUAL(ua_sess_end(fx.a.s, 0, NULL), 0);
	CU_ASSERT_EQUAL(fx.qt - fx.qh, 1); /* only the INVITE */
	advance(50);			   /* B's 100 Trying, then A's CANCEL */
	CU_ASSERT_EQUAL(count_ev(&fx.b, UA_EV_CANCELLED), 1);
	CU_ASSERT_EQUAL(last_status(&fx.a, UA_EV_FAILED), 487);
	fx_done();
}

/* §13.3.1.4: the 2xx is retransmitted until the ACK. */
static void
test_2xx_retransmitted_until_ack(void)
{
	struct ua_stats st;

	fx_init();
	fx.b.auto_answer[0] = 200;
	fx.drop_acks = 2;
	CU_ASSERT_EQUAL_FATAL(call(&fx.a, &fx.b, true), 0);
	pump();
	CU_ASSERT_EQUAL(ua_sess_state(fx.b.s), UA_S_ANSWERED);
	advance(100); /* T1: first retransmission, ACK dropped again */
	CU_ASSERT_EQUAL(ua_sess_state(fx.b.s), UA_S_ANSWERED);
	advance(200); /* 2*T1: second one, ACK gets through */
	CU_ASSERT_EQUAL(ua_sess_state(fx.b.s), UA_S_CONFIRMED);
	CU_ASSERT_EQUAL(count_ev(&fx.b, UA_EV_CONFIRMED), 1);
	ua_stats(fx.b.ua, &st);
	CU_ASSERT_EQUAL(st.retrans_2xx, 2);
	ua_stats(fx.a.ua, &st);
	CU_ASSERT_EQUAL(st.acks_2xx, 1); /* built once, resent as is */
	CU_ASSERT_EQUAL(count_ev(&fx.a, UA_EV_ANSWERED), 1);
	ua_sess_end(fx.a.s, 0, NULL);
	fx_done();
}

/* §13.3.1.4: no ACK within 64*T1: the callee ends the call with BYE. */
static void
test_no_ack_ends_with_bye(void)
{
	fx_init();
	fx.b.auto_answer[0] = 200;
	fx.drop_all_acks = true;
	CU_ASSERT_EQUAL_FATAL(call(&fx.a, &fx.b, true), 0);
	advance(64 * 100 + 500);
	CU_ASSERT_EQUAL(last_status(&fx.b, UA_EV_ENDED), 200);
	CU_ASSERT_EQUAL(count_ev(&fx.a, UA_EV_ENDED), 1);
	CU_ASSERT_EQUAL(ua_sess_state(fx.b.s), UA_S_ENDED);
	fx_done();
}

/* §15: the callee's BYE before the ACK waits for the ACK. */
static void
test_callee_bye_waits_for_ack(void)
{
	fx_init();
	fx.b.auto_answer[0] = 200;
	fx.drop_acks = 1;
	CU_ASSERT_EQUAL_FATAL(call(&fx.a, &fx.b, true), 0);
	pump();
	CU_ASSERT_EQUAL(ua_sess_end(fx.b.s, 0, NULL), 0);
	pump();
	CU_ASSERT_EQUAL(count_ev(&fx.a, UA_EV_ENDED), 0);
	advance(100); /* 2xx again, ACK again, then the BYE */
	CU_ASSERT_EQUAL(count_ev(&fx.a, UA_EV_ENDED), 1);
	CU_ASSERT_EQUAL(count_ev(&fx.b, UA_EV_ENDED), 1);
	fx_done();
}

static void
test_reinvite(void)
{
	int cookie = 7;

	fx_init();
	fx.b.auto_answer[0] = 200;
	fx.b.reinvite_answer = 200;
	CU_ASSERT_EQUAL_FATAL(call(&fx.a, &fx.b, true), 0);
	pump();
	CU_ASSERT_EQUAL(ua_sess_request(fx.a.s, "INVITE", NULL,
					"application/sdp", sdp, strlen(sdp),
					&cookie),
			0);
	/* One INVITE at a time (§14.1). */
	CU_ASSERT_EQUAL(
		ua_sess_request(fx.a.s, "INVITE", NULL, NULL, NULL, 0, NULL),
		EBUSY);
	pump();
	CU_ASSERT_EQUAL(count_ev(&fx.b, UA_EV_REINVITE), 1);
	CU_ASSERT_EQUAL(last_status(&fx.a, UA_EV_RESPONSE), 200);
	CU_ASSERT_PTR_EQUAL(fx.a.ev[fx.a.nev - 1].cookie, &cookie);
	CU_ASSERT_EQUAL(count_ev(&fx.b, UA_EV_CONFIRMED), 2);
	CU_ASSERT_EQUAL(ua_sess_dlg(fx.a.s)->lseq, 2);
	/* INFO in the dialog, answered by the app later. */
	CU_ASSERT_EQUAL(ua_sess_request(fx.b.s, "INFO", NULL,
					"application/dtmf-relay",
					"Signal=5\r\n", 10, NULL),
			0);
	pump();
	CU_ASSERT_EQUAL(count_ev(&fx.a, UA_EV_REQUEST), 1);
	CU_ASSERT_PTR_NOT_NULL_FATAL(fx.a.req);
	CU_ASSERT_EQUAL(ua_req_method(fx.a.req), SIP_M_INFO);
	CU_ASSERT_EQUAL(ua_req_reply(fx.a.req, 200, NULL, NULL, NULL, NULL, 0),
			0);
	CU_ASSERT_EQUAL(ua_req_reply(fx.a.req, 200, NULL, NULL, NULL, NULL, 0),
			EPROTO);
	pump();
	CU_ASSERT_EQUAL(last_status(&fx.b, UA_EV_RESPONSE), 200);
	ua_sess_end(fx.a.s, 0, NULL);
	fx_done();
}

/* §14.1 glare: both re-INVITE at once, both get 491; the one that does
   not own the Call-ID (B, 0-2 s) retries first and wins, then A. */
static void
test_glare(void)
{
	struct ua_stats sa, sb;

	fx_init();
	fx.b.auto_answer[0] = 200;
	CU_ASSERT_EQUAL_FATAL(call(&fx.a, &fx.b, true), 0);
	pump();
	fx.a.reinvite_answer = 200;
	fx.b.reinvite_answer = 200;
	CU_ASSERT_EQUAL(ua_sess_request(fx.a.s, "INVITE", NULL,
					"application/sdp", sdp, strlen(sdp),
					NULL),
			0);
	CU_ASSERT_EQUAL(ua_sess_request(fx.b.s, "INVITE", NULL,
					"application/sdp", sdp, strlen(sdp),
					NULL),
			0);
	pump();
	ua_stats(fx.a.ua, &sa);
	ua_stats(fx.b.ua, &sb);
	CU_ASSERT_EQUAL(sa.glare, 1);
	CU_ASSERT_EQUAL(sb.glare, 1);
	CU_ASSERT_EQUAL(count_ev(&fx.a, UA_EV_RESPONSE), 0);
	advance(2050); /* B's retry is due by 2 s, A's not before 2.1 s */
	CU_ASSERT_EQUAL(last_status(&fx.b, UA_EV_RESPONSE), 200);
	CU_ASSERT_EQUAL(count_ev(&fx.a, UA_EV_RESPONSE), 0);
	advance(2000);
	CU_ASSERT_EQUAL(last_status(&fx.a, UA_EV_RESPONSE), 200);
	CU_ASSERT_EQUAL(count_ev(&fx.a, UA_EV_REINVITE), 1);
	CU_ASSERT_EQUAL(count_ev(&fx.b, UA_EV_REINVITE), 1);
	ua_sess_end(fx.a.s, 0, NULL);
	fx_done();
}

/* An INVITE answered 486: FAILED, and nothing left. */
static void
test_busy(void)
{
	fx_init();
	fx.b.auto_answer[0] = 486;
	CU_ASSERT_EQUAL_FATAL(call(&fx.a, &fx.b, true), 0);
	pump();
	CU_ASSERT_EQUAL(last_status(&fx.a, UA_EV_FAILED), 486);
	CU_ASSERT_EQUAL(ua_sess_state(fx.b.s), UA_S_ENDED);
	fx_done();
}

/* ---- bad input: raw requests at B ---------------------------------- */

/* Send text to B as from the raw peer; returns the status of the last
   response that came back to the raw peer (0: none). */
static unsigned
raw_to_b(const char *text)
{
	struct pkt p;
	static struct sip_msg m;
	struct sip_limits lim;
	struct sip_perr perr;

	fx.nraw = 0;
	p.from = RAW_PORT;
	p.to = fx.b.port;
	p.len = strlen(text);
	memcpy(p.buf, text, p.len + 1);
	deliver(&p);
	pump();
	if (!fx.nraw)
		return 0;
	sip_limits_default(&lim);
	if (getenv("UA_TEST_TRACE"))
		fprintf(stderr, "<<< %s\n", fx.raw[fx.nraw - 1].buf);
	if (sip_msg_parse(&m, fx.raw[fx.nraw - 1].buf, fx.raw[fx.nraw - 1].len,
			  SIP_FRAMING_DGRAM, &lim, &perr))
		return 1;
	return m.req ? 2 : m.status;
}

static bool
raw_has(const char *needle)
{
	return fx.nraw && strstr(fx.raw[fx.nraw - 1].buf, needle);
}

/* A request from the raw peer; id makes branch and Call-ID unique. */
#define REQ(method, id, extra, body)                                           \
	method " sip:bob@127.0.0.1:5062 SIP/2.0\r\n"                           \
	       "Via: SIP/2.0/UDP 127.0.0.1:5099;branch=z9hG4bK-" id "\r\n"     \
	       "Max-Forwards: 70\r\n"                                          \
	       "From: <sip:raw@127.0.0.1:5099>;tag=raw1\r\n"                   \
	       "To: <sip:bob@127.0.0.1:5062>\r\n"                              \
	       "Call-ID: raw-call-" id "\r\n"                                  \
	       "CSeq: 1 " method "\r\n"                                        \
	       "Contact: <sip:raw@127.0.0.1:5099>\r\n" extra                   \
	       "Content-Length: " body "\r\n\r\n"

/* §12.1.1: the responses that establish the dialog (a 180 with our tag,
   the 2xx) carry the INVITE's Record-Route values in order, byte-exact. */
static void
test_uas_record_route(void)
{
	const char *rr = "Record-Route: <sip:p2.example.com;lr>\r\n"
			 "Record-Route: <sip:127.0.0.1:5070;lr=on;ftag=x1>\r\n";
	char inv[1024], tag[64] = "", req[1024];
	unsigned i, n180 = 0, n200 = 0;
	const char *t;

	fx_init();
	fx.b.auto_answer[0] = 180;
	fx.b.auto_answer[1] = 200;
	snprintf(inv, sizeof(inv), REQ("INVITE", "rr1", "%s", "0"), rr);
	CU_ASSERT_EQUAL(raw_to_b(inv), 200);
	for (i = 0; i < fx.nraw; i++) {
		const char *m = fx.raw[i].buf;

		if (!strncmp(m, "SIP/2.0 180 ", 12))
			n180 += strstr(m, rr) != NULL;
		if (!strncmp(m, "SIP/2.0 200 ", 12))
			n200 += strstr(m, rr) != NULL;
	}
	CU_ASSERT_EQUAL(n180, 1);
	CU_ASSERT_TRUE(n200 >= 1);
	/* ACK and BYE end the dialog */
	t = strstr(fx.raw[fx.nraw - 1].buf,
		   "To: <sip:bob@127.0.0.1:5062>;tag=");
	CU_ASSERT_PTR_NOT_NULL_FATAL(t);
	sscanf(t + 33, "%63[^\r;]", tag);
	for (i = 0; i < 2; i++) {
		snprintf(req, sizeof(req),
			 "%s sip:bob@127.0.0.1:5062 SIP/2.0\r\n"
			 "Via: SIP/2.0/UDP "
			 "127.0.0.1:5099;branch=z9hG4bK-rr1%u\r\n"
			 "Max-Forwards: 70\r\n"
			 "From: <sip:raw@127.0.0.1:5099>;tag=raw1\r\n"
			 "To: <sip:bob@127.0.0.1:5062>;tag=%s\r\n"
			 "Call-ID: raw-call-rr1\r\n"
			 "CSeq: %u %s\r\n"
			 "Content-Length: 0\r\n\r\n",
			 i ? "BYE" : "ACK", i, tag, i + 1, i ? "BYE" : "ACK");
		raw_to_b(req);
	}
	CU_ASSERT_TRUE(raw_has("SIP/2.0 200 OK"));
	/* not in responses that establish nothing */
	CU_ASSERT_EQUAL(raw_to_b(REQ("OPTIONS", "rr2",
				     "Record-Route: "
				     "<sip:p2.example.com;lr>\r\n",
				     "0")),
			200);
	CU_ASSERT_FALSE(raw_has("Record-Route"));
	fx_done();
}

/* §11.2: OPTIONS is answered as an INVITE would be: 503 with Retry-After
   while the app refuses calls (ua_conf.unavailable, a draining b2bua), 200
   again once it takes them; requests in a dialog are not affected. */
static void
test_options_unavailable(void)
{
	fx_init();
	CU_ASSERT_EQUAL(raw_to_b(REQ("OPTIONS", "u1", "", "0")), 200);
	atomic_store(&ua_unavail, true);
	CU_ASSERT_EQUAL(raw_to_b(REQ("OPTIONS", "u2", "", "0")), 503);
	CU_ASSERT_TRUE(raw_has("SIP/2.0 503 Draining\r\n"));
	CU_ASSERT_TRUE(raw_has("Retry-After: 30\r\n"));
	/* a BYE outside any dialog still gets its 481 */
	CU_ASSERT_EQUAL(raw_to_b(REQ("BYE", "u3", "", "0")), 481);
	atomic_store(&ua_unavail, false);
	CU_ASSERT_EQUAL(raw_to_b(REQ("OPTIONS", "u4", "", "0")), 200);
	CU_ASSERT_TRUE(raw_has("SIP/2.0 200 OK\r\n"));
	fx_done();
}

static void
test_uas_checks(void)
{
	fx_init();
	CU_ASSERT_EQUAL(
		raw_to_b(REQ("SUBSCRIBE", "r1", "Event: presence\r\n", "0")),
		405);
	CU_ASSERT_TRUE(raw_has("Allow: INVITE"));
	CU_ASSERT_EQUAL(raw_to_b(REQ("OPTIONS", "r2", "", "0")), 200);
	CU_ASSERT_TRUE(raw_has("Allow: "));
	CU_ASSERT_EQUAL(
		raw_to_b(REQ("INVITE", "r3", "Require: foo, bar\r\n", "0")),
		420);
	CU_ASSERT_TRUE(raw_has("Unsupported: foo, bar\r\n"));
	{
		/* A Require list longer than our Unsupported buffer still
		   gets its 420 (with the tags that fit). */
		static char big[4096];
		char tags[1200];
		size_t o = 0;
		int i;

		for (i = 0; i < 100; i++)
			o += (size_t)snprintf(tags + o, sizeof(tags) - o,
					      "%sext%03d", i ? ", " : "", i);
		snprintf(big, sizeof(big),
			 REQ("INVITE", "r3c", "Require: %s\r\n", "0"), tags);
		CU_ASSERT_EQUAL(raw_to_b(big), 420);
		CU_ASSERT_TRUE(raw_has("Unsupported: ext000, ext001"));
		CU_ASSERT_FALSE(raw_has("ext099"));
	}
	CU_ASSERT_EQUAL(raw_to_b(REQ("INVITE", "r3b",
				     "Content-Type: text/plain\r\n", "2") "hi"),
			415);
	CU_ASSERT_TRUE(raw_has("Accept: application/sdp"));
	CU_ASSERT_EQUAL(
		raw_to_b(
			"INVITE sip:bob@127.0.0.1:5062 SIP/2.0\r\n"
			"Via: SIP/2.0/UDP 127.0.0.1:5099;branch=z9hG4bK-mf0\r\n"
			"Max-Forwards: 0\r\n"
			"From: <sip:raw@127.0.0.1:5099>;tag=raw2\r\n"
			"To: <sip:bob@127.0.0.1:5062>\r\n"
			"Call-ID: raw-mf0\r\n"
			"CSeq: 1 INVITE\r\n"
			"Contact: <sip:raw@127.0.0.1:5099>\r\n"
			"Content-Length: 0\r\n\r\n"),
		483);
	CU_ASSERT_EQUAL(
		raw_to_b("INVITE sip:bob@127.0.0.1:5062 SIP/2.0\r\n"
			 "Via: SIP/2.0/UDP 127.0.0.1:5099;branch=z9hG4bK-nc\r\n"
			 "Max-Forwards: 70\r\n"
			 "From: <sip:raw@127.0.0.1:5099>;tag=raw3\r\n"
			 "To: <sip:bob@127.0.0.1:5062>\r\n"
			 "Call-ID: raw-nc\r\n"
			 "CSeq: 1 INVITE\r\n"
			 "Content-Length: 0\r\n\r\n"),
		400);
	CU_ASSERT_TRUE(raw_has("400 Missing Contact"));
	/* A header only sip_msg_check() decodes: its phrase names it. */
	CU_ASSERT_EQUAL(
		raw_to_b(REQ("OPTIONS", "r4", "Expires: soon\r\n", "0")), 400);
	CU_ASSERT_TRUE(raw_has("400 Bad Expires"));
	CU_ASSERT_EQUAL(
		raw_to_b(
			"OPTIONS mailto:bob@example.com SIP/2.0\r\n"
			"Via: SIP/2.0/UDP 127.0.0.1:5099;branch=z9hG4bK-sch\r\n"
			"Max-Forwards: 70\r\n"
			"From: <sip:raw@127.0.0.1:5099>;tag=raw4\r\n"
			"To: <sip:bob@127.0.0.1:5062>\r\n"
			"Call-ID: raw-sch\r\n"
			"CSeq: 1 OPTIONS\r\n"
			"Content-Length: 0\r\n\r\n"),
		416);
	/* Requests that need a dialog. */
	CU_ASSERT_EQUAL(raw_to_b(REQ("BYE", "r5", "", "0")), 481);
	CU_ASSERT_EQUAL(raw_to_b(REQ("CANCEL", "r6", "", "0")), 481);
	CU_ASSERT_EQUAL(
		raw_to_b("BYE sip:bob@127.0.0.1:5062 SIP/2.0\r\n"
			 "Via: SIP/2.0/UDP 127.0.0.1:5099;branch=z9hG4bK-tg\r\n"
			 "Max-Forwards: 70\r\n"
			 "From: <sip:raw@127.0.0.1:5099>;tag=raw5\r\n"
			 "To: <sip:bob@127.0.0.1:5062>;tag=nosuch\r\n"
			 "Call-ID: raw-tg\r\n"
			 "CSeq: 1 BYE\r\n"
			 "Content-Length: 0\r\n\r\n"),
		481);
	fx_done();
}

/* In-dialog bad input: stale CSeq (500), wrong tags (481), PRACK with no
   reliable provisional (481), a re-INVITE while another is being answered
   (500 with Retry-After, §14.2). Merged requests: test_merged_482. */
static void
test_in_dialog_checks(void)
{
	char buf[1024];
	const struct dlg *d;

	fx_init();
	fx.b.auto_answer[0] = 200;
	CU_ASSERT_EQUAL_FATAL(call(&fx.a, &fx.b, true), 0);
	pump();
	d = ua_sess_dlg(fx.b.s);
	CU_ASSERT_PTR_NOT_NULL_FATAL(d);
#define INDLG(method, cseq, ftag, branch)                                      \
	(snprintf(buf, sizeof(buf),                                            \
		  "%s sip:bob@127.0.0.1:5062 SIP/2.0\r\n"                      \
		  "Via: SIP/2.0/UDP 127.0.0.1:5099;branch=z9hG4bK-%s\r\n"      \
		  "Max-Forwards: 70\r\n"                                       \
		  "From: <sip:alice@127.0.0.1:5061>;tag=%s\r\n"                \
		  "To: <sip:bob@127.0.0.1:5062>;tag=%s\r\n"                    \
		  "Call-ID: %s\r\n"                                            \
		  "CSeq: %u %s\r\n"                                            \
		  "Contact: <sip:alice@127.0.0.1:5099>\r\n"                    \
		  "Content-Length: 0\r\n\r\n",                                 \
		  method, branch, ftag, d->ltag.p, d->callid.p, cseq, method), \
	 buf)
	CU_ASSERT_EQUAL(raw_to_b(INDLG("INFO", 0, d->rtag.p, "st")), 500);
	CU_ASSERT_TRUE(raw_has("Out of Order CSeq"));
	CU_ASSERT_EQUAL(raw_to_b(INDLG("INFO", 5, "wrong", "wt")), 481);
	CU_ASSERT_EQUAL(raw_to_b(INDLG("PRACK", 1, d->rtag.p, "pr")), 481);
	CU_ASSERT_EQUAL(ua_sess_state(fx.b.s), UA_S_CONFIRMED);
	{
		/* Nothing left by the rejections: B's one session, no
		   request for the app, and once the rejecting server
		   transactions ran out (64*T1 + T4) none in the tables and
		   only the INVITE's, which the session holds, alive. */
		struct ua_stats st;
		struct txn_stats ts;

		ua_stats(fx.b.ua, &st);
		CU_ASSERT_EQUAL(st.sess_live, 1);
		CU_ASSERT_EQUAL(st.sess_active, 1);
		CU_ASSERT_EQUAL(st.reqs_live, 0);
		CU_ASSERT_EQUAL(count_ev(&fx.b, UA_EV_REQUEST), 0);
		advance(64 * 100 + 600);
		txn_ctx_stats(fx.b.txn, &ts);
		CU_ASSERT_EQUAL(ts.active, 0);
		CU_ASSERT_EQUAL(ts.live, 1); /* the session's own INVITE's */
		ua_stats(fx.b.ua, &st);
		CU_ASSERT_EQUAL(st.sess_live, 1);
		CU_ASSERT_EQUAL(st.reqs_live, 0);
	}
	/* §14.2: a re-INVITE while one is being answered: 500 with a
	   Retry-After of 0-10 s; the first one is not disturbed. */
	CU_ASSERT_EQUAL(ua_sess_request(fx.a.s, "INVITE", NULL,
					"application/sdp", sdp, strlen(sdp),
					NULL),
			0);
	pump();
	CU_ASSERT_EQUAL(count_ev(&fx.b, UA_EV_REINVITE), 1);
	CU_ASSERT_PTR_NOT_NULL_FATAL(fx.b.req);
	CU_ASSERT_EQUAL(raw_to_b(INDLG("INVITE", 9, d->rtag.p, "ov")), 500);
	CU_ASSERT_TRUE(raw_has("Retry-After: "));
	{
		const char *ra =
			strstr(fx.raw[fx.nraw - 1].buf, "Retry-After: ");

		CU_ASSERT_TRUE(ra && strtoul(ra + 13, NULL, 10) <= 10);
	}
	CU_ASSERT_EQUAL(count_ev(&fx.b, UA_EV_REINVITE), 1);
	CU_ASSERT_EQUAL(ua_req_reply(fx.b.req, 200, NULL, NULL,
				     "application/sdp", sdp, strlen(sdp)),
			0);
	pump();
	CU_ASSERT_EQUAL(last_status(&fx.a, UA_EV_RESPONSE), 200);
	CU_ASSERT_EQUAL(ua_sess_state(fx.b.s), UA_S_CONFIRMED);
	/* B's own (remote) CSeq is now 9: A's BYE (CSeq 3) would be out of
	   order, so B hangs up. */
	ua_sess_end(fx.b.s, 0, NULL);
	pump();
	CU_ASSERT_EQUAL(count_ev(&fx.a, UA_EV_ENDED), 1);
	fx_done();
}

/* §8.2.2.2: a request without To tag whose From tag, Call-ID and CSeq
   match a transaction in progress but that arrived by another path
   (another branch) is a merged request: 482, and it creates nothing. */
static void
test_merged_482(void)
{
	static const char inv[] =
		"INVITE sip:bob@127.0.0.1:5062 SIP/2.0\r\n"
		"Via: SIP/2.0/UDP 127.0.0.1:5099;branch=z9hG4bK-%s\r\n"
		"Max-Forwards: 70\r\n"
		"From: <sip:raw@127.0.0.1:5099>;tag=mrg1\r\n"
		"To: <sip:bob@127.0.0.1:5062>\r\n"
		"Call-ID: raw-merged\r\n"
		"CSeq: 1 INVITE\r\n"
		"Contact: <sip:raw@127.0.0.1:5099>\r\n"
		"Content-Length: 0\r\n\r\n";
	char buf[1024];
	struct ua_stats st;

	fx_init();
	fx.b.auto_answer[0] = 180; /* the first stays in progress */
	snprintf(buf, sizeof(buf), inv, "path1");
	CU_ASSERT_EQUAL(raw_to_b(buf), 180);
	snprintf(buf, sizeof(buf), inv, "path2");
	CU_ASSERT_EQUAL(raw_to_b(buf), 482);
	ua_stats(fx.b.ua, &st);
	CU_ASSERT_EQUAL(st.sess_live, 1);
	CU_ASSERT_EQUAL(st.sess_active, 1);
	CU_ASSERT_EQUAL(st.rejected[4], 1);
	/* the same branch again is a retransmission, not a merge */
	snprintf(buf, sizeof(buf), inv, "path1");
	CU_ASSERT_EQUAL(raw_to_b(buf), 180);
	ua_sess_end(fx.b.s, 486, NULL);
	fx_done();
}

static const char *raw_find(const char *prefix, unsigned nth);

/* §8.1.1: what the UA writes into its INVITE: Max-Forwards 70, a Via
   branch with the magic cookie and >= 64 random bits, a From tag of 16
   hex digits, CSeq 1, a Contact; two calls share neither. */
static void
test_request_construction(void)
{
	char br[2][64], tag[2][64];
	unsigned i;

	fx_init();
	for (i = 0; i < 2; i++) {
		const char *inv, *v, *f;

		fx.nraw = 0;
		CU_ASSERT_EQUAL_FATAL(call(&fx.a, NULL, true), 0);
		pump();
		inv = raw_find("INVITE ", 0);
		CU_ASSERT_PTR_NOT_NULL_FATAL(inv);
		CU_ASSERT_PTR_NOT_NULL(strstr(inv, "\r\nMax-Forwards: 70\r\n"));
		CU_ASSERT_PTR_NOT_NULL(strstr(inv, "\r\nCSeq: 1 INVITE\r\n"));
		CU_ASSERT_PTR_NOT_NULL(strstr(inv, "\r\nContact: <sip:"));
		v = strstr(inv, ";branch=z9hG4bK");
		CU_ASSERT_PTR_NOT_NULL_FATAL(v);
		br[i][0] = '\0';
		sscanf(v + 15, "%63[0-9a-zA-Z.!%*_+`'~-]", br[i]);
		CU_ASSERT(strlen(br[i]) >= 16);
		f = strstr(inv, "\r\nFrom: ");
		CU_ASSERT_PTR_NOT_NULL_FATAL(f);
		f = strstr(f, ";tag=");
		CU_ASSERT_PTR_NOT_NULL_FATAL(f);
		tag[i][0] = '\0';
		sscanf(f + 5, "%63[0-9a-f]", tag[i]);
		CU_ASSERT_EQUAL(strlen(tag[i]), 16);
		ua_sess_end(fx.a.s, 0, NULL);
		advance(64 * 100 + 1000); /* the silent peer: 408 */
		fx.a.s = mem_deref(fx.a.s);
	}
	CU_ASSERT_STRING_NOT_EQUAL(br[0], br[1]);
	CU_ASSERT_STRING_NOT_EQUAL(tag[0], tag[1]);
	fx_done();
}

/* Overload: beyond max_sessions, 503 with Retry-After. */
static void
test_overload_503(void)
{
	fx_init();
	fx.b.ua = mem_deref(fx.b.ua);
	{
		struct ua_conf uc;

		ua_conf_default(&uc);
		uc.port = fx.b.port;
		uc.max_sessions = 1;
		uc.t1 = 100;
		uc.t2 = 400;
		CU_ASSERT_EQUAL_FATAL(ua_alloc(&fx.b.ua, &uc, fx.b.txn, fx.tmr,
					       net_send, &fx.b, on_invite,
					       &fx.b),
				      0);
	}
	fx.b.auto_answer[0] = 180;
	CU_ASSERT_EQUAL_FATAL(call(&fx.a, &fx.b, true), 0);
	pump();
	CU_ASSERT_EQUAL(raw_to_b(REQ("INVITE", "r7", "", "0")), 503);
	CU_ASSERT_TRUE(raw_has("Retry-After: 10"));
	ua_sess_end(fx.a.s, 0, NULL);
	fx_done();
}

/* ---- forking: a raw peer plays a forking proxy ---------------------- */

static void
raw_to_a(const char *fmt, const char *totag)
{
	static struct sip_msg inv;
	struct sip_limits lim;
	struct sip_perr perr;
	struct pkt p;
	char via[256], from[256], cid[128];

	/* Answer the INVITE that reached the raw peer first. */
	sip_limits_default(&lim);
	CU_ASSERT_FATAL(fx.nraw > 0);
	CU_ASSERT_EQUAL_FATAL(sip_msg_parse(&inv, fx.raw[0].buf, fx.raw[0].len,
					    SIP_FRAMING_DGRAM, &lim, &perr),
			      0);
	pl_strcpy(&inv.via.raw, via, sizeof(via));
	pl_strcpy(&inv.from.raw, from, sizeof(from));
	pl_strcpy(&inv.callid, cid, sizeof(cid));
	p.from = RAW_PORT;
	p.to = fx.a.port;
	p.len = (size_t)snprintf(p.buf, sizeof(p.buf), fmt, via, from, totag,
				 cid);
	deliver(&p);
	pump();
}

#define RESP(code)                                                             \
	"SIP/2.0 " code "\r\n"                                                 \
	"Via: %s\r\n"                                                          \
	"From: %s\r\n"                                                         \
	"To: <sip:raw@127.0.0.1:5099>;tag=%s\r\n"                              \
	"Call-ID: %s\r\n"                                                      \
	"CSeq: 1 INVITE\r\n"                                                   \
	"Contact: <sip:raw@127.0.0.1:5099>\r\n"                                \
	"Content-Length: 0\r\n\r\n"

static void
test_forked_2xx(void)
{
	struct ua_stats st;
	unsigned i, acks = 0, byes = 0;

	fx_init();
	CU_ASSERT_EQUAL_FATAL(call(&fx.a, NULL, true), 0);
	pump();
	CU_ASSERT_EQUAL_FATAL(fx.nraw, 1); /* the INVITE */
	raw_to_a(RESP("180 Ringing"), "fork1");
	raw_to_a(RESP("180 Ringing"), "fork2");
	CU_ASSERT_EQUAL(count_ev(&fx.a, UA_EV_PROGRESS), 2);
	raw_to_a(RESP("200 OK"), "fork2");
	CU_ASSERT_EQUAL(count_ev(&fx.a, UA_EV_ANSWERED), 1);
	CU_ASSERT_STRING_EQUAL(ua_sess_dlg(fx.a.s)->rtag.p, "fork2");
	raw_to_a(RESP("200 OK"), "fork1");
	CU_ASSERT_EQUAL(count_ev(&fx.a, UA_EV_ANSWERED), 1);
	for (i = 1; i < fx.nraw; i++) {
		if (strncmp(fx.raw[i].buf, "ACK ", 4) == 0)
			acks++;
		if (strncmp(fx.raw[i].buf, "BYE ", 4) == 0 &&
		    strstr(fx.raw[i].buf, "tag=fork1"))
			byes++;
	}
	CU_ASSERT_EQUAL(acks, 2);
	CU_ASSERT_EQUAL(byes, 1);
	ua_stats(fx.a.ua, &st);
	CU_ASSERT_EQUAL(st.fork_byes, 1);
	/* The fork's BYE and our own BYE time out at the silent peer. */
	ua_sess_end(fx.a.s, 0, NULL);
	advance(64 * 100 + 1000);
	CU_ASSERT_EQUAL(last_status(&fx.a, UA_EV_ENDED), 408);
	fx_done();
}

/* ---- digest: a carrier challenges our INVITE (§22.2) ---------------- */

/* Answer raw message i (a request that reached the raw peer) with
   status line st and the extra header lines hdrs. */
static void
raw_answer(unsigned i, const char *st, const char *hdrs)
{
	static struct sip_msg req;
	struct sip_limits lim;
	struct sip_perr perr;
	struct pkt p;
	char via[256], from[256], to[256], cid[128], cseq[64];

	sip_limits_default(&lim);
	CU_ASSERT_FATAL(i < fx.nraw);
	CU_ASSERT_EQUAL_FATAL(sip_msg_parse(&req, fx.raw[i].buf, fx.raw[i].len,
					    SIP_FRAMING_DGRAM, &lim, &perr),
			      0);
	pl_strcpy(&req.via.raw, via, sizeof(via));
	pl_strcpy(&req.from.raw, from, sizeof(from));
	pl_strcpy(&req.to.raw, to, sizeof(to));
	pl_strcpy(&req.callid, cid, sizeof(cid));
	snprintf(cseq, sizeof(cseq), "%u %.*s", req.cseq.num,
		 (int)req.cseq.method.l, req.cseq.method.p);
	p.from = RAW_PORT;
	p.to = fx.a.port;
	p.len = (size_t)snprintf(p.buf, sizeof(p.buf),
				 "SIP/2.0 %s\r\nVia: %s\r\nFrom: %s\r\n"
				 "To: %s;tag=carrier\r\nCall-ID: %s\r\n"
				 "CSeq: %s\r\n%sContent-Length: 0\r\n\r\n",
				 st, via, from, to, cid, cseq, hdrs);
	deliver(&p);
	pump();
}

static const char *
raw_find(const char *prefix, unsigned nth)
{
	unsigned i;

	for (i = 0; i < fx.nraw; i++)
		if (strncmp(fx.raw[i].buf, prefix, strlen(prefix)) == 0 &&
		    nth-- == 0)
			return fx.raw[i].buf;
	return NULL;
}

static void
test_digest_challenge(void)
{
	static const char chal[] =
		"WWW-Authenticate: Digest realm=\"carrier.example\", "
		"nonce=\"n0nce1\", qop=\"auth\", algorithm=MD5\r\n";
	struct ua_conn c;
	struct ua_stats st;
	const char *inv2;
	unsigned i2;

	fx_init();
	memset(&c, 0, sizeof(c));
	c.ruri = "sip:+4930123@127.0.0.1:5099";
	c.from_uri = "sip:alice@127.0.0.1:5061";
	c.to_uri = c.ruri;
	c.auth_user = "alice";
	c.auth_pass = "secret";
	dest_set(&c.dest, RAW_PORT);
	CU_ASSERT_EQUAL_FATAL(
		ua_sess_connect(&fx.a.s, fx.a.ua, &c, on_ev, &fx.a), 0);
	pump();
	CU_ASSERT_EQUAL_FATAL(fx.nraw, 1);
	raw_answer(0, "401 Unauthorized", chal);
	/* The ACK for the 401, then the INVITE again with credentials. */
	inv2 = raw_find("INVITE ", 1);
	CU_ASSERT_PTR_NOT_NULL_FATAL(inv2);
	CU_ASSERT_PTR_NOT_NULL(strstr(inv2, "CSeq: 2 INVITE\r\n"));
	CU_ASSERT_PTR_NOT_NULL(strstr(inv2, "Authorization: Digest "));
	CU_ASSERT_PTR_NOT_NULL(strstr(inv2, "username=\"alice\""));
	CU_ASSERT_PTR_NOT_NULL(strstr(inv2, "realm=\"carrier.example\""));
	CU_ASSERT_PTR_NOT_NULL(
		strstr(inv2, "uri=\"sip:+4930123@127.0.0.1:5099\""));
	CU_ASSERT_PTR_NOT_NULL(strstr(inv2, "nc=00000001"));
	CU_ASSERT_EQUAL(count_ev(&fx.a, UA_EV_FAILED), 0);
	/* Refused again, same realm, not stale: the password is wrong; the
	   401 is the answer, no third INVITE. */
	for (i2 = 0; i2 < fx.nraw && fx.raw[i2].buf != inv2; i2++)
		;
	raw_answer(i2, "401 Unauthorized", chal);
	CU_ASSERT_EQUAL(last_status(&fx.a, UA_EV_FAILED), 401);
	CU_ASSERT_PTR_NULL(raw_find("INVITE ", 2));
	ua_stats(fx.a.ua, &st);
	CU_ASSERT_EQUAL(st.auth_retries, 1);
	fx_done();
}

/* Without credentials a challenge is the call's answer. */
static void
test_digest_no_credentials(void)
{
	fx_init();
	CU_ASSERT_EQUAL_FATAL(call(&fx.a, NULL, true), 0);
	pump();
	raw_answer(0, "407 Proxy Authentication Required",
		   "Proxy-Authenticate: Digest realm=\"p\", nonce=\"x\"\r\n");
	CU_ASSERT_EQUAL(last_status(&fx.a, UA_EV_FAILED), 407);
	CU_ASSERT_PTR_NULL(raw_find("INVITE ", 1));
	fx_done();
}

void test_ua_register(void);

void
test_ua_register(void)
{
	CU_pSuite s = tu_suite("ua");

	TU_ADD(s, test_basic_call_caller_hangs_up);
	TU_ADD(s, test_callee_hangs_up);
	TU_ADD(s, test_cancel_while_ringing);
	TU_ADD(s, test_cancel_waits_for_provisional);
	TU_ADD(s, test_2xx_retransmitted_until_ack);
	TU_ADD(s, test_no_ack_ends_with_bye);
	TU_ADD(s, test_callee_bye_waits_for_ack);
	TU_ADD(s, test_reinvite);
	TU_ADD(s, test_glare);
	TU_ADD(s, test_busy);
	TU_ADD(s, test_uas_checks);
	TU_ADD(s, test_options_unavailable);
	TU_ADD(s, test_uas_record_route);
	TU_ADD(s, test_in_dialog_checks);
	TU_ADD(s, test_merged_482);
	TU_ADD(s, test_request_construction);
	TU_ADD(s, test_overload_503);
	TU_ADD(s, test_forked_2xx);
	TU_ADD(s, test_digest_challenge);
	TU_ADD(s, test_digest_no_credentials);
}
