/*
 * The RFC 4475 SIP torture messages and the RFC 5118 IPv6 messages,
 * read byte-exact from the shared corpora (../shared/corpora, or
 * $TANDEM_CORPORA). Each valid message must parse and pass sip_msg_check()
 * with the interesting values asserted; each invalid one must be refused
 * with the status and header the RFC's verdict names (INDEX.tsv).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "stack/sip_msg.h"
#include "testutil.h"

/* One message, parsed as a UDP datagram then fully checked. */
struct loaded {
	char *buf;
	size_t len;
	struct sip_msg msg;
	struct sip_perr err;
	int rc;
};

static struct loaded L;

static int
load(const char *sub, const char *file)
{
	char path[4096];
	struct sip_limits lim;

	free(L.buf);
	memset(&L, 0, sizeof(L));
	snprintf(path, sizeof(path), "%s/%s/%s", tu_corpora(), sub, file);
	if (tu_read_file(path, &L.buf, &L.len) != 0) {
		CU_FAIL("cannot read corpus file");
		fprintf(stderr, "cannot read %s\n", path);
		return -1;
	}
	sip_limits_default(&lim);
	L.rc = sip_msg_parse(&L.msg, L.buf, L.len, SIP_FRAMING_DGRAM, &lim,
			     &L.err);
	if (L.rc == 0)
		L.rc = sip_msg_check(&L.msg, &L.err);
	if (L.rc != 0) {
		char phrase[256];

		sip_perr_phrase(&L.err, phrase, sizeof(phrase));
		fprintf(stderr, "  %s: refused (%u %s)\n", file,
			L.err.status, phrase);
	}
	return 0;
}

#define PL_EQ(pl, s)                                                       \
	do {                                                               \
		CU_ASSERT(pl_eq_str(&(pl), (s)));                          \
	} while (0)

/* Count the comma-separated values of a header id over all its lines. */
static int
nvalues(enum sip_hdr_id id)
{
	struct sip_hdr_iter it;
	struct pl v;
	int n = 0;

	sip_hdr_iter_init(&it, &L.msg, id);
	while (sip_hdr_iter_next(&it, &v) == 0)
		n++;
	return n;
}

/* The n-th value (0-based) of a header id. */
static struct pl
value(enum sip_hdr_id id, int n)
{
	struct sip_hdr_iter it;
	struct pl v = PL_INIT;

	sip_hdr_iter_init(&it, &L.msg, id);
	while (sip_hdr_iter_next(&it, &v) == 0 && n-- > 0)
		;
	return v;
}

static int
valid(const char *file)
{
	if (load("rfc4475", file))
		return 0;
	CU_ASSERT_EQUAL(L.rc, 0);
	return L.rc == 0;
}

/* start line errors have no header */
#define START_LINE (-1)

static void
invalid(const char *file, unsigned status, const int *hdrs)
{
	if (load("rfc4475", file))
		return;
	CU_ASSERT_EQUAL(L.rc, EBADMSG);
	CU_ASSERT_EQUAL(L.err.status, status);
	CU_ASSERT_PTR_NOT_NULL(L.err.what);
	if (hdrs) {
		int ok = 0;

		for (; *hdrs; hdrs++) {
			if (*hdrs == START_LINE)
				ok |= L.err.hdr == SIP_HDR_OTHER &&
				      L.err.hdr_name.l == 0;
			else
				ok |= (int)L.err.hdr == *hdrs;
		}
		if (!ok)
			fprintf(stderr, "  %s: unexpected header %d\n", file,
				L.err.hdr);
		CU_ASSERT(ok);
	}
}

