/* INVITE sessions of the UA core: RFC 3261 §13 (INVITE, 2xx
   retransmission §13.3.1.4, ACK §13.2.2.4, forked 2xx), §9 (CANCEL),
   §14 (re-INVITE, §14.1 glare), §15 (BYE), and requests within the
   dialog. See ua.h for the contract. */
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

static const char *const state_names[UA_S_COUNT] = {
	[UA_S_CALLING] = "calling",	[UA_S_INCOMING] = "incoming",
	[UA_S_EARLY] = "early",		[UA_S_ANSWERED] = "answered",
	[UA_S_CONFIRMED] = "confirmed", [UA_S_TERMINATING] = "terminating",
	[UA_S_ENDED] = "ended",
};

const char *
ua_sess_state_name(enum ua_sess_state st)
{
	return st < UA_S_COUNT ? state_names[st] : "?";
}

/* The only writer of s->state; ENDED is final. */
static void
sess_state(struct ua_sess *s, enum ua_sess_state st)
{
	if (s->state == st || s->state == UA_S_ENDED)
		return;
	LOG_DBG("[%s/%s] %s -> %s", s->callid, s->uac ? "uac" : "uas",
		state_names[s->state], state_names[st]);
	s->state = st;
}

static void
sess_emit(struct ua_sess *s, enum ua_ev ev, uint16_t status,
	  const struct sip_msg *msg, struct ua_req *req, void *cookie,
	  bool by_remote)
{
	struct ua_event e = {ev, status, msg, req, cookie, by_remote};

	if (s->h)
		s->h(s, &e, s->arg);
}

/* ---- objects -------------------------------------------------------- */

static void
req_destroy(void *arg)
{
	struct ua_req *r = arg;

	if (r->txn)
		txn_detach(r->txn);
	mem_deref(r->txn);
	free(r->buf);
	if (r->ua)
		r->ua->st.reqs_live--;
}

/* A received request kept for a later answer: bytes copied, parsed again
   from the copy, and its server transaction created. */
static int
req_new(struct ua_req **rp, struct ua *ua, struct ua_sess *s,
	const struct sip_msg *msg, const struct txn_dest *src, txn_req_h *srv_h)
{
	struct sip_limits lim;
	struct sip_perr perr;
	struct ua_req *r = mem_zalloc(sizeof(*r), req_destroy);
	int err;

	if (!r)
		return ENOMEM;
	r->ua = ua;
	r->s = s;
	ua->st.reqs_live++;
	sip_limits_default(&lim);
	err = ua_memdup(&r->buf, msg->buf, msg->len);
	if (!err && sip_msg_parse(&r->msg, r->buf, msg->len, SIP_FRAMING_DGRAM,
				  &lim, &perr))
		err = EBADMSG;
	if (!err)
		err = txn_server_create(&r->txn, ua->txn, msg, src, srv_h, r);
	if (err) {
		mem_deref(r);
		return err;
	}
	*rp = r;
	return 0;
}

static void
creq_free(struct ua_creq *c)
{
	if (c->txn)
		txn_detach(c->txn);
	mem_deref(c->txn);
	free(c->hdrs);
	free(c->ctype);
	free(c->body);
	free(c);
}

static void
creq_unlink(struct ua_sess *s, struct ua_creq *c)
{
	struct ua_creq **pp;

	for (pp = &s->creqs; *pp; pp = &(*pp)->next)
		if (*pp == c) {
			*pp = c->next;
			break;
		}
	if (s->out_inv == c)
		s->out_inv = NULL;
	if (s->glare == c)
		s->glare = NULL;
	c->s = NULL;
}

static void
reqs_unlink(struct ua_sess *s, struct ua_req *r)
{
	struct ua_req **pp;

	for (pp = &s->reqs; *pp; pp = &(*pp)->next)
		if (*pp == r) {
			*pp = r->next;
			break;
		}
	if (s->in_inv == r)
		s->in_inv = NULL;
	r->s = NULL;
	mem_deref(r);
}

