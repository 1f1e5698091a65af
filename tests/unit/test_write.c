/* Unit tests: SIP message writer (stack/sip_write.c). Every built message
   is compared byte for byte with the expected text. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "stack/sip_msg.h"
#include "stack/sip_write.h"
#include "testutil.h"

/* ---- helpers ------------------------------------------------------ */

/* Exact bytes; on a mismatch print where it starts, to read the failure. */
static void
expect_bytes(const char *got, size_t glen, const char *exp, const char *what)
{
	size_t elen = strlen(exp), i;

	if (glen == elen && memcmp(got, exp, elen) == 0) {
		CU_PASS(what);
		return;
	}
	for (i = 0; i < glen && i < elen && got[i] == exp[i]; i++)
		;
	fprintf(stderr,
		"\n%s: differs at byte %zu (got %zu bytes, want %zu)\n"
		"  got:  \"%.*s\"\n  want: \"%.*s\"\n",
		what, i, glen, elen, (int)(glen - i < 60 ? glen - i : 60),
		got + i, (int)(elen - i < 60 ? elen - i : 60), exp + i);
	CU_FAIL(what);
}

#define EXPECT(wb, len, exp) expect_bytes((wb)->buf, (len), (exp), #exp)

/* The parsed messages are large; tests keep them on the heap. */
static struct sip_msg *
parse(const char *buf, size_t len)
{
	struct sip_msg *m = calloc(1, sizeof(*m));
	struct sip_limits lim;
	struct sip_perr err;
	int rc;

	CU_ASSERT_PTR_NOT_NULL_FATAL(m);
	sip_limits_default(&lim);
	rc = sip_msg_parse(m, buf, len, SIP_FRAMING_DGRAM, &lim, &err);
	if (rc != 0) {
		char phrase[256];

		fprintf(stderr, "\nparse failed: %s\n",
			sip_perr_phrase(&err, phrase, sizeof(phrase)));
		free(m);
		return NULL;
	}
	return m;
}

static struct sip_msg *
parse_str(const char *s)
{
	return parse(s, strlen(s));
}

/* Is s inside the first len bytes of buf (which is not NUL-terminated)? */
#define HAS(buf, len, s) (memmem((buf), (len), (s), strlen(s)) != NULL)

#define PLQ(a, b) CU_ASSERT(pl_eq(&(a), &(b)))

/* The field values a forwarded copy must keep. */
static void
same_fields(const struct sip_msg *a, const struct sip_msg *b)
{
	uint16_t i;

	CU_ASSERT_EQUAL(a->req, b->req);
	CU_ASSERT_EQUAL(a->status, b->status);
	PLQ(a->method, b->method);
	PLQ(a->ruri_raw, b->ruri_raw);
	PLQ(a->reason, b->reason);
	PLQ(a->via.branch, b->via.branch);
	PLQ(a->via.host, b->via.host);
	PLQ(a->from.tag, b->from.tag);
	CU_ASSERT_EQUAL(pl_isset(&a->to.tag), pl_isset(&b->to.tag));
	PLQ(a->to.tag, b->to.tag);
	PLQ(a->from.uri_raw, b->from.uri_raw);
	PLQ(a->to.uri_raw, b->to.uri_raw);
	PLQ(a->callid, b->callid);
	CU_ASSERT_EQUAL(a->cseq.num, b->cseq.num);
	PLQ(a->cseq.method, b->cseq.method);
	CU_ASSERT_EQUAL(a->max_forwards, b->max_forwards);
	CU_ASSERT_EQUAL(a->body.l, b->body.l);
	PLQ(a->body, b->body);
	for (i = 0; i < SIP_HDR_COUNT; i++)
		if (i != SIP_HDR_CONTENT_LENGTH)
			CU_ASSERT_EQUAL(a->count[i], b->count[i]);
}

/* ---- building from scratch --------------------------------------- */

static void
test_request(void)
{
	char buf[1024];
	struct sip_wbuf wb;
	struct pl m = PL("REGISTER"), ruri = PL("sip:registrar.example.com");
	struct pl via = PL("SIP/2.0/UDP 192.0.2.4:5060;branch=z9hG4bKnashds7");
	size_t len = 0;

	sip_wb_init(&wb, buf, sizeof(buf));
	CU_ASSERT_EQUAL(sip_wb_request(&wb, &m, &ruri), 0);
	CU_ASSERT_EQUAL(sip_wb_hdr(&wb, SIP_HDR_VIA, &via), 0);
	CU_ASSERT_EQUAL(sip_wb_hdrf(&wb, SIP_HDR_MAX_FORWARDS, "%d", 70), 0);
	CU_ASSERT_EQUAL(
		sip_wb_hdrf(&wb, SIP_HDR_TO, "Bob <%s>", "sip:bob@example.com"),
		0);
	CU_ASSERT_EQUAL(sip_wb_hdrf(&wb, SIP_HDR_FROM, "Bob <%s>;tag=%s",
				    "sip:bob@example.com", "456248"),
			0);
	CU_ASSERT_EQUAL(sip_wb_hdrf(&wb, SIP_HDR_CALL_ID,
				    "843817637684230"
				    "@998sdasdh09"),
			0);
	CU_ASSERT_EQUAL(sip_wb_hdrf(&wb, SIP_HDR_CSEQ, "%u REGISTER", 1826u),
			0);
	CU_ASSERT_EQUAL(sip_wb_hdrf_named(&wb, "X-Custom", "a=%s", "b"), 0);
	CU_ASSERT_EQUAL(sip_wb_end(&wb, NULL, &len), 0);
	EXPECT(&wb, len,
	       "REGISTER sip:registrar.example.com SIP/2.0\r\n"
	       "Via: SIP/2.0/UDP 192.0.2.4:5060;branch=z9hG4bKnashds7\r\n"
	       "Max-Forwards: 70\r\n"
	       "To: Bob <sip:bob@example.com>\r\n"
	       "From: Bob <sip:bob@example.com>;tag=456248\r\n"
	       "Call-ID: 843817637684230@998sdasdh09\r\n"
	       "CSeq: 1826 REGISTER\r\n"
	       "X-Custom: a=b\r\n"
	       "Content-Length: 0\r\n"
	       "\r\n");

	/* what we build, the parser reads back */
	struct sip_msg *m2 = parse(buf, len);

	CU_ASSERT_PTR_NOT_NULL_FATAL(m2);
	CU_ASSERT_EQUAL(m2->mid, SIP_M_REGISTER);
	CU_ASSERT(pl_eq_str(&m2->via.branch, "z9hG4bKnashds7"));
	CU_ASSERT(pl_eq_str(&m2->from.tag, "456248"));
	CU_ASSERT_EQUAL(m2->cseq.num, 1826);
	CU_ASSERT_EQUAL(m2->max_forwards, 70);
	CU_ASSERT(m2->clen_set);
	free(m2);
}

