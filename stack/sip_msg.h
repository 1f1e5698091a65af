/* SIP message parser: RFC 3261 §7, §19, §20, §25 (zero-copy). */
#ifndef TANDEM_SIP_MSG_H
#define TANDEM_SIP_MSG_H

#include "pl.h"
#include "sip_uri.h"

/* Methods with a meaning to us; anything else is SIP_M_OTHER. */
enum sip_method {
	SIP_M_OTHER,
	SIP_M_INVITE,
	SIP_M_ACK,
	SIP_M_BYE,
	SIP_M_CANCEL,
	SIP_M_OPTIONS,
	SIP_M_REGISTER,
	SIP_M_PRACK,	 /* RFC 3262 */
	SIP_M_UPDATE,	 /* RFC 3311 */
	SIP_M_INFO,	 /* RFC 6086 */
	SIP_M_MESSAGE,	 /* RFC 3428 */
	SIP_M_REFER,	 /* RFC 3515 */
	SIP_M_NOTIFY,	 /* RFC 6665 */
	SIP_M_SUBSCRIBE, /* RFC 6665 */
	SIP_M_PUBLISH,	 /* RFC 3903 */
	SIP_M_COUNT
};

/*
 * Header fields we recognise by name (long or compact form, §7.3.3,
 * case-insensitive). Everything else is SIP_HDR_OTHER and kept byte-exact.
 */
enum sip_hdr_id {
	SIP_HDR_OTHER,
	SIP_HDR_VIA,	 /* v */
	SIP_HDR_FROM,	 /* f */
	SIP_HDR_TO,	 /* t */
	SIP_HDR_CALL_ID, /* i */
	SIP_HDR_CSEQ,
	SIP_HDR_MAX_FORWARDS,
	SIP_HDR_CONTACT, /* m */
	SIP_HDR_ROUTE,
	SIP_HDR_RECORD_ROUTE,
	SIP_HDR_CONTENT_LENGTH,	  /* l */
	SIP_HDR_CONTENT_TYPE,	  /* c */
	SIP_HDR_CONTENT_ENCODING, /* e */
	SIP_HDR_CONTENT_DISPOSITION,
	SIP_HDR_EXPIRES,
	SIP_HDR_MIN_EXPIRES,
	SIP_HDR_REQUIRE,
	SIP_HDR_SUPPORTED, /* k */
	SIP_HDR_PROXY_REQUIRE,
	SIP_HDR_UNSUPPORTED,
	SIP_HDR_ALLOW,
	SIP_HDR_ACCEPT,
	SIP_HDR_WWW_AUTHENTICATE,
	SIP_HDR_PROXY_AUTHENTICATE,
	SIP_HDR_AUTHORIZATION,
	SIP_HDR_PROXY_AUTHORIZATION,
	SIP_HDR_AUTHENTICATION_INFO,
	SIP_HDR_RSEQ,		      /* RFC 3262 */
	SIP_HDR_RACK,		      /* RFC 3262 */
	SIP_HDR_SESSION_EXPIRES,      /* x, RFC 4028 */
	SIP_HDR_MIN_SE,		      /* RFC 4028 */
	SIP_HDR_P_ASSERTED_IDENTITY,  /* RFC 3325 */
	SIP_HDR_P_PREFERRED_IDENTITY, /* RFC 3325 */
	SIP_HDR_PRIVACY,	      /* RFC 3323 */
	SIP_HDR_REFER_TO,	      /* r, RFC 3515 */
	SIP_HDR_REFERRED_BY,	      /* b, RFC 3892 */
	SIP_HDR_REPLACES,	      /* RFC 3891 */
	SIP_HDR_REASON,		      /* RFC 3326 */
	SIP_HDR_EVENT,		      /* o */
	SIP_HDR_SUBSCRIPTION_STATE,
	SIP_HDR_RETRY_AFTER,
	SIP_HDR_DATE,
	SIP_HDR_TIMESTAMP,
	SIP_HDR_USER_AGENT,
	SIP_HDR_SERVER,
	SIP_HDR_SUBJECT, /* s */
	SIP_HDR_WARNING,
	SIP_HDR_SESSION_ID, /* RFC 7989 */
	SIP_HDR_COUNT
};

