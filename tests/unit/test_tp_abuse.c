/* Unit tests: the transport under bad input (stack/tp*.c): a malformed
   UDP flood, slow and half-open TCP peers, endless headers, a slowloris
   against the per-message deadline, and accept() out of descriptors.
   Real sockets on 127.0.0.1 only; every loop run and wait is bounded. */
#include <errno.h>
#include <event2/event.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "stack/mem.h"
#include "stack/sip_msg.h"
#include "stack/sip_write.h"
#include "stack/tp.h"
#include "testutil.h"

/* ---- harness ------------------------------------------------------ */

struct ab {
	struct event_base *base;
	struct tp_ctx *tp;
	unsigned nrecv, nbad; /* delivered; delivered but not OPTIONS */
};

/* The TU: answer every request with a stateless 200. */
static void
ab_recv(const struct sip_msg *msg, const struct tp_recv *rx, void *arg)
{
	struct ab *a = arg;
	struct sip_wbuf wb;
	char buf[2048];
	size_t len;

	a->nrecv++;
	if (!msg->req || msg->mid != SIP_M_OPTIONS) {
		a->nbad++;
		return;
	}
	sip_wb_init(&wb, buf, sizeof(buf));
	sip_wb_reply(&wb, msg, 200, NULL, &PL("ab"));
	if (!sip_wb_end(&wb, NULL, &len))
		tp_send_response(a->tp, rx, buf, len);
}

static int
ab_init(struct ab *a, const struct tp_conf *conf, enum tp_proto proto)
{
	memset(a, 0, sizeof(*a));
	a->base = event_base_new();
	if (!a->base)
		return ENOMEM;
	if (tp_ctx_alloc(&a->tp, a->base, conf, ab_recv, NULL, a))
		return EINVAL;
	return tp_listen_str(a->tp, proto, "127.0.0.1", 0);
}

static void
ab_done(struct ab *a)
{
	a->tp = mem_deref(a->tp);
	event_base_free(a->base);
}

static const struct tp_stats *
st(const struct ab *a)
{
	return tp_stats(a->tp);
}

static double
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static void
run(struct ab *a, int ms)
{
	struct timeval tv = {ms / 1000, (ms % 1000) * 1000};

	event_base_loopexit(a->base, &tv);
	event_base_dispatch(a->base);
}

static int
udp_sock(void)
{
	struct sockaddr_in sa = {.sin_family = AF_INET};
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);

	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa))) {
		if (fd >= 0)
			close(fd);
		return -1;
	}
	return fd;
}

static uint16_t
sock_port(int fd)
{
	struct sockaddr_in sa;
	socklen_t len = sizeof(sa);

	getsockname(fd, (struct sockaddr *)&sa, &len);
	return ntohs(sa.sin_port);
}

static void
to_port(struct sockaddr_in *sa, uint16_t port)
{
	memset(sa, 0, sizeof(*sa));
	sa->sin_family = AF_INET;
	sa->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	sa->sin_port = htons(port);
}

static int
tcp_client(uint16_t port)
{
	struct sockaddr_in sa;
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	to_port(&sa, port);
	if (fd >= 0 && connect(fd, (struct sockaddr *)&sa, sizeof(sa))) {
		close(fd);
		return -1;
	}
	return fd;
}

/* Read what is there within ms: bytes, 0 at EOF (or reset), -1 when
   nothing came. */
static ssize_t
rd(int fd, char *buf, size_t sz, int ms)
{
	struct pollfd p = {fd, POLLIN, 0};
	ssize_t n;

	if (poll(&p, 1, ms) <= 0)
		return -1;
	n = recv(fd, buf, sz, MSG_DONTWAIT);
	return n < 0 && errno == ECONNRESET ? 0 : n;
}

/* Run the loop in slices until the peer's end of fd is closed (EOF) or
   ms pass; true at EOF. The loop runs so the ctx can act. */
