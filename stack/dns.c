/* DNS context: c-ares on a libevent loop (socket-state callback -> events,
   ares_timeout() -> one timer) and a TTL-bounded answer cache (RFC 1035
   §3.2.1 TTL, RFC 2308 §5 negative caching). */
#define LOG_MODULE "dns"
#include "dns_int.h"

#include <arpa/nameser.h>
#include <ctype.h>
#include <errno.h>
#include <event2/event.h>
#include <openssl/rand.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "mem.h"

/* One socket c-ares asked us to watch. */
struct dns_sock {
	struct dns_sock *next;
	ares_socket_t fd;
	struct event *ev;    /* owned */
	struct dns_ctx *ctx; /* weak: the owner */
};

/* One cached answer: name + type -> status and raw message. */
struct dns_centry {
	struct dns_centry *hnext;		/* bucket chain */
	struct dns_centry *lru_prev, *lru_next; /* ctx LRU list */
	uint64_t expires;			/* clock ms */
	uint32_t hash;
	int type;
	int status;	     /* ARES_SUCCESS, ARES_ENODATA, ARES_ENOTFOUND */
	unsigned char *abuf; /* owned; NULL for negative entries */
	int alen;
	char name[DNS_NAME_MAX + 1]; /* lower case */
};

/* One waiter for a lookup in flight (plain malloc: owned by its flight,
   freed when the flight's answer comes). */
struct dns_lk {
	struct dns_lk *next, **prevp; /* in the owner's list */
	struct dns_lk *fnext;	      /* in the flight's waiters */
	dns_lk_h *h;		      /* NULL once detached */
	void *arg;		      /* weak: the owner */
	size_t slot;
};

/*
 * One question sent through c-ares (plain malloc: owned by c-ares until
 * its callback runs, which frees it). Identical lookups (same name and
 * type) started while it is in flight wait on it instead of asking
 * again: a burst of calls to one trunk domain costs one question, and
 * every waiter gets the one answer (which the cache keeps too).
 */
struct dns_fly {
	struct dns_fly *next, **prevp; /* in ctx->flights */
	struct dns_ctx *ctx;	       /* weak */
	struct dns_lk *waiters;	       /* owned */
	struct dns_lk **wtail;
	int type;
	char name[DNS_NAME_MAX + 1]; /* lower case */
};

void
dns_conf_default(struct dns_conf *conf)
{
	*conf = (struct dns_conf){
		.timeout_ms = 2000,
		.tries = 2,
		.transports = DNS_TRANSPORT_UDP | DNS_TRANSPORT_TCP |
			      DNS_TRANSPORT_TLS,
		.families = DNS_FAMILY_V4 | DNS_FAMILY_V6,
		.cache_max = 4096,
		.ttl_max_s = 3600,
		.neg_ttl_s = 30,
	};
}

uint32_t
dns_rand_default(void *arg)
{
	uint32_t v = 0;

	(void)arg;
	if (RAND_bytes((unsigned char *)&v, sizeof(v)) != 1)
		v = (uint32_t)random(); /* only if the CSPRNG fails */
	return v;
}

int
dns_ares_err(int status)
{
	switch (status) {
	case ARES_SUCCESS:
		return 0;
	case ARES_ENODATA:
	case ARES_ENOTFOUND:
	case ARES_EBADNAME:
		return ENOENT;
	case ARES_ETIMEOUT:
		return ETIMEDOUT;
	case ARES_ECONNREFUSED:
		return ECONNREFUSED;
	case ARES_ENOMEM:
		return ENOMEM;
	default: /* ESERVFAIL, EREFUSED, EBADRESP, EFORMERR, ... */
		return EIO;
	}
}

static uint64_t
ctx_now(const struct dns_ctx *ctx)
{
	return ctx->conf.now_h(ctx->conf.now_arg);
}

/* ---- c-ares <-> libevent ---------------------------------------------- */

void
dns_ctx_timer_update(struct dns_ctx *ctx)
{
	struct timeval tv, *tvp;

	if (ctx->closing || !ctx->chan)
		return;
	tvp = ares_timeout(ctx->chan, NULL, &tv);
	if (tvp)
		evtimer_add(ctx->tmo_ev, tvp);
	else
		evtimer_del(ctx->tmo_ev);
}

