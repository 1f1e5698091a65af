/* Per-source digest failure counting and blocks (authban.h). A small
   open-addressing table under one mutex: failures are rare next to
   calls, and a blocked source's attempts cost one lookup. */
#include "authban.h"

#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#define AB_SLOTS 4096 /* power of two */
#define AB_PROBE 8
#define AB_STRIKES_MAX 6		/* ban_ms << 6: 64 times */
#define AB_QUIET_MS (3600ULL * 1000ULL) /* strikes forgotten after it */

struct ab_slot {
	uint8_t addr[16]; /* IPv4 mapped into the first 4 bytes + family */
	uint8_t fam;	  /* 0: free */
	unsigned fails;
	unsigned strikes;
	uint64_t first_ms; /* of the failures counted */
	uint64_t last_ms;  /* last failure or block start */
	uint64_t until_ms; /* blocked before this */
};

struct authban {
	struct authban_conf conf;
	pthread_mutex_t lock;
	struct ab_slot slot[AB_SLOTS];
};

int
authban_alloc(struct authban **abp, const struct authban_conf *conf)
{
	struct authban *ab;

	if (!abp || !conf)
		return EINVAL;
	ab = calloc(1, sizeof(*ab));
	if (!ab)
		return ENOMEM;
	ab->conf = *conf;
	if (!ab->conf.window_ms)
		ab->conf.window_ms = 60000;
	if (!ab->conf.ban_ms)
		ab->conf.ban_ms = 60000;
	pthread_mutex_init(&ab->lock, NULL);
	*abp = ab;
	return 0;
}

void
authban_free(struct authban *ab)
{
	if (!ab)
		return;
	pthread_mutex_destroy(&ab->lock);
	free(ab);
}

/* The address bytes of sa (the port does not matter: a guesser changes
   it freely); false for a family we do not track. */
static bool
key_of(const struct sockaddr *sa, uint8_t addr[16], uint8_t *fam)
{
	memset(addr, 0, 16);
	if (sa && sa->sa_family == AF_INET) {
		memcpy(addr, &((const struct sockaddr_in *)sa)->sin_addr, 4);
		*fam = 4;
		return true;
	}
	if (sa && sa->sa_family == AF_INET6) {
		memcpy(addr, &((const struct sockaddr_in6 *)sa)->sin6_addr, 16);
		*fam = 6;
		return true;
	}
	return false;
}

static uint32_t
hash_of(const uint8_t addr[16], uint8_t fam)
{
	uint64_t h = 0xcbf29ce484222325ULL ^ fam;
	unsigned i;

	for (i = 0; i < 16; i++)
		h = (h ^ addr[i]) * 0x100000001b3ULL;
	return (uint32_t)(h ^ (h >> 32));
}

/* The slot of the address, NULL when not there; with create, a free or
   the least recently active slot of its probe run is taken over. */
static struct ab_slot *
find(struct authban *ab, const uint8_t addr[16], uint8_t fam, bool create)
{
	uint32_t h = hash_of(addr, fam), i;
	struct ab_slot *victim = NULL;

	for (i = 0; i < AB_PROBE; i++) {
		struct ab_slot *s = &ab->slot[(h + i) & (AB_SLOTS - 1)];

		if (s->fam == fam && !memcmp(s->addr, addr, 16))
			return s;
		if (!victim || !s->fam ||
		    (victim->fam && s->last_ms < victim->last_ms))
			victim = s;
	}
	if (!create)
		return NULL;
	memset(victim, 0, sizeof(*victim));
	memcpy(victim->addr, addr, 16);
	victim->fam = fam;
	return victim;
}

uint64_t
authban_blocked(struct authban *ab, const struct sockaddr *sa, uint64_t now_ms)
{
	uint8_t addr[16], fam;
	struct ab_slot *s;
	uint64_t left = 0;

	if (!ab || !ab->conf.fails || !key_of(sa, addr, &fam))
		return 0;
	pthread_mutex_lock(&ab->lock);
	s = find(ab, addr, fam, false);
	if (s && s->until_ms > now_ms)
		left = s->until_ms - now_ms;
	pthread_mutex_unlock(&ab->lock);
	return left;
}

uint64_t
authban_fail(struct authban *ab, const struct sockaddr *sa, uint64_t now_ms,
	     unsigned *nfails)
{
	uint8_t addr[16], fam;
	struct ab_slot *s;
	uint64_t ban = 0;

	if (nfails)
		*nfails = 0;
	if (!ab || !ab->conf.fails || !key_of(sa, addr, &fam))
		return 0;
	pthread_mutex_lock(&ab->lock);
	s = find(ab, addr, fam, true);
	if (s->last_ms && now_ms - s->last_ms > AB_QUIET_MS)
		s->strikes = 0;
	if (!s->fails || now_ms - s->first_ms > ab->conf.window_ms) {
		s->fails = 0; /* a new window */
		s->first_ms = now_ms;
	}
	s->fails++;
	s->last_ms = now_ms;
	if (nfails)
		*nfails = s->fails;
	if (s->fails >= ab->conf.fails) {
		ban = ab->conf.ban_ms << s->strikes;
		if (s->strikes < AB_STRIKES_MAX)
			s->strikes++;
		s->until_ms = now_ms + ban;
		s->fails = 0;
	}
	pthread_mutex_unlock(&ab->lock);
	return ban;
}

void
authban_ok(struct authban *ab, const struct sockaddr *sa)
{
	uint8_t addr[16], fam;
	struct ab_slot *s;

	if (!ab || !ab->conf.fails || !key_of(sa, addr, &fam))
		return;
	pthread_mutex_lock(&ab->lock);
	s = find(ab, addr, fam, false);
	if (s)
		memset(s, 0, sizeof(*s));
	pthread_mutex_unlock(&ab->lock);
}
