/* SIP responses built from requests (RFC 3261 §8.2.6), the stateless
   error response for unparseable requests, and the §21 reason phrases.
   See sip_write.h. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "sip_write_int.h"

/* ---- responses --------------------------------------------------- */

/*
 * The To line with ";tag=<tag>" put right after its value (before any
 * trailing LWS the line may hold). val is the value's slice inside line.
 */
static void
put_to_tagged(struct sip_wbuf *wb, const struct pl *line, const struct pl *val,
	      const struct pl *tag)
{
	const char *vend = val->p + val->l;

	put(wb, line->p, (size_t)(vend - line->p));
	PUT_LIT(wb, ";tag=");
	put_pl(wb, tag);
	put(wb, vend, (size_t)(line->p + line->l - vend));
	PUT_LIT(wb, CRLF);
}

static void
put_first(struct sip_wbuf *wb, const struct sip_msg *m, enum sip_hdr_id id)
{
	uint16_t i = m->first[id];

	if (i != SIP_HDR_NONE && i < m->nhdrs)
		sip_wb_put_line(wb, &m->hdrs[i]);
}

static void
put_all(struct sip_wbuf *wb, const struct sip_msg *m, enum sip_hdr_id id)
{
	uint16_t i;

	for (i = m->first[id]; i != SIP_HDR_NONE && i < m->nhdrs;
	     i = m->hdrs[i].next)
		sip_wb_put_line(wb, &m->hdrs[i]);
}

static bool
want_tag(const struct pl *totag)
{
	return totag && totag->p && totag->l;
}

int
sip_wb_reply(struct sip_wbuf *wb, const struct sip_msg *req, uint16_t status,
	     const struct pl *reason, const struct pl *totag)
{
	size_t mark = wb->len;
	uint16_t ti;

	if (wb_enter(wb, WB_S_START))
		return wb->err;
	if (!req || !req->req ||
	    (want_tag(totag) && !sip_wb_is_token(totag->p, totag->l)))
		return wb_fail(wb, EINVAL);
	if (sip_wb_status_line(wb, status, reason))
		return wb_close(wb, mark);
	/* §8.2.6.2: Via values equal and in the same order, From, Call-ID,
	   CSeq equal; To equal plus our tag if it had none. */
	put_all(wb, req, SIP_HDR_VIA);
	put_first(wb, req, SIP_HDR_FROM);
	ti = req->first[SIP_HDR_TO];
	if (ti != SIP_HDR_NONE && ti < req->nhdrs) {
		const struct sip_hdr *h = &req->hdrs[ti];

		if (want_tag(totag) && !pl_isset(&req->to.tag) &&
		    pl_within(&h->val, &h->line))
			put_to_tagged(wb, &h->line, &h->val, totag);
		else
			sip_wb_put_line(wb, h);
	}
	put_first(wb, req, SIP_HDR_CALL_ID);
	put_first(wb, req, SIP_HDR_CSEQ);
	if (status == 100) /* §8.2.6.1 */
		put_all(wb, req, SIP_HDR_TIMESTAMP);
	return wb_close(wb, mark);
}

/* ---- stateless error response from raw bytes --------------------- */

/* One logical header line (folding joined) of a raw header section. */
struct raw_scan {
	const char *p, *end;
};

/*
 * Next header line into *line (without its line end) and its name and
 * value (trimmed). Returns false at the empty line or the end. Lines
 * without ':' come back with an empty name.
 */
