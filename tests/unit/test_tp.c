/* Unit tests: SIP transports over UDP and TCP (stack/tp*.c). Real sockets
   on 127.0.0.1 and [::1] only; every event loop run is bounded by
   event_base_loopexit() timeouts of at most a few hundred ms. */
#include <arpa/inet.h>
#include <errno.h>
#include <event2/event.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "stack/mem.h"
#include "stack/sip_msg.h"
#include "stack/tp.h"
#include "testutil.h"

/* ---- harness ------------------------------------------------------ */

struct tstate {
	struct event_base *base;
	struct tp_ctx *tp;
	int nrecv;
	char buf[2][4096]; /* first and last message delivered */
	size_t len[2];
	bool req;
	uint16_t status;
	struct tp_recv rx; /* copy of the last one (holds a conn ref) */
	int nerr, lasterr;
};

static void
on_recv(const struct sip_msg *msg, const struct tp_recv *rx, void *arg)
{
	struct tstate *st = arg;
	int i = st->nrecv ? 1 : 0;

	st->len[i] = msg->len < sizeof(st->buf[i]) ? msg->len : 0;
	memcpy(st->buf[i], msg->buf, st->len[i]);
	st->req = msg->req;
	st->status = msg->status;
	tp_recv_release(&st->rx);
	tp_recv_copy(&st->rx, rx);
	st->nrecv++;
}

static void
on_err(enum tp_proto proto, const struct sockaddr *peer, socklen_t len, int err,
       void *arg)
{
	struct tstate *st = arg;

	st->nerr++;
	st->lasterr = err;
}

static int
ts_init(struct tstate *st, const struct tp_conf *conf)
{
	memset(st, 0, sizeof(*st));
	st->base = event_base_new();
	if (!st->base)
		return ENOMEM;
	return tp_ctx_alloc(&st->tp, st->base, conf, on_recv, on_err, st);
}

static void
ts_done(struct tstate *st)
{
	tp_recv_release(&st->rx);
	st->tp = mem_deref(st->tp);
	event_base_free(st->base);
}

/* Run the loop for ms milliseconds at most. */
static void
run(struct tstate *st, int ms)
{
	struct timeval tv = {0, ms * 1000};

	event_base_loopexit(st->base, &tv);
	event_base_dispatch(st->base);
}

/* Run in 10 ms slices until *v >= want or ms have passed. */
static void
run_until(struct tstate *st, const uint64_t *v64, const int *v, long want,
	  int ms)
{
	int t;

	for (t = 0; t < ms; t += 10) {
		if ((v64 && (long)*v64 >= want) || (v && *v >= want))
			return;
		run(st, 10);
	}
}

static int
sock_open(int type, const char *ip, uint16_t port)
{
	struct sockaddr_storage ss;
	socklen_t len;
	int fd;

	if (tp_addr_set(&ss, &len, ip, port))
		return -1;
	fd = socket(ss.ss_family, type | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	if (bind(fd, (struct sockaddr *)&ss, len)) {
		close(fd);
		return -1;
	}
	return fd;
}

static uint16_t
sock_port(int fd)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);

	getsockname(fd, (struct sockaddr *)&ss, &len);
	return ss.ss_family == AF_INET
		       ? ntohs(((struct sockaddr_in *)&ss)->sin_port)
		       : ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
}

static void
send_to(int fd, const char *ip, uint16_t port, const char *buf, size_t len)
{
	struct sockaddr_storage ss;
	socklen_t sl;

	CU_ASSERT_FATAL(tp_addr_set(&ss, &sl, ip, port) == 0);
	CU_ASSERT(sendto(fd, buf, len, 0, (struct sockaddr *)&ss, sl) ==
		  (ssize_t)len);
}

/* Receive with a timeout: -1 with errno ETIMEDOUT when nothing came. */
static ssize_t
rd(int fd, char *buf, size_t sz, int ms)
{
	struct pollfd p = {fd, POLLIN, 0};

	if (poll(&p, 1, ms) <= 0) {
		errno = ETIMEDOUT;
		return -1;
	}
	return recv(fd, buf, sz, MSG_DONTWAIT);
}

/* A TCP client connected to ip:port (blocking connect; loopback). */
static int
tcp_client(const char *ip, uint16_t port)
{
	struct sockaddr_storage ss;
	socklen_t len;
	int fd;

	if (tp_addr_set(&ss, &len, ip, port))
		return -1;
	fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd >= 0 && connect(fd, (struct sockaddr *)&ss, len)) {
		close(fd);
		fd = -1;
	}
	return fd;
}

/* A request with the given top Via value. */
static size_t
mkreq(char *buf, size_t sz, const char *via, const char *cseq)
{
	int n = snprintf(buf, sz,
			 "OPTIONS sip:a@127.0.0.1 SIP/2.0\r\n"
			 "Via: %s\r\n"
			 "Max-Forwards: 70\r\n"
			 "From: <sip:b@example.com>;tag=1\r\n"
			 "To: <sip:a@example.com>\r\n"
			 "Call-ID: c1@example.com\r\n"
			 "CSeq: %s\r\n"
			 "Content-Length: 0\r\n\r\n",
			 via, cseq ? cseq : "1 OPTIONS");
	return (size_t)n;
}

