/* Session timers in the UA core: RFC 4028 §9 (422, the 2xx headers), §7
   (refresh requests), §10 (refresh at half the interval, BYE before
   expiry), and the per-leg refreshes the UA answers itself (the last SDP
   o= line remembered on both sides). See ua.h. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define LOG_MODULE "ua"
#include "log.h"
#include "mem.h"
#include "ua_int.h"

#define REFRESH_RETRY_MS 1000 /* an INVITE was in progress: try again */

static const char reason_expired[] =
	"Reason: SIP;cause=408;text=\"Session Timer Expired\"\r\n";

/* ---- the SDP memory ------------------------------------------------- */

static bool
is_sdp_type(const char *ctype)
{
	return !ctype || strcasecmp(ctype, "application/sdp") == 0;
}

/* Our last SDP (what a locally answered refresh and our own refreshes
   carry again, unchanged). */
void
ua_sdp_sent(struct ua_sess *s, const char *ctype, const char *body,
	    size_t body_len)
{
	if (!body || !body_len || !is_sdp_type(ctype) ||
	    !(s->ua->stc.enabled || s->ua->conf.answer_refreshes))
		return; /* nobody would send it again */
	if (ua_memdup(&s->lsdp, body, body_len) == 0)
		s->lsdp_len = body_len;
}

/* "sess-id sess-version" of the o= line of body into out; false if
   there is none (RFC 8866 §5.2: o=<user> <id> <version> ...). */
static bool
sdp_o_of(const struct pl *body, char *out, size_t size)
{
	const char *p = body->p, *end = body->p + body->l;
	const char *tok[3];
	unsigned n = 0;

	while (p && p + 2 <= end && !(p[0] == 'o' && p[1] == '=')) {
		p = memchr(p, '\n', (size_t)(end - p));
		p = p ? p + 1 : NULL;
	}
	if (!p || p + 2 > end)
		return false;
	p += 2;
	while (p < end && n < 3 && *p != '\r' && *p != '\n') {
		tok[n++] = p;
		while (p < end && *p != ' ' && *p != '\r' && *p != '\n')
			p++;
		while (p < end && *p == ' ')
			p++;
	}
	if (n < 3 || (size_t)(p - tok[1]) >= size)
		return false;
	snprintf(out, size, "%.*s", (int)(p - tok[1]), tok[1]);
	return true;
}

static bool
msg_sdp(const struct sip_msg *msg)
{
	return msg->body.l && msg->ctype_set &&
	       pl_caseeq_str(&msg->ctype.type, "application") &&
	       pl_caseeq_str(&msg->ctype.subtype, "sdp");
}

/* The peer's SDP in msg (if any) is now the last one received. */
void
ua_sdp_recv(struct ua_sess *s, const struct sip_msg *msg)
{
	char o[UA_SDP_O_MAX];

	if (msg && msg_sdp(msg) && sdp_o_of(&msg->body, o, sizeof(o)))
		memcpy(s->rsdp_o, o, sizeof(o));
}

void
ua_st_peer_allow(struct ua_sess *s, const struct sip_msg *msg)
{
	if (sip_hdr_has_token(msg, SIP_HDR_ALLOW, "UPDATE"))
		s->peer_update = true;
}

/* ---- negotiation ---------------------------------------------------- */

void
ua_st_start(struct ua_sess *s, const struct sess_timer_neg *neg)
{
	if (!s->ua || !s->ua->stc.enabled)
		return;
	if (sess_timer_start(&s->st, neg))
		LOGP_WARN(s->callid, "session timer not started");
	else if (neg->interval)
		LOGP_DBG(s->callid, "session interval %u s, %s refresh",
			 (unsigned)neg->interval,
			 neg->local_refresher ? "we" : "they");
}

/*
 * RFC 4028 §9 for a received INVITE or UPDATE: *res gets the decision
 * (all zero with timers off). Returns true when req was answered here:
 * 422 with our Min-SE ("Session Interval Too Small"), or 400 for a
 * Session-Expires / Min-SE that does not decode.
 */
bool
ua_st_uas_check(struct ua *ua, const struct sip_msg *req,
		const struct txn_dest *src, struct sess_timer_uas *res)
{
	char hdr[64];

	memset(res, 0, sizeof(*res));
	if (!ua->stc.enabled)
		return false;
	if (sess_timer_uas_decide(&ua->stc, req, res)) {
		ua_reject(ua, req, src, 400, "Bad Session-Expires", NULL);
		return true;
	}
	if (res->status == 422) {
		snprintf(hdr, sizeof(hdr), "Min-SE: %u\r\n",
			 (unsigned)res->min_se);
		ua->st.st_422++;
		ua_reject(ua, req, src, 422, "Session Interval Too Small", hdr);
		return true;
	}
	res->supported = false; /* "timer" is in our Supported list */
	return false;
}

/* RFC 4028 §7.2: the 2xx to our refresh request (stu) sets the timer. */
void
ua_st_uac_2xx(struct ua_sess *s, const struct sess_timer_uac *stu,
	      const struct sip_msg *resp)
{
	struct sess_timer_neg neg;

	if (!stu->enabled)
		return;
	if (sess_timer_uac_2xx(stu, resp, &neg))
		LOGP_WARN(s->callid, "2xx with a bad Session-Expires");
	ua_st_start(s, &neg);
}

