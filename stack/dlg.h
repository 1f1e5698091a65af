/* SIP dialogs: RFC 3261 §12 (creation, state, requests within a dialog,
   route sets incl. the §12.2.1.1 strict-router rules, target refresh,
   CSeq rules) and the §13.2.2.4 early-to-confirmed transition. Pure state:
   no I/O, no timers; the UA core (ua.h) drives it. */
#ifndef TANDEM_DLG_H
#define TANDEM_DLG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sip_msg.h"
#include "sip_write.h"

/* The dialog's life (§12: early after a 1xx with a To tag, confirmed
   after a 2xx; terminated by BYE, a non-2xx final, or a 481/408). */
enum dlg_state {
	DLG_S_EARLY,	  /* created by a provisional response */
	DLG_S_CONFIRMED,  /* created or confirmed by a 2xx */
	DLG_S_TERMINATED, /* no further requests may be sent */
	DLG_S_COUNT
};

#define DLG_MAX_ROUTES 16 /* Record-Route entries kept; more is refused */

/* An owned, NUL-terminated copy of a slice. */
struct dlg_str {
	char *p; /* owned (NULL when empty) */
	size_t l;
};

/*
 * One dialog (§12): the dialog ID (Call-ID, local tag, remote tag) and its
 * state. Refcounted (mem_deref frees). Every string is an owned copy, so
 * a dialog outlives the messages that made it. Fields are read-only for
 * users; change them only through the dlg_*() calls.
 */
struct dlg {
	enum dlg_state state;
	bool uac;    /* we sent the dialog-creating request */
	bool secure; /* §12.1.1 / §12.1.2: sips R-URI over TLS */
	struct dlg_str callid;
	struct dlg_str ltag, rtag;
	struct dlg_str luri, ldname;	       /* local URI and display name */
	struct dlg_str ruri, rdname;	       /* remote URI and display name */
	struct dlg_str rtarget;		       /* remote target URI (Contact) */
	struct dlg_str routes[DLG_MAX_ROUTES]; /* route set, in the order
						  requests use it; each a
						  name-addr as written */
	unsigned nroutes;
	uint32_t lseq; /* local sequence number (last used) */
	uint32_t rseq; /* remote sequence number */
	bool rseq_set; /* remote sequence number not empty (§12.1.2) */
};

const char *dlg_state_name(enum dlg_state s);

/*
 * UAS side, §12.1.1: the dialog for the request req (an INVITE or other
 * dialog-creating request) to which we answer with a 101-199 or 2xx
 * carrying our To tag ltag (a token). Route set = Record-Route of req in
 * order; remote target = its Contact URI (required: EBADMSG without one,
 * the caller answers 400); remote seq = CSeq; local seq empty (0); remote
 * tag = From tag (may be empty for RFC 2543 peers); secure when tls and
 * the R-URI is sips. state: DLG_S_EARLY, or DLG_S_CONFIRMED when
 * confirmed. req is borrowed for the call. Returns 0, EINVAL, EBADMSG
 * (no or bad Contact, bad Record-Route), E2BIG (more than
 * DLG_MAX_ROUTES), ENOMEM.
 */
int dlg_uas_create(struct dlg **dp, const struct sip_msg *req,
		   const struct pl *ltag, bool tls, bool confirmed);

/*
 * UAC side, §12.1.2: the dialog our request req created, from the
 * response resp (a 101-199 with a To tag, or a 2xx). Route set =
 * Record-Route of resp reversed; remote target = resp's Contact (a 2xx
 * must have one; a 1xx without one gets the R-URI of req for now and
 * takes the Contact of a later response); local seq = CSeq of req;
 * remote seq empty; local tag = From tag of req; remote tag = To tag of
 * resp (EBADMSG if absent). state from the status. Both borrowed for the
 * call. Returns 0, EINVAL, EBADMSG, E2BIG, ENOMEM.
 */
int dlg_uac_create(struct dlg **dp, const struct sip_msg *req,
		   const struct sip_msg *resp, bool tls);

/*
 * §13.2.2.4: a 2xx (or a later 1xx) for the INVITE that created the
 * early dialog d. On a 2xx the dialog becomes confirmed and, on the UAC
 * side, its route set is recomputed from resp's Record-Route (reversed)
 * and its remote target from resp's Contact. Returns 0, EPROTO (d is not
 * early), EBADMSG, E2BIG, ENOMEM (d unchanged on error).
 */
int dlg_uac_update(struct dlg *d, const struct sip_msg *resp);

/* UAS side: our 2xx confirmed the early dialog d. */
void dlg_confirm(struct dlg *d);
void dlg_terminate(struct dlg *d);

/*
 * §12.2.2: true when the request req belongs to d: same Call-ID, To tag =
 * local tag, From tag = remote tag. For a UAC dialog (or any), responses
 * match with dlg_match_resp(): Call-ID, From tag = local tag, To tag =
 * remote tag.
 */
bool dlg_match_req(const struct dlg *d, const struct sip_msg *req);
bool dlg_match_resp(const struct dlg *d, const struct sip_msg *resp);

/*
 * §12.2.2 remote CSeq rule for a request in the dialog (not ACK or
 * CANCEL, which reuse their request's number): an empty remote sequence
 * number is set; a number lower than it is out of order (return ERANGE:
 * the UAS core answers 500); an equal or higher one is stored. Returns 0
 * or ERANGE.
 */
int dlg_rseq_check(struct dlg *d, uint32_t cseq);

/*
 * Target refresh (§12.2.1.2 for a 2xx to our target-refresh request,
 * §12.2.2 for a received one): replace the remote target with the URI of
 * msg's Contact, when it has one. Returns 0, EBADMSG (a Contact that does
 * not decode, or more than one), ENOMEM.
 */
int dlg_target_refresh(struct dlg *d, const struct sip_msg *msg);

/* The next local CSeq number (§12.2.1.1: incremented by one per request;
   a UAS dialog's empty local seq starts from a random-free 1). */
uint32_t dlg_next_cseq(struct dlg *d);

/*
 * Write a request within d into wb (fresh), §12.2.1.1: the Request-URI
 * and Route headers from the route set and remote target (first route
 * without lr = strict router: it becomes the Request-URI, stripped of
 * its headers part, and the remote target goes last into Route), the
 * via value as the first header (the UA core's, with a fresh branch),
 * then Max-Forwards (max_fwd), From (local URI and tag), To (remote URI
 * and tag), Call-ID and CSeq (cseq, method). The caller adds Contact
 * and the rest and calls sip_wb_end(). *next_hop (may be NULL) gets the
 * URI to resolve for sending (§8.1.2: the first Route's URI, or the
 * Request-URI when there is none): a slice into d, valid while d's route
 * set and target do not change. Returns 0 or the writer's error
 * (ENOSPC ...), EPROTO when d is terminated.
 */
/*
 * The URI a request within d is sent to (§8.1.2, §12.2.1.1): the first
 * route's URI, or the remote target when the route set is empty. A
 * slice into d. Returns 0, EBADMSG (a stored route does not decode).
 */
int dlg_next_hop(const struct dlg *d, struct pl *hop);

int dlg_request_write(struct dlg *d, struct sip_wbuf *wb,
		      const struct pl *method, uint32_t cseq,
		      const struct pl *via, unsigned max_fwd,
		      struct pl *next_hop);

#endif
