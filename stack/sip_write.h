/* SIP message writer: RFC 3261 §7, §8.2.6 (responses), §18.3 / §20.14
   (Content-Length). Builds one message into one contiguous buffer. */
#ifndef TANDEM_SIP_WRITE_H
#define TANDEM_SIP_WRITE_H

#include <stddef.h>
#include <stdint.h>

#include "pl.h"
#include "sip_msg.h"

/*
 * A message under construction in a caller-supplied buffer. The writer
 * never allocates and never truncates: an append that does not fit fails
 * with ENOSPC. Errors are sticky: after the first failure every further
 * call is a no-op returning that same error, so a caller may chain appends
 * and check only sip_wb_end() (whose result is the first error). To retry
 * after ENOSPC, sip_wb_init() again with a larger buffer (lim.max_msg plus
 * the size of what you add is always enough for a copy).
 *
 * Order of calls (enforced, EINVAL otherwise):
 *   1. one start line: sip_wb_request(), sip_wb_response(),
 *      sip_wb_copy_start(), sip_wb_reply() or sip_wb_reply_perr();
 *   2. any headers: sip_wb_hdr*(), sip_wb_copy_hdrs(), sip_wb_hdr_copy();
 *   3. sip_wb_end(): Content-Length (computed), the empty line, the body.
 * Content-Length is the writer's business: adding it as a header is
 * EINVAL. It is written last before the body unless a copied message's
 * own Content-Length line was kept in place (see sip_wb_copy_hdrs()).
 *
 * Not thread-safe; one builder per message. The struct is small and may
 * live on the stack. Fields are private.
 */
struct sip_wbuf {
	char *buf;	   /* borrowed: the caller's buffer, valid while used */
	size_t size;	   /* its size */
	size_t len;	   /* bytes written */
	int err;	   /* first error, sticky */
	int state;	   /* private: which step of the order above */
	size_t clen_off;   /* kept Content-Length value: offset in buf, or
			      SIZE_MAX when none was kept */
	size_t clen_vlen;  /* its length */
	uint32_t clen_val; /* and the number it states */
};

/* Start a message in buf[0..size). The buffer is never NUL-terminated. */
void sip_wb_init(struct sip_wbuf *wb, char *buf, size_t size);

/*
 * Request line "<method> SP <ruri> SP SIP/2.0". method must be a token,
 * ruri non-empty without SP, CR, LF or NUL (EINVAL otherwise); the URI is
 * written as given (not checked against §19.1 grammar).
 */
int sip_wb_request(struct sip_wbuf *wb, const struct pl *method,
		   const struct pl *ruri);

/*
 * Status line "SIP/2.0 <status> <reason>". status 100..699 (EINVAL
 * otherwise). reason NULL or absent: sip_status_phrase(status). A given
 * reason is sanitised: CR, LF and other control bytes except HTAB become
 * SP (§25.1 Reason-Phrase; never let network text split the line).
 */
int sip_wb_response(struct sip_wbuf *wb, uint16_t status,
		    const struct pl *reason);

/*
 * Append "<name>: <val>" CRLF, name being sip_hdr_name(id), the canonical
 * long form. id must not be SIP_HDR_OTHER (use sip_wb_hdr_named()) nor
 * SIP_HDR_CONTENT_LENGTH. val may be empty; it may hold folded line ends
 * (CRLF followed by SP or HTAB) but no other CR or LF (EINVAL).
 */
int sip_wb_hdr(struct sip_wbuf *wb, enum sip_hdr_id id, const struct pl *val);
/* Same with a header name given as text (a token, EINVAL otherwise;
   "Content-Length" and "l" refused). Written as given. */
int sip_wb_hdr_named(struct sip_wbuf *wb, const struct pl *name,
		     const struct pl *val);
