/* Unit tests: the management API's HTTP layer (b2bua/api*.c) against a
   real server on 127.0.0.1 with canned ops: every endpoint, the error
   cases, the Prometheus exposition, concurrent clients. */
#include <arpa/inet.h>
#include <errno.h>
#include <math.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include "b2bua/api.h"
#include "testutil.h"

/* Canned engine. The ops run on the API thread; the test reads these
   fields only after the response arrived. */
struct fake {
	json_t *last; /* the value last handed out (one ref of ours) */
	int hangups, reloads, drains, undrains;
	char id[300], reason[200];
	char f_trunk[64], f_number[64], f_state[64];
	bool ready;
};

static json_t *
keep(struct fake *f, json_t *v)
{
	json_decref(f->last);
	f->last = json_incref(v);
	return v;
}

static json_t *
op_stats(void *arg)
{
	return keep(arg, json_pack("{s:i,s:i}", "active_calls", 2,
				   "calls_total", 17));
}

static void
copy(char *dst, size_t sz, const char *s)
{
	snprintf(dst, sz, "%s", s ? s : "(null)");
}

static json_t *
op_calls(void *arg, const struct api_call_filter *flt)
{
	struct fake *f = arg;

	copy(f->f_trunk, sizeof(f->f_trunk), flt->trunk);
	copy(f->f_number, sizeof(f->f_number), flt->number);
	copy(f->f_state, sizeof(f->f_state), flt->state);
	return keep(f,
		    json_pack("[{s:s,s:s}]", "id", "c1", "state", "confirmed"));
}

static json_t *
op_call(void *arg, const char *id)
{
	struct fake *f = arg;

	copy(f->id, sizeof(f->id), id);
	if (strcmp(id, "a1@host") != 0)
		return NULL;
	return keep(f, json_pack("{s:s}", "id", id));
}

static int
op_hangup(void *arg, const char *id, const char *reason)
{
	struct fake *f = arg;

	copy(f->id, sizeof(f->id), id);
	copy(f->reason, sizeof(f->reason), reason);
	if (strcmp(id, "a1@host") != 0)
		return ENOENT;
	f->hangups++;
	return 0;
}

static json_t *
op_trunks(void *arg)
{
	return keep(arg, json_pack("[{s:s}]", "name", "pbx"));
}

static int
op_reload(void *arg)
{
	((struct fake *)arg)->reloads++;
	return 0;
}

static int
op_drain(void *arg, bool on)
{
	struct fake *f = arg;

	if (on)
		f->drains++;
	else
		f->undrains++;
	f->ready = !on;
	return 0;
}

static bool
op_ready(void *arg, const char **why)
{
	struct fake *f = arg;

	*why = "draining";
	return f->ready;
}

static void
op_metrics(void *arg, struct api_metrics *m)
{
	api_metric_gauge(m, "tandem_calls_active", "Calls up now", NULL, 2);
	api_metric_counter(m, "tandem_trunk_attempts_total", "Attempts",
			   (const char *[]){"trunk", "pbx", NULL}, 5);
	api_metric_gauge(m, "tandem_policy_version", "Policy", NULL, 7);
	/* Same family again after another: must be grouped with the first. */
	api_metric_counter(m, "tandem_trunk_attempts_total", "Attempts",
			   (const char *[]){"trunk", "a\"b\\c\nd", NULL}, 1);
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
	.metrics = op_metrics,
};

static struct fake fk;
static struct api *srv;

struct resp {
	int status;
	char head[2048];
	char body[8192];
};

/* One request on a fresh connection ("Connection: close"); reads until
   the server closes. Returns 0 or an errno. */
