/* Blind transfer (RFC 3515 REFER, RFC 5589 §6) handled by Tandem itself:
   the referring leg X gets 202 and NOTIFYs with a message/sipfrag of the
   new leg's progress; the Refer-To number is routed by the policy as a
   call from the trunk of the other leg Y; the new leg is offered the
   description Y's media currently has on X's side of the relay, so Y
   needs no re-INVITE: when the new leg answers, the relay's X side
   points at it, the old X leg gets a BYE and the new leg takes its
   place. Transfers need the media relay (without it Y would have to be
   re-INVITEd) and are refused with 403 otherwise, as attended transfers
   (Replaces) are. */
#include <errno.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define LOG_MODULE "call"
#include "call_int.h"
#include "tdns.h"
#include "stack/log.h"
#include "stack/mem.h"
#include "stack/sdp.h"

/* RFC 3515 §2.4.5: the progress of the referred request as a sipfrag. */
static void
notify(struct call *c, int leg, uint16_t status, const char *phrase, bool final)
{
	char hdrs[160], body[96];
	int n;

	if (!c->leg[leg] || c->done[leg])
		return;
	snprintf(hdrs, sizeof(hdrs),
		 "Event: refer\r\nSubscription-State: %s\r\n",
		 final ? "terminated;reason=noresource" : "active;expires=60");
	n = snprintf(body, sizeof(body), "SIP/2.0 %u %s\r\n", status,
		     phrase && *phrase ? phrase : "Unknown");
	(void)ua_sess_request(c->leg[leg], "NOTIFY", hdrs,
			      "message/sipfrag;version=2.0", body, (size_t)n,
			      NULL);
}

static void
xfer_answered(struct call *c, const struct ua_event *ev)
{
	int x = c->xfer_leg;
	struct ua_sess *old = c->leg[x];
	struct sdp *sdp = c->bw->sdp;
	const struct sip_msg *m = ev->msg;

	const struct pol_trunk *was = c->leg_trunk[x];

	if (c->done[x] || c->done[1 - x] || c->stop) {
		call_xfer_abort(c);
		return;
	}
	/* the new peer's answer, by the policy of its trunk: its SRTP key
	   (if any) replaces the old peer's, its payload type numbers are
	   mapped for the other leg */
	c->leg_trunk[x] = c->xfer_trunk;
	if (!m || !m->body.l || sdp_decode(sdp, m->body.p, m->body.l, NULL) ||
	    call_srtp_in(c, x, sdp, true) ||
	    relay_sess_sdp_apply(
		    c->rs, (enum relay_leg)x, sdp,
		    call_leg_trunk(c, x) && call_leg_trunk(c, x)->nat, true)) {
		LOGP_WARN(c->id, "transfer: the new leg's answer is unusable");
		c->leg_trunk[x] = was;
		notify(c, x, 488, "Not Acceptable Here", true);
		call_xfer_abort(c);
		return;
	}
	call_srtp_xfer_end(c, true);
	free(c->last_sdp[x]);
	c->last_sdp[x] = c->xfer_sdp;
	c->last_sdp_len[x] = c->xfer_sdp_len;
	c->xfer_sdp = NULL;
	c->over[x] = c->xfer_over;
	call_ptmap_xfer(c, x, sdp);
	notify(c, x, ev->status, "OK", true);
	/* The new leg takes the place of the old one, which gets its BYE
	   (RFC 5589 §6: the transferor would send it; we do not wait). */
	call_keep_prev(c, old);
	(void)ua_sess_end(
		old, 0, "Reason: SIP;cause=200;text=\"Call Transferred\"\r\n");
	c->leg[x] = c->xfer;
	c->done[x] = false;
	c->xfer = NULL;
	c->xfer_done = false;
	ua_sess_set_handler(c->leg[x], call_leg_h(x), c);
	LOGP_INFO(c->id, "transfer done: the %s-leg is now %s",
		  x == LEG_A ? "A" : "B", ua_sess_callid(c->leg[x]));
}

/* The transfer attempt is over without taking over: what its offer
   changed goes back. */
static void
xfer_forget(struct call *c)
{
	call_srtp_xfer_end(c, false);
	free(c->xfer_sdp);
	c->xfer_sdp = NULL;
	c->xfer_trunk = NULL;
}

