/* SIP transport context: configuration, incoming message handling (RFC
   3261 §18.1.2, §18.2.1, RFC 3581) and send routing (§18.1.1, §18.2.2)
   for UDP, TCP and TLS. */
#define LOG_MODULE "tp"

#include "tp.h"

#include <arpa/inet.h>
#include <errno.h>
#include <event2/event.h>
#include <netinet/in.h>
#include <openssl/ssl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "log.h"
#include "mem.h"
#include "sip_write.h"
#include "tp_int.h"

void
tp_conf_default(struct tp_conf *conf)
{
	memset(conf, 0, sizeof(*conf));
	sip_limits_default(&conf->lim);
	conf->max_conns = 1024;
	conf->max_out_conns = 1024;
	conf->idle_ms = 120000;
	conf->msg_timeout_ms = 30000;
	conf->accept_backoff_ms = 100;
	conf->connect_ms = 10000;
	conf->max_outq = 1024 * 1024;
	conf->udp_batch = TP_UDP_BATCH_MAX;
	conf->mtu = 0;
	conf->udp_rcvbuf = 2 * 1024 * 1024;
	conf->tls.verify_peer = true;
	conf->tls.min_version = TLS1_2_VERSION;
	conf->tls.handshake_ms = 10000;
}

/*
 * Open one listening socket for ls: SO_REUSEPORT (each worker opens its
 * own on the same port), IPv6-only for AF_INET6 so a v4 and a v6 listener
 * can share a port, listen() for streams, the bound address read back
 * (port 0 allowed), and a persistent read event calling cb. UDP sockets
 * get the configured receive buffer. Returns 0 or an errno; on error
 * nothing is left open.
 */
int
tp_lsock_open(struct tp_ctx *ctx, struct tp_lsock *ls, int type,
	      const struct sockaddr *addr, socklen_t len, event_callback_fn cb)
{
	int fd, on = 1, err;

	fd = socket(addr->sa_family, type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return errno;
	if ((type == SOCK_STREAM &&
	     setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on))) ||
	    setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &on, sizeof(on)) ||
	    (addr->sa_family == AF_INET6 &&
	     setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &on, sizeof(on))))
		goto fail;
	/* best effort: the kernel clamps it to net.core.rmem_max */
	if (type == SOCK_DGRAM && ctx->conf.udp_rcvbuf)
		(void)setsockopt(fd, SOL_SOCKET, SO_RCVBUF,
				 &ctx->conf.udp_rcvbuf,
				 sizeof(ctx->conf.udp_rcvbuf));
	if (bind(fd, addr, len) || (type == SOCK_STREAM && listen(fd, 1024)))
		goto fail;
	ls->len = sizeof(ls->addr);
	if (getsockname(fd, (struct sockaddr *)&ls->addr, &ls->len))
		goto fail;
	ls->ev = event_new(ctx->base, fd, EV_READ | EV_PERSIST, cb, ls);
	if (!ls->ev || event_add(ls->ev, NULL)) {
		errno = ENOMEM;
		goto fail;
	}
	ls->fd = fd;
	return 0;
fail:
	err = errno;
	if (ls->ev)
		event_free(ls->ev);
	ls->ev = NULL;
	close(fd);
	return err;
}

const char *
tp_proto_name(enum tp_proto proto)
{
	static const char *const names[TP_PROTO_COUNT] = {
		[TP_UDP] = "UDP", [TP_TCP] = "TCP", [TP_TLS] = "TLS"};

	return (unsigned)proto < TP_PROTO_COUNT ? names[proto] : "?";
}

/* The zero-delay event: send what callbacks other than a receive batch
   queued (timers, hand-overs from other workers, TCP input). */
static void
flush_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	tp_udp_flush_all(arg);
}

static void
ctx_destroy(void *arg)
{
	struct tp_ctx *ctx = arg;
	unsigned i;

	tp_udp_flush_all(ctx); /* what the last callback queued */
	tp_tcp_close_all(ctx);
	tp_tls_free(ctx);
	for (i = 0; i < ctx->nls; i++) {
		if (ctx->ls[i].ev)
			event_free(ctx->ls[i].ev);
		if (ctx->ls[i].backoff)
			event_free(ctx->ls[i].backoff);
		tp_udp_close(&ctx->ls[i]);
		if (ctx->ls[i].fd >= 0)
			close(ctx->ls[i].fd);
	}
	if (ctx->flush_ev)
		event_free(ctx->flush_ev);
	free(ctx->udp_buf);
	free(ctx->reply_buf);
	free(ctx->msg);
	free(ctx->smsg);
}

