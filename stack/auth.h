/* SIP digest authentication: RFC 3261 §22, RFC 7616 (RFC 2617 and RFC 2069
   compatible). Response computation, UAC answers, UAS challenges and
   verification with stateless nonces. */
#ifndef TANDEM_AUTH_H
#define TANDEM_AUTH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "pl.h"
#include "sip_msg.h"

/* Digest algorithms (RFC 7616 §3.3, §6.1). */
enum auth_alg {
	AUTH_ALG_MD5,
	AUTH_ALG_MD5_SESS,
	AUTH_ALG_SHA256,
	AUTH_ALG_SHA256_SESS,
	AUTH_ALG_SHA512_256,
	AUTH_ALG_SHA512_256_SESS,
	AUTH_ALG_COUNT
};

#define AUTH_ALG_BIT(a) (1u << (a))

/* Quality of protection (RFC 7616 §3.3). AUTH_QOP_NONE is RFC 2069. */
enum auth_qop { AUTH_QOP_NONE, AUTH_QOP_AUTH, AUTH_QOP_AUTH_INT };

/* Longest hex digest we produce (SHA-256) plus the NUL. */
#define AUTH_HEX_MAX 65

/*
 * The algorithm named by pl ("MD5", "SHA-256-sess", ..., case-insensitive,
 * RFC 7616 §3.3). An absent pl (p == NULL) means MD5 (RFC 2617 §3.2.1).
 * Returns 0, or ENOTSUP for any other name.
 */
int auth_alg_decode(const struct pl *pl, enum auth_alg *alg);
/* Canonical name ("SHA-256-sess"); "?" when out of range. */
const char *auth_alg_name(enum auth_alg alg);
/* Hex length of the algorithm's digests: 32 or 64. */
size_t auth_alg_hexlen(enum auth_alg alg);
/* True for the -sess variants. */
bool auth_alg_is_sess(enum auth_alg alg);

/*
 * Inputs of one digest computation (RFC 7616 §3.4.1-§3.4.3). All values
 * are plain (unquoted, quoted-pairs resolved) and borrowed.
 *   ha1: when set (p != NULL), the stored hex H(user:realm:password) of
 *        this algorithm's hash (what operators keep instead of passwords);
 *        user and password are then ignored. For -sess the session HA1 is
 *        still derived from it with nonce and cnonce.
 *   qop NONE: RFC 2069 response, cnonce and nc are not used (except that
 *        -sess needs cnonce).
 *   body: used only for AUTH_QOP_AUTH_INT (H(entity-body)).
 */
struct auth_digest_in {
	enum auth_alg alg;
	enum auth_qop qop;
	struct pl user, realm, password, ha1;
	struct pl nonce, cnonce, nc;
	struct pl method, uri, body;
};

/*
 * Compute the request-digest ("response") as lower-case hex into hex
 * (NUL-terminated). Returns 0, EINVAL (missing input, bad ha1, algorithm
 * out of range), ENOSPC (size < hexlen + 1), ENOTSUP (the hash is not
 * available, e.g. MD5 in FIPS mode), ENOMEM.
 */
int auth_digest_response(const struct auth_digest_in *in, char *hex,
			 size_t size);
/* H(user:realm:password) as hex: the HA1 operators store. Same errors. */
int auth_digest_ha1(enum auth_alg alg, const struct pl *user,
		    const struct pl *realm, const struct pl *password,
		    char *hex, size_t size);

/* ---- UAC side (RFC 3261 §22.2, §22.3) ---- */

/* What the request being authorised looks like (borrowed). */
struct auth_req {
	struct pl method; /* "INVITE" (for ACK/CANCEL see §22.1) */
	struct pl uri;	  /* Request-URI as written on the request line */
	struct pl body;	  /* message body; only for qop=auth-int */
};

struct auth_cred {
	struct pl user, password; /* plain, borrowed */
};

/*
 * Among n decoded challenges (the WWW-Authenticate or Proxy-Authenticate
 * values of one response), pick the strongest one we can answer:
 * SHA-512-256 > SHA-256 > MD5 (a -sess variant ranks with its hash), the
 * first listed on a tie. Only scheme Digest with qop auth, auth-int or
 * absent counts. *idx gets the index. Returns 0, ENOTSUP when none is
 * usable, EINVAL. Challenges for several realms are not grouped: callers
 * facing several realms pick per realm.
 */
int auth_challenge_pick(const struct sip_auth *ch, size_t n, size_t *idx);

/* Limits of the values a client keeps from a challenge (unquoted). */
#define AUTH_REALM_MAX 128
#define AUTH_NONCE_MAX 192
#define AUTH_OPAQUE_MAX 128
#define AUTH_CLIENT_REALMS 4
/* stale=true challenges answered per realm and request before EACCES: a
   server that keeps calling every nonce stale cannot make the UA loop. */
#define AUTH_CLIENT_STALE_MAX 3