/* Drop every transaction, timer and pending request of s without a
   message or event (the ua goes away, or s is released). */
void
ua_sess_detach_all(struct ua_sess *s)
{
	tmr_cancel(&s->t_2xx);
	tmr_cancel(&s->t_glare);
	if (s->itxn)
		txn_detach(s->itxn);
	s->itxn = mem_deref(s->itxn);
	s->rtxn = mem_deref(s->rtxn);
	if (s->ireq)
		s->ireq->s = NULL;
	s->ireq = mem_deref(s->ireq);
	while (s->reqs)
		reqs_unlink(s, s->reqs);
	while (s->creqs) {
		struct ua_creq *c = s->creqs;

		creq_unlink(s, c);
		creq_free(c);
	}
}

static void
sess_destroy(void *arg)
{
	struct ua_sess *s = arg;
	unsigned i;

	ua_sess_detach_all(s);
	mem_deref(s->dlg);
	for (i = 0; i < s->nearly; i++)
		mem_deref(s->early[i]);
	free(s->inv);
	free(s->resp2xx);
	free(s->ack);
	free(s->end_hdrs);
	if (s->ua)
		s->ua->st.sess_live--;
}

static struct ua_sess *
sess_new(struct ua *ua, bool uac)
{
	struct ua_sess *s = mem_zalloc(sizeof(*s), sess_destroy);

	if (!s)
		return NULL;
	if (ua_rand_hex(s->ltag, UA_TAG_LEN)) {
		mem_deref(s);
		return NULL;
	}
	s->ua = ua;
	s->uac = uac;
	s->state = uac ? UA_S_CALLING : UA_S_INCOMING;
	ua->st.sess_live++;
	return s;
}

/*
 * The session is over: pending requests the app was to answer get 487
 * (§15.1.2) and a REQ_ABORTED event, then the final event ev (UA_EV_COUNT:
 * none), timers stop, and the session leaves the table. The caller holds
 * a reference.
 */
static void
sess_over(struct ua_sess *s, enum ua_ev ev, uint16_t status,
	  const struct sip_msg *msg, bool by_remote)
{
	struct ua *ua = s->ua;

	sess_state(s, UA_S_ENDED);
	while (s->reqs) {
		struct ua_req *r = s->reqs;

		if (!r->answered && !r->aborted) {
			r->aborted = true;
			ua_reply_msg(ua, r->txn, &r->msg, 487, NULL, s->ltag,
				     NULL, NULL, NULL, 0, false, NULL, NULL);
			sess_emit(s, UA_EV_REQ_ABORTED, 487, NULL, r, NULL,
				  false);
		}
		reqs_unlink(s, r);
	}
	if (s->dlg)
		dlg_terminate(s->dlg);
	if (ev != UA_EV_COUNT)
		sess_emit(s, ev, status, msg, NULL, NULL, by_remote);
	tmr_cancel(&s->t_2xx);
	tmr_cancel(&s->t_glare);
	if (ua)
		ua_table_del(ua, s);
}

/* ---- sending -------------------------------------------------------- */

/* Where requests in the dialog go: its next hop if that is an IP
   literal; a host name, until RFC 3263 resolution is wired here, the
   peer the dialog was set up with (outbound-proxy semantics). */
static int
sess_locate(struct ua_sess *s, struct txn_dest *dst)
{
	struct pl hop;
	int err = dlg_next_hop(s->dlg, &hop);

	if (!err)
		err = ua_locate(&hop, dst);
	if (err == EHOSTUNREACH && s->dest.len) {
		LOG_DBG("[%s] next hop %.*s is a name: using the peer",
			s->callid, (int)hop.l, hop.p);
		*dst = s->dest;
		return 0;
	}
	return err;
}

/* Contact on requests that set or refresh the remote target. */
static bool
wants_contact(enum sip_method m)
{
	return m == SIP_M_INVITE || m == SIP_M_UPDATE || m == SIP_M_REFER ||
	       m == SIP_M_NOTIFY || m == SIP_M_SUBSCRIBE;
}

