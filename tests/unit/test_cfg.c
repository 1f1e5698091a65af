/* Unit tests: tandemd configuration (b2bua/cfg.c): the INI file, the -o
   overrides, and the file:line:reason of every refusal. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "b2bua/cfg.h"
#include "testutil.h"

static struct cfg c;
static char err[512];
static char path[64];

/* Write text to a temporary file; path names it. */
static void
write_conf(const char *text)
{
	int fd;

	snprintf(path, sizeof(path), "/tmp/tandem-cfg-XXXXXX");
	fd = mkstemp(path);
	CU_ASSERT_FATAL(fd >= 0);
	CU_ASSERT_EQUAL_FATAL(write(fd, text, strlen(text)),
			      (ssize_t)strlen(text));
	close(fd);
}

static int
load(const char *text)
{
	int rc;

	write_conf(text);
	err[0] = '\0';
	rc = cfg_load(&c, path, err, sizeof(err));
	unlink(path);
	return rc;
}

static void
test_defaults_and_file(void)
{
	CU_ASSERT_EQUAL_FATAL(
		load("; lab set-up\n"
		     "[sip]\nlisten = 127.0.0.2\nport = 5070\ntcp = yes\n"
		     "workers = 2\nt1 = 250\n"
		     "[limits]\nmax_calls = 500\nno_answer_s = 30\n"
		     "[log]\nlevel = debug\n"
		     "[route.pbx]\nprefix = +4930\nstrip = 3\nadd = 0\n"
		     "targets = 127.0.0.1:5080, [::1]:5082/tcp\n"
		     "failover = 486, 503\n"
		     "[route.default]\ntargets = 127.0.0.1:5090\n"),
		0);
	CU_ASSERT_STRING_EQUAL(c.listen, "127.0.0.2");
	CU_ASSERT_EQUAL(c.port, 5070);
	CU_ASSERT_TRUE(c.tcp);
	CU_ASSERT_EQUAL(c.workers, 2);
	CU_ASSERT_EQUAL(c.t1, 250);
	CU_ASSERT_EQUAL(c.t2, 4000); /* default kept */
	CU_ASSERT_EQUAL(c.max_calls, 500);
	CU_ASSERT_EQUAL(c.no_answer_s, 30);
	CU_ASSERT_STRING_EQUAL(c.log_level, "debug");
	CU_ASSERT_EQUAL_FATAL(c.nroutes, 2);
	CU_ASSERT_STRING_EQUAL(c.routes[0].name, "pbx");
	CU_ASSERT_STRING_EQUAL(c.routes[0].prefix, "+4930");
	CU_ASSERT_EQUAL(c.routes[0].strip, 3);
	CU_ASSERT_STRING_EQUAL(c.routes[0].add, "0");
	CU_ASSERT_EQUAL_FATAL(c.routes[0].ntargets, 2);
	CU_ASSERT_STRING_EQUAL(c.routes[0].targets[1].host, "::1");
	CU_ASSERT_EQUAL(c.routes[0].targets[1].port, 5082);
	CU_ASSERT_STRING_EQUAL(c.routes[0].targets[1].transport, "tcp");
	CU_ASSERT_EQUAL(c.routes[0].nfailover, 2);
	CU_ASSERT_EQUAL(c.routes[0].failover[0], 486);
	/* A route without failover= gets the usual set. */
	CU_ASSERT_EQUAL(c.routes[1].nfailover, 5);
	CU_ASSERT_EQUAL(c.routes[1].failover[3], 503);
	CU_ASSERT_EQUAL(cfg_check(&c, err, sizeof(err)), 0);
}

