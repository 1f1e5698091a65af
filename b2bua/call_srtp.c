/* SRTP per leg (RFC 3711, SDES keys RFC 4568) for a call whose trunks ask
   for it: the SDP crossing from one leg to the other loses the sender's
   a=crypto (its key goes to the relay, which unprotects with it) and,
   toward a leg that is to get SRTP, gains Tandem's own a=crypto (the key
   the relay protects with). Offers toward a leg follow its trunk's mode;
   answers mirror the offer they answer (RFC 4568 §7.1.2/§7.1.3: same
   tag, same suite). Both legs "off": nothing here, a=crypto and the
   packets pass end to end untouched. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define LOG_MODULE "call"
#include <openssl/crypto.h>

#include "call_int.h"
#include "media/sec.h"
#include "stack/log.h"
#include "stack/sdp.h"

struct call_srtp {
	struct sec_key peer[LEG_COUNT][RELAY_MAX_STREAMS]; /* the leg's peer
							      protects with */
	bool has_peer[LEG_COUNT][RELAY_MAX_STREAMS];
	uint32_t peer_tag[LEG_COUNT][RELAY_MAX_STREAMS];
	struct sec_key ours[LEG_COUNT][RELAY_MAX_STREAMS]; /* we protect with
							      toward the leg */
	bool has_ours[LEG_COUNT][RELAY_MAX_STREAMS];
	uint32_t ours_tag[LEG_COUNT][RELAY_MAX_STREAMS];
	bool used[LEG_COUNT]; /* SRTP was negotiated on the leg (CDR) */
	bool hold; /* a transfer is being offered: the relay keeps its
		      transforms until it is answered or fails */
};

enum pol_srtp
call_srtp_mode(const struct call *c, int leg)
{
	const struct pol_trunk *t = call_leg_trunk(c, leg);

	return t ? t->srtp : POL_SRTP_OFF;
}

static bool
terminating(const struct call *c)
{
	return call_srtp_mode(c, LEG_A) != POL_SRTP_OFF ||
	       call_srtp_mode(c, LEG_B) != POL_SRTP_OFF;
}

static struct call_srtp *
state(struct call *c)
{
	if (!c->srtp)
		c->srtp = calloc(1, sizeof(*c->srtp));
	return c->srtp;
}

static bool
is_savp(const struct sdp *sdp, unsigned m)
{
	const struct pl *p = &sdp->media[m].proto;
	size_t i;

	for (i = 0; i + 4 <= p->l; i++)
		if (!memcmp(p->p + i, "SAVP", 4))
			return true;
	return false;
}

/* The profile with SRTP taken away or added (RFC 3711 §12, RFC 5124):
   RTP/AVP <-> RTP/SAVP, RTP/AVPF <-> RTP/SAVPF; DTLS profiles are not
   SDES and are left alone (NULL). */
static const char *
proto_flip(const struct sdp *sdp, unsigned m, bool srtp)
{
	const struct pl *p = &sdp->media[m].proto;

	if (pl_caseeq_str(p, "RTP/AVP") || pl_caseeq_str(p, "RTP/SAVP"))
		return srtp ? "RTP/SAVP" : "RTP/AVP";
	if (pl_caseeq_str(p, "RTP/AVPF") || pl_caseeq_str(p, "RTP/SAVPF"))
		return srtp ? "RTP/SAVPF" : "RTP/AVPF";
	return NULL;
}

/* The a=crypto of media m we can use: in an answer the one with the tag
   we offered, else the first with a suite and key-params we implement
   (RFC 4568 §7.1.2: the answerer picks one of the offered lines). */
static bool
pick_crypto(const struct sdp *sdp, unsigned m, bool answer, uint32_t want,
	    struct sec_key *k, uint32_t *tag)
{
	const struct sdp_line *l = NULL;

	while ((l = sdp_attr_next(sdp, (int)m, SDP_A_CRYPTO, l))) {
		const char *why = NULL;

		if (sec_crypto_parse(k, tag, &l->val, &why))
			continue;
		if (!answer || *tag == want)
			return true;
		sec_key_wipe(k);
	}
	return false;
}

