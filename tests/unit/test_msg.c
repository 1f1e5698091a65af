/* Unit tests: SIP message parser core (stack/sip_msg.c, sip_check.c,
   sip_mpart.c, sip_names.c). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "stack/sess_timer.h"
#include "stack/sip_msg.h"
#include "stack/sip_write.h"
#include "testutil.h"

#define PL_EQ(pl, s) CU_ASSERT(pl_eq_str(&(pl), (s)))

static struct sip_msg M;
static struct sip_perr E;

#define HDRS_REQ                                                               \
	"Via: SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bK776asdhds\r\n"          \
	"Max-Forwards: 70\r\n"                                                 \
	"To: Bob <sip:bob@example.com>\r\n"                                    \
	"From: Alice <sip:alice@example.com>;tag=1928301774\r\n"               \
	"Call-ID: a84b4c76e66710@pc33.example.com\r\n"

static int
parse_n(const char *s, size_t n, enum sip_framing fr)
{
	struct sip_limits lim;

	sip_limits_default(&lim);
	memset(&E, 0, sizeof(E));
	return sip_msg_parse(&M, s, n, fr, &lim, &E);
}

static int
parse(const char *s)
{
	return parse_n(s, strlen(s), SIP_FRAMING_DGRAM);
}

/* parse then check */
static int
full(const char *s)
{
	int rc = parse(s);

	return rc ? rc : sip_msg_check(&M, &E);
}

static int
err_is(enum sip_hdr_id hdr, unsigned status)
{
	return E.what != NULL && E.hdr == hdr && E.status == status;
}

static void
test_request_line(void)
{
	const char *s =
		"INVITE sip:bob@example.com;transport=tcp SIP/2.0\r\n" HDRS_REQ
		"CSeq: 314159 INVITE\r\n"
		"Content-Length: 4\r\n\r\nbody";

	CU_ASSERT_EQUAL_FATAL(parse(s), 0);
	CU_ASSERT(M.req);
	CU_ASSERT_EQUAL(M.mid, SIP_M_INVITE);
	PL_EQ(M.method, "INVITE");
	PL_EQ(M.ruri_raw, "sip:bob@example.com;transport=tcp");
	PL_EQ(M.ruri.host, "example.com");
	PL_EQ(M.version, "SIP/2.0");
	CU_ASSERT_EQUAL(M.max_forwards, 70);
	CU_ASSERT_EQUAL(M.cseq.num, 314159);
	CU_ASSERT_EQUAL(M.cseq.mid, SIP_M_INVITE);
	PL_EQ(M.callid, "a84b4c76e66710@pc33.example.com");
	PL_EQ(M.from.tag, "1928301774");
	CU_ASSERT(!pl_isset(&M.to.tag));
	PL_EQ(M.via.branch, "z9hG4bK776asdhds");
	CU_ASSERT_EQUAL(M.via.port, 5060);
	CU_ASSERT(M.clen_set);
	CU_ASSERT_EQUAL(M.clen, 4);
	PL_EQ(M.body, "body");
	CU_ASSERT_EQUAL(M.len, strlen(s));
	CU_ASSERT_EQUAL(M.nhdrs, 7);
	CU_ASSERT_EQUAL(sip_msg_check(&M, &E), 0);

	/* SIP-Version is case-insensitive (§7.1) */
	CU_ASSERT_EQUAL(parse("OPTIONS sip:a@b sip/2.0\r\n" HDRS_REQ
			      "CSeq: 1 OPTIONS\r\n\r\n"),
			0);
	/* an unknown method is fine; case matters for known ones */
	CU_ASSERT_EQUAL(parse("invite sip:a@b SIP/2.0\r\n" HDRS_REQ
			      "CSeq: 1 invite\r\n\r\n"),
			0);
	CU_ASSERT_EQUAL(M.mid, SIP_M_OTHER);
	/* unknown URI scheme: SIP_URI_OTHER (§25.1 absoluteURI) */
	CU_ASSERT_EQUAL(parse("OPTIONS urn:x:y SIP/2.0\r\n" HDRS_REQ
			      "CSeq: 1 OPTIONS\r\n\r\n"),
			0);
	CU_ASSERT_EQUAL(M.ruri.scheme, SIP_URI_OTHER);
}

static void
test_request_line_bad(void)
{
	static const struct {
		const char *line;
		unsigned status;
		const char *what;
	} t[] = {
		{"INVITE  sip:a@b SIP/2.0", 400, "extra whitespace"},
		{"INVITE sip:a@b  SIP/2.0", 400, "extra whitespace"},
		{"INVITE sip:a@b SIP/2.0 ", 400, "trailing whitespace"},
		{"INVITE <sip:a@b> SIP/2.0", 400,
		 "Request-URI must not be in <>"},
		{"INVITE sip:a@b; lr SIP/2.0", 400,
		 "whitespace inside Request-URI"},
		{"INVITE sip:a@b", 400, "missing SIP-Version"},
		{"INVITE SIP/2.0", 400, "missing SIP-Version"},
		{"INVITE sip:a@b SIP/2", 400, "bad SIP-Version"},
		{"INVITE sip:a@b SIP/2.0x", 400, "bad SIP-Version"},
		{"INVITE sip:a@b SIP/7.0", 505, "unsupported SIP-Version"},
		{"INVITE sip:a@b SIP/2.1", 505, "unsupported SIP-Version"},
		{"INV\tITE sip:a@b SIP/2.0", 400, "bad Method"},
		{" INVITE sip:a@b SIP/2.0", 400, "bad Method"},
		{"IN@VITE sip:a@b SIP/2.0", 400, "bad Method"},
	};
	char buf[512];
	size_t i;

	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		snprintf(buf, sizeof(buf),
			 "%s\r\n" HDRS_REQ "CSeq: 1 INVITE\r\n\r\n", t[i].line);
		CU_ASSERT_EQUAL(parse(buf), EBADMSG);
		CU_ASSERT_EQUAL(E.status, t[i].status);
		CU_ASSERT(E.hdr == SIP_HDR_OTHER && E.hdr_name.l == 0);
		CU_ASSERT_PTR_NOT_NULL_FATAL(E.what);
		if (strcmp(E.what, t[i].what) != 0)
			fprintf(stderr, "  '%s': got '%s'\n", t[i].line,
				E.what);
		CU_ASSERT_STRING_EQUAL(E.what, t[i].what);
	}
	/* a bad Request-URI is the URI decoder's verdict */
	CU_ASSERT_EQUAL(parse("INVITE sip:a@b:99999 SIP/2.0\r\n" HDRS_REQ
			      "CSeq: 1 INVITE\r\n\r\n"),
			EBADMSG);
	CU_ASSERT(E.status == 400 && E.what != NULL);
	CU_ASSERT_EQUAL(parse("\r\n"), EBADMSG);
	CU_ASSERT_PTR_NOT_NULL(E.what);
	CU_ASSERT_EQUAL(parse_n("x", 0, SIP_FRAMING_DGRAM), EBADMSG);
	CU_ASSERT_PTR_NOT_NULL(E.what);
}

#define HDRS_RESP                                                              \
	"Via: SIP/2.0/UDP 192.0.2.1;branch=z9hG4bK776asdhds\r\n"               \
	"To: <sip:bob@example.com>;tag=a6c85cf\r\n"                            \
	"From: <sip:alice@example.com>;tag=1928301774\r\n"                     \
	"Call-ID: a84b4c76e66710\r\n"                                          \
	"CSeq: 1 INVITE\r\n"

