/* Unit tests: SIP/SIPS/tel/other URIs (stack/sip_uri.c): RFC 3261 §19.1,
   RFC 3966, RFC 5118, RFC 4475 URI cases, §19.1.4 comparison examples. */
#include <errno.h>
#include <string.h>

#include "stack/sip_uri.h"
#include "testutil.h"

static const char *why;

static int
dec(struct sip_uri *u, const char *s)
{
	struct pl p = {s, strlen(s)};

	why = NULL;
	return sip_uri_decode(u, &p, &why);
}

/* Decoding s must fail with a reason. */
static void
bad(const char *s)
{
	struct sip_uri u;
	int err = dec(&u, s);

	CU_ASSERT_EQUAL(err, EBADMSG);
	CU_ASSERT_PTR_NOT_NULL(why);
	if (err != EBADMSG)
		fprintf(stderr, "\n  accepted bad URI: %s\n", s);
}

static void
good(const char *s)
{
	struct sip_uri u;
	int err = dec(&u, s);

	CU_ASSERT_EQUAL(err, 0);
	if (err)
		fprintf(stderr, "\n  refused URI: %s (%s)\n", s, why);
}

#define PLEQ(pl, s) CU_ASSERT(pl_eq_str(&(pl), (s)))
#define ABSENT(pl) CU_ASSERT(!pl_isset(&(pl)))

static void
test_sip_fields(void)
{
	struct sip_uri u;

	CU_ASSERT_EQUAL(dec(&u, "sip:alice:secretword@atlanta.com;"
				"transport=tcp"),
			0);
	CU_ASSERT_EQUAL(u.scheme, SIP_URI_SIP);
	PLEQ(u.scheme_pl, "sip");
	PLEQ(u.user, "alice");
	PLEQ(u.password, "secretword");
	PLEQ(u.host, "atlanta.com");
	CU_ASSERT_EQUAL(u.host_type, SIP_HOST_NAME);
	CU_ASSERT_FALSE(u.port_set);
	CU_ASSERT_EQUAL(u.port, 0);
	PLEQ(u.params, ";transport=tcp");
	PLEQ(u.transport, "tcp");
	ABSENT(u.headers);
	ABSENT(u.user_param);
	ABSENT(u.method);
	ABSENT(u.ttl);
	ABSENT(u.maddr);
	CU_ASSERT_FALSE(u.lr);
	PLEQ(u.raw, "sip:alice:secretword@atlanta.com;transport=tcp");

	CU_ASSERT_EQUAL(dec(&u, "sips:alice@atlanta.com?subject=project%20x&"
				"priority=urgent"),
			0);
	CU_ASSERT_EQUAL(u.scheme, SIP_URI_SIPS);
	PLEQ(u.user, "alice");
	ABSENT(u.password);
	PLEQ(u.host, "atlanta.com");
	CU_ASSERT_EQUAL(u.params.l, 0);
	PLEQ(u.headers, "subject=project%20x&priority=urgent");

	CU_ASSERT_EQUAL(dec(&u, "sip:+1-212-555-1212:1234@gateway.com;"
				"user=phone"),
			0);
	PLEQ(u.user, "+1-212-555-1212");
	PLEQ(u.password, "1234");
	PLEQ(u.user_param, "phone");

	CU_ASSERT_EQUAL(dec(&u, "sip:alice@192.0.2.4:5061;maddr=239.255.255.1;"
				"ttl=15;lr;method=INVITE;x=y?h=v"),
			0);
	PLEQ(u.host, "192.0.2.4");
	CU_ASSERT_EQUAL(u.host_type, SIP_HOST_IPV4);
	CU_ASSERT_TRUE(u.port_set);
	CU_ASSERT_EQUAL(u.port, 5061);
	PLEQ(u.maddr, "239.255.255.1");
	PLEQ(u.ttl, "15");
	CU_ASSERT_TRUE(u.lr);
	PLEQ(u.method, "INVITE");
	PLEQ(u.params, ";maddr=239.255.255.1;ttl=15;lr;method=INVITE;x=y");
	PLEQ(u.headers, "h=v");

	CU_ASSERT_EQUAL(dec(&u, "SIP:Alice@Example.COM."), 0);
	CU_ASSERT_EQUAL(u.scheme, SIP_URI_SIP);
	PLEQ(u.scheme_pl, "SIP");
	PLEQ(u.host, "Example.COM.");

	/* no userinfo; '?' and ';' belong to params/headers */
	CU_ASSERT_EQUAL(dec(&u, "sip:atlanta.com;method=REGISTER?to=alice%40"
				"atlanta.com"),
			0);
	ABSENT(u.user);
	PLEQ(u.host, "atlanta.com");
	PLEQ(u.method, "REGISTER");
	PLEQ(u.headers, "to=alice%40atlanta.com");

	CU_ASSERT_EQUAL(dec(&u, "sip:h:65535"), 0);
	CU_ASSERT_EQUAL(u.port, 65535);
	CU_ASSERT_EQUAL(dec(&u, "sip:h:05060"), 0);
	CU_ASSERT_EQUAL(u.port, 5060);
	good("sip:ttl@h;ttl=0");
	good("sip:h;lr=on");
}

