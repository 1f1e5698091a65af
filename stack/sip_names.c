/* SIP method and header-field names: RFC 3261 §7.1, §7.3.3 (compact
   forms), §20, and the extension RFCs named in sip_msg.h. */
#include <string.h>

#include "sip_msg.h"

static const char *const method_names[SIP_M_COUNT] = {
	[SIP_M_OTHER] = NULL,	       [SIP_M_INVITE] = "INVITE",
	[SIP_M_ACK] = "ACK",	       [SIP_M_BYE] = "BYE",
	[SIP_M_CANCEL] = "CANCEL",     [SIP_M_OPTIONS] = "OPTIONS",
	[SIP_M_REGISTER] = "REGISTER", [SIP_M_PRACK] = "PRACK",
	[SIP_M_UPDATE] = "UPDATE",     [SIP_M_INFO] = "INFO",
	[SIP_M_MESSAGE] = "MESSAGE",   [SIP_M_REFER] = "REFER",
	[SIP_M_NOTIFY] = "NOTIFY",     [SIP_M_SUBSCRIBE] = "SUBSCRIBE",
	[SIP_M_PUBLISH] = "PUBLISH",
};

/* Method names compare case-sensitively (§7.1: "INVITE" is not
   "invite"; RFC 4475 §3.1.1.5 RE%47IST%45R is not REGISTER). */
enum sip_method
sip_method_id(const struct pl *method)
{
	int i;

	if (!method || !method->p || method->l < 3 || method->l > 9)
		return SIP_M_OTHER;
	for (i = 1; i < SIP_M_COUNT; i++) {
		const char *n = method_names[i];

		if (n[0] == method->p[0] && strlen(n) == method->l &&
		    memcmp(n, method->p, method->l) == 0)
			return (enum sip_method)i;
	}
	return SIP_M_OTHER;
}

const char *
sip_method_name(enum sip_method m)
{
	if ((unsigned)m >= SIP_M_COUNT || m == SIP_M_OTHER)
		return "OTHER";
	return method_names[m];
}

/* Case-insensitive compare of n bytes against a lower-case literal; only
   ASCII letters fold (so "Call\rID" never matches "call-id"). */
static bool
name_eq(const char *p, const char *lower, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		char c = p[i], l = lower[i];

		if (c != l && !(l >= 'a' && l <= 'z' && (c | 0x20) == l))
			return false;
	}
	return true;
}

/*
 * Header name to id: switch on the length, then on the first letter, then
 * one or two exact compares; no table walk. Long and compact forms
 * (§7.3.3; RFC 3515 r, RFC 3892 b, RFC 6665 o, RFC 4028 x), any case.
 */