static void
test_status_line(void)
{
	static const char *bad[] = {
		"SIP/2.0 4294967301 Big", "SIP/2.0 20 OK",
		"SIP/2.0 2000 OK",	  "SIP/2.0 099 Low",
		"SIP/2.0 700 High",	  "SIP/3.0 200 OK",
		"SIP/2.0  200 OK",	  "SIP/2.0",
		"SIP/2.0 200 O\x01K",
	};
	char buf[512];
	size_t i;

	CU_ASSERT_EQUAL_FATAL(parse("SIP/2.0 180 Ringing\r\n" HDRS_RESP
				    "Content-Length: 0\r\n\r\n"),
			      0);
	CU_ASSERT(!M.req);
	CU_ASSERT_EQUAL(M.status, 180);
	PL_EQ(M.reason, "Ringing");
	PL_EQ(M.to.tag, "a6c85cf");
	CU_ASSERT_EQUAL(M.max_forwards, -1);
	CU_ASSERT_EQUAL(sip_msg_check(&M, &E), 0);
	/* empty Reason-Phrase with and without its SP (RFC 4475 §3.1.1.13) */
	CU_ASSERT_EQUAL(parse("SIP/2.0 100 \r\n" HDRS_RESP "\r\n"), 0);
	CU_ASSERT_EQUAL(M.status, 100);
	CU_ASSERT(M.reason.l == 0 && M.reason.p != NULL);
	CU_ASSERT_EQUAL(parse("SIP/2.0 100\r\n" HDRS_RESP "\r\n"), 0);
	CU_ASSERT_EQUAL(M.reason.l, 0);
	/* UTF-8 and tabs in the reason phrase */
	CU_ASSERT_EQUAL(parse("SIP/2.0 200 \xc3\xa9t\xc3\xa9\tok \r\n" HDRS_RESP
			      "\r\n"),
			0);
	PL_EQ(M.reason, "\xc3\xa9t\xc3\xa9\tok ");
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(buf, sizeof(buf), "%s\r\n" HDRS_RESP "\r\n", bad[i]);
		CU_ASSERT_EQUAL(parse(buf), EBADMSG);
		/* responses are dropped, never answered */
		CU_ASSERT_EQUAL(E.status, 0);
		CU_ASSERT_PTR_NOT_NULL(E.what);
		CU_ASSERT(E.hdr == SIP_HDR_OTHER && E.hdr_name.l == 0);
	}
}

static void
test_folding(void)
{
	const char *s =
		"OPTIONS sip:a@b SIP/2.0\r\n"
		"Via: SIP/2.0\r\n /UDP\r\n\t192.0.2.1\r\n ;branch=z9hG4bKx\r\n"
		"Max-Forwards: 70\r\n"
		"To:\r\n <sip:bob@example.com>\r\n"
		"From: <sip:alice@example.com>\r\n ;tag=88\r\n"
		"Call-ID: abc\r\n"
		"CSeq: 7\r\n  OPTIONS\r\n"
		"Subject: one\r\n two  \r\n"
		"X-Empty:\r\n"
		"\r\n";
	const struct sip_hdr *h;

	CU_ASSERT_EQUAL_FATAL(parse(s), 0);
	CU_ASSERT_EQUAL(M.nhdrs, 8);
	PL_EQ(M.via.transport, "UDP");
	PL_EQ(M.via.host, "192.0.2.1");
	PL_EQ(M.via.branch, "z9hG4bKx");
	PL_EQ(M.to.uri.user, "bob");
	PL_EQ(M.from.tag, "88");
	CU_ASSERT_EQUAL(M.cseq.num, 7);
	h = sip_msg_hdr(&M, SIP_HDR_SUBJECT);
	CU_ASSERT_PTR_NOT_NULL_FATAL(h);
	/* zero copy: the fold stays in the value, trailing LWS is cut */
	PL_EQ(h->val, "one\r\n two");
	PL_EQ(h->line, "Subject: one\r\n two  ");
	h = sip_msg_hdr_name(&M, "x-empty");
	CU_ASSERT_PTR_NOT_NULL_FATAL(h);
	CU_ASSERT_EQUAL(h->val.l, 0);
	CU_ASSERT_EQUAL(sip_msg_check(&M, &E), 0);
}

static void
test_compact_forms(void)
{
	static const struct {
		const char *n;
		enum sip_hdr_id id;
	} t[] = {
		{"i", SIP_HDR_CALL_ID},
		{"m", SIP_HDR_CONTACT},
		{"e", SIP_HDR_CONTENT_ENCODING},
		{"l", SIP_HDR_CONTENT_LENGTH},
		{"c", SIP_HDR_CONTENT_TYPE},
		{"f", SIP_HDR_FROM},
		{"s", SIP_HDR_SUBJECT},
		{"k", SIP_HDR_SUPPORTED},
		{"t", SIP_HDR_TO},
		{"v", SIP_HDR_VIA},
		{"R", SIP_HDR_REFER_TO},
		{"B", SIP_HDR_REFERRED_BY},
		{"o", SIP_HDR_EVENT},
		{"X", SIP_HDR_SESSION_EXPIRES},
		{"u", SIP_HDR_OTHER},
		{"call-id", SIP_HDR_CALL_ID},
		{"CALL-ID", SIP_HDR_CALL_ID},
		{"WWW-Authenticate", SIP_HDR_WWW_AUTHENTICATE},
		{"p-asserted-identity", SIP_HDR_P_ASSERTED_IDENTITY},
		{"Min-SE", SIP_HDR_MIN_SE},
		{"RAck", SIP_HDR_RACK},
		{"Session-ID", SIP_HDR_SESSION_ID},
		{"Call-IDs", SIP_HDR_OTHER},
		{"Cal-ID", SIP_HDR_OTHER},
		{"C%6Fntact", SIP_HDR_OTHER},
		{"", SIP_HDR_OTHER},
	};
	const char *s = "MESSAGE sip:a@b SIP/2.0\r\n"
			"v: SIP/2.0/TCP h.example.com;branch=z9hG4bKq\r\n"
			"t: sip:b@example.com\r\n"
			"F: sip:a@example.com;tag=1\r\n"
			"i: xyz@h\r\n"
			"CSeq: 2 MESSAGE\r\n"
			"c: text/plain\r\n"
			"k: 100rel\r\n"
			"L: 2\r\n\r\nhi";
	static const struct {
		const char *n;
		enum sip_hdr_id id;
	} odd[] = {
		{"CONTENT-LENGTH", SIP_HDR_CONTENT_LENGTH},
		{"p-asserted-IDENTITY", SIP_HDR_P_ASSERTED_IDENTITY},
		{"Call\rID", SIP_HDR_OTHER},
		{"Call-I", SIP_HDR_OTHER},
		{"Call-IDs", SIP_HDR_OTHER},
		{"Cseq\x80", SIP_HDR_OTHER},
		{"C\x80"
		 "eq",
		 SIP_HDR_OTHER},
		{"Rseq", SIP_HDR_RSEQ},
		{"Rack", SIP_HDR_RACK},
		{"Raqk", SIP_HDR_OTHER},
		{"Via_", SIP_HDR_OTHER},
		{"V", SIP_HDR_VIA},
		{"@", SIP_HDR_OTHER},
		{"[", SIP_HDR_OTHER},
		{"a", SIP_HDR_OTHER},
		{"x-custom-header-with-a-long-name", SIP_HDR_OTHER},
	};
	size_t i;
	int id;

	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		struct pl n = {t[i].n, strlen(t[i].n)};

		CU_ASSERT_EQUAL(sip_hdr_id_of(&n), t[i].id);
	}
	/* every long name maps back to its id */
	for (id = 1; id < SIP_HDR_COUNT; id++) {
		struct pl n = {sip_hdr_name(id), strlen(sip_hdr_name(id))};

		CU_ASSERT_EQUAL((int)sip_hdr_id_of(&n), id);
	}
	/* the hash lookup: any case, exact length, letters only fold */
	for (i = 0; i < sizeof(odd) / sizeof(odd[0]); i++) {
		struct pl n = {odd[i].n, strlen(odd[i].n)};

		CU_ASSERT_EQUAL(sip_hdr_id_of(&n), odd[i].id);
	}
	CU_ASSERT_EQUAL_FATAL(parse(s), 0);
	PL_EQ(M.callid, "xyz@h");
	PL_EQ(M.via.transport, "TCP");
	PL_EQ(M.ctype.type, "text");
	PL_EQ(M.body, "hi");
	CU_ASSERT_EQUAL(M.count[SIP_HDR_SUPPORTED], 1);
	CU_ASSERT_PTR_NOT_NULL(sip_msg_hdr_name(&M, "Supported"));
	CU_ASSERT_EQUAL(sip_msg_check(&M, &E), 0);
}

