/* Management API: the routing table, the handlers and JSON replies (HTTP
   status semantics of RFC 9110 §15: 401, 404, 405 with Allow, 413). */
#include <errno.h>
#include <event2/buffer.h>
#include <event2/http.h>
#include <sys/queue.h>
#include <event2/keyvalq_struct.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define LOG_MODULE "api"
#include "b2bua/api.h"
#include "b2bua/api_int.h"
#include "stack/log.h"

#define API_ID_MAX 256

/* One request being answered (on the API thread's stack). */
struct api_req {
	struct api *a;
	struct evhttp_request *r;
	const char *id; /* decoded {id} of /calls/{id}, else NULL */
};

typedef void(api_handler_h)(struct api_req *q);

struct api_route {
	const char *path;
	bool id;      /* path is followed by "/{id}" */
	unsigned cmd; /* enum evhttp_cmd_type; GET also serves HEAD */
	api_handler_h *h;
	bool open; /* no token needed */
};

static const char *
reason_phrase(int code)
{
	switch (code) {
	case 200:
		return "OK";
	case 400:
		return "Bad Request";
	case 401:
		return "Unauthorized";
	case 404:
		return "Not Found";
	case 405:
		return "Method Not Allowed";
	case 409:
		return "Conflict";
	case 413:
		return "Content Too Large";
	case 501:
		return "Not Implemented";
	case 503:
		return "Service Unavailable";
	default:
		return "Internal Server Error";
	}
}

static const char *
method_name(enum evhttp_cmd_type cmd)
{
	switch (cmd) {
	case EVHTTP_REQ_GET:
		return "GET";
	case EVHTTP_REQ_HEAD:
		return "HEAD";
	case EVHTTP_REQ_POST:
		return "POST";
	case EVHTTP_REQ_DELETE:
		return "DELETE";
	case EVHTTP_REQ_PUT:
		return "PUT";
	default:
		return "other";
	}
}

/* Send len bytes of body (plus a newline if nl) with its type. */
static void
reply_raw(struct api_req *q, int code, const char *type, const char *body,
	  size_t len, bool nl)
{
	struct evbuffer *b = evbuffer_new();
	struct evkeyvalq *oh = evhttp_request_get_output_headers(q->r);

	evhttp_add_header(oh, "Content-Type", type);
	evhttp_add_header(oh, "Cache-Control", "no-store");
	/* libevent 2.1 would send a body to HEAD: leave it out here. */
	if (b && evhttp_request_get_command(q->r) != EVHTTP_REQ_HEAD) {
		evbuffer_add(b, body, len);
		if (nl)
			evbuffer_add(b, "\n", 1);
	}
	q->a->nreq[code < 400	? API_C_2XX
		   : code < 500 ? API_C_4XX
				: API_C_5XX]++;
	LOG_DBG("%s %s -> %d", method_name(evhttp_request_get_command(q->r)),
		evhttp_request_get_uri(q->r), code);
	evhttp_send_reply(q->r, code, reason_phrase(code), b);
	if (b)
		evbuffer_free(b);
}

/* Reply with a JSON value (one line); takes the reference of v. */
static void
reply_json(struct api_req *q, int code, json_t *v)
{
	char *s = v ? json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY) : NULL;
	static const char oom[] = "{\"error\":\"out of memory\"}";

	json_decref(v);
	if (s)
		reply_raw(q, code, "application/json", s, strlen(s), true);
	else
		reply_raw(q, 500, "application/json", oom, sizeof(oom) - 1,
			  true);
	free(s);
}

static void
reply_error(struct api_req *q, int code, const char *msg)
{
	reply_json(q, code, json_pack("{s:s}", "error", msg));
}

/* Map an op's errno onto a status and reply with {"error": ...}. */
static void
reply_errno(struct api_req *q, int err)
{
	int code = err == ENOENT		     ? 404
		   : err == EBUSY || err == EALREADY ? 409
		   : err == EAGAIN		     ? 503
						     : 500;

	if (code >= 500)
		LOG_WARN("%s: %s", evhttp_request_get_uri(q->r), strerror(err));
	reply_error(q, code,
		    code == 404 && q->id ? "no such call" : strerror(err));
}

static void
reply_result(struct api_req *q, const char *result)
{
	json_t *v = json_pack("{s:s}", "result", result);

	if (v && q->id)
		json_object_set_new(v, "id", json_string(q->id));
	reply_json(q, 200, v);
}

