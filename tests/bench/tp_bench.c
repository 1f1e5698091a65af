/* Benchmark: signaling workers on loopback (issue 3 item 5). Prints, for
   one run: (a) the floor, a bare recvmmsg/sendmmsg UDP echo; (b) a
   stateless 200 responder through tp + sipw (the TU hook, so with the
   Call-ID hand-over); (b') the same answered in sipw's filter hook on the
   receiving worker (no hand-over); (c) the same through the transaction
   layer; each with 1 and 2 workers; (d) in-memory server transactions
   created, matched and destroyed per second. A figure, not a test:
   nothing here fails. Only 127.0.0.1 is used.
 *
 * Honest on a small box: the load generator runs in the main thread,
 * pinned to core 0; 1 worker (or echo thread) is pinned to core 1, 2 to
 * cores 0 and 1, so with 2 workers one of them shares its core with the
 * generator. Besides messages per wall-clock second the bench reports
 * the CPU time the worker threads used (per-thread schedstat) and
 * replies per worker CPU-second: with perfect scaling that figure stays
 * the same from 1 to 2 workers, whatever the generator and other tenants
 * of the box take. On loopback the sender's system call also delivers
 * the datagram into the receiver's socket (softirq in the sender's
 * context), so a worker's CPU includes putting its replies into the
 * generator's sockets and the generator's includes putting requests into
 * the workers'; the same holds for the floor.
 */
#define _GNU_SOURCE 1
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/udp.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "stack/log.h"
#include "stack/mem.h"
#include "stack/sip_write.h"
#include "stack/sipw.h"
#include "stack/tmr.h"
#include "stack/txn.h"

#define CASE_SECS 3.0
#define GEN_SOCKS                                                              \
	32	     /* generator sockets (distinct source ports: the          \
			SO_REUSEPORT hash spreads flows, not messages) */
#define GEN_BATCH 16 /* messages per send */
#define GEN_WINDOW                                                             \
	32		    /* in flight per socket: 32 x 32 = 1024 in all, so \
			       even one worker's socket (2 MiB SO_RCVBUF from  \
			       tp, doubled by the kernel) holds them all */
#define GEN_CPU 0	    /* the generator's core */
#define GEN_RECV 64	    /* replies per recvmmsg() */
#define GEN_ONE_WINDOW 1024 /* in flight with a single source port */
#define MSG_MAX 512
#define NW_MAX 2

static bool pin_ok; /* at least 2 cores: pinning is done */