/* §3.1.1.1 A short tortuous INVITE */
static void
t_wsinv(void)
{
	struct sip_via v;
	struct sip_addr a;
	const struct sip_hdr *h;
	const char *why;
	struct pl q;

	if (!valid("wsinv.dat"))
		return;
	CU_ASSERT(L.msg.req);
	CU_ASSERT_EQUAL(L.msg.mid, SIP_M_INVITE);
	PL_EQ(L.msg.ruri.user, "vivekg");
	PL_EQ(L.msg.ruri.host, "chair-dnrc.example.com");
	CU_ASSERT(sip_uri_param(&L.msg.ruri, "unknownparam", NULL));
	PL_EQ(L.msg.to.tag, "1918181833n");
	PL_EQ(L.msg.to.uri.user, "vivekg");
	PL_EQ(L.msg.from.tag, "98asjd8");
	PL_EQ(L.msg.from.dname, "J Rosenberg \\\\\\\"");
	CU_ASSERT(L.msg.from.dname_quoted);
	CU_ASSERT_EQUAL(L.msg.max_forwards, 68);
	CU_ASSERT_EQUAL(L.msg.cseq.num, 9);
	CU_ASSERT_EQUAL(L.msg.cseq.mid, SIP_M_INVITE);
	PL_EQ(L.msg.callid, "wsinv.ndaksdj@192.0.2.1");
	CU_ASSERT_EQUAL(L.msg.clen, 150);
	CU_ASSERT_EQUAL(L.msg.body.l, 150);
	PL_EQ(L.msg.ctype.type, "application");
	PL_EQ(L.msg.ctype.subtype, "sdp");
	/* three Via values: one on a folded line, two on the compact one */
	CU_ASSERT_EQUAL(nvalues(SIP_HDR_VIA), 3);
	PL_EQ(L.msg.via.transport, "UDP");
	PL_EQ(L.msg.via.host, "192.0.2.2");
	CU_ASSERT_EQUAL(L.msg.via.host_type, SIP_HOST_IPV4);
	PL_EQ(L.msg.via.branch, "390skdjuw");
	q = value(SIP_HDR_VIA, 1);
	CU_ASSERT_EQUAL(sip_via_decode(&v, &q, &why), 0);
	PL_EQ(v.transport, "TCP");
	PL_EQ(v.host, "spindle.example.com");
	PL_EQ(v.branch, "z9hG4bK9ikj8");
	q = value(SIP_HDR_VIA, 2);
	CU_ASSERT_EQUAL(sip_via_decode(&v, &q, &why), 0);
	PL_EQ(v.host, "192.168.255.111");
	PL_EQ(v.branch, "z9hG4bK30239");
	/* m: compact Contact with params spread over folded lines */
	q = value(SIP_HDR_CONTACT, 0);
	CU_ASSERT_EQUAL(sip_addr_decode(&a, &q, &why), 0);
	PL_EQ(a.dname, "Quoted string \\\"\\\"");
	PL_EQ(a.uri.user, "jdrosen");
	CU_ASSERT(sip_param_get(&a.params, "newparam", &q));
	PL_EQ(q, "newvalue");
	CU_ASSERT(sip_param_get(&a.params, "secondparam", NULL));
	CU_ASSERT(sip_param_get(&a.params, "q", &q));
	PL_EQ(q, "0.33");
	/* s : (Subject) present and empty; unknown headers kept as written */
	h = sip_msg_hdr(&L.msg, SIP_HDR_SUBJECT);
	CU_ASSERT_PTR_NOT_NULL_FATAL(h);
	CU_ASSERT_EQUAL(h->val.l, 0);
	h = sip_msg_hdr_name(&L.msg, "UnknownHeaderWithUnusualValue");
	CU_ASSERT_PTR_NOT_NULL_FATAL(h);
	PL_EQ(h->val, ";;,,;;,;");
	h = sip_msg_hdr_name(&L.msg, "NewFangledHeader");
	CU_ASSERT_PTR_NOT_NULL_FATAL(h);
	PL_EQ(h->val, "newfangled value\r\n continued newfangled value");
	q = value(SIP_HDR_ROUTE, 0);
	CU_ASSERT_EQUAL(sip_addr_decode(&a, &q, &why), 0);
	CU_ASSERT(a.uri.lr);
	PL_EQ(a.uri.host, "services.example.com");
}

