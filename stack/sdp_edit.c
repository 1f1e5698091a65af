/* SDP rewrites and writer: what an anchoring relay changes in an offer or
   answer (RFC 3264 §5, §6, §8), serialised by walking the original lines
   and substituting only the changed ones. */
#include "sdp_int.h"

#include <errno.h>
#include <string.h>

/* --- Text builder over the free part of the arena ----------------------
 * Rewritten text is built at sdp->arena + arena_used and only committed
 * (arena_used advanced) once the new line parsed; a failed rewrite leaves
 * nothing behind. */

struct sb {
	char *p;
	size_t n, cap;
	bool full;
};

static void
sb_init(struct sb *sb, struct sdp *sdp)
{
	sb->p = sdp->arena + sdp->arena_used;
	sb->n = 0;
	sb->cap = SDP_ARENA - sdp->arena_used;
	sb->full = false;
}

static void
sb_put(struct sb *sb, const char *s, size_t l)
{
	if (sb->full || l > sb->cap - sb->n) {
		sb->full = true;
		return;
	}
	if (l)
		memcpy(sb->p + sb->n, s, l);
	sb->n += l;
}

static void
sb_str(struct sb *sb, const char *s)
{
	sb_put(sb, s, strlen(s));
}

static void
sb_pl(struct sb *sb, const struct pl *pl)
{
	sb_put(sb, pl->p, pl->l);
}

static void
sb_u64(struct sb *sb, uint64_t v)
{
	char d[20];
	size_t i = sizeof(d);

	do {
		d[--i] = (char)('0' + v % 10);
		v /= 10;
	} while (v && i);
	sb_put(sb, d + i, sizeof(d) - i);
}

/* Bytes from a to b, both pointing into the same line text. */
static void
sb_span(struct sb *sb, const char *a, const char *b)
{
	if (b > a)
		sb_put(sb, a, (size_t)(b - a));
}

static void
sb_commit(struct sdp *sdp, const struct sb *sb)
{
	sdp->arena_used += sb->n;
}

/* --- Line table -------------------------------------------------------- */

/* Replace the text of line idx with the built text (type unchanged), and
   split it again. The caller has checked the value parses. */
static int
line_replace(struct sdp *sdp, uint16_t idx, const struct sb *sb)
{
	struct sdp_line tmp = sdp->line[idx];
	const char *why;

	if (sb->full)
		return ENOBUFS;
	pl_set(&tmp.text, sb->p, sb->n);
	if (sdp_line_split(&tmp, &why))
		return EINVAL;
	sdp->line[idx] = tmp;
	sb_commit(sdp, sb);
	return 0;
}

static uint16_t *
sect_last(struct sdp *sdp, int m)
{
	return m == SDP_SESSION ? &sdp->slast : &sdp->media[m].last;
}

static unsigned *
sect_nattr(struct sdp *sdp, int m)
{
	return m == SDP_SESSION ? &sdp->nattr : &sdp->media[m].nattr;
}

/* Insert the built text as a new line of level m after line `after`. */
static int
line_insert(struct sdp *sdp, int m, uint16_t after, const struct sb *sb,
	    uint16_t *idxp)
{
	struct sdp_line *ln;
	const char *why;
	uint16_t idx;

	if (sb->full || sdp->nline == SDP_MAX_LINES + SDP_MAX_ADDED ||
	    sdp->nlive == SDP_MAX_LINES)
		return ENOBUFS;
	if (sb->n < 2 || sb->p[1] != '=')
		return EINVAL;
	idx = (uint16_t)sdp->nline;
	ln = &sdp->line[idx];
	memset(ln, 0, sizeof(*ln));
	pl_set(&ln->text, sb->p, sb->n);
	ln->type = sb->p[0];
	ln->eol = sdp->eol;
	ln->sect = sdp_sect_of(m);
	if (sdp_line_split(ln, &why))
		return EINVAL;
	if (ln->type == 'a' && *sect_nattr(sdp, m) >= SDP_MAX_ATTR)
		return ENOBUFS;
	ln->next = sdp->line[after].next;
	sdp->line[after].next = idx;
	if (*sect_last(sdp, m) == after)
		*sect_last(sdp, m) = idx;
	if (ln->type == 'a')
		(*sect_nattr(sdp, m))++;
	sdp->nline++;
	sdp->nlive++;
	sb_commit(sdp, sb);
	if (idxp)
		*idxp = idx;
	return 0;
}