int
call_srtp_in(struct call *c, int from, struct sdp *sdp, bool answer)
{
	enum pol_srtp mode = call_srtp_mode(c, from);
	struct call_srtp *s;
	unsigned m;

	if (!terminating(c))
		return 0; /* pass-through: a=crypto crosses as it is */
	s = state(c);
	if (!s)
		return ENOMEM;
	for (m = 0; m < sdp->nmedia; m++) {
		const char *plain = proto_flip(sdp, m, false);
		bool live = sdp->media[m].port != 0 && m < RELAY_MAX_STREAMS;
		bool got = false;

		if (m < RELAY_MAX_STREAMS) {
			sec_key_wipe(&s->peer[from][m]);
			if (live && is_savp(sdp, m) && plain)
				got = pick_crypto(sdp, m, answer,
						  s->ours_tag[from][m],
						  &s->peer[from][m],
						  &s->peer_tag[from][m]);
			s->has_peer[from][m] = got;
		}
		if (live && !got && mode == POL_SRTP_MANDATORY) {
			LOGP_INFO(c->id,
				  "%s-leg %s m-line %u without usable SRTP "
				  "(trunk requires it)",
				  from == LEG_A ? "A" : "B",
				  answer ? "answer" : "offer", m);
			return EPROTO;
		}
		if (!plain)
			continue; /* not SDES-capable: left as it is */
		sdp_attr_remove(sdp, (int)m, SDP_A_CRYPTO);
		if (is_savp(sdp, m) && sdp_media_proto_set(sdp, m, plain))
			return ENOBUFS;
	}
	return 0;
}

/* Our key toward leg `to` on media m for suite: kept across descriptions
   (RFC 4568 §7.1.4 allows it) unless the suite changes. */
static int
our_key(struct call_srtp *s, int to, unsigned m, enum sec_suite suite)
{
	if (s->has_ours[to][m] && s->ours[to][m].suite == suite)
		return 0;
	sec_key_wipe(&s->ours[to][m]);
	s->has_ours[to][m] = false;
	if (sec_key_generate(&s->ours[to][m], suite))
		return EIO;
	s->has_ours[to][m] = true;
	return 0;
}

static void
apply_relay(struct call *c, unsigned m)
{
	struct call_srtp *s = c->srtp;
	int l, err;

	if (s && s->hold)
		return;
	for (l = 0; l < LEG_COUNT; l++) {
		int o = 1 - l;

		if (!relay_stream_port(c->rs, (enum relay_leg)l, m))
			continue;
		err = relay_stream_srtp(
			c->rs, (enum relay_leg)l, m,
			s && s->has_peer[l][m] ? &s->peer[l][m] : NULL,
			s && s->has_ours[o][m] ? &s->ours[o][m] : NULL);
		if (err)
			LOGP_WARN(c->id, "SRTP of stream %u: %s", m,
				  strerror(err));
	}
}

