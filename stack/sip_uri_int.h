/* Private to the URI, address and auth decoders: RFC 3261 §25.1 character
   classes shared by sip_uri.c, sip_addr.c and sip_auth.c. */
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

extern const uint16_t sip_uri_ctab[256];

static inline bool
sip_ucc(unsigned char c, uint16_t cls)
{
	return (sip_uri_ctab[c] & cls) != 0;
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

/*
 * Skip SWS at s[i] (§25.1: SWS = [LWS], LWS = [*WSP CRLF] 1*WSP): SP and
 * HTAB, and a line end (CRLF, or a bare LF) only when folded, i.e.
 * followed by SP or HTAB. Returns the index of the first other byte.
 */
static inline size_t
sip_uri_sws(const char *s, size_t n, size_t i)
{
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
		unsigned char c = (unsigned char)s[i];
		size_t k;

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
