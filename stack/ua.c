/* The UA core's context and dispatcher: RFC 3261 §8.2 UAS checks (in the
   order of §8.2.1 - §8.2.3), §9.2 CANCEL lookup, §12.2.2 dialog lookup
   (481), out-of-dialog OPTIONS (§11). Sessions live in ua_sess.c. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define LOG_MODULE "ua"
#include "log.h"
#include "mem.h"
#include "sip_write.h"
#include "tp.h"
#include "ua_int.h"

void
ua_conf_default(struct ua_conf *conf)
{
	memset(conf, 0, sizeof(*conf));
	conf->host = "127.0.0.1";
	conf->port = 5060;
	conf->max_sessions = 10000;
	conf->glare_tries = 2;
	conf->t1 = 500;
	conf->t2 = 4000;
}

static void
ua_destroy(void *arg)
{
	struct ua *ua = arg;
	unsigned i;

	/* Sessions still up are dropped silently: no events, no messages
	   (the worker is going away). The app's references stay valid and
	   inert. */
	for (i = 0; i < UA_HASH; i++) {
		while (ua->bucket[i]) {
			struct ua_sess *s = ua->bucket[i];

			ua->bucket[i] = s->hnext;
			s->hnext = NULL;
			s->in_table = false;
			ua_sess_detach_all(s);
			s->ua = NULL;
			mem_deref(s);
		}
	}
	mem_deref(ua->txn);
	mem_deref(ua->tmr);
	free(ua->host);
	free(ua->user);
	free(ua->server);
	free(ua->supported);
}

/* RFC 3262 / RFC 4028 settings from the conf: session timers put
   "timer" into our Supported list (RFC 4028 §7.1, §9). */
static int
ua_ext_setup(struct ua *ua)
{
	struct sess_timer_cfg *c = &ua->stc;

	ua->rel100 = ua_tag_supported(ua, "100rel");
	sess_timer_cfg_default(c);
	c->enabled = ua->conf.session_expires > 0;
	c->min_se = ua->conf.min_se > SESS_TIMER_MIN_SE ? ua->conf.min_se
							: SESS_TIMER_MIN_SE;
	c->expires = ua->conf.session_expires > c->min_se
			     ? ua->conf.session_expires
			     : c->min_se;
	c->want_refresh = ua->conf.session_refresher;
	if (c->enabled && !ua_tag_supported(ua, "timer")) {
		size_t n = strlen(ua->supported) + 8;
		char *p = malloc(n);

		if (!p)
			return ENOMEM;
		snprintf(p, n, "%s%stimer", ua->supported,
			 *ua->supported ? ", " : "");
		free(ua->supported);
		ua->supported = p;
	}
	return 0;
}

int
ua_alloc(struct ua **uap, const struct ua_conf *conf, struct txn_ctx *txn,
	 struct tmr_ctx *tmr, txn_send_h *send_h, void *send_arg,
	 ua_invite_h *invite_h, void *arg)
{
	struct ua_conf def;
	struct ua *ua;

	if (!uap || !txn || !tmr || !send_h || !invite_h)
		return EINVAL;
	if (!conf) {
		ua_conf_default(&def);
		conf = &def;
	}
	ua = mem_zalloc(sizeof(*ua), ua_destroy);
	if (!ua)
		return ENOMEM;
	ua->conf = *conf;
	if (!ua->conf.port)
		ua->conf.port = 5060;
	if (!ua->conf.t1)
		ua->conf.t1 = 500;
	if (!ua->conf.t2)
		ua->conf.t2 = 4000;
	ua->host = ua_strdup(conf->host ? conf->host : "127.0.0.1");
	ua->user = ua_strdup(conf->user ? conf->user : "tandem");
	ua->server = ua_strdup(conf->server ? conf->server : "Tandem");
	ua->supported = ua_strdup(conf->supported ? conf->supported : "");
	ua->txn = mem_ref(txn);
	ua->tmr = mem_ref(tmr);
	ua->send_h = send_h;
	ua->send_arg = send_arg;
	ua->invite_h = invite_h;
	ua->arg = arg;
	if (!ua->host || !ua->user || !ua->server || !ua->supported ||
	    ua_ext_setup(ua)) {
		mem_deref(ua);
		return ENOMEM;
	}
	*uap = ua;
	return 0;
}

void
ua_stats(const struct ua *ua, struct ua_stats *st)
{
	*st = ua->st;
}

/* ---- the session table (by Call-ID and our tag) --------------------- */

