/* Unit tests: RFC 3262 reliable provisional responses (stack/rel1xx.c). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "stack/mem.h"
#include "stack/rel1xx.h"
#include "stack/sip_write.h"
#include "stack/txn.h"
#include "testutil.h"

/* A parsed message with its text (the message borrows it). */
struct pmsg {
	struct sip_msg msg;
	char buf[2048];
	size_t len;
};

static struct pmsg *
pmsg_parse(struct pmsg *m)
{
	struct sip_perr perr;

	CU_ASSERT_EQUAL_FATAL(sip_msg_parse(&m->msg, m->buf, m->len,
					    SIP_FRAMING_DGRAM, NULL, &perr),
			      0);
	return m;
}

static struct pmsg *
msg_new(const char *start, const char *cseq, const char *extra)
{
	struct pmsg *m = calloc(1, sizeof(*m));
	int n;

	CU_ASSERT_PTR_NOT_NULL_FATAL(m);
	n = snprintf(m->buf, sizeof(m->buf),
		     "%s\r\n"
		     "Via: SIP/2.0/UDP 127.0.0.1:5060;branch=z9hG4bKr1\r\n"
		     "From: <sip:a@example.com>;tag=f1\r\n"
		     "To: <sip:b@example.com>%s\r\n"
		     "Call-ID: r1@example.com\r\n"
		     "CSeq: %s\r\n"
		     "Max-Forwards: 70\r\n"
		     "%s"
		     "Content-Length: 0\r\n\r\n",
		     start, start[0] == 'S' ? ";tag=t1" : "", cseq, extra);
	CU_ASSERT_FATAL(n > 0 && (size_t)n < sizeof(m->buf));
	m->len = (size_t)n;
	return pmsg_parse(m);
}

static struct pmsg *
invite_new(const char *extra)
{
	return msg_new("INVITE sip:b@example.com SIP/2.0", "7 INVITE", extra);
}

static struct pmsg *
prack_new(const char *rack)
{
	char extra[128];

	snprintf(extra, sizeof(extra), "%s", rack);
	return msg_new("PRACK sip:a@example.com SIP/2.0", "8 PRACK", extra);
}

/* ------------------------------------------------------------------ */
/* Fixture: fake clock, recording send callback.                        */

static uint64_t fake_now;

static uint64_t
fake_clock(void *arg)
{
	(void)arg;
	return fake_now;
}

struct rec {
	uint64_t at[64];
	uint32_t rseq[64];
	uint16_t status[64];
	int n;
	int fail;      /* error to return from the next send */
	int fail_from; /* ... only from the send number fail_from */
	int events[2];
	int ev_err;
	uint64_t ev_at;
	struct rel1xx_uas **free_on_ev; /* handler releases it */
};

static int
rec_send(const char *buf, size_t len, uint16_t status, void *arg)
{
	struct rec *r = arg;
	struct pmsg m;
	const struct sip_hdr *h;
	const char *why;
	uint32_t rseq = 0;

	if (r->fail && r->n >= r->fail_from)
		return r->fail;
	CU_ASSERT_FATAL(len <= sizeof(m.buf) && r->n < 64);
	memcpy(m.buf, buf, len);
	m.len = len;
	pmsg_parse(&m);
	CU_ASSERT_EQUAL(m.msg.status, status);
	h = sip_msg_hdr(&m.msg, SIP_HDR_RSEQ);
	CU_ASSERT_PTR_NOT_NULL_FATAL(h);
	CU_ASSERT_EQUAL(sip_delta_decode(&rseq, &h->val, &why), 0);
	r->at[r->n] = fake_now;
	r->rseq[r->n] = rseq;
	r->status[r->n] = status;
	r->n++;
	return 0;
}

static void
rec_ev(enum rel1xx_uas_ev ev, int err, void *arg)
{
	struct rec *r = arg;

	r->events[ev]++;
	r->ev_err = err;
	r->ev_at = fake_now;
	if (r->free_on_ev)
		*r->free_on_ev = mem_deref(*r->free_on_ev);
}

struct fx {
	struct tmr_ctx *tmr;
	struct rec rec;
	struct pmsg *invite;
	struct rel1xx_uas *u;
	struct rel1xx_cfg cfg;
	int wrc; /* rel1xx_uas_write() in the last build_1xx() */
};

static uint32_t
seq_rand(void *arg)
{
	uint32_t **p = arg;

	return *(*p)++;
}

static void
fx_init(struct fx *fx, const char *invite_hdrs, struct rel1xx_cfg *cfg)
{
	memset(fx, 0, sizeof(*fx));
	fake_now = 10000;
	CU_ASSERT_EQUAL_FATAL(tmr_ctx_alloc(&fx->tmr, fake_clock, NULL), 0);
	fx->invite = invite_new(invite_hdrs);
	if (cfg)
		fx->cfg = *cfg;
	else
		rel1xx_cfg_default(&fx->cfg);
	CU_ASSERT_EQUAL_FATAL(rel1xx_uas_alloc(&fx->u, &fx->cfg, fx->tmr,
					       &fx->invite->msg, rec_send,
					       rec_ev, &fx->rec),
			      0);
}

/* Everything released, no timer left behind. */
static void
fx_done(struct fx *fx)
{
	fx->u = mem_deref(fx->u);
	CU_ASSERT_EQUAL(tmr_count(fx->tmr), 0);
	fx->tmr = mem_deref(fx->tmr);
	free(fx->invite);
}

