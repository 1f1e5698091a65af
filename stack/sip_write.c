/* SIP message writer: RFC 3261 §7, §8.2.6, §20.14 (see sip_write.h). */
#include "sip_write.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "sip_write_int.h"

/* ---- character checks -------------------------------------------- */

/* token (§25.1) */
static bool
is_tchar(unsigned char c)
{
	if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9'))
		return true;
	return c && strchr("-.!%*_+`'~", c) != NULL;
}

bool
sip_wb_is_token(const char *p, size_t n)
{
	size_t i;

	if (n == 0)
		return false;
	for (i = 0; i < n; i++)
		if (!is_tchar((unsigned char)p[i]))
			return false;
	return true;
}

static bool
pl_is_token(const struct pl *pl)
{
	return pl && pl->p && sip_wb_is_token(pl->p, pl->l);
}

/*
 * A header value may hold folded line ends (CRLF + SP/HTAB, §7.3.1) but
 * no other CR or LF: that would let a value smuggle a header or end the
 * header section. Two memchr passes; values are short.
 */
static bool
val_ok(const char *p, size_t n)
{
	const char *end = p + n, *q;

	if (n == 0)
		return true;
	for (q = p; (q = memchr(q, '\r', (size_t)(end - q))) != NULL; q += 3)
		if (end - q < 3 || q[1] != '\n' ||
		    (q[2] != ' ' && q[2] != '\t'))
			return false;
	for (q = p; (q = memchr(q, '\n', (size_t)(end - q))) != NULL; q++)
		if (q == p || q[-1] != '\r')
			return false;
	return true;
}

/* A URI on the start line or inside <>: no SP, CTL or (in <>) angles. */
static bool
uri_ok(const struct pl *u, bool in_angle)
{
	size_t i;

	if (!u || !u->p || u->l == 0)
		return false;
	for (i = 0; i < u->l; i++) {
		unsigned char c = (unsigned char)u->p[i];

		if (c <= ' ' || c == 0x7f)
			return false;
		if (in_angle && (c == '<' || c == '>'))
			return false;
	}
	return true;
}

/* Reason-Phrase (§25.1): any control byte but HTAB becomes SP. */
static void
put_reason(struct sip_wbuf *wb, const char *p, size_t n)
{
	size_t start = wb->len, i;

	put(wb, p, n);
	if (wb->err)
		return;
	for (i = start; i < wb->len; i++) {
		unsigned char c = (unsigned char)wb->buf[i];

		if ((c < ' ' && c != '\t') || c == 0x7f)
			wb->buf[i] = ' ';
	}
}

/* ---- building from scratch --------------------------------------- */

void
sip_wb_init(struct sip_wbuf *wb, char *buf, size_t size)
{
	wb->buf = buf;
	wb->size = buf ? size : 0;
	wb->len = 0;
	wb->err = 0;
	wb->state = WB_S_START;
	wb->clen_off = SIZE_MAX;
	wb->clen_vlen = 0;
	wb->clen_val = 0;
}

int
sip_wb_request(struct sip_wbuf *wb, const struct pl *method,
	       const struct pl *ruri)
{
	size_t mark = wb->len;

	if (wb_enter(wb, WB_S_START))
		return wb->err;
	if (!pl_is_token(method) || !uri_ok(ruri, false))
		return wb_fail(wb, EINVAL);
	put_pl(wb, method);
	PUT_LIT(wb, " ");
	put_pl(wb, ruri);
	PUT_LIT(wb, " " SIP_VERSION CRLF);
	if (!wb->err)
		wb->state = WB_S_HDRS;
	return wb_close(wb, mark);
}

/* Status line, shared by the response builders. */
int
sip_wb_put_status_line(struct sip_wbuf *wb, uint16_t status, const char *reason,
		       size_t rlen)
{
	char code[3];

	if (status < 100 || status > 699)
		return wb_fail(wb, EINVAL);
	code[0] = (char)('0' + status / 100);
	code[1] = (char)('0' + status / 10 % 10);
	code[2] = (char)('0' + status % 10);
	PUT_LIT(wb, SIP_VERSION " ");
	put(wb, code, 3);
	PUT_LIT(wb, " ");
	put_reason(wb, reason, rlen);
	PUT_LIT(wb, CRLF);
	if (!wb->err)
		wb->state = WB_S_HDRS;
	return wb->err;
}