int
tp_ctx_alloc(struct tp_ctx **ctxp, struct event_base *base,
	     const struct tp_conf *conf, tp_recv_h *recvh, tp_err_h *errh,
	     void *arg)
{
	struct tp_ctx *ctx;
	int err;

	if (!ctxp || !base || !recvh)
		return EINVAL;
	ctx = mem_zalloc(sizeof(*ctx), ctx_destroy);
	if (!ctx)
		return ENOMEM;
	ctx->base = base;
	if (conf)
		ctx->conf = *conf;
	else
		tp_conf_default(&ctx->conf);
	if (ctx->conf.udp_batch == 0 || ctx->conf.udp_batch > TP_UDP_BATCH_MAX)
		ctx->conf.udp_batch = TP_UDP_BATCH_MAX;
	ctx->recvh = recvh;
	ctx->errh = errh;
	ctx->arg = arg;
	/* a stateless reply copies Via, From, To, Call-ID, CSeq lines of a
	   request of at most max_msg bytes, plus a status line and a tag */
	ctx->reply_size = ctx->conf.lim.max_msg + 1024;
	ctx->reply_buf = malloc(ctx->reply_size);
	if (stag_key_init(&ctx->stag) || stag_key_init(&ctx->hkey)) {
		mem_deref(ctx);
		return EIO;
	}
	ctx->msg = malloc(sizeof(*ctx->msg));
	ctx->smsg = malloc(sizeof(*ctx->smsg));
	ctx->flush_ev = event_new(base, -1, 0, flush_cb, ctx);
	if (!ctx->reply_buf || !ctx->msg || !ctx->smsg || !ctx->flush_ev) {
		mem_deref(ctx);
		return ENOMEM;
	}
	err = tp_tls_setup(ctx);
	if (err) {
		mem_deref(ctx);
		return err;
	}
	*ctxp = ctx;
	return 0;
}

int
tp_listen(struct tp_ctx *ctx, enum tp_proto proto, const struct sockaddr *addr,
	  socklen_t len)
{
	struct tp_lsock *ls;
	int err;

	if (!ctx || !addr || proto >= TP_PROTO_COUNT ||
	    (addr->sa_family != AF_INET && addr->sa_family != AF_INET6))
		return EINVAL;
	if (ctx->nls == TP_LSOCK_MAX)
		return ENOSPC;
	if (proto == TP_TLS && !ctx->tls_srv)
		return EINVAL; /* no server certificate */
	if (proto == TP_UDP && !ctx->udp_buf) {
		ctx->udp_buf =
			malloc((size_t)ctx->conf.udp_batch * TP_UDP_SLOT);
		if (!ctx->udp_buf)
			return ENOMEM;
	}
	ls = &ctx->ls[ctx->nls];
	memset(ls, 0, sizeof(*ls));
	ls->ctx = ctx;
	ls->proto = proto;
	ls->fd = -1;
	if (proto == TP_UDP)
		err = tp_udp_open(ctx, ls, addr, len);
	else
		err = tp_tcp_listen(ctx, ls, addr, len);
	if (err)
		return err;
	ctx->nls++;
	return 0;
}

int
tp_addr_set(struct sockaddr_storage *ss, socklen_t *len, const char *ip,
	    uint16_t port)
{
	struct sockaddr_in *s4 = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)ss;

	if (!ss || !len || !ip)
		return EINVAL;
	memset(ss, 0, sizeof(*ss));
	if (inet_pton(AF_INET, ip, &s4->sin_addr) == 1) {
		s4->sin_family = AF_INET;
		s4->sin_port = htons(port);
		*len = sizeof(*s4);
		return 0;
	}
	if (inet_pton(AF_INET6, ip, &s6->sin6_addr) == 1) {
		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons(port);
		*len = sizeof(*s6);
		return 0;
	}
	return EINVAL;
}

int
tp_listen_str(struct tp_ctx *ctx, enum tp_proto proto, const char *ip,
	      uint16_t port)
{
	struct sockaddr_storage ss;
	socklen_t len;
	int err = tp_addr_set(&ss, &len, ip, port);

	return err ? err : tp_listen(ctx, proto, (struct sockaddr *)&ss, len);
}

