/* tandemd configuration (see cfg.h): libinih for the file, one table of
   keys shared by the file and the -o overrides. */
#include <arpa/inet.h>
#include <errno.h>
#include <ini.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "cfg.h"
#include "tdns.h"
#include "db/pol.h"

void
cfg_default(struct cfg *c)
{
	memset(c, 0, sizeof(*c));
	snprintf(c->listen, sizeof(c->listen), "127.0.0.1");
	c->port = 5060;
	c->t1 = 500;
	c->t2 = 4000;
	snprintf(c->server, sizeof(c->server), "Tandem");
	c->max_calls = 10000;
	c->no_answer_s = 60;
	c->max_duration_s = 14400;
	c->drain_timeout_s = 30;
	c->cluster_nodes = 1;
	c->source_rps = 200;
	c->source_ban_s = 10;
	c->ladder = true;
	c->auth_fails = 5;
	c->auth_window_s = 60;
	c->auth_ban_s = 60;
	c->max_txn = 262144;
	c->media = true;
	c->refer = true;
	c->prack = true;
	c->session_expires = 1800;
	c->min_se = 90;
	snprintf(c->cdr_spool, sizeof(c->cdr_spool), "/var/spool/tandem");
	c->cdr_fsync_ms = 100;
	c->port_min = 30000;
	c->port_max = 39999;
	snprintf(c->log_level, sizeof(c->log_level), "info");
	snprintf(c->log_target, sizeof(c->log_target), "stderr");
}

/* ---- value parsers: each returns NULL or a static reason ------------ */

static const char *
parse_uint(const char *v, unsigned long min, unsigned long max,
	   unsigned long *out)
{
	char *end;
	unsigned long n;

	if (!*v || *v == '-')
		return "not a number";
	errno = 0;
	n = strtoul(v, &end, 10);
	if (errno || *end)
		return "not a number";
	if (n < min || n > max)
		return "out of range";
	*out = n;
	return NULL;
}

static const char *
parse_ip(const char *v, char *dst, size_t size)
{
	unsigned char buf[16];

	if (inet_pton(AF_INET, v, buf) != 1 && inet_pton(AF_INET6, v, buf) != 1)
		return "not a numeric IPv4 or IPv6 address";
	if (strlen(v) >= size)
		return "too long";
	snprintf(dst, size, "%s", v);
	return NULL;
}

static const char *
parse_bool(const char *v, bool *out)
{
	if (!strcasecmp(v, "yes") || !strcasecmp(v, "true") ||
	    !strcmp(v, "1") || !strcasecmp(v, "on"))
		*out = true;
	else if (!strcasecmp(v, "no") || !strcasecmp(v, "false") ||
		 !strcmp(v, "0") || !strcasecmp(v, "off"))
		*out = false;
	else
		return "not a boolean (yes/no)";
	return NULL;
}

/* off, optional, mandatory: enum pol_srtp (db/pol.h) in that order */
static const char *
parse_srtp(const char *v, uint8_t *out)
{
	static const char *const names[] = {"off", "optional", "mandatory"};
	uint8_t i;

	for (i = 0; i < 3; i++) {
		if (!strcasecmp(v, names[i])) {
			*out = i;
			return NULL;
		}
	}
	return "not off, optional or mandatory";
}

/* "X-A: 1 | X-B: 2" -> "X-A: 1\nX-B: 2" (each part trimmed, empty
   parts dropped). 0 or ENOSPC. */
static int
bars_to_lines(const char *v, char *out, size_t size)
{
	size_t o = 0;

	out[0] = '\0';
	while (*v) {
		const char *e = strchr(v, '|'), *end = e ? e : v + strlen(v);
		size_t n;

		while (v < end && *v == ' ')
			v++;
		n = (size_t)(end - v);
		while (n && v[n - 1] == ' ')
			n--;
		if (n) {
			if (o + n + 2 > size)
				return ENOSPC;
			if (o)
				out[o++] = '\n';
			memcpy(out + o, v, n);
			o += n;
			out[o] = '\0';
		}
		v = e ? e + 1 : end;
	}
	return 0;
}

static const char *
parse_str(const char *v, char *dst, size_t size)
{
	if (strlen(v) >= size)
		return "too long";
	snprintf(dst, size, "%s", v);
	return NULL;
}

static const char *
parse_digits(const char *v, char *dst, size_t size)
{
	if (strspn(v, "0123456789+*#") != strlen(v))
		return "only digits, '+', '*' and '#' allowed";
	return parse_str(v, dst, size);
}

