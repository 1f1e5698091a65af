/*
 * SIP over TCP and TLS (RFC 3261 §18, §18.3 framing, §26.2; RFC 5626
 * §3.5.1 keep-alive): listener, non-blocking connect with a timeout, a
 * connection table keyed by remote address, protocol and (TLS) verified
 * host name, handshake and idle timeouts, and limits. TLS connections
 * run the same code with the byte I/O swapped for tp_tls.c's wrappers
 * and a handshake state between "connected" and "open".
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
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "log.h"
#include "mem.h"
#include "tp_int.h"

#define TP_ACCEPT_BATCH 16

/* ---- connection table --------------------------------------------- */

/* The bucket of a peer address: SipHash-2-4 of address and port under
   the ctx's random key (peers choose their source ports, and with IPv6
   much of their address: unkeyed, they could pile connections into one
   bucket). */
static unsigned
addr_hash(const struct tp_ctx *ctx, const struct sockaddr *sa)
{
	unsigned char k[18];
	uint16_t port = tp_addr_port(sa);
	size_t n;

	if (sa->sa_family == AF_INET) {
		n = 4;
		memcpy(k, &((const struct sockaddr_in *)sa)->sin_addr, n);
	} else {
		n = 16;
		memcpy(k, &((const struct sockaddr_in6 *)sa)->sin6_addr, n);
	}
	memcpy(k + n, &port, 2);
	return (unsigned)(stag_siphash(&ctx->hkey, k, n + 2) % TP_HTAB_SIZE);
}

/* The id table: ids are ours (a counter), so the low bits spread them. */
static unsigned
id_bucket(uint64_t id)
{
	return (unsigned)(id % TP_HTAB_SIZE);
}

static void
table_link(struct tp_ctx *ctx, struct tp_conn *c)
{
	unsigned ib;

	c->id = ((uint64_t)(ctx->conf.conn_id_tag & 0xff) << 56) |
		(++ctx->conn_seq & ((1ULL << 56) - 1));
	ib = id_bucket(c->id);
	c->iprev = NULL;
	c->inext = ctx->itab[ib];
	if (c->inext)
		c->inext->iprev = c;
	ctx->itab[ib] = c;
	c->bucket = addr_hash(ctx, (struct sockaddr *)&c->peer);
	c->hprev = NULL;
	c->hnext = ctx->htab[c->bucket];
	if (c->hnext)
		c->hnext->hprev = c;
	ctx->htab[c->bucket] = c;
}

static void
table_unlink(struct tp_ctx *ctx, struct tp_conn *c)
{
	if (c->iprev)
		c->iprev->inext = c->inext;
	else
		ctx->itab[id_bucket(c->id)] = c->inext;
	if (c->inext)
		c->inext->iprev = c->iprev;
	c->iprev = c->inext = NULL;
	if (c->hprev)
		c->hprev->hnext = c->hnext;
	else
		ctx->htab[c->bucket] = c->hnext;
	if (c->hnext)
		c->hnext->hprev = c->hprev;
	c->hprev = c->hnext = NULL;
}

