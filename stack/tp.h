/* SIP transports over UDP, TCP and TLS: RFC 3261 §18 (with §18.1.1 size
   rule, §18.1.2 response check, §18.2.1 received, §18.2.2 response
   routing), §26.2 (TLS), RFC 5922 §7.2 (host name checks for outgoing
   TLS), RFC 3581 (rport), RFC 5626 §3.5.1 (CRLF keep-alive). */
#ifndef TANDEM_TP_H
#define TANDEM_TP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "sip_msg.h"

struct event_base;
struct tp_ctx;	/* one per signaling worker; refcounted (mem_deref frees) */
struct tp_conn; /* one TCP or TLS connection; refcounted, opaque */

enum tp_proto {
	TP_UDP, /* unreliable, datagrams */
	TP_TCP, /* reliable, stream framed by Content-Length (§18.3) */
	TP_TLS, /* TCP with TLS 1.2 or later; framed as TCP (§26.2) */
	TP_PROTO_COUNT
};

/* Via transport token: "UDP", "TCP", "TLS"; "?" when out of range. */
const char *tp_proto_name(enum tp_proto proto);

/*
 * TLS settings (OpenSSL 3). The strings are borrowed and read only by
 * tp_ctx_alloc(), which loads the files at once (a bad file fails it with
 * EINVAL and a log line); the ctx keeps no pointer to them. The same
 * certificate and key serve as our server certificate on TLS listeners
 * and as our client certificate when a peer asks for one.
 */
struct tp_tls_conf {
	const char *cert_file;	  /* PEM chain, leaf first; NULL: none (then no
				     TLS listener, and no client certificate) */
	const char *key_file;	  /* PEM private key, unencrypted; NULL: the
				     cert_file holds it */
	const char *ca_file;	  /* PEM CAs to verify peers; NULL and ca_dir
				     NULL: the system's default store */
	const char *ca_dir;	  /* hashed CA directory (c_rehash) or NULL */
	bool verify_peer;	  /* outgoing: verify the server's certificate
				     chain and host name; default true */
	bool require_client_cert; /* incoming: mutual TLS, a client
				     certificate verified against the CAs
				     is required; default false */
	int min_version;	  /* TLS1_2_VERSION (0x0303, the default) or
				     TLS1_3_VERSION; anything lower is
				     raised to TLS 1.2 */
	const char *ciphers;	  /* TLS 1.2 cipher list; NULL: OpenSSL's */
	const char *ciphersuites; /* TLS 1.3 suites; NULL: OpenSSL's */
	unsigned handshake_ms;	  /* from accept (or connect done) to the
				     end of the handshake; default 10000 */
};

/* Limits and timers; tp_conf_default() fills the defaults. */
struct tp_conf {
	struct sip_limits lim;	    /* max_msg also caps the bytes buffered for
				       one incomplete TCP message; default 65536 */
	unsigned max_conns;	    /* accepted TCP connections; more are closed
				       at once; default 1024 */
	unsigned max_out_conns;	    /* connections we open; default 1024 */
	unsigned idle_ms;	    /* TCP idle timeout; default 120000 */
	unsigned msg_timeout_ms;    /* TCP: an incomplete message must be whole
				       within this long of its first byte, or
				       the connection is closed (a slowloris
				       sending a byte a second resets the idle
				       timer forever); 0 = none; default 30000 */
	unsigned accept_backoff_ms; /* accept() failing with EMFILE, ENFILE,
				       ENOBUFS or ENOMEM: the listener
				       sleeps this long instead of spinning;
				       default 100 */
	unsigned connect_ms;	    /* TCP connect timeout; default 10000 */
	size_t max_outq;      /* bytes queued for sending on one connection;
				 beyond it tp_send() fails with ENOBUFS;
				 default 1 MiB */
	unsigned udp_batch;   /* datagrams per recvmmsg(), 1..32; default 32 */
	unsigned mtu;	      /* path MTU for §18.1.1; 0 = unknown (then the
				 1300-byte rule applies); default 0 */
	int udp_rcvbuf;	      /* SO_RCVBUF of UDP sockets in bytes (clamped by
				 the kernel's rmem_max); 0 = kernel default;
				 default 2 MiB, so bursts are not lost */
	unsigned conn_id_tag; /* 0..255: the top 8 bits of every connection
				 id of this ctx (tp_conn_id()), so a layer
				 running one ctx per thread can tell which
				 ctx owns an id (sipw: worker index + 1);
				 default 0 */
	struct tp_tls_conf tls;
};

