/* Unit tests: signaling workers, Call-ID sharding and the SPSC hand-over
   ring (stack/sipw*.c). Real sockets on 127.0.0.1 only; every wait is
   bounded (a few seconds at most). */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
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
#include "stack/sipw_ring.h"
#include "stack/tmr.h"
#include "stack/txn.h"
#include "testutil.h"

static uint64_t
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* ---- sharding ----------------------------------------------------- */

static void
test_callid_roundtrip(void)
{
	char id[SIPW_CALLID_LEN + 1], id2[SIPW_CALLID_LEN + 1];
	char tail[SIPW_CALLID_LEN + 32];
	unsigned s, i;

	for (s = 0; s < 4; s++) {
		for (i = 0; i < 100; i++) {
			CU_ASSERT_EQUAL_FATAL(
				sipw_callid_make(s, id, sizeof(id)), 0);
			CU_ASSERT_EQUAL(strlen(id), SIPW_CALLID_LEN);
			CU_ASSERT_EQUAL(sipw_shard_of(id, strlen(id), 4), s);
			/* "@host" appended keeps the shard. */
			snprintf(tail, sizeof(tail), "%s@tandem.example", id);
			CU_ASSERT_EQUAL(sipw_shard_of(tail, strlen(tail), 4),
					s);
		}
	}
	/* Distinct random parts. */
	CU_ASSERT_EQUAL(sipw_callid_make(1, id, sizeof(id)), 0);
	CU_ASSERT_EQUAL(sipw_callid_make(1, id2, sizeof(id2)), 0);
	CU_ASSERT_NOT_EQUAL(strcmp(id, id2), 0);
	/* An embedded shard beyond nshards falls back to the hash, which is
	   stable and in range. */
	CU_ASSERT_EQUAL(sipw_callid_make(7, id, sizeof(id)), 0);
	s = sipw_shard_of(id, strlen(id), 2);
	CU_ASSERT(s < 2);
	CU_ASSERT_EQUAL(sipw_shard_of(id, strlen(id), 2), s);
	CU_ASSERT_EQUAL(sipw_shard_of(id, strlen(id), 8), 7);
	/* Bad arguments. */
	CU_ASSERT_EQUAL(sipw_callid_make(0x10000, id, sizeof(id)), EINVAL);
	CU_ASSERT_EQUAL(sipw_callid_make(0, id, SIPW_CALLID_LEN), EINVAL);
	/* Look-alikes that are not ours are hashed, and a single shard is
	   always 0. */
	CU_ASSERT(sipw_shard_of("tdm-0001-xyz", 12, 4) < 4);
	CU_ASSERT_EQUAL(sipw_shard_of("abc", 3, 1), 0);
	CU_ASSERT_EQUAL(sipw_shard_of("abc", 3, 0), 0);
}

/* 10,000 foreign Call-IDs spread within 8% of even over 2 and 4 shards.
   The hash is keyed with a fresh random key each run, so the counts are
   random: a 4-shard count has sd 1.7% of the mean (binomial), and 8% is
   4.6 sd (a false failure about once in 50,000 runs; 5%, 2.9 sd, failed
   about 1.5% of them). */
