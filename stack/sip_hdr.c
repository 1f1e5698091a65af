/*
 * SIP header value decoders: Via (RFC 3261 §20.42, §18.2.1, RFC 3581,
 * RFC 5118), CSeq (§20.16, §8.1.1.5), Content-Type (§20.15), RAck
 * (RFC 3262 §7.2), Session-Expires (RFC 4028 §4), Reason (RFC 3326),
 * Replaces (RFC 3891), delta-seconds and generic parameters (§25.1).
 * Every decoder takes one value (one comma-list element) that may still
 * hold folded line ends: CRLF followed by SP/HTAB counts as LWS (§7.3.1).
 * Decoders never allocate and never read outside the given slice.
 */
#include <errno.h>
#include <string.h>
#include <strings.h>

#include "sip_int.h"
#include "sip_msg.h"

const uint8_t sip_cc[256] = {
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x0c, 0x04, 0x00,
	0x00, 0x04, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x0c, 0x03, 0x82, 0x00,
	0x00, 0x03, 0x00, 0x03, 0x02, 0x02, 0x03, 0x03, 0x80, 0x43, 0x43, 0x02,
	0x73, 0x73, 0x73, 0x73, 0x73, 0x73, 0x73, 0x73, 0x73, 0x73, 0x02, 0x00,
	0x82, 0x00, 0x82, 0x02, 0x00, 0x63, 0x63, 0x63, 0x63, 0x63, 0x63, 0x43,
	0x43, 0x43, 0x43, 0x43, 0x43, 0x43, 0x43, 0x43, 0x43, 0x43, 0x43, 0x43,
	0x43, 0x43, 0x43, 0x43, 0x43, 0x43, 0x43, 0x02, 0x82, 0x02, 0x00, 0x03,
	0x03, 0x63, 0x63, 0x63, 0x63, 0x63, 0x63, 0x43, 0x43, 0x43, 0x43, 0x43,
	0x43, 0x43, 0x43, 0x43, 0x43, 0x43, 0x43, 0x43, 0x43, 0x43, 0x43, 0x43,
	0x43, 0x43, 0x43, 0x02, 0x00, 0x02, 0x03, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00,
};

bool
sip_is_token(const struct pl *pl)
{
	const char *p, *e;

	if (!pl || !pl->p || pl->l == 0)
		return false;
	p = pl->p;
	e = p + pl->l;
	return sip_skip_token(p, e) == e;
}

/* s is a lower-case literal */
static bool
caseeq(const struct pl *pl, const char *s, size_t n)
{
	return pl->l == n && sip_lit_caseeq(pl->p, s, n);
}

#define CASEEQ(pl, lit) caseeq((pl), (lit), sizeof(lit) - 1)

/* A parameter value that is not a quoted-string: gen-value = token / host
   (§25.1), so token characters plus the IPv6reference ones. */
static const char *
skip_pval(const char *p, const char *e)
{
	for (;;) {
		p = sip_skip_token(p, e);
		if (p == e || (*p != ':' && *p != '[' && *p != ']'))
			return p;
		p++;
	}
}

/* comma_ends: a ',' ends the parameters like the end of the value does
   (a list element decoded in place); *pp is left on it. *vtok tells a
   value that is one token (no quotes, no ':' '[' ']'), so that callers
   need not scan it again (Via branch). */
static inline int
param_next(const char **pp, const char *e, struct pl *name, struct pl *val,
	   const char **why, bool comma_ends, bool *vtok)
{
	const char *p = sip_skip_lws(*pp, e), *q;

	if (p == e || (comma_ends && *p == ',')) {
		*pp = p;
		return ENOENT;
	}
	if (*p != ';') {
		*why = "junk before parameter";
		return EBADMSG;
	}
	p = sip_skip_lws(p + 1, e);
	q = sip_skip_token(p, e);
	if (q == p) {
		*why = "empty parameter";
		return EBADMSG;
	}
	pl_set(name, p, (size_t)(q - p));
	p = sip_skip_lws(q, e);
	val->p = NULL;
	val->l = 0;
	*vtok = false;
	if (p < e && *p == '=') {
		p = sip_skip_lws(p + 1, e);
		if (p < e && *p == '"') {
			q = sip_skip_quoted(p, e);
			if (!q) {
				*why = "unterminated quoted string";
				return EBADMSG;
			}
		} else {
			q = sip_skip_token(p, e);
			*vtok = q > p;
			if (q < e && (*q == ':' || *q == '[' || *q == ']')) {
				q = skip_pval(q, e);
				*vtok = false;
			}
			if (q == p) {
				*why = "empty parameter value";
				return EBADMSG;
			}
		}
		pl_set(val, p, (size_t)(q - p));
		p = q;
	} else {
		p = q;
	}
	*pp = p;
	return 0;
}

