/* Private parts of the SIP message writer shared by sip_write.c and
   sip_reply.c: the builder state and its output primitives. */
#ifndef TANDEM_SIP_WRITE_INT_H
#define TANDEM_SIP_WRITE_INT_H

#include <errno.h>
#include <stdint.h>
#include <string.h>

#include "sip_write.h"

/* Builder steps; the order of calls the contract enforces. */
enum wb_state {
	WB_S_START, /* nothing written */
	WB_S_HDRS,  /* start line written, headers may follow */
	WB_S_DONE,  /* sip_wb_end() succeeded */
};

#define CRLF "\r\n"
#define SIP_VERSION "SIP/2.0"
#define BRANCH_COOKIE "z9hG4bK" /* §8.1.1.7 */

/* ---- output primitives ------------------------------------------- */

/* Entry check of every appending call: sticky error, then the step. */
static inline int
wb_enter(struct sip_wbuf *wb, enum wb_state want)
{
	if (wb->err)
		return wb->err;
	if (wb->state != (int)want)
		wb->err = EINVAL;
	return wb->err;
}

static inline int
wb_fail(struct sip_wbuf *wb, int err)
{
	if (!wb->err)
		wb->err = err;
	return wb->err;
}

/* Append n bytes, or latch ENOSPC and write nothing. */
static inline void
put(struct sip_wbuf *wb, const void *p, size_t n)
{
	if (wb->err)
		return;
	if (wb->size - wb->len < n) {
		wb->err = ENOSPC;
		return;
	}
	if (n)
		memcpy(wb->buf + wb->len, p, n);
	wb->len += n;
}

static inline void
put_pl(struct sip_wbuf *wb, const struct pl *pl)
{
	put(wb, pl->p, pl->l);
}

#define PUT_LIT(wb, s) put((wb), (s), sizeof(s) - 1)

/* Decimal digits of v into dst (at least 20 bytes); returns the count. */
static inline size_t
fmt_u64(char *dst, uint64_t v)
{
	char tmp[20];
	size_t n = 0, i;

	do {
		tmp[n++] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	for (i = 0; i < n; i++)
		dst[i] = tmp[n - 1 - i];
	return n;
}

static inline void
put_u64(struct sip_wbuf *wb, uint64_t v)
{
	char d[20];

	put(wb, d, fmt_u64(d, v));
}

/*
 * Close one appending call that started at mark: on error the partial
 * bytes are dropped again (the buffer never holds half a line) and the
 * error stays latched.
 */
static inline int
wb_close(struct sip_wbuf *wb, size_t mark)
{
	if (wb->err)
		wb->len = mark;
	return wb->err;
}

/* True when the slice in lies inside outer. */
static inline bool
pl_within(const struct pl *in, const struct pl *outer)
{
	return in->p && in->p >= outer->p &&
	       in->l <= (size_t)(outer->p + outer->l - in->p);
}

/* Shared between the two files (defined in sip_write.c). */
int sip_wb_put_status_line(struct sip_wbuf *wb, uint16_t status,
			   const char *reason, size_t rlen);
int sip_wb_status_line(struct sip_wbuf *wb, uint16_t status,
		       const struct pl *reason);
void sip_wb_put_line(struct sip_wbuf *wb, const struct sip_hdr *h);
bool sip_wb_is_token(const char *p, size_t n);

#endif