int
tp_local_addr(const struct tp_ctx *ctx, enum tp_proto proto, int family,
	      struct sockaddr_storage *ss, socklen_t *len)
{
	unsigned i;

	for (i = 0; ctx && i < ctx->nls; i++) {
		if (ctx->ls[i].proto != proto ||
		    ctx->ls[i].addr.ss_family != family)
			continue;
		if (ss)
			*ss = ctx->ls[i].addr;
		if (len)
			*len = ctx->ls[i].len;
		return 0;
	}
	return ENOENT;
}

uint16_t
tp_local_port(const struct tp_ctx *ctx, enum tp_proto proto, int family)
{
	struct sockaddr_storage ss;

	if (tp_local_addr(ctx, proto, family, &ss, NULL))
		return 0;
	return tp_addr_port((struct sockaddr *)&ss);
}

int
tp_has_proto(const struct tp_ctx *ctx, enum tp_proto proto, int family)
{
	return tp_local_addr(ctx, proto, family, NULL, NULL) == 0;
}

int
tp_sentby_add(struct tp_ctx *ctx, const char *host, uint16_t port)
{
	struct tp_sentby *sb;

	if (!ctx || !host || !*host || strlen(host) >= sizeof(sb->host))
		return EINVAL;
	if (ctx->nsentby == TP_SENTBY_MAX)
		return ENOSPC;
	sb = &ctx->sentby[ctx->nsentby++];
	snprintf(sb->host, sizeof(sb->host), "%s", host);
	sb->port = port;
	return 0;
}

const struct tp_stats *
tp_stats(const struct tp_ctx *ctx)
{
	return &ctx->stats;
}

/* One writer (the ctx's thread): a relaxed load and store, no locked
   instruction. */
static void
resp_inc(_Atomic uint64_t *c)
{
	atomic_store_explicit(c,
			      atomic_load_explicit(c, memory_order_relaxed) + 1,
			      memory_order_relaxed);
}

/* A message sent: its class when it is a response (§7.2 Status-Line,
   "SIP/2.0 " then three digits). */
static void
resp_tx(struct tp_ctx *ctx, const char *buf, size_t len)
{
	if (len > 11 && memcmp(buf, "SIP/2.0 ", 8) == 0 && buf[8] >= '1' &&
	    buf[8] <= '6')
		resp_inc(&ctx->resp_tx[buf[8] - '0']);
}

void
tp_resp_counts(const struct tp_ctx *ctx, struct tp_resp_counts *rc)
{
	struct tp_ctx *m = (struct tp_ctx *)(uintptr_t)ctx; /* atomics */

	for (int i = 0; i < 7; i++) {
		rc->rx[i] = atomic_load_explicit(&m->resp_rx[i],
						 memory_order_relaxed);
		rc->tx[i] = atomic_load_explicit(&m->resp_tx[i],
						 memory_order_relaxed);
	}
}

/* ---- addresses ---------------------------------------------------- */

uint16_t
tp_addr_port(const struct sockaddr *sa)
{
	if (sa->sa_family == AF_INET)
		return ntohs(((const struct sockaddr_in *)sa)->sin_port);
	if (sa->sa_family == AF_INET6)
		return ntohs(((const struct sockaddr_in6 *)sa)->sin6_port);
	return 0;
}

void
tp_addr_set_port(struct sockaddr_storage *ss, uint16_t port)
{
	if (ss->ss_family == AF_INET)
		((struct sockaddr_in *)ss)->sin_port = htons(port);
	else if (ss->ss_family == AF_INET6)
		((struct sockaddr_in6 *)ss)->sin6_port = htons(port);
}

/* Same family, address and port. */
bool
tp_addr_eq(const struct sockaddr *a, const struct sockaddr *b)
{
	const struct sockaddr_in *a4 = (const void *)a, *b4 = (const void *)b;
	const struct sockaddr_in6 *a6 = (const void *)a, *b6 = (const void *)b;

	if (a->sa_family != b->sa_family)
		return false;
	if (a->sa_family == AF_INET)
		return a4->sin_port == b4->sin_port &&
		       a4->sin_addr.s_addr == b4->sin_addr.s_addr;
	if (a->sa_family == AF_INET6)
		return a6->sin6_port == b6->sin6_port &&
		       !memcmp(&a6->sin6_addr, &b6->sin6_addr, 16);
	return false;
}

