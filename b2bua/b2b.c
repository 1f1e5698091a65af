/* The B2BUA engine (b2b.h): worker plumbing, media relay and policy
   source set-up, drain and reload. */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define LOG_MODULE "b2b"
#include "call_int.h"
#include "authban.h"
#include "lim.h"
#include "probe.h"
#include "reg.h"
#include "tdns.h"
#include "db/cdr.h"
#include "media/relay.h"
#include "policy.h"
#include "stack/log.h"
#include "stack/mem.h"
#include "stack/sdp.h"
#include "stack/stag.h"

#define TICK_MS 100

static int
on_send(const struct txn_dest *d, const char *buf, size_t len, void *arg)
{
	struct b2b_worker *bw = arg;

	call_ladder_sent(bw, buf, len);
	/* over the request's connection even when another worker owns
	   it (§18.2.2) */
	return sipw_send(bw->w, d, buf, len);
}

/* What the transaction layer sends, for the calls' ladders. */
static void
ladder_tap(const char *buf, size_t len, void *arg)
{
	call_ladder_sent(arg, buf, len);
}

static void
on_invite(struct ua *ua, struct ua_sess *s, const struct sip_msg *inv,
	  void *arg)
{
	struct b2b_worker *bw = arg;

	(void)ua;
	call_incoming(bw, s, inv, bw->rx);
}

static void
answer_query(struct b2b_worker *bw)
{
	struct b2b *b = bw->b2b;
	unsigned i = sipw_index(bw->w);

	pthread_mutex_lock(&b->q_lock);
	if (b->q[i]) {
		call_query(bw, b->q[i]);
		b->q[i]->done = true;
		b->q[i] = NULL;
		pthread_cond_broadcast(&b->q_cond);
	}
	pthread_mutex_unlock(&b->q_lock);
}

int
b2b_query(struct b2b *b, unsigned i, struct b2b_query *q)
{
	struct timespec ts;
	int err = 0;

	if (i >= b->nw || !atomic_load(&b->bw[i].started))
		return EAGAIN;
	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += 2;
	pthread_mutex_lock(&b->q_lock);
	while (b->q[i] && !err) /* another question is waiting */
		err = pthread_cond_timedwait(&b->q_cond, &b->q_lock, &ts);
	if (!err) {
		q->done = false;
		b->q[i] = q;
		while (!q->done && !err)
			err = pthread_cond_timedwait(&b->q_cond, &b->q_lock,
						     &ts);
		if (!q->done) {
			b->q[i] = NULL;
			err = ETIMEDOUT;
		}
	}
	pthread_mutex_unlock(&b->q_lock);
	return err ? ETIMEDOUT : 0;
}

static void
on_tick(void *arg)
{
	struct b2b_worker *bw = arg;

	answer_query(bw);
	if (++bw->ticks % (1000 / TICK_MS) == 0)
		call_media_check(bw);
	if (sipw_index(bw->w) == 0) {
		tdns_tick(bw->b2b->tdns, bw, tmr_now(sipw_tmr(bw->w)));
		probe_tick(bw, tmr_now(sipw_tmr(bw->w)));
		reg_tick(bw, tmr_now(sipw_tmr(bw->w)));
	}
	if (atomic_load_explicit(&bw->b2b->hangup_all, memory_order_relaxed) &&
	    bw->calls)
		call_hangup_all(bw);
	tmr_start(&bw->tick, sipw_tmr(bw->w), TICK_MS, on_tick, bw);
}

