/* SDP parser, rewriter and writer: RFC 8866 (SDP), the RFC 3264 fields an
   anchoring relay rewrites, RFC 3605 (a=rtcp), RFC 4568 (a=crypto),
   RFC 8839 (ICE attributes). Zero-copy, fixed capacity, no allocation. */
#ifndef TANDEM_SDP_H
#define TANDEM_SDP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "pl.h"

/*
 * Limits. Input beyond any of them is refused with EBADMSG and a phrase
 * naming the limit; rewrites that would exceed them fail with ENOBUFS, so
 * that what sdp_encode() writes always decodes again.
 */
#define SDP_MAX_MEDIA 16  /* m= sections */
#define SDP_MAX_ATTR 64	  /* a= lines in one section (session or media) */
#define SDP_MAX_FMT 32	  /* formats on one m= line */
#define SDP_MAX_LINES 512 /* lines in the whole description */
#define SDP_MAX_ADDED                                                          \
	64	       /* lines inserted by rewrites (sdp_attr_add, a          \
			  c= or a=rtcp the input lacked) */
#define SDP_ARENA 4096 /* bytes for rewritten and inserted line text */

/* Section argument of the functions that work on either level. */
#define SDP_SESSION (-1)

/* Index meaning "no line". */
#define SDP_NONE 0xffff

/* Address type of c= / o= / a=rtcp (RFC 8866 §5.7). */
enum sdp_af {
	SDP_AF_NONE, /* absent */
	SDP_AF_IP4,  /* "IP4" */
	SDP_AF_IP6,  /* "IP6" */
};

/* Media direction (RFC 3264 §5.1, RFC 8866 §6.7). */
enum sdp_dir {
	SDP_DIR_NONE, /* no direction attribute at that level */
	SDP_DIR_SENDRECV,
	SDP_DIR_SENDONLY,
	SDP_DIR_RECVONLY,
	SDP_DIR_INACTIVE,
};

/* Attributes we recognise by name (case-sensitive, as RFC 8866 §6 writes
   them). Everything else is SDP_A_OTHER and kept byte-exact. */
enum sdp_attr_id {
	SDP_A_OTHER,
	SDP_A_RTPMAP,	/* RFC 8866 §6.6 */
	SDP_A_FMTP,	/* RFC 8866 §6.15 */
	SDP_A_RTCP,	/* RFC 3605 */
	SDP_A_RTCP_MUX, /* RFC 5761 */
	SDP_A_RTCP_FB,	/* RFC 4585 */
	SDP_A_CRYPTO,	/* RFC 4568 */
	SDP_A_SENDRECV, /* RFC 8866 §6.7 */
	SDP_A_SENDONLY,
	SDP_A_RECVONLY,
	SDP_A_INACTIVE,
	SDP_A_PTIME,	 /* RFC 8866 §6.4 */
	SDP_A_MAXPTIME,	 /* RFC 8866 §6.5 */
	SDP_A_ICE_UFRAG, /* RFC 8839 §5 */
	SDP_A_ICE_PWD,
	SDP_A_ICE_OPTIONS,
	SDP_A_ICE_LITE,
	SDP_A_ICE_MISMATCH,
	SDP_A_CANDIDATE,
	SDP_A_REMOTE_CANDIDATES,
	SDP_A_END_OF_CANDIDATES, /* RFC 8840 */
	SDP_A_MID,		 /* RFC 5888 */
	SDP_A_SSRC,		 /* RFC 5576 */
	SDP_A_FINGERPRINT,	 /* RFC 8122 */
	SDP_A_SETUP,		 /* RFC 4145 */
	SDP_A_COUNT
};

/* Why a description was refused: a static phrase ("m= line: bad port")
   and the 1-based line number (0 when it concerns the whole text). */
struct sdp_perr {
	const char *what;
	unsigned line;
};

/*
 * One line. text is the line without its end (CRLF or LF). For a= lines
 * name is the attribute name and val what follows the first ':' (absent
 * for a property attribute such as "a=rtcp-mux"); for other types val is
 * everything after "x=". Lines form a list in output order through next.
 */
struct sdp_line {
	struct pl text;
	struct pl name;
	struct pl val;
	uint16_t next; /* next line in output order, or SDP_NONE */
	char type;     /* 'v', 'o', 'm', 'a', ... */
	uint8_t eol;   /* bytes of the line end as written: 2, 1, or 0 for a
			  last line without one */
	uint8_t sect;  /* 0 = session, 1 + i = media i */
	uint8_t id;    /* enum sdp_attr_id for a= lines */
	bool removed;  /* dropped by a rewrite; not written */
};

