/* Unit tests: SIP transactions (stack/txn*.c), RFC 3261 §17 + RFC 6026,
   driven by a fake clock and a recording transport. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "stack/mem.h"
#include "stack/sip_msg.h"
#include "stack/tmr.h"
#include "stack/txn.h"
#include "testutil.h"

#define MAXREC 64

/* One fixture per test (tests are void(void), so it is file-static). */
static struct fx {
	uint64_t now;
	struct tmr_ctx *tmr;
	struct txn_ctx *ctx;
	int send_err; /* sends fail with this while set */
	unsigned nsent;
	uint64_t sent_at[MAXREC];
	char last[4096];
	size_t last_len;
	unsigned ncev;
	struct txn_cevent cev[MAXREC];
	unsigned nsev;
	enum txn_sev sev[MAXREC];
	struct txn_dest udp, tcp;
	struct sip_msg m; /* the message under test */
	char buf[4096];
} fx;

static uint64_t
fx_clock(void *arg)
{
	(void)arg;
	return fx.now;
}

static int
fx_send(const struct txn_dest *dst, const char *buf, size_t len, void *arg)
{
	(void)dst;
	(void)arg;
	if (fx.send_err)
		return fx.send_err;
	if (fx.nsent < MAXREC)
		fx.sent_at[fx.nsent] = fx.now;
	fx.nsent++;
	if (len < sizeof(fx.last)) {
		memcpy(fx.last, buf, len);
		fx.last_len = len;
	}
	return 0;
}

static void
fx_resp(struct txn *txn, const struct txn_cevent *ev, void *arg)
{
	(void)txn;
	(void)arg;
	if (fx.ncev < MAXREC) {
		fx.cev[fx.ncev] = *ev;
		fx.cev[fx.ncev].msg = NULL; /* borrowed: gone after the call */
	}
	fx.ncev++;
}

static void
fx_req(struct txn *txn, enum txn_sev ev, int err, const struct sip_msg *msg,
       void *arg)
{
	(void)txn;
	(void)err;
	(void)msg;
	(void)arg;
	if (fx.nsev < MAXREC)
		fx.sev[fx.nsev] = ev;
	fx.nsev++;
}

static void
fx_init_cfg(const struct txn_cfg *cfg)
{
	memset(&fx, 0, sizeof(fx));
	fx.now = 100000;
	fx.tcp.reliable = true;
	CU_ASSERT_EQUAL_FATAL(tmr_ctx_alloc(&fx.tmr, fx_clock, NULL), 0);
	CU_ASSERT_EQUAL_FATAL(
		txn_ctx_alloc(&fx.ctx, cfg, fx_send, NULL, fx.tmr), 0);
}

static void
fx_init(void)
{
	fx_init_cfg(NULL);
}

/* Advance the fake clock by ms, firing timers at their due times. */
static void
advance(uint64_t ms)
{
	uint64_t target = fx.now + ms;

	for (int guard = 0; guard < 10000; guard++) {
		int64_t r = tmr_poll(fx.tmr);

		if (r < 0 || fx.now + (uint64_t)r > target)
			break;
		fx.now += (uint64_t)r;
	}
	fx.now = target;
	tmr_poll(fx.tmr);
}

static uint64_t
live(void)
{
	struct txn_stats st;

	txn_ctx_stats(fx.ctx, &st);
	return st.live;
}

/* End of a scenario: everything released, nothing leaked. */
static void
fx_done(void)
{
	struct txn_stats st;

	tmr_poll(fx.tmr); /* pending releases */
	txn_ctx_stats(fx.ctx, &st);
	CU_ASSERT_EQUAL(st.live, 0);
	CU_ASSERT_EQUAL(st.active, 0);
	CU_ASSERT_EQUAL(st.created, st.destroyed);
	fx.ctx = mem_deref(fx.ctx);
	CU_ASSERT_EQUAL(tmr_count(fx.tmr), 0);
	fx.tmr = mem_deref(fx.tmr);
}

/* A request; branch "" leaves the branch parameter out. */
static const char *
mkreq(const char *method, const char *branch, const char *host, unsigned cseq,
      const char *totag)
{
	snprintf(fx.buf, sizeof(fx.buf),
		 "%s sip:bob@b.example SIP/2.0\r\n"
		 "Via: SIP/2.0/UDP %s%s%s\r\n"
		 "Route: <sip:p1.example;lr>\r\n"
		 "Route: <sip:p2.example;lr>\r\n"
		 "Max-Forwards: 70\r\n"
		 "From: Alice <sip:alice@a.example>;tag=ft1\r\n"
		 "To: <sip:bob@b.example>%s%s\r\n"
		 "Call-ID: cid-1@a.example\r\n"
		 "CSeq: %u %s\r\n"
		 "Content-Length: 0\r\n\r\n",
		 method, host, *branch ? ";branch=" : "", branch,
		 totag ? ";tag=" : "", totag ? totag : "", cseq, method);
	return fx.buf;
}

static const char *
mkresp(unsigned status, const char *branch, const char *method,
       const char *totag)
{
	snprintf(fx.buf, sizeof(fx.buf),
		 "SIP/2.0 %u Whatever\r\n"
		 "Via: SIP/2.0/UDP a.example:5060%s%s\r\n"
		 "From: Alice <sip:alice@a.example>;tag=ft1\r\n"
		 "To: <sip:bob@b.example>%s%s\r\n"
		 "Call-ID: cid-1@a.example\r\n"
		 "CSeq: 1 %s\r\n"
		 "Content-Length: 0\r\n\r\n",
		 status, *branch ? ";branch=" : "", branch,
		 totag ? ";tag=" : "", totag ? totag : "", method);
	return fx.buf;
}

static struct sip_msg *
parse(const char *s)
{
	struct sip_limits lim;
	struct sip_perr err;

	sip_limits_default(&lim);
	CU_ASSERT_EQUAL_FATAL(sip_msg_parse(&fx.m, s, strlen(s),
					    SIP_FRAMING_DGRAM, &lim, &err),
			      0);
	return &fx.m;
}

static int
recv_str(const char *s)
{
	return txn_recv(fx.ctx, parse(s), &fx.udp);
}

