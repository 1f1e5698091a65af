/* Unit tests: SIP dialogs (stack/dlg.c), RFC 3261 §12, the §12.2.1.1
   strict-router rules and the §16.12 route-set examples. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "stack/dlg.h"
#include "stack/mem.h"
#include "stack/sip_msg.h"
#include "stack/sip_write.h"
#include "testutil.h"

/* Messages are parsed from static text kept alive by the caller. */
static void
parse(struct sip_msg *m, const char *s)
{
	struct sip_limits lim;
	struct sip_perr err;

	sip_limits_default(&lim);
	CU_ASSERT_EQUAL_FATAL(
		sip_msg_parse(m, s, strlen(s), SIP_FRAMING_DGRAM, &lim, &err),
		0);
}

/* The §16.12.1.2 request as it reaches U2 (Record-Route of P1..P4, P3 a
   strict router) and the 200 as it reaches U1. */
static const char inv_at_u2[] =
	"INVITE sip:callee@u2.domain.com SIP/2.0\r\n"
	"Via: SIP/2.0/UDP u1.example.com;branch=z9hG4bK-1\r\n"
	"Record-Route: <sip:p4.domain.com;lr>\r\n"
	"Record-Route: <sip:p3.middle.com>\r\n"
	"Record-Route: <sip:p2.example.com;lr>,<sip:p1.example.com;lr>\r\n"
	"Max-Forwards: 66\r\n"
	"From: \"Caller\" <sip:caller@u1.example.com>;tag=u1tag\r\n"
	"To: <sip:callee@domain.com>\r\n"
	"Call-ID: cid-1612@u1.example.com\r\n"
	"CSeq: 7 INVITE\r\n"
	"Contact: <sip:caller@u1.example.com>\r\n"
	"Content-Length: 0\r\n\r\n";

static const char inv_from_u1[] =
	"INVITE sip:callee@domain.com SIP/2.0\r\n"
	"Via: SIP/2.0/UDP u1.example.com;branch=z9hG4bK-1\r\n"
	"Max-Forwards: 70\r\n"
	"From: \"Caller\" <sip:caller@u1.example.com>;tag=u1tag\r\n"
	"To: <sip:callee@domain.com>\r\n"
	"Call-ID: cid-1612@u1.example.com\r\n"
	"CSeq: 7 INVITE\r\n"
	"Contact: <sip:caller@u1.example.com>\r\n"
	"Content-Length: 0\r\n\r\n";

static const char ok_at_u1[] =
	"SIP/2.0 200 OK\r\n"
	"Via: SIP/2.0/UDP u1.example.com;branch=z9hG4bK-1\r\n"
	"Record-Route: <sip:p4.domain.com;lr>,<sip:p3.middle.com>\r\n"
	"Record-Route: <sip:p2.example.com;lr>\r\n"
	"Record-Route: <sip:p1.example.com;lr>\r\n"
	"From: \"Caller\" <sip:caller@u1.example.com>;tag=u1tag\r\n"
	"To: <sip:callee@domain.com>;tag=u2tag\r\n"
	"Call-ID: cid-1612@u1.example.com\r\n"
	"CSeq: 7 INVITE\r\n"
	"Contact: <sip:callee@u2.domain.com>\r\n"
	"Content-Length: 0\r\n\r\n";

/* Build a BYE in d and parse it back into *m (text in buf). */
static void
bye(struct dlg *d, char *buf, size_t size, struct sip_msg *m, struct pl *hop)
{
	struct sip_wbuf wb;
	struct pl via = PL("SIP/2.0/UDP t.example;branch=z9hG4bK-bye");
	size_t len;
	uint32_t cs = dlg_next_cseq(d);

	sip_wb_init(&wb, buf, size - 1);
	CU_ASSERT_EQUAL_FATAL(
		dlg_request_write(d, &wb, &PL("BYE"), cs, &via, 70, hop), 0);
	CU_ASSERT_EQUAL_FATAL(sip_wb_end(&wb, NULL, &len), 0);
	buf[len] = '\0';
	parse(m, buf);
}

