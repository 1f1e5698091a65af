/* Helpers shared by the unit test suites. */
#ifndef TANDEM_TESTUTIL_H
#define TANDEM_TESTUTIL_H

#include <CUnit/CUnit.h>
#include <stddef.h>

/* Root of the shared corpora: $TANDEM_CORPORA, else the build default. */
const char *tu_corpora(void);
/* True (and a note on stderr, once per folder) if corpora/sub is absent. */
int tu_corpus_missing(const char *sub);
/* Read a whole file (binary-safe) into a malloc'd buffer with one extra NUL
   byte after len. Returns 0 or an errno; the caller frees *buf. */
int tu_read_file(const char *path, char **buf, size_t *len);
/* Path of a file under tests/data (static buffer, overwritten per call). */
const char *tu_data(const char *name);

/* Add a suite and its tests; aborts the run if CUnit cannot. */
CU_pSuite tu_suite(const char *name);
#define TU_ADD(suite, fn) CU_add_test((suite), #fn, (fn))

#endif