static struct txn *
client(const char *method, const char *branch, bool reliable)
{
	struct txn *txn = NULL;
	const char *r = mkreq(method, branch, "a.example:5060", 1, NULL);

	CU_ASSERT_EQUAL_FATAL(txn_client_start(&txn, fx.ctx, r, strlen(r),
					       reliable ? &fx.tcp : &fx.udp,
					       fx_resp, NULL),
			      0);
	return txn;
}

static struct txn *
server(const char *method, const char *branch, bool reliable)
{
	struct txn *txn = NULL;

	parse(mkreq(method, branch, "a.example:5060", 1, NULL));
	CU_ASSERT_EQUAL(txn_recv(fx.ctx, &fx.m, &fx.udp), ENOENT);
	CU_ASSERT_EQUAL_FATAL(txn_server_create(&txn, fx.ctx, &fx.m,
						reliable ? &fx.tcp : &fx.udp,
						fx_req, NULL),
			      0);
	return txn;
}

static int
reply(struct txn *txn, unsigned status, const char *method)
{
	const char *r = mkresp(status, txn_branch(txn), method,
			       status > 100 ? "tt9" : NULL);

	return txn_server_reply(txn, r, strlen(r), (uint16_t)status);
}

#define ASSERT_STATE(txn, s) CU_ASSERT_STRING_EQUAL(txn_state_str(txn), s)

/* The metrics view (txn_ctx_counters) agrees with txn_ctx_stats and
   holds these values. */
static void
assert_counters(uint64_t active, uint64_t created, uint64_t retx_out,
		uint64_t retx_in)
{
	struct txn_counters c;
	struct txn_stats st;

	txn_ctx_counters(fx.ctx, &c);
	txn_ctx_stats(fx.ctx, &st);
	CU_ASSERT_EQUAL(c.active, active);
	CU_ASSERT_EQUAL(c.created, created);
	CU_ASSERT_EQUAL(c.retransmits, retx_out);
	CU_ASSERT_EQUAL(c.retrans_in, retx_in);
	CU_ASSERT_EQUAL(st.active, c.active);
	CU_ASSERT_EQUAL(st.created, c.created);
	CU_ASSERT_EQUAL(st.retransmits, c.retransmits);
	CU_ASSERT_EQUAL(st.retrans_in, c.retrans_in);
}

/* ------------------------------------------------------------------ */
/* INVITE client                                                        */

static void
test_ict_timer_a_b(void)
{
	static const uint64_t at[] = {0, 500, 1500, 3500, 7500, 15500, 31500};
	struct txn *txn;

	fx_init();
	txn = client("INVITE", "z9hG4bKa1", false);
	ASSERT_STATE(txn, "Calling");
	advance(31999);
	CU_ASSERT_EQUAL(fx.nsent, 7); /* Timer A doubles: no T2 cap */
	for (unsigned i = 0; i < 7; i++)
		CU_ASSERT_EQUAL(fx.sent_at[i] - 100000, at[i]);
	CU_ASSERT_EQUAL(fx.ncev, 0);
	advance(1); /* Timer B = 64*T1 */
	CU_ASSERT_EQUAL(fx.ncev, 1);
	CU_ASSERT_EQUAL(fx.cev[0].ev, TXN_CEV_TIMEOUT);
	CU_ASSERT_EQUAL(fx.cev[0].status, 408);
	CU_ASSERT(txn_terminated(txn));
	CU_ASSERT_EQUAL(live(), 1); /* the TU's reference */
	mem_deref(txn);
	fx_done();
}

static void
test_ict_reliable(void)
{
	struct txn *txn;

	fx_init();
	txn = client("INVITE", "z9hG4bKa2", true);
	advance(31999);
	CU_ASSERT_EQUAL(fx.nsent, 1); /* no Timer A on reliable */
	advance(1);
	CU_ASSERT_EQUAL(fx.ncev, 1);
	CU_ASSERT_EQUAL(fx.cev[0].ev, TXN_CEV_TIMEOUT);
	mem_deref(txn);
	fx_done();
}

static void
test_ict_accepted(void)
{
	struct txn *txn;

	fx_init();
	txn = client("INVITE", "z9hG4bKa3", false);
	CU_ASSERT_EQUAL(recv_str(mkresp(180, "z9hG4bKa3", "INVITE", "t1")), 0);
	ASSERT_STATE(txn, "Proceeding");
	CU_ASSERT_EQUAL(fx.ncev, 1);
	CU_ASSERT_EQUAL(fx.cev[0].status, 180);
	advance(40000);
	CU_ASSERT_EQUAL(fx.nsent, 1); /* no retransmission in Proceeding */
	CU_ASSERT_EQUAL(recv_str(mkresp(200, "z9hG4bKa3", "INVITE", "t1")), 0);
	ASSERT_STATE(txn, "Accepted");
	CU_ASSERT_EQUAL(recv_str(mkresp(200, "z9hG4bKa3", "INVITE", "t1")), 0);
	CU_ASSERT_EQUAL(fx.ncev, 3); /* RFC 6026: 2xx retransmission too */
	CU_ASSERT_EQUAL(fx.cev[2].ev, TXN_CEV_RESPONSE);
	CU_ASSERT_EQUAL(fx.cev[2].status, 200);
	CU_ASSERT_EQUAL(fx.nsent, 1); /* no ACK for 2xx from the layer */
	/* late 1xx / non-2xx in Accepted: ignored */
	CU_ASSERT_EQUAL(recv_str(mkresp(183, "z9hG4bKa3", "INVITE", "t1")), 0);
	CU_ASSERT_EQUAL(fx.ncev, 3);
	advance(31999);
	ASSERT_STATE(txn, "Accepted");
	advance(1); /* Timer M */
	ASSERT_STATE(txn, "Terminated");
	CU_ASSERT_EQUAL(fx.ncev, 3);
	tmr_poll(fx.tmr);
	CU_ASSERT_EQUAL(recv_str(mkresp(200, "z9hG4bKa3", "INVITE", "t1")),
			ENOENT);
	mem_deref(txn);
	fx_done();
}

