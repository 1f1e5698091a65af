/* tandemctl: the command-line client of tandemd's management API (HTTP
   with libevent's evhttp client, JSON with jansson; see b2bua/api.h). */
#include <arpa/inet.h>
#include <errno.h>
#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <fcntl.h>
#include <getopt.h>
#include <jansson.h>
#include <libpq-fe.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "b2bua/api.h"
#include "db/db.h"

#define CTL_DEFAULT_ADDR "127.0.0.1:8080"
#define CTL_TIMEOUT_S 10
#define CTL_COLS 16

/* Exit codes: what scripts test. */
enum { CTL_OK = 0, CTL_FAIL = 1, CTL_USAGE = 2 };

struct ctl {
	const char *addr; /* as given, for messages */
	char host[64];	  /* numeric, for the connection */
	char hosthdr[80]; /* Host: header */
	uint16_t port;
	struct sockaddr_storage ss;
	socklen_t sl;
	const char *token; /* NULL: none */
	bool json;
	/* The response. */
	int status; /* 0: no response */
	char *body; /* malloc'd, NUL-terminated */
	struct event_base *base;
};

static void
usage(FILE *f)
{
	fprintf(f,
		"usage: tandemctl [-a host:port] [-t token] [--json] command\n"
		"commands:\n"
		"  calls [--trunk T] [--number N] [--state S]   live calls\n"
		"  show ID                 one call in detail\n"
		"  hangup ID [reason]      hang up both legs\n"
		"  trunks                  trunk states\n"
		"  reload                  reload the policy\n"
		"  drain | undrain         stop / resume taking new calls\n"
		"  stats                   counters\n"
		"  route-test SRC CALLED [CALLING [UNIX_TIME]]\n"
		"                          what the policy does with such a "
		"call\n"
		"  migrate DSN             apply the database migrations\n"
		"  health | ready          liveness / readiness\n"
		"-a defaults to $TANDEM_API or " CTL_DEFAULT_ADDR
		"; -t to $TANDEM_API_TOKEN.\n"
		"Exit: 0 done, 1 failed (daemon unreachable or refused), "
		"2 usage.\n");
}

static int
ctl_addr(struct ctl *c, const char *addr)
{
	c->addr = addr;
	if (api_addr_parse(addr, &c->ss, &c->sl))
		return EINVAL;
	if (c->ss.ss_family == AF_INET) {
		struct sockaddr_in *s4 = (struct sockaddr_in *)&c->ss;

		inet_ntop(AF_INET, &s4->sin_addr, c->host, sizeof(c->host));
		c->port = ntohs(s4->sin_port);
		snprintf(c->hosthdr, sizeof(c->hosthdr), "%s:%u", c->host,
			 c->port);
	} else {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&c->ss;

		inet_ntop(AF_INET6, &s6->sin6_addr, c->host, sizeof(c->host));
		c->port = ntohs(s6->sin6_port);
		snprintf(c->hosthdr, sizeof(c->hosthdr), "[%s]:%u", c->host,
			 c->port);
	}
	return c->port ? 0 : EINVAL;
}

/* Why the request got no response: connect once more, by hand, for the
   errno (evhttp does not report it). 0 when the daemon accepted. */
static int
ctl_probe(const struct ctl *c)
{
	struct pollfd p = {.events = POLLOUT};
	int err = 0;
	socklen_t el = sizeof(err);

	p.fd = socket(c->ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK, 0);
	if (p.fd < 0)
		return errno;
	if (connect(p.fd, (const struct sockaddr *)&c->ss, c->sl) < 0) {
		err = errno;
		if (err == EINPROGRESS) {
			err = poll(&p, 1, 3000) == 1 ? 0 : ETIMEDOUT;
			if (!err)
				getsockopt(p.fd, SOL_SOCKET, SO_ERROR, &err,
					   &el);
		}
	}
	close(p.fd);
	return err;
}

static void
ctl_done(struct evhttp_request *r, void *arg)
{
	struct ctl *c = arg;
	struct evbuffer *b;
	size_t len;

	if (r && evhttp_request_get_response_code(r) > 0) {
		c->status = evhttp_request_get_response_code(r);
		b = evhttp_request_get_input_buffer(r);
		len = evbuffer_get_length(b);
		c->body = malloc(len + 1);
		if (c->body) {
			evbuffer_copyout(b, c->body, len);
			c->body[len] = '\0';
		}
	}
	event_base_loopexit(c->base, NULL);
}

