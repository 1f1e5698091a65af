/* RTP/RTCP header checks and receive statistics: RFC 3550 §5.1 and §6.4
   (headers), A.1 and A.3 (sequence and loss), A.8 (interarrival jitter);
   RTP/RTCP on one port, RFC 5761 §4. Pure functions, no I/O. */
#ifndef TANDEM_RTP_H
#define TANDEM_RTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define RTP_HDR_MIN 12 /* fixed RTP header (RFC 3550 §5.1) */
#define RTCP_HDR_MIN 8 /* an RR without report blocks (§6.4.2) */

/* The fields of an RTP header the relay looks at. */
struct rtp_hdr {
	uint8_t pt;
	bool marker;
	uint16_t seq;
	uint32_t ts;
	uint32_t ssrc;
	size_t hlen; /* header bytes incl. CSRCs and extension */
};

/*
 * Check buf[0..len) as an RTP packet: version 2, at least 12 bytes, the
 * CSRC list, the header extension and the padding count fitting in the
 * datagram. Fills *h (may be NULL). Returns 0 or EBADMSG. Never reads
 * outside buf.
 */
int rtp_hdr_decode(const uint8_t *buf, size_t len, struct rtp_hdr *h);

/*
 * Check buf[0..len) as a compound RTCP packet (RFC 3550 §6.1, A.2):
 * version 2 in every packet, each length field landing inside the
 * datagram and the last one exactly on its end, at least 8 bytes, the
 * first packet an SR or RR (or, leniently, any PT 192..223). Returns 0 or
 * EBADMSG. Never reads outside buf.
 */
int rtp_rtcp_check(const uint8_t *buf, size_t len);

/* The first reception report block of a compound RTCP packet (RFC 3550
   §6.4.1/§6.4.2, in an SR or RR): what the sender of the RTCP says about
   the media it receives. */
struct rtp_rtcp_rb {
	uint32_t ssrc;	  /* the source reported on */
	uint8_t fraction; /* lost since the last report, /256 */
	int32_t cum_lost; /* cumulative, 24-bit signed */
	uint32_t jitter;  /* interarrival jitter, ts units */
};
/* Find it in a buffer that passed rtp_rtcp_check(). 0, or ENOENT when no
   SR/RR with a report block is there. Never reads outside buf. */
int rtp_rtcp_rb_find(const uint8_t *buf, size_t len, struct rtp_rtcp_rb *rb);

/* RFC 5761 §4: on a multiplexed port, a second byte of 192..223 is RTCP
   (RTP payload types 64..95 with the marker bit would collide; RFC 5761
   tells senders to avoid them). False for datagrams shorter than 2. */
bool rtp_is_rtcp(const uint8_t *buf, size_t len);

/*
 * Receive statistics of one source (RFC 3550 A.1, A.3, A.8). Private to the
 * thread that receives; zero it before first use. A new SSRC restarts the
 * sequence state; what was lost under the previous SSRC is kept in
 * lost_prev.
 */
struct rtp_rxstat {
	bool init;
	uint32_t ssrc;
	uint16_t max_seq;   /* highest sequence number seen */
	uint32_t cycles;    /* shifted count of sequence wraps */
	uint32_t base_seq;  /* first sequence number (extended) */
	uint32_t bad_seq;   /* A.1: last "jump" seen + 1 */
	uint64_t received;  /* packets counted for this SSRC */
	int64_t lost_prev;  /* lost under earlier SSRCs */
	uint32_t transit;   /* A.8: previous transit time */
	uint32_t jitter_q4; /* A.8: jitter in ts units x 16 */
	bool have_transit;
};

/*
 * Account one valid RTP packet h that arrived at arrival_us (any clock in
 * microseconds) on a stream of clock_rate Hz (0 means 8000).
 */
void rtp_rxstat_update(struct rtp_rxstat *st, const struct rtp_hdr *h,
		       uint64_t arrival_us, uint32_t clock_rate);
/* Cumulative packets lost (A.3: expected - received, over every SSRC);
   negative when duplicates outnumber losses. */
int64_t rtp_rxstat_lost(const struct rtp_rxstat *st);
/* Packets expected for the current SSRC (A.3). */
uint64_t rtp_rxstat_expected(const struct rtp_rxstat *st);
/* Interarrival jitter in timestamp units (A.8). */
uint32_t rtp_rxstat_jitter(const struct rtp_rxstat *st);

/*
 * Listening-quality estimate of a G.711-class stream from what the relay
 * sees: the ITU-T G.107 E-model reduced the usual way for monitoring
 * (R = 93.2 less a delay impairment for the one-way delay plus a jitter
 * buffer of twice the jitter plus 10 ms, less 2.5 per percent of packets
 * lost; MOS from R by G.107 Annex B). lost / expected are packets (lost
 * clamped to 0..expected), delay_ms the one-way delay if known (0 else).
 * Returns MOS x 100 (100..441), or 0 when nothing was expected.
 */
uint16_t rtp_mos_x100(uint64_t lost, uint64_t expected, uint32_t jitter_us,
		      uint32_t delay_ms);

#endif
