/* Unit tests: the RTP/RTCP relay (media/relay*.c) over real UDP sockets on
   127.0.0.1 (bounded counts and times), latching, hold, statistics, the
   port range. SDP: test_relay_sdp.c. */
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "media/relay.h"
#include "media/sec.h"
#include "stack/mem.h"
#include "testutil.h"

#define PORT_MIN 41000
#define PORT_MAX 41199

/* --- helpers ----------------------------------------------------------- */

struct peer {
	int fd;
	uint16_t port;
};

static void
peer_open(struct peer *p)
{
	struct sockaddr_in sin = {.sin_family = AF_INET};
	socklen_t len = sizeof(sin);

	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	p->fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	CU_ASSERT_FATAL(p->fd >= 0);
	CU_ASSERT_FATAL(bind(p->fd, (struct sockaddr *)&sin, sizeof(sin)) == 0);
	CU_ASSERT_FATAL(getsockname(p->fd, (struct sockaddr *)&sin, &len) == 0);
	p->port = ntohs(sin.sin_port);
}

static void
peer_close(struct peer *p)
{
	close(p->fd);
	p->fd = -1;
}

static void
peer_send(const struct peer *p, uint16_t port, const void *buf, size_t len)
{
	struct sockaddr_in sin = {.sin_family = AF_INET};

	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	sin.sin_port = htons(port);
	CU_ASSERT(sendto(p->fd, buf, len, 0, (struct sockaddr *)&sin,
			 sizeof(sin)) == (ssize_t)len);
}

/* Receive one datagram within ms; its length or -1; *from its port. */
static ssize_t
peer_recv(const struct peer *p, void *buf, size_t sz, int ms, uint16_t *from)
{
	struct pollfd pfd = {.fd = p->fd, .events = POLLIN};
	struct sockaddr_in sin;
	socklen_t len = sizeof(sin);
	ssize_t n;

	if (poll(&pfd, 1, ms) != 1)
		return -1;
	n = recvfrom(p->fd, buf, sz, MSG_DONTWAIT, (struct sockaddr *)&sin,
		     &len);
	if (n >= 0 && from)
		*from = ntohs(sin.sin_port);
	return n;
}

static size_t
mk_rtp(uint8_t *b, uint16_t seq, uint32_t ts)
{
	memset(b, 0xd5, 172);
	b[0] = 0x80;
	b[1] = 8;
	b[2] = (uint8_t)(seq >> 8);
	b[3] = (uint8_t)seq;
	b[4] = (uint8_t)(ts >> 24);
	b[5] = (uint8_t)(ts >> 16);
	b[6] = (uint8_t)(ts >> 8);
	b[7] = (uint8_t)ts;
	b[8] = 0x11;
	b[9] = 0x22;
	b[10] = 0x33;
	b[11] = 0x44;
	return 172;
}

static const uint8_t rtcp_rr[8] = {0x80, 201, 0, 1, 0x11, 0x22, 0x33, 0x44};

static void
sleep_ms(unsigned ms)
{
	struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};

	nanosleep(&ts, NULL);
}

/* Wait (bounded, 1 s) until the stream has counted n datagrams and
   decided the fate of each. */
static struct relay_stats
wait_packets(struct relay_sess *s, enum relay_leg leg, unsigned idx, uint64_t n)
{
	struct relay_stats st;
	int i;

	for (i = 0; i < 1000; i++) {
		CU_ASSERT_FATAL(relay_stream_stats(s, leg, idx, &st) == 0);
		if (st.packets >= n &&
		    st.forwarded + st.drop_source + st.drop_noremote +
				    st.drop_hold + st.drop_send + st.drop_big +
				    st.drop_srtp ==
			    st.packets)
			break;
		sleep_ms(1);
	}
	CU_ASSERT_EQUAL(st.packets, n);
	return st;
}

static unsigned
fd_count(void)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *e;
	unsigned n = 0;

	if (!d)
		return 0;
	while ((e = readdir(d)))
		n += e->d_name[0] != '.';
	closedir(d);
	return n;
}

static struct relay_ctx *
ctx_new(unsigned nworkers, uint32_t window_ms, uint16_t pmin, uint16_t pmax)
{
	struct relay_conf conf = {0};
	struct relay_ctx *ctx = NULL;

	conf.port_min = pmin;
	conf.port_max = pmax;
	conf.nworkers = nworkers;
	conf.latch_window_ms = window_ms;
	conf.relatch_idle_ms = 100;
	conf.rtp_timeout_ms = 200;
	CU_ASSERT_FATAL(relay_ctx_alloc(&ctx, &conf) == 0);
	return ctx;
}

static void
remote(struct relay_sess *s, enum relay_leg leg, unsigned idx, const char *ip,
       uint16_t port, bool nat, enum relay_dir dir)
{
	struct relay_remote r = {.rtp_port = port, .nat = nat, .dir = dir};

	snprintf(r.ip, sizeof(r.ip), "%s", ip);
	CU_ASSERT_FATAL(relay_stream_remote(s, leg, idx, &r) == 0);
}

/* A call: ctx, a session with stream 0 open on both legs, peer a (leg A)
   and b (leg B) with RTP sockets and RTCP sockets, remotes signalled. */
struct call {
	struct relay_ctx *ctx;
	struct relay_sess *s;
	uint16_t pa, pb; /* relay ports of leg A and B */
	struct peer a, b, ac, bc;
};

static void
call_open(struct call *c, uint32_t window_ms, bool signal)
{
	memset(c, 0, sizeof(*c));
	c->ctx = ctx_new(2, window_ms, PORT_MIN, PORT_MAX);
	CU_ASSERT_FATAL(relay_sess_alloc(&c->s, c->ctx, "call-1@test") == 0);
	CU_ASSERT_FATAL(relay_stream_open(c->s, RELAY_LEG_A, 0, &c->pa) == 0);
	CU_ASSERT_FATAL(relay_stream_open(c->s, RELAY_LEG_B, 0, &c->pb) == 0);
	CU_ASSERT(c->pa % 2 == 0 && c->pb % 2 == 0 && c->pa != c->pb);
	peer_open(&c->a);
	peer_open(&c->b);
	peer_open(&c->ac);
	peer_open(&c->bc);
	if (signal) {
		struct relay_remote r = {.rtp_port = c->a.port,
					 .rtcp_port = c->ac.port};

		strcpy(r.ip, "127.0.0.1");
		CU_ASSERT(relay_stream_remote(c->s, RELAY_LEG_A, 0, &r) == 0);
		r.rtp_port = c->b.port;
		r.rtcp_port = c->bc.port;
		CU_ASSERT(relay_stream_remote(c->s, RELAY_LEG_B, 0, &r) == 0);
	}
	relay_ctx_sync(c->ctx);
}

