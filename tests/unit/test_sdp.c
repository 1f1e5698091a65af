/* Unit tests: SDP parser, rewrites and writer (stack/sdp*.c). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "stack/sdp.h"
#include "testutil.h"

/* One line with CRLF, to keep the golden texts readable. */
#define L(s) s "\r\n"

/* The description under test and its input; one at a time. */
static struct sdp *sdp;
static char *in;
static size_t inlen;

static int
load(const char *name)
{
	struct sdp_perr err;
	int rc;

	free(in);
	in = NULL;
	rc = tu_read_file(tu_data(name), &in, &inlen);
	CU_ASSERT_EQUAL_FATAL(rc, 0);
	rc = sdp_decode(sdp, in, inlen, &err);
	if (rc)
		fprintf(stderr, "\n%s: %s (line %u)\n", name, err.what,
			err.line);
	CU_ASSERT_EQUAL_FATAL(rc, 0);
	return rc;
}

/* Decode a literal; returns the errno and leaves the phrase in *what. */
static int
parse_str(const char *s, const char **what)
{
	struct sdp_perr err = {NULL, 0};
	int rc = sdp_decode(sdp, s, strlen(s), &err);

	*what = err.what;
	return rc;
}

/* Encode sdp and compare with expect byte for byte. */
static void
check_out(const char *expect, size_t elen)
{
	static char out[16384];
	size_t n = 0;
	struct sdp *again;

	CU_ASSERT_EQUAL_FATAL(sdp_encode(sdp, out, sizeof(out), &n), 0);
	CU_ASSERT_EQUAL(n, elen);
	CU_ASSERT(n == elen && memcmp(out, expect, n) == 0);
	if (n != elen || memcmp(out, expect, n) != 0)
		fprintf(stderr, "\n--- got:\n%.*s--- expected:\n%.*s---\n",
			(int)n, out, (int)elen, expect);
	/* what we write always decodes again */
	again = malloc(sizeof(*again));
	CU_ASSERT_FATAL(again != NULL);
	CU_ASSERT_EQUAL(sdp_decode(again, out, n, NULL), 0);
	free(again);
}

#define CHECK_OUT(s) check_out((s), sizeof(s) - 1)

static void
check_roundtrip(void)
{
	check_out(in, inlen);
}

static bool
conn_is(const struct sdp_conn *c, enum sdp_af af, const char *addr)
{
	return c && c->af == af && pl_eq_str(&c->addr, addr);
}

/* --- Real-shaped descriptions ------------------------------------------ */

static void
test_carrier_offer(void)
{
	struct sdp_rtpmap rm;
	const struct sdp_line *ln;
	struct pl fp;
	uint8_t pt = 0;

	load("sdp/carrier_offer.sdp");
	check_roundtrip();
	CU_ASSERT_EQUAL(sdp->origin.version, 1234567890u);
	CU_ASSERT(pl_eq_str(&sdp->origin.sess_id, "1234567890"));
	CU_ASSERT(conn_is(&sdp->origin.addr, SDP_AF_IP4, "198.51.100.10"));
	CU_ASSERT(pl_eq_str(&sdp->name, "SIP Call"));
	CU_ASSERT(conn_is(&sdp->conn, SDP_AF_IP4, "198.51.100.20"));
	CU_ASSERT_EQUAL_FATAL(sdp->nmedia, 1);
	CU_ASSERT(pl_eq_str(&sdp->media[0].type, "audio"));
	CU_ASSERT_EQUAL(sdp->media[0].port, 20000);
	CU_ASSERT_EQUAL(sdp->media[0].nports, 0);
	CU_ASSERT(pl_eq_str(&sdp->media[0].proto, "RTP/AVP"));
	CU_ASSERT(sdp->media[0].rtp);
	CU_ASSERT_EQUAL_FATAL(sdp->media[0].nfmt, 4);
	CU_ASSERT_EQUAL(sdp->media[0].pt[0], 0);
	CU_ASSERT_EQUAL(sdp->media[0].pt[1], 8);
	CU_ASSERT_EQUAL(sdp->media[0].pt[2], 18);
	CU_ASSERT_EQUAL(sdp->media[0].pt[3], 101);
	CU_ASSERT_EQUAL(sdp->media[0].nattr, 10);
	CU_ASSERT(conn_is(sdp_media_conn(sdp, 0), SDP_AF_IP4, "198.51.100.20"));
	CU_ASSERT_EQUAL(sdp_media_dir(sdp, 0), SDP_DIR_SENDRECV);
	CU_ASSERT_EQUAL(sdp_dir_get(sdp, SDP_SESSION), SDP_DIR_NONE);

	CU_ASSERT_EQUAL(sdp_rtpmap_find(sdp, 0, 101, &rm), 0);
	CU_ASSERT(pl_eq_str(&rm.enc, "telephone-event"));
	CU_ASSERT_EQUAL(rm.rate, 8000);
	CU_ASSERT_EQUAL(rm.channels, 1);
	CU_ASSERT(!rm.implicit);
	CU_ASSERT_EQUAL(sdp_rtpmap_find(sdp, 0, 96, &rm), ENOENT);
	CU_ASSERT_EQUAL(sdp_pt_find(sdp, 0, "TELEPHONE-EVENT", 8000, &pt), 0);
	CU_ASSERT_EQUAL(pt, 101);
	CU_ASSERT_EQUAL(sdp_pt_find(sdp, 0, "pcma", 0, &pt), 0);
	CU_ASSERT_EQUAL(pt, 8);
	CU_ASSERT_EQUAL(sdp_pt_find(sdp, 0, "opus", 48000, &pt), ENOENT);
	CU_ASSERT_EQUAL(sdp_fmtp_find(sdp, 0, 18, &fp), 0);
	CU_ASSERT(pl_eq_str(&fp, "annexb=no"));
	CU_ASSERT_EQUAL(sdp_fmtp_find(sdp, 0, 101, &fp), 0);
	CU_ASSERT(pl_eq_str(&fp, "0-16"));
	CU_ASSERT_EQUAL(sdp_fmtp_find(sdp, 0, 8, &fp), ENOENT);

	ln = sdp_attr_next(sdp, 0, SDP_A_PTIME, NULL);
	CU_ASSERT_FATAL(ln != NULL);
	CU_ASSERT(pl_eq_str(&ln->val, "20"));
	ln = sdp_attr_next(sdp, 0, SDP_A_MAXPTIME, NULL);
	CU_ASSERT_FATAL(ln != NULL);
	CU_ASSERT(pl_eq_str(&ln->val, "40"));
	ln = sdp_attr_find(sdp, 0, "silenceSupp");
	CU_ASSERT_FATAL(ln != NULL);
	CU_ASSERT_EQUAL(ln->id, SDP_A_OTHER);
	CU_ASSERT(pl_eq_str(&ln->val, "off - - - -"));
	CU_ASSERT_EQUAL(sdp_attr_count(sdp, 0, SDP_A_RTPMAP), 4);
	CU_ASSERT_EQUAL(sdp_attr_count(sdp, 0, SDP_A_RTCP_MUX), 0);
	CU_ASSERT_EQUAL(sdp_attr_count(sdp, SDP_SESSION, SDP_A_COUNT), 0);
}

