/*
 * txn_peer: the Tandem side of the transaction-layer integration tests
 * (RFC 3261 §17 on the wire, against SIPp; run by run_txn.sh).
 *
 * One process, one thread, one event_base carrying the real tp_ctx,
 * txn_ctx and tmr_ctx of the stack (the parts a signaling worker is made
 * of; sipw itself has no way to start work on a worker from outside its
 * TU hook, which a UAC test needs). The driver plays a minimal TU: it
 * builds requests and responses with sip_wb_*, ACKs a 2xx itself
 * (§13.2.2.4) and, in uas-2xx, retransmits its 2xx until the ACK
 * (§13.3.1.4), standing in for the UA core that does not exist yet.
 *
 * Usage:
 *   txn_peer port
 *       print a port free for both UDP and TCP on 127.0.0.1, then exit
 *   txn_peer MODE udp|tcp|tls PORT T1 T2
 *       MODE uac-invite, uac-options-timeout, uac-invite-timeout,
 *       uac-invite-prov-timeout: send to SIPp on 127.0.0.1:PORT from an
 *       ephemeral port.
 *       MODE uac-tls-refused (tls only): an OPTIONS whose TLS connection
 *       must be refused (the peer's certificate does not verify).
 *       MODE uas-options, uas-486, uas-486-timer-h, uas-2xx: listen on
 *       127.0.0.1:PORT.
 *       tls: the certificates come from the folder $TXN_PEER_TLS_DIR:
 *       srv.pem + srv.key (ours, as server and client), ca.pem (the CA
 *       peers must chain to; their name to verify is their IP address).
 *       T1, T2 in ms configure the transaction layer; T4 = 5 * T1 keeps
 *       Timer I (uas-486) short.
 *
 * Prints "RESULT key=value" lines for the runner to check and one
 * "PASS: ..." or "FAIL: ..." line; exits 0 on PASS, 1 otherwise. Bounded
 * in time: a per-mode deadline on the event loop, and alarm() as the
 * hard stop.
 */
#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <event2/event.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include "stack/log.h"
#include "stack/mem.h"
#include "stack/sip_msg.h"
#include "stack/sip_write.h"
#include "stack/sipw.h"
#include "stack/tmr.h"
#include "stack/tp.h"
#include "stack/txn.h"

#define PEER_IP "127.0.0.1"
#define HARD_LIMIT_S 30	   /* alarm(): nothing may run longer */
#define DEADLINE_MS 15000  /* the event loop gives up after this */
#define OPTIONS_DELAY 700  /* uas-options: TU answers this late */
#define LINGER_MS 600	   /* uas-*: stay to catch late retransmissions */
#define UAC_LINGER_MS 1000 /* uac-*-timeout: stay after the timeout */
#define WATCH_MS 20	   /* uas-486: polls the transaction's end */
#define MSG_MAX 4096
#define PROV_TIMEOUT_MS 800 /* uac-invite-prov-timeout: cfg.timer_c */

enum mode {
	M_UAC_INVITE,
	M_UAC_OPTIONS_TIMEOUT,
	M_UAC_INVITE_TIMEOUT,
	M_UAC_INVITE_PROV_TIMEOUT,
	M_UAC_TLS_REFUSED,
	M_UAS_OPTIONS,
	M_UAS_486,
	M_UAS_486_TIMER_H,
	M_UAS_2XX,
	M_COUNT
};

static const char *const mode_names[M_COUNT] = {
	[M_UAC_INVITE] = "uac-invite",
	[M_UAC_OPTIONS_TIMEOUT] = "uac-options-timeout",
	[M_UAC_INVITE_TIMEOUT] = "uac-invite-timeout",
	[M_UAC_INVITE_PROV_TIMEOUT] = "uac-invite-prov-timeout",
	[M_UAC_TLS_REFUSED] = "uac-tls-refused",
	[M_UAS_OPTIONS] = "uas-options",
	[M_UAS_486] = "uas-486",
	[M_UAS_486_TIMER_H] = "uas-486-timer-h",
	[M_UAS_2XX] = "uas-2xx",
};

/* The whole driver state; one per process, passed explicitly. */
struct peer {
	enum mode mode;
	enum tp_proto proto;
	uint16_t port; /* SIPp's (uac-*) or ours (uas-*) */
	struct txn_cfg cfg;

