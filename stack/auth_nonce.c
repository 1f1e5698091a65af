/*
 * Stateless digest nonces and nonce-count replay state (RFC 7616 §3.3
 * nonce, §3.4 nc, §5.4-§5.5 limited-use and replay attacks).
 *
 * nonce = base64url( head | HMAC-SHA256(secret, head | len(realm) |
 *                    realm | binding) )
 * head  = version(1) | ts(8) | seq(8) | instance(8), big-endian
 * ts is the issue time (s); seq a per-server counter that makes every
 * nonce unique and orders them for eviction of the replay table;
 * instance a random id per server object, so that the nonces of another
 * object with the same secret (another shard, a restarted process),
 * whose replay state is not here, are told apart.
 */
#include "auth_int.h"

#include <errno.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#define NONCE_VERSION 1
#define OFF_TS 1
#define OFF_SEQ 9
#define OFF_INST 17
#define HEAD_LEN 25
#define RAW_LEN (HEAD_LEN + AUTH_MAC_LEN) /* 57: a multiple of 3 */

static const char b64url[] =
	"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

static void
put_be64(uint8_t *p, uint64_t v)
{
	int i;

	for (i = 7; i >= 0; i--, v >>= 8)
		p[i] = (uint8_t)v;
}

static uint64_t
get_be64(const uint8_t *p)
{
	uint64_t v = 0;
	int i;

	for (i = 0; i < 8; i++)
		v = v << 8 | p[i];
	return v;
}

/* RAW_LEN (a multiple of 3) bytes into AUTH_NONCE_LEN chars + NUL. */
static void
b64_encode(const uint8_t *in, char *out)
{
	size_t i, o = 0;
	uint32_t v;

	for (i = 0; i < RAW_LEN; i += 3) {
		v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8 |
		    in[i + 2];
		out[o++] = b64url[v >> 18 & 63];
		out[o++] = b64url[v >> 12 & 63];
		out[o++] = b64url[v >> 6 & 63];
		out[o++] = b64url[v & 63];
	}
	out[o] = '\0';
}

static int
b64_val(char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '-')
		return 62;
	return c == '_' ? 63 : -1;
}

/* Exactly AUTH_NONCE_LEN base64url chars into RAW_LEN bytes. */
static int
b64_decode(const struct pl *in, uint8_t *out)
{
	size_t i, o = 0;
	uint32_t v = 0;
	int d;

	if (in->l != AUTH_NONCE_LEN)
		return EBADMSG;
	for (i = 0; i < AUTH_NONCE_LEN; i++) {
		if ((d = b64_val(in->p[i])) < 0)
			return EBADMSG;
		v = v << 6 | (uint32_t)d;
		if (i % 4 == 3) {
			out[o++] = (uint8_t)(v >> 16);
			out[o++] = (uint8_t)(v >> 8);
			out[o++] = (uint8_t)v;
			v = 0;
		}
	}
	return 0;
}

/* mac = HMAC-SHA256(secret, head | len(realm) | realm | binding). */
static int
nonce_mac(const struct auth_server *srv, const uint8_t *head,
	  const struct pl *binding, uint8_t *mac)
{
	uint8_t data[HEAD_LEN + 1 + AUTH_REALM_MAX + AUTH_BINDING_MAX];
	size_t n = 0, bl = binding ? binding->l : 0;
	unsigned int maclen = 0;

	if (bl > AUTH_BINDING_MAX)
		return EINVAL;
	memcpy(data, head, HEAD_LEN);
	n = HEAD_LEN;
	data[n++] = (uint8_t)srv->realm_len; /* < AUTH_REALM_MAX = 128 */
	memcpy(data + n, srv->realm, srv->realm_len);
	n += srv->realm_len;
	if (bl)
		memcpy(data + n, binding->p, bl);
	n += bl;
	if (!HMAC(EVP_sha256(), srv->secret, AUTH_SECRET_LEN, data, n, mac,
		  &maclen) ||
	    maclen != AUTH_MAC_LEN) {
		ERR_clear_error();
		return EIO;
	}
	return 0;
}