/* RFC 4475 user parts: semiuri, intmeth, esc01, escnull. */
static void
test_user_part(void)
{
	struct sip_uri u;
	char buf[64];
	size_t n;

	/* semiuri.dat: "OPTIONS sip:user;par=u%40example.net@example.com" */
	CU_ASSERT_EQUAL(dec(&u, "sip:user;par=u%40example.net@example.com"), 0);
	PLEQ(u.user, "user;par=u%40example.net");
	PLEQ(u.host, "example.com");
	CU_ASSERT_EQUAL(u.params.l, 0);
	CU_ASSERT_EQUAL(sip_uri_unescape(buf, sizeof(buf), &u.user, &n), 0);
	CU_ASSERT_EQUAL(n, 22);
	CU_ASSERT_STRING_EQUAL(buf, "user;par=u@example.net");

	/* intmeth.dat Request-URI */
	CU_ASSERT_EQUAL(dec(&u, "sip:1_unusual.URI~(to-be!sure)&isn't+it$/"
				"crazy?,/;;*:&it+has=1,weird!*pas$wo~d_too."
				"(doesn't-it)@example.com"),
			0);
	PLEQ(u.user, "1_unusual.URI~(to-be!sure)&isn't+it$/crazy?,/;;*");
	PLEQ(u.password, "&it+has=1,weird!*pas$wo~d_too.(doesn't-it)");
	PLEQ(u.host, "example.com");
	ABSENT(u.headers);

	/* esc01.dat */
	CU_ASSERT_EQUAL(dec(&u, "sip:sips%3Auser%40example.com@example.net"),
			0);
	PLEQ(u.user, "sips%3Auser%40example.com");
	PLEQ(u.host, "example.net");
	CU_ASSERT_EQUAL(dec(&u, "sip:cal%6Cer@host5.example.net;%6C%72;"
				"n%61me=v%61lue%25%34%31"),
			0);
	PLEQ(u.user, "cal%6Cer");
	CU_ASSERT_TRUE(u.lr); /* %6C%72 is "lr" */

	/* escnull.dat */
	CU_ASSERT_EQUAL(dec(&u, "sip:null-%00-null@example.com"), 0);
	CU_ASSERT_EQUAL(sip_uri_unescape(buf, sizeof(buf), &u.user, &n), 0);
	CU_ASSERT_EQUAL(n, 11);
	CU_ASSERT_EQUAL(memcmp(buf, "null-\0-null", 11), 0);
}