static struct tp_conn *
table_find(struct tp_ctx *ctx, enum tp_proto proto, const struct sockaddr *dst,
	   const char *host)
{
	struct tp_conn *c;

	for (c = ctx->htab[addr_hash(ctx, dst)]; c; c = c->hnext)
		if (c->proto == proto &&
		    tp_addr_eq((struct sockaddr *)&c->peer, dst) &&
		    !strcmp(c->host, host))
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
	tp_tls_conn_stop(c, false);
	if (c->rev)
		event_free(c->rev);
	if (c->wev)
		event_free(c->wev);
	if (c->tmr)
		event_free(c->tmr);
	if (c->mtmr)
		event_free(c->mtmr);
	c->rev = c->wev = c->tmr = c->mtmr = NULL;
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
void
tp_conn_close(struct tp_conn *c, int err)
{
	struct tp_ctx *ctx = c->ctx;
	bool lost;

	if (!ctx)
		return;
	lost = c->connecting || (c->out && c->handshaking) ||
	       (c->outq && evbuffer_get_length(c->outq));
	tp_tls_conn_stop(c, err == 0);
	tp_conn_unaccount(c);
	table_unlink(ctx, c);
	if (c->out)
		ctx->nconn_out--;
	else
		ctx->nconn_in--;
	conn_release_io(c);
	c->ctx = NULL;
	c->connecting = c->handshaking = false;
	LOG_DBG("%s connection to port %u closed (%s)", tp_proto_name(c->proto),
		tp_addr_port((struct sockaddr *)&c->peer),
		err ? strerror(err) : "ok");
	if (err && lost && ctx->errh)
		ctx->errh(c->proto, (struct sockaddr *)&c->peer, c->peerlen,
			  err, ctx->arg);
	mem_deref(c);
}

bool
tp_conn_open(const struct tp_conn *conn)
{
	return conn && conn->ctx && conn->fd >= 0;
}

uint64_t
tp_conn_id(const struct tp_conn *conn)
{
	return conn ? conn->id : 0;
}

unsigned
tp_conn_id_tag(uint64_t id)
{
	return (unsigned)(id >> 56);
}

struct tp_conn *
tp_conn_by_id(struct tp_ctx *ctx, uint64_t id)
{
	struct tp_conn *c;

	if (!ctx || !id)
		return NULL;
	for (c = ctx->itab[id_bucket(id)]; c; c = c->inext)
		if (c->id == id)
			return tp_conn_open(c) ? c : NULL;
	return NULL;
}

static void
conn_timer(struct tp_conn *c, unsigned ms)
{
	struct timeval tv = {ms / 1000, (ms % 1000) * 1000};

	if (ms)
		event_add(c->tmr, &tv);
}

/* Activity: push the idle timeout back (not while the handshake timer
   runs on the same event). */
static void
conn_touch(struct tp_conn *c)
{
	if (!c->handshaking)
		conn_timer(c, c->ctx->conf.idle_ms);
}

/* ---- output ------------------------------------------------------- */

/* send() or SSL_write(): 0 with *n bytes taken, EAGAIN, or an errno. */
static int
conn_send(struct tp_conn *c, const char *p, size_t len, size_t *n)
{
	ssize_t r;

	if (c->ssl)
		return tp_tls_write(c, p, len, n);
	do
		r = send(c->fd, p, len, MSG_DONTWAIT | MSG_NOSIGNAL);
	while (r < 0 && errno == EINTR);
	if (r >= 0) {
		*n = (size_t)r;
		return 0;
	}
	return (errno == EAGAIN || errno == EWOULDBLOCK) ? EAGAIN : errno;
}

/* Write what the socket takes; re-arm the write event for the rest
   (unless TLS waits to read first: then conn_readable() flushes).
   Returns 0 or the send() errno (the caller closes). */
static int
conn_flush(struct tp_conn *c)
{
	struct evbuffer_iovec v;
	size_t n;
	bool wrote = false;
	int err;

	if (c->connecting || c->handshaking)
		return 0;
	while (evbuffer_peek(c->outq, -1, NULL, &v, 1) > 0 && v.iov_len) {
		err = conn_send(c, v.iov_base, v.iov_len, &n);
		if (err == EAGAIN)
			break;
		if (err)
			return err;
		evbuffer_drain(c->outq, n);
		wrote = true;
	}
	if (evbuffer_get_length(c->outq) && !c->wr_wants_r)
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
	return conn_flush(c);
}

/*
 * The socket is connected (accepted, or our connect finished): read
 * events start; TCP is open and its idle timer runs; TLS attaches an SSL
 * and enters the handshake under the handshake timer (an outgoing one
 * sends its ClientHello from the write event). Returns 0 or an errno
 * (the caller closes).
 */
static int
conn_up(struct tp_conn *c)
{
	const struct tp_conf *cf = &c->ctx->conf;
	int err;

	event_add(c->rev, NULL);
	if (c->proto != TP_TLS) {
		conn_touch(c);
		return 0;
	}
	err = tp_tls_conn_start(c);
	if (err)
		return err;
	c->handshaking = true;
	conn_timer(c,
		   cf->tls.handshake_ms ? cf->tls.handshake_ms : cf->idle_ms);
	if (c->out)
		event_add(c->wev, NULL);
	return 0;
}

static void conn_input(struct tp_conn *c);

/* One TLS handshake step; when done, the idle timer replaces the
   handshake timer and queued bytes go out. May close c. */
static void
conn_handshake(struct tp_conn *c)
{
	int err = tp_tls_handshake(c);

	if (err == EAGAIN) {
		if (c->rd_wants_w)
			event_add(c->wev, NULL);
		return;
	}
	if (err) {
		tp_conn_close(c, err);
		return;
	}
	c->handshaking = false;
	conn_touch(c);
	err = conn_flush(c);
	if (err) {
		tp_conn_close(c, err);
		return;
	}
	if (tp_tls_pending(c))
		conn_input(c); /* records read along with the handshake */
}

/* The connect finished (or timed out), or the socket can take more. */
static void
conn_writable(evutil_socket_t fd, short what, void *arg)
{
	struct tp_conn *c = arg;
	int soerr = 0, err;
	socklen_t sl = sizeof(soerr);

	mem_ref(c);
	if (c->connecting) {
		if (what & EV_TIMEOUT)
			soerr = ETIMEDOUT;
		else if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &sl))
			soerr = errno;
		if (soerr) {
			c->ctx->stats.tcp_conn_failed++;
			tp_conn_close(c, soerr);
			goto out;
		}
		c->connecting = false;
		c->locallen = sizeof(c->local);
		getsockname(fd, (struct sockaddr *)&c->local, &c->locallen);
		err = conn_up(c);
		if (err) {
			tp_conn_close(c, err);
			goto out;
		}
	}
	if (c->handshaking) {
		conn_handshake(c);
		goto out;
	}
	if (c->rd_wants_w) {
		conn_input(c); /* SSL_read() was waiting for this */
		if (!c->ctx)
			goto out;
	}
	err = conn_flush(c);
	if (err)
		tp_conn_close(c, err);
