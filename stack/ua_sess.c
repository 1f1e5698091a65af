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
void
ua_s_state(struct ua_sess *s, enum ua_sess_state st)
{
	if (s->state == st || s->state == UA_S_ENDED)
		return;
	LOG_DBG("[%s/%s] %s -> %s", s->callid, s->uac ? "uac" : "uas",
		state_names[s->state], state_names[st]);
	s->state = st;
}

void
ua_s_emit(struct ua_sess *s, enum ua_ev ev, uint16_t status,
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
int
ua_req_new(struct ua_req **rp, struct ua *ua, struct ua_sess *s,
	   const struct sip_msg *msg, const struct txn_dest *src,
	   txn_req_h *req_h)
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
		err = txn_server_create(&r->txn, ua->txn, msg, src, req_h, r);
	if (err) {
		mem_deref(r);
		return err;
	}
	*rp = r;
	return 0;
}

void
ua_creq_free(struct ua_creq *c)
{
	if (c->txn)
		txn_detach(c->txn);
	mem_deref(c->txn);
	free(c->hdrs);
	free(c->ctype);
	free(c->body);
	free(c);
}

void
ua_creq_unlink(struct ua_sess *s, struct ua_creq *c)
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

void
ua_reqs_unlink(struct ua_sess *s, struct ua_req *r)
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
	tmr_cancel(&s->t_linger);
	tmr_cancel(&s->t_refresh);
	sess_timer_stop(&s->st);
	ua_rel_final(s);
	if (s->itxn)
		txn_detach(s->itxn);
	s->itxn = mem_deref(s->itxn);
	s->rtxn = mem_deref(s->rtxn);
	if (s->ireq)
		s->ireq->s = NULL;
	s->ireq = mem_deref(s->ireq);
	while (s->reqs)
		ua_reqs_unlink(s, s->reqs);
	while (s->creqs) {
		struct ua_creq *c = s->creqs;

		ua_creq_unlink(s, c);
		ua_creq_free(c);
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
	free(s->auth_user);
	free(s->auth_pass);
	free(s->auth);
	mem_deref(s->rel);
	free(s->lsdp);
	mem_deref(s->replaces);
	if (s->ua)
		s->ua->st.sess_live--;
}

struct ua_sess *
ua_s_new(struct ua *ua, bool uac)
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
	ua_st_init(s);
	ua->st.sess_live++;
	return s;
}

/*
 * The session is over: pending requests the app was to answer get 487
 * (§15.1.2) and a REQ_ABORTED event, then the final event ev (UA_EV_COUNT:
 * none), timers stop, and the session leaves the table. The caller holds
 * a reference.
 */
void
ua_s_over(struct ua_sess *s, enum ua_ev ev, uint16_t status,
	  const struct sip_msg *msg, bool by_remote)
{
	struct ua *ua = s->ua;

	ua_s_state(s, UA_S_ENDED);
	while (s->reqs) {
		struct ua_req *r = s->reqs;

		if (!r->answered && !r->aborted) {
			r->aborted = true;
			ua_reply_msg(ua, r->txn, &r->msg, 487, NULL, s->ltag,
				     NULL, NULL, NULL, 0, false, NULL, NULL);
			ua_s_emit(s, UA_EV_REQ_ABORTED, 487, NULL, r, NULL,
				  false);
		}
		ua_reqs_unlink(s, r);
	}
	if (s->dlg)
		dlg_terminate(s->dlg);
	if (ev != UA_EV_COUNT)
		ua_s_emit(s, ev, status, msg, NULL, NULL, by_remote);
	tmr_cancel(&s->t_2xx);
	tmr_cancel(&s->t_glare);
	tmr_cancel(&s->t_linger);
	tmr_cancel(&s->t_refresh);
	sess_timer_stop(&s->st);
	ua_rel_final(s);
	if (ua)
		ua_table_del(ua, s);
}

/* ---- sending -------------------------------------------------------- */

/* Where requests in the dialog go: its next hop if that is an IP
   literal; a host name, until RFC 3263 resolution is wired here, the
   peer the dialog was set up with (outbound-proxy semantics). */
