/* Private to db/pol_*.c: the layout of a compiled snapshot. */
#ifndef TANDEM_POL_INT_H
#define TANDEM_POL_INT_H

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>
#include <stdatomic.h>

#include "db/pol.h"

#define POL_NONE UINT32_MAX
#define POL_ALPHABET 13 /* 0-9 * # + */

/* Digit code for the trie, -1 outside the alphabet. */
static inline int
pol_digit(unsigned char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c == '*')
		return 10;
	if (c == '#')
		return 11;
	if (c == '+')
		return 12;
	return -1;
}

/* Every character in the alphabet (the empty prefix is fine). */
static inline bool
pol_prefix_ok(const char *p)
{
	for (; *p; p++) {
		if (pol_digit((unsigned char)*p) < 0)
			return false;
	}
	return true;
}

/* Compact trie node: children of a node are contiguous from child, one
   per set bit of mask (popcount indexing); its values are vals[val ..
   val + nval), except a single value, which val is itself (one cache
   miss less per lookup): read them with pol_tval(). */
struct pol_tnode {
	uint16_t mask;
	uint32_t child;
	uint32_t val;
	uint32_t nval;
};

struct pol_trie {
	struct pol_tnode *nodes; /* owned; nodes[0] is the root */
	size_t nnodes;
	uint32_t *vals; /* owned */
	size_t nvals;
};

/* Value j (< n->nval) of node n of t. */
static inline uint32_t
pol_tval(const struct pol_trie *t, const struct pol_tnode *n, uint32_t j)
{
	return n->nval == 1 ? n->val : t->vals[n->val + j];
}

/* Trie under construction: wide nodes, then flattened (pol_trie.c). */
struct pol_tbuild {
	uint32_t (*ch)[POL_ALPHABET];
	size_t n, cap;
	uint32_t *item_node, *item_val; /* (node, value) in insertion order */
	size_t nitems, icap;
};

int pol_tbuild_init(struct pol_tbuild *tb);
void pol_tbuild_fini(struct pol_tbuild *tb);
/* Insert value under prefix (alphabet checked by the caller). */
int pol_tbuild_add(struct pol_tbuild *tb, const char *prefix, uint32_t val);
/* Flatten into t (values of a node keep insertion order). */
int pol_tbuild_finish(struct pol_tbuild *tb, struct pol_trie *t);
/* Zeroed n * sz bytes for an array a lookup walks at random (trie nodes
   and values, routes, per-trunk data): 64-byte aligned, and from 2 MiB
   up on 2 MiB-aligned transparent huge pages (madvise), so a lookup
   through a big snapshot does not miss the TLB at every step. NULL on
   overflow or no memory; free() frees it. */
void *pol_big_calloc(size_t n, size_t sz);
void pol_trie_free(struct pol_trie *t);
/* Walk num; path[i] gets the node after i+1 digits, path[-1] implied root.
   Returns how many nodes matched beyond the root (<= len). */
size_t pol_trie_walk(const struct pol_trie *t, const char *num, size_t len,
		     uint32_t *path);

/* Binary trie over address bits (v4 and v6 roots) for source CIDRs. */
struct pol_cnode {
	uint32_t child[2];
	uint32_t first, n; /* entries */
};

struct pol_centry {
	uint32_t trunk;
	uint16_t port; /* 0: any */
};

/* After finish: the trie path-compressed (a PATRICIA trie). A node holds
   the address prefix of its position, so chains of nodes with one child
   and no entry are gone: a /32 costs a few steps, not 32. */
struct pol_pnode {
	uint8_t key[16]; /* the prefix, bits past plen zero */
	uint32_t child[2];
	uint32_t first, n; /* entries */
	uint8_t plen;
};

struct pol_cidx {
	struct pol_cnode *nodes; /* owned while building; [0] IPv4 root,
				    [1] IPv6 root; freed by finish */
	size_t nnodes, cap;
	struct pol_centry *ents; /* owned, grouped per node after finish */
	size_t nents;
	struct pol_pnode *pn; /* owned: the lookup trie after finish */
	size_t npn;
	uint32_t root[2]; /* IPv4, IPv6 roots in pn */
};

struct pol_tz {
	char *name;   /* owned */
	int64_t *at;  /* owned: transition instants (UTC s), at[0] = min */
	int32_t *off; /* owned: UTC offset (s) from at[i] */
	size_t n;
};

struct pol_win {
	uint8_t weekdays;
	uint16_t start, end;
	uint32_t tz;
};

enum pol_src_kind { POL_SRC_ANY, POL_SRC_GROUP, POL_SRC_TRUNK };

struct pol_tgt {
	uint32_t trunk;
	int32_t priority;
	uint32_t weight;
};

/* A compiled route: one cache line (snap->rts is 64-byte aligned). */
struct pol_rt {
	int64_t id;
	int32_t priority;
	enum pol_src_kind src_kind;
	uint32_t src;	      /* trunk index or group id */
	uint32_t calling_len; /* < POL_NUM_MAX */
	const char *calling;  /* in strs */
	uint32_t win, nwin;   /* into snap->wins */
	uint32_t tgt, ntgt;   /* into snap->tgts, sorted by priority */
	uint32_t fo, nfo;     /* into snap->fo */
	uint32_t trunk1;      /* ntgt == 1: tgts[tgt].trunk, read from here */
};
_Static_assert(sizeof(struct pol_rt) <= 64, "pol_rt: one cache line");

#define POL_RW_LIT_MAX 24