static unsigned
callid_hash(const char *p, size_t l)
{
	uint64_t h = 0xcbf29ce484222325ull;
	size_t i;

	for (i = 0; i < l; i++)
		h = (h ^ (unsigned char)p[i]) * 0x100000001b3ull;
	return (unsigned)(h ^ (h >> 29)) & (UA_HASH - 1);
}

void
ua_table_add(struct ua *ua, struct ua_sess *s)
{
	unsigned b = callid_hash(s->callid, strlen(s->callid));

	s->hnext = ua->bucket[b];
	ua->bucket[b] = mem_ref(s);
	s->in_table = true;
	ua->st.sess_active++;
}

void
ua_table_del(struct ua *ua, struct ua_sess *s)
{
	unsigned b = callid_hash(s->callid, strlen(s->callid));
	struct ua_sess **pp;

	if (!s->in_table)
		return;
	for (pp = &ua->bucket[b]; *pp; pp = &(*pp)->hnext) {
		if (*pp == s) {
			*pp = s->hnext;
			s->hnext = NULL;
			s->in_table = false;
			ua->st.sess_active--;
			mem_deref(s);
			return;
		}
	}
}

/* The session of msg: same Call-ID and our tag (To tag of a request,
   From tag of a response). Our tags are random per session, so they
   name it; the session picks the dialog by the remote tag. */
struct ua_sess *
ua_sess_find(struct ua *ua, const struct sip_msg *msg, bool as_req)
{
	const struct pl *tag = as_req ? &msg->to.tag : &msg->from.tag;
	unsigned b = callid_hash(msg->callid.p, msg->callid.l);
	struct ua_sess *s;

	for (s = ua->bucket[b]; s; s = s->hnext)
		if (pl_eq_str(&msg->callid, s->callid) &&
		    pl_eq_str(tag, s->ltag))
			return s;
	return NULL;
}

struct ua_sess *
ua_sess_by_callid(struct ua *ua, const char *callid, size_t len, ua_sess_h **h,
		  void **arg)
{
	struct pl id;
	struct ua_sess *s;

	if (!ua || !callid)
		return NULL;
	pl_set(&id, callid, len);
	for (s = ua->bucket[callid_hash(callid, len)]; s; s = s->hnext)
		if (pl_eq_str(&id, s->callid)) {
			if (h)
				*h = s->h;
			if (arg)
				*arg = s->arg;
			return s;
		}
	return NULL;
}

/* The session whose INVITE (initial or re-INVITE) server transaction is
   t (§9.2: the CANCEL's target), or NULL. */
struct ua_sess *
ua_sess_find_txn(struct ua *ua, const struct pl *callid, const struct txn *t)
{
	unsigned b = callid_hash(callid->p, callid->l);
	struct ua_sess *s;

	for (s = ua->bucket[b]; s; s = s->hnext)
		if (pl_eq_str(callid, s->callid) &&
		    (s->itxn == t || (s->in_inv && s->in_inv->txn == t)))
			return s;
	return NULL;
}

/* ---- responses ------------------------------------------------------ */

static enum tp_proto
via_proto(const struct sip_msg *req)
{
	if (pl_caseeq_str(&req->via.transport, "TCP"))
		return TP_TCP;
	if (pl_caseeq_str(&req->via.transport, "TLS"))
		return TP_TLS;
	return TP_UDP;
}

/*
 * Build the response to req (§8.2.6) with our To tag ltag (NULL: none)
 * and send it through txn (NULL: statelessly to the ua's send_h is the
 * caller's business, see ua_reject()). contact adds our Contact; 2xx to
 * INVITE and OPTIONS, and 405, also carry Allow and Supported. *copy
 * (may be NULL) gets a malloc'd copy of the bytes.
 */
