/* Route compilation: routes sorted by specificity into the called-prefix
   trie, with their time windows, ordered targets and failover codes. */
#include "db/pol_build_int.h"

#include <errno.h>
#include <stdbool.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct rtmp {
	struct pol_rt rt;
	const struct pol_route_cfg *cfg; /* borrowed from the builder */
};

static int __attribute__((format(printf, 3, 4)))
rfail(char *err, size_t errsz, const char *fmt, ...)
{
	va_list ap;

	if (err && errsz) {
		va_start(ap, fmt);
		vsnprintf(err, errsz, fmt, ap);
		va_end(ap);
	}
	return EINVAL;
}

/* Most specific first: source trunk, group, any; then the longer calling
   prefix; then lower priority; then lower id (stable, reproducible). */
static int
cmp_rt(const void *a, const void *b)
{
	const struct pol_rt *x = &((const struct rtmp *)a)->rt;
	const struct pol_rt *y = &((const struct rtmp *)b)->rt;

	if (x->src_kind != y->src_kind)
		return x->src_kind > y->src_kind ? -1 : 1;
	if (x->calling_len != y->calling_len)
		return x->calling_len > y->calling_len ? -1 : 1;
	if (x->priority != y->priority)
		return x->priority < y->priority ? -1 : 1;
	return (x->id > y->id) - (x->id < y->id);
}

static int
cmp_win(const void *a, const void *b)
{
	const struct pol_window_cfg *x = a, *y = b;

	if (x->route != y->route)
		return x->route < y->route ? -1 : 1;
	return (x->id > y->id) - (x->id < y->id);
}

static int
cmp_tgt(const void *a, const void *b)
{
	const struct pol_target_cfg *x = a, *y = b;

	if (x->route != y->route)
		return x->route < y->route ? -1 : 1;
	if (x->priority != y->priority)
		return x->priority < y->priority ? -1 : 1;
	return (x->id > y->id) - (x->id < y->id);
}

/* First index in a (sorted by route) whose route is >= id. */
#define LOWER_BOUND(arr, n, id, out)                                           \
	do {                                                                   \
		size_t lo_ = 0, hi_ = (n);                                     \
		while (lo_ < hi_) {                                            \
			size_t m_ = lo_ + (hi_ - lo_) / 2;                     \
			if ((arr)[m_].route < (id))                            \
				lo_ = m_ + 1;                                  \
			else                                                   \
				hi_ = m_;                                      \
		}                                                              \
		(out) = lo_;                                                   \
	} while (0)

static int
intern_tz(struct pol_snap *s, const struct pol_window_cfg *w, int64_t now,
	  uint32_t *idx, char *err, size_t errsz)
{
	struct pol_tz *tz;
	size_t i;
	int ret;

	for (i = 0; i < s->ntzs; i++) {
		if (strcmp(s->tzs[i].name, w->tz) == 0) {
			*idx = (uint32_t)i;
			return 0;
		}
	}
	tz = realloc(s->tzs, (s->ntzs + 1) * sizeof(*tz));
	if (!tz)
		return ENOMEM;
	s->tzs = tz;
	ret = pol_tz_compute(&s->tzs[s->ntzs], w->tz, now);
	if (ret == EINVAL)
		return rfail(err, errsz,
			     "route_windows id=%lld: unknown time zone '%s'",
			     (long long)w->id, w->tz);
	if (ret)
		return ret;
	s->mem += sizeof(*tz) + strlen(w->tz) + 1 +
		  s->tzs[s->ntzs].n * (sizeof(int64_t) + sizeof(int32_t));
	*idx = (uint32_t)s->ntzs++;
	return 0;
}

