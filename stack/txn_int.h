/* Transaction layer internals shared by txn.c and the four machines. */
#ifndef TANDEM_TXN_INT_H
#define TANDEM_TXN_INT_H

#include <stdatomic.h>

#include "stag.h"
#include "txn.h"

/* Intrusive doubly linked list element / head. */
struct txn_le {
	struct txn_le *prev, *next;
	struct txn *txn; /* weak: the owner */
};

struct txn_list {
	struct txn_le *head;
};

enum txn_kind { TXN_ICT, TXN_NICT, TXN_IST, TXN_NIST };

/* States of the four machines (RFC 3261 Figures 5-8, RFC 6026). Value 0
   of each is the "invalid" marker of its transition table. */
enum ict_state {
	ICT_S_INVALID,
	ICT_S_CALLING,
	ICT_S_PROCEEDING,
	ICT_S_ACCEPTED, /* RFC 6026 */
	ICT_S_COMPLETED,
	ICT_S_TERMINATED,
	ICT_S_COUNT
};
enum nict_state {
	NICT_S_INVALID,
	NICT_S_TRYING,
	NICT_S_PROCEEDING,
	NICT_S_COMPLETED,
	NICT_S_TERMINATED,
	NICT_S_COUNT
};
enum ist_state {
	IST_S_INVALID,
	IST_S_PROCEEDING,
	IST_S_COMPLETED,
	IST_S_CONFIRMED,
	IST_S_ACCEPTED, /* RFC 6026 */
	IST_S_TERMINATED,
	IST_S_COUNT
};
enum nist_state {
	NIST_S_INVALID,
	NIST_S_TRYING,
	NIST_S_PROCEEDING,
	NIST_S_COMPLETED,
	NIST_S_TERMINATED,
	NIST_S_COUNT
};

struct txn_ctx {
	struct txn_cfg cfg;
	struct tmr_ctx *tmr; /* ref */
	txn_send_h *send_h;
	void *send_arg;		  /* borrowed: the transport */
	struct txn_list *cli;	  /* owned: by branch (client) */
	struct txn_list *srv;	  /* owned: by branch (server, cookie) */
	struct txn_list *srv_cid; /* owned: by Call-ID (every server) */
	struct txn_list all;	  /* every transaction holding the
				     table reference */
	struct txn_stats st;
	struct stag_key hkey; /* SipHash key of the tables: branches and
				 Call-IDs are chosen by peers, so an
				 unkeyed hash lets them fill one bucket */
	/* copies of st.active, created, retransmits, retrans_in for other
	   threads (txn_ctx_counters), stored by txn_pub() */
	_Atomic uint64_t pub[4];
};

/* Publish the counters after a change (the ctx's thread only). */
void txn_pub(struct txn_ctx *ctx);

/*
 * One transaction. The context's tables hold one reference from creation
 * until the zero-delay release timer after termination; the TU holds the
 * one it was given. Strings are owned NUL-terminated copies.
 */
struct txn {
	struct txn_ctx *ctx; /* weak: NULL once the context is gone */
	enum txn_kind kind;
	int state;	 /* enum <kind>_state; written by <kind>_fire() only */
	bool legacy;	 /* server: RFC 2543 branch (no magic cookie) */
	bool in_api;	 /* a TU call is on the stack: report errors by
			    return code, not by event */
	bool linked;	 /* in the matching tables */
	bool prov_fired; /* ICT: provisional timeout reported */
	bool sent_1xx;	 /* IST: a provisional went out */
	struct txn_dest dest; /* client: next hop; server: request source */

	/* matching keys (owned copies) */
	char *branch;
	char *method; /* CSeq method text (INVITE for an ACK's match) */
	enum sip_method mid;
	char *sent_by;	/* server: "host:port" lower-cased host */
	char *callid;	/* server */
	char *from_tag; /* server, "" if none */
	char *to_tag;	/* server: the request's To tag, "" if none */
	uint32_t cseq;	/* server */
	char *ruri;	/* server, legacy: Request-URI text */
	char *via;	/* server, legacy: top Via value text */
	char *resp_tag; /* server, legacy: To tag of the final response */

	/* messages (owned) */
	char *req; /* client: the request as sent */
	size_t req_len;
	char *ack; /* ICT: the ACK for a 3xx-6xx */
	size_t ack_len;
	char *resp; /* server: last response sent (or the 100 to send) */
	size_t resp_len;
	uint16_t resp_status;
	const char *out; /* borrowed: the TU's response, during
			    txn_server_reply() only */
	size_t out_len;
	uint16_t out_status;
	int api_err; /* error of a send made for the TU's call */

	/* timers (embedded), named after RFC 3261 §17 / RFC 6026 */
	struct tmr retx;    /* A (ICT), E (NICT), G (IST) */
	uint32_t retx_ival; /* their current interval */
	struct tmr timeout; /* B (ICT), F (NICT), H (IST) */
	struct tmr wait;    /* D, M (ICT), K (NICT), I, L (IST), J (NIST) */
	struct tmr prov;    /* ICT: provisional timeout, then §9.1 guard */
	struct tmr trying;  /* IST: 100 (Trying) delay */
	struct tmr release; /* zero-delay: drop the table reference */