int
ua_reply_build(struct ua *ua, const struct sip_msg *req, uint16_t status,
	       const char *reason, const char *ltag, const struct ua_xh *xh,
	       const char *hdrs, const char *ctype, const char *body,
	       size_t body_len, bool contact, char *buf, size_t size,
	       size_t *len)
{
	struct pl rs = {reason, reason ? strlen(reason) : 0};
	struct pl tag = {ltag, ltag ? strlen(ltag) : 0};
	struct sip_wbuf wb;
	bool allow = status == 405 || status == 422 ||
		     (status / 100 == 2 &&
		      (req->mid == SIP_M_INVITE || req->mid == SIP_M_OPTIONS ||
		       req->mid == SIP_M_UPDATE));
	int err = 0;

	sip_wb_init(&wb, buf, size);
	sip_wb_reply(&wb, req, status, reason ? &rs : NULL,
		     status > 100 && ltag ? &tag : NULL);
	/* §12.1.1: "When a UAS responds to a request with a response that
	   establishes a dialog (such as a 2xx to INVITE), the UAS MUST copy
	   all Record-Route header field values from the request into the
	   response ... and MUST maintain the order of those values" (a
	   proxy in front, e.g. a dispatcher, stays on the caller's route). */
	if (req->mid == SIP_M_INVITE && status > 100 && status < 300 && ltag &&
	    !pl_isset(&req->to.tag))
		sip_wb_hdr_copy(&wb, req, SIP_HDR_RECORD_ROUTE);
	ua_put_common(ua, &wb, via_proto(req), contact, allow);
	sip_wb_hdrf(&wb, SIP_HDR_SERVER, "%s", ua->server);
	if (xh && xh->rel)
		err = rel1xx_uas_write(xh->rel, &wb);
	if (!err && xh && xh->st)
		err = sess_timer_uas_write(xh->st, &wb);
	if (!err)
		err = ua_put_hdrs(&wb, hdrs);
	if (!err)
		err = ua_end_body(&wb, ctype, body, body_len, len);
	return err;
}

/*
 * Build the response to req (§8.2.6) with our To tag ltag (NULL: none)
 * and the UA's own extra headers xh (NULL: none), and send it through
 * txn. contact adds our Contact; 2xx to INVITE, UPDATE and OPTIONS, 405
 * and 422 also carry Allow and Supported. *copy (may be NULL) gets a
 * malloc'd copy of the bytes.
 */
int
ua_reply_xmsg(struct ua *ua, struct txn *txn, const struct sip_msg *req,
	      uint16_t status, const char *reason, const char *ltag,
	      const struct ua_xh *xh, const char *hdrs, const char *ctype,
	      const char *body, size_t body_len, bool contact, char **copy,
	      size_t *copy_len)
{
	static __thread char buf[UA_MSG_MAX];
	size_t len;
	int err;

	err = ua_reply_build(ua, req, status, reason, ltag, xh, hdrs, ctype,
			     body, body_len, contact, buf, sizeof(buf), &len);
	if (!err && txn)
		err = txn_server_reply(txn, buf, len, status);
	else if (!err)
		err = EINVAL;
	if (!err && copy) {
		err = ua_memdup(copy, buf, len);
		*copy_len = len;
	}
	return err;
}

/* ua_reply_xmsg() without the UA's extra headers. */
int
ua_reply_msg(struct ua *ua, struct txn *txn, const struct sip_msg *req,
	     uint16_t status, const char *reason, const char *ltag,
	     const char *hdrs, const char *ctype, const char *body,
	     size_t body_len, bool contact, char **copy, size_t *copy_len)
{
	return ua_reply_xmsg(ua, txn, req, status, reason, ltag, NULL, hdrs,
			     ctype, body, body_len, contact, copy, copy_len);
}

static void
noop_req_h(struct txn *txn, enum txn_sev ev, int err, const struct sip_msg *msg,
	   void *arg)
{
}

/*
 * Reject the new request msg with status through a server transaction
 * of its own (so retransmissions are answered from it), or statelessly
 * when none can be made (ENOBUFS at the transaction cap). Never for ACK.
 */
void
ua_reject(struct ua *ua, const struct sip_msg *msg, const struct txn_dest *src,
	  uint16_t status, const char *reason, const char *hdrs)
{
	struct txn *txn = NULL;
	int err;

	if (msg->mid == SIP_M_ACK)
		return;
	ua->st.rejected[status / 100 % 7]++;
	err = txn_server_create(&txn, ua->txn, msg, src, noop_req_h, NULL);
	if (!err) {
		char tag[UA_TAG_LEN + 1];

		ua_rand_hex(tag, UA_TAG_LEN);
		err = ua_reply_msg(ua, txn, msg, status, reason, tag, hdrs,
				   NULL, NULL, 0, false, NULL, NULL);
		txn_detach(txn);
		mem_deref(txn);
	} else {
		static __thread char buf[UA_MSG_MAX];
		struct pl rs = {reason, reason ? strlen(reason) : 0};
		struct sip_wbuf wb;
		size_t len;

		sip_wb_init(&wb, buf, sizeof(buf));
		sip_wb_reply(&wb, msg, status, reason ? &rs : NULL, NULL);
		sip_wb_hdrf(&wb, SIP_HDR_SERVER, "%s", ua->server);
		ua_put_hdrs(&wb, hdrs); /* Retry-After comes with them */
		err = sip_wb_end(&wb, NULL, &len);
		if (!err)
			err = ua->send_h(src, buf, len, ua->send_arg);
	}
	if (err)
		LOG_DBG("%u to %.*s not sent: %s", status, (int)msg->method.l,
			msg->method.p, strerror(err));
}

