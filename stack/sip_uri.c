/*
 * SIP, SIPS, tel and other URIs: decoding (RFC 3261 §19.1.1, §25.1;
 * RFC 3966 §3 for tel; RFC 5118 and RFC 5954 for IPv6 references) and
 * its character classes; equivalence (§19.1.4), IP address text and
 * unescaping (§19.1.2) are in sip_uri_cmp.c.
 * One forward pass over the text driven by a const class table; never
 * allocates.
 *
 * Speed: every scanner's inner loop is sip_uri_span() (one table load and
 * test per byte, unrolled); escapes, a password and other rare shapes
 * leave it for a slow path. The host is classified (name / IPv4) while it
 * is scanned; "sip:" and well-known parameter names are compared a word
 * at a time; the userinfo costs one memchr() when there is none.
 */
#include "sip_uri.h"
#include "sip_int.h"
#include "sip_uri_int.h"

#include <errno.h>
#include <string.h>

#define QD SIP_UCC_QDTEXT
#define CC_UNR                                                                 \
	(SIP_UCC_UNRES | SIP_UCC_USER | SIP_UCC_PASS | SIP_UCC_PARAM |         \
	 SIP_UCC_HNV | SIP_UCC_URIC | SIP_UCC_UINFO | QD)
#define CC_ALNUM                                                               \
	(CC_UNR | SIP_UCC_TOKEN | SIP_UCC_SCHEME | SIP_UCC_HOST | SIP_UCC_LABEL)
/* UTF8-NONASCII bytes: qdtext (the quoted-string scanner does not check
   UTF-8 sequences). */
#define QD8(b)                                                                 \
	[b] = QD, [b + 1] = QD, [b + 2] = QD, [b + 3] = QD, [b + 4] = QD,      \
	[b + 5] = QD, [b + 6] = QD, [b + 7] = QD

