/*
 * junk_flood: a bounded UDP junk flooder for the overload benchmark
 * (tests/bench/flood_bench.sh, issue 10 item 5). Loopback only.
 *
 *   junk_flood DST_IP:PORT PPS SECONDS [FIRST-LAST]
 *
 * Sends PPS datagrams per second for SECONDS seconds to DST (which must
 * be in 127.0.0.0/8), batched with sendmmsg, from one socket per source
 * address 127.0.0.FIRST .. 127.0.0.LAST (default 100-199; all of 127/8
 * is local), cycling through the kinds of junk below, then prints what
 * it sent per kind and what came back, and exits. The answers tandemd
 * sends back are drained (counted by status class) so they do not sit
 * in the kernel.
 *
 * Kinds:
 *   random     random bytes, 20..1400 of them
 *   truncated  a well-formed INVITE cut inside its headers
 *   bad_via    an INVITE whose Via cannot be read (dropped: nowhere to
 *              answer, RFC 3261 §18.2.1)
 *   no_callid  an INVITE without Call-ID, Via readable (400, §8.2.2)
 *   many_hdrs  an INVITE with 200 extra headers (over the 128 cap)
 *   known_cid  well-formed INVITE / OPTIONS / REGISTER, one Call-ID and
 *              branch per source (retransmissions of the same request)
 *   fresh_inv  INVITE with a fresh Call-ID and branch each time (a new
 *              transaction each), from a source the policy does not know
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define BATCH 32
#define MAXLEN 16384
#define MAXSRC 256

enum kind {
	K_RANDOM,
	K_TRUNC,
	K_BADVIA,
	K_NOCID,
	K_MANYHDR,
	K_KNOWN,
	K_FRESH,
	K_N
};
static const char *kind_name[K_N] = {"random",	  "truncated", "bad_via",
				     "no_callid", "many_hdrs", "known_cid",
				     "fresh_inv"};

static uint64_t rng = 0x9e3779b97f4a7c15ULL;

static uint64_t
rnd(void)
{ /* xorshift64* */
	rng ^= rng >> 12;
	rng ^= rng << 25;
	rng ^= rng >> 27;
	return rng * 0x2545f4914f6cdd1dULL;
}

static double
now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

struct src {
	int fd;
	char ip[32];
	unsigned port;
	unsigned seq;
};

/* A well-formed request from src: method, Call-ID and branch given. */
static int
request(char *b, size_t sz, const char *method, const struct src *s,
	const char *dst, const char *cid, const char *branch, int extra)
{
	int n = snprintf(b, sz,
			 "%s sip:15550001111@%s SIP/2.0\r\n"
			 "Via: SIP/2.0/UDP %s:%u;branch=z9hG4bK%s;rport\r\n"
			 "From: <sip:+15557770000@%s>;tag=j%s\r\n"
			 "To: <sip:15550001111@%s>\r\n"
			 "Call-ID: %s\r\n"
			 "CSeq: 1 %s\r\n"
			 "Contact: <sip:junk@%s:%u>\r\n"
			 "Max-Forwards: 70\r\n",
			 method, dst, s->ip, s->port, branch, s->ip, branch,
			 dst, cid, method, s->ip, s->port);
	int i;

	for (i = 0; i < extra && n > 0 && (size_t)n + 32 < sz; i++)
		n += snprintf(b + n, sz - n, "X-Junk-%d: %d\r\n", i, i);
	if (n > 0 && (size_t)n + 32 < sz)
		n += snprintf(b + n, sz - n, "Content-Length: 0\r\n\r\n");
	return n;
}