/* The offer for a new peer of leg x behind trunk t: the description leg
   x was sent last (the other leg's media as the relay has it), made for
   t's policy like a first offer: its codec list, its SRTP mode with a key
   of its own. Kept in c->xfer_sdp. */
static int
xfer_offer(struct call *c, int x, const struct pol_trunk *t)
{
	struct sdp *sdp = c->bw->sdp;
	const struct pol_trunk *was = c->leg_trunk[x];
	size_t len = 0;
	int err;

	err = sdp_decode(sdp, c->last_sdp[x], c->last_sdp_len[x], NULL);
	if (!err)
		err = call_srtp_xfer_begin(c, x, t, sdp);
	c->leg_trunk[x] = t;
	if (!err)
		err = call_codecs_filter(c, 1 - x, sdp);
	if (!err)
		err = call_srtp_out(c, x, sdp, false);
	c->leg_trunk[x] = was;
	if (!err)
		err = sdp_origin_set(sdp, "tandem", c->osess,
				     c->xfer_over = c->over[x] + 1);
	if (!err)
		err = sdp_encode(sdp, c->bw->body, B2B_BODY_MAX, &len);
	if (!err) {
		free(c->xfer_sdp);
		c->xfer_sdp = malloc(len ? len : 1);
		if (!c->xfer_sdp)
			err = ENOMEM;
	}
	if (err) {
		LOGP_INFO(c->id, "transfer: no offer for trunk %s: %s",
			  t->name ? t->name : "?", strerror(err));
		xfer_forget(c);
		return err;
	}
	memcpy(c->xfer_sdp, c->bw->body, len);
	c->xfer_sdp_len = len;
	return 0;
}

static void
on_x(struct ua_sess *s, const struct ua_event *ev, void *arg)
{
	struct call *c = arg;
	char ph[64];

	if (!c || s != c->xfer)
		return;
	snprintf(ph, sizeof(ph), "%.*s", ev->msg ? (int)ev->msg->reason.l : 0,
		 ev->msg && ev->msg->reason.p ? ev->msg->reason.p : "");
	switch (ev->ev) {
	case UA_EV_PROGRESS:
		notify(c, c->xfer_leg, ev->status, ph, false);
		break;
	case UA_EV_ANSWERED:
		xfer_answered(c, ev);
		break;
	case UA_EV_FAILED:
	case UA_EV_ENDED:
		LOGP_INFO(c->id, "transfer failed: %u %s", ev->status, ph);
		if (ev->ev == UA_EV_FAILED)
			notify(c, c->xfer_leg, ev->status,
			       ph[0] ? ph : "Request Timeout", true);
		c->xfer_done = true;
		xfer_forget(c);
		call_keep_prev(c, c->xfer);
		c->xfer = NULL;
		call_maybe_done(c);
		break;
	default:
		break;
	}
}

/* Route the Refer-To number as a call from the trunk of the leg that
   stays, and place the new leg. Returns 0 or the status to answer. */
