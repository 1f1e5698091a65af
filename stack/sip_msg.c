/*
 * SIP message parser core: start line (RFC 3261 §7.1, §7.2, §25.1),
 * header lines with folding and compact forms (§7.3), comma lists
 * (§7.3.1), mandatory headers (§8.1.1), body framing (§18.3, §20.14) and
 * stream framing. Zero-copy: every slice points into the caller's buffer.
 *
 * Policy decisions (see also sip_msg.h):
 * - Line ends are CRLF (§7); a bare LF is tolerated as a line end (and
 *   "LF SP" as a fold) because it costs nothing with a memchr('\n') scan
 *   and never makes two readings of one message possible: every LF ends a
 *   line or folds one. A lone CR is never a line end; inside a header
 *   value it is refused by the value decoders, or by sip_msg_check() for
 *   headers without a grammar.
 * - Duplicated single-valued core headers (Call-ID, From, To, CSeq,
 *   Max-Forwards; RFC 4475 §3.3.8) and the CSeq method (§8.1.1.5) are
 *   checked in sip_msg_parse(): the transaction layer relies on them.
 *   Other single-valued headers are checked in sip_msg_check().
 * - Status codes for requests: 505 for a SIP-Version other than 2.0
 *   (§21.5.7), 413 when a limit of struct sip_limits is exceeded (the
 *   contract in sip_msg.h), 400 for everything else. Any error in a
 *   response gives status 0: responses are never answered (§18.1.2).
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "sip_int.h"
#include "sip_msg.h"

/* Message-level phrases (no header concerned): printed as they are. */
static const char E_UNTERM[] = "Unterminated header section";
static const char E_TOOBIG[] = "Message too large";
static const char E_TOOMANY[] = "Too many header lines";
static const char E_LINELONG[] = "Header line too long";
static const char E_HNAME[] = "Bad header name";
static const char E_EMPTY[] = "Empty message";
/* Header-level marker printed as "Missing <header>". */
static const char E_MISSING[] = "missing";

static const char *const msg_phrases[] = {E_UNTERM,   E_TOOBIG, E_TOOMANY,
					  E_LINELONG, E_HNAME,	E_EMPTY};

void
sip_limits_default(struct sip_limits *lim)
{
	lim->max_msg = 65536;
	lim->max_hdrs = SIP_MSG_HDR_CAP;
	lim->max_line = 8192;
}

char *
sip_perr_phrase(const struct sip_perr *err, char *buf, size_t sz)
{
	const char *what = err->what ? err->what : "malformed";
	char name[48];
	size_t i, n;

	if (!buf || sz == 0)
		return buf;
	for (i = 0; i < sizeof(msg_phrases) / sizeof(msg_phrases[0]); i++) {
		if (what == msg_phrases[i]) {
			snprintf(buf, sz, "%s", what);
			return buf;
		}
	}
	if (err->hdr != SIP_HDR_OTHER) {
		snprintf(name, sizeof(name), "%s", sip_hdr_name(err->hdr));
	} else if (err->hdr_name.p && err->hdr_name.l) {
		/* from the wire: keep token characters only, so the phrase
		   never carries CR, LF or other control bytes */
		for (i = n = 0; i < err->hdr_name.l && n < sizeof(name) - 1;
		     i++)
			if (SIP_CC(err->hdr_name.p[i], SIP_CC_TOKEN))
				name[n++] = err->hdr_name.p[i];
		name[n] = '\0';
	} else {
		snprintf(buf, sz, "Bad %s: %s",
			 err->status ? "Request-Line" : "Status-Line", what);
		return buf;
	}
	if (what == E_MISSING)
		snprintf(buf, sz, "Missing %s", name);
	else
		snprintf(buf, sz, "Bad %s: %s", name, what);
	return buf;
}

static int
perr(struct sip_perr *err, enum sip_hdr_id hdr, const struct pl *name,
     const char *what, uint16_t status)
{
	err->hdr = hdr;
	if (name)
		err->hdr_name = *name;
	else
		pl_set(&err->hdr_name, NULL, 0);
	err->what = what;
	err->status = status;
	return EBADMSG;
}

