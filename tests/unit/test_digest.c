/* Unit tests: digest computation, UAC answers and UAS verification
   (stack/auth_*.c): RFC 2617 §3.5 and RFC 7616 §3.9.1 known answers,
   round trips through sip_auth_decode(), replay and nonce-count table. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "stack/auth.h"
#include "stack/mem.h"
#include "stack/sip_msg.h"
#include "testutil.h"

#define PLS(s) ((struct pl){(s), strlen(s)})

/* ---- known answers ---- */

static const char n7616[] = "7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v";
static const char cn7616[] = "f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ";

static struct auth_digest_in
in2617(void)
{
	struct auth_digest_in in;

	memset(&in, 0, sizeof(in));
	in.alg = AUTH_ALG_MD5;
	in.qop = AUTH_QOP_AUTH;
	in.user = PLS("Mufasa");
	in.password = PLS("Circle Of Life");
	in.realm = PLS("testrealm@host.com");
	in.nonce = PLS("dcd98b7102dd2f0e8b11d0f600bfb0c093");
	in.cnonce = PLS("0a4f113b");
	in.nc = PLS("00000001");
	in.method = PLS("GET");
	in.uri = PLS("/dir/index.html");
	return in;
}

static struct auth_digest_in
in7616(enum auth_alg alg)
{
	struct auth_digest_in in = in2617();

	in.alg = alg;
	in.password = PLS("Circle of Life");
	in.realm = PLS("http-auth@example.org");
	in.nonce = PLS(n7616);
	in.cnonce = PLS(cn7616);
	return in;
}

static void
expect(const struct auth_digest_in *in, const char *hex)
{
	char out[AUTH_HEX_MAX];

	memset(out, 'x', sizeof(out));
	CU_ASSERT_EQUAL_FATAL(auth_digest_response(in, out, sizeof(out)), 0);
	CU_ASSERT_STRING_EQUAL(out, hex);
}

static void
test_kat_rfc2617(void)
{
	struct auth_digest_in in = in2617();
	char ha1[AUTH_HEX_MAX];

	expect(&in, "6629fae49393a05397450978507c4ef1");
	/* the same from the stored HA1, in either case */
	CU_ASSERT_EQUAL(auth_digest_ha1(AUTH_ALG_MD5, &in.user, &in.realm,
					&in.password, ha1, sizeof(ha1)),
			0);
	CU_ASSERT_STRING_EQUAL(ha1, "939e7578ed9e3c518a452acee763bce9");
	in.password = PLS("wrong, ignored");
	in.ha1 = PLS("939E7578ED9E3C518A452ACEE763BCE9");
	expect(&in, "6629fae49393a05397450978507c4ef1");
	in.ha1 = PLS("939e7578ed9e3c518a452acee763bce"); /* short */
	CU_ASSERT_EQUAL(auth_digest_response(&in, ha1, sizeof(ha1)), EINVAL);
}

static void
test_kat_rfc7616(void)
{
	struct auth_digest_in in = in7616(AUTH_ALG_MD5);

	expect(&in, "8ca523f5e9506fed4657c9700eebdbec");
	in = in7616(AUTH_ALG_SHA256);
	expect(&in, "753927fa0e85d155564e2e272a28d18"
		    "02ca10daf4496794697cf8db5856cb6c1");
}

/* Variants without an RFC example: values from Python's hashlib over the
   same formulas (an independent implementation). */
static void
test_kat_variants(void)
{
	struct auth_digest_in in = in2617();

	in.alg = AUTH_ALG_MD5_SESS;
	expect(&in, "8e3825c57e897f5a0dec6c2d4e5059d0");
	in = in7616(AUTH_ALG_SHA256_SESS);
	expect(&in, "2fd51b3a77ad75bad6afad6003e818d7"
		    "67133c46d9e2749e7f5232ae1ea3efd7");
	in = in7616(AUTH_ALG_SHA512_256);
	expect(&in, "430d05014cecc49cab6fbe03176d41a1"
		    "da86cbfe24a16580e22aaad928d960d0");
	in = in7616(AUTH_ALG_SHA512_256_SESS);
	expect(&in, "3f2a34f923c38b0fb26dce2fdfc2ce32"
		    "6c23cecf86fbb1444f3e51fbbc2cb92e");
	/* RFC 2069: no qop, cnonce and nc unused */
	in = in2617();
	in.qop = AUTH_QOP_NONE;
	in.cnonce = PLS("ignored");
	expect(&in, "670fd8c2df070c60b045671b8b24ff02");
	/* auth-int: H(method:uri:H(body)) */
	in = in2617();
	in.qop = AUTH_QOP_AUTH_INT;
	in.method = PLS("INVITE");
	in.uri = PLS("sip:bob@example.com");
	in.body = PLS("v=0\r\n");
	expect(&in, "6a6e449f512a9f3e11597febd92718ea");
}

static void
test_kat_errors(void)
{
	struct auth_digest_in in = in7616(AUTH_ALG_SHA256);
	char out[AUTH_HEX_MAX];

	CU_ASSERT_EQUAL(auth_digest_response(&in, out, 64), ENOSPC);
	CU_ASSERT_EQUAL(auth_digest_response(&in, out, 65), 0);
	in = in2617();
	CU_ASSERT_EQUAL(auth_digest_response(&in, out, 32), ENOSPC);
	in.nc = (struct pl)PL_INIT; /* qop without nc */
	CU_ASSERT_EQUAL(auth_digest_response(&in, out, sizeof(out)), EINVAL);
	in = in2617();
	in.qop = AUTH_QOP_NONE;
	in.alg = AUTH_ALG_MD5_SESS;
	in.cnonce = (struct pl)PL_INIT; /* -sess without cnonce */
	CU_ASSERT_EQUAL(auth_digest_response(&in, out, sizeof(out)), EINVAL);
	in = in2617();
	in.alg = AUTH_ALG_COUNT;
	CU_ASSERT_EQUAL(auth_digest_response(&in, out, sizeof(out)), EINVAL);
	CU_ASSERT_EQUAL(auth_digest_response(NULL, out, sizeof(out)), EINVAL);
}