static void
tmo_cb(evutil_socket_t fd, short what, void *arg)
{
	struct dns_ctx *ctx = arg;

	(void)fd;
	(void)what;
	ares_process_fd(ctx->chan, ARES_SOCKET_BAD, ARES_SOCKET_BAD);
	dns_ctx_timer_update(ctx);
}

static void
sock_cb(evutil_socket_t fd, short what, void *arg)
{
	struct dns_sock *s = arg;
	struct dns_ctx *ctx = s->ctx; /* s may be freed by ares_process_fd */

	ares_process_fd(ctx->chan, (what & EV_READ) ? fd : ARES_SOCKET_BAD,
			(what & EV_WRITE) ? fd : ARES_SOCKET_BAD);
	dns_ctx_timer_update(ctx);
}

static void
sock_state_cb(void *data, ares_socket_t fd, int readable, int writable)
{
	struct dns_ctx *ctx = data;
	struct dns_sock **pp, *s;
	short what;

	for (pp = &ctx->socks; *pp && (*pp)->fd != fd; pp = &(*pp)->next)
		;
	s = *pp;
	if (!readable && !writable) {
		if (s) {
			*pp = s->next;
			if (s->ev)
				event_free(s->ev);
			free(s);
		}
		return;
	}
	if (!s) {
		s = calloc(1, sizeof(*s));
		if (!s) {
			LOG_ERR("out of memory watching DNS socket %d", fd);
			return;
		}
		s->fd = fd;
		s->ctx = ctx;
		s->next = ctx->socks;
		ctx->socks = s;
	} else if (s->ev) { /* NULL if event_new failed last time */
		event_free(s->ev);
		s->ev = NULL;
	}
	what = EV_PERSIST | (readable ? EV_READ : 0) |
	       (writable ? EV_WRITE : 0);
	s->ev = event_new(ctx->base, fd, what, sock_cb, s);
	if (!s->ev || event_add(s->ev, NULL) != 0)
		LOG_ERR("cannot watch DNS socket %d", fd);
}

/* ---- TTLs from the raw message ---------------------------------------- */