/* Build a reliable 1xx to the INVITE, with an SDP body or not. */
static size_t
build_1xx(struct fx *fx, uint16_t status, bool sdp, char *buf, size_t size)
{
	static const char body[] = "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\n"
				   "c=IN IP4 127.0.0.1\r\nt=0 0\r\n"
				   "m=audio 4000 RTP/AVP 0\r\n";
	struct pl totag = PL("t1"), pb = {body, sizeof(body) - 1};
	struct sip_wbuf wb;
	size_t len = 0;

	sip_wb_init(&wb, buf, size);
	sip_wb_reply(&wb, &fx->invite->msg, status, NULL, &totag);
	fx->wrc = rel1xx_uas_write(fx->u, &wb);
	if (sdp)
		sip_wb_hdrf(&wb, SIP_HDR_CONTENT_TYPE, "application/sdp");
	CU_ASSERT_EQUAL_FATAL(sip_wb_end(&wb, sdp ? &pb : NULL, &len), 0);
	return len;
}

/* Build and send; returns rel1xx_uas_send()'s result. */
static int
send_1xx(struct fx *fx, uint16_t status, bool sdp)
{
	char buf[2048];
	size_t len = build_1xx(fx, status, sdp, buf, sizeof(buf));
	int err = rel1xx_uas_send(fx->u, buf, len);

	/* writing the headers fails exactly when sending must */
	CU_ASSERT(fx->wrc == 0 || (fx->wrc == EPROTO && err == EPROTO));
	CU_ASSERT(err != EPROTO || fx->wrc == EPROTO);
	return err;
}

static uint16_t
prack(struct fx *fx, const char *rack, int want_rc)
{
	struct pmsg *p = prack_new(rack);
	uint16_t status = 0;

	CU_ASSERT_EQUAL(rel1xx_uas_prack(fx->u, &p->msg, &status), want_rc);
	free(p);
	return status;
}

static uint16_t
prack_rseq(struct fx *fx, uint32_t rseq)
{
	char rack[64];

	snprintf(rack, sizeof(rack), "RAck: %u 7 INVITE\r\n", (unsigned)rseq);
	return prack(fx, rack, 0);
}

static void
run_to(struct tmr_ctx *tmr, uint64_t t)
{
	while (fake_now < t) {
		fake_now += 50;
		tmr_poll(tmr);
	}
}

/* ------------------------------------------------------------------ */
/* UAS                                                                 */

static void
test_uas_decide(void)
{
	static const struct {
		const char *hdrs;
		enum rel1xx_policy policy;
		enum rel1xx_peer peer;
		uint16_t check;
		bool r100, r180, r183, r200;
	} rows[] = {
		{"", REL1XX_P_SUPPORTED, REL1XX_PEER_NONE, 0, 0, 0, 0, 0},
		{"Supported: 100rel\r\n", REL1XX_P_SUPPORTED,
		 REL1XX_PEER_SUPPORTED, 0, 0, 1, 1, 0},
		{"Supported: timer, 100REL\r\n", REL1XX_P_REQUIRED,
		 REL1XX_PEER_SUPPORTED, 0, 0, 0, 0, 0},
		{"Supported: 100rel\r\n", REL1XX_P_NEVER, REL1XX_PEER_SUPPORTED,
		 0, 0, 0, 0, 0},
		{"Require: 100rel\r\n", REL1XX_P_REQUIRED, REL1XX_PEER_REQUIRED,
		 0, 0, 1, 1, 0},
		{"Require: 100rel\r\nSupported: 100rel\r\n", REL1XX_P_SUPPORTED,
		 REL1XX_PEER_REQUIRED, 0, 0, 1, 1, 0},
		/* unwilling although required: 420 (§3) */
		{"Require: 100rel\r\n", REL1XX_P_NEVER, REL1XX_PEER_REQUIRED,
		 420, 0, 1, 1, 0},
	};

	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		struct rel1xx_cfg cfg;
		struct fx fx;

		rel1xx_cfg_default(&cfg);
		cfg.policy = rows[i].policy;
		fx_init(&fx, rows[i].hdrs, &cfg);
		CU_ASSERT_EQUAL(rel1xx_peer(&fx.invite->msg), rows[i].peer);
		CU_ASSERT_EQUAL(rel1xx_uas_check(&cfg, &fx.invite->msg),
				rows[i].check);
		CU_ASSERT_EQUAL(rel1xx_uas_reliable(fx.u, 100), rows[i].r100);
		CU_ASSERT_EQUAL(rel1xx_uas_reliable(fx.u, 180), rows[i].r180);
		CU_ASSERT_EQUAL(rel1xx_uas_reliable(fx.u, 183), rows[i].r183);
		CU_ASSERT_EQUAL(rel1xx_uas_reliable(fx.u, 200), rows[i].r200);
		CU_ASSERT_FALSE(rel1xx_uas_reliable(fx.u, 99));
		/* §3 MUST NOT without 100rel: refused even when asked */
		if (rows[i].peer == REL1XX_PEER_NONE)
			CU_ASSERT_EQUAL(send_1xx(&fx, 180, false), EPROTO);
		rel1xx_uas_final(fx.u);
		CU_ASSERT_FALSE(rel1xx_uas_reliable(fx.u, 180));
		fx_done(&fx);
	}
}

