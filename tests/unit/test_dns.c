/* Unit tests: RFC 3263 server location and RFC 2782 ordering (stack/dns.c,
   stack/dns_sip.c). The loopback tests run a private dnsmasq on
   127.0.0.1 at a free port; they print SKIP when dnsmasq is missing. */
#include <arpa/inet.h>
#include <errno.h>
#include <event2/event.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <spawn.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "stack/dns.h"
#include "stack/mem.h"
#include "testutil.h"

#define DNSMASQ "/usr/sbin/dnsmasq"

extern char **environ;

/* ---- helpers -------------------------------------------------------- */

struct waiter {
	bool done;
	int calls;
	int err;
	struct dns_result *res; /* ref */
};

static void
resolve_h(int err, struct dns_result *res, void *arg)
{
	struct waiter *w = arg;

	w->done = true;
	w->calls++;
	w->err = err;
	w->res = mem_ref(res);
}

static void
loop_tmo(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	*(bool *)arg = true;
}

/* Run base until *flag or ms pass; every wait is bounded. */
static void
run_until(struct event_base *base, const bool *flag, unsigned ms)
{
	bool expired = false;
	struct event *t = evtimer_new(base, loop_tmo, &expired);
	struct timeval tv = {ms / 1000, (ms % 1000) * 1000};

	evtimer_add(t, &tv);
	while (!(flag && *flag) && !expired)
		event_base_loop(base, EVLOOP_ONCE);
	event_free(t);
}

static int
decode(struct sip_uri *uri, const char *s)
{
	struct pl pl = {s, strlen(s)};
	const char *why = NULL;

	return sip_uri_decode(uri, &pl, &why);
}

/* "ip:port/proto" of target i, or "-" past the end. */
static const char *
tstr(const struct dns_result *res, size_t i, char *buf, size_t size)
{
	const struct dns_target *t = dns_result_target(res, i);
	char ip[INET6_ADDRSTRLEN];
	uint16_t port;

	if (!t) {
		snprintf(buf, size, "-");
		return buf;
	}
	if (t->addr.ss_family == AF_INET) {
		const struct sockaddr_in *s = (const void *)&t->addr;

		inet_ntop(AF_INET, &s->sin_addr, ip, sizeof(ip));
		port = ntohs(s->sin_port);
		snprintf(buf, size, "%s:%u/%s", ip, port,
			 t->tls		      ? "tls"
			 : t->proto == TP_UDP ? "udp"
					      : "tcp");
	} else {
		const struct sockaddr_in6 *s = (const void *)&t->addr;

		inet_ntop(AF_INET6, &s->sin6_addr, ip, sizeof(ip));
		port = ntohs(s->sin6_port);
		snprintf(buf, size, "[%s]:%u/%s", ip, port,
			 t->tls		      ? "tls"
			 : t->proto == TP_UDP ? "udp"
					      : "tcp");
	}
	return buf;
}

/* All targets joined by spaces. */
static const char *
rstr(const struct dns_result *res)
{
	static char out[1024];
	char one[80];
	size_t n = dns_result_count(res);

	out[0] = '\0';
	for (size_t i = 0; i < n; i++) {
		if (i)
			strcat(out, " ");
		strcat(out, tstr(res, i, one, sizeof(one)));
	}
	return out;
}

#define ASSERT_TARGETS(res, want)                                              \
	do {                                                                   \
		const char *got_ = rstr(res);                                  \
		if (strcmp(got_, (want)))                                      \
			fprintf(stderr, "\n  got:  %s\n  want: %s\n", got_,    \
				(want));                                       \
		CU_ASSERT_STRING_EQUAL(got_, (want));                          \
	} while (0)

static uint64_t fake_ms;

static uint64_t
fake_now(void *arg)
{
	(void)arg;
	return fake_ms;
}

/* Returns the numbers of *arg (a 0-terminated list) in turn, then 0. */
static uint32_t
seq_rand(void *arg)
{
	const uint32_t **p = arg;
	uint32_t v = **p;

	if (v)
		(*p)++;
	return v;
}

