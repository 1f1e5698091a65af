/* The INVITE that creates a session, both sides: RFC 3261 §13.2 (UAC:
   early dialogs, forked 2xx §13.2.2.4, ACK) and §13.3 (UAS: answers, the
   §13.3.1.4 2xx retransmission, §9.2 CANCEL). See ua.h. */
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

/* ---- UAC: the initial INVITE --------------------------------------- */

static void inv_resp_h(struct txn *txn, const struct txn_cevent *ev, void *arg);

static int
conn_build(struct ua_sess *s, const struct ua_conn *c, char *buf, size_t size,
	   size_t *len)
{
	struct ua *ua = s->ua;
	struct pl ruri = {c->ruri, strlen(c->ruri)}, via, v;
	char vbuf[256], nb[1024];
	struct sip_wbuf wb;
	size_t nl;
	int err;

	err = ua_via(ua, (enum tp_proto)c->dest.proto, vbuf, sizeof(vbuf),
		     &via);
	if (err)
		return err;
	sip_wb_init(&wb, buf, size);
	sip_wb_request(&wb, &PL("INVITE"), &ruri);
	sip_wb_hdr(&wb, SIP_HDR_VIA, &via);
	sip_wb_hdrf(&wb, SIP_HDR_MAX_FORWARDS, "%u",
		    c->max_forwards ? c->max_forwards : 70);
	v = (struct pl){c->from_uri, strlen(c->from_uri)};
	err = sip_naddr_print(
		nb, sizeof(nb), &nl,
		&(struct pl){c->from_name,
			     c->from_name ? strlen(c->from_name) : 0},
		&v, &(struct pl){s->ltag, UA_TAG_LEN});
	if (err)
		return err;
	sip_wb_hdr(&wb, SIP_HDR_FROM, &(struct pl){nb, nl});
	v = (struct pl){c->to_uri, strlen(c->to_uri)};
	err = sip_naddr_print(
		nb, sizeof(nb), &nl,
		&(struct pl){c->to_name, c->to_name ? strlen(c->to_name) : 0},
		&v, NULL);
	if (err)
		return err;
	sip_wb_hdr(&wb, SIP_HDR_TO, &(struct pl){nb, nl});
	sip_wb_hdrf(&wb, SIP_HDR_CALL_ID, "%s", s->callid);
	sip_wb_hdrf(&wb, SIP_HDR_CSEQ, "%u INVITE", s->inv_cseq);
	ua_put_common(ua, &wb, (enum tp_proto)c->dest.proto, true, true);
	sip_wb_hdrf(&wb, SIP_HDR_USER_AGENT, "%s", ua->server);
	sess_timer_uac_write(&s->stuac, &wb); /* RFC 4028 §7.1 */
	err = ua_put_hdrs(&wb, c->hdrs);
	return err ? err
		   : ua_end_body(&wb, c->ctype, c->body, c->body_len, len);
}

int
ua_sess_connect(struct ua_sess **sp, struct ua *ua, const struct ua_conn *c,
		ua_sess_h *h, void *arg)
{
	char buf[UA_MSG_MAX];
	struct ua_sess *s;
	size_t len = 0;
	int err = 0;

	if (!sp || !ua || !c || !c->ruri || !c->from_uri || !c->to_uri ||
	    !c->dest.len || (c->callid && strlen(c->callid) > UA_CALLID_MAX))
		return EINVAL;
	s = ua_s_new(ua, true);
	if (!s)
		return ENOMEM;
	s->h = h;
	s->arg = arg;
	s->delay_ack = c->delay_ack;
	s->dest = c->dest;
	if (c->auth_user && c->auth_pass) {
		s->auth_user = ua_strdup(c->auth_user);
		s->auth_pass = ua_strdup(c->auth_pass);
		if (!s->auth_user || !s->auth_pass)
			err = ENOMEM;
	}
	s->inv_cseq = 1;
	sess_timer_uac_init(&s->stuac, &ua->stc);
	s->stuac.supported = false; /* "timer" is in our Supported list */
	if (c->callid)
		snprintf(s->callid, sizeof(s->callid), "%s", c->callid);
	else
		err = sipw_callid_make(ua->conf.shard, s->callid,
				       sizeof(s->callid));
	err = conn_build(s, c, buf, sizeof(buf), &len);
	if (!err)
		err = ua_memdup(&s->inv, buf, len);
	s->inv_len = len;
	if (err) {
		mem_deref(s);
		return err;
	}
	/* in the table before the INVITE goes out: a transport tap looking
	   the Call-ID up (b2bua's message ladder) finds its session */
	ua_table_add(ua, s);
	err = txn_client_start(&s->itxn, ua->txn, buf, len, &c->dest,
			       inv_resp_h, s);
	if (err) {
		ua_table_del(ua, s);
		mem_deref(s);
		return err;
	}
	ua_sdp_sent(s, c->ctype, c->body, c->body_len);
	*sp = s;
	return 0;
}

