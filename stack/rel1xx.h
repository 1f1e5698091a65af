/* Reliable provisional responses: RFC 3262 §3 (UAS), §4 (UAC), §7 (RSeq,
   RAck), independent of the transaction and dialog layers. */
#ifndef TANDEM_REL1XX_H
#define TANDEM_REL1XX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sip_msg.h"
#include "sip_write.h"
#include "tmr.h"

/*
 * Typical use by the UA core:
 *   UAS: rel1xx_uas_check() on the INVITE (420 + Unsupported: 100rel);
 *        rel1xx_uas_alloc() with send_h = txn_server_reply(); for each
 *        1xx with rel1xx_uas_reliable(): build it, rel1xx_uas_write(),
 *        rel1xx_uas_send(); PRACK -> rel1xx_uas_prack() -> answer
 *        *status; before a 2xx check rel1xx_uas_blocks_2xx(); after
 *        the final rel1xx_uas_final(); TIMEOUT event -> 5xx.
 *   UAC: Supported: 100rel in the INVITE; one rel1xx_uac per early
 *        dialog; each 1xx -> rel1xx_uac_recv(): V_PRACK: process it and
 *        send a PRACK with rel1xx_rack_write(); V_RETRANS, V_GAP,
 *        V_LATE: drop it; the final -> rel1xx_uac_final().
 */

/* When we, as UAS, send 101-199 reliably. */
enum rel1xx_policy {
	REL1XX_P_NEVER,	    /* never; an INVITE that requires it gets 420 */
	REL1XX_P_REQUIRED,  /* only when the INVITE has Require: 100rel */
	REL1XX_P_SUPPORTED, /* also when it has Supported: 100rel */
};

/* A random 32-bit number (tests inject one). */
typedef uint32_t(rel1xx_rand_h)(void *arg);

/* Configuration; rel1xx_cfg_default() fills the defaults. */
struct rel1xx_cfg {
	uint32_t t1;		   /* ms, RFC 3261 T1; default 500 */
	enum rel1xx_policy policy; /* default REL1XX_P_SUPPORTED */
	unsigned max_queue;	   /* reliable 1xx held back behind the
				      unacknowledged one (§3: one at a
				      time); beyond: ENOBUFS; 0..64;
				      default 4 */
	rel1xx_rand_h *rand_h;	   /* first RSeq; NULL: RAND_bytes() */
	void *rand_arg;
};

void rel1xx_cfg_default(struct rel1xx_cfg *cfg);

/* What the INVITE says about 100rel. */
enum rel1xx_peer {
	REL1XX_PEER_NONE,      /* neither Supported nor Require: 100rel */
	REL1XX_PEER_SUPPORTED, /* Supported: 100rel */
	REL1XX_PEER_REQUIRED,  /* Require: 100rel */
};

enum rel1xx_peer rel1xx_peer(const struct sip_msg *invite);

/*
 * §3: "If the UAS is unwilling to do so [send reliably what the INVITE
 * requires], it MUST reject the initial request with a 420 (Bad
 * Extension) and include an Unsupported header field containing the
 * option tag 100rel." Returns 420 in that case (the UA adds
 * "Unsupported: 100rel"), else 0.
 */
uint16_t rel1xx_uas_check(const struct rel1xx_cfg *cfg,
			  const struct sip_msg *invite);

/* ------------------------------------------------------------------ */
/* UAS: one object per INVITE server transaction.                      */

struct rel1xx_uas;

/* Hand buf[0..len), a response with that status, to the server
   transaction (e.g. txn_server_reply()). Returns 0 or an errno. */
typedef int(rel1xx_send_h)(const char *buf, size_t len, uint16_t status,
			   void *arg);

enum rel1xx_uas_ev {
	REL1XX_UAS_EV_TIMEOUT,	  /* no PRACK for 64*T1: the UA SHOULD reject
				     the INVITE with a 5xx (§3) */
	REL1XX_UAS_EV_SEND_ERROR, /* a retransmission failed (err set) */
};

/* After either event the object holds nothing (as after
   rel1xx_uas_final()); the handler may release the object. */
typedef void(rel1xx_uas_h)(enum rel1xx_uas_ev ev, int err, void *arg);

/*
 * Allocate the state for the INVITE invite (borrowed for the call: its
 * CSeq is copied). cfg NULL: defaults (t1 must not be 0). tmr is
 * referenced. The first RSeq
 * is drawn uniformly in 1..2^31-1 (§3). Returns 0, EINVAL, EIO (no
 * randomness) or ENOMEM. mem_deref() the object; that stops everything.
 */
int rel1xx_uas_alloc(struct rel1xx_uas **up, const struct rel1xx_cfg *cfg,
		     struct tmr_ctx *tmr, const struct sip_msg *invite,
		     rel1xx_send_h *send_h, rel1xx_uas_h *ev_h, void *arg);

/*
 * Must/may a provisional with this status be sent reliably? False for
 * 100 and for anything outside 101..199 (§3: "MUST NOT attempt to send
 * a 100 (Trying) response reliably"), false when the INVITE has neither
 * Supported nor Require: 100rel (§3: MUST NOT), true when it requires it
 * (§3: MUST), else per policy. False after the final response.
 */
bool rel1xx_uas_reliable(const struct rel1xx_uas *u, uint16_t status);

/*
 * Write "Require: 100rel" and "RSeq: <n>" into a 1xx being built (§3:
 * it "MUST contain a Require header field containing the option tag
 * 100rel, and MUST include an RSeq header field"); n is
 * rel1xx_uas_next_rseq(). Nothing is committed until rel1xx_uas_send().
 * Returns 0, the writer's error, EPROTO after the final response or
 * when the INVITE has no 100rel at all, or EOVERFLOW when RSeq would
 * pass 2^32-1 (§3: "MUST NOT wrap around").
 */