/* §3.1.1.2 Wide range of valid characters */
static void
t_intmeth(void)
{
	static const char todn[] = "BEL:\\\x07 NUL:\\\x00 DEL:\\\x7f";
	const struct sip_hdr *h;

	if (!valid("intmeth.dat"))
		return;
	CU_ASSERT_EQUAL(L.msg.mid, SIP_M_OTHER);
	PL_EQ(L.msg.method, "!interesting-Method0123456789_*+`.%indeed'~");
	CU_ASSERT(pl_eq(&L.msg.cseq.method, &L.msg.method));
	PL_EQ(L.msg.ruri.user,
	      "1_unusual.URI~(to-be!sure)&isn't+it$/crazy?,/;;*");
	PL_EQ(L.msg.ruri.password,
	      "&it+has=1,weird!*pas$wo~d_too.(doesn't-it)");
	PL_EQ(L.msg.ruri.host, "example.com");
	CU_ASSERT_EQUAL(L.msg.to.dname.l, sizeof(todn) - 1);
	CU_ASSERT(L.msg.to.dname.l == sizeof(todn) - 1 &&
		  memcmp(L.msg.to.dname.p, todn, sizeof(todn) - 1) == 0);
	PL_EQ(L.msg.from.dname, "token1~` token2'+_ token3*%!.-");
	CU_ASSERT(!L.msg.from.dname_quoted);
	PL_EQ(L.msg.via.branch, "z9hG4bK-.!%66*_+`'~");
	PL_EQ(L.msg.callid, "intmeth.word%ZK-!.*_+'@word`~)(><:\\/\"][?}{");
	CU_ASSERT_EQUAL(L.msg.max_forwards, 255);
	h = sip_msg_hdr_name(&L.msg, "extensionHeader-!.%*+_`'~");
	CU_ASSERT_PTR_NOT_NULL(h);
}

/* §3.1.1.3 valid use of % escaping */
static void
t_esc01(void)
{
	char out[64];
	size_t n;
	struct sip_addr a;
	struct pl q;
	const char *why;

	if (!valid("esc01.dat"))
		return;
	PL_EQ(L.msg.ruri.user, "sips%3Auser%40example.com");
	CU_ASSERT_EQUAL(sip_uri_unescape(out, sizeof(out), &L.msg.ruri.user,
					 &n), 0);
	CU_ASSERT(n == 21 && memcmp(out, "sips:user@example.com", n) == 0);
	PL_EQ(L.msg.ruri.host, "example.net");
	CU_ASSERT_EQUAL(sip_uri_unescape(out, sizeof(out), &L.msg.to.uri.user,
					 &n), 0);
	CU_ASSERT(n == 4 && memcmp(out, "user", 4) == 0);
	q = value(SIP_HDR_CONTACT, 0);
	CU_ASSERT_EQUAL_FATAL(sip_addr_decode(&a, &q, &why), 0);
	/* n%61me=v%61lue%25%34%31 unescapes once to name=value%41 */
	CU_ASSERT(sip_uri_param(&a.uri, "name", &q));
	CU_ASSERT_EQUAL(sip_uri_unescape(out, sizeof(out), &q, &n), 0);
	CU_ASSERT(n == 8 && memcmp(out, "value%41", 8) == 0);
}

/* §3.1.1.4 escaped nulls */
static void
t_escnull(void)
{
	char out[64];
	size_t n;
	struct sip_addr a;
	struct pl q;
	const char *why;

	if (!valid("escnull.dat"))
		return;
	CU_ASSERT_EQUAL(L.msg.mid, SIP_M_REGISTER);
	CU_ASSERT_EQUAL(sip_uri_unescape(out, sizeof(out), &L.msg.to.uri.user,
					 &n), 0);
	CU_ASSERT(n == 11 && memcmp(out, "null-\0-null", 11) == 0);
	CU_ASSERT_EQUAL(nvalues(SIP_HDR_CONTACT), 2);
	q = value(SIP_HDR_CONTACT, 1);
	CU_ASSERT_EQUAL_FATAL(sip_addr_decode(&a, &q, &why), 0);
	CU_ASSERT_EQUAL(sip_uri_unescape(out, sizeof(out), &a.uri.user, &n),
			0);
	CU_ASSERT(n == 2 && out[0] == 0 && out[1] == 0);
	CU_ASSERT(L.msg.clen_set && L.msg.clen == 0);
}

