/* Unit tests: SIP header value decoders (stack/sip_hdr.c). */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "stack/sip_msg.h"
#include "testutil.h"

#define PL_EQ(pl, s) CU_ASSERT(pl_eq_str(&(pl), (s)))

static const char *why;

static int
via(struct sip_via *v, const char *s)
{
	struct pl p = {s, strlen(s)};

	why = NULL;
	return sip_via_decode(v, &p, &why);
}

static void
test_via_good(void)
{
	struct sip_via v;

	CU_ASSERT_EQUAL_FATAL(
		via(&v, "SIP/2.0/UDP pc33.example.com:5066;branch=z9hG4bK776"
			";received=192.0.2.4;rport=5070;ttl=16"
			";maddr=239.255.255.1;x-ext;y=\"q;,z\""),
		0);
	PL_EQ(v.proto, "SIP");
	PL_EQ(v.version, "2.0");
	PL_EQ(v.transport, "UDP");
	PL_EQ(v.host, "pc33.example.com");
	CU_ASSERT_EQUAL(v.host_type, SIP_HOST_NAME);
	CU_ASSERT_EQUAL(v.port, 5066);
	PL_EQ(v.branch, "z9hG4bK776");
	PL_EQ(v.received, "192.0.2.4");
	CU_ASSERT(v.rport);
	PL_EQ(v.rport_val, "5070");
	PL_EQ(v.ttl, "16");
	PL_EQ(v.maddr, "239.255.255.1");
	CU_ASSERT(v.params.l > 0 && v.params.p[0] == ';');
	CU_ASSERT(v.raw.l > 0);

	/* LWS and folds around '/', ':', ';' and '=' (§7.3.1, RFC 4475
	   wsinv) */
	CU_ASSERT_EQUAL_FATAL(via(&v, "SIP  /   2.0\r\n /UDP\r\n    192.0.2.2 "
				      ": 5060 ;\r\n  branch  =\r\n z9hG4bKx"),
			      0);
	PL_EQ(v.transport, "UDP");
	PL_EQ(v.host, "192.0.2.2");
	CU_ASSERT_EQUAL(v.host_type, SIP_HOST_IPV4);
	CU_ASSERT_EQUAL(v.port, 5060);
	PL_EQ(v.branch, "z9hG4bKx");

	/* IPv6 sent-by, received with and without [] (RFC 5118 §4.5) */
	CU_ASSERT_EQUAL_FATAL(via(&v, "SIP/2.0/TCP [2001:db8::9:1]:6050"
				      ";received=[2001:db8::9:255];rport"),
			      0);
	PL_EQ(v.host, "2001:db8::9:1");
	CU_ASSERT_EQUAL(v.host_type, SIP_HOST_IPV6);
	CU_ASSERT_EQUAL(v.port, 6050);
	PL_EQ(v.received, "2001:db8::9:255");
	CU_ASSERT(v.rport);
	CU_ASSERT(!pl_isset(&v.rport_val));
	CU_ASSERT(!pl_isset(&v.branch));
	CU_ASSERT_EQUAL_FATAL(via(&v, "SIP/2.0/UDP [::ffff:192.0.2.10]"
				      ";received=2001:db8::9:255"),
			      0);
	PL_EQ(v.host, "::ffff:192.0.2.10");
	PL_EQ(v.received, "2001:db8::9:255");
	CU_ASSERT_EQUAL(v.port, 0);

	/* no branch: RFC 2543 peers (RFC 4475 §3.4.1) */
	CU_ASSERT_EQUAL(via(&v, "SIP/2.0/UDP iftgw.example.com"), 0);
	CU_ASSERT(!pl_isset(&v.branch));
	/* ttl bounds, unknown transport, trailing dot in hostname */
	CU_ASSERT_EQUAL(via(&v, "SIP/2.0/UDP h;ttl=0"), 0);
	CU_ASSERT_EQUAL(via(&v, "SIP/2.0/UDP h;ttl=255"), 0);
	CU_ASSERT_EQUAL(via(&v, "SIP/2.0/UNKNOWN h.example.com."), 0);
	PL_EQ(v.transport, "UNKNOWN");
	CU_ASSERT_EQUAL(via(&v, "SIP/2.0/UDP h:65535"), 0);
	CU_ASSERT_EQUAL(v.port, 65535);
}

