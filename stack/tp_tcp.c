/*
 * SIP over TCP (RFC 3261 §18, §18.3 framing; RFC 5626 §3.5.1 keep-alive):
 * listener, non-blocking connect with a timeout, a connection table keyed
 * by remote address, idle timeout and limits.
 *
 * Raw events rather than bufferevents: the parser is zero-copy and needs
 * each message contiguous, and we want an exact cap on the bytes held for
 * an incomplete message. A bufferevent's evbuffer would be pulled up (a
 * copy) anyway and its watermarks do not express "max_msg per message".
 * So each connection reads into one flat buffer that grows up to max_msg
 * (plus room for a ping) and frames in place; output goes through an
 * evbuffer (capped by max_outq) written with send(MSG_NOSIGNAL), since
 * evbuffer_write()'s writev() could raise SIGPIPE.
 */
#define LOG_MODULE "tp"

#include <errno.h>
#include <event2/buffer.h>
#include <event2/event.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "log.h"
#include "mem.h"
#include "tp_int.h"

#define TP_RBUF_MIN 4096
#define TP_ACCEPT_BATCH 16

static void conn_close(struct tp_conn *c, int err);

/* ---- connection table --------------------------------------------- */

static unsigned
addr_hash(const struct sockaddr *sa)
{
	const unsigned char *p;
	size_t n, i;
	uint32_t h = 2166136261u; /* FNV-1a */

	if (sa->sa_family == AF_INET) {
		p = (const void *)&((const struct sockaddr_in *)sa)->sin_addr;
		n = 4;
	} else {
		p = (const void *)&((const struct sockaddr_in6 *)sa)->sin6_addr;
		n = 16;
	}
	for (i = 0; i < n; i++)
		h = (h ^ p[i]) * 16777619u;
	h = (h ^ tp_addr_port(sa)) * 16777619u;
	return h % TP_HTAB_SIZE;
}

static void
table_link(struct tp_ctx *ctx, struct tp_conn *c)
{
	c->bucket = addr_hash((struct sockaddr *)&c->peer);
	c->hprev = NULL;
	c->hnext = ctx->htab[c->bucket];
	if (c->hnext)
		c->hnext->hprev = c;
	ctx->htab[c->bucket] = c;
}

static void
table_unlink(struct tp_ctx *ctx, struct tp_conn *c)
{
	if (c->hprev)
		c->hprev->hnext = c->hnext;
	else
		ctx->htab[c->bucket] = c->hnext;
	if (c->hnext)
		c->hnext->hprev = c->hprev;
	c->hprev = c->hnext = NULL;
}

static struct tp_conn *
table_find(struct tp_ctx *ctx, const struct sockaddr *dst)
{
	struct tp_conn *c;

	for (c = ctx->htab[addr_hash(dst)]; c; c = c->hnext)
		if (tp_addr_eq((struct sockaddr *)&c->peer, dst))
			return c;
	return NULL;
}

/* ---- lifetime ----------------------------------------------------- */

static void
conn_destroy(void *arg)
{
	struct tp_conn *c = arg;

	/* closed before the table let go; only the buffers are left */
	free(c->rbuf);
	if (c->outq)
		evbuffer_free(c->outq);
}

/* Release socket and events (idempotent). */
static void
conn_release_io(struct tp_conn *c)
{
	if (c->rev)
		event_free(c->rev);
	if (c->wev)
		event_free(c->wev);
	if (c->tmr)
		event_free(c->tmr);
	c->rev = c->wev = c->tmr = NULL;
	if (c->fd >= 0)
		close(c->fd);
	c->fd = -1;
}

/*
 * Close c now: socket, events and table slot go, and the table's
 * reference is dropped (the memory may go with it: callers that use c
 * afterwards hold their own reference). err != 0 is reported to the
 * tp_err_h when bytes were lost (still connecting or output queued).
 */
static void
conn_close(struct tp_conn *c, int err)
{
	struct tp_ctx *ctx = c->ctx;
	bool lost;

	if (!ctx)
		return;
	lost = c->connecting || (c->outq && evbuffer_get_length(c->outq));
	table_unlink(ctx, c);
	if (c->out)
		ctx->nconn_out--;
	else
		ctx->nconn_in--;
	conn_release_io(c);
	c->ctx = NULL;
	c->connecting = false;
	LOG_DBG("tcp connection to port %u closed (%s)",
		tp_addr_port((struct sockaddr *)&c->peer),
		err ? strerror(err) : "ok");
	if (err && lost && ctx->errh)
		ctx->errh(TP_TCP, (struct sockaddr *)&c->peer, c->peerlen, err,
			  ctx->arg);
	mem_deref(c);
}