static size_t
mkresp(char *buf, size_t sz, const char *via)
{
	int n = snprintf(buf, sz,
			 "SIP/2.0 200 OK\r\n"
			 "Via: %s\r\n"
			 "From: <sip:b@example.com>;tag=1\r\n"
			 "To: <sip:a@example.com>;tag=2\r\n"
			 "Call-ID: c1@example.com\r\n"
			 "CSeq: 1 OPTIONS\r\n"
			 "Content-Length: 0\r\n\r\n",
			 via);
	return (size_t)n;
}

/* ---- UDP ---------------------------------------------------------- */

static void
test_udp_request(void)
{
	struct tstate st;
	char req[1024], via[128], out[256];
	struct sockaddr_storage dst;
	struct sockaddr_in *sin = (struct sockaddr_in *)&st.rx.src;
	socklen_t dlen;
	uint16_t port, cport;
	size_t n, olen;
	int c;

	CU_ASSERT_FATAL(ts_init(&st, NULL) == 0);
	CU_ASSERT_FATAL(tp_listen_str(st.tp, TP_UDP, "127.0.0.1", 0) == 0);
	port = tp_local_port(st.tp, TP_UDP, AF_INET);
	CU_ASSERT(port != 0);
	c = sock_open(SOCK_DGRAM, "127.0.0.1", 0);
	CU_ASSERT_FATAL(c >= 0);
	cport = sock_port(c);

	snprintf(via, sizeof(via), "SIP/2.0/UDP 127.0.0.1:%u;branch=z9hG4bKa",
		 cport);
	n = mkreq(req, sizeof(req), via, NULL);
	send_to(c, "127.0.0.1", port, req, n);
	run_until(&st, NULL, &st.nrecv, 1, 300);
	CU_ASSERT_EQUAL_FATAL(st.nrecv, 1);
	CU_ASSERT(st.req);
	CU_ASSERT(st.len[0] == n && !memcmp(st.buf[0], req, n));
	CU_ASSERT_EQUAL(st.rx.proto, TP_UDP);
	CU_ASSERT_EQUAL(sin->sin_family, AF_INET);
	CU_ASSERT_EQUAL(ntohs(sin->sin_port), cport);
	CU_ASSERT_EQUAL(sin->sin_addr.s_addr, htonl(INADDR_LOOPBACK));
	CU_ASSERT(st.rx.local.ss_family == AF_INET);
	CU_ASSERT_PTR_NULL(st.rx.conn);
	CU_ASSERT(!st.rx.add_received); /* sent-by is the source address */
	CU_ASSERT(!st.rx.rport);
	CU_ASSERT_EQUAL(st.rx.via_port, cport);

	/* §18.2.1: a host name gets received=; RFC 3581 rport gets filled */
	snprintf(via, sizeof(via),
		 "SIP/2.0/UDP client.example.com:5099;rport;branch=z9hG4bKb");
	n = mkreq(req, sizeof(req), via, NULL);
	send_to(c, "127.0.0.1", port, req, n);
	run_until(&st, NULL, &st.nrecv, 2, 300);
	CU_ASSERT_EQUAL_FATAL(st.nrecv, 2);
	CU_ASSERT(st.rx.add_received);
	CU_ASSERT(st.rx.rport);
	{
		struct sip_msg *m = calloc(1, sizeof(*m));
		struct sip_perr pe;
		char exp[160];

		CU_ASSERT_FATAL(m != NULL);
		CU_ASSERT_FATAL(sip_msg_parse(m, st.buf[1], st.len[1],
					      SIP_FRAMING_DGRAM, NULL,
					      &pe) == 0);
		CU_ASSERT(tp_via_print(&st.rx, &m->via, out, sizeof(out),
				       &olen) == 0);
		snprintf(exp, sizeof(exp),
			 "SIP/2.0/UDP client.example.com:5099;branch=z9hG4bKb"
			 ";received=127.0.0.1;rport=%u",
			 cport);
		CU_ASSERT(olen == strlen(exp) && !memcmp(out, exp, olen));
		CU_ASSERT(tp_via_print(&st.rx, &m->via, out, 10, &olen) ==
			  ENOSPC);
		free(m);
	}
	/* RFC 3581 §4: the response goes to the source port */
	CU_ASSERT(tp_response_dest(&st.rx, &dst, &dlen) == 0);
	CU_ASSERT_EQUAL(ntohs(((struct sockaddr_in *)&dst)->sin_port), cport);
	CU_ASSERT_EQUAL(tp_stats(st.tp)->rx_msgs, 2);
	close(c);
	ts_done(&st);
}

