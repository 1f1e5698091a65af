/*
 * Digest UAS: challenges and verification of credentials (RFC 3261
 * §22.1, §22.4; RFC 7616 §3.3, §3.4, §3.4.6 uri check, §5; RFC 2617
 * §3.2.2.5). Unknown users and wrong passwords go the same way.
 */
#include "auth_int.h"
#include "mem.h"

#define LOG_MODULE "auth"
#include "log.h"

#include <errno.h>
#include <string.h>
#include <time.h>

#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/rand.h>

#define DEFAULT_LIFETIME 300
#define USER_MAX 256
#define CNONCE_MAX 256

/* The credentials' fields, checked and unquoted. */
struct cred_fields {
	char ubuf[USER_MAX], cbuf[CNONCE_MAX];
	struct pl user, nonce, cnonce, nc, response;
	enum auth_alg alg;
	enum auth_qop qop;
	uint32_t ncv;
};

static const char *const verdict_names[AUTH_V_COUNT] = {
	[AUTH_V_OK] = "ok",	    [AUTH_V_STALE] = "stale",
	[AUTH_V_FAIL] = "fail",	    [AUTH_V_MALFORMED] = "malformed",
	[AUTH_V_REPLAY] = "replay",
};

const char *
auth_verdict_name(enum auth_verdict v)
{
	return (unsigned)v < AUTH_V_COUNT ? verdict_names[v] : "?";
}

uint64_t
auth_server_now(const struct auth_server *srv)
{
	struct timespec ts;

	if (srv->now_h)
		return srv->now_h(srv->now_arg);
	clock_gettime(CLOCK_REALTIME, &ts);
	return ts.tv_sec > 0 ? (uint64_t)ts.tv_sec : 0;
}

static void
server_destroy(void *arg)
{
	struct auth_server *srv = arg;

	OPENSSL_cleanse(srv->secret, sizeof(srv->secret));
	OPENSSL_cleanse(srv->dummy, sizeof(srv->dummy));
}

/* A value we write quoted ourselves: no control characters, no quotes
   needing escapes kept simple (any byte but CTLs is allowed). */
static bool
text_ok(const char *s, size_t l)
{
	size_t i;

	for (i = 0; i < l; i++)
		if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
			return false;
	return true;
}

static int
conf_check(const struct auth_server_conf *c)
{
	if (!c->realm || !c->lookup_h)
		return EINVAL;
	if (!*c->realm || strlen(c->realm) >= AUTH_REALM_MAX ||
	    !text_ok(c->realm, strlen(c->realm)))
		return EINVAL;
	if (c->algs & ~(AUTH_ALG_BIT(AUTH_ALG_COUNT) - 1))
		return EINVAL;
	if (c->opaque && (strlen(c->opaque) >= AUTH_OPAQUE_MAX ||
			  !text_ok(c->opaque, strlen(c->opaque))))
		return EINVAL;
	return 0;
}

static void
conf_copy(struct auth_server *srv, const struct auth_server_conf *c)
{
	srv->realm_len = strlen(c->realm);
	memcpy(srv->realm, c->realm, srv->realm_len);
	if (c->opaque) {
		srv->has_opaque = true;
		srv->opaque_len = strlen(c->opaque);
		memcpy(srv->opaque, c->opaque, srv->opaque_len);
	}
	srv->lifetime = c->lifetime ? c->lifetime : DEFAULT_LIFETIME;
	srv->algs = c->algs ? c->algs
			    : AUTH_ALG_BIT(AUTH_ALG_MD5) |
				      AUTH_ALG_BIT(AUTH_ALG_SHA256);
	srv->refuse_rfc2069 = c->refuse_rfc2069;
	srv->now_h = c->now_h;
	srv->now_arg = c->now_arg;
	srv->lookup_h = c->lookup_h;
	srv->lookup_arg = c->lookup_arg;
}