/* Anchor the media: our address and port, o= version + 1. */
static void
test_rewrite_addr_ports(void)
{
	load("sdp/carrier_offer.sdp");
	CU_ASSERT_EQUAL(
		sdp_conn_set(sdp, SDP_SESSION, SDP_AF_IP4, "203.0.113.1"), 0);
	CU_ASSERT_EQUAL(sdp_media_port_set(sdp, 0, 30000), 0);
	CU_ASSERT_EQUAL(sdp_origin_addr_set(sdp, SDP_AF_IP4, "203.0.113.1"), 0);
	CU_ASSERT_EQUAL(sdp_version_bump(sdp), 0);
	CU_ASSERT_EQUAL(sdp->origin.version, 1234567891u);
	CU_ASSERT_EQUAL(sdp->media[0].port, 30000);
	CU_ASSERT(conn_is(sdp_media_conn(sdp, 0), SDP_AF_IP4, "203.0.113.1"));
	CHECK_OUT(
		L("v=0") L("o=- 1234567890 1234567891 IN IP4 203.0.113.1") L(
			"s=SIP Call") L("c=IN IP4 203.0.113.1") L("t=0 0")
			L("m=audio 30000 RTP/AVP 0 8 18 101") L(
				"a=rtpmap:0 PCMU/8000") L("a=rtpmap:8 "
							  "PCMA/8000")
				L("a=rtpmap:18 G729/8000") L(
					"a=fmtp:18 "
					"annexb=no") L("a=rtpmap:101 "
						       "telephone-event/8000")
					L("a=fmtp:101 0-16") L("a=ptime:20") L(
						"a=maxptime:40")
						L("a=silenceSupp:off - - - -")
							L("a=sendrecv"));
}

/* Allow list PCMA + telephone-event: PCMU and G729 go with their lines. */
static void
test_rewrite_codec_filter(void)
{
	static const uint8_t keep[] = {8, 101};
	static const uint8_t none[] = {96, 97};
	struct sdp_rtpmap rm;
	uint8_t pt;

	load("sdp/carrier_offer.sdp");
	CU_ASSERT_EQUAL(sdp_media_formats_keep(sdp, 0, none, 2), ENOENT);
	CU_ASSERT_EQUAL(sdp->media[0].nfmt, 4);
	CU_ASSERT_EQUAL(sdp_media_formats_keep(sdp, 0, keep, 2), 0);
	CU_ASSERT_EQUAL(sdp->media[0].nfmt, 2);
	CU_ASSERT_EQUAL(sdp->media[0].nattr, 7);
	CU_ASSERT_EQUAL(sdp_rtpmap_find(sdp, 0, 0, &rm), ENOENT);
	CU_ASSERT_EQUAL(sdp_pt_find(sdp, 0, "PCMU", 8000, &pt), ENOENT);
	CHECK_OUT(
		L("v=0") L("o=- 1234567890 1234567890 IN IP4 198.51.100.10") L(
			"s=SIP Call") L("c=IN IP4 198.51.100.20") L("t=0 0")
			L("m=audio 20000 RTP/AVP 8 101")
				L("a=rtpmap:8 PCMA/8000") L(
					"a=rtpmap:101 telephone-event/8000")
					L("a=fmtp:101 0-16") L("a=ptime:20") L(
						"a=maxptime:40")
						L("a=silenceSupp:off - - - -")
							L("a=sendrecv"));
}

/* The order of the allow list wins (preferred codec first). */
static void
test_codec_reorder(void)
{
	static const uint8_t keep[] = {101, 18, 18, 8};

	load("sdp/carrier_offer.sdp");
	CU_ASSERT_EQUAL(sdp_media_formats_keep(sdp, 0, keep, 4), 0);
	CU_ASSERT_EQUAL_FATAL(sdp->media[0].nfmt, 3);
	CU_ASSERT_EQUAL(sdp->media[0].pt[0], 101);
	CU_ASSERT_EQUAL(sdp->media[0].pt[1], 18);
	CU_ASSERT_EQUAL(sdp->media[0].pt[2], 8);
	CU_ASSERT(pl_eq_str(&sdp->line[sdp->media[0].mline].text,
			    "m=audio 20000 RTP/AVP 101 18 8"));
	CU_ASSERT_EQUAL(sdp_attr_count(sdp, 0, SDP_A_RTPMAP), 3);
	CU_ASSERT_EQUAL(sdp_attr_count(sdp, 0, SDP_A_FMTP), 2);
}

static void
test_pbx_answer(void)
{
	struct sdp_rtcp rtcp;

	load("sdp/pbx_answer.sdp");
	check_roundtrip();
	CU_ASSERT(pl_eq_str(&sdp->origin.user, "FreeSWITCH"));
	CU_ASSERT_EQUAL(sdp->origin.version, 1696000001u);
	CU_ASSERT_EQUAL(sdp->media[0].port, 16384);
	CU_ASSERT_EQUAL(sdp_rtcp_get(sdp, 0, &rtcp), 0);
	CU_ASSERT_EQUAL(rtcp.port, 16385);
	CU_ASSERT(conn_is(&rtcp.conn, SDP_AF_IP4, "10.0.0.5"));
	CU_ASSERT_EQUAL(sdp_media_dir(sdp, 0), SDP_DIR_SENDRECV);

	CU_ASSERT_EQUAL(
		sdp_conn_set(sdp, SDP_SESSION, SDP_AF_IP4, "203.0.113.1"), 0);
	CU_ASSERT_EQUAL(sdp_media_port_set(sdp, 0, 40000), 0);
	CU_ASSERT_EQUAL(sdp_rtcp_set(sdp, 0, 40001, SDP_AF_IP4, "203.0.113.1"),
			0);
	CU_ASSERT_EQUAL(sdp_rtcp_get(sdp, 0, &rtcp), 0);
	CU_ASSERT_EQUAL(rtcp.port, 40001);
	/* no direction written: one is appended */
	CU_ASSERT_EQUAL(sdp_dir_set(sdp, 0, SDP_DIR_RECVONLY), 0);
	CU_ASSERT_EQUAL(sdp_media_dir(sdp, 0), SDP_DIR_RECVONLY);
	CHECK_OUT(L("v=0") L(
		"o=FreeSWITCH 1696000000 1696000001 IN IP4 "
		"10.0.0.5") L("s=FreeSWITCH") L("c=IN IP4 203.0.113.1")
			  L("t=0 0") L("m=audio 40000 RTP/AVP 8 101") L(
				  "a=rtpmap:8 PCMA/8000")
				  L("a=rtpmap:101 telephone-event/8000") L(
					  "a=fmtp:101 0-16") L("a=ptime:20")
					  L("a=rtcp:40001 IN IP4 203.0.113.1")
						  L("a=recvonly"));
}

