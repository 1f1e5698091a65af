/* Policy compilation: builder rows -> immutable snapshot (tries, CIDR
   index, JIT-compiled PCRE2 rewrites, time-zone tables). Any row that
   cannot be compiled refuses the whole policy with a message naming it. */
#define LOG_MODULE "pol"
#include "db/pol_build_int.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "stack/log.h"

struct cctx {
	struct pol_build *b;
	struct pol_snap *s;
	int64_t now;
	char *err;
	size_t errsz;
};

static int __attribute__((format(printf, 2, 3)))
fail(struct cctx *c, const char *fmt, ...)
{
	va_list ap;

	if (c->err && c->errsz) {
		va_start(ap, fmt);
		vsnprintf(c->err, c->errsz, fmt, ap);
		va_end(ap);
	}
	return EINVAL;
}

/* Keep a copy of str in the snapshot; *out NULL for NULL. */
static int
snap_str(struct pol_snap *s, const char *str, const char **out)
{
	char *d;
	int err;

	*out = NULL;
	if (!str)
		return 0;
	d = strdup(str);
	if (!d)
		return ENOMEM;
	err = pol_push((void **)&s->strs, &s->nstrs, &s->cstrs, sizeof(char *),
		       &d);
	if (err) {
		free(d);
		return err;
	}
	s->mem += strlen(d) + 1;
	*out = d;
	return 0;
}

static int
cmp_tid(const void *a, const void *b, void *arg)
{
	const struct pol_trunk *t = arg;
	int64_t x = t[*(const uint32_t *)a].id, y = t[*(const uint32_t *)b].id;

	return (x > y) - (x < y);
}

uint32_t
pol_trunk_idx(const struct pol_snap *s, int64_t id)
{
	size_t lo = 0, hi = s->ntrunks;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int64_t v = s->trunks[s->tid[mid]].id;

		if (v == id)
			return s->tid[mid];
		if (v < id)
			lo = mid + 1;
		else
			hi = mid;
	}
	return POL_NONE;
}

static int
intern_group(struct pol_snap *s, const char *g, uint32_t *gid)
{
	size_t i, cap = s->ngroups;
	const char *d;
	int err;

	for (i = 0; i < s->ngroups; i++) {
		if (strcmp(s->groups[i], g) == 0) {
			*gid = (uint32_t)i;
			return 0;
		}
	}
	err = snap_str(s, g, &d);
	if (!err)
		err = pol_push((void **)&s->groups, &s->ngroups, &cap,
			       sizeof(char *), &d);
	*gid = (uint32_t)(s->ngroups - 1);
	return err;
}

/* Add each comma-separated CIDR of trunk i to the source index. */
static int
trunk_cidrs(struct cctx *c, uint32_t i)
{
	const struct pol_trunk *t = &c->s->trunks[i];
	const char *p = t->cidrs;
	char one[64];
	size_t l;
	int err;

	while (p && *p) {
		p += strspn(p, " ,");
		l = strcspn(p, " ,");
		if (!l)
			break;
		if (l >= sizeof(one))
			return fail(c, "trunks id=%lld: CIDR too long",
				    (long long)t->id);
		memcpy(one, p, l);
		one[l] = '\0';
		err = pol_cidx_add(&c->s->cidx, one, i, t->in_port);
		if (err == EINVAL)
			return fail(c, "trunks id=%lld: bad CIDR '%s'",
				    (long long)t->id, one);
		if (err)
			return err;
		p += l;
	}
	return 0;
}