static void
test_rseq_start(void)
{
	/* injected numbers: 0 is drawn again; the top bit is dropped */
	uint32_t nums[] = {0, 0x80000000u, 0xffffffffu, 0x80000001u, 5};
	uint32_t *p = nums;
	struct rel1xx_cfg cfg;
	struct fx fx;
	uint32_t first = 0, seen_diff = 0;

	rel1xx_cfg_default(&cfg);
	cfg.rand_h = seq_rand;
	cfg.rand_arg = &p;
	fx_init(&fx, "Require: 100rel\r\n", &cfg);
	CU_ASSERT_EQUAL(rel1xx_uas_next_rseq(fx.u), 0x7fffffffu);
	CU_ASSERT_EQUAL(p - nums, 3);
	fx.u = mem_deref(fx.u);
	CU_ASSERT_EQUAL(rel1xx_uas_alloc(&fx.u, &cfg, fx.tmr, &fx.invite->msg,
					 rec_send, rec_ev, &fx.rec),
			0);
	CU_ASSERT_EQUAL(rel1xx_uas_next_rseq(fx.u), 1);
	fx_done(&fx);

	/* RAND_bytes: always in 1..2^31-1, not always the same */
	fx_init(&fx, "Require: 100rel\r\n", NULL);
	for (int i = 0; i < 200; i++) {
		struct rel1xx_uas *u = NULL;
		uint32_t r;

		CU_ASSERT_EQUAL_FATAL(
			rel1xx_uas_alloc(&u, NULL, fx.tmr, &fx.invite->msg,
					 rec_send, rec_ev, &fx.rec),
			0);
		r = rel1xx_uas_next_rseq(u);
		CU_ASSERT(r >= 1 && r <= 0x7fffffffu);
		if (i == 0)
			first = r;
		else if (r != first)
			seen_diff++;
		mem_deref(u);
	}
	CU_ASSERT(seen_diff > 190);
	fx_done(&fx);
}

/* §3: retransmitted at T1, doubling, until 64*T1: then timeout. */
static void
test_retx_schedule(void)
{
	static const uint64_t want[] = {0, 500, 1500, 3500, 7500, 15500, 31500};
	struct fx fx;
	struct rel1xx_uas_stats st;
	uint32_t rseq;

	fx_init(&fx, "Require: 100rel\r\n", NULL);
	rseq = rel1xx_uas_next_rseq(fx.u);
	CU_ASSERT_EQUAL(send_1xx(&fx, 180, false), 0);
	CU_ASSERT_EQUAL(rel1xx_uas_next_rseq(fx.u), rseq + 1);
	run_to(fx.tmr, 10000 + 40000);
	CU_ASSERT_EQUAL_FATAL(fx.rec.n, 7);
	for (int i = 0; i < 7; i++) {
		CU_ASSERT_EQUAL(fx.rec.at[i] - 10000, want[i]);
		CU_ASSERT_EQUAL(fx.rec.rseq[i], rseq);
		CU_ASSERT_EQUAL(fx.rec.status[i], 180);
	}
	CU_ASSERT_EQUAL(fx.rec.events[REL1XX_UAS_EV_TIMEOUT], 1);
	CU_ASSERT_EQUAL(fx.rec.ev_at - 10000, 32000);
	CU_ASSERT_EQUAL(rel1xx_uas_unacked(fx.u), 0);
	rel1xx_uas_stats(fx.u, &st);
	CU_ASSERT_EQUAL(st.sent, 1);
	CU_ASSERT_EQUAL(st.retransmits, 6);
	/* gave up: nothing more is sent, a late PRACK gets 481 */
	CU_ASSERT_EQUAL(send_1xx(&fx, 183, false), EPROTO);
	CU_ASSERT_EQUAL(prack_rseq(&fx, rseq), 481);
	CU_ASSERT_EQUAL(tmr_count(fx.tmr), 0);
	fx_done(&fx);

	/* another T1 scales the schedule */
	{
		struct rel1xx_cfg cfg;

		rel1xx_cfg_default(&cfg);
		cfg.t1 = 100;
		fx_init(&fx, "Require: 100rel\r\n", &cfg);
		CU_ASSERT_EQUAL(send_1xx(&fx, 183, false), 0);
		run_to(fx.tmr, 10000 + 10000);
		CU_ASSERT_EQUAL_FATAL(fx.rec.n, 7);
		for (int i = 0; i < 7; i++)
			CU_ASSERT_EQUAL(fx.rec.at[i] - 10000, want[i] / 5);
		CU_ASSERT_EQUAL(fx.rec.ev_at - 10000, 6400);
		fx_done(&fx);
	}
}

