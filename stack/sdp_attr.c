/* SDP attribute values (RFC 8866 §6.6 rtpmap, §6.15 fmtp, RFC 3605 rtcp,
   RFC 4568 §9.1 crypto, RFC 3551 static payload types) and the getters of
   the parsed view. */
#include "sdp_int.h"

#include <errno.h>
#include <string.h>

/* Attribute names we recognise (enum sdp_attr_id order). */
static const char *const attr_names[SDP_A_COUNT] = {
	[SDP_A_OTHER] = "",
	[SDP_A_RTPMAP] = "rtpmap",
	[SDP_A_FMTP] = "fmtp",
	[SDP_A_RTCP] = "rtcp",
	[SDP_A_RTCP_MUX] = "rtcp-mux",
	[SDP_A_RTCP_FB] = "rtcp-fb",
	[SDP_A_CRYPTO] = "crypto",
	[SDP_A_SENDRECV] = "sendrecv",
	[SDP_A_SENDONLY] = "sendonly",
	[SDP_A_RECVONLY] = "recvonly",
	[SDP_A_INACTIVE] = "inactive",
	[SDP_A_PTIME] = "ptime",
	[SDP_A_MAXPTIME] = "maxptime",
	[SDP_A_ICE_UFRAG] = "ice-ufrag",
	[SDP_A_ICE_PWD] = "ice-pwd",
	[SDP_A_ICE_OPTIONS] = "ice-options",
	[SDP_A_ICE_LITE] = "ice-lite",
	[SDP_A_ICE_MISMATCH] = "ice-mismatch",
	[SDP_A_CANDIDATE] = "candidate",
	[SDP_A_REMOTE_CANDIDATES] = "remote-candidates",
	[SDP_A_END_OF_CANDIDATES] = "end-of-candidates",
	[SDP_A_MID] = "mid",
	[SDP_A_SSRC] = "ssrc",
	[SDP_A_FINGERPRINT] = "fingerprint",
	[SDP_A_SETUP] = "setup",
};

/* RFC 3551 §6 static audio/video payload types a carrier may offer without
   a=rtpmap. */
static const struct {
	uint8_t pt;
	const char *enc;
	uint32_t rate;
} static_pts[] = {
	{0, "PCMU", 8000},   {3, "GSM", 8000},	  {4, "G723", 8000},
	{8, "PCMA", 8000},   {9, "G722", 8000},	  {13, "CN", 8000},
	{15, "G728", 8000},  {18, "G729", 8000},  {26, "JPEG", 90000},
	{31, "H261", 90000}, {34, "H263", 90000},
};

static const char *const rtcp_why[SDP_CONN_E_COUNT] = {
	[SDP_CONN_E_NETTYPE] = "a=rtcp: unknown network type",
	[SDP_CONN_E_AF] = "a=rtcp: unknown address type",
	[SDP_CONN_E_IP4] = "a=rtcp: bad IPv4 address",
	[SDP_CONN_E_IP6] = "a=rtcp: bad IPv6 address",
	[SDP_CONN_E_SUFFIX] = "a=rtcp: bad address",
};

int
sdp_rtpmap_decode(struct sdp_rtpmap *rm, const struct pl *val, const char **why)
{
	struct pl rest = val ? *val : (struct pl)PL_INIT, ptpl, spec, rate, ch;
	uint32_t v;

	memset(rm, 0, sizeof(*rm));
	if (!sdp_tok(&rest, &ptpl) || pl_u32(&ptpl, 127, &v)) {
		*why = "a=rtpmap: bad payload type";
		return EBADMSG;
	}
	rm->pt = (uint8_t)v;
	spec = sdp_trim_wsp(&rest);
	sdp_split_at(&spec, '/', &rm->enc, &rest);
	if (rm->enc.l == 0 || !pl_isset(&rest)) {
		*why = "a=rtpmap: missing encoding";
		return EBADMSG;
	}
	sdp_split_at(&rest, '/', &rate, &ch);
	if (pl_u32(&rate, UINT32_MAX, &rm->rate)) {
		*why = "a=rtpmap: bad clock rate";
		return EBADMSG;
	}
	rm->channels = 1;
	if (pl_isset(&ch) &&
	    (pl_u32(&ch, 255, &rm->channels) || rm->channels == 0)) {
		*why = "a=rtpmap: bad channels";
		return EBADMSG;
	}
	return 0;
}