/* §3.1.1.5 % that is not an escape */
static void
t_esc02(void)
{
	const struct sip_hdr *h;

	if (!valid("esc02.dat"))
		return;
	CU_ASSERT_EQUAL(L.msg.mid, SIP_M_OTHER);
	PL_EQ(L.msg.method, "RE%47IST%45R");
	PL_EQ(L.msg.from.dname, "%Z%45");
	PL_EQ(L.msg.via.branch, "z9hG4bK209%fzsnel234");
	CU_ASSERT_EQUAL(nvalues(SIP_HDR_CONTACT), 2);
	h = sip_msg_hdr_name(&L.msg, "C%6Fntact");
	CU_ASSERT_PTR_NOT_NULL_FATAL(h);
	CU_ASSERT_EQUAL(h->id, SIP_HDR_OTHER);
}

static void
t_lwsdisp(void)
{
	if (!valid("lwsdisp.dat"))
		return;
	PL_EQ(L.msg.from.dname, "caller");
	PL_EQ(L.msg.from.uri.user, "caller");
	PL_EQ(L.msg.from.tag, "323");
}

static void
t_longreq(void)
{
	if (!valid("longreq.dat"))
		return;
	CU_ASSERT(L.msg.to.dname.l > 80);
	CU_ASSERT_EQUAL(L.msg.to.uri.port, 6000);
	CU_ASSERT(L.msg.from.tag.l > 100);
	CU_ASSERT(L.msg.callid.l > 100);
	CU_ASSERT(nvalues(SIP_HDR_VIA) >= 10);
	CU_ASSERT_EQUAL(L.msg.body.l, L.msg.clen);
}

/* §3.1.1.8: trailing octets after the body are not part of the message */
static void
t_dblreq(void)
{
	if (!valid("dblreq.dat"))
		return;
	CU_ASSERT_EQUAL(L.msg.mid, SIP_M_REGISTER);
	CU_ASSERT_EQUAL(L.msg.body.l, 0);
	CU_ASSERT(L.msg.len < L.len);
	CU_ASSERT(L.msg.len >= 4 &&
		  memcmp(L.msg.buf + L.msg.len - 4, "\r\n\r\n", 4) == 0);
	PL_EQ(L.msg.callid, "dblreq.0ha0isndaksdj99sdfafnl3lk233412");
}

static void
t_semiuri(void)
{
	if (!valid("semiuri.dat"))
		return;
	PL_EQ(L.msg.ruri.user, "user;par=u%40example.net");
	PL_EQ(L.msg.ruri.host, "example.com");
	CU_ASSERT_EQUAL(L.msg.ruri.params.l, 0);
	CU_ASSERT_EQUAL(nvalues(SIP_HDR_ACCEPT), 6);
}

static void
t_transports(void)
{
	static const char *tp[] = {"UDP", "SCTP", "TLS", "UNKNOWN", "TCP"};
	struct sip_via v;
	const char *why;
	int i;

	if (!valid("transports.dat"))
		return;
	CU_ASSERT_EQUAL_FATAL(nvalues(SIP_HDR_VIA), 5);
	for (i = 0; i < 5; i++) {
		struct pl q = value(SIP_HDR_VIA, i);

		CU_ASSERT_EQUAL(sip_via_decode(&v, &q, &why), 0);
		PL_EQ(v.transport, tp[i]);
	}
}

