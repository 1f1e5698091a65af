/* Stateless To tags: SipHash-2-4 under a start-up key (see stag.h). */
#include "stag.h"

#include <errno.h>
#include <openssl/rand.h>
#include <string.h>

int
stag_key_init(struct stag_key *key)
{
	unsigned char r[16];

	if (RAND_bytes(r, sizeof(r)) != 1)
		return EIO;
	memcpy(&key->k0, r, 8);
	memcpy(&key->k1, r + 8, 8);
	return 0;
}

#define ROTL(x, b) (uint64_t)(((x) << (b)) | ((x) >> (64 - (b))))
#define SIPROUND                                                               \
	do {                                                                   \
		v0 += v1;                                                      \
		v1 = ROTL(v1, 13);                                             \
		v1 ^= v0;                                                      \
		v0 = ROTL(v0, 32);                                             \
		v2 += v3;                                                      \
		v3 = ROTL(v3, 16);                                             \
		v3 ^= v2;                                                      \
		v0 += v3;                                                      \
		v3 = ROTL(v3, 21);                                             \
		v3 ^= v0;                                                      \
		v2 += v1;                                                      \
		v1 = ROTL(v1, 17);                                             \
		v1 ^= v2;                                                      \
		v2 = ROTL(v2, 32);                                             \
	} while (0)

static uint64_t
le64(const unsigned char *p)
{
	uint64_t v = 0;
	int i;

	for (i = 7; i >= 0; i--)
		v = (v << 8) | p[i];
	return v;
}

uint64_t
stag_siphash(const struct stag_key *key, const void *data, size_t len)
{
	const unsigned char *p = data, *end = p + (len & ~(size_t)7);
	uint64_t v0 = 0x736f6d6570736575ULL ^ key->k0;
	uint64_t v1 = 0x646f72616e646f6dULL ^ key->k1;
	uint64_t v2 = 0x6c7967656e657261ULL ^ key->k0;
	uint64_t v3 = 0x7465646279746573ULL ^ key->k1;
	uint64_t m, b = (uint64_t)len << 56;
	size_t left = len & 7, i;

	for (; p != end; p += 8) {
		m = le64(p);
		v3 ^= m;
		SIPROUND;
		SIPROUND;
		v0 ^= m;
	}
	for (i = 0; i < left; i++)
		b |= (uint64_t)p[i] << (8 * i);
	v3 ^= b;
	SIPROUND;
	SIPROUND;
	v0 ^= b;
	v2 ^= 0xff;
	SIPROUND;
	SIPROUND;
	SIPROUND;
	SIPROUND;
	return v0 ^ v1 ^ v2 ^ v3;
}

void
stag_make(const struct stag_key *key, const struct pl *parts, size_t n,
	  char *out)
{
	static const char hex[] = "0123456789abcdef";
	unsigned char buf[1024];
	size_t o = 0, i, l;
	uint64_t h;
	int k;

	for (i = 0; i < n; i++) {
		l = parts[i].l > 255 ? 255 : parts[i].l;
		if (o + 1 + l > sizeof(buf))
			break;
		buf[o++] = (unsigned char)l;
		if (l)
			memcpy(buf + o, parts[i].p, l);
		o += l;
	}
	h = stag_siphash(key, buf, o);
	for (k = 0; k < STAG_LEN; k++)
		out[k] = hex[(h >> (60 - 4 * k)) & 0xf];
	out[STAG_LEN] = '\0';
}