static void
test_udp_trailing(void)
{
	struct tstate st;
	char req[1200], via[128];
	uint16_t port;
	size_t n;
	int c;

	CU_ASSERT_FATAL(ts_init(&st, NULL) == 0);
	CU_ASSERT_FATAL(tp_listen_str(st.tp, TP_UDP, "127.0.0.1", 0) == 0);
	port = tp_local_port(st.tp, TP_UDP, AF_INET);
	c = sock_open(SOCK_DGRAM, "127.0.0.1", 0);
	CU_ASSERT_FATAL(c >= 0);
	snprintf(via, sizeof(via), "SIP/2.0/UDP 127.0.0.1:%u;branch=z9hG4bKt",
		 sock_port(c));
	n = mkreq(req, sizeof(req), via, NULL);
	memcpy(req + n, "trailing junk", 13); /* §18.3: ignored */
	send_to(c, "127.0.0.1", port, req, n + 13);
	run_until(&st, NULL, &st.nrecv, 1, 300);
	CU_ASSERT_EQUAL_FATAL(st.nrecv, 1);
	CU_ASSERT_EQUAL(st.len[0], n);
	CU_ASSERT(!memcmp(st.buf[0], req, n));
	close(c);
	ts_done(&st);
}

/* Send a request with a bad Max-Forwards from a, naming b's port in its Via
   (with or without rport); return the socket the 400 came back on. */
static void
bad_request_reply(bool rport)
{
	struct tstate st;
	char req[1024], via[128], rsp[2048], tag[64];
	struct sip_msg *m = calloc(1, sizeof(*m));
	struct sip_perr pe;
	uint16_t port;
	struct tp_resp_counts rc;
	ssize_t r;
	size_t n;
	int a, b, want, other;

	CU_ASSERT_FATAL(m != NULL);
	CU_ASSERT_FATAL(ts_init(&st, NULL) == 0);
	CU_ASSERT_FATAL(tp_listen_str(st.tp, TP_UDP, "127.0.0.1", 0) == 0);
	port = tp_local_port(st.tp, TP_UDP, AF_INET);
	a = sock_open(SOCK_DGRAM, "127.0.0.1", 0);
	b = sock_open(SOCK_DGRAM, "127.0.0.1", 0);
	CU_ASSERT_FATAL(a >= 0 && b >= 0);
	snprintf(via, sizeof(via), "SIP/2.0/UDP 127.0.0.1:%u%s;branch=z9hG4bKx",
		 sock_port(b), rport ? ";rport" : "");
	n = mkreq(req, sizeof(req), via, NULL);
	/* a header the reply does not copy, so the reply parses */
	memcpy(strstr(req, "Max-Forwards: 70") + 14, "7x", 2);
	send_to(a, "127.0.0.1", port, req, n);
	run_until(&st, &tp_stats(st.tp)->tx_stateless, NULL, 1, 300);
	CU_ASSERT_EQUAL(st.nrecv, 0);
	CU_ASSERT_EQUAL(tp_stats(st.tp)->rx_parse_err, 1);
	CU_ASSERT_EQUAL(tp_stats(st.tp)->tx_stateless, 1);
	/* the stateless 400 counted as a 4xx sent (metrics) */
	tp_resp_counts(st.tp, &rc);
	CU_ASSERT_EQUAL(rc.tx[4], 1);
	CU_ASSERT_EQUAL(rc.tx[1] + rc.tx[2] + rc.tx[3] + rc.tx[5] + rc.tx[6],
			0);
	CU_ASSERT_EQUAL(rc.rx[4], 0);
	/* §18.2.2 / RFC 3581: source port with rport, else the Via port */
	want = rport ? a : b;
	other = rport ? b : a;
	r = rd(want, rsp, sizeof(rsp), 300);
	CU_ASSERT_FATAL(r > 0);
	CU_ASSERT(rd(other, rsp + r, sizeof(rsp) - (size_t)r, 20) < 0);
	CU_ASSERT_FATAL(sip_msg_parse(m, rsp, (size_t)r, SIP_FRAMING_DGRAM,
				      NULL, &pe) == 0);
	CU_ASSERT(!m->req);
	CU_ASSERT_EQUAL(m->status, 400);
	CU_ASSERT(pl_eq_str(&m->reason, "Bad Max-Forwards: not a number in "
					"0..255"));
	CU_ASSERT(pl_isset(&m->to.tag)); /* stateless reply has a To tag */
	/* §8.2.7: the same request again, the same tag; another branch,
	   another tag */
	snprintf(tag, sizeof(tag), "%.*s", (int)m->to.tag.l, m->to.tag.p);
	CU_ASSERT_EQUAL(strlen(tag), 16);
	send_to(a, "127.0.0.1", port, req, n);
	run_until(&st, &tp_stats(st.tp)->tx_stateless, NULL, 2, 300);
	r = rd(want, rsp, sizeof(rsp), 300);
	CU_ASSERT_FATAL(r > 0);
	CU_ASSERT_FATAL(sip_msg_parse(m, rsp, (size_t)r, SIP_FRAMING_DGRAM,
				      NULL, &pe) == 0);
	CU_ASSERT(pl_eq_str(&m->to.tag, tag));
	strstr(req, "branch=z9hG4bKx")[14] = 'y';
	send_to(a, "127.0.0.1", port, req, n);
	run_until(&st, &tp_stats(st.tp)->tx_stateless, NULL, 3, 300);
	r = rd(want, rsp, sizeof(rsp), 300);
	CU_ASSERT_FATAL(r > 0);
	CU_ASSERT_FATAL(sip_msg_parse(m, rsp, (size_t)r, SIP_FRAMING_DGRAM,
				      NULL, &pe) == 0);
	CU_ASSERT(pl_isset(&m->to.tag) && !pl_eq_str(&m->to.tag, tag));
	free(m);
	close(a);
	close(b);
	ts_done(&st);
}

