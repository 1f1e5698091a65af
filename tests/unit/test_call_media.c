/* Unit tests: the media policy of a call as descriptions cross it
   (b2bua/call_relay.c call_sdp_cross with call_codec.c and call_srtp.c):
   codec allow lists of both trunks applied to offers, SRTP terminated or
   added per leg by trunk mode with answers mirroring offers (RFC 4568
   §7.1), pass-through when both legs are off. A real relay context on
   127.0.0.1 holds the streams; the relay's transforms are checked from
   its statistics. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "b2bua/b2b.h"
#include "b2bua/call_int.h"
#include "media/relay.h"
#include "stack/mem.h"
#include "stack/sdp.h"
#include "testutil.h"

static struct b2b_worker bw;
static struct relay_ctx *ctx;
static struct pol_trunk ta, tb;
static struct call c;
static const char *out;
static size_t outlen;
static char got[4096];

static void
setup(void)
{
	struct relay_conf conf = {
		.port_min = 43000, .port_max = 43099, .nworkers = 1};

	memset(&bw, 0, sizeof(bw));
	memset(&c, 0, sizeof(c));
	memset(&ta, 0, sizeof(ta));
	memset(&tb, 0, sizeof(tb));
	bw.sdp = malloc(sizeof(*bw.sdp));
	bw.body = malloc(B2B_BODY_MAX);
	CU_ASSERT_FATAL(bw.sdp && bw.body);
	CU_ASSERT_FATAL(relay_ctx_alloc(&ctx, &conf) == 0);
	c.bw = &bw;
	snprintf(c.id, sizeof(c.id), "c-test");
	CU_ASSERT_FATAL(relay_sess_alloc(&c.rs, ctx, "media-1@test") == 0);
	ta.name = "carrier";
	tb.name = "pbx";
	c.src = &ta;
	c.b_trunk = &tb;
	c.osess = 42;
}

static void
teardown(void)
{
	c.rs = relay_sess_close(c.rs);
	call_srtp_free(&c);
	free(c.last_sdp[LEG_A]);
	free(c.last_sdp[LEG_B]);
	relay_ctx_sync(ctx);
	ctx = mem_deref(ctx);
	free(bw.sdp);
	free(bw.body);
}

/* Cross sdp from leg `from`; the result NUL-terminated in got. */
static int
cross(int from, const char *sdp, bool answer)
{
	int err = call_sdp_cross(&c, from, sdp, strlen(sdp), answer, &out,
				 &outlen);

	got[0] = '\0';
	if (!err)
		snprintf(got, sizeof(got), "%.*s", (int)outlen, out);
	return err;
}

static const char offer_plain[] = "v=0\r\n"
				  "o=carrier 1 1 IN IP4 127.0.0.12\r\n"
				  "s=-\r\n"
				  "c=IN IP4 127.0.0.12\r\n"
				  "t=0 0\r\n"
				  "m=audio 40000 RTP/AVP 0 8 9 101\r\n"
				  "a=rtpmap:9 G722/8000\r\n"
				  "a=rtpmap:101 telephone-event/8000\r\n"
				  "a=fmtp:101 0-15\r\n";

static void
test_codecs(void)
{
	setup();
	/* the PBX trunk's order, only what the carrier trunk allows too */
	ta.codecs = "PCMA, G722";
	tb.codecs = "G722,PCMU,PCMA";
	CU_ASSERT_EQUAL(cross(LEG_A, offer_plain, false), 0);
	CU_ASSERT_PTR_NOT_NULL(strstr(got, "m=audio "));
	CU_ASSERT_PTR_NOT_NULL(strstr(got, " RTP/AVP 9 8 101\r\n"));
	CU_ASSERT_PTR_NOT_NULL(strstr(got, "a=rtpmap:9 G722/8000"));
	CU_ASSERT_PTR_NOT_NULL(strstr(got, "a=fmtp:101 0-15"));
	/* one list only: its order */
	ta.codecs = NULL;
	tb.codecs = "pcma";
	CU_ASSERT_EQUAL(cross(LEG_A, offer_plain, false), 0);
	CU_ASSERT_PTR_NOT_NULL(strstr(got, " RTP/AVP 8 101\r\n"));
	CU_ASSERT_PTR_NULL(strstr(got, "G722"));
	/* answers are not filtered; their codecs are noted for the CDR */
	CU_ASSERT_EQUAL(cross(LEG_B, offer_plain, true), 0);
	CU_ASSERT_PTR_NOT_NULL(strstr(got, " RTP/AVP 0 8 9 101\r\n"));
	CU_ASSERT_STRING_EQUAL(c.codecs, "PCMU,PCMA,G722,telephone-event");
	/* nothing allowed is left: refused (488 by the callers) */
	tb.codecs = "G729";
	CU_ASSERT_EQUAL(cross(LEG_A, offer_plain, false), ENOENT);
	teardown();
}