static bool
wait_eof(struct ab *a, int fd, int ms)
{
	char buf[512];
	double end = now_ms() + ms;
	ssize_t n;

	while (now_ms() < end) {
		run(a, 10);
		n = recv(fd, buf, sizeof(buf), MSG_DONTWAIT);
		if (n == 0 || (n < 0 && errno == ECONNRESET))
			return true;
	}
	return false;
}

static size_t
options(char *buf, size_t size, const char *proto, uint16_t port, unsigned seq)
{
	return (size_t)snprintf(
		buf, size,
		"OPTIONS sip:ab@127.0.0.1 SIP/2.0\r\n"
		"Via: SIP/2.0/%s 127.0.0.1:%u;rport;branch=z9hG4bKab%u\r\n"
		"Max-Forwards: 70\r\n"
		"From: <sip:g@127.0.0.1>;tag=g%u\r\n"
		"To: <sip:ab@127.0.0.1>\r\n"
		"Call-ID: ab-%u@x\r\n"
		"CSeq: 1 OPTIONS\r\n"
		"Content-Length: 0\r\n\r\n",
		proto, port, seq, seq, seq);
}

/* ---- malformed UDP flood ------------------------------------------ */

#define FLOOD_TOTAL 50000
#define FLOOD_BAD_SOCKS 3
#define FLOOD_GOOD_EVERY 50
#define FLOOD_CHUNK 64

enum bad_kind {
	BAD_RANDOM, /* random bytes, no Via */
	BAD_TRUNC,  /* a valid request cut inside its headers */
	BAD_HUGE,   /* 65,507 bytes of garbage */
	BAD_CLEN,   /* Content-Length larger than the body */
	BAD_BROKEN, /* valid Via, broken CSeq and request line */
	BAD_KIND_COUNT
};

static uint64_t rng = 0x9e3779b97f4a7c15ULL;

static uint32_t
rnd(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return (uint32_t)(rng >> 16);
}

/* Build bad datagram number i into buf; *has_via when its top Via is
   whole (a reply may come), *must_reply when one must. */
static size_t
bad_build(char *buf, unsigned i, uint16_t port, bool *has_via, bool *must_reply)
{
	enum bad_kind k = (enum bad_kind)(rnd() % BAD_KIND_COUNT);
	size_t n, j, cut, via_end;
	const char *v;

	*has_via = *must_reply = false;
	if (k == BAD_HUGE && rnd() % 10)
		k = BAD_RANDOM; /* about 2% huge: they cost 64 KiB each */
	switch (k) {
	case BAD_RANDOM:
	case BAD_HUGE:
		n = k == BAD_HUGE ? 65507 : 1 + rnd() % 1400;
		for (j = 0; j < n; j++)
			buf[j] = (char)rnd();
		buf[0] = 'X'; /* not a keep-alive */
		return n;
	case BAD_TRUNC:
		n = options(buf, 2048, "UDP", port, i);
		v = strstr(buf, "\r\nMax-Forwards");
		via_end = (size_t)(v - buf) + 2;
		/* cut before the Via starts or after its line ends, never
		   inside it, and before the blank line */
		cut = rnd() % (n - 4);
		if (cut > 34 && cut < via_end)
			cut = via_end + rnd() % 20;
		*has_via = cut >= via_end;
		return cut ? cut : 1;
	case BAD_CLEN:
		n = options(buf, 2048, "UDP", port, i);
		memcpy(strstr(buf, "Content-Length: 0"), "Content-Length: 9",
		       17);
		*has_via = true;
		return n;
	case BAD_BROKEN:
		n = options(buf, 2048, "UDP", port, i);
		memcpy(strstr(buf, "CSeq: 1 OPTIONS"), "CSeq: x OPTIONS", 15);
		*has_via = *must_reply = true;
		return n;
	default:
		return 0;
	}
}