static double
now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static double
clock_s(clockid_t id)
{
	struct timespec ts;

	clock_gettime(id, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* ---- CPU placement and accounting --------------------------------- */

static pid_t
my_tid(void)
{
	return (pid_t)syscall(SYS_gettid);
}

static void
pin_tid(pid_t tid, int cpu)
{
	cpu_set_t set;

	if (!pin_ok)
		return;
	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	if (sched_setaffinity(tid, sizeof(set), &set))
		perror("sched_setaffinity");
}

/* Core of worker i of n: 1 worker on core 1, 2 on cores 0 and 1. */
static int
worker_cpu(unsigned i, unsigned n)
{
	return n == 1 ? 1 : (int)i;
}

/* Nanoseconds task tid of this process has run (schedstat field 1,
   user + system, including the softirq work done in its context). */
static double
task_cpu_s(pid_t tid)
{
	char path[64];
	unsigned long long ns = 0;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/self/task/%d/schedstat", (int)tid);
	f = fopen(path, "r");
	if (!f)
		return 0;
	if (fscanf(f, "%llu", &ns) != 1)
		ns = 0;
	fclose(f);
	return (double)ns / 1e9;
}

/* The threads of this process other than the caller; returns how many. */
static unsigned
other_tasks(pid_t *out, unsigned max)
{
	pid_t self = my_tid();
	struct dirent *de;
	unsigned n = 0;
	DIR *d = opendir("/proc/self/task");

	if (!d)
		return 0;
	while ((de = readdir(d)) != NULL) {
		pid_t t = (pid_t)atoi(de->d_name);

		if (t > 0 && t != self && n < max)
			out[n++] = t;
	}
	closedir(d);
	return n;
}

/* Busy CPU-seconds of the whole machine so far (/proc/stat, all but
   idle and iowait): minus this process's CPU, what other tenants used. */
static double
machine_busy_s(void)
{
	unsigned long long v[8] = {0};
	FILE *f = fopen("/proc/stat", "r");
	int k;

	if (!f)
		return 0;
	k = fscanf(f, "cpu %llu %llu %llu %llu %llu %llu %llu %llu", &v[0],
		   &v[1], &v[2], &v[3], &v[4], &v[5], &v[6], &v[7]);
	fclose(f);
	if (k != 8)
		return 0;
	return (double)(v[0] + v[1] + v[2] + v[5] + v[6] + v[7]) /
	       (double)sysconf(_SC_CLK_TCK);
}

/* Datagrams dropped by the UDP sockets on local ports ports[0..n)
   (/proc/net/udp "drops": receive buffer full), summed over the sockets
   of each port (the workers share theirs). One pass: the file lists
   every UDP socket of the box (thousands when other tests run). */
static unsigned long long
udp_drops(const uint16_t *ports, unsigned n)
{
	unsigned long long sum = 0, drops;
	static char line[512];
	unsigned port, i;
	FILE *f = fopen("/proc/net/udp", "r");

	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f)) {
		char *p = strchr(line, ':'), *last;

		/* "sl: local_ip:port ..." then drops last */
		if (!p || !(p = strchr(p + 1, ':')) ||
		    sscanf(p + 1, "%x", &port) != 1)
			continue;
		for (i = 0; i < n && ports[i] != port; i++)
			;
		if (i == n)
			continue;
		last = line + strlen(line);
		while (last > line && (last[-1] == ' ' || last[-1] == '\n'))
			*--last = '\0';
		last = strrchr(line, ' ');
		if (last && sscanf(last + 1, "%llu", &drops) == 1)
			sum += drops;
	}
	fclose(f);
	return sum;
}

/* One case's figures. */
struct meas {
	uint64_t sent, rcvd, lost;
	double secs;
	double gen_cpu;	      /* generator thread CPU-s */
	double wcpu;	      /* all worker threads' CPU-s */
	double wcpu1[NW_MAX]; /* each worker thread's (tids order) */
	double foreign;	      /* CPU-s of the box not used by this process */
	unsigned nw;
	uint64_t wrx[NW_MAX]; /* messages each worker's socket received */
	double handoff;	      /* share handed to another worker, or -1 */
	uint64_t hdrop;
	double wake_per_ho; /* eventfd wake-ups per hand-over delivered */
	unsigned long long wdrop, gdrop; /* receive-buffer drops: workers'
					    sockets, generator's */
};

/* Snapshot around the generator run: tids are the worker threads. */
struct snap {
	double task[NW_MAX], gen, proc, busy;
};

static void
snap_take(struct snap *s, const pid_t *tids, unsigned n)
{
	unsigned i;

	for (i = 0; i < n; i++)
		s->task[i] = task_cpu_s(tids[i]);
	s->gen = clock_s(CLOCK_THREAD_CPUTIME_ID);
	s->proc = clock_s(CLOCK_PROCESS_CPUTIME_ID);
	s->busy = machine_busy_s();
}

