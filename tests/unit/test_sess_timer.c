/* Unit tests: RFC 4028 session timer negotiation and timers
   (stack/sess_timer.c). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "stack/sess_timer.h"
#include "stack/sip_write.h"
#include "stack/mem.h"
#include "testutil.h"

/* A parsed message with its text (the message borrows it). */
struct pmsg {
	struct sip_msg msg;
	char buf[2048];
};

static struct pmsg *
pmsg_new(const char *start, const char *cseq, const char *extra)
{
	struct pmsg *m = calloc(1, sizeof(*m));
	struct sip_perr perr;
	int n;

	CU_ASSERT_PTR_NOT_NULL_FATAL(m);
	n = snprintf(m->buf, sizeof(m->buf),
		     "%s\r\n"
		     "Via: SIP/2.0/UDP 127.0.0.1:5060;branch=z9hG4bKst1\r\n"
		     "From: <sip:a@example.com>;tag=f1\r\n"
		     "To: <sip:b@example.com>%s\r\n"
		     "Call-ID: st-1@example.com\r\n"
		     "CSeq: %s\r\n"
		     "Max-Forwards: 70\r\n"
		     "%s"
		     "Content-Length: 0\r\n\r\n",
		     start, start[0] == 'S' ? ";tag=t1" : "", cseq, extra);
	CU_ASSERT_FATAL(n > 0 && (size_t)n < sizeof(m->buf));
	CU_ASSERT_EQUAL_FATAL(sip_msg_parse(&m->msg, m->buf, (size_t)n,
					    SIP_FRAMING_DGRAM, NULL, &perr),
			      0);
	return m;
}

static struct pmsg *
req_new(const char *extra)
{
	return pmsg_new("INVITE sip:b@example.com SIP/2.0", "1 INVITE", extra);
}

static struct pmsg *
resp_new(const char *status_line, const char *extra)
{
	return pmsg_new(status_line, "1 INVITE", extra);
}

/* Count the lines of header id in msg with exactly value val. */
static int
hdr_has(const struct sip_msg *msg, enum sip_hdr_id id, const char *val)
{
	const struct sip_hdr *h;
	int n = 0;

	for (h = sip_msg_hdr(msg, id); h; h = sip_msg_hdr_next(msg, h))
		n += pl_eq_str(&h->val, val);
	return n;
}

/* ------------------------------------------------------------------ */
/* UAS: the §9 negotiation matrix.                                     */

enum { F_DEFAULT = 0, F_WANT = 1, F_ALWAYS = 2, F_OFF = 4, F_MINSE = 8 };

struct uas_row {
	const char *name;
	const char *hdrs; /* Supported/Require/Session-Expires/Min-SE */
	int flags;	  /* cfg tweaks; F_MINSE: our min_se = 300 */
	uint16_t status;
	uint32_t min_se; /* for 422 */
	uint32_t interval;
	enum sip_refresher refresher;
	bool require;
	bool local;
};

#define SUP "Supported: timer\r\n"
#define R_UAC SIP_REFRESHER_UAC
#define R_UAS SIP_REFRESHER_UAS
#define R_NO SIP_REFRESHER_NONE