static int
http_raw(uint16_t port, const char *req, size_t reqlen, struct resp *rp)
{
	struct sockaddr_in sin = {.sin_family = AF_INET,
				  .sin_port = htons(port)};
	struct timeval tv = {.tv_sec = 5};
	static __thread char buf[16384];
	size_t n = 0;
	ssize_t k;
	char *sep;
	int fd, err = 0;

	inet_pton(AF_INET, "127.0.0.1", &sin.sin_addr);
	fd = socket(AF_INET, SOCK_STREAM, 0);
	if (fd < 0)
		return errno;
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	if (connect(fd, (struct sockaddr *)&sin, sizeof(sin)) < 0 ||
	    send(fd, req, reqlen, MSG_NOSIGNAL) != (ssize_t)reqlen) {
		err = errno;
		goto out;
	}
	while (n < sizeof(buf) - 1 &&
	       (k = recv(fd, buf + n, sizeof(buf) - 1 - n, 0)) > 0)
		n += (size_t)k;
	buf[n] = '\0';
	memset(rp, 0, sizeof(*rp));
	sep = strstr(buf, "\r\n\r\n");
	if (!sep || sscanf(buf, "HTTP/1.%*d %d", &rp->status) != 1) {
		err = EBADMSG;
		goto out;
	}
	snprintf(rp->head, sizeof(rp->head), "%.*s", (int)(sep - buf) + 2, buf);
	snprintf(rp->body, sizeof(rp->body), "%s", sep + 4);
out:
	close(fd);
	return err;
}

/* method path with optional token and body. */
static int
http(const char *method, const char *path, const char *token, const char *body,
     struct resp *rp)
{
	char req[8192], auth[256] = "";

	if (token)
		snprintf(auth, sizeof(auth), "Authorization: Bearer %s\r\n",
			 token);
	snprintf(req, sizeof(req),
		 "%s %s HTTP/1.1\r\nHost: 127.0.0.1\r\n%s"
		 "Content-Length: %zu\r\nConnection: close\r\n\r\n%s",
		 method, path, auth, body ? strlen(body) : 0, body ? body : "");
	memset(rp, 0, sizeof(*rp));
	return http_raw(api_port(srv), req, strlen(req), rp);
}

/* The value of header name in r ("" when absent; static buffer). */
static const char *
hdr(const struct resp *r, const char *name)
{
	static char v[256];
	const char *p = r->head;
	size_t n = strlen(name);

	v[0] = '\0';
	while ((p = strstr(p, "\r\n")) != NULL) {
		p += 2;
		if (strncasecmp(p, name, n) == 0 && p[n] == ':') {
			p += n + 1;
			while (*p == ' ')
				p++;
			snprintf(v, sizeof(v), "%.*s", (int)strcspn(p, "\r\n"),
				 p);
			break;
		}
	}
	return v;
}

/* The "error" member of a JSON error body (static buffer). */
static const char *
jerr(const struct resp *r)
{
	static char s[256];
	json_t *v = json_loads(r->body, 0, NULL);
	const char *e = json_string_value(json_object_get(v, "error"));

	snprintf(s, sizeof(s), "%s", e ? e : "(no error member)");
	json_decref(v);
	return s;
}

static void
server_start(const char *token)
{
	memset(&fk, 0, sizeof(fk));
	fk.ready = true;
	CU_ASSERT_EQUAL_FATAL(api_start(&srv, "127.0.0.1:0", token, &ops, &fk),
			      0);
	CU_ASSERT_FATAL(api_port(srv) != 0);
}

/* Stopping frees everything; the last value handed out must have been
   released by the API (only our reference is left). */
static void
server_stop(void)
{
	api_stop(srv);
	srv = NULL;
	if (fk.last)
		CU_ASSERT_EQUAL(fk.last->refcount, 1);
	json_decref(fk.last);
	fk.last = NULL;
}