/* "SIP/" 1*DIGIT "." 1*DIGIT, "SIP" case-insensitive (§7.1). Returns 0 for
   2.0, 505 for another well-formed version, 400 if malformed. */
static int
version_check(const char *p, const char *e)
{
	const char *q;

	if (e - p < 7 || !sip_lit_caseeq(p, "sip/", 4))
		return 400;
	for (q = p + 4; q < e && SIP_CC(*q, SIP_CC_DIGIT); q++)
		;
	if (q == p + 4 || q == e || *q != '.')
		return 400;
	for (q++; q < e && SIP_CC(*q, SIP_CC_DIGIT); q++)
		;
	if (q != e || e[-1] == '.')
		return 400;
	return (e - p == 7 && p[4] == '2' && p[6] == '0') ? 0 : 505;
}

/* Status-Line = SIP-Version SP Status-Code SP Reason-Phrase (§7.2). */
static int
parse_status_line(struct sip_msg *msg, const char *p, const char *e,
		  struct sip_perr *err)
{
	const char *sp = memchr(p, ' ', (size_t)(e - p)), *q;
	unsigned code;

	msg->req = false;
	if (!sp || version_check(p, sp) != 0)
		return perr(err, SIP_HDR_OTHER, NULL, "bad SIP-Version", 0);
	pl_set(&msg->version, p, (size_t)(sp - p));
	p = sp + 1;
	/* exactly three digits (RFC 4475 §3.1.2.19: 4294967301) */
	if (e - p < 3 || !SIP_CC(p[0], SIP_CC_DIGIT) ||
	    !SIP_CC(p[1], SIP_CC_DIGIT) || !SIP_CC(p[2], SIP_CC_DIGIT) ||
	    (e - p > 3 && p[3] != ' '))
		return perr(err, SIP_HDR_OTHER, NULL, "bad Status-Code", 0);
	code = (unsigned)(p[0] - '0') * 100 + (unsigned)(p[1] - '0') * 10 +
	       (unsigned)(p[2] - '0');
	if (code < 100 || code > 699)
		return perr(err, SIP_HDR_OTHER, NULL,
			    "Status-Code out of range", 0);
	msg->status = (uint16_t)code;
	/* the SP before an empty Reason-Phrase is tolerated when missing
	   (RFC 4475 §3.1.1.13); text is any byte but CTLs except HTAB */
	p = p + 3 < e ? p + 4 : e;
	for (q = p; q < e; q++)
		if ((unsigned char)*q < 0x20 && *q != '\t')
			return perr(err, SIP_HDR_OTHER, NULL,
				    "control character in Reason-Phrase", 0);
	pl_set(&msg->reason, p, (size_t)(e - p));
	return 0;
}

/* Request-Line = Method SP Request-URI SP SIP-Version CRLF (§7.1): single
   SP separators, no LWS inside the URI (RFC 4475 §3.1.2.7-10). */
static int
parse_request_line(struct sip_msg *msg, const char *p, const char *e,
		   struct sip_perr *err)
{
	const char *q = sip_skip_token(p, e), *u, *v, *why = NULL;
	int st, rc;