int
sdp_rtcp_decode(struct sdp_rtcp *rtcp, const struct pl *val, const char **why)
{
	struct pl rest = val ? *val : (struct pl)PL_INIT, port, net, at, addr;
	uint32_t v;
	enum sdp_conn_err e;

	memset(rtcp, 0, sizeof(*rtcp));
	if (!sdp_tok(&rest, &port) || pl_u32(&port, 65535, &v)) {
		*why = "a=rtcp: bad port";
		return EBADMSG;
	}
	rtcp->port = (uint16_t)v;
	if (!sdp_tok(&rest, &net))
		return 0;
	if (!sdp_tok(&rest, &at) || !sdp_tok(&rest, &addr) ||
	    sdp_tok(&rest, &net)) {
		*why = "a=rtcp: bad address";
		return EBADMSG;
	}
	e = sdp_conn_fill(&rtcp->conn, &net, &at, &addr, false);
	if (e != SDP_CONN_OK) {
		*why = rtcp_why[e];
		return EBADMSG;
	}
	return 0;
}

/* The first key-param "inline:<key>[|<lifetime>][|<mki>]" (RFC 4568
   §9.1, §6.1). */
static int
crypto_key_decode(struct sdp_crypto *c, const char **why)
{
	struct pl kp, more, method, info, part;
	unsigned i;

	sdp_split_at(&c->keyparams, ';', &kp, &more);
	sdp_split_at(&kp, ':', &method, &info);
	if (!pl_isset(&info) || !pl_caseeq_str(&method, "inline"))
		return 0; /* another key method: kept, not interpreted */
	sdp_split_at(&info, '|', &c->key, &more);
	if (c->key.l == 0) {
		*why = "a=crypto: empty key";
		return EBADMSG;
	}
	for (i = 0; i < 2 && pl_isset(&more); i++) {
		sdp_split_at(&more, '|', &part, &more);
		if (part.l && memchr(part.p, ':', part.l))
			c->mki = part;
		else
			c->lifetime = part;
	}
	return 0;
}

int
sdp_crypto_decode(struct sdp_crypto *c, const struct pl *val, const char **why)
{
	struct pl rest = val ? *val : (struct pl)PL_INIT, tag;
	struct pl sp;

	memset(c, 0, sizeof(*c));
	if (!sdp_tok(&rest, &tag) || tag.l > 9 ||
	    pl_u32(&tag, 999999999, &c->tag)) {
		*why = "a=crypto: bad tag";
		return EBADMSG;
	}
	if (!sdp_tok(&rest, &c->suite)) {
		*why = "a=crypto: missing suite";
		return EBADMSG;
	}
	if (!sdp_tok(&rest, &c->keyparams)) {
		*why = "a=crypto: missing key params";
		return EBADMSG;
	}
	sp = sdp_trim_wsp(&rest);
	if (sp.l)
		c->sessparams = sp;
	return crypto_key_decode(c, why);
}

enum sdp_attr_id
sdp_attr_id_of(const struct pl *name)
{
	unsigned i;

	for (i = 1; i < SDP_A_COUNT; i++) {
		if (pl_caseeq_str(name, attr_names[i]))
			return (enum sdp_attr_id)i;
	}
	return SDP_A_OTHER;
}