static bool
raw_next(struct raw_scan *s, struct pl *line, struct pl *name, struct pl *val)
{
	const char *p = s->p, *eol, *colon;

	if (p >= s->end || *p == '\n' ||
	    (*p == '\r' && p + 1 < s->end && p[1] == '\n') ||
	    (*p == '\r' && p + 1 == s->end))
		return false;
	for (eol = p;; eol++) {
		eol = memchr(eol, '\n', (size_t)(s->end - eol));
		if (!eol || eol + 1 >= s->end ||
		    (eol[1] != ' ' && eol[1] != '\t'))
			break;
	}
	s->p = eol ? eol + 1 : s->end;
	if (!eol)
		eol = s->end;
	pl_set(line, p, (size_t)(eol - p));
	if (line->l && line->p[line->l - 1] == '\r')
		line->l--;
	colon = memchr(line->p, ':', line->l);
	if (!colon) {
		pl_set(name, line->p, 0);
		pl_set(val, line->p, 0);
		return true;
	}
	pl_set(name, line->p, (size_t)(colon - line->p));
	pl_trim(name);
	pl_set(val, colon + 1, (size_t)(line->p + line->l - colon - 1));
	pl_trim(val);
	return true;
}

/* Does a raw To value (name-addr or addr-spec) carry a tag parameter?
   Header params start after '>' for name-addr, else at the first ';'. */
static bool
raw_has_tag(const struct pl *v)
{
	const char *p = v->p, *end = v->p + v->l;
	bool quoted = false;

	for (; p < end; p++) {
		if (quoted) {
			if (*p == '\\' && p + 1 < end)
				p++;
			else if (*p == '"')
				quoted = false;
		} else if (*p == '"') {
			quoted = true;
		} else if (*p == '<') {
			p = memchr(p, '>', (size_t)(end - p));
			if (!p)
				return false;
		} else if (*p == ';') {
			const char *n = p + 1, *e;
			struct pl name;

			e = n;
			while (e < end && *e != ';' && *e != '=')
				e++;
			pl_set(&name, n, (size_t)(e - n));
			pl_trim(&name);
			if (pl_caseeq_str(&name, "tag"))
				return true;
		}
	}
	return false;
}

enum { RAW_FROM, RAW_TO, RAW_CALLID, RAW_CSEQ, RAW_COUNT };

/* Which of the copied headers a line's name is (full or compact form,
   §7.3.3, case-insensitive). Dispatched on the length first: a flood of
   400s (many header lines each) makes this the scan's inner loop. */
static int
raw_kind(const struct pl *name)
{
	switch (name->l) {
	case 1:
		switch (name->p[0] | 0x20) {
		case 'v':
			return -2;
		case 'f':
			return RAW_FROM;
		case 't':
			return RAW_TO;
		case 'i':
			return RAW_CALLID;
		}
		return -1;
	case 2:
		return strncasecmp(name->p, "To", 2) ? -1 : RAW_TO;
	case 3:
		return strncasecmp(name->p, "Via", 3) ? -1 : -2;
	case 4:
		if (!strncasecmp(name->p, "From", 4))
			return RAW_FROM;
		return strncasecmp(name->p, "CSeq", 4) ? -1 : RAW_CSEQ;
	case 7:
		return strncasecmp(name->p, "Call-ID", 7) ? -1 : RAW_CALLID;
	}
	return -1;
}

int
sip_wb_reply_perr(struct sip_wbuf *wb, const char *buf, size_t len,
		  const struct sip_perr *err, const struct pl *totag)
{
	struct pl found[RAW_COUNT], tov = PL_INIT, line, name, val;
	struct raw_scan s;
	char phrase[256];
	size_t mark = wb->len, nvia = 0;
	const char *eol;
	int k;

	if (wb_enter(wb, WB_S_START))
		return wb->err;
	if (!buf || !err || err->status < 400 || err->status > 699 ||
	    (want_tag(totag) && !sip_wb_is_token(totag->p, totag->l)))
		return wb_fail(wb, EINVAL);
	memset(found, 0, sizeof(found));
	sip_perr_phrase(err, phrase, sizeof(phrase));
	if (sip_wb_put_status_line(wb, err->status, phrase, strlen(phrase)))
		return wb_close(wb, mark);
	while (len >= 2 && buf[0] == '\r' && buf[1] == '\n') {
		buf += 2; /* keep-alive CRLFs before the start line */
		len -= 2;
	}
	eol = memchr(buf, '\n', len);
	s.p = eol ? eol + 1 : buf + len;
	s.end = buf + len;
	while (raw_next(&s, &line, &name, &val)) {
		k = raw_kind(&name);
		if (k == -2) {
			put(wb, line.p, line.l);
			PUT_LIT(wb, CRLF);
			nvia++;
		} else if (k >= 0 && !found[k].p) {
			found[k] = line;
			if (k == RAW_TO)
				tov = val;
		}
	}
	if (!nvia) {
		wb_fail(wb, EBADMSG);
		return wb_close(wb, mark);
	}
	for (k = 0; k < RAW_COUNT; k++) {
		if (!found[k].p)
			continue;
		if (k == RAW_TO && want_tag(totag) && tov.p &&
		    !raw_has_tag(&tov))
			put_to_tagged(wb, &found[k], &tov, totag);
		else {
			put_pl(wb, &found[k]);
			PUT_LIT(wb, CRLF);
		}
	}
	return wb_close(wb, mark);
}

