/* Locating SIP servers: RFC 3263 §4.1 (transport), §4.2 (port and IP
   address) and RFC 2782 (SRV ordering), as a three-phase query machine:
   NAPTR -> SRV -> A/AAAA, each phase a set of parallel lookups. */
#define LOG_MODULE "dns"
#include "dns_int.h"

#include <arpa/inet.h>
#include <arpa/nameser.h>
#include <errno.h>
#include <event2/event.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "log.h"
#include "mem.h"

#define MAX_HOSTS 32   /* SRV targets (or the one fallback host) */
#define MAX_RECS 16    /* records kept per lookup */
#define MAX_TARGETS 64 /* addresses in a result */

enum q_state {
	Q_S_NAPTR, /* §4.1: NAPTR of the target */
	Q_S_SRV,   /* §4.2: SRV per service (NAPTR replacements or guesses) */
	Q_S_ADDR,  /* §4.2: A/AAAA per host */
	Q_S_DONE,  /* result or error waiting for / given to the handler */
	Q_S_COUNT
};

static const char *const q_state_names[Q_S_COUNT] = {
	[Q_S_NAPTR] = "NAPTR",
	[Q_S_SRV] = "SRV",
	[Q_S_ADDR] = "ADDR",
	[Q_S_DONE] = "DONE",
};

struct q_tp {
	enum tp_proto proto;
	bool tls;
};

struct q_naptr {
	uint16_t order, pref;
	struct q_tp tp;
	char repl[DNS_NAME_MAX + 1];
};

struct q_addr {
	struct sockaddr_storage ss; /* port 0 */
	socklen_t len;
};

/* One lookup of the running phase. */
struct q_slot {
	char name[DNS_NAME_MAX + 1];
	int type;	/* ns_t_naptr, ns_t_srv, ns_t_a, ns_t_aaaa */
	struct q_tp tp; /* SRV: the service's transport */
	bool nosvc;	/* SRV: only "." (RFC 2782: decidedly not here) */
	void *recs;	/* owned: q_naptr, dns_srv or q_addr array */
	char *names;	/* owned: SRV target names, DNS_NAME_MAX+1 each */
	size_t nrecs;
};

/* One host to look up and the port, transport and SRV data it came with. */
struct q_host {
	char name[DNS_NAME_MAX + 1];
	uint16_t port, priority, weight;
	struct q_tp tp;
	size_t slot[2]; /* A and AAAA slot; SIZE_MAX for none */
};

struct dns_query {
	struct dns_query *next, **prevp; /* in ctx->queries */
	struct dns_ctx *ctx;		 /* weak: NULL once detached */
	enum q_state state;
	dns_resolve_h *h; /* NULL once delivered or cancelled */
	void *arg;
	struct dns_lk *lks;    /* weak links to lookups in flight */
	struct event *done_ev; /* owned: delivers from the loop */
	char target[DNS_NAME_MAX + 1];
	bool sips;
	bool tp_explicit;     /* transport uri-parameter */
	struct q_tp tp;	      /* explicit or default transport */
	bool naptr_tp_set;    /* tp of the first usable NAPTR: */
	struct q_tp naptr_tp; /* the fallback after empty SRVs */
	uint16_t port;
	struct q_slot *slots; /* owned: the running phase's lookups */
	size_t nslots;
	size_t pending;	      /* lookups not answered (+1 while starting) */
	struct q_host *hosts; /* owned */
	size_t nhosts;
	int err;		/* first hard error seen (timeout, SERVFAIL) */
	struct dns_result *res; /* ref once done */
};

struct dns_result {
	size_t n;
	struct dns_target t[];
};

static void q_enter(struct dns_query *q, enum q_state s);

/* ---- RFC 2782 ordering ---------------------------------------------- */

static bool
srv_before(const struct dns_srv *a, const struct dns_srv *b)
{
	if (a->priority != b->priority)
		return a->priority < b->priority;
	if ((a->weight == 0) != (b->weight == 0))
		return a->weight == 0;
	return a->weight > b->weight;
}

