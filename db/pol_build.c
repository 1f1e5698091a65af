/* Policy builder: rows collected (strings copied) for pol_build_compile()
   (pol_compile.c). */
#include "db/pol_build_int.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* String fields of struct pol_trunk, for deep copies and frees. */
const size_t pol_trunk_strs[] = {
	offsetof(struct pol_trunk, name),
	offsetof(struct pol_trunk, group),
	offsetof(struct pol_trunk, host),
	offsetof(struct pol_trunk, cidrs),
	offsetof(struct pol_trunk, in_user),
	offsetof(struct pol_trunk, in_pass),
	offsetof(struct pol_trunk, out_user),
	offsetof(struct pol_trunk, out_pass),
	offsetof(struct pol_trunk, codecs),
	offsetof(struct pol_trunk, status_map),
	offsetof(struct pol_trunk, hdr_list),
	offsetof(struct pol_trunk, hdr_add),
	offsetof(struct pol_trunk, media_addr),
};
const size_t pol_trunk_nstrs = sizeof(pol_trunk_strs) / sizeof(size_t);

static const char **
tstr(struct pol_trunk *t, size_t i)
{
	return (const char **)(void *)((char *)t + pol_trunk_strs[i]);
}

void
pol_trunk_strs_free(struct pol_trunk *t)
{
	size_t i;

	for (i = 0; i < pol_trunk_nstrs; i++) {
		free((void *)(uintptr_t)*tstr(t, i));
		*tstr(t, i) = NULL;
	}
}

int
pol_trunk_copy(struct pol_trunk *dst, const struct pol_trunk *src, size_t *mem)
{
	size_t i;

	*dst = *src;
	for (i = 0; i < pol_trunk_nstrs; i++)
		*tstr(dst, i) = NULL;
	for (i = 0; i < pol_trunk_nstrs; i++) {
		const char *s = *tstr((struct pol_trunk *)(uintptr_t)src, i);

		if (!s)
			continue;
		*tstr(dst, i) = strdup(s);
		if (!*tstr(dst, i)) {
			pol_trunk_strs_free(dst);
			return ENOMEM;
		}
		if (mem)
			*mem += strlen(s) + 1;
	}
	return 0;
}

char *
pol_sdup(const char *s, int *err)
{
	char *d;

	if (!s)
		return NULL;
	d = strdup(s);
	if (!d)
		*err = ENOMEM;
	return d;
}

int
pol_push(void **arr, size_t *n, size_t *cap, size_t sz, const void *item)
{
	if (*n == *cap) {
		size_t nc = *cap ? *cap * 2 : 16;
		void *p = realloc(*arr, nc * sz);

		if (!p)
			return ENOMEM;
		*arr = p;
		*cap = nc;
	}
	memcpy((char *)*arr + *n * sz, item, sz);
	(*n)++;
	return 0;
}

#define PUSH(b, vec, item)                                                     \
	pol_push((void **)&(b)->vec.v, &(b)->vec.n, &(b)->vec.cap,             \
		 sizeof(*(b)->vec.v), (item))

int
pol_build_alloc(struct pol_build **bp)
{
	if (!bp)
		return EINVAL;
	*bp = calloc(1, sizeof(**bp));
	return *bp ? 0 : ENOMEM;
}

void
pol_build_free(struct pol_build *b)
{
	size_t i;

	if (!b)
		return;
	for (i = 0; i < b->trunks.n; i++)
		pol_trunk_strs_free(&b->trunks.v[i]);
	for (i = 0; i < b->routes.n; i++) {
		free((void *)(uintptr_t)b->routes.v[i].src_group);
		free((void *)(uintptr_t)b->routes.v[i].called_prefix);
		free((void *)(uintptr_t)b->routes.v[i].calling_prefix);
		free((void *)(uintptr_t)b->routes.v[i].failover);
	}
	for (i = 0; i < b->wins.n; i++)
		free((void *)(uintptr_t)b->wins.v[i].tz);
	for (i = 0; i < b->rws.n; i++) {
		free((void *)(uintptr_t)b->rws.v[i].pattern);
		free((void *)(uintptr_t)b->rws.v[i].replacement);
	}
	for (i = 0; i < b->lists.n; i++) {
		free((void *)(uintptr_t)b->lists.v[i].prefix);
		free((void *)(uintptr_t)b->lists.v[i].reason);
	}
	for (i = 0; i < b->cids.n; i++)
		free((void *)(uintptr_t)b->cids.v[i].pai_value);
	free(b->trunks.v);
	free(b->routes.v);
	free(b->wins.v);
	free(b->tgts.v);
	free(b->rws.v);
	free(b->lists.v);
	free(b->cids.v);
	free(b);
}

