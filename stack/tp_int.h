/* Transport internals shared by tp.c, tp_udp.c, tp_tcp.c and tp_tls.c. */
#ifndef TANDEM_TP_INT_H
#define TANDEM_TP_INT_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/socket.h>

#include <event2/event.h>

#include "stag.h"
#include "tp.h"

struct event;
struct evbuffer;
typedef struct ssl_st SSL;
typedef struct ssl_ctx_st SSL_CTX;
typedef struct bio_method_st BIO_METHOD;

#define TP_LSOCK_MAX 16
#define TP_SENTBY_MAX 16
#define TP_UDP_BATCH_MAX 32
#define TP_UDP_SLOT 65535 /* one datagram of any size fits */
#define TP_HTAB_SIZE 256  /* connection table buckets */
#define TP_DEFAULT_PORT 5060
#define TP_DEFAULT_TLS_PORT 5061
#define TP_HOST_MAX 256 /* a DNS name (253) or an IP literal, with NUL */
#define TP_UDPQ_MAX 64	/* datagrams queued per UDP socket */
#define TP_UDPQ_BYTES (256 * 1024) /* bytes queued per UDP socket */
#define TP_RBUF_MIN 4096	   /* first TCP receive buffer */

/* UDP datagrams waiting for one sendmmsg(): bytes in buf, one mm/iov/dst
   slot each (mm[i] points at iov[i] and dst[i]). */
struct tp_udpq {
	char *buf; /* owned: TP_UDPQ_BYTES */
	size_t used;
	unsigned n;
	struct mmsghdr mm[TP_UDPQ_MAX];
	struct iovec iov[TP_UDPQ_MAX];
	struct sockaddr_storage dst[TP_UDPQ_MAX];
};

/* A listening socket (UDP: also the socket we send from). */
struct tp_lsock {
	struct tp_ctx *ctx; /* weak: the owner */
	enum tp_proto proto;
	int fd;
	struct event *ev;	      /* owned */
	struct event *backoff;	      /* owned: TCP, re-enables ev after an
					 accept() out of descriptors */
	bool backoff_logged;	      /* warned; quiet until accept works */
	struct tp_udpq *q;	      /* owned: UDP send queue */
	struct sockaddr_storage addr; /* as bound (getsockname) */
	socklen_t len;
};

struct tp_sentby {
	char host[256];
	uint16_t port; /* 0: 5060 */
};

/*
 * One TCP or TLS connection. Refcounted: the ctx's table holds one reference
 * while it is open; a delivered tp_recv lends it; the layer above may
 * keep more. Closing (tp_conn_close) releases the socket, events and
 * table slot at once; the memory goes with the last reference.
 */
struct tp_conn {
	struct tp_ctx *ctx;	       /* weak: NULL once closed */
	struct tp_conn *hprev, *hnext; /* table bucket links (open only) */
	unsigned bucket;
	struct tp_conn *iprev, *inext; /* id table links (open only) */
	uint64_t id;		       /* tp_conn_id() */
	int fd;			       /* -1 once closed */
	enum tp_proto proto;	       /* TP_TCP or TP_TLS */
	bool out;		       /* we opened it */
	bool connecting;
	bool handshaking;	/* TLS: connected, handshake not done yet */
	bool rd_wants_w;	/* TLS: SSL_read() needs the socket writable */
	bool wr_wants_r;	/* TLS: SSL_write() needs the socket readable */
	SSL *ssl;		/* owned: TLS only, freed at close */
	char host[TP_HOST_MAX]; /* TLS out: the name verified; part of the
				   table key. "" otherwise */
	struct event *rev, *wev, *tmr; /* owned: read, write, idle timer */
	struct event *mtmr;	       /* owned: msg_timeout_ms of an incomplete
					  message */
	struct sockaddr_storage peer;
	socklen_t peerlen;
	struct sockaddr_storage local;
	socklen_t locallen;
	char *rbuf; /* owned: received bytes not yet framed */
	size_t rlen, rcap;
	bool ponged;	       /* a CRLF pong went out for this read */
	struct sip_frame fst;  /* framing resumed across reads (linear work
				  for a peer trickling bytes) */
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
	_Atomic uint64_t resp_rx[7], resp_tx[7]; /* tp_resp_counts() */
	struct tp_conn *htab[TP_HTAB_SIZE];	 /* ref: open connections */
	struct tp_conn *itab[TP_HTAB_SIZE];	 /* borrowed: the same, by id */
	uint64_t conn_seq;			 /* ids given so far */
	unsigned nconn_in, nconn_out;
	char *udp_buf;	      /* owned: udp_batch slots of TP_UDP_SLOT bytes */
	char *reply_buf;      /* owned: stateless replies, reply_size bytes */
	struct stag_key stag; /* To tags of stateless replies (§8.2.7) */
	struct stag_key hkey; /* SipHash key of htab (peer addresses) */
	size_t reply_size;
	struct sip_msg *msg;	/* owned: parse scratch for input */
	struct sip_msg *smsg;	/* owned: scratch for the §18.1.1 rewrite */
	struct event *flush_ev; /* owned: zero-delay UDP queue flush */
	bool flush_armed;	/* flush_ev is active */
	bool in_batch;		/* inside a UDP receive batch: the batch
				   flushes at its end */
	uint32_t udpq_mask;	/* bit i: ls[i] has datagrams queued */
	SSL_CTX *tls_srv;	/* owned: TLS listeners; NULL without cert */
	SSL_CTX *tls_cli;	/* owned: outgoing TLS */
	BIO_METHOD *tls_bio;	/* owned: socket I/O with MSG_NOSIGNAL */
};

/* tp.c: parse one message and deliver it, or answer/drop it. buf is
   borrowed for the call. rx is completed (Via fields) here. */