static void
test_srtp_offer(void)
{
	struct sdp_crypto c[4];
	struct sdp_rtpmap rm;

	load("sdp/softphone_srtp.sdp");
	check_roundtrip();
	CU_ASSERT_EQUAL(sdp->origin.version, 4);
	CU_ASSERT(pl_eq_str(&sdp->media[0].proto, "RTP/SAVP"));
	CU_ASSERT(sdp->media[0].rtp);
	CU_ASSERT_EQUAL_FATAL(sdp_crypto_list(sdp, 0, c, 4), 2);
	CU_ASSERT_EQUAL(c[0].tag, 1);
	CU_ASSERT(pl_eq_str(&c[0].suite, "AES_CM_128_HMAC_SHA1_80"));
	CU_ASSERT(pl_eq_str(&c[0].key,
			    "PS1uQCVeeCFCanVmcjkpPywjNWhcYD0mXXtxaVBR"));
	CU_ASSERT(pl_eq_str(&c[0].lifetime, "2^20"));
	CU_ASSERT(pl_eq_str(&c[0].mki, "1:4"));
	CU_ASSERT(!pl_isset(&c[0].sessparams));
	CU_ASSERT_EQUAL(c[1].tag, 2);
	CU_ASSERT(pl_eq_str(&c[1].suite, "AES_CM_128_HMAC_SHA1_32"));
	CU_ASSERT(pl_eq_str(&c[1].keyparams,
			    "inline:NzB4d1BINUAvLEw6UzF3WSJ+PSdFcGdUJShpX1Zj"
			    "|2^20|1:4"));
	CU_ASSERT(pl_eq_str(&c[1].sessparams, "UNENCRYPTED_SRTCP"));
	CU_ASSERT_EQUAL(sdp_crypto_list(sdp, 0, c, 1), 2);
	/* static PTs without a=rtpmap (RFC 3551) */
	CU_ASSERT_EQUAL(sdp_rtpmap_find(sdp, 0, 3, &rm), 0);
	CU_ASSERT(pl_eq_str(&rm.enc, "GSM"));
	CU_ASSERT(rm.implicit);
	CU_ASSERT_EQUAL(sdp_rtpmap_find(sdp, 0, 0, &rm), 0);
	CU_ASSERT(pl_eq_str(&rm.enc, "PCMU"));
	CU_ASSERT_EQUAL(rm.rate, 8000);
}

/* Our own key towards the other leg: both offered lines replaced. */
static void
test_rewrite_crypto(void)
{
	struct sdp_crypto c[2];

	load("sdp/softphone_srtp.sdp");
	CU_ASSERT_EQUAL(sdp_attr_remove(sdp, 0, SDP_A_CRYPTO), 2);
	CU_ASSERT_EQUAL(sdp_attr_add(sdp, 0, "crypto",
				     "1 AES_CM_128_HMAC_SHA1_80 "
				     "inline:d0RmdmcmVCspeEc3QGZiNWpVLFJhQX1c"
				     "fHAwJSoj|2^31"),
			0);
	CU_ASSERT_EQUAL_FATAL(sdp_crypto_list(sdp, 0, c, 2), 1);
	CU_ASSERT(pl_eq_str(&c[0].key,
			    "d0RmdmcmVCspeEc3QGZiNWpVLFJhQX1cfHAwJSoj"));
	CU_ASSERT(pl_eq_str(&c[0].lifetime, "2^31"));
	CU_ASSERT(!pl_isset(&c[0].mki));
	CU_ASSERT_EQUAL(sdp_attr_add(sdp, 0, "crypto", "x y z"), EINVAL);
	CU_ASSERT_EQUAL(sdp_attr_add(sdp, 0, "bad\r\nname", NULL), EINVAL);
	CHECK_OUT(
		L("v=0") L("o=Zoiper 0 4 IN IP4 192.168.1.50") L("s=Zoiper") L(
			"c=IN IP4 192.168.1.50") L("t=0 0")
			L("m=audio 52786 RTP/SAVP 0 8 3 101") L(
				"a=rtpmap:101 telephone-event/8000")
				L("a=fmtp:101 0-16") L("a=sendrecv") L(
					"a=rtcp-fb:* nack")
					L("a=crypto:1 AES_CM_128_HMAC_SHA1_80 "
					  "inline:"
					  "d0RmdmcmVCspeEc3QGZiNWpVLFJhQX1cfHAw"
					  "JSoj|2^31"));
	/* terminating SRTP instead: plain RTP towards the other leg */
	load("sdp/softphone_srtp.sdp");
	CU_ASSERT_EQUAL(sdp_media_proto_set(sdp, 0, "RTP/AVP"), 0);
	CU_ASSERT_EQUAL(sdp_media_proto_set(sdp, 0, "UDP/BFCP"), EINVAL);
	CU_ASSERT_EQUAL(sdp_attr_remove(sdp, 0, SDP_A_CRYPTO), 2);
	CU_ASSERT(pl_eq_str(&sdp->line[sdp->media[0].mline].text,
			    "m=audio 52786 RTP/AVP 0 8 3 101"));
	CU_ASSERT_EQUAL(sdp_crypto_list(sdp, 0, c, 2), 0);
}

static void
test_webrtc_offer(void)
{
	struct sdp_rtpmap rm;
	struct sdp_rtcp rtcp;
	const struct sdp_line *ln;
	uint8_t pt;

	load("sdp/webrtc_offer.sdp");
	check_roundtrip();
	CU_ASSERT_EQUAL(sdp->origin.version, 2);
	CU_ASSERT(pl_eq_str(&sdp->origin.sess_id, "4611731400430051336"));
	CU_ASSERT_EQUAL(sdp->cline, SDP_NONE);
	CU_ASSERT_EQUAL(sdp->conn.af, SDP_AF_NONE);
	CU_ASSERT_EQUAL_FATAL(sdp->nmedia, 2);
	CU_ASSERT_EQUAL(sdp_attr_count(sdp, SDP_SESSION, SDP_A_ICE_OPTIONS), 1);
	ln = sdp_attr_find(sdp, SDP_SESSION, "msid-semantic");
	CU_ASSERT_FATAL(ln != NULL);
	CU_ASSERT(pl_eq_str(&ln->val, " WMS stream1"));

	CU_ASSERT(pl_eq_str(&sdp->media[0].proto, "UDP/TLS/RTP/SAVPF"));
	CU_ASSERT(sdp->media[0].rtp);
	CU_ASSERT_EQUAL(sdp->media[0].nfmt, 5);
	CU_ASSERT(conn_is(sdp_media_conn(sdp, 0), SDP_AF_IP4, "203.0.113.7"));
	CU_ASSERT_EQUAL(sdp_attr_count(sdp, 0, SDP_A_CANDIDATE), 2);
	CU_ASSERT_EQUAL(sdp_attr_count(sdp, 0, SDP_A_END_OF_CANDIDATES), 1);
	CU_ASSERT_EQUAL(sdp_attr_count(sdp, 0, SDP_A_RTCP_MUX), 1);
	CU_ASSERT_EQUAL(sdp_attr_count(sdp, 0, SDP_A_SSRC), 1);
	CU_ASSERT_EQUAL(sdp_attr_count(sdp, 0, SDP_A_FINGERPRINT), 1);
	ln = sdp_attr_next(sdp, 0, SDP_A_ICE_UFRAG, NULL);
	CU_ASSERT_FATAL(ln != NULL);
	CU_ASSERT(pl_eq_str(&ln->val, "EsAw"));
	ln = sdp_attr_next(sdp, 1, SDP_A_MID, NULL);
	CU_ASSERT_FATAL(ln != NULL);
	CU_ASSERT(pl_eq_str(&ln->val, "1"));
	CU_ASSERT_EQUAL(sdp_rtcp_get(sdp, 0, &rtcp), 0);
	CU_ASSERT_EQUAL(rtcp.port, 9);
	CU_ASSERT(rtcp.conn.unspec);
	CU_ASSERT_EQUAL(sdp_rtpmap_find(sdp, 0, 111, &rm), 0);
	CU_ASSERT(pl_eq_str(&rm.enc, "opus"));
	CU_ASSERT_EQUAL(rm.rate, 48000);
	CU_ASSERT_EQUAL(rm.channels, 2);
	CU_ASSERT_EQUAL(sdp_pt_find(sdp, 0, "telephone-event", 8000, &pt), 0);
	CU_ASSERT_EQUAL(pt, 126);
	CU_ASSERT_EQUAL(sdp_pt_find(sdp, 0, "telephone-event", 48000, &pt),
			ENOENT);
	CU_ASSERT_EQUAL(sdp_media_dir(sdp, 0), SDP_DIR_SENDRECV);
	CU_ASSERT_EQUAL(sdp_media_dir(sdp, 1), SDP_DIR_RECVONLY);
	CU_ASSERT_EQUAL(sdp_attr_count(sdp, 1, SDP_A_SSRC), 2);
	CU_ASSERT(pl_eq_str(&sdp->media[1].type, "video"));
}

