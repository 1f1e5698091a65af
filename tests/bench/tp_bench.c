/* Benchmark: signaling workers on loopback (issue 3 item 5). Prints, for
   one run: (a) the floor, a bare recvmmsg/sendmmsg UDP echo; (b) a
   stateless 200 responder through tp + sipw; (c) the same through the
   transaction layer; each with 1 and 2 workers; (d) in-memory server
   transactions created, matched and destroyed per second. A figure, not
   a test: nothing here fails. Only 127.0.0.1 is used. */
#define _GNU_SOURCE 1
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "stack/mem.h"
#include "stack/sip_write.h"
#include "stack/sipw.h"
#include "stack/tmr.h"
#include "stack/txn.h"

#define CASE_SECS 3.0
#define GEN_SOCKS 8   /* generator sockets (distinct source ports) */
#define GEN_BATCH 16  /* messages per sendmmsg() */
#define GEN_WINDOW 48 /* in flight per socket */
#define MSG_MAX 512

static double
now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* ---- load generator ------------------------------------------------ */

/* One pre-built OPTIONS with the offsets of its 16-hex-digit counter in
   the branch and the Call-ID, rewritten before each send so that every
   message is a new transaction with a new Call-ID. */
struct gen_msg {
	char buf[MSG_MAX];
	size_t len;
	size_t off_branch, off_callid;
};

struct gen_sock {
	int fd;
	struct gen_msg msg[GEN_BATCH];
	uint64_t sent, rcvd;
	double last_progress;
};

struct gen_result {
	uint64_t sent, rcvd, lost;
	double secs;
};

static void
hex16(char *p, uint64_t v)
{
	static const char hex[] = "0123456789abcdef";
	int i;

	for (i = 15; i >= 0; i--, v >>= 4)
		p[i] = hex[v & 0xf];
}

static void
gen_build(struct gen_msg *m, unsigned sock, uint16_t lport)
{
	const char *b, *c;

	m->len = (size_t)snprintf(
		m->buf, sizeof(m->buf),
		"OPTIONS sip:bench@127.0.0.1 SIP/2.0\r\n"
		"Via: SIP/2.0/UDP 127.0.0.1:%u;branch=z9hG4bK0000000000000000;"
		"rport\r\n"
		"Max-Forwards: 70\r\n"
		"From: <sip:gen@127.0.0.1>;tag=g%u\r\n"
		"To: <sip:bench@127.0.0.1>\r\n"
		"Call-ID: b%02x-0000000000000000@bench\r\n"
		"CSeq: 1 OPTIONS\r\n"
		"Content-Length: 0\r\n\r\n",
		lport, sock, sock);
	b = strstr(m->buf, "z9hG4bK") + 7;
	c = strstr(m->buf, "Call-ID: b") + 13;
	m->off_branch = (size_t)(b - m->buf);
	m->off_callid = (size_t)(c - m->buf);
}

static int
gen_open(struct gen_sock *gs, unsigned idx, uint16_t port)
{
	struct sockaddr_in a = {.sin_family = AF_INET};
	socklen_t sl = sizeof(a);
	int i, sz = 4 << 20;

	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	gs->fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0);
	if (gs->fd < 0)
		return errno;
	setsockopt(gs->fd, SOL_SOCKET, SO_RCVBUF, &sz, sizeof(sz));
	if (bind(gs->fd, (struct sockaddr *)&a, sizeof(a)) ||
	    getsockname(gs->fd, (struct sockaddr *)&a, &sl))
		return errno;
	for (i = 0; i < GEN_BATCH; i++)
		gen_build(&gs->msg[i], idx, ntohs(a.sin_port));
	a.sin_port = htons(port);
	if (connect(gs->fd, (struct sockaddr *)&a, sizeof(a)))
		return errno;
	return 0;
}

static void
gen_send(struct gen_sock *gs, uint64_t *seq)
{
	struct mmsghdr mm[GEN_BATCH];
	struct iovec iov[GEN_BATCH];
	int i, n;

	memset(mm, 0, sizeof(mm));
	for (i = 0; i < GEN_BATCH; i++) {
		struct gen_msg *m = &gs->msg[i];

		hex16(m->buf + m->off_branch, *seq);
		hex16(m->buf + m->off_callid, *seq);
		(*seq)++;
		iov[i].iov_base = m->buf;
		iov[i].iov_len = m->len;
		mm[i].msg_hdr.msg_iov = &iov[i];
		mm[i].msg_hdr.msg_iovlen = 1;
	}
	n = sendmmsg(gs->fd, mm, GEN_BATCH, MSG_DONTWAIT);
	if (n > 0)
		gs->sent += (uint64_t)n;
}