/* §3.1.1.11 multipart body framed by Content-Length, binary part */
static void
t_mpart01(void)
{
	struct sip_mpart_iter it;
	struct pl ph, pb;
	int n = 0, nul = 0;

	if (!valid("mpart01.dat"))
		return;
	PL_EQ(L.msg.ctype.type, "multipart");
	PL_EQ(L.msg.ctype.subtype, "mixed");
	PL_EQ(L.msg.ctype.boundary, "7a9cbec02ceef655");
	CU_ASSERT_EQUAL(L.msg.body.l, 553);
	CU_ASSERT(L.msg.via.rport);
	sip_mpart_iter_init(&it, &L.msg.body, &L.msg.ctype.boundary);
	while (sip_mpart_next(&it, &ph, &pb) == 0) {
		n++;
		if (memchr(pb.p, 0, pb.l))
			nul++;
	}
	CU_ASSERT_EQUAL(n, 2);
	CU_ASSERT_EQUAL(nul, 1);
}

static void
t_unreason(void)
{
	if (!valid("unreason.dat"))
		return;
	CU_ASSERT(!L.msg.req);
	CU_ASSERT_EQUAL(L.msg.status, 200);
	CU_ASSERT(L.msg.reason.l > 14 &&
		  memcmp(L.msg.reason.p, "= 2**3 * 5**2 ", 14) == 0);
	CU_ASSERT_EQUAL(L.msg.body.l, 154);
}

static void
t_noreason(void)
{
	if (!valid("noreason.dat"))
		return;
	CU_ASSERT_EQUAL(L.msg.status, 100);
	CU_ASSERT_EQUAL(L.msg.reason.l, 0);
	PL_EQ(L.msg.to.tag, "902jndnke3");
}

/* §3.2-3.4: syntactically valid; the semantics are the UA core's job. */
static void
t_semantic_valid(void)
{
	struct sip_auth au;
	struct pl q;
	const char *why;

	if (valid("badbranch.dat"))
		PL_EQ(L.msg.via.branch, "z9hG4bK");
	if (valid("unkscm.dat")) {
		CU_ASSERT_EQUAL(L.msg.ruri.scheme, SIP_URI_OTHER);
		PL_EQ(L.msg.ruri.scheme_pl, "nobodyKnowsThisScheme");
	}
	if (valid("novelsc.dat"))
		CU_ASSERT_EQUAL(L.msg.ruri.scheme, SIP_URI_OTHER);
	if (valid("unksm2.dat")) {
		CU_ASSERT_EQUAL(L.msg.to.uri.scheme, SIP_URI_OTHER);
		PL_EQ(L.msg.to.uri.scheme_pl, "isbn");
		CU_ASSERT_EQUAL(L.msg.from.uri.scheme, SIP_URI_OTHER);
		PL_EQ(L.msg.from.tag, "3234233");
	}
	if (valid("bext01.dat")) {
		CU_ASSERT_EQUAL(nvalues(SIP_HDR_REQUIRE), 2);
		q = value(SIP_HDR_PROXY_REQUIRE, 1);
		PL_EQ(q, "norDoAnyProxiesSupportThis");
	}
	if (valid("invut.dat")) {
		PL_EQ(L.msg.ctype.subtype, "unknownformat");
		CU_ASSERT_EQUAL(L.msg.body.l, 40);
	}
	if (valid("regaut01.dat")) {
		const struct sip_hdr *h =
			sip_msg_hdr(&L.msg, SIP_HDR_AUTHORIZATION);

		CU_ASSERT_PTR_NOT_NULL_FATAL(h);
		CU_ASSERT_EQUAL(sip_auth_decode(&au, &h->val, &why), 0);
		PL_EQ(au.scheme, "NoOneKnowsThisScheme");
	}
	if (valid("bcast.dat"))
		CU_ASSERT_EQUAL(nvalues(SIP_HDR_VIA), 2);
	if (valid("zeromf.dat"))
		CU_ASSERT_EQUAL(L.msg.max_forwards, 0);
	if (valid("sdp01.dat"))
		CU_ASSERT_EQUAL(L.msg.body.l, 150);
}

