/* Unit tests: auth header values (stack/sip_auth.c), RFC 3261 §22 and
   §25.1, RFC 2617 §3.5 and RFC 7616 §3.9.1 examples, RFC 4475 regaut01. */
#include <errno.h>
#include <string.h>

#include "stack/sip_msg.h"
#include "testutil.h"

static const char *why;

static int
dec(struct sip_auth *a, const char *s)
{
	struct pl p = {s, strlen(s)};

	why = NULL;
	return sip_auth_decode(a, &p, &why);
}

static void
bad(const char *s, const char *expect)
{
	struct sip_auth a;
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

/* RFC 2617 §3.5, folded the way a header line carries it. */
static void
test_rfc2617(void)
{
	struct sip_auth a;

	CU_ASSERT_EQUAL(dec(&a,
			    "Digest\r\n"
			    "                 realm=\"testrealm@host.com\",\r\n"
			    "                 qop=\"auth,auth-int\",\r\n"
			    "                 nonce=\"dcd98b7102dd2f0e8b11d0f6"
			    "00bfb0c093\",\r\n"
			    "                 opaque=\"5ccc069c403ebaf9f0171e9"
			    "517f40e41\""),
			0);
	PLEQ(a.scheme, "Digest");
	PLEQ(a.realm, "testrealm@host.com");
	PLEQ(a.qop, "auth,auth-int");
	PLEQ(a.nonce, "dcd98b7102dd2f0e8b11d0f600bfb0c093");
	PLEQ(a.opaque, "5ccc069c403ebaf9f0171e9517f40e41");
	ABSENT(a.algorithm);
	ABSENT(a.stale);
	ABSENT(a.domain);
	ABSENT(a.username);
	ABSENT(a.response);
	CU_ASSERT_EQUAL(a.params.p[0], 'r');

	CU_ASSERT_EQUAL(dec(&a,
			    "Digest username=\"Mufasa\",\r\n"
			    "                 realm=\"testrealm@host.com\",\r\n"
			    "                 nonce=\"dcd98b7102dd2f0e8b11d0f6"
			    "00bfb0c093\",\r\n"
			    "                 uri=\"/dir/index.html\",\r\n"
			    "                 qop=auth,\r\n"
			    "                 nc=00000001,\r\n"
			    "                 cnonce=\"0a4f113b\",\r\n"
			    "                 response=\"6629fae49393a0539745"
			    "0978507c4ef1\",\r\n"
			    "                 opaque=\"5ccc069c403ebaf9f0171e9"
			    "517f40e41\""),
			0);
	PLEQ(a.scheme, "Digest");
	PLEQ(a.username, "Mufasa");
	PLEQ(a.realm, "testrealm@host.com");
	PLEQ(a.nonce, "dcd98b7102dd2f0e8b11d0f600bfb0c093");
	PLEQ(a.uri, "/dir/index.html");
	PLEQ(a.qop, "auth");
	PLEQ(a.nc, "00000001");
	PLEQ(a.cnonce, "0a4f113b");
	PLEQ(a.response, "6629fae49393a05397450978507c4ef1");
	PLEQ(a.opaque, "5ccc069c403ebaf9f0171e9517f40e41");
	ABSENT(a.userhash);
}

/* RFC 7616 §3.9.1 (SHA-256). */
static void
test_rfc7616(void)
{
	struct sip_auth a;

	CU_ASSERT_EQUAL(
		dec(&a,
		    "Digest\r\n"
		    "    realm=\"http-auth@example.org\",\r\n"
		    "    qop=\"auth, auth-int\",\r\n"
		    "    algorithm=SHA-256,\r\n"
		    "    nonce=\"7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v\""
		    ",\r\n"
		    "    opaque=\"FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS"
		    "\""),
		0);
	PLEQ(a.realm, "http-auth@example.org");
	PLEQ(a.qop, "auth, auth-int");
	PLEQ(a.algorithm, "SHA-256");
	PLEQ(a.nonce, "7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v");
	PLEQ(a.opaque, "FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS");

	CU_ASSERT_EQUAL(
		dec(&a,
		    "Digest username=\"Mufasa\",\r\n"
		    "    realm=\"http-auth@example.org\",\r\n"
		    "    uri=\"/dir/index.html\",\r\n"
		    "    algorithm=SHA-256,\r\n"
		    "    nonce=\"7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v\""
		    ",\r\n"
		    "    nc=00000001,\r\n"
		    "    cnonce=\"f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ"
		    "\",\r\n"
		    "    qop=auth,\r\n"
		    "    response=\"753927fa0e85d155564e2e272a28d1802ca10daf449"
		    "6794697cf8db5856cb6c1\",\r\n"
		    "    opaque=\"FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS"
		    "\",\r\n"
		    "    userhash=false"),
		0);
	PLEQ(a.username, "Mufasa");
	PLEQ(a.uri, "/dir/index.html");
	PLEQ(a.algorithm, "SHA-256");
	PLEQ(a.nc, "00000001");
	PLEQ(a.cnonce, "f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ");
	PLEQ(a.qop, "auth");
	PLEQ(a.response, "753927fa0e85d155564e2e272a28d1802ca10daf4496794697"
			 "cf8db5856cb6c1");
	PLEQ(a.userhash, "false");
}

static void
test_other(void)
{
	struct sip_auth a;

	/* regaut01.dat: "Authorization: NoOneKnowsThisScheme
	   opaque-data=here" */
	CU_ASSERT_EQUAL(dec(&a, "NoOneKnowsThisScheme opaque-data=here"), 0);
	PLEQ(a.scheme, "NoOneKnowsThisScheme");
	PLEQ(a.params, "opaque-data=here");
	ABSENT(a.realm);
	ABSENT(a.opaque);

	/* names are case-insensitive; quoted-pairs kept as written; empty
	   quoted value; stale and domain; LWS around '=' and ',' */
	CU_ASSERT_EQUAL(dec(&a, "Digest REALM = \"a\\\"b\" , Stale=TRUE,"
				"domain=\"sip:a.example sip:b.example\","
				"nonce=\"\""),
			0);
	PLEQ(a.realm, "a\\\"b");
	PLEQ(a.stale, "TRUE");
	PLEQ(a.domain, "sip:a.example sip:b.example");
	CU_ASSERT_PTR_NOT_NULL(a.nonce.p);
	CU_ASSERT_EQUAL(a.nonce.l, 0);
	/* RFC 7616 §3.4.4 extended username */
	CU_ASSERT_EQUAL(dec(&a, "Digest username*=UTF-8''J%C3%A4s%C3%B8n%20Doe,"
				"userhash=false"),
			0);
	ABSENT(a.username);
	PLEQ(a.userhash, "false");
}

static void
test_bad(void)
{
	bad("Digest realm=\"atlanta.com", "unterminated quoted string");
	bad("Digest realm", "missing '=' in auth parameter");
	bad("Digest realm=\"a\", nonce", "missing '=' in auth parameter");
	bad("Digest realm=\"a\", REALM=\"b\"", "duplicate auth parameter");
	bad("Foo x=1, y=2, x=3", "duplicate auth parameter");
	bad("Digest realm=", "empty auth parameter value");
	bad("Digest realm=\"a\",", "empty auth parameter");
	bad("Digest realm=\"a\",,nonce=\"b\"", "empty auth parameter");
	bad("Digest realm=\"a\" nonce=\"b\"", "junk after auth parameter");
	bad("Digest =x", "empty auth parameter");
	bad("Digest", "missing auth parameters");
	bad("Digest,realm=\"a\"", "bad auth scheme");
	bad("", "empty value");
	bad("\"Digest\" realm=a", "missing auth scheme");
	bad("Digest realm=a;b", "junk after auth parameter");
	bad("Basic dXNlcjpwYXNzd29yZA==", NULL);
}

void test_auth_register(void);
void
test_auth_register(void)
{
	CU_pSuite s = tu_suite("auth");

	TU_ADD(s, test_rfc2617);
	TU_ADD(s, test_rfc7616);
	TU_ADD(s, test_other);
	TU_ADD(s, test_bad);
}