int
api_body_parse(const char *buf, size_t len, json_t **vp, char *msg,
	       size_t msgsz)
{
	json_error_t je;
	json_t *v;

	*vp = NULL;
	if (len == 0)
		return 0;
	if (len > API_BODY_MAX) {
		snprintf(msg, msgsz, "request body too large");
		return 413;
	}
	v = json_loadb(buf, len, JSON_REJECT_DUPLICATES, &je);
	if (!v || !json_is_object(v)) {
		snprintf(msg, msgsz, "malformed JSON body: %s",
			 v ? "not an object" : je.text);
		json_decref(v);
		return 400;
	}
	*vp = v;
	return 0;
}

/* Printable ASCII without '"' and '\\' (it goes into a Reason header). */
bool
api_reason_ok(const char *s)
{
	if (strlen(s) > API_REASON_MAX)
		return false;
	for (; *s; s++)
		if (*s < 0x20 || *s > 0x7e || *s == '"' || *s == '\\')
			return false;
	return true;
}

int
api_hangup_reason(const json_t *body, const char **reason, const char **msg)
{
	const json_t *jr = body ? json_object_get(body, "reason") : NULL;

	*reason = NULL;
	if (jr && !json_is_string(jr)) {
		*msg = "reason must be a string";
		return 400;
	}
	*reason = jr ? json_string_value(jr) : NULL;
	if (*reason && !api_reason_ok(*reason)) {
		*reason = NULL;
		*msg = "reason must be printable ASCII without quotes or "
		       "backslashes, at most 128 bytes";
		return 400;
	}
	return 0;
}

/* The JSON object of the body, NULL when empty; replies and returns an
   errno when too long (413) or not a JSON object (400). */
static int
read_body(struct api_req *q, json_t **vp)
{
	struct evbuffer *b = evhttp_request_get_input_buffer(q->r);
	size_t len = evbuffer_get_length(b);
	char msg[200];
	int code =
		api_body_parse(len ? (const char *)evbuffer_pullup(b, -1) : "",
			       len, vp, msg, sizeof(msg));

	if (!code)
		return 0;
	reply_error(q, code, msg);
	return code == 413 ? EMSGSIZE : EBADMSG;
}

/* Reply with the value an op built; NULL means code/msg. */
static void
reply_op(struct api_req *q, json_t *v, int code, const char *msg)
{
	if (!v)
		reply_error(q, code, msg);
	else
		reply_json(q, 200, v);
}

#define OP_OR_501(q, op)                                                       \
	do {                                                                   \
		if (!(q)->a->ops->op) {                                        \
			reply_error((q), 501, "not implemented");              \
			return;                                                \
		}                                                              \
	} while (0)

static void
h_stats(struct api_req *q)
{
	OP_OR_501(q, stats);
	reply_op(q, q->a->ops->stats(q->a->arg), 500, "stats unavailable");
}

static void
h_trunks(struct api_req *q)
{
	OP_OR_501(q, trunks);
	reply_op(q, q->a->ops->trunks(q->a->arg), 500, "trunks unavailable");
}

static void
h_call(struct api_req *q)
{
	OP_OR_501(q, call);
	reply_op(q, q->a->ops->call(q->a->arg, q->id), 404, "no such call");
}

/* GET /calls?trunk=&number=&state=; any other key is a 400. */
static void
h_calls(struct api_req *q)
{
	const char *qs =
		evhttp_uri_get_query(evhttp_request_get_evhttp_uri(q->r));
	struct api_call_filter f = {0};
	struct evkeyvalq kv;
	struct evkeyval *e;
	char msg[96];

	OP_OR_501(q, calls);
	TAILQ_INIT(&kv);
	if (qs && evhttp_parse_query_str(qs, &kv) < 0) {
		reply_error(q, 400, "malformed query");
		goto out;
	}
	TAILQ_FOREACH(e, &kv, next)
	{
		if (strcmp(e->key, "trunk") == 0) {
			f.trunk = e->value;
		} else if (strcmp(e->key, "number") == 0) {
			f.number = e->value;
		} else if (strcmp(e->key, "state") == 0) {
			f.state = e->value;
		} else {
			snprintf(msg, sizeof(msg), "unknown filter: %.40s",
				 e->key);
			reply_error(q, 400, msg);
			goto out;
		}
	}
	reply_op(q, q->a->ops->calls(q->a->arg, &f), 500, "calls unavailable");
out:
	evhttp_clear_headers(&kv);
}

