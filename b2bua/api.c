/* Management API server: evhttp on its own thread and event_base, bearer
   token (RFC 6750 §2.1, §3), JSON bodies, one routing table. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <netinet/in.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#define LOG_MODULE "api"
#include "b2bua/api.h"
#include "b2bua/api_int.h"
#include "stack/log.h"
#include "stack/mem.h"

/* evhttp's own cap on a body: beyond it libevent answers 413 itself
   (with its HTML body) before reading; between API_BODY_MAX and this we
   answer 413 with JSON. */
#define API_HTTP_BODY_CAP (4 * API_BODY_MAX)
#define API_HEADERS_MAX 8192
#define API_TIMEOUT_S 10

static void
api_destroy(void *obj)
{
	struct api *a = obj;

	if (a->http)
		evhttp_free(a->http);
	if (a->stop_ev)
		event_free(a->stop_ev);
	if (a->base)
		event_base_free(a->base);
	for (int i = 0; i < 2; i++)
		if (a->stop_fd[i] >= 0)
			close(a->stop_fd[i]);
}

int
api_addr_parse(const char *s, struct sockaddr_storage *ss, socklen_t *sl)
{
	char host[64] = "127.0.0.1";
	const char *ps = s, *colon;
	char *end;
	unsigned long port;
	struct sockaddr_in *s4 = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)ss;

	if (!s || !*s)
		return EINVAL;
	if (s[0] == '[') {
		colon = strstr(s, "]:");
		if (!colon || (size_t)(colon - s - 1) >= sizeof(host))
			return EINVAL;
		snprintf(host, sizeof(host), "%.*s", (int)(colon - s - 1),
			 s + 1);
		ps = colon + 2;
	} else if ((colon = strrchr(s, ':')) != NULL) {
		if (colon > s) {
			if ((size_t)(colon - s) >= sizeof(host))
				return EINVAL;
			snprintf(host, sizeof(host), "%.*s", (int)(colon - s),
				 s);
		}
		ps = colon + 1;
	}
	errno = 0;
	port = strtoul(ps, &end, 10);
	if (!*ps || *end || errno || port > 65535 || *ps == '-')
		return EINVAL;
	memset(ss, 0, sizeof(*ss));
	if (inet_pton(AF_INET, host, &s4->sin_addr) == 1) {
		s4->sin_family = AF_INET;
		s4->sin_port = htons((uint16_t)port);
		*sl = sizeof(*s4);
	} else if (inet_pton(AF_INET6, host, &s6->sin6_addr) == 1) {
		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons((uint16_t)port);
		*sl = sizeof(*s6);
	} else {
		return EINVAL;
	}
	return 0;
}

/* A listening socket on listen; *portp gets the bound port. */
static int
listen_socket(const char *listen_addr, int *fdp, uint16_t *portp)
{
	struct sockaddr_storage ss;
	socklen_t sl;
	int fd, on = 1, err;

	err = api_addr_parse(listen_addr, &ss, &sl);
	if (err)
		return err;
	fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
		    0);
	if (fd < 0)
		return errno;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on));
	if (ss.ss_family == AF_INET6)
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &on, sizeof(on));
	if (bind(fd, (struct sockaddr *)&ss, sl) < 0 || listen(fd, 64) < 0) {
		err = errno;
		close(fd);
		return err;
	}
	sl = sizeof(ss);
	getsockname(fd, (struct sockaddr *)&ss, &sl);
	*portp = ntohs(ss.ss_family == AF_INET
			       ? ((struct sockaddr_in *)&ss)->sin_port
			       : ((struct sockaddr_in6 *)&ss)->sin6_port);
	*fdp = fd;
	return 0;
}

/* Runs on the API thread: api_stop() wrote to the pipe. */
static void
stop_cb(evutil_socket_t fd, short what, void *arg)
{
	struct api *a = arg;

	event_base_loopbreak(a->base);
}

