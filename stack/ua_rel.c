/* Reliable provisional responses in the UA core: RFC 3262 §3 (UAS: RSeq,
   retransmission, PRACK matching, the held 2xx, 5xx without PRACK) and §4
   (UAC: PRACK per early dialog, retransmissions and gaps dropped), on top
   of the rel1xx module. See ua.h. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define LOG_MODULE "ua"
#include "log.h"
#include "mem.h"
#include "sip_write.h"
#include "ua_int.h"

/* ---- UAS ------------------------------------------------------------ */

/* May s answer reliably: we support 100rel and so does the INVITE. */
bool
ua_rel_possible(const struct ua_sess *s)
{
	return s->ua && s->ua->rel100 && !s->uac && s->ireq &&
	       rel1xx_peer(&s->ireq->msg) != REL1XX_PEER_NONE;
}

/* §3: "MUST send any non-100 provisional response reliably if the
   initial request contained a Require header field with the option tag
   100rel". */
bool
ua_rel_required(const struct ua_sess *s)
{
	return ua_rel_possible(s) &&
	       rel1xx_peer(&s->ireq->msg) == REL1XX_PEER_REQUIRED;
}

static void
held_free(struct ua_held *h)
{
	if (!h)
		return;
	free(h->reason);
	free(h->hdrs);
	free(h->ctype);
	free(h->body);
	free(h);
}

/* The INVITE got (or will get) its final: reliable 1xx stop, a held 2xx
   is dropped. */
void
ua_rel_final(struct ua_sess *s)
{
	if (s->rel && !s->rel_counted && s->ua) {
		struct rel1xx_uas_stats st;

		rel1xx_uas_stats(s->rel, &st);
		s->ua->st.rel1xx_retrans += st.retransmits;
		s->rel_counted = true;
	}
	if (s->rel)
		rel1xx_uas_final(s->rel);
	held_free(s->held);
	s->held = NULL;
}

static int
rel_send_h(const char *buf, size_t len, uint16_t status, void *arg)
{
	struct ua_sess *s = arg;

	return s->itxn ? txn_server_reply(s->itxn, buf, len, status)
		       : ESHUTDOWN;
}

/* §3: no PRACK within 64*T1 (or a retransmission that could not go):
   "the UAS SHOULD reject the original request with a 5xx response". */
static void
rel_ev_h(enum rel1xx_uas_ev ev, int err, void *arg)
{
	struct ua_sess *s = mem_ref(arg);
	struct ua_req *r = s->ireq;

	LOGP_INFO(s->callid, "reliable provisional %s: rejecting the INVITE",
		  ev == REL1XX_UAS_EV_TIMEOUT ? "never PRACKed" : "not sent");
	(void)err;
	if (r && !r->answered && s->ua) {
		ua_reply_msg(s->ua, r->txn, &r->msg, 504, "No PRACK", s->ltag,
			     NULL, NULL, NULL, 0, false, NULL, NULL);
		r->answered = true;
		s->ireq = mem_deref(s->ireq);
		ua_s_over(s, UA_EV_ENDED, 504, NULL, false);
	}
	mem_deref(s);
}

static int
rel_alloc(struct ua_sess *s)
{
	struct rel1xx_cfg cfg;

	if (s->rel)
		return 0;
	rel1xx_cfg_default(&cfg);
	cfg.t1 = s->ua->conf.t1;
	return rel1xx_uas_alloc(&s->rel, &cfg, s->ua->tmr, &s->ireq->msg,
				rel_send_h, rel_ev_h, s);
}

/*
 * Send the 101-199 reliably (Require: 100rel, RSeq) through rel1xx,
 * which retransmits it and queues later ones behind it. The early
 * dialog exists already. Returns 0 or an error (nothing sent).
 */
int
ua_rel_send_1xx(struct ua_sess *s, uint16_t status, const char *reason,
		const char *hdrs, const char *ctype, const char *body,
		size_t body_len)
{
	static __thread char buf[UA_MSG_MAX];
	struct ua_req *r = s->ireq;
	struct ua_xh xh = {NULL, NULL};
	size_t len;
	int err;

	err = rel_alloc(s);
	if (err)
		return err;
	xh.rel = s->rel;
	err = ua_reply_build(s->ua, &r->msg, status, reason, s->ltag, &xh, hdrs,
			     ctype, body, body_len, true, buf, sizeof(buf),
			     &len);
	if (!err)
		err = rel1xx_uas_send(s->rel, buf, len);
	if (err)
		return err;
	s->ua->st.rel1xx_sent++;
	ua_sdp_sent(s, ctype, body, body_len);
	return 0;
}

static char *
dup_or_null(const char *p, bool *fail)
{
	char *d = ua_strdup(p);

	if (p && !d)
		*fail = true;
	return d;
}

/*
 * §3: a 2xx must wait while reliable 1xx are unacknowledged (we hold it
 * for any, so the peer never sees a PRACK race with the 2xx). Returns
 * true when the 2xx was held (or could not be: *err).
 */