int
sip_param_next(const char **pp, const char *e, struct pl *name, struct pl *val,
	       const char **why)
{
	bool vtok;

	return param_next(pp, e, name, val, why, false, &vtok);
}

bool
sip_param_get(const struct pl *params, const char *name, struct pl *val)
{
	const char *p, *e, *why;
	size_t n = strlen(name);
	struct pl pn, pv;
	unsigned guard;

	if (!params || !params->p)
		return false;
	p = params->p;
	e = p + params->l;
	for (guard = 0; guard < params->l + 1; guard++) {
		if (sip_param_next(&p, e, &pn, &pv, &why) != 0)
			return false;
		if (pn.l == n && strncasecmp(pn.p, name, n) == 0) {
			if (val) {
				if (pv.p)
					*val = pv;
				else
					pl_set(val, pn.p + pn.l, 0);
			}
			return true;
		}
	}
	return false;
}

int
sip_delta_decode(uint32_t *v, const struct pl *pl, const char **why)
{
	struct pl t = *pl;
	int rc;

	sip_trim(&t);
	rc = sip_u32(t.p, t.l, UINT32_MAX, v);
	if (rc == ERANGE) {
		*why = "value above 2^32-1";
		return EBADMSG;
	}
	if (rc) {
		*why = t.l && t.p[0] == '-' ? "negative value"
					    : "not a decimal number";
		return EBADMSG;
	}
	return 0;
}

/* 1..65535 */
static int
port_decode(const char *p, const char *e, uint16_t *port)
{
	struct pl t = {p, (size_t)(e - p)};
	uint32_t v;

	if (sip_u32(t.p, t.l, 65535, &v) || v == 0)
		return EBADMSG;
	*port = (uint16_t)v;
	return 0;
}

/* Decimal digit value of c, or a value above 9. */
static inline unsigned
dig(char c)
{
	return (unsigned)(unsigned char)c - '0';
}

/* A dotted quad at p, each part 0..255 with 1-3 digits (§25.1
   IPv4address): the byte after it, or NULL. Part by part, unrolled, so a
   hostname is refused at its first letter. */
static const char *
ipv4_end(const char *p, const char *e)
{
	unsigned part, v, d;

	if (e - p >= 16) {
		/* room for the longest quad and the byte after it: the same
		   steps without a bound check per byte */
		for (part = 0; part < 4; part++) {
			if (part && *p++ != '.')
				return NULL;
			if ((v = dig(p[0])) > 9)
				return NULL;
			if ((d = dig(p[1])) > 9) {
				p += 1;
				continue;
			}
			v = v * 10 + d;
			if ((d = dig(p[2])) > 9) {
				p += 2;
				continue;
			}
			v = v * 10 + d;
			if (v > 255 || dig(p[3]) <= 9)
				return NULL; /* above 255, or four digits */
			p += 3;
		}
		return p;
	}
	for (part = 0; part < 4; part++) {
		if (part && (p == e || *p++ != '.'))
			return NULL;
		if (p == e || (v = dig(*p)) > 9)
			return NULL;
		if (++p < e && (d = dig(*p)) <= 9) {
			v = v * 10 + d;
			if (++p < e && (d = dig(*p)) <= 9) {
				v = v * 10 + d;
				if (++p < e && dig(*p) <= 9)
					return NULL; /* four digits */
			}
		}
		if (v > 255)
			return NULL;
	}
	return p;
}

static bool
is_ipv4(const char *p, const char *e)
{
	return ipv4_end(p, e) == e;
}

/* IPv6address (§25.1) loosely: hex digits, ':' and '.' only (an embedded
   IPv4 tail), at least two ':'; at most 45 characters. */
static bool
is_ipv6(const char *p, const char *e)
{
	unsigned colons = 0;

	if (e - p < 2 || e - p > 45)
		return false;
	for (; p < e; p++) {
		if (*p == ':')
			colons++;
		else if (*p != '.' && !SIP_CC(*p, SIP_CC_HEX))
			return false;
	}
	return colons >= 2;
}

