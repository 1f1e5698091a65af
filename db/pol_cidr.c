/* Source-address index: longest-prefix CIDR matching of inbound trunks.
   Built as a binary trie over IPv4/IPv6 address bits, then compressed
   into a PATRICIA trie for the lookups: sipw screens every request's
   source with it, so a trunk listed by its /32 must not cost a walk of
   32 nodes. */
#include "db/pol_int.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Entries are collected as (node, entry) and grouped per node at finish;
   until then cnode.first holds nothing useful. */
struct pending {
	uint32_t node;
	struct pol_centry e;
};

static int
cnode_new(struct pol_cidx *c, uint32_t *idx)
{
	if (c->nnodes == c->cap) {
		size_t nc = c->cap ? c->cap * 2 : 64;
		void *p = realloc(c->nodes, nc * sizeof(*c->nodes));

		if (!p)
			return ENOMEM;
		c->nodes = p;
		c->cap = nc;
	}
	c->nodes[c->nnodes].child[0] = POL_NONE;
	c->nodes[c->nnodes].child[1] = POL_NONE;
	c->nodes[c->nnodes].first = 0;
	c->nodes[c->nnodes].n = 0;
	*idx = (uint32_t)c->nnodes++;
	return 0;
}

int
pol_cidx_init(struct pol_cidx *c)
{
	uint32_t r;
	int err;

	memset(c, 0, sizeof(*c));
	err = cnode_new(c, &r);
	if (!err)
		err = cnode_new(c, &r);
	return err;
}

void
pol_cidx_free(struct pol_cidx *c)
{
	free(c->nodes);
	free(c->ents);
	free(c->pn);
	memset(c, 0, sizeof(*c));
}

/* Parse cidr into bytes + prefix length; root 0 (v4) or 1 (v6). */
static int
parse_cidr(const char *cidr, uint8_t addr[16], unsigned *plen, uint32_t *root)
{
	char buf[64];
	const char *slash = strchr(cidr, '/');
	size_t l = slash ? (size_t)(slash - cidr) : strlen(cidr);
	unsigned max;
	char *end;
	long n;

	if (l == 0 || l >= sizeof(buf))
		return EINVAL;
	memcpy(buf, cidr, l);
	buf[l] = '\0';
	if (inet_pton(AF_INET, buf, addr) == 1) {
		*root = 0;
		max = 32;
	} else if (inet_pton(AF_INET6, buf, addr) == 1) {
		*root = 1;
		max = 128;
	} else {
		return EINVAL;
	}
	*plen = max;
	if (slash) {
		n = strtol(slash + 1, &end, 10);
		if (end == slash + 1 || *end || n < 0 || n > (long)max)
			return EINVAL;
		*plen = (unsigned)n;
	}
	return 0;
}

static void
bit_set(uint8_t a[16], unsigned i, unsigned b)
{
	if (b)
		a[i / 8] |= (uint8_t)(0x80u >> (i % 8));
	else
		a[i / 8] &= (uint8_t) ~(0x80u >> (i % 8));
}

static unsigned
bit_get(const uint8_t *a, unsigned i)
{
	return (a[i / 8] >> (7 - i % 8)) & 1;
}

int
pol_cidx_add(struct pol_cidx *c, const char *cidr, uint32_t trunk,
	     uint16_t port)
{
	uint8_t a[16];
	unsigned plen, i;
	uint32_t cur, nx;
	struct pending *p;
	int err = parse_cidr(cidr, a, &plen, &cur);

	if (err)
		return err;
	for (i = 0; i < plen; i++) {
		unsigned b = bit_get(a, i);

		nx = c->nodes[cur].child[b];
		if (nx == POL_NONE) {
			err = cnode_new(c, &nx);
			if (err)
				return err;
			c->nodes[cur].child[b] = nx;
		}
		cur = nx;
	}
	/* Pending entries ride in ents, tagged with their node in first. */
	p = realloc(c->ents, (c->nents + 1) * sizeof(*p));
	if (!p)
		return ENOMEM;
	c->ents = (struct pol_centry *)p;
	p[c->nents].node = cur;
	p[c->nents].e.trunk = trunk;
	p[c->nents].e.port = port;
	c->nents++;
	return 0;
}

/* The compressed node for build node u at depth d, whose path is in
   addr's first d bits: chains of entry-less single-child nodes are
   skipped. Depth is at most 128, so the recursion is bounded. pn has
   room for all the nodes it can need (see pol_cidx_finish()). */
