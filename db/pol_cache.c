/* The local copy of the last good policy (the policy issue, item 4): the
   builder's rows written to a file after every load that compiled, read
   back when PostgreSQL is unreachable at start. A line per row, fields
   separated by tabs, strings escaped (\\ \t \n \r, \N for NULL); a last
   line "end <rows> <FNV-1a 64 of everything before it>" so a truncated or
   damaged file is refused whole. Written to "<path>.tmp", fsynced, renamed
   over path (never half a file under the name), mode 0600: it holds the
   trunks' credentials. */
#define LOG_MODULE "db"
#include "db/db.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "db/pol_build_int.h"

#define CACHE_MAGIC "tandem-policy-cache 1"
#define CACHE_MAX (256u << 20) /* refuse files larger than this */

/* --- writing ------------------------------------------------------------ */

struct wbuf {
	char *p;
	size_t n, cap;
	int err;
};

static void
put(struct wbuf *w, const char *s, size_t n)
{
	if (w->err)
		return;
	if (w->n + n + 1 > w->cap) {
		size_t cap = w->cap ? w->cap : 65536;
		char *p;

		while (cap < w->n + n + 1)
			cap *= 2;
		p = realloc(w->p, cap);
		if (!p) {
			w->err = ENOMEM;
			return;
		}
		w->p = p;
		w->cap = cap;
	}
	memcpy(w->p + w->n, s, n);
	w->n += n;
}

static void
put_int(struct wbuf *w, int64_t v)
{
	char b[24];
	int n = snprintf(b, sizeof(b), "\t%" PRId64, v);

	put(w, b, (size_t)n);
}

static void
put_str(struct wbuf *w, const char *s)
{
	put(w, "\t", 1);
	if (!s) {
		put(w, "\\N", 2);
		return;
	}
	for (; *s; s++) {
		switch (*s) {
		case '\\':
			put(w, "\\\\", 2);
			break;
		case '\t':
			put(w, "\\t", 2);
			break;
		case '\n':
			put(w, "\\n", 2);
			break;
		case '\r':
			put(w, "\\r", 2);
			break;
		default:
			put(w, s, 1);
		}
	}
}

static void
put_codes(struct wbuf *w, const uint16_t *c, size_t n)
{
	char b[8];
	size_t i;

	put(w, "\t", 1);
	for (i = 0; i < n; i++) {
		int k = snprintf(b, sizeof(b), "%s%u", i ? "," : "", c[i]);

		put(w, b, (size_t)k);
	}
}

static uint64_t
fnv64(const char *p, size_t n)
{
	uint64_t h = 14695981039346656037ULL;

	while (n--)
		h = (h ^ (uint8_t)*p++) * 1099511628211ULL;
	return h;
}

