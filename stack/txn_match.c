/* SIP transaction matching: responses to client transactions
   (RFC 3261 §17.1.3), requests to server transactions (§17.2.3, with the
   RFC 2543 fallback), CANCEL to its INVITE (§9.2) and merged requests
   (§8.2.2.2). */
#define LOG_MODULE "txn"
#include "txn_int.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "log.h"

/* ---------------------------------------------------------------- */
/* Matching                                                           */

static bool
method_eq(const struct txn *txn, enum sip_method mid, const struct pl *m)
{
	if (txn->mid != mid)
		return false;
	return mid != SIP_M_OTHER || txn_str_eq_pl(txn->method, m);
}

/* §17.1.3: top Via branch and CSeq method. */
struct txn *
txn_cli_find(struct txn_ctx *ctx, const struct sip_msg *msg)
{
	const struct pl *br = &msg->via.branch;
	struct txn_le *le;

	if (!br->p)
		return NULL;
	for (le = txn_bucket(ctx, ctx->cli, br->p, br->l)->head; le;
	     le = le->next) {
		struct txn *t = le->txn;

		if (txn_str_eq_pl(t->branch, br) &&
		    method_eq(t, msg->cseq.mid, &msg->cseq.method))
			return t;
	}
	return NULL;
}

/* §17.2.3 with the magic cookie: branch, sent-by, method (ACK as
   INVITE). */
static struct txn *
srv_find_cookie(struct txn_ctx *ctx, const struct sip_msg *msg,
		enum sip_method mid, const struct pl *method)
{
	const struct pl *br = &msg->via.branch;
	char sb[300];
	struct txn_le *le;

	txn_sent_by_fmt(&msg->via, sb, sizeof(sb));
	for (le = txn_bucket(ctx, ctx->srv, br->p, br->l)->head; le;
	     le = le->next) {
		struct txn *t = le->txn;

		if (txn_str_eq_pl(t->branch, br) &&
		    strcmp(t->sent_by, sb) == 0 && method_eq(t, mid, method))
			return t;
	}
	return NULL;
}

/* The RFC 2543 rules of §17.2.3 (and §9.2 for CANCEL via mid). */
static bool
legacy_match(const struct txn *t, const struct sip_msg *msg,
	     enum sip_method mid, const struct pl *method)
{
	const struct pl *totag = &msg->to.tag;

	if (!t->legacy || !txn_str_eq_pl(t->ruri, &msg->ruri_raw) ||
	    !txn_str_eq_pl(t->from_tag, &msg->from.tag) ||
	    !txn_str_eq_pl(t->callid, &msg->callid) ||
	    t->cseq != msg->cseq.num || !txn_str_eq_pl(t->via, &msg->via.raw))
		return false;
	if (msg->mid == SIP_M_ACK) /* To tag of our response */
		return t->kind == TXN_IST && t->resp_tag &&
		       txn_str_eq_pl(t->resp_tag, totag);
	return method_eq(t, mid, method) && txn_str_eq_pl(t->to_tag, totag);
}

struct txn *
txn_srv_find(struct txn_ctx *ctx, const struct sip_msg *msg,
	     enum sip_method mid, const struct pl *method)
{
	const struct pl *cid = &msg->callid;
	struct txn_le *le;

	if (txn_has_cookie(&msg->via.branch))
		return srv_find_cookie(ctx, msg, mid, method);
	for (le = txn_bucket(ctx, ctx->srv_cid, cid->p, cid->l)->head; le;
	     le = le->next) {
		if (legacy_match(le->txn, msg, mid, method))
			return le->txn;
	}
	return NULL;
}

static enum ict_event
ict_event_of(uint16_t st)
{
	return st < 200 ? ICT_E_1XX : st < 300 ? ICT_E_2XX : ICT_E_FAIL;
}

static void
retrans_in(struct txn_ctx *ctx)
{
	ctx->st.retrans_in++;
	txn_pub(ctx);
}

static int
recv_response(struct txn_ctx *ctx, const struct sip_msg *msg)
{
	struct txn *txn = txn_cli_find(ctx, msg);

	if (!txn)
		return ENOENT;
	if (msg->status < 100 || msg->status > 699)
		return 0; /* the parser refuses these; absorbed anyway */
	/* A final response again once Completed: the server's Timer G /
	   §17.2.2 retransmission (ICT answers it with the ACK again). */
	if (msg->status >= 200 &&
	    ((txn->kind == TXN_ICT && txn->state == ICT_S_COMPLETED) ||
	     (txn->kind == TXN_NICT && txn->state == NICT_S_COMPLETED)))
		retrans_in(ctx);
	if (txn->kind == TXN_ICT)
		ict_fire(txn, ict_event_of(msg->status), msg);
	else
		nict_fire(txn, msg->status < 200 ? NICT_E_1XX : NICT_E_FINAL,
			  msg);
	return 0;
}

int
txn_recv(struct txn_ctx *ctx, const struct sip_msg *msg,
	 const struct txn_dest *src)
{
	struct txn *txn;
	bool ack;

	(void)src; /* responses go where the first request came from */
	if (!ctx || !msg)
		return EINVAL;
	if (!msg->req)
		return recv_response(ctx, msg);
	ack = msg->mid == SIP_M_ACK;
	txn = ack ? txn_srv_find(ctx, msg, SIP_M_INVITE, &PL("INVITE"))
		  : txn_srv_find(ctx, msg, msg->mid, &msg->method);
	if (!txn)
		return ENOENT;
	/* §17.2.3: a request matching a server transaction is a
	   retransmission; the ACK of a non-2xx is one only once the
	   transaction has it (Confirmed). */
	if (!ack || (txn->kind == TXN_IST && txn->state == IST_S_CONFIRMED))
		retrans_in(ctx);
	if (ack)
		ist_fire(txn, IST_E_ACK, msg);
	else if (txn->kind == TXN_IST)
		ist_fire(txn, IST_E_REQ, msg);
	else
		nist_fire(txn, NIST_E_REQ, msg);
	return 0;
}

struct txn *
txn_cancel_target(struct txn_ctx *ctx, const struct sip_msg *msg)
{
	struct txn *txn;

	if (!ctx || !msg || !msg->req || msg->mid != SIP_M_CANCEL)
		return NULL;
	/* §9.2: the §17.2.3 rules with the method taken as INVITE. */
	txn = txn_srv_find(ctx, msg, SIP_M_INVITE, &PL("INVITE"));
	return txn && txn->kind == TXN_IST ? txn : NULL;
}

bool
txn_merged(struct txn_ctx *ctx, const struct sip_msg *msg)
{
	const struct pl *cid;
	struct txn_le *le;

	if (!ctx || !msg || !msg->req || msg->to.tag.p || msg->mid == SIP_M_ACK)
		return false;
	cid = &msg->callid;
	for (le = txn_bucket(ctx, ctx->srv_cid, cid->p, cid->l)->head; le;
	     le = le->next) {
		struct txn *t = le->txn;

		if (txn_str_eq_pl(t->callid, cid) &&
		    txn_str_eq_pl(t->from_tag, &msg->from.tag) &&
		    t->cseq == msg->cseq.num &&
		    method_eq(t, msg->cseq.mid, &msg->cseq.method) &&
		    !(t->legacy ? legacy_match(t, msg, msg->mid, &msg->method)
				: txn_str_eq_pl(t->branch, &msg->via.branch)))
			return true;
	}
	return false;
}