/* Validate one route and resolve its source. */
static int
route_prep(struct pol_snap *s, const struct pol_route_cfg *r, struct rtmp *t,
	   char *err, size_t errsz)
{
	uint32_t gid;

	memset(t, 0, sizeof(*t));
	t->cfg = r;
	t->rt.id = r->id;
	t->rt.priority = r->priority;
	if (!pol_prefix_ok(r->called_prefix) ||
	    strlen(r->called_prefix) >= POL_NUM_MAX)
		return rfail(err, errsz,
			     "routes id=%lld: bad called_prefix '%s'",
			     (long long)r->id, r->called_prefix);
	if (!pol_prefix_ok(r->calling_prefix) ||
	    strlen(r->calling_prefix) >= POL_NUM_MAX)
		return rfail(err, errsz,
			     "routes id=%lld: bad calling_prefix '%s'",
			     (long long)r->id, r->calling_prefix);
	if (r->nfailover > POL_FAILOVER_MAX)
		return rfail(err, errsz,
			     "routes id=%lld: %zu failover codes, at most %d",
			     (long long)r->id, r->nfailover, POL_FAILOVER_MAX);
	if (r->src_trunk && r->src_group)
		return rfail(err, errsz,
			     "routes id=%lld: both a source trunk and a group",
			     (long long)r->id);
	if (r->src_trunk) {
		t->rt.src_kind = POL_SRC_TRUNK;
		t->rt.src = pol_trunk_idx(s, r->src_trunk);
		if (t->rt.src == POL_NONE)
			return rfail(err, errsz,
				     "routes id=%lld: unknown source trunk "
				     "%lld",
				     (long long)r->id, (long long)r->src_trunk);
	} else if (r->src_group) {
		t->rt.src_kind = POL_SRC_GROUP;
		t->rt.src = POL_NONE; /* a group no trunk is in: never */
		for (gid = 0; gid < s->ngroups; gid++) {
			if (strcmp(s->groups[gid], r->src_group) == 0)
				t->rt.src = gid;
		}
	}
	t->rt.calling_len = (uint32_t)strlen(r->calling_prefix);
	return 0;
}

/* Windows, targets and failover codes of route t, appended to s. */
static int
route_attach(struct pol_build *b, struct pol_snap *s, struct rtmp *t,
	     int64_t now, size_t *caps, char *err, size_t errsz)
{
	size_t i, k;
	int ret;

	LOWER_BOUND(b->wins.v, b->wins.n, t->rt.id, i);
	t->rt.win = (uint32_t)s->nwins;
	for (; i < b->wins.n && b->wins.v[i].route == t->rt.id; i++) {
		const struct pol_window_cfg *w = &b->wins.v[i];
		struct pol_win pw = {w->weekdays, w->start_min, w->end_min, 0};

		ret = intern_tz(s, w, now, &pw.tz, err, errsz);
		if (!ret)
			ret = pol_push((void **)&s->wins, &s->nwins, &caps[0],
				       sizeof(pw), &pw);
		if (ret)
			return ret;
		t->rt.nwin++;
	}
	LOWER_BOUND(b->tgts.v, b->tgts.n, t->rt.id, i);
	t->rt.tgt = (uint32_t)s->ntgts;
	for (; i < b->tgts.n && b->tgts.v[i].route == t->rt.id; i++) {
		const struct pol_target_cfg *g = &b->tgts.v[i];
		struct pol_tgt pt = {pol_trunk_idx(s, g->trunk), g->priority,
				     g->weight};

		if (pt.trunk == POL_NONE)
			return rfail(err, errsz,
				     "route_targets id=%lld: unknown trunk "
				     "%lld",
				     (long long)g->id, (long long)g->trunk);
		if (!s->trunks[pt.trunk].enabled)
			continue;
		if (t->rt.ntgt == POL_TARGETS_MAX)
			return rfail(err, errsz,
				     "routes id=%lld: more than %d targets",
				     (long long)t->rt.id, POL_TARGETS_MAX);
		ret = pol_push((void **)&s->tgts, &s->ntgts, &caps[1],
			       sizeof(pt), &pt);
		if (ret)
			return ret;
		t->rt.ntgt++;
	}
	t->rt.trunk1 = t->rt.ntgt == 1 ? s->tgts[t->rt.tgt].trunk : POL_NONE;
	t->rt.fo = (uint32_t)s->nfo;
	for (k = 0; k < t->cfg->nfailover; k++) {
		ret = pol_push((void **)&s->fo, &s->nfo, &caps[2],
			       sizeof(uint16_t), &t->cfg->failover[k]);
		if (ret)
			return ret;
	}
	t->rt.nfo = (uint32_t)t->cfg->nfailover;
	return 0;
}