	struct event_base *base; /* owned */
	struct event *tmr_ev;	 /* owned: drives tmr_ctx */
	struct tmr_ctx *tmr;	 /* ref */
	struct tp_ctx *tp;	 /* ref */
	struct txn_ctx *txn;	 /* ref */
	uint16_t lport;		 /* our listening port for proto */

	struct tmr t_start;    /* kicks the scenario off */
	struct tmr t_deadline; /* DEADLINE_MS */
	struct tmr t_tu;       /* TU timer: delayed answer, 2xx retrans */
	struct tmr t_linger;   /* uas-*: ends the run */
	uint64_t t0;	       /* ms, when the scenario started */

	/* client side (uac-*) */
	struct txn_dest dst;
	struct txn *ctxn; /* ref: the INVITE or OPTIONS */
	struct txn *btxn; /* ref: the BYE */
	char callid[SIPW_CALLID_LEN + 1];
	unsigned branch_seq;
	unsigned acks_sent;
	char inv_branch[48]; /* the INVITE's, for its CANCEL (§9.1) */
	uint64_t last_1xx;   /* ms: the last 1xx for the INVITE */
	unsigned n_1xx;	     /* 1xx responses reported */
	bool prov_fired;     /* TXN_CEV_PROV_TIMEOUT seen */
	bool cancel_ok;	     /* 200 for our CANCEL */

	/* server side (uas-*) */
	struct txn *stxn;	/* ref: the OPTIONS or INVITE */
	struct txn *bye_stxn;	/* ref: the BYE */
	struct tp_recv conn_rx; /* TCP: keeps the connection referenced */
	bool have_conn;
	char resp[MSG_MAX]; /* the TU's answer, built on arrival */
	size_t resp_len;
	unsigned tu_requests; /* new requests the TU saw (not absorbed) */
	unsigned tu_2xx_retrans;
	uint32_t tu_2xx_ival;
	bool acked;
	bool timed_out; /* uas-486-timer-h: TXN_SEV_TIMEOUT seen */

	char cert[512], key[512], ca[512]; /* tls: the files */

	bool done;
	int rc;
};

/* ---- outcome ------------------------------------------------------ */

static void __attribute__((format(printf, 3, 4)))
peer_finish(struct peer *p, int rc, const char *fmt, ...)
{
	va_list ap;

	if (p->done)
		return;
	p->done = true;
	p->rc = rc;
	printf("%s: %s: ", rc ? "FAIL" : "PASS", mode_names[p->mode]);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	fflush(stdout);
	event_base_loopbreak(p->base);
}

static uint64_t
peer_elapsed(const struct peer *p)
{
	return tmr_now(p->tmr) - p->t0;
}

static void
on_alarm(int sig)
{
	static const char msg[] = "FAIL: hard time limit (alarm) reached\n";

	(void)sig;
	(void)!write(STDOUT_FILENO, msg, sizeof(msg) - 1);
	_exit(1);
}

/* ---- event loop glue ---------------------------------------------- */

/* Fire due timers and keep tmr_ev armed for the next one; call after
   anything that may have started a timer. */
static void
peer_sync(struct peer *p)
{
	int64_t ms = tmr_poll(p->tmr);
	struct timeval tv;

	if (ms < 0) {
		evtimer_del(p->tmr_ev);
		return;
	}
	tv.tv_sec = ms / 1000;
	tv.tv_usec = (ms % 1000) * 1000;
	evtimer_add(p->tmr_ev, &tv);
}

static void
on_tmr_ev(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	peer_sync(arg);
}

static int
on_txn_send(const struct txn_dest *dst, const char *buf, size_t len, void *arg)
{
	struct peer *p = arg;

	return tp_send(p->tp, (enum tp_proto)dst->proto,
		       (const struct sockaddr *)&dst->addr, dst->len, dst->conn,
		       buf, len);
}

static void
on_tp_err(enum tp_proto proto, const struct sockaddr *peer, socklen_t len,
	  int err, void *arg)
{
	struct peer *p = arg;

	(void)peer;
	(void)len;
	printf("transport error on %s: %s\n", tp_proto_name(proto),
	       strerror(err));
	if (p->mode != M_UAC_TLS_REFUSED)
		return;
	/* §17.1.4: the TU learns of it as a transport error; here the
	   test's verdict: ECONNREFUSED means the peer's certificate or
	   name did not verify (tp.h) */
	printf("RESULT tp_err=%s\n",
	       err == ECONNREFUSED ? "ECONNREFUSED" : strerror(err));
	printf("RESULT tls_verify_failed=%" PRIu64 "\n",
	       tp_stats(p->tp)->tls_verify_failed);
	peer_finish(p, err == ECONNREFUSED ? 0 : 1, "TLS peer refused: %s",
		    strerror(err));
}