/* RFC 5118 hosts. */
static void
test_ipv6(void)
{
	struct sip_uri u;

	/* ipv6-good: "REGISTER sip:[2001:db8::10] SIP/2.0" */
	CU_ASSERT_EQUAL(dec(&u, "sip:[2001:db8::10]"), 0);
	CU_ASSERT_EQUAL(u.host_type, SIP_HOST_IPV6);
	PLEQ(u.host, "2001:db8::10");
	CU_ASSERT_FALSE(u.port_set);
	/* port-ambiguous: one address, no port (§4.3) */
	CU_ASSERT_EQUAL(dec(&u, "sip:[2001:db8::10:5070]"), 0);
	PLEQ(u.host, "2001:db8::10:5070");
	CU_ASSERT_FALSE(u.port_set);
	/* port-unambiguous (§4.4) */
	CU_ASSERT_EQUAL(dec(&u, "sip:[2001:db8::10]:5070"), 0);
	PLEQ(u.host, "2001:db8::10");
	CU_ASSERT_TRUE(u.port_set);
	CU_ASSERT_EQUAL(u.port, 5070);
	/* ipv6-correct-abnf-2-colons, ipv4-mapped-ipv6 */
	CU_ASSERT_EQUAL(dec(&u, "sip:user@[2001:db8::192.0.2.1]"), 0);
	PLEQ(u.host, "2001:db8::192.0.2.1");
	CU_ASSERT_EQUAL(dec(&u, "sip:[::ffff:192.0.2.1]:5060;lr"), 0);
	PLEQ(u.host, "::ffff:192.0.2.1");
	CU_ASSERT_EQUAL(u.host_type, SIP_HOST_IPV6);
	CU_ASSERT_TRUE(u.lr);
	good("sip:[::]");
	good("sip:[::1]");
	good("sip:[1::]");
	good("sip:[2001:DB8:0:0:8:800:200C:417A]");
	good("sip:[1:2:3:4:5:6:7::]");
	good("sip:[1:2:3:4:5:6:1.2.3.4]");
	/* ipv6-bad: no [] (§4.2) */
	bad("sip:2001:db8::10");
	CU_ASSERT_STRING_EQUAL(why, "IPv6 address without []");
	bad("sip:user@2001:db8::10");
	bad("sip:fe80::1");
	/* ipv6-bug-abnf-3-colons: tolerated (RFC 5118 §4.10), the same
	   address as the two-colon form; not elsewhere */
	CU_ASSERT_EQUAL(dec(&u, "sip:user@[2001:db8:::192.0.2.1]"), 0);
	PLEQ(u.host, "2001:db8:::192.0.2.1");
	good("sip:[:::192.0.2.1]");
	bad("sip:[2001:db8:::1]");
	bad("sip:[2001:db8::::192.0.2.1]");
	bad("sip:[2001:db8:::192.0.2.1:1]");
	bad("sip:[2001:db8::1::2]");
	bad("sip:[12345::1]");
	bad("sip:[1:2:3:4:5:6:7:8:9]");
	bad("sip:[1:2:3:4:5:6:7]");
	bad("sip:[2001:db8::10");
	bad("sip:[g::1]");
	bad("sip:[:1]");
	bad("sip:[1:]");
	bad("sip:[]");
	bad("sip:[::1.2.3.256]");
	bad("sip:[1:2:3:4:5:6:7:1.2.3.4]");
	bad("sip:[2001:db8::10]5070");
}

static void
test_tel(void)
{
	struct sip_uri u;

	CU_ASSERT_EQUAL(dec(&u, "tel:+1-201-555-0123"), 0);
	CU_ASSERT_EQUAL(u.scheme, SIP_URI_TEL);
	PLEQ(u.number, "+1-201-555-0123");
	CU_ASSERT_EQUAL(u.params.l, 0);
	CU_ASSERT_EQUAL(u.host_type, SIP_HOST_NONE);
	ABSENT(u.host);

	CU_ASSERT_EQUAL(dec(&u, "TEL:7042;phone-context=example.com"), 0);
	PLEQ(u.number, "7042");
	PLEQ(u.params, ";phone-context=example.com");

	CU_ASSERT_EQUAL(dec(&u, "tel:+1(201)555.0123;ext=1234;isub=abc"), 0);
	PLEQ(u.number, "+1(201)555.0123");
	PLEQ(u.params, ";ext=1234;isub=abc");
	good("tel:*21#;phone-context=+1-201");

	/* RFC 3966 §5.1.5: local numbers need phone-context */
	bad("tel:863-1234");
	bad("tel:+");
	bad("tel:");
	bad("tel:+1-201-555-0123;");
	bad("tel:+1 201");
	bad("tel:+1-201;phone-context=");
}