int
sip_wb_status_line(struct sip_wbuf *wb, uint16_t status,
		   const struct pl *reason)
{
	const char *r;

	if (reason && reason->p)
		return sip_wb_put_status_line(wb, status, reason->p, reason->l);
	r = sip_status_phrase(status);
	return sip_wb_put_status_line(wb, status, r, strlen(r));
}

int
sip_wb_response(struct sip_wbuf *wb, uint16_t status, const struct pl *reason)
{
	size_t mark = wb->len;

	if (wb_enter(wb, WB_S_START))
		return wb->err;
	sip_wb_status_line(wb, status, reason);
	return wb_close(wb, mark);
}

static bool
is_clen_name(const struct pl *name)
{
	return pl_caseeq_str(name, "Content-Length") ||
	       pl_caseeq_str(name, "l");
}

/* "<name>: <val>" CRLF after the checks common to all header appends. */
static int
put_hdr(struct sip_wbuf *wb, const char *name, size_t nlen,
	const struct pl *val)
{
	size_t mark = wb->len;

	if (wb_enter(wb, WB_S_HDRS))
		return wb->err;
	if (!val || (val->l && !val->p) || !val_ok(val->p, val->l))
		return wb_fail(wb, EINVAL);
	put(wb, name, nlen);
	PUT_LIT(wb, ": ");
	put_pl(wb, val);
	PUT_LIT(wb, CRLF);
	return wb_close(wb, mark);
}

/* Canonical name of a header we may append by id. */
static const char *
id_name(enum sip_hdr_id id)
{
	if (id <= SIP_HDR_OTHER || id >= SIP_HDR_COUNT ||
	    id == SIP_HDR_CONTENT_LENGTH)
		return NULL;
	return sip_hdr_name(id);
}

int
sip_wb_hdr(struct sip_wbuf *wb, enum sip_hdr_id id, const struct pl *val)
{
	const char *name = id_name(id);

	if (wb->err)
		return wb->err;
	if (!name)
		return wb_fail(wb, EINVAL);
	return put_hdr(wb, name, strlen(name), val);
}

int
sip_wb_hdr_named(struct sip_wbuf *wb, const struct pl *name,
		 const struct pl *val)
{
	if (wb->err)
		return wb->err;
	if (!pl_is_token(name) || is_clen_name(name))
		return wb_fail(wb, EINVAL);
	return put_hdr(wb, name->p, name->l, val);
}

/* Header with a printf-formatted value, formatted straight into buf. */
static int
put_hdrv(struct sip_wbuf *wb, const char *name, size_t nlen, const char *fmt,
	 va_list ap)
{
	size_t mark = wb->len, room;
	int n;

	if (wb_enter(wb, WB_S_HDRS))
		return wb->err;
	put(wb, name, nlen);
	PUT_LIT(wb, ": ");
	if (wb->err)
		return wb_close(wb, mark);
	room = wb->size - wb->len;
	n = vsnprintf(wb->buf + wb->len, room, fmt, ap);
	if (n < 0)
		wb_fail(wb, EINVAL);
	else if ((size_t)n + 2 > room)
		wb_fail(wb, ENOSPC);
	else if (!val_ok(wb->buf + wb->len, (size_t)n))
		wb_fail(wb, EINVAL);
	else
		wb->len += (size_t)n;
	PUT_LIT(wb, CRLF);
	return wb_close(wb, mark);
}

int
sip_wb_hdrf(struct sip_wbuf *wb, enum sip_hdr_id id, const char *fmt, ...)
{
	const char *name = id_name(id);
	va_list ap;
	int err;

	if (wb->err)
		return wb->err;
	if (!name || !fmt)
		return wb_fail(wb, EINVAL);
	va_start(ap, fmt);
	err = put_hdrv(wb, name, strlen(name), fmt, ap);
	va_end(ap);
	return err;
}