static void
call_close(struct call *c)
{
	struct relay_ctx_stats cs;

	c->s = relay_sess_close(c->s);
	relay_ctx_sync(c->ctx);
	relay_ctx_stats(c->ctx, &cs);
	CU_ASSERT_EQUAL(cs.sessions, 0);
	CU_ASSERT_EQUAL(cs.ports_used, 0);
	/* the workers' totals outlive the session; every datagram's fate
	   was decided before the close ran */
	CU_ASSERT_EQUAL(cs.packets, cs.forwarded + cs.drop_source +
					    cs.drop_noremote + cs.drop_hold +
					    cs.drop_send + cs.drop_big +
					    cs.drop_srtp);
	c->ctx = mem_deref(c->ctx);
	peer_close(&c->a);
	peer_close(&c->b);
	peer_close(&c->ac);
	peer_close(&c->bc);
}

/* --- tests ------------------------------------------------------------- */

static void
test_forward(void)
{
	uint8_t pkt[172], got[512];
	struct relay_ctx_stats cs;
	struct relay_stats st;
	struct call c;
	uint16_t from = 0;
	ssize_t n;

	call_open(&c, 10000, true);
	/* A -> B, RTP: byte-identical, from the relay's B port (RFC 4961) */
	mk_rtp(pkt, 1, 160);
	peer_send(&c.a, c.pa, pkt, sizeof(pkt));
	n = peer_recv(&c.b, got, sizeof(got), 1000, &from);
	CU_ASSERT_EQUAL(n, 172);
	CU_ASSERT(n == 172 && memcmp(got, pkt, 172) == 0);
	CU_ASSERT_EQUAL(from, c.pb);
	/* B -> A */
	mk_rtp(pkt, 7, 320);
	peer_send(&c.b, c.pb, pkt, sizeof(pkt));
	n = peer_recv(&c.a, got, sizeof(got), 1000, &from);
	CU_ASSERT(n == 172 && memcmp(got, pkt, 172) == 0);
	CU_ASSERT_EQUAL(from, c.pa);
	/* RTCP both ways, RTP port + 1 to the signalled RTCP ports */
	peer_send(&c.ac, c.pa + 1, rtcp_rr, sizeof(rtcp_rr));
	n = peer_recv(&c.bc, got, sizeof(got), 1000, &from);
	CU_ASSERT(n == 8 && memcmp(got, rtcp_rr, 8) == 0);
	CU_ASSERT_EQUAL(from, c.pb + 1);
	peer_send(&c.bc, c.pb + 1, rtcp_rr, sizeof(rtcp_rr));
	n = peer_recv(&c.ac, got, sizeof(got), 1000, &from);
	CU_ASSERT(n == 8 && from == c.pa + 1);
	st = wait_packets(c.s, RELAY_LEG_A, 0, 2);
	CU_ASSERT_EQUAL(st.forwarded, 2);
	CU_ASSERT_EQUAL(st.rtcp, 1);
	CU_ASSERT_EQUAL(st.bytes, 180);
	CU_ASSERT_EQUAL(st.malformed, 0);
	CU_ASSERT(st.latched);
	st = wait_packets(c.s, RELAY_LEG_B, 0, 2);
	CU_ASSERT_EQUAL(st.forwarded, 2);
	CU_ASSERT_EQUAL(st.drop_source + st.drop_hold + st.drop_noremote, 0);
	/* the context's totals (metrics): both streams summed */
	relay_ctx_stats(c.ctx, &cs);
	CU_ASSERT_EQUAL(cs.packets, 4);
	CU_ASSERT_EQUAL(cs.forwarded, 4);
	CU_ASSERT_EQUAL(cs.drop_source + cs.drop_noremote + cs.drop_hold +
				cs.drop_send + cs.drop_big + cs.drop_srtp,
			0);
	call_close(&c);
}

/* A trunk's media address (relay_sess_local_ip()): leg B moves from the
   context's 127.0.0.1 to 127.0.0.2 while open: new ports there, media
   flows both ways from and to the new address, the old ports go back to
   the range; back to the context's address; a bad address refused. */
static void
test_local_ip(void)
{
	uint8_t pkt[172], got[512];
	struct sockaddr_in to = {.sin_family = AF_INET}, from;
	socklen_t fl = sizeof(from);
	struct pollfd pfd;
	struct relay_stats st;
	struct call c;
	uint16_t pb2 = 0, pb3 = 0, fport = 0;
	ssize_t n;

	call_open(&c, 10000, true);
	CU_ASSERT_STRING_EQUAL(relay_sess_ip(c.s, RELAY_LEG_B), "127.0.0.1");
	CU_ASSERT_EQUAL(relay_sess_local_ip(c.s, RELAY_LEG_B, "127.0.0.1"), 0);
	CU_ASSERT_EQUAL(relay_sess_local_ip(c.s, RELAY_LEG_B, "127.0.0.2"), 0);
	CU_ASSERT_STRING_EQUAL(relay_sess_ip(c.s, RELAY_LEG_B), "127.0.0.2");
	CU_ASSERT_STRING_EQUAL(relay_sess_ip(c.s, RELAY_LEG_A), "127.0.0.1");
	CU_ASSERT_EQUAL(relay_stream_open(c.s, RELAY_LEG_B, 0, &pb2), 0);
	CU_ASSERT(pb2 != 0 && pb2 != c.pb && pb2 % 2 == 0);
	relay_ctx_sync(c.ctx);
	/* A -> B: out of the new address and port */
	mk_rtp(pkt, 1, 160);
	peer_send(&c.a, c.pa, pkt, sizeof(pkt));
	pfd = (struct pollfd){.fd = c.b.fd, .events = POLLIN};
	CU_ASSERT_FATAL(poll(&pfd, 1, 1000) == 1);
	n = recvfrom(c.b.fd, got, sizeof(got), 0, (struct sockaddr *)&from,
		     &fl);
	CU_ASSERT(n == 172 && memcmp(got, pkt, 172) == 0);
	CU_ASSERT_EQUAL(ntohs(from.sin_port), pb2);
	CU_ASSERT_EQUAL(ntohl(from.sin_addr.s_addr), 0x7f000002);
	/* B -> A: sent to the new address */
	mk_rtp(pkt, 2, 320);
	to.sin_addr.s_addr = htonl(0x7f000002);
	to.sin_port = htons(pb2);
	CU_ASSERT(sendto(c.b.fd, pkt, sizeof(pkt), 0, (struct sockaddr *)&to,
			 sizeof(to)) == (ssize_t)sizeof(pkt));
	n = peer_recv(&c.a, got, sizeof(got), 1000, &fport);
	CU_ASSERT(n == 172 && memcmp(got, pkt, 172) == 0);
	CU_ASSERT_EQUAL(fport, c.pa);
	st = wait_packets(c.s, RELAY_LEG_B, 0, 1);
	CU_ASSERT_EQUAL(st.forwarded, 1);
	/* back to the context's address; a bad one refused */
	CU_ASSERT_EQUAL(relay_sess_local_ip(c.s, RELAY_LEG_B, NULL), 0);
	CU_ASSERT_STRING_EQUAL(relay_sess_ip(c.s, RELAY_LEG_B), "127.0.0.1");
	CU_ASSERT_EQUAL(relay_stream_open(c.s, RELAY_LEG_B, 0, &pb3), 0);
	CU_ASSERT(pb3 != pb2);
	CU_ASSERT_EQUAL(relay_sess_local_ip(c.s, RELAY_LEG_A, "nonsense"),
			EINVAL);
	CU_ASSERT_STRING_EQUAL(relay_sess_ip(c.s, RELAY_LEG_A), "127.0.0.1");
	relay_ctx_sync(c.ctx);
	call_close(&c); /* every port back in the range */
}

