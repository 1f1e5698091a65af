/*
 * Full check of a parsed SIP message (RFC 3261 §20 grammars, §8.1.1,
 * §10.2.1, §20.10, RFC 3262, RFC 3323, RFC 3325, RFC 3326, RFC 3515,
 * RFC 3891, RFC 3892, RFC 4028): every recognised header is decoded with
 * its decoder and single-valued headers must appear once. The eager core
 * (Via top value, From, To, Call-ID, CSeq, Max-Forwards, Content-Length,
 * first Content-Type) was checked by sip_msg_parse() already.
 */
#include <errno.h>
#include <string.h>

#include "sip_int.h"
#include "sip_msg.h"

static int
cerr(const struct sip_msg *msg, const struct sip_hdr *h, const char *what,
     struct sip_perr *err)
{
	err->hdr = h->id;
	err->hdr_name = h->name;
	err->what = what ? what : "malformed value";
	err->status = msg->req ? 400 : 0;
	return EBADMSG;
}

/* Per header id: may appear once only (§20: a single value, not a
   list), and decoded by sip_msg_parse() already (nothing left to check:
   From, To, Call-ID, CSeq, Max-Forwards, Content-Length, and the
   Content-Type, single-valued, whose one line parse_core() decoded whole
   — a value that decodes as a media-type holds no top-level comma). */
enum { HF_SINGLE = 0x01, HF_DONE = 0x02 };

static const uint8_t hdr_flags[SIP_HDR_COUNT] = {
	[SIP_HDR_FROM] = HF_DONE,
	[SIP_HDR_TO] = HF_DONE,
	[SIP_HDR_CALL_ID] = HF_DONE,
	[SIP_HDR_CSEQ] = HF_DONE,
	[SIP_HDR_MAX_FORWARDS] = HF_DONE,
	[SIP_HDR_CONTENT_LENGTH] = HF_DONE,
	[SIP_HDR_CONTENT_TYPE] = HF_SINGLE | HF_DONE,
	[SIP_HDR_CONTENT_ENCODING] = HF_SINGLE,
	[SIP_HDR_CONTENT_DISPOSITION] = HF_SINGLE,
	[SIP_HDR_EXPIRES] = HF_SINGLE,
	[SIP_HDR_MIN_EXPIRES] = HF_SINGLE,
	[SIP_HDR_RSEQ] = HF_SINGLE,
	[SIP_HDR_RACK] = HF_SINGLE,
	[SIP_HDR_SESSION_EXPIRES] = HF_SINGLE,
	[SIP_HDR_MIN_SE] = HF_SINGLE,
	[SIP_HDR_PRIVACY] = HF_SINGLE,
	[SIP_HDR_REFER_TO] = HF_SINGLE,
	[SIP_HDR_REFERRED_BY] = HF_SINGLE,
	[SIP_HDR_REPLACES] = HF_SINGLE,
	[SIP_HDR_EVENT] = HF_SINGLE,
	[SIP_HDR_SUBSCRIPTION_STATE] = HF_SINGLE,
	[SIP_HDR_RETRY_AFTER] = HF_SINGLE,
	[SIP_HDR_DATE] = HF_SINGLE,
	[SIP_HDR_TIMESTAMP] = HF_SINGLE,
	[SIP_HDR_SESSION_ID] = HF_SINGLE,
};

/* A single value: no top-level comma (it would make a list). */
static const char *
one_value(const struct pl *val, struct pl *out)
{
	struct pl rest = *val, more;
	int rc = sip_list_next(&rest, out);

	if (rc == ENOENT)
		return "empty value";
	if (rc)
		return "unbalanced quotes or <>";
	if (sip_list_next(&rest, &more) != ENOENT)
		return "more than one value";
	return NULL;
}