static void *
api_thread(void *arg)
{
	struct api *a = arg;

	event_base_dispatch(a->base);
	return NULL;
}

static int
api_setup(struct api *a, const char *listen_addr)
{
	int fd = -1, err;

	a->base = event_base_new();
	a->http = a->base ? evhttp_new(a->base) : NULL;
	if (!a->http)
		return ENOMEM;
	if (pipe2(a->stop_fd, O_CLOEXEC | O_NONBLOCK) < 0)
		return errno;
	a->stop_ev = event_new(a->base, a->stop_fd[0], EV_READ, stop_cb, a);
	if (!a->stop_ev || event_add(a->stop_ev, NULL) < 0)
		return ENOMEM;
	err = listen_socket(listen_addr, &fd, &a->port);
	if (err)
		return err;
	if (!evhttp_accept_socket_with_handle(a->http, fd)) {
		close(fd);
		return ENOMEM;
	}
	evhttp_set_allowed_methods(
		a->http, EVHTTP_REQ_GET | EVHTTP_REQ_POST | EVHTTP_REQ_HEAD |
				 EVHTTP_REQ_PUT | EVHTTP_REQ_DELETE |
				 EVHTTP_REQ_OPTIONS | EVHTTP_REQ_PATCH);
	evhttp_set_max_body_size(a->http, API_HTTP_BODY_CAP);
	evhttp_set_max_headers_size(a->http, API_HEADERS_MAX);
	evhttp_set_timeout(a->http, API_TIMEOUT_S);
	evhttp_set_gencb(a->http, api_route, a);
	return 0;
}

int
api_start(struct api **ap, const char *listen_addr, const char *token,
	  const struct api_ops *ops, void *arg)
{
	struct api *a;
	int err;

	if (!ap || !ops || !listen_addr)
		return EINVAL;
	a = mem_zalloc(sizeof(*a), api_destroy);
	if (!a)
		return ENOMEM;
	a->stop_fd[0] = a->stop_fd[1] = -1;
	a->ops = ops;
	a->arg = arg;
	if (token && *token) {
		a->auth = true;
		if (!EVP_Digest(token, strlen(token), a->token_md, NULL,
				EVP_sha256(), NULL)) {
			err = ENOMEM;
			goto out;
		}
	}
	err = api_setup(a, listen_addr);
	if (err)
		goto out;
	err = pthread_create(&a->th, NULL, api_thread, a);
	if (err)
		goto out;
	LOG_INFO("management API on %s (port %u)%s", listen_addr,
		 (unsigned)a->port, a->auth ? " with a bearer token" : "");
	*ap = a;
out:
	if (err) {
		LOG_ERR("cannot start the management API on %s: %s",
			listen_addr, strerror(err));
		mem_deref(a);
	}
	return err;
}

uint16_t
api_port(const struct api *a)
{
	return a ? a->port : 0;
}

void
api_stop(struct api *a)
{
	ssize_t n;

	if (!a)
		return;
	do {
		n = write(a->stop_fd[1], "x", 1);
	} while (n < 0 && errno == EINTR);
	pthread_join(a->th, NULL);
	mem_deref(a);
}

/* Constant-time check of "Authorization: Bearer <token>": both sides are
   hashed first, so neither the content nor the length leaks. */
int
api_auth_check(const struct api *a, struct evhttp_request *r)
{
	const char *h;
	unsigned char md[32];

	if (!a->auth)
		return 0;
	h = evhttp_find_header(evhttp_request_get_input_headers(r),
			       "Authorization");
	if (!h)
		return ENOENT;
	if (strncasecmp(h, "Bearer ", 7) != 0)
		return EACCES;
	h += 7;
	while (*h == ' ')
		h++;
	if (!EVP_Digest(h, strlen(h), md, NULL, EVP_sha256(), NULL))
		return EACCES;
	return CRYPTO_memcmp(md, a->token_md, sizeof(md)) == 0 ? 0 : EACCES;
}
