/* Signaling workers and Call-ID sharding (see sipw.h). */
#define LOG_MODULE "sipw"

#include "sipw.h"

#include <errno.h>
#include <event2/event.h>
#include <openssl/rand.h>
#include <pthread.h>
#include <stdalign.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "log.h"
#include "mem.h"
#include "sipw_ring.h"
#include "stag.h"
#include "tmr.h"

/* What a ring slot carries. */
enum sipw_item_kind {
	SIPW_IT_MSG,  /* a received message for its Call-ID's owner */
	SIPW_IT_SEND, /* bytes to send over a connection the target owns
			 (rx.conn_id; rx.src/srclen the §18.2.2 fall-back
			 destination, rx.proto the transport) */
};

/* A message handed from one worker to another: one ring slot. */
struct sipw_item {
	enum sipw_item_kind kind;
	struct tp_recv rx; /* conn always NULL (see sipw.h); conn_id kept */
	uint32_t len;
	char *big;   /* owned: the bytes when longer than slot_bytes */
	char data[]; /* slot_bytes of inline bytes */
};

/* Per-worker counters: one writer (the worker), any reader. */
struct sipw_ctr {
	_Atomic uint64_t rx, delivered, handoff_out, handoff_in, handoff_drop,
		handoff_big, handoff_bad, wakeups, filtered, send_out, send_in,
		send_fallback;
};

struct sipw {
	alignas(64) struct sipw_group *g; /* weak: the owner */
	unsigned idx;
	struct event_base *base; /* owned */
	struct tmr_ctx *tmr;	 /* ref */
	struct tp_ctx *tp;	 /* ref */
	struct txn_ctx *txn;	 /* ref */
	sipw_tap_h *tap;	 /* sent messages, or NULL */
	void *tap_arg;
	struct event *tmr_ev;  /* owned: drives tmr from tmr_poll() */
	struct event *wake_ev; /* owned: on efd */
	int efd;	       /* eventfd: hand-overs waiting, or stop */
	bool tmr_armed;
	uint64_t tmr_due;    /* when tmr_ev fires, tmr clock ms */
	unsigned next_from;  /* ring to drain first (fairness) */
	struct sip_msg *msg; /* owned: parse scratch for hand-overs */
	pthread_t th;
	bool th_started;
	alignas(64) _Atomic int wake_pending; /* producers: efd written */
	_Atomic size_t big_held; /* heap bytes of hand-overs waiting for this
				    worker (producers add, it subtracts) */
	struct sipw_ctr ctr;
};

struct sipw_group {
	struct sipw_conf conf;
	char ip[64];
	unsigned n;
	struct sipw *w;		  /* owned: n workers */
	struct sipw_ring **rings; /* owned: [from * n + to], NULL if from==to */
	_Atomic bool stop;
	bool running;
	uint16_t port;
};

#define CTR_INC(w, f) CTR_ADD(w, f, 1)
#define CTR_ADD(w, f, v)                                                       \
	atomic_store_explicit(                                                 \
		&(w)->ctr.f,                                                   \
		atomic_load_explicit(&(w)->ctr.f, memory_order_relaxed) + (v), \
		memory_order_relaxed)

void
sipw_conf_default(struct sipw_conf *conf)
{
	memset(conf, 0, sizeof(*conf));
	conf->ring_slots = 1024;
	conf->slot_bytes = 2048;
	conf->drain_max = 256;
	conf->big_bytes = 8u << 20;
	tp_conf_default(&conf->tp);
	txn_cfg_default(&conf->txn);
}

/* ---- sharding ----------------------------------------------------- */

static int
hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

