/* Unit tests: SRTP streams, SDES keys and the bridging transform
   (media/sec*.c), with an RFC 3711 known-answer check. */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <srtp2/srtp.h>

#include "media/sec.h"
#include "stack/mem.h"
#include "testutil.h"

#define PKT_CAP 256

/* An aligned packet buffer. */
struct pkt {
	_Alignas(8) uint8_t b[PKT_CAP];
	size_t len;
};

static void
hex(const char *h, uint8_t *out, size_t n)
{
	size_t i;
	unsigned v;

	for (i = 0; i < n; i++) {
		sscanf(h + 2 * i, "%2x", &v);
		out[i] = (uint8_t)v;
	}
}

/* RTP header V=2 PT=0, seq, ts, ssrc, then plen bytes of payload. */
static void
rtp_make(struct pkt *p, uint16_t seq, uint32_t ssrc, size_t plen)
{
	size_t i;

	memset(p->b, 0, sizeof(p->b));
	p->b[0] = 0x80;
	p->b[2] = (uint8_t)(seq >> 8);
	p->b[3] = (uint8_t)seq;
	p->b[4] = 0xde;
	p->b[5] = 0xca;
	p->b[6] = 0xfb;
	p->b[7] = 0xad;
	p->b[8] = (uint8_t)(ssrc >> 24);
	p->b[9] = (uint8_t)(ssrc >> 16);
	p->b[10] = (uint8_t)(ssrc >> 8);
	p->b[11] = (uint8_t)ssrc;
	for (i = 0; i < plen; i++)
		p->b[12 + i] = (uint8_t)(0xab ^ i);
	p->len = 12 + plen;
}

/* RTCP receiver report with no blocks (8 bytes) plus 16 bytes of SDES-ish
   filler: a valid-looking compound start, 24 bytes. */
static void
rtcp_make(struct pkt *p, uint32_t ssrc)
{
	memset(p->b, 0, sizeof(p->b));
	p->b[0] = 0x80;
	p->b[1] = 201; /* RR */
	p->b[3] = 5;   /* length in words - 1 */
	p->b[4] = (uint8_t)(ssrc >> 24);
	p->b[5] = (uint8_t)(ssrc >> 16);
	p->b[6] = (uint8_t)(ssrc >> 8);
	p->b[7] = (uint8_t)ssrc;
	memset(p->b + 8, 0x5a, 16);
	p->len = 24;
}

/* --- RFC 3711 reference, written from the RFC with OpenSSL primitives -- */

/* AES-128 in counter mode from iv over n zero bytes (keystream). */
static void
aes_cm(const uint8_t key[16], const uint8_t iv[16], uint8_t *out, size_t n)
{
	EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
	uint8_t zero[64] = {0};
	int l;

	CU_ASSERT_FATAL(c != NULL && n <= sizeof(zero));
	CU_ASSERT(EVP_EncryptInit_ex(c, EVP_aes_128_ctr(), NULL, key, iv));
	CU_ASSERT(EVP_EncryptUpdate(c, out, &l, zero, (int)n));
	EVP_CIPHER_CTX_free(c);
}

/* §4.3.1 with kdr = 0: x = (label || 0^48) XOR master salt; IV = x*2^16. */
static void
kdf(const uint8_t mkey[16], const uint8_t msalt[14], uint8_t label,
    uint8_t *out, size_t n)
{
	uint8_t iv[16] = {0};

	memcpy(iv, msalt, 14);
	iv[7] ^= label;
	aes_cm(mkey, iv, out, n);
}

/* Figures of RFC 3711 Appendix B.3 (key derivation test vectors). */
static const char b3_mkey[] = "E1F97A0D3E018BE0D64FA32C06DE4139";
static const char b3_msalt[] = "0EC675AD498AFEEBB6960B3AABE6";
static const char b3_ckey[] = "C61E7A93744F39EE10734AFE3FF7A087";
static const char b3_csalt[] = "30CBBC08863D8C85D49DB34A9AE1";
static const char b3_akey[] = "CEBE321F6FF7716B6FD4AB49AF256A156D38BAA4";

