/*
 * name-addr / addr-spec with header parameters (RFC 3261 §20.10 Contact,
 * §20.20 From, §20.39 To, §20.30/§20.34 Route/Record-Route, §25.1):
 *   ( name-addr / addr-spec ) *( SEMI generic-param )
 *   name-addr = [ display-name ] LAQUOT addr-spec RAQUOT
 * One forward pass; the URI is handed to sip_uri_decode(). Never allocates.
 */
#include "sip_msg.h"
#include "sip_uri_int.h"

#include <errno.h>
#include <string.h>

static int
fail(const char **why, const char *what)
{
	*why = what;
	return EBADMSG;
}

static bool
is_ws(char c)
{
	return sip_ucc((unsigned char)c, SIP_UCC_WS);
}

/*
 * gen-value = token / host / quoted-string (§25.1) at s[i]; returns the
 * index after it, or 0 with *why set. *quoted tells a quoted-string or an
 * IPv6reference from a token.
 */
static size_t
gen_value(const char *s, size_t n, size_t i, bool *quoted, const char **why)
{
	size_t st = i;

	*quoted = false;
	if (i < n && s[i] == '"') {
		*quoted = true;
		return sip_uri_quoted_scan(s, n, i, why);
	}
	if (i < n && s[i] == '[') {
		/* IPv6reference: checked loosely, hex, ':' and '.' */
		for (i++; i < n && (sip_ucc((unsigned char)s[i], SIP_UCC_HEX) ||
				    s[i] == ':' || s[i] == '.');
		     i++)
			;
		if (i >= n || s[i] != ']') {
			*why = "bad IPv6 reference in parameter";
			return 0;
		}
		*quoted = true;
		return i + 1;
	}
	i = sip_uri_span(s, n, i, SIP_UCC_TOKEN);
	if (i == st) {
		*why = "empty parameter value";
		return 0;
	}
	return i;
}

/*
 * *( SEMI generic-param ) from s[i] to the end, SEMI = SWS ";" SWS,
 * EQUAL = SWS "=" SWS, generic-param = token [ EQUAL gen-value ]. The tag
 * (§19.3: tag-param = "tag" EQUAL token) is picked out.
 */
static int
hdr_params(struct sip_addr *a, const char *s, size_t n, size_t i,
	   const char **why)
{
	i = sip_uri_sws(s, n, i);
	if (i == n)
		return 0;
	if (s[i] != ';')
		return fail(why,
			    a->angle ? "junk after '>'" : "junk after URI");
	pl_set(&a->params, s + i, n - i);
	while (i < n) {
		size_t st, ne, vs = 0, ve = 0;
		bool quoted = false;

		if (s[i] != ';')
			return fail(why, "bad header parameter");
		st = sip_uri_sws(s, n, i + 1);
		i = sip_uri_span(s, n, st, SIP_UCC_TOKEN);
		if (i == st)
			return fail(why, "empty header parameter");
		ne = i;
		i = sip_uri_sws(s, n, i);
		if (i < n && s[i] == '=') {
			vs = sip_uri_sws(s, n, i + 1);
			ve = gen_value(s, n, vs, &quoted, why);
			if (!ve)
				return EBADMSG;
			i = sip_uri_sws(s, n, ve);
		}
		if (ne - st == 3 && (s[st] | 0x20) == 't' &&
		    (s[st + 1] | 0x20) == 'a' && (s[st + 2] | 0x20) == 'g') {
			if (pl_isset(&a->tag))
				return fail(why, "duplicate tag");
			if (!vs || quoted)
				return fail(why, "bad tag");
			pl_set(&a->tag, s + vs, ve - vs);
		}
	}
	return 0;
}

/*
 * addr-spec without <>. §20: "if the URI contains a comma, question mark or
 * semicolon, the URI MUST be enclosed in angle brackets", so the URI ends
 * at the first ';' (or LWS) and what follows are header parameters
 * (RFC 4475 cparam01); a '?' or ',' means the sender broke that rule
 * (RFC 4475 regbadct).
 */
