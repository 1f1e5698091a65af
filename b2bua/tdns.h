/* Trunks named by DNS: resolved on worker 0 (RFC 3263 via stack/dns),
   read by every worker (tdns.c). */
#ifndef TANDEM_TDNS_H
#define TANDEM_TDNS_H

#include <stdbool.h>
#include <stdint.h>

#include "db/pol.h"
#include "stack/txn.h"

struct tdns;
struct b2b_worker;

/* servers: "ip[:port],..." for the resolver, "" or NULL: resolv.conf.
   0 or ENOMEM. */
int tdns_alloc(struct tdns **tp, const char *servers);
/* Cancels what runs; call while worker 0's event base still exists. */
void tdns_free(struct tdns *t);
/* Worker 0's housekeeping: start the resolutions that are due. */
void tdns_tick(struct tdns *t, struct b2b_worker *bw, uint64_t now_ms);
/* The first destination of a trunk named by DNS: 0, or EHOSTUNREACH
   when it has no answer (yet). Any thread. */
int tdns_dest(struct tdns *t, const struct pol_trunk *tr, struct txn_dest *d);
/* Destination k (0-based, in RFC 3263 order): 0 or ENOENT past the end
   (EHOSTUNREACH without an answer). */
int tdns_dest_at(struct tdns *t, const struct pol_trunk *tr, unsigned k,
		 struct txn_dest *d);
/* host is a name, not an IPv4/IPv6 literal. */
bool tdns_is_name(const char *host);

#endif