/* SRTP bridged in the relay (RFC 3711): leg A's peer speaks SRTP with its
   key ka, leg B's plain RTP. A -> B is unprotected (tampered and replayed
   packets dropped, counted, never forwarded); B -> A protected with the
   relay's key kt, which A's peer authenticates; SRTCP both ways. Then
   both legs SRTP with separate keys (re-keyed in the relay). */
static void
test_srtp_bridge(void)
{
	uint8_t pkt[172], got[512] __attribute__((aligned(4)));
	uint8_t enc[256] __attribute__((aligned(4)));
	struct sec_key ka, kt, kb, kt2;
	struct sec_stream *a_tx = NULL, *a_rx = NULL, *b_tx = NULL,
			  *b_rx = NULL;
	struct relay_stats st;
	struct call c;
	size_t len;
	ssize_t n;
	uint16_t seq;

	CU_ASSERT_FATAL(sec_key_generate(&ka, SEC_AES_CM_128_HMAC_SHA1_80) ==
			0);
	CU_ASSERT_FATAL(sec_key_generate(&kt, SEC_AES_CM_128_HMAC_SHA1_80) ==
			0);
	CU_ASSERT_FATAL(sec_stream_alloc(&a_tx, &ka, SEC_DIR_PROTECT) == 0);
	CU_ASSERT_FATAL(sec_stream_alloc(&a_rx, &kt, SEC_DIR_UNPROTECT) == 0);
	call_open(&c, 10000, true);
	/* what A's peer sends (ka): unprotect only; what goes to A: kt */
	CU_ASSERT(relay_stream_srtp(c.s, RELAY_LEG_A, 0, &ka, NULL) == 0);
	CU_ASSERT(relay_stream_srtp(c.s, RELAY_LEG_B, 0, NULL, &kt) == 0);
	CU_ASSERT(relay_stream_srtp(c.s, RELAY_LEG_A, 3, &ka, NULL) == EINVAL);
	relay_ctx_sync(c.ctx);
	for (seq = 1; seq <= 5; seq++) {
		mk_rtp(pkt, seq, seq * 160u);
		memcpy(enc, pkt, sizeof(pkt));
		len = sizeof(pkt);
		CU_ASSERT_FATAL(sec_rtp_protect(a_tx, enc, &len, sizeof(enc)) ==
				0);
		CU_ASSERT_EQUAL(len, 182);
		peer_send(&c.a, c.pa, enc, len);
		n = peer_recv(&c.b, got, sizeof(got), 1000, NULL);
		CU_ASSERT(n == 172 && memcmp(got, pkt, 172) == 0);
	}
	/* the same packet again (replay), then a bad tag: dropped */
	peer_send(&c.a, c.pa, enc, len);
	enc[len - 1] ^= 0x5a;
	enc[3] = 9;
	peer_send(&c.a, c.pa, enc, len);
	CU_ASSERT_EQUAL(peer_recv(&c.b, got, sizeof(got), 200, NULL), -1);
	/* SRTCP from A with a report block: read once unprotected */
	{
		uint8_t rr[32] __attribute__((aligned(4))) = {
			0x81, 201, 0, 7, 0x11, 0x22, 0x33, 0x44};

		rr[12] = 26;  /* fraction lost ~10 % */
		rr[15] = 3;   /* 3 lost */
		rr[23] = 160; /* jitter 160 ts = 20 ms */
		memcpy(enc, rr, sizeof(rr));
		len = sizeof(rr);
		CU_ASSERT_FATAL(
			sec_rtcp_protect(a_tx, enc, &len, sizeof(enc)) == 0);
		peer_send(&c.ac, c.pa + 1, enc, len);
		n = peer_recv(&c.bc, got, sizeof(got), 1000, NULL);
		CU_ASSERT(n == 32 && memcmp(got, rr, 32) == 0);
	}
	/* SRTCP from A: decrypted to the plain RR */
	memcpy(enc, rtcp_rr, sizeof(rtcp_rr));
	len = sizeof(rtcp_rr);
	CU_ASSERT_FATAL(sec_rtcp_protect(a_tx, enc, &len, sizeof(enc)) == 0);
	peer_send(&c.ac, c.pa + 1, enc, len);
	n = peer_recv(&c.bc, got, sizeof(got), 1000, NULL);
	CU_ASSERT(n == 8 && memcmp(got, rtcp_rr, 8) == 0);
	st = wait_packets(c.s, RELAY_LEG_A, 0, 9);
	CU_ASSERT_EQUAL(st.forwarded, 7);
	CU_ASSERT_EQUAL(st.peer_reports, 1);
	CU_ASSERT_EQUAL(st.peer_fraction, 26);
	CU_ASSERT_EQUAL(st.peer_lost, 3);
	CU_ASSERT_EQUAL(st.peer_jitter_us, 20000);
	CU_ASSERT_EQUAL(st.drop_srtp, 2);
	CU_ASSERT_EQUAL(st.malformed, 0);
	CU_ASSERT(st.srtp_in && !st.srtp_out);
	/* B -> A: protected with kt */
	mk_rtp(pkt, 100, 16000);
	peer_send(&c.b, c.pb, pkt, sizeof(pkt));
	n = peer_recv(&c.a, got, sizeof(got), 1000, NULL);
	CU_ASSERT_EQUAL(n, 182);
	len = (size_t)(n > 0 ? n : 0);
	CU_ASSERT(sec_rtp_unprotect(a_rx, got, &len) == 0);
	CU_ASSERT(len == 172 && memcmp(got, pkt, 172) == 0);
	peer_send(&c.bc, c.pb + 1, rtcp_rr, sizeof(rtcp_rr));
	n = peer_recv(&c.ac, got, sizeof(got), 1000, NULL);
	len = (size_t)(n > 0 ? n : 0);
	CU_ASSERT(n > 8 && sec_rtcp_unprotect(a_rx, got, &len) == 0);
	CU_ASSERT(len == 8 && memcmp(got, rtcp_rr, 8) == 0);
	st = wait_packets(c.s, RELAY_LEG_B, 0, 2);
	CU_ASSERT(!st.srtp_in && st.srtp_out && st.drop_srtp == 0);

	/* both legs SRTP, separate keys: B's peer sends with kb and gets kt2 */
	CU_ASSERT_FATAL(sec_key_generate(&kb, SEC_AEAD_AES_128_GCM) == 0);
	CU_ASSERT_FATAL(sec_key_generate(&kt2, SEC_AEAD_AES_128_GCM) == 0);
	CU_ASSERT_FATAL(sec_stream_alloc(&b_tx, &kb, SEC_DIR_PROTECT) == 0);
	CU_ASSERT_FATAL(sec_stream_alloc(&b_rx, &kt2, SEC_DIR_UNPROTECT) == 0);
	CU_ASSERT(relay_stream_srtp(c.s, RELAY_LEG_A, 0, &ka, &kt2) == 0);
	CU_ASSERT(relay_stream_srtp(c.s, RELAY_LEG_B, 0, &kb, &kt) == 0);
	relay_ctx_sync(c.ctx);
	mk_rtp(pkt, 6, 960);
	memcpy(enc, pkt, sizeof(pkt));
	len = sizeof(pkt);
	CU_ASSERT_FATAL(sec_rtp_protect(a_tx, enc, &len, sizeof(enc)) == 0);
	peer_send(&c.a, c.pa, enc, len);
	n = peer_recv(&c.b, got, sizeof(got), 1000, NULL);
	len = (size_t)(n > 0 ? n : 0);
	CU_ASSERT_EQUAL(n, 188); /* GCM: 16-byte tag */
	CU_ASSERT(sec_rtp_unprotect(b_rx, got, &len) == 0);
	CU_ASSERT(len == 172 && memcmp(got, pkt, 172) == 0);
	mk_rtp(pkt, 101, 16160);
	memcpy(enc, pkt, sizeof(pkt));
	len = sizeof(pkt);
	CU_ASSERT_FATAL(sec_rtp_protect(b_tx, enc, &len, sizeof(enc)) == 0);
	peer_send(&c.b, c.pb, enc, len);
	n = peer_recv(&c.a, got, sizeof(got), 1000, NULL);
	len = (size_t)(n > 0 ? n : 0);
	CU_ASSERT(sec_rtp_unprotect(a_rx, got, &len) == 0);
	CU_ASSERT(len == 172 && memcmp(got, pkt, 172) == 0);
	/* plain RTP from B now that it must be SRTP: dropped */
	peer_send(&c.b, c.pb, pkt, sizeof(pkt));
	CU_ASSERT_EQUAL(peer_recv(&c.a, got, sizeof(got), 200, NULL), -1);
	st = wait_packets(c.s, RELAY_LEG_B, 0, 4);
	CU_ASSERT_EQUAL(st.drop_srtp, 1);
	/* keys removed: plain again */
	CU_ASSERT(relay_stream_srtp(c.s, RELAY_LEG_B, 0, NULL, NULL) == 0);
	relay_ctx_sync(c.ctx);
	peer_send(&c.b, c.pb, pkt, sizeof(pkt));
	n = peer_recv(&c.a, got, sizeof(got), 1000, NULL);
	CU_ASSERT(n == 172 && memcmp(got, pkt, 172) == 0);
	call_close(&c);
	mem_deref(a_tx);
	mem_deref(a_rx);
	mem_deref(b_tx);
	mem_deref(b_rx);
	sec_key_wipe(&ka);
	sec_key_wipe(&kt);
	sec_key_wipe(&kb);
	sec_key_wipe(&kt2);
}