/* GET /route?src=&called=&calling=&at=: the policy dry-run. */
static void
h_route(struct api_req *q)
{
	const char *qs =
		evhttp_uri_get_query(evhttp_request_get_evhttp_uri(q->r));
	const char *src = NULL, *called = NULL, *calling = "", *why = NULL;
	struct evkeyvalq kv;
	struct evkeyval *e;
	long long at = 0;
	char msg[96];
	json_t *v;

	OP_OR_501(q, route);
	TAILQ_INIT(&kv);
	if (qs && evhttp_parse_query_str(qs, &kv) < 0) {
		reply_error(q, 400, "malformed query");
		goto out;
	}
	TAILQ_FOREACH(e, &kv, next)
	{
		char *end;

		if (!strcmp(e->key, "src")) {
			src = e->value;
		} else if (!strcmp(e->key, "called")) {
			called = e->value;
		} else if (!strcmp(e->key, "calling")) {
			calling = e->value;
		} else if (!strcmp(e->key, "at")) {
			at = strtoll(e->value, &end, 10);
			if (!e->value[0] || *end || at < 0) {
				reply_error(q, 400, "at must be a UNIX time");
				goto out;
			}
		} else {
			snprintf(msg, sizeof(msg), "unknown parameter: %.40s",
				 e->key);
			reply_error(q, 400, msg);
			goto out;
		}
	}
	if (!src || !called) {
		reply_error(q, 400, "src and called are required");
		goto out;
	}
	v = q->a->ops->route(q->a->arg, src, called, calling, (int64_t)at,
			     &why);
	if (v)
		reply_op(q, v, 500, "route unavailable");
	else
		reply_error(q, why ? 400 : 503, why ? why : "no policy");
out:
	evhttp_clear_headers(&kv);
}

/* DELETE /calls/{id} with an optional body {"reason": "..."}. */
static void
h_hangup(struct api_req *q)
{
	json_t *body;
	const char *reason = NULL, *msg = NULL;
	int err;

	OP_OR_501(q, hangup);
	if (read_body(q, &body))
		return;
	if (api_hangup_reason(body, &reason, &msg)) {
		reply_error(q, 400, msg);
		goto out;
	}
	err = q->a->ops->hangup(q->a->arg, q->id, reason);
	if (err)
		reply_errno(q, err);
	else
		reply_result(q, "hanging up");
out:
	json_decref(body);
}

/* POST bodies are optional; when present they must be a JSON object. */
static bool
post_body_ok(struct api_req *q)
{
	json_t *body;

	if (read_body(q, &body))
		return false;
	json_decref(body);
	return true;
}

static void
h_reload(struct api_req *q)
{
	int err;

	OP_OR_501(q, reload);
	if (!post_body_ok(q))
		return;
	err = q->a->ops->reload(q->a->arg);
	if (err)
		reply_errno(q, err);
	else
		reply_result(q, "reloaded");
}

static void
drain_set(struct api_req *q, bool on)
{
	int err;

	OP_OR_501(q, drain);
	if (!post_body_ok(q))
		return;
	err = q->a->ops->drain(q->a->arg, on);
	if (err)
		reply_errno(q, err);
	else
		reply_result(q, on ? "draining" : "serving");
}

static void
h_drain(struct api_req *q)
{
	drain_set(q, true);
}

static void
h_undrain(struct api_req *q)
{
	drain_set(q, false);
}

static void
h_health(struct api_req *q)
{
	reply_json(q, 200, json_pack("{s:s}", "status", "ok"));
}

static void
h_ready(struct api_req *q)
{
	const char *why = NULL;

	OP_OR_501(q, ready);
	if (q->a->ops->ready(q->a->arg, &why))
		reply_json(q, 200, json_pack("{s:b}", "ready", 1));
	else
		reply_json(q, 503,
			   json_pack("{s:b,s:s}", "ready", 0, "error",
				     why ? why : "not ready"));
}

/* The daemon's samples, then the API's own. */
static void
h_metrics(struct api_req *q)
{
	static const char *const cls[API_C_COUNT] = {"2xx", "4xx", "5xx"};
	struct api_metrics *m;
	const char *text;
	size_t len;

	if (api_metrics_alloc(&m)) {
		reply_error(q, 500, "out of memory");
		return;
	}
	if (q->a->ops->metrics)
		q->a->ops->metrics(q->a->arg, m);
	for (int i = 0; i < API_C_COUNT; i++)
		api_metric_counter(m, "tandem_api_responses_total",
				   "Management API responses by status class",
				   (const char *[]){"class", cls[i], NULL},
				   q->a->nreq[i]);
	text = api_metrics_text(m, &len);
	if (text)
		reply_raw(q, 200, "text/plain; version=0.0.4; charset=utf-8",
			  text, len, false);
	else
		reply_error(q, 500, "out of memory");
	api_metrics_free(m);
}

