/* RTP/RTCP relay: media workers, relay sessions with two legs, symmetric
   RTP latching (RFC 4961, RFC 7362) and per-stream statistics (RFC 3550
   A.8), after ../shared/ARCHITECTURE.md "Media workers".
 *
 * Threads. A context starts N media workers, each a thread with its own
 * event_base owning a set of sessions and their UDP sockets; packets are
 * forwarded inside that thread (recvmmsg/sendmmsg) and a worker never
 * blocks. Signaling threads talk to a worker only through its command
 * queue (lock-free multi-producer list plus an eventfd wake-up): every
 * relay_sess_* / relay_stream_* call below is callable from any thread,
 * but one session handle belongs to one thread at a time (its signaling
 * shard). What blocks is said per function: port allocation takes the
 * context's port mutex (per call, never per packet); relay_ctx_sync()
 * waits for the workers. Statistics are read back as a snapshot of
 * relaxed atomics the worker writes (no command, no lock).
 */
#ifndef TANDEM_RELAY_H
#define TANDEM_RELAY_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define RELAY_MAX_STREAMS 4 /* m-lines per session (audio, video, ...) */
#define RELAY_IP_LEN 46	    /* INET6_ADDRSTRLEN */

struct relay_ctx;  /* refcounted: mem_deref() stops the workers */
struct relay_sess; /* refcounted handle: relay_sess_close() */

/* The two sides of a call; each picks its local address. */
enum relay_leg {
	RELAY_LEG_A, /* e.g. carrier-facing */
	RELAY_LEG_B, /* e.g. PBX-facing */
	RELAY_LEG_COUNT
};

/* Media direction as the peer of a leg signalled it (RFC 3264 §5.1):
   SENDONLY means it sends and does not want to receive. */
enum relay_dir {
	RELAY_DIR_SENDRECV,
	RELAY_DIR_SENDONLY,
	RELAY_DIR_RECVONLY,
	RELAY_DIR_INACTIVE,
};

struct relay_conf {
	uint16_t port_min; /* first RTP port (rounded up to even); RTCP is
			      RTP + 1; default 30000 */
	uint16_t port_max; /* last port of the range; default 39999 */
	const char *local_ip[RELAY_LEG_COUNT]; /* numeric IPv4/IPv6 per leg;
						  NULL: 127.0.0.1 */
	unsigned nworkers;		       /* 0: one per online core */
	uint32_t latch_window_ms;	       /* latching window after each
						  relay_stream_remote(); default 10000 */
	uint32_t relatch_idle_ms; /* NAT remotes: a latched source silent
				     this long may be replaced within the
				     window; default 1000 */
	uint32_t rtp_timeout_ms;  /* idle time reported as timed out;
				     default 30000 */
	unsigned batch;		  /* datagrams per recvmmsg, 1..64;
				     default 32 */
	int sock_buf;		  /* SO_RCVBUF/SO_SNDBUF bytes; 0: kernel
				     default */
};

/* What the peer of a leg signalled for one stream (from its SDP, see
   relay_sdp_remote()). */
struct relay_remote {
	char ip[RELAY_IP_LEN]; /* numeric; "0.0.0.0" / "::" mean hold */
	uint16_t rtp_port;     /* 0: stream rejected or disabled */
	uint16_t rtcp_port;    /* 0: rtp_port + 1 */
	bool rtcp_mux;	       /* RTCP on the RTP port (RFC 5761) */
	bool nat;	       /* peer behind NAT: latch from any source */
	enum relay_dir dir;
	uint32_t clock_rate; /* RTP clock for jitter; 0: 8000 */
};

/* Statistics of what the peer of one leg sent on one stream (so the
   stream's direction leg -> other leg). A snapshot: fields are read one
   by one without a lock and may be a packet apart. */
struct relay_stats {
	uint64_t packets;	/* datagrams received, RTP and RTCP */
	uint64_t bytes;		/* their bytes */
	uint64_t rtcp;		/* of which RTCP */
	uint64_t forwarded;	/* sent on to the other leg */
	uint64_t drop_source;	/* wrong source (hijack guard) */
	uint64_t drop_noremote; /* no remote or no destination yet */
	uint64_t drop_hold;	/* direction or hold forbids */
	uint64_t drop_send;	/* sendmmsg failed (socket full, ...) */
	uint64_t drop_big;	/* larger than a receive slot (2048) */
	uint64_t malformed;	/* failed the RTP/RTCP check (still
				   forwarded: the relay is transparent) */
	uint64_t relatched;	/* latch moved to a new source */
	uint64_t drop_srtp;	/* SRTP/SRTCP that failed to unprotect
				   (authentication, replay, malformed) or
				   to protect: never forwarded */
	bool srtp_in;		/* the peer sends SRTP (we unprotect) */
	bool srtp_out;		/* what this stream forwards is protected
				   for the other leg's peer */
	/* What the peer says in its RTCP about the media it receives from
	   us (RFC 3550 §6.4, first report block of its last SR/RR; SRTCP
	   read after unprotect): */
	uint64_t peer_reports;	 /* RTCP reports with a block seen */
	uint8_t peer_fraction;	 /* fraction lost, /256 */
	int32_t peer_lost;	 /* cumulative lost */
	uint32_t peer_jitter_us; /* its interarrival jitter, microseconds */
	int64_t lost;		 /* RTP loss estimate (RFC 3550 A.3) */
	uint32_t jitter;	 /* interarrival jitter, ts units (A.8) */
	uint32_t jitter_us;	 /* the same in microseconds */
	uint64_t idle_ms;	 /* since the last accepted packet (or since
				    the stream opened if none) */
	bool timed_out;		 /* idle >= rtp_timeout_ms while the peer
				    should send (not on hold) */
	bool latched;		 /* RTP source learnt */
};