static unsigned
gen_recv(struct gen_sock *gs)
{
	static char sink[32][MSG_MAX * 2]; /* generator thread only */
	struct mmsghdr mm[32];
	struct iovec iov[32];
	int i, n;

	memset(mm, 0, sizeof(mm));
	for (i = 0; i < 32; i++) {
		iov[i].iov_base = sink[i];
		iov[i].iov_len = sizeof(sink[i]);
		mm[i].msg_hdr.msg_iov = &iov[i];
		mm[i].msg_hdr.msg_iovlen = 1;
	}
	n = recvmmsg(gs->fd, mm, 32, MSG_DONTWAIT, NULL);
	if (n <= 0)
		return 0;
	gs->rcvd += (uint64_t)n;
	return (unsigned)n;
}

/*
 * Offer load to 127.0.0.1:port for secs: each socket keeps at most
 * GEN_WINDOW requests unanswered (a window, so we measure throughput and
 * not loss); a socket with no reply for 100 ms writes its window off as
 * lost and starts again.
 */
static void
gen_run(uint16_t port, double secs, struct gen_result *res)
{
	struct gen_sock gs[GEN_SOCKS];
	struct pollfd pfd[GEN_SOCKS];
	uint64_t seq = 1;
	double t0, t;
	unsigned i, got;
	bool busy;

	memset(res, 0, sizeof(*res));
	memset(gs, 0, sizeof(gs));
	for (i = 0; i < GEN_SOCKS; i++) {
		if (gen_open(&gs[i], i, port)) {
			perror("generator socket");
			exit(1);
		}
		pfd[i].fd = gs[i].fd;
		pfd[i].events = POLLIN;
	}
	t0 = now_s();
	for (i = 0; i < GEN_SOCKS; i++)
		gs[i].last_progress = t0;
	while ((t = now_s()) - t0 < secs) {
		busy = false;
		for (i = 0; i < GEN_SOCKS; i++) {
			struct gen_sock *s = &gs[i];

			if (s->sent - s->rcvd + GEN_BATCH <= GEN_WINDOW) {
				gen_send(s, &seq);
				busy = true;
			}
			got = gen_recv(s);
			if (got) {
				s->last_progress = t;
				busy = true;
			} else if (s->sent > s->rcvd &&
				   t - s->last_progress > 0.1) {
				res->lost += s->sent - s->rcvd;
				s->rcvd = s->sent; /* write off, go on */
				s->last_progress = t;
			}
		}
		if (!busy)
			poll(pfd, GEN_SOCKS, 1);
	}
	res->secs = now_s() - t0;
	for (i = 0; i < GEN_SOCKS; i++) {
		res->sent += gs[i].sent;
		res->rcvd += gs[i].rcvd;
		close(gs[i].fd);
	}
	res->rcvd -= res->lost; /* written-off counts are not replies */
}

/* ---- (a) echo floor ---------------------------------------------- */

struct echo_th {
	int fd;
	_Atomic bool *stop; /* borrowed */
	pthread_t th;
};

/* Answer every datagram with itself, 32 at a time. */
static void *
echo_main(void *arg)
{
	struct echo_th *e = arg;
	static __thread char bufs[32][MSG_MAX * 2];
	struct sockaddr_storage src[32];
	struct mmsghdr mm[32];
	struct iovec iov[32];
	int i, n;

	while (!atomic_load(e->stop)) {
		memset(mm, 0, sizeof(mm));
		for (i = 0; i < 32; i++) {
			iov[i].iov_base = bufs[i];
			iov[i].iov_len = sizeof(bufs[i]);
			mm[i].msg_hdr.msg_iov = &iov[i];
			mm[i].msg_hdr.msg_iovlen = 1;
			mm[i].msg_hdr.msg_name = &src[i];
			mm[i].msg_hdr.msg_namelen = sizeof(src[i]);
		}
		n = recvmmsg(e->fd, mm, 32, MSG_WAITFORONE, NULL);
		if (n <= 0)
			continue; /* SO_RCVTIMEO: look at stop */
		for (i = 0; i < n; i++)
			iov[i].iov_len = mm[i].msg_len;
		sendmmsg(e->fd, mm, (unsigned)n, 0);
	}
	return NULL;
}

static int
echo_socket(uint16_t *port)
{
	struct sockaddr_in a = {.sin_family = AF_INET};
	struct timeval tv = {0, 100000};
	socklen_t sl = sizeof(a);
	int fd, on = 1, sz = 4 << 20;

	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	a.sin_port = htons(*port);
	fd = socket(AF_INET, SOCK_DGRAM, 0);
	if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &on, sizeof(on)))
		return -1;
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &sz, sizeof(sz));
	if (bind(fd, (struct sockaddr *)&a, sizeof(a)) ||
	    getsockname(fd, (struct sockaddr *)&a, &sl)) {
		close(fd);
		return -1;
	}
	*port = ntohs(a.sin_port);
	return fd;
}

