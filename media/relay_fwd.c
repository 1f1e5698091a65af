/* Relay packet path on a media worker: batched receive, the latching
   hijack guard (RFC 4961 symmetric RTP, RFC 7362 §4 latching), direction
   and hold (RFC 3264 §5.1, §8.4), statistics, batched send. */
#define LOG_MODULE "relay"

#include <errno.h>
#include <event2/event.h>
#include <string.h>
#include <time.h>

#include "relay_int.h"
#include "stack/log.h"

static uint64_t
now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

static bool
sa_ip_eq(const union relay_sa *a, const union relay_sa *b)
{
	if (a->sa.sa_family != b->sa.sa_family)
		return false;
	if (a->sa.sa_family == AF_INET)
		return ((const struct sockaddr_in *)a)->sin_addr.s_addr ==
		       ((const struct sockaddr_in *)b)->sin_addr.s_addr;
	return !memcmp(&((const struct sockaddr_in6 *)a)->sin6_addr,
		       &((const struct sockaddr_in6 *)b)->sin6_addr,
		       sizeof(struct in6_addr));
}

static uint16_t
sa_port(const union relay_sa *a)
{
	return a->sa.sa_family == AF_INET
		       ? ((const struct sockaddr_in *)a)->sin_port
		       : ((const struct sockaddr_in6 *)a)->sin6_port;
}

static bool
sa_eq(const union relay_sa *a, const union relay_sa *b)
{
	return sa_ip_eq(a, b) && sa_port(a) == sa_port(b);
}

/* --- Remote (signalled) ------------------------------------------------ */

static bool
ip_unspec(const union relay_sa *ss)
{
	static const struct in6_addr any6 = IN6ADDR_ANY_INIT;

	if (ss->sa.sa_family == AF_INET)
		return ((const struct sockaddr_in *)ss)->sin_addr.s_addr == 0;
	return !memcmp(&((const struct sockaddr_in6 *)ss)->sin6_addr, &any6,
		       sizeof(any6));
}

/*
 * Apply what the peer signalled. A changed address (IP or port) forgets
 * the latched sources (RFC 7362 §4: the peer moved, e.g. a re-INVITE);
 * every update opens a new latching window.
 */
void
relay_fwd_remote(struct relay_stream *st, const struct relay_remote *r,
		 uint64_t now_ms)
{
	union relay_sa sig[RELAY_SK_COUNT];
	socklen_t len[RELAY_SK_COUNT] = {0, 0};
	uint16_t rtcp =
		r->rtcp_port ? r->rtcp_port : (uint16_t)(r->rtp_port + 1);
	unsigned k;

	if (r->rtp_port &&
	    !relay_sa_set(&sig[RELAY_SK_RTP], &len[RELAY_SK_RTP], r->ip,
			  r->rtp_port) &&
	    !ip_unspec(&sig[RELAY_SK_RTP])) {
		sig[RELAY_SK_RTCP] = sig[RELAY_SK_RTP];
		len[RELAY_SK_RTCP] = len[RELAY_SK_RTP];
		if (sig[RELAY_SK_RTCP].sa.sa_family == AF_INET)
			((struct sockaddr_in *)&sig[1])->sin_port = htons(rtcp);
		else
			((struct sockaddr_in6 *)&sig[1])->sin6_port =
				htons(rtcp);
	}
	for (k = 0; k < RELAY_SK_COUNT; k++) {
		if (!len[k] || !st->siglen[k] || !sa_eq(&sig[k], &st->sig[k]))
			memset(&st->latch[k], 0, sizeof(st->latch[k]));
		if (len[k])
			st->sig[k] = sig[k];
		st->siglen[k] = len[k];
	}
	RELAY_SET(st->st.latched, st->latch[RELAY_SK_RTP].set);
	st->rem = *r;
	st->nat = r->nat;
	st->mux = r->rtcp_mux;
	st->dir = (uint8_t)r->dir;
	st->rate = r->clock_rate ? r->clock_rate : 8000;
	st->have_rem = true;
	st->window_until = now_ms + st->core->ctx->conf.latch_window_ms;
	LOGP_DBG(st->core->pfx, "leg %c stream %u: remote %s:%u%s%s dir %d",
		 'A' + st->leg, st->idx, r->ip, r->rtp_port,
		 r->rtcp_mux ? " mux" : "", r->nat ? " nat" : "", (int)r->dir);
}

/* --- Latching ---------------------------------------------------------- */

/* Is src allowed on socket k of st, latching it if it may be learnt? */
static bool
src_ok(struct relay_stream *st, enum relay_sk k, const union relay_sa *src,
       socklen_t len, uint64_t now_ms)
{
	struct relay_latch *l = &st->latch[k];
	const struct relay_conf *conf = &st->core->ctx->conf;
	bool inwin = now_ms < st->window_until;

	if (l->set && sa_eq(&l->addr, src))
		goto accept;
	if (!st->siglen[k] || (!st->nat && !sa_ip_eq(src, &st->sig[k])))
		return false;
	if (!l->set && (inwin || sa_eq(src, &st->sig[k])))
		goto learn;
	/* only a NAT peer may move, only within the window, and only once
	   the old source has gone quiet */
	if (l->set && st->nat && inwin &&
	    now_ms - l->last_ms >= conf->relatch_idle_ms) {
		RELAY_INC(st->st.relatched, 1);
		goto learn;
	}
	return false;
learn:
	memcpy(&l->addr, src, len);
	l->len = len;
	l->set = true;
	if (k == RELAY_SK_RTP)
		RELAY_SET(st->st.latched, true);
accept:
	l->last_ms = now_ms;
	return true;
}