static int
compile_trunks(struct cctx *c)
{
	struct pol_snap *s = c->s;
	size_t n = c->b->trunks.n, i;
	int err;

	s->trunks = calloc(n ? n : 1, sizeof(*s->trunks));
	s->tx = pol_big_calloc(n ? n : 1, sizeof(*s->tx));
	s->tgroup = calloc(n ? n : 1, sizeof(*s->tgroup));
	s->tid = calloc(n ? n : 1, sizeof(*s->tid));
	if (!s->trunks || !s->tx || !s->tgroup || !s->tid)
		return ENOMEM;
	for (i = 0; i < n; i++) {
		err = pol_trunk_copy(&s->trunks[i], &c->b->trunks.v[i],
				     &s->mem);
		if (err)
			return err;
		s->ntrunks++;
		s->tid[i] = (uint32_t)i;
		if (s->trunks[i].media_addr && *s->trunks[i].media_addr) {
			/* the relay binds the trunk's media there: one of
			   our own numeric addresses */
			unsigned char a[16];

			if (inet_pton(AF_INET, s->trunks[i].media_addr, a) !=
				    1 &&
			    inet_pton(AF_INET6, s->trunks[i].media_addr, a) !=
				    1)
				return fail(c,
					    "trunks id=%lld: media_address "
					    "'%s' is not a numeric IPv4 or "
					    "IPv6 address",
					    (long long)s->trunks[i].id,
					    s->trunks[i].media_addr);
		}
		s->tgroup[i] = POL_NONE;
		if (s->trunks[i].group) {
			err = intern_group(s, s->trunks[i].group,
					   &s->tgroup[i]);
			if (err)
				return err;
		}
	}
	if (n)
		qsort_r(s->tid, n, sizeof(*s->tid), cmp_tid, s->trunks);
	for (i = 1; i < n; i++) {
		if (s->trunks[s->tid[i]].id == s->trunks[s->tid[i - 1]].id)
			return fail(c, "trunks id=%lld: duplicate id",
				    (long long)s->trunks[s->tid[i]].id);
	}
	err = pol_cidx_init(&s->cidx);
	for (i = 0; !err && i < n; i++) {
		if (s->trunks[i].enabled)
			err = trunk_cidrs(c, (uint32_t)i);
	}
	return err ? err : pol_cidx_finish(&s->cidx);
}

/* Order by priority, then id (rewrite and caller-ID rules). */
static int
cmp_rw(const void *a, const void *b)
{
	const struct pol_rewrite_cfg *x = a, *y = b;

	if (x->priority != y->priority)
		return x->priority < y->priority ? -1 : 1;
	return (x->id > y->id) - (x->id < y->id);
}

static int
cmp_cid(const void *a, const void *b)
{
	const struct pol_cid_cfg *x = a, *y = b;

	if (x->priority != y->priority)
		return x->priority < y->priority ? -1 : 1;
	return (x->id > y->id) - (x->id < y->id);
}

/* Every $N or ${N} in a replacement must name an existing group. */
static int
check_repl(struct cctx *c, const struct pol_rewrite_cfg *r, uint32_t ncap)
{
	const char *p = r->replacement;
	unsigned long g;
	char *end;

	for (; (p = strchr(p, '$')); p++) {
		if (p[1] == '$') {
			p++;
			continue;
		}
		g = strtoul(p + 1 + (p[1] == '{'), &end, 10);
		if (end == p + 1 + (p[1] == '{'))
			continue; /* not a numbered group: PCRE2 checks */
		if (g > ncap)
			return fail(c,
				    "rewrite_rules id=%lld: replacement '%s' "
				    "refers to group %lu, pattern has %u",
				    (long long)r->id, r->replacement, g, ncap);
	}
	return 0;
}

/* Compiled patterns by their text while rewrites compile: rules with the
   same pattern (the same E.164 normalisation on many trunks is the usual
   case) share one compiled and JIT-compiled code, so a lookup through any
   of them runs hot machine code instead of one cold copy each. */
struct rw_seen {
	const char **pat; /* open addressing, NULL: free */
	pcre2_code **re;
	uint32_t *first; /* index in s->rws of the pattern's first rule */
	size_t size;	 /* a power of two */
};

static uint64_t
str_hash(const char *p)
{
	uint64_t h = 0xcbf29ce484222325ULL;

	while (*p)
		h = (h ^ (unsigned char)*p++) * 0x100000001b3ULL;
	return h;
}

/* The slot of pattern p: its code if seen, else where it goes. */
static size_t
seen_slot(const struct rw_seen *sn, const char *p)
{
	size_t i = (size_t)str_hash(p) & (sn->size - 1);

	while (sn->pat[i] && strcmp(sn->pat[i], p))
		i = (i + 1) & (sn->size - 1);
	return i;
}

static int
compile_one_rw(struct cctx *c, const struct pol_rewrite_cfg *r, uint32_t wi,
	       struct rw_seen *sn)
{
	struct pol_rw *w = &c->s->rws[wi];
	PCRE2_UCHAR msg[160];
	PCRE2_SIZE off;
	uint32_t ncap = 0;
	size_t sz = 0, slot;
	int ec, err;