/* Every refusal names the file, the line, the key and why. */
static void
test_bad_lines(void)
{
	char want[128];

	CU_ASSERT_EQUAL(load("[sip]\nport = 5060\nport = 70000\n"), EINVAL);
	snprintf(want, sizeof(want), "%s:3: sip.port: out of range", path);
	CU_ASSERT_STRING_EQUAL(err, want);
	CU_ASSERT_EQUAL(load("[sip]\nlisten = pbx.example\n"), EINVAL);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, ":2: sip.listen: not a numeric"));
	CU_ASSERT_EQUAL(load("[sip]\nbogus = 1\n"), EINVAL);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, ":2: sip.bogus: unknown key"));
	CU_ASSERT_EQUAL(load("[nosuch]\nx = 1\n"), EINVAL);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, ":2: nosuch.x: unknown section"));
	CU_ASSERT_EQUAL(load("[sip]\njust some words\n"), EINVAL);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, ":2: not a section"));
	CU_ASSERT_EQUAL(load("[sip]\ntcp = maybe\n"), EINVAL);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "not a boolean"));
	CU_ASSERT_EQUAL(load("[route.x]\ntargets = 127.0.0.1\n"), EINVAL);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, ":2: route.x.targets: target must"));
	CU_ASSERT_EQUAL(load("[route.x]\ntargets = 127.0.0.1:5060/sctp\n"),
			EINVAL);
	CU_ASSERT_EQUAL(load("[route.x]\nfailover = 200\n"), EINVAL);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "failover codes are 300..699"));
	CU_ASSERT_EQUAL(load("[route.x]\nprefix = 49a\n"), EINVAL);
	/* The first bad line is the one reported. */
	CU_ASSERT_EQUAL(load("[sip]\nt1 = x\nt2 = y\n"), EINVAL);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, ":2: sip.t1"));
	/* A missing file names itself. */
	CU_ASSERT_EQUAL(
		cfg_load(&c, "/nonexistent/tandem.conf", err, sizeof(err)),
		ENOENT);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "/nonexistent/tandem.conf"));
	/* Keys valid alone but not together. */
	CU_ASSERT_EQUAL(load("[route.y]\nprefix = 1\n"), 0);
	CU_ASSERT_EQUAL(cfg_check(&c, err, sizeof(err)), EINVAL);
	CU_ASSERT_STRING_EQUAL(err, "[route.y]: no targets");
	CU_ASSERT_EQUAL(load("[sip]\nt1 = 5000\nt2 = 4000\n"), 0);
	CU_ASSERT_EQUAL(cfg_check(&c, err, sizeof(err)), EINVAL);
}

static void
test_overrides(void)
{
	cfg_default(&c);
	CU_ASSERT_EQUAL(cfg_override(&c, "sip.port=5099", err, sizeof(err)), 0);
	CU_ASSERT_EQUAL(c.port, 5099);
	CU_ASSERT_EQUAL(cfg_override(&c, "route.lab.targets=127.0.0.1:6000",
				     err, sizeof(err)),
			0);
	CU_ASSERT_EQUAL_FATAL(c.nroutes, 1);
	CU_ASSERT_STRING_EQUAL(c.routes[0].name, "lab");
	CU_ASSERT_EQUAL(c.routes[0].targets[0].port, 6000);
	CU_ASSERT_EQUAL(cfg_override(&c, "sip.port", err, sizeof(err)), EINVAL);
	CU_ASSERT_STRING_EQUAL(err, "-o sip.port: expected section.key=value");
	CU_ASSERT_EQUAL(cfg_override(&c, "sip.port=abc", err, sizeof(err)),
			EINVAL);
	CU_ASSERT_STRING_EQUAL(err, "-o sip.port=abc: not a number");
	CU_ASSERT_EQUAL(cfg_override(&c, "log.level=loud", err, sizeof(err)),
			EINVAL);
	CU_ASSERT_EQUAL(cfg_override(&c, "=1", err, sizeof(err)), EINVAL);
	CU_ASSERT_EQUAL(cfg_override(&c, "sip.=1", err, sizeof(err)), EINVAL);
}

/* The media, database, CDR, API and digest keys; the example file that
   documents every key loads. */