static void
check_ack(void)
{
	struct sip_msg *a = parse(fx.last);
	const struct sip_hdr *h;
	unsigned nroute = 0;

	CU_ASSERT(a->req);
	CU_ASSERT_EQUAL(a->mid, SIP_M_ACK);
	CU_ASSERT(pl_eq_str(&a->ruri_raw, "sip:bob@b.example"));
	CU_ASSERT(pl_eq_str(&a->callid, "cid-1@a.example"));
	CU_ASSERT(pl_eq_str(&a->from.tag, "ft1"));
	CU_ASSERT(pl_eq_str(&a->to.tag, "t486"));
	CU_ASSERT_EQUAL(a->cseq.num, 1);
	CU_ASSERT_EQUAL(a->cseq.mid, SIP_M_ACK);
	CU_ASSERT_EQUAL(a->count[SIP_HDR_VIA], 1);
	CU_ASSERT(pl_eq_str(&a->via.branch, "z9hG4bKa4"));
	for (h = sip_msg_hdr(a, SIP_HDR_ROUTE); h; h = sip_msg_hdr_next(a, h))
		nroute++;
	CU_ASSERT_EQUAL(nroute, 2);
	h = sip_msg_hdr(a, SIP_HDR_ROUTE);
	CU_ASSERT_PTR_NOT_NULL_FATAL(h);
	CU_ASSERT(pl_eq_str(&h->val, "<sip:p1.example;lr>"));
}

static void
test_ict_completed(void)
{
	struct txn *txn;

	fx_init();
	txn = client("INVITE", "z9hG4bKa4", false);
	advance(500); /* one Timer A retransmission */
	CU_ASSERT_EQUAL(recv_str(mkresp(486, "z9hG4bKa4", "INVITE", "t486")),
			0);
	ASSERT_STATE(txn, "Completed");
	CU_ASSERT_EQUAL(fx.nsent, 3);
	CU_ASSERT_EQUAL(fx.ncev, 1);
	CU_ASSERT_EQUAL(fx.cev[0].status, 486);
	check_ack();
	assert_counters(1, 1, 1, 0); /* Timer A once; the first ACK is not */
	/* retransmitted final: ACK again, the TU is not told again */
	CU_ASSERT_EQUAL(recv_str(mkresp(486, "z9hG4bKa4", "INVITE", "t486")),
			0);
	CU_ASSERT_EQUAL(fx.nsent, 4);
	CU_ASSERT_EQUAL(fx.ncev, 1);
	check_ack();
	assert_counters(1, 1, 2, 1);
	advance(31999);
	ASSERT_STATE(txn, "Completed");
	CU_ASSERT_EQUAL(fx.nsent, 4); /* Timer A stopped */
	advance(1);		      /* Timer D = 32 s */
	ASSERT_STATE(txn, "Terminated");
	assert_counters(0, 1, 2, 1);
	mem_deref(txn);
	fx_done();
}

static void
test_ict_completed_reliable(void)
{
	struct txn *txn;

	fx_init();
	txn = client("INVITE", "z9hG4bKa5", true);
	CU_ASSERT_EQUAL(recv_str(mkresp(503, "z9hG4bKa5", "INVITE", "t")), 0);
	ASSERT_STATE(txn, "Completed");
	CU_ASSERT_EQUAL(fx.nsent, 2);
	advance(0); /* Timer D = 0 */
	ASSERT_STATE(txn, "Terminated");
	mem_deref(txn);
	fx_done();
}

static void
test_ict_prov_timeout(void)
{
	struct txn_cfg cfg;
	struct txn *txn;

	txn_cfg_default(&cfg);
	cfg.timer_c = 10000;
	fx_init_cfg(&cfg);
	txn = client("INVITE", "z9hG4bKa6", false);
	recv_str(mkresp(180, "z9hG4bKa6", "INVITE", "t1"));
	advance(9000);
	recv_str(mkresp(183, "z9hG4bKa6", "INVITE", "t1")); /* restarts */
	advance(9999);
	CU_ASSERT_EQUAL(fx.ncev, 2);
	advance(1);
	CU_ASSERT_EQUAL(fx.ncev, 3);
	CU_ASSERT_EQUAL(fx.cev[2].ev, TXN_CEV_PROV_TIMEOUT);
	ASSERT_STATE(txn, "Proceeding");
	/* the TU CANCELs; no final within 64*T1: §9.1 timeout */
	CU_ASSERT_EQUAL(txn_client_cancelled(txn), 0);
	advance(31999);
	CU_ASSERT_EQUAL(fx.ncev, 3);
	advance(1);
	CU_ASSERT_EQUAL(fx.ncev, 4);
	CU_ASSERT_EQUAL(fx.cev[3].ev, TXN_CEV_TIMEOUT);
	ASSERT_STATE(txn, "Terminated");
	CU_ASSERT_EQUAL(txn_client_cancelled(txn), EINVAL);
	mem_deref(txn);
	fx_done();
}

static void
test_ict_tperr(void)
{
	struct txn *txn = NULL;
	const char *r;

	fx_init();
	/* initial send fails: no transaction, the error is returned */
	fx.send_err = ENETUNREACH;
	r = mkreq("INVITE", "z9hG4bKa7", "a.example", 1, NULL);
	CU_ASSERT_EQUAL(txn_client_start(&txn, fx.ctx, r, strlen(r), &fx.udp,
					 fx_resp, NULL),
			ENETUNREACH);
	CU_ASSERT_PTR_NULL(txn);
	CU_ASSERT_EQUAL(live(), 0);
	fx.send_err = 0;
	/* a Timer A retransmission fails: §17.1.4, 503 to the TU */
	txn = client("INVITE", "z9hG4bKa7", false);
	fx.send_err = ECONNREFUSED;
	advance(500);
	CU_ASSERT_EQUAL(fx.ncev, 1);
	CU_ASSERT_EQUAL(fx.cev[0].ev, TXN_CEV_TRANSPORT);
	CU_ASSERT_EQUAL(fx.cev[0].status, 503);
	CU_ASSERT_EQUAL(fx.cev[0].err, ECONNREFUSED);
	CU_ASSERT(txn_terminated(txn));
	mem_deref(txn);
	fx_done();
}

/* ------------------------------------------------------------------ */
/* Non-INVITE client                                                    */