/*
 * Build the request method in s's dialog with CSeq cseq into buf and
 * locate its destination. Returns 0 or an error.
 */
static int
sess_build(struct ua_sess *s, const char *method, uint32_t cseq,
	   const char *hdrs, const char *ctype, const char *body,
	   size_t body_len, char *buf, size_t size, size_t *len,
	   struct txn_dest *dst)
{
	struct pl m = {method, strlen(method)}, via;
	enum sip_method mid = sip_method_id(&m);
	char vbuf[256];
	struct sip_wbuf wb;
	int err;

	err = sess_locate(s, dst);
	if (!err)
		err = ua_via(s->ua, (enum tp_proto)dst->proto, vbuf,
			     sizeof(vbuf), &via);
	if (err)
		return err;
	sip_wb_init(&wb, buf, size);
	err = dlg_request_write(s->dlg, &wb, &m, cseq, &via, 70, NULL);
	if (err)
		return err;
	ua_put_common(s->ua, &wb, (enum tp_proto)dst->proto, wants_contact(mid),
		      mid == SIP_M_INVITE || mid == SIP_M_UPDATE);
	if (mid != SIP_M_ACK)
		sip_wb_hdrf(&wb, SIP_HDR_USER_AGENT, "%s", s->ua->server);
	err = ua_put_hdrs(&wb, hdrs);
	return err ? err : ua_end_body(&wb, ctype, body, body_len, len);
}

/* §13.2.2.4: the ACK for the 2xx of the INVITE with CSeq cseq, sent
   straight to the transport and kept for the 2xx retransmissions. */
static int
sess_ack(struct ua_sess *s, uint32_t cseq, const char *ctype, const char *body,
	 size_t body_len)
{
	char buf[UA_MSG_MAX];
	size_t len;
	int err;

	err = sess_build(s, "ACK", cseq, NULL, ctype, body, body_len, buf,
			 sizeof(buf), &len, &s->ack_dest);
	if (!err)
		err = ua_memdup(&s->ack, buf, len);
	if (err)
		return err;
	s->ack_len = len;
	s->acked_cseq = cseq;
	s->ua->st.acks_2xx++;
	return s->ua->send_h(&s->ack_dest, s->ack, s->ack_len, s->ua->send_arg);
}

static void creq_resp_h(struct txn *txn, const struct txn_cevent *ev,
			void *arg);

/* Send a request in the dialog through a client transaction; on success
   the creq is linked into s->creqs. */
static int
sess_send(struct ua_sess *s, struct ua_creq *c, const char *method,
	  const char *hdrs, const char *ctype, const char *body,
	  size_t body_len)
{
	char buf[UA_MSG_MAX];
	struct txn_dest dst;
	size_t len;
	int err;

	c->cseq = dlg_next_cseq(s->dlg);
	err = sess_build(s, method, c->cseq, hdrs, ctype, body, body_len, buf,
			 sizeof(buf), &len, &dst);
	if (!err)
		err = txn_client_start(&c->txn, s->ua->txn, buf, len, &dst,
				       creq_resp_h, c);
	if (err)
		return err;
	c->s = s;
	c->ua = s->ua;
	c->next = s->creqs;
	s->creqs = c;
	return 0;
}

static int
sess_send_bye(struct ua_sess *s)
{
	struct ua_creq *c = calloc(1, sizeof(*c));
	int err;

	if (!c)
		return ENOMEM;
	c->mid = SIP_M_BYE;
	c->internal = true;
	err = sess_send(s, c, "BYE", s->end_hdrs, NULL, NULL, 0);
	if (err)
		free(c);
	return err;
}

/* A transaction-less parse of our stored INVITE (thread-local: the
   struct is large and used only during the call). */
static const struct sip_msg *
sess_inv_msg(const struct ua_sess *s)
{
	static __thread struct sip_msg m;
	struct sip_limits lim;
	struct sip_perr perr;

	sip_limits_default(&lim);
	if (!s->inv || sip_msg_parse(&m, s->inv, s->inv_len, SIP_FRAMING_DGRAM,
				     &lim, &perr))
		return NULL;
	return &m;
}

