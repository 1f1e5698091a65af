/* SIP method and header-field names: RFC 3261 §7.1, §7.3.3 (compact
   forms), §20, and the extension RFCs named in sip_msg.h. */
#include <string.h>

#include "sip_int.h"
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

static const uint8_t method_len[SIP_M_COUNT] = {
	[SIP_M_INVITE] = 6,    [SIP_M_ACK] = 3,	    [SIP_M_BYE] = 3,
	[SIP_M_CANCEL] = 6,    [SIP_M_OPTIONS] = 7, [SIP_M_REGISTER] = 8,
	[SIP_M_PRACK] = 5,     [SIP_M_UPDATE] = 6,  [SIP_M_INFO] = 4,
	[SIP_M_MESSAGE] = 7,   [SIP_M_REFER] = 5,   [SIP_M_NOTIFY] = 6,
	[SIP_M_SUBSCRIBE] = 9, [SIP_M_PUBLISH] = 7,
};

/* n bytes (3..9) of p equal the literal lit, exactly: word loads, no
   call (a memcmp call costs more than these few bytes). */
static inline bool
name_eq(const char *p, const char *lit, size_t n)
{
	if (n >= 8)
		return sip_ld64(p) == sip_ld64(lit) &&
		       (n == 8 || p[8] == lit[8]);
	if (n >= 4)
		return sip_ld32(p) == sip_ld32(lit) &&
		       sip_ld32(p + n - 4) == sip_ld32(lit + n - 4);
	return sip_ld16(p) == sip_ld16(lit) && p[2] == lit[2];
}

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

		/* first byte and length first: at most one compare */
		if (n[0] == method->p[0] && method_len[i] == method->l &&
		    name_eq(method->p, n, method->l))
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

/* Lower-case long names, for the one compare after the hash lookup. */
static const struct {
	const char *s;
	uint8_t n;
} hdr_lnames[SIP_HDR_COUNT] = {
	[SIP_HDR_OTHER] = {"", 0},
	[SIP_HDR_VIA] = {"via", 3},
	[SIP_HDR_FROM] = {"from", 4},
	[SIP_HDR_TO] = {"to", 2},
	[SIP_HDR_CALL_ID] = {"call-id", 7},
	[SIP_HDR_CSEQ] = {"cseq", 4},
	[SIP_HDR_MAX_FORWARDS] = {"max-forwards", 12},
	[SIP_HDR_CONTACT] = {"contact", 7},
	[SIP_HDR_ROUTE] = {"route", 5},
	[SIP_HDR_RECORD_ROUTE] = {"record-route", 12},
	[SIP_HDR_CONTENT_LENGTH] = {"content-length", 14},
	[SIP_HDR_CONTENT_TYPE] = {"content-type", 12},
	[SIP_HDR_CONTENT_ENCODING] = {"content-encoding", 16},
	[SIP_HDR_CONTENT_DISPOSITION] = {"content-disposition", 19},
	[SIP_HDR_EXPIRES] = {"expires", 7},
	[SIP_HDR_MIN_EXPIRES] = {"min-expires", 11},
	[SIP_HDR_REQUIRE] = {"require", 7},
	[SIP_HDR_SUPPORTED] = {"supported", 9},
	[SIP_HDR_PROXY_REQUIRE] = {"proxy-require", 13},
	[SIP_HDR_UNSUPPORTED] = {"unsupported", 11},
	[SIP_HDR_ALLOW] = {"allow", 5},
	[SIP_HDR_ACCEPT] = {"accept", 6},
	[SIP_HDR_WWW_AUTHENTICATE] = {"www-authenticate", 16},
	[SIP_HDR_PROXY_AUTHENTICATE] = {"proxy-authenticate", 18},
	[SIP_HDR_AUTHORIZATION] = {"authorization", 13},
	[SIP_HDR_PROXY_AUTHORIZATION] = {"proxy-authorization", 19},
	[SIP_HDR_AUTHENTICATION_INFO] = {"authentication-info", 19},
	[SIP_HDR_RSEQ] = {"rseq", 4},
	[SIP_HDR_RACK] = {"rack", 4},
	[SIP_HDR_SESSION_EXPIRES] = {"session-expires", 15},
	[SIP_HDR_MIN_SE] = {"min-se", 6},
	[SIP_HDR_P_ASSERTED_IDENTITY] = {"p-asserted-identity", 19},
	[SIP_HDR_P_PREFERRED_IDENTITY] = {"p-preferred-identity", 20},
	[SIP_HDR_PRIVACY] = {"privacy", 7},
	[SIP_HDR_REFER_TO] = {"refer-to", 8},
	[SIP_HDR_REFERRED_BY] = {"referred-by", 11},
	[SIP_HDR_REPLACES] = {"replaces", 8},
	[SIP_HDR_REASON] = {"reason", 6},
	[SIP_HDR_EVENT] = {"event", 5},
	[SIP_HDR_SUBSCRIPTION_STATE] = {"subscription-state", 18},
	[SIP_HDR_RETRY_AFTER] = {"retry-after", 11},
	[SIP_HDR_DATE] = {"date", 4},
	[SIP_HDR_TIMESTAMP] = {"timestamp", 9},
	[SIP_HDR_USER_AGENT] = {"user-agent", 10},
	[SIP_HDR_SERVER] = {"server", 6},
	[SIP_HDR_SUBJECT] = {"subject", 7},
	[SIP_HDR_WARNING] = {"warning", 7},
	[SIP_HDR_SESSION_ID] = {"session-id", 10},
};