static const struct uas_row uas_rows[] = {
	/* Table 2 row 1: UAC does not support, no refresher -> uas */
	{"no-support se", "Session-Expires: 1800\r\n", 0, 0, 0, 1800, R_UAS,
	 false, true},
	/* row 2: supported, no refresher -> UAS chooses (config) */
	{"support se, uas picks uac", SUP "Session-Expires: 1800\r\n", 0, 0, 0,
	 1800, R_UAC, true, false},
	{"support se, uas picks uas", SUP "Session-Expires: 1800\r\n", F_WANT,
	 0, 0, 1800, R_UAS, true, true},
	/* rows 3 and 4: the request's refresher is honoured */
	{"refresher=uac honoured",
	 SUP "Session-Expires: 1800;refresher=uac\r\n", F_WANT, 0, 0, 1800,
	 R_UAC, true, false},
	{"refresher=uas honoured",
	 SUP "Session-Expires: 1800;refresher=uas\r\n", 0, 0, 0, 1800, R_UAS,
	 true, true},
	/* no 'timer' but a refresher=uac (not from the UAC): uas */
	{"no-support refresher=uac", "Session-Expires: 600;refresher=uac\r\n",
	 0, 0, 0, 600, R_UAS, false, true},
	/* Require: timer counts as support */
	{"require timer", "Require: timer\r\nSession-Expires: 900\r\n", 0, 0, 0,
	 900, R_UAC, true, false},
	/* option tags in a list, any case */
	{"tag in list", "Supported: 100rel, TIMER\r\nSession-Expires: 900\r\n",
	 0, 0, 0, 900, R_UAC, true, false},
	/* we reduce a large interval to our expires (1800) */
	{"reduced", SUP "Session-Expires: 7200\r\n", 0, 0, 0, 1800, R_UAC, true,
	 false},
	/* ... but never below the request's Min-SE */
	{"reduced to min-se", SUP "Session-Expires: 7200\r\nMin-SE: 3600\r\n",
	 0, 0, 0, 3600, R_UAC, true, false},
	/* never increased (MUST NOT increase) */
	{"small kept", SUP "Session-Expires: 120\r\n", 0, 0, 0, 120, R_UAC,
	 true, false},
	/* below our Min-SE with support: 422 + our Min-SE */
	{"422", SUP "Session-Expires: 200\r\n", F_MINSE, 422, 300, 0, R_NO,
	 false, false},
	{"422 at 89 vs 90", SUP "Session-Expires: 89\r\n", 0, 422, 90, 0, R_NO,
	 false, false},
	{"at min-se ok", SUP "Session-Expires: 300\r\n", F_MINSE, 0, 0, 300,
	 R_UAC, true, false},
	/* below our Min-SE without support: cannot 422, taken, uas */
	{"small no-support", "Session-Expires: 200\r\n", F_MINSE, 0, 0, 200,
	 R_UAS, false, true},
	/* no Session-Expires, support: UAS asks for one (cfg) */
	{"support no se", SUP, 0, 0, 0, 1800, R_UAC, true, false},
	{"support no se, min-se", SUP "Min-SE: 2400\r\n", 0, 0, 0, 2400, R_UAC,
	 true, false},
	{"support no se, want", SUP, F_WANT, 0, 0, 1800, R_UAS, true, true},
	/* no support, no SE: nothing, unless the UAS always wants one */
	{"nothing", "", 0, 0, 0, 0, R_NO, false, false},
	{"always", "", F_ALWAYS, 0, 0, 1800, R_UAS, false, true},
	/* disabled: nothing at all; Require: timer -> 420 */
	{"off", SUP "Session-Expires: 1800\r\n", F_OFF, 0, 0, 0, R_NO, false,
	 false},
	{"off require", "Require: timer\r\nSession-Expires: 1800\r\n", F_OFF,
	 420, 0, 0, R_NO, false, false},
};

static void
cfg_for(struct sess_timer_cfg *cfg, int flags)
{
	sess_timer_cfg_default(cfg);
	cfg->want_refresh = flags & F_WANT;
	cfg->uas_always = flags & F_ALWAYS;
	cfg->enabled = !(flags & F_OFF);
	if (flags & F_MINSE)
		cfg->min_se = 300;
	CU_ASSERT_EQUAL(sess_timer_cfg_check(cfg), 0);
}

static void
test_uas_matrix(void)
{
	for (size_t i = 0; i < sizeof(uas_rows) / sizeof(uas_rows[0]); i++) {
		const struct uas_row *r = &uas_rows[i];
		struct sess_timer_cfg cfg;
		struct sess_timer_uas res;
		struct pmsg *m = req_new(r->hdrs);
		bool ok;

		cfg_for(&cfg, r->flags);
		CU_ASSERT_EQUAL(sess_timer_uas_decide(&cfg, &m->msg, &res), 0);
		ok = res.status == r->status && res.min_se == r->min_se &&
		     res.interval == r->interval &&
		     res.refresher == r->refresher &&
		     res.require == r->require &&
		     res.local_refresher == r->local &&
		     res.supported == !(r->flags & F_OFF);
		if (!ok)
			fprintf(stderr,
				"\nrow '%s': status %u min_se %u interval %u "
				"refresher %d require %d local %d\n",
				r->name, res.status, (unsigned)res.min_se,
				(unsigned)res.interval, (int)res.refresher,
				res.require, res.local_refresher);
		CU_ASSERT(ok);
		free(m);
	}
}