/* Context-wide figures. */
struct relay_ctx_stats {
	unsigned nworkers;
	unsigned sessions;   /* allocated, not yet closed by their worker */
	unsigned ports_used; /* RTP/RTCP port pairs taken */
	unsigned ports_total;
	uint64_t cmds; /* commands processed by the workers */
	/* datagrams over every session so far (RTP and RTCP): received,
	   forwarded, and dropped by reason (relay_stats' names) */
	uint64_t packets, forwarded;
	uint64_t drop_source, drop_noremote, drop_hold, drop_send, drop_big,
		drop_srtp;
};

/*
 * Allocate a context and start its workers. conf is copied (the local IP
 * strings too). Returns 0, EINVAL (bad range or address, no port pair in
 * the range), ENOMEM, or the errno of a failed thread start. Blocks while
 * the threads start. Every session must be closed before the context is
 * released: mem_deref(ctx) stops the workers (joining them, so it blocks)
 * and closes whatever sessions they still hold; a handle left over may
 * then only be released (relay_sess_close()), and not concurrently with
 * the context's release.
 */
int relay_ctx_alloc(struct relay_ctx **ctxp, const struct relay_conf *conf);
/* Local address of a leg (numeric, borrowed from ctx). */
const char *relay_ctx_local_ip(const struct relay_ctx *ctx, enum relay_leg leg);
void relay_ctx_stats(struct relay_ctx *ctx, struct relay_ctx_stats *st);
/* CPU time consumed so far by worker i (CLOCK_THREAD_CPUTIME_ID), in ns.
   Returns 0, EINVAL for a bad index, or the clock's errno. */
int relay_ctx_worker_cpu(const struct relay_ctx *ctx, unsigned i, uint64_t *ns);
/* Block until every worker has run every command posted before the call
   (tests, orderly shutdown; not for the signaling hot path). */
void relay_ctx_sync(struct relay_ctx *ctx);

/*
 * Allocate a session for a call (callid: for logs, and to pick the worker
 * by hash; copied, truncated to 63 bytes). No port is taken yet. Does not
 * block. Returns 0, EINVAL or ENOMEM.
 */
int relay_sess_alloc(struct relay_sess **sessp, struct relay_ctx *ctx,
		     const char *callid);
/*
 * Release the handle: the worker closes the sockets and gives the ports
 * back to the range (asynchronously: relay_ctx_sync() waits for it).
 * Packets in flight are dropped. NULL is accepted; always returns NULL
 * (sess = relay_sess_close(sess)).
 */
struct relay_sess *relay_sess_close(struct relay_sess *sess);

/*
 * Open stream idx of leg: take an RTP/RTCP port pair from the range and
 * bind both sockets on the leg's local address. Opening an open stream
 * returns its port again. Blocks on the port mutex and the socket/bind
 * system calls only. Ports already bound by someone else are skipped.
 * Returns 0 with *portp = the RTP port, EINVAL, ENOSPC when the range is
 * exhausted, or a socket errno. The ports of closed sessions come back
 * when their worker has run the close, so a burst of calls may see
 * ENOSPC for a moment on a range sized without margin.
 */
int relay_stream_open(struct relay_sess *sess, enum relay_leg leg, unsigned idx,
		      uint16_t *portp);
/*
 * The local address of leg for this session (a trunk's media address),
 * ip NULL or "": the context's for that leg again. Streams opened later
 * bind there; streams already open move to new ports on it (their
 * remote, SRTP and counters stay; the peer must be told by a new
 * description, relay_sess_sdp_rewrite() writes the new address). Does
 * not block beyond relay_stream_open()'s work. Returns 0, EINVAL (not a
 * numeric address), ENOSPC or a socket errno (the address is not ours).
 */
int relay_sess_local_ip(struct relay_sess *sess, enum relay_leg leg,
			const char *ip);
/* The numeric local address of leg for this session. */
const char *relay_sess_ip(const struct relay_sess *sess, enum relay_leg leg);
/*
 * Set what the peer of leg signalled for stream idx (after each offer or
 * answer). Opens a latching window of latch_window_ms; a changed address
 * or port forgets the latched source (re-INVITE moving media). Does not
 * block. Returns 0, EINVAL (bad index or address) or ENOMEM. The stream
 * must be open (EINVAL otherwise).
 */
int relay_stream_remote(struct relay_sess *sess, enum relay_leg leg,
			unsigned idx, const struct relay_remote *r);