bool
tp_conn_open(const struct tp_conn *conn)
{
	return conn && conn->ctx && conn->fd >= 0;
}

/* Activity: push the idle timeout back. */
static void
conn_touch(struct tp_conn *c)
{
	struct timeval tv = {c->ctx->conf.idle_ms / 1000,
			     (c->ctx->conf.idle_ms % 1000) * 1000};

	if (c->ctx->conf.idle_ms)
		event_add(c->tmr, &tv);
}

/* ---- output ------------------------------------------------------- */

/* Write what the socket takes; re-arm the write event for the rest.
   Returns 0 or the send() errno (the caller closes). */
static int
conn_flush(struct tp_conn *c)
{
	struct evbuffer_iovec v;
	ssize_t n;
	bool wrote = false;

	while (evbuffer_peek(c->outq, -1, NULL, &v, 1) > 0 && v.iov_len) {
		n = send(c->fd, v.iov_base, v.iov_len,
			 MSG_DONTWAIT | MSG_NOSIGNAL);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			break;
		if (n < 0)
			return errno;
		evbuffer_drain(c->outq, (size_t)n);
		wrote = true;
	}
	if (evbuffer_get_length(c->outq))
		event_add(c->wev, NULL);
	if (wrote)
		conn_touch(c);
	return 0;
}

static int
conn_write(struct tp_conn *c, const char *buf, size_t len)
{
	size_t queued = evbuffer_get_length(c->outq);

	if (queued + len > c->ctx->conf.max_outq)
		return ENOBUFS; /* slow reader: do not grow without bound */
	if (evbuffer_add(c->outq, buf, len))
		return ENOMEM;
	return c->connecting ? 0 : conn_flush(c);
}

/* The connect finished (or timed out), or the socket can take more. */
static void
conn_writable(evutil_socket_t fd, short what, void *arg)
{
	struct tp_conn *c = arg;
	int soerr = 0, err;
	socklen_t sl = sizeof(soerr);

	if (c->connecting) {
		if (what & EV_TIMEOUT)
			soerr = ETIMEDOUT;
		else if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &sl))
			soerr = errno;
		if (soerr) {
			c->ctx->stats.tcp_conn_failed++;
			conn_close(c, soerr);
			return;
		}
		c->connecting = false;
		c->locallen = sizeof(c->local);
		getsockname(fd, (struct sockaddr *)&c->local, &c->locallen);
		event_add(c->rev, NULL);
		conn_touch(c);
	}
	err = conn_flush(c);
	if (err)
		conn_close(c, err);
}

/* ---- input -------------------------------------------------------- */

/*
 * RFC 5626 §3.5.1 keep-alives at p: returns the bytes consumed (4 for a
 * double-CRLF ping, answered with a CRLF pong; 2 for a lone CRLF), 0 when
 * p is not a keep-alive, -1 when more bytes are needed to tell.
 */
static int
conn_keepalive(struct tp_conn *c, const char *p, size_t n)
{
	if (p[0] != '\r')
		return 0;
	if (n < 2)
		return -1;
	if (p[1] != '\n')
		return 0;
	c->ctx->stats.rx_keepalive++;
	if (n < 4)
		return (n == 3 && p[2] != '\r') ? 2 : -1;
	if (p[2] != '\r' || p[3] != '\n')
		return 2;
	c->ctx->stats.tcp_pings++;
	if (conn_write(c, "\r\n", 2))
		conn_close(c, 0);
	return 4;
}

static void
conn_deliver(struct tp_conn *c, const char *p, size_t len)
{
	struct tp_recv rx;

	memset(&rx, 0, sizeof(rx));
	rx.proto = TP_TCP;
	rx.src = c->peer;
	rx.srclen = c->peerlen;
	rx.local = c->local;
	rx.locallen = c->locallen;
	rx.conn = c;
	rx.lsock = TP_LSOCK_MAX;
	tp_input(c->ctx, p, len, SIP_FRAMING_STREAM, &rx);
}

