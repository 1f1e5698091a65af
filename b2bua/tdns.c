/* Trunks named by DNS (RFC 3263 §4: NAPTR -> SRV -> A/AAAA, through
   stack/dns on c-ares): worker 0 resolves every trunk of the policy whose
   host is not an address, again every TDNS_REFRESH_MS (the resolver's
   cache honours the records' TTLs, so this costs a lookup only when they
   ran out), and publishes the ordered destinations in a small table any
   worker reads under a mutex when it places a call, sends an OPTIONS or
   a REGISTER. A failed refresh keeps the last good answer (serve stale)
   and retries sooner; a name never resolved makes its target unusable
   (EHOSTUNREACH), so the call goes on to the next target. */
#define LOG_MODULE "dns"
#include "tdns.h"

#include <arpa/inet.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "b2b.h"
#include "policy.h"
#include "stack/dns.h"
#include "stack/log.h"
#include "stack/mem.h"
#include "stack/sipw.h"

#define TDNS_MAX 256	      /* named trunks tracked */
#define TDNS_DESTS 4	      /* destinations kept per trunk */
#define TDNS_REFRESH_MS 30000 /* re-resolution of a good answer */
#define TDNS_RETRY_MS 5000    /* after a failure */

struct tdns_ent {
	int64_t id;	/* trunk id; 0 free */
	char host[128]; /* what was resolved (a trunk may change) */
	uint16_t port;
	int transport;
	struct txn_dest dest[TDNS_DESTS];
	unsigned n;	     /* 0: not resolved (yet) */
	uint64_t next_ms;    /* next resolution */
	int err;	     /* last error, 0 */
	bool pending;	     /* query running (worker 0 only) */
	struct dns_query *q; /* worker 0 only */
	struct tdns *owner;
};

struct tdns {
	pthread_mutex_t lock; /* dest/n/host of the entries */
	struct dns_ctx *ctx;  /* worker 0's, lazily */
	char servers[256];
	struct tdns_ent e[TDNS_MAX];
};

int
tdns_alloc(struct tdns **tp, const char *servers)
{
	struct tdns *t = calloc(1, sizeof(*t));

	if (!t)
		return ENOMEM;
	pthread_mutex_init(&t->lock, NULL);
	snprintf(t->servers, sizeof(t->servers), "%s", servers ? servers : "");
	*tp = t;
	return 0;
}

void
tdns_free(struct tdns *t)
{
	unsigned i;

	if (!t)
		return;
	for (i = 0; i < TDNS_MAX; i++)
		t->e[i].q = dns_query_cancel(t->e[i].q);
	t->ctx = mem_deref(t->ctx);
	pthread_mutex_destroy(&t->lock);
	free(t);
}

bool
tdns_is_name(const char *host)
{
	struct in6_addr a;

	return host && host[0] && inet_pton(AF_INET, host, &a) != 1 &&
	       inet_pton(AF_INET6, host, &a) != 1;
}

static void
on_resolved(int err, struct dns_result *res, void *arg)
{
	struct tdns_ent *e = arg;
	struct tdns *t = e->owner;
	size_t i, n = err ? 0 : dns_result_count(res);

	pthread_mutex_lock(&t->lock);
	e->pending = false;
	if (!err && n) {
		bool was = e->n > 0;

		e->n = 0;
		for (i = 0; i < n && e->n < TDNS_DESTS; i++) {
			const struct dns_target *dt = dns_result_target(res, i);
			struct txn_dest *d = &e->dest[e->n++];

			memset(d, 0, sizeof(*d));
			memcpy(&d->addr, &dt->addr, dt->addrlen);
			d->len = dt->addrlen;
			d->proto = dt->proto;
			d->reliable = dt->proto != TP_UDP;
		}
		if (!was || e->err)
			LOG_INFO("trunk host %s: %u destination%s", e->host,
				 e->n, e->n == 1 ? "" : "s");
		e->err = 0;
	} else {
		if (e->err != (err ? err : ENOENT))
			LOG_WARN("trunk host %s: %s%s", e->host,
				 strerror(err ? err : ENOENT),
				 e->n ? " (keeping the last answer)" : "");
		e->err = err ? err : ENOENT;
	}
	pthread_mutex_unlock(&t->lock);
	/* the query is done: drop our reference (allowed from here) */
	e->q = mem_deref(e->q);
}