static void
test_get_endpoints(void)
{
	struct resp r;

	server_start(NULL);
	CU_ASSERT_EQUAL_FATAL(http("GET", "/stats", NULL, NULL, &r), 0);
	CU_ASSERT_EQUAL(r.status, 200);
	CU_ASSERT_STRING_EQUAL(hdr(&r, "Content-Type"), "application/json");
	CU_ASSERT_STRING_EQUAL(r.body,
			       "{\"active_calls\":2,\"calls_total\":17}\n");
	CU_ASSERT_EQUAL(fk.last->refcount, 1);
	CU_ASSERT_EQUAL(http("GET", "/trunks", NULL, NULL, &r), 0);
	CU_ASSERT_STRING_EQUAL(r.body, "[{\"name\":\"pbx\"}]\n");
	CU_ASSERT_EQUAL(http("GET", "/calls", NULL, NULL, &r), 0);
	CU_ASSERT_EQUAL(r.status, 200);
	CU_ASSERT_STRING_EQUAL(r.body,
			       "[{\"id\":\"c1\",\"state\":\"confirmed\"}]\n");
	CU_ASSERT_STRING_EQUAL(fk.f_trunk, "(null)");
	CU_ASSERT_STRING_EQUAL(fk.f_state, "(null)");
	/* Filters arrive decoded ("%2B" is the plus of +4930). */
	CU_ASSERT_EQUAL(http("GET",
			     "/calls?trunk=pbx&number=%2B4930&state=early",
			     NULL, NULL, &r),
			0);
	CU_ASSERT_EQUAL(r.status, 200);
	CU_ASSERT_STRING_EQUAL(fk.f_trunk, "pbx");
	CU_ASSERT_STRING_EQUAL(fk.f_number, "+4930");
	CU_ASSERT_STRING_EQUAL(fk.f_state, "early");
	CU_ASSERT_EQUAL(http("GET", "/calls?color=red", NULL, NULL, &r), 0);
	CU_ASSERT_EQUAL(r.status, 400);
	CU_ASSERT_STRING_EQUAL(jerr(&r), "unknown filter: color");
	/* One call, by its URI-encoded Call-ID. */
	CU_ASSERT_EQUAL(http("GET", "/calls/a1%40host", NULL, NULL, &r), 0);
	CU_ASSERT_EQUAL(r.status, 200);
	CU_ASSERT_STRING_EQUAL(r.body, "{\"id\":\"a1@host\"}\n");
	CU_ASSERT_EQUAL(http("GET", "/calls/nosuch", NULL, NULL, &r), 0);
	CU_ASSERT_EQUAL(r.status, 404);
	CU_ASSERT_STRING_EQUAL(jerr(&r), "no such call");
	CU_ASSERT_STRING_EQUAL(fk.id, "nosuch");
	CU_ASSERT_EQUAL(http("GET", "/health", NULL, NULL, &r), 0);
	CU_ASSERT_EQUAL(r.status, 200);
	CU_ASSERT_STRING_EQUAL(r.body, "{\"status\":\"ok\"}\n");
	/* HEAD is GET without the body. */
	CU_ASSERT_EQUAL(http("HEAD", "/stats", NULL, NULL, &r), 0);
	CU_ASSERT_EQUAL(r.status, 200);
	CU_ASSERT_STRING_EQUAL(r.body, "");
	server_stop();
}

