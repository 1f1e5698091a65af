/* Private to db/pol_build.c and db/pol_compile.c: the builder's rows. */
#ifndef TANDEM_POL_BUILD_INT_H
#define TANDEM_POL_BUILD_INT_H

#include "db/pol_int.h"

#define POL_VEC(T)                                                             \
	struct {                                                               \
		T *v;                                                          \
		size_t n, cap;                                                 \
	}

/* Every string in these rows is owned by the builder. */
struct pol_build {
	int64_t version;
	POL_VEC(struct pol_trunk) trunks;
	POL_VEC(struct pol_route_cfg) routes;
	POL_VEC(struct pol_window_cfg) wins;
	POL_VEC(struct pol_target_cfg) tgts;
	POL_VEC(struct pol_rewrite_cfg) rws;
	POL_VEC(struct pol_list_cfg) lists;
	POL_VEC(struct pol_cid_cfg) cids;
};

extern const size_t pol_trunk_strs[];
extern const size_t pol_trunk_nstrs;
/* Deep copy of a trunk's strings (adding their bytes to *mem if set). */
int pol_trunk_copy(struct pol_trunk *dst, const struct pol_trunk *src,
		   size_t *mem);
void pol_trunk_strs_free(struct pol_trunk *t);
/* strdup that keeps NULL and sets *err to ENOMEM on failure. */
char *pol_sdup(const char *s, int *err);
int pol_push(void **arr, size_t *n, size_t *cap, size_t sz, const void *item);

#endif