	msg->req = true;
	if (q == p || q == e || *q != ' ')
		return perr(err, SIP_HDR_OTHER, NULL, "bad Method", 400);
	pl_set(&msg->method, p, (size_t)(q - p));
	msg->mid = sip_method_id(&msg->method);
	u = q + 1;
	if (u < e && (*u == ' ' || *u == '\t'))
		return perr(err, SIP_HDR_OTHER, NULL, "extra whitespace", 400);
	if (e[-1] == ' ' || e[-1] == '\t')
		return perr(err, SIP_HDR_OTHER, NULL, "trailing whitespace",
			    400);
	for (v = e; v > u && v[-1] != ' '; v--)
		;
	if (v == u)
		return perr(err, SIP_HDR_OTHER, NULL, "missing SIP-Version",
			    400);
	/* [u, v - 1) is the Request-URI */
	if (v - 1 == u)
		return perr(err, SIP_HDR_OTHER, NULL, "missing Request-URI",
			    400);
	if (v[-2] == ' ' || v[-2] == '\t')
		return perr(err, SIP_HDR_OTHER, NULL, "extra whitespace", 400);
	/* The URI is decoded first: a URI that decodes holds no SP, HTAB
	   or leading '<' (no URI grammar allows them), so the checks below
	   for those run only when it does not, in their order as ever. */
	pl_set(&msg->ruri_raw, u, (size_t)(v - 1 - u));
	rc = sip_uri_decode(&msg->ruri, &msg->ruri_raw, &why);
	if (rc && (memchr(u, ' ', (size_t)(v - 1 - u)) ||
		   memchr(u, '\t', (size_t)(v - 1 - u))))
		return perr(err, SIP_HDR_OTHER, NULL,
			    "whitespace inside Request-URI", 400);
	if (rc && *u == '<')
		return perr(err, SIP_HDR_OTHER, NULL,
			    "Request-URI must not be in <>", 400);
	st = version_check(v, e);
	if (st == 505) /* §8.2.2... §21.5.7 505 Version Not Supported */
		return perr(err, SIP_HDR_OTHER, NULL, "unsupported SIP-Version",
			    505);
	if (st)
		return perr(err, SIP_HDR_OTHER, NULL, "bad SIP-Version", 400);
	pl_set(&msg->version, v, (size_t)(e - v));
	if (rc)
		return perr(err, SIP_HDR_OTHER, NULL,
			    why ? why : "bad Request-URI", 400);
	return 0;
}

/*
 * Scan the header lines from p (just after the start line) to the empty
 * line: one forward pass, line ends by memchr, a fold is an LF followed by
 * SP/HTAB (§7.3.1). Fills hdrs[], first[], count[]; *body gets the first
 * byte after the empty line.
 */
static int
scan_headers(struct sip_msg *msg, const char *p, const char *end,
	     bool truncated, const struct sip_limits *lim, const char **body,
	     struct sip_perr *err)
{
	unsigned maxh = lim->max_hdrs && lim->max_hdrs < SIP_MSG_HDR_CAP
				? lim->max_hdrs
				: SIP_MSG_HDR_CAP;
	size_t maxl = lim->max_line ? lim->max_line : (size_t)-1;
	const char *unterm = truncated ? E_TOOBIG : E_UNTERM;
	uint16_t st = truncated ? 413 : 400;
	uint16_t last[SIP_HDR_COUNT];
	uint16_t n = 0;

	for (;;) {
		const char *ls = p, *nl, *le, *q, *v, *ve;
		struct sip_hdr *h;
		struct pl name;
		enum sip_hdr_id id;

		if (p >= end)
			return perr(err, SIP_HDR_OTHER, NULL, unterm, st);
		if (*p == '\n' ||
		    (*p == '\r' && end - p >= 2 && p[1] == '\n')) {
			*body = p + (*p == '\n' ? 1 : 2);
			break;
		}
		nl = memchr(p, '\n', (size_t)(end - p));
		/* a fold starts with SP/HTAB; the next name or the empty line
		   with a byte above SP (or CR/LF): one compare in the usual
		   case */
		while (nl && nl + 1 < end && (unsigned char)nl[1] <= ' ' &&
		       (nl[1] == ' ' || nl[1] == '\t'))
			nl = memchr(nl + 1, '\n', (size_t)(end - nl - 1));
		if (!nl)
			return perr(err, SIP_HDR_OTHER, NULL, unterm, st);
		le = nl > ls && nl[-1] == '\r' ? nl - 1 : nl;
		if ((size_t)(le - ls) > maxl)
			return perr(err, SIP_HDR_OTHER, NULL, E_LINELONG, 413);
		/* field-name HCOLON: HCOLON = *( SP / HTAB ) ":" SWS */
		q = sip_skip_token(ls, le);
		if (q == ls)
			return perr(err, SIP_HDR_OTHER, NULL, E_HNAME, 400);
		pl_set(&name, ls, (size_t)(q - ls));
		id = sip_hdr_id_raw(ls, (size_t)(q - ls));
		if (q < le && *q == ':' && le - q > 2 && q[1] == ' ' &&
		    !SIP_CC(q[2], SIP_CC_LWS)) {
			v = q + 2; /* the usual "Name: value" */
		} else {
			while (q < le && (*q == ' ' || *q == '\t'))
				q++;
			if (q == le || *q != ':')
				return perr(err, id, &name, "missing colon",
					    400);
			v = sip_skip_lws(q + 1, le);
		}
		for (ve = le; ve > v && SIP_CC(ve[-1], SIP_CC_LWS); ve--)
			;
		if (n >= maxh)
			return perr(err, SIP_HDR_OTHER, NULL, E_TOOMANY, 413);
		h = &msg->hdrs[n];
		h->id = id;
		h->name = name;
		pl_set(&h->val, v, (size_t)(ve - v));
		pl_set(&h->line, ls, (size_t)(le - ls));
		h->next = SIP_HDR_NONE;
		if (msg->count[id]++ == 0)
			msg->first[id] = n;
		else
			msg->hdrs[last[id]].next = n;
		last[id] = n;
		n++;
		p = nl + 1;
	}
	msg->nhdrs = n;
	return 0;
}