/* Build a response with the UAS headers and parse it back. */
static struct pmsg *
uas_reply(const struct sip_msg *req, uint16_t status,
	  const struct sess_timer_uas *res)
{
	struct pmsg *out = calloc(1, sizeof(*out));
	struct sip_wbuf wb;
	struct sip_perr perr;
	struct pl totag = PL("t1");
	size_t len = 0;

	CU_ASSERT_PTR_NOT_NULL_FATAL(out);
	sip_wb_init(&wb, out->buf, sizeof(out->buf));
	sip_wb_reply(&wb, req, status, NULL, &totag);
	CU_ASSERT_EQUAL(sess_timer_uas_write(res, &wb), 0);
	CU_ASSERT_EQUAL_FATAL(sip_wb_end(&wb, NULL, &len), 0);
	CU_ASSERT_EQUAL_FATAL(sip_msg_parse(&out->msg, out->buf, len,
					    SIP_FRAMING_DGRAM, NULL, &perr),
			      0);
	return out;
}

static void
test_uas_write(void)
{
	struct sess_timer_cfg cfg;
	struct sess_timer_uas res;
	struct pmsg *req, *resp;

	sess_timer_cfg_default(&cfg);
	/* 2xx to a supporting UAC */
	req = req_new(SUP "Session-Expires: 1800\r\n");
	CU_ASSERT_EQUAL(sess_timer_uas_decide(&cfg, &req->msg, &res), 0);
	resp = uas_reply(&req->msg, 200, &res);
	CU_ASSERT_EQUAL(hdr_has(&resp->msg, SIP_HDR_SESSION_EXPIRES,
				"1800;refresher=uac"),
			1);
	CU_ASSERT_EQUAL(hdr_has(&resp->msg, SIP_HDR_REQUIRE, "timer"), 1);
	CU_ASSERT_EQUAL(hdr_has(&resp->msg, SIP_HDR_SUPPORTED, "timer"), 1);
	free(resp);
	free(req);

	/* 2xx to a UAC without 'timer': refresher=uas, no Require */
	req = req_new("Session-Expires: 1800\r\n");
	CU_ASSERT_EQUAL(sess_timer_uas_decide(&cfg, &req->msg, &res), 0);
	resp = uas_reply(&req->msg, 200, &res);
	CU_ASSERT_EQUAL(hdr_has(&resp->msg, SIP_HDR_SESSION_EXPIRES,
				"1800;refresher=uas"),
			1);
	CU_ASSERT_PTR_NULL(sip_msg_hdr(&resp->msg, SIP_HDR_REQUIRE));
	free(resp);
	free(req);

	/* 422 with our Min-SE */
	cfg.min_se = 300;
	req = req_new(SUP "Session-Expires: 100\r\n");
	CU_ASSERT_EQUAL(sess_timer_uas_decide(&cfg, &req->msg, &res), 0);
	CU_ASSERT_EQUAL(res.status, 422);
	resp = uas_reply(&req->msg, 422, &res);
	CU_ASSERT_EQUAL(resp->msg.status, 422);
	CU_ASSERT_TRUE(
		pl_eq_str(&resp->msg.reason, "Session Interval Too Small"));
	CU_ASSERT_EQUAL(hdr_has(&resp->msg, SIP_HDR_MIN_SE, "300"), 1);
	CU_ASSERT_PTR_NULL(sip_msg_hdr(&resp->msg, SIP_HDR_SESSION_EXPIRES));
	free(resp);
	free(req);

	/* 420 when disabled and required */
	cfg.enabled = false;
	req = req_new("Require: timer\r\n");
	CU_ASSERT_EQUAL(sess_timer_uas_decide(&cfg, &req->msg, &res), 0);
	CU_ASSERT_EQUAL(res.status, 420);
	resp = uas_reply(&req->msg, 420, &res);
	CU_ASSERT_EQUAL(hdr_has(&resp->msg, SIP_HDR_UNSUPPORTED, "timer"), 1);
	free(resp);
	free(req);
}