/* Generated from the §25.1 rules quoted in sip_uri_int.h. */
const uint32_t sip_uri_ctab[256] = {
	['\t'] = SIP_UCC_WS | QD,
	['\n'] = SIP_UCC_WS,
	['\r'] = SIP_UCC_WS,
	[' '] = SIP_UCC_WS | QD,
	['!'] = CC_UNR | SIP_UCC_TOKEN,
	['#'] = QD,
	['$'] = SIP_UCC_USER | SIP_UCC_PASS | SIP_UCC_PARAM | SIP_UCC_HNV |
		SIP_UCC_URIC | QD | SIP_UCC_UINFO,
	['%'] = SIP_UCC_TOKEN | QD,
	['&'] = SIP_UCC_USER | SIP_UCC_PASS | SIP_UCC_PARAM | SIP_UCC_URIC |
		QD | SIP_UCC_UINFO,
	['\''] = CC_UNR | SIP_UCC_TOKEN,
	['('] = CC_UNR | SIP_UCC_TELSEP,
	[')'] = CC_UNR | SIP_UCC_TELSEP,
	['*'] = CC_UNR | SIP_UCC_TOKEN,
	['+'] = SIP_UCC_USER | SIP_UCC_PASS | SIP_UCC_PARAM | SIP_UCC_HNV |
		SIP_UCC_URIC | SIP_UCC_TOKEN | SIP_UCC_SCHEME | QD |
		SIP_UCC_UINFO,
	[','] = SIP_UCC_USER | SIP_UCC_PASS | SIP_UCC_URIC | QD | SIP_UCC_UINFO,
	['-'] = CC_UNR | SIP_UCC_TOKEN | SIP_UCC_SCHEME | SIP_UCC_HOST |
		SIP_UCC_TELSEP | SIP_UCC_LABEL,
	['.'] = CC_UNR | SIP_UCC_TOKEN | SIP_UCC_SCHEME | SIP_UCC_HOST |
		SIP_UCC_TELSEP,
	['/'] = SIP_UCC_USER | SIP_UCC_PARAM | SIP_UCC_HNV | SIP_UCC_URIC | QD |
		SIP_UCC_UINFO,
	['0'] = CC_ALNUM | SIP_UCC_DIGIT | SIP_UCC_HEX,
	['1'] = CC_ALNUM | SIP_UCC_DIGIT | SIP_UCC_HEX,
	['2'] = CC_ALNUM | SIP_UCC_DIGIT | SIP_UCC_HEX,
	['3'] = CC_ALNUM | SIP_UCC_DIGIT | SIP_UCC_HEX,
	['4'] = CC_ALNUM | SIP_UCC_DIGIT | SIP_UCC_HEX,
	['5'] = CC_ALNUM | SIP_UCC_DIGIT | SIP_UCC_HEX,
	['6'] = CC_ALNUM | SIP_UCC_DIGIT | SIP_UCC_HEX,
	['7'] = CC_ALNUM | SIP_UCC_DIGIT | SIP_UCC_HEX,
	['8'] = CC_ALNUM | SIP_UCC_DIGIT | SIP_UCC_HEX,
	['9'] = CC_ALNUM | SIP_UCC_DIGIT | SIP_UCC_HEX,
	[':'] = SIP_UCC_PARAM | SIP_UCC_HNV | SIP_UCC_URIC | QD | SIP_UCC_UINFO,
	[';'] = SIP_UCC_USER | SIP_UCC_URIC | QD | SIP_UCC_UINFO,
	['<'] = QD,
	['='] = SIP_UCC_USER | SIP_UCC_PASS | SIP_UCC_URIC | QD | SIP_UCC_UINFO,
	['>'] = QD,
	['?'] = SIP_UCC_USER | SIP_UCC_HNV | SIP_UCC_URIC | QD | SIP_UCC_UINFO,
	['@'] = SIP_UCC_URIC | QD,
	['A'] = CC_ALNUM | SIP_UCC_ALPHA | SIP_UCC_HEX,
	['B'] = CC_ALNUM | SIP_UCC_ALPHA | SIP_UCC_HEX,
	['C'] = CC_ALNUM | SIP_UCC_ALPHA | SIP_UCC_HEX,
	['D'] = CC_ALNUM | SIP_UCC_ALPHA | SIP_UCC_HEX,
	['E'] = CC_ALNUM | SIP_UCC_ALPHA | SIP_UCC_HEX,
	['F'] = CC_ALNUM | SIP_UCC_ALPHA | SIP_UCC_HEX,
	['G'] = CC_ALNUM | SIP_UCC_ALPHA,
	['H'] = CC_ALNUM | SIP_UCC_ALPHA,
	['I'] = CC_ALNUM | SIP_UCC_ALPHA,
	['J'] = CC_ALNUM | SIP_UCC_ALPHA,
	['K'] = CC_ALNUM | SIP_UCC_ALPHA,
	['L'] = CC_ALNUM | SIP_UCC_ALPHA,
	['M'] = CC_ALNUM | SIP_UCC_ALPHA,
	['N'] = CC_ALNUM | SIP_UCC_ALPHA,
	['O'] = CC_ALNUM | SIP_UCC_ALPHA,
	['P'] = CC_ALNUM | SIP_UCC_ALPHA,
	['Q'] = CC_ALNUM | SIP_UCC_ALPHA,
	['R'] = CC_ALNUM | SIP_UCC_ALPHA,
	['S'] = CC_ALNUM | SIP_UCC_ALPHA,
	['T'] = CC_ALNUM | SIP_UCC_ALPHA,
	['U'] = CC_ALNUM | SIP_UCC_ALPHA,
	['V'] = CC_ALNUM | SIP_UCC_ALPHA,
	['W'] = CC_ALNUM | SIP_UCC_ALPHA,
	['X'] = CC_ALNUM | SIP_UCC_ALPHA,
	['Y'] = CC_ALNUM | SIP_UCC_ALPHA,
	['Z'] = CC_ALNUM | SIP_UCC_ALPHA,
	['['] = SIP_UCC_PARAM | SIP_UCC_HNV | QD,
	[']'] = SIP_UCC_PARAM | SIP_UCC_HNV | QD,
	['^'] = QD,
	['_'] = CC_UNR | SIP_UCC_TOKEN,
	['`'] = SIP_UCC_TOKEN | QD,
	['a'] = CC_ALNUM | SIP_UCC_ALPHA | SIP_UCC_HEX,
	['b'] = CC_ALNUM | SIP_UCC_ALPHA | SIP_UCC_HEX,
	['c'] = CC_ALNUM | SIP_UCC_ALPHA | SIP_UCC_HEX,
	['d'] = CC_ALNUM | SIP_UCC_ALPHA | SIP_UCC_HEX,
	['e'] = CC_ALNUM | SIP_UCC_ALPHA | SIP_UCC_HEX,
	['f'] = CC_ALNUM | SIP_UCC_ALPHA | SIP_UCC_HEX,
	['g'] = CC_ALNUM | SIP_UCC_ALPHA,
	['h'] = CC_ALNUM | SIP_UCC_ALPHA,
	['i'] = CC_ALNUM | SIP_UCC_ALPHA,
	['j'] = CC_ALNUM | SIP_UCC_ALPHA,
	['k'] = CC_ALNUM | SIP_UCC_ALPHA,
	['l'] = CC_ALNUM | SIP_UCC_ALPHA,
	['m'] = CC_ALNUM | SIP_UCC_ALPHA,
	['n'] = CC_ALNUM | SIP_UCC_ALPHA,
	['o'] = CC_ALNUM | SIP_UCC_ALPHA,
	['p'] = CC_ALNUM | SIP_UCC_ALPHA,
	['q'] = CC_ALNUM | SIP_UCC_ALPHA,
	['r'] = CC_ALNUM | SIP_UCC_ALPHA,
	['s'] = CC_ALNUM | SIP_UCC_ALPHA,
	['t'] = CC_ALNUM | SIP_UCC_ALPHA,
	['u'] = CC_ALNUM | SIP_UCC_ALPHA,
	['v'] = CC_ALNUM | SIP_UCC_ALPHA,
	['w'] = CC_ALNUM | SIP_UCC_ALPHA,
	['x'] = CC_ALNUM | SIP_UCC_ALPHA,
	['y'] = CC_ALNUM | SIP_UCC_ALPHA,
	['z'] = CC_ALNUM | SIP_UCC_ALPHA,
	['{'] = QD,
	['|'] = QD,
	['}'] = QD,
	['~'] = CC_UNR | SIP_UCC_TOKEN,
	QD8(0x80),
	QD8(0x88),
	QD8(0x90),
	QD8(0x98),
	QD8(0xa0),
	QD8(0xa8),
	QD8(0xb0),
	QD8(0xb8),
	QD8(0xc0),
	QD8(0xc8),
	QD8(0xd0),
	QD8(0xd8),
	QD8(0xe0),
	QD8(0xe8),
	QD8(0xf0),
	QD8(0xf8),
};

