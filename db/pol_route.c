/* The per-call lookup on a compiled snapshot: source identification,
   inbound rewrite, block/allow lists, route choice, target order,
   outbound rewrite. Allocates nothing (see pol_route() in pol.h). */
#include "db/pol_int.h"

#include <errno.h>
#include <string.h>

int
pol_verdict_init(struct pol_verdict *v)
{
	memset(v, 0, sizeof(*v));
	v->md = pcre2_match_data_create(POL_CAPTURES_MAX + 1, NULL);
	return v->md ? 0 : ENOMEM;
}

void
pol_verdict_fini(struct pol_verdict *v)
{
	pcre2_match_data_free(v->md);
	v->md = NULL;
}

static int
reject(struct pol_verdict *v, uint16_t status, const char *reason)
{
	v->status = status;
	v->reason = reason;
	v->ntargets = 0;
	return 0;
}

/* First matching rule of the chain rewrites in into out; none: a copy.
   0, ERANGE (result too long) or EINVAL (PCRE2 failed). */
static int
rewrite(const struct pol_snap *s, const struct pol_chain *ch, const char *in,
	size_t inlen, char *out, pcre2_match_data *md)
{
	uint32_t k;

	for (k = 0; k < ch->n; k++) {
		uint32_t r = ch->n == 1 ? ch->first : s->chain[ch->first + k];
		int rc = pol_rw_apply(&s->rws[r], in, inlen, out, md);

		if (rc != ENOENT)
			return rc;
	}
	memcpy(out, in, inlen);
	out[inlen] = '\0';
	return 0;
}

/* Entry of the longest listed prefix of num, NULL if none. */
static const struct pol_lent *
list_match(const struct pol_snap *s, enum pol_field f, const char *num,
	   size_t len)
{
	const struct pol_trie *t = &s->lists[f];
	uint32_t path[POL_NUM_MAX];
	size_t n, i;

	if (!t->nnodes)
		return NULL;
	n = pol_trie_walk(t, num, len, path);
	for (i = n; i-- > 0;) {
		const struct pol_tnode *nd = &t->nodes[path[i]];

		if (nd->nval)
			return &s->lents[pol_tval(t, nd, 0)];
	}
	return t->nodes[0].nval ? &s->lents[pol_tval(t, &t->nodes[0], 0)]
				: NULL;
}

/* Lists on the (rewritten) numbers: 0 to go on, or a reject filled. */
static int
check_lists(const struct pol_snap *s, struct pol_verdict *v)
{
	const char *num[POL_F_COUNT] = {v->called, v->calling};
	const size_t len[POL_F_COUNT] = {v->called_len, v->calling_len};
	int f;

	if (!s->nlents) /* no block or allow list at all */
		return 0;
	for (f = 0; f < POL_F_COUNT; f++) {
		const struct pol_lent *e = list_match(s, f, num[f], len[f]);

		if (e && e->kind == POL_LIST_BLOCK) {
			reject(v, e->status, e->reason ? e->reason : "listed");
			return 1;
		}
		if (!e && s->allow[f]) {
			reject(v, 403, "not in allow list");
			return 1;
		}
	}
	return 0;
}

static bool
route_fits(const struct pol_snap *s, const struct pol_rt *rt, uint32_t src,
	   const char *calling, size_t clen)
{
	if (rt->src_kind == POL_SRC_TRUNK && rt->src != src)
		return false;
	if (rt->src_kind == POL_SRC_GROUP &&
	    (rt->src == POL_NONE || s->tgroup[src] != rt->src))
		return false;
	return rt->calling_len <= clen &&
	       memcmp(calling, rt->calling, rt->calling_len) == 0;
}

static bool
route_open(const struct pol_snap *s, const struct pol_rt *rt, int64_t now)
{
	uint32_t i;

	if (!rt->nwin)
		return true;
	for (i = 0; i < rt->nwin; i++) {
		if (pol_win_open(s, &s->wins[rt->win + i], now))
			return true;
	}
	return false;
}

