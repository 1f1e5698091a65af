/* The management API's operations over the engine (api.h ops table):
   counters from atomics, calls from their workers (b2b_query), drain,
   readiness and Prometheus metrics. Runs on the API thread. */
#include <errno.h>
#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#define LOG_MODULE "api"
#include "b2b_api.h"
#include "db/cdr.h"
#include "media/relay.h"
#include "lim.h"
#include "policy.h"
#include "route_test.h"
#include "call_int.h"
#include "stack/log.h"

#define LD(x) ((json_int_t)atomic_load_explicit(&(x), memory_order_relaxed))

static json_t *
op_stats(void *arg)
{
	struct b2b *b = arg;
	const struct b2b_stats *s = &b->st;
	struct sipw_stats ws;
	struct pol_snap *snap = bpol_get(b->pol);
	json_t *o;

	sipw_group_stats(b->g, &ws);
	o = json_pack("{s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, "
		      "s:I, s:b, s:I}",
		      "calls", LD(s->calls), "active", LD(s->active),
		      "answered", LD(s->answered), "failed", LD(s->failed),
		      "cancelled", LD(s->cancelled), "rejected",
		      LD(s->rejected), "rejected_load", LD(s->rejected_load),
		      "attempts", LD(s->attempts), "failovers",
		      LD(s->failovers), "relayed", LD(s->relayed), "ended",
		      LD(s->ended), "draining", atomic_load(&b->draining),
		      "policy_version",
		      (json_int_t)(snap ? pol_snap_version(snap) : 0));
	pol_snap_deref(snap);
	json_object_set_new(
		o, "sip",
		json_pack("{s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, "
			  "s:I}",
			  "source_dropped", LD(s->src_dropped), "source_banned",
			  LD(s->src_banned), "source_unknown",
			  LD(s->src_unknown), "screened",
			  (json_int_t)ws.filtered, "rx", (json_int_t)ws.rx,
			  "handoff_out", (json_int_t)ws.handoff_out,
			  "handoff_drop", (json_int_t)ws.handoff_drop,
			  "workers", (json_int_t)b->nw, "auth_failed",
			  LD(s->auth_failed), "auth_blocked",
			  LD(s->auth_blocked)));
	if (b->cdr) {
		struct cdr_stats cs;

		cdr_writer_stats(b->cdr, &cs);
		json_object_set_new(
			o, "cdr",
			json_pack(
				"{s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, "
				"s:I, s:I, s:b}",
				"submitted", (json_int_t)cs.submitted,
				"spooled", (json_int_t)cs.spooled, "written",
				(json_int_t)cs.written, "dup_skipped",
				(json_int_t)cs.dup_skipped, "replayed",
				(json_int_t)cs.replayed, "torn_skipped",
				(json_int_t)cs.torn_skipped, "corrupt_skipped",
				(json_int_t)cs.corrupt_skipped, "rejected",
				(json_int_t)cs.rejected, "db_errors",
				(json_int_t)cs.db_errors, "queue",
				(json_int_t)cs.queue, "spool_bytes",
				(json_int_t)cs.spool_bytes, "connected",
				cs.connected != 0));
	}
	if (b->relay) {
		struct relay_ctx_stats rs;

		relay_ctx_stats(b->relay, &rs);
		json_object_set_new(o, "media",
				    json_pack("{s:i, s:i, s:i}", "sessions",
					      (int)rs.sessions, "ports_used",
					      (int)rs.ports_used, "ports_total",
					      (int)rs.ports_total));
	}
	return o;
}

static json_t *
op_calls(void *arg, const struct api_call_filter *f)
{
	struct b2b *b = arg;
	json_t *arr = json_array();
	unsigned i;

	for (i = 0; arr && i < b->nw; i++) {
		struct b2b_query q = {.kind = B2B_Q_LIST,
				      .trunk = f ? f->trunk : NULL,
				      .number = f ? f->number : NULL,
				      .state = f ? f->state : NULL,
				      .out = arr};

		if (b2b_query(b, i, &q) == ETIMEDOUT)
			LOG_WARN("worker %u did not answer", i);
	}
	return arr;
}

/* "c<worker>-<seq>": the worker owning the call. */
static int
worker_of(const struct b2b *b, const char *id, unsigned *i)
{
	char *end;
	unsigned long w;

	if (id[0] != 'c')
		return ENOENT;
	w = strtoul(id + 1, &end, 10);
	if (end == id + 1 || *end != '-' || w >= b->nw)
		return ENOENT;
	*i = (unsigned)w;
	return 0;
}