/* ---- building messages -------------------------------------------- */

static const char *
proto_lc(enum tp_proto proto)
{
	return proto == TP_TLS ? "tls" : proto == TP_TCP ? "tcp" : "udp";
}

/*
 * A request from us to SIPp in buf: method, CSeq cseq, the branch br
 * (NULL: a fresh one, copied to p->inv_branch for an INVITE), the To
 * value to (NULL: without tag). Returns 0 or the writer's error.
 */
static int
req_build(struct peer *p, char *buf, size_t size, size_t *len,
	  const char *method, uint32_t cseq, const struct pl *to,
	  const char *br)
{
	char ruri[96], branch[48];
	struct sip_wbuf wb;
	struct pl m = {method, strlen(method)}, r;

	snprintf(ruri, sizeof(ruri), "sip:sipp@%s:%u;transport=%s", PEER_IP,
		 p->port, proto_lc(p->proto));
	if (br)
		snprintf(branch, sizeof(branch), "%s", br);
	else
		snprintf(branch, sizeof(branch), "z9hG4bK-tp%" PRIu64 "-%u",
			 p->t0, ++p->branch_seq);
	if (!br && !strcmp(method, "INVITE"))
		snprintf(p->inv_branch, sizeof(p->inv_branch), "%s", branch);
	r = (struct pl){ruri, strlen(ruri)};
	sip_wb_init(&wb, buf, size);
	sip_wb_request(&wb, &m, &r);
	sip_wb_hdrf(&wb, SIP_HDR_VIA, "SIP/2.0/%s %s:%u;branch=%s;rport",
		    tp_proto_name(p->proto), PEER_IP, p->lport, branch);
	sip_wb_hdrf(&wb, SIP_HDR_MAX_FORWARDS, "70");
	sip_wb_hdrf(&wb, SIP_HDR_FROM, "<sip:tandem@%s:%u>;tag=tp%u", PEER_IP,
		    p->lport, (unsigned)getpid());
	if (to)
		sip_wb_hdr(&wb, SIP_HDR_TO, to);
	else
		sip_wb_hdrf(&wb, SIP_HDR_TO, "<sip:sipp@%s:%u>", PEER_IP,
			    p->port);
	sip_wb_hdrf(&wb, SIP_HDR_CALL_ID, "%s", p->callid);
	sip_wb_hdrf(&wb, SIP_HDR_CSEQ, "%u %s", cseq, method);
	sip_wb_hdrf(&wb, SIP_HDR_CONTACT, "<sip:tandem@%s:%u;transport=%s>",
		    PEER_IP, p->lport, proto_lc(p->proto));
	return sip_wb_end(&wb, NULL, len);
}

/* The TU's response to req in p->resp. 2xx and 486 get a To tag. */
static int
resp_build(struct peer *p, const struct sip_msg *req, uint16_t status)
{
	static const struct pl tag = PL("tandem-uas");
	struct sip_wbuf wb;

	sip_wb_init(&wb, p->resp, sizeof(p->resp));
	sip_wb_reply(&wb, req, status, NULL, &tag);
	if (status >= 200 && status < 300)
		sip_wb_hdrf(&wb, SIP_HDR_CONTACT,
			    "<sip:tandem@%s:%u;transport=%s>", PEER_IP,
			    p->lport, proto_lc(p->proto));
	return sip_wb_end(&wb, NULL, &p->resp_len);
}

/* ---- client side (uac-*) ------------------------------------------ */

static void on_client_resp(struct txn *txn, const struct txn_cevent *ev,
			   void *arg);

/* §13.2.2.4: the ACK for a 2xx is the TU's, a transaction of its own
   kind-of: sent straight through the transport, CSeq of the INVITE. */
static void
uac_ack_2xx(struct peer *p, const struct sip_msg *resp)
{
	char buf[MSG_MAX];
	size_t len;
	int err;

	err = req_build(p, buf, sizeof(buf), &len, "ACK", 1, &resp->to.raw,
			NULL);
	if (!err)
		err = tp_send(p->tp, p->proto,
			      (const struct sockaddr *)&p->dst.addr, p->dst.len,
			      NULL, buf, len);
	if (err) {
		peer_finish(p, 1, "ACK not sent: %s", strerror(err));
		return;
	}
	p->acks_sent++;
}