/*
 * Frame and deliver every complete message in rbuf (§18.3), keep the
 * rest. The caller holds a reference: the receive callback may close c
 * (then the loop stops; rbuf lives until the last reference).
 */
static void
conn_frame(struct tp_conn *c)
{
	struct sip_perr perr;
	size_t off = 0, skip, mlen, n;
	const char *p;
	int rc;

	while (c->ctx && off < c->rlen) {
		p = c->rbuf + off;
		n = c->rlen - off;
		rc = conn_keepalive(c, p, n);
		if (rc < 0)
			break;
		if (rc > 0) {
			off += (size_t)rc;
			continue;
		}
		rc = sip_msg_frame(p, n, &c->ctx->conf.lim, &skip, &mlen,
				   &perr);
		if (rc == EAGAIN) {
			off += skip;
			break;
		}
		if (rc) {
			/* no way to find the next message: close */
			c->ctx->stats.tcp_bad_stream++;
			conn_close(c, EPROTO);
			return;
		}
		conn_deliver(c, p + skip, mlen);
		off += skip + mlen;
	}
	if (!c->ctx)
		return;
	memmove(c->rbuf, c->rbuf + off, c->rlen - off);
	c->rlen -= off;
}

/* Make room to read; false when the incomplete message already holds
   all it may (max_msg, plus 3 bytes of a partial keep-alive). */
static bool
conn_room(struct tp_conn *c)
{
	size_t max =
		c->ctx->conf.lim.max_msg ? c->ctx->conf.lim.max_msg : 65536;
	size_t cap = c->rcap ? 2 * c->rcap : TP_RBUF_MIN;
	char *nb;

	max += 4;
	if (c->rlen < c->rcap)
		return true;
	if (c->rcap >= max)
		return false;
	if (cap > max)
		cap = max;
	nb = realloc(c->rbuf, cap);
	if (!nb)
		return false;
	c->rbuf = nb;
	c->rcap = cap;
	return true;
}

static void
conn_readable(evutil_socket_t fd, short what, void *arg)
{
	struct tp_conn *c = arg;
	ssize_t n;

	if (!conn_room(c)) {
		c->ctx->stats.tcp_bad_stream++;
		conn_close(c, ENOBUFS);
		return;
	}
	n = recv(fd, c->rbuf + c->rlen, c->rcap - c->rlen, MSG_DONTWAIT);
	if (n < 0 &&
	    (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
		return;
	if (n <= 0) {
		/* EOF with bytes still queued for the peer: they are lost */
		conn_close(c, n == 0 ? ECONNRESET : errno);
		return;
	}
	c->rlen += (size_t)n;
	conn_touch(c);
	mem_ref(c);
	conn_frame(c);
	mem_deref(c);
}

static void
conn_idle(evutil_socket_t fd, short what, void *arg)
{
	struct tp_conn *c = arg;

	c->ctx->stats.tcp_idle++;
	conn_close(c, ETIMEDOUT);
}

/* ---- set-up ------------------------------------------------------- */

/* Wrap a connected (or connecting) socket; takes fd in all cases.
   Returns the connection, linked in the table (which holds the ref). */
static struct tp_conn *
conn_new(struct tp_ctx *ctx, int fd, const struct sockaddr *peer,
	 socklen_t plen, bool out)
{
	struct tp_conn *c = mem_zalloc(sizeof(*c), conn_destroy);
	int on = 1;

	if (!c) {
		close(fd);
		return NULL;
	}
	c->fd = fd;
	c->out = out;
	memcpy(&c->peer, peer, plen);
	c->peerlen = plen;
	c->locallen = sizeof(c->local);
	getsockname(fd, (struct sockaddr *)&c->local, &c->locallen);
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof(on));
	c->rev = event_new(ctx->base, fd, EV_READ | EV_PERSIST, conn_readable,
			   c);
	c->wev = event_new(ctx->base, fd, EV_WRITE, conn_writable, c);
	c->tmr = evtimer_new(ctx->base, conn_idle, c);
	c->outq = evbuffer_new();
	if (!c->rev || !c->wev || !c->tmr || !c->outq) {
		conn_release_io(c);
		mem_deref(c);
		return NULL;
	}
	c->ctx = ctx;
	table_link(ctx, c);
	if (out)
		ctx->nconn_out++;
	else
		ctx->nconn_in++;
	return c;
}

static void
tcp_accept(evutil_socket_t fd, short what, void *arg)
{
	struct tp_lsock *ls = arg;
	struct tp_ctx *ctx = ls->ctx;
	struct sockaddr_storage peer;
	struct tp_conn *c;
	socklen_t plen;
	int i, cfd;

	for (i = 0; i < TP_ACCEPT_BATCH; i++) {
		plen = sizeof(peer);
		cfd = accept4(fd, (struct sockaddr *)&peer, &plen,
			      SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (cfd < 0) {
			if (errno != EAGAIN && errno != EWOULDBLOCK &&
			    errno != EINTR && errno != ECONNABORTED)
				LOG_WARN("accept: %s", strerror(errno));
			return;
		}
		if (ctx->nconn_in >= ctx->conf.max_conns) {
			ctx->stats.tcp_refused++;
			close(cfd);
			continue;
		}
		c = conn_new(ctx, cfd, (struct sockaddr *)&peer, plen, false);
		if (!c)
			continue;
		ctx->stats.tcp_accepted++;
		event_add(c->rev, NULL);
		conn_touch(c);
	}
}

int
tp_tcp_listen(struct tp_ctx *ctx, struct tp_lsock *ls,
	      const struct sockaddr *addr, socklen_t len)
{
	int fd, on = 1, err;

	fd = socket(addr->sa_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
		    0);
	if (fd < 0)
		return errno;
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on)) ||
	    setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &on, sizeof(on)) ||
	    (addr->sa_family == AF_INET6 &&
	     setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &on, sizeof(on))))
		goto fail;
	if (bind(fd, addr, len) || listen(fd, 1024))
		goto fail;
	ls->len = sizeof(ls->addr);
	if (getsockname(fd, (struct sockaddr *)&ls->addr, &ls->len))
		goto fail;
	ls->ev = event_new(ctx->base, fd, EV_READ | EV_PERSIST, tcp_accept, ls);
	if (!ls->ev || event_add(ls->ev, NULL)) {
		errno = ENOMEM;
		goto fail;
	}
	ls->fd = fd;
	return 0;