static json_t *
op_call(void *arg, const char *id)
{
	struct b2b *b = arg;
	struct b2b_query q = {.kind = B2B_Q_SHOW, .id = id};
	unsigned i;

	if (worker_of(b, id, &i) || b2b_query(b, i, &q) || q.err)
		return NULL;
	return q.out;
}

static int
op_hangup(void *arg, const char *id, const char *reason)
{
	struct b2b *b = arg;
	struct b2b_query q = {.kind = B2B_Q_HANGUP, .id = id, .reason = reason};
	unsigned i;
	int err = worker_of(b, id, &i);

	if (!err)
		err = b2b_query(b, i, &q);
	if (err == EAGAIN)
		err = ENOENT;
	return err ? err : q.err;
}

/* GET /route: the verdict of the current policy for a call from src,
   exactly as a call would get it (trunks found down passed over). */
static json_t *
op_route(void *arg, const char *src, const char *called, const char *calling,
	 int64_t at, const char **why)
{
	struct b2b *b = arg;
	struct sockaddr_storage ss;
	struct pol_req rq = {.src = (struct sockaddr *)&ss,
			     .usable = call_trunk_usable,
			     .usable_arg = b};
	struct pol_verdict v;
	struct pol_snap *s;
	json_t *o = NULL;

	if (route_test_src(src, &ss)) {
		*why = "src must be IP, IP:PORT or [IPv6]:PORT";
		return NULL;
	}
	s = bpol_get(b->pol);
	if (!s)
		return NULL;
	if (pol_verdict_init(&v) == 0) {
		pl_set(&rq.called, called, strlen(called));
		pl_set(&rq.calling, calling, strlen(calling));
		rq.now = at ? at : (int64_t)time(NULL);
		if (pol_route(s, &rq, &v) == 0)
			o = route_test_json(&v, s);
		pol_verdict_fini(&v);
	}
	pol_snap_deref(s);
	return o;
}

/* GET /trunks: the policy's trunks with reachability and load. */
static json_t *
op_trunks(void *arg)
{
	static const char *const role[] = {"carrier", "pbx"};
	static const char *const tp[] = {"udp", "tcp", "tls"};
	struct b2b *b = arg;
	struct pol_snap *s = bpol_get(b->pol);
	json_t *arr = json_array();
	size_t i, n = pol_snap_ntrunks(s);

	for (i = 0; arr && i < n; i++) {
		const struct pol_trunk *t = pol_snap_trunk(s, i);
		struct lim_slot *sl = lim_slot(b->lim, t->id);
		const char *state = !t->enabled	      ? "disabled"
				    : lim_is_down(sl) ? "down"
				    : t->options_s    ? "up"
						      : "unprobed";

		json_array_append_new(
			arr,
			json_pack("{s:s, s:s, s:s, s:i, s:s, s:s, s:i, s:i, "
				  "s:i, s:i, s:i, s:i}",
				  "name", t->name ? t->name : "", "role",
				  role[t->role == POL_ROLE_PBX], "host",
				  t->host ? t->host : "", "port", (int)t->port,
				  "transport",
				  tp[t->transport <= POL_TP_TLS ? t->transport
								: 0],
				  "state", state, "active", (int)lim_active(sl),
				  "max_calls", (int)t->max_calls, "max_cps",
				  (int)t->max_cps, "options_s",
				  (int)t->options_s,
				  /* this node's share ([cluster] nodes) */
				  "node_max_calls",
				  (int)lim_share(t->max_calls,
						 b->cfg.cluster_nodes),
				  "node_max_cps",
				  (int)lim_share(t->max_cps,
						 b->cfg.cluster_nodes)));
	}
	pol_snap_deref(s);
	return arr;
}

static int
op_reload(void *arg)
{
	(void)arg;
	/* The daemon's SIGHUP path re-reads the file with its overrides. */
	return raise(SIGHUP) ? EIO : 0;
}

static int
op_drain(void *arg, bool on)
{
	struct b2b *b = arg;

	LOG_INFO("%s by the management API", on ? "draining" : "undrained");
	b2b_drain(b, on);
	return 0;
}