/* qvalue = ( "0" [ "." 0*3DIGIT ] ) / ( "1" [ "." 0*3("0") ] ) (§25.1) */
static bool
qvalue_ok(const struct pl *q)
{
	size_t i;

	if (q->l == 0 || q->l > 5 || (q->p[0] != '0' && q->p[0] != '1'))
		return false;
	if (q->l == 1)
		return true;
	if (q->p[1] != '.')
		return false;
	for (i = 2; i < q->l; i++)
		if (!SIP_CC(q->p[i], SIP_CC_DIGIT) ||
		    (q->p[0] == '1' && q->p[i] != '0'))
			return false;
	return true;
}

/* The first "expires" and "q" of header params, as sip_param_get()
   would find each (up to the first malformed parameter), in one pass. A
   parameter without a value reads as an empty one; ->p is NULL when
   absent. */
static void
contact_params(const struct pl *params, struct pl *exp, struct pl *q)
{
	const char *p = params->p, *e, *why;
	struct pl n, v;

	pl_set(exp, NULL, 0);
	pl_set(q, NULL, 0);
	if (!p)
		return;
	e = p + params->l;
	while ((!exp->p || !q->p) && sip_param_next(&p, e, &n, &v, &why) == 0) {
		struct pl *slot = NULL;

		if (n.l == 7 && sip_lit_caseeq(n.p, "expires", 7))
			slot = exp;
		else if (n.l == 1 && (n.p[0] | 0x20) == 'q')
			slot = q;
		if (slot && !slot->p) {
			if (v.p)
				*slot = v;
			else
				pl_set(slot, n.p + n.l, 0);
		}
	}
}

enum addr_kind { ADDR_CONTACT, ADDR_ROUTE, ADDR_ID };

/* One name-addr / addr-spec element of Contact, Route, Record-Route,
   P-Asserted-Identity, P-Preferred-Identity, Refer-To, Referred-By. */
static const char *
addr_check(const struct pl *v, enum addr_kind kind, bool *star)
{
	struct sip_addr a;
	const char *why = NULL;
	struct pl exp, q;
	uint32_t x;

	if (sip_addr_decode(&a, v, &why))
		return why ? why : "bad address";
	*star = a.star;
	if (a.star)
		return kind == ADDR_CONTACT ? NULL : "'*' not allowed";
	/* §20.30, §20.34: route-param = name-addr *( SEMI rr-param ) */
	if (kind == ADDR_ROUTE && !a.angle)
		return "URI must be enclosed in <>";
	/* §20: an addr-spec containing ',', ';' or '?' MUST be a name-addr
	   (RFC 4475 §3.1.2.13) */
	if (!a.angle && pl_isset(&a.uri.headers))
		return "URI with headers must be enclosed in <>";
	if (kind != ADDR_CONTACT)
		return NULL;
	/* §20.10: contact-params expires (delta-seconds) and q */
	contact_params(&a.params, &exp, &q);
	if (exp.p && (exp.l == 0 || sip_delta_decode(&x, &exp, &why)))
		return "bad expires parameter";
	if (q.p && !qvalue_ok(&q))
		return "bad q parameter";
	return NULL;
}

/* Every value of a list of addresses (one line). */
static const char *
addr_list(const struct sip_msg *msg, const struct sip_hdr *h,
	  enum addr_kind kind, bool list)
{
	struct pl rest = h->val, v;
	const char *why;
	bool star = false;
	unsigned n = 0;
	int rc;

	if (!list) {
		why = one_value(&h->val, &v);
		return why ? why : addr_check(&v, kind, &star);
	}
	/* The usual line holds one address: decode the value whole, with no
	   split first. A value that decodes as one address has no top-level
	   comma (a URI outside <> and the header params refuse one; quoted
	   strings and <> are skipped alike by both scanners; the value has
	   no LWS at its ends), so the split would give that one element.
	   Only when that fails is the value split, and then each element
	   gives the same verdict (and the same phrase) as before. */
	if (!addr_check(&h->val, kind, &star))
		return star && msg->count[h->id] > 1
			       ? "'*' must be the only value"
			       : NULL;
	star = false;
	while ((rc = sip_list_next(&rest, &v)) == 0) {
		why = addr_check(&v, kind, &star);
		if (why)
			return why;
		n++;
		/* §10.2.2: Contact '*' only alone (one value, one line) */
		if (star && (n > 1 || msg->count[h->id] > 1 || rest.l))
			return "'*' must be the only value";
	}
	if (rc != ENOENT)
		return "empty element in list";
	return n ? NULL : "empty value";
}