/* One request; afterwards c->status is 0 (no response) or the status. */
static int
ctl_request(struct ctl *c, enum evhttp_cmd_type cmd, const char *path,
	    const char *body)
{
	struct evhttp_connection *con = NULL;
	struct evhttp_request *r;
	struct evkeyvalq *oh;
	char auth[512];
	int err = ENOMEM;

	c->base = event_base_new();
	if (c->base)
		con = evhttp_connection_base_new(c->base, NULL, c->host,
						 c->port);
	if (!con)
		goto out;
	evhttp_connection_set_timeout(con, CTL_TIMEOUT_S);
	r = evhttp_request_new(ctl_done, c);
	if (!r)
		goto out;
	oh = evhttp_request_get_output_headers(r);
	evhttp_add_header(oh, "Host", c->hosthdr);
	evhttp_add_header(oh, "Connection", "close");
	if (c->token) {
		snprintf(auth, sizeof(auth), "Bearer %s", c->token);
		evhttp_add_header(oh, "Authorization", auth);
	}
	if (body) {
		char cl[24];

		/* evhttp adds Content-Length to POST and PUT only. */
		snprintf(cl, sizeof(cl), "%zu", strlen(body));
		evhttp_add_header(oh, "Content-Length", cl);
		evhttp_add_header(oh, "Content-Type", "application/json");
		evbuffer_add(evhttp_request_get_output_buffer(r), body,
			     strlen(body));
	}
	if (evhttp_make_request(con, r, cmd, path) < 0)
		goto out; /* r is freed by evhttp on failure */
	event_base_dispatch(c->base);
	err = 0;
out:
	if (con)
		evhttp_connection_free(con);
	if (c->base)
		event_base_free(c->base);
	c->base = NULL;
	return err;
}

/* Print s with control characters replaced: values come from the
   network (Call-IDs, numbers) and must not drive the terminal. */
static void
put_safe(const char *s, int width)
{
	int n = 0;

	for (; *s; s++, n++)
		putchar((unsigned char)*s < 0x20 || *s == 0x7f ? '?' : *s);
	for (; n < width; n++)
		putchar(' ');
}

/* A scalar as text (buf for numbers); "-" for null or a missing value. */
static const char *
scalar(const json_t *v, char *buf, size_t sz)
{
	if (json_is_string(v))
		return json_string_value(v);
	if (json_is_integer(v))
		snprintf(buf, sz, "%" JSON_INTEGER_FORMAT,
			 json_integer_value(v));
	else if (json_is_real(v))
		snprintf(buf, sz, "%.3g", json_real_value(v));
	else if (json_is_boolean(v))
		snprintf(buf, sz, "%s", json_is_true(v) ? "yes" : "no");
	else
		snprintf(buf, sz, "-");
	return buf;
}

/* duration (seconds) as M:SS or H:MM:SS. */
static const char *
duration(const json_t *v, char *buf, size_t sz)
{
	long long s;

	if (!json_is_number(v))
		return "-";
	s = (long long)json_number_value(v);
	if (s >= 3600)
		snprintf(buf, sz, "%lld:%02lld:%02lld", s / 3600, s / 60 % 60,
			 s % 60);
	else
		snprintf(buf, sz, "%lld:%02lld", s / 60, s % 60);
	return buf;
}

/* The text of cell (row, col): "duration" is formatted. */
static const char *
cell(const json_t *row, const char *col, char *buf, size_t sz)
{
	const json_t *v = json_object_get(row, col);

	if (strcmp(col, "duration") == 0)
		return duration(v, buf, sz);
	if (json_is_object(v) || json_is_array(v))
		return "...";
	return scalar(v, buf, sz);
}