static void
test_shard_spread(void)
{
	enum { N = 10000 };
	static const unsigned ns[] = {2, 4};
	unsigned cnt[4], i, k, s, j;
	unsigned char rnd[8];
	uint32_t x = 2463534242u;
	char id[64];
	int n;

	for (k = 0; k < 2; k++) {
		memset(cnt, 0, sizeof(cnt));
		for (i = 0; i < N; i++) {
			for (j = 0; j < sizeof(rnd); j++) {
				x ^= x << 13; /* xorshift32 */
				x ^= x >> 17;
				x ^= x << 5;
				rnd[j] = (unsigned char)(x >> 24);
			}
			n = snprintf(id, sizeof(id),
				     "%02x%02x%02x%02x-%02x%02x%02x%02x@"
				     "pbx.example",
				     rnd[0], rnd[1], rnd[2], rnd[3], rnd[4],
				     rnd[5], rnd[6], rnd[7]);
			s = sipw_shard_of(id, (size_t)n, ns[k]);
			CU_ASSERT_FATAL(s < ns[k]);
			CU_ASSERT_EQUAL(sipw_shard_of(id, (size_t)n, ns[k]), s);
			cnt[s]++;
		}
		for (s = 0; s < ns[k]; s++) {
			unsigned want = N / ns[k];

			CU_ASSERT(cnt[s] > want * 92 / 100 &&
				  cnt[s] < want * 108 / 100);
		}
	}
	/* Sequential IDs (a naive generator) spread too. */
	memset(cnt, 0, sizeof(cnt));
	for (i = 0; i < N; i++) {
		n = snprintf(id, sizeof(id), "call%u@10.0.0.1", i);
		cnt[sipw_shard_of(id, (size_t)n, 4)]++;
	}
	for (s = 0; s < 4; s++)
		CU_ASSERT(cnt[s] > 2300 && cnt[s] < 2700);
}

/* ---- SPSC ring ---------------------------------------------------- */

static void
test_ring_basic(void)
{
	struct sipw_ring *r;
	uint64_t *p, next = 0, want = 0;
	unsigned round, i;

	CU_ASSERT_EQUAL(sipw_ring_alloc(&r, 6, 8), EINVAL);
	CU_ASSERT_EQUAL(sipw_ring_alloc(&r, 1, 8), EINVAL);
	CU_ASSERT_EQUAL(sipw_ring_alloc(&r, 8, 0), EINVAL);
	CU_ASSERT_EQUAL_FATAL(sipw_ring_alloc(&r, 8, 8), 0);
	CU_ASSERT_EQUAL(sipw_ring_cap(r), 8);
	CU_ASSERT_EQUAL(sipw_ring_esize(r), 16);
	CU_ASSERT_PTR_NULL(sipw_ring_peek(r));
	/* Fill: 8 fit, the 9th is refused (full), nothing blocks. */
	for (i = 0; i < 8; i++) {
		p = sipw_ring_reserve(r);
		CU_ASSERT_PTR_NOT_NULL_FATAL(p);
		*p = next++;
		sipw_ring_commit(r);
	}
	CU_ASSERT_PTR_NULL(sipw_ring_reserve(r));
	CU_ASSERT_EQUAL(sipw_ring_count(r), 8);
	/* Drain in order. */
	while ((p = sipw_ring_peek(r)) != NULL) {
		CU_ASSERT_EQUAL(*p, want);
		want++;
		sipw_ring_release(r);
	}
	CU_ASSERT_EQUAL(want, 8);
	CU_ASSERT_EQUAL(sipw_ring_count(r), 0);
	/* Wrap many times with partial fills of 5 (not a divisor of 8). */
	for (round = 0; round < 20; round++) {
		for (i = 0; i < 5; i++) {
			p = sipw_ring_reserve(r);
			CU_ASSERT_PTR_NOT_NULL_FATAL(p);
			*p = next++;
			sipw_ring_commit(r);
		}
		for (i = 0; i < 5; i++) {
			p = sipw_ring_peek(r);
			CU_ASSERT_PTR_NOT_NULL_FATAL(p);
			CU_ASSERT_EQUAL(*p, want);
			want++;
			sipw_ring_release(r);
		}
		CU_ASSERT_PTR_NULL(sipw_ring_peek(r));
	}
	/* A reserved, uncommitted slot is invisible. */
	p = sipw_ring_reserve(r);
	CU_ASSERT_PTR_NOT_NULL(p);
	CU_ASSERT_PTR_NULL(sipw_ring_peek(r));
	sipw_ring_free(r);
}

enum { RING_ITEMS = 1000000 };

struct ring_prod {
	struct sipw_ring *r;
	uint64_t full; /* times the producer found the ring full */
};

