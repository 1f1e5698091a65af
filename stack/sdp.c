/* SDP parser: RFC 8866 §5 (line grammar, session and media sections,
   c= o= m= fields and address text). Attribute values and getters live in
   sdp_attr.c, rewrites and the writer in sdp_edit.c. */
#include "sdp_int.h"

#include <errno.h>
#include <string.h>

static const char *const c_why[SDP_CONN_E_COUNT] = {
	[SDP_CONN_E_NETTYPE] = "c= line: unknown network type",
	[SDP_CONN_E_AF] = "c= line: unknown address type",
	[SDP_CONN_E_IP4] = "c= line: bad IPv4 address",
	[SDP_CONN_E_IP6] = "c= line: bad IPv6 address",
	[SDP_CONN_E_SUFFIX] = "c= line: bad multicast suffix",
};

static bool
is_digit(char c)
{
	return c >= '0' && c <= '9';
}

static bool
is_alpha(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static bool
is_hex(char c)
{
	return is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

static bool
is_wsp(char c)
{
	return c == ' ' || c == '\t';
}

bool
sdp_tok(struct pl *rest, struct pl *tok)
{
	size_t i = 0, n;

	while (i < rest->l && is_wsp(rest->p[i]))
		i++;
	if (i == rest->l) {
		/* rest may be absent (p NULL): leave p alone then */
		if (i)
			rest->p += i;
		rest->l = 0;
		return false;
	}
	n = i;
	while (n < rest->l && !is_wsp(rest->p[n]))
		n++;
	pl_set(tok, rest->p + i, n - i);
	rest->p += n;
	rest->l -= n;
	return true;
}

/* rest without leading and trailing SP/HTAB. */
struct pl
sdp_trim_wsp(const struct pl *rest)
{
	struct pl r = *rest;

	while (r.l && is_wsp(r.p[0])) {
		r.p++;
		r.l--;
	}
	while (r.l && is_wsp(r.p[r.l - 1]))
		r.l--;
	return r;
}

/* Split pl at the first c: *head before it, *tail after it (absent when c
   does not occur). */
void
sdp_split_at(const struct pl *pl, char c, struct pl *head, struct pl *tail)
{
	const char *q = pl->l ? memchr(pl->p, c, pl->l) : NULL;

	if (!q) {
		*head = *pl;
		pl_set(tail, NULL, 0);
		return;
	}
	pl_set(head, pl->p, (size_t)(q - pl->p));
	pl_set(tail, q + 1, pl->l - (size_t)(q - pl->p) - 1);
}

bool
sdp_is_ip4(const struct pl *pl)
{
	unsigned parts = 0, digits = 0, v = 0;
	size_t i;

	for (i = 0; i < pl->l; i++) {
		char c = pl->p[i];

		if (is_digit(c)) {
			if (++digits > 3)
				return false;
			v = v * 10 + (unsigned)(c - '0');
			if (v > 255)
				return false;
		} else if (c == '.' && digits) {
			if (++parts > 3)
				return false;
			digits = 0;
			v = 0;
		} else {
			return false;
		}
	}
	return parts == 3 && digits > 0;
}

bool
sdp_is_ip6(const struct pl *pl)
{
	unsigned groups = 0, hex = 0;
	bool dcolon = false;
	size_t i = 0, start = 0;

	if (pl->l < 2 || pl->l > 45)
		return false;
	if (pl->p[0] == ':') {
		if (pl->p[1] != ':')
			return false;
		dcolon = true;
		i = start = 2;
		if (pl->l == 2)
			return true;
	}
	for (; i < pl->l; i++) {
		char c = pl->p[i];

		if (is_hex(c)) {
			if (++hex > 4)
				return false;
		} else if (c == ':') {
			if (!hex) {
				/* "::" in the middle (or at the end) */
				if (dcolon || i == 0 || pl->p[i - 1] != ':')
					return false;
				dcolon = true;
			} else {
				groups++;
			}
			hex = 0;
			start = i + 1;
			if (i + 1 == pl->l && pl->p[i - 1] != ':')
				return false; /* trailing single ':' */
		} else if (c == '.') {
			/* embedded IPv4 (RFC 4291 §2.2 form 3) in the last
			   two groups */
			struct pl v4 = {pl->p + start, pl->l - start};

			if (!sdp_is_ip4(&v4))
				return false;
			groups += 2;
			hex = 0;
			break;
		} else {
			return false;
		}
	}
	if (hex)
		groups++;
	return dcolon ? groups <= 7 : groups == 8;
}

/* A domain name as a relay may meet it in c= (RFC 8866 §5.7 allows
   FQDNs): labels of letters, digits and '-', with at least one letter
   somewhere so that "1.2.3.999" stays a bad IPv4 address. */
static bool
is_fqdn(const struct pl *pl)
{
	bool alpha = false;
	size_t i;

	if (pl->l == 0 || pl->l > 253 || pl->p[0] == '.' || pl->p[0] == '-')
		return false;
	for (i = 0; i < pl->l; i++) {
		char c = pl->p[i];

		if (is_alpha(c))
			alpha = true;
		else if (!is_digit(c) && c != '-' && c != '.')
			return false;
		if (c == '.' && pl->p[i - 1] == '.')
			return false;
	}
	return alpha;
}

/* "IN IP4 addr[/suffix]" from three tokens into *c. */
enum sdp_conn_err
sdp_conn_fill(struct sdp_conn *c, const struct pl *net, const struct pl *at,
	      const struct pl *addr, bool allow_suffix)
{
	struct pl a, sfx;
	size_t i;

	memset(c, 0, sizeof(*c));
	if (!pl_eq_str(net, "IN"))
		return SDP_CONN_E_NETTYPE;
	if (pl_caseeq_str(at, "IP4"))
		c->af = SDP_AF_IP4;
	else if (pl_caseeq_str(at, "IP6"))
		c->af = SDP_AF_IP6;
	else
		return SDP_CONN_E_AF;
	c->addrtype = *at;
	sdp_split_at(addr, '/', &a, &sfx);
	if (pl_isset(&sfx)) {
		if (!allow_suffix || sfx.l == 0 || sfx.p[sfx.l - 1] == '/')
			return SDP_CONN_E_SUFFIX;
		for (i = 0; i < sfx.l; i++) {
			/* digits, single '/' between them */
			if (!is_digit(sfx.p[i]) &&
			    (sfx.p[i] != '/' || i == 0 || sfx.p[i - 1] == '/'))
				return SDP_CONN_E_SUFFIX;
		}
		/* the suffix slice includes its leading '/' */
		pl_set(&c->suffix, sfx.p - 1, sfx.l + 1);
	} else {
		pl_set(&c->suffix, addr->p + addr->l, 0);
	}
	c->addr = a;
	if (c->af == SDP_AF_IP4) {
		if (sdp_is_ip4(&a))
			c->unspec = pl_eq_str(&a, "0.0.0.0");
		else if (is_fqdn(&a))
			c->fqdn = true;
		else
			return SDP_CONN_E_IP4;
	} else {
		if (sdp_is_ip6(&a))
			c->unspec = pl_eq_str(&a, "::");
		else if (is_fqdn(&a))
			c->fqdn = true;
		else
			return SDP_CONN_E_IP6;
	}
	return SDP_CONN_OK;
}

int
sdp_conn_decode(struct sdp_conn *c, const struct pl *val, const char **why)
{
	struct pl rest = *val, net, at, addr, extra;
	enum sdp_conn_err e;

	if (!sdp_tok(&rest, &net) || !sdp_tok(&rest, &at) ||
	    !sdp_tok(&rest, &addr)) {
		*why = "c= line: missing field";
		return EBADMSG;
	}
	if (sdp_tok(&rest, &extra)) {
		*why = "c= line: too many fields";
		return EBADMSG;
	}
	e = sdp_conn_fill(c, &net, &at, &addr, true);
	if (e != SDP_CONN_OK) {
		*why = c_why[e];
		return EBADMSG;
	}
	return 0;
}

static int
u64_decode(const struct pl *pl, uint64_t *v)
{
	uint64_t acc = 0;
	size_t i;

	if (pl->l == 0 || pl->l > 20)
		return EINVAL;
	for (i = 0; i < pl->l; i++) {
		unsigned d = (unsigned)(unsigned char)pl->p[i] - '0';

		if (d > 9 || acc > (UINT64_MAX - d) / 10)
			return EINVAL;
		acc = acc * 10 + d;
	}
	*v = acc;
	return 0;
}

int
sdp_origin_decode(struct sdp_origin *o, const struct pl *val, const char **why)
{
	struct pl rest = *val, net, at, addr, extra;

	memset(o, 0, sizeof(*o));
	if (!sdp_tok(&rest, &o->user) || !sdp_tok(&rest, &o->sess_id) ||
	    !sdp_tok(&rest, &o->version_raw) || !sdp_tok(&rest, &net) ||
	    !sdp_tok(&rest, &at) || !sdp_tok(&rest, &addr)) {
		*why = "o= line: missing field";
		return EBADMSG;
	}
	if (sdp_tok(&rest, &extra)) {
		*why = "o= line: too many fields";
		return EBADMSG;
	}
	if (u64_decode(&o->version_raw, &o->version)) {
		*why = "o= line: bad version";
		return EBADMSG;
	}
	/* The relay only rewrites the o= address; an exotic one is kept
	   (af NONE) rather than refused. */
	if (sdp_conn_fill(&o->addr, &net, &at, &addr, false) != SDP_CONN_OK)
		o->addr.af = SDP_AF_NONE;
	o->addr.addrtype = at;
	o->addr.addr = addr;
	return 0;
}

static bool
proto_is_rtp(const struct pl *proto)
{
	size_t i;

	for (i = 0; i + 4 <= proto->l; i++) {
		if (memcmp(proto->p + i, "RTP/", 4) == 0)
			return true;
	}
	return false;
}

int
sdp_mline_decode(struct sdp_media *md, const struct pl *val, const char **why)
{
	struct pl rest = *val, portpl, port, cnt, fmt;
	uint32_t v;

	md->nfmt = 0;
	md->nports = 0;
	if (!sdp_tok(&rest, &md->type) || !sdp_tok(&rest, &portpl)) {
		*why = "m= line: missing field";
		return EBADMSG;
	}
	sdp_split_at(&portpl, '/', &port, &cnt);
	if (pl_u32(&port, 65535, &v)) {
		*why = "m= line: bad port";
		return EBADMSG;
	}
	md->port = (uint16_t)v;
	if (pl_isset(&cnt)) {
		if (pl_u32(&cnt, 65535, &v) || v == 0) {
			*why = "m= line: bad port count";
			return EBADMSG;
		}
		md->nports = (uint16_t)v;
	}
	if (!sdp_tok(&rest, &md->proto)) {
		*why = "m= line: missing proto";
		return EBADMSG;
	}
	md->rtp = proto_is_rtp(&md->proto);
	while (sdp_tok(&rest, &fmt)) {
		if (md->nfmt == SDP_MAX_FMT) {
			*why = "m= line: too many formats";
			return EBADMSG;
		}
		if (md->rtp) {
			if (pl_u32(&fmt, 127, &v)) {
				*why = "m= line: bad payload type";
				return EBADMSG;
			}
			md->pt[md->nfmt] = (uint8_t)v;
		}
		md->fmt[md->nfmt++] = fmt;
	}
	if (md->nfmt == 0) {
		*why = "m= line: no formats";
		return EBADMSG;
	}
	return 0;
}

int
sdp_line_split(struct sdp_line *ln, const char **why)
{
	struct pl body = {ln->text.p + 2, ln->text.l - 2};

	ln->id = SDP_A_OTHER;
	pl_set(&ln->name, NULL, 0);
	ln->val = body;
	if (ln->type != 'a')
		return 0;
	sdp_split_at(&body, ':', &ln->name, &ln->val);
	if (!pl_isset(&ln->val)) {
		/* property attribute: tolerate trailing blanks */
		while (ln->name.l && is_wsp(ln->name.p[ln->name.l - 1]))
			ln->name.l--;
	}
	if (ln->name.l == 0) {
		*why = "a= line: empty attribute name";
		return EBADMSG;
	}
	ln->id = (uint8_t)sdp_attr_id_of(&ln->name);
	return sdp_attr_check(ln, why);
}

uint16_t
sdp_sect_first(const struct sdp *sdp, int m)
{
	return m == SDP_SESSION ? 0 : sdp->media[m].mline;
}

/* --- Decoding ---------------------------------------------------------- */

struct dec {
	struct sdp *sdp;
	unsigned sect; /* current section */
	bool have_v, have_o, have_s;
};

/* Section bookkeeping and the fields of v= o= s= m= c= a=. */
static int
line_apply(struct dec *d, uint16_t idx, const char **why)
{
	struct sdp *sdp = d->sdp;
	struct sdp_line *ln = &sdp->line[idx];
	struct sdp_media *md = d->sect ? &sdp->media[d->sect - 1] : NULL;
	int err;

	switch (ln->type) {
	case 'v':
		if (d->have_v) {
			*why = "v= line: duplicate";
			return EBADMSG;
		}
		if (!pl_eq_str(&ln->val, "0")) {
			*why = "v= line: version not 0";
			return EBADMSG;
		}
		d->have_v = true;
		break;
	case 'o':
		if (d->have_o || md) {
			*why = md ? "o= line: not at session level"
				  : "o= line: duplicate";
			return EBADMSG;
		}
		err = sdp_origin_decode(&sdp->origin, &ln->val, why);
		if (err)
			return err;
		sdp->oline = idx;
		d->have_o = true;
		break;
	case 's':
		if (!md && !d->have_s) {
			sdp->name = ln->val;
			d->have_s = true;
		}
		break;
	case 'm':
		if (sdp->nmedia == SDP_MAX_MEDIA) {
			*why = "too many m= lines";
			return EBADMSG;
		}
		md = &sdp->media[sdp->nmedia];
		memset(md, 0, sizeof(*md));
		err = sdp_mline_decode(md, &ln->val, why);
		if (err)
			return err;
		md->mline = idx;
		md->cline = SDP_NONE;
		d->sect = ++sdp->nmedia;
		break;
	case 'c':
		if (md ? md->cline != SDP_NONE : sdp->cline != SDP_NONE) {
			*why = "c= line: duplicate";
			return EBADMSG;
		}
		err = sdp_conn_decode(md ? &md->conn : &sdp->conn, &ln->val,
				      why);
		if (err)
			return err;
		*(md ? &md->cline : &sdp->cline) = idx;
		break;
	case 'a':
		if ((md ? md->nattr : sdp->nattr) == SDP_MAX_ATTR) {
			*why = "too many attributes";
			return EBADMSG;
		}
		md ? md->nattr++ : sdp->nattr++;
		break;
	default:
		break;
	}
	ln->sect = (uint8_t)d->sect;
	*(d->sect ? &sdp->media[d->sect - 1].last : &sdp->slast) = idx;
	return 0;
}

/* Next line of buf from *pos: its text without the end, and the end's
   length. */
static void
line_cut(const char *buf, size_t len, size_t *pos, struct pl *text,
	 uint8_t *eol)
{
	const char *p = buf + *pos;
	size_t rem = len - *pos;
	const char *nl = memchr(p, '\n', rem);
	size_t n = nl ? (size_t)(nl - p) : rem;

	*eol = nl ? 1 : 0;
	if (nl && n && p[n - 1] == '\r') {
		n--;
		*eol = 2;
	}
	pl_set(text, p, n);
	*pos += n + *eol;
}

/* True if buf[pos..len) holds only line ends (blank lines at the end). */
static bool
only_eols(const char *buf, size_t pos, size_t len)
{
	for (; pos < len; pos++) {
		if (buf[pos] != '\r' && buf[pos] != '\n')
			return false;
	}
	return true;
}

static void
sdp_reset(struct sdp *sdp, const char *buf, size_t len)
{
	sdp->buf = buf;
	sdp->len = len;
	memset(&sdp->origin, 0, sizeof(sdp->origin));
	sdp->oline = SDP_NONE;
	pl_set(&sdp->name, NULL, 0);
	memset(&sdp->conn, 0, sizeof(sdp->conn));
	sdp->cline = SDP_NONE;
	sdp->slast = 0;
	sdp->nattr = 0;
	sdp->nmedia = 0;
	sdp->nline = 0;
	sdp->nlive = 0;
	pl_set(&sdp->tail, buf + len, 0);
	sdp->eol = 2;
	sdp->arena_used = 0;
}

/* Whole-description rules checked after the last line. */
static int
sdp_check(const struct sdp *sdp, const struct dec *d, struct sdp_perr *err)
{
	unsigned i;

	if (!d->have_o || !d->have_s) {
		err->what = d->have_o ? "s= line missing" : "o= line missing";
		err->line = 0;
		return EBADMSG;
	}
	if (sdp->cline != SDP_NONE)
		return 0;
	for (i = 0; i < sdp->nmedia; i++) {
		const struct sdp_media *md = &sdp->media[i];

		/* a rejected stream (port 0) needs no address */
		if (md->cline == SDP_NONE && md->port != 0) {
			err->what = "c= line missing";
			err->line = md->mline + 1u;
			return EBADMSG;
		}
	}
	return 0;
}

int
sdp_decode(struct sdp *sdp, const char *buf, size_t len, struct sdp_perr *errp)
{
	struct sdp_perr dummy;
	struct sdp_perr *err = errp ? errp : &dummy;
	struct dec d = {sdp, 0, false, false, false};
	size_t pos = 0;
	const char *why = NULL;

	sdp_reset(sdp, len ? buf : "", len);
	buf = sdp->buf;
	err->what = NULL;
	err->line = 0;
	while (pos < len) {
		struct sdp_line *ln;
		struct pl text;
		uint8_t eol;

		if (sdp->nline && only_eols(buf, pos, len)) {
			pl_set(&sdp->tail, buf + pos, len - pos);
			break;
		}
		if (sdp->nline == SDP_MAX_LINES) {
			why = "too many lines";
			goto bad;
		}
		line_cut(buf, len, &pos, &text, &eol);
		ln = &sdp->line[sdp->nline];
		memset(ln, 0, sizeof(*ln));
		ln->text = text;
		ln->eol = eol;
		ln->next = SDP_NONE;
		if (sdp->nline)
			sdp->line[sdp->nline - 1].next = (uint16_t)sdp->nline;
		sdp->nline++;
		if (text.l == 0) {
			why = "empty line";
			goto bad;
		}
		if (memchr(text.p, '\r', text.l) ||
		    memchr(text.p, '\0', text.l)) {
			why = "bad character in line";
			goto bad;
		}
		if (text.l < 2 || text.p[1] != '=') {
			why = "line without '='";
			goto bad;
		}
		ln->type = text.p[0];
		if (!is_alpha(ln->type)) {
			why = "bad line type";
			goto bad;
		}
		if (sdp->nline == 1 && ln->type != 'v') {
			why = "missing v=";
			goto bad;
		}
		if (sdp_line_split(ln, &why) ||
		    line_apply(&d, (uint16_t)(sdp->nline - 1), &why))
			goto bad;
	}
	if (sdp->nline == 0) {
		err->what = "missing v=";
		return EBADMSG;
	}
	sdp->nlive = sdp->nline;
	sdp->eol = sdp->line[0].eol ? sdp->line[0].eol : 2;
	return sdp_check(sdp, &d, err);
bad:
	err->what = why;
	err->line = sdp->nline;
	return EBADMSG;
}