/* §3.3.12-14: where a Contact parameter belongs */
static void
t_contact_params(void)
{
	struct sip_addr a;
	struct pl q;
	const char *why;

	if (valid("cparam01.dat")) {
		q = value(SIP_HDR_CONTACT, 0);
		CU_ASSERT_EQUAL_FATAL(sip_addr_decode(&a, &q, &why), 0);
		CU_ASSERT(!a.angle);
		CU_ASSERT(!sip_uri_param(&a.uri, "unknownparam", NULL));
		CU_ASSERT(sip_param_get(&a.params, "unknownparam", NULL));
		PL_EQ(a.uri.user, "+19725552222");
	}
	if (valid("cparam02.dat")) {
		q = value(SIP_HDR_CONTACT, 0);
		CU_ASSERT_EQUAL_FATAL(sip_addr_decode(&a, &q, &why), 0);
		CU_ASSERT(a.angle);
		CU_ASSERT(sip_uri_param(&a.uri, "unknownparam", NULL));
		CU_ASSERT(!sip_param_get(&a.params, "unknownparam", NULL));
	}
	if (valid("regescrt.dat")) {
		q = value(SIP_HDR_CONTACT, 0);
		CU_ASSERT_EQUAL_FATAL(sip_addr_decode(&a, &q, &why), 0);
		PL_EQ(a.uri.headers, "Route=%3Csip:sip.example.com%3E");
	}
}

/* §3.4.1 RFC 2543 syntax: no branch, no tag, no Content-Length */
static void
t_inv2543(void)
{
	if (!valid("inv2543.dat"))
		return;
	CU_ASSERT(!pl_isset(&L.msg.via.branch));
	CU_ASSERT(!pl_isset(&L.msg.from.tag));
	CU_ASSERT(!L.msg.clen_set);
	CU_ASSERT_EQUAL(L.msg.max_forwards, -1);
	CU_ASSERT(L.msg.body.l > 0);
	CU_ASSERT_EQUAL((size_t)(L.msg.body.p + L.msg.body.l - L.buf), L.len);
}

static const int H_START[] = {START_LINE, 0};
static const int H_CL[] = {SIP_HDR_CONTENT_LENGTH, 0};

static void
t_invalid(void)
{
	static const int via_contact[] = {SIP_HDR_VIA, SIP_HDR_CONTACT, 0};
	static const int scalar[] = {SIP_HDR_CSEQ, SIP_HDR_MAX_FORWARDS, 0};
	static const int to[] = {SIP_HDR_TO, 0};
	static const int date[] = {SIP_HDR_DATE, 0};
	static const int contact[] = {SIP_HDR_CONTACT, 0};
	static const int cseq[] = {SIP_HDR_CSEQ, 0};
	static const int insuf[] = {SIP_HDR_CALL_ID, SIP_HDR_FROM, SIP_HDR_TO,
				    0};
	static const int multi[] = {SIP_HDR_CSEQ, SIP_HDR_CALL_ID, SIP_HDR_TO,
				    SIP_HDR_FROM, 0};
	static const int baddn[] = {START_LINE, SIP_HDR_FROM, SIP_HDR_TO, 0};

	invalid("badinv01.dat", 400, via_contact);
	invalid("clerr.dat", 400, H_CL);
	invalid("ncl.dat", 400, H_CL);
	invalid("scalar02.dat", 400, scalar);
	invalid("scalarlg.dat", 0, NULL); /* a response: dropped */
	invalid("quotbal.dat", 400, to);
	invalid("ltgtruri.dat", 400, H_START);
	invalid("lwsruri.dat", 400, H_START);
	invalid("lwsstart.dat", 400, H_START);
	invalid("trws.dat", 400, H_START);
	invalid("baddate.dat", 400, date);
	invalid("regbadct.dat", 400, contact);
	invalid("badaspec.dat", 400, to);
	invalid("baddn.dat", 400, baddn);
	invalid("badvers.dat", 505, H_START);
	invalid("mismatch01.dat", 400, cseq);
	invalid("mismatch02.dat", 400, cseq);
	invalid("bigcode.dat", 0, H_START); /* a response: dropped */
	invalid("insuf.dat", 400, insuf);
	invalid("multi01.dat", 400, multi);
	invalid("mcl01.dat", 400, H_CL);
	invalid("test.dat", 400, NULL);
}