static void
test_alg_names(void)
{
	static const char *names[] = {"md5",	     "MD5-SESS",
				      "sha-256",     "SHA-256-sess",
				      "SHA-512-256", "sha-512-256-Sess"};
	enum auth_alg a;
	struct pl p = PL_INIT;
	unsigned i;

	for (i = 0; i < AUTH_ALG_COUNT; i++) {
		p = PLS(names[i]);
		CU_ASSERT_EQUAL(auth_alg_decode(&p, &a), 0);
		CU_ASSERT_EQUAL(a, (enum auth_alg)i);
		CU_ASSERT(pl_caseeq_str(&p, auth_alg_name(a)));
	}
	p = (struct pl)PL_INIT;
	CU_ASSERT_EQUAL(auth_alg_decode(&p, &a), 0);
	CU_ASSERT_EQUAL(a, AUTH_ALG_MD5);
	p = PLS("SHA-1");
	CU_ASSERT_EQUAL(auth_alg_decode(&p, &a), ENOTSUP);
	p = PLS("MD5-sess2");
	CU_ASSERT_EQUAL(auth_alg_decode(&p, &a), ENOTSUP);
	CU_ASSERT_EQUAL(auth_alg_hexlen(AUTH_ALG_MD5_SESS), 32);
	CU_ASSERT_EQUAL(auth_alg_hexlen(AUTH_ALG_SHA512_256), 64);
	CU_ASSERT_STRING_EQUAL(auth_alg_name(AUTH_ALG_COUNT), "?");
	CU_ASSERT_STRING_EQUAL(auth_verdict_name(AUTH_V_REPLAY), "replay");
}

/* ---- helpers: decode, fake clock, user table ---- */

static void
dec(struct sip_auth *a, const char *s)
{
	struct pl p = PLS(s);
	const char *why = NULL;
	int err = sip_auth_decode(a, &p, &why);

	if (err)
		fprintf(stderr, "\n  cannot decode (%s): %s\n", why, s);
	CU_ASSERT_EQUAL_FATAL(err, 0);
}

struct env {
	uint64_t now;
	unsigned lookups, unknown;
	int lookup_err;
	struct auth_server *srv;
};

static uint64_t
env_now(void *arg)
{
	return ((struct env *)arg)->now;
}

static const char odd_user[] = "odd \"q\" \\ user";

static void
secret_set(struct auth_secret *sec, const char *s, bool ha1)
{
	sec->is_ha1 = ha1;
	sec->len = strlen(s);
	memcpy(sec->buf, s, sec->len);
}

/* Mufasa has a password, alice a stored HA1 (per hash), odd_user too. */
static int
env_lookup(const struct pl *user, const struct pl *realm, enum auth_alg alg,
	   struct auth_secret *sec, void *arg)
{
	struct env *env = arg;
	struct pl pw = PLS("alice pw");
	char ha1[AUTH_HEX_MAX];

	env->lookups++;
	if (env->lookup_err)
		return env->lookup_err;
	if (pl_eq_str(user, "Mufasa")) {
		secret_set(sec, "Circle of Life", false);
	} else if (pl_eq_str(user, odd_user)) {
		secret_set(sec, "odd pw", false);
	} else if (pl_eq_str(user, "badha1")) {
		secret_set(sec, "not hex", true);
	} else if (pl_eq_str(user, "alice")) {
		CU_ASSERT_EQUAL(auth_digest_ha1(alg, user, realm, &pw, ha1,
						sizeof(ha1)),
				0);
		secret_set(sec, ha1, true);
	} else {
		env->unknown++;
		return ENOENT;
	}
	return 0;
}

static const char realm[] = "tandem.example.org";
static const char ruri[] = "sip:bob@example.com;transport=tcp";

static void
env_init_at(struct env *env, uint64_t now, unsigned algs, const char *opaque,
	    bool refuse)
{
	static const uint8_t secret[AUTH_SECRET_LEN] = {1, 2, 3, 4, 5};
	struct auth_server_conf c;

	memset(env, 0, sizeof(*env));
	memset(&c, 0, sizeof(c));
	env->now = now;
	c.realm = realm;
	c.secret = secret;
	c.lifetime = 60;
	c.algs = algs;
	c.opaque = opaque;
	c.refuse_rfc2069 = refuse;
	c.now_h = env_now;
	c.now_arg = env;
	c.lookup_h = env_lookup;
	c.lookup_arg = env;
	CU_ASSERT_EQUAL_FATAL(auth_server_alloc(&env->srv, &c), 0);
}

static void
env_init(struct env *env, unsigned algs, const char *opaque, bool refuse)
{
	env_init_at(env, 1700000000, algs, opaque, refuse);
}

static void
env_close(struct env *env)
{
	CU_ASSERT_EQUAL(mem_nrefs(env->srv), 1);
	env->srv = mem_deref(env->srv);
}

static struct auth_req
req_invite(void)
{
	struct auth_req r = {PLS("INVITE"), PLS(ruri), PLS("")};

	return r;
}

/* A client answer to a fresh challenge; the buffers keep what a points
   into. */
struct ans {
	char ch[512], cr[1024];
	struct sip_auth cha, cra;
};

static int
answer(struct env *env, struct auth_client *cl, enum auth_alg alg,
       const char *user, const char *pw, const struct pl *bind, struct ans *a)
{
	struct auth_cred cred = {PLS(user), PLS(pw)};
	struct auth_req req = req_invite();

	CU_ASSERT_EQUAL_FATAL(auth_server_challenge(env->srv, alg, false, bind,
						    a->ch, sizeof(a->ch)),
			      0);
	dec(&a->cha, a->ch);
	auth_client_new_request(cl);
	return auth_client_answer(cl, &a->cha, &cred, &req, a->cr,
				  sizeof(a->cr));
}

static enum auth_verdict
verify(struct env *env, const char *cr, const struct pl *bind)
{
	struct auth_req req = req_invite();
	enum auth_verdict v = AUTH_V_COUNT;
	struct sip_auth a;

	dec(&a, cr);
	CU_ASSERT_EQUAL(auth_server_verify(env->srv, &a, &req, bind, &v), 0);
	return v;
}

/* One full round: challenge, answer, verify. */
static enum auth_verdict
round_trip(struct env *env, enum auth_alg alg, const char *user, const char *pw)
{
	struct auth_client cl;
	struct ans a;

	auth_client_init(&cl);
	CU_ASSERT_EQUAL_FATAL(answer(env, &cl, alg, user, pw, NULL, &a), 0);
	return verify(env, a.cr, NULL);
}

/* ---- UAC ---- */

static void
test_pick(void)
{
	struct sip_auth ch[4];
	size_t idx = 99;

	dec(&ch[0], "Digest realm=\"a\", nonce=\"1\", qop=\"auth\"");
	dec(&ch[1], "Digest realm=\"a\", nonce=\"2\", algorithm=SHA-256, "
		    "qop=\"auth,auth-int\"");
	dec(&ch[2], "Digest realm=\"a\", nonce=\"3\", algorithm=SHA-1");
	dec(&ch[3], "Basic realm=\"a\"");
	CU_ASSERT_EQUAL(auth_challenge_pick(ch, 4, &idx), 0);
	CU_ASSERT_EQUAL(idx, 1);
	CU_ASSERT_EQUAL(auth_challenge_pick(ch, 1, &idx), 0);
	CU_ASSERT_EQUAL(idx, 0);
	CU_ASSERT_EQUAL(auth_challenge_pick(ch + 2, 2, &idx), ENOTSUP);
	/* a tie keeps the server's order; unknown qop only: unusable */
	dec(&ch[0], "Digest realm=\"a\", nonce=\"1\", qop=\"auth\", "
		    "algorithm=SHA-256-sess");
	dec(&ch[2], "Digest realm=\"a\", nonce=\"3\", qop=\"auth-conf\"");
	CU_ASSERT_EQUAL(auth_challenge_pick(ch, 2, &idx), 0);
	CU_ASSERT_EQUAL(idx, 0);
	CU_ASSERT_EQUAL(auth_challenge_pick(ch + 2, 1, &idx), ENOTSUP);
	CU_ASSERT_EQUAL(auth_challenge_pick(ch, 0, &idx), ENOTSUP);
	/* -sess without qop cannot be answered */
	dec(&ch[0], "Digest realm=\"a\", nonce=\"1\", algorithm=MD5-sess");
	CU_ASSERT_EQUAL(auth_challenge_pick(ch, 1, &idx), ENOTSUP);
}