/* ---- §8.2 checks ---------------------------------------------------- */

static bool
method_allowed(enum sip_method m)
{
	switch (m) {
	case SIP_M_INVITE:
	case SIP_M_ACK:
	case SIP_M_BYE:
	case SIP_M_CANCEL:
	case SIP_M_OPTIONS:
	case SIP_M_UPDATE:
	case SIP_M_INFO:
	case SIP_M_MESSAGE:
	case SIP_M_REFER:
	case SIP_M_NOTIFY:
	case SIP_M_PRACK:
		return true;
	default:
		return false;
	}
}

/* Is the option tag t in our comma-separated supported list? */
static bool
tag_supported(const struct ua *ua, const struct pl *t)
{
	const char *p = ua->supported;

	while (p && *p) {
		size_t n;

		while (*p == ' ' || *p == ',')
			p++;
		n = strcspn(p, ", ");
		if (n && n == t->l && strncasecmp(p, t->p, n) == 0)
			return true;
		p += n;
	}
	return false;
}

bool
ua_tag_supported(const struct ua *ua, const char *tag)
{
	struct pl t = {tag, strlen(tag)};

	return tag_supported(ua, &t);
}

/* §8.2.2.3: true when a Require tag is unknown; buf gets the Unsupported
   value listing the unknown tags that fit in it (a peer's list of any
   length still gets its 420, with as many tags as fit). */
static bool
require_unknown(const struct ua *ua, const struct sip_msg *msg, char *buf,
		size_t size)
{
	struct sip_hdr_iter it;
	struct pl v;
	size_t off = 0;
	bool unknown = false;

	buf[0] = '\0';
	sip_hdr_iter_init(&it, msg, SIP_HDR_REQUIRE);
	while (sip_hdr_iter_next(&it, &v) == 0) {
		size_t need = v.l + (off ? 2 : 0);

		if (tag_supported(ua, &v))
			continue;
		unknown = true;
		if (off + need < size)
			off += (size_t)snprintf(buf + off, size - off, "%s%.*s",
						off ? ", " : "", (int)v.l, v.p);
	}
	return unknown;
}

/* §8.2.3: bodies we must understand are SDP (or multipart carrying it);
   other methods' bodies are relayed as they are. */
static bool
body_unsupported(const struct sip_msg *msg)
{
	const struct sip_hdr *ce;

	if (msg->mid != SIP_M_INVITE && msg->mid != SIP_M_UPDATE &&
	    msg->mid != SIP_M_PRACK)
		return false;
	ce = sip_msg_hdr(msg, SIP_HDR_CONTENT_ENCODING);
	if (ce && !pl_caseeq_str(&ce->val, "identity"))
		return true;
	if (!msg->body.l || !msg->ctype_set)
		return false;
	if (pl_caseeq_str(&msg->ctype.type, "application") &&
	    pl_caseeq_str(&msg->ctype.subtype, "sdp"))
		return false;
	return !pl_caseeq_str(&msg->ctype.type, "multipart");
}

/*
 * The checks of §8.2, in its order, for a request no transaction took.
 * Returns true when msg was answered (rejected) here.
 */
