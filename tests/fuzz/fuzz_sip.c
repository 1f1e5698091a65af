/*
 * libFuzzer target: the SIP message parser. Any bytes are parsed as a
 * datagram and, after stream framing, as a stream message; on success every
 * recognised header is decoded (sip_msg_check) and every list value walked.
 * Invariants checked (abort on violation): slices stay inside the input, a
 * refusal always carries a reason phrase without CR/LF.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "stack/sip_msg.h"

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
