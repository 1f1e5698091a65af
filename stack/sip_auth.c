/*
 * WWW-Authenticate, Proxy-Authenticate, Authorization and
 * Proxy-Authorization values (RFC 3261 §22, §25.1 challenge / credentials;
 * RFC 2617 §3.2; RFC 7616 §3.3, §3.4):
 *   auth-scheme LWS auth-param *( COMMA auth-param )
 *   auth-param = auth-param-name EQUAL ( token / quoted-string )
 * Unknown schemes are decoded the same way (RFC 4475 regaut01). One pass,
 * never allocates.
 */
#include "sip_int.h"
#include "sip_msg.h"
#include "sip_uri_int.h"

#include <errno.h>
#include <stddef.h>
#include <string.h>

/* Unknown parameters we keep for the duplicate check: more than any real
   challenge or credentials carry. */
#define AUTH_MAX_PARAMS 32

/* The auth-params picked out into struct sip_auth, by name length. */
static const struct {
	const char *name; /* lower case */
	size_t off;
} auth_known[] = {
	{"nc", offsetof(struct sip_auth, nc)},
	{"qop", offsetof(struct sip_auth, qop)},
	{"uri", offsetof(struct sip_auth, uri)},
	{"realm", offsetof(struct sip_auth, realm)},
	{"nonce", offsetof(struct sip_auth, nonce)},
	{"stale", offsetof(struct sip_auth, stale)},
	{"opaque", offsetof(struct sip_auth, opaque)},
	{"domain", offsetof(struct sip_auth, domain)},
	{"cnonce", offsetof(struct sip_auth, cnonce)},
	{"username", offsetof(struct sip_auth, username)},
	{"response", offsetof(struct sip_auth, response)},
	{"userhash", offsetof(struct sip_auth, userhash)},
	{"algorithm", offsetof(struct sip_auth, algorithm)},
};

/* First auth_known[] entry of each name length 0..9 (entries are sorted
   by length), and one past the last. */
static const unsigned char auth_by_len[11] = {0, 0, 0, 1,  3, 3,
					      6, 9, 9, 12, 13};

static int
fail(const char **why, const char *what)
{
	*why = what;
	return EBADMSG;
}

static size_t
token_end(const char *s, size_t n, size_t i)
{
	return sip_uri_span(s, n, i, SIP_UCC_TOKEN);
}

static unsigned
lower(unsigned char c)
{
	return c >= 'A' && c <= 'Z' ? c + 32u : c;
}

/* ASCII case-insensitive equality of two names of the same length. */
static bool
name_eq(const char *a, const char *b, size_t l)
{
	size_t i;

	for (i = 0; i < l; i++)
		if (lower((unsigned char)a[i]) != lower((unsigned char)b[i]))
			return false;
	return true;
}

/* The slot of a well-known parameter, or NULL. */
static struct pl *
auth_slot(struct sip_auth *auth, const struct pl *name)
{
	unsigned k;

	if (name->l >= 10)
		return NULL;
	/* the names are lower-case letters: a word-wise compare */
	for (k = auth_by_len[name->l]; k < auth_by_len[name->l + 1]; k++)
		if (sip_lit_caseeq(name->p, auth_known[k].name, name->l))
			return (struct pl *)((char *)auth + auth_known[k].off);
	return NULL;
}

/*
 * One auth-param at s[*ip]; *name and *val (without quotes; quoted-pairs
 * left as written) get its parts, *ip the index after it.
 */
static int
auth_param(const char *s, size_t n, size_t *ip, struct pl *name, struct pl *val,
	   const char **why)
{
	size_t i = *ip, st = i, e;

	i = token_end(s, n, i);
	if (i == st)
		return fail(why, "empty auth parameter");
	pl_set(name, s + st, i - st);
	i = sip_uri_sws(s, n, i);
	if (i >= n || s[i] != '=')
		return fail(why, "missing '=' in auth parameter");
	i = sip_uri_sws(s, n, i + 1);
	if (i < n && s[i] == '"') {
		e = sip_uri_quoted_scan(s, n, i, why);
		if (!e)
			return EBADMSG;
		pl_set(val, s + i + 1, e - i - 2);
		*ip = e;
		return 0;
	}
	e = token_end(s, n, i);
	if (e == i)
		return fail(why, "empty auth parameter value");
	pl_set(val, s + i, e - i);
	*ip = e;
	return 0;
}

int
sip_auth_decode(struct sip_auth *auth, const struct pl *pl, const char **why)
{
	struct pl names[AUTH_MAX_PARAMS], name, val, *slot;
	const char *s, *dummy;
	unsigned np = 0, k;
	size_t n, i, st;
	int err;

	if (!why)
		why = &dummy;
	memset(auth, 0, sizeof(*auth));
	if (!pl || !pl->p || !pl->l)
		return fail(why, "empty value");
	s = pl->p;
	n = pl->l;
	i = sip_uri_sws(s, n, 0);
	while (n > i && sip_ucc((unsigned char)s[n - 1], SIP_UCC_WS))
		n--;
	/* auth-scheme = token */
	st = i;
	i = token_end(s, n, i);
	if (i == st)
		return fail(why, "missing auth scheme");
	pl_set(&auth->scheme, s + st, i - st);
	/* §25.1: challenge and credentials carry at least one auth-param */
	if (i == n)
		return fail(why, "missing auth parameters");
	st = sip_uri_sws(s, n, i);
	if (st == i)
		return fail(why, "bad auth scheme");
	i = st;
	pl_set(&auth->params, s + i, n - i);
	for (;;) {
		if ((err = auth_param(s, n, &i, &name, &val, why)) != 0)
			return err;
		slot = auth_slot(auth, &name);
		if (slot) {
			/* well-known: a set slot is a duplicate */
			if (pl_isset(slot))
				return fail(why, "duplicate auth parameter");
			*slot = val;
		} else {
			for (k = 0; k < np; k++)
				if (names[k].l == name.l &&
				    name_eq(names[k].p, name.p, name.l))
					return fail(why,
						    "duplicate auth parameter");
			if (np == AUTH_MAX_PARAMS)
				return fail(why, "too many auth parameters");
			names[np++] = name;
		}
		/* COMMA = SWS "," SWS */
		i = sip_uri_sws(s, n, i);
		if (i == n)
			return 0;
		if (s[i] != ',')
			return fail(why, "junk after auth parameter");
		i = sip_uri_sws(s, n, i + 1);
	}
}
