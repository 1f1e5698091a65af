/* Benchmark: the RTP relay (media/relay*.c) on loopback. For K concurrent
   streams (default 100 and 1000), one load thread sends 172-byte RTP
   packets (G.711, 20 ms) through leg A of the relay to a sink behind leg
   B, with a bounded number in flight, for a few seconds; it prints the
   forwarded packets/s, the drops, and the relay's CPU time per packet,
   next to a floor measured in the same run over the same socket set-up:
   a bare epoll + recvmmsg/sendmmsg forwarder thread. A figure, not a
   test: nothing here fails. Only 127.0.0.1 is used.
   Usage: relay_bench [seconds [K ...]]; RELAY_BENCH_ONLY=bare|relay runs
   one side only (for perf). */
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
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "media/relay.h"
#include "stack/mem.h"

#define PKT 172
#define BATCH 32
#define WINDOW 1024 /* packets in flight, all streams together */
#define PORT0 42000
#define KMAX 4000

static double
now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static double
cpu_s(clockid_t cid)
{
	struct timespec ts;

	clock_gettime(cid, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int
udp_bind(uint16_t port, uint16_t *bound)
{
	struct sockaddr_in sin = {.sin_family = AF_INET};
	socklen_t len = sizeof(sin);
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0), sz = 8 << 20;

	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	sin.sin_port = htons(port);
	if (fd < 0 || bind(fd, (struct sockaddr *)&sin, sizeof(sin)) < 0) {
		perror("bind");
		exit(1);
	}
	(void)setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &sz, sizeof(sz));
	(void)setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &sz, sizeof(sz));
	getsockname(fd, (struct sockaddr *)&sin, &len);
	if (bound)
		*bound = ntohs(sin.sin_port);
	return fd;
}

static struct sockaddr_in
lo(uint16_t port)
{
	struct sockaddr_in sin = {.sin_family = AF_INET};

	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	sin.sin_port = htons(port);
	return sin;
}

/* ---- load: generator and sink in one thread -------------------------- */

struct load {
	unsigned k;
	uint16_t dst[KMAX]; /* leg A port of each stream */
	int gen, sink;	    /* sockets */
	uint16_t gen_port, sink_port;
	double secs;
	uint64_t sent, rcvd;
	double cpu, wall;
};

static void
load_send(struct load *l, unsigned *next, uint16_t *seq)
{
	static uint8_t buf[BATCH][PKT];
	struct sockaddr_in to[BATCH];
	struct mmsghdr mm[BATCH];
	struct iovec iov[BATCH];
	unsigned i, s;
	int n;

	memset(mm, 0, sizeof(mm));
	for (i = 0; i < BATCH; i++) {
		s = *next;
		*next = (s + 1) % l->k;
		memset(buf[i], 0xd5, PKT);
		buf[i][0] = 0x80;
		buf[i][1] = 0;
		buf[i][2] = (uint8_t)(seq[s] >> 8);
		buf[i][3] = (uint8_t)seq[s];
		buf[i][7] = (uint8_t)(seq[s] * 160u);
		buf[i][11] = (uint8_t)s;
		seq[s]++;
		to[i] = lo(l->dst[s]);
		iov[i].iov_base = buf[i];
		iov[i].iov_len = PKT;
		mm[i].msg_hdr.msg_iov = &iov[i];
		mm[i].msg_hdr.msg_iovlen = 1;
		mm[i].msg_hdr.msg_name = &to[i];
		mm[i].msg_hdr.msg_namelen = sizeof(to[i]);
	}
	n = sendmmsg(l->gen, mm, BATCH, MSG_DONTWAIT);
	if (n > 0)
		l->sent += (unsigned)n;
}

static unsigned
load_drain(struct load *l)
{
	static uint8_t buf[BATCH][256];
	struct mmsghdr mm[BATCH];
	struct iovec iov[BATCH];
	unsigned i, got = 0;
	int n;

	do {
		memset(mm, 0, sizeof(mm));
		for (i = 0; i < BATCH; i++) {
			iov[i].iov_base = buf[i];
			iov[i].iov_len = sizeof(buf[i]);
			mm[i].msg_hdr.msg_iov = &iov[i];
			mm[i].msg_hdr.msg_iovlen = 1;
		}
		n = recvmmsg(l->sink, mm, BATCH, MSG_DONTWAIT, NULL);
		if (n > 0)
			got += (unsigned)n;
	} while (n == BATCH);
	l->rcvd += got;
	return got;
}

/* Keep at most WINDOW packets in flight; a packet lost in the kernel is
   forgiven after 20 ms without progress so the window cannot stall. */
