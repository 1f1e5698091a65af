/* Relay internals shared by relay.c (context, ports), relay_worker.c
   (threads, command queue), relay_fwd.c (packet path) and relay_sess.c
   (session handles). Not part of the public API. */
#ifndef TANDEM_RELAY_INT_H
#define TANDEM_RELAY_INT_H

#include <pthread.h>
#include <stdatomic.h>
#include <sys/socket.h>

#include "relay.h"
#include "rtp.h"
#include "sec.h"

#define RELAY_BATCH_MAX 64
#define RELAY_SLOT 2048 /* bytes per datagram buffer */
/* Room kept at the end of each slot for what SRTP protect adds (auth tag
   and SRTCP index, at most 20 bytes): a datagram larger than
   RELAY_SLOT - RELAY_SLOT_SPARE is dropped as too big. */
#define RELAY_SLOT_SPARE 64

struct event;
struct event_base;

/* An IPv4 or IPv6 socket address in 28 bytes (sockaddr_storage takes 128:
   the packet path touches several per datagram). */
union relay_sa {
	struct sockaddr sa;
	struct sockaddr_in in;
	struct sockaddr_in6 in6;
};
struct relay_core;
struct relay_worker;

/* Counters one worker writes and any thread reads (relaxed atomics: one
   writer, so an increment is a load and a store, no locked op). */
struct relay_astats {
	_Atomic uint64_t packets, bytes, rtcp, forwarded;
	_Atomic uint64_t drop_source, drop_noremote, drop_hold, drop_send;
	_Atomic uint64_t drop_big, malformed, relatched, drop_srtp;
	_Atomic uint64_t peer_reports;
	_Atomic uint32_t peer_fraction, peer_jitter_us;
	_Atomic int32_t peer_lost;
	_Atomic int64_t lost;
	_Atomic uint32_t jitter, jitter_us;
	_Atomic uint64_t last_ms; /* monotonic ms of the last accepted one */
	_Atomic bool latched, srtp_in, srtp_out;
};

#define RELAY_INC(f, v)                                                        \
	atomic_store_explicit(                                                 \
		&(f), atomic_load_explicit(&(f), memory_order_relaxed) + (v),  \
		memory_order_relaxed)
#define RELAY_SET(f, v) atomic_store_explicit(&(f), (v), memory_order_relaxed)
#define RELAY_GET(f) atomic_load_explicit(&(f), memory_order_relaxed)

enum relay_sk { RELAY_SK_RTP, RELAY_SK_RTCP, RELAY_SK_COUNT };

struct relay_stream;

/* One UDP socket of a stream; the event's argument. Worker only. */
struct relay_sock {
	int fd;			 /* owned: -1 when closed */
	struct event *ev;	 /* owned */
	struct relay_stream *st; /* weak: the stream embedding this */
	enum relay_sk k;
};

/* A learnt source address (RFC 7362 latching). Worker only. */
struct relay_latch {
	union relay_sa addr;
	socklen_t len;
	bool set;
	uint64_t last_ms; /* last packet accepted from it */
};

/* One leg's side of stream idx. Fields are the worker's except st (read
   by any thread). The fields the packet path reads come first, packed. */
struct relay_stream {
	struct relay_sock sock[RELAY_SK_COUNT];
	struct relay_core *core; /* weak: embeds this */
	uint8_t leg, idx;
	bool open;
	bool have_rem;
	bool nat; /* of rem, hot copies */
	bool mux;
	uint8_t dir;
	uint32_t rate;
	socklen_t siglen[RELAY_SK_COUNT];   /* 0: hold, no address */
	union relay_sa sig[RELAY_SK_COUNT]; /* signalled */
	struct relay_latch latch[RELAY_SK_COUNT];
	uint64_t window_until; /* latching allowed before this (ms) */
	struct sec_xform *xf;  /* owned: SRTP of this direction, NULL: none */
	bool srtp_fail;	       /* keys given but unusable: drop all */
	uint8_t *ptmap;	       /* owned: 128 PT numbers, NULL: identity */
	struct rtp_rxstat rx;
	struct relay_astats st;
	/* cold */
	uint16_t port;
	struct relay_remote rem;
};

/*
 * A session as the worker sees it, shared with the signaling handle. Its
 * life is two shares (atomic): the handle's and the worker's; whoever
 * drops the last frees it. Every field but s[][].st is written by the
 * worker only, after the create command.
 */
struct relay_core {
	atomic_uint shares;
	atomic_bool orphan;		/* the worker let go at shutdown */
	struct relay_ctx *ctx;		/* borrowed: outlives every session */
	struct relay_worker *w;		/* borrowed: ctx's */
	struct relay_core *prev, *next; /* worker's list */
	bool listed;
	char pfx[72]; /* "[call-id]" for logs */
	struct relay_stream s[RELAY_LEG_COUNT][RELAY_MAX_STREAMS];
};