static size_t
make(enum kind k, char *b, const struct src *s, const char *dst)
{
	static const char *meth[3] = {"INVITE", "OPTIONS", "REGISTER"};
	char cid[64], br[40];
	size_t n, i;

	switch (k) {
	case K_RANDOM:
		n = 20 + rnd() % 1381;
		for (i = 0; i < n; i++)
			b[i] = (char)rnd();
		return n;
	case K_TRUNC:
		snprintf(cid, sizeof(cid), "%016llx@junk",
			 (unsigned long long)rnd());
		n = (size_t)request(b, MAXLEN, "INVITE", s, dst, cid, "t", 0);
		/* cut before the blank line ending the headers */
		return 10 + rnd() % (n - 14);
	case K_BADVIA:
		snprintf(cid, sizeof(cid), "%016llx@junk",
			 (unsigned long long)rnd());
		n = (size_t)request(b, MAXLEN, "INVITE", s, dst, cid, "v", 0);
		{ /* break the Via's sent-by */
			char *v = strstr(b, "Via: SIP/2.0/UDP ");
			if (v)
				memcpy(v + 17, ";;@@[", 5);
		}
		return n;
	case K_NOCID: {
		char *c;

		snprintf(br, sizeof(br), "%016llx", (unsigned long long)rnd());
		n = (size_t)request(b, MAXLEN, "INVITE", s, dst, "x", br, 0);
		c = strstr(b, "Call-ID: x\r\n");
		if (c) { /* drop the Call-ID line */
			memmove(c, c + 12, n - (size_t)(c - b) - 12);
			n -= 12;
		}
		return n;
	}
	case K_MANYHDR:
		snprintf(cid, sizeof(cid), "%016llx@junk",
			 (unsigned long long)rnd());
		snprintf(br, sizeof(br), "%016llx", (unsigned long long)rnd());
		return (size_t)request(b, MAXLEN, "INVITE", s, dst, cid, br,
				       200);
	case K_KNOWN:
		snprintf(cid, sizeof(cid), "known-%s-%u@junk", s->ip,
			 s->seq % 3);
		snprintf(br, sizeof(br), "k%s-%u", s->ip, s->seq % 3);
		return (size_t)request(b, MAXLEN, meth[s->seq % 3], s, dst, cid,
				       br, 0);
	case K_FRESH:
	default:
		snprintf(cid, sizeof(cid), "%016llx%08x@junk",
			 (unsigned long long)rnd(), (unsigned)rnd());
		snprintf(br, sizeof(br), "%016llx", (unsigned long long)rnd());
		return (size_t)request(b, MAXLEN, "INVITE", s, dst, cid, br, 0);
	}
}

/* Drain what came back to s; counts by status class (1..6), 0: other. */
static void
drain(struct src *s, unsigned long long *back)
{
	static char rb[BATCH][2048];
	struct mmsghdr mm[BATCH];
	struct iovec iov[BATCH];
	int i, n;

	for (;;) {
		memset(mm, 0, sizeof(mm));
		for (i = 0; i < BATCH; i++) {
			iov[i].iov_base = rb[i];
			iov[i].iov_len = sizeof(rb[i]);
			mm[i].msg_hdr.msg_iov = &iov[i];
			mm[i].msg_hdr.msg_iovlen = 1;
		}
		n = recvmmsg(s->fd, mm, BATCH, MSG_DONTWAIT, NULL);
		if (n <= 0)
			return;
		for (i = 0; i < n; i++) {
			unsigned c = 0;

			if (mm[i].msg_len > 9 &&
			    !memcmp(rb[i], "SIP/2.0 ", 8) && rb[i][8] >= '1' &&
			    rb[i][8] <= '6')
				c = (unsigned)(rb[i][8] - '0');
			back[c]++;
		}
	}
}

