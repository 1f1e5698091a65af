/* Private parts of the UA core (ua.c, ua_sess.c, ua_msg.c). */
#ifndef TANDEM_UA_INT_H
#define TANDEM_UA_INT_H

#include "auth.h"
#include "rel1xx.h"
#include "sess_timer.h"
#include "tp.h"
#include "ua.h"

#define UA_HASH 4096	  /* session buckets (power of 2) */
#define UA_MAX_EARLY 8	  /* early dialogs of one forked INVITE */
#define UA_MSG_MAX 16384  /* largest message the UA builds */
#define UA_TAG_LEN 16	  /* hex digits of a tag: 64 random bits */
#define UA_BRANCH_LEN 23  /* "z9hG4bK" + 16 hex digits */
#define UA_CALLID_MAX 256 /* Call-IDs longer than this are refused */
#define UA_SDP_O_MAX 96	  /* "sess-id version" of an SDP o= line */

struct ua {
	struct ua_conf conf; /* strings below are owned copies */
	char *host, *user, *server, *supported;
	struct txn_ctx *txn; /* ref */
	struct tmr_ctx *tmr; /* ref */
	txn_send_h *send_h;
	void *send_arg;
	ua_invite_h *invite_h;
	void *arg;
	bool rel100;			 /* "100rel" in supported */
	struct sess_timer_cfg stc;	 /* RFC 4028; stc.enabled: timers on */
	struct ua_sess *bucket[UA_HASH]; /* refs: sessions not ended */
	struct ua_stats st;
};

/* A received request waiting for the app's (or the UA's) answer. */
struct ua_req {
	struct ua *ua;	     /* weak */
	struct ua_sess *s;   /* weak: its session, or NULL */
	struct txn *txn;     /* ref: its server transaction */
	struct ua_req *next; /* in s->reqs */
	char *buf;	     /* owned: the request's bytes */
	struct sip_msg msg;  /* parsed from buf */
	bool answered;	     /* a final response went out */
	bool aborted;	     /* CANCEL or session end: do not answer */
	bool st_set;	     /* st holds the RFC 4028 decision for it */
	struct sess_timer_uas st;
};

/* One of our requests in a dialog (or the CANCEL / fork BYE). */
struct ua_creq {
	struct ua_sess *s;    /* weak: NULL for a fire-and-forget one */
	struct ua *ua;	      /* weak */
	struct txn *txn;      /* ref */
	struct ua_creq *next; /* in s->creqs */
	enum sip_method mid;
	uint32_t cseq;
	void *cookie;
	bool internal;	    /* BYE / CANCEL of the UA itself: no
			       RESPONSE event */
	bool done;	    /* re-INVITE answered 2xx: kept to ACK
			       its retransmissions */
	unsigned tries;	    /* re-INVITE: 491s retried so far */
	char *hdrs, *ctype; /* owned: re-INVITE copies for a retry */
	char *body;
	size_t body_len;
	bool refresh;		   /* the UA's own session refresh: no
				      RESPONSE event */
	bool st_set;		   /* a refresh request: stu applies */
	struct sess_timer_uac stu; /* its Session-Expires / Min-SE */
};

/* A 2xx the app gave while reliable 1xx were unacknowledged (RFC 3262
   §3): sent after the last PRACK. */
struct ua_held {
	uint16_t status;
	char *reason, *hdrs, *ctype, *body; /* owned */
	size_t body_len;
};

/* Extra headers the UA itself writes into a response. */
struct ua_xh {
	const struct rel1xx_uas *rel;	 /* Require: 100rel, RSeq */
	const struct sess_timer_uas *st; /* Session-Expires, Min-SE ... */
};

struct ua_sess {
	struct ua *ua; /* weak: cleared when the ua goes first */
	enum ua_sess_state state;
	bool uac;
	bool in_table;
	bool delay_ack;
	bool cancel_wanted; /* UAC: CANCEL once a provisional arrives */
	bool bye_wanted;    /* UAS: BYE once the ACK arrives */
	bool cancel_sent;
	bool got_1xx;	/* UAC: any provisional (CANCEL allowed, §9.1) */
	bool tls;	/* UAS: the INVITE came over TLS */
	char *end_hdrs; /* owned: headers for that CANCEL / BYE */
	char callid[UA_CALLID_MAX + 1];
	char ltag[UA_TAG_LEN + 1];
	ua_sess_h *h;
	void *arg;
	struct ua_sess *hnext; /* bucket chain */

	struct dlg *dlg;		 /* ref: the confirmed dialog, or
					    the UAS early one */
	struct dlg *early[UA_MAX_EARLY]; /* refs: UAC early dialogs */
	unsigned nearly;
	unsigned early_cur; /* UAC: early[] of the latest provisional */

