/* Integration test: the built tandemctl binary, run as a process against
   a real management API server (b2bua/api.h) on 127.0.0.1 with canned
   ops: its tables, --json, filters, errors, exit codes, and an
   unreachable daemon. Usage: api_it /path/to/tandemctl */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "b2bua/api.h"
#include "b2bua/cfg.h"
#include "b2bua/policy.h"
#include "b2bua/route_test.h"
#include "stack/pl.h"

static const char *ctl_path;
static int failures;

/* Canned engine; read by the test only after tandemctl has exited. */
struct fake {
	char trunk[64], number[64], state[64];
	char id[128], reason[200];
	bool draining;
};

static const char calls_json[] =
	"[{\"id\":\"a1@host\",\"state\":\"confirmed\",\"from\":\"+4930111\","
	"\"to\":\"+4940222\",\"trunk\":\"carrier\",\"duration\":75},"
	"{\"id\":\"b2\",\"state\":\"early\",\"from\":\"alice\",\"to\":\"bob\","
	"\"trunk\":\"pbx\",\"duration\":3725}]";

static void
copy(char *d, size_t sz, const char *s)
{
	snprintf(d, sz, "%s", s ? s : "(null)");
}

static json_t *
op_calls(void *arg, const struct api_call_filter *f)
{
	struct fake *fk = arg;

	copy(fk->trunk, sizeof(fk->trunk), f->trunk);
	copy(fk->number, sizeof(fk->number), f->number);
	copy(fk->state, sizeof(fk->state), f->state);
	return json_loads(calls_json, 0, NULL);
}

static json_t *
op_call(void *arg, const char *id)
{
	if (strcmp(id, "a1@host") != 0)
		return NULL;
	return json_pack("{s:s,s:s,s:[{s:s},{s:s}]}", "id", id, "state",
			 "confirmed", "legs", "role", "A", "role", "B");
}

static int
op_hangup(void *arg, const char *id, const char *reason)
{
	struct fake *fk = arg;

	copy(fk->id, sizeof(fk->id), id);
	copy(fk->reason, sizeof(fk->reason), reason);
	return strcmp(id, "a1@host") == 0 ? 0 : ENOENT;
}

static json_t *
op_stats(void *arg)
{
	return json_pack("{s:i,s:i,s:{s:i,s:i}}", "active_calls", 2,
			 "calls_total", 17, "responses", "2xx", 10, "4xx", 1);
}

static json_t *
op_trunks(void *arg)
{
	return json_pack("[{s:s,s:b,s:i},{s:s,s:b,s:i}]", "name", "carrier",
			 "reachable", 1, "calls", 1, "name", "pbx", "reachable",
			 0, "calls", 0);
}

static int
op_reload(void *arg)
{
	return 0;
}

static int
op_drain(void *arg, bool on)
{
	((struct fake *)arg)->draining = on;
	return 0;
}

/* A real static policy (b2bua/policy.c) routed by db/pol.h, as
   tandemd's own op does (b2bua/b2b_api.c), without the engine. */
static struct pol_snap *route_snap;

static json_t *
op_route(void *arg, const char *src, const char *called, const char *calling,
	 int64_t at, const char **why)
{
	struct sockaddr_storage ss;
	struct pol_req rq = {.src = (struct sockaddr *)&ss};
	struct pol_verdict v;
	json_t *o = NULL;

	(void)arg;
	if (route_test_src(src, &ss)) {
		*why = "src must be IP, IP:PORT or [IPv6]:PORT";
		return NULL;
	}
	if (!route_snap || pol_verdict_init(&v))
		return NULL;
	pl_set(&rq.called, called, strlen(called));
	pl_set(&rq.calling, calling, strlen(calling));
	rq.now = at ? at : 1700000000;
	if (pol_route(route_snap, &rq, &v) == 0)
		o = route_test_json(&v, route_snap);
	pol_verdict_fini(&v);
	return o;
}

static bool
op_ready(void *arg, const char **why)
{
	*why = "draining";
	return !((struct fake *)arg)->draining;
}

static const struct api_ops ops = {
	.stats = op_stats,
	.calls = op_calls,
	.call = op_call,
	.hangup = op_hangup,
	.trunks = op_trunks,
	.reload = op_reload,
	.drain = op_drain,
	.ready = op_ready,
	.route = op_route,
};

struct run {
	int rc; /* exit code, or -1 when killed by a signal */
	char out[8192], err[8192];
};

static void
slurp(int fd, char *buf, size_t sz)
{
	size_t n = 0;
	ssize_t k;

	while (n < sz - 1 && (k = read(fd, buf + n, sz - 1 - n)) > 0)
		n += (size_t)k;
	buf[n] = '\0';
	close(fd);
}

