/* Digest authentication internals shared by auth_digest.c, auth_client.c
   and auth_server.c (RFC 3261 §25.1 quoting, RFC 7616 §3). */
#ifndef TANDEM_AUTH_INT_H
#define TANDEM_AUTH_INT_H

#include "auth.h"

/* A bounded writer: the first error sticks, later writes are no-ops. */
struct auth_wbuf {
	char *p;
	size_t size, len;
	int err;
};

void auth_w_init(struct auth_wbuf *w, char *p, size_t size);
void auth_w_str(struct auth_wbuf *w, const char *s);
void auth_w_pl(struct auth_wbuf *w, const struct pl *pl);
/* name="value" with '"' and '\' escaped (§25.1 quoted-pair); a control
   character other than HTAB (CR, LF, NUL, ...) sets EINVAL. */
void auth_w_quoted(struct auth_wbuf *w, const char *name, const struct pl *val);
/* NUL-terminate; returns the first error (ENOSPC, EINVAL) or 0. */
int auth_w_end(struct auth_wbuf *w);

/*
 * Resolve quoted-pairs of a decoded quoted value into out (not
 * NUL-terminated); *res points into out. Returns 0, EBADMSG (a lone '\'
 * at the end), EMSGSIZE (longer than size).
 */
int auth_unquote(const struct pl *in, char *out, size_t size, struct pl *res);
/* True if the comma-separated token list has tok (case-insensitive). */
bool auth_list_has(const struct pl *list, const char *tok);
/* Lower-case hex of n bytes into hex (2n + 1 bytes, NUL-terminated). */
void auth_hex(const unsigned char *b, size_t n, char *hex);
/* True if pl is n hex digits. */
bool auth_is_hex(const struct pl *pl, size_t n);

/* ---- server (auth_server.c, auth_nonce.c) ---- */

#define AUTH_NC_SLOTS 4096
#define AUTH_NC_WAYS 4
#define AUTH_NC_BUCKETS (AUTH_NC_SLOTS / AUTH_NC_WAYS)
#define AUTH_BINDING_MAX 128
#define AUTH_NONCE_LEN 76 /* base64url of 57 bytes, no padding */
#define AUTH_MAC_LEN 32

/* Highest nonce-count seen for one nonce. */
struct auth_nc_slot {
	uint64_t seq; /* the nonce's sequence number */
	uint64_t tag; /* first MAC bytes: tells nonces of one seq apart */
	uint32_t nc;
	bool used;
};

struct auth_server {
	char realm[AUTH_REALM_MAX];
	size_t realm_len;
	char opaque[AUTH_OPAQUE_MAX];
	size_t opaque_len;
	bool has_opaque;
	bool refuse_rfc2069;
	uint8_t secret[AUTH_SECRET_LEN];
	char dummy[2 * AUTH_SECRET_LEN + 1]; /* unknown users' HA1 (hex) */
	uint32_t lifetime;
	unsigned algs;
	auth_now_h *now_h;
	void *now_arg;
	auth_lookup_h *lookup_h;
	void *lookup_arg;
	uint64_t inst;	   /* random id of this object, in its nonces */
	uint64_t seq_next; /* sequence number of the next nonce */
	struct auth_server_stats stats;
	/* per bucket: 1 + the highest sequence number evicted, 0: none */
	uint64_t evicted[AUTH_NC_BUCKETS];
	struct auth_nc_slot nc[AUTH_NC_SLOTS];
};

/* What an authentic nonce says. */
struct auth_nonce {
	uint64_t ts, seq, inst;
	uint8_t mac[AUTH_MAC_LEN];
};

uint64_t auth_server_now(const struct auth_server *srv);
/* A fresh nonce (AUTH_NONCE_LEN chars + NUL) for binding (may be
   NULL). Returns 0, EINVAL (binding too long), EIO. */
int auth_nonce_make(struct auth_server *srv, const struct pl *binding,
		    char *out);
/* Decode and authenticate nonce; 0 with *n filled, EPERM otherwise. */
int auth_nonce_check(const struct auth_server *srv, const struct pl *nonce,
		     const struct pl *binding, struct auth_nonce *n);
/* OK, or STALE when expired, from the future, or not ours. */
enum auth_verdict auth_nonce_fresh(const struct auth_server *srv,
				   const struct auth_nonce *n);
/* Record nonce-count nc for n: OK, REPLAY, or STALE (state lost). */
enum auth_verdict auth_nc_update(struct auth_server *srv,
				 const struct auth_nonce *n, uint32_t nc);

#endif
