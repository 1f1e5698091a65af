/* Number rewrites at lookup: one PCRE2 match and a replacement template
   expanded by hand, with the result pcre2_substitute() would give.

   pcre2_substitute() re-reads the replacement text and sets its match
   up on every call: that was half the cost of a lookup with rewrites
   (pol_bench). At compile time the replacement is cut into literal runs
   and group references; at lookup a pattern that cannot match (anchored
   on a first character the number does not start with, or longer than
   the number) is passed over without calling PCRE2 at all, and one that
   can is matched with pcre2_jit_match() when JIT code exists.
   Replacements using more than $$, $N and ${N} (group names, (*MARK)
   names) keep going through pcre2_substitute(). The two checks before
   PCRE2 are the ones pcre2_match() makes first itself (start-of-match
   optimisations), so they change the cost, never the answer.

   The commonest rule of all, a prefix stripped or put in front
   (^00([0-9]+)$ -> +$1, ^([0-9]+)$ -> +49$1), is recognised from the
   pattern's source: ^, literal digits, # or escaped + * #, one group
   of [0-9] or \d with + or *, then $, compiled without options. Its
   answer is taken without PCRE2 only where it is certain: the literal
   differs (no match), or the rest is all digits (a match of all of it,
   or none when '+' finds no digit). Any other byte in the rest (a
   newline $ could match before, say) goes to PCRE2 as before. */
#include "db/pol_int.h"

#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* One piece of a template: text[off, off + len) of the replacement, or
   capture group grp when len is 0. */
struct pol_rwseg {
	uint16_t off, len;
	uint16_t grp;
};

struct pol_rwtpl {
	size_t nseg;
	struct pol_rwseg seg[]; /* nseg */
};

/* Cut repl into segments; ENOTSUP for syntax left to pcre2_substitute
   (names, $*MARK, a lone '$'), ENOMEM. Literal '$' of "$$" is taken
   from the text itself (its second byte). */
static int
tpl_parse(const char *repl, struct pol_rwtpl **out)
{
	size_t n = strlen(repl), cap = n + 1, k = 0, i = 0;
	struct pol_rwtpl *t;

	if (n > UINT16_MAX)
		return ENOTSUP;
	t = calloc(1, sizeof(*t) + cap * sizeof(t->seg[0]));
	if (!t)
		return ENOMEM;
	while (i < n) {
		size_t j = i, g = 0;
		bool brace;

		if (repl[i] != '$') {
			while (j < n && repl[j] != '$')
				j++;
			t->seg[k++] = (struct pol_rwseg){(uint16_t)i,
							 (uint16_t)(j - i), 0};
			i = j;
			continue;
		}
		if (repl[i + 1] == '$') { /* "$$": the second '$' */
			t->seg[k++] =
				(struct pol_rwseg){(uint16_t)(i + 1), 1, 0};
			i += 2;
			continue;
		}
		j = i + 1;
		brace = repl[j] == '{';
		j += brace;
		if (!isdigit((unsigned char)repl[j]))
			goto unsupported;
		while (isdigit((unsigned char)repl[j])) {
			g = g * 10 + (size_t)(repl[j++] - '0');
			if (g > POL_CAPTURES_MAX)
				goto unsupported;
		}
		if (brace && repl[j++] != '}')
			goto unsupported;
		t->seg[k++] = (struct pol_rwseg){0, 0, (uint16_t)g};
		i = j;
	}
	t->nseg = k;
	*out = t;
	return 0;
unsupported:
	free(t);
	return ENOTSUP;
}

/* Whether pattern is the prefix form; its literal into w. */
static void
fast_parse(struct pol_rw *w, const char *p)
{
	size_t n = 0;

	w->fast = -1;
	w->litlen = 0;
	if (!p || *p++ != '^')
		return;
	for (;; p++) {
		char ch = *p;

		if (ch == '\\' && (p[1] == '+' || p[1] == '*' || p[1] == '#'))
			ch = *++p;
		else if (!(ch >= '0' && ch <= '9') && ch != '#')
			break;
		if (n == sizeof(w->lit))
			return;
		w->lit[n++] = ch;
	}
	if (*p++ != '(')
		return;
	if (!strncmp(p, "[0-9]", 5))
		p += 5;
	else if (!strncmp(p, "\\d", 2))
		p += 2;
	else
		return;
	if ((*p != '+' && *p != '*') || strcmp(p + 1, ")$") != 0)
		return;
	w->fast = *p == '+' ? 1 : 0;
	w->litlen = (uint8_t)n;
}