/* ---- refreshes we answer -------------------------------------------- */

/* A re-INVITE / UPDATE that changes nothing: an UPDATE without SDP, or
   SDP with the o= session id and version of the last one received (RFC
   3264 §8: an unchanged version means an unchanged session). A re-INVITE
   without SDP asks for a fresh offer (§14.1, §13.2.1) and is the app's:
   a B2BUA relays it so the far side makes that offer. */
static bool
is_refresh(const struct ua_sess *s, const struct sip_msg *msg)
{
	char o[UA_SDP_O_MAX];

	if (!msg->body.l)
		return msg->mid == SIP_M_UPDATE;
	return msg_sdp(msg) && s->rsdp_o[0] &&
	       sdp_o_of(&msg->body, o, sizeof(o)) && strcmp(o, s->rsdp_o) == 0;
}

/*
 * conf.answer_refreshes: answer the received re-INVITE / UPDATE r
 * ourselves when it only refreshes the session, with our last SDP (an
 * offerless UPDATE gets a 200 without a body), and report it as
 * UA_EV_REFRESHED. Returns true when r was answered (it is gone then).
 */
bool
ua_st_local_refresh(struct ua_sess *s, struct ua_req *r)
{
	bool inv = r->msg.mid == SIP_M_INVITE;
	bool body;
	int err;

	if (!s->ua->conf.answer_refreshes || !s->lsdp ||
	    s->state != UA_S_CONFIRMED || !is_refresh(s, &r->msg))
		return false;
	body = inv || r->msg.body.l;
	mem_ref(r);
	err = ua_req_reply(r, 200, NULL, NULL, body ? "application/sdp" : NULL,
			   body ? s->lsdp : NULL, body ? s->lsdp_len : 0);
	if (!err) {
		s->quiet_ack = inv;
		s->ua->st.refresh_in++;
		ua_s_emit(s, UA_EV_REFRESHED, 200, &r->msg, NULL, NULL, true);
	}
	mem_deref(r);
	return err == 0;
}

/* ---- our refreshes and the expiry (§10) ----------------------------- */

static void send_refresh(struct ua_sess *s);

static void
on_refresh_retry(void *arg)
{
	struct ua_sess *s = mem_ref(arg);

	send_refresh(s);
	mem_deref(s);
}

/* §10: the refresher sends a re-INVITE, or an UPDATE when the peer
   allows it, carrying our last SDP unchanged. */
static void
send_refresh(struct ua_sess *s)
{
	bool upd = s->peer_update;
	struct ua_creq *c;

	if (s->state != UA_S_CONFIRMED || !s->ua)
		return;
	if (!upd && (s->out_inv || s->glare || s->in_inv || s->resp2xx_len)) {
		tmr_start(&s->t_refresh, s->ua->tmr, REFRESH_RETRY_MS,
			  on_refresh_retry, s);
		return;
	}
	c = calloc(1, sizeof(*c));
	if (!c)
		return;
	c->mid = upd ? SIP_M_UPDATE : SIP_M_INVITE;
	c->refresh = true;
	if (ua_s_request_send(s, c, upd ? "UPDATE" : "INVITE", NULL,
			      s->lsdp ? "application/sdp" : NULL, s->lsdp,
			      s->lsdp_len)) {
		LOGP_WARN(s->callid, "session refresh not sent");
		return;
	}
	s->ua->st.refresh_out++;
}

/* Our refresh failed with status. An UPDATE the peer refuses as unknown
   (405, 501) although it listed it: a re-INVITE instead, now. Others:
   the §10 expiry guard decides (and 408 / 481 already ended the
   dialog). */
void
ua_st_refresh_failed(struct ua_sess *s, enum sip_method mid, uint16_t status)
{
	LOGP_INFO(s->callid, "session refresh got %u", status);
	if (mid == SIP_M_UPDATE && (status == 405 || status == 501)) {
		s->peer_update = false;
		send_refresh(s);
	}
}

static void
on_refresh(void *arg)
{
	struct ua_sess *s = mem_ref(arg);

	send_refresh(s);
	mem_deref(s);
}

/* §10: "If no session refresh request is received [or completes] ...
   the UA SHOULD send a BYE to terminate the session." */
static void
on_expire(void *arg)
{
	struct ua_sess *s = mem_ref(arg);

	if (s->ua &&
	    (s->state == UA_S_CONFIRMED || s->state == UA_S_ANSWERED)) {
		LOGP_INFO(s->callid, "session timer expired: BYE");
		s->ua->st.st_expired++;
		s->expired = true;
		free(s->end_hdrs);
		s->end_hdrs = ua_strdup(reason_expired);
		tmr_cancel(&s->t_2xx);
		ua_s_state(s, UA_S_TERMINATING);
		if (ua_s_send_bye(s))
			ua_s_over(s, UA_EV_ENDED, 408, NULL, false);
	}
	mem_deref(s);
}

void
ua_st_init(struct ua_sess *s)
{
	sess_timer_init(&s->st, s->ua->tmr, on_refresh, on_expire, s);
	tmr_init(&s->t_refresh);
}