static void
snap_diff(struct meas *m, const struct snap *a, const struct snap *b,
	  unsigned n)
{
	unsigned i;

	m->wcpu = 0;
	for (i = 0; i < n; i++) {
		m->wcpu1[i] = b->task[i] - a->task[i];
		m->wcpu += m->wcpu1[i];
	}
	m->gen_cpu = b->gen - a->gen;
	m->foreign = (b->busy - a->busy) - (b->proc - a->proc);
	if (m->foreign < 0)
		m->foreign = 0; /* tick granularity */
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

/* A socket's GEN_BATCH requests, all of one length (the counters are
   fixed-width), back to back in gso[] when the kernel takes UDP GSO
   (UDP_SEGMENT: one send() of n x len bytes leaves as n datagrams, one
   route and one trip down the stack), else sent with sendmmsg(). */
struct gen_sock {
	int fd;
	bool gso;
	struct gen_msg msg[GEN_BATCH];
	char gso_buf[GEN_BATCH * MSG_MAX];
	uint64_t sent, rcvd;
	uint64_t wo; /* written off as lost (late replies still count) */
	double last_progress;
};

/* All requests from one source port, as from one trunk: the
   SO_REUSEPORT hash then puts them all on one worker's socket. */
static bool gen_one_port;

static bool gen_gso = true;

/* Nice value of the generator while it runs (TP_BENCH_GEN_NICE; default
   0): with a positive one the workers, created before at 0, win the core
   they share with it. Not the default: other tenants of the box at nice
   0 then starve the generator. */
static int gen_nice; /* off: TP_BENCH_NOGSO set, or refused */

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
	gs->gso = false;
	if (gen_gso) {
		int seg = (int)gs->msg[0].len;

		if (setsockopt(gs->fd, SOL_UDP, UDP_SEGMENT, &seg,
			       sizeof(seg)) == 0)
			gs->gso = true;
		else
			gen_gso = false;
		for (i = 0; i < GEN_BATCH; i++)
			memcpy(gs->gso_buf + (size_t)i * gs->msg[0].len,
			       gs->msg[i].buf, gs->msg[0].len);
	}
	a.sin_port = htons(port);
	if (connect(gs->fd, (struct sockaddr *)&a, sizeof(a)))
		return errno;
	return 0;
}

/* Send up to n (<= GEN_BATCH) fresh requests in one sendmmsg(). */
static void
gen_send(struct gen_sock *gs, uint64_t *seq, unsigned n)
{
	struct mmsghdr mm[GEN_BATCH];
	struct iovec iov[GEN_BATCH];
	unsigned i;
	ssize_t r;

	if (gs->gso) {
		size_t len = gs->msg[0].len;
		char *p = gs->gso_buf;

		for (i = 0; i < n; i++, p += len) {
			hex16(p + gs->msg[0].off_branch, *seq + i);
			hex16(p + gs->msg[0].off_callid, *seq + i);
		}
		r = send(gs->fd, gs->gso_buf, len * n, MSG_DONTWAIT);
		if (r > 0) {
			gs->sent += n;
			*seq += n;
		}
		return;
	}
	memset(mm, 0, sizeof(mm[0]) * n);
	for (i = 0; i < n; i++) {
		struct gen_msg *m = &gs->msg[i];

		hex16(m->buf + m->off_branch, *seq + i);
		hex16(m->buf + m->off_callid, *seq + i);
		iov[i].iov_base = m->buf;
		iov[i].iov_len = m->len;
		mm[i].msg_hdr.msg_iov = &iov[i];
		mm[i].msg_hdr.msg_iovlen = 1;
	}
	r = sendmmsg(gs->fd, mm, n, MSG_DONTWAIT);
	if (r > 0) {
		gs->sent += (uint64_t)r;
		*seq += (uint64_t)r;
	}
}

/* Replies are counted, not read: 1-byte buffers (the rest of each
   datagram is discarded); the headers are set once, the kernel only
   writes msg_len and the flags. */
static unsigned
gen_recv(struct gen_sock *gs)
{
	static char sink[GEN_RECV];
	static struct mmsghdr mm[GEN_RECV];
	static struct iovec iov[GEN_RECV];
	static bool init;
	int i, n;

	if (!init) {
		for (i = 0; i < GEN_RECV; i++) {
			iov[i].iov_base = &sink[i];
			iov[i].iov_len = 1;
			mm[i].msg_hdr.msg_iov = &iov[i];
			mm[i].msg_hdr.msg_iovlen = 1;
		}
		init = true;
	}
	n = recvmmsg(gs->fd, mm, GEN_RECV, MSG_DONTWAIT, NULL);
	if (n <= 0)
		return 0;
	gs->rcvd += (uint64_t)n;
	return (unsigned)n;
}

/* Fill s's window again, in batches of up to GEN_BATCH (at least half a
   batch: fewer, fuller calls). */
static void
gen_top_up(struct gen_sock *s, uint64_t *seq, uint64_t window)
{
	for (;;) {
		int64_t out = (int64_t)(s->sent - s->rcvd - s->wo);
		uint64_t room = out < 0 ? window : window - (uint64_t)out;
		uint64_t before = s->sent;

		if (room < GEN_BATCH / 2)
			return;
		gen_send(s, seq, room < GEN_BATCH ? (unsigned)room : GEN_BATCH);
		if (s->sent == before)
			return; /* socket buffer full: on the next reply */
	}
}

