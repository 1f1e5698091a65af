/* Inbound digest authentication per trunk (RFC 3261 §22.3 proxy-style
   407 challenge, RFC 7616 / 2617 digests; issue 5 item 4): a trunk with
   inbound credentials (trunks.inbound_user / inbound_pass) is identified
   by them instead of, or as well as, its source address. Each worker has
   its own digest server (its own replay table, stack/auth.h). */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#define LOG_MODULE "call"
#include "authban.h"
#include "call_int.h"
#include "stack/auth.h"
#include "stack/log.h"
#include "stack/mem.h"

/* The secret of the trunk whose inbound user is `user` (the snapshot of
   the call being checked). */
static int
lookup(const struct pl *user, const struct pl *realm, enum auth_alg alg,
       struct auth_secret *sec, void *arg)
{
	struct b2b_worker *bw = arg;
	size_t i, n = pol_snap_ntrunks(bw->auth_snap);

	(void)realm;
	(void)alg;
	for (i = 0; i < n; i++) {
		const struct pol_trunk *t = pol_snap_trunk(bw->auth_snap, i);
		size_t len;

		if (!t->in_user || !t->in_pass || !t->enabled ||
		    !pl_eq_str(user, t->in_user))
			continue;
		len = strlen(t->in_pass);
		if (len >= sizeof(sec->buf))
			return ENOENT;
		sec->is_ha1 = false;
		sec->len = len;
		memcpy(sec->buf, t->in_pass, len);
		return 0;
	}
	return ENOENT;
}

int
call_auth_init(struct b2b_worker *bw)
{
	struct auth_server_conf ac = {
		.realm = bw->b2b->cfg.realm[0] ? bw->b2b->cfg.realm
					       : bw->b2b->host,
		.lookup_h = lookup,
		.lookup_arg = bw,
		.refuse_rfc2069 = true,
	};

	return auth_server_alloc(&bw->auth, &ac);
}

const struct pol_trunk *
call_auth_trunk(const struct pol_snap *s, const char *user)
{
	size_t i, n = pol_snap_ntrunks(s);

	for (i = 0; i < n; i++) {
		const struct pol_trunk *t = pol_snap_trunk(s, i);

		if (t->in_user && t->enabled &&
		    (!user || !strcmp(user, t->in_user)))
			return t;
	}
	return NULL;
}

/* The source address as the nonce binding: a nonce is good only from
   where it was sent. */
static void
binding(const struct tp_recv *src, char *buf, size_t size, struct pl *b)
{
	const void *a =
		src->src.ss_family == AF_INET6
			? (const void *)&(
				  (const struct sockaddr_in6 *)&src->src)
				  ->sin6_addr
			: (const void *)&((const struct sockaddr_in *)&src->src)
				  ->sin_addr;

	if (!inet_ntop(src->src.ss_family, a, buf, (socklen_t)size))
		snprintf(buf, size, "?");
	pl_set(b, buf, strlen(buf));
}

void
call_auth_challenge(struct call *c, const struct tp_recv *src, bool stale)
{
	char hdr[512], val[400], bb[64];
	struct pl b;

	binding(src, bb, sizeof(bb), &b);
	if (auth_server_challenge(c->bw->auth, AUTH_ALG_MD5, stale, &b, val,
				  sizeof(val))) {
		call_fail_a(c, 500, "Challenge Failed", NULL);
		return;
	}
	snprintf(hdr, sizeof(hdr), "Proxy-Authenticate: %s\r\n", val);
	c->refused = true;
	call_fail_a(c, 407, "Proxy Authentication Required", hdr);
}

int
call_auth_check(struct call *c, const struct sip_msg *inv,
		const struct tp_recv *src, const struct pol_trunk **trunk)
{
	struct b2b_worker *bw = c->bw;
	const struct sip_hdr *h = sip_msg_hdr(inv, SIP_HDR_PROXY_AUTHORIZATION);
	struct sip_auth cr[4];
	struct auth_req rq = {inv->method, inv->ruri_raw, inv->body};
	enum auth_verdict v = AUTH_V_FAIL;
	char bb[64], user[64];
	struct pl b;
	size_t n = 0, idx = 0;
	const char *why;
	const struct sockaddr *sa;
	uint64_t now, left, ban;
	unsigned nfails = 0;

	*trunk = NULL;
	for (; h && n < 4; h = sip_msg_hdr_next(inv, h))
		if (sip_auth_decode(&cr[n], &h->val, &why) == 0)
			n++;
	if (!n || auth_server_pick(bw->auth, cr, n, &idx))
		return ENOENT; /* no credentials for us: route by address */
	binding(src, bb, sizeof(bb), &b);
	now = tmr_now(sipw_tmr(bw->w));
	sa = (const struct sockaddr *)&src->src;
	left = authban_blocked(bw->b2b->ban, sa, now);
	if (left) {
		/* guessing is slowed: not even checked, and answered as a
		   wrong password is */
		atomic_fetch_add_explicit(&bw->b2b->st.auth_blocked, 1,
					  memory_order_relaxed);
		LOGP_DBG(c->id,
			 "digest from %s refused unchecked: blocked "
			 "for %llu ms more",
			 bb, (unsigned long long)left);
		c->refused = true;
		call_fail_a(c, 403, "Forbidden", NULL);
		return EAGAIN;
	}
	bw->auth_snap = c->snap;
	if (auth_server_verify(bw->auth, &cr[idx], &rq, &b, &v))
		v = AUTH_V_FAIL;
	bw->auth_snap = NULL;
	switch (v) {
	case AUTH_V_OK:
		authban_ok(bw->b2b->ban, sa);
		snprintf(user, sizeof(user), "%.*s", (int)cr[idx].username.l,
			 cr[idx].username.p);
		*trunk = call_auth_trunk(c->snap, user);
		LOGP_INFO(c->id, "digest ok: trunk %s",
			  *trunk && (*trunk)->name ? (*trunk)->name : "?");
		return *trunk ? 0 : EACCES;
	case AUTH_V_STALE:
		call_auth_challenge(c, src, true);
		return EAGAIN;
	case AUTH_V_MALFORMED:
		c->refused = true;
		call_fail_a(c, 400, "Bad Proxy-Authorization", NULL);
		return EAGAIN;
	default:
		LOGP_WARN(c->id, "digest %s for user %.*s from %s",
			  auth_verdict_name(v), (int)cr[idx].username.l,
			  cr[idx].username.p, bb);
		atomic_fetch_add_explicit(&bw->b2b->st.auth_failed, 1,
					  memory_order_relaxed);
		ban = authban_fail(bw->b2b->ban, sa, now, &nfails);
		if (ban)
			LOGP_WARN(c->id,
				  "digest brute force? %u failed digests from "
				  "%s within %u s: its digest attempts are "
				  "refused for %llu s",
				  nfails, bb, bw->b2b->cfg.auth_window_s,
				  (unsigned long long)(ban / 1000));
		c->refused = true;
		call_fail_a(c, 403, "Forbidden", NULL);
		return EAGAIN;
	}
}