static void
test_response_body(void)
{
	char buf[512];
	struct sip_wbuf wb;
	struct pl ct = PL("application/sdp"), name = PL("X-Empty"), e = PL("");
	struct pl body = PL("v=0\r\no=- 1 1 IN IP4 192.0.2.1\r\n");
	size_t len = 0;

	sip_wb_init(&wb, buf, sizeof(buf));
	CU_ASSERT_EQUAL(sip_wb_response(&wb, 183, NULL), 0);
	CU_ASSERT_EQUAL(sip_wb_hdr(&wb, SIP_HDR_CONTENT_TYPE, &ct), 0);
	CU_ASSERT_EQUAL(sip_wb_hdr_named(&wb, &name, &e), 0);
	CU_ASSERT_EQUAL(sip_wb_end(&wb, &body, &len), 0);
	EXPECT(&wb, len,
	       "SIP/2.0 183 Session Progress\r\n"
	       "Content-Type: application/sdp\r\n"
	       "X-Empty: \r\n"
	       "Content-Length: 31\r\n"
	       "\r\n"
	       "v=0\r\no=- 1 1 IN IP4 192.0.2.1\r\n");

	/* A reason from the network cannot split the status line. */
	struct pl evil = PL("OK\r\nX-Injected: 1\n\x7f");

	sip_wb_init(&wb, buf, sizeof(buf));
	CU_ASSERT_EQUAL(sip_wb_response(&wb, 299, &evil), 0);
	CU_ASSERT_EQUAL(sip_wb_end(&wb, NULL, &len), 0);
	EXPECT(&wb, len,
	       "SIP/2.0 299 OK  X-Injected: 1  \r\n"
	       "Content-Length: 0\r\n\r\n");
}

static void
test_misuse(void)
{
	char buf[256];
	struct sip_wbuf wb;
	struct pl v = PL("x"), m = PL("INVITE"), u = PL("sip:a@b");
	struct pl bad_m = PL("INV ITE"), bad_u = PL("sip:a b");
	struct pl inj = PL("a\r\nVia: evil"), fold = PL("a,\r\n b");
	struct pl lf = PL("a\nb"), cl = PL("Content-Length"), l = PL("l");
	size_t len = 0;

	/* headers before the start line */
	sip_wb_init(&wb, buf, sizeof(buf));
	CU_ASSERT_EQUAL(sip_wb_hdr(&wb, SIP_HDR_VIA, &v), EINVAL);
	CU_ASSERT_EQUAL(sip_wb_end(&wb, NULL, &len), EINVAL); /* sticky */

	sip_wb_init(&wb, buf, sizeof(buf));
	CU_ASSERT_EQUAL(sip_wb_request(&wb, &bad_m, &u), EINVAL);
	sip_wb_init(&wb, buf, sizeof(buf));
	CU_ASSERT_EQUAL(sip_wb_request(&wb, &m, &bad_u), EINVAL);
	sip_wb_init(&wb, buf, sizeof(buf));
	CU_ASSERT_EQUAL(sip_wb_response(&wb, 99, NULL), EINVAL);
	sip_wb_init(&wb, buf, sizeof(buf));
	CU_ASSERT_EQUAL(sip_wb_response(&wb, 700, NULL), EINVAL);

	/* header injection and Content-Length by hand are refused */
	sip_wb_init(&wb, buf, sizeof(buf));
	CU_ASSERT_EQUAL(sip_wb_request(&wb, &m, &u), 0);
	CU_ASSERT_EQUAL(sip_wb_hdr(&wb, SIP_HDR_SUBJECT, &inj), EINVAL);
	sip_wb_init(&wb, buf, sizeof(buf));
	CU_ASSERT_EQUAL(sip_wb_request(&wb, &m, &u), 0);
	CU_ASSERT_EQUAL(sip_wb_hdr(&wb, SIP_HDR_SUBJECT, &lf), EINVAL);
	sip_wb_init(&wb, buf, sizeof(buf));
	CU_ASSERT_EQUAL(sip_wb_request(&wb, &m, &u), 0);
	CU_ASSERT_EQUAL(sip_wb_hdrf(&wb, SIP_HDR_SUBJECT, "%s", "x\r\n"),
			EINVAL);
	sip_wb_init(&wb, buf, sizeof(buf));
	CU_ASSERT_EQUAL(sip_wb_request(&wb, &m, &u), 0);
	CU_ASSERT_EQUAL(sip_wb_hdr(&wb, SIP_HDR_CONTENT_LENGTH, &v), EINVAL);
	sip_wb_init(&wb, buf, sizeof(buf));
	CU_ASSERT_EQUAL(sip_wb_request(&wb, &m, &u), 0);
	CU_ASSERT_EQUAL(sip_wb_hdr_named(&wb, &cl, &v), EINVAL);
	sip_wb_init(&wb, buf, sizeof(buf));
	CU_ASSERT_EQUAL(sip_wb_request(&wb, &m, &u), 0);
	CU_ASSERT_EQUAL(sip_wb_hdr_named(&wb, &l, &v), EINVAL);
	sip_wb_init(&wb, buf, sizeof(buf));
	CU_ASSERT_EQUAL(sip_wb_request(&wb, &m, &u), 0);
	CU_ASSERT_EQUAL(sip_wb_hdr(&wb, SIP_HDR_OTHER, &v), EINVAL);

	/* a folded value is fine */
	sip_wb_init(&wb, buf, sizeof(buf));
	CU_ASSERT_EQUAL(sip_wb_request(&wb, &m, &u), 0);
	CU_ASSERT_EQUAL(sip_wb_hdr(&wb, SIP_HDR_SUPPORTED, &fold), 0);
	CU_ASSERT_EQUAL(sip_wb_end(&wb, NULL, &len), 0);
	EXPECT(&wb, len,
	       "INVITE sip:a@b SIP/2.0\r\nSupported: a,\r\n b\r\n"
	       "Content-Length: 0\r\n\r\n");
	/* nothing after the end */
	CU_ASSERT_EQUAL(sip_wb_hdr(&wb, SIP_HDR_SUBJECT, &v), EINVAL);
}

/* Every size from 0 up fails with ENOSPC until the message fits, and
   never writes past the size it was given. */
static void
test_enospc(void)
{
	const char *exp = "OPTIONS sip:a@b SIP/2.0\r\n"
			  "Subject: hello\r\n"
			  "Content-Length: 4\r\n\r\nbody";
	size_t full = strlen(exp), sz, len;
	char buf[128];
	struct sip_wbuf wb;
	struct pl m = PL("OPTIONS"), u = PL("sip:a@b"), b = PL("body");
	int rc;

	for (sz = 0; sz <= full; sz++) {
		memset(buf, '#', sizeof(buf));
		sip_wb_init(&wb, buf, sz);
		sip_wb_request(&wb, &m, &u);
		sip_wb_hdrf(&wb, SIP_HDR_SUBJECT, "%s", "hello");
		rc = sip_wb_end(&wb, &b, &len);
		CU_ASSERT_EQUAL(rc, sz < full ? ENOSPC : 0);
		CU_ASSERT_EQUAL(buf[sz], '#');
		if (rc == 0)
			EXPECT(&wb, len, exp);
	}
}

static void
test_phrases(void)
{
	CU_ASSERT_STRING_EQUAL(sip_status_phrase(100), "Trying");
	CU_ASSERT_STRING_EQUAL(sip_status_phrase(200), "OK");
	CU_ASSERT_STRING_EQUAL(sip_status_phrase(302), "Moved Temporarily");
	CU_ASSERT_STRING_EQUAL(sip_status_phrase(407),
			       "Proxy Authentication Required");
	CU_ASSERT_STRING_EQUAL(sip_status_phrase(422),
			       "Session Interval Too Small");
	CU_ASSERT_STRING_EQUAL(sip_status_phrase(481),
			       "Call/Transaction Does Not Exist");
	CU_ASSERT_STRING_EQUAL(sip_status_phrase(489), "Bad Event");
	CU_ASSERT_STRING_EQUAL(sip_status_phrase(491), "Request Pending");
	CU_ASSERT_STRING_EQUAL(sip_status_phrase(494),
			       "Security Agreement Required");
	CU_ASSERT_STRING_EQUAL(sip_status_phrase(504), "Server Time-out");
	CU_ASSERT_STRING_EQUAL(sip_status_phrase(580), "Precondition Failure");
	CU_ASSERT_STRING_EQUAL(sip_status_phrase(604),
			       "Does Not Exist Anywhere");
	CU_ASSERT_STRING_EQUAL(sip_status_phrase(499), "Client Error");
	CU_ASSERT_STRING_EQUAL(sip_status_phrase(199), "Session Progress");
}

