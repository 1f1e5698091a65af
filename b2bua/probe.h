/* OPTIONS probing of trunks (issue 5 item 4): worker 0 sends an
   out-of-dialog OPTIONS to every trunk whose policy sets an interval,
   marks it down after a timeout or transport error and up again on any
   response; routing skips down trunks (lim.h). */
#ifndef TANDEM_PROBE_H
#define TANDEM_PROBE_H

#include "b2b.h"

/* On worker 0's thread, from its tick: send the probes that are due and
   release finished ones. */
void probe_tick(struct b2b_worker *bw, uint64_t now_ms);
/* Release every probe (shutdown; the workers are stopped). */
void probe_flush(struct b2b_worker *bw);

#endif