static void
test_unknown_headers(void)
{
	const char *s =
		"OPTIONS sip:a@b SIP/2.0\r\n" HDRS_REQ "CSeq: 1 OPTIONS\r\n"
		"X-Weird_Name.1 \t: ;;,,\"\t\r\n"
		"x-weird_name.1:second\r\n"
		"\r\n";
	const struct sip_hdr *h;

	CU_ASSERT_EQUAL_FATAL(parse(s), 0);
	h = sip_msg_hdr_name(&M, "x-WEIRD_name.1");
	CU_ASSERT_PTR_NOT_NULL_FATAL(h);
	CU_ASSERT_EQUAL(h->id, SIP_HDR_OTHER);
	PL_EQ(h->name, "X-Weird_Name.1");
	PL_EQ(h->val, ";;,,\"");
	PL_EQ(h->line, "X-Weird_Name.1 \t: ;;,,\"\t");
	h = sip_msg_hdr_next(&M, h);
	CU_ASSERT_PTR_NOT_NULL_FATAL(h);
	PL_EQ(h->val, "second");
	CU_ASSERT_PTR_NULL(sip_msg_hdr_next(&M, h));
	CU_ASSERT_PTR_NULL(sip_msg_hdr_name(&M, "X-Absent"));
	CU_ASSERT_EQUAL(M.count[SIP_HDR_OTHER], 2);
	/* unknown values are opaque to sip_msg_check */
	CU_ASSERT_EQUAL(sip_msg_check(&M, &E), 0);
}

static void
test_lists(void)
{
	struct pl rest, e;
	struct sip_hdr_iter it;
	int n;
	const char *s = "REGISTER sip:example.com SIP/2.0\r\n" HDRS_REQ
			"CSeq: 1 REGISTER\r\n"
			"Contact: \"Doe, John\" <sip:j,k@h>;q=0.5 ,"
			" <sip:k@h>\r\n"
			"Contact: \"a\\\",b\" <sip:l@h>\r\n"
			"Supported:\r\n"
			"Date: Sat, 13 Nov 2010 23:29:00 GMT\r\n"
			"\r\n";

	rest = (struct pl)PL("a, \"b,\\\"c\" , <d,e>;x ,f");
	CU_ASSERT_EQUAL(sip_list_next(&rest, &e), 0);
	PL_EQ(e, "a");
	CU_ASSERT_EQUAL(sip_list_next(&rest, &e), 0);
	PL_EQ(e, "\"b,\\\"c\"");
	CU_ASSERT_EQUAL(sip_list_next(&rest, &e), 0);
	PL_EQ(e, "<d,e>;x");
	CU_ASSERT_EQUAL(sip_list_next(&rest, &e), 0);
	PL_EQ(e, "f");
	CU_ASSERT_EQUAL(sip_list_next(&rest, &e), ENOENT);

	rest = (struct pl)PL("a,,b");
	CU_ASSERT_EQUAL(sip_list_next(&rest, &e), 0);
	CU_ASSERT_EQUAL(sip_list_next(&rest, &e), EBADMSG);
	rest = (struct pl)PL("a, ");
	CU_ASSERT_EQUAL(sip_list_next(&rest, &e), EBADMSG);
	rest = (struct pl)PL(" ,a");
	CU_ASSERT_EQUAL(sip_list_next(&rest, &e), EBADMSG);
	rest = (struct pl)PL("\"a,b");
	CU_ASSERT_EQUAL(sip_list_next(&rest, &e), EBADMSG);
	rest = (struct pl)PL("<a,b");
	CU_ASSERT_EQUAL(sip_list_next(&rest, &e), EBADMSG);
	rest = (struct pl)PL(" \r\n ");
	CU_ASSERT_EQUAL(sip_list_next(&rest, &e), ENOENT);

	CU_ASSERT_EQUAL_FATAL(parse(s), 0);
	sip_hdr_iter_init(&it, &M, SIP_HDR_CONTACT);
	CU_ASSERT_EQUAL(sip_hdr_iter_next(&it, &e), 0);
	PL_EQ(e, "\"Doe, John\" <sip:j,k@h>;q=0.5");
	CU_ASSERT_EQUAL(sip_hdr_iter_next(&it, &e), 0);
	PL_EQ(e, "<sip:k@h>");
	CU_ASSERT_EQUAL(sip_hdr_iter_next(&it, &e), 0);
	PL_EQ(e, "\"a\\\",b\" <sip:l@h>");
	CU_ASSERT_EQUAL(sip_hdr_iter_next(&it, &e), ENOENT);
	CU_ASSERT_EQUAL(sip_hdr_iter_next(&it, &e), ENOENT);
	/* an empty Supported has no values; Date is not a list */
	sip_hdr_iter_init(&it, &M, SIP_HDR_SUPPORTED);
	CU_ASSERT_EQUAL(sip_hdr_iter_next(&it, &e), ENOENT);
	sip_hdr_iter_init(&it, &M, SIP_HDR_DATE);
	CU_ASSERT_EQUAL(sip_hdr_iter_next(&it, &e), 0);
	PL_EQ(e, "Sat, 13 Nov 2010 23:29:00 GMT");
	sip_hdr_iter_init(&it, &M, SIP_HDR_ROUTE);
	CU_ASSERT_EQUAL(sip_hdr_iter_next(&it, &e), ENOENT);
	CU_ASSERT_EQUAL(sip_msg_check(&M, &E), 0);

	/* RFC 4475 badinv01: empty elements */
	CU_ASSERT_EQUAL(
		parse("OPTIONS sip:a@b SIP/2.0\r\n" HDRS_REQ
		      "CSeq: 1 OPTIONS\r\nContact: <sip:a@b>,,\r\n\r\n"),
		0);
	sip_hdr_iter_init(&it, &M, SIP_HDR_CONTACT);
	n = 0;
	while (sip_hdr_iter_next(&it, &e) == 0)
		n++;
	CU_ASSERT_EQUAL(n, 1);
	sip_hdr_iter_init(&it, &M, SIP_HDR_CONTACT);
	CU_ASSERT_EQUAL(sip_hdr_iter_next(&it, &e), 0);
	CU_ASSERT_EQUAL(sip_hdr_iter_next(&it, &e), EBADMSG);
	CU_ASSERT_EQUAL(sip_msg_check(&M, &E), EBADMSG);
	CU_ASSERT(err_is(SIP_HDR_CONTACT, 400));
}

static void
test_limits(void)
{
	static char big[70000];
	struct sip_limits lim;
	char buf[4096];
	size_t n, i;

	/* too many header lines */
	n = (size_t)snprintf(buf, sizeof(buf),
			     "OPTIONS sip:a@b SIP/2.0\r\n" HDRS_REQ
			     "CSeq: 1 OPTIONS\r\n");
	for (i = 0; i < 4; i++)
		n += (size_t)snprintf(buf + n, sizeof(buf) - n, "X-%zu: y\r\n",
				      i);
	n += (size_t)snprintf(buf + n, sizeof(buf) - n, "\r\n");
	sip_limits_default(&lim);
	lim.max_hdrs = 10;
	CU_ASSERT_EQUAL(sip_msg_parse(&M, buf, n, SIP_FRAMING_DGRAM, &lim, &E),
			0);
	CU_ASSERT_EQUAL(M.nhdrs, 10);
	lim.max_hdrs = 9;
	CU_ASSERT_EQUAL(sip_msg_parse(&M, buf, n, SIP_FRAMING_DGRAM, &lim, &E),
			EBADMSG);
	CU_ASSERT_EQUAL(E.status, 413);
	CU_ASSERT_STRING_EQUAL(E.what, "Too many header lines");
	/* header line too long */
	sip_limits_default(&lim);
	lim.max_line = 30;
	CU_ASSERT_EQUAL(sip_msg_parse(&M, buf, n, SIP_FRAMING_DGRAM, &lim, &E),
			EBADMSG);
	CU_ASSERT_EQUAL(E.status, 413);
	CU_ASSERT_STRING_EQUAL(E.what, "Header line too long");
	/* whole message too large: header section and body */
	sip_limits_default(&lim);
	lim.max_msg = n - 1;
	CU_ASSERT_EQUAL(sip_msg_parse(&M, buf, n, SIP_FRAMING_DGRAM, &lim, &E),
			EBADMSG);
	CU_ASSERT_EQUAL(E.status, 413);
	CU_ASSERT_STRING_EQUAL(E.what, "Message too large");
	n = (size_t)snprintf(big, sizeof(big),
			     "OPTIONS sip:a@b SIP/2.0\r\n" HDRS_REQ
			     "CSeq: 1 OPTIONS\r\n\r\n");
	memset(big + n, 'x', sizeof(big) - n);
	CU_ASSERT_EQUAL(parse_n(big, sizeof(big), SIP_FRAMING_DGRAM), EBADMSG);
	CU_ASSERT_EQUAL(E.status, 413);
	/* more than SIP_MSG_HDR_CAP lines even with a larger limit */
	n = (size_t)snprintf(big, sizeof(big),
			     "OPTIONS sip:a@b SIP/2.0\r\n" HDRS_REQ
			     "CSeq: 1 OPTIONS\r\n");
	for (i = 0; i < SIP_MSG_HDR_CAP; i++)
		n += (size_t)snprintf(big + n, sizeof(big) - n, "X: %zu\r\n",
				      i);
	n += (size_t)snprintf(big + n, sizeof(big) - n, "\r\n");
	sip_limits_default(&lim);
	lim.max_hdrs = 1000;
	CU_ASSERT_EQUAL(sip_msg_parse(&M, big, n, SIP_FRAMING_DGRAM, &lim, &E),
			EBADMSG);
	CU_ASSERT_STRING_EQUAL(E.what, "Too many header lines");
}