static const char offer_srtp[] =
	"v=0\r\n"
	"o=carrier 1 1 IN IP4 127.0.0.12\r\n"
	"s=-\r\n"
	"c=IN IP4 127.0.0.12\r\n"
	"t=0 0\r\n"
	"m=audio 40000 RTP/SAVP 0 101\r\n"
	"a=rtpmap:101 telephone-event/8000\r\n"
	"a=crypto:7 AES_CM_128_HMAC_SHA1_32 "
	"inline:WVNfX19zZW1jdGwgKCkgewkyMjA7fQp9CnVubGVz\r\n"
	"a=crypto:8 AES_CM_128_HMAC_SHA1_80 "
	"inline:d0RmdmcmVCspeEc3QGZiNWpVLFJhQX1cfHAwJSoj\r\n";

static const char answer_plain[] = "v=0\r\n"
				   "o=pbx 5 5 IN IP4 127.0.0.13\r\n"
				   "s=-\r\n"
				   "c=IN IP4 127.0.0.13\r\n"
				   "t=0 0\r\n"
				   "m=audio 50000 RTP/AVP 0 101\r\n"
				   "a=rtpmap:101 telephone-event/8000\r\n";

static void
stream_srtp(int leg, bool *in, bool *outp)
{
	struct relay_stats st;

	relay_ctx_sync(ctx);
	CU_ASSERT_FATAL(relay_stream_stats(c.rs, (enum relay_leg)leg, 0, &st) ==
			0);
	*in = st.srtp_in;
	*outp = st.srtp_out;
}

/* Carrier SRTP (mandatory), PBX plain: terminated in the relay. */
static void
test_srtp_carrier(void)
{
	char key[64];
	const char *p;
	bool in, o;

	setup();
	ta.srtp = POL_SRTP_MANDATORY;
	CU_ASSERT_EQUAL(cross(LEG_A, offer_srtp, false), 0);
	CU_ASSERT_PTR_NOT_NULL(strstr(got, "m=audio "));
	CU_ASSERT_PTR_NOT_NULL(strstr(got, " RTP/AVP 0 101\r\n"));
	CU_ASSERT_PTR_NULL(strstr(got, "crypto"));
	CU_ASSERT_PTR_NULL(strstr(got, "SAVP"));
	/* the answer toward the carrier: SAVP, its first usable line's tag
	   and suite (7, _32), our own key */
	CU_ASSERT_EQUAL(cross(LEG_B, answer_plain, true), 0);
	CU_ASSERT_PTR_NOT_NULL(strstr(got, " RTP/SAVP 0 101\r\n"));
	p = strstr(got, "a=crypto:7 AES_CM_128_HMAC_SHA1_32 inline:");
	CU_ASSERT_PTR_NOT_NULL_FATAL(p);
	CU_ASSERT_EQUAL(strstr(got, "a=crypto:") - got, p - got);
	CU_ASSERT_PTR_NULL(strstr(p + 1, "a=crypto:"));
	CU_ASSERT_PTR_NULL(strstr(got, "WVNfX19zZW1jdGwgKC"));
	snprintf(key, sizeof(key), "%.40s", p + 42);
	CU_ASSERT_EQUAL(strlen(key), 40);
	CU_ASSERT(call_srtp_used(&c, LEG_A) && !call_srtp_used(&c, LEG_B));
	stream_srtp(LEG_A, &in, &o);
	CU_ASSERT(in && !o); /* A's SRTP is unprotected, B gets plain */
	stream_srtp(LEG_B, &in, &o);
	CU_ASSERT(!in && o); /* B's plain RTP is protected toward A */
	/* a re-offer from A keeps our key toward it (same suite) */
	CU_ASSERT_EQUAL(cross(LEG_A, offer_srtp, false), 0);
	CU_ASSERT_EQUAL(cross(LEG_B, answer_plain, true), 0);
	CU_ASSERT_PTR_NOT_NULL(strstr(got, key));
	/* a plain offer from a trunk that requires SRTP is refused */
	CU_ASSERT_EQUAL(cross(LEG_A, offer_plain, false), EPROTO);
	teardown();
}

/* Carrier plain, PBX mandatory: SRTP added toward the PBX; its answer
   must carry a key for our tag. */