/* §25.1 hostnames that must be accepted as Via sent-by */
static void
test_via_hostnames(void)
{
	static const char *good[] = {
		"SIP/2.0/UDP h",
		"SIP/2.0/UDP host.example.com.",
		"SIP/2.0/UDP 1-800.example.com",
		"SIP/2.0/UDP a1-b.x9",
		"SIP/2.0/UDP 192.0.2.1",
	};
	struct sip_via v;
	size_t i;

	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		int rc = via(&v, good[i]);

		if (rc)
			fprintf(stderr, "  via '%s' refused\n", good[i]);
		CU_ASSERT_EQUAL(rc, 0);
	}
}

static void
test_via_bad(void)
{
	static const char *bad[] = {
		"",
		"SIP/2.0/UDP",
		"SIP/2.0/UDP ",
		"SIP/2.0 UDP h",
		"SIP//UDP h",
		"SIP/2.0/UDPh",
		"SIP/2.0/UDP h:0",
		"SIP/2.0/UDP h:65536",
		"SIP/2.0/UDP h:",
		"SIP/2.0/UDP h;;branch=z9hG4bK1",
		"SIP/2.0/UDP h;branch=z9hG4bK1;",
		"SIP/2.0/UDP h;branch",
		"SIP/2.0/UDP h;branch=",
		"SIP/2.0/UDP h;ttl=256",
		"SIP/2.0/UDP h;ttl=",
		"SIP/2.0/UDP h;received=host.example.com",
		"SIP/2.0/UDP h;received=300.1.1.1",
		"SIP/2.0/UDP h;received=[2001:db8::1",
		"SIP/2.0/UDP h;rport=0",
		"SIP/2.0/UDP h;rport=70000",
		"SIP/2.0/UDP h;maddr=",
		"SIP/2.0/UDP [2001:db8::1",
		"SIP/2.0/UDP [zz::1]",
		"SIP/2.0/UDP -h.example.com",
		"SIP/2.0/UDP h..example.com",
		/* §25.1 toplabel starts with a letter: not a hostname, and
		   not an IPv4address either */
		"SIP/2.0/UDP 10.0.0.256.1",
		"SIP/2.0/UDP 192.0.2.300",
		"SIP/2.0/UDP host.example.1com",
		"SIP/2.0/UDP .",
		"SIP/2.0/UDP h junk",
		"SIP/2.0/UDP h;x=\"unterminated",
		"SIP/2.0/UDP h, SIP/2.0/UDP g",
	};
	struct sip_via v;
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		int rc = via(&v, bad[i]);

		if (rc != EBADMSG)
			fprintf(stderr, "  via '%s' accepted\n", bad[i]);
		CU_ASSERT_EQUAL(rc, EBADMSG);
		CU_ASSERT_PTR_NOT_NULL(why);
	}
	CU_ASSERT_EQUAL(via(&v, "SIP/2.0/UDP"), EBADMSG);
	CU_ASSERT_STRING_EQUAL(why, "missing sent-by host");
}

static void
test_cseq(void)
{
	struct sip_cseq c;
	struct pl p;

	p = (struct pl)PL("0009\r\n  INVITE");
	CU_ASSERT_EQUAL(sip_cseq_decode(&c, &p, &why), 0);
	CU_ASSERT_EQUAL(c.num, 9);
	PL_EQ(c.method, "INVITE");
	CU_ASSERT_EQUAL(c.mid, SIP_M_INVITE);
	/* §8.1.1.5: below 2^31 */
	p = (struct pl)PL("2147483647 ACK");
	CU_ASSERT_EQUAL(sip_cseq_decode(&c, &p, &why), 0);
	CU_ASSERT_EQUAL(c.num, 2147483647u);
	CU_ASSERT_EQUAL(c.mid, SIP_M_ACK);
	p = (struct pl)PL("2147483648 ACK");
	CU_ASSERT_EQUAL(sip_cseq_decode(&c, &p, &why), EBADMSG);
	CU_ASSERT_PTR_NOT_NULL(why);
	p = (struct pl)PL("0 FOO");
	CU_ASSERT_EQUAL(sip_cseq_decode(&c, &p, &why), 0);
	CU_ASSERT_EQUAL(c.mid, SIP_M_OTHER);
	p = (struct pl)PL("1INVITE");
	CU_ASSERT_EQUAL(sip_cseq_decode(&c, &p, &why), EBADMSG);
	p = (struct pl)PL("1 INVITE x");
	CU_ASSERT_EQUAL(sip_cseq_decode(&c, &p, &why), EBADMSG);
	p = (struct pl)PL("-1 INVITE");
	CU_ASSERT_EQUAL(sip_cseq_decode(&c, &p, &why), EBADMSG);
	p = (struct pl)PL("1 ");
	CU_ASSERT_EQUAL(sip_cseq_decode(&c, &p, &why), EBADMSG);
	p = (struct pl)PL("");
	CU_ASSERT_EQUAL(sip_cseq_decode(&c, &p, &why), EBADMSG);
}

