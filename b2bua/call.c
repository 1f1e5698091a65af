/* The call object (call.h): set-up, routing through the policy, serial
   failover over the B-leg attempts, the mapping of provisional and final
   responses, and teardown. In-dialog relaying is in call_relay.c. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define LOG_MODULE "call"
#include "call_int.h"
#include "tdns.h"
#include "lim.h"
#include "policy.h"
#include "stack/log.h"
#include "stack/mem.h"

static const char *const state_names[CALL_S_COUNT] = {
	"routing", "early", "connected", "terminating", "ended"};

const char *
call_state_name(enum call_state s)
{
	return (unsigned)s < CALL_S_COUNT ? state_names[s] : "?";
}

uint64_t
call_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static void
set_state(struct call *c, enum call_state st)
{
	if (c->state == st)
		return;
	LOGP_DBG(c->id, "%s -> %s", call_state_name(c->state),
		 call_state_name(st));
	c->state = st;
}

static void
call_destroy(void *arg)
{
	struct call *c = arg;
	unsigned i;

	tmr_cancel(&c->t_noans);
	tmr_cancel(&c->t_maxdur);
	tmr_cancel(&c->t_reap);
	lim_release(c->src_slot);
	lim_release(c->dst_slot);
	for (i = 0; i < LEG_COUNT; i++) {
		if (c->leg[i])
			ua_sess_set_handler(c->leg[i], NULL, NULL);
		mem_deref(c->leg[i]);
	}
	for (i = 0; i < c->nprev; i++)
		mem_deref(c->prev[i]);
	c->rs = relay_sess_close(c->rs);
	pol_snap_deref(c->snap);
	free(c->offer);
	free(c->a_sdp);
	call_srtp_free(c);
	free(c->a_pass);
	free(c->last_sdp[LEG_A]);
	free(c->last_sdp[LEG_B]);
	free(c->xfer_sdp);
	free(c->lad);
	if (c->xfer)
		ua_sess_set_handler(c->xfer, NULL, NULL);
	mem_deref(c->xfer);
}

static void
unlink_call(struct call *c)
{
	if (!c->pprev)
		return;
	*c->pprev = c->next;
	if (c->next)
		c->next->pprev = c->pprev;
	c->pprev = NULL;
	c->next = NULL;
	c->bw->ncalls--;
}

static void
on_reap(void *arg)
{
	mem_deref(arg);
}

static const char *
disposition(const struct call *c)
{
	if (c->t_answer)
		return "answered";
	if (c->refused)
		return "rejected";
	if (c->a_status == 487)
		return "cancelled";
	if (c->a_status == 486 || c->a_status == 600)
		return "busy";
	if (c->a_status == 480 || c->a_status == 408)
		return "no-answer";
	return "failed";
}

/* Per-direction RTP figures of the first stream (RFC 3550 A.3, A.8). */
static void
log_media(const struct call *c)
{
	struct relay_stats a, b;

	if (!c->rs || relay_stream_stats(c->rs, RELAY_LEG_A, 0, &a) ||
	    relay_stream_stats(c->rs, RELAY_LEG_B, 0, &b))
		return;
	if (!a.packets && !b.packets)
		return;
	LOGP_INFO(c->id,
		  "media A->B %llu pkts (%llu fwd, lost %lld, jitter %u us), "
		  "B->A %llu pkts (%llu fwd, lost %lld, jitter %u us)",
		  (unsigned long long)a.packets,
		  (unsigned long long)a.forwarded, (long long)a.lost,
		  a.jitter_us, (unsigned long long)b.packets,
		  (unsigned long long)b.forwarded, (long long)b.lost,
		  b.jitter_us);
}

/* Both legs over: account, log the summary, release on the next tick
   (never inside a UA callback). */
void
call_maybe_done(struct call *c)
{
	struct b2b *b = c->bw->b2b;

	if (c->state == CALL_S_ENDED || !c->done[LEG_A] ||
	    (c->leg[LEG_B] && !c->done[LEG_B]) || (c->xfer && !c->xfer_done))
		return;
	set_state(c, CALL_S_ENDED);
	c->t_end = call_now_ms();
	lim_release(c->src_slot);
	lim_release(c->dst_slot);
	c->src_slot = c->dst_slot = NULL;
	tmr_cancel(&c->t_noans);
	tmr_cancel(&c->t_maxdur);
	atomic_fetch_add_explicit(&b->st.ended, 1, memory_order_relaxed);
	if (c->counted)
		atomic_fetch_sub_explicit(&b->st.active, 1,
					  memory_order_relaxed);
	c->counted = false;
	unlink_call(c);
	LOGP_INFO(c->id, "end: %s, A %u, %u attempt(s), %llu ms connected",
		  disposition(c), c->a_status, c->natt,
		  c->t_answer ? (unsigned long long)(c->t_end - c->t_answer)
			      : 0ULL);
	log_media(c);
	call_trunk_count(c);
	call_cdr(c);
	tmr_start(&c->t_reap, sipw_tmr(c->bw->w), 0, on_reap, c);
}