static const struct sip_hdr *
first_hdr(const struct sip_msg *msg, enum sip_hdr_id id)
{
	uint16_t i = msg->first[id];

	return i == SIP_HDR_NONE ? NULL : &msg->hdrs[i];
}

/* Content-Length (§20.14): decimal, no sign; repeated lines must agree
   (RFC 4475 §3.3.9: conflicting values are a framing error). */
static int
parse_clen(struct sip_msg *msg, struct sip_perr *err)
{
	const struct sip_hdr *h = first_hdr(msg, SIP_HDR_CONTENT_LENGTH);
	uint32_t v;
	int rc;

	for (; h; h = sip_msg_hdr_next(msg, h)) {
		if (h->val.l && h->val.p[0] == '-')
			return perr(err, h->id, &h->name, "negative value",
				    400);
		rc = sip_u32(h->val.p, h->val.l, UINT32_MAX, &v);
		if (rc)
			return perr(err, h->id, &h->name,
				    rc == ERANGE ? "value too large"
						 : "not a decimal number",
				    400);
		if (msg->clen_set && v != msg->clen)
			return perr(err, h->id, &h->name, "conflicting values",
				    400);
		msg->clen = v;
		msg->clen_set = true;
	}
	return 0;
}

/* From or To: exactly one name-addr / addr-spec (§20.20, §20.39). The
   value is decoded whole; only when that fails is it split as a list, to
   name the error precisely (a second value cannot decode as params). */
static int
parse_addr_hdr(struct sip_msg *msg, enum sip_hdr_id id, struct sip_addr *a,
	       struct sip_perr *err)
{
	const struct sip_hdr *h = first_hdr(msg, id);
	struct pl rest, elem, more;
	const char *why = NULL;
	int rc;

	if (sip_addr_decode(a, &h->val, &why)) {
		rest = h->val;
		rc = sip_list_next(&rest, &elem);
		if (rc == ENOENT)
			why = "empty value";
		else if (rc)
			why = "unbalanced quotes or <>";
		else if (sip_list_next(&rest, &more) != ENOENT)
			why = "more than one value";
		return perr(err, id, &h->name, why ? why : "bad address", 400);
	}
	if (a->star)
		return perr(err, id, &h->name, "'*' not allowed", 400);
	/* §20: an addr-spec with ',', ';' or '?' MUST be in name-addr form */
	if (!a->angle && pl_isset(&a->uri.headers))
		return perr(err, id, &h->name, "URI with headers needs <>",
			    400);
	return 0;
}