static const struct api_route routes[] = {
	{"/calls", false, EVHTTP_REQ_GET, h_calls, false},
	{"/calls", true, EVHTTP_REQ_GET, h_call, false},
	{"/calls", true, EVHTTP_REQ_DELETE, h_hangup, false},
	{"/trunks", false, EVHTTP_REQ_GET, h_trunks, false},
	{"/route", false, EVHTTP_REQ_GET, h_route, false},
	{"/reload", false, EVHTTP_REQ_POST, h_reload, false},
	{"/drain", false, EVHTTP_REQ_POST, h_drain, false},
	{"/undrain", false, EVHTTP_REQ_POST, h_undrain, false},
	{"/health", false, EVHTTP_REQ_GET, h_health, true},
	{"/ready", false, EVHTTP_REQ_GET, h_ready, false},
	{"/stats", false, EVHTTP_REQ_GET, h_stats, false},
	{"/metrics", false, EVHTTP_REQ_GET, h_metrics, false},
};

/* Split path into its route part and the decoded id of "/calls/{id}"
   (*idp malloc'd, NULL when absent); false for an unusable id. */
static bool
split_path(const char *path, char *base, size_t bsz, char **idp)
{
	const char *slash = path[0] == '/' ? strchr(path + 1, '/') : NULL;
	size_t n = slash ? (size_t)(slash - path) : strlen(path);
	size_t len;
	char *id;

	*idp = NULL;
	if (n >= bsz)
		return false;
	memcpy(base, path, n);
	base[n] = '\0';
	if (!slash)
		return true;
	if (!slash[1] || strchr(slash + 1, '/') ||
	    strlen(slash + 1) > 3 * API_ID_MAX)
		return false;
	id = evhttp_uridecode(slash + 1, 0, &len);
	if (!id || len != strlen(id) || len > API_ID_MAX) {
		free(id);
		return false;
	}
	*idp = id;
	return true;
}

/* Allow: the methods of every route on this path. */
static void
reply_405(struct api_req *q, const char *base, bool id)
{
	char allow[64] = "";

	for (size_t i = 0; i < sizeof(routes) / sizeof(routes[0]); i++) {
		const struct api_route *rt = &routes[i];
		const char *m = rt->cmd == EVHTTP_REQ_GET    ? "GET, HEAD"
				: rt->cmd == EVHTTP_REQ_POST ? "POST"
							     : "DELETE";

		if (strcmp(rt->path, base) != 0 || rt->id != id)
			continue;
		snprintf(allow + strlen(allow), sizeof(allow) - strlen(allow),
			 "%s%s", allow[0] ? ", " : "", m);
	}
	evhttp_add_header(evhttp_request_get_output_headers(q->r), "Allow",
			  allow);
	reply_error(q, 405, "method not allowed");
}

static void
reply_401(struct api_req *q, int why)
{
	evhttp_add_header(evhttp_request_get_output_headers(q->r),
			  "WWW-Authenticate",
			  why == ENOENT ? "Bearer realm=\"tandem\""
					: "Bearer realm=\"tandem\", "
					  "error=\"invalid_token\"");
	reply_error(q, 401,
		    why == ENOENT ? "missing bearer token"
				  : "invalid bearer token");
}

/* Order: find the route, check the token (unless the route is open),
   then 404 for an unknown path, 405 for a known path's other method. */
void
api_route(struct evhttp_request *r, void *arg)
{
	struct api_req q = {.a = arg, .r = r};
	enum evhttp_cmd_type cmd = evhttp_request_get_command(r);
	const char *path =
		evhttp_uri_get_path(evhttp_request_get_evhttp_uri(r));
	const struct api_route *hit = NULL;
	bool known = false, ok;
	char base[32], *id;
	int auth;

	ok = path && split_path(path, base, sizeof(base), &id);
	for (size_t i = 0; ok && i < sizeof(routes) / sizeof(routes[0]); i++) {
		const struct api_route *rt = &routes[i];

		if (strcmp(rt->path, base) != 0 || rt->id != (id != NULL))
			continue;
		known = true;
		if (rt->cmd == cmd ||
		    (rt->cmd == EVHTTP_REQ_GET && cmd == EVHTTP_REQ_HEAD))
			hit = rt;
	}
	auth = hit && hit->open ? 0 : api_auth_check(q.a, r);
	q.id = ok ? id : NULL;
	if (auth)
		reply_401(&q, auth);
	else if (!known)
		reply_error(&q, 404, "not found");
	else if (!hit)
		reply_405(&q, base, id != NULL);
	else
		hit->h(&q);
	if (ok)
		free(id);
}