/* c= value, or the address part of o= / a=rtcp (RFC 8866 §5.7). */
struct sdp_conn {
	enum sdp_af af;	    /* SDP_AF_NONE when absent */
	struct pl addrtype; /* "IP4" / "IP6" as written */
	struct pl addr;	    /* address without the multicast suffix */
	struct pl suffix;   /* "/ttl[/n]" as written; empty if none */
	bool fqdn;	    /* addr is a domain name, not a literal */
	bool unspec;	    /* 0.0.0.0 or :: (RFC 2543 hold, §8.4 of 3264) */
};

/* o= (RFC 8866 §5.2). */
struct sdp_origin {
	struct pl user, sess_id, version_raw;
	uint64_t version;
	struct sdp_conn addr; /* af NONE if the address type is unknown */
};

/* One m= section (RFC 8866 §5.14) and its lines. */
struct sdp_media {
	struct pl type; /* "audio", "video", "application", ... */
	uint16_t port;
	uint16_t nports; /* "49170/2" -> 2; 0 when not written */
	struct pl proto; /* "RTP/AVP", "UDP/TLS/RTP/SAVPF", ... */
	bool rtp;	 /* proto is an RTP profile: formats are PTs */
	struct pl fmt[SDP_MAX_FMT];
	uint8_t pt[SDP_MAX_FMT]; /* numeric formats when rtp */
	unsigned nfmt;
	struct sdp_conn conn; /* media-level c=; af NONE if absent */
	uint16_t mline;	      /* index of the m= line */
	uint16_t cline;	      /* index of the c= line or SDP_NONE */
	uint16_t last;	      /* index of the section's last line */
	unsigned nattr;	      /* a= lines (not removed) */
};

/*
 * A parsed description. It does not own its input: slices point into the
 * bytes given to sdp_decode() (borrowed: valid while they live) or into
 * its own arena for rewritten lines, so a byte copy of a rewritten struct
 * would point into the original: never copy it, decode again instead.
 * Large (~47 KB): embed or allocate it once per leg. Getters and rewrites
 * require a successful sdp_decode(). Not thread-safe; one owner at a time.
 */
struct sdp {
	const char *buf; /* borrowed */
	size_t len;

	struct sdp_origin origin;
	uint16_t oline;	      /* index of o= */
	struct pl name;	      /* s= value */
	struct sdp_conn conn; /* session-level c=; af NONE if absent */
	uint16_t cline;	      /* index of session c= or SDP_NONE */
	uint16_t slast;	      /* index of the session section's last line */
	unsigned nattr;	      /* session-level a= lines */

	struct sdp_media media[SDP_MAX_MEDIA];
	unsigned nmedia;

	struct sdp_line line[SDP_MAX_LINES + SDP_MAX_ADDED];
	unsigned nline; /* entries used in line[] (removed ones included) */
	unsigned nlive; /* lines that will be written */
	struct pl tail; /* empty lines after the last one, written as is */
	uint8_t eol;	/* line end for inserted lines: that of v= */

	char arena[SDP_ARENA];
	size_t arena_used;
};

/*
 * Parse buf[0..len) (not NUL-terminated) into *sdp. Checks what a relay
 * relies on: "v=0" first; one o= (numeric version) and an s= at session
 * level; c= at session level or in every m= section whose port is not 0;
 * c=/a=rtcp addresses valid for IN IP4 / IN IP6 (or a domain name,
 * flagged); ports 0..65535; port counts; PTs 0..127 on RTP profiles;
 * a=rtpmap, a=rtcp and a=crypto values; the limits above. Line ends may
 * be CRLF or LF; bare CR and NUL are refused. Empty lines are allowed only
 * at the very end. Returns 0, or EBADMSG with *err (err may be NULL).
 * Never allocates; never reads outside buf.
 */
int sdp_decode(struct sdp *sdp, const char *buf, size_t len,
	       struct sdp_perr *err);

/*
 * Serialise into buf[0..sz): the original lines in order, rewritten ones
 * substituted, removed ones left out, inserted ones in place; every line
 * keeps its own line end. Without rewrites the output equals the input
 * byte for byte. Returns 0 with *lenp = bytes written (no NUL added), or
 * ENOSPC with *lenp = the size needed.
 */