/* An aligned table of the objects in arr, one column per name. */
static void
print_table(const json_t *arr, const char *const *cols, size_t ncols)
{
	int w[CTL_COLS];
	char buf[64];
	size_t i, k;
	const json_t *row;

	for (k = 0; k < ncols; k++)
		w[k] = (int)strlen(cols[k]);
	json_array_foreach(arr, i, row) for (k = 0; k < ncols; k++)
	{
		int n = (int)strlen(cell(row, cols[k], buf, sizeof(buf)));

		w[k] = n > w[k] ? n : w[k];
	}
	for (k = 0; k < ncols; k++) {
		for (const char *p = cols[k]; *p; p++)
			putchar(*p >= 'a' && *p <= 'z' ? *p - 32 : *p);
		printf("%*s",
		       k + 1 < ncols ? w[k] - (int)strlen(cols[k]) + 2 : 0, "");
	}
	putchar('\n');
	json_array_foreach(arr, i, row)
	{
		for (k = 0; k < ncols; k++) {
			put_safe(cell(row, cols[k], buf, sizeof(buf)),
				 k + 1 < ncols ? w[k] + 2 : 0);
		}
		putchar('\n');
	}
}

/* Columns of a list whose members the engine defines: every scalar
   member, in order of first appearance, "name" or "id" first. */
static size_t
table_cols(const json_t *arr, const char **cols)
{
	size_t n = 0, i, k;
	const char *key;
	const json_t *row, *v;

	json_array_foreach(arr, i, row)
		json_object_foreach((json_t *)row, key, v)
	{
		for (k = 0; k < n && strcmp(cols[k], key); k++)
			;
		if (k == n && n < CTL_COLS)
			cols[n++] = key;
	}
	for (k = 1; k < n; k++)
		if (!strcmp(cols[k], "name") || !strcmp(cols[k], "id")) {
			const char *t = cols[0];

			cols[0] = cols[k];
			cols[k] = t;
		}
	return n;
}

/* key value lines, nested objects flattened with dots. */
static void
print_kv_rec(const json_t *obj, const char *prefix, int width)
{
	const char *key;
	const json_t *v;
	char name[256], buf[64];

	json_object_foreach((json_t *)obj, key, v)
	{
		snprintf(name, sizeof(name), "%s%s%s", prefix,
			 *prefix ? "." : "", key);
		if (json_is_object(v)) {
			print_kv_rec(v, name, width);
		} else if (json_is_array(v)) {
			/* one element a line (put_safe would turn the
			   newlines of an indented dump into '?') */
			size_t i;

			put_safe(name, 0);
			printf(":\n");
			for (i = 0; i < json_array_size(v); i++) {
				char *s = json_dumps(json_array_get(v, i),
						     JSON_COMPACT |
							     JSON_ENCODE_ANY);

				printf("  ");
				put_safe(s ? s : "", 0);
				putchar('\n');
				free(s);
			}
		} else {
			put_safe(name, width + 2);
			put_safe(scalar(v, buf, sizeof(buf)), 0);
			putchar('\n');
		}
	}
}

static int
kv_width(const json_t *obj, size_t plen)
{
	const char *key;
	const json_t *v;
	int w = 0, n;

	json_object_foreach((json_t *)obj, key, v)
	{
		n = (int)(plen + strlen(key) + (plen ? 1 : 0));
		if (json_is_object(v))
			n = kv_width(v, (size_t)n);
		w = n > w ? n : w;
	}
	return w;
}

static void
print_kv(const json_t *obj)
{
	print_kv_rec(obj, "", kv_width(obj, 0));
}

typedef void(ctl_show_h)(const json_t *v);

static void
show_calls(const json_t *v)
{
	static const char *const cols[] = {"id", "state", "from",
					   "to", "trunk", "duration"};

	if (!json_is_array(v) || json_array_size(v) == 0) {
		printf("no calls\n");
		return;
	}
	print_table(v, cols, sizeof(cols) / sizeof(cols[0]));
}

static void
show_list(const json_t *v)
{
	const char *cols[CTL_COLS];

	if (json_is_object(v)) {
		print_kv(v);
	} else if (!json_is_array(v) || json_array_size(v) == 0) {
		printf("none\n");
	} else {
		print_table(v, cols, table_cols(v, cols));
	}
}

static const char *
str_or(const json_t *s, const char *dflt)
{
	return json_is_string(s) ? json_string_value(s) : dflt;
}

/* show ID: the call's fields, then its messages as a ladder: A>T a
   message from the A-leg's peer to Tandem, T>B one Tandem sent on the
   B-leg, and so on. */