/*
 * §9.1: CANCEL for our INVITE: the same Request-URI, Call-ID, To, From
 * and CSeq number, a single Via equal to the INVITE's top Via, the same
 * Route header fields; sent to the INVITE's destination.
 */
static int
sess_send_cancel(struct ua_sess *s)
{
	const struct sip_msg *inv = sess_inv_msg(s);
	struct ua_creq *c;
	char buf[UA_MSG_MAX];
	struct sip_wbuf wb;
	size_t len;
	int err;

	if (!inv)
		return EINVAL;
	sip_wb_init(&wb, buf, sizeof(buf));
	sip_wb_request(&wb, &PL("CANCEL"), &inv->ruri_raw);
	sip_wb_hdr(&wb, SIP_HDR_VIA, &inv->via.raw);
	sip_wb_hdr_copy(&wb, inv, SIP_HDR_ROUTE);
	sip_wb_hdrf(&wb, SIP_HDR_MAX_FORWARDS, "70");
	sip_wb_hdr(&wb, SIP_HDR_FROM, &inv->from.raw);
	sip_wb_hdr(&wb, SIP_HDR_TO, &inv->to.raw);
	sip_wb_hdr(&wb, SIP_HDR_CALL_ID, &inv->callid);
	sip_wb_hdrf(&wb, SIP_HDR_CSEQ, "%u CANCEL", inv->cseq.num);
	sip_wb_hdrf(&wb, SIP_HDR_USER_AGENT, "%s", s->ua->server);
	ua_put_hdrs(&wb, s->end_hdrs);
	err = sip_wb_end(&wb, NULL, &len);
	if (err)
		return err;
	c = calloc(1, sizeof(*c));
	if (!c)
		return ENOMEM;
	c->mid = SIP_M_CANCEL;
	c->internal = true;
	err = txn_client_start(&c->txn, s->ua->txn, buf, len, &s->dest,
			       creq_resp_h, c);
	if (err) {
		free(c);
		return err;
	}
	c->s = s;
	c->ua = s->ua;
	c->next = s->creqs;
	s->creqs = c;
	s->cancel_sent = true;
	txn_client_cancelled(s->itxn);
	return 0;
}

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
	s = sess_new(ua, true);
	if (!s)
		return ENOMEM;
	s->h = h;
	s->arg = arg;
	s->delay_ack = c->delay_ack;
	s->dest = c->dest;
	s->inv_cseq = 1;
	if (c->callid)
		snprintf(s->callid, sizeof(s->callid), "%s", c->callid);
	else
		err = sipw_callid_make(ua->conf.shard, s->callid,
				       sizeof(s->callid));
	err = conn_build(s, c, buf, sizeof(buf), &len);
	if (!err)
		err = ua_memdup(&s->inv, buf, len);
	s->inv_len = len;
	if (!err)
		err = txn_client_start(&s->itxn, ua->txn, buf, len, &c->dest,
				       inv_resp_h, s);
	if (err) {
		mem_deref(s);
		return err;
	}
	ua_table_add(ua, s);
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

static void
uac_provisional(struct ua_sess *s, const struct sip_msg *resp)
{
	const struct sip_msg *inv;
	struct dlg *d;

	s->got_1xx = true;
	if (s->cancel_wanted && !s->cancel_sent)
		sess_send_cancel(s); /* §9.1: now that a 1xx came */
	if (resp->status == 100)
		return;
	if (resp->to.tag.l) {
		d = early_find(s, resp);
		if (d) {
			dlg_uac_update(d, resp);
		} else if (s->nearly < UA_MAX_EARLY &&
			   (inv = sess_inv_msg(s)) != NULL &&
			   dlg_uac_create(&d, inv, resp, false) == 0) {
			s->early[s->nearly++] = d;
		}
	}
	if (s->state == UA_S_CALLING)
		sess_state(s, UA_S_EARLY);
	sess_emit(s, UA_EV_PROGRESS, resp->status, resp, NULL, NULL, false);
}