out:
	mem_deref(c);
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
	/* one pong per read, however many pings it held: a pong is a
	   send() (or a TLS record), and a peer must not get one for every
	   four bytes it sends */
	if (!c->ponged) {
		c->ponged = true;
		if (conn_write(c, "\r\n", 2))
			tp_conn_close(c, 0);
	}
	return 4;
}

static void
conn_deliver(struct tp_conn *c, const char *p, size_t len)
{
	struct tp_recv rx;

	memset(&rx, 0, sizeof(rx));
	rx.proto = c->proto;
	rx.src = c->peer;
	rx.srclen = c->peerlen;
	rx.local = c->local;
	rx.locallen = c->locallen;
	rx.conn = c;
	rx.conn_id = c->id;
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

	c->ponged = false;
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
		rc = sip_msg_frame_r(p, n, &c->ctx->conf.lim, &c->fst, &skip,
				     &mlen, &perr);
		if (rc == EAGAIN) {
			off += skip;
			break;
		}
		if (rc) {
			/* no way to find the next message: close */
			c->ctx->stats.tcp_bad_stream++;
			tp_conn_close(c, EPROTO);
			return;
		}
		conn_deliver(c, p + skip, mlen);
		off += skip + mlen;
	}
	if (!c->ctx)
		return;
	memmove(c->rbuf, c->rbuf + off, c->rlen - off);
	c->rlen -= off;
	tp_conn_framed(c, off > 0);
}

/* recv() or SSL_read() into rbuf: 0 with *n bytes, EAGAIN, ECONNRESET
   at EOF, or an errno. */