/* The early dialog of resp's To tag, or NULL. */
static struct dlg *
early_find(struct ua_sess *s, const struct sip_msg *resp)
{
	unsigned i;

	for (i = 0; i < s->nearly; i++)
		if (dlg_match_resp(s->early[i], resp))
			return s->early[i];
	return NULL;
}

/* The index in s->early of resp's early dialog (made now if new), or
   UA_MAX_EARLY when it has none. */
static unsigned
early_of(struct ua_sess *s, const struct sip_msg *resp)
{
	const struct sip_msg *inv;
	struct dlg *d;
	unsigned i;

	if (!resp->to.tag.l)
		return UA_MAX_EARLY;
	for (i = 0; i < s->nearly; i++)
		if (dlg_match_resp(s->early[i], resp)) {
			dlg_uac_update(s->early[i], resp);
			return i;
		}
	if (s->nearly < UA_MAX_EARLY && (inv = ua_s_inv_msg(s)) != NULL &&
	    dlg_uac_create(&d, inv, resp, false) == 0) {
		rel1xx_uac_init(&s->rel_uac[s->nearly], s->inv_cseq);
		s->early[s->nearly++] = d;
		return s->nearly - 1;
	}
	return UA_MAX_EARLY;
}

static void
uac_provisional(struct ua_sess *s, const struct sip_msg *resp)
{
	bool drop = false;
	unsigned i;

	s->got_1xx = true;
	if (s->cancel_wanted && !s->cancel_sent)
		ua_s_send_cancel(s); /* §9.1: now that a 1xx came */
	if (resp->status == 100)
		return;
	i = early_of(s, resp);
	if (i < UA_MAX_EARLY)
		ua_rel_uac_1xx(s, resp, i, &drop); /* RFC 3262 §4 */
	if (drop)
		return;
	if (i < UA_MAX_EARLY)
		s->early_cur = i;
	ua_sdp_recv(s, resp);
	if (s->state == UA_S_CALLING)
		ua_s_state(s, UA_S_EARLY);
	ua_s_emit(s, UA_EV_PROGRESS, resp->status, resp, NULL, NULL, false);
}

/* §13.2.2.4: a 2xx from another fork after the session is confirmed:
   "the UAC core MUST generate an ACK ... and then a BYE". */
static void
uac_fork_2xx(struct ua_sess *s, const struct sip_msg *resp)
{
	const struct sip_msg *inv = ua_s_inv_msg(s);
	struct dlg *keep = s->dlg, *d = NULL;
	char *ack = s->ack;
	size_t ack_len = s->ack_len;
	struct txn_dest ack_dest = s->ack_dest;
	struct ua_creq *c;

	if (!inv || dlg_uac_create(&d, inv, resp, false))
		return;
	s->ua->st.fork_byes++;
	s->dlg = d; /* borrow the machinery for the other dialog */
	s->ack = NULL;
	ua_s_ack(s, resp->cseq.num, NULL, NULL, 0);
	free(s->ack);
	c = calloc(1, sizeof(*c));
	if (c) {
		c->mid = SIP_M_BYE;
		c->internal = true;
		if (ua_s_send(s, c, "BYE", NULL, NULL, NULL, 0) == 0)
			ua_creq_unlink(s, c); /* fire and forget: c->s NULL */
		else
			free(c);
	}
	s->dlg = keep;
	s->ack = ack;
	s->ack_len = ack_len;
	s->ack_dest = ack_dest;
	mem_deref(d);
}