static void
show_kv(const json_t *v)
{
	json_t *o, *lad;
	size_t i;

	if (!json_is_object(v))
		return;
	o = json_copy((json_t *)v); /* shallow: the ladder printed apart */
	lad = o ? json_object_get(o, "ladder") : NULL;
	if (lad)
		json_incref(lad);
	if (o)
		json_object_del(o, "ladder");
	print_kv(o ? o : v);
	if (json_is_array(lad) && json_array_size(lad)) {
		printf("\n%8s  %-3s  %s\n", "t(ms)", "dir", "message");
		for (i = 0; i < json_array_size(lad); i++) {
			const json_t *e = json_array_get(lad, i);
			const char *leg =
				str_or(json_object_get(e, "leg"), "?");
			bool out = !strcmp(
				str_or(json_object_get(e, "dir"), ""), "out");
			char dir[8];

			snprintf(dir, sizeof(dir), "%s>%s", out ? "T" : leg,
				 out ? leg : "T");
			printf("%8lld  %-3s  ",
			       (long long)json_integer_value(
				       json_object_get(e, "t_ms")),
			       dir);
			put_safe(str_or(json_object_get(e, "msg"), ""), 0);
			putchar('\n');
		}
	}
	json_decref(lad);
	json_decref(o);
}

/* {"result": "...", "id": ...} of the actions. */
static void
show_result(const json_t *v)
{
	const char *r = json_string_value(json_object_get(v, "result"));
	const char *id = json_string_value(json_object_get(v, "id"));

	put_safe(r ? r : "done", 0);
	if (id) {
		putchar(' ');
		put_safe(id, 0);
	}
	putchar('\n');
}

static void
show_health(const json_t *v)
{
	const char *s = json_string_value(json_object_get(v, "status"));

	printf("%s\n", s && !strcmp(s, "ok") ? "ok" : "unknown");
}

static void
show_ready(const json_t *v)
{
	printf("ready\n");
}

/* route-test: the verdict, then the targets in order. */
static void
show_route(const json_t *v)
{
	const json_t *t;
	size_t i;

	printf("%-15s %s\n", "source trunk",
	       str_or(json_object_get(v, "source_trunk"), "(none)"));
	printf("%-15s %s\n", "called",
	       str_or(json_object_get(v, "called"), ""));
	printf("%-15s %s\n", "calling",
	       str_or(json_object_get(v, "calling"), ""));
	if (json_integer_value(json_object_get(v, "status"))) {
		printf("%-15s %lld %s\n", "verdict",
		       (long long)json_integer_value(
			       json_object_get(v, "status")),
		       str_or(json_object_get(v, "reason"), ""));
		return;
	}
	printf("%-15s %lld\n", "route id",
	       (long long)json_integer_value(json_object_get(v, "route_id")));
	json_array_foreach(json_object_get(v, "targets"), i, t)
	{
		long long port = json_integer_value(json_object_get(t, "port"));
		char hp[160];

		if (port)
			snprintf(hp, sizeof(hp), "%s:%lld",
				 str_or(json_object_get(t, "host"), "?"), port);
		else /* a domain located by SRV */
			snprintf(hp, sizeof(hp), "%s (SRV)",
				 str_or(json_object_get(t, "host"), "?"));
		printf("target %-8zu %-12s %s/%s called %s calling %s\n", i + 1,
		       str_or(json_object_get(t, "trunk"), "?"), hp,
		       str_or(json_object_get(t, "transport"), "?"),
		       json_string_value(json_object_get(t, "called")),
		       json_string_value(json_object_get(t, "calling")));
	}
}

struct ctl_cmd {
	const char *name;
	enum evhttp_cmd_type method;
	const char *path;     /* the id, URI-encoded, follows when nargs */
	int minargs, maxargs; /* -1: any */
	ctl_show_h *show;
};

static const struct ctl_cmd cmds[] = {
	{"calls", EVHTTP_REQ_GET, "/calls", 0, 0, show_calls},
	{"show", EVHTTP_REQ_GET, "/calls/", 1, 1, show_kv},
	{"hangup", EVHTTP_REQ_DELETE, "/calls/", 1, -1, show_result},
	{"trunks", EVHTTP_REQ_GET, "/trunks", 0, 0, show_list},
	{"reload", EVHTTP_REQ_POST, "/reload", 0, 0, show_result},
	{"drain", EVHTTP_REQ_POST, "/drain", 0, 0, show_result},
	{"undrain", EVHTTP_REQ_POST, "/undrain", 0, 0, show_result},
	{"stats", EVHTTP_REQ_GET, "/stats", 0, 0, show_kv},
	{"route-test", EVHTTP_REQ_GET, "/route", 2, 4, show_route},
	{"health", EVHTTP_REQ_GET, "/health", 0, 0, show_health},
	{"ready", EVHTTP_REQ_GET, "/ready", 0, 0, show_ready},
};

