/* Relay context: configuration, the port range (an RTP/RTCP pair per
   stream, RFC 3550 §11: RTP even, RTCP = RTP + 1), media workers. */
#define LOG_MODULE "relay"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "relay_int.h"
#include "stack/log.h"
#include "stack/mem.h"

uint64_t
relay_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

int
relay_sa_set(union relay_sa *ss, socklen_t *len, const char *ip, uint16_t port)
{
	struct sockaddr_in *s4 = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)ss;

	memset(ss, 0, sizeof(*ss));
	if (ip && inet_pton(AF_INET, ip, &s4->sin_addr) == 1) {
		s4->sin_family = AF_INET;
		s4->sin_port = htons(port);
		*len = sizeof(*s4);
		return 0;
	}
	if (ip && inet_pton(AF_INET6, ip, &s6->sin6_addr) == 1) {
		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons(port);
		*len = sizeof(*s6);
		return 0;
	}
	return EINVAL;
}

/* --- Port range --------------------------------------------------------
 * A FIFO ring of free pair indices: take from the head, give back at the
 * tail, so a released pair is reused last (late packets of an old call
 * do not land in a new one) and a pair someone else holds (EADDRINUSE)
 * goes to the back. O(1) per take and give, under port_mtx. */

static int
ports_init(struct relay_ctx *ctx)
{
	unsigned min = ctx->conf.port_min, max = ctx->conf.port_max, i;

	if (min & 1u)
		min++;
	if (min < 2 || max < min + 1)
		return EINVAL;
	ctx->port_base = (uint16_t)min;
	ctx->npairs = (max - min + 1) / 2;
	ctx->ring = calloc(ctx->npairs, sizeof(*ctx->ring));
	if (!ctx->ring)
		return ENOMEM;
	for (i = 0; i < ctx->npairs; i++)
		ctx->ring[i] = (uint16_t)i;
	ctx->nfree = ctx->npairs;
	return pthread_mutex_init(&ctx->port_mtx, NULL);
}

static bool
ring_pop(struct relay_ctx *ctx, uint16_t *pair)
{
	bool ok;

	pthread_mutex_lock(&ctx->port_mtx);
	ok = ctx->nfree > 0;
	if (ok) {
		*pair = ctx->ring[ctx->head];
		ctx->head = (ctx->head + 1) % ctx->npairs;
		ctx->nfree--;
	}
	pthread_mutex_unlock(&ctx->port_mtx);
	return ok;
}

static void
ring_push(struct relay_ctx *ctx, uint16_t pair)
{
	pthread_mutex_lock(&ctx->port_mtx);
	if (ctx->nfree < ctx->npairs) {
		ctx->ring[(ctx->head + ctx->nfree) % ctx->npairs] = pair;
		ctx->nfree++;
	}
	pthread_mutex_unlock(&ctx->port_mtx);
}

static int
sock_bind(struct relay_ctx *ctx, const union relay_sa *local, socklen_t llen,
	  uint16_t port, int *fdp)
{
	union relay_sa ss = *local;
	int fd, err = 0, sz = ctx->conf.sock_buf;

	if (ss.sa.sa_family == AF_INET)
		((struct sockaddr_in *)&ss)->sin_port = htons(port);
	else
		((struct sockaddr_in6 *)&ss)->sin6_port = htons(port);
	fd = socket(ss.sa.sa_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
		    0);
	if (fd < 0)
		return errno;
	if (sz > 0) {
		(void)setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &sz, sizeof(sz));
		(void)setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &sz, sizeof(sz));
	}
	if (bind(fd, (struct sockaddr *)&ss, llen) < 0) {
		err = errno;
		close(fd);
		return err;
	}
	*fdp = fd;
	return 0;
}

/* Bind RTP and RTCP of pair on the leg's address. */
static int
pair_bind(struct relay_ctx *ctx, const union relay_sa *local, socklen_t llen,
	  uint16_t port, int fd[RELAY_SK_COUNT])
{
	int err = sock_bind(ctx, local, llen, port, &fd[RELAY_SK_RTP]);

	if (err)
		return err;
	err = sock_bind(ctx, local, llen, (uint16_t)(port + 1),
			&fd[RELAY_SK_RTCP]);
	if (err) {
		close(fd[RELAY_SK_RTP]);
		fd[RELAY_SK_RTP] = -1;
	}
	return err;
}

int
relay_ports_take(struct relay_ctx *ctx, enum relay_leg leg,
		 const union relay_sa *local, socklen_t local_len,
		 uint16_t *portp, int fd[RELAY_SK_COUNT])
{
	unsigned tries;
	uint16_t pair, port;
	int err = ENOSPC;

	if (!local) {
		local = &ctx->local[leg];
		local_len = ctx->local_len[leg];
	}
	for (tries = 0; tries < ctx->npairs; tries++) {
		if (!ring_pop(ctx, &pair))
			return ENOSPC;
		port = (uint16_t)(ctx->port_base + 2u * pair);
		err = pair_bind(ctx, local, local_len, port, fd);
		if (!err) {
			*portp = port;
			return 0;
		}
		ring_push(ctx, pair);
		if (err != EADDRINUSE)
			return err;
		LOG_DBG("port %u in use by someone else: skipped", port);
	}
	return err == EADDRINUSE ? ENOSPC : err;
}

void
relay_ports_give(struct relay_ctx *ctx, uint16_t port)
{
	if (port < ctx->port_base || port >= ctx->port_base + 2u * ctx->npairs)
		return;
	ring_push(ctx, (uint16_t)((port - ctx->port_base) / 2));
}

/* --- Context ----------------------------------------------------------- */

