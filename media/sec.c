/* SRTP/SRTCP streams on libsrtp2 (RFC 3711 §3.3, §3.4, §3.3.2 replay
   protection; RFC 7714 AES-GCM): one long-lived session per stream and
   direction. */
#include "sec.h"

#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <string.h>

#include <srtp2/srtp.h>

#define LOG_MODULE "sec"
#include "stack/log.h"
#include "stack/mem.h"

struct sec_stream {
	srtp_t srtp; /* owned */
	enum sec_dir dir;
	enum sec_suite suite;
	uint64_t lifetime; /* 0: libsrtp's own limits (2^48 / 2^31) */
	uint64_t used;	   /* packets under the key, RTP and RTCP */
	struct sec_stats stats;
};

/* libsrtp keeps process-wide state (its crypto kernel): srtp_init() must
   run once before any session, and not concurrently. pthread_once makes
   that safe for media workers allocating streams at the same time; the
   result is written once inside the once routine and only read after. */
static pthread_once_t init_once = PTHREAD_ONCE_INIT;
static srtp_err_status_t init_status = srtp_err_status_init_fail;

static void
srtp_log_h(srtp_log_level_t level, const char *msg, void *data)
{
	(void)data;
	if (level == srtp_log_level_error)
		LOG_ERR("libsrtp: %s", msg);
	else if (level == srtp_log_level_warning)
		LOG_WARN("libsrtp: %s", msg);
	else
		LOG_DBG("libsrtp: %s", msg);
}

static void
init_once_h(void)
{
	init_status = srtp_init();
	if (init_status == srtp_err_status_ok)
		srtp_install_log_handler(srtp_log_h, NULL);
	else
		LOG_ERR("srtp_init failed: %d", (int)init_status);
}

static int
sec_init(void)
{
	pthread_once(&init_once, init_once_h);
	return init_status == srtp_err_status_ok ? 0 : EPROTO;
}

/* The libsrtp crypto policies of a suite; SRTCP of both AES_CM suites
   uses the 80-bit tag (RFC 4568 §6.2.2). */
static void
policy_set(srtp_policy_t *p, enum sec_suite suite)
{
	switch (suite) {
	case SEC_AES_CM_128_HMAC_SHA1_80:
		srtp_crypto_policy_set_aes_cm_128_hmac_sha1_80(&p->rtp);
		srtp_crypto_policy_set_aes_cm_128_hmac_sha1_80(&p->rtcp);
		break;
	case SEC_AES_CM_128_HMAC_SHA1_32:
		srtp_crypto_policy_set_aes_cm_128_hmac_sha1_32(&p->rtp);
		srtp_crypto_policy_set_aes_cm_128_hmac_sha1_80(&p->rtcp);
		break;
	case SEC_AEAD_AES_128_GCM:
		srtp_crypto_policy_set_aes_gcm_128_16_auth(&p->rtp);
		srtp_crypto_policy_set_aes_gcm_128_16_auth(&p->rtcp);
		break;
	case SEC_AEAD_AES_256_GCM:
	default:
		srtp_crypto_policy_set_aes_gcm_256_16_auth(&p->rtp);
		srtp_crypto_policy_set_aes_gcm_256_16_auth(&p->rtcp);
		break;
	}
}

static void
stream_destroy(void *arg)
{
	struct sec_stream *s = arg;

	if (s->srtp)
		srtp_dealloc(s->srtp);
}

int
sec_stream_alloc(struct sec_stream **sp, const struct sec_key *key,
		 enum sec_dir dir)
{
	struct sec_stream *s;
	srtp_policy_t pol;
	uint8_t kb[SEC_KEY_MAX];
	srtp_err_status_t st;
	int err;

