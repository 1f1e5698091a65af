/* SIP dialogs: RFC 3261 §12, with the §13.2.2.4 confirmation of early
   dialogs. See dlg.h. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "dlg.h"
#include "mem.h"

static const char *const dlg_state_names[DLG_S_COUNT] = {
	[DLG_S_EARLY] = "early",
	[DLG_S_CONFIRMED] = "confirmed",
	[DLG_S_TERMINATED] = "terminated",
};

const char *
dlg_state_name(enum dlg_state s)
{
	return s < DLG_S_COUNT ? dlg_state_names[s] : "?";
}

/* ---- owned strings ------------------------------------------------ */

static void
str_free(struct dlg_str *s)
{
	free(s->p);
	s->p = NULL;
	s->l = 0;
}

/* Replace *s with a copy of pl (absent or empty: empty). */
static int
str_set(struct dlg_str *s, const struct pl *pl)
{
	char *p = NULL;

	if (pl && pl->p && pl->l) {
		p = malloc(pl->l + 1);
		if (!p)
			return ENOMEM;
		memcpy(p, pl->p, pl->l);
		p[pl->l] = '\0';
	}
	free(s->p);
	s->p = p;
	s->l = p ? pl->l : 0;
	return 0;
}

static struct pl
str_pl(const struct dlg_str *s)
{
	return (struct pl){s->p, s->l};
}

static void
routes_free(struct dlg_str *r, unsigned *n)
{
	unsigned i;

	for (i = 0; i < *n; i++)
		str_free(&r[i]);
	*n = 0;
}

static void
dlg_destroy(void *arg)
{
	struct dlg *d = arg;

	str_free(&d->callid);
	str_free(&d->ltag);
	str_free(&d->rtag);
	str_free(&d->luri);
	str_free(&d->ldname);
	str_free(&d->ruri);
	str_free(&d->rdname);
	str_free(&d->rtarget);
	routes_free(d->routes, &d->nroutes);
}

/* ---- reading messages ----------------------------------------------- */

/*
 * The route set from msg's Record-Route values (§12.1.1, §12.1.2): in
 * order, or reversed. Built into a scratch array first so d is changed
 * only on success.
 */
static int
routes_from(struct dlg *d, const struct sip_msg *msg, bool reverse)
{
	struct dlg_str tmp[DLG_MAX_ROUTES];
	struct sip_hdr_iter it;
	struct sip_addr a;
	struct pl v;
	const char *why;
	unsigned n = 0, i;
	int err;

	memset(tmp, 0, sizeof(tmp));
	sip_hdr_iter_init(&it, msg, SIP_HDR_RECORD_ROUTE);
	while ((err = sip_hdr_iter_next(&it, &v)) == 0) {
		if (n == DLG_MAX_ROUTES) {
			err = E2BIG;
			goto fail;
		}
		/* §20.30: a name-addr; checked here, stored as written. */
		if (sip_addr_decode(&a, &v, &why) || !a.angle) {
			err = EBADMSG;
			goto fail;
		}
		err = str_set(&tmp[n++], &v);
		if (err)
			goto fail;
	}
	if (err != ENOENT)
		goto fail;
	routes_free(d->routes, &d->nroutes);
	for (i = 0; i < n; i++)
		d->routes[i] = tmp[reverse ? n - 1 - i : i];
	d->nroutes = n;
	return 0;
fail:
	routes_free(tmp, &n);
	return err == ENOENT ? 0 : err;
}

/* The URI of msg's single Contact value: ENOENT when there is none. */
static int
contact_uri(const struct sip_msg *msg, struct pl *uri)
{
	struct sip_hdr_iter it;
	struct sip_addr a;
	struct pl v, extra;
	const char *why;
	int err;

	sip_hdr_iter_init(&it, msg, SIP_HDR_CONTACT);
	err = sip_hdr_iter_next(&it, &v);
	if (err)
		return err == ENOENT ? ENOENT : EBADMSG;
	/* §12.1.1: a dialog-creating request or response has exactly one
	   Contact URI, and it is not "*". */
	if (sip_hdr_iter_next(&it, &extra) != ENOENT)
		return EBADMSG;
	if (sip_addr_decode(&a, &v, &why) || a.star)
		return EBADMSG;
	*uri = a.uri_raw;
	return 0;
}

static int
set_addr(struct dlg_str *uri, struct dlg_str *dname, const struct sip_addr *a)
{
	int err = str_set(uri, &a->uri_raw);

	return err ? err : str_set(dname, &a->dname);
}

static struct dlg *
dlg_new(void)
{
	return mem_zalloc(sizeof(struct dlg), dlg_destroy);
}

/* ---- creation ------------------------------------------------------- */

