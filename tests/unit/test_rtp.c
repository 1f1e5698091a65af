/* Unit tests: RTP/RTCP header checks and receive statistics (media/rtp.c):
   RFC 3550 A.1/A.3 loss and A.8 jitter on hand-computed sequences. */
#include <errno.h>
#include <string.h>

#include "media/rtp.h"
#include "testutil.h"

static size_t
mk_rtp(uint8_t *b, uint16_t seq, uint32_t ts, uint32_t ssrc)
{
	memset(b, 0, 172);
	b[0] = 0x80;
	b[1] = 0; /* PCMU */
	b[2] = (uint8_t)(seq >> 8);
	b[3] = (uint8_t)seq;
	b[4] = (uint8_t)(ts >> 24);
	b[5] = (uint8_t)(ts >> 16);
	b[6] = (uint8_t)(ts >> 8);
	b[7] = (uint8_t)ts;
	b[8] = (uint8_t)(ssrc >> 24);
	b[11] = (uint8_t)ssrc;
	return 172;
}

static void
test_hdr(void)
{
	uint8_t b[200];
	struct rtp_hdr h;

	mk_rtp(b, 0x1234, 0xdeadbeef, 0x01000007);
	b[1] = 0x80 | 96;
	CU_ASSERT_EQUAL(rtp_hdr_decode(b, 172, &h), 0);
	CU_ASSERT_EQUAL(h.seq, 0x1234);
	CU_ASSERT_EQUAL(h.ts, 0xdeadbeef);
	CU_ASSERT_EQUAL(h.ssrc, 0x01000007);
	CU_ASSERT_EQUAL(h.pt, 96);
	CU_ASSERT(h.marker);
	CU_ASSERT_EQUAL(h.hlen, 12);
	CU_ASSERT_EQUAL(rtp_hdr_decode(b, 11, &h), EBADMSG);
	CU_ASSERT_EQUAL(rtp_hdr_decode(b, 12, &h), 0);
	b[0] = 0x40; /* version 1 */
	CU_ASSERT_EQUAL(rtp_hdr_decode(b, 172, &h), EBADMSG);
	b[0] = 0x8f; /* 15 CSRCs = 60 bytes: 72 > 40 */
	CU_ASSERT_EQUAL(rtp_hdr_decode(b, 40, &h), EBADMSG);
	CU_ASSERT_EQUAL(rtp_hdr_decode(b, 72, &h), 0);
	CU_ASSERT_EQUAL(h.hlen, 72);
	b[0] = 0x90; /* extension of 0xffff words: beyond */
	b[14] = 0xff;
	b[15] = 0xff;
	CU_ASSERT_EQUAL(rtp_hdr_decode(b, 172, &h), EBADMSG);
	CU_ASSERT_EQUAL(rtp_hdr_decode(b, 15, &h), EBADMSG);
	b[14] = 0;
	b[15] = 2; /* 12 + 4 + 8 */
	CU_ASSERT_EQUAL(rtp_hdr_decode(b, 172, &h), 0);
	CU_ASSERT_EQUAL(h.hlen, 24);
	b[0] = 0xa0; /* padding */
	b[171] = 0;
	CU_ASSERT_EQUAL(rtp_hdr_decode(b, 172, &h), EBADMSG);
	b[171] = 161;
	CU_ASSERT_EQUAL(rtp_hdr_decode(b, 172, &h), EBADMSG);
	b[171] = 160;
	CU_ASSERT_EQUAL(rtp_hdr_decode(b, 172, &h), 0);
}