static void
uac_bye(struct peer *p, const struct sip_msg *resp)
{
	char buf[MSG_MAX];
	size_t len;
	int err;

	err = req_build(p, buf, sizeof(buf), &len, "BYE", 2, &resp->to.raw,
			NULL);
	if (!err)
		err = txn_client_start(&p->btxn, p->txn, buf, len, &p->dst,
				       on_client_resp, p);
	if (err)
		peer_finish(p, 1, "BYE not started: %s", strerror(err));
}

static void
uac_report(struct peer *p)
{
	struct txn_stats st;

	txn_ctx_stats(p->txn, &st);
	printf("RESULT retransmits=%" PRIu64 "\n", st.retransmits);
	printf("RESULT timeouts=%" PRIu64 "\n", st.timeouts);
	printf("RESULT acks_sent=%u\n", p->acks_sent);
	printf("RESULT tls_handshakes=%" PRIu64 "\n",
	       tp_stats(p->tp)->tls_handshakes);
}

static void
on_uac_linger(void *arg)
{
	peer_finish(arg, 0, "timed out locally with 408");
}

static void
on_prov_linger(void *arg)
{
	struct peer *p = arg;

	uac_report(p);
	peer_finish(p, p->cancel_ok ? 0 : 1,
		    "provisional timeout, CANCEL answered %d, 487 ACKed",
		    p->cancel_ok);
}

/* §9.1: CANCEL the INVITE, same Request-URI, Call-ID, To, From, CSeq
   number and the INVITE's branch (our Via is the INVITE's). */
static void
uac_cancel(struct peer *p)
{
	char buf[MSG_MAX];
	size_t len;
	int err;

	err = req_build(p, buf, sizeof(buf), &len, "CANCEL", 1, NULL,
			p->inv_branch);
	if (!err)
		err = txn_client_start(&p->btxn, p->txn, buf, len, &p->dst,
				       on_client_resp, p);
	if (!err)
		err = txn_client_cancelled(p->ctxn);
	if (err)
		peer_finish(p, 1, "CANCEL not started: %s", strerror(err));
}

/*
 * uac-invite-prov-timeout: SIPp rings twice (at 0 and 400 ms) and never
 * answers. The INVITE transaction must report TXN_CEV_PROV_TIMEOUT
 * cfg.timer_c after the LAST 1xx; the TU CANCELs, SIPp answers 487 and
 * the transaction ACKs it by itself (§17.1.1.3).
 */
static void
on_prov_resp(struct peer *p, struct txn *txn, const struct txn_cevent *ev)
{
	uint64_t now = peer_elapsed(p);

	if (txn == p->ctxn && ev->ev == TXN_CEV_RESPONSE && ev->status < 200) {
		p->n_1xx++;
		p->last_1xx = now;
		return;
	}
	if (txn == p->ctxn && ev->ev == TXN_CEV_PROV_TIMEOUT) {
		printf("RESULT prov_timeout_ms=%" PRIu64 "\n",
		       now - p->last_1xx);
		printf("RESULT n_1xx=%u\n", p->n_1xx);
		p->prov_fired = true;
		uac_cancel(p);
		return;
	}
	if (txn == p->btxn && ev->ev == TXN_CEV_RESPONSE && ev->status == 200) {
		p->cancel_ok = true;
		return;
	}
	if (txn == p->ctxn && ev->ev == TXN_CEV_RESPONSE && ev->status == 487 &&
	    p->prov_fired) {
		printf("RESULT final=487\n");
		/* the ACK is the transaction's: give it time to leave */
		tmr_start(&p->t_linger, p->tmr, UAC_LINGER_MS, on_prov_linger,
			  p);
		return;
	}
	peer_finish(p, 1, "unexpected %s event %d status %u",
		    txn == p->ctxn ? "INVITE" : "CANCEL", ev->ev, ev->status);
}