int sdp_encode(const struct sdp *sdp, char *buf, size_t sz, size_t *lenp);

/* --- Getters ----------------------------------------------------------- */

/* Effective connection of media m: its c= else the session c=; NULL if
   neither (only possible for a rejected media, port 0) or m is out of
   range. Borrowed from sdp. */
const struct sdp_conn *sdp_media_conn(const struct sdp *sdp, unsigned m);

/* Direction written at one level (SDP_SESSION or a media index): the first
   direction attribute there, or SDP_DIR_NONE. */
enum sdp_dir sdp_dir_get(const struct sdp *sdp, int m);
/* Effective direction of media m: media level, else session level, else
   sendrecv (RFC 8866 §6.7). */
enum sdp_dir sdp_media_dir(const struct sdp *sdp, unsigned m);
const char *sdp_dir_name(enum sdp_dir dir);

/* Attribute lines of one level (SDP_SESSION or a media index) with the
   given id (SDP_A_COUNT: any attribute), after prev (NULL: from the
   start). Removed lines are skipped. Returns NULL at the end. */
const struct sdp_line *sdp_attr_next(const struct sdp *sdp, int m,
				     enum sdp_attr_id id,
				     const struct sdp_line *prev);
/* First attribute of that level whose name matches (case-sensitive);
   NULL if none. */
const struct sdp_line *sdp_attr_find(const struct sdp *sdp, int m,
				     const char *name);
/* Count of attributes of that level with the given id. */
unsigned sdp_attr_count(const struct sdp *sdp, int m, enum sdp_attr_id id);

/* a=rtpmap (RFC 8866 §6.6): "<pt> <encoding>/<rate>[/<channels>]". */
struct sdp_rtpmap {
	uint8_t pt;
	struct pl enc;	   /* "PCMU", "telephone-event", ... */
	uint32_t rate;	   /* clock rate */
	uint32_t channels; /* 1 when not written */
	bool implicit;	   /* static PT of RFC 3551 without an a=rtpmap */
};
int sdp_rtpmap_decode(struct sdp_rtpmap *rm, const struct pl *val,
		      const char **why);
/* rtpmap of pt in media m: its a=rtpmap, else the RFC 3551 static
   assignment (0 PCMU, 8 PCMA, 9 G722, 18 G729, ...) if pt is on the m=
   line. Returns 0 or ENOENT. enc points into sdp or a static string. */
int sdp_rtpmap_find(const struct sdp *sdp, unsigned m, uint8_t pt,
		    struct sdp_rtpmap *rm);
/* First PT of the m= line (in m= order) whose encoding equals enc
   (case-insensitive) and whose clock rate equals rate (0: any). Returns 0
   with *pt, or ENOENT. */
int sdp_pt_find(const struct sdp *sdp, unsigned m, const char *enc,
		uint32_t rate, uint8_t *pt);
/* a=fmtp parameters of pt in media m (RFC 8866 §6.15). 0 or ENOENT. */
int sdp_fmtp_find(const struct sdp *sdp, unsigned m, uint8_t pt,
		  struct pl *params);

/* a=rtcp (RFC 3605): "<port> [IN IP4|IP6 <addr>]". */
struct sdp_rtcp {
	uint16_t port;
	struct sdp_conn conn; /* af NONE if no address */
};
int sdp_rtcp_decode(struct sdp_rtcp *rtcp, const struct pl *val,
		    const char **why);
/* a=rtcp of media m. Returns 0 or ENOENT. */
int sdp_rtcp_get(const struct sdp *sdp, unsigned m, struct sdp_rtcp *rtcp);

/* a=crypto (RFC 4568 §9.1): "<tag> <suite> <key-params>[ <params>]". */
struct sdp_crypto {
	uint32_t tag;	      /* 1..999999999 */
	struct pl suite;      /* "AES_CM_128_HMAC_SHA1_80" */
	struct pl keyparams;  /* all key-params: "inline:...|2^20|1:4" */
	struct pl key;	      /* base64 of the first key-param (after
				 "inline:", before '|') */
	struct pl lifetime;   /* of the first key-param; absent if none */
	struct pl mki;	      /* "1:4"; absent if none */
	struct pl sessparams; /* the rest, raw; absent if none */
};
int sdp_crypto_decode(struct sdp_crypto *c, const struct pl *val,
		      const char **why);