enum sip_hdr_id
sip_hdr_id_of(const struct pl *name)
{
	const char *p;
	size_t n;

	if (!name || !name->p)
		return SIP_HDR_OTHER;
	p = name->p;
	n = name->l;
	switch (n) {
	case 1:
		switch (p[0] | 0x20) {
		case 'b':
			return SIP_HDR_REFERRED_BY;
		case 'c':
			return SIP_HDR_CONTENT_TYPE;
		case 'e':
			return SIP_HDR_CONTENT_ENCODING;
		case 'f':
			return SIP_HDR_FROM;
		case 'i':
			return SIP_HDR_CALL_ID;
		case 'k':
			return SIP_HDR_SUPPORTED;
		case 'l':
			return SIP_HDR_CONTENT_LENGTH;
		case 'm':
			return SIP_HDR_CONTACT;
		case 'o':
			return SIP_HDR_EVENT;
		case 'r':
			return SIP_HDR_REFER_TO;
		case 's':
			return SIP_HDR_SUBJECT;
		case 't':
			return SIP_HDR_TO;
		case 'v':
			return SIP_HDR_VIA;
		case 'x':
			return SIP_HDR_SESSION_EXPIRES;
		default:
			return SIP_HDR_OTHER;
		}
	case 2:
		switch (p[0] | 0x20) {
		case 't':
			if (name_eq(p, "to", 2))
				return SIP_HDR_TO;
			break;
		}
		break;
	case 3:
		switch (p[0] | 0x20) {
		case 'v':
			if (name_eq(p, "via", 3))
				return SIP_HDR_VIA;
			break;
		}
		break;
	case 4:
		switch (p[0] | 0x20) {
		case 'c':
			if (name_eq(p, "cseq", 4))
				return SIP_HDR_CSEQ;
			break;
		case 'd':
			if (name_eq(p, "date", 4))
				return SIP_HDR_DATE;
			break;
		case 'f':
			if (name_eq(p, "from", 4))
				return SIP_HDR_FROM;
			break;
		case 'r':
			if (name_eq(p, "rseq", 4))
				return SIP_HDR_RSEQ;
			if (name_eq(p, "rack", 4))
				return SIP_HDR_RACK;
			break;
		}
		break;
	case 5:
		switch (p[0] | 0x20) {
		case 'a':
			if (name_eq(p, "allow", 5))
				return SIP_HDR_ALLOW;
			break;
		case 'e':
			if (name_eq(p, "event", 5))
				return SIP_HDR_EVENT;
			break;
		case 'r':
			if (name_eq(p, "route", 5))
				return SIP_HDR_ROUTE;
			break;
		}
		break;
	case 6:
		switch (p[0] | 0x20) {
		case 'a':
			if (name_eq(p, "accept", 6))
				return SIP_HDR_ACCEPT;
			break;
		case 'm':
			if (name_eq(p, "min-se", 6))
				return SIP_HDR_MIN_SE;
			break;
		case 'r':
			if (name_eq(p, "reason", 6))
				return SIP_HDR_REASON;
			break;
		case 's':
			if (name_eq(p, "server", 6))
				return SIP_HDR_SERVER;
			break;
		}
		break;
	case 7:
		switch (p[0] | 0x20) {
		case 'c':
			if (name_eq(p, "call-id", 7))
				return SIP_HDR_CALL_ID;
			if (name_eq(p, "contact", 7))
				return SIP_HDR_CONTACT;
			break;
		case 'e':
			if (name_eq(p, "expires", 7))
				return SIP_HDR_EXPIRES;
			break;
		case 'p':
			if (name_eq(p, "privacy", 7))
				return SIP_HDR_PRIVACY;
			break;
		case 'r':
			if (name_eq(p, "require", 7))
				return SIP_HDR_REQUIRE;
			break;
		case 's':
			if (name_eq(p, "subject", 7))
				return SIP_HDR_SUBJECT;
			break;
		case 'w':
			if (name_eq(p, "warning", 7))
				return SIP_HDR_WARNING;
			break;
		}
		break;
	case 8:
		switch (p[0] | 0x20) {
		case 'r':
			if (name_eq(p, "refer-to", 8))
				return SIP_HDR_REFER_TO;
			if (name_eq(p, "replaces", 8))
				return SIP_HDR_REPLACES;
			break;
		}
		break;
	case 9:
		switch (p[0] | 0x20) {
		case 's':
			if (name_eq(p, "supported", 9))
				return SIP_HDR_SUPPORTED;
			break;
		case 't':
			if (name_eq(p, "timestamp", 9))
				return SIP_HDR_TIMESTAMP;
			break;
		}
		break;
	case 10:
		switch (p[0] | 0x20) {
		case 's':
			if (name_eq(p, "session-id", 10))
				return SIP_HDR_SESSION_ID;
			break;
		case 'u':
			if (name_eq(p, "user-agent", 10))
				return SIP_HDR_USER_AGENT;
			break;
		}
		break;
	case 11:
		switch (p[0] | 0x20) {
		case 'm':
			if (name_eq(p, "min-expires", 11))
				return SIP_HDR_MIN_EXPIRES;
			break;
		case 'r':
			if (name_eq(p, "referred-by", 11))
				return SIP_HDR_REFERRED_BY;
			if (name_eq(p, "retry-after", 11))
				return SIP_HDR_RETRY_AFTER;
			break;
		case 'u':
			if (name_eq(p, "unsupported", 11))
				return SIP_HDR_UNSUPPORTED;
			break;
		}
		break;
	case 12:
		switch (p[0] | 0x20) {
		case 'c':
			if (name_eq(p, "content-type", 12))
				return SIP_HDR_CONTENT_TYPE;
			break;
		case 'm':
			if (name_eq(p, "max-forwards", 12))
				return SIP_HDR_MAX_FORWARDS;
			break;
		case 'r':
			if (name_eq(p, "record-route", 12))
				return SIP_HDR_RECORD_ROUTE;
			break;
		}
		break;
	case 13:
		switch (p[0] | 0x20) {
		case 'a':
			if (name_eq(p, "authorization", 13))
				return SIP_HDR_AUTHORIZATION;
			break;
		case 'p':
			if (name_eq(p, "proxy-require", 13))
				return SIP_HDR_PROXY_REQUIRE;
			break;
		}
		break;
	case 14:
		switch (p[0] | 0x20) {
		case 'c':
			if (name_eq(p, "content-length", 14))
				return SIP_HDR_CONTENT_LENGTH;
			break;
		}
		break;
	case 15:
		switch (p[0] | 0x20) {
		case 's':
			if (name_eq(p, "session-expires", 15))
				return SIP_HDR_SESSION_EXPIRES;
			break;
		}
		break;
	case 16:
		switch (p[0] | 0x20) {
		case 'c':
			if (name_eq(p, "content-encoding", 16))
				return SIP_HDR_CONTENT_ENCODING;
			break;
		case 'w':
			if (name_eq(p, "www-authenticate", 16))
				return SIP_HDR_WWW_AUTHENTICATE;
			break;
		}
		break;
	case 18:
		switch (p[0] | 0x20) {
		case 'p':
			if (name_eq(p, "proxy-authenticate", 18))
				return SIP_HDR_PROXY_AUTHENTICATE;
			break;
		case 's':
			if (name_eq(p, "subscription-state", 18))
				return SIP_HDR_SUBSCRIPTION_STATE;
			break;
		}
		break;
	case 19:
		switch (p[0] | 0x20) {
		case 'a':
			if (name_eq(p, "authentication-info", 19))
				return SIP_HDR_AUTHENTICATION_INFO;
			break;
		case 'c':
			if (name_eq(p, "content-disposition", 19))
				return SIP_HDR_CONTENT_DISPOSITION;
			break;
		case 'p':
			if (name_eq(p, "proxy-authorization", 19))
				return SIP_HDR_PROXY_AUTHORIZATION;
			if (name_eq(p, "p-asserted-identity", 19))
				return SIP_HDR_P_ASSERTED_IDENTITY;
			break;
		}
		break;
	case 20:
		switch (p[0] | 0x20) {
		case 'p':
			if (name_eq(p, "p-preferred-identity", 20))
				return SIP_HDR_P_PREFERRED_IDENTITY;
			break;
		}
		break;
	}
	return SIP_HDR_OTHER;
}