static void
test_values(void)
{
	char b[128];
	size_t n = 0;
	struct pl udp = PL("UDP"), tls = PL("TLS"), v4 = PL("192.0.2.1");
	struct pl v6 = PL("2001:db8::9:1"), v6b = PL("[2001:db8::9:1]");
	struct pl br = PL("z9hG4bK74bf9"), nobr = PL("74bf9");
	struct pl dn = PL("Alice \"A\\B\""), uri = PL("sip:alice@atlanta.com");
	struct pl tag = PL("1928301774"), inv = PL("INVITE"), bad = PL("a b");

	CU_ASSERT_EQUAL(
		sip_via_print(b, sizeof(b), &n, &udp, &v4, 5060, &br, false),
		0);
	expect_bytes(b, n, "SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bK74bf9",
		     "via v4");
	CU_ASSERT_EQUAL(
		sip_via_print(b, sizeof(b), &n, &tls, &v6, 5061, &br, true), 0);
	expect_bytes(b, n,
		     "SIP/2.0/TLS [2001:db8::9:1]:5061;branch=z9hG4bK74bf9"
		     ";rport",
		     "via v6");
	CU_ASSERT_EQUAL(
		sip_via_print(b, sizeof(b), &n, &udp, &v6b, 0, &br, false), 0);
	expect_bytes(b, n, "SIP/2.0/UDP [2001:db8::9:1];branch=z9hG4bK74bf9",
		     "via v6 bracketed, no port");
	CU_ASSERT_EQUAL(
		sip_via_print(b, sizeof(b), &n, &udp, &v4, 0, &nobr, false),
		EINVAL);
	CU_ASSERT_EQUAL(sip_via_print(b, 20, &n, &udp, &v4, 0, &br, false),
			ENOSPC);

	CU_ASSERT_EQUAL(sip_naddr_print(b, sizeof(b), &n, &dn, &uri, &tag), 0);
	expect_bytes(b, n,
		     "\"Alice \\\"A\\\\B\\\"\" <sip:alice@atlanta.com>"
		     ";tag=1928301774",
		     "name-addr");
	CU_ASSERT_EQUAL(sip_naddr_print(b, sizeof(b), &n, NULL, &uri, NULL), 0);
	expect_bytes(b, n, "<sip:alice@atlanta.com>", "bare name-addr");
	CU_ASSERT_EQUAL(sip_naddr_print(b, sizeof(b), &n, NULL, &uri, &bad),
			EINVAL);

	CU_ASSERT_EQUAL(sip_cseq_print(b, sizeof(b), &n, 314159, &inv), 0);
	expect_bytes(b, n, "314159 INVITE", "cseq");
	CU_ASSERT_EQUAL(sip_cseq_print(b, sizeof(b), &n, 0x80000000u, &inv),
			EINVAL);
}

/* ---- realistic messages ----------------------------------------- */

#define SDP_OFFER                                                              \
	"v=0\r\n"                                                              \
	"o=- 3856720188 3856720188 IN IP4 198.51.100.10\r\n"                   \
	"s=Tandem test session with a reasonably long name for size\r\n"       \
	"c=IN IP4 198.51.100.10\r\n"                                           \
	"t=0 0\r\n"                                                            \
	"a=group:BUNDLE 0\r\n"                                                 \
	"m=audio 49170 RTP/AVP 0 8 9 18 101 96 97\r\n"                         \
	"a=rtpmap:0 PCMU/8000\r\n"                                             \
	"a=rtpmap:8 PCMA/8000\r\n"                                             \
	"a=rtpmap:9 G722/8000\r\n"                                             \
	"a=rtpmap:18 G729/8000\r\n"                                            \
	"a=fmtp:18 annexb=no\r\n"                                              \
	"a=rtpmap:101 telephone-event/8000\r\n"                                \
	"a=fmtp:101 0-16\r\n"                                                  \
	"a=rtpmap:96 opus/48000/2\r\n"                                         \
	"a=fmtp:96 maxplaybackrate=16000;sprop-maxcapturerate=16000;"          \
	"maxaveragebitrate=20000;stereo=0;useinbandfec=1;usedtx=0\r\n"         \
	"a=rtpmap:97 AMR-WB/16000\r\n"                                         \
	"a=fmtp:97 mode-set=0,1,2;mode-change-capability=2;octet-align=1\r\n"  \
	"a=ptime:20\r\n"                                                       \
	"a=maxptime:150\r\n"                                                   \
	"a=sendrecv\r\n"                                                       \
	"a=rtcp:49171\r\n"                                                     \
	"a=ssrc:2866406371 cname:fde2c3b09a8e4f1a\r\n"                         \
	"a=ssrc:2866406371 msid:stream0 track0\r\n"                            \
	"a=mid:0\r\n"                                                          \
	"a=crypto:1 AES_CM_128_HMAC_SHA1_80 "                                  \
	"inline:WVNfX19zZW1jdGwgKCkgewkyMjA7fQp9CnVubGVzcyAoc2VxKQ==|2^20|1:"  \
	"4\r\n"                                                                \
	"a=crypto:2 AES_CM_128_HMAC_SHA1_32 "                                  \
	"inline:NzB4d1BINUAvLEw6UzF3WSJ+PSdFcGdUJShpX1Zj|2^20|1:4\r\n"         \
	"a=candidate:1 1 UDP 2130706431 198.51.100.10 49170 typ host\r\n"      \
	"a=candidate:1 2 UDP 2130706430 198.51.100.10 49171 typ host\r\n"      \
	"a=candidate:2 1 UDP 1694498815 203.0.113.77 49170 typ srflx "         \
	"raddr 198.51.100.10 rport 49170\r\n"                                  \
	"a=candidate:2 2 UDP 1694498814 203.0.113.77 49171 typ srflx "         \
	"raddr 198.51.100.10 rport 49171\r\n"                                  \
	"a=ice-ufrag:F7gI\r\n"                                                 \
	"a=ice-pwd:x9cml/YzichV2+XlhiMu8g\r\n"                                 \
	"a=rtcp-mux\r\n"                                                       \
	"a=label:main-audio-stream-of-this-call\r\n"                           \
	"a=extmap:1 urn:ietf:params:rtp-hdrext:ssrc-audio-level\r\n"           \
	"a=x-tandem-padding:0123456789abcdef0123456789abcdef\r\n"

#define SDP_ANSWER                                                             \
	"v=0\r\n"                                                              \
	"o=- 1 2 IN IP4 203.0.113.5\r\n"                                       \
	"s=-\r\n"                                                              \
	"c=IN IP4 203.0.113.5\r\n"                                             \
	"t=0 0\r\n"                                                            \
	"m=audio 30000 RTP/AVP 0 101\r\n"                                      \
	"a=rtpmap:0 PCMU/8000\r\n"                                             \
	"a=rtpmap:101 telephone-event/8000\r\n"                                \
	"a=fmtp:101 0-16\r\n"                                                  \
	"a=sendrecv\r\n"