static int
conn_recv(struct tp_conn *c, size_t *n)
{
	ssize_t r;

	if (c->ssl)
		return tp_tls_read(c, c->rbuf + c->rlen, c->rcap - c->rlen, n);
	r = recv(c->fd, c->rbuf + c->rlen, c->rcap - c->rlen, MSG_DONTWAIT);
	if (r > 0) {
		*n = (size_t)r;
		return 0;
	}
	if (r == 0)
		return ECONNRESET;
	if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
		return EAGAIN;
	return errno;
}

/*
 * Read and deliver. TCP reads once per event (more bytes raise the
 * event again); TLS reads on while SSL holds decrypted bytes, which no
 * socket event would announce. The caller holds a reference: c may be
 * closed on return.
 */
static void
conn_input(struct tp_conn *c)
{
	size_t n;
	int err;

	while (c->ctx) {
		if (!tp_conn_room(c)) {
			c->ctx->stats.tcp_bad_stream++;
			tp_conn_close(c, ENOBUFS);
			return;
		}
		err = conn_recv(c, &n);
		if (err == EAGAIN) {
			if (c->rd_wants_w)
				event_add(c->wev, NULL);
			return;
		}
		if (err) {
			/* EOF with bytes still queued for the peer: they are
			   lost */
			tp_conn_close(c, err);
			return;
		}
		c->rlen += n;
		conn_touch(c);
		conn_frame(c);
		if (!tp_tls_pending(c))
			return;
	}
}

static void
conn_readable(evutil_socket_t fd, short what, void *arg)
{
	struct tp_conn *c = arg;
	int err;

	mem_ref(c);
	if (c->handshaking) {
		conn_handshake(c);
		goto out;
	}
	conn_input(c);
	if (c->ctx && c->wr_wants_r) {
		err = conn_flush(c); /* SSL_write() was waiting for this */
		if (err)
			tp_conn_close(c, err);
	}
out:
	mem_deref(c);
}

/* The idle timer, or during a TLS handshake the handshake timer. */
static void
conn_idle(evutil_socket_t fd, short what, void *arg)
{
	struct tp_conn *c = arg;
	char peer[80];

	if (c->handshaking) {
		c->ctx->stats.tls_timeouts++;
		tp_addr_str((struct sockaddr *)&c->peer, peer, sizeof(peer));
		if (c->out)
			LOG_WARN("tls to %s (%s): handshake timed out", c->host,
				 peer);
		else
			LOG_INFO("tls from %s: handshake timed out", peer);
	} else {
		c->ctx->stats.tcp_idle++;
	}
	tp_conn_close(c, ETIMEDOUT);
}

/* ---- set-up ------------------------------------------------------- */

/* Wrap a connected (or connecting) socket; takes fd in all cases.
   Returns the connection, linked in the table (which holds the ref). */
