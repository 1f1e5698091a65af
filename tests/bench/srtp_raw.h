/* libsrtp alone, for the benchmarks that compare Tandem's SRTP with it
   (sec_bench, relay_bench): srtp_create() with a suite's policy, then
   srtp_protect() of len-byte RTP packets for about secs seconds; ns per
   packet, or a negative value when libsrtp refuses. libsrtp must be
   initialised (media/sec.c does it on first use). */
#ifndef TANDEM_BENCH_SRTP_RAW_H
#define TANDEM_BENCH_SRTP_RAW_H

#include <stdint.h>
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

static double
srtp_raw_protect_ns(enum sec_suite su, size_t len, double secs)
{
	enum { N = 64, MAXLEN = 1500 };
	static uint8_t pk[N][MAXLEN + 32];
	uint8_t key[64];
	srtp_policy_t pol;
	srtp_t sess = NULL;
	uint64_t n = 0;
	uint16_t seq = 0;
	double t0, t, tp = 0;
	unsigned i;

	if (len < 12 || len > MAXLEN)
		return -1;
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
	for (i = 0; i < sizeof(key); i++)
		key[i] = (uint8_t)(i * 37 + 11);
	pol.ssrc.type = ssrc_any_outbound;
	pol.key = key;
	pol.window_size = 128;
	if (srtp_create(&sess, &pol) != srtp_err_status_ok)
		return -1;
	t0 = srtp_raw_now();
	while (srtp_raw_now() - t0 < secs) {
		for (i = 0; i < N; i++) {
			memset(pk[i], 0xd5, len);
			pk[i][0] = 0x80;
			pk[i][1] = 0;
			pk[i][2] = (uint8_t)(seq >> 8);
			pk[i][3] = (uint8_t)seq;
			seq++;
		}
		t = srtp_raw_now();
		for (i = 0; i < N; i++) {
			int l = (int)len;

			if (srtp_protect(sess, pk[i], &l) !=
			    srtp_err_status_ok) {
				srtp_dealloc(sess);
				return -1;
			}
		}
		tp += srtp_raw_now() - t;
		n += N;
	}
	srtp_dealloc(sess);
	return tp * 1e9 / (double)n;
}

#endif