static void
test_actions(void)
{
	struct resp r;

	server_start(NULL);
	CU_ASSERT_EQUAL(http("DELETE", "/calls/a1%40host", NULL,
			     "{\"reason\": \"operator\"}", &r),
			0);
	CU_ASSERT_EQUAL(r.status, 200);
	CU_ASSERT_EQUAL(fk.hangups, 1);
	CU_ASSERT_STRING_EQUAL(fk.reason, "operator");
	CU_ASSERT_STRING_EQUAL(
		r.body, "{\"result\":\"hanging up\",\"id\":\"a1@host\"}\n");
	/* No body: no reason. */
	CU_ASSERT_EQUAL(http("DELETE", "/calls/a1@host", NULL, NULL, &r), 0);
	CU_ASSERT_EQUAL(r.status, 200);
	CU_ASSERT_EQUAL(fk.hangups, 2);
	CU_ASSERT_STRING_EQUAL(fk.reason, "(null)");
	CU_ASSERT_EQUAL(http("DELETE", "/calls/gone", NULL, NULL, &r), 0);
	CU_ASSERT_EQUAL(r.status, 404);
	CU_ASSERT_STRING_EQUAL(jerr(&r), "no such call");
	CU_ASSERT_EQUAL(http("POST", "/reload", NULL, NULL, &r), 0);
	CU_ASSERT_EQUAL(r.status, 200);
	CU_ASSERT_EQUAL(fk.reloads, 1);
	CU_ASSERT_EQUAL(http("GET", "/ready", NULL, NULL, &r), 0);
	CU_ASSERT_EQUAL(r.status, 200);
	CU_ASSERT_STRING_EQUAL(r.body, "{\"ready\":true}\n");
	CU_ASSERT_EQUAL(http("POST", "/drain", NULL, NULL, &r), 0);
	CU_ASSERT_EQUAL(r.status, 200);
	CU_ASSERT_STRING_EQUAL(r.body, "{\"result\":\"draining\"}\n");
	CU_ASSERT_EQUAL(fk.drains, 1);
	CU_ASSERT_EQUAL(http("GET", "/ready", NULL, NULL, &r), 0);
	CU_ASSERT_EQUAL(r.status, 503);
	CU_ASSERT_STRING_EQUAL(jerr(&r), "draining");
	CU_ASSERT_EQUAL(http("POST", "/undrain", NULL, "{}", &r), 0);
	CU_ASSERT_EQUAL(r.status, 200);
	CU_ASSERT_EQUAL(fk.undrains, 1);
	CU_ASSERT_EQUAL(http("GET", "/ready", NULL, NULL, &r), 0);
	CU_ASSERT_EQUAL(r.status, 200);
	server_stop();
}