/* Before the worker threads start (b2b_start). */
static int
worker_init(struct b2b_worker *bw)
{
	struct b2b *b = bw->b2b;
	struct ua_conf uc;
	int err;

	ua_conf_default(&uc);
	uc.host = b->host;
	uc.port = b->port;
	uc.server = b->cfg.server;
	uc.shard = sipw_index(bw->w);
	/* Both legs of every call are UA sessions; the call limit is
	   ours (503 with Retry-After), the UA's is a backstop. */
	uc.max_sessions = 2 * b->cfg.max_calls + 64;
	uc.t1 = b->cfg.t1;
	uc.t2 = b->cfg.t2;
	/* Per leg (issue 5): each leg negotiates 100rel and its own session
	   timer; refreshes are answered on their leg, never relayed. */
	uc.supported = b->cfg.prack ? "100rel" : NULL;
	uc.session_expires = b->cfg.session_expires;
	uc.min_se = b->cfg.min_se;
	uc.session_refresher = true;
	uc.answer_refreshes = true;
	/* A draining node answers OPTIONS 503 like its INVITEs (§11.2), so
	   a dispatcher probing it (Kamailio ds_ping_interval) stops sending
	   it calls: deploy/cluster/. */
	uc.unavailable = &b->draining;
	if (!bw->v_ok) {
		err = pol_verdict_init(&bw->v);
		if (err)
			return err;
		bw->v_ok = true;
	}
	if (!bw->sdp)
		bw->sdp = malloc(sizeof(*bw->sdp));
	if (!bw->body)
		bw->body = malloc(B2B_BODY_MAX);
	if (!bw->src)
		bw->src = calloc(B2B_SRC_SLOTS, sizeof(*bw->src));
	if (!bw->sreply)
		bw->sreply = malloc(B2B_SREPLY_MAX);
	if (!bw->sdp || !bw->body || !bw->src || !bw->sreply)
		return ENOMEM;
	err = stag_key_init(&bw->stag);
	if (err)
		return err;
	if (!bw->auth) {
		err = call_auth_init(bw);
		if (err)
			return err;
	}
	err = ua_alloc(&bw->ua, &uc, sipw_txn(bw->w), sipw_tmr(bw->w), on_send,
		       bw, on_invite, bw);
	if (err)
		return err;
	if (bw->b2b->cfg.ladder)
		sipw_set_tap(bw->w, ladder_tap, bw);
	tmr_init(&bw->tick);
	err = tmr_start(&bw->tick, sipw_tmr(bw->w), TICK_MS, on_tick, bw);
	if (!err)
		atomic_store(&bw->started, true);
	return err;
}

/* A hash of the source IP (not the port: a scanner moves ports). */
static uint64_t
src_key(const struct tp_recv *rx)
{
	const unsigned char *p;
	size_t n, i;
	uint64_t h = 0xcbf29ce484222325ULL;

	if (rx->src.ss_family == AF_INET6) {
		p = (const unsigned char *)&(
			    (const struct sockaddr_in6 *)&rx->src)
			    ->sin6_addr;
		n = 16;
	} else {
		p = (const unsigned char *)&(
			    (const struct sockaddr_in *)&rx->src)
			    ->sin_addr;
		n = 4;
	}
	for (i = 0; i < n; i++)
		h = (h ^ p[i]) * 0x100000001b3ULL;
	return h | 1;
}

/* Issue 7 item 5: out-of-dialog requests (no To tag: INVITE, OPTIONS,
   REGISTER ... from anyone the policy does not know by address) are rate
   limited per source address, so a scanner or a flood cannot take the
   worker; requests inside dialogs and responses are never limited, nor
   are trunks known by address (their max_cps applies). Runs on the
   receiving worker (b2b_screen()): with SO_REUSEPORT one source address
   and port always reaches the same worker. False: drop it. */
/* The numeric source address of rx (for logs). */
static void
src_str(const struct tp_recv *rx, char *buf, size_t size)
{
	const void *a =
		rx->src.ss_family == AF_INET6
			? (const void *)&((const struct sockaddr_in6 *)&rx->src)
				  ->sin6_addr
			: (const void *)&((const struct sockaddr_in *)&rx->src)
				  ->sin_addr;

	if (!inet_ntop(rx->src.ss_family, a, buf, (socklen_t)size))
		snprintf(buf, size, "?");
}

