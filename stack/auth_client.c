/*
 * Digest UAC: answer 401/407 challenges once per request (RFC 3261 §22.2,
 * §22.3; RFC 7616 §3.4, §3.5 choice of algorithm; RFC 2617 §3.2.2).
 */
#include "auth_int.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/rand.h>

#define CNONCE_BYTES 16 /* 128 bits, RFC 7616 §3.4 wants it unguessable */

void
auth_client_init(struct auth_client *cl)
{
	if (cl)
		memset(cl, 0, sizeof(*cl));
}

void
auth_client_new_request(struct auth_client *cl)
{
	unsigned i;

	if (!cl)
		return;
	for (i = 0; i < AUTH_CLIENT_REALMS; i++) {
		cl->r[i].answered = false;
		cl->r[i].stale_seen = 0;
	}
}

/* The qop we answer with: auth if offered, else auth-int, else RFC 2069. */
static int
qop_choose(const struct pl *qop, enum auth_qop *q)
{
	if (!pl_isset(qop))
		*q = AUTH_QOP_NONE;
	else if (auth_list_has(qop, "auth"))
		*q = AUTH_QOP_AUTH;
	else if (auth_list_has(qop, "auth-int"))
		*q = AUTH_QOP_AUTH_INT;
	else
		return ENOTSUP;
	return 0;
}

/* Scheme, algorithm and qop we can answer (ENOTSUP otherwise). */
static int
ch_usable(const struct sip_auth *ch, enum auth_alg *alg, enum auth_qop *qop)
{
	int err;

	if (!pl_caseeq_str(&ch->scheme, "Digest"))
		return ENOTSUP;
	if ((err = auth_alg_decode(&ch->algorithm, alg)) != 0 ||
	    (err = qop_choose(&ch->qop, qop)) != 0)
		return err;
	/* -sess needs a cnonce, which RFC 2617 forbids without qop */
	if (auth_alg_is_sess(*alg) && *qop == AUTH_QOP_NONE)
		return ENOTSUP;
	return 0;
}

static int
field_copy(const struct pl *in, char *dst, size_t size, uint16_t *len)
{
	struct pl res;
	int err = auth_unquote(in, dst, size, &res);

	if (!err)
		*len = (uint16_t)res.l;
	return err;
}

/* Read what we keep of a challenge into r; *stale gets its stale flag. */
static int
ch_read(const struct sip_auth *ch, struct auth_client_realm *r, bool *stale)
{
	int err;

	if ((err = ch_usable(ch, &r->alg, &r->qop)) != 0)
		return err;
	if (!pl_isset(&ch->realm) || !pl_isset(&ch->nonce))
		return EBADMSG;
	if ((err = field_copy(&ch->realm, r->realm, sizeof(r->realm),
			      &r->realm_len)) != 0 ||
	    (err = field_copy(&ch->nonce, r->nonce, sizeof(r->nonce),
			      &r->nonce_len)) != 0)
		return err;
	r->has_opaque = pl_isset(&ch->opaque);
	if (r->has_opaque &&
	    (err = field_copy(&ch->opaque, r->opaque, sizeof(r->opaque),
			      &r->opaque_len)) != 0)
		return err;
	r->alg_given = pl_isset(&ch->algorithm);
	*stale = pl_isset(&ch->stale) && pl_caseeq_str(&ch->stale, "true");
	return 0;
}

static struct auth_client_realm *
realm_find(struct auth_client *cl, const char *realm, size_t len)
{
	unsigned i;

	for (i = 0; i < AUTH_CLIENT_REALMS; i++) {
		if (cl->r[i].used && cl->r[i].realm_len == len &&
		    !memcmp(cl->r[i].realm, realm, len))
			return &cl->r[i];
	}
	return NULL;
}

static struct auth_client_realm *
realm_free(struct auth_client *cl)
{
	unsigned i;

	for (i = 0; i < AUTH_CLIENT_REALMS; i++)
		if (!cl->r[i].used)
			return &cl->r[i];
	return NULL;
}

/* The request-digest for r with nonce-count nc (text in ncs). */
static int
cred_digest(const struct auth_client_realm *r, const char *ncs,
	    const char *cnonce, const struct auth_cred *cred,
	    const struct auth_req *req, char *resp)
{
	struct auth_digest_in in;

	memset(&in, 0, sizeof(in));
	in.alg = r->alg;
	in.qop = r->qop;
	in.user = cred->user;
	in.password = cred->password;
	pl_set(&in.realm, r->realm, r->realm_len);
	pl_set(&in.nonce, r->nonce, r->nonce_len);
	if (r->qop != AUTH_QOP_NONE) {
		pl_set(&in.cnonce, cnonce, strlen(cnonce));
		pl_set(&in.nc, ncs, 8);
	}
	in.method = req->method;
	in.uri = req->uri;
	in.body = req->body;
	return auth_digest_response(&in, resp, AUTH_HEX_MAX);
}