/* Towards a plain SIP trunk: no ICE, no rtcp-mux. */
static void
test_rewrite_ice_removal(void)
{
	load("sdp/webrtc_offer.sdp");
	CU_ASSERT_EQUAL(sdp_ice_remove(sdp, SDP_SESSION), 1);
	CU_ASSERT_EQUAL(sdp_ice_remove(sdp, 0), 5);
	CU_ASSERT_EQUAL(sdp_ice_remove(sdp, 1), 2);
	CU_ASSERT_EQUAL(sdp_ice_remove(sdp, 1), 0);
	CU_ASSERT_EQUAL(sdp_attr_remove(sdp, 0, SDP_A_RTCP_MUX), 1);
	CU_ASSERT_EQUAL(sdp_attr_remove_name(sdp, 1, "rtcp-mux"), 1);
	CU_ASSERT_EQUAL(sdp_attr_count(sdp, 0, SDP_A_CANDIDATE), 0);
	CHECK_OUT(
		L("v=0") L("o=- 4611731400430051336 2 IN IP4 127.0.0.1") L(
			"s="
			"-") L("t=0 0") L("a=group:BUNDLE 0 1") L("a=msid-"
								  "semantic: "
								  "WMS stream1")
			L("m="
			  "au"
			  "di"
			  "o "
			  "46"
			  "24"
			  "3 "
			  "UD"
			  "P/"
			  "TL"
			  "S/"
			  "RT"
			  "P/"
			  "SA"
			  "VP"
			  "F "
			  "11"
			  "1 "
			  "9 "
			  "0 "
			  "8 "
			  "12"
			  "6") L("c=IN IP4 203.0.113.7") L("a=rtcp:9 IN IP4 "
							   "0.0.0.0") L("a="
									"finger"
									"print:"
									"sha-"
									"256 "
									"D2:FA:"
									"0E:C3:"
									"22:59:"
									"5E:14:"
									"95:69:"
									"92:3D:"
									"13:"
									"B4:84:"
									"24:2C:"
									"C2:A2:"
									"C0:3E:"
									"FD:34:"
									"8E:5E:"
									"EA:6F:"
									"AF:"
									"52:CE:"
									"E6:0F")
				L("a=setup:actpass") L("a=mid:0") L(
					"a="
					"sendrecv") L("a=msid:stream1 "
						      "track1") L("a="
								  "rtp"
								  "map"
								  ":11"
								  "1 "
								  "opu"
								  "s/"
								  "480"
								  "00/"
								  "2") L("a="
									 "rtcp-"
									 "fb:"
									 "111 "
									 "trans"
									 "port-"
									 "cc")
					L("a"
					  "="
					  "f"
					  "m"
					  "t"
					  "p"
					  ":"
					  "1"
					  "1"
					  "1"
					  " "
					  "m"
					  "i"
					  "n"
					  "p"
					  "t"
					  "i"
					  "m"
					  "e"
					  "="
					  "1"
					  "0"
					  ";"
					  "u"
					  "s"
					  "e"
					  "i"
					  "n"
					  "b"
					  "a"
					  "n"
					  "d"
					  "f"
					  "e"
					  "c"
					  "="
					  "1") L("a=rtpmap:9 G722/8000") L("a="
									   "rtp"
									   "map"
									   ":"
									   "0 "
									   "PCM"
									   "U/"
									   "800"
									   "0") L("a=rtpmap:"
										  "8 "
										  "PCMA/8000")
						L("a=rtpmap:126 "
						  "telephone-"
						  "event/8000") L("a="
								  "ssrc"
								  ":357"
								  "0614"
								  "608 "
								  "cnam"
								  "e:"
								  "4TOk"
								  "42mS"
								  "jXCk"
								  "VIa"
								  "6") L("m="
									 "video"
									 " 4624"
									 "3 "
									 "UDP/"
									 "TLS/"
									 "RTP/"
									 "SAVPF"
									 " 96 "
									 "97")
							L("c=IN IP4 "
							  "203.0.113.7") L(
								"a="
								"rt"
								"cp"
								":9"
								" I"
								"N "
								"IP"
								"4 "
								"0."
								"0."
								"0."
								"0") L("a=mid:"
								       "1") L("a="
									      "re"
									      "cv"
									      "on"
									      "l"
									      "y") L("a=rtpmap:96 "
										     "VP8/90000")
								L("a="
								  "rtcp-"
								  "fb:"
								  "96 "
								  "nack "
								  "pli") L("a="
									   "rtp"
									   "map"
									   ":97"
									   " "
									   "rtx"
									   "/90"
									   "00"
									   "0") L("a=fmtp:97 "
										  "apt=96")
									L("a="
									  "ssrc"
									  "-"
									  "grou"
									  "p:"
									  "FID "
									  "1111"
									  " "
									  "222"
									  "2") L("a="
										 "ssrc:"
										 "1111 "
										 "cname:"
										 "4TOk42"
										 "mSjXCk"
										 "VIa6")
										L("a="
										  "ssrc"
										  ":222"
										  "2 "
										  "cnam"
										  "e:"
										  "4TOk"
										  "42mS"
										  "jXCk"
										  "VIa"
										  "6"));
}

static void
test_hold(void)
{
	const struct sdp_conn *c;

	load("sdp/hold_reinvite.sdp");
	check_roundtrip();
	c = sdp_media_conn(sdp, 0);
	CU_ASSERT(conn_is(c, SDP_AF_IP4, "0.0.0.0"));
	CU_ASSERT(c && c->unspec && !c->fqdn);
	CU_ASSERT_EQUAL(sdp->origin.version, 1234567891u);
	CU_ASSERT_EQUAL(sdp_dir_get(sdp, 0), SDP_DIR_SENDONLY);
	CU_ASSERT_EQUAL(sdp_media_dir(sdp, 0), SDP_DIR_SENDONLY);
}

