/* Helpers shared by the unit test suites. */
#ifndef TANDEM_TESTUTIL_H
#define TANDEM_TESTUTIL_H

#include <CUnit/CUnit.h>
#include <stddef.h>
#include <stdint.h>

/* Root of the shared corpora: $TANDEM_CORPORA, else the build default. */
const char *tu_corpora(void);
/* True (and a note on stderr, once per folder) if corpora/sub is absent. */
int tu_corpus_missing(const char *sub);
/* Read a whole file (binary-safe) into a malloc'd buffer with one extra NUL
   byte after len. Returns 0 or an errno; the caller frees *buf. */
int tu_read_file(const char *path, char **buf, size_t *len);
/* Path of a file under tests/data (static buffer, overwritten per call). */
const char *tu_data(const char *name);

/* A UDP socket bound to ip (an IPv4 literal in 127/8) on a free port,
 *port set; a failure ends the test (CU_ASSERT_FATAL). */
int tu_udp_bind(const char *ip, uint16_t *port);

/* Add a suite and its tests; aborts the run if CUnit cannot. */
CU_pSuite tu_suite(const char *name);
#define TU_ADD(suite, fn) CU_add_test((suite), #fn, (fn))

#endif