static void
test_kat_kdf(void)
{
	uint8_t mk[16], ms[14], want[20], got[20];

	hex(b3_mkey, mk, 16);
	hex(b3_msalt, ms, 14);
	kdf(mk, ms, 0x00, got, 16);
	hex(b3_ckey, want, 16);
	CU_ASSERT_EQUAL(memcmp(got, want, 16), 0);
	kdf(mk, ms, 0x02, got, 14);
	hex(b3_csalt, want, 14);
	CU_ASSERT_EQUAL(memcmp(got, want, 14), 0);
	kdf(mk, ms, 0x01, got, 20);
	hex(b3_akey, want, 20);
	CU_ASSERT_EQUAL(memcmp(got, want, 20), 0);
}

/* AES_CM_128_HMAC_SHA1_80 under the B.3 master key: sec_rtp_protect must
   give what RFC 3711 §3.3, §4.1.1 and §4.2.1 compute independently. */
static void
test_kat_protect(void)
{
	uint8_t mk[16], ms[14], ck[16], cs[14], ak[20], iv[16] = {0};
	uint8_t ks[64], mac[20];
	struct sec_key key = {.suite = SEC_AES_CM_128_HMAC_SHA1_80, .len = 30};
	struct sec_stream *s = NULL;
	struct pkt p, want;
	unsigned mlen, i;
	uint32_t ssrc = 0xcafebabe;
	uint16_t seq = 0x1234;

	hex(b3_mkey, mk, 16);
	hex(b3_msalt, ms, 14);
	memcpy(key.bytes, mk, 16);
	memcpy(key.bytes + 16, ms, 14);
	kdf(mk, ms, 0x00, ck, 16);
	kdf(mk, ms, 0x01, ak, 20);
	kdf(mk, ms, 0x02, cs, 14);
	/* IV = (k_s * 2^16) XOR (SSRC * 2^64) XOR (i * 2^16), ROC 0 */
	memcpy(iv, cs, 14);
	iv[4] ^= (uint8_t)(ssrc >> 24);
	iv[5] ^= (uint8_t)(ssrc >> 16);
	iv[6] ^= (uint8_t)(ssrc >> 8);
	iv[7] ^= (uint8_t)ssrc;
	iv[12] ^= (uint8_t)(seq >> 8);
	iv[13] ^= (uint8_t)seq;
	rtp_make(&want, seq, ssrc, 40);
	aes_cm(ck, iv, ks, 40);
	for (i = 0; i < 40; i++)
		want.b[12 + i] ^= ks[i];
	memset(want.b + want.len, 0, 4); /* ROC, authenticated not sent */
	HMAC(EVP_sha1(), ak, 20, want.b, want.len + 4, mac, &mlen);
	memcpy(want.b + want.len, mac, 10);
	want.len += 10;

	CU_ASSERT_EQUAL_FATAL(sec_stream_alloc(&s, &key, SEC_DIR_PROTECT), 0);
	rtp_make(&p, seq, ssrc, 40);
	CU_ASSERT_EQUAL(sec_rtp_protect(s, p.b, &p.len, sizeof(p.b)), 0);
	CU_ASSERT_EQUAL(p.len, want.len);
	CU_ASSERT_EQUAL(memcmp(p.b, want.b, want.len), 0);
	CU_ASSERT_EQUAL(mem_nrefs(s), 1);
	mem_deref(s);
}

static void
test_openssl_build(void)
{
	/* the prefix's libsrtp, 2.5.x, with the OpenSSL AES-GCM policies */
	CU_ASSERT_EQUAL(strncmp(srtp_get_version_string(), "libsrtp2 2.5", 12),
			0);
}