static void
uac_2xx(struct ua_sess *s, const struct sip_msg *resp)
{
	const struct sip_msg *inv;
	struct dlg *d;
	unsigned i;

	if (s->dlg && s->dlg->state == DLG_S_CONFIRMED) {
		if (!dlg_match_resp(s->dlg, resp))
			uac_fork_2xx(s, resp);
		else if (s->ack && s->acked_cseq == resp->cseq.num)
			s->ua->send_h(&s->ack_dest, s->ack, s->ack_len,
				      s->ua->send_arg);
		return;
	}
	d = early_find(s, resp);
	if (d && dlg_uac_update(d, resp) == 0) {
		s->dlg = mem_ref(d);
	} else {
		inv = ua_s_inv_msg(s);
		if (!inv || dlg_uac_create(&s->dlg, inv, resp, false)) {
			LOGP_WARN(s->callid, "2xx without a usable Contact "
					     "or To tag: ending the call");
			ua_s_over(s, UA_EV_FAILED, 502, resp, false);
			return;
		}
	}
	/* The other early dialogs end with the 2xx (§13.2.2.4). */
	for (i = 0; i < s->nearly; i++)
		s->early[i] = mem_deref(s->early[i]);
	s->nearly = 0;
	ua_s_state(s, UA_S_CONFIRMED);
	ua_sdp_recv(s, resp);
	ua_st_peer_allow(s, resp);
	ua_st_uac_2xx(s, &s->stuac, resp); /* RFC 4028 §7.2 */
	if (s->delay_ack) {
		s->ack_due = true;
		s->ack_due_cseq = resp->cseq.num;
	} else
		ua_s_ack(s, resp->cseq.num, NULL, NULL, 0);
	ua_s_emit(s, UA_EV_ANSWERED, resp->status, resp, NULL, NULL, false);
	if (s->cancel_wanted && s->state == UA_S_CONFIRMED) {
		/* Our CANCEL lost the race with the 2xx: §9.1 leaves the
		   call up, so end it with a BYE. */
		ua_s_state(s, UA_S_TERMINATING);
		if (ua_s_send_bye(s))
			ua_s_over(s, UA_EV_ENDED, 500, NULL, false);
	}
}

#define UA_MAX_CHALLENGES 4

/* The challenge of resp to answer: the strongest of its WWW- (401) or
   Proxy-Authenticate (407) values. */
static int
pick_challenge(const struct sip_msg *resp, struct sip_auth *ch)
{
	struct sip_auth all[UA_MAX_CHALLENGES];
	enum sip_hdr_id id = resp->status == 401 ? SIP_HDR_WWW_AUTHENTICATE
						 : SIP_HDR_PROXY_AUTHENTICATE;
	const struct sip_hdr *h;
	const char *why;
	size_t n = 0, idx;

	for (h = sip_msg_hdr(resp, id); h && n < UA_MAX_CHALLENGES;
	     h = sip_msg_hdr_next(resp, h))
		if (sip_auth_decode(&all[n], &h->val, &why) == 0)
			n++;
	if (!n || auth_challenge_pick(all, n, &idx))
		return ENOTSUP;
	*ch = all[idx];
	return 0;
}

/*
 * Send our INVITE again with CSeq + 1 and a new branch through a new
 * client transaction to the same destination: with the credentials
 * cred in header cred_id (§22.2; older ones replaced; cred NULL: none),
 * and the RFC 4028 headers of s->stuac (new after a 422, §7.3). Returns 0
 * or an error (nothing sent).
 */