void
dns_srv_order(struct dns_srv *r, size_t n, dns_rand_h *rand_h, void *rand_arg)
{
	if (!rand_h)
		rand_h = dns_rand_default;
	/* Stable sort by priority; within a priority weight 0 first (RFC
	   2782), the rest by weight, heaviest first: RFC 2782 allows "any
	   order" there, and a canonical one makes the draw independent of
	   the order the server sent (insertion sort: a handful of records). */
	for (size_t i = 1; i < n; i++) {
		struct dns_srv x = r[i];
		size_t j = i;

		while (j > 0 && srv_before(&x, &r[j - 1])) {
			r[j] = r[j - 1];
			j--;
		}
		r[j] = x;
	}
	/* RFC 2782: "A client MUST attempt to contact the target host with
	   the lowest-numbered priority it can reach; target hosts with the
	   same priority SHOULD be tried in an order defined by the weight
	   field." Within a priority: running sums of the weights, a uniform
	   number in [0, sum], the first record whose running sum is >= it
	   goes next; repeat on the rest. */
	for (size_t lo = 0, hi; lo < n; lo = hi) {
		for (hi = lo; hi < n && r[hi].priority == r[lo].priority; hi++)
			;
		for (size_t k = lo; k + 1 < hi; k++) {
			uint64_t sum = 0, run = 0, pick;
			size_t sel = hi - 1;
			struct dns_srv x;

			for (size_t j = k; j < hi; j++)
				sum += r[j].weight;
			pick = rand_h(rand_arg) % (sum + 1);
			for (size_t j = k; j < hi; j++) {
				run += r[j].weight;
				if (run >= pick) {
					sel = j;
					break;
				}
			}
			x = r[sel];
			memmove(&r[k + 1], &r[k], (sel - k) * sizeof(*r));
			r[k] = x;
		}
	}
}

/* ---- results ---------------------------------------------------------- */

size_t
dns_result_count(const struct dns_result *res)
{
	return res ? res->n : 0;
}

const struct dns_target *
dns_result_target(const struct dns_result *res, size_t i)
{
	return res && i < res->n ? &res->t[i] : NULL;
}

static struct dns_result *
result_alloc(size_t cap)
{
	return mem_zalloc(sizeof(struct dns_result) +
				  cap * sizeof(struct dns_target),
			  NULL);
}

static uint16_t
default_port(struct q_tp tp)
{
	return tp.tls ? 5061 : 5060; /* RFC 3261 §19.1.2 */
}

/* Append addr:port unless the same address, port and transport is there. */
static void
result_add(struct dns_result *res, const struct q_addr *a, uint16_t port,
	   struct q_tp tp, uint16_t prio, uint16_t weight)
{
	struct dns_target t = {.addrlen = a->len,
			       .proto = tp.tls ? TP_TLS : tp.proto,
			       .tls = tp.tls,
			       .priority = prio,
			       .weight = weight};

	memcpy(&t.addr, &a->ss, a->len);
	if (t.addr.ss_family == AF_INET)
		((struct sockaddr_in *)&t.addr)->sin_port = htons(port);
	else
		((struct sockaddr_in6 *)&t.addr)->sin6_port = htons(port);
	for (size_t i = 0; i < res->n; i++) {
		if (res->t[i].proto == t.proto && res->t[i].tls == t.tls &&
		    res->t[i].addrlen == t.addrlen &&
		    !memcmp(&res->t[i].addr, &t.addr, t.addrlen))
			return;
	}
	if (res->n < MAX_TARGETS)
		res->t[res->n++] = t;
}

/* ---- the query ------------------------------------------------------- */

static void
slots_free(struct dns_query *q)
{
	for (size_t i = 0; i < q->nslots; i++) {
		free(q->slots[i].recs);
		free(q->slots[i].names);
	}
	free(q->slots);
	q->slots = NULL;
	q->nslots = 0;
}

/* Stop everything: no lookup, event or callback refers to q afterwards. */
static void
q_detach(struct dns_query *q)
{
	dns_lk_detach_all(&q->lks);
	if (q->done_ev) {
		event_free(q->done_ev);
		q->done_ev = NULL;
	}
	q->h = NULL;
	if (q->prevp) {
		*q->prevp = q->next;
		if (q->next)
			q->next->prevp = q->prevp;
		q->prevp = NULL;
		q->next = NULL;
	}
	q->ctx = NULL;
}