static uint16_t
xfer_place(struct call *c, int x, const char *number)
{
	struct b2b_worker *bw = c->bw;
	struct pol_verdict *v = &bw->v;
	int y = 1 - x;
	const struct call_target *cur =
		c->natt ? &c->tg[c->att[c->natt - 1].target] : NULL;
	const char *calling =
		y == LEG_A ? c->calling : (cur ? cur->called : "");
	struct pol_req rq = {.now = (int64_t)time(NULL),
			     .usable = call_trunk_usable,
			     .usable_arg = bw->b2b};
	struct sockaddr_in any = {.sin_family = AF_INET};
	char called[3 * POL_NUM_MAX], from_u[3 * POL_NUM_MAX], th[72], lh[72];
	char ruri[352], to[320], from[320];
	struct ua_conn cn = {0};
	size_t i;

	rq.trunk = y == LEG_A ? c->src : (cur ? cur->trunk : NULL);
	rq.src = (const struct sockaddr *)&any;
	pl_set(&rq.called, number, strlen(number));
	pl_set(&rq.calling, calling, strlen(calling));
	(void)RAND_bytes((unsigned char *)&rq.rnd, sizeof(rq.rnd));
	if (!rq.trunk || pol_route(c->snap, &rq, v) || v->status)
		return 403;
	for (i = 0; i < v->ntargets; i++) {
		const struct pol_trunk *t = v->targets[i].trunk;

		if (call_is_self(bw->b2b, t) ||
		    !call_trunk_usable(bw->b2b, t) ||
		    call_target_dest(bw->b2b, t, &cn.dest) ||
		    xfer_offer(c, x, t))
			continue;
		call_user_escape(v->targets[i].called, called, sizeof(called));
		call_user_escape(calling[0] ? calling : "anonymous", from_u,
				 sizeof(from_u));
		call_host_fmt(t->host, th, sizeof(th));
		call_host_fmt(bw->b2b->host, lh, sizeof(lh));
		if (!t->port && tdns_is_name(t->host))
			snprintf(to, sizeof(to), "sip:%s@%s", called, th);
		else
			snprintf(to, sizeof(to), "sip:%s@%s:%u", called, th,
				 t->port ? t->port : 5060);
		snprintf(ruri, sizeof(ruri), "%s%s", to,
			 cn.dest.proto == TP_TCP ? ";transport=tcp" : "");
		snprintf(from, sizeof(from), "sip:%s@%s", from_u, lh);
		cn.ruri = ruri;
		cn.to_uri = to;
		cn.from_uri = from;
		cn.ctype = "application/sdp";
		cn.body = c->xfer_sdp;
		cn.body_len = c->xfer_sdp_len;
		cn.auth_user = t->out_user;
		cn.auth_pass = t->out_pass;
		if (ua_sess_connect(&c->xfer, bw->ua, &cn, on_x, c) == 0) {
			c->xfer_leg = x;
			c->xfer_done = false;
			c->xfer_trunk = t;
			LOGP_INFO(c->id, "transfer of the %s-leg to %s via %s",
				  x == LEG_A ? "A" : "B", ruri,
				  t->name ? t->name : "?");
			return 0;
		}
		xfer_forget(c);
	}
	return 503;
}

void
call_xfer_refer(struct call *c, int from, const struct ua_event *ev)
{
	const struct sip_hdr *h = sip_msg_hdr(ev->msg, SIP_HDR_REFER_TO);
	struct sip_addr to;
	char number[POL_NUM_MAX];
	const char *why = NULL;
	uint16_t st;

	if (!c->bw->b2b->cfg.refer)
		why = "Transfer Not Allowed";
	else if (!c->rs || !c->last_sdp[from])
		why = "Transfer Needs Media Relay";
	else if (c->state != CALL_S_CONNECTED || c->nprev >= CALL_PREV_MAX - 1)
		why = "Transfer Not Possible Now";
	if (why) {
		(void)ua_req_reply(ev->req, 403, why, NULL, NULL, NULL, 0);
		return;
	}
	if (c->xfer) {
		(void)ua_req_reply(ev->req, 491, "Transfer In Progress", NULL,
				   NULL, NULL, 0);
		return;
	}
	if (!h || sip_addr_decode(&to, &h->val, &why)) {
		(void)ua_req_reply(ev->req, 400, "Bad Refer-To", NULL, NULL,
				   NULL, 0);
		return;
	}
	if (pl_isset(&to.uri.headers)) { /* ?Replaces=...: attended */
		(void)ua_req_reply(ev->req, 403,
				   "Attended Transfer Not Supported", NULL,
				   NULL, NULL, 0);
		return;
	}
	snprintf(number, sizeof(number), "%.*s",
		 to.uri.user.p ? (int)to.uri.user.l : 0,
		 to.uri.user.p ? to.uri.user.p : "");
	if (strchr(number, ';'))
		*strchr(number, ';') = '\0';
	st = number[0] ? xfer_place(c, from, number) : 400;
	if (st) {
		(void)ua_req_reply(ev->req, st,
				   st == 400   ? "Refer-To Without Number"
				   : st == 403 ? "Transfer Target Refused"
					       : "Transfer Target Unreachable",
				   NULL, NULL, NULL, 0);
		return;
	}
	(void)ua_req_reply(ev->req, 202, "Accepted", NULL, NULL, NULL, 0);
	notify(c, from, 100, "Trying", false);
}

ua_sess_h *
call_xfer_h(void)
{
	return on_x;
}

void
call_xfer_abort(struct call *c)
{
	if (c->xfer && !c->xfer_done)
		(void)ua_sess_end(c->xfer, 0,
				  "Reason: SIP;cause=487;text=\"Transfer "
				  "Abandoned\"\r\n");
}