void
pol_build_version(struct pol_build *b, int64_t version)
{
	b->version = version;
}

int
pol_build_trunk(struct pol_build *b, const struct pol_trunk *t)
{
	struct pol_trunk c;
	int err;

	if (!b || !t || !t->name || !t->host ||
	    !pol_status_map_ok(t->status_map) ||
	    !pol_hdr_add_ok(t->hdr_add, NULL))
		return EINVAL;
	err = pol_trunk_copy(&c, t, NULL);
	if (!err && (err = PUSH(b, trunks, &c)))
		pol_trunk_strs_free(&c);
	return err;
}

int
pol_build_route(struct pol_build *b, const struct pol_route_cfg *r)
{
	struct pol_route_cfg c;
	uint16_t *fo = NULL;
	int err = 0;

	if (!b || !r || (r->nfailover && !r->failover))
		return EINVAL;
	c = *r;
	c.src_group = pol_sdup(r->src_group, &err);
	c.called_prefix =
		pol_sdup(r->called_prefix ? r->called_prefix : "", &err);
	c.calling_prefix =
		pol_sdup(r->calling_prefix ? r->calling_prefix : "", &err);
	if (r->nfailover) {
		fo = malloc(r->nfailover * sizeof(*fo));
		if (fo)
			memcpy(fo, r->failover, r->nfailover * sizeof(*fo));
		else
			err = ENOMEM;
	}
	c.failover = fo;
	if (!err)
		err = PUSH(b, routes, &c);
	if (err) {
		free((void *)(uintptr_t)c.src_group);
		free((void *)(uintptr_t)c.called_prefix);
		free((void *)(uintptr_t)c.calling_prefix);
		free(fo);
	}
	return err;
}

int
pol_build_window(struct pol_build *b, const struct pol_window_cfg *w)
{
	struct pol_window_cfg c;
	int err = 0;

	if (!b || !w || w->start_min >= 1440 || w->end_min > 1440 ||
	    !w->weekdays || w->weekdays > 127)
		return EINVAL;
	c = *w;
	c.tz = pol_sdup(w->tz ? w->tz : "UTC", &err);
	if (!err && (err = PUSH(b, wins, &c)))
		free((void *)(uintptr_t)c.tz);
	return err;
}

int
pol_build_target(struct pol_build *b, const struct pol_target_cfg *t)
{
	if (!b || !t)
		return EINVAL;
	return PUSH(b, tgts, t);
}

int
pol_build_rewrite(struct pol_build *b, const struct pol_rewrite_cfg *r)
{
	struct pol_rewrite_cfg c;
	int err = 0;

	if (!b || !r || !r->pattern || !r->replacement ||
	    r->dir >= POL_DIR_COUNT || r->field >= POL_F_COUNT)
		return EINVAL;
	c = *r;
	c.pattern = pol_sdup(r->pattern, &err);
	c.replacement = pol_sdup(r->replacement, &err);
	if (!err)
		err = PUSH(b, rws, &c);
	if (err) {
		free((void *)(uintptr_t)c.pattern);
		free((void *)(uintptr_t)c.replacement);
	}
	return err;
}

int
pol_build_list(struct pol_build *b, const struct pol_list_cfg *l)
{
	struct pol_list_cfg c;
	int err = 0;

	if (!b || !l || !l->prefix || l->field >= POL_F_COUNT)
		return EINVAL;
	c = *l;
	c.prefix = pol_sdup(l->prefix, &err);
	c.reason = pol_sdup(l->reason, &err);
	if (!err)
		err = PUSH(b, lists, &c);
	if (err) {
		free((void *)(uintptr_t)c.prefix);
		free((void *)(uintptr_t)c.reason);
	}
	return err;
}

