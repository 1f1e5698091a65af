/* Non-INVITE server transaction: RFC 3261 §17.2.2 (Figure 8). */
#define LOG_MODULE "txn"
#include "txn_int.h"

#include "log.h"

static const char *const nist_names[NIST_S_COUNT] = {
	[NIST_S_INVALID] = "Invalid",	    [NIST_S_TRYING] = "Trying",
	[NIST_S_PROCEEDING] = "Proceeding", [NIST_S_COMPLETED] = "Completed",
	[NIST_S_TERMINATED] = "Terminated",
};

static const char *const nist_ev_names[NIST_E_COUNT] = {
	[NIST_E_START] = "start",	 [NIST_E_REQ] = "request",
	[NIST_E_TU_1XX] = "1xx from TU", [NIST_E_TU_FINAL] = "final from TU",
	[NIST_E_TIMER_J] = "Timer J",	 [NIST_E_TPERR] = "transport error",
};

/* Figure 8. Missing pairs are invalid. */
static const enum nist_state nist_next[NIST_S_COUNT][NIST_E_COUNT] = {
	[NIST_S_INVALID] = {[NIST_E_START] = NIST_S_TRYING},
	/* Trying discards retransmissions (§17.2.2). */
	[NIST_S_TRYING] = {[NIST_E_REQ] = NIST_S_TRYING,
			   [NIST_E_TU_1XX] = NIST_S_PROCEEDING,
			   [NIST_E_TU_FINAL] = NIST_S_COMPLETED},
	[NIST_S_PROCEEDING] = {[NIST_E_REQ] = NIST_S_PROCEEDING,
			       [NIST_E_TU_1XX] = NIST_S_PROCEEDING,
			       [NIST_E_TU_FINAL] = NIST_S_COMPLETED,
			       [NIST_E_TPERR] = NIST_S_TERMINATED},
	[NIST_S_COMPLETED] = {[NIST_E_REQ] = NIST_S_COMPLETED,
			      [NIST_E_TIMER_J] = NIST_S_TERMINATED,
			      [NIST_E_TPERR] = NIST_S_TERMINATED},
};

const char *
nist_state_name(enum nist_state s)
{
	return (unsigned)s < NIST_S_COUNT ? nist_names[s] : "?";
}

static void
timer_j_h(void *arg)
{
	nist_fire(arg, NIST_E_TIMER_J, NULL);
}

/* A retransmitted request gets the last response again (§17.2.2). */
static void
nist_resend(struct txn *txn)
{
	int err = txn_send(txn, txn->resp, txn->resp_len, true);

	if (err) {
		txn->api_err = err;
		nist_fire(txn, NIST_E_TPERR, NULL);
	}
}

static void
nist_enter(struct txn *txn, enum nist_state prev, enum nist_event ev)
{
	switch ((enum nist_state)txn->state) {
	case NIST_S_PROCEEDING:
	case NIST_S_COMPLETED:
		if (ev == NIST_E_REQ) {
			nist_resend(txn);
			break;
		}
		if (txn_send_out(txn, true)) {
			nist_fire(txn, NIST_E_TPERR, NULL);
			break;
		}
		/* Timer J: 64*T1 unreliable, 0 reliable (§17.2.2). */
		if (txn->state == NIST_S_COMPLETED && prev != NIST_S_COMPLETED)
			txn_tmr(txn, &txn->wait,
				txn->dest.reliable
					? 0
					: 64 * (uint64_t)txn->ctx->cfg.t1,
				timer_j_h);
		break;
	case NIST_S_TERMINATED:
		txn_terminate(txn);
		if (ev == NIST_E_TPERR && !txn->in_api)
			txn_report_server(txn, TXN_SEV_TRANSPORT, txn->api_err,
					  NULL);
		break;
	default: /* Trying: start, or a retransmission discarded */
		break;
	}
}

/* The only writer of txn->state for non-INVITE server transactions. */
bool
nist_fire(struct txn *txn, enum nist_event ev, const struct sip_msg *msg)
{
	enum nist_state prev = txn->state;
	enum nist_state next = nist_next[prev][ev];

	(void)msg;
	if (next == NIST_S_INVALID) {
		LOG_DBG("nist %s: %s ignored in %s", txn->branch,
			nist_ev_names[ev], nist_state_name(prev));
		return false;
	}
	if (next != prev)
		LOG_DBG("nist %s: %s -> %s on %s", txn->branch,
			nist_state_name(prev), nist_state_name(next),
			nist_ev_names[ev]);
	txn->state = next;
	nist_enter(txn, prev, ev);
	return true;
}
