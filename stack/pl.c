/* Pointer-length slice helpers. */
#include "pl.h"

#include <errno.h>
#include <string.h>
#include <strings.h>

bool
pl_eq_str(const struct pl *pl, const char *s)
{
	size_t n = strlen(s);

	return pl->l == n && (n == 0 || memcmp(pl->p, s, n) == 0);
}

bool
pl_caseeq_str(const struct pl *pl, const char *s)
{
	size_t n = strlen(s);

	return pl->l == n && (n == 0 || strncasecmp(pl->p, s, n) == 0);
}

bool
pl_eq(const struct pl *a, const struct pl *b)
{
	return a->l == b->l && (a->l == 0 || memcmp(a->p, b->p, a->l) == 0);
}

bool
pl_caseeq(const struct pl *a, const struct pl *b)
{
	return a->l == b->l && (a->l == 0 || strncasecmp(a->p, b->p, a->l) == 0);
}

int
pl_u32(const struct pl *pl, uint32_t max, uint32_t *v)
{
	uint64_t acc = 0;
	size_t i;

	if (pl->l == 0)
		return EINVAL;
	for (i = 0; i < pl->l; i++) {
		unsigned d = (unsigned char)pl->p[i] - '0';

		if (d > 9)
			return EINVAL;
		acc = acc * 10 + d;
		if (acc > max)
			return ERANGE;
	}
	*v = (uint32_t)acc;
	return 0;
}

static bool
is_ws(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

void
pl_trim(struct pl *pl)
{
	while (pl->l && is_ws(pl->p[0])) {
		pl->p++;
		pl->l--;
	}
	while (pl->l && is_ws(pl->p[pl->l - 1]))
		pl->l--;
}

char *
pl_strcpy(const struct pl *pl, char *dst, size_t dstsz)
{
	size_t n;

	if (dstsz == 0)
		return dst;
	n = pl->l < dstsz - 1 ? pl->l : dstsz - 1;
	if (n)
		memcpy(dst, pl->p, n);
	dst[n] = '\0';
	return dst;
}