static void
rows(struct wbuf *w, const struct pol_build *b, size_t *count)
{
	size_t i;

	for (i = 0; i < b->trunks.n; i++) {
		const struct pol_trunk *t = &b->trunks.v[i];

		put(w, "T", 1);
		put_int(w, t->id);
		put_str(w, t->name);
		put_int(w, t->role);
		put_str(w, t->group);
		put_str(w, t->host);
		put_int(w, t->port);
		put_int(w, t->transport);
		put_str(w, t->cidrs);
		put_int(w, t->in_port);
		put_str(w, t->in_user);
		put_str(w, t->in_pass);
		put_str(w, t->out_user);
		put_str(w, t->out_pass);
		put_int(w, t->reg);
		put_int(w, t->reg_expires);
		put_str(w, t->codecs);
		put_int(w, t->srtp);
		put_str(w, t->media_addr);
		put_int(w, t->hdr_pass);
		put_int(w, t->pai_trust);
		put_int(w, t->options_s);
		put_int(w, t->max_calls);
		put_int(w, t->max_cps);
		put_int(w, t->enabled);
		put_str(w, t->status_map);
		put_str(w, t->hdr_list);
		put_str(w, t->hdr_add);
		put_int(w, t->nat);
		put_int(w, t->relay_3xx);
		put_int(w, t->keep_ice);
		put(w, "\n", 1);
	}
	for (i = 0; i < b->routes.n; i++) {
		const struct pol_route_cfg *r = &b->routes.v[i];

		put(w, "R", 1);
		put_int(w, r->id);
		put_int(w, r->src_trunk);
		put_str(w, r->src_group);
		put_str(w, r->called_prefix);
		put_str(w, r->calling_prefix);
		put_int(w, r->priority);
		put_codes(w, r->failover, r->nfailover);
		put_int(w, r->enabled);
		put(w, "\n", 1);
	}
	for (i = 0; i < b->wins.n; i++) {
		const struct pol_window_cfg *x = &b->wins.v[i];

		put(w, "W", 1);
		put_int(w, x->id);
		put_int(w, x->route);
		put_int(w, x->weekdays);
		put_int(w, x->start_min);
		put_int(w, x->end_min);
		put_str(w, x->tz);
		put(w, "\n", 1);
	}
	for (i = 0; i < b->tgts.n; i++) {
		const struct pol_target_cfg *x = &b->tgts.v[i];

		put(w, "G", 1);
		put_int(w, x->id);
		put_int(w, x->route);
		put_int(w, x->trunk);
		put_int(w, x->priority);
		put_int(w, x->weight);
		put(w, "\n", 1);
	}
	for (i = 0; i < b->rws.n; i++) {
		const struct pol_rewrite_cfg *x = &b->rws.v[i];

		put(w, "X", 1);
		put_int(w, x->id);
		put_int(w, x->trunk);
		put_int(w, x->dir);
		put_int(w, x->field);
		put_int(w, x->priority);
		put_str(w, x->pattern);
		put_str(w, x->replacement);
		put_int(w, x->enabled);
		put(w, "\n", 1);
	}
	for (i = 0; i < b->lists.n; i++) {
		const struct pol_list_cfg *x = &b->lists.v[i];

		put(w, "L", 1);
		put_int(w, x->id);
		put_int(w, x->kind);
		put_int(w, x->field);
		put_str(w, x->prefix);
		put_int(w, x->status);
		put_str(w, x->reason);
		put_int(w, x->enabled);
		put(w, "\n", 1);
	}
	for (i = 0; i < b->cids.n; i++) {
		const struct pol_cid_cfg *x = &b->cids.v[i];

		put(w, "C", 1);
		put_int(w, x->id);
		put_int(w, x->trunk);
		put_int(w, x->dir);
		put_int(w, x->pai);
		put_str(w, x->pai_value);
		put_int(w, x->privacy);
		put_int(w, x->priority);
		put_int(w, x->enabled);
		put(w, "\n", 1);
	}
	*count = b->trunks.n + b->routes.n + b->wins.n + b->tgts.n + b->rws.n +
		 b->lists.n + b->cids.n;
}

int
pol_cache_save(const struct pol_build *b, const char *path, char *err,
	       size_t errsz)
{
	struct wbuf w = {0};
	char tmp[4096], line[96];
	size_t count = 0, off = 0;
	int fd, n, ret = 0;

	if (!b || !path || strlen(path) + 5 > sizeof(tmp))
		return EINVAL;
	n = snprintf(line, sizeof(line), CACHE_MAGIC "\nV\t%" PRId64 "\n",
		     b->version);
	put(&w, line, (size_t)n);
	rows(&w, b, &count);
	n = snprintf(line, sizeof(line), "end %zu %016" PRIx64 "\n", count,
		     fnv64(w.p ? w.p : "", w.n));
	put(&w, line, (size_t)n);
	if (w.err) {
		free(w.p);
		snprintf(err, errsz, "%s: out of memory", path);
		return w.err;
	}
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0) {
		ret = errno;
		goto fail;
	}
	while (off < w.n) {
		ssize_t k = write(fd, w.p + off, w.n - off);

		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0) {
			ret = k < 0 ? errno : EIO;
			break;
		}
		off += (size_t)k;
	}
	if (!ret && fsync(fd))
		ret = errno;
	if (close(fd) && !ret)
		ret = errno;
	if (!ret && rename(tmp, path))
		ret = errno;
	if (ret)
		(void)unlink(tmp);