int
call_srtp_out(struct call *c, int to, struct sdp *sdp, bool answer)
{
	enum pol_srtp mode = call_srtp_mode(c, to);
	int from = 1 - to;
	struct call_srtp *s = c->srtp;
	unsigned m;

	if (!c->rs)
		return 0;
	if (!terminating(c)) {
		if (s) /* was terminated before (another attempt): no more */
			for (m = 0; m < RELAY_MAX_STREAMS; m++) {
				s->has_peer[LEG_A][m] = s->has_peer[LEG_B][m] =
					false;
				s->has_ours[LEG_A][m] = s->has_ours[LEG_B][m] =
					false;
				apply_relay(c, m);
			}
		return 0;
	}
	if (!s)
		return ENOMEM;
	for (m = 0; m < sdp->nmedia && m < RELAY_MAX_STREAMS; m++) {
		const char *prof = proto_flip(sdp, m, true);
		enum sec_suite suite = SEC_AES_CM_128_HMAC_SHA1_80;
		uint32_t tag = 1;
		char val[128];
		bool want;

		if (sdp->media[m].port == 0 || !prof) {
			s->has_ours[to][m] = false;
			apply_relay(c, m);
			continue;
		}
		if (answer) {
			/* the answer mirrors what `to` offered */
			want = s->has_peer[to][m];
			if (want) {
				suite = s->peer[to][m].suite;
				tag = s->peer_tag[to][m];
			}
		} else {
			want = mode == POL_SRTP_MANDATORY ||
			       (mode == POL_SRTP_OPTIONAL &&
				s->has_peer[from][m]);
			if (s->has_peer[from][m]) {
				suite = s->peer[from][m].suite;
				tag = s->peer_tag[from][m];
			}
		}
		if (!want) {
			s->has_ours[to][m] = false;
			apply_relay(c, m);
			continue;
		}
		if (our_key(s, to, m, suite) ||
		    sec_crypto_print(&s->ours[to][m], tag, val, sizeof(val)) ||
		    sdp_attr_add(sdp, (int)m, "crypto", val) ||
		    sdp_media_proto_set(sdp, m, prof)) {
			OPENSSL_cleanse(val, sizeof(val));
			return ENOBUFS;
		}
		OPENSSL_cleanse(val, sizeof(val));
		s->ours_tag[to][m] = tag;
		apply_relay(c, m);
	}
	/* after an answer a leg with keys both ways speaks SRTP */
	for (m = 0; answer && m < RELAY_MAX_STREAMS; m++) {
		int l;

		for (l = 0; l < LEG_COUNT; l++)
			if (s->has_peer[l][m] && s->has_ours[l][m])
				s->used[l] = true;
	}
	return 0;
}

void
call_srtp_apply(struct call *c)
{
	unsigned m;

	for (m = 0; c->srtp && c->rs && m < RELAY_MAX_STREAMS; m++)
		apply_relay(c, m);
}

bool
call_srtp_used(const struct call *c, int leg)
{
	return c->srtp && c->srtp->used[leg];
}

int
call_srtp_xfer_begin(struct call *c, int x, const struct pol_trunk *t,
		     struct sdp *sdp)
{
	const struct pol_trunk *was = c->leg_trunk[x];
	bool before = terminating(c), after;
	struct call_srtp *s;
	unsigned m;

	c->leg_trunk[x] = t;
	after = terminating(c);
	c->leg_trunk[x] = was;
	if (!before && !after)
		return 0; /* plain, or SRTP end to end: as it is */
	for (m = 0; !before && m < sdp->nmedia; m++)
		if (sdp_attr_count(sdp, (int)m, SDP_A_CRYPTO))
			return EPROTO; /* keys we never had */
	s = state(c);
	if (!s)
		return ENOMEM;
	if (!c->xfer_srtp) {
		c->xfer_srtp = malloc(sizeof(*s));
		if (!c->xfer_srtp)
			return ENOMEM;
		memcpy(c->xfer_srtp, s, sizeof(*s));
	}
	s->hold = true;
	for (m = 0; m < sdp->nmedia && m < RELAY_MAX_STREAMS; m++) {
		const char *plain = proto_flip(sdp, m, false);

		if (!s->has_ours[x][m] || !plain)
			continue;
		sdp_attr_remove(sdp, (int)m, SDP_A_CRYPTO);
		if (sdp_media_proto_set(sdp, m, plain))
			return ENOBUFS;
		/* the new peer gets a key of its own: the old one knows
		   ours */
		sec_key_wipe(&s->ours[x][m]);
		s->has_ours[x][m] = false;
	}
	return 0;
}

void
call_srtp_xfer_end(struct call *c, bool took)
{
	struct call_srtp *o = c->xfer_srtp;

	if (!o || !c->srtp)
		return;
	if (!took)
		memcpy(c->srtp, o, sizeof(*o)); /* hold was off in it */
	c->srtp->hold = false;
	OPENSSL_cleanse(o, sizeof(*o));
	free(o);
	c->xfer_srtp = NULL;
	call_srtp_apply(c);
}

void
call_srtp_free(struct call *c)
{
	if (c->xfer_srtp) {
		OPENSSL_cleanse(c->xfer_srtp, sizeof(*c->xfer_srtp));
		free(c->xfer_srtp);
		c->xfer_srtp = NULL;
	}
	if (!c->srtp)
		return;
	OPENSSL_cleanse(c->srtp, sizeof(*c->srtp));
	free(c->srtp);
	c->srtp = NULL;
}