static int
uac_resend(struct ua_sess *s, enum sip_hdr_id cred_id, const char *cred)
{
	const struct sip_msg *inv = ua_s_inv_msg(s);
	static __thread char buf[UA_MSG_MAX];
	char vbuf[256], cs[32];
	struct sip_wbuf wb;
	struct txn *t = NULL;
	struct pl via;
	size_t len;
	int err;

	if (!inv)
		return EINVAL;
	err = ua_via(s->ua, (enum tp_proto)s->dest.proto, vbuf, sizeof(vbuf),
		     &via);
	if (err)
		return err;
	snprintf(cs, sizeof(cs), "%u INVITE", s->inv_cseq + 1);
	{
		const struct sip_wop ops[] = {
			{SIP_WOP_REPLACE, SIP_HDR_VIA, NULL, via},
			{SIP_WOP_REPLACE, SIP_HDR_CSEQ, NULL, {cs, strlen(cs)}},
			{SIP_WOP_REMOVE, SIP_HDR_SESSION_EXPIRES, NULL,
			 PL_INIT},
			{SIP_WOP_REMOVE, SIP_HDR_MIN_SE, NULL, PL_INIT},
			{SIP_WOP_REMOVE, SIP_HDR_AUTHORIZATION, NULL, PL_INIT},
			{SIP_WOP_REMOVE, SIP_HDR_PROXY_AUTHORIZATION, NULL,
			 PL_INIT},
		};

		sip_wb_init(&wb, buf, sizeof(buf));
		sip_wb_copy_start(&wb, inv, NULL);
		sip_wb_copy_hdrs(&wb, inv, ops, cred ? 6 : 4);
	}
	if (cred)
		sip_wb_hdrf(&wb, cred_id, "%s", cred);
	sess_timer_uac_write(&s->stuac, &wb);
	err = sip_wb_end(&wb, &inv->body, &len);
	if (!err)
		err = txn_client_start(&t, s->ua->txn, buf, len, &s->dest,
				       inv_resp_h, s);
	if (!err)
		err = ua_memdup(&s->inv, buf, len); /* inv is invalid now */
	if (err) {
		mem_deref(t);
		return err;
	}
	s->inv_len = len;
	s->inv_cseq++;
	txn_detach(s->itxn);
	mem_deref(s->itxn);
	s->itxn = t;
	return 0;
}

/*
 * §22.2: answer a 401/407 to our INVITE: the same INVITE with CSeq + 1,
 * a new branch and the credentials. Returns 0 when it went out;
 * otherwise the challenge is the call's final answer (EACCES: the
 * credentials were refused already; the UA never loops).
 */
static int
uac_auth_retry(struct ua_sess *s, const struct sip_msg *resp)
{
	const struct sip_msg *inv = ua_s_inv_msg(s);
	char cred[1024];
	struct auth_cred ac;
	struct auth_req ar;
	struct sip_auth ch;
	int err;

	if (!s->auth_user || !inv || s->cancel_wanted)
		return EPERM;
	if (!s->auth) {
		s->auth = malloc(sizeof(*s->auth));
		if (!s->auth)
			return ENOMEM;
		auth_client_init(s->auth);
	}
	ac.user = (struct pl){s->auth_user, strlen(s->auth_user)};
	ac.password = (struct pl){s->auth_pass, strlen(s->auth_pass)};
	ar.method = inv->method;
	ar.uri = inv->ruri_raw;
	ar.body = inv->body;
	err = pick_challenge(resp, &ch);
	if (!err)
		err = auth_client_answer(s->auth, &ch, &ac, &ar, cred,
					 sizeof(cred));
	if (err)
		return err;
	return uac_resend(s,
			  resp->status == 401 ? SIP_HDR_AUTHORIZATION
					      : SIP_HDR_PROXY_AUTHORIZATION,
			  cred);
}

/* RFC 4028 §7.3: a 422 to our INVITE: again with the larger Min-SE and
   Session-Expires, while sess_timer allows. Returns 0 when it went. */
static int
uac_422_retry(struct ua_sess *s, const struct sip_msg *resp)
{
	bool retry = false;

	if (s->cancel_wanted || !s->stuac.enabled ||
	    sess_timer_uac_422(&s->stuac, resp, &retry) || !retry)
		return EPERM;
	s->ua->st.st_422++;
	return uac_resend(s, SIP_HDR_VIA, NULL);
}