static void
test_errors(void)
{
	struct resp r;
	char big[API_BODY_MAX + 64];

	server_start(NULL);
	CU_ASSERT_EQUAL(http("GET", "/nosuch", NULL, NULL, &r), 0);
	CU_ASSERT_EQUAL(r.status, 404);
	CU_ASSERT_STRING_EQUAL(jerr(&r), "not found");
	CU_ASSERT_EQUAL(http("GET", "/calls/a/b", NULL, NULL, &r), 0);
	CU_ASSERT_EQUAL(r.status, 404);
	CU_ASSERT_EQUAL(http("GET", "/calls/", NULL, NULL, &r), 0);
	CU_ASSERT_EQUAL(r.status, 404);
	/* An id with an encoded NUL is refused before any op sees it. */
	CU_ASSERT_EQUAL(http("GET", "/calls/a%00b", NULL, NULL, &r), 0);
	CU_ASSERT_EQUAL(r.status, 404);
	CU_ASSERT_EQUAL(http("POST", "/calls", NULL, NULL, &r), 0);
	CU_ASSERT_EQUAL(r.status, 405);
	CU_ASSERT_STRING_EQUAL(hdr(&r, "Allow"), "GET, HEAD");
	CU_ASSERT_STRING_EQUAL(jerr(&r), "method not allowed");
	CU_ASSERT_EQUAL(http("PUT", "/calls/x", NULL, NULL, &r), 0);
	CU_ASSERT_EQUAL(r.status, 405);
	CU_ASSERT_STRING_EQUAL(hdr(&r, "Allow"), "GET, HEAD, DELETE");
	CU_ASSERT_EQUAL(http("GET", "/reload", NULL, NULL, &r), 0);
	CU_ASSERT_EQUAL(r.status, 405);
	CU_ASSERT_STRING_EQUAL(hdr(&r, "Allow"), "POST");
	CU_ASSERT_EQUAL(http("PATCH", "/stats", NULL, NULL, &r), 0);
	CU_ASSERT_EQUAL(r.status, 405);
	/* Bodies: malformed JSON, not an object, wrong types, bad reason. */
	CU_ASSERT_EQUAL(
		http("DELETE", "/calls/a1@host", NULL, "{\"reason\":", &r), 0);
	CU_ASSERT_EQUAL(r.status, 400);
	CU_ASSERT_PTR_NOT_NULL(strstr(jerr(&r), "malformed JSON body"));
	CU_ASSERT_EQUAL(http("POST", "/reload", NULL, "[1]", &r), 0);
	CU_ASSERT_EQUAL(r.status, 400);
	CU_ASSERT_EQUAL(
		http("DELETE", "/calls/a1@host", NULL, "{\"reason\": 5}", &r),
		0);
	CU_ASSERT_EQUAL(r.status, 400);
	CU_ASSERT_STRING_EQUAL(jerr(&r), "reason must be a string");
	CU_ASSERT_EQUAL(http("DELETE", "/calls/a1@host", NULL,
			     "{\"reason\": \"a\\r\\nX-Evil: 1\"}", &r),
			0);
	CU_ASSERT_EQUAL(r.status, 400);
	CU_ASSERT_EQUAL(fk.hangups, 0);
	CU_ASSERT_EQUAL(fk.reloads, 0);
	/* Too large: our JSON 413 up to libevent's own cap. */
	memset(big, ' ', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	big[0] = '{';
	big[sizeof(big) - 2] = '}';
	CU_ASSERT_EQUAL(http("DELETE", "/calls/a1@host", NULL, big, &r), 0);
	CU_ASSERT_EQUAL(r.status, 413);
	CU_ASSERT_STRING_EQUAL(jerr(&r), "request body too large");
	CU_ASSERT_EQUAL(fk.hangups, 0);
	server_stop();
}

/* With a token: 401 + WWW-Authenticate without it or with a wrong one,
   checked before 404/405 so nothing is learnt unauthenticated. */
static void
test_auth(void)
{
	struct resp r;

	server_start("s3cret");
	CU_ASSERT_EQUAL(http("GET", "/stats", NULL, NULL, &r), 0);
	CU_ASSERT_EQUAL(r.status, 401);
	CU_ASSERT_STRING_EQUAL(hdr(&r, "WWW-Authenticate"),
			       "Bearer realm=\"tandem\"");
	CU_ASSERT_STRING_EQUAL(jerr(&r), "missing bearer token");
	CU_ASSERT_EQUAL(http("GET", "/stats", "wrong", NULL, &r), 0);
	CU_ASSERT_EQUAL(r.status, 401);
	CU_ASSERT_STRING_EQUAL(hdr(&r, "WWW-Authenticate"),
			       "Bearer realm=\"tandem\", "
			       "error=\"invalid_token\"");
	CU_ASSERT_STRING_EQUAL(jerr(&r), "invalid bearer token");
	/* A prefix of the token is not the token. */
	CU_ASSERT_EQUAL(http("GET", "/stats", "s3cre", NULL, &r), 0);
	CU_ASSERT_EQUAL(r.status, 401);
	CU_ASSERT_EQUAL(http("GET", "/stats", "s3cret", NULL, &r), 0);
	CU_ASSERT_EQUAL(r.status, 200);
	CU_ASSERT_EQUAL(http("GET", "/nosuch", NULL, NULL, &r), 0);
	CU_ASSERT_EQUAL(r.status, 401);
	CU_ASSERT_EQUAL(http("GET", "/nosuch", "s3cret", NULL, &r), 0);
	CU_ASSERT_EQUAL(r.status, 404);
	CU_ASSERT_EQUAL(http("POST", "/drain", NULL, NULL, &r), 0);
	CU_ASSERT_EQUAL(r.status, 401);
	CU_ASSERT_EQUAL(fk.drains, 0);
	/* Basic is not Bearer. */
	{
		static const char basic[] =
			"GET /stats HTTP/1.1\r\nHost: x\r\nAuthorization: "
			"Basic czNjcmV0\r\nConnection: close\r\n\r\n";

		CU_ASSERT_EQUAL(
			http_raw(api_port(srv), basic, sizeof(basic) - 1, &r),
			0);
	}
	CU_ASSERT_EQUAL(r.status, 401);
	/* The liveness probe needs no token. */
	CU_ASSERT_EQUAL(http("GET", "/health", NULL, NULL, &r), 0);
	CU_ASSERT_EQUAL(r.status, 200);
	server_stop();
}

static void
test_metrics_endpoint(void)
{
	struct resp r;
	const char *want =
		"# HELP tandem_calls_active Calls up now\n"
		"# TYPE tandem_calls_active gauge\n"
		"tandem_calls_active 2\n"
		"# HELP tandem_trunk_attempts_total Attempts\n"
		"# TYPE tandem_trunk_attempts_total counter\n"
		"tandem_trunk_attempts_total{trunk=\"pbx\"} 5\n"
		"tandem_trunk_attempts_total{trunk=\"a\\\"b\\\\c\\nd\"} 1\n"
		"# HELP tandem_policy_version Policy\n"
		"# TYPE tandem_policy_version gauge\n"
		"tandem_policy_version 7\n"
		"# HELP tandem_api_responses_total Management API responses "
		"by status class\n"
		"# TYPE tandem_api_responses_total counter\n"
		"tandem_api_responses_total{class=\"2xx\"} 1\n"
		"tandem_api_responses_total{class=\"4xx\"} 1\n"
		"tandem_api_responses_total{class=\"5xx\"} 0\n";

	server_start(NULL);
	CU_ASSERT_EQUAL(http("GET", "/stats", NULL, NULL, &r), 0);
	CU_ASSERT_EQUAL(http("GET", "/x", NULL, NULL, &r), 0);
	CU_ASSERT_EQUAL(http("GET", "/metrics", NULL, NULL, &r), 0);
	CU_ASSERT_EQUAL(r.status, 200);
	CU_ASSERT_STRING_EQUAL(hdr(&r, "Content-Type"),
			       "text/plain; version=0.0.4; charset=utf-8");
	CU_ASSERT_STRING_EQUAL(r.body, want);
	server_stop();
}

/* The helpers alone: names checked, HELP escaped, values formatted, a
   family reused with the other type refused. */
static void
test_metrics_helpers(void)
{
	struct api_metrics *m;
	const char *t;
	size_t len;

	CU_ASSERT_EQUAL_FATAL(api_metrics_alloc(&m), 0);
	CU_ASSERT_EQUAL(api_metric_gauge(m, "g", "a\\b\nc", NULL, 0.5), 0);
	CU_ASSERT_EQUAL(api_metric_gauge(m, "g", "ignored", NULL, INFINITY), 0);
	CU_ASSERT_EQUAL(
		api_metric_gauge(m, "g", NULL,
				 (const char *[]){"k", "v", "k2", "", NULL},
				 0.1),
		0);
	CU_ASSERT_EQUAL(api_metric_counter(m, "g", "x", NULL, 1), EINVAL);
	CU_ASSERT_EQUAL(api_metric_counter(m, "9bad", "x", NULL, 1), EINVAL);
	CU_ASSERT_EQUAL(api_metric_counter(m, "bad-name", "x", NULL, 1),
			EINVAL);
	CU_ASSERT_EQUAL(api_metric_counter(m, "c_total", "x",
					   (const char *[]){"bad:l", "v", NULL},
					   1),
			EINVAL);
	CU_ASSERT_EQUAL(api_metric_counter(m, "c_total", "x",
					   (const char *[]){"__r", "v", NULL},
					   1),
			EINVAL);
	CU_ASSERT_EQUAL(api_metric_counter(m, "c_total", "x",
					   (const char *[]){"odd", NULL}, 1),
			EINVAL);
	CU_ASSERT_EQUAL(api_metric_counter(m, "ns:c_total", "x", NULL,
					   18446744073709551615u),
			0);
	t = api_metrics_text(m, &len);
	CU_ASSERT_PTR_NOT_NULL_FATAL(t);
	CU_ASSERT_EQUAL(len, strlen(t));
	CU_ASSERT_STRING_EQUAL(t, "# HELP g a\\\\b\\nc\n"
				  "# TYPE g gauge\n"
				  "g 0.5\n"
				  "g +Inf\n"
				  "g{k=\"v\",k2=\"\"} 0.1\n"
				  "# HELP ns:c_total x\n"
				  "# TYPE ns:c_total counter\n"
				  "ns:c_total 18446744073709551615\n");
	api_metrics_free(m);
}

/* Fractional counters (seconds) and label values escaped as the text
   format says (\\, \", \n), e.g. a trunk name from the database. */
static void
test_metrics_counterf(void)
{
	struct api_metrics *m;
	const char *t;

	CU_ASSERT_EQUAL_FATAL(api_metrics_alloc(&m), 0);
	CU_ASSERT_EQUAL(
		api_metric_counterf(m, "b_seconds_total", "billable",
				    (const char *[]){"trunk", "a\"b\\c\nd",
						     "direction", "out", NULL},
				    12.5),
		0);
	CU_ASSERT_EQUAL(api_metric_counter(m, "b_seconds_total", NULL,
					   (const char *[]){"trunk", "x", NULL},
					   3),
			0); /* the same family: both counters */
	CU_ASSERT_EQUAL(api_metric_gauge(m, "b_seconds_total", NULL, NULL, 1),
			EINVAL);
	CU_ASSERT_EQUAL(api_metric_counterf(m, "c_total", "x", NULL, 0.1), 0);
	t = api_metrics_text(m, NULL);
	CU_ASSERT_PTR_NOT_NULL_FATAL(t);
	CU_ASSERT_STRING_EQUAL(
		t,
		"# HELP b_seconds_total billable\n"
		"# TYPE b_seconds_total counter\n"
		"b_seconds_total{trunk=\"a\\\"b\\\\c\\nd\",direction=\"out\"} "
		"12.5\n"
		"b_seconds_total{trunk=\"x\"} 3\n"
		"# HELP c_total x\n"
		"# TYPE c_total counter\n"
		"c_total 0.1\n");
	api_metrics_free(m);
}

#define CONC_THREADS 8
#define CONC_REQS 25

static void *
conc_client(void *arg)
{
	long ok = 0;
	struct resp r;

	for (int i = 0; i < CONC_REQS; i++) {
		if (http(i % 2 ? "GET" : "POST", i % 2 ? "/stats" : "/reload",
			 NULL, NULL, &r) == 0 &&
		    r.status == 200)
			ok++;
	}
	return (void *)ok;
}

/* Clients on several threads at once: every request answered. */
static void
test_concurrent(void)
{
	pthread_t th[CONC_THREADS];
	long total = 0;

	server_start(NULL);
	for (int i = 0; i < CONC_THREADS; i++)
		CU_ASSERT_EQUAL_FATAL(
			pthread_create(&th[i], NULL, conc_client, NULL), 0);
	for (int i = 0; i < CONC_THREADS; i++) {
		void *ok;

		pthread_join(th[i], &ok);
		total += (long)ok;
	}
	CU_ASSERT_EQUAL(total, CONC_THREADS * CONC_REQS);
	CU_ASSERT_EQUAL(fk.reloads, CONC_THREADS * ((CONC_REQS + 1) / 2));
	server_stop();
}

static void
test_start_args(void)
{
	struct api *a = NULL;

	CU_ASSERT_EQUAL(api_start(&a, "localhost:8080", NULL, &ops, &fk),
			EINVAL);
	CU_ASSERT_EQUAL(api_start(&a, "127.0.0.1:99999", NULL, &ops, &fk),
			EINVAL);
	CU_ASSERT_EQUAL(api_start(&a, "127.0.0.1:", NULL, &ops, &fk), EINVAL);
	CU_ASSERT_EQUAL(api_start(&a, "[::1:80", NULL, &ops, &fk), EINVAL);
	CU_ASSERT_EQUAL(api_start(&a, "127.0.0.1:0", NULL, NULL, &fk), EINVAL);
	CU_ASSERT_PTR_NULL(a);
	/* A port in use is reported as such. */
	server_start(NULL);
	{
		char l[32];

		snprintf(l, sizeof(l), "127.0.0.1:%u", api_port(srv));
		CU_ASSERT_EQUAL(api_start(&a, l, NULL, &ops, &fk), EADDRINUSE);
	}
	server_stop();
	/* IPv6 loopback when the machine has it. */
	if (api_start(&a, "[::1]:0", NULL, &ops, &fk) == 0) {
		CU_ASSERT(api_port(a) != 0);
		api_stop(a);
	}
	/* Ops left NULL answer 501. */
	{
		static const struct api_ops none = {0};
		struct resp r;
		struct api *keep_srv;

		CU_ASSERT_EQUAL_FATAL(
			api_start(&keep_srv, ":0", NULL, &none, NULL), 0);
		srv = keep_srv;
		CU_ASSERT_EQUAL(http("GET", "/calls", NULL, NULL, &r), 0);
		CU_ASSERT_EQUAL(r.status, 501);
		CU_ASSERT_EQUAL(http("GET", "/metrics", NULL, NULL, &r), 0);
		CU_ASSERT_EQUAL(r.status, 200);
		api_stop(keep_srv);
		srv = NULL;
	}
}

static json_t *
null_json(void *arg)
{
	return NULL;
}

static int
busy_hangup(void *arg, const char *id, const char *reason)
{
	return EBUSY;
}

static int
eio(void *arg)
{
	return EIO;
}

static int
again_drain(void *arg, bool on)
{
	return EAGAIN;
}

/* An op that fails: its errno becomes the status, with a JSON body. */
static void
test_op_failures(void)
{
	static const struct api_ops bad = {
		.stats = null_json,
		.trunks = null_json,
		.hangup = busy_hangup,
		.reload = eio,
		.drain = again_drain,
	};
	struct resp r;

	CU_ASSERT_EQUAL_FATAL(api_start(&srv, "127.0.0.1:0", NULL, &bad, NULL),
			      0);
	CU_ASSERT_EQUAL(http("GET", "/stats", NULL, NULL, &r), 0);
	CU_ASSERT_EQUAL(r.status, 500);
	CU_ASSERT_STRING_EQUAL(jerr(&r), "stats unavailable");
	CU_ASSERT_EQUAL(http("GET", "/trunks", NULL, NULL, &r), 0);
	CU_ASSERT_EQUAL(r.status, 500);
	CU_ASSERT_EQUAL(http("DELETE", "/calls/x", NULL, NULL, &r), 0);
	CU_ASSERT_EQUAL(r.status, 409);
	CU_ASSERT_STRING_EQUAL(jerr(&r), strerror(EBUSY));
	CU_ASSERT_EQUAL(http("POST", "/reload", NULL, NULL, &r), 0);
	CU_ASSERT_EQUAL(r.status, 500);
	CU_ASSERT_STRING_EQUAL(jerr(&r), strerror(EIO));
	CU_ASSERT_EQUAL(http("POST", "/undrain", NULL, NULL, &r), 0);
	CU_ASSERT_EQUAL(r.status, 503);
	CU_ASSERT_EQUAL(http("GET", "/calls/x", NULL, NULL, &r), 0);
	CU_ASSERT_EQUAL(r.status, 501);
	CU_ASSERT_STRING_EQUAL(jerr(&r), "not implemented");
	api_stop(srv);
	srv = NULL;
}

/* A declared length beyond libevent's cap is refused (413) before the
   body is read; the connection is not kept waiting for it. */
static void
test_body_cap(void)
{
	static const char req[] = "DELETE /calls/a1@host HTTP/1.1\r\n"
				  "Host: x\r\nContent-Length: 10000000\r\n"
				  "Connection: close\r\n\r\n{";
	struct resp r;

	server_start(NULL);
	CU_ASSERT_EQUAL(http_raw(api_port(srv), req, sizeof(req) - 1, &r), 0);
	CU_ASSERT_EQUAL(r.status, 413);
	CU_ASSERT_EQUAL(fk.hangups, 0);
	server_stop();
}

void test_api_register(void);

void
test_api_register(void)
{
	CU_pSuite s = tu_suite("api");

	TU_ADD(s, test_get_endpoints);
	TU_ADD(s, test_actions);
	TU_ADD(s, test_errors);
	TU_ADD(s, test_auth);
	TU_ADD(s, test_metrics_endpoint);
	TU_ADD(s, test_metrics_helpers);
	TU_ADD(s, test_metrics_counterf);
	TU_ADD(s, test_concurrent);
	TU_ADD(s, test_start_args);
	TU_ADD(s, test_op_failures);
	TU_ADD(s, test_body_cap);
}