static void
test_service_keys(void)
{
	CU_ASSERT_EQUAL_FATAL(
		load("[media]\nenabled = no\nip_a = 127.0.0.2\nip_b = ::1\n"
		     "port_min = 20000\nport_max = 20099\nworkers = 1\n"
		     "[db]\ndsn = host=127.0.0.1 dbname=t\n"
		     "[cdr]\nspool_dir = /tmp/sp\nnode = n1\nfsync_ms = 0\n"
		     "[cluster]\nnodes = 3\n"
		     "[api]\nlisten = 127.0.0.1:8080\ntoken = abc\n"
		     "[sip]\nrealm = r.example\nauth_user = u\n"
		     "auth_pass = p\nsources = 10.0.0.0/8\nsrtp = Optional\n"
		     "[route.x]\ntargets = 127.0.0.1:5080\n"
		     "options_interval = 30\nsrtp = mandatory\n"),
		0);
	CU_ASSERT_FALSE(c.media);
	CU_ASSERT_STRING_EQUAL(c.media_ip_a, "127.0.0.2");
	CU_ASSERT_STRING_EQUAL(c.media_ip_b, "::1");
	CU_ASSERT_EQUAL(c.port_min, 20000);
	CU_ASSERT_EQUAL(c.port_max, 20099);
	CU_ASSERT_STRING_EQUAL(c.db_dsn, "host=127.0.0.1 dbname=t");
	CU_ASSERT_STRING_EQUAL(c.cdr_spool, "/tmp/sp");
	CU_ASSERT_STRING_EQUAL(c.node, "n1");
	CU_ASSERT_EQUAL(c.cdr_fsync_ms, 0);
	CU_ASSERT_EQUAL(c.cluster_nodes, 3);
	CU_ASSERT_STRING_EQUAL(c.api_token, "abc");
	CU_ASSERT_STRING_EQUAL(c.realm, "r.example");
	CU_ASSERT_STRING_EQUAL(c.auth_user, "u");
	CU_ASSERT_STRING_EQUAL(c.sources, "10.0.0.0/8");
	CU_ASSERT_EQUAL(c.routes[0].options_s, 30);
	CU_ASSERT_EQUAL(c.srtp, 1);	      /* POL_SRTP_OPTIONAL */
	CU_ASSERT_EQUAL(c.routes[0].srtp, 2); /* POL_SRTP_MANDATORY */
	CU_ASSERT_EQUAL(cfg_check(&c, err, sizeof(err)), 0);
	CU_ASSERT_EQUAL(load("[cluster]\nnodes = 0\n"), EINVAL);
	CU_ASSERT_EQUAL(load("[cluster]\nnode = 2\n"), EINVAL);
	CU_ASSERT_EQUAL(load(""), 0);
	CU_ASSERT_EQUAL(c.cluster_nodes, 1);
	CU_ASSERT_EQUAL(load("[media]\nip_a = nope\n"), EINVAL);
	CU_ASSERT_NOT_EQUAL(strstr(err, ":2: media.ip_a: not a numeric"), NULL);
	CU_ASSERT_EQUAL(load("[media]\nport_min = 30000\nport_max = 30001\n"),
			0);
	CU_ASSERT_EQUAL(cfg_check(&c, err, sizeof(err)), EINVAL);
	CU_ASSERT_EQUAL(load("[route.x]\nstatus_map = 486=700\n"), EINVAL);
	CU_ASSERT_NOT_EQUAL(strstr(err, ":2: route.x.status_map: not FROM=TO"),
			    NULL);
	CU_ASSERT_EQUAL(load("[route.x]\nstatus_map = 486=600,503=480\n"), 0);
	CU_ASSERT_STRING_EQUAL(c.routes[0].status_map, "486=600,503=480");
	CU_ASSERT_EQUAL(load("[route.x]\nheader_add =  X-A: 1 |X-B: two  |\n"),
			0);
	CU_ASSERT_STRING_EQUAL(c.routes[0].hdr_add, "X-A: 1\nX-B: two");
	CU_ASSERT_EQUAL(load("[route.x]\nheader_add = X-A: 1 | Via: x\n"),
			EINVAL);
	CU_ASSERT_NOT_EQUAL(strstr(err, "route.x.header_add: that header"),
			    NULL);
	CU_ASSERT_EQUAL(load("[route.x]\nheader_policy = maybe\n"), EINVAL);
	CU_ASSERT_EQUAL(load("[route.x]\nredirect = relay\n"), 0);
	CU_ASSERT(c.routes[0].relay_3xx);
	CU_ASSERT_EQUAL(load("[route.x]\nredirect = follow\n"), 0);
	CU_ASSERT(!c.routes[0].relay_3xx);
	CU_ASSERT_EQUAL(load("[route.x]\nmedia_address = 127.0.0.32\n"), 0);
	CU_ASSERT_STRING_EQUAL(c.routes[0].media_addr, "127.0.0.32");
	CU_ASSERT_EQUAL(load("[route.x]\nmedia_address = pbx.lan\n"), EINVAL);
	CU_ASSERT_NOT_EQUAL(
		strstr(err, "route.x.media_address: not a numeric address"),
		NULL);
	CU_ASSERT_EQUAL(load("[limits]\nsource_ban_s = 30\nsource_reply = "
			     "403\n"),
			0);
	CU_ASSERT_EQUAL(c.source_ban_s, 30);
	CU_ASSERT(c.source_403);
	CU_ASSERT_EQUAL(load("[limits]\nsource_reply = reject\n"), EINVAL);
	CU_ASSERT_NOT_EQUAL(
		strstr(err, ":2: limits.source_reply: not drop or 403"), NULL);
	CU_ASSERT_EQUAL(load("[route.x]\nkeep_ice = yes\n"), 0);
	CU_ASSERT(c.routes[0].keep_ice);
	CU_ASSERT_EQUAL(load("[route.x]\nredirect = yes\n"), EINVAL);
	CU_ASSERT_NOT_EQUAL(
		strstr(err, ":2: route.x.redirect: not follow or relay"), NULL);
	/* targets named by DNS: with a port (A/AAAA) or without (SRV) */
	CU_ASSERT_EQUAL(load("[route.x]\ntargets = pbx.example.org, "
			     "sbc-2.example.org:5070/tcp\n"),
			0);
	CU_ASSERT_STRING_EQUAL(c.routes[0].targets[0].host, "pbx.example.org");
	CU_ASSERT_EQUAL(c.routes[0].targets[0].port, 0);
	CU_ASSERT_EQUAL(c.routes[0].targets[1].port, 5070);
	CU_ASSERT_STRING_EQUAL(c.routes[0].targets[1].transport, "tcp");
	CU_ASSERT_EQUAL(load("[route.x]\ntargets = bad_host:5060\n"), EINVAL);
	CU_ASSERT_EQUAL(load("[route.x]\ntargets = -x.org\n"), EINVAL);
	CU_ASSERT_EQUAL(load("[route.x]\ntargets = 10.0.0.1\n"), EINVAL);
	CU_ASSERT_EQUAL(load("[route.x]\nsrtp = sometimes\n"), EINVAL);
	CU_ASSERT_NOT_EQUAL(
		strstr(err, ":2: route.x.srtp: not off, optional or mandatory"),
		NULL);
	CU_ASSERT_EQUAL(load("[cdr]\nfsync = 1\n"), EINVAL);
	CU_ASSERT_NOT_EQUAL(strstr(err, "cdr.fsync: unknown key"), NULL);
	CU_ASSERT_EQUAL(cfg_load(&c, TANDEM_CONF_EXAMPLE, err, sizeof(err)), 0);
	CU_ASSERT_EQUAL(cfg_check(&c, err, sizeof(err)), 0);
}

/* sip.user (privilege drop after binding): empty by default, set from
   the file or -o, too long refused. */
static void
test_user_key(void)
{
	cfg_default(&c);
	CU_ASSERT_STRING_EQUAL(c.user, "");
	CU_ASSERT_EQUAL(load("[sip]\nuser = tandem\n"), 0);
	CU_ASSERT_STRING_EQUAL(c.user, "tandem");
	CU_ASSERT_EQUAL(cfg_override(&c, "sip.user=nobody", err, sizeof(err)),
			0);
	CU_ASSERT_STRING_EQUAL(c.user, "nobody");
	CU_ASSERT_EQUAL(load("[sip]\nuser = "
			     "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\n"),
			EINVAL);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, ":2: sip.user: too long"));
}

void test_cfg_register(void);

void
test_cfg_register(void)
{
	CU_pSuite s = tu_suite("cfg");

	TU_ADD(s, test_defaults_and_file);
	TU_ADD(s, test_bad_lines);
	TU_ADD(s, test_overrides);
	TU_ADD(s, test_service_keys);
	TU_ADD(s, test_user_key);
}