static int
parse_core(struct sip_msg *msg, struct sip_perr *err)
{
	static const uint8_t single[] = {SIP_HDR_CALL_ID, SIP_HDR_FROM,
					 SIP_HDR_TO, SIP_HDR_CSEQ,
					 SIP_HDR_MAX_FORWARDS};
	static const uint8_t mandatory[] = {SIP_HDR_VIA, SIP_HDR_FROM,
					    SIP_HDR_TO, SIP_HDR_CALL_ID,
					    SIP_HDR_CSEQ};
	const struct sip_hdr *h;
	const char *why = NULL, *vp;
	uint32_t mf;
	size_t i;
	int rc;

	/* RFC 4475 §3.3.8: single-valued fields appear once */
	for (i = 0; i < sizeof(single); i++)
		if (msg->count[single[i]] > 1)
			return perr(err, single[i], NULL,
				    "header appears more than once", 400);
	/* §8.1.1: To, From, CSeq, Call-ID, Via MUST be present (Max-Forwards
	   too, but RFC 2543 peers omit it: RFC 4475 §3.4.1) */
	for (i = 0; i < sizeof(mandatory); i++)
		if (msg->count[mandatory[i]] == 0)
			return perr(err, mandatory[i], NULL, E_MISSING, 400);
	if (parse_clen(msg, err))
		return EBADMSG;

	/* topmost Via value (§18.2.1, §20.42), decoded in place */
	h = first_hdr(msg, SIP_HDR_VIA);
	vp = h->val.p;
	rc = sip_via_next(&msg->via, &vp, h->val.p + h->val.l, &why);
	if (rc)
		return perr(err, h->id, &h->name,
			    rc == ENOENT ? "empty value" : why, 400);

	if (parse_addr_hdr(msg, SIP_HDR_FROM, &msg->from, err) ||
	    parse_addr_hdr(msg, SIP_HDR_TO, &msg->to, err))
		return EBADMSG;

	h = first_hdr(msg, SIP_HDR_CALL_ID);
	if (!sip_callid_ok(h->val.p, h->val.p + h->val.l))
		return perr(err, h->id, &h->name,
			    memchr(h->val.p, ',', h->val.l)
				    ? "more than one value"
				    : "not a word[@word]",
			    400);
	msg->callid = h->val;

	h = first_hdr(msg, SIP_HDR_CSEQ);
	if (sip_cseq_decode(&msg->cseq, &h->val, &why))
		return perr(err, h->id, &h->name, why, 400);
	/* §8.1.1.5: the CSeq method MUST match that of the request */
	if (msg->req && !pl_eq(&msg->cseq.method, &msg->method))
		return perr(err, h->id, &h->name,
			    "method does not match the Request-Line", 400);

	h = first_hdr(msg, SIP_HDR_MAX_FORWARDS);
	if (h) {
		/* §20.22: 0..255 */
		if (sip_u32(h->val.p, h->val.l, 255, &mf))
			return perr(err, h->id, &h->name,
				    "not a number in 0..255", 400);
		msg->max_forwards = (int32_t)mf;
	}

	h = first_hdr(msg, SIP_HDR_CONTENT_TYPE);
	if (h) {
		if (sip_ctype_decode(&msg->ctype, &h->val, &why))
			return perr(err, h->id, &h->name, why, 400);
		msg->ctype_set = true;
	}
	return 0;
}

/* Reset only what sip_msg_parse() sets; the large arrays stay as they
   are (hdrs[] beyond nhdrs is never read). */
static void
msg_reset(struct sip_msg *msg, const char *buf, size_t len)
{
	msg->buf = buf;
	msg->len = len;
	msg->req = false;
	pl_set(&msg->method, NULL, 0);
	msg->mid = SIP_M_OTHER;
	pl_set(&msg->ruri_raw, NULL, 0);
	msg->status = 0;
	pl_set(&msg->reason, NULL, 0);
	pl_set(&msg->version, NULL, 0);
	msg->nhdrs = 0;
	memset(msg->first, 0xff, sizeof(msg->first));
	memset(msg->count, 0, sizeof(msg->count));
	pl_set(&msg->callid, NULL, 0);
	msg->max_forwards = -1;
	msg->clen = 0;
	msg->clen_set = false;
	msg->ctype_set = false;
	pl_set(&msg->body, NULL, 0);
}

