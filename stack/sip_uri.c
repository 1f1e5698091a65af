/*
 * SIP, SIPS, tel and other URIs: decoding (RFC 3261 §19.1.1, §25.1;
 * RFC 3966 §3 for tel; RFC 5118 and RFC 5954 for IPv6 references),
 * equivalence (RFC 3261 §19.1.4, RFC 3966 §4) and unescaping (§19.1.2).
 * One forward pass over the text driven by a const class table; never
 * allocates.
 */
#include "sip_uri.h"
#include "sip_uri_int.h"

#include <errno.h>
#include <string.h>

#define CC_UNR                                                                 \
	(SIP_UCC_UNRES | SIP_UCC_USER | SIP_UCC_PASS | SIP_UCC_PARAM |         \
	 SIP_UCC_HNV | SIP_UCC_URIC)
#define CC_ALNUM (CC_UNR | SIP_UCC_TOKEN | SIP_UCC_SCHEME | SIP_UCC_HOST)

/* Generated from the §25.1 rules quoted in sip_uri_int.h. */
const uint16_t sip_uri_ctab[256] = {
	['\t'] = SIP_UCC_WS,
	['\n'] = SIP_UCC_WS,
	['\r'] = SIP_UCC_WS,
	[' '] = SIP_UCC_WS,
	['!'] = CC_UNR | SIP_UCC_TOKEN,
	['$'] = SIP_UCC_USER | SIP_UCC_PASS | SIP_UCC_PARAM | SIP_UCC_HNV |
		SIP_UCC_URIC,
	['%'] = SIP_UCC_TOKEN,
	['&'] = SIP_UCC_USER | SIP_UCC_PASS | SIP_UCC_PARAM | SIP_UCC_URIC,
	['\''] = CC_UNR | SIP_UCC_TOKEN,
	['('] = CC_UNR | SIP_UCC_TELSEP,
	[')'] = CC_UNR | SIP_UCC_TELSEP,
	['*'] = CC_UNR | SIP_UCC_TOKEN,
	['+'] = SIP_UCC_USER | SIP_UCC_PASS | SIP_UCC_PARAM | SIP_UCC_HNV |
		SIP_UCC_URIC | SIP_UCC_TOKEN | SIP_UCC_SCHEME,
	[','] = SIP_UCC_USER | SIP_UCC_PASS | SIP_UCC_URIC,
	['-'] = CC_UNR | SIP_UCC_TOKEN | SIP_UCC_SCHEME | SIP_UCC_HOST |
		SIP_UCC_TELSEP,
	['.'] = CC_UNR | SIP_UCC_TOKEN | SIP_UCC_SCHEME | SIP_UCC_HOST |
		SIP_UCC_TELSEP,
	['/'] = SIP_UCC_USER | SIP_UCC_PARAM | SIP_UCC_HNV | SIP_UCC_URIC,
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
	[':'] = SIP_UCC_PARAM | SIP_UCC_HNV | SIP_UCC_URIC,
	[';'] = SIP_UCC_USER | SIP_UCC_URIC,
	['='] = SIP_UCC_USER | SIP_UCC_PASS | SIP_UCC_URIC,
	['?'] = SIP_UCC_USER | SIP_UCC_HNV | SIP_UCC_URIC,
	['@'] = SIP_UCC_URIC,
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
	['['] = SIP_UCC_PARAM | SIP_UCC_HNV,
	[']'] = SIP_UCC_PARAM | SIP_UCC_HNV,
	['_'] = CC_UNR | SIP_UCC_TOKEN,
	['`'] = SIP_UCC_TOKEN,
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
	['~'] = CC_UNR | SIP_UCC_TOKEN,
};

#define NPOS ((size_t)-1)

static int
fail(const char **why, const char *what)
{
	if (why)
		*why = what;
	return EBADMSG;
}

static bool
esc_ok(const char *s, size_t n, size_t i)
{
	return i + 2 < n && sip_uri_hexval((unsigned char)s[i + 1]) >= 0 &&
	       sip_uri_hexval((unsigned char)s[i + 2]) >= 0;
}