static void *
ring_producer(void *arg)
{
	struct ring_prod *pr = arg;
	uint64_t i, *p;

	for (i = 0; i < RING_ITEMS; i++) {
		while ((p = sipw_ring_reserve(pr->r)) == NULL) {
			pr->full++;
			sched_yield();
		}
		p[0] = i;
		p[1] = ~i;
		sipw_ring_commit(pr->r);
	}
	return NULL;
}

static void
test_ring_threads(void)
{
	struct ring_prod pr = {0};
	pthread_t th;
	uint64_t want = 0, bad = 0, *p, t0 = now_ms();

	CU_ASSERT_EQUAL_FATAL(sipw_ring_alloc(&pr.r, 1024, 16), 0);
	CU_ASSERT_EQUAL_FATAL(pthread_create(&th, NULL, ring_producer, &pr), 0);
	while (want < RING_ITEMS && now_ms() - t0 < 10000) {
		p = sipw_ring_peek(pr.r);
		if (!p) {
			sched_yield();
			continue;
		}
		if (p[0] != want || p[1] != ~want)
			bad++;
		want++;
		sipw_ring_release(pr.r);
	}
	pthread_join(th, NULL); /* the producer ends once all fit */
	CU_ASSERT_EQUAL(want, RING_ITEMS);
	CU_ASSERT_EQUAL(bad, 0);
	CU_ASSERT_PTR_NULL(sipw_ring_peek(pr.r));
	CU_ASSERT(now_ms() - t0 < 10000);
	sipw_ring_free(pr.r);
}

/* ---- a real 2-worker group ---------------------------------------- */

enum { GRP_MSGS = 1000 };

struct grp_tu {
	_Atomic unsigned seen[GRP_MSGS]; /* deliveries per message (CSeq) */
	_Atomic unsigned wrong_shard;
	_Atomic unsigned per_worker[2];
	_Atomic unsigned reply_err;
	_Atomic unsigned screened; /* filter calls */
	unsigned nshards;
};

/* The screen of test_group_filter: drops every third request (CSeq
   number divisible by 3) before any hand-over. */
static bool
grp_filter(struct sipw *w, const struct sip_msg *msg, const struct tp_recv *rx,
	   void *arg)
{
	struct grp_tu *tu = arg;

	(void)w;
	(void)rx;
	atomic_fetch_add(&tu->screened, 1);
	return !(msg->req && msg->cseq.num % 3 == 0);
}

static bool
grp_dropped(unsigned i, bool filter)
{
	return filter && i % 3 == 0;
}

static void
grp_recv(struct sipw *w, const struct sip_msg *msg, const struct tp_recv *rx,
	 void *arg)
{
	struct grp_tu *tu = arg;
	struct sip_wbuf wb;
	char buf[2048];
	size_t len;

	if (!msg->req)
		return;
	if (msg->cseq.num < GRP_MSGS)
		atomic_fetch_add(&tu->seen[msg->cseq.num], 1);
	if (sipw_shard_of(msg->callid.p, msg->callid.l, tu->nshards) !=
	    sipw_index(w))
		atomic_fetch_add(&tu->wrong_shard, 1);
	atomic_fetch_add(&tu->per_worker[sipw_index(w) & 1], 1);
	sip_wb_init(&wb, buf, sizeof(buf));
	sip_wb_reply(&wb, msg, 200, NULL, &PL("t1"));
	if (sip_wb_end(&wb, NULL, &len) ||
	    tp_send_response(sipw_tp(w), rx, buf, len))
		atomic_fetch_add(&tu->reply_err, 1);
}

/* OPTIONS number i: half with a Call-ID of ours (shard i % 2), half
   foreign. The CSeq number is i, to find it again in the reply. */