/* Read every reply waiting on fd; counts them, and 200s apart. */
static void
drain(int fd, unsigned *replies, unsigned *ok, unsigned *wrong)
{
	char buf[4096];
	ssize_t n;

	while ((n = recv(fd, buf, sizeof(buf), MSG_DONTWAIT)) > 0) {
		(*replies)++;
		if (n > 12 && !memcmp(buf, "SIP/2.0 200 ", 12))
			(*ok)++;
		else if (n < 9 || (memcmp(buf, "SIP/2.0 4", 9) &&
				   memcmp(buf, "SIP/2.0 5", 9)))
			(*wrong)++;
	}
}

/* Everything sent so far has been read and judged by the ctx. */
static uint64_t
judged(const struct ab *a)
{
	return st(a)->rx_msgs + st(a)->rx_parse_err + st(a)->rx_keepalive +
	       st(a)->rx_not_ours;
}

static void
test_udp_flood(void)
{
	struct ab a;
	struct sockaddr_in dst;
	int bad[FLOOD_BAD_SOCKS], good, i;
	unsigned sent = 0, ngood = 0, nvia = 0, nmust = 0, r_bad = 0,
		 ok_bad = 0, wrong = 0, r_good = 0, ok_good = 0;
	double t0 = now_ms(), end;
	char *buf = malloc(65536);
	bool has_via, must;
	size_t n;

	CU_ASSERT_FATAL(buf != NULL);
	CU_ASSERT_FATAL(ab_init(&a, NULL, TP_UDP) == 0);
	to_port(&dst, tp_local_port(a.tp, TP_UDP, AF_INET));
	for (i = 0; i < FLOOD_BAD_SOCKS; i++)
		CU_ASSERT_FATAL((bad[i] = udp_sock()) >= 0);
	CU_ASSERT_FATAL((good = udp_sock()) >= 0);
	while (sent < FLOOD_TOTAL) {
		for (i = 0; i < FLOOD_CHUNK && sent < FLOOD_TOTAL; i++) {
			int fd = bad[sent % FLOOD_BAD_SOCKS];

			if (sent % FLOOD_GOOD_EVERY == 0) {
				fd = good;
				n = options(buf, 2048, "UDP", sock_port(good),
					    sent);
				ngood++;
			} else {
				n = bad_build(buf, sent, sock_port(fd),
					      &has_via, &must);
				nvia += has_via;
				nmust += must;
			}
			CU_ASSERT(sendto(fd, buf, n, 0, (struct sockaddr *)&dst,
					 sizeof(dst)) == (ssize_t)n);
			sent++;
			if (n > 60000)
				break; /* let the ctx read it first */
		}
		end = now_ms() + 2000;
		while (judged(&a) < sent && now_ms() < end)
			event_base_loop(a.base, EVLOOP_NONBLOCK);
		CU_ASSERT_FATAL(judged(&a) == sent);
		for (i = 0; i < FLOOD_BAD_SOCKS; i++)
			drain(bad[i], &r_bad, &ok_bad, &wrong);
		drain(good, &r_good, &ok_good, &wrong);
	}
	run(&a, 20);
	for (i = 0; i < FLOOD_BAD_SOCKS; i++)
		drain(bad[i], &r_bad, &ok_bad, &wrong);
	drain(good, &r_good, &ok_good, &wrong);

	/* every valid OPTIONS delivered and answered, nothing else */
	CU_ASSERT_EQUAL(a.nrecv, ngood);
	CU_ASSERT_EQUAL(a.nbad, 0);
	CU_ASSERT_EQUAL(st(&a)->rx_msgs, ngood);
	CU_ASSERT_EQUAL(r_good, ngood);
	CU_ASSERT_EQUAL(ok_good, ngood);
	/* every bad datagram failed to parse; each was answered (Via
	   readable) or dropped */
	CU_ASSERT_EQUAL(st(&a)->rx_parse_err, FLOOD_TOTAL - ngood);
	CU_ASSERT_EQUAL(st(&a)->rx_keepalive, 0);
	CU_ASSERT_EQUAL(st(&a)->rx_parse_err,
			st(&a)->rx_dropped + st(&a)->tx_stateless);
	/* stateless replies only to requests with a readable Via, always
	   to the sender, always an error status */
	CU_ASSERT(st(&a)->tx_stateless >= nmust);
	CU_ASSERT(st(&a)->tx_stateless <= nvia);
	CU_ASSERT_EQUAL(r_bad, st(&a)->tx_stateless);
	CU_ASSERT_EQUAL(ok_bad, 0);
	CU_ASSERT_EQUAL(wrong, 0);
	CU_ASSERT_EQUAL(st(&a)->tx_msgs, ngood + st(&a)->tx_stateless);
	CU_ASSERT_EQUAL(st(&a)->tx_errors, 0);
	/* replies left in batches, not one system call each */
	CU_ASSERT(st(&a)->tx_udp_flushes < st(&a)->tx_msgs);
	CU_ASSERT(now_ms() - t0 < 10000);
	for (i = 0; i < FLOOD_BAD_SOCKS; i++)
		close(bad[i]);
	close(good);
	ab_done(&a);
	free(buf);
}