	if (r->trunk && pol_trunk_idx(c->s, r->trunk) == POL_NONE)
		return fail(c, "rewrite_rules id=%lld: unknown trunk %lld",
			    (long long)r->id, (long long)r->trunk);
	w->id = r->id;
	w->trunk = r->trunk;
	w->dir = r->dir;
	w->field = r->field;
	w->canon = wi;
	slot = seen_slot(sn, r->pattern);
	if (sn->pat[slot]) {
		const struct pol_rw *f0 = &c->s->rws[sn->first[slot]];

		w->re = sn->re[slot];
		w->shared = true;
		/* The same pattern and replacement: lookups run the first
		   such rule's copy, hot in cache for all of them. */
		if (strcmp((const char *)f0->repl, r->replacement) == 0)
			w->canon = sn->first[slot];
		pcre2_pattern_info(w->re, PCRE2_INFO_CAPTURECOUNT, &ncap);
		err = check_repl(c, r, ncap);
		if (err)
			return err;
		w->repl = (PCRE2_UCHAR *)strdup(r->replacement);
		if (!w->repl)
			return ENOMEM;
		c->s->mem += 2 * strlen(r->replacement) + 1;
		return pol_rw_prepare(w, r->pattern);
	}
	w->re = pcre2_compile((PCRE2_SPTR)r->pattern, PCRE2_ZERO_TERMINATED, 0,
			      &ec, &off, NULL);
	if (!w->re) {
		pcre2_get_error_message(ec, msg, sizeof(msg));
		return fail(c,
			    "rewrite_rules id=%lld: bad pattern '%s' at "
			    "offset %zu: %s",
			    (long long)r->id, r->pattern, (size_t)off, msg);
	}
	sn->pat[slot] = r->pattern;
	sn->re[slot] = w->re;
	sn->first[slot] = wi;
	pcre2_pattern_info(w->re, PCRE2_INFO_CAPTURECOUNT, &ncap);
	if (ncap > POL_CAPTURES_MAX)
		return fail(c, "rewrite_rules id=%lld: %u groups, at most %d",
			    (long long)r->id, ncap, POL_CAPTURES_MAX);
	err = check_repl(c, r, ncap);
	if (err)
		return err;
	/* No JIT (platform or build): PCRE2's interpreter is used. */
	if (pcre2_jit_compile(w->re, PCRE2_JIT_COMPLETE) != 0)
		LOG_DBG("rewrite_rules id=%lld: no JIT", (long long)r->id);
	pcre2_pattern_info(w->re, PCRE2_INFO_SIZE, &sz);
	c->s->mem += sz;
	sz = 0;
	pcre2_pattern_info(w->re, PCRE2_INFO_JITSIZE, &sz);
	c->s->mem += sz;
	w->repl = (PCRE2_UCHAR *)strdup(r->replacement);
	if (!w->repl)
		return ENOMEM;
	c->s->mem += 2 * strlen(r->replacement) + 1; /* and its template */
	return pol_rw_prepare(w, r->pattern);
}

/* One chain: rules of (d, f) from glob (global) and own (trunk t's),
   merged in rule order; each entry is the rule's canonical copy. */
static int
build_chain(struct pol_snap *s, size_t t, enum pol_dir d, enum pol_field f,
	    const uint32_t *glob, size_t nglob, const uint32_t *own,
	    size_t nown, size_t *cap)
{
	struct pol_chain *ch = &s->tx[t].d[d].rw[f];
	size_t g = 0, o = 0;
	int err;

	ch->first = (uint32_t)s->nchain;
	ch->n = 0;
	while (g < nglob || o < nown) {
		uint32_t k = (o >= nown || (g < nglob && glob[g] < own[o]))
				     ? glob[g++]
				     : own[o++];
		const struct pol_rw *w = &s->rws[k];

		if (w->dir != d || w->field != f)
			continue;
		err = pol_push((void **)&s->chain, &s->nchain, cap,
			       sizeof(uint32_t), &w->canon);
		if (err)
			return err;
		ch->n++;
	}
	if (ch->n == 1) /* the rule itself, one cache miss less */
		ch->first = s->chain[--s->nchain];
	return 0;
}

/* Rewrite chains: for each trunk, direction and field, its own rules and
   the global ones (trunk 0) in rule order (s->rws is sorted). Rules are
   bucketed per trunk first, so this is linear in trunks times global
   rules plus rules, not trunks times rules. A chain of one rule holds
   the rule itself (struct pol_chain). */