int
sipw_callid_make(unsigned shard, char *buf, size_t size)
{
	static const char hex[] = "0123456789abcdef";
	unsigned char rnd[16];
	size_t i;

	if (!buf || shard > 0xffff || size < SIPW_CALLID_LEN + 1)
		return EINVAL;
	if (RAND_bytes(rnd, sizeof(rnd)) != 1)
		return EIO;
	memcpy(buf, "tdm-", 4);
	for (i = 0; i < 4; i++)
		buf[4 + i] = hex[(shard >> (12 - 4 * i)) & 0xf];
	buf[8] = '-';
	for (i = 0; i < sizeof(rnd); i++) {
		buf[9 + 2 * i] = hex[rnd[i] >> 4];
		buf[10 + 2 * i] = hex[rnd[i] & 0xf];
	}
	buf[SIPW_CALLID_LEN] = '\0';
	return 0;
}

/* The shard embedded by sipw_callid_make(), or -1 if callid is not one
   of ours. */
static long
callid_embedded(const char *p, size_t len)
{
	long shard = 0;
	size_t i;

	if (len < SIPW_CALLID_LEN || memcmp(p, "tdm-", 4) || p[8] != '-')
		return -1;
	for (i = 4; i < 8; i++) {
		if (hexval(p[i]) < 0)
			return -1;
		shard = shard * 16 + hexval(p[i]);
	}
	for (i = 9; i < SIPW_CALLID_LEN; i++)
		if (hexval(p[i]) < 0)
			return -1;
	return shard;
}

/*
 * The one process-wide key of the Call-ID hash. Every worker (and any
 * other thread asking sipw_shard_of()) must map a Call-ID to the same
 * shard, so the key cannot be per worker; it is written once, under
 * pthread_once, and only read afterwards (no lock on the hot path).
 * shard_key_ok is false only if OpenSSL had no randomness: the hash is
 * then unkeyed (still consistent) and sipw_group_alloc() refuses to
 * start (EIO), so a running group never uses it.
 */
static struct stag_key shard_key;
static bool shard_key_ok;
static pthread_once_t shard_once = PTHREAD_ONCE_INIT;

static void
shard_key_init(void)
{
	shard_key_ok = stag_key_init(&shard_key) == 0;
	if (!shard_key_ok)
		LOG_ERR("no random key for the Call-ID hash");
}

unsigned
sipw_shard_of(const char *callid, size_t len, unsigned nshards)
{
	uint64_t h;
	long emb;

	if (nshards <= 1 || !callid)
		return 0;
	emb = callid_embedded(callid, len);
	if (emb >= 0 && (unsigned long)emb < nshards)
		return (unsigned)emb;
	/* Call-IDs are the peer's choice: SipHash-2-4 under a random key,
	   so nobody can aim a flood at one worker. Its top 32 bits are
	   mapped onto [0, nshards). */
	pthread_once(&shard_once, shard_key_init);
	h = stag_siphash(&shard_key, callid, len);
	return (unsigned)(((h >> 32) * nshards) >> 32);
}

/* ---- per-worker plumbing ----------------------------------------- */

/* Keep tmr_ev armed for the earliest running timer; fires due ones. Call
   after anything that may have started timers. */
static void
timers_sync(struct sipw *w)
{
	int64_t ms = tmr_poll(w->tmr);
	uint64_t due;
	struct timeval tv;

	if (ms < 0)
		return;
	due = tmr_now(w->tmr) + (uint64_t)ms;
	if (w->tmr_armed && w->tmr_due <= due)
		return;
	tv.tv_sec = ms / 1000;
	tv.tv_usec = (ms % 1000) * 1000;
	if (evtimer_add(w->tmr_ev, &tv) == 0) {
		w->tmr_armed = true;
		w->tmr_due = due;
	}
}

static void
on_timer(evutil_socket_t fd, short what, void *arg)
{
	struct sipw *w = arg;

	(void)fd;
	(void)what;
	w->tmr_armed = false;
	timers_sync(w);
}

static void
deliver(struct sipw *w, const struct sip_msg *msg, const struct tp_recv *rx)
{
	CTR_INC(w, delivered);
	w->g->conf.recvh(w, msg, rx, w->g->conf.arg);
}

/* Producer side of a hand-over: wake the target unless a wake-up is
   already pending (the target clears the flag before it drains). */
