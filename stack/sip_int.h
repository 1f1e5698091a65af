/* SIP message parser internals: character classes (RFC 3261 §25.1) and
   small inline scanners shared by sip_msg.c, sip_hdr.c and sip_mpart.c. */
#ifndef TANDEM_SIP_INT_H
#define TANDEM_SIP_INT_H

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "pl.h"
#include "sip_msg.h"

/* Bits of sip_cc[] (one 256-entry table, defined in sip_hdr.c). */
enum {
	SIP_CC_TOKEN = 0x01, /* token: alphanum - . ! % * _ + ` ' ~ */
	SIP_CC_WORD = 0x02,  /* word: token + ( ) < > : \ " / [ ] ? { } */
	SIP_CC_LWS = 0x04,   /* SP HTAB CR LF (inside a value: LWS/folds) */
	SIP_CC_WSP = 0x08,   /* SP HTAB */
	SIP_CC_DIGIT = 0x10, /* 0-9 */
	SIP_CC_HEX = 0x20,   /* 0-9 A-F a-f */
	SIP_CC_HOST = 0x40,  /* hostname chars: alphanum - . */
	SIP_CC_LIST = 0x80,  /* special in a comma list: , " < > \ */
};

extern const uint8_t sip_cc[256];

#define SIP_CC(c, m) (sip_cc[(unsigned char)(c)] & (m))

/* Skip LWS (SP, HTAB and folded line ends) from p towards e. */
static inline const char *
sip_skip_lws(const char *p, const char *e)
{
	while (p < e && SIP_CC(*p, SIP_CC_LWS))
		p++;
	return p;
}

/* Skip characters of class m (hot: header names, tokens, parameter
   values), four bytes per bound check. */
static inline const char *
sip_skip_cc(const char *p, const char *e, uint8_t m)
{
	while (e - p >= 4) {
		if (!SIP_CC(p[0], m))
			return p;
		if (!SIP_CC(p[1], m))
			return p + 1;
		if (!SIP_CC(p[2], m))
			return p + 2;
		if (!SIP_CC(p[3], m))
			return p + 3;
		p += 4;
	}
	while (p < e && SIP_CC(*p, m))
		p++;
	return p;
}

/* Skip token characters. */
static inline const char *
sip_skip_token(const char *p, const char *e)
{
	return sip_skip_cc(p, e, SIP_CC_TOKEN);
}

/* Decimal digits of [p, p + n) as pl_u32() reads them: EINVAL when empty
   or not all digits, ERANGE as soon as the value exceeds max (inline for
   the hot ports, counts and lengths). */
static inline int
sip_u32(const char *p, size_t n, uint32_t max, uint32_t *v)
{
	uint64_t acc = 0;
	size_t i;

	if (n == 0)
		return EINVAL;
	for (i = 0; i < n; i++) {
		unsigned d = (unsigned char)p[i] - '0';

		if (d > 9)
			return EINVAL;
		acc = acc * 10 + d;
		if (acc > max)
			return ERANGE;
	}
	*v = (uint32_t)acc;
	return 0;
}

/* Trim LWS from both ends of a slice. */
static inline void
sip_trim(struct pl *pl)
{
	const char *p = pl->p, *e = pl->p + pl->l;

	while (p < e && SIP_CC(*p, SIP_CC_LWS))
		p++;
	while (e > p && SIP_CC(e[-1], SIP_CC_LWS))
		e--;
	pl->p = p;
	pl->l = (size_t)(e - p);
}

/*
 * Skip a quoted-string (§25.1) starting at the opening DQUOTE *p. Handles
 * quoted-pair escapes (any byte but CR/LF after the backslash; RFC 4475
 * §3.1.1.2 allows a NUL there). Returns the byte after the closing quote,
 * or NULL if the string is unterminated.
 */
static inline const char *
sip_skip_quoted(const char *p, const char *e)
{
	for (p++; p < e; p++) {
		if (*p == '"')
			return p + 1;
		if (*p == '\\') {
			if (++p >= e)
				return NULL;
		}
	}
	return NULL;
}