/* "?trunk=..&number=..&state=.." from the options after "calls". */
static int
calls_query(int argc, char **argv, char *q, size_t qsz)
{
	static const struct option lo[] = {
		{"trunk", required_argument, NULL, 'T'},
		{"number", required_argument, NULL, 'n'},
		{"state", required_argument, NULL, 's'},
		{NULL, 0, NULL, 0},
	};
	int o;

	q[0] = '\0';
	optind = 0; /* GNU getopt: start over on the new argv */
	while ((o = getopt_long(argc, argv, "T:n:s:", lo, NULL)) != -1) {
		const char *k = o == 'T'   ? "trunk"
				: o == 'n' ? "number"
					   : "state";
		char *e;

		if (o == '?')
			return EINVAL;
		e = evhttp_encode_uri(optarg);
		if (!e)
			return ENOMEM;
		snprintf(q + strlen(q), qsz - strlen(q), "%c%s=%s",
			 q[0] ? '&' : '?', k, e);
		free(e);
	}
	return optind == argc ? 0 : EINVAL;
}

/* The request path and body of cmd with its arguments. */
static int
build_request(const struct ctl_cmd *cmd, int argc, char **argv, char *path,
	      size_t psz, char **bodyp)
{
	char q[512], reason[API_REASON_MAX + 1] = "";
	char *e;

	*bodyp = NULL;
	if (!strcmp(cmd->name, "route-test")) {
		static const char *const k[] = {"src", "called", "calling",
						"at"};
		size_t o = 0;

		if (argc - 1 < cmd->minargs || argc - 1 > cmd->maxargs)
			return EINVAL;
		o = (size_t)snprintf(path, psz, "%s", cmd->path);
		for (int i = 1; i < argc && o < psz; i++) {
			e = evhttp_encode_uri(argv[i]);
			if (!e)
				return ENOMEM;
			o += (size_t)snprintf(path + o, psz - o, "%c%s=%s",
					      i == 1 ? '?' : '&', k[i - 1], e);
			free(e);
		}
		return o < psz ? 0 : EINVAL;
	}
	if (!strcmp(cmd->name, "calls")) {
		if (calls_query(argc, argv, q, sizeof(q)))
			return EINVAL;
		snprintf(path, psz, "%s%s", cmd->path, q);
		return 0;
	}
	if (argc - 1 < cmd->minargs ||
	    (cmd->maxargs >= 0 && argc - 1 > cmd->maxargs))
		return EINVAL;
	if (cmd->minargs == 0) {
		snprintf(path, psz, "%s", cmd->path);
		return 0;
	}
	e = evhttp_encode_uri(argv[1]);
	if (!e || !argv[1][0])
		goto bad;
	snprintf(path, psz, "%s%s", cmd->path, e);
	free(e);
	for (int i = 2; i < argc; i++) {
		size_t n = strlen(reason);

		if ((size_t)snprintf(reason + n, sizeof(reason) - n, "%s%s",
				     i > 2 ? " " : "",
				     argv[i]) >= sizeof(reason) - n) {
			fprintf(stderr,
				"tandemctl: reason longer than %d "
				"bytes\n",
				API_REASON_MAX);
			return EINVAL;
		}
	}
	if (reason[0]) {
		json_t *b = json_pack("{s:s}", "reason", reason);

		*bodyp = b ? json_dumps(b, JSON_COMPACT) : NULL;
		json_decref(b);
		if (!*bodyp)
			return ENOMEM;
	}
	return 0;
bad:
	free(e);
	return EINVAL;
}

/* Report a response that is not 2xx; returns the exit code. */
static int
report_refusal(const struct ctl *c, const struct ctl_cmd *cmd, const json_t *v)
{
	const char *e = json_string_value(json_object_get(v, "error"));

	if (!strcmp(cmd->name, "ready") && c->status == 503) {
		if (!c->json) {
			printf("not ready: ");
			put_safe(e ? e : "unknown", 0);
			putchar('\n');
		}
		return CTL_FAIL;
	}
	fprintf(stderr, "tandemctl: %s: %s (HTTP %d)\n", cmd->name,
		e ? e : "unexpected answer", c->status);
	return CTL_FAIL;
}