/* len(SDP_OFFER) and len(SDP_ANSWER) are asserted in test_roundtrip. */
#define INVITE_HEAD                                                            \
	"INVITE sip:+15551234567@trunk.example.net;user=phone SIP/2.0\r\n"     \
	"Via: SIP/2.0/UDP proxy.example.com:5060;branch=z9hG4bK2d4790.1\r\n"   \
	"Via: SIP/2.0/UDP 198.51.100.10:5060;received=198.51.100.10"           \
	";branch=z9hG4bK776asdhds;rport=5060\r\n"                              \
	"Max-Forwards: 69\r\n"                                                 \
	"Record-Route: <sip:proxy.example.com;lr>\r\n"                         \
	"To: <sip:+15551234567@example.net;user=phone>\r\n"                    \
	"From: \"Alice A.\" <sip:alice@example.com>;tag=1928301774\r\n"        \
	"Call-ID: a84b4c76e66710@pc33.example.com\r\n"                         \
	"CSeq: 314159 INVITE\r\n"                                              \
	"Contact: <sip:alice@198.51.100.10:5060;transport=udp>\r\n"            \
	"Allow: INVITE, ACK, CANCEL, OPTIONS, BYE, REFER, NOTIFY, UPDATE, "    \
	"PRACK\r\n"                                                            \
	"Supported: replaces, timer, 100rel\r\n"                               \
	"Session-Expires: 1800;refresher=uac\r\n"                              \
	"P-Asserted-Identity: <sip:alice@example.com>\r\n"                     \
	"X-Account-Code: 7781\r\n"                                             \
	"User-Agent: Example UA 1.0\r\n"                                       \
	"Content-Type: application/sdp\r\n"

static const char invite_msg[] = INVITE_HEAD "Content-Length: 1463\r\n"
					     "\r\n" SDP_OFFER;

static const char ringing_msg[] =
	"SIP/2.0 180 Ringing\r\n"
	"Via: SIP/2.0/UDP proxy.example.com:5060;branch=z9hG4bK2d4790.1\r\n"
	"Via: SIP/2.0/UDP 198.51.100.10:5060;received=198.51.100.10"
	";branch=z9hG4bK776asdhds;rport=5060\r\n"
	"Record-Route: <sip:proxy.example.com;lr>\r\n"
	"To: <sip:+15551234567@example.net;user=phone>;tag=a6c85cf\r\n"
	"From: \"Alice A.\" <sip:alice@example.com>;tag=1928301774\r\n"
	"Call-ID: a84b4c76e66710@pc33.example.com\r\n"
	"CSeq: 314159 INVITE\r\n"
	"Contact: <sip:gw@203.0.113.5>\r\n"
	"Content-Length: 0\r\n"
	"\r\n";

static const char ok_msg[] =
	"SIP/2.0 200 OK\r\n"
	"Via: SIP/2.0/UDP proxy.example.com:5060;branch=z9hG4bK2d4790.1\r\n"
	"Via: SIP/2.0/UDP 198.51.100.10:5060;received=198.51.100.10"
	";branch=z9hG4bK776asdhds;rport=5060\r\n"
	"Record-Route: <sip:proxy.example.com;lr>\r\n"
	"To: <sip:+15551234567@example.net;user=phone>;tag=a6c85cf\r\n"
	"From: \"Alice A.\" <sip:alice@example.com>;tag=1928301774\r\n"
	"Call-ID: a84b4c76e66710@pc33.example.com\r\n"
	"CSeq: 314159 INVITE\r\n"
	"Contact: <sip:gw@203.0.113.5>\r\n"
	"Content-Type: application/sdp\r\n"
	"Content-Length: 182\r\n"
	"\r\n" SDP_ANSWER;

static const char ack_msg[] =
	"ACK sip:gw@203.0.113.5 SIP/2.0\r\n"
	"Via: SIP/2.0/UDP 198.51.100.10:5060;branch=z9hG4bK776asdhdt\r\n"
	"Route: <sip:proxy.example.com;lr>\r\n"
	"Max-Forwards: 70\r\n"
	"To: <sip:+15551234567@example.net;user=phone>;tag=a6c85cf\r\n"
	"From: \"Alice A.\" <sip:alice@example.com>;tag=1928301774\r\n"
	"Call-ID: a84b4c76e66710@pc33.example.com\r\n"
	"CSeq: 314159 ACK\r\n"
	"Content-Length: 0\r\n"
	"\r\n";

static const char bye_msg[] =
	"BYE sip:alice@198.51.100.10:5060;transport=udp SIP/2.0\r\n"
	"Via: SIP/2.0/UDP 203.0.113.5:5060;branch=z9hG4bKnashds10\r\n"
	"Max-Forwards: 70\r\n"
	"From: <sip:+15551234567@example.net;user=phone>;tag=a6c85cf\r\n"
	"To: \"Alice A.\" <sip:alice@example.com>;tag=1928301774\r\n"
	"Call-ID: a84b4c76e66710@pc33.example.com\r\n"
	"CSeq: 231 BYE\r\n"
	"Reason: Q.850;cause=16;text=\"Normal call clearing\"\r\n"
	"Content-Length: 0\r\n"
	"\r\n";

static const char register_msg[] =
	"REGISTER sip:registrar.example.com SIP/2.0\r\n"
	"Via: SIP/2.0/TCP 192.0.2.4:5060;branch=z9hG4bKnashds8;rport\r\n"
	"Max-Forwards: 70\r\n"
	"To: Bob <sip:bob@example.com>\r\n"
	"From: Bob <sip:bob@example.com>;tag=456248\r\n"
	"Call-ID: 843817637684230@998sdasdh09\r\n"
	"CSeq: 1827 REGISTER\r\n"
	"Contact: <sip:bob@192.0.2.4;transport=tcp>;expires=7200\r\n"
	"Contact: <sip:bob@[2001:db8::4]>;q=0.5\r\n"
	"Authorization: Digest username=\"bob\", realm=\"example.com\", "
	"nonce=\"dcd98b7102dd2f0e8b11d0f600bfb0c093\", "
	"uri=\"sip:registrar.example.com\", qop=auth, nc=00000001, "
	"cnonce=\"0a4f113b\", response=\"6629fae49393a05397450978507c4ef1\", "
	"opaque=\"5ccc069c403ebaf9f0171e9517f40e41\"\r\n"
	"Expires: 7200\r\n"
	"Content-Length: 0\r\n"
	"\r\n";

static const char options_msg[] =
	"OPTIONS sip:carol@chicago.example.com SIP/2.0\r\n"
	"Via: SIP/2.0/UDP pc33.example.com;branch=z9hG4bKhjhs8ass877\r\n"
	"Max-Forwards: 70\r\n"
	"To: <sip:carol@chicago.example.com>\r\n"
	"From: Alice <sip:alice@example.com>;tag=1928301774\r\n"
	"Call-ID: a84b4c76e66710\r\n"
	"CSeq: 63104 OPTIONS\r\n"
	"Contact: <sip:alice@pc33.example.com>\r\n"
	"Accept: application/sdp\r\n"
	"Timestamp: 54.12 0.5\r\n"
	"Content-Length: 0\r\n"
	"\r\n";

/* Compact forms, folding, odd spacing, Content-Length not last. */
static const char compact_msg[] =
	"MESSAGE sip:user2@example.com SIP/2.0\r\n"
	"v: SIP/2.0/TCP user1pc.example.com;branch=z9hG4bK776sgdkse\r\n"
	"Max-Forwards: 70\r\n"
	"f: sip:user1@example.com;tag=49583\r\n"
	"t: sip:user2@example.com\r\n"
	"i: asd88asd77a@1.2.3.4\r\n"
	"CSeq: 1 MESSAGE\r\n"
	"l: 12\r\n"
	"Subject: a very\r\n"
	"  long subject, folded\r\n"
	"X-Unknown-Thing:   spaced   \r\n"
	"c: text/plain\r\n"
	"k: path,\r\n\tgruu\r\n"
	"\r\n"
	"Hello world!";

