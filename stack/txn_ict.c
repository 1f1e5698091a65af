/* INVITE client transaction: RFC 3261 §17.1.1 (Figure 5) as amended by
   RFC 6026 §7.2 (Accepted state, Timer M); ACK for 3xx-6xx per
   §17.1.1.3. */
#define LOG_MODULE "txn"
#include "txn_int.h"

#include <errno.h>
#include <stdlib.h>

#include "log.h"
#include "mem.h"
#include "sip_write.h"

#define TIMER_D_MS 32000 /* §17.1.1.2: at least 32 s on unreliable */

static const char *const ict_names[ICT_S_COUNT] = {
	[ICT_S_INVALID] = "Invalid",	   [ICT_S_CALLING] = "Calling",
	[ICT_S_PROCEEDING] = "Proceeding", [ICT_S_ACCEPTED] = "Accepted",
	[ICT_S_COMPLETED] = "Completed",   [ICT_S_TERMINATED] = "Terminated",
};

static const char *const ict_ev_names[ICT_E_COUNT] = {
	[ICT_E_START] = "start",
	[ICT_E_1XX] = "1xx",
	[ICT_E_2XX] = "2xx",
	[ICT_E_FAIL] = "3xx-6xx",
	[ICT_E_TIMER_A] = "Timer A",
	[ICT_E_TIMER_B] = "Timer B",
	[ICT_E_TIMER_C] = "Timer C",
	[ICT_E_CANCEL_TO] = "CANCEL guard",
	[ICT_E_TIMER_D] = "Timer D",
	[ICT_E_TIMER_M] = "Timer M",
	[ICT_E_TPERR] = "transport error",
};

/* Figure 5 + RFC 6026 Figure 5. Missing pairs are invalid. */
static const enum ict_state ict_next[ICT_S_COUNT][ICT_E_COUNT] = {
	[ICT_S_INVALID] = {[ICT_E_START] = ICT_S_CALLING},
	[ICT_S_CALLING] = {[ICT_E_1XX] = ICT_S_PROCEEDING,
			   [ICT_E_2XX] = ICT_S_ACCEPTED,
			   [ICT_E_FAIL] = ICT_S_COMPLETED,
			   [ICT_E_TIMER_A] = ICT_S_CALLING,
			   [ICT_E_TIMER_B] = ICT_S_TERMINATED,
			   [ICT_E_CANCEL_TO] = ICT_S_TERMINATED,
			   [ICT_E_TPERR] = ICT_S_TERMINATED},
	[ICT_S_PROCEEDING] = {[ICT_E_1XX] = ICT_S_PROCEEDING,
			      [ICT_E_2XX] = ICT_S_ACCEPTED,
			      [ICT_E_FAIL] = ICT_S_COMPLETED,
			      [ICT_E_TIMER_C] = ICT_S_PROCEEDING,
			      [ICT_E_CANCEL_TO] = ICT_S_TERMINATED},
	[ICT_S_ACCEPTED] = {[ICT_E_2XX] = ICT_S_ACCEPTED,
			    [ICT_E_TIMER_M] = ICT_S_TERMINATED},
	[ICT_S_COMPLETED] = {[ICT_E_FAIL] = ICT_S_COMPLETED,
			     [ICT_E_TIMER_D] = ICT_S_TERMINATED,
			     [ICT_E_TPERR] = ICT_S_TERMINATED},
};

const char *
ict_state_name(enum ict_state s)
{
	return (unsigned)s < ICT_S_COUNT ? ict_names[s] : "?";
}

static void
timer_a_h(void *arg)
{
	ict_fire(arg, ICT_E_TIMER_A, NULL);
}

static void
timer_b_h(void *arg)
{
	ict_fire(arg, ICT_E_TIMER_B, NULL);
}

static void
timer_d_h(void *arg)
{
	ict_fire(arg, ICT_E_TIMER_D, NULL);
}

static void
timer_m_h(void *arg)
{
	ict_fire(arg, ICT_E_TIMER_M, NULL);
}

/* Provisional timeout, then (once reported or after a CANCEL) the §9.1
   guard. */