/* "ip:port[/udp|/tcp]" or "[v6]:port", comma-separated. */
/* A DNS host name (RFC 1123 labels), copied; 0 or -1. */
static int
parse_hostname(const char *v, char *dst, size_t size)
{
	size_t n = strlen(v), i, label = 0;

	if (!n || n >= size || n > 253 || v[0] == '.' || v[0] == '-')
		return -1;
	for (i = 0; i < n; i++) {
		char ch = v[i];

		if (ch == '.') {
			if (!label || v[i - 1] == '-')
				return -1;
			label = 0;
			continue;
		}
		if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
		      (ch >= '0' && ch <= '9') || (ch == '-' && label)) ||
		    ++label > 63)
			return -1;
	}
	memcpy(dst, v, n + 1);
	return 0;
}

static const char *
parse_targets(const char *v, struct cfg_route *r)
{
	char buf[512], *save = NULL, *tok;

	if (strlen(v) >= sizeof(buf))
		return "too long";
	snprintf(buf, sizeof(buf), "%s", v);
	r->ntargets = 0;
	for (tok = strtok_r(buf, ", ", &save); tok;
	     tok = strtok_r(NULL, ", ", &save)) {
		struct cfg_target *t;
		char *colon, *slash = strchr(tok, '/');
		unsigned long port;
		const char *why;

		if (r->ntargets == CFG_MAX_TARGETS)
			return "too many targets";
		t = &r->targets[r->ntargets];
		snprintf(t->transport, sizeof(t->transport), "udp");
		if (slash) {
			*slash++ = '\0';
			if (strcasecmp(slash, "udp") &&
			    strcasecmp(slash, "tcp"))
				return "transport must be udp or tcp";
			snprintf(t->transport, sizeof(t->transport), "%s",
				 slash);
		}
		if (*tok == '[') {
			char *rb = strchr(tok, ']');

			if (!rb || rb[1] != ':')
				return "target must be ip:port or [ipv6]:port";
			*rb = '\0';
			colon = rb + 1;
			tok++;
		} else {
			colon = strrchr(tok, ':');
		}
		if (colon)
			*colon = '\0';
		why = parse_ip(tok, t->host, sizeof(t->host));
		if (why && *tok != '[' &&
		    !parse_hostname(tok, t->host, sizeof(t->host)))
			why = NULL; /* a DNS name (RFC 3263: resolved later) */
		if (!why && colon)
			why = parse_uint(colon + 1, 1, 65535, &port);
		else if (!why && !tdns_is_name(t->host))
			why = "target must be ip:port or [ipv6]:port";
		else
			port = 0; /* a name without a port: SRV */
		if (why)
			return why;
		t->port = (uint16_t)port;
		r->ntargets++;
	}
	return r->ntargets ? NULL : "no target";
}

static const char *
parse_codes(const char *v, struct cfg_route *r)
{
	char buf[256], *save = NULL, *tok;

	if (strlen(v) >= sizeof(buf))
		return "too long";
	snprintf(buf, sizeof(buf), "%s", v);
	r->nfailover = 0;
	for (tok = strtok_r(buf, ", ", &save); tok;
	     tok = strtok_r(NULL, ", ", &save)) {
		unsigned long code;
		const char *why = parse_uint(tok, 300, 699, &code);

		if (why)
			return "failover codes are 300..699";
		if (r->nfailover == CFG_MAX_CODES)
			return "too many codes";
		r->failover[r->nfailover++] = (uint16_t)code;
	}
	return NULL;
}

/* ---- keys -------------------------------------------------------------- */

static const char *
set_uint(unsigned *dst, const char *v, unsigned long min, unsigned long max)
{
	unsigned long n;
	const char *why = parse_uint(v, min, max, &n);

	if (!why)
		*dst = (unsigned)n;
	return why;
}

static struct cfg_route *
route_of(struct cfg *c, const char *name, const char **why)
{
	unsigned i;

	for (i = 0; i < c->nroutes; i++)
		if (!strcmp(c->routes[i].name, name))
			return &c->routes[i];
	if (c->nroutes == CFG_MAX_ROUTES) {
		*why = "too many routes";
		return NULL;
	}
	if (!*name || strlen(name) >= sizeof(c->routes[0].name)) {
		*why = "route name empty or too long";
		return NULL;
	}
	snprintf(c->routes[c->nroutes].name, sizeof(c->routes[0].name), "%s",
		 name);
	/* The usual failover set: timeouts and server failures. */
	c->routes[c->nroutes].failover[0] = 408;
	c->routes[c->nroutes].failover[1] = 500;
	c->routes[c->nroutes].failover[2] = 502;
	c->routes[c->nroutes].failover[3] = 503;
	c->routes[c->nroutes].failover[4] = 504;
	c->routes[c->nroutes].nfailover = 5;
	return &c->routes[c->nroutes++];
}