#define NPOS ((size_t)-1)

static int
fail(const char **why, const char *what)
{
	if (why)
		*why = what;
	return EBADMSG;
}

/* scan_esc() from the first '%' at s[j]: the rare slow path. */
static bool
scan_esc_slow(const char *s, size_t n, size_t *i, size_t j, uint32_t cls,
	      bool *esc)
{
	while (j < n && s[j] == '%') {
		if (!sip_uri_esc_ok(s, n, j)) {
			*i = j;
			return false;
		}
		*esc = true;
		j = sip_uri_span(s, n, j + 3, cls);
	}
	*i = j;
	return true;
}

/*
 * Advance *i over bytes of class cls and "%" HEXDIG HEXDIG escapes. Returns
 * false (with *i at the '%') on a malformed escape; *esc is set when an
 * escape was seen.
 */
static inline bool
scan_esc(const char *s, size_t n, size_t *i, uint32_t cls, bool *esc)
{
	size_t j = sip_uri_span(s, n, *i, cls);

	if (j < n && s[j] == '%')
		return scan_esc_slow(s, n, i, j, cls, esc);
	*i = j;
	return true;
}

/*
 * Classify host text already known to be alphanum / "-" / "." (§25.1):
 * IPv4address, or hostname = *( domainlabel "." ) toplabel [ "." ] with
 * labels neither empty nor starting or ending in '-', and a toplabel that
 * starts with ALPHA. One pass. Returns SIP_HOST_NONE when it is neither.
 */