static uint32_t
const_rand(void *arg)
{
	return *(const uint32_t *)arg;
}

/* Resolve text and wait (at most 4 s). */
static void
resolve(struct dns_ctx *ctx, struct event_base *base, const char *text,
	struct waiter *w)
{
	struct dns_query *q = NULL;
	struct sip_uri uri;
	int err;

	*w = (struct waiter){0};
	CU_ASSERT_EQUAL_FATAL(decode(&uri, text), 0);
	err = dns_sip_resolve(&q, ctx, &uri, resolve_h, w);
	CU_ASSERT_EQUAL(err, 0);
	if (err)
		return;
	CU_ASSERT_FALSE(w->done); /* never from inside the call */
	run_until(base, &w->done, 4000);
	CU_ASSERT_TRUE(w->done);
	CU_ASSERT_EQUAL(w->calls, 1);
	mem_deref(q);
}

/* ---- no network ----------------------------------------------------- */

static void
test_numeric(void)
{
	static const struct {
		const char *uri, *want;
	} cases[] = {
		{"sip:192.0.2.1", "192.0.2.1:5060/udp"},
		{"sip:192.0.2.1:5070", "192.0.2.1:5070/udp"},
		{"sip:alice@192.0.2.1;transport=tcp", "192.0.2.1:5060/tcp"},
		{"sip:192.0.2.1;transport=TLS", "192.0.2.1:5061/tls"},
		{"sips:192.0.2.1", "192.0.2.1:5061/tls"},
		{"sips:192.0.2.1:6000;transport=tcp", "192.0.2.1:6000/tls"},
		{"sip:[2001:db8::1]", "[2001:db8::1]:5060/udp"},
		{"sip:[2001:db8::1]:5080;transport=tcp",
		 "[2001:db8::1]:5080/tcp"},
		{"sips:[::1]", "[::1]:5061/tls"},
		{"sip:host.invalid;maddr=192.0.2.9", "192.0.2.9:5060/udp"},
		{"sip:h.invalid:5070;maddr=[2001:db8::9]",
		 "[2001:db8::9]:5070/udp"},
	};
	struct event_base *base = event_base_new();
	struct dns_ctx *ctx = NULL;
	struct dns_conf conf;
	struct waiter w;

	CU_ASSERT_PTR_NOT_NULL_FATAL(base);
	dns_conf_default(&conf);
	conf.servers = "127.0.0.1:9"; /* never asked */
	CU_ASSERT_EQUAL_FATAL(dns_ctx_alloc(&ctx, base, &conf), 0);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		resolve(ctx, base, cases[i].uri, &w);
		CU_ASSERT_EQUAL(w.err, 0);
		CU_ASSERT_EQUAL(dns_result_count(w.res), 1);
		ASSERT_TARGETS(w.res, cases[i].want);
		CU_ASSERT_PTR_NULL(dns_result_target(w.res, 1));
		mem_deref(w.res);
	}
	CU_ASSERT_EQUAL(dns_cache_count(ctx), 0);
	mem_deref(ctx);
	event_base_free(base);
}