int
dlg_uas_create(struct dlg **dp, const struct sip_msg *req,
	       const struct pl *ltag, bool tls, bool confirmed)
{
	struct dlg *d;
	struct pl target;
	int err;

	if (!dp || !req || !req->req || !ltag || !ltag->l)
		return EINVAL;
	err = contact_uri(req, &target);
	if (err)
		return err == ENOENT ? EBADMSG : err;
	d = dlg_new();
	if (!d)
		return ENOMEM;
	d->state = confirmed ? DLG_S_CONFIRMED : DLG_S_EARLY;
	/* §12.1.1: secure when the request came over TLS with a sips
	   Request-URI. */
	d->secure = tls && req->ruri.scheme == SIP_URI_SIPS;
	d->rseq = req->cseq.num;
	d->rseq_set = true;
	err = routes_from(d, req, false);
	if (!err)
		err = str_set(&d->rtarget, &target);
	if (!err)
		err = str_set(&d->callid, &req->callid);
	if (!err)
		err = str_set(&d->ltag, ltag);
	if (!err)
		err = str_set(&d->rtag, &req->from.tag);
	if (!err)
		err = set_addr(&d->ruri, &d->rdname, &req->from);
	if (!err)
		err = set_addr(&d->luri, &d->ldname, &req->to);
	if (err) {
		mem_deref(d);
		return err;
	}
	*dp = d;
	return 0;
}

int
dlg_uac_create(struct dlg **dp, const struct sip_msg *req,
	       const struct sip_msg *resp, bool tls)
{
	struct dlg *d;
	struct pl target;
	int err;

	if (!dp || !req || !resp || !req->req || resp->req ||
	    resp->status <= 100 || resp->status >= 300)
		return EINVAL;
	if (!resp->to.tag.l)
		return EBADMSG;
	err = contact_uri(resp, &target);
	if (err == ENOENT && resp->status < 200)
		target = req->ruri_raw; /* until a response brings one */
	else if (err)
		return EBADMSG; /* §12.1.2: a 2xx must carry a Contact */
	d = dlg_new();
	if (!d)
		return ENOMEM;
	d->uac = true;
	d->state = resp->status >= 200 ? DLG_S_CONFIRMED : DLG_S_EARLY;
	d->secure = tls && req->ruri.scheme == SIP_URI_SIPS;
	d->lseq = req->cseq.num;
	err = routes_from(d, resp, true);
	if (!err)
		err = str_set(&d->rtarget, &target);
	if (!err)
		err = str_set(&d->callid, &req->callid);
	if (!err)
		err = str_set(&d->ltag, &req->from.tag);
	if (!err)
		err = str_set(&d->rtag, &resp->to.tag);
	if (!err)
		err = set_addr(&d->luri, &d->ldname, &req->from);
	if (!err)
		err = set_addr(&d->ruri, &d->rdname, &req->to);
	if (err) {
		mem_deref(d);
		return err;
	}
	*dp = d;
	return 0;
}

int
dlg_uac_update(struct dlg *d, const struct sip_msg *resp)
{
	struct pl target;
	int err;

	if (!d || !resp || resp->req)
		return EINVAL;
	if (d->state != DLG_S_EARLY)
		return EPROTO;
	err = contact_uri(resp, &target);
	if (err && (err != ENOENT || resp->status >= 200))
		return EBADMSG;
	if (resp->status >= 200 && resp->status < 300) {
		/* §13.2.2.4: confirmed, route set recomputed from the 2xx. */
		err = routes_from(d, resp, true);
		if (err)
			return err;
		d->state = DLG_S_CONFIRMED;
	}
	return err == ENOENT ? 0 : str_set(&d->rtarget, &target);
}

void
dlg_confirm(struct dlg *d)
{
	if (d && d->state == DLG_S_EARLY)
		d->state = DLG_S_CONFIRMED;
}

void
dlg_terminate(struct dlg *d)
{
	if (d)
		d->state = DLG_S_TERMINATED;
}

/* ---- matching and sequence numbers ---------------------------------- */

static bool
str_eq(const struct dlg_str *s, const struct pl *pl)
{
	return s->l == pl->l && (s->l == 0 || memcmp(s->p, pl->p, s->l) == 0);
}

bool
dlg_match_req(const struct dlg *d, const struct sip_msg *req)
{
	/* §12.2.2: Call-ID byte-exact (§20.8), tags compared as tokens,
	   byte-exact (§19.3 says they are opaque). */
	return d && req && str_eq(&d->callid, &req->callid) &&
	       str_eq(&d->ltag, &req->to.tag) &&
	       str_eq(&d->rtag, &req->from.tag);
}

bool
dlg_match_resp(const struct dlg *d, const struct sip_msg *resp)
{
	return d && resp && str_eq(&d->callid, &resp->callid) &&
	       str_eq(&d->ltag, &resp->from.tag) &&
	       str_eq(&d->rtag, &resp->to.tag);
}

