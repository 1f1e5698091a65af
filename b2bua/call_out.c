/* The B-leg INVITE of a call: its URIs, its destination, and which of
   the caller's headers cross (RFC 3325 / 3323 identity rules, the
   trunk's header policy, RFC 7989 Session-ID). */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "call_int.h"
#include "tdns.h"

/* A number as a URI user part: unreserved and a few user-unreserved
   marks as they are, everything else %-escaped (§25.1, '#' -> %23). */
void
call_user_escape(const char *in, char *out, size_t size)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t o = 0;

	for (; *in && o + 4 < size; in++) {
		unsigned char ch = (unsigned char)*in;

		if ((ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'z') ||
		    (ch >= 'A' && ch <= 'Z') ||
		    strchr("+-_.!~*'()&=$,?/", ch)) {
			out[o++] = (char)ch;
		} else {
			out[o++] = '%';
			out[o++] = hex[ch >> 4];
			out[o++] = hex[ch & 15];
		}
	}
	out[o] = '\0';
}

/* A host for a URI: IPv6 references in brackets (§19.1.1). */
void
call_host_fmt(const char *host, char *out, size_t size)
{
	snprintf(out, size, strchr(host, ':') ? "[%s]" : "%s", host);
}

int
call_target_dest(const struct b2b *b, const struct pol_trunk *t,
		 struct txn_dest *d)
{
	uint16_t port = t->port ? t->port : 5060;

	memset(d, 0, sizeof(*d));
	if (tdns_is_name(t->host))
		return tdns_dest(b->tdns, t, d); /* RFC 3263, tdns.c */
	if (t->host && strchr(t->host, ':')) {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&d->addr;

		if (inet_pton(AF_INET6, t->host, &s6->sin6_addr) != 1)
			return EAFNOSUPPORT;
		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons(port);
		d->len = sizeof(*s6);
	} else {
		struct sockaddr_in *s4 = (struct sockaddr_in *)&d->addr;

		if (!t->host || inet_pton(AF_INET, t->host, &s4->sin_addr) != 1)
			return EAFNOSUPPORT; /* a DNS name: not resolved
						here yet */
		s4->sin_family = AF_INET;
		s4->sin_port = htons(port);
		d->len = sizeof(*s4);
	}
	d->proto = t->transport == POL_TP_TCP	? TP_TCP
		   : t->transport == POL_TP_TLS ? TP_TLS
						: TP_UDP;
	d->reliable = d->proto != TP_UDP;
	return 0;
}

/* Headers of the caller's INVITE that may cross to a trunk whose policy
   passes unknown headers: extension headers (X-..., Diversion, ...) and
   Subject; never what names hosts or hops (Via, Route, Record-Route,
   Contact, History-Info, ...), never the dialog's own, never identity
   headers (those follow the caller-ID rules below). */
int
call_take_hdrs(struct call *c, const struct sip_msg *inv)
{
	static const char *const deny[] = {
		"History-Info", "Remote-Party-ID", "P-Charging-Vector",
		"Path",		"Service-Route",   "P-Visited-Network-ID"};
	char buf[2048];
	size_t o = 0, i, k;
	const struct sip_hdr *h;

	h = sip_msg_hdr(inv, SIP_HDR_P_ASSERTED_IDENTITY);
	if (h && h->val.l < sizeof(c->a_pai))
		snprintf(c->a_pai, sizeof(c->a_pai), "%.*s", (int)h->val.l,
			 h->val.p);
	h = sip_msg_hdr(inv, SIP_HDR_PRIVACY);
	if (h && h->val.l < sizeof(c->a_privacy))
		snprintf(c->a_privacy, sizeof(c->a_privacy), "%.*s",
			 (int)h->val.l, h->val.p);
	for (i = 0; i < inv->nhdrs; i++) {
		h = &inv->hdrs[i];
		if (h->id != SIP_HDR_OTHER && h->id != SIP_HDR_SUBJECT)
			continue;
		for (k = 0; k < sizeof(deny) / sizeof(deny[0]); k++)
			if (pl_caseeq_str(&h->name, deny[k]))
				break;
		if (k < sizeof(deny) / sizeof(deny[0]) ||
		    o + h->line.l + 3 > sizeof(buf))
			continue;
		memcpy(buf + o, h->line.p, h->line.l);
		o += h->line.l;
		buf[o++] = '\r';
		buf[o++] = '\n';
	}
	if (!o)
		return 0;
	c->a_pass = malloc(o + 1);
	if (!c->a_pass)
		return ENOMEM;
	memcpy(c->a_pass, buf, o);
	c->a_pass[o] = '\0';
	return 0;
}

