/* libsrtp alone, for the benchmarks that compare Tandem's SRTP with it
   (sec_bench, relay_bench): srtp_create() with a suite's policy, then
   srtp_protect() of len-byte RTP packets for about secs seconds; ns per
   packet, or a negative value when libsrtp refuses. With nsess > 1 there
   are that many sessions, each with its own key, and the packets go round
   robin over them, as a relay's streams do: their contexts then compete
   for the cache as the relay's do. libsrtp must be initialised
   (media/sec.c does it on first use). */
#ifndef TANDEM_BENCH_SRTP_RAW_H
#define TANDEM_BENCH_SRTP_RAW_H

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <srtp2/srtp.h>

#include "media/sec.h"

static double
srtp_raw_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void
srtp_raw_free(srtp_t *sess, uint16_t *seq, unsigned nsess)
{
	unsigned i;

	for (i = 0; i < nsess; i++)
		if (sess[i])
			srtp_dealloc(sess[i]);
	free(sess);
	free(seq);
}

static double
srtp_raw_protect_ns(enum sec_suite su, size_t len, double secs, unsigned nsess)
{
	enum { N = 64, MAXLEN = 1500 };
	static uint8_t pk[N][MAXLEN + 32];
	uint8_t key[64];
	srtp_policy_t pol;
	srtp_t *sess;
	uint16_t *seq;
	uint64_t n = 0;
	double t0, t, tp = 0;
	unsigned i, j, next = 0;

	if (len < 12 || len > MAXLEN || nsess < 1 || nsess > 100000)
		return -1;
	sess = calloc(nsess, sizeof(*sess));
	seq = calloc(nsess, sizeof(*seq));
	if (!sess || !seq) {
		srtp_raw_free(sess, seq, 0);
		return -1;
	}
	memset(&pol, 0, sizeof(pol));
	switch (su) {
	case SEC_AES_CM_128_HMAC_SHA1_80:
		srtp_crypto_policy_set_aes_cm_128_hmac_sha1_80(&pol.rtp);
		break;
	case SEC_AES_CM_128_HMAC_SHA1_32:
		srtp_crypto_policy_set_aes_cm_128_hmac_sha1_32(&pol.rtp);
		break;
	case SEC_AEAD_AES_128_GCM:
		srtp_crypto_policy_set_aes_gcm_128_16_auth(&pol.rtp);
		break;
	default:
		srtp_crypto_policy_set_aes_gcm_256_16_auth(&pol.rtp);
		break;
	}
	srtp_crypto_policy_set_rtcp_default(&pol.rtcp);
	pol.ssrc.type = ssrc_any_outbound;
	pol.key = key;
	pol.window_size = 128;
	for (j = 0; j < nsess; j++) {
		for (i = 0; i < sizeof(key); i++)
			key[i] = (uint8_t)(i * 37 + 11 + j);
		if (srtp_create(&sess[j], &pol) != srtp_err_status_ok) {
			srtp_raw_free(sess, seq, nsess);
			return -1;
		}
	}
	/* one packet through each session first: libsrtp makes the stream
	   from the template on a session's first packet */
	for (j = 0; j < nsess; j++) {
		int l = (int)len;

		memset(pk[0], 0xd5, len);
		pk[0][0] = 0x80;
		pk[0][1] = 0;
		pk[0][2] = 0;
		pk[0][3] = (uint8_t)seq[j]++;
		if (srtp_protect(sess[j], pk[0], &l) != srtp_err_status_ok) {
			srtp_raw_free(sess, seq, nsess);
			return -1;
		}
	}
	t0 = srtp_raw_now();
	while (srtp_raw_now() - t0 < secs) {
		unsigned at[N];

		for (i = 0; i < N; i++) {
			at[i] = next;
			next = next + 1 == nsess ? 0 : next + 1;
			memset(pk[i], 0xd5, len);
			pk[i][0] = 0x80;
			pk[i][1] = 0;
			pk[i][2] = (uint8_t)(seq[at[i]] >> 8);
			pk[i][3] = (uint8_t)seq[at[i]];
			seq[at[i]]++;
		}
		t = srtp_raw_now();
		for (i = 0; i < N; i++) {
			int l = (int)len;

			if (srtp_protect(sess[at[i]], pk[i], &l) !=
			    srtp_err_status_ok) {
				srtp_raw_free(sess, seq, nsess);
				return -1;
			}
		}
		tp += srtp_raw_now() - t;
		n += N;
	}
	srtp_raw_free(sess, seq, nsess);
	return tp * 1e9 / (double)n;
}

#endif