/* Limits on input; sip_limits_default() fills the defaults. */
struct sip_limits {
	size_t max_msg;	   /* whole message incl. body; default 65536 */
	unsigned max_hdrs; /* header lines; default and cap SIP_MSG_HDR_CAP */
	size_t max_line;   /* one header line incl. folding; default 8192 */
};

#define SIP_MSG_HDR_CAP 128

void sip_limits_default(struct sip_limits *lim);

/*
 * Why a message was refused. what is a static phrase fit for a reason
 * phrase ("missing branch"); hdr names the header it concerns
 * (SIP_HDR_OTHER with hdr_name set for an unknown one, or for the start
 * line when hdr_name is empty). status is the answer §8.2/§21 names for a
 * request: 400, 505 (version), 413 (too large); 0 means "drop silently"
 * (responses, or nothing we can answer).
 */
struct sip_perr {
	enum sip_hdr_id hdr;
	struct pl hdr_name;
	const char *what;
	uint16_t status;
};

/*
 * Build "Bad <header>: <what>" (or "Bad Request-Line: ...") into buf.
 * Always NUL-terminates; returns buf.
 */
char *sip_perr_phrase(const struct sip_perr *err, char *buf, size_t sz);

/* One header line: the name as written and the value without leading and
   trailing LWS. The value may contain folded line ends (CRLF + WSP). */
struct sip_hdr {
	enum sip_hdr_id id;
	struct pl name;
	struct pl val;
	struct pl line; /* the whole line incl. name, without the final CRLF */
	uint16_t next;	/* index of the next header with the same id, or
			   SIP_HDR_NONE */
};

#define SIP_HDR_NONE 0xffff

/* Via value (§20.42, §18.2.1, RFC 3581). */
struct sip_via {
	struct pl proto;     /* "SIP" */
	struct pl version;   /* "2.0" */
	struct pl transport; /* UDP, TCP, TLS, SCTP, WS, ... as written */
	struct pl host;	     /* sent-by host; IPv6 without [] */
	enum sip_host_type host_type;
	uint16_t port;	  /* 0 when absent */
	struct pl params; /* raw, from the first ';' (empty if none) */
	struct pl branch, received, maddr, ttl; /* absent if none */
	bool rport;	     /* rport present (with or without value) */
	struct pl rport_val; /* value if any */
	struct pl raw;	     /* the whole value */
};

/* name-addr / addr-spec with header parameters: From, To, Contact, Route,
   Record-Route, P-Asserted-Identity, Refer-To, Referred-By (§20, §25). */
struct sip_addr {
	struct pl dname; /* display name: inside the quotes (quoted-pairs
			    left as written) or the token words; absent if
			    none */
	bool dname_quoted;
	bool angle; /* name-addr form (<uri>) */
	bool star;  /* Contact: * (§20.10) */
	struct pl uri_raw;
	struct sip_uri uri;
	struct pl params; /* header params after the URI or '>', raw from the
			     first ';' */
	struct pl tag;	  /* tag param, absent if none */
	struct pl raw;
};

/* CSeq (§20.16): number below 2^31 (§8.1.1.5). */
struct sip_cseq {
	uint32_t num;
	struct pl method;
	enum sip_method mid;
};

/* Content-Type (§20.15) and multipart parts. */
struct sip_ctype {
	struct pl type, subtype; /* "application", "sdp" */
	struct pl params;	 /* raw from the first ';' */
	struct pl boundary;	 /* multipart boundary, unquoted; absent */
};

/* WWW-/Proxy-Authenticate, Authorization, Proxy-Authorization (§22,
   RFC 7616). Quoted values are given without their quotes. */
struct sip_auth {
	struct pl scheme; /* "Digest" or any other token */
	struct pl params; /* raw auth-params */
	struct pl realm, nonce, opaque, algorithm, qop, stale, domain;
	struct pl username, uri, response, cnonce, nc, userhash;
};

struct sip_rack { /* RAck (RFC 3262 §7.2) */
	uint32_t rseq;
	uint32_t cseq;
	struct pl method;
	enum sip_method mid;
};

enum sip_refresher { SIP_REFRESHER_NONE, SIP_REFRESHER_UAC, SIP_REFRESHER_UAS };

struct sip_session_expires { /* Session-Expires (RFC 4028 §4) */
	uint32_t delta;
	enum sip_refresher refresher;
	struct pl params;
};