static void
wake(struct sipw *t)
{
	uint64_t one = 1;

	if (atomic_exchange(&t->wake_pending, 1))
		return;
	if (write(t->efd, &one, sizeof(one)) < 0 && errno != EAGAIN)
		LOG_WARN("eventfd write: %s", strerror(errno));
}

/*
 * Put buf[0..len) with rx (conn dropped: not thread-safe; conn_id kept)
 * into the ring from w to worker `to` and wake it. Large copies go to
 * the heap within the target's big_bytes budget. Returns 0, or ENOBUFS
 * (ring full, budget spent, no memory, too long).
 */
static int
ring_put(struct sipw *w, unsigned to, enum sipw_item_kind kind,
	 const struct tp_recv *rx, const char *buf, size_t len)
{
	struct sipw_group *g = w->g;
	struct sipw_item *it = sipw_ring_reserve(g->rings[w->idx * g->n + to]);

	if (!it || len > UINT32_MAX)
		return ENOBUFS;
	it->kind = kind;
	it->rx = *rx;
	it->rx.conn = NULL;
	it->len = (uint32_t)len;
	it->big = NULL;
	if (len <= g->conf.slot_bytes) {
		memcpy(it->data, buf, len);
	} else {
		struct sipw *t = &g->w[to];

		/* bound the heap a sender can make another worker hold;
		   concurrent producers may pass it by one message each */
		if (g->conf.big_bytes &&
		    atomic_load(&t->big_held) + len > g->conf.big_bytes)
			return ENOBUFS;
		it->big = malloc(len);
		if (!it->big)
			return ENOBUFS;
		atomic_fetch_add(&t->big_held, len);
		memcpy(it->big, buf, len);
		CTR_INC(w, handoff_big);
	}
	sipw_ring_commit(g->rings[w->idx * g->n + to]);
	wake(&g->w[to]);
	return 0;
}

static void
handoff(struct sipw *w, unsigned to, const struct sip_msg *msg,
	const struct tp_recv *rx)
{
	if (ring_put(w, to, SIPW_IT_MSG, rx, msg->buf, msg->len)) {
		CTR_INC(w, handoff_drop);
		return;
	}
	CTR_INC(w, handoff_out);
}

/* tp receive callback: deliver here or hand over to the owner. */
static void
on_tp_recv(const struct sip_msg *msg, const struct tp_recv *rx, void *arg)
{
	struct sipw *w = arg;
	unsigned s;

	CTR_INC(w, rx);
	if (w->g->conf.filterh &&
	    !w->g->conf.filterh(w, msg, rx, w->g->conf.arg)) {
		CTR_INC(w, filtered);
		return;
	}
	s = sipw_shard_of(msg->callid.p, msg->callid.l, w->g->n);
	if (s != w->idx) {
		handoff(w, s, msg, rx);
		return;
	}
	deliver(w, msg, rx);
	timers_sync(w);
}

/*
 * Consumer side of a send another worker passed to us, the owner of the
 * connection it names (§18.2.2: "the response MUST be sent" over the
 * connection the request came on, for reliable transports). If that
 * connection has closed meanwhile, the §18.2.2 fall-back: a connection
 * to the source address and Via port (rx.src), found or opened here.
 * Errors cannot reach the sender's transaction any more: they are
 * counted in tp_stats.tx_errors like a UDP datagram lost at the flush.
 */
static void
item_send(struct sipw *w, struct sipw_item *it, const char *buf)
{
	struct tp_conn *c = tp_conn_by_id(w->tp, it->rx.conn_id);
	int err;

	if (c)
		CTR_INC(w, send_in);
	else
		CTR_INC(w, send_fallback);
	err = tp_send(w->tp, it->rx.proto, (const struct sockaddr *)&it->rx.src,
		      it->rx.srclen, c, buf, it->len);
	if (err)
		LOG_DBG("worker %u: send for another worker: %s", w->idx,
			strerror(err));
}