	struct txn_le le_key; /* cli or srv by branch */
	struct txn_le le_cid; /* srv_cid */
	struct txn_le le_all; /* ctx->all */

	txn_resp_h *resp_h; /* client TU */
	txn_req_h *req_h;   /* server TU */
	void *arg;	    /* borrowed: the TU */
};

/* Events of the four machines. */
enum ict_event {
	ICT_E_START, /* request sent */
	ICT_E_1XX,
	ICT_E_2XX,
	ICT_E_FAIL, /* 300-699 */
	ICT_E_TIMER_A,
	ICT_E_TIMER_B,
	ICT_E_TIMER_C,	 /* provisional timeout (cfg.timer_c) */
	ICT_E_CANCEL_TO, /* §9.1 guard, 64*T1 after CANCEL */
	ICT_E_TIMER_D,
	ICT_E_TIMER_M,
	ICT_E_TPERR,
	ICT_E_COUNT
};
enum nict_event {
	NICT_E_START, /* request sent */
	NICT_E_1XX,
	NICT_E_FINAL, /* 200-699 */
	NICT_E_TIMER_E,
	NICT_E_TIMER_F,
	NICT_E_TIMER_K,
	NICT_E_TPERR,
	NICT_E_COUNT
};
enum ist_event {
	IST_E_START, /* request received */
	IST_E_REQ,   /* INVITE retransmission */
	IST_E_ACK,
	IST_E_TU_1XX,
	IST_E_TU_2XX,
	IST_E_TU_FAIL, /* 300-699 from the TU */
	IST_E_TRYING,  /* 100 (Trying) delay elapsed */
	IST_E_TIMER_G,
	IST_E_TIMER_H,
	IST_E_TIMER_I,
	IST_E_TIMER_L,
	IST_E_TPERR,
	IST_E_COUNT
};
enum nist_event {
	NIST_E_START, /* request received */
	NIST_E_REQ,   /* request retransmission */
	NIST_E_TU_1XX,
	NIST_E_TU_FINAL,
	NIST_E_TIMER_J,
	NIST_E_TPERR,
	NIST_E_COUNT
};

/* Machines: each *_fire() returns true when the event was valid in the
   current state (and applied), false when it was logged and ignored. */
const char *ict_state_name(enum ict_state s);
const char *nict_state_name(enum nict_state s);
const char *ist_state_name(enum ist_state s);
const char *nist_state_name(enum nist_state s);
bool ict_fire(struct txn *txn, enum ict_event ev, const struct sip_msg *msg);
bool nict_fire(struct txn *txn, enum nict_event ev, const struct sip_msg *msg);
bool ist_fire(struct txn *txn, enum ist_event ev, const struct sip_msg *msg);
bool nist_fire(struct txn *txn, enum nist_event ev, const struct sip_msg *msg);
/* §9.1: arm the 64*T1 guard after the TU sent a CANCEL. */
void ict_cancel_guard(struct txn *txn);

/* Shared helpers (txn.c). */
/* Send buf through the context's transport; counts errors and, when
   retx, retransmissions. Returns 0 or the send error. */
int txn_send(struct txn *txn, const char *buf, size_t len, bool retx);
/* Terminated: unlink from the tables, stop every timer, schedule the
   release of the table reference. Idempotent. */
void txn_terminate(struct txn *txn);
/* Start one of txn's timers; ENOMEM is logged (the timer then never
   fires; see txn.c). */
void txn_tmr(struct txn *txn, struct tmr *t, uint64_t ms, tmr_h *h);
void txn_report_client(struct txn *txn, enum txn_cev ev, uint16_t status,
		       int err, const struct sip_msg *msg);
void txn_report_server(struct txn *txn, enum txn_sev ev, int err,
		       const struct sip_msg *msg);
/* Replace an owned buffer with a copy of buf[0..len). */
int txn_buf_set(char **dst, size_t *dlen, const char *buf, size_t len);
/* Send txn->out (the TU's response), keeping a copy when keep. */
int txn_send_out(struct txn *txn, bool keep);

/* txn.c: hashing and key helpers shared with txn_match.c */
/* Drop a message copy the machine will not send again (the lingering
   states hold only what they may retransmit). */
void txn_buf_free(char **buf, size_t *len);
struct txn_list *txn_bucket(const struct txn_ctx *ctx, struct txn_list *tab,
			    const char *p, size_t l);
bool txn_str_eq_pl(const char *s, const struct pl *pl);
/* "host:port" of a Via's sent-by, default port filled in (§18.2.1) */
void txn_sent_by_fmt(const struct sip_via *via, char *buf, size_t sz);
/* branch starts with the RFC 3261 magic cookie (§8.1.1.7) */
bool txn_has_cookie(const struct pl *branch);

/* txn_match.c: the client transaction a response (or our own request,
   for duplicate detection) belongs to (§17.1.3), and the server
   transaction a request belongs to (§17.2.3); NULL when none. */
struct txn *txn_cli_find(struct txn_ctx *ctx, const struct sip_msg *msg);
struct txn *txn_srv_find(struct txn_ctx *ctx, const struct sip_msg *msg,
			 enum sip_method mid, const struct pl *method);

#endif
