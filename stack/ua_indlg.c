/* Requests within a session's dialog: RFC 3261 §12.2 (481, CSeq), §14
   (re-INVITE, §14.1 glare, §14.2 491 / 500), §15 (BYE) and the requests
   the app answers. See ua.h. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/rand.h>

#define LOG_MODULE "ua"
#include "log.h"
#include "mem.h"
#include "sip_write.h"
#include "sipw.h"
#include "tp.h"
#include "ua_int.h"

/* ---- requests within the dialog ------------------------------------ */

static struct dlg *
dlg_of_req(struct ua_sess *s, const struct sip_msg *msg)
{
	unsigned i;

	if (s->dlg && dlg_match_req(s->dlg, msg))
		return s->dlg;
	for (i = 0; i < s->nearly; i++)
		if (dlg_match_req(s->early[i], msg))
			return s->early[i];
	return NULL;
}

/* A random Retry-After of 0-10 s (§14.2) for a header line. */
static void
retry_after(char *buf, size_t size)
{
	unsigned char r = 0;

	RAND_bytes(&r, 1);
	snprintf(buf, size, "Retry-After: %u\r\n", r % 11);
}

static void
in_reinvite(struct ua_sess *s, const struct sip_msg *msg,
	    const struct txn_dest *src, struct dlg *d)
{
	struct sess_timer_uas st;
	struct ua_req *r;
	char ra[32];

	if (s->out_inv || s->state == UA_S_TERMINATING) {
		/* §14.2: "a UAS that receives an INVITE on a dialog while
		   an INVITE it had sent on that dialog is in progress MUST
		   return a 491". */
		ua_reject(s->ua, msg, src, 491, NULL, NULL);
		return;
	}
	if (s->in_inv || s->resp2xx_len || s->ireq) {
		/* §14.2: a second INVITE before the final response (or
		   ACK) of the first: 500 with a random Retry-After. */
		retry_after(ra, sizeof(ra));
		ua_reject(s->ua, msg, src, 500, NULL, ra);
		return;
	}
	if (ua_st_uas_check(s->ua, msg, src, &st))
		return; /* RFC 4028 §9: 422 */
	if (ua_req_new(&r, s->ua, s, msg, src, ua_srv_h)) {
		ua_reject(s->ua, msg, src, 500, NULL, NULL);
		return;
	}
	r->st = st;
	r->st_set = s->ua->stc.enabled;
	dlg_target_refresh(d, msg); /* §12.2.2 */
	r->next = s->reqs;
	s->reqs = r;
	s->in_inv = r;
	if (ua_st_local_refresh(s, r))
		return;
	ua_s_emit(s, UA_EV_REINVITE, 0, &r->msg, r, NULL, false);
}

static void
in_bye(struct ua_sess *s, const struct sip_msg *msg, const struct txn_dest *src)
{
	ua_reject(s->ua, msg, src, 200, NULL, NULL);
	s->ua->st.rejected[2]--; /* not a rejection */
	if (s->ireq && !s->ireq->answered) {
		/* A BYE before we answered the INVITE: 487 for it. */
		struct ua_req *r = s->ireq;

		ua_reply_msg(s->ua, r->txn, &r->msg, 487, NULL, s->ltag, NULL,
			     NULL, NULL, 0, false, NULL, NULL);
		r->answered = true;
		s->ireq = mem_deref(s->ireq);
	}
	tmr_cancel(&s->t_2xx);
	ua_s_over(s, UA_EV_ENDED, 200, msg, true);
}

static void
in_other(struct ua_sess *s, const struct sip_msg *msg,
	 const struct txn_dest *src, struct dlg *d)
{
	struct sess_timer_uas st;
	struct ua_req *r;
	bool upd = msg->mid == SIP_M_UPDATE;

	if (!s->h) {
		ua_reject(s->ua, msg, src, 501, NULL, NULL);
		return;
	}
	if (upd && ua_st_uas_check(s->ua, msg, src, &st))
		return; /* RFC 4028 §9: 422 */
	if (ua_req_new(&r, s->ua, s, msg, src, ua_srv_h)) {
		ua_reject(s->ua, msg, src, 500, NULL, NULL);
		return;
	}
	if (upd) {
		r->st = st;
		r->st_set = s->ua->stc.enabled;
		dlg_target_refresh(d, msg); /* RFC 3311 §5.2 */
	}
	r->next = s->reqs;
	s->reqs = r;
	if (upd && ua_st_local_refresh(s, r))
		return;
	ua_s_emit(s, UA_EV_REQUEST, 0, &r->msg, r, NULL, false);
}