struct sample {
	const char *name;
	const char *text;
};

static const struct sample samples[] = {
	{"INVITE", invite_msg},	  {"180", ringing_msg},
	{"200", ok_msg},	  {"ACK", ack_msg},
	{"BYE", bye_msg},	  {"REGISTER", register_msg},
	{"OPTIONS", options_msg}, {"compact", compact_msg},
};

/* parse -> copy unedited -> byte-identical -> parse -> same fields */
static void
roundtrip_one(const struct sample *s)
{
	size_t in = strlen(s->text), len = 0;
	struct sip_msg *a = parse(s->text, in), *b;
	struct sip_wbuf wb;
	char *buf = malloc(in + 64);

	CU_ASSERT_PTR_NOT_NULL_FATAL(buf);
	CU_ASSERT_PTR_NOT_NULL(a);
	if (!a) {
		fprintf(stderr, "sample %s does not parse\n", s->name);
		free(buf);
		return;
	}
	sip_wb_init(&wb, buf, in + 64);
	CU_ASSERT_EQUAL(sip_wb_copy(&wb, a, NULL, NULL, 0, NULL, &len), 0);
	expect_bytes(buf, len, s->text, s->name);
	b = parse(buf, len);
	CU_ASSERT_PTR_NOT_NULL(b);
	if (b)
		same_fields(a, b);
	/* a buffer one byte short is ENOSPC, not a truncated message */
	sip_wb_init(&wb, buf, in - 1);
	CU_ASSERT_EQUAL(sip_wb_copy(&wb, a, NULL, NULL, 0, NULL, &len), ENOSPC);
	free(b);
	free(a);
	free(buf);
}

static void
test_roundtrip(void)
{
	size_t i;

	CU_ASSERT_EQUAL(strlen(SDP_OFFER), 1463);
	CU_ASSERT_EQUAL(strlen(SDP_ANSWER), 182);
	for (i = 0; i < sizeof(samples) / sizeof(samples[0]); i++)
		roundtrip_one(&samples[i]);
}

/* Every line end of the header section is CRLF (the writer writes CRLF,
   so a bare-LF input is normalised, not copied byte-exact). */
static bool
crlf_only(const struct sip_msg *m)
{
	size_t n = m->body.p ? (size_t)(m->body.p - m->buf) : m->len, i;

	for (i = 0; i < n; i++)
		if (m->buf[i] == '\n' && (i == 0 || m->buf[i - 1] != '\r'))
			return false;
	return true;
}

/* The RFC 4475 / 5118 valid messages: parse -> copy -> parse, same
   fields; byte-identical when the input states its body length and uses
   CRLF. */
static void
roundtrip_file(const char *sub, const char *file)
{
	char path[4096], *in = NULL, *out;
	size_t inlen = 0, len = 0;
	struct sip_msg *a, *b;
	struct sip_wbuf wb;

	snprintf(path, sizeof(path), "%s/%s/%s", tu_corpora(), sub, file);
	if (tu_read_file(path, &in, &inlen) != 0) {
		CU_FAIL("cannot read corpus file");
		return;
	}
	a = parse(in, inlen);
	if (!a) { /* the parser suite reports refusals */
		fprintf(stderr, "  (%s not parsed, skipped)\n", file);
		free(in);
		return;
	}
	out = malloc(inlen + 64);
	CU_ASSERT_PTR_NOT_NULL_FATAL(out);
	sip_wb_init(&wb, out, inlen + 64);
	CU_ASSERT_EQUAL(sip_wb_copy(&wb, a, NULL, NULL, 0, NULL, &len), 0);
	if (a->clen_set && a->clen == a->body.l && crlf_only(a)) {
		if (len != a->len || memcmp(out, a->buf, len) != 0) {
			fprintf(stderr, "  %s: copy not byte-identical\n",
				file);
			CU_FAIL("corpus copy byte-identical");
		}
	}
	b = parse(out, len);
	CU_ASSERT_PTR_NOT_NULL(b);
	if (b)
		same_fields(a, b);
	free(b);
	free(a);
	free(out);
	free(in);
}

static void
test_corpus(void)
{
	static const char *const rfc4475[] = {
		"wsinv.dat",	"intmeth.dat",	  "esc01.dat",	 "escnull.dat",
		"esc02.dat",	"lwsdisp.dat",	  "longreq.dat", "dblreq.dat",
		"semiuri.dat",	"transports.dat", "mpart01.dat", "unreason.dat",
		"noreason.dat",
	};
	static const char *const rfc5118[] = {
		"ipv6-good",	     "port-ambiguous",
		"port-unambiguous",  "via-received-param-no-delim",
		"mult-ip-in-header", "ipv4-mapped-ipv6",
	};
	size_t i;

	if (!tu_corpus_missing("rfc4475"))
		for (i = 0; i < sizeof(rfc4475) / sizeof(rfc4475[0]); i++)
			roundtrip_file("rfc4475", rfc4475[i]);
	if (!tu_corpus_missing("rfc5118"))
		for (i = 0; i < sizeof(rfc5118) / sizeof(rfc5118[0]); i++)
			roundtrip_file("rfc5118", rfc5118[i]);
}

/* ---- edits (B2BUA forwarding) ------------------------------------ */

static void
test_edits(void)
{
	static const char exp_head[] =
		"INVITE sip:+15551234567@10.0.0.7:5080 SIP/2.0\r\n"
		"Via: SIP/2.0/UDP 10.0.0.1:5060;branch=z9hG4bKb2b.1\r\n"
		"Via: SIP/2.0/UDP proxy.example.com:5060;branch=z9hG4bK2d4790.1"
		"\r\n"
		"Via: SIP/2.0/UDP 198.51.100.10:5060;received=198.51.100.10"
		";branch=z9hG4bK776asdhds;rport=5060\r\n"
		"Max-Forwards: 69\r\n"
		"To: <sip:+15551234567@example.net;user=phone>\r\n"
		"From: \"Alice A.\" <sip:alice@example.com>;tag=1928301774\r\n"
		"Call-ID: a84b4c76e66710@pc33.example.com\r\n"
		"CSeq: 314159 INVITE\r\n"
		"Contact: <sip:b2bua@10.0.0.1:5060>\r\n"
		"Allow: INVITE, ACK, CANCEL, OPTIONS, BYE, REFER, NOTIFY, "
		"UPDATE, PRACK\r\n"
		"Supported: replaces, timer, 100rel\r\n"
		"Session-Expires: 1800;refresher=uac\r\n"
		"P-Asserted-Identity: <sip:alice@example.com>\r\n"
		"User-Agent: Example UA 1.0\r\n"
		"Content-Type: application/sdp\r\n";
	struct sip_wop ops[] = {
		{SIP_WOP_REMOVE, SIP_HDR_RECORD_ROUTE, NULL, PL_INIT},
		{SIP_WOP_REPLACE, SIP_HDR_CONTACT, NULL,
		 PL("<sip:b2bua@10.0.0.1:5060>")},
		{SIP_WOP_REMOVE, SIP_HDR_OTHER, "x-account-code", PL_INIT},
	};
	struct pl via = PL("SIP/2.0/UDP 10.0.0.1:5060;branch=z9hG4bKb2b.1");
	struct pl ruri = PL("sip:+15551234567@10.0.0.7:5080");
	struct pl body = PL(SDP_ANSWER);
	struct sip_msg *a = parse_str(invite_msg), *b;
	char buf[4096], exp[2048];
	struct sip_wbuf wb;
	size_t len = 0;

	CU_ASSERT_PTR_NOT_NULL_FATAL(a);
	sip_wb_init(&wb, buf, sizeof(buf));
	CU_ASSERT_EQUAL(sip_wb_copy_start(&wb, a, &ruri), 0);
	CU_ASSERT_EQUAL(sip_wb_hdr(&wb, SIP_HDR_VIA, &via), 0);
	CU_ASSERT_EQUAL(sip_wb_copy_hdrs(&wb, a, ops, 3), 0);
	CU_ASSERT_EQUAL(sip_wb_end(&wb, &body, &len), 0);
	snprintf(exp, sizeof(exp), "%sContent-Length: 182\r\n\r\n%s", exp_head,
		 SDP_ANSWER);
	EXPECT(&wb, len, exp);

	b = parse(buf, len);
	CU_ASSERT_PTR_NOT_NULL_FATAL(b);
	CU_ASSERT(pl_eq_str(&b->ruri_raw, "sip:+15551234567@10.0.0.7:5080"));
	CU_ASSERT(pl_eq_str(&b->via.branch, "z9hG4bKb2b.1"));
	CU_ASSERT_EQUAL(b->count[SIP_HDR_VIA], 3);
	CU_ASSERT_EQUAL(b->count[SIP_HDR_RECORD_ROUTE], 0);
	CU_ASSERT_EQUAL(b->clen, 182);
	CU_ASSERT(pl_eq_str(&b->body, SDP_ANSWER));
	CU_ASSERT_PTR_NULL(sip_msg_hdr_name(b, "X-Account-Code"));
	free(b);

	/* a status line has no Request-URI to replace */
	struct sip_msg *r = parse_str(ringing_msg);

	CU_ASSERT_PTR_NOT_NULL_FATAL(r);
	sip_wb_init(&wb, buf, sizeof(buf));
	CU_ASSERT_EQUAL(sip_wb_copy_start(&wb, r, &ruri), EINVAL);
	free(r);
	free(a);
}