/* Does host (an IP literal, else false) name the address of sa? A
   wildcard sa matches any address when wild is set. */
static bool
host_is_addr(const struct pl *host, const struct sockaddr *sa, bool wild)
{
	const struct sockaddr_in *s4 = (const void *)sa;
	const struct sockaddr_in6 *s6 = (const void *)sa;
	unsigned char bin[16];
	char txt[64];

	if (!host->p || host->l == 0 || host->l >= sizeof(txt))
		return false;
	pl_strcpy(host, txt, sizeof(txt));
	if (sa->sa_family == AF_INET) {
		if (inet_pton(AF_INET, txt, bin) != 1)
			return false;
		return (wild && s4->sin_addr.s_addr == htonl(INADDR_ANY)) ||
		       !memcmp(bin, &s4->sin_addr, 4);
	}
	if (sa->sa_family == AF_INET6) {
		if (inet_pton(AF_INET6, txt, bin) != 1)
			return false;
		return (wild && IN6_IS_ADDR_UNSPECIFIED(&s6->sin6_addr)) ||
		       !memcmp(bin, &s6->sin6_addr, 16);
	}
	return false;
}

/* The IP of sa as text (no port, no brackets); NULL if not IP. */
static const char *
addr_ip_text(const struct sockaddr *sa, char *buf, size_t sz)
{
	const struct sockaddr_in *s4 = (const void *)sa;
	const struct sockaddr_in6 *s6 = (const void *)sa;

	if (sa->sa_family == AF_INET)
		return inet_ntop(AF_INET, &s4->sin_addr, buf, (socklen_t)sz);
	if (sa->sa_family == AF_INET6)
		return inet_ntop(AF_INET6, &s6->sin6_addr, buf, (socklen_t)sz);
	return NULL;
}

const char *
tp_addr_str(const struct sockaddr *sa, char *buf, size_t sz)
{
	char ip[INET6_ADDRSTRLEN];

	if (!addr_ip_text(sa, ip, sizeof(ip)))
		snprintf(buf, sz, "?");
	else if (sa->sa_family == AF_INET6)
		snprintf(buf, sz, "[%s]:%u", ip, tp_addr_port(sa));
	else
		snprintf(buf, sz, "%s:%u", ip, tp_addr_port(sa));
	return buf;
}

/* ---- incoming ----------------------------------------------------- */

/* §18.1.2: the top Via sent-by of a response must be one we insert. */
static bool
sentby_ours(const struct tp_ctx *ctx, const struct sip_via *via)
{
	uint16_t port = via->port ? via->port
			: pl_caseeq_str(&via->transport, "TLS")
				? TP_DEFAULT_TLS_PORT
				: TP_DEFAULT_PORT;
	struct sockaddr_storage ss;
	socklen_t len;
	unsigned i;

	for (i = 0; i < ctx->nsentby; i++) {
		const struct tp_sentby *sb = &ctx->sentby[i];

		if ((sb->port ? sb->port : TP_DEFAULT_PORT) != port)
			continue;
		if (pl_caseeq_str(&via->host, sb->host))
			return true;
		if (!tp_addr_set(&ss, &len, sb->host, 0) &&
		    host_is_addr(&via->host, (struct sockaddr *)&ss, false))
			return true;
	}
	if (ctx->nsentby)
		return false;
	for (i = 0; i < ctx->nls; i++) {
		const struct sockaddr *la = (const void *)&ctx->ls[i].addr;

		if (tp_addr_port(la) == port &&
		    host_is_addr(&via->host, la, true))
			return true;
	}
	return false;
}

/* §18.2.1 and RFC 3581 §4: what the layer above must add to the Via. */
static void
recv_via(struct tp_recv *rx, const struct sip_via *via)
{
	rx->via_port = via->port;
	rx->rport = via->rport;
	rx->add_received =
		via->rport ||
		!host_is_addr(&via->host, (struct sockaddr *)&rx->src, false);
}

/* The first Via value of an unparseable message, by a tolerant scan of
   its lines (no index of the failed parse is trusted). */