#define WEEK_MIN (7 * 1440)

/* The minutes of the week [Monday 00:00, +WEEK_MIN) a window is open,
   as at most 14 intervals: one per weekday it starts on, a window whose
   end is not after its start running past midnight into the next day
   (Sunday's into Monday: split at the week's end). */
static unsigned
win_spans(const struct pol_win *w, unsigned sp[14][2])
{
	unsigned d, n = 0;

	for (d = 0; d < 7; d++) {
		unsigned lo = d * 1440 + w->start;
		unsigned hi =
			d * 1440 + w->end + (w->end > w->start ? 0 : 1440);

		if (!(w->weekdays & (1u << d)))
			continue;
		if (hi > WEEK_MIN) {
			sp[n][0] = 0;
			sp[n++][1] = hi - WEEK_MIN;
			hi = WEEK_MIN;
		}
		sp[n][0] = lo;
		sp[n++][1] = hi;
	}
	return n;
}

/* Are windows w and v (one zone) open at a common minute? */
static bool
win_overlap(const struct pol_win *w, const struct pol_win *v)
{
	unsigned a[14][2], b[14][2], na = win_spans(w, a), nb = win_spans(v, b);
	unsigned i, j;

	for (i = 0; i < na; i++)
		for (j = 0; j < nb; j++)
			if (a[i][0] < b[j][1] && b[j][0] < a[i][1])
				return true;
	return false;
}

/* Can routes x and y be open at the same time? A route without windows
   always is; windows in different zones are not compared (their offset
   moves with daylight saving), those in one zone are. */
static bool
times_overlap(const struct pol_snap *s, const struct pol_rt *x,
	      const struct pol_rt *y)
{
	uint32_t i, j;

	if (!x->nwin || !y->nwin)
		return true;
	for (i = 0; i < x->nwin; i++)
		for (j = 0; j < y->nwin; j++) {
			const struct pol_win *w = &s->wins[x->win + i];
			const struct pol_win *v = &s->wins[y->win + j];

			if (w->tz == v->tz && win_overlap(w, v))
				return true;
		}
	return false;
}

static int
cmp_key(const void *a, const void *b)
{
	const struct rtmp *x = *(const struct rtmp *const *)a;
	const struct rtmp *y = *(const struct rtmp *const *)b;
	int r;

	if (x->rt.src_kind != y->rt.src_kind)
		return x->rt.src_kind < y->rt.src_kind ? -1 : 1;
	if (x->rt.src != y->rt.src)
		return x->rt.src < y->rt.src ? -1 : 1;
	if ((r = strcmp(x->cfg->called_prefix, y->cfg->called_prefix)))
		return r;
	if ((r = strcmp(x->cfg->calling_prefix, y->cfg->calling_prefix)))
		return r;
	if (x->rt.priority != y->rt.priority)
		return x->rt.priority < y->rt.priority ? -1 : 1;
	return (x->rt.id > y->rt.id) - (x->rt.id < y->rt.id);
}

/* The "overlapping contradictory rules that cannot be ordered":
   two routes with targets, the same source, called and calling prefixes
   and priority, open at a common time: which one a call takes would only
   depend on their ids. The policy is refused naming both. */