/* Content-Length kept in place (not last) is fixed when the body
   changes, also when its number of digits changes; compact name kept. */
static void
test_edit_clen_inplace(void)
{
	struct sip_msg *a = parse_str(compact_msg), *b;
	char big[120], buf[1024];
	struct pl body = {big, sizeof(big)}, none = PL("");
	struct sip_wop rm_ct = {SIP_WOP_REMOVE, SIP_HDR_CONTENT_TYPE, NULL,
				PL_INIT};
	struct sip_wbuf wb;
	size_t len = 0, in = strlen(compact_msg);

	CU_ASSERT_PTR_NOT_NULL_FATAL(a);
	memset(big, 'x', sizeof(big));
	sip_wb_init(&wb, buf, sizeof(buf));
	CU_ASSERT_EQUAL(sip_wb_copy(&wb, a, NULL, NULL, 0, &body, &len), 0);
	b = parse(buf, len);
	CU_ASSERT_PTR_NOT_NULL_FATAL(b);
	CU_ASSERT_EQUAL(b->clen, 120);
	CU_ASSERT(pl_eq(&b->body, &body));
	CU_ASSERT(HAS(buf, len, "\r\nl: 120\r\nSubject: a very\r\n"));
	CU_ASSERT_EQUAL(len, in - 12 + 120 + 1);
	free(b);

	/* body removed: Content-Length 0, Content-Type dropped by an op */
	sip_wb_init(&wb, buf, sizeof(buf));
	CU_ASSERT_EQUAL(sip_wb_copy(&wb, a, NULL, &rm_ct, 1, &none, &len), 0);
	b = parse(buf, len);
	CU_ASSERT_PTR_NOT_NULL_FATAL(b);
	CU_ASSERT_EQUAL(b->clen, 0);
	CU_ASSERT_EQUAL(b->body.l, 0);
	CU_ASSERT_EQUAL(b->count[SIP_HDR_CONTENT_TYPE], 0);
	CU_ASSERT(HAS(buf, len, "\r\nl: 0\r\nSubject:"));
	CU_ASSERT_EQUAL(len, in - 12 - 1 - strlen("c: text/plain\r\n"));
	free(b);

	/* growing the digits needs room: ENOSPC one byte short, never a cut
	   message; exactly enough is fine */
	sip_wb_init(&wb, buf, in - 12 + 120);
	CU_ASSERT_EQUAL(sip_wb_copy(&wb, a, NULL, NULL, 0, &body, &len),
			ENOSPC);
	sip_wb_init(&wb, buf, in - 12 + 120 + 1);
	CU_ASSERT_EQUAL(sip_wb_copy(&wb, a, NULL, NULL, 0, &body, &len), 0);
	free(a);
}

/* Replacing a header that has several lines leaves one line, where the
   first was; an edit on Content-Length is refused. */
static void
test_edit_replace_multi(void)
{
	struct sip_msg *a = parse_str(register_msg);
	struct sip_wop rep = {SIP_WOP_REPLACE, SIP_HDR_CONTACT, NULL,
			      PL("<sip:bob@10.0.0.1>;expires=60")};
	struct sip_wop bad = {SIP_WOP_REMOVE, SIP_HDR_CONTENT_LENGTH, NULL,
			      PL_INIT};
	char buf[2048];
	struct sip_wbuf wb;
	size_t len = 0;

	CU_ASSERT_PTR_NOT_NULL_FATAL(a);
	sip_wb_init(&wb, buf, sizeof(buf));
	CU_ASSERT_EQUAL(sip_wb_copy(&wb, a, NULL, &rep, 1, NULL, &len), 0);
	CU_ASSERT(HAS(buf, len,
		      "CSeq: 1827 REGISTER\r\n"
		      "Contact: <sip:bob@10.0.0.1>;expires=60\r\n"
		      "Authorization: "));
	CU_ASSERT_EQUAL(len, strlen(register_msg) -
				     strlen("Contact: <sip:bob@192.0.2.4;"
					    "transport=tcp>;expires=7200\r\n"
					    "Contact: <sip:bob@[2001:db8::4]>"
					    ";q=0.5\r\n") +
				     strlen("Contact: <sip:bob@10.0.0.1>"
					    ";expires=60\r\n"));
	sip_wb_init(&wb, buf, sizeof(buf));
	CU_ASSERT_EQUAL(sip_wb_copy(&wb, a, NULL, &bad, 1, NULL, &len), EINVAL);
	free(a);
}

/* ---- responses from requests (§8.2.6) ---------------------------- */

#define RESP_VIAS                                                              \
	"Via: SIP/2.0/UDP proxy.example.com:5060;branch=z9hG4bK2d4790.1\r\n"   \
	"Via: SIP/2.0/UDP 198.51.100.10:5060;received=198.51.100.10"           \
	";branch=z9hG4bK776asdhds;rport=5060\r\n"

