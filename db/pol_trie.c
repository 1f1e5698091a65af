/* Prefix tries over the number alphabet 0-9 * # + for longest-prefix
   matching: built with wide nodes, flattened into 16-byte nodes whose
   children are contiguous (popcount indexing). */
#include "db/pol_int.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

void *
pol_big_calloc(size_t n, size_t sz)
{
	const size_t huge = (size_t)2 << 20;
	size_t len;
	void *p;

	if (sz && n > SIZE_MAX / sz)
		return NULL;
	len = n * sz;
	if (len < huge) { /* cache-line aligned (struct pol_tx) */
		len = len ? (len + 63) & ~(size_t)63 : 64;
		if (posix_memalign(&p, 64, len))
			return NULL;
		memset(p, 0, len);
		return p;
	}
	len = (len + huge - 1) & ~(huge - 1);
	if (posix_memalign(&p, huge, len))
		return NULL;
	(void)madvise(p, len, MADV_HUGEPAGE); /* a hint: fine if refused */
	memset(p, 0, len);
	return p;
}

static int
grow(void **p, size_t *cap, size_t need, size_t sz)
{
	size_t nc = *cap ? *cap : 64;
	void *np;

	if (need <= *cap)
		return 0;
	while (nc < need)
		nc *= 2;
	np = realloc(*p, nc * sz);
	if (!np)
		return ENOMEM;
	*p = np;
	*cap = nc;
	return 0;
}

static int
node_new(struct pol_tbuild *tb, uint32_t *idx)
{
	int err = grow((void **)&tb->ch, &tb->cap, tb->n + 1, sizeof(*tb->ch));

	if (err)
		return err;
	memset(tb->ch[tb->n], 0xff, sizeof(*tb->ch));
	*idx = (uint32_t)tb->n++;
	return 0;
}

int
pol_tbuild_init(struct pol_tbuild *tb)
{
	uint32_t root;

	memset(tb, 0, sizeof(*tb));
	return node_new(tb, &root);
}

void
pol_tbuild_fini(struct pol_tbuild *tb)
{
	free(tb->ch);
	free(tb->item_node);
	free(tb->item_val);
	memset(tb, 0, sizeof(*tb));
}

int
pol_tbuild_add(struct pol_tbuild *tb, const char *prefix, uint32_t val)
{
	uint32_t cur = 0, nx;
	size_t cap;
	int err, d;

	for (; *prefix; prefix++) {
		d = pol_digit((unsigned char)*prefix);
		if (d < 0)
			return EINVAL;
		nx = tb->ch[cur][d];
		if (nx == POL_NONE) {
			err = node_new(tb, &nx);
			if (err)
				return err;
			tb->ch[cur][d] = nx;
		}
		cur = nx;
	}
	cap = tb->icap;
	err = grow((void **)&tb->item_node, &cap, tb->nitems + 1,
		   sizeof(uint32_t));
	if (!err) {
		cap = tb->icap;
		err = grow((void **)&tb->item_val, &cap, tb->nitems + 1,
			   sizeof(uint32_t));
	}
	if (err)
		return err;
	tb->icap = cap;
	tb->item_node[tb->nitems] = cur;
	tb->item_val[tb->nitems++] = val;
	return 0;
}

/* Values: stable counting sort of the items by their (old) node. */
static int
flatten_vals(struct pol_tbuild *tb, const uint32_t *newidx, struct pol_trie *t)
{
	uint32_t *cnt = calloc(tb->n + 1, sizeof(*cnt));
	size_t i;

	if (!cnt)
		return ENOMEM;
	t->vals = pol_big_calloc(tb->nitems ? tb->nitems : 1, sizeof(*t->vals));
	if (!t->vals) {
		free(cnt);
		return ENOMEM;
	}
	t->nvals = tb->nitems;
	for (i = 0; i < tb->nitems; i++)
		cnt[newidx[tb->item_node[i]] + 1]++;
	for (i = 0; i < tb->n; i++)
		cnt[i + 1] += cnt[i];
	for (i = 0; i < tb->n; i++) {
		t->nodes[i].val = cnt[i];
		t->nodes[i].nval = cnt[i + 1] - cnt[i];
	}
	for (i = 0; i < tb->nitems; i++)
		t->vals[cnt[newidx[tb->item_node[i]]]++] = tb->item_val[i];
	for (i = 0; i < tb->n; i++) { /* a single value: in the node */
		if (t->nodes[i].nval == 1)
			t->nodes[i].val = t->vals[t->nodes[i].val];
	}
	free(cnt);
	return 0;
}