static int
grp_build(char *buf, size_t size, unsigned i, uint16_t lport)
{
	char id[SIPW_CALLID_LEN + 1];

	if (i % 2)
		sipw_callid_make(i % 4 == 1 ? 0 : 1, id, sizeof(id));
	else
		snprintf(id, sizeof(id), "foreign-%u@127.0.0.1", i);
	return snprintf(buf, size,
			"OPTIONS sip:t@127.0.0.1 SIP/2.0\r\n"
			"Via: SIP/2.0/UDP 127.0.0.1:%u;branch=z9hG4bK-t%u;"
			"rport\r\n"
			"Max-Forwards: 70\r\n"
			"From: <sip:u@127.0.0.1>;tag=f%u\r\n"
			"To: <sip:t@127.0.0.1>\r\n"
			"Call-ID: %s\r\n"
			"CSeq: %u OPTIONS\r\n"
			"Content-Length: 0\r\n\r\n",
			lport, i, i, id, i);
}

/* CSeq number of a response, or -1. */
static long
reply_cseq(const char *buf, size_t len)
{
	const char *p = memmem(buf, len, "\r\nCSeq: ", 8);

	if (!p || strncmp(buf, "SIP/2.0 200 ", 12))
		return -1;
	return strtol(p + 8, NULL, 10);
}

static void
group_udp_run(unsigned slot_bytes, bool filter)
{
	static struct grp_tu tu; /* large: not on the stack */
	static unsigned char got[GRP_MSGS];
	struct sipw_conf conf;
	struct sipw_group *g = NULL;
	struct sipw_stats st;
	struct sockaddr_in dst, me;
	socklen_t sl = sizeof(me);
	unsigned sent = 0, replies = 0, dup = 0, i, ndrop = 0;
	uint64_t t0;
	char buf[2048];
	int fd, n;

	memset(&tu, 0, sizeof(tu));
	memset(got, 0, sizeof(got));
	for (i = 0; i < GRP_MSGS; i++)
		ndrop += grp_dropped(i, filter);
#define dropped(n) ((filter ? ((n) + 2) / 3 : 0))
	tu.nshards = 2;
	sipw_conf_default(&conf);
	conf.nworkers = 2;
	conf.slot_bytes = slot_bytes;
	conf.ip = "127.0.0.1";
	conf.recvh = grp_recv;
	conf.filterh = filter ? grp_filter : NULL;
	conf.arg = &tu;
	CU_ASSERT_EQUAL_FATAL(sipw_group_alloc(&g, &conf), 0);
	CU_ASSERT_EQUAL(sipw_group_count(g), 2);
	CU_ASSERT_NOT_EQUAL(sipw_group_port(g), 0);
	CU_ASSERT_EQUAL(tp_local_port(sipw_tp(sipw_group_worker(g, 1)), TP_UDP,
				      AF_INET),
			sipw_group_port(g));
	CU_ASSERT_EQUAL_FATAL(sipw_group_start(g), 0);
	CU_ASSERT_EQUAL(sipw_group_start(g), EALREADY);

	fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0);
	CU_ASSERT_FATAL(fd >= 0);
	memset(&dst, 0, sizeof(dst));
	dst.sin_family = AF_INET;
	dst.sin_port = htons(sipw_group_port(g));
	dst.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	me = dst;
	me.sin_port = 0;
	CU_ASSERT_FATAL(bind(fd, (struct sockaddr *)&me, sizeof(me)) == 0);
	getsockname(fd, (struct sockaddr *)&me, &sl);

	/* At most 64 in flight: measure delivery, not socket buffers. */
	t0 = now_ms();
	while (replies < GRP_MSGS - ndrop && now_ms() - t0 < 5000) {
		struct pollfd pfd = {.fd = fd, .events = POLLIN};

		while (sent < GRP_MSGS && sent - replies - dropped(sent) < 64) {
			n = grp_build(buf, sizeof(buf), sent,
				      ntohs(me.sin_port));
			if (sendto(fd, buf, (size_t)n, 0,
				   (struct sockaddr *)&dst, sizeof(dst)) < 0)
				break;
			sent++;
		}
		if (poll(&pfd, 1, 100) <= 0)
			continue;
		while ((n = (int)recv(fd, buf, sizeof(buf), 0)) > 0) {
			long c = reply_cseq(buf, (size_t)n);

			if (c < 0 || c >= GRP_MSGS)
				continue;
			if (got[c]++)
				dup++;
			else
				replies++;
		}
	}
	close(fd);
	sipw_group_stop(g);
	sipw_group_stop(g); /* idempotent */