/* The A-leg's final failure (3xx-6xx): the session is over. */
static void
a_fail(struct call *c, uint16_t status, const char *phrase, const char *hdrs)
{
	struct b2b *b = c->bw->b2b;

	if (c->a_final || c->done[LEG_A])
		return;
	c->a_final = true;
	c->a_status = status;
	snprintf(c->a_reason, sizeof(c->a_reason), "%s", phrase ? phrase : "");
	(void)ua_sess_answer(c->leg[LEG_A], status, phrase, hdrs, NULL, NULL,
			     0);
	c->done[LEG_A] = true;
	atomic_fetch_add_explicit(&b->st.failed, 1, memory_order_relaxed);
	LOGP_INFO(c->id, "A-leg: %u %s", status, phrase ? phrase : "");
}

void
call_fail_a(struct call *c, uint16_t status, const char *phrase,
	    const char *hdrs)
{
	a_fail(c, status, phrase, hdrs);
}

void
call_leg_end(struct call *c, int leg, uint16_t cause, const char *text)
{
	char hdr[128];

	if (!c->leg[leg] || c->done[leg])
		return;
	if (leg == LEG_A && !c->a_final) {
		if (!cause)
			cause = 480;
		snprintf(hdr, sizeof(hdr),
			 "Reason: SIP;cause=%u;text=\"%s\"\r\n", cause,
			 text ? text : "");
		a_fail(c, cause, text, hdr);
		return;
	}
	if (cause)
		snprintf(hdr, sizeof(hdr),
			 "Reason: SIP;cause=%u;text=\"%s\"\r\n", cause,
			 text ? text : "");
	else if (text)
		snprintf(hdr, sizeof(hdr),
			 "Reason: Q.850;cause=16;text=\"%s\"\r\n", text);
	else
		snprintf(hdr, sizeof(hdr), "Reason: Q.850;cause=16\r\n");
	if (ua_sess_end(c->leg[leg], 0, hdr) == EALREADY)
		LOGP_DBG(c->id, "%s-leg already ending", leg ? "B" : "A");
}

/* ---- routing -------------------------------------------------------- */

/* The user part of a URI up to its parameters (RFC 3261 §19.1.6:
   telephone-subscriber parameters follow ';'). */
static void
user_of(const struct sip_uri *u, char *dst, size_t size)
{
	size_t n = 0;

	if (u->scheme == SIP_URI_TEL && pl_isset(&u->number)) {
		snprintf(dst, size, "%.*s", (int)u->number.l, u->number.p);
		return;
	}
	while (pl_isset(&u->user) && n < u->user.l && u->user.p[n] != ';')
		n++;
	snprintf(dst, size, "%.*s", (int)n, u->user.p ? u->user.p : "");
}

/* Issue 7 admission control: the source trunk's concurrent calls and
   calls per second, across every worker (lim.h). */
static int
admit(struct call *c, const struct pol_verdict *v)
{
	struct b2b *b = c->bw->b2b;
	struct lim_slot *sl;
	enum lim_refusal r;

	if (!v->src || (!v->max_calls && !v->max_cps))
		return 0;
	sl = lim_slot(b->lim, v->src->id);
	/* [cluster] nodes: this node's share of the trunk's limits */
	r = lim_take(sl, lim_share(v->max_calls, b->cfg.cluster_nodes),
		     lim_share(v->max_cps, b->cfg.cluster_nodes),
		     call_now_ms());
	if (r == LIM_OK) {
		c->src_slot = sl;
		return 0;
	}
	c->limited = true;
	atomic_fetch_add_explicit(&b->st.rejected_load, 1,
				  memory_order_relaxed);
	a_fail(c, 503, r == LIM_CALLS ? "Trunk Call Limit" : "Trunk Rate Limit",
	       "Retry-After: 1\r\n");
	return EBUSY;
}

bool
call_trunk_usable(void *b, const struct pol_trunk *t)
{
	return !lim_is_down(lim_slot(((struct b2b *)b)->lim, t->id));
}

static int
route(struct call *c, const struct sip_msg *inv, const struct tp_recv *src)
{
	const struct pol_trunk *dig = NULL;
	bool want;
	int err;
	struct b2b_worker *bw = c->bw;
	struct pol_verdict *v = &bw->v;
	struct pol_req rq = {
		.src = (const struct sockaddr *)&src->src,
		.tp = src->proto == TP_TCP   ? POL_TP_TCP
		      : src->proto == TP_TLS ? POL_TP_TLS
					     : POL_TP_UDP,
		.now = (int64_t)time(NULL),
		.usable = call_trunk_usable,
		.usable_arg = bw->b2b,
	};
	unsigned i;

	c->snap = bpol_get(bw->b2b->pol);
	if (!c->snap) {
		a_fail(c, 503, "No Policy Loaded", "Retry-After: 10\r\n");
		return EAGAIN;
	}
	/* Trunks with inbound credentials: digest first (§22.3). */
	want = call_auth_trunk(c->snap, NULL) != NULL;
	if (want) {
		err = call_auth_check(c, inv, src, &dig);
		if (err == EACCES)
			a_fail(c, 403, "Forbidden", NULL);
		if (err && err != ENOENT)
			return err;
	}
	rq.trunk = dig;
	pl_set(&rq.called, c->called, strlen(c->called));
	pl_set(&rq.calling, c->calling, strlen(c->calling));
	(void)RAND_bytes((unsigned char *)&rq.rnd, sizeof(rq.rnd));
	if (pol_route(c->snap, &rq, v) || (v->status == 0 && !v->ntargets)) {
		a_fail(c, 500, "Routing Failed", NULL);
		return EINVAL;
	}
	if (want && !dig &&
	    ((v->status == 403 && !v->src) || (v->src && v->src->in_user))) {
		/* unknown by address, or a trunk that must authenticate */
		call_auth_challenge(c, src, false);
		return EACCES;
	}
	c->src = v->src;
	if (v->status) {
		atomic_fetch_add_explicit(&bw->b2b->st.rejected, 1,
					  memory_order_relaxed);
		c->refused = true;
		a_fail(c, v->status, v->reason, NULL);
		return EPERM;
	}
	c->src = v->src;
	if (admit(c, v))
		return EBUSY;
	for (i = 0; i < v->ntargets && i < POL_TARGETS_MAX; i++) {
		c->tg[i].trunk = v->targets[i].trunk;
		c->tg[i].cid = v->targets[i].cid;
		snprintf(c->tg[i].called, POL_NUM_MAX, "%s",
			 v->targets[i].called);
		snprintf(c->tg[i].calling, POL_NUM_MAX, "%s",
			 v->targets[i].calling);
	}
	c->ntg = i;
	for (i = 0; i < v->nfailover && i < POL_FAILOVER_MAX; i++)
		c->failover[i] = v->failover[i];
	c->nfail = i;
	return 0;
}