static void
run_echo(unsigned nthreads, struct gen_result *res)
{
	struct echo_th th[2];
	_Atomic bool stop = false;
	uint16_t port = 0;
	unsigned i;

	for (i = 0; i < nthreads; i++) {
		th[i].fd = echo_socket(&port);
		th[i].stop = &stop;
		if (th[i].fd < 0) {
			perror("echo socket");
			exit(1);
		}
	}
	for (i = 0; i < nthreads; i++)
		pthread_create(&th[i].th, NULL, echo_main, &th[i]);
	gen_run(port, CASE_SECS, res);
	atomic_store(&stop, true);
	for (i = 0; i < nthreads; i++) {
		pthread_join(th[i].th, NULL);
		close(th[i].fd);
	}
}

/* ---- (b), (c) through sipw -------------------------------------- */

/* Build the 200 for req into buf; returns its length or 0. */
static size_t
reply_200(const struct sip_msg *req, char *buf, size_t size)
{
	struct sip_wbuf wb;
	size_t len;

	sip_wb_init(&wb, buf, size);
	sip_wb_reply(&wb, req, 200, NULL, &PL("bench"));
	return sip_wb_end(&wb, NULL, &len) ? 0 : len;
}

/* (b) stateless: parse (done by tp) + sip_wb_reply + send. */
static void
tu_stateless(struct sipw *w, const struct sip_msg *msg,
	     const struct tp_recv *rx, void *arg)
{
	char buf[2048];
	size_t len;

	(void)arg;
	if (!msg->req || msg->mid == SIP_M_ACK)
		return;
	len = reply_200(msg, buf, sizeof(buf));
	if (len)
		tp_send_response(sipw_tp(w), rx, buf, len);
}

/* (c) through a server transaction, released at once (the layer keeps
   its own reference until Timer J). */
static void
tu_txn(struct sipw *w, const struct sip_msg *msg, const struct tp_recv *rx,
       void *arg)
{
	struct txn_dest src;
	struct txn *t = NULL;
	char buf[2048];
	size_t len;

	(void)arg;
	if (!msg->req || sipw_txn_dest(rx, &src))
		return;
	if (txn_recv(sipw_txn(w), msg, &src) != ENOENT || msg->mid == SIP_M_ACK)
		return; /* retransmission (answered by the layer) or ACK */
	if (txn_server_create(&t, sipw_txn(w), msg, &src, NULL, NULL))
		return;
	len = reply_200(msg, buf, sizeof(buf));
	if (len)
		txn_server_reply(t, buf, len, 200);
	mem_deref(t);
}

static void
run_sipw(unsigned nworkers, sipw_recv_h *tu, struct gen_result *res,
	 struct sipw_stats *st)
{
	struct sipw_conf conf;
	struct sipw_group *g = NULL;
	int err;

	sipw_conf_default(&conf);
	conf.nworkers = nworkers;
	conf.recvh = tu;
	conf.ring_slots = 4096;
	/* Non-INVITE Timer J is 64*T1 over UDP: with the default T1 a
	   3-second run would keep ~all transactions alive (32 s). T1 = 5 ms
	   keeps the live set near rate x 0.32 s; the work per transaction
	   (create, match, timer, destroy) is the same. */
	conf.txn.t1 = 5;
	conf.txn.t2 = 40;
	conf.txn.t4 = 50;
	conf.txn.hash_size = 65536;
	err = sipw_group_alloc(&g, &conf);
	if (!err)
		err = sipw_group_start(g);
	if (err) {
		fprintf(stderr, "sipw group: %s\n", strerror(err));
		exit(1);
	}
	gen_run(sipw_group_port(g), CASE_SECS, res);
	sipw_group_stop(g);
	sipw_group_stats(g, st);
	mem_deref(g);
}

/* ---- (d) in-memory transactions ------------------------------------ */

static uint64_t mem_sent;

static int
mem_send(const struct txn_dest *dst, const char *buf, size_t len, void *arg)
{
	(void)dst;
	(void)buf;
	(void)len;
	(void)arg;
	mem_sent++;
	return 0;
}

enum { MEM_SET = 1024 };

/* Create a server transaction for each of MEM_SET parsed requests,
   reply 200, match a retransmission, release; then let Timer J (0 on a
   reliable transport) destroy them. Returns transactions per second. */