/* Every byte after the packet still holds the 0xee filler. */
static bool
untouched(const struct pkt *p)
{
	size_t i;

	for (i = p->len; i < sizeof(p->b); i++) {
		if (p->b[i] != 0xee)
			return false;
	}
	return true;
}

/* --- round trips ------------------------------------------------------- */

static void
pair_alloc(enum sec_suite suite, struct sec_stream **tx, struct sec_stream **rx)
{
	struct sec_key k;

	CU_ASSERT_EQUAL_FATAL(sec_key_generate(&k, suite), 0);
	CU_ASSERT_EQUAL(k.len, sec_suite_key_len(suite));
	CU_ASSERT_EQUAL_FATAL(sec_stream_alloc(tx, &k, SEC_DIR_PROTECT), 0);
	CU_ASSERT_EQUAL_FATAL(sec_stream_alloc(rx, &k, SEC_DIR_UNPROTECT), 0);
	sec_key_wipe(&k);
}

static void
test_roundtrip(void)
{
	unsigned su, n;

	for (su = 0; su < SEC_SUITE_COUNT; su++) {
		struct sec_stream *tx = NULL, *rx = NULL;
		struct pkt p, orig;

		pair_alloc((enum sec_suite)su, &tx, &rx);
		for (n = 0; n < 50; n++) {
			rtp_make(&orig, (uint16_t)(65500 + n), 42, 160);
			p = orig;
			memset(p.b + p.len, 0xee, sizeof(p.b) - p.len);
			CU_ASSERT_EQUAL(
				sec_rtp_protect(tx, p.b, &p.len, sizeof(p.b)),
				0);
			CU_ASSERT_EQUAL(p.len,
					orig.len + sec_suite_rtp_overhead(
							   (enum sec_suite)su));
			/* nothing written past the trailer */
			CU_ASSERT(untouched(&p));
			CU_ASSERT_NOT_EQUAL(memcmp(p.b + 12, orig.b + 12, 160),
					    0);
			CU_ASSERT_EQUAL(sec_rtp_unprotect(rx, p.b, &p.len), 0);
			CU_ASSERT_EQUAL(p.len, orig.len);
			CU_ASSERT_EQUAL(memcmp(p.b, orig.b, orig.len), 0);
		}
		/* RTCP */
		rtcp_make(&orig, 42);
		p = orig;
		memset(p.b + p.len, 0xee, sizeof(p.b) - p.len);
		CU_ASSERT_EQUAL(sec_rtcp_protect(tx, p.b, &p.len, sizeof(p.b)),
				0);
		CU_ASSERT_EQUAL(p.len, orig.len + sec_suite_rtcp_overhead(
							  (enum sec_suite)su));
		CU_ASSERT(untouched(&p));
		CU_ASSERT_EQUAL(sec_rtcp_unprotect(rx, p.b, &p.len), 0);
		CU_ASSERT_EQUAL(p.len, orig.len);
		CU_ASSERT_EQUAL(memcmp(p.b, orig.b, orig.len), 0);
		CU_ASSERT_EQUAL(sec_stream_stats(tx)->ok, 51);
		CU_ASSERT_EQUAL(sec_stream_stats(rx)->ok, 51);
		mem_deref(tx);
		mem_deref(rx);
	}
}