/* §13.2.2.4: a 2xx from another fork after the session is confirmed:
   "the UAC core MUST generate an ACK ... and then a BYE". */
static void
uac_fork_2xx(struct ua_sess *s, const struct sip_msg *resp)
{
	const struct sip_msg *inv = sess_inv_msg(s);
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
	sess_ack(s, resp->cseq.num, NULL, NULL, 0);
	free(s->ack);
	c = calloc(1, sizeof(*c));
	if (c) {
		c->mid = SIP_M_BYE;
		c->internal = true;
		if (sess_send(s, c, "BYE", NULL, NULL, NULL, 0) == 0)
			creq_unlink(s, c); /* fire and forget: c->s NULL */
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
		inv = sess_inv_msg(s);
		if (!inv || dlg_uac_create(&s->dlg, inv, resp, false)) {
			LOGP_WARN(s->callid, "2xx without a usable Contact "
					     "or To tag: ending the call");
			sess_over(s, UA_EV_FAILED, 502, resp, false);
			return;
		}
	}
	/* The other early dialogs end with the 2xx (§13.2.2.4). */
	for (i = 0; i < s->nearly; i++)
		s->early[i] = mem_deref(s->early[i]);
	s->nearly = 0;
	sess_state(s, UA_S_CONFIRMED);
	if (s->delay_ack) {
		s->ack_due = true;
		s->ack_due_cseq = resp->cseq.num;
	} else
		sess_ack(s, resp->cseq.num, NULL, NULL, 0);
	sess_emit(s, UA_EV_ANSWERED, resp->status, resp, NULL, NULL, false);
	if (s->cancel_wanted && s->state == UA_S_CONFIRMED) {
		/* Our CANCEL lost the race with the 2xx: §9.1 leaves the
		   call up, so end it with a BYE. */
		sess_state(s, UA_S_TERMINATING);
		if (sess_send_bye(s))
			sess_over(s, UA_EV_ENDED, 500, NULL, false);
	}
}