	if (!sp || !key || (unsigned)key->suite >= SEC_SUITE_COUNT ||
	    key->len != sec_suite_key_len(key->suite) ||
	    (dir != SEC_DIR_PROTECT && dir != SEC_DIR_UNPROTECT))
		return EINVAL;
	err = sec_init();
	if (err)
		return err;
	s = mem_zalloc(sizeof(*s), stream_destroy);
	if (!s)
		return ENOMEM;
	s->dir = dir;
	s->suite = key->suite;
	s->lifetime = key->lifetime;
	memset(&pol, 0, sizeof(pol));
	policy_set(&pol, key->suite);
	pol.ssrc.type =
		dir == SEC_DIR_PROTECT ? ssrc_any_outbound : ssrc_any_inbound;
	memcpy(kb, key->bytes, key->len);
	pol.key = kb;
	pol.window_size = 128;
	pol.allow_repeat_tx = 0;
	st = srtp_create(&s->srtp, &pol);
	memset(kb, 0, sizeof(kb));
	if (st != srtp_err_status_ok) {
		LOG_ERR("srtp_create: %d", (int)st);
		s->srtp = NULL;
		mem_deref(s);
		return st == srtp_err_status_alloc_fail ? ENOMEM : EPROTO;
	}
	*sp = s;
	return 0;
}

/* One libsrtp status to our errno, counted. */
static int
account(struct sec_stream *s, srtp_err_status_t st)
{
	switch (st) {
	case srtp_err_status_ok:
		s->stats.ok++;
		s->used++;
		return 0;
	case srtp_err_status_auth_fail:
		s->stats.auth_fail++;
		return EBADMSG;
	case srtp_err_status_replay_fail:
	case srtp_err_status_replay_old:
		s->stats.replay++;
		return EALREADY;
	case srtp_err_status_key_expired:
		s->stats.fail++;
		return EKEYEXPIRED;
	case srtp_err_status_bad_param:
	case srtp_err_status_parse_err:
		s->stats.fail++;
		return EINVAL;
	default:
		s->stats.fail++;
		return EPROTO;
	}
}

/* Common checks; min is the smallest packet (12 RTP, 8 RTCP header). */
static int
precheck(struct sec_stream *s, const uint8_t *buf, size_t len, enum sec_dir dir,
	 size_t min)
{
	if (!s || !buf || s->dir != dir || len < min || len > INT32_MAX ||
	    ((uintptr_t)buf & 3) != 0 || (buf[0] >> 6) != 2) {
		if (s)
			s->stats.fail++;
		return EINVAL;
	}
	if (s->lifetime && s->used >= s->lifetime) {
		s->stats.fail++;
		return EKEYEXPIRED;
	}
	return 0;
}

int
sec_rtp_protect(struct sec_stream *s, uint8_t *buf, size_t *lenp, size_t cap)
{
	int len, err;

	err = precheck(s, buf, *lenp, SEC_DIR_PROTECT, 12);
	if (err)
		return err;
	if (cap < *lenp + sec_suite_rtp_overhead(s->suite))
		return ENOSPC;
	len = (int)*lenp;
	err = account(s, srtp_protect(s->srtp, buf, &len));
	if (!err)
		*lenp = (size_t)len;
	return err;
}

int
sec_rtp_unprotect(struct sec_stream *s, uint8_t *buf, size_t *lenp)
{
	int len, err;

	err = precheck(s, buf, *lenp, SEC_DIR_UNPROTECT, 12);
	if (err)
		return err;
	len = (int)*lenp;
	err = account(s, srtp_unprotect(s->srtp, buf, &len));
	if (!err)
		*lenp = (size_t)len;
	return err;
}

int
sec_rtcp_protect(struct sec_stream *s, uint8_t *buf, size_t *lenp, size_t cap)
{
	int len, err;

	err = precheck(s, buf, *lenp, SEC_DIR_PROTECT, 8);
	if (err)
		return err;
	if (cap < *lenp + sec_suite_rtcp_overhead(s->suite))
		return ENOSPC;
	len = (int)*lenp;
	err = account(s, srtp_protect_rtcp(s->srtp, buf, &len));
	if (!err)
		*lenp = (size_t)len;
	return err;
}

int
sec_rtcp_unprotect(struct sec_stream *s, uint8_t *buf, size_t *lenp)
{
	int len, err;

	err = precheck(s, buf, *lenp, SEC_DIR_UNPROTECT, 8);
	if (err)
		return err;
	len = (int)*lenp;
	err = account(s, srtp_unprotect_rtcp(s->srtp, buf, &len));
	if (!err)
		*lenp = (size_t)len;
	return err;
}

const struct sec_stats *
sec_stream_stats(const struct sec_stream *s)
{
	return &s->stats;
}
