/* Bodies and in-dialog requests between the two legs of a call: SDP
   rewritten through the media relay (RFC 3264 offer/answer mapped leg by
   leg), re-INVITE (with offer, or offerless: offer in the 2xx, answer in
   the ACK, §14.1/§13.2.1), UPDATE, INFO, MESSAGE, NOTIFY relayed as new
   requests of the other dialog; OPTIONS answered here; REFER refused. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define LOG_MODULE "call"
#include "call_int.h"
#include "stack/log.h"
#include "stack/mem.h"
#include "stack/sdp.h"

static bool
is_sdp(const struct sip_msg *m)
{
	return m->ctype_set && pl_caseeq_str(&m->ctype.type, "application") &&
	       pl_caseeq_str(&m->ctype.subtype, "sdp");
}

/* The description just sent toward leg `to` (a transfer offers it to the
   new leg that takes that leg's place). */
static void
keep_sdp(struct call *c, int to, const char *body, size_t len)
{
	char *p = realloc(c->last_sdp[to], len ? len : 1);

	if (!p)
		return;
	memcpy(p, body, len);
	c->last_sdp[to] = p;
	c->last_sdp_len[to] = len;
}

int
call_sdp_cross(struct call *c, int from, const char *in, size_t inlen,
	       bool answer, const char **body, size_t *len)
{
	struct sdp *sdp = c->bw->sdp;
	int err;

	err = sdp_decode(sdp, in, inlen, NULL);
	if (!err && !answer)
		err = call_codecs_filter(c, from, sdp);
	else if (!err)
		call_codecs_note(c, sdp);
	if (!err)
		err = call_srtp_in(c, from, sdp, answer);
	if (!err) {
		/* RFC 7362: a trunk behind NAT is latched from any source */
		const struct pol_trunk *ft = call_leg_trunk(c, from);

		err = relay_sess_sdp_apply(c->rs, (enum relay_leg)from, sdp,
					   ft && ft->nat, true);
	}
	if (!err) {
		/* ICE attributes removed unless the receiving trunk keeps
		   them (the media issue, item 1) */
		const struct pol_trunk *tt = call_leg_trunk(c, 1 - from);

		err = relay_sess_sdp_rewrite(c->rs, (enum relay_leg)(1 - from),
					     sdp, true, tt && tt->keep_ice);
	}
	if (!err)
		err = call_srtp_out(c, 1 - from, sdp, answer);
	/* Our own origin toward each leg (RFC 3264 §5, §8): one session id
	   and a version that grows with every description we send there,
	   whichever B-leg attempt or far end the media comes from. */
	if (!err)
		err = sdp_origin_set(sdp, "tandem", c->osess,
				     ++c->over[1 - from]);
	if (!err)
		err = sdp_encode(sdp, c->bw->body, B2B_BODY_MAX, len);
	if (err) {
		LOGP_WARN(c->id, "SDP from the %s-leg not relayed: %s",
			  from == LEG_A ? "A" : "B", strerror(err));
		*len = 0;
		return err;
	}
	*body = c->bw->body;
	keep_sdp(c, 1 - from, *body, *len);
	return 0;
}

int
call_body_cross(struct call *c, int from, const struct sip_msg *msg,
		bool answer, const char **ctype, const char **body, size_t *len,
		char *tbuf, size_t tsz)
{
	const struct sip_hdr *h;
	int err;

	*ctype = *body = NULL;
	*len = 0;
	if (!msg || !msg->body.l)
		return 0;
	h = sip_msg_hdr(msg, SIP_HDR_CONTENT_TYPE);
	if (!h || h->val.l >= tsz)
		return EBADMSG;
	snprintf(tbuf, tsz, "%.*s", (int)h->val.l, h->val.p);
	*ctype = tbuf;
	if (!c->rs || !is_sdp(msg)) {
		*body = msg->body.p;
		*len = msg->body.l;
		return 0;
	}
	err = call_sdp_cross(c, from, msg->body.p, msg->body.l, answer, body,
			     len);
	if (err)
		*ctype = NULL;
	return err;
}

/* Headers that carry meaning across legs for these methods (RFC 6086
   Info-Package, RFC 6665 Event / Subscription-State, RFC 3326 Reason);
   everything else stays on its leg. */
static void
copy_hdrs(const struct sip_msg *m, char *buf, size_t size)
{
	static const char *const names[] = {"Info-Package", "Event",
					    "Subscription-State",
					    "Content-Disposition", "Reason"};
	size_t o = 0, i;

	buf[0] = '\0';
	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		const struct sip_hdr *h = sip_msg_hdr_name(m, names[i]);
		int w;

		if (!h)
			continue;
		w = snprintf(buf + o, size - o, "%s: %.*s\r\n", names[i],
			     (int)h->val.l, h->val.p);
		if (w < 0 || (size_t)w >= size - o) {
			buf[o] = '\0';
			return;
		}
		o += (size_t)w;
	}
}

static void
pend_destroy(void *arg)
{
	struct call_pend *p = arg;

	tmr_cancel(&p->t_guard);
	mem_deref(p->req);
	mem_deref(p->c);
}

/* The far leg has not answered a non-INVITE in time: the sender would
   give up at its 64*T1 (§17.1.2.2), as our own request would at the
   same moment; answer it now, a little earlier, with 504 (RFC 4320
   §4.2: never 408 to a non-INVITE; the transaction layer refuses it). */
static void
on_guard(void *arg)
{
	struct call_pend *p = arg;

	p->replied = true;
	(void)ua_req_reply(p->req, 504, "Server Time-out", NULL, NULL, NULL, 0);
}