/* Consumer side: parse a handed-over copy and deliver it, or send what
   another worker asked us to. */
static void
item_deliver(struct sipw *w, struct sipw_item *it)
{
	const char *buf = it->big ? it->big : it->data;
	struct sip_perr perr;

	if (it->kind == SIPW_IT_SEND) {
		item_send(w, it, buf);
	} else if (sip_msg_parse(w->msg, buf, it->len,
				 it->rx.proto == TP_UDP ? SIP_FRAMING_DGRAM
							: SIP_FRAMING_STREAM,
				 &w->g->conf.tp.lim, &perr)) {
		CTR_INC(w, handoff_bad);
	} else {
		CTR_INC(w, handoff_in);
		deliver(w, w->msg, &it->rx);
	}
	if (it->big) {
		atomic_fetch_sub(&w->big_held, it->len);
		free(it->big);
		it->big = NULL;
	}
}

static void
on_wake(evutil_socket_t fd, short what, void *arg)
{
	struct sipw *w = arg;
	struct sipw_group *g = w->g;
	unsigned budget = g->conf.drain_max, k;
	uint64_t v;

	(void)what;
	if (read(fd, &v, sizeof(v)) < 0 && errno != EAGAIN)
		LOG_WARN("eventfd read: %s", strerror(errno));
	/* Clear before draining: an item committed after the drain looked
	   at its ring finds the flag clear and writes the eventfd again. */
	atomic_store(&w->wake_pending, 0);
	if (atomic_load(&g->stop)) {
		event_base_loopexit(w->base, NULL);
		return;
	}
	CTR_INC(w, wakeups);
	for (k = 0; k < g->n && budget; k++) {
		unsigned from = (w->next_from + k) % g->n;
		struct sipw_ring *r = g->rings[from * g->n + w->idx];
		struct sipw_item *it;

		if (!r)
			continue;
		while (budget && (it = sipw_ring_peek(r)) != NULL) {
			item_deliver(w, it);
			sipw_ring_release(r);
			budget--;
		}
	}
	if (!budget) {
		/* More may wait: come back after the sockets had a turn. */
		w->next_from = (w->next_from + 1) % g->n;
		event_active(w->wake_ev, EV_READ, 1);
	}
	timers_sync(w);
}

int
sipw_send(struct sipw *w, const struct txn_dest *dst, const char *buf,
	  size_t len)
{
	/* dst->proto holds the enum tp_proto (sipw_txn_dest()). */
	enum tp_proto proto = (enum tp_proto)dst->proto;
	unsigned tag = tp_conn_id_tag(dst->conn_id);
	struct tp_recv rx;

	if (dst->conn || !dst->conn_id || proto == TP_UDP || !tag ||
	    tag > w->g->n)
		goto here;
	if (tag - 1 == w->idx)
		return tp_send(w->tp, proto,
			       (const struct sockaddr *)&dst->addr, dst->len,
			       tp_conn_by_id(w->tp, dst->conn_id), buf, len);
	/* §18.2.2: over the connection the request came on, which another
	   worker owns (tp_conn is not thread-safe): pass the bytes on. */
	memset(&rx, 0, sizeof(rx));
	rx.proto = proto;
	memcpy(&rx.src, &dst->addr, sizeof(rx.src));
	rx.srclen = dst->len;
	rx.conn_id = dst->conn_id;
	if (!ring_put(w, tag - 1, SIPW_IT_SEND, &rx, buf, len)) {
		CTR_INC(w, send_out);
		return 0;
	}
	/* ring full: the fall-back from here rather than a loss */
	CTR_INC(w, send_fallback);
here:
	return tp_send(w->tp, proto, (const struct sockaddr *)&dst->addr,
		       dst->len, dst->conn, buf, len);
}