bool
ua_rel_hold_2xx(struct ua_sess *s, int *err, uint16_t status,
		const char *reason, const char *hdrs, const char *ctype,
		const char *body, size_t body_len)
{
	struct ua_held *h;
	bool fail = false;

	*err = 0;
	if (!s->rel || !rel1xx_uas_unacked(s->rel))
		return false;
	if (s->held) {
		*err = EPROTO; /* a 2xx is waiting already */
		return true;
	}
	h = calloc(1, sizeof(*h));
	if (!h) {
		*err = ENOMEM;
		return true;
	}
	h->status = status;
	h->reason = dup_or_null(reason, &fail);
	h->hdrs = dup_or_null(hdrs, &fail);
	h->ctype = dup_or_null(ctype, &fail);
	if (body && body_len && ua_memdup(&h->body, body, body_len))
		fail = true;
	h->body_len = h->body ? body_len : 0;
	if (fail) {
		held_free(h);
		*err = ENOMEM;
		return true;
	}
	LOGP_DBG(s->callid, "%u held until the PRACK", status);
	s->held = h;
	return true;
}

/* The last PRACK came: the held 2xx goes now. */
static void
send_held(struct ua_sess *s)
{
	struct ua_held *h = s->held;
	int err;

	if (!h || (s->rel && rel1xx_uas_unacked(s->rel)))
		return;
	s->held = NULL;
	err = ua_sess_answer(s, h->status, h->reason, h->hdrs, h->ctype,
			     h->body, h->body_len);
	if (err && s->state != UA_S_ENDED && s->ireq) {
		LOGP_WARN(s->callid, "held 2xx not sent: %s", strerror(err));
		ua_sess_answer(s, 500, NULL, NULL, NULL, NULL, 0);
		ua_s_over(s, UA_EV_ENDED, 500, NULL, false);
	}
	held_free(h);
}

/*
 * A PRACK in the (early or confirmed) dialog: §3 200 when its RAck
 * matches our unacknowledged reliable 1xx, 481 when it matches none,
 * 400 without a valid RAck. A match is reported (UA_EV_PRACK) and may
 * release the held 2xx.
 */
void
ua_rel_prack_in(struct ua_sess *s, const struct sip_msg *msg,
		const struct txn_dest *src)
{
	uint16_t status = 481;
	int err = 0;

	if (s->rel)
		err = rel1xx_uas_prack(s->rel, msg, &status);
	ua_reject(s->ua, msg, src, status, status == 400 ? "Bad RAck" : NULL,
		  NULL);
	if (status != 200)
		return;
	s->ua->st.rejected[2]--; /* not a rejection */
	s->ua->st.prack_in++;
	ua_sdp_recv(s, msg);
	if (err)
		LOGP_WARN(s->callid, "next reliable 1xx not sent: %s",
			  strerror(err));
	ua_s_emit(s, UA_EV_PRACK, 200, msg, NULL, NULL, true);
	if (s->state != UA_S_ENDED)
		send_held(s);
}

/* ---- UAC ------------------------------------------------------------ */

static void
send_prack(struct ua_sess *s, struct dlg *d, const struct rel1xx_rack *rack)
{
	char hdr[96];
	struct ua_creq *c;
	size_t n = 0;

	if (rel1xx_rack_print(hdr + 6, sizeof(hdr) - 9, &n, rack))
		return;
	memcpy(hdr, "RAck: ", 6);
	memcpy(hdr + 6 + n, "\r\n", 3);
	c = calloc(1, sizeof(*c));
	if (!c)
		return;
	c->mid = SIP_M_PRACK;
	c->internal = true; /* its final response only frees it */
	if (ua_s_send_dlg(s, d, c, "PRACK", hdr, NULL, NULL, 0)) {
		LOGP_WARN(s->callid, "PRACK not sent");
		free(c);
		return;
	}
	s->ua->st.prack_out++;
}

/*
 * §4: the provisional resp on early dialog idx of a UAC session. A new
 * in-order reliable one is PRACKed in that dialog (RAck, §7.2); a
 * retransmission, an out-of-order RSeq, or a broken RSeq is dropped
 * (*drop: no PROGRESS event). Unreliable ones pass.
 */
void
ua_rel_uac_1xx(struct ua_sess *s, const struct sip_msg *resp, unsigned idx,
	       bool *drop)
{
	enum rel1xx_verdict v;
	struct rel1xx_rack rack;
	int err;

	*drop = false;
	if (!s->ua->rel100 || idx >= s->nearly)
		return;
	err = rel1xx_uac_recv(&s->rel_uac[idx], resp, &v, &rack);
	if (err || v == REL1XX_V_RETRANS || v == REL1XX_V_GAP ||
	    v == REL1XX_V_LATE) {
		LOGP_DBG(s->callid, "reliable %u dropped: %s", resp->status,
			 err ? "bad RSeq" : rel1xx_verdict_name(v));
		s->ua->st.rel1xx_dropped++;
		*drop = true;
		return;
	}
	if (v == REL1XX_V_PRACK)
		send_prack(s, s->early[idx], &rack);
}
