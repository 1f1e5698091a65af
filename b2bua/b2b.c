/* The B2BUA engine (b2b.h): worker plumbing, media relay and policy
   source set-up, drain and reload. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define LOG_MODULE "b2b"
#include "call.h"
#include "media/relay.h"
#include "policy.h"
#include "stack/log.h"
#include "stack/mem.h"
#include "stack/sdp.h"

#define TICK_MS 200

static int
on_send(const struct txn_dest *d, const char *buf, size_t len, void *arg)
{
	struct b2b_worker *bw = arg;

	return tp_send(sipw_tp(bw->w), (enum tp_proto)d->proto,
		       (const struct sockaddr *)&d->addr, d->len, d->conn, buf,
		       len);
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
on_tick(void *arg)
{
	struct b2b_worker *bw = arg;

	if (atomic_load_explicit(&bw->b2b->hangup_all, memory_order_relaxed) &&
	    bw->calls)
		call_hangup_all(bw);
	tmr_start(&bw->tick, sipw_tmr(bw->w), TICK_MS, on_tick, bw);
}

/* On the worker's thread, at its first message. */
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
	if (!bw->sdp || !bw->body)
		return ENOMEM;
	err = ua_alloc(&bw->ua, &uc, sipw_txn(bw->w), sipw_tmr(bw->w), on_send,
		       bw, on_invite, bw);
	if (err)
		return err;
	tmr_init(&bw->tick);
	return tmr_start(&bw->tick, sipw_tmr(bw->w), TICK_MS, on_tick, bw);
}

static void
on_recv(struct sipw *w, const struct sip_msg *msg, const struct tp_recv *rx,
	void *arg)
{
	struct b2b *b = arg;
	struct b2b_worker *bw = &b->bw[sipw_index(w)];
	struct txn_dest src;
	int err;

	if (!bw->ua) {
		err = worker_init(bw);
		if (err) {
			LOG_ERR("worker %u: %s", sipw_index(w), strerror(err));
			mem_deref(bw->ua);
			bw->ua = NULL;
			return;
		}
	}
	if (sipw_txn_dest(rx, &src))
		return;
	bw->rx = rx;
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
	snprintf(b->host, sizeof(b->host), "%s", cfg->listen);
	sipw_conf_default(&sc);
	sc.nworkers = cfg->workers;
	sc.ip = cfg->listen;
	sc.port = cfg->port;
	sc.tcp = cfg->tcp;
	sc.txn.t1 = cfg->t1;
	sc.txn.t2 = cfg->t2;
	sc.recvh = on_recv;
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
	e = bpol_start(&b->pol, cfg, err, errsz);
	if (e)
		goto fail;
	*bp = b;
	return 0;
fail:
	b2b_free(b);
	return e;
}

int
b2b_start(struct b2b *b)
{
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
		tmr_cancel(&bw->tick);
		bw->ua = mem_deref(bw->ua);
		if (bw->v_ok)
			pol_verdict_fini(&bw->v);
		free(bw->sdp);
		free(bw->body);
	}
	b->g = mem_deref(b->g);
	b->relay = mem_deref(b->relay);
	bpol_stop(b->pol);
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