/* hostname (§25.1): labels of alphanum and '-', not starting or ending
   with '-', separated by single dots (a final dot is allowed). */
static bool
is_hostname(const char *p, const char *e)
{
	const char *lab = p, *prev = NULL;

	if (p == e)
		return false;
	for (; p < e; p++) {
		if (*p == '.') {
			if (p == lab || lab[0] == '-' || p[-1] == '-')
				return false;
			prev = lab;
			lab = p + 1;
		} else if (!SIP_CC(*p, SIP_CC_HOST)) {
			return false;
		}
	}
	if (lab == e) { /* final dot: the top label is the one before it */
		if (!prev)
			return false;
		lab = prev;
	} else if (e[-1] == '-') {
		return false;
	}
	/* §25.1: toplabel = ALPHA / ALPHA *( alphanum / "-" ) alphanum, so
	   "10.0.0.256.1" is neither an IPv4address nor a hostname */
	return (lab[0] | 0x20) >= 'a' && (lab[0] | 0x20) <= 'z';
}

/*
 * host = hostname / IPv4address / IPv6reference, starting at *pp. The
 * slice excludes the brackets of an IPv6reference (RFC 5118 §4.2).
 */
static int
host_decode(const char **pp, const char *e, struct pl *host,
	    enum sip_host_type *type)
{
	const char *p = *pp, *q;

	if (p < e && *p == '[') {
		q = memchr(p, ']', (size_t)(e - p));
		if (!q || !is_ipv6(p + 1, q))
			return EBADMSG;
		pl_set(host, p + 1, (size_t)(q - p - 1));
		*type = SIP_HOST_IPV6;
		*pp = q + 1;
		return 0;
	}
	/* a dotted quad not followed by more host characters is the whole
	   host: the same answer as scanning the host first, in one pass */
	q = ipv4_end(p, e);
	if (q && (q == e || !SIP_CC(*q, SIP_CC_HOST))) {
		*type = SIP_HOST_IPV4;
	} else {
		q = sip_skip_cc(p, e, SIP_CC_HOST);
		if (!is_hostname(p, q))
			return EBADMSG;
		*type = SIP_HOST_NAME;
	}
	pl_set(host, p, (size_t)(q - p));
	*pp = q;
	return 0;
}

/* Via received (§18.2.1, RFC 5118 §4.5): IPv4 or IPv6, brackets tolerated
   and stripped. */
static bool
received_ok(struct pl *v)
{
	const char *p = v->p, *e = p + v->l;

	if (v->l >= 2 && p[0] == '[' && e[-1] == ']') {
		if (!is_ipv6(p + 1, e - 1))
			return false;
		v->p++;
		v->l -= 2;
		return true;
	}
	return is_ipv4(p, e) || is_ipv6(p, e);
}

/* token LWS? "/" */
static const char *
via_proto_part(const char *p, const char *e, struct pl *out, bool slash)
{
	const char *q;

	p = sip_skip_lws(p, e);
	q = sip_skip_token(p, e);
	if (q == p)
		return NULL;
	pl_set(out, p, (size_t)(q - p));
	if (!slash)
		return q;
	p = sip_skip_lws(q, e);
	if (p == e || *p != '/')
		return NULL;
	return p + 1;
}

static int
via_params(struct sip_via *via, const char **pp, const char *e,
	   const char **why)
{
	const char *p = *pp;
	struct pl n, v;
	uint32_t ttl;
	uint16_t port;
	bool vtok;
	int rc;

	while ((rc = param_next(&p, e, &n, &v, why, true, &vtok)) == 0) {
		/* the length picks the one name to compare */
		switch (n.l) {
		case 3:
		case 5:
		case 6:
		case 8:
			break;
		default:
			continue;
		}
		if (CASEEQ(&n, "branch")) {
			/* a token (§20.42 via-branch), as param_next() saw */
			if (!v.p || !vtok) {
				*why = "bad branch";
				return EBADMSG;
			}
			via->branch = v;
		} else if (CASEEQ(&n, "received")) {
			if (!v.p || !received_ok(&v)) {
				*why = "bad received";
				return EBADMSG;
			}
			via->received = v;
		} else if (CASEEQ(&n, "rport")) {
			/* RFC 3581 §3: rport with no value in requests */
			if (v.p && port_decode(v.p, v.p + v.l, &port)) {
				*why = "bad rport";
				return EBADMSG;
			}
			via->rport = true;
			via->rport_val = v;
		} else if (CASEEQ(&n, "maddr")) {
			const char *h = v.p;
			struct pl hp;
			enum sip_host_type ht;

			if (!v.p || host_decode(&h, v.p + v.l, &hp, &ht) ||
			    h != v.p + v.l) {
				*why = "bad maddr";
				return EBADMSG;
			}
			via->maddr = v;
		} else if (CASEEQ(&n, "ttl")) {
			if (!v.p || sip_u32(v.p, v.l, 255, &ttl)) {
				*why = "bad ttl";
				return EBADMSG;
			}
			via->ttl = v;
		}
	}
	*pp = p;
	return rc == ENOENT ? 0 : EBADMSG;
}

