/* Source-address index: a binary trie over IPv4/IPv6 address bits for
   longest-prefix CIDR matching of inbound trunks. */
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
		unsigned b = (a[i / 8] >> (7 - i % 8)) & 1;

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

int
pol_cidx_finish(struct pol_cidx *c)
{
	struct pending *p = (struct pending *)c->ents;
	struct pol_centry *e;
	size_t i, k = 0, j;

	e = malloc((c->nents ? c->nents : 1) * sizeof(*e));
	if (!e)
		return ENOMEM;
	/* Few entries (one per trunk CIDR): quadratic grouping is fine. */
	for (i = 0; i < c->nnodes; i++) {
		c->nodes[i].first = (uint32_t)k;
		for (j = 0; j < c->nents; j++) {
			if (p[j].node == i)
				e[k++] = p[j].e;
		}
		c->nodes[i].n = (uint32_t)k - c->nodes[i].first;
	}
	free(c->ents);
	c->ents = e;
	return 0;
}

/* Best entry of one node for port: exact port, else any port. */
static uint32_t
node_pick(const struct pol_cidx *c, const struct pol_cnode *n, uint16_t port)
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

uint32_t
pol_cidx_find(const struct pol_cidx *c, const struct sockaddr *sa)
{
	const uint8_t *a;
	unsigned bits, i;
	uint32_t cur, best = POL_NONE, t;
	uint16_t port;

	if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *s4 = (const void *)sa;

		a = (const uint8_t *)&s4->sin_addr;
		port = ntohs(s4->sin_port);
		bits = 32;
		cur = 0;
	} else if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *s6 = (const void *)sa;

		a = s6->sin6_addr.s6_addr;
		port = ntohs(s6->sin6_port);
		bits = 128;
		cur = 1;
		if (IN6_IS_ADDR_V4MAPPED(&s6->sin6_addr)) {
			a += 12; /* ::ffff:a.b.c.d is IPv4 a.b.c.d */
			bits = 32;
			cur = 0;
		}
	} else {
		return POL_NONE;
	}
	for (i = 0;; i++) {
		const struct pol_cnode *n = &c->nodes[cur];

		if (n->n && (t = node_pick(c, n, port)) != POL_NONE)
			best = t; /* most nodes on a path hold no entry */
		if (i == bits)
			break;
		cur = c->nodes[cur].child[(a[i / 8] >> (7 - i % 8)) & 1];
		if (cur == POL_NONE)
			break;
	}
	return best;
}
