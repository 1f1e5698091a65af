/* tandemd: the Tandem B2BUA daemon. Reads its INI configuration (cfg.h)
   with -o overrides, starts the engine (b2b.h) and waits for signals:
   SIGHUP reloads what can change live (the static policy), SIGTERM and
   SIGINT drain (new calls get 503, calls in progress run to their end or
   to limits.drain_timeout_s, then are ended) and exit 0. Under systemd
   (Type=notify, deploy/tandemd.service) it reports READY=1 once listening
   with a policy loaded, RELOADING=1 / READY=1 around SIGHUP, STOPPING=1
   on SIGTERM and a STATUS= line every STATUS_MS (notify.h). With
   sip.user (or -u) it creates its files as that user and drops root
   after binding its sockets (priv_prepare, priv_finish). */
#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <event2/event.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/fsuid.h>
#include <unistd.h>

#include <libpq-fe.h>

#define LOG_MODULE "tandemd"
#include "b2b.h"
#include "b2b_api.h"
#include "cfg.h"
#include "notify.h"
#include "policy.h"
#include "route_test.h"
#include "db/db.h"
#include "db/pol.h"
#include "stack/log.h"

#define MAX_OVERRIDES 128
#define DRAIN_POLL_MS 100
#define HANGUP_GRACE_MS 3000
#define STATUS_MS 10000
#define READY_POLL_MS 100

struct daemon {
	const char *conf_path;
	const char *ov[MAX_OVERRIDES];
	unsigned nov;
	struct cfg cfg;
	struct b2b *b2b;
	struct api *api;
	struct event_base *base;
	struct event *ev_term, *ev_int, *ev_hup, *ev_drain;
	struct event *ev_status; /* READY=1 once, then STATUS= lines */
	bool ready;
	bool waiting; /* the "waiting for the database policy" STATUS sent */
	char user_ov[96];  /* "sip.user=NAME" from -u */
	uint64_t drain_ms; /* elapsed since SIGTERM */
	bool hung_up;
};

static void
usage(FILE *f)
{
	fprintf(f, "usage: tandemd -c tandem.conf [-u user] "
		   "[-o section.key=value]...\n"
		   "       tandemd -t -c tandem.conf   (check the config)\n"
		   "       tandemd -m -c tandem.conf   (migrate the database "
		   "schema of db.dsn)\n"
		   "       tandemd -c tandem.conf -r SRC_IP[:PORT] CALLED "
		   "[CALLING [UNIX_TIME]]\n"
		   "                                   (route dry-run)\n");
}

/* The file, then the overrides in order, then the cross-key checks. */
static int
load_cfg(struct daemon *d, struct cfg *c, char *err, size_t errsz)
{
	unsigned i;
	int e;

	if (d->conf_path)
		e = cfg_load(c, d->conf_path, err, errsz);
	else
		cfg_default(c), e = 0;
	for (i = 0; !e && i < d->nov; i++)
		e = cfg_override(c, d->ov[i], err, errsz);
	if (!e)
		e = cfg_check(c, err, errsz);
	return e;
}

static void
print_stats(const struct b2b *b)
{
	const struct b2b_stats *s = &b->st;

	LOG_INFO("calls %" PRIuFAST64 " answered %" PRIuFAST64
		 " failed %" PRIuFAST64 " cancelled %" PRIuFAST64
		 " rejected %" PRIuFAST64 " overload %" PRIuFAST64
		 " attempts %" PRIuFAST64 " failovers %" PRIuFAST64
		 " relayed %" PRIuFAST64 " active %" PRIdFAST64,
		 atomic_load(&s->calls), atomic_load(&s->answered),
		 atomic_load(&s->failed), atomic_load(&s->cancelled),
		 atomic_load(&s->rejected), atomic_load(&s->rejected_load),
		 atomic_load(&s->attempts), atomic_load(&s->failovers),
		 atomic_load(&s->relayed), atomic_load(&s->active));
}