static int
raw_top_via(const char *buf, size_t len, struct sip_via *via)
{
	const char *p = buf, *e = buf + len, *nl, *le, *c, *why;
	struct pl name, val, elem;

	nl = memchr(p, '\n', len);
	while (nl && nl + 1 < e) {
		p = nl + 1;
		nl = memchr(p, '\n', (size_t)(e - p));
		le = nl ? nl : e;
		if (le > p && le[-1] == '\r')
			le--;
		if (le == p)
			break; /* end of headers */
		c = memchr(p, ':', (size_t)(le - p));
		if (!c)
			continue;
		pl_set(&name, p, (size_t)(c - p));
		pl_trim(&name);
		if (!pl_caseeq_str(&name, "Via") && !pl_caseeq_str(&name, "v"))
			continue;
		pl_set(&val, c + 1, (size_t)(le - c - 1));
		pl_trim(&val);
		if (sip_list_next(&val, &elem))
			return EBADMSG;
		return sip_via_decode(via, &elem, &why);
	}
	return ENOENT;
}

/*
 * §18.2 / §8.2: answer a request that failed to parse with the status
 * the parser chose (400 naming the problem, 505, 413), to where §18.2.2
 * says; when there is no Via to answer to, or it is a response, drop.
 */
static void
reply_perr(struct tp_ctx *ctx, const char *buf, size_t len,
	   const struct sip_perr *perr, struct tp_recv *rx)
{
	struct sip_via via;
	struct sip_wbuf wb;
	char tag[STAG_LEN + 1];
	struct pl totag;
	size_t olen;

	if (perr->status == 0 || raw_top_via(buf, len, &via)) {
		ctx->stats.rx_dropped++;
		return;
	}
	recv_via(rx, &via);
	/* §8.2.7: the same tag for the same request (a retransmission
	   carries the same top Via, branch included), see stag.h */
	stag_make(&ctx->stag, &via.raw, 1, tag);
	pl_set(&totag, tag, STAG_LEN);
	sip_wb_init(&wb, ctx->reply_buf, ctx->reply_size);
	sip_wb_reply_perr(&wb, buf, len, perr, &totag);
	if (sip_wb_end(&wb, NULL, &olen)) {
		ctx->stats.rx_dropped++;
		return;
	}
	if (tp_send_response(ctx, rx, ctx->reply_buf, olen) == 0)
		ctx->stats.tx_stateless++;
}

/* Only CR, LF, SP, HTAB: a keep-alive, not a message. */
static bool
is_keepalive(const char *buf, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++)
		if (buf[i] != '\r' && buf[i] != '\n' && buf[i] != ' ' &&
		    buf[i] != '\t')
			return false;
	return len > 0;
}

void
tp_input(struct tp_ctx *ctx, const char *buf, size_t len,
	 enum sip_framing framing, struct tp_recv *rx)
{
	struct sip_msg *msg = ctx->msg;
	struct sip_perr perr;

	if (framing == SIP_FRAMING_DGRAM && is_keepalive(buf, len)) {
		ctx->stats.rx_keepalive++;
		return;
	}
	memset(&perr, 0, sizeof(perr));
	if (sip_msg_parse(msg, buf, len, framing, &ctx->conf.lim, &perr)) {
		char why[128];

		ctx->stats.rx_parse_err++;
		LOG_DBG("%s message from port %u: %s", tp_proto_name(rx->proto),
			tp_addr_port((struct sockaddr *)&rx->src),
			sip_perr_phrase(&perr, why, sizeof(why)));
		reply_perr(ctx, buf, len, &perr, rx);
		return;
	}
	if (msg->req) {
		recv_via(rx, &msg->via);
	} else if (!sentby_ours(ctx, &msg->via)) {
		/* §18.1.2: MUST be silently discarded */
		ctx->stats.rx_not_ours++;
		ctx->stats.rx_dropped++;
		return;
	}
	ctx->stats.rx_msgs++;
	if (!msg->req && msg->status >= 100 && msg->status <= 699)
		resp_inc(&ctx->resp_rx[msg->status / 100]);
	ctx->recvh(msg, rx, ctx->arg);
}

/* ---- sending ------------------------------------------------------ */

bool
tp_size_needs_tcp(size_t len, unsigned mtu)
{
	/* §18.1.1: within 200 bytes of the path MTU, or larger than 1300
	   bytes when the path MTU is unknown */
	if (mtu == 0)
		return len > 1300;
	return len + 200 > mtu;
}