/* The answer to the RFC 2617 challenge has every field and a response
   that the known-answer computation reproduces with its cnonce. */
static void
test_client_format(void)
{
	static const char ch[] =
		"Digest realm=\"testrealm@host.com\", qop=\"auth,auth-int\", "
		"nonce=\"dcd98b7102dd2f0e8b11d0f600bfb0c093\", "
		"opaque=\"5ccc069c403ebaf9f0171e9517f40e41\"";
	struct auth_cred cred = {PLS("Mufasa"), PLS("Circle Of Life")};
	struct auth_req req = {PLS("GET"), PLS("/dir/index.html"), PLS("")};
	struct auth_digest_in in = in2617();
	struct sip_auth cha, cra;
	struct auth_client cl;
	char buf[512], exp[AUTH_HEX_MAX];

	auth_client_init(&cl);
	dec(&cha, ch);
	CU_ASSERT_EQUAL_FATAL(
		auth_client_answer(&cl, &cha, &cred, &req, buf, sizeof(buf)),
		0);
	CU_ASSERT(!strncmp(buf,
			   "Digest username=\"Mufasa\", "
			   "realm=\"testrealm@host.com\", "
			   "nonce=\"dcd98b7102dd2f0e8b11d0f600bfb0c093\", "
			   "uri=\"/dir/index.html\", response=\"",
			   118));
	CU_ASSERT_PTR_NULL(strstr(buf, "algorithm=")); /* none offered */
	CU_ASSERT_PTR_NOT_NULL(strstr(buf, ", qop=auth, nc=00000001, "
					   "opaque=\"5ccc069c403ebaf9f0171e9"
					   "517f40e41\""));
	dec(&cra, buf);
	CU_ASSERT_EQUAL(cra.cnonce.l, 32); /* 128 random bits in hex */
	in.cnonce = cra.cnonce;
	CU_ASSERT_EQUAL(auth_digest_response(&in, exp, sizeof(exp)), 0);
	CU_ASSERT(pl_eq_str(&cra.response, exp));
	/* an algorithm offered is echoed */
	dec(&cha, "Digest realm=\"r\", nonce=\"n\", qop=\"auth\", "
		  "algorithm=sha-256");
	auth_client_new_request(&cl);
	CU_ASSERT_EQUAL(
		auth_client_answer(&cl, &cha, &cred, &req, buf, sizeof(buf)),
		0);
	CU_ASSERT_PTR_NOT_NULL(strstr(buf, ", algorithm=SHA-256, "));
}

/* RFC 2069 challenge (no qop): no cnonce, qop or nc in the answer. */
static void
test_client_rfc2069(void)
{
	struct auth_cred cred = {PLS("Mufasa"), PLS("Circle Of Life")};
	struct auth_req req = {PLS("GET"), PLS("/dir/index.html"), PLS("")};
	struct sip_auth cha;
	struct auth_client cl;
	char buf[512];

	auth_client_init(&cl);
	dec(&cha, "Digest realm=\"testrealm@host.com\", "
		  "nonce=\"dcd98b7102dd2f0e8b11d0f600bfb0c093\"");
	CU_ASSERT_EQUAL_FATAL(
		auth_client_answer(&cl, &cha, &cred, &req, buf, sizeof(buf)),
		0);
	CU_ASSERT_STRING_EQUAL(buf,
			       "Digest username=\"Mufasa\", "
			       "realm=\"testrealm@host.com\", "
			       "nonce=\"dcd98b7102dd2f0e8b11d0f600bfb0c093\", "
			       "uri=\"/dir/index.html\", "
			       "response=\"670fd8c2df070c60b045671b8b24ff02\"");
	/* -sess needs a cnonce, which RFC 2617 forbids without qop */
	dec(&cha, "Digest realm=\"x\", nonce=\"y\", algorithm=MD5-sess");
	CU_ASSERT_EQUAL(
		auth_client_answer(&cl, &cha, &cred, &req, buf, sizeof(buf)),
		ENOTSUP);
}

static const char *
nc_of(const char *cr, char *out)
{
	struct sip_auth a;

	dec(&a, cr);
	return pl_strcpy(&a.nc, out, 16);
}

/* Each challenge is answered once per request; stale ones again. */
static void
test_client_once(void)
{
	struct auth_cred cred = {PLS("Mufasa"), PLS("pw")};
	struct auth_req req = req_invite();
	struct sip_auth c1, c2, c3;
	struct auth_client cl;
	char buf[512], nc[16];
	unsigned i;

	auth_client_init(&cl);
	dec(&c1, "Digest realm=\"r\", nonce=\"n1\", qop=\"auth\"");
	dec(&c2, "Digest realm=\"r\", nonce=\"n2\", qop=\"auth\"");
	dec(&c3, "Digest realm=\"r\", nonce=\"n3\", qop=\"auth\", stale=TRUE");
	CU_ASSERT_EQUAL(auth_client_answer(&cl, &c1, &cred, &req, buf, 512), 0);
	CU_ASSERT_STRING_EQUAL(nc_of(buf, nc), "00000001");
	/* refused: a new nonce, but not stale, and the same nonce again */
	CU_ASSERT_EQUAL(auth_client_answer(&cl, &c2, &cred, &req, buf, 512),
			EACCES);
	CU_ASSERT_EQUAL(auth_client_answer(&cl, &c1, &cred, &req, buf, 512),
			EACCES);
	/* stale=true: answered again with the new nonce from nc 1 */
	CU_ASSERT_EQUAL(auth_client_answer(&cl, &c3, &cred, &req, buf, 512), 0);
	CU_ASSERT_STRING_EQUAL(nc_of(buf, nc), "00000001");
	CU_ASSERT_PTR_NOT_NULL(strstr(buf, "nonce=\"n3\""));
	/* a new request reusing the nonce: next nc, then refused again */
	auth_client_new_request(&cl);
	CU_ASSERT_EQUAL(auth_client_answer(&cl, &c3, &cred, &req, buf, 512), 0);
	CU_ASSERT_STRING_EQUAL(nc_of(buf, nc), "00000002");
	CU_ASSERT_EQUAL(auth_client_answer(&cl, &c2, &cred, &req, buf, 512),
			EACCES);
	/* endless stale challenges end too */
	auth_client_new_request(&cl);
	CU_ASSERT_EQUAL(auth_client_answer(&cl, &c1, &cred, &req, buf, 512), 0);
	for (i = 0; i < AUTH_CLIENT_STALE_MAX; i++)
		CU_ASSERT_EQUAL(
			auth_client_answer(&cl, &c3, &cred, &req, buf, 512), 0);
	CU_ASSERT_EQUAL(auth_client_answer(&cl, &c3, &cred, &req, buf, 512),
			EACCES);
	/* another realm is answered on its own */
	dec(&c2, "Digest realm=\"proxy\", nonce=\"p1\"");
	CU_ASSERT_EQUAL(auth_client_answer(&cl, &c2, &cred, &req, buf, 512), 0);
	/* cached nonce n3 (nc 1, 2, 3 in the stale loop) for a new
	   request: nc counts on */
	CU_ASSERT_EQUAL(auth_client_reuse(&cl, &PLS("r"), &cred, &req, buf,
					  sizeof(buf)),
			0);
	CU_ASSERT_STRING_EQUAL(nc_of(buf, nc), "00000004");
	CU_ASSERT_PTR_NOT_NULL(strstr(buf, "nonce=\"n3\""));
	CU_ASSERT_EQUAL(auth_client_reuse(&cl, &PLS("nowhere"), &cred, &req,
					  buf, sizeof(buf)),
			ENOENT);
}