int
sip_wb_hdrf_named(struct sip_wbuf *wb, const char *name, const char *fmt, ...)
{
	struct pl n;
	va_list ap;
	int err;

	if (wb->err)
		return wb->err;
	if (!name || !fmt)
		return wb_fail(wb, EINVAL);
	pl_set(&n, name, strlen(name));
	if (!pl_is_token(&n) || is_clen_name(&n))
		return wb_fail(wb, EINVAL);
	va_start(ap, fmt);
	err = put_hdrv(wb, n.p, n.l, fmt, ap);
	va_end(ap);
	return err;
}

/*
 * Rewrite the kept Content-Length value to blen, moving what follows it
 * when the number of digits changes. Fails (ENOSPC) without touching the
 * buffer unless the result plus extra more bytes (what sip_wb_end() adds
 * after it) fit, so a failing end leaves the message as it was.
 */
static int
fix_kept_clen(struct sip_wbuf *wb, size_t blen, size_t extra)
{
	char d[20];
	size_t dl = fmt_u64(d, blen), off = wb->clen_off,
	       tail = wb->len - off - wb->clen_vlen;

	if (wb->size - wb->len <
	    (dl > wb->clen_vlen ? dl - wb->clen_vlen : 0) + extra)
		return wb_fail(wb, ENOSPC);
	memmove(wb->buf + off + dl, wb->buf + off + wb->clen_vlen, tail);
	memcpy(wb->buf + off, d, dl);
	wb->len = wb->len - wb->clen_vlen + dl;
	wb->clen_vlen = dl;
	wb->clen_val = (uint32_t)blen;
	return 0;
}

int
sip_wb_end(struct sip_wbuf *wb, const struct pl *body, size_t *len)
{
	size_t blen = (body && body->p) ? body->l : 0, mark = wb->len;

	if (wb_enter(wb, WB_S_HDRS))
		return wb->err;
	if (wb->clen_off == SIZE_MAX) {
		PUT_LIT(wb, "Content-Length: ");
		put_u64(wb, blen);
		PUT_LIT(wb, CRLF);
	} else if (blen != wb->clen_val) {
		if (fix_kept_clen(wb, blen, 2 + blen))
			return wb->err;
	}
	PUT_LIT(wb, CRLF);
	if (blen)
		put(wb, body->p, blen);
	if (wb_close(wb, mark))
		return wb->err;
	wb->state = WB_S_DONE;
	if (len)
		*len = wb->len;
	return 0;
}

/* ---- copying a parsed message ------------------------------------ */

/* The start line of msg (without its line end). */
static struct pl
start_line(const struct sip_msg *msg)
{
	const char *eol = memchr(msg->buf, '\n', msg->len);
	struct pl l = {msg->buf, eol ? (size_t)(eol - msg->buf) : msg->len};

	if (l.l && l.p[l.l - 1] == '\r')
		l.l--;
	return l;
}

int
sip_wb_copy_start(struct sip_wbuf *wb, const struct sip_msg *msg,
		  const struct pl *ruri)
{
	size_t mark = wb->len;
	struct pl l;

	if (wb_enter(wb, WB_S_START))
		return wb->err;
	if (!msg || !msg->buf)
		return wb_fail(wb, EINVAL);
	l = start_line(msg);
	if (!ruri) {
		put_pl(wb, &l);
	} else {
		const char *u;

		if (!msg->req || !uri_ok(ruri, false) ||
		    !pl_within(&msg->ruri_raw, &l))
			return wb_fail(wb, EINVAL);
		u = msg->ruri_raw.p;
		put(wb, l.p, (size_t)(u - l.p));
		put_pl(wb, ruri);
		u += msg->ruri_raw.l;
		put(wb, u, (size_t)(l.p + l.l - u));
	}
	PUT_LIT(wb, CRLF);
	if (!wb->err)
		wb->state = WB_S_HDRS;
	return wb_close(wb, mark);
}

void
sip_wb_put_line(struct sip_wbuf *wb, const struct sip_hdr *h)
{
	put_pl(wb, &h->line);
	PUT_LIT(wb, CRLF);
}