	/* The INVITE that created the session. */
	struct txn *itxn;    /* ref */
	struct ua_req *ireq; /* UAS: the INVITE (ref) until answered */
	char *inv;	     /* UAC: our INVITE (owned), for CANCEL */
	size_t inv_len;
	uint32_t inv_cseq;
	struct txn_dest dest; /* UAC: where the INVITE went */

	/* UAS §13.3.1.4: our 2xx retransmitted until the ACK. */
	char *resp2xx; /* owned */
	size_t resp2xx_len;
	struct txn *rtxn; /* ref: the transaction of that 2xx */
	uint32_t ack_cseq;
	uint32_t ival;	 /* current retransmission interval */
	uint64_t t2xx_0; /* first 2xx sent at */
	struct tmr t_2xx;

	/* UAC §13.2.2.4: our ACK, resent for each 2xx retransmission. */
	char *ack; /* owned */
	size_t ack_len;
	uint32_t acked_cseq;
	struct txn_dest ack_dest;
	bool ack_due; /* delay_ack: 2xx seen, app's ACK awaited */
	uint32_t ack_due_cseq;

	struct ua_creq *creqs;	 /* owned list: our pending requests */
	struct ua_creq *out_inv; /* borrowed from creqs: our re-INVITE */
	struct ua_req *reqs;	 /* owned list (refs): app must answer */
	struct ua_req *in_inv;	 /* borrowed from reqs: their re-INVITE */
	struct ua_creq *glare;	 /* borrowed: waiting for t_glare */
	struct tmr t_glare;
	char *auth_user, *auth_pass; /* owned: UAC digest credentials */
	struct auth_client *auth;    /* owned: made at the first challenge */
	struct tmr t_linger; /* 64*T1 after our last ACK: its copy and our
				INVITE's are not needed any more */

	/* RFC 3262 */
	struct rel1xx_uas *rel;			 /* ref: UAS reliable 1xx */
	struct rel1xx_uac rel_uac[UA_MAX_EARLY]; /* UAC: per early[] */
	struct ua_held *held;			 /* owned: a held 2xx */
	bool rel_counted; /* its retransmissions are in ua->st */

	/* RFC 4028 */
	struct sess_timer st;
	struct sess_timer_uac stuac; /* UAC: our initial INVITE's */
	struct sess_timer_uas stuas; /* UAS: decided on the INVITE */
	bool peer_update;	     /* the peer allows UPDATE */
	bool quiet_ack;		     /* the ACK for a 2xx the UA sent to a
					refresh: no CONFIRMED event */
	bool expired;		     /* our BYE is the timer's */
	char *lsdp;		     /* owned: the last SDP we sent */
	size_t lsdp_len;
	char rsdp_o[UA_SDP_O_MAX]; /* o= id and version last received */
	struct tmr t_refresh;	   /* a refresh put off (INVITE busy) */

	/* RFC 3891: the session an INVITE with Replaces names (ref). */
	struct ua_sess *replaces;
};

/* ua.c */
struct ua_sess *ua_sess_find(struct ua *ua, const struct sip_msg *msg,
			     bool as_req);
struct ua_sess *ua_sess_find_txn(struct ua *ua, const struct pl *callid,
				 const struct txn *t);
void ua_table_add(struct ua *ua, struct ua_sess *s);
void ua_table_del(struct ua *ua, struct ua_sess *s);
int ua_reply_msg(struct ua *ua, struct txn *txn, const struct sip_msg *req,
		 uint16_t status, const char *reason, const char *ltag,
		 const char *hdrs, const char *ctype, const char *body,
		 size_t body_len, bool contact, char **copy, size_t *copy_len);
int ua_reply_build(struct ua *ua, const struct sip_msg *req, uint16_t status,
		   const char *reason, const char *ltag, const struct ua_xh *xh,
		   const char *hdrs, const char *ctype, const char *body,
		   size_t body_len, bool contact, char *buf, size_t size,
		   size_t *len);
int ua_reply_xmsg(struct ua *ua, struct txn *txn, const struct sip_msg *req,
		  uint16_t status, const char *reason, const char *ltag,
		  const struct ua_xh *xh, const char *hdrs, const char *ctype,
		  const char *body, size_t body_len, bool contact, char **copy,
		  size_t *copy_len);
bool ua_tag_supported(const struct ua *ua, const char *tag);
void ua_reject(struct ua *ua, const struct sip_msg *msg,
	       const struct txn_dest *src, uint16_t status, const char *reason,
	       const char *hdrs);

/* ua_msg.c */
int ua_put_hdrs(struct sip_wbuf *wb, const char *hdrs);
void ua_put_common(struct ua *ua, struct sip_wbuf *wb, enum tp_proto proto,
		   bool contact, bool allow);
int ua_via(struct ua *ua, enum tp_proto proto, char *buf, size_t size,
	   struct pl *via);