/* Unaligned loads for the word-wise compare below. */
static inline uint64_t
sip_ld64(const char *p)
{
	uint64_t v;

	memcpy(&v, p, sizeof(v));
	return v;
}

static inline uint32_t
sip_ld32(const char *p)
{
	uint32_t v;

	memcpy(&v, p, sizeof(v));
	return v;
}

static inline uint16_t
sip_ld16(const char *p)
{
	uint16_t v;

	memcpy(&v, p, sizeof(v));
	return v;
}

/*
 * n bytes of p equal the literal lit, ASCII letters folded (so "Call\rID"
 * never matches "call-id"). lit holds lower-case letters and characters
 * below 0x40 only ('-', '.', '/', digits): then a letter is exactly a
 * byte with bit 0x40, and "x | 0x20 == lit" per letter byte, "x == lit"
 * per other byte, is done eight (or four, two) bytes at a time with
 * overlapping loads, never reading outside [p, p + n) or [lit, lit + n).
 */
static inline bool
sip_lit_caseeq(const char *p, const char *lit, size_t n)
{
	const uint64_t f64 = 0x2020202020202020u;
	size_t i;

	if (n >= 8) {
		for (i = 0; i + 8 < n; i += 8) {
			uint64_t l = sip_ld64(lit + i);

			if ((sip_ld64(p + i) | ((l >> 1) & f64)) != l)
				return false;
		}
		i = n - 8;
		return (sip_ld64(p + i) | ((sip_ld64(lit + i) >> 1) & f64)) ==
		       sip_ld64(lit + i);
	}
	if (n >= 4) {
		uint32_t a = sip_ld32(lit), b = sip_ld32(lit + n - 4);

		return (sip_ld32(p) | ((a >> 1) & (uint32_t)f64)) == a &&
		       (sip_ld32(p + n - 4) | ((b >> 1) & (uint32_t)f64)) == b;
	}
	if (n >= 2) {
		uint16_t a = sip_ld16(lit), b = sip_ld16(lit + n - 2);

		return (uint16_t)(sip_ld16(p) | ((a >> 1) & 0x2020)) == a &&
		       (uint16_t)(sip_ld16(p + n - 2) | ((b >> 1) & 0x2020)) ==
			       b;
	}
	return n == 0 || (char)(p[0] | ((lit[0] >> 1) & 0x20)) == lit[0];
}

/* Strip one pair of surrounding DQUOTEs if present. */
static inline void
sip_unquote(struct pl *pl)
{
	if (pl->l >= 2 && pl->p[0] == '"' && pl->p[pl->l - 1] == '"') {
		pl->p++;
		pl->l -= 2;
	}
}

/*
 * One generic parameter ";" name ["=" value] at *pp (LWS allowed around
 * ';' and '='; §7.3.1). value is a token/host or a quoted-string (quotes
 * kept); val->p is NULL when there is no '='. Returns 0 and advances *pp,
 * ENOENT at the end (only LWS left), EBADMSG with *why otherwise.
 */
int sip_param_next(const char **pp, const char *e, struct pl *name,
		   struct pl *val, const char **why);

/* struct sip_via */
struct sip_via;
/*
 * Decode the Via value at *pp (a comma-list element, decoded in place so
 * the list is read once) and advance *pp past the ',' that follows.
 * Returns 0, ENOENT when only LWS is left, EBADMSG with *why (also for an
 * empty element or a trailing comma).
 */
int sip_via_next(struct sip_via *via, const char **pp, const char *e,
		 const char **why);

/* sip_hdr_id_of() for a name known to be non-empty (n >= 1): the header
   scan's lookup, without the checks of the public entry. */
enum sip_hdr_id sip_hdr_id_raw(const char *p, size_t n);

/* callid = word ["@" word] (§25.1) over [p, e). */
bool sip_callid_ok(const char *p, const char *e);

#endif