int
sipw_send_response(struct sipw *w, const struct tp_recv *rx, const char *buf,
		   size_t len)
{
	struct txn_dest dst;
	int err;

	if (!rx || rx->proto == TP_UDP || rx->conn || !rx->conn_id)
		return tp_send_response(w->tp, rx, buf, len);
	err = sipw_txn_dest(rx, &dst);
	return err ? err : sipw_send(w, &dst, buf, len);
}

static int
txn_send(const struct txn_dest *dst, const char *buf, size_t len, void *arg)
{
	struct sipw *w = arg;

	if (w->tap)
		w->tap(buf, len, w->tap_arg);
	return sipw_send(w, dst, buf, len);
}

int
sipw_txn_dest(const struct tp_recv *rx, struct txn_dest *dst)
{
	int err;

	if (!rx || !dst)
		return EINVAL;
	memset(dst, 0, sizeof(*dst));
	err = tp_response_dest(rx, &dst->addr, &dst->len);
	if (err)
		return err;
	dst->proto = (int)rx->proto; /* opaque to txn; txn_send() reads it */
	dst->reliable = rx->proto != TP_UDP;
	dst->conn_id = rx->conn_id;
	return 0;
}

static void *
worker_main(void *arg)
{
	struct sipw *w = arg;

	timers_sync(w); /* timers the TU started before the thread ran */
	event_base_dispatch(w->base);
	return NULL;
}

/* ---- set-up and teardown ------------------------------------------ */

static void
worker_fini(struct sipw *w)
{
	w->txn = mem_deref(w->txn);
	w->tp = mem_deref(w->tp);
	w->tmr = mem_deref(w->tmr);
	if (w->tmr_ev)
		event_free(w->tmr_ev);
	if (w->wake_ev)
		event_free(w->wake_ev);
	w->tmr_ev = w->wake_ev = NULL;
	if (w->base)
		event_base_free(w->base);
	w->base = NULL;
	if (w->efd >= 0)
		close(w->efd);
	w->efd = -1;
	free(w->msg);
	w->msg = NULL;
}

static int
worker_listen(struct sipw *w)
{
	struct sipw_group *g = w->g;
	uint16_t port = w->idx ? g->port : g->conf.port;
	struct sockaddr_storage ss;
	socklen_t sl;
	int err;

	err = tp_addr_set(&ss, &sl, g->ip, port);
	if (!err)
		err = tp_listen_str(w->tp, TP_UDP, g->ip, port);
	if (err) {
		LOG_ERR("worker %u: UDP %s:%u: %s", w->idx, g->ip, port,
			strerror(err));
		return err;
	}
	if (w->idx == 0) {
		g->port = tp_local_port(w->tp, TP_UDP, ss.ss_family);
		if (g->conf.tcp)
			err = tp_listen_str(w->tp, TP_TCP, g->ip, g->port);
		if (err)
			LOG_ERR("TCP %s:%u: %s", g->ip, g->port, strerror(err));
	}
	return err;
}

static int
worker_init(struct sipw_group *g, unsigned idx)
{
	struct sipw *w = &g->w[idx];
	struct tp_conf tpc;
	int err;

	w->g = g;
	w->idx = idx;
	w->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (w->efd < 0)
		return errno;
	w->base = event_base_new();
	w->msg = malloc(sizeof(*w->msg));
	if (!w->base || !w->msg)
		return ENOMEM;
	w->tmr_ev = evtimer_new(w->base, on_timer, w);
	w->wake_ev =
		event_new(w->base, w->efd, EV_READ | EV_PERSIST, on_wake, w);
	if (!w->tmr_ev || !w->wake_ev || event_add(w->wake_ev, NULL))
		return ENOMEM;
	err = tmr_ctx_alloc(&w->tmr, NULL, NULL);
	/* connection ids name their worker (sipw_send()) */
	tpc = g->conf.tp;
	tpc.conn_id_tag = idx + 1;
	if (!err)
		err = tp_ctx_alloc(&w->tp, w->base, &tpc, on_tp_recv, NULL, w);
	if (!err)
		err = worker_listen(w);
	if (!err)
		err = txn_ctx_alloc(&w->txn, &g->conf.txn, txn_send, w, w->tmr);
	return err;
}

