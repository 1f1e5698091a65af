/* The message ladder of each call (issue 9: GET /calls/{id} shows "the
   SIP messages of the call as a ladder"): the first line of every
   message sent or received on either leg, with its time, kept in the
   call (the first CALL_LADDER_MAX; later ones only counted). Messages
   are tied to a call by their Call-ID through the UA's session table:
   each leg has its own Call-ID (topology hiding), a session's handler
   tells which leg it is. All on the worker's thread. */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "call_int.h"
#include "stack/sip_msg.h"

struct call *
call_of_handler(ua_sess_h *h, void *arg, int *leg)
{
	struct call *c = arg;

	if (!h || !c)
		return NULL;
	if (h == call_leg_h(LEG_A))
		*leg = LEG_A;
	else if (h == call_leg_h(LEG_B))
		*leg = LEG_B;
	else if (h == call_xfer_h())
		*leg = c->xfer_leg;
	else
		return NULL; /* OPTIONS probes, registrations: no call */
	return c;
}

void
call_ladder_add(struct call *c, int leg, bool out, const char *buf, size_t len)
{
	struct call_lad *e;
	uint64_t now = call_now_ms();
	size_t n = 0;

	if (!c || !c->bw->b2b->cfg.ladder || c->state == CALL_S_ENDED)
		return;
	if (c->nlad >= CALL_LADDER_MAX) {
		c->lad_more++;
		return;
	}
	if (!c->lad) {
		c->lad = calloc(CALL_LADDER_MAX, sizeof(*c->lad));
		if (!c->lad)
			return;
	}
	e = &c->lad[c->nlad++];
	e->t_ms = now > c->t_start ? (uint32_t)(now - c->t_start) : 0;
	e->leg = (uint8_t)leg;
	e->out = out;
	while (n < len && n < sizeof(e->line) - 1 && buf[n] != '\r' &&
	       buf[n] != '\n') {
		/* the start line is printable text (RFC 3261 §25.1); keep
		   the JSON and the terminal safe from what is not */
		unsigned char ch = (unsigned char)buf[n];

		e->line[n++] = ch >= 0x20 && ch < 0x7f ? (char)ch : '?';
	}
	e->line[n] = '\0';
}

/* The Call-ID of a raw message: the value of its first Call-ID or "i"
   header line (§7.3.3 compact form), trimmed; false if none. */
static bool
raw_callid(const char *buf, size_t len, const char **id, size_t *idl)
{
	const char *p = memchr(buf, '\n', len), *end = buf + len;

	while (p && ++p < end && *p != '\r' && *p != '\n') {
		const char *q = p;
		size_t nl;

		if ((size_t)(end - q) > 7 && !strncasecmp(q, "Call-ID", 7))
			q += 7;
		else if (*q == 'i' || *q == 'I')
			q += 1;
		else
			q = NULL;
		while (q && q < end && (*q == ' ' || *q == '\t'))
			q++;
		if (q && q < end && *q == ':') {
			for (q++; q < end && (*q == ' ' || *q == '\t'); q++)
				;
			for (nl = 0;
			     q + nl < end && q[nl] != '\r' && q[nl] != '\n' &&
			     q[nl] != ' ' && q[nl] != '\t';
			     nl++)
				;
			*id = q;
			*idl = nl;
			return nl > 0;
		}
		p = memchr(p, '\n', (size_t)(end - p));
	}
	return false;
}

static struct call *
by_callid(struct b2b_worker *bw, const char *id, size_t idl, int *leg)
{
	ua_sess_h *h = NULL;
	void *arg = NULL;

	if (!ua_sess_by_callid(bw->ua, id, idl, &h, &arg))
		return NULL;
	return call_of_handler(h, arg, leg);
}

void
call_ladder_sent(struct b2b_worker *bw, const char *buf, size_t len)
{
	const char *id;
	size_t idl;
	struct call *c;
	int leg = LEG_A;

	if (!bw->ua || !bw->b2b->cfg.ladder || !raw_callid(buf, len, &id, &idl))
		return;
	c = by_callid(bw, id, idl, &leg);
	if (c)
		call_ladder_add(c, leg, true, buf, len);
}

void
call_ladder_recv(struct b2b_worker *bw, const struct sip_msg *msg)
{
	struct call *c;
	int leg = LEG_A;

	if (!bw->ua || !bw->b2b->cfg.ladder || !msg->buf)
		return;
	c = by_callid(bw, msg->callid.p, msg->callid.l, &leg);
	if (c)
		call_ladder_add(c, leg, false, msg->buf, msg->len);
}