static void
on_client_resp(struct txn *txn, const struct txn_cevent *ev, void *arg)
{
	struct peer *p = arg;
	bool invite = txn == p->ctxn && p->mode != M_UAC_OPTIONS_TIMEOUT;

	printf("event %s status %u at %" PRIu64 " ms (%s)\n",
	       ev->ev == TXN_CEV_RESPONSE	? "RESPONSE"
	       : ev->ev == TXN_CEV_TIMEOUT	? "TIMEOUT"
	       : ev->ev == TXN_CEV_PROV_TIMEOUT ? "PROV_TIMEOUT"
						: "OTHER",
	       ev->status, peer_elapsed(p), invite ? "INVITE" : "non-INVITE");
	if (p->mode == M_UAC_INVITE_PROV_TIMEOUT) {
		on_prov_resp(p, txn, ev);
		return;
	}
	if (ev->ev == TXN_CEV_TIMEOUT && p->mode != M_UAC_INVITE) {
		printf("RESULT timeout_ms=%" PRIu64 "\n", peer_elapsed(p));
		printf("RESULT timeout_status=%u\n", ev->status);
		uac_report(p);
		if (ev->status != 408) {
			peer_finish(p, 1, "timeout with %u", ev->status);
			return;
		}
		/* Stay a while: SIPp's scenario ends after its pause, and
		   over TCP our closing the connection first fails it. */
		tmr_start(&p->t_linger, p->tmr, UAC_LINGER_MS, on_uac_linger,
			  p);
		return;
	}
	if (ev->ev != TXN_CEV_RESPONSE || p->mode != M_UAC_INVITE) {
		peer_finish(p, 1, "unexpected event %d status %u", ev->ev,
			    ev->status);
		return;
	}
	if (ev->status < 200)
		return;
	if (invite && ev->status < 300) {
		uac_ack_2xx(p, ev->msg);
		if (!p->btxn && !p->done)
			uac_bye(p, ev->msg);
		return;
	}
	if (txn == p->btxn && ev->status == 200) {
		uac_report(p);
		peer_finish(p, 0, "INVITE answered, ACKed, BYE answered");
		return;
	}
	peer_finish(p, 1, "unexpected final %u", ev->status);
}

static void
uac_start(void *arg)
{
	struct peer *p = arg;
	const char *method =
		p->mode == M_UAC_OPTIONS_TIMEOUT || p->mode == M_UAC_TLS_REFUSED
			? "OPTIONS"
			: "INVITE";
	char buf[MSG_MAX];
	size_t len;
	int err;

	p->t0 = tmr_now(p->tmr);
	err = tp_addr_set(&p->dst.addr, &p->dst.len, PEER_IP, p->port);
	p->dst.proto = (int)p->proto;
	p->dst.reliable = p->proto != TP_UDP;
	if (!err)
		err = req_build(p, buf, sizeof(buf), &len, method, 1, NULL,
				NULL);
	if (!err)
		err = txn_client_start(&p->ctxn, p->txn, buf, len, &p->dst,
				       on_client_resp, p);
	if (err)
		peer_finish(p, 1, "%s not started: %s", method, strerror(err));
}

/* ---- server side (uas-*) ------------------------------------------ */

static void
on_server_ev(struct txn *txn, enum txn_sev ev, int err,
	     const struct sip_msg *msg, void *arg)
{
	struct peer *p = arg;

	(void)msg;
	printf("server event %d (%s) at %" PRIu64 " ms\n", ev,
	       txn_state_str(txn), peer_elapsed(p));
	if (ev == TXN_SEV_ACK) {
		p->acked = true;
		return;
	}
	if (ev == TXN_SEV_TIMEOUT && p->mode == M_UAS_486_TIMER_H &&
	    txn == p->stxn) {
		/* Timer H (§17.2.1): no ACK within 64*T1 of the 486 */
		printf("RESULT timer_h_ms=%" PRIu64 "\n", peer_elapsed(p));
		p->timed_out = true;
		return;
	}
	peer_finish(p, 1, "server transaction event %d: %s", ev,
		    err ? strerror(err) : "timeout");
}

static void
uas_report(struct peer *p)
{
	struct txn_stats st;

	txn_ctx_stats(p->txn, &st);
	printf("RESULT tu_requests=%u\n", p->tu_requests);
	printf("RESULT retransmits=%" PRIu64 "\n", st.retransmits);
	printf("RESULT timeouts=%" PRIu64 "\n", st.timeouts);
	printf("RESULT tu_2xx_retrans=%u\n", p->tu_2xx_retrans);
	printf("RESULT acked=%d\n", p->acked);
	printf("RESULT tls_handshakes=%" PRIu64 "\n",
	       tp_stats(p->tp)->tls_handshakes);
}