static void *
load_main(void *arg)
{
	struct load *l = arg;
	static uint16_t seq[KMAX];
	double t0 = now_s(), c0 = cpu_s(CLOCK_THREAD_CPUTIME_ID), last = t0;
	uint64_t forgiven = 0;
	const struct timespec nap = {0, 100000};
	struct pollfd pfd = {.fd = l->sink, .events = POLLIN};
	unsigned next = 0;

	for (;;) {
		double t = now_s();

		if (t - t0 >= l->secs)
			break;
		if (l->sent - l->rcvd - forgiven + BATCH <= WINDOW)
			load_send(l, &next, seq);
		else /* a nap, not poll(): the forwarder's sends then
			never pay for waking us up */
			nanosleep(&nap, NULL);
		if (load_drain(l))
			last = t;
		else if (t - last > 0.02) {
			forgiven = l->sent - l->rcvd;
			last = t;
		}
	}
	l->wall = now_s() - t0;
	l->cpu = cpu_s(CLOCK_THREAD_CPUTIME_ID) - c0;
	/* what is still in flight arrives late, not lost */
	while (poll(&pfd, 1, 50) == 1)
		load_drain(l);
	return NULL;
}

static void
load_run(struct load *l)
{
	pthread_t th;

	struct pollfd pfd = {.fd = l->sink, .events = POLLIN};

	/* what the previous case left in flight is not this case's */
	while (poll(&pfd, 1, 100) == 1)
		load_drain(l);
	l->sent = l->rcvd = 0;
	pthread_create(&th, NULL, load_main, l);
	pthread_join(th, NULL);
}

static void
report(const char *what, const struct load *l, double fwd_cpu, uint64_t drops)
{
	double pps = (double)l->rcvd / l->wall;

	printf("  %-22s %8.0f pkt/s  lost %6.2f%%  cpu/pkt %5.2f us  "
	       "(%.0f pkt/s per core)  load cpu %.0f%%%s\n",
	       what, pps,
	       l->sent ? 100.0 * ((double)l->sent - (double)l->rcvd) /
				 (double)l->sent
		       : 0.0,
	       l->rcvd ? fwd_cpu * 1e6 / (double)l->rcvd : 0.0,
	       fwd_cpu > 0 ? (double)l->rcvd / fwd_cpu : 0.0,
	       100.0 * l->cpu / l->wall, drops ? " (relay drops!)" : "");
}

/* ---- the relay ------------------------------------------------------- */

static void
bench_relay(struct load *l)
{
	struct relay_conf conf = {0};
	struct relay_sess **s = calloc(l->k, sizeof(*s));
	struct relay_ctx *ctx = NULL;
	struct relay_remote ra = {0}, rb = {0};
	uint64_t c0 = 0, c1 = 0, drops = 0, fwd = 0;
	unsigned i;
	uint16_t pb;

	conf.port_min = PORT0;
	conf.port_max = (uint16_t)(PORT0 + 4 * l->k + 99);
	conf.nworkers = 1;
	conf.sock_buf = 1 << 20;
	if (relay_ctx_alloc(&ctx, &conf)) {
		fprintf(stderr, "relay_ctx_alloc failed\n");
		exit(1);
	}
	strcpy(ra.ip, "127.0.0.1");
	strcpy(rb.ip, "127.0.0.1");
	ra.rtp_port = l->gen_port;
	rb.rtp_port = l->sink_port;
	for (i = 0; i < l->k; i++) {
		char id[32];

		snprintf(id, sizeof(id), "bench-%u", i);
		if (relay_sess_alloc(&s[i], ctx, id) ||
		    relay_stream_open(s[i], RELAY_LEG_A, 0, &l->dst[i]) ||
		    relay_stream_open(s[i], RELAY_LEG_B, 0, &pb) ||
		    relay_stream_remote(s[i], RELAY_LEG_A, 0, &ra) ||
		    relay_stream_remote(s[i], RELAY_LEG_B, 0, &rb)) {
			fprintf(stderr, "session %u failed\n", i);
			exit(1);
		}
	}
	relay_ctx_sync(ctx);
	relay_ctx_worker_cpu(ctx, 0, &c0);
	load_run(l);
	relay_ctx_worker_cpu(ctx, 0, &c1);
	for (i = 0; i < l->k; i++) {
		struct relay_stats st;

		relay_stream_stats(s[i], RELAY_LEG_A, 0, &st);
		fwd += st.forwarded;
		drops += st.drop_source + st.drop_noremote + st.drop_hold +
			 st.drop_send + st.malformed;
		s[i] = relay_sess_close(s[i]);
	}
	relay_ctx_sync(ctx);
	mem_deref(ctx);
	free(s);
	report("relay (1 worker)", l, (double)(c1 - c0) / 1e9, drops);
	printf("  %-22s forwarded %llu, drops/malformed counted %llu\n", "",
	       (unsigned long long)fwd, (unsigned long long)drops);
}