static void
test_tamper_replay(void)
{
	unsigned su;

	for (su = 0; su < SEC_SUITE_COUNT; su++) {
		struct sec_stream *tx = NULL, *rx = NULL;
		struct pkt p, q;

		pair_alloc((enum sec_suite)su, &tx, &rx);
		rtp_make(&p, 7, 99, 100);
		CU_ASSERT_EQUAL(sec_rtp_protect(tx, p.b, &p.len, sizeof(p.b)),
				0);
		q = p;
		q.b[40] ^= 1; /* payload bit */
		CU_ASSERT_EQUAL(sec_rtp_unprotect(rx, q.b, &q.len), EBADMSG);
		q = p;
		q.b[q.len - 1] ^= 0x80; /* tag bit */
		CU_ASSERT_EQUAL(sec_rtp_unprotect(rx, q.b, &q.len), EBADMSG);
		q = p;
		CU_ASSERT_EQUAL(sec_rtp_unprotect(rx, q.b, &q.len), 0);
		q = p; /* the same packet again */
		CU_ASSERT_EQUAL(sec_rtp_unprotect(rx, q.b, &q.len), EALREADY);
		/* protect side: the same sequence number twice */
		rtp_make(&q, 7, 99, 100);
		CU_ASSERT_EQUAL(sec_rtp_protect(tx, q.b, &q.len, sizeof(q.b)),
				EALREADY);
		/* wrong direction, too small, no room */
		q = p;
		CU_ASSERT_EQUAL(sec_rtp_protect(rx, q.b, &q.len, sizeof(q.b)),
				EINVAL);
		q.len = 11;
		CU_ASSERT_EQUAL(sec_rtp_unprotect(rx, q.b, &q.len), EINVAL);
		rtp_make(&q, 8, 99, 100);
		CU_ASSERT_EQUAL(sec_rtp_protect(tx, q.b, &q.len, q.len + 3),
				ENOSPC);
		CU_ASSERT_EQUAL(sec_stream_stats(rx)->auth_fail, 2);
		CU_ASSERT_EQUAL(sec_stream_stats(rx)->replay, 1);
		CU_ASSERT_EQUAL(sec_stream_stats(rx)->ok, 1);
		CU_ASSERT_EQUAL(sec_stream_stats(tx)->replay, 1);
		/* RTCP tamper and replay */
		rtcp_make(&p, 99);
		CU_ASSERT_EQUAL(sec_rtcp_protect(tx, p.b, &p.len, sizeof(p.b)),
				0);
		q = p;
		q.b[10] ^= 4;
		CU_ASSERT_EQUAL(sec_rtcp_unprotect(rx, q.b, &q.len), EBADMSG);
		q = p;
		CU_ASSERT_EQUAL(sec_rtcp_unprotect(rx, q.b, &q.len), 0);
		q = p;
		CU_ASSERT_EQUAL(sec_rtcp_unprotect(rx, q.b, &q.len), EALREADY);
		mem_deref(tx);
		mem_deref(rx);
	}
}

/* A wrong key does not authenticate. */
static void
test_wrong_key(void)
{
	struct sec_stream *tx = NULL, *rx = NULL, *other = NULL;
	struct sec_key k;
	struct pkt p;

	pair_alloc(SEC_AEAD_AES_128_GCM, &tx, &rx);
	CU_ASSERT_EQUAL(sec_key_generate(&k, SEC_AEAD_AES_128_GCM), 0);
	CU_ASSERT_EQUAL(sec_stream_alloc(&other, &k, SEC_DIR_UNPROTECT), 0);
	rtp_make(&p, 1, 5, 20);
	CU_ASSERT_EQUAL(sec_rtp_protect(tx, p.b, &p.len, sizeof(p.b)), 0);
	CU_ASSERT_EQUAL(sec_rtp_unprotect(other, p.b, &p.len), EBADMSG);
	mem_deref(tx);
	mem_deref(rx);
	mem_deref(other);
}

/* Lifetime: the stream refuses once the key has protected that many. */
static void
test_lifetime(void)
{
	struct sec_stream *tx = NULL;
	struct sec_key k;
	struct pkt p;
	unsigned i;

	CU_ASSERT_EQUAL(sec_key_generate(&k, SEC_AES_CM_128_HMAC_SHA1_80), 0);
	k.lifetime = 4;
	CU_ASSERT_EQUAL(sec_stream_alloc(&tx, &k, SEC_DIR_PROTECT), 0);
	for (i = 0; i < 4; i++) {
		rtp_make(&p, (uint16_t)i, 1, 20);
		CU_ASSERT_EQUAL(sec_rtp_protect(tx, p.b, &p.len, sizeof(p.b)),
				0);
	}
	rtp_make(&p, 9, 1, 20);
	CU_ASSERT_EQUAL(sec_rtp_protect(tx, p.b, &p.len, sizeof(p.b)),
			EKEYEXPIRED);
	mem_deref(tx);
}