/* The n-th Route value of m as a string. */
static const char *
route_n(const struct sip_msg *m, unsigned n, char *out, size_t size)
{
	struct sip_hdr_iter it;
	struct pl v;
	unsigned i = 0;

	sip_hdr_iter_init(&it, m, SIP_HDR_ROUTE);
	while (sip_hdr_iter_next(&it, &v) == 0)
		if (i++ == n)
			return pl_strcpy(&v, out, size);
	return "";
}

static void
test_uas_route_set(void)
{
	static struct sip_msg req, m;
	static char buf[2048];
	char r[128];
	struct dlg *d = NULL;
	struct pl hop;

	parse(&req, inv_at_u2);
	CU_ASSERT_EQUAL_FATAL(
		dlg_uas_create(&d, &req, &PL("u2tag"), false, true), 0);
	CU_ASSERT_EQUAL(d->state, DLG_S_CONFIRMED);
	CU_ASSERT_FALSE(d->uac);
	CU_ASSERT_EQUAL(d->nroutes, 4);
	CU_ASSERT_STRING_EQUAL(d->routes[0].p, "<sip:p4.domain.com;lr>");
	CU_ASSERT_STRING_EQUAL(d->routes[3].p, "<sip:p1.example.com;lr>");
	CU_ASSERT_STRING_EQUAL(d->rtarget.p, "sip:caller@u1.example.com");
	CU_ASSERT_TRUE(d->rseq_set);
	CU_ASSERT_EQUAL(d->rseq, 7);
	CU_ASSERT_EQUAL(d->lseq, 0);
	CU_ASSERT_STRING_EQUAL(d->rtag.p, "u1tag");

	/* §16.12.1.2: U2's BYE goes to P4 (loose) with all four Routes and
	   the caller's Contact as the Request-URI. */
	bye(d, buf, sizeof(buf), &m, &hop);
	CU_ASSERT_TRUE(pl_eq_str(&m.ruri_raw, "sip:caller@u1.example.com"));
	CU_ASSERT_TRUE(pl_eq_str(&hop, "sip:p4.domain.com;lr"));
	CU_ASSERT_EQUAL(m.count[SIP_HDR_ROUTE], 4);
	CU_ASSERT_STRING_EQUAL(route_n(&m, 1, r, sizeof(r)),
			       "<sip:p3.middle.com>");
	/* Our From is the request's To with our tag; To the caller's. */
	CU_ASSERT_TRUE(pl_eq_str(&m.from.tag, "u2tag"));
	CU_ASSERT_TRUE(pl_eq_str(&m.from.uri_raw, "sip:callee@domain.com"));
	CU_ASSERT_TRUE(pl_eq_str(&m.to.tag, "u1tag"));
	CU_ASSERT_TRUE(pl_eq_str(&m.to.dname, "Caller"));
	CU_ASSERT_EQUAL(m.cseq.num, 1); /* empty local seq starts at 1 */
	CU_ASSERT_TRUE(pl_eq_str(&m.callid, "cid-1612@u1.example.com"));
	CU_ASSERT_EQUAL(m.max_forwards, 70);
	mem_deref(d);
}