/* Compact forms (§7.3.3; RFC 3515 r, RFC 3892 b, RFC 6665 o, RFC 4028 x)
   by letter. */
static const uint8_t hdr_compact[26] = {
	['b' - 'a'] = SIP_HDR_REFERRED_BY,
	['c' - 'a'] = SIP_HDR_CONTENT_TYPE,
	['e' - 'a'] = SIP_HDR_CONTENT_ENCODING,
	['f' - 'a'] = SIP_HDR_FROM,
	['i' - 'a'] = SIP_HDR_CALL_ID,
	['k' - 'a'] = SIP_HDR_SUPPORTED,
	['l' - 'a'] = SIP_HDR_CONTENT_LENGTH,
	['m' - 'a'] = SIP_HDR_CONTACT,
	['o' - 'a'] = SIP_HDR_EVENT,
	['r' - 'a'] = SIP_HDR_REFER_TO,
	['s' - 'a'] = SIP_HDR_SUBJECT,
	['t' - 'a'] = SIP_HDR_TO,
	['v' - 'a'] = SIP_HDR_VIA,
	['x' - 'a'] = SIP_HDR_SESSION_EXPIRES,
};

/* HDR_HASH(length, first byte, last byte) over lower-cased bytes: no two
   long names collide (checked by the name round trip in test_msg.c;
   rebuild hdr_hash[] if a name is added). */
#define HDR_HASH(n, f, l)                                                      \
	((3 * ((size_t)(n) + (uint8_t)((l) | 0x20)) +                          \
	  35 * (size_t)(uint8_t)((f) | 0x20)) &                                \
	 127)

static const uint8_t hdr_hash[128] = {
	[0] = SIP_HDR_SUPPORTED,
	[3] = SIP_HDR_SESSION_ID,
	[7] = SIP_HDR_REPLACES,
	[12] = SIP_HDR_CONTENT_DISPOSITION,
	[13] = SIP_HDR_RETRY_AFTER,
	[15] = SIP_HDR_WARNING,
	[30] = SIP_HDR_SUBSCRIPTION_STATE,
	[33] = SIP_HDR_SERVER,
	[34] = SIP_HDR_REFERRED_BY,
	[36] = SIP_HDR_WWW_AUTHENTICATE,
	[38] = SIP_HDR_PROXY_REQUIRE,
	[40] = SIP_HDR_MIN_SE,
	[42] = SIP_HDR_SUBJECT,
	[47] = SIP_HDR_TO,
	[49] = SIP_HDR_ACCEPT,
	[52] = SIP_HDR_AUTHORIZATION,
	[53] = SIP_HDR_PROXY_AUTHENTICATE,
	[55] = SIP_HDR_ALLOW,
	[58] = SIP_HDR_EVENT,
	[61] = SIP_HDR_EXPIRES,
	[63] = SIP_HDR_SESSION_EXPIRES,
	[69] = SIP_HDR_FROM,
	[71] = SIP_HDR_TIMESTAMP,
	[73] = SIP_HDR_AUTHENTICATION_INFO,
	[74] = SIP_HDR_CALL_ID,
	[76] = SIP_HDR_UNSUPPORTED,
	[78] = SIP_HDR_VIA,
	[80] = SIP_HDR_PRIVACY,
	[83] = SIP_HDR_PROXY_AUTHORIZATION,
	[84] = SIP_HDR_ROUTE,
	[90] = SIP_HDR_REQUIRE,
	[92] = SIP_HDR_CONTENT_TYPE,
	[97] = SIP_HDR_MIN_EXPIRES,
	[99] = SIP_HDR_RACK,
	[100] = SIP_HDR_MAX_FORWARDS,
	[103] = SIP_HDR_DATE,
	[104] = SIP_HDR_CSEQ,
	[105] = SIP_HDR_RECORD_ROUTE,
	[107] = SIP_HDR_CONTENT_LENGTH,
	[110] = SIP_HDR_CONTENT_ENCODING,
	[114] = SIP_HDR_REASON,
	[116] = SIP_HDR_P_ASSERTED_IDENTITY,
	[117] = SIP_HDR_RSEQ,
	[119] = SIP_HDR_P_PREFERRED_IDENTITY,
	[121] = SIP_HDR_USER_AGENT,
	[122] = SIP_HDR_CONTACT,
	[123] = SIP_HDR_REFER_TO,
};

/*
 * Header name to id: one table lookup on (length, first, last byte)
 * folded to lower case, then one word-wise case-insensitive compare with
 * the candidate's lower-case name. Long and compact forms, any case.
 */
enum sip_hdr_id
sip_hdr_id_of(const struct pl *name)
{
	if (!name || !name->p || name->l == 0)
		return SIP_HDR_OTHER;
	return sip_hdr_id_raw(name->p, name->l);
}

enum sip_hdr_id
sip_hdr_id_raw(const char *p, size_t n)
{
	unsigned c, id;

	if (n == 1) {
		/* only 'X' and 'x' fold to 'x' */
		c = ((unsigned char)p[0] | 0x20) - 'a';
		return c < 26 ? (enum sip_hdr_id)hdr_compact[c] : SIP_HDR_OTHER;
	}
	id = hdr_hash[HDR_HASH(n, p[0], p[n - 1])];
	if (id != SIP_HDR_OTHER && hdr_lnames[id].n == n &&
	    sip_lit_caseeq(p, hdr_lnames[id].s, n))
		return (enum sip_hdr_id)id;
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
