/* Unit tests: the UA core's extensions over an in-memory network with a
   fake clock: RFC 3262 reliable provisionals and PRACK (both sides,
   retransmission, lost PRACK, no PRACK, held 2xx, forks) and RFC 4028
   session timers (negotiation, 422, refresh, expiry, refreshes answered
   by the UA itself). */
#include <errno.h>
#include <limits.h>
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
#define NWIRE 512
#define RAW_PORT 5099 /* a hand-driven peer: messages to it are kept */

struct ep {
	uint16_t port;
	struct ua_conf conf; /* set before ep_start() */
	struct txn_ctx *txn;
	struct ua *ua;
	struct ua_sess *s; /* ref */
	unsigned nev;
	enum ua_ev ev[NEV];
	uint16_t ev_status[NEV];
	bool ev_remote[NEV];
	struct ua_req *req; /* ref: the last REINVITE / REQUEST */
	bool rel_180;	    /* UAS: answer 180 with ua_sess_answer_rel() */
	bool plain_180;	    /* UAS: answer 180 with ua_sess_answer() */
	bool answer_200;    /* UAS: then 200 with SDP */
	bool auto_reply;    /* answer REINVITE / REQUEST 200 at once */
	int rel_err;	    /* what ua_sess_answer_rel() returned */
	unsigned repl_n;    /* INVITEs with Replaces that reached us */
	struct ua_sess *repl_seen; /* weak: the last one's target */
};

struct pkt {
	uint16_t from, to;
	size_t len;
	char buf[4096];
};

static struct {
	uint64_t now;
	struct tmr_ctx *tmr;
	struct ep a, b;
	struct pkt q[NQ];
	unsigned qh, qt;
	const char *drop_prefix; /* drop messages starting with it */
	unsigned drop_n;	 /* that many (UINT_MAX: all) */
	unsigned nwire;
	struct pkt *wire; /* every message sent, in order */
	unsigned nraw;
	struct pkt raw[32];
} fx;

static const char sdp_a[] = "v=0\r\no=a 11 1 IN IP4 127.0.0.1\r\ns=-\r\n"
			    "c=IN IP4 127.0.0.1\r\nt=0 0\r\n"
			    "m=audio 4000 RTP/AVP 0\r\n";
static const char sdp_b[] = "v=0\r\no=b 22 1 IN IP4 127.0.0.1\r\ns=-\r\n"
			    "c=IN IP4 127.0.0.1\r\nt=0 0\r\n"
			    "m=audio 5000 RTP/AVP 0\r\n";
static const char sdp_a2[] = "v=0\r\no=a 11 2 IN IP4 127.0.0.1\r\ns=-\r\n"
			     "c=IN IP4 127.0.0.1\r\nt=0 0\r\n"
			     "m=audio 4000 RTP/AVP 0\r\na=sendonly\r\n";

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

static int
net_send(const struct txn_dest *dst, const char *buf, size_t len, void *arg)
{
	struct ep *from = arg;
	struct pkt *p;

	CU_ASSERT_FATAL(len < sizeof(p->buf));
	if (fx.nwire < NWIRE) {
		p = &fx.wire[fx.nwire++];
		p->from = from->port;
		p->to = port_of(dst);
		p->len = len;
		memcpy(p->buf, buf, len);
		p->buf[len] = '\0';
	}
	if (fx.drop_n && fx.drop_prefix &&
	    strncmp(buf, fx.drop_prefix, strlen(fx.drop_prefix)) == 0) {
		if (fx.drop_n != UINT_MAX)
			fx.drop_n--;
		return 0;
	}
	CU_ASSERT_FATAL(fx.qt - fx.qh < NQ);
	p = &fx.q[fx.qt++ % NQ];
	p->from = from->port;
	p->to = port_of(dst);
	p->len = len;
	memcpy(p->buf, buf, len);
	p->buf[len] = '\0';
	return 0;
}

static void
dest_set(struct txn_dest *d, uint16_t port)
{
	memset(d, 0, sizeof(*d));
	tp_addr_set(&d->addr, &d->len, "127.0.0.1", port);
	d->proto = TP_UDP;
}