/* The relay passes hold on as inactive from its own address. */
static void
test_rewrite_direction(void)
{
	load("sdp/hold_reinvite.sdp");
	CU_ASSERT_EQUAL(sdp_dir_set(sdp, 0, SDP_DIR_INACTIVE), 0);
	CU_ASSERT_EQUAL(sdp_media_dir(sdp, 0), SDP_DIR_INACTIVE);
	CU_ASSERT_EQUAL(
		sdp_conn_set(sdp, SDP_SESSION, SDP_AF_IP4, "203.0.113.1"), 0);
	CU_ASSERT_EQUAL(sdp_dir_set(sdp, 0, 99), EINVAL);
	CHECK_OUT(L("v=0") L("o=- 1234567890 1234567891 IN IP4 198.51.100.10")
			  L("s=SIP Call") L("c=IN IP4 203.0.113.1") L("t=0 0")
				  L("m=audio 20000 RTP/AVP 8 101") L(
					  "a=rtpmap:8 PCMA/8000")
					  L("a=rtpmap:101 telephone-event/8000")
						  L("a=fmtp:101 0-16")
							  L("a=inactive"));
	CU_ASSERT_EQUAL(sdp_dir_set(sdp, 0, SDP_DIR_NONE), 0);
	CU_ASSERT_EQUAL(sdp_dir_get(sdp, 0), SDP_DIR_NONE);
	CU_ASSERT_EQUAL(sdp_media_dir(sdp, 0), SDP_DIR_SENDRECV);
}

/* Effective direction: media level, else session level, else sendrecv;
   duplicates collapse to one line when set. */
static void
test_direction_levels(void)
{
	static const char s[] = L("v=0") L("o=- 1 1 IN IP4 192.0.2.1") L("s=-")
		L("c=IN IP4 192.0.2.1") L("t=0 0") L("a=recvonly")
			L("m=audio 4000 RTP/AVP 0") L("m=audio 4002 RTP/AVP 0")
				L("a=sendonly") L("a=inactive");
	const char *what;

	CU_ASSERT_EQUAL_FATAL(parse_str(s, &what), 0);
	CU_ASSERT_EQUAL(sdp_dir_get(sdp, SDP_SESSION), SDP_DIR_RECVONLY);
	CU_ASSERT_EQUAL(sdp_media_dir(sdp, 0), SDP_DIR_RECVONLY);
	CU_ASSERT_EQUAL(sdp_media_dir(sdp, 1), SDP_DIR_SENDONLY);
	CU_ASSERT_EQUAL(sdp_dir_set(sdp, 1, SDP_DIR_SENDRECV), 0);
	CU_ASSERT_EQUAL(sdp_dir_set(sdp, SDP_SESSION, SDP_DIR_NONE), 0);
	CU_ASSERT_EQUAL(sdp_media_dir(sdp, 0), SDP_DIR_SENDRECV);
	CHECK_OUT(L("v=0") L("o=- 1 1 IN IP4 192.0.2.1") L("s=-") L(
		"c=IN IP4 192.0.2.1") L("t=0 0") L("m=audio 4000 RTP/AVP 0")
			  L("m=audio 4002 RTP/AVP 0") L("a=sendrecv"));
}

static void
test_ipv6(void)
{
	struct sdp_rtpmap rm;
	struct sdp_rtcp rtcp;

	load("sdp/ipv6.sdp");
	check_roundtrip();
	CU_ASSERT(conn_is(&sdp->origin.addr, SDP_AF_IP6, "2001:db8::10"));
	CU_ASSERT(conn_is(sdp_media_conn(sdp, 0), SDP_AF_IP6, "2001:db8::1"));
	CU_ASSERT(pl_eq_str(&sdp->conn.addrtype, "IP6"));
	CU_ASSERT_EQUAL(sdp_rtcp_get(sdp, 0, &rtcp), 0);
	CU_ASSERT_EQUAL(rtcp.port, 49171);
	CU_ASSERT(conn_is(&rtcp.conn, SDP_AF_IP6, "2001:db8::1"));
	CU_ASSERT_EQUAL(sdp_rtpmap_find(sdp, 0, 0, &rm), 0);
	CU_ASSERT(rm.implicit && pl_eq_str(&rm.enc, "PCMU"));

	/* IPv6 leg to an IPv4 trunk */
	CU_ASSERT_EQUAL(sdp_conn_set(sdp, SDP_SESSION, SDP_AF_IP4, "2001::1"),
			EINVAL);
	CU_ASSERT_EQUAL(
		sdp_conn_set(sdp, SDP_SESSION, SDP_AF_IP4, "203.0.113.1"), 0);
	CU_ASSERT_EQUAL(sdp_media_port_set(sdp, 0, 40000), 0);
	CU_ASSERT_EQUAL(sdp_rtcp_set(sdp, 0, 40001, SDP_AF_NONE, NULL), 0);
	CU_ASSERT_EQUAL(sdp_origin_addr_set(sdp, SDP_AF_IP4, "203.0.113.1"), 0);
	CHECK_OUT(L("v=0") L("o=alice 2890844526 2890844526 IN IP4 203.0.113.1")
			  L("s=-") L("c=IN IP4 203.0.113.1") L("t=0 0")
				  L("m=audio 40000 RTP/AVP 0 101")
					  L("a=rtpmap:101 telephone-event/8000")
						  L("a=rtcp:40001"));
}

static void
test_multi_rejected(void)
{
	const struct sdp_conn *c;

	load("sdp/multi_rejected.sdp");
	check_roundtrip();
	CU_ASSERT_EQUAL_FATAL(sdp->nmedia, 3);
	CU_ASSERT_EQUAL(sdp->media[0].port, 49172);
	CU_ASSERT(conn_is(sdp_media_conn(sdp, 0), SDP_AF_IP4, "192.0.2.5"));
	CU_ASSERT_EQUAL(sdp->media[1].port, 0);
	CU_ASSERT(pl_eq_str(&sdp->media[1].type, "video"));
	CU_ASSERT_EQUAL(sdp->media[1].pt[0], 31);
	CU_ASSERT_PTR_NULL(sdp_media_conn(sdp, 1));
	CU_ASSERT_EQUAL(sdp->media[2].port, 49174);
	CU_ASSERT_EQUAL(sdp->media[2].nports, 2);
	c = sdp_media_conn(sdp, 2);
	CU_ASSERT(conn_is(c, SDP_AF_IP4, "pbx.example.com"));
	CU_ASSERT(c && c->fqdn);
	CU_ASSERT_EQUAL(sdp_media_dir(sdp, 2), SDP_DIR_INACTIVE);
	CU_ASSERT_PTR_NULL(sdp_media_conn(sdp, 3));

	/* a rejected stream without an address cannot be revived first */
	CU_ASSERT_EQUAL(sdp_media_port_set(sdp, 1, 4000), EINVAL);
	CU_ASSERT_EQUAL(sdp_media_port_set(sdp, 1, 0), 0);
	/* anchor both live streams; the rejected one gets an address line
	   at its place, the port count stays */
	CU_ASSERT_EQUAL(sdp_conn_set(sdp, 0, SDP_AF_IP4, "203.0.113.1"), 0);
	CU_ASSERT_EQUAL(sdp_conn_set(sdp, 1, SDP_AF_IP4, "203.0.113.1"), 0);
	CU_ASSERT_EQUAL(sdp_conn_set(sdp, 2, SDP_AF_IP6, "2001:db8::7"), 0);
	CU_ASSERT_EQUAL(sdp_media_port_set(sdp, 2, 50000), 0);
	CU_ASSERT(conn_is(sdp_media_conn(sdp, 1), SDP_AF_IP4, "203.0.113.1"));
	CHECK_OUT(L("v=0") L("o=bob 2808844564 2808844565 IN IP4 192.0.2.5") L(
		"s=-") L("t=0 0") L("m=audio 49172 RTP/AVP 0 8")
			  L("c=IN IP4 203.0.113.1") L("a=rtpmap:0 PCMU/8000")
				  L("m=video 0 RTP/AVP 31") L(
					  "c=IN IP4 203.0.113.1")
					  L("m=audio 50000/2 RTP/AVP 8") L(
						  "c=IN IP6 2001:db8::7")
						  L("a=rtpmap:8 PCMA/8000")
							  L("a=inactive"));
}