static void
group_destroy(void *obj)
{
	struct sipw_group *g = obj;
	struct sipw_item *it;
	unsigned i;

	sipw_group_stop(g);
	for (i = 0; g->rings && i < g->n * g->n; i++) {
		if (!g->rings[i])
			continue;
		while ((it = sipw_ring_peek(g->rings[i])) != NULL) {
			free(it->big);
			sipw_ring_release(g->rings[i]);
		}
		sipw_ring_free(g->rings[i]);
	}
	free(g->rings);
	for (i = 0; g->w && i < g->n; i++)
		worker_fini(&g->w[i]);
	free(g->w);
}

static int
group_rings(struct sipw_group *g)
{
	size_t esize = offsetof(struct sipw_item, data) + g->conf.slot_bytes;
	unsigned from, to;
	int err;

	g->rings = calloc((size_t)g->n * g->n, sizeof(*g->rings));
	if (!g->rings)
		return ENOMEM;
	for (from = 0; from < g->n; from++) {
		for (to = 0; to < g->n; to++) {
			if (from == to)
				continue;
			err = sipw_ring_alloc(&g->rings[from * g->n + to],
					      g->conf.ring_slots, esize);
			if (err)
				return err;
		}
	}
	return 0;
}

int
sipw_group_alloc(struct sipw_group **gp, const struct sipw_conf *conf)
{
	struct sipw_group *g;
	long ncpu;
	unsigned i;
	int err;

	if (!gp || !conf || !conf->recvh || !conf->ring_slots ||
	    (conf->ring_slots & (conf->ring_slots - 1)) || !conf->drain_max ||
	    (conf->ip && strlen(conf->ip) >= sizeof(g->ip)))
		return EINVAL;
	pthread_once(&shard_once, shard_key_init);
	if (!shard_key_ok)
		return EIO;
	g = mem_zalloc(sizeof(*g), group_destroy);
	if (!g)
		return ENOMEM;
	g->conf = *conf;
	strcpy(g->ip, conf->ip ? conf->ip : "127.0.0.1");
	g->conf.ip = g->ip;
	g->n = conf->nworkers;
	if (!g->n) {
		ncpu = sysconf(_SC_NPROCESSORS_ONLN);
		g->n = ncpu > 0 ? (unsigned)ncpu : 1;
	}
	if (g->n > SIPW_MAX)
		g->n = SIPW_MAX;
	atomic_init(&g->stop, false);
	g->w = aligned_alloc(64, ((sizeof(*g->w) * g->n) + 63) & ~(size_t)63);
	if (!g->w) {
		err = ENOMEM;
		goto out;
	}
	memset(g->w, 0, sizeof(*g->w) * g->n);
	for (i = 0; i < g->n; i++) {
		g->w[i].efd = -1;
		atomic_init(&g->w[i].wake_pending, 0);
	}
	err = group_rings(g);
	for (i = 0; !err && i < g->n; i++)
		err = worker_init(g, i);
out:
	if (err) {
		mem_deref(g);
		return err;
	}
	*gp = g;
	return 0;
}

int
sipw_group_start(struct sipw_group *g)
{
	unsigned i;
	int err;

	if (!g)
		return EINVAL;
	if (g->running)
		return EALREADY;
	atomic_store(&g->stop, false);
	g->running = true;
	for (i = 0; i < g->n; i++) {
		err = pthread_create(&g->w[i].th, NULL, worker_main, &g->w[i]);
		if (err) {
			sipw_group_stop(g);
			return err;
		}
		g->w[i].th_started = true;
	}
	return 0;
}

