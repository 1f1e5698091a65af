/* The engine's operations for the management API (api.h). */
#ifndef TANDEM_B2B_API_H
#define TANDEM_B2B_API_H

#include <stddef.h>

#include "api.h"
#include "b2b.h"

/* Start the API on cfg.api_listen (nothing when it is empty: *ap NULL).
   Returns 0 or an errno with err set. Stop it with api_stop() before
   b2b_free(). */
int b2b_api_start(struct b2b *b, struct api **ap, char *err, size_t errsz);

#endif