/* Comma list of tokens: Require, Supported, Proxy-Require, Unsupported,
   Allow (Method is a token), Content-Encoding. Empty values allowed for
   Supported and Allow (§20.37, §20.5). */
static const char *
token_list(const struct pl *val)
{
	const char *p = val->p, *e = p + val->l, *q;

	/* one pass: token *( LWS "," LWS token ) */
	for (p = sip_skip_lws(p, e); p < e;) {
		q = sip_skip_token(p, e);
		if (q == p)
			return *p == ',' ? "empty element in list"
					 : "element is not a token";
		p = sip_skip_lws(q, e);
		if (p == e)
			break;
		if (*p != ',')
			return "element is not a token";
		p = sip_skip_lws(p + 1, e);
		if (p == e)
			return "empty element in list";
	}
	return NULL;
}

/* Privacy (RFC 3323 §4.2): priv-value *(";" priv-value) */
static const char *
privacy_check(const struct pl *val)
{
	const char *p = val->p, *e = p + val->l, *q;
	struct pl t;

	for (;;) {
		q = memchr(p, ';', (size_t)(e - p));
		pl_set(&t, p, (size_t)((q ? q : e) - p));
		sip_trim(&t);
		if (!sip_is_token(&t))
			return "bad priv-value";
		if (!q)
			return NULL;
		p = q + 1;
	}
}

/* A leading delta-seconds or token then generic params: Min-SE (RFC 4028
   §5), Retry-After (§20.33, comment not allowed here), Event (RFC 6665),
   Subscription-State, Content-Disposition. */
static const char *
lead_params(const struct pl *val, bool number, uint32_t *num)
{
	const char *p = val->p, *e = p + val->l, *q, *why = NULL;
	struct pl t, n, v;
	int rc;

	if (number)
		for (q = p; q < e && SIP_CC(*q, SIP_CC_DIGIT); q++)
			;
	else
		q = sip_skip_token(p, e);
	pl_set(&t, p, (size_t)(q - p));
	if (number && sip_delta_decode(num, &t, &why))
		return why;
	/* Retry-After: delta-seconds [ comment ] (§20.33); comments nest
	   (§25.1), the depth bounded by the length */
	p = sip_skip_lws(q, e);
	if (number && p < e && *p == '(') {
		size_t depth = 0;

		for (; p < e; p++) {
			if (*p == '\\' && p + 1 < e)
				p++;
			else if (*p == '(')
				depth++;
			else if (*p == ')' && --depth == 0)
				break;
		}
		if (p == e)
			return "unterminated comment";
		q = p + 1;
	}
	if (!number && t.l == 0)
		return "missing token";
	while ((rc = sip_param_next(&q, e, &n, &v, &why)) == 0)
		;
	return rc == ENOENT ? NULL : why;
}

/* rfc1123-date = wkday "," SP date1 SP time SP "GMT" (§20.17; RFC 4475
   §3.1.2.12: only "GMT") */
static bool
date_ok(const struct pl *v)
{
	static const char wk[] = "MonTueWedThuFriSatSun";
	static const char mo[] = "JanFebMarAprMayJunJulAugSepOctNovDec";
	static const char shape[] = "Wdy, 00 Mon 0000 00:00:00 GMT";
	const char *p = v->p;
	size_t i;
	bool w = false, m = false;

	if (v->l != sizeof(shape) - 1)
		return false;
	for (i = 0; i < sizeof(shape) - 1; i++) {
		if (shape[i] == '0') {
			if (!SIP_CC(p[i], SIP_CC_DIGIT))
				return false;
		} else if (i < 3 || (i >= 8 && i < 11)) {
			continue;
		} else if (p[i] != shape[i]) {
			return false;
		}
	}
	for (i = 0; i < 7 * 3; i += 3)
		w |= memcmp(p, wk + i, 3) == 0;
	for (i = 0; i < 12 * 3; i += 3)
		m |= memcmp(p + 8, mo + i, 3) == 0;
	return w && m;
}