int
auth_nonce_make(struct auth_server *srv, const struct pl *binding, char *out)
{
	uint8_t raw[RAW_LEN];
	int err;

	raw[0] = NONCE_VERSION;
	put_be64(raw + OFF_TS, auth_server_now(srv));
	put_be64(raw + OFF_SEQ, srv->seq_next);
	put_be64(raw + OFF_INST, srv->inst);
	if ((err = nonce_mac(srv, raw, binding, raw + HEAD_LEN)) != 0)
		return err;
	srv->seq_next++;
	b64_encode(raw, out);
	return 0;
}

int
auth_nonce_check(const struct auth_server *srv, const struct pl *nonce,
		 const struct pl *binding, struct auth_nonce *n)
{
	uint8_t raw[RAW_LEN], mac[AUTH_MAC_LEN];

	if (b64_decode(nonce, raw) != 0 || raw[0] != NONCE_VERSION ||
	    nonce_mac(srv, raw, binding, mac) != 0 ||
	    CRYPTO_memcmp(mac, raw + HEAD_LEN, AUTH_MAC_LEN) != 0)
		return EPERM;
	n->ts = get_be64(raw + OFF_TS);
	n->seq = get_be64(raw + OFF_SEQ);
	n->inst = get_be64(raw + OFF_INST);
	memcpy(n->mac, mac, AUTH_MAC_LEN);
	return 0;
}

enum auth_verdict
auth_nonce_fresh(const struct auth_server *srv, const struct auth_nonce *n)
{
	uint64_t now = auth_server_now(srv);

	/* issued by another instance (a shard or a process before a restart
	   with the same secret): its replay state is not here */
	if (n->inst != srv->inst || n->seq >= srv->seq_next)
		return AUTH_V_STALE;
	/* from the future: our clock stepped back; make the UA fetch a new
	   one rather than trust it */
	if (n->ts > now || now - n->ts > srv->lifetime)
		return AUTH_V_STALE;
	return AUTH_V_OK;
}

/* The slot to reuse in a full bucket: the oldest nonce (lowest seq). */
static struct auth_nc_slot *
nc_victim(struct auth_nc_slot *b)
{
	struct auth_nc_slot *v = &b[0];
	unsigned i;

	for (i = 0; i < AUTH_NC_WAYS; i++) {
		if (!b[i].used)
			return &b[i];
		if (b[i].seq < v->seq)
			v = &b[i];
	}
	return v;
}

static uint64_t
max_u64(uint64_t a, uint64_t b)
{
	return a > b ? a : b;
}

/*
 * A nonce is in its bucket (then nc must grow), or was evicted from it
 * (possible exactly when seq is below the bucket's eviction mark: STALE,
 * as its history is gone), or is seen for the first time (any nc >= 1).
 * Eviction takes the lowest seq, the new nonce included.
 */
enum auth_verdict
auth_nc_update(struct auth_server *srv, const struct auth_nonce *n, uint32_t nc)
{
	size_t bi = (size_t)(n->seq % AUTH_NC_BUCKETS);
	struct auth_nc_slot *b = &srv->nc[bi * AUTH_NC_WAYS], *v;
	uint64_t tag;
	unsigned i;

	memcpy(&tag, n->mac, sizeof(tag));
	for (i = 0; i < AUTH_NC_WAYS; i++) {
		if (b[i].used && b[i].seq == n->seq && b[i].tag == tag) {
			if (nc <= b[i].nc)
				return AUTH_V_REPLAY;
			b[i].nc = nc;
			return AUTH_V_OK;
		}
	}
	if (n->seq < srv->evicted[bi])
		return AUTH_V_STALE;
	v = nc_victim(b);
	if (v->used && v->seq < n->seq) {
		srv->evicted[bi] = max_u64(srv->evicted[bi], v->seq + 1);
	} else if (v->used) {
		/* the newcomer is the oldest: accept it once, keep nothing */
		srv->evicted[bi] = max_u64(srv->evicted[bi], n->seq + 1);
		return AUTH_V_OK;
	}
	*v = (struct auth_nc_slot){n->seq, tag, nc, true};
	return AUTH_V_OK;
}
