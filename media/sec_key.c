/* SDES keys: RFC 4568 §6.1 key-params ("inline:" base64 key||salt,
   lifetime, MKI) and §9.1 a=crypto values; suite table (RFC 4568 §6.2,
   RFC 7714 §14.2). */
#include "sec.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/rand.h>

#include "stack/sdp.h"

static const struct {
	const char *name;
	uint8_t key_len, rtp_tag;
} suites[SEC_SUITE_COUNT] = {
	[SEC_AES_CM_128_HMAC_SHA1_80] = {"AES_CM_128_HMAC_SHA1_80", 30, 10},
	[SEC_AES_CM_128_HMAC_SHA1_32] = {"AES_CM_128_HMAC_SHA1_32", 30, 4},
	[SEC_AEAD_AES_128_GCM] = {"AEAD_AES_128_GCM", 28, 16},
	[SEC_AEAD_AES_256_GCM] = {"AEAD_AES_256_GCM", 44, 16},
};

#define LIFETIME_MAX (UINT64_C(1) << 48) /* RFC 3711 §9.2 */

const char *
sec_suite_name(enum sec_suite s)
{
	return (unsigned)s < SEC_SUITE_COUNT ? suites[s].name : NULL;
}

int
sec_suite_parse(const struct pl *name, enum sec_suite *s)
{
	unsigned i;

	for (i = 0; i < SEC_SUITE_COUNT; i++) {
		if (pl_eq_str(name, suites[i].name)) {
			*s = (enum sec_suite)i;
			return 0;
		}
	}
	return ENOTSUP;
}

size_t
sec_suite_key_len(enum sec_suite s)
{
	return (unsigned)s < SEC_SUITE_COUNT ? suites[s].key_len : 0;
}

size_t
sec_suite_rtp_overhead(enum sec_suite s)
{
	return (unsigned)s < SEC_SUITE_COUNT ? suites[s].rtp_tag : 0;
}

size_t
sec_suite_rtcp_overhead(enum sec_suite s)
{
	/* SRTCP of both AES_CM suites uses the 80-bit tag (RFC 4568 §6.2.2);
	   plus the 4-byte E flag and SRTCP index (RFC 3711 §3.4). */
	if ((unsigned)s >= SEC_SUITE_COUNT)
		return 0;
	return (s == SEC_AES_CM_128_HMAC_SHA1_32 ? 10u : suites[s].rtp_tag) +
	       4u;
}

int
sec_key_generate(struct sec_key *k, enum sec_suite suite)
{
	if ((unsigned)suite >= SEC_SUITE_COUNT)
		return EINVAL;
	memset(k, 0, sizeof(*k));
	k->suite = suite;
	k->len = suites[suite].key_len;
	if (RAND_bytes(k->bytes, k->len) != 1) {
		sec_key_wipe(k);
		return EIO;
	}
	return 0;
}

void
sec_key_wipe(struct sec_key *k)
{
	OPENSSL_cleanse(k, sizeof(*k));
}

/* --- base64 (RFC 4648 §4; padding optional on input) ----------------- */

static const char b64[] =
	"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

static int
b64_val(char c)
{
	const char *p = c ? strchr(b64, c) : NULL;

	return p ? (int)(p - b64) : -1;
}

/* Strict decode into out[0..max): only the alphabet, '=' only at the end
   and only as much as the length calls for, no left-over bits set. */
static int
b64_decode(const struct pl *in, uint8_t *out, size_t max, size_t *lenp)
{
	size_t n = in->l, i, o = 0;
	uint32_t acc = 0;
	unsigned bits = 0;
	int v;

	if (n % 4 == 0 && n >= 2 && in->p[n - 1] == '=')
		n -= in->p[n - 2] == '=' ? 2 : 1;
	if (n % 4 == 1)
		return EBADMSG;
	for (i = 0; i < n; i++) {
		v = b64_val(in->p[i]);
		if (v < 0)
			return EBADMSG;
		acc = (acc << 6) | (uint32_t)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			if (o == max)
				return EINVAL;
			out[o++] = (uint8_t)(acc >> bits);
		}
	}
	if (acc & ((1u << bits) - 1))
		return EBADMSG;
	*lenp = o;
	return 0;
}

/* Encode with padding; 0 or ENOSPC (room for the NUL included). */
static int
b64_encode(const uint8_t *in, size_t n, char *out, size_t sz)
{
	size_t i, o = 0;
	uint32_t v;

	if (sz < (n + 2) / 3 * 4 + 1)
		return ENOSPC;
	for (i = 0; i < n; i += 3) {
		v = (uint32_t)in[i] << 16;
		if (i + 1 < n)
			v |= (uint32_t)in[i + 1] << 8;
		if (i + 2 < n)
			v |= in[i + 2];
		out[o++] = b64[v >> 18];
		out[o++] = b64[(v >> 12) & 63];
		out[o++] = i + 1 < n ? b64[(v >> 6) & 63] : '=';
		out[o++] = i + 2 < n ? b64[v & 63] : '=';
	}
	out[o] = '\0';
	return 0;
}