static void
inv_resp_h(struct txn *txn, const struct txn_cevent *ev, void *arg)
{
	struct ua_sess *s = mem_ref(arg);

	if (ev->ev == TXN_CEV_PROV_TIMEOUT) {
		/* Timer C: no final response in time; cancel, the caller
		   sees the 487 (or 408) as FAILED and may fail over. */
		if (!s->cancel_sent)
			ua_s_send_cancel(s);
	} else if (ev->ev == TXN_CEV_RESPONSE && ev->status < 200) {
		if (s->state == UA_S_CALLING || s->state == UA_S_EARLY ||
		    s->state == UA_S_TERMINATING)
			uac_provisional(s, ev->msg);
	} else if (ev->ev == TXN_CEV_RESPONSE && ev->status < 300) {
		if (s->state != UA_S_ENDED)
			uac_2xx(s, ev->msg);
	} else if (s->state != UA_S_ENDED && s->state != UA_S_CONFIRMED) {
		if (ev->ev == TXN_CEV_RESPONSE &&
		    (ev->status == 401 || ev->status == 407) &&
		    uac_auth_retry(s, ev->msg) == 0) {
			s->ua->st.auth_retries++;
			mem_deref(s);
			return;
		}
		if (ev->ev == TXN_CEV_RESPONSE && ev->status == 422 &&
		    uac_422_retry(s, ev->msg) == 0) {
			mem_deref(s);
			return;
		}
		ua_s_over(s, UA_EV_FAILED, ev->status, ev->msg, false);
	}
	(void)txn;
	mem_deref(s);
}

int
ua_sess_ack(struct ua_sess *s, const char *ctype, const char *body,
	    size_t body_len)
{
	if (!s || !s->ua)
		return EINVAL;
	if (!s->ack_due)
		return EPROTO;
	s->ack_due = false;
	return ua_s_ack(s, s->ack_due_cseq, ctype, body, body_len);
}

/* ---- UAS: the initial INVITE --------------------------------------- */

void
ua_sess_incoming(struct ua *ua, const struct sip_msg *msg,
		 const struct txn_dest *src, struct ua_sess *replaces)
{
	struct ua_sess *s;
	struct ua_req *r = NULL;
	struct sess_timer_uas st;
	int err;

	if (ua->st.sess_active >= ua->conf.max_sessions) {
		/* Overload: refuse with a retry hint instead of growing. */
		ua_reject(ua, msg, src, 503, NULL, "Retry-After: 10\r\n");
		return;
	}
	if (ua_st_uas_check(ua, msg, src, &st))
		return; /* RFC 4028 §9: 422 (or 400) */
	s = ua_s_new(ua, false);
	if (!s) {
		ua_reject(ua, msg, src, 500, NULL, NULL);
		return;
	}
	pl_strcpy(&msg->callid, s->callid, sizeof(s->callid));
	s->dest = *src;
	s->tls = src->proto == TP_TLS;
	s->inv_cseq = msg->cseq.num;
	err = ua_req_new(&r, ua, s, msg, src, ua_srv_h);
	if (err) {
		ua_reject(ua, msg, src, err == ENOBUFS ? 503 : 500, NULL,
			  err == ENOBUFS ? "Retry-After: 5\r\n" : NULL);
		mem_deref(s);
		return;
	}
	s->ireq = r;
	s->itxn = mem_ref(r->txn);
	s->replaces = mem_ref(replaces);
	s->stuas = st;
	ua_sdp_recv(s, msg);
	ua_st_peer_allow(s, msg);
	ua_table_add(ua, s);
	ua->invite_h(ua, s, &r->msg, ua->arg);
	if (s->state == UA_S_INCOMING && mem_nrefs(s) <= 2) {
		/* Nobody took the call: do not leave the caller waiting. */
		ua_sess_answer(s, 500, "No Handler", NULL, NULL, NULL, 0);
	}
	mem_deref(s);
}

void
ua_sess_set_handler(struct ua_sess *s, ua_sess_h *h, void *arg)
{
	s->h = h;
	s->arg = arg;
}

/* §13.3.1.4 timer: resend the 2xx, doubling up to T2; after 64*T1 the
   dialog is confirmed but the session ends with a BYE. */