enum tp_proto
tp_request_proto(const struct tp_ctx *ctx, enum tp_proto want, size_t len)
{
	if (want == TP_UDP && tp_size_needs_tcp(len, ctx->conf.mtu) &&
	    (tp_has_proto(ctx, TP_TCP, AF_INET) ||
	     tp_has_proto(ctx, TP_TCP, AF_INET6)))
		return TP_TCP;
	return want;
}

/*
 * §18.1.1: send a too-big UDP request over TCP. The top Via transport
 * MUST then say TCP: "UDP" and "TCP" have the same length, so a copy is
 * patched in place. Returns ENOENT when this is not possible (not a
 * request, no Content-Length, Via not UDP): the caller sends over UDP.
 */
static int
send_big_over_tcp(struct tp_ctx *ctx, const struct sockaddr *dst,
		  socklen_t dstlen, const char *buf, size_t len)
{
	struct sip_msg *m = ctx->smsg;
	struct sip_perr perr;
	size_t off;
	char *copy;

	/* responses follow their request's transport (§18.2.2): no parse */
	if (len >= 8 && memcmp(buf, "SIP/2.0 ", 8) == 0)
		return ENOENT;
	int err;

	if (sip_msg_parse(m, buf, len, SIP_FRAMING_DGRAM, NULL, &perr) ||
	    !m->req || !m->clen_set || m->len != len ||
	    !pl_caseeq_str(&m->via.transport, "UDP"))
		return ENOENT;
	off = (size_t)(m->via.transport.p - buf);
	copy = malloc(len);
	if (!copy)
		return ENOMEM;
	memcpy(copy, buf, len);
	memcpy(copy + off, "TCP", 3);
	err = tp_tcp_send(ctx, TP_TCP, NULL, dst, dstlen, NULL, copy, len);
	free(copy);
	if (!err)
		ctx->stats.tx_udp_to_tcp++;
	return err;
}

static int
send_udp(struct tp_ctx *ctx, const struct sockaddr *dst, socklen_t dstlen,
	 unsigned lsock, const char *buf, size_t len)
{
	struct tp_lsock *ls = tp_udp_pick(ctx, dst, lsock);

	if (!ls)
		return EAFNOSUPPORT;
	return tp_udp_send(ctx, ls, dst, dstlen, buf, len);
}

int
tp_send(struct tp_ctx *ctx, enum tp_proto proto, const struct sockaddr *dst,
	socklen_t dstlen, struct tp_conn *conn, const char *buf, size_t len)
{
	return tp_send_host(ctx, proto, dst, dstlen, NULL, conn, buf, len);
}

int
tp_send_host(struct tp_ctx *ctx, enum tp_proto proto,
	     const struct sockaddr *dst, socklen_t dstlen, const char *host,
	     struct tp_conn *conn, const char *buf, size_t len)
{
	int err;

	if (!ctx || !buf || !len || proto >= TP_PROTO_COUNT)
		return EINVAL;
	if (proto == TP_TCP || proto == TP_TLS) {
		err = tp_tcp_send(ctx, proto, conn, dst, dstlen, host, buf,
				  len);
		goto out;
	}
	if (!dst)
		return EINVAL;
	if (tp_size_needs_tcp(len, ctx->conf.mtu)) {
		if (tp_request_proto(ctx, TP_UDP, len) == TP_TCP) {
			err = send_big_over_tcp(ctx, dst, dstlen, buf, len);
			if (err != ENOENT)
				goto out;
		}
		ctx->stats.tx_udp_big++;
		LOG_DBG("%zu-byte request over UDP: TCP not possible", len);
	}
	err = send_udp(ctx, dst, dstlen, TP_LSOCK_MAX, buf, len);
out:
	if (err) {
		ctx->stats.tx_errors++;
	} else {
		ctx->stats.tx_msgs++;
		resp_tx(ctx, buf, len);
	}
	return err;
}

int
tp_response_dest(const struct tp_recv *rx, struct sockaddr_storage *dst,
		 socklen_t *len)
{
	if (!rx || !dst || !len || !rx->srclen)
		return EINVAL;
	/* §18.2.1 makes received= the source IP whenever the sent-by
	   differs, so the IP is always the source's. maddr (multicast) is
	   not supported and ignored. */
	*dst = rx->src;
	*len = rx->srclen;
	/* RFC 3581 §4: with rport, the source port (unreliable only: over
	   TCP the response rides the connection) */
	if (rx->proto == TP_UDP && rx->rport)
		return 0;
	tp_addr_set_port(dst, rx->via_port	    ? rx->via_port
			      : rx->proto == TP_TLS ? TP_DEFAULT_TLS_PORT
						    : TP_DEFAULT_PORT);
	return 0;
}