static int
build_chains(struct pol_snap *s, size_t *cap)
{
	uint32_t *cnt = calloc(s->ntrunks + 1, sizeof(*cnt)), *own = NULL;
	uint32_t *glob = malloc((s->nrws ? s->nrws : 1) * sizeof(*glob));
	size_t i, t, nglob = 0;
	int err = ENOMEM, d, f;

	if (!cnt || !glob)
		goto out;
	for (i = 0; i < s->nrws; i++) {
		if (s->rws[i].trunk)
			cnt[pol_trunk_idx(s, s->rws[i].trunk) + 1]++;
		else
			glob[nglob++] = (uint32_t)i;
	}
	for (t = 0; t < s->ntrunks; t++)
		cnt[t + 1] += cnt[t];
	own = malloc((cnt[s->ntrunks] ? cnt[s->ntrunks] : 1) * sizeof(*own));
	if (!own)
		goto out;
	for (i = 0; i < s->nrws; i++) { /* per trunk, in rule order */
		if (s->rws[i].trunk)
			own[cnt[pol_trunk_idx(s, s->rws[i].trunk)]++] =
				(uint32_t)i;
	}
	for (t = s->ntrunks; t > 0; t--) /* back to bucket starts */
		cnt[t] = cnt[t - 1];
	cnt[0] = 0;
	err = 0;
	for (t = 0; !err && t < s->ntrunks; t++) {
		for (d = 0; d < POL_DIR_COUNT; d++) {
			for (f = 0; !err && f < POL_F_COUNT; f++)
				err = build_chain(s, t, d, f, glob, nglob,
						  own + cnt[t],
						  cnt[t + 1] - cnt[t], cap);
		}
	}
out:
	free(glob);
	free(own);
	free(cnt);
	return err;
}

static int
compile_rewrites(struct cctx *c)
{
	struct pol_build *b = c->b;
	struct pol_snap *s = c->s;
	struct rw_seen sn = {NULL, NULL, NULL, 0};
	size_t i, cap = 0;
	int err = 0;

	if (b->rws.n)
		qsort(b->rws.v, b->rws.n, sizeof(*b->rws.v), cmp_rw);
	s->rws = calloc(b->rws.n ? b->rws.n : 1, sizeof(*s->rws));
	if (!s->rws)
		return ENOMEM;
	for (sn.size = 16; sn.size < 2 * b->rws.n; sn.size *= 2)
		;
	sn.pat = calloc(sn.size, sizeof(*sn.pat));
	sn.re = calloc(sn.size, sizeof(*sn.re));
	sn.first = calloc(sn.size, sizeof(*sn.first));
	if (!sn.pat || !sn.re || !sn.first)
		err = ENOMEM;
	for (i = 0; !err && i < b->rws.n; i++) {
		if (!b->rws.v[i].enabled)
			continue;
		err = compile_one_rw(c, &b->rws.v[i], (uint32_t)s->nrws++, &sn);
	}
	free(sn.pat);
	free(sn.re);
	free(sn.first);
	if (!err)
		err = build_chains(s, &cap);
	s->mem += cap * sizeof(uint32_t);
	return err;
}

static int
compile_cids(struct cctx *c)
{
	struct pol_build *b = c->b;
	struct pol_snap *s = c->s;
	size_t i, t;
	int err = 0;

	if (b->cids.n)
		qsort(b->cids.v, b->cids.n, sizeof(*b->cids.v), cmp_cid);
	for (i = 0; i < b->cids.n; i++) {
		const struct pol_cid_cfg *r = &b->cids.v[i];

		if (r->trunk && pol_trunk_idx(s, r->trunk) == POL_NONE)
			return fail(c,
				    "caller_id_rules id=%lld: unknown trunk "
				    "%lld",
				    (long long)r->id, (long long)r->trunk);
	}
	/* Walk backwards so the first rule by priority is written last. */
	for (i = b->cids.n; !err && i-- > 0;) {
		const struct pol_cid_cfg *r = &b->cids.v[i];
		const char *val;

		if (!r->enabled)
			continue;
		err = snap_str(s, r->pai_value, &val);
		for (t = 0; !err && t < s->ntrunks; t++) {
			struct pol_cid *cid = &s->tx[t].d[r->dir].cid;

			if (r->trunk && r->trunk != s->trunks[t].id)
				continue;
			cid->pai = r->pai;
			cid->pai_value = val;
			cid->privacy = r->privacy;
		}
	}
	return err;
}