int
auth_server_alloc(struct auth_server **srvp, const struct auth_server_conf *c)
{
	uint8_t rnd[AUTH_SECRET_LEN];
	struct auth_server *srv = NULL;
	int err;

	if (!srvp || !c)
		return EINVAL;
	if ((err = conf_check(c)) != 0)
		return err;
	srv = mem_zalloc(sizeof(*srv), server_destroy);
	if (!srv)
		return ENOMEM;
	conf_copy(srv, c);
	if (RAND_bytes(rnd, sizeof(rnd)) != 1 ||
	    RAND_bytes((unsigned char *)&srv->inst, sizeof(srv->inst)) != 1 ||
	    (!c->secret && RAND_bytes(srv->secret, AUTH_SECRET_LEN) != 1)) {
		ERR_clear_error();
		err = EIO;
		goto out;
	}
	if (c->secret)
		memcpy(srv->secret, c->secret, AUTH_SECRET_LEN);
	auth_hex(rnd, sizeof(rnd), srv->dummy);
out:
	OPENSSL_cleanse(rnd, sizeof(rnd));
	if (err)
		srv = mem_deref(srv);
	*srvp = srv;
	return err;
}

const struct auth_server_stats *
auth_server_stats(const struct auth_server *srv)
{
	return srv ? &srv->stats : NULL;
}

int
auth_server_challenge(struct auth_server *srv, enum auth_alg alg, bool stale,
		      const struct pl *binding, char *buf, size_t size)
{
	char nonce[AUTH_NONCE_LEN + 1];
	struct auth_wbuf w;
	struct pl p;
	int err;

	if (!srv || !buf || (unsigned)alg >= AUTH_ALG_COUNT ||
	    !(srv->algs & AUTH_ALG_BIT(alg)))
		return EINVAL;
	if ((err = auth_nonce_make(srv, binding, nonce)) != 0)
		return err;
	auth_w_init(&w, buf, size);
	pl_set(&p, srv->realm, srv->realm_len);
	auth_w_str(&w, "Digest ");
	auth_w_quoted(&w, "realm", &p);
	auth_w_str(&w, ", qop=\"auth\", ");
	pl_set(&p, nonce, AUTH_NONCE_LEN);
	auth_w_quoted(&w, "nonce", &p);
	if (srv->has_opaque) {
		pl_set(&p, srv->opaque, srv->opaque_len);
		auth_w_str(&w, ", ");
		auth_w_quoted(&w, "opaque", &p);
	}
	auth_w_str(&w, ", algorithm=");
	auth_w_str(&w, auth_alg_name(alg));
	if (stale)
		auth_w_str(&w, ", stale=true");
	if ((err = auth_w_end(&w)) == 0)
		srv->stats.challenges++;
	return err;
}

/* A decoded quoted value (quoted-pairs as written) equals plain s. */
static bool
unq_eq(const struct pl *q, const char *s, size_t l)
{
	size_t i, n = 0;

	for (i = 0; i < q->l; i++) {
		if (q->p[i] == '\\' && ++i == q->l)
			return false;
		if (n == l || q->p[i] != s[n])
			return false;
		n++;
	}
	return n == l;
}

int
auth_server_pick(const struct auth_server *srv, const struct sip_auth *cr,
		 size_t n, size_t *idx)
{
	size_t i;

	if (!srv || !cr || !idx)
		return EINVAL;
	for (i = 0; i < n; i++) {
		if (pl_caseeq_str(&cr[i].scheme, "Digest") &&
		    pl_isset(&cr[i].realm) &&
		    unq_eq(&cr[i].realm, srv->realm, srv->realm_len)) {
			*idx = i;
			return 0;
		}
	}
	return ENOENT;
}

/* Value of 8 hex digits (checked by the caller). */
static uint32_t
hex32(const struct pl *pl)
{
	uint32_t v = 0;
	size_t i;
	char c;

	for (i = 0; i < 8; i++) {
		c = (char)(pl->p[i] | 0x20);
		v = v << 4 | (uint32_t)(c <= '9' ? c - '0' : c - 'a' + 10);
	}
	return v;
}