static const char *
set_route(struct cfg *c, const char *name, const char *key, const char *v)
{
	const char *why = NULL;
	struct cfg_route *r = route_of(c, name, &why);

	if (!r)
		return why;
	if (!strcmp(key, "prefix"))
		return parse_digits(v, r->prefix, sizeof(r->prefix));
	if (!strcmp(key, "strip"))
		return set_uint(&r->strip, v, 0, 31);
	if (!strcmp(key, "add"))
		return parse_digits(v, r->add, sizeof(r->add));
	if (!strcmp(key, "targets"))
		return parse_targets(v, r);
	if (!strcmp(key, "failover"))
		return parse_codes(v, r);
	if (!strcmp(key, "options_interval"))
		return set_uint(&r->options_s, v, 0, 86400);
	if (!strcmp(key, "auth_user"))
		return parse_str(v, r->auth_user, sizeof(r->auth_user));
	if (!strcmp(key, "auth_pass"))
		return parse_str(v, r->auth_pass, sizeof(r->auth_pass));
	if (!strcmp(key, "register"))
		return parse_bool(v, &r->reg);
	if (!strcmp(key, "register_expires"))
		return set_uint(&r->reg_expires, v, 30, 86400);
	if (!strcmp(key, "srtp"))
		return parse_srtp(v, &r->srtp);
	if (!strcmp(key, "codecs"))
		return parse_str(v, r->codecs, sizeof(r->codecs));
	if (!strcmp(key, "nat"))
		return parse_bool(v, &r->nat);
	if (!strcmp(key, "keep_ice"))
		return parse_bool(v, &r->keep_ice);
	if (!strcmp(key, "media_address")) {
		unsigned char a[16];

		if (*v && inet_pton(AF_INET, v, a) != 1 &&
		    inet_pton(AF_INET6, v, a) != 1)
			return "not a numeric address";
		return parse_str(v, r->media_addr, sizeof(r->media_addr));
	}
	if (!strcmp(key, "redirect")) {
		if (!strcasecmp(v, "follow") || !strcasecmp(v, "relay")) {
			r->relay_3xx = !strcasecmp(v, "relay");
			return NULL;
		}
		return "not follow or relay";
	}
	if (!strcmp(key, "header_policy")) {
		if (!strcasecmp(v, "pass") || !strcasecmp(v, "strip")) {
			r->hdr_pass = !strcasecmp(v, "pass");
			return NULL;
		}
		return "not pass or strip";
	}
	if (!strcmp(key, "header_list"))
		return parse_str(v, r->hdr_list, sizeof(r->hdr_list));
	if (!strcmp(key, "header_add")) {
		const char *bad = NULL;

		if (bars_to_lines(v, r->hdr_add, sizeof(r->hdr_add)))
			return "too long";
		if (!pol_hdr_add_ok(r->hdr_add, &bad)) {
			r->hdr_add[0] = '\0';
			return bad;
		}
		return NULL;
	}
	if (!strcmp(key, "status_map")) {
		if (!pol_status_map_ok(v))
			return "not FROM=TO pairs of statuses 300..699, "
			       "comma separated";
		return parse_str(v, r->status_map, sizeof(r->status_map));
	}
	return "unknown key";
}

static const char *
set_media(struct cfg *c, const char *key, const char *v)
{
	if (!strcmp(key, "enabled"))
		return parse_bool(v, &c->media);
	if (!strcmp(key, "ip_a")) /* empty: the default */
		return *v ? parse_ip(v, c->media_ip_a, sizeof(c->media_ip_a))
			  : parse_str(v, c->media_ip_a, sizeof(c->media_ip_a));
	if (!strcmp(key, "ip_b"))
		return *v ? parse_ip(v, c->media_ip_b, sizeof(c->media_ip_b))
			  : parse_str(v, c->media_ip_b, sizeof(c->media_ip_b));
	if (!strcmp(key, "port_min"))
		return set_uint(&c->port_min, v, 1024, 65534);
	if (!strcmp(key, "port_max"))
		return set_uint(&c->port_max, v, 1025, 65535);
	if (!strcmp(key, "workers"))
		return set_uint(&c->media_workers, v, 0, 64);
	if (!strcmp(key, "rtp_timeout_s"))
		return set_uint(&c->rtp_timeout_s, v, 0, 86400);
	return "unknown key";
}