/* §3: PRACK match -> 200 and retransmissions stop; else 481. */
static void
test_prack_match(void)
{
	struct fx fx;
	struct rel1xx_uas_stats st;
	uint32_t rseq;
	char rack[64];

	fx_init(&fx, "Supported: 100rel\r\n", NULL);
	rseq = rel1xx_uas_next_rseq(fx.u);
	CU_ASSERT_EQUAL(send_1xx(&fx, 183, false), 0);
	run_to(fx.tmr, 10000 + 600); /* one retransmission */
	CU_ASSERT_EQUAL(fx.rec.n, 2);
	/* mismatches: RSeq, CSeq number, method (case-sensitive) */
	CU_ASSERT_EQUAL(prack_rseq(&fx, rseq + 1), 481);
	snprintf(rack, sizeof(rack), "RAck: %u 6 INVITE\r\n", (unsigned)rseq);
	CU_ASSERT_EQUAL(prack(&fx, rack, 0), 481);
	snprintf(rack, sizeof(rack), "RAck: %u 7 invite\r\n", (unsigned)rseq);
	CU_ASSERT_EQUAL(prack(&fx, rack, 0), 481);
	snprintf(rack, sizeof(rack), "RAck: %u 7 UPDATE\r\n", (unsigned)rseq);
	CU_ASSERT_EQUAL(prack(&fx, rack, 0), 481);
	/* no or a bad RAck: 400 */
	CU_ASSERT_EQUAL(prack(&fx, "", EBADMSG), 400);
	CU_ASSERT_EQUAL(prack(&fx, "RAck: 1 INVITE\r\n", EBADMSG), 400);
	CU_ASSERT_EQUAL(rel1xx_uas_unacked(fx.u), 1);
	/* the match */
	CU_ASSERT_EQUAL(prack_rseq(&fx, rseq), 200);
	CU_ASSERT_EQUAL(rel1xx_uas_unacked(fx.u), 0);
	CU_ASSERT_EQUAL(tmr_count(fx.tmr), 0);
	run_to(fx.tmr, 10000 + 40000);
	CU_ASSERT_EQUAL(fx.rec.n, 2); /* retransmissions stopped */
	CU_ASSERT_EQUAL(fx.rec.events[REL1XX_UAS_EV_TIMEOUT], 0);
	/* the same PRACK again (a new transaction): nothing unacked */
	CU_ASSERT_EQUAL(prack_rseq(&fx, rseq), 481);
	rel1xx_uas_stats(fx.u, &st);
	CU_ASSERT_EQUAL(st.acked, 1);
	CU_ASSERT_EQUAL(st.rejected, 5);
	fx_done(&fx);
}

/* One unacknowledged at a time: later ones wait, RSeq +1 each; the 2xx
   waits for SDP-carrying ones (§3). */
static void
test_queue_sdp(void)
{
	struct rel1xx_cfg cfg;
	struct fx fx;
	uint32_t rseq;
	char buf[2048];
	size_t len;

	rel1xx_cfg_default(&cfg);
	cfg.max_queue = 1;
	fx_init(&fx, "Require: 100rel\r\n", &cfg);
	rseq = rel1xx_uas_next_rseq(fx.u);
	CU_ASSERT_FALSE(rel1xx_uas_blocks_2xx(fx.u));
	CU_ASSERT_EQUAL(send_1xx(&fx, 183, true), 0);
	CU_ASSERT_TRUE(rel1xx_uas_blocks_2xx(fx.u));
	CU_ASSERT_EQUAL(send_1xx(&fx, 180, false), 0); /* waits */
	CU_ASSERT_EQUAL(fx.rec.n, 1);
	CU_ASSERT_EQUAL(rel1xx_uas_unacked(fx.u), 2);
	CU_ASSERT_EQUAL(send_1xx(&fx, 181, false), ENOBUFS);
	CU_ASSERT_EQUAL(rel1xx_uas_next_rseq(fx.u), rseq + 2);
	/* built now, sent after the next PRACK: it carries rseq + 2 */
	len = build_1xx(&fx, 182, false, buf, sizeof(buf));
	CU_ASSERT_EQUAL(fx.wrc, 0);
	CU_ASSERT_EQUAL(prack_rseq(&fx, rseq), 200);
	CU_ASSERT_EQUAL_FATAL(fx.rec.n, 2); /* the 180 went now */
	CU_ASSERT_EQUAL(fx.rec.rseq[1], rseq + 1);
	CU_ASSERT_EQUAL(fx.rec.status[1], 180);
	CU_ASSERT_FALSE(rel1xx_uas_blocks_2xx(fx.u));
	CU_ASSERT_EQUAL(rel1xx_uas_send(fx.u, buf, len), 0);	  /* rseq+2 */
	CU_ASSERT_EQUAL(rel1xx_uas_send(fx.u, buf, len), EINVAL); /* dup */
	/* its retransmission schedule starts from its own first send */
	run_to(fx.tmr, fake_now + 500);
	CU_ASSERT_EQUAL(fx.rec.n, 3);
	CU_ASSERT_EQUAL(fx.rec.rseq[2], rseq + 1);
	CU_ASSERT_EQUAL(prack_rseq(&fx, rseq + 2), 481); /* not yet */
	CU_ASSERT_EQUAL(prack_rseq(&fx, rseq + 1), 200);
	CU_ASSERT_EQUAL(fx.rec.n, 4);
	CU_ASSERT_EQUAL(fx.rec.rseq[3], rseq + 2);
	CU_ASSERT_EQUAL(prack_rseq(&fx, rseq + 2), 200);
	CU_ASSERT_EQUAL(rel1xx_uas_unacked(fx.u), 0);
	/* final: queued ones dropped, no more reliable 1xx */
	CU_ASSERT_EQUAL(send_1xx(&fx, 183, true), 0);
	CU_ASSERT_EQUAL(send_1xx(&fx, 180, false), 0);
	rel1xx_uas_final(fx.u);
	CU_ASSERT_EQUAL(rel1xx_uas_unacked(fx.u), 0);
	CU_ASSERT_FALSE(rel1xx_uas_blocks_2xx(fx.u));
	CU_ASSERT_EQUAL(tmr_count(fx.tmr), 0);
	CU_ASSERT_EQUAL(send_1xx(&fx, 180, false), EPROTO);
	fx_done(&fx);
}