/* --- Forwarding -------------------------------------------------------- */

static bool
dir_sends(enum relay_dir d)
{
	return d == RELAY_DIR_SENDRECV || d == RELAY_DIR_SENDONLY;
}

static bool
dir_recvs(enum relay_dir d)
{
	return d == RELAY_DIR_SENDRECV || d == RELAY_DIR_RECVONLY;
}

/* Destination of a packet to out's peer: the latched source, else the
   signalled address. RTCP goes to the RTP socket when out muxes. */
static bool
dest_of(struct relay_stream *out, bool rtcp, enum relay_sk *kp,
	const union relay_sa **dst, socklen_t *len)
{
	enum relay_sk k = rtcp && !out->mux ? RELAY_SK_RTCP : RELAY_SK_RTP;

	if (!out->open || !out->have_rem || !out->siglen[k])
		return false;
	*kp = k;
	if (out->latch[k].set) {
		*dst = &out->latch[k].addr;
		*len = out->latch[k].len;
	} else {
		*dst = &out->sig[k];
		*len = out->siglen[k];
	}
	return true;
}

static void
tx_flush(struct relay_worker *w, struct relay_stream *in, enum relay_sk k)
{
	unsigned n = w->ntx[k], done = 0;
	int sent;

	while (done < n) {
		sent = sendmmsg(w->txfd[k], w->tx[k] + done, n - done,
				MSG_DONTWAIT);
		if (sent <= 0) {
			if (sent < 0 && errno == EINTR)
				continue;
			/* skip the datagram that failed (socket full,
			   unreachable peer): never block */
			RELAY_INC(in->st.drop_send, 1);
			RELAY_INC(w->tot.drop_send, 1);
			done++;
			continue;
		}
		RELAY_INC(in->st.forwarded, (uint64_t)sent);
		RELAY_INC(w->tot.forwarded, (uint64_t)sent);
		done += (unsigned)sent;
	}
	w->ntx[k] = 0;
}

static void
tx_add(struct relay_worker *w, struct relay_stream *in, enum relay_sk k, int fd,
       const union relay_sa *dst, socklen_t len, uint8_t *buf, size_t blen)
{
	struct mmsghdr *m;
	unsigned i;

	if (w->ntx[k] && w->txfd[k] != fd)
		tx_flush(w, in, k);
	i = w->ntx[k]++;
	w->txfd[k] = fd;
	w->txiov[k][i].iov_base = buf;
	w->txiov[k][i].iov_len = blen;
	m = &w->tx[k][i];
	memset(m, 0, sizeof(*m));
	m->msg_hdr.msg_iov = &w->txiov[k][i];
	m->msg_hdr.msg_iovlen = 1;
	m->msg_hdr.msg_name = (void *)(uintptr_t)dst;
	m->msg_hdr.msg_namelen = len;
}

/* The peer's own reception report (plain RTCP, or SRTCP once
   unprotected). Its jitter is in the units of the clock of the media we
   send it, the same codec as what it sends. */
static void
rtcp_reports(void *arg, const uint8_t *buf, size_t len)
{
	struct relay_stream *st = arg;
	struct rtp_rtcp_rb rb;

	if (rtp_rtcp_check(buf, len) || rtp_rtcp_rb_find(buf, len, &rb))
		return;
	RELAY_INC(st->st.peer_reports, 1);
	RELAY_SET(st->st.peer_fraction, rb.fraction);
	RELAY_SET(st->st.peer_lost, rb.cum_lost);
	RELAY_SET(st->st.peer_jitter_us,
		  (uint32_t)((uint64_t)rb.jitter * 1000000u / st->rate));
}

/* The second byte of an RTP header: marker bit kept, PT mapped. */
static void
pt_map(void *arg, uint8_t *buf, size_t len)
{
	const struct relay_stream *st = arg;

	if (len >= 12)
		buf[1] = (uint8_t)((buf[1] & 0x80) | st->ptmap[buf[1] & 0x7f]);
}