fail:
	err = errno;
	if (ls->ev)
		event_free(ls->ev);
	ls->ev = NULL;
	close(fd);
	return err;
}

/* Start a non-blocking connect to dst; the connect timeout runs on the
   write event. */
static int
conn_connect(struct tp_ctx *ctx, const struct sockaddr *dst, socklen_t dlen,
	     struct tp_conn **cp)
{
	struct timeval tv = {ctx->conf.connect_ms / 1000,
			     (ctx->conf.connect_ms % 1000) * 1000};
	struct tp_conn *c;
	int fd, rc;

	if (dst->sa_family != AF_INET && dst->sa_family != AF_INET6)
		return EAFNOSUPPORT;
	if (ctx->nconn_out >= ctx->conf.max_out_conns)
		return ENOBUFS;
	fd = socket(dst->sa_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
		    0);
	if (fd < 0)
		return errno;
	rc = connect(fd, dst, dlen);
	if (rc && errno != EINPROGRESS) {
		rc = errno;
		close(fd);
		return rc;
	}
	c = conn_new(ctx, fd, dst, dlen, true);
	if (!c)
		return ENOMEM;
	c->connecting = rc != 0;
	if (c->connecting) {
		event_add(c->wev, ctx->conf.connect_ms ? &tv : NULL);
	} else {
		event_add(c->rev, NULL);
		conn_touch(c);
	}
	*cp = c;
	return 0;
}

int
tp_tcp_send(struct tp_ctx *ctx, struct tp_conn *conn,
	    const struct sockaddr *dst, socklen_t dstlen, const char *buf,
	    size_t len)
{
	struct tp_conn *c = NULL;
	int err;

	if (conn && tp_conn_open(conn) && conn->ctx == ctx)
		c = conn;
	else if (!dst)
		return conn ? ENOTCONN : EINVAL;
	else
		c = table_find(ctx, dst);
	if (!c) {
		err = conn_connect(ctx, dst, dstlen, &c);
		if (err)
			return err;
	}
	err = conn_write(c, buf, len);
	if (err && err != ENOBUFS)
		conn_close(c, err);
	return err;
}

void
tp_tcp_close_all(struct tp_ctx *ctx)
{
	unsigned b;

	for (b = 0; b < TP_HTAB_SIZE; b++)
		while (ctx->htab[b])
			conn_close(ctx->htab[b], 0);
}
