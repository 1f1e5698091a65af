/* Reliable provisional responses: RFC 3262 §3 (UAS), §4 (UAC), §7. */
#include "rel1xx.h"

#include <errno.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mem.h"

#define LOG_MODULE "rel1xx"
#include "log.h"

/* §3: the first RSeq "MUST be between 1 and 2**31 - 1" */
#define RSEQ_FIRST_MAX 0x7fffffffu
/* A sane bound on cfg.max_queue */
#define REL1XX_QUEUE_MAX 64u

void
rel1xx_cfg_default(struct rel1xx_cfg *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->t1 = 500;
	cfg->policy = REL1XX_P_SUPPORTED;
	cfg->max_queue = 4;
}

enum rel1xx_peer
rel1xx_peer(const struct sip_msg *invite)
{
	if (sip_hdr_has_token(invite, SIP_HDR_REQUIRE, "100rel"))
		return REL1XX_PEER_REQUIRED;
	if (sip_hdr_has_token(invite, SIP_HDR_SUPPORTED, "100rel"))
		return REL1XX_PEER_SUPPORTED;
	return REL1XX_PEER_NONE;
}

uint16_t
rel1xx_uas_check(const struct rel1xx_cfg *cfg, const struct sip_msg *invite)
{
	if (cfg->policy == REL1XX_P_NEVER &&
	    rel1xx_peer(invite) == REL1XX_PEER_REQUIRED)
		return 420;
	return 0;
}

/* ------------------------------------------------------------------ */
/* UAS                                                                 */

/* One reliable 1xx handed to us: sent (the first) or waiting. */
struct ent {
	char *buf; /* owned (malloc) */
	size_t len;
	uint32_t rseq;
	uint16_t status;
	bool sdp;
};

struct rel1xx_uas {
	struct rel1xx_cfg cfg;
	struct tmr_ctx *tmr; /* ref */
	rel1xx_send_h *send_h;
	rel1xx_uas_h *ev_h;
	void *arg; /* borrowed: the UA */
	enum rel1xx_peer peer;
	uint32_t cseq;	  /* of the INVITE */
	char method[32];  /* its CSeq method */
	uint32_t next;	  /* RSeq of the next reliable 1xx */
	bool exhausted;	  /* next would pass 2^32-1 */
	bool final;	  /* final sent, or gave up */
	struct ent *ents; /* owned: [0] unacknowledged and sent, then the
			     waiting ones; n used of cfg.max_queue + 1 */
	unsigned n;
	uint32_t interval; /* current retransmission interval, ms */
	struct tmr retx;   /* retransmission, T1 doubling */
	struct tmr guard;  /* 64*T1 after the first send of ents[0] */
	struct rel1xx_uas_stats stats;
};

static void
ents_clear(struct rel1xx_uas *u)
{
	tmr_cancel(&u->retx);
	tmr_cancel(&u->guard);
	for (unsigned i = 0; i < u->n; i++)
		free(u->ents[i].buf);
	u->n = 0;
}

static void
uas_destroy(void *obj)
{
	struct rel1xx_uas *u = obj;

	ents_clear(u);
	free(u->ents);
	mem_deref(u->tmr);
}

/* Uniform in 1..2^31-1: 31 random bits, 0 drawn again. */
static int
first_rseq(const struct rel1xx_cfg *cfg, uint32_t *rseq)
{
	uint32_t r = 0;

	for (int i = 0; i < 64; i++) {
		if (cfg->rand_h)
			r = cfg->rand_h(cfg->rand_arg);
		else if (RAND_bytes((unsigned char *)&r, sizeof(r)) != 1)
			return EIO;
		r &= RSEQ_FIRST_MAX;
		if (r) {
			*rseq = r;
			return 0;
		}
	}
	return EIO;
}

int
rel1xx_uas_alloc(struct rel1xx_uas **up, const struct rel1xx_cfg *cfg,
		 struct tmr_ctx *tmr, const struct sip_msg *invite,
		 rel1xx_send_h *send_h, rel1xx_uas_h *ev_h, void *arg)
{
	struct rel1xx_uas *u = NULL;
	int err = EINVAL;

	if (!up || !tmr || !invite || !invite->req || !send_h ||
	    invite->cseq.method.l >= sizeof(u->method) ||
	    (cfg && (!cfg->t1 || cfg->max_queue > REL1XX_QUEUE_MAX)))
		goto out;
	err = ENOMEM;
	u = mem_zalloc(sizeof(*u), uas_destroy);
	if (!u)
		goto out;
	if (cfg)
		u->cfg = *cfg;
	else
		rel1xx_cfg_default(&u->cfg);
	u->tmr = mem_ref(tmr);
	u->ents = calloc(u->cfg.max_queue + 1, sizeof(*u->ents));
	if (!u->ents)
		goto out;
	err = first_rseq(&u->cfg, &u->next);
	if (err)
		goto out;
	u->send_h = send_h;
	u->ev_h = ev_h;
	u->arg = arg;
	u->peer = rel1xx_peer(invite);
	u->cseq = invite->cseq.num;
	pl_strcpy(&invite->cseq.method, u->method, sizeof(u->method));
	tmr_init(&u->retx);
	tmr_init(&u->guard);
	*up = u;
	u = NULL;
	err = 0;
out:
	mem_deref(u);
	return err;
}