/* Run cmd against the daemon; returns the exit code. */
static int
ctl_run(struct ctl *c, const struct ctl_cmd *cmd, const char *path,
	const char *body)
{
	json_t *v;
	int err, rc;

	if (ctl_request(c, cmd->method, path, body)) {
		fprintf(stderr, "tandemctl: out of memory\n");
		return CTL_FAIL;
	}
	if (c->status == 0) {
		err = ctl_probe(c);
		fprintf(stderr, "tandemctl: cannot reach %s: %s\n", c->addr,
			err ? strerror(err) : "no answer");
		return CTL_FAIL;
	}
	if (c->json && c->body)
		fputs(c->body, stdout);
	v = c->body ? json_loads(c->body, JSON_DECODE_ANY, NULL) : NULL;
	if (c->status < 200 || c->status > 299)
		rc = report_refusal(c, cmd, v);
	else if (!v)
		rc = (fprintf(stderr, "tandemctl: %s: answer is not JSON\n",
			      cmd->name),
		      CTL_FAIL);
	else
		rc = c->json ? CTL_OK : (cmd->show(v), CTL_OK);
	json_decref(v);
	return rc;
}

/* migrate DSN: the database migrations, directly (not through the
   daemon: a fresh database has no tandemd yet). */
static int
ctl_migrate(const char *dsn, bool json)
{
	char err[512] = "";
	int applied = 0, e;
	PGconn *pg = PQconnectdb(dsn);

	if (PQstatus(pg) != CONNECTION_OK) {
		fprintf(stderr, "tandemctl: database: %s", PQerrorMessage(pg));
		PQfinish(pg);
		return CTL_FAIL;
	}
	e = db_migrate(pg, &applied, err, sizeof(err));
	PQfinish(pg);
	if (e) {
		fprintf(stderr, "tandemctl: migrate: %s\n", err);
		return CTL_FAIL;
	}
	if (json)
		printf("{\"applied\": %d, \"schema_version\": %d}\n", applied,
		       db_schema_version());
	else
		printf("applied %d migration%s; schema version %d\n", applied,
		       applied == 1 ? "" : "s", db_schema_version());
	return CTL_OK;
}

static const struct ctl_cmd *
find_cmd(const char *name)
{
	for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++)
		if (!strcmp(cmds[i].name, name))
			return &cmds[i];
	return NULL;
}

int
main(int argc, char **argv)
{
	static const struct option lo[] = {
		{"addr", required_argument, NULL, 'a'},
		{"token", required_argument, NULL, 't'},
		{"json", no_argument, NULL, 'j'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	struct ctl c = {.token = getenv("TANDEM_API_TOKEN")};
	const char *addr = getenv("TANDEM_API");
	const struct ctl_cmd *cmd;
	char path[1024], *body = NULL;
	int o, rc;

	while ((o = getopt_long(argc, argv, "+a:t:jh", lo, NULL)) != -1) {
		if (o == 'a')
			addr = optarg;
		else if (o == 't')
			c.token = optarg;
		else if (o == 'j')
			c.json = true;
		else if (o == 'h')
			return usage(stdout), CTL_OK;
		else
			return usage(stderr), CTL_USAGE;
	}
	if (c.token && !*c.token)
		c.token = NULL;
	if (ctl_addr(&c, addr && *addr ? addr : CTL_DEFAULT_ADDR)) {
		fprintf(stderr,
			"tandemctl: bad address %s (want a numeric "
			"host:port or [v6]:port)\n",
			c.addr);
		return CTL_USAGE;
	}
	if (optind < argc && !strcmp(argv[optind], "migrate")) {
		if (argc - optind != 2)
			return usage(stderr), CTL_USAGE;
		return ctl_migrate(argv[optind + 1], c.json);
	}
	if (optind >= argc || !(cmd = find_cmd(argv[optind]))) {
		if (optind < argc)
			fprintf(stderr, "tandemctl: unknown command %s\n",
				argv[optind]);
		usage(stderr);
		return CTL_USAGE;
	}
	if (build_request(cmd, argc - optind, argv + optind, path, sizeof(path),
			  &body)) {
		usage(stderr);
		return CTL_USAGE;
	}
	rc = ctl_run(&c, cmd, path, body);
	free(body);
	free(c.body);
	return rc;
}
