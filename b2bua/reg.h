/* Outbound registration to carriers that require it (issue 5 item 4;
   RFC 3261 §10.2): worker 0 keeps a binding for every trunk whose policy
   sets reg, answers digest challenges (§22.2), refreshes before the
   expiry the registrar granted, and backs off on failure. */
#ifndef TANDEM_REG_H
#define TANDEM_REG_H

#include "b2b.h"

/* On worker 0's thread, from its tick. */
void reg_tick(struct b2b_worker *bw, uint64_t now_ms);
/* Release every registration (shutdown; the workers are stopped). */
void reg_flush(struct b2b_worker *bw);

#endif
