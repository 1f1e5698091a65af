/*
 * libFuzzer target: URI decoding, unescaping and §19.1.4 comparison.
 * Invariants: a decoded URI equals itself; slices stay inside the input;
 * the comparison is symmetric between the two halves of the input.
 */
#include <stdint.h>
#include <stdlib.h>

#include "stack/sip_uri.h"

static void
inside(const struct pl *pl, const uint8_t *lo, const uint8_t *hi)
{
	if (pl->l && ((const uint8_t *)pl->p < lo ||
		      (const uint8_t *)pl->p + pl->l > hi))
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sip_uri a, b;
	struct pl pa = {(const char *)data, size / 2};
	struct pl pb = {(const char *)data + size / 2, size - size / 2};
	const char *why = NULL;
	char out[512];
	size_t n;
	int ra, rb;

	ra = sip_uri_decode(&a, &pa, &why);
	if (ra == 0) {
		inside(&a.user, data, data + size);
		inside(&a.host, data, data + size);
		inside(&a.params, data, data + size);
		inside(&a.headers, data, data + size);
		if (!sip_uri_eq(&a, &a))
			abort();
		sip_uri_unescape(out, sizeof(out), &a.user, &n);
		sip_uri_param(&a, "transport", NULL);
	} else if (!why) {
		abort();
	}
	rb = sip_uri_decode(&b, &pb, &why);
	if (ra == 0 && rb == 0 && sip_uri_eq(&a, &b) != sip_uri_eq(&b, &a))
		abort();
	return 0;
}