struct sip_reason {	    /* Reason (RFC 3326) */
	struct pl protocol; /* "SIP", "Q.850", ... */
	uint32_t cause;	    /* 0 when absent */
	struct pl text;	    /* unquoted; absent if none */
	struct pl params;
};

struct sip_replaces { /* Replaces (RFC 3891) */
	struct pl callid, to_tag, from_tag;
	bool early_only;
};

/* How the body is framed (§18.3). */
enum sip_framing {
	SIP_FRAMING_DGRAM,  /* datagram: Content-Length may be absent (body =
			       rest), bytes after the body are ignored */
	SIP_FRAMING_STREAM, /* the caller framed it with sip_msg_frame() */
};

/*
 * A parsed message. It does not own its buffer: every slice points into
 * the bytes given to sip_msg_parse() (borrowed: valid while they live).
 * The core headers are decoded eagerly; the rest on demand with the
 * decoders below. The struct is large; embed it, do not copy it around.
 */
struct sip_msg {
	const char *buf; /* the message (start line .. end of body) */
	size_t len;

	bool req;
	/* request line */
	struct pl method;
	enum sip_method mid;
	struct pl ruri_raw;
	struct sip_uri ruri;
	/* status line */
	uint16_t status;
	struct pl reason;
	struct pl version; /* "SIP/2.0" */

	struct sip_hdr hdrs[SIP_MSG_HDR_CAP];
	uint16_t nhdrs;
	uint16_t first[SIP_HDR_COUNT]; /* first header of each id, or
					  SIP_HDR_NONE */
	uint16_t count[SIP_HDR_COUNT]; /* lines per id */

	/* eager typed core (valid after a successful parse) */
	struct sip_via via; /* topmost Via value */
	struct sip_addr from, to;
	struct pl callid;
	struct sip_cseq cseq;
	int32_t max_forwards; /* -1 when absent */
	uint32_t clen;	      /* Content-Length (0 if absent) */
	bool clen_set;
	bool ctype_set;
	struct sip_ctype ctype;

	struct pl body;
};

/*
 * Parse one message from buf[0..len). For SIP_FRAMING_DGRAM buf is the
 * whole datagram; for SIP_FRAMING_STREAM it is exactly what
 * sip_msg_frame() returned. Checks the start line, every header line, and
 * decodes the core headers (Via, From, To, Call-ID, CSeq, Max-Forwards,
 * Content-Length, Content-Type), which requests must have (§8.1.1; Via,
 * From, To, Call-ID, CSeq also for responses). Returns 0, or EBADMSG with
 * *err filled. Never allocates; never reads outside buf.
 */
int sip_msg_parse(struct sip_msg *msg, const char *buf, size_t len,
		  enum sip_framing framing, const struct sip_limits *lim,
		  struct sip_perr *err);

/*
 * Stream framing (§18.3): find the end of the next message in buf.
 * Leading CRLFs (keep-alives) are skipped and counted in *skip. Returns 0
 * with *msglen (from the first byte after the skipped CRLFs), EAGAIN if
 * more bytes are needed, EBADMSG (with *err) if the header section exceeds
 * the limits or Content-Length is missing, bad or conflicting (then the
 * connection must be closed).
 */
int sip_msg_frame(const char *buf, size_t len, const struct sip_limits *lim,
		  size_t *skip, size_t *msglen, struct sip_perr *err);

/*
 * Resumable framing state for a byte stream, so that a peer sending one
 * byte at a time costs linear, not quadratic, work. Zero it before the
 * first call for a message and again after each framed message; keep it
 * while sip_msg_frame_r() answers EAGAIN and the caller only appends bytes
 * (the pending message may move in memory, it must not change).
 */
struct sip_frame {
	size_t hscan; /* bytes after the keep-alives known not to hold the
			 end of the header section */
	size_t need;  /* once the header section is complete: the bytes
			 (after the keep-alives) the whole message needs */
};

/* sip_msg_frame() resuming from *st. */
int sip_msg_frame_r(const char *buf, size_t len, const struct sip_limits *lim,
		    struct sip_frame *st, size_t *skip, size_t *msglen,
		    struct sip_perr *err);

/*
 * Decode every recognised header of msg fully and check the rules that
 * need more than one header: single-valued headers appear once
 * (RFC 4475 §3.3.8), the CSeq method equals the request method (§8.1.1.5),
 * scalar ranges (§20). Returns 0 or EBADMSG with *err. The UAS core calls
 * this for requests before acting on them.
 */
