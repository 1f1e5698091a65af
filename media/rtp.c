/* RTP/RTCP header checks and receive statistics: RFC 3550 §5.1, §6.4,
   A.1, A.3, A.8; RFC 5761 §4 demultiplexing. */
#include "rtp.h"

#include <errno.h>

#define RTP_SEQ_MOD (1u << 16)
#define MAX_DROPOUT 3000 /* A.1 */
#define MAX_MISORDER 100 /* A.1 */

static uint16_t
be16(const uint8_t *p)
{
	return (uint16_t)((unsigned)p[0] << 8 | p[1]);
}

static uint32_t
be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	       (uint32_t)p[2] << 8 | p[3];
}

int
rtp_hdr_decode(const uint8_t *buf, size_t len, struct rtp_hdr *h)
{
	size_t hlen, pad = 0;

	if (len < RTP_HDR_MIN || (buf[0] >> 6) != 2)
		return EBADMSG;
	hlen = RTP_HDR_MIN + 4u * (buf[0] & 0x0f);
	if (hlen > len)
		return EBADMSG;
	if (buf[0] & 0x10) { /* extension: 16-bit profile, 16-bit words */
		if (hlen + 4 > len)
			return EBADMSG;
		hlen += 4 + 4u * be16(buf + hlen + 2);
		if (hlen > len)
			return EBADMSG;
	}
	if (buf[0] & 0x20) { /* padding: count in the last byte, >= 1 */
		pad = buf[len - 1];
		if (pad == 0 || pad > len - hlen)
			return EBADMSG;
	}
	if (h) {
		h->marker = (buf[1] & 0x80) != 0;
		h->pt = buf[1] & 0x7f;
		h->seq = be16(buf + 2);
		h->ts = be32(buf + 4);
		h->ssrc = be32(buf + 8);
		h->hlen = hlen;
	}
	return 0;
}

int
rtp_rtcp_check(const uint8_t *buf, size_t len)
{
	size_t off = 0;

	if (len < RTCP_HDR_MIN || buf[1] < 192 || buf[1] > 223)
		return EBADMSG;
	while (off < len) {
		size_t plen;

		if (len - off < 4 || (buf[off] >> 6) != 2)
			return EBADMSG;
		plen = 4u * ((size_t)be16(buf + off + 2) + 1);
		if (plen > len - off)
			return EBADMSG;
		off += plen;
	}
	return 0;
}

int
rtp_rtcp_rb_find(const uint8_t *buf, size_t len, struct rtp_rtcp_rb *rb)
{
	size_t off = 0;

	while (len - off >= 4) {
		size_t plen = 4u * ((size_t)be16(buf + off + 2) + 1);
		unsigned rc = buf[off] & 0x1f, pt = buf[off + 1];
		/* SR: header, SSRC, 20 bytes of sender info; RR: header,
		   SSRC; then the report blocks */
		size_t rb0 = pt == 200 ? 28 : 8;

		if (plen > len - off)
			break;
		if ((pt == 200 || pt == 201) && rc > 0 && plen >= rb0 + 24) {
			const uint8_t *b = buf + off + rb0;
			uint32_t cl = ((uint32_t)b[5] << 16) |
				      ((uint32_t)b[6] << 8) | b[7];

			rb->ssrc = be32(b);
			rb->fraction = b[4];
			/* 24-bit two's complement */
			rb->cum_lost =
				(int32_t)(cl & 0x800000u ? cl | 0xff000000u
							 : cl);
			rb->jitter = be32(b + 12);
			return 0;
		}
		off += plen;
	}
	return ENOENT;
}

bool
rtp_is_rtcp(const uint8_t *buf, size_t len)
{
	return len >= 2 && buf[1] >= 192 && buf[1] <= 223;
}

static void
seq_init(struct rtp_rxstat *st, uint16_t seq)
{
	st->base_seq = seq;
	st->max_seq = seq;
	st->bad_seq = RTP_SEQ_MOD + 1; /* so seq == bad_seq is false */
	st->cycles = 0;
	st->received = 0;
}