static void
test_ctype(void)
{
	struct sip_ctype ct;
	struct pl p;

	p = (struct pl)PL("multipart/mixed ; boundary=\"7a9c;x\";charset=a");
	CU_ASSERT_EQUAL_FATAL(sip_ctype_decode(&ct, &p, &why), 0);
	PL_EQ(ct.type, "multipart");
	PL_EQ(ct.subtype, "mixed");
	PL_EQ(ct.boundary, "7a9c;x");
	CU_ASSERT(ct.params.l > 0 && ct.params.p[0] == ';');
	p = (struct pl)PL("application / sdp");
	CU_ASSERT_EQUAL(sip_ctype_decode(&ct, &p, &why), 0);
	PL_EQ(ct.subtype, "sdp");
	CU_ASSERT(!pl_isset(&ct.boundary));
	p = (struct pl)PL("application");
	CU_ASSERT_EQUAL(sip_ctype_decode(&ct, &p, &why), EBADMSG);
	p = (struct pl)PL("application/");
	CU_ASSERT_EQUAL(sip_ctype_decode(&ct, &p, &why), EBADMSG);
	p = (struct pl)PL("a/b;boundary=\"\"");
	CU_ASSERT_EQUAL(sip_ctype_decode(&ct, &p, &why), EBADMSG);
	p = (struct pl)PL("a/b;;");
	CU_ASSERT_EQUAL(sip_ctype_decode(&ct, &p, &why), EBADMSG);
}

static void
test_rack(void)
{
	struct sip_rack r;
	struct pl p;

	p = (struct pl)PL("776656 1 INVITE");
	CU_ASSERT_EQUAL_FATAL(sip_rack_decode(&r, &p, &why), 0);
	CU_ASSERT_EQUAL(r.rseq, 776656);
	CU_ASSERT_EQUAL(r.cseq, 1);
	PL_EQ(r.method, "INVITE");
	CU_ASSERT_EQUAL(r.mid, SIP_M_INVITE);
	p = (struct pl)PL("0 1 INVITE");
	CU_ASSERT_EQUAL(sip_rack_decode(&r, &p, &why), EBADMSG);
	/* RFC 3262 §3: later RSeqs of a transaction reach 2^32-1 */
	p = (struct pl)PL("4294967295 1 INVITE");
	CU_ASSERT_EQUAL_FATAL(sip_rack_decode(&r, &p, &why), 0);
	CU_ASSERT_EQUAL(r.rseq, 4294967295u);
	p = (struct pl)PL("4294967296 1 INVITE");
	CU_ASSERT_EQUAL(sip_rack_decode(&r, &p, &why), EBADMSG);
	p = (struct pl)PL("1 2147483648 INVITE"); /* CSeq below 2^31 */
	CU_ASSERT_EQUAL(sip_rack_decode(&r, &p, &why), EBADMSG);
	p = (struct pl)PL("1 INVITE");
	CU_ASSERT_EQUAL(sip_rack_decode(&r, &p, &why), EBADMSG);
	CU_ASSERT_PTR_NOT_NULL(why);
}

