/* The source index (db/pol_cidr.c) against a brute-force reference: many
   trunks with nested IPv4 and IPv6 CIDRs of every kind of length, with
   and without an inbound port, and lookups of addresses inside, beside
   and outside them. The answer must be the reference's: the longest
   listed prefix holding the address that has an entry for the port (an
   exact port first, else one for any port). */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>

#include "db/pol.h"
#include "testutil.h"

enum { NT = 400 };

struct ref {
	int v6;
	uint8_t a[16];
	unsigned plen;
	uint16_t port;
	int64_t id;
};

static struct ref refs[NT];
static unsigned nrefs;

static uint32_t rng = 2463534242u;

static uint32_t
next(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 17;
	rng ^= rng << 5;
	return rng;
}

/* An address near the others: a few bytes from small pools, so the
   prefixes nest and share long runs of bits. */
static void
pick_addr(int v6, uint8_t a[16])
{
	static const uint8_t pool[] = {0, 1, 2, 128, 255};
	unsigned i, n = v6 ? 16 : 4;

	memset(a, 0, 16);
	for (i = 0; i < n; i++)
		a[i] = next() % 4 ? pool[next() % sizeof(pool)]
				  : (uint8_t)next();
	if (!v6)
		a[0] = (uint8_t[]){10, 11, 192}[next() % 3];
	else {
		a[0] = 0x20;
		a[1] = 0x01;
	}
}

static bool
bits_eq(const uint8_t *x, const uint8_t *y, unsigned plen)
{
	unsigned i;

	for (i = 0; i < plen; i++)
		if (((x[i / 8] ^ y[i / 8]) >> (7 - i % 8)) & 1)
			return false;
	return true;
}

static int64_t
reference(int v6, const uint8_t *a, uint16_t port)
{
	int best_plen = -1;
	int64_t best = 0;
	unsigned i, j;

	for (i = 0; i < nrefs; i++) {
		const struct ref *r = &refs[i];
		int64_t pick = 0;

		if (r->v6 != v6 || (int)r->plen <= best_plen ||
		    !bits_eq(a, r->a, r->plen))
			continue;
		/* this prefix's entries: exact port, else any port */
		for (j = 0; j < nrefs; j++) {
			const struct ref *o = &refs[j];

			if (o->v6 != v6 || o->plen != r->plen ||
			    !bits_eq(o->a, r->a, r->plen))
				continue;
			if (o->port == port) {
				pick = o->id;
				break;
			}
			if (!o->port && !pick)
				pick = o->id;
		}
		if (pick) {
			best_plen = (int)r->plen;
			best = pick;
		}
	}
	return best;
}

static bool
dup_entry(const struct ref *r)
{
	unsigned i;

	for (i = 0; i < nrefs; i++)
		if (refs[i].v6 == r->v6 && refs[i].plen == r->plen &&
		    refs[i].port == r->port &&
		    bits_eq(refs[i].a, r->a, r->plen))
			return true;
	return false;
}