static void
test_uas_bad(void)
{
	struct sess_timer_cfg cfg;
	struct sess_timer_uas res;
	struct pmsg *m;

	sess_timer_cfg_default(&cfg);
	m = req_new(SUP "Session-Expires: soon\r\n");
	CU_ASSERT_EQUAL(sess_timer_uas_decide(&cfg, &m->msg, &res), EBADMSG);
	free(m);
	m = req_new(SUP "Session-Expires: 1800;refresher=me\r\n");
	CU_ASSERT_EQUAL(sess_timer_uas_decide(&cfg, &m->msg, &res), EBADMSG);
	free(m);
	m = req_new(SUP "Session-Expires: 1800\r\nMin-SE: x\r\n");
	CU_ASSERT_EQUAL(sess_timer_uas_decide(&cfg, &m->msg, &res), EBADMSG);
	free(m);
	/* Min-SE with a generic parameter is fine (§5) */
	m = req_new(SUP "Session-Expires: 1800\r\nMin-SE: 600;x=1\r\n");
	CU_ASSERT_EQUAL(sess_timer_uas_decide(&cfg, &m->msg, &res), 0);
	CU_ASSERT_EQUAL(res.req_min_se, 600);
	free(m);
	/* config rules (§4: Min-SE at least 90) */
	cfg.min_se = 89;
	CU_ASSERT_EQUAL(sess_timer_cfg_check(&cfg), EINVAL);
	cfg.min_se = 900;
	cfg.expires = 600;
	CU_ASSERT_EQUAL(sess_timer_cfg_check(&cfg), EINVAL);
}

/* ------------------------------------------------------------------ */
/* UAC                                                                 */

static void
uac_written(const struct sess_timer_uac *uac, char *out, size_t sz)
{
	char buf[1024];
	struct sip_wbuf wb;
	struct pl m = PL("INVITE"), ruri = PL("sip:b@example.com");
	size_t len = 0;

	sip_wb_init(&wb, buf, sizeof(buf));
	sip_wb_request(&wb, &m, &ruri);
	CU_ASSERT_EQUAL(sess_timer_uac_write(uac, &wb), 0);
	CU_ASSERT_EQUAL(sip_wb_end(&wb, NULL, &len), 0);
	/* the header lines between the request line and Content-Length */
	{
		const char *s = memchr(buf, '\n', len) + 1;
		const char *e = strstr(s, "Content-Length");
		size_t n = e ? (size_t)(e - s) : 0;

		CU_ASSERT_FATAL(n < sz);
		memcpy(out, s, n);
		out[n] = '\0';
	}
}

static void
test_uac_write(void)
{
	struct sess_timer_cfg cfg;
	struct sess_timer_uac uac;
	char out[512];

	sess_timer_cfg_default(&cfg);
	sess_timer_uac_init(&uac, &cfg);
	uac_written(&uac, out, sizeof(out));
	CU_ASSERT_STRING_EQUAL(out, "Supported: timer\r\n"
				    "Session-Expires: 1800\r\n"
				    "Min-SE: 90\r\n");
	cfg.want_refresh = true;
	cfg.expires = 600;
	cfg.min_se = 120;
	sess_timer_uac_init(&uac, &cfg);
	uac_written(&uac, out, sizeof(out));
	CU_ASSERT_STRING_EQUAL(out, "Supported: timer\r\n"
				    "Session-Expires: 600;refresher=uac\r\n"
				    "Min-SE: 120\r\n");
	uac.supported = false; /* the UA writes its own Supported list */
	uac_written(&uac, out, sizeof(out));
	CU_ASSERT_STRING_EQUAL(out, "Session-Expires: 600;refresher=uac\r\n"
				    "Min-SE: 120\r\n");
	cfg.enabled = false;
	sess_timer_uac_init(&uac, &cfg);
	uac_written(&uac, out, sizeof(out));
	CU_ASSERT_STRING_EQUAL(out, "");
}

struct uac2xx_row {
	const char *hdrs;
	int rc;
	uint32_t interval;
	bool local;
	enum sip_refresher refresher;
};