struct pol_rw {
	int64_t id;
	int64_t trunk; /* 0: every trunk */
	enum pol_dir dir;
	enum pol_field field;
	pcre2_code *re;	       /* owned unless shared */
	bool shared;	       /* re is an earlier rule's (the same pattern) */
	uint32_t canon;	       /* first rule of the same pattern and repl */
	PCRE2_UCHAR *repl;     /* owned */
	struct pol_rwtpl *tpl; /* owned: repl cut up; NULL: pcre2_substitute */
	int16_t first;	       /* -1, or the byte a match must start with */
	bool jit;	       /* re has JIT code: pcre2_jit_match() */
	uint32_t minlen;       /* shortest subject that can match */
	/* The prefix form ^LIT([0-9]+)$ (or \d, or *), the most common
	   rewrite: decided without PCRE2 when the rest is all digits. */
	int8_t fast; /* -1 not that form; else the fewest digits (0, 1) */
	uint8_t litlen;
	char lit[POL_RW_LIT_MAX];
};

/* pol_rw.c */
/* Fill w's lookup fields from its compiled re, its pattern's source and
   repl: 0 or ENOMEM. */
int pol_rw_prepare(struct pol_rw *w, const char *pattern);
void pol_rw_release(struct pol_rw *w);
/* Rewrite in[0, inlen) by w into out (POL_NUM_MAX bytes, NUL ended),
   exactly as pcre2_substitute() without options would: 0 rewritten,
   ENOENT no match (out untouched), ERANGE result too long, EINVAL PCRE2
   failed (an unset group, a match limit). md: POL_CAPTURES_MAX + 1
   pairs. */
int pol_rw_apply(const struct pol_rw *w, const char *in, size_t inlen,
		 char *out, pcre2_match_data *md);

/* Rewrite rules to try in order: snap->chain[first .. first + n), each
   a rule index; when n is 1, first is that rule index itself. */
struct pol_chain {
	uint32_t first, n;
};

/* Per compiled trunk and direction: rewrite chains, caller-ID rule. */
struct pol_txd {
	struct pol_chain rw[POL_F_COUNT];
	struct pol_cid cid;
};

/* Per compiled trunk, one cache line (snap->tx is 64-byte aligned): a
   lookup reads the source's inbound and the target's outbound half. */
struct pol_tx {
	struct pol_txd d[POL_DIR_COUNT];
};
_Static_assert(sizeof(struct pol_tx) <= 64, "pol_tx: one cache line");

struct pol_lent {
	enum pol_list kind;
	uint16_t status;
	const char *reason; /* in strs, may be NULL */
};

struct pol_snap {
	atomic_long refs;
	int64_t version;
	int64_t loaded_ms; /* UTC ms: compiled (pol_snap_loaded) */
	uint64_t load_us;  /* how long the load took */
	size_t mem;
	struct pol_trunk *trunks; /* owned, strings owned */
	struct pol_tx *tx;	  /* owned, 64-byte aligned */
	uint32_t *tgroup; /* owned: group of each trunk, POL_NONE: none */
	uint32_t *tid;	  /* trunk indices sorted by id */
	size_t ntrunks;
	char **strs; /* owned strings the tables point into */
	size_t nstrs, cstrs;
	char **groups;
	size_t ngroups;
	struct pol_rt *rts;
	size_t nrts;
	struct pol_tgt *tgts;
	size_t ntgts;
	struct pol_win *wins;
	size_t nwins;
	uint16_t *fo;
	size_t nfo;
	struct pol_tz *tzs;
	size_t ntzs;
	struct pol_rw *rws;
	size_t nrws;
	uint32_t *chain;
	size_t nchain;
	struct pol_lent *lents;
	size_t nlents;
	bool allow[POL_F_COUNT]; /* the field has allow entries */
	struct pol_trie routes;
	struct pol_trie lists[POL_F_COUNT];
	struct pol_cidx cidx;
};

/* pol_cidr.c */
int pol_cidx_init(struct pol_cidx *c);
void pol_cidx_free(struct pol_cidx *c);
/* Parse "a.b.c.d/n" or "x::y/n" (no /n: host route) and add. EINVAL on a
   malformed CIDR. */
int pol_cidx_add(struct pol_cidx *c, const char *cidr, uint32_t trunk,
		 uint16_t port);
/* Group entries per node; call once after the last add. */
int pol_cidx_finish(struct pol_cidx *c);
/* Trunk of the longest matching CIDR for sa (exact port before any
   port), POL_NONE if none. */
uint32_t pol_cidx_find(const struct pol_cidx *c, const struct sockaddr *sa);

/* pol_tz.c */
/* Compute UTC offset transitions of zone name over [now - 1 day, now +
   POL_TZ_DAYS]. EINVAL for an unknown zone name. */
int pol_tz_compute(struct pol_tz *tz, const char *name, int64_t now);
void pol_tz_free(struct pol_tz *tz);
int32_t pol_tz_offset(const struct pol_tz *tz, int64_t t);
/* Is window w open at UTC time now? */
bool pol_win_open(const struct pol_snap *s, const struct pol_win *w,
		  int64_t now);

/* pol_snap.c */
void pol_snap_destroy(struct pol_snap *s);
/* Adjust the live-snapshot counter (pol_snap_live()). */
void pol_snap_count(long delta);
/* pol_routes.c: routes, windows and targets into s. */
int pol_compile_routes(struct pol_build *b, struct pol_snap *s, int64_t now,
		       char *err, size_t errsz);
uint32_t pol_trunk_idx(const struct pol_snap *s, int64_t id);

#endif