fail:
	if (ret)
		snprintf(err, errsz, "%s: %s", ret == errno ? tmp : path,
			 strerror(ret));
	free(w.p);
	return ret;
}

/* --- reading ------------------------------------------------------------ */

#define MAXF 32

/* Split line (NUL-terminated, no LF) at tabs; unescape each field in
   place; NULL for \N. Returns the field count or -1 on a bad escape. */
static int
split(char *line, char **f)
{
	int n = 0;
	char *p = line;

	for (;;) {
		char *s = p, *d = p;

		if (n == MAXF)
			return -1;
		while (*p && *p != '\t') {
			if (*p != '\\') {
				*d++ = *p++;
				continue;
			}
			p++;
			switch (*p) {
			case '\\':
				*d++ = '\\';
				break;
			case 't':
				*d++ = '\t';
				break;
			case 'n':
				*d++ = '\n';
				break;
			case 'r':
				*d++ = '\r';
				break;
			case 'N':
				if (d != s || (p[1] && p[1] != '\t'))
					return -1;
				s = NULL;
				break;
			default:
				return -1;
			}
			p++;
		}
		f[n++] = s;
		if (!*p) {
			*d = '\0';
			return n;
		}
		*d = '\0';
		p++;
	}
}

/* Field i as an integer in [lo, hi]; *bad set otherwise. */
static int64_t
num(char **f, int i, int64_t lo, int64_t hi, bool *bad)
{
	char *end;
	long long v;

	if (!f[i] || !*f[i]) {
		*bad = true;
		return 0;
	}
	errno = 0;
	v = strtoll(f[i], &end, 10);
	if (errno || *end || v < lo || v > hi)
		*bad = true;
	return v;
}

static int
parse_codes(const char *s, uint16_t *out, size_t max, size_t *n)
{
	*n = 0;
	while (s && *s) {
		char *end;
		unsigned long v = strtoul(s, &end, 10);

		if (end == s || v < 100 || v > 699 || *n == max)
			return EINVAL;
		out[(*n)++] = (uint16_t)v;
		s = *end == ',' ? end + 1 : end;
		if (*end && *end != ',')
			return EINVAL;
	}
	return 0;
}