static bool
ua_check(struct ua *ua, const struct sip_msg *msg, const struct txn_dest *src)
{
	struct sip_perr perr;
	char phrase[160], unsup[256], hdr[300];

	if (sip_msg_check(msg, &perr)) {
		/* §8.2: a request we cannot act on gets 400 naming what is
		   wrong (the parser's phrase). */
		sip_perr_phrase(&perr, phrase, sizeof(phrase));
		ua_reject(ua, msg, src, perr.status ? perr.status : 400, phrase,
			  NULL);
		return true;
	}
	if (!method_allowed(msg->mid)) { /* §8.2.1 */
		ua_reject(ua, msg, src, 405, NULL, NULL);
		return true;
	}
	if (msg->ruri.scheme != SIP_URI_SIP &&
	    msg->ruri.scheme != SIP_URI_SIPS &&
	    msg->ruri.scheme != SIP_URI_TEL) { /* §8.2.2.1 */
		ua_reject(ua, msg, src, 416, NULL, NULL);
		return true;
	}
	if (!msg->to.tag.l && msg->mid != SIP_M_CANCEL &&
	    txn_merged(ua->txn, msg)) { /* §8.2.2.2 */
		ua_reject(ua, msg, src, 482, NULL, NULL);
		return true;
	}
	/* §8.2.2.3: "the UAS MUST NOT send a 420 for CANCEL or ACK". */
	if (msg->mid != SIP_M_CANCEL && msg->mid != SIP_M_ACK &&
	    require_unknown(ua, msg, unsup, sizeof(unsup))) {
		snprintf(hdr, sizeof(hdr), "Unsupported: %s\r\n", unsup);
		ua_reject(ua, msg, src, 420, NULL, hdr);
		return true;
	}
	if (body_unsupported(msg)) { /* §8.2.3 */
		ua_reject(ua, msg, src, 415, NULL,
			  "Accept: application/sdp\r\n"
			  "Accept-Encoding: identity\r\n");
		return true;
	}
	if (msg->max_forwards == 0 && msg->mid != SIP_M_OPTIONS &&
	    msg->mid != SIP_M_CANCEL) {
		/* We forward what we accept (b2bua): §16.3 step 2. */
		ua_reject(ua, msg, src, 483, NULL, NULL);
		return true;
	}
	if (msg->mid == SIP_M_INVITE && !sip_msg_hdr(msg, SIP_HDR_CONTACT)) {
		/* §8.1.1.8: an INVITE MUST carry one Contact. */
		ua_reject(ua, msg, src, 400, "Missing Contact", NULL);
		return true;
	}
	if (msg->callid.l > UA_CALLID_MAX) {
		ua_reject(ua, msg, src, 400, "Call-ID too long", NULL);
		return true;
	}
	return false;
}

/* ---- dispatch ------------------------------------------------------- */

/* The dialog of s with local tag ltag (s's own) and remote tag rtag. */
static const struct dlg *
sess_dlg_rtag(const struct ua_sess *s, const struct pl *rtag)
{
	unsigned i;

	if (s->dlg && s->dlg->rtag.p && pl_eq_str(rtag, s->dlg->rtag.p))
		return s->dlg;
	for (i = 0; i < s->nearly; i++)
		if (s->early[i]->rtag.p && pl_eq_str(rtag, s->early[i]->rtag.p))
			return s->early[i];
	return NULL;
}

/*
 * RFC 3891 §3, for a request carrying Replaces (sip_msg_check() already
 * refused a malformed or repeated one with 400). Returns true when msg
 * was answered here; else *target is the named session (NULL: none).
 */
static bool
replaces_check(struct ua *ua, const struct sip_msg *msg,
	       const struct txn_dest *src, struct ua_sess **target)
{
	const struct sip_hdr *h = sip_msg_hdr(msg, SIP_HDR_REPLACES);
	struct sip_replaces r;
	const struct dlg *d = NULL;
	const char *why = NULL;
	struct ua_sess *s;
	unsigned b;

	*target = NULL;
	if (!h)
		return false;
	/* "a Replaces header field ... in a request other than INVITE, the
	   UAS MUST reject the request with a 400 Bad Request". A re-INVITE
	   cannot replace its own dialog either. */
	if (msg->mid != SIP_M_INVITE || msg->to.tag.l) {
		ua_reject(ua, msg, src, 400, "Replaces Not Allowed Here", NULL);
		return true;
	}
	if (sip_replaces_decode(&r, &h->val, &why)) {
		ua_reject(ua, msg, src, 400, "Bad Replaces", NULL);
		return true;
	}
	/* The to-tag is the local tag of the dialog at its recipient, the
	   from-tag its remote tag. */
	b = callid_hash(r.callid.p, r.callid.l);
	for (s = ua->bucket[b]; s; s = s->hnext)
		if (pl_eq_str(&r.callid, s->callid) &&
		    pl_eq_str(&r.to_tag, s->ltag) &&
		    (d = sess_dlg_rtag(s, &r.from_tag)) != NULL)
			break;
	if (!s) {
		/* "If no match is found ... the UAS MUST respond with a 481
		   Call/Transaction Does Not Exist". */
		ua_reject(ua, msg, src, 481, NULL, NULL);
		return true;
	}
	if (s->state == UA_S_TERMINATING || s->state == UA_S_ENDED) {
		/* "matches a dialog which has already terminated": 603. */
		ua_reject(ua, msg, src, 603, NULL, NULL);
		return true;
	}
	if (d->state == DLG_S_CONFIRMED && r.early_only) {
		/* early-only and the dialog is confirmed: 486 Busy Here. */
		ua_reject(ua, msg, src, 486, NULL, NULL);
		return true;
	}
	if (d->state != DLG_S_CONFIRMED && !s->uac) {
		/* "matches an early dialog that was not initiated by this
		   UA, it returns a 481". */
		ua_reject(ua, msg, src, 481, NULL, NULL);
		return true;
	}
	*target = s;
	return false;
}