static void
test_uac_route_set_reversed(void)
{
	static struct sip_msg req, resp, m;
	static char buf[2048];
	char r[128];
	struct dlg *d = NULL;
	struct pl hop;

	parse(&req, inv_from_u1);
	parse(&resp, ok_at_u1);
	CU_ASSERT_EQUAL_FATAL(dlg_uac_create(&d, &req, &resp, false), 0);
	CU_ASSERT_TRUE(d->uac);
	CU_ASSERT_EQUAL(d->state, DLG_S_CONFIRMED);
	CU_ASSERT_EQUAL(d->nroutes, 4);
	CU_ASSERT_STRING_EQUAL(d->routes[0].p, "<sip:p1.example.com;lr>");
	CU_ASSERT_STRING_EQUAL(d->routes[2].p, "<sip:p3.middle.com>");
	CU_ASSERT_EQUAL(d->lseq, 7);
	CU_ASSERT_FALSE(d->rseq_set);

	/* §16.12.1.2: U1's BYE, Request-URI the callee's Contact, Route
	   P1, P2, P3, P4; sent to P1. CSeq 8. */
	bye(d, buf, sizeof(buf), &m, &hop);
	CU_ASSERT_TRUE(pl_eq_str(&m.ruri_raw, "sip:callee@u2.domain.com"));
	CU_ASSERT_TRUE(pl_eq_str(&hop, "sip:p1.example.com;lr"));
	CU_ASSERT_STRING_EQUAL(route_n(&m, 0, r, sizeof(r)),
			       "<sip:p1.example.com;lr>");
	CU_ASSERT_STRING_EQUAL(route_n(&m, 3, r, sizeof(r)),
			       "<sip:p4.domain.com;lr>");
	CU_ASSERT_EQUAL(m.cseq.num, 8);
	CU_ASSERT_TRUE(pl_eq_str(&m.to.tag, "u2tag"));
	CU_ASSERT_TRUE(pl_eq_str(&m.from.tag, "u1tag"));
	CU_ASSERT_TRUE(dlg_match_resp(d, &resp));
	mem_deref(d);
}

/* §12.2.1.1's own example: route set <sip:proxy1>, <sip:proxy2>,
   <sip:proxy3;lr>, <sip:proxy4>, remote target sip:user@remoteua:
   "METHOD sip:proxy1" with Route proxy2, proxy3;lr, proxy4, user@remoteua. */
static void
test_strict_router(void)
{
	static const char req_s[] =
		"INVITE sip:user@remoteua SIP/2.0\r\n"
		"Via: SIP/2.0/UDP x.example;branch=z9hG4bK-2\r\n"
		"Record-Route: <sip:proxy1?X-H=1>, <sip:proxy2>\r\n"
		"Record-Route: <sip:proxy3;lr>, <sip:proxy4>\r\n"
		"From: <sip:caller@remoteua>;tag=rt\r\n"
		"To: <sip:user@here>\r\n"
		"Call-ID: strict-1\r\n"
		"CSeq: 1 INVITE\r\n"
		"Contact: <sip:user@remoteua>\r\n"
		"Content-Length: 0\r\n\r\n";
	static struct sip_msg req, m;
	static char buf[2048];
	char r[128];
	struct dlg *d = NULL;
	struct pl hop;

	parse(&req, req_s);
	CU_ASSERT_EQUAL_FATAL(dlg_uas_create(&d, &req, &PL("lt"), false, true),
			      0);
	bye(d, buf, sizeof(buf), &m, &hop);
	/* The headers part is stripped from the Request-URI. */
	CU_ASSERT_TRUE(pl_eq_str(&m.ruri_raw, "sip:proxy1"));
	CU_ASSERT_TRUE(pl_eq_str(&hop, "sip:proxy1"));
	CU_ASSERT_EQUAL(m.count[SIP_HDR_ROUTE], 4);
	CU_ASSERT_STRING_EQUAL(route_n(&m, 0, r, sizeof(r)), "<sip:proxy2>");
	CU_ASSERT_STRING_EQUAL(route_n(&m, 1, r, sizeof(r)), "<sip:proxy3;lr>");
	CU_ASSERT_STRING_EQUAL(route_n(&m, 2, r, sizeof(r)), "<sip:proxy4>");
	CU_ASSERT_STRING_EQUAL(route_n(&m, 3, r, sizeof(r)),
			       "<sip:user@remoteua>");
	mem_deref(d);
}