static void
inv_resp_h(struct txn *txn, const struct txn_cevent *ev, void *arg)
{
	struct ua_sess *s = mem_ref(arg);

	if (ev->ev == TXN_CEV_PROV_TIMEOUT) {
		/* Timer C: no final response in time; cancel, the caller
		   sees the 487 (or 408) as FAILED and may fail over. */
		if (!s->cancel_sent)
			sess_send_cancel(s);
	} else if (ev->ev == TXN_CEV_RESPONSE && ev->status < 200) {
		if (s->state == UA_S_CALLING || s->state == UA_S_EARLY ||
		    s->state == UA_S_TERMINATING)
			uac_provisional(s, ev->msg);
	} else if (ev->ev == TXN_CEV_RESPONSE && ev->status < 300) {
		if (s->state != UA_S_ENDED)
			uac_2xx(s, ev->msg);
	} else if (s->state != UA_S_ENDED && s->state != UA_S_CONFIRMED) {
		sess_over(s, UA_EV_FAILED, ev->status, ev->msg, false);
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
	return sess_ack(s, s->ack_due_cseq, ctype, body, body_len);
}

/* ---- UAS: the initial INVITE --------------------------------------- */

static void srv_h(struct txn *txn, enum txn_sev ev, int err,
		  const struct sip_msg *msg, void *arg);

void
ua_sess_incoming(struct ua *ua, const struct sip_msg *msg,
		 const struct txn_dest *src)
{
	struct ua_sess *s;
	struct ua_req *r = NULL;
	int err;

	if (ua->st.sess_active >= ua->conf.max_sessions) {
		/* Overload: refuse with a retry hint instead of growing. */
		ua_reject(ua, msg, src, 503, NULL, "Retry-After: 10\r\n");
		return;
	}
	s = sess_new(ua, false);
	if (!s) {
		ua_reject(ua, msg, src, 500, NULL, NULL);
		return;
	}
	pl_strcpy(&msg->callid, s->callid, sizeof(s->callid));
	s->dest = *src;
	s->tls = src->proto == TP_TLS;
	s->inv_cseq = msg->cseq.num;
	err = req_new(&r, ua, s, msg, src, srv_h);
	if (err) {
		ua_reject(ua, msg, src, err == ENOBUFS ? 503 : 500, NULL,
			  err == ENOBUFS ? "Retry-After: 5\r\n" : NULL);
		mem_deref(s);
		return;
	}
	s->ireq = r;
	s->itxn = mem_ref(r->txn);
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
		sess_state(s, UA_S_TERMINATING);
		if (!s->dlg || sess_send_bye(s))
			sess_over(s, UA_EV_ENDED, 408, NULL, false);
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

static void
start_2xx_retrans(struct ua_sess *s, struct ua_req *r)
{
	mem_deref(s->rtxn);
	s->rtxn = mem_ref(r->txn);
	s->ack_cseq = r->msg.cseq.num;
	s->ival = s->ua->conf.t1;
	s->t2xx_0 = tmr_now(s->ua->tmr);
	tmr_start(&s->t_2xx, s->ua->tmr, s->ival, on_2xx_timer, s);
}

int
ua_sess_answer(struct ua_sess *s, uint16_t status, const char *reason,
	       const char *hdrs, const char *ctype, const char *body,
	       size_t body_len)
{
	struct ua_req *r;
	bool dialog = status < 300;
	int err;

	if (!s || !s->ua || s->uac)
		return EINVAL;
	if (status <= 100 || status > 699)
		return EINVAL;
	r = s->ireq;
	if (!r || r->answered)
		return EPROTO;
	if (dialog && !s->dlg) {
		/* §12.1.1: the dialog of our 1xx-with-tag or 2xx. */
		err = dlg_uas_create(&s->dlg, &r->msg,
				     &(struct pl){s->ltag, UA_TAG_LEN}, s->tls,
				     status >= 200);
		if (err)
			return err;
	}
	err = ua_reply_msg(s->ua, r->txn, &r->msg, status, reason, s->ltag,
			   hdrs, ctype, body, body_len, dialog,
			   status >= 200 && status < 300 ? &s->resp2xx : NULL,
			   &s->resp2xx_len);
	if (err)
		return err;
	if (status < 200) {
		sess_state(s, UA_S_EARLY);
		return 0;
	}
	mem_ref(s);
	r->answered = true;
	if (status < 300) {
		dlg_confirm(s->dlg);
		start_2xx_retrans(s, r);
		sess_state(s, UA_S_ANSWERED);
	} else {
		sess_over(s, UA_EV_COUNT, status, NULL, false);
	}
	s->ireq = mem_deref(s->ireq);
	mem_deref(s);
	return 0;
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
	s->resp2xx_len = 0;
	s->rtxn = mem_deref(s->rtxn);
	if (s->state == UA_S_ANSWERED)
		sess_state(s, UA_S_CONFIRMED);
	sess_emit(s, UA_EV_CONFIRMED, 0, ack, NULL, NULL, false);
	if (s->bye_wanted && s->state != UA_S_ENDED) {
		/* §15: the callee's BYE waited for the ACK. */
		s->bye_wanted = false;
		if (sess_send_bye(s))
			sess_over(s, UA_EV_ENDED, 500, NULL, false);
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
		sess_over(s, UA_EV_CANCELLED, 487, msg, true);
	} else if (s->in_inv && s->in_inv->txn == target &&
		   !s->in_inv->answered) {
		r = s->in_inv;
		r->aborted = true;
		ua_reply_msg(ua, r->txn, &r->msg, 487, NULL, s->ltag, NULL,
			     NULL, NULL, 0, false, NULL, NULL);
		sess_emit(s, UA_EV_REQ_ABORTED, 487, msg, r, NULL, true);
		reqs_unlink(s, r);
	}
	mem_deref(s);
}

/* Server transaction events for the session's requests. */
static void
srv_h(struct txn *txn, enum txn_sev ev, int err, const struct sip_msg *msg,
      void *arg)
{
	struct ua_req *r = arg;

	(void)txn;
	if (ev == TXN_SEV_ACK && r->s)
		ua_sess_ack_in(r->s, msg);
	else if (ev == TXN_SEV_TRANSPORT)
		LOG_DBG("response not delivered: %s", strerror(err));
}

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
	if (req_new(&r, s->ua, s, msg, src, srv_h)) {
		ua_reject(s->ua, msg, src, 500, NULL, NULL);
		return;
	}
	dlg_target_refresh(d, msg); /* §12.2.2 */
	r->next = s->reqs;
	s->reqs = r;
	s->in_inv = r;
	sess_emit(s, UA_EV_REINVITE, 0, &r->msg, r, NULL, false);
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
	sess_over(s, UA_EV_ENDED, 200, msg, true);
}

static void
in_other(struct ua_sess *s, const struct sip_msg *msg,
	 const struct txn_dest *src, struct dlg *d)
{
	struct ua_req *r;

	if (!s->h) {
		ua_reject(s->ua, msg, src, 501, NULL, NULL);
		return;
	}
	if (req_new(&r, s->ua, s, msg, src, srv_h)) {
		ua_reject(s->ua, msg, src, 500, NULL, NULL);
		return;
	}
	if (msg->mid == SIP_M_UPDATE)
		dlg_target_refresh(d, msg); /* RFC 3311 §5.2 */
	r->next = s->reqs;
	s->reqs = r;
	sess_emit(s, UA_EV_REQUEST, 0, &r->msg, r, NULL, false);
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
		/* RFC 3262 §3: a PRACK matching no unacknowledged reliable
		   provisional response (we send none yet) gets 481. */
		ua_reject(s->ua, msg, src, 481, NULL, NULL);
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
	err = ua_reply_msg(s->ua, r->txn, &r->msg, status, reason, s->ltag,
			   hdrs, ctype, body, body_len,
			   ok2xx && wants_contact(r->msg.mid),
			   inv && ok2xx ? &s->resp2xx : NULL, &s->resp2xx_len);
	if (err || status < 200)
		return err;
	r->answered = true;
	mem_ref(s);
	if (inv && ok2xx)
		start_2xx_retrans(s, r);
	reqs_unlink(s, r);
	mem_deref(s);
	return 0;
}

enum sip_method
ua_req_method(const struct ua_req *r)
{
	return r->msg.mid;
}

/* ---- our requests within the dialog -------------------------------- */

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
	if (c && s->state == UA_S_CONFIRMED) {
		creq_unlink(s, c);
		if (c->txn)
			txn_detach(c->txn);
		c->txn = mem_deref(c->txn);
		if (sess_send(s, c, "INVITE", c->hdrs, c->ctype, c->body,
			      c->body_len) == 0) {
			s->out_inv = c;
		} else {
			sess_emit(s, UA_EV_RESPONSE, 500, NULL, NULL, c->cookie,
				  false);
			creq_free(c);
		}
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
		if (c->body_len) {
			sess_ack(s, c->cseq, NULL, NULL, 0);
		} else {
			s->ack_due = true; /* offer in the 2xx: the app ACKs */
			s->ack_due_cseq = c->cseq;
		}
	}
	return false;
}

