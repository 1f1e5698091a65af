/* Unit tests: name-addr / addr-spec decoding (stack/sip_addr.c), RFC 3261
   §20.10, §20.20, §20.39, §25.1, with the RFC 4475 header lines quoted. */
#include <errno.h>
#include <string.h>

#include "stack/sip_msg.h"
#include "testutil.h"

static const char *why;

static int
decn(struct sip_addr *a, const char *s, size_t n)
{
	struct pl p = {s, n};

	why = NULL;
	return sip_addr_decode(a, &p, &why);
}

static int
dec(struct sip_addr *a, const char *s)
{
	return decn(a, s, strlen(s));
}

static void
bad(const char *s, const char *expect)
{
	struct sip_addr a;
	int err = dec(&a, s);

	CU_ASSERT_EQUAL(err, EBADMSG);
	CU_ASSERT_PTR_NOT_NULL(why);
	if (err != EBADMSG)
		fprintf(stderr, "\n  accepted bad value: %s\n", s);
	else if (expect && why)
		CU_ASSERT_STRING_EQUAL(why, expect);
}

#define PLEQ(pl, s) CU_ASSERT(pl_eq_str(&(pl), (s)))
#define ABSENT(pl) CU_ASSERT(!pl_isset(&(pl)))

static void
test_addr_spec(void)
{
	struct sip_addr a;

	/* "To: sip:user@example.com" */
	CU_ASSERT_EQUAL(dec(&a, "sip:user@example.com"), 0);
	CU_ASSERT_FALSE(a.angle);
	CU_ASSERT_FALSE(a.star);
	ABSENT(a.dname);
	CU_ASSERT_FALSE(a.dname_quoted);
	PLEQ(a.uri_raw, "sip:user@example.com");
	CU_ASSERT_EQUAL(a.uri.scheme, SIP_URI_SIP);
	PLEQ(a.uri.user, "user");
	PLEQ(a.uri.host, "example.com");
	CU_ASSERT_EQUAL(a.params.l, 0);
	ABSENT(a.tag);
	PLEQ(a.raw, "sip:user@example.com");

	/* cparam01.dat: "Contact: sip:+19725552222@gw1.example.net;
	   unknownparam": the param belongs to the header, not the URI */
	CU_ASSERT_EQUAL(dec(&a, "sip:+19725552222@gw1.example.net;"
				"unknownparam"),
			0);
	CU_ASSERT_FALSE(a.angle);
	PLEQ(a.uri_raw, "sip:+19725552222@gw1.example.net");
	PLEQ(a.uri.user, "+19725552222");
	CU_ASSERT_EQUAL(a.uri.params.l, 0);
	PLEQ(a.params, ";unknownparam");

	/* inv2543.dat: "To: sip:+16505552222@ss1.example.net;user=phone" */
	CU_ASSERT_EQUAL(dec(&a, "sip:+16505552222@ss1.example.net;user=phone"),
			0);
	ABSENT(a.uri.user_param);
	PLEQ(a.params, ";user=phone");

	/* escnull.dat: "From: sip:null-%00-null@example.com;tag=839923423" */
	CU_ASSERT_EQUAL(dec(&a, "sip:null-%00-null@example.com;tag=839923423"),
			0);
	PLEQ(a.uri.user, "null-%00-null");
	PLEQ(a.tag, "839923423");

	/* wsinv.dat: "TO :\r\n sip:vivekg@chair-dnrc.example.com ;   tag
	   = 1918181833n" (value after the header layer trimmed it) */
	CU_ASSERT_EQUAL(dec(&a, "sip:vivekg@chair-dnrc.example.com ;   tag   "
				" = 1918181833n"),
			0);
	PLEQ(a.uri_raw, "sip:vivekg@chair-dnrc.example.com");
	PLEQ(a.tag, "1918181833n");
	PLEQ(a.params, ";   tag    = 1918181833n");

	/* unksm2.dat: "To: isbn:2983792873" */
	CU_ASSERT_EQUAL(dec(&a, "isbn:2983792873"), 0);
	CU_ASSERT_EQUAL(a.uri.scheme, SIP_URI_OTHER);
	PLEQ(a.uri.opaque, "2983792873");
	CU_ASSERT_EQUAL(dec(&a, "tel:+1-201-555-0123;tag=x"), 0);
	CU_ASSERT_EQUAL(a.uri.scheme, SIP_URI_TEL);
	PLEQ(a.uri.number, "+1-201-555-0123");
	PLEQ(a.tag, "x");
}