static void
test_reply(void)
{
	struct sip_msg *inv = parse_str(invite_msg);
	struct pl tag = PL("b2b-7f3a"), allow = PL("INVITE, ACK, BYE");
	struct pl contact = PL("<sip:b2bua@10.0.0.1>");
	char buf[2048];
	struct sip_wbuf wb;
	size_t len = 0;

	CU_ASSERT_PTR_NOT_NULL_FATAL(inv);
	/* 486 with our tag added to a To without one */
	sip_wb_init(&wb, buf, sizeof(buf));
	CU_ASSERT_EQUAL(sip_wb_reply(&wb, inv, 486, NULL, &tag), 0);
	CU_ASSERT_EQUAL(sip_wb_hdrf(&wb, SIP_HDR_RETRY_AFTER, "%u", 30u), 0);
	CU_ASSERT_EQUAL(sip_wb_end(&wb, NULL, &len), 0);
	EXPECT(&wb, len,
	       "SIP/2.0 486 Busy Here\r\n" RESP_VIAS
	       "From: \"Alice A.\" <sip:alice@example.com>;tag=1928301774\r\n"
	       "To: <sip:+15551234567@example.net;user=phone>;tag=b2b-7f3a\r\n"
	       "Call-ID: a84b4c76e66710@pc33.example.com\r\n"
	       "CSeq: 314159 INVITE\r\n"
	       "Retry-After: 30\r\n"
	       "Content-Length: 0\r\n\r\n");

	/* 200 with a body, Record-Route copied, Contact and Allow added */
	sip_wb_init(&wb, buf, sizeof(buf));
	struct pl ct = PL("application/sdp"), body = PL(SDP_ANSWER);
	CU_ASSERT_EQUAL(sip_wb_reply(&wb, inv, 200, NULL, &tag), 0);
	CU_ASSERT_EQUAL(sip_wb_hdr_copy(&wb, inv, SIP_HDR_RECORD_ROUTE), 0);
	CU_ASSERT_EQUAL(sip_wb_hdr(&wb, SIP_HDR_CONTACT, &contact), 0);
	CU_ASSERT_EQUAL(sip_wb_hdr(&wb, SIP_HDR_ALLOW, &allow), 0);
	CU_ASSERT_EQUAL(sip_wb_hdr(&wb, SIP_HDR_CONTENT_TYPE, &ct), 0);
	CU_ASSERT_EQUAL(sip_wb_end(&wb, &body, &len), 0);
	EXPECT(&wb, len,
	       "SIP/2.0 200 OK\r\n" RESP_VIAS
	       "From: \"Alice A.\" <sip:alice@example.com>;tag=1928301774\r\n"
	       "To: <sip:+15551234567@example.net;user=phone>;tag=b2b-7f3a\r\n"
	       "Call-ID: a84b4c76e66710@pc33.example.com\r\n"
	       "CSeq: 314159 INVITE\r\n"
	       "Record-Route: <sip:proxy.example.com;lr>\r\n"
	       "Contact: <sip:b2bua@10.0.0.1>\r\n"
	       "Allow: INVITE, ACK, BYE\r\n"
	       "Content-Type: application/sdp\r\n"
	       "Content-Length: 182\r\n\r\n" SDP_ANSWER);

	/* 100 Trying: no tag asked for, none added */
	sip_wb_init(&wb, buf, sizeof(buf));
	CU_ASSERT_EQUAL(sip_wb_reply(&wb, inv, 100, NULL, NULL), 0);
	CU_ASSERT_EQUAL(sip_wb_end(&wb, NULL, &len), 0);
	EXPECT(&wb, len,
	       "SIP/2.0 100 Trying\r\n" RESP_VIAS
	       "From: \"Alice A.\" <sip:alice@example.com>;tag=1928301774\r\n"
	       "To: <sip:+15551234567@example.net;user=phone>\r\n"
	       "Call-ID: a84b4c76e66710@pc33.example.com\r\n"
	       "CSeq: 314159 INVITE\r\n"
	       "Content-Length: 0\r\n\r\n");

	/* ENOSPC on a small buffer, and at every size short of the whole */
	for (size_t sz = 0; sz < 120; sz += 7) {
		sip_wb_init(&wb, buf, sz);
		sip_wb_reply(&wb, inv, 486, NULL, &tag);
		CU_ASSERT_EQUAL(sip_wb_end(&wb, NULL, &len), ENOSPC);
	}
	/* a response is not a request to answer; bad tag refused */
	struct sip_msg *r = parse_str(ringing_msg);
	struct pl badtag = PL("a;b");
	CU_ASSERT_PTR_NOT_NULL_FATAL(r);
	sip_wb_init(&wb, buf, sizeof(buf));
	CU_ASSERT_EQUAL(sip_wb_reply(&wb, r, 200, NULL, &tag), EINVAL);
	sip_wb_init(&wb, buf, sizeof(buf));
	CU_ASSERT_EQUAL(sip_wb_reply(&wb, inv, 200, NULL, &badtag), EINVAL);
	free(r);
	free(inv);
}

/* To already tagged (in-dialog BYE): never a second tag; reason given. */
static void
test_reply_tagged(void)
{
	struct sip_msg *bye = parse_str(bye_msg);
	struct pl tag = PL("other"), reason = PL("Bye Bye\r\nX: y");
	char buf[1024];
	struct sip_wbuf wb;
	size_t len = 0;

	CU_ASSERT_PTR_NOT_NULL_FATAL(bye);
	sip_wb_init(&wb, buf, sizeof(buf));
	CU_ASSERT_EQUAL(sip_wb_reply(&wb, bye, 200, &reason, &tag), 0);
	CU_ASSERT_EQUAL(sip_wb_end(&wb, NULL, &len), 0);
	EXPECT(&wb, len,
	       "SIP/2.0 200 Bye Bye  X: y\r\n"
	       "Via: SIP/2.0/UDP 203.0.113.5:5060;branch=z9hG4bKnashds10\r\n"
	       "From: <sip:+15551234567@example.net;user=phone>;tag=a6c85cf\r\n"
	       "To: \"Alice A.\" <sip:alice@example.com>;tag=1928301774\r\n"
	       "Call-ID: a84b4c76e66710@pc33.example.com\r\n"
	       "CSeq: 231 BYE\r\n"
	       "Content-Length: 0\r\n\r\n");
	free(bye);
}

/* 100 copies Timestamp (§8.2.6.1); other codes do not. Compact forms
   are copied as written, and an addr-spec To gets its tag at the end. */
static void
test_reply_timestamp_compact(void)
{
	struct sip_msg *opt = parse_str(options_msg);
	struct sip_msg *msg = parse_str(compact_msg);
	struct pl tag = PL("t1");
	char buf[1024];
	struct sip_wbuf wb;
	size_t len = 0;

	CU_ASSERT_PTR_NOT_NULL_FATAL(opt);
	CU_ASSERT_PTR_NOT_NULL_FATAL(msg);
	sip_wb_init(&wb, buf, sizeof(buf));
	CU_ASSERT_EQUAL(sip_wb_reply(&wb, opt, 100, NULL, NULL), 0);
	CU_ASSERT_EQUAL(sip_wb_end(&wb, NULL, &len), 0);
	EXPECT(&wb, len,
	       "SIP/2.0 100 Trying\r\n"
	       "Via: SIP/2.0/UDP pc33.example.com;branch=z9hG4bKhjhs8ass877\r\n"
	       "From: Alice <sip:alice@example.com>;tag=1928301774\r\n"
	       "To: <sip:carol@chicago.example.com>\r\n"
	       "Call-ID: a84b4c76e66710\r\n"
	       "CSeq: 63104 OPTIONS\r\n"
	       "Timestamp: 54.12 0.5\r\n"
	       "Content-Length: 0\r\n\r\n");
	sip_wb_init(&wb, buf, sizeof(buf));
	CU_ASSERT_EQUAL(sip_wb_reply(&wb, opt, 200, NULL, &tag), 0);
	CU_ASSERT_EQUAL(sip_wb_end(&wb, NULL, &len), 0);
	CU_ASSERT(!HAS(buf, len, "Timestamp"));

	sip_wb_init(&wb, buf, sizeof(buf));
	CU_ASSERT_EQUAL(sip_wb_reply(&wb, msg, 202, NULL, &tag), 0);
	CU_ASSERT_EQUAL(sip_wb_end(&wb, NULL, &len), 0);
	EXPECT(&wb, len,
	       "SIP/2.0 202 Accepted\r\n"
	       "v: SIP/2.0/TCP user1pc.example.com;branch=z9hG4bK776sgdkse\r\n"
	       "f: sip:user1@example.com;tag=49583\r\n"
	       "t: sip:user2@example.com;tag=t1\r\n"
	       "i: asd88asd77a@1.2.3.4\r\n"
	       "CSeq: 1 MESSAGE\r\n"
	       "Content-Length: 0\r\n\r\n");
	free(msg);
	free(opt);
}