static void
q_destroy(void *arg)
{
	struct dns_query *q = arg;

	q_detach(q);
	slots_free(q);
	free(q->hosts);
	mem_deref(q->res);
}

void
dns_sip_orphan_all(struct dns_ctx *ctx)
{
	while (ctx->queries)
		q_detach(ctx->queries);
}

struct dns_query *
dns_query_cancel(struct dns_query *q)
{
	if (q)
		q_detach(q);
	return mem_deref(q);
}

static void
done_cb(evutil_socket_t fd, short what, void *arg)
{
	struct dns_query *q = arg;
	dns_resolve_h *h = q->h;
	int err = q->res ? 0 : (q->err ? q->err : ENOENT);

	(void)fd;
	(void)what;
	if (!h)
		return;
	q->h = NULL; /* at most once */
	mem_ref(q);  /* the handler may drop the caller's reference */
	h(err, q->res, q->arg);
	mem_deref(q);
}

static void
q_note_status(struct dns_query *q, int status)
{
	if (status != ARES_SUCCESS && status != ARES_ENODATA &&
	    status != ARES_ENOTFOUND && !q->err)
		q->err = dns_ares_err(status);
}

/* ---- parsing answers into slots ------------------------------------- */

static bool
naptr_service(const char *svc, struct q_tp *tp, bool *secure)
{
	if (!strcasecmp(svc, "SIP+D2U"))
		*tp = (struct q_tp){TP_UDP, false};
	else if (!strcasecmp(svc, "SIP+D2T"))
		*tp = (struct q_tp){TP_TCP, false};
	else if (!strcasecmp(svc, "SIPS+D2T"))
		*tp = (struct q_tp){TP_TCP, true};
	else
		return false; /* SCTP, WS, ... not supported */
	*secure = tp->tls;
	return true;
}

static unsigned
tp_bit(struct q_tp tp)
{
	if (tp.tls)
		return DNS_TRANSPORT_TLS;
	return tp.proto == TP_UDP ? DNS_TRANSPORT_UDP : DNS_TRANSPORT_TCP;
}

static void
parse_naptr(struct dns_query *q, struct q_slot *s, const unsigned char *abuf,
	    int alen)
{
	struct ares_naptr_reply *rep = NULL, *r;
	struct q_naptr *recs;

	if (ares_parse_naptr_reply(abuf, alen, &rep) != ARES_SUCCESS)
		return;
	recs = calloc(MAX_RECS, sizeof(*recs));
	for (r = rep; recs && r && s->nrecs < MAX_RECS; r = r->next) {
		struct q_naptr *n = &recs[s->nrecs];
		bool secure;
		size_t i;

		if (strcasecmp((const char *)r->flags, "s") ||
		    !naptr_service((const char *)r->service, &n->tp, &secure) ||
		    !r->replacement[0] || !strcmp(r->replacement, "."))
			continue;
		/* §4.1: "a client resolving a SIPS URI MUST discard any
		   services that do not contain "SIPS" as the protocol in
		   the service field." */
		if ((q->sips && !secure) ||
		    !(tp_bit(n->tp) & q->ctx->conf.transports))
			continue;
		n->order = r->order;
		n->pref = r->preference;
		snprintf(n->repl, sizeof(n->repl), "%s", r->replacement);
		/* Keep order, then preference, ascending (RFC 3403 §4.1). */
		for (i = s->nrecs; i > 0 && (recs[i - 1].order > n->order ||
					     (recs[i - 1].order == n->order &&
					      recs[i - 1].pref > n->pref));
		     i--)
			;
		if (i < s->nrecs) {
			struct q_naptr x = *n;

			memmove(&recs[i + 1], &recs[i],
				(s->nrecs - i) * sizeof(*recs));
			recs[i] = x;
		}
		s->nrecs++;
	}
	s->recs = recs;
	ares_free_data(rep);
}