static void
test_framing_dgram(void)
{
	const char *s;

	/* trailing bytes after Content-Length are not part of it (§18.3) */
	s = "OPTIONS sip:a@b SIP/2.0\r\n" HDRS_REQ "CSeq: 1 OPTIONS\r\n"
	    "Content-Length: 3\r\n\r\nabcJUNK";
	CU_ASSERT_EQUAL_FATAL(parse(s), 0);
	PL_EQ(M.body, "abc");
	CU_ASSERT_EQUAL(M.len, strlen(s) - 4);
	/* Content-Length larger than the rest: 400 (RFC 4475 §3.1.2.2) */
	s = "OPTIONS sip:a@b SIP/2.0\r\n" HDRS_REQ "CSeq: 1 OPTIONS\r\n"
	    "Content-Length: 9\r\n\r\nabc";
	CU_ASSERT_EQUAL(parse(s), EBADMSG);
	CU_ASSERT(err_is(SIP_HDR_CONTENT_LENGTH, 400));
	/* absent: the body is the rest of the datagram */
	s = "OPTIONS sip:a@b SIP/2.0\r\n" HDRS_REQ "CSeq: 1 OPTIONS\r\n"
	    "\r\nabc\r\n";
	CU_ASSERT_EQUAL_FATAL(parse(s), 0);
	CU_ASSERT(!M.clen_set);
	PL_EQ(M.body, "abc\r\n");
	/* negative, signed, garbage, conflicting */
	s = "OPTIONS sip:a@b SIP/2.0\r\n" HDRS_REQ "CSeq: 1 OPTIONS\r\n"
	    "l: -3\r\n\r\nabc";
	CU_ASSERT_EQUAL(parse(s), EBADMSG);
	CU_ASSERT(err_is(SIP_HDR_CONTENT_LENGTH, 400));
	CU_ASSERT_STRING_EQUAL(E.what, "negative value");
	s = "OPTIONS sip:a@b SIP/2.0\r\n" HDRS_REQ "CSeq: 1 OPTIONS\r\n"
	    "l: +3\r\n\r\nabc";
	CU_ASSERT_EQUAL(parse(s), EBADMSG);
	CU_ASSERT(err_is(SIP_HDR_CONTENT_LENGTH, 400));
	s = "OPTIONS sip:a@b SIP/2.0\r\n" HDRS_REQ "CSeq: 1 OPTIONS\r\n"
	    "l: 99999999999\r\n\r\nabc";
	CU_ASSERT_EQUAL(parse(s), EBADMSG);
	CU_ASSERT(err_is(SIP_HDR_CONTENT_LENGTH, 400));
	s = "OPTIONS sip:a@b SIP/2.0\r\n" HDRS_REQ "CSeq: 1 OPTIONS\r\n"
	    "Content-Length: 3\r\nl: 2\r\n\r\nabc";
	CU_ASSERT_EQUAL(parse(s), EBADMSG);
	CU_ASSERT(err_is(SIP_HDR_CONTENT_LENGTH, 400));
	CU_ASSERT_STRING_EQUAL(E.what, "conflicting values");
	/* the same value twice is harmless */
	s = "OPTIONS sip:a@b SIP/2.0\r\n" HDRS_REQ "CSeq: 1 OPTIONS\r\n"
	    "Content-Length: 3\r\nl: 003\r\n\r\nabc";
	CU_ASSERT_EQUAL(parse(s), 0);
	CU_ASSERT_EQUAL(M.clen, 3);
	/* no empty line ending the headers (RFC 4475 baddn.dat) */
	s = "OPTIONS sip:a@b SIP/2.0\r\n" HDRS_REQ "CSeq: 1 OPTIONS\r\n"
	    "l: 0\r\n";
	CU_ASSERT_EQUAL(parse(s), EBADMSG);
	CU_ASSERT(err_is(SIP_HDR_OTHER, 400) && E.hdr_name.l == 0);
	CU_ASSERT_STRING_EQUAL(E.what, "Unterminated header section");
	s = "OPTIONS sip:a@b SIP/2.0\r\n" HDRS_REQ "CSeq: 1 OPTIONS";
	CU_ASSERT_EQUAL(parse(s), EBADMSG);
	CU_ASSERT_STRING_EQUAL(E.what, "Unterminated header section");
	/* a response without Content-Length in a stream: dropped */
	s = "SIP/2.0 200 OK\r\n" HDRS_RESP "\r\n";
	CU_ASSERT_EQUAL(parse_n(s, strlen(s), SIP_FRAMING_STREAM), EBADMSG);
	CU_ASSERT(err_is(SIP_HDR_CONTENT_LENGTH, 0));
}

static void
test_bare_lf(void)
{
	const char *s = "OPTIONS sip:a@b SIP/2.0\n"
			"Via: SIP/2.0/UDP h;branch=z9hG4bK1\n"
			"To: <sip:b@h>\n"
			"From: <sip:a@h>;tag=1\n"
			"Call-ID: x\n"
			"CSeq: 1\n OPTIONS\n"
			"Content-Length: 2\n\nok";

	CU_ASSERT_EQUAL_FATAL(parse(s), 0);
	CU_ASSERT_EQUAL(M.nhdrs, 6);
	PL_EQ(M.callid, "x");
	PL_EQ(M.body, "ok");
	CU_ASSERT_EQUAL(M.cseq.num, 1);
	CU_ASSERT_EQUAL(sip_msg_check(&M, &E), 0);
}

/* Resumable framing: a message fed one byte at a time frames at exactly
   its last byte, as one-shot framing does, for CRLF and bare-LF header
   terminators; once the header section is complete the state knows the
   total, and a second message on the same state frames again. */
static void
test_frame_resumable(void)
{
	static const char *msgs[] = {
		"OPTIONS sip:a@b SIP/2.0\r\n" HDRS_REQ "CSeq: 1 OPTIONS\r\n"
		"Content-Length: 4\r\n\r\nabcd",
		"OPTIONS sip:a@b SIP/2.0\n" HDRS_REQ "CSeq: 1 OPTIONS\n"
		"l: 3\n\nxyz",
		"OPTIONS sip:a@b SIP/2.0\r\n" HDRS_REQ "CSeq: 1 OPTIONS\r\n"
		"Content-Length: 0\r\n\r\n",
	};
	struct sip_limits lim;
	size_t m, i, skip, mlen;

	sip_limits_default(&lim);
	for (m = 0; m < sizeof(msgs) / sizeof(msgs[0]); m++) {
		size_t len = strlen(msgs[m]), hlen;
		struct sip_frame st = {0, 0};
		int rc = EAGAIN;

		hlen = (size_t)(strstr(msgs[m], "\n\r\n")
					? strstr(msgs[m], "\n\r\n") + 3 -
						  msgs[m]
					: strstr(msgs[m], "\n\n") + 2 -
						  msgs[m]);
		for (i = 1; i <= len && rc == EAGAIN; i++) {
			rc = sip_msg_frame_r(msgs[m], i, &lim, &st, &skip,
					     &mlen, &E);
			if (rc == EAGAIN && i >= hlen)
				CU_ASSERT_EQUAL(st.need, len);
			if (rc == EAGAIN && i < hlen)
				CU_ASSERT(st.need == 0 && st.hscan <= i);
		}
		CU_ASSERT_EQUAL(rc, 0);
		CU_ASSERT_EQUAL(i - 1, len); /* framed at the last byte */
		CU_ASSERT(skip == 0 && mlen == len);
		CU_ASSERT(st.need == 0 && st.hscan == 0); /* reset */
		/* the same state frames the next message in one go */
		CU_ASSERT_EQUAL(sip_msg_frame_r(msgs[m], len, &lim, &st, &skip,
						&mlen, &E),
				0);
		CU_ASSERT_EQUAL(mlen, len);
	}
}