static int
row(struct pol_build *b, char **f, int nf)
{
	bool bad = false;

	switch (f[0][0]) {
	case 'V':
		if (nf != 2)
			return EINVAL;
		pol_build_version(b, num(f, 1, INT64_MIN, INT64_MAX, &bad));
		return bad ? EINVAL : 0;
	case 'T': {
		struct pol_trunk t = {0};

		/* fewer fields: a cache written before trunks.redirect (29)
		   or trunks.keep_ice (30) */
		if (nf != 29 && nf != 30 && nf != 31)
			return EINVAL;
		t.id = num(f, 1, 1, INT64_MAX, &bad);
		t.name = f[2];
		t.role = (enum pol_role)num(f, 3, 0, POL_ROLE_PBX, &bad);
		t.group = f[4];
		t.host = f[5];
		t.port = (uint16_t)num(f, 6, 0, 65535, &bad);
		t.transport =
			(enum pol_transport)num(f, 7, 0, POL_TP_TLS, &bad);
		t.cidrs = f[8];
		t.in_port = (uint16_t)num(f, 9, 0, 65535, &bad);
		t.in_user = f[10];
		t.in_pass = f[11];
		t.out_user = f[12];
		t.out_pass = f[13];
		t.reg = num(f, 14, 0, 1, &bad);
		t.reg_expires = (uint32_t)num(f, 15, 0, UINT32_MAX, &bad);
		t.codecs = f[16];
		t.srtp = (enum pol_srtp)num(f, 17, 0, POL_SRTP_MANDATORY, &bad);
		t.media_addr = f[18];
		t.hdr_pass = num(f, 19, 0, 1, &bad);
		t.pai_trust = num(f, 20, 0, 1, &bad);
		t.options_s = (uint32_t)num(f, 21, 0, UINT32_MAX, &bad);
		t.max_calls = (uint32_t)num(f, 22, 0, UINT32_MAX, &bad);
		t.max_cps = (uint32_t)num(f, 23, 0, UINT32_MAX, &bad);
		t.enabled = num(f, 24, 0, 1, &bad);
		t.status_map = f[25];
		t.hdr_list = f[26];
		t.hdr_add = f[27];
		t.nat = num(f, 28, 0, 1, &bad);
		if (nf > 29)
			t.relay_3xx = num(f, 29, 0, 1, &bad);
		if (nf > 30)
			t.keep_ice = num(f, 30, 0, 1, &bad);
		return bad ? EINVAL : pol_build_trunk(b, &t);
	}
	case 'R': {
		struct pol_route_cfg r = {0};
		uint16_t fo[POL_FAILOVER_MAX];

		if (nf != 9 ||
		    parse_codes(f[7], fo, POL_FAILOVER_MAX, &r.nfailover))
			return EINVAL;
		r.id = num(f, 1, 1, INT64_MAX, &bad);
		r.src_trunk = num(f, 2, 0, INT64_MAX, &bad);
		r.src_group = f[3];
		r.called_prefix = f[4];
		r.calling_prefix = f[5];
		r.priority = (int32_t)num(f, 6, INT32_MIN, INT32_MAX, &bad);
		r.failover = fo;
		r.enabled = num(f, 8, 0, 1, &bad);
		return bad ? EINVAL : pol_build_route(b, &r);
	}
	case 'W': {
		struct pol_window_cfg x = {0};

		if (nf != 7)
			return EINVAL;
		x.id = num(f, 1, 1, INT64_MAX, &bad);
		x.route = num(f, 2, 1, INT64_MAX, &bad);
		x.weekdays = (uint8_t)num(f, 3, 0, 127, &bad);
		x.start_min = (uint16_t)num(f, 4, 0, 1440, &bad);
		x.end_min = (uint16_t)num(f, 5, 0, 1440, &bad);
		x.tz = f[6];
		return bad ? EINVAL : pol_build_window(b, &x);
	}
	case 'G': {
		struct pol_target_cfg x = {0};

		if (nf != 6)
			return EINVAL;
		x.id = num(f, 1, 1, INT64_MAX, &bad);
		x.route = num(f, 2, 1, INT64_MAX, &bad);
		x.trunk = num(f, 3, 1, INT64_MAX, &bad);
		x.priority = (int32_t)num(f, 4, INT32_MIN, INT32_MAX, &bad);
		x.weight = (uint32_t)num(f, 5, 0, UINT32_MAX, &bad);
		return bad ? EINVAL : pol_build_target(b, &x);
	}
	case 'X': {
		struct pol_rewrite_cfg x = {0};

		if (nf != 9)
			return EINVAL;
		x.id = num(f, 1, 1, INT64_MAX, &bad);
		x.trunk = num(f, 2, 0, INT64_MAX, &bad);
		x.dir = (enum pol_dir)num(f, 3, 0, POL_DIR_OUT, &bad);
		x.field = (enum pol_field)num(f, 4, 0, POL_F_CALLING, &bad);
		x.priority = (int32_t)num(f, 5, INT32_MIN, INT32_MAX, &bad);
		x.pattern = f[6];
		x.replacement = f[7];
		x.enabled = num(f, 8, 0, 1, &bad);
		return bad ? EINVAL : pol_build_rewrite(b, &x);
	}
	case 'L': {
		struct pol_list_cfg x = {0};

		if (nf != 8)
			return EINVAL;
		x.id = num(f, 1, 1, INT64_MAX, &bad);
		x.kind = (enum pol_list)num(f, 2, 0, POL_LIST_ALLOW, &bad);
		x.field = (enum pol_field)num(f, 3, 0, POL_F_CALLING, &bad);
		x.prefix = f[4];
		x.status = (uint16_t)num(f, 5, 0, 699, &bad);
		x.reason = f[6];
		x.enabled = num(f, 7, 0, 1, &bad);
		return bad ? EINVAL : pol_build_list(b, &x);
	}
	case 'C': {
		struct pol_cid_cfg x = {0};

		if (nf != 9)
			return EINVAL;
		x.id = num(f, 1, 1, INT64_MAX, &bad);
		x.trunk = num(f, 2, 0, INT64_MAX, &bad);
		x.dir = (enum pol_dir)num(f, 3, 0, POL_DIR_OUT, &bad);
		x.pai = (enum pol_pai)num(f, 4, 0, POL_PAI_STRIP, &bad);
		x.pai_value = f[5];
		x.privacy = (enum pol_privacy)num(f, 6, 0, POL_PRIV_ID, &bad);
		x.priority = (int32_t)num(f, 7, INT32_MIN, INT32_MAX, &bad);
		x.enabled = num(f, 8, 0, 1, &bad);
		return bad ? EINVAL : pol_build_cid(b, &x);
	}
	default:
		return EINVAL;
	}
}