int ua_locate(const struct pl *uri, struct txn_dest *dst);
int ua_end_body(struct sip_wbuf *wb, const char *ctype, const char *body,
		size_t body_len, size_t *len);
char *ua_strdup(const char *s);
int ua_memdup(char **dst, const char *src, size_t len);

/* ua_sess.c: objects, state, sending */
void ua_s_state(struct ua_sess *s, enum ua_sess_state st);
void ua_s_emit(struct ua_sess *s, enum ua_ev ev, uint16_t status,
	       const struct sip_msg *msg, struct ua_req *req, void *cookie,
	       bool by_remote);
struct ua_sess *ua_s_new(struct ua *ua, bool uac);
void ua_s_over(struct ua_sess *s, enum ua_ev ev, uint16_t status,
	       const struct sip_msg *msg, bool by_remote);
int ua_req_new(struct ua_req **rp, struct ua *ua, struct ua_sess *s,
	       const struct sip_msg *msg, const struct txn_dest *src,
	       txn_req_h *srv_h);
void ua_creq_free(struct ua_creq *c);
void ua_creq_unlink(struct ua_sess *s, struct ua_creq *c);
void ua_reqs_unlink(struct ua_sess *s, struct ua_req *r);
bool ua_wants_contact(enum sip_method m);
int ua_s_ack(struct ua_sess *s, uint32_t cseq, const char *ctype,
	     const char *body, size_t body_len);
int ua_s_send(struct ua_sess *s, struct ua_creq *c, const char *method,
	      const char *hdrs, const char *ctype, const char *body,
	      size_t body_len);
int ua_s_send_dlg(struct ua_sess *s, struct dlg *d, struct ua_creq *c,
		  const char *method, const char *hdrs, const char *ctype,
		  const char *body, size_t body_len);
int ua_s_send_bye(struct ua_sess *s);
const struct sip_msg *ua_s_inv_msg(const struct ua_sess *s);
int ua_s_send_cancel(struct ua_sess *s);
void ua_sess_detach_all(struct ua_sess *s);

/* ua_inv.c: the initial INVITE, both sides */
void ua_sess_incoming(struct ua *ua, const struct sip_msg *msg,
		      const struct txn_dest *src, struct ua_sess *replaces);
void ua_sess_cancel_in(struct ua *ua, const struct sip_msg *msg,
		       struct txn *target);
void ua_sess_ack_in(struct ua_sess *s, const struct sip_msg *ack);
void ua_srv_h(struct txn *txn, enum txn_sev ev, int err,
	      const struct sip_msg *msg, void *arg);
void ua_s_start_2xx(struct ua_sess *s, struct ua_req *r);

/* ua_rel.c: RFC 3262 reliable provisionals and PRACK */
bool ua_rel_possible(const struct ua_sess *s);
bool ua_rel_required(const struct ua_sess *s);
int ua_rel_send_1xx(struct ua_sess *s, uint16_t status, const char *reason,
		    const char *hdrs, const char *ctype, const char *body,
		    size_t body_len);
bool ua_rel_hold_2xx(struct ua_sess *s, int *err, uint16_t status,
		     const char *reason, const char *hdrs, const char *ctype,
		     const char *body, size_t body_len);
void ua_rel_prack_in(struct ua_sess *s, const struct sip_msg *msg,
		     const struct txn_dest *src);
void ua_rel_uac_1xx(struct ua_sess *s, const struct sip_msg *resp, unsigned idx,
		    bool *drop);
void ua_rel_final(struct ua_sess *s);

/* ua_timer.c: RFC 4028 session timers, SDP memory, local refreshes */
void ua_st_init(struct ua_sess *s);
void ua_st_start(struct ua_sess *s, const struct sess_timer_neg *neg);
bool ua_st_uas_check(struct ua *ua, const struct sip_msg *req,
		     const struct txn_dest *src, struct sess_timer_uas *res);
void ua_st_uac_2xx(struct ua_sess *s, const struct sess_timer_uac *stu,
		   const struct sip_msg *resp);
void ua_sdp_sent(struct ua_sess *s, const char *ctype, const char *body,
		 size_t body_len);
void ua_sdp_recv(struct ua_sess *s, const struct sip_msg *msg);
bool ua_st_local_refresh(struct ua_sess *s, struct ua_req *r);
void ua_st_peer_allow(struct ua_sess *s, const struct sip_msg *msg);
void ua_st_refresh_failed(struct ua_sess *s, enum sip_method mid,
			  uint16_t status);

/* ua_indlg.c: requests within the dialog */
void ua_sess_in_dialog(struct ua_sess *s, const struct sip_msg *msg,
		       const struct txn_dest *src);
void ua_creq_resp_h(struct txn *txn, const struct txn_cevent *ev, void *arg);
int ua_s_request_send(struct ua_sess *s, struct ua_creq *c, const char *method,
		      const char *hdrs, const char *ctype, const char *body,
		      size_t body_len);

#endif