/* LF-only input is accepted and its line ends kept, also for new lines. */
static void
test_lf_only(void)
{
	load("sdp/pbx_answer_lf.sdp");
	check_roundtrip();
	CU_ASSERT_EQUAL(sdp->eol, 1);
	CU_ASSERT_EQUAL(sdp->media[0].port, 14562);
	CU_ASSERT_EQUAL(sdp_media_port_set(sdp, 0, 30000), 0);
	CU_ASSERT_EQUAL(sdp_attr_add(sdp, 0, "rtcp-mux", NULL), 0);
	CU_ASSERT_EQUAL(sdp_version_bump(sdp), 0);
	CHECK_OUT("v=0\n"
		  "o=- 1696001234 1696001237 IN IP4 10.0.0.6\n"
		  "s=Asterisk\n"
		  "c=IN IP4 10.0.0.6\n"
		  "t=0 0\n"
		  "m=audio 30000 RTP/AVP 8 101\n"
		  "a=rtpmap:8 PCMA/8000\n"
		  "a=rtpmap:101 telephone-event/8000\n"
		  "a=fmtp:101 0-16\n"
		  "a=ptime:20\n"
		  "a=maxptime:150\n"
		  "a=sendrecv\n"
		  "a=rtcp-mux\n");
}

/* A last line without an end, blank lines after the last one. */
static void
test_line_end_edges(void)
{
	static const char noend[] = L("v=0") L("o=- 1 1 IN IP4 192.0.2.1")
		L("s=-") L("c=IN IP4 192.0.2.1") "m=audio 4000 RTP/AVP 0";
	static const char blank[] = L("v=0") L("o=- 1 1 IN IP4 192.0.2.1")
		L("s=-") L("c=IN IP4 192.0.2.1") L("m=audio 4000 RTP/AVP 0")
			L("") L("");
	const char *what;

	CU_ASSERT_EQUAL_FATAL(parse_str(noend, &what), 0);
	CHECK_OUT(noend);
	CU_ASSERT_EQUAL(sdp_attr_add(sdp, 0, "ptime", "20"), 0);
	CHECK_OUT(L("v=0") L("o=- 1 1 IN IP4 192.0.2.1") L("s=-")
			  L("c=IN IP4 192.0.2.1") L("m=audio 4000 RTP/AVP 0")
				  L("a=ptime:20"));
	CU_ASSERT_EQUAL_FATAL(parse_str(blank, &what), 0);
	CHECK_OUT(blank);
	CU_ASSERT_EQUAL(sdp_attr_add(sdp, 0, "ptime", "20"), 0);
	CHECK_OUT(L("v=0") L("o=- 1 1 IN IP4 192.0.2.1") L("s=-")
			  L("c=IN IP4 192.0.2.1") L("m=audio 4000 RTP/AVP 0")
				  L("a=ptime:20") L("") L(""));
}

static void
test_version(void)
{
	load("sdp/pbx_answer.sdp");
	CU_ASSERT_EQUAL(sdp_version_set(sdp, UINT64_MAX), 0);
	CU_ASSERT_EQUAL(sdp->origin.version, UINT64_MAX);
	CU_ASSERT(pl_eq_str(&sdp->line[sdp->oline].text,
			    "o=FreeSWITCH 1696000000 18446744073709551615 IN "
			    "IP4 10.0.0.5"));
	CU_ASSERT_EQUAL(sdp_version_bump(sdp), EOVERFLOW);
	CU_ASSERT_EQUAL(sdp_version_set(sdp, 0), 0);
	CU_ASSERT_EQUAL(sdp_version_bump(sdp), 0);
	CU_ASSERT(pl_eq_str(&sdp->line[sdp->oline].text,
			    "o=FreeSWITCH 1696000000 1 IN IP4 10.0.0.5"));
}

static void
test_origin_set(void)
{
	load("sdp/pbx_answer.sdp");
	CU_ASSERT_EQUAL(sdp_origin_set(sdp, "tandem", 42, 7), 0);
	CU_ASSERT(pl_eq_str(&sdp->line[sdp->oline].text,
			    "o=tandem 42 7 IN IP4 10.0.0.5"));
	CU_ASSERT_EQUAL(sdp->origin.version, 7);
	CU_ASSERT(pl_eq_str(&sdp->origin.sess_id, "42"));
	CU_ASSERT_EQUAL(sdp_version_bump(sdp), 0);
	CU_ASSERT(pl_eq_str(&sdp->line[sdp->oline].text,
			    "o=tandem 42 8 IN IP4 10.0.0.5"));
	CU_ASSERT_EQUAL(sdp_origin_set(sdp, "two words", 1, 1), EINVAL);
	CU_ASSERT_EQUAL(sdp_origin_set(sdp, "", 1, 1), EINVAL);
	CU_ASSERT_EQUAL(sdp_origin_set(sdp, NULL, 1, 1), EINVAL);
	CU_ASSERT(pl_eq_str(&sdp->line[sdp->oline].text,
			    "o=tandem 42 8 IN IP4 10.0.0.5"));
}

static void
test_encode_enospc(void)
{
	char small[64];
	size_t n = 0;

	load("sdp/pbx_answer.sdp");
	CU_ASSERT_EQUAL(sdp_encode(sdp, small, sizeof(small), &n), ENOSPC);
	CU_ASSERT_EQUAL(n, inlen);
	CU_ASSERT_EQUAL(sdp_encode(sdp, NULL, 0, &n), ENOSPC);
	CU_ASSERT_EQUAL(n, inlen);
}

/* Rewrites stop at the limits, and what is written still decodes. */
static void
test_rewrite_limits(void)
{
	unsigned i, added = 0;
	int rc = 0;

	load("sdp/carrier_offer.sdp");
	for (i = 0; i < 100 && rc == 0; i++) {
		rc = sdp_attr_add(sdp, 0, "x-test", "1");
		added += rc == 0;
	}
	CU_ASSERT_EQUAL(rc, ENOBUFS);
	CU_ASSERT_EQUAL(added, SDP_MAX_ATTR - 10);
	CU_ASSERT_EQUAL(sdp->media[0].nattr, SDP_MAX_ATTR);
	/* a removal makes room again */
	CU_ASSERT_EQUAL(sdp_attr_remove(sdp, 0, SDP_A_PTIME), 1);
	CU_ASSERT_EQUAL(sdp_attr_add(sdp, 0, "ptime", "30"), 0);
	/* the arena runs out of space for ever-changing o= lines */
	for (i = 0, rc = 0; i < 1000 && rc == 0; i++)
		rc = sdp_version_bump(sdp);
	CU_ASSERT_EQUAL(rc, ENOBUFS);
	CU_ASSERT_EQUAL(sdp_media_port_set(sdp, 0, 1), ENOBUFS);
	{
		static char out[16384];
		size_t n;
		struct sdp *again = malloc(sizeof(*again));

		CU_ASSERT_FATAL(again != NULL);
		CU_ASSERT_EQUAL(sdp_encode(sdp, out, sizeof(out), &n), 0);
		CU_ASSERT_EQUAL(sdp_decode(again, out, n, NULL), 0);
		CU_ASSERT_EQUAL(again->origin.version, sdp->origin.version);
		CU_ASSERT_EQUAL(again->media[0].nattr, SDP_MAX_ATTR);
		free(again);
	}
}