int
sdp_attr_check(const struct sdp_line *ln, const char **why)
{
	union {
		struct sdp_rtpmap rm;
		struct sdp_rtcp rtcp;
		struct sdp_crypto c;
	} u;
	struct pl rest, tok;

	switch (ln->id) {
	case SDP_A_RTPMAP:
		return sdp_rtpmap_decode(&u.rm, &ln->val, why);
	case SDP_A_RTCP:
		return sdp_rtcp_decode(&u.rtcp, &ln->val, why);
	case SDP_A_CRYPTO:
		return sdp_crypto_decode(&u.c, &ln->val, why);
	case SDP_A_FMTP:
		rest = ln->val;
		if (!pl_isset(&rest) || !sdp_tok(&rest, &tok)) {
			*why = "a=fmtp: missing format";
			return EBADMSG;
		}
		return 0;
	default:
		return 0;
	}
}

/* --- Getters ----------------------------------------------------------- */

const struct sdp_conn *
sdp_media_conn(const struct sdp *sdp, unsigned m)
{
	if (m >= sdp->nmedia)
		return NULL;
	if (sdp->media[m].conn.af != SDP_AF_NONE)
		return &sdp->media[m].conn;
	return sdp->conn.af != SDP_AF_NONE ? &sdp->conn : NULL;
}

const struct sdp_line *
sdp_attr_next(const struct sdp *sdp, int m, enum sdp_attr_id id,
	      const struct sdp_line *prev)
{
	uint8_t sect = sdp_sect_of(m);
	uint16_t i;

	if (!sdp_level_ok(sdp, m))
		return NULL;
	i = prev ? prev->next : sdp_sect_first(sdp, m);
	for (; i != SDP_NONE && sdp->line[i].sect == sect;
	     i = sdp->line[i].next) {
		const struct sdp_line *ln = &sdp->line[i];

		if (ln->type == 'a' && !ln->removed &&
		    (id == SDP_A_COUNT || ln->id == id))
			return ln;
	}
	return NULL;
}

const struct sdp_line *
sdp_attr_find(const struct sdp *sdp, int m, const char *name)
{
	const struct sdp_line *ln = NULL;

	while ((ln = sdp_attr_next(sdp, m, SDP_A_COUNT, ln))) {
		if (pl_eq_str(&ln->name, name))
			return ln;
	}
	return NULL;
}

unsigned
sdp_attr_count(const struct sdp *sdp, int m, enum sdp_attr_id id)
{
	const struct sdp_line *ln = NULL;
	unsigned n = 0;

	while ((ln = sdp_attr_next(sdp, m, id, ln)))
		n++;
	return n;
}

static enum sdp_dir
dir_of(enum sdp_attr_id id)
{
	switch (id) {
	case SDP_A_SENDRECV:
		return SDP_DIR_SENDRECV;
	case SDP_A_SENDONLY:
		return SDP_DIR_SENDONLY;
	case SDP_A_RECVONLY:
		return SDP_DIR_RECVONLY;
	case SDP_A_INACTIVE:
		return SDP_DIR_INACTIVE;
	default:
		return SDP_DIR_NONE;
	}
}

enum sdp_dir
sdp_dir_get(const struct sdp *sdp, int m)
{
	const struct sdp_line *ln = NULL;

	while ((ln = sdp_attr_next(sdp, m, SDP_A_COUNT, ln))) {
		enum sdp_dir dir = dir_of((enum sdp_attr_id)ln->id);

		if (dir != SDP_DIR_NONE)
			return dir;
	}
	return SDP_DIR_NONE;
}

enum sdp_dir
sdp_media_dir(const struct sdp *sdp, unsigned m)
{
	enum sdp_dir dir = sdp_dir_get(sdp, (int)m);

	if (dir == SDP_DIR_NONE)
		dir = sdp_dir_get(sdp, SDP_SESSION);
	return dir == SDP_DIR_NONE ? SDP_DIR_SENDRECV : dir;
}

const char *
sdp_dir_name(enum sdp_dir dir)
{
	switch (dir) {
	case SDP_DIR_SENDRECV:
		return "sendrecv";
	case SDP_DIR_SENDONLY:
		return "sendonly";
	case SDP_DIR_RECVONLY:
		return "recvonly";
	case SDP_DIR_INACTIVE:
		return "inactive";
	default:
		return "";
	}
}