static void
parse_srv(struct q_slot *s, const unsigned char *abuf, int alen)
{
	struct ares_srv_reply *rep = NULL, *r;
	struct dns_srv *recs;

	if (ares_parse_srv_reply(abuf, alen, &rep) != ARES_SUCCESS)
		return;
	recs = calloc(MAX_RECS, sizeof(*recs));
	s->names = calloc(MAX_RECS, DNS_NAME_MAX + 1);
	for (r = rep; recs && s->names && r && s->nrecs < MAX_RECS;
	     r = r->next) {
		char *name = s->names + s->nrecs * (DNS_NAME_MAX + 1);

		/* RFC 2782: a Target of "." means that the service is
		   decidedly not available at this domain. */
		if (!r->host[0] || !strcmp(r->host, ".")) {
			s->nosvc = true;
			continue;
		}
		snprintf(name, DNS_NAME_MAX + 1, "%s", r->host);
		recs[s->nrecs++] = (struct dns_srv){.target = name,
						    .port = r->port,
						    .priority = r->priority,
						    .weight = r->weight};
	}
	if (s->nrecs)
		s->nosvc = false;
	s->recs = recs;
	ares_free_data(rep);
}

static void
parse_addr(struct q_slot *s, const unsigned char *abuf, int alen)
{
	struct ares_addrttl a4[MAX_RECS];
	struct ares_addr6ttl a6[MAX_RECS];
	struct q_addr *recs;
	int n = MAX_RECS, st;

	if (s->type == ns_t_a)
		st = ares_parse_a_reply(abuf, alen, NULL, a4, &n);
	else
		st = ares_parse_aaaa_reply(abuf, alen, NULL, a6, &n);
	if (st != ARES_SUCCESS || n <= 0)
		return;
	recs = calloc((size_t)n, sizeof(*recs));
	if (!recs)
		return;
	for (int i = 0; i < n; i++) {
		if (s->type == ns_t_a) {
			struct sockaddr_in *sin = (void *)&recs[i].ss;

			sin->sin_family = AF_INET;
			sin->sin_addr = a4[i].ipaddr;
			recs[i].len = sizeof(*sin);
		} else {
			struct sockaddr_in6 *sin6 = (void *)&recs[i].ss;

			sin6->sin6_family = AF_INET6;
			memcpy(&sin6->sin6_addr, &a6[i].ip6addr,
			       sizeof(sin6->sin6_addr));
			recs[i].len = sizeof(*sin6);
		}
	}
	s->recs = recs;
	s->nrecs = (size_t)n;
}

/* ---- phases --------------------------------------------------------- */

static void q_phase_done(struct dns_query *q);

static void
q_pending_dec(struct dns_query *q)
{
	if (--q->pending == 0)
		q_phase_done(q);
}

/* dns_lk_h: one answer of the running phase. */
static void
slot_done(void *arg, size_t i, int status, const unsigned char *abuf, int alen)
{
	struct dns_query *q = arg;
	struct q_slot *s = &q->slots[i];

	q_note_status(q, status);
	if (status == ARES_SUCCESS && abuf) {
		if (s->type == ns_t_naptr)
			parse_naptr(q, s, abuf, alen);
		else if (s->type == ns_t_srv)
			parse_srv(s, abuf, alen);
		else
			parse_addr(s, abuf, alen);
	}
	q_pending_dec(q);
}

static struct q_slot *
slot_add(struct dns_query *q, const char *name, int type, struct q_tp tp)
{
	struct q_slot *s = &q->slots[q->nslots];

	if (strlen(name) > DNS_NAME_MAX)
		return NULL;
	memset(s, 0, sizeof(*s));
	snprintf(s->name, sizeof(s->name), "%s", name);
	s->type = type;
	s->tp = tp;
	q->nslots++;
	return s;
}

/* Start every slot; the +1 guard keeps a synchronous answer (cache hit)
   from ending the phase while the loop still walks the slots. */
static void
q_run_slots(struct dns_query *q)
{
	q->pending = q->nslots + 1;
	for (size_t i = 0; i < q->nslots; i++) {
		if (dns_lk_start(q->ctx, &q->lks, q->slots[i].name,
				 q->slots[i].type, slot_done, q, i))
			slot_done(q, i, ARES_ENOMEM, NULL, 0);
	}
	q_pending_dec(q);
}

static bool
srv_slot_add(struct dns_query *q, const char *domain, struct q_tp tp)
{
	char name[DNS_NAME_MAX + 2];
	const char *svc =
		tp.tls ? "_sips._tcp"
		       : (tp.proto == TP_UDP ? "_sip._udp" : "_sip._tcp");

	if (snprintf(name, sizeof(name), "%s.%s", svc, domain) > DNS_NAME_MAX)
		return false;
	return slot_add(q, name, ns_t_srv, tp) != NULL;
}