static const struct uac2xx_row uac2xx_rows[] = {
	/* §7.2: no Session-Expires in the 2xx: no timer */
	{"", 0, 0, false, R_NO},
	{"Require: timer\r\nSession-Expires: 1800;refresher=uac\r\n", 0, 1800,
	 true, R_UAC},
	{"Require: timer\r\nSession-Expires: 900;refresher=uas\r\n", 0, 900,
	 false, R_UAS},
	/* no Require (a proxy's doing): still the interval given */
	{"Session-Expires: 900;refresher=uas\r\n", 0, 900, false, R_UAS},
	/* refresher missing (UAS breaking §9): we refresh */
	{"Session-Expires: 900\r\n", 0, 900, true, R_UAC},
	{"Session-Expires: x\r\n", EBADMSG, 0, false, R_NO},
};

static void
test_uac_2xx(void)
{
	struct sess_timer_cfg cfg;
	struct sess_timer_uac uac;
	struct sess_timer_neg neg;

	sess_timer_cfg_default(&cfg);
	sess_timer_uac_init(&uac, &cfg);
	for (size_t i = 0; i < sizeof(uac2xx_rows) / sizeof(uac2xx_rows[0]);
	     i++) {
		const struct uac2xx_row *r = &uac2xx_rows[i];
		struct pmsg *m = resp_new("SIP/2.0 200 OK", r->hdrs);

		CU_ASSERT_EQUAL(sess_timer_uac_2xx(&uac, &m->msg, &neg), r->rc);
		CU_ASSERT_EQUAL(neg.interval, r->interval);
		CU_ASSERT_EQUAL(neg.local_refresher, r->local);
		CU_ASSERT_EQUAL(neg.refresher, r->refresher);
		if (!r->rc)
			CU_ASSERT_EQUAL(neg.min_se, 90);
		free(m);
	}
	/* not enabled: we did not offer 'timer', nothing runs */
	cfg.enabled = false;
	sess_timer_uac_init(&uac, &cfg);
	{
		struct pmsg *m =
			resp_new("SIP/2.0 200 OK", "Session-Expires: 900;"
						   "refresher=uas\r\n");

		CU_ASSERT_EQUAL(sess_timer_uac_2xx(&uac, &m->msg, &neg), 0);
		CU_ASSERT_EQUAL(neg.interval, 0);
		free(m);
	}
}

static void
test_uac_422(void)
{
	struct sess_timer_cfg cfg;
	struct sess_timer_uac uac;
	struct pmsg *m;
	bool retry;
	char out[512];

	sess_timer_cfg_default(&cfg);
	cfg.expires = 90;
	sess_timer_uac_init(&uac, &cfg);
	/* first 422: Min-SE 300 -> retry with 300/300 */
	m = resp_new("SIP/2.0 422 Session Interval Too Small",
		     "Min-SE: 300\r\n");
	CU_ASSERT_EQUAL(sess_timer_uac_422(&uac, &m->msg, &retry), 0);
	CU_ASSERT_TRUE(retry);
	CU_ASSERT_EQUAL(uac.expires, 300);
	CU_ASSERT_EQUAL(uac.min_se, 300);
	uac_written(&uac, out, sizeof(out));
	CU_ASSERT_STRING_EQUAL(out, "Supported: timer\r\n"
				    "Session-Expires: 300\r\n"
				    "Min-SE: 300\r\n");
	free(m);
	/* a 422 whose Min-SE is not above what we sent: no loop */
	m = resp_new("SIP/2.0 422 Session Interval Too Small",
		     "Min-SE: 200\r\n");
	CU_ASSERT_EQUAL(sess_timer_uac_422(&uac, &m->msg, &retry), 0);
	CU_ASSERT_FALSE(retry);
	CU_ASSERT_EQUAL(uac.min_se, 300);
	free(m);
	/* second 422 from another hop: the highest Min-SE wins */
	m = resp_new("SIP/2.0 422 Session Interval Too Small",
		     "Min-SE: 1200\r\n");
	CU_ASSERT_EQUAL(sess_timer_uac_422(&uac, &m->msg, &retry), 0);
	CU_ASSERT_TRUE(retry);
	CU_ASSERT_EQUAL(uac.expires, 1200);
	CU_ASSERT_EQUAL(uac.min_se, 1200);
	free(m);
	/* retry limit (2) reached */
	m = resp_new("SIP/2.0 422 Session Interval Too Small",
		     "Min-SE: 3600\r\n");
	CU_ASSERT_EQUAL(sess_timer_uac_422(&uac, &m->msg, &retry), 0);
	CU_ASSERT_FALSE(retry);
	CU_ASSERT_EQUAL(uac.expires, 1200);
	free(m);
	/* without Min-SE / with a bad one: no retry */
	sess_timer_uac_init(&uac, &cfg);
	m = resp_new("SIP/2.0 422 Session Interval Too Small", "");
	CU_ASSERT_EQUAL(sess_timer_uac_422(&uac, &m->msg, &retry), 0);
	CU_ASSERT_FALSE(retry);
	free(m);
	m = resp_new("SIP/2.0 422 Session Interval Too Small",
		     "Min-SE: -5\r\n");
	CU_ASSERT_EQUAL(sess_timer_uac_422(&uac, &m->msg, &retry), EBADMSG);
	CU_ASSERT_FALSE(retry);
	free(m);
}