/* --- SDES keys --------------------------------------------------------- */

static void
test_key_text(void)
{
	unsigned su;
	char buf[160];
	const char *why = NULL;
	struct sec_key k, k2;
	uint32_t tag = 0;
	struct pl pl;

	for (su = 0; su < SEC_SUITE_COUNT; su++) {
		CU_ASSERT_EQUAL(sec_key_generate(&k, (enum sec_suite)su), 0);
		CU_ASSERT_EQUAL(sec_crypto_print(&k, 3, buf, sizeof(buf)), 0);
		pl_set(&pl, buf, strlen(buf));
		CU_ASSERT_EQUAL(sec_crypto_parse(&k2, &tag, &pl, &why), 0);
		CU_ASSERT_EQUAL(tag, 3);
		CU_ASSERT_EQUAL(k2.suite, su);
		CU_ASSERT_EQUAL(k2.len, k.len);
		CU_ASSERT_EQUAL(memcmp(k.bytes, k2.bytes, k.len), 0);
		/* too small a buffer */
		CU_ASSERT_EQUAL(sec_crypto_print(&k, 3, buf, 30), ENOSPC);
	}
	/* RFC 4568 §9.1's example key, with a lifetime */
	pl = PL("1 AES_CM_128_HMAC_SHA1_80 "
		"inline:PS1uQCVeeCFCanVmcjkpPywjNWhcYD0mXXtxaVBR|2^20");
	CU_ASSERT_EQUAL(sec_crypto_parse(&k, &tag, &pl, &why), 0);
	CU_ASSERT_EQUAL(k.lifetime, 1u << 20);
	CU_ASSERT_EQUAL(k.bytes[0], 0x3d); /* 'P','S' -> 0x3d 0x2d */
	CU_ASSERT_EQUAL(sec_key_print(&k, buf, sizeof(buf)), 0);
	CU_ASSERT_STRING_EQUAL(buf, "inline:PS1uQCVeeCFCanVmcjkpPywjNWhcYD0mXX"
				    "txaVBR|2^20");
	/* GCM 128: 28 bytes, padded */
	CU_ASSERT_EQUAL(sec_key_generate(&k, SEC_AEAD_AES_128_GCM), 0);
	CU_ASSERT_EQUAL(sec_key_print(&k, buf, sizeof(buf)), 0);
	CU_ASSERT_EQUAL(strlen(buf), 7 + 40);
	CU_ASSERT_EQUAL(buf[strlen(buf) - 1], '=');
}

static int
bad(const char *val)
{
	struct sec_key k;
	uint32_t tag;
	const char *why = NULL;
	struct pl pl;
	int err;

	pl_set(&pl, val, strlen(val));
	err = sec_crypto_parse(&k, &tag, &pl, &why);
	CU_ASSERT(err == 0 || why != NULL);
	return err;
}