static void
test_send_refused(void)
{
	struct fx fx;
	struct pmsg *m;
	char buf[2048];
	size_t len;
	uint32_t rseq;

	fx_init(&fx, "Require: 100rel\r\n", NULL);
	rseq = rel1xx_uas_next_rseq(fx.u);
	/* not a reliable 1xx of ours */
	m = msg_new("SIP/2.0 180 Ringing", "7 INVITE", "");
	CU_ASSERT_EQUAL(rel1xx_uas_send(fx.u, m->buf, m->len), EINVAL);
	free(m);
	m = msg_new("SIP/2.0 180 Ringing", "7 INVITE",
		    "Require: 100rel\r\nRSeq: 1\r\n");
	if (rseq != 1)
		CU_ASSERT_EQUAL(rel1xx_uas_send(fx.u, m->buf, m->len), EINVAL);
	free(m);
	len = build_1xx(&fx, 100, false, buf, sizeof(buf));
	CU_ASSERT_EQUAL(rel1xx_uas_send(fx.u, buf, len), EINVAL);
	len = build_1xx(&fx, 200, false, buf, sizeof(buf));
	CU_ASSERT_EQUAL(rel1xx_uas_send(fx.u, buf, len), EINVAL);
	CU_ASSERT_EQUAL(rel1xx_uas_send(fx.u, "garbage", 7), EINVAL);
	CU_ASSERT_EQUAL(rel1xx_uas_next_rseq(fx.u), rseq);
	/* a send error: returned, nothing committed */
	fx.rec.fail = EPIPE;
	CU_ASSERT_EQUAL(send_1xx(&fx, 180, false), EPIPE);
	CU_ASSERT_EQUAL(rel1xx_uas_next_rseq(fx.u), rseq);
	CU_ASSERT_EQUAL(rel1xx_uas_unacked(fx.u), 0);
	CU_ASSERT_EQUAL(tmr_count(fx.tmr), 0);
	/* the next waiting one cannot be sent after the PRACK */
	fx.rec.fail = 0;
	rseq = rel1xx_uas_next_rseq(fx.u);
	CU_ASSERT_EQUAL(send_1xx(&fx, 183, true), 0);
	CU_ASSERT_EQUAL(send_1xx(&fx, 180, false), 0);
	fx.rec.fail = ECONNRESET;
	fx.rec.fail_from = 0;
	{
		char rack[64];

		snprintf(rack, sizeof(rack), "RAck: %u 7 INVITE\r\n",
			 (unsigned)rseq);
		CU_ASSERT_EQUAL(prack(&fx, rack, ECONNRESET), 200);
	}
	CU_ASSERT_EQUAL(rel1xx_uas_unacked(fx.u), 0);
	CU_ASSERT_EQUAL(tmr_count(fx.tmr), 0);
	CU_ASSERT_EQUAL(send_1xx(&fx, 180, false), EPROTO);
	fx_done(&fx);

	/* a failing retransmission: event, state cleared */
	fx_init(&fx, "Require: 100rel\r\n", NULL);
	fx.rec.fail = EPIPE;
	fx.rec.fail_from = 1;
	CU_ASSERT_EQUAL(send_1xx(&fx, 180, false), 0);
	run_to(fx.tmr, fake_now + 500);
	CU_ASSERT_EQUAL(fx.rec.events[REL1XX_UAS_EV_SEND_ERROR], 1);
	CU_ASSERT_EQUAL(fx.rec.ev_err, EPIPE);
	CU_ASSERT_EQUAL(rel1xx_uas_unacked(fx.u), 0);
	CU_ASSERT_EQUAL(tmr_count(fx.tmr), 0);
	fx_done(&fx);
}

/* Destroyed with responses outstanding and waiting, or from inside its
   own timeout event: timers gone, buffers freed (ASan checks). */
static void
test_uas_lifetime(void)
{
	struct fx fx;

	fx_init(&fx, "Require: 100rel\r\n", NULL);
	CU_ASSERT_EQUAL(send_1xx(&fx, 183, true), 0);
	CU_ASSERT_EQUAL(send_1xx(&fx, 180, false), 0);
	CU_ASSERT_EQUAL(tmr_count(fx.tmr), 2);
	fx_done(&fx);

	fx_init(&fx, "Require: 100rel\r\n", NULL);
	fx.rec.free_on_ev = &fx.u;
	CU_ASSERT_EQUAL(send_1xx(&fx, 183, true), 0);
	CU_ASSERT_EQUAL(send_1xx(&fx, 180, false), 0);
	run_to(fx.tmr, fake_now + 40000);
	CU_ASSERT_EQUAL(fx.rec.events[REL1XX_UAS_EV_TIMEOUT], 1);
	CU_ASSERT_PTR_NULL(fx.u);
	fx_done(&fx);

	/* bad arguments */
	fx_init(&fx, "", NULL);
	{
		struct rel1xx_uas *u = NULL;
		struct rel1xx_cfg cfg;

		rel1xx_cfg_default(&cfg);
		cfg.t1 = 0;
		CU_ASSERT_EQUAL(rel1xx_uas_alloc(&u, &cfg, fx.tmr,
						 &fx.invite->msg, rec_send,
						 NULL, NULL),
				EINVAL);
		cfg.t1 = 500;
		cfg.max_queue = 1000;
		CU_ASSERT_EQUAL(rel1xx_uas_alloc(&u, &cfg, fx.tmr,
						 &fx.invite->msg, rec_send,
						 NULL, NULL),
				EINVAL);
		CU_ASSERT_EQUAL(rel1xx_uas_alloc(&u, NULL, fx.tmr,
						 &fx.invite->msg, NULL, NULL,
						 NULL),
				EINVAL);
		CU_ASSERT_PTR_NULL(u);
	}
	fx_done(&fx);
}