/* Header checks and receive statistics; never prevents forwarding. */
static void
pkt_account(struct relay_stream *st, bool rtcp, const uint8_t *buf, size_t len,
	    uint64_t us)
{
	struct rtp_hdr h;

	if (rtcp) {
		RELAY_INC(st->st.rtcp, 1);
		/* SRTCP carries its index and tag after the packets: read
		   it once unprotected (pkt_in) */
		if (RELAY_GET(st->st.srtp_in))
			return;
		if (rtp_rtcp_check(buf, len))
			RELAY_INC(st->st.malformed, 1);
		else
			rtcp_reports(st, buf, len);
		return;
	}
	if (rtp_hdr_decode(buf, len, &h)) {
		RELAY_INC(st->st.malformed, 1);
		return;
	}
	rtp_rxstat_update(&st->rx, &h, us, st->rate);
	RELAY_SET(st->st.lost, rtp_rxstat_lost(&st->rx));
	RELAY_SET(st->st.jitter, rtp_rxstat_jitter(&st->rx));
	RELAY_SET(st->st.jitter_us,
		  (uint32_t)((uint64_t)rtp_rxstat_jitter(&st->rx) * 1000000u /
			     (st->rate)));
}

/* One datagram received on socket s of stream st. */
static void
pkt_in(struct relay_worker *w, struct relay_sock *s, unsigned i, uint64_t us)
{
	struct relay_stream *st = s->st;
	struct relay_stream *out = &st->core->s[!st->leg][st->idx];
	uint8_t *buf = w->rxiov[i].iov_base;
	size_t len = w->rx[i].msg_len;
	const union relay_sa *dst;
	enum relay_sk ok;
	socklen_t dlen;
	bool rtcp;

	rtcp = s->k == RELAY_SK_RTCP || (st->mux && rtp_is_rtcp(buf, len));
	RELAY_INC(st->st.packets, 1);
	RELAY_INC(w->tot.packets, 1);
	RELAY_INC(st->st.bytes, len);
	if (w->rx[i].msg_hdr.msg_flags & MSG_TRUNC) {
		RELAY_INC(st->st.drop_big, 1); /* beyond our buffer */
		RELAY_INC(w->tot.drop_big, 1);
		return;
	}
	if (!st->have_rem || !st->siglen[s->k]) {
		RELAY_INC(st->st.drop_noremote, 1);
		RELAY_INC(w->tot.drop_noremote, 1);
		return;
	}
	if (!src_ok(st, s->k, &w->src[i], w->rx[i].msg_hdr.msg_namelen,
		    us / 1000)) {
		RELAY_INC(st->st.drop_source, 1);
		RELAY_INC(w->tot.drop_source, 1);
		return;
	}
	RELAY_SET(st->st.last_ms, us / 1000);
	pkt_account(st, rtcp, buf, len, us);
	/* RTCP flows on hold too (RFC 3264 §5.1); RTP only where the
	   sender may send and the receiver wants it */
	if (!rtcp && (!dir_sends((enum relay_dir)st->dir) ||
		      !dir_recvs((enum relay_dir)out->dir))) {
		RELAY_INC(st->st.drop_hold, 1);
		RELAY_INC(w->tot.drop_hold, 1);
		return;
	}
	if (!dest_of(out, rtcp, &ok, &dst, &dlen)) {
		RELAY_INC(st->st.drop_noremote, 1);
		RELAY_INC(w->tot.drop_noremote, 1);
		return;
	}
	/* RFC 3711 §3.3/§3.4: authenticate (and decrypt) what the peer
	   protected, protect for the other peer; a failure (bad tag,
	   replay, malformed) never reaches the other leg */
	if (st->srtp_fail ||
	    (st->xf &&
	     (rtcp ? sec_xform_rtcp_mid(st->xf, buf, &len, RELAY_SLOT,
					RELAY_GET(st->st.srtp_in) ? rtcp_reports
								  : NULL,
					st)
		   : sec_xform_rtp_mid(st->xf, buf, &len, RELAY_SLOT,
				       st->ptmap ? pt_map : NULL, st)))) {
		RELAY_INC(st->st.drop_srtp, 1);
		RELAY_INC(w->tot.drop_srtp, 1);
		return;
	}
	if (!st->xf && st->ptmap && !rtcp)
		pt_map(st, buf, len);
	tx_add(w, st, rtcp ? RELAY_SK_RTCP : RELAY_SK_RTP, out->sock[ok].fd,
	       dst, dlen, buf, len);
}

/*
 * Readable socket: up to 4 batches of conf.batch datagrams, each
 * forwarded in one sendmmsg() per output socket. The clock is read once
 * per batch.
 */
void
relay_fwd_read(int fd, short what, void *arg)
{
	struct relay_sock *s = arg;
	struct relay_worker *w = s->st->core->w;
	unsigned batch = w->batch, round, i, k;
	uint64_t us;
	int n;

	for (round = 0; round < 4; round++) {
		for (i = 0; i < batch; i++) {
			w->rx[i].msg_hdr.msg_namelen = sizeof(w->src[i]);
			w->rx[i].msg_hdr.msg_flags = 0;
		}
		n = recvmmsg(fd, w->rx, batch, MSG_DONTWAIT, NULL);
		if (n <= 0)
			break;
		us = now_us();
		for (i = 0; i < (unsigned)n; i++)
			pkt_in(w, s, i, us);
		for (k = 0; k < RELAY_SK_COUNT; k++) {
			if (w->ntx[k])
				tx_flush(w, s->st, k);
		}
		if ((unsigned)n < batch)
			break;
	}
}
