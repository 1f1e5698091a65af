/* Benchmark: SRTP protect and unprotect of a 172-byte RTP packet (12-byte
   header + 160 bytes of G.711 20 ms) per suite (media/sec.c on libsrtp2
   built on OpenSSL), next to libsrtp's own srtp_protect() on a session
   set up directly in the same run (the media issue's target: our cost
   per packet within 1.2x of it). About 1.5 s per suite. A figure, not a
   test. */
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <srtp2/srtp.h>

#include "media/sec.h"
#include "srtp_raw.h"
#include "stack/mem.h"

#define PKT 172
#define BATCH 128 /* packets per clock reading (cache-resident, as a relay) */
#define SECS 0.5  /* per direction */

/* ARCHITECTURE.md "Dependency notes", protect, us per packet. */
static const double ref_us[SEC_SUITE_COUNT] = {
	[SEC_AES_CM_128_HMAC_SHA1_80] = 0.39,
	[SEC_AES_CM_128_HMAC_SHA1_32] = 0.0,
	[SEC_AEAD_AES_128_GCM] = 0.31,
	[SEC_AEAD_AES_256_GCM] = 0.0,
};

static double
now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

struct pkt {
	_Alignas(8) uint8_t b[PKT + 32];
	size_t len;
};

static void
rtp_make(struct pkt *p, uint32_t idx)
{
	memset(p->b, 0x55, sizeof(p->b));
	p->b[0] = 0x80;
	p->b[1] = 0;
	p->b[2] = (uint8_t)(idx >> 8);
	p->b[3] = (uint8_t)idx;
	p->b[8] = 0x12;
	p->b[9] = 0x34;
	p->b[10] = 0x56;
	p->b[11] = 0x78;
	p->len = PKT;
}

/* Protect then unprotect batches for ~2*SECS; ns per packet each. */
static int
run_suite(enum sec_suite su, double *prot_ns, double *unprot_ns)
{
	static struct pkt pk[BATCH];
	struct sec_stream *tx = NULL, *rx = NULL;
	struct sec_key k;
	uint32_t seq = 0;
	uint64_t n = 0, m = 0;
	double t0, t, tp = 0, tu = 0;
	unsigned i;
	int err;

	if ((err = sec_key_generate(&k, su)) ||
	    (err = sec_stream_alloc(&tx, &k, SEC_DIR_PROTECT)) ||
	    (err = sec_stream_alloc(&rx, &k, SEC_DIR_UNPROTECT)))
		goto out;
	t0 = now_s();
	while (now_s() - t0 < 2 * SECS) {
		for (i = 0; i < BATCH; i++)
			rtp_make(&pk[i], seq + i);
		t = now_s();
		for (i = 0; i < BATCH; i++) {
			err = sec_rtp_protect(tx, pk[i].b, &pk[i].len,
					      sizeof(pk[i].b));
			if (err)
				goto out;
		}
		tp += now_s() - t;
		n += BATCH;
		t = now_s();
		for (i = 0; i < BATCH; i++) {
			err = sec_rtp_unprotect(rx, pk[i].b, &pk[i].len);
			if (err)
				goto out;
		}
		tu += now_s() - t;
		m += BATCH;
		seq += BATCH; /* 16-bit wrap: libsrtp tracks the ROC */
	}
	*prot_ns = tp * 1e9 / (double)n;
	*unprot_ns = tu * 1e9 / (double)m;
out:
	mem_deref(tx);
	mem_deref(rx);
	sec_key_wipe(&k);
	return err;
}

int
main(void)
{
	unsigned su;
	double p, u, raw;

	printf("sec_bench: %s, %d-byte RTP packets, ~%.0f s per suite\n",
	       srtp_get_version_string(), PKT, 2 * SECS);
	printf("%-26s %12s %12s %12s %7s   %s\n", "suite", "protect ns",
	       "unprotect ns", "libsrtp ns", "ratio",
	       "ARCHITECTURE.md (protect)");
	for (su = 0; su < SEC_SUITE_COUNT; su++) {
		if (run_suite((enum sec_suite)su, &p, &u)) {
			printf("%-26s failed\n", sec_suite_name(su));
			return 1;
		}
		raw = srtp_raw_protect_ns((enum sec_suite)su, PKT, SECS, 1);
		if (raw <= 0) {
			printf("%-26s libsrtp alone failed\n",
			       sec_suite_name(su));
			return 1;
		}
		printf("%-26s %12.0f %12.0f %12.0f %6.2fx   ",
		       sec_suite_name(su), p, u, raw, p / raw);
		if (ref_us[su] > 0)
			printf(su == SEC_AES_CM_128_HMAC_SHA1_80
				       ? "~%.0f ns OpenSSL, ~2300 ns NSS "
					 "build\n"
				       : "~%.0f ns OpenSSL build\n",
			       ref_us[su] * 1000);
		else
			printf("-\n");
	}
	return 0;
}