static bool
src_admit(struct b2b_worker *bw, const struct sip_msg *msg,
	  const struct tp_recv *rx)
{
	const struct cfg *cf = &bw->b2b->cfg;
	unsigned rps = cf->source_rps;
	uint64_t key, now;
	struct b2b_src *s;

	if (!rps)
		return true;
	key = src_key(rx);
	now = tmr_now(sipw_tmr(bw->w));
	s = &bw->src[(key >> 20) & (B2B_SRC_SLOTS - 1)];
	if (s->key != key) { /* a new source (or a collision): full budget */
		s->key = key;
		s->tokens = 2.0 * rps;
		s->last_ms = now;
		s->banned_until = 0;
	}
	if (s->banned_until > now) {
		atomic_fetch_add_explicit(&bw->b2b->st.src_dropped, 1,
					  memory_order_relaxed);
		return false;
	}
	s->tokens += (double)(now - s->last_ms) * rps / 1000.0;
	if (s->tokens > 2.0 * rps)
		s->tokens = 2.0 * rps;
	s->last_ms = now;
	if (s->tokens >= 1.0) {
		s->tokens -= 1.0;
		return true;
	}
	atomic_fetch_add_explicit(&bw->b2b->st.src_dropped, 1,
				  memory_order_relaxed);
	if (cf->source_ban_s) {
		/* like Kamailio's pike: the source is out for a while */
		s->banned_until = now + (uint64_t)cf->source_ban_s * 1000;
		atomic_fetch_add_explicit(&bw->b2b->st.src_banned, 1,
					  memory_order_relaxed);
	}
	if (now - bw->src_warn_ms >= 1000) {
		char ip[64];

		bw->src_warn_ms = now;
		src_str(rx, ip, sizeof(ip));
		if (cf->source_ban_s)
			LOG_WARN("worker %u: %s over %u requests/s: banned "
				 "for %u s",
				 sipw_index(bw->w), ip, rps, cf->source_ban_s);
		else
			LOG_WARN("worker %u: %s over %u requests/s: dropping",
				 sipw_index(bw->w), ip, rps);
	}
	return false;
}

/*
 * RFC 3261 §8.2.7, a stateless UAS: "If unauthenticated requests were
 * handled statefully, then malicious floods of unauthenticated requests
 * could create massive amounts of transaction state that might slow or
 * completely halt call processing". An INVITE from a source the policy
 * does not know gets the policy's answer (403 unknown source, the same
 * response the call layer gives) here, without a transaction: no Timer G
 * retransmissions of it, no 32 s of transaction state, no call object.
 * As §8.2.7 requires: no provisional response, the response is never
 * retransmitted (a retransmitted INVITE is answered again, with the same
 * To tag: stag.h), and the ACK (and a CANCEL) finds no transaction and is
 * ignored. Only when no trunk takes digest credentials (then an unknown
 * address may be a registered user: the call layer challenges it) and
 * only when the response fits B2B_SREPLY_MAX (else the stateful path).
 * True: answered.
 */
/* A stateless final response to msg (§8.2.7: the To tag from the
   request, the same for a retransmission). False: it did not fit. */
static bool
sreply(struct sipw *w, struct b2b_worker *bw, const struct sip_msg *msg,
       const struct tp_recv *rx, uint16_t code, const char *reason)
{
	struct sip_wbuf wb;
	char tag[STAG_LEN + 1];
	struct pl parts[3] = {msg->via.raw, msg->callid, msg->from.tag};
	struct pl totag, rs;
	size_t len;

	stag_make(&bw->stag, parts, 3, tag);
	pl_set(&totag, tag, STAG_LEN);
	pl_set(&rs, reason, strlen(reason));
	sip_wb_init(&wb, bw->sreply, B2B_SREPLY_MAX);
	sip_wb_reply(&wb, msg, code, &rs, &totag);
	if (bw->b2b->cfg.server[0])
		sip_wb_hdrf(&wb, SIP_HDR_SERVER, "%s", bw->b2b->cfg.server);
	if (sip_wb_end(&wb, NULL, &len))
		return false;
	(void)tp_send_response(sipw_tp(w), rx, bw->sreply, len);
	return true;
}

static bool
unknown_invite(struct sipw *w, struct b2b_worker *bw,
	       const struct pol_snap *snap, const struct sip_msg *msg,
	       const struct tp_recv *rx)
{
	struct b2b *b = bw->b2b;

	if (msg->mid != SIP_M_INVITE || call_auth_trunk(snap, NULL))
		return false;
	/* the reason pol_route() gives (403 "unknown source") */
	if (!sreply(w, bw, msg, rx, 403, "unknown source"))
		return false;
	atomic_fetch_add_explicit(&b->st.rejected, 1, memory_order_relaxed);
	atomic_fetch_add_explicit(&b->st.src_unknown, 1, memory_order_relaxed);
	return true;
}

/* The sipw screen: on the worker whose socket received the message,
   before the Call-ID hand-over and the transaction layer, so junk from
   unknown sources costs neither. Out-of-dialog requests (no To tag; not
   ACK, CANCEL) from sources the policy does not know by address are
   rate limited (src_admit) and an INVITE among them refused statelessly
   (unknown_invite). Everything else passes. */