static void
test_udp_bad_request(void)
{
	bad_request_reply(false);
}

static void
test_udp_rport_reply(void)
{
	bad_request_reply(true);
}

static void
test_udp_garbage(void)
{
	struct tstate st;
	static const char junk[] = "\x01\x02\x03 not sip at all";
	char tmp[256];
	uint16_t port;
	int c;

	CU_ASSERT_FATAL(ts_init(&st, NULL) == 0);
	CU_ASSERT_FATAL(tp_listen_str(st.tp, TP_UDP, "127.0.0.1", 0) == 0);
	port = tp_local_port(st.tp, TP_UDP, AF_INET);
	c = sock_open(SOCK_DGRAM, "127.0.0.1", 0);
	CU_ASSERT_FATAL(c >= 0);
	send_to(c, "127.0.0.1", port, junk, sizeof(junk) - 1);
	send_to(c, "127.0.0.1", port, "\r\n\r\n", 4); /* keep-alive */
	run_until(&st, &tp_stats(st.tp)->rx_keepalive, NULL, 1, 300);
	CU_ASSERT_EQUAL(st.nrecv, 0);
	CU_ASSERT_EQUAL(tp_stats(st.tp)->rx_parse_err, 1);
	CU_ASSERT_EQUAL(tp_stats(st.tp)->rx_dropped, 1);
	CU_ASSERT_EQUAL(tp_stats(st.tp)->rx_keepalive, 1);
	CU_ASSERT_EQUAL(tp_stats(st.tp)->tx_stateless, 0);
	CU_ASSERT(rd(c, tmp, sizeof(tmp), 20) < 0);
	close(c);
	ts_done(&st);
}

static void
test_udp_response_not_ours(void)
{
	struct tstate st;
	struct tp_resp_counts rc;
	char rsp[1024], via[128];
	uint16_t port;
	size_t n;
	int c;

	CU_ASSERT_FATAL(ts_init(&st, NULL) == 0);
	CU_ASSERT_FATAL(tp_listen_str(st.tp, TP_UDP, "127.0.0.1", 0) == 0);
	port = tp_local_port(st.tp, TP_UDP, AF_INET);
	c = sock_open(SOCK_DGRAM, "127.0.0.1", 0);
	CU_ASSERT_FATAL(c >= 0);
	/* §18.1.2: sent-by not ours (a name never used to send) */
	n = mkresp(rsp, sizeof(rsp),
		   "SIP/2.0/UDP elsewhere.invalid:5060;branch=z9hG4bKr");
	send_to(c, "127.0.0.1", port, rsp, n);
	/* right host, wrong port */
	snprintf(via, sizeof(via), "SIP/2.0/UDP 127.0.0.1:%u;branch=z9hG4bKr",
		 (unsigned)(port == 65535 ? 1 : port + 1));
	n = mkresp(rsp, sizeof(rsp), via);
	send_to(c, "127.0.0.1", port, rsp, n);
	run_until(&st, &tp_stats(st.tp)->rx_not_ours, NULL, 2, 300);
	CU_ASSERT_EQUAL(tp_stats(st.tp)->rx_not_ours, 2);
	CU_ASSERT_EQUAL(st.nrecv, 0);
	/* ours: the listening address and port */
	snprintf(via, sizeof(via), "SIP/2.0/UDP 127.0.0.1:%u;branch=z9hG4bKr",
		 port);
	n = mkresp(rsp, sizeof(rsp), via);
	send_to(c, "127.0.0.1", port, rsp, n);
	run_until(&st, NULL, &st.nrecv, 1, 300);
	CU_ASSERT_EQUAL(st.nrecv, 1);
	CU_ASSERT(!st.req && st.status == 200);
	/* configured sent-by names replace the default */
	CU_ASSERT(tp_sentby_add(st.tp, "proxy.example.com", 0) == 0);
	n = mkresp(rsp, sizeof(rsp),
		   "SIP/2.0/UDP PROXY.example.com;branch=z9hG4bKr");
	send_to(c, "127.0.0.1", port, rsp, n);
	send_to(c, "127.0.0.1", port, rsp, mkresp(rsp, sizeof(rsp), via));
	run_until(&st, &tp_stats(st.tp)->rx_not_ours, NULL, 3, 300);
	CU_ASSERT_EQUAL(st.nrecv, 2);
	CU_ASSERT_EQUAL(tp_stats(st.tp)->rx_not_ours, 3);
	/* responses by class: only the two delivered ones */
	tp_resp_counts(st.tp, &rc);
	CU_ASSERT_EQUAL(rc.rx[2], 2);
	CU_ASSERT_EQUAL(rc.tx[2], 0);
	close(c);
	ts_done(&st);
}