static void
test_bad_input(void)
{
	struct event_base *base = event_base_new();
	struct dns_ctx *ctx = NULL;
	struct dns_query *q = NULL;
	struct dns_conf conf;
	struct sip_uri uri;
	struct waiter w = {0};

	CU_ASSERT_PTR_NOT_NULL_FATAL(base);
	dns_conf_default(&conf);
	conf.servers = "127.0.0.1:9";
	conf.transports = DNS_TRANSPORT_UDP | DNS_TRANSPORT_TCP;
	CU_ASSERT_EQUAL(dns_ctx_alloc(&ctx, base, NULL), 0); /* resolv.conf */
	mem_deref(ctx);
	conf.servers = "not an address";
	CU_ASSERT_EQUAL(dns_ctx_alloc(&ctx, base, &conf), EINVAL);
	conf.servers = "127.0.0.1:9";
	CU_ASSERT_EQUAL_FATAL(dns_ctx_alloc(&ctx, base, &conf), 0);
	/* TLS not enabled in this ctx */
	CU_ASSERT_EQUAL(decode(&uri, "sips:192.0.2.1"), 0);
	CU_ASSERT_EQUAL(dns_sip_resolve(&q, ctx, &uri, resolve_h, &w),
			EPROTONOSUPPORT);
	CU_ASSERT_EQUAL(decode(&uri, "sip:192.0.2.1;transport=sctp"), 0);
	CU_ASSERT_EQUAL(dns_sip_resolve(&q, ctx, &uri, resolve_h, &w),
			EPROTONOSUPPORT);
	CU_ASSERT_EQUAL(decode(&uri, "sips:192.0.2.1;transport=udp"), 0);
	CU_ASSERT_EQUAL(dns_sip_resolve(&q, ctx, &uri, resolve_h, &w),
			EPROTONOSUPPORT);
	CU_ASSERT_EQUAL(decode(&uri, "tel:+15551234"), 0);
	CU_ASSERT_EQUAL(dns_sip_resolve(&q, ctx, &uri, resolve_h, &w), EINVAL);
	CU_ASSERT_PTR_NULL(q);
	/* Cancelled before delivery: never called. */
	CU_ASSERT_EQUAL(decode(&uri, "sip:192.0.2.1"), 0);
	CU_ASSERT_EQUAL(dns_sip_resolve(&q, ctx, &uri, resolve_h, &w), 0);
	q = dns_query_cancel(q);
	CU_ASSERT_PTR_NULL(q);
	/* A ctx freed with a query pending: never called either. */
	CU_ASSERT_EQUAL(dns_sip_resolve(&q, ctx, &uri, resolve_h, &w), 0);
	ctx = mem_deref(ctx);
	run_until(base, NULL, 50);
	CU_ASSERT_EQUAL(w.calls, 0);
	mem_deref(q);
	event_base_free(base);
}

static void
test_srv_order(void)
{
	/* RFC 2782: priority 5 first; within priority 10 the weight-0
	   record first, then (our canonical order) heaviest first: c(0)
	   b(20) a(10) give running sums 0, 20, 30. */
	struct dns_srv r[] = {
		{"a", 1, 10, 10}, {"b", 2, 10, 20}, {"c", 3, 10, 0},
		{"d", 4, 5, 50},  {"e", 5, 20, 1},
	};
	/* 15 % 31 = 15 -> b; then c(0) a(10): 11 % 11 = 0 -> c; then a. */
	static const uint32_t nums1[] = {15, 11, 0};
	const uint32_t *p = nums1;
	struct dns_srv r2[5];
	uint32_t k;

	memcpy(r2, r, sizeof(r));
	dns_srv_order(r, 5, seq_rand, &p);
	CU_ASSERT_STRING_EQUAL(r[0].target, "d");
	CU_ASSERT_STRING_EQUAL(r[1].target, "b");
	CU_ASSERT_STRING_EQUAL(r[2].target, "c");
	CU_ASSERT_STRING_EQUAL(r[3].target, "a");
	CU_ASSERT_STRING_EQUAL(r[4].target, "e");
	/* Always 5: 5 % 31 = 5 -> b (sum 20 >= 5); c(0) a(10): 5 % 11 = 5
	   -> a; then c. The input order does not matter. */
	k = 5;
	for (int rev = 0; rev < 2; rev++) {
		for (int i = 0; i < 5; i++)
			r[i] = r2[rev ? 4 - i : i];
		dns_srv_order(r, 5, const_rand, &k);
		CU_ASSERT_STRING_EQUAL(r[0].target, "d");
		CU_ASSERT_STRING_EQUAL(r[1].target, "b");
		CU_ASSERT_STRING_EQUAL(r[2].target, "a");
		CU_ASSERT_STRING_EQUAL(r[3].target, "c");
		CU_ASSERT_STRING_EQUAL(r[4].target, "e");
	}
	/* Weights drive the frequency of first place: a:b = 1:2. */
	{
		unsigned first_b = 0;
		struct dns_srv two[2];

		for (unsigned i = 0; i < 3000; i++) {
			two[0] = r2[0];
			two[1] = r2[1];
			dns_srv_order(two, 2, NULL, NULL); /* RAND_bytes */
			first_b += two[0].target[0] == 'b';
		}
		/* expected 2000 (20/30); 6 sigma is about 155 */
		CU_ASSERT(first_b > 1800 && first_b < 2200);
	}
	dns_srv_order(NULL, 0, NULL, NULL);
}

