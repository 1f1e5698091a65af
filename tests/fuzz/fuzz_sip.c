/*
 * libFuzzer target: the SIP message parser. Any bytes are parsed as a
 * datagram and, after stream framing, as a stream message; on success every
 * recognised header is decoded (sip_msg_check) and every list value walked.
 * Invariants checked (abort on violation): slices stay inside the input, a
 * refusal always carries a reason phrase without CR/LF, and a parsed
 * message copied by the writer parses again to the same core values.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "stack/sip_msg.h"
#include "stack/sip_write.h"

static const uint8_t *in_lo, *in_hi;

static void
inside(const struct pl *pl)
{
	if (pl->l && ((const uint8_t *)pl->p < in_lo ||
		      (const uint8_t *)pl->p + pl->l > in_hi))
		abort();
}

static void
refused(const struct sip_perr *err)
{
	char phrase[256];

	if (!err->what)
		abort();
	sip_perr_phrase(err, phrase, sizeof(phrase));
	if (strpbrk(phrase, "\r\n"))
		abort();
}

static void
walk(const struct sip_msg *msg)
{
	struct sip_perr err;
	int id;
	uint16_t i;

	inside(&msg->body);
	if (msg->req)
		inside(&msg->ruri.host);
	inside(&msg->from.tag);
	inside(&msg->via.branch);
	for (i = 0; i < msg->nhdrs; i++) {
		inside(&msg->hdrs[i].name);
		inside(&msg->hdrs[i].val);
	}
	if (sip_msg_check(msg, &err))
		refused(&err);
	for (id = 1; id < SIP_HDR_COUNT; id++) {
		struct sip_hdr_iter it;
		struct pl v;
		int n = 0;

		sip_hdr_iter_init(&it, msg, (enum sip_hdr_id)id);
		while (sip_hdr_iter_next(&it, &v) == 0 && n++ < 1000)
			inside(&v);
	}
	if (msg->ctype_set && pl_isset(&msg->ctype.boundary)) {
		struct sip_mpart_iter it;
		struct pl h, b;
		int n = 0;

		sip_mpart_iter_init(&it, &msg->body, &msg->ctype.boundary);
		while (sip_mpart_next(&it, &h, &b) == 0 && n++ < 1000) {
			inside(&h);
			inside(&b);
		}
	}
}

/* parse -> write (unedited copy) -> parse gives the same core values */
static void
round_trip(const struct sip_msg *msg, const struct sip_limits *lim)
{
	static char out[70000 + 64];
	static struct sip_msg again;
	struct sip_wbuf wb;
	struct sip_limits l2 = *lim;
	struct sip_perr err;
	size_t len = 0;

	l2.max_msg = sizeof(out); /* the copy may add a Content-Length line */
	sip_wb_init(&wb, out, sizeof(out));
	if (sip_wb_copy(&wb, msg, NULL, NULL, 0, NULL, &len))
		return; /* e.g. a value the writer refuses to repeat */
	/* A datagram without Content-Length gets one added by the copy: at
	   the header-line cap that is one line more than we accept. */
	if (!msg->clen_set && msg->nhdrs >= l2.max_hdrs)
		return;
	if (sip_msg_parse(&again, out, len, SIP_FRAMING_STREAM, &l2, &err))
		abort();
	if (again.req != msg->req || again.cseq.num != msg->cseq.num ||
	    !pl_eq(&again.callid, &msg->callid) ||
	    !pl_eq(&again.from.tag, &msg->from.tag) ||
	    !pl_eq(&again.via.branch, &msg->via.branch) ||
	    again.body.l != msg->body.l ||
	    (msg->body.l && memcmp(again.body.p, msg->body.p, msg->body.l)))
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct sip_msg msg;
	struct sip_limits lim;
	struct sip_perr err;
	size_t skip = 0, mlen = 0;

	in_lo = data;
	in_hi = data + size;
	sip_limits_default(&lim);
	if (sip_msg_parse(&msg, (const char *)data, size, SIP_FRAMING_DGRAM,
			  &lim, &err) == 0) {
		if (msg.len > size)
			abort();
		walk(&msg);
		round_trip(&msg, &lim);
	} else {
		refused(&err);
	}
	switch (sip_msg_frame((const char *)data, size, &lim, &skip, &mlen,
			      &err)) {
	case 0:
		if (skip + mlen > size)
			abort();
		if (sip_msg_parse(&msg, (const char *)data + skip, mlen,
				  SIP_FRAMING_STREAM, &lim, &err) == 0)
			walk(&msg);
		else
			refused(&err);
		break;
	case EBADMSG:
		refused(&err);
		break;
	default:
		break;
	}
	return 0;
}