static enum sip_host_type
host_kind(const char *s, size_t n)
{
	size_t i, ls = 0;
	bool digits_only = true, dot = false;
	unsigned char top;

	if (n && s[n - 1] == '.') {
		dot = true; /* a hostname may end in '.', an IPv4address not */
		n--;
	}
	if (!n)
		return SIP_HOST_NONE;
	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c != '.') {
			if (c < '0' || c > '9')
				digits_only = false;
			continue;
		}
		if (i == ls || s[ls] == '-' || s[i - 1] == '-')
			return SIP_HOST_NONE;
		ls = i + 1;
	}
	if (i == ls || s[ls] == '-' || s[i - 1] == '-')
		return SIP_HOST_NONE;
	top = (unsigned char)s[ls];
	if (digits_only)
		return !dot && sip_uri_ip4_parse(s, n, NULL) ? SIP_HOST_IPV4
							     : SIP_HOST_NONE;
	return sip_ucc(top, SIP_UCC_ALPHA) ? SIP_HOST_NAME : SIP_HOST_NONE;
}

/* The value of the digit s[i] when i < n and it is one, else > 9. */
static inline unsigned
digit_at(const char *s, size_t n, size_t i)
{
	return i < n ? (unsigned)(unsigned char)(s[i] - '0') : 10;
}

/* A dotted quad at s[i] that is the whole host run (not followed by another
   hostname byte): returns the index after it, else 0. */
static inline size_t
ip4_run(const char *s, size_t n, size_t i)
{
	unsigned part, v, d;

	for (part = 0; part < 4; part++) {
		if (part && (i >= n || s[i++] != '.'))
			return 0;
		/* 1*3DIGIT, at most 255 */
		if ((v = digit_at(s, n, i)) > 9)
			return 0;
		if ((d = digit_at(s, n, ++i)) <= 9) {
			v = v * 10 + d;
			if ((d = digit_at(s, n, ++i)) <= 9) {
				if (v * 10 + d > 255)
					return 0;
				i++;
			}
		}
	}
	if (i < n && sip_ucc((unsigned char)s[i], SIP_UCC_HOST))
		return 0;
	return i;
}

/*
 * host text at s[i]: the longest run of hostname bytes (alphanum / "-" /
 * "."), classified as host_kind() would, in the same pass for the common
 * shapes: a dotted quad, or labels that start with a letter. Other runs
 * are scanned and then classified by host_kind(). *kind is
 * SIP_HOST_NONE when the run is not a valid host (or empty). Returns the
 * index after the run.
 */
static inline size_t
host_run(const char *s, size_t n, size_t i, enum sip_host_type *kind)
{
	size_t st = i, ls, top = i, e;
	bool bad = false;

	if (i < n && (unsigned char)(s[i] - '0') < 10) {
		if ((e = ip4_run(s, n, i)) != 0) {
			*kind = SIP_HOST_IPV4;
			return e;
		}
		e = sip_uri_span(s, n, i, SIP_UCC_HOST);
		*kind = host_kind(s + i, e - i);
		return e;
	}
	/* not starting with a digit, so not an IPv4address: labels */
	for (;;) {
		ls = i;
		i = sip_uri_span(s, n, i, SIP_UCC_LABEL);
		if (i > ls) {
			top = ls;
			if (s[ls] == '-' || s[i - 1] == '-')
				bad = true;
		}
		if (i >= n || s[i] != '.')
			break;
		if (i == ls)
			bad = true; /* empty label */
		i++;
	}
	*kind = i == st || bad || !sip_ucc((unsigned char)s[top], SIP_UCC_ALPHA)
			? SIP_HOST_NONE
			: SIP_HOST_NAME;
	return i;
}