/* Payload type mapping per direction (after a transfer the legs may use
   different numbers for one codec): marker bit kept, RTCP untouched,
   identity restored with NULL; a bad map is refused. */
static void
test_ptmap(void)
{
	uint8_t pkt[172], got[512], map[128];
	struct call c;
	ssize_t n;
	unsigned i;

	for (i = 0; i < 128; i++)
		map[i] = (uint8_t)i;
	map[8] = 9;
	map[101] = 96;
	call_open(&c, 10000, true);
	CU_ASSERT(relay_stream_ptmap(c.s, RELAY_LEG_A, 0, map) == 0);
	CU_ASSERT(relay_stream_ptmap(c.s, RELAY_LEG_A, 2, map) == EINVAL);
	map[0] = 200;
	CU_ASSERT(relay_stream_ptmap(c.s, RELAY_LEG_A, 0, map) == EINVAL);
	map[0] = 0;
	relay_ctx_sync(c.ctx);
	mk_rtp(pkt, 1, 160); /* PT 8 */
	pkt[1] |= 0x80;	     /* marker */
	peer_send(&c.a, c.pa, pkt, sizeof(pkt));
	n = peer_recv(&c.b, got, sizeof(got), 1000, NULL);
	CU_ASSERT(n == 172 && got[1] == (0x80 | 9) &&
		  memcmp(got + 2, pkt + 2, 170) == 0);
	pkt[1] = 101;
	peer_send(&c.a, c.pa, pkt, sizeof(pkt));
	n = peer_recv(&c.b, got, sizeof(got), 1000, NULL);
	CU_ASSERT(n == 172 && got[1] == 96);
	/* the other direction is not mapped */
	peer_send(&c.b, c.pb, pkt, sizeof(pkt));
	n = peer_recv(&c.a, got, sizeof(got), 1000, NULL);
	CU_ASSERT(n == 172 && got[1] == 101);
	/* RTCP is not RTP: untouched */
	peer_send(&c.ac, c.pa + 1, rtcp_rr, sizeof(rtcp_rr));
	n = peer_recv(&c.bc, got, sizeof(got), 1000, NULL);
	CU_ASSERT(n == 8 && memcmp(got, rtcp_rr, 8) == 0);
	CU_ASSERT(relay_stream_ptmap(c.s, RELAY_LEG_A, 0, NULL) == 0);
	relay_ctx_sync(c.ctx);
	peer_send(&c.a, c.pa, pkt, sizeof(pkt));
	n = peer_recv(&c.b, got, sizeof(got), 1000, NULL);
	CU_ASSERT(n == 172 && got[1] == 101);
	call_close(&c);
}

/* RTCP multiplexed on the RTP port on leg A (RFC 5761), not on leg B. */
static void
test_rtcp_mux(void)
{
	struct relay_remote r = {0};
	uint8_t got[64];
	uint16_t from = 0;
	struct call c;

	call_open(&c, 10000, true);
	strcpy(r.ip, "127.0.0.1");
	r.rtp_port = c.a.port;
	r.rtcp_mux = true;
	CU_ASSERT(relay_stream_remote(c.s, RELAY_LEG_A, 0, &r) == 0);
	relay_ctx_sync(c.ctx);
	peer_send(&c.a, c.pa, rtcp_rr, sizeof(rtcp_rr));
	CU_ASSERT_EQUAL(peer_recv(&c.bc, got, sizeof(got), 1000, &from), 8);
	CU_ASSERT_EQUAL(from, c.pb + 1);
	peer_send(&c.bc, c.pb + 1, rtcp_rr, sizeof(rtcp_rr));
	CU_ASSERT_EQUAL(peer_recv(&c.a, got, sizeof(got), 1000, &from), 8);
	CU_ASSERT_EQUAL(from, c.pa);
	call_close(&c);
}

/* A non-NAT peer sending from another port of the signalled IP is
   latched inside the window; the old address is then refused. */
