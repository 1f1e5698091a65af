/*
 * Stateless To tags (RFC 3261 §8.2.7, §19.3).
 *
 * §8.2.7: a stateless UAS "MUST" generate To tags "in a stateless manner
 * - in a manner that will generate the same tag for the same request
 * consistently"; §19.3: a tag "MUST be globally unique and
 * cryptographically random with at least 32 bits of randomness". Both
 * hold for a keyed pseudo-random function of the request's identity:
 * SipHash-2-4 under a 128-bit key drawn at start-up, printed as 16 hex
 * digits (64 bits). A retransmission (same Via, same branch ...) gets the
 * same tag, another request an unrelated one, and nobody without the key
 * can predict either. Cheaper than RAND_bytes() per reply, which matters
 * on the paths a flood exercises (the 400 and the 403 of unknown sources).
 */
#ifndef TANDEM_STACK_STAG_H
#define TANDEM_STACK_STAG_H

#include <stddef.h>
#include <stdint.h>

#include "pl.h"

#define STAG_LEN 16 /* hex digits of a tag */

struct stag_key {
	uint64_t k0, k1;
};

/* Fill key from the OpenSSL CSPRNG. 0 or EIO. */
int stag_key_init(struct stag_key *key);

/* SipHash-2-4 of data[0..len) under key (the reference algorithm). */
uint64_t stag_siphash(const struct stag_key *key, const void *data, size_t len);

/* out (STAG_LEN + 1 bytes): the tag of the request identified by parts
   (e.g. its top Via value, Call-ID, From tag, CSeq), NUL-terminated. Each
   part is length-prefixed, so ("ab", "c") and ("a", "bc") differ; at most
   1 KiB of the parts is hashed (a part is cut after 255 bytes). */
void stag_make(const struct stag_key *key, const struct pl *parts, size_t n,
	       char *out);

#endif