int
main(int argc, char **argv)
{
	static char bufs[BATCH][MAXLEN];
	struct mmsghdr mm[BATCH];
	struct iovec iov[BATCH];
	struct src src[MAXSRC];
	struct sockaddr_in dst = {.sin_family = AF_INET};
	unsigned long long sent[K_N] = {0}, bytes[K_N] = {0}, back[7] = {0},
			   err = 0, total = 0, target;
	unsigned first = 100, last = 199, nsrc, si = 0, kc = 0, i;
	double pps, secs, t0, t;
	char dip[32], *colon;
	int port;

	if (argc < 4 || argc > 5) {
		fprintf(stderr,
			"usage: %s DST_IP:PORT PPS SECONDS [FIRST-LAST]\n"
			"  sources 127.0.0.FIRST..LAST (default 100-199)\n",
			argv[0]);
		return 2;
	}
	snprintf(dip, sizeof(dip), "%s", argv[1]);
	colon = strrchr(dip, ':');
	if (!colon)
		return fprintf(stderr, "DST must be IP:PORT\n"), 2;
	*colon = '\0';
	port = atoi(colon + 1);
	if (inet_pton(AF_INET, dip, &dst.sin_addr) != 1 || port <= 0 ||
	    port > 65535 || (ntohl(dst.sin_addr.s_addr) >> 24) != 127)
		return fprintf(stderr, "DST must be 127.x.x.x:PORT\n"), 2;
	dst.sin_port = htons((uint16_t)port);
	pps = atof(argv[2]);
	secs = atof(argv[3]);
	/* bounded: at most 2 M packets/s for at most 10 minutes */
	if (pps < 1 || pps > 2e6 || secs <= 0 || secs > 600)
		return fprintf(stderr, "PPS 1..2000000, SECONDS 0..600\n"), 2;
	if (argc == 5 &&
	    (sscanf(argv[4], "%u-%u", &first, &last) != 2 || first < 1 ||
	     last > 254 || first > last || last - first + 1 > MAXSRC))
		return fprintf(stderr, "bad FIRST-LAST\n"), 2;
	nsrc = last - first + 1;
	rng ^= (uint64_t)getpid() << 17;

	for (i = 0; i < nsrc; i++) {
		struct sockaddr_in a = {.sin_family = AF_INET};
		socklen_t al = sizeof(a);
		int rb = 1 << 16;

		snprintf(src[i].ip, sizeof(src[i].ip), "127.0.0.%u", first + i);
		inet_pton(AF_INET, src[i].ip, &a.sin_addr);
		src[i].fd = socket(AF_INET, SOCK_DGRAM, 0);
		if (src[i].fd < 0 ||
		    bind(src[i].fd, (struct sockaddr *)&a, sizeof(a)) ||
		    getsockname(src[i].fd, (struct sockaddr *)&a, &al)) {
			perror(src[i].ip);
			return 1;
		}
		(void)setsockopt(src[i].fd, SOL_SOCKET, SO_RCVBUF, &rb,
				 sizeof(rb));
		src[i].port = ntohs(a.sin_port);
		src[i].seq = 0;
	}

	target = (unsigned long long)(pps * secs);
	t0 = now_s();
	while (total < target) {
		struct src *s = &src[si];
		unsigned n = BATCH, k0 = kc;
		int r;
		double due;

		if (target - total < n)
			n = (unsigned)(target - total);
		for (i = 0; i < n; i++) {
			enum kind k = (enum kind)((k0 + i) % K_N);
			size_t len = make(k, bufs[i], s, dip);

			s->seq++;
			iov[i].iov_base = bufs[i];
			iov[i].iov_len = len;
			memset(&mm[i], 0, sizeof(mm[i]));
			mm[i].msg_hdr.msg_name = &dst;
			mm[i].msg_hdr.msg_namelen = sizeof(dst);
			mm[i].msg_hdr.msg_iov = &iov[i];
			mm[i].msg_hdr.msg_iovlen = 1;
		}
		r = sendmmsg(s->fd, mm, n, 0);
		if (r < 0) {
			err += n;
			r = 0;
		} else if ((unsigned)r < n) {
			err += n - (unsigned)r;
		}
		for (i = 0; i < (unsigned)r; i++) {
			enum kind k = (enum kind)((k0 + i) % K_N);

			sent[k]++;
			bytes[k] += iov[i].iov_len;
		}
		kc = (k0 + n) % K_N;
		total += n;
		drain(s, back);
		si = (si + 1) % nsrc;
		/* pace: batch number total/BATCH is due at t0 + total/pps */
		due = t0 + (double)total / pps;
		t = now_s();
		if (t > t0 + secs + 5)
			break; /* bounded in time even if sending lags */
		if (due > t) {
			struct timespec ts = {
				.tv_sec = (time_t)(due - t),
				.tv_nsec = (long)((due - t -
						   (double)(time_t)(due - t)) *
						  1e9)};
			nanosleep(&ts, NULL);
		}
	}
	t = now_s() - t0;
	for (i = 0; i < nsrc; i++)
		drain(&src[i], back);

	printf("junk_flood: %s:%d, %u sources 127.0.0.%u-%u, asked %.0f pps"
	       " for %.1f s; sent %llu in %.2f s = %.0f pps, send errors "
	       "%llu\n",
	       dip, port, nsrc, first, last, pps, secs, total - err, t,
	       (double)(total - err) / t, err);
	for (i = 0; i < K_N; i++)
		printf("  %-10s %10llu datagrams %12llu bytes\n", kind_name[i],
		       sent[i], bytes[i]);
	printf("  received back: 1xx %llu 2xx %llu 3xx %llu 4xx %llu 5xx "
	       "%llu 6xx %llu other %llu\n",
	       back[1], back[2], back[3], back[4], back[5], back[6], back[0]);
	{
		struct rusage ru;

		getrusage(RUSAGE_SELF, &ru);
		printf("  flooder CPU: %.2f s user + %.2f s system over %.2f s"
		       " (%.0f %% of a core)\n",
		       ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6,
		       ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6, t,
		       (ru.ru_utime.tv_sec + ru.ru_stime.tv_sec +
			(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6) *
			       100 / t);
	}
	for (i = 0; i < nsrc; i++)
		close(src[i].fd);
	return 0;
}