static void
on_drain_poll(evutil_socket_t fd, short what, void *arg)
{
	struct daemon *d = arg;
	struct timeval tv = {0, DRAIN_POLL_MS * 1000};
	uint64_t limit = (uint64_t)d->cfg.drain_timeout_s * 1000;

	(void)fd;
	(void)what;
	d->drain_ms += DRAIN_POLL_MS;
	if (b2b_active(d->b2b) == 0 ||
	    (d->hung_up && d->drain_ms >= limit + HANGUP_GRACE_MS)) {
		event_base_loopbreak(d->base);
		return;
	}
	if (!d->hung_up && d->drain_ms >= limit) {
		LOG_WARN("drain timeout: ending %" PRId64 " call(s)",
			 b2b_active(d->b2b));
		b2b_hangup_all(d->b2b);
		d->hung_up = true;
	}
	evtimer_add(d->ev_drain, &tv);
}

/* READY=1 as soon as a policy is loaded (the database one may come a
   moment after the start), then a STATUS= line every STATUS_MS. */
static void
on_status(evutil_socket_t fd, short what, void *arg)
{
	struct daemon *d = arg;
	struct timeval tv = {0, READY_POLL_MS * 1000};
	struct pol_snap *snap;

	(void)fd;
	(void)what;
	if (!d->ready) {
		snap = bpol_get(d->b2b->pol);
		if (snap) {
			pol_snap_deref(snap);
			d->ready = true;
			tnotify("READY=1");
		} else if (!d->waiting) {
			/* db.dsn unreachable and no cache: systemctl status
			   says why the start has not finished */
			d->waiting = true;
			tnotify("STATUS=listening, waiting for the database "
				"policy");
		}
	}
	if (d->ready) {
		tnotifyf("STATUS=%s%" PRId64 " active call(s), %" PRIuFAST64
			 " calls since start",
			 atomic_load(&d->b2b->draining) ? "draining, " : "",
			 b2b_active(d->b2b), atomic_load(&d->b2b->st.calls));
		tv.tv_sec = STATUS_MS / 1000;
		tv.tv_usec = 0;
	}
	evtimer_add(d->ev_status, &tv);
}

static void
on_term(evutil_socket_t sig, short what, void *arg)
{
	struct daemon *d = arg;
	struct timeval tv = {0, 0};

	(void)what;
	if (d->drain_ms || evtimer_pending(d->ev_drain, NULL)) {
		LOG_WARN("second signal: stopping now");
		event_base_loopbreak(d->base);
		return;
	}
	tnotifyf("STOPPING=1\nSTATUS=draining %" PRId64 " call(s)",
		 b2b_active(d->b2b));
	LOG_INFO("signal %d: draining %" PRId64 " call(s), up to %u s",
		 (int)sig, b2b_active(d->b2b), d->cfg.drain_timeout_s);
	b2b_drain(d->b2b, true);
	evtimer_add(d->ev_drain, &tv);
}

static void
on_hup(evutil_socket_t sig, short what, void *arg)
{
	struct daemon *d = arg;
	struct cfg *c = malloc(sizeof(*c));
	char err[512];

	(void)sig;
	(void)what;
	if (!c)
		return;
	tnotify("RELOADING=1");
	if (load_cfg(d, c, err, sizeof(err)) ||
	    b2b_reload(d->b2b, c, err, sizeof(err)))
		LOG_ERR("reload refused, keeping the running policy: %s", err);
	else
		LOG_INFO("reloaded %s", d->conf_path ? d->conf_path : "");
	tnotify("READY=1");
	print_stats(d->b2b);
	free(c);
}

/* -m: bring the database of db.dsn to the embedded schema version. */
static int
migrate(const struct cfg *c)
{
	char err[512];
	int applied = 0, rc = 0;
	PGconn *pg;

	if (!c->db_dsn[0]) {
		fprintf(stderr, "tandemd: -m needs db.dsn\n");
		return 2;
	}
	pg = PQconnectdb(c->db_dsn);
	if (PQstatus(pg) != CONNECTION_OK) {
		fprintf(stderr, "tandemd: database: %s", PQerrorMessage(pg));
		rc = 1;
	} else if (db_migrate(pg, &applied, err, sizeof(err))) {
		fprintf(stderr, "tandemd: migration failed: %s\n", err);
		rc = 1;
	} else {
		printf("tandemd: schema at version %d (%d migration(s) "
		       "applied)\n",
		       db_schema_version(), applied);
	}
	PQfinish(pg);
	return rc;
}

