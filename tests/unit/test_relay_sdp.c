/* Unit tests: SDP towards the relay (media/relay_sdp.c): a golden rewrite
   of a two-stream offer with a rejected m-line, and the remote read back
   per m-line (RFC 3264 §5, §8.4; RFC 3605; RFC 5761; RFC 8839); an
   offer/answer through a session with RTP over 127.0.0.1. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "media/relay.h"
#include "stack/mem.h"
#include "stack/sdp.h"
#include "testutil.h"

static const char sdp_in[] =
	"v=0\r\n"
	"o=carrier 1234 5 IN IP4 198.51.100.10\r\n"
	"s=-\r\n"
	"c=IN IP4 198.51.100.20\r\n"
	"t=0 0\r\n"
	"a=ice-lite\r\n"
	"m=audio 20000 RTP/AVP 8 101\r\n"
	"a=rtpmap:8 PCMA/8000\r\n"
	"a=rtpmap:101 telephone-event/8000\r\n"
	"a=rtcp:20001\r\n"
	"a=rtcp-mux\r\n"
	"a=candidate:1 1 udp 2122260223 198.51.100.20 20000 typ host\r\n"
	"a=sendrecv\r\n"
	"m=video 20002 RTP/AVP 96\r\n"
	"c=IN IP4 198.51.100.21\r\n"
	"a=rtpmap:96 H264/90000\r\n"
	"a=rtcp-mux\r\n"
	"a=sendonly\r\n"
	"m=image 0 udptl t38\r\n"
	"c=IN IP4 198.51.100.22\r\n";

static const char sdp_out[] = "v=0\r\n"
			      "o=carrier 1234 5 IN IP4 127.0.0.1\r\n"
			      "s=-\r\n"
			      "c=IN IP4 127.0.0.1\r\n"
			      "t=0 0\r\n"
			      "m=audio 41000 RTP/AVP 8 101\r\n"
			      "a=rtpmap:8 PCMA/8000\r\n"
			      "a=rtpmap:101 telephone-event/8000\r\n"
			      "a=rtcp:41001 IN IP4 127.0.0.1\r\n"
			      "a=sendrecv\r\n"
			      "m=video 41002 RTP/AVP 96\r\n"
			      "c=IN IP4 127.0.0.1\r\n"
			      "a=rtpmap:96 H264/90000\r\n"
			      "a=rtcp-mux\r\n"
			      "a=sendonly\r\n"
			      "a=rtcp:41003 IN IP4 127.0.0.1\r\n"
			      "m=image 0 udptl t38\r\n"
			      "c=IN IP4 127.0.0.1\r\n";

static void
test_sdp_rewrite(void)
{
	struct relay_sdp_local loc = {.ip = "127.0.0.1"};
	struct sdp *sdp = malloc(sizeof(*sdp));
	char out[2048];
	size_t n = 0;

	CU_ASSERT_FATAL(sdp != NULL);
	CU_ASSERT_FATAL(sdp_decode(sdp, sdp_in, strlen(sdp_in), NULL) == 0);
	loc.port[0] = 41000;
	loc.port[1] = 41002;
	loc.port[2] = 41004; /* the m= line is port 0: stays rejected, and
			       its c= no longer names the far host */
	loc.rtcp_mux[1] = true;
	CU_ASSERT_EQUAL(relay_sdp_rewrite(sdp, &loc), 0);
	CU_ASSERT_EQUAL(sdp_encode(sdp, out, sizeof(out), &n), 0);
	CU_ASSERT_EQUAL(n, strlen(sdp_out));
	CU_ASSERT(n == strlen(sdp_out) && memcmp(out, sdp_out, n) == 0);
	if (n != strlen(sdp_out) || memcmp(out, sdp_out, n))
		fprintf(stderr, "\n%.*s\n", (int)n, out);
	/* the output decodes again */
	CU_ASSERT_EQUAL(sdp_decode(sdp, out, n, NULL), 0);
	loc.ip = "nope";
	CU_ASSERT_EQUAL(relay_sdp_rewrite(sdp, &loc), EINVAL);
	free(sdp);
}