/* ---- B-leg attempts ------------------------------------------------- */

static void on_b(struct ua_sess *s, const struct ua_event *ev, void *arg);

static void
on_noanswer(void *arg)
{
	struct call *c = arg;

	LOGP_INFO(c->id, "no answer within %u s", c->bw->b2b->cfg.no_answer_s);
	c->noanswer = true;
	call_leg_end(c, LEG_B, 480, "No Answer");
}

/* Do trunks a and b put their media on the same address? */
static bool
same_media_addr(const struct pol_trunk *a, const struct pol_trunk *b)
{
	const char *x = a ? a->media_addr : NULL, *y = b ? b->media_addr : NULL;

	return (!x || !*x) ? (!y || !*y) : (y && !strcmp(x, y));
}

static int
attempt_place(struct call *c, unsigned i)
{
	struct b2b *b = c->bw->b2b;
	const struct call_target *t = &c->tg[i];
	char called[3 * POL_NUM_MAX], calling[3 * POL_NUM_MAX], th[72], lh[72];
	char ruri[352], to[320], from[320];
	char hdrs[3072];
	struct ua_conn cn = {0};
	struct ua_sess *s = NULL;
	int err;

	if (call_is_self(b, t->trunk))
		return ELOOP;
	if (lim_is_down(lim_slot(b->lim, t->trunk->id)))
		return EHOSTDOWN; /* OPTIONS probing says so (probe.c) */
	if (t->trunk->max_calls) {
		struct lim_slot *sl = lim_slot(b->lim, t->trunk->id);

		if (lim_take_calls(sl, lim_share(t->trunk->max_calls,
						 b->cfg.cluster_nodes)) !=
		    LIM_OK)
			return EBUSY; /* the trunk is full: next target */
		lim_release(c->dst_slot);
		c->dst_slot = sl;
	}
	if (!c->dns_again)
		c->dns_k = 0;
	c->dns_again = false;
	err = tdns_is_name(t->trunk->host)
		      ? tdns_dest_at(b->tdns, t->trunk, c->dns_k, &cn.dest)
		      : call_target_dest(b, t->trunk, &cn.dest);
	if (err)
		return err;
	c->b_trunk = t->trunk;
	if (c->rs && !same_media_addr(c->offer_for, t->trunk)) {
		/* the trunk's own media address: the B-leg's streams move
		   there (RFC 3264 §8: the new offer says so) */
		err = relay_sess_local_ip(c->rs, RELAY_LEG_B,
					  t->trunk->media_addr);
		if (err) {
			LOGP_WARN(c->id, "trunk %s: media address %s: %s",
				  t->trunk->name ? t->trunk->name : "?",
				  t->trunk->media_addr ? t->trunk->media_addr
						       : "(default)",
				  strerror(err));
			return err;
		}
	}
	if (c->offer && c->a_sdp && c->offer_for &&
	    (c->offer_for->srtp != t->trunk->srtp ||
	     !same_media_addr(c->offer_for, t->trunk))) {
		/* SRTP or the media address toward this target differ:
		   offer it anew */
		const char *body = NULL;
		size_t len = 0;
		char *o;

		err = call_sdp_cross(c, LEG_A, c->a_sdp, c->a_sdp_len, false,
				     &body, &len);
		o = err ? NULL : malloc(len ? len : 1);
		if (!o)
			return err ? err : ENOMEM;
		memcpy(o, body, len);
		free(c->offer);
		c->offer = o;
		c->offer_len = len;
		c->offer_for = t->trunk;
	}
	call_user_escape(t->called, called, sizeof(called));
	call_user_escape(t->calling[0] ? t->calling : "anonymous", calling,
			 sizeof(calling));
	call_host_fmt(t->trunk->host, th, sizeof(th));
	call_host_fmt(b->host, lh, sizeof(lh));
	if (!t->trunk->port && tdns_is_name(t->trunk->host))
		/* a domain located by SRV (RFC 3263 §4.2): no port */
		snprintf(to, sizeof(to), "sip:%s@%s", called, th);
	else
		snprintf(to, sizeof(to), "sip:%s@%s:%u", called, th,
			 t->trunk->port ? t->trunk->port : 5060);
	snprintf(ruri, sizeof(ruri), "%s%s", to,
		 cn.dest.proto == TP_TCP ? ";transport=tcp" : "");
	snprintf(from, sizeof(from), "sip:%s@%s", calling, lh);
	cn.ruri = ruri;
	cn.to_uri = to;
	cn.from_uri = from;
	cn.from_name = c->from_name[0] ? c->from_name : NULL;
	call_b_hdrs(c, t, lh, hdrs, sizeof(hdrs));
	cn.hdrs = hdrs[0] ? hdrs : NULL;
	cn.ctype = c->offer ? c->offer_type : NULL;
	cn.body = c->offer;
	cn.body_len = c->offer_len;
	cn.max_forwards = c->max_fwd;
	cn.delay_ack = c->offer == NULL;
	cn.auth_user = t->trunk->out_user;
	cn.auth_pass = t->trunk->out_pass;
	err = ua_sess_connect(&s, c->bw->ua, &cn, on_b, c);
	if (err) {
		lim_release(c->dst_slot);
		c->dst_slot = NULL;
		return err;
	}
	if (c->leg[LEG_B])
		call_keep_prev(c, c->leg[LEG_B]);
	c->leg[LEG_B] = s;
	c->done[LEG_B] = false;
	c->noanswer = false;
	c->att[c->natt].target = i;
	c->att[c->natt].status = 0;
	c->att[c->natt].start_ms = call_now_ms();
	c->natt++;
	atomic_fetch_add_explicit(&b->st.attempts, 1, memory_order_relaxed);
	if (c->natt > 1)
		atomic_fetch_add_explicit(&b->st.failovers, 1,
					  memory_order_relaxed);
	LOGP_INFO(c->id, "attempt %u: %s via %s (B %s)", c->natt, ruri,
		  t->trunk->name ? t->trunk->name : "?", ua_sess_callid(s));
	tmr_start(&c->t_noans, sipw_tmr(c->bw->w),
		  (uint64_t)b->cfg.no_answer_s * 1000, on_noanswer, c);
	return 0;
}

