/*
 * Limits that keep hostile TCP and TLS peers bounded (RFC 3261 §18.3
 * leaves them to us): a paused listener when accept() runs out of
 * descriptors, receive buffers that grow only up to max_msg and are
 * accounted per context, and a deadline per incomplete message, counted
 * from its first byte, so a peer trickling one byte a second (which
 * keeps the idle timer from ever firing) still loses its connection.
 */
#define LOG_MODULE "tp"

#include <errno.h>
#include <event2/event.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "tp_int.h"

static void
accept_resume(evutil_socket_t fd, short what, void *arg)
{
	struct tp_lsock *ls = arg;

	(void)fd;
	(void)what;
	if (ls->ev)
		event_add(ls->ev, NULL);
}

/*
 * Out of descriptors (or kernel memory), accept() leaves the connection
 * in the backlog and the level-triggered listener fires again at once: a
 * busy loop that starves every other connection. Pause the listener for
 * accept_backoff_ms instead; the backlog waits (and the kernel drops
 * what overflows it). Other errors are the caller's.
 */
bool
tp_accept_backoff(struct tp_lsock *ls, int err)
{
	struct tp_ctx *ctx = ls->ctx;
	unsigned ms =
		ctx->conf.accept_backoff_ms ? ctx->conf.accept_backoff_ms : 100;
	struct timeval tv = {ms / 1000, (ms % 1000) * 1000};

	if (err != EMFILE && err != ENFILE && err != ENOBUFS && err != ENOMEM)
		return false;
	if (!ls->backoff) {
		ls->backoff = evtimer_new(ctx->base, accept_resume, ls);
		if (!ls->backoff)
			return false; /* spin rather than stop for good */
	}
	ctx->stats.tcp_accept_backoffs++;
	if (!ls->backoff_logged)
		LOG_WARN("accept: %s: listener paused %u ms", strerror(err),
			 ms);
	ls->backoff_logged = true;
	event_del(ls->ev);
	evtimer_add(ls->backoff, &tv);
	return true;
}

void
tp_accept_ok(struct tp_lsock *ls)
{
	ls->backoff_logged = false;
}

static size_t
rbuf_max(const struct tp_ctx *ctx)
{
	/* one message, plus 3 bytes of a partial keep-alive before it */
	return (ctx->conf.lim.max_msg ? ctx->conf.lim.max_msg : 65536) + 4;
}

bool
tp_conn_room(struct tp_conn *c)
{
	struct tp_ctx *ctx = c->ctx;
	size_t max = rbuf_max(ctx);
	size_t cap = c->rcap ? 2 * c->rcap : TP_RBUF_MIN;
	char *nb;

	if (c->rlen < c->rcap)
		return true;
	if (c->rcap >= max)
		return false;
	if (cap > max)
		cap = max;
	nb = realloc(c->rbuf, cap);
	if (!nb)
		return false;
	ctx->stats.tcp_rbuf_bytes += cap - c->rcap;
	c->rbuf = nb;
	c->rcap = cap;
	return true;
}

void
tp_conn_unaccount(struct tp_conn *c)
{
	/* the memory itself lives until the last reference (a message
	   being delivered may point into it) */
	c->ctx->stats.tcp_rbuf_bytes -= c->rcap;
}

void
tp_conn_framed(struct tp_conn *c, bool consumed)
{
	struct tp_ctx *ctx = c->ctx;
	unsigned ms = ctx->conf.msg_timeout_ms;
	struct timeval tv = {ms / 1000, (ms % 1000) * 1000};

	if (c->rlen == 0) {
		event_del(c->mtmr);
		if (c->rcap > TP_RBUF_MIN) {
			/* a big message went through: do not keep its
			   buffer for an idle connection */
			ctx->stats.tcp_rbuf_bytes -= c->rcap;
			free(c->rbuf);
			c->rbuf = NULL;
			c->rcap = 0;
		}
		return;
	}
	/* a new message started when bytes were consumed before it */
	if (ms && (consumed || !evtimer_pending(c->mtmr, NULL)))
		evtimer_add(c->mtmr, &tv);
}

void
tp_conn_msg_timeout(evutil_socket_t fd, short what, void *arg)
{
	struct tp_conn *c = arg;
	char peer[80];

	(void)fd;
	(void)what;
	c->ctx->stats.tcp_msg_timeouts++;
	LOG_INFO("%s from %s: message not whole after %u ms, closing",
		 tp_proto_name(c->proto),
		 tp_addr_str((struct sockaddr *)&c->peer, peer, sizeof(peer)),
		 c->ctx->conf.msg_timeout_ms);
	tp_conn_close(c, ETIMEDOUT);
}