/* The signaling handle (mem object, one owner thread at a time). */
struct relay_sess {
	struct relay_core *core; /* one share */
	struct relay_ctx *ctx;	 /* borrowed */
	uint16_t port[RELAY_LEG_COUNT][RELAY_MAX_STREAMS];
	bool have_rem[RELAY_LEG_COUNT][RELAY_MAX_STREAMS];
	enum relay_dir dir[RELAY_LEG_COUNT][RELAY_MAX_STREAMS];
	/* relay_sess_local_ip(): the leg's own address, else the ctx's */
	bool lip_set[RELAY_LEG_COUNT];
	union relay_sa lip[RELAY_LEG_COUNT];
	socklen_t lip_len[RELAY_LEG_COUNT];
	char lip_str[RELAY_LEG_COUNT][RELAY_IP_LEN];
};

enum relay_cmd_type {
	RELAY_CMD_CREATE, /* list the core */
	RELAY_CMD_OPEN,	  /* register the sockets of a stream */
	RELAY_CMD_REMOTE, /* apply a relay_remote */
	RELAY_CMD_SRTP,	  /* set the SRTP transform of a stream */
	RELAY_CMD_PTMAP,  /* set the PT map of a stream */
	RELAY_CMD_CLOSE,  /* close sockets, release ports, drop share */
	RELAY_CMD_SYNC,	  /* signal the waiting caller */
	RELAY_CMD_STOP,	  /* leave the loop */
};

struct relay_sync {
	pthread_mutex_t mtx;
	pthread_cond_t cond;
	unsigned pending;
};

/* A command (malloc'd by the poster, freed by the worker). */
struct relay_cmd {
	struct relay_cmd *next;
	enum relay_cmd_type type;
	struct relay_core *core; /* borrowed: the worker's share holds it */
	uint8_t leg, idx;
	int fd[RELAY_SK_COUNT];	 /* OPEN: owned by the command, then worker */
	uint16_t port;		 /* OPEN */
	struct relay_remote rem; /* REMOTE */
	uint8_t *ptmap;		 /* PTMAP: owned by the command, then worker */
	struct sec_key key[2];	 /* SRTP: in, out */
	bool has_key[2];
	struct relay_sync *sync; /* SYNC: borrowed, waiter's stack */
};

/* A worker's totals over every session it ever carried (metrics): the
   worker writes them (RELAY_INC) beside its streams' own, any thread
   reads them (relay_ctx_stats()). */
struct relay_wtotals {
	_Atomic uint64_t packets, forwarded, drop_source, drop_noremote,
		drop_hold, drop_send, drop_big, drop_srtp;
};

struct relay_worker {
	struct relay_ctx *ctx; /* borrowed */
	unsigned idx;
	pthread_t th;
	bool started;
	int efd;
	struct event_base *base;
	struct event *wake_ev;
	_Atomic(struct relay_cmd *) cmds; /* LIFO, reversed on take */
	unsigned batch;			  /* conf.batch */
	_Atomic uint64_t ncmds;
	struct relay_core *list; /* sessions */
	/* batch buffers (worker only) */
	uint8_t *buf; /* RELAY_BATCH_MAX x RELAY_SLOT */
	struct mmsghdr rx[RELAY_BATCH_MAX];
	struct iovec rxiov[RELAY_BATCH_MAX];
	union relay_sa src[RELAY_BATCH_MAX];
	struct mmsghdr tx[RELAY_SK_COUNT][RELAY_BATCH_MAX];
	struct iovec txiov[RELAY_SK_COUNT][RELAY_BATCH_MAX];
	unsigned ntx[RELAY_SK_COUNT];
	int txfd[RELAY_SK_COUNT];
	struct relay_wtotals tot;
};

struct relay_ctx {
	struct relay_conf conf;
	char ip[RELAY_LEG_COUNT][RELAY_IP_LEN];
	union relay_sa local[RELAY_LEG_COUNT];
	socklen_t local_len[RELAY_LEG_COUNT];
	pthread_mutex_t port_mtx;
	uint16_t *ring;	 /* FIFO of free pair indices */
	unsigned npairs; /* ring capacity */
	unsigned head, nfree;
	uint16_t port_base; /* even RTP port of pair 0 */
	struct relay_worker *w;
	unsigned nw;
	_Atomic unsigned sessions; /* allocated, not yet closed by a worker */
};

/* relay.c */
uint64_t relay_now_ms(void);
/* Take a pair and bind both sockets on local (NULL: the leg's address
   of the context). */
int relay_ports_take(struct relay_ctx *ctx, enum relay_leg leg,
		     const union relay_sa *local, socklen_t local_len,
		     uint16_t *portp, int fd[RELAY_SK_COUNT]);
void relay_ports_give(struct relay_ctx *ctx, uint16_t port);
/* Numeric ip + port into ss; 0 or EINVAL. */
int relay_sa_set(union relay_sa *ss, socklen_t *len, const char *ip,
		 uint16_t port);

/* relay_worker.c */
int relay_worker_start(struct relay_worker *w);
void relay_worker_stop(struct relay_worker *w);
/* Queue cmd (never blocks; cmd is the worker's from here). */
void relay_worker_post(struct relay_worker *w, struct relay_cmd *cmd);
/* Drop one share of core; frees it at zero. */
void relay_core_put(struct relay_core *core);

/* relay_fwd.c (worker thread) */
void relay_fwd_read(int fd, short what, void *arg);
void relay_fwd_remote(struct relay_stream *st, const struct relay_remote *r,
		      uint64_t now_ms);

#endif