static void
test_nict_timer_e_f(void)
{
	static const uint64_t at[] = {0,     500,   1500,  3500,  7500, 11500,
				      15500, 19500, 23500, 27500, 31500};
	struct txn *txn;

	fx_init();
	txn = client("OPTIONS", "z9hG4bKn1", false);
	ASSERT_STATE(txn, "Trying");
	advance(31999);
	CU_ASSERT_EQUAL(fx.nsent, 11); /* Timer E capped at T2 */
	for (unsigned i = 0; i < 11; i++)
		CU_ASSERT_EQUAL(fx.sent_at[i] - 100000, at[i]);
	advance(1); /* Timer F: a local 408 only (RFC 4320) */
	CU_ASSERT_EQUAL(fx.ncev, 1);
	CU_ASSERT_EQUAL(fx.cev[0].ev, TXN_CEV_TIMEOUT);
	CU_ASSERT_EQUAL(fx.cev[0].status, 408);
	CU_ASSERT_EQUAL(fx.nsent, 11);
	mem_deref(txn);
	fx_done();
}

static void
test_nict_proceeding(void)
{
	struct txn *txn;

	fx_init();
	txn = client("BYE", "z9hG4bKn2", false);
	advance(600); /* retransmitted at 500, next E in 1000 */
	CU_ASSERT_EQUAL(recv_str(mkresp(100, "z9hG4bKn2", "BYE", NULL)), 0);
	ASSERT_STATE(txn, "Proceeding");
	advance(900); /* E at 1500, then every T2 */
	CU_ASSERT_EQUAL(fx.nsent, 3);
	advance(3999);
	CU_ASSERT_EQUAL(fx.nsent, 3);
	advance(1);
	CU_ASSERT_EQUAL(fx.nsent, 4);
	CU_ASSERT_EQUAL(fx.sent_at[3] - fx.sent_at[2], 4000);
	CU_ASSERT_EQUAL(recv_str(mkresp(200, "z9hG4bKn2", "BYE", "t")), 0);
	ASSERT_STATE(txn, "Completed");
	CU_ASSERT_EQUAL(fx.ncev, 2);
	CU_ASSERT_EQUAL(fx.cev[1].status, 200);
	/* Completed absorbs retransmissions; no more requests */
	CU_ASSERT_EQUAL(recv_str(mkresp(200, "z9hG4bKn2", "BYE", "t")), 0);
	CU_ASSERT_EQUAL(fx.ncev, 2);
	advance(4999);
	CU_ASSERT_EQUAL(fx.nsent, 4);
	ASSERT_STATE(txn, "Completed");
	advance(1); /* Timer K = T4 */
	ASSERT_STATE(txn, "Terminated");
	mem_deref(txn);
	fx_done();
}

static void
test_nict_reliable(void)
{
	struct txn *txn;

	fx_init();
	txn = client("OPTIONS", "z9hG4bKn3", true);
	advance(10000);
	CU_ASSERT_EQUAL(fx.nsent, 1);
	recv_str(mkresp(404, "z9hG4bKn3", "OPTIONS", "t"));
	ASSERT_STATE(txn, "Completed");
	advance(0); /* Timer K = 0 */
	ASSERT_STATE(txn, "Terminated");
	mem_deref(txn);
	fx_done();
}

static void
test_nict_tperr(void)
{
	struct txn *txn;

	fx_init();
	txn = client("OPTIONS", "z9hG4bKn4", false);
	fx.send_err = EPIPE;
	advance(500);
	CU_ASSERT_EQUAL(fx.ncev, 1);
	CU_ASSERT_EQUAL(fx.cev[0].ev, TXN_CEV_TRANSPORT);
	CU_ASSERT_EQUAL(fx.cev[0].status, 503);
	mem_deref(txn);
	fx_done();
}

/* ------------------------------------------------------------------ */
/* INVITE server                                                        */

static uint16_t
last_status(void)
{
	return parse(fx.last)->status;
}

static void
test_ist_trying_and_h(void)
{
	struct txn *txn;

	fx_init();
	txn = server("INVITE", "z9hG4bKs1", false);
	ASSERT_STATE(txn, "Proceeding");
	CU_ASSERT_EQUAL(fx.nsent, 0);
	advance(0); /* trying_ms 0: end of the loop turn */
	CU_ASSERT_EQUAL(fx.nsent, 1);
	CU_ASSERT_EQUAL(last_status(), 100);
	CU_ASSERT_PTR_NULL(fx.m.to.tag.p); /* §8.2.6.2: no tag on a 100 */
	CU_ASSERT_EQUAL(recv_str(mkreq("INVITE", "z9hG4bKs1", "a.example:5060",
				       1, NULL)),
			0);
	CU_ASSERT_EQUAL(fx.nsent, 2); /* the 100 again */
	CU_ASSERT_EQUAL(reply(txn, 180, "INVITE"), 0);
	CU_ASSERT_EQUAL(recv_str(mkreq("INVITE", "z9hG4bKs1", "a.example:5060",
				       1, NULL)),
			0);
	CU_ASSERT_EQUAL(fx.nsent, 4);
	CU_ASSERT_EQUAL(last_status(), 180); /* the last provisional */
	CU_ASSERT_EQUAL(reply(txn, 486, "INVITE"), 0);
	ASSERT_STATE(txn, "Completed");
	CU_ASSERT_EQUAL(fx.nsent, 5);
	/* Timer G: 500, 1000, 2000, 4000, 4000... (capped at T2) */
	advance(500);
	CU_ASSERT_EQUAL(fx.nsent, 6);
	advance(1000);
	CU_ASSERT_EQUAL(fx.nsent, 7);
	advance(2000);
	CU_ASSERT_EQUAL(fx.nsent, 8);
	advance(4000);
	CU_ASSERT_EQUAL(fx.nsent, 9);
	advance(4000);
	CU_ASSERT_EQUAL(fx.nsent, 10);
	CU_ASSERT_EQUAL(last_status(), 486);
	/* a retransmitted INVITE gets the final again */
	recv_str(mkreq("INVITE", "z9hG4bKs1", "a.example:5060", 1, NULL));
	CU_ASSERT_EQUAL(fx.nsent, 11);
	advance(20499); /* 32 s - 1 ms after the 486 */
	CU_ASSERT_EQUAL(fx.nsent, 16);
	CU_ASSERT_EQUAL(fx.nsev, 0);
	advance(1); /* Timer H: no ACK */
	CU_ASSERT_EQUAL(fx.nsev, 1);
	CU_ASSERT_EQUAL(fx.sev[0], TXN_SEV_TIMEOUT);
	ASSERT_STATE(txn, "Terminated");
	CU_ASSERT_EQUAL(reply(txn, 500, "INVITE"), ESHUTDOWN);
	mem_deref(txn);
	fx_done();
}