static void
test_latch_signalled_ip(void)
{
	uint8_t pkt[172], got[512];
	struct relay_stats st;
	struct peer x;
	uint16_t from;
	struct call c;

	call_open(&c, 10000, true);
	peer_open(&x);
	mk_rtp(pkt, 1, 0);
	peer_send(&x, c.pa, pkt, sizeof(pkt));
	CU_ASSERT_EQUAL(peer_recv(&c.b, got, sizeof(got), 1000, NULL), 172);
	/* the answer goes to the latched source, not the signalled port */
	peer_send(&c.b, c.pb, pkt, sizeof(pkt));
	CU_ASSERT_EQUAL(peer_recv(&x, got, sizeof(got), 1000, &from), 172);
	CU_ASSERT_EQUAL(from, c.pa);
	CU_ASSERT_EQUAL(peer_recv(&c.a, got, sizeof(got), 50, NULL), -1);
	/* the signalled port itself is now a stranger */
	peer_send(&c.a, c.pa, pkt, sizeof(pkt));
	st = wait_packets(c.s, RELAY_LEG_A, 0, 2);
	CU_ASSERT_EQUAL(st.drop_source, 1);
	CU_ASSERT_EQUAL(st.forwarded, 1);
	CU_ASSERT_EQUAL(peer_recv(&c.b, got, sizeof(got), 50, NULL), -1);
	peer_close(&x);
	call_close(&c);
}

/*
 * Leg A signals 127.0.0.2 (never sent to: leg B stays silent until A has
 * latched) and the packets come from 127.0.0.1: dropped for a plain
 * trunk, latched for a trunk behind NAT.
 */
static void
test_hijack_nat(void)
{
	uint8_t pkt[172], got[512];
	struct relay_stats st;
	uint16_t from;
	struct call c;

	call_open(&c, 10000, false);
	remote(c.s, RELAY_LEG_A, 0, "127.0.0.2", 40000, false,
	       RELAY_DIR_SENDRECV);
	remote(c.s, RELAY_LEG_B, 0, "127.0.0.1", c.b.port, false,
	       RELAY_DIR_SENDRECV);
	relay_ctx_sync(c.ctx);
	mk_rtp(pkt, 1, 0);
	peer_send(&c.a, c.pa, pkt, sizeof(pkt));
	peer_send(&c.a, c.pa, pkt, sizeof(pkt));
	st = wait_packets(c.s, RELAY_LEG_A, 0, 2);
	CU_ASSERT_EQUAL(st.drop_source, 2);
	CU_ASSERT(!st.latched);
	CU_ASSERT_EQUAL(peer_recv(&c.b, got, sizeof(got), 50, NULL), -1);
	/* the same trunk flagged as behind NAT */
	remote(c.s, RELAY_LEG_A, 0, "127.0.0.2", 40000, true,
	       RELAY_DIR_SENDRECV);
	relay_ctx_sync(c.ctx);
	peer_send(&c.a, c.pa, pkt, sizeof(pkt));
	CU_ASSERT_EQUAL(peer_recv(&c.b, got, sizeof(got), 1000, NULL), 172);
	st = wait_packets(c.s, RELAY_LEG_A, 0, 3);
	CU_ASSERT(st.latched);
	CU_ASSERT_EQUAL(st.drop_source, 2);
	peer_send(&c.b, c.pb, pkt, sizeof(pkt));
	CU_ASSERT_EQUAL(peer_recv(&c.a, got, sizeof(got), 1000, &from), 172);
	CU_ASSERT_EQUAL(from, c.pa);
	call_close(&c);
}

/* After the window only the exact signalled address is accepted. */
static void
test_window(void)
{
	uint8_t pkt[172], got[512];
	struct relay_stats st;
	struct peer x;
	struct call c;

	call_open(&c, 100, true);
	peer_open(&x);
	sleep_ms(150);
	mk_rtp(pkt, 1, 0);
	peer_send(&x, c.pa, pkt, sizeof(pkt));
	st = wait_packets(c.s, RELAY_LEG_A, 0, 1);
	CU_ASSERT_EQUAL(st.drop_source, 1);
	CU_ASSERT_EQUAL(peer_recv(&c.b, got, sizeof(got), 50, NULL), -1);
	peer_send(&c.a, c.pa, pkt, sizeof(pkt));
	CU_ASSERT_EQUAL(peer_recv(&c.b, got, sizeof(got), 1000, NULL), 172);
	st = wait_packets(c.s, RELAY_LEG_A, 0, 2);
	CU_ASSERT(st.latched);
	peer_close(&x);
	call_close(&c);
}

/* A re-INVITE moves leg A to another port: the latch is forgotten, the
   new address is used at once and the old source refused. */
static void
test_relatch_remote(void)
{
	uint8_t pkt[172], got[512];
	struct relay_stats st;
	struct peer y;
	uint16_t from;
	struct call c;

	call_open(&c, 100, true);
	peer_open(&y);
	mk_rtp(pkt, 1, 0);
	peer_send(&c.a, c.pa, pkt, sizeof(pkt));
	CU_ASSERT_EQUAL(peer_recv(&c.b, got, sizeof(got), 1000, NULL), 172);
	remote(c.s, RELAY_LEG_A, 0, "127.0.0.1", y.port, false,
	       RELAY_DIR_SENDRECV);
	relay_ctx_sync(c.ctx);
	peer_send(&c.b, c.pb, pkt, sizeof(pkt));
	CU_ASSERT_EQUAL(peer_recv(&y, got, sizeof(got), 1000, &from), 172);
	CU_ASSERT_EQUAL(from, c.pa);
	CU_ASSERT_EQUAL(peer_recv(&c.a, got, sizeof(got), 50, NULL), -1);
	peer_send(&y, c.pa, pkt, sizeof(pkt));
	CU_ASSERT_EQUAL(peer_recv(&c.b, got, sizeof(got), 1000, NULL), 172);
	peer_send(&c.a, c.pa, pkt, sizeof(pkt));
	st = wait_packets(c.s, RELAY_LEG_A, 0, 3);
	CU_ASSERT_EQUAL(st.drop_source, 1);
	CU_ASSERT_EQUAL(st.forwarded, 2);
	peer_close(&y);
	call_close(&c);
}

/* NAT peer: a new source takes over (within the window) only after the
   latched one was silent for relatch_idle_ms (100 ms here). */