static void
test_frame_stream(void)
{
	static const char m1[] =
		"OPTIONS sip:a@b SIP/2.0\r\n" HDRS_REQ "CSeq: 1 OPTIONS\r\n"
		"Content-Length:\r\n 4\r\n\r\nabcd";
	char buf[1024];
	size_t skip, mlen, n, i;
	struct sip_limits lim;

	sip_limits_default(&lim);
	n = (size_t)snprintf(buf, sizeof(buf), "\r\n\r\n%s%s", m1, m1);
	CU_ASSERT_EQUAL_FATAL(sip_msg_frame(buf, n, &lim, &skip, &mlen, &E), 0);
	CU_ASSERT_EQUAL(skip, 4);
	CU_ASSERT_EQUAL(mlen, sizeof(m1) - 1);
	CU_ASSERT_EQUAL(sip_msg_parse(&M, buf + skip, mlen, SIP_FRAMING_STREAM,
				      &lim, &E),
			0);
	PL_EQ(M.body, "abcd");
	/* the second message follows */
	CU_ASSERT_EQUAL(sip_msg_frame(buf + skip + mlen, n - skip - mlen, &lim,
				      &skip, &mlen, &E),
			0);
	CU_ASSERT(skip == 0 && mlen == sizeof(m1) - 1);
	/* every strict prefix needs more bytes */
	for (i = 0; i < sizeof(m1) - 1; i++)
		if (sip_msg_frame(m1, i, &lim, &skip, &mlen, &E) != EAGAIN)
			break;
	CU_ASSERT_EQUAL(i, sizeof(m1) - 1);
	/* only keep-alives */
	CU_ASSERT_EQUAL(sip_msg_frame("\r\n\r\n", 4, &lim, &skip, &mlen, &E),
			EAGAIN);
	CU_ASSERT_EQUAL(skip, 4);
	/* Content-Length missing, negative, conflicting (§18.3) */
	n = (size_t)snprintf(buf, sizeof(buf),
			     "OPTIONS sip:a@b SIP/2.0\r\n" HDRS_REQ
			     "CSeq: 1 OPTIONS\r\n\r\n");
	CU_ASSERT_EQUAL(sip_msg_frame(buf, n, &lim, &skip, &mlen, &E), EBADMSG);
	CU_ASSERT(err_is(SIP_HDR_CONTENT_LENGTH, 400));
	n = (size_t)snprintf(buf, sizeof(buf),
			     "OPTIONS sip:a@b SIP/2.0\r\nl: -1\r\n\r\n");
	CU_ASSERT_EQUAL(sip_msg_frame(buf, n, &lim, &skip, &mlen, &E), EBADMSG);
	CU_ASSERT(err_is(SIP_HDR_CONTENT_LENGTH, 400));
	n = (size_t)snprintf(buf, sizeof(buf),
			     "OPTIONS sip:a@b SIP/2.0\r\nl: 1\r\n"
			     "Content-Length: 2\r\n\r\nab");
	CU_ASSERT_EQUAL(sip_msg_frame(buf, n, &lim, &skip, &mlen, &E), EBADMSG);
	/* over the size limit: header section or body */
	lim.max_msg = 40;
	n = (size_t)snprintf(buf, sizeof(buf),
			     "OPTIONS sip:a@b SIP/2.0\r\nl: 100\r\n\r\n");
	CU_ASSERT_EQUAL(sip_msg_frame(buf, n, &lim, &skip, &mlen, &E), EBADMSG);
	CU_ASSERT_EQUAL(E.status, 413);
	memset(buf, 'a', 100);
	CU_ASSERT_EQUAL(sip_msg_frame(buf, 100, &lim, &skip, &mlen, &E),
			EBADMSG);
	CU_ASSERT_EQUAL(E.status, 413);
}

static void
test_mandatory(void)
{
	static const struct {
		const char *omit;
		enum sip_hdr_id id;
		const char *phrase;
	} t[] = {
		{"Via", SIP_HDR_VIA, "Missing Via"},
		{"From", SIP_HDR_FROM, "Missing From"},
		{"To", SIP_HDR_TO, "Missing To"},
		{"Call-ID", SIP_HDR_CALL_ID, "Missing Call-ID"},
		{"CSeq", SIP_HDR_CSEQ, "Missing CSeq"},
	};
	static const char *lines[] = {"Via: SIP/2.0/UDP h;branch=z9hG4bK1\r\n",
				      "From: <sip:a@h>;tag=1\r\n",
				      "To: <sip:b@h>\r\n", "Call-ID: x\r\n",
				      "CSeq: 1 BYE\r\n"};
	char req[1024], resp[1024], phrase[128];
	size_t i, j, n, r;

	for (i = 0; i < 5; i++) {
		n = (size_t)snprintf(req, sizeof(req),
				     "BYE sip:a@b SIP/2.0\r\n");
		r = (size_t)snprintf(resp, sizeof(resp), "SIP/2.0 200 OK\r\n");
		for (j = 0; j < 5; j++) {
			if (j == i)
				continue;
			n += (size_t)snprintf(req + n, sizeof(req) - n, "%s",
					      lines[j]);
			r += (size_t)snprintf(resp + r, sizeof(resp) - r, "%s",
					      lines[j]);
		}
		snprintf(req + n, sizeof(req) - n, "\r\n");
		snprintf(resp + r, sizeof(resp) - r, "\r\n");
		CU_ASSERT_EQUAL(parse(req), EBADMSG);
		CU_ASSERT(err_is(t[i].id, 400));
		CU_ASSERT_STRING_EQUAL(
			sip_perr_phrase(&E, phrase, sizeof(phrase)),
			t[i].phrase);
		CU_ASSERT_EQUAL(parse(resp), EBADMSG);
		CU_ASSERT(err_is(t[i].id, 0));
	}
}