/* --- Bad input --------------------------------------------------------- */

#define HEAD L("v=0") L("o=- 1 1 IN IP4 192.0.2.1") L("s=-") L("t=0 0")
#define SESS HEAD L("c=IN IP4 192.0.2.1")

static const struct {
	const char *in;
	const char *what;
	unsigned line;
} bad[] = {
	{"", "missing v=", 0},
	{L("o=- 1 1 IN IP4 192.0.2.1") L("v=0"), "missing v=", 1},
	{L("v=1"), "v= line: version not 0", 1},
	{L("v=0") L("v=0"), "v= line: duplicate", 2},
	{L("v=0") L("s=-"), "o= line missing", 0},
	{L("v=0") L("o=- 1 1 IN IP4 192.0.2.1"), "s= line missing", 0},
	{L("v=0") L("o=- 1 x IN IP4 192.0.2.1"), "o= line: bad version", 2},
	{L("v=0") L("o=- 1 1 IN IP4"), "o= line: missing field", 2},
	{SESS L("m=audio 70000 RTP/AVP 0"), "m= line: bad port", 6},
	{SESS L("m=audio -1 RTP/AVP 0"), "m= line: bad port", 6},
	{SESS L("m=audio 4000/0 RTP/AVP 0"), "m= line: bad port count", 6},
	{SESS L("m=audio 4000/ RTP/AVP 0"), "m= line: bad port count", 6},
	{SESS "m=audio", "m= line: missing field", 6},
	{SESS "m=audio 4000 RTP/AVP", "m= line: no formats", 6},
	{SESS L("m=audio 4000 RTP/AVP 0 abc"), "m= line: bad payload type", 6},
	{SESS L("m=audio 4000 RTP/AVP 128"), "m= line: bad payload type", 6},
	{SESS L("m=audio 4000 RTP/AVP 0") L("a=rtpmap:x PCMU/8000"),
	 "a=rtpmap: bad payload type", 7},
	{SESS L("m=audio 4000 RTP/AVP 0") L("a=rtpmap:0 PCMU/8k"),
	 "a=rtpmap: bad clock rate", 7},
	{SESS L("m=audio 4000 RTP/AVP 0") L("a=rtpmap:0 PCMU"),
	 "a=rtpmap: missing encoding", 7},
	{SESS L("m=audio 4000 RTP/AVP 0") L("a=rtcp:99999"), "a=rtcp: bad port",
	 7},
	{SESS L("m=audio 4000 RTP/AVP 0") L("a=rtcp:4001 IN IP4 1.2.3"),
	 "a=rtcp: bad IPv4 address", 7},
	{SESS L("m=audio 4000 RTP/SAVP 0")
		 L("a=crypto:x AES_CM_128_HMAC_SHA1_80"
		   " inline:abc"),
	 "a=crypto: bad tag", 7},
	{SESS L("m=audio 4000 RTP/SAVP 0")
		 L("a=crypto:1 AES_CM_128_HMAC_SHA1_80"),
	 "a=crypto: missing key params", 7},
	{SESS L("m=audio 4000 RTP/AVP 0") L("a=fmtp"), "a=fmtp: missing format",
	 7},
	{SESS L(":x"), "line without '='", 6},
	{SESS L("foo"), "line without '='", 6},
	{SESS "a", "line without '='", 6},
	{SESS L("1=x"), "bad line type", 6},
	{SESS L("a=:x"), "a= line: empty attribute name", 6},
	{SESS L("") L("a=x"), "empty line", 6},
	{SESS L("a=x\ry"), "bad character in line", 6},
	{HEAD L("c=IN IP4 192.0.2.256"), "c= line: bad IPv4 address", 5},
	{HEAD L("c=IN IP4 192.0.2"), "c= line: bad IPv4 address", 5},
	{HEAD L("c=IN IP4 192.0.2.1.5"), "c= line: bad IPv4 address", 5},
	{HEAD L("c=IN IP6 2001:db8:::1"), "c= line: bad IPv6 address", 5},
	{HEAD L("c=IN IP6 1:2:3:4:5:6:7:8:9"), "c= line: bad IPv6 address", 5},
	{HEAD L("c=IN IP6 1.2.3.4"), "c= line: bad IPv6 address", 5},
	{HEAD L("c=IN IP5 192.0.2.1"), "c= line: unknown address type", 5},
	{HEAD L("c=ATM NSAP 47.0005"), "c= line: unknown network type", 5},
	{HEAD L("c=IN IP4"), "c= line: missing field", 5},
	{HEAD L("c=IN IP4 224.2.1.1/"), "c= line: bad multicast suffix", 5},
	{HEAD L("c=IN IP4 192.0.2.1") L("c=IN IP4 192.0.2.1"),
	 "c= line: duplicate", 6},
	{HEAD L("m=audio 4000 RTP/AVP 0"), "c= line missing", 5},
	{HEAD L("m=audio 4000 RTP/AVP 0") L("c=IN IP4 192.0.2.1")
		 L("m=audio 4002 RTP/AVP 0"),
	 "c= line missing", 7},
	{SESS L("m=audio 4000 RTP/AVP 0") L("o=- 1 1 IN IP4 192.0.2.1"),
	 "o= line: not at session level", 7},
};

static void
test_bad_input(void)
{
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct sdp_perr err = {NULL, 99};
		int rc = sdp_decode(sdp, bad[i].in, strlen(bad[i].in), &err);

		CU_ASSERT_EQUAL(rc, EBADMSG);
		CU_ASSERT_PTR_NOT_NULL(err.what);
		if (rc != EBADMSG || !err.what ||
		    strcmp(err.what, bad[i].what) != 0 ||
		    err.line != bad[i].line) {
			fprintf(stderr,
				"\nbad[%zu]: rc %d, '%s' line %u, "
				"expected '%s' line %u\n",
				i, rc, err.what ? err.what : "(null)", err.line,
				bad[i].what, bad[i].line);
			CU_FAIL("unexpected verdict");
		}
	}
}

/* NUL bytes and input that is not NUL-terminated. */
static void
test_bad_bytes(void)
{
	static const char nul[] = L("v=0") "o=- 1 1 IN\0IP4 192.0.2.1\r\n";
	char *heap;
	struct sdp_perr err;
	const char *good = SESS L("m=audio 4000 RTP/AVP 0");
	size_t n = strlen(good);

	CU_ASSERT_EQUAL(sdp_decode(sdp, nul, sizeof(nul) - 1, &err), EBADMSG);
	CU_ASSERT_STRING_EQUAL(err.what, "bad character in line");
	/* exact-size heap copy without a NUL: ASan catches any overread;
	   every prefix is either valid or refused */
	heap = malloc(n);
	CU_ASSERT_FATAL(heap != NULL);
	memcpy(heap, good, n);
	CU_ASSERT_EQUAL(sdp_decode(sdp, heap, n, &err), 0);
	for (size_t k = 0; k < n; k++) {
		int rc = sdp_decode(sdp, heap + n - k, k, &err);

		CU_ASSERT(rc == 0 || rc == EBADMSG);
		rc = sdp_decode(sdp, heap, k, &err);
		CU_ASSERT(rc == 0 || rc == EBADMSG);
	}
	free(heap);
}