static void
test_relatch_nat_idle(void)
{
	uint8_t pkt[172], got[512];
	struct relay_stats st;
	struct peer y;
	uint16_t from;
	struct call c;

	call_open(&c, 10000, false);
	remote(c.s, RELAY_LEG_A, 0, "127.0.0.1", c.a.port, true,
	       RELAY_DIR_SENDRECV);
	remote(c.s, RELAY_LEG_B, 0, "127.0.0.1", c.b.port, false,
	       RELAY_DIR_SENDRECV);
	relay_ctx_sync(c.ctx);
	peer_open(&y);
	mk_rtp(pkt, 1, 0);
	peer_send(&c.a, c.pa, pkt, sizeof(pkt));
	CU_ASSERT_EQUAL(peer_recv(&c.b, got, sizeof(got), 1000, NULL), 172);
	peer_send(&y, c.pa, pkt, sizeof(pkt)); /* too soon: refused */
	st = wait_packets(c.s, RELAY_LEG_A, 0, 2);
	CU_ASSERT_EQUAL(st.drop_source, 1);
	sleep_ms(150);
	peer_send(&y, c.pa, pkt, sizeof(pkt));
	CU_ASSERT_EQUAL(peer_recv(&c.b, got, sizeof(got), 1000, NULL), 172);
	st = wait_packets(c.s, RELAY_LEG_A, 0, 3);
	CU_ASSERT_EQUAL(st.relatched, 1);
	peer_send(&c.b, c.pb, pkt, sizeof(pkt));
	CU_ASSERT_EQUAL(peer_recv(&y, got, sizeof(got), 1000, &from), 172);
	peer_close(&y);
	call_close(&c);
}

/* Hold: A sendonly (music on hold flows to B, nothing back), then
   inactive (nothing), RTCP flowing throughout; port 0 disables. */
static void
test_hold(void)
{
	uint8_t pkt[172], got[512];
	struct relay_ctx_stats cs;
	struct relay_stats st;
	struct call c;
	struct relay_remote r = {.rtp_port = 0, .dir = RELAY_DIR_SENDONLY};

	call_open(&c, 10000, true);
	strcpy(r.ip, "127.0.0.1");
	r.rtp_port = c.a.port;
	r.rtcp_port = c.ac.port;
	CU_ASSERT(relay_stream_remote(c.s, RELAY_LEG_A, 0, &r) == 0);
	relay_ctx_sync(c.ctx);
	mk_rtp(pkt, 1, 0);
	peer_send(&c.a, c.pa, pkt, sizeof(pkt));
	CU_ASSERT_EQUAL(peer_recv(&c.b, got, sizeof(got), 1000, NULL), 172);
	peer_send(&c.b, c.pb, pkt, sizeof(pkt));
	st = wait_packets(c.s, RELAY_LEG_B, 0, 1);
	CU_ASSERT_EQUAL(st.drop_hold, 1);
	CU_ASSERT_EQUAL(peer_recv(&c.a, got, sizeof(got), 50, NULL), -1);
	r.dir = RELAY_DIR_INACTIVE;
	CU_ASSERT(relay_stream_remote(c.s, RELAY_LEG_A, 0, &r) == 0);
	relay_ctx_sync(c.ctx);
	peer_send(&c.a, c.pa, pkt, sizeof(pkt));
	st = wait_packets(c.s, RELAY_LEG_A, 0, 2);
	CU_ASSERT_EQUAL(st.drop_hold, 1);
	CU_ASSERT_EQUAL(peer_recv(&c.b, got, sizeof(got), 50, NULL), -1);
	peer_send(&c.bc, c.pb + 1, rtcp_rr, sizeof(rtcp_rr));
	CU_ASSERT_EQUAL(peer_recv(&c.ac, got, sizeof(got), 1000, NULL), 8);
	/* no timeout on hold, while idle */
	sleep_ms(250);
	CU_ASSERT(relay_stream_stats(c.s, RELAY_LEG_A, 0, &st) == 0);
	CU_ASSERT(st.idle_ms >= 200);
	CU_ASSERT(!st.timed_out);
	/* resume: flows again; then a stream set to port 0 */
	remote(c.s, RELAY_LEG_A, 0, "127.0.0.1", c.a.port, false,
	       RELAY_DIR_SENDRECV);
	relay_ctx_sync(c.ctx);
	peer_send(&c.b, c.pb, pkt, sizeof(pkt));
	CU_ASSERT_EQUAL(peer_recv(&c.a, got, sizeof(got), 1000, NULL), 172);
	remote(c.s, RELAY_LEG_A, 0, "127.0.0.1", 0, false, RELAY_DIR_SENDRECV);
	relay_ctx_sync(c.ctx);
	peer_send(&c.b, c.pb, pkt, sizeof(pkt));
	st = wait_packets(c.s, RELAY_LEG_B, 0, 4);
	CU_ASSERT_EQUAL(st.drop_noremote, 1);
	CU_ASSERT_EQUAL(peer_recv(&c.a, got, sizeof(got), 50, NULL), -1);
	/* totals by reason: the two held, the one without a remote */
	relay_ctx_stats(c.ctx, &cs);
	CU_ASSERT_EQUAL(cs.drop_hold, 2);
	CU_ASSERT_EQUAL(cs.drop_noremote, 1);
	CU_ASSERT_EQUAL(cs.packets, 6);
	CU_ASSERT_EQUAL(cs.forwarded, 3);
	call_close(&c);
}

/* Crafted sequence with gaps, a malformed packet, timeout. */
static void
test_stats(void)
{
	static const uint16_t seqs[] = {100, 101, 103, 104, 107, 108};
	uint8_t pkt[172], got[512];
	struct relay_stats st;
	struct call c;
	unsigned i;

	call_open(&c, 10000, true);
	CU_ASSERT(relay_stream_stats(c.s, RELAY_LEG_A, 0, &st) == 0);
	CU_ASSERT_EQUAL(st.packets, 0);
	for (i = 0; i < 6; i++) {
		mk_rtp(pkt, seqs[i], 160u * seqs[i]);
		peer_send(&c.a, c.pa, pkt, sizeof(pkt));
		CU_ASSERT_EQUAL(peer_recv(&c.b, got, sizeof(got), 1000, NULL),
				172);
	}
	pkt[0] = 0x40; /* version 1: forwarded all the same, counted */
	peer_send(&c.a, c.pa, pkt, 5);
	CU_ASSERT_EQUAL(peer_recv(&c.b, got, sizeof(got), 1000, NULL), 5);
	st = wait_packets(c.s, RELAY_LEG_A, 0, 7);
	CU_ASSERT_EQUAL(st.forwarded, 7);
	CU_ASSERT_EQUAL(st.bytes, 6 * 172 + 5);
	CU_ASSERT_EQUAL(st.lost, 3);
	CU_ASSERT_EQUAL(st.malformed, 1);
	CU_ASSERT_EQUAL(st.rtcp, 0);
	CU_ASSERT(!st.timed_out);
	/* timestamps claim 20 ms per packet, arrivals are ~0 ms apart */
	CU_ASSERT(st.jitter > 0);
	CU_ASSERT_EQUAL(st.jitter_us, (uint32_t)(st.jitter * 125u));
	sleep_ms(250);
	CU_ASSERT(relay_stream_stats(c.s, RELAY_LEG_A, 0, &st) == 0);
	CU_ASSERT(st.idle_ms >= 200);
	CU_ASSERT(st.timed_out);
	call_close(&c);
}

