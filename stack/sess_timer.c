/* Session timers: RFC 4028 §7 (UAC), §9 (UAS), §10 (timer behaviour). */
#include "sess_timer.h"

#include <errno.h>
#include <string.h>

#define LOG_MODULE "sess_timer"
#include "log.h"

static uint32_t
max_u32(uint32_t a, uint32_t b)
{
	return a > b ? a : b;
}

static uint32_t
min_u32(uint32_t a, uint32_t b)
{
	return a < b ? a : b;
}

void
sess_timer_cfg_default(struct sess_timer_cfg *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->enabled = true;
	cfg->expires = 1800;
	cfg->min_se = SESS_TIMER_MIN_SE;
	cfg->max_422 = 2;
}

int
sess_timer_cfg_check(const struct sess_timer_cfg *cfg)
{
	/* §4: "MUST NOT be less than 90 seconds" for Min-SE; §7.1: the
	   Session-Expires "MUST be greater than or equal to" the Min-SE */
	if (!cfg || cfg->min_se < SESS_TIMER_MIN_SE ||
	    cfg->expires < cfg->min_se)
		return EINVAL;
	return 0;
}

/* Min-SE = delta-seconds *(SEMI generic-param) (§5). *v 0 if absent. */
static int
min_se_get(const struct sip_msg *msg, uint32_t *v)
{
	const struct sip_hdr *h = sip_msg_hdr(msg, SIP_HDR_MIN_SE);
	const char *why = NULL;
	struct pl n;
	size_t i;

	*v = 0;
	if (!h)
		return 0;
	for (i = 0; i < h->val.l && h->val.p[i] != ';'; i++)
		;
	pl_set(&n, h->val.p, i);
	if (sip_delta_decode(v, &n, &why) || *v == 0) {
		*v = 0;
		return EBADMSG;
	}
	return 0;
}

/* *have false and 0 when there is no Session-Expires. */
static int
se_get(const struct sip_msg *msg, struct sip_session_expires *se, bool *have)
{
	const struct sip_hdr *h = sip_msg_hdr(msg, SIP_HDR_SESSION_EXPIRES);
	const char *why = NULL;

	memset(se, 0, sizeof(*se));
	*have = h != NULL;
	if (!h)
		return 0;
	if (sip_session_expires_decode(se, &h->val, &why)) {
		*have = false;
		return EBADMSG;
	}
	return 0;
}

/* ------------------------------------------------------------------ */
/* UAC                                                                 */

void
sess_timer_uac_init(struct sess_timer_uac *uac,
		    const struct sess_timer_cfg *cfg)
{
	memset(uac, 0, sizeof(*uac));
	uac->enabled = cfg->enabled;
	if (!cfg->enabled)
		return;
	uac->supported = true;
	uac->expires = cfg->expires;
	uac->min_se = cfg->min_se;
	/* §7.1: "The UAC MAY include the refresher parameter with value
	   'uac' if it wants to perform the refreshes. However, it is
	   RECOMMENDED that the parameter be omitted" */
	uac->refresher =
		cfg->want_refresh ? SIP_REFRESHER_UAC : SIP_REFRESHER_NONE;
	uac->max_422 = cfg->max_422;
}

static const char *
refresher_name(enum sip_refresher r)
{
	return r == SIP_REFRESHER_UAC ? "uac" : "uas";
}

int
sess_timer_uac_write(const struct sess_timer_uac *uac, struct sip_wbuf *wb)
{
	int err = 0;

	if (!uac->enabled)
		return 0;
	/* §7.1: "MUST include a Supported header field in each request
	   (except ACK), listing the option tag 'timer'" */
	if (uac->supported)
		err = sip_wb_hdrf(wb, SIP_HDR_SUPPORTED, "timer");
	if (uac->expires && uac->refresher != SIP_REFRESHER_NONE)
		err = sip_wb_hdrf(wb, SIP_HDR_SESSION_EXPIRES,
				  "%u;refresher=%s", (unsigned)uac->expires,
				  refresher_name(uac->refresher));
	else if (uac->expires)
		err = sip_wb_hdrf(wb, SIP_HDR_SESSION_EXPIRES, "%u",
				  (unsigned)uac->expires);
	/* §7.1: Session-Expires "MUST be greater than or equal to" a
	   Min-SE we include; §7.4: Min-SE the largest seen */
	if (uac->min_se)
		err = sip_wb_hdrf(wb, SIP_HDR_MIN_SE, "%u",
				  (unsigned)uac->min_se);
	return err;
}

int
sess_timer_uac_2xx(const struct sess_timer_uac *uac, const struct sip_msg *resp,
		   struct sess_timer_neg *neg)
{
	struct sip_session_expires se;
	bool have;
	int err;

	memset(neg, 0, sizeof(*neg));
	if (!uac->enabled)
		return 0;
	neg->min_se = uac->min_se;
	err = se_get(resp, &se, &have);
	/* §7.2: "If the 2xx response did not contain a Session-Expires
	   header field, there is no session expiration" */
	if (err || !have)
		return err;
	neg->interval = se.delta;
	/* §7.2: refresher=uac puts the refreshes on us, uas on the peer.
	   §9 makes the UAS always set it; if it did not, we refresh. */
	neg->refresher = se.refresher == SIP_REFRESHER_UAS ? SIP_REFRESHER_UAS
							   : SIP_REFRESHER_UAC;
	neg->local_refresher = neg->refresher == SIP_REFRESHER_UAC;
	return 0;
}

