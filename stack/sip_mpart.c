/*
 * Multipart bodies (RFC 2046 §5.1.1): delimiter = CRLF "--" boundary; the
 * first one may open the body without the CRLF (the preamble is ignored);
 * the close delimiter adds "--". Each part is split into its header block
 * and its body at the first empty line. Binary-safe (parts may hold NUL
 * bytes: RFC 4475 §3.1.1.11); a bare LF is tolerated like in headers.
 */
#include <errno.h>
#include <string.h>

#include "sip_int.h"
#include "sip_msg.h"

void
sip_mpart_iter_init(struct sip_mpart_iter *it, const struct pl *body,
		    const struct pl *boundary)
{
	it->body = *body;
	it->boundary = *boundary;
	it->pos = 0;
	it->done = false;
}

/* Is there a "--boundary" delimiter at off: followed by the end, "--",
   transport padding or the line end (not a longer boundary)? */
static bool
dash_boundary_at(const struct sip_mpart_iter *it, size_t off)
{
	const struct pl *b = &it->boundary;
	const char *p = it->body.p + off;
	size_t rem = it->body.l - off;

	if (rem < b->l + 2 || p[0] != '-' || p[1] != '-' ||
	    memcmp(p + 2, b->p, b->l) != 0)
		return false;
	if (rem == b->l + 2)
		return true;
	switch (p[b->l + 2]) {
	case '-':
	case ' ':
	case '\t':
	case '\r':
	case '\n':
		return true;
	default:
		return false;
	}
}

/*
 * Find the next delimiter from off: "--boundary" at a line start (after
 * LF). Returns its offset (of the dashes) or SIZE_MAX; *cut gets where the
 * part before it ends (the CRLF before the dashes belongs to the
 * delimiter).
 */
static size_t
find_delim(const struct sip_mpart_iter *it, size_t off, size_t *cut)
{
	const char *p = it->body.p, *nl;
	size_t l = it->body.l;

	if (off == 0 && dash_boundary_at(it, 0)) {
		*cut = 0;
		return 0;
	}
	while (off < l && (nl = memchr(p + off, '\n', l - off)) != NULL) {
		size_t d = (size_t)(nl - p) + 1;

		if (dash_boundary_at(it, d)) {
			*cut = d - 1;
			if (*cut > 0 && p[*cut - 1] == '\r')
				(*cut)--;
			return d;
		}
		off = d;
	}
	return SIZE_MAX;
}

/* After "--boundary": "--" closes; else transport padding then a line
   end. Returns the offset of the next part, SIZE_MAX on close, or 0 on
   error (a part never starts at 0). */
static size_t
after_delim(struct sip_mpart_iter *it, size_t d)
{
	const char *p = it->body.p;
	size_t l = it->body.l, i = d + 2 + it->boundary.l;

	if (l - i >= 2 && p[i] == '-' && p[i + 1] == '-')
		return SIZE_MAX;
	while (i < l && (p[i] == ' ' || p[i] == '\t'))
		i++;
	if (i < l && p[i] == '\r')
		i++;
	if (i < l && p[i] == '\n')
		return i + 1;
	return 0;
}

int
sip_mpart_next(struct sip_mpart_iter *it, struct pl *part_hdrs,
	       struct pl *part_body)
{
	const char *p = it->body.p, *h;
	size_t start, d, cut, n, i;

	if (it->done)
		return ENOENT;
	if (!p || !it->boundary.p || it->boundary.l == 0)
		goto bad;
	if (it->pos == 0) {
		d = find_delim(it, 0, &cut);
		if (d == SIZE_MAX)
			goto bad;
		start = after_delim(it, d);
		if (start == SIZE_MAX) {
			it->done = true;
			return ENOENT;
		}
		if (start == 0)
			goto bad;
	} else {
		start = it->pos;
	}
	d = find_delim(it, start, &cut);
	if (d == SIZE_MAX || cut < start)
		goto bad; /* no close delimiter */
	it->pos = after_delim(it, d);
	if (it->pos == SIZE_MAX)
		it->done = true;
	else if (it->pos == 0)
		goto bad;
	/* split the part at its first empty line (RFC 2046 §5.1.1: a part
	   without headers starts with the empty line) */
	h = p + start;
	n = cut - start;
	for (i = 0; i < n; i++) {
		if (h[i] != '\n' && h[i] != '\r')
			continue;
		if (h[i] == '\r' && (i + 1 >= n || h[i + 1] != '\n'))
			continue;
		if (h[i] == '\r')
			i++;
		if (i == 0 || (i == 1 && h[0] == '\r')) {
			/* the part starts with the empty line: no headers */
			pl_set(part_hdrs, h, 0);
			pl_set(part_body, h + i + 1, n - i - 1);
			return 0;
		}
		/* LF at i ends a header line; an empty line follows? */
		if (i + 1 < n && h[i + 1] == '\n') {
			pl_set(part_hdrs, h, i + 1);
			pl_set(part_body, h + i + 2, n - i - 2);
			return 0;
		}
		if (i + 2 < n && h[i + 1] == '\r' && h[i + 2] == '\n') {
			pl_set(part_hdrs, h, i + 1);
			pl_set(part_body, h + i + 3, n - i - 3);
			return 0;
		}
	}
bad:
	it->done = true;
	return EBADMSG;
}