static void
on_2xx_timer(void *arg)
{
	struct ua_sess *s = mem_ref(arg);
	struct ua *ua = s->ua;
	uint64_t now = tmr_now(ua->tmr);

	if (now - s->t2xx_0 >= 64ull * ua->conf.t1) {
		LOGP_INFO(s->callid, "no ACK for our 2xx: ending with BYE");
		s->resp2xx_len = 0;
		s->bye_wanted = false;
		ua_s_state(s, UA_S_TERMINATING);
		if (!s->dlg || ua_s_send_bye(s))
			ua_s_over(s, UA_EV_ENDED, 408, NULL, false);
		mem_deref(s);
		return;
	}
	ua->st.retrans_2xx++;
	if (!s->rtxn ||
	    txn_server_reply(s->rtxn, s->resp2xx, s->resp2xx_len, 200) != 0)
		ua->send_h(&s->dest, s->resp2xx, s->resp2xx_len, ua->send_arg);
	s->ival = s->ival * 2 < ua->conf.t2 ? s->ival * 2 : ua->conf.t2;
	tmr_start(&s->t_2xx, ua->tmr, s->ival, on_2xx_timer, s);
	mem_deref(s);
}

void
ua_s_start_2xx(struct ua_sess *s, struct ua_req *r)
{
	mem_deref(s->rtxn);
	s->rtxn = mem_ref(r->txn);
	s->ack_cseq = r->msg.cseq.num;
	s->ival = s->ua->conf.t1;
	s->t2xx_0 = tmr_now(s->ua->tmr);
	tmr_start(&s->t_2xx, s->ua->tmr, s->ival, on_2xx_timer, s);
}

/* The final response to the INVITE went: 2xx retransmission and the
   session timer start (RFC 4028 §9), or the session is over. */
static void
answered_final(struct ua_sess *s, struct ua_req *r, uint16_t status)
{
	struct sess_timer_neg neg;

	r->answered = true;
	ua_rel_final(s);
	if (status < 300) {
		dlg_confirm(s->dlg);
		ua_s_start_2xx(s, r);
		ua_s_state(s, UA_S_ANSWERED);
		sess_timer_uas_neg(&s->stuas, &neg);
		ua_st_start(s, &neg);
	} else {
		ua_s_over(s, UA_EV_COUNT, status, NULL, false);
	}
	s->ireq = mem_deref(s->ireq);
}

static int
answer(struct ua_sess *s, uint16_t status, const char *reason, const char *hdrs,
       const char *ctype, const char *body, size_t body_len, bool rel)
{
	struct ua_xh xh = {NULL, NULL};
	struct ua_req *r;
	bool dialog = status < 300;
	int err;

	r = s->ireq;
	if (!r || r->answered)
		return EPROTO;
	if (status >= 200 && status < 300 &&
	    ua_rel_hold_2xx(s, &err, status, reason, hdrs, ctype, body,
			    body_len))
		return err; /* RFC 3262 §3: after the PRACK */
	if (dialog && !s->dlg) {
		/* §12.1.1: the dialog of our 1xx-with-tag or 2xx. */
		err = dlg_uas_create(&s->dlg, &r->msg,
				     &(struct pl){s->ltag, UA_TAG_LEN}, s->tls,
				     status >= 200);
		if (err)
			return err;
	}
	if (status < 200 && (rel || ua_rel_required(s))) {
		err = ua_rel_send_1xx(s, status, reason, hdrs, ctype, body,
				      body_len);
		if (!err)
			ua_s_state(s, UA_S_EARLY);
		return err;
	}
	if (status >= 200 && status < 300)
		xh.st = &s->stuas;
	err = ua_reply_xmsg(s->ua, r->txn, &r->msg, status, reason, s->ltag,
			    &xh, hdrs, ctype, body, body_len, dialog,
			    status >= 200 && status < 300 ? &s->resp2xx : NULL,
			    &s->resp2xx_len);
	if (err)
		return err;
	ua_sdp_sent(s, ctype, body, body_len);
	if (status < 200) {
		ua_s_state(s, UA_S_EARLY);
		return 0;
	}
	mem_ref(s);
	answered_final(s, r, status);
	mem_deref(s);
	return 0;
}