/* ------------------------------------------------------------------ */
/* UAC                                                                 */

static struct pmsg *
resp_1xx(const char *status_line, const char *cseq, const char *hdrs)
{
	return msg_new(status_line, cseq, hdrs);
}

static enum rel1xx_verdict
uac_recv(struct rel1xx_uac *st, const char *status_line, const char *hdrs,
	 int want_rc, struct rel1xx_rack *rack)
{
	struct pmsg *m = resp_1xx(status_line, "7 INVITE", hdrs);
	enum rel1xx_verdict v = REL1XX_V_LATE;

	memset(rack, 0, sizeof(*rack));
	CU_ASSERT_EQUAL(rel1xx_uac_recv(st, &m->msg, &v, rack), want_rc);
	free(m);
	return v;
}

#define REL(n) "Require: 100rel\r\nRSeq: " #n "\r\n"

static void
test_uac_order(void)
{
	struct rel1xx_uac st, st2;
	struct rel1xx_rack rack;
	struct pmsg *m;
	enum rel1xx_verdict v;

	rel1xx_uac_init(&st, 7);
	/* §4: a 100 ignores 100rel; no Require: 100rel: unreliable */
	CU_ASSERT_EQUAL(uac_recv(&st, "SIP/2.0 100 Trying", REL(9), 0, &rack),
			REL1XX_V_UNRELIABLE);
	CU_ASSERT_EQUAL(
		uac_recv(&st, "SIP/2.0 180 Ringing", "RSeq: 9\r\n", 0, &rack),
		REL1XX_V_UNRELIABLE);
	CU_ASSERT_FALSE(st.started);
	/* the first starts the sequence, whatever its value */
	CU_ASSERT_EQUAL(uac_recv(&st, "SIP/2.0 183 Session Progress", REL(41),
				 0, &rack),
			REL1XX_V_PRACK);
	CU_ASSERT_EQUAL(rack.rseq, 41);
	CU_ASSERT_EQUAL(rack.cseq, 7);
	CU_ASSERT_STRING_EQUAL(rack.method, "INVITE");
	/* retransmission: discarded, no PRACK */
	CU_ASSERT_EQUAL(uac_recv(&st, "SIP/2.0 183 Session Progress", REL(41),
				 0, &rack),
			REL1XX_V_RETRANS);
	CU_ASSERT_EQUAL(rack.rseq, 0);
	/* gaps and old numbers: not acknowledged, not processed */
	CU_ASSERT_EQUAL(uac_recv(&st, "SIP/2.0 180 Ringing", REL(43), 0, &rack),
			REL1XX_V_GAP);
	CU_ASSERT_EQUAL(uac_recv(&st, "SIP/2.0 180 Ringing", REL(40), 0, &rack),
			REL1XX_V_GAP);
	CU_ASSERT_EQUAL(st.rseq, 41);
	CU_ASSERT_EQUAL(uac_recv(&st, "SIP/2.0 180 Ringing", REL(42), 0, &rack),
			REL1XX_V_PRACK);
	CU_ASSERT_EQUAL(rack.rseq, 42);
	/* 43 now in order */
	CU_ASSERT_EQUAL(uac_recv(&st, "SIP/2.0 180 Ringing", REL(43), 0, &rack),
			REL1XX_V_PRACK);
	/* above 2^31 is fine for later ones (§3) */
	rel1xx_uac_init(&st2, 7);
	CU_ASSERT_EQUAL(uac_recv(&st2, "SIP/2.0 180 Ringing", REL(2147483647),
				 0, &rack),
			REL1XX_V_PRACK);
	CU_ASSERT_EQUAL(uac_recv(&st2, "SIP/2.0 180 Ringing", REL(2147483648),
				 0, &rack),
			REL1XX_V_PRACK);
	CU_ASSERT_EQUAL(rack.rseq, 2147483648u);
	/* after the final response: late */
	rel1xx_uac_final(&st);
	CU_ASSERT_EQUAL(uac_recv(&st, "SIP/2.0 180 Ringing", REL(44), 0, &rack),
			REL1XX_V_LATE);
	/* errors: no/bad RSeq, another CSeq, not a 1xx */
	rel1xx_uac_init(&st, 7);
	uac_recv(&st, "SIP/2.0 180 Ringing", "Require: 100rel\r\n", EBADMSG,
		 &rack);
	uac_recv(&st, "SIP/2.0 180 Ringing", REL(0), EBADMSG, &rack);
	uac_recv(&st, "SIP/2.0 180 Ringing", REL(x), EBADMSG, &rack);
	uac_recv(&st, "SIP/2.0 200 OK", REL(5), EINVAL, &rack);
	m = resp_1xx("SIP/2.0 180 Ringing", "8 INVITE", REL(5));
	CU_ASSERT_EQUAL(rel1xx_uac_recv(&st, &m->msg, &v, &rack), EINVAL);
	free(m);
	CU_ASSERT_FALSE(st.started);
	CU_ASSERT_STRING_EQUAL(rel1xx_verdict_name(REL1XX_V_GAP),
			       "out-of-order");
}