/* Run tandemctl with the NULL-terminated arguments (no TANDEM_API* in
   its environment unless env is set: "NAME=value"). */
static void
ctl(struct run *r, const char *env, ...)
{
	const char *argv[32] = {ctl_path};
	int po[2], pe[2], st, n = 1;
	va_list ap;
	pid_t pid;

	va_start(ap, env);
	while (n < 31 && (argv[n] = va_arg(ap, const char *)) != NULL)
		n++;
	va_end(ap);
	argv[n] = NULL;
	if (pipe(po) < 0 || pipe(pe) < 0)
		exit(99);
	pid = fork();
	if (pid == 0) {
		dup2(po[1], 1);
		dup2(pe[1], 2);
		close(po[0]);
		close(pe[0]);
		unsetenv("TANDEM_API");
		unsetenv("TANDEM_API_TOKEN");
		if (env)
			putenv((char *)env);
		execv(ctl_path, (char *const *)argv);
		_exit(127);
	}
	close(po[1]);
	close(pe[1]);
	/* Outputs are far below a pipe's capacity: wait, then read. */
	waitpid(pid, &st, 0);
	slurp(po[0], r->out, sizeof(r->out));
	slurp(pe[0], r->err, sizeof(r->err));
	r->rc = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

#define CHECK(cond, r)                                                         \
	do {                                                                   \
		if (!(cond)) {                                                 \
			failures++;                                            \
			fprintf(stderr,                                        \
				"FAIL %s:%d: %s\n  rc=%d\n  stdout=[%s]\n"     \
				"  stderr=[%s]\n",                             \
				__FILE__, __LINE__, #cond, (r)->rc, (r)->out,  \
				(r)->err);                                     \
		}                                                              \
	} while (0)

static void
test_tables(const char *a, struct fake *fk)
{
	struct run r;

	ctl(&r, NULL, "-a", a, "calls", NULL);
	CHECK(r.rc == 0, &r);
	CHECK(!strcmp(r.out,
		      "ID       STATE      FROM      TO        TRUNK    "
		      "DURATION\n"
		      "a1@host  confirmed  +4930111  +4940222  carrier  1:15\n"
		      "b2       early      alice     bob       pbx      "
		      "1:02:05\n"),
	      &r);
	CHECK(!strcmp(fk->trunk, "(null)"), &r);
	ctl(&r, NULL, "-a", a, "--json", "calls", NULL);
	CHECK(r.rc == 0, &r);
	CHECK(!strncmp(r.out, calls_json, strlen(calls_json)), &r);
	/* Filters reach the op decoded; the plus survives the query. */
	ctl(&r, NULL, "-a", a, "calls", "--trunk", "pbx", "--number", "+49 30",
	    "--state", "early", NULL);
	CHECK(r.rc == 0, &r);
	CHECK(!strcmp(fk->trunk, "pbx") && !strcmp(fk->number, "+49 30") &&
		      !strcmp(fk->state, "early"),
	      &r);
	ctl(&r, NULL, "-a", a, "stats", NULL);
	CHECK(r.rc == 0, &r);
	CHECK(!strcmp(r.out, "active_calls   2\n"
			     "calls_total    17\n"
			     "responses.2xx  10\n"
			     "responses.4xx  1\n"),
	      &r);
	ctl(&r, NULL, "-a", a, "trunks", NULL);
	CHECK(r.rc == 0, &r);
	CHECK(!strcmp(r.out, "NAME     REACHABLE  CALLS\n"
			     "carrier  yes        1\n"
			     "pbx      no         0\n"),
	      &r);
	ctl(&r, NULL, "-a", a, "show", "a1@host", NULL);
	CHECK(r.rc == 0, &r);
	CHECK(!strncmp(r.out, "id     a1@host\nstate  confirmed\nlegs:\n", 35),
	      &r);
	/* an array: one compact element a line */
	CHECK(strstr(r.out,
		     "legs:\n  {\"role\":\"A\"}\n  {\"role\":\"B\"}\n") != NULL,
	      &r);
	ctl(&r, NULL, "-a", a, "show", "nosuch", NULL);
	CHECK(r.rc == 1, &r);
	CHECK(!strcmp(r.err, "tandemctl: show: no such call (HTTP 404)\n"), &r);
}

/* route-test: a routed call, a rewrite, a refusal, bad arguments. */
static void
test_route(const char *a)
{
	static const char *const ov[] = {
		"sip.sources=10.0.0.0/8",
		"route.pbx.prefix=4930",
		"route.pbx.targets=127.0.0.3:5080, pbx2.example.org/tcp",
		"route.pbx.strip=2",
		"route.pbx.add=0",
		"route.pbx.failover=486,503",
		NULL};
	static struct cfg c;
	char err[256];
	struct run r = {0};
	size_t i;

	cfg_default(&c);
	for (i = 0; ov[i]; i++)
		CHECK(cfg_override(&c, ov[i], err, sizeof(err)) == 0, &r);
	CHECK(bpol_static_build(&c, 1700000000, &route_snap, err,
				sizeof(err)) == 0,
	      &r);
	ctl(&r, NULL, "-a", a, "route-test", "10.1.2.3:5070", "4930123",
	    "+4940111", NULL);
	CHECK(r.rc == 0, &r);
	CHECK(strstr(r.out, "source trunk    static-in\n") != NULL, &r);
	CHECK(strstr(r.out, "target 1        pbx/1        127.0.0.3:5080/udp "
			    "called 030123 calling +4940111\n") != NULL,
	      &r);
	CHECK(strstr(r.out, "target 2        pbx/2        "
			    "pbx2.example.org (SRV)/tcp called 030123") != NULL,
	      &r);
	ctl(&r, NULL, "-a", a, "--json", "route-test", "10.1.2.3", "4930123",
	    NULL);
	CHECK(r.rc == 0 && strstr(r.out, "\"failover\":[486,503]") != NULL, &r);
	ctl(&r, NULL, "-a", a, "route-test", "192.168.1.1", "4930123", NULL);
	CHECK(r.rc == 0 && strstr(r.out,
				  "verdict         403 unknown source") != NULL,
	      &r);
	ctl(&r, NULL, "-a", a, "route-test", "not-an-ip", "4930123", NULL);
	CHECK(r.rc == 1 && strstr(r.err, "src must be") != NULL, &r);
	ctl(&r, NULL, "-a", a, "route-test", "10.1.2.3", NULL);
	CHECK(r.rc == 2, &r);
	pol_snap_deref(route_snap);
	route_snap = NULL;
}

static void
test_actions(const char *a, struct fake *fk)
{
	struct run r;

	ctl(&r, NULL, "-a", a, "hangup", "a1@host", "operator", "request",
	    NULL);
	CHECK(r.rc == 0, &r);
	CHECK(!strcmp(r.out, "hanging up a1@host\n"), &r);
	CHECK(!strcmp(fk->reason, "operator request"), &r);
	ctl(&r, NULL, "-a", a, "hangup", "a1@host", NULL);
	CHECK(r.rc == 0 && !strcmp(fk->reason, "(null)"), &r);
	ctl(&r, NULL, "-a", a, "hangup", "gone", NULL);
	CHECK(r.rc == 1, &r);
	CHECK(!strcmp(r.err, "tandemctl: hangup: no such call (HTTP 404)\n"),
	      &r);
	/* Any Call-ID survives the path: tandemctl encodes, the API decodes. */
	ctl(&r, NULL, "-a", a, "hangup", "x/y z+%@h", NULL);
	CHECK(r.rc == 1 && !strcmp(fk->id, "x/y z+%@h"), &r);
	ctl(&r, NULL, "-a", a, "reload", NULL);
	CHECK(r.rc == 0 && !strcmp(r.out, "reloaded\n"), &r);
	ctl(&r, NULL, "-a", a, "health", NULL);
	CHECK(r.rc == 0 && !strcmp(r.out, "ok\n"), &r);
	ctl(&r, NULL, "-a", a, "ready", NULL);
	CHECK(r.rc == 0 && !strcmp(r.out, "ready\n"), &r);
	ctl(&r, NULL, "-a", a, "drain", NULL);
	CHECK(r.rc == 0 && !strcmp(r.out, "draining\n") && fk->draining, &r);
	ctl(&r, NULL, "-a", a, "ready", NULL);
	CHECK(r.rc == 1 && !strcmp(r.out, "not ready: draining\n"), &r);
	ctl(&r, NULL, "-a", a, "--json", "ready", NULL);
	CHECK(r.rc == 1 && !strcmp(r.out, "{\"ready\":false,\"error\":"
					  "\"draining\"}\n"),
	      &r);
	ctl(&r, NULL, "-a", a, "undrain", NULL);
	CHECK(r.rc == 0 && !strcmp(r.out, "serving\n") && !fk->draining, &r);
}

static void
test_usage(const char *a)
{
	struct run r;

	ctl(&r, NULL, NULL);
	CHECK(r.rc == 2 && strstr(r.err, "usage:"), &r);
	ctl(&r, NULL, "-a", a, "frobnicate", NULL);
	CHECK(r.rc == 2 && strstr(r.err, "unknown command frobnicate"), &r);
	ctl(&r, NULL, "-a", a, "show", NULL);
	CHECK(r.rc == 2, &r);
	ctl(&r, NULL, "-a", a, "stats", "extra", NULL);
	CHECK(r.rc == 2, &r);
	ctl(&r, NULL, "-a", a, "calls", "--colour", "red", NULL);
	CHECK(r.rc == 2, &r);
	ctl(&r, NULL, "-a", "localhost:8080", "stats", NULL);
	CHECK(r.rc == 2 && strstr(r.err, "bad address localhost:8080"), &r);
	ctl(&r, NULL, "--bogus", NULL);
	CHECK(r.rc == 2, &r);
	ctl(&r, NULL, "--help", NULL);
	CHECK(r.rc == 0 && strstr(r.out, "usage:"), &r);
}

/* A port nobody listens on: bind one, note it, close it. */
static uint16_t
closed_port(void)
{
	struct sockaddr_in sin = {.sin_family = AF_INET};
	socklen_t sl = sizeof(sin);
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	uint16_t port;

	inet_pton(AF_INET, "127.0.0.1", &sin.sin_addr);
	if (fd < 0 || bind(fd, (struct sockaddr *)&sin, sizeof(sin)) < 0 ||
	    getsockname(fd, (struct sockaddr *)&sin, &sl) < 0)
		exit(99);
	port = ntohs(sin.sin_port);
	close(fd);
	return port;
}

static void
test_unreachable(void)
{
	struct run r;
	char a[32], want[96];

	snprintf(a, sizeof(a), "127.0.0.1:%u", closed_port());
	snprintf(want, sizeof(want),
		 "tandemctl: cannot reach %s: Connection refused\n", a);
	ctl(&r, NULL, "-a", a, "stats", NULL);
	CHECK(r.rc == 1 && !strcmp(r.err, want) && !r.out[0], &r);
	ctl(&r, NULL, "-a", a, "--json", "calls", NULL);
	CHECK(r.rc == 1 && !strcmp(r.err, want) && !r.out[0], &r);
}

static void
test_token(struct fake *fk)
{
	struct api *srv;
	struct run r;
	char a[32], env[64];

	if (api_start(&srv, "127.0.0.1:0", "tok3n", &ops, fk)) {
		failures++;
		return;
	}
	snprintf(a, sizeof(a), "127.0.0.1:%u", api_port(srv));
	ctl(&r, NULL, "-a", a, "stats", NULL);
	CHECK(r.rc == 1 &&
		      !strcmp(r.err, "tandemctl: stats: missing bearer token "
				     "(HTTP 401)\n"),
	      &r);
	ctl(&r, NULL, "-a", a, "-t", "nope", "stats", NULL);
	CHECK(r.rc == 1 && strstr(r.err, "invalid bearer token (HTTP 401)"),
	      &r);
	ctl(&r, NULL, "-a", a, "-t", "tok3n", "stats", NULL);
	CHECK(r.rc == 0, &r);
	/* The token from the environment (kept out of ps). */
	snprintf(env, sizeof(env), "TANDEM_API_TOKEN=tok3n");
	ctl(&r, env, "-a", a, "stats", NULL);
	CHECK(r.rc == 0, &r);
	api_stop(srv);
}

/* -a [::1]:port, when the machine has IPv6 loopback. */
static void
test_ipv6(struct fake *fk)
{
	struct api *srv;
	struct run r;
	char a[48];

	if (api_start(&srv, "[::1]:0", NULL, &ops, fk)) {
		printf("api_it: no ::1 here, IPv6 case skipped\n");
		return;
	}
	snprintf(a, sizeof(a), "[::1]:%u", api_port(srv));
	ctl(&r, NULL, "-a", a, "health", NULL);
	CHECK(r.rc == 0 && !strcmp(r.out, "ok\n"), &r);
	api_stop(srv);
}

int
main(int argc, char **argv)
{
	struct fake fk = {0};
	struct api *srv;
	char a[32];

	if (argc != 2) {
		fprintf(stderr, "usage: api_it /path/to/tandemctl\n");
		return 2;
	}
	ctl_path = argv[1];
	if (api_start(&srv, "127.0.0.1:0", NULL, &ops, &fk)) {
		fprintf(stderr, "api_it: cannot start the API\n");
		return 1;
	}
	snprintf(a, sizeof(a), "127.0.0.1:%u", api_port(srv));
	test_tables(a, &fk);
	test_route(a);
	test_actions(a, &fk);
	test_usage(a);
	api_stop(srv);
	test_unreachable();
	test_token(&fk);
	test_ipv6(&fk);
	printf("api_it: %s (%d failures)\n", failures ? "FAIL" : "ok",
	       failures);
	return failures ? 1 : 0;
}