/* ---- loopback dnsmasq ----------------------------------------------- */

struct dnsmasq {
	pid_t pid;
	uint16_t port;
	char dir[64];
};

static uint16_t
free_port(void)
{
	struct sockaddr_in sin = {.sin_family = AF_INET};
	socklen_t len = sizeof(sin);
	int fd = socket(AF_INET, SOCK_DGRAM, 0);
	uint16_t port = 0;

	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (fd >= 0 && bind(fd, (void *)&sin, sizeof(sin)) == 0 &&
	    getsockname(fd, (void *)&sin, &len) == 0)
		port = ntohs(sin.sin_port);
	if (fd >= 0)
		close(fd);
	return port;
}

/* True once something is bound to 127.0.0.1:port (UDP). */
static bool
port_busy(uint16_t port)
{
	struct sockaddr_in sin = {.sin_family = AF_INET,
				  .sin_port = htons(port)};
	int fd = socket(AF_INET, SOCK_DGRAM, 0);
	bool busy;

	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	busy = bind(fd, (void *)&sin, sizeof(sin)) != 0 && errno == EADDRINUSE;
	close(fd);
	return busy;
}

static void
dnsmasq_stop(struct dnsmasq *d)
{
	char path[128];

	if (d->pid > 0) {
		kill(d->pid, SIGTERM); /* by PID only */
		waitpid(d->pid, NULL, 0);
		d->pid = 0;
	}
	if (d->dir[0]) {
		snprintf(path, sizeof(path), "%s/pid", d->dir);
		unlink(path);
		snprintf(path, sizeof(path), "%s/log", d->dir);
		unlink(path);
		rmdir(d->dir);
		d->dir[0] = '\0';
	}
}

