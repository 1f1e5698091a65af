/* Outbound registration (reg.h). One REGISTER client transaction at a
   time per trunk on worker 0, Call-ID of shard 0 kept across refreshes
   and CSeq increasing (§10.2.4), digest answered once per challenge. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define LOG_MODULE "reg"
#include "call_int.h"
#include "policy.h"
#include "reg.h"
#include "stack/auth.h"
#include "stack/log.h"
#include "stack/mem.h"
#include "stack/sip_write.h"

#define REG_MAX 64
#define BACKOFF_MIN_MS 5000
#define BACKOFF_MAX_MS 300000

struct reg {
	int64_t trunk_id;
	char name[64];
	char callid[SIPW_CALLID_LEN + 1];
	char tag[17];
	uint32_t cseq;
	struct txn *txn;     /* ref: the REGISTER out, or NULL */
	bool done;	     /* txn finished: release it at the next tick */
	bool up;	     /* registered */
	uint64_t next_ms;    /* when to send the next REGISTER */
	uint64_t backoff_ms; /* after a failure */
	struct auth_client ac;
	char authz[1024]; /* credentials to send, or "" */
	bool proxy;	  /* as Proxy-Authorization (407) */
	struct b2b_worker *bw;
};

struct reg_set {
	struct reg r[REG_MAX];
	unsigned n;
};

static void
fail(struct reg *r, uint64_t now, const char *why, uint16_t st)
{
	if (r->up || !r->backoff_ms)
		LOG_WARN("trunk %s: registration failed (%u %s), retry in %llu "
			 "s",
			 r->name, st, why,
			 (unsigned long long)((r->backoff_ms ? r->backoff_ms
							     : BACKOFF_MIN_MS) /
					      1000));
	r->up = false;
	r->backoff_ms = r->backoff_ms ? r->backoff_ms * 2 : BACKOFF_MIN_MS;
	if (r->backoff_ms > BACKOFF_MAX_MS)
		r->backoff_ms = BACKOFF_MAX_MS;
	r->next_ms = now + r->backoff_ms;
	r->authz[0] = '\0';
}

/* The expiry the registrar granted: our Contact's expires param, else
   Expires, else what we asked (§10.2.4). */
static uint32_t
granted(const struct sip_msg *m, uint32_t asked)
{
	const struct sip_hdr *h;
	struct pl v;
	uint32_t e = asked;

	for (h = sip_msg_hdr(m, SIP_HDR_CONTACT); h;
	     h = sip_msg_hdr_next(m, h)) {
		struct sip_addr a;
		const char *why;

		if (sip_addr_decode(&a, &h->val, &why) == 0 &&
		    sip_param_get(&a.params, "expires", &v) &&
		    pl_u32(&v, 86400 * 30, &e) == 0)
			return e;
	}
	h = sip_msg_hdr(m, SIP_HDR_EXPIRES);
	if (h && pl_u32(&h->val, 86400 * 30, &e) == 0)
		return e;
	return asked;
}

/* A 401/407: compute the credentials for the next REGISTER. */
static int
challenge(struct reg *r, const struct sip_msg *m, const struct pol_trunk *t,
	  const char *ruri)
{
	enum sip_hdr_id id = m->status == 407 ? SIP_HDR_PROXY_AUTHENTICATE
					      : SIP_HDR_WWW_AUTHENTICATE;
	const struct sip_hdr *h = sip_msg_hdr(m, id);
	struct sip_auth ch[4];
	size_t n = 0, idx = 0;
	const char *why;
	struct auth_cred cred;
	struct auth_req rq = {PL("REGISTER"), {ruri, strlen(ruri)}, {NULL, 0}};

	for (; h && n < 4; h = sip_msg_hdr_next(m, h))
		if (sip_auth_decode(&ch[n], &h->val, &why) == 0)
			n++;
	if (!n || !t->out_user || !t->out_pass ||
	    auth_challenge_pick(ch, n, &idx))
		return EACCES;
	pl_set(&cred.user, t->out_user, strlen(t->out_user));
	pl_set(&cred.password, t->out_pass, strlen(t->out_pass));
	r->proxy = m->status == 407;
	return auth_client_answer(&r->ac, &ch[idx], &cred, &rq, r->authz,
				  sizeof(r->authz));
}