/* Place the next attempt; when none is left, the A-leg gets status. */
static void
attempt_next(struct call *c, uint16_t status, const char *phrase)
{
	char hdr[128];

	while (!c->stop && c->cur < c->ntg && c->natt < CALL_ATTEMPTS_MAX) {
		unsigned i = c->cur++;
		int err = attempt_place(c, i);

		if (!err)
			return;
		LOGP_WARN(c->id, "target %s unusable: %s",
			  c->tg[i].trunk->name ? c->tg[i].trunk->name : "?",
			  strerror(err));
		status = err == ELOOP ? 482 : 503;
		phrase = err == ELOOP	    ? "Loop Detected"
			 : err == EHOSTDOWN ? "Trunk Down"
					    : "Service Unavailable";
	}
	if (c->stop)
		return;
	if (c->b_cause) /* translated: the Reason tells the original */
		snprintf(hdr, sizeof(hdr),
			 "Reason: SIP;cause=%u;text=\"%s\"\r\n", c->b_cause,
			 c->b_cause_text);
	else
		snprintf(hdr, sizeof(hdr),
			 "Reason: SIP;cause=%u;text=\"%s\"\r\n", status,
			 phrase ? phrase : "");
	a_fail(c, status, phrase, hdr);
}

static bool
is_failover(const struct call *c, uint16_t status, bool local)
{
	unsigned i;

	if (local || c->noanswer)
		return true;
	for (i = 0; i < c->nfail; i++)
		if (c->failover[i] == status)
			return true;
	return false;
}

static void
phrase_of(const struct sip_msg *m, char *buf, size_t size)
{
	snprintf(buf, size, "%.*s", m ? (int)m->reason.l : 0,
		 m && m->reason.p ? m->reason.p : "");
}

static void
b_progress(struct call *c, const struct ua_event *ev)
{
	const char *ctype = NULL, *body = NULL;
	char ph[64], tb[64];
	size_t len = 0;

	if (c->stop || c->a_final)
		return;
	if (!c->t_prov)
		c->t_prov = call_now_ms();
	phrase_of(ev->msg, ph, sizeof(ph));
	/* an answer to A's offer; an offer when A's INVITE had none */
	if (call_body_cross(c, LEG_B, ev->msg, c->offer != NULL, &ctype, &body,
			    &len, tb, sizeof(tb)))
		ctype = body = NULL, len = 0; /* relay the ringing anyway */
	/* RFC 3262 per leg: a reliable provisional from the callee is
	   relayed reliably when the caller supports 100rel, else plainly
	   (the callee's PRACK came from our B-leg already). */
	if (!(ev->msg &&
	      sip_hdr_has_token(ev->msg, SIP_HDR_REQUIRE, "100rel") &&
	      ua_sess_answer_rel(c->leg[LEG_A], ev->status, ph, NULL, ctype,
				 body, len) == 0))
		(void)ua_sess_answer(c->leg[LEG_A], ev->status, ph, NULL, ctype,
				     body, len);
	set_state(c, CALL_S_EARLY);
}

static void
on_maxdur(void *arg)
{
	struct call *c = arg;

	LOGP_INFO(c->id, "maximum duration reached");
	c->hangup = CALL_HUP_TANDEM;
	set_state(c, CALL_S_TERMINATING);
	call_leg_end(c, LEG_A, 0, NULL);
	call_leg_end(c, LEG_B, 0, NULL);
}