/*
 * sip.user: started as root, become that user, in two steps, because the
 * engine creates files while it binds its sockets (the CDR spool folder
 * and its segments, the policy cache) and its writer threads must open
 * them again later, as the user:
 *  - priv_prepare(), before the engine, while tandemd has one thread:
 *    the supplementary groups become the user's (initgroups), and the
 *    file-system ids (setfsgid(2), setfsuid(2)) the user's, so every file
 *    is created, and every permission checked, as the user; binding a
 *    port below 1024 still works (it needs CAP_NET_BIND_SERVICE, which the
 *    effective uid 0 keeps). Threads started after inherit these ids. A
 *    spool the user cannot write (a folder of root's, files a root run
 *    left) makes the CDR writer fail there, and tandemd refuses to start
 *    naming the path, instead of losing the CDRs later;
 *  - priv_finish(), once every listening socket (SIP, management API) is
 *    bound: setgid then setuid (in that order: after setuid the other is
 *    no longer allowed; glibc applies both to every thread), then a check
 *    that root cannot be had back.
 * Media ports are bound per call later, without privilege: media.port_min
 * is at least 1024. Not root and no user: nothing to do. Root without a
 * user: allowed (a lab, the tests, a unit whose User= already is
 * unprivileged), with a warning.
 */
struct priv {
	bool drop; /* root now, becoming uid/gid in priv_finish() */
	uid_t uid;
	gid_t gid;
	char name[64];
};

static int
priv_prepare(const struct cfg *c, struct priv *pv)
{
	struct passwd *pw;

	memset(pv, 0, sizeof(*pv));
	if (!c->user[0]) {
		if (geteuid() == 0)
			LOG_WARN("running as root: set sip.user (or -u) to "
				 "drop privileges after binding");
		return 0;
	}
	errno = 0;
	pw = getpwnam(c->user);
	if (!pw) {
		LOG_ERR("sip.user %s: %s", c->user,
			errno ? strerror(errno) : "no such user");
		return 1;
	}
	if (geteuid() != 0) {
		if (geteuid() == pw->pw_uid)
			return 0;
		LOG_ERR("sip.user %s: not root, cannot become another user",
			c->user);
		return 1;
	}
	if (pw->pw_uid == 0)
		return 0;
	pv->drop = true;
	pv->uid = pw->pw_uid;
	pv->gid = pw->pw_gid;
	snprintf(pv->name, sizeof(pv->name), "%s", pw->pw_name);
	if (initgroups(pw->pw_name, pw->pw_gid)) {
		LOG_ERR("dropping to %s: initgroups: %s", pv->name,
			strerror(errno));
		return 1;
	}
	/* setfs*id return the previous id, never an error: the new one is
	   read back by a call with an invalid id, which changes nothing */
	(void)setfsgid(pv->gid);
	(void)setfsuid(pv->uid);
	if ((gid_t)setfsgid((gid_t)-1) != pv->gid ||
	    (uid_t)setfsuid((uid_t)-1) != pv->uid) {
		LOG_ERR("dropping to %s: setfsuid/setfsgid refused", pv->name);
		return 1;
	}
	return 0;
}

static int
priv_finish(const struct priv *pv)
{
	if (!pv->drop)
		return 0;
	if (setgid(pv->gid) || setuid(pv->uid)) {
		LOG_ERR("dropping to %s: %s", pv->name, strerror(errno));
		return 1;
	}
	if (setuid(0) == 0 || seteuid(0) == 0) {
		LOG_ERR("dropping to %s: root could be regained", pv->name);
		return 1;
	}
	LOG_INFO("running as %s (uid %u gid %u)", pv->name, (unsigned)pv->uid,
		 (unsigned)pv->gid);
	return 0;
}

static int
parse_args(struct daemon *d, int argc, char **argv, bool *check, bool *mig,
	   bool *rt)
{
	int o;

	while ((o = getopt(argc, argv, "c:o:u:tmrh")) != -1) {
		switch (o) {
		case 'c':
			d->conf_path = optarg;
			break;
		case 'o':
			if (d->nov == MAX_OVERRIDES) {
				fprintf(stderr, "tandemd: too many -o\n");
				return 2;
			}
			d->ov[d->nov++] = optarg;
			break;
		case 'u':
			snprintf(d->user_ov, sizeof(d->user_ov), "sip.user=%s",
				 optarg);
			break;
		case 't':
			*check = true;
			break;
		case 'm':
			*mig = true;
			break;
		case 'r':
			*rt = true;
			break;
		case 'h':
			usage(stdout);
			exit(0);
		default:
			usage(stderr);
			return 2;
		}
	}
	if (d->user_ov[0]) { /* after the -o ones: -u wins */
		if (d->nov == MAX_OVERRIDES) {
			fprintf(stderr, "tandemd: too many -o\n");
			return 2;
		}
		d->ov[d->nov++] = d->user_ov;
	}
	if (optind != argc && !*rt) {
		usage(stderr);
		return 2;
	}
	return 0;
}