bool
rel1xx_uas_reliable(const struct rel1xx_uas *u, uint16_t status)
{
	/* §3: "Only provisional responses numbered 101 to 199 may be sent
	   reliably" */
	if (u->final || status < 101 || status > 199)
		return false;
	switch (u->peer) {
	case REL1XX_PEER_REQUIRED:
		/* §3: "MUST send any non-100 provisional response
		   reliably if the initial request contained a Require
		   header field with the option tag 100rel" */
		return true;
	case REL1XX_PEER_SUPPORTED:
		return u->cfg.policy == REL1XX_P_SUPPORTED;
	case REL1XX_PEER_NONE:
	default:
		/* §3: without Supported or Require "the UAS MUST NOT send
		   the provisional response reliably" */
		return false;
	}
}

uint32_t
rel1xx_uas_next_rseq(const struct rel1xx_uas *u)
{
	return u->next;
}

int
rel1xx_uas_write(const struct rel1xx_uas *u, struct sip_wbuf *wb)
{
	/* §3: without 100rel in Supported or Require "the UAS MUST NOT
	   send the provisional response reliably" */
	if (u->final || u->peer == REL1XX_PEER_NONE)
		return EPROTO;
	/* §3: "RSeq numbers MUST NOT wrap around" */
	if (u->exhausted)
		return EOVERFLOW;
	sip_wb_hdrf(wb, SIP_HDR_REQUIRE, "100rel");
	return sip_wb_hdrf(wb, SIP_HDR_RSEQ, "%u", (unsigned)u->next);
}

/* A body that may hold a session description: application/sdp, or any
   multipart (the parts are not looked into). */
static bool
has_sdp(const struct sip_msg *msg)
{
	if (!msg->body.l || !msg->ctype_set)
		return false;
	if (pl_caseeq_str(&msg->ctype.type, "multipart"))
		return true;
	return pl_caseeq_str(&msg->ctype.type, "application") &&
	       pl_caseeq_str(&msg->ctype.subtype, "sdp");
}

/* Check that msg is a reliable 1xx of ours carrying RSeq u->next. */
static int
check_1xx(const struct rel1xx_uas *u, const struct sip_msg *msg)
{
	const struct sip_hdr *h = sip_msg_hdr(msg, SIP_HDR_RSEQ);
	const char *why = NULL;
	uint32_t rseq;

	if (msg->req || msg->status < 101 || msg->status > 199 ||
	    msg->cseq.num != u->cseq ||
	    !pl_eq_str(&msg->cseq.method, u->method))
		return EINVAL;
	if (!h || sip_delta_decode(&rseq, &h->val, &why) || rseq != u->next)
		return EINVAL;
	if (!sip_hdr_has_token(msg, SIP_HDR_REQUIRE, "100rel"))
		return EINVAL;
	return 0;
}

static void
on_guard(void *arg)
{
	struct rel1xx_uas *u = arg;

	/* §3: "If a reliable provisional response is retransmitted for
	   64*T1 seconds without reception of a corresponding PRACK, the
	   UAS SHOULD reject the original request with a 5xx response." */
	LOG_DBG("RSeq %u: no PRACK in 64*T1", (unsigned)u->ents[0].rseq);
	ents_clear(u);
	u->final = true;
	if (u->ev_h)
		u->ev_h(REL1XX_UAS_EV_TIMEOUT, 0, u->arg);
}

static void
on_retx(void *arg)
{
	struct rel1xx_uas *u = arg;
	struct ent *e = &u->ents[0];
	int err;

	err = u->send_h(e->buf, e->len, e->status, u->arg);
	if (err) {
		ents_clear(u);
		u->final = true;
		if (u->ev_h)
			u->ev_h(REL1XX_UAS_EV_SEND_ERROR, err, u->arg);
		return;
	}
	u->stats.retransmits++;
	/* §3: "an interval that starts at T1 seconds and doubles for each
	   retransmission" (no T2 cap in RFC 3262) */
	if (u->interval <= UINT32_MAX / 2)
		u->interval *= 2;
	if (tmr_start(&u->retx, u->tmr, u->interval, on_retx, u))
		LOG_WARN("cannot arm a 100rel retransmission");
}

