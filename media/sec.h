/* SRTP/SRTCP (RFC 3711, RFC 7714 AES-GCM) on libsrtp2 with SDES keys
   (RFC 4568 a=crypto), and the per-direction bridging transform. */
#ifndef TANDEM_SEC_H
#define TANDEM_SEC_H

#include <stddef.h>
#include <stdint.h>

#include "stack/pl.h"

/* Crypto suites, named as in RFC 4568 §6.2 and RFC 7714 §14.2. */
enum sec_suite {
	SEC_AES_CM_128_HMAC_SHA1_80,
	SEC_AES_CM_128_HMAC_SHA1_32,
	SEC_AEAD_AES_128_GCM,
	SEC_AEAD_AES_256_GCM,
	SEC_SUITE_COUNT
};

/* SDP name of a suite ("AES_CM_128_HMAC_SHA1_80"); NULL if out of range. */
const char *sec_suite_name(enum sec_suite s);
/* Suite of an SDP name (case-sensitive, RFC 4568 §9.1). 0 or ENOTSUP. */
int sec_suite_parse(const struct pl *name, enum sec_suite *s);
/* Master key + master salt bytes of the suite: 30, 30, 28, 44. */
size_t sec_suite_key_len(enum sec_suite s);
/* Bytes protect adds to an RTP packet (auth tag): 10, 4, 16, 16; and to an
   RTCP packet (tag + 4-byte E||SRTCP index, RFC 3711 §3.4): 14, 14, 20,
   20 (SRTCP of AES_CM_128_HMAC_SHA1_32 keeps the 80-bit tag, RFC 4568
   §6.2.2). */
size_t sec_suite_rtp_overhead(enum sec_suite s);
size_t sec_suite_rtcp_overhead(enum sec_suite s);

#define SEC_KEY_MAX 44 /* AEAD_AES_256_GCM: 32-byte key + 12-byte salt */

/* A master key and salt for one suite. Plain data: copy it freely; wipe
   it (sec_key_wipe) when done. */
struct sec_key {
	enum sec_suite suite;
	uint8_t len; /* == sec_suite_key_len(suite) */
	uint8_t bytes[SEC_KEY_MAX];
	uint64_t lifetime; /* packets under this key, 0 = the suite's
			      maximum (RFC 4568 §6.1 lifetime) */
};

/* Fresh random key for suite (OpenSSL RAND_bytes). 0, EINVAL, or EIO when
   the generator fails. */
int sec_key_generate(struct sec_key *k, enum sec_suite suite);
/* Wipe a key (OPENSSL_cleanse). */
void sec_key_wipe(struct sec_key *k);

/*
 * Parse RFC 4568 §6.1 key-params for suite: "inline:<base64 key||salt>",
 * optionally "|<lifetime>" ("2^N" or decimal, at most 2^48). Refused:
 * EBADMSG for bad syntax or base64 (why says which), EINVAL for a key of
 * the wrong length for the suite, ENOTSUP for what we do not implement:
 * an MKI ("|1:4"), several key-params (';'), a method other than inline.
 * why may be NULL; it is a static phrase.
 */
int sec_key_parse(struct sec_key *k, enum sec_suite suite,
		  const struct pl *keyparams, const char **why);
/*
 * The whole a=crypto value "<tag> <suite> <key-params>[ <session-params>]"
 * (parsed with stack/sdp.h sdp_crypto_decode): suite, key and tag. Session
 * parameters (KDR, UNENCRYPTED_SRTP, ...) are refused with ENOTSUP, and an
 * unknown suite with ENOTSUP; otherwise as sec_key_parse.
 */
int sec_crypto_parse(struct sec_key *k, uint32_t *tag, const struct pl *val,
		     const char **why);
/* "inline:<base64>" (with "|<lifetime>" when set as a power of two or a
   number) NUL-terminated into buf. 0 or ENOSPC. */
int sec_key_print(const struct sec_key *k, char *buf, size_t sz);
/* "<tag> <suite> inline:<base64>": an a=crypto value. 0, EINVAL (tag not
   1..999999999), ENOSPC. */
int sec_crypto_print(const struct sec_key *k, uint32_t tag, char *buf,
		     size_t sz);

/* --- Streams -------------------------------------------------------------
 * One libsrtp session per stream and direction, set up once: protect or
 * unprotect costs no allocation and no key schedule per packet (a new SSRC
 * clones the session's template once). Replay protection is libsrtp's (a
 * 128-packet window for SRTP; SRTCP index window). The object belongs to
 * one media worker (not thread-safe); srtp_init() runs once per process
 * under pthread_once, so workers may allocate streams concurrently.
 * Packets must be 4-byte aligned (libsrtp reads 32-bit words).
 */
