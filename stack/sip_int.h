/* SIP message parser internals: character classes (RFC 3261 §25.1) and
   small inline scanners shared by sip_msg.c, sip_hdr.c and sip_mpart.c. */
#ifndef TANDEM_SIP_INT_H
#define TANDEM_SIP_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "pl.h"

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

/* Skip token characters. */
static inline const char *
sip_skip_token(const char *p, const char *e)
{
	while (p < e && SIP_CC(*p, SIP_CC_TOKEN))
		p++;
	return p;
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

/* n bytes of p equal the lower-case literal lit, ASCII letters folded
   (cheaper than strncasecmp for the short names we compare). */
static inline bool
sip_lit_caseeq(const char *p, const char *lit, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		char c = p[i], l = lit[i];

		if (c != l && !(l >= 'a' && l <= 'z' && (c | 0x20) == l))
			return false;
	}
	return true;
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

/* callid = word ["@" word] (§25.1) over [p, e). */
bool sip_callid_ok(const char *p, const char *e);

#endif