static void
test_srtp_pbx(void)
{
	static const char answer_srtp[] =
		"v=0\r\n"
		"o=pbx 5 5 IN IP4 127.0.0.13\r\n"
		"s=-\r\n"
		"c=IN IP4 127.0.0.13\r\n"
		"t=0 0\r\n"
		"m=audio 50000 RTP/SAVP 0 101\r\n"
		"a=rtpmap:101 telephone-event/8000\r\n"
		"a=crypto:1 AES_CM_128_HMAC_SHA1_80 "
		"inline:d0RmdmcmVCspeEc3QGZiNWpVLFJhQX1cfHAwJSoj\r\n";
	bool in, o;

	setup();
	tb.srtp = POL_SRTP_MANDATORY;
	CU_ASSERT_EQUAL(cross(LEG_A, offer_plain, false), 0);
	CU_ASSERT_PTR_NOT_NULL(strstr(got, " RTP/SAVP 0 8 9 101\r\n"));
	CU_ASSERT_PTR_NOT_NULL(
		strstr(got, "a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:"));
	CU_ASSERT_EQUAL(cross(LEG_B, answer_srtp, true), 0);
	CU_ASSERT_PTR_NOT_NULL(strstr(got, " RTP/AVP 0 101\r\n"));
	CU_ASSERT_PTR_NULL(strstr(got, "crypto"));
	CU_ASSERT(!call_srtp_used(&c, LEG_A) && call_srtp_used(&c, LEG_B));
	stream_srtp(LEG_B, &in, &o);
	CU_ASSERT(in && !o);
	stream_srtp(LEG_A, &in, &o);
	CU_ASSERT(!in && o);
	/* a plain answer from the PBX that must speak SRTP: refused */
	CU_ASSERT_EQUAL(cross(LEG_A, offer_plain, false), 0);
	CU_ASSERT_EQUAL(cross(LEG_B, answer_plain, true), EPROTO);
	teardown();
}

/* optional follows the other side; off/off passes crypto untouched. */
static void
test_srtp_optional_and_pass(void)
{
	bool in, o;

	setup();
	tb.srtp = POL_SRTP_OPTIONAL;
	CU_ASSERT_EQUAL(cross(LEG_A, offer_plain, false), 0);
	CU_ASSERT_PTR_NULL(strstr(got, "crypto"));
	CU_ASSERT_EQUAL(cross(LEG_A, offer_srtp, false), 0);
	/* the carrier (off) is still SRTP-terminated since one leg is not
	   off: the PBX gets SRTP with the carrier's suite, our key */
	CU_ASSERT_PTR_NOT_NULL(strstr(got, " RTP/SAVP 0 101\r\n"));
	CU_ASSERT_PTR_NOT_NULL(
		strstr(got, "a=crypto:7 AES_CM_128_HMAC_SHA1_32 inline:"));
	CU_ASSERT_PTR_NULL(strstr(got, "WVNfX19zZW1jdGwgKC"));
	teardown();

	setup();
	CU_ASSERT_EQUAL(cross(LEG_A, offer_srtp, false), 0);
	CU_ASSERT_PTR_NOT_NULL(strstr(got, " RTP/SAVP 0 101\r\n"));
	CU_ASSERT_PTR_NOT_NULL(strstr(
		got, "a=crypto:7 AES_CM_128_HMAC_SHA1_32 "
		     "inline:WVNfX19zZW1jdGwgKCkgewkyMjA7fQp9CnVubGVz\r\n"));
	CU_ASSERT_PTR_NOT_NULL(strstr(got, "a=crypto:8 "));
	CU_ASSERT_PTR_NULL(c.srtp);
	stream_srtp(LEG_A, &in, &o);
	CU_ASSERT(!in && !o);
	teardown();
}

static uint16_t
mport(const char *sdp)
{
	const char *p = strstr(sdp, "m=audio ");
	unsigned v = 0;

	return p && sscanf(p + 8, "%u", &v) == 1 ? (uint16_t)v : 0;
}

static void
desc(char *buf, size_t sz, uint16_t port, const char *fmts, unsigned te)
{
	snprintf(buf, sz,
		 "v=0\r\no=x 1 1 IN IP4 127.0.0.1\r\ns=-\r\n"
		 "c=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio %u RTP/AVP %s\r\n"
		 "a=rtpmap:%u telephone-event/8000\r\n",
		 port, fmts, te);
}

/* A transfer of the B-leg: the new peer answers telephone-event as 96
   where the old one (and so what A was told) said 101; A keeps sending
   101 and the new peer gets 96, PCMU (0) untouched. */