int
sip_msg_parse(struct sip_msg *msg, const char *buf, size_t len,
	      enum sip_framing framing, const struct sip_limits *lim,
	      struct sip_perr *err)
{
	struct sip_limits deflim;
	const char *end, *nl, *le, *body = NULL;
	size_t scan, hlen, blen;
	int rc;

	if (!lim) {
		sip_limits_default(&deflim);
		lim = &deflim;
	}
	msg_reset(msg, buf, len);
	if (!buf || len == 0)
		return perr(err, SIP_HDR_OTHER, NULL, E_EMPTY, 0);
	scan = lim->max_msg && len > lim->max_msg ? lim->max_msg : len;
	end = buf + scan;

	/* start line */
	nl = memchr(buf, '\n', scan);
	if (!nl)
		return perr(err, SIP_HDR_OTHER, NULL, E_UNTERM,
			    scan < len ? 413 : 400);
	le = nl > buf && nl[-1] == '\r' ? nl - 1 : nl;
	if (le == buf)
		return perr(err, SIP_HDR_OTHER, NULL, E_EMPTY, 400);
	if (le - buf >= 4 && sip_lit_caseeq(buf, "sip/", 4))
		rc = parse_status_line(msg, buf, le, err);
	else
		rc = parse_request_line(msg, buf, le, err);
	if (rc)
		return rc;

	rc = scan_headers(msg, nl + 1, end, scan < len, lim, &body, err);
	if (rc == 0)
		rc = parse_core(msg, err);
	if (rc == 0) {
		/* §18.3 framing */
		hlen = (size_t)(body - buf);
		blen = len - hlen;
		if (framing == SIP_FRAMING_STREAM && !msg->clen_set)
			rc = perr(err, SIP_HDR_CONTENT_LENGTH, NULL, E_MISSING,
				  400);
		else if (msg->clen_set && msg->clen > blen)
			rc = perr(err, SIP_HDR_CONTENT_LENGTH, NULL,
				  "larger than the message body", 400);
		else if (msg->clen_set)
			blen = msg->clen;
		if (rc == 0 && lim->max_msg && hlen + blen > lim->max_msg)
			rc = perr(err, SIP_HDR_OTHER, NULL, E_TOOBIG, 413);
		if (rc == 0) {
			pl_set(&msg->body, body, blen);
			msg->len = hlen + blen;
		}
	}
	if (rc && !msg->req)
		err->status = 0; /* never answer a response */
	return rc;
}

/* Lookups */

const struct sip_hdr *
sip_msg_hdr(const struct sip_msg *msg, enum sip_hdr_id id)
{
	if ((unsigned)id >= SIP_HDR_COUNT)
		return NULL;
	return first_hdr(msg, id);
}

const struct sip_hdr *
sip_msg_hdr_name(const struct sip_msg *msg, const char *name)
{
	struct pl n = {name, strlen(name)};
	enum sip_hdr_id id = sip_hdr_id_of(&n);
	const struct sip_hdr *h;

	if (id != SIP_HDR_OTHER)
		return first_hdr(msg, id);
	for (h = first_hdr(msg, SIP_HDR_OTHER); h; h = sip_msg_hdr_next(msg, h))
		if (pl_caseeq(&h->name, &n))
			return h;
	return NULL;
}

const struct sip_hdr *
sip_msg_hdr_next(const struct sip_msg *msg, const struct sip_hdr *hdr)
{
	if (!hdr || hdr->next == SIP_HDR_NONE || hdr->next >= msg->nhdrs)
		return NULL;
	return &msg->hdrs[hdr->next];
}

/* Comma lists (§7.3.1) */