static int
sess_locate(struct ua_sess *s, struct dlg *d, struct txn_dest *dst)
{
	struct pl hop;
	int err = dlg_next_hop(d, &hop);

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
bool
ua_wants_contact(enum sip_method m)
{
	return m == SIP_M_INVITE || m == SIP_M_UPDATE || m == SIP_M_REFER ||
	       m == SIP_M_NOTIFY || m == SIP_M_SUBSCRIBE;
}

/*
 * Build the request method in s's dialog d with CSeq cseq into buf and
 * locate its destination; stu (or NULL) adds the RFC 4028 headers.
 * Returns 0 or an error.
 */
static int
sess_build(struct ua_sess *s, struct dlg *d, const char *method, uint32_t cseq,
	   const struct sess_timer_uac *stu, const char *hdrs,
	   const char *ctype, const char *body, size_t body_len, char *buf,
	   size_t size, size_t *len, struct txn_dest *dst)
{
	struct pl m = {method, strlen(method)}, via;
	enum sip_method mid = sip_method_id(&m);
	char vbuf[256];
	struct sip_wbuf wb;
	int err;

	err = sess_locate(s, d, dst);
	if (!err)
		err = ua_via(s->ua, (enum tp_proto)dst->proto, vbuf,
			     sizeof(vbuf), &via);
	if (err)
		return err;
	sip_wb_init(&wb, buf, size);
	err = dlg_request_write(d, &wb, &m, cseq, &via, 70, NULL);
	if (err)
		return err;
	ua_put_common(s->ua, &wb, (enum tp_proto)dst->proto,
		      ua_wants_contact(mid),
		      mid == SIP_M_INVITE || mid == SIP_M_UPDATE);
	if (mid != SIP_M_ACK)
		sip_wb_hdrf(&wb, SIP_HDR_USER_AGENT, "%s", s->ua->server);
	if (stu)
		sess_timer_uac_write(stu, &wb);
	err = ua_put_hdrs(&wb, hdrs);
	return err ? err : ua_end_body(&wb, ctype, body, body_len, len);
}

/* §13.2.2.4: the ACK for the 2xx of the INVITE with CSeq cseq, sent
   straight to the transport and kept for the 2xx retransmissions. */
static void
on_linger(void *arg)
{
	struct ua_sess *s = arg;

	free(s->ack);
	s->ack = NULL;
	s->ack_len = 0;
	free(s->inv);
	s->inv = NULL;
	s->inv_len = 0;
}

int
ua_s_ack(struct ua_sess *s, uint32_t cseq, const char *ctype, const char *body,
	 size_t body_len)
{
	char buf[UA_MSG_MAX];
	size_t len;
	int err;

	err = sess_build(s, s->dlg, "ACK", cseq, NULL, NULL, ctype, body,
			 body_len, buf, sizeof(buf), &len, &s->ack_dest);
	if (!err)
		ua_sdp_sent(s, ctype, body, body_len);
	if (!err)
		err = ua_memdup(&s->ack, buf, len);
	if (err)
		return err;
	s->ack_len = len;
	s->acked_cseq = cseq;
	/* 2xx retransmissions (and forks' 2xx, §13.2.2.4) come within
	   Timer M = 64*T1 (RFC 6026); after it the copies can go. */
	tmr_start(&s->t_linger, s->ua->tmr, 64ull * s->ua->conf.t1, on_linger,
		  s);
	s->ua->st.acks_2xx++;
	return s->ua->send_h(&s->ack_dest, s->ack, s->ack_len, s->ua->send_arg);
}

/* Send a request in the dialog through a client transaction; on success
   the creq is linked into s->creqs. */
int
ua_s_send(struct ua_sess *s, struct ua_creq *c, const char *method,
	  const char *hdrs, const char *ctype, const char *body,
	  size_t body_len)
{
	return ua_s_send_dlg(s, s->dlg, c, method, hdrs, ctype, body, body_len);
}

/* The same in the dialog d (an early one of a UAC session, say). */
int
ua_s_send_dlg(struct ua_sess *s, struct dlg *d, struct ua_creq *c,
	      const char *method, const char *hdrs, const char *ctype,
	      const char *body, size_t body_len)
{
	char buf[UA_MSG_MAX];
	struct txn_dest dst;
	size_t len;
	int err;

	if (!d)
		return EPROTO;
	c->cseq = dlg_next_cseq(d);
	err = sess_build(s, d, method, c->cseq, c->st_set ? &c->stu : NULL,
			 hdrs, ctype, body, body_len, buf, sizeof(buf), &len,
			 &dst);
	if (!err)
		err = txn_client_start(&c->txn, s->ua->txn, buf, len, &dst,
				       ua_creq_resp_h, c);
	if (err)
		return err;
	c->s = s;
	c->ua = s->ua;
	c->next = s->creqs;
	s->creqs = c;
	return 0;
}

int
ua_s_send_bye(struct ua_sess *s)
{
	struct ua_creq *c = calloc(1, sizeof(*c));
	int err;

	if (!c)
		return ENOMEM;
	c->mid = SIP_M_BYE;
	c->internal = true;
	err = ua_s_send(s, c, "BYE", s->end_hdrs, NULL, NULL, 0);
	if (err)
		free(c);
	return err;
}

/* A transaction-less parse of our stored INVITE (thread-local: the
   struct is large and used only during the call). */
const struct sip_msg *
ua_s_inv_msg(const struct ua_sess *s)
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
int
ua_s_send_cancel(struct ua_sess *s)
{
	const struct sip_msg *inv = ua_s_inv_msg(s);
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
			       ua_creq_resp_h, c);
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
			ua_s_state(s, UA_S_TERMINATING);
			if (s->got_1xx)
				err = ua_s_send_cancel(s);
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
		ua_s_state(s, UA_S_TERMINATING);
		break;
	default:
		ua_s_state(s, UA_S_TERMINATING);
		err = ua_s_send_bye(s);
		if (err)
			ua_s_over(s, UA_EV_ENDED, 500, NULL, false);
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

struct ua_sess *
ua_sess_replaces(const struct ua_sess *s)
{
	return s ? s->replaces : NULL;
}

uint32_t
ua_sess_interval(const struct ua_sess *s, bool *refresher)
{
	if (refresher)
		*refresher = s->st.interval && s->st.local_refresher;
	return s->st.interval;
}