#undef dropped
	CU_ASSERT_EQUAL(sent, GRP_MSGS);
	CU_ASSERT_EQUAL(replies, GRP_MSGS - ndrop);
	CU_ASSERT_EQUAL(dup, 0);
	for (i = 0; i < GRP_MSGS; i++)
		if (atomic_load(&tu.seen[i]) != !grp_dropped(i, filter))
			break;
	/* each delivered exactly once, the screened-out ones never */
	CU_ASSERT_EQUAL(i, GRP_MSGS);
	CU_ASSERT_EQUAL(atomic_load(&tu.wrong_shard), 0);
	CU_ASSERT_EQUAL(atomic_load(&tu.reply_err), 0);
	/* Both shards got work; from one source socket the kernel picks one
	   worker, so hand-overs happened. */
	CU_ASSERT(atomic_load(&tu.per_worker[0]) > 200);
	CU_ASSERT(atomic_load(&tu.per_worker[1]) > 200);
	sipw_group_stats(g, &st);
	CU_ASSERT_EQUAL(st.rx, GRP_MSGS);
	/* the screen saw every message once, before any hand-over */
	CU_ASSERT_EQUAL(atomic_load(&tu.screened), filter ? GRP_MSGS : 0);
	CU_ASSERT_EQUAL(st.filtered, ndrop);
	CU_ASSERT_EQUAL(st.delivered, GRP_MSGS - ndrop);
	CU_ASSERT(st.handoff_out <= GRP_MSGS - ndrop);
	CU_ASSERT_EQUAL(st.handoff_out, st.handoff_in);
	CU_ASSERT(st.handoff_in > 0);
	CU_ASSERT_EQUAL(st.handoff_drop, 0);
	CU_ASSERT_EQUAL(st.handoff_bad, 0);
	if (slot_bytes < 256) /* every message is longer: all via the heap */
		CU_ASSERT_EQUAL(st.handoff_big, st.handoff_in);
	/* every heap copy delivered gave its bytes back to the budget */
	CU_ASSERT_EQUAL(st.big_held, 0);
	if (slot_bytes >= 2048)
		CU_ASSERT_EQUAL(st.handoff_big, 0);
	mem_deref(g);
}

static void
test_group_udp(void)
{
	group_udp_run(2048, false);
}

/* A screen (conf.filterh) on the receiving worker: what it consumes is
   neither delivered nor handed over. */
static void
test_group_filter(void)
{
	group_udp_run(2048, true);
}

/* Slots too small for the messages: hand-overs go through the heap. */
static void
test_group_udp_big(void)
{
	group_udp_run(64, false);
}

/* Configuration checks; default worker count; TCP on worker 0 on the
   same port; a group restarts after a stop; mem_deref() stops it. */
static void
test_group_conf(void)
{
	struct sipw_conf conf;
	struct sipw_group *g = NULL;

	sipw_conf_default(&conf);
	CU_ASSERT_EQUAL(sipw_group_alloc(&g, &conf), EINVAL); /* no recvh */
	conf.recvh = grp_recv;
	conf.ring_slots = 3;
	CU_ASSERT_EQUAL(sipw_group_alloc(&g, &conf), EINVAL);
	conf.ring_slots = 2;
	conf.ip = "not-an-ip";
	CU_ASSERT_NOT_EQUAL(sipw_group_alloc(&g, &conf), 0);
	CU_ASSERT_PTR_NULL(g);
	/* Default worker count: the cores; start and stop twice. */
	conf.ip = NULL;
	conf.tcp = true;
	CU_ASSERT_EQUAL_FATAL(sipw_group_alloc(&g, &conf), 0);
	CU_ASSERT(sipw_group_count(g) >= 1);
	CU_ASSERT_EQUAL(tp_local_port(sipw_tp(sipw_group_worker(g, 0)), TP_TCP,
				      AF_INET),
			sipw_group_port(g));
	CU_ASSERT_EQUAL(sipw_group_start(g), 0);
	sipw_group_stop(g);
	CU_ASSERT_EQUAL(sipw_group_start(g), 0);
	mem_deref(g); /* stops */
}