/* RFC 4475 unkscm, novelsc, unksm2. */
static void
test_other_scheme(void)
{
	struct sip_uri u;

	CU_ASSERT_EQUAL(dec(&u, "nobodyKnowsThisScheme:totallyopaquecontent"),
			0);
	CU_ASSERT_EQUAL(u.scheme, SIP_URI_OTHER);
	PLEQ(u.scheme_pl, "nobodyKnowsThisScheme");
	PLEQ(u.opaque, "totallyopaquecontent");
	ABSENT(u.host);
	CU_ASSERT_EQUAL(u.host_type, SIP_HOST_NONE);

	CU_ASSERT_EQUAL(dec(&u, "soap.beep://192.0.2.103:3002"), 0);
	PLEQ(u.scheme_pl, "soap.beep");
	PLEQ(u.opaque, "//192.0.2.103:3002");
	CU_ASSERT_EQUAL(dec(&u, "isbn:2983792873"), 0);
	PLEQ(u.opaque, "2983792873");
	CU_ASSERT_EQUAL(dec(&u, "http://www.example.com"), 0);
	PLEQ(u.scheme_pl, "http");
	CU_ASSERT_EQUAL(dec(&u, "name:John_Smith"), 0);
	PLEQ(u.opaque, "John_Smith");
	good("urn:service:sos");
	good("mailto:a%20b@example.com?subject=x");

	bad("1abc:x");
	bad("nocolon");
	bad("ralph@example.com");
	bad("foo:");
	bad(":x");
	bad("foo:a b");
	bad("foo:a%zz");
	bad("foo:<x>");
	bad("");
}

static void
test_bad_sip(void)
{
	bad("sip:%G1@host");
	CU_ASSERT_STRING_EQUAL(why, "bad escape");
	bad("sip:user@host;a=%4");
	bad("sip:user@host?a=%4g");
	bad("sip:h:0");
	CU_ASSERT_STRING_EQUAL(why, "bad port");
	bad("sip:h:65536");
	bad("sip:h:99999999999999999999");
	bad("sip:h:5x");
	bad("sip:h:");
	bad("sip:h:-1");
	bad("sip:");
	bad("sip:user@");
	bad("sip:@host");
	bad("sip::pw@host");
	bad("sip:user:p:w@host");
	bad("sip:user:p;w@host");
	bad("sip:h;");
	CU_ASSERT_STRING_EQUAL(why, "empty uri parameter");
	bad("sip:h;;lr");
	bad("sip:h;=x");
	/* lwsruri.dat: "INVITE sip:user@example.com; lr SIP/2.0" */
	bad("sip:user@example.com; lr");
	bad("sip:user@example.com ");
	bad(" sip:user@example.com");
	bad("sip:h?");
	bad("sip:h?a");
	bad("sip:h?=b");
	bad("sip:h?a=b&");
	bad("sip:h;ttl=256");
	bad("sip:h;ttl=");
	bad("sip:h;ttl=1a");
	bad("sip:h;transport");
	bad("sip:h;maddr=");
	bad("sip:h;lr;lr");
	bad("sip:h;transport=udp;transport=tcp");
	bad("sip:-bad.com");
	bad("sip:bad-.com");
	bad("sip:a..b");
	bad("sip:192.0.2.300");
	bad("sip:1.2.3");
	bad("sip:h>");
	bad("<sip:h>");
	bad("sip:h@i@j");
	bad("sip:us\"er@h");
	bad("sip:h\r\n");
}