static const char *const hdr_names[SIP_HDR_COUNT] = {
	[SIP_HDR_OTHER] = "header",
	[SIP_HDR_VIA] = "Via",
	[SIP_HDR_FROM] = "From",
	[SIP_HDR_TO] = "To",
	[SIP_HDR_CALL_ID] = "Call-ID",
	[SIP_HDR_CSEQ] = "CSeq",
	[SIP_HDR_MAX_FORWARDS] = "Max-Forwards",
	[SIP_HDR_CONTACT] = "Contact",
	[SIP_HDR_ROUTE] = "Route",
	[SIP_HDR_RECORD_ROUTE] = "Record-Route",
	[SIP_HDR_CONTENT_LENGTH] = "Content-Length",
	[SIP_HDR_CONTENT_TYPE] = "Content-Type",
	[SIP_HDR_CONTENT_ENCODING] = "Content-Encoding",
	[SIP_HDR_CONTENT_DISPOSITION] = "Content-Disposition",
	[SIP_HDR_EXPIRES] = "Expires",
	[SIP_HDR_MIN_EXPIRES] = "Min-Expires",
	[SIP_HDR_REQUIRE] = "Require",
	[SIP_HDR_SUPPORTED] = "Supported",
	[SIP_HDR_PROXY_REQUIRE] = "Proxy-Require",
	[SIP_HDR_UNSUPPORTED] = "Unsupported",
	[SIP_HDR_ALLOW] = "Allow",
	[SIP_HDR_ACCEPT] = "Accept",
	[SIP_HDR_WWW_AUTHENTICATE] = "WWW-Authenticate",
	[SIP_HDR_PROXY_AUTHENTICATE] = "Proxy-Authenticate",
	[SIP_HDR_AUTHORIZATION] = "Authorization",
	[SIP_HDR_PROXY_AUTHORIZATION] = "Proxy-Authorization",
	[SIP_HDR_AUTHENTICATION_INFO] = "Authentication-Info",
	[SIP_HDR_RSEQ] = "RSeq",
	[SIP_HDR_RACK] = "RAck",
	[SIP_HDR_SESSION_EXPIRES] = "Session-Expires",
	[SIP_HDR_MIN_SE] = "Min-SE",
	[SIP_HDR_P_ASSERTED_IDENTITY] = "P-Asserted-Identity",
	[SIP_HDR_P_PREFERRED_IDENTITY] = "P-Preferred-Identity",
	[SIP_HDR_PRIVACY] = "Privacy",
	[SIP_HDR_REFER_TO] = "Refer-To",
	[SIP_HDR_REFERRED_BY] = "Referred-By",
	[SIP_HDR_REPLACES] = "Replaces",
	[SIP_HDR_REASON] = "Reason",
	[SIP_HDR_EVENT] = "Event",
	[SIP_HDR_SUBSCRIPTION_STATE] = "Subscription-State",
	[SIP_HDR_RETRY_AFTER] = "Retry-After",
	[SIP_HDR_DATE] = "Date",
	[SIP_HDR_TIMESTAMP] = "Timestamp",
	[SIP_HDR_USER_AGENT] = "User-Agent",
	[SIP_HDR_SERVER] = "Server",
	[SIP_HDR_SUBJECT] = "Subject",
	[SIP_HDR_WARNING] = "Warning",
	[SIP_HDR_SESSION_ID] = "Session-ID",
};

const char *
sip_hdr_name(enum sip_hdr_id id)
{
	if ((unsigned)id >= SIP_HDR_COUNT)
		return "header";
	return hdr_names[id];
}
