/* UA core message pieces: random tags and branches (RFC 3261 §8.1.1.7,
   §19.3), our Via, Contact and Allow, the app's extra header lines, and
   numeric next-hop location (§8.1.2 with RFC 3263 §4 for IP literals). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/rand.h>

#include "sip_write.h"
#include "tp.h"
#include "ua_int.h"

/* Methods we implement (§8.2.1 Allow). */
#define UA_ALLOW                                                               \
	"INVITE, ACK, BYE, CANCEL, OPTIONS, UPDATE, INFO, MESSAGE, REFER, "    \
	"NOTIFY"

char *
ua_strdup(const char *s)
{
	return s ? strdup(s) : NULL;
}

int
ua_memdup(char **dst, const char *src, size_t len)
{
	char *p = malloc(len + 1);

	if (!p)
		return ENOMEM;
	memcpy(p, src, len);
	p[len] = '\0';
	free(*dst);
	*dst = p;
	return 0;
}

/* ndigits lower-case hex digits of OpenSSL randomness, NUL-terminated
   (buf holds ndigits + 1). §19.3: tags need 32 random bits at least; we
   use 64 (UA_TAG_LEN). Returns 0 or EIO. */
int
ua_rand_hex(char *buf, size_t ndigits)
{
	static const char hex[] = "0123456789abcdef";
	unsigned char r[32];
	size_t i, n = (ndigits + 1) / 2;

	if (n > sizeof(r) || RAND_bytes(r, (int)n) != 1)
		return EIO;
	for (i = 0; i < ndigits; i++)
		buf[i] = hex[(r[i / 2] >> (i % 2 ? 0 : 4)) & 0xf];
	buf[ndigits] = '\0';
	return 0;
}

/*
 * Our Via with a fresh branch: §8.1.1.7, the branch MUST be unique
 * across space and time and start with the magic cookie "z9hG4bK";
 * rport asks for RFC 3581 symmetric responses. via points into buf.
 */
int
ua_via(struct ua *ua, enum tp_proto proto, char *buf, size_t size,
       struct pl *via)
{
	char branch[UA_BRANCH_LEN + 1] = "z9hG4bK";
	struct pl tr = {tp_proto_name(proto), strlen(tp_proto_name(proto))};
	struct pl host = {ua->host, strlen(ua->host)};
	struct pl br = {branch, UA_BRANCH_LEN};
	size_t len;
	int err;

	err = ua_rand_hex(branch + 7, UA_BRANCH_LEN - 7);
	if (!err)
		err = sip_via_print(buf, size, &len, &tr, &host, ua->conf.port,
				    &br, true);
	if (!err)
		*via = (struct pl){buf, len};
	return err;
}

static const char *
proto_param(enum tp_proto proto)
{
	return proto == TP_TCP	 ? ";transport=tcp"
	       : proto == TP_TLS ? ";transport=tls"
				 : "";
}

/* Contact (§8.1.1.8: a SIP URI where we can be reached, on the transport
   of this request), and Allow + Supported. */
void
ua_put_common(struct ua *ua, struct sip_wbuf *wb, enum tp_proto proto,
	      bool contact, bool allow)
{
	bool v6 = strchr(ua->host, ':') != NULL;

	if (contact)
		sip_wb_hdrf(wb, SIP_HDR_CONTACT, "<sip:%s@%s%s%s:%u%s>",
			    ua->user, v6 ? "[" : "", ua->host, v6 ? "]" : "",
			    ua->conf.port, proto_param(proto));
	if (allow) {
		sip_wb_hdrf(wb, SIP_HDR_ALLOW, "%s", UA_ALLOW);
		if (ua->supported && *ua->supported)
			sip_wb_hdrf(wb, SIP_HDR_SUPPORTED, "%s", ua->supported);
	}
}

/*
 * The app's extra header lines "Name: value" CRLF ...: each is checked
 * by the writer (a token name, no bare CR/LF in the value). Returns 0 or
 * EINVAL / the writer's error.
 */
int
ua_put_hdrs(struct sip_wbuf *wb, const char *hdrs)
{
	const char *p = hdrs, *eol, *colon;

	while (p && *p) {
		struct pl name, val;

		eol = strstr(p, "\r\n");
		if (!eol)
			return EINVAL;
		colon = memchr(p, ':', (size_t)(eol - p));
		if (!colon)
			return EINVAL;
		name = (struct pl){p, (size_t)(colon - p)};
		val = (struct pl){colon + 1, (size_t)(eol - colon - 1)};
		pl_trim(&name);
		pl_trim(&val);
		if (sip_wb_hdr_named(wb, &name, &val))
			return wb->err;
		p = eol + 2;
	}
	return 0;
}

int
ua_end_body(struct sip_wbuf *wb, const char *ctype, const char *body,
	    size_t body_len, size_t *len)
{
	struct pl b = {body, body ? body_len : 0};

	if (body && body_len)
		sip_wb_hdrf(wb, SIP_HDR_CONTENT_TYPE, "%s",
			    ctype ? ctype : "application/sdp");
	return sip_wb_end(wb, &b, len);
}

/*
 * Where a request for uri goes when uri's host is an IP literal: its
 * port (default 5060, 5061 for sips), its transport parameter (sips and
 * transport=tls: TLS). Host names need RFC 3263 resolution (dns.h),
 * which the UA core does not do yet: EHOSTUNREACH. Returns 0, EBADMSG
 * (not a SIP URI), EPROTONOSUPPORT, EHOSTUNREACH.
 */
int
ua_locate(const struct pl *uri, struct txn_dest *dst)
{
	struct sip_uri u;
	const char *why;
	char host[64];
	enum tp_proto proto = TP_UDP;
	uint16_t port;

	if (sip_uri_decode(&u, uri, &why) ||
	    (u.scheme != SIP_URI_SIP && u.scheme != SIP_URI_SIPS))
		return EBADMSG;
	if (u.maddr.p) /* §19.1.1: maddr overrides the host */
		u.host = u.maddr;
	if (u.host.l >= sizeof(host))
		return EHOSTUNREACH;
	pl_strcpy(&u.host, host, sizeof(host));
	if (u.scheme == SIP_URI_SIPS || pl_caseeq_str(&u.transport, "tls"))
		proto = TP_TLS;
	else if (pl_caseeq_str(&u.transport, "tcp"))
		proto = TP_TCP;
	else if (u.transport.p && !pl_caseeq_str(&u.transport, "udp"))
		return EPROTONOSUPPORT;
	port = u.port ? u.port : proto == TP_TLS ? 5061 : 5060;
	memset(dst, 0, sizeof(*dst));
	if (tp_addr_set(&dst->addr, &dst->len, host, port))
		return EHOSTUNREACH;
	dst->proto = (int)proto;
	dst->reliable = proto != TP_UDP;
	return 0;
}