static void
test_ist_confirmed(void)
{
	struct txn *txn;

	fx_init();
	txn = server("INVITE", "z9hG4bKs2", false);
	CU_ASSERT_EQUAL(reply(txn, 603, "INVITE"), 0);
	CU_ASSERT_EQUAL(fx.nsent, 1); /* answered at once: no 100 */
	advance(500);
	CU_ASSERT_EQUAL(fx.nsent, 2);
	/* ACK for the 3xx-6xx: absorbed, not given to the TU */
	CU_ASSERT_EQUAL(
		recv_str(mkreq("ACK", "z9hG4bKs2", "a.example:5060", 1, "tt9")),
		0);
	ASSERT_STATE(txn, "Confirmed");
	CU_ASSERT_EQUAL(fx.nsev, 0);
	assert_counters(1, 1, 1, 0); /* Timer G; that ACK is no repeat */
	CU_ASSERT_EQUAL(
		recv_str(mkreq("ACK", "z9hG4bKs2", "a.example:5060", 1, "tt9")),
		0);
	CU_ASSERT_EQUAL(recv_str(mkreq("INVITE", "z9hG4bKs2", "a.example:5060",
				       1, NULL)),
			0);
	assert_counters(1, 1, 1, 2); /* the ACK and the INVITE again */
	advance(4999);
	CU_ASSERT_EQUAL(fx.nsent, 2); /* G stopped, all absorbed */
	ASSERT_STATE(txn, "Confirmed");
	advance(1); /* Timer I = T4 */
	ASSERT_STATE(txn, "Terminated");
	mem_deref(txn);
	fx_done();
}

static void
test_ist_confirmed_reliable(void)
{
	struct txn *txn;

	fx_init();
	txn = server("INVITE", "z9hG4bKs3", true);
	CU_ASSERT_EQUAL(reply(txn, 404, "INVITE"), 0);
	advance(10000);
	CU_ASSERT_EQUAL(fx.nsent, 1); /* no Timer G on reliable */
	recv_str(mkreq("ACK", "z9hG4bKs3", "a.example:5060", 1, "tt9"));
	ASSERT_STATE(txn, "Confirmed");
	advance(0); /* Timer I = 0 */
	ASSERT_STATE(txn, "Terminated");
	mem_deref(txn);
	fx_done();
}

static void
test_ist_accepted(void)
{
	struct txn *txn;

	fx_init();
	txn = server("INVITE", "z9hG4bKs4", false);
	CU_ASSERT_EQUAL(reply(txn, 200, "INVITE"), 0);
	ASSERT_STATE(txn, "Accepted");
	CU_ASSERT_EQUAL(recv_str(mkreq("INVITE", "z9hG4bKs4", "a.example:5060",
				       1, NULL)),
			0);
	CU_ASSERT_EQUAL(fx.nsent, 1); /* absorbed */
	advance(2000);
	CU_ASSERT_EQUAL(fx.nsent, 1); /* the TU retransmits 2xx, not us */
	CU_ASSERT_EQUAL(reply(txn, 200, "INVITE"), 0);
	CU_ASSERT_EQUAL(fx.nsent, 2);
	/* the ACK for a 2xx (new branch) is not ours: the dialog's */
	CU_ASSERT_EQUAL(recv_str(mkreq("ACK", "z9hG4bKs4x", "a.example:5060", 1,
				       "tt9")),
			ENOENT);
	/* one that does match goes to the TU (RFC 6026) */
	CU_ASSERT_EQUAL(
		recv_str(mkreq("ACK", "z9hG4bKs4", "a.example:5060", 1, "tt9")),
		0);
	CU_ASSERT_EQUAL(fx.nsev, 1);
	CU_ASSERT_EQUAL(fx.sev[0], TXN_SEV_ACK);
	CU_ASSERT_EQUAL(reply(txn, 486, "INVITE"), EPROTO);
	advance(29999);
	ASSERT_STATE(txn, "Accepted");
	advance(1); /* Timer L = 64*T1 */
	ASSERT_STATE(txn, "Terminated");
	mem_deref(txn);
	fx_done();
}

static void
test_ist_trying_delay(void)
{
	struct txn_cfg cfg;
	struct txn *txn;

	txn_cfg_default(&cfg);
	cfg.trying_ms = 200;
	fx_init_cfg(&cfg);
	txn = server("INVITE", "z9hG4bKs5", false);
	advance(199);
	CU_ASSERT_EQUAL(fx.nsent, 0);
	advance(1);
	CU_ASSERT_EQUAL(fx.nsent, 1);
	CU_ASSERT_EQUAL(last_status(), 100);
	CU_ASSERT_EQUAL(reply(txn, 180, "INVITE"), 0);
	CU_ASSERT_EQUAL(reply(txn, 200, "INVITE"), 0);
	mem_deref(txn);
	/* a retransmission before the delay: 100 at once, then no more */
	txn = server("INVITE", "z9hG4bKs6", false);
	advance(100);
	recv_str(mkreq("INVITE", "z9hG4bKs6", "a.example:5060", 1, NULL));
	CU_ASSERT_EQUAL(fx.nsent, 4);
	CU_ASSERT_EQUAL(last_status(), 100);
	advance(200);
	CU_ASSERT_EQUAL(fx.nsent, 4);
	CU_ASSERT_EQUAL(reply(txn, 486, "INVITE"), 0);
	mem_deref(txn);
	advance(64000);
	fx_done();
}

static void
test_ist_tperr(void)
{
	struct txn *txn;

	fx_init();
	txn = server("INVITE", "z9hG4bKs7", false);
	CU_ASSERT_EQUAL(reply(txn, 486, "INVITE"), 0);
	fx.send_err = EHOSTUNREACH;
	advance(500); /* Timer G send fails: event, terminated */
	CU_ASSERT_EQUAL(fx.nsev, 1);
	CU_ASSERT_EQUAL(fx.sev[0], TXN_SEV_TRANSPORT);
	ASSERT_STATE(txn, "Terminated");
	mem_deref(txn);
	fx.send_err = 0;
	/* the TU's own send fails: returned, no event (§17.2.4) */
	txn = server("INVITE", "z9hG4bKs8", false);
	fx.send_err = EHOSTUNREACH;
	CU_ASSERT_EQUAL(reply(txn, 180, "INVITE"), EHOSTUNREACH);
	CU_ASSERT_EQUAL(fx.nsev, 1);
	ASSERT_STATE(txn, "Terminated");
	mem_deref(txn);
	fx_done();
}