/* Start dnsmasq with the trunk.test zone; false (and SKIP) if it cannot. */
static bool
dnsmasq_start(struct dnsmasq *d)
{
	char port[32], pid[96], logf[96];
	char *argv[] = {
		DNSMASQ, "--no-daemon", "--conf-file=/dev/null", "--no-resolv",
		"--no-hosts", port, "--listen-address=127.0.0.1",
		"--bind-interfaces", pid, "--user=root", "--local=/test/",
		"--local-ttl=300", logf, "--log-queries",
		/* NAPTR -> SRV -> A: UDP first (order 10), TCP (order 20) */
		"--naptr-record=trunk.test,20,10,s,SIP+D2T,,"
		"_sip._tcp.trunk.test",
		"--naptr-record=trunk.test,10,10,S,SIP+D2U,,"
		"_sip._udp.trunk.test",
		"--naptr-record=trunk.test,5,10,s,SIP+D2S,,"
		"_sip._sctp.trunk.test",
		"--srv-host=_sip._udp.trunk.test,b.trunk.test,5080,20,0",
		"--srv-host=_sip._udp.trunk.test,a.trunk.test,5070,10,60",
		"--srv-host=_sip._udp.trunk.test,c.trunk.test,5090,10,40",
		"--srv-host=_sip._tcp.trunk.test,a.trunk.test,5071,10,0",
		"--host-record=a.trunk.test,192.0.2.1",
		"--host-record=b.trunk.test,192.0.2.2",
		"--host-record=c.trunk.test,192.0.2.3,2001:db8::3",
		/* no NAPTR: SRV guesses, only _sip._tcp exists */
		"--srv-host=_sip._tcp.srv.test,x.srv.test,5062,1,0",
		"--host-record=x.srv.test,192.0.2.10",
		/* no NAPTR, no SRV */
		"--host-record=plain.test,192.0.2.20",
		"--host-record=v6.test,2001:db8::20", NULL};

	memset(d, 0, sizeof(*d));
	if (access(DNSMASQ, X_OK) != 0) {
		fprintf(stderr, "SKIP: %s not found\n", DNSMASQ);
		return false;
	}
	snprintf(d->dir, sizeof(d->dir), "/tmp/tandem-dns-XXXXXX");
	if (!mkdtemp(d->dir)) {
		d->dir[0] = '\0';
		CU_FAIL("cannot make a temp dir for dnsmasq");
		return false;
	}
	for (int attempt = 0; attempt < 3 && d->pid <= 0; attempt++) {
		posix_spawn_file_actions_t fa;

		d->port = free_port();
		snprintf(port, sizeof(port), "--port=%u", d->port);
		snprintf(pid, sizeof(pid), "--pid-file=%s/pid", d->dir);
		snprintf(logf, sizeof(logf), "--log-facility=%s/log", d->dir);
		posix_spawn_file_actions_init(&fa);
		posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY,
						 0);
		posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY,
						 0);
		if (posix_spawn(&d->pid, DNSMASQ, &fa, NULL, argv, environ))
			d->pid = 0;
		posix_spawn_file_actions_destroy(&fa);
		/* Wait (at most 2 s) until it listens, or it exits. */
		for (int i = 0; i < 200 && d->pid > 0; i++) {
			struct timespec ts = {0, 10 * 1000 * 1000};

			if (port_busy(d->port))
				return true;
			if (waitpid(d->pid, NULL, WNOHANG) == d->pid)
				d->pid = 0; /* port taken meanwhile? retry */
			nanosleep(&ts, NULL);
		}
		if (d->pid > 0)
			dnsmasq_stop(d);
	}
	/* installed but not serving: a broken test set-up, not a skip */
	fprintf(stderr, "dnsmasq is installed but did not start\n");
	CU_FAIL("dnsmasq did not start");
	dnsmasq_stop(d);
	return false;
}

static struct dns_ctx *
loop_ctx(struct event_base *base, const struct dnsmasq *d, uint32_t *rnd)
{
	struct dns_ctx *ctx = NULL;
	struct dns_conf conf;
	char servers[64];

	dns_conf_default(&conf);
	snprintf(servers, sizeof(servers), "127.0.0.1:%u", d->port);
	conf.servers = servers;
	conf.timeout_ms = 500;
	conf.tries = 1;
	conf.now_h = fake_now;
	conf.rand_h = const_rand;
	conf.rand_arg = rnd;
	CU_ASSERT_EQUAL(dns_ctx_alloc(&ctx, base, &conf), 0);
	return ctx;
}

/* 70 % 101 = 70: in _sip._udp priority 10, a(60) c(40) -> c first. */
#define TRUNK_C_FIRST                                                          \
	"192.0.2.3:5090/udp [2001:db8::3]:5090/udp 192.0.2.1:5070/udp "        \
	"192.0.2.2:5080/udp 192.0.2.1:5071/tcp"
/* 10 % 101 = 10 -> a first. */
#define TRUNK_A_FIRST                                                          \
	"192.0.2.1:5070/udp 192.0.2.3:5090/udp [2001:db8::3]:5090/udp "        \
	"192.0.2.2:5080/udp 192.0.2.1:5071/tcp"