/* A.1 update_seq(), without the probation: returns false for a packet
   that A.1 would not count (a first large jump). */
static bool
seq_update(struct rtp_rxstat *st, uint16_t seq)
{
	uint16_t udelta = (uint16_t)(seq - st->max_seq);

	if (udelta < MAX_DROPOUT) {
		if (seq < st->max_seq)
			st->cycles += RTP_SEQ_MOD; /* wrapped */
		st->max_seq = seq;
	} else if (udelta <= RTP_SEQ_MOD - MAX_MISORDER) {
		/* a large jump: restart if it repeats in sequence */
		if (seq != st->bad_seq) {
			st->bad_seq = (seq + 1u) & (RTP_SEQ_MOD - 1);
			return false;
		}
		st->lost_prev = rtp_rxstat_lost(st);
		seq_init(st, seq);
	}
	/* else a duplicate or reordered packet: counted */
	st->received++;
	return true;
}

/* A.8: J += (|D| - J) / 16, kept as J x 16 in integers. */
static void
jitter_update(struct rtp_rxstat *st, uint32_t ts, uint64_t arrival_us,
	      uint32_t rate)
{
	uint32_t arrival = (uint32_t)(arrival_us * rate / 1000000u);
	uint32_t transit = arrival - ts;
	int32_t d;

	if (st->have_transit) {
		d = (int32_t)(transit - st->transit);
		if (d < 0)
			d = -d;
		st->jitter_q4 += (uint32_t)d - ((st->jitter_q4 + 8) >> 4);
	}
	st->transit = transit;
	st->have_transit = true;
}

void
rtp_rxstat_update(struct rtp_rxstat *st, const struct rtp_hdr *h,
		  uint64_t arrival_us, uint32_t clock_rate)
{
	if (!clock_rate)
		clock_rate = 8000;
	if (!st->init || st->ssrc != h->ssrc) {
		if (st->init)
			st->lost_prev = rtp_rxstat_lost(st);
		seq_init(st, h->seq);
		st->init = true;
		st->ssrc = h->ssrc;
		st->have_transit = false;
		st->jitter_q4 = 0;
		st->received = 1;
	} else if (!seq_update(st, h->seq)) {
		return;
	}
	jitter_update(st, h->ts, arrival_us, clock_rate);
}

uint64_t
rtp_rxstat_expected(const struct rtp_rxstat *st)
{
	if (!st->init)
		return 0;
	return (uint64_t)st->cycles + st->max_seq - st->base_seq + 1;
}

int64_t
rtp_rxstat_lost(const struct rtp_rxstat *st)
{
	if (!st->init)
		return st->lost_prev;
	return st->lost_prev + (int64_t)rtp_rxstat_expected(st) -
	       (int64_t)st->received;
}

uint32_t
rtp_rxstat_jitter(const struct rtp_rxstat *st)
{
	return st->jitter_q4 >> 4;
}

uint16_t
rtp_mos_x100(uint64_t lost, uint64_t expected, uint32_t jitter_us,
	     uint32_t delay_ms)
{
	double eff, r, loss, mos;

	if (!expected)
		return 0;
	if (lost > expected)
		lost = expected;
	eff = (double)delay_ms + 2.0 * (double)jitter_us / 1000.0 + 10.0;
	r = eff < 160.0 ? 93.2 - eff / 40.0 : 93.2 - (eff - 120.0) / 10.0;
	loss = 100.0 * (double)lost / (double)expected;
	r -= 2.5 * loss;
	if (r < 0.0)
		r = 0.0;
	if (r > 100.0)
		r = 100.0;
	/* G.107 Annex B: MOS = 1 + 0.035 R + 7e-6 R (R - 60) (100 - R) */
	mos = 1.0 + 0.035 * r + 7e-6 * r * (r - 60.0) * (100.0 - r);
	if (mos < 1.0)
		mos = 1.0;
	return (uint16_t)(mos * 100.0 + 0.5);
}