static void
b_answered(struct call *c, const struct ua_event *ev)
{
	struct b2b *b = c->bw->b2b;
	const char *ctype = NULL, *body = NULL;
	char ph[64], tb[64];
	size_t len = 0;

	tmr_cancel(&c->t_noans);
	c->att[c->natt - 1].status = ev->status;
	if (c->stop || c->a_final || c->done[LEG_A]) {
		/* The caller is gone (a CANCEL crossed the 2xx): §15 */
		call_leg_end(c, LEG_B, 487, "Request Terminated");
		return;
	}
	phrase_of(ev->msg, ph, sizeof(ph));
	if (call_body_cross(c, LEG_B, ev->msg, c->offer != NULL, &ctype, &body,
			    &len, tb, sizeof(tb))) {
		LOGP_WARN(c->id, "B-leg answer SDP unusable");
		c->stop = true;
		call_leg_end(c, LEG_B, 488, "Not Acceptable Here");
		a_fail(c, 488, "Not Acceptable Here", NULL);
		return;
	}
	if (ua_sess_answer(c->leg[LEG_A], ev->status, ph, NULL, ctype, body,
			   len)) {
		c->stop = true;
		call_leg_end(c, LEG_B, 500, "Caller Leg Failed");
		return;
	}
	c->ack_wait[LEG_B] = c->offer == NULL;
	c->a_final = true;
	c->a_status = ev->status;
	c->t_answer = call_now_ms();
	set_state(c, CALL_S_CONNECTED);
	atomic_fetch_add_explicit(&b->st.answered, 1, memory_order_relaxed);
	tmr_start(&c->t_maxdur, sipw_tmr(c->bw->w),
		  (uint64_t)b->cfg.max_duration_s * 1000, on_maxdur, c);
	LOGP_INFO(c->id, "answered %u", ev->status);
}

/* A 3xx (§8.1.3.4): its first Contact becomes the next target when it
   names a trunk of the policy (host and port); redirections elsewhere
   are not followed (a redirect must not send calls where the policy
   does not, toll fraud). At most CALL_REDIRECTS per call. */
static bool
follow_redirect(struct call *c, const struct sip_msg *m)
{
	const struct sip_hdr *h = m ? sip_msg_hdr(m, SIP_HDR_CONTACT) : NULL;
	const struct call_target *cur = &c->tg[c->att[c->natt - 1].target];
	struct sip_addr a;
	const char *why;
	char host[64];
	size_t i, n = pol_snap_ntrunks(c->snap);
	uint16_t port;

	if (!h || c->redirects >= CALL_REDIRECTS || c->ntg >= POL_TARGETS_MAX ||
	    sip_addr_decode(&a, &h->val, &why) || a.uri.host.l >= sizeof(host))
		return false;
	snprintf(host, sizeof(host), "%.*s", (int)a.uri.host.l, a.uri.host.p);
	port = a.uri.port ? a.uri.port : 5060;
	for (i = 0; i < n; i++) {
		const struct pol_trunk *t = pol_snap_trunk(c->snap, i);
		struct call_target nt;

		if (!t->enabled || !t->host || strcmp(t->host, host) ||
		    (t->port ? t->port : 5060) != port)
			continue;
		nt = *cur;
		nt.trunk = t;
		if (pl_isset(&a.uri.user) && a.uri.user.l < POL_NUM_MAX)
			snprintf(nt.called, sizeof(nt.called), "%.*s",
				 (int)a.uri.user.l, a.uri.user.p);
		memmove(&c->tg[c->cur + 1], &c->tg[c->cur],
			(c->ntg - c->cur) * sizeof(c->tg[0]));
		c->tg[c->cur] = nt;
		c->ntg++;
		c->redirects++;
		LOGP_INFO(c->id, "redirected to trunk %s (%s)",
			  t->name ? t->name : "?", nt.called);
		return true;
	}
	LOGP_INFO(c->id, "redirection to %s:%u (no trunk) not followed", host,
		  port);
	return false;
}

/* Policy "redirect = relay" for the trunk: the 3xx goes to the caller
   with the target's Contacts, which RFC 3261 §8.1.3.4 leaves to it to
   try; it is the call's last word here. Contacts that do not parse are
   left out; none left: not relayed (480 like a redirect not followed). */
static bool
relay_redirect(struct call *c, const struct sip_msg *m, uint16_t st,
	       const char *ph)
{
	struct sip_hdr_iter it;
	char hdr[CALL_REDIRECT_HDR];
	struct pl v;
	size_t n = 0;
	unsigned k = 0;

	if (!m)
		return false;
	sip_hdr_iter_init(&it, m, SIP_HDR_CONTACT);
	while (!sip_hdr_iter_next(&it, &v)) {
		struct sip_addr a;
		const char *why;
		int w;

		if (sip_addr_decode(&a, &v, &why) || a.star)
			continue;
		w = snprintf(hdr + n, sizeof(hdr) - n, "Contact: %.*s\r\n",
			     (int)v.l, v.p);
		if (w < 0 || (size_t)w >= sizeof(hdr) - n) {
			hdr[n] = '\0'; /* the rest does not fit */
			break;
		}
		n += (size_t)w;
		k++;
	}
	if (!k)
		return false;
	LOGP_INFO(c->id, "relaying %u with %u Contact(s) by policy", st, k);
	c->cur = c->ntg;
	a_fail(c, st, ph, hdr);
	return true;
}