/* Whether any target of rt is usable by the request's predicate. */
static bool
route_usable(const struct pol_snap *s, const struct pol_rt *rt,
	     const struct pol_req *req)
{
	uint32_t i;

	if (!req->usable)
		return true;
	if (rt->ntgt == 1)
		return req->usable(req->usable_arg, &s->trunks[rt->trunk1]);
	for (i = rt->tgt; i < rt->tgt + rt->ntgt; i++) {
		if (req->usable(req->usable_arg, &s->trunks[s->tgts[i].trunk]))
			return true;
	}
	return false;
}

/* Deepest prefix first; on one prefix the compile-time order. *closed
   tells whether a fitting route was skipped for its time windows. An
   open route with no usable target is passed over; the first of those
   is the answer when no usable one follows (its targets then fail as
   unreachable, which the caller reports). */
static const struct pol_rt *
route_find(const struct pol_snap *s, uint32_t src, const struct pol_verdict *v,
	   const struct pol_req *req, bool *closed)
{
	const struct pol_trie *t = &s->routes;
	const struct pol_rt *down = NULL;
	uint32_t path[POL_NUM_MAX];
	size_t clen = v->calling_len, depth, j, n;

	*closed = false;
	if (!t->nnodes)
		return NULL;
	n = pol_trie_walk(t, v->called, v->called_len, path);
	for (depth = n + 1; depth-- > 0;) {
		const struct pol_tnode *nd =
			&t->nodes[depth ? path[depth - 1] : 0];

		for (j = 0; j < nd->nval; j++) {
			const struct pol_rt *rt =
				&s->rts[pol_tval(t, nd, (uint32_t)j)];

			if (!route_fits(s, rt, src, v->calling, clen))
				continue;
			if (!route_open(s, rt, req->now)) {
				*closed = true;
				continue;
			}
			if (route_usable(s, rt, req))
				return rt;
			if (!down)
				down = rt;
		}
	}
	return down;
}

/* A small deterministic generator seeded by the injected random value. */
static uint32_t
mix_next(uint32_t *x)
{
	uint32_t z = (*x += 0x9e3779b9u);

	z = (z ^ (z >> 16)) * 0x85ebca6bu;
	z = (z ^ (z >> 13)) * 0xc2b2ae35u;
	return z ^ (z >> 16);
}

/* One priority group [a, b) of rt's targets into out, weighted random
   order without replacement, weight 0 last in their stored order. */
static size_t
order_group(const struct pol_snap *s, uint32_t a, uint32_t b, uint32_t *x,
	    uint32_t *out)
{
	uint32_t left[POL_TARGETS_MAX], nl = 0, i, k, total, r;
	size_t n = 0;

	for (i = a; i < b; i++) {
		if (s->tgts[i].weight)
			left[nl++] = i;
	}
	while (nl) {
		for (total = 0, k = 0; k < nl; k++)
			total += s->tgts[left[k]].weight;
		r = mix_next(x) % total;
		for (k = 0; r >= s->tgts[left[k]].weight; k++)
			r -= s->tgts[left[k]].weight;
		out[n++] = left[k];
		memmove(&left[k], &left[k + 1], (nl - k - 1) * sizeof(*left));
		nl--;
	}
	for (i = a; i < b; i++) {
		if (!s->tgts[i].weight)
			out[n++] = i;
	}
	return n;
}

/* Target trunk ti into t: the trunk, its outbound caller-ID rule and
   the numbers through its outbound rewrites. 0 or an errno. */
static int
fill_target(const struct pol_snap *s, uint32_t ti, struct pol_verdict *v,
	    struct pol_target *t)
{
	const struct pol_txd *out = &s->tx[ti].d[POL_DIR_OUT];
	int err;

	t->trunk = &s->trunks[ti];
	t->cid = out->cid;
	err = rewrite(s, &out->rw[POL_F_CALLED], v->called, v->called_len,
		      t->called, v->md);
	return err ? err
		   : rewrite(s, &out->rw[POL_F_CALLING], v->calling,
			     v->calling_len, t->calling, v->md);
}

