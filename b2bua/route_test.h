/* tandemd -r: a route dry-run (route_test.c). */
#ifndef TANDEM_ROUTE_TEST_H
#define TANDEM_ROUTE_TEST_H

#include "cfg.h"

/* argv: SRC_IP[:PORT] CALLED [CALLING [UNIX_TIME]]. Prints the verdict;
   returns 0 (routed), 3 (refused by policy), 1 (error), 2 (usage). */
int route_test(const struct cfg *c, int argc, char **argv);

#endif