/* One key; returns NULL or the reason it is refused. */
static const char *
cfg_set(struct cfg *c, const char *sec, const char *key, const char *v)
{
	unsigned long n;
	const char *why;

	if (!strncmp(sec, "route.", 6))
		return set_route(c, sec + 6, key, v);
	if (!strcmp(sec, "sip")) {
		if (!strcmp(key, "listen"))
			return parse_ip(v, c->listen, sizeof(c->listen));
		if (!strcmp(key, "port")) {
			why = parse_uint(v, 0, 65535, &n);
			if (!why)
				c->port = (uint16_t)n;
			return why;
		}
		if (!strcmp(key, "tcp"))
			return parse_bool(v, &c->tcp);
		if (!strcmp(key, "workers"))
			return set_uint(&c->workers, v, 0, 64);
		if (!strcmp(key, "t1"))
			return set_uint(&c->t1, v, 50, 10000);
		if (!strcmp(key, "t2"))
			return set_uint(&c->t2, v, 100, 60000);
		if (!strcmp(key, "server"))
			return parse_str(v, c->server, sizeof(c->server));
		if (!strcmp(key, "auth_user"))
			return parse_str(v, c->auth_user, sizeof(c->auth_user));
		if (!strcmp(key, "auth_pass"))
			return parse_str(v, c->auth_pass, sizeof(c->auth_pass));
		if (!strcmp(key, "refer"))
			return parse_bool(v, &c->refer);
		if (!strcmp(key, "prack"))
			return parse_bool(v, &c->prack);
		if (!strcmp(key, "session_expires"))
			return set_uint(&c->session_expires, v, 0, 86400);
		if (!strcmp(key, "min_se"))
			return set_uint(&c->min_se, v, 90, 86400);
		if (!strcmp(key, "realm"))
			return parse_str(v, c->realm, sizeof(c->realm));
		if (!strcmp(key, "sources"))
			return parse_str(v, c->sources, sizeof(c->sources));
		if (!strcmp(key, "srtp"))
			return parse_srtp(v, &c->srtp);
		if (!strcmp(key, "nat"))
			return parse_bool(v, &c->nat);
		if (!strcmp(key, "dns_servers"))
			return parse_str(v, c->dns_servers,
					 sizeof(c->dns_servers));
		if (!strcmp(key, "codecs"))
			return parse_str(v, c->codecs, sizeof(c->codecs));
		if (!strcmp(key, "user"))
			return parse_str(v, c->user, sizeof(c->user));
		return "unknown key";
	}
	if (!strcmp(sec, "media"))
		return set_media(c, key, v);
	if (!strcmp(sec, "cdr")) {
		if (!strcmp(key, "dsn"))
			return parse_str(v, c->cdr_dsn, sizeof(c->cdr_dsn));
		if (!strcmp(key, "spool_dir"))
			return parse_str(v, c->cdr_spool, sizeof(c->cdr_spool));
		if (!strcmp(key, "node"))
			return parse_str(v, c->node, sizeof(c->node));
		if (!strcmp(key, "fsync_ms"))
			return set_uint(&c->cdr_fsync_ms, v, 0, 60000);
		return "unknown key";
	}
	if (!strcmp(sec, "db")) {
		if (!strcmp(key, "dsn"))
			return parse_str(v, c->db_dsn, sizeof(c->db_dsn));
		if (!strcmp(key, "policy_cache"))
			return parse_str(v, c->db_cache, sizeof(c->db_cache));
		return "unknown key";
	}
	if (!strcmp(sec, "limits")) {
		if (!strcmp(key, "max_calls"))
			return set_uint(&c->max_calls, v, 1, 10000000);
		if (!strcmp(key, "no_answer_s"))
			return set_uint(&c->no_answer_s, v, 1, 3600);
		if (!strcmp(key, "max_duration_s"))
			return set_uint(&c->max_duration_s, v, 1, 604800);
		if (!strcmp(key, "drain_timeout_s"))
			return set_uint(&c->drain_timeout_s, v, 0, 86400);
		if (!strcmp(key, "source_rps"))
			return set_uint(&c->source_rps, v, 0, 1000000);
		if (!strcmp(key, "source_ban_s"))
			return set_uint(&c->source_ban_s, v, 0, 86400);
		if (!strcmp(key, "source_reply")) {
			if (strcmp(v, "drop") && strcmp(v, "403"))
				return "not drop or 403";
			c->source_403 = !strcmp(v, "403");
			return NULL;
		}
		if (!strcmp(key, "auth_fails"))
			return set_uint(&c->auth_fails, v, 0, 1000);
		if (!strcmp(key, "auth_window_s"))
			return set_uint(&c->auth_window_s, v, 1, 86400);
		if (!strcmp(key, "auth_ban_s"))
			return set_uint(&c->auth_ban_s, v, 1, 86400);
		if (!strcmp(key, "max_transactions"))
			return set_uint(&c->max_txn, v, 0, 16777216);
		return "unknown key";
	}
	if (!strcmp(sec, "log")) {
		if (!strcmp(key, "level")) {
			if (strcmp(v, "err") && strcmp(v, "warn") &&
			    strcmp(v, "info") && strcmp(v, "debug"))
				return "level is err, warn, info or debug";
			return parse_str(v, c->log_level, sizeof(c->log_level));
		}
		if (!strcmp(key, "target")) {
			if (strcmp(v, "stderr") && strcmp(v, "syslog"))
				return "target is stderr or syslog";
			return parse_str(v, c->log_target,
					 sizeof(c->log_target));
		}
		return "unknown key";
	}
	if (!strcmp(sec, "cluster")) {
		if (!strcmp(key, "nodes"))
			return set_uint(&c->cluster_nodes, v, 1, 1024);
		return "unknown key";
	}
	if (!strcmp(sec, "api")) {
		if (!strcmp(key, "listen"))
			return parse_str(v, c->api_listen,
					 sizeof(c->api_listen));
		if (!strcmp(key, "token"))
			return parse_str(v, c->api_token, sizeof(c->api_token));
		if (!strcmp(key, "ladder"))
			return parse_bool(v, &c->ladder);
		return "unknown key";
	}
	return "unknown section";
}

