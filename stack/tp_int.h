/* Transport internals shared by tp.c, tp_udp.c and tp_tcp.c. */
#ifndef TANDEM_TP_INT_H
#define TANDEM_TP_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/socket.h>

#include "tp.h"

struct event;
struct evbuffer;

#define TP_LSOCK_MAX 16
#define TP_SENTBY_MAX 16
#define TP_UDP_BATCH_MAX 32
#define TP_UDP_SLOT 65535 /* one datagram of any size fits */
#define TP_HTAB_SIZE 256  /* connection table buckets */
#define TP_DEFAULT_PORT 5060

/* A listening socket (UDP: also the socket we send from). */
struct tp_lsock {
	struct tp_ctx *ctx; /* weak: the owner */
	enum tp_proto proto;
	int fd;
	struct event *ev;	      /* owned */
	struct sockaddr_storage addr; /* as bound (getsockname) */
	socklen_t len;
};

struct tp_sentby {
	char host[256];
	uint16_t port; /* 0: 5060 */
};

/*
 * One TCP connection. Refcounted: the ctx's table holds one reference
 * while it is open; a delivered tp_recv lends it; the layer above may
 * keep more. Closing (tp_conn_close) releases the socket, events and
 * table slot at once; the memory goes with the last reference.
 */
struct tp_conn {
	struct tp_ctx *ctx;	       /* weak: NULL once closed */
	struct tp_conn *hprev, *hnext; /* table bucket links (open only) */
	unsigned bucket;
	int fd;	  /* -1 once closed */
	bool out; /* we opened it */
	bool connecting;
	struct event *rev, *wev, *tmr; /* owned: read, write, idle timer */
	struct sockaddr_storage peer;
	socklen_t peerlen;
	struct sockaddr_storage local;
	socklen_t locallen;
	char *rbuf; /* owned: received bytes not yet framed */
	size_t rlen, rcap;
	struct evbuffer *outq; /* owned: bytes not yet written */
};

struct tp_ctx {
	struct event_base *base; /* borrowed: outlives the ctx */
	struct tp_conf conf;
	tp_recv_h *recvh;
	tp_err_h *errh;
	void *arg;
	struct tp_lsock ls[TP_LSOCK_MAX];
	unsigned nls;
	struct tp_sentby sentby[TP_SENTBY_MAX];
	unsigned nsentby;
	struct tp_stats stats;
	struct tp_conn *htab[TP_HTAB_SIZE]; /* ref: open connections */
	unsigned nconn_in, nconn_out;
	char *udp_buf;	 /* owned: udp_batch slots of TP_UDP_SLOT bytes */
	char *reply_buf; /* owned: stateless replies, reply_size bytes */
	size_t reply_size;
	struct sip_msg *msg;  /* owned: parse scratch for input */
	struct sip_msg *smsg; /* owned: scratch for the §18.1.1 rewrite */
};

/* tp.c: parse one message and deliver it, or answer/drop it. buf is
   borrowed for the call. rx is completed (Via fields) here. */
void tp_input(struct tp_ctx *ctx, const char *buf, size_t len,
	      enum sip_framing framing, struct tp_recv *rx);
bool tp_addr_eq(const struct sockaddr *a, const struct sockaddr *b);
/* Port of a sockaddr, host order. */
uint16_t tp_addr_port(const struct sockaddr *sa);
void tp_addr_set_port(struct sockaddr_storage *ss, uint16_t port);
int tp_has_proto(const struct tp_ctx *ctx, enum tp_proto proto, int family);

/* tp_udp.c */
int tp_udp_open(struct tp_ctx *ctx, struct tp_lsock *ls,
		const struct sockaddr *addr, socklen_t len);
int tp_udp_send(struct tp_ctx *ctx, const struct tp_lsock *ls,
		const struct sockaddr *dst, socklen_t dstlen, const char *buf,
		size_t len);
/* A UDP listener to send to dst from: the one the request came on when
   given (lsock < nls and same family), else the first of dst's family. */
const struct tp_lsock *tp_udp_pick(const struct tp_ctx *ctx,
				   const struct sockaddr *dst, unsigned lsock);

/* tp_tcp.c */
int tp_tcp_listen(struct tp_ctx *ctx, struct tp_lsock *ls,
		  const struct sockaddr *addr, socklen_t len);
int tp_tcp_send(struct tp_ctx *ctx, struct tp_conn *conn,
		const struct sockaddr *dst, socklen_t dstlen, const char *buf,
		size_t len);
/* Close every connection (ctx teardown). */
void tp_tcp_close_all(struct tp_ctx *ctx);

#endif