static void
test_no_route_set(void)
{
	static struct sip_msg req, m;
	static char buf[2048];
	struct dlg *d = NULL;
	struct pl hop;

	parse(&req, inv_from_u1);
	CU_ASSERT_EQUAL_FATAL(dlg_uas_create(&d, &req, &PL("t"), false, false),
			      0);
	CU_ASSERT_EQUAL(d->state, DLG_S_EARLY);
	dlg_confirm(d);
	CU_ASSERT_EQUAL(d->state, DLG_S_CONFIRMED);
	bye(d, buf, sizeof(buf), &m, &hop);
	CU_ASSERT_EQUAL(m.count[SIP_HDR_ROUTE], 0);
	CU_ASSERT_TRUE(pl_eq_str(&hop, "sip:caller@u1.example.com"));
	dlg_terminate(d);
	{
		struct sip_wbuf wb;
		struct pl via = PL("SIP/2.0/UDP t;branch=z9hG4bK-x");

		sip_wb_init(&wb, buf, sizeof(buf));
		CU_ASSERT_EQUAL(dlg_request_write(d, &wb, &PL("BYE"), 2, &via,
						  70, NULL),
				EPROTO);
	}
	mem_deref(d);
}

/* §12.2.2 CSeq: lower is out of order (500), equal or higher accepted. */
static void
test_rseq_rules(void)
{
	static struct sip_msg req;
	struct dlg *d = NULL;

	parse(&req, inv_at_u2);
	CU_ASSERT_EQUAL_FATAL(dlg_uas_create(&d, &req, &PL("a"), false, true),
			      0);
	CU_ASSERT_EQUAL(dlg_rseq_check(d, 6), ERANGE);
	CU_ASSERT_EQUAL(d->rseq, 7);
	CU_ASSERT_EQUAL(dlg_rseq_check(d, 8), 0);
	CU_ASSERT_EQUAL(dlg_rseq_check(d, 8), 0);
	CU_ASSERT_EQUAL(dlg_rseq_check(d, 7), ERANGE);
	CU_ASSERT_EQUAL(dlg_rseq_check(d, 1000), 0);
	CU_ASSERT_EQUAL(d->rseq, 1000);
	mem_deref(d);
}

/* Matching: the dialog ID of a request is (Call-ID, To tag, From tag). */
static void
test_match(void)
{
	static const char in_dlg[] =
		"BYE sip:callee@u2.domain.com SIP/2.0\r\n"
		"Via: SIP/2.0/UDP u1.example.com;branch=z9hG4bK-3\r\n"
		"From: <sip:caller@u1.example.com>;tag=u1tag\r\n"
		"To: <sip:callee@domain.com>;tag=u2tag\r\n"
		"Call-ID: cid-1612@u1.example.com\r\n"
		"CSeq: 8 BYE\r\n"
		"Content-Length: 0\r\n\r\n";
	static const char wrong_tag[] =
		"BYE sip:callee@u2.domain.com SIP/2.0\r\n"
		"Via: SIP/2.0/UDP u1.example.com;branch=z9hG4bK-4\r\n"
		"From: <sip:caller@u1.example.com>;tag=u1tag\r\n"
		"To: <sip:callee@domain.com>;tag=other\r\n"
		"Call-ID: cid-1612@u1.example.com\r\n"
		"CSeq: 8 BYE\r\n"
		"Content-Length: 0\r\n\r\n";
	static struct sip_msg req, b1, b2;
	struct dlg *d = NULL;

	parse(&req, inv_at_u2);
	parse(&b1, in_dlg);
	parse(&b2, wrong_tag);
	CU_ASSERT_EQUAL_FATAL(
		dlg_uas_create(&d, &req, &PL("u2tag"), false, true), 0);
	CU_ASSERT_TRUE(dlg_match_req(d, &b1));
	CU_ASSERT_FALSE(dlg_match_req(d, &b2));
	mem_deref(d);
}

/* Early dialog from a 180, confirmed by the 200 with a different route
   set and Contact (§13.2.2.4), and target refresh. */