/* Warning (§20.43): warn-code SP warn-agent SP warn-text, code 3DIGIT */
static const char *
warning_check(const struct pl *val)
{
	struct pl rest = *val, v;
	int rc;

	while ((rc = sip_list_next(&rest, &v)) == 0)
		if (v.l < 5 || !SIP_CC(v.p[0], SIP_CC_DIGIT) ||
		    !SIP_CC(v.p[1], SIP_CC_DIGIT) ||
		    !SIP_CC(v.p[2], SIP_CC_DIGIT) || v.p[3] != ' ')
			return "warn-code must be 3 digits";
	return rc == ENOENT ? NULL : "empty element in list";
}

/* Values without a grammar of ours: a CR must start a fold (§7.3.1), so
   no lone CR reaches whoever copies the value. */
static const char *
text_check(const struct pl *val)
{
	const char *p = val->p, *e = p + val->l;

	while ((p = memchr(p, '\r', (size_t)(e - p))) != NULL) {
		if (p + 1 >= e || p[1] != '\n')
			return "stray CR in value";
		p++;
	}
	return NULL;
}

static const char *
list_check(const struct pl *val,
	   int (*dec)(void *, const struct pl *, const char **), void *obj)
{
	struct pl rest = *val, v;
	const char *why = NULL;
	int rc;

	/* the usual single value, decoded whole without a split first:
	   the list decoders (media-range, reason-value) accept no top-level
	   comma, '<' or unbalanced quote, so a value they decode whole is
	   the one element a split would give (the value has no LWS at its
	   ends); else split and decode as before, for the same verdict */
	if (val->l && !dec(obj, val, &why))
		return NULL;
	why = NULL;
	while ((rc = sip_list_next(&rest, &v)) == 0)
		if (dec(obj, &v, &why))
			return why;
	return rc == ENOENT ? NULL : "empty element in list";
}

/* Every Via value, each decoded in place; the topmost one was decoded by
   sip_msg_parse() already (msg->via.raw ends it). */
static const char *
via_check(const struct sip_msg *msg, const struct sip_hdr *h,
	  struct sip_via *via)
{
	const char *p = h->val.p, *e = p + h->val.l, *why = NULL;
	int rc, n = 0;

	if (h == sip_msg_hdr(msg, SIP_HDR_VIA) && msg->via.raw.p >= p &&
	    msg->via.raw.p + msg->via.raw.l <= e) {
		p = sip_skip_lws(msg->via.raw.p + msg->via.raw.l, e);
		if (p < e && *p == ',')
			p++;
		n = 1;
	}
	while ((rc = sip_via_next(via, &p, e, &why)) == 0)
		n++;
	if (rc == ENOENT)
		return n ? NULL : "empty value";
	return why;
}

static int
reason_dec(void *o, const struct pl *v, const char **why)
{
	return sip_reason_decode(o, v, why);
}

static int
ctype_dec(void *o, const struct pl *v, const char **why)
{
	return sip_ctype_decode(o, v, why);
}