/* ---- slow and half-open TCP peers --------------------------------- */

#define CAP 4

static void
test_tcp_cap_and_idle(void)
{
	struct tp_conf conf;
	struct ab a;
	int cl[CAP], extra, slow, good, i;
	char buf[2048];
	uint16_t port;
	ssize_t n;
	size_t len;

	tp_conf_default(&conf);
	conf.max_conns = CAP;
	conf.idle_ms = 400;
	CU_ASSERT_FATAL(ab_init(&a, &conf, TP_TCP) == 0);
	port = tp_local_port(a.tp, TP_TCP, AF_INET);
	/* CAP - 1 silent peers and one sending a header a byte per 100 ms
	   (each byte pushes its idle timer back) */
	for (i = 0; i < CAP; i++)
		CU_ASSERT_FATAL((cl[i] = tcp_client(port)) >= 0);
	slow = cl[CAP - 1];
	run(&a, 50);
	CU_ASSERT_EQUAL(st(&a)->tcp_accepted, CAP);
	/* more are closed at once */
	CU_ASSERT_FATAL((extra = tcp_client(port)) >= 0);
	CU_ASSERT(wait_eof(&a, extra, 300));
	CU_ASSERT_EQUAL(st(&a)->tcp_refused, 1);
	close(extra);
	/* the silent ones are reaped at idle_ms; the slow one lives on */
	for (i = 0; i < 7; i++) {
		CU_ASSERT(send(slow, &"OPTIONS "[i], 1, MSG_NOSIGNAL) == 1);
		run(&a, 100);
	}
	CU_ASSERT_EQUAL(st(&a)->tcp_idle, CAP - 1);
	for (i = 0; i < CAP - 1; i++) {
		CU_ASSERT(rd(cl[i], buf, sizeof(buf), 0) == 0);
		close(cl[i]);
	}
	CU_ASSERT(st(&a)->tcp_rbuf_bytes > 0); /* the slow one's buffer */
	CU_ASSERT(st(&a)->tcp_rbuf_bytes <= conf.lim.max_msg + 4);
	/* a slot is free: a good client is served */
	CU_ASSERT_FATAL((good = tcp_client(port)) >= 0);
	len = options(buf, sizeof(buf), "TCP", 5060, 1);
	CU_ASSERT(send(good, buf, len, MSG_NOSIGNAL) == (ssize_t)len);
	run(&a, 50);
	n = rd(good, buf, sizeof(buf) - 1, 200);
	CU_ASSERT(n > 12 && !memcmp(buf, "SIP/2.0 200 ", 12));
	CU_ASSERT_EQUAL(st(&a)->tcp_refused, 1);
	/* the slow one stops: idle after 400 ms */
	CU_ASSERT(wait_eof(&a, slow, 1000));
	close(slow);
	close(good);
	run(&a, 20);
	ab_done(&a);
}

