/* Management API internals shared by api.c (server, thread, auth) and
   api_route.c (routing table and handlers). */
#ifndef TANDEM_API_INT_H
#define TANDEM_API_INT_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "b2bua/api.h"

struct evhttp_request;

/* Responses counted by class for tandem_api_requests_total. */
enum api_class { API_C_2XX, API_C_4XX, API_C_5XX, API_C_COUNT };

struct api {
	struct event_base *base; /* owned; run by th only */
	struct evhttp *http;	 /* owned */
	struct event *stop_ev;	 /* owned: reads stop_fd[0] */
	int stop_fd[2];		 /* api_stop() writes [1] */
	pthread_t th;
	uint16_t port;
	bool auth;
	unsigned char token_md[32]; /* SHA-256 of the token */
	const struct api_ops *ops;  /* borrowed until api_stop() */
	void *arg;		    /* borrowed: the ops' argument */
	uint64_t nreq[API_C_COUNT]; /* API thread only */
};

/* The evhttp generic callback: every request goes through it. */
void api_route(struct evhttp_request *r, void *arg);
/* 0 when authorised (or no token is set); ENOENT no header, EACCES wrong
   scheme or token. */
int api_auth_check(const struct api *a, struct evhttp_request *r);

/* Request bodies (api_route.c; fuzz_api feeds them arbitrary bytes).
   api_body_parse: *vp NULL for an empty body, else the JSON object it
   holds (the caller's reference); or 413 (over API_BODY_MAX) / 400 (not
   a JSON object, duplicate keys) with a message. api_hangup_reason: the
   optional "reason" of a DELETE /calls/{id} body, borrowed from body,
   or 400 with *msg. */
typedef struct json_t json_t;
int api_body_parse(const char *buf, size_t len, json_t **vp, char *msg,
		   size_t msgsz);
int api_hangup_reason(const json_t *body, const char **reason,
		      const char **msg);
/* Printable ASCII without '"' or '\\', at most API_REASON_MAX bytes. */
bool api_reason_ok(const char *s);

#endif
