/*
 * URI equivalence (RFC 3261 §19.1.4 for sip/sips, RFC 3966 §4 for tel),
 * uri-parameter look-up over URIs already checked by sip_uri_decode(),
 * IP address text (also used by the decoder to check IPv6 references) and
 * unescaping (§19.1.2). Never allocates.
 */
#include "sip_uri.h"
#include "sip_uri_int.h"

#include <errno.h>
#include <string.h>

#define NPOS ((size_t)-1)

/* IPv4address (§25.1) with each octet at most 255. Only the comparison
   and IPv6 code need the value; decoding classifies in host_run(). */
bool
sip_uri_ip4_parse(const char *s, size_t n, uint32_t *out)
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

bool
sip_uri_ip6_parse(const char *s, size_t n, uint8_t out[16])
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

			if (ng > 6 || !sip_uri_ip4_parse(s + st, n - st, &a))
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

/* Equality after unescaping both sides; ASCII case folded if icase. */
static bool
esc_eq(const char *a, size_t al, const char *b, size_t bl, bool icase)
{
	size_t i = 0, j = 0;

	while (i < al && j < bl) {
		unsigned x = sip_uri_esc_byte(a, al, &i),
			 y = sip_uri_esc_byte(b, bl, &j);

		if (icase) {
			x = sip_uri_lower(x);
			y = sip_uri_lower(y);
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
		enum sip_uri_wk k;

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
		k = sip_uri_wk_param(nx.p, nx.l,
				     memchr(nx.p, '%', nx.l) != NULL);
		if (k != SIP_URI_WK_NONE && k != SIP_URI_WK_LR)
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
		return sip_uri_ip6_parse(a->host.p, a->host.l, x) &&
		       sip_uri_ip6_parse(b->host.p, b->host.l, y) &&
		       memcmp(x, y, 16) == 0;
	case SIP_HOST_IPV4:
		return sip_uri_ip4_parse(a->host.p, a->host.l, &p) &&
		       sip_uri_ip4_parse(b->host.p, b->host.l, &q) && p == q;
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
		if (sip_uri_lower((unsigned char)a->p[i++]) !=
		    sip_uri_lower((unsigned char)b->p[j++]))
			return false;
	}
}

/* RFC 3966 §4: phone-context compared digit by digit when it is a global
   number, else as a host name; ext likewise as digits. */
static bool
tel_value_eq(const struct pl *name, const struct pl *va, const struct pl *vb)
{
	bool digits = (name->l == 3 && sip_uri_lit_eq(name->p, "ext", 3)) ||
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
			if (!sip_uri_esc_ok(src->p, src->l, i))
				return EINVAL;
			c = (unsigned char)sip_uri_esc_byte(src->p, src->l, &i);
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