static double
run_mem(struct txn_stats *out)
{
	static char raw[MEM_SET][MSG_MAX];
	static struct sip_msg msg[MEM_SET];
	struct sip_limits lim;
	struct sip_perr perr;
	struct tmr_ctx *tmr = NULL;
	struct txn_ctx *ctx = NULL;
	struct txn_dest src = {.reliable = true};
	struct gen_msg gm;
	struct txn *t;
	char buf[2048];
	double t0, secs;
	uint64_t n = 0;
	unsigned i;
	size_t len;

	sip_limits_default(&lim);
	for (i = 0; i < MEM_SET; i++) {
		gen_build(&gm, 0, 5060);
		hex16(gm.buf + gm.off_branch, i);
		hex16(gm.buf + gm.off_callid, i);
		memcpy(raw[i], gm.buf, gm.len);
		if (sip_msg_parse(&msg[i], raw[i], gm.len, SIP_FRAMING_DGRAM,
				  &lim, &perr))
			return 0;
	}
	tp_addr_set(&src.addr, &src.len, "127.0.0.1", 5060);
	tmr_ctx_alloc(&tmr, NULL, NULL);
	txn_ctx_alloc(&ctx, NULL, mem_send, NULL, tmr);
	len = reply_200(&msg[0], buf, sizeof(buf));
	t0 = now_s();
	do {
		for (i = 0; i < MEM_SET; i++) {
			if (txn_server_create(&t, ctx, &msg[i], &src, NULL,
					      NULL))
				break;
			txn_server_reply(t, buf, len, 200);
			txn_recv(ctx, &msg[i], &src); /* retransmission */
			mem_deref(t);
			n++;
		}
		tmr_poll(tmr); /* Timer J = 0: terminate and destroy */
	} while ((secs = now_s() - t0) < 1.0);
	tmr_poll(tmr); /* the last set's Timer J, started inside the poll */
	txn_ctx_stats(ctx, out);
	mem_deref(ctx);
	mem_deref(tmr);
	return (double)n / secs;
}

/* ---- report ------------------------------------------------------- */

static void
row(const char *name, unsigned nw, const struct gen_result *r, double floor,
    const struct sipw_stats *st)
{
	double in = (double)r->sent / r->secs, out = (double)r->rcvd / r->secs;

	printf("%-26s %2u %10.0f %10.0f %7.1f%% %8llu", name, nw, in, out,
	       floor > 0 ? 100.0 * out / floor : 100.0,
	       (unsigned long long)r->lost);
	if (st)
		printf(" %7.1f%% %8llu",
		       st->rx ? 100.0 * (double)st->handoff_out / (double)st->rx
			      : 0.0,
		       (unsigned long long)st->handoff_drop);
	printf("\n");
	fflush(stdout);
}

int
main(void)
{
	struct gen_result r;
	struct sipw_stats st;
	struct txn_stats ts;
	double floor, rate;
	unsigned nw;

	printf("tp_bench: %u generator sockets, window %u/socket, batch %u, "
	       "%.0f s per case, %ld online cores (shared with the "
	       "generator)\n\n",
	       GEN_SOCKS, GEN_WINDOW, GEN_BATCH, CASE_SECS,
	       sysconf(_SC_NPROCESSORS_ONLN));
	printf("%-26s %2s %10s %10s %8s %8s %8s %8s\n", "case", "w", "in/s",
	       "out/s", "vs floor", "lost", "handoff", "hdrop");
	run_echo(1, &r);
	floor = (double)r.rcvd / r.secs;
	row("(a) echo recvmmsg floor", 1, &r, floor, NULL);
	run_echo(2, &r);
	row("(a) echo recvmmsg floor", 2, &r, floor, NULL);
	for (nw = 1; nw <= 2; nw++) {
		run_sipw(nw, tu_stateless, &r, &st);
		row("(b) tp stateless 200", nw, &r, floor, &st);
	}
	for (nw = 1; nw <= 2; nw++) {
		run_sipw(nw, tu_txn, &r, &st);
		row("(c) tp + txn 200", nw, &r, floor, &st);
	}
	rate = run_mem(&ts);
	printf("\n(d) in-memory server transactions (create + 200 + match "
	       "retransmission + destroy): %.0f /s\n"
	       "    created %llu destroyed %llu live %llu sends %llu\n",
	       rate, (unsigned long long)ts.created,
	       (unsigned long long)ts.destroyed, (unsigned long long)ts.live,
	       (unsigned long long)mem_sent);
	printf("\n'vs floor' is replies/s against the 1-thread echo; "
	       "'handoff' the share of\nmessages received on a worker "
	       "not owning their Call-ID.\n");
	return 0;
}