/* ---- TCP: responses over the request's connection ---------------- */

enum { TCP_REQS = 4, TCP_LATE_CSEQ = 100, TCP_LATE_MS = 300 };

/*
 * The TU of test_group_tcp_conn. Requests with an odd CSeq are answered
 * statelessly (sipw_send_response()), even ones through a server
 * transaction of the owning worker (its txn layer sends via
 * sipw_send()). CSeq TCP_LATE_CSEQ is answered TCP_LATE_MS later, by
 * then the client has closed its connection. Every field is written on
 * the worker threads and read after sipw_group_stop().
 */
struct tcp_tu {
	_Atomic unsigned on_worker[TCP_REQS]; /* worker index + 1 */
	_Atomic unsigned reply_err;
	struct txn *stxn[TCP_REQS]; /* ref: the even CSeqs' transactions */
	struct sipw *late_w;	    /* the worker answering late */
	struct tmr late_t;
	struct tp_recv late_rx; /* tp_recv_copy() */
	char late_buf[2048];
	size_t late_len;
	bool late_sent;
};

static void
tcp_txn_ev(struct txn *txn, enum txn_sev ev, int err, const struct sip_msg *msg,
	   void *arg)
{
	(void)txn;
	(void)ev;
	(void)err;
	(void)msg;
	atomic_fetch_add(&((struct tcp_tu *)arg)->reply_err, 1);
}

static void
tcp_late(void *arg)
{
	struct tcp_tu *tu = arg;

	if (sipw_send_response(tu->late_w, &tu->late_rx, tu->late_buf,
			       tu->late_len))
		atomic_fetch_add(&tu->reply_err, 1);
	tu->late_sent = true;
}

static void
tcp_recv(struct sipw *w, const struct sip_msg *msg, const struct tp_recv *rx,
	 void *arg)
{
	struct tcp_tu *tu = arg;
	uint32_t n = msg->cseq.num;
	struct txn_dest src;
	struct sip_wbuf wb;
	char buf[2048];
	size_t len;
	int err;

	if (!msg->req)
		return;
	sip_wb_init(&wb, buf, sizeof(buf));
	sip_wb_reply(&wb, msg, 200, NULL, &PL("t1"));
	if (sip_wb_end(&wb, NULL, &len)) {
		atomic_fetch_add(&tu->reply_err, 1);
		return;
	}
	if (n == TCP_LATE_CSEQ) {
		tu->late_w = w;
		tp_recv_copy(&tu->late_rx, rx);
		memcpy(tu->late_buf, buf, len);
		tu->late_len = len;
		tmr_start(&tu->late_t, sipw_tmr(w), TCP_LATE_MS, tcp_late, tu);
		return;
	}
	if (n >= TCP_REQS)
		return;
	atomic_store(&tu->on_worker[n], sipw_index(w) + 1);
	if (n % 2) {
		err = sipw_send_response(w, rx, buf, len);
	} else {
		err = sipw_txn_dest(rx, &src);
		if (!err)
			err = txn_server_create(&tu->stxn[n], sipw_txn(w), msg,
						&src, tcp_txn_ev, tu);
		if (!err)
			err = txn_server_reply(tu->stxn[n], buf, len, 200);
	}
	if (err)
		atomic_fetch_add(&tu->reply_err, 1);
}

