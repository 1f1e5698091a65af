/*
 * parse_bench: cost of parsing realistic SIP messages fully enough for the
 * transaction and dialog layers (sip_msg_parse + sip_msg_check, which
 * decodes every recognised header), next to a floor measured in the same
 * run over the same bytes: a memchr scan for line ends. Also counts heap
 * allocations during the parse loop (target: zero).
 *
 * Usage: parse_bench [iterations [rounds]]   (default 10000 iterations
 * per message type and round, 20 rounds). Each figure is the best round's
 * mean, floor and parse alike: on a shared machine a round that another
 * process interrupted only reads slower, so the minimum is the figure
 * least disturbed (a single long round mixed that noise into the mean).
 * Prints figures; it is a measurement, not a pass/fail test.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "stack/sip_msg.h"

/* Count heap allocations made by anything in this process. */
static unsigned long n_alloc;
extern void *__libc_malloc(size_t);
extern void *__libc_calloc(size_t, size_t);
extern void *__libc_realloc(void *, size_t);

void *malloc(size_t n);
void *calloc(size_t a, size_t b);
void *realloc(void *p, size_t n);

void *
malloc(size_t n)
{
	n_alloc++;
	return __libc_malloc(n);
}

void *
calloc(size_t a, size_t b)
{
	n_alloc++;
	return __libc_calloc(a, b);
}

void *
realloc(void *p, size_t n)
{
	n_alloc++;
	return __libc_realloc(p, n);
}

#define SDP_OFFER                                                              \
	"v=0\r\n"                                                              \
	"o=- 3912373412 3912373412 IN IP4 203.0.113.10\r\n"                    \
	"s=SBC Call\r\n"                                                       \
	"c=IN IP4 203.0.113.10\r\n"                                            \
	"t=0 0\r\n"                                                            \
	"m=audio 23746 RTP/AVP 8 0 18 101\r\n"                                 \
	"a=rtpmap:8 PCMA/8000\r\n"                                             \
	"a=rtpmap:0 PCMU/8000\r\n"                                             \
	"a=rtpmap:18 G729/8000\r\n"                                            \
	"a=fmtp:18 annexb=no\r\n"                                              \
	"a=rtpmap:101 telephone-event/8000\r\n"                                \
	"a=fmtp:101 0-16\r\n"                                                  \
	"a=ptime:20\r\n"                                                       \
	"a=sendrecv\r\n"

#define SDP_ANSWER                                                             \
	"v=0\r\n"                                                              \
	"o=root 1804289383 1804289383 IN IP4 10.20.0.5\r\n"                    \
	"s=Asterisk PBX 20.5.0\r\n"                                            \
	"c=IN IP4 10.20.0.5\r\n"                                               \
	"t=0 0\r\n"                                                            \
	"m=audio 14330 RTP/AVP 8 101\r\n"                                      \
	"a=rtpmap:8 PCMA/8000\r\n"                                             \
	"a=rtpmap:101 telephone-event/8000\r\n"                                \
	"a=fmtp:101 0-16\r\n"                                                  \
	"a=ptime:20\r\n"                                                       \
	"a=maxptime:150\r\n"                                                   \
	"a=sendrecv\r\n"

#define LEN(s) (sizeof(s) - 1)