/* Counters; read with tp_stats(). Plain integers: one thread per ctx. */
struct tp_stats {
	uint64_t rx_msgs;	   /* messages given to the receive callback */
	uint64_t rx_parse_err;	   /* messages that failed sip_msg_parse() */
	uint64_t rx_dropped;	   /* dropped without answer: unparseable and
				      unanswerable, responses not ours,
				      truncated datagrams */
	uint64_t rx_not_ours;	   /* responses whose Via is not ours
				      (§18.1.2); also in rx_dropped */
	uint64_t rx_keepalive;	   /* CRLF keep-alives (UDP datagrams, TCP) */
	uint64_t tx_stateless;	   /* stateless error replies sent */
	uint64_t tx_msgs;	   /* messages handed to the kernel / queued */
	uint64_t tx_errors;	   /* sends that failed (for UDP also those
				      that failed later, at the flush) */
	uint64_t tx_udp_flushes;   /* sendmmsg() calls flushing UDP queues */
	uint64_t tx_udp_to_tcp;	   /* §18.1.1: UDP requests sent over TCP */
	uint64_t tx_udp_big;	   /* §18.1.1 says TCP, but none possible */
	uint64_t tcp_accepted;	   /* connections accepted */
	uint64_t tcp_refused;	   /* closed at accept: over max_conns */
	uint64_t tcp_idle;	   /* closed by the idle timeout */
	uint64_t tcp_bad_stream;   /* closed: framing error or too many bytes */
	uint64_t tcp_msg_timeouts; /* closed: a message not whole within
				      msg_timeout_ms of its first byte */
	uint64_t tcp_accept_backoffs; /* accept() out of descriptors or
					 memory: listener paused */
	uint64_t tcp_rbuf_bytes;      /* gauge, not a counter: receive buffer
					 bytes held by open connections (at most
					 max_msg + 4 each) */
	uint64_t tcp_pings;	      /* RFC 5626 double-CRLF pings answered */
	uint64_t tcp_conn_failed;     /* outgoing connects that failed */
	uint64_t tls_handshakes;      /* TLS handshakes completed */
	uint64_t tls_failed;	      /* TLS handshakes failed (any reason) */
	uint64_t tls_verify_failed;   /* of which: outgoing, peer certificate or
					 host name not verified */
	uint64_t tls_timeouts;	      /* closed by the handshake timeout */
};

/*
 * How a message arrived. Filled by the transport for each delivered
 * message; the layer above copies it (tp_recv_copy()) to answer later.
 */
struct tp_recv {
	enum tp_proto proto;
	struct sockaddr_storage src; /* the packet's source address */
	socklen_t srclen;
	struct sockaddr_storage local; /* our address it arrived on; for a
					  wildcard UDP listener the wildcard */
	socklen_t locallen;
	struct tp_conn *conn; /* TCP, TLS: borrowed, valid during the callback;
				 mem_ref() or tp_recv_copy() to keep. NULL for
				 UDP */
	uint64_t conn_id;     /* TCP, TLS: tp_conn_id(conn), a value that
				 stays safe to keep and to pass to another
				 thread (tp_conn_by_id() on the owning ctx
				 finds the connection while it is open);
				 0 for UDP */
	/* Requests only (§18.2.1, RFC 3581): */
	bool add_received; /* the top Via needs received=<src IP>: its host
			      differs from the source address, or it has
			      rport (RFC 3581 §4) */
	bool rport;	   /* the top Via has rport: set it to the source
			      port, and answer to the source port */
	uint16_t via_port; /* sent-by port of the top Via, 0 if absent */
	unsigned lsock;	   /* private: the listening socket (UDP) */
};

/*
 * Receive callback. msg and rx are borrowed: valid only during the call
 * (msg points into the transport's receive buffer). Copy what you keep
 * (e.g. copy the bytes msg->buf[0..msg->len) and parse again, and
 * tp_recv_copy() the rx). The callback may call tp_send*() but must not
 * free the ctx.
 */
typedef void(tp_recv_h)(const struct sip_msg *msg, const struct tp_recv *rx,
			void *arg);

/*
 * Asynchronous transport error (§17.1.4): a TCP or TLS connection to peer
 * failed while connecting (ECONNREFUSED, ETIMEDOUT, ...), during our
 * outgoing TLS handshake (ECONNREFUSED: the peer's certificate or host
 * name did not verify; EPROTO: any other handshake failure; ETIMEDOUT:
 * handshake timeout) or while bytes were still queued on it (ECONNRESET,
 * EPIPE, ...). Bytes given to tp_send() for it are lost. Errors found
 * during tp_send() itself are returned, not reported here. May be NULL.
 */