/*
 * Which well-known uri-parameter the unescaped name p[0..l) is: length,
 * then whole words compared ASCII case-insensitively. OR-ing 0x20 into a
 * byte maps only 'A'-'Z' onto 'a'-'z', so comparing the OR-ed word with a
 * lower-case letters-only literal is an exact case-insensitive compare.
 */
static inline enum sip_uri_wk
wk_name(const char *p, size_t l)
{
	uint32_t w, lw;
	uint64_t q, lq;

	switch (l) {
	case 2:
		return ((p[0] | 0x20) == 'l' && (p[1] | 0x20) == 'r')
			       ? SIP_URI_WK_LR
			       : SIP_URI_WK_NONE;
	case 3:
		return ((p[0] | 0x20) == 't' && (p[1] | 0x20) == 't' &&
			(p[2] | 0x20) == 'l')
			       ? SIP_URI_WK_TTL
			       : SIP_URI_WK_NONE;
	case 4:
		w = sip_ld32(p) | 0x20202020u;
		lw = sip_ld32("user");
		return w == lw ? SIP_URI_WK_USER : SIP_URI_WK_NONE;
	case 5:
		w = sip_ld32(p) | 0x20202020u;
		lw = sip_ld32("madd");
		return w == lw && (p[4] | 0x20) == 'r' ? SIP_URI_WK_MADDR
						       : SIP_URI_WK_NONE;
	case 6:
		w = sip_ld32(p) | 0x20202020u;
		lw = sip_ld32("meth");
		return w == lw && (p[4] | 0x20) == 'o' && (p[5] | 0x20) == 'd'
			       ? SIP_URI_WK_METHOD
			       : SIP_URI_WK_NONE;
	case 9:
		q = sip_ld64(p) | 0x2020202020202020u;
		lq = sip_ld64("transpor");
		return q == lq && (p[8] | 0x20) == 't' ? SIP_URI_WK_TRANSPORT
						       : SIP_URI_WK_NONE;
	default:
		return SIP_URI_WK_NONE;
	}
}

enum sip_uri_wk
sip_uri_wk_param(const char *p, size_t l, bool esc)
{
	char buf[10];

	if (esc) {
		size_t i = 0, k = 0;

		while (i < l && k < sizeof(buf))
			buf[k++] = (char)sip_uri_esc_byte(p, l, &i);
		if (i < l)
			return SIP_URI_WK_NONE;
		p = buf;
		l = k;
	}
	return wk_name(p, l);
}

/*
 * One ";name[=value]" with s[*ip] == ';' (§19.1.1 uri-parameters, RFC 3966
 * parameter). pname = 1*paramchar; a value may be empty (liberal). *esc
 * tells whether the name holds an escape.
 */
static inline int
param_scan(const char *s, size_t n, size_t *ip, struct pl *name, struct pl *val,
	   bool *esc, const char **why)
{
	size_t i = *ip + 1, st = i;
	bool vesc = false;

	*esc = false;
	if (!scan_esc(s, n, &i, SIP_UCC_PARAM, esc))
		return fail(why, "bad escape");
	if (i == st)
		return fail(why, "empty uri parameter");
	pl_set(name, s + st, i - st);
	pl_set(val, NULL, 0);
	if (i < n && s[i] == '=') {
		st = ++i;
		if (!scan_esc(s, n, &i, SIP_UCC_PARAM, &vesc))
			return fail(why, "bad escape");
		pl_set(val, s + st, i - st);
	}
	*ip = i;
	return 0;
}