static void
test_session_expires(void)
{
	struct sip_session_expires se;
	struct pl p;

	p = (struct pl)PL("1800 ; refresher = uas;x=1");
	CU_ASSERT_EQUAL_FATAL(sip_session_expires_decode(&se, &p, &why), 0);
	CU_ASSERT_EQUAL(se.delta, 1800);
	CU_ASSERT_EQUAL(se.refresher, SIP_REFRESHER_UAS);
	p = (struct pl)PL("90;refresher=UAC");
	CU_ASSERT_EQUAL(sip_session_expires_decode(&se, &p, &why), 0);
	CU_ASSERT_EQUAL(se.refresher, SIP_REFRESHER_UAC);
	p = (struct pl)PL("4294967295");
	CU_ASSERT_EQUAL(sip_session_expires_decode(&se, &p, &why), 0);
	CU_ASSERT_EQUAL(se.refresher, SIP_REFRESHER_NONE);
	CU_ASSERT_EQUAL(se.delta, 4294967295u);
	p = (struct pl)PL("0");
	CU_ASSERT_EQUAL(sip_session_expires_decode(&se, &p, &why), EBADMSG);
	p = (struct pl)PL("4294967296");
	CU_ASSERT_EQUAL(sip_session_expires_decode(&se, &p, &why), EBADMSG);
	p = (struct pl)PL("90;refresher=both");
	CU_ASSERT_EQUAL(sip_session_expires_decode(&se, &p, &why), EBADMSG);
	p = (struct pl)PL("90;refresher");
	CU_ASSERT_EQUAL(sip_session_expires_decode(&se, &p, &why), EBADMSG);
	p = (struct pl)PL("x");
	CU_ASSERT_EQUAL(sip_session_expires_decode(&se, &p, &why), EBADMSG);
	CU_ASSERT_PTR_NOT_NULL(why);
}

static void
test_reason(void)
{
	struct sip_reason r;
	struct pl p;

	p = (struct pl)PL(
		"Q.850 ;cause=16 ;text=\"Normal \\\"call\\\"; clearing\"");
	CU_ASSERT_EQUAL_FATAL(sip_reason_decode(&r, &p, &why), 0);
	PL_EQ(r.protocol, "Q.850");
	CU_ASSERT_EQUAL(r.cause, 16);
	PL_EQ(r.text, "Normal \\\"call\\\"; clearing");
	p = (struct pl)PL("SIP;cause=200;text=\"Call completed elsewhere\"");
	CU_ASSERT_EQUAL(sip_reason_decode(&r, &p, &why), 0);
	CU_ASSERT_EQUAL(r.cause, 200);
	p = (struct pl)PL("SIP");
	CU_ASSERT_EQUAL(sip_reason_decode(&r, &p, &why), 0);
	CU_ASSERT_EQUAL(r.cause, 0);
	CU_ASSERT(!pl_isset(&r.text));
	p = (struct pl)PL("SIP;cause=abc");
	CU_ASSERT_EQUAL(sip_reason_decode(&r, &p, &why), EBADMSG);
	p = (struct pl)PL("SIP;text=unquoted");
	CU_ASSERT_EQUAL(sip_reason_decode(&r, &p, &why), EBADMSG);
	p = (struct pl)PL("SIP;text=\"open");
	CU_ASSERT_EQUAL(sip_reason_decode(&r, &p, &why), EBADMSG);
	p = (struct pl)PL(";cause=1");
	CU_ASSERT_EQUAL(sip_reason_decode(&r, &p, &why), EBADMSG);
}

static void
test_replaces(void)
{
	struct sip_replaces r;
	struct pl p;

	p = (struct pl)PL("425928@bobster.example.org;to-tag=7743"
			  ";from-tag=6472;early-only");
	CU_ASSERT_EQUAL_FATAL(sip_replaces_decode(&r, &p, &why), 0);
	PL_EQ(r.callid, "425928@bobster.example.org");
	PL_EQ(r.to_tag, "7743");
	PL_EQ(r.from_tag, "6472");
	CU_ASSERT(r.early_only);
	p = (struct pl)PL("abc ; from-tag=1;TO-TAG=2");
	CU_ASSERT_EQUAL(sip_replaces_decode(&r, &p, &why), 0);
	PL_EQ(r.to_tag, "2");
	CU_ASSERT(!r.early_only);
	p = (struct pl)PL("abc;to-tag=1");
	CU_ASSERT_EQUAL(sip_replaces_decode(&r, &p, &why), EBADMSG);
	p = (struct pl)PL(";to-tag=1;from-tag=2");
	CU_ASSERT_EQUAL(sip_replaces_decode(&r, &p, &why), EBADMSG);
	p = (struct pl)PL("a@;to-tag=1;from-tag=2");
	CU_ASSERT_EQUAL(sip_replaces_decode(&r, &p, &why), EBADMSG);
	p = (struct pl)PL("a;to-tag=;from-tag=2");
	CU_ASSERT_EQUAL(sip_replaces_decode(&r, &p, &why), EBADMSG);
	CU_ASSERT_PTR_NOT_NULL(why);
}

