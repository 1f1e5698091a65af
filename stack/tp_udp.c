/* SIP over UDP (RFC 3261 §18): SO_REUSEPORT sockets, one per worker,
   batched receive with recvmmsg(), batched send with sendmmsg(): what a
   receive batch (or any other event callback) sends is queued per socket
   and leaves in one system call at its end. */
#define LOG_MODULE "tp"

#include <errno.h>
#include <event2/event.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "log.h"
#include "tp_int.h"

/* One recvmmsg() batch: each datagram into its own TP_UDP_SLOT slot of
   ctx->udp_buf, its source into srcs[i]. */
static void
udp_read(evutil_socket_t fd, short what, void *arg)
{
	struct tp_lsock *ls = arg;
	struct tp_ctx *ctx = ls->ctx;
	struct sockaddr_storage srcs[TP_UDP_BATCH_MAX];
	struct mmsghdr mm[TP_UDP_BATCH_MAX];
	struct iovec iov[TP_UDP_BATCH_MAX];
	struct tp_recv rx;
	unsigned i, n = ctx->conf.udp_batch;
	int got;

	memset(mm, 0, sizeof(mm[0]) * n);
	for (i = 0; i < n; i++) {
		iov[i].iov_base = ctx->udp_buf + (size_t)i * TP_UDP_SLOT;
		iov[i].iov_len = TP_UDP_SLOT;
		mm[i].msg_hdr.msg_iov = &iov[i];
		mm[i].msg_hdr.msg_iovlen = 1;
		mm[i].msg_hdr.msg_name = &srcs[i];
		mm[i].msg_hdr.msg_namelen = sizeof(srcs[i]);
	}
	got = recvmmsg(fd, mm, n, MSG_DONTWAIT, NULL);
	if (got <= 0) {
		if (got == 0)
			return;
		if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
			LOG_WARN("recvmmsg: %s", strerror(errno));
		return;
	}
	ctx->in_batch = true;
	for (i = 0; i < (unsigned)got; i++) {
		if (mm[i].msg_hdr.msg_flags & MSG_TRUNC) {
			ctx->stats.rx_dropped++;
			continue;
		}
		memset(&rx, 0, sizeof(rx));
		rx.proto = TP_UDP;
		memcpy(&rx.src, &srcs[i], mm[i].msg_hdr.msg_namelen);
		rx.srclen = mm[i].msg_hdr.msg_namelen;
		rx.local = ls->addr;
		rx.locallen = ls->len;
		rx.lsock = (unsigned)(ls - ctx->ls);
		tp_input(ctx, iov[i].iov_base, mm[i].msg_len, SIP_FRAMING_DGRAM,
			 &rx);
	}
	ctx->in_batch = false;
	tp_udp_flush_all(ctx);
}

int
tp_udp_open(struct tp_ctx *ctx, struct tp_lsock *ls,
	    const struct sockaddr *addr, socklen_t len)
{
	return tp_lsock_open(ctx, ls, SOCK_DGRAM, addr, len, udp_read);
}

struct tp_lsock *
tp_udp_pick(struct tp_ctx *ctx, const struct sockaddr *dst, unsigned lsock)
{
	unsigned i;

	if (lsock < ctx->nls && ctx->ls[lsock].proto == TP_UDP &&
	    ctx->ls[lsock].addr.ss_family == dst->sa_family)
		return &ctx->ls[lsock];
	for (i = 0; i < ctx->nls; i++)
		if (ctx->ls[i].proto == TP_UDP &&
		    ctx->ls[i].addr.ss_family == dst->sa_family)
			return &ctx->ls[i];
	return NULL;
}

/* Empty ls's queue with sendmmsg(). A datagram the kernel refuses is
   lost, as the network may lose it: the transaction layer retransmits
   (§17.1.2.2). EAGAIN (socket buffer full) loses the rest of the batch;
   another error skips the one datagram. */