static bool
b2b_screen(struct sipw *w, const struct sip_msg *msg, const struct tp_recv *rx,
	   void *arg)
{
	struct b2b *b = arg;
	struct b2b_worker *bw = &b->bw[sipw_index(w)];
	struct pol_snap *snap;
	bool pass = true;

	if (!msg->req || pl_isset(&msg->to.tag) || msg->mid == SIP_M_ACK ||
	    msg->mid == SIP_M_CANCEL || !atomic_load(&bw->started))
		return true;
	snap = bpol_get(b->pol);
	if (!snap)
		return true; /* the call layer answers 503 No Policy Loaded */
	if (!pol_trunk_by_src(snap, (const struct sockaddr *)&rx->src)) {
		if (!src_admit(bw, msg, rx)) {
			/* over the rate or banned: dropped, or 403 by policy
			   (limits.source_reply) */
			pass = false;
			if (b->cfg.source_403)
				(void)sreply(w, bw, msg, rx, 403, "Forbidden");
		} else {
			pass = !unknown_invite(w, bw, snap, msg, rx);
		}
	}
	pol_snap_deref(snap);
	return pass;
}

static void
on_recv(struct sipw *w, const struct sip_msg *msg, const struct tp_recv *rx,
	void *arg)
{
	struct b2b *b = arg;
	struct b2b_worker *bw = &b->bw[sipw_index(w)];
	struct txn_dest src;

	if (!bw->ua || sipw_txn_dest(rx, &src))
		return;
	bw->rx = rx;
	call_ladder_recv(bw, msg);
	(void)ua_recv(bw->ua, msg, &src);
	bw->rx = NULL;
}

static int
relay_start(struct b2b *b, char *err, size_t errsz)
{
	struct relay_conf rc = {0};
	const struct cfg *c = &b->cfg;
	const char *ip_a = c->media_ip_a[0] ? c->media_ip_a : c->listen;
	int e;

	rc.port_min = (uint16_t)c->port_min;
	rc.port_max = (uint16_t)c->port_max;
	rc.local_ip[RELAY_LEG_A] = ip_a;
	rc.local_ip[RELAY_LEG_B] = c->media_ip_b[0] ? c->media_ip_b : ip_a;
	rc.nworkers = c->media_workers;
	if (c->rtp_timeout_s)
		rc.rtp_timeout_ms = c->rtp_timeout_s * 1000;
	e = relay_ctx_alloc(&b->relay, &rc);
	if (e)
		snprintf(err, errsz, "media relay on %s/%s ports %u-%u: %s",
			 rc.local_ip[0], rc.local_ip[1], c->port_min,
			 c->port_max, strerror(e));
	return e;
}

static int
cdr_start(struct b2b *b, char *err, size_t errsz)
{
	const struct cfg *c = &b->cfg;
	struct cdr_cfg cc = {0};
	char host[64] = "";
	int e;

	cc.dsn = c->cdr_dsn[0] ? c->cdr_dsn : c->db_dsn;
	if (!cc.dsn[0]) {
		LOG_WARN("no cdr.dsn nor db.dsn: CDRs are not written");
		return 0;
	}
	if (!c->node[0])
		(void)gethostname(host, sizeof(host) - 1);
	cc.node = c->node[0] ? c->node : host;
	cc.spool_dir = c->cdr_spool;
	cc.fsync_ms = c->cdr_fsync_ms;
	e = cdr_writer_start(&b->cdr, &cc);
	if (e)
		snprintf(err, errsz, "CDR writer (spool %s): %s", cc.spool_dir,
			 strerror(e));
	return e;
}