static void
test_core_errors(void)
{
	static const struct {
		const char *hdrs;
		enum sip_hdr_id id;
	} t[] = {
		/* RFC 4475 §3.3.8: single-valued headers, twice */
		{"Call-ID: y\r\n", SIP_HDR_CALL_ID},
		{"CSeq: 2 INVITE\r\n", SIP_HDR_CSEQ},
		{"Max-Forwards: 5\r\n", SIP_HDR_MAX_FORWARDS},
		{"t: <sip:c@d>\r\n", SIP_HDR_TO},
		{"f: <sip:c@d>;tag=3\r\n", SIP_HDR_FROM},
	};
	static const struct {
		const char *line;
		enum sip_hdr_id id;
		const char *what;
	} bad[] = {
		{"Max-Forwards: 256", SIP_HDR_MAX_FORWARDS, NULL},
		{"Max-Forwards: -1", SIP_HDR_MAX_FORWARDS, NULL},
		{"Via: SIP/2.0/UDP", SIP_HDR_VIA, "missing sent-by host"},
		{"Via: SIP/2.0/UDP h;;branch=z9hG4bK1", SIP_HDR_VIA,
		 "empty parameter"},
		{"Via: ,SIP/2.0/UDP h", SIP_HDR_VIA, NULL},
		{"Content-Type: text", SIP_HDR_CONTENT_TYPE, NULL},
		{"Call-ID: a b", SIP_HDR_CALL_ID, NULL},
		{"Call-ID: @b", SIP_HDR_CALL_ID, NULL},
		{"CSeq: 2147483648 INVITE", SIP_HDR_CSEQ,
		 "number not below 2^31"},
		{"CSeq: 1 BYE", SIP_HDR_CSEQ,
		 "method does not match the Request-Line"},
		{"From: *", SIP_HDR_FROM, "'*' not allowed"},
		{"Foobar roobar", SIP_HDR_OTHER, "missing colon"},
		{" leading: ws", SIP_HDR_OTHER, "Bad header name"},
		{": novalue", SIP_HDR_OTHER, "Bad header name"},
		{"Content-Length 5", SIP_HDR_CONTENT_LENGTH, "missing colon"},
	};
	char buf[1024], phrase[128];
	size_t i;

	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		snprintf(buf, sizeof(buf),
			 "INVITE sip:a@b SIP/2.0\r\n" HDRS_REQ
			 "CSeq: 1 INVITE\r\n%s\r\n",
			 t[i].hdrs);
		CU_ASSERT_EQUAL(parse(buf), EBADMSG);
		CU_ASSERT(err_is(t[i].id, 400));
	}
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		/* the template leaves out the header under test */
		snprintf(buf, sizeof(buf),
			 "INVITE sip:a@b SIP/2.0\r\n%s\r\n"
			 "Via: SIP/2.0/UDP h;branch=z9hG4bK1\r\n"
			 "To: <sip:b@h>\r\n%s%s%s\r\n",
			 bad[i].line,
			 bad[i].id == SIP_HDR_FROM
				 ? ""
				 : "From: <sip:a@h>;tag=1\r\n",
			 bad[i].id == SIP_HDR_CALL_ID ? "" : "i: x\r\n",
			 bad[i].id == SIP_HDR_CSEQ ? "" : "CSeq: 1 INVITE\r\n");
		CU_ASSERT_EQUAL(full(buf), EBADMSG);
		CU_ASSERT(err_is(bad[i].id, 400));
		if (E.hdr != bad[i].id)
			fprintf(stderr, "  '%s': hdr %d\n", bad[i].line, E.hdr);
		if (bad[i].what && E.what)
			CU_ASSERT_STRING_EQUAL(E.what, bad[i].what);
		sip_perr_phrase(&E, phrase, sizeof(phrase));
		CU_ASSERT(strlen(phrase) > 8);
	}
	/* two values on one line of a single-valued header */
	CU_ASSERT_EQUAL(parse("BYE sip:a@b SIP/2.0\r\n"
			      "Via: SIP/2.0/UDP h;branch=z9hG4bK1\r\n"
			      "To: <sip:b@h>, <sip:c@h>\r\n"
			      "From: <sip:a@h>;tag=1\r\nCall-ID: x\r\n"
			      "CSeq: 1 BYE\r\n\r\n"),
			EBADMSG);
	CU_ASSERT(err_is(SIP_HDR_TO, 400));
	CU_ASSERT_STRING_EQUAL(E.what, "more than one value");
	CU_ASSERT_EQUAL(parse("BYE sip:a@b SIP/2.0\r\n"
			      "Via: SIP/2.0/UDP h;branch=z9hG4bK1\r\n"
			      "To: <sip:b@h>\r\n"
			      "From: <sip:a@h>;tag=1\r\nCall-ID: x, y\r\n"
			      "CSeq: 1 BYE\r\n\r\n"),
			EBADMSG);
	CU_ASSERT(err_is(SIP_HDR_CALL_ID, 400));
	CU_ASSERT_STRING_EQUAL(E.what, "more than one value");
	/* the unknown header is named in the phrase */
	snprintf(buf, sizeof(buf),
		 "INVITE sip:a@b SIP/2.0\r\nFoobar roobar\r\n"
		 "\r\n");
	CU_ASSERT_EQUAL(parse(buf), EBADMSG);
	PL_EQ(E.hdr_name, "Foobar");
	CU_ASSERT_STRING_EQUAL(sip_perr_phrase(&E, phrase, sizeof(phrase)),
			       "Bad Foobar: missing colon");
}

static void
test_nul_bytes(void)
{
	static const char s[] = "MESSAGE sip:a@b SIP/2.0\r\n"
				"Via: SIP/2.0/UDP h;branch=z9hG4bK1\r\n"
				"To: \"x\\\0y\" <sip:b@h>\r\n"
				"From: <sip:a@h>;tag=1\r\n"
				"Call-ID: x\r\n"
				"CSeq: 1 MESSAGE\r\n"
				"X-Bin: a\0b\r\n"
				"Content-Length: 3\r\n\r\n\0\0\0";
	const struct sip_hdr *h;

	CU_ASSERT_EQUAL_FATAL(parse_n(s, sizeof(s) - 1, SIP_FRAMING_DGRAM), 0);
	CU_ASSERT_EQUAL(M.body.l, 3);
	CU_ASSERT_EQUAL(M.to.dname.l, 4);
	h = sip_msg_hdr_name(&M, "X-Bin");
	CU_ASSERT_PTR_NOT_NULL_FATAL(h);
	CU_ASSERT(h->val.l == 3 && memcmp(h->val.p, "a\0b", 3) == 0);
	CU_ASSERT_EQUAL(sip_msg_check(&M, &E), 0);
}

static void
test_check(void)
{
	static const struct {
		const char *line;
		enum sip_hdr_id id; /* SIP_HDR_OTHER: must pass */
	} t[] = {
		{"Contact: *", SIP_HDR_OTHER},
		{"Contact: *, <sip:a@b>", SIP_HDR_CONTACT},
		{"Contact: <sip:a@b>;expires=4294967295;q=1.000",
		 SIP_HDR_OTHER},
		{"Contact: <sip:a@b>;expires=4294967296", SIP_HDR_CONTACT},
		{"Contact: <sip:a@b>;q=1.5", SIP_HDR_CONTACT},
		{"Contact: sip:a@b?Route=x", SIP_HDR_CONTACT},
		{"Route: <sip:p1@h;lr>, <sip:p2@h;lr>", SIP_HDR_OTHER},
		{"Record-Route: sip:p1@h", SIP_HDR_RECORD_ROUTE},
		{"Expires: 4294967295", SIP_HDR_OTHER},
		{"Expires: 4294967296", SIP_HDR_EXPIRES},
		{"Min-Expires: x", SIP_HDR_MIN_EXPIRES},
		{"RSeq: 2147483647", SIP_HDR_OTHER},
		{"RSeq: 0", SIP_HDR_RSEQ},
		{"RSeq: 4294967295", SIP_HDR_OTHER}, /* RFC 3262 §3 */
		{"RSeq: 4294967296", SIP_HDR_RSEQ},
		{"RAck: 1 2 INVITE", SIP_HDR_OTHER},
		{"RAck: 1 INVITE", SIP_HDR_RACK},
		{"Session-Expires: 1800;refresher=uas", SIP_HDR_OTHER},
		{"x: 0", SIP_HDR_SESSION_EXPIRES},
		{"Min-SE: 90;x=y", SIP_HDR_OTHER},
		{"Min-SE: ninety", SIP_HDR_MIN_SE},
		{"Retry-After: 18000 (vacation) ;duration=3600", SIP_HDR_OTHER},
		{"Require: 100rel, timer", SIP_HDR_OTHER},
		{"Require: 100rel,, timer", SIP_HDR_REQUIRE},
		{"Supported: a b", SIP_HDR_SUPPORTED},
		{"Allow: INVITE, ACK", SIP_HDR_OTHER},
		{"Privacy: id;header", SIP_HDR_OTHER},
		{"Privacy: id;;", SIP_HDR_PRIVACY},
		{"P-Asserted-Identity: \"A\" <sip:a@b>, <tel:+123>",
		 SIP_HDR_OTHER},
		{"P-Asserted-Identity: *", SIP_HDR_P_ASSERTED_IDENTITY},
		{"Refer-To: <sip:c@d?Replaces=x%40y>", SIP_HDR_OTHER},
		{"Refer-To: <sip:c@d>, <sip:e@f>", SIP_HDR_REFER_TO},
		{"Reason: Q.850;cause=16;text=\"Normal, clearing\"",
		 SIP_HDR_OTHER},
		{"Reason: SIP;cause=x", SIP_HDR_REASON},
		{"Replaces: a@b;to-tag=1;from-tag=2;early-only", SIP_HDR_OTHER},
		{"Replaces: a@b;to-tag=1", SIP_HDR_REPLACES},
		{"Date: Sat, 13 Nov 2010 23:29:00 GMT", SIP_HDR_OTHER},
		{"Date: Fri, 01 Jan 2010 16:00:00 EST", SIP_HDR_DATE},
		{"Date: Sat, 13 Now 2010 23:29:00 GMT", SIP_HDR_DATE},
		{"Warning: 399 h \"x, y\", 301 h \"z\"", SIP_HDR_OTHER},
		{"Warning: 1812 h \"z\"", SIP_HDR_WARNING},
		{"Content-Type: text/plain\r\nc: text/html",
		 SIP_HDR_CONTENT_TYPE},
		{"Expires: 1\r\nExpires: 2", SIP_HDR_EXPIRES},
		{"Event: presence.winfo;id=1", SIP_HDR_OTHER},
		{"Accept: application/sdp, text/*;q=0.5", SIP_HDR_OTHER},
		{"User-Agent: a\rb", SIP_HDR_USER_AGENT},
		{"X-Any: a\rb", SIP_HDR_OTHER + 1000},
		{"Authorization: Digest username=\"a\", realm=\"b\"",
		 SIP_HDR_OTHER},
	};
	char buf[1024];
	size_t i;

	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		int rc;

		snprintf(buf, sizeof(buf),
			 "OPTIONS sip:a@b SIP/2.0\r\n" HDRS_REQ
			 "CSeq: 1 OPTIONS\r\n%s\r\n\r\n",
			 t[i].line);
		CU_ASSERT_EQUAL_FATAL(parse(buf), 0);
		rc = sip_msg_check(&M, &E);
		if (t[i].id == SIP_HDR_OTHER) {
			if (rc)
				fprintf(stderr, "  '%s': %s\n", t[i].line,
					E.what);
			CU_ASSERT_EQUAL(rc, 0);
		} else if ((int)t[i].id == SIP_HDR_OTHER + 1000) {
			CU_ASSERT_EQUAL(rc, EBADMSG);
			CU_ASSERT(err_is(SIP_HDR_OTHER, 400));
			PL_EQ(E.hdr_name, "X-Any");
		} else {
			if (rc == 0)
				fprintf(stderr, "  '%s': accepted\n",
					t[i].line);
			CU_ASSERT_EQUAL(rc, EBADMSG);
			CU_ASSERT(err_is(t[i].id, 400));
		}
	}
	/* a response with a bad header: status 0 */
	CU_ASSERT_EQUAL(
		parse("SIP/2.0 200 OK\r\n" HDRS_RESP "Expires: x\r\n\r\n"), 0);
	CU_ASSERT_EQUAL(sip_msg_check(&M, &E), EBADMSG);
	CU_ASSERT(err_is(SIP_HDR_EXPIRES, 0));
}