/*
 * Advance *i over bytes of class cls and "%" HEXDIG HEXDIG escapes. Returns
 * false (with *i at the '%') on a malformed escape; *esc tells whether an
 * escape was seen.
 */
static bool
scan_esc(const char *s, size_t n, size_t *i, uint16_t cls, bool *esc)
{
	size_t j = *i;

	while (j < n) {
		unsigned char c = (unsigned char)s[j];

		if (sip_ucc(c, cls)) {
			j++;
			continue;
		}
		if (c != '%')
			break;
		if (!esc_ok(s, n, j)) {
			*i = j;
			return false;
		}
		if (esc)
			*esc = true;
		j += 3;
	}
	*i = j;
	return true;
}

/* The byte at p[*i] with one escape decoded; advances *i. A '%' that does
   not start a valid escape reads as itself. */
static unsigned
esc_byte(const char *p, size_t l, size_t *i)
{
	unsigned char c = (unsigned char)p[*i];

	if (c == '%' && esc_ok(p, l, *i)) {
		c = (unsigned char)(sip_uri_hexval((unsigned char)p[*i + 1])
					    << 4 |
				    sip_uri_hexval((unsigned char)p[*i + 2]));
		*i += 3;
		return c;
	}
	(*i)++;
	return c;
}

static unsigned
lower(unsigned c)
{
	return c >= 'A' && c <= 'Z' ? c + 32 : c;
}

/* Equality after unescaping both sides; ASCII case folded if icase. */
static bool
esc_eq(const char *a, size_t al, const char *b, size_t bl, bool icase)
{
	size_t i = 0, j = 0;

	while (i < al && j < bl) {
		unsigned x = esc_byte(a, al, &i), y = esc_byte(b, bl, &j);

		if (icase) {
			x = lower(x);
			y = lower(y);
		}
		if (x != y)
			return false;
	}
	return i == al && j == bl;
}

static bool
pl_esc_eq(const struct pl *a, const struct pl *b, bool icase)
{
	if (pl_isset(a) != pl_isset(b))
		return false;
	return esc_eq(a->p, a->l, b->p, b->l, icase);
}

/* ASCII case-insensitive compare of l bytes with a lower-case literal. */
static bool
lit_eq(const char *p, const char *lit, size_t l)
{
	size_t i;

	for (i = 0; i < l; i++)
		if (lower((unsigned char)p[i]) != (unsigned char)lit[i])
			return false;
	return true;
}

/* IPv4address (§25.1) with each octet at most 255. */
static bool
ip4_parse(const char *s, size_t n, uint32_t *out)
{
	uint32_t a = 0, part = 0;
	unsigned dots = 0, digits = 0;
	size_t i;

	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c >= '0' && c <= '9') {
			part = part * 10 + (c - '0');
			if (++digits > 3 || part > 255)
				return false;
		} else if (c == '.' && digits && dots < 3) {
			a = a << 8 | part;
			part = 0;
			digits = 0;
			dots++;
		} else {
			return false;
		}
	}
	if (dots != 3 || !digits)
		return false;
	if (out)
		*out = a << 8 | part;
	return true;
}

/*
 * IPv6address text (RFC 4291 §2.2, RFC 5954 §4.1) into 16 bytes: 1-4 hex
 * digit groups, "::" at most once, an embedded IPv4 address last.
 * RFC 3261's ABNF also produced a third colon between "::" and an embedded
 * IPv4 address ("2001:db8:::192.0.2.1"); RFC 5118 §4.10 asks receivers to
 * tolerate that form (the RFC 4475/5118 corpus index and
 * tests/unit/test_rfc4475.c do too), so with IP6_TOLERATE_3COLON it is
 * read as the two-colon form. Set it to 0 to follow RFC 5954 strictly.
 */
#define IP6_TOLERATE_3COLON 1

/* After "::" at s[i]: skip the RFC 3261 ABNF's third colon when only an
   IPv4 address follows. */