static void
ctx_destroy(void *obj)
{
	struct relay_ctx *ctx = obj;
	unsigned i;

	for (i = 0; ctx->w && i < ctx->nw; i++)
		relay_worker_stop(&ctx->w[i]);
	free(ctx->w);
	if (ctx->ring) {
		pthread_mutex_destroy(&ctx->port_mtx);
		free(ctx->ring);
	}
}

static void
conf_defaults(struct relay_conf *c)
{
	long n;

	if (!c->port_min && !c->port_max) {
		c->port_min = 30000;
		c->port_max = 39999;
	}
	if (!c->nworkers) {
		n = sysconf(_SC_NPROCESSORS_ONLN);
		c->nworkers = n > 0 ? (unsigned)n : 1;
	}
	if (!c->latch_window_ms)
		c->latch_window_ms = 10000;
	if (!c->relatch_idle_ms)
		c->relatch_idle_ms = 1000;
	if (!c->rtp_timeout_ms)
		c->rtp_timeout_ms = 30000;
	if (!c->batch)
		c->batch = 32;
}

static int
ctx_addrs(struct relay_ctx *ctx)
{
	unsigned l;

	for (l = 0; l < RELAY_LEG_COUNT; l++) {
		const char *ip = ctx->conf.local_ip[l];

		if (!ip)
			ip = "127.0.0.1";
		if (strlen(ip) >= RELAY_IP_LEN ||
		    relay_sa_set(&ctx->local[l], &ctx->local_len[l], ip, 0))
			return EINVAL;
		strcpy(ctx->ip[l], ip);
		ctx->conf.local_ip[l] = ctx->ip[l];
	}
	return 0;
}

int
relay_ctx_alloc(struct relay_ctx **ctxp, const struct relay_conf *conf)
{
	struct relay_ctx *ctx;
	unsigned i;
	int err;

	if (!ctxp || !conf)
		return EINVAL;
	ctx = mem_zalloc(sizeof(*ctx), ctx_destroy);
	if (!ctx)
		return ENOMEM;
	ctx->conf = *conf;
	conf_defaults(&ctx->conf);
	err = EINVAL;
	if (ctx->conf.batch > RELAY_BATCH_MAX || ctx->conf.nworkers > 256 ||
	    ctx_addrs(ctx))
		goto out;
	err = ports_init(ctx);
	if (err)
		goto out;
	err = ENOMEM;
	ctx->w = calloc(ctx->conf.nworkers, sizeof(*ctx->w));
	if (!ctx->w)
		goto out;
	for (i = 0, err = 0; i < ctx->conf.nworkers && !err; i++) {
		ctx->w[i].ctx = ctx;
		ctx->w[i].idx = i;
		ctx->nw = i + 1;
		err = relay_worker_start(&ctx->w[i]);
	}
out:
	if (err)
		ctx = mem_deref(ctx);
	*ctxp = ctx;
	return err;
}

const char *
relay_ctx_local_ip(const struct relay_ctx *ctx, enum relay_leg leg)
{
	return leg < RELAY_LEG_COUNT ? ctx->ip[leg] : NULL;
}

void
relay_ctx_stats(struct relay_ctx *ctx, struct relay_ctx_stats *st)
{
	unsigned i;

	memset(st, 0, sizeof(*st));
	st->nworkers = ctx->nw;
	st->sessions = atomic_load(&ctx->sessions);
	pthread_mutex_lock(&ctx->port_mtx);
	st->ports_used = ctx->npairs - ctx->nfree;
	pthread_mutex_unlock(&ctx->port_mtx);
	st->ports_total = ctx->npairs;
	for (i = 0; i < ctx->nw; i++) {
		const struct relay_wtotals *t = &ctx->w[i].tot;

		st->cmds += RELAY_GET(ctx->w[i].ncmds);
		st->packets += RELAY_GET(t->packets);
		st->forwarded += RELAY_GET(t->forwarded);
		st->drop_source += RELAY_GET(t->drop_source);
		st->drop_noremote += RELAY_GET(t->drop_noremote);
		st->drop_hold += RELAY_GET(t->drop_hold);
		st->drop_send += RELAY_GET(t->drop_send);
		st->drop_big += RELAY_GET(t->drop_big);
		st->drop_srtp += RELAY_GET(t->drop_srtp);
	}
}

int
relay_ctx_worker_cpu(const struct relay_ctx *ctx, unsigned i, uint64_t *ns)
{
	struct timespec ts;
	clockid_t cid;
	int err;

	if (i >= ctx->nw || !ctx->w[i].started)
		return EINVAL;
	err = pthread_getcpuclockid(ctx->w[i].th, &cid);
	if (err)
		return err;
	if (clock_gettime(cid, &ts))
		return errno;
	*ns = (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
	return 0;
}

void
relay_ctx_sync(struct relay_ctx *ctx)
{
	struct relay_sync sync;
	unsigned i;

	pthread_mutex_init(&sync.mtx, NULL);
	pthread_cond_init(&sync.cond, NULL);
	sync.pending = 0;
	for (i = 0; i < ctx->nw; i++) {
		struct relay_cmd *cmd = calloc(1, sizeof(*cmd));

		if (!cmd)
			continue;
		cmd->type = RELAY_CMD_SYNC;
		cmd->sync = &sync;
		pthread_mutex_lock(&sync.mtx);
		sync.pending++;
		pthread_mutex_unlock(&sync.mtx);
		relay_worker_post(&ctx->w[i], cmd);
	}
	pthread_mutex_lock(&sync.mtx);
	while (sync.pending)
		pthread_cond_wait(&sync.cond, &sync.mtx);
	pthread_mutex_unlock(&sync.mtx);
	pthread_cond_destroy(&sync.cond);
	pthread_mutex_destroy(&sync.mtx);
}