/* Decode one Via value from *pp up to the end or a top-level ','. */
static int
via_one(struct sip_via *via, const char **pp, const char *e, const char **why)
{
	const char *p = *pp, *q, *start;

	memset(via, 0, sizeof(*via));
	/* sent-protocol = protocol-name SLASH protocol-version SLASH
	   transport, SLASH = SWS "/" SWS (§20.42) */
	p = start = sip_skip_lws(p, e);
	if (e - p > 8 && sip_lit_caseeq(p, "sip/2.0/", 8) &&
	    SIP_CC(p[8], SIP_CC_TOKEN)) {
		/* the usual form, sliced as the general path would */
		pl_set(&via->proto, p, 3);
		pl_set(&via->version, p + 4, 3);
		p += 8;
	} else {
		p = via_proto_part(p, e, &via->proto, true);
		if (p)
			p = via_proto_part(p, e, &via->version, true);
	}
	if (p)
		p = via_proto_part(p, e, &via->transport, false);
	if (!p) {
		*why = "bad sent-protocol";
		return EBADMSG;
	}
	/* LWS sent-by */
	q = sip_skip_lws(p, e);
	if (q == p || q == e || *q == ',') {
		*why = "missing sent-by host";
		return EBADMSG;
	}
	p = q;
	if (host_decode(&p, e, &via->host, &via->host_type)) {
		*why = "bad sent-by host";
		return EBADMSG;
	}
	q = sip_skip_lws(p, e);
	if (q < e && *q == ':') {
		p = sip_skip_lws(q + 1, e);
		for (q = p; q < e && SIP_CC(*q, SIP_CC_DIGIT); q++)
			;
		if (port_decode(p, q, &via->port)) {
			*why = "bad sent-by port";
			return EBADMSG;
		}
		p = q;
	}
	q = sip_skip_lws(p, e);
	if (q < e && *q != ';' && *q != ',') {
		*why = "junk after sent-by";
		return EBADMSG;
	}
	p = q;
	if (via_params(via, &p, e, why))
		return EBADMSG;
	pl_set(&via->params, q, (size_t)(p - q));
	while (p > q && SIP_CC(p[-1], SIP_CC_LWS))
		p--;
	via->params.l = (size_t)(p - q);
	pl_set(&via->raw, start, (size_t)(p - start));
	*pp = sip_skip_lws(p, e);
	return 0;
}

int
sip_via_next(struct sip_via *via, const char **pp, const char *e,
	     const char **why)
{
	const char *p = sip_skip_lws(*pp, e);

	if (p == e)
		return ENOENT;
	if (via_one(via, &p, e, why))
		return EBADMSG;
	if (p < e) { /* at ',' (§7.3.1 comma list) */
		p = sip_skip_lws(p + 1, e);
		if (p == e || *p == ',') {
			*why = "empty element in list";
			return EBADMSG;
		}
	}
	*pp = p;
	return 0;
}

int
sip_via_decode(struct sip_via *via, const struct pl *pl, const char **why)
{
	const char *p = pl->p, *e = pl->p + pl->l;

	if (via_one(via, &p, e, why))
		return EBADMSG;
	if (p != e) {
		*why = "more than one value";
		return EBADMSG;
	}
	return 0;
}

/* 1*DIGIT LWS, the number in min..max: below 2^31 for a CSeq number
   (§8.1.1.5), up to 2^32-1 for an RSeq (RFC 3262 §3). */