/* A header without CRLFCRLF: cut at max_msg, memory bounded. */
static void
test_tcp_endless_header(void)
{
	struct tp_conf conf;
	struct ab a;
	char chunk[1024];
	size_t total = 0;
	bool closed = false;
	int fd;

	tp_conf_default(&conf);
	conf.lim.max_msg = 16384;
	CU_ASSERT_FATAL(ab_init(&a, &conf, TP_TCP) == 0);
	CU_ASSERT_FATAL(
		(fd = tcp_client(tp_local_port(a.tp, TP_TCP, AF_INET))) >= 0);
	memset(chunk, 'a', sizeof(chunk));
	memcpy(chunk, "OPTIONS sip:x SIP/2.0\r\nX: ", 26);
	while (total < 200000 && !closed) {
		if (send(fd, chunk, sizeof(chunk), MSG_NOSIGNAL) < 0)
			closed = true;
		else
			total += sizeof(chunk);
		memcpy(chunk, "aaaaaaaaaaaaaaaaaaaaaaaaaa", 26);
		run(&a, 1);
		CU_ASSERT(st(&a)->tcp_rbuf_bytes <= conf.lim.max_msg + 4);
		closed = closed || st(&a)->tcp_bad_stream;
	}
	CU_ASSERT(wait_eof(&a, fd, 500));
	CU_ASSERT_EQUAL(st(&a)->tcp_bad_stream, 1);
	CU_ASSERT(total <= conf.lim.max_msg + 8 * sizeof(chunk));
	CU_ASSERT_EQUAL(st(&a)->tcp_rbuf_bytes, 0);
	CU_ASSERT_EQUAL(a.nrecv, 0);
	close(fd);
	ab_done(&a);
}

/* Slowloris: one byte every 40 ms keeps the idle timer from firing; the
   deadline counts from the message's first byte. Whole messages, and the
   quiet time after them, do not count. */
static void
test_tcp_msg_deadline(void)
{
	static const char req_start[] = "OPTIONS sip:ab@127.0.0.1 SIP/2.0\r\n";
	struct tp_conf conf;
	struct ab a;
	char buf[2048];
	double t0;
	size_t len;
	int fd, i;

	tp_conf_default(&conf);
	conf.idle_ms = 10000;
	conf.msg_timeout_ms = 300;
	CU_ASSERT_FATAL(ab_init(&a, &conf, TP_TCP) == 0);
	CU_ASSERT_FATAL(
		(fd = tcp_client(tp_local_port(a.tp, TP_TCP, AF_INET))) >= 0);
	/* a whole message, then silence longer than the deadline */
	len = options(buf, sizeof(buf), "TCP", 5060, 1);
	CU_ASSERT(send(fd, buf, len, MSG_NOSIGNAL) == (ssize_t)len);
	run(&a, 400);
	CU_ASSERT(rd(fd, buf, sizeof(buf), 100) > 12);
	CU_ASSERT_EQUAL(st(&a)->tcp_msg_timeouts, 0);
	/* then the trickle */
	t0 = now_ms();
	for (i = 0; i < 25 && !st(&a)->tcp_msg_timeouts; i++) {
		send(fd, req_start + i, 1, MSG_NOSIGNAL);
		run(&a, 40);
	}
	CU_ASSERT_EQUAL(st(&a)->tcp_msg_timeouts, 1);
	CU_ASSERT(now_ms() - t0 >= 280 && now_ms() - t0 < 700);
	CU_ASSERT_EQUAL(st(&a)->tcp_idle, 0);
	CU_ASSERT(wait_eof(&a, fd, 200));
	CU_ASSERT_EQUAL(a.nrecv, 1);
	close(fd);
	ab_done(&a);
}

/* ---- accept() out of descriptors ---------------------------------- */

/* Child: a TCP listener whose process cannot open one more descriptor.
   Reports "port" on wr, waits for a byte on rd (clients connected), runs
   500 ms starved, then 300 ms with the limit raised. Exit status 0 when
   the listener slept instead of spinning and accepted afterwards. */