static void
test_sdp_remote(void)
{
	static const char hold[] = "v=0\r\n"
				   "o=- 1 2 IN IP4 0.0.0.0\r\n"
				   "s=-\r\n"
				   "c=IN IP4 0.0.0.0\r\n"
				   "t=0 0\r\n"
				   "m=audio 4000 RTP/AVP 0\r\n";
	struct sdp *sdp = malloc(sizeof(*sdp));
	struct relay_remote r;

	CU_ASSERT_FATAL(sdp != NULL);
	CU_ASSERT_FATAL(sdp_decode(sdp, sdp_in, strlen(sdp_in), NULL) == 0);
	CU_ASSERT_EQUAL(relay_sdp_remote(sdp, 0, true, &r), 0);
	CU_ASSERT_STRING_EQUAL(r.ip, "198.51.100.20");
	CU_ASSERT_EQUAL(r.rtp_port, 20000);
	CU_ASSERT_EQUAL(r.rtcp_port, 20001);
	CU_ASSERT(r.rtcp_mux && r.nat);
	CU_ASSERT_EQUAL(r.dir, RELAY_DIR_SENDRECV);
	CU_ASSERT_EQUAL(r.clock_rate, 8000);
	CU_ASSERT_EQUAL(relay_sdp_remote(sdp, 1, false, &r), 0);
	CU_ASSERT_STRING_EQUAL(r.ip, "198.51.100.21");
	CU_ASSERT_EQUAL(r.rtp_port, 20002);
	CU_ASSERT_EQUAL(r.rtcp_port, 0);
	CU_ASSERT_EQUAL(r.dir, RELAY_DIR_SENDONLY);
	CU_ASSERT_EQUAL(r.clock_rate, 90000);
	CU_ASSERT(!r.nat);
	CU_ASSERT_EQUAL(relay_sdp_remote(sdp, 2, false, &r), 0);
	CU_ASSERT_EQUAL(r.rtp_port, 0);
	CU_ASSERT_EQUAL(r.dir, RELAY_DIR_INACTIVE);
	CU_ASSERT_EQUAL(relay_sdp_remote(sdp, 3, false, &r), EINVAL);
	CU_ASSERT_FATAL(sdp_decode(sdp, hold, strlen(hold), NULL) == 0);
	CU_ASSERT_EQUAL(relay_sdp_remote(sdp, 0, false, &r), 0);
	CU_ASSERT_EQUAL(r.dir, RELAY_DIR_INACTIVE);
	CU_ASSERT_EQUAL(r.rtp_port, 4000);
	free(sdp);
}

/* An IPv4 answer rewritten for an IPv6 leg, ICE and rtcp-mux kept. */
static const char sdp6_in[] = "v=0\n"
			      "o=pbx 7 8 IN IP4 10.0.0.5\n"
			      "s=call\n"
			      "t=0 0\n"
			      "m=audio 5004 RTP/AVP 0\n"
			      "c=IN IP4 10.0.0.5\n"
			      "a=ice-ufrag:abcd\n"
			      "a=rtcp-mux\n"
			      "a=recvonly\n";

static const char sdp6_out[] = "v=0\n"
			       "o=pbx 7 8 IN IP6 ::1\n"
			       "s=call\n"
			       "t=0 0\n"
			       "m=audio 41010 RTP/AVP 0\n"
			       "c=IN IP6 ::1\n"
			       "a=ice-ufrag:abcd\n"
			       "a=rtcp-mux\n"
			       "a=recvonly\n"
			       "a=rtcp:41011 IN IP6 ::1\n";

static void
test_sdp_rewrite6(void)
{
	struct relay_sdp_local loc = {.ip = "::1", .keep_ice = true};
	struct sdp *sdp = malloc(sizeof(*sdp));
	struct relay_remote r;
	char out[1024];
	size_t n = 0;

	CU_ASSERT_FATAL(sdp != NULL);
	CU_ASSERT_FATAL(sdp_decode(sdp, sdp6_in, strlen(sdp6_in), NULL) == 0);
	CU_ASSERT_EQUAL(relay_sdp_remote(sdp, 0, false, &r), 0);
	CU_ASSERT_STRING_EQUAL(r.ip, "10.0.0.5");
	CU_ASSERT_EQUAL(r.dir, RELAY_DIR_RECVONLY);
	CU_ASSERT(r.rtcp_mux);
	loc.port[0] = 41010;
	loc.rtcp_mux[0] = true;
	CU_ASSERT_EQUAL(relay_sdp_rewrite(sdp, &loc), 0);
	CU_ASSERT_EQUAL(sdp_encode(sdp, out, sizeof(out), &n), 0);
	CU_ASSERT(n == strlen(sdp6_out) && memcmp(out, sdp6_out, n) == 0);
	if (n != strlen(sdp6_out) || memcmp(out, sdp6_out, n))
		fprintf(stderr, "\n%.*s\n", (int)n, out);
	free(sdp);
}

/* --- offer/answer through a session ------------------------------------ */

static ssize_t
lo_xfer(int from, uint16_t to_port, const void *p, size_t n, int to_fd)
{
	struct sockaddr_in sin = {.sin_family = AF_INET};
	struct pollfd pfd = {.fd = to_fd, .events = POLLIN};
	uint8_t got[512];

	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	sin.sin_port = htons(to_port);
	if (sendto(from, p, n, 0, (struct sockaddr *)&sin, sizeof(sin)) !=
	    (ssize_t)n)
		return -1;
	if (poll(&pfd, 1, 1000) != 1)
		return -1;
	return recv(to_fd, got, sizeof(got), MSG_DONTWAIT);
}