/* One realm's challenge as the client keeps it; fields private. */
struct auth_client_realm {
	char realm[AUTH_REALM_MAX];
	char nonce[AUTH_NONCE_MAX];
	char opaque[AUTH_OPAQUE_MAX];
	uint16_t realm_len, nonce_len, opaque_len;
	bool used, answered, has_opaque, alg_given;
	uint8_t stale_seen; /* stale=true answers in this request */
	enum auth_alg alg;
	enum auth_qop qop;
	uint32_t nc; /* last nonce-count sent with this nonce */
};

/*
 * Client state for one request (and its re-sends with credentials):
 * embed it, zero it with auth_client_init(); no allocation. It makes the
 * UA answer each challenge once per request: a second non-stale challenge
 * for a realm already answered means the credentials were refused.
 */
struct auth_client {
	struct auth_client_realm r[AUTH_CLIENT_REALMS];
};

void auth_client_init(struct auth_client *cl);
/*
 * A new request begins (e.g. a REGISTER refresh): challenges may be
 * answered once more. The nonces are kept for auth_client_reuse().
 */
void auth_client_new_request(struct auth_client *cl);

/*
 * Answer the decoded challenge ch (from a 401 WWW-Authenticate or a 407
 * Proxy-Authenticate) for req with cred: write the Authorization or
 * Proxy-Authorization VALUE ("Digest username=..., ...") NUL-terminated
 * into buf. qop=auth is used when offered, else auth-int, else none
 * (RFC 2069: no cnonce, no nc). The cnonce is 128 random bits.
 * Returns 0, or
 *   EACCES  this realm was answered already in this request and the new
 *           challenge is not stale=true (or AUTH_CLIENT_STALE_MAX stale
 *           ones came already): the credentials are wrong; do not retry
 *           (the UA must never loop);
 *   ENOTSUP scheme is not Digest, unknown algorithm, or only unknown qops;
 *   EBADMSG realm or nonce missing, or a value with a bad quoted-pair;
 *   EMSGSIZE realm, nonce or opaque longer than the limits above;
 *   ENOBUFS more than AUTH_CLIENT_REALMS realms;
 *   EINVAL  a value holds CR, LF or another control character (§25.1);
 *   ENOSPC  buf too small (state unchanged: retry with a larger buf);
 *   ERANGE  nonce-count exhausted for this nonce; EIO no randomness;
 *   ENOMEM, or an error of auth_digest_response().
 * The state changes only when 0 is returned. A stale=true challenge (new
 * nonce) may be answered again; a challenge repeating the nonce already
 * used gets the next nonce-count.
 */
int auth_client_answer(struct auth_client *cl, const struct sip_auth *ch,
		       const struct auth_cred *cred, const struct auth_req *req,
		       char *buf, size_t size);
/*
 * Credentials for a new request to realm using the nonce kept from the
 * last challenge (§22.3 caching), with the next nonce-count. Returns 0,
 * ENOENT (no challenge kept for realm), ERANGE (nonce-count exhausted),
 * or the errors of auth_client_answer() except EACCES.
 */
int auth_client_reuse(struct auth_client *cl, const struct pl *realm,
		      const struct auth_cred *cred, const struct auth_req *req,
		      char *buf, size_t size);

/* ---- UAS side (RFC 3261 §22.1, §22.4; RFC 7616 §3.3, §3.4, §5) ---- */

#define AUTH_SECRET_LEN 32
#define AUTH_SECRET_MAX 256

/* What the lookup callback fills: a password, or a hex HA1. */
struct auth_secret {
	bool is_ha1; /* buf holds hex H(user:realm:password) for the hash
			of the algorithm asked for */
	size_t len;
	char buf[AUTH_SECRET_MAX];
};

/*
 * Find user's secret for realm and algorithm alg (plain values, borrowed
 * for the call). Return 0 with *sec filled, ENOENT for an unknown user,
 * any other errno for an internal failure (verification then returns it).
 * Runs on the caller's thread, must not block for long (STYLE: no waits
 * on the signaling path): keep the users in memory.
 */
typedef int(auth_lookup_h)(const struct pl *user, const struct pl *realm,
			   enum auth_alg alg, struct auth_secret *sec,
			   void *arg);
/* Wall clock in seconds (nonce timestamps must agree between restarts). */
typedef uint64_t(auth_now_h)(void *arg);

struct auth_server_conf {
	const char *realm;     /* required; copied */
	const uint8_t *secret; /* AUTH_SECRET_LEN bytes, or NULL: random */
	uint32_t lifetime;     /* nonce lifetime in s; 0 means 300 */
	unsigned algs;	       /* AUTH_ALG_BIT()s accepted; 0: MD5|SHA-256 */
	const char *opaque;    /* optional; sent and then required back */
	bool refuse_rfc2069;   /* refuse credentials without qop */
	auth_now_h *now_h;     /* NULL: CLOCK_REALTIME */
	void *now_arg;
	auth_lookup_h *lookup_h; /* required */
	void *lookup_arg;
};