/* Stateless 400 from raw bytes the parser refused. */
static void
test_reply_perr(void)
{
	static const char bad[] =
		"INVITE sip:bob@example.com SIP/2.0\r\n"
		"Via: SIP/2.0/UDP 192.0.2.1;branch=z9hG4bK1\r\n"
		"v: SIP/2.0/UDP 192.0.2.2;branch=z9hG4bK2\r\n"
		"To: Bob\r\n <sip:bob@example.com>\r\n"
		"From: <sip:a@example.com>;tag=9\r\n"
		"Call-ID: x1\r\n"
		"CSeq: 99999999999999 INVITE\r\n"
		"Max-Forwards: 70\r\n"
		"Content-Length: 0\r\n\r\n";
	static const char noVia[] = "INVITE sip:b@c SIP/2.0\r\n"
				    "To: <sip:b@c>\r\n\r\n";
	static const char compact[] =
		"INVITE sip:bob@example.com SIP/2.0\r\n"
		"V: SIP/2.0/UDP 192.0.2.1;branch=z9hG4bK1\r\n"
		"Vi: x\r\nVias: x\r\nTo2: x\r\nFrom-X: x\r\nCall-IDs: x\r\n"
		"vIA: SIP/2.0/UDP 192.0.2.2;branch=z9hG4bK2\r\n"
		"t: <sip:bob@example.com>\r\n"
		"F: <sip:a@example.com>;tag=9\r\n"
		"I: x1\r\n"
		"cseq: 99999999999999 INVITE\r\n"
		"Content-Length: 0\r\n\r\n";
	struct sip_perr err = {SIP_HDR_CSEQ, PL_INIT, "bad number", 400};
	struct sip_perr drop = {SIP_HDR_CSEQ, PL_INIT, "bad number", 0};
	struct pl tag = PL("s1");
	char buf[1024], phrase[256], exp[1024];
	struct sip_wbuf wb;
	size_t len = 0;

	sip_perr_phrase(&err, phrase, sizeof(phrase));
	CU_ASSERT(strlen(phrase) > 0);
	sip_wb_init(&wb, buf, sizeof(buf));
	CU_ASSERT_EQUAL(sip_wb_reply_perr(&wb, bad, strlen(bad), &err, &tag),
			0);
	CU_ASSERT_EQUAL(sip_wb_end(&wb, NULL, &len), 0);
	snprintf(exp, sizeof(exp),
		 "SIP/2.0 400 %s\r\n"
		 "Via: SIP/2.0/UDP 192.0.2.1;branch=z9hG4bK1\r\n"
		 "v: SIP/2.0/UDP 192.0.2.2;branch=z9hG4bK2\r\n"
		 "From: <sip:a@example.com>;tag=9\r\n"
		 "To: Bob\r\n <sip:bob@example.com>;tag=s1\r\n"
		 "Call-ID: x1\r\n"
		 "CSeq: 99999999999999 INVITE\r\n"
		 "Content-Length: 0\r\n\r\n",
		 phrase);
	EXPECT(&wb, len, exp);

	/* the phrase names the header, from sip_perr_phrase() */
	CU_ASSERT(HAS(buf, 20 + strlen(phrase), "CSeq"));

	sip_wb_init(&wb, buf, sizeof(buf));
	CU_ASSERT_EQUAL(sip_wb_reply_perr(&wb, bad, strlen(bad), &drop, &tag),
			EINVAL);
	sip_wb_init(&wb, buf, sizeof(buf));
	CU_ASSERT_EQUAL(
		sip_wb_reply_perr(&wb, noVia, strlen(noVia), &err, &tag),
		EBADMSG);

	/* compact forms and any case (§7.3.3, §7.3.1); names that only
	   start like a copied one are not copied */
	sip_wb_init(&wb, buf, sizeof(buf));
	CU_ASSERT_EQUAL(
		sip_wb_reply_perr(&wb, compact, strlen(compact), &err, &tag),
		0);
	CU_ASSERT_EQUAL(sip_wb_end(&wb, NULL, &len), 0);
	snprintf(exp, sizeof(exp),
		 "SIP/2.0 400 %s\r\n"
		 "V: SIP/2.0/UDP 192.0.2.1;branch=z9hG4bK1\r\n"
		 "vIA: SIP/2.0/UDP 192.0.2.2;branch=z9hG4bK2\r\n"
		 "F: <sip:a@example.com>;tag=9\r\n"
		 "t: <sip:bob@example.com>;tag=s1\r\n"
		 "I: x1\r\n"
		 "cseq: 99999999999999 INVITE\r\n"
		 "Content-Length: 0\r\n\r\n",
		 phrase);
	EXPECT(&wb, len, exp);
}

/* An unknown header's name (network text) in the phrase: no CR/LF. */
static void
test_reply_perr_sanitised(void)
{
	static const char req[] = "OPTIONS sip:b@c SIP/2.0\r\n"
				  "Via: SIP/2.0/UDP h;branch=z9hG4bKx\r\n"
				  "To: <sip:b@c>;tag=x\r\n\r\n";
	struct sip_perr err = {SIP_HDR_OTHER, PL("X-Bad\r\nInjected"),
			       "what\r\n", 400};
	char buf[512];
	struct sip_wbuf wb;
	const char *eol;
	size_t len = 0;

	sip_wb_init(&wb, buf, sizeof(buf));
	CU_ASSERT_EQUAL(sip_wb_reply_perr(&wb, req, strlen(req), &err, NULL),
			0);
	CU_ASSERT_EQUAL(sip_wb_end(&wb, NULL, &len), 0);
	eol = memchr(buf, '\n', len);
	CU_ASSERT_PTR_NOT_NULL_FATAL(eol);
	CU_ASSERT_PTR_NULL(memchr(buf, '\r', (size_t)(eol - 1 - buf)));
	CU_ASSERT(strncmp(eol + 1, "Via: ", 5) == 0);
	/* the To already had a tag: kept as is */
	CU_ASSERT(HAS(buf, len, "\r\nTo: <sip:b@c>;tag=x\r\n"));
}

void test_write_register(void);
void
test_write_register(void)
{
	CU_pSuite s = tu_suite("write");

	TU_ADD(s, test_request);
	TU_ADD(s, test_response_body);
	TU_ADD(s, test_misuse);
	TU_ADD(s, test_enospc);
	TU_ADD(s, test_phrases);
	TU_ADD(s, test_values);
	TU_ADD(s, test_roundtrip);
	TU_ADD(s, test_corpus);
	TU_ADD(s, test_edits);
	TU_ADD(s, test_edit_clen_inplace);
	TU_ADD(s, test_edit_replace_multi);
	TU_ADD(s, test_reply);
	TU_ADD(s, test_reply_tagged);
	TU_ADD(s, test_reply_timestamp_compact);
	TU_ADD(s, test_reply_perr);
	TU_ADD(s, test_reply_perr_sanitised);
}
