/*
 * ua_bench: UA/dialog churn through the real transaction layer and UA
 * core, two UAs on one core over an in-memory transport (every message
 * written, queued, parsed and matched as from a socket):
 *   1. full calls (INVITE / 200 / ACK / BYE / 200) per second, each with
 *      its dialogs created and torn down on both sides;
 *   2. heap bytes per confirmed dialog (one UA's side: session, dialog,
 *      the kept ACK or 2xx copy), measured with mallinfo2() over 10,000
 *      established calls once their transactions have run out.
 * A fake clock moves 40 s every 1,000 calls so the transactions' Timers
 * (J, K, L, M) fire and the tables stay at a realistic size.
 * Usage: ua_bench [calls]   (default 200000)
 */
#include <errno.h>
#include <malloc.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include "stack/mem.h"
#include "stack/sip_msg.h"
#include "stack/tmr.h"
#include "stack/tp.h"
#include "stack/txn.h"
#include "stack/ua.h"

#define NQ 64

struct ep {
	uint16_t port;
	struct txn_ctx *txn;
	struct ua *ua;
	struct ua_sess *last; /* ref: B's last incoming session */
	bool keep;	      /* keep B's sessions (memory run) */
	unsigned ended;
};

struct pkt {
	uint16_t to, from;
	size_t len;
	char buf[2048];
};

static struct {
	uint64_t now;
	struct tmr_ctx *tmr;
	struct ep a, b;
	struct pkt q[NQ];
	unsigned qh, qt;
	struct ua_sess **kept; /* memory run: B's sessions */
	unsigned nkept;
} bx;

static const char sdp[] = "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\n"
			  "c=IN IP4 127.0.0.1\r\nt=0 0\r\n"
			  "m=audio 4000 RTP/AVP 0 8 101\r\n";

static uint64_t
clk(void *arg)
{
	(void)arg;
	return bx.now;
}

static int
net_send(const struct txn_dest *dst, const char *buf, size_t len, void *arg)
{
	struct ep *from = arg;
	struct pkt *p;

	if (bx.qt - bx.qh >= NQ || len >= sizeof(p->buf))
		return ENOBUFS;
	p = &bx.q[bx.qt++ % NQ];
	p->from = from->port;
	p->to = ntohs(((const struct sockaddr_in *)&dst->addr)->sin_port);
	p->len = len;
	memcpy(p->buf, buf, len);
	return 0;
}

static void
dest_set(struct txn_dest *d, uint16_t port)
{
	memset(d, 0, sizeof(*d));
	tp_addr_set(&d->addr, &d->len, "127.0.0.1", port);
	d->proto = TP_UDP;
}

static void
pump(void)
{
	static struct sip_msg m;
	struct sip_limits lim;
	struct sip_perr perr;
	struct txn_dest src;

	sip_limits_default(&lim);
	tmr_poll(bx.tmr);
	while (bx.qh != bx.qt) {
		struct pkt *p = &bx.q[bx.qh++ % NQ];
		struct ep *e = p->to == bx.a.port ? &bx.a : &bx.b;

		if (sip_msg_parse(&m, p->buf, p->len, SIP_FRAMING_DGRAM, &lim,
				  &perr)) {
			fprintf(stderr, "parse failed: %s\n", perr.what);
			exit(1);
		}
		dest_set(&src, p->from);
		ua_recv(e->ua, &m, &src);
		tmr_poll(bx.tmr);
	}
}

static void
on_ev(struct ua_sess *s, const struct ua_event *ev, void *arg)
{
	struct ep *e = arg;

	(void)s;
	if (ev->ev == UA_EV_ENDED || ev->ev == UA_EV_FAILED)
		e->ended++;
}

static void
on_invite(struct ua *ua, struct ua_sess *s, const struct sip_msg *inv,
	  void *arg)
{
	struct ep *e = arg;

	(void)ua;
	(void)inv;
	ua_sess_set_handler(s, on_ev, e);
	ua_sess_answer(s, 200, NULL, NULL, "application/sdp", sdp, strlen(sdp));
	if (e->keep)
		bx.kept[bx.nkept++] = mem_ref(s);
}