static bool
privacy_id(const char *p)
{
	return strstr(p, "id") != NULL; /* "id" or "id;user" (RFC 3325 §9.3) */
}

/* The name of the header line at p (up to ':'), its length in *n. */
static size_t
hdr_name_len(const char *p, const char *end)
{
	const char *q = p;

	while (q < end && *q != ':' && *q != ' ' && *q != '\t')
		q++;
	return (size_t)(q - p);
}

/* The caller's extension headers (CRLF lines) the trunk's header policy
   lets through, then the trunk's own additions (replacing those names):
   appended to buf at *o. */
static void
hdr_policy(const struct call *c, const struct pol_trunk *tr, char *buf,
	   size_t size, int *o)
{
	const char *p = c->a_pass;

	while (p && *p && (size_t)*o < size) {
		const char *e = strstr(p, "\r\n");
		size_t n = hdr_name_len(p, e ? e : p + strlen(p));
		bool listed = pol_name_listed(tr->hdr_list, p, n);
		bool keep = tr->hdr_pass ? !listed : listed;
		const char *a = tr->hdr_add;

		/* an added header of that name replaces the caller's */
		while (keep && a && *a) {
			const char *nl = strchr(a, '\n');
			size_t an = hdr_name_len(a, nl ? nl : a + strlen(a));

			if (an == n && !strncasecmp(a, p, n))
				keep = false;
			a = nl ? nl + 1 : a + strlen(a);
		}
		if (!e)
			break;
		if (keep)
			*o += snprintf(buf + *o, size - (size_t)*o, "%.*s\r\n",
				       (int)(e - p), p);
		p = e + 2;
	}
	for (p = tr->hdr_add; p && *p && (size_t)*o < size;) {
		const char *nl = strchr(p, '\n');
		size_t n = nl ? (size_t)(nl - p) : strlen(p);

		*o += snprintf(buf + *o, size - (size_t)*o, "%.*s\r\n", (int)n,
			       p);
		p += n + (nl ? 1 : 0);
	}
}

/* The B-leg's extra headers for target t: Session-ID (RFC 7989) end to
   end, the caller's extension headers as the trunk's header policy says
   (pass or strip with a list of exceptions, added lines), and
   P-Asserted-Identity / Privacy per the target's caller-ID rule with the
   RFC 3325 trust rules: an assertion from an untrusted source is dropped
   (§5), and none goes to an untrusted trunk when privacy asks for it
   (§7). */
void
call_b_hdrs(const struct call *c, const struct call_target *t, const char *host,
	    char *buf, size_t size)
{
	const struct pol_trunk *tr = t->trunk;
	char priv[64] = "", pai[200] = "";
	int o = 0;

	if (t->cid.privacy == POL_PRIV_ID)
		snprintf(priv, sizeof(priv), "id");
	else if (t->cid.privacy == POL_PRIV_KEEP)
		snprintf(priv, sizeof(priv), "%s", c->a_privacy);
	if (t->cid.pai == POL_PAI_INSERT) {
		const char *v =
			t->cid.pai_value ? t->cid.pai_value : t->calling;

		if (strchr(v, ':'))
			snprintf(pai, sizeof(pai), "<%s>", v);
		else if (v[0])
			snprintf(pai, sizeof(pai), "<sip:%s@%s>", v, host);
	} else if (t->cid.pai == POL_PAI_KEEP && c->src && c->src->pai_trust) {
		snprintf(pai, sizeof(pai), "%s", c->a_pai);
	}
	if (pai[0] && privacy_id(priv) && !tr->pai_trust)
		pai[0] = '\0';
	buf[0] = '\0';
	if (c->session_id[0])
		o += snprintf(buf + o, size - (size_t)o, "Session-ID: %s\r\n",
			      c->session_id);
	if (pai[0] && (size_t)o < size)
		o += snprintf(buf + o, size - (size_t)o,
			      "P-Asserted-Identity: %s\r\n", pai);
	if (priv[0] && (size_t)o < size)
		o += snprintf(buf + o, size - (size_t)o, "Privacy: %s\r\n",
			      priv);
	hdr_policy(c, tr, buf, size, &o);
	if ((size_t)o >= size)
		buf[0] = '\0'; /* never a truncated header */
}

/* The target is this tandemd itself: a loop (it would come back here). */
bool
call_is_self(const struct b2b *b, const struct pol_trunk *t)
{
	return t->host && !strcmp(t->host, b->host) &&
	       (t->port ? t->port : 5060) == b->port;
}