/* ------------------------------------------------------------------ */
/* Non-INVITE server                                                    */

static void
test_nist(void)
{
	struct txn *txn;

	fx_init();
	txn = server("OPTIONS", "z9hG4bKt1", false);
	ASSERT_STATE(txn, "Trying");
	CU_ASSERT_EQUAL(recv_str(mkreq("OPTIONS", "z9hG4bKt1", "a.example:5060",
				       1, NULL)),
			0);
	CU_ASSERT_EQUAL(fx.nsent, 0); /* Trying discards */
	/* RFC 4320 §4.1/§4.2: only 100 as provisional, never 408 */
	CU_ASSERT_EQUAL(reply(txn, 180, "OPTIONS"), EINVAL);
	CU_ASSERT_EQUAL(reply(txn, 408, "OPTIONS"), EINVAL);
	CU_ASSERT_EQUAL(reply(txn, 100, "OPTIONS"), 0);
	ASSERT_STATE(txn, "Proceeding");
	recv_str(mkreq("OPTIONS", "z9hG4bKt1", "a.example:5060", 1, NULL));
	CU_ASSERT_EQUAL(fx.nsent, 2);
	CU_ASSERT_EQUAL(last_status(), 100);
	CU_ASSERT_EQUAL(reply(txn, 200, "OPTIONS"), 0);
	ASSERT_STATE(txn, "Completed");
	recv_str(mkreq("OPTIONS", "z9hG4bKt1", "a.example:5060", 1, NULL));
	CU_ASSERT_EQUAL(fx.nsent, 4);
	CU_ASSERT_EQUAL(last_status(), 200);
	CU_ASSERT_EQUAL(reply(txn, 500, "OPTIONS"), EPROTO);
	/* three OPTIONS again; the 100 and the 200 resent once each */
	assert_counters(1, 1, 2, 3);
	advance(31999);
	ASSERT_STATE(txn, "Completed");
	advance(1); /* Timer J = 64*T1 */
	ASSERT_STATE(txn, "Terminated");
	mem_deref(txn);
	fx_done();
}

static void
test_nist_reliable(void)
{
	struct txn *txn;

	fx_init();
	txn = server("BYE", "z9hG4bKt2", true);
	CU_ASSERT_EQUAL(reply(txn, 200, "BYE"), 0);
	ASSERT_STATE(txn, "Completed");
	advance(0); /* Timer J = 0 */
	ASSERT_STATE(txn, "Terminated");
	mem_deref(txn);
	fx_done();
}

static void
test_nist_tperr(void)
{
	struct txn *txn;

	fx_init();
	txn = server("BYE", "z9hG4bKt3", false);
	CU_ASSERT_EQUAL(reply(txn, 200, "BYE"), 0);
	fx.send_err = EPIPE;
	recv_str(mkreq("BYE", "z9hG4bKt3", "a.example:5060", 1, NULL));
	CU_ASSERT_EQUAL(fx.nsev, 1);
	CU_ASSERT_EQUAL(fx.sev[0], TXN_SEV_TRANSPORT);
	ASSERT_STATE(txn, "Terminated");
	mem_deref(txn);
	fx_done();
}

/* ------------------------------------------------------------------ */
/* Matching                                                             */

static void
test_match_cookie(void)
{
	struct txn *inv, *t = NULL;

	fx_init();
	inv = server("INVITE", "z9hG4bKm1", false);
	/* same branch from another sent-by: another transaction */
	CU_ASSERT_EQUAL(
		recv_str(mkreq("INVITE", "z9hG4bKm1", "c.example", 1, NULL)),
		ENOENT);
	/* sent-by compared case-insensitively with the default port */
	CU_ASSERT_EQUAL(
		recv_str(mkreq("INVITE", "z9hG4bKm1", "A.EXAMPLE", 1, NULL)),
		0);
	CU_ASSERT_EQUAL(
		txn_server_create(&t, fx.ctx, &fx.m, &fx.udp, fx_req, NULL),
		EEXIST);
	/* CANCEL: its own transaction, with a lookup of the INVITE */
	CU_ASSERT_EQUAL(recv_str(mkreq("CANCEL", "z9hG4bKm1", "a.example:5060",
				       1, NULL)),
			ENOENT);
	CU_ASSERT_PTR_EQUAL(txn_cancel_target(fx.ctx, &fx.m), inv);
	CU_ASSERT_EQUAL(
		txn_server_create(&t, fx.ctx, &fx.m, &fx.udp, fx_req, NULL), 0);
	CU_ASSERT_EQUAL(recv_str(mkreq("CANCEL", "z9hG4bKm1", "a.example:5060",
				       1, NULL)),
			0); /* CANCEL retransmission */
	CU_ASSERT_PTR_NULL(txn_cancel_target(
		fx.ctx, parse(mkreq("CANCEL", "z9hG4bKzz", "a.example:5060", 1,
				    NULL))));
	CU_ASSERT_EQUAL(reply(t, 200, "CANCEL"), 0);
	CU_ASSERT_EQUAL(reply(inv, 487, "INVITE"), 0);
	recv_str(mkreq("ACK", "z9hG4bKm1", "a.example:5060", 1, "tt9"));
	ASSERT_STATE(inv, "Confirmed");
	mem_deref(inv);
	mem_deref(t);
	advance(64000);
	fx_done();
}