static struct tdns_ent *
ent_of(struct tdns *t, const struct pol_trunk *tr, bool create)
{
	struct tdns_ent *free_e = NULL;
	unsigned i;

	for (i = 0; i < TDNS_MAX; i++) {
		if (t->e[i].id == tr->id)
			return &t->e[i];
		if (!t->e[i].id && !free_e)
			free_e = &t->e[i];
	}
	if (!create || !free_e)
		return NULL;
	free_e->id = tr->id;
	free_e->owner = t;
	return free_e;
}

static void
start(struct tdns *t, struct tdns_ent *e, const struct pol_trunk *tr,
      uint64_t now)
{
	static const char *const tp[] = {"udp", "tcp", "tls"};
	const char *tps = tp[tr->transport <= POL_TP_TLS ? tr->transport : 0];
	char uri[200];
	struct sip_uri u;
	const char *why;
	int err;

	/* a port: A/AAAA only; else SRV of the transport (RFC 3263 §4.2) */
	if (tr->port)
		snprintf(uri, sizeof(uri), "sip:%s:%u;transport=%s", tr->host,
			 tr->port, tps);
	else
		snprintf(uri, sizeof(uri), "sip:%s;transport=%s", tr->host,
			 tps);
	e->next_ms = now + TDNS_RETRY_MS;
	if (sip_uri_decode(&u, &(struct pl){uri, strlen(uri)}, &why)) {
		LOG_WARN("trunk host %s: not a host name (%s)", tr->host, why);
		return;
	}
	err = dns_sip_resolve(&e->q, t->ctx, &u, on_resolved, e);
	if (err) {
		LOG_WARN("trunk host %s: %s", tr->host, strerror(err));
		return;
	}
	e->pending = true;
	e->next_ms = now + TDNS_REFRESH_MS;
}

void
tdns_tick(struct tdns *t, struct b2b_worker *bw, uint64_t now)
{
	struct pol_snap *s;
	size_t i, n;

	if (!t)
		return;
	s = bpol_get(bw->b2b->pol);
	n = pol_snap_ntrunks(s);
	for (i = 0; i < n; i++) {
		const struct pol_trunk *tr = pol_snap_trunk(s, i);
		struct tdns_ent *e;

		if (!tr->enabled || !tdns_is_name(tr->host) ||
		    strlen(tr->host) >= sizeof(e->host))
			continue;
		if (!t->ctx) {
			struct dns_conf dc;

			dns_conf_default(&dc);
			dc.servers = t->servers[0] ? t->servers : NULL;
			if (dns_ctx_alloc(&t->ctx, sipw_base(bw->w), &dc)) {
				LOG_ERR("no DNS resolver: trunks named by DNS "
					"cannot be reached");
				break;
			}
		}
		pthread_mutex_lock(&t->lock);
		e = ent_of(t, tr, true);
		if (e && (strcmp(e->host, tr->host) || e->port != tr->port ||
			  e->transport != (int)tr->transport)) {
			/* new or changed: forget the old answer */
			e->q = dns_query_cancel(e->q);
			e->pending = false;
			snprintf(e->host, sizeof(e->host), "%s", tr->host);
			e->port = tr->port;
			e->transport = (int)tr->transport;
			e->n = 0;
			e->err = 0;
			e->next_ms = 0;
		}
		pthread_mutex_unlock(&t->lock);
		if (e && !e->pending && now >= e->next_ms)
			start(t, e, tr, now);
	}
	pol_snap_deref(s);
}

int
tdns_dest_at(struct tdns *t, const struct pol_trunk *tr, unsigned k,
	     struct txn_dest *d)
{
	struct tdns_ent *e;
	int err = EHOSTUNREACH;

	if (!t)
		return EHOSTUNREACH;
	pthread_mutex_lock(&t->lock);
	e = ent_of(t, tr, false);
	if (e && e->n && !strcmp(e->host, tr->host)) {
		err = k < e->n ? 0 : ENOENT;
		if (!err)
			*d = e->dest[k];
	}
	pthread_mutex_unlock(&t->lock);
	return err;
}

int
tdns_dest(struct tdns *t, const struct pol_trunk *tr, struct txn_dest *d)
{
	return tdns_dest_at(t, tr, 0, d);
}