/* ---- file and overrides ---------------------------------------------- */

struct load {
	struct cfg *c;
	const char *why; /* first reason */
	char key[96];
};

static int
ini_h(void *user, const char *sec, const char *key, const char *v)
{
	struct load *l = user;
	const char *why = cfg_set(l->c, sec, key, v);

	if (why && !l->why) {
		l->why = why;
		snprintf(l->key, sizeof(l->key), "%s.%s", sec, key);
	}
	return why == NULL; /* inih records the line of the first 0 */
}

int
cfg_load(struct cfg *c, const char *path, char *err, size_t errsz)
{
	struct load l = {c, NULL, ""};
	FILE *f;
	int line;

	cfg_default(c);
	f = fopen(path, "r");
	if (!f) {
		int e = errno;

		snprintf(err, errsz, "%s: %s", path, strerror(e));
		return e;
	}
	line = ini_parse_file(f, ini_h, &l);
	fclose(f);
	if (line == 0)
		return 0;
	if (l.why)
		snprintf(err, errsz, "%s:%d: %s: %s", path, line, l.key, l.why);
	else
		snprintf(err, errsz,
			 "%s:%d: not a section, key = value or "
			 "comment line",
			 path, line);
	return EINVAL;
}

int
cfg_override(struct cfg *c, const char *kv, char *err, size_t errsz)
{
	char sec[64], key[64];
	const char *dot = strchr(kv, '.'), *eq = strchr(kv, '='), *why;

	/* The key is after the last dot before '=' (route.NAME.key). */
	if (eq) {
		const char *d;

		for (d = eq; d > kv && *d != '.'; d--)
			;
		dot = *d == '.' ? d : NULL;
	}
	if (!dot || !eq || dot == kv || (size_t)(dot - kv) >= sizeof(sec) ||
	    (size_t)(eq - dot - 1) >= sizeof(key) || eq == dot + 1) {
		snprintf(err, errsz, "-o %s: expected section.key=value", kv);
		return EINVAL;
	}
	snprintf(sec, sizeof(sec), "%.*s", (int)(dot - kv), kv);
	snprintf(key, sizeof(key), "%.*s", (int)(eq - dot - 1), dot + 1);
	why = cfg_set(c, sec, key, eq + 1);
	if (why) {
		snprintf(err, errsz, "-o %s: %s", kv, why);
		return EINVAL;
	}
	return 0;
}

int
cfg_check(const struct cfg *c, char *err, size_t errsz)
{
	unsigned i;

	for (i = 0; i < c->nroutes; i++) {
		if (!c->routes[i].ntargets) {
			snprintf(err, errsz, "[route.%s]: no targets",
				 c->routes[i].name);
			return EINVAL;
		}
	}
	if (c->port_max < c->port_min + 3) {
		snprintf(err, errsz,
			 "[media]: port_max must be at least port_min + 3");
		return EINVAL;
	}
	if (c->session_expires && c->session_expires < c->min_se) {
		snprintf(err, errsz, "[sip]: session_expires is below min_se");
		return EINVAL;
	}
	if (c->t2 < c->t1) {
		snprintf(err, errsz, "[sip]: t2 is below t1");
		return EINVAL;
	}
	return 0;
}