static bool
media_has_pt(const struct sdp_media *md, uint8_t pt)
{
	unsigned i;

	for (i = 0; md->rtp && i < md->nfmt; i++) {
		if (md->pt[i] == pt)
			return true;
	}
	return false;
}

int
sdp_rtpmap_find(const struct sdp *sdp, unsigned m, uint8_t pt,
		struct sdp_rtpmap *rm)
{
	const struct sdp_line *ln = NULL;
	const char *why;
	unsigned i;

	if (m >= sdp->nmedia)
		return ENOENT;
	while ((ln = sdp_attr_next(sdp, (int)m, SDP_A_RTPMAP, ln))) {
		if (sdp_rtpmap_decode(rm, &ln->val, &why) == 0 && rm->pt == pt)
			return 0;
	}
	if (!media_has_pt(&sdp->media[m], pt))
		return ENOENT;
	for (i = 0; i < sizeof(static_pts) / sizeof(static_pts[0]); i++) {
		if (static_pts[i].pt == pt) {
			memset(rm, 0, sizeof(*rm));
			rm->pt = pt;
			pl_set(&rm->enc, static_pts[i].enc,
			       strlen(static_pts[i].enc));
			rm->rate = static_pts[i].rate;
			rm->channels = 1;
			rm->implicit = true;
			return 0;
		}
	}
	return ENOENT;
}

int
sdp_pt_find(const struct sdp *sdp, unsigned m, const char *enc, uint32_t rate,
	    uint8_t *pt)
{
	const struct sdp_media *md;
	struct sdp_rtpmap rm;
	unsigned i;

	if (m >= sdp->nmedia || !enc)
		return ENOENT;
	md = &sdp->media[m];
	for (i = 0; md->rtp && i < md->nfmt; i++) {
		if (sdp_rtpmap_find(sdp, m, md->pt[i], &rm))
			continue;
		if (pl_caseeq_str(&rm.enc, enc) && (!rate || rm.rate == rate)) {
			*pt = md->pt[i];
			return 0;
		}
	}
	return ENOENT;
}

bool
sdp_val_pt(const struct pl *val, uint8_t *pt)
{
	struct pl rest = *val, tok;
	uint32_t v;

	if (!pl_isset(val) || !sdp_tok(&rest, &tok) || pl_u32(&tok, 127, &v))
		return false;
	*pt = (uint8_t)v;
	return true;
}

int
sdp_fmtp_find(const struct sdp *sdp, unsigned m, uint8_t pt, struct pl *params)
{
	const struct sdp_line *ln = NULL;
	uint8_t v;

	if (m >= sdp->nmedia)
		return ENOENT;
	while ((ln = sdp_attr_next(sdp, (int)m, SDP_A_FMTP, ln))) {
		struct pl rest = ln->val, tok;

		if (!sdp_val_pt(&ln->val, &v) || v != pt)
			continue;
		sdp_tok(&rest, &tok);
		*params = sdp_trim_wsp(&rest);
		return 0;
	}
	return ENOENT;
}

int
sdp_rtcp_get(const struct sdp *sdp, unsigned m, struct sdp_rtcp *rtcp)
{
	const struct sdp_line *ln;
	const char *why;

	if (m >= sdp->nmedia)
		return ENOENT;
	ln = sdp_attr_next(sdp, (int)m, SDP_A_RTCP, NULL);
	if (!ln)
		return ENOENT;
	return sdp_rtcp_decode(rtcp, &ln->val, &why) ? ENOENT : 0;
}

unsigned
sdp_crypto_list(const struct sdp *sdp, unsigned m, struct sdp_crypto *out,
		unsigned max)
{
	const struct sdp_line *ln = NULL;
	struct sdp_crypto c;
	const char *why;
	unsigned n = 0;

	if (m >= sdp->nmedia)
		return 0;
	while ((ln = sdp_attr_next(sdp, (int)m, SDP_A_CRYPTO, ln))) {
		if (sdp_crypto_decode(&c, &ln->val, &why))
			continue;
		if (n < max)
			out[n] = c;
		n++;
	}
	return n;
}