static void
on_linger(void *arg)
{
	struct peer *p = arg;
	bool ok;

	uas_report(p);
	switch (p->mode) {
	case M_UAS_OPTIONS:
		ok = p->tu_requests == 1;
		break;
	case M_UAS_486:
		/* ACK absorbed: Completed -> Confirmed -> (Timer I) gone */
		ok = p->tu_requests == 1 && txn_terminated(p->stxn);
		break;
	case M_UAS_486_TIMER_H:
		/* no ACK: Completed -> (Timer H) Terminated, TU told */
		ok = p->tu_requests == 1 && txn_terminated(p->stxn) &&
		     p->timed_out;
		break;
	default:
		ok = p->tu_requests == 2 && p->acked;
		break;
	}
	peer_finish(p, ok ? 0 : 1, "tu_requests=%u state=%s acked=%d",
		    p->tu_requests, p->stxn ? txn_state_str(p->stxn) : "-",
		    p->acked);
}

static void
uas_reply(struct peer *p, struct txn *txn, uint16_t status)
{
	int err = txn_server_reply(txn, p->resp, p->resp_len, status);

	if (err)
		peer_finish(p, 1, "reply %u: %s", status, strerror(err));
}

/* uas-options: the TU answers only now, OPTIONS_DELAY after arrival. */
static void
on_options_delay(void *arg)
{
	struct peer *p = arg;

	printf("TU answers OPTIONS at %" PRIu64 " ms\n", peer_elapsed(p));
	uas_reply(p, p->stxn, 200);
	tmr_start(&p->t_linger, p->tmr, LINGER_MS, on_linger, p);
}

/* uas-2xx: §13.3.1.4, the TU retransmits its 2xx at T1, 2*T1 ... T2
   until the ACK, giving up after 64*T1. */
static void
on_2xx_retrans(void *arg)
{
	struct peer *p = arg;

	if (p->acked)
		return;
	if (peer_elapsed(p) >= 64ULL * p->cfg.t1) {
		peer_finish(p, 1, "no ACK for the 2xx within 64*T1");
		return;
	}
	p->tu_2xx_retrans++;
	printf("TU retransmits 2xx at %" PRIu64 " ms\n", peer_elapsed(p));
	uas_reply(p, p->stxn, 200);
	p->tu_2xx_ival *= 2;
	if (p->tu_2xx_ival > p->cfg.t2)
		p->tu_2xx_ival = p->cfg.t2;
	tmr_start(&p->t_tu, p->tmr, p->tu_2xx_ival, on_2xx_retrans, p);
}

/* uas-486: the ACK ended the transaction (Confirmed, then Timer I):
   linger for late retransmissions. Timer H fails the run instead
   (on_server_ev). */
static void
on_486_watch(void *arg)
{
	struct peer *p = arg;

	if (!txn_terminated(p->stxn)) {
		tmr_start(&p->t_tu, p->tmr, WATCH_MS, on_486_watch, p);
		return;
	}
	printf("486 transaction ended at %" PRIu64 " ms\n", peer_elapsed(p));
	tmr_start(&p->t_linger, p->tmr, LINGER_MS, on_linger, p);
}

static void
uas_invite(struct peer *p, const struct sip_msg *msg)
{
	bool busy = p->mode == M_UAS_486 || p->mode == M_UAS_486_TIMER_H;
	uint16_t status = busy ? 486 : 200;

	if (resp_build(p, msg, status)) {
		peer_finish(p, 1, "cannot build %u", status);
		return;
	}
	uas_reply(p, p->stxn, status);
	if (busy) {
		/* Timer G retransmits until the ACK, which the transaction
		   absorbs (no TU event): watch for its end (Timer I). */
		tmr_start(&p->t_tu, p->tmr, WATCH_MS, on_486_watch, p);
		return;
	}
	if (p->proto == TP_UDP) {
		p->tu_2xx_ival = p->cfg.t1;
		tmr_start(&p->t_tu, p->tmr, p->tu_2xx_ival, on_2xx_retrans, p);
	}
}

/* A request no transaction took: the TU's. */
static void
uas_request(struct peer *p, const struct sip_msg *msg,
	    const struct txn_dest *src)
{
	struct txn **slot = msg->mid == SIP_M_BYE ? &p->bye_stxn : &p->stxn;
	int err;

	if (msg->mid == SIP_M_ACK) {
		/* ACK for our 2xx: a new transaction on the wire (§17) */
		printf("TU got ACK at %" PRIu64 " ms\n", peer_elapsed(p));
		p->acked = true;
		tmr_cancel(&p->t_tu);
		return;
	}
	p->tu_requests++;
	if (*slot) {
		peer_finish(p, 1, "second %.*s reached the TU",
			    (int)msg->method.l, msg->method.p);
		return;
	}
	if (!p->t0)
		p->t0 = tmr_now(p->tmr);
	printf("TU got %.*s at %" PRIu64 " ms\n", (int)msg->method.l,
	       msg->method.p, peer_elapsed(p));
	err = txn_server_create(slot, p->txn, msg, src, on_server_ev, p);
	if (err) {
		peer_finish(p, 1, "server transaction: %s", strerror(err));
		return;
	}
	if (msg->mid == SIP_M_INVITE) {
		uas_invite(p, msg);
	} else if (msg->mid == SIP_M_BYE) {
		if (!resp_build(p, msg, 200))
			uas_reply(p, p->bye_stxn, 200);
		tmr_start(&p->t_linger, p->tmr, LINGER_MS, on_linger, p);
	} else if (!resp_build(p, msg, 200)) {
		tmr_start(&p->t_tu, p->tmr, OPTIONS_DELAY, on_options_delay, p);
	}
}

