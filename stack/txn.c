/* SIP transaction layer: context, tables, matching (RFC 3261 §17.1.3,
   §17.2.3, §9.2, §8.2.2.2) and the public API. The machines live in
   txn_ict.c, txn_nict.c, txn_ist.c and txn_nist.c. */
#define LOG_MODULE "txn"
#include "txn_int.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "mem.h"
#include "sip_write.h"

#define MAGIC_COOKIE "z9hG4bK" /* §8.1.1.7 */

void
txn_cfg_default(struct txn_cfg *cfg)
{
	*cfg = (struct txn_cfg){
		.t1 = 500,
		.t2 = 4000,
		.t4 = 5000,
		.timer_c = 180000,
		.trying_ms = 0,
		.hash_size = 1024,
		.max_live = 65536,
	};
}

/* ---------------------------------------------------------------- */
/* Lists and hashing                                                  */

static void
le_link(struct txn_list *l, struct txn_le *le, struct txn *txn)
{
	le->txn = txn;
	le->prev = NULL;
	le->next = l->head;
	if (l->head)
		l->head->prev = le;
	l->head = le;
}

static void
le_unlink(struct txn_list *l, struct txn_le *le)
{
	if (!le->txn)
		return;
	if (le->prev)
		le->prev->next = le->next;
	else
		l->head = le->next;
	if (le->next)
		le->next->prev = le->prev;
	*le = (struct txn_le){0};
}

/* Branches and Call-IDs come from peers: SipHash-2-4 under the ctx's
   random key, so nobody can aim a flood of keys at one bucket (an
   unkeyed FNV-1a makes every lookup a walk of that flood). */
struct txn_list *
txn_bucket(const struct txn_ctx *ctx, struct txn_list *tab, const char *p,
	   size_t l)
{
	return &tab[stag_siphash(&ctx->hkey, p, l) & (ctx->cfg.hash_size - 1)];
}

bool
txn_str_eq_pl(const char *s, const struct pl *pl)
{
	const char *p = pl->p ? pl->p : "";

	return strlen(s) == pl->l && memcmp(s, p, pl->l) == 0;
}

static char *
str_dup(const char *p, size_t l)
{
	char *s = mem_zalloc(l + 1, NULL);

	if (s && l)
		memcpy(s, p, l);
	return s;
}

static char *
pl_dup(const struct pl *pl)
{
	return str_dup(pl->p ? pl->p : "", pl->l);
}

int
txn_buf_set(char **dst, size_t *dlen, const char *buf, size_t len)
{
	char *b = str_dup(buf, len);

	if (!b)
		return ENOMEM;
	mem_deref(*dst);
	*dst = b;
	*dlen = len;
	return 0;
}

void
txn_buf_free(char **buf, size_t *len)
{
	*buf = mem_deref(*buf);
	*len = 0;
}

/* "host:port", host lower-cased, port defaulted (§18: 5060, TLS 5061). */
void
txn_sent_by_fmt(const struct sip_via *via, char *buf, size_t sz)
{
	unsigned port = via->port;
	size_t n = via->host.l < sz - 8 ? via->host.l : sz - 8;

	if (!port)
		port = pl_caseeq_str(&via->transport, "TLS") ? 5061 : 5060;
	for (size_t i = 0; i < n; i++)
		buf[i] = (char)tolower((unsigned char)via->host.p[i]);
	snprintf(buf + n, sz - n, ":%u", port);
}

bool
txn_has_cookie(const struct pl *branch)
{
	return branch->p && branch->l > sizeof(MAGIC_COOKIE) - 1 &&
	       memcmp(branch->p, MAGIC_COOKIE, sizeof(MAGIC_COOKIE) - 1) == 0;
}

/* ---------------------------------------------------------------- */
/* Context                                                            */

static void
txn_unlink(struct txn *txn)
{
	struct txn_ctx *ctx = txn->ctx;

	if (!ctx || !txn->linked)
		return;
	if (txn->kind == TXN_ICT || txn->kind == TXN_NICT) {
		le_unlink(txn_bucket(ctx, ctx->cli, txn->branch,
				     strlen(txn->branch)),
			  &txn->le_key);
	} else {
		if (!txn->legacy)
			le_unlink(txn_bucket(ctx, ctx->srv, txn->branch,
					     strlen(txn->branch)),
				  &txn->le_key);
		le_unlink(txn_bucket(ctx, ctx->srv_cid, txn->callid,
				     strlen(txn->callid)),
			  &txn->le_cid);
	}
	txn->linked = false;
	ctx->st.active--;
	txn_pub(ctx);
}