static int
emfile_child(int wr, int rdfd)
{
	struct rlimit rl, low;
	struct rusage ru0, ru1;
	struct ab a;
	uint16_t port;
	long cpu_us;
	char c;
	int probe, rc = 0;

	if (ab_init(&a, NULL, TP_TCP))
		return 10;
	port = tp_local_port(a.tp, TP_TCP, AF_INET);
	if (write(wr, &port, sizeof(port)) != sizeof(port) ||
	    read(rdfd, &c, 1) != 1)
		return 11;
	probe = dup(0); /* the lowest free descriptor number */
	close(probe);
	getrlimit(RLIMIT_NOFILE, &rl);
	low = rl;
	low.rlim_cur = (rlim_t)probe;
	if (setrlimit(RLIMIT_NOFILE, &low))
		return 12;
	getrusage(RUSAGE_SELF, &ru0);
	run(&a, 500);
	getrusage(RUSAGE_SELF, &ru1);
	cpu_us = (ru1.ru_utime.tv_sec - ru0.ru_utime.tv_sec) * 1000000L +
		 (ru1.ru_utime.tv_usec - ru0.ru_utime.tv_usec) +
		 (ru1.ru_stime.tv_sec - ru0.ru_stime.tv_sec) * 1000000L +
		 (ru1.ru_stime.tv_usec - ru0.ru_stime.tv_usec);
	if (st(&a)->tcp_accepted != 0)
		rc = 13;
	/* 100 ms pauses: about 5 tries in 500 ms; a spinning loop makes
	   hundreds of thousands */
	else if (st(&a)->tcp_accept_backoffs < 2 ||
		 st(&a)->tcp_accept_backoffs > 10)
		rc = 14;
	else if (cpu_us > 150000)
		rc = 15;
	setrlimit(RLIMIT_NOFILE, &rl);
	if (!rc) {
		run(&a, 300);
		if (st(&a)->tcp_accepted != 2)
			rc = 16;
	}
	ab_done(&a);
	return rc;
}

static void
test_accept_emfile(void)
{
	int up[2], down[2], cl[2] = {-1, -1}, status = -1, i;
	uint16_t port = 0;
	pid_t pid, w = 0;
	char c = 'g';

	CU_ASSERT_FATAL(pipe(up) == 0 && pipe(down) == 0);
	pid = fork();
	CU_ASSERT_FATAL(pid >= 0);
	if (pid == 0) {
		close(up[0]);
		close(down[1]);
		_exit(emfile_child(up[1], down[0]));
	}
	close(up[1]);
	close(down[0]);
	{
		struct pollfd p = {up[0], POLLIN, 0};

		if (poll(&p, 1, 3000) == 1)
			CU_ASSERT(read(up[0], &port, sizeof(port)) ==
				  sizeof(port));
	}
	for (i = 0; port && i < 2; i++)
		CU_ASSERT((cl[i] = tcp_client(port)) >= 0);
	CU_ASSERT(write(down[1], &c, 1) == 1);
	for (i = 0; i < 300 && w == 0; i++) { /* 3 s at most */
		w = waitpid(pid, &status, WNOHANG);
		if (w == 0)
			usleep(10000);
	}
	if (w == 0) {
		kill(pid, SIGKILL);
		waitpid(pid, &status, 0);
	}
	CU_ASSERT(WIFEXITED(status));
	if (WIFEXITED(status) && WEXITSTATUS(status))
		fprintf(stderr, "emfile child: status %d\n",
			WEXITSTATUS(status));
	CU_ASSERT_EQUAL(WIFEXITED(status) ? WEXITSTATUS(status) : -1, 0);
	for (i = 0; i < 2; i++)
		if (cl[i] >= 0)
			close(cl[i]);
	close(up[0]);
	close(down[1]);
}

void test_tp_abuse_register(void);
void
test_tp_abuse_register(void)
{
	CU_pSuite s = tu_suite("tp_abuse");

	TU_ADD(s, test_udp_flood);
	TU_ADD(s, test_tcp_cap_and_idle);
	TU_ADD(s, test_tcp_endless_header);
	TU_ADD(s, test_tcp_msg_deadline);
	TU_ADD(s, test_accept_emfile);
}