/* Record one well-known sip/sips uri-parameter. */
static inline int
sip_param_pick(struct sip_uri *u, const struct pl *name, const struct pl *val,
	       bool esc, const char **why)
{
	struct pl *slot;
	uint32_t ttl;

	switch (esc ? sip_uri_wk_param(name->p, name->l, true)
		    : wk_name(name->p, name->l)) {
	case SIP_URI_WK_NONE:
		return 0;
	case SIP_URI_WK_LR:
		if (u->lr)
			return fail(why, "duplicate uri parameter");
		u->lr = true;
		return 0;
	case SIP_URI_WK_TRANSPORT:
		slot = &u->transport;
		break;
	case SIP_URI_WK_USER:
		slot = &u->user_param;
		break;
	case SIP_URI_WK_METHOD:
		slot = &u->method;
		break;
	case SIP_URI_WK_MADDR:
		slot = &u->maddr;
		break;
	default: /* SIP_URI_WK_TTL: ttl = 1*3DIGIT, 0..255 (§25.1) */
		if (pl_u32(val, 255, &ttl) != 0 || val->l > 3)
			return fail(why, "bad ttl");
		slot = &u->ttl;
		break;
	}
	if (pl_isset(slot))
		return fail(why, "duplicate uri parameter");
	if (!val->l)
		return fail(why, "empty uri parameter value");
	pl_set(slot, val->p, val->l);
	return 0;
}

/* headers = "?" header *( "&" header ); header = hname "=" hvalue (§25.1) */
static int
headers_scan(const char *s, size_t n, size_t *ip, const char **why)
{
	size_t i = *ip, st;
	bool esc;

	for (;;) {
		st = i;
		if (!scan_esc(s, n, &i, SIP_UCC_HNV, &esc))
			return fail(why, "bad escape");
		if (i == st)
			return fail(why, "empty uri header name");
		if (i >= n || s[i] != '=')
			return fail(why, "missing '=' in uri header");
		i++;
		if (!scan_esc(s, n, &i, SIP_UCC_HNV, &esc))
			return fail(why, "bad escape");
		if (i >= n || s[i] != '&')
			break;
		i++;
	}
	*ip = i;
	return 0;
}

/*
 * userinfo = ( user / telephone-subscriber ) [ ":" password ] "@".
 * user may hold ';', '?', '/' (user-unreserved), so "user;par=x@host"
 * (RFC 4475 semiuri) is user "user;par=x". No production of a sip/sips
 * URI allows a literal '@' except this terminator (user, password,
 * host, uri-parameters and headers all exclude it; '@' must be escaped
 * there), so the userinfo is everything before the first '@' when all of
 * it is user/password text; if we meet a byte that cannot be userinfo
 * first, there is no userinfo and the host starts at *ip.
 */
static int
userinfo_scan(struct sip_uri *u, const char *s, size_t n, size_t *ip,
	      const char **why)
{
	size_t i = *ip, j = i, colon = NPOS, k;

	if (!memchr(s + i, '@', n - i))
		return 0; /* no userinfo */
	for (;;) {
		j = sip_uri_span(s, n, j, SIP_UCC_USER);
		if (j >= n)
			return 0;
		if (s[j] == ':') {
			if (colon == NPOS)
				colon = j;
			j++;
		} else if (s[j] == '%') {
			if (!sip_uri_esc_ok(s, n, j))
				return fail(why, "bad escape");
			j += 3;
		} else {
			break;
		}
	}
	if (s[j] != '@')
		return 0;
	k = colon != NPOS ? colon : j;
	if (k == i)
		return fail(why, "empty user");
	pl_set(&u->user, s + i, k - i);
	if (colon != NPOS) {
		/* password = *( unreserved / escaped / "&=+$," ) */
		for (k = colon + 1; k < j; k++) {
			if (s[k] == '%')
				k += 2;
			else if (!sip_ucc((unsigned char)s[k], SIP_UCC_PASS))
				return fail(why, "bad password");
		}
		pl_set(&u->password, s + colon + 1, j - colon - 1);
	}
	*ip = j + 1;
	return 0;
}

/* IPv6reference (RFC 5118) with s[i] == '['; returns the index after ']'
   or 0 with *why set. */