typedef void(tp_err_h)(enum tp_proto proto, const struct sockaddr *peer,
		       socklen_t peerlen, int err, void *arg);

void tp_conf_default(struct tp_conf *conf);

/*
 * Create a transport context on base (borrowed: must outlive the ctx).
 * conf NULL: defaults. recvh is required. Free with mem_deref(ctx): every
 * socket, connection, event and buffer goes with it (connections still
 * referenced elsewhere stay allocated, closed). Returns 0, EINVAL, ENOMEM.
 */
int tp_ctx_alloc(struct tp_ctx **ctxp, struct event_base *base,
		 const struct tp_conf *conf, tp_recv_h *recvh, tp_err_h *errh,
		 void *arg);

/*
 * Open a listening socket for proto on addr (IPv4 or IPv6; port 0 picks
 * one, see tp_local_addr()). UDP sockets use SO_REUSEPORT so each worker
 * opens its own on the same port; IPv6 sockets are IPV6_V6ONLY. At most
 * 16 per ctx (ENOSPC). TLS needs conf.tls.cert_file (else EINVAL).
 * Returns 0 or an errno from socket()/bind().
 */
int tp_listen(struct tp_ctx *ctx, enum tp_proto proto,
	      const struct sockaddr *addr, socklen_t len);
/* Same with a numeric address text ("127.0.0.1", "::1"). */
int tp_listen_str(struct tp_ctx *ctx, enum tp_proto proto, const char *ip,
		  uint16_t port);

/*
 * Bound address of the first listener of proto and family (AF_INET,
 * AF_INET6). Returns 0 or ENOENT. tp_local_port() is its port or 0.
 */
int tp_local_addr(const struct tp_ctx *ctx, enum tp_proto proto, int family,
		  struct sockaddr_storage *ss, socklen_t *len);
uint16_t tp_local_port(const struct tp_ctx *ctx, enum tp_proto proto,
		       int family);

/*
 * Add a sent-by value the layer above writes in its Via (§18.1.2): a
 * received response is accepted only if its top Via matches one (host
 * case-insensitive, IP addresses compared as addresses; port 0 or absent
 * means 5060). With none added, the listening addresses and ports are
 * used (a wildcard listener matches any address). Max 16 (ENOSPC).
 */
int tp_sentby_add(struct tp_ctx *ctx, const char *host, uint16_t port);

const struct tp_stats *tp_stats(const struct tp_ctx *ctx);

/* Responses by status class (index status / 100: 1..6; 0 unused) that
   the layer delivered to its receive callback (rx) and sent or queued
   (tx: stateless replies, transactions and the UA's own sends alike).
   Written by the ctx's thread only, as relaxed atomics: unlike
   tp_stats(), tp_resp_counts() may be called from any thread while the
   ctx lives (metrics). */
struct tp_resp_counts {
	uint64_t rx[7], tx[7];
};
void tp_resp_counts(const struct tp_ctx *ctx, struct tp_resp_counts *rc);

/* Fill a sockaddr from numeric text. Returns 0 or EINVAL. */
int tp_addr_set(struct sockaddr_storage *ss, socklen_t *len, const char *ip,
		uint16_t port);

/*
 * §18.1.1: true when a request of len bytes must use a congestion-
 * controlled transport: within 200 bytes of the path MTU, or above 1300
 * bytes when the MTU is unknown (mtu 0).
 */
bool tp_size_needs_tcp(size_t len, unsigned mtu);

/*
 * The transport to use for a request of len bytes meant for want: TCP
 * when want is UDP, tp_size_needs_tcp() and this ctx has a TCP listener
 * (TCP enabled); otherwise want. Call it before writing the Via, whose
 * transport MUST then name the result (§18.1.1).
 */
enum tp_proto tp_request_proto(const struct tp_ctx *ctx, enum tp_proto want,
			       size_t len);

