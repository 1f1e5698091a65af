/* Time windows without global TZ state on the lookup path: at compile
   time, per zone, the UTC offset transitions over the snapshot's horizon
   are computed with the C library (TZ set under a mutex, then restored);
   lookups binary-search that table. Limit: exact over [now - 1 day, now +
   POL_TZ_DAYS] of the compile; outside it the nearest known offset is
   used (the watcher recompiles daily, see db.h). */
#include "db/pol_int.h"

#include <ctype.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* The one piece of process-wide state here: TZ is per process, so every
   compile in the process takes this lock while it borrows TZ. */
static pthread_mutex_t tz_lock = PTHREAD_MUTEX_INITIALIZER;

#define TZ_STEP 3600 /* transitions are further apart than an hour */

/* An IANA name the C library can load: a file under the zoneinfo
   folder, no "..", no leading "/". glibc falls back to UTC silently for
   unknown names, so this is checked here. */
static bool
tz_name_ok(const char *name)
{
	const char *dir = getenv("TZDIR");
	char path[512];
	const char *p;

	if (!name[0] || name[0] == '/' || strstr(name, ".."))
		return false;
	for (p = name; *p; p++) {
		if (!isalnum((unsigned char)*p) && !strchr("/_+-", *p))
			return false;
	}
	if (!dir || !*dir)
		dir = "/usr/share/zoneinfo";
	if ((size_t)snprintf(path, sizeof(path), "%s/%s", dir, name) >=
	    sizeof(path))
		return false;
	return access(path, R_OK) == 0;
}

static long
gmtoff_at(int64_t t)
{
	time_t tt = (time_t)t;
	struct tm tm;

	if (!localtime_r(&tt, &tm))
		return 0;
	return tm.tm_gmtoff;
}

static int
tz_push(struct pol_tz *tz, size_t *cap, int64_t at, int32_t off)
{
	if (tz->n == *cap) {
		size_t nc = *cap ? *cap * 2 : 8;
		int64_t *a = realloc(tz->at, nc * sizeof(*a));
		int32_t *o;

		if (!a)
			return ENOMEM;
		tz->at = a;
		o = realloc(tz->off, nc * sizeof(*o));
		if (!o)
			return ENOMEM;
		tz->off = o;
		*cap = nc;
	}
	tz->at[tz->n] = at;
	tz->off[tz->n++] = off;
	return 0;
}

/* Scan hour by hour; bisect each change to the second. TZ is set. */
static int
tz_scan(struct pol_tz *tz, int64_t now)
{
	int64_t t = now - 86400, end = now + (int64_t)POL_TZ_DAYS * 86400;
	long off = gmtoff_at(t), o;
	size_t cap = 0;
	int err = tz_push(tz, &cap, INT64_MIN, (int32_t)off);

	for (; !err && t < end; t += TZ_STEP) {
		int64_t lo = t, hi = t + TZ_STEP, mid;

		o = gmtoff_at(hi);
		if (o == off)
			continue;
		while (hi - lo > 1) { /* gmtoff(lo) == off, gmtoff(hi) != off */
			mid = lo + (hi - lo) / 2;
			if (gmtoff_at(mid) == off)
				lo = mid;
			else
				hi = mid;
		}
		off = gmtoff_at(hi);
		err = tz_push(tz, &cap, hi, (int32_t)off);
	}
	return err;
}

int
pol_tz_compute(struct pol_tz *tz, const char *name, int64_t now)
{
	char *saved = NULL;
	const char *old;
	int err = 0;

	memset(tz, 0, sizeof(*tz));
	if (!tz_name_ok(name))
		return EINVAL;
	tz->name = strdup(name);
	if (!tz->name)
		return ENOMEM;
	pthread_mutex_lock(&tz_lock);
	old = getenv("TZ");
	if (old && !(saved = strdup(old)))
		err = ENOMEM;
	if (!err && setenv("TZ", name, 1) != 0)
		err = errno;
	if (!err) {
		tzset();
		err = tz_scan(tz, now);
		if (saved)
			setenv("TZ", saved, 1);
		else
			unsetenv("TZ");
		tzset();
	}
	pthread_mutex_unlock(&tz_lock);
	free(saved);
	if (err)
		pol_tz_free(tz);
	return err;
}

void
pol_tz_free(struct pol_tz *tz)
{
	free(tz->name);
	free(tz->at);
	free(tz->off);
	memset(tz, 0, sizeof(*tz));
}

int32_t
pol_tz_offset(const struct pol_tz *tz, int64_t t)
{
	size_t lo = 0, hi = tz->n; /* last i with at[i] <= t */

	while (hi - lo > 1) {
		size_t mid = lo + (hi - lo) / 2;

		if (tz->at[mid] <= t)
			lo = mid;
		else
			hi = mid;
	}
	return tz->n ? tz->off[lo] : 0;
}

static int64_t
floor_div(int64_t a, int64_t b)
{
	return a / b - (a % b != 0 && (a < 0) != (b < 0));
}

bool
pol_win_open(const struct pol_snap *s, const struct pol_win *w, int64_t now)
{
	int64_t local = now + pol_tz_offset(&s->tzs[w->tz], now);
	int64_t days = floor_div(local, 86400);
	unsigned min = (unsigned)((local - days * 86400) / 60);
	unsigned wd = (unsigned)(((days + 3) % 7 + 7) % 7); /* 0: Monday */
	unsigned prev = (wd + 6) % 7;

	if (w->start < w->end)
		return (w->weekdays >> wd & 1) && min >= w->start &&
		       min < w->end;
	/* Crosses midnight (or start == end: the whole day). */
	return ((w->weekdays >> wd & 1) && min >= w->start) ||
	       ((w->weekdays >> prev & 1) && min < w->end);
}