/* sip_uri_param and well-known parameters. */
static void
test_params(void)
{
	struct sip_uri u;
	struct pl v;
	char buf[32];
	size_t n;

	CU_ASSERT_EQUAL(dec(&u, "sip:h;transport=tcp;lr;foo=bar;Baz=Q%41"), 0);
	CU_ASSERT_TRUE(sip_uri_param(&u, "foo", &v));
	PLEQ(v, "bar");
	CU_ASSERT_TRUE(sip_uri_param(&u, "LR", &v));
	CU_ASSERT_PTR_NOT_NULL(v.p);
	CU_ASSERT_EQUAL(v.l, 0);
	CU_ASSERT_TRUE(sip_uri_param(&u, "baz", &v));
	PLEQ(v, "Q%41");
	CU_ASSERT_TRUE(sip_uri_param(&u, "TRANSPORT", NULL));
	CU_ASSERT_FALSE(sip_uri_param(&u, "tag", &v));
	CU_ASSERT_FALSE(sip_uri_param(&u, "fo", &v));

	/* esc01.dat: name=value%41 is NOT valueA */
	CU_ASSERT_EQUAL(dec(&u, "sip:cal%6Cer@host5.example.net;%6C%72;"
				"n%61me=v%61lue%25%34%31"),
			0);
	CU_ASSERT_TRUE(sip_uri_param(&u, "name", &v));
	PLEQ(v, "v%61lue%25%34%31");
	CU_ASSERT_EQUAL(sip_uri_unescape(buf, sizeof(buf), &v, &n), 0);
	CU_ASSERT_EQUAL(n, 8);
	CU_ASSERT_STRING_EQUAL(buf, "value%41");
	CU_ASSERT_TRUE(sip_uri_param(&u, "lr", NULL));

	/* tel params */
	CU_ASSERT_EQUAL(dec(&u, "tel:7042;phone-context=example.com"), 0);
	CU_ASSERT_TRUE(sip_uri_param(&u, "phone-context", &v));
	PLEQ(v, "example.com");
	/* headers are not parameters */
	CU_ASSERT_EQUAL(dec(&u, "sip:h;a=1?b=2"), 0);
	CU_ASSERT_FALSE(sip_uri_param(&u, "b", &v));
	CU_ASSERT_TRUE(sip_uri_param(&u, "a", &v));
	PLEQ(v, "1");
}

static bool
ueq(const char *a, const char *b)
{
	struct sip_uri x, y;
	bool r, r2;

	CU_ASSERT_EQUAL_FATAL(dec(&x, a), 0);
	CU_ASSERT_EQUAL_FATAL(dec(&y, b), 0);
	r = sip_uri_eq(&x, &y);
	r2 = sip_uri_eq(&y, &x);
	CU_ASSERT_EQUAL(r, r2); /* symmetric */
	CU_ASSERT_TRUE(sip_uri_eq(&x, &x));
	CU_ASSERT_TRUE(sip_uri_eq(&y, &y));
	return r;
}

/* Every example of RFC 3261 §19.1.4, both ways (ueq checks symmetry). */
static void
test_eq_rfc3261(void)
{
	/* equivalent */
	CU_ASSERT_TRUE(ueq("sip:%61lice@atlanta.com;transport=TCP",
			   "sip:alice@AtLanTa.CoM;Transport=tcp"));
	CU_ASSERT_TRUE(ueq("sip:carol@chicago.com",
			   "sip:carol@chicago.com;newparam=5"));
	CU_ASSERT_TRUE(ueq("sip:carol@chicago.com",
			   "sip:carol@chicago.com;security=on"));
	CU_ASSERT_TRUE(ueq("sip:carol@chicago.com;newparam=5",
			   "sip:carol@chicago.com;security=on"));
	CU_ASSERT_TRUE(ueq("sip:biloxi.com;transport=tcp;method=REGISTER?to="
			   "sip:bob%40biloxi.com",
			   "sip:biloxi.com;method=REGISTER;transport=tcp?to="
			   "sip:bob%40biloxi.com"));
	CU_ASSERT_TRUE(ueq("sip:alice@atlanta.com?subject=project%20x&"
			   "priority=urgent",
			   "sip:alice@atlanta.com?priority=urgent&subject="
			   "project%20x"));
	/* not equivalent */
	CU_ASSERT_FALSE(ueq("SIP:ALICE@AtLanTa.CoM;Transport=udp",
			    "sip:alice@AtLanTa.CoM;Transport=UDP"));
	CU_ASSERT_FALSE(ueq("sip:bob@biloxi.com", "sip:bob@biloxi.com:5060"));
	CU_ASSERT_FALSE(
		ueq("sip:bob@biloxi.com", "sip:bob@biloxi.com;transport=udp"));
	CU_ASSERT_FALSE(ueq("sip:bob@biloxi.com",
			    "sip:bob@biloxi.com:6000;transport=tcp"));
	CU_ASSERT_FALSE(ueq("sip:carol@chicago.com",
			    "sip:carol@chicago.com?Subject=next%20meeting"));
	CU_ASSERT_FALSE(
		ueq("sip:bob@phone21.boxesbybob.com", "sip:bob@192.0.2.4"));
	CU_ASSERT_FALSE(ueq("sip:carol@chicago.com;security=on",
			    "sip:carol@chicago.com;security=off"));
}