static int
compile_lists(struct cctx *c)
{
	struct pol_build *b = c->b;
	struct pol_snap *s = c->s;
	struct pol_tbuild tb[POL_F_COUNT];
	size_t i;
	int err = 0, f, pass;

	memset(tb, 0, sizeof(tb));
	s->lents = calloc(b->lists.n ? b->lists.n : 1, sizeof(*s->lents));
	for (f = 0; f < POL_F_COUNT; f++) {
		if (!err)
			err = pol_tbuild_init(&tb[f]);
	}
	if (!s->lents)
		err = ENOMEM;
	/* Blocks first: on one prefix, a block entry wins over an allow. */
	for (pass = 0; !err && pass < 2; pass++) {
		for (i = 0; !err && i < b->lists.n; i++) {
			const struct pol_list_cfg *l = &b->lists.v[i];
			struct pol_lent *e = &s->lents[s->nlents];

			if (!l->enabled || (int)l->kind != pass)
				continue;
			if (!pol_prefix_ok(l->prefix))
				err = fail(c,
					   "number_lists id=%lld: bad prefix "
					   "'%s'",
					   (long long)l->id, l->prefix);
			else if (l->status != 403 && l->status != 603)
				err = fail(c,
					   "number_lists id=%lld: status %u, "
					   "want 403 or 603",
					   (long long)l->id, l->status);
			if (err)
				break;
			e->kind = l->kind;
			e->status = l->status;
			err = snap_str(s, l->reason, &e->reason);
			if (!err)
				err = pol_tbuild_add(&tb[l->field], l->prefix,
						     (uint32_t)s->nlents++);
			if (l->kind == POL_LIST_ALLOW)
				s->allow[l->field] = true;
		}
	}
	for (f = 0; f < POL_F_COUNT; f++) {
		if (!err)
			err = pol_tbuild_finish(&tb[f], &s->lists[f]);
		pol_tbuild_fini(&tb[f]);
	}
	return err;
}

static void
account(struct pol_snap *s)
{
	size_t f;

	s->mem += sizeof(*s) + s->ntrunks * (sizeof(*s->trunks) +
					     sizeof(*s->tx) + sizeof(*s->tid));
	s->mem += s->nrws * sizeof(*s->rws) + s->nlents * sizeof(*s->lents);
	s->mem += s->cstrs * sizeof(char *);
	s->mem += s->cidx.npn * sizeof(struct pol_pnode) +
		  s->cidx.nents * sizeof(struct pol_centry);
	for (f = 0; f < POL_F_COUNT; f++)
		s->mem += s->lists[f].nnodes * sizeof(struct pol_tnode) +
			  s->lists[f].nvals * sizeof(uint32_t);
}

int
pol_build_compile(struct pol_build *b, int64_t now, struct pol_snap **snapp,
		  char *err, size_t errsz)
{
	struct cctx c = {b, NULL, now, err, errsz};
	struct timespec t0, t1, wall;
	int ret;

	if (!b || !snapp)
		return EINVAL;
	if (err && errsz)
		err[0] = '\0';
	clock_gettime(CLOCK_MONOTONIC, &t0);
	c.s = calloc(1, sizeof(*c.s));
	if (!c.s)
		return ENOMEM;
	atomic_init(&c.s->refs, 1);
	pol_snap_count(1);
	c.s->version = b->version;
	ret = compile_trunks(&c);
	if (!ret)
		ret = compile_rewrites(&c);
	if (!ret)
		ret = compile_cids(&c);
	if (!ret)
		ret = compile_lists(&c);
	if (!ret)
		ret = pol_compile_routes(b, c.s, now, err, errsz);
	if (ret) {
		if (ret == ENOMEM && err && errsz && !err[0])
			snprintf(err, errsz, "out of memory");
		pol_snap_destroy(c.s);
		return ret;
	}
	account(c.s);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	clock_gettime(CLOCK_REALTIME, &wall);
	c.s->loaded_ms = (int64_t)wall.tv_sec * 1000 + wall.tv_nsec / 1000000;
	c.s->load_us = (uint64_t)((t1.tv_sec - t0.tv_sec) * 1000000 +
				  (t1.tv_nsec - t0.tv_nsec) / 1000);
	*snapp = c.s;
	return 0;
}
