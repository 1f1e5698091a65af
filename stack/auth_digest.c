/*
 * Digest computation: RFC 7616 §3.4.1-§3.4.3 (request-digest, A1, A2 and
 * the -sess variants), RFC 2617 §3.2.2 and the RFC 2069 form without qop;
 * plus the quoting helpers of RFC 3261 §25.1 shared by the client and
 * the server.
 */
#include "auth_int.h"

#include <errno.h>
#include <string.h>
#include <strings.h>

#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>

static const struct {
	const char *name;
	const EVP_MD *(*md)(void);
	size_t hexlen;
	bool sess;
} alg_tab[AUTH_ALG_COUNT] = {
	[AUTH_ALG_MD5] = {"MD5", EVP_md5, 32, false},
	[AUTH_ALG_MD5_SESS] = {"MD5-sess", EVP_md5, 32, true},
	[AUTH_ALG_SHA256] = {"SHA-256", EVP_sha256, 64, false},
	[AUTH_ALG_SHA256_SESS] = {"SHA-256-sess", EVP_sha256, 64, true},
	[AUTH_ALG_SHA512_256] = {"SHA-512-256", EVP_sha512_256, 64, false},
	[AUTH_ALG_SHA512_256_SESS] = {"SHA-512-256-sess", EVP_sha512_256, 64,
				      true},
};

static const char *const qop_names[] = {
	[AUTH_QOP_NONE] = "",
	[AUTH_QOP_AUTH] = "auth",
	[AUTH_QOP_AUTH_INT] = "auth-int",
};

int
auth_alg_decode(const struct pl *pl, enum auth_alg *alg)
{
	unsigned a;

	if (!pl || !alg)
		return EINVAL;
	if (!pl_isset(pl)) {
		*alg = AUTH_ALG_MD5;
		return 0;
	}
	for (a = 0; a < AUTH_ALG_COUNT; a++) {
		if (pl_caseeq_str(pl, alg_tab[a].name)) {
			*alg = (enum auth_alg)a;
			return 0;
		}
	}
	return ENOTSUP;
}

const char *
auth_alg_name(enum auth_alg alg)
{
	return (unsigned)alg < AUTH_ALG_COUNT ? alg_tab[alg].name : "?";
}

size_t
auth_alg_hexlen(enum auth_alg alg)
{
	return (unsigned)alg < AUTH_ALG_COUNT ? alg_tab[alg].hexlen : 0;
}

bool
auth_alg_is_sess(enum auth_alg alg)
{
	return (unsigned)alg < AUTH_ALG_COUNT && alg_tab[alg].sess;
}

void
auth_hex(const unsigned char *b, size_t n, char *hex)
{
	static const char digits[] = "0123456789abcdef";
	size_t i;

	for (i = 0; i < n; i++) {
		hex[2 * i] = digits[b[i] >> 4];
		hex[2 * i + 1] = digits[b[i] & 15];
	}
	hex[2 * n] = '\0';
}

/* hex = H(parts[0] ":" parts[1] ":" ...), hex has room for hexlen + 1. */
static int
hash_parts(enum auth_alg alg, const struct pl *parts, size_t n, char *hex)
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	size_t i;
	int err = 0;

	if (!ctx)
		return ENOMEM;
	if (!EVP_DigestInit_ex(ctx, alg_tab[alg].md(), NULL)) {
		err = ENOTSUP;
		goto out;
	}
	for (i = 0; i < n; i++) {
		if ((i && !EVP_DigestUpdate(ctx, ":", 1)) ||
		    (parts[i].l &&
		     !EVP_DigestUpdate(ctx, parts[i].p, parts[i].l))) {
			err = EIO;
			goto out;
		}
	}
	if (!EVP_DigestFinal_ex(ctx, md, &mdlen) ||
	    2 * (size_t)mdlen != alg_tab[alg].hexlen) {
		err = EIO;
		goto out;
	}
	auth_hex(md, mdlen, hex);
out:
	if (err)
		ERR_clear_error();
	OPENSSL_cleanse(md, sizeof(md));
	EVP_MD_CTX_free(ctx);
	return err;
}

int
auth_digest_ha1(enum auth_alg alg, const struct pl *user,
		const struct pl *realm, const struct pl *password, char *hex,
		size_t size)
{
	struct pl parts[3];

	if ((unsigned)alg >= AUTH_ALG_COUNT || !user || !realm || !password ||
	    !hex)
		return EINVAL;
	if (size < alg_tab[alg].hexlen + 1)
		return ENOSPC;
	parts[0] = *user;
	parts[1] = *realm;
	parts[2] = *password;
	return hash_parts(alg, parts, 3, hex);
}

/* The HA1 to use: given or from the password, then -sess (§3.4.2). */
static int
ha1_get(const struct auth_digest_in *in, char *ha1)
{
	size_t i, hl = alg_tab[in->alg].hexlen;
	struct pl parts[3];
	int err;

	if (pl_isset(&in->ha1)) {
		if (!auth_is_hex(&in->ha1, hl))
			return EINVAL;
		for (i = 0; i < hl; i++)
			ha1[i] = (char)(in->ha1.p[i] | 0x20); /* lower case */
		ha1[hl] = '\0';
	} else {
		err = auth_digest_ha1(in->alg, &in->user, &in->realm,
				      &in->password, ha1, AUTH_HEX_MAX);
		if (err)
			return err;
	}
	if (!alg_tab[in->alg].sess)
		return 0;
	pl_set(&parts[0], ha1, hl);
	parts[1] = in->nonce;
	parts[2] = in->cnonce;
	return hash_parts(in->alg, parts, 3, ha1);
}

