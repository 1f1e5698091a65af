/* The policy watcher: a thread with its own connection that LISTENs on
   DB_POLICY_CHANNEL, reloads (debounced) and publishes into a pol_store,
   keeping the last good snapshot through refused policies and outages. */
#define LOG_MODULE "db"
#include "db/db.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "stack/log.h"

struct db_watch {
	struct db_watch_cfg cfg;
	char *dsn;		 /* owned */
	char *cache;		 /* owned, NULL: no cache file */
	bool cache_tried;	 /* read once, before any publication */
	struct pol_store *store; /* borrowed */
	pthread_t thr;
	int wake[2]; /* pipe: a byte on wake[1] stops the thread */
	pthread_mutex_t lock;
	struct db_watch_stats st; /* guarded by lock */
};

static uint64_t
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* Wait up to ms for the stop pipe (and fd if >= 0). 1: stop asked. */
static int
wait_for(struct db_watch *w, int fd, uint64_t ms, bool *readable)
{
	struct pollfd p[2] = {{w->wake[0], POLLIN, 0}, {fd, POLLIN, 0}};

	*readable = false;
	if (poll(p, fd >= 0 ? 2 : 1, (int)(ms > 60000 ? 60000 : ms)) > 0) {
		if (p[0].revents)
			return 1;
		*readable = fd >= 0 && p[1].revents != 0;
	}
	return 0;
}

/* Load and publish; EIO means the connection is no good. */
static int
reload(struct db_watch *w, PGconn *c)
{
	struct pol_snap *s = NULL;
	char err[512];
	uint64_t t0 = now_ms();
	int ret = db_policy_load_cache(c, (int64_t)time(NULL), w->cache, &s,
				       err, sizeof(err));

	if (!ret) { /* the queries too, not only the compile (ms clock) */
		uint64_t took = (now_ms() - t0) * 1000, cu;

		pol_snap_loaded(s, NULL, &cu);
		if (took > cu)
			pol_snap_set_load_us(s, took);
	}
	pthread_mutex_lock(&w->lock);
	if (!ret) {
		pol_store_set(w->store, s);
		w->st.loads++;
		w->st.from_cache = 0;
		w->st.version = pol_snap_version(s);
		LOG_INFO("policy version %lld published",
			 (long long)w->st.version);
	} else if (ret == EIO) {
		w->st.db_errors++;
		LOG_WARN("policy load failed: %s", err);
	} else {
		w->st.refused++;
		LOG_ERR("policy refused: %s; keeping version %lld", err,
			(long long)w->st.version);
	}
	pthread_mutex_unlock(&w->lock);
	pol_snap_deref(s);
	return ret == EIO ? EIO : 0;
}

/* The database is unreachable and nothing was published yet: serve the
   cache file's policy (once; the next load from the database replaces
   it). */
static void
from_cache(struct db_watch *w)
{
	struct pol_snap *s = NULL, *cur;
	char err[512] = "";
	int ret;

	if (!w->cache || w->cache_tried)
		return;
	w->cache_tried = true;
	cur = pol_store_get(w->store);
	pol_snap_deref(cur);
	if (cur)
		return;
	ret = db_policy_cache_load(w->cache, (int64_t)time(NULL), &s, err,
				   sizeof(err));
	if (ret) {
		LOG_ERR("database unreachable and no policy cache: %s", err);
		return;
	}
	pthread_mutex_lock(&w->lock);
	pol_store_set(w->store, s);
	w->st.version = pol_snap_version(s);
	w->st.from_cache = 1;
	pthread_mutex_unlock(&w->lock);
	LOG_WARN("database unreachable: serving policy version %lld from the "
		 "cache %s until it is back",
		 (long long)pol_snap_version(s), w->cache);
	pol_snap_deref(s);
}

static void
set_connected(struct db_watch *w, int up, bool error)
{
	pthread_mutex_lock(&w->lock);
	w->st.connected = up;
	if (up)
		w->st.connects++;
	if (error)
		w->st.db_errors++;
	pthread_mutex_unlock(&w->lock);
}

/* Connected: serve notifications until the connection fails or stop.
   Returns 1 on stop. */