static void
test_match_response(void)
{
	struct txn *inv, *cnl = NULL;
	const char *r;

	fx_init();
	inv = client("INVITE", "z9hG4bKr1", false);
	CU_ASSERT_EQUAL(recv_str(mkresp(200, "z9hG4bKr9", "INVITE", "t")),
			ENOENT); /* unknown branch: stray */
	CU_ASSERT_EQUAL(recv_str(mkresp(200, "z9hG4bKr1", "OPTIONS", "t")),
			ENOENT); /* CSeq method differs */
	/* CANCEL shares the INVITE's branch (§9.1): told apart by method */
	r = mkreq("CANCEL", "z9hG4bKr1", "a.example:5060", 1, NULL);
	CU_ASSERT_EQUAL(txn_client_start(&cnl, fx.ctx, r, strlen(r), &fx.udp,
					 fx_resp, NULL),
			0);
	CU_ASSERT_EQUAL(txn_client_start(&cnl, fx.ctx, r, strlen(r), &fx.udp,
					 fx_resp, NULL),
			EEXIST);
	CU_ASSERT_EQUAL(recv_str(mkresp(200, "z9hG4bKr1", "CANCEL", "t")), 0);
	ASSERT_STATE(cnl, "Completed");
	ASSERT_STATE(inv, "Calling");
	CU_ASSERT_EQUAL(recv_str(mkresp(487, "z9hG4bKr1", "INVITE", "t")), 0);
	ASSERT_STATE(inv, "Completed");
	r = mkreq("ACK", "z9hG4bKr2", "a.example:5060", 1, NULL);
	CU_ASSERT_EQUAL(txn_client_start(&cnl, fx.ctx, r, strlen(r), &fx.udp,
					 fx_resp, NULL),
			EINVAL);
	mem_deref(inv);
	mem_deref(cnl);
	advance(64000);
	fx_done();
}

/* RFC 2543 peers: branch without the cookie, or none (§17.2.3). */
static void
test_match_rfc2543(void)
{
	struct txn *txn, *nist;

	fx_init();
	txn = server("INVITE", "", false);
	advance(0);
	CU_ASSERT_EQUAL(
		recv_str(mkreq("INVITE", "", "a.example:5060", 1, NULL)), 0);
	CU_ASSERT_EQUAL(fx.nsent, 2); /* the 100 again */
	CU_ASSERT_PTR_EQUAL(
		txn_cancel_target(
			fx.ctx,
			parse(mkreq("CANCEL", "", "a.example:5060", 1, NULL))),
		txn);
	/* another CSeq is another transaction */
	CU_ASSERT_EQUAL(
		recv_str(mkreq("INVITE", "", "a.example:5060", 2, NULL)),
		ENOENT);
	CU_ASSERT_EQUAL(reply(txn, 486, "INVITE"), 0);
	/* ACK matched by the To tag of our response */
	CU_ASSERT_EQUAL(recv_str(mkreq("ACK", "", "a.example:5060", 1, "xx")),
			ENOENT);
	CU_ASSERT_EQUAL(recv_str(mkreq("ACK", "", "a.example:5060", 1, "tt9")),
			0);
	ASSERT_STATE(txn, "Confirmed");
	/* a non-cookie branch is 2543 too */
	nist = server("OPTIONS", "oldbranch1", false);
	CU_ASSERT_EQUAL(recv_str(mkreq("OPTIONS", "oldbranch1",
				       "a.example:5060", 1, NULL)),
			0);
	CU_ASSERT_EQUAL(reply(nist, 200, "OPTIONS"), 0);
	mem_deref(txn);
	mem_deref(nist);
	advance(64000);
	fx_done();
}

/* §8.2.2.2: same From tag, Call-ID, CSeq, no To tag, other branch. */
static void
test_merged(void)
{
	struct txn *txn;
	struct sip_msg *m;

	fx_init();
	txn = server("INVITE", "z9hG4bKg1", false);
	m = parse(mkreq("INVITE", "z9hG4bKg2", "a.example:5060", 1, NULL));
	CU_ASSERT_EQUAL(txn_recv(fx.ctx, m, &fx.udp), ENOENT);
	CU_ASSERT(txn_merged(fx.ctx, m));
	m = parse(mkreq("INVITE", "z9hG4bKg1", "a.example:5060", 1, NULL));
	CU_ASSERT_FALSE(txn_merged(fx.ctx, m)); /* a retransmission */
	m = parse(mkreq("INVITE", "z9hG4bKg3", "a.example:5060", 2, NULL));
	CU_ASSERT_FALSE(txn_merged(fx.ctx, m));
	m = parse(mkreq("INVITE", "z9hG4bKg3", "a.example:5060", 1, "tt"));
	CU_ASSERT_FALSE(txn_merged(fx.ctx, m));
	CU_ASSERT_EQUAL(reply(txn, 480, "INVITE"), 0);
	mem_deref(txn);
	advance(64000);
	fx_done();
}

/* The TU detaches; the context goes with transactions alive. */
static void
test_detach_and_ctx_destroy(void)
{
	struct txn *c, *s;
	struct txn_stats st;

	fx_init();
	c = client("OPTIONS", "z9hG4bKd1", false);
	txn_detach(c);
	advance(32000);
	CU_ASSERT_EQUAL(fx.ncev, 0); /* Timer F fired, nobody told */
	ASSERT_STATE(c, "Terminated");
	mem_deref(c);
	c = client("INVITE", "z9hG4bKd2", false);
	s = server("INVITE", "z9hG4bKd3", false);
	txn_ctx_stats(fx.ctx, &st);
	CU_ASSERT_EQUAL(st.active, 2);
	CU_ASSERT(st.retransmits >= 10);
	fx.ctx = mem_deref(fx.ctx);
	CU_ASSERT_EQUAL(tmr_count(fx.tmr), 0);
	CU_ASSERT(txn_terminated(s));
	CU_ASSERT_EQUAL(reply(s, 200, "INVITE"), ESHUTDOWN);
	CU_ASSERT_EQUAL(txn_client_cancelled(c), EINVAL);
	mem_deref(c);
	mem_deref(s);
	fx.tmr = mem_deref(fx.tmr);
}

/* cfg.max_live bounds the transactions a flood of new branches can
   create: the next one is refused with ENOBUFS (the TU answers 503), and
   room comes back when one is gone. */