static void
line_remove(struct sdp *sdp, int m, struct sdp_line *ln)
{
	if (ln->removed)
		return;
	ln->removed = true;
	sdp->nlive--;
	if (ln->type == 'a')
		(*sect_nattr(sdp, m))--;
}

static int
addr_check(enum sdp_af af, const char *addr)
{
	struct pl a;

	if (!addr)
		return EINVAL;
	pl_set(&a, addr, strlen(addr));
	if (af == SDP_AF_IP4)
		return sdp_is_ip4(&a) ? 0 : EINVAL;
	if (af == SDP_AF_IP6)
		return sdp_is_ip6(&a) ? 0 : EINVAL;
	return EINVAL;
}

static const char *
af_name(enum sdp_af af)
{
	return af == SDP_AF_IP6 ? "IP6" : "IP4";
}

/* --- Connection -------------------------------------------------------- */

/* Where a missing c= goes: after the last v= o= s= i= u= e= p= (session)
   or m= i= (media) line of the level (RFC 8866 §5 field order). */
static uint16_t
conn_place(const struct sdp *sdp, int m)
{
	uint8_t sect = sdp_sect_of(m);
	uint16_t i = sdp_sect_first(sdp, m), at = i;

	for (; i != SDP_NONE && sdp->line[i].sect == sect;
	     i = sdp->line[i].next) {
		if (strchr("vosiuepm", sdp->line[i].type) &&
		    sdp->line[i].type != '\0')
			at = i;
	}
	return at;
}

int
sdp_conn_set(struct sdp *sdp, int m, enum sdp_af af, const char *addr)
{
	struct sdp_conn *conn;
	uint16_t *cline, idx;
	const char *why;
	struct sb sb;
	int err;

	if (!sdp_level_ok(sdp, m) || addr_check(af, addr))
		return EINVAL;
	conn = m == SDP_SESSION ? &sdp->conn : &sdp->media[m].conn;
	cline = m == SDP_SESSION ? &sdp->cline : &sdp->media[m].cline;
	sb_init(&sb, sdp);
	sb_str(&sb, "c=IN ");
	sb_str(&sb, af_name(af));
	sb_str(&sb, " ");
	sb_str(&sb, addr);
	if (sb.full)
		return ENOBUFS;
	if (*cline != SDP_NONE) {
		err = line_replace(sdp, *cline, &sb);
		idx = *cline;
	} else {
		err = line_insert(sdp, m, conn_place(sdp, m), &sb, &idx);
	}
	if (err)
		return err;
	*cline = idx;
	return sdp_conn_decode(conn, &sdp->line[idx].val, &why) ? EINVAL : 0;
}

/* --- m= line ----------------------------------------------------------- */

/* Rebuild the m= line of md with port, proto and the formats
   fmt[order[i]]. */
static int
mline_write(struct sdp *sdp, unsigned m, uint16_t port, const struct pl *proto,
	    const uint8_t *order, unsigned n)
{
	struct sdp_media *md = &sdp->media[m], tmp;
	const char *why;
	struct sb sb;
	unsigned i;
	int err;

	sb_init(&sb, sdp);
	sb_str(&sb, "m=");
	sb_pl(&sb, &md->type);
	sb_str(&sb, " ");
	sb_u64(&sb, port);
	if (md->nports) {
		sb_str(&sb, "/");
		sb_u64(&sb, md->nports);
	}
	sb_str(&sb, " ");
	sb_pl(&sb, proto);
	for (i = 0; i < n; i++) {
		sb_str(&sb, " ");
		sb_pl(&sb, &md->fmt[order[i]]);
	}
	if (sb.full)
		return ENOBUFS;
	tmp = *md;
	{
		struct pl val = {sb.p + 2, sb.n - 2};

		if (sdp_mline_decode(&tmp, &val, &why) || tmp.rtp != md->rtp)
			return EINVAL;
	}
	err = line_replace(sdp, md->mline, &sb);
	if (err)
		return err;
	/* tmp's slices point into the committed text */
	*md = tmp;
	return 0;
}

static void
order_all(const struct sdp_media *md, uint8_t *order)
{
	unsigned i;

	for (i = 0; i < md->nfmt; i++)
		order[i] = (uint8_t)i;
}