static uint16_t
get16(const unsigned char *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static uint32_t
get32(const unsigned char *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	       (uint32_t)p[2] << 8 | p[3];
}

/* Length of the (possibly compressed) name at p, or -1. */
static long
name_len(const unsigned char *p, const unsigned char *abuf, int alen)
{
	char *name;
	long len;

	if (ares_expand_name(p, abuf, alen, &name, &len) != ARES_SUCCESS)
		return -1;
	ares_free_string(name);
	return len;
}

/*
 * The TTL to cache an answer for, in seconds: the minimum TTL of the
 * answer records (positive), or for a negative answer min(SOA TTL, SOA
 * MINIMUM) from the authority section (RFC 2308 §5). Returns false when
 * the message cannot be walked or holds no usable record.
 */
static bool
msg_ttl(const unsigned char *abuf, int alen, bool negative, uint32_t *ttl)
{
	const unsigned char *p = abuf + HFIXEDSZ, *end = abuf + alen;
	unsigned qd, an, ns;
	bool found = false;
	long l;

	if (alen < HFIXEDSZ)
		return false;
	qd = get16(abuf + 4);
	an = get16(abuf + 6);
	ns = get16(abuf + 8);
	for (unsigned i = 0; i < qd; i++) {
		if ((l = name_len(p, abuf, alen)) < 0 || end - p < l + 4)
			return false;
		p += l + 4;
	}
	for (unsigned i = 0; i < an + (negative ? ns : 0); i++) {
		uint16_t type, rdlen;
		uint32_t t;

		if ((l = name_len(p, abuf, alen)) < 0 || end - p < l + 10)
			return false;
		p += l;
		type = get16(p);
		t = get32(p + 4);
		rdlen = get16(p + 8);
		p += 10;
		if (end - p < rdlen)
			return false;
		if (negative && i >= an && type == ns_t_soa) {
			const unsigned char *r = p;
			long l2;

			if ((l = name_len(r, abuf, alen)) < 0)
				return false;
			if ((l2 = name_len(r + l, abuf, alen)) < 0 ||
			    l + l2 + 20 > rdlen)
				return false;
			if (get32(r + l + l2 + 16) < t)
				t = get32(r + l + l2 + 16);
		} else if (negative) {
			p += rdlen;
			continue;
		}
		if (!found || t < *ttl)
			*ttl = t;
		found = true;
		p += rdlen;
	}
	return found;
}

/* ---- cache -------------------------------------------------------------- */

static uint32_t
key_hash(const char *name, int type)
{
	uint32_t h = 2166136261u ^ (uint32_t)type;

	for (; *name; name++)
		h = (h ^ (unsigned char)*name) * 16777619u;
	return h;
}

static void
lru_unlink(struct dns_ctx *ctx, struct dns_centry *e)
{
	if (e->lru_prev)
		e->lru_prev->lru_next = e->lru_next;
	else
		ctx->lru_head = e->lru_next;
	if (e->lru_next)
		e->lru_next->lru_prev = e->lru_prev;
	else
		ctx->lru_tail = e->lru_prev;
	e->lru_prev = e->lru_next = NULL;
}

static void
lru_push(struct dns_ctx *ctx, struct dns_centry *e)
{
	e->lru_prev = NULL;
	e->lru_next = ctx->lru_head;
	if (ctx->lru_head)
		ctx->lru_head->lru_prev = e;
	else
		ctx->lru_tail = e;
	ctx->lru_head = e;
}

static void
centry_del(struct dns_ctx *ctx, struct dns_centry *e)
{
	struct dns_centry **pp = &ctx->buckets[e->hash % ctx->nbuckets];

	while (*pp != e)
		pp = &(*pp)->hnext;
	*pp = e->hnext;
	lru_unlink(ctx, e);
	ctx->ncache--;
	free(e->abuf);
	free(e);
}

static void
lower_copy(char *dst, const char *src)
{
	size_t i;

	for (i = 0; src[i] && i < DNS_NAME_MAX; i++)
		dst[i] = (char)tolower((unsigned char)src[i]);
	dst[i] = '\0';
}

/* A live entry for name/type (lower case), or NULL; expired ones go. */
static struct dns_centry *
cache_get(struct dns_ctx *ctx, const char *name, int type)
{
	uint32_t h = key_hash(name, type);
	struct dns_centry *e;

	if (!ctx->nbuckets)
		return NULL;
	for (e = ctx->buckets[h % ctx->nbuckets]; e; e = e->hnext) {
		if (e->hash == h && e->type == type && !strcmp(e->name, name))
			break;
	}
	if (!e)
		return NULL;
	if (e->expires <= ctx_now(ctx)) {
		centry_del(ctx, e);
		return NULL;
	}
	lru_unlink(ctx, e);
	lru_push(ctx, e);
	return e;
}

/* Cache a c-ares answer when it may be (RFC 1035 §3.2.1: TTL 0 = do not
   cache). name is lower case. Failures are silent: it is only a cache. */
static void
cache_put(struct dns_ctx *ctx, const char *name, int type, int status,
	  const unsigned char *abuf, int alen)
{
	bool negative = status == ARES_ENODATA || status == ARES_ENOTFOUND;
	uint32_t ttl = 0, h = key_hash(name, type);
	struct dns_centry *e;

	if (!ctx->nbuckets || (status != ARES_SUCCESS && !negative))
		return;
	if (negative) {
		if (!abuf || !msg_ttl(abuf, alen, true, &ttl) ||
		    ttl > ctx->conf.neg_ttl_s)
			ttl = ctx->conf.neg_ttl_s;
	} else if (!abuf || !msg_ttl(abuf, alen, false, &ttl)) {
		return;
	} else if (ttl > ctx->conf.ttl_max_s) {
		ttl = ctx->conf.ttl_max_s;
	}
	if (ttl == 0)
		return;
	if ((e = cache_get(ctx, name, type)) != NULL)
		centry_del(ctx, e);
	while (ctx->ncache >= ctx->conf.cache_max && ctx->lru_tail)
		centry_del(ctx, ctx->lru_tail); /* least recently used */
	e = calloc(1, sizeof(*e));
	if (!e)
		return;
	if (!negative) {
		e->abuf = malloc((size_t)alen);
		if (!e->abuf) {
			free(e);
			return;
		}
		memcpy(e->abuf, abuf, (size_t)alen);
		e->alen = alen;
	}
	snprintf(e->name, sizeof(e->name), "%s", name);
	e->type = type;
	e->status = status;
	e->hash = h;
	e->expires = ctx_now(ctx) + (uint64_t)ttl * 1000;
	e->hnext = ctx->buckets[h % ctx->nbuckets];
	ctx->buckets[h % ctx->nbuckets] = e;
	lru_push(ctx, e);
	ctx->ncache++;
}

void
dns_cache_flush(struct dns_ctx *ctx)
{
	while (ctx->lru_tail)
		centry_del(ctx, ctx->lru_tail);
}

size_t
dns_cache_count(const struct dns_ctx *ctx)
{
	return ctx->ncache;
}

/* ---- lookups ------------------------------------------------------------ */

static void
lk_unlink(struct dns_lk *lk)
{
	if (lk->prevp) {
		*lk->prevp = lk->next;
		if (lk->next)
			lk->next->prevp = lk->prevp;
	}
	lk->next = NULL;
	lk->prevp = NULL;
}

void
dns_lk_detach_all(struct dns_lk **owner)
{
	while (*owner) {
		struct dns_lk *lk = *owner;

		lk->h = NULL;
		lk->arg = NULL;
		lk_unlink(lk);
	}
}

/*
 * c-ares answered the flight: cache the answer, then give it to every
 * waiter in the order they came. The flight leaves ctx->flights first,
 * so a handler starting the same lookup again finds the cache (or, with
 * the cache off, sends a new question). A handler may detach waiters
 * further down the list (dns_lk_detach_all()): h is read just before
 * each call, and only this function frees waiters.
 */
static void
fly_done(void *arg, int status, int timeouts, unsigned char *abuf, int alen)
{
	struct dns_fly *f = arg;
	struct dns_ctx *ctx = f->ctx;
	struct dns_lk *lk = f->waiters, *next;
	bool quiet = status == ARES_EDESTRUCTION || ctx->closing;

	(void)timeouts;
	*f->prevp = f->next;
	if (f->next)
		f->next->prevp = f->prevp;
	if (!quiet) {
		LOG_DBG("%s type %d: %s", f->name, f->type,
			ares_strerror(status));
		cache_put(ctx, f->name, f->type, status, abuf, alen);
	}
	for (; lk; lk = next) {
		dns_lk_h *h = lk->h;
		void *harg = lk->arg;
		size_t slot = lk->slot;

		next = lk->fnext;
		lk_unlink(lk);
		free(lk);
		if (h && !quiet)
			h(harg, slot, status, abuf, alen);
	}
	free(f);
}

static struct dns_fly *
fly_find(struct dns_ctx *ctx, const char *key, int type)
{
	struct dns_fly *f;

	for (f = ctx->flights; f; f = f->next)
		if (f->type == type && !strcmp(f->name, key))
			return f;
	return NULL;
}

void
dns_ctx_stats(const struct dns_ctx *ctx, struct dns_stats *st)
{
	*st = ctx->st;
}

int
dns_lk_start(struct dns_ctx *ctx, struct dns_lk **owner, const char *name,
	     int type, dns_lk_h *h, void *arg, size_t slot)
{
	struct dns_centry *e;
	struct dns_lk *lk;
	char key[DNS_NAME_MAX + 1];

	struct dns_fly *f;

	lower_copy(key, name);
	ctx->st.lookups++;
	e = cache_get(ctx, key, type);
	if (e) {
		LOG_DBG("%s type %d: cached", key, type);
		ctx->st.cached++;
		h(arg, slot, e->status, e->abuf, e->alen);
		return 0;
	}
	/* The flights are few (the distinct names being resolved right
	   now): a list is enough. */
	f = fly_find(ctx, key, type);
	lk = calloc(1, sizeof(*lk));
	if (!lk)
		return ENOMEM;
	if (!f) {
		f = calloc(1, sizeof(*f));
		if (!f) {
			free(lk);
			return ENOMEM;
		}
		f->ctx = ctx;
		f->type = type;
		memcpy(f->name, key, sizeof(key));
		f->wtail = &f->waiters;
		f->next = ctx->flights;
		if (f->next)
			f->next->prevp = &f->next;
		f->prevp = &ctx->flights;
		ctx->flights = f;
	} else {
		LOG_DBG("%s type %d: joins the lookup in flight", key, type);
		ctx->st.merged++;
	}
	lk->h = h;
	lk->arg = arg;
	lk->slot = slot;
	*f->wtail = lk;
	f->wtail = &lk->fnext;
	lk->next = *owner;
	if (*owner)
		(*owner)->prevp = &lk->next;
	lk->prevp = owner;
	*owner = lk;
	if (f->waiters != lk)
		return 0;
	ctx->st.sent++;
	/* May call fly_done() before returning (e.g. out of memory). */
	ares_query(ctx->chan, key, ns_c_in, type, fly_done, f);
	dns_ctx_timer_update(ctx);
	return 0;
}

/* ---- context -------------------------------------------------------- */

static void
ctx_destroy(void *arg)
{
	struct dns_ctx *ctx = arg;

	dns_sip_orphan_all(ctx);
	ctx->closing = true;
	if (ctx->chan)
		ares_destroy(ctx->chan); /* fly_done(ARES_EDESTRUCTION) each */
	while (ctx->socks) {
		struct dns_sock *s = ctx->socks;

		ctx->socks = s->next;
		if (s->ev)
			event_free(s->ev);
		free(s);
	}
	if (ctx->tmo_ev)
		event_free(ctx->tmo_ev);
	if (ctx->buckets)
		dns_cache_flush(ctx);
	free(ctx->buckets);
}

static int
ctx_init_ares(struct dns_ctx *ctx, const char *servers)
{
	struct ares_options opt = {0};
	int mask = ARES_OPT_SOCK_STATE_CB | ARES_OPT_TIMEOUTMS | ARES_OPT_TRIES;
	int st;

	opt.sock_state_cb = sock_state_cb;
	opt.sock_state_cb_data = ctx;
	opt.timeout = (int)ctx->conf.timeout_ms;
	opt.tries = (int)ctx->conf.tries;
	/* On Linux c-ares needs no ares_library_init() (a Windows-only
	   requirement in 1.18), so no process-wide call is made here. */
	st = ares_init_options(&ctx->chan, &opt, mask);
	if (st != ARES_SUCCESS) {
		ctx->chan = NULL;
		LOG_ERR("c-ares init: %s", ares_strerror(st));
		return st == ARES_ENOMEM ? ENOMEM : EIO;
	}
	if (servers) {
		st = ares_set_servers_ports_csv(ctx->chan, servers);
		if (st != ARES_SUCCESS) {
			LOG_ERR("DNS servers \"%s\": %s", servers,
				ares_strerror(st));
			return st == ARES_ENOMEM ? ENOMEM : EINVAL;
		}
	}
	return 0;
}

int
dns_ctx_alloc(struct dns_ctx **ctxp, struct event_base *base,
	      const struct dns_conf *conf)
{
	struct dns_ctx *ctx;
	int err;

	if (!ctxp || !base)
		return EINVAL;
	ctx = mem_zalloc(sizeof(*ctx), ctx_destroy);
	if (!ctx)
		return ENOMEM;
	ctx->base = base;
	if (conf)
		ctx->conf = *conf;
	else
		dns_conf_default(&ctx->conf);
	ctx->conf.servers = NULL;
	if (!ctx->conf.now_h)
		ctx->conf.now_h = tmr_clock_mono;
	if (!ctx->conf.rand_h)
		ctx->conf.rand_h = dns_rand_default;
	if (ctx->conf.tries == 0)
		ctx->conf.tries = 1;
	if (ctx->conf.cache_max) {
		ctx->nbuckets = ctx->conf.cache_max / 2 + 1;
		ctx->buckets = calloc(ctx->nbuckets, sizeof(*ctx->buckets));
		if (!ctx->buckets) {
			err = ENOMEM;
			goto out;
		}
	}
	ctx->tmo_ev = evtimer_new(base, tmo_cb, ctx);
	if (!ctx->tmo_ev) {
		err = ENOMEM;
		goto out;
	}
	err = ctx_init_ares(ctx, conf ? conf->servers : NULL);
out:
	if (err)
		mem_deref(ctx);
	else
		*ctxp = ctx;
	return err;
}