static void
test_udp_ipv6(void)
{
	struct tstate st;
	char req[1024], via[128], rsp[2048];
	uint16_t port;
	ssize_t r;
	size_t n;
	int c = sock_open(SOCK_DGRAM, "::1", 0);

	if (c < 0) {
		fprintf(stderr, "\n  [::1] unavailable: IPv6 test skipped\n");
		return;
	}
	CU_ASSERT_FATAL(ts_init(&st, NULL) == 0);
	CU_ASSERT_FATAL(tp_listen_str(st.tp, TP_UDP, "::1", 0) == 0);
	port = tp_local_port(st.tp, TP_UDP, AF_INET6);
	CU_ASSERT(port != 0);
	CU_ASSERT_EQUAL(tp_local_port(st.tp, TP_UDP, AF_INET), 0);
	snprintf(via, sizeof(via), "SIP/2.0/UDP [::1]:%u;branch=z9hG4bK6",
		 sock_port(c));
	n = mkreq(req, sizeof(req), via, NULL);
	send_to(c, "::1", port, req, n);
	run_until(&st, NULL, &st.nrecv, 1, 300);
	CU_ASSERT_EQUAL_FATAL(st.nrecv, 1);
	CU_ASSERT_EQUAL(st.rx.src.ss_family, AF_INET6);
	CU_ASSERT(!st.rx.add_received); /* [::1] is the source address */
	/* a stateless 400 comes back over IPv6 */
	n = mkreq(req, sizeof(req), via, "1 INVITE");
	send_to(c, "::1", port, req, n);
	r = rd(c, rsp, sizeof(rsp), 300);
	if (r < 0) { /* the loop must run first */
		run_until(&st, &tp_stats(st.tp)->tx_stateless, NULL, 1, 300);
		r = rd(c, rsp, sizeof(rsp), 300);
	}
	CU_ASSERT(r > 12 && !memcmp(rsp, "SIP/2.0 400 ", 12));
	close(c);
	ts_done(&st);
}

/* ---- TCP ---------------------------------------------------------- */

static void
tcp_setup(struct tstate *st, const struct tp_conf *conf, uint16_t *port)
{
	CU_ASSERT_FATAL(ts_init(st, conf) == 0);
	CU_ASSERT_FATAL(tp_listen_str(st->tp, TP_TCP, "127.0.0.1", 0) == 0);
	*port = tp_local_port(st->tp, TP_TCP, AF_INET);
	CU_ASSERT_FATAL(*port != 0);
}

static void
test_tcp_split(void)
{
	struct tstate st;
	char req[1024];
	uint16_t port;
	size_t n, cut1, cut2;
	int c;

	tcp_setup(&st, NULL, &port);
	c = tcp_client("127.0.0.1", port);
	CU_ASSERT_FATAL(c >= 0);
	n = mkreq(req, sizeof(req),
		  "SIP/2.0/TCP 127.0.0.1:5999;branch=z9hG4bKs", NULL);
	cut1 = 7;
	cut2 = n - 3; /* inside the final CRLFCRLF */
	CU_ASSERT(write(c, req, cut1) == (ssize_t)cut1);
	run(&st, 20);
	CU_ASSERT(write(c, req + cut1, cut2 - cut1) == (ssize_t)(cut2 - cut1));
	run(&st, 20);
	CU_ASSERT_EQUAL(st.nrecv, 0);
	CU_ASSERT(write(c, req + cut2, n - cut2) == (ssize_t)(n - cut2));
	run_until(&st, NULL, &st.nrecv, 1, 300);
	CU_ASSERT_EQUAL_FATAL(st.nrecv, 1);
	CU_ASSERT(st.len[0] == n && !memcmp(st.buf[0], req, n));
	CU_ASSERT_EQUAL(st.rx.proto, TP_TCP);
	CU_ASSERT_PTR_NOT_NULL(st.rx.conn);
	CU_ASSERT(tp_conn_open(st.rx.conn));
	CU_ASSERT_EQUAL(tp_stats(st.tp)->tcp_accepted, 1);
	close(c);
	ts_done(&st);
}

static void
test_tcp_two_in_one(void)
{
	struct tstate st;
	char req[2048];
	uint16_t port;
	size_t n;
	int c;

	tcp_setup(&st, NULL, &port);
	c = tcp_client("127.0.0.1", port);
	CU_ASSERT_FATAL(c >= 0);
	n = mkreq(req, sizeof(req),
		  "SIP/2.0/TCP 127.0.0.1:5999;branch=z9hG4bK1", NULL);
	/* a CRLF keep-alive between the two */
	memcpy(req + n, "\r\n", 2);
	n += 2;
	n += mkreq(req + n, sizeof(req) - n,
		   "SIP/2.0/TCP 127.0.0.1:5999;branch=z9hG4bK2", "2 OPTIONS");
	CU_ASSERT(write(c, req, n) == (ssize_t)n);
	run_until(&st, NULL, &st.nrecv, 2, 300);
	CU_ASSERT_EQUAL(st.nrecv, 2);
	CU_ASSERT(memmem(st.buf[0], st.len[0], "z9hG4bK1", 8) != NULL);
	CU_ASSERT(memmem(st.buf[1], st.len[1], "z9hG4bK2", 8) != NULL);
	close(c);
	ts_done(&st);
}