/* §3.1.2.11: we take the liberal option and keep the escaped headers in
   the R-URI (the B2BUA never forwards them), or reject with 400. */
static void
t_escruri(void)
{
	if (load("rfc4475", "escruri.dat"))
		return;
	if (L.rc == 0) {
		PL_EQ(L.msg.ruri.headers, "Route=%3Csip:example.com%3E");
	} else {
		CU_ASSERT_EQUAL(L.err.status, 400);
	}
}

/* Every file of the corpus: no crash, and a phrase for every refusal. */
static void
t_every_file_phrase(void)
{
	static const char *files[] = {
		"badaspec.dat", "badbranch.dat", "baddate.dat", "baddn.dat",
		"badinv01.dat", "badvers.dat", "bcast.dat", "bext01.dat",
		"bigcode.dat", "clerr.dat", "cparam01.dat", "cparam02.dat",
		"dblreq.dat", "esc01.dat", "esc02.dat", "escnull.dat",
		"escruri.dat", "insuf.dat", "intmeth.dat", "inv2543.dat",
		"invut.dat", "longreq.dat", "ltgtruri.dat", "lwsdisp.dat",
		"lwsruri.dat", "lwsstart.dat", "mcl01.dat", "mismatch01.dat",
		"mismatch02.dat", "mpart01.dat", "multi01.dat", "ncl.dat",
		"noreason.dat", "novelsc.dat", "quotbal.dat", "regaut01.dat",
		"regbadct.dat", "regescrt.dat", "scalar02.dat", "scalarlg.dat",
		"sdp01.dat", "semiuri.dat", "test.dat", "transports.dat",
		"trws.dat", "unkscm.dat", "unksm2.dat", "unreason.dat",
		"wsinv.dat", "zeromf.dat"};
	size_t i;

	for (i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		char phrase[256];

		if (load("rfc4475", files[i]))
			continue;
		if (L.rc == 0)
			continue;
		sip_perr_phrase(&L.err, phrase, sizeof(phrase));
		CU_ASSERT(strlen(phrase) > 4);
		CU_ASSERT(strpbrk(phrase, "\r\n") == NULL);
	}
}

/* RFC 5118: IPv6 in SIP, the wire (CRLF) versions. */
static int
v6(const char *name)
{
	char file[256];

	snprintf(file, sizeof(file), "%s.sip", name);
	if (load("rfc5118/wire", file))
		return 0;
	CU_ASSERT_EQUAL(L.rc, 0);
	return L.rc == 0;
}