int
sip_list_next(struct pl *rest, struct pl *elem)
{
	const char *p, *e, *s, *q;

	if (!rest->p)
		return ENOENT;
	p = rest->p;
	e = p + rest->l;
	p = sip_skip_lws(p, e);
	if (p == e) {
		pl_set(rest, e, 0);
		return ENOENT;
	}
	s = p;
	while (p < e) {
		while (p < e && !SIP_CC(*p, SIP_CC_LIST))
			p++;
		if (p == e || *p == ',')
			break;
		if (*p == '"') {
			q = sip_skip_quoted(p, e);
		} else if (*p == '<') {
			q = memchr(p, '>', (size_t)(e - p));
			q = q ? q + 1 : NULL;
		} else {
			q = p + 1; /* '>' or '\' outside a quoted string */
		}
		if (!q)
			return EBADMSG;
		p = q;
	}
	for (q = p; q > s && SIP_CC(q[-1], SIP_CC_LWS); q--)
		;
	if (q == s)
		return EBADMSG; /* ",," or a leading comma */
	pl_set(elem, s, (size_t)(q - s));
	if (p < e) {
		p++;
		if (sip_skip_lws(p, e) == e)
			return EBADMSG; /* trailing comma */
	}
	pl_set(rest, p, (size_t)(e - p));
	return 0;
}

/* Headers whose value is not a comma list: auth (§25.1 challenge and
   credentials), dates and free text. */
static bool
is_list_hdr(enum sip_hdr_id id)
{
	switch (id) {
	case SIP_HDR_WWW_AUTHENTICATE:
	case SIP_HDR_PROXY_AUTHENTICATE:
	case SIP_HDR_AUTHORIZATION:
	case SIP_HDR_PROXY_AUTHORIZATION:
	case SIP_HDR_DATE:
	case SIP_HDR_CALL_ID:
	case SIP_HDR_USER_AGENT:
	case SIP_HDR_SERVER:
	case SIP_HDR_SUBJECT:
	case SIP_HDR_RETRY_AFTER:
	case SIP_HDR_TIMESTAMP:
		return false;
	default:
		return true;
	}
}

void
sip_hdr_iter_init(struct sip_hdr_iter *it, const struct sip_msg *msg,
		  enum sip_hdr_id id)
{
	it->msg = msg;
	it->idx = (unsigned)id < SIP_HDR_COUNT ? msg->first[id] : SIP_HDR_NONE;
	pl_set(&it->rest, NULL, 0);
}

int
sip_hdr_iter_next(struct sip_hdr_iter *it, struct pl *val)
{
	const struct sip_msg *msg = it->msg;
	unsigned guard;
	int rc;

	for (guard = 0; guard <= SIP_MSG_HDR_CAP; guard++) {
		const struct sip_hdr *h;

		if (it->idx == SIP_HDR_NONE || it->idx >= msg->nhdrs)
			return ENOENT;
		h = &msg->hdrs[it->idx];
		if (!it->rest.p) {
			it->rest = h->val;
			if (!is_list_hdr(h->id)) {
				*val = h->val;
				it->idx = h->next;
				pl_set(&it->rest, NULL, 0);
				return 0;
			}
		}
		rc = sip_list_next(&it->rest, val);
		if (rc != ENOENT)
			return rc;
		it->idx = h->next;
		pl_set(&it->rest, NULL, 0);
	}
	return ENOENT;
}

/*
 * Stream framing (§18.3): Content-Length is mandatory on streams. The
 * header section is re-scanned on each call (no saved state): callers
 * call again when more bytes arrived.
 */
static int
frame_clen(const char *p, const char *e, uint32_t *clen, bool *set,
	   struct sip_perr *err)
{
	const char *nl, *q, *v;
	struct pl name, val;
	uint32_t x;
	int rc;

	/* p is the first header line; e the empty line */
	while (p < e) {
		nl = memchr(p, '\n', (size_t)(e - p));
		while (nl && nl + 1 < e && (nl[1] == ' ' || nl[1] == '\t'))
			nl = memchr(nl + 1, '\n', (size_t)(e - nl - 1));
		if (!nl)
			nl = e;
		q = sip_skip_token(p, nl);
		pl_set(&name, p, (size_t)(q - p));
		if (sip_hdr_id_of(&name) == SIP_HDR_CONTENT_LENGTH) {
			while (q < nl && (*q == ' ' || *q == '\t'))
				q++;
			if (q == nl || *q != ':')
				return perr(err, SIP_HDR_CONTENT_LENGTH, NULL,
					    "missing colon", 400);
			v = q + 1;
			pl_set(&val, v, (size_t)(nl - v));
			sip_trim(&val);
			rc = sip_u32(val.p, val.l, UINT32_MAX, &x);
			if (rc)
				return perr(err, SIP_HDR_CONTENT_LENGTH, NULL,
					    val.l && val.p[0] == '-'
						    ? "negative value"
						    : "not a decimal number",
					    400);
			if (*set && x != *clen)
				return perr(err, SIP_HDR_CONTENT_LENGTH, NULL,
					    "conflicting values", 400);
			*clen = x;
			*set = true;
		}
		p = nl + 1;
	}
	return 0;
}