static void
txn_stop_timers(struct txn *txn)
{
	tmr_cancel(&txn->retx);
	tmr_cancel(&txn->timeout);
	tmr_cancel(&txn->wait);
	tmr_cancel(&txn->prov);
	tmr_cancel(&txn->trying);
}

static void
ctx_destroy(void *arg)
{
	struct txn_ctx *ctx = arg;
	struct txn_le *le, *next;

	for (le = ctx->all.head; le; le = next) {
		struct txn *txn = le->txn;

		next = le->next;
		txn_stop_timers(txn);
		tmr_cancel(&txn->release);
		txn_unlink(txn);
		le_unlink(&ctx->all, &txn->le_all);
		txn->ctx = NULL;
		mem_deref(txn); /* the table reference */
	}
	free(ctx->cli);
	free(ctx->srv);
	free(ctx->srv_cid);
	mem_deref(ctx->tmr);
}

int
txn_ctx_alloc(struct txn_ctx **ctxp, const struct txn_cfg *cfg,
	      txn_send_h *send_h, void *arg, struct tmr_ctx *tmr)
{
	struct txn_ctx *ctx;
	uint32_t n;

	if (!ctxp || !send_h || !tmr)
		return EINVAL;
	ctx = mem_zalloc(sizeof(*ctx), ctx_destroy);
	if (!ctx)
		return ENOMEM;
	if (cfg)
		ctx->cfg = *cfg;
	else
		txn_cfg_default(&ctx->cfg);
	n = ctx->cfg.hash_size;
	if (!ctx->cfg.t1 || !ctx->cfg.t2 || n == 0 || (n & (n - 1))) {
		mem_deref(ctx);
		return EINVAL;
	}
	if (stag_key_init(&ctx->hkey)) {
		mem_deref(ctx);
		return EIO;
	}
	ctx->tmr = mem_ref(tmr);
	ctx->send_h = send_h;
	ctx->send_arg = arg;
	ctx->cli = calloc(n, sizeof(*ctx->cli));
	ctx->srv = calloc(n, sizeof(*ctx->srv));
	ctx->srv_cid = calloc(n, sizeof(*ctx->srv_cid));
	if (!ctx->cli || !ctx->srv || !ctx->srv_cid) {
		mem_deref(ctx);
		return ENOMEM;
	}
	*ctxp = ctx;
	return 0;
}

void
txn_pub(struct txn_ctx *ctx)
{
	const uint64_t v[4] = {ctx->st.active, ctx->st.created,
			       ctx->st.retransmits, ctx->st.retrans_in};

	for (int i = 0; i < 4; i++)
		atomic_store_explicit(&ctx->pub[i], v[i], memory_order_relaxed);
}

void
txn_ctx_counters(const struct txn_ctx *ctx, struct txn_counters *c)
{
	struct txn_ctx *m = (struct txn_ctx *)(uintptr_t)ctx; /* atomics */

	c->active = atomic_load_explicit(&m->pub[0], memory_order_relaxed);
	c->created = atomic_load_explicit(&m->pub[1], memory_order_relaxed);
	c->retransmits = atomic_load_explicit(&m->pub[2], memory_order_relaxed);
	c->retrans_in = atomic_load_explicit(&m->pub[3], memory_order_relaxed);
}

void
txn_ctx_stats(const struct txn_ctx *ctx, struct txn_stats *st)
{
	const struct txn_le *le;

	*st = ctx->st;
	st->msg_bytes = 0;
	for (le = ctx->all.head; le; le = le->next)
		st->msg_bytes +=
			le->txn->req_len + le->txn->resp_len + le->txn->ack_len;
}

/* ---------------------------------------------------------------- */
/* Life cycle                                                         */

static void
txn_destroy(void *arg)
{
	struct txn *txn = arg;

	txn_stop_timers(txn);
	tmr_cancel(&txn->release);
	if (txn->ctx) {
		txn_unlink(txn);
		le_unlink(&txn->ctx->all, &txn->le_all);
		txn->ctx->st.live--;
		txn->ctx->st.destroyed++;
	}
	mem_deref(txn->branch);
	mem_deref(txn->method);
	mem_deref(txn->sent_by);
	mem_deref(txn->callid);
	mem_deref(txn->from_tag);
	mem_deref(txn->to_tag);
	mem_deref(txn->ruri);
	mem_deref(txn->via);
	mem_deref(txn->resp_tag);
	mem_deref(txn->req);
	mem_deref(txn->ack);
	mem_deref(txn->resp);
}