/* qop, cnonce and nc agree with each other and with our policy. */
static bool
qop_check(const struct auth_server *srv, const struct sip_auth *cr,
	  struct cred_fields *f)
{
	if (!pl_isset(&cr->qop)) {
		f->qop = AUTH_QOP_NONE;
		return !srv->refuse_rfc2069 && !pl_isset(&cr->cnonce) &&
		       !pl_isset(&cr->nc) && !auth_alg_is_sess(f->alg);
	}
	if (pl_caseeq_str(&cr->qop, "auth"))
		f->qop = AUTH_QOP_AUTH;
	else if (pl_caseeq_str(&cr->qop, "auth-int"))
		f->qop = AUTH_QOP_AUTH_INT;
	else
		return false;
	/* nc = 8LHEX (RFC 7616 §3.4); 0 is never sent */
	if (!pl_isset(&cr->cnonce) || !auth_is_hex(&cr->nc, 8))
		return false;
	f->nc = cr->nc;
	f->ncv = hex32(&cr->nc);
	if (f->ncv == 0)
		return false;
	return auth_unquote(&cr->cnonce, f->cbuf, sizeof(f->cbuf),
			    &f->cnonce) == 0;
}

/* Everything but the nonce and the response value: MALFORMED if false. */
static bool
cred_check(const struct auth_server *srv, const struct sip_auth *cr,
	   const struct auth_req *req, struct cred_fields *f)
{
	if (!pl_caseeq_str(&cr->scheme, "Digest") || !pl_isset(&cr->username) ||
	    !pl_isset(&cr->realm) || !pl_isset(&cr->nonce) ||
	    !pl_isset(&cr->uri) || !pl_isset(&cr->response))
		return false;
	if (!unq_eq(&cr->realm, srv->realm, srv->realm_len) ||
	    !unq_eq(&cr->uri, req->uri.p, req->uri.l))
		return false;
	if (auth_alg_decode(&cr->algorithm, &f->alg) != 0 ||
	    !(srv->algs & AUTH_ALG_BIT(f->alg)))
		return false;
	if (pl_isset(&cr->userhash) && !pl_caseeq_str(&cr->userhash, "false"))
		return false;
	if (srv->has_opaque &&
	    (!pl_isset(&cr->opaque) ||
	     !unq_eq(&cr->opaque, srv->opaque, srv->opaque_len)))
		return false;
	if (!qop_check(srv, cr, f))
		return false;
	if (!auth_is_hex(&cr->response, auth_alg_hexlen(f->alg)))
		return false;
	f->response = cr->response;
	f->nonce = cr->nonce;
	/* no control characters reach the lookup (or a log line) */
	return auth_unquote(&cr->username, f->ubuf, sizeof(f->ubuf),
			    &f->user) == 0 &&
	       text_ok(f->user.p, f->user.l);
}

/* The expected response for f; from a random HA1 when !known. */
static int
digest_expected(const struct auth_server *srv, const struct cred_fields *f,
		const struct auth_req *req, const struct auth_secret *sec,
		bool known, char *exp)
{
	struct auth_digest_in in;
	char ha1[AUTH_HEX_MAX];
	size_t hl = auth_alg_hexlen(f->alg);
	struct pl realm = {srv->realm, srv->realm_len}, pw;
	int err;

	/* One H(user:realm:password) whatever the secret, so unknown users,
	   passwords and stored HA1s cost the same hashing work: an unknown
	   user is a stored-HA1 user with a random HA1 (the empty password
	   costs the same blocks as any password up to ~40 bytes). */
	pl_set(&pw, sec->buf, known && !sec->is_ha1 ? sec->len : 0);
	err = auth_digest_ha1(f->alg, &f->user, &realm, &pw, ha1, sizeof(ha1));
	if (err)
		goto out;
	memset(&in, 0, sizeof(in));
	in.alg = f->alg;
	in.qop = f->qop;
	if (!known)
		pl_set(&in.ha1, srv->dummy, hl);
	else if (sec->is_ha1)
		pl_set(&in.ha1, sec->buf, hl);
	else
		pl_set(&in.ha1, ha1, hl);
	in.realm = realm;
	in.nonce = f->nonce;
	in.cnonce = f->cnonce;
	in.nc = f->nc;
	in.method = req->method;
	in.uri = req->uri;
	in.body = req->body;
	err = auth_digest_response(&in, exp, AUTH_HEX_MAX);
out:
	OPENSSL_cleanse(ha1, sizeof(ha1));
	return err;
}