void
ua_sess_in_dialog(struct ua_sess *s, const struct sip_msg *msg,
		  const struct txn_dest *src)
{
	struct dlg *d = dlg_of_req(s, msg);

	if (!d || s->state == UA_S_ENDED) { /* §12.2.2 */
		ua_reject(s->ua, msg, src, 481, NULL, NULL);
		return;
	}
	if (dlg_rseq_check(d, msg->cseq.num)) {
		/* §12.2.2: lower CSeq than the last one: out of order. */
		ua_reject(s->ua, msg, src, 500, "Out of Order CSeq", NULL);
		return;
	}
	switch (msg->mid) {
	case SIP_M_INVITE:
		in_reinvite(s, msg, src, d);
		break;
	case SIP_M_BYE:
		in_bye(s, msg, src);
		break;
	case SIP_M_PRACK:
		/* RFC 3262 §3: 200 when it matches our unacknowledged
		   reliable provisional response, else 481. */
		ua_rel_prack_in(s, msg, src);
		break;
	default:
		in_other(s, msg, src, d);
		break;
	}
}

int
ua_req_reply(struct ua_req *r, uint16_t status, const char *reason,
	     const char *hdrs, const char *ctype, const char *body,
	     size_t body_len)
{
	struct ua_xh xh = {NULL, NULL};
	struct sess_timer_neg neg;
	struct ua_sess *s;
	bool inv, ok2xx;
	int err;

	if (!r || status < 101 || status > 699)
		return EINVAL;
	s = r->s;
	if (r->answered || r->aborted || !s || !s->ua)
		return EPROTO;
	inv = r->msg.mid == SIP_M_INVITE;
	ok2xx = status >= 200 && status < 300;
	if (ok2xx && r->st_set)
		xh.st = &r->st; /* RFC 4028 §9 */
	err = ua_reply_xmsg(s->ua, r->txn, &r->msg, status, reason, s->ltag,
			    &xh, hdrs, ctype, body, body_len,
			    ok2xx && ua_wants_contact(r->msg.mid),
			    inv && ok2xx ? &s->resp2xx : NULL, &s->resp2xx_len);
	if (err || status < 200)
		return err;
	r->answered = true;
	mem_ref(s);
	if (ok2xx && (inv || r->msg.mid == SIP_M_UPDATE)) {
		/* The offer and answer hold once accepted (a rejected offer
		   is not the session's SDP). */
		ua_sdp_recv(s, &r->msg);
		ua_sdp_sent(s, ctype, body, body_len);
	}
	if (ok2xx && r->st_set) {
		sess_timer_uas_neg(&r->st, &neg);
		ua_st_start(s, &neg);
	}
	if (inv && ok2xx)
		ua_s_start_2xx(s, r);
	ua_reqs_unlink(s, r);
	mem_deref(s);
	return 0;
}

enum sip_method
ua_req_method(const struct ua_req *r)
{
	return r->msg.mid;
}

/* ---- our requests within the dialog -------------------------------- */

static int creq_resend(struct ua_sess *s, struct ua_creq *c);

/* §14.1 glare: T is 2.1-4 s when we own the Call-ID (we were the
   dialog's UAC), else 0-2 s, in units of 10 ms. */
static uint32_t
glare_delay(const struct ua_sess *s)
{
	uint16_t r = 0;

	RAND_bytes((unsigned char *)&r, sizeof(r));
	return s->uac ? 2100u + (r % 191u) * 10u : (r % 201u) * 10u;
}

static void
on_glare_timer(void *arg)
{
	struct ua_sess *s = mem_ref(arg);
	struct ua_creq *c = s->glare;

	if (c && s->in_inv) {
		/* Their re-INVITE is being answered: ours waits for it. */
		tmr_start(&s->t_glare, s->ua->tmr, glare_delay(s),
			  on_glare_timer, s);
		mem_deref(s);
		return;
	}
	s->glare = NULL;
	if (c && s->state == UA_S_CONFIRMED && creq_resend(s, c)) {
		if (!c->refresh)
			ua_s_emit(s, UA_EV_RESPONSE, 500, NULL, NULL, c->cookie,
				  false);
		ua_creq_free(c);
	}
	mem_deref(s);
}

/* A final response to a re-INVITE of ours. Returns true when the creq
   stays (2xx kept for ACK retransmissions, or a glare retry). */
