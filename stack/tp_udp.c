/* SIP over UDP (RFC 3261 §18): SO_REUSEPORT sockets, one per worker,
   batched receive with recvmmsg(), send with sendto(). */
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
	if (got < 0) {
		if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
			LOG_WARN("recvmmsg: %s", strerror(errno));
		return;
	}
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
}

int
tp_udp_open(struct tp_ctx *ctx, struct tp_lsock *ls,
	    const struct sockaddr *addr, socklen_t len)
{
	return tp_lsock_open(ctx, ls, SOCK_DGRAM, addr, len, udp_read);
}

const struct tp_lsock *
tp_udp_pick(const struct tp_ctx *ctx, const struct sockaddr *dst,
	    unsigned lsock)
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

/* One datagram; a full socket buffer (EAGAIN) loses it, as the network
   may: the transaction layer retransmits (§17.1.2.2). */
int
tp_udp_send(struct tp_ctx *ctx, const struct tp_lsock *ls,
	    const struct sockaddr *dst, socklen_t dstlen, const char *buf,
	    size_t len)
{
	ssize_t n;

	(void)ctx;
	do
		n = sendto(ls->fd, buf, len, MSG_DONTWAIT | MSG_NOSIGNAL, dst,
			   dstlen);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return errno;
	return (size_t)n == len ? 0 : EMSGSIZE;
}
