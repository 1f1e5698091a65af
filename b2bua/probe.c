/* OPTIONS probing of trunks (probe.h). A probe is one non-INVITE client
   transaction (RFC 3261 §11, §17.1.2) on worker 0, with a Call-ID of
   shard 0 so the response comes back to that worker. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define LOG_MODULE "probe"
#include "call_int.h"
#include "lim.h"
#include "policy.h"
#include "probe.h"
#include "stack/log.h"
#include "stack/mem.h"
#include "stack/sip_write.h"

struct probe {
	struct probe *next;
	struct txn *txn; /* ref */
	struct lim_slot *slot;
	char name[64];
	bool done;
};

static void
on_resp(struct txn *txn, const struct txn_cevent *ev, void *arg)
{
	struct probe *p = arg;
	bool down;

	(void)txn;
	if (ev->ev == TXN_CEV_RESPONSE && ev->status < 200)
		return;
	/* Any response means the trunk is there (a 404 or 405 to OPTIONS
	   is common); no response or no route to it means down. */
	down = ev->ev != TXN_CEV_RESPONSE;
	if (down != lim_is_down(p->slot))
		LOG_WARN("trunk %s is %s (OPTIONS: %u%s)", p->name,
			 down ? "DOWN" : "up again", ev->status,
			 down ? ", no answer" : "");
	lim_set_down(p->slot, down);
	*lim_probing(p->slot) = false;
	p->done = true;
}

static int
build(const struct b2b *b, const struct pol_trunk *t, char *buf, size_t size,
      size_t *len)
{
	char br[33], tag[17], cid[SIPW_CALLID_LEN + 1], th[72], lh[72];
	char ruri[128];
	struct sip_wbuf wb;
	uint16_t port = t->port ? t->port : 5060;

	if (ua_rand_hex(br, 24) || ua_rand_hex(tag, 16) ||
	    sipw_callid_make(0, cid, sizeof(cid)))
		return EIO; /* no randomness: no probe this round */
	call_host_fmt(t->host, th, sizeof(th));
	call_host_fmt(b->host, lh, sizeof(lh));
	snprintf(ruri, sizeof(ruri), "sip:%s:%u%s", th, port,
		 t->transport == POL_TP_TCP ? ";transport=tcp" : "");
	sip_wb_init(&wb, buf, size);
	sip_wb_request(&wb, &PL("OPTIONS"), &(struct pl){ruri, strlen(ruri)});
	sip_wb_hdrf(&wb, SIP_HDR_VIA, "SIP/2.0/%s %s:%u;branch=z9hG4bK%s;rport",
		    t->transport == POL_TP_TCP ? "TCP" : "UDP", lh, b->port,
		    br);
	sip_wb_hdrf(&wb, SIP_HDR_MAX_FORWARDS, "70");
	sip_wb_hdrf(&wb, SIP_HDR_FROM, "<sip:tandem@%s>;tag=%s", lh, tag);
	sip_wb_hdrf(&wb, SIP_HDR_TO, "<sip:%s:%u>", th, port);
	sip_wb_hdrf(&wb, SIP_HDR_CALL_ID, "%s", cid);
	sip_wb_hdrf(&wb, SIP_HDR_CSEQ, "1 OPTIONS");
	sip_wb_hdrf(&wb, SIP_HDR_USER_AGENT, "%s", b->cfg.server);
	return sip_wb_end(&wb, NULL, len);
}

static void
send_probe(struct b2b_worker *bw, const struct pol_trunk *t,
	   struct lim_slot *sl, uint64_t now)
{
	struct probe *p;
	struct txn_dest d;
	char buf[1024];
	size_t len = 0;
	int err;

	*lim_probe_ms(sl) = now;
	if (call_target_dest(bw->b2b, t, &d) ||
	    build(bw->b2b, t, buf, sizeof(buf), &len))
		return;
	p = calloc(1, sizeof(*p));
	if (!p)
		return;
	p->slot = sl;
	snprintf(p->name, sizeof(p->name), "%s", t->name ? t->name : "?");
	err = txn_client_start(&p->txn, sipw_txn(bw->w), buf, len, &d, on_resp,
			       p);
	if (err) {
		if (!lim_is_down(sl))
			LOG_WARN("trunk %s is DOWN (OPTIONS not sent: %s)",
				 p->name, strerror(err));
		lim_set_down(sl, true);
		free(p);
		return;
	}
	*lim_probing(sl) = true;
	p->next = bw->probes;
	bw->probes = p;
}

static void
reap(struct b2b_worker *bw, bool all)
{
	struct probe **pp = &bw->probes;

	while (*pp) {
		struct probe *p = *pp;

		if (!p->done && !all) {
			pp = &p->next;
			continue;
		}
		*pp = p->next;
		if (!p->done) {
			txn_detach(p->txn);
			*lim_probing(p->slot) = false;
		}
		mem_deref(p->txn);
		free(p);
	}
}

void
probe_tick(struct b2b_worker *bw, uint64_t now)
{
	struct b2b *b = bw->b2b;
	struct pol_snap *s;
	size_t i, n;

	reap(bw, false);
	s = bpol_get(b->pol);
	n = pol_snap_ntrunks(s);
	for (i = 0; i < n; i++) {
		const struct pol_trunk *t = pol_snap_trunk(s, i);
		struct lim_slot *sl;

		if (!t->options_s || !t->enabled || !t->host)
			continue;
		sl = lim_slot(b->lim, t->id);
		if (!sl || *lim_probing(sl) ||
		    (*lim_probe_ms(sl) &&
		     now - *lim_probe_ms(sl) < (uint64_t)t->options_s * 1000))
			continue;
		send_probe(bw, t, sl, now);
	}
	pol_snap_deref(s);
}

void
probe_flush(struct b2b_worker *bw)
{
	reap(bw, true);
}
