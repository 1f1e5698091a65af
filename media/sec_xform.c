/* Bridging transform of one media direction: SRTP terminated, added,
   re-keyed or passed through (RFC 3711 §3.3/§3.4 on each leg). */
#include "sec.h"

#include <errno.h>
#include <string.h>

#include <openssl/crypto.h>

#include "stack/mem.h"

struct sec_xform {
	enum sec_xform_kind kind;
	struct sec_stream *in;	/* owned; unprotects, NULL if none */
	struct sec_stream *out; /* owned; protects, NULL if none */
};

static void
xform_destroy(void *arg)
{
	struct sec_xform *x = arg;

	mem_deref(x->in);
	mem_deref(x->out);
}

/* Same suite and master key||salt: the packets need no crypto. */
static bool
same_key(const struct sec_key *a, const struct sec_key *b)
{
	return a->suite == b->suite && a->len == b->len &&
	       CRYPTO_memcmp(a->bytes, b->bytes, a->len) == 0;
}

int
sec_xform_alloc(struct sec_xform **xp, const struct sec_key *in_key,
		const struct sec_key *out_key)
{
	struct sec_xform *x;
	int err = 0;

	if (!xp)
		return EINVAL;
	x = mem_zalloc(sizeof(*x), xform_destroy);
	if (!x)
		return ENOMEM;
	if (in_key && out_key && same_key(in_key, out_key))
		x->kind = SEC_X_PASS;
	else if (in_key && out_key)
		x->kind = SEC_X_BOTH;
	else if (in_key)
		x->kind = SEC_X_UNPROTECT;
	else if (out_key)
		x->kind = SEC_X_PROTECT;
	else
		x->kind = SEC_X_PASS;
	if (x->kind == SEC_X_BOTH || x->kind == SEC_X_UNPROTECT)
		err = sec_stream_alloc(&x->in, in_key, SEC_DIR_UNPROTECT);
	if (!err && (x->kind == SEC_X_BOTH || x->kind == SEC_X_PROTECT))
		err = sec_stream_alloc(&x->out, out_key, SEC_DIR_PROTECT);
	if (err) {
		mem_deref(x);
		return err;
	}
	*xp = x;
	return 0;
}

enum sec_xform_kind
sec_xform_kind(const struct sec_xform *x)
{
	return x->kind;
}

int
sec_xform_rtp_mid(struct sec_xform *x, uint8_t *buf, size_t *lenp, size_t cap,
		  void (*mid)(void *arg, uint8_t *buf, size_t len), void *arg)
{
	int err = 0;

	if (x->in)
		err = sec_rtp_unprotect(x->in, buf, lenp);
	if (!err && mid)
		mid(arg, buf, *lenp);
	if (!err && x->out)
		err = sec_rtp_protect(x->out, buf, lenp, cap);
	return err;
}

int
sec_xform_rtp(struct sec_xform *x, uint8_t *buf, size_t *lenp, size_t cap)
{
	return sec_xform_rtp_mid(x, buf, lenp, cap, NULL, NULL);
}

int
sec_xform_rtcp_mid(struct sec_xform *x, uint8_t *buf, size_t *lenp, size_t cap,
		   void (*mid)(void *arg, const uint8_t *buf, size_t len),
		   void *arg)
{
	int err = 0;

	if (x->in)
		err = sec_rtcp_unprotect(x->in, buf, lenp);
	if (!err && mid)
		mid(arg, buf, *lenp);
	if (!err && x->out)
		err = sec_rtcp_protect(x->out, buf, lenp, cap);
	return err;
}

int
sec_xform_rtcp(struct sec_xform *x, uint8_t *buf, size_t *lenp, size_t cap)
{
	return sec_xform_rtcp_mid(x, buf, lenp, cap, NULL, NULL);
}

const struct sec_stream *
sec_xform_in(const struct sec_xform *x)
{
	return x->in;
}

const struct sec_stream *
sec_xform_out(const struct sec_xform *x)
{
	return x->out;
}