static void
timer_c_h(void *arg)
{
	struct txn *txn = arg;

	ict_fire(txn, txn->prov_fired ? ICT_E_CANCEL_TO : ICT_E_TIMER_C, NULL);
}

void
ict_cancel_guard(struct txn *txn)
{
	/* §9.1: no final 64*T1 after the CANCEL: the INVITE is over. */
	txn->prov_fired = true;
	txn_tmr(txn, &txn->prov, 64 * (uint64_t)txn->ctx->cfg.t1, timer_c_h);
}

/*
 * §17.1.1.3: the ACK for a 3xx-6xx: Request-URI, Call-ID, From and CSeq
 * number of the INVITE with method ACK, To of the response, the INVITE's
 * top Via only, its Route header fields.
 */
static int
ack_write(struct sip_wbuf *wb, const struct sip_msg *inv,
	  const struct sip_msg *resp)
{
	const struct sip_hdr *from = sip_msg_hdr(inv, SIP_HDR_FROM);
	const struct sip_hdr *to = sip_msg_hdr(resp, SIP_HDR_TO);

	sip_wb_request(wb, &PL("ACK"), &inv->ruri_raw);
	sip_wb_hdr(wb, SIP_HDR_VIA, &inv->via.raw);
	sip_wb_hdr_copy(wb, inv, SIP_HDR_ROUTE);
	sip_wb_hdr(wb, SIP_HDR_MAX_FORWARDS, &PL("70"));
	sip_wb_hdr(wb, SIP_HDR_FROM, &from->val);
	sip_wb_hdr(wb, SIP_HDR_TO, &to->val);
	sip_wb_hdr(wb, SIP_HDR_CALL_ID, &inv->callid);
	return sip_wb_hdrf(wb, SIP_HDR_CSEQ, "%u ACK", (unsigned)inv->cseq.num);
}

static int
ack_build(struct txn *txn, const struct sip_msg *resp)
{
	struct sip_limits lim;
	struct sip_perr perr;
	struct sip_msg *inv = malloc(sizeof(*inv));
	size_t sz = txn->req_len + resp->len + 64, len = 0;
	char *buf = malloc(sz);
	struct sip_wbuf wb;
	int err = ENOMEM;

	if (!inv || !buf)
		goto out;
	sip_limits_default(&lim);
	lim.max_msg = txn->req_len;
	err = sip_msg_parse(inv, txn->req, txn->req_len, SIP_FRAMING_DGRAM,
			    &lim, &perr);
	if (err)
		goto out;
	sip_wb_init(&wb, buf, sz);
	ack_write(&wb, inv, resp);
	err = sip_wb_end(&wb, NULL, &len);
	if (!err)
		err = txn_buf_set(&txn->ack, &txn->ack_len, buf, len);
out:
	free(buf);
	free(inv);
	return err;
}

/* Completed: (re)send the ACK; the first time, tell the TU. */
static void
ict_completed(struct txn *txn, bool first, const struct sip_msg *msg)
{
	int err = txn->ack ? 0 : ack_build(txn, msg);
	bool built = !err;

	if (!built)
		LOG_ERR("ict %s: cannot build ACK: %d", txn->branch, err);
	else
		err = txn_send(txn, txn->ack, txn->ack_len, !first);
	if (first) {
		tmr_cancel(&txn->retx);
		tmr_cancel(&txn->timeout);
		tmr_cancel(&txn->prov);
		txn_tmr(txn, &txn->wait, txn->dest.reliable ? 0 : TIMER_D_MS,
			timer_d_h);
		txn_report_client(txn, TXN_CEV_RESPONSE, msg->status, 0, msg);
	}
	if (!built || !err)
		return;
	txn->api_err = err;
	ict_fire(txn, ICT_E_TPERR, NULL);
}

static void
ict_calling(struct txn *txn, enum ict_event ev)
{
	const struct txn_cfg *cfg = &txn->ctx->cfg;
	int err;

	if (ev == ICT_E_START) {
		/* §17.1.1.2: Timer A only on unreliable transports. */
		txn->retx_ival = cfg->t1;
		if (!txn->dest.reliable)
			txn_tmr(txn, &txn->retx, cfg->t1, timer_a_h);
		txn_tmr(txn, &txn->timeout, 64 * (uint64_t)cfg->t1, timer_b_h);
		return;
	}
	/* Timer A: retransmit, double the interval (no T2 cap for INVITE). */
	err = txn_send(txn, txn->req, txn->req_len, true);
	if (err) {
		txn->api_err = err;
		ict_fire(txn, ICT_E_TPERR, NULL);
		return;
	}
	txn->retx_ival *= 2;
	txn_tmr(txn, &txn->retx, txn->retx_ival, timer_a_h);
}