int
pol_tbuild_finish(struct pol_tbuild *tb, struct pol_trie *t)
{
	uint32_t *order = NULL, *newidx = NULL;
	size_t head, tail = 1;
	int err = ENOMEM, d;

	memset(t, 0, sizeof(*t));
	order = malloc(tb->n * sizeof(*order));
	newidx = malloc(tb->n * sizeof(*newidx));
	t->nodes = pol_big_calloc(tb->n, sizeof(*t->nodes));
	if (!order || !newidx || !t->nodes)
		goto out;
	t->nnodes = tb->n;
	/* Breadth first: the children of order[head] are appended together. */
	order[0] = 0;
	for (head = 0; head < tail; head++) {
		uint32_t u = order[head];

		newidx[u] = (uint32_t)head;
		t->nodes[head].child = (uint32_t)tail;
		for (d = 0; d < POL_ALPHABET; d++) {
			if (tb->ch[u][d] == POL_NONE)
				continue;
			t->nodes[head].mask |= (uint16_t)(1u << d);
			order[tail++] = tb->ch[u][d];
		}
	}
	err = flatten_vals(tb, newidx, t);
out:
	free(order);
	free(newidx);
	if (err)
		pol_trie_free(t);
	return err;
}

void
pol_trie_free(struct pol_trie *t)
{
	free(t->nodes);
	free(t->vals);
	memset(t, 0, sizeof(*t));
}

/* Bits set in a node mask: inline (without -mpopcnt the builtin is a
   call into libgcc, 2.6% of a lookup at 1M routes). On x86-64 with GCC
   the walk is also built for CPUs with POPCNT and picked at load time
   (target_clones, an ifunc), where the builtin is one instruction. */
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__) &&         \
	defined(__linux__)
#define POL_WALK_CLONES __attribute__((target_clones("popcnt", "default")))
#define POL_POP_BUILTIN 1
#else
#define POL_WALK_CLONES
#define POL_POP_BUILTIN defined(__POPCNT__)
#endif

static inline uint32_t
pop16(uint16_t x)
{
#if POL_POP_BUILTIN
	return (uint32_t)__builtin_popcount(x);
#else
	uint32_t v = x;

	v = v - ((v >> 1) & 0x5555u);
	v = (v & 0x3333u) + ((v >> 2) & 0x3333u);
	v = (v + (v >> 4)) & 0x0f0fu;
	return (v + (v >> 8)) & 0x1fu;
#endif
}

/* pol_digit() + 1 as a table for the walk: 0 outside the alphabet. */
static const uint8_t digit_tab[256] = {
	['0'] = 1,  ['1'] = 2,	['2'] = 3,  ['3'] = 4, ['4'] = 5,
	['5'] = 6,  ['6'] = 7,	['7'] = 8,  ['8'] = 9, ['9'] = 10,
	['*'] = 11, ['#'] = 12, ['+'] = 13,
};

POL_WALK_CLONES size_t
pol_trie_walk(const struct pol_trie *t, const char *num, size_t len,
	      uint32_t *path)
{
	uint32_t cur = 0;
	size_t i;

	if (!t->nnodes)
		return 0;
	for (i = 0; i < len; i++) {
		const struct pol_tnode *n = &t->nodes[cur];
		unsigned d = digit_tab[(unsigned char)num[i]], bit;

		if (!d)
			break;
		bit = 1u << (d - 1);
		if (!(n->mask & bit))
			break;
		cur = n->child + pop16((uint16_t)(n->mask & (bit - 1)));
		path[i] = cur;
	}
	return i;
}