static void
udp_flush(struct tp_ctx *ctx, struct tp_lsock *ls)
{
	struct tp_udpq *q = ls->q;
	unsigned i = 0, lost;
	char peer[80];
	int r, err;

	while (i < q->n) {
		r = sendmmsg(ls->fd, q->mm + i, q->n - i,
			     MSG_DONTWAIT | MSG_NOSIGNAL);
		ctx->stats.tx_udp_flushes++;
		if (r > 0) {
			i += (unsigned)r;
			continue;
		}
		err = r < 0 ? errno : EIO;
		if (err == EINTR)
			continue;
		lost = (err == EAGAIN || err == EWOULDBLOCK) ? q->n - i : 1;
		ctx->stats.tx_errors += lost;
		LOG_DBG("udp send to %s: %s (%u datagram%s lost)",
			tp_addr_str((struct sockaddr *)&q->dst[i], peer,
				    sizeof(peer)),
			strerror(err), lost, lost == 1 ? "" : "s");
		i += lost;
	}
	q->n = 0;
	q->used = 0;
	ctx->udpq_mask &= ~(1u << (ls - ctx->ls));
}

void
tp_udp_flush_all(struct tp_ctx *ctx)
{
	unsigned i;

	ctx->flush_armed = false;
	while (ctx->udpq_mask) {
		i = (unsigned)__builtin_ctz(ctx->udpq_mask);
		udp_flush(ctx, &ctx->ls[i]);
	}
}

void
tp_flush(struct tp_ctx *ctx)
{
	if (ctx)
		tp_udp_flush_all(ctx);
}

void
tp_udp_close(struct tp_lsock *ls)
{
	if (!ls->q)
		return;
	free(ls->q->buf);
	free(ls->q);
	ls->q = NULL;
}

static int
udpq_alloc(struct tp_lsock *ls)
{
	struct tp_udpq *q = calloc(1, sizeof(*q));
	unsigned i;

	if (!q)
		return ENOMEM;
	q->buf = malloc(TP_UDPQ_BYTES);
	if (!q->buf) {
		free(q);
		return ENOMEM;
	}
	for (i = 0; i < TP_UDPQ_MAX; i++) {
		q->mm[i].msg_hdr.msg_iov = &q->iov[i];
		q->mm[i].msg_hdr.msg_iovlen = 1;
		q->mm[i].msg_hdr.msg_name = &q->dst[i];
	}
	ls->q = q;
	return 0;
}

/* Largest UDP payload: 65535 minus the IP (v4 only) and UDP headers. */
static size_t
udp_max(const struct sockaddr *dst)
{
	return dst->sa_family == AF_INET6 ? 65535 - 8 : 65535 - 20 - 8;
}

/* Queue one datagram. Inside a receive batch the batch flushes at its
   end; otherwise a zero-delay event does, after the current callback. */
int
tp_udp_send(struct tp_ctx *ctx, struct tp_lsock *ls, const struct sockaddr *dst,
	    socklen_t dstlen, const char *buf, size_t len)
{
	struct tp_udpq *q;

	if (len > udp_max(dst) || dstlen > sizeof(q->dst[0]))
		return EMSGSIZE;
	if (!ls->q && udpq_alloc(ls))
		return ENOMEM;
	q = ls->q;
	if (q->n == TP_UDPQ_MAX || q->used + len > TP_UDPQ_BYTES)
		udp_flush(ctx, ls);
	memcpy(q->buf + q->used, buf, len);
	memcpy(&q->dst[q->n], dst, dstlen);
	q->iov[q->n].iov_base = q->buf + q->used;
	q->iov[q->n].iov_len = len;
	q->mm[q->n].msg_hdr.msg_namelen = dstlen;
	q->used += len;
	q->n++;
	ctx->udpq_mask |= 1u << (ls - ctx->ls);
	if (!ctx->in_batch && !ctx->flush_armed) {
		ctx->flush_armed = true;
		event_active(ctx->flush_ev, EV_TIMEOUT, 1);
	}
	return 0;
}