static struct txn *
txn_alloc(struct txn_ctx *ctx, enum txn_kind kind, const struct txn_dest *d)
{
	struct txn *txn = mem_zalloc(sizeof(*txn), txn_destroy);

	if (!txn)
		return NULL;
	txn->ctx = ctx;
	txn->kind = kind;
	if (d)
		txn->dest = *d;
	ctx->st.live++;
	ctx->st.created++;
	txn_pub(ctx);
	return txn;
}

/* Link into the tables; the tables take over the creation reference and
   the caller gets a new one for the TU. */
static struct txn *
txn_link(struct txn *txn)
{
	struct txn_ctx *ctx = txn->ctx;

	if (txn->kind == TXN_ICT || txn->kind == TXN_NICT) {
		le_link(txn_bucket(ctx, ctx->cli, txn->branch,
				   strlen(txn->branch)),
			&txn->le_key, txn);
	} else {
		if (!txn->legacy)
			le_link(txn_bucket(ctx, ctx->srv, txn->branch,
					   strlen(txn->branch)),
				&txn->le_key, txn);
		le_link(txn_bucket(ctx, ctx->srv_cid, txn->callid,
				   strlen(txn->callid)),
			&txn->le_cid, txn);
	}
	le_link(&ctx->all, &txn->le_all, txn);
	txn->linked = true;
	ctx->st.active++;
	txn_pub(ctx);
	return mem_ref(txn);
}

static void
release_h(void *arg)
{
	struct txn *txn = arg;

	le_unlink(&txn->ctx->all, &txn->le_all);
	mem_deref(txn); /* the table reference */
}

void
txn_terminate(struct txn *txn)
{
	if (!txn->ctx || tmr_isrunning(&txn->release))
		return;
	txn_stop_timers(txn);
	txn_unlink(txn);
	/* Never freed inside its own callback chain: released from a
	   zero-delay timer (STYLE.md). */
	txn_tmr(txn, &txn->release, 0, release_h);
}

void
txn_tmr(struct txn *txn, struct tmr *t, uint64_t ms, tmr_h *h)
{
	if (tmr_start(t, txn->ctx->tmr, ms, h, txn))
		LOG_ERR("%s: cannot start timer: out of memory", txn->branch);
}

int
txn_send(struct txn *txn, const char *buf, size_t len, bool retx)
{
	struct txn_ctx *ctx = txn->ctx;
	int err = ctx->send_h(&txn->dest, buf, len, ctx->send_arg);

	if (err) {
		ctx->st.tp_errors++;
		LOG_WARN("%s: send failed: %d", txn->branch, err);
	} else if (retx) {
		ctx->st.retransmits++;
		txn_pub(ctx);
	}
	return err;
}

void
txn_report_client(struct txn *txn, enum txn_cev ev, uint16_t status, int err,
		  const struct sip_msg *msg)
{
	struct txn_cevent e = {ev, status, err, msg};

	if (ev == TXN_CEV_TIMEOUT && txn->ctx)
		txn->ctx->st.timeouts++;
	if (txn->resp_h)
		txn->resp_h(txn, &e, txn->arg);
}

void
txn_report_server(struct txn *txn, enum txn_sev ev, int err,
		  const struct sip_msg *msg)
{
	if (ev == TXN_SEV_TIMEOUT && txn->ctx)
		txn->ctx->st.timeouts++;
	if (txn->req_h)
		txn->req_h(txn, ev, err, msg, txn->arg);
}

/* ---------------------------------------------------------------- */
/* Client API                                                         */

static int
client_keys(struct txn *txn, const struct sip_msg *m)
{
	txn->branch = pl_dup(&m->via.branch);
	txn->method = pl_dup(&m->cseq.method);
	txn->mid = m->cseq.mid;
	return txn->branch && txn->method ? 0 : ENOMEM;
}