int
sdp_media_port_set(struct sdp *sdp, unsigned m, uint16_t port)
{
	uint8_t order[SDP_MAX_FMT];

	/* a live stream needs an address (RFC 8866 §5.7): set it first */
	if (m >= sdp->nmedia || (port != 0 && !sdp_media_conn(sdp, m)))
		return EINVAL;
	order_all(&sdp->media[m], order);
	return mline_write(sdp, m, port, &sdp->media[m].proto, order,
			   sdp->media[m].nfmt);
}

int
sdp_media_proto_set(struct sdp *sdp, unsigned m, const char *proto)
{
	uint8_t order[SDP_MAX_FMT];
	struct pl p;

	if (m >= sdp->nmedia || !proto || !*proto || strpbrk(proto, " \t\r\n"))
		return EINVAL;
	pl_set(&p, proto, strlen(proto));
	order_all(&sdp->media[m], order);
	return mline_write(sdp, m, sdp->media[m].port, &p, order,
			   sdp->media[m].nfmt);
}

static bool
pt_in(const uint8_t *pts, unsigned n, uint8_t pt)
{
	unsigned i;

	for (i = 0; i < n; i++) {
		if (pts[i] == pt)
			return true;
	}
	return false;
}

int
sdp_media_formats_keep(struct sdp *sdp, unsigned m, const uint8_t *pts,
		       unsigned n)
{
	uint8_t order[SDP_MAX_FMT], kept[SDP_MAX_FMT];
	struct sdp_media *md;
	unsigned i, j, nk = 0;
	uint16_t idx;
	int err;

	if (m >= sdp->nmedia || !sdp->media[m].rtp || (n && !pts))
		return EINVAL;
	md = &sdp->media[m];
	for (i = 0; i < n; i++) {
		for (j = 0; j < md->nfmt; j++) {
			if (md->pt[j] == pts[i] && !pt_in(kept, nk, pts[i])) {
				order[nk] = (uint8_t)j;
				kept[nk++] = pts[i];
				break;
			}
		}
	}
	if (nk == 0)
		return ENOENT;
	err = mline_write(sdp, m, md->port, &md->proto, order, nk);
	if (err)
		return err;
	/* drop a=rtpmap, a=fmtp, a=rtcp-fb of the formats that went */
	for (idx = md->mline; idx != SDP_NONE && sdp->line[idx].sect == m + 1;
	     idx = sdp->line[idx].next) {
		struct sdp_line *ln = &sdp->line[idx];
		uint8_t pt;

		if (ln->removed ||
		    (ln->id != SDP_A_RTPMAP && ln->id != SDP_A_FMTP &&
		     ln->id != SDP_A_RTCP_FB))
			continue;
		if (sdp_val_pt(&ln->val, &pt) && !pt_in(kept, nk, pt))
			line_remove(sdp, (int)m, ln);
	}
	return 0;
}

/* --- Attributes -------------------------------------------------------- */

static bool
text_ok(const char *s)
{
	return !strpbrk(s, "\r\n");
}

int
sdp_attr_add(struct sdp *sdp, int m, const char *name, const char *value)
{
	struct sb sb;

	if (!sdp_level_ok(sdp, m) || !name || !*name || !text_ok(name) ||
	    strchr(name, ':') || (value && !text_ok(value)))
		return EINVAL;
	sb_init(&sb, sdp);
	sb_str(&sb, "a=");
	sb_str(&sb, name);
	if (value) {
		sb_str(&sb, ":");
		sb_str(&sb, value);
	}
	return line_insert(sdp, m, *sect_last(sdp, m), &sb, NULL);
}

/* Remove the attributes of level m for which match() holds. */
static unsigned
attr_remove_if(struct sdp *sdp, int m,
	       bool (*match)(const struct sdp_line *, const void *),
	       const void *arg)
{
	uint8_t sect = sdp_sect_of(m);
	unsigned n = 0;
	uint16_t i;

	if (!sdp_level_ok(sdp, m))
		return 0;
	for (i = sdp_sect_first(sdp, m);
	     i != SDP_NONE && sdp->line[i].sect == sect;
	     i = sdp->line[i].next) {
		struct sdp_line *ln = &sdp->line[i];

		if (ln->type == 'a' && !ln->removed && match(ln, arg)) {
			line_remove(sdp, m, ln);
			n++;
		}
	}
	return n;
}