/* The credentials value (RFC 3261 §25.1 credentials, RFC 7616 §3.4). */
static void
cred_format(struct auth_wbuf *w, const struct auth_client_realm *r,
	    const char *ncs, const char *cnonce, const struct pl *user,
	    const struct pl *uri, const char *resp)
{
	struct pl p;

	auth_w_str(w, "Digest ");
	auth_w_quoted(w, "username", user);
	pl_set(&p, r->realm, r->realm_len);
	auth_w_str(w, ", ");
	auth_w_quoted(w, "realm", &p);
	pl_set(&p, r->nonce, r->nonce_len);
	auth_w_str(w, ", ");
	auth_w_quoted(w, "nonce", &p);
	auth_w_str(w, ", ");
	auth_w_quoted(w, "uri", uri);
	pl_set(&p, resp, strlen(resp));
	auth_w_str(w, ", ");
	auth_w_quoted(w, "response", &p);
	if (r->alg_given) {
		auth_w_str(w, ", algorithm=");
		auth_w_str(w, auth_alg_name(r->alg));
	}
	if (r->qop != AUTH_QOP_NONE) {
		pl_set(&p, cnonce, strlen(cnonce));
		auth_w_str(w, ", ");
		auth_w_quoted(w, "cnonce", &p);
		auth_w_str(w, r->qop == AUTH_QOP_AUTH ? ", qop=auth"
						      : ", qop=auth-int");
		auth_w_str(w, ", nc=");
		auth_w_str(w, ncs);
	}
	if (r->has_opaque) {
		pl_set(&p, r->opaque, r->opaque_len);
		auth_w_str(w, ", ");
		auth_w_quoted(w, "opaque", &p);
	}
}

/* Write the credentials for r with nonce-count r->nc into buf. */
static int
cred_write(const struct auth_client_realm *r, const struct auth_cred *cred,
	   const struct auth_req *req, char *buf, size_t size)
{
	unsigned char rnd[CNONCE_BYTES];
	char cnonce[2 * CNONCE_BYTES + 1] = "", ncs[9] = "";
	char resp[AUTH_HEX_MAX];
	struct auth_wbuf w;
	int err;

	if (!pl_isset(&cred->user) || !pl_isset(&cred->password) ||
	    !pl_isset(&req->method) || !pl_isset(&req->uri))
		return EINVAL;
	if (r->qop != AUTH_QOP_NONE) {
		if (RAND_bytes(rnd, sizeof(rnd)) != 1) {
			ERR_clear_error();
			return EIO;
		}
		auth_hex(rnd, sizeof(rnd), cnonce);
		snprintf(ncs, sizeof(ncs), "%08x", (unsigned)r->nc);
	}
	err = cred_digest(r, ncs, cnonce, cred, req, resp);
	if (err)
		return err;
	auth_w_init(&w, buf, size);
	cred_format(&w, r, ncs, cnonce, &cred->user, &req->uri, resp);
	return auth_w_end(&w);
}

/* May this challenge be answered now? Sets nr->nc and nr->stale_seen. */
static int
answer_allowed(const struct auth_client_realm *old,
	       struct auth_client_realm *nr, bool stale)
{
	nr->nc = 1;
	nr->stale_seen = old ? old->stale_seen : 0;
	if (old && old->answered) {
		/* §22.2: a repeated non-stale challenge means refused */
		if (!stale || old->stale_seen >= AUTH_CLIENT_STALE_MAX)
			return EACCES;
		nr->stale_seen++;
	}
	if (old && old->nonce_len == nr->nonce_len &&
	    !memcmp(old->nonce, nr->nonce, nr->nonce_len)) {
		if (old->nc == UINT32_MAX)
			return ERANGE;
		nr->nc = old->nc + 1;
	}
	return 0;
}

int
auth_client_answer(struct auth_client *cl, const struct sip_auth *ch,
		   const struct auth_cred *cred, const struct auth_req *req,
		   char *buf, size_t size)
{
	struct auth_client_realm nr, *r;
	bool stale = false;
	int err;

	if (!cl || !ch || !cred || !req || !buf)
		return EINVAL;
	memset(&nr, 0, sizeof(nr));
	if ((err = ch_read(ch, &nr, &stale)) != 0)
		goto out;
	r = realm_find(cl, nr.realm, nr.realm_len);
	if ((err = answer_allowed(r, &nr, stale)) != 0)
		goto out;
	if (!r && !(r = realm_free(cl))) {
		err = ENOBUFS;
		goto out;
	}
	if ((err = cred_write(&nr, cred, req, buf, size)) != 0)
		goto out;
	nr.used = nr.answered = true;
	*r = nr;
out:
	OPENSSL_cleanse(&nr, sizeof(nr));
	return err;
}

int
auth_client_reuse(struct auth_client *cl, const struct pl *realm,
		  const struct auth_cred *cred, const struct auth_req *req,
		  char *buf, size_t size)
{
	struct auth_client_realm *r;
	int err;

	if (!cl || !realm || !cred || !req || !buf)
		return EINVAL;
	r = realm_find(cl, realm->p, realm->l);
	if (!r)
		return ENOENT;
	if (r->nc == UINT32_MAX)
		return ERANGE;
	r->nc++;
	err = cred_write(r, cred, req, buf, size);
	if (err)
		r->nc--; /* nothing was sent with it */
	return err;
}

/* Strength of a usable challenge (higher is stronger), -1 if unusable. */
static int
ch_rank(const struct sip_auth *ch)
{
	static const int rank[AUTH_ALG_COUNT] = {
		[AUTH_ALG_MD5] = 1,	   [AUTH_ALG_MD5_SESS] = 1,
		[AUTH_ALG_SHA256] = 2,	   [AUTH_ALG_SHA256_SESS] = 2,
		[AUTH_ALG_SHA512_256] = 3, [AUTH_ALG_SHA512_256_SESS] = 3,
	};
	enum auth_alg alg;
	enum auth_qop qop;

	if (ch_usable(ch, &alg, &qop) != 0 || !pl_isset(&ch->realm) ||
	    !pl_isset(&ch->nonce))
		return -1;
	return rank[alg];
}

int
auth_challenge_pick(const struct sip_auth *ch, size_t n, size_t *idx)
{
	int best = -1, r;
	size_t i;

	if (!ch || !idx)
		return EINVAL;
	for (i = 0; i < n; i++) {
		r = ch_rank(&ch[i]);
		if (r > best) {
			best = r;
			*idx = i;
		}
	}
	return best < 0 ? ENOTSUP : 0;
}