/* Two early dialogs (forking) keep separate sequences. */
static void
test_uac_forked(void)
{
	struct rel1xx_uac a, b;
	struct rel1xx_rack rack;

	rel1xx_uac_init(&a, 7);
	rel1xx_uac_init(&b, 7);
	CU_ASSERT_EQUAL(uac_recv(&a, "SIP/2.0 180 Ringing", REL(100), 0, &rack),
			REL1XX_V_PRACK);
	CU_ASSERT_EQUAL(
		uac_recv(&b, "SIP/2.0 180 Ringing", REL(9000), 0, &rack),
		REL1XX_V_PRACK);
	CU_ASSERT_EQUAL(uac_recv(&a, "SIP/2.0 183 Session Progress", REL(101),
				 0, &rack),
			REL1XX_V_PRACK);
	CU_ASSERT_EQUAL(uac_recv(&b, "SIP/2.0 183 Session Progress", REL(101),
				 0, &rack),
			REL1XX_V_GAP);
}

static void
test_rack_print(void)
{
	struct rel1xx_rack r = {5, 1, "INVITE"};
	struct rel1xx_rack big = {4294967295u, 2147483647u, "INVITE"};
	char buf[64];
	size_t len = 0;

	CU_ASSERT_EQUAL(rel1xx_rack_print(buf, 10, &len, &r), 0);
	CU_ASSERT_EQUAL(len, 10);
	CU_ASSERT_EQUAL(memcmp(buf, "5 1 INVITE", 10), 0);
	CU_ASSERT_EQUAL(rel1xx_rack_print(buf, 9, &len, &r), ENOSPC);
	CU_ASSERT_EQUAL(rel1xx_rack_print(buf, sizeof(buf), &len, &big), 0);
	CU_ASSERT_EQUAL(len, strlen("4294967295 2147483647 INVITE"));
	CU_ASSERT_EQUAL(memcmp(buf, "4294967295 2147483647 INVITE", len), 0);
	r.method[0] = '\0';
	CU_ASSERT_EQUAL(rel1xx_rack_print(buf, sizeof(buf), &len, &r), EINVAL);
}

/* The UAS's 1xx, classified by the UAC, PRACKed with the RAck it built,
   matched by the UAS: both halves agree on the wire format. */
static void
test_roundtrip(void)
{
	struct fx fx;
	struct rel1xx_uac st;
	struct rel1xx_rack rack;
	enum rel1xx_verdict v;
	struct pmsg *m = calloc(1, sizeof(*m)), *p = calloc(1, sizeof(*p));
	struct sip_wbuf wb;
	struct pl meth = PL("PRACK"), ruri = PL("sip:b@example.com");
	uint16_t status = 0;

	CU_ASSERT_PTR_NOT_NULL_FATAL(m);
	CU_ASSERT_PTR_NOT_NULL_FATAL(p);
	fx_init(&fx, "Supported: 100rel\r\n", NULL);
	rel1xx_uac_init(&st, 7);
	m->len = build_1xx(&fx, 183, true, m->buf, sizeof(m->buf));
	CU_ASSERT_EQUAL(fx.wrc, 0);
	CU_ASSERT_EQUAL(rel1xx_uas_send(fx.u, m->buf, m->len), 0);
	pmsg_parse(m);
	CU_ASSERT_EQUAL(rel1xx_uac_recv(&st, &m->msg, &v, &rack), 0);
	CU_ASSERT_EQUAL(v, REL1XX_V_PRACK);
	CU_ASSERT_TRUE(rel1xx_uas_blocks_2xx(fx.u));
	/* a minimal PRACK carrying the RAck */
	sip_wb_init(&wb, p->buf, sizeof(p->buf));
	sip_wb_request(&wb, &meth, &ruri);
	sip_wb_hdrf(&wb, SIP_HDR_VIA,
		    "SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bKp1");
	sip_wb_hdrf(&wb, SIP_HDR_FROM, "<sip:a@example.com>;tag=f1");
	sip_wb_hdrf(&wb, SIP_HDR_TO, "<sip:b@example.com>;tag=t1");
	sip_wb_hdrf(&wb, SIP_HDR_CALL_ID, "r1@example.com");
	sip_wb_hdrf(&wb, SIP_HDR_CSEQ, "8 PRACK");
	sip_wb_hdrf(&wb, SIP_HDR_MAX_FORWARDS, "70");
	CU_ASSERT_EQUAL(rel1xx_rack_write(&wb, &rack), 0);
	CU_ASSERT_EQUAL_FATAL(sip_wb_end(&wb, NULL, &p->len), 0);
	pmsg_parse(p);
	CU_ASSERT_EQUAL(rel1xx_uas_prack(fx.u, &p->msg, &status), 0);
	CU_ASSERT_EQUAL(status, 200);
	CU_ASSERT_FALSE(rel1xx_uas_blocks_2xx(fx.u));
	/* the UAS retransmission that crossed the PRACK: discarded */
	CU_ASSERT_EQUAL(rel1xx_uac_recv(&st, &m->msg, &v, &rack), 0);
	CU_ASSERT_EQUAL(v, REL1XX_V_RETRANS);
	free(m);
	free(p);
	fx_done(&fx);
}

