/* Codec policy of a call: each trunk's allow list (trunks.codecs, e.g.
   "PCMA,PCMU,G722") applied to every offer crossing the call, so what the
   two ends can agree on is allowed on both of their trunks, in the order
   of the receiving trunk's list (RFC 3264 §5.1: formats in order of
   preference). RFC 4733 telephone-event and RFC 3389 comfort noise are
   not codecs of a call and always pass. An offer left without any codec
   on an m-line is refused (488). Also records the codecs of the answer
   for the CDR. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define LOG_MODULE "call"
#include "call_int.h"
#include "stack/log.h"
#include "stack/sdp.h"

const struct pol_trunk *
call_leg_trunk(const struct call *c, int leg)
{
	if (c->leg_trunk[leg])
		return c->leg_trunk[leg];
	return leg == LEG_A ? c->src : c->b_trunk;
}

static bool
is_aux(const struct pl *enc)
{
	return pl_caseeq_str(enc, "telephone-event") ||
	       pl_caseeq_str(enc, "CN");
}

/* Is enc one of the comma-separated names of list? */
static bool
listed(const char *list, const struct pl *enc)
{
	const char *p = list;

	while (*p) {
		const char *e;
		size_t n;

		while (*p == ' ' || *p == ',')
			p++;
		e = p;
		while (*e && *e != ',')
			e++;
		n = (size_t)(e - p);
		while (n && p[n - 1] == ' ')
			n--;
		if (n && n == enc->l && !strncasecmp(p, enc->p, n))
			return true;
		p = e;
	}
	return false;
}

static bool
has_list(const struct pol_trunk *t)
{
	return t && t->codecs && t->codecs[strspn(t->codecs, " ,")];
}

static bool
kept(const uint8_t *pts, unsigned n, uint8_t pt)
{
	unsigned i;

	for (i = 0; i < n; i++)
		if (pts[i] == pt)
			return true;
	return false;
}

/* Media m: the formats in the order of `order`, those of `other` only,
   then the auxiliary ones; *ncodec counts the real codecs kept. */
static unsigned
pick(const struct sdp *sdp, unsigned m, const char *order, const char *other,
     uint8_t *pts, unsigned *ncodec)
{
	const struct sdp_media *md = &sdp->media[m];
	const char *p = order;
	struct sdp_rtpmap rm;
	unsigned n = 0, i;

	*ncodec = 0;
	while (*p) {
		const char *e;
		struct pl name;

		while (*p == ' ' || *p == ',')
			p++;
		for (e = p; *e && *e != ','; e++)
			;
		pl_set(&name, p, (size_t)(e - p));
		while (name.l && name.p[name.l - 1] == ' ')
			name.l--;
		for (i = 0; name.l && i < md->nfmt; i++) {
			if (sdp_rtpmap_find(sdp, m, md->pt[i], &rm) ||
			    !pl_caseeq(&rm.enc, &name) || is_aux(&rm.enc) ||
			    (other && !listed(other, &rm.enc)) ||
			    kept(pts, n, md->pt[i]))
				continue;
			pts[n++] = md->pt[i];
			(*ncodec)++;
		}
		p = e;
	}
	for (i = 0; i < md->nfmt; i++) {
		if (!sdp_rtpmap_find(sdp, m, md->pt[i], &rm) &&
		    is_aux(&rm.enc) && !kept(pts, n, md->pt[i]))
			pts[n++] = md->pt[i];
	}
	return n;
}

