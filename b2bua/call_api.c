/* Calls as the management API sees them (b2b_query on the call's
   worker): summaries for GET /calls, the detail for GET /calls/{id},
   and DELETE /calls/{id}. */
#include <errno.h>
#include <jansson.h>
#include <string.h>

#define LOG_MODULE "call"
#include "call_int.h"
#include "media/rtp.h"
#include "stack/log.h"

static const char *
trunk_name(const struct call *c)
{
	const struct pol_trunk *t;

	if (!c->natt)
		return "";
	t = c->tg[c->att[c->natt - 1].target].trunk;
	return t && t->name ? t->name : "";
}

static json_t *
summary(const struct call *c)
{
	uint64_t now = call_now_ms();

	return json_pack(
		"{s:s, s:s, s:s, s:s, s:s, s:I, s:s, s:s, s:i}", "id", c->id,
		"state", call_state_name(c->state), "from", c->calling, "to",
		c->called, "trunk", trunk_name(c), "duration",
		(json_int_t)(c->t_answer ? (now - c->t_answer) / 1000 : 0),
		"a_callid", c->leg[LEG_A] ? ua_sess_callid(c->leg[LEG_A]) : "",
		"b_callid", c->leg[LEG_B] ? ua_sess_callid(c->leg[LEG_B]) : "",
		"attempts", (int)c->natt);
}

static bool
matches(const struct call *c, const struct b2b_query *q)
{
	if (q->state && strcmp(q->state, call_state_name(c->state)))
		return false;
	if (q->trunk && strcmp(q->trunk, trunk_name(c)))
		return false;
	if (q->number && !strstr(c->called, q->number) &&
	    !strstr(c->calling, q->number))
		return false;
	return true;
}

static json_t *
leg_json(const struct call *c, int leg)
{
	const struct ua_sess *s = c->leg[leg];

	if (!s)
		return json_null();
	return json_pack("{s:s, s:s, s:b}", "callid", ua_sess_callid(s),
			 "state", ua_sess_state_name(ua_sess_state(s)), "done",
			 c->done[leg]);
}

static json_t *
media_json(const struct call *c)
{
	struct relay_stats st[2];
	json_t *o;
	int i;

	if (!c->rs)
		return json_null();
	o = json_object();
	for (i = 0; i < 2; i++) {
		uint64_t lost;

		if (relay_stream_stats(c->rs, (enum relay_leg)i, 0, &st[i]))
			continue;
		lost = st[i].lost > 0 ? (uint64_t)st[i].lost : 0;
		json_object_set_new(
			o, i == 0 ? "a_to_b" : "b_to_a",
			json_pack(
				"{s:I, s:I, s:I, s:i, s:b, s:I, s:b, s:b, "
				"s:i, s:I, s:i, s:i, s:i}",
				"packets", (json_int_t)st[i].packets,
				"forwarded", (json_int_t)st[i].forwarded,
				"lost", (json_int_t)st[i].lost, "jitter_us",
				(int)st[i].jitter_us, "latched", st[i].latched,
				"drop_srtp", (json_int_t)st[i].drop_srtp,
				"srtp_in", st[i].srtp_in, "srtp_out",
				st[i].srtp_out, "mos_x100",
				(int)rtp_mos_x100(
					lost, st[i].packets - st[i].rtcp + lost,
					st[i].jitter_us, 0),
				"peer_reports", (json_int_t)st[i].peer_reports,
				"peer_fraction_lost", (int)st[i].peer_fraction,
				"peer_lost", (int)st[i].peer_lost,
				"peer_jitter_us", (int)st[i].peer_jitter_us));
	}
	return o;
}

/* The call's messages in order: time since it began, leg, direction
   (in: received by Tandem), the start line. */
static json_t *
ladder_json(const struct call *c)
{
	json_t *a = json_array();
	unsigned i;

	for (i = 0; a && c->lad && i < c->nlad; i++) {
		const struct call_lad *e = &c->lad[i];

		json_array_append_new(
			a, json_pack("{s:I, s:s, s:s, s:s}", "t_ms",
				     (json_int_t)e->t_ms, "leg",
				     e->leg == LEG_A ? "A" : "B", "dir",
				     e->out ? "out" : "in", "msg", e->line));
	}
	return a;
}

static json_t *
detail(const struct call *c)
{
	json_t *o = summary(c), *att = json_array();
	unsigned i;

	for (i = 0; i < c->natt; i++) {
		const struct call_target *t = &c->tg[c->att[i].target];

		json_array_append_new(
			att,
			json_pack("{s:s, s:s, s:i, s:I}", "trunk",
				  t->trunk && t->trunk->name ? t->trunk->name
							     : "",
				  "called", t->called, "status",
				  (int)c->att[i].status, "start_ms",
				  (json_int_t)c->att[i].start_ms));
	}
	json_object_set_new(o, "route_attempts", att);
	json_object_set_new(o, "legs",
			    json_pack("{s:o, s:o}", "A", leg_json(c, LEG_A),
				      "B", leg_json(c, LEG_B)));
	json_object_set_new(o, "media", media_json(c));
	json_object_set_new(o, "ladder", ladder_json(c));
	json_object_set_new(o, "ladder_more", json_integer(c->lad_more));
	json_object_set_new(o, "times",
			    json_pack("{s:I, s:I, s:I}", "start_ms",
				      (json_int_t)c->t_start, "progress_ms",
				      (json_int_t)c->t_prov, "answer_ms",
				      (json_int_t)c->t_answer));
	return o;
}

void
call_query(struct b2b_worker *bw, struct b2b_query *q)
{
	struct call *c;

	q->err = q->kind == B2B_Q_LIST ? 0 : ENOENT;
	for (c = bw->calls; c; c = c->next) {
		if (q->kind == B2B_Q_LIST) {
			if (matches(c, q))
				json_array_append_new(q->out, summary(c));
			continue;
		}
		if (strcmp(c->id, q->id))
			continue;
		q->err = 0;
		if (q->kind == B2B_Q_SHOW) {
			q->out = detail(c);
			return;
		}
		LOGP_INFO(c->id, "hang-up by the management API%s%s",
			  q->reason ? ": " : "", q->reason ? q->reason : "");
		c->stop = true;
		c->hangup = CALL_HUP_TANDEM;
		call_leg_end(c, LEG_B, 0,
			     q->reason ? q->reason : "Hung Up By Operator");
		call_leg_end(c, LEG_A, 0,
			     q->reason ? q->reason : "Hung Up By Operator");
		call_maybe_done(c);
		return;
	}
}