static int
serve(struct db_watch *w, PGconn *c)
{
	uint64_t due = 0, refresh = now_ms() + w->cfg.refresh_s * 1000ull;
	bool rd;
	PGnotify *n;

	if (reload(w, c))
		return 0;
	for (;;) {
		uint64_t t, until;

		/* A NOTIFY that arrived while a query (the reload) ran is
		   already parsed by libpq and will not wake the socket:
		   take those before sleeping on it. */
		while ((n = PQnotifies(c))) {
			if (!due)
				due = now_ms() + w->cfg.debounce_ms;
			PQfreemem(n);
		}
		t = now_ms();
		until = due ? due : refresh;
		if (wait_for(w, PQsocket(c), until > t ? until - t : 0, &rd))
			return 1;
		if (rd && !PQconsumeInput(c))
			return 0;
		if (PQstatus(c) != CONNECTION_OK)
			return 0;
		while ((n = PQnotifies(c))) {
			if (!due) /* folded: the first one sets the time */
				due = now_ms() + w->cfg.debounce_ms;
			PQfreemem(n);
		}
		t = now_ms();
		if ((due && t >= due) || t >= refresh) {
			due = 0;
			refresh = t + w->cfg.refresh_s * 1000ull;
			if (reload(w, c))
				return 0;
		}
	}
}

static void *
watch_main(void *arg)
{
	struct db_watch *w = arg;
	uint64_t backoff = w->cfg.backoff_min_ms;
	bool rd;

	for (;;) {
		PGconn *c = PQconnectdb(w->dsn);
		PGresult *r = NULL;
		int stop = 0;

		if (PQstatus(c) == CONNECTION_OK)
			r = PQexec(c, "LISTEN " DB_POLICY_CHANNEL);
		if (r && PQresultStatus(r) == PGRES_COMMAND_OK) {
			PQclear(r);
			set_connected(w, 1, false);
			backoff = w->cfg.backoff_min_ms;
			stop = serve(w, c);
			set_connected(w, 0, !stop);
		} else {
			PQclear(r);
			LOG_WARN("policy db: %s", PQerrorMessage(c));
			set_connected(w, 0, true);
			from_cache(w);
		}
		PQfinish(c);
		if (stop || wait_for(w, -1, backoff, &rd))
			break;
		backoff = backoff * 2 > w->cfg.backoff_max_ms
				  ? w->cfg.backoff_max_ms
				  : backoff * 2;
	}
	return NULL;
}

int
db_watch_start(struct db_watch **wp, const struct db_watch_cfg *cfg,
	       struct pol_store *store)
{
	struct db_watch *w;
	int err;

	if (!wp || !cfg || !cfg->dsn || !store)
		return EINVAL;
	w = calloc(1, sizeof(*w));
	if (!w)
		return ENOMEM;
	w->cfg = *cfg;
	w->cfg.debounce_ms = cfg->debounce_ms ? cfg->debounce_ms : 100;
	w->cfg.backoff_min_ms = cfg->backoff_min_ms ? cfg->backoff_min_ms : 100;
	w->cfg.backoff_max_ms =
		cfg->backoff_max_ms ? cfg->backoff_max_ms : 5000;
	w->cfg.refresh_s = cfg->refresh_s ? cfg->refresh_s : 86400;
	w->store = store;
	w->dsn = strdup(cfg->dsn);
	w->cache = cfg->cache && cfg->cache[0] ? strdup(cfg->cache) : NULL;
	pthread_mutex_init(&w->lock, NULL);
	if (!w->dsn || (cfg->cache && cfg->cache[0] && !w->cache) ||
	    pipe2(w->wake, O_CLOEXEC) != 0) {
		err = w->dsn && (w->cache || !cfg->cache || !cfg->cache[0])
			      ? errno
			      : ENOMEM;
		goto fail;
	}
	w->cfg.dsn = w->dsn;
	w->cfg.cache = w->cache;
	err = pthread_create(&w->thr, NULL, watch_main, w);
	if (!err) {
		*wp = w;
		return 0;
	}
	close(w->wake[0]);
	close(w->wake[1]);
fail:
	pthread_mutex_destroy(&w->lock);
	free(w->dsn);
	free(w->cache);
	free(w);
	return err;
}

void
db_watch_stop(struct db_watch *w)
{
	char b = 1;

	if (!w)
		return;
	if (write(w->wake[1], &b, 1) != 1)
		LOG_ERR("policy watcher: cannot wake the thread");
	pthread_join(w->thr, NULL);
	close(w->wake[0]);
	close(w->wake[1]);
	pthread_mutex_destroy(&w->lock);
	free(w->dsn);
	free(w->cache);
	free(w);
}

void
db_watch_stats_get(struct db_watch *w, struct db_watch_stats *st)
{
	pthread_mutex_lock(&w->lock);
	*st = w->st;
	pthread_mutex_unlock(&w->lock);
}
