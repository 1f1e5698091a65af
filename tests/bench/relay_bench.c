/* Benchmark: the RTP relay (media/relay*.c) on loopback. For K concurrent
   streams (default 100 and 1000), one load thread sends 172-byte RTP
   packets (G.711, 20 ms) through leg A of the relay to a sink behind leg
   B, with a bounded number in flight, for a few seconds; it prints the
   forwarded packets/s, the drops, and the relay's CPU time per packet,
   next to a floor measured in the same run over the same socket set-up:
   a bare epoll + recvmmsg/sendmmsg forwarder thread; then both paced at
   half the relay's per-core rate for latency percentiles. A figure, not a
   test: nothing here fails. Only 127.0.0.1 is used.
   Then the relay bridging RTP to SRTP (it protects every packet toward
   leg B, AES_CM_128_HMAC_SHA1_80) next to libsrtp's own srtp_protect()
   of the same packets, measured in the same run.
   Usage: relay_bench [seconds per round [K ...]]; RELAY_BENCH_ROUNDS=n
   (default 3) rounds alternate between the two forwarders. */
#define _GNU_SOURCE 1
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdbool.h>
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
#include "media/sec.h"
#include "stack/mem.h"
#include "srtp_raw.h"

#define PKT 172
#define BATCH 32
#define WINDOW 1024 /* packets in flight, all streams together */
#define PORT0 20000 /* below the ephemeral range the bare sockets use */
#define KMAX 2400

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

/* A socket on 127.0.0.1; big: 8 MB buffers (the load's sockets), else
   the kernel default like the relay's. */
static int
udp_bind(uint16_t port, uint16_t *bound, bool big)
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
	if (big) {
		(void)setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &sz,
				 sizeof(sz));
		(void)setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &sz,
				 sizeof(sz));
	}
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
	const uint16_t *dst; /* leg A port of each stream */
	int gen, sink;	     /* sockets */
	uint16_t gen_port, sink_port;
	double secs;
	uint64_t sent, rcvd;
	double cpu, wall;
	double rate;	/* paced rounds: packets/s; 0: saturate */
	uint32_t *hist; /* paced rounds: latency histogram, 1 us bins */
};

#define HIST 20000 /* 20 ms */

static uint64_t
now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* Send cnt (<= BATCH) packets, round robin over the streams, each with
   the send time (ns) in its first 8 payload bytes. */
static void
load_send(struct load *l, unsigned *next, uint16_t *seq, unsigned cnt)
{
	uint64_t t = now_ns();
	static uint8_t buf[BATCH][PKT];
	struct sockaddr_in to[BATCH];
	struct mmsghdr mm[BATCH];
	struct iovec iov[BATCH];
	unsigned i, s;
	int n;

	memset(mm, 0, sizeof(mm));
	for (i = 0; i < cnt; i++) {
		s = *next;
		*next = (s + 1) % l->k;
		memset(buf[i], 0xd5, PKT);
		buf[i][0] = 0x80;
		buf[i][1] = 0;
		buf[i][2] = (uint8_t)(seq[s] >> 8);
		buf[i][3] = (uint8_t)seq[s];
		buf[i][7] = (uint8_t)(seq[s] * 160u);
		buf[i][11] = (uint8_t)s;
		memcpy(buf[i] + 12, &t, sizeof(t));
		seq[s]++;
		to[i] = lo(l->dst[s]);
		iov[i].iov_base = buf[i];
		iov[i].iov_len = PKT;
		mm[i].msg_hdr.msg_iov = &iov[i];
		mm[i].msg_hdr.msg_iovlen = 1;
		mm[i].msg_hdr.msg_name = &to[i];
		mm[i].msg_hdr.msg_namelen = sizeof(to[i]);
	}
	n = sendmmsg(l->gen, mm, cnt, MSG_DONTWAIT);
	if (n > 0)
		l->sent += (unsigned)n;
}