/* The verdicts of the single-value fast paths (a list value decoded
   whole, split only when that fails) and of the one-pass Contact params
   match the split-first ones, phrase for phrase. */
static void
test_check_fast_paths(void)
{
	static const struct {
		const char *line;
		enum sip_hdr_id id; /* SIP_HDR_OTHER: must pass */
		const char *what;
	} t[] = {
		{"Contact: <sip:a@b>, <sip:c@d>;expires=x", SIP_HDR_CONTACT,
		 "bad expires parameter"},
		{"Contact: <sip:a@b>;q=0.5;expires=60;expires=x", SIP_HDR_OTHER,
		 NULL},
		{"Contact: <sip:a@b>;EXPIRES", SIP_HDR_CONTACT,
		 "bad expires parameter"},
		{"Contact: <sip:a@b>;Q=2;expires=x", SIP_HDR_CONTACT,
		 "bad expires parameter"},
		{"Contact: <sip:a@b>;Q=2", SIP_HDR_CONTACT, "bad q parameter"},
		{"Contact: *\r\nContact: *", SIP_HDR_CONTACT,
		 "'*' must be the only value"},
		{"Contact: \"a,b\" <sip:a@b>", SIP_HDR_OTHER, NULL},
		{"Route: <sip:a@b;lr>,, <sip:c@d;lr>", SIP_HDR_ROUTE,
		 "empty element in list"},
		{"Route: <sip:a@b;lr>, sip:c@d", SIP_HDR_ROUTE,
		 "URI must be enclosed in <>"},
		{"Accept: application/sdp,", SIP_HDR_ACCEPT,
		 "empty element in list"},
		{"Accept: text/plain, x", SIP_HDR_ACCEPT,
		 "missing '/' in media type"},
		{"Reason: SIP;cause=200, Q.850;cause=16", SIP_HDR_OTHER, NULL},
		{"Reason: SIP;cause=200, Q.850;cause=x", SIP_HDR_REASON,
		 "bad cause"},
		{"Via: SIP/2.0/UDP h:5060;branch=z9hG4bKa:b", SIP_HDR_VIA,
		 "bad branch"},
		{"Via: SIP/2.0/UDP h;branch=\"z9hG4bK\"", SIP_HDR_VIA,
		 "bad branch"},
		{"Via: SIP/2.0/UDP 10.0.0.1;branch=z9hG4bK1, SIP/2.0/UDP "
		 "10.0.0.1-;branch=z9hG4bK2",
		 SIP_HDR_VIA, "bad sent-by host"},
	};
	char buf[1024];
	size_t i;

	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		snprintf(buf, sizeof(buf),
			 "OPTIONS sip:a@b SIP/2.0\r\n" HDRS_REQ
			 "CSeq: 1 OPTIONS\r\n%s\r\n\r\n",
			 t[i].line);
		CU_ASSERT_EQUAL_FATAL(parse(buf), 0);
		if (t[i].id == SIP_HDR_OTHER) {
			CU_ASSERT_EQUAL(sip_msg_check(&M, &E), 0);
			continue;
		}
		CU_ASSERT_EQUAL(sip_msg_check(&M, &E), EBADMSG);
		CU_ASSERT(err_is(t[i].id, 400));
		CU_ASSERT(E.what && strcmp(E.what, t[i].what) == 0);
		if (!E.what || strcmp(E.what, t[i].what) != 0)
			fprintf(stderr, "  '%s': %s\n", t[i].line,
				E.what ? E.what : "accepted");
	}
	/* Request-Line: whitespace and <> are reported before the version,
	   the version before the URI's own errors */
	CU_ASSERT_EQUAL(parse("INVITE sip:a b@c SIP/3.0\r\n\r\n"), EBADMSG);
	CU_ASSERT(err_is(SIP_HDR_OTHER, 400));
	CU_ASSERT_STRING_EQUAL(E.what, "whitespace inside Request-URI");
	CU_ASSERT_EQUAL(parse("INVITE <sip:a@b> SIP/3.0\r\n\r\n"), EBADMSG);
	CU_ASSERT_STRING_EQUAL(E.what, "Request-URI must not be in <>");
	CU_ASSERT_EQUAL(parse("INVITE sip:a@b:99999 SIP/3.0\r\n\r\n"), EBADMSG);
	CU_ASSERT(err_is(SIP_HDR_OTHER, 505));
	CU_ASSERT_EQUAL(parse("INVITE sip:a@b:99999 SIP/2.0\r\n\r\n"), EBADMSG);
	CU_ASSERT(err_is(SIP_HDR_OTHER, 400));
	CU_ASSERT_STRING_EQUAL(E.what, "bad port");
}

static void
test_perr_phrase(void)
{
	struct sip_perr e = {SIP_HDR_VIA, PL_INIT, "missing sent-by host", 400};
	char buf[64], small[8];

	CU_ASSERT_STRING_EQUAL(sip_perr_phrase(&e, buf, sizeof(buf)),
			       "Bad Via: missing sent-by host");
	sip_perr_phrase(&e, small, sizeof(small));
	CU_ASSERT_EQUAL(strlen(small), 7);
	e.hdr = SIP_HDR_OTHER;
	e.what = "extra whitespace";
	CU_ASSERT_STRING_EQUAL(sip_perr_phrase(&e, buf, sizeof(buf)),
			       "Bad Request-Line: extra whitespace");
	e.status = 0;
	CU_ASSERT_STRING_EQUAL(sip_perr_phrase(&e, buf, sizeof(buf)),
			       "Bad Status-Line: extra whitespace");
	/* a wire header name never carries control bytes into the phrase */
	e.hdr_name = (struct pl)PL("X-A\r\nB");
	e.what = "bad";
	CU_ASSERT_STRING_EQUAL(sip_perr_phrase(&e, buf, sizeof(buf)),
			       "Bad X-AB: bad");
	e.what = NULL;
	CU_ASSERT(strlen(sip_perr_phrase(&e, buf, sizeof(buf))) > 4);
}