static void
test_tcp_ping(void)
{
	struct tstate st;
	char buf[16];
	uint16_t port;
	ssize_t r;
	int c;

	tcp_setup(&st, NULL, &port);
	c = tcp_client("127.0.0.1", port);
	CU_ASSERT_FATAL(c >= 0);
	CU_ASSERT(write(c, "\r\n\r\n", 4) == 4);
	run_until(&st, &tp_stats(st.tp)->tcp_pings, NULL, 1, 300);
	r = rd(c, buf, sizeof(buf), 200);
	/* RFC 5626 §3.5.1: the pong is a single CRLF */
	CU_ASSERT(r == 2 && !memcmp(buf, "\r\n", 2));
	CU_ASSERT_EQUAL(tp_stats(st.tp)->tcp_pings, 1);
	CU_ASSERT_EQUAL(st.nrecv, 0);
	close(c);
	ts_done(&st);
}

/* A write holding many pings gets one pong, not one per ping: otherwise
   a peer gets a send() out of every four bytes it sends. */
static void
test_tcp_ping_flood(void)
{
	static char pings[4000];
	struct tstate st;
	char buf[8192];
	uint16_t port;
	ssize_t r;
	int c, i;

	for (i = 0; i + 4 <= (int)sizeof(pings); i += 4)
		memcpy(pings + i, "\r\n\r\n", 4);
	tcp_setup(&st, NULL, &port);
	c = tcp_client("127.0.0.1", port);
	CU_ASSERT_FATAL(c >= 0);
	CU_ASSERT(write(c, pings, sizeof(pings)) == (ssize_t)sizeof(pings));
	run_until(&st, &tp_stats(st.tp)->tcp_pings, NULL, 1000, 500);
	CU_ASSERT_EQUAL(tp_stats(st.tp)->tcp_pings, 1000);
	r = rd(c, buf, sizeof(buf), 200);
	/* one pong per read the server made: far fewer than 1000 */
	CU_ASSERT(r >= 2 && r % 2 == 0 && r <= 64);
	close(c);
	ts_done(&st);
}

/* True when the peer closed c (EOF or reset) within ms. */
static bool
closed_by_peer(int c, int ms)
{
	char buf[4096];
	ssize_t r;
	int t;

	for (t = 0; t < ms; t += 10) {
		r = rd(c, buf, sizeof(buf), 10);
		if (r == 0 || (r < 0 && errno != ETIMEDOUT))
			return true;
	}
	return false;
}

static void
test_tcp_oversize(void)
{
	struct tstate st;
	struct tp_conf conf;
	char big[2000];
	uint16_t port;
	int c;

	tp_conf_default(&conf);
	conf.lim.max_msg = 1024;
	tcp_setup(&st, &conf, &port);
	c = tcp_client("127.0.0.1", port);
	CU_ASSERT_FATAL(c >= 0);
	memset(big, 'a', sizeof(big));
	memcpy(big, "OPTIONS sip:x SIP/2.0\r\nX: ", 26);
	CU_ASSERT(write(c, big, sizeof(big)) == (ssize_t)sizeof(big));
	run_until(&st, &tp_stats(st.tp)->tcp_bad_stream, NULL, 1, 300);
	CU_ASSERT_EQUAL(tp_stats(st.tp)->tcp_bad_stream, 1);
	CU_ASSERT(closed_by_peer(c, 200));
	CU_ASSERT_EQUAL(st.nrecv, 0);
	close(c);
	ts_done(&st);
}

static void
test_tcp_conn_cap(void)
{
	struct tstate st;
	struct tp_conf conf;
	uint16_t port;
	int c[3], i;

	tp_conf_default(&conf);
	conf.max_conns = 2;
	tcp_setup(&st, &conf, &port);
	for (i = 0; i < 3; i++) {
		c[i] = tcp_client("127.0.0.1", port);
		CU_ASSERT_FATAL(c[i] >= 0);
		run_until(&st, &tp_stats(st.tp)->tcp_accepted, NULL, i + 1,
			  100);
	}
	run_until(&st, &tp_stats(st.tp)->tcp_refused, NULL, 1, 300);
	CU_ASSERT_EQUAL(tp_stats(st.tp)->tcp_accepted, 2);
	CU_ASSERT_EQUAL(tp_stats(st.tp)->tcp_refused, 1);
	CU_ASSERT(closed_by_peer(c[2], 100));
	CU_ASSERT(!closed_by_peer(c[0], 20));
	for (i = 0; i < 3; i++)
		close(c[i]);
	ts_done(&st);
}

static void
test_tcp_idle(void)
{
	struct tstate st;
	struct tp_conf conf;
	uint16_t port;
	int c;

	tp_conf_default(&conf);
	conf.idle_ms = 200;
	tcp_setup(&st, &conf, &port);
	c = tcp_client("127.0.0.1", port);
	CU_ASSERT_FATAL(c >= 0);
	run(&st, 100);
	CU_ASSERT_EQUAL(tp_stats(st.tp)->tcp_idle, 0);
	run_until(&st, &tp_stats(st.tp)->tcp_idle, NULL, 1, 400);
	CU_ASSERT_EQUAL(tp_stats(st.tp)->tcp_idle, 1);
	CU_ASSERT(closed_by_peer(c, 100));
	CU_ASSERT_EQUAL(st.nerr, 0); /* nothing was lost */
	close(c);
	ts_done(&st);
}