/* ---- the floor: bare epoll + recvmmsg/sendmmsg ----------------------- */

struct bare {
	unsigned k;
	int a[KMAX], b[KMAX];
	int ep;
	uint16_t sink_port;
	atomic_bool stop;
};

static void
bare_fwd(struct bare *f, unsigned i)
{
	static uint8_t buf[BATCH][2048];
	struct sockaddr_in to = lo(f->sink_port);
	struct mmsghdr mm[BATCH];
	struct iovec iov[BATCH];
	unsigned j;
	int n;

	memset(mm, 0, sizeof(mm));
	for (j = 0; j < BATCH; j++) {
		iov[j].iov_base = buf[j];
		iov[j].iov_len = sizeof(buf[j]);
		mm[j].msg_hdr.msg_iov = &iov[j];
		mm[j].msg_hdr.msg_iovlen = 1;
	}
	n = recvmmsg(f->a[i], mm, BATCH, MSG_DONTWAIT, NULL);
	if (n <= 0)
		return;
	for (j = 0; j < (unsigned)n; j++) {
		iov[j].iov_len = mm[j].msg_len;
		mm[j].msg_hdr.msg_name = &to;
		mm[j].msg_hdr.msg_namelen = sizeof(to);
	}
	(void)sendmmsg(f->b[i], mm, (unsigned)n, MSG_DONTWAIT);
}

static void *
bare_main(void *arg)
{
	struct bare *f = arg;
	struct epoll_event ev[64];
	int n, i;

	while (!atomic_load(&f->stop)) {
		n = epoll_wait(f->ep, ev, 64, 10);
		for (i = 0; i < n; i++)
			bare_fwd(f, ev[i].data.u32);
	}
	return NULL;
}

static void
bench_bare(struct load *l)
{
	struct bare *f = calloc(1, sizeof(*f));
	clockid_t cid;
	pthread_t th;
	double c0, c1;
	unsigned i;

	f->k = l->k;
	f->sink_port = l->sink_port;
	f->ep = epoll_create1(0);
	for (i = 0; i < l->k; i++) {
		struct epoll_event ev = {.events = EPOLLIN, .data.u32 = i};

		f->a[i] = udp_bind(0, &l->dst[i]);
		f->b[i] = udp_bind(0, NULL);
		epoll_ctl(f->ep, EPOLL_CTL_ADD, f->a[i], &ev);
	}
	pthread_create(&th, NULL, bare_main, f);
	pthread_getcpuclockid(th, &cid);
	c0 = cpu_s(cid);
	load_run(l);
	c1 = cpu_s(cid);
	atomic_store(&f->stop, true);
	pthread_join(th, NULL);
	for (i = 0; i < l->k; i++) {
		close(f->a[i]);
		close(f->b[i]);
	}
	close(f->ep);
	free(f);
	report("bare forwarder (floor)", l, c1 - c0, 0);
}

int
main(int argc, char **argv)
{
	static const unsigned def[] = {100, 1000};
	double secs = argc > 1 ? atof(argv[1]) : 3.0;
	struct load *l = calloc(1, sizeof(*l));
	unsigned n = argc > 2 ? (unsigned)(argc - 2) : 2, i;
	const char *only = getenv("RELAY_BENCH_ONLY"); /* "bare" or "relay" */

	l->gen = udp_bind(0, &l->gen_port);
	l->sink = udp_bind(0, &l->sink_port);
	l->secs = secs > 0 && secs <= 10 ? secs : 3.0;
	printf("relay_bench: %u-byte RTP, %u in flight, %.1f s per case, "
	       "1 relay thread + 1 load thread\n",
	       PKT, WINDOW, l->secs);
	for (i = 0; i < n; i++) {
		l->k = argc > 2 ? (unsigned)atoi(argv[i + 2]) : def[i];
		if (l->k == 0 || l->k > KMAX)
			continue;
		printf("K = %u streams\n", l->k);
		if (!only || !strcmp(only, "bare"))
			bench_bare(l);
		if (!only || !strcmp(only, "relay"))
			bench_relay(l);
	}
	close(l->gen);
	close(l->sink);
	free(l);
	return 0;
}