static void
test_name_addr(void)
{
	struct sip_addr a;

	/* cparam02.dat: "Contact: <sip:+19725552222@gw1.example.net;
	   unknownparam>" */
	CU_ASSERT_EQUAL(dec(&a, "<sip:+19725552222@gw1.example.net;"
				"unknownparam>"),
			0);
	CU_ASSERT_TRUE(a.angle);
	ABSENT(a.dname);
	PLEQ(a.uri_raw, "sip:+19725552222@gw1.example.net;unknownparam");
	PLEQ(a.uri.params, ";unknownparam");
	CU_ASSERT_EQUAL(a.params.l, 0);

	/* badaspec.dat: "From: "Bell, Alexander"
	   <sip:a.g.bell@example.com>;tag=433423" */
	CU_ASSERT_EQUAL(dec(&a, "\"Bell, Alexander\" <sip:a.g.bell@example.com>"
				";tag=433423"),
			0);
	CU_ASSERT_TRUE(a.dname_quoted);
	PLEQ(a.dname, "Bell, Alexander");
	PLEQ(a.uri.user, "a.g.bell");
	PLEQ(a.tag, "433423");
	PLEQ(a.params, ";tag=433423");

	/* "From:    A. Bell <sip:a.g.bell@example.com>;tag=qweoiqpe" */
	CU_ASSERT_EQUAL(dec(&a, "A. Bell <sip:a.g.bell@example.com>;"
				"tag=qweoiqpe"),
			0);
	CU_ASSERT_FALSE(a.dname_quoted);
	PLEQ(a.dname, "A. Bell");
	PLEQ(a.tag, "qweoiqpe");

	/* lwsdisp.dat: "From: caller<sip:caller@example.com>;tag=323" */
	CU_ASSERT_EQUAL(dec(&a, "caller<sip:caller@example.com>;tag=323"), 0);
	PLEQ(a.dname, "caller");
	PLEQ(a.uri.user, "caller");
	PLEQ(a.tag, "323");

	/* unksm2.dat: "From: <http://www.example.com>;tag=3234233",
	   "Contact: <name:John_Smith>" */
	CU_ASSERT_EQUAL(dec(&a, "<http://www.example.com>;tag=3234233"), 0);
	CU_ASSERT_EQUAL(a.uri.scheme, SIP_URI_OTHER);
	PLEQ(a.uri.scheme_pl, "http");
	PLEQ(a.tag, "3234233");
	CU_ASSERT_EQUAL(dec(&a, "<name:John_Smith>"), 0);
	CU_ASSERT_EQUAL(a.uri.scheme, SIP_URI_OTHER);
	PLEQ(a.uri.opaque, "John_Smith");

	/* inv2543.dat: "From: <sip:+13035551111@ift.client.example.net;
	   user=phone>" */
	CU_ASSERT_EQUAL(dec(&a, "<sip:+13035551111@ift.client.example.net;"
				"user=phone>"),
			0);
	PLEQ(a.uri.user_param, "phone");
	CU_ASSERT_EQUAL(a.params.l, 0);

	/* wsinv.dat: "Route:\r\n <sip:services.example.com;lr;unknownwith=
	   value;unknown-no-value>" */
	CU_ASSERT_EQUAL(dec(&a, "<sip:services.example.com;lr;unknownwith="
				"value;unknown-no-value>"),
			0);
	CU_ASSERT_TRUE(a.uri.lr);

	/* regbadct.dat's URI is fine inside <> (RFC 4475 §3.1.2.13) */
	CU_ASSERT_EQUAL(dec(&a, "<sip:user@example.com?Route=%3Csip:sip."
				"example.com%3E>"),
			0);
	PLEQ(a.uri.headers, "Route=%3Csip:sip.example.com%3E");

	/* Contact header params, an IPv6 and a quoted gen-value */
	CU_ASSERT_EQUAL(dec(&a, "<sip:a@b>;expires=3600;q=0.7;"
				"received=[2001:db8::9:255];x=\"a;b\""),
			0);
	PLEQ(a.params, ";expires=3600;q=0.7;received=[2001:db8::9:255];"
		       "x=\"a;b\"");
	ABSENT(a.tag);
	CU_ASSERT_EQUAL(dec(&a, "\"\" <sip:a@b>"), 0);
	CU_ASSERT_TRUE(a.dname_quoted);
	CU_ASSERT_PTR_NOT_NULL(a.dname.p);
	CU_ASSERT_EQUAL(a.dname.l, 0);
	/* folded LWS between display-name tokens and before '<' */
	CU_ASSERT_EQUAL(dec(&a, "Bell\r\n Alexander\r\n\t<sip:a@b>"), 0);
	PLEQ(a.dname, "Bell\r\n Alexander");
	/* tag name is case-insensitive */
	CU_ASSERT_EQUAL(dec(&a, "<sip:a@b>;TAG=abc"), 0);
	PLEQ(a.tag, "abc");
}