int
pol_rw_prepare(struct pol_rw *w, const char *pattern)
{
	uint32_t type = 0, unit = 0, opts = 0, minlen = 0;
	size_t jit = 0;
	int err;

	w->tpl = NULL;
	w->first = -1;
	pcre2_pattern_info(w->re, PCRE2_INFO_ALLOPTIONS, &opts);
	pcre2_pattern_info(w->re, PCRE2_INFO_FIRSTCODETYPE, &type);
	pcre2_pattern_info(w->re, PCRE2_INFO_FIRSTCODEUNIT, &unit);
	pcre2_pattern_info(w->re, PCRE2_INFO_MINLENGTH, &minlen);
	pcre2_pattern_info(w->re, PCRE2_INFO_JITSIZE, &jit);
	/* A fixed first unit of an anchored pattern must be the subject's
	   first byte. Letters are left out: a caseless pattern reports one
	   case only. */
	if ((opts & PCRE2_ANCHORED) && type == 1 && unit < 128 &&
	    !isalpha((int)unit))
		w->first = (int16_t)unit;
	w->minlen = minlen;
	/* (*NO_START_OPT): PCRE2 makes neither check itself, nor do we. */
	if (opts & PCRE2_NO_START_OPTIMIZE) {
		w->first = -1;
		w->minlen = 0;
	}
	w->jit = jit > 0;
	err = tpl_parse((const char *)w->repl, &w->tpl);
	fast_parse(w, pattern);
	if (w->fast >= 0 && !err) {
		uint32_t ncap = 0;
		size_t k;

		/* one group, and the template names no other */
		pcre2_pattern_info(w->re, PCRE2_INFO_CAPTURECOUNT, &ncap);
		for (k = 0; k < w->tpl->nseg; k++)
			if (!w->tpl->seg[k].len && w->tpl->seg[k].grp > 1)
				ncap = 0;
		if (ncap != 1)
			w->fast = -1;
	} else {
		w->fast = -1;
	}
	return err == ENOTSUP ? 0 : err;
}

void
pol_rw_release(struct pol_rw *w)
{
	free(w->tpl);
	w->tpl = NULL;
}

/* Expand w's template for the match in md: subject before the match,
   the template, subject after it (one, non-global substitution). */
static int
expand(const struct pol_rw *w, const char *in, size_t inlen, char *out,
       const PCRE2_SIZE *ov)
{
	const char *text = (const char *)w->repl;
	size_t o = ov[0], k;

	if (ov[0] > inlen || ov[1] > inlen || ov[1] < ov[0])
		return EINVAL; /* \K games: pcre2_substitute refuses too */
	if (o >= POL_NUM_MAX)
		return ERANGE;
	memcpy(out, in, o);
	for (k = 0; k < w->tpl->nseg; k++) {
		const struct pol_rwseg *g = &w->tpl->seg[k];
		const char *p = text + g->off;
		size_t len = g->len;

		if (!len) {
			if (ov[2 * g->grp] == PCRE2_UNSET)
				return EINVAL; /* unset group: PCRE2 errs */
			p = in + ov[2 * g->grp];
			len = ov[2 * g->grp + 1] - ov[2 * g->grp];
		}
		if (o + len >= POL_NUM_MAX)
			return ERANGE;
		memcpy(out + o, p, len);
		o += len;
	}
	if (o + (inlen - ov[1]) >= POL_NUM_MAX)
		return ERANGE;
	memcpy(out + o, in + ov[1], inlen - ov[1]);
	out[o + inlen - ov[1]] = '\0';
	return 0;
}

int
pol_rw_apply(const struct pol_rw *w, const char *in, size_t inlen, char *out,
	     pcre2_match_data *md)
{
	int rc;

	if (inlen < w->minlen ||
	    (w->first >= 0 && (!inlen || (unsigned char)in[0] != w->first)))
		return ENOENT;
	if (w->fast >= 0) {
		size_t i = w->litlen;

		if (inlen < i || memcmp(in, w->lit, i) != 0)
			return ENOENT; /* ^ holds the literal to the start */
		while (i < inlen && in[i] >= '0' && in[i] <= '9')
			i++;
		if (i == inlen) { /* the rest is digits: certain */
			const PCRE2_SIZE ov[4] = {0, inlen, w->litlen, inlen};

			if (inlen - w->litlen < (size_t)w->fast)
				return ENOENT;
			return expand(w, in, inlen, out, ov);
		}
	}
	if (!w->tpl) {
		PCRE2_SIZE olen = POL_NUM_MAX;

		rc = pcre2_substitute(w->re, (PCRE2_SPTR)in, inlen, 0, 0, md,
				      NULL, w->repl, PCRE2_ZERO_TERMINATED,
				      (PCRE2_UCHAR *)out, &olen);
		if (rc > 0)
			return 0;
		if (rc == 0 || rc == PCRE2_ERROR_NOMATCH)
			return ENOENT;
		return rc == PCRE2_ERROR_NOMEMORY ? ERANGE : EINVAL;
	}
	rc = w->jit ? pcre2_jit_match(w->re, (PCRE2_SPTR)in, inlen, 0, 0, md,
				      NULL)
		    : pcre2_match(w->re, (PCRE2_SPTR)in, inlen, 0, 0, md, NULL);
	if (rc == PCRE2_ERROR_NOMATCH)
		return ENOENT;
	if (rc <= 0) /* 0: ovector too small, cannot be (POL_CAPTURES_MAX) */
		return EINVAL;
	return expand(w, in, inlen, out, pcre2_get_ovector_pointer(md));
}