static void
test_loopback(void)
{
	struct event_base *base;
	struct dns_ctx *ctx;
	struct dnsmasq d;
	struct waiter w;
	uint32_t rnd = 70;

	if (!dnsmasq_start(&d))
		return;
	base = event_base_new();
	CU_ASSERT_PTR_NOT_NULL_FATAL(base);
	fake_ms = 1000000;
	ctx = loop_ctx(base, &d, &rnd);
	CU_ASSERT_PTR_NOT_NULL_FATAL(ctx);

	/* NAPTR (SCTP ignored, UDP before TCP) -> SRV (priority, weight)
	   -> A and AAAA. */
	resolve(ctx, base, "sip:trunk.test", &w);
	CU_ASSERT_EQUAL(w.err, 0);
	ASSERT_TARGETS(w.res, TRUNK_C_FIRST);
	CU_ASSERT_EQUAL(dns_result_target(w.res, 0)->priority, 10);
	CU_ASSERT_EQUAL(dns_result_target(w.res, 0)->weight, 40);
	CU_ASSERT_EQUAL(dns_result_target(w.res, 3)->priority, 20);
	mem_deref(w.res);
	rnd = 10; /* from the cache, other random draws */
	resolve(ctx, base, "sip:trunk.test", &w);
	ASSERT_TARGETS(w.res, TRUNK_A_FIRST);
	mem_deref(w.res);

	/* Explicit transport: SRV of it only. */
	resolve(ctx, base, "sip:trunk.test;transport=tcp", &w);
	ASSERT_TARGETS(w.res, "192.0.2.1:5071/tcp");
	mem_deref(w.res);

	/* No NAPTR: SRV guesses _sip._udp, _sip._tcp, _sips._tcp. */
	resolve(ctx, base, "sip:srv.test", &w);
	CU_ASSERT_EQUAL(w.err, 0);
	ASSERT_TARGETS(w.res, "192.0.2.10:5062/tcp");
	mem_deref(w.res);

	/* No NAPTR, no SRV: A on the host, default port, UDP. */
	resolve(ctx, base, "sip:plain.test", &w);
	CU_ASSERT_EQUAL(w.err, 0);
	ASSERT_TARGETS(w.res, "192.0.2.20:5060/udp");
	mem_deref(w.res);
	resolve(ctx, base, "sips:plain.test", &w);
	ASSERT_TARGETS(w.res, "192.0.2.20:5061/tls");
	mem_deref(w.res);

	/* Port given: A/AAAA only (no NAPTR/SRV even though they exist). */
	resolve(ctx, base, "sip:trunk.test:5099", &w);
	CU_ASSERT_EQUAL(w.err, ENOENT);
	CU_ASSERT_PTR_NULL(w.res);
	resolve(ctx, base, "sip:c.trunk.test:5099;transport=tcp", &w);
	ASSERT_TARGETS(w.res, "192.0.2.3:5099/tcp [2001:db8::3]:5099/tcp");
	mem_deref(w.res);

	/* AAAA only. */
	resolve(ctx, base, "sip:v6.test", &w);
	CU_ASSERT_EQUAL(w.err, 0);
	ASSERT_TARGETS(w.res, "[2001:db8::20]:5060/udp");
	mem_deref(w.res);

	/* NXDOMAIN everywhere: error callback. */
	resolve(ctx, base, "sip:nx.test", &w);
	CU_ASSERT_EQUAL(w.err, ENOENT);
	CU_ASSERT_PTR_NULL(w.res);

	/* Cache: with dnsmasq gone the same answers come back. */
	CU_ASSERT(dns_cache_count(ctx) > 0);
	dnsmasq_stop(&d);
	rnd = 70;
	resolve(ctx, base, "sip:trunk.test", &w);
	CU_ASSERT_EQUAL(w.err, 0);
	ASSERT_TARGETS(w.res, TRUNK_C_FIRST);
	mem_deref(w.res);
	resolve(ctx, base, "sip:nx.test", &w); /* negative entries too */
	CU_ASSERT_EQUAL(w.err, ENOENT);

	/* Negative entries live 30 s, positive ones the TTL (300 s). */
	fake_ms += 31 * 1000;
	resolve(ctx, base, "sip:nx.test", &w);
	CU_ASSERT_NOT_EQUAL(w.err, 0);
	CU_ASSERT_NOT_EQUAL(w.err, ENOENT); /* server gone now */
	resolve(ctx, base, "sip:a.trunk.test:5060", &w);
	CU_ASSERT_EQUAL(w.err, 0); /* A still cached (AAAA lookup failed) */
	ASSERT_TARGETS(w.res, "192.0.2.1:5060/udp");
	mem_deref(w.res);
	fake_ms += 300 * 1000;
	resolve(ctx, base, "sip:a.trunk.test:5060", &w);
	CU_ASSERT_NOT_EQUAL(w.err, 0);
	CU_ASSERT_PTR_NULL(w.res);
	dns_cache_flush(ctx);
	CU_ASSERT_EQUAL(dns_cache_count(ctx), 0);

	mem_deref(ctx);
	event_base_free(base);
}