static int
addr_spec(struct sip_addr *a, const char *s, size_t n, size_t st,
	  const char **why)
{
	size_t i = st;
	int err;

	for (; i < n && s[i] != ';' && !is_ws(s[i]); i++) {
		if (s[i] == '?' || s[i] == ',')
			return fail(why, memchr(s + i, '<', n - i)
						 ? "bad display name"
						 : "URI with '?' or ',' "
						   "outside <>");
		if (s[i] == '<' || s[i] == '"')
			return fail(why, "bad display name");
	}
	pl_set(&a->uri_raw, s + st, i - st);
	err = sip_uri_decode(&a->uri, &a->uri_raw, why);
	if (err)
		return err;
	return hdr_params(a, s, n, i, why);
}

/* The decoding proper; *addr is cleared but for ->uri, which
   sip_uri_decode() clears (see sip_addr_decode()). */
static int
addr_decode(struct sip_addr *addr, const struct pl *pl, const char **why)
{
	const char *s, *gt;
	size_t n, i, st, last, ue;
	int err;

	if (!pl || !pl->p || !pl->l)
		return fail(why, "empty value");
	s = pl->p;
	n = pl->l;
	pl_set(&addr->raw, s, n);
	i = sip_uri_sws(s, n, 0);
	while (n > i && is_ws(s[n - 1]))
		n--;
	if (i == n)
		return fail(why, "empty value");
	/* §20.10: Contact: "*" */
	if (n - i == 1 && s[i] == '*') {
		addr->star = true;
		return 0;
	}
	if (s[i] == '"') {
		/* display-name as quoted-string, then LAQUOT = SWS "<" */
		st = sip_uri_quoted_scan(s, n, i, why);
		if (!st)
			return EBADMSG;
		pl_set(&addr->dname, s + i + 1, st - i - 2);
		addr->dname_quoted = true;
		i = sip_uri_sws(s, n, st);
		if (i >= n || s[i] != '<')
			return fail(why, "missing '<' after display name");
	} else if (s[i] != '<') {
		/* display-name = *(token LWS); "caller<sip:..>" with no LWS
		   before '<' is accepted (RFC 4475 lwsdisp). Anything else
		   is an addr-spec. */
		st = last = i;
		while (i < n) {
			if (sip_ucc((unsigned char)s[i], SIP_UCC_TOKEN)) {
				last = ++i;
			} else if (is_ws(s[i])) {
				size_t k = sip_uri_sws(s, n, i);

				if (k == i)
					break;
				i = k;
			} else {
				break;
			}
		}
		if (i >= n || s[i] != '<')
			return addr_spec(addr, s, n, st, why);
		pl_set(&addr->dname, s + st, last - st);
	}
	/* LAQUOT addr-spec RAQUOT: no LWS inside the brackets (RFC 4475
	   badaspec); a URI never holds a literal '>'. */
	i++;
	gt = memchr(s + i, '>', n - i);
	if (!gt)
		return fail(why, "missing '>'");
	ue = (size_t)(gt - s);
	if (ue == i)
		return fail(why, "empty URI");
	if (is_ws(s[i]) || is_ws(s[ue - 1]))
		return fail(why, "whitespace inside <>");
	pl_set(&addr->uri_raw, s + i, ue - i);
	addr->angle = true;
	err = sip_uri_decode(&addr->uri, &addr->uri_raw, why);
	if (err)
		return err;
	return hdr_params(addr, s, n, ue + 1, why);
}

int
sip_addr_decode(struct sip_addr *addr, const struct pl *pl, const char **why)
{
	const char *dummy;
	int err;

	if (!why)
		why = &dummy;
	/* Clear all but ->uri: sip_uri_decode() clears that itself, and it is
	   most of the struct. It is cleared here only when not reached. Each
	   slice is set on its own: copying one just cleared would read back
	   as one 16-byte load what was stored as two words, which the CPU
	   cannot forward (a stall of its own in parse_bench). */
	pl_set(&addr->dname, NULL, 0);
	addr->dname_quoted = addr->angle = addr->star = false;
	pl_set(&addr->uri_raw, NULL, 0);
	pl_set(&addr->params, NULL, 0);
	pl_set(&addr->tag, NULL, 0);
	pl_set(&addr->raw, NULL, 0);
	addr->uri.raw.p = NULL;
	err = addr_decode(addr, pl, why);
	if (!addr->uri.raw.p)
		memset(&addr->uri, 0, sizeof(addr->uri));
	return err;
}