static void
creq_resp_h(struct txn *txn, const struct txn_cevent *ev, void *arg)
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
		creq_free(c); /* fire and forget (a fork's BYE) */
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
		creq_unlink(s, c);
		creq_free(c);
		sess_over(s, UA_EV_ENDED, st, ev->msg, false);
	} else if (c->internal) {
		creq_unlink(s, c); /* our CANCEL: the INVITE's final says */
		creq_free(c);
	} else {
		if (c->mid == SIP_M_INVITE)
			keep = reinvite_final(s, c, ev);
		if (!keep) {
			if (c->done)
				s->out_inv = NULL; /* stays listed for ACKs */
			else
				creq_unlink(s, c);
			sess_emit(s, UA_EV_RESPONSE, st, ev->msg, NULL,
				  c->cookie, false);
			if (!c->done)
				creq_free(c);
			/* §12.2.1.2: 481 or 408 end the dialog. */
			if ((st == 481 || st == 408) &&
			    s->state == UA_S_CONFIRMED) {
				sess_state(s, UA_S_TERMINATING);
				if (st == 481 || sess_send_bye(s))
					sess_over(s, UA_EV_ENDED, st, NULL,
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
			creq_free(c);
		} else {
			pp = &c->next;
		}
	}
}

int
ua_sess_request(struct ua_sess *s, const char *method, const char *hdrs,
		const char *ctype, const char *body, size_t body_len,
		void *cookie)
{
	struct pl m;
	struct ua_creq *c;
	int err;

	if (!s || !s->ua || !method)
		return EINVAL;
	m = (struct pl){method, strlen(method)};
	if (!s->dlg || s->state == UA_S_ENDED || s->state == UA_S_TERMINATING)
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
	if (c->mid == SIP_M_INVITE) {
		if (s->out_inv || s->glare || s->in_inv ||
		    s->state != UA_S_CONFIRMED) {
			free(c);
			return EBUSY; /* §14.1 */
		}
		purge_done(s);
		c->hdrs = ua_strdup(hdrs);
		c->ctype = ua_strdup(ctype);
		if (body && body_len)
			ua_memdup(&c->body, body, body_len);
		c->body_len = c->body ? body_len : 0;
	}
	err = sess_send(s, c, method, hdrs, ctype, body, body_len);
	if (err) {
		creq_free(c);
		return err;
	}
	if (c->mid == SIP_M_INVITE)
		s->out_inv = c;
	return 0;
}

/* ---- ending --------------------------------------------------------- */

int
ua_sess_end(struct ua_sess *s, uint16_t status, const char *hdrs)
{
	int err = 0;

	if (!s || !s->ua)
		return EINVAL;
	if (s->state == UA_S_ENDED || s->state == UA_S_TERMINATING)
		return EALREADY;
	free(s->end_hdrs);
	s->end_hdrs = ua_strdup(hdrs);
	mem_ref(s);
	switch (s->state) {
	case UA_S_CALLING:
	case UA_S_EARLY:
		if (s->uac) {
			/* §9.1: CANCEL only once a provisional came. */
			s->cancel_wanted = true;
			sess_state(s, UA_S_TERMINATING);
			if (s->got_1xx)
				err = sess_send_cancel(s);
			break;
		}
		err = ua_sess_answer(s, status ? status : 480, NULL, hdrs, NULL,
				     NULL, 0);
		break;
	case UA_S_INCOMING:
		err = ua_sess_answer(s, status ? status : 480, NULL, hdrs, NULL,
				     NULL, 0);
		break;
	case UA_S_ANSWERED:
		/* §15: "The callee's UA MUST NOT send a BYE on a confirmed
		   dialog until it has received an ACK for its 2xx response
		   or until the server transaction times out." */
		s->bye_wanted = true;
		sess_state(s, UA_S_TERMINATING);
		break;
	default:
		sess_state(s, UA_S_TERMINATING);
		err = sess_send_bye(s);
		if (err)
			sess_over(s, UA_EV_ENDED, 500, NULL, false);
		break;
	}
	mem_deref(s);
	return err;
}

enum ua_sess_state
ua_sess_state(const struct ua_sess *s)
{
	return s->state;
}

const struct dlg *
ua_sess_dlg(const struct ua_sess *s)
{
	return s->dlg ? s->dlg : s->nearly ? s->early[0] : NULL;
}

bool
ua_sess_is_uac(const struct ua_sess *s)
{
	return s->uac;
}

const char *
ua_sess_callid(const struct ua_sess *s)
{
	return s->callid;
}