static void
test_client_errors(void)
{
	struct auth_cred cred = {PLS("Mufasa"), PLS("pw")};
	struct auth_req req = req_invite();
	struct auth_client cl;
	struct sip_auth c;
	char buf[512], big[400];
	unsigned i;

	auth_client_init(&cl);
	dec(&c, "Digest realm=\"r\", nonce=\"n1\", qop=\"auth\"");
	/* too small: nothing is kept, the retry with room works */
	CU_ASSERT_EQUAL(auth_client_answer(&cl, &c, &cred, &req, buf, 40),
			ENOSPC);
	CU_ASSERT_EQUAL(buf[0], '\0');
	CU_ASSERT_EQUAL(auth_client_answer(&cl, &c, &cred, &req, buf, 512), 0);
	CU_ASSERT_EQUAL(
		auth_client_answer(&cl, &c, &cred, &req, buf, strlen(buf)),
		EACCES);
	auth_client_init(&cl);
	CU_ASSERT_EQUAL(
		auth_client_answer(&cl, &c, &cred, &req, buf, strlen(buf) + 1),
		0); /* exactly fits with its NUL */
	auth_client_init(&cl);
	dec(&c, "Basic realm=\"r\"");
	CU_ASSERT_EQUAL(auth_client_answer(&cl, &c, &cred, &req, buf, 512),
			ENOTSUP);
	dec(&c, "Digest realm=\"r\", nonce=\"n\", algorithm=SHA-1");
	CU_ASSERT_EQUAL(auth_client_answer(&cl, &c, &cred, &req, buf, 512),
			ENOTSUP);
	dec(&c, "Digest realm=\"r\", nonce=\"n\", qop=\"auth-conf\"");
	CU_ASSERT_EQUAL(auth_client_answer(&cl, &c, &cred, &req, buf, 512),
			ENOTSUP);
	dec(&c, "Digest realm=\"r\", qop=\"auth\"");
	CU_ASSERT_EQUAL(auth_client_answer(&cl, &c, &cred, &req, buf, 512),
			EBADMSG);
	memset(big, 'a', sizeof(big));
	memcpy(big, "Digest nonce=\"n\", realm=\"", 25);
	strcpy(big + sizeof(big) - 2, "\"");
	dec(&c, big);
	CU_ASSERT_EQUAL(auth_client_answer(&cl, &c, &cred, &req, buf, 512),
			EMSGSIZE);
	/* CR/LF never reach a header */
	dec(&c, "Digest realm=\"r\", nonce=\"n\"");
	cred.user = PLS("evil\r\nVia: x");
	CU_ASSERT_EQUAL(auth_client_answer(&cl, &c, &cred, &req, buf, 512),
			EINVAL);
	cred.user = PLS("Mufasa");
	/* room for AUTH_CLIENT_REALMS realms */
	for (i = 0; i <= AUTH_CLIENT_REALMS; i++) {
		snprintf(big, sizeof(big), "Digest realm=\"r%u\", nonce=\"n\"",
			 i);
		dec(&c, big);
		CU_ASSERT_EQUAL(
			auth_client_answer(&cl, &c, &cred, &req, buf, 512),
			i < AUTH_CLIENT_REALMS ? 0 : ENOBUFS);
	}
}

/* ---- UAS ---- */

static void
test_server_challenge(void)
{
	struct env env;
	struct sip_auth a, b;
	char buf[512], buf2[512];
	size_t idx = 9;

	env_init(&env, 0, "node-1", false);
	CU_ASSERT_EQUAL(auth_server_challenge(env.srv, AUTH_ALG_SHA256, false,
					      NULL, buf, sizeof(buf)),
			0);
	dec(&a, buf);
	CU_ASSERT(pl_eq_str(&a.scheme, "Digest"));
	CU_ASSERT(pl_eq_str(&a.realm, realm));
	CU_ASSERT(pl_eq_str(&a.qop, "auth"));
	CU_ASSERT(pl_eq_str(&a.opaque, "node-1"));
	CU_ASSERT(pl_eq_str(&a.algorithm, "SHA-256"));
	CU_ASSERT_EQUAL(a.nonce.l, 76);
	CU_ASSERT(!pl_isset(&a.stale));
	CU_ASSERT_EQUAL(auth_server_challenge(env.srv, AUTH_ALG_MD5, true, NULL,
					      buf2, sizeof(buf2)),
			0);
	dec(&b, buf2);
	CU_ASSERT(pl_eq_str(&b.stale, "true"));
	CU_ASSERT(!pl_eq(&a.nonce, &b.nonce)); /* every nonce unique */
	/* not enabled, no room, bad binding */
	CU_ASSERT_EQUAL(auth_server_challenge(env.srv, AUTH_ALG_SHA512_256,
					      false, NULL, buf, sizeof(buf)),
			EINVAL);
	CU_ASSERT_EQUAL(auth_server_challenge(env.srv, AUTH_ALG_MD5, false,
					      NULL, buf, 100),
			ENOSPC);
	memset(buf2, 'x', 129);
	CU_ASSERT_EQUAL(auth_server_challenge(env.srv, AUTH_ALG_MD5, false,
					      &(struct pl){buf2, 129}, buf,
					      sizeof(buf)),
			EINVAL);
	CU_ASSERT_EQUAL(auth_server_stats(env.srv)->challenges, 2);
	/* the credentials for our realm among others */
	dec(&a, "Digest username=\"u\", realm=\"other\"");
	dec(&b, "Digest username=\"u\", realm=\"tandem.example.org\"");
	CU_ASSERT_EQUAL(
		auth_server_pick(env.srv, (struct sip_auth[]){a, b}, 2, &idx),
		0);
	CU_ASSERT_EQUAL(idx, 1);
	CU_ASSERT_EQUAL(auth_server_pick(env.srv, &a, 1, &idx), ENOENT);
	env_close(&env);
}

