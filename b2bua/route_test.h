/* tandemd -r: a route dry-run (route_test.c). */
#ifndef TANDEM_ROUTE_TEST_H
#define TANDEM_ROUTE_TEST_H

#include <jansson.h>
#include <sys/socket.h>

#include "cfg.h"
#include "db/pol.h"

/* argv: SRC_IP[:PORT] CALLED [CALLING [UNIX_TIME]]. Prints the verdict;
   returns 0 (routed), 3 (refused by policy), 1 (error), 2 (usage). */
int route_test(const struct cfg *c, int argc, char **argv);
/* "ip", "ip:port" or "[v6]:port" (port 5060 when absent). 0 or EINVAL. */
int route_test_src(const char *s, struct sockaddr_storage *ss);
/* The verdict as JSON (GET /route, tandemctl route-test): a new
   reference or NULL (no memory). */
json_t *route_test_json(const struct pol_verdict *v, const struct pol_snap *s);

#endif