static void
deliver(const struct pkt *p)
{
	static struct sip_msg m;
	struct sip_limits lim;
	struct sip_perr perr;
	struct txn_dest src;
	struct ep *e = p->to == fx.a.port   ? &fx.a
		       : p->to == fx.b.port ? &fx.b
					    : NULL;

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
		e->ev[e->nev] = ev->ev;
		e->ev_status[e->nev] = ev->status;
		e->ev_remote[e->nev] = ev->by_remote;
	}
	e->nev++;
	if (ev->ev == UA_EV_REINVITE || ev->ev == UA_EV_REQUEST) {
		if (e->auto_reply) {
			bool sdp = ev->ev == UA_EV_REINVITE || ev->msg->body.l;

			ua_req_reply(ev->req, 200, NULL, NULL,
				     sdp ? "application/sdp" : NULL,
				     sdp ? sdp_b : NULL,
				     sdp ? strlen(sdp_b) : 0);
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

	(void)ua;
	(void)inv;
	if (ua_sess_replaces(s)) {
		/* RFC 3891: the app sees what it would replace; here it
		   refuses (a b2bua without attended transfer). */
		e->repl_n++;
		e->repl_seen = ua_sess_replaces(s);
		ua_sess_answer(s, 486, NULL, NULL, NULL, NULL, 0);
		return;
	}
	mem_deref(e->s);
	e->s = mem_ref(s);
	ua_sess_set_handler(s, on_ev, e);
	if (e->rel_180)
		e->rel_err =
			ua_sess_answer_rel(s, 180, NULL, NULL, NULL, NULL, 0);
	if (e->plain_180)
		ua_sess_answer(s, 180, NULL, NULL, NULL, NULL, 0);
	if (e->answer_200)
		ua_sess_answer(s, 200, NULL, NULL, "application/sdp", sdp_b,
			       strlen(sdp_b));
}

static void
ep_conf(struct ep *e, uint16_t port, const char *supported)
{
	memset(e, 0, sizeof(*e));
	e->port = port;
	ua_conf_default(&e->conf);
	e->conf.port = port;
	e->conf.t1 = 100;
	e->conf.t2 = 400;
	e->conf.shard = port == 5061 ? 1 : 2;
	e->conf.supported = supported;
}

static void
ep_start(struct ep *e)
{
	struct txn_cfg tc;

	txn_cfg_default(&tc);
	tc.t1 = 100;
	tc.t2 = 400;
	tc.t4 = 500;
	CU_ASSERT_EQUAL_FATAL(txn_ctx_alloc(&e->txn, &tc, net_send, e, fx.tmr),
			      0);
	CU_ASSERT_EQUAL_FATAL(ua_alloc(&e->ua, &e->conf, e->txn, fx.tmr,
				       net_send, e, on_invite, e),
			      0);
}

/* Both UAs with supported lists sa, sb; ep_start() after tweaks. */
static void
fx_init(const char *sa, const char *sb)
{
	static struct pkt wire[NWIRE];

	memset(&fx, 0, sizeof(fx));
	fx.wire = wire;
	fx.now = 1000000;
	CU_ASSERT_EQUAL_FATAL(tmr_ctx_alloc(&fx.tmr, fx_clock, NULL), 0);
	ep_conf(&fx.a, 5061, sa);
	ep_conf(&fx.b, 5062, sb);
}

static void
fx_start(void)
{
	ep_start(&fx.a);
	ep_start(&fx.b);
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

static void
fx_done(void)
{
	advance(20000);
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
		n += e->ev[i] == ev;
	return n;
}

static uint16_t
last_status(const struct ep *e, enum ua_ev ev)
{
	unsigned i;
	uint16_t st = 0;

	for (i = 0; i < e->nev && i < NEV; i++)
		if (e->ev[i] == ev)
			st = e->ev_status[i];
	return st;
}

/* Messages on the wire from port `from` (0: any) starting with prefix. */
static unsigned
wire_count(uint16_t from, const char *prefix)
{
	unsigned i, n = 0;

	for (i = 0; i < fx.nwire; i++)
		n += (!from || fx.wire[i].from == from) &&
		     strncmp(fx.wire[i].buf, prefix, strlen(prefix)) == 0;
	return n;
}

/* The nth such message, or NULL. */
static const char *
wire_find(uint16_t from, const char *prefix, unsigned nth)
{
	unsigned i;

	for (i = 0; i < fx.nwire; i++)
		if ((!from || fx.wire[i].from == from) &&
		    strncmp(fx.wire[i].buf, prefix, strlen(prefix)) == 0 &&
		    nth-- == 0)
			return fx.wire[i].buf;
	return NULL;
}

static bool
has(const char *msg, const char *needle)
{
	return msg && strstr(msg, needle);
}

static int
call(const char *hdrs, uint16_t to)
{
	struct ua_conn c;

	memset(&c, 0, sizeof(c));
	c.ruri = to == RAW_PORT ? "sip:raw@127.0.0.1:5099"
				: "sip:bob@127.0.0.1:5062";
	c.from_uri = "sip:alice@127.0.0.1:5061";
	c.to_uri = c.ruri;
	c.hdrs = hdrs;
	c.ctype = "application/sdp";
	c.body = sdp_a;
	c.body_len = strlen(sdp_a);
	dest_set(&c.dest, to);
	return ua_sess_connect(&fx.a.s, fx.a.ua, &c, on_ev, &fx.a);
}

/* ---- RFC 3262 ------------------------------------------------------- */

/* The reliable 180 carries Require: 100rel and RSeq, A PRACKs it with
   the matching RAck in the early dialog, B reports it; then 200. */
static void
test_rel_180_prack(void)
{
	const char *r180, *prack, *inv;
	struct ua_stats sa, sb;
	char rack[64];
	unsigned rseq;

	fx_init("100rel", "100rel");
	fx_start();
	fx.b.rel_180 = true;
	CU_ASSERT_EQUAL_FATAL(call(NULL, 5062), 0);
	pump();
	CU_ASSERT_EQUAL(fx.b.rel_err, 0);
	inv = wire_find(5061, "INVITE ", 0);
	CU_ASSERT_TRUE(has(inv, "Supported: 100rel\r\n"));
	r180 = wire_find(5062, "SIP/2.0 180", 0);
	CU_ASSERT_TRUE_FATAL(has(r180, "Require: 100rel\r\n"));
	CU_ASSERT_FATAL(has(r180, "RSeq: "));
	rseq = (unsigned)strtoul(strstr(r180, "RSeq: ") + 6, NULL, 10);
	CU_ASSERT(rseq >= 1 && rseq <= 0x7fffffffu);
	prack = wire_find(5061, "PRACK ", 0);
	CU_ASSERT_PTR_NOT_NULL_FATAL(prack);
	snprintf(rack, sizeof(rack), "RAck: %u 1 INVITE\r\n", rseq);
	CU_ASSERT_TRUE(has(prack, rack));
	CU_ASSERT_TRUE(has(prack, "CSeq: 2 PRACK\r\n"));
	CU_ASSERT_TRUE(has(prack, ";tag=")); /* To tag: the early dialog */
	CU_ASSERT_EQUAL(count_ev(&fx.a, UA_EV_PROGRESS), 1);
	CU_ASSERT_EQUAL(count_ev(&fx.b, UA_EV_PRACK), 1);
	CU_ASSERT_EQUAL(wire_count(5062, "SIP/2.0 200"), 1); /* the PRACK's */
	/* No retransmission once PRACKed. */
	advance(1000);
	CU_ASSERT_EQUAL(wire_count(5062, "SIP/2.0 180"), 1);
	CU_ASSERT_EQUAL(ua_sess_answer(fx.b.s, 200, NULL, NULL,
				       "application/sdp", sdp_b, strlen(sdp_b)),
			0);
	pump();
	CU_ASSERT_EQUAL(count_ev(&fx.a, UA_EV_ANSWERED), 1);
	CU_ASSERT_EQUAL(ua_sess_state(fx.b.s), UA_S_CONFIRMED);
	/* The BYE follows the PRACK's CSeq. */
	ua_sess_end(fx.a.s, 0, NULL);
	pump();
	CU_ASSERT_TRUE(has(wire_find(5061, "BYE ", 0), "CSeq: 3 BYE\r\n"));
	ua_stats(fx.a.ua, &sa);
	ua_stats(fx.b.ua, &sb);
	CU_ASSERT_EQUAL(sa.prack_out, 1);
	CU_ASSERT_EQUAL(sb.prack_in, 1);
	CU_ASSERT_EQUAL(sb.rel1xx_sent, 1);
	CU_ASSERT_EQUAL(sb.rel1xx_retrans, 0);
	fx_done();
}

/* Require: 100rel in the INVITE makes every 1xx reliable (§3 MUST). A
   second PRACK for the same 1xx matches nothing: 481. */
static void
test_rel_required_automatic(void)
{
	fx_init("100rel", "100rel");
	fx_start();
	fx.b.plain_180 = true;
	CU_ASSERT_EQUAL_FATAL(call("Require: 100rel\r\n", 5062), 0);
	pump();
	CU_ASSERT_TRUE(has(wire_find(5062, "SIP/2.0 180", 0), "RSeq: "));
	CU_ASSERT_EQUAL(count_ev(&fx.b, UA_EV_PRACK), 1);
	CU_ASSERT_EQUAL(count_ev(&fx.a, UA_EV_PROGRESS), 1);
	ua_sess_end(fx.a.s, 0, NULL);
	pump();
	CU_ASSERT_EQUAL(last_status(&fx.a, UA_EV_FAILED), 487);
	fx_done();
}

/* Reliability needs both sides: ENOTSUP, nothing sent; a plain 180 then
   gets no PRACK. A UAS without 100rel refuses Require: 100rel (420). */
static void
test_rel_not_possible(void)
{
	fx_init(NULL, "100rel");
	fx_start();
	fx.b.rel_180 = true;
	CU_ASSERT_EQUAL_FATAL(call(NULL, 5062), 0);
	pump();
	CU_ASSERT_EQUAL(fx.b.rel_err, ENOTSUP);
	CU_ASSERT_EQUAL(wire_count(5062, "SIP/2.0 180"), 0);
	CU_ASSERT_EQUAL(ua_sess_answer(fx.b.s, 180, NULL, NULL, NULL, NULL, 0),
			0);
	pump();
	CU_ASSERT_FALSE(has(wire_find(5062, "SIP/2.0 180", 0), "RSeq:"));
	CU_ASSERT_EQUAL(wire_count(5061, "PRACK "), 0);
	CU_ASSERT_EQUAL(
		ua_sess_answer_rel(fx.b.s, 100, NULL, NULL, NULL, NULL, 0),
		EINVAL);
	ua_sess_end(fx.a.s, 0, NULL);
	fx_done();

	fx_init("100rel", NULL);
	fx_start();
	CU_ASSERT_EQUAL_FATAL(call("Require: 100rel\r\n", 5062), 0);
	pump();
	CU_ASSERT_EQUAL(last_status(&fx.a, UA_EV_FAILED), 420);
	CU_ASSERT_TRUE(
		has(wire_find(5062, "SIP/2.0 420", 0), "Unsupported: 100rel"));
	fx_done();
}

/* A lost PRACK: B retransmits the 180 at T1 (A drops the copy, no second
   PROGRESS), A's PRACK transaction retransmits; one match. The 200 given
   meanwhile is held until the PRACK (§3). */
static void
test_rel_lost_prack_holds_2xx(void)
{
	struct ua_stats sa, sb;

	fx_init("100rel", "100rel");
	fx_start();
	fx.b.rel_180 = true;
	fx.drop_prefix = "PRACK ";
	fx.drop_n = 1;
	CU_ASSERT_EQUAL_FATAL(call(NULL, 5062), 0);
	pump();
	CU_ASSERT_EQUAL(ua_sess_answer(fx.b.s, 200, NULL, NULL,
				       "application/sdp", sdp_b, strlen(sdp_b)),
			0);
	pump();
	CU_ASSERT_EQUAL(wire_count(5062, "SIP/2.0 200"), 0); /* held */
	CU_ASSERT_EQUAL(ua_sess_state(fx.b.s), UA_S_EARLY);
	/* A second 2xx while one is held is refused. */
	CU_ASSERT_EQUAL(ua_sess_answer(fx.b.s, 200, NULL, NULL, NULL, NULL, 0),
			EPROTO);
	advance(100); /* T1: the 180 again and the PRACK again */
	CU_ASSERT(wire_count(5062, "SIP/2.0 180") >= 2);
	CU_ASSERT_EQUAL(wire_count(5061, "PRACK "), 2);
	CU_ASSERT_EQUAL(count_ev(&fx.a, UA_EV_PROGRESS), 1);
	CU_ASSERT_EQUAL(count_ev(&fx.b, UA_EV_PRACK), 1);
	CU_ASSERT_EQUAL(count_ev(&fx.a, UA_EV_ANSWERED), 1);
	CU_ASSERT_EQUAL(ua_sess_state(fx.b.s), UA_S_CONFIRMED);
	ua_stats(fx.a.ua, &sa);
	ua_stats(fx.b.ua, &sb);
	CU_ASSERT(sa.rel1xx_dropped >= 1);
	CU_ASSERT(sb.rel1xx_retrans >= 1);
	ua_sess_end(fx.b.s, 0, NULL);
	pump();
	CU_ASSERT_EQUAL(count_ev(&fx.a, UA_EV_ENDED), 1);
	fx_done();
}

/* No PRACK at all: retransmissions T1, 2T1, 4T1 ... then after 64*T1 the
   INVITE gets a 5xx (§3) and the UAS session ends. */
static void
test_rel_no_prack_5xx(void)
{
	fx_init("100rel", "100rel");
	fx_start();
	fx.b.rel_180 = true;
	fx.drop_prefix = "PRACK ";
	fx.drop_n = UINT_MAX;
	CU_ASSERT_EQUAL_FATAL(call(NULL, 5062), 0);
	advance(100 + 200 + 400 + 50);
	CU_ASSERT_EQUAL(wire_count(5062, "SIP/2.0 180"), 4);
	advance(64 * 100);
	CU_ASSERT_EQUAL(last_status(&fx.b, UA_EV_ENDED), 504);
	CU_ASSERT_EQUAL(ua_sess_state(fx.b.s), UA_S_ENDED);
	CU_ASSERT_EQUAL(last_status(&fx.a, UA_EV_FAILED), 504);
	fx_done();
}

/* A second reliable 1xx waits for the PRACK of the first (§3); RSeq
   goes up by one. */
static void
test_rel_two_in_order(void)
{
	const char *p0, *p1;
	unsigned r0, r1;

	fx_init("100rel", "100rel");
	fx_start();
	fx.b.rel_180 = true;
	fx.drop_prefix = "PRACK ";
	fx.drop_n = 1;
	CU_ASSERT_EQUAL_FATAL(call(NULL, 5062), 0);
	pump();
	CU_ASSERT_EQUAL(ua_sess_answer_rel(fx.b.s, 183, NULL, NULL,
					   "application/sdp", sdp_b,
					   strlen(sdp_b)),
			0);
	pump();
	CU_ASSERT_EQUAL(wire_count(5062, "SIP/2.0 183"), 0); /* waits */
	advance(150);
	CU_ASSERT_EQUAL(wire_count(5062, "SIP/2.0 183"), 1);
	CU_ASSERT_EQUAL(count_ev(&fx.b, UA_EV_PRACK), 2);
	CU_ASSERT_EQUAL(count_ev(&fx.a, UA_EV_PROGRESS), 2);
	p0 = wire_find(5062, "SIP/2.0 180", 0);
	p1 = wire_find(5062, "SIP/2.0 183", 0);
	CU_ASSERT_FATAL(has(p0, "RSeq: ") && has(p1, "RSeq: "));
	r0 = (unsigned)strtoul(strstr(p0, "RSeq: ") + 6, NULL, 10);
	r1 = (unsigned)strtoul(strstr(p1, "RSeq: ") + 6, NULL, 10);
	CU_ASSERT_EQUAL(r1, r0 + 1);
	ua_sess_end(fx.a.s, 0, NULL);
	fx_done();
}

/* ---- a raw peer plays a forking proxy with reliable 183s ----------- */

static void
raw_resp(const char *status, const char *totag, const char *extra)
{
	static struct sip_msg inv;
	struct sip_limits lim;
	struct sip_perr perr;
	struct pkt p;
	char via[256], from[256], cid[128];

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
	p.len = (size_t)snprintf(
		p.buf, sizeof(p.buf),
		"SIP/2.0 %s\r\nVia: %s\r\nFrom: %s\r\n"
		"To: <sip:raw@127.0.0.1:5099>;tag=%s\r\nCall-ID: %s\r\n"
		"CSeq: 1 INVITE\r\nContact: <sip:%s@127.0.0.1:5099>\r\n"
		"%sContent-Length: 0\r\n\r\n",
		status, via, from, totag, cid, totag, extra);
	deliver(&p);
	pump();
}

static unsigned
raw_count(const char *prefix, const char *needle)
{
	unsigned i, n = 0;

	for (i = 0; i < fx.nraw; i++)
		n += strncmp(fx.raw[i].buf, prefix, strlen(prefix)) == 0 &&
		     (!needle || strstr(fx.raw[i].buf, needle));
	return n;
}

static void
test_rel_forked(void)
{
	struct ua_stats st;

	fx_init("100rel", NULL);
	fx_start();
	CU_ASSERT_EQUAL_FATAL(call(NULL, RAW_PORT), 0);
	pump();
	CU_ASSERT_EQUAL_FATAL(fx.nraw, 1);
	raw_resp("183 Session Progress", "fork1",
		 "Require: 100rel\r\nRSeq: 10\r\n");
	raw_resp("183 Session Progress", "fork2",
		 "Require: 100rel\r\nRSeq: 500\r\n");
	CU_ASSERT_EQUAL(count_ev(&fx.a, UA_EV_PROGRESS), 2);
	/* Each PRACKed in its own early dialog, to its own Contact. */
	CU_ASSERT_EQUAL(raw_count("PRACK sip:fork1@", "RAck: 10 1 INVITE"), 1);
	CU_ASSERT_EQUAL(raw_count("PRACK sip:fork2@", "RAck: 500 1 INVITE"), 1);
	CU_ASSERT_EQUAL(raw_count("PRACK ", "tag=fork1"), 1);
	/* A retransmission and an out-of-order RSeq: dropped, no PRACK. */
	raw_resp("183 Session Progress", "fork1",
		 "Require: 100rel\r\nRSeq: 10\r\n");
	raw_resp("183 Session Progress", "fork1",
		 "Require: 100rel\r\nRSeq: 12\r\n");
	CU_ASSERT_EQUAL(count_ev(&fx.a, UA_EV_PROGRESS), 2);
	CU_ASSERT_EQUAL(raw_count("PRACK ", NULL), 2);
	/* The next in order is PRACKed. */
	raw_resp("180 Ringing", "fork1", "Require: 100rel\r\nRSeq: 11\r\n");
	CU_ASSERT_EQUAL(raw_count("PRACK sip:fork1@", "RAck: 11 1 INVITE"), 1);
	CU_ASSERT_EQUAL(count_ev(&fx.a, UA_EV_PROGRESS), 3);
	/* An unreliable 180 passes without PRACK. */
	raw_resp("180 Ringing", "fork2", "");
	CU_ASSERT_EQUAL(count_ev(&fx.a, UA_EV_PROGRESS), 4);
	CU_ASSERT_EQUAL(raw_count("PRACK ", NULL), 3);
	ua_stats(fx.a.ua, &st);
	CU_ASSERT_EQUAL(st.prack_out, 3);
	CU_ASSERT_EQUAL(st.rel1xx_dropped, 2);
	raw_resp("200 OK", "fork2", "");
	CU_ASSERT_EQUAL(count_ev(&fx.a, UA_EV_ANSWERED), 1);
	/* The dialog of fork2 used CSeq 2 for its PRACK: BYE is 3. */
	ua_sess_end(fx.a.s, 0, NULL);
	pump();
	CU_ASSERT_EQUAL(raw_count("BYE ", "CSeq: 3 BYE"), 1);
	advance(64 * 100 + 1000);
	fx_done();
}

/* ---- RFC 3311 in the early dialog ----------------------------------- */

/* UPDATE both ways before the 2xx: the UAC's goes in the early dialog of
   the latest provisional, the UAS's in its own; CSeq carries on. */
static void
test_update_early(void)
{
	int cookie = 3;

	fx_init("100rel", "100rel");
	fx_start();
	CU_ASSERT_EQUAL_FATAL(call(NULL, 5062), 0);
	pump();
	/* No provisional yet: no dialog for an UPDATE. */
	CU_ASSERT_EQUAL(
		ua_sess_request(fx.a.s, "UPDATE", NULL, NULL, NULL, 0, NULL),
		EPROTO);
	CU_ASSERT_EQUAL(ua_sess_answer_rel(fx.b.s, 183, NULL, NULL,
					   "application/sdp", sdp_b,
					   strlen(sdp_b)),
			0);
	pump();
	CU_ASSERT_EQUAL(count_ev(&fx.b, UA_EV_PRACK), 1);
	CU_ASSERT_EQUAL(ua_sess_request(fx.a.s, "UPDATE", NULL,
					"application/sdp", sdp_a2,
					strlen(sdp_a2), &cookie),
			0);
	pump();
	CU_ASSERT_TRUE(has(wire_find(5061, "UPDATE ", 0), "CSeq: 3 UPDATE"));
	CU_ASSERT_EQUAL(count_ev(&fx.b, UA_EV_REQUEST), 1);
	CU_ASSERT_PTR_NOT_NULL_FATAL(fx.b.req);
	CU_ASSERT_EQUAL(ua_req_method(fx.b.req), SIP_M_UPDATE);
	CU_ASSERT_EQUAL(ua_req_reply(fx.b.req, 200, NULL, NULL,
				     "application/sdp", sdp_b, strlen(sdp_b)),
			0);
	pump();
	CU_ASSERT_EQUAL(last_status(&fx.a, UA_EV_RESPONSE), 200);
	/* The UAS's UPDATE in its early dialog. */
	CU_ASSERT_EQUAL(
		ua_sess_request(fx.b.s, "UPDATE", NULL, NULL, NULL, 0, NULL),
		0);
	pump();
	CU_ASSERT_EQUAL(count_ev(&fx.a, UA_EV_REQUEST), 1);
	CU_ASSERT_PTR_NOT_NULL_FATAL(fx.a.req);
	CU_ASSERT_EQUAL(ua_req_reply(fx.a.req, 200, NULL, NULL, NULL, NULL, 0),
			0);
	pump();
	CU_ASSERT_EQUAL(last_status(&fx.b, UA_EV_RESPONSE), 200);
	CU_ASSERT_EQUAL(ua_sess_answer(fx.b.s, 200, NULL, NULL, NULL, NULL, 0),
			0);
	pump();
	CU_ASSERT_EQUAL(count_ev(&fx.a, UA_EV_ANSWERED), 1);
	ua_sess_end(fx.a.s, 0, NULL);
	pump();
	CU_ASSERT_TRUE(has(wire_find(5061, "BYE ", 0), "CSeq: 4 BYE"));
	CU_ASSERT_EQUAL(count_ev(&fx.b, UA_EV_ENDED), 1);
	fx_done();
}

/* ---- RFC 4028 ------------------------------------------------------- */

static void
st_conf(struct ep *e, uint32_t se, uint32_t min_se)
{
	e->conf.session_expires = se;
	e->conf.min_se = min_se;
}

static void
test_st_negotiation(void)
{
	const char *inv, *ok;
	bool ref = false;

	fx_init(NULL, "100rel");
	st_conf(&fx.a, 1800, 90);
	st_conf(&fx.b, 1200, 90);
	fx_start();
	fx.b.answer_200 = true;
	CU_ASSERT_EQUAL_FATAL(call(NULL, 5062), 0);
	pump();
	inv = wire_find(5061, "INVITE ", 0);
	CU_ASSERT_TRUE(has(inv, "Supported: timer\r\n"));
	CU_ASSERT_TRUE(has(inv, "Session-Expires: 1800\r\n"));
	CU_ASSERT_TRUE(has(inv, "Min-SE: 90\r\n"));
	ok = wire_find(5062, "SIP/2.0 200", 0);
	/* The UAS lowers to its own 1200; the UAC refreshes (§9 row 2). */
	CU_ASSERT_TRUE(has(ok, "Session-Expires: 1200;refresher=uac\r\n"));
	CU_ASSERT_TRUE(has(ok, "Require: timer\r\n"));
	CU_ASSERT_TRUE(has(ok, "Supported: 100rel, timer\r\n"));
	CU_ASSERT_EQUAL(ua_sess_interval(fx.a.s, &ref), 1200);
	CU_ASSERT_TRUE(ref);
	CU_ASSERT_EQUAL(ua_sess_interval(fx.b.s, &ref), 1200);
	CU_ASSERT_FALSE(ref);
	ua_sess_end(fx.a.s, 0, NULL);
	pump();
	CU_ASSERT_EQUAL(ua_sess_interval(fx.a.s, NULL), 0);
	fx_done();
}

/* §9: too small: 422 with Min-SE; §7.3: the UAC retries with it. */
static void
test_st_422_retry(void)
{
	const char *inv2;
	struct ua_stats sa, sb;

	fx_init(NULL, NULL);
	st_conf(&fx.a, 100, 90);
	st_conf(&fx.b, 1800, 300);
	fx_start();
	fx.b.answer_200 = true;
	CU_ASSERT_EQUAL_FATAL(call(NULL, 5062), 0);
	pump();
	CU_ASSERT_TRUE(has(wire_find(5062, "SIP/2.0 422", 0), "Min-SE: 300"));
	inv2 = wire_find(5061, "INVITE ", 1);
	CU_ASSERT_TRUE(has(inv2, "CSeq: 2 INVITE\r\n"));
	CU_ASSERT_TRUE(has(inv2, "Session-Expires: 300\r\n"));
	CU_ASSERT_TRUE(has(inv2, "Min-SE: 300\r\n"));
	CU_ASSERT_FALSE(has(inv2, "Session-Expires: 100"));
	CU_ASSERT_EQUAL(count_ev(&fx.a, UA_EV_FAILED), 0);
	CU_ASSERT_EQUAL(count_ev(&fx.a, UA_EV_ANSWERED), 1);
	CU_ASSERT_EQUAL(ua_sess_interval(fx.a.s, NULL), 300);
	ua_stats(fx.a.ua, &sa);
	ua_stats(fx.b.ua, &sb);
	CU_ASSERT_EQUAL(sa.st_422, 1);
	CU_ASSERT_EQUAL(sb.st_422, 1);
	ua_sess_end(fx.a.s, 0, NULL);
	fx_done();
}

/* §10: the refresher refreshes at half the interval with its last SDP
   (same o= line); the app on the other side answers (no
   answer_refreshes); each 2xx restarts the timer, no expiry. */
static void
test_st_refresh_half(void)
{
	const char *upd;

	fx_init(NULL, NULL);
	st_conf(&fx.a, 120, 90);
	st_conf(&fx.b, 120, 90);
	fx_start();
	fx.b.answer_200 = true;
	fx.b.auto_reply = true;
	CU_ASSERT_EQUAL_FATAL(call(NULL, 5062), 0);
	pump();
	advance(59000);
	CU_ASSERT_EQUAL(wire_count(5061, "UPDATE "), 0);
	advance(1100);
	CU_ASSERT_EQUAL(wire_count(5061, "UPDATE "), 1);
	upd = wire_find(5061, "UPDATE ", 0);
	CU_ASSERT_TRUE(has(upd, "Session-Expires: 120;refresher=uac\r\n"));
	CU_ASSERT_TRUE(has(upd, "o=a 11 1 IN IP4"));
	CU_ASSERT_EQUAL(count_ev(&fx.b, UA_EV_REQUEST), 1);
	CU_ASSERT_EQUAL(count_ev(&fx.a, UA_EV_REFRESHED), 1);
	CU_ASSERT_EQUAL(count_ev(&fx.a, UA_EV_RESPONSE), 0);
	advance(60000);
	CU_ASSERT_EQUAL(wire_count(5061, "UPDATE "), 2);
	advance(60000);
	CU_ASSERT_EQUAL(wire_count(5061, "UPDATE "), 3);
	CU_ASSERT_EQUAL(count_ev(&fx.a, UA_EV_ENDED), 0);
	CU_ASSERT_EQUAL(count_ev(&fx.b, UA_EV_ENDED), 0);
	CU_ASSERT_EQUAL(ua_sess_state(fx.b.s), UA_S_CONFIRMED);
	ua_sess_end(fx.a.s, 0, NULL);
	fx_done();
}

/* answer_refreshes: B answers A's refreshes itself (B's app sees only
   REFRESHED); a re-INVITE with a new o= version still goes to the app;
   an unchanged one is answered with B's last SDP, and its ACK raises no
   CONFIRMED. */
static void
test_st_refresh_answered_locally(void)
{
	struct ua_stats sb;
	const char *ok = NULL;
	unsigned i, oks;

	fx_init(NULL, NULL);
	st_conf(&fx.a, 120, 90);
	st_conf(&fx.b, 120, 90);
	fx.b.conf.answer_refreshes = true;
	fx_start();
	fx.b.answer_200 = true;
	CU_ASSERT_EQUAL_FATAL(call(NULL, 5062), 0);
	pump();
	advance(60100);
	CU_ASSERT_EQUAL(wire_count(5061, "UPDATE "), 1);
	CU_ASSERT_EQUAL(count_ev(&fx.b, UA_EV_REQUEST), 0);
	CU_ASSERT_EQUAL(count_ev(&fx.b, UA_EV_REFRESHED), 1);
	CU_ASSERT_EQUAL(count_ev(&fx.a, UA_EV_REFRESHED), 1);
	/* B's 200 to the UPDATE: B's last SDP, with the timer headers. */
	for (i = 0, oks = 0; i < fx.nwire; i++)
		if (fx.wire[i].from == 5062 &&
		    strstr(fx.wire[i].buf, "CSeq: 2 UPDATE"))
			ok = fx.wire[i].buf, oks++;
	CU_ASSERT_EQUAL_FATAL(oks, 1);
	CU_ASSERT_TRUE(has(ok, "o=b 22 1 IN IP4"));
	CU_ASSERT_TRUE(has(ok, "Session-Expires: 120;refresher=uac"));
	/* The app's re-INVITE with the same SDP: a refresh. */
	CU_ASSERT_EQUAL(ua_sess_request(fx.a.s, "INVITE", NULL,
					"application/sdp", sdp_a, strlen(sdp_a),
					NULL),
			0);
	pump();
	CU_ASSERT_EQUAL(count_ev(&fx.b, UA_EV_REINVITE), 0);
	CU_ASSERT_EQUAL(count_ev(&fx.b, UA_EV_REFRESHED), 2);
	CU_ASSERT_EQUAL(count_ev(&fx.b, UA_EV_CONFIRMED), 1);
	CU_ASSERT_EQUAL(last_status(&fx.a, UA_EV_RESPONSE), 200);
	/* A real change (version 2) is the app's. */
	CU_ASSERT_EQUAL(ua_sess_request(fx.a.s, "INVITE", NULL,
					"application/sdp", sdp_a2,
					strlen(sdp_a2), NULL),
			0);
	pump();
	CU_ASSERT_EQUAL(count_ev(&fx.b, UA_EV_REINVITE), 1);
	CU_ASSERT_PTR_NOT_NULL_FATAL(fx.b.req);
	CU_ASSERT_EQUAL(ua_req_reply(fx.b.req, 200, NULL, NULL,
				     "application/sdp", sdp_b, strlen(sdp_b)),
			0);
	pump();
	CU_ASSERT_EQUAL(count_ev(&fx.b, UA_EV_CONFIRMED), 2);
	/* After it, the version-2 SDP is the one a refresh repeats. */
	CU_ASSERT_EQUAL(ua_sess_request(fx.a.s, "UPDATE", NULL,
					"application/sdp", sdp_a2,
					strlen(sdp_a2), NULL),
			0);
	pump();
	CU_ASSERT_EQUAL(count_ev(&fx.b, UA_EV_REFRESHED), 3);
	ua_stats(fx.b.ua, &sb);
	CU_ASSERT_EQUAL(sb.refresh_in, 3);
	ua_sess_end(fx.b.s, 0, NULL);
	fx_done();
}

/* A rejected offer is not the session's SDP: the same offer again goes
   to the app, and our own refreshes keep the accepted SDP. */
static void
test_st_rejected_offer_not_a_refresh(void)
{
	unsigned n;

	fx_init(NULL, NULL);
	st_conf(&fx.a, 120, 90);
	st_conf(&fx.b, 120, 90);
	fx.b.conf.answer_refreshes = true;
	fx_start();
	fx.b.answer_200 = true;
	CU_ASSERT_EQUAL_FATAL(call(NULL, 5062), 0);
	pump();
	CU_ASSERT_EQUAL(ua_sess_request(fx.a.s, "INVITE", NULL,
					"application/sdp", sdp_a2,
					strlen(sdp_a2), NULL),
			0);
	pump();
	CU_ASSERT_EQUAL(count_ev(&fx.b, UA_EV_REINVITE), 1);
	CU_ASSERT_PTR_NOT_NULL_FATAL(fx.b.req);
	CU_ASSERT_EQUAL(ua_req_reply(fx.b.req, 488, NULL, NULL, NULL, NULL, 0),
			0);
	pump();
	CU_ASSERT_EQUAL(last_status(&fx.a, UA_EV_RESPONSE), 488);
	CU_ASSERT_EQUAL(ua_sess_request(fx.a.s, "INVITE", NULL,
					"application/sdp", sdp_a2,
					strlen(sdp_a2), NULL),
			0);
	pump();
	CU_ASSERT_EQUAL(count_ev(&fx.b, UA_EV_REINVITE), 2);
	CU_ASSERT_EQUAL(count_ev(&fx.b, UA_EV_REFRESHED), 0);
	CU_ASSERT_EQUAL(ua_req_reply(fx.b.req, 488, NULL, NULL, NULL, NULL, 0),
			0);
	pump();
	/* A's refresh carries the SDP of the session, version 1. */
	n = wire_count(5061, "UPDATE ");
	advance(61000);
	CU_ASSERT_EQUAL(wire_count(5061, "UPDATE "), n + 1);
	CU_ASSERT_TRUE(has(wire_find(5061, "UPDATE ", n), "o=a 11 1 IN IP4"));
	CU_ASSERT_EQUAL(count_ev(&fx.b, UA_EV_REFRESHED), 1);
	ua_sess_end(fx.a.s, 0, NULL);
	fx_done();
}

/* §10: the peer was to refresh and did not: BYE with Reason at
   interval - min(32, interval/3), ENDED 408. */
static void
test_st_expiry_bye(void)
{
	struct ua_stats st;
	const char *bye;

	fx_init(NULL, NULL);
	st_conf(&fx.a, 120, 90);
	fx_start();
	CU_ASSERT_EQUAL_FATAL(call(NULL, RAW_PORT), 0);
	pump();
	raw_resp("200 OK", "uas1",
		 "Session-Expires: 120;refresher=uas\r\nRequire: timer\r\n");
	CU_ASSERT_EQUAL(count_ev(&fx.a, UA_EV_ANSWERED), 1);
	CU_ASSERT_EQUAL(ua_sess_interval(fx.a.s, NULL), 120);
	advance(87900);
	CU_ASSERT_EQUAL(raw_count("BYE ", NULL), 0);
	advance(150); /* before the BYE's first retransmission (T1) */
	CU_ASSERT_EQUAL(raw_count("BYE ", NULL), 1);
	bye = NULL;
	for (unsigned i = 0; i < fx.nraw; i++)
		if (strncmp(fx.raw[i].buf, "BYE ", 4) == 0)
			bye = fx.raw[i].buf;
	CU_ASSERT_TRUE(has(bye, "Reason: SIP;cause=408"));
	/* The silent peer lets the BYE time out: ENDED 408 either way. */
	advance(64 * 100 + 500);
	CU_ASSERT_EQUAL(last_status(&fx.a, UA_EV_ENDED), 408);
	ua_stats(fx.a.ua, &st);
	CU_ASSERT_EQUAL(st.st_expired, 1);
	fx_done();
}

/* Answer the last request from A at the raw peer starting with prefix
   (its To already has our tag). */
static void
raw_reply(const char *prefix, const char *status, const char *extra)
{
	static struct sip_msg req;
	struct sip_limits lim;
	struct sip_perr perr;
	struct pkt p;
	char via[256], from[256], to[256], cid[128], cseq[64];
	int i;

	for (i = (int)fx.nraw - 1; i >= 0; i--)
		if (strncmp(fx.raw[i].buf, prefix, strlen(prefix)) == 0)
			break;
	CU_ASSERT_FATAL(i >= 0);
	sip_limits_default(&lim);
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
	p.len = (size_t)snprintf(
		p.buf, sizeof(p.buf),
		"SIP/2.0 %s\r\nVia: %s\r\nFrom: %s\r\nTo: %s\r\n"
		"Call-ID: %s\r\nCSeq: %s\r\n"
		"Contact: <sip:uas1@127.0.0.1:5099>\r\n"
		"%sContent-Length: 0\r\n\r\n",
		status, via, from, to, cid, cseq, extra);
	deliver(&p);
	pump();
}

/* Our UPDATE refresh refused as unknown (501) by a peer that listed it:
   a re-INVITE with our SDP instead, ACKed by the UA; REFRESHED. */
static void
test_st_update_refused_reinvite(void)
{
	fx_init(NULL, NULL);
	st_conf(&fx.a, 120, 90);
	fx_start();
	CU_ASSERT_EQUAL_FATAL(call(NULL, RAW_PORT), 0);
	pump();
	raw_resp("200 OK", "uas1",
		 "Allow: INVITE, ACK, BYE, UPDATE\r\n"
		 "Session-Expires: 120;refresher=uac\r\n");
	CU_ASSERT_EQUAL(ua_sess_interval(fx.a.s, NULL), 120);
	advance(60050);
	CU_ASSERT_EQUAL(raw_count("UPDATE ", "Session-Expires: 120"), 1);
	raw_reply("UPDATE ", "501 Not Implemented", "");
	CU_ASSERT_EQUAL(raw_count("INVITE ", "CSeq: 3 INVITE"), 1);
	CU_ASSERT_EQUAL(raw_count("INVITE ", "o=a 11 1 IN IP4"), 2);
	raw_reply("INVITE ", "200 OK",
		  "Session-Expires: 120;refresher=uac\r\n");
	CU_ASSERT_EQUAL(raw_count("ACK ", "CSeq: 3 ACK"), 1);
	CU_ASSERT_EQUAL(count_ev(&fx.a, UA_EV_REFRESHED), 1);
	CU_ASSERT_EQUAL(count_ev(&fx.a, UA_EV_RESPONSE), 0);
	/* The timer runs again from that 2xx: the next refresh is due at
	   half the interval, re-INVITE now. */
	advance(60050);
	CU_ASSERT_EQUAL(raw_count("INVITE ", "CSeq: 4 INVITE"), 1);
	CU_ASSERT_EQUAL(raw_count("UPDATE ", NULL), 1);
	ua_sess_end(fx.a.s, 0, NULL);
	advance(64 * 100 + 1000);
	fx_done();
}

/* A 422 to our refresh in the dialog: §7.3 again with the larger Min-SE
   (and §7.4: the next refresh keeps it). */
static void
test_st_refresh_422(void)
{
	struct ua_stats st;

	fx_init(NULL, NULL);
	st_conf(&fx.a, 120, 90);
	fx_start();
	CU_ASSERT_EQUAL_FATAL(call(NULL, RAW_PORT), 0);
	pump();
	raw_resp("200 OK", "uas1",
		 "Allow: INVITE, ACK, BYE, UPDATE\r\n"
		 "Session-Expires: 120;refresher=uac\r\n");
	advance(60050);
	CU_ASSERT_EQUAL(raw_count("UPDATE ", "Min-SE: 90"), 1);
	raw_reply("UPDATE ", "422 Session Interval Too Small",
		  "Min-SE: 200\r\n");
	CU_ASSERT_EQUAL(raw_count("UPDATE ", "CSeq: 3 UPDATE"), 1);
	CU_ASSERT_EQUAL(raw_count("UPDATE ", "Session-Expires: 200;"), 1);
	CU_ASSERT_EQUAL(raw_count("UPDATE ", "Min-SE: 200"), 1);
	raw_reply("UPDATE ", "200 OK",
		  "Session-Expires: 200;refresher=uac\r\n");
	CU_ASSERT_EQUAL(count_ev(&fx.a, UA_EV_REFRESHED), 1);
	CU_ASSERT_EQUAL(ua_sess_interval(fx.a.s, NULL), 200);
	advance(100050); /* half of 200 s */
	CU_ASSERT_EQUAL(raw_count("UPDATE ", "CSeq: 4 UPDATE"), 1);
	CU_ASSERT_EQUAL(raw_count("UPDATE ", "Min-SE: 200"), 2);
	ua_stats(fx.a.ua, &st);
	CU_ASSERT_EQUAL(st.st_422, 1);
	CU_ASSERT_EQUAL(count_ev(&fx.a, UA_EV_ENDED), 0);
	ua_sess_end(fx.a.s, 0, NULL);
	advance(64 * 100 + 1000);
	fx_done();
}

/* The UAS refreshes when it prefers to and the UAC left it open (§9
   row 2); the UAC's UA answers the UPDATE itself. */
static void
test_st_uas_refresher(void)
{
	bool ref = true;

	fx_init(NULL, NULL);
	st_conf(&fx.a, 120, 90);
	st_conf(&fx.b, 120, 90);
	fx.a.conf.answer_refreshes = true;
	fx.b.conf.session_refresher = true;
	fx_start();
	fx.b.answer_200 = true;
	CU_ASSERT_EQUAL_FATAL(call(NULL, 5062), 0);
	pump();
	CU_ASSERT_TRUE(has(wire_find(5062, "SIP/2.0 200", 0),
			   "Session-Expires: 120;refresher=uas"));
	CU_ASSERT_EQUAL(ua_sess_interval(fx.a.s, &ref), 120);
	CU_ASSERT_FALSE(ref);
	advance(60050);
	CU_ASSERT_EQUAL(wire_count(5062, "UPDATE "), 1);
	CU_ASSERT_EQUAL(wire_count(5061, "UPDATE "), 0);
	CU_ASSERT_TRUE(has(wire_find(5062, "UPDATE ", 0),
			   "Session-Expires: 120;refresher=uac"));
	CU_ASSERT_EQUAL(count_ev(&fx.a, UA_EV_REFRESHED), 1);
	CU_ASSERT_EQUAL(count_ev(&fx.a, UA_EV_REQUEST), 0);
	CU_ASSERT_EQUAL(count_ev(&fx.b, UA_EV_REFRESHED), 1);
	/* Roles survive the refresh: B still refreshes, A still waits. */
	CU_ASSERT_EQUAL(ua_sess_interval(fx.a.s, &ref), 120);
	CU_ASSERT_FALSE(ref);
	advance(60000);
	CU_ASSERT_EQUAL(wire_count(5062, "UPDATE "), 2);
	CU_ASSERT_EQUAL(count_ev(&fx.a, UA_EV_ENDED), 0);
	ua_sess_end(fx.a.s, 0, NULL);
	fx_done();
}

/* A UAC without session timers gets none unless it asked (§9). */
static void
test_st_off_by_default(void)
{
	fx_init(NULL, NULL);
	st_conf(&fx.b, 1800, 90);
	fx_start();
	fx.b.answer_200 = true;
	CU_ASSERT_EQUAL_FATAL(call(NULL, 5062), 0);
	pump();
	CU_ASSERT_FALSE(has(wire_find(5061, "INVITE ", 0), "Session-Expires"));
	CU_ASSERT_FALSE(
		has(wire_find(5062, "SIP/2.0 200", 0), "Session-Expires"));
	CU_ASSERT_EQUAL(ua_sess_interval(fx.b.s, NULL), 0);
	ua_sess_end(fx.a.s, 0, NULL);
	fx_done();
}

/* ---- bad input in dialogs: statuses and no state left behind ------- */

/* What a UA holds: compared before and after each bad request. */
struct live {
	uint64_t sess_live, sess_active, reqs_live, txn_live;
};

static struct live
live_of(const struct ep *e)
{
	struct ua_stats st;
	struct txn_stats ts;
	struct live l;

	ua_stats(e->ua, &st);
	txn_ctx_stats(e->txn, &ts);
	l.sess_live = st.sess_live;
	l.sess_active = st.sess_active;
	l.reqs_live = st.reqs_live;
	l.txn_live = ts.live;
	return l;
}

/* Right after a rejection no session or request object is left; once
   the rejecting server transactions have run out (64*T1 + T4) the
   transaction count is back where it was. */
static void
check_no_leak(const struct ep *e, const struct live *before)
{
	struct live now = live_of(e);

	CU_ASSERT_EQUAL(now.sess_live, before->sess_live);
	CU_ASSERT_EQUAL(now.sess_active, before->sess_active);
	CU_ASSERT_EQUAL(now.reqs_live, before->reqs_live);
	advance(64 * 100 + 600);
	now = live_of(e);
	CU_ASSERT_EQUAL(now.txn_live, before->txn_live);
	CU_ASSERT_EQUAL(now.sess_live, before->sess_live);
	CU_ASSERT_EQUAL(now.reqs_live, before->reqs_live);
}

/* Send text to port as if from the raw peer; the status of the last
   response that came back (0: none). */
static unsigned
raw_send(uint16_t port, const char *text)
{
	static struct sip_msg m;
	struct sip_limits lim;
	struct sip_perr perr;
	struct pkt p;

	fx.nraw = 0;
	p.from = RAW_PORT;
	p.to = port;
	p.len = strlen(text);
	CU_ASSERT_FATAL(p.len < sizeof(p.buf));
	memcpy(p.buf, text, p.len + 1);
	deliver(&p);
	pump();
	if (!fx.nraw)
		return 0;
	sip_limits_default(&lim);
	if (sip_msg_parse(&m, fx.raw[fx.nraw - 1].buf, fx.raw[fx.nraw - 1].len,
			  SIP_FRAMING_DGRAM, &lim, &perr))
		return 1;
	return m.req ? 2 : m.status;
}

/* A request to B as from A's side: in the dialog with Call-ID callid
   (NULL: a fresh one), CSeq, the From and To tags (ttag NULL: none), a
   unique branch and extra header lines. Returns a static buffer. */
static const char *
raw_req(const char *callid, const char *method, unsigned cseq, const char *ftag,
	const char *ttag, const char *branch, const char *extra)
{
	static char buf[2048];

	snprintf(buf, sizeof(buf),
		 "%s sip:bob@127.0.0.1:5062 SIP/2.0\r\n"
		 "Via: SIP/2.0/UDP 127.0.0.1:5099;branch=z9hG4bK-%s\r\n"
		 "Max-Forwards: 70\r\n"
		 "From: <sip:alice@127.0.0.1:5061>;tag=%s\r\n"
		 "To: <sip:bob@127.0.0.1:5062>%s%s\r\n"
		 "Call-ID: %s\r\n"
		 "CSeq: %u %s\r\n"
		 "Contact: <sip:raw@127.0.0.1:5099>\r\n"
		 "%sContent-Length: 0\r\n\r\n",
		 method, branch, ftag, ttag ? ";tag=" : "", ttag ? ttag : "",
		 callid ? callid : branch, cseq, method, extra ? extra : "");
	return buf;
}

/* B's dialog identifiers, copied (the dialog may go). */
struct dlg_id {
	char cid[128], ltag[64], rtag[64];
};

static void
dlg_id_of(const struct ua_sess *s, struct dlg_id *id)
{
	const struct dlg *d = ua_sess_dlg(s);

	CU_ASSERT_PTR_NOT_NULL_FATAL(d);
	snprintf(id->cid, sizeof(id->cid), "%s", d->callid.p);
	snprintf(id->ltag, sizeof(id->ltag), "%s", d->ltag.p);
	snprintf(id->rtag, sizeof(id->rtag), "%s", d->rtag.p);
}

/* RFC 3262 §3 / §7.2: a PRACK whose RAck does not name the reliable 1xx
   outstanding (wrong RSeq, wrong CSeq number, wrong method) gets 481 and
   leaves the 1xx unacknowledged (still retransmitted, the 2xx still
   held); a malformed RAck 400; the right one 200, releasing the 2xx.
   Wrong tags (481) and a stale CSeq (500, RFC 3261 §12.2.2) in the same
   early dialog. No session, request or transaction is left behind. */
static void
test_bad_rack(void)
{
	const char *r180;
	char rack[64];
	struct dlg_id id;
	struct live before;
	unsigned rseq, n180;
	struct ua_stats st;

	fx_init("100rel", "100rel");
	fx_start();
	fx.b.rel_180 = true;
	fx.drop_prefix = "PRACK ";
	fx.drop_n = UINT_MAX; /* A's own PRACKs never arrive */
	CU_ASSERT_EQUAL_FATAL(call(NULL, 5062), 0);
	pump();
	r180 = wire_find(5062, "SIP/2.0 180", 0);
	CU_ASSERT_FATAL(has(r180, "RSeq: "));
	rseq = (unsigned)strtoul(strstr(r180, "RSeq: ") + 6, NULL, 10);
	/* B gives its 200: held until the PRACK. */
	CU_ASSERT_EQUAL(ua_sess_answer(fx.b.s, 200, NULL, NULL,
				       "application/sdp", sdp_b, strlen(sdp_b)),
			0);
	dlg_id_of(fx.b.s, &id);
	before = live_of(&fx.b);
	snprintf(rack, sizeof(rack), "RAck: %u 1 INVITE\r\n", rseq + 1);
	CU_ASSERT_EQUAL(raw_send(5062, raw_req(id.cid, "PRACK", 10, id.rtag,
					       id.ltag, "pr1", rack)),
			481);
	snprintf(rack, sizeof(rack), "RAck: %u 7 INVITE\r\n", rseq);
	CU_ASSERT_EQUAL(raw_send(5062, raw_req(id.cid, "PRACK", 11, id.rtag,
					       id.ltag, "pr2", rack)),
			481);
	snprintf(rack, sizeof(rack), "RAck: %u 1 UPDATE\r\n", rseq);
	CU_ASSERT_EQUAL(raw_send(5062, raw_req(id.cid, "PRACK", 12, id.rtag,
					       id.ltag, "pr3", rack)),
			481);
	CU_ASSERT_EQUAL(
		raw_send(5062, raw_req(id.cid, "PRACK", 13, id.rtag, id.ltag,
				       "pr4", "RAck: bogus\r\n")),
		400);
	/* Wrong tags in the early dialog, and a stale CSeq. */
	snprintf(rack, sizeof(rack), "RAck: %u 1 INVITE\r\n", rseq);
	CU_ASSERT_EQUAL(raw_send(5062, raw_req(id.cid, "PRACK", 14, "nosuch",
					       id.ltag, "pr5", rack)),
			481);
	CU_ASSERT_EQUAL(raw_send(5062, raw_req(id.cid, "PRACK", 15, id.rtag,
					       "nosuch", "pr6", rack)),
			481);
	CU_ASSERT_EQUAL(raw_send(5062, raw_req(id.cid, "INFO", 1, id.rtag,
					       id.ltag, "pr7", NULL)),
			500);
	CU_ASSERT_EQUAL(count_ev(&fx.b, UA_EV_PRACK), 0);
	CU_ASSERT_EQUAL(count_ev(&fx.b, UA_EV_REQUEST), 0);
	CU_ASSERT_EQUAL(ua_sess_state(fx.b.s), UA_S_EARLY);
	CU_ASSERT_EQUAL(count_ev(&fx.a, UA_EV_ANSWERED), 0); /* 2xx held */
	CU_ASSERT_EQUAL(live_of(&fx.b).sess_live, before.sess_live);
	CU_ASSERT_EQUAL(live_of(&fx.b).reqs_live, before.reqs_live);
	/* Still unacknowledged: retransmitted at T1. */
	n180 = wire_count(5062, "SIP/2.0 180");
	advance(150);
	CU_ASSERT(wire_count(5062, "SIP/2.0 180") > n180);
	/* The right PRACK: 200, the held 2xx goes out, A confirms. */
	CU_ASSERT_EQUAL(raw_send(5062, raw_req(id.cid, "PRACK", 16, id.rtag,
					       id.ltag, "pr8", rack)),
			200);
	CU_ASSERT_EQUAL(count_ev(&fx.b, UA_EV_PRACK), 1);
	pump();
	CU_ASSERT_EQUAL(count_ev(&fx.a, UA_EV_ANSWERED), 1);
	CU_ASSERT_EQUAL(ua_sess_state(fx.b.s), UA_S_CONFIRMED);
	ua_stats(fx.b.ua, &st);
	CU_ASSERT_EQUAL(st.prack_in, 1);
	/* B hangs up (A's own CSeq, 3, is below the ones used here). */
	ua_sess_end(fx.b.s, 0, NULL);
	pump();
	CU_ASSERT_EQUAL(count_ev(&fx.a, UA_EV_ENDED), 1);
	CU_ASSERT_EQUAL(last_status(&fx.b, UA_EV_ENDED), 200);
	fx_done(); /* every session, request, timer freed */
}

static const char *
repl_hdr(const struct dlg_id *id, bool swap, bool early_only)
{
	static char h[512];

	snprintf(h, sizeof(h), "Replaces: %s;to-tag=%s;from-tag=%s%s\r\n",
		 id->cid, swap ? id->rtag : id->ltag,
		 swap ? id->ltag : id->rtag, early_only ? ";early-only" : "");
	return h;
}

/* An INVITE outside any dialog carrying Replaces; its status. */
static unsigned
repl_invite(const char *branch, const char *hdr)
{
	return raw_send(5062,
			raw_req(NULL, "INVITE", 1, branch, NULL, branch, hdr));
}

/* RFC 3891 §3 at B, the UAS of a call from A: a Replaces that names no
   dialog of ours gets 481, as does one naming our early UAS dialog ("not
   initiated by this UA"), one with the tags the wrong way round, and one
   after the dialog is gone; early-only on a confirmed dialog gets 486; a
   terminating dialog 603; Replaces in any other request, or malformed,
   400. None of them creates a session or leaves a transaction. One that
   names the confirmed dialog reaches the app, which finds the replaced
   session with ua_sess_replaces(). */
static void
test_replaces(void)
{
	struct dlg_id id, nosuch;
	struct live before;

	fx_init(NULL, NULL);
	fx_start();
	fx.b.plain_180 = true;
	CU_ASSERT_EQUAL_FATAL(call(NULL, 5062), 0);
	pump();
	dlg_id_of(fx.b.s, &id);
	nosuch = id;
	snprintf(nosuch.cid, sizeof(nosuch.cid), "nosuch@127.0.0.1");
	before = live_of(&fx.b);
	CU_ASSERT_EQUAL(repl_invite("rp1", repl_hdr(&nosuch, false, false)),
			481);
	check_no_leak(&fx.b, &before);
	CU_ASSERT_EQUAL(repl_invite("rp2", repl_hdr(&id, false, false)), 481);
	check_no_leak(&fx.b, &before);
	CU_ASSERT_EQUAL(fx.b.repl_n, 0);
	/* Confirm the dialog. */
	CU_ASSERT_EQUAL(ua_sess_answer(fx.b.s, 200, NULL, NULL,
				       "application/sdp", sdp_b, strlen(sdp_b)),
			0);
	pump();
	CU_ASSERT_EQUAL_FATAL(ua_sess_state(fx.b.s), UA_S_CONFIRMED);
	advance(64 * 100 + 600);
	before = live_of(&fx.b);
	CU_ASSERT_EQUAL(repl_invite("rp3", repl_hdr(&id, true, false)), 481);
	check_no_leak(&fx.b, &before);
	CU_ASSERT_EQUAL(repl_invite("rp4", repl_hdr(&id, false, true)), 486);
	check_no_leak(&fx.b, &before);
	CU_ASSERT_EQUAL(
		raw_send(5062, raw_req(id.cid, "INFO", 5, id.rtag, id.ltag,
				       "rp5", repl_hdr(&id, false, false))),
		400);
	CU_ASSERT_EQUAL(
		raw_send(5062, raw_req(NULL, "OPTIONS", 1, "rp6", NULL, "rp6",
				       repl_hdr(&id, false, false))),
		400);
	CU_ASSERT_EQUAL(repl_invite("rp7", "Replaces: a@b;to-tag=1\r\n"), 400);
	check_no_leak(&fx.b, &before);
	CU_ASSERT_EQUAL(count_ev(&fx.b, UA_EV_REQUEST), 0);
	CU_ASSERT_EQUAL(fx.b.repl_n, 0);
	/* Named right: the app gets the INVITE and the session it names
	   (and here refuses it: 486, the old call goes on). */
	CU_ASSERT_EQUAL(repl_invite("rp8", repl_hdr(&id, false, false)), 486);
	CU_ASSERT_EQUAL(fx.b.repl_n, 1);
	CU_ASSERT_PTR_EQUAL(fx.b.repl_seen, fx.b.s);
	check_no_leak(&fx.b, &before);
	CU_ASSERT_EQUAL(ua_sess_state(fx.b.s), UA_S_CONFIRMED);
	/* B hangs up; its BYE gets lost: the dialog is terminating. */
	fx.drop_prefix = "BYE ";
	fx.drop_n = UINT_MAX;
	CU_ASSERT_EQUAL(ua_sess_end(fx.b.s, 0, NULL), 0);
	pump();
	CU_ASSERT_EQUAL(ua_sess_state(fx.b.s), UA_S_TERMINATING);
	CU_ASSERT_EQUAL(repl_invite("rp9", repl_hdr(&id, false, false)), 603);
	/* The BYE times out: the dialog is gone, so is the match. */
	advance(64 * 100 + 600);
	CU_ASSERT_EQUAL(ua_sess_state(fx.b.s), UA_S_ENDED);
	CU_ASSERT_EQUAL(repl_invite("rpa", repl_hdr(&id, false, false)), 481);
	CU_ASSERT_EQUAL(fx.b.repl_n, 1);
	fx.drop_n = 0;
	ua_sess_end(fx.a.s, 0, NULL);
	fx_done();
}

void test_ua_ext_register(void);

void
test_ua_ext_register(void)
{
	CU_pSuite s = tu_suite("ua_ext");

	TU_ADD(s, test_rel_180_prack);
	TU_ADD(s, test_rel_required_automatic);
	TU_ADD(s, test_rel_not_possible);
	TU_ADD(s, test_rel_lost_prack_holds_2xx);
	TU_ADD(s, test_rel_no_prack_5xx);
	TU_ADD(s, test_rel_two_in_order);
	TU_ADD(s, test_rel_forked);
	TU_ADD(s, test_update_early);
	TU_ADD(s, test_st_negotiation);
	TU_ADD(s, test_st_422_retry);
	TU_ADD(s, test_st_refresh_half);
	TU_ADD(s, test_st_refresh_answered_locally);
	TU_ADD(s, test_st_rejected_offer_not_a_refresh);
	TU_ADD(s, test_st_expiry_bye);
	TU_ADD(s, test_st_update_refused_reinvite);
	TU_ADD(s, test_st_refresh_422);
	TU_ADD(s, test_st_uas_refresher);
	TU_ADD(s, test_st_off_by_default);
	TU_ADD(s, test_bad_rack);
	TU_ADD(s, test_replaces);
}
