/* SDP for an anchoring relay: point a description at Tandem (RFC 3264 §5,
   §6; RFC 3605 a=rtcp; RFC 5761 a=rtcp-mux; RFC 8839 ICE removed) and read
   the remote of each m-line out of a received one. */
#include <errno.h>
#include <string.h>

#include "relay.h"
#include "stack/sdp.h"

static enum sdp_af
af_of(const char *ip)
{
	struct pl pl = {ip, strlen(ip)};

	if (sdp_is_ip4(&pl))
		return SDP_AF_IP4;
	if (sdp_is_ip6(&pl))
		return SDP_AF_IP6;
	return SDP_AF_NONE;
}

/* One m-line: port, its c= if written, a=rtcp, a=rtcp-mux, ICE. */
static int
media_rewrite(struct sdp *sdp, unsigned m, const struct relay_sdp_local *loc,
	      enum sdp_af af)
{
	uint16_t port = m < RELAY_MAX_STREAMS ? loc->port[m] : 0;
	int err = 0;

	if (!loc->keep_ice)
		sdp_ice_remove(sdp, (int)m);
	if (port == 0 || sdp->media[m].port == 0) {
		/* RFC 3264 §6: a refused stream keeps its m-line with port 0;
		   its own c= still names the far side's media host, which
		   topology hiding must not pass on, so it points at us too */
		if (sdp->media[m].cline != SDP_NONE)
			err = sdp_conn_set(sdp, (int)m, af, loc->ip);
		return err ? err : sdp_media_port_set(sdp, m, 0);
	}
	if (sdp->media[m].cline != SDP_NONE || !sdp_media_conn(sdp, m))
		err = sdp_conn_set(sdp, (int)m, af, loc->ip);
	if (!err)
		err = sdp_media_port_set(sdp, m, port);
	if (!err)
		err = sdp_rtcp_set(sdp, m, (uint16_t)(port + 1), af, loc->ip);
	if (!err && !loc->rtcp_mux[m])
		sdp_attr_remove(sdp, (int)m, SDP_A_RTCP_MUX);
	return err;
}

int
relay_sdp_rewrite(struct sdp *sdp, const struct relay_sdp_local *loc)
{
	enum sdp_af af;
	unsigned m;
	int err = 0;

	if (!sdp || !loc || !loc->ip)
		return EINVAL;
	af = af_of(loc->ip);
	if (af == SDP_AF_NONE)
		return EINVAL;
	if (sdp->cline != SDP_NONE)
		err = sdp_conn_set(sdp, SDP_SESSION, af, loc->ip);
	if (!err && !loc->keep_origin && sdp->origin.addr.af != SDP_AF_NONE)
		err = sdp_origin_addr_set(sdp, af, loc->ip);
	if (!err && !loc->keep_ice)
		sdp_ice_remove(sdp, SDP_SESSION);
	for (m = 0; !err && m < sdp->nmedia; m++)
		err = media_rewrite(sdp, m, loc, af);
	return err;
}

static enum relay_dir
dir_of(enum sdp_dir d)
{
	switch (d) {
	case SDP_DIR_SENDONLY:
		return RELAY_DIR_SENDONLY;
	case SDP_DIR_RECVONLY:
		return RELAY_DIR_RECVONLY;
	case SDP_DIR_INACTIVE:
		return RELAY_DIR_INACTIVE;
	default:
		return RELAY_DIR_SENDRECV;
	}
}

static uint32_t
clock_of(const struct sdp *sdp, unsigned m)
{
	struct sdp_rtpmap rm;

	if (!sdp->media[m].rtp || sdp->media[m].nfmt == 0 ||
	    sdp_rtpmap_find(sdp, m, sdp->media[m].pt[0], &rm))
		return 8000;
	return rm.rate ? rm.rate : 8000;
}

int
relay_sdp_remote(const struct sdp *sdp, unsigned m, bool nat,
		 struct relay_remote *r)
{
	const struct sdp_conn *conn;
	struct sdp_rtcp rtcp;

	if (!sdp || !r || m >= sdp->nmedia)
		return EINVAL;
	memset(r, 0, sizeof(*r));
	r->nat = nat;
	r->clock_rate = clock_of(sdp, m);
	conn = sdp_media_conn(sdp, m);
	if (sdp->media[m].port == 0 || !conn) {
		strcpy(r->ip, "0.0.0.0");
		r->dir = RELAY_DIR_INACTIVE;
		return 0;
	}
	if (conn->fqdn || conn->addr.l >= sizeof(r->ip))
		return EPROTONOSUPPORT;
	pl_strcpy(&conn->addr, r->ip, sizeof(r->ip));
	r->rtp_port = sdp->media[m].port;
	r->rtcp_mux = sdp_attr_count(sdp, (int)m, SDP_A_RTCP_MUX) > 0;
	/* RFC 3605: an a=rtcp address other than c= is not followed; the
	   port is (latching learns where RTCP really comes from) */
	if (!sdp_rtcp_get(sdp, m, &rtcp))
		r->rtcp_port = rtcp.port;
	r->dir = conn->unspec ? RELAY_DIR_INACTIVE
			      : dir_of(sdp_media_dir(sdp, m));
	return 0;
}

int
relay_sess_sdp_apply(struct relay_sess *sess, enum relay_leg leg,
		     const struct sdp *sdp, bool nat, bool mux)
{
	struct relay_remote r;
	unsigned m;
	uint16_t port;
	int err = 0;

	if (!sess || !sdp)
		return EINVAL;
	for (m = 0; !err && m < sdp->nmedia && m < RELAY_MAX_STREAMS; m++) {
		err = relay_sdp_remote(sdp, m, nat, &r);
		if (!err && !mux)
			r.rtcp_mux = false;
		if (!err)
			err = relay_stream_open(sess, leg, m, &port);
		if (!err)
			err = relay_stream_remote(sess, leg, m, &r);
	}
	return err;
}

int
relay_sess_sdp_rewrite(struct relay_sess *sess, enum relay_leg leg,
		       struct sdp *sdp, bool mux, bool keep_ice)
{
	struct relay_sdp_local loc = {.keep_ice = keep_ice};
	unsigned m;
	int err = 0;

	if (!sess || !sdp || (unsigned)leg >= RELAY_LEG_COUNT)
		return EINVAL;
	loc.ip = relay_sess_ip(sess, leg);
	for (m = 0; !err && m < sdp->nmedia && m < RELAY_MAX_STREAMS; m++) {
		if (sdp->media[m].port == 0)
			continue;
		loc.rtcp_mux[m] = mux;
		err = relay_stream_open(sess, leg, m, &loc.port[m]);
	}
	return err ? err : relay_sdp_rewrite(sdp, &loc);
}