static void
test_server_alloc(void)
{
	struct auth_server_conf c;
	struct auth_server *srv = (void *)1;

	memset(&c, 0, sizeof(c));
	c.lookup_h = env_lookup;
	CU_ASSERT_EQUAL(auth_server_alloc(&srv, &c), EINVAL);
	c.realm = "bad\r\nrealm";
	CU_ASSERT_EQUAL(auth_server_alloc(&srv, &c), EINVAL);
	c.realm = "ok";
	c.algs = AUTH_ALG_BIT(AUTH_ALG_COUNT);
	CU_ASSERT_EQUAL(auth_server_alloc(&srv, &c), EINVAL);
	c.algs = 0;
	c.lookup_h = NULL;
	CU_ASSERT_EQUAL(auth_server_alloc(&srv, &c), EINVAL);
	c.lookup_h = env_lookup;
	/* random secret and system clock */
	CU_ASSERT_EQUAL_FATAL(auth_server_alloc(&srv, &c), 0);
	CU_ASSERT_EQUAL(mem_nrefs(srv), 1);
	srv = mem_deref(srv);
}

static void
test_roundtrip(void)
{
	struct env env;
	const struct auth_server_stats *st;

	env_init(&env,
		 AUTH_ALG_BIT(AUTH_ALG_MD5) | AUTH_ALG_BIT(AUTH_ALG_SHA256) |
			 AUTH_ALG_BIT(AUTH_ALG_SHA256_SESS) |
			 AUTH_ALG_BIT(AUTH_ALG_SHA512_256),
		 NULL, false);
	st = auth_server_stats(env.srv);
	CU_ASSERT_EQUAL(
		round_trip(&env, AUTH_ALG_MD5, "Mufasa", "Circle of Life"),
		AUTH_V_OK);
	CU_ASSERT_EQUAL(
		round_trip(&env, AUTH_ALG_SHA256, "Mufasa", "Circle of Life"),
		AUTH_V_OK);
	CU_ASSERT_EQUAL(round_trip(&env, AUTH_ALG_SHA256_SESS, "Mufasa",
				   "Circle of Life"),
			AUTH_V_OK);
	CU_ASSERT_EQUAL(round_trip(&env, AUTH_ALG_SHA512_256, "Mufasa",
				   "Circle of Life"),
			AUTH_V_OK);
	/* stored HA1s, per hash */
	CU_ASSERT_EQUAL(round_trip(&env, AUTH_ALG_MD5, "alice", "alice pw"),
			AUTH_V_OK);
	CU_ASSERT_EQUAL(
		round_trip(&env, AUTH_ALG_SHA256_SESS, "alice", "alice pw"),
		AUTH_V_OK);
	CU_ASSERT_EQUAL(st->ok, 6);
	/* wrong password and unknown user: one verdict, both looked up */
	env.lookups = 0;
	CU_ASSERT_EQUAL(
		round_trip(&env, AUTH_ALG_SHA256, "Mufasa", "Circle Of Life"),
		AUTH_V_FAIL);
	CU_ASSERT_EQUAL(round_trip(&env, AUTH_ALG_SHA256, "alice", "x"),
			AUTH_V_FAIL);
	CU_ASSERT_EQUAL(
		round_trip(&env, AUTH_ALG_SHA256, "nobody", "Circle of Life"),
		AUTH_V_FAIL);
	CU_ASSERT_EQUAL(env.lookups, 3);
	CU_ASSERT_EQUAL(env.unknown, 1);
	CU_ASSERT_EQUAL(st->fail, 3);
	/* a broken stored HA1 never matches */
	CU_ASSERT_EQUAL(round_trip(&env, AUTH_ALG_MD5, "badha1", "not hex"),
			AUTH_V_FAIL);
	/* the lookup's own failure is an error, not a verdict */
	env.lookup_err = EIO;
	{
		struct auth_client cl;
		struct auth_req req = req_invite();
		enum auth_verdict v;
		struct ans a;
		struct sip_auth cr;

		auth_client_init(&cl);
		CU_ASSERT_EQUAL(answer(&env, &cl, AUTH_ALG_MD5, "Mufasa", "x",
				       NULL, &a),
				0);
		dec(&cr, a.cr);
		CU_ASSERT_EQUAL(
			auth_server_verify(env.srv, &cr, &req, NULL, &v), EIO);
	}
	env.lookup_err = 0;
	CU_ASSERT_EQUAL(st->challenges, 11);
	env_close(&env);
}

/* Flip one character of the nonce in credentials text cr. */
static void
tamper_nonce(char *cr, size_t at)
{
	char *p = strstr(cr, "nonce=\"");

	CU_ASSERT_PTR_NOT_NULL_FATAL(p);
	p += 7 + at;
	*p = *p == 'A' ? 'B' : 'A';
}