/* §4.1: the SRV lookups after NAPTR: its replacements, or with no usable
   NAPTR "SRV queries for those transport protocols it supports". */
static void
srv_slots_build(struct dns_query *q, struct q_slot *naptr)
{
	static const struct q_tp all[] = {
		{TP_UDP, false}, {TP_TCP, false}, {TP_TCP, true}};
	size_t nn = naptr ? naptr->nrecs : 0;
	struct q_naptr *recs = naptr ? naptr->recs : NULL;
	struct q_slot *old = q->slots;
	size_t nold = q->nslots;

	q->slots = calloc(nn + 3, sizeof(*q->slots));
	q->nslots = 0;
	if (!q->slots) { /* q_enter() sees no slots: ENOMEM */
		q->slots = old;
		q->nslots = nold;
		slots_free(q);
		return;
	}
	for (size_t i = 0; i < nn; i++)
		slot_add(q, recs[i].repl, ns_t_srv, recs[i].tp);
	if (nn) {
		q->naptr_tp_set = true;
		q->naptr_tp = recs[0].tp;
	} else if (q->tp_explicit) {
		srv_slot_add(q, q->target, q->tp);
	} else {
		for (size_t i = 0; i < 3; i++) {
			/* §4.1: SIPS URIs use "_sips" only. */
			if ((q->sips && !all[i].tls) ||
			    !(tp_bit(all[i]) & q->ctx->conf.transports))
				continue;
			srv_slot_add(q, q->target, all[i]);
		}
	}
	for (size_t i = 0; i < nold; i++) {
		free(old[i].recs);
		free(old[i].names);
	}
	free(old);
}

static void
host_add(struct dns_query *q, const char *name, uint16_t port, struct q_tp tp,
	 uint16_t prio, uint16_t weight)
{
	struct q_host *h;

	if (q->nhosts >= MAX_HOSTS || strlen(name) > DNS_NAME_MAX)
		return;
	h = &q->hosts[q->nhosts++];
	snprintf(h->name, sizeof(h->name), "%s", name);
	h->port = port;
	h->tp = tp;
	h->priority = prio;
	h->weight = weight;
	h->slot[0] = h->slot[1] = SIZE_MAX;
}

/* §4.2 after SRV: hosts in RFC 2782 order per service, services in
   NAPTR (or guess) order; with no SRV at all the target itself. */
static void
hosts_from_srv(struct dns_query *q)
{
	bool any = false;

	for (size_t i = 0; i < q->nslots; i++) {
		struct q_slot *s = &q->slots[i];

		if (!s->nrecs && !s->nosvc)
			continue;
		any = true;
		dns_srv_order(s->recs, s->nrecs, q->ctx->conf.rand_h,
			      q->ctx->conf.rand_arg);
		for (size_t j = 0; j < s->nrecs; j++) {
			struct dns_srv *r = &((struct dns_srv *)s->recs)[j];

			host_add(q, r->target, r->port, s->tp, r->priority,
				 r->weight);
		}
	}
	if (!any) {
		/* §4.2: "If no SRV records were found, the client performs
		   an A or AAAA record query of the domain name" with the
		   default port; §4.1: UDP for SIP, TLS (TCP) for SIPS. */
		struct q_tp tp = q->naptr_tp_set ? q->naptr_tp : q->tp;

		host_add(q, q->target, default_port(tp), tp, 0, 0);
	}
}

/* A/AAAA slots for the hosts, one pair per distinct name. */
static void
addr_slots_build(struct dns_query *q)
{
	static const int types[2] = {ns_t_a, ns_t_aaaa};
	static const unsigned fams[2] = {DNS_FAMILY_V4, DNS_FAMILY_V6};

	slots_free(q);
	q->slots = calloc(2 * q->nhosts + 1, sizeof(*q->slots));
	if (!q->slots)
		return;
	for (size_t i = 0; i < q->nhosts; i++) {
		struct q_host *h = &q->hosts[i];

		for (size_t k = 0; k < i; k++) {
			if (!strcasecmp(q->hosts[k].name, h->name)) {
				h->slot[0] = q->hosts[k].slot[0];
				h->slot[1] = q->hosts[k].slot[1];
				break;
			}
		}
		for (int f = 0; f < 2; f++) {
			if (h->slot[f] != SIZE_MAX ||
			    !(q->ctx->conf.families & fams[f]))
				continue;
			h->slot[f] = q->nslots;
			slot_add(q, h->name, types[f], h->tp);
		}
	}
}