/* OPTIONS over TCP, Call-ID owned by shard, Via sent-by port via_port. */
static int
tcp_build(char *buf, size_t size, unsigned cseq, unsigned shard,
	  uint16_t via_port)
{
	char id[SIPW_CALLID_LEN + 1];

	sipw_callid_make(shard, id, sizeof(id));
	return snprintf(buf, size,
			"OPTIONS sip:t@127.0.0.1;transport=tcp SIP/2.0\r\n"
			"Via: SIP/2.0/TCP 127.0.0.1:%u;branch=z9hG4bK-c%u\r\n"
			"Max-Forwards: 70\r\n"
			"From: <sip:u@127.0.0.1>;tag=f%u\r\n"
			"To: <sip:t@127.0.0.1>\r\n"
			"Call-ID: %s\r\n"
			"CSeq: %u OPTIONS\r\n"
			"Content-Length: 0\r\n\r\n",
			via_port, cseq, cseq, id, cseq);
}

/* Read from fd until want 200s (counted by "SIP/2.0 200 ") arrived or
   ms passed; the CSeq numbers seen go to got[]. */
static unsigned
tcp_read_200s(int fd, unsigned want, unsigned ms, unsigned char *got,
	      unsigned ngot)
{
	static char acc[16384];
	size_t alen = 0;
	unsigned n = 0;
	uint64_t t0 = now_ms();
	const char *p;

	while (n < want && now_ms() - t0 < ms) {
		struct pollfd pfd = {.fd = fd, .events = POLLIN};
		ssize_t r;

		if (poll(&pfd, 1, 50) <= 0)
			continue;
		r = recv(fd, acc + alen, sizeof(acc) - 1 - alen, 0);
		if (r <= 0)
			break;
		alen += (size_t)r;
		acc[alen] = '\0';
		n = 0;
		for (p = acc; (p = strstr(p, "SIP/2.0 200 ")) != NULL; p++) {
			const char *c = strstr(p, "\r\nCSeq: ");
			long v = c ? strtol(c + 8, NULL, 10) : -1;

			n++;
			if (v >= 0 && (unsigned long)v < ngot)
				got[v] = 1;
		}
	}
	return n;
}

static int
tcp_listen_any(uint16_t *port)
{
	struct sockaddr_in sa;
	socklen_t sl = sizeof(sa);
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0), on = 1;

	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on));
	if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sl) || listen(fd, 4) ||
	    getsockname(fd, (struct sockaddr *)&sa, &sl)) {
		if (fd >= 0)
			close(fd);
		return -1;
	}
	*port = ntohs(sa.sin_port);
	return fd;
}

/* A blocking TCP client connected to 127.0.0.1:port, or -1. */
static int
tcp_client(uint16_t port)
{
	struct sockaddr_in sa;
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_port = htons(port);
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (fd >= 0 && connect(fd, (struct sockaddr *)&sa, sizeof(sa))) {
		close(fd);
		fd = -1;
	}
	return fd;
}

/*
 * §18.2.2 across workers: TCP listens on worker 0; requests whose Call-ID
 * shard 1 owns are handed over to worker 1, whose responses (stateless
 * and through its transaction layer) must come back over the SAME
 * connection, passed back to worker 0 through the ring. The Via names a
 * port where the test listens: a fall-back connection would land there,
 * and must not. Then a request whose connection closes before its late
 * answer: that answer takes the fall-back (source address, Via port) and
 * does land there.
 */