/* A message of st->need bytes is complete: report it, reset the state. */
static int
frame_done(struct sip_frame *st, size_t *msglen)
{
	*msglen = st->need;
	st->hscan = 0;
	st->need = 0;
	return 0;
}

int
sip_msg_frame(const char *buf, size_t len, const struct sip_limits *lim,
	      size_t *skip, size_t *msglen, struct sip_perr *err)
{
	struct sip_frame st = {0, 0};

	return sip_msg_frame_r(buf, len, lim, &st, skip, msglen, err);
}

int
sip_msg_frame_r(const char *buf, size_t len, const struct sip_limits *lim,
		struct sip_frame *st, size_t *skip, size_t *msglen,
		struct sip_perr *err)
{
	struct sip_limits deflim;
	const char *p = buf, *e = buf + len, *s, *nl, *hend = NULL, *first;
	size_t maxm, from;
	uint32_t clen = 0;
	bool set = false;

	if (!lim) {
		sip_limits_default(&deflim);
		lim = &deflim;
	}
	maxm = lim->max_msg ? lim->max_msg : (size_t)-1;
	/* keep-alives: CRLF (RFC 5626 §3.5.1 double CRLF ping) */
	while (p < e && (*p == '\r' || *p == '\n'))
		p++;
	*skip = (size_t)(p - buf);
	*msglen = 0;
	s = p;
	/* header section seen complete before: wait for the whole body */
	if (st->need)
		return (size_t)(e - s) < st->need ? EAGAIN
						  : frame_done(st, msglen);
	/* end of headers: LF followed by CRLF or LF; resume where the last
	   call stopped (its last bytes may start a terminator) */
	from = st->hscan < (size_t)(e - s) ? st->hscan : 0;
	for (nl = memchr(s + from, '\n', (size_t)(e - s) - from); nl;
	     nl = memchr(nl + 1, '\n', (size_t)(e - nl - 1))) {
		if ((size_t)(nl - s) > maxm)
			break;
		if (nl + 1 < e && nl[1] == '\n') {
			hend = nl + 2;
			break;
		}
		if (nl + 2 < e && nl[1] == '\r' && nl[2] == '\n') {
			hend = nl + 3;
			break;
		}
		if (nl + 2 >= e)
			break;
	}
	if (!hend) {
		if ((size_t)(e - s) > maxm)
			return perr(err, SIP_HDR_OTHER, NULL, E_TOOBIG, 413);
		/* an LF in the last two bytes may begin the terminator */
		st->hscan = (size_t)(e - s) > 2 ? (size_t)(e - s) - 2 : 0;
		return EAGAIN;
	}
	if ((size_t)(hend - s) > maxm)
		return perr(err, SIP_HDR_OTHER, NULL, E_TOOBIG, 413);
	first = memchr(s, '\n', (size_t)(hend - s));
	if (frame_clen(first + 1, hend, &clen, &set, err))
		return EBADMSG;
	if (!set) /* §18.3: MUST be used with stream transports */
		return perr(err, SIP_HDR_CONTENT_LENGTH, NULL, E_MISSING, 400);
	if ((size_t)(hend - s) + clen > maxm)
		return perr(err, SIP_HDR_OTHER, NULL, E_TOOBIG, 413);
	st->need = (size_t)(hend - s) + clen;
	if ((size_t)(e - s) < st->need)
		return EAGAIN;
	return frame_done(st, msglen);
}