static void
q_finish_addrs(struct dns_query *q)
{
	struct dns_result *res = result_alloc(MAX_TARGETS);
	int first = q->ctx->conf.prefer_v6 ? 1 : 0;

	if (!res) {
		q->err = ENOMEM;
		return;
	}
	for (size_t i = 0; i < q->nhosts; i++) {
		struct q_host *h = &q->hosts[i];

		for (int f = first, k = 0; k < 2; k++, f ^= 1) {
			struct q_slot *s;

			if (h->slot[f] == SIZE_MAX || !q->slots)
				continue;
			s = &q->slots[h->slot[f]];
			for (size_t j = 0; j < s->nrecs; j++)
				result_add(res, &((struct q_addr *)s->recs)[j],
					   h->port, h->tp, h->priority,
					   h->weight);
		}
	}
	if (res->n)
		q->res = res;
	else
		mem_deref(res);
}

static void
q_phase_done(struct dns_query *q)
{
	switch (q->state) {
	case Q_S_NAPTR:
		srv_slots_build(q, q->nslots ? &q->slots[0] : NULL);
		q_enter(q, Q_S_SRV);
		break;
	case Q_S_SRV:
		hosts_from_srv(q);
		q_enter(q, Q_S_ADDR);
		break;
	case Q_S_ADDR:
		q_finish_addrs(q);
		q_enter(q, Q_S_DONE);
		break;
	default:
		LOG_WARN("%s: phase end in %s ignored", q->target,
			 q_state_names[q->state]);
		break;
	}
}

/* The only writer of q->state; starts what the new state does. */
static void
q_enter(struct dns_query *q, enum q_state s)
{
	LOG_DBG("%s: %s -> %s", q->target, q_state_names[q->state],
		q_state_names[s]);
	q->state = s;
	switch (s) {
	case Q_S_NAPTR:
		slot_add(q, q->target, ns_t_naptr, q->tp);
		q_run_slots(q);
		break;
	case Q_S_SRV:
	case Q_S_ADDR:
		if (s == Q_S_ADDR)
			addr_slots_build(q);
		if (!q->slots)
			q->err = ENOMEM;
		if (!q->slots) {
			q_enter(q, Q_S_DONE);
			break;
		}
		q_run_slots(q);
		break;
	case Q_S_DONE:
		slots_free(q);
		event_active(q->done_ev, EV_TIMEOUT, 0);
		break;
	default:
		break;
	}
}

/* ---- entry point ---------------------------------------------------- */

/* §4.1 transport from the URI alone: the transport parameter, else UDP
   for SIP (TCP if UDP is off) and TLS for SIPS. */
static int
uri_tp(const struct sip_uri *uri, unsigned enabled, struct q_tp *tp,
       bool *explicit)
{
	bool sips = uri->scheme == SIP_URI_SIPS;

	*explicit = pl_isset(&uri->transport);
	if (*explicit) {
		if (pl_caseeq_str(&uri->transport, "udp") && !sips)
			*tp = (struct q_tp){TP_UDP, false};
		else if (pl_caseeq_str(&uri->transport, "tcp"))
			*tp = (struct q_tp){TP_TCP, sips};
		else if (pl_caseeq_str(&uri->transport, "tls"))
			*tp = (struct q_tp){TP_TCP, true};
		else
			return EPROTONOSUPPORT;
	} else if (sips) {
		*tp = (struct q_tp){TP_TCP, true};
	} else if (enabled & DNS_TRANSPORT_UDP) {
		*tp = (struct q_tp){TP_UDP, false};
	} else if (enabled & DNS_TRANSPORT_TCP) {
		*tp = (struct q_tp){TP_TCP, false};
	} else {
		*tp = (struct q_tp){TP_TCP, true};
	}
	return (tp_bit(*tp) & enabled) ? 0 : EPROTONOSUPPORT;
}