static const char invite[] =
	"INVITE sip:+4930123456789@sbc.example.net:5060;user=phone SIP/2.0\r\n"
	"Via: SIP/2.0/UDP 203.0.113.10:5060;branch=z9hG4bK-524287-1---"
	"8f5c27a3b1e0f9d2;rport\r\n"
	"Via: SIP/2.0/UDP 198.51.100.7:5060;received=198.51.100.7;"
	"branch=z9hG4bK1f2e3d4c5b6a\r\n"
	"Max-Forwards: 68\r\n"
	"Record-Route: <sip:203.0.113.10;lr;ftag=as6f7a2b1c>\r\n"
	"From: \"Alice Example\" <sip:+4989111222333@carrier.example.com;"
	"user=phone>;tag=as6f7a2b1c\r\n"
	"To: <sip:+4930123456789@sbc.example.net;user=phone>\r\n"
	"Call-ID: 7f3c9a1e2b4d6f80a1c3e5g7@203.0.113.10\r\n"
	"CSeq: 102 INVITE\r\n"
	"Contact: <sip:+4989111222333@203.0.113.10:5060;transport=udp>\r\n"
	"P-Asserted-Identity: \"Alice Example\" "
	"<sip:+4989111222333@carrier.example.com;user=phone>\r\n"
	"Privacy: none\r\n"
	"Allow: INVITE, ACK, CANCEL, OPTIONS, BYE, REFER, NOTIFY, INFO, "
	"PRACK, UPDATE\r\n"
	"Supported: 100rel, timer, replaces, norefersub\r\n"
	"Session-Expires: 1800;refresher=uac\r\n"
	"Min-SE: 90\r\n"
	"User-Agent: CarrierSBC/7.2\r\n"
	"Content-Type: application/sdp\r\n"
	"Content-Length: "
	"292"
	"\r\n"
	"\r\n" SDP_OFFER;

static const char ringing[] =
	"SIP/2.0 180 Ringing\r\n"
	"Via: SIP/2.0/UDP 203.0.113.10:5060;branch=z9hG4bK-524287-1---"
	"8f5c27a3b1e0f9d2;rport=5060;received=203.0.113.10\r\n"
	"Via: SIP/2.0/UDP 198.51.100.7:5060;received=198.51.100.7;"
	"branch=z9hG4bK1f2e3d4c5b6a\r\n"
	"Record-Route: <sip:203.0.113.10;lr;ftag=as6f7a2b1c>\r\n"
	"From: \"Alice Example\" <sip:+4989111222333@carrier.example.com;"
	"user=phone>;tag=as6f7a2b1c\r\n"
	"To: <sip:+4930123456789@sbc.example.net;user=phone>;tag=4f2a9c1d\r\n"
	"Call-ID: 7f3c9a1e2b4d6f80a1c3e5g7@203.0.113.10\r\n"
	"CSeq: 102 INVITE\r\n"
	"Contact: <sip:4930123456789@10.20.0.5:5060>\r\n"
	"Allow: INVITE, ACK, CANCEL, OPTIONS, BYE, REFER, NOTIFY, INFO\r\n"
	"Server: Asterisk PBX 20.5.0\r\n"
	"Content-Length: 0\r\n"
	"\r\n";

static const char ok_sdp[] =
	"SIP/2.0 200 OK\r\n"
	"Via: SIP/2.0/UDP 203.0.113.10:5060;branch=z9hG4bK-524287-1---"
	"8f5c27a3b1e0f9d2;rport=5060;received=203.0.113.10\r\n"
	"Via: SIP/2.0/UDP 198.51.100.7:5060;received=198.51.100.7;"
	"branch=z9hG4bK1f2e3d4c5b6a\r\n"
	"Record-Route: <sip:203.0.113.10;lr;ftag=as6f7a2b1c>\r\n"
	"From: \"Alice Example\" <sip:+4989111222333@carrier.example.com;"
	"user=phone>;tag=as6f7a2b1c\r\n"
	"To: <sip:+4930123456789@sbc.example.net;user=phone>;tag=4f2a9c1d\r\n"
	"Call-ID: 7f3c9a1e2b4d6f80a1c3e5g7@203.0.113.10\r\n"
	"CSeq: 102 INVITE\r\n"
	"Contact: <sip:4930123456789@10.20.0.5:5060>\r\n"
	"Allow: INVITE, ACK, CANCEL, OPTIONS, BYE, REFER, NOTIFY, INFO\r\n"
	"Supported: replaces, timer\r\n"
	"Require: timer\r\n"
	"Session-Expires: 1800;refresher=uac\r\n"
	"Server: Asterisk PBX 20.5.0\r\n"
	"Content-Type: application/sdp\r\n"
	"Content-Length: 245\r\n"
	"\r\n" SDP_ANSWER;