/* --- key-params ---------------------------------------------------------- */

/* "2^N" or decimal (RFC 4568 §9.1 lifetime), 1..2^48. */
static int
lifetime_parse(const struct pl *pl, uint64_t *v)
{
	uint64_t x = 0;
	size_t i;
	uint32_t e;
	struct pl exp;

	if (pl->l > 2 && pl->p[0] == '2' && pl->p[1] == '^') {
		pl_set(&exp, pl->p + 2, pl->l - 2);
		if (pl_u32(&exp, 48, &e) || e == 0)
			return EBADMSG;
		*v = UINT64_C(1) << e;
		return 0;
	}
	if (pl->l == 0 || pl->l > 15)
		return EBADMSG;
	for (i = 0; i < pl->l; i++) {
		if (pl->p[i] < '0' || pl->p[i] > '9')
			return EBADMSG;
		x = x * 10 + (uint64_t)(pl->p[i] - '0');
	}
	if (x == 0 || x > LIFETIME_MAX)
		return EBADMSG;
	*v = x;
	return 0;
}

static int
fail(const char **why, const char *what, int err)
{
	if (why)
		*why = what;
	return err;
}

int
sec_key_parse(struct sec_key *k, enum sec_suite suite,
	      const struct pl *keyparams, const char **why)
{
	struct pl kp = *keyparams, b, life = PL_INIT;
	const char *bar;
	size_t len;
	int err;

	if ((unsigned)suite >= SEC_SUITE_COUNT)
		return fail(why, "crypto: unknown suite", ENOTSUP);
	if (!kp.p)
		return fail(why, "crypto: no key-params", EBADMSG);
	if (memchr(kp.p, ';', kp.l))
		return fail(why, "crypto: several key-params", ENOTSUP);
	if (kp.l < 7 || strncmp(kp.p, "inline:", 7) != 0)
		return fail(why, "crypto: key method is not inline", ENOTSUP);
	pl_set(&b, kp.p + 7, kp.l - 7);
	bar = memchr(b.p, '|', b.l);
	if (bar) {
		pl_set(&life, bar + 1, b.l - (size_t)(bar + 1 - b.p));
		b.l = (size_t)(bar - b.p);
		if (memchr(life.p, '|', life.l) || memchr(life.p, ':', life.l))
			return fail(why, "crypto: MKI not supported", ENOTSUP);
	}
	memset(k, 0, sizeof(*k));
	k->suite = suite;
	err = b64_decode(&b, k->bytes, sizeof(k->bytes), &len);
	if (err == EBADMSG)
		return fail(why, "crypto: bad base64 key", EBADMSG);
	if (err || len != suites[suite].key_len) {
		sec_key_wipe(k);
		return fail(why, "crypto: wrong key length for suite", EINVAL);
	}
	k->len = (uint8_t)len;
	if (bar && lifetime_parse(&life, &k->lifetime)) {
		sec_key_wipe(k);
		return fail(why, "crypto: bad lifetime", EBADMSG);
	}
	return 0;
}

int
sec_crypto_parse(struct sec_key *k, uint32_t *tag, const struct pl *val,
		 const char **why)
{
	struct sdp_crypto c;
	enum sec_suite suite;
	int err;

	err = sdp_crypto_decode(&c, val, why);
	if (err)
		return err;
	if (sec_suite_parse(&c.suite, &suite))
		return fail(why, "crypto: unknown suite", ENOTSUP);
	if (pl_isset(&c.sessparams))
		return fail(why, "crypto: session parameters not supported",
			    ENOTSUP);
	err = sec_key_parse(k, suite, &c.keyparams, why);
	if (err)
		return err;
	*tag = c.tag;
	return 0;
}

int
sec_key_print(const struct sec_key *k, char *buf, size_t sz)
{
	size_t n;
	int e;

	if ((unsigned)k->suite >= SEC_SUITE_COUNT ||
	    k->len != suites[k->suite].key_len)
		return EINVAL;
	if (sz < 8)
		return ENOSPC;
	memcpy(buf, "inline:", 7);
	if (b64_encode(k->bytes, k->len, buf + 7, sz - 7))
		return ENOSPC;
	if (!k->lifetime)
		return 0;
	n = strlen(buf);
	e = __builtin_ctzll(k->lifetime);
	if (k->lifetime == (UINT64_C(1) << e))
		e = snprintf(buf + n, sz - n, "|2^%d", e);
	else
		e = snprintf(buf + n, sz - n, "|%" PRIu64, k->lifetime);
	return (size_t)e < sz - n ? 0 : ENOSPC;
}

int
sec_crypto_print(const struct sec_key *k, uint32_t tag, char *buf, size_t sz)
{
	int n;

	if (tag < 1 || tag > 999999999 || (unsigned)k->suite >= SEC_SUITE_COUNT)
		return EINVAL;
	n = snprintf(buf, sz, "%" PRIu32 " %s ", tag, suites[k->suite].name);
	if (n < 0 || (size_t)n >= sz)
		return ENOSPC;
	return sec_key_print(k, buf + n, sz - (size_t)n);
}