static int
read_all(const char *path, char **bufp, size_t *lenp)
{
	struct stat sb;
	char *buf;
	size_t off = 0;
	int fd = open(path, O_RDONLY | O_CLOEXEC), ret = 0;

	if (fd < 0)
		return errno;
	if (fstat(fd, &sb) || sb.st_size < 0 ||
	    (size_t)sb.st_size > CACHE_MAX) {
		close(fd);
		return EFBIG;
	}
	buf = malloc((size_t)sb.st_size + 1);
	if (!buf) {
		close(fd);
		return ENOMEM;
	}
	while (off < (size_t)sb.st_size) {
		ssize_t k = read(fd, buf + off, (size_t)sb.st_size - off);

		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0) {
			ret = k < 0 ? errno : EIO;
			break;
		}
		off += (size_t)k;
	}
	close(fd);
	if (ret) {
		free(buf);
		return ret;
	}
	buf[off] = '\0';
	*bufp = buf;
	*lenp = off;
	return 0;
}

int
pol_cache_load(struct pol_build **bp, const char *path, char *err, size_t errsz)
{
	char *buf = NULL, *p, *f[MAXF], *end;
	struct pol_build *b = NULL;
	size_t len = 0, count = 0, want, lineno = 1;
	uint64_t sum;
	int ret;

	if (!bp || !path)
		return EINVAL;
	ret = read_all(path, &buf, &len);
	if (ret) {
		snprintf(err, errsz, "%s: %s", path, strerror(ret));
		return ret;
	}
	/* the trailer: "end <rows> <sum>\n", the sum of what precedes it */
	end = len >= 2 ? memrchr(buf, '\n', len - 1) : NULL;
	if (!end || sscanf(end + 1, "end %zu %" SCNx64, &want, &sum) != 2 ||
	    buf[len - 1] != '\n' ||
	    fnv64(buf, (size_t)(end + 1 - buf)) != sum ||
	    strncmp(buf, CACHE_MAGIC "\n", sizeof(CACHE_MAGIC))) {
		snprintf(err, errsz,
			 "%s: not a complete policy cache (truncated or "
			 "damaged): ignored",
			 path);
		free(buf);
		return EBADMSG;
	}
	end[1] = '\0';
	ret = pol_build_alloc(&b);
	p = buf + sizeof(CACHE_MAGIC);
	while (!ret && *p) {
		char *nl = strchr(p, '\n');
		int nf;

		lineno++;
		*nl = '\0';
		nf = split(p, f);
		if (nf < 1 || !f[0] || strlen(f[0]) != 1) {
			ret = EINVAL;
		} else {
			ret = row(b, f, nf);
			count += f[0][0] != 'V';
		}
		if (ret)
			snprintf(err, errsz, "%s:%zu: bad row", path, lineno);
		p = nl + 1;
	}
	if (!ret && count != want) {
		snprintf(err, errsz, "%s: %zu rows, the trailer says %zu", path,
			 count, want);
		ret = EBADMSG;
	}
	free(buf);
	if (ret) {
		pol_build_free(b);
		return ret;
	}
	*bp = b;
	return 0;
}