static void
test_cidr_matches_reference(void)
{
	static const unsigned len4[] = {0, 8, 12, 16, 17, 24, 30, 31, 32};
	static const unsigned len6[] = {0, 16, 32, 47, 64, 100, 127, 128};
	static const uint16_t ports[] = {0, 0, 5060, 5080};
	static char names[NT][16], cidrs[NT][64];
	struct pol_build *b = NULL;
	struct pol_snap *s = NULL;
	char err[256] = "";
	unsigned i, k, hits = 0, misses = 0, wrong = 0;

	CU_ASSERT_EQUAL_FATAL(pol_build_alloc(&b), 0);
	nrefs = 0;
	for (i = 0; i < NT; i++) {
		struct ref r;
		struct pol_trunk t;
		char ip[INET6_ADDRSTRLEN];

		memset(&r, 0, sizeof(r));
		r.v6 = next() % 3 == 0;
		pick_addr(r.v6, r.a);
		r.plen = r.v6 ? len6[next() % 8] : len4[next() % 9];
		r.port = ports[next() % 4];
		if (!r.plen) /* one for any port would take every lookup */
			r.port = 5060;
		r.id = 1 + i;
		if (dup_entry(&r)) { /* a tie would depend on the order */
			r.plen = r.v6 ? 128 : 32;
			r.a[r.v6 ? 15 : 3] ^= 0x5a;
		}
		if (dup_entry(&r))
			continue;
		refs[nrefs++] = r;
		inet_ntop(r.v6 ? AF_INET6 : AF_INET, r.a, ip, sizeof(ip));
		snprintf(cidrs[i], sizeof(cidrs[i]), "%s/%u", ip, r.plen);
		snprintf(names[i], sizeof(names[i]), "t%u", i);
		memset(&t, 0, sizeof(t));
		t.id = r.id;
		t.name = names[i];
		t.host = "127.0.0.1";
		t.port = 5060;
		t.cidrs = cidrs[i];
		t.in_port = r.port;
		t.enabled = true;
		CU_ASSERT_EQUAL(pol_build_trunk(b, &t), 0);
	}
	CU_ASSERT_EQUAL(pol_build_compile(b, 0, &s, err, sizeof(err)), 0);
	if (err[0])
		fprintf(stderr, "compile: %s\n", err);
	pol_build_free(b);
	CU_ASSERT_PTR_NOT_NULL_FATAL(s);
	for (k = 0; k < 20000; k++) {
		struct sockaddr_storage ss;
		int v6 = next() % 3 == 0, mapped = !v6 && next() % 5 == 0;
		uint16_t port = ports[next() % 4] ? ports[next() % 4] : 9999;
		uint8_t a[16];
		const struct pol_trunk *got;
		int64_t want;

		if (next() % 2 && nrefs) { /* inside or beside a listed one */
			const struct ref *r = &refs[next() % nrefs];

			v6 = r->v6;
			mapped = !v6 && next() % 5 == 0;
			memcpy(a, r->a, 16);
			if (r->plen < (v6 ? 128u : 32u)) {
				unsigned bit =
					r->plen +
					next() % ((v6 ? 128 : 32) - r->plen);

				a[bit / 8] ^= (uint8_t)(0x80u >> (bit % 8));
			}
			if (next() % 4 == 0 && r->plen) { /* beside it */
				unsigned bit = next() % r->plen;

				a[bit / 8] ^= (uint8_t)(0x80u >> (bit % 8));
			}
		} else {
			pick_addr(v6, a);
		}
		memset(&ss, 0, sizeof(ss));
		if (v6 || mapped) {
			struct sockaddr_in6 *s6 = (void *)&ss;

			s6->sin6_family = AF_INET6;
			s6->sin6_port = htons(port);
			if (mapped) {
				s6->sin6_addr.s6_addr[10] = 0xff;
				s6->sin6_addr.s6_addr[11] = 0xff;
				memcpy(&s6->sin6_addr.s6_addr[12], a, 4);
			} else {
				memcpy(s6->sin6_addr.s6_addr, a, 16);
			}
		} else {
			struct sockaddr_in *s4 = (void *)&ss;

			s4->sin_family = AF_INET;
			s4->sin_port = htons(port);
			memcpy(&s4->sin_addr, a, 4);
		}
		want = reference(v6, a, port);
		got = pol_trunk_by_src(s, (const struct sockaddr *)&ss);
		if (want ? !got || got->id != want : got != NULL) {
			char ip[INET6_ADDRSTRLEN];

			inet_ntop(v6 ? AF_INET6 : AF_INET, a, ip, sizeof(ip));
			if (wrong++ < 5)
				fprintf(stderr,
					"%s port %u: trunk %lld, want "
					"%lld\n",
					ip, port,
					got ? (long long)got->id : 0LL,
					(long long)want);
		}
		hits += want != 0;
		misses += want == 0;
	}
	CU_ASSERT_EQUAL(wrong, 0);
	/* the lookups reach both outcomes often */
	CU_ASSERT(hits > 5000);
	CU_ASSERT(misses > 300);
	pol_snap_deref(s);
}

void test_pol_cidr_register(void);

void
test_pol_cidr_register(void)
{
	CU_pSuite s = tu_suite("pol_cidr");

	TU_ADD(s, test_cidr_matches_reference);
}
