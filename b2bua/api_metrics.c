/* Management API: Prometheus text exposition format 0.0.4 (HELP/TYPE once
   per metric family, samples of a family kept together, escaped labels). */
#include <errno.h>
#include <event2/buffer.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "b2bua/api.h"
#include "stack/mem.h"

#define FAM_NAME_MAX 128

enum fam_type { FAM_COUNTER, FAM_GAUGE };

/* One metric family: its name, type and its lines so far. */
struct fam {
	char name[FAM_NAME_MAX];
	enum fam_type type;
	struct evbuffer *buf; /* owned */
};

struct api_metrics {
	struct fam *fams; /* owned; in order of first appearance */
	size_t nfams, cap;
	struct evbuffer *out; /* owned: api_metrics_text() result */
};

static void
metrics_destroy(void *obj)
{
	struct api_metrics *m = obj;

	for (size_t i = 0; i < m->nfams; i++)
		evbuffer_free(m->fams[i].buf);
	free(m->fams);
	if (m->out)
		evbuffer_free(m->out);
}

int
api_metrics_alloc(struct api_metrics **mp)
{
	struct api_metrics *m;

	if (!mp)
		return EINVAL;
	m = mem_zalloc(sizeof(*m), metrics_destroy);
	if (!m)
		return ENOMEM;
	m->out = evbuffer_new();
	if (!m->out) {
		mem_deref(m);
		return ENOMEM;
	}
	*mp = m;
	return 0;
}

void
api_metrics_free(struct api_metrics *m)
{
	mem_deref(m);
}

/* [a-zA-Z_:][a-zA-Z0-9_:]* for metric names (colon allowed), the same
   without colons for label names. */
static bool
name_ok(const char *s, bool colon)
{
	size_t n = s ? strlen(s) : 0;

	if (n == 0 || n >= FAM_NAME_MAX)
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		bool alpha = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
			     c == '_' || (colon && c == ':');

		if (!alpha && !(i > 0 && c >= '0' && c <= '9'))
			return false;
	}
	return true;
}

/* HELP text escapes \ and newline; label values also escape ". */
static void
put_escaped(struct evbuffer *b, const char *s, bool quote)
{
	for (; *s; s++) {
		if (*s == '\\')
			evbuffer_add(b, "\\\\", 2);
		else if (*s == '\n')
			evbuffer_add(b, "\\n", 2);
		else if (quote && *s == '"')
			evbuffer_add(b, "\\\"", 2);
		else
			evbuffer_add(b, s, 1);
	}
}

static bool
labels_ok(const char *const *labels)
{
	if (!labels)
		return true;
	for (size_t i = 0; labels[i]; i += 2) {
		if (!labels[i + 1] || !name_ok(labels[i], false) ||
		    strncmp(labels[i], "__", 2) == 0)
			return false;
	}
	return true;
}

/* Find or add the family; EINVAL when it exists with the other type. */
static int
fam_get(struct api_metrics *m, const char *name, const char *help,
	enum fam_type type, struct fam **fp)
{
	struct fam *f;

	for (size_t i = 0; i < m->nfams; i++) {
		if (strcmp(m->fams[i].name, name) == 0) {
			if (m->fams[i].type != type)
				return EINVAL;
			*fp = &m->fams[i];
			return 0;
		}
	}
	if (m->nfams == m->cap) {
		size_t cap = m->cap ? 2 * m->cap : 16;
		struct fam *nf = realloc(m->fams, cap * sizeof(*nf));

		if (!nf)
			return ENOMEM;
		m->fams = nf;
		m->cap = cap;
	}
	f = &m->fams[m->nfams];
	f->buf = evbuffer_new();
	if (!f->buf)
		return ENOMEM;
	snprintf(f->name, sizeof(f->name), "%s", name);
	f->type = type;
	m->nfams++;
	evbuffer_add_printf(f->buf, "# HELP %s ", name);
	put_escaped(f->buf, help ? help : "", false);
	evbuffer_add_printf(f->buf, "\n# TYPE %s %s\n", name,
			    type == FAM_COUNTER ? "counter" : "gauge");
	*fp = f;
	return 0;
}

/* name{l1="v1",...} with the value text already formatted. */
static int
sample_add(struct api_metrics *m, const char *name, const char *help,
	   enum fam_type type, const char *const *labels, const char *val)
{
	struct fam *f;
	int err;

	if (!m || !name_ok(name, true) || !labels_ok(labels))
		return EINVAL;
	err = fam_get(m, name, help, type, &f);
	if (err)
		return err;
	evbuffer_add(f->buf, name, strlen(name));
	if (labels && labels[0]) {
		for (size_t i = 0; labels[i]; i += 2) {
			evbuffer_add_printf(f->buf, "%s%s=\"", i ? "," : "{",
					    labels[i]);
			put_escaped(f->buf, labels[i + 1], true);
			evbuffer_add(f->buf, "\"", 1);
		}
		evbuffer_add(f->buf, "}", 1);
	}
	evbuffer_add_printf(f->buf, " %s\n", val);
	return 0;
}

int
api_metric_counter(struct api_metrics *m, const char *name, const char *help,
		   const char *const *labels, uint64_t value)
{
	char v[32];

	snprintf(v, sizeof(v), "%" PRIu64, value);
	return sample_add(m, name, help, FAM_COUNTER, labels, v);
}

/* The shortest of %.15g and %.17g that reads back as the same double;
   NaN and infinities as the format spells them. */
static void
fmt_double(char *v, size_t sz, double d)
{
	if (isnan(d)) {
		snprintf(v, sz, "NaN");
	} else if (isinf(d)) {
		snprintf(v, sz, "%sInf", d > 0 ? "+" : "-");
	} else {
		snprintf(v, sz, "%.15g", d);
		if (strtod(v, NULL) != d)
			snprintf(v, sz, "%.17g", d);
	}
}

int
api_metric_gauge(struct api_metrics *m, const char *name, const char *help,
		 const char *const *labels, double value)
{
	char v[40];

	fmt_double(v, sizeof(v), value);
	return sample_add(m, name, help, FAM_GAUGE, labels, v);
}

int
api_metric_counterf(struct api_metrics *m, const char *name, const char *help,
		    const char *const *labels, double value)
{
	char v[40];

	fmt_double(v, sizeof(v), value);
	return sample_add(m, name, help, FAM_COUNTER, labels, v);
}

const char *
api_metrics_text(struct api_metrics *m, size_t *lenp)
{
	size_t len;
	unsigned char *p;

	if (!m)
		return NULL;
	evbuffer_drain(m->out, evbuffer_get_length(m->out));
	for (size_t i = 0; i < m->nfams; i++) {
		struct evbuffer *b = m->fams[i].buf;

		len = evbuffer_get_length(b);
		if (evbuffer_add(m->out, evbuffer_pullup(b, -1), len) < 0)
			return NULL;
	}
	len = evbuffer_get_length(m->out);
	if (evbuffer_add(m->out, "", 1) < 0)
		return NULL;
	p = evbuffer_pullup(m->out, -1);
	if (lenp)
		*lenp = len;
	return (const char *)p;
}
