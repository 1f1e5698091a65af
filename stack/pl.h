/* Pointer-length slices: zero-copy views into a message buffer. */
#ifndef TANDEM_PL_H
#define TANDEM_PL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * A slice of bytes that lives inside someone else's buffer (borrowed: valid
 * while that buffer lives). Never NUL-terminated; l == 0 means empty, and
 * p == NULL means "absent" where a field distinguishes absent from empty.
 */
struct pl {
	const char *p;
	size_t l;
};

#define PL_INIT {NULL, 0}
#define PL(s) ((struct pl){(s), sizeof(s) - 1})

static inline bool
pl_isset(const struct pl *pl)
{
	return pl->p != NULL;
}

static inline void
pl_set(struct pl *pl, const char *p, size_t l)
{
	pl->p = p;
	pl->l = l;
}

/* Byte-exact equality with a C string. */
bool pl_eq_str(const struct pl *pl, const char *s);
/* ASCII case-insensitive equality with a C string. */
bool pl_caseeq_str(const struct pl *pl, const char *s);
/* Byte-exact and case-insensitive equality of two slices. */
bool pl_eq(const struct pl *a, const struct pl *b);
bool pl_caseeq(const struct pl *a, const struct pl *b);
/*
 * Decimal digits only (leading zeros allowed, no sign, no LWS) into *v.
 * Returns 0, EINVAL for an empty slice or a non-digit, ERANGE above max.
 */
int pl_u32(const struct pl *pl, uint32_t max, uint32_t *v);
/* Strip leading and trailing SP/HTAB/CR/LF. */
void pl_trim(struct pl *pl);
/* Copy into dst as a NUL-terminated string, truncating; returns dst. */
char *pl_strcpy(const struct pl *pl, char *dst, size_t dstsz);

#endif