static bool
match_id(const struct sdp_line *ln, const void *arg)
{
	return ln->id == *(const enum sdp_attr_id *)arg;
}

static bool
match_name(const struct sdp_line *ln, const void *arg)
{
	return pl_eq_str(&ln->name, arg);
}

static bool
match_ice(const struct sdp_line *ln, const void *arg)
{
	(void)arg;
	switch (ln->id) {
	case SDP_A_ICE_UFRAG:
	case SDP_A_ICE_PWD:
	case SDP_A_ICE_OPTIONS:
	case SDP_A_ICE_LITE:
	case SDP_A_ICE_MISMATCH:
	case SDP_A_CANDIDATE:
	case SDP_A_REMOTE_CANDIDATES:
	case SDP_A_END_OF_CANDIDATES:
		return true;
	default:
		return false;
	}
}

static bool
match_dir(const struct sdp_line *ln, const void *arg)
{
	(void)arg;
	return ln->id == SDP_A_SENDRECV || ln->id == SDP_A_SENDONLY ||
	       ln->id == SDP_A_RECVONLY || ln->id == SDP_A_INACTIVE;
}

unsigned
sdp_attr_remove(struct sdp *sdp, int m, enum sdp_attr_id id)
{
	return attr_remove_if(sdp, m, match_id, &id);
}

unsigned
sdp_attr_remove_name(struct sdp *sdp, int m, const char *name)
{
	return name ? attr_remove_if(sdp, m, match_name, name) : 0;
}

unsigned
sdp_ice_remove(struct sdp *sdp, int m)
{
	return attr_remove_if(sdp, m, match_ice, NULL);
}

int
sdp_dir_set(struct sdp *sdp, int m, enum sdp_dir dir)
{
	const struct sdp_line *first;
	struct sb sb;
	uint16_t idx;
	int err;

	if (!sdp_level_ok(sdp, m) || dir > SDP_DIR_INACTIVE)
		return EINVAL;
	if (dir == SDP_DIR_NONE) {
		attr_remove_if(sdp, m, match_dir, NULL);
		return 0;
	}
	first = NULL;
	while ((first = sdp_attr_next(sdp, m, SDP_A_COUNT, first))) {
		if (match_dir(first, NULL))
			break;
	}
	if (!first)
		return sdp_attr_add(sdp, m, sdp_dir_name(dir), NULL);
	idx = (uint16_t)(first - sdp->line);
	sb_init(&sb, sdp);
	sb_str(&sb, "a=");
	sb_str(&sb, sdp_dir_name(dir));
	err = line_replace(sdp, idx, &sb);
	if (err)
		return err;
	/* any further direction lines of the level go */
	for (idx = sdp->line[idx].next;
	     idx != SDP_NONE && sdp->line[idx].sect == sdp_sect_of(m);
	     idx = sdp->line[idx].next) {
		struct sdp_line *ln = &sdp->line[idx];

		if (ln->type == 'a' && !ln->removed && match_dir(ln, NULL))
			line_remove(sdp, m, ln);
	}
	return 0;
}

int
sdp_rtcp_set(struct sdp *sdp, unsigned m, uint16_t port, enum sdp_af af,
	     const char *addr)
{
	const struct sdp_line *ln;
	struct sb sb;

	if (m >= sdp->nmedia || (af != SDP_AF_NONE && addr_check(af, addr)))
		return EINVAL;
	sb_init(&sb, sdp);
	sb_str(&sb, "a=rtcp:");
	sb_u64(&sb, port);
	if (af != SDP_AF_NONE) {
		sb_str(&sb, " IN ");
		sb_str(&sb, af_name(af));
		sb_str(&sb, " ");
		sb_str(&sb, addr);
	}
	ln = sdp_attr_next(sdp, (int)m, SDP_A_RTCP, NULL);
	if (ln)
		return line_replace(sdp, (uint16_t)(ln - sdp->line), &sb);
	return line_insert(sdp, (int)m, sdp->media[m].last, &sb, NULL);
}

/* --- o= line ----------------------------------------------------------- */