static int
num_method(const char **pp, const char *e, uint32_t *num, uint32_t min,
	   uint32_t max, const char **why)
{
	const char *p = *pp, *q;
	struct pl t;
	int rc;

	for (q = p; q < e && SIP_CC(*q, SIP_CC_DIGIT); q++)
		;
	pl_set(&t, p, (size_t)(q - p));
	rc = sip_u32(t.p, t.l, max, num);
	if (rc == ERANGE) {
		*why = max == UINT32_MAX ? "number above 2^32-1"
					 : "number not below 2^31";
		return EBADMSG;
	}
	if (rc || *num < min) {
		*why = "bad number";
		return EBADMSG;
	}
	p = sip_skip_lws(q, e);
	if (p == q) {
		*why = "missing whitespace after number";
		return EBADMSG;
	}
	*pp = p;
	return 0;
}

static int
method_rest(const char *p, const char *e, struct pl *method,
	    enum sip_method *mid, const char **why)
{
	const char *q = sip_skip_token(p, e);

	if (q == p) {
		*why = "missing method";
		return EBADMSG;
	}
	pl_set(method, p, (size_t)(q - p));
	if (sip_skip_lws(q, e) != e) {
		*why = "junk after method";
		return EBADMSG;
	}
	*mid = sip_method_id(method);
	return 0;
}

int
sip_cseq_decode(struct sip_cseq *cseq, const struct pl *pl, const char **why)
{
	const char *p = sip_skip_lws(pl->p, pl->p + pl->l), *e = pl->p + pl->l;

	memset(cseq, 0, sizeof(*cseq));
	if (num_method(&p, e, &cseq->num, 0, 0x7fffffffu, why))
		return EBADMSG;
	return method_rest(p, e, &cseq->method, &cseq->mid, why);
}

int
sip_rack_decode(struct sip_rack *rack, const struct pl *pl, const char **why)
{
	const char *p = sip_skip_lws(pl->p, pl->p + pl->l), *e = pl->p + pl->l;

	memset(rack, 0, sizeof(*rack));
	/* RFC 3262 §7.2: response-num LWS CSeq-num LWS Method. The first
	   RSeq of a transaction is 1..2^31-1 but later ones grow by one up
	   to 2^32-1 (§3: "the maximum is 2**32 - 1") */
	if (num_method(&p, e, &rack->rseq, 1, UINT32_MAX, why) ||
	    num_method(&p, e, &rack->cseq, 0, 0x7fffffffu, why))
		return EBADMSG;
	return method_rest(p, e, &rack->method, &rack->mid, why);
}

int
sip_ctype_decode(struct sip_ctype *ct, const struct pl *pl, const char **why)
{
	const char *p = pl->p, *e = pl->p + pl->l, *q;
	struct pl n, v;
	int rc;

	memset(ct, 0, sizeof(*ct));
	/* media-type = m-type SLASH m-subtype *(SEMI m-parameter) */
	p = sip_skip_lws(p, e);
	q = sip_skip_token(p, e);
	if (q == p) {
		*why = "missing media type";
		return EBADMSG;
	}
	pl_set(&ct->type, p, (size_t)(q - p));
	p = sip_skip_lws(q, e);
	if (p == e || *p != '/') {
		*why = "missing '/' in media type";
		return EBADMSG;
	}
	p = sip_skip_lws(p + 1, e);
	q = sip_skip_token(p, e);
	if (q == p) {
		*why = "missing media subtype";
		return EBADMSG;
	}
	pl_set(&ct->subtype, p, (size_t)(q - p));
	p = sip_skip_lws(q, e);
	pl_set(&ct->params, p, (size_t)(e - p));
	while ((rc = sip_param_next(&p, e, &n, &v, why)) == 0) {
		if (!CASEEQ(&n, "boundary"))
			continue;
		if (!v.p) {
			*why = "empty boundary";
			return EBADMSG;
		}
		sip_unquote(&v);
		/* RFC 2046 §5.1.1: 1 to 70 characters */
		if (v.l == 0 || v.l > 70) {
			*why = "bad boundary";
			return EBADMSG;
		}
		ct->boundary = v;
	}
	return rc == ENOENT ? 0 : EBADMSG;
}

