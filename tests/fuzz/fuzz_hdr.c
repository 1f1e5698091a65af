/*
 * libFuzzer target: every header value decoder (Via, name-addr, CSeq,
 * Content-Type, digest challenge and credentials, RAck, Session-Expires,
 * Reason, Replaces, delta-seconds) and the comma-list splitter. The first
 * input byte selects the decoder; the rest is the value.
 */
#include <stdint.h>
#include <stdlib.h>

#include "stack/sip_msg.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct pl v, rest, elem;
	const char *why = NULL;
	int rc = 0, n = 0;
	union {
		struct sip_via via;
		struct sip_addr addr;
		struct sip_cseq cseq;
		struct sip_ctype ct;
		struct sip_auth auth;
		struct sip_rack rack;
		struct sip_session_expires se;
		struct sip_reason reason;
		struct sip_replaces repl;
		uint32_t delta;
	} u;

	if (size < 1)
		return 0;
	v.p = (const char *)data + 1;
	v.l = size - 1;
	switch (data[0] % 11) {
	case 0: rc = sip_via_decode(&u.via, &v, &why); break;
	case 1: rc = sip_addr_decode(&u.addr, &v, &why); break;
	case 2: rc = sip_cseq_decode(&u.cseq, &v, &why); break;
	case 3: rc = sip_ctype_decode(&u.ct, &v, &why); break;
	case 4: rc = sip_auth_decode(&u.auth, &v, &why); break;
	case 5: rc = sip_rack_decode(&u.rack, &v, &why); break;
	case 6: rc = sip_session_expires_decode(&u.se, &v, &why); break;
	case 7: rc = sip_reason_decode(&u.reason, &v, &why); break;
	case 8: rc = sip_replaces_decode(&u.repl, &v, &why); break;
	case 9: rc = sip_delta_decode(&u.delta, &v, &why); break;
	default:
		rest = v;
		while (sip_list_next(&rest, &elem) == 0 && n++ < 10000)
			if (elem.p < v.p || elem.p + elem.l > v.p + v.l)
				abort();
		break;
	}
	if (rc && !why)
		abort();
	return 0;
}