int
txn_client_start(struct txn **txnp, struct txn_ctx *ctx, const char *req,
		 size_t len, const struct txn_dest *dst, txn_resp_h *resp_h,
		 void *arg)
{
	struct sip_limits lim;
	struct sip_perr perr;
	struct sip_msg m;
	struct txn *txn;
	int err;

	if (!txnp || !ctx || !req || !len || !dst)
		return EINVAL;
	sip_limits_default(&lim);
	lim.max_msg = len;
	if (sip_msg_parse(&m, req, len, SIP_FRAMING_DGRAM, &lim, &perr) ||
	    !m.req || !m.via.branch.p)
		return EBADMSG;
	if (m.mid == SIP_M_ACK)
		return EINVAL; /* §17: ACK for 2xx has no transaction */
	if (txn_cli_find(ctx, &m))
		return EEXIST;
	if (ctx->cfg.max_live && ctx->st.live >= ctx->cfg.max_live)
		return ENOBUFS;
	txn = txn_alloc(ctx, m.mid == SIP_M_INVITE ? TXN_ICT : TXN_NICT, dst);
	if (!txn)
		return ENOMEM;
	err = client_keys(txn, &m);
	if (!err)
		err = txn_buf_set(&txn->req, &txn->req_len, req, len);
	if (!err)
		err = txn_send(txn, txn->req, txn->req_len, false);
	if (err)
		goto out;
	txn->resp_h = resp_h;
	txn->arg = arg;
	*txnp = txn_link(txn);
	if (txn->kind == TXN_ICT)
		ict_fire(txn, ICT_E_START, NULL);
	else
		nict_fire(txn, NICT_E_START, NULL);
	return 0;
out:
	mem_deref(txn);
	return err;
}

int
txn_client_cancelled(struct txn *txn)
{
	if (!txn || !txn->ctx || txn->kind != TXN_ICT ||
	    (txn->state != ICT_S_CALLING && txn->state != ICT_S_PROCEEDING))
		return EINVAL;
	ict_cancel_guard(txn);
	return 0;
}

/* ---------------------------------------------------------------- */
/* Server API                                                         */

static int
server_keys(struct txn *txn, const struct sip_msg *m)
{
	char sb[300];

	txn_sent_by_fmt(&m->via, sb, sizeof(sb));
	txn->legacy = !txn_has_cookie(&m->via.branch);
	txn->branch = pl_dup(&m->via.branch);
	txn->method = pl_dup(&m->method);
	txn->mid = m->mid;
	txn->sent_by = str_dup(sb, strlen(sb));
	txn->callid = pl_dup(&m->callid);
	txn->from_tag = pl_dup(&m->from.tag);
	txn->to_tag = pl_dup(&m->to.tag);
	txn->cseq = m->cseq.num;
	if (!txn->branch || !txn->method || !txn->sent_by || !txn->callid ||
	    !txn->from_tag || !txn->to_tag)
		return ENOMEM;
	if (!txn->legacy)
		return 0;
	txn->ruri = pl_dup(&m->ruri_raw);
	txn->via = pl_dup(&m->via.raw);
	return txn->ruri && txn->via ? 0 : ENOMEM;
}

/* Build the 100 (Trying) now, while the request is at hand (§8.2.6.1:
   Via, From, To, Call-ID, CSeq, Timestamp copied; no To tag). */
static int
build_trying(struct txn *txn, const struct sip_msg *m)
{
	size_t sz = m->len + 64, len;
	char *buf = malloc(sz);
	struct sip_wbuf wb;
	int err;

	if (!buf)
		return ENOMEM;
	sip_wb_init(&wb, buf, sz);
	sip_wb_reply(&wb, m, 100, NULL, NULL);
	err = sip_wb_end(&wb, NULL, &len);
	if (!err)
		err = txn_buf_set(&txn->resp, &txn->resp_len, buf, len);
	txn->resp_status = 100;
	free(buf);
	return err;
}