/*
 * Send a request (or anything else) buf[0..len): the bytes are copied.
 * UDP: queued on a listener of dst's family and sent with one sendmmsg()
 * per socket: at the end of the receive batch when called from the
 * receive callback, else from a zero-delay event at the end of the
 * current event loop iteration (or at tp_flush()). An error found at the
 * flush (a full socket buffer: the datagram is lost, as the network may
 * lose it) is counted in tx_errors and logged at DEBUG, not returned. When the
 * request is too big for UDP (tp_request_proto() says TCP) it goes over TCP to
 * the same address and port, its top Via transport "UDP" rewritten to "TCP"
 * (§18.1.1: same length, done on the copy); if TCP is not enabled it is
 * sent over UDP anyway (counted in tx_udp_big).
 * TCP: over conn if given and open, else over an open connection to dst
 * from the table, else a new non-blocking connection (bytes queued until
 * it is up; failures later go to the tp_err_h).
 * Returns 0, or EINVAL, EAFNOSUPPORT (no listener of dst's family for
 * UDP), EMSGSIZE (UDP: more than a datagram holds), ENOTCONN (conn
 * closed and no dst), ENOBUFS (queue full or too many connections), or
 * the errno of socket()/connect() (ECONNREFUSED, ENETUNREACH ...).
 */
int tp_send(struct tp_ctx *ctx, enum tp_proto proto, const struct sockaddr *dst,
	    socklen_t dstlen, struct tp_conn *conn, const char *buf,
	    size_t len);

/*
 * tp_send() naming the peer: for TLS, host is the name its certificate
 * must carry (RFC 5922 §7.2: the host of the sips:/transport=tls URI,
 * a DNS name or an IP literal), also sent as SNI when it is a DNS name.
 * NULL: dst's IP address is the name to verify. A failed check reaches
 * the tp_err_h as ECONNREFUSED (with a WARN log line naming the peer and
 * OpenSSL's reason) unless conf.tls.verify_peer is off. An open TLS
 * connection is reused only for the same address, port and name. For
 * UDP and TCP host is ignored. Returns as tp_send().
 */
int tp_send_host(struct tp_ctx *ctx, enum tp_proto proto,
		 const struct sockaddr *dst, socklen_t dstlen, const char *host,
		 struct tp_conn *conn, const char *buf, size_t len);

/*
 * Where a response to the request received as rx goes (§18.2.2, RFC
 * 3581): UDP: the source IP (always: a sent-by that is not the source IP
 * gets received=, §18.2.1) and the source port with rport, else the Via
 * port or 5060. TCP, TLS: the same connection if open
 * (tp_send_response()), else the source IP and the Via port or 5060
 * (5061 for TLS). maddr is not supported (no multicast): it is ignored.
 * Returns 0 or EINVAL.
 */
int tp_response_dest(const struct tp_recv *rx, struct sockaddr_storage *dst,
		     socklen_t *len);
/* Send a response per tp_response_dest(); UDP from the socket the request
   arrived on. A new TLS connection (the old one closed) verifies the
   source IP address as the name (tp_send_host() with NULL). Returns as
   tp_send(). */
int tp_send_response(struct tp_ctx *ctx, const struct tp_recv *rx,
		     const char *buf, size_t len);

/*
 * The top Via value of a received request with §18.2.1 received= and RFC
 * 3581 rport=<port> filled in as rx says (existing received/rport params
 * replaced, others kept in order), for the layer above to write when it
 * forwards or answers the request. via is the request's msg->via. Writes
 * buf[0..size) (no NUL), sets *len. Returns 0, ENOSPC, EINVAL.
 */
int tp_via_print(const struct tp_recv *rx, const struct sip_via *via, char *buf,
		 size_t size, size_t *len);

/*
 * Send every queued UDP datagram now (one sendmmsg() per socket). Not
 * needed inside the event loop: tp does it at the end of each receive
 * batch and of any callback that queued. Call it after tp_send() outside
 * the loop if the datagram must leave before the loop runs again.
 */
void tp_flush(struct tp_ctx *ctx);

/* Copy rx taking a reference on its connection; release with
   tp_recv_release(). */
void tp_recv_copy(struct tp_recv *dst, const struct tp_recv *src);
void tp_recv_release(struct tp_recv *rx);

/* True while conn can carry bytes (not closed, not failed). */
bool tp_conn_open(const struct tp_conn *conn);
/* The connection's id: unique within its ctx for the ctx's life (a
   56-bit counter, never reused), conf.conn_id_tag in the top 8 bits,
   never 0. 0 for NULL. */
uint64_t tp_conn_id(const struct tp_conn *conn);
/* The tag part of a connection id (tp_conf.conn_id_tag of its ctx). */
unsigned tp_conn_id_tag(uint64_t id);
/* The open connection of ctx with that id, or NULL (closed, unknown, 0).
   Borrowed: valid until control returns to the event loop. ctx's thread
   only. */
struct tp_conn *tp_conn_by_id(struct tp_ctx *ctx, uint64_t id);

#endif