/* UAC and UAS of this module talk to each other: the UAS's 422 drives
   the UAC's retry, which the UAS then accepts. */
static void
test_422_roundtrip(void)
{
	struct sess_timer_cfg ccfg, scfg;
	struct sess_timer_uac uac;
	struct sess_timer_uas res;
	struct sess_timer_neg neg;
	char hdrs[512];
	struct pmsg *req, *resp;
	bool retry;

	sess_timer_cfg_default(&ccfg);
	ccfg.expires = 120;
	sess_timer_cfg_default(&scfg);
	scfg.min_se = 600;
	sess_timer_uac_init(&uac, &ccfg);
	uac_written(&uac, hdrs, sizeof(hdrs));
	req = req_new(hdrs);
	CU_ASSERT_EQUAL(sess_timer_uas_decide(&scfg, &req->msg, &res), 0);
	CU_ASSERT_EQUAL(res.status, 422);
	resp = uas_reply(&req->msg, 422, &res);
	CU_ASSERT_EQUAL(sess_timer_uac_422(&uac, &resp->msg, &retry), 0);
	CU_ASSERT_TRUE(retry);
	free(resp);
	free(req);
	uac_written(&uac, hdrs, sizeof(hdrs));
	req = req_new(hdrs);
	CU_ASSERT_EQUAL(sess_timer_uas_decide(&scfg, &req->msg, &res), 0);
	CU_ASSERT_EQUAL(res.status, 0);
	CU_ASSERT_EQUAL(res.interval, 600);
	resp = uas_reply(&req->msg, 200, &res);
	CU_ASSERT_EQUAL(sess_timer_uac_2xx(&uac, &resp->msg, &neg), 0);
	CU_ASSERT_EQUAL(neg.interval, 600);
	CU_ASSERT_TRUE(neg.local_refresher); /* UAS picked uac */
	CU_ASSERT_EQUAL(neg.min_se, 600);
	free(resp);
	free(req);
}

/* ------------------------------------------------------------------ */
/* Timers (§10) with a fake clock                                      */

static uint64_t fake_now;

static uint64_t
fake_clock(void *arg)
{
	(void)arg;
	return fake_now;
}

struct ev {
	int refresh, expire;
	uint64_t at_refresh, at_expire;
};

static void
on_refresh(void *arg)
{
	struct ev *ev = arg;

	ev->refresh++;
	ev->at_refresh = fake_now;
}

static void
on_expire(void *arg)
{
	struct ev *ev = arg;

	ev->expire++;
	ev->at_expire = fake_now;
}

/* Advance the fake clock in 500 ms steps up to t, polling. */
static void
run_to(struct tmr_ctx *ctx, uint64_t t)
{
	while (fake_now < t) {
		fake_now += 500;
		tmr_poll(ctx);
	}
}

static void
test_timer_schedule(void)
{
	static const struct {
		uint32_t interval;
		uint64_t refresh, expire;
	} rows[] = {
		{90, 45000, 60000},		      /* 90 - min(32, 30) */
		{100, 50000, 68000},		      /* 100 - min(32, 33.3) */
		{1800, 900000, 1768000},	      /* 1800 - 32 */
		{96, 48000, 64000},		      /* 96 - 32 = 96 - 96/3 */
		{4000000, 2000000000, 3999968000ull}, /* no overflow */
	};

	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		CU_ASSERT_EQUAL(sess_timer_refresh_ms(rows[i].interval),
				rows[i].refresh);
		CU_ASSERT_EQUAL(sess_timer_expire_ms(rows[i].interval),
				rows[i].expire);
	}
}

