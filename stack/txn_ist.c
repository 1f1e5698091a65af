/* INVITE server transaction: RFC 3261 §17.2.1 (Figure 7) as amended by
   RFC 6026 §7.1 (Accepted state, Timer L: 2xx go out through the
   transaction, ACKs for 2xx go to the TU). */
#define LOG_MODULE "txn"
#include "txn_int.h"

#include <errno.h>

#include "log.h"

static const char *const ist_names[IST_S_COUNT] = {
	[IST_S_INVALID] = "Invalid",	 [IST_S_PROCEEDING] = "Proceeding",
	[IST_S_COMPLETED] = "Completed", [IST_S_CONFIRMED] = "Confirmed",
	[IST_S_ACCEPTED] = "Accepted",	 [IST_S_TERMINATED] = "Terminated",
};

static const char *const ist_ev_names[IST_E_COUNT] = {
	[IST_E_START] = "start",
	[IST_E_REQ] = "INVITE",
	[IST_E_ACK] = "ACK",
	[IST_E_TU_1XX] = "1xx from TU",
	[IST_E_TU_2XX] = "2xx from TU",
	[IST_E_TU_FAIL] = "3xx-6xx from TU",
	[IST_E_TRYING] = "Trying delay",
	[IST_E_TIMER_G] = "Timer G",
	[IST_E_TIMER_H] = "Timer H",
	[IST_E_TIMER_I] = "Timer I",
	[IST_E_TIMER_L] = "Timer L",
	[IST_E_TPERR] = "transport error",
};

/* Figure 7 + RFC 6026 Figure 7. Missing pairs are invalid. */
static const enum ist_state ist_next[IST_S_COUNT][IST_E_COUNT] = {
	[IST_S_INVALID] = {[IST_E_START] = IST_S_PROCEEDING},
	[IST_S_PROCEEDING] = {[IST_E_REQ] = IST_S_PROCEEDING,
			      [IST_E_TRYING] = IST_S_PROCEEDING,
			      [IST_E_TU_1XX] = IST_S_PROCEEDING,
			      [IST_E_TU_2XX] = IST_S_ACCEPTED,
			      [IST_E_TU_FAIL] = IST_S_COMPLETED,
			      [IST_E_TPERR] = IST_S_TERMINATED},
	[IST_S_COMPLETED] = {[IST_E_REQ] = IST_S_COMPLETED,
			     [IST_E_ACK] = IST_S_CONFIRMED,
			     [IST_E_TIMER_G] = IST_S_COMPLETED,
			     [IST_E_TIMER_H] = IST_S_TERMINATED,
			     [IST_E_TPERR] = IST_S_TERMINATED},
	/* Confirmed absorbs ACK and INVITE retransmissions. */
	[IST_S_CONFIRMED] = {[IST_E_REQ] = IST_S_CONFIRMED,
			     [IST_E_ACK] = IST_S_CONFIRMED,
			     [IST_E_TIMER_I] = IST_S_TERMINATED},
	/* Accepted absorbs INVITE retransmissions; ACKs go to the TU. */
	[IST_S_ACCEPTED] = {[IST_E_REQ] = IST_S_ACCEPTED,
			    [IST_E_ACK] = IST_S_ACCEPTED,
			    [IST_E_TU_2XX] = IST_S_ACCEPTED,
			    [IST_E_TIMER_L] = IST_S_TERMINATED},
};

const char *
ist_state_name(enum ist_state s)
{
	return (unsigned)s < IST_S_COUNT ? ist_names[s] : "?";
}

static void
trying_h(void *arg)
{
	ist_fire(arg, IST_E_TRYING, NULL);
}

static void
timer_g_h(void *arg)
{
	ist_fire(arg, IST_E_TIMER_G, NULL);
}

static void
timer_h_h(void *arg)
{
	ist_fire(arg, IST_E_TIMER_H, NULL);
}

static void
timer_i_h(void *arg)
{
	ist_fire(arg, IST_E_TIMER_I, NULL);
}

static void
timer_l_h(void *arg)
{
	ist_fire(arg, IST_E_TIMER_L, NULL);
}

/* Send the stored response again; a failure ends the transaction. */
static void
ist_resend(struct txn *txn, bool retx)
{
	int err = txn_send(txn, txn->resp, txn->resp_len, retx);

	if (err) {
		txn->api_err = err;
		ist_fire(txn, IST_E_TPERR, NULL);
	}
}