/* ------------------------------------------------------------------ */
/* Wired to a real INVITE server transaction, as the UA core would.     */

struct wire {
	struct txn *txn; /* ref */
	unsigned nsent;	 /* datagrams out of the transaction layer */
	unsigned nrseq;	 /* ... of them with an RSeq */
	uint64_t at[32];
};

static struct wire wire;

static int
wire_tp_send(const struct txn_dest *dst, const char *buf, size_t len, void *arg)
{
	(void)dst;
	(void)arg;
	if (memmem(buf, len, "\r\nRSeq: ", 8) && wire.nrseq < 32)
		wire.at[wire.nrseq++] = fake_now;
	wire.nsent++;
	return 0;
}

/* The rel1xx send callback: into the server transaction. */
static int
wire_reply(const char *buf, size_t len, uint16_t status, void *arg)
{
	(void)arg;
	return txn_server_reply(wire.txn, buf, len, status);
}

static void
wire_req(struct txn *txn, enum txn_sev ev, int err, const struct sip_msg *msg,
	 void *arg)
{
	(void)txn;
	(void)ev;
	(void)err;
	(void)msg;
	(void)arg;
}

static void
test_with_txn(void)
{
	struct tmr_ctx *tmr = NULL;
	struct txn_ctx *tctx = NULL;
	struct txn_dest src = {0};
	struct txn_stats ts;
	struct pmsg *inv = invite_new("Supported: 100rel, timer\r\n");
	struct rel1xx_uas *u = NULL;
	struct fx fx; /* for build_1xx() */
	char buf[2048];
	size_t len;
	uint16_t status;
	uint32_t rseq;

	memset(&wire, 0, sizeof(wire));
	fake_now = 10000;
	CU_ASSERT_EQUAL_FATAL(tmr_ctx_alloc(&tmr, fake_clock, NULL), 0);
	CU_ASSERT_EQUAL_FATAL(
		txn_ctx_alloc(&tctx, NULL, wire_tp_send, NULL, tmr), 0);
	CU_ASSERT_EQUAL_FATAL(txn_server_create(&wire.txn, tctx, &inv->msg,
						&src, wire_req, NULL),
			      0);
	CU_ASSERT_EQUAL_FATAL(rel1xx_uas_alloc(&u, NULL, tmr, &inv->msg,
					       wire_reply, NULL, NULL),
			      0);
	CU_ASSERT_TRUE(rel1xx_uas_reliable(u, 183));
	rseq = rel1xx_uas_next_rseq(u);
	memset(&fx, 0, sizeof(fx));
	fx.invite = inv;
	fx.u = u;
	len = build_1xx(&fx, 183, true, buf, sizeof(buf));
	CU_ASSERT_EQUAL(rel1xx_uas_send(u, buf, len), 0);
	run_to(tmr, 10000 + 1600); /* 0, 500, 1500 */
	CU_ASSERT_EQUAL(wire.nrseq, 3);
	CU_ASSERT_EQUAL(wire.at[2] - 10000, 1500);
	CU_ASSERT_TRUE(rel1xx_uas_blocks_2xx(u));
	{
		char rack[64];
		struct pmsg *p;

		snprintf(rack, sizeof(rack), "RAck: %u 7 INVITE\r\n",
			 (unsigned)rseq);
		p = prack_new(rack);
		CU_ASSERT_EQUAL(rel1xx_uas_prack(u, &p->msg, &status), 0);
		CU_ASSERT_EQUAL(status, 200);
		free(p);
	}
	CU_ASSERT_FALSE(rel1xx_uas_blocks_2xx(u));
	run_to(tmr, 10000 + 40000);
	CU_ASSERT_EQUAL(wire.nrseq, 3); /* stopped */
	/* the 2xx may go now */
	{
		struct sip_wbuf wb;
		struct pl totag = PL("t1");

		sip_wb_init(&wb, buf, sizeof(buf));
		sip_wb_reply(&wb, &inv->msg, 200, NULL, &totag);
		CU_ASSERT_EQUAL_FATAL(sip_wb_end(&wb, NULL, &len), 0);
		CU_ASSERT_EQUAL(txn_server_reply(wire.txn, buf, len, 200), 0);
		rel1xx_uas_final(u);
	}
	u = mem_deref(u);
	wire.txn = mem_deref(wire.txn);
	run_to(tmr, fake_now + 64000); /* Timer L */
	txn_ctx_stats(tctx, &ts);
	CU_ASSERT_EQUAL(ts.live, 0);
	tctx = mem_deref(tctx);
	CU_ASSERT_EQUAL(tmr_count(tmr), 0);
	mem_deref(tmr);
	free(inv);
}

void test_rel1xx_register(void);
void
test_rel1xx_register(void)
{
	CU_pSuite s = tu_suite("rel1xx");

	TU_ADD(s, test_uas_decide);
	TU_ADD(s, test_rseq_start);
	TU_ADD(s, test_retx_schedule);
	TU_ADD(s, test_prack_match);
	TU_ADD(s, test_queue_sdp);
	TU_ADD(s, test_send_refused);
	TU_ADD(s, test_uas_lifetime);
	TU_ADD(s, test_uac_order);
	TU_ADD(s, test_uac_forked);
	TU_ADD(s, test_rack_print);
	TU_ADD(s, test_roundtrip);
	TU_ADD(s, test_with_txn);
}