static void
test_max_live(void)
{
	struct txn_cfg cfg;
	struct txn *a, *b, *c = NULL;
	const char *r;

	txn_cfg_default(&cfg);
	CU_ASSERT_EQUAL(cfg.max_live, 65536);
	cfg.max_live = 2;
	fx_init_cfg(&cfg);
	a = server("OPTIONS", "z9hG4bKlive1", false);
	b = server("OPTIONS", "z9hG4bKlive2", false);
	parse(mkreq("OPTIONS", "z9hG4bKlive3", "a.example:5060", 1, NULL));
	CU_ASSERT_EQUAL(
		txn_server_create(&c, fx.ctx, &fx.m, &fx.udp, fx_req, NULL),
		ENOBUFS);
	CU_ASSERT_PTR_NULL(c);
	r = mkreq("OPTIONS", "z9hG4bKlive4", "a.example:5060", 1, NULL);
	CU_ASSERT_EQUAL(txn_client_start(&c, fx.ctx, r, strlen(r), &fx.udp,
					 fx_resp, NULL),
			ENOBUFS);
	CU_ASSERT_EQUAL(live(), 2);
	/* one answered and released: a new one fits again */
	CU_ASSERT_EQUAL(reply(a, 200, "OPTIONS"), 0);
	a = mem_deref(a);
	advance(64 * 500 + 10); /* Timer J, then the release */
	CU_ASSERT_EQUAL(live(), 1);
	c = server("OPTIONS", "z9hG4bKlive5", false);
	CU_ASSERT_EQUAL(live(), 2);
	CU_ASSERT_EQUAL(reply(b, 200, "OPTIONS"), 0);
	CU_ASSERT_EQUAL(reply(c, 200, "OPTIONS"), 0);
	b = mem_deref(b);
	c = mem_deref(c);
	advance(64 * 500 + 10);
	fx_done();
}

static uint64_t
msg_bytes(void)
{
	struct txn_stats st;

	txn_ctx_stats(fx.ctx, &st);
	return st.msg_bytes;
}

/* The lingering states (ICT Accepted, IST Accepted: 64*T1; NICT
   Completed: T4) hold no message copy they never send again; NIST
   Completed keeps its final response for retransmitted requests. */
static void
test_linger_copies(void)
{
	struct txn *ict, *ist, *nict, *nist;
	size_t len;

	fx_init();
	len = strlen(mkreq("INVITE", "z9hG4bKl1", "a.example:5060", 1, NULL));
	ict = client("INVITE", "z9hG4bKl1", false);
	CU_ASSERT_EQUAL(msg_bytes(), len);
	CU_ASSERT_EQUAL(recv_str(mkresp(200, "z9hG4bKl1", "INVITE", "t1")), 0);
	ASSERT_STATE(ict, "Accepted");
	CU_ASSERT_EQUAL(msg_bytes(), 0);
	/* 2xx retransmissions still reach the TU */
	CU_ASSERT_EQUAL(recv_str(mkresp(200, "z9hG4bKl1", "INVITE", "t1")), 0);
	CU_ASSERT_EQUAL(fx.ncev, 2);

	ist = server("INVITE", "z9hG4bKl2", false);
	CU_ASSERT_EQUAL(reply(ist, 180, "INVITE"), 0);
	CU_ASSERT(msg_bytes() > 0); /* the 180, for INVITE retransmissions */
	CU_ASSERT_EQUAL(reply(ist, 200, "INVITE"), 0);
	ASSERT_STATE(ist, "Accepted");
	CU_ASSERT_EQUAL(msg_bytes(), 0);
	fx.nsent = 0;
	CU_ASSERT_EQUAL(reply(ist, 200, "INVITE"), 0); /* the TU's resend */
	CU_ASSERT_EQUAL(fx.nsent, 1);
	CU_ASSERT_EQUAL(msg_bytes(), 0);
	CU_ASSERT_EQUAL(recv_str(mkreq("INVITE", "z9hG4bKl2", "a.example:5060",
				       1, NULL)),
			0);
	CU_ASSERT_EQUAL(fx.nsent, 1); /* absorbed */

	len = strlen(mkreq("BYE", "z9hG4bKl3", "a.example:5060", 1, NULL));
	nict = client("BYE", "z9hG4bKl3", false);
	CU_ASSERT_EQUAL(msg_bytes(), len);
	CU_ASSERT_EQUAL(recv_str(mkresp(200, "z9hG4bKl3", "BYE", "t1")), 0);
	ASSERT_STATE(nict, "Completed");
	CU_ASSERT_EQUAL(msg_bytes(), 0);

	nist = server("BYE", "z9hG4bKl4", false);
	len = strlen(mkresp(200, "z9hG4bKl4", "BYE", "tt9"));
	CU_ASSERT_EQUAL(reply(nist, 200, "BYE"), 0);
	ASSERT_STATE(nist, "Completed");
	CU_ASSERT_EQUAL(msg_bytes(), len);
	fx.nsent = 0;
	CU_ASSERT_EQUAL(
		recv_str(mkreq("BYE", "z9hG4bKl4", "a.example:5060", 1, NULL)),
		0);
	CU_ASSERT_EQUAL(fx.nsent, 1); /* the 200 again, from the copy */
	CU_ASSERT_EQUAL(fx.last_len, len);

	advance(32000); /* K, J, L, M */
	CU_ASSERT_EQUAL(msg_bytes(), 0);
	ASSERT_STATE(ict, "Terminated");
	ASSERT_STATE(ist, "Terminated");
	mem_deref(ict);
	mem_deref(ist);
	mem_deref(nict);
	mem_deref(nist);
	fx_done();
}

void test_txn_register(void);
void
test_txn_register(void)
{
	CU_pSuite s = tu_suite("txn");

	TU_ADD(s, test_ict_timer_a_b);
	TU_ADD(s, test_ict_reliable);
	TU_ADD(s, test_ict_accepted);
	TU_ADD(s, test_ict_completed);
	TU_ADD(s, test_ict_completed_reliable);
	TU_ADD(s, test_ict_prov_timeout);
	TU_ADD(s, test_ict_tperr);
	TU_ADD(s, test_nict_timer_e_f);
	TU_ADD(s, test_nict_proceeding);
	TU_ADD(s, test_nict_reliable);
	TU_ADD(s, test_nict_tperr);
	TU_ADD(s, test_ist_trying_and_h);
	TU_ADD(s, test_ist_confirmed);
	TU_ADD(s, test_ist_confirmed_reliable);
	TU_ADD(s, test_ist_accepted);
	TU_ADD(s, test_ist_trying_delay);
	TU_ADD(s, test_ist_tperr);
	TU_ADD(s, test_nist);
	TU_ADD(s, test_nist_reliable);
	TU_ADD(s, test_nist_tperr);
	TU_ADD(s, test_match_cookie);
	TU_ADD(s, test_match_response);
	TU_ADD(s, test_match_rfc2543);
	TU_ADD(s, test_merged);
	TU_ADD(s, test_max_live);
	TU_ADD(s, test_linger_copies);
	TU_ADD(s, test_detach_and_ctx_destroy);
}