static void
b_failed(struct call *c, const struct ua_event *ev)
{
	uint16_t st = ev->status;
	char ph[64];

	tmr_cancel(&c->t_noans);
	c->done[LEG_B] = true;
	c->att[c->natt - 1].status = st;
	lim_release(c->dst_slot);
	c->dst_slot = NULL;
	phrase_of(ev->msg, ph, sizeof(ph));
	snprintf(c->b_reason, sizeof(c->b_reason), "%s", ph);
	LOGP_INFO(c->id, "attempt %u failed: %u %s%s", c->natt, st, ph,
		  c->noanswer ? " (no answer)" : "");
	if (c->stop || c->a_final) {
		call_maybe_done(c);
		return;
	}
	if (!c->noanswer && (!ev->msg || st == 503) && c->natt &&
	    c->natt < CALL_ATTEMPTS_MAX) {
		/* RFC 3263 §4.3: a timeout, a transport error or a 503 from
		   one server of a domain: the next one it lists */
		unsigned ti = c->att[c->natt - 1].target;
		const struct pol_trunk *tr = c->tg[ti].trunk;
		struct txn_dest nd;

		if (tdns_is_name(tr->host) &&
		    !tdns_dest_at(c->bw->b2b->tdns, tr, c->dns_k + 1, &nd)) {
			LOGP_INFO(c->id, "%s: next server of the domain",
				  tr->host);
			c->dns_k++;
			c->dns_again = true;
			c->cur = ti;
			attempt_next(c, st, ph);
			call_maybe_done(c);
			return;
		}
	}
	if (c->noanswer) {
		st = 480;
		snprintf(ph, sizeof(ph), "No Answer");
	} else if (st == 401 || st == 407) {
		/* The target wants credentials we do not have: the caller
		   cannot answer a challenge meant for us. */
		st = 403;
		snprintf(ph, sizeof(ph), "Forbidden");
	} else if (st >= 300 && st < 400) {
		/* Relayed when the trunk's policy says so; else never shown
		   to the caller (it would reveal the target's Contact) and
		   followed when it points at a known trunk. */
		if (c->b_trunk && c->b_trunk->relay_3xx &&
		    relay_redirect(c, ev->msg, st, ph)) {
			call_maybe_done(c);
			return;
		}
		if (follow_redirect(c, ev->msg)) {
			attempt_next(c, st, ph);
			call_maybe_done(c);
			return;
		}
		st = 480;
		snprintf(ph, sizeof(ph), "Redirection Not Followed");
	} else if (!ph[0]) {
		snprintf(ph, sizeof(ph), "%s",
			 st == 408 ? "Request Timeout" : "Service Unavailable");
	}
	if (!is_failover(c, ev->status, ev->msg == NULL))
		c->cur = c->ntg; /* final for the call: no further target */
	if (c->b_trunk && c->b_trunk->status_map) {
		/* policy translates the status the caller sees; the Reason
		   keeps what the target said (RFC 3326) */
		uint16_t to = pol_status_map(c->b_trunk->status_map, st);

		if (to != st) {
			c->b_cause = st;
			snprintf(c->b_cause_text, sizeof(c->b_cause_text), "%s",
				 ph);
			st = to;
			snprintf(ph, sizeof(ph), "%s", sip_status_phrase(to));
		}
	}
	attempt_next(c, st, ph);
	c->b_cause = 0;
	call_maybe_done(c);
}

/* One leg's dialog is over (BYE either way, or no ACK): end the other. */
static void
leg_ended(struct call *c, int leg, const struct ua_event *ev)
{
	int other = 1 - leg;

	c->done[leg] = true;
	call_xfer_abort(c);
	if (c->hangup == CALL_HUP_NONE)
		c->hangup = !ev->by_remote ? CALL_HUP_TANDEM
			    : leg == LEG_A ? CALL_HUP_CALLER
					   : CALL_HUP_CALLEE;
	LOGP_INFO(c->id, "%s-leg ended%s (%u)", leg == LEG_A ? "A" : "B",
		  ev->by_remote ? " by the peer" : "", ev->status);
	if (c->leg[other] && !c->done[other]) {
		set_state(c, CALL_S_TERMINATING);
		c->stop = true;
		if (ev->status == 408)
			call_leg_end(c, other, 408, "ACK Timeout");
		else
			call_leg_end(c, other, 0, NULL);
	}
	call_maybe_done(c);
}

static void
on_b(struct ua_sess *s, const struct ua_event *ev, void *arg)
{
	struct call *c = arg;

	if (!c || s != c->leg[LEG_B])
		return;
	switch (ev->ev) {
	case UA_EV_PROGRESS:
		b_progress(c, ev);
		break;
	case UA_EV_ANSWERED:
		b_answered(c, ev);
		break;
	case UA_EV_FAILED:
		b_failed(c, ev);
		break;
	case UA_EV_ENDED:
		leg_ended(c, LEG_B, ev);
		break;
	case UA_EV_REINVITE:
	case UA_EV_REQUEST:
	case UA_EV_RESPONSE:
	case UA_EV_CONFIRMED:
		call_relay_event(c, LEG_B, ev);
		break;
	default:
		break;
	}
}

/* A Reason header line of msg (RFC 3326), to carry to the other leg. */
static void
reason_of(const struct sip_msg *m, char *buf, size_t size)
{
	const struct sip_hdr *h = m ? sip_msg_hdr(m, SIP_HDR_REASON) : NULL;

	if (h && h->val.l + 12 < size)
		snprintf(buf, size, "Reason: %.*s\r\n", (int)h->val.l,
			 h->val.p);
	else
		snprintf(buf, size,
			 "Reason: SIP;cause=487;text=\"Request "
			 "Terminated\"\r\n");
}