static size_t
ip6_skip_3rd_colon(const char *s, size_t n, size_t i)
{
	if (IP6_TOLERATE_3COLON && i + 1 < n && s[i] == ':' &&
	    memchr(s + i + 1, '.', n - i - 1) &&
	    !memchr(s + i + 1, ':', n - i - 1))
		return i + 1;
	return i;
}

static bool
ip6_parse(const char *s, size_t n, uint8_t out[16])
{
	uint16_t g[8];
	int ng = 0, dc = -1, head, tail, k;
	size_t i = 0;

	if (n < 2)
		return false;
	if (s[0] == ':') {
		if (s[1] != ':')
			return false;
		dc = 0;
		i = ip6_skip_3rd_colon(s, n, 2);
	}
	while (i < n) {
		size_t st = i;
		unsigned v = 0;
		int h;

		while (i < n && i - st < 5 &&
		       (h = sip_uri_hexval((unsigned char)s[i])) >= 0) {
			v = v << 4 | (unsigned)h;
			i++;
		}
		if (i < n && s[i] == '.') {
			uint32_t a;

			if (ng > 6 || !ip4_parse(s + st, n - st, &a))
				return false;
			g[ng++] = (uint16_t)(a >> 16);
			g[ng++] = (uint16_t)a;
			break;
		}
		if (i == st || i - st > 4 || ng == 8)
			return false;
		g[ng++] = (uint16_t)v;
		if (i == n)
			break;
		if (s[i] != ':' || ++i == n)
			return false;
		if (s[i] == ':') {
			if (dc >= 0)
				return false;
			dc = ng;
			i = ip6_skip_3rd_colon(s, n, i + 1);
		}
	}
	if (dc < 0 ? ng != 8 : ng > 7)
		return false;
	if (!out)
		return true;
	memset(out, 0, 16);
	tail = dc < 0 ? 0 : ng - dc;
	head = ng - tail;
	for (k = 0; k < ng; k++) {
		int at = k < head ? k : 8 - tail + (k - head);

		out[2 * at] = (uint8_t)(g[k] >> 8);
		out[2 * at + 1] = (uint8_t)g[k];
	}
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
		return !dot && ip4_parse(s, n, NULL) ? SIP_HOST_IPV4
						     : SIP_HOST_NONE;
	return sip_ucc(top, SIP_UCC_ALPHA) ? SIP_HOST_NAME : SIP_HOST_NONE;
}

enum wk_param {
	WK_NONE,
	WK_TRANSPORT,
	WK_USER,
	WK_METHOD,
	WK_TTL,
	WK_MADDR,
	WK_LR
};

/* Which well-known uri-parameter a name is: length and first byte, then
   one compare. An escaped name ("%6C%72", RFC 4475 esc01) is decoded. */
static enum wk_param
wk_param(const char *p, size_t l, bool esc)
{
	char buf[10];

	if (esc) {
		size_t i = 0, k = 0;

		while (i < l && k < sizeof(buf))
			buf[k++] = (char)esc_byte(p, l, &i);
		if (i < l)
			return WK_NONE;
		p = buf;
		l = k;
	}
	switch (l) {
	case 2:
		return lit_eq(p, "lr", 2) ? WK_LR : WK_NONE;
	case 3:
		return lit_eq(p, "ttl", 3) ? WK_TTL : WK_NONE;
	case 4:
		return lit_eq(p, "user", 4) ? WK_USER : WK_NONE;
	case 5:
		return lit_eq(p, "maddr", 5) ? WK_MADDR : WK_NONE;
	case 6:
		return lit_eq(p, "method", 6) ? WK_METHOD : WK_NONE;
	case 9:
		return lit_eq(p, "transport", 9) ? WK_TRANSPORT : WK_NONE;
	default:
		return WK_NONE;
	}
}

/*
 * One ";name[=value]" with s[*i] == ';' (§19.1.1 uri-parameters, RFC 3966
 * parameter). pname = 1*paramchar; a value may be empty (liberal).
 */