static void
test_forged_bound_stale(void)
{
	struct auth_cred cred = {PLS("Mufasa"), PLS("Circle of Life")};
	struct auth_req req = req_invite();
	struct pl ip = PLS("192.0.2.7"), ip2 = PLS("192.0.2.8");
	struct auth_client cl;
	struct env env;
	struct ans a;
	char buf[1024];

	env_init(&env, 0, NULL, false);
	auth_client_init(&cl);
	CU_ASSERT_EQUAL(answer(&env, &cl, AUTH_ALG_SHA256, "Mufasa",
			       "Circle of Life", &ip, &a),
			0);
	strcpy(buf, a.cr);
	tamper_nonce(buf, 10); /* issue time */
	CU_ASSERT_EQUAL(verify(&env, buf, &ip), AUTH_V_FAIL);
	strcpy(buf, a.cr);
	tamper_nonce(buf, 75); /* MAC */
	CU_ASSERT_EQUAL(verify(&env, buf, &ip), AUTH_V_FAIL);
	/* bound to the source: another address or none is a forgery */
	CU_ASSERT_EQUAL(verify(&env, a.cr, &ip2), AUTH_V_FAIL);
	CU_ASSERT_EQUAL(verify(&env, a.cr, NULL), AUTH_V_FAIL);
	/* expired: stale only with the right password */
	env.now += 61;
	CU_ASSERT_EQUAL(verify(&env, a.cr, &ip), AUTH_V_STALE);
	env.now -= 61;
	CU_ASSERT_EQUAL(verify(&env, a.cr, &ip), AUTH_V_OK);
	auth_client_init(&cl);
	CU_ASSERT_EQUAL(
		answer(&env, &cl, AUTH_ALG_SHA256, "Mufasa", "wrong", &ip, &a),
		0);
	env.now += 61;
	CU_ASSERT_EQUAL(verify(&env, a.cr, &ip), AUTH_V_FAIL);
	/* the stale round: the client answers the stale=true challenge */
	auth_client_init(&cl);
	CU_ASSERT_EQUAL(answer(&env, &cl, AUTH_ALG_MD5, "Mufasa",
			       "Circle of Life", NULL, &a),
			0);
	env.now += 61;
	CU_ASSERT_EQUAL(verify(&env, a.cr, NULL), AUTH_V_STALE);
	CU_ASSERT_EQUAL(auth_server_challenge(env.srv, AUTH_ALG_MD5, true, NULL,
					      a.ch, sizeof(a.ch)),
			0);
	dec(&a.cha, a.ch);
	CU_ASSERT_EQUAL(
		auth_client_answer(&cl, &a.cha, &cred, &req, buf, sizeof(buf)),
		0);
	CU_ASSERT_EQUAL(verify(&env, buf, NULL), AUTH_V_OK);
	/* and a non-stale one after that is refused by the client */
	CU_ASSERT_EQUAL(auth_server_challenge(env.srv, AUTH_ALG_MD5, false,
					      NULL, a.ch, sizeof(a.ch)),
			0);
	dec(&a.cha, a.ch);
	CU_ASSERT_EQUAL(
		auth_client_answer(&cl, &a.cha, &cred, &req, buf, sizeof(buf)),
		EACCES);
	/* clock stepped back behind the nonce: stale, not trusted */
	CU_ASSERT_EQUAL(answer(&env, &cl, AUTH_ALG_MD5, "Mufasa",
			       "Circle of Life", NULL, &a),
			0);
	env.now -= 10;
	CU_ASSERT_EQUAL(verify(&env, a.cr, NULL), AUTH_V_STALE);
	CU_ASSERT_EQUAL(auth_server_stats(env.srv)->stale, 3);
	env_close(&env);
}

static void
test_replay(void)
{
	struct auth_cred cred = {PLS("Mufasa"), PLS("Circle of Life")};
	struct auth_req req = req_invite();
	struct auth_client cl;
	struct env env;
	struct ans a;
	char buf2[1024], buf3[1024];

	env_init(&env, 0, NULL, false);
	auth_client_init(&cl);
	CU_ASSERT_EQUAL(answer(&env, &cl, AUTH_ALG_SHA256, "Mufasa",
			       "Circle of Life", NULL, &a),
			0);
	CU_ASSERT_EQUAL(verify(&env, a.cr, NULL), AUTH_V_OK);
	CU_ASSERT_EQUAL(verify(&env, a.cr, NULL), AUTH_V_REPLAY);
	CU_ASSERT_EQUAL(auth_client_reuse(&cl, &PLS(realm), &cred, &req, buf2,
					  sizeof(buf2)),
			0);
	CU_ASSERT_EQUAL(auth_client_reuse(&cl, &PLS(realm), &cred, &req, buf3,
					  sizeof(buf3)),
			0);
	/* nc 3 first, then 2 is too late; 3 again is a replay */
	CU_ASSERT_EQUAL(verify(&env, buf3, NULL), AUTH_V_OK);
	CU_ASSERT_EQUAL(verify(&env, buf2, NULL), AUTH_V_REPLAY);
	CU_ASSERT_EQUAL(verify(&env, buf3, NULL), AUTH_V_REPLAY);
	CU_ASSERT_EQUAL(auth_client_reuse(&cl, &PLS(realm), &cred, &req, buf2,
					  sizeof(buf2)),
			0);
	CU_ASSERT_EQUAL(verify(&env, buf2, NULL), AUTH_V_OK);
	/* a forger with a high nc does not advance the table */
	CU_ASSERT_EQUAL(auth_client_reuse(&cl, &PLS(realm), &cred, &req, buf3,
					  sizeof(buf3)),
			0);
	{
		char *p = strstr(buf2, "nc=00000004");

		CU_ASSERT_PTR_NOT_NULL_FATAL(p);
		memcpy(p, "nc=00000009", 11);
		CU_ASSERT_EQUAL(verify(&env, buf2, NULL), AUTH_V_FAIL);
	}
	CU_ASSERT_EQUAL(verify(&env, buf3, NULL), AUTH_V_OK); /* nc 5 */
	CU_ASSERT_EQUAL(auth_server_stats(env.srv)->replay, 3);
	env_close(&env);
}

/* Answer challenge text ch with a fresh client; keeps it in cl. */
static void
answer_ch(struct auth_client *cl, const char *ch, char *cr, size_t size)
{
	struct auth_cred cred = {PLS("Mufasa"), PLS("Circle of Life")};
	struct auth_req req = req_invite();
	struct sip_auth a;

	dec(&a, ch);
	auth_client_init(cl);
	CU_ASSERT_EQUAL_FATAL(auth_client_answer(cl, &a, &cred, &req, cr, size),
			      0);
}

static void
reuse(struct auth_client *cl, char *cr, size_t size)
{
	struct auth_cred cred = {PLS("Mufasa"), PLS("Circle of Life")};
	struct auth_req req = req_invite();

	CU_ASSERT_EQUAL_FATAL(
		auth_client_reuse(cl, &PLS(realm), &cred, &req, cr, size), 0);
}

#define NB 1024 /* buckets of the nonce-count table (4096 slots, 4 ways) */

/*
 * The table is full: a nonce whose history was evicted never passes
 * again (STALE, never OK), nonces still held keep their replay check,
 * and a first use older than a whole bucket is taken once.
 */