/* printf-style values; the same checks apply to the formatted text. */
int sip_wb_hdrf(struct sip_wbuf *wb, enum sip_hdr_id id, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
int sip_wb_hdrf_named(struct sip_wbuf *wb, const char *name, const char *fmt,
		      ...) __attribute__((format(printf, 3, 4)));

/*
 * Finish: unless a copied Content-Length line is being kept, append
 * "Content-Length: <n>" CRLF (§20.14: we always write it, also for 0);
 * then CRLF and the body (NULL or empty: none). A kept copied line is
 * left byte-exact when it already states body->l, otherwise its value is
 * rewritten in place. Returns the first error of the whole build, or 0
 * with *len (may be NULL) the message length: the message is
 * buf[0..*len).
 */
int sip_wb_end(struct sip_wbuf *wb, const struct pl *body, size_t *len);

/* ------------------------------------------------------------------ */
/* Copying a parsed message with edits (forwarding, topology hiding).   */

/*
 * Start line of msg: a status line is copied byte-exact; a request line
 * too, unless ruri is given (not NULL): then the Request-URI is replaced
 * and everything else on the line kept. ruri is checked as in
 * sip_wb_request().
 */
int sip_wb_copy_start(struct sip_wbuf *wb, const struct sip_msg *msg,
		      const struct pl *ruri);

/* What sip_wb_copy_hdrs() does with the lines of one header. */
enum sip_wop_kind {
	SIP_WOP_REMOVE,	 /* drop every line of it */
	SIP_WOP_REPLACE, /* the first line becomes "<name as written>: val",
			    later lines of it are dropped */
};

/*
 * One edit. A recognised header is named by id (its compact form then
 * matches too); an unknown one by id SIP_HDR_OTHER and name (compared
 * case-insensitively to the name as written). Content-Length cannot be
 * edited (EINVAL): it follows the body given to sip_wb_end().
 */
struct sip_wop {
	enum sip_wop_kind kind;
	enum sip_hdr_id id;
	const char *name; /* SIP_HDR_OTHER only */
	struct pl val;	  /* SIP_WOP_REPLACE only; checked as in sip_wb_hdr() */
};

/*
 * Copy every header line of msg, in order and byte-exact (name as
 * written, compact forms, folding, unknown headers), applying ops[0..n)
 * (the first op matching a line wins). Content-Length: the first line is
 * kept in place and fixed by sip_wb_end() if the body length changes;
 * further Content-Length lines are dropped; if msg had none, sip_wb_end()
 * appends one. Headers added before this call come before the copied
 * ones (a new top Via, §16.6 step 8), those added after it after them.
 * msg is borrowed for the call only: bytes are copied.
 */
int sip_wb_copy_hdrs(struct sip_wbuf *wb, const struct sip_msg *msg,
		     const struct sip_wop *ops, size_t nops);

/* Copy every line of header id of msg byte-exact, in order (e.g. the
   Record-Route of a request into a dialog-creating response, §12.1.1).
   No line is not an error. id must not be SIP_HDR_OTHER. */
int sip_wb_hdr_copy(struct sip_wbuf *wb, const struct sip_msg *msg,
		    enum sip_hdr_id id);

/*
 * Whole copy in one call: sip_wb_copy_start(ruri), sip_wb_copy_hdrs(ops),
 * sip_wb_end(body, or msg's own body when body is NULL). An unedited copy
 * (ruri NULL, no ops, body NULL) of a message with a Content-Length is
 * byte-identical to msg->buf[0..msg->len).
 */
int sip_wb_copy(struct sip_wbuf *wb, const struct sip_msg *msg,
		const struct pl *ruri, const struct sip_wop *ops, size_t nops,
		const struct pl *body, size_t *len);

/* ------------------------------------------------------------------ */
/* Responses (RFC 3261 §8.2.6).                                         */

/*
 * Start a response to the parsed request req: the status line (as
 * sip_wb_response()), then, byte-exact, every Via line in order
 * (§8.2.6.2), From, To, Call-ID, CSeq, and for 100 (Trying) every
 * Timestamp line (§8.2.6.1). When req's To has no tag and totag is given
 * and not empty, ";tag=<totag>" is added to the To value (§8.2.6.2; pass
 * NULL for a 100); a To that has a tag is never given a second one.
 * totag must be a token (EINVAL). The caller then adds any other headers
 * (Contact, Allow, Supported, Unsupported, Retry-After, Min-SE, Record-
 * Route via sip_wb_hdr_copy() ...) and calls sip_wb_end(). req is
 * borrowed for the call only. EINVAL if req is not a request.
 */
int sip_wb_reply(struct sip_wbuf *wb, const struct sip_msg *req,
		 uint16_t status, const struct pl *reason,
		 const struct pl *totag);

/*
 * Start a stateless error response to a request that failed
 * sip_msg_parse() or sip_msg_check(): status err->status (400, 413, 505),
 * reason sip_perr_phrase(err) sanitised. The request is buf[0..len), the
 * raw bytes; the lines are found by a tolerant scan of its header section
 * (the parse failed, so no index is trusted): every Via line in order,
 * then the first From, To (tag added as in sip_wb_reply() when none can
 * be seen), Call-ID and CSeq lines, each copied byte-exact; missing ones
 * are left out. Returns EINVAL when err->status is 0 (drop silently) or
 * not 4xx..6xx, EBADMSG when no Via line is found (nowhere to answer).
 * The caller finishes with sip_wb_end(wb, NULL, &len).
 */
int sip_wb_reply_perr(struct sip_wbuf *wb, const char *buf, size_t len,
		      const struct sip_perr *err, const struct pl *totag);

/*
 * Default Reason-Phrase of a status code: the RFC 3261 §21 phrases, plus
 * 202 (RFC 3515), 422 (RFC 4028), 489 (RFC 6665), 494 (RFC 3329) and 580
 * (RFC 3312). Other codes get a phrase for their class ("Server Error").
 * Never NULL; a static string.
 */
const char *sip_status_phrase(uint16_t status);

/* ------------------------------------------------------------------ */
/* Value text. Each writes into buf[0..size) (no NUL), sets *len, and   */
/* returns 0, ENOSPC if it does not fit, or EINVAL on a bad argument.   */

/*
 * Via value "SIP/2.0/<transport> <host>[:<port>];branch=<branch>[;rport]".
 * transport a token ("UDP", "TCP", "TLS", "WS"...). host a name or an
 * IPv4/IPv6 address: an IPv6 address (it holds ':') is bracketed unless
 * it already is (RFC 5118 §4.2). port 0 leaves it out. branch is the
 * whole branch, which must start with the magic cookie "z9hG4bK"
 * (§8.1.1.7) and be a token. rport adds RFC 3581's empty ";rport".
 */
int sip_via_print(char *buf, size_t size, size_t *len,
		  const struct pl *transport, const struct pl *host,
		  uint16_t port, const struct pl *branch, bool rport);

/*
 * name-addr "[\"<dname>\" ]<<uri>>[;tag=<tag>]" for From, To, Contact.
 * dname absent or empty: none; else always quoted, with '"' and '\'
 * escaped (§25.1 quoted-pair); CR, LF, NUL refused. uri without SP, CR,
 * LF, '<', '>'. tag NULL or absent: none; else a token.
 */
int sip_naddr_print(char *buf, size_t size, size_t *len, const struct pl *dname,
		    const struct pl *uri, const struct pl *tag);

/* CSeq value "<num> <method>"; num below 2^31 (§8.1.1.5), method a
   token. */
int sip_cseq_print(char *buf, size_t size, size_t *len, uint32_t num,
		   const struct pl *method);

#endif