static void
test_timer_refresher(void)
{
	struct tmr_ctx *ctx = NULL;
	struct sess_timer st;
	struct sess_timer_neg neg = {90, true, SIP_REFRESHER_UAC, 0};
	struct ev ev = {0};

	fake_now = 1000000;
	CU_ASSERT_EQUAL_FATAL(tmr_ctx_alloc(&ctx, fake_clock, NULL), 0);
	sess_timer_init(&st, ctx, on_refresh, on_expire, &ev);
	CU_ASSERT_FALSE(sess_timer_running(&st));
	CU_ASSERT_EQUAL(sess_timer_start(&st, &neg), 0);
	CU_ASSERT_EQUAL(sess_timer_remaining(&st), 45000);
	run_to(ctx, 1000000 + 44500);
	CU_ASSERT_EQUAL(ev.refresh, 0);
	run_to(ctx, 1000000 + 45000);
	CU_ASSERT_EQUAL(ev.refresh, 1);
	CU_ASSERT_EQUAL(ev.at_refresh, 1045000);
	/* refresh sent, 2xx 5 s later: restart from then */
	run_to(ctx, 1050000);
	CU_ASSERT_EQUAL(sess_timer_start(&st, &neg), 0);
	run_to(ctx, 1050000 + 45000);
	CU_ASSERT_EQUAL(ev.refresh, 2);
	CU_ASSERT_EQUAL(ev.at_refresh, 1095000);
	CU_ASSERT_EQUAL(ev.expire, 0);
	/* the refresh never completes: guard fires at 60 s */
	run_to(ctx, 1050000 + 70000);
	CU_ASSERT_EQUAL(ev.expire, 1);
	CU_ASSERT_EQUAL(ev.at_expire, 1050000 + 60000);
	CU_ASSERT_FALSE(sess_timer_running(&st));
	run_to(ctx, 1050000 + 200000);
	CU_ASSERT_EQUAL(ev.refresh, 2);
	CU_ASSERT_EQUAL(ev.expire, 1);
	CU_ASSERT_EQUAL(tmr_count(ctx), 0);
	mem_deref(ctx);
}

static void
test_timer_remote(void)
{
	struct tmr_ctx *ctx = NULL;
	struct sess_timer st;
	struct sess_timer_neg neg = {1800, false, SIP_REFRESHER_UAS, 0};
	struct sess_timer_neg off = {0, false, SIP_REFRESHER_NONE, 0};
	struct ev ev = {0};

	fake_now = 0;
	CU_ASSERT_EQUAL_FATAL(tmr_ctx_alloc(&ctx, fake_clock, NULL), 0);
	sess_timer_init(&st, ctx, on_refresh, on_expire, &ev);
	CU_ASSERT_EQUAL(sess_timer_start(&st, &neg), 0);
	CU_ASSERT_EQUAL(sess_timer_remaining(&st), 1768000);
	/* the peer refreshes at 900 s: restart */
	run_to(ctx, 900000);
	CU_ASSERT_EQUAL(sess_timer_start(&st, &neg), 0);
	run_to(ctx, 900000 + 1767500);
	CU_ASSERT_EQUAL(ev.expire, 0);
	run_to(ctx, 900000 + 1768000);
	CU_ASSERT_EQUAL(ev.expire, 1);
	CU_ASSERT_EQUAL(ev.at_expire, 900000 + 1768000);
	CU_ASSERT_EQUAL(ev.refresh, 0);
	/* a 2xx without Session-Expires turns it off; stop is idempotent */
	CU_ASSERT_EQUAL(sess_timer_start(&st, &neg), 0);
	CU_ASSERT_TRUE(sess_timer_running(&st));
	CU_ASSERT_EQUAL(sess_timer_start(&st, &off), 0);
	CU_ASSERT_FALSE(sess_timer_running(&st));
	CU_ASSERT_EQUAL(sess_timer_start(&st, &neg), 0);
	sess_timer_stop(&st);
	sess_timer_stop(&st);
	CU_ASSERT_EQUAL(sess_timer_remaining(&st), 0);
	run_to(ctx, 10000000);
	CU_ASSERT_EQUAL(ev.expire, 1);
	CU_ASSERT_EQUAL(tmr_count(ctx), 0);
	mem_deref(ctx);
}