static void
test_early_then_confirmed(void)
{
	static const char ringing[] =
		"SIP/2.0 180 Ringing\r\n"
		"Via: SIP/2.0/UDP u1.example.com;branch=z9hG4bK-1\r\n"
		"Record-Route: <sip:early.example.com;lr>\r\n"
		"From: \"Caller\" <sip:caller@u1.example.com>;tag=u1tag\r\n"
		"To: <sip:callee@domain.com>;tag=u2tag\r\n"
		"Call-ID: cid-1612@u1.example.com\r\n"
		"CSeq: 7 INVITE\r\n"
		"Content-Length: 0\r\n\r\n";
	static const char reinv[] =
		"INVITE sip:caller@u1.example.com SIP/2.0\r\n"
		"Via: SIP/2.0/UDP u2.domain.com;branch=z9hG4bK-5\r\n"
		"From: <sip:callee@domain.com>;tag=u2tag\r\n"
		"To: <sip:caller@u1.example.com>;tag=u1tag\r\n"
		"Call-ID: cid-1612@u1.example.com\r\n"
		"CSeq: 1 INVITE\r\n"
		"Contact: <sip:callee@moved.domain.com>\r\n"
		"Content-Length: 0\r\n\r\n";
	static struct sip_msg req, r180, r200, ri;
	struct dlg *d = NULL;

	parse(&req, inv_from_u1);
	parse(&r180, ringing);
	parse(&r200, ok_at_u1);
	parse(&ri, reinv);
	CU_ASSERT_EQUAL_FATAL(dlg_uac_create(&d, &req, &r180, false), 0);
	CU_ASSERT_EQUAL(d->state, DLG_S_EARLY);
	CU_ASSERT_EQUAL(d->nroutes, 1);
	/* No Contact in the 1xx: the Request-URI stands in. */
	CU_ASSERT_STRING_EQUAL(d->rtarget.p, "sip:callee@domain.com");
	CU_ASSERT_EQUAL(dlg_uac_update(d, &r200), 0);
	CU_ASSERT_EQUAL(d->state, DLG_S_CONFIRMED);
	CU_ASSERT_EQUAL(d->nroutes, 4);
	CU_ASSERT_STRING_EQUAL(d->rtarget.p, "sip:callee@u2.domain.com");
	CU_ASSERT_EQUAL(dlg_uac_update(d, &r200), EPROTO);
	CU_ASSERT_TRUE(dlg_match_req(d, &ri));
	CU_ASSERT_EQUAL(dlg_target_refresh(d, &ri), 0);
	CU_ASSERT_STRING_EQUAL(d->rtarget.p, "sip:callee@moved.domain.com");
	mem_deref(d);
}

/* Bad input: no Contact, two Contacts, a 2xx without To tag, a bad
   Record-Route, too many routes. */
