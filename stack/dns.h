/* Asynchronous DNS for SIP server location: RFC 3263 §4 (NAPTR -> SRV ->
   A/AAAA), RFC 2782 SRV ordering, on c-ares driven by a libevent loop,
   with a TTL-bounded cache per context. Never blocks the worker. */
#ifndef TANDEM_DNS_H
#define TANDEM_DNS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "sip_uri.h"
#include "tmr.h"
#include "tp.h"

struct event_base;
struct dns_ctx;	   /* one per signaling worker; refcounted (mem_deref) */
struct dns_query;  /* one resolution in progress; refcounted */
struct dns_result; /* ordered targets; refcounted, immutable */

/* Transports the ctx may pick (struct dns_conf.transports). */
enum {
	DNS_TRANSPORT_UDP = 1 << 0,
	DNS_TRANSPORT_TCP = 1 << 1,
	DNS_TRANSPORT_TLS = 1 << 2, /* TLS over TCP (SIPS+D2T, _sips._tcp) */
};

/* Address families looked up (struct dns_conf.families). */
enum {
	DNS_FAMILY_V4 = 1 << 0, /* A */
	DNS_FAMILY_V6 = 1 << 1, /* AAAA */
};

/* Uniform random 32-bit number (SRV weights); arg is dns_conf.rand_arg. */
typedef uint32_t(dns_rand_h)(void *arg);

/* Settings; dns_conf_default() fills the defaults. */
struct dns_conf {
	const char *servers; /* "ip[:port],..." ("127.0.0.1:5353",
				"[::1]:53"); NULL: the system's
				/etc/resolv.conf (read once, at alloc).
				Copied at alloc. */
	unsigned timeout_ms; /* first per-server timeout; default 2000 */
	unsigned tries;	     /* attempts per server; default 2 */
	unsigned transports; /* DNS_TRANSPORT_*; default UDP|TCP|TLS */
	unsigned families;   /* DNS_FAMILY_*; default V4|V6 */
	bool prefer_v6;	     /* AAAA addresses before A for one host;
				default false */
	unsigned cache_max;  /* cache entries (name + type); 0 disables;
				default 4096 */
	unsigned ttl_max_s;  /* cap on a positive answer's TTL; default
				3600 */
	unsigned neg_ttl_s;  /* NXDOMAIN/NODATA are cached for the SOA
				minimum (RFC 2308 §5) capped at this, or this
				without SOA; 0 = not cached; default 30 */
	tmr_now_h *now_h;    /* clock for cache expiry (ms); NULL: the
				monotonic clock. Tests inject one. */
	void *now_arg;
	dns_rand_h *rand_h; /* NULL: OpenSSL RAND_bytes() */
	void *rand_arg;
};

/* One place to send a request to. */
struct dns_target {
	struct sockaddr_storage addr; /* IP and port */
	socklen_t addrlen;
	enum tp_proto proto; /* TP_UDP, TP_TCP or TP_TLS: what to send over */
	bool tls;	     /* proto == TP_TLS (sips or SIPS+D2T/_sips._tcp) */
	uint16_t priority;   /* SRV priority; 0 when no SRV was used */
	uint16_t weight;     /* SRV weight; 0 when no SRV was used */
};

/*
 * Resolution done. err 0: res holds at least one target, in the order to
 * try them (RFC 3263 §4.3: on timeout, 503 or transport error go on to the
 * next). err otherwise (res NULL): ENOENT (no such name or no usable
 * record), ETIMEDOUT (servers did not answer), ECONNREFUSED, EIO (server
 * failure or bad answer), ENOMEM. res is borrowed: valid while the query
 * lives; mem_ref() it to keep it. Called at most once, never from inside
 * dns_sip_resolve(), never after the query was cancelled. The handler may
 * mem_deref() or cancel its query.
 */
typedef void(dns_resolve_h)(int err, struct dns_result *res, void *arg);

void dns_conf_default(struct dns_conf *conf);

/*
 * Create a resolver on base (borrowed: must outlive the ctx); conf NULL:
 * defaults. Free with mem_deref(ctx): queries still running are cancelled
 * (their handlers are never called; the caller still derefs them).
 * Returns 0, EINVAL (bad server list), ENOMEM, or EIO (c-ares failed).
 */
int dns_ctx_alloc(struct dns_ctx **ctxp, struct event_base *base,
		  const struct dns_conf *conf);

/* Drop every cached answer. */
void dns_cache_flush(struct dns_ctx *ctx);
/* Counters of one ctx (its thread only). */
struct dns_stats {
	uint64_t lookups; /* raw lookups (name + type) asked for */
	uint64_t cached;  /* of which answered from the cache */
	uint64_t sent;	  /* of which sent to c-ares (one DNS question,
			     c-ares retries included) */
	uint64_t merged;  /* of which joined an identical one in flight
			     and got its answer (no question of their own) */
};
void dns_ctx_stats(const struct dns_ctx *ctx, struct dns_stats *st);
/* Cached entries (for tests and /stats). */
size_t dns_cache_count(const struct dns_ctx *ctx);

/*
 * Find where to send a request for uri (RFC 3263 §4): numeric host ->
 * that address; a port -> A/AAAA; a transport -> SRV of it then A/AAAA;
 * else NAPTR -> SRV -> A/AAAA (SRV of every enabled transport when there
 * is no NAPTR; A/AAAA on the host and the default port when there is no
 * SRV). maddr, when present, is the target instead of the host.
 * uri is only read during the call. On success *qp gets the caller's
 * reference; drop it with mem_deref() or dns_query_cancel(), at the
 * latest from the handler. Returns 0, EINVAL (not sip/sips, bad host,
 * name too long), EPROTONOSUPPORT (transport unknown or not enabled,
 * sips with transport=udp), ENOMEM.
 */
int dns_sip_resolve(struct dns_query **qp, struct dns_ctx *ctx,
		    const struct sip_uri *uri, dns_resolve_h *h, void *arg);

/* Cancel q (no callback after this) and drop the caller's reference.
   Returns NULL: q = dns_query_cancel(q). NULL is accepted. */
struct dns_query *dns_query_cancel(struct dns_query *q);

/* Number of targets (>= 1 in a delivered result). */
size_t dns_result_count(const struct dns_result *res);
/* Target i (0-based, in the order to try), NULL past the end. */
const struct dns_target *dns_result_target(const struct dns_result *res,
					   size_t i);

/*
 * RFC 2782 ordering of SRV records, exposed for tests: sorts recs[0..n)
 * in place, lowest priority first, weighted random order within one
 * priority, drawing numbers from rand_h (NULL: RAND_bytes()).
 */
struct dns_srv {
	const char *target; /* borrowed */
	uint16_t port, priority, weight;
};
void dns_srv_order(struct dns_srv *recs, size_t n, dns_rand_h *rand_h,
		   void *rand_arg);

#endif