static void
hist_add(uint32_t *hist, const struct mmsghdr *mm, unsigned n)
{
	uint64_t t = now_ns(), sent, us;
	unsigned i;

	for (i = 0; i < n; i++) {
		if (mm[i].msg_len < 20)
			continue;
		memcpy(&sent, (uint8_t *)mm[i].msg_hdr.msg_iov->iov_base + 12,
		       sizeof(sent));
		us = t > sent ? (t - sent) / 1000 : 0;
		hist[us < HIST ? us : HIST - 1]++;
	}
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
		if (n > 0 && l->hist)
			hist_add(l->hist, mm, (unsigned)n);
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
			load_send(l, &next, seq, BATCH);
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

/* Paced: rate packets/s in small bursts, waiting on the sink in between
   (ppoll with a ns timeout), each arrival's latency into l->hist. */
static void *
paced_main(void *arg)
{
	struct load *l = arg;
	static uint16_t seq[KMAX];
	struct pollfd pfd = {.fd = l->sink, .events = POLLIN};
	double t0 = now_s(), c0 = cpu_s(CLOCK_THREAD_CPUTIME_ID);
	double gap = 1.0 / l->rate, due = t0;
	unsigned next = 0;

	for (;;) {
		double t = now_s(), wait;
		unsigned cnt = 0;

		if (t - t0 >= l->secs)
			break;
		while (due <= t && cnt < BATCH) {
			cnt++;
			due += gap;
		}
		if (cnt)
			load_send(l, &next, seq, cnt);
		load_drain(l);
		wait = due - now_s();
		if (wait > 0) {
			struct timespec ts = {0, (long)(wait * 1e9)};

			(void)ppoll(&pfd, 1, &ts, NULL);
		}
	}
	l->wall = now_s() - t0;
	l->cpu = cpu_s(CLOCK_THREAD_CPUTIME_ID) - c0;
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
	pthread_create(&th, NULL, l->rate > 0 ? paced_main : load_main, l);
	pthread_join(th, NULL);
}

/* Figures of one round of one forwarder. */
struct fig {
	double pps, lost, cpu_us, per_core, load_cpu;
};

static struct fig
figures(const struct load *l, double fwd_cpu)
{
	struct fig f = {0};

	f.pps = (double)l->rcvd / l->wall;
	if (l->sent)
		f.lost = 100.0 * ((double)l->sent - (double)l->rcvd) /
			 (double)l->sent;
	if (l->rcvd)
		f.cpu_us = fwd_cpu * 1e6 / (double)l->rcvd;
	if (fwd_cpu > 0)
		f.per_core = (double)l->rcvd / fwd_cpu;
	f.load_cpu = 100.0 * l->cpu / l->wall;
	return f;
}

static void
report(const char *what, const struct fig *f)
{
	printf("  %-22s %8.0f pkt/s  lost %5.2f%%  cpu/pkt %5.2f us  "
	       "(%6.0f pkt/s per core)  load cpu %3.0f%%\n",
	       what, f->pps, f->lost, f->cpu_us, f->per_core, f->load_cpu);
}

/* ---- the relay ------------------------------------------------------- */

struct rside {
	struct relay_ctx *ctx;
	struct relay_sess **s;
	uint16_t dst[KMAX];
};

static void
relay_setup(struct rside *r, const struct load *l)
{
	struct relay_conf conf = {0};
	struct relay_remote ra = {0}, rb = {0};
	unsigned i;
	uint16_t pb;

	r->s = calloc(l->k, sizeof(*r->s));
	conf.port_min = PORT0;
	conf.port_max = (uint16_t)(PORT0 + 4 * l->k + 399);
	conf.nworkers = 1;
	if (!r->s || relay_ctx_alloc(&r->ctx, &conf)) {
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
		if (relay_sess_alloc(&r->s[i], r->ctx, id) ||
		    relay_stream_open(r->s[i], RELAY_LEG_A, 0, &r->dst[i]) ||
		    relay_stream_open(r->s[i], RELAY_LEG_B, 0, &pb) ||
		    relay_stream_remote(r->s[i], RELAY_LEG_A, 0, &ra) ||
		    relay_stream_remote(r->s[i], RELAY_LEG_B, 0, &rb)) {
			fprintf(stderr, "session %u failed\n", i);
			exit(1);
		}
	}
	relay_ctx_sync(r->ctx);
}

static struct fig
relay_round(struct rside *r, struct load *l)
{
	uint64_t c0 = 0, c1 = 0;

	l->dst = r->dst;
	relay_ctx_worker_cpu(r->ctx, 0, &c0);
	load_run(l);
	relay_ctx_worker_cpu(r->ctx, 0, &c1);
	return figures(l, (double)(c1 - c0) / 1e9);
}

static void
relay_teardown(struct rside *r, const struct load *l)
{
	uint64_t drops = 0, fwd = 0;
	unsigned i;

	for (i = 0; i < l->k; i++) {
		struct relay_stats st;

		relay_stream_stats(r->s[i], RELAY_LEG_A, 0, &st);
		fwd += st.forwarded;
		drops += st.drop_source + st.drop_noremote + st.drop_hold +
			 st.drop_send + st.drop_big + st.malformed;
		r->s[i] = relay_sess_close(r->s[i]);
	}
	relay_ctx_sync(r->ctx);
	r->ctx = mem_deref(r->ctx);
	free(r->s);
	printf("  relay counted: forwarded %llu, dropped or malformed %llu\n",
	       (unsigned long long)fwd, (unsigned long long)drops);
}

/* SRTP on every stream's A->B packets toward leg B (key) or off (NULL). */
static void
srtp_set(struct rside *r, const struct load *l, const struct sec_key *key)
{
	unsigned i;

	for (i = 0; i < l->k; i++)
		if (relay_stream_srtp(r->s[i], RELAY_LEG_A, 0, NULL, key)) {
			fprintf(stderr, "SRTP on stream %u failed\n", i);
			exit(1);
		}
	relay_ctx_sync(r->ctx);
}

/* The relay with every stream's A->B packets protected toward leg B
   (RTP in, SRTP out), rounds alternating with plain ones so both see the
   same machine; the best of each. */
static void
srtp_rounds(struct rside *r, struct load *l, unsigned rounds)
{
	struct sec_key key;
	struct fig fs, fp, bs = {0}, bp = {0};
	double raw1, rawk;
	unsigned i;

	if (sec_key_generate(&key, SEC_AES_CM_128_HMAC_SHA1_80)) {
		fprintf(stderr, "no SRTP key\n");
		return;
	}
	for (i = 0; i < rounds + 1; i++) {
		srtp_set(r, l, NULL);
		fp = relay_round(r, l);
		report("relay RTP->RTP (1 worker)", &fp);
		srtp_set(r, l, &key);
		fs = relay_round(r, l);
		report("relay RTP->SRTP (1 worker)", &fs);
		if (!bs.cpu_us || fs.cpu_us < bs.cpu_us)
			bs = fs;
		if (!bp.cpu_us || fp.cpu_us < bp.cpu_us)
			bp = fp;
	}
	srtp_set(r, l, NULL);
	raw1 = srtp_raw_protect_ns(SEC_AES_CM_128_HMAC_SHA1_80, PKT, 0.5, 1);
	rawk = srtp_raw_protect_ns(SEC_AES_CM_128_HMAC_SHA1_80, PKT, 0.5, l->k);
	raw1 /= 1000;
	rawk /= 1000;
	printf("  best: relay RTP->SRTP %.2f us/pkt (%.0f pkt/s per core), "
	       "RTP->RTP %.2f: SRTP adds %.2f us a packet\n",
	       bs.cpu_us, bs.per_core, bp.cpu_us, bs.cpu_us - bp.cpu_us);
	printf("  libsrtp's own protect here: %.2f us on 1 session, %.2f us "
	       "round robin over %u sessions: the relay's SRTP is %.2fx of "
	       "the latter (%.2fx of the former)\n",
	       raw1, rawk, l->k,
	       rawk > 0 ? (bs.cpu_us - bp.cpu_us) / rawk : 0.0,
	       raw1 > 0 ? (bs.cpu_us - bp.cpu_us) / raw1 : 0.0);
	sec_key_wipe(&key);
}

/* ---- the floor: bare epoll + recvmmsg/sendmmsg ----------------------- */

struct bare {
	unsigned k;
	int a[KMAX], b[KMAX];
	uint16_t dst[KMAX];
	int ep;
	uint16_t sink_port;
	atomic_bool stop;
	pthread_t th;
	clockid_t cid;
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

static struct bare *
bare_setup(const struct load *l)
{
	struct bare *f = calloc(1, sizeof(*f));
	unsigned i;

	if (!f)
		exit(1);
	f->k = l->k;
	f->sink_port = l->sink_port;
	f->ep = epoll_create1(0);
	for (i = 0; i < l->k; i++) {
		struct epoll_event ev = {.events = EPOLLIN, .data.u32 = i};

		f->a[i] = udp_bind(0, &f->dst[i], false);
		f->b[i] = udp_bind(0, NULL, false);
		epoll_ctl(f->ep, EPOLL_CTL_ADD, f->a[i], &ev);
	}
	pthread_create(&f->th, NULL, bare_main, f);
	pthread_getcpuclockid(f->th, &f->cid);
	return f;
}

static struct fig
bare_round(struct bare *f, struct load *l)
{
	double c0 = cpu_s(f->cid), c1;

	l->dst = f->dst;
	load_run(l);
	c1 = cpu_s(f->cid);
	return figures(l, c1 - c0);
}

static void
bare_teardown(struct bare *f)
{
	unsigned i;

	atomic_store(&f->stop, true);
	pthread_join(f->th, NULL);
	for (i = 0; i < f->k; i++) {
		close(f->a[i]);
		close(f->b[i]);
	}
	close(f->ep);
	free(f);
}

static void
pctl(const uint32_t *hist, unsigned *p50, unsigned *p99)
{
	uint64_t n = 0, c = 0;
	unsigned i;

	for (i = 0; i < HIST; i++)
		n += hist[i];
	*p50 = *p99 = 0;
	for (i = 0; i < HIST && n; i++) {
		c += hist[i];
		if (!*p50 && c * 2 >= n)
			*p50 = i;
		if (c * 100 >= n * 99) {
			*p99 = i;
			break;
		}
	}
}

/* Paced at half the relay's capacity per core: loopback latency through
   each forwarder (load thread to load thread, so it includes its own
   wake-ups); the relay's added latency is the difference. */
static void
latency(struct load *l, struct bare *f, struct rside *r, double rate)
{
	unsigned b50, b99, r50, r99;
	double secs = l->secs;

	l->hist = calloc(HIST, sizeof(*l->hist));
	if (!l->hist || rate < 1000)
		goto out;
	l->rate = rate;
	l->secs = 1.0;
	(void)bare_round(f, l);
	pctl(l->hist, &b50, &b99);
	memset(l->hist, 0, HIST * sizeof(*l->hist));
	(void)relay_round(r, l);
	pctl(l->hist, &r50, &r99);
	printf("  latency at %.0f pkt/s (50%% of the relay's per-core rate): "
	       "floor p50 %u us p99 %u us, relay p50 %u us p99 %u us: the "
	       "relay adds p50 %d us, p99 %d us\n",
	       rate, b50, b99, r50, r99, (int)r50 - (int)b50,
	       (int)r99 - (int)b99);
out:
	free(l->hist);
	l->hist = NULL;
	l->rate = 0;
	l->secs = secs;
}

/* Both forwarders set up side by side, rounds alternating; the best round
   of each (least CPU per packet) is the least disturbed by the other
   tenants of the machine. */
static void
bench_k(struct load *l, unsigned rounds)
{
	struct fig fb, fr, bb = {0}, br = {0};
	struct bare *f = bare_setup(l);
	struct rside r = {0};
	unsigned i;

	relay_setup(&r, l);
	for (i = 0; i < rounds; i++) {
		fb = bare_round(f, l);
		report("bare forwarder (floor)", &fb);
		fr = relay_round(&r, l);
		report("relay (1 worker)", &fr);
		if (!bb.cpu_us || fb.cpu_us < bb.cpu_us)
			bb = fb;
		if (!br.cpu_us || fr.cpu_us < br.cpu_us)
			br = fr;
	}
	printf("  best: floor %.2f us/pkt (%.0f pkt/s per core), relay %.2f "
	       "us/pkt (%.0f pkt/s per core): relay at %.0f%% of the floor\n",
	       bb.cpu_us, bb.per_core, br.cpu_us, br.per_core,
	       bb.per_core > 0 ? 100.0 * br.per_core / bb.per_core : 0.0);
	latency(l, f, &r, br.per_core / 2);
	srtp_rounds(&r, l, rounds);
	relay_teardown(&r, l);
	bare_teardown(f);
}

int
main(int argc, char **argv)
{
	static const unsigned def[] = {100, 1000};
	double secs = argc > 1 ? atof(argv[1]) : 1.5;
	struct load *l = calloc(1, sizeof(*l));
	unsigned n = argc > 2 ? (unsigned)(argc - 2) : 2, i;
	const char *rs = getenv("RELAY_BENCH_ROUNDS");
	unsigned rounds = rs ? (unsigned)atoi(rs) : 3;

	l->gen = udp_bind(0, &l->gen_port, true);
	l->sink = udp_bind(0, &l->sink_port, true);
	l->secs = secs > 0 && secs <= 10 ? secs : 1.5;
	if (rounds < 1 || rounds > 10)
		rounds = 3;
	printf("relay_bench: %u-byte RTP, %u in flight, %u rounds of %.1f s "
	       "per forwarder, 1 forwarder thread + 1 load thread\n",
	       PKT, WINDOW, rounds, l->secs);
	for (i = 0; i < n; i++) {
		l->k = argc > 2 ? (unsigned)atoi(argv[i + 2]) : def[i];
		if (l->k == 0 || l->k > KMAX)
			continue;
		printf("K = %u streams\n", l->k);
		bench_k(l, rounds);
	}
	close(l->gen);
	close(l->sink);
	free(l);
	return 0;
}
