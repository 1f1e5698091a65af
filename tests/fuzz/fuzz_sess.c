/*
 * libFuzzer target: RFC 4028 and RFC 3262 decisions on received messages
 * (stack/sess_timer.c, stack/rel1xx.c). Any bytes are parsed as a
 * datagram; a request goes through the UAS decision and a PRACK check, a
 * response through the UAC 2xx/422 handling and the reliable-1xx
 * classification. Invariants checked (abort on violation): a granted
 * interval never exceeds the one asked for and carries a refresher,
 * Require: timer only for a UAC that supports it, the written headers
 * parse back to the decided values, an RAck built for a PRACK decodes to
 * what was classified.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "stack/mem.h"
#include "stack/rel1xx.h"
#include "stack/sess_timer.h"
#include "stack/sip_msg.h"
#include "stack/sip_write.h"

static struct sip_msg msg, back;

/* Header lines of a written message (a fold continues its line), as our
   parser counts them against SIP_MSG_HDR_CAP. */
static unsigned
hdr_lines(const char *p, size_t len)
{
	const char *end = p + len, *nl = memchr(p, '\n', len);
	unsigned n = 0;

	while (nl && nl + 1 < end && nl[1] != '\r' && nl[1] != '\n') {
		if (nl[1] != ' ' && nl[1] != '\t')
			n++;
		nl = memchr(nl + 1, '\n', (size_t)(end - nl - 1));
	}
	return n;
}

/* The 2xx written for the decision parses, and its Session-Expires is
   the decided one. */
static void
check_written(const struct sess_timer_uas *res)
{
	static char buf[70000];
	struct sip_wbuf wb;
	struct sip_perr perr;
	struct pl tag = PL("fz");
	struct sip_session_expires se;
	const struct sip_hdr *h;
	const char *why;
	size_t len;

	sip_wb_init(&wb, buf, sizeof(buf));
	sip_wb_reply(&wb, &msg, res->status ? res->status : 200, NULL, &tag);
	if (sess_timer_uas_write(res, &wb) || sip_wb_end(&wb, NULL, &len))
		return; /* e.g. an input Via the writer refuses */
	/* RFC 3261 §8.2.6.2: the reply repeats every Via of the request; with
	   the lines the decision adds, a request at the header-line cap gives
	   a (legal) reply over the cap, which our parser refuses. */
	if (hdr_lines(buf, len) > SIP_MSG_HDR_CAP)
		return;
	if (sip_msg_parse(&back, buf, len, SIP_FRAMING_DGRAM, NULL, &perr))
		abort();
	h = sip_msg_hdr(&back, SIP_HDR_SESSION_EXPIRES);
	if (!res->status && res->interval) {
		if (!h || sip_session_expires_decode(&se, &h->val, &why) ||
		    se.delta != res->interval || se.refresher != res->refresher)
			abort();
	} else if (h) {
		abort();
	}
}

static void
uas(void)
{
	struct sess_timer_cfg cfg;
	struct sess_timer_uas res;
	const struct sip_hdr *h;
	struct sip_session_expires se;
	const char *why;

	sess_timer_cfg_default(&cfg);
	if (sess_timer_uas_decide(&cfg, &msg, &res))
		return;
	if (res.status == 422 && res.min_se != cfg.min_se)
		abort();
	if (!res.status && res.interval) {
		if (res.refresher == SIP_REFRESHER_NONE)
			abort();
		h = sip_msg_hdr(&msg, SIP_HDR_SESSION_EXPIRES);
		if (h && (sip_session_expires_decode(&se, &h->val, &why) ||
			  res.interval > se.delta))
			abort();
		if (res.local_refresher != (res.refresher == SIP_REFRESHER_UAS))
			abort();
	}
	if (res.require && !res.supported)
		abort();
	check_written(&res);
}

static int
no_send(const char *buf, size_t len, uint16_t status, void *arg)
{
	(void)buf;
	(void)len;
	(void)status;
	(void)arg;
	return 0;
}

/* A PRACK against a fresh UAS state: never 200 (nothing was sent). */
static void
prack(void)
{
	struct tmr_ctx *tmr = NULL;
	struct rel1xx_uas *u = NULL;
	uint16_t status = 0;

	if (tmr_ctx_alloc(&tmr, NULL, NULL))
		return;
	if (!rel1xx_uas_alloc(&u, NULL, tmr, &msg, no_send, NULL, NULL)) {
		rel1xx_uas_prack(u, &msg, &status);
		if (status == 200)
			abort();
		mem_deref(u);
	}
	mem_deref(tmr);
}

static void
uac(void)
{
	struct sess_timer_cfg cfg;
	struct sess_timer_uac st;
	struct sess_timer_neg neg;
	struct rel1xx_uac rst;
	struct rel1xx_rack rack;
	struct sip_rack dec;
	enum rel1xx_verdict v;
	char buf[64];
	size_t len;
	const char *why;
	bool retry;

	sess_timer_cfg_default(&cfg);
	sess_timer_uac_init(&st, &cfg);
	if (!sess_timer_uac_2xx(&st, &msg, &neg) && neg.interval &&
	    neg.local_refresher != (neg.refresher == SIP_REFRESHER_UAC))
		abort();
	if (!sess_timer_uac_422(&st, &msg, &retry) && retry &&
	    (st.expires < st.min_se || st.min_se < cfg.min_se))
		abort();
	rel1xx_uac_init(&rst, msg.cseq.num);
	if (rel1xx_uac_recv(&rst, &msg, &v, &rack) || v != REL1XX_V_PRACK)
		return;
	if (rel1xx_rack_print(buf, sizeof(buf), &len, &rack))
		abort();
	{
		struct pl pl = {buf, len};

		if (sip_rack_decode(&dec, &pl, &why) || dec.rseq != rack.rseq ||
		    dec.cseq != rack.cseq)
			abort();
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sip_perr perr;

	if (sip_msg_parse(&msg, (const char *)data, size, SIP_FRAMING_DGRAM,
			  NULL, &perr))
		return 0;
	if (msg.req) {
		uas();
		prack();
	} else {
		uac();
	}
	return 0;
}