static void
test_delta(void)
{
	uint32_t v = 0;
	struct pl p;

	p = (struct pl)PL(" 3600 ");
	CU_ASSERT_EQUAL(sip_delta_decode(&v, &p, &why), 0);
	CU_ASSERT_EQUAL(v, 3600);
	p = (struct pl)PL("4294967295");
	CU_ASSERT_EQUAL(sip_delta_decode(&v, &p, &why), 0);
	CU_ASSERT_EQUAL(v, 4294967295u);
	p = (struct pl)PL("4294967296");
	CU_ASSERT_EQUAL(sip_delta_decode(&v, &p, &why), EBADMSG);
	CU_ASSERT_STRING_EQUAL(why, "value above 2^32-1");
	p = (struct pl)PL("100000000000000000000000000000000000");
	CU_ASSERT_EQUAL(sip_delta_decode(&v, &p, &why), EBADMSG);
	p = (struct pl)PL("-1");
	CU_ASSERT_EQUAL(sip_delta_decode(&v, &p, &why), EBADMSG);
	CU_ASSERT_STRING_EQUAL(why, "negative value");
	p = (struct pl)PL("");
	CU_ASSERT_EQUAL(sip_delta_decode(&v, &p, &why), EBADMSG);
	p = (struct pl)PL("1 2");
	CU_ASSERT_EQUAL(sip_delta_decode(&v, &p, &why), EBADMSG);
}

static void
test_token_and_params(void)
{
	struct pl ps = PL(" ; lr;Transport = TCP ;q=\"0.5\";\r\n empty;"
			  "maddr=[2001:db8::1]");
	struct pl v, t;

	t = (struct pl)PL("100rel");
	CU_ASSERT(sip_is_token(&t));
	t = (struct pl)PL("-.!%*_+`'~aZ9");
	CU_ASSERT(sip_is_token(&t));
	t = (struct pl)PL("a b");
	CU_ASSERT(!sip_is_token(&t));
	t = (struct pl)PL("a,");
	CU_ASSERT(!sip_is_token(&t));
	t = (struct pl)PL("");
	CU_ASSERT(!sip_is_token(&t));

	CU_ASSERT(sip_param_get(&ps, "transport", &v));
	PL_EQ(v, "TCP");
	CU_ASSERT(sip_param_get(&ps, "LR", &v));
	CU_ASSERT(v.l == 0 && v.p != NULL);
	CU_ASSERT(sip_param_get(&ps, "q", &v));
	PL_EQ(v, "\"0.5\"");
	CU_ASSERT(sip_param_get(&ps, "empty", NULL));
	CU_ASSERT(sip_param_get(&ps, "maddr", &v));
	PL_EQ(v, "[2001:db8::1]");
	CU_ASSERT(!sip_param_get(&ps, "tr", &v));
	CU_ASSERT(!sip_param_get(&ps, "transports", &v));
	t = (struct pl)PL("");
	CU_ASSERT(!sip_param_get(&t, "x", &v));
	t = (struct pl)PL(";a=1;;b=2");
	CU_ASSERT(sip_param_get(&t, "a", &v));
	CU_ASSERT(!sip_param_get(&t, "b", &v)); /* stops at ";;" */
}

/* The fast paths (sent-protocol "SIP/2.0/", a dotted quad decoded while
   the host is scanned, parameter names picked by length) give the same
   slices and answers as the general ones. */
