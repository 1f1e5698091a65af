/* Private to the URI, address and auth decoders: RFC 3261 §25.1 character
   classes and small helpers shared by sip_uri.c, sip_uri_cmp.c, sip_addr.c
   and sip_auth.c. */
#ifndef TANDEM_SIP_URI_INT_H
#define TANDEM_SIP_URI_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* One bit per §25.1 character class; a byte may be in several. '%' is in
   none of the URI classes: callers check "%" HEXDIG HEXDIG themselves. */
#define SIP_UCC_ALPHA 0x0001  /* ALPHA */
#define SIP_UCC_DIGIT 0x0002  /* DIGIT */
#define SIP_UCC_HEX 0x0004    /* HEXDIG */
#define SIP_UCC_UNRES 0x0008  /* unreserved = alphanum / mark */
#define SIP_UCC_USER 0x0010   /* unreserved / user-unreserved */
#define SIP_UCC_PASS 0x0020   /* password chars: unreserved / &=+$, */
#define SIP_UCC_PARAM 0x0040  /* paramchar: unreserved / param-unreserved */
#define SIP_UCC_HNV 0x0080    /* hname/hvalue: unreserved / hnv-unreserved */
#define SIP_UCC_URIC 0x0100   /* uric: reserved / unreserved */
#define SIP_UCC_TOKEN 0x0200  /* token */
#define SIP_UCC_SCHEME 0x0400 /* ALPHA / DIGIT / "+" / "-" / "." */
#define SIP_UCC_HOST 0x0800   /* hostname chars: alphanum / "-" / "." */
#define SIP_UCC_WS 0x1000     /* SP, HTAB, CR, LF */
#define SIP_UCC_TELSEP 0x2000 /* RFC 3966 visual-separator "-" "." "(" ")" */
/* Derived classes for the one-pass scanners (not §25.1 rules themselves). */
#define SIP_UCC_LABEL 0x4000 /* hostname label bytes: alphanum / "-" */
#define SIP_UCC_UINFO 0x8000 /* userinfo bytes but '%': USER / ":" */
#define SIP_UCC_QDTEXT                                                         \
	0x10000 /* quoted-string bytes that need no care:                      \
		   HTAB, %x20-7E but '"' and '\\', >= 0x80 */

extern const uint32_t sip_uri_ctab[256];

static inline bool
sip_ucc(unsigned char c, uint32_t cls)
{
	return (sip_uri_ctab[c] & cls) != 0;
}

/* Index of the first byte at or after s[i] not in class cls (or n). The
   scanners' inner loop: one table load and test per byte, unrolled by four
   so that the bound is checked once per four bytes. */
static inline size_t
sip_uri_span(const char *s, size_t n, size_t i, uint32_t cls)
{
	const unsigned char *p = (const unsigned char *)s;

	for (; i + 4 <= n; i += 4) {
		if (!(sip_uri_ctab[p[i]] & cls))
			return i;
		if (!(sip_uri_ctab[p[i + 1]] & cls))
			return i + 1;
		if (!(sip_uri_ctab[p[i + 2]] & cls))
			return i + 2;
		if (!(sip_uri_ctab[p[i + 3]] & cls))
			return i + 3;
	}
	while (i < n && (sip_uri_ctab[p[i]] & cls))
		i++;
	return i;
}