/* Does the response match? Unknown users never do, after the same work. */
static int
digest_check(const struct auth_server *srv, const struct cred_fields *f,
	     const struct auth_req *req, bool *match)
{
	struct pl realm = {srv->realm, srv->realm_len};
	char exp[AUTH_HEX_MAX], got[AUTH_HEX_MAX];
	size_t i, hl = auth_alg_hexlen(f->alg);
	struct auth_secret sec;
	struct pl h;
	bool known;
	int err;

	memset(&sec, 0, sizeof(sec));
	err = srv->lookup_h(&f->user, &realm, f->alg, &sec, srv->lookup_arg);
	if (err && err != ENOENT)
		goto out;
	known = !err && sec.len <= sizeof(sec.buf);
	pl_set(&h, sec.buf, sec.len);
	if (known && sec.is_ha1 && !auth_is_hex(&h, hl)) {
		LOG_WARN("stored HA1 of a user in realm %s is not %s hex",
			 srv->realm, auth_alg_name(f->alg));
		known = false;
	}
	if ((err = digest_expected(srv, f, req, &sec, known, exp)) != 0)
		goto out;
	for (i = 0; i < hl; i++)
		got[i] = (char)(f->response.p[i] | 0x20); /* hex: lower case */
	*match = (CRYPTO_memcmp(exp, got, hl) == 0) & known;
out:
	OPENSSL_cleanse(&sec, sizeof(sec));
	OPENSSL_cleanse(exp, sizeof(exp));
	return err;
}

/* The verdict of checked fields f. */
static int
verdict_of(struct auth_server *srv, const struct cred_fields *f,
	   const struct auth_req *req, const struct pl *binding,
	   enum auth_verdict *v)
{
	struct auth_nonce n;
	bool match = false;
	int err;

	if (auth_nonce_check(srv, &f->nonce, binding, &n) != 0) {
		*v = AUTH_V_FAIL; /* forged, or not for this binding */
		return 0;
	}
	if ((err = digest_check(srv, f, req, &match)) != 0)
		return err;
	if (!match) {
		*v = AUTH_V_FAIL;
		return 0;
	}
	/* RFC 7616 §3.3: stale only with a valid digest; nc is recorded
	   only for authentic requests (a forger cannot advance it) */
	*v = auth_nonce_fresh(srv, &n);
	if (*v == AUTH_V_OK && f->qop != AUTH_QOP_NONE)
		*v = auth_nc_update(srv, &n, f->ncv);
	return 0;
}

static void
stats_count(struct auth_server_stats *st, enum auth_verdict v)
{
	switch (v) {
	case AUTH_V_OK:
		st->ok++;
		break;
	case AUTH_V_STALE:
		st->stale++;
		break;
	case AUTH_V_FAIL:
		st->fail++;
		break;
	case AUTH_V_MALFORMED:
		st->malformed++;
		break;
	case AUTH_V_REPLAY:
		st->replay++;
		break;
	default:
		break;
	}
}

int
auth_server_verify(struct auth_server *srv, const struct sip_auth *cr,
		   const struct auth_req *req, const struct pl *binding,
		   enum auth_verdict *v)
{
	struct cred_fields f;
	int err = 0;

	if (!srv || !cr || !req || !v || !pl_isset(&req->method) ||
	    !pl_isset(&req->uri))
		return EINVAL;
	if (binding && binding->l > AUTH_BINDING_MAX)
		return EINVAL;
	memset(&f, 0, sizeof(f));
	if (!cred_check(srv, cr, req, &f))
		*v = AUTH_V_MALFORMED;
	else if ((err = verdict_of(srv, &f, req, binding, v)) != 0)
		goto out;
	stats_count(&srv->stats, *v);
out:
	return err;
}