static void
on_tp_recv(const struct sip_msg *msg, const struct tp_recv *rx, void *arg)
{
	struct peer *p = arg;
	struct txn_dest src;
	int err;

	if (p->done)
		return;
	if (sipw_txn_dest(rx, &src)) {
		printf("no response destination\n");
		return;
	}
	if (rx->conn && msg->req && !p->have_conn) {
		/* §18.2.2: responses ride the request's connection. The
		   transaction keeps a weak pointer; we hold the reference. */
		tp_recv_copy(&p->conn_rx, rx);
		p->have_conn = true;
	}
	if (rx->conn && msg->req)
		src.conn = p->conn_rx.conn;
	err = txn_recv(p->txn, msg, &src);
	if (err == ENOENT && msg->req)
		uas_request(p, msg, &src);
	else if (err == ENOENT)
		printf("stray response %u\n", msg->status);
	peer_sync(p);
}

/* ---- set-up ------------------------------------------------------- */

static void
on_deadline(void *arg)
{
	struct peer *p = arg;

	if (p->mode >= M_UAS_OPTIONS)
		uas_report(p);
	else
		uac_report(p);
	peer_finish(p, 1, "deadline of %d ms reached", DEADLINE_MS);
}

static int
peer_listen(struct peer *p)
{
	uint16_t port = p->mode >= M_UAS_OPTIONS ? p->port : 0;
	int err;

	err = tp_listen_str(p->tp, TP_UDP, PEER_IP, port);
	if (!err && p->proto != TP_UDP)
		err = tp_listen_str(p->tp, p->proto, PEER_IP, port);
	if (err)
		return err;
	p->lport = tp_local_port(p->tp, p->proto, AF_INET);
	return 0;
}

static int
peer_open(struct peer *p)
{
	struct tp_conf tpc;
	int err;

	p->base = event_base_new();
	if (!p->base)
		return ENOMEM;
	p->tmr_ev = evtimer_new(p->base, on_tmr_ev, p);
	if (!p->tmr_ev)
		return ENOMEM;
	err = tmr_ctx_alloc(&p->tmr, NULL, NULL);
	if (err)
		return err;
	tp_conf_default(&tpc);
	if (p->proto == TP_TLS) {
		const char *d = getenv("TXN_PEER_TLS_DIR");

		if (!d)
			return EINVAL;
		snprintf(p->cert, sizeof(p->cert), "%s/srv.pem", d);
		snprintf(p->key, sizeof(p->key), "%s/srv.key", d);
		snprintf(p->ca, sizeof(p->ca), "%s/ca.pem", d);
		tpc.tls.cert_file = p->cert;
		tpc.tls.key_file = p->key;
		tpc.tls.ca_file = p->ca;
		tpc.tls.verify_peer = true;
	}
	err = tp_ctx_alloc(&p->tp, p->base, &tpc, on_tp_recv, on_tp_err, p);
	if (!err)
		err = peer_listen(p);
	if (!err)
		err = txn_ctx_alloc(&p->txn, &p->cfg, on_txn_send, p, p->tmr);
	if (!err)
		err = sipw_callid_make(0, p->callid, sizeof(p->callid));
	return err;
}

static void
peer_close(struct peer *p)
{
	tmr_cancel(&p->t_start);
	tmr_cancel(&p->t_deadline);
	tmr_cancel(&p->t_tu);
	tmr_cancel(&p->t_linger);
	p->ctxn = mem_deref(p->ctxn);
	p->btxn = mem_deref(p->btxn);
	p->stxn = mem_deref(p->stxn);
	p->bye_stxn = mem_deref(p->bye_stxn);
	p->txn = mem_deref(p->txn);
	if (p->have_conn)
		tp_recv_release(&p->conn_rx);
	p->tp = mem_deref(p->tp);
	p->tmr = mem_deref(p->tmr);
	if (p->tmr_ev)
		event_free(p->tmr_ev);
	if (p->base)
		event_base_free(p->base);
}

