/* The call's CDR (db/cdr.h, issue 8): one record per call attempt that
   reached Tandem, built from the call object at its end and handed to
   the CDR writer (which never makes the worker wait). */
#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>

#define LOG_MODULE "call"
#include "call_int.h"
#include "db/cdr.h"
#include "lim.h"
#include "media/rtp.h"
#include "stack/log.h"

static enum cdr_disp
disp_of(const struct call *c)
{
	uint16_t s = c->a_status;

	if (c->t_answer)
		return CDR_D_ANSWERED;
	if (c->limited)
		return CDR_D_REJECTED_LIMITS;
	if (c->refused)
		return CDR_D_REJECTED_POLICY;
	if (s == 487 && c->hangup == CALL_HUP_CALLER)
		return CDR_D_CANCELLED;
	if (s == 486 || s == 600)
		return CDR_D_BUSY;
	if (s == 408 || s == 480)
		return CDR_D_NO_ANSWER;
	return CDR_D_FAILED;
}

static enum cdr_side
side_of(enum call_hangup h)
{
	switch (h) {
	case CALL_HUP_CALLER:
		return CDR_H_CALLER;
	case CALL_HUP_CALLEE:
		return CDR_H_CALLEE;
	case CALL_HUP_TANDEM:
		return CDR_H_TANDEM;
	default:
		return CDR_H_NONE;
	}
}

/* Who ended it. A call that ended before an answer, after B-leg
   attempts, without either side hanging up, was ended by its last
   attempt: the callee's final failure (cdr.h: CDR_H_CALLEE), or Tandem's
   own no-answer timer or decision to stop. Refused calls (no attempt)
   stay CDR_H_NONE. */
static enum cdr_side
hangup_of(const struct call *c)
{
	if (c->hangup != CALL_HUP_NONE)
		return side_of(c->hangup);
	if (c->t_answer || !c->natt || c->refused || c->limited)
		return CDR_H_NONE;
	return c->noanswer || c->stop ? CDR_H_TANDEM : CDR_H_CALLEE;
}

static void
target_text(const struct pol_trunk *t, char *buf, size_t size)
{
	static const char *const tp[] = {"udp", "tcp", "tls"};

	snprintf(buf, size,
		 strchr(t->host ? t->host : "", ':') ? "[%s]:%u/%s"
						     : "%s:%u/%s",
		 t->host ? t->host : "", t->port ? t->port : 5060,
		 tp[t->transport <= POL_TP_TLS ? t->transport : 0]);
}

static void
media_of(const struct call *c, enum relay_leg leg, struct cdr_media *m)
{
	struct relay_stats st;

	if (!c->rs || relay_stream_stats(c->rs, leg, 0, &st))
		return;
	m->packets = st.packets;
	m->lost = st.lost > 0 ? (uint64_t)st.lost : 0;
	m->jitter_us = st.jitter_us;
	/* expected RTP packets: those received plus those lost */
	m->mos = rtp_mos_x100(m->lost, st.packets - st.rtcp + m->lost,
			      st.jitter_us, 0);
}

static void
fill_attempts(const struct call *c, struct cdr_rec *r)
{
	unsigned i;

	for (i = 0; i < c->natt && i < CDR_ROUTES_MAX; i++) {
		const struct call_target *t = &c->tg[c->att[i].target];

		target_text(t->trunk, r->routes[i].target,
			    sizeof(r->routes[i].target));
		r->routes[i].status = c->att[i].status;
		r->routes[i].start_ms = (int64_t)c->att[i].start_ms;
	}
	r->nroutes = (uint8_t)i;
	if (!i)
		return;
	i--;
	cdr_strset(r->dst_trunk, sizeof(r->dst_trunk),
		   c->tg[c->att[i].target].trunk->name);
	cdr_strset(r->called_out, sizeof(r->called_out),
		   c->tg[c->att[i].target].called);
	cdr_strset(r->calling_out, sizeof(r->calling_out),
		   c->tg[c->att[i].target].calling);
	r->b_status = c->att[i].status;
}