/* §7.4: the next refresh carries the current interval, our refresher
   role named from the new transaction, and the largest Min-SE seen. */
static void
test_refresh_prep(void)
{
	struct tmr_ctx *ctx = NULL;
	struct sess_timer_cfg cfg;
	struct sess_timer st;
	struct sess_timer_uac uac;
	struct sess_timer_neg neg = {1200, false, SIP_REFRESHER_UAC, 400};
	struct ev ev = {0};
	char out[512];

	fake_now = 0;
	CU_ASSERT_EQUAL_FATAL(tmr_ctx_alloc(&ctx, fake_clock, NULL), 0);
	sess_timer_cfg_default(&cfg);
	sess_timer_init(&st, ctx, on_refresh, on_expire, &ev);
	/* we were the UAS; the UAC refreshes; we now send a re-INVITE */
	CU_ASSERT_EQUAL(sess_timer_start(&st, &neg), 0);
	sess_timer_note_min_se(&st, 200); /* lower: ignored */
	sess_timer_refresh_prep(&st, &cfg, &uac);
	uac_written(&uac, out, sizeof(out));
	CU_ASSERT_STRING_EQUAL(out, "Supported: timer\r\n"
				    "Session-Expires: 1200;refresher=uas\r\n"
				    "Min-SE: 400\r\n");
	/* we refresh: refresher=uac in our request */
	neg.local_refresher = true;
	CU_ASSERT_EQUAL(sess_timer_start(&st, &neg), 0);
	sess_timer_note_min_se(&st, 500);
	sess_timer_refresh_prep(&st, &cfg, &uac);
	uac_written(&uac, out, sizeof(out));
	CU_ASSERT_STRING_EQUAL(out, "Supported: timer\r\n"
				    "Session-Expires: 1200;refresher=uac\r\n"
				    "Min-SE: 500\r\n");
	/* no timer running: an initial-style request */
	sess_timer_stop(&st);
	sess_timer_refresh_prep(&st, &cfg, &uac);
	uac_written(&uac, out, sizeof(out));
	CU_ASSERT_STRING_EQUAL(out, "Supported: timer\r\n"
				    "Session-Expires: 1800\r\n"
				    "Min-SE: 500\r\n");
	CU_ASSERT_EQUAL(tmr_count(ctx), 0);
	mem_deref(ctx);
}

/* A handler may stop or free the owner of the timer. */
struct owner {
	struct sess_timer st;
	int n;
};

static void
free_owner(void *arg)
{
	struct owner *o = arg;

	sess_timer_stop(&o->st);
	free(o);
}

static void
test_timer_free_in_handler(void)
{
	struct tmr_ctx *ctx = NULL;
	struct sess_timer_neg neg = {90, true, SIP_REFRESHER_UAC, 0};
	struct owner *o = calloc(1, sizeof(*o));

	CU_ASSERT_PTR_NOT_NULL_FATAL(o);
	fake_now = 0;
	CU_ASSERT_EQUAL_FATAL(tmr_ctx_alloc(&ctx, fake_clock, NULL), 0);
	sess_timer_init(&o->st, ctx, free_owner, NULL, o);
	CU_ASSERT_EQUAL(sess_timer_start(&o->st, &neg), 0);
	run_to(ctx, 45000); /* frees o; ASan would see a use after */
	CU_ASSERT_EQUAL(tmr_count(ctx), 0);
	mem_deref(ctx);
}

void test_sess_timer_register(void);
void
test_sess_timer_register(void)
{
	CU_pSuite s = tu_suite("sess_timer");

	TU_ADD(s, test_uas_matrix);
	TU_ADD(s, test_uas_write);
	TU_ADD(s, test_uas_bad);
	TU_ADD(s, test_uac_write);
	TU_ADD(s, test_uac_2xx);
	TU_ADD(s, test_uac_422);
	TU_ADD(s, test_422_roundtrip);
	TU_ADD(s, test_timer_schedule);
	TU_ADD(s, test_timer_refresher);
	TU_ADD(s, test_timer_remote);
	TU_ADD(s, test_refresh_prep);
	TU_ADD(s, test_timer_free_in_handler);
}