/* RFC 4475 wsinv and intmeth display names. */
static void
test_display_names(void)
{
	struct sip_addr a;
	/* intmeth.dat: To: "BEL:\<BEL> NUL:\<NUL> DEL:\<DEL>" <sip:1_unusual.
	   URI~(to-be!sure)&isn't+it$/crazy?,/;;*@example.com> */
	static const char to[] =
		"\"BEL:\\\x07 NUL:\\\x00 DEL:\\\x7f\" <sip:1_unusual.URI~"
		"(to-be!sure)&isn't+it$/crazy?,/;;*@example.com>";
	static const char dn[] = "BEL:\\\x07 NUL:\\\x00 DEL:\\\x7f";

	CU_ASSERT_EQUAL(decn(&a, to, sizeof(to) - 1), 0);
	CU_ASSERT_TRUE(a.dname_quoted);
	CU_ASSERT_EQUAL(a.dname.l, sizeof(dn) - 1);
	CU_ASSERT_EQUAL(memcmp(a.dname.p, dn, sizeof(dn) - 1), 0);
	PLEQ(a.uri.user, "1_unusual.URI~(to-be!sure)&isn't+it$/crazy?,/;;*");
	PLEQ(a.uri.host, "example.com");
	/* a raw NUL (not a quoted-pair) is not qdtext */
	CU_ASSERT_EQUAL(decn(&a, "\"a\0b\" <sip:a@b>", 14), EBADMSG);

	/* intmeth.dat From */
	CU_ASSERT_EQUAL(dec(&a, "token1~` token2'+_ token3*%!.- <sip:mundane@"
				"example.com>;fromParam''~+*_!.-%=\"\xd1\x80"
				"\xd0\xb0\xd0\xb1\xd0\xbe\xd1\x82\xd0\xb0\xd1"
				"\x8e\xd1\x89\xd0\xb8\xd0\xb9\";tag=_token~1'+`"
				"*%!-."),
			0);
	CU_ASSERT_FALSE(a.dname_quoted);
	PLEQ(a.dname, "token1~` token2'+_ token3*%!.-");
	PLEQ(a.uri.user, "mundane");
	PLEQ(a.tag, "_token~1'+`*%!-.");

	/* wsinv.dat: from   : "J Rosenberg \\\""       <sip:jdrosen@example.
	   com>\r\n  ;\r\n  tag = 98asjd8 */
	CU_ASSERT_EQUAL(dec(&a, "\"J Rosenberg \\\\\\\"\"       <sip:jdrosen@"
				"example.com>\r\n  ;\r\n  tag = 98asjd8"),
			0);
	PLEQ(a.dname, "J Rosenberg \\\\\\\"");
	PLEQ(a.uri.user, "jdrosen");
	PLEQ(a.tag, "98asjd8");
	PLEQ(a.params, ";\r\n  tag = 98asjd8");

	/* wsinv.dat: m:"Quoted string \"\"" <sip:jdrosen@example.com> ;
	   newparam =\r\n      newvalue ;\r\n  secondparam ; q = 0.33 */
	CU_ASSERT_EQUAL(dec(&a, "\"Quoted string \\\"\\\"\" <sip:jdrosen@"
				"example.com> ; newparam =\r\n      newvalue ;"
				"\r\n  secondparam ; q = 0.33"),
			0);
	PLEQ(a.dname, "Quoted string \\\"\\\"");
	PLEQ(a.params, "; newparam =\r\n      newvalue ;\r\n  secondparam ; "
		       "q = 0.33");
	ABSENT(a.tag);

	/* esc02.dat: To: "%Z%45" <sip:resource@example.com> */
	CU_ASSERT_EQUAL(dec(&a, "\"%Z%45\" <sip:resource@example.com>"), 0);
	PLEQ(a.dname, "%Z%45");

	/* longreq.dat: quoted name with no LWS before '<' */
	CU_ASSERT_EQUAL(dec(&a, "\"I have a user name of extreme proportion\""
				"<sip:user@example.com:6000;unknownparam1=x>"),
			0);
	PLEQ(a.dname, "I have a user name of extreme proportion");
	CU_ASSERT_EQUAL(a.uri.port, 6000);
}