static void
test_xfer_ptmap(void)
{
	uint8_t pkt[172] = {0x80, 101, 0, 1}, rx[512];
	struct pollfd pfd;
	uint16_t pa, pb, pb2, ta_port;
	int fa = tu_udp_bind("127.0.0.1", &pa),
	    fb = tu_udp_bind("127.0.0.1", &pb),
	    fb2 = tu_udp_bind("127.0.0.1", &pb2);
	struct sockaddr_in to = {.sin_family = AF_INET};
	char d[512];
	ssize_t n;

	setup();
	desc(d, sizeof(d), pa, "0 101", 101);
	CU_ASSERT_EQUAL_FATAL(cross(LEG_A, d, false), 0);
	desc(d, sizeof(d), pb, "0 101", 101);
	CU_ASSERT_EQUAL_FATAL(cross(LEG_B, d, true), 0);
	ta_port = mport(got); /* Tandem's A-side port */
	CU_ASSERT_FATAL(ta_port != 0);
	/* the new B peer's answer, as call_xfer.c applies it */
	desc(d, sizeof(d), pb2, "0 96", 96);
	CU_ASSERT_FATAL(sdp_decode(bw.sdp, d, strlen(d), NULL) == 0);
	CU_ASSERT_FATAL(relay_sess_sdp_apply(c.rs, RELAY_LEG_B, bw.sdp, false,
					     true) == 0);
	call_ptmap_xfer(&c, LEG_B, bw.sdp);
	relay_ctx_sync(ctx);
	to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	to.sin_port = htons(ta_port);
	CU_ASSERT(sendto(fa, pkt, sizeof(pkt), 0, (struct sockaddr *)&to,
			 sizeof(to)) == (ssize_t)sizeof(pkt));
	pfd.fd = fb2;
	pfd.events = POLLIN;
	CU_ASSERT_FATAL(poll(&pfd, 1, 1000) == 1);
	n = recv(fb2, rx, sizeof(rx), 0);
	CU_ASSERT(n == 172 && rx[1] == 96);
	pkt[1] = 0;
	pkt[3] = 2;
	CU_ASSERT(sendto(fa, pkt, sizeof(pkt), 0, (struct sockaddr *)&to,
			 sizeof(to)) == (ssize_t)sizeof(pkt));
	CU_ASSERT_FATAL(poll(&pfd, 1, 1000) == 1);
	n = recv(fb2, rx, sizeof(rx), 0);
	CU_ASSERT(n == 172 && rx[1] == 0);
	teardown();
	close(fa);
	close(fb);
	close(fb2);
}

/* A caller's trunk behind NAT (trunks.behind_nat): its media is latched
   from an address other than the one its SDP names (RFC 7362); without
   the flag such packets are dropped as a hijack. */
static void
test_nat_latch(void)
{
	int pass;

	for (pass = 0; pass < 2; pass++) {
		uint8_t pkt[172] = {0x80, 0, 0, 1}, rx[512];
		uint16_t pa, pb, pn, ta_port;
		int fa = tu_udp_bind("127.0.0.1", &pa),
		    fb = tu_udp_bind("127.0.0.1", &pb);
		int fn = tu_udp_bind("127.0.0.5",
				     &pn); /* the NAT's public side */
		struct sockaddr_in to = {.sin_family = AF_INET};
		struct pollfd pfd = {.fd = fb, .events = POLLIN};
		struct relay_stats st;
		char d[512];

		setup();
		ta.nat = pass == 1;
		desc(d, sizeof(d), pa, "0 101", 101);
		CU_ASSERT_EQUAL_FATAL(cross(LEG_A, d, false), 0);
		desc(d, sizeof(d), pb, "0 101", 101);
		CU_ASSERT_EQUAL_FATAL(cross(LEG_B, d, true), 0);
		ta_port = mport(got);
		relay_ctx_sync(ctx);
		to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		to.sin_port = htons(ta_port);
		CU_ASSERT(sendto(fn, pkt, sizeof(pkt), 0,
				 (struct sockaddr *)&to,
				 sizeof(to)) == (ssize_t)sizeof(pkt));
		CU_ASSERT_EQUAL(poll(&pfd, 1, 300), pass == 1 ? 1 : 0);
		if (pass == 1)
			CU_ASSERT_EQUAL(recv(fb, rx, sizeof(rx), 0), 172);
		CU_ASSERT_FATAL(relay_stream_stats(c.rs, RELAY_LEG_A, 0, &st) ==
				0);
		CU_ASSERT_EQUAL(st.drop_source, pass == 1 ? 0 : 1);
		CU_ASSERT_EQUAL(st.latched, pass == 1);
		teardown();
		close(fa);
		close(fb);
		close(fn);
	}
}

void test_call_media_register(void);

void
test_call_media_register(void)
{
	CU_pSuite s = tu_suite("call_media");

	TU_ADD(s, test_codecs);
	TU_ADD(s, test_srtp_carrier);
	TU_ADD(s, test_srtp_pbx);
	TU_ADD(s, test_srtp_optional_and_pass);
	TU_ADD(s, test_xfer_ptmap);
	TU_ADD(s, test_nat_latch);
}