static void
test_nc_eviction(void)
{
	static char ch[2][5][256]; /* buckets 0 and 1, seq b + k * NB */
	struct auth_client cl[2][5];
	char cr[2][5][1024], tmp[1024];
	struct env env;
	unsigned i, b, k;

	env_init(&env, 0, NULL, false);
	for (i = 0; i <= 4 * NB + 1; i++) { /* challenge i has seq i */
		b = i % NB;
		CU_ASSERT_EQUAL_FATAL(
			auth_server_challenge(env.srv, AUTH_ALG_MD5, false,
					      NULL, b < 2 ? ch[b][i / NB] : tmp,
					      256),
			0);
	}
	for (b = 0; b < 2; b++)
		for (k = 0; k < 5; k++)
			answer_ch(&cl[b][k], ch[b][k], cr[b][k], 1024);
	/* bucket 0: seq 0, NB, 2NB, 3NB fill it, 4NB evicts seq 0 */
	for (k = 0; k < 5; k++)
		CU_ASSERT_EQUAL(verify(&env, cr[0][k], NULL), AUTH_V_OK);
	CU_ASSERT_EQUAL(verify(&env, cr[0][0], NULL), AUTH_V_STALE);
	reuse(&cl[0][0], tmp, sizeof(tmp)); /* nc 2 on the lost nonce */
	CU_ASSERT_EQUAL(verify(&env, tmp, NULL), AUTH_V_STALE);
	CU_ASSERT_EQUAL(verify(&env, cr[0][1], NULL), AUTH_V_REPLAY);
	CU_ASSERT_EQUAL(verify(&env, cr[0][4], NULL), AUTH_V_REPLAY);
	reuse(&cl[0][1], tmp, sizeof(tmp));
	CU_ASSERT_EQUAL(verify(&env, tmp, NULL), AUTH_V_OK);
	/* bucket 1: fill with seq NB+1 .. 4NB+1, then first use of seq 1 */
	for (k = 1; k < 5; k++)
		CU_ASSERT_EQUAL(verify(&env, cr[1][k], NULL), AUTH_V_OK);
	CU_ASSERT_EQUAL(verify(&env, cr[1][0], NULL), AUTH_V_OK);
	CU_ASSERT_EQUAL(verify(&env, cr[1][0], NULL), AUTH_V_STALE);
	reuse(&cl[1][0], tmp, sizeof(tmp));
	CU_ASSERT_EQUAL(verify(&env, tmp, NULL), AUTH_V_STALE);
	CU_ASSERT_EQUAL(verify(&env, cr[1][4], NULL), AUTH_V_REPLAY);
	CU_ASSERT_EQUAL(auth_server_stats(env.srv)->ok, 11);
	env_close(&env);
}

/* A nonce of an earlier instance with the same secret (a restart) has no
   replay state here: STALE, never OK. */
static void
test_restart(void)
{
	struct auth_client cl;
	struct env a, b;
	struct ans an;
	char tmp[512];

	env_init(&a, 0, NULL, false);
	auth_client_init(&cl);
	CU_ASSERT_EQUAL(answer(&a, &cl, AUTH_ALG_MD5, "Mufasa",
			       "Circle of Life", NULL, &an),
			0);
	CU_ASSERT_EQUAL(verify(&a, an.cr, NULL), AUTH_V_OK);
	env_init_at(&b, a.now + 5, 0, NULL, false);
	/* b has issued seq 0 and 1 too: only the instance id tells */
	CU_ASSERT_EQUAL(auth_server_challenge(b.srv, AUTH_ALG_MD5, false, NULL,
					      tmp, sizeof(tmp)),
			0);
	CU_ASSERT_EQUAL(auth_server_challenge(b.srv, AUTH_ALG_MD5, false, NULL,
					      tmp, sizeof(tmp)),
			0);
	CU_ASSERT_EQUAL(verify(&b, an.cr, NULL), AUTH_V_STALE);
	/* and a nonce b never issued (seq ahead of it) */
	env_close(&b);
	env_init_at(&b, a.now, 0, NULL, false);
	CU_ASSERT_EQUAL(verify(&b, an.cr, NULL), AUTH_V_STALE);
	env_close(&a);
	env_close(&b);
}

/* Odd user names survive quoting both ways. */
static void
test_quoting(void)
{
	struct auth_client cl;
	struct sip_auth cr;
	struct env env;
	struct ans a;

	env_init(&env, 0, NULL, false);
	auth_client_init(&cl);
	CU_ASSERT_EQUAL(answer(&env, &cl, AUTH_ALG_SHA256, odd_user, "odd pw",
			       NULL, &a),
			0);
	CU_ASSERT_PTR_NOT_NULL(
		strstr(a.cr, "username=\"odd \\\"q\\\" \\\\ user\""));
	dec(&cr, a.cr);
	CU_ASSERT(pl_eq_str(&cr.username, "odd \\\"q\\\" \\\\ user"));
	CU_ASSERT_EQUAL(verify(&env, a.cr, NULL), AUTH_V_OK);
	auth_client_init(&cl);
	CU_ASSERT_EQUAL(answer(&env, &cl, AUTH_ALG_SHA256, odd_user, "bad pw",
			       NULL, &a),
			0);
	CU_ASSERT_EQUAL(verify(&env, a.cr, NULL), AUTH_V_FAIL);
	env_close(&env);
}

/* Credentials built by hand from fmt (printf with the nonce and the
   response) around a fresh nonce. */
static void
make_cred(struct env *env, const char *fmt, enum auth_qop qop, char *cr,
	  size_t size)
{
	char ch[512], resp[AUTH_HEX_MAX], nonce[80];
	struct auth_digest_in in = in2617();
	struct sip_auth a;

	CU_ASSERT_EQUAL_FATAL(auth_server_challenge(env->srv, AUTH_ALG_MD5,
						    false, NULL, ch,
						    sizeof(ch)),
			      0);
	dec(&a, ch);
	pl_strcpy(&a.nonce, nonce, sizeof(nonce));
	in.qop = qop;
	in.password = PLS("Circle of Life");
	in.realm = PLS(realm);
	in.nonce = PLS(nonce);
	in.method = PLS("INVITE");
	in.uri = PLS(ruri);
	CU_ASSERT_EQUAL(auth_digest_response(&in, resp, sizeof(resp)), 0);
	snprintf(cr, size, fmt, nonce, resp);
}

static enum auth_verdict
verify_fmt(struct env *env, const char *fmt)
{
	char cr[1024];

	make_cred(env, fmt, AUTH_QOP_AUTH, cr, sizeof(cr));
	return verify(env, cr, NULL);
}

#define GOOD_U "Digest username=\"Mufasa\", realm=\"tandem.example.org\", "
#define GOOD_URI "uri=\"sip:bob@example.com;transport=tcp\", "
#define GOOD_QOP "cnonce=\"0a4f113b\", nc=00000001, qop=auth"