static const char *
check_one(const struct sip_msg *msg, const struct sip_hdr *h)
{
	union {
		struct sip_via via;
		struct sip_ctype ct;
		struct sip_auth auth;
		struct sip_rack rack;
		struct sip_session_expires se;
		struct sip_reason reason;
		struct sip_replaces repl;
	} u;
	const char *why = NULL;
	uint32_t x;

	switch (h->id) {
	case SIP_HDR_VIA:
		return via_check(msg, h, &u.via);
	case SIP_HDR_CONTACT:
		return addr_list(msg, h, ADDR_CONTACT, true);
	case SIP_HDR_ROUTE:
	case SIP_HDR_RECORD_ROUTE:
		return addr_list(msg, h, ADDR_ROUTE, true);
	case SIP_HDR_P_ASSERTED_IDENTITY:
	case SIP_HDR_P_PREFERRED_IDENTITY:
		return addr_list(msg, h, ADDR_ID, true);
	case SIP_HDR_REFER_TO:
	case SIP_HDR_REFERRED_BY:
		return addr_list(msg, h, ADDR_ID, false);
	case SIP_HDR_FROM:
	case SIP_HDR_TO:
	case SIP_HDR_CALL_ID:
	case SIP_HDR_CSEQ:
	case SIP_HDR_MAX_FORWARDS:
	case SIP_HDR_CONTENT_LENGTH:
	case SIP_HDR_CONTENT_TYPE:
		return NULL; /* sip_msg_parse() decoded them (HF_DONE) */
	case SIP_HDR_ACCEPT:
		/* media-range list; an empty value is allowed (§20.1) */
		return list_check(&h->val, ctype_dec, &u.ct);
	case SIP_HDR_EXPIRES:
	case SIP_HDR_MIN_EXPIRES:
		/* §20.19, §20.23: delta-seconds below 2^32 (RFC 4475
		   §3.1.2.4) */
		return sip_delta_decode(&x, &h->val, &why) ? why : NULL;
	case SIP_HDR_RSEQ:
		/* RFC 3262 §7.1, §3: 1 .. 2^32-1 (the first of a
		   transaction is below 2^31, later ones grow by one) */
		if (sip_u32(h->val.p, h->val.l, UINT32_MAX, &x) || x == 0)
			return "not a number in 1..2^32-1";
		return NULL;
	case SIP_HDR_RACK:
		return sip_rack_decode(&u.rack, &h->val, &why) ? why : NULL;
	case SIP_HDR_SESSION_EXPIRES:
		return sip_session_expires_decode(&u.se, &h->val, &why) ? why
									: NULL;
	case SIP_HDR_MIN_SE:
	case SIP_HDR_RETRY_AFTER:
		return lead_params(&h->val, true, &x);
	case SIP_HDR_EVENT:
	case SIP_HDR_SUBSCRIPTION_STATE:
	case SIP_HDR_CONTENT_DISPOSITION:
		return lead_params(&h->val, false, &x);
	case SIP_HDR_REQUIRE:
	case SIP_HDR_SUPPORTED:
	case SIP_HDR_PROXY_REQUIRE:
	case SIP_HDR_UNSUPPORTED:
	case SIP_HDR_ALLOW:
	case SIP_HDR_CONTENT_ENCODING:
		return token_list(&h->val);
	case SIP_HDR_PRIVACY:
		return privacy_check(&h->val);
	case SIP_HDR_WWW_AUTHENTICATE:
	case SIP_HDR_PROXY_AUTHENTICATE:
	case SIP_HDR_AUTHORIZATION:
	case SIP_HDR_PROXY_AUTHORIZATION:
		return sip_auth_decode(&u.auth, &h->val, &why)
			       ? (why ? why : "bad credentials")
			       : NULL;
	case SIP_HDR_REASON:
		return list_check(&h->val, reason_dec, &u.reason);
	case SIP_HDR_REPLACES:
		return sip_replaces_decode(&u.repl, &h->val, &why) ? why : NULL;
	case SIP_HDR_DATE:
		return date_ok(&h->val)
			       ? NULL
			       : "not \"Wdy, DD Mon YYYY HH:MM:SS GMT\"";
	case SIP_HDR_WARNING:
		return warning_check(&h->val);
	default:
		return text_check(&h->val);
	}
}

int
sip_msg_check(const struct sip_msg *msg, struct sip_perr *err)
{
	const char *why;
	unsigned i, n = msg->nhdrs;

	for (i = 0; i < n; i++) {
		const struct sip_hdr *h = &msg->hdrs[i];
		uint8_t f = hdr_flags[h->id];

		if ((f & HF_SINGLE) && msg->count[h->id] > 1)
			return cerr(msg, h, "header appears more than once",
				    err);
		if (f & HF_DONE)
			continue;
		why = check_one(msg, h);
		if (why)
			return cerr(msg, h, why, err);
	}
	return 0;
}