static void
test_rtcp(void)
{
	/* RR without blocks (8 bytes) followed by an SDES of 12 bytes */
	uint8_t b[20] = {0x80, 201, 0, 1, 1, 2, 3, 4, 0x81, 202,
			 0,    2,   1, 2, 3, 4, 1, 0, 0,    0};

	CU_ASSERT_EQUAL(rtp_rtcp_check(b, 20), 0);
	CU_ASSERT_EQUAL(rtp_rtcp_check(b, 8), 0);
	CU_ASSERT_EQUAL(rtp_rtcp_check(b, 19), EBADMSG); /* short last */
	CU_ASSERT_EQUAL(rtp_rtcp_check(b, 7), EBADMSG);
	CU_ASSERT_EQUAL(rtp_rtcp_check(b, 10), EBADMSG); /* 2 bytes over */
	b[3] = 9; /* length beyond the datagram */
	CU_ASSERT_EQUAL(rtp_rtcp_check(b, 20), EBADMSG);
	b[3] = 1;
	b[8] = 0x41; /* version 1 in the second */
	CU_ASSERT_EQUAL(rtp_rtcp_check(b, 20), EBADMSG);
	CU_ASSERT(rtp_is_rtcp(b, 20));
	CU_ASSERT(!rtp_is_rtcp(b, 1));
	b[1] = 0x80 | 0; /* RTP PT 0 with marker */
	CU_ASSERT(!rtp_is_rtcp(b, 20));
	CU_ASSERT_EQUAL(rtp_rtcp_check(b, 20), EBADMSG);
}

static void
feed(struct rtp_rxstat *st, uint16_t seq, uint32_t ts, uint32_t ssrc,
     uint64_t us)
{
	uint8_t b[172];
	struct rtp_hdr h;

	mk_rtp(b, seq, ts, ssrc);
	CU_ASSERT_EQUAL_FATAL(rtp_hdr_decode(b, sizeof(b), &h), 0);
	rtp_rxstat_update(st, &h, us, 8000);
}

static void
test_loss(void)
{
	struct rtp_rxstat st = {0};

	/* 65534, 65535, 0 (wrap), 2 (1 lost), 3, 6 (4, 5 lost), 3 (dup) */
	feed(&st, 65534, 0, 1, 0);
	feed(&st, 65535, 160, 1, 20000);
	feed(&st, 0, 320, 1, 40000);
	feed(&st, 2, 640, 1, 80000);
	feed(&st, 3, 800, 1, 100000);
	feed(&st, 6, 1280, 1, 160000);
	CU_ASSERT_EQUAL(rtp_rxstat_expected(&st), 9);
	CU_ASSERT_EQUAL(rtp_rxstat_lost(&st), 3);
	/* perfectly paced: jitter stays 0 */
	CU_ASSERT_EQUAL(st.jitter_q4, 0);
	feed(&st, 3, 800, 1, 170000); /* duplicate: counted, lost - 1 */
	CU_ASSERT_EQUAL(rtp_rxstat_lost(&st), 2);
	/* a large jump is only believed when it repeats (A.1) */
	feed(&st, 30000, 2000, 1, 180000);
	CU_ASSERT_EQUAL(rtp_rxstat_lost(&st), 2);
	feed(&st, 30001, 2160, 1, 200000);
	CU_ASSERT_EQUAL(rtp_rxstat_expected(&st), 1);
	CU_ASSERT_EQUAL(rtp_rxstat_lost(&st), 2);
	/* new SSRC: loss of the old one kept */
	feed(&st, 500, 0, 2, 220000);
	feed(&st, 502, 320, 2, 260000);
	CU_ASSERT_EQUAL(rtp_rxstat_lost(&st), 3);
}

static void
test_jitter(void)
{
	struct rtp_rxstat st = {0};

	/* 8 kHz, 20 ms packets (160 ts). Arrivals (ms): 0, 20, 50, 60.
	   transit (ts units): 0, 0, 80, -0 -> 0 = 480-480.
	   D: 0, 80, 80.  A.8 integer: J16 += |D| - ((J16 + 8) >> 4)
	   J16: 0 -> 80 -> 80 + 80 - 5 = 155; J = 155 >> 4 = 9. */
	feed(&st, 1, 0, 9, 0);
	feed(&st, 2, 160, 9, 20000);
	CU_ASSERT_EQUAL(st.jitter_q4, 0);
	feed(&st, 3, 320, 9, 50000);
	CU_ASSERT_EQUAL(st.jitter_q4, 80);
	feed(&st, 4, 480, 9, 60000);
	CU_ASSERT_EQUAL(st.jitter_q4, 155);
	CU_ASSERT_EQUAL(rtp_rxstat_jitter(&st), 9);
	CU_ASSERT_EQUAL(rtp_rxstat_lost(&st), 0);
}