int sip_msg_check(const struct sip_msg *msg, struct sip_perr *err);

/* Lookups. */
const struct sip_hdr *sip_msg_hdr(const struct sip_msg *msg,
				  enum sip_hdr_id id);
/* First header whose name matches (case-insensitive; for unknown ones). */
const struct sip_hdr *sip_msg_hdr_name(const struct sip_msg *msg,
				       const char *name);
const struct sip_hdr *sip_msg_hdr_next(const struct sip_msg *msg,
				       const struct sip_hdr *hdr);

/*
 * Iterate the comma-separated values of every line of one header id, in
 * order (§7.3.1). Commas inside quoted strings, <...> and (for auth
 * headers, which are not lists) are not separators. An empty element
 * (",,") is EBADMSG.
 */
struct sip_hdr_iter {
	const struct sip_msg *msg;
	uint16_t idx;	/* current line */
	struct pl rest; /* unread part of the current line's value */
};
void sip_hdr_iter_init(struct sip_hdr_iter *it, const struct sip_msg *msg,
		       enum sip_hdr_id id);
/* Returns 0 with *val, ENOENT at the end, EBADMSG on a malformed list. */
int sip_hdr_iter_next(struct sip_hdr_iter *it, struct pl *val);

/* Is tag (case-insensitive) one element of the comma-list lines of
   header id (Require, Supported, Allow ...)? A malformed list counts up
   to the element that breaks it. */
bool sip_hdr_has_token(const struct sip_msg *msg, enum sip_hdr_id id,
		       const char *tag);

/* Split one comma-list value at its first element: *elem gets it, *rest
   what follows the comma. Returns 0, ENOENT if rest is empty, EBADMSG. */
int sip_list_next(struct pl *rest, struct pl *elem);

/* Value decoders: pl is one value (no surrounding LWS, no commas).
   Each returns 0, or EBADMSG with *why a static phrase. */
int sip_via_decode(struct sip_via *via, const struct pl *pl, const char **why);
int sip_addr_decode(struct sip_addr *addr, const struct pl *pl,
		    const char **why);
int sip_cseq_decode(struct sip_cseq *cseq, const struct pl *pl,
		    const char **why);
int sip_ctype_decode(struct sip_ctype *ct, const struct pl *pl,
		     const char **why);
int sip_auth_decode(struct sip_auth *auth, const struct pl *pl,
		    const char **why);
int sip_rack_decode(struct sip_rack *rack, const struct pl *pl,
		    const char **why);
int sip_session_expires_decode(struct sip_session_expires *se,
			       const struct pl *pl, const char **why);
int sip_reason_decode(struct sip_reason *r, const struct pl *pl,
		      const char **why);
int sip_replaces_decode(struct sip_replaces *r, const struct pl *pl,
			const char **why);
/* delta-seconds (§25.1) below 2^32: Expires, Min-Expires, RSeq, Min-SE,
   Retry-After's leading number. */
int sip_delta_decode(uint32_t *v, const struct pl *pl, const char **why);
/* A token (§25.1); Require/Supported/Allow/Privacy elements. */
bool sip_is_token(const struct pl *pl);

/* Generic ";name[=value]" parameter lookup in a raw params slice
   (case-insensitive name). Returns true when present. */
bool sip_param_get(const struct pl *params, const char *name, struct pl *val);

enum sip_method sip_method_id(const struct pl *method);
const char *sip_method_name(enum sip_method m);
enum sip_hdr_id sip_hdr_id_of(const struct pl *name);
const char *sip_hdr_name(enum sip_hdr_id id);

/*
 * Multipart bodies (RFC 2046 §5.1): iterate parts of body delimited by
 * boundary. *part gets a part's headers+body, split by the caller with
 * sip_part_split(). Returns 0, ENOENT after the close delimiter, EBADMSG.
 */
struct sip_mpart_iter {
	struct pl body, boundary;
	size_t pos;
	bool done;
};
void sip_mpart_iter_init(struct sip_mpart_iter *it, const struct pl *body,
			 const struct pl *boundary);
int sip_mpart_next(struct sip_mpart_iter *it, struct pl *part_hdrs,
		   struct pl *part_body);

#endif