int
dlg_rseq_check(struct dlg *d, uint32_t cseq)
{
	/* §12.2.2: "If the remote sequence number was not empty, but the
	   sequence number of the request is lower than the remote sequence
	   number, the request is out of order and MUST be rejected with a
	   500 (Server Internal Error) response." */
	if (d->rseq_set && cseq < d->rseq)
		return ERANGE;
	d->rseq = cseq;
	d->rseq_set = true;
	return 0;
}

int
dlg_target_refresh(struct dlg *d, const struct sip_msg *msg)
{
	struct pl target;
	int err = contact_uri(msg, &target);

	if (err == ENOENT)
		return 0;
	return err ? err : str_set(&d->rtarget, &target);
}

uint32_t
dlg_next_cseq(struct dlg *d)
{
	/* §8.1.1.5: below 2^31. An empty local seq (UAS dialog) starts at
	   1; wrapping is not allowed, so saturate (a dialog would need 2^31
	   requests). */
	if (d->lseq < 0x7fffffffu)
		d->lseq++;
	return d->lseq;
}

/* ---- requests within the dialog (§12.2.1.1) ------------------------- */

/* The URI inside a stored route name-addr. */
static int
route_uri(const struct dlg_str *r, struct sip_addr *a)
{
	struct pl v = str_pl(r);
	const char *why;

	return sip_addr_decode(a, &v, &why) ? EBADMSG : 0;
}

/* A Request-URI from a strict router's route: "stripping any parameters
   that are not allowed in a Request-URI" (§12.2.1.1): the method
   parameter and the headers part (§19.1.1 table). */
static struct pl
ruri_from_route(const struct sip_addr *a)
{
	struct pl u = a->uri_raw;

	if (a->uri.headers.p)
		u.l = (size_t)(a->uri.headers.p - 1 - u.p);
	return u;
}

static void
put_routes(struct sip_wbuf *wb, const struct dlg *d, unsigned from,
	   bool target_last)
{
	unsigned i;

	for (i = from; i < d->nroutes; i++) {
		struct pl r = str_pl(&d->routes[i]);

		sip_wb_hdr(wb, SIP_HDR_ROUTE, &r);
	}
	if (target_last)
		sip_wb_hdrf(wb, SIP_HDR_ROUTE, "<%s>", d->rtarget.p);
}

int
dlg_next_hop(const struct dlg *d, struct pl *hop)
{
	struct sip_addr first;
	int err;

	if (!d->nroutes) {
		*hop = str_pl(&d->rtarget);
		return 0;
	}
	err = route_uri(&d->routes[0], &first);
	if (err)
		return err;
	*hop = first.uri.lr ? first.uri_raw : ruri_from_route(&first);
	return 0;
}

int
dlg_request_write(struct dlg *d, struct sip_wbuf *wb, const struct pl *method,
		  uint32_t cseq, const struct pl *via, unsigned max_fwd,
		  struct pl *next_hop)
{
	struct sip_addr first;
	struct pl ruri = str_pl(&d->rtarget), hop = ruri, tag;
	char buf[1024];
	size_t len;
	bool strict = false;
	int err;

	if (d->state == DLG_S_TERMINATED)
		return EPROTO;
	if (d->nroutes) {
		err = route_uri(&d->routes[0], &first);
		if (err)
			return err;
		hop = first.uri_raw;
		if (!first.uri.lr) {
			/* §12.2.1.1: the first route is a strict router: it
			   becomes the Request-URI, the rest of the route set
			   and then the remote target the Route values. */
			strict = true;
			ruri = ruri_from_route(&first);
			hop = ruri;
		}
	}
	sip_wb_request(wb, method, &ruri);
	sip_wb_hdr(wb, SIP_HDR_VIA, via);
	put_routes(wb, d, strict ? 1 : 0, strict);
	sip_wb_hdrf(wb, SIP_HDR_MAX_FORWARDS, "%u", max_fwd);
	{
		struct pl ldn = str_pl(&d->ldname), lu = str_pl(&d->luri);

		tag = str_pl(&d->ltag);
		err = sip_naddr_print(buf, sizeof(buf), &len, &ldn, &lu, &tag);
		if (err)
			return err;
		sip_wb_hdr(wb, SIP_HDR_FROM, &(struct pl){buf, len});
	}
	{
		struct pl rdn = str_pl(&d->rdname), ru = str_pl(&d->ruri);

		tag = str_pl(&d->rtag);
		err = sip_naddr_print(buf, sizeof(buf), &len, &rdn, &ru, &tag);
		if (err)
			return err;
		sip_wb_hdr(wb, SIP_HDR_TO, &(struct pl){buf, len});
	}
	{
		struct pl cid = str_pl(&d->callid);

		sip_wb_hdr(wb, SIP_HDR_CALL_ID, &cid);
	}
	sip_wb_hdrf(wb, SIP_HDR_CSEQ, "%u %.*s", cseq, (int)method->l,
		    method->p);
	if (next_hop)
		*next_hop = hop;
	return wb->err;
}
