/* libFuzzer target: RTP/RTCP header checks and receive statistics
   (media/rtp.c). The input is a run of datagrams, each prefixed with a
   one-byte length; each is checked as RTP and RTCP and, if it decodes as
   RTP, fed to the statistics with a made-up arrival time. abort() when a
   check accepts what does not fit the datagram. */
#include <stdint.h>
#include <stdlib.h>

#include "media/rtp.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
check(bool ok)
{
	if (!ok)
		abort();
}

static void
one(struct rtp_rxstat *st, const uint8_t *p, size_t len, uint64_t us)
{
	struct rtp_hdr h;
	uint8_t *copy = malloc(len ? len : 1); /* exact size for ASan */

	if (!copy)
		return;
	for (size_t i = 0; i < len; i++)
		copy[i] = p[i];
	if (rtp_hdr_decode(copy, len, &h) == 0) {
		check(len >= RTP_HDR_MIN && h.hlen <= len);
		rtp_rxstat_update(st, &h, us, (uint32_t)(p[0] * 1000u));
	}
	if (rtp_rtcp_check(copy, len) == 0)
		check(len >= RTCP_HDR_MIN && len % 4 == 0);
	(void)rtp_is_rtcp(copy, len);
	free(copy);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct rtp_rxstat st = {0};
	uint64_t us = 0;
	size_t off = 0;

	one(&st, data, size, us);
	while (off < size) {
		size_t len = data[off++];

		if (len > size - off)
			len = size - off;
		us += 20000u + (len & 7u) * 1000u;
		one(&st, data + off, len, us);
		off += len;
	}
	(void)rtp_rxstat_lost(&st);
	(void)rtp_rxstat_jitter(&st);
	check(!st.init || rtp_rxstat_expected(&st) >= 1);
	return 0;
}