static size_t
ipv6_ref(struct sip_uri *u, const char *s, size_t n, size_t i, const char **why)
{
	const char *e = memchr(s + i, ']', n - i);
	size_t st = i + 1;

	if (!e) {
		fail(why, "unterminated IPv6 reference");
		return 0;
	}
	i = (size_t)(e - s);
	if (!sip_uri_ip6_parse(s + st, i - st, NULL)) {
		fail(why, "bad IPv6 address");
		return 0;
	}
	u->host_type = SIP_HOST_IPV6;
	pl_set(&u->host, s + st, i - st);
	return i + 1;
}

/*
 * hostport after the userinfo: host [ ":" port ]. The hostname run
 * s[i..h) of kind is already scanned (h == i when the host is bracketed
 * or missing). *ip gets the index after the port.
 */
static int
hostport(struct sip_uri *u, const char *s, size_t n, size_t i, size_t h,
	 enum sip_host_type kind, size_t *ip, const char **why)
{
	size_t st, k;
	uint32_t port = 0;

	if (i < n && s[i] == '[') {
		h = ipv6_ref(u, s, n, i, why);
		if (!h)
			return EBADMSG;
	} else {
		if (h == i)
			return fail(why, "missing host");
		/* RFC 5118 §4.2: an IPv6 host MUST be bracketed. */
		if (h < n && s[h] == ':') {
			k = sip_uri_span(s, n, h + 1, SIP_UCC_HEX);
			while (k < n && s[k] == '.')
				k = sip_uri_span(s, n, k + 1, SIP_UCC_HEX);
			if (k < n && s[k] == ':')
				return fail(why, "IPv6 address without []");
		}
		if (kind == SIP_HOST_NONE)
			return fail(why, "bad host");
		u->host_type = kind;
		pl_set(&u->host, s + i, h - i);
	}
	if (h < n && s[h] == ':') {
		/* port = 1*DIGIT; 0 and above 65535 are not ports */
		st = ++h;
		while (h < n && (unsigned char)(s[h] - '0') < 10) {
			port = port * 10 + (uint32_t)(s[h] - '0');
			if (port > 65535)
				port = 65536;
			h++;
		}
		if (h == st || port == 0 || port > 65535)
			return fail(why, "bad port");
		u->port = (uint16_t)port;
		u->port_set = true;
	}
	*ip = h;
	return 0;
}

static int
end_check(const char *s, size_t n, size_t i, const char **why)
{
	if (i == n)
		return 0;
	/* RFC 4475 lwsruri: no LWS inside a URI */
	if (sip_ucc((unsigned char)s[i], SIP_UCC_WS))
		return fail(why, "whitespace in URI");
	return fail(why, "invalid character in URI");
}

/* SIP-URI / SIPS-URI (§19.1.1, §25.1) after "sip:" / "sips:". */
static int
decode_sip(struct sip_uri *u, const char *s, size_t n, size_t i,
	   const char **why)
{
	enum sip_host_type kind;
	struct pl name, val;
	size_t h, st;
	bool esc;
	int err;

	if ((err = userinfo_scan(u, s, n, &i, why)) != 0)
		return err;
	h = host_run(s, n, i, &kind);
	if ((err = hostport(u, s, n, i, h, kind, &i, why)) != 0)
		return err;
	st = i;
	while (i < n && s[i] == ';') {
		if ((err = param_scan(s, n, &i, &name, &val, &esc, why)) ||
		    (err = sip_param_pick(u, &name, &val, esc, why)))
			return err;
	}
	pl_set(&u->params, i > st ? s + st : NULL, i - st);
	if (i < n && s[i] == '?') {
		st = ++i;
		if ((err = headers_scan(s, n, &i, why)) != 0)
			return err;
		pl_set(&u->headers, s + st, i - st);
	}
	return end_check(s, n, i, why);
}