static void
ep_init(struct ep *e, uint16_t port)
{
	struct ua_conf uc;
	struct txn_cfg tc;

	memset(e, 0, sizeof(*e));
	e->port = port;
	txn_cfg_default(&tc);
	tc.hash_size = 16384;
	tc.max_live = 0;
	ua_conf_default(&uc);
	uc.port = port;
	uc.max_sessions = 1000000;
	if (txn_ctx_alloc(&e->txn, &tc, net_send, e, bx.tmr) ||
	    ua_alloc(&e->ua, &uc, e->txn, bx.tmr, net_send, e, on_invite, e)) {
		fprintf(stderr, "set-up failed\n");
		exit(1);
	}
}

static struct ua_sess *
call(void)
{
	struct ua_sess *s = NULL;
	struct ua_conn c;

	memset(&c, 0, sizeof(c));
	c.ruri = "sip:+4930123456@127.0.0.1:5062;user=phone";
	c.from_uri = "sip:+4940987654@127.0.0.1:5061;user=phone";
	c.to_uri = c.ruri;
	c.ctype = "application/sdp";
	c.body = sdp;
	c.body_len = strlen(sdp);
	dest_set(&c.dest, 5062);
	if (ua_sess_connect(&s, bx.a.ua, &c, on_ev, &bx.a)) {
		fprintf(stderr, "connect failed\n");
		exit(1);
	}
	return s;
}

static double
secs(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static size_t
heap(void)
{
	return mallinfo2().uordblks;
}

int
main(int argc, char **argv)
{
	unsigned n = argc > 1 ? (unsigned)atoi(argv[1]) : 200000, i;
	unsigned nmem = 10000;
	struct ua_sess **as = calloc(nmem, sizeof(*as));
	struct ua_stats sa, sb;
	double t0, t1;
	size_t h0, h1;

	bx.now = 1000000;
	tmr_ctx_alloc(&bx.tmr, clk, NULL);
	ep_init(&bx.a, 5061);
	ep_init(&bx.b, 5062);

	/* 1. churn */
	t0 = secs();
	for (i = 0; i < n; i++) {
		struct ua_sess *s = call();

		pump(); /* INVITE, 200, ACK */
		ua_sess_end(s, 0, NULL);
		pump(); /* BYE, 200 */
		mem_deref(s);
		if (i % 1000 == 999) {
			bx.now += 40000;
			pump();
		}
	}
	bx.now += 40000;
	pump();
	t1 = secs();
	ua_stats(bx.a.ua, &sa);
	ua_stats(bx.b.ua, &sb);
	printf("ua_bench: %u calls (INVITE/200/ACK/BYE/200), one core\n", n);
	printf("  dialogs ended: caller %u, callee %u; sessions left "
	       "%llu/%llu\n",
	       bx.a.ended, bx.b.ended, (unsigned long long)sa.sess_live,
	       (unsigned long long)sb.sess_live);
	printf("  %.0f calls/s (%.2f us per call, both UAs, 5 messages "
	       "written, parsed and matched)\n",
	       n / (t1 - t0), (t1 - t0) * 1e6 / n);

	/* 2. memory per confirmed dialog */
	bx.kept = calloc(nmem, sizeof(*bx.kept));
	bx.b.keep = true;
	h0 = heap();
	for (i = 0; i < nmem; i++) {
		as[i] = call();
		pump();
	}
	bx.now += 40000; /* transactions run out; the dialogs stay */
	pump();
	h1 = heap();
	printf("  %u confirmed calls: %.0f bytes of heap per call (both "
	       "sides), %.0f per dialog (one side)\n",
	       nmem, (double)(h1 - h0) / nmem, (double)(h1 - h0) / nmem / 2);
	for (i = 0; i < nmem; i++) {
		ua_sess_end(as[i], 0, NULL);
		pump();
		mem_deref(as[i]);
		mem_deref(bx.kept[i]);
	}
	bx.now += 40000;
	pump();
	ua_stats(bx.a.ua, &sa);
	ua_stats(bx.b.ua, &sb);
	printf("  after teardown: sessions left %llu/%llu\n",
	       (unsigned long long)sa.sess_live,
	       (unsigned long long)sb.sess_live);
	mem_deref(bx.a.ua);
	mem_deref(bx.b.ua);
	mem_deref(bx.a.txn);
	mem_deref(bx.b.txn);
	mem_deref(bx.tmr);
	free(as);
	free(bx.kept);
	return sa.sess_live || sb.sess_live;
}