static void
test_eq_more(void)
{
	/* scheme: sip vs sips never */
	CU_ASSERT_FALSE(ueq("sip:a@h", "sips:a@h"));
	CU_ASSERT_TRUE(ueq("SIPS:a@h", "sips:a@H"));
	/* userinfo */
	CU_ASSERT_TRUE(ueq("sip:a:%70w@h", "sip:a:pw@h"));
	CU_ASSERT_FALSE(ueq("sip:a:pw@h", "sip:a:PW@h"));
	CU_ASSERT_FALSE(ueq("sip:a:pw@h", "sip:a@h"));
	CU_ASSERT_FALSE(ueq("sip:a@h", "sip:h"));
	CU_ASSERT_FALSE(ueq("sip:%41@h", "sip:a@h"));
	/* ports */
	CU_ASSERT_TRUE(ueq("sip:h:5060", "sip:h:05060"));
	CU_ASSERT_FALSE(ueq("sip:h:5060", "sip:h:5061"));
	/* hosts as addresses */
	CU_ASSERT_TRUE(ueq("sip:[2001:db8::1]", "sip:[2001:DB8:0:0::1]"));
	CU_ASSERT_FALSE(ueq("sip:[2001:db8::1]", "sip:[2001:db8::2]"));
	CU_ASSERT_TRUE(ueq("sip:[::ffff:192.0.2.1]", "sip:[::FFFF:c000:201]"));
	CU_ASSERT_FALSE(ueq("sip:[::ffff:192.0.2.1]", "sip:192.0.2.1"));
	CU_ASSERT_TRUE(
		ueq("sip:[2001:db8:::192.0.2.1]", "sip:[2001:db8::c000:201]"));
	/* the five parameters of §19.1.4 on one side only */
	CU_ASSERT_FALSE(ueq("sip:h", "sip:h;user=phone"));
	CU_ASSERT_FALSE(ueq("sip:h", "sip:h;ttl=1"));
	CU_ASSERT_FALSE(ueq("sip:h", "sip:h;method=INVITE"));
	CU_ASSERT_FALSE(ueq("sip:h", "sip:h;maddr=x"));
	CU_ASSERT_FALSE(ueq("sip:h", "sip:h;%74ransport=tcp"));
	CU_ASSERT_TRUE(ueq("sip:h;method=INVITE", "sip:h;METHOD=invite"));
	/* lr and unknown ones are ignored when on one side only */
	CU_ASSERT_TRUE(ueq("sip:h", "sip:h;lr"));
	CU_ASSERT_FALSE(ueq("sip:h;lr", "sip:h;lr=on"));
	CU_ASSERT_TRUE(ueq("sip:h;x=%41b", "sip:h;X=ab"));
	CU_ASSERT_FALSE(ueq("sip:h;x", "sip:h;x=1"));
	/* headers */
	CU_ASSERT_TRUE(ueq("sip:h?Subject=a&x=%41", "sip:h?x=A&subject=a"));
	CU_ASSERT_FALSE(ueq("sip:h?subject=A", "sip:h?subject=a"));
	CU_ASSERT_FALSE(ueq("sip:h?a=1&a=1", "sip:h?a=1&b=1"));
	CU_ASSERT_FALSE(ueq("sip:h?a=1", "sip:h?a=1&a=1"));
	CU_ASSERT_TRUE(ueq("sip:h?a=1&b=2&a=1", "sip:h?a=1&a=1&b=2"));
	/* the same parameter twice compares as a set */
	CU_ASSERT_TRUE(ueq("sip:h;x=1;x=2", "sip:h;x=2;x=1"));
	/* tel (RFC 3966 §4) */
	CU_ASSERT_TRUE(ueq("tel:+1-201-555-0123", "tel:+1(201)5550123"));
	CU_ASSERT_FALSE(ueq("tel:+1-201-555-0123", "tel:+1-201-555-0124"));
	CU_ASSERT_TRUE(ueq("tel:7042;phone-context=EXAMPLE.com",
			   "tel:70-42;phone-context=example.com"));
	CU_ASSERT_TRUE(ueq("tel:7042;phone-context=+1-201",
			   "tel:7042;phone-context=+1201"));
	CU_ASSERT_FALSE(ueq("tel:7042;phone-context=+1201",
			    "tel:+7042;phone-context=+1201"));
	CU_ASSERT_TRUE(
		ueq("tel:+1201;ext=1-2;isub=a", "tel:+1201;isub=A;ext=12"));
	CU_ASSERT_FALSE(ueq("tel:+1201", "tel:+1201;ext=12"));
	CU_ASSERT_FALSE(ueq("tel:abc;phone-context=a-b.com",
			    "tel:ABC;phone-context=ab.com"));
	CU_ASSERT_FALSE(ueq("tel:+1201", "sip:+1201@h;user=phone"));
	/* other schemes */
	CU_ASSERT_TRUE(ueq("ISBN:29837%392873", "isbn:2983792873"));
	CU_ASSERT_FALSE(ueq("isbn:2983792873", "isbn:2983792874"));
	CU_ASSERT_FALSE(ueq("isbn:2983792873", "issn:2983792873"));
}