/* Send ents[0] the first time and arm its timers. */
static int
transmit_head(struct rel1xx_uas *u)
{
	struct ent *e = &u->ents[0];
	int err;

	err = u->send_h(e->buf, e->len, e->status, u->arg);
	if (err)
		return err;
	u->stats.sent++;
	u->interval = u->cfg.t1;
	err = tmr_start(&u->retx, u->tmr, u->interval, on_retx, u);
	if (!err)
		err = tmr_start(&u->guard, u->tmr, 64 * (uint64_t)u->cfg.t1,
				on_guard, u);
	if (err)
		LOG_WARN("cannot arm 100rel timers: %d", err);
	return 0;
}

static int
ent_set(struct ent *e, const char *buf, size_t len, const struct sip_msg *m)
{
	e->buf = malloc(len);
	if (!e->buf)
		return ENOMEM;
	memcpy(e->buf, buf, len);
	e->len = len;
	e->status = m->status;
	e->sdp = has_sdp(m);
	return 0;
}

int
rel1xx_uas_send(struct rel1xx_uas *u, const char *buf, size_t len)
{
	struct sip_msg *m = NULL;
	struct sip_perr perr;
	struct ent *e;
	int err = EPROTO;

	if (u->final || u->exhausted || u->peer == REL1XX_PEER_NONE)
		goto out;
	err = ENOMEM;
	m = malloc(sizeof(*m)); /* large: not on the stack */
	if (!m)
		goto out;
	err = EINVAL;
	if (sip_msg_parse(m, buf, len, SIP_FRAMING_DGRAM, NULL, &perr) ||
	    check_1xx(u, m))
		goto out;
	err = ENOBUFS;
	if (u->n > u->cfg.max_queue)
		goto out;
	e = &u->ents[u->n];
	e->rseq = u->next;
	err = ent_set(e, buf, len, m);
	if (err)
		goto out;
	u->n++;
	if (u->n == 1) {
		err = transmit_head(u);
		if (err) {
			ents_clear(u);
			goto out;
		}
	}
	/* §3: each later RSeq is "greater by exactly one" */
	if (u->next == UINT32_MAX)
		u->exhausted = true;
	else
		u->next++;
out:
	free(m);
	return err;
}

/* Drop the acknowledged ents[0]; send the next one if any. */
static int
ack_head(struct rel1xx_uas *u)
{
	int err;

	tmr_cancel(&u->retx);
	tmr_cancel(&u->guard);
	free(u->ents[0].buf);
	u->n--;
	memmove(&u->ents[0], &u->ents[1], u->n * sizeof(u->ents[0]));
	u->stats.acked++;
	if (!u->n)
		return 0;
	err = transmit_head(u);
	if (err) {
		/* the server transaction is gone (RFC 3261 §17.2.4) */
		ents_clear(u);
		u->final = true;
	}
	return err;
}

int
rel1xx_uas_prack(struct rel1xx_uas *u, const struct sip_msg *prack,
		 uint16_t *status)
{
	const struct sip_hdr *h = sip_msg_hdr(prack, SIP_HDR_RACK);
	struct sip_rack rack;
	const char *why = NULL;

	*status = 400;
	if (!h || sip_rack_decode(&rack, &h->val, &why))
		return EBADMSG;
	/* §3: "A PRACK matches a reliable provisional response if the
	   PRACK's RAck: response-num matches RSeq and CSeq-num and method
	   match the CSeq of the response" (methods: case-sensitive) */
	if (u->final || !u->n || rack.rseq != u->ents[0].rseq ||
	    rack.cseq != u->cseq || !pl_eq_str(&rack.method, u->method)) {
		/* §3: "If a PRACK request is received by the UA core that
		   does not match any unacknowledged reliable provisional
		   response, the UAS MUST respond to the PRACK with a 481" */
		*status = 481;
		u->stats.rejected++;
		return 0;
	}
	/* §3: "If the PRACK does match an unacknowledged reliable
	   provisional response, it MUST be responded to with a 2xx" */
	*status = 200;
	return ack_head(u);
}

bool
rel1xx_uas_blocks_2xx(const struct rel1xx_uas *u)
{
	/* §3: "unless the final response is 2xx and any of the
	   unacknowledged reliable provisional responses contained a
	   session description. In that case, it MUST NOT send a final
	   response until those provisional responses are acknowledged." */
	for (unsigned i = 0; i < u->n; i++) {
		if (u->ents[i].sdp)
			return true;
	}
	return false;
}

unsigned
rel1xx_uas_unacked(const struct rel1xx_uas *u)
{
	return u->n;
}