static void
test_ports(void)
{
	struct relay_sess *s[5] = {NULL};
	struct relay_ctx_stats cs;
	struct relay_ctx *ctx;
	struct sockaddr_in sin = {.sin_family = AF_INET};
	unsigned fds = fd_count(), fds_ctx, i;
	uint16_t port, first = 0;
	int fd;

	/* 41300..41307: 4 pairs; the first RTP port is taken by someone */
	fd = socket(AF_INET, SOCK_DGRAM, 0);
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	sin.sin_port = htons(41300);
	CU_ASSERT_FATAL(bind(fd, (struct sockaddr *)&sin, sizeof(sin)) == 0);
	ctx = ctx_new(1, 1000, 41300, 41307);
	fds_ctx = fd_count();
	for (i = 0; i < 4; i++) {
		CU_ASSERT_FATAL(relay_sess_alloc(&s[i], ctx, "p") == 0);
		if (i < 3) {
			CU_ASSERT(relay_stream_open(s[i], RELAY_LEG_A, 0,
						    &port) == 0);
			CU_ASSERT(port != 41300 && port % 2 == 0);
			CU_ASSERT(port >= 41302 && port <= 41306);
			if (!first)
				first = port;
		}
	}
	/* reopen gives the same port; the range is now exhausted */
	CU_ASSERT(relay_stream_open(s[0], RELAY_LEG_A, 0, &port) == 0);
	CU_ASSERT_EQUAL(port, first);
	CU_ASSERT_EQUAL(relay_stream_open(s[3], RELAY_LEG_A, 0, &port), ENOSPC);
	CU_ASSERT_EQUAL(relay_stream_open(s[0], RELAY_LEG_B, 0, &port), ENOSPC);
	CU_ASSERT_EQUAL(relay_stream_open(s[0], RELAY_LEG_B, 9, &port), EINVAL);
	relay_ctx_stats(ctx, &cs);
	CU_ASSERT_EQUAL(cs.ports_used, 3);
	CU_ASSERT_EQUAL(cs.ports_total, 4);
	CU_ASSERT_EQUAL(fd_count(), fds_ctx + 6);
	for (i = 0; i < 4; i++)
		s[i] = relay_sess_close(s[i]);
	relay_ctx_sync(ctx);
	relay_ctx_stats(ctx, &cs);
	CU_ASSERT_EQUAL(cs.ports_used, 0);
	CU_ASSERT_EQUAL(cs.sessions, 0);
	CU_ASSERT_EQUAL(fd_count(), fds_ctx);
	/* reusable after close */
	close(fd);
	CU_ASSERT_FATAL(relay_sess_alloc(&s[0], ctx, "p") == 0);
	for (i = 0; i < 4; i++)
		CU_ASSERT(relay_stream_open(s[0], RELAY_LEG_A, i, &port) == 0);
	CU_ASSERT_EQUAL(relay_stream_open(s[0], RELAY_LEG_B, 0, &port), ENOSPC);
	s[0] = relay_sess_close(s[0]);
	relay_ctx_sync(ctx);
	relay_ctx_stats(ctx, &cs);
	CU_ASSERT_EQUAL(cs.ports_used, 0);
	ctx = mem_deref(ctx);
	CU_ASSERT_EQUAL(fd_count(), fds);
}

/* Close sessions while a burst is in flight; then free the context with
   one session still open (it is closed by the workers' shutdown). */
static void
test_destroy_flowing(void)
{
	unsigned fds = fd_count(), round, i;
	struct relay_ctx *ctx = ctx_new(2, 10000, PORT_MIN, PORT_MAX);
	struct relay_sess *s, *left;
	struct peer a, b;
	uint8_t pkt[172];
	char id[32];

	peer_open(&a);
	peer_open(&b);
	mk_rtp(pkt, 1, 0);
	for (round = 0; round < 20; round++) {
		uint16_t pa, pb;

		snprintf(id, sizeof(id), "flow-%u", round);
		CU_ASSERT_FATAL(relay_sess_alloc(&s, ctx, id) == 0);
		CU_ASSERT_FATAL(relay_stream_open(s, RELAY_LEG_A, 0, &pa) == 0);
		CU_ASSERT_FATAL(relay_stream_open(s, RELAY_LEG_B, 0, &pb) == 0);
		remote(s, RELAY_LEG_A, 0, "127.0.0.1", a.port, false,
		       RELAY_DIR_SENDRECV);
		remote(s, RELAY_LEG_B, 0, "127.0.0.1", b.port, false,
		       RELAY_DIR_SENDRECV);
		for (i = 0; i < 50; i++) {
			peer_send(&a, pa, pkt, sizeof(pkt));
			peer_send(&b, pb, pkt, sizeof(pkt));
		}
		s = relay_sess_close(s);
	}
	CU_ASSERT_FATAL(relay_sess_alloc(&left, ctx, "left") == 0);
	{
		uint16_t p;

		CU_ASSERT(relay_stream_open(left, RELAY_LEG_A, 0, &p) == 0);
	}
	relay_ctx_sync(ctx);
	ctx = mem_deref(ctx);	       /* closes "left" worker-side */
	left = relay_sess_close(left); /* frees the handle only */
	(void)left;
	peer_close(&a);
	peer_close(&b);
	CU_ASSERT_EQUAL(fd_count(), fds);
}

/* The same over IPv6 loopback (::1) on both legs. */
static int
peer6_open(uint16_t *port)
{
	struct sockaddr_in6 sin = {.sin6_family = AF_INET6};
	socklen_t len = sizeof(sin);
	int fd = socket(AF_INET6, SOCK_DGRAM | SOCK_CLOEXEC, 0);

	sin.sin6_addr = in6addr_loopback;
	if (fd < 0 || bind(fd, (struct sockaddr *)&sin, sizeof(sin)) ||
	    getsockname(fd, (struct sockaddr *)&sin, &len)) {
		if (fd >= 0)
			close(fd);
		return -1;
	}
	*port = ntohs(sin.sin6_port);
	return fd;
}

static void
test_ipv6(void)
{
	struct relay_conf conf = {.port_min = PORT_MIN, .port_max = PORT_MAX};
	struct sockaddr_in6 to = {.sin6_family = AF_INET6};
	struct relay_ctx *ctx = NULL;
	struct relay_sess *s = NULL;
	struct peer a = {-1, 0}, b = {-1, 0};
	uint8_t pkt[172], got[512];
	uint16_t pa, pb;

	a.fd = peer6_open(&a.port);
	b.fd = peer6_open(&b.port);
	if (a.fd < 0 || b.fd < 0) {
		fprintf(stderr, "(no ::1, IPv6 test skipped) ");
		goto out;
	}
	conf.local_ip[RELAY_LEG_A] = "::1";
	conf.local_ip[RELAY_LEG_B] = "::1";
	conf.nworkers = 1;
	CU_ASSERT_FATAL(relay_ctx_alloc(&ctx, &conf) == 0);
	CU_ASSERT_FATAL(relay_sess_alloc(&s, ctx, "v6") == 0);
	CU_ASSERT_FATAL(relay_stream_open(s, RELAY_LEG_A, 1, &pa) == 0);
	CU_ASSERT_FATAL(relay_stream_open(s, RELAY_LEG_B, 1, &pb) == 0);
	remote(s, RELAY_LEG_A, 1, "::1", a.port, false, RELAY_DIR_SENDRECV);
	remote(s, RELAY_LEG_B, 1, "::1", b.port, false, RELAY_DIR_SENDRECV);
	relay_ctx_sync(ctx);
	mk_rtp(pkt, 1, 0);
	to.sin6_addr = in6addr_loopback;
	to.sin6_port = htons(pa);
	CU_ASSERT(sendto(a.fd, pkt, sizeof(pkt), 0, (struct sockaddr *)&to,
			 sizeof(to)) == (ssize_t)sizeof(pkt));
	CU_ASSERT_EQUAL(peer_recv(&b, got, sizeof(got), 1000, NULL), 172);
	to.sin6_port = htons(pb);
	CU_ASSERT(sendto(b.fd, pkt, sizeof(pkt), 0, (struct sockaddr *)&to,
			 sizeof(to)) == (ssize_t)sizeof(pkt));
	CU_ASSERT_EQUAL(peer_recv(&a, got, sizeof(got), 1000, NULL), 172);
	s = relay_sess_close(s);
	ctx = mem_deref(ctx);
out:
	if (a.fd >= 0)
		close(a.fd);
	if (b.fd >= 0)
		close(b.fd);
}