static int
check_ops(const struct sip_wop *ops, size_t nops)
{
	size_t i;

	if (nops && !ops)
		return EINVAL;
	if (nops > 64) /* the applied-REPLACE mask below */
		return EINVAL;
	for (i = 0; i < nops; i++) {
		const struct sip_wop *op = &ops[i];

		if (op->id < SIP_HDR_OTHER || op->id >= SIP_HDR_COUNT ||
		    op->id == SIP_HDR_CONTENT_LENGTH)
			return EINVAL;
		if (op->id == SIP_HDR_OTHER && !op->name)
			return EINVAL;
		if (op->kind == SIP_WOP_REPLACE) {
			if ((op->val.l && !op->val.p) ||
			    !val_ok(op->val.p, op->val.l))
				return EINVAL;
		} else if (op->kind != SIP_WOP_REMOVE) {
			return EINVAL;
		}
	}
	return 0;
}

static size_t
find_op(const struct sip_wop *ops, size_t nops, const struct sip_hdr *h)
{
	size_t i;

	for (i = 0; i < nops; i++) {
		if (ops[i].id != h->id)
			continue;
		if (h->id != SIP_HDR_OTHER ||
		    pl_caseeq_str(&h->name, ops[i].name))
			return i;
	}
	return SIZE_MAX;
}

/* Keep the first Content-Length line in place; remember its value. */
static void
keep_clen(struct sip_wbuf *wb, const struct sip_hdr *h)
{
	size_t voff, i;
	uint64_t v = 0;

	if (!pl_within(&h->val, &h->line))
		return; /* no usable value: sip_wb_end() writes a fresh line */
	voff = wb->len + (size_t)(h->val.p - h->line.p);
	sip_wb_put_line(wb, h);
	if (wb->err)
		return;
	for (i = 0; i < h->val.l && v <= UINT32_MAX; i++) {
		char c = h->val.p[i];

		v = (c >= '0' && c <= '9') ? v * 10 + (uint64_t)(c - '0')
					   : (uint64_t)UINT32_MAX + 1;
	}
	wb->clen_off = voff;
	wb->clen_vlen = h->val.l;
	/* a value we cannot read (or 0 digits) never equals a body length
	   below, so sip_wb_end() rewrites it */
	wb->clen_val =
		(v > UINT32_MAX || h->val.l == 0) ? UINT32_MAX : (uint32_t)v;
}

int
sip_wb_copy_hdrs(struct sip_wbuf *wb, const struct sip_msg *msg,
		 const struct sip_wop *ops, size_t nops)
{
	size_t mark = wb->len, i, k;
	uint64_t applied = 0;
	bool clen_seen = wb->clen_off != SIZE_MAX;

	if (wb_enter(wb, WB_S_HDRS))
		return wb->err;
	if (!msg || check_ops(ops, nops))
		return wb_fail(wb, EINVAL);
	for (i = 0; i < msg->nhdrs && !wb->err; i++) {
		const struct sip_hdr *h = &msg->hdrs[i];

		if (h->id == SIP_HDR_CONTENT_LENGTH) {
			if (!clen_seen)
				keep_clen(wb, h);
			clen_seen = true;
			continue;
		}
		k = nops ? find_op(ops, nops, h) : SIZE_MAX;
		if (k == SIZE_MAX) {
			sip_wb_put_line(wb, h);
		} else if (ops[k].kind == SIP_WOP_REPLACE &&
			   !(applied & (UINT64_C(1) << k))) {
			applied |= UINT64_C(1) << k;
			put_pl(wb, &h->name);
			PUT_LIT(wb, ": ");
			put_pl(wb, &ops[k].val);
			PUT_LIT(wb, CRLF);
		}
	}
	if (wb->err && wb->clen_off >= mark && wb->clen_off != SIZE_MAX)
		wb->clen_off = SIZE_MAX; /* the kept line was rolled back */
	return wb_close(wb, mark);
}

int
sip_wb_hdr_copy(struct sip_wbuf *wb, const struct sip_msg *msg,
		enum sip_hdr_id id)
{
	size_t mark = wb->len;
	uint16_t i;

	if (wb_enter(wb, WB_S_HDRS))
		return wb->err;
	if (!msg || id <= SIP_HDR_OTHER || id >= SIP_HDR_COUNT ||
	    id == SIP_HDR_CONTENT_LENGTH)
		return wb_fail(wb, EINVAL);
	for (i = msg->first[id]; i != SIP_HDR_NONE && i < msg->nhdrs;
	     i = msg->hdrs[i].next)
		sip_wb_put_line(wb, &msg->hdrs[i]);
	return wb_close(wb, mark);
}