static inline int
sip_uri_hexval(unsigned char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c |= 0x20;
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

/* Whether s[i] == '%' starts a valid "%" HEXDIG HEXDIG escape. */
static inline bool
sip_uri_esc_ok(const char *s, size_t n, size_t i)
{
	return i + 2 < n && sip_uri_hexval((unsigned char)s[i + 1]) >= 0 &&
	       sip_uri_hexval((unsigned char)s[i + 2]) >= 0;
}

/* The byte at p[*i] with one escape decoded; advances *i. A '%' that does
   not start a valid escape reads as itself. */
static inline unsigned
sip_uri_esc_byte(const char *p, size_t l, size_t *i)
{
	unsigned char c = (unsigned char)p[*i];

	if (c == '%' && sip_uri_esc_ok(p, l, *i)) {
		c = (unsigned char)(sip_uri_hexval((unsigned char)p[*i + 1])
					    << 4 |
				    sip_uri_hexval((unsigned char)p[*i + 2]));
		*i += 3;
		return c;
	}
	(*i)++;
	return c;
}

static inline unsigned
sip_uri_lower(unsigned c)
{
	return c >= 'A' && c <= 'Z' ? c + 32 : c;
}

/* ASCII case-insensitive compare of l bytes with a lower-case literal. */
static inline bool
sip_uri_lit_eq(const char *p, const char *lit, size_t l)
{
	size_t i;

	for (i = 0; i < l; i++)
		if (sip_uri_lower((unsigned char)p[i]) != (unsigned char)lit[i])
			return false;
	return true;
}

/* The uri-parameters §19.1.4 and struct sip_uri single out. */
enum sip_uri_wk {
	SIP_URI_WK_NONE,
	SIP_URI_WK_TRANSPORT,
	SIP_URI_WK_USER,
	SIP_URI_WK_METHOD,
	SIP_URI_WK_TTL,
	SIP_URI_WK_MADDR,
	SIP_URI_WK_LR
};

/* Which well-known uri-parameter the name p[0..l) is (case-insensitive);
   with esc, the name is unescaped first ("%6C%72" is lr, RFC 4475 esc01). */
enum sip_uri_wk sip_uri_wk_param(const char *p, size_t l, bool esc);

/* IPv4address (§25.1), each octet at most 255; *out may be NULL. */
bool sip_uri_ip4_parse(const char *s, size_t n, uint32_t *out);

/* IPv6address text (RFC 4291 §2.2, RFC 5954 §4.1) without brackets into
   16 bytes; out may be NULL to only validate. */
bool sip_uri_ip6_parse(const char *s, size_t n, uint8_t out[16]);

/*
 * Skip SWS at s[i] (§25.1: SWS = [LWS], LWS = [*WSP CRLF] 1*WSP): SP and
 * HTAB, and a line end (CRLF, or a bare LF) only when folded, i.e.
 * followed by SP or HTAB. Returns the index of the first other byte.
 */
static inline size_t
sip_uri_sws(const char *s, size_t n, size_t i)
{
	/* the usual case: no LWS at all (one compare: SP, HTAB, CR and LF
	   are all below '!') */
	if (i < n && (unsigned char)s[i] > ' ')
		return i;
	for (;;) {
		if (i < n && (s[i] == ' ' || s[i] == '\t'))
			i++;
		else if (i + 2 < n && s[i] == '\r' && s[i + 1] == '\n' &&
			 (s[i + 2] == ' ' || s[i + 2] == '\t'))
			i += 3;
		else if (i + 1 < n && s[i] == '\n' &&
			 (s[i + 1] == ' ' || s[i + 1] == '\t'))
			i += 2;
		else
			return i;
	}
}

/*
 * quoted-string with s[i] == '"' (§25.1): qdtext = LWS / %x21 / %x23-5B /
 * %x5D-7E / UTF8-NONASCII (bytes >= 0x80 are not checked for UTF-8),
 * quoted-pair = "\" (%x00-09 / %x0B-0C / %x0E-7F), so an escaped NUL, BEL
 * or DEL is fine (RFC 4475 intmeth). Returns the index after the closing
 * quote, or 0 with *why set.
 */
static inline size_t
sip_uri_quoted_scan(const char *s, size_t n, size_t i, const char **why)
{
	for (i++; i < n; i++) {
		unsigned char c;
		size_t k;

		/* the bulk of any quoted-string: plain qdtext */
		i = sip_uri_span(s, n, i, SIP_UCC_QDTEXT);
		if (i >= n)
			break;
		c = (unsigned char)s[i];
		if (c == '"')
			return i + 1;
		if (c == '\\') {
			if (++i >= n)
				break;
			c = (unsigned char)s[i];
			if (c == '\r' || c == '\n' || c > 0x7f) {
				*why = "bad quoted-pair";
				return 0;
			}
			continue;
		}
		if (c == '\r' || c == '\n') {
			k = sip_uri_sws(s, n, i);
			if (k == i) {
				*why = "line break in quoted string";
				return 0;
			}
			i = k - 1;
			continue;
		}
		if ((c < 0x20 && c != '\t') || c == 0x7f) {
			*why = "control character in quoted string";
			return 0;
		}
	}
	*why = "unterminated quoted string";
	return 0;
}

#endif