int
b2b_alloc(struct b2b **bp, const struct cfg *cfg, char *err, size_t errsz)
{
	struct sipw_conf sc;
	struct b2b *b = calloc(1, sizeof(*b));
	unsigned i;
	int e;

	if (!b)
		return ENOMEM;
	b->cfg = *cfg;
	pthread_mutex_init(&b->q_lock, NULL);
	pthread_cond_init(&b->q_cond, NULL);
	snprintf(b->host, sizeof(b->host), "%s", cfg->listen);
	sipw_conf_default(&sc);
	sc.nworkers = cfg->workers;
	sc.ip = cfg->listen;
	sc.port = cfg->port;
	sc.tcp = cfg->tcp;
	sc.txn.t1 = cfg->t1;
	sc.txn.t2 = cfg->t2;
	/* §17.1.1.2/§17.2.1 keep every INVITE and BYE transaction up to
	   32 s after its call: a worker sustaining R calls/s holds about
	   100 R of them, so the flood cap must allow that; the tables get
	   about 4 entries per bucket at the cap */
	sc.txn.max_live = cfg->max_txn;
	sc.txn.hash_size = 1024;
	while (sc.txn.hash_size < 1u << 20 &&
	       sc.txn.hash_size * 4 < cfg->max_txn)
		sc.txn.hash_size <<= 1;
	sc.recvh = on_recv;
	sc.filterh = b2b_screen;
	sc.arg = b;
	e = sipw_group_alloc(&b->g, &sc);
	if (e) {
		snprintf(err, errsz, "SIP on %s:%u: %s", cfg->listen, cfg->port,
			 strerror(e));
		goto fail;
	}
	b->port = sipw_group_port(b->g);
	b->nw = sipw_group_count(b->g);
	for (i = 0; i < b->nw; i++) {
		b->bw[i].b2b = b;
		b->bw[i].w = sipw_group_worker(b->g, i);
	}
	if (cfg->media) {
		e = relay_start(b, err, errsz);
		if (e)
			goto fail;
	}
	e = tdns_alloc(&b->tdns, cfg->dns_servers);
	if (!e)
		e = lim_alloc(&b->lim, 4096);
	if (!e)
		e = authban_alloc(&b->ban,
				  &(struct authban_conf){
					  cfg->auth_fails,
					  (uint64_t)cfg->auth_window_s * 1000,
					  (uint64_t)cfg->auth_ban_s * 1000});
	if (!e)
		e = bpol_start(&b->pol, cfg, err, errsz);
	if (!e)
		e = cdr_start(b, err, errsz);
	if (e)
		goto fail;
	*bp = b;
	return 0;
fail:
	b2b_free(b);
	return e;
}

/* Every worker's UA and tick are made before the threads run (the
   group's contexts may be used from here while it is not running). */
int
b2b_start(struct b2b *b)
{
	unsigned i;
	int err;

	for (i = 0; i < b->nw; i++) {
		err = worker_init(&b->bw[i]);
		if (err) {
			LOG_ERR("worker %u: %s", i, strerror(err));
			return err;
		}
	}
	return sipw_group_start(b->g);
}

void
b2b_free(struct b2b *b)
{
	unsigned i;

	if (!b)
		return;
	if (b->g)
		sipw_group_stop(b->g);
	for (i = 0; i < b->nw; i++) {
		struct b2b_worker *bw = &b->bw[i];

		call_drop_all(bw);
		probe_flush(bw);
		reg_flush(bw);
		tmr_cancel(&bw->tick);
		bw->ua = mem_deref(bw->ua);
		bw->auth = mem_deref(bw->auth);
		if (bw->v_ok)
			pol_verdict_fini(&bw->v);
		free(bw->sdp);
		free(bw->body);
		free(bw->src);
		free(bw->sreply);
	}
	tdns_free(b->tdns); /* before the worker bases go */
	b->tdns = NULL;
	b->g = mem_deref(b->g);
	b->relay = mem_deref(b->relay);
	cdr_writer_stop(b->cdr); /* after the calls: their CDRs are in */
	bpol_stop(b->pol);
	lim_free(b->lim);
	authban_free(b->ban);
	pthread_cond_destroy(&b->q_cond);
	pthread_mutex_destroy(&b->q_lock);
	free(b);
}

int64_t
b2b_active(struct b2b *b)
{
	return atomic_load_explicit(&b->st.active, memory_order_relaxed);
}

void
b2b_drain(struct b2b *b, bool on)
{
	atomic_store(&b->draining, on);
}

void
b2b_hangup_all(struct b2b *b)
{
	atomic_store(&b->hangup_all, true);
}

int
b2b_reload(struct b2b *b, const struct cfg *cfg, char *err, size_t errsz)
{
	return bpol_reload(b->pol, cfg, err, errsz);
}

uint16_t
b2b_port(const struct b2b *b)
{
	return b->port;
}