int
sip_wb_copy(struct sip_wbuf *wb, const struct sip_msg *msg,
	    const struct pl *ruri, const struct sip_wop *ops, size_t nops,
	    const struct pl *body, size_t *len)
{
	if (sip_wb_copy_start(wb, msg, ruri))
		return wb->err;
	if (sip_wb_copy_hdrs(wb, msg, ops, nops))
		return wb->err;
	return sip_wb_end(wb, body ? body : &msg->body, len);
}

/* ---- value text -------------------------------------------------- */

/* A scratch builder over a value buffer, for the printers below. */
static void
val_begin(struct sip_wbuf *w, char *buf, size_t size)
{
	sip_wb_init(w, buf, size);
	w->state = WB_S_HDRS;
}

static int
val_end(struct sip_wbuf *w, size_t *len)
{
	if (!w->err && len)
		*len = w->len;
	return w->err;
}

static bool
host_ok(const struct pl *h)
{
	size_t i;

	if (!h || !h->p || h->l == 0)
		return false;
	for (i = 0; i < h->l; i++) {
		unsigned char c = (unsigned char)h->p[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		      (c >= '0' && c <= '9') || c == '-' || c == '.' ||
		      c == ':' || c == '[' || c == ']' || c == '_'))
			return false;
	}
	return true;
}

int
sip_via_print(char *buf, size_t size, size_t *len, const struct pl *transport,
	      const struct pl *host, uint16_t port, const struct pl *branch,
	      bool rport)
{
	struct sip_wbuf w;
	bool v6;

	if (!pl_is_token(transport) || !host_ok(host) || !pl_is_token(branch) ||
	    branch->l <= sizeof(BRANCH_COOKIE) - 1 ||
	    memcmp(branch->p, BRANCH_COOKIE, sizeof(BRANCH_COOKIE) - 1) != 0)
		return EINVAL;
	v6 = host->p[0] != '[' && memchr(host->p, ':', host->l) != NULL;
	val_begin(&w, buf, size);
	PUT_LIT(&w, SIP_VERSION "/");
	put_pl(&w, transport);
	PUT_LIT(&w, " ");
	if (v6)
		PUT_LIT(&w, "[");
	put_pl(&w, host);
	if (v6)
		PUT_LIT(&w, "]");
	if (port) {
		PUT_LIT(&w, ":");
		put_u64(&w, port);
	}
	PUT_LIT(&w, ";branch=");
	put_pl(&w, branch);
	if (rport)
		PUT_LIT(&w, ";rport");
	return val_end(&w, len);
}

int
sip_naddr_print(char *buf, size_t size, size_t *len, const struct pl *dname,
		const struct pl *uri, const struct pl *tag)
{
	struct sip_wbuf w;
	size_t i;

	if (!uri_ok(uri, true) || (tag && tag->p && !pl_is_token(tag)))
		return EINVAL;
	val_begin(&w, buf, size);
	if (dname && dname->p && dname->l) {
		PUT_LIT(&w, "\"");
		for (i = 0; i < dname->l; i++) {
			char c = dname->p[i];

			if (c == '\r' || c == '\n' || c == '\0')
				return EINVAL;
			if (c == '"' || c == '\\')
				PUT_LIT(&w, "\\");
			put(&w, &c, 1);
		}
		PUT_LIT(&w, "\" ");
	}
	PUT_LIT(&w, "<");
	put_pl(&w, uri);
	PUT_LIT(&w, ">");
	if (tag && tag->p) {
		PUT_LIT(&w, ";tag=");
		put_pl(&w, tag);
	}
	return val_end(&w, len);
}

int
sip_cseq_print(char *buf, size_t size, size_t *len, uint32_t num,
	       const struct pl *method)
{
	struct sip_wbuf w;

	if (num > 0x7fffffffu || !pl_is_token(method))
		return EINVAL;
	val_begin(&w, buf, size);
	put_u64(&w, num);
	PUT_LIT(&w, " ");
	put_pl(&w, method);
	return val_end(&w, len);
}