static void
test_via_fast_paths(void)
{
	static const struct {
		const char *val;
		const char *host;
		enum sip_host_type type;
	} hosts[] = {
		{"SIP/2.0/UDP 192.0.2.4", "192.0.2.4", SIP_HOST_IPV4},
		{"SIP/2.0/UDP 192.0.2.4:5060", "192.0.2.4", SIP_HOST_IPV4},
		{"SIP/2.0/UDP 1.2.3.4.example", "1.2.3.4.example",
		 SIP_HOST_NAME},
		{"SIP/2.0/UDP 0.0.0.0;x", "0.0.0.0", SIP_HOST_IPV4},
		{"sip/2.0/udp 10.0.0.1", "10.0.0.1", SIP_HOST_IPV4},
	};
	struct sip_via v;
	size_t i;

	for (i = 0; i < sizeof(hosts) / sizeof(hosts[0]); i++) {
		CU_ASSERT_EQUAL_FATAL(via(&v, hosts[i].val), 0);
		PL_EQ(v.host, hosts[i].host);
		CU_ASSERT_EQUAL(v.host_type, hosts[i].type);
	}
	CU_ASSERT_NOT_EQUAL(via(&v, "SIP/2.0/UDP 1..2.3"), 0);
	/* near-misses of a dotted quad are not hostnames either: the top
	   label of a hostname starts with a letter (§25.1) */
	CU_ASSERT_NOT_EQUAL(via(&v, "SIP/2.0/UDP 192.0.2.4a"), 0);
	CU_ASSERT_NOT_EQUAL(via(&v, "SIP/2.0/UDP 1.2.3.256"), 0);
	CU_ASSERT_NOT_EQUAL(via(&v, "SIP/2.0/UDP 1.2.3"), 0);
	CU_ASSERT_NOT_EQUAL(via(&v, "SIP/2.0/UDP 1.2.3.1234"), 0);
	/* the general sent-protocol path, and the fast one, slice alike */
	CU_ASSERT_EQUAL_FATAL(via(&v, "SIP / 2.0 / TCP h"), 0);
	PL_EQ(v.proto, "SIP");
	PL_EQ(v.version, "2.0");
	PL_EQ(v.transport, "TCP");
	CU_ASSERT_EQUAL_FATAL(via(&v, "Sip/2.0/tls h"), 0);
	PL_EQ(v.proto, "Sip");
	PL_EQ(v.version, "2.0");
	PL_EQ(v.transport, "tls");
	CU_ASSERT_NOT_EQUAL(via(&v, "SIP/2.0/ h"), 0);
	/* names of other lengths and near misses are plain parameters */
	CU_ASSERT_EQUAL_FATAL(via(&v, "SIP/2.0/UDP h;BRANCH=z9hG4bK1;Rport"
				      ";branchx=1;rpor=2;ttlx;received1=x"),
			      0);
	PL_EQ(v.branch, "z9hG4bK1");
	CU_ASSERT(v.rport);
	CU_ASSERT_PTR_NULL(v.received.p);
	CU_ASSERT_PTR_NULL(v.ttl.p);
	CU_ASSERT_NOT_EQUAL(via(&v, "SIP/2.0/UDP h;TTL=256"), 0);
	CU_ASSERT_NOT_EQUAL(via(&v, "SIP/2.0/UDP h;received=1.2.3"), 0);
	/* a value with IPv6reference characters */
	CU_ASSERT_EQUAL_FATAL(via(&v, "SIP/2.0/UDP h;maddr=[::1];x=a:b"), 0);
	PL_EQ(v.maddr, "[::1]");
}

void test_hdr_register(void);
void
test_hdr_register(void)
{
	CU_pSuite s = tu_suite("hdr");

	TU_ADD(s, test_via_good);
	TU_ADD(s, test_via_bad);
	TU_ADD(s, test_via_hostnames);
	TU_ADD(s, test_via_fast_paths);
	TU_ADD(s, test_cseq);
	TU_ADD(s, test_ctype);
	TU_ADD(s, test_rack);
	TU_ADD(s, test_session_expires);
	TU_ADD(s, test_reason);
	TU_ADD(s, test_replaces);
	TU_ADD(s, test_delta);
	TU_ADD(s, test_token_and_params);
}