int
call_codecs_filter(struct call *c, int from, struct sdp *sdp)
{
	const struct pol_trunk *tt = call_leg_trunk(c, 1 - from);
	const struct pol_trunk *ft = call_leg_trunk(c, from);
	bool lt = has_list(tt), lf = has_list(ft);
	uint8_t pts[SDP_MAX_FMT];
	unsigned m, n, ncodec;

	if (!lt && !lf)
		return 0;
	for (m = 0; m < sdp->nmedia; m++) {
		const struct sdp_media *md = &sdp->media[m];

		if (!md->rtp || md->port == 0 ||
		    !(pl_caseeq_str(&md->type, "audio") ||
		      pl_caseeq_str(&md->type, "video")))
			continue;
		n = pick(sdp, m, lt ? tt->codecs : ft->codecs,
			 lt && lf ? ft->codecs : NULL, pts, &ncodec);
		if (!ncodec) {
			LOGP_INFO(c->id,
				  "offer from the %s-leg: no allowed codec on "
				  "m-line %u",
				  from == LEG_A ? "A" : "B", m);
			return ENOENT;
		}
		if (n != md->nfmt || memcmp(pts, md->pt, n) != 0) {
			int err = sdp_media_formats_keep(sdp, m, pts, n);

			if (err)
				return err;
		}
	}
	return 0;
}

void
call_codecs_note(struct call *c, const struct sdp *sdp)
{
	size_t o = 0;
	unsigned m, i;

	for (m = 0; m < sdp->nmedia; m++) {
		const struct sdp_media *md = &sdp->media[m];

		if (!md->rtp || md->port == 0 ||
		    !pl_caseeq_str(&md->type, "audio"))
			continue;
		c->codecs[0] = '\0';
		for (i = 0; i < md->nfmt; i++) {
			struct sdp_rtpmap rm;
			int w;

			if (sdp_rtpmap_find(sdp, m, md->pt[i], &rm))
				continue;
			w = snprintf(c->codecs + o, sizeof(c->codecs) - o,
				     "%s%.*s", o ? "," : "", (int)rm.enc.l,
				     rm.enc.p);
			if (w < 0 || (size_t)w >= sizeof(c->codecs) - o) {
				c->codecs[o] = '\0';
				break;
			}
			o += (size_t)w;
		}
		return;
	}
}

/*
 * A transfer: the new peer of leg x answered the description the old one
 * was offered, and the other leg was never told (no re-INVITE): it keeps
 * sending with the numbers of the old answer, while the new peer expects
 * those of its own (RFC 3264 §5.1). Map them, per m-line, for what the
 * other leg sends: old number of a codec (encoding and rate) -> new.
 */
void
call_ptmap_xfer(struct call *c, int x, const struct sdp *ans)
{
	int y = 1 - x;
	struct sdp *old;
	unsigned m, i;

	if (!c->rs || !c->last_sdp[y])
		return;
	old = malloc(sizeof(*old));
	if (!old || sdp_decode(old, c->last_sdp[y], c->last_sdp_len[y], NULL)) {
		free(old);
		return;
	}
	for (m = 0; m < ans->nmedia && m < old->nmedia && m < RELAY_MAX_STREAMS;
	     m++) {
		uint8_t map[128];
		bool any = false;

		for (i = 0; i < 128; i++)
			map[i] = (uint8_t)i;
		for (i = 0; ans->media[m].rtp && i < ans->media[m].nfmt; i++) {
			struct sdp_rtpmap rm;
			uint8_t pn = ans->media[m].pt[i], po;
			char enc[32];

			if (sdp_rtpmap_find(ans, m, pn, &rm) ||
			    rm.enc.l >= sizeof(enc))
				continue;
			snprintf(enc, sizeof(enc), "%.*s", (int)rm.enc.l,
				 rm.enc.p);
			if (sdp_pt_find(old, m, enc, rm.rate, &po) || po == pn)
				continue;
			map[po & 0x7f] = pn;
			any = true;
			LOGP_INFO(c->id,
				  "transfer: %s from the %s-leg sent as PT %u "
				  "instead of %u",
				  enc, y == LEG_A ? "A" : "B", pn, po);
		}
		if (relay_stream_port(c->rs, (enum relay_leg)y, m))
			(void)relay_stream_ptmap(c->rs, (enum relay_leg)y, m,
						 any ? map : NULL);
	}
	free(old);
}