static int
route_conflicts(const struct pol_snap *s, struct rtmp *tmp, size_t n, char *err,
		size_t errsz)
{
	struct rtmp **v = malloc((n ? n : 1) * sizeof(*v));
	size_t i, j, k = 0;
	int ret = 0;

	if (!v)
		return ENOMEM;
	for (i = 0; i < n; i++)
		if (tmp[i].rt.ntgt)
			v[k++] = &tmp[i];
	if (k > 1)
		qsort(v, k, sizeof(*v), cmp_key);
	for (i = 0; !ret && i + 1 < k; i++) {
		/* a run of equal keys (but the id): every pair of it */
		for (j = i + 1; !ret && j < k; j++) {
			const struct rtmp *x = v[i], *y = v[j];

			if (x->rt.src_kind != y->rt.src_kind ||
			    x->rt.src != y->rt.src ||
			    x->rt.priority != y->rt.priority ||
			    strcmp(x->cfg->called_prefix,
				   y->cfg->called_prefix) ||
			    strcmp(x->cfg->calling_prefix,
				   y->cfg->calling_prefix))
				break;
			if (times_overlap(s, &x->rt, &y->rt))
				ret = rfail(err, errsz,
					    "routes id=%lld and id=%lld: the "
					    "same source, called prefix '%s', "
					    "calling prefix '%s' and priority "
					    "%d at overlapping times: they "
					    "cannot be ordered (give them "
					    "different priorities)",
					    (long long)x->rt.id,
					    (long long)y->rt.id,
					    x->cfg->called_prefix,
					    x->cfg->calling_prefix,
					    (int)x->rt.priority);
		}
	}
	free(v);
	return ret;
}

/* Emit the sorted routes that have targets and build the trie. */
static int
route_emit(struct pol_snap *s, struct rtmp *tmp, size_t n)
{
	struct pol_tbuild tb;
	size_t i;
	int ret = pol_tbuild_init(&tb);

	s->rts = pol_big_calloc(n ? n : 1, sizeof(*s->rts));
	if (!s->rts)
		ret = ENOMEM;
	for (i = 0; !ret && i < n; i++) {
		const char *cp = NULL;
		char *d;

		if (!tmp[i].rt.ntgt)
			continue; /* every target disabled: never chosen */
		if (!tmp[i].cfg->calling_prefix[0]) {
			cp = ""; /* the common case: no copy */
		} else {
			d = strdup(tmp[i].cfg->calling_prefix);
			if (!d || pol_push((void **)&s->strs, &s->nstrs,
					   &s->cstrs, sizeof(char *), &d)) {
				free(d);
				ret = ENOMEM;
				break;
			}
			cp = d;
			s->mem += strlen(d) + 1;
		}
		s->rts[s->nrts] = tmp[i].rt;
		s->rts[s->nrts].calling = cp;
		ret = pol_tbuild_add(&tb, tmp[i].cfg->called_prefix,
				     (uint32_t)s->nrts++);
	}
	if (!ret)
		ret = pol_tbuild_finish(&tb, &s->routes);
	pol_tbuild_fini(&tb);
	return ret;
}

int
pol_compile_routes(struct pol_build *b, struct pol_snap *s, int64_t now,
		   char *err, size_t errsz)
{
	struct rtmp *tmp = calloc(b->routes.n ? b->routes.n : 1, sizeof(*tmp));
	size_t caps[3] = {0, 0, 0}, n = 0, i;
	int ret = 0;

	if (!tmp)
		return ENOMEM;
	if (b->wins.n)
		qsort(b->wins.v, b->wins.n, sizeof(*b->wins.v), cmp_win);
	if (b->tgts.n)
		qsort(b->tgts.v, b->tgts.n, sizeof(*b->tgts.v), cmp_tgt);
	for (i = 0; !ret && i < b->routes.n; i++) {
		if (!b->routes.v[i].enabled)
			continue;
		ret = route_prep(s, &b->routes.v[i], &tmp[n], err, errsz);
		if (!ret)
			ret = route_attach(b, s, &tmp[n], now, caps, err,
					   errsz);
		n++;
	}
	if (!ret)
		ret = route_conflicts(s, tmp, n, err, errsz);
	if (!ret) {
		if (n)
			qsort(tmp, n, sizeof(*tmp), cmp_rt);
		ret = route_emit(s, tmp, n);
	}
	s->mem += s->nrts * sizeof(*s->rts) + caps[0] * sizeof(struct pol_win) +
		  caps[1] * sizeof(struct pol_tgt) +
		  caps[2] * sizeof(uint16_t) +
		  s->routes.nnodes * sizeof(struct pol_tnode) +
		  s->routes.nvals * sizeof(uint32_t);
	free(tmp);
	return ret;
}