int
tp_send_response(struct tp_ctx *ctx, const struct tp_recv *rx, const char *buf,
		 size_t len)
{
	struct sockaddr_storage dst;
	socklen_t dlen;
	int err;

	if (!ctx || !rx || !buf || !len)
		return EINVAL;
	err = tp_response_dest(rx, &dst, &dlen);
	if (err)
		return err;
	/* §18.2.2: reliable: the same connection if still open, else a new
	   one to received (the source IP) and the sent-by port */
	if (rx->proto == TP_TCP || rx->proto == TP_TLS)
		err = tp_tcp_send(ctx, rx->proto, rx->conn,
				  (struct sockaddr *)&dst, dlen, NULL, buf,
				  len);
	else
		err = send_udp(ctx, (struct sockaddr *)&dst, dlen, rx->lsock,
			       buf, len);
	if (err) {
		ctx->stats.tx_errors++;
	} else {
		ctx->stats.tx_msgs++;
		resp_tx(ctx, buf, len);
	}
	return err;
}

/* ---- Via with received/rport -------------------------------------- */

/* Append src[0..n) to buf at *pos; false when it does not fit. */
static bool
put(char *buf, size_t size, size_t *pos, const char *src, size_t n)
{
	if (n > size - *pos)
		return false;
	memcpy(buf + *pos, src, n);
	*pos += n;
	return true;
}

/* Next ";param" of params (quoted strings skipped); false at the end. */
static bool
next_param(struct pl *rest, struct pl *param, struct pl *name)
{
	const char *p = rest->p, *e = rest->p + rest->l, *s;
	bool q = false;

	while (p < e && *p != ';')
		p++;
	if (p == e)
		return false;
	s = ++p;
	for (; p < e && (q || *p != ';'); p++) {
		if (*p == '"')
			q = !q;
		else if (q && *p == '\\' && p + 1 < e)
			p++;
	}
	pl_set(param, s, (size_t)(p - s));
	pl_set(rest, p, (size_t)(e - p));
	*name = *param;
	for (s = param->p; s < p && *s != '='; s++)
		;
	name->l = (size_t)(s - param->p);
	pl_trim(name);
	return true;
}

int
tp_via_print(const struct tp_recv *rx, const struct sip_via *via, char *buf,
	     size_t size, size_t *len)
{
	const struct sockaddr *sa = (const void *)&rx->src;
	struct pl rest, param, name;
	char ip[INET6_ADDRSTRLEN], tmp[64];
	size_t pos = 0, head;
	bool ok;
	int n;

	if (!rx || !via || !buf || !len || !via->raw.p)
		return EINVAL;
	head = via->params.p ? (size_t)(via->params.p - via->raw.p)
			     : via->raw.l;
	ok = put(buf, size, &pos, via->raw.p, head);
	rest = via->params.p ? via->params : (struct pl)PL_INIT;
	while (ok && rest.p && next_param(&rest, &param, &name)) {
		if (pl_caseeq_str(&name, "received") ||
		    pl_caseeq_str(&name, "rport"))
			continue;
		ok = put(buf, size, &pos, ";", 1) &&
		     put(buf, size, &pos, param.p, param.l);
	}
	if (ok && rx->add_received) {
		if (!addr_ip_text(sa, ip, sizeof(ip)))
			return EINVAL;
		n = snprintf(tmp, sizeof(tmp), ";received=%s", ip);
		ok = put(buf, size, &pos, tmp, (size_t)n);
	}
	if (ok && rx->rport) {
		n = snprintf(tmp, sizeof(tmp), ";rport=%u", tp_addr_port(sa));
		ok = put(buf, size, &pos, tmp, (size_t)n);
	}
	if (!ok)
		return ENOSPC;
	*len = pos;
	return 0;
}

void
tp_recv_copy(struct tp_recv *dst, const struct tp_recv *src)
{
	*dst = *src;
	dst->conn = mem_ref(src->conn);
}

void
tp_recv_release(struct tp_recv *rx)
{
	rx->conn = mem_deref(rx->conn);
}