static bool
op_ready(void *arg, const char **why)
{
	struct b2b *b = arg;
	struct pol_snap *snap;

	if (atomic_load(&b->draining)) {
		*why = "draining";
		return false;
	}
	snap = bpol_get(b->pol);
	if (!snap) {
		*why = "no policy";
		return false;
	}
	pol_snap_deref(snap);
	return true;
}

/* Per trunk of the current policy (lim.h counters, kept across
   reloads by trunk id): attempts, answers and connected time per
   direction, ASR and ACD as gauges beside the counters they come from,
   limit refusals, calls up. */
static void
metrics_trunks(struct b2b *b, struct api_metrics *m)
{
	static const char *const dir[LIM_DIR_COUNT] = {"in", "out"};
	struct pol_snap *s = bpol_get(b->pol);
	size_t i, n = pol_snap_ntrunks(s);

	for (i = 0; i < n; i++) {
		const struct pol_trunk *t = pol_snap_trunk(s, i);
		struct lim_slot *sl = lim_slot(b->lim, t->id);
		const char *name = t->name ? t->name : "";
		struct lim_counts c;

		lim_counts(sl, &c);
		for (int d = 0; d < LIM_DIR_COUNT; d++) {
			const char *const l[] = {"trunk", name, "direction",
						 dir[d], NULL};
			double bill = (double)c.billable_ms[d] / 1000.0;

			api_metric_counter(
				m, "tandem_trunk_attempts_total",
				"calls from the trunk (in), INVITEs sent to it "
				"(out), counted when over",
				l, c.attempts[d]);
			api_metric_counter(m, "tandem_trunk_answered_total",
					   "of those, answered", l,
					   c.answered[d]);
			api_metric_counterf(
				m, "tandem_trunk_billable_seconds_total",
				"answer to hang-up of the answered ones", l,
				bill);
			if (c.attempts[d])
				api_metric_gauge(
					m, "tandem_trunk_asr",
					"answer-seizure ratio since start "
					"(answered / attempts)",
					l,
					(double)c.answered[d] /
						(double)c.attempts[d]);
			if (c.answered[d])
				api_metric_gauge(m, "tandem_trunk_acd_seconds",
						 "average call duration since "
						 "start (billable / answered)",
						 l,
						 bill / (double)c.answered[d]);
		}
		api_metric_counter(
			m, "tandem_trunk_limit_rejections_total",
			"calls refused by the trunk's limits (max_calls, "
			"max_cps)",
			(const char *[]){"trunk", name, "reason", "calls",
					 NULL},
			c.refused_calls);
		api_metric_counter(
			m, "tandem_trunk_limit_rejections_total", NULL,
			(const char *[]){"trunk", name, "reason", "cps", NULL},
			c.refused_cps);
		api_metric_gauge(m, "tandem_trunk_calls_active",
				 "calls counted against the trunk's limit now",
				 (const char *[]){"trunk", name, NULL},
				 lim_active(sl));
	}
	pol_snap_deref(s);
}

/* The SIP stack of every worker: responses by class both ways,
   transactions and retransmissions. */
static void
metrics_sip(struct b2b *b, struct api_metrics *m)
{
	static const char *const cls[7] = {"",	  "1xx", "2xx", "3xx",
					   "4xx", "5xx", "6xx"};
	struct tp_resp_counts rc;
	struct txn_counters tc;

	sipw_group_counts(b->g, &rc, &tc);
	for (int k = 1; k < 7; k++) {
		api_metric_counter(
			m, "tandem_sip_responses_total",
			"SIP responses received (in) and sent (out) by class",
			(const char *[]){"direction", "in", "class", cls[k],
					 NULL},
			rc.rx[k]);
		api_metric_counter(m, "tandem_sip_responses_total", NULL,
				   (const char *[]){"direction", "out", "class",
						    cls[k], NULL},
				   rc.tx[k]);
	}
	api_metric_gauge(m, "tandem_sip_transactions_active",
			 "SIP transactions in the matching tables", NULL,
			 (double)tc.active);
	api_metric_counter(m, "tandem_sip_transactions_created_total",
			   "SIP transactions created", NULL, tc.created);
	api_metric_counter(
		m, "tandem_sip_retransmissions_total",
		"retransmissions sent by the transactions (out: timers A, E, "
		"G and answers to retransmitted requests) and received (in: "
		"requests matching a transaction, final responses again)",
		(const char *[]){"direction", "out", NULL}, tc.retransmits);
	api_metric_counter(m, "tandem_sip_retransmissions_total", NULL,
			   (const char *[]){"direction", "in", NULL},
			   tc.retrans_in);
}