/*
 * telephone-uri (RFC 3966 §3): global-number-digits ("+" and digits with
 * visual separators) or local-number-digits (HEXDIG "*" "#" and
 * separators), then parameters. RFC 3966 §5.1.5: a local number MUST
 * carry phone-context.
 */
static int
decode_tel(struct sip_uri *u, const char *s, size_t n, size_t i,
	   const char **why)
{
	size_t st = i;
	bool global = false, digit = false, ctx = false, esc;
	struct pl name, val;
	int err;

	if (i < n && s[i] == '+') {
		global = true;
		i++;
	}
	for (; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		if (sip_ucc(c, SIP_UCC_TELSEP))
			continue;
		if (global ? sip_ucc(c, SIP_UCC_DIGIT)
			   : (sip_ucc(c, SIP_UCC_HEX) || c == '*' || c == '#'))
			digit = true;
		else
			break;
	}
	if (!digit)
		return fail(why, "bad telephone number");
	pl_set(&u->number, s + st, i - st);
	st = i;
	while (i < n && s[i] == ';') {
		if ((err = param_scan(s, n, &i, &name, &val, &esc, why)) != 0)
			return err;
		if (name.l == 13 &&
		    sip_uri_lit_eq(name.p, "phone-context", 13)) {
			if (ctx || !val.l)
				return fail(why, "bad phone-context");
			ctx = true;
		}
	}
	pl_set(&u->params, i > st ? s + st : NULL, i - st);
	if ((err = end_check(s, n, i, why)) != 0)
		return err;
	if (!global && !ctx)
		return fail(why, "local number without phone-context");
	return 0;
}

/* absoluteURI = scheme ":" ( hier-part / opaque-part ): 1*uric here. */
static int
decode_other(struct sip_uri *u, const char *s, size_t n, size_t i,
	     const char **why)
{
	size_t st = i;

	bool esc;

	if (!scan_esc(s, n, &i, SIP_UCC_URIC, &esc))
		return fail(why, "bad escape");
	if (i == st)
		return fail(why, "empty URI");
	pl_set(&u->opaque, s + st, i - st);
	return end_check(s, n, i, why);
}

int
sip_uri_decode(struct sip_uri *uri, const struct pl *pl, const char **why)
{
	const char *s;
	size_t n, i;

	memset(uri, 0, sizeof(*uri));
	if (!pl || !pl->p || !pl->l)
		return fail(why, "empty URI");
	s = pl->p;
	n = pl->l;
	pl_set(&uri->raw, s, n); /* from registers, see sip_addr_decode() */
	/* "sip:" in any case, with one compare (see wk_name()) */
	if (n >= 4 &&
	    (sip_ld32(s) | sip_ld32("\x20\x20\x20\0")) == sip_ld32("sip:")) {
		pl_set(&uri->scheme_pl, s, 3);
		uri->scheme = SIP_URI_SIP;
		return decode_sip(uri, s, n, 4, why);
	}
	/* scheme = ALPHA *( ALPHA / DIGIT / "+" / "-" / "." ) */
	if (!sip_ucc((unsigned char)s[0], SIP_UCC_ALPHA))
		return fail(why, "bad scheme");
	i = sip_uri_span(s, n, 1, SIP_UCC_SCHEME);
	if (i >= n || s[i] != ':')
		return fail(why, "bad scheme");
	pl_set(&uri->scheme_pl, s, i);
	if (i == 3 && sip_uri_lit_eq(s, "sip", 3)) {
		uri->scheme = SIP_URI_SIP;
		return decode_sip(uri, s, n, i + 1, why);
	}
	if (i == 4 && sip_uri_lit_eq(s, "sips", 4)) {
		uri->scheme = SIP_URI_SIPS;
		return decode_sip(uri, s, n, i + 1, why);
	}
	if (i == 3 && sip_uri_lit_eq(s, "tel", 3)) {
		uri->scheme = SIP_URI_TEL;
		return decode_tel(uri, s, n, i + 1, why);
	}
	uri->scheme = SIP_URI_OTHER;
	return decode_other(uri, s, n, i + 1, why);
}