static int
param_scan(const char *s, size_t n, size_t *ip, struct pl *name, struct pl *val,
	   bool *esc, const char **why)
{
	size_t i = *ip + 1, st = i;

	*esc = false;
	if (!scan_esc(s, n, &i, SIP_UCC_PARAM, esc))
		return fail(why, "bad escape");
	if (i == st)
		return fail(why, "empty uri parameter");
	pl_set(name, s + st, i - st);
	pl_set(val, NULL, 0);
	if (i < n && s[i] == '=') {
		st = ++i;
		if (!scan_esc(s, n, &i, SIP_UCC_PARAM, NULL))
			return fail(why, "bad escape");
		pl_set(val, s + st, i - st);
	}
	*ip = i;
	return 0;
}

/* Record one well-known sip/sips uri-parameter. */
static int
sip_param_pick(struct sip_uri *u, const struct pl *name, const struct pl *val,
	       bool esc, const char **why)
{
	enum wk_param k = wk_param(name->p, name->l, esc);
	struct pl *slot;
	uint32_t ttl;

	switch (k) {
	case WK_NONE:
		return 0;
	case WK_LR:
		if (u->lr)
			return fail(why, "duplicate uri parameter");
		u->lr = true;
		return 0;
	case WK_TRANSPORT:
		slot = &u->transport;
		break;
	case WK_USER:
		slot = &u->user_param;
		break;
	case WK_METHOD:
		slot = &u->method;
		break;
	case WK_MADDR:
		slot = &u->maddr;
		break;
	default: /* WK_TTL: ttl = 1*3DIGIT, 0..255 (§25.1) */
		if (pl_u32(val, 255, &ttl) != 0 || val->l > 3)
			return fail(why, "bad ttl");
		slot = &u->ttl;
		break;
	}
	if (pl_isset(slot))
		return fail(why, "duplicate uri parameter");
	if (!val->l)
		return fail(why, "empty uri parameter value");
	*slot = *val;
	return 0;
}