int
sip_session_expires_decode(struct sip_session_expires *se, const struct pl *pl,
			   const char **why)
{
	const char *p = sip_skip_lws(pl->p, pl->p + pl->l), *e = pl->p + pl->l;
	const char *q;
	struct pl n, v;
	int rc;

	memset(se, 0, sizeof(*se));
	for (q = p; q < e && SIP_CC(*q, SIP_CC_DIGIT); q++)
		;
	pl_set(&n, p, (size_t)(q - p));
	if (sip_delta_decode(&se->delta, &n, why))
		return EBADMSG;
	/* RFC 4028 §4: delta-seconds; zero makes no session timer */
	if (se->delta == 0) {
		*why = "interval must be at least 1";
		return EBADMSG;
	}
	p = sip_skip_lws(q, e);
	pl_set(&se->params, p, (size_t)(e - p));
	while ((rc = sip_param_next(&p, e, &n, &v, why)) == 0) {
		if (!CASEEQ(&n, "refresher"))
			continue;
		if (v.p && CASEEQ(&v, "uac"))
			se->refresher = SIP_REFRESHER_UAC;
		else if (v.p && CASEEQ(&v, "uas"))
			se->refresher = SIP_REFRESHER_UAS;
		else {
			*why = "refresher must be uac or uas";
			return EBADMSG;
		}
	}
	return rc == ENOENT ? 0 : EBADMSG;
}

int
sip_reason_decode(struct sip_reason *r, const struct pl *pl, const char **why)
{
	const char *p = sip_skip_lws(pl->p, pl->p + pl->l), *e = pl->p + pl->l;
	const char *q = sip_skip_token(p, e);
	struct pl n, v;
	int rc;

	memset(r, 0, sizeof(*r));
	/* reason-value = protocol *(SEMI reason-params) (RFC 3326 §2) */
	if (q == p) {
		*why = "missing protocol";
		return EBADMSG;
	}
	pl_set(&r->protocol, p, (size_t)(q - p));
	p = sip_skip_lws(q, e);
	pl_set(&r->params, p, (size_t)(e - p));
	while ((rc = sip_param_next(&p, e, &n, &v, why)) == 0) {
		if (CASEEQ(&n, "cause")) {
			if (!v.p || sip_u32(v.p, v.l, UINT32_MAX, &r->cause)) {
				*why = "bad cause";
				return EBADMSG;
			}
		} else if (CASEEQ(&n, "text")) {
			if (!v.p || v.p[0] != '"') {
				*why = "text must be a quoted string";
				return EBADMSG;
			}
			sip_unquote(&v);
			r->text = v;
		}
	}
	return rc == ENOENT ? 0 : EBADMSG;
}

/* callid = word ["@" word] (§25.1); '@' is not a word character. */
bool
sip_callid_ok(const char *p, const char *e)
{
	const char *q = sip_skip_cc(p, e, SIP_CC_WORD);

	if (q == p)
		return false;
	if (q == e)
		return true;
	if (*q != '@' || q + 1 == e)
		return false;
	return sip_skip_cc(q + 1, e, SIP_CC_WORD) == e;
}

int
sip_replaces_decode(struct sip_replaces *r, const struct pl *pl,
		    const char **why)
{
	const char *p = sip_skip_lws(pl->p, pl->p + pl->l), *e = pl->p + pl->l;
	const char *q;
	struct pl n, v;
	int rc;

	memset(r, 0, sizeof(*r));
	for (q = p; q < e && (SIP_CC(*q, SIP_CC_WORD) || *q == '@'); q++)
		;
	if (!sip_callid_ok(p, q)) {
		*why = "bad Call-ID";
		return EBADMSG;
	}
	pl_set(&r->callid, p, (size_t)(q - p));
	p = q;
	while ((rc = sip_param_next(&p, e, &n, &v, why)) == 0) {
		if (CASEEQ(&n, "to-tag") || CASEEQ(&n, "from-tag")) {
			struct pl *dst = n.p[0] == 't' || n.p[0] == 'T'
						 ? &r->to_tag
						 : &r->from_tag;

			if (!v.p || !sip_is_token(&v)) {
				*why = "bad tag";
				return EBADMSG;
			}
			*dst = v;
		} else if (CASEEQ(&n, "early-only")) {
			r->early_only = true;
		}
	}
	if (rc != ENOENT)
		return EBADMSG;
	/* RFC 3891 §6.1: to-tag and from-tag are both required */
	if (!r->to_tag.p || !r->from_tag.p) {
		*why = "missing to-tag or from-tag";
		return EBADMSG;
	}
	return 0;
}

bool
sip_hdr_has_token(const struct sip_msg *msg, enum sip_hdr_id id,
		  const char *tag)
{
	struct sip_hdr_iter it;
	struct pl v;

	sip_hdr_iter_init(&it, msg, id);
	while (sip_hdr_iter_next(&it, &v) == 0) {
		if (pl_caseeq_str(&v, tag))
			return true;
	}
	return false;
}
