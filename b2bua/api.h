/* Management API: a small HTTP/1.1 JSON server (libevent evhttp, jansson)
   on its own thread, answering from an operations table the daemon fills;
   /metrics in the Prometheus text exposition format 0.0.4. */
#ifndef TANDEM_API_H
#define TANDEM_API_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

struct api;
struct api_metrics;

/* Largest request body accepted (DELETE /calls/{id} {"reason": ...});
   a longer one gets 413. */
#define API_BODY_MAX 4096
/* Longest hang-up reason (it becomes the text of a Reason header). */
#define API_REASON_MAX 128

/* GET /calls?trunk=&number=&state=: each member is NULL when absent, else
   a NUL-terminated, URI-decoded value (borrowed: valid during the call). */
struct api_call_filter {
	const char *trunk;
	const char *number; /* match on calling or called number */
	const char *state;
};

/*
 * What the daemon answers with. Every op is called on the API thread, one
 * request at a time, so each must be thread-safe with respect to the
 * engine: answer from atomics or a published snapshot, or post to the
 * workers and wait for the answer (keep it short: the API serves one
 * request at a time). Ops that build JSON return a new reference (the API
 * takes it and decrefs it); int ops return 0 or a positive errno, mapped
 * to HTTP as: ENOENT 404, EBUSY/EALREADY 409, EAGAIN 503, anything else
 * 500. A NULL op answers 501 "not implemented".
 */
struct api_ops {
	/* GET /stats: an object of counters/gauges; NULL -> 500. */
	json_t *(*stats)(void *arg);
	/* GET /calls: an array of call summaries matching f (each an object;
	   tandemctl shows id, state, from, to, trunk, duration); NULL -> 500.
	 */
	json_t *(*calls)(void *arg, const struct api_call_filter *f);
	/* GET /calls/{id}: the call in detail, or NULL -> 404. */
	json_t *(*call)(void *arg, const char *id);
	/* DELETE /calls/{id}: hang up both legs; reason is NULL or a checked
	   string (printable, no '"' or '\\', <= API_REASON_MAX bytes). */
	int (*hangup)(void *arg, const char *id, const char *reason);
	/* GET /trunks: an array (or object) of trunk states; NULL -> 500. */
	json_t *(*trunks)(void *arg);
	/* POST /reload: reload policy (the op decides whether it waits). */
	int (*reload)(void *arg);
	/* POST /drain (on) and POST /undrain (off). */
	int (*drain)(void *arg, bool on);
	/* GET /ready: false -> 503; *why (optional, a static string such as
	   "draining" or "no policy") goes into the body. */
	bool (*ready)(void *arg, const char **why);
	/* GET /route?src=IP[:PORT]&called=N[&calling=N][&at=UNIX]: the
	   policy's verdict for such a call (route_test_json), or NULL with
	   *why set (a bad argument: 400). */
	json_t *(*route)(void *arg, const char *src, const char *called,
			 const char *calling, int64_t at, const char **why);
	/* GET /metrics: append samples with api_metric_counter/gauge(). */
	void (*metrics)(void *arg, struct api_metrics *m);
};

/*
 * Start the API: bind listen ("127.0.0.1:8080", "[::1]:8080", or ":8080"
 * / "8080" for 127.0.0.1; numeric addresses only, port 0 picks a free
 * one), start a thread with its own event_base and serve until
 * api_stop(). token NULL or "" means no authentication; otherwise every
 * request except GET /health needs "Authorization: Bearer <token>"
 * (compared in constant time). ops and arg are borrowed until api_stop();
 * token is copied. Returns 0, EINVAL (bad listen or ops), EADDRINUSE or
 * another errno of bind(), ENOMEM.
 */
int api_start(struct api **ap, const char *listen, const char *token,
	      const struct api_ops *ops, void *arg);
/*
 * Parse a listen or connect address: "host:port", "[v6]:port", ":port" or
 * "port" (host 127.0.0.1); host must be a numeric IPv4 or IPv6 address.
 * Returns 0 or EINVAL. Shared with tandemctl so both read -a the same.
 */
int api_addr_parse(const char *s, struct sockaddr_storage *ss, socklen_t *sl);
/* The bound port (useful after port 0). */
uint16_t api_port(const struct api *a);
/* Stop serving (open connections are closed), join the thread, free a.
   No op is called after it returns. NULL is accepted. Not from an op. */
void api_stop(struct api *a);

/*
 * Metrics. Append one sample to the exposition: the HELP and TYPE lines
 * are written once per name, before its first sample, and samples of one
 * name are kept together whatever the order of the calls. labels is NULL
 * or a NULL-terminated list of name, value pairs, e.g.
 * (const char *[]){"trunk", "pbx", "class", "2xx", NULL}; values are
 * escaped (\\, \", \n). Counter names should end in _total. Returns 0,
 * EINVAL (bad metric or label name, odd label list, a name reused with
 * the other type; the sample is dropped) or ENOMEM.
 */
int api_metric_counter(struct api_metrics *m, const char *name,
		       const char *help, const char *const *labels,
		       uint64_t value);
int api_metric_gauge(struct api_metrics *m, const char *name, const char *help,
		     const char *const *labels, double value);
/* A counter with a fractional value (seconds): same rules as
   api_metric_counter(). */
int api_metric_counterf(struct api_metrics *m, const char *name,
			const char *help, const char *const *labels,
			double value);

/* For tests and the server: a metrics buffer outside a request. */
int api_metrics_alloc(struct api_metrics **mp);
/* The exposition so far as one NUL-terminated string (valid until the
   next call on m or its free). NULL on ENOMEM. */
const char *api_metrics_text(struct api_metrics *m, size_t *lenp);
void api_metrics_free(struct api_metrics *m);

#endif