static void
test_star(void)
{
	struct sip_addr a;

	/* §20.10 "Contact: *" */
	CU_ASSERT_EQUAL(dec(&a, "*"), 0);
	CU_ASSERT_TRUE(a.star);
	CU_ASSERT_EQUAL(dec(&a, " * "), 0);
	CU_ASSERT_TRUE(a.star);
	CU_ASSERT_EQUAL(dec(&a, "* <sip:a@b>"), 0); /* "*" display name */
	CU_ASSERT_FALSE(a.star);
	PLEQ(a.dname, "*");
	bad("*;expires=0", NULL);
}

static void
test_bad(void)
{
	/* badaspec.dat: To: "Watson, Thomas" < sip:t.watson@example.org > */
	bad("\"Watson, Thomas\" < sip:t.watson@example.org >",
	    "whitespace inside <>");
	bad("<sip:t.watson@example.org >", "whitespace inside <>");
	/* baddn.dat: From:    Bell, Alexander <sip:a.g.bell@example.com>;
	   tag=43 (whole, and the list layer's two elements) */
	bad("Bell, Alexander <sip:a.g.bell@example.com>;tag=43",
	    "bad display name");
	bad("Bell", NULL);
	bad("Watson, Thomas <sip:t.watson@example.org>", "bad display name");
	/* quotbal.dat: To: "Mr. J. User <sip:j.user@example.com> */
	bad("\"Mr. J. User <sip:j.user@example.com>",
	    "unterminated quoted string");
	/* regbadct.dat: Contact: sip:user@example.com?Route=%3Csip:sip.
	   example.com%3E */
	bad("sip:user@example.com?Route=%3Csip:sip.example.com%3E",
	    "URI with '?' or ',' outside <>");
	bad("sip:a,b@example.com", NULL);
	/* badinv01.dat: Contact: "Joe" <sip:joe@example.org>;;;; */
	bad("\"Joe\" <sip:joe@example.org>;;;;", "empty header parameter");
	/* an unknown scheme still has to be a URI */
	bad("ralph@example.com", NULL);
	bad("<sip:a@b", "missing '>'");
	bad("<>", "empty URI");
	bad("\"x\" sip:a@b", "missing '<' after display name");
	bad("<sip:a@b>x", "junk after '>'");
	bad("sip:a@b c", "junk after URI");
	bad("<sip:a@b>;tag", "bad tag");
	bad("<sip:a@b>;tag=\"q\"", "bad tag");
	bad("<sip:a@b>;tag=1;tag=2", "duplicate tag");
	bad("<sip:a@b>;=x", "empty header parameter");
	bad("<sip:a@b>;x=", "empty parameter value");
	bad("<sip:a@b>;x=\"open", "unterminated quoted string");
	bad("<sip:a@b>;x=[1::2", NULL);
	bad("<sip:a@b>;x=1 y", NULL);
	bad("", "empty value");
	bad("  \t", "empty value");
	bad("\"a\rb\" <sip:a@b>", NULL);
	bad("\"a\\", "unterminated quoted string");
	bad("<sip:a@b:0>", "bad port");
	bad("<sip:a@b> <sip:c@d>", NULL);
	bad("a <b <sip:a@b>", NULL);
	bad("\"a\" \"b\" <sip:a@b>", NULL);
}