static void
test_mpart(void)
{
	static const char body[] = "preamble\r\n"
				   "--b1\r\n"
				   "Content-Type: text/plain\r\n"
				   "\r\n"
				   "Hello\r\n"
				   "--b1 \r\n"
				   "\r\n"
				   "no headers\0x\r\n"
				   "--b1--\r\n"
				   "epilogue";
	struct pl b = {body, sizeof(body) - 1}, bnd = PL("b1"), h, pb;
	struct sip_mpart_iter it;

	sip_mpart_iter_init(&it, &b, &bnd);
	CU_ASSERT_EQUAL_FATAL(sip_mpart_next(&it, &h, &pb), 0);
	PL_EQ(h, "Content-Type: text/plain\r\n");
	PL_EQ(pb, "Hello");
	CU_ASSERT_EQUAL_FATAL(sip_mpart_next(&it, &h, &pb), 0);
	CU_ASSERT_EQUAL(h.l, 0);
	CU_ASSERT(pb.l == 12 && memcmp(pb.p, "no headers\0x", 12) == 0);
	CU_ASSERT_EQUAL(sip_mpart_next(&it, &h, &pb), ENOENT);
	CU_ASSERT_EQUAL(sip_mpart_next(&it, &h, &pb), ENOENT);

	/* no close delimiter */
	b = (struct pl)PL("--b1\r\n\r\nx\r\n--b2--");
	sip_mpart_iter_init(&it, &b, &bnd);
	CU_ASSERT_EQUAL(sip_mpart_next(&it, &h, &pb), EBADMSG);
	/* no delimiter at all */
	b = (struct pl)PL("hello");
	sip_mpart_iter_init(&it, &b, &bnd);
	CU_ASSERT_EQUAL(sip_mpart_next(&it, &h, &pb), EBADMSG);
	/* a boundary that is a prefix of a line is not a delimiter */
	b = (struct pl)PL("--b1\r\n\r\n--b1x\r\n--b1--");
	sip_mpart_iter_init(&it, &b, &bnd);
	CU_ASSERT_EQUAL(sip_mpart_next(&it, &h, &pb), 0);
	PL_EQ(pb, "--b1x");
	CU_ASSERT_EQUAL(sip_mpart_next(&it, &h, &pb), ENOENT);
	/* empty body with only a close delimiter */
	b = (struct pl)PL("--b1--\r\n");
	sip_mpart_iter_init(&it, &b, &bnd);
	CU_ASSERT_EQUAL(sip_mpart_next(&it, &h, &pb), ENOENT);
}

static void
test_methods(void)
{
	int m;

	for (m = 1; m < SIP_M_COUNT; m++) {
		struct pl n = {sip_method_name(m), strlen(sip_method_name(m))};

		CU_ASSERT_EQUAL((int)sip_method_id(&n), m);
	}
	CU_ASSERT_EQUAL(sip_method_id(&PL("invite")), SIP_M_OTHER);
	CU_ASSERT_EQUAL(sip_method_id(&PL("RE%47ISTER")), SIP_M_OTHER);
	CU_ASSERT_EQUAL(sip_method_id(&PL("")), SIP_M_OTHER);
}

/* fuzz_sess regression (tests/data/fuzz_sess/hdr-cap-reply-over-cap.sip):
   an INVITE of exactly SIP_MSG_HDR_CAP header lines, 123 of them Via. The
   2xx repeats every Via, in order (RFC 3261 §8.2.6.2), and the session
   timer decision adds Supported: timer (RFC 4028 §9), so the reply is one
   line over our cap: it is written whole, and our parser refuses it as a
   whole (413 Too many header lines) rather than dropping Vias. */
static void
test_reply_over_hdr_cap(void)
{
	static struct sip_msg req, back;
	static char out[70000];
	struct sess_timer_cfg cfg;
	struct sess_timer_uas res;
	struct sip_wbuf wb;
	struct sip_perr err;
	struct pl tag = PL("fz");
	const struct sip_hdr *a, *b;
	char *in = NULL, phrase[128];
	size_t len = 0, olen = 0;
	unsigned nvia = 0;

	CU_ASSERT_EQUAL_FATAL(
		tu_read_file(tu_data("fuzz_sess/hdr-cap-reply-over-cap.sip"),
			     &in, &len),
		0);
	CU_ASSERT_EQUAL_FATAL(
		sip_msg_parse(&req, in, len, SIP_FRAMING_DGRAM, NULL, &err), 0);
	CU_ASSERT_EQUAL(req.nhdrs, SIP_MSG_HDR_CAP);
	for (a = sip_msg_hdr(&req, SIP_HDR_VIA); a;
	     a = sip_msg_hdr_next(&req, a))
		nvia++;
	CU_ASSERT_EQUAL(nvia, 123);

	sess_timer_cfg_default(&cfg);
	CU_ASSERT_EQUAL_FATAL(sess_timer_uas_decide(&cfg, &req, &res), 0);
	CU_ASSERT_EQUAL(res.status, 0);
	sip_wb_init(&wb, out, sizeof(out));
	CU_ASSERT_EQUAL(sip_wb_reply(&wb, &req, 200, NULL, &tag), 0);
	CU_ASSERT_EQUAL(sess_timer_uas_write(&res, &wb), 0);
	CU_ASSERT_EQUAL_FATAL(sip_wb_end(&wb, NULL, &olen), 0);

	/* over the cap by one line: refused whole, with the limit named */
	CU_ASSERT_NOT_EQUAL(
		sip_msg_parse(&back, out, olen, SIP_FRAMING_DGRAM, NULL, &err),
		0);
	sip_perr_phrase(&err, phrase, sizeof(phrase));
	CU_ASSERT_STRING_EQUAL(phrase, "Too many header lines");

	/* a receiver without our cap sees every Via, in order: parse the
	   reply without its last header line (Content-Length) */
	{
		static const char last[] = "\r\nContent-Length: 0\r\n\r\n";
		char *cl = memmem(out, olen, last, sizeof(last) - 1);
		size_t cut;

		CU_ASSERT_PTR_NOT_NULL_FATAL(cl);
		cut = (size_t)(cl - out) + 2;
		memcpy(out + cut, "\r\n", 2);
		CU_ASSERT_EQUAL_FATAL(sip_msg_parse(&back, out, cut + 2,
						    SIP_FRAMING_DGRAM, NULL,
						    &err),
				      0);
	}
	CU_ASSERT_EQUAL(back.nhdrs, SIP_MSG_HDR_CAP);
	CU_ASSERT_EQUAL(back.status, 200);
	for (a = sip_msg_hdr(&req, SIP_HDR_VIA),
	    b = sip_msg_hdr(&back, SIP_HDR_VIA);
	     a && b;
	     a = sip_msg_hdr_next(&req, a), b = sip_msg_hdr_next(&back, b))
		CU_ASSERT(pl_eq(&a->val, &b->val));
	CU_ASSERT(!a && !b);
	CU_ASSERT_PTR_NOT_NULL(sip_msg_hdr(&back, SIP_HDR_SUPPORTED));
	free(in);
}

void test_msg_register(void);
void
test_msg_register(void)
{
	CU_pSuite s = tu_suite("msg");

	TU_ADD(s, test_request_line);
	TU_ADD(s, test_request_line_bad);
	TU_ADD(s, test_status_line);
	TU_ADD(s, test_folding);
	TU_ADD(s, test_compact_forms);
	TU_ADD(s, test_unknown_headers);
	TU_ADD(s, test_lists);
	TU_ADD(s, test_limits);
	TU_ADD(s, test_framing_dgram);
	TU_ADD(s, test_bare_lf);
	TU_ADD(s, test_frame_stream);
	TU_ADD(s, test_mandatory);
	TU_ADD(s, test_core_errors);
	TU_ADD(s, test_nul_bytes);
	TU_ADD(s, test_check);
	TU_ADD(s, test_check_fast_paths);
	TU_ADD(s, test_perr_phrase);
	TU_ADD(s, test_mpart);
	TU_ADD(s, test_methods);
	TU_ADD(s, test_frame_resumable);
	TU_ADD(s, test_reply_over_hdr_cap);
}
