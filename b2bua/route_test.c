/* tandemd -r: the policy's answer for one call, without placing it
   (issue 7 item 6): which trunk the source is, the rewrites, the route,
   the targets in order with their numbers, and the failover codes. The
   policy is the static table of the config, or one load from db.dsn. */
#include <arpa/inet.h>
#include <errno.h>
#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "db/db.h"
#include "policy.h"
#include "route_test.h"
#include "tdns.h"

static const char *const tp_name[] = {"udp", "tcp", "tls"};

static int
load(const struct cfg *c, int64_t now, struct pol_snap **s)
{
	char err[512];
	PGconn *pg;
	int e;

	if (!c->db_dsn[0]) {
		e = bpol_static_build(c, now, s, err, sizeof(err));
		if (e)
			fprintf(stderr, "tandemd: %s\n", err);
		return e;
	}
	pg = PQconnectdb(c->db_dsn);
	if (PQstatus(pg) != CONNECTION_OK) {
		fprintf(stderr, "tandemd: database: %s", PQerrorMessage(pg));
		PQfinish(pg);
		return EIO;
	}
	e = db_policy_load(pg, now, s, err, sizeof(err));
	if (e)
		fprintf(stderr, "tandemd: policy: %s\n", err);
	PQfinish(pg);
	return e;
}

/* "ip" or "ip:port" or "[v6]:port" into a sockaddr. */
int
route_test_src(const char *s, struct sockaddr_storage *ss)
{
	char buf[80], *port = NULL, *host = buf;
	struct sockaddr_in *s4 = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)ss;

	snprintf(buf, sizeof(buf), "%s", s);
	if (buf[0] == '[') {
		char *rb = strchr(buf, ']');

		if (!rb)
			return EINVAL;
		*rb = '\0';
		host = buf + 1;
		port = rb[1] == ':' ? rb + 2 : NULL;
	} else if (strchr(buf, ':') == strrchr(buf, ':') && strchr(buf, ':')) {
		port = strchr(buf, ':');
		*port++ = '\0';
	}
	memset(ss, 0, sizeof(*ss));
	if (inet_pton(AF_INET, host, &s4->sin_addr) == 1) {
		s4->sin_family = AF_INET;
		s4->sin_port = htons(port ? (uint16_t)atoi(port) : 5060);
	} else if (inet_pton(AF_INET6, host, &s6->sin6_addr) == 1) {
		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons(port ? (uint16_t)atoi(port) : 5060);
	} else {
		return EINVAL;
	}
	return 0;
}

static void
print(const struct pol_verdict *v, const struct pol_snap *s)
{
	size_t i;

	printf("policy version  %lld\n", (long long)pol_snap_version(s));
	printf("source trunk    %s\n",
	       v->src && v->src->name ? v->src->name : "(none)");
	printf("called          %s\ncalling         %s\n", v->called,
	       v->calling);
	if (v->status) {
		printf("verdict         %u %s\n", v->status,
		       v->reason ? v->reason : "");
		return;
	}
	printf("route id        %lld\n", (long long)v->route_id);
	if (v->max_calls || v->max_cps)
		printf("source limits   %u calls, %u cps\n", v->max_calls,
		       v->max_cps);
	printf("failover on    ");
	for (i = 0; i < v->nfailover; i++)
		printf(" %u", v->failover[i]);
	printf("\n");
	for (i = 0; i < v->ntargets; i++) {
		const struct pol_trunk *t = v->targets[i].trunk;

		printf("target %zu        %s %s:%u/%s called %s calling %s\n",
		       i + 1, t->name ? t->name : "?", t->host ? t->host : "",
		       t->port ? t->port : 5060,
		       tp_name[t->transport <= POL_TP_TLS ? t->transport : 0],
		       v->targets[i].called, v->targets[i].calling);
	}
}

json_t *
route_test_json(const struct pol_verdict *v, const struct pol_snap *s)
{
	json_t *o = json_object(), *tg = json_array(), *fo = json_array();
	size_t i;

	if (!o || !tg || !fo) {
		json_decref(o);
		json_decref(tg);
		json_decref(fo);
		return NULL;
	}
	json_object_set_new(o, "policy_version",
			    json_integer(pol_snap_version(s)));
	json_object_set_new(o, "source_trunk",
			    v->src && v->src->name ? json_string(v->src->name)
						   : json_null());
	json_object_set_new(o, "called", json_string(v->called));
	json_object_set_new(o, "calling", json_string(v->calling));
	json_object_set_new(o, "status", json_integer(v->status));
	json_object_set_new(o, "reason",
			    v->reason ? json_string(v->reason) : json_null());
	json_object_set_new(o, "route_id", json_integer(v->route_id));
	for (i = 0; !v->status && i < v->nfailover; i++)
		json_array_append_new(fo, json_integer(v->failover[i]));
	for (i = 0; !v->status && i < v->ntargets; i++) {
		const struct pol_trunk *t = v->targets[i].trunk;

		json_array_append_new(
			tg, json_pack("{s:s, s:s, s:i, s:s, s:s, s:s}", "trunk",
				      t->name ? t->name : "?", "host",
				      t->host ? t->host : "", "port",
				      /* 0: a domain located by SRV */
				      (int)(t->port		    ? t->port
					    : tdns_is_name(t->host) ? 0
								    : 5060),
				      "transport",
				      tp_name[t->transport <= POL_TP_TLS
						      ? t->transport
						      : 0],
				      "called", v->targets[i].called, "calling",
				      v->targets[i].calling));
	}
	json_object_set_new(o, "failover", fo);
	json_object_set_new(o, "targets", tg);
	return o;
}

int
route_test(const struct cfg *c, int argc, char **argv)
{
	struct sockaddr_storage ss;
	struct pol_snap *s = NULL;
	struct pol_verdict v;
	struct pol_req rq = {.src = (struct sockaddr *)&ss};
	int64_t now = (int64_t)time(NULL);
	int rc = 1;

	if (argc < 2 || argc > 4 || route_test_src(argv[0], &ss)) {
		fprintf(stderr, "usage: tandemd -c FILE -r SRC_IP[:PORT] "
				"CALLED [CALLING [UNIX_TIME]]\n");
		return 2;
	}
	if (argc == 4)
		now = strtoll(argv[3], NULL, 10);
	if (load(c, now, &s))
		return 1;
	if (pol_verdict_init(&v))
		goto out;
	rq.called.p = argv[1];
	rq.called.l = strlen(argv[1]);
	rq.calling.p = argc > 2 ? argv[2] : "";
	rq.calling.l = strlen(rq.calling.p);
	rq.now = now;
	if (pol_route(s, &rq, &v) == 0) {
		print(&v, s);
		rc = v.status ? 3 : 0;
	}
	pol_verdict_fini(&v);
out:
	pol_snap_deref(s);
	return rc;
}