int
sess_timer_uac_422(struct sess_timer_uac *uac, const struct sip_msg *resp,
		   bool *retry)
{
	uint32_t v;
	int err;

	*retry = false;
	err = min_se_get(resp, &v);
	if (err || !v || !uac->enabled)
		return err;
	if (uac->n422 >= uac->max_422 || v <= uac->expires) {
		LOG_DBG("422 with Min-SE %u: no retry (%u sent, %u/%u)",
			(unsigned)v, (unsigned)uac->expires,
			(unsigned)uac->n422, (unsigned)uac->max_422);
		return 0;
	}
	uac->n422++;
	/* §7.3: the new request's Session-Expires is at least the 422's
	   Min-SE, and it carries a Min-SE that is "the largest value
	   amongst all Min-SE values returned in all 422 responses" */
	uac->min_se = max_u32(uac->min_se, v);
	uac->expires = max_u32(uac->expires, uac->min_se);
	*retry = true;
	return 0;
}

/* ------------------------------------------------------------------ */
/* UAS                                                                 */

/* §9 Table 2: who refreshes, given the request. */
static enum sip_refresher
uas_refresher(const struct sess_timer_cfg *cfg, bool supports,
	      enum sip_refresher asked)
{
	/* A UAC without 'timer' cannot refresh: "the UAS MUST set the
	   refresher parameter to 'uas'" (row 1; also when a refresher it
	   cannot honour was put in by someone else) */
	if (!supports)
		return SIP_REFRESHER_UAS;
	/* rows 3 and 4: a refresher in the request is copied */
	if (asked != SIP_REFRESHER_NONE)
		return asked;
	/* row 2: the UAS chooses */
	return cfg->want_refresh ? SIP_REFRESHER_UAS : SIP_REFRESHER_UAC;
}

/* The interval granted for a request asking for asked seconds (0: no
   Session-Expires) with Min-SE floor. */
static uint32_t
uas_interval(const struct sess_timer_cfg *cfg, uint32_t asked, uint32_t floor)
{
	uint32_t want = max_u32(cfg->expires, floor);

	if (!asked)
		return want;
	/* §9: the UAS "MAY reduce its value but MUST NOT set it to a
	   duration lower than the value in the Min-SE header field in the
	   request, if it is present; otherwise ... lower than 90 seconds.
	   The UAS MUST NOT increase the value" */
	return min_u32(asked, want);
}

int
sess_timer_uas_decide(const struct sess_timer_cfg *cfg,
		      const struct sip_msg *req, struct sess_timer_uas *res)
{
	struct sip_session_expires se;
	bool have, supports;
	uint32_t floor;
	int err;

	memset(res, 0, sizeof(*res));
	if (!cfg->enabled) {
		/* RFC 3261 §8.2.2.3: an extension we do not apply */
		if (sip_hdr_has_token(req, SIP_HDR_REQUIRE, "timer"))
			res->status = 420;
		return 0;
	}
	/* §9: "MUST include a Supported header field in each response",
	   listing 'timer', "even if the UAS is not requesting usage" */
	res->supported = true;
	err = min_se_get(req, &res->req_min_se);
	if (!err)
		err = se_get(req, &se, &have);
	if (err)
		return err;
	supports = sip_hdr_has_token(req, SIP_HDR_SUPPORTED, "timer") ||
		   sip_hdr_has_token(req, SIP_HDR_REQUIRE, "timer");
	/* §9: with Supported: timer and a Session-Expires below our
	   minimum the UAS rejects with 422 and "MUST include a Min-SE
	   header field with the value of its minimum interval". Without
	   'timer' a 422 could not be understood: the interval is taken. */
	if (have && supports && se.delta < cfg->min_se) {
		res->status = 422;
		res->min_se = cfg->min_se;
		return 0;
	}
	if (!have && !supports && !cfg->uas_always)
		return 0;
	floor = max_u32(res->req_min_se, SESS_TIMER_MIN_SE);
	res->interval = uas_interval(cfg, have ? se.delta : 0, floor);
	res->refresher = uas_refresher(
		cfg, supports, have ? se.refresher : SIP_REFRESHER_NONE);
	res->local_refresher = res->refresher == SIP_REFRESHER_UAS;
	/* §9: a 2xx may only Require what the UAC supports (RFC 3261
	   §8.2.2.3); with 'timer' supported, Require: timer tells the UAC
	   the UAS applies the timer (it MUST when refresher=uac) */
	res->require = supports;
	return 0;
}