int rel1xx_uas_write(const struct rel1xx_uas *u, struct sip_wbuf *wb);
uint32_t rel1xx_uas_next_rseq(const struct rel1xx_uas *u);

/*
 * Send the reliable 1xx buf[0..len), built with rel1xx_uas_write(): it
 * is parsed and must be a 101..199 to our INVITE with Require: 100rel
 * and the expected RSeq (EINVAL otherwise). The bytes are copied. When
 * no reliable 1xx is unacknowledged, it goes out now and is
 * retransmitted at T1, 2*T1, 4*T1 ... until its PRACK, or
 * REL1XX_UAS_EV_TIMEOUT 64*T1 after it was sent (§3). Otherwise it waits
 * its turn (§3: "MUST NOT send a second reliable provisional response
 * until the first is acknowledged", and RECOMMENDED for later ones) and
 * is sent when the PRACK for the one before arrives. Returns 0,
 * EINVAL, EPROTO (after the final, or no 100rel in the INVITE), ENOBUFS
 * (cfg.max_queue waiting already), ENOMEM, or the send error (then
 * nothing was committed).
 */
int rel1xx_uas_send(struct rel1xx_uas *u, const char *buf, size_t len);

/*
 * A PRACK arrived in the dialog (prack borrowed for the call). Sets
 * *status to the answer for it: 200 when its RAck (response-num,
 * CSeq-num, method) matches the unacknowledged reliable 1xx, which then
 * stops being retransmitted (§3: "MUST be responded to with a 2xx"), 481
 * when it matches none (§3: "MUST respond to the PRACK with a 481"), 400
 * when the RAck is missing or malformed (returns EBADMSG). After a
 * match the next waiting 1xx is sent; its send error is returned
 * (*status stays 200) and, the transaction being dead, the object then
 * holds nothing (as after rel1xx_uas_final()). Returns 0, EBADMSG or
 * that error.
 */
int rel1xx_uas_prack(struct rel1xx_uas *u, const struct sip_msg *prack,
		     uint16_t *status);

/*
 * §3: a 2xx to the INVITE MUST NOT be sent while a reliable 1xx with a
 * session description is unacknowledged. True while one (sent or still
 * waiting; a multipart body counts as one) is.
 */
bool rel1xx_uas_blocks_2xx(const struct rel1xx_uas *u);
/* Reliable 1xx sent or waiting, not yet acknowledged. */
unsigned rel1xx_uas_unacked(const struct rel1xx_uas *u);

/* The final response went: stop retransmitting, drop what waits. */
void rel1xx_uas_final(struct rel1xx_uas *u);

struct rel1xx_uas_stats {
	uint64_t sent;	      /* reliable 1xx sent the first time */
	uint64_t retransmits; /* and again */
	uint64_t acked;	      /* PRACKs that matched */
	uint64_t rejected;    /* PRACKs answered 481 */
};
void rel1xx_uas_stats(const struct rel1xx_uas *u, struct rel1xx_uas_stats *st);

/* ------------------------------------------------------------------ */
/* UAC: one plain state per early dialog of one INVITE (§4).            */

/* RAck value (§7.2): the RSeq and the CSeq of the response. */
struct rel1xx_rack {
	uint32_t rseq;
	uint32_t cseq;
	char method[32];
};

struct rel1xx_uac {
	uint32_t cseq; /* CSeq number of our INVITE */
	uint32_t rseq; /* last in-order RSeq (valid when started) */
	bool started;  /* a reliable 1xx was received */
	bool final;    /* the final response was received */
};

/* What to do with a received provisional. */
enum rel1xx_verdict {
	REL1XX_V_UNRELIABLE, /* not sent reliably: process, no PRACK */
	REL1XX_V_PRACK,	     /* new and in order: process it, PRACK it */
	REL1XX_V_RETRANS,    /* §4: a retransmission "MUST be discarded" */
	REL1XX_V_GAP,	     /* §4: RSeq not one higher: "MUST NOT be
				acknowledged ... MUST NOT be processed" */
	REL1XX_V_LATE,	     /* after the final response: discarded (§4
				allows acknowledging or discarding) */
};

/* Start the state of one early dialog of the INVITE with CSeq cseq. */
void rel1xx_uac_init(struct rel1xx_uac *st, uint32_t cseq);

/*
 * Classify the provisional resp (borrowed for the call) received on this
 * early dialog; for REL1XX_V_PRACK *rack gets the RAck for the PRACK
 * (§7.2) and st advances. A 100, or a 1xx without Require: 100rel, is
 * unreliable (§4: for a 100 the tag "MUST be ignored"). Returns 0,
 * EINVAL (not a 1xx to our INVITE), or EBADMSG when a reliable 1xx has
 * no valid RSeq (drop it).
 */
int rel1xx_uac_recv(struct rel1xx_uac *st, const struct sip_msg *resp,
		    enum rel1xx_verdict *v, struct rel1xx_rack *rack);

/* The final response to the INVITE arrived. */
void rel1xx_uac_final(struct rel1xx_uac *st);

/* "<rseq> <cseq> <method>" into buf[0..size) (no NUL), *len. Returns 0,
   ENOSPC, or EINVAL (method empty). */
int rel1xx_rack_print(char *buf, size_t size, size_t *len,
		      const struct rel1xx_rack *rack);
/* Append "RAck: <rseq> <cseq> <method>" to the PRACK being built. */
int rel1xx_rack_write(struct sip_wbuf *wb, const struct rel1xx_rack *rack);

const char *rel1xx_verdict_name(enum rel1xx_verdict v);

#endif