/* a=crypto lines of media m in order into out[0..max); returns how many
   there are (may exceed max; only max are written). */
unsigned sdp_crypto_list(const struct sdp *sdp, unsigned m,
			 struct sdp_crypto *out, unsigned max);

/* --- Rewrites ------------------------------------------------------------
 * Each changes the lines it concerns and keeps the parsed view in step
 * (getters see the new values). Text is copied into sdp->arena. Errors:
 * EINVAL for a bad argument, ENOBUFS when the arena or the line table is
 * full or the section would exceed SDP_MAX_ATTR; nothing is changed then.
 */

/* Set the connection address of one level (SDP_SESSION or a media
   index). addr must be a literal of af (IP4 dotted quad or IP6 text).
   A c= line that level lacks is inserted at its place (RFC 8866 §5); a
   multicast suffix is dropped. */
int sdp_conn_set(struct sdp *sdp, int m, enum sdp_af af, const char *addr);
/* Set the port of media m (0 rejects it, RFC 3264 §6). A port count
   stays as written. EINVAL for a non-zero port while media m has no
   connection address (a rejected stream without c=): set one first. */
int sdp_media_port_set(struct sdp *sdp, unsigned m, uint16_t port);
/* Set the transport protocol of media m ("RTP/AVP" when the relay
   terminates SRTP, "RTP/SAVP" when it adds it). proto must be one token;
   RTP-ness may not change (formats stay valid). */
int sdp_media_proto_set(struct sdp *sdp, unsigned m, const char *proto);
/* Set a=rtcp of media m to port, with an address when af is not NONE;
   the attribute is appended if media m has none. */
int sdp_rtcp_set(struct sdp *sdp, unsigned m, uint16_t port, enum sdp_af af,
		 const char *addr);
/* Remove every attribute of that level with the given id / name; returns
   how many were removed. */
unsigned sdp_attr_remove(struct sdp *sdp, int m, enum sdp_attr_id id);
unsigned sdp_attr_remove_name(struct sdp *sdp, int m, const char *name);
/* Remove the ICE attributes of that level (ice-ufrag, ice-pwd,
   ice-options, ice-lite, ice-mismatch, candidate, remote-candidates,
   end-of-candidates). Returns how many. */
unsigned sdp_ice_remove(struct sdp *sdp, int m);
/* Append "a=<name>[:<value>]" at the end of that level (value NULL for a
   property attribute). name and value must not hold CR, LF or NUL. */
int sdp_attr_add(struct sdp *sdp, int m, const char *name, const char *value);
/* Set the direction of that level: the first direction attribute there
   is rewritten, others removed; one is appended if there is none.
   SDP_DIR_NONE removes them all. */
int sdp_dir_set(struct sdp *sdp, int m, enum sdp_dir dir);
/*
 * Codec filter for media m (RTP profile): keep the PTs of pts[0..n) that
 * are on the m= line, in the order of pts; drop the others with their
 * a=rtpmap, a=fmtp and a=rtcp-fb lines. EINVAL if media m is not RTP,
 * ENOENT (nothing changed) if no PT would remain.
 */
int sdp_media_formats_keep(struct sdp *sdp, unsigned m, const uint8_t *pts,
			   unsigned n);
/* o= session version: set it, or add one (RFC 3264 §8: a changed offer
   must carry the previous version + 1). EOVERFLOW at 2^64 - 1. */
int sdp_version_set(struct sdp *sdp, uint64_t version);
int sdp_version_bump(struct sdp *sdp);
/* o= username, session id and version replaced (a B2BUA's own origin
   per leg, RFC 3264 §5: one session id and increasing versions toward a
   peer whatever the other leg does); the address stays. user must be
   one non-empty token without whitespace. */
int sdp_origin_set(struct sdp *sdp, const char *user, uint64_t sess_id,
		   uint64_t version);
/* o= address (topology hiding); addr a literal of af. */
int sdp_origin_addr_set(struct sdp *sdp, enum sdp_af af, const char *addr);

/* Address text checks used by the parser (exposed for callers that build
   addresses): dotted-quad IPv4, RFC 4291 §2.2 IPv6 text. */
bool sdp_is_ip4(const struct pl *pl);
bool sdp_is_ip6(const struct pl *pl);

#endif