/* A request outside any dialog that is not an INVITE. */
static void
out_of_dialog(struct ua *ua, const struct sip_msg *msg,
	      const struct txn_dest *src)
{
	switch (msg->mid) {
	case SIP_M_OPTIONS:
		/* §11.2: "The response code chosen MUST be the same that
		   would have been chosen had the request been an INVITE":
		   503 while the app refuses new calls (a dispatcher in front
		   takes this node out of its set), else 200 with what we
		   support. */
		if (ua->conf.unavailable &&
		    atomic_load_explicit(ua->conf.unavailable,
					 memory_order_relaxed)) {
			ua_reject(ua, msg, src, 503, "Draining",
				  "Retry-After: 30\r\n");
			return;
		}
		ua_reject(ua, msg, src, 200, NULL,
			  "Accept: application/sdp\r\n");
		ua->st.rejected[2]--; /* not a rejection */
		return;
	case SIP_M_MESSAGE:
	case SIP_M_REFER:
		ua_reject(ua, msg, src, 403, "Not Allowed Outside a Call",
			  NULL);
		return;
	default:
		/* BYE, PRACK, UPDATE, INFO, NOTIFY need a dialog: §12.2.2
		   and RFC 3262 §7.1, RFC 3311 §5.2, RFC 6086 §4.2.1. */
		ua_reject(ua, msg, src, 481, NULL, NULL);
		return;
	}
}

static void
recv_request(struct ua *ua, const struct sip_msg *msg,
	     const struct txn_dest *src)
{
	struct ua_sess *s, *target;

	if (msg->mid == SIP_M_ACK) {
		/* Not absorbed by a transaction: the ACK for a 2xx, the
		   dialog's business (§13.3.1.4, RFC 6026 §8.7). */
		s = ua_sess_find(ua, msg, true);
		if (s)
			ua_sess_ack_in(s, msg);
		else
			ua->st.stray++;
		return;
	}
	if (ua_check(ua, msg, src) || replaces_check(ua, msg, src, &target))
		return;
	if (msg->mid == SIP_M_CANCEL) {
		struct txn *t = txn_cancel_target(ua->txn, msg);

		/* §9.2: no matching transaction: 481; else 200 for the
		   CANCEL, and the INVITE, if still unanswered, gets 487. */
		if (!t) {
			ua_reject(ua, msg, src, 481, NULL, NULL);
			return;
		}
		mem_ref(t);
		ua_reject(ua, msg, src, 200, NULL, NULL);
		ua->st.rejected[2]--; /* not a rejection */
		ua_sess_cancel_in(ua, msg, t);
		mem_deref(t);
		return;
	}
	if (msg->to.tag.l) {
		s = ua_sess_find(ua, msg, true);
		if (!s) { /* §12.2.2 */
			ua_reject(ua, msg, src, 481, NULL, NULL);
			return;
		}
		mem_ref(s);
		ua_sess_in_dialog(s, msg, src);
		mem_deref(s);
		return;
	}
	if (msg->mid == SIP_M_INVITE)
		ua_sess_incoming(ua, msg, src, target);
	else
		out_of_dialog(ua, msg, src);
}

int
ua_recv(struct ua *ua, const struct sip_msg *msg, const struct txn_dest *src)
{
	int err;

	if (!ua || !msg || !src)
		return EINVAL;
	err = txn_recv(ua->txn, msg, src);
	if (err == 0)
		return 0;
	if (err != ENOENT)
		return err;
	if (msg->req) {
		mem_ref(ua);
		recv_request(ua, msg, src);
		mem_deref(ua);
	} else {
		/* A response no client transaction wants: late, or not
		   ours. §17.1.3 / §18.1.2: drop. */
		ua->st.stray++;
	}
	return 0;
}