int
sess_timer_uas_write(const struct sess_timer_uas *res, struct sip_wbuf *wb)
{
	int err = 0;

	if (res->status == 420)
		return sip_wb_hdrf(wb, SIP_HDR_UNSUPPORTED, "timer");
	if (res->supported)
		err = sip_wb_hdrf(wb, SIP_HDR_SUPPORTED, "timer");
	if (res->status == 422)
		return sip_wb_hdrf(wb, SIP_HDR_MIN_SE, "%u",
				   (unsigned)res->min_se);
	if (res->interval)
		err = sip_wb_hdrf(wb, SIP_HDR_SESSION_EXPIRES,
				  "%u;refresher=%s", (unsigned)res->interval,
				  refresher_name(res->refresher));
	if (res->interval && res->require)
		err = sip_wb_hdrf(wb, SIP_HDR_REQUIRE, "timer");
	return err;
}

void
sess_timer_uas_neg(const struct sess_timer_uas *res, struct sess_timer_neg *neg)
{
	memset(neg, 0, sizeof(*neg));
	if (res->status)
		return;
	neg->interval = res->interval;
	neg->refresher = res->refresher;
	neg->local_refresher = res->local_refresher;
	neg->min_se = res->req_min_se;
}

/* ------------------------------------------------------------------ */
/* Running timer (§10)                                                 */

uint64_t
sess_timer_refresh_ms(uint32_t interval)
{
	/* §10: the refresher sends a refresh "when half the session
	   interval has elapsed" */
	return (uint64_t)interval * 1000 / 2;
}

uint64_t
sess_timer_expire_ms(uint32_t interval)
{
	uint64_t ms = (uint64_t)interval * 1000;
	uint64_t third = ms / 3;

	/* §10: BYE before the session expires, "the minimum of 32 seconds
	   and one third of the session interval" before it */
	return ms - (third < 32000 ? third : 32000);
}

void
sess_timer_init(struct sess_timer *st, struct tmr_ctx *ctx,
		sess_timer_h *refresh_h, sess_timer_h *expire_h, void *arg)
{
	memset(st, 0, sizeof(*st));
	tmr_init(&st->tmr);
	st->ctx = ctx;
	st->refresh_h = refresh_h;
	st->expire_h = expire_h;
	st->arg = arg;
}

static void
on_expire(void *arg)
{
	struct sess_timer *st = arg;

	LOG_DBG("session interval %u s expiring", (unsigned)st->interval);
	st->interval = 0;
	/* last: the handler may stop, restart or free st */
	if (st->expire_h)
		st->expire_h(st->arg);
}

static void
on_refresh(void *arg)
{
	struct sess_timer *st = arg;
	uint64_t rest = sess_timer_expire_ms(st->interval) -
			sess_timer_refresh_ms(st->interval);

	st->refresh_fired = true;
	/* Should the refresh not complete (timeout, 408, 481, glare
	   forever), the session still ends like the peer's (§10) */
	if (tmr_start(&st->tmr, st->ctx, rest, on_expire, st))
		LOG_WARN("cannot arm the session expiry guard");
	if (st->refresh_h)
		st->refresh_h(st->arg);
}

int
sess_timer_start(struct sess_timer *st, const struct sess_timer_neg *neg)
{
	int err;

	tmr_cancel(&st->tmr);
	sess_timer_note_min_se(st, neg->min_se);
	st->interval = neg->interval;
	st->local_refresher = neg->local_refresher;
	st->refresh_fired = false;
	if (!neg->interval)
		return 0;
	st->started = tmr_now(st->ctx);
	/* §10: the timer runs from the 2xx to the session refresh */
	if (st->local_refresher)
		err = tmr_start(&st->tmr, st->ctx,
				sess_timer_refresh_ms(st->interval), on_refresh,
				st);
	else
		err = tmr_start(&st->tmr, st->ctx,
				sess_timer_expire_ms(st->interval), on_expire,
				st);
	if (err)
		st->interval = 0;
	return err;
}

void
sess_timer_stop(struct sess_timer *st)
{
	tmr_cancel(&st->tmr);
	st->interval = 0;
}

bool
sess_timer_running(const struct sess_timer *st)
{
	return tmr_isrunning(&st->tmr);
}

uint64_t
sess_timer_remaining(const struct sess_timer *st)
{
	return tmr_remaining(&st->tmr);
}

void
sess_timer_note_min_se(struct sess_timer *st, uint32_t min_se)
{
	st->min_se = max_u32(st->min_se, min_se);
}

void
sess_timer_refresh_prep(const struct sess_timer *st,
			const struct sess_timer_cfg *cfg,
			struct sess_timer_uac *uac)
{
	sess_timer_uac_init(uac, cfg);
	if (!cfg->enabled)
		return;
	/* §7.4: the Session-Expires of a refresh is the current interval,
	   the refresher keeps its side, named from the new transaction:
	   uac when we (now the UAC) refresh */
	if (st->interval) {
		uac->expires = max_u32(st->interval, cfg->min_se);
		uac->refresher = st->local_refresher ? SIP_REFRESHER_UAC
						     : SIP_REFRESHER_UAS;
	}
	/* §7.4: Min-SE "the largest value amongst all Min-SE values" seen
	   on the dialog (422s and received refresh requests) */
	uac->min_se = max_u32(cfg->min_se, st->min_se);
	uac->expires = max_u32(uac->expires, uac->min_se);
}