void
sipw_group_stop(struct sipw_group *g)
{
	uint64_t one = 1;
	unsigned i;

	if (!g || !g->running)
		return;
	atomic_store(&g->stop, true);
	for (i = 0; i < g->n; i++) {
		if (!g->w[i].th_started)
			continue;
		/* Unconditional: a pending flag may be stale. */
		if (write(g->w[i].efd, &one, sizeof(one)) < 0)
			LOG_WARN("eventfd write: %s", strerror(errno));
	}
	for (i = 0; i < g->n; i++) {
		if (!g->w[i].th_started)
			continue;
		pthread_join(g->w[i].th, NULL);
		g->w[i].th_started = false;
	}
	g->running = false;
}

unsigned
sipw_group_count(const struct sipw_group *g)
{
	return g ? g->n : 0;
}

struct sipw *
sipw_group_worker(struct sipw_group *g, unsigned i)
{
	return g && i < g->n ? &g->w[i] : NULL;
}

uint16_t
sipw_group_port(const struct sipw_group *g)
{
	return g ? g->port : 0;
}

void
sipw_stats(const struct sipw *w, struct sipw_stats *st)
{
	struct sipw *m = (struct sipw *)(uintptr_t)w; /* atomics: not const */

#define RD(f) st->f = atomic_load_explicit(&m->ctr.f, memory_order_relaxed)
	RD(rx);
	RD(delivered);
	RD(handoff_out);
	RD(handoff_in);
	RD(handoff_drop);
	RD(handoff_big);
	RD(handoff_bad);
	RD(wakeups);
	RD(filtered);
	RD(send_out);
	RD(send_in);
	RD(send_fallback);
	st->big_held = atomic_load(&m->big_held);
#undef RD
}

void
sipw_group_stats(const struct sipw_group *g, struct sipw_stats *st)
{
	struct sipw_stats one;
	unsigned i;

	memset(st, 0, sizeof(*st));
	for (i = 0; g && i < g->n; i++) {
		sipw_stats(&g->w[i], &one);
		st->rx += one.rx;
		st->delivered += one.delivered;
		st->handoff_out += one.handoff_out;
		st->handoff_in += one.handoff_in;
		st->handoff_drop += one.handoff_drop;
		st->handoff_big += one.handoff_big;
		st->handoff_bad += one.handoff_bad;
		st->wakeups += one.wakeups;
		st->filtered += one.filtered;
		st->send_out += one.send_out;
		st->send_in += one.send_in;
		st->send_fallback += one.send_fallback;
		st->big_held += one.big_held;
	}
}

void
sipw_group_counts(const struct sipw_group *g, struct tp_resp_counts *rc,
		  struct txn_counters *tc)
{
	struct tp_resp_counts r;
	struct txn_counters t;
	unsigned i, k;

	memset(rc, 0, sizeof(*rc));
	memset(tc, 0, sizeof(*tc));
	for (i = 0; g && i < g->n; i++) {
		/* tp and txn are set before the threads start and freed
		   after they stop: stable while the group lives */
		if (g->w[i].tp) {
			tp_resp_counts(g->w[i].tp, &r);
			for (k = 0; k < 7; k++) {
				rc->rx[k] += r.rx[k];
				rc->tx[k] += r.tx[k];
			}
		}
		if (g->w[i].txn) {
			txn_ctx_counters(g->w[i].txn, &t);
			tc->active += t.active;
			tc->created += t.created;
			tc->retransmits += t.retransmits;
			tc->retrans_in += t.retrans_in;
		}
	}
}

unsigned
sipw_index(const struct sipw *w)
{
	return w->idx;
}

struct event_base *
sipw_base(struct sipw *w)
{
	return w->base;
}

struct tmr_ctx *
sipw_tmr(struct sipw *w)
{
	return w->tmr;
}

struct tp_ctx *
sipw_tp(struct sipw *w)
{
	return w->tp;
}

struct txn_ctx *
sipw_txn(struct sipw *w)
{
	return w->txn;
}

void
sipw_set_tap(struct sipw *w, sipw_tap_h *h, void *arg)
{
	if (!w)
		return;
	w->tap = h;
	w->tap_arg = arg;
}