static void
metrics_cdr(struct b2b *b, struct api_metrics *m)
{
	struct cdr_stats cs;

	cdr_writer_stats(b->cdr, &cs);
	api_metric_counter(m, "tandem_cdr_submitted_total",
			   "CDRs handed to the writer", NULL, cs.submitted);
	api_metric_counter(m, "tandem_cdr_spooled_total",
			   "CDRs appended to the spool", NULL, cs.spooled);
	api_metric_counter(m, "tandem_cdr_written_total", "CDR rows inserted",
			   NULL, cs.written);
	api_metric_counter(m, "tandem_cdr_replayed_total",
			   "CDRs read from a previous run's spool", NULL,
			   cs.replayed);
	api_metric_counter(m, "tandem_cdr_torn_skipped_total",
			   "torn spool tails skipped", NULL, cs.torn_skipped);
	api_metric_counter(m, "tandem_cdr_corrupt_skipped_total",
			   "corrupt spool records skipped", NULL,
			   cs.corrupt_skipped);
	api_metric_counter(m, "tandem_cdr_dup_skipped_total",
			   "replayed CDRs already in the database", NULL,
			   cs.dup_skipped);
	api_metric_counter(m, "tandem_cdr_rejected_total",
			   "CDRs the database refused as bad data", NULL,
			   cs.rejected);
	api_metric_counter(m, "tandem_cdr_db_errors_total",
			   "failed CDR database connects or batches", NULL,
			   cs.db_errors);
	api_metric_counter(m, "tandem_cdr_spool_errors_total",
			   "failed spool writes (retried)", NULL,
			   cs.spool_errors);
	api_metric_counter(m, "tandem_cdr_batches_total",
			   "CDR transactions committed", NULL, cs.batches);
	api_metric_gauge(m, "tandem_cdr_queue_records",
			 "CDRs queued in memory for the spool file", NULL,
			 (double)cs.queue);
	api_metric_gauge(m, "tandem_cdr_spool_bytes",
			 "bytes spooled, not yet in the database", NULL,
			 (double)cs.spool_bytes);
	api_metric_gauge(m, "tandem_cdr_db_connected",
			 "1 while the CDR database is up", NULL,
			 cs.connected ? 1 : 0);
}

/* The relay's totals (media workers' own atomics, summed). */
static void
metrics_media(struct b2b *b, struct api_metrics *m)
{
	struct relay_ctx_stats rs;

	relay_ctx_stats(b->relay, &rs);
	const struct {
		const char *reason;
		uint64_t n;
	} drop[] = {
		{"source", rs.drop_source}, {"noremote", rs.drop_noremote},
		{"hold", rs.drop_hold},	    {"send", rs.drop_send},
		{"big", rs.drop_big},	    {"srtp", rs.drop_srtp},
	};

	api_metric_gauge(m, "tandem_media_sessions", "relay sessions open",
			 NULL, rs.sessions);
	api_metric_gauge(m, "tandem_media_ports_used",
			 "RTP/RTCP port pairs in use", NULL, rs.ports_used);
	api_metric_gauge(m, "tandem_media_port_pairs",
			 "RTP/RTCP port pairs configured", NULL,
			 rs.ports_total);
	api_metric_counter(m, "tandem_relay_packets_total",
			   "RTP and RTCP datagrams the relay received", NULL,
			   rs.packets);
	api_metric_counter(m, "tandem_relay_forwarded_total",
			   "datagrams sent on to the other leg", NULL,
			   rs.forwarded);
	for (size_t i = 0; i < sizeof(drop) / sizeof(drop[0]); i++)
		api_metric_counter(
			m, "tandem_relay_dropped_total",
			"datagrams dropped: source not latched, no remote, "
			"on hold, send failed, too big, SRTP check failed",
			(const char *[]){"reason", drop[i].reason, NULL},
			drop[i].n);
}

/* Version of the policy in use, when it was compiled and what its load
   took. */