static uint32_t
compress(struct pol_cidx *c, uint32_t u, unsigned d, const uint8_t in[16])
{
	uint8_t addr[16];
	uint32_t idx, nx;
	unsigned b;

	memcpy(addr, in, sizeof(addr));
	for (;;) {
		const struct pol_cnode *n = &c->nodes[u];

		if (n->n ||
		    (n->child[0] != POL_NONE) == (n->child[1] != POL_NONE))
			break; /* entries, a branch, or a leaf */
		b = n->child[1] != POL_NONE;
		bit_set(addr, d++, b);
		u = n->child[b];
	}
	idx = (uint32_t)c->npn++;
	memset(&c->pn[idx], 0, sizeof(c->pn[idx]));
	memcpy(c->pn[idx].key, addr, sizeof(addr));
	c->pn[idx].plen = (uint8_t)d;
	c->pn[idx].first = c->nodes[u].first;
	c->pn[idx].n = c->nodes[u].n;
	for (b = 0; b < 2; b++) {
		c->pn[idx].child[b] = POL_NONE;
		if (c->nodes[u].child[b] == POL_NONE)
			continue;
		bit_set(addr, d, b);
		nx = compress(c, c->nodes[u].child[b], d + 1, addr);
		c->pn[idx].child[b] = nx;
	}
	return idx;
}

int
pol_cidx_finish(struct pol_cidx *c)
{
	struct pending *p = (struct pending *)c->ents;
	struct pol_centry *e;
	uint32_t *at;
	uint8_t zero[16] = {0};
	size_t i;

	e = malloc((c->nents ? c->nents : 1) * sizeof(*e));
	at = calloc(c->nnodes + 1, sizeof(*at));
	/* Compressed nodes hold entries, or branch (fewer than the nodes
	   with entries), or are an empty root: at most 2 per entry + 2. */
	c->pn = malloc(
		(c->nnodes < 2 * c->nents + 2 ? c->nnodes : 2 * c->nents + 2) *
		sizeof(*c->pn));
	if (!e || !at || !c->pn) {
		free(e);
		free(at);
		return ENOMEM;
	}
	/* Entries grouped per node, in the order they were added (a
	   counting sort: there is one entry per trunk CIDR, and thousands
	   of trunks made a quadratic grouping slow). */
	for (i = 0; i < c->nents; i++)
		at[p[i].node + 1]++;
	for (i = 0; i < c->nnodes; i++) {
		at[i + 1] += at[i];
		c->nodes[i].first = at[i];
		c->nodes[i].n = at[i + 1] - at[i];
	}
	for (i = 0; i < c->nents; i++)
		e[at[p[i].node]++] = p[i].e;
	free(at);
	free(c->ents);
	c->ents = e;
	c->npn = 0;
	c->root[0] = compress(c, 0, 0, zero);
	c->root[1] = compress(c, 1, 0, zero);
	{ /* give back what the bound over-counted */
		void *np = realloc(c->pn, c->npn * sizeof(*c->pn));

		if (np)
			c->pn = np;
	}
	free(c->nodes); /* the lookups use pn only */
	c->nodes = NULL;
	c->nnodes = c->cap = 0;
	return 0;
}

/* Best entry of one node for port: exact port, else any port. */
static uint32_t
node_pick(const struct pol_cidx *c, const struct pol_pnode *n, uint16_t port)
{
	uint32_t any = POL_NONE, i;

	for (i = 0; i < n->n; i++) {
		const struct pol_centry *e = &c->ents[n->first + i];

		if (e->port == port)
			return e->trunk;
		if (e->port == 0 && any == POL_NONE)
			any = e->trunk;
	}
	return any;
}

/* Whether a starts with n's prefix. */
static bool
prefix_eq(const uint8_t *a, const struct pol_pnode *n)
{
	unsigned full = n->plen / 8, rem = n->plen % 8;

	if (memcmp(a, n->key, full))
		return false;
	return !rem || !((a[full] ^ n->key[full]) & (uint8_t)(0xff00u >> rem));
}

uint32_t
pol_cidx_find(const struct pol_cidx *c, const struct sockaddr *sa)
{
	const uint8_t *a;
	unsigned bits;
	uint32_t cur, best = POL_NONE, t;
	uint16_t port;

	if (!c->pn)
		return POL_NONE;
	if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *s4 = (const void *)sa;

		a = (const uint8_t *)&s4->sin_addr;
		port = ntohs(s4->sin_port);
		bits = 32;
		cur = c->root[0];
	} else if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *s6 = (const void *)sa;

		a = s6->sin6_addr.s6_addr;
		port = ntohs(s6->sin6_port);
		bits = 128;
		cur = c->root[1];
		if (IN6_IS_ADDR_V4MAPPED(&s6->sin6_addr)) {
			a += 12; /* ::ffff:a.b.c.d is IPv4 a.b.c.d */
			bits = 32;
			cur = c->root[0];
		}
	} else {
		return POL_NONE;
	}
	while (cur != POL_NONE) {
		const struct pol_pnode *n = &c->pn[cur];

		/* plen <= bits: each family has its own tree */
		if (!prefix_eq(a, n))
			break;
		if (n->n && (t = node_pick(c, n, port)) != POL_NONE)
			best = t;
		if (n->plen == bits)
			break;
		cur = n->child[bit_get(a, n->plen)];
	}
	return best;
}