/* MOS estimate against values worked by hand from the formula:
   no loss, no jitter: eff 10 ms, R = 93.2 - 0.25 = 92.95,
   MOS = 1 + 3.25325 + 7e-6 * 92.95 * 32.95 * 7.05 = 4.4044 -> 440;
   5 % loss, 20 ms jitter: eff 50, R = 93.2 - 1.25 - 12.5 = 79.45,
   MOS = 1 + 2.78075 + 7e-6 * 79.45 * 19.45 * 20.55 = 3.9960 -> 400;
   delay 300 ms, no loss: eff 310, R = 93.2 - 19 = 74.2,
   MOS = 1 + 2.597 + 7e-6 * 74.2 * 14.2 * 25.8 = 3.7873 -> 379;
   all lost: R 0, MOS 1. */
static void
test_mos(void)
{
	CU_ASSERT_EQUAL(rtp_mos_x100(0, 1000, 0, 0), 440);
	CU_ASSERT_EQUAL(rtp_mos_x100(50, 1000, 20000, 0), 400);
	CU_ASSERT_EQUAL(rtp_mos_x100(0, 1000, 0, 300), 379);
	CU_ASSERT_EQUAL(rtp_mos_x100(1000, 1000, 0, 0), 100);
	CU_ASSERT_EQUAL(rtp_mos_x100(5000, 1000, 0, 0), 100);
	CU_ASSERT_EQUAL(rtp_mos_x100(0, 0, 0, 0), 0);
}

/* Report blocks (RFC 3550 §6.4): in an SR after the sender info, in an
   RR after the SSRC, negative cumulative loss, none in an empty RR. */
static void
test_rtcp_rb(void)
{
	/* SR, RC 1: hdr, ssrc, 20 bytes sender info, one block; then an
	   SDES to make it compound */
	uint8_t sr[52 + 8] = {0x81, 200, 0, 12, 1, 2, 3, 4};
	uint8_t rr[32] = {0x81, 201, 0, 7, 9, 9, 9, 9};
	uint8_t empty[8] = {0x80, 201, 0, 1, 1, 1, 1, 1};
	struct rtp_rtcp_rb rb;

	sr[28] = 0xaa, sr[31] = 0xbb;		  /* reported SSRC 0xaa0000bb */
	sr[32] = 64;				  /* 25 % */
	sr[33] = 0, sr[34] = 0x01, sr[35] = 0x00; /* 256 lost */
	sr[43] = 80;				  /* jitter 80 */
	sr[52] = 0x81, sr[53] = 202, sr[54] = 0, sr[55] = 1;
	CU_ASSERT_EQUAL(rtp_rtcp_check(sr, sizeof(sr)), 0);
	CU_ASSERT_EQUAL(rtp_rtcp_rb_find(sr, sizeof(sr), &rb), 0);
	CU_ASSERT_EQUAL(rb.ssrc, 0xaa0000bbu);
	CU_ASSERT_EQUAL(rb.fraction, 64);
	CU_ASSERT_EQUAL(rb.cum_lost, 256);
	CU_ASSERT_EQUAL(rb.jitter, 80);
	rr[13] = 0xff, rr[14] = 0xff, rr[15] = 0xfe; /* -2: duplicates */
	CU_ASSERT_EQUAL(rtp_rtcp_check(rr, sizeof(rr)), 0);
	CU_ASSERT_EQUAL(rtp_rtcp_rb_find(rr, sizeof(rr), &rb), 0);
	CU_ASSERT_EQUAL(rb.cum_lost, -2);
	CU_ASSERT_EQUAL(rtp_rtcp_rb_find(empty, sizeof(empty), &rb), ENOENT);
	/* RC says 1 but the length holds no block: none read */
	rr[3] = 1;
	CU_ASSERT_EQUAL(rtp_rtcp_rb_find(rr, 8, &rb), ENOENT);
}

void test_rtp_register(void);
void
test_rtp_register(void)
{
	CU_pSuite s = tu_suite("rtp");

	TU_ADD(s, test_hdr);
	TU_ADD(s, test_rtcp);
	TU_ADD(s, test_loss);
	TU_ADD(s, test_jitter);
	TU_ADD(s, test_mos);
	TU_ADD(s, test_rtcp_rb);
}