static void
test_bad_input(void)
{
	static const char no_contact[] =
		"INVITE sip:a@b SIP/2.0\r\n"
		"Via: SIP/2.0/UDP x;branch=z9hG4bK-6\r\n"
		"From: <sip:c@d>;tag=1\r\n"
		"To: <sip:a@b>\r\n"
		"Call-ID: bad-1\r\n"
		"CSeq: 1 INVITE\r\n"
		"Content-Length: 0\r\n\r\n";
	static const char two_contacts[] =
		"INVITE sip:a@b SIP/2.0\r\n"
		"Via: SIP/2.0/UDP x;branch=z9hG4bK-6\r\n"
		"From: <sip:c@d>;tag=1\r\n"
		"To: <sip:a@b>\r\n"
		"Call-ID: bad-1\r\n"
		"CSeq: 1 INVITE\r\n"
		"Contact: <sip:c@d>, <sip:c@e>\r\n"
		"Content-Length: 0\r\n\r\n";
	static const char star[] = "INVITE sip:a@b SIP/2.0\r\n"
				   "Via: SIP/2.0/UDP x;branch=z9hG4bK-6\r\n"
				   "From: <sip:c@d>;tag=1\r\n"
				   "To: <sip:a@b>\r\n"
				   "Call-ID: bad-1\r\n"
				   "CSeq: 1 INVITE\r\n"
				   "Contact: *\r\n"
				   "Content-Length: 0\r\n\r\n";
	static const char ok_no_tag[] =
		"SIP/2.0 200 OK\r\n"
		"Via: SIP/2.0/UDP x;branch=z9hG4bK-6\r\n"
		"From: <sip:c@d>;tag=1\r\n"
		"To: <sip:a@b>\r\n"
		"Call-ID: bad-1\r\n"
		"CSeq: 1 INVITE\r\n"
		"Contact: <sip:a@b>\r\n"
		"Content-Length: 0\r\n\r\n";
	static char many[4096];
	static struct sip_msg m, r;
	struct dlg *d = NULL;
	size_t off;
	int i;

	parse(&m, no_contact);
	CU_ASSERT_EQUAL(dlg_uas_create(&d, &m, &PL("t"), false, true), EBADMSG);
	parse(&m, two_contacts);
	CU_ASSERT_EQUAL(dlg_uas_create(&d, &m, &PL("t"), false, true), EBADMSG);
	parse(&m, star);
	CU_ASSERT_EQUAL(dlg_uas_create(&d, &m, &PL("t"), false, true), EBADMSG);
	parse(&m, two_contacts);
	parse(&r, ok_no_tag);
	CU_ASSERT_EQUAL(dlg_uac_create(&d, &m, &r, false), EBADMSG);
	CU_ASSERT_PTR_NULL(d);

	off = (size_t)snprintf(many, sizeof(many), "%s",
			       "INVITE sip:a@b SIP/2.0\r\n"
			       "Via: SIP/2.0/UDP x;branch=z9hG4bK-7\r\n");
	for (i = 0; i <= DLG_MAX_ROUTES; i++)
		off += (size_t)snprintf(
			many + off, sizeof(many) - off,
			"Record-Route: <sip:p%d.example;lr>\r\n", i);
	snprintf(many + off, sizeof(many) - off,
		 "From: <sip:c@d>;tag=1\r\nTo: <sip:a@b>\r\n"
		 "Call-ID: many\r\nCSeq: 1 INVITE\r\n"
		 "Contact: <sip:c@d>\r\nContent-Length: 0\r\n\r\n");
	parse(&m, many);
	CU_ASSERT_EQUAL(dlg_uas_create(&d, &m, &PL("t"), false, true), E2BIG);
	CU_ASSERT_PTR_NULL(d);
}

/* sips over TLS makes the dialog secure (§12.1.1). */
static void
test_secure(void)
{
	static const char sips_req[] =
		"INVITE sips:a@b.example SIP/2.0\r\n"
		"Via: SIP/2.0/TLS x.example;branch=z9hG4bK-8\r\n"
		"From: <sips:c@d.example>;tag=1\r\n"
		"To: <sips:a@b.example>\r\n"
		"Call-ID: sec-1\r\n"
		"CSeq: 1 INVITE\r\n"
		"Contact: <sips:c@d.example>\r\n"
		"Content-Length: 0\r\n\r\n";
	static struct sip_msg m;
	struct dlg *d = NULL;

	parse(&m, sips_req);
	CU_ASSERT_EQUAL_FATAL(dlg_uas_create(&d, &m, &PL("t"), true, true), 0);
	CU_ASSERT_TRUE(d->secure);
	mem_deref(d);
	CU_ASSERT_EQUAL_FATAL(dlg_uas_create(&d, &m, &PL("t"), false, true), 0);
	CU_ASSERT_FALSE(d->secure);
	mem_deref(d);
}

void test_dlg_register(void);

void
test_dlg_register(void)
{
	CU_pSuite s = tu_suite("dlg");

	TU_ADD(s, test_uas_route_set);
	TU_ADD(s, test_uac_route_set_reversed);
	TU_ADD(s, test_strict_router);
	TU_ADD(s, test_no_route_set);
	TU_ADD(s, test_rseq_rules);
	TU_ADD(s, test_match);
	TU_ADD(s, test_early_then_confirmed);
	TU_ADD(s, test_bad_input);
	TU_ADD(s, test_secure);
}