/* The numeric address in text, if it is one. */
static bool
numeric_addr(const char *text, struct q_addr *a)
{
	struct sockaddr_in *sin = (void *)&a->ss;
	struct sockaddr_in6 *sin6 = (void *)&a->ss;

	memset(a, 0, sizeof(*a));
	if (inet_pton(AF_INET, text, &sin->sin_addr) == 1) {
		sin->sin_family = AF_INET;
		a->len = sizeof(*sin);
		return true;
	}
	if (inet_pton(AF_INET6, text, &sin6->sin6_addr) == 1) {
		sin6->sin6_family = AF_INET6;
		a->len = sizeof(*sin6);
		return true;
	}
	return false;
}

/* §4: "If the URI contains an maddr parameter, TARGET is the maddr
   value; else the host value." Brackets of an IPv6 maddr go. */
static int
uri_target(const struct sip_uri *uri, char *buf, size_t size)
{
	struct pl t =
		pl_isset(&uri->maddr) && uri->maddr.l ? uri->maddr : uri->host;

	if (t.l >= 2 && t.p[0] == '[' && t.p[t.l - 1] == ']') {
		t.p++;
		t.l -= 2;
	}
	if (!t.l || t.l >= size || t.l > DNS_NAME_MAX)
		return EINVAL;
	pl_strcpy(&t, buf, size);
	if (buf[t.l - 1] == '.' && t.l > 1) /* absolute name */
		buf[t.l - 1] = '\0';
	return 0;
}

int
dns_sip_resolve(struct dns_query **qp, struct dns_ctx *ctx,
		const struct sip_uri *uri, dns_resolve_h *h, void *arg)
{
	struct dns_query *q;
	struct q_addr num;
	int err;

	if (!qp || !ctx || !uri || !h ||
	    (uri->scheme != SIP_URI_SIP && uri->scheme != SIP_URI_SIPS))
		return EINVAL;
	q = mem_zalloc(sizeof(*q), q_destroy);
	if (!q)
		return ENOMEM;
	q->sips = uri->scheme == SIP_URI_SIPS;
	err = uri_target(uri, q->target, sizeof(q->target));
	if (!err)
		err = uri_tp(uri, ctx->conf.transports, &q->tp,
			     &q->tp_explicit);
	if (err)
		goto out;
	q->done_ev = event_new(ctx->base, -1, 0, done_cb, q);
	if (!q->done_ev) {
		err = ENOMEM;
		goto out;
	}
	q->ctx = ctx;
	q->h = h;
	q->arg = arg;
	q->next = ctx->queries;
	if (ctx->queries)
		ctx->queries->prevp = &q->next;
	q->prevp = &ctx->queries;
	ctx->queries = q;
	q->port = uri->port_set ? uri->port : default_port(q->tp);
	q->state = Q_S_NAPTR;
	*qp = q;
	if (numeric_addr(q->target, &num)) {
		/* §4.2: "If TARGET is a numeric IP address, the client uses
		   that address. If the URI also contains a port, it uses
		   that port. If no port is specified, it uses the default
		   port for the particular transport protocol." */
		q->res = result_alloc(1);
		if (q->res)
			result_add(q->res, &num, q->port, q->tp, 0, 0);
		else
			q->err = ENOMEM;
		q_enter(q, Q_S_DONE);
	} else if (uri->port_set) {
		/* §4.2: a port but no numeric address: A/AAAA only. */
		q->hosts = calloc(1, sizeof(*q->hosts));
		if (q->hosts)
			host_add(q, q->target, q->port, q->tp, 0, 0);
		else
			q->err = ENOMEM;
		q_enter(q, Q_S_ADDR);
	} else {
		q->hosts = calloc(MAX_HOSTS, sizeof(*q->hosts));
		q->slots = calloc(1, sizeof(*q->slots));
		if (!q->hosts || !q->slots)
			q->err = ENOMEM;
		if (q->err)
			q_enter(q, Q_S_DONE);
		else if (q->tp_explicit) { /* §4.2: SRV of that transport */
			srv_slots_build(q, NULL);
			q_enter(q, Q_S_SRV);
		} else /* §4.1: "the client SHOULD perform a NAPTR query" */
			q_enter(q, Q_S_NAPTR);
	}
	return 0;
out:
	mem_deref(q);
	return err;
}