/*
 * Offer load to 127.0.0.1:port for secs from GEN_SOCKS sockets: each
 * keeps at most GEN_WINDOW requests unanswered (a window, so we measure
 * throughput and not loss) and tops it up in batches of up to GEN_BATCH;
 * a socket with no reply for 500 ms writes its window off and starts
 * again (late replies still count). With gen_one_port, one socket and a
 * window of GEN_ONE_WINDOW. Worker threads tids[0..n) are measured around the
 * run.
 */
static void
gen_run(uint16_t port, double secs, const pid_t *tids, unsigned n,
	struct meas *m)
{
	static struct gen_sock gs[GEN_SOCKS];
	struct pollfd pfd[GEN_SOCKS];
	unsigned nsocks = gen_one_port ? 1 : GEN_SOCKS;
	uint64_t window = gen_one_port ? GEN_ONE_WINDOW : GEN_WINDOW;
	struct snap s0, s1;
	uint64_t seq = 1;
	double t0, t, sweep;
	unsigned i, got;
	int ep = epoll_create1(EPOLL_CLOEXEC);

	if (ep < 0) {
		perror("epoll_create1");
		exit(1);
	}
	memset(gs, 0, sizeof(gs));
	for (i = 0; i < nsocks; i++) {
		struct epoll_event ev = {.events = EPOLLIN, .data.u32 = i};

		if (gen_open(&gs[i], i, port) ||
		    epoll_ctl(ep, EPOLL_CTL_ADD, gs[i].fd, &ev)) {
			perror("generator socket");
			exit(1);
		}
		pfd[i].fd = gs[i].fd;
		pfd[i].events = POLLIN;
	}
	if (gen_nice)
		setpriority(PRIO_PROCESS, (id_t)my_tid(), gen_nice);
	snap_take(&s0, tids, n);
	t0 = now_s();
	for (i = 0; i < nsocks; i++) {
		gs[i].last_progress = t0;
		gen_top_up(&gs[i], &seq, window);
	}
	sweep = t0;
	while ((t = now_s()) - t0 < secs) {
		struct epoll_event ev[GEN_SOCKS];
		int k, r = epoll_wait(ep, ev, (int)nsocks, 1);

		/* only the sockets with replies: no spinning over empty
		   ones (that took CPU from the worker sharing core 0) */
		for (k = 0; k < r; k++) {
			struct gen_sock *s = &gs[ev[k].data.u32];

			if (gen_recv(s))
				s->last_progress = t;
			gen_top_up(s, &seq, window);
		}
		if (t - sweep < 0.05)
			continue;
		sweep = t;
		for (i = 0; i < nsocks; i++) {
			struct gen_sock *s = &gs[i];
			int64_t out = (int64_t)(s->sent - s->rcvd - s->wo);

			if (out > 0 && t - s->last_progress > 0.5) {
				s->wo += (uint64_t)out; /* write off, go on */
				s->last_progress = t;
				gen_top_up(s, &seq, window);
			}
		}
	}
	m->secs = now_s() - t0;
	snap_take(&s1, tids, n);
	if (gen_nice)
		setpriority(PRIO_PROCESS, (id_t)my_tid(), 0);
	snap_diff(m, &s0, &s1, n);
	for (i = 0; i < nsocks; i++)
		m->rcvd += gs[i].rcvd; /* the replies inside the window */
	/* Lost: what is still unanswered after a 200 ms drain. */
	for (t0 = now_s(); now_s() - t0 < 0.2;) {
		for (i = 0, got = 0; i < nsocks; i++)
			got += gen_recv(&gs[i]);
		if (!got)
			poll(pfd, nsocks, 1);
	}
	{
		uint16_t ports[GEN_SOCKS];

		m->wdrop =
			udp_drops(&port, 1); /* the sockets are this case's */
		for (i = 0; i < nsocks; i++) {
			struct sockaddr_in a;
			socklen_t sl = sizeof(a);

			ports[i] = getsockname(gs[i].fd, (struct sockaddr *)&a,
					       &sl)
					   ? 0
					   : ntohs(a.sin_port);
		}
		m->gdrop = udp_drops(ports, nsocks);
	}
	for (i = 0; i < nsocks; i++) {
		m->sent += gs[i].sent;
		m->lost += gs[i].sent - gs[i].rcvd;
		close(gs[i].fd);
	}
	close(ep);
}