static void
test_key_bad(void)
{
	/* 29 bytes for a 30-byte suite; 30 bytes for GCM-128 (28) */
	CU_ASSERT_EQUAL(bad("1 AES_CM_128_HMAC_SHA1_80 "
			    "inline:PS1uQCVeeCFCanVmcjkpPywjNWhcYD0mXXtxaVA="),
			EINVAL);
	CU_ASSERT_EQUAL(bad("1 AEAD_AES_128_GCM "
			    "inline:PS1uQCVeeCFCanVmcjkpPywjNWhcYD0mXXtxaVBR"),
			EINVAL);
	CU_ASSERT_EQUAL(bad("1 AES_CM_128_HMAC_SHA1_80 inline:"
			    "PS1uQCVeeCFCanVmcjkpPywjNWhcYD0mXXtxaVB*"),
			EBADMSG);
	CU_ASSERT_EQUAL(bad("1 AES_CM_128_HMAC_SHA1_80 inline:"
			    "PS1uQCVeeCFCanVmcjkp=ywjNWhcYD0mXXtxaVBR"),
			EBADMSG);
	CU_ASSERT_EQUAL(bad("1 F8_128_HMAC_SHA1_80 inline:"
			    "PS1uQCVeeCFCanVmcjkpPywjNWhcYD0mXXtxaVBR"),
			ENOTSUP);
	CU_ASSERT_EQUAL(
		bad("1 AES_CM_128_HMAC_SHA1_80 inline:"
		    "PS1uQCVeeCFCanVmcjkpPywjNWhcYD0mXXtxaVBR|2^20|1:4"),
		ENOTSUP);
	CU_ASSERT_EQUAL(bad("1 AES_CM_128_HMAC_SHA1_80 inline:"
			    "PS1uQCVeeCFCanVmcjkpPywjNWhcYD0mXXtxaVBR|2^49"),
			EBADMSG);
	CU_ASSERT_EQUAL(bad("1 AES_CM_128_HMAC_SHA1_80 inline:"
			    "PS1uQCVeeCFCanVmcjkpPywjNWhcYD0mXXtxaVBR "
			    "KDR=1"),
			ENOTSUP);
	CU_ASSERT_EQUAL(bad("1 AES_CM_128_HMAC_SHA1_80 inline:"
			    "PS1uQCVeeCFCanVmcjkpPywjNWhcYD0mXXtxaVBR;inline:"
			    "PS1uQCVeeCFCanVmcjkpPywjNWhcYD0mXXtxaVBR"),
			ENOTSUP);
	CU_ASSERT_EQUAL(bad("x AES_CM_128_HMAC_SHA1_80 inline:"
			    "PS1uQCVeeCFCanVmcjkpPywjNWhcYD0mXXtxaVBR"),
			EBADMSG);
}

/* --- bridging ---------------------------------------------------------- */

/* A (RTP) -> relay -> B (SRTP, key kb) -> relay -> C (RTP), and SRTP to
   SRTP with two keys: the far end decrypts what the first end sent. */