static bool
reinvite_final(struct ua_sess *s, struct ua_creq *c,
	       const struct txn_cevent *ev)
{
	if (ev->status == 491 && c->tries < s->ua->conf.glare_tries &&
	    s->state == UA_S_CONFIRMED) {
		c->tries++;
		s->ua->st.glare++;
		s->glare = c;
		/* Our transaction is over: their re-INVITE may come in while
		   ours waits (it is not "in progress", §14.2). */
		s->out_inv = NULL;
		tmr_start(&s->t_glare, s->ua->tmr, glare_delay(s),
			  on_glare_timer, s);
		return true;
	}
	s->out_inv = NULL;
	if (ev->status >= 200 && ev->status < 300) {
		dlg_target_refresh(s->dlg, ev->msg); /* §12.2.1.2 */
		c->done = true;
		if (c->body_len || c->refresh) {
			ua_s_ack(s, c->cseq, NULL, NULL, 0);
		} else {
			s->ack_due = true; /* offer in the 2xx: the app ACKs */
			s->ack_due_cseq = c->cseq;
		}
	}
	return false;
}

/* Send c again in s's dialog (a glare or 422 retry): a new transaction
   and CSeq. Returns 0, or an error with c unlinked (the caller frees). */
static int
creq_resend(struct ua_sess *s, struct ua_creq *c)
{
	bool inv = c->mid == SIP_M_INVITE;
	int err;

	ua_creq_unlink(s, c);
	if (c->txn)
		txn_detach(c->txn);
	c->txn = mem_deref(c->txn);
	err = ua_s_send(s, c, inv ? "INVITE" : "UPDATE", c->hdrs, c->ctype,
			c->body, c->body_len);
	if (!err && inv)
		s->out_inv = c;
	return err;
}

/* RFC 4028 §7.3 for a request in the dialog: true when c went again. */
static bool
retry_422(struct ua_sess *s, struct ua_creq *c, const struct sip_msg *resp)
{
	bool retry = false;

	if (s->state != UA_S_CONFIRMED ||
	    sess_timer_uac_422(&c->stu, resp, &retry) || !retry)
		return false;
	s->ua->st.st_422++;
	if (creq_resend(s, c) == 0)
		return true;
	if (!c->refresh)
		ua_s_emit(s, UA_EV_RESPONSE, 500, NULL, NULL, c->cookie, false);
	ua_creq_free(c);
	return true;
}

void
ua_creq_resp_h(struct txn *txn, const struct txn_cevent *ev, void *arg)
{
	struct ua_creq *c = arg;
	struct ua_sess *s = c->s;
	bool keep = false;
	uint16_t st = ev->status;

	(void)txn;
	if (ev->ev == TXN_CEV_PROV_TIMEOUT ||
	    (ev->ev == TXN_CEV_RESPONSE && st < 200))
		return;
	if (!s) {
		ua_creq_free(c); /* fire and forget (a fork's BYE) */
		return;
	}
	if (c->done) {
		/* A retransmitted 2xx of a re-INVITE: ACK again. */
		if (ev->ev == TXN_CEV_RESPONSE && st < 300 && s->ack &&
		    s->acked_cseq == c->cseq)
			s->ua->send_h(&s->ack_dest, s->ack, s->ack_len,
				      s->ua->send_arg);
		return;
	}
	mem_ref(s);
	if (c->mid == SIP_M_BYE && c->internal) {
		ua_creq_unlink(s, c);
		ua_creq_free(c);
		/* RFC 4028 §10: the timer's BYE ends the session as 408 */
		ua_s_over(s, UA_EV_ENDED, s->expired ? 408 : st, ev->msg,
			  false);
	} else if (c->internal) {
		ua_creq_unlink(s, c); /* our CANCEL: the INVITE's final says */
		ua_creq_free(c);
	} else if (st == 422 && c->st_set && retry_422(s, c, ev->msg)) {
		/* RFC 4028 §7.3: sent again with the larger Min-SE */
	} else {
		if (c->mid == SIP_M_INVITE)
			keep = reinvite_final(s, c, ev);
		if (!keep && st >= 200 && st < 300 &&
		    (c->mid == SIP_M_INVITE || c->mid == SIP_M_UPDATE)) {
			ua_sdp_sent(s, c->ctype, c->body, c->body_len);
			ua_sdp_recv(s, ev->msg);
		}
		if (!keep && st >= 200 && st < 300 && c->st_set)
			ua_st_uac_2xx(s, &c->stu, ev->msg);
		if (!keep) {
			if (c->done)
				s->out_inv = NULL; /* stays listed for ACKs */
			else
				ua_creq_unlink(s, c);
			if (c->refresh && st >= 200 && st < 300)
				ua_s_emit(s, UA_EV_REFRESHED, st, ev->msg, NULL,
					  NULL, false);
			else if (c->refresh)
				ua_st_refresh_failed(s, c->mid, st);
			else
				ua_s_emit(s, UA_EV_RESPONSE, st, ev->msg, NULL,
					  c->cookie, false);
			if (!c->done)
				ua_creq_free(c);
			/* §12.2.1.2: 481 or 408 end the dialog. */
			if ((st == 481 || st == 408) &&
			    s->state == UA_S_CONFIRMED) {
				ua_s_state(s, UA_S_TERMINATING);
				if (st == 481 || ua_s_send_bye(s))
					ua_s_over(s, UA_EV_ENDED, st, NULL,
						  false);
			}
		}
	}
	mem_deref(s);
}