/*
 * SRTP of the packets leg's peer sends on stream idx (RFC 3711, keys by
 * SDES, RFC 4568): in is the key that peer protects with (its a=crypto;
 * NULL: it sends plain RTP), out the key the other leg's peer expects
 * from us (our a=crypto toward it; NULL: it wants plain RTP). The worker
 * builds one transform (media/sec.h sec_xform: pass, unprotect, protect
 * or both, libsrtp sessions set up once) and applies it to every RTP and
 * RTCP packet of that direction before it is forwarded; a packet that
 * fails is dropped and counted (drop_srtp). Setting it again (a
 * re-INVITE with new keys) replaces the transform; both NULL removes it.
 * The keys are copied. Does not block. Returns 0, EINVAL or ENOMEM; the
 * stream must be open.
 */
struct sec_key;
int relay_stream_srtp(struct relay_sess *sess, enum relay_leg leg, unsigned idx,
		      const struct sec_key *in, const struct sec_key *out);
/*
 * Payload type mapping of what leg's peer sends on stream idx (RFC 3264
 * §5.1: each side sends with the numbers the receiver chose; when the two
 * legs chose different numbers for one codec, e.g. after a transfer, the
 * relay rewrites them): map[pt] is the number to send on for pt (0..127);
 * NULL restores the identity. Applied to RTP only, on the plain packet
 * (after SRTP unprotect, before protect). Copied. Does not block. 0,
 * EINVAL (stream not open) or ENOMEM.
 */
int relay_stream_ptmap(struct relay_sess *sess, enum relay_leg leg,
		       unsigned idx, const uint8_t *map);
/* Snapshot of the statistics of leg's peer on stream idx. Does not block.
   Returns 0 or EINVAL. */
int relay_stream_stats(const struct relay_sess *sess, enum relay_leg leg,
		       unsigned idx, struct relay_stats *st);
/* The context of a session (borrowed). */
struct relay_ctx *relay_sess_ctx(const struct relay_sess *sess);
/* RTP port of an open stream, 0 if not open. */
uint16_t relay_stream_port(const struct relay_sess *sess, enum relay_leg leg,
			   unsigned idx);

/* --- SDP (relay_sdp.c) -------------------------------------------------
 * The SDP of one leg is rewritten to point at Tandem's address of the
 * other leg before it is sent there. */
struct sdp;

/* What Tandem offers or answers on one leg. */
struct relay_sdp_local {
	const char *ip;			  /* numeric local address */
	uint16_t port[RELAY_MAX_STREAMS]; /* RTP port per m-line; 0 rejects
					     it (port 0, RFC 3264 §6) */
	bool rtcp_mux[RELAY_MAX_STREAMS]; /* keep a=rtcp-mux if present */
	bool keep_ice;			  /* keep ICE attributes */
	bool keep_origin;		  /* keep the o= address */
};

/*
 * Rewrite sdp in place: c= (session and media level, where written) and
 * the o= address to loc->ip, each m= port to loc->port[i], a=rtcp to
 * port + 1 with the address, a=rtcp-mux removed unless loc->rtcp_mux[i],
 * ICE attributes removed unless loc->keep_ice. m-lines beyond
 * RELAY_MAX_STREAMS are rejected (port 0). Returns 0, EINVAL (bad ip) or
 * the sdp_* error (ENOBUFS); sdp may then be half rewritten: decode again.
 */
int relay_sdp_rewrite(struct sdp *sdp, const struct relay_sdp_local *loc);
/*
 * The remote of m-line m of a received sdp: address (media c=, else
 * session c=), ports (a=rtcp, else RTP + 1), a=rtcp-mux, direction
 * (c=0.0.0.0 is inactive, RFC 3264 §8.4), clock rate of the first format.
 * nat is copied into r->nat. Returns 0, EINVAL (no such m-line) or
 * EPROTONOSUPPORT (a domain name instead of an address).
 */
int relay_sdp_remote(const struct sdp *sdp, unsigned m, bool nat,
		     struct relay_remote *r);

/*
 * Glue for the call layer, per leg:
 *  - relay_sess_sdp_apply(): a description received from leg's peer;
 *    for each m-line (up to RELAY_MAX_STREAMS) open stream m of leg if
 *    needed and set its remote (relay_sdp_remote(), nat). mux false
 *    ignores a=rtcp-mux (use it for an offer whose answer did not keep
 *    mux: apply the offer again once the answer is known).
 *  - relay_sess_sdp_rewrite(): a description about to be sent to leg's
 *    peer; open stream m of leg for each live m-line and point the text at
 *    leg's local address and ports (relay_sdp_rewrite(); a=rtcp-mux kept
 *    if mux and present; ICE kept if keep_ice).
 * Both block only as relay_stream_open() does. Return 0 or the first
 * error of what they call (ENOSPC, EPROTONOSUPPORT, ENOBUFS, ...).
 */
int relay_sess_sdp_apply(struct relay_sess *sess, enum relay_leg leg,
			 const struct sdp *sdp, bool nat, bool mux);
int relay_sess_sdp_rewrite(struct relay_sess *sess, enum relay_leg leg,
			   struct sdp *sdp, bool mux, bool keep_ice);

#endif