static void
test_group_tcp_conn(void)
{
	static struct tcp_tu tu;
	static unsigned char got[TCP_REQS];
	struct sipw_conf conf;
	struct sipw_group *g = NULL;
	struct sipw_stats s0, s1;
	uint16_t via_port = 0;
	char buf[2048];
	unsigned i, n;
	int lfd, fd, afd = -1;
	uint64_t t0;

	memset(&tu, 0, sizeof(tu));
	memset(got, 0, sizeof(got));
	lfd = tcp_listen_any(&via_port);
	CU_ASSERT_FATAL(lfd >= 0);
	sipw_conf_default(&conf);
	conf.nworkers = 2;
	conf.tcp = true;
	conf.ip = "127.0.0.1";
	conf.recvh = tcp_recv;
	conf.arg = &tu;
	CU_ASSERT_EQUAL_FATAL(sipw_group_alloc(&g, &conf), 0);
	CU_ASSERT_EQUAL_FATAL(sipw_group_start(g), 0);
	fd = tcp_client(sipw_group_port(g));
	CU_ASSERT_FATAL(fd >= 0);
	/* CSeq 0, 1 for shard 1 (handed over), 2, 3 for shard 0 */
	for (i = 0; i < TCP_REQS; i++) {
		n = (unsigned)tcp_build(buf, sizeof(buf), i, i < 2 ? 1 : 0,
					via_port);
		CU_ASSERT_EQUAL(send(fd, buf, n, MSG_NOSIGNAL), (ssize_t)n);
	}
	n = tcp_read_200s(fd, TCP_REQS, 3000, got, TCP_REQS);
	CU_ASSERT_EQUAL(n, TCP_REQS);
	for (i = 0; i < TCP_REQS; i++)
		CU_ASSERT_EQUAL(got[i], 1);
	/* nothing came the fall-back way */
	CU_ASSERT(accept(lfd, NULL, NULL) < 0);

	/* The late answer: its connection is gone by then. */
	n = (unsigned)tcp_build(buf, sizeof(buf), TCP_LATE_CSEQ, 1, via_port);
	CU_ASSERT_EQUAL(send(fd, buf, n, MSG_NOSIGNAL), (ssize_t)n);
	usleep(50 * 1000);
	close(fd);
	t0 = now_ms();
	while (afd < 0 && now_ms() - t0 < 3000) {
		struct pollfd pfd = {.fd = lfd, .events = POLLIN};

		if (poll(&pfd, 1, 50) > 0)
			afd = accept(lfd, NULL, NULL);
	}
	CU_ASSERT_FATAL(afd >= 0);
	n = tcp_read_200s(afd, 1, 3000, got, 0);
	CU_ASSERT_EQUAL(n, 1);
	close(afd);
	close(lfd);
	sipw_group_stop(g);

	CU_ASSERT(tu.late_sent);
	CU_ASSERT_EQUAL(atomic_load(&tu.reply_err), 0);
	for (i = 0; i < TCP_REQS; i++)
		CU_ASSERT_EQUAL(atomic_load(&tu.on_worker[i]), i < 2 ? 2 : 1);
	sipw_stats(sipw_group_worker(g, 0), &s0);
	sipw_stats(sipw_group_worker(g, 1), &s1);
	CU_ASSERT_EQUAL(s0.handoff_out, 3);
	CU_ASSERT_EQUAL(s1.handoff_in, 3);
	/* the 3 answers of worker 1 went back to worker 0 ... */
	CU_ASSERT_EQUAL(s1.send_out, 3);
	CU_ASSERT_EQUAL(s1.send_fallback, 0);
	/* ... 2 over the client's connection, the late one by fall-back */
	CU_ASSERT_EQUAL(s0.send_in, 2);
	CU_ASSERT_EQUAL(s0.send_fallback, 1);
	CU_ASSERT_EQUAL(s0.send_out, 0);
	/* worker 1 opened no connection of its own */
	CU_ASSERT_EQUAL(tp_stats(sipw_tp(sipw_group_worker(g, 1)))->tx_msgs, 0);
	tmr_cancel(&tu.late_t);
	tp_recv_release(&tu.late_rx);
	for (i = 0; i < TCP_REQS; i++)
		tu.stxn[i] = mem_deref(tu.stxn[i]);
	mem_deref(g);
}

void test_sipw_register(void);

void
test_sipw_register(void)
{
	CU_pSuite s = tu_suite("sipw");

	TU_ADD(s, test_callid_roundtrip);
	TU_ADD(s, test_shard_spread);
	TU_ADD(s, test_ring_basic);
	TU_ADD(s, test_ring_threads);
	TU_ADD(s, test_group_udp);
	TU_ADD(s, test_group_udp_big);
	TU_ADD(s, test_group_filter);
	TU_ADD(s, test_group_conf);
	TU_ADD(s, test_group_tcp_conn);
}