static void
test_unescape(void)
{
	char buf[16];
	size_t n = 99;
	struct pl p = PL("a%00b%00");

	CU_ASSERT_EQUAL(sip_uri_unescape(buf, sizeof(buf), &p, &n), 0);
	CU_ASSERT_EQUAL(n, 4);
	CU_ASSERT_EQUAL(memcmp(buf, "a\0b\0", 4), 0);
	/* no recursion: esc01 "value%2541" -> "value%41" */
	p = (struct pl)PL("value%2541");
	CU_ASSERT_EQUAL(sip_uri_unescape(buf, sizeof(buf), &p, &n), 0);
	CU_ASSERT_EQUAL(n, 8);
	CU_ASSERT_STRING_EQUAL(buf, "value%41");
	p = (struct pl)PL("%4a%4B%7e");
	CU_ASSERT_EQUAL(sip_uri_unescape(buf, sizeof(buf), &p, &n), 0);
	CU_ASSERT_STRING_EQUAL(buf, "JK~");
	p = (struct pl)PL("%G1");
	CU_ASSERT_EQUAL(sip_uri_unescape(buf, sizeof(buf), &p, &n), EINVAL);
	p = (struct pl)PL("ab%4");
	CU_ASSERT_EQUAL(sip_uri_unescape(buf, sizeof(buf), &p, &n), EINVAL);
	p = (struct pl)PL("abcd");
	CU_ASSERT_EQUAL(sip_uri_unescape(buf, 4, &p, &n), 0);
	CU_ASSERT_EQUAL(n, 4);
	CU_ASSERT_EQUAL(sip_uri_unescape(buf, 3, &p, &n), ENOSPC);
	p = (struct pl)PL("");
	CU_ASSERT_EQUAL(sip_uri_unescape(buf, sizeof(buf), &p, &n), 0);
	CU_ASSERT_EQUAL(n, 0);
	p = (struct pl)PL_INIT;
	CU_ASSERT_EQUAL(sip_uri_unescape(buf, sizeof(buf), &p, &n), 0);
	CU_ASSERT_EQUAL(n, 0);
}

/* The one-pass scanner's shortcuts (host classified while scanned, "sip:"
   and well-known parameter names compared word-wise) agree with the
   grammar. */