int
pol_build_cid(struct pol_build *b, const struct pol_cid_cfg *c)
{
	struct pol_cid_cfg x;
	int err = 0;

	if (!b || !c || c->dir >= POL_DIR_COUNT)
		return EINVAL;
	x = *c;
	x.pai_value = pol_sdup(c->pai_value, &err);
	if (!err && (err = PUSH(b, cids, &x)))
		free((void *)(uintptr_t)x.pai_value);
	return err;
}

/* "FROM=TO[,FROM=TO...]" with 3-digit statuses 300..699. */
static const char *
map_entry(const char *p, uint16_t *from, uint16_t *to)
{
	unsigned a = 0, b = 0, i;

	for (i = 0; i < 3; i++, p++) {
		if (*p < '0' || *p > '9')
			return NULL;
		a = a * 10 + (unsigned)(*p - '0');
	}
	if (*p++ != '=')
		return NULL;
	for (i = 0; i < 3; i++, p++) {
		if (*p < '0' || *p > '9')
			return NULL;
		b = b * 10 + (unsigned)(*p - '0');
	}
	if (a < 300 || a > 699 || b < 300 || b > 699 || (*p && *p != ',') ||
	    (*p == ',' && !p[1]))
		return NULL;
	*from = (uint16_t)a;
	*to = (uint16_t)b;
	return *p ? p + 1 : p;
}

bool
pol_status_map_ok(const char *map)
{
	uint16_t a, b;

	while (map && *map) {
		map = map_entry(map, &a, &b);
		if (!map)
			return false;
	}
	return true;
}

uint16_t
pol_status_map(const char *map, uint16_t status)
{
	uint16_t a, b;

	while (map && *map) {
		map = map_entry(map, &a, &b);
		if (!map)
			break;
		if (a == status)
			return b;
	}
	return status;
}

bool
pol_name_listed(const char *list, const char *name, size_t len)
{
	const char *p = list;

	while (p && *p) {
		const char *e;
		size_t n;

		while (*p == ' ' || *p == ',')
			p++;
		for (e = p; *e && *e != ','; e++)
			;
		n = (size_t)(e - p);
		while (n && p[n - 1] == ' ')
			n--;
		if (n && n == len && !strncasecmp(p, name, n))
			return true;
		p = e;
	}
	return false;
}

/* RFC 3261 §25.1 token characters. */
static bool
is_tokc(char ch)
{
	return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
	       (ch >= '0' && ch <= '9') || strchr("-.!%*_+`'~", ch);
}

bool
pol_hdr_add_ok(const char *lines, const char **why)
{
	static const char deny[] =
		"Via,v,From,f,To,t,Call-ID,i,CSeq,Contact,m,Route,"
		"Record-Route,Max-Forwards,Content-Length,l,Content-Type,c,"
		"Content-Encoding,e,Content-Disposition,Require,Proxy-Require,"
		"Supported,k,Session-Expires,x,Min-SE,RSeq,RAck,"
		"Authorization,Proxy-Authorization";
	const char *p = lines, *dummy;

	if (!why)
		why = &dummy;
	while (p && *p) {
		const char *nl = strchr(p, '\n'), *e = nl ? nl : p + strlen(p);
		const char *q = p;

		while (q < e && is_tokc(*q))
			q++;
		if (q == p || q >= e || *q != ':') {
			*why = "not a \"Name: value\" header line";
			return false;
		}
		if (pol_name_listed(deny, p, (size_t)(q - p))) {
			*why = "that header carries the dialog or the route";
			return false;
		}
		for (; q < e; q++) {
			if (*q == '\r' || *q == '\0' ||
			    ((unsigned char)*q < 0x20 && *q != '\t')) {
				*why = "control character in the value";
				return false;
			}
		}
		p = nl ? nl + 1 : e;
	}
	return true;
}