void
call_trunk_count(struct call *c)
{
	struct lim_table *lt = c->bw->b2b->lim;
	uint64_t conn = c->t_answer && c->t_end > c->t_answer
				? c->t_end - c->t_answer
				: 0;
	unsigned i;

	if (c->src)
		lim_count_call(lim_slot(lt, c->src->id), LIM_IN,
			       c->t_answer != 0, conn);
	for (i = 0; i < c->natt; i++) {
		const struct call_target *t = &c->tg[c->att[i].target];
		bool ok = c->att[i].status >= 200 && c->att[i].status < 300;

		if (t->trunk)
			lim_count_call(lim_slot(lt, t->trunk->id), LIM_OUT, ok,
				       ok ? conn : 0);
	}
}

void
call_cdr(struct call *c)
{
	struct cdr_writer *w = c->bw->b2b->cdr;
	struct cdr_rec r;
	int err;

	if (!w)
		return;
	memset(&r, 0, sizeof(r));
	(void)cdr_id_make(r.id, (int64_t)c->t_start);
	cdr_strset(r.a_callid, sizeof(r.a_callid),
		   c->leg[LEG_A] ? ua_sess_callid(c->leg[LEG_A]) : "");
	cdr_strset(r.b_callid, sizeof(r.b_callid),
		   c->leg[LEG_B] ? ua_sess_callid(c->leg[LEG_B]) : "");
	cdr_strset(r.session_id, sizeof(r.session_id), c->session_id);
	cdr_strset(r.src_trunk, sizeof(r.src_trunk),
		   c->src && c->src->name ? c->src->name : "");
	cdr_strset(r.calling_in, sizeof(r.calling_in), c->calling);
	cdr_strset(r.called_in, sizeof(r.called_in), c->called);
	r.attempt_ms = (int64_t)c->t_start;
	r.provisional_ms = (int64_t)c->t_prov;
	r.answer_ms = (int64_t)c->t_answer;
	r.end_ms = (int64_t)(c->t_end ? c->t_end : call_now_ms());
	r.disp = disp_of(c);
	r.hangup = hangup_of(c);
	r.a_status = c->a_status;
	cdr_strset(r.a_reason, sizeof(r.a_reason), c->a_reason);
	cdr_strset(r.b_reason, sizeof(r.b_reason), c->b_reason);
	fill_attempts(c, &r);
	cdr_strset(r.a_codecs, sizeof(r.a_codecs), c->codecs);
	cdr_strset(r.b_codecs, sizeof(r.b_codecs), c->codecs);
	r.a_srtp = call_srtp_used(c, LEG_A);
	r.b_srtp = call_srtp_used(c, LEG_B);
	media_of(c, RELAY_LEG_A, &r.ab);
	media_of(c, RELAY_LEG_B, &r.ba);
	cdr_rec_bill(&r);
	err = cdr_submit(w, &r);
	if (err)
		LOGP_ERR(c->id, "CDR not queued: %s", strerror(err));
}

void
call_cdr_refused(struct b2b_worker *bw, const struct sip_msg *inv,
		 uint16_t status, const char *phrase)
{
	struct cdr_writer *w = bw->b2b->cdr;
	struct cdr_rec r;
	int64_t now = (int64_t)call_now_ms();

	if (!w || !inv)
		return;
	memset(&r, 0, sizeof(r));
	(void)cdr_id_make(r.id, now);
	snprintf(r.a_callid, sizeof(r.a_callid), "%.*s", (int)inv->callid.l,
		 inv->callid.p);
	snprintf(r.called_in, sizeof(r.called_in), "%.*s",
		 (int)inv->ruri.user.l,
		 inv->ruri.user.p ? inv->ruri.user.p : "");
	snprintf(r.calling_in, sizeof(r.calling_in), "%.*s",
		 (int)inv->from.uri.user.l,
		 inv->from.uri.user.p ? inv->from.uri.user.p : "");
	r.attempt_ms = r.end_ms = now;
	r.disp = CDR_D_REJECTED_LIMITS;
	r.a_status = status;
	cdr_strset(r.a_reason, sizeof(r.a_reason), phrase);
	if (cdr_submit(w, &r))
		LOG_ERR("CDR of a refused call not queued");
}