/* Forget re-INVITEs kept for ACK retransmissions once a new one starts. */
static void
purge_done(struct ua_sess *s)
{
	struct ua_creq **pp = &s->creqs;

	while (*pp) {
		struct ua_creq *c = *pp;

		if (c->done) {
			*pp = c->next;
			ua_creq_free(c);
		} else {
			pp = &c->next;
		}
	}
}

/* The dialog our requests go in: the confirmed one or the UAS early one
   (s->dlg), or for a UAC before the 2xx the early dialog of the latest
   provisional (RFC 3311 §5.1, RFC 3262 §4: UPDATE, INFO, PRACK ...). */
static struct dlg *
req_dlg(struct ua_sess *s)
{
	if (s->dlg)
		return s->dlg;
	if (s->uac && s->early_cur < s->nearly)
		return s->early[s->early_cur];
	return NULL;
}

int
ua_sess_request(struct ua_sess *s, const char *method, const char *hdrs,
		const char *ctype, const char *body, size_t body_len,
		void *cookie)
{
	struct pl m;
	struct ua_creq *c;

	if (!s || !s->ua || !method)
		return EINVAL;
	m = (struct pl){method, strlen(method)};
	if (!req_dlg(s) || s->state == UA_S_ENDED ||
	    s->state == UA_S_TERMINATING)
		return EPROTO;
	c = calloc(1, sizeof(*c));
	if (!c)
		return ENOMEM;
	c->mid = sip_method_id(&m);
	c->cookie = cookie;
	if (c->mid == SIP_M_ACK || c->mid == SIP_M_CANCEL ||
	    c->mid == SIP_M_BYE) {
		free(c);
		return EINVAL; /* ua_sess_ack() / ua_sess_end() */
	}
	if (c->mid == SIP_M_INVITE && (s->out_inv || s->glare || s->in_inv ||
				       s->state != UA_S_CONFIRMED)) {
		free(c);
		return EBUSY; /* §14.1 */
	}
	return ua_s_request_send(s, c, method, hdrs, ctype, body, body_len);
}

/*
 * Send the app's or the UA's request c in the dialog. A re-INVITE or
 * UPDATE in the confirmed dialog is a session refresh (RFC 4028 §7.4)
 * when timers are on: it carries Session-Expires and Min-SE and keeps
 * copies for a glare or 422 retry. Frees c on error.
 */
int
ua_s_request_send(struct ua_sess *s, struct ua_creq *c, const char *method,
		  const char *hdrs, const char *ctype, const char *body,
		  size_t body_len)
{
	bool tr = c->mid == SIP_M_INVITE || c->mid == SIP_M_UPDATE;
	int err = 0;

	if (c->mid == SIP_M_INVITE)
		purge_done(s);
	if (tr) {
		c->hdrs = ua_strdup(hdrs);
		c->ctype = ua_strdup(ctype);
		if (body && body_len)
			err = ua_memdup(&c->body, body, body_len);
		c->body_len = c->body ? body_len : 0;
	}
	if (tr && s->ua->stc.enabled && s->state == UA_S_CONFIRMED) {
		sess_timer_refresh_prep(&s->st, &s->ua->stc, &c->stu);
		c->stu.supported = false; /* "timer" is in Supported */
		c->st_set = true;
	}
	if (!err)
		err = ua_s_send_dlg(s, req_dlg(s), c, method, hdrs, ctype, body,
				    body_len);
	if (err) {
		ua_creq_free(c);
		return err;
	}
	if (c->mid == SIP_M_INVITE)
		s->out_inv = c;
	return 0;
}