static void
relay_req(struct call *c, int from, const struct ua_event *ev)
{
	int to = 1 - from;
	enum sip_method m = ua_req_method(ev->req);
	const char *ctype, *body;
	char tb[64], hdrs[512], mname[32];
	struct call_pend *p;
	size_t len;
	int err;

	if (m == SIP_M_OPTIONS) {
		(void)ua_req_reply(ev->req, 200, NULL, NULL, NULL, NULL, 0);
		return;
	}
	if (m == SIP_M_REFER) {
		/* Transfers are Tandem's business, never relayed. */
		call_xfer_refer(c, from, ev);
		return;
	}
	if (!c->leg[to] || c->done[to] || c->state == CALL_S_TERMINATING) {
		(void)ua_req_reply(ev->req, 481, "Other Leg Gone", NULL, NULL,
				   NULL, 0);
		return;
	}
	if (call_body_cross(c, from, ev->msg, false, &ctype, &body, &len, tb,
			    sizeof(tb))) {
		(void)ua_req_reply(ev->req, 488, "Not Acceptable Here", NULL,
				   NULL, NULL, 0);
		return;
	}
	p = mem_zalloc(sizeof(*p), pend_destroy);
	if (!p) {
		(void)ua_req_reply(ev->req, 500, "Out Of Memory", NULL, NULL,
				   NULL, 0);
		return;
	}
	p->c = mem_ref(c);
	p->req = mem_ref(ev->req);
	p->from = from;
	p->offerless = m == SIP_M_INVITE && !body;
	snprintf(mname, sizeof(mname), "%.*s", (int)ev->msg->method.l,
		 ev->msg->method.p);
	copy_hdrs(ev->msg, hdrs, sizeof(hdrs));
	err = ua_sess_request(c->leg[to], mname, hdrs[0] ? hdrs : NULL, ctype,
			      body, len, p);
	if (err) {
		LOGP_INFO(c->id, "%s from the %s-leg not relayed: %s", mname,
			  from == LEG_A ? "A" : "B", strerror(err));
		(void)ua_req_reply(ev->req, err == EBUSY ? 491 : 500,
				   err == EBUSY ? "Request Pending"
						: "Cannot Relay",
				   err == EBUSY ? NULL : "Retry-After: 1\r\n",
				   NULL, NULL, 0);
		mem_deref(p);
		return;
	}
	if (m != SIP_M_INVITE) {
		tmr_init(&p->t_guard);
		tmr_start(&p->t_guard, sipw_tmr(c->bw->w),
			  (uint64_t)c->bw->b2b->cfg.t1 * 56, on_guard, p);
	}
	atomic_fetch_add_explicit(&c->bw->b2b->st.relayed, 1,
				  memory_order_relaxed);
	LOGP_DBG(c->id, "%s relayed %s -> %s", mname, from ? "B" : "A",
		 to ? "B" : "A");
}

/* The answer to a request we relayed onto leg `at` from leg p->from. */
static void
relay_resp(struct call *c, int at, const struct ua_event *ev)
{
	struct call_pend *p = ev->cookie;
	const char *ctype = NULL, *body = NULL;
	char tb[64], ph[64];
	size_t len = 0;
	uint16_t st = ev->status;

	if (!p)
		return;
	snprintf(ph, sizeof(ph), "%.*s", ev->msg ? (int)ev->msg->reason.l : 0,
		 ev->msg && ev->msg->reason.p ? ev->msg->reason.p : "");
	/* the answer, unless the request had no offer (then it offers) */
	if (call_body_cross(c, at, ev->msg, !p->offerless, &ctype, &body, &len,
			    tb, sizeof(tb)) &&
	    st < 300) {
		st = 488;
		snprintf(ph, sizeof(ph), "Not Acceptable Here");
	}
	if (st >= 200 && st < 300 && p->offerless)
		c->ack_wait[at] = true; /* the answer comes in p->from's ACK */
	if (st == 408 && ua_req_method(p->req) != SIP_M_INVITE) {
		st = 504; /* RFC 4320 §4.2 */
		snprintf(ph, sizeof(ph), "Server Time-out");
	}
	if (!ph[0])
		snprintf(ph, sizeof(ph), "%s",
			 st == 408 ? "Request Timeout" : "Server Error");
	if (!p->replied)
		(void)ua_req_reply(p->req, st, ph, NULL, ctype, body, len);
	mem_deref(p);
}

/* The ACK on leg `from` for a 2xx we relayed: it may carry the answer
   the other leg waits for (an offerless INVITE or re-INVITE). */
static void
relay_ack(struct call *c, int from, const struct ua_event *ev)
{
	int to = 1 - from;
	const char *ctype = NULL, *body = NULL;
	char tb[64];
	size_t len = 0;
	int err;

	if (!c->ack_wait[to] || !c->leg[to] || c->done[to])
		return;
	c->ack_wait[to] = false;
	(void)call_body_cross(c, from, ev->msg, true, &ctype, &body, &len, tb,
			      sizeof(tb));
	err = ua_sess_ack(c->leg[to], ctype, body, len);
	if (err)
		LOGP_WARN(c->id, "ACK to the %s-leg: %s", to ? "B" : "A",
			  strerror(err));
}

void
call_relay_event(struct call *c, int from, const struct ua_event *ev)
{
	switch (ev->ev) {
	case UA_EV_REINVITE:
	case UA_EV_REQUEST:
		relay_req(c, from, ev);
		break;
	case UA_EV_RESPONSE:
		relay_resp(c, from, ev);
		break;
	case UA_EV_CONFIRMED:
		relay_ack(c, from, ev);
		break;
	default:
		break;
	}
}