/* Every field is reset on each call, whichever path returns, and the
   common shapes decode in full. */
static void
test_reset_and_shapes(void)
{
	struct sip_addr a;

	CU_ASSERT_EQUAL(dec(&a, "\"Alice \\\"A\\\" \xc3\xa9\" "
				"<sip:+4989111222333@carrier.example.com;"
				"user=phone>;tag=as6f7a2b1c"),
			0);
	PLEQ(a.dname, "Alice \\\"A\\\" \xc3\xa9");
	PLEQ(a.uri.user, "+4989111222333");
	PLEQ(a.uri.user_param, "phone");
	PLEQ(a.tag, "as6f7a2b1c");
	CU_ASSERT_EQUAL(dec(&a, "*"), 0);
	CU_ASSERT(a.star);
	ABSENT(a.dname);
	ABSENT(a.tag);
	ABSENT(a.uri.host);
	ABSENT(a.uri.user_param);
	CU_ASSERT_EQUAL(a.uri.scheme, SIP_URI_SIP);
	CU_ASSERT_EQUAL(dec(&a, "<sip:trunk42@192.0.2.50:5060;transport=udp>"
				";expires=3600"),
			0);
	PLEQ(a.uri.host, "192.0.2.50");
	PLEQ(a.params, ";expires=3600");
	ABSENT(a.tag);
	CU_ASSERT_EQUAL(dec(&a, "\"unterminated <sip:a@b>"), EBADMSG);
	CU_ASSERT_STRING_EQUAL(why, "unterminated quoted string");
	ABSENT(a.uri.host);
	ABSENT(a.uri.raw);
	/* every slice of a failed decode is reset, whatever the struct held
	   (the decoder clears each on its own, see sip_addr_decode()) */
	CU_ASSERT_EQUAL(dec(&a, "\"B\" <sip:b@example.com;lr>;tag=7;x=1"), 0);
	PLEQ(a.params, ";tag=7;x=1");
	PLEQ(a.raw, "\"B\" <sip:b@example.com;lr>;tag=7;x=1");
	PLEQ(a.uri.raw, "sip:b@example.com;lr");
	CU_ASSERT_EQUAL(dec(&a, "<sip:b@example.com;lr"), EBADMSG);
	CU_ASSERT_STRING_EQUAL(why, "missing '>'");
	PLEQ(a.raw, "<sip:b@example.com;lr");
	ABSENT(a.dname);
	ABSENT(a.params);
	ABSENT(a.tag);
	ABSENT(a.uri_raw);
	ABSENT(a.uri.raw);
	CU_ASSERT(!a.angle && !a.dname_quoted && !a.star);
	CU_ASSERT_EQUAL(dec(&a, ""), EBADMSG);
	ABSENT(a.raw);
	ABSENT(a.params);
	bad("<sip:a@b;x=\">", "invalid character in URI");
}

void test_addr_register(void);
void
test_addr_register(void)
{
	CU_pSuite s = tu_suite("addr");

	TU_ADD(s, test_addr_spec);
	TU_ADD(s, test_name_addr);
	TU_ADD(s, test_display_names);
	TU_ADD(s, test_star);
	TU_ADD(s, test_bad);
	TU_ADD(s, test_reset_and_shapes);
}