enum sec_dir {
	SEC_DIR_PROTECT,   /* we send: RTP -> SRTP */
	SEC_DIR_UNPROTECT, /* we receive: SRTP -> RTP */
};

struct sec_stats {
	uint64_t ok;	    /* packets transformed */
	uint64_t auth_fail; /* EBADMSG: tag did not verify */
	uint64_t replay;    /* EALREADY: replayed or too old */
	uint64_t fail;	    /* anything else (malformed, expired) */
};

struct sec_stream;

/* A stream for key (its suite) and dir; *sp is a mem object (mem_deref to
   free). 0, EINVAL, ENOMEM, EPROTO when libsrtp refuses. The key is copied. */
int sec_stream_alloc(struct sec_stream **sp, const struct sec_key *key,
		     enum sec_dir dir);
/*
 * Transform the packet buf[0..*lenp) in place. Protect needs cap >= *lenp +
 * the suite's overhead (ENOSPC otherwise, nothing changed). Returns 0 with
 * *lenp updated; EBADMSG (authentication failed), EALREADY (replay or
 * older than the window), EKEYEXPIRED (key lifetime used up), EINVAL
 * (wrong direction, malformed or unaligned packet), EPROTO (other libsrtp
 * failure). On error the buffer content is unspecified: drop the packet.
 */
int sec_rtp_protect(struct sec_stream *s, uint8_t *buf, size_t *lenp,
		    size_t cap);
int sec_rtp_unprotect(struct sec_stream *s, uint8_t *buf, size_t *lenp);
int sec_rtcp_protect(struct sec_stream *s, uint8_t *buf, size_t *lenp,
		     size_t cap);
int sec_rtcp_unprotect(struct sec_stream *s, uint8_t *buf, size_t *lenp);
/* Counters of the stream (borrowed, valid while s lives). */
const struct sec_stats *sec_stream_stats(const struct sec_stream *s);

/* --- Bridging --------------------------------------------------------------
 * What the relay does to the packets of one direction, received on leg
 * "in" and sent on leg "out". Each leg is plain RTP (key NULL) or SRTP
 * with the key of that leg for this direction (the key "in"'s sender
 * uses; the key "out"'s receiver expects):
 *   RTP  -> RTP           pass (packet forwarded as is)
 *   SRTP -> SRTP same key pass (no crypto: the far end authenticates)
 *   SRTP -> SRTP, other   unprotect with in's key, protect with out's
 *   SRTP -> RTP           unprotect only
 *   RTP  -> SRTP          protect only
 */
enum sec_xform_kind {
	SEC_X_PASS,
	SEC_X_UNPROTECT,
	SEC_X_PROTECT,
	SEC_X_BOTH, /* unprotect then protect */
};

struct sec_xform;

/* in_key / out_key: NULL for plain RTP; copied. 0, ENOMEM, EINVAL, EPROTO. */
int sec_xform_alloc(struct sec_xform **xp, const struct sec_key *in_key,
		    const struct sec_key *out_key);
enum sec_xform_kind sec_xform_kind(const struct sec_xform *x);
/* Apply to one RTP or RTCP packet in place (cap as for protect); errors
   as the stream functions (the packet is to be dropped). */
int sec_xform_rtp(struct sec_xform *x, uint8_t *buf, size_t *lenp, size_t cap);
int sec_xform_rtcp(struct sec_xform *x, uint8_t *buf, size_t *lenp, size_t cap);
/* As sec_xform_rtp(), calling mid (if not NULL) on the plain RTP between
   unprotect and protect (the relay maps payload types there). */
int sec_xform_rtp_mid(struct sec_xform *x, uint8_t *buf, size_t *lenp,
		      size_t cap,
		      void (*mid)(void *arg, uint8_t *buf, size_t len),
		      void *arg);
/* As sec_xform_rtcp(), calling mid (if not NULL) with the plain RTCP
   between unprotect and protect (the relay reads the reports there). */
int sec_xform_rtcp_mid(struct sec_xform *x, uint8_t *buf, size_t *lenp,
		       size_t cap,
		       void (*mid)(void *arg, const uint8_t *buf, size_t len),
		       void *arg);
/* Streams of the transform, NULL where the kind has none (borrowed). */
const struct sec_stream *sec_xform_in(const struct sec_xform *x);
const struct sec_stream *sec_xform_out(const struct sec_xform *x);

#endif
