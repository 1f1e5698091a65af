/* DNS private interface: the resolver context and raw lookups (dns.c),
   shared with the RFC 3263 logic (dns_sip.c). */
#ifndef TANDEM_DNS_INT_H
#define TANDEM_DNS_INT_H

#include <ares.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dns.h"

#define DNS_NAME_MAX 255 /* RFC 1035 §2.3.4, without the final dot */

struct dns_sock;
struct dns_centry;
struct dns_lk;
struct dns_fly;

struct dns_ctx {
	struct event_base *base;     /* borrowed: outlives the ctx */
	ares_channel chan;	     /* owned; NULL until initialised */
	struct dns_conf conf;	     /* conf.servers is NULL after alloc */
	struct event *tmo_ev;	     /* owned: c-ares timeouts */
	struct dns_sock *socks;	     /* owned list: one event per c-ares fd */
	struct dns_centry **buckets; /* owned hash of owned entries */
	size_t nbuckets;
	struct dns_centry *lru_head, *lru_tail; /* most recent first */
	size_t ncache;
	struct dns_query *queries; /* weak list of live queries */
	struct dns_fly *flights;   /* owned by c-ares until their callback:
				      the lookups sent and not answered,
				      each with every waiter for it */
	struct dns_stats st;
	bool closing; /* in the destructor */
};

/*
 * An answer for one lookup: status is ARES_SUCCESS, ARES_ENODATA (no
 * record of the type), ARES_ENOTFOUND (NXDOMAIN) or another ARES_ error;
 * abuf[0..alen) the raw message (NULL when none). Borrowed: valid during
 * the call only.
 */
typedef void(dns_lk_h)(void *arg, size_t slot, int status,
		       const unsigned char *abuf, int alen);

/*
 * Look name/type up, from the cache or through c-ares. h(arg, slot, ...)
 * is called once: from inside this call on a cache hit or an immediate
 * c-ares failure, else later from the event loop. A lookup identical to
 * one in flight (same name, case-insensitive, and type) sends no question
 * of its own: it waits for that one's answer (dns_stats.merged). The lookup is
 * linked into *owner; dns_lk_detach_all(owner) makes every pending one silent.
 * Returns 0 or ENOMEM (h not called).
 */
int dns_lk_start(struct dns_ctx *ctx, struct dns_lk **owner, const char *name,
		 int type, dns_lk_h *h, void *arg, size_t slot);
void dns_lk_detach_all(struct dns_lk **owner);

/* Re-arm the c-ares timeout timer; call after anything that may start or
   end a c-ares query. */
void dns_ctx_timer_update(struct dns_ctx *ctx);

/* dns_sip.c: the ctx is going away; cancel and unlink every query. */
void dns_sip_orphan_all(struct dns_ctx *ctx);

/* Map an ARES_ status to the errno given to callers. */
int dns_ares_err(int status);

uint32_t dns_rand_default(void *arg);

#endif