void
rel1xx_uas_final(struct rel1xx_uas *u)
{
	ents_clear(u);
	u->final = true;
}

void
rel1xx_uas_stats(const struct rel1xx_uas *u, struct rel1xx_uas_stats *st)
{
	*st = u->stats;
}

/* ------------------------------------------------------------------ */
/* UAC                                                                 */

void
rel1xx_uac_init(struct rel1xx_uac *st, uint32_t cseq)
{
	memset(st, 0, sizeof(*st));
	st->cseq = cseq;
}

void
rel1xx_uac_final(struct rel1xx_uac *st)
{
	st->final = true;
}

/* The verdict for a reliable 1xx with RSeq rseq. */
static enum rel1xx_verdict
uac_order(struct rel1xx_uac *st, uint32_t rseq)
{
	if (st->final)
		return REL1XX_V_LATE;
	/* §4: "Its value MUST be initialized to the RSeq header field in
	   the first reliable provisional response received" */
	if (!st->started) {
		st->started = true;
		st->rseq = rseq;
		return REL1XX_V_PRACK;
	}
	/* §4: "Once a reliable provisional response is received,
	   retransmissions of that response MUST be discarded. A response
	   is a retransmission when its dialog ID, CSeq, and RSeq match the
	   original response." */
	if (rseq == st->rseq)
		return REL1XX_V_RETRANS;
	/* §4: "if the UAC receives another reliable provisional response
	   to the same request, and its RSeq value is not one higher than
	   the value of the sequence number, that response MUST NOT be
	   acknowledged with a PRACK, and MUST NOT be processed further" */
	if (st->rseq == UINT32_MAX || rseq != st->rseq + 1)
		return REL1XX_V_GAP;
	st->rseq = rseq;
	return REL1XX_V_PRACK;
}

int
rel1xx_uac_recv(struct rel1xx_uac *st, const struct sip_msg *resp,
		enum rel1xx_verdict *v, struct rel1xx_rack *rack)
{
	const struct sip_hdr *h;
	const char *why = NULL;
	uint32_t rseq;

	*v = REL1XX_V_UNRELIABLE;
	if (resp->req || resp->status < 100 || resp->status > 199 ||
	    resp->cseq.num != st->cseq)
		return EINVAL;
	/* §4: for a 100 (Trying) "this option tag MUST be ignored, and
	   the procedures below MUST NOT be used" */
	if (resp->status == 100 ||
	    !sip_hdr_has_token(resp, SIP_HDR_REQUIRE, "100rel"))
		return 0;
	h = sip_msg_hdr(resp, SIP_HDR_RSEQ);
	if (!h || sip_delta_decode(&rseq, &h->val, &why) || rseq == 0 ||
	    resp->cseq.method.l >= sizeof(rack->method))
		return EBADMSG;
	*v = uac_order(st, rseq);
	if (*v != REL1XX_V_PRACK)
		return 0;
	/* §7.2: RAck carries the RSeq and the CSeq of the response */
	rack->rseq = rseq;
	rack->cseq = resp->cseq.num;
	pl_strcpy(&resp->cseq.method, rack->method, sizeof(rack->method));
	return 0;
}

int
rel1xx_rack_print(char *buf, size_t size, size_t *len,
		  const struct rel1xx_rack *rack)
{
	char tmp[64]; /* 10 + 1 + 10 + 1 + 31 digits and letters at most */
	int n;

	if (!rack->method[0])
		return EINVAL;
	n = snprintf(tmp, sizeof(tmp), "%u %u %s", (unsigned)rack->rseq,
		     (unsigned)rack->cseq, rack->method);
	if (n < 0 || (size_t)n >= sizeof(tmp))
		return EINVAL;
	if ((size_t)n > size)
		return ENOSPC;
	memcpy(buf, tmp, (size_t)n);
	*len = (size_t)n;
	return 0;
}

int
rel1xx_rack_write(struct sip_wbuf *wb, const struct rel1xx_rack *rack)
{
	if (!rack->method[0])
		return EINVAL;
	return sip_wb_hdrf(wb, SIP_HDR_RACK, "%u %u %s", (unsigned)rack->rseq,
			   (unsigned)rack->cseq, rack->method);
}

const char *
rel1xx_verdict_name(enum rel1xx_verdict v)
{
	static const char *const names[] = {
		[REL1XX_V_UNRELIABLE] = "unreliable",
		[REL1XX_V_PRACK] = "prack",
		[REL1XX_V_RETRANS] = "retransmission",
		[REL1XX_V_GAP] = "out-of-order",
		[REL1XX_V_LATE] = "late",
	};

	if ((unsigned)v >= sizeof(names) / sizeof(names[0]) || !names[v])
		return "?";
	return names[v];
}