static const struct pol_trunk *
trunk_of(struct reg *r, struct pol_snap **sp)
{
	*sp = bpol_get(r->bw->b2b->pol);
	return pol_trunk_by_id(*sp, r->trunk_id);
}

static void
ruri_of(const struct pol_trunk *t, char *buf, size_t size)
{
	char th[72];

	call_host_fmt(t->host, th, sizeof(th));
	snprintf(buf, size, "sip:%s:%u", th, t->port ? t->port : 5060);
}

static void
on_resp(struct txn *txn, const struct txn_cevent *ev, void *arg)
{
	struct reg *r = arg;
	struct pol_snap *s = NULL;
	const struct pol_trunk *t;
	uint64_t now = tmr_now(sipw_tmr(r->bw->w));
	char ruri[128];

	(void)txn;
	if (ev->ev == TXN_CEV_RESPONSE && ev->status < 200)
		return;
	r->done = true;
	t = trunk_of(r, &s);
	if (!t || ev->ev != TXN_CEV_RESPONSE) {
		fail(r, now,
		     ev->ev == TXN_CEV_TIMEOUT ? "no answer" : "unreachable",
		     ev->status);
		goto out;
	}
	ruri_of(t, ruri, sizeof(ruri));
	if (ev->status >= 200 && ev->status < 300) {
		uint32_t e = granted(ev->msg,
				     t->reg_expires ? t->reg_expires : 3600);

		if (!r->up)
			LOG_INFO("trunk %s: registered for %u s", r->name, e);
		r->up = true;
		r->backoff_ms = 0;
		/* refresh at 80% of the lifetime, at least 5 s ahead */
		r->next_ms = now + (e > 25 ? (uint64_t)e * 800 : 5000);
		r->authz[0] = '\0';
		auth_client_new_request(&r->ac);
	} else if ((ev->status == 401 || ev->status == 407) &&
		   challenge(r, ev->msg, t, ruri) == 0) {
		r->next_ms = now; /* again at once, with credentials */
	} else {
		fail(r, now,
		     ev->status == 401 || ev->status == 407
			     ? "credentials refused"
			     : "refused",
		     ev->status);
		auth_client_new_request(&r->ac);
	}
out:
	pol_snap_deref(s);
}

static int
build(struct reg *r, const struct b2b *b, const struct pol_trunk *t, char *buf,
      size_t size, size_t *len)
{
	char br[25], th[72], lh[72], ruri[128];
	uint32_t exp = t->reg_expires ? t->reg_expires : 3600;
	struct sip_wbuf wb;

	if (ua_rand_hex(br, 24))
		return EIO; /* no randomness: retried after the back-off */
	call_host_fmt(t->host, th, sizeof(th));
	call_host_fmt(b->host, lh, sizeof(lh));
	ruri_of(t, ruri, sizeof(ruri));
	sip_wb_init(&wb, buf, size);
	sip_wb_request(&wb, &PL("REGISTER"), &(struct pl){ruri, strlen(ruri)});
	sip_wb_hdrf(&wb, SIP_HDR_VIA, "SIP/2.0/%s %s:%u;branch=z9hG4bK%s;rport",
		    t->transport == POL_TP_TCP ? "TCP" : "UDP", lh, b->port,
		    br);
	sip_wb_hdrf(&wb, SIP_HDR_MAX_FORWARDS, "70");
	sip_wb_hdrf(&wb, SIP_HDR_FROM, "<sip:%s@%s>;tag=%s", t->out_user, th,
		    r->tag);
	sip_wb_hdrf(&wb, SIP_HDR_TO, "<sip:%s@%s>", t->out_user, th);
	sip_wb_hdrf(&wb, SIP_HDR_CALL_ID, "%s", r->callid);
	sip_wb_hdrf(&wb, SIP_HDR_CSEQ, "%u REGISTER", ++r->cseq);
	sip_wb_hdrf(&wb, SIP_HDR_CONTACT, "<sip:%s@%s:%u>", t->out_user, lh,
		    b->port);
	sip_wb_hdrf(&wb, SIP_HDR_EXPIRES, "%u", exp);
	if (r->authz[0])
		sip_wb_hdrf(&wb,
			    r->proxy ? SIP_HDR_PROXY_AUTHORIZATION
				     : SIP_HDR_AUTHORIZATION,
			    "%s", r->authz);
	sip_wb_hdrf(&wb, SIP_HDR_USER_AGENT, "%s", b->cfg.server);
	return sip_wb_end(&wb, NULL, len);
}