/* "port": a port free for UDP and TCP on 127.0.0.1 right now. The kernel
   picks one free for UDP; it may be taken for TCP (a benchmark on the box
   holding thousands of sockets), so try again, up to 200 times, before
   saying why on stderr. */
static int
free_port(void)
{
	int tries;

	for (tries = 0; tries < 200; tries++) {
		struct sockaddr_in sa;
		socklen_t sl = sizeof(sa);
		int u = socket(AF_INET, SOCK_DGRAM, 0),
		    t = socket(AF_INET, SOCK_STREAM, 0);
		bool ok;

		memset(&sa, 0, sizeof(sa));
		sa.sin_family = AF_INET;
		sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		ok = u >= 0 && t >= 0 && !bind(u, (struct sockaddr *)&sa, sl) &&
		     !getsockname(u, (struct sockaddr *)&sa, &sl) &&
		     !bind(t, (struct sockaddr *)&sa, sl);
		if (u >= 0)
			close(u);
		if (t >= 0)
			close(t);
		if (ok) {
			printf("%u\n", ntohs(sa.sin_port));
			return 0;
		}
	}
	fprintf(stderr, "txn_peer port: no port free for both UDP and TCP "
			"in 200 tries\n");
	return 1;
}

static int
parse_args(struct peer *p, int argc, char **argv)
{
	unsigned long port, t1, t2;
	int m;

	if (argc != 6)
		return EINVAL;
	for (m = 0; m < M_COUNT; m++)
		if (!strcmp(argv[1], mode_names[m]))
			break;
	if (m == M_COUNT)
		return EINVAL;
	p->mode = (enum mode)m;
	if (!strcmp(argv[2], "udp"))
		p->proto = TP_UDP;
	else if (!strcmp(argv[2], "tcp"))
		p->proto = TP_TCP;
	else if (!strcmp(argv[2], "tls"))
		p->proto = TP_TLS;
	else
		return EINVAL;
	port = strtoul(argv[3], NULL, 10);
	t1 = strtoul(argv[4], NULL, 10);
	t2 = strtoul(argv[5], NULL, 10);
	if (!port || port > 65535 || !t1 || t2 < t1 || t2 > 60000)
		return EINVAL;
	if (p->mode == M_UAC_TLS_REFUSED && p->proto != TP_TLS)
		return EINVAL;
	p->port = (uint16_t)port;
	txn_cfg_default(&p->cfg);
	p->cfg.t1 = (uint32_t)t1;
	p->cfg.t2 = (uint32_t)t2;
	p->cfg.t4 = (uint32_t)(5 * t1);
	if (p->mode == M_UAC_INVITE_PROV_TIMEOUT)
		p->cfg.timer_c = PROV_TIMEOUT_MS;
	return 0;
}

int
main(int argc, char **argv)
{
	struct peer p;
	int err;

	signal(SIGALRM, on_alarm);
	alarm(HARD_LIMIT_S);
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc == 2 && !strcmp(argv[1], "port"))
		return free_port();
	memset(&p, 0, sizeof(p));
	if (parse_args(&p, argc, argv)) {
		fprintf(stderr,
			"usage: %s port | MODE udp|tcp|tls PORT T1 T2\n",
			argv[0]);
		return 2;
	}
	log_setup(getenv("TXN_PEER_DEBUG") ? LOG_L_DEBUG : LOG_L_WARN,
		  LOG_T_STDERR, "txn_peer");
	p.rc = 1;
	err = peer_open(&p);
	if (err) {
		printf("FAIL: %s: set-up: %s\n", mode_names[p.mode],
		       strerror(err));
		peer_close(&p);
		return 1;
	}
	printf("RESULT local_port=%u\n", p.lport);
	tmr_start(&p.t_deadline, p.tmr, DEADLINE_MS, on_deadline, &p);
	if (p.mode < M_UAS_OPTIONS)
		tmr_start(&p.t_start, p.tmr, 0, uac_start, &p);
	peer_sync(&p);
	event_base_dispatch(p.base);
	if (!p.done)
		printf("FAIL: %s: event loop ended early\n",
		       mode_names[p.mode]);
	peer_close(&p);
	return p.done ? p.rc : 1;
}