void tp_input(struct tp_ctx *ctx, const char *buf, size_t len,
	      enum sip_framing framing, struct tp_recv *rx);
bool tp_addr_eq(const struct sockaddr *a, const struct sockaddr *b);
/* Port of a sockaddr, host order. */
uint16_t tp_addr_port(const struct sockaddr *sa);
void tp_addr_set_port(struct sockaddr_storage *ss, uint16_t port);
/* "192.0.2.1:5061" or "[2001:db8::1]:5061" for logs; returns buf. */
const char *tp_addr_str(const struct sockaddr *sa, char *buf, size_t sz);
int tp_has_proto(const struct tp_ctx *ctx, enum tp_proto proto, int family);

/* tp.c: open a listening socket of type SOCK_DGRAM or SOCK_STREAM. */
int tp_lsock_open(struct tp_ctx *ctx, struct tp_lsock *ls, int type,
		  const struct sockaddr *addr, socklen_t len,
		  event_callback_fn cb);

/* tp_udp.c */
int tp_udp_open(struct tp_ctx *ctx, struct tp_lsock *ls,
		const struct sockaddr *addr, socklen_t len);
/* Queue one datagram on ls (see tp_send()). Returns 0, EMSGSIZE,
   ENOMEM. */
int tp_udp_send(struct tp_ctx *ctx, struct tp_lsock *ls,
		const struct sockaddr *dst, socklen_t dstlen, const char *buf,
		size_t len);
/* sendmmsg() what every UDP socket has queued (tp_flush()). */
void tp_udp_flush_all(struct tp_ctx *ctx);
/* Free ls's queue (after a last flush). */
void tp_udp_close(struct tp_lsock *ls);
/* A UDP listener to send to dst from: the one the request came on when
   given (lsock < nls and same family), else the first of dst's family. */
struct tp_lsock *tp_udp_pick(struct tp_ctx *ctx, const struct sockaddr *dst,
			     unsigned lsock);

/* tp_tcp.c: TCP and TLS connections (proto TP_TCP or TP_TLS). */
int tp_tcp_listen(struct tp_ctx *ctx, struct tp_lsock *ls,
		  const struct sockaddr *addr, socklen_t len);
/* host: TLS only, see tp_send_host(). */
int tp_tcp_send(struct tp_ctx *ctx, enum tp_proto proto, struct tp_conn *conn,
		const struct sockaddr *dst, socklen_t dstlen, const char *host,
		const char *buf, size_t len);
/* Close every connection (ctx teardown). */
void tp_tcp_close_all(struct tp_ctx *ctx);
/* Close c now (see tp_tcp.c); err != 0 goes to the tp_err_h when bytes
   were lost. The caller must not use c afterwards without its own ref. */
void tp_conn_close(struct tp_conn *c, int err);

/*
 * tp_conn_limits.c: what keeps hostile peers bounded.
 */
/* accept() failed with err: on EMFILE, ENFILE, ENOBUFS or ENOMEM pause
   the listener for conf.accept_backoff_ms (the pending connection would
   wake a level-triggered loop at once, forever). Returns true when
   paused. */
bool tp_accept_backoff(struct tp_lsock *ls, int err);
/* An accept() worked: the next backoff warns again. */
void tp_accept_ok(struct tp_lsock *ls);
/* Make room to read into c->rbuf (grown up to max_msg + 4, accounted in
   tcp_rbuf_bytes); false when the incomplete message holds all it may. */
bool tp_conn_room(struct tp_conn *c);
/* After framing consumed bytes (consumed true) or not: start, restart or
   stop the msg_timeout_ms deadline of the incomplete message left in
   rbuf, and give back a large buffer once it is empty. */
void tp_conn_framed(struct tp_conn *c, bool consumed);
/* c is closing: its buffer leaves the tcp_rbuf_bytes gauge. */
void tp_conn_unaccount(struct tp_conn *c);
/* Callback of c->mtmr. */
void tp_conn_msg_timeout(evutil_socket_t fd, short what, void *arg);

/*
 * tp_tls.c: OpenSSL glue. Every function drains OpenSSL's error queue
 * before it returns; errors come back as errnos.
 */
/* Build the SSL_CTXs from ctx->conf.tls: the client one always, the
   server one when a cert_file is set. Then clears the borrowed strings.
   Returns 0, EINVAL (logged), ENOMEM. */
int tp_tls_setup(struct tp_ctx *ctx);
void tp_tls_free(struct tp_ctx *ctx);
/* Attach an SSL to c (connected socket): server role for incoming,
   client role with SNI and host checks against c->host for outgoing.
   Returns 0, EINVAL (no server certificate), ENOMEM. */
int tp_tls_conn_start(struct tp_conn *c);
/* One handshake step. Returns 0 when done, EAGAIN when it must wait
   (c->rd_wants_w set when it waits for writability), else the error for
   tp_err_h (logged here): ECONNREFUSED (verification), EPROTO, ... */
int tp_tls_handshake(struct tp_conn *c);
/* Like recv()/send() on the TLS stream: 0 and *n bytes, EAGAIN (setting
   rd_wants_w / wr_wants_r when the other direction is needed),
   ECONNRESET at the peer's close, or an errno (logged at DEBUG). */
int tp_tls_read(struct tp_conn *c, char *buf, size_t size, size_t *n);
int tp_tls_write(struct tp_conn *c, const char *buf, size_t len, size_t *n);
/* True when SSL holds decrypted bytes not read yet. */
bool tp_tls_pending(const struct tp_conn *c);
/* Send close_notify (best effort, graceful only) and free the SSL. */
void tp_tls_conn_stop(struct tp_conn *c, bool graceful);

#endif