static int
fill_targets(const struct pol_snap *s, const struct pol_rt *rt, uint32_t rnd,
	     struct pol_verdict *v)
{
	uint32_t order[POL_TARGETS_MAX], x = rnd, a, b,
					 end = rt->tgt + rt->ntgt;
	size_t n = 0, i;

	if (rt->ntgt == 1) { /* no order to draw, no tgts[] to read */
		order[0] = rt->trunk1;
		n = 1;
	} else {
		for (a = rt->tgt; a < end; a = b) {
			for (b = a; b < end &&
				    s->tgts[b].priority == s->tgts[a].priority;)
				b++;
			n += order_group(s, a, b, &x, order + n);
		}
		for (i = 0; i < n; i++)
			order[i] = s->tgts[order[i]].trunk;
	}
	for (i = 0; i < n; i++) {
		if (fill_target(s, order[i], v, &v->targets[i]))
			return reject(v, 500, "outbound rewrite failed");
	}
	v->ntargets = n;
	return 0;
}

/* Source trunk index: the identified trunk, else by address. */
static uint32_t
identify(const struct pol_snap *s, const struct pol_req *req)
{
	if (req->trunk) {
		if (req->trunk >= s->trunks &&
		    req->trunk < s->trunks + s->ntrunks)
			return (uint32_t)(req->trunk - s->trunks);
		return pol_trunk_idx(s, req->trunk->id); /* other snapshot */
	}
	return req->src ? pol_cidx_find(&s->cidx, req->src) : POL_NONE;
}

static void
verdict_reset(struct pol_verdict *v)
{
	void *md = v->md;

	v->status = 0;
	v->reason = NULL;
	v->route_id = 0;
	v->src = NULL;
	v->called[0] = v->calling[0] = '\0';
	v->called_len = v->calling_len = 0;
	memset(&v->cid_in, 0, sizeof(v->cid_in));
	v->max_calls = v->max_cps = 0;
	v->nfailover = v->ntargets = 0;
	v->md = md;
}

int
pol_route(const struct pol_snap *s, const struct pol_req *req,
	  struct pol_verdict *v)
{
	const struct pol_rt *rt;
	const struct pol_tx *tx;
	uint32_t src;
	bool closed;
	int err;

	if (!s || !req || !v || !v->md)
		return EINVAL;
	verdict_reset(v);
	src = identify(s, req);
	if (src == POL_NONE)
		return reject(v, 403, "unknown source");
	v->src = &s->trunks[src];
	if (!v->src->enabled)
		return reject(v, 403, "trunk disabled");
	tx = &s->tx[src];
	v->cid_in = tx->d[POL_DIR_IN].cid;
	v->max_calls = v->src->max_calls;
	v->max_cps = v->src->max_cps;
	if (req->called.l >= POL_NUM_MAX || req->calling.l >= POL_NUM_MAX)
		return reject(v, 484, "number too long");
	err = rewrite(s, &tx->d[POL_DIR_IN].rw[POL_F_CALLED],
		      req->called.p ? req->called.p : "", req->called.l,
		      v->called, v->md);
	if (!err)
		err = rewrite(s, &tx->d[POL_DIR_IN].rw[POL_F_CALLING],
			      req->calling.p ? req->calling.p : "",
			      req->calling.l, v->calling, v->md);
	if (err)
		return reject(v, 500, "inbound rewrite failed");
	v->called_len = strlen(v->called); /* once for every step below */
	v->calling_len = strlen(v->calling);
	if (check_lists(s, v))
		return 0;
	rt = route_find(s, src, v, req, &closed);
	if (!rt)
		return closed ? reject(v, 480, "no route open now")
			      : reject(v, 404, "no route");
	v->route_id = rt->id;
	v->nfailover = rt->nfo;
	if (rt->nfo)
		memcpy(v->failover, &s->fo[rt->fo], rt->nfo * sizeof(uint16_t));
	return fill_targets(s, rt, req->rnd, v);
}