static void
metrics_policy(struct b2b *b, struct api_metrics *m)
{
	struct pol_snap *s = bpol_get(b->pol);
	int64_t at_ms;
	uint64_t took_us;

	if (!s)
		return; /* none loaded yet: /ready says so */
	pol_snap_loaded(s, &at_ms, &took_us);
	api_metric_gauge(m, "tandem_policy_version",
			 "version of the policy snapshot in use", NULL,
			 (double)pol_snap_version(s));
	api_metric_gauge(m, "tandem_policy_loaded_timestamp_seconds",
			 "when that snapshot was compiled (Unix time)", NULL,
			 (double)at_ms / 1000.0);
	api_metric_gauge(m, "tandem_policy_load_seconds",
			 "how long loading that snapshot took", NULL,
			 (double)took_us / 1e6);
	pol_snap_deref(s);
}

static void
op_metrics(void *arg, struct api_metrics *m)
{
	struct b2b *b = arg;
	const struct b2b_stats *s = &b->st;
	struct sipw_stats ws;
	static const struct {
		const char *name, *help;
		size_t off;
	} ctr[] = {
#define C(f, h) {"tandem_calls_" #f "_total", h, offsetof(struct b2b_stats, f)}
		C(calls, "INVITEs that became calls"),
		C(answered, "calls answered"),
		C(failed, "calls that ended in a failure response"),
		C(cancelled, "calls cancelled by the caller"),
		C(rejected, "calls refused by policy"),
		C(rejected_load, "calls refused by limits or drain (503)"),
		C(attempts, "B-leg INVITEs sent"),
		C(failovers, "next target tried"),
		C(relayed, "in-dialog requests relayed between legs"),
		C(ended, "calls over"),
#undef C
	};
	size_t i;

	for (i = 0; i < sizeof(ctr) / sizeof(ctr[0]); i++)
		api_metric_counter(
			m, ctr[i].name, ctr[i].help, NULL,
			atomic_load_explicit(
				(const atomic_uint_fast64_t *)((const char *)s +
							       ctr[i].off),
				memory_order_relaxed));
	api_metric_counter(m, "tandem_sip_source_dropped_total",
			   "out-of-dialog requests over a source's rate", NULL,
			   (uint64_t)LD(s->src_dropped));
	api_metric_counter(m, "tandem_sip_source_unknown_total",
			   "INVITEs from sources the policy does not know, "
			   "refused 403 statelessly",
			   NULL, (uint64_t)LD(s->src_unknown));
	api_metric_counter(m, "tandem_sip_source_banned_total",
			   "sources banned for their request rate "
			   "(limits.source_ban_s)",
			   NULL, (uint64_t)LD(s->src_banned));
	api_metric_counter(m, "tandem_auth_failed_total",
			   "digest answers that failed (wrong password, "
			   "unknown user)",
			   NULL, (uint64_t)LD(s->auth_failed));
	api_metric_counter(m, "tandem_auth_blocked_total",
			   "digest attempts refused unchecked: their source "
			   "is blocked for brute force",
			   NULL, (uint64_t)LD(s->auth_blocked));
	api_metric_gauge(m, "tandem_calls_active", "calls alive now", NULL,
			 (double)LD(s->active));
	api_metric_gauge(m, "tandem_draining", "1 while draining", NULL,
			 atomic_load(&b->draining) ? 1 : 0);
	sipw_group_stats(b->g, &ws);
	api_metric_counter(m, "tandem_sip_received_total",
			   "SIP messages received", NULL, ws.rx);
	api_metric_counter(m, "tandem_sip_handoff_dropped_total",
			   "messages dropped between workers", NULL,
			   ws.handoff_drop);
	metrics_sip(b, m);
	metrics_trunks(b, m);
	metrics_policy(b, m);
	if (b->cdr)
		metrics_cdr(b, m);
	if (b->relay)
		metrics_media(b, m);
}

static const struct api_ops ops = {
	.stats = op_stats,
	.calls = op_calls,
	.call = op_call,
	.hangup = op_hangup,
	.trunks = op_trunks,
	.route = op_route,
	.reload = op_reload,
	.drain = op_drain,
	.ready = op_ready,
	.metrics = op_metrics,
};

int
b2b_api_start(struct b2b *b, struct api **ap, char *err, size_t errsz)
{
	int e;

	*ap = NULL;
	if (!b->cfg.api_listen[0])
		return 0;
	e = api_start(ap, b->cfg.api_listen,
		      b->cfg.api_token[0] ? b->cfg.api_token : NULL, &ops, b);
	if (e)
		snprintf(err, errsz, "management API on %s: %s",
			 b->cfg.api_listen, strerror(e));
	return e;
}