static void
t_rfc5118(void)
{
	struct sip_addr a;
	struct sip_via v;
	struct pl q;
	const char *why;

	if (v6("ipv6-good")) {
		CU_ASSERT_EQUAL(L.msg.ruri.host_type, SIP_HOST_IPV6);
		PL_EQ(L.msg.ruri.host, "2001:db8::10");
		PL_EQ(L.msg.via.host, "2001:db8::9:1");
		CU_ASSERT_EQUAL(L.msg.via.host_type, SIP_HOST_IPV6);
		q = value(SIP_HDR_CONTACT, 0);
		CU_ASSERT_EQUAL(sip_addr_decode(&a, &q, &why), 0);
		PL_EQ(a.uri.host, "2001:db8::1");
	}
	if (load("rfc5118/wire", "ipv6-bad.sip") == 0) {
		CU_ASSERT_EQUAL(L.rc, EBADMSG);
		CU_ASSERT_EQUAL(L.err.status, 400);
	}
	if (v6("port-ambiguous")) {
		PL_EQ(L.msg.ruri.host, "2001:db8::10:5070");
		CU_ASSERT(!L.msg.ruri.port_set);
	}
	if (v6("port-unambiguous")) {
		PL_EQ(L.msg.ruri.host, "2001:db8::10");
		CU_ASSERT_EQUAL(L.msg.ruri.port, 5070);
	}
	if (v6("via-received-param-with-delim"))
		PL_EQ(L.msg.via.branch, "z9hG4bKas3-111");
	if (v6("via-received-param-no-delim")) {
		PL_EQ(L.msg.via.received, "2001:db8::9:255");
		PL_EQ(L.msg.via.branch, "z9hG4bKas3");
	}
	if (v6("ipv6-in-sdp"))
		CU_ASSERT_EQUAL(L.msg.body.l, L.msg.clen);
	if (v6("mult-ip-in-header")) {
		CU_ASSERT_EQUAL(L.msg.via.port, 6050);
		q = value(SIP_HDR_VIA, 1);
		CU_ASSERT_EQUAL(sip_via_decode(&v, &q, &why), 0);
		CU_ASSERT_EQUAL(v.host_type, SIP_HOST_IPV4);
		q = value(SIP_HDR_VIA, 2);
		CU_ASSERT_EQUAL(sip_via_decode(&v, &q, &why), 0);
		CU_ASSERT_EQUAL(v.host_type, SIP_HOST_IPV6);
		PL_EQ(v.received, "192.0.2.200");
	}
	v6("mult-ip-in-sdp");
	if (v6("ipv4-mapped-ipv6"))
		PL_EQ(L.msg.via.host, "::ffff:192.0.2.10");
	/* RFC 5118 §4.10: tolerate the 3-colon form of RFC 3261's ABNF bug */
	if (v6("ipv6-bug-abnf-3-colons"))
		PL_EQ(L.msg.ruri.host, "2001:db8:::192.0.2.1");
	if (v6("ipv6-correct-abnf-2-colons"))
		PL_EQ(L.msg.ruri.host, "2001:db8::192.0.2.1");
}

/* RFC 5118 archive bytes as is: bare LF line ends; two have no empty line
   ending the header section. Whatever the verdict: no crash, a reason. */
static void
t_rfc5118_archive(void)
{
	static const char *files[] = {
		"ipv4-mapped-ipv6", "ipv6-bad", "ipv6-bug-abnf-3-colons",
		"ipv6-correct-abnf-2-colons", "ipv6-good", "ipv6-in-sdp",
		"mult-ip-in-header", "mult-ip-in-sdp", "port-ambiguous",
		"port-unambiguous", "via-received-param-no-delim",
		"via-received-param-with-delim"};
	size_t i;

	for (i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		if (load("rfc5118", files[i]))
			continue;
		CU_ASSERT(L.rc == 0 || (L.rc == EBADMSG && L.err.what));
	}
}

static void
t_cleanup(void)
{
	free(L.buf);
	memset(&L, 0, sizeof(L));
}

void test_rfc4475_register(void);
void
test_rfc4475_register(void)
{
	CU_pSuite s = tu_suite("rfc4475");

	if (tu_corpus_missing("rfc4475") || tu_corpus_missing("rfc5118"))
		return;
	TU_ADD(s, t_wsinv);
	TU_ADD(s, t_intmeth);
	TU_ADD(s, t_esc01);
	TU_ADD(s, t_escnull);
	TU_ADD(s, t_esc02);
	TU_ADD(s, t_lwsdisp);
	TU_ADD(s, t_longreq);
	TU_ADD(s, t_dblreq);
	TU_ADD(s, t_semiuri);
	TU_ADD(s, t_transports);
	TU_ADD(s, t_mpart01);
	TU_ADD(s, t_unreason);
	TU_ADD(s, t_noreason);
	TU_ADD(s, t_semantic_valid);
	TU_ADD(s, t_contact_params);
	TU_ADD(s, t_inv2543);
	TU_ADD(s, t_invalid);
	TU_ADD(s, t_escruri);
	TU_ADD(s, t_every_file_phrase);
	TU_ADD(s, t_rfc5118);
	TU_ADD(s, t_rfc5118_archive);
	TU_ADD(s, t_cleanup);
}