/* Limits: m= lines, formats, attributes. */
static void
test_limits(void)
{
	static char buf[8192];
	struct sdp_perr err;
	size_t n;
	unsigned i;

	n = (size_t)snprintf(buf, sizeof(buf), "%s", SESS);
	for (i = 0; i < SDP_MAX_MEDIA; i++)
		n += (size_t)snprintf(buf + n, sizeof(buf) - n,
				      L("m=audio %u RTP/AVP 0"), 4000 + 2 * i);
	CU_ASSERT_EQUAL(sdp_decode(sdp, buf, n, &err), 0);
	CU_ASSERT_EQUAL(sdp->nmedia, SDP_MAX_MEDIA);
	n += (size_t)snprintf(buf + n, sizeof(buf) - n,
			      L("m=audio 9000 RTP/AVP 0"));
	CU_ASSERT_EQUAL(sdp_decode(sdp, buf, n, &err), EBADMSG);
	CU_ASSERT_STRING_EQUAL(err.what, "too many m= lines");
	CU_ASSERT_EQUAL(err.line, 6 + SDP_MAX_MEDIA);

	n = (size_t)snprintf(buf, sizeof(buf), "%sm=audio 4000 RTP/AVP", SESS);
	for (i = 0; i <= SDP_MAX_FMT; i++)
		n += (size_t)snprintf(buf + n, sizeof(buf) - n, " %u", i);
	CU_ASSERT_EQUAL(sdp_decode(sdp, buf, n, &err), EBADMSG);
	CU_ASSERT_STRING_EQUAL(err.what, "m= line: too many formats");

	n = (size_t)snprintf(buf, sizeof(buf), "%s", SESS);
	for (i = 0; i <= SDP_MAX_ATTR; i++)
		n += (size_t)snprintf(buf + n, sizeof(buf) - n, L("a=x-%u"), i);
	CU_ASSERT_EQUAL(sdp_decode(sdp, buf, n, &err), EBADMSG);
	CU_ASSERT_STRING_EQUAL(err.what, "too many attributes");
}

/* Address text checks. */
static void
test_addr_text(void)
{
	static const char *const v6ok[] = {"::",
					   "::1",
					   "2001:db8::1",
					   "1::",
					   "1:2:3:4:5:6:7:8",
					   "::ffff:192.0.2.1",
					   "fe80::1:2",
					   "1:2:3:4:5:6::8"};
	static const char *const v6bad[] = {":",
					    ":1",
					    "1:",
					    "1:::2",
					    "::1::2",
					    "1:2:3:4:5:6:7:8:9",
					    "12345::",
					    "::g",
					    "1::2::3",
					    "::1.2.3",
					    "1:2:3:4:5:6:7::8"};
	size_t i;

	for (i = 0; i < sizeof(v6ok) / sizeof(v6ok[0]); i++) {
		struct pl p = {v6ok[i], strlen(v6ok[i])};

		CU_ASSERT(sdp_is_ip6(&p));
		if (!sdp_is_ip6(&p))
			fprintf(stderr, "\nrefused %s\n", v6ok[i]);
	}
	for (i = 0; i < sizeof(v6bad) / sizeof(v6bad[0]); i++) {
		struct pl p = {v6bad[i], strlen(v6bad[i])};

		CU_ASSERT(!sdp_is_ip6(&p));
		if (sdp_is_ip6(&p))
			fprintf(stderr, "\naccepted %s\n", v6bad[i]);
	}
	{
		struct pl a = PL("0.0.0.0"), b = PL("255.255.255.255"),
			  c = PL("1.2.3.04"), d = PL("1.2.3.0004"),
			  e = PL(".1.2.3");

		CU_ASSERT(sdp_is_ip4(&a));
		CU_ASSERT(sdp_is_ip4(&b));
		CU_ASSERT(sdp_is_ip4(&c));
		CU_ASSERT(!sdp_is_ip4(&d));
		CU_ASSERT(!sdp_is_ip4(&e));
	}
}

/* Regression inputs found by fuzzing (tests/data/sdp/crash-*.sdp): each is
   refused with its phrase, without undefined behaviour (run under ASan and
   UBSan) on an exact-size buffer. */
static void
test_fuzz_regressions(void)
{
	static const struct {
		const char *file;
		const char *what; /* NULL: decodes */
	} cases[] = {
		/* "//" in a c= suffix: pointer before the slice (UBSan) */
		{"sdp/crash-suffix-slashes.sdp",
		 "c= line: bad multicast suffix"},
		/* "a=rtcp" without a value: arithmetic on an absent slice */
		{"sdp/crash-rtcp-novalue.sdp", "a=rtcp: bad port"},
	};
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct sdp_perr err = {NULL, 0};
		char *b, *exact;
		size_t n;
		int rc;

		CU_ASSERT_EQUAL_FATAL(
			tu_read_file(tu_data(cases[i].file), &b, &n), 0);
		/* exact-size copy: no NUL after the input */
		exact = malloc(n ? n : 1);
		CU_ASSERT_FATAL(exact != NULL);
		memcpy(exact, b, n);
		rc = sdp_decode(sdp, exact, n, &err);
		if (cases[i].what) {
			CU_ASSERT_EQUAL(rc, EBADMSG);
			CU_ASSERT(err.what && !strcmp(err.what, cases[i].what));
			if (err.what && strcmp(err.what, cases[i].what))
				fprintf(stderr, "\n%s: %s\n", cases[i].file,
					err.what);
		} else {
			CU_ASSERT_EQUAL(rc, 0);
			if (rc)
				fprintf(stderr, "\n%s: %s\n", cases[i].file,
					err.what);
		}
		free(exact);
		free(b);
	}
}

static int
suite_init(void)
{
	sdp = malloc(sizeof(*sdp));
	return sdp ? 0 : 1;
}

static int
suite_clean(void)
{
	free(sdp);
	free(in);
	sdp = NULL;
	in = NULL;
	return 0;
}

void test_sdp_register(void);
void
test_sdp_register(void)
{
	CU_pSuite s = tu_suite("sdp");

	CU_set_suite_initfunc(s, suite_init);
	CU_set_suite_cleanupfunc(s, suite_clean);
	TU_ADD(s, test_carrier_offer);
	TU_ADD(s, test_rewrite_addr_ports);
	TU_ADD(s, test_rewrite_codec_filter);
	TU_ADD(s, test_codec_reorder);
	TU_ADD(s, test_pbx_answer);
	TU_ADD(s, test_srtp_offer);
	TU_ADD(s, test_rewrite_crypto);
	TU_ADD(s, test_webrtc_offer);
	TU_ADD(s, test_rewrite_ice_removal);
	TU_ADD(s, test_hold);
	TU_ADD(s, test_rewrite_direction);
	TU_ADD(s, test_direction_levels);
	TU_ADD(s, test_ipv6);
	TU_ADD(s, test_multi_rejected);
	TU_ADD(s, test_lf_only);
	TU_ADD(s, test_line_end_edges);
	TU_ADD(s, test_version);
	TU_ADD(s, test_origin_set);
	TU_ADD(s, test_encode_enospc);
	TU_ADD(s, test_rewrite_limits);
	TU_ADD(s, test_bad_input);
	TU_ADD(s, test_bad_bytes);
	TU_ADD(s, test_limits);
	TU_ADD(s, test_addr_text);
	TU_ADD(s, test_fuzz_regressions);
}