/* ---- (a) echo floor ---------------------------------------------- */

struct echo_th {
	int fd;
	int cpu;
	_Atomic pid_t tid;
	_Atomic uint64_t rx;
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

	pin_tid(0, e->cpu);
	atomic_store(&e->tid, my_tid());
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
		atomic_store_explicit(
			&e->rx,
			atomic_load_explicit(&e->rx, memory_order_relaxed) +
				(uint64_t)n,
			memory_order_relaxed);
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
run_echo(unsigned nthreads, struct meas *m)
{
	struct echo_th th[NW_MAX];
	_Atomic bool stop = false;
	pid_t tids[NW_MAX];
	uint16_t port = 0;
	unsigned i;

	memset(m, 0, sizeof(*m));
	m->nw = nthreads;
	m->handoff = -1;
	for (i = 0; i < nthreads; i++) {
		th[i].fd = echo_socket(&port);
		th[i].stop = &stop;
		th[i].cpu = worker_cpu(i, nthreads);
		atomic_init(&th[i].tid, 0);
		atomic_init(&th[i].rx, 0);
		if (th[i].fd < 0) {
			perror("echo socket");
			exit(1);
		}
	}
	for (i = 0; i < nthreads; i++)
		pthread_create(&th[i].th, NULL, echo_main, &th[i]);
	for (i = 0; i < nthreads; i++) {
		while (!atomic_load(&th[i].tid))
			sched_yield();
		tids[i] = atomic_load(&th[i].tid);
	}
	gen_run(port, CASE_SECS, tids, nthreads, m);
	atomic_store(&stop, true);
	for (i = 0; i < nthreads; i++) {
		pthread_join(th[i].th, NULL);
		m->wrx[i] = atomic_load(&th[i].rx);
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

/* (b') stateless, answered in the filter hook on the worker whose socket
   received the request: a stateless responder needs no Call-ID owner, so
   nothing is handed over. */
static bool
filter_stateless(struct sipw *w, const struct sip_msg *msg,
		 const struct tp_recv *rx, void *arg)
{
	tu_stateless(w, msg, rx, arg);
	return false;
}

static void
run_sipw(unsigned nworkers, sipw_recv_h *tu, sipw_filter_h *filter,
	 struct meas *m)
{
	struct sipw_conf conf;
	struct sipw_group *g = NULL;
	struct sipw_stats st, one;
	pid_t tids[NW_MAX + 4];
	unsigned i, nt;
	int err;

	memset(m, 0, sizeof(*m));
	m->nw = nworkers;
	sipw_conf_default(&conf);
	conf.nworkers = nworkers;
	conf.recvh = tu;
	conf.filterh = filter;
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
	/* sipw has no thread but its workers' (no logger, no resolver
	   here): pin them as the echo threads */
	nt = other_tasks(tids, NW_MAX + 4);
	if (nt != nworkers) {
		fprintf(stderr, "expected %u worker threads, found %u\n",
			nworkers, nt);
		exit(1);
	}
	for (i = 0; i < nt; i++)
		pin_tid(tids[i], worker_cpu(i, nworkers));
	gen_run(sipw_group_port(g), CASE_SECS, tids, nt, m);
	sipw_group_stop(g);
	sipw_group_stats(g, &st);
	for (i = 0; i < nworkers; i++) {
		sipw_stats(sipw_group_worker(g, i), &one);
		m->wrx[i] = one.rx;
	}
	m->handoff = st.rx ? (double)st.handoff_out / (double)st.rx : 0;
	m->hdrop = st.handoff_drop;
	m->wake_per_ho =
		st.handoff_in ? (double)st.wakeups / (double)st.handoff_in : 0;
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

static double
out_rate(const struct meas *m)
{
	return (double)m->rcvd / m->secs;
}

/* Replies per CPU-second of the worker threads. */
static double
out_per_cpu(const struct meas *m)
{
	return m->wcpu > 0 ? (double)m->rcvd / m->wcpu : 0;
}

static void
row(const char *name, const struct meas *m, const struct meas *floor)
{
	char split[32] = "-";

	if (m->nw == 2 && m->wrx[0] + m->wrx[1])
		snprintf(split, sizeof(split), "%2.0f/%2.0f",
			 100.0 * (double)m->wrx[0] /
				 (double)(m->wrx[0] + m->wrx[1]),
			 100.0 * (double)m->wrx[1] /
				 (double)(m->wrx[0] + m->wrx[1]));
	printf("%-22s %u %-4s %8.0f %8.0f %5.0f%% %5.2f %8.0f %5.0f%% "
	       "%5.2f %5.2f %6.2f %7llu %6llu %5s %1s",
	       name, m->nw, m->nw == 1 ? "1" : "0,1", (double)m->sent / m->secs,
	       out_rate(m), 100.0 * out_rate(m) / out_rate(floor),
	       m->wcpu / m->secs, out_per_cpu(m),
	       100.0 * out_per_cpu(m) / out_per_cpu(floor),
	       m->gen_cpu / m->secs, m->foreign / m->secs,
	       m->rcvd ? 1e6 * m->gen_cpu / (double)m->rcvd : 0.0,
	       (unsigned long long)m->lost, m->wdrop + m->gdrop, split, "");
	if (m->handoff >= 0)
		printf("%5.1f%% %llu %.2f", 100.0 * m->handoff,
		       (unsigned long long)m->hdrop, m->wake_per_ho);
	else
		printf("%15s", "");
	if (m->nw == 2)
		printf(" %.2f+%.2f", m->wcpu1[0] / m->secs,
		       m->wcpu1[1] / m->secs);
	printf("\n");
	fflush(stdout);
}

static void
scale(const char *name, const struct meas *m1, const struct meas *m2)
{
	printf("  %-22s wall x%.2f   per worker-CPU-s x%.2f   "
	       "capacity (2 x per-CPU-s / 1-worker rate) x%.2f\n",
	       name, out_rate(m2) / out_rate(m1),
	       out_per_cpu(m2) / out_per_cpu(m1),
	       2.0 * out_per_cpu(m2) / out_per_cpu(m1));
}

int
main(int argc, char **argv)
{
	struct meas fl[2], tp[2], tf[2], tx[2], t1[2];
	struct txn_stats ts;
	double rate;
	unsigned nw;

	/* one case only, for profiling: tp_bench echo|tp|filter|txn 1|2 */
	const char *only = argc > 2 ? argv[1] : NULL;

	pin_ok = sysconf(_SC_NPROCESSORS_ONLN) >= 2;
	if (getenv("TP_BENCH_NOGSO"))
		gen_gso = false;
	if (getenv("TP_BENCH_GEN_NICE"))
		gen_nice = atoi(getenv("TP_BENCH_GEN_NICE"));
	log_setup(LOG_L_WARN, LOG_T_STDERR, "tp_bench");
	pin_tid(0, GEN_CPU); /* the generator is this thread */
	printf("tp_bench: %u generator sockets, window %u/socket (c1: 1 "
	       "socket, window %u), batch %u (%s),\n%.0f s per case, %ld "
	       "online cores\n",
	       GEN_SOCKS, GEN_WINDOW, GEN_ONE_WINDOW, GEN_BATCH,
	       gen_gso ? "UDP GSO send" : "sendmmsg", CASE_SECS,
	       sysconf(_SC_NPROCESSORS_ONLN));
	if (pin_ok)
		printf("pinning: generator core %d (nice %d); 1 worker core 1; "
		       "2 workers cores 0,1 (one shares the generator's "
		       "core)\n\n",
		       GEN_CPU, gen_nice);
	else
		printf("pinning: off (fewer than 2 cores)\n\n");
	printf("%-22s %1s %-4s %8s %8s %6s %5s %8s %6s %5s %5s %6s %7s %6s "
	       "%5s %s\n",
	       "case", "w", "core", "in/s", "out/s", "floor", "wCPU",
	       "out/CPUs", "floor", "gCPU", "other", "gus/m", "lost", "rbuf",
	       "split", "handoff drop wake/ho  w0+w1");
	if (only) {
		nw = (unsigned)atoi(argv[2]) == 2 ? 2 : 1;
		if (!strcmp(only, "echo"))
			run_echo(nw, &fl[0]);
		else
			run_sipw(nw,
				 !strcmp(only, "txn") ? tu_txn : tu_stateless,
				 !strcmp(only, "filter") ? filter_stateless
							 : NULL,
				 &fl[0]);
		row(only, &fl[0], &fl[0]);
		return 0;
	}
	for (nw = 1; nw <= 2; nw++) {
		run_echo(nw, &fl[nw - 1]);
		row("(a) echo floor", &fl[nw - 1], &fl[nw - 1]);
	}
	for (nw = 1; nw <= 2; nw++) {
		run_sipw(nw, tu_stateless, NULL, &tp[nw - 1]);
		row("(b) tp stateless 200", &tp[nw - 1], &fl[nw - 1]);
	}
	for (nw = 1; nw <= 2; nw++) {
		run_sipw(nw, tu_stateless, filter_stateless, &tf[nw - 1]);
		row("(b') same, in filter", &tf[nw - 1], &fl[nw - 1]);
	}
	for (nw = 1; nw <= 2; nw++) {
		run_sipw(nw, tu_txn, NULL, &tx[nw - 1]);
		row("(c) tp + txn 200", &tx[nw - 1], &fl[nw - 1]);
	}
	gen_one_port = true; /* a trunk: one source address and port */
	for (nw = 1; nw <= 2; nw++) {
		run_sipw(nw, tu_txn, NULL, &t1[nw - 1]);
		row("(c1) same, 1 src port", &t1[nw - 1], &fl[nw - 1]);
	}
	gen_one_port = false;
	printf("\nscaling 1 -> 2 workers:\n");
	scale("(a) echo floor", &fl[0], &fl[1]);
	scale("(b) tp stateless 200", &tp[0], &tp[1]);
	scale("(b') same, in filter", &tf[0], &tf[1]);
	scale("(c) tp + txn 200", &tx[0], &tx[1]);
	scale("(c1) same, 1 src port", &t1[0], &t1[1]);
	printf("target, 2 workers >= 50%% of the 2-thread floor: (b) %s "
	       "(%.0f%%, per CPU-s %.0f%%), (c) %s (%.0f%%, per CPU-s "
	       "%.0f%%)\n",
	       out_rate(&tp[1]) >= 0.5 * out_rate(&fl[1]) ? "met" : "NOT met",
	       100.0 * out_rate(&tp[1]) / out_rate(&fl[1]),
	       100.0 * out_per_cpu(&tp[1]) / out_per_cpu(&fl[1]),
	       out_rate(&tx[1]) >= 0.5 * out_rate(&fl[1]) ? "met" : "NOT met",
	       100.0 * out_rate(&tx[1]) / out_rate(&fl[1]),
	       100.0 * out_per_cpu(&tx[1]) / out_per_cpu(&fl[1]));
	printf("grows 1 -> 2 workers (wall): (b) %s, (c) %s\n",
	       out_rate(&tp[1]) > out_rate(&tp[0]) ? "yes" : "no",
	       out_rate(&tx[1]) > out_rate(&tx[0]) ? "yes" : "no");
	rate = run_mem(&ts);
	printf("\n(d) in-memory server transactions (create + 200 + match "
	       "retransmission + destroy): %.0f /s\n"
	       "    created %llu destroyed %llu live %llu sends %llu\n",
	       rate, (unsigned long long)ts.created,
	       (unsigned long long)ts.destroyed, (unsigned long long)ts.live,
	       (unsigned long long)mem_sent);
	printf("\nout/s: replies per wall second (each one request in and "
	       "one response out);\n'floor': against the echo with as many "
	       "threads; wCPU: cores the worker\nthreads used; out/CPUs: "
	       "replies per worker CPU-second; gCPU: cores the\ngenerator "
	       "used; other: cores used by other processes on the box; "
	       "gus/m:\ngenerator CPU us per reply; split: share of messages "
	       "each worker's socket\nreceived; handoff: share handed to the "
	       "Call-ID's owner; drop: ring full;\nrbuf: receive-buffer "
	       "drops of the case's sockets (workers' + generator's);\n"
	       "w0+w1: cores each worker thread used (the one on core 0 "
	       "shares it with the\ngenerator).\n");
	return 0;
}