static void
a_cancelled(struct call *c, const struct ua_event *ev)
{
	struct b2b *b = c->bw->b2b;
	char hdr[256];

	c->done[LEG_A] = true;
	c->a_final = true;
	c->a_status = 487;
	c->stop = true;
	c->hangup = CALL_HUP_CALLER;
	tmr_cancel(&c->t_noans);
	atomic_fetch_add_explicit(&b->st.cancelled, 1, memory_order_relaxed);
	LOGP_INFO(c->id, "cancelled by the caller");
	if (c->leg[LEG_B] && !c->done[LEG_B]) {
		set_state(c, CALL_S_TERMINATING);
		reason_of(ev->msg, hdr, sizeof(hdr));
		(void)ua_sess_end(c->leg[LEG_B], 0, hdr);
	}
	call_maybe_done(c);
}

static void
on_a(struct ua_sess *s, const struct ua_event *ev, void *arg)
{
	struct call *c = arg;

	if (!c || s != c->leg[LEG_A])
		return;
	switch (ev->ev) {
	case UA_EV_CANCELLED:
		a_cancelled(c, ev);
		break;
	case UA_EV_ENDED:
		leg_ended(c, LEG_A, ev);
		break;
	case UA_EV_REINVITE:
	case UA_EV_REQUEST:
	case UA_EV_RESPONSE:
	case UA_EV_CONFIRMED:
		call_relay_event(c, LEG_A, ev);
		break;
	default:
		break;
	}
}

/* ---- set-up --------------------------------------------------------- */

static void
reject(struct b2b_worker *bw, struct ua_sess *a, const struct sip_msg *inv,
       uint16_t st, const char *ph, const char *hdrs)
{
	call_cdr_refused(bw, inv, st, ph);
	atomic_fetch_add_explicit(&bw->b2b->st.rejected_load, 1,
				  memory_order_relaxed);
	(void)ua_sess_answer(a, st, ph, hdrs, NULL, NULL, 0);
}

/* The B-leg offer, built for the first target's trunk (its SRTP mode);
   attempt_place() builds it again from a_sdp for a target whose mode
   differs. */
static int
take_offer(struct call *c, const struct sip_msg *inv)
{
	const char *ctype = NULL, *body = NULL;
	size_t len = 0;
	int err;

	c->b_trunk = c->ntg ? c->tg[0].trunk : NULL;
	c->offer_for = c->b_trunk;
	/* each side's media on its trunk's media address, if it has one */
	if (c->rs && c->src && c->src->media_addr &&
	    (err = relay_sess_local_ip(c->rs, RELAY_LEG_A, c->src->media_addr)))
		return err;
	if (c->rs && c->b_trunk && c->b_trunk->media_addr &&
	    (err = relay_sess_local_ip(c->rs, RELAY_LEG_B,
				       c->b_trunk->media_addr)))
		return err;
	err = call_body_cross(c, LEG_A, inv, false, &ctype, &body, &len,
			      c->offer_type, sizeof(c->offer_type));
	if (err || !body)
		return err;
	if (c->rs && inv->body.l) {
		c->a_sdp = malloc(inv->body.l);
		if (!c->a_sdp)
			return ENOMEM;
		memcpy(c->a_sdp, inv->body.p, inv->body.l);
		c->a_sdp_len = inv->body.l;
	}
	c->offer = malloc(len ? len : 1);
	if (!c->offer)
		return ENOMEM;
	memcpy(c->offer, body, len);
	c->offer_len = len;
	return 0;
}

static void
call_init(struct call *c, struct b2b_worker *bw, struct ua_sess *a,
	  const struct sip_msg *inv)
{
	const struct sip_hdr *sh;

	c->bw = bw;
	snprintf(c->id, sizeof(c->id), "c%u-%llu", sipw_index(bw->w),
		 (unsigned long long)++bw->seq);
	c->leg[LEG_A] = mem_ref(a);
	c->t_start = call_now_ms();
	(void)RAND_bytes((unsigned char *)&c->osess, sizeof(c->osess));
	c->osess = (c->osess >> 2) + 1; /* positive, fits a signed 64-bit */
	tmr_init(&c->t_noans);
	tmr_init(&c->t_maxdur);
	tmr_init(&c->t_reap);
	user_of(&inv->ruri, c->called, sizeof(c->called));
	if (!c->called[0])
		user_of(&inv->to.uri, c->called, sizeof(c->called));
	user_of(&inv->from.uri, c->calling, sizeof(c->calling));
	sh = sip_msg_hdr(inv, SIP_HDR_SESSION_ID);
	if (sh && sh->val.l < sizeof(c->session_id))
		snprintf(c->session_id, sizeof(c->session_id), "%.*s",
			 (int)sh->val.l, sh->val.p);
	if (pl_isset(&inv->from.dname) && !inv->from.dname_quoted &&
	    inv->from.dname.l < sizeof(c->from_name))
		snprintf(c->from_name, sizeof(c->from_name), "%.*s",
			 (int)inv->from.dname.l, inv->from.dname.p);
	/* §16.6 step 3 (our B-leg is a new request, but a loop through
	   B2BUAs must still end): carry Max-Forwards minus one. */
	c->max_fwd =
		inv->max_forwards < 0 ? 70 : (unsigned)inv->max_forwards - 1;
	if (c->max_fwd == 0)
		c->max_fwd = 1; /* the UA turns 0 into its default */
	c->next = bw->calls;
	if (bw->calls)
		bw->calls->pprev = &c->next;
	bw->calls = c;
	c->pprev = &bw->calls;
	bw->ncalls++;
}