static const char ack[] =
	"ACK sip:4930123456789@10.20.0.5:5060 SIP/2.0\r\n"
	"Via: SIP/2.0/UDP 203.0.113.10:5060;branch=z9hG4bK-524287-1---"
	"d1e2f3a4b5c6;rport\r\n"
	"Max-Forwards: 70\r\n"
	"Route: <sip:203.0.113.10;lr;ftag=as6f7a2b1c>\r\n"
	"From: \"Alice Example\" <sip:+4989111222333@carrier.example.com;"
	"user=phone>;tag=as6f7a2b1c\r\n"
	"To: <sip:+4930123456789@sbc.example.net;user=phone>;tag=4f2a9c1d\r\n"
	"Call-ID: 7f3c9a1e2b4d6f80a1c3e5g7@203.0.113.10\r\n"
	"CSeq: 102 ACK\r\n"
	"Content-Length: 0\r\n"
	"\r\n";

static const char bye[] =
	"BYE sip:4930123456789@10.20.0.5:5060 SIP/2.0\r\n"
	"Via: SIP/2.0/UDP 203.0.113.10:5060;branch=z9hG4bK-524287-1---"
	"a9b8c7d6e5f4;rport\r\n"
	"Max-Forwards: 70\r\n"
	"Route: <sip:203.0.113.10;lr;ftag=as6f7a2b1c>\r\n"
	"From: \"Alice Example\" <sip:+4989111222333@carrier.example.com;"
	"user=phone>;tag=as6f7a2b1c\r\n"
	"To: <sip:+4930123456789@sbc.example.net;user=phone>;tag=4f2a9c1d\r\n"
	"Call-ID: 7f3c9a1e2b4d6f80a1c3e5g7@203.0.113.10\r\n"
	"CSeq: 103 BYE\r\n"
	"Reason: Q.850;cause=16;text=\"Normal call clearing\"\r\n"
	"User-Agent: CarrierSBC/7.2\r\n"
	"Content-Length: 0\r\n"
	"\r\n";

static const char reg[] =
	"REGISTER sip:carrier.example.com SIP/2.0\r\n"
	"Via: SIP/2.0/UDP 192.0.2.50:5060;branch=z9hG4bK-77a1b2c3d4;rport\r\n"
	"Max-Forwards: 70\r\n"
	"From: <sip:trunk42@carrier.example.com>;tag=8c1d2e3f\r\n"
	"To: <sip:trunk42@carrier.example.com>\r\n"
	"Call-ID: 3a7c9e1b5d@192.0.2.50\r\n"
	"CSeq: 7 REGISTER\r\n"
	"Contact: <sip:trunk42@192.0.2.50:5060;transport=udp>;expires=3600\r\n"
	"Authorization: Digest username=\"trunk42\", "
	"realm=\"carrier.example.com\", nonce=\"5f3a7c9e1b2d4f6a8c0e\", "
	"uri=\"sip:carrier.example.com\", response="
	"\"6629fae49393a05397450978507c4ef1\", algorithm=MD5, "
	"cnonce=\"0a4f113b\", qop=auth, nc=00000001\r\n"
	"Expires: 3600\r\n"
	"Allow: INVITE, ACK, CANCEL, OPTIONS, BYE\r\n"
	"User-Agent: Tandem/0.1\r\n"
	"Content-Length: 0\r\n"
	"\r\n";

static const char options[] =
	"OPTIONS sip:sbc.example.net SIP/2.0\r\n"
	"Via: SIP/2.0/UDP 203.0.113.10:5060;branch=z9hG4bK-opt-19a8b7;rport\r\n"
	"Max-Forwards: 70\r\n"
	"From: <sip:ping@carrier.example.com>;tag=op19a8b7\r\n"
	"To: <sip:sbc.example.net>\r\n"
	"Call-ID: opt-19a8b7c6@203.0.113.10\r\n"
	"CSeq: 1 OPTIONS\r\n"
	"Accept: application/sdp\r\n"
	"Content-Length: 0\r\n"
	"\r\n";