/* Several signaling threads drive one context at once (the command
   lists have many producers). */
struct churn {
	struct relay_ctx *ctx;
	unsigned id, fails;
};

static int
open_retry(struct relay_ctx *ctx, struct relay_sess *s, enum relay_leg leg,
	   uint16_t *p)
{
	int err = relay_stream_open(s, leg, 0, p), i;

	for (i = 0; err == ENOSPC && i < 200; i++) {
		relay_ctx_sync(ctx);
		sleep_ms(1);
		err = relay_stream_open(s, leg, 0, p);
	}
	return err;
}

static void *
churn_main(void *arg)
{
	struct churn *c = arg;
	struct relay_remote r = {.rtp_port = 9, .dir = RELAY_DIR_SENDRECV};
	unsigned i;

	strcpy(r.ip, "127.0.0.1");
	for (i = 0; i < 200; i++) {
		struct relay_sess *s;
		char id[32];
		uint16_t p;

		snprintf(id, sizeof(id), "churn-%u-%u", c->id, i);
		if (relay_sess_alloc(&s, c->ctx, id)) {
			c->fails++;
			continue;
		}
		/* ports come back asynchronously: with three producers
		   outrunning the workers the 100 pairs may run out for a
		   moment */
		if (open_retry(c->ctx, s, RELAY_LEG_A, &p) ||
		    open_retry(c->ctx, s, RELAY_LEG_B, &p) ||
		    relay_stream_remote(s, RELAY_LEG_A, 0, &r))
			c->fails++;
		s = relay_sess_close(s);
	}
	return NULL;
}

static void
test_threads(void)
{
	struct relay_ctx *ctx = ctx_new(2, 1000, PORT_MIN, PORT_MAX);
	struct churn c[3];
	pthread_t th[3];
	struct relay_ctx_stats cs;
	unsigned i;

	for (i = 0; i < 3; i++) {
		c[i].ctx = ctx;
		c[i].id = i;
		c[i].fails = 0;
		CU_ASSERT_FATAL(
			pthread_create(&th[i], NULL, churn_main, &c[i]) == 0);
	}
	for (i = 0; i < 3; i++) {
		pthread_join(th[i], NULL);
		CU_ASSERT_EQUAL(c[i].fails, 0);
	}
	relay_ctx_sync(ctx);
	relay_ctx_stats(ctx, &cs);
	CU_ASSERT_EQUAL(cs.sessions, 0);
	CU_ASSERT_EQUAL(cs.ports_used, 0);
	CU_ASSERT(cs.cmds >= 3 * 200 * 5);
	ctx = mem_deref(ctx);
}

static void
test_bad_args(void)
{
	struct relay_conf conf = {0};
	struct relay_ctx *ctx = NULL;
	struct relay_remote r = {0};
	struct relay_sess *s;
	uint16_t port;

	conf.port_min = 41400;
	conf.port_max = 41400;
	CU_ASSERT_EQUAL(relay_ctx_alloc(&ctx, &conf), EINVAL);
	CU_ASSERT_PTR_NULL(ctx);
	conf.port_max = 41401;
	conf.local_ip[RELAY_LEG_B] = "not-an-ip";
	CU_ASSERT_EQUAL(relay_ctx_alloc(&ctx, &conf), EINVAL);
	conf.local_ip[RELAY_LEG_B] = "127.0.0.1";
	conf.nworkers = 1;
	CU_ASSERT_EQUAL_FATAL(relay_ctx_alloc(&ctx, &conf), 0);
	CU_ASSERT_STRING_EQUAL(relay_ctx_local_ip(ctx, RELAY_LEG_A),
			       "127.0.0.1");
	CU_ASSERT_EQUAL_FATAL(relay_sess_alloc(&s, ctx, "x"), 0);
	strcpy(r.ip, "127.0.0.1");
	r.rtp_port = 5000;
	/* not open yet */
	CU_ASSERT_EQUAL(relay_stream_remote(s, RELAY_LEG_A, 0, &r), EINVAL);
	CU_ASSERT_EQUAL(relay_stream_open(s, RELAY_LEG_A, 0, &port), 0);
	CU_ASSERT_EQUAL(relay_stream_port(s, RELAY_LEG_A, 0), port);
	CU_ASSERT_EQUAL(relay_stream_port(s, RELAY_LEG_B, 0), 0);
	strcpy(r.ip, "bogus");
	CU_ASSERT_EQUAL(relay_stream_remote(s, RELAY_LEG_A, 0, &r), EINVAL);
	strcpy(r.ip, "::1");
	CU_ASSERT_EQUAL(relay_stream_remote(s, RELAY_LEG_A, 0, &r), 0);
	CU_ASSERT_EQUAL(relay_stream_remote(s, RELAY_LEG_COUNT, 0, &r), EINVAL);
	s = relay_sess_close(s);
	ctx = mem_deref(ctx);
}

void test_relay_register(void);
void
test_relay_register(void)
{
	CU_pSuite s = tu_suite("relay");

	TU_ADD(s, test_forward);
	TU_ADD(s, test_local_ip);
	TU_ADD(s, test_srtp_bridge);
	TU_ADD(s, test_ptmap);
	TU_ADD(s, test_rtcp_mux);
	TU_ADD(s, test_latch_signalled_ip);
	TU_ADD(s, test_hijack_nat);
	TU_ADD(s, test_window);
	TU_ADD(s, test_relatch_remote);
	TU_ADD(s, test_relatch_nat_idle);
	TU_ADD(s, test_hold);
	TU_ADD(s, test_stats);
	TU_ADD(s, test_ports);
	TU_ADD(s, test_destroy_flowing);
	TU_ADD(s, test_ipv6);
	TU_ADD(s, test_threads);
	TU_ADD(s, test_bad_args);
}