static void
ist_proceeding(struct txn *txn, enum ist_event ev)
{
	switch (ev) {
	case IST_E_START:
		/* §17.2.1: 100 unless the TU answers within 200 ms. */
		txn_tmr(txn, &txn->trying, txn->ctx->cfg.trying_ms, trying_h);
		break;
	case IST_E_TRYING:
	case IST_E_REQ:
		/* A retransmission gets the last provisional (§17.2.1); one
		   before the delay ran out gets the 100 at once. */
		tmr_cancel(&txn->trying);
		if (txn->sent_1xx || txn->resp_status == 100) {
			ist_resend(txn, txn->sent_1xx);
			txn->sent_1xx = true;
		}
		break;
	case IST_E_TU_1XX:
		tmr_cancel(&txn->trying);
		txn->sent_1xx = true;
		if (txn_send_out(txn, true))
			ist_fire(txn, IST_E_TPERR, NULL);
		break;
	default:
		break;
	}
}

static void
ist_completed(struct txn *txn, enum ist_state prev, enum ist_event ev)
{
	const struct txn_cfg *cfg = &txn->ctx->cfg;

	if (prev == IST_S_PROCEEDING) {
		tmr_cancel(&txn->trying);
		if (txn_send_out(txn, true)) {
			ist_fire(txn, IST_E_TPERR, NULL);
			return;
		}
		/* §17.2.1: G only on unreliable transports; H always. */
		txn->retx_ival = cfg->t1;
		if (!txn->dest.reliable)
			txn_tmr(txn, &txn->retx, cfg->t1, timer_g_h);
		txn_tmr(txn, &txn->timeout, 64 * (uint64_t)cfg->t1, timer_h_h);
		return;
	}
	if (ev == IST_E_TIMER_G) {
		txn->retx_ival = txn->retx_ival * 2 < cfg->t2
					 ? txn->retx_ival * 2
					 : cfg->t2;
		txn_tmr(txn, &txn->retx, txn->retx_ival, timer_g_h);
	}
	ist_resend(txn, true); /* Timer G or a retransmitted INVITE */
}

static void
ist_accepted(struct txn *txn, enum ist_state prev, enum ist_event ev,
	     const struct sip_msg *msg)
{
	if (prev == IST_S_PROCEEDING) {
		tmr_cancel(&txn->trying);
		/* RFC 6026 §7.1: Timer L = 64*T1 */
		txn_tmr(txn, &txn->wait, 64 * (uint64_t)txn->ctx->cfg.t1,
			timer_l_h);
		/* Accepted never resends a response: the TU retransmits
		   its 2xx (§13.3.1.4) and INVITE retransmissions are
		   absorbed (RFC 6026 Accepted state): no copy is held
		   for 64*T1. */
		txn_buf_free(&txn->resp, &txn->resp_len);
	}
	if (ev == IST_E_TU_2XX)
		txn_send_out(txn, false); /* failure: returned to the TU */
	else if (ev == IST_E_ACK)
		txn_report_server(txn, TXN_SEV_ACK, 0, msg);
	/* IST_E_REQ: absorbed */
}

static void
ist_terminated(struct txn *txn, enum ist_event ev)
{
	txn_terminate(txn);
	if (ev == IST_E_TIMER_H)
		txn_report_server(txn, TXN_SEV_TIMEOUT, ETIMEDOUT, NULL);
	else if (ev == IST_E_TPERR && !txn->in_api)
		txn_report_server(txn, TXN_SEV_TRANSPORT, txn->api_err, NULL);
}

static void
ist_enter(struct txn *txn, enum ist_state prev, enum ist_event ev,
	  const struct sip_msg *msg)
{
	switch ((enum ist_state)txn->state) {
	case IST_S_PROCEEDING:
		ist_proceeding(txn, ev);
		break;
	case IST_S_COMPLETED:
		ist_completed(txn, prev, ev);
		break;
	case IST_S_CONFIRMED:
		if (prev == IST_S_COMPLETED) {
			/* Timer I: T4 unreliable, 0 reliable (§17.2.1) */
			tmr_cancel(&txn->retx);
			tmr_cancel(&txn->timeout);
			txn_tmr(txn, &txn->wait,
				txn->dest.reliable ? 0 : txn->ctx->cfg.t4,
				timer_i_h);
		}
		break;
	case IST_S_ACCEPTED:
		ist_accepted(txn, prev, ev, msg);
		break;
	case IST_S_TERMINATED:
		ist_terminated(txn, ev);
		break;
	default:
		break;
	}
}

/* The only writer of txn->state for INVITE server transactions. */
bool
ist_fire(struct txn *txn, enum ist_event ev, const struct sip_msg *msg)
{
	enum ist_state prev = txn->state;
	enum ist_state next = ist_next[prev][ev];

	if (next == IST_S_INVALID) {
		LOG_DBG("ist %s: %s ignored in %s", txn->branch,
			ist_ev_names[ev], ist_state_name(prev));
		return false;
	}
	if (next != prev)
		LOG_DBG("ist %s: %s -> %s on %s", txn->branch,
			ist_state_name(prev), ist_state_name(next),
			ist_ev_names[ev]);
	txn->state = next;
	ist_enter(txn, prev, ev, msg);
	return true;
}