int
txn_server_create(struct txn **txnp, struct txn_ctx *ctx,
		  const struct sip_msg *msg, const struct txn_dest *src,
		  txn_req_h *req_h, void *arg)
{
	struct txn *txn;
	int err;

	if (!txnp || !ctx || !msg || !src || !msg->req || msg->mid == SIP_M_ACK)
		return EINVAL;
	if (txn_srv_find(ctx, msg, msg->mid, &msg->method))
		return EEXIST;
	if (ctx->cfg.max_live && ctx->st.live >= ctx->cfg.max_live)
		return ENOBUFS;
	txn = txn_alloc(ctx, msg->mid == SIP_M_INVITE ? TXN_IST : TXN_NIST,
			src);
	if (!txn)
		return ENOMEM;
	err = server_keys(txn, msg);
	if (!err && txn->kind == TXN_IST)
		err = build_trying(txn, msg);
	if (err) {
		mem_deref(txn);
		return err;
	}
	txn->req_h = req_h;
	txn->arg = arg;
	*txnp = txn_link(txn);
	if (txn->kind == TXN_IST)
		ist_fire(txn, IST_E_START, NULL);
	else
		nist_fire(txn, NIST_E_START, NULL);
	return 0;
}

/* RFC 2543 peers match the ACK by the To tag of our final response. */
static int
keep_resp_tag(struct txn *txn, const char *resp, size_t len)
{
	struct sip_limits lim;
	struct sip_perr perr;
	struct sip_msg m;

	sip_limits_default(&lim);
	lim.max_msg = len;
	if (sip_msg_parse(&m, resp, len, SIP_FRAMING_DGRAM, &lim, &perr) ||
	    m.req)
		return EINVAL;
	txn->resp_tag = mem_deref(txn->resp_tag);
	txn->resp_tag = pl_dup(&m.to.tag);
	return txn->resp_tag ? 0 : ENOMEM;
}

static bool
server_fire_reply(struct txn *txn, uint16_t status)
{
	if (txn->kind == TXN_IST)
		return ist_fire(txn,
				status < 200   ? IST_E_TU_1XX
				: status < 300 ? IST_E_TU_2XX
					       : IST_E_TU_FAIL,
				NULL);
	return nist_fire(txn, status < 200 ? NIST_E_TU_1XX : NIST_E_TU_FINAL,
			 NULL);
}

int
txn_server_reply(struct txn *txn, const char *resp, size_t len, uint16_t status)
{
	bool ok;
	int err;

	if (!txn || !resp || !len || status < 100 || status > 699 ||
	    (txn->kind != TXN_IST && txn->kind != TXN_NIST))
		return EINVAL;
	if (!txn->ctx || !txn->linked)
		return ESHUTDOWN;
	/* RFC 4320 §4.1 (only 100 as a provisional) and §4.2 (never 408)
	   for non-INVITE requests. */
	if (txn->kind == TXN_NIST &&
	    ((status < 200 && status != 100) || status == 408))
		return EINVAL;
	if (txn->legacy && status >= 200) {
		err = keep_resp_tag(txn, resp, len);
		if (err)
			return err;
	}
	txn->out = resp;
	txn->out_len = len;
	txn->out_status = status;
	txn->api_err = 0;
	txn->in_api = true;
	ok = server_fire_reply(txn, status);
	txn->in_api = false;
	txn->out = NULL;
	if (!ok)
		return EPROTO;
	return txn->api_err;
}

/* Send the TU's response (txn->out) and keep it for retransmissions.
   Returns 0 or an error (kept in api_err). */
int
txn_send_out(struct txn *txn, bool keep)
{
	int err = 0;

	if (keep) {
		err = txn_buf_set(&txn->resp, &txn->resp_len, txn->out,
				  txn->out_len);
		txn->resp_status = txn->out_status;
	}
	if (!err)
		err = txn_send(txn, txn->out, txn->out_len, false);
	txn->api_err = err;
	return err;
}

/* ---------------------------------------------------------------- */
/* Introspection                                                      */

void
txn_detach(struct txn *txn)
{
	if (!txn)
		return;
	txn->resp_h = NULL;
	txn->req_h = NULL;
	txn->arg = NULL;
}

bool
txn_is_server(const struct txn *txn)
{
	return txn->kind == TXN_IST || txn->kind == TXN_NIST;
}

enum sip_method
txn_method(const struct txn *txn)
{
	return txn->mid;
}

const char *
txn_branch(const struct txn *txn)
{
	return txn->branch;
}

const char *
txn_state_str(const struct txn *txn)
{
	switch (txn->kind) {
	case TXN_ICT:
		return ict_state_name(txn->state);
	case TXN_NICT:
		return nict_state_name(txn->state);
	case TXN_IST:
		return ist_state_name(txn->state);
	case TXN_NIST:
		return nist_state_name(txn->state);
	}
	return "?";
}

bool
txn_terminated(const struct txn *txn)
{
	return !txn->linked;
}
