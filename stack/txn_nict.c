/* Non-INVITE client transaction: RFC 3261 §17.1.2 (Figure 6), with
   RFC 4320/4321: a Timer F timeout is reported to the TU as a local 408
   and never forwarded as a late response (the layer never builds a 408;
   see txn_server_reply() for the server half). */
#define LOG_MODULE "txn"
#include "txn_int.h"

#include <errno.h>

#include "log.h"

static const char *const nict_names[NICT_S_COUNT] = {
	[NICT_S_INVALID] = "Invalid",	    [NICT_S_TRYING] = "Trying",
	[NICT_S_PROCEEDING] = "Proceeding", [NICT_S_COMPLETED] = "Completed",
	[NICT_S_TERMINATED] = "Terminated",
};

static const char *const nict_ev_names[NICT_E_COUNT] = {
	[NICT_E_START] = "start",	    [NICT_E_1XX] = "1xx",
	[NICT_E_FINAL] = "final",	    [NICT_E_TIMER_E] = "Timer E",
	[NICT_E_TIMER_F] = "Timer F",	    [NICT_E_TIMER_K] = "Timer K",
	[NICT_E_TPERR] = "transport error",
};

/* Figure 6. Missing pairs are invalid. */
static const enum nict_state nict_next[NICT_S_COUNT][NICT_E_COUNT] = {
	[NICT_S_INVALID] = {[NICT_E_START] = NICT_S_TRYING},
	[NICT_S_TRYING] = {[NICT_E_1XX] = NICT_S_PROCEEDING,
			   [NICT_E_FINAL] = NICT_S_COMPLETED,
			   [NICT_E_TIMER_E] = NICT_S_TRYING,
			   [NICT_E_TIMER_F] = NICT_S_TERMINATED,
			   [NICT_E_TPERR] = NICT_S_TERMINATED},
	[NICT_S_PROCEEDING] = {[NICT_E_1XX] = NICT_S_PROCEEDING,
			       [NICT_E_FINAL] = NICT_S_COMPLETED,
			       [NICT_E_TIMER_E] = NICT_S_PROCEEDING,
			       [NICT_E_TIMER_F] = NICT_S_TERMINATED,
			       [NICT_E_TPERR] = NICT_S_TERMINATED},
	/* Completed absorbs response retransmissions (1xx-6xx). */
	[NICT_S_COMPLETED] = {[NICT_E_1XX] = NICT_S_COMPLETED,
			      [NICT_E_FINAL] = NICT_S_COMPLETED,
			      [NICT_E_TIMER_K] = NICT_S_TERMINATED},
};

const char *
nict_state_name(enum nict_state s)
{
	return (unsigned)s < NICT_S_COUNT ? nict_names[s] : "?";
}

static void
timer_e_h(void *arg)
{
	nict_fire(arg, NICT_E_TIMER_E, NULL);
}

static void
timer_f_h(void *arg)
{
	nict_fire(arg, NICT_E_TIMER_F, NULL);
}

static void
timer_k_h(void *arg)
{
	nict_fire(arg, NICT_E_TIMER_K, NULL);
}

/* Timer E: retransmit; Trying doubles up to T2, Proceeding uses T2
   (§17.1.2.2). */
static void
nict_retransmit(struct txn *txn)
{
	uint32_t t2 = txn->ctx->cfg.t2;
	int err = txn_send(txn, txn->req, txn->req_len, true);

	if (err) {
		txn->api_err = err;
		nict_fire(txn, NICT_E_TPERR, NULL);
		return;
	}
	if (txn->state == NICT_S_PROCEEDING)
		txn->retx_ival = t2;
	else
		txn->retx_ival =
			txn->retx_ival * 2 < t2 ? txn->retx_ival * 2 : t2;
	txn_tmr(txn, &txn->retx, txn->retx_ival, timer_e_h);
}

static void
nict_start(struct txn *txn)
{
	const struct txn_cfg *cfg = &txn->ctx->cfg;

	txn->retx_ival = cfg->t1;
	if (!txn->dest.reliable) /* §17.1.2.2: E only when unreliable */
		txn_tmr(txn, &txn->retx, cfg->t1, timer_e_h);
	txn_tmr(txn, &txn->timeout, 64 * (uint64_t)cfg->t1, timer_f_h);
}

static void
nict_completed(struct txn *txn, enum nict_state prev, const struct sip_msg *msg)
{
	if (prev == NICT_S_COMPLETED)
		return; /* absorbed */
	tmr_cancel(&txn->retx);
	tmr_cancel(&txn->timeout);
	/* Timer K: T4 unreliable, 0 reliable (§17.1.2.2). */
	txn_tmr(txn, &txn->wait, txn->dest.reliable ? 0 : txn->ctx->cfg.t4,
		timer_k_h);
	/* Completed only absorbs responses (§17.1.2.2): the request is
	   never sent again. */
	txn_buf_free(&txn->req, &txn->req_len);
	txn_report_client(txn, TXN_CEV_RESPONSE, msg->status, 0, msg);
}

static void
nict_terminated(struct txn *txn, enum nict_event ev)
{
	txn_terminate(txn);
	if (ev == NICT_E_TIMER_F) /* RFC 4320: a local 408 only */
		txn_report_client(txn, TXN_CEV_TIMEOUT, 408, ETIMEDOUT, NULL);
	else if (ev == NICT_E_TPERR)
		txn_report_client(txn, TXN_CEV_TRANSPORT, 503, txn->api_err,
				  NULL);
}

static void
nict_enter(struct txn *txn, enum nict_state prev, enum nict_event ev,
	   const struct sip_msg *msg)
{
	switch ((enum nict_state)txn->state) {
	case NICT_S_TRYING:
	case NICT_S_PROCEEDING:
		if (ev == NICT_E_START)
			nict_start(txn);
		else if (ev == NICT_E_TIMER_E)
			nict_retransmit(txn);
		else
			txn_report_client(txn, TXN_CEV_RESPONSE, msg->status, 0,
					  msg);
		break;
	case NICT_S_COMPLETED:
		nict_completed(txn, prev, msg);
		break;
	case NICT_S_TERMINATED:
		nict_terminated(txn, ev);
		break;
	default:
		break;
	}
}

/* The only writer of txn->state for non-INVITE client transactions. */
bool
nict_fire(struct txn *txn, enum nict_event ev, const struct sip_msg *msg)
{
	enum nict_state prev = txn->state;
	enum nict_state next = nict_next[prev][ev];

	if (next == NICT_S_INVALID) {
		LOG_DBG("nict %s: %s ignored in %s", txn->branch,
			nict_ev_names[ev], nict_state_name(prev));
		return false;
	}
	if (next != prev)
		LOG_DBG("nict %s: %s -> %s on %s", txn->branch,
			nict_state_name(prev), nict_state_name(next),
			nict_ev_names[ev]);
	txn->state = next;
	nict_enter(txn, prev, ev, msg);
	return true;
}