/* Read from fd until buf holds a whole message (CRLFCRLF, no body). */
static ssize_t
rd_msg(int fd, char *buf, size_t sz, int ms)
{
	size_t have = 0;
	ssize_t r;
	int t;

	for (t = 0; t < ms && have < sz; t += 10) {
		r = rd(fd, buf + have, sz - have, 10);
		if (r > 0)
			have += (size_t)r;
		if (memmem(buf, have, "\r\n\r\n", 4))
			return (ssize_t)have;
	}
	return -1;
}

/* Accept on a listening test socket with a timeout. */
static int
accept_to(int l, int ms)
{
	struct pollfd p = {l, POLLIN, 0};

	if (poll(&p, 1, ms) <= 0)
		return -1;
	return accept(l, NULL, NULL);
}

static void
test_tcp_send_and_reply(void)
{
	struct tstate st;
	struct sockaddr_storage ss;
	struct tp_recv kept;
	char req[1024], rsp[1024], via[128], got[4096];
	uint16_t port;
	socklen_t sl;
	size_t n;
	int l, a;

	tcp_setup(&st, NULL, &port);
	l = sock_open(SOCK_STREAM, "127.0.0.1", 0);
	CU_ASSERT_FATAL(l >= 0 && listen(l, 4) == 0);
	CU_ASSERT_FATAL(tp_addr_set(&ss, &sl, "127.0.0.1", sock_port(l)) == 0);
	snprintf(via, sizeof(via), "SIP/2.0/TCP 127.0.0.1:%u;branch=z9hG4bKq",
		 port);
	n = mkreq(req, sizeof(req), via, NULL);
	CU_ASSERT(tp_send(st.tp, TP_TCP, (struct sockaddr *)&ss, sl, NULL, req,
			  n) == 0);
	run(&st, 20);
	a = accept_to(l, 200);
	CU_ASSERT_FATAL(a >= 0);
	CU_ASSERT(rd_msg(a, got, sizeof(got), 300) == (ssize_t)n);
	CU_ASSERT(!memcmp(got, req, n));
	/* the reply comes back on the same connection */
	n = mkresp(rsp, sizeof(rsp), via);
	CU_ASSERT(write(a, rsp, n) == (ssize_t)n);
	run_until(&st, NULL, &st.nrecv, 1, 300);
	CU_ASSERT_EQUAL_FATAL(st.nrecv, 1);
	CU_ASSERT(!st.req && st.status == 200);
	CU_ASSERT(tp_conn_open(st.rx.conn));
	/* its id (a value other threads may carry) finds it again */
	CU_ASSERT(st.rx.conn_id != 0);
	CU_ASSERT_EQUAL(st.rx.conn_id, tp_conn_id(st.rx.conn));
	CU_ASSERT_EQUAL(tp_conn_id_tag(st.rx.conn_id), 0); /* conf default */
	CU_ASSERT_PTR_EQUAL(tp_conn_by_id(st.tp, st.rx.conn_id), st.rx.conn);
	CU_ASSERT_PTR_NULL(tp_conn_by_id(st.tp, st.rx.conn_id + 1));
	CU_ASSERT_PTR_NULL(tp_conn_by_id(st.tp, 0));
	/* a second request reuses the connection (no new accept) */
	CU_ASSERT(tp_send(st.tp, TP_TCP, (struct sockaddr *)&ss, sl, NULL, req,
			  mkreq(req, sizeof(req), via, "2 OPTIONS")) == 0);
	CU_ASSERT(rd_msg(a, got, sizeof(got), 300) > 0);
	CU_ASSERT(accept_to(l, 20) < 0);
	/* a connection kept past the ctx stays valid, closed */
	tp_recv_copy(&kept, &st.rx);
	close(a);
	/* closed by the peer: its id finds nothing any more */
	run(&st, 50);
	CU_ASSERT(!tp_conn_open(kept.conn));
	CU_ASSERT_PTR_NULL(tp_conn_by_id(st.tp, kept.conn_id));
	close(l);
	ts_done(&st);
	CU_ASSERT(!tp_conn_open(kept.conn));
	tp_recv_release(&kept);
}

static void
test_tcp_connect_refused(void)
{
	struct tstate st;
	struct sockaddr_storage ss;
	char req[1024];
	uint16_t port, dead;
	socklen_t sl;
	int l;

	tcp_setup(&st, NULL, &port);
	l = sock_open(SOCK_STREAM, "127.0.0.1", 0); /* bound, not listening */
	CU_ASSERT_FATAL(l >= 0);
	dead = sock_port(l);
	CU_ASSERT_FATAL(tp_addr_set(&ss, &sl, "127.0.0.1", dead) == 0);
	mkreq(req, sizeof(req), "SIP/2.0/TCP 127.0.0.1:5060;branch=z9hG4bKf",
	      NULL);
	CU_ASSERT(tp_send(st.tp, TP_TCP, (struct sockaddr *)&ss, sl, NULL, req,
			  strlen(req)) == 0);
	run_until(&st, NULL, &st.nerr, 1, 300);
	/* §17.1.4: reported as a transport error */
	CU_ASSERT_EQUAL(st.nerr, 1);
	CU_ASSERT_EQUAL(st.lasterr, ECONNREFUSED);
	CU_ASSERT_EQUAL(tp_stats(st.tp)->tcp_conn_failed, 1);
	close(l);
	ts_done(&st);
}