/* Rewrite text (received on leg `from`) for leg `to` through the session;
   returns the port the output's first m-line points at. */
static uint16_t
pass(struct relay_sess *s, struct sdp *sdp, const char *text,
     enum relay_leg from, enum relay_leg to)
{
	char out[1024];
	size_t n = 0;

	CU_ASSERT_FATAL(sdp_decode(sdp, text, strlen(text), NULL) == 0);
	CU_ASSERT_EQUAL(relay_sess_sdp_apply(s, from, sdp, false, true), 0);
	CU_ASSERT_EQUAL(relay_sess_sdp_rewrite(s, to, sdp, true, false), 0);
	CU_ASSERT_EQUAL_FATAL(sdp_encode(sdp, out, sizeof(out), &n), 0);
	CU_ASSERT_FATAL(sdp_decode(sdp, out, n, NULL) == 0);
	CU_ASSERT(sdp->conn.af == SDP_AF_IP4 &&
		  pl_eq_str(&sdp->conn.addr, "127.0.0.1"));
	CU_ASSERT_EQUAL(sdp_attr_count(sdp, 0, SDP_A_RTCP_MUX), 1);
	return sdp->media[0].port;
}

static void
test_offer_answer(void)
{
	static const uint8_t rtp[12] = {0x80, 0,   0, 1, 0, 0,
					0,    160, 1, 2, 3, 4};
	static const uint8_t rr[8] = {0x80, 201, 0, 1, 1, 2, 3, 4};
	struct relay_conf conf = {.port_min = 41500, .port_max = 41599};
	struct sdp *sdp = malloc(sizeof(*sdp));
	struct relay_ctx *ctx = NULL;
	struct relay_sess *s = NULL;
	struct relay_ctx_stats cs;
	uint16_t xa, xb, ra, rb;
	int fa = tu_udp_bind("127.0.0.1", &xa),
	    fb = tu_udp_bind("127.0.0.1", &xb);
	char text[512];

	CU_ASSERT_FATAL(sdp != NULL);
	conf.nworkers = 1;
	CU_ASSERT_FATAL(relay_ctx_alloc(&ctx, &conf) == 0);
	CU_ASSERT_FATAL(relay_sess_alloc(&s, ctx, "oa") == 0);
	snprintf(text, sizeof(text),
		 "v=0\r\no=a 1 1 IN IP4 127.0.0.1\r\ns=-\r\n"
		 "c=IN IP4 127.0.0.1\r\nt=0 0\r\n"
		 "m=audio %u RTP/AVP 0\r\na=rtcp-mux\r\n",
		 xa);
	rb = pass(s, sdp, text, RELAY_LEG_A, RELAY_LEG_B);
	CU_ASSERT_EQUAL(rb, relay_stream_port(s, RELAY_LEG_B, 0));
	snprintf(text, sizeof(text),
		 "v=0\r\no=b 9 9 IN IP4 127.0.0.1\r\ns=-\r\n"
		 "c=IN IP4 127.0.0.1\r\nt=0 0\r\n"
		 "m=audio %u RTP/AVP 0\r\na=rtcp-mux\r\n",
		 xb);
	ra = pass(s, sdp, text, RELAY_LEG_B, RELAY_LEG_A);
	CU_ASSERT_EQUAL(ra, relay_stream_port(s, RELAY_LEG_A, 0));
	CU_ASSERT(ra != 0 && rb != 0 && ra != rb);
	relay_ctx_sync(ctx);
	/* RTP both ways, RTCP multiplexed on the RTP ports */
	CU_ASSERT_EQUAL(lo_xfer(fa, ra, rtp, sizeof(rtp), fb), 12);
	CU_ASSERT_EQUAL(lo_xfer(fb, rb, rtp, sizeof(rtp), fa), 12);
	CU_ASSERT_EQUAL(lo_xfer(fb, rb, rr, sizeof(rr), fa), 8);
	s = relay_sess_close(s);
	relay_ctx_sync(ctx);
	relay_ctx_stats(ctx, &cs);
	CU_ASSERT_EQUAL(cs.ports_used, 0);
	ctx = mem_deref(ctx);
	close(fa);
	close(fb);
	free(sdp);
}

void test_relay_sdp_register(void);
void
test_relay_sdp_register(void)
{
	CU_pSuite s = tu_suite("relay_sdp");

	TU_ADD(s, test_sdp_rewrite);
	TU_ADD(s, test_sdp_remote);
	TU_ADD(s, test_sdp_rewrite6);
	TU_ADD(s, test_offer_answer);
}