static void
ict_proceeding(struct txn *txn, enum ict_state prev, enum ict_event ev,
	       const struct sip_msg *msg)
{
	const struct txn_cfg *cfg = &txn->ctx->cfg;

	if (ev == ICT_E_TIMER_C) {
		ict_cancel_guard(txn);
		txn_report_client(txn, TXN_CEV_PROV_TIMEOUT, 0, 0, NULL);
		return;
	}
	if (prev == ICT_S_CALLING) {
		tmr_cancel(&txn->retx);
		tmr_cancel(&txn->timeout);
	}
	if (!txn->prov_fired && cfg->timer_c)
		txn_tmr(txn, &txn->prov, cfg->timer_c, timer_c_h);
	txn_report_client(txn, TXN_CEV_RESPONSE, msg->status, 0, msg);
}

static void
ict_terminated(struct txn *txn, enum ict_state prev, enum ict_event ev)
{
	txn_terminate(txn);
	switch (ev) {
	case ICT_E_TIMER_B:
	case ICT_E_CANCEL_TO:
		txn_report_client(txn, TXN_CEV_TIMEOUT, 408, ETIMEDOUT, NULL);
		break;
	case ICT_E_TPERR:
		/* After a final response (the ACK failed) the TU already has
		   its answer: terminate quietly. */
		if (prev == ICT_S_CALLING || prev == ICT_S_PROCEEDING)
			txn_report_client(txn, TXN_CEV_TRANSPORT, 503,
					  txn->api_err, NULL);
		break;
	default:
		break;
	}
}

/* Side effects of entering txn->state from prev on ev. */
static void
ict_enter(struct txn *txn, enum ict_state prev, enum ict_event ev,
	  const struct sip_msg *msg)
{
	switch ((enum ict_state)txn->state) {
	case ICT_S_CALLING:
		ict_calling(txn, ev);
		break;
	case ICT_S_PROCEEDING:
		ict_proceeding(txn, prev, ev, msg);
		break;
	case ICT_S_ACCEPTED:
		if (prev != ICT_S_ACCEPTED) {
			/* RFC 6026 §7.2: wait 64*T1 for 2xx retransmissions,
			   each passed to the TU. */
			tmr_cancel(&txn->retx);
			tmr_cancel(&txn->timeout);
			tmr_cancel(&txn->prov);
			txn_tmr(txn, &txn->wait,
				64 * (uint64_t)txn->ctx->cfg.t1, timer_m_h);
			/* The INVITE is never sent again (no Timer A; the
			   TU ACKs a 2xx, §13.2.2.4): do not hold it 64*T1. */
			txn_buf_free(&txn->req, &txn->req_len);
		}
		txn_report_client(txn, TXN_CEV_RESPONSE, msg->status, 0, msg);
		break;
	case ICT_S_COMPLETED:
		ict_completed(txn, prev != ICT_S_COMPLETED, msg);
		break;
	case ICT_S_TERMINATED:
		ict_terminated(txn, prev, ev);
		break;
	default:
		break;
	}
}

/* The only writer of txn->state for INVITE client transactions. */
bool
ict_fire(struct txn *txn, enum ict_event ev, const struct sip_msg *msg)
{
	enum ict_state prev = txn->state;
	enum ict_state next = ict_next[prev][ev];

	if (next == ICT_S_INVALID) {
		LOG_DBG("ict %s: %s ignored in %s", txn->branch,
			ict_ev_names[ev], ict_state_name(prev));
		return false;
	}
	if (next != prev)
		LOG_DBG("ict %s: %s -> %s on %s", txn->branch,
			ict_state_name(prev), ict_state_name(next),
			ict_ev_names[ev]);
	txn->state = next;
	ict_enter(txn, prev, ev, msg);
	return true;
}