static void
send_reg(struct reg *r, const struct pol_trunk *t, uint64_t now)
{
	struct b2b_worker *bw = r->bw;
	struct txn_dest d;
	char buf[2048];
	size_t len = 0;
	int err;

	if (call_target_dest(bw->b2b, t, &d) ||
	    build(r, bw->b2b, t, buf, sizeof(buf), &len)) {
		fail(r, now, "cannot build", 0);
		return;
	}
	r->done = false;
	err = txn_client_start(&r->txn, sipw_txn(bw->w), buf, len, &d, on_resp,
			       r);
	if (err) {
		r->txn = NULL;
		fail(r, now, strerror(err), 503);
	}
}

static struct reg *
reg_of(struct b2b_worker *bw, const struct pol_trunk *t)
{
	struct reg_set *set = bw->regs;
	struct reg *r;
	unsigned i;

	for (i = 0; i < set->n; i++)
		if (set->r[i].trunk_id == t->id)
			return &set->r[i];
	if (set->n == REG_MAX)
		return NULL;
	r = &set->r[set->n++];
	memset(r, 0, sizeof(*r));
	r->bw = bw;
	r->trunk_id = t->id;
	snprintf(r->name, sizeof(r->name), "%s", t->name ? t->name : "?");
	if (sipw_callid_make(0, r->callid, sizeof(r->callid)) ||
	    ua_rand_hex(r->tag, 16)) {
		set->n--;
		return NULL; /* no randomness: tried again next tick */
	}
	auth_client_init(&r->ac);
	return r;
}

void
reg_tick(struct b2b_worker *bw, uint64_t now)
{
	struct pol_snap *s;
	size_t i, n;

	if (!bw->regs) {
		bw->regs = calloc(1, sizeof(struct reg_set));
		if (!bw->regs)
			return;
	}
	for (i = 0; i < bw->regs->n; i++) {
		struct reg *r = &bw->regs->r[i];

		if (r->txn && r->done)
			r->txn = mem_deref(r->txn);
	}
	s = bpol_get(bw->b2b->pol);
	n = pol_snap_ntrunks(s);
	for (i = 0; i < n; i++) {
		const struct pol_trunk *t = pol_snap_trunk(s, i);
		struct reg *r;

		if (!t->reg || !t->enabled || !t->out_user || !t->host)
			continue;
		r = reg_of(bw, t);
		if (r && !r->txn && now >= r->next_ms)
			send_reg(r, t, now);
	}
	pol_snap_deref(s);
}

void
reg_flush(struct b2b_worker *bw)
{
	unsigned i;

	if (!bw->regs)
		return;
	for (i = 0; i < bw->regs->n; i++) {
		struct reg *r = &bw->regs->r[i];

		if (r->txn && !r->done)
			txn_detach(r->txn);
		r->txn = mem_deref(r->txn);
	}
	free(bw->regs);
	bw->regs = NULL;
}