int
ua_sess_answer(struct ua_sess *s, uint16_t status, const char *reason,
	       const char *hdrs, const char *ctype, const char *body,
	       size_t body_len)
{
	if (!s || !s->ua || s->uac)
		return EINVAL;
	if (status <= 100 || status > 699)
		return EINVAL;
	return answer(s, status, reason, hdrs, ctype, body, body_len, false);
}

int
ua_sess_answer_rel(struct ua_sess *s, uint16_t status, const char *reason,
		   const char *hdrs, const char *ctype, const char *body,
		   size_t body_len)
{
	if (!s || !s->ua || s->uac || status <= 100 || status > 199)
		return EINVAL;
	if (!s->ireq || s->ireq->answered)
		return EPROTO;
	if (!ua_rel_possible(s))
		return ENOTSUP;
	return answer(s, status, reason, hdrs, ctype, body, body_len, true);
}

/* The ACK for one of our 2xx (initial INVITE or re-INVITE). */
void
ua_sess_ack_in(struct ua_sess *s, const struct sip_msg *ack)
{
	if (!s->dlg || !dlg_match_req(s->dlg, ack) || !s->resp2xx_len ||
	    ack->cseq.num != s->ack_cseq) {
		s->ua->st.stray++;
		return;
	}
	mem_ref(s);
	tmr_cancel(&s->t_2xx);
	free(s->resp2xx);
	s->resp2xx = NULL;
	s->resp2xx_len = 0;
	s->rtxn = mem_deref(s->rtxn);
	if (s->state == UA_S_ANSWERED)
		ua_s_state(s, UA_S_CONFIRMED);
	ua_sdp_recv(s, ack);
	if (s->quiet_ack)
		s->quiet_ack = false; /* a refresh the UA answered */
	else
		ua_s_emit(s, UA_EV_CONFIRMED, 0, ack, NULL, NULL, false);
	if (s->bye_wanted && s->state != UA_S_ENDED) {
		/* §15: the callee's BYE waited for the ACK. */
		s->bye_wanted = false;
		if (ua_s_send_bye(s))
			ua_s_over(s, UA_EV_ENDED, 500, NULL, false);
	}
	mem_deref(s);
}

/* §9.2: the CANCEL matched the INVITE server transaction target. */
void
ua_sess_cancel_in(struct ua *ua, const struct sip_msg *msg, struct txn *target)
{
	struct ua_sess *s = ua_sess_find_txn(ua, &msg->callid, target);
	struct ua_req *r;

	if (!s)
		return;
	mem_ref(s);
	if (s->itxn == target && s->ireq && !s->ireq->answered) {
		r = s->ireq;
		ua_reply_msg(ua, r->txn, &r->msg, 487, NULL, s->ltag, NULL,
			     NULL, NULL, 0, false, NULL, NULL);
		r->answered = true;
		s->ireq = mem_deref(s->ireq);
		ua_s_over(s, UA_EV_CANCELLED, 487, msg, true);
	} else if (s->in_inv && s->in_inv->txn == target &&
		   !s->in_inv->answered) {
		r = s->in_inv;
		r->aborted = true;
		ua_reply_msg(ua, r->txn, &r->msg, 487, NULL, s->ltag, NULL,
			     NULL, NULL, 0, false, NULL, NULL);
		ua_s_emit(s, UA_EV_REQ_ABORTED, 487, msg, r, NULL, true);
		ua_reqs_unlink(s, r);
	}
	mem_deref(s);
}

/* Server transaction events for the session's requests. */
void
ua_srv_h(struct txn *txn, enum txn_sev ev, int err, const struct sip_msg *msg,
	 void *arg)
{
	struct ua_req *r = arg;

	(void)txn;
	if (ev == TXN_SEV_ACK && r->s)
		ua_sess_ack_in(r->s, msg);
	else if (ev == TXN_SEV_TRANSPORT)
		LOG_DBG("response not delivered: %s", strerror(err));
}