static struct tp_conn *
conn_new(struct tp_ctx *ctx, enum tp_proto proto, int fd,
	 const struct sockaddr *peer, socklen_t plen, bool out,
	 const char *host)
{
	struct tp_conn *c = mem_zalloc(sizeof(*c), conn_destroy);
	int on = 1;

	if (!c) {
		close(fd);
		return NULL;
	}
	c->fd = fd;
	c->proto = proto;
	c->out = out;
	snprintf(c->host, sizeof(c->host), "%s", host);
	memcpy(&c->peer, peer, plen);
	c->peerlen = plen;
	c->locallen = sizeof(c->local);
	getsockname(fd, (struct sockaddr *)&c->local, &c->locallen);
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof(on));
	c->rev = event_new(ctx->base, fd, EV_READ | EV_PERSIST, conn_readable,
			   c);
	c->wev = event_new(ctx->base, fd, EV_WRITE, conn_writable, c);
	c->tmr = evtimer_new(ctx->base, conn_idle, c);
	c->mtmr = evtimer_new(ctx->base, tp_conn_msg_timeout, c);
	c->outq = evbuffer_new();
	if (!c->rev || !c->wev || !c->tmr || !c->mtmr || !c->outq) {
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
	int i, cfd, err;

	for (i = 0; i < TP_ACCEPT_BATCH; i++) {
		plen = sizeof(peer);
		cfd = accept4(fd, (struct sockaddr *)&peer, &plen,
			      SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (cfd < 0) {
			err = errno;
			if (!tp_accept_backoff(ls, err) && err != EAGAIN &&
			    err != EWOULDBLOCK && err != EINTR &&
			    err != ECONNABORTED)
				LOG_WARN("accept: %s", strerror(err));
			return;
		}
		tp_accept_ok(ls);
		if (ctx->nconn_in >= ctx->conf.max_conns) {
			ctx->stats.tcp_refused++;
			close(cfd);
			continue;
		}
		c = conn_new(ctx, ls->proto, cfd, (struct sockaddr *)&peer,
			     plen, false, "");
		if (!c)
			continue;
		ctx->stats.tcp_accepted++;
		if (conn_up(c))
			tp_conn_close(c, 0);
	}
}

int
tp_tcp_listen(struct tp_ctx *ctx, struct tp_lsock *ls,
	      const struct sockaddr *addr, socklen_t len)
{
	return tp_lsock_open(ctx, ls, SOCK_STREAM, addr, len, tcp_accept);
}

/* Start a non-blocking connect to dst; the connect timeout runs on the
   write event. */
static int
conn_connect(struct tp_ctx *ctx, enum tp_proto proto,
	     const struct sockaddr *dst, socklen_t dlen, const char *host,
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
	c = conn_new(ctx, proto, fd, dst, dlen, true, host);
	if (!c)
		return ENOMEM;
	c->connecting = rc != 0;
	if (c->connecting) {
		event_add(c->wev, ctx->conf.connect_ms ? &tv : NULL);
	} else {
		rc = conn_up(c);
		if (rc) {
			tp_conn_close(c, 0);
			return rc;
		}
	}
	*cp = c;
	return 0;
}

/* The table key's name: for TLS the host to verify (its IP when none
   was given); "" for TCP. Returns 0 or EINVAL. */
static int
conn_name(enum tp_proto proto, const struct sockaddr *dst, const char *host,
	  char *name)
{
	char ip[INET6_ADDRSTRLEN];
	const void *a =
		dst->sa_family == AF_INET6
			? (const void *)&((const struct sockaddr_in6 *)dst)
				  ->sin6_addr
			: (const void *)&((const struct sockaddr_in *)dst)
				  ->sin_addr;

	name[0] = '\0';
	if (proto != TP_TLS)
		return 0;
	if (host && (!*host || strlen(host) >= TP_HOST_MAX))
		return EINVAL;
	if (!host) {
		if (!inet_ntop(dst->sa_family, a, ip, sizeof(ip)))
			return EAFNOSUPPORT;
		host = ip;
	}
	snprintf(name, TP_HOST_MAX, "%s", host);
	return 0;
}

int
tp_tcp_send(struct tp_ctx *ctx, enum tp_proto proto, struct tp_conn *conn,
	    const struct sockaddr *dst, socklen_t dstlen, const char *host,
	    const char *buf, size_t len)
{
	char name[TP_HOST_MAX];
	struct tp_conn *c = NULL;
	int err;

	if (conn && tp_conn_open(conn) && conn->ctx == ctx) {
		c = conn;
	} else if (!dst) {
		return conn ? ENOTCONN : EINVAL;
	} else {
		if (dst->sa_family != AF_INET && dst->sa_family != AF_INET6)
			return EAFNOSUPPORT;
		err = conn_name(proto, dst, host, name);
		if (err)
			return err;
		c = table_find(ctx, proto, dst, name);
	}
	if (!c) {
		err = conn_connect(ctx, proto, dst, dstlen, name, &c);
		if (err)
			return err;
	}
	err = conn_write(c, buf, len);
	if (err && err != ENOBUFS)
		tp_conn_close(c, err);
	return err;
}

void
tp_tcp_close_all(struct tp_ctx *ctx)
{
	unsigned b;

	for (b = 0; b < TP_HTAB_SIZE; b++)
		while (ctx->htab[b])
			tp_conn_close(ctx->htab[b], 0);
}