void
call_incoming(struct b2b_worker *bw, struct ua_sess *a,
	      const struct sip_msg *inv, const struct tp_recv *src)
{
	struct b2b *b = bw->b2b;
	struct call *c;
	int err;

	if (atomic_load_explicit(&b->draining, memory_order_relaxed)) {
		reject(bw, a, inv, 503, "Draining", "Retry-After: 30\r\n");
		return;
	}
	if (atomic_load_explicit(&b->st.active, memory_order_relaxed) >=
	    (int64_t)b->cfg.max_calls) {
		reject(bw, a, inv, 503, "Too Many Calls", "Retry-After: 5\r\n");
		return;
	}
	c = mem_zalloc(sizeof(*c), call_destroy);
	if (!c) {
		(void)ua_sess_answer(a, 500, "Out Of Memory", NULL, NULL, NULL,
				     0);
		return;
	}
	call_init(c, bw, a, inv);
	ua_sess_set_handler(a, on_a, c);
	call_ladder_add(c, LEG_A, false, inv->buf, inv->len);
	c->counted = true;
	atomic_fetch_add_explicit(&b->st.active, 1, memory_order_relaxed);
	atomic_fetch_add_explicit(&b->st.calls, 1, memory_order_relaxed);
	LOGP_INFO(c->id, "new call %s -> %s (A %.*s)", c->calling, c->called,
		  (int)inv->callid.l, inv->callid.p);
	if (!src || route(c, inv, src))
		goto out;
	if (b->relay && relay_sess_alloc(&c->rs, b->relay, c->id)) {
		a_fail(c, 500, "Media Unavailable", NULL);
		goto out;
	}
	err = call_take_hdrs(c, inv);
	if (!err)
		err = take_offer(c, inv);
	if (err) {
		a_fail(c,
		       err == ENOSPC	      ? 503
		       : err == EADDRNOTAVAIL ? 500
					      : 488,
		       err == ENOSPC	      ? "Media Ports Exhausted"
		       : err == EADDRNOTAVAIL ? "Media Address Unusable"
					      : "Not Acceptable Here",
		       NULL);
		goto out;
	}
	attempt_next(c, 503, "Service Unavailable");
out:
	call_maybe_done(c);
}

void
call_hangup_all(struct b2b_worker *bw)
{
	struct call *c, *next;

	for (c = bw->calls; c; c = next) {
		next = c->next;
		c->stop = true;
		if (c->hangup == CALL_HUP_NONE)
			c->hangup = CALL_HUP_TANDEM;
		set_state(c, CALL_S_TERMINATING);
		call_leg_end(c, LEG_B, 503, "Service Shutting Down");
		call_leg_end(c, LEG_A, 503, "Service Shutting Down");
		call_maybe_done(c);
	}
}

void
call_drop_all(struct b2b_worker *bw)
{
	while (bw->calls) {
		struct call *c = bw->calls;

		unlink_call(c);
		if (c->state != CALL_S_ENDED) {
			c->t_end = call_now_ms();
			if (c->hangup == CALL_HUP_NONE)
				c->hangup = CALL_HUP_TANDEM;
			call_cdr(c);
		}
		if (c->counted)
			atomic_fetch_sub_explicit(&bw->b2b->st.active, 1,
						  memory_order_relaxed);
		c->counted = false;
		tmr_cancel(&c->t_reap);
		mem_deref(c);
	}
}

ua_sess_h *
call_leg_h(int leg)
{
	return leg == LEG_A ? on_a : on_b;
}

void
call_keep_prev(struct call *c, struct ua_sess *s)
{
	ua_sess_set_handler(s, NULL, NULL);
	if (c->nprev < CALL_PREV_MAX)
		c->prev[c->nprev++] = s;
	else
		mem_deref(s); /* over: no event comes */
}

/* RTP silent on a stream the peer should send on (not on hold): the
   relay's timed_out flag (media.rtp_timeout_s). */
static bool
media_dead(const struct call *c)
{
	struct relay_stats st;
	int leg;

	for (leg = 0; leg < LEG_COUNT; leg++)
		if (relay_stream_stats(c->rs, (enum relay_leg)leg, 0, &st) ==
			    0 &&
		    st.timed_out)
			return true;
	return false;
}

void
call_media_check(struct b2b_worker *bw)
{
	struct call *c, *next;

	if (!bw->b2b->cfg.rtp_timeout_s)
		return;
	for (c = bw->calls; c; c = next) {
		next = c->next;
		if (c->state != CALL_S_CONNECTED || !c->rs || !media_dead(c))
			continue;
		LOGP_INFO(c->id, "media timeout: no RTP for %u s",
			  bw->b2b->cfg.rtp_timeout_s);
		c->hangup = CALL_HUP_TANDEM;
		c->stop = true;
		set_state(c, CALL_S_TERMINATING);
		call_leg_end(c, LEG_A, 0, "Media Timeout");
		call_leg_end(c, LEG_B, 0, "Media Timeout");
		call_maybe_done(c);
	}
}