/* ---- §18.1.1 ------------------------------------------------------ */

static void
test_big_udp_goes_tcp(void)
{
	struct tstate st;
	struct sockaddr_storage ss;
	char *req = malloc(2000), *got = malloc(4096), via[128], pad[1400];
	uint16_t port;
	socklen_t sl;
	size_t n;
	int l, a;

	CU_ASSERT_FATAL(req && got);
	CU_ASSERT(!tp_size_needs_tcp(1300, 0));
	CU_ASSERT(tp_size_needs_tcp(1301, 0));
	CU_ASSERT(tp_size_needs_tcp(1301, 1500));
	CU_ASSERT(!tp_size_needs_tcp(1300, 1500));
	CU_ASSERT(!tp_size_needs_tcp(1301, 9000));

	CU_ASSERT_FATAL(ts_init(&st, NULL) == 0);
	CU_ASSERT_FATAL(tp_listen_str(st.tp, TP_UDP, "127.0.0.1", 0) == 0);
	CU_ASSERT_EQUAL(tp_request_proto(st.tp, TP_UDP, 1400), TP_UDP);
	CU_ASSERT_FATAL(tp_listen_str(st.tp, TP_TCP, "127.0.0.1", 0) == 0);
	CU_ASSERT_EQUAL(tp_request_proto(st.tp, TP_UDP, 1400), TP_TCP);
	CU_ASSERT_EQUAL(tp_request_proto(st.tp, TP_UDP, 500), TP_UDP);
	port = tp_local_port(st.tp, TP_UDP, AF_INET);

	/* the peer listens on TCP at the port we send UDP to */
	l = sock_open(SOCK_STREAM, "127.0.0.1", 0);
	CU_ASSERT_FATAL(l >= 0 && listen(l, 4) == 0);
	CU_ASSERT_FATAL(tp_addr_set(&ss, &sl, "127.0.0.1", sock_port(l)) == 0);
	snprintf(via, sizeof(via), "SIP/2.0/UDP 127.0.0.1:%u;branch=z9hG4bKg",
		 port);
	memset(pad, 'x', sizeof(pad) - 1);
	pad[sizeof(pad) - 1] = '\0';
	n = (size_t)snprintf(req, 2000,
			     "MESSAGE sip:a@127.0.0.1 SIP/2.0\r\nVia: %s\r\n"
			     "From: <sip:b@example.com>;tag=1\r\n"
			     "To: <sip:a@example.com>\r\nCall-ID: big@x\r\n"
			     "CSeq: 1 MESSAGE\r\nX-Pad: %s\r\n"
			     "Content-Length: 0\r\n\r\n",
			     via, pad);
	CU_ASSERT_FATAL(n > 1300 && n < 2000);
	CU_ASSERT(tp_send(st.tp, TP_UDP, (struct sockaddr *)&ss, sl, NULL, req,
			  n) == 0);
	CU_ASSERT_EQUAL(tp_stats(st.tp)->tx_udp_to_tcp, 1);
	run(&st, 20);
	a = accept_to(l, 200);
	CU_ASSERT_FATAL(a >= 0);
	CU_ASSERT(rd_msg(a, got, 4096, 300) == (ssize_t)n);
	/* §18.1.1: the top Via names the transport actually used */
	CU_ASSERT(memmem(got, n, "Via: SIP/2.0/TCP 127.0.0.1", 26) != NULL);
	close(a);
	close(l);
	ts_done(&st);
	free(req);
	free(got);
}

void test_tp_register(void);
void
test_tp_register(void)
{
	CU_pSuite s = tu_suite("tp");

	TU_ADD(s, test_udp_request);
	TU_ADD(s, test_udp_trailing);
	TU_ADD(s, test_udp_bad_request);
	TU_ADD(s, test_udp_rport_reply);
	TU_ADD(s, test_udp_garbage);
	TU_ADD(s, test_udp_response_not_ours);
	TU_ADD(s, test_udp_ipv6);
	TU_ADD(s, test_tcp_split);
	TU_ADD(s, test_tcp_two_in_one);
	TU_ADD(s, test_tcp_ping);
	TU_ADD(s, test_tcp_ping_flood);
	TU_ADD(s, test_tcp_oversize);
	TU_ADD(s, test_tcp_conn_cap);
	TU_ADD(s, test_tcp_idle);
	TU_ADD(s, test_tcp_send_and_reply);
	TU_ADD(s, test_tcp_connect_refused);
	TU_ADD(s, test_big_udp_goes_tcp);
}