/* headers = "?" header *( "&" header ); header = hname "=" hvalue (§25.1) */
static int
headers_scan(const char *s, size_t n, size_t *ip, const char **why)
{
	size_t i = *ip, st;

	for (;;) {
		st = i;
		if (!scan_esc(s, n, &i, SIP_UCC_HNV, NULL))
			return fail(why, "bad escape");
		if (i == st)
			return fail(why, "empty uri header name");
		if (i >= n || s[i] != '=')
			return fail(why, "missing '=' in uri header");
		i++;
		if (!scan_esc(s, n, &i, SIP_UCC_HNV, NULL))
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
		return 0; /* fast path: no userinfo */
	while (j < n) {
		unsigned char c = (unsigned char)s[j];

		if (sip_ucc(c, SIP_UCC_USER)) {
			j++;
		} else if (c == ':') {
			if (colon == NPOS)
				colon = j;
			j++;
		} else if (c == '%') {
			if (!esc_ok(s, n, j))
				return fail(why, "bad escape");
			j += 3;
		} else {
			break;
		}
	}
	if (j >= n || s[j] != '@')
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

/* host = hostname / IPv4address / IPv6reference, then [ ":" port ]. */
static int
hostport_scan(struct sip_uri *u, const char *s, size_t n, size_t *ip,
	      const char **why)
{
	size_t i = *ip, st = i, k;
	uint32_t port = 0;

	if (i < n && s[i] == '[') {
		const char *e = memchr(s + i, ']', n - i);

		if (!e)
			return fail(why, "unterminated IPv6 reference");
		st = i + 1;
		i = (size_t)(e - s);
		if (!ip6_parse(s + st, i - st, NULL))
			return fail(why, "bad IPv6 address");
		u->host_type = SIP_HOST_IPV6;
		pl_set(&u->host, s + st, i - st);
		i++;
	} else {
		while (i < n && sip_ucc((unsigned char)s[i], SIP_UCC_HOST))
			i++;
		if (i == st)
			return fail(why, "missing host");
		/* RFC 5118 §4.2: an IPv6 host MUST be bracketed. */
		if (i < n && s[i] == ':') {
			for (k = i + 1; k < n && (sip_ucc((unsigned char)s[k],
							  SIP_UCC_HEX) ||
						  s[k] == '.');
			     k++)
				;
			if (k < n && s[k] == ':')
				return fail(why, "IPv6 address without []");
		}
		u->host_type = host_kind(s + st, i - st);
		if (u->host_type == SIP_HOST_NONE)
			return fail(why, "bad host");
		pl_set(&u->host, s + st, i - st);
	}
	if (i < n && s[i] == ':') {
		/* port = 1*DIGIT; 0 and above 65535 are not ports */
		st = ++i;
		while (i < n && sip_ucc((unsigned char)s[i], SIP_UCC_DIGIT)) {
			port = port * 10 + (uint32_t)(s[i] - '0');
			if (port > 65535)
				port = 65536;
			i++;
		}
		if (i == st || port == 0 || port > 65535)
			return fail(why, "bad port");
		u->port = (uint16_t)port;
		u->port_set = true;
	}
	*ip = i;
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
	struct pl name, val;
	size_t st;
	bool esc;
	int err;

	if ((err = userinfo_scan(u, s, n, &i, why)) != 0 ||
	    (err = hostport_scan(u, s, n, &i, why)) != 0)
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
		if (name.l == 13 && lit_eq(name.p, "phone-context", 13)) {
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

	if (!scan_esc(s, n, &i, SIP_UCC_URIC, NULL))
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
	uri->raw = *pl;
	/* scheme = ALPHA *( ALPHA / DIGIT / "+" / "-" / "." ) */
	if (!sip_ucc((unsigned char)s[0], SIP_UCC_ALPHA))
		return fail(why, "bad scheme");
	for (i = 1; i < n && sip_ucc((unsigned char)s[i], SIP_UCC_SCHEME); i++)
		;
	if (i >= n || s[i] != ':')
		return fail(why, "bad scheme");
	pl_set(&uri->scheme_pl, s, i);
	if (i == 3 && lit_eq(s, "sip", 3)) {
		uri->scheme = SIP_URI_SIP;
		return decode_sip(uri, s, n, i + 1, why);
	}
	if (i == 4 && lit_eq(s, "sips", 4)) {
		uri->scheme = SIP_URI_SIPS;
		return decode_sip(uri, s, n, i + 1, why);
	}
	if (i == 3 && lit_eq(s, "tel", 3)) {
		uri->scheme = SIP_URI_TEL;
		return decode_tel(uri, s, n, i + 1, why);
	}
	uri->scheme = SIP_URI_OTHER;
	return decode_other(uri, s, n, i + 1, why);
}

/* Next ";name[=value]" of a params slice already checked by
   sip_uri_decode(); *pos starts at 0. */
static bool
param_next(const struct pl *ps, size_t *pos, struct pl *name, struct pl *val)
{
	const char *s = ps->p;
	size_t n = ps->l, i = *pos, st;

	if (i >= n)
		return false;
	if (s[i] == ';')
		i++;
	for (st = i; i < n && s[i] != ';' && s[i] != '='; i++)
		;
	pl_set(name, s + st, i - st);
	if (i < n && s[i] == '=') {
		for (st = ++i; i < n && s[i] != ';'; i++)
			;
		pl_set(val, s + st, i - st);
	} else {
		pl_set(val, s + i, 0);
	}
	*pos = i;
	return true;
}

bool
sip_uri_param(const struct sip_uri *uri, const char *name, struct pl *val)
{
	size_t pos = 0, nl = strlen(name);
	struct pl n, v;

	while (param_next(&uri->params, &pos, &n, &v)) {
		if (esc_eq(n.p, n.l, name, nl, true)) {
			if (val)
				*val = v;
			return true;
		}
	}
	return false;
}

/* Next "hname=hvalue" of a headers slice checked by sip_uri_decode(). */
static bool
header_next(const struct pl *hs, size_t *pos, struct pl *name, struct pl *val)
{
	const char *s = hs->p;
	size_t n = hs->l, i = *pos, st = i, eq = NPOS;

	if (i >= n)
		return false;
	for (; i < n && s[i] != '&'; i++)
		if (s[i] == '=' && eq == NPOS)
			eq = i;
	if (eq == NPOS)
		eq = i;
	pl_set(name, s + st, eq - st);
	pl_set(val, s + eq + (eq < i), i - eq - (eq < i));
	*pos = i + 1;
	return true;
}

/* How many headers of hs are name=val: names case-insensitive, values
   byte-exact, both after unescaping. */
static size_t
header_count(const struct pl *hs, const struct pl *name, const struct pl *val)
{
	size_t pos = 0, cnt = 0;
	struct pl n, v;

	while (header_next(hs, &pos, &n, &v)) {
		if (esc_eq(n.p, n.l, name->p, name->l, true) &&
		    esc_eq(v.p, v.l, val->p, val->l, false))
			cnt++;
	}
	return cnt;
}

/*
 * §19.1.4: "header components are never ignored ... any present header
 * component MUST be present in both URIs and match". Compared as
 * multisets: names case-insensitive, values byte-exact after unescaping
 * (a header-specific comparison would need every header's grammar).
 */
static bool
headers_eq(const struct sip_uri *a, const struct sip_uri *b)
{
	size_t pos = 0, ta = 0, tb = 0;
	struct pl n, v;

	if (pl_isset(&a->headers) != pl_isset(&b->headers))
		return false;
	if (!pl_isset(&a->headers))
		return true;
	while (header_next(&a->headers, &pos, &n, &v))
		ta++;
	pos = 0;
	while (header_next(&b->headers, &pos, &n, &v))
		tb++;
	if (ta != tb)
		return false;
	pos = 0;
	while (header_next(&a->headers, &pos, &n, &v)) {
		if (header_count(&a->headers, &n, &v) !=
		    header_count(&b->headers, &n, &v))
			return false;
	}
	return true;
}

/*
 * Every uri-parameter of x that y also has must match there (names and
 * values case-insensitive after unescaping); user, ttl, method, maddr and
 * transport must not be in x alone (§19.1.4). Called both ways.
 */
static bool
sip_params_cover(const struct sip_uri *x, const struct sip_uri *y)
{
	size_t px = 0, py;
	struct pl nx, vx, ny, vy;

	while (param_next(&x->params, &px, &nx, &vx)) {
		bool seen = false, match = false;
		enum wk_param k;

		py = 0;
		while (!match && param_next(&y->params, &py, &ny, &vy)) {
			if (!esc_eq(nx.p, nx.l, ny.p, ny.l, true))
				continue;
			seen = true;
			match = esc_eq(vx.p, vx.l, vy.p, vy.l, true);
		}
		if (match)
			continue;
		if (seen)
			return false;
		k = wk_param(nx.p, nx.l, memchr(nx.p, '%', nx.l) != NULL);
		if (k != WK_NONE && k != WK_LR)
			return false;
	}
	return true;
}

/* Hosts: names case-insensitive; IP addresses compared as addresses
   (RFC 5954 §3: "[2001:db8::1]" equals "[2001:DB8:0::1]"). */
static bool
host_eq(const struct sip_uri *a, const struct sip_uri *b)
{
	uint8_t x[16], y[16];
	uint32_t p, q;

	if (a->host_type != b->host_type)
		return false;
	switch (a->host_type) {
	case SIP_HOST_IPV6:
		return ip6_parse(a->host.p, a->host.l, x) &&
		       ip6_parse(b->host.p, b->host.l, y) &&
		       memcmp(x, y, 16) == 0;
	case SIP_HOST_IPV4:
		return ip4_parse(a->host.p, a->host.l, &p) &&
		       ip4_parse(b->host.p, b->host.l, &q) && p == q;
	default:
		return pl_caseeq(&a->host, &b->host);
	}
}

/* RFC 3261 §19.1.4. */
static bool
sip_eq(const struct sip_uri *a, const struct sip_uri *b)
{
	/* userinfo: case-sensitive, escaped equals unescaped */
	if (!pl_esc_eq(&a->user, &b->user, false) ||
	    !pl_esc_eq(&a->password, &b->password, false))
		return false;
	if (!host_eq(a, b))
		return false;
	/* "sip:bob@biloxi.com" is not "sip:bob@biloxi.com:5060" */
	if (a->port_set != b->port_set || a->port != b->port)
		return false;
	if (!sip_params_cover(a, b) || !sip_params_cover(b, a))
		return false;
	return headers_eq(a, b);
}

/* Telephone digits equal ignoring visual separators (RFC 3966 §4),
   case-insensitive (local numbers may hold hex digits). */
static bool
tel_digits_eq(const struct pl *a, const struct pl *b)
{
	size_t i = 0, j = 0;

	for (;;) {
		while (i < a->l &&
		       sip_ucc((unsigned char)a->p[i], SIP_UCC_TELSEP))
			i++;
		while (j < b->l &&
		       sip_ucc((unsigned char)b->p[j], SIP_UCC_TELSEP))
			j++;
		if (i == a->l || j == b->l)
			return i == a->l && j == b->l;
		if (lower((unsigned char)a->p[i++]) !=
		    lower((unsigned char)b->p[j++]))
			return false;
	}
}

/* RFC 3966 §4: phone-context compared digit by digit when it is a global
   number, else as a host name; ext likewise as digits. */
static bool
tel_value_eq(const struct pl *name, const struct pl *va, const struct pl *vb)
{
	bool digits = (name->l == 3 && lit_eq(name->p, "ext", 3)) ||
		      (va->l && va->p[0] == '+' && vb->l && vb->p[0] == '+');

	if (digits)
		return tel_digits_eq(va, vb);
	return esc_eq(va->p, va->l, vb->p, vb->l, true);
}

/* RFC 3966 §4: "If one URI has a parameter name not found in the other,
   the two URIs are not equal." Called both ways. */
static bool
tel_params_cover(const struct sip_uri *x, const struct sip_uri *y)
{
	size_t px = 0, py;
	struct pl nx, vx, ny, vy;

	while (param_next(&x->params, &px, &nx, &vx)) {
		bool match = false;

		py = 0;
		while (!match && param_next(&y->params, &py, &ny, &vy))
			match = esc_eq(nx.p, nx.l, ny.p, ny.l, true) &&
				tel_value_eq(&nx, &vx, &vy);
		if (!match)
			return false;
	}
	return true;
}

static bool
tel_eq(const struct sip_uri *a, const struct sip_uri *b)
{
	/* both global or both local */
	if ((a->number.p[0] == '+') != (b->number.p[0] == '+'))
		return false;
	return tel_digits_eq(&a->number, &b->number) &&
	       tel_params_cover(a, b) && tel_params_cover(b, a);
}

bool
sip_uri_eq(const struct sip_uri *a, const struct sip_uri *b)
{
	/* §19.1.4: a SIP and a SIPS URI are never equivalent */
	if (a->scheme != b->scheme)
		return false;
	switch (a->scheme) {
	case SIP_URI_SIP:
	case SIP_URI_SIPS:
		return sip_eq(a, b);
	case SIP_URI_TEL:
		return tel_eq(a, b);
	default:
		/* no rule of ours: scheme case-insensitive (RFC 3986 §6.2.2.1)
		   and the rest byte-exact after unescaping */
		return pl_caseeq(&a->scheme_pl, &b->scheme_pl) &&
		       pl_esc_eq(&a->opaque, &b->opaque, false);
	}
}

int
sip_uri_unescape(char *dst, size_t dstsz, const struct pl *src, size_t *outlen)
{
	size_t i = 0, k = 0;

	if (outlen)
		*outlen = 0;
	while (src->p && i < src->l) {
		unsigned char c = (unsigned char)src->p[i];

		/* one level only: "%2541" gives "%41" (RFC 4475 esc01) */
		if (c == '%') {
			if (!esc_ok(src->p, src->l, i))
				return EINVAL;
			c = (unsigned char)esc_byte(src->p, src->l, &i);
		} else {
			i++;
		}
		if (k >= dstsz)
			return ENOSPC;
		dst[k++] = (char)c; /* %00 kept (RFC 4475 escnull) */
	}
	if (k < dstsz)
		dst[k] = '\0';
	if (outlen)
		*outlen = k;
	return 0;
}