static void
test_fast_paths(void)
{
	struct sip_uri u;

	/* dotted quads: octets, length, trailing bytes */
	CU_ASSERT_EQUAL(dec(&u, "sip:255.255.255.255:5060"), 0);
	CU_ASSERT_EQUAL(u.host_type, SIP_HOST_IPV4);
	CU_ASSERT_EQUAL(u.port, 5060);
	CU_ASSERT_EQUAL(dec(&u, "sip:u@010.0.0.1"), 0);
	CU_ASSERT_EQUAL(u.host_type, SIP_HOST_IPV4);
	bad("sip:256.1.1.1");
	bad("sip:1.2.3.300");
	bad("sip:1.2.3.4.5");
	bad("sip:1.2.3.4.");
	bad("sip:1.2.3");
	bad("sip:1234.1.1.1");
	bad("sip:1.2..3.4");
	/* names starting with a digit are names when the top label is */
	CU_ASSERT_EQUAL(dec(&u, "sip:3com.example.com"), 0);
	CU_ASSERT_EQUAL(u.host_type, SIP_HOST_NAME);
	CU_ASSERT_EQUAL(dec(&u, "sip:1.2.3.4.example."), 0);
	CU_ASSERT_EQUAL(u.host_type, SIP_HOST_NAME);
	bad("sip:example.3com");
	bad("sip:a-.example.com");
	bad("sip:-a.example.com");
	bad("sip:a..example.com");
	bad("sip:.example.com");
	bad("sip:example.com..");
	CU_ASSERT_EQUAL(dec(&u, "sip:example.com.;lr"), 0);
	PLEQ(u.host, "example.com.");
	CU_ASSERT(u.lr);
	/* userinfo found before the host is scanned */
	CU_ASSERT_EQUAL(dec(&u, "sip:4930123456789@10.20.0.5:5060"), 0);
	PLEQ(u.user, "4930123456789");
	PLEQ(u.host, "10.20.0.5");
	CU_ASSERT_EQUAL(dec(&u, "sip:10.20.0.5;x=a@b"), 0); /* semiuri */
	PLEQ(u.user, "10.20.0.5;x=a");
	PLEQ(u.host, "b");
	CU_ASSERT_EQUAL(dec(&u, "sip:host;p=%41@"), EBADMSG);
	/* scheme in any case */
	CU_ASSERT_EQUAL(dec(&u, "SiP:host"), 0);
	CU_ASSERT_EQUAL(u.scheme, SIP_URI_SIP);
	PLEQ(u.scheme_pl, "SiP");
	CU_ASSERT_EQUAL(dec(&u, "sIpS:host"), 0);
	CU_ASSERT_EQUAL(u.scheme, SIP_URI_SIPS);
	CU_ASSERT_EQUAL(dec(&u, "sipx:host"), 0);
	CU_ASSERT_EQUAL(u.scheme, SIP_URI_OTHER);
	/* well-known parameter names in any case, and near misses */
	CU_ASSERT_EQUAL(dec(&u, "sip:h;TRANSPORT=tcp;uSeR=phone;Method=BYE;"
				"MADDR=1.2.3.4;tTl=1;LR"),
			0);
	PLEQ(u.transport, "tcp");
	PLEQ(u.user_param, "phone");
	PLEQ(u.method, "BYE");
	PLEQ(u.maddr, "1.2.3.4");
	PLEQ(u.ttl, "1");
	CU_ASSERT(u.lr);
	CU_ASSERT_EQUAL(dec(&u, "sip:h;transpor=t;transports=x;users=y;"
				"methox=z;maddy=w;lrr;ttt=2;l"),
			0);
	ABSENT(u.transport);
	ABSENT(u.user_param);
	ABSENT(u.method);
	ABSENT(u.maddr);
	ABSENT(u.ttl);
	CU_ASSERT(!u.lr);
	/* escapes in names and values take the slow path */
	CU_ASSERT_EQUAL(dec(&u, "sip:h;%74ransport=%74cp;x=%41%42"), 0);
	PLEQ(u.transport, "%74cp");
	bad("sip:h;x=%4");
	bad("sip:h;x%zz=1");
}

void test_uri_register(void);
void
test_uri_register(void)
{
	CU_pSuite s = tu_suite("uri");

	TU_ADD(s, test_sip_fields);
	TU_ADD(s, test_user_part);
	TU_ADD(s, test_ipv6);
	TU_ADD(s, test_tel);
	TU_ADD(s, test_other_scheme);
	TU_ADD(s, test_bad_sip);
	TU_ADD(s, test_params);
	TU_ADD(s, test_eq_rfc3261);
	TU_ADD(s, test_eq_more);
	TU_ADD(s, test_unescape);
	TU_ADD(s, test_fast_paths);
}