static int
run(struct daemon *d)
{
	d->base = event_base_new();
	if (!d->base)
		return ENOMEM;
	d->ev_term = evsignal_new(d->base, SIGTERM, on_term, d);
	d->ev_int = evsignal_new(d->base, SIGINT, on_term, d);
	d->ev_hup = evsignal_new(d->base, SIGHUP, on_hup, d);
	d->ev_drain = evtimer_new(d->base, on_drain_poll, d);
	d->ev_status = evtimer_new(d->base, on_status, d);
	if (!d->ev_status)
		return ENOMEM;
	on_status(-1, 0, d);
	if (!d->ev_term || !d->ev_int || !d->ev_hup || !d->ev_drain ||
	    evsignal_add(d->ev_term, NULL) || evsignal_add(d->ev_int, NULL) ||
	    evsignal_add(d->ev_hup, NULL))
		return ENOMEM;
	return event_base_dispatch(d->base) < 0 ? EIO : 0;
}

int
main(int argc, char **argv)
{
	static struct daemon d;
	struct priv pv;
	enum log_level lvl = LOG_L_INFO;
	char err[512];
	bool check = false, mig = false, rt = false;
	int rc = parse_args(&d, argc, argv, &check, &mig, &rt);

	if (rc)
		return rc;
	if (load_cfg(&d, &d.cfg, err, sizeof(err))) {
		fprintf(stderr, "tandemd: %s\n", err);
		return 2;
	}
	if (mig)
		return migrate(&d.cfg);
	if (rt)
		return route_test(&d.cfg, argc - optind, argv + optind);
	if (check) {
		printf("tandemd: configuration OK\n");
		return 0;
	}
	(void)log_level_parse(d.cfg.log_level, &lvl);
	log_setup(lvl,
		  strcmp(d.cfg.log_target, "syslog") ? LOG_T_STDERR
						     : LOG_T_SYSLOG,
		  "tandemd");
	signal(SIGPIPE, SIG_IGN);
	if (priv_prepare(&d.cfg, &pv))
		return 1;
	if (b2b_alloc(&d.b2b, &d.cfg, err, sizeof(err))) {
		LOG_ERR("%s", err);
		if (pv.drop)
			LOG_ERR("files are created and opened as %s: its "
				"cdr.spool_dir %s must be writable by it "
				"(chown what a root run left there)",
				pv.name, d.cfg.cdr_spool);
		return 1;
	}
	if (b2b_api_start(d.b2b, &d.api, err, sizeof(err))) {
		LOG_ERR("%s", err);
		b2b_free(d.b2b);
		return 1;
	}
	if (priv_finish(&pv)) {
		api_stop(d.api);
		b2b_free(d.b2b);
		return 1;
	}
	if (b2b_start(d.b2b)) {
		api_stop(d.api);
		LOG_ERR("cannot start the signaling workers");
		b2b_free(d.b2b);
		return 1;
	}
	LOG_INFO("listening on %s:%u (%u workers, media %s, policy %s)",
		 d.cfg.listen, b2b_port(d.b2b), d.b2b->nw,
		 d.cfg.media ? "relayed" : "not relayed",
		 d.cfg.db_dsn[0] ? "database" : "static");
	if (d.api)
		LOG_INFO("management API on port %u", api_port(d.api));
	rc = run(&d) ? 1 : 0;
	print_stats(d.b2b);
	api_stop(d.api);
	LOG_INFO("stopped");
	b2b_free(d.b2b);
	if (d.ev_drain)
		event_free(d.ev_drain);
	if (d.ev_status)
		event_free(d.ev_status);
	if (d.ev_hup)
		event_free(d.ev_hup);
	if (d.ev_int)
		event_free(d.ev_int);
	if (d.ev_term)
		event_free(d.ev_term);
	if (d.base)
		event_base_free(d.base);
	return rc;
}