/* A query cancelled (or its ctx freed) while lookups are in flight. */
static void
test_loopback_cancel(void)
{
	struct event_base *base;
	struct dns_ctx *ctx;
	struct dns_query *q = NULL, *q2 = NULL;
	struct dnsmasq d;
	struct sip_uri uri;
	struct waiter w = {0}, w2 = {0};
	uint32_t rnd = 1;

	if (!dnsmasq_start(&d))
		return;
	base = event_base_new();
	CU_ASSERT_PTR_NOT_NULL_FATAL(base);
	ctx = loop_ctx(base, &d, &rnd);
	CU_ASSERT_PTR_NOT_NULL_FATAL(ctx);
	CU_ASSERT_EQUAL(decode(&uri, "sip:trunk.test"), 0);
	CU_ASSERT_EQUAL(dns_sip_resolve(&q, ctx, &uri, resolve_h, &w), 0);
	CU_ASSERT_EQUAL(dns_sip_resolve(&q2, ctx, &uri, resolve_h, &w2), 0);
	q = dns_query_cancel(q);
	run_until(base, &w2.done, 4000);
	CU_ASSERT_EQUAL(w.calls, 0);
	CU_ASSERT_EQUAL(w2.calls, 1);
	ASSERT_TARGETS(w2.res, "192.0.2.1:5070/udp 192.0.2.3:5090/udp "
			       "[2001:db8::3]:5090/udp 192.0.2.2:5080/udp "
			       "192.0.2.1:5071/tcp");
	mem_deref(w2.res);
	mem_deref(q2);
	/* Let the cancelled query's lookups land (they fill the cache),
	   then free the ctx with a NAPTR lookup in flight. */
	run_until(base, NULL, 200);
	dns_cache_flush(ctx);
	w2 = (struct waiter){0};
	CU_ASSERT_EQUAL(dns_sip_resolve(&q2, ctx, &uri, resolve_h, &w2), 0);
	ctx = mem_deref(ctx);
	run_until(base, NULL, 100);
	CU_ASSERT_EQUAL(w2.calls, 0);
	mem_deref(w2.res);
	mem_deref(q2);
	dnsmasq_stop(&d);
	event_base_free(base);
}

/* Lines of dnsmasq's query log containing what (the questions it got). */
static unsigned
dnsmasq_count(const struct dnsmasq *d, const char *what)
{
	char path[128], line[512];
	unsigned n = 0;
	FILE *f;

	snprintf(path, sizeof(path), "%s/log", d->dir);
	f = fopen(path, "r");
	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f))
		if (strstr(line, what))
			n++;
	fclose(f);
	return n;
}

enum { MERGE_N = 4 };

/*
 * Identical lookups in flight at once are merged: MERGE_N resolutions of
 * one trunk domain started together (one in other letter case) send the
 * questions of one resolution (counted by the ctx, and by dnsmasq's own
 * query log) and all get the same, complete answer.
 */