/* HA2 = H(method:uri) or, for auth-int, H(method:uri:H(body)) (§3.4.3). */
static int
ha2_get(const struct auth_digest_in *in, char *ha2)
{
	char hbody[AUTH_HEX_MAX];
	struct pl parts[3];
	int err;

	parts[0] = in->method;
	parts[1] = in->uri;
	if (in->qop != AUTH_QOP_AUTH_INT)
		return hash_parts(in->alg, parts, 2, ha2);
	if ((err = hash_parts(in->alg, &in->body, 1, hbody)) != 0)
		return err;
	pl_set(&parts[2], hbody, alg_tab[in->alg].hexlen);
	return hash_parts(in->alg, parts, 3, ha2);
}

static bool
digest_in_ok(const struct auth_digest_in *in)
{
	bool qop = in->qop != AUTH_QOP_NONE;

	if ((unsigned)in->alg >= AUTH_ALG_COUNT ||
	    (unsigned)in->qop > AUTH_QOP_AUTH_INT)
		return false;
	if (!pl_isset(&in->nonce) || !pl_isset(&in->method) ||
	    !pl_isset(&in->uri))
		return false;
	if (qop && (!pl_isset(&in->cnonce) || !pl_isset(&in->nc)))
		return false;
	if (alg_tab[in->alg].sess && !pl_isset(&in->cnonce))
		return false;
	if (!pl_isset(&in->ha1) &&
	    (!pl_isset(&in->user) || !pl_isset(&in->password)))
		return false;
	return pl_isset(&in->realm);
}

int
auth_digest_response(const struct auth_digest_in *in, char *hex, size_t size)
{
	char ha1[AUTH_HEX_MAX], ha2[AUTH_HEX_MAX];
	struct pl parts[6];
	size_t hl;
	int err;

	if (!in || !hex || !digest_in_ok(in))
		return EINVAL;
	hl = alg_tab[in->alg].hexlen;
	if (size < hl + 1)
		return ENOSPC;
	if ((err = ha1_get(in, ha1)) != 0 || (err = ha2_get(in, ha2)) != 0)
		goto out;
	pl_set(&parts[0], ha1, hl);
	parts[1] = in->nonce;
	if (in->qop == AUTH_QOP_NONE) {
		pl_set(&parts[2], ha2, hl);
		err = hash_parts(in->alg, parts, 3, hex);
		goto out;
	}
	parts[2] = in->nc;
	parts[3] = in->cnonce;
	pl_set(&parts[4], qop_names[in->qop], strlen(qop_names[in->qop]));
	pl_set(&parts[5], ha2, hl);
	err = hash_parts(in->alg, parts, 6, hex);
out:
	OPENSSL_cleanse(ha1, sizeof(ha1));
	return err;
}

/* ---- quoting (RFC 3261 §25.1) ---- */

void
auth_w_init(struct auth_wbuf *w, char *p, size_t size)
{
	w->p = p;
	w->size = size;
	w->len = 0;
	w->err = size ? 0 : ENOSPC;
}

static void
w_byte(struct auth_wbuf *w, char c)
{
	if (w->err)
		return;
	if (w->len + 1 >= w->size) { /* keep room for the NUL */
		w->err = ENOSPC;
		return;
	}
	w->p[w->len++] = c;
}

void
auth_w_pl(struct auth_wbuf *w, const struct pl *pl)
{
	if (w->err || !pl->l)
		return;
	if (pl->l >= w->size - w->len) {
		w->err = ENOSPC;
		return;
	}
	memcpy(w->p + w->len, pl->p, pl->l);
	w->len += pl->l;
}

void
auth_w_str(struct auth_wbuf *w, const char *s)
{
	struct pl pl = {s, strlen(s)};

	auth_w_pl(w, &pl);
}

void
auth_w_quoted(struct auth_wbuf *w, const char *name, const struct pl *val)
{
	size_t i;
	unsigned char c;

	auth_w_str(w, name);
	auth_w_str(w, "=\"");
	for (i = 0; i < val->l && !w->err; i++) {
		c = (unsigned char)val->p[i];
		if ((c < 0x20 && c != '\t') || c == 0x7f) {
			w->err = EINVAL;
			return;
		}
		if (c == '"' || c == '\\')
			w_byte(w, '\\');
		w_byte(w, (char)c);
	}
	w_byte(w, '"');
}

int
auth_w_end(struct auth_wbuf *w)
{
	if (w->size)
		w->p[w->err ? 0 : w->len] = '\0';
	return w->err;
}

int
auth_unquote(const struct pl *in, char *out, size_t size, struct pl *res)
{
	size_t i, n = 0;

	for (i = 0; i < in->l; i++) {
		if (in->p[i] == '\\' && ++i == in->l)
			return EBADMSG;
		if (n == size)
			return EMSGSIZE;
		out[n++] = in->p[i];
	}
	pl_set(res, out, n);
	return 0;
}

bool
auth_list_has(const struct pl *list, const char *tok)
{
	size_t i = 0, st, e, tl = strlen(tok);

	while (i < list->l) {
		while (i < list->l && (list->p[i] == ' ' ||
				       list->p[i] == '\t' || list->p[i] == ','))
			i++;
		st = i;
		while (i < list->l && list->p[i] != ',')
			i++;
		e = i;
		while (e > st &&
		       (list->p[e - 1] == ' ' || list->p[e - 1] == '\t'))
			e--;
		if (e - st == tl && !strncasecmp(list->p + st, tok, tl))
			return true;
	}
	return false;
}

bool
auth_is_hex(const struct pl *pl, size_t n)
{
	size_t i;
	char c;

	if (!pl_isset(pl) || pl->l != n)
		return false;
	for (i = 0; i < n; i++) {
		c = pl->p[i];
		if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') ||
		      (c >= 'A' && c <= 'F')))
			return false;
	}
	return true;
}