/* ---- reason phrases ---------------------------------------------- */

/* clang-format off */
const char *
sip_status_phrase(uint16_t status)
{
	switch (status) {
	/* §21.1 */
	case 100: return "Trying";
	case 180: return "Ringing";
	case 181: return "Call Is Being Forwarded";
	case 182: return "Queued";
	case 183: return "Session Progress";
	/* §21.2 */
	case 200: return "OK";
	case 202: return "Accepted"; /* RFC 3515 */
	/* §21.3 */
	case 300: return "Multiple Choices";
	case 301: return "Moved Permanently";
	case 302: return "Moved Temporarily";
	case 305: return "Use Proxy";
	case 380: return "Alternative Service";
	/* §21.4 */
	case 400: return "Bad Request";
	case 401: return "Unauthorized";
	case 402: return "Payment Required";
	case 403: return "Forbidden";
	case 404: return "Not Found";
	case 405: return "Method Not Allowed";
	case 406: return "Not Acceptable";
	case 407: return "Proxy Authentication Required";
	case 408: return "Request Timeout";
	case 410: return "Gone";
	case 413: return "Request Entity Too Large";
	case 414: return "Request-URI Too Long";
	case 415: return "Unsupported Media Type";
	case 416: return "Unsupported URI Scheme";
	case 420: return "Bad Extension";
	case 421: return "Extension Required";
	case 422: return "Session Interval Too Small"; /* RFC 4028 */
	case 423: return "Interval Too Brief";
	case 480: return "Temporarily Unavailable";
	case 481: return "Call/Transaction Does Not Exist";
	case 482: return "Loop Detected";
	case 483: return "Too Many Hops";
	case 484: return "Address Incomplete";
	case 485: return "Ambiguous";
	case 486: return "Busy Here";
	case 487: return "Request Terminated";
	case 488: return "Not Acceptable Here";
	case 489: return "Bad Event"; /* RFC 6665 */
	case 491: return "Request Pending";
	case 493: return "Undecipherable";
	case 494: return "Security Agreement Required"; /* RFC 3329 */
	/* §21.5 */
	case 500: return "Server Internal Error";
	case 501: return "Not Implemented";
	case 502: return "Bad Gateway";
	case 503: return "Service Unavailable";
	case 504: return "Server Time-out";
	case 505: return "Version Not Supported";
	case 513: return "Message Too Large";
	case 580: return "Precondition Failure"; /* RFC 3312 */
	/* §21.6 */
	case 600: return "Busy Everywhere";
	case 603: return "Decline";
	case 604: return "Does Not Exist Anywhere";
	case 606: return "Not Acceptable";
	default: break;
	}
	switch (status / 100) {
	case 1: return "Session Progress";
	case 2: return "OK";
	case 3: return "Redirection";
	case 4: return "Client Error";
	case 5: return "Server Error";
	default: return "Global Failure";
	}
}
/* clang-format on */