static void
test_malformed(void)
{
	static const char *const bad[] = {
		"Digest realm=\"tandem.example.org\", nonce=\"%s\", " GOOD_URI
		"response=\"%s\", " GOOD_QOP,
		GOOD_U "nonce=\"%s\", response=\"%s\", " GOOD_QOP,
		GOOD_U GOOD_URI "nonce=\"%s\", " GOOD_QOP "%.0s",
		GOOD_U GOOD_URI "response=\"%.0s%s\", " GOOD_QOP,
		"Digest username=\"Mufasa\", realm=\"tandem.example.com\", "
		"nonce=\"%s\", " GOOD_URI "response=\"%s\", " GOOD_QOP,
		GOOD_U "uri=\"sip:bob@example.com\", nonce=\"%s\", "
		       "response=\"%s\", " GOOD_QOP,
		GOOD_U GOOD_URI "nonce=\"%s\", response=\"%s\", "
				"cnonce=\"0a4f113b\", nc=0000001, qop=auth",
		GOOD_U GOOD_URI "nonce=\"%s\", response=\"%s\", "
				"cnonce=\"0a4f113b\", nc=00000000, qop=auth",
		GOOD_U GOOD_URI "nonce=\"%s\", response=\"%s\", "
				"cnonce=\"0a4f113b\", nc=0000000g, qop=auth",
		GOOD_U GOOD_URI "nonce=\"%s\", response=\"%s\", "
				"cnonce=\"0a4f113b\", nc=00000001, "
				"qop=auth-conf",
		GOOD_U GOOD_URI "nonce=\"%s\", response=\"%s\", "
				"nc=00000001, qop=auth",
		GOOD_U GOOD_URI "nonce=\"%s\", response=\"%s\", "
				"cnonce=\"0a4f113b\"",
		GOOD_U GOOD_URI "nonce=\"%s\", response=\"%s\", " GOOD_QOP
				", algorithm=SHA-512-256",
		GOOD_U GOOD_URI "nonce=\"%s\", response=\"%s\", " GOOD_QOP
				", algorithm=SHA-1",
		GOOD_U GOOD_URI "nonce=\"%s\", response=\"%s\", " GOOD_QOP
				", userhash=true",
		GOOD_U GOOD_URI "nonce=\"%s\", response=\"%s0\", " GOOD_QOP,
		"Digestx username=\"Mufasa\", realm=\"tandem.example.org\", "
		"nonce=\"%s\", " GOOD_URI "response=\"%s\", " GOOD_QOP,
		"Digest username=\"Muf\\\001asa\", "
		"realm=\"tandem.example.org\", "
		"nonce=\"%s\", " GOOD_URI "response=\"%s\", " GOOD_QOP,
	};
	struct env env;
	unsigned i;

	env_init(&env, 0, NULL, false);
	/* the template is right: only the changes make it malformed */
	CU_ASSERT_EQUAL(verify_fmt(&env, GOOD_U GOOD_URI
				   "nonce=\"%s\", "
				   "response=\"%s\", " GOOD_QOP),
			AUTH_V_OK);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (verify_fmt(&env, bad[i]) != AUTH_V_MALFORMED) {
			fprintf(stderr, "\n  not malformed: #%u\n", i);
			CU_FAIL("credentials not malformed");
		}
	}
	CU_ASSERT_EQUAL(auth_server_stats(env.srv)->malformed,
			sizeof(bad) / sizeof(bad[0]));
	CU_ASSERT_EQUAL(env.lookups, 1); /* none looked up */
	env_close(&env);
}

/* RFC 2069 credentials (no qop): accepted within the lifetime, and a
   replay of them too (the documented weaker protection), unless refused. */
static void
test_rfc2069(void)
{
	static const char fmt[] = GOOD_U GOOD_URI "nonce=\"%s\", "
						  "response=\"%s\"";
	struct env env;
	char cr[1024];

	env_init(&env, 0, NULL, false);
	make_cred(&env, fmt, AUTH_QOP_NONE, cr, sizeof(cr));
	CU_ASSERT_EQUAL(verify(&env, cr, NULL), AUTH_V_OK);
	CU_ASSERT_EQUAL(verify(&env, cr, NULL), AUTH_V_OK);
	env.now += 61;
	CU_ASSERT_EQUAL(verify(&env, cr, NULL), AUTH_V_STALE);
	/* with a qop response but no qop: wrong digest */
	make_cred(&env, fmt, AUTH_QOP_AUTH, cr, sizeof(cr));
	CU_ASSERT_EQUAL(verify(&env, cr, NULL), AUTH_V_FAIL);
	env_close(&env);
	env_init(&env, 0, NULL, true);
	make_cred(&env, fmt, AUTH_QOP_NONE, cr, sizeof(cr));
	CU_ASSERT_EQUAL(verify(&env, cr, NULL), AUTH_V_MALFORMED);
	env_close(&env);
}

/* qop=auth-int (not offered, but accepted): the body is in the digest. */
static void
test_auth_int(void)
{
	static const char fmt[] = GOOD_U GOOD_URI
		"nonce=\"%s\", response=\"%s\", cnonce=\"0a4f113b\", "
		"nc=00000001, qop=auth-int";
	struct auth_req req = req_invite();
	enum auth_verdict v;
	struct sip_auth a;
	struct env env;
	char cr[1024];

	env_init(&env, 0, NULL, false);
	make_cred(&env, fmt, AUTH_QOP_AUTH_INT, cr, sizeof(cr));
	dec(&a, cr);
	req.body = PLS("v=0\r\n"); /* not the body the digest covers */
	CU_ASSERT_EQUAL(auth_server_verify(env.srv, &a, &req, NULL, &v), 0);
	CU_ASSERT_EQUAL(v, AUTH_V_FAIL);
	CU_ASSERT_EQUAL(verify(&env, cr, NULL), AUTH_V_OK); /* empty body */
	env_close(&env);
}

/* A configured opaque must come back unchanged. */
static void
test_opaque(void)
{
	struct env env;

	env_init(&env, 0, "node-1", false);
	CU_ASSERT_EQUAL(verify_fmt(&env, GOOD_U GOOD_URI
				   "nonce=\"%s\", response=\"%s\", " GOOD_QOP),
			AUTH_V_MALFORMED);
	CU_ASSERT_EQUAL(verify_fmt(&env, GOOD_U GOOD_URI
				   "nonce=\"%s\", response=\"%s\", " GOOD_QOP
				   ", opaque=\"node-2\""),
			AUTH_V_MALFORMED);
	CU_ASSERT_EQUAL(verify_fmt(&env, GOOD_U GOOD_URI
				   "nonce=\"%s\", response=\"%s\", " GOOD_QOP
				   ", opaque=\"node-1\""),
			AUTH_V_OK);
	env_close(&env);
}

void test_digest_register(void);
void
test_digest_register(void)
{
	CU_pSuite s = tu_suite("digest");

	TU_ADD(s, test_kat_rfc2617);
	TU_ADD(s, test_kat_rfc7616);
	TU_ADD(s, test_kat_variants);
	TU_ADD(s, test_kat_errors);
	TU_ADD(s, test_alg_names);
	TU_ADD(s, test_pick);
	TU_ADD(s, test_client_format);
	TU_ADD(s, test_client_rfc2069);
	TU_ADD(s, test_client_once);
	TU_ADD(s, test_client_errors);
	TU_ADD(s, test_server_challenge);
	TU_ADD(s, test_server_alloc);
	TU_ADD(s, test_roundtrip);
	TU_ADD(s, test_forged_bound_stale);
	TU_ADD(s, test_replay);
	TU_ADD(s, test_nc_eviction);
	TU_ADD(s, test_restart);
	TU_ADD(s, test_quoting);
	TU_ADD(s, test_malformed);
	TU_ADD(s, test_rfc2069);
	TU_ADD(s, test_auth_int);
	TU_ADD(s, test_opaque);
}