static void
test_loopback_merge(void)
{
	static const char *const uris[MERGE_N] = {
		"sip:trunk.test", "sip:trunk.test", "sip:TRUNK.Test",
		"sip:trunk.test"};
	struct event_base *base;
	struct dns_ctx *ctx;
	struct dns_query *q[MERGE_N] = {0};
	struct waiter w[MERGE_N], one;
	struct dns_stats st, st1;
	struct sip_uri uri;
	struct dnsmasq d;
	uint32_t rnd = 1;
	unsigned i, naptr;

	if (!dnsmasq_start(&d))
		return;
	base = event_base_new();
	CU_ASSERT_PTR_NOT_NULL_FATAL(base);
	ctx = loop_ctx(base, &d, &rnd);
	CU_ASSERT_PTR_NOT_NULL_FATAL(ctx);
	for (i = 0; i < MERGE_N; i++) {
		w[i] = (struct waiter){0};
		CU_ASSERT_EQUAL_FATAL(decode(&uri, uris[i]), 0);
		CU_ASSERT_EQUAL(
			dns_sip_resolve(&q[i], ctx, &uri, resolve_h, &w[i]), 0);
	}
	for (i = 0; i < MERGE_N; i++) {
		run_until(base, &w[i].done, 4000);
		CU_ASSERT_EQUAL(w[i].calls, 1);
		CU_ASSERT_EQUAL(w[i].err, 0);
		ASSERT_TARGETS(w[i].res, TRUNK_A_FIRST);
		w[i].res = mem_deref(w[i].res);
		q[i] = mem_deref(q[i]);
	}
	dns_ctx_stats(ctx, &st);
	naptr = dnsmasq_count(&d, "query[NAPTR] trunk.test");
	/* The same resolution alone, cache flushed: what one costs. */
	dns_cache_flush(ctx);
	resolve(ctx, base, "sip:trunk.test", &one);
	ASSERT_TARGETS(one.res, TRUNK_A_FIRST);
	mem_deref(one.res);
	dns_ctx_stats(ctx, &st1);
	st1.lookups -= st.lookups;
	st1.sent -= st.sent;
	st1.merged -= st.merged;
	st1.cached -= st.cached;
	CU_ASSERT(st1.sent >= 4); /* NAPTR, SRV, A and AAAA at least */
	CU_ASSERT_EQUAL(st1.merged, 0);
	/* MERGE_N at once: the questions of one, every lookup of the others
	   merged into them */
	CU_ASSERT_EQUAL(st.sent, st1.sent);
	CU_ASSERT_EQUAL(st.lookups, MERGE_N * st1.lookups);
	CU_ASSERT_EQUAL(st.merged, (MERGE_N - 1) * st1.lookups);
	CU_ASSERT_EQUAL(st.cached, 0);
	/* and on the wire: one NAPTR question for the burst, one for the
	   single run; every question dnsmasq got was counted as sent */
	CU_ASSERT_EQUAL(naptr, 1);
	CU_ASSERT_EQUAL(dnsmasq_count(&d, "query[NAPTR] trunk.test"), 2);
	CU_ASSERT_EQUAL(dnsmasq_count(&d, "query["), st.sent + st1.sent);
	printf("\n  merge: %u resolutions at once: %llu questions (%llu "
	       "lookups, %llu merged); one alone: %llu\n",
	       MERGE_N, (unsigned long long)st.sent,
	       (unsigned long long)st.lookups, (unsigned long long)st.merged,
	       (unsigned long long)st1.sent);
	ctx = mem_deref(ctx);
	dnsmasq_stop(&d);
	event_base_free(base);
}

void test_dns_register(void);
void
test_dns_register(void)
{
	CU_pSuite s = tu_suite("dns");

	TU_ADD(s, test_numeric);
	TU_ADD(s, test_bad_input);
	TU_ADD(s, test_srv_order);
	TU_ADD(s, test_loopback);
	TU_ADD(s, test_loopback_cancel);
	TU_ADD(s, test_loopback_merge);
}