static void
test_bridge(void)
{
	struct sec_key ka, kb;
	struct sec_xform *add = NULL, *term = NULL, *rekey = NULL;
	struct sec_xform *pass = NULL, *plain = NULL;
	struct sec_stream *a_tx = NULL, *b_rx = NULL;
	struct pkt p, orig;
	unsigned n;

	CU_ASSERT_EQUAL(sec_key_generate(&ka, SEC_AES_CM_128_HMAC_SHA1_80), 0);
	CU_ASSERT_EQUAL(sec_key_generate(&kb, SEC_AEAD_AES_256_GCM), 0);
	CU_ASSERT_EQUAL_FATAL(sec_xform_alloc(&add, NULL, &kb), 0);
	CU_ASSERT_EQUAL_FATAL(sec_xform_alloc(&term, &kb, NULL), 0);
	CU_ASSERT_EQUAL_FATAL(sec_xform_alloc(&rekey, &ka, &kb), 0);
	CU_ASSERT_EQUAL_FATAL(sec_xform_alloc(&pass, &ka, &ka), 0);
	CU_ASSERT_EQUAL_FATAL(sec_xform_alloc(&plain, NULL, NULL), 0);
	CU_ASSERT_EQUAL(sec_xform_kind(add), SEC_X_PROTECT);
	CU_ASSERT_EQUAL(sec_xform_kind(term), SEC_X_UNPROTECT);
	CU_ASSERT_EQUAL(sec_xform_kind(rekey), SEC_X_BOTH);
	CU_ASSERT_EQUAL(sec_xform_kind(pass), SEC_X_PASS);
	CU_ASSERT_EQUAL(sec_xform_kind(plain), SEC_X_PASS);
	CU_ASSERT(sec_xform_in(pass) == NULL && sec_xform_out(pass) == NULL);
	CU_ASSERT_EQUAL(sec_stream_alloc(&a_tx, &ka, SEC_DIR_PROTECT), 0);
	CU_ASSERT_EQUAL(sec_stream_alloc(&b_rx, &kb, SEC_DIR_UNPROTECT), 0);
	for (n = 0; n < 10; n++) {
		/* RTP -> SRTP -> RTP through two transforms */
		rtp_make(&orig, (uint16_t)n, 77, 160);
		p = orig;
		CU_ASSERT_EQUAL(sec_xform_rtp(add, p.b, &p.len, sizeof(p.b)),
				0);
		CU_ASSERT_NOT_EQUAL(memcmp(p.b, orig.b, orig.len), 0);
		CU_ASSERT_EQUAL(sec_xform_rtp(term, p.b, &p.len, sizeof(p.b)),
				0);
		CU_ASSERT_EQUAL(p.len, orig.len);
		CU_ASSERT_EQUAL(memcmp(p.b, orig.b, orig.len), 0);
		/* SRTP(ka) -> rekey -> SRTP(kb) read by B */
		p = orig;
		CU_ASSERT_EQUAL(sec_rtp_protect(a_tx, p.b, &p.len, sizeof(p.b)),
				0);
		CU_ASSERT_EQUAL(sec_xform_rtp(rekey, p.b, &p.len, sizeof(p.b)),
				0);
		CU_ASSERT_EQUAL(sec_rtp_unprotect(b_rx, p.b, &p.len), 0);
		CU_ASSERT_EQUAL(memcmp(p.b, orig.b, orig.len), 0);
		/* pass-through leaves the bytes alone */
		p = orig;
		CU_ASSERT_EQUAL(sec_xform_rtp(pass, p.b, &p.len, sizeof(p.b)),
				0);
		CU_ASSERT_EQUAL(memcmp(p.b, orig.b, orig.len), 0);
	}
	/* RTCP through the re-keying transform */
	rtcp_make(&orig, 77);
	p = orig;
	CU_ASSERT_EQUAL(sec_rtcp_protect(a_tx, p.b, &p.len, sizeof(p.b)), 0);
	CU_ASSERT_EQUAL(sec_xform_rtcp(rekey, p.b, &p.len, sizeof(p.b)), 0);
	CU_ASSERT_EQUAL(sec_rtcp_unprotect(b_rx, p.b, &p.len), 0);
	CU_ASSERT_EQUAL(memcmp(p.b, orig.b, orig.len), 0);
	/* a forged packet on the SRTP leg is dropped, not re-protected */
	p = orig;
	p.len = 40;
	CU_ASSERT_EQUAL(sec_xform_rtp(term, p.b, &p.len, sizeof(p.b)), EBADMSG);
	CU_ASSERT_EQUAL(sec_stream_stats(sec_xform_in(term))->auth_fail, 1);
	CU_ASSERT_EQUAL(sec_stream_stats(sec_xform_out(rekey))->ok, 11);
	CU_ASSERT_EQUAL(mem_nrefs(rekey), 1);
	mem_deref(add);
	mem_deref(term);
	mem_deref(rekey);
	mem_deref(pass);
	mem_deref(plain);
	mem_deref(a_tx);
	mem_deref(b_rx);
}

void test_sec_register(void);

void
test_sec_register(void)
{
	CU_pSuite s = tu_suite("sec");

	TU_ADD(s, test_openssl_build);
	TU_ADD(s, test_kat_kdf);
	TU_ADD(s, test_kat_protect);
	TU_ADD(s, test_roundtrip);
	TU_ADD(s, test_tamper_replay);
	TU_ADD(s, test_wrong_key);
	TU_ADD(s, test_lifetime);
	TU_ADD(s, test_key_text);
	TU_ADD(s, test_key_bad);
	TU_ADD(s, test_bridge);
}