/*
 * Verdict on one set of credentials; data, not an error.
 *   OK        authentic, fresh, nonce-count new.
 *   STALE     digest right but the nonce expired (or its replay state was
 *             lost, see auth_server_verify()): re-challenge with
 *             stale=true, the UA retries without asking its user.
 *   FAIL      wrong response, unknown user or forged nonce (all the same
 *             to the peer): re-challenge without stale, count towards
 *             brute-force limits.
 *   MALFORMED the credentials cannot be checked: missing username,
 *             realm, nonce, uri or response, bad nc/qop/algorithm or
 *             response length, control characters in the username, realm
 *             not ours, uri not the Request-URI (RFC 2617 §3.2.2.5), the
 *             configured opaque not returned: answer 400 Bad Request.
 *             (Pick the credentials for our realm with auth_server_pick()
 *             first; when none is ours, challenge instead.)
 *   REPLAY    nonce-count not above the last one seen for the nonce:
 *             answer 403 or re-challenge; never process the request.
 */
enum auth_verdict {
	AUTH_V_OK,
	AUTH_V_STALE,
	AUTH_V_FAIL,
	AUTH_V_MALFORMED,
	AUTH_V_REPLAY,
	AUTH_V_COUNT
};

/* "ok", "stale", "fail", "malformed", "replay"; "?" when out of range. */
const char *auth_verdict_name(enum auth_verdict v);

/* Counters for monitoring and brute-force limits: challenges written,
   and one per verdict of auth_server_verify(). */
struct auth_server_stats {
	uint64_t challenges, ok, fail, stale, replay, malformed;
};

/* A digest server for one realm. Not thread-safe: one per signaling
   shard (each with its own replay table; see auth_server_verify()). */
struct auth_server;

/*
 * Allocate a server (refcounted: mem_deref() it). Returns 0, EINVAL (no
 * realm or lookup, realm too long or with a control character, algs
 * outside the known ones), ENOMEM, EIO (no randomness).
 */
int auth_server_alloc(struct auth_server **srvp,
		      const struct auth_server_conf *conf);

/*
 * Write a challenge VALUE for WWW-Authenticate (401) or
 * Proxy-Authenticate (407) into buf: Digest realm, qop="auth", a fresh
 * nonce, opaque (if configured), algorithm, and stale=true when stale.
 * binding (may be NULL) is mixed into the nonce and must be given again
 * to verify, e.g. the source address. For several algorithms write one
 * challenge each, strongest first (RFC 7616 §3.7). Returns 0, EINVAL
 * (alg not enabled, binding longer than 128 bytes), ENOSPC, EIO.
 */
int auth_server_challenge(struct auth_server *srv, enum auth_alg alg,
			  bool stale, const struct pl *binding, char *buf,
			  size_t size);

/*
 * Pick among n decoded Authorization / Proxy-Authorization values the
 * Digest one for our realm; *idx gets it. Returns 0 or ENOENT (then
 * challenge: the credentials are for someone else).
 */
int auth_server_pick(const struct auth_server *srv, const struct sip_auth *cr,
		     size_t n, size_t *idx);

/*
 * Check decoded credentials cr for req (method and Request-URI; body for
 * auth-int) with the same binding as the challenge. *v gets the verdict;
 * the counters are updated. Unknown users take the same path and the
 * same hashing work as a wrong password: they get a random HA1, and
 * H(user:realm:password) is computed for every user, from an empty
 * password when the secret is an HA1 (so the work differs only when a
 * password pushes that string over a 64-byte hash block). The response
 * compare is constant-time (CRYPTO_memcmp).
 *
 * Replay: the highest nonce-count per nonce is kept in a fixed table
 * (4096 slots, 4-way by nonce sequence number); when full, the slot of
 * the oldest nonce is reused. A nonce not in the table that may have
 * been there (issued before an evicted one) is answered STALE, so a
 * replay after eviction never passes; fresh nonces are never affected.
 * Nonce-counts must arrive in increasing order: a request overtaken by a
 * later one with the same nonce is a REPLAY. Nonces carry a random id of
 * the server object: those of another object sharing the secret (another
 * shard, the process before a restart) are STALE, as their replay state
 * is elsewhere.
 * Credentials without qop (RFC 2069) carry no nonce-count: they are
 * accepted while the nonce lives and can be replayed within that time;
 * set refuse_rfc2069 to turn them away (MALFORMED).
 * Not supported (MALFORMED): userhash=true, username* (RFC 7616 §3.4.4).
 *
 * Returns 0 with a verdict, EINVAL (bad arguments), or an internal error
 * (the lookup's errno, ENOMEM, ENOTSUP from the crypto library).
 */
int auth_server_verify(struct auth_server *srv, const struct sip_auth *cr,
		       const struct auth_req *req, const struct pl *binding,
		       enum auth_verdict *v);

/* The server's counters (borrowed: valid while srv lives); NULL for a
   NULL srv. */
const struct auth_server_stats *
auth_server_stats(const struct auth_server *srv);

#endif