/* Rebuild o= from its text with the version and/or address replaced. */
static int
origin_write(struct sdp *sdp, const uint64_t *version, enum sdp_af af,
	     const char *addr)
{
	struct sdp_line *ln = &sdp->line[sdp->oline];
	const struct sdp_origin *o = &sdp->origin;
	const char *end = ln->text.p + ln->text.l;
	struct sdp_origin tmp;
	const char *why;
	struct sb sb;
	int err;

	sb_init(&sb, sdp);
	sb_span(&sb, ln->text.p, o->version_raw.p);
	if (version)
		sb_u64(&sb, *version);
	else
		sb_pl(&sb, &o->version_raw);
	if (addr) {
		sb_span(&sb, o->version_raw.p + o->version_raw.l,
			o->addr.addrtype.p);
		sb_str(&sb, af_name(af));
		sb_str(&sb, " ");
		sb_str(&sb, addr);
		sb_span(&sb, o->addr.addr.p + o->addr.addr.l, end);
	} else {
		sb_span(&sb, o->version_raw.p + o->version_raw.l, end);
	}
	if (sb.full)
		return ENOBUFS;
	{
		struct pl val = {sb.p + 2, sb.n - 2};

		if (sdp_origin_decode(&tmp, &val, &why))
			return EINVAL;
	}
	err = line_replace(sdp, sdp->oline, &sb);
	if (err)
		return err;
	sdp->origin = tmp;
	return 0;
}

int
sdp_version_set(struct sdp *sdp, uint64_t version)
{
	if (sdp->oline == SDP_NONE)
		return EINVAL;
	return origin_write(sdp, &version, SDP_AF_NONE, NULL);
}

int
sdp_version_bump(struct sdp *sdp)
{
	if (sdp->origin.version == UINT64_MAX)
		return EOVERFLOW;
	return sdp_version_set(sdp, sdp->origin.version + 1);
}

int
sdp_origin_set(struct sdp *sdp, const char *user, uint64_t sess_id,
	       uint64_t version)
{
	struct sdp_line *ln;
	const struct sdp_origin *o = &sdp->origin;
	struct sdp_origin tmp;
	const char *why;
	struct sb sb;
	int err;

	if (sdp->oline == SDP_NONE || !user || !*user ||
	    strpbrk(user, " \t\r\n"))
		return EINVAL;
	ln = &sdp->line[sdp->oline];
	sb_init(&sb, sdp);
	sb_str(&sb, "o=");
	sb_str(&sb, user);
	sb_str(&sb, " ");
	sb_u64(&sb, sess_id);
	sb_str(&sb, " ");
	sb_u64(&sb, version);
	sb_span(&sb, o->version_raw.p + o->version_raw.l,
		ln->text.p + ln->text.l);
	if (sb.full)
		return ENOBUFS;
	{
		struct pl val = {sb.p + 2, sb.n - 2};

		if (sdp_origin_decode(&tmp, &val, &why))
			return EINVAL;
	}
	err = line_replace(sdp, sdp->oline, &sb);
	if (err)
		return err;
	sdp->origin = tmp;
	return 0;
}

int
sdp_origin_addr_set(struct sdp *sdp, enum sdp_af af, const char *addr)
{
	if (sdp->oline == SDP_NONE || addr_check(af, addr))
		return EINVAL;
	return origin_write(sdp, NULL, af, addr);
}

/* --- Writer ------------------------------------------------------------ */

struct out {
	char *p;
	size_t n, cap;
};

static void
out_put(struct out *o, const char *s, size_t l)
{
	if (l && o->n <= o->cap && l <= o->cap - o->n)
		memcpy(o->p + o->n, s, l);
	o->n += l;
}

static const char *const eols[3] = {"", "\n", "\r\n"};

int
sdp_encode(const struct sdp *sdp, char *buf, size_t sz, size_t *lenp)
{
	struct out o = {buf, 0, buf ? sz : 0};
	bool open = false; /* last written line lacked its end */
	unsigned guard = 0;
	uint16_t i;

	for (i = sdp->nline ? 0 : SDP_NONE;
	     i != SDP_NONE && guard++ < SDP_MAX_LINES + SDP_MAX_ADDED;
	     i = sdp->line[i].next) {
		const struct sdp_line *ln = &sdp->line[i];

		if (ln->removed)
			continue;
		if (open)
			out_put(&o, eols[sdp->eol], sdp->eol);
		out_put(&o, ln->text.p, ln->text.l);
		out_put(&o, eols[ln->eol], ln->eol);
		open = ln->eol == 0;
	}
	out_put(&o, sdp->tail.p, sdp->tail.l);
	if (lenp)
		*lenp = o.n;
	return o.n > o.cap ? ENOSPC : 0;
}