struct sample {
	const char *name;
	const char *buf;
	size_t len;
};

static const struct sample samples[] = {
	{"INVITE+SDP", invite, LEN(invite)},
	{"180", ringing, LEN(ringing)},
	{"200+SDP", ok_sdp, LEN(ok_sdp)},
	{"ACK", ack, LEN(ack)},
	{"BYE", bye, LEN(bye)},
	{"REGISTER", reg, LEN(reg)},
	{"OPTIONS", options, LEN(options)},
};

static double
now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e9 + ts.tv_nsec;
}

/* The floor: find every line end with memchr, as any parser must. */
static size_t
floor_scan(const char *p, size_t n)
{
	const char *end = p + n;
	size_t lines = 0;

	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));

		if (!nl)
			break;
		lines++;
		p = nl + 1;
	}
	return lines;
}

static volatile size_t sink;

int
main(int argc, char **argv)
{
	long iters = argc > 1 ? atol(argv[1]) : 10000;
	long rounds = argc > 2 ? atol(argv[2]) : 20;
	struct sip_limits lim;
	static struct sip_msg msg;
	struct sip_perr err;
	double tot_floor = 0, tot_parse = 0;
	size_t i;

	if (iters < 1)
		iters = 1;
	if (rounds < 1)
		rounds = 1;
	sip_limits_default(&lim);
	printf("parse_bench: best of %ld rounds of %ld iterations per "
	       "message, parse = sip_msg_parse + sip_msg_check (all headers "
	       "typed)\n",
	       rounds, iters);
	printf("%-12s %6s %10s %10s %7s %8s\n", "message", "bytes", "floor ns",
	       "parse ns", "ratio", "allocs");
	for (i = 0; i < sizeof(samples) / sizeof(samples[0]); i++) {
		const struct sample *s = &samples[i];
		/* a private copy, as a receive buffer would be */
		char *buf = malloc(s->len);
		double t0, t1, t2, f, p;
		unsigned long a0, allocs;
		long k, r;
		int rc;

		memcpy(buf, s->buf, s->len);
		rc = sip_msg_parse(&msg, buf, s->len, SIP_FRAMING_DGRAM, &lim,
				   &err);
		if (rc == 0)
			rc = sip_msg_check(&msg, &err);
		if (rc) {
			char ph[200];

			fprintf(stderr, "%s does not parse: %s\n", s->name,
				sip_perr_phrase(&err, ph, sizeof(ph)));
			return 1;
		}
		f = p = 0;
		a0 = n_alloc;
		for (r = 0; r < rounds; r++) {
			t0 = now_ns();
			for (k = 0; k < iters; k++)
				sink += floor_scan(buf, s->len);
			t1 = now_ns();
			for (k = 0; k < iters; k++) {
				sip_msg_parse(&msg, buf, s->len,
					      SIP_FRAMING_DGRAM, &lim, &err);
				sip_msg_check(&msg, &err);
				sink += msg.nhdrs;
			}
			t2 = now_ns();
			if (r == 0 || (t1 - t0) / iters < f)
				f = (t1 - t0) / iters;
			if (r == 0 || (t2 - t1) / iters < p)
				p = (t2 - t1) / iters;
		}
		allocs = n_alloc - a0; /* none of them in the floor loop */
		tot_floor += f;
		tot_parse += p;
		printf("%-12s %6zu %10.1f %10.1f %6.2fx %8lu\n", s->name,
		       s->len, f, p, p / f, allocs);
		free(buf);
	}
	printf("%-12s %6s %10.1f %10.1f %6.2fx\n", "all", "", tot_floor,
	       tot_parse, tot_parse / tot_floor);
	return 0;
}
