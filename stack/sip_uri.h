/* SIP, SIPS and tel URIs: RFC 3261 §19.1 and §25.1, RFC 3966. */
#ifndef TANDEM_SIP_URI_H
#define TANDEM_SIP_URI_H

#include "pl.h"

enum sip_uri_scheme {
	SIP_URI_SIP,   /* sip: */
	SIP_URI_SIPS,  /* sips: */
	SIP_URI_TEL,   /* tel: (RFC 3966) */
	SIP_URI_OTHER, /* any other absoluteURI: kept opaque in ->opaque */
};

enum sip_host_type {
	SIP_HOST_NONE, /* tel: and opaque URIs */
	SIP_HOST_NAME, /* hostname (case-insensitive) */
	SIP_HOST_IPV4, /* dotted quad */
	SIP_HOST_IPV6, /* IPv6reference; ->host excludes the brackets */
};

/*
 * A decoded URI. Every slice points into the text given to sip_uri_decode()
 * (borrowed: valid while that text lives) and is kept as on the wire, still
 * %-escaped; use sip_uri_unescape() where the unescaped value is needed.
 */
struct sip_uri {
	enum sip_uri_scheme scheme;
	struct pl scheme_pl; /* the scheme as written, without ':' */
	struct pl user;      /* userinfo user (sip/sips), absent if no '@';
				may hold ';' (RFC 4475 semiuri) */
	struct pl password;  /* after ':' in userinfo, absent if none */
	struct pl host;      /* host; IPv6 without [] */
	enum sip_host_type host_type;
	uint16_t port;       /* 0 when absent */
	bool port_set;
	struct pl params;    /* all uri-parameters, raw, starting at the first
				';' (empty if none); tel: its parameters */
	struct pl headers;   /* raw text after '?', without it; absent if none */
	/* Well-known uri-parameters picked out of ->params (absent if none). */
	struct pl transport, user_param, method, ttl, maddr;
	bool lr;
	/* tel: the telephone-subscriber number without parameters
	   (absent for other schemes). */
	struct pl number;
	/* SIP_URI_OTHER: everything after "scheme:" (absent otherwise). */
	struct pl opaque;
	struct pl raw; /* the whole URI text */
};

/*
 * Decode one URI from pl (no surrounding LWS or <>). Returns 0, or EBADMSG
 * with *why set to a static phrase naming what is wrong (e.g. "bad port").
 * Unknown schemes are accepted as SIP_URI_OTHER when they match
 * absoluteURI (RFC 3261 §25.1); a missing or empty host in sip/sips is an
 * error. IPv6 hosts must be bracketed (RFC 5118 §4.2). Never allocates.
 */
int sip_uri_decode(struct sip_uri *uri, const struct pl *pl, const char **why);

/*
 * Find a uri-parameter by name (case-insensitive) in ->params. Returns true
 * when present; *val is its value (empty slice when the parameter has no
 * '='). val may be NULL.
 */
bool sip_uri_param(const struct sip_uri *uri, const char *name,
		   struct pl *val);

/*
 * URI equivalence exactly per RFC 3261 §19.1.4 (sip/sips), RFC 3966 §4
 * (tel): scheme, userinfo case-sensitive after unescaping, host
 * case-insensitive, parameters present in both must match, user/ttl/method/
 * maddr/transport must appear in both or neither, headers compared as
 * unordered sets. Returns true when equivalent.
 */
bool sip_uri_eq(const struct sip_uri *a, const struct sip_uri *b);

/*
 * Unescape %HH sequences of src into dst (§19.1.2). A NUL produced by %00
 * is kept (the length says where the value ends). Returns 0, EINVAL on a
 * malformed escape, ENOSPC if dstsz is too small. *outlen gets the length.
 */
int sip_uri_unescape(char *dst, size_t dstsz, const struct pl *src,
		     size_t *outlen);

#endif
