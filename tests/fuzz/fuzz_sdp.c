/* libFuzzer target: SDP parser, rewrites and writer (stack/sdp*.c).
   Any input must decode or be refused; what decodes must serialise back
   byte-identical, and after the relay's rewrites must serialise to text
   that decodes again to the same view. abort() on any mismatch. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "stack/sdp.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct sdp a, b;
static char out1[65536 * 2], out2[65536 * 2];

static void
check(bool ok)
{
	if (!ok)
		abort();
}

static bool
rc_ok(int rc)
{
	return rc == 0 || rc == ENOBUFS;
}

static bool
conn_eq(const struct sdp_conn *x, const struct sdp_conn *y)
{
	if (!x || !y)
		return x == y;
	return x->af == y->af && pl_eq(&x->addr, &y->addr) &&
	       x->fqdn == y->fqdn && x->unspec == y->unspec;
}

/* The relay's rewrites, chosen by the input so that all paths run. */
static void
rewrite(struct sdp *s, uint8_t sel)
{
	unsigned i;

	if (s->cline != SDP_NONE)
		check(rc_ok(sdp_conn_set(s, SDP_SESSION, SDP_AF_IP4,
					 "203.0.113.1")));
	check(rc_ok(sdp_origin_addr_set(s, SDP_AF_IP6, "2001:db8::1")));
	if (s->origin.version != UINT64_MAX)
		check(rc_ok(sdp_version_bump(s)));
	for (i = 0; i < s->nmedia; i++) {
		struct sdp_rtcp rtcp;
		struct sdp_media *md = &s->media[i];
		int rc;

		if (md->cline != SDP_NONE || (sel & 1))
			check(rc_ok(sdp_conn_set(
				s, (int)i, (sel & 2) ? SDP_AF_IP6 : SDP_AF_IP4,
				(sel & 2) ? "2001:db8::2" : "198.51.100.2")));
		rc = sdp_media_port_set(s, i, (uint16_t)(40000 + 2 * i));
		check(rc_ok(rc) || (rc == EINVAL && !sdp_media_conn(s, i)));
		if (sdp_rtcp_get(s, i, &rtcp) == 0 || (sel & 4))
			check(rc_ok(sdp_rtcp_set(s, i,
						 (uint16_t)(40001 + 2 * i),
						 SDP_AF_IP4, "198.51.100.2")));
		sdp_ice_remove(s, (int)i);
		if (sel & 8)
			sdp_attr_remove(s, (int)i, SDP_A_CRYPTO);
		if (sel & 16)
			check(rc_ok(sdp_attr_add(
				s, (int)i, "crypto",
				"1 AES_CM_128_HMAC_SHA1_80 "
				"inline:"
				"PS1uQCVeeCFCanVmcjkpPywjNWhcYD0mXXtxaVBR")));
		check(rc_ok(sdp_dir_set(s, (int)i,
					(enum sdp_dir)((sel >> 5) % 5))));
		if (md->rtp) {
			uint8_t keep[2] = {md->pt[md->nfmt - 1], 101};
			rc = sdp_media_formats_keep(s, i, keep, 2);

			check(rc_ok(rc) || rc == ENOENT);
		}
	}
	sdp_ice_remove(s, SDP_SESSION);
	if (sel & 128)
		check(rc_ok(sdp_attr_add(s, SDP_SESSION, "rtcp-mux", NULL)));
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *in = (const char *)data;
	size_t n1, n2;
	unsigned i;

	if (sdp_decode(&a, in, size, NULL) != 0)
		return 0;
	/* no change: the input, byte for byte */
	check(sdp_encode(&a, out1, sizeof(out1), &n1) == 0);
	check(n1 == size && memcmp(out1, in, size) == 0);

	rewrite(&a, size ? data[size - 1] : 0);
	check(sdp_encode(&a, out1, sizeof(out1), &n1) == 0);
	check(sdp_decode(&b, out1, n1, NULL) == 0);

	/* the re-parse sees what the rewritten view says */
	check(a.nmedia == b.nmedia);
	check(a.origin.version == b.origin.version);
	check(conn_eq(&a.origin.addr, &b.origin.addr));
	check(conn_eq(a.cline != SDP_NONE ? &a.conn : NULL,
		      b.cline != SDP_NONE ? &b.conn : NULL));
	check(a.nattr == b.nattr);
	check(sdp_dir_get(&a, SDP_SESSION) == sdp_dir_get(&b, SDP_SESSION));
	for (i = 0; i < a.nmedia; i++) {
		const struct sdp_media *x = &a.media[i], *y = &b.media[i];
		struct sdp_rtcp r1, r2;
		unsigned k;

		check(x->port == y->port && x->nports == y->nports);
		check(pl_eq(&x->type, &y->type) && pl_eq(&x->proto, &y->proto));
		check(x->nfmt == y->nfmt && x->rtp == y->rtp);
		for (k = 0; k < x->nfmt; k++)
			check(pl_eq(&x->fmt[k], &y->fmt[k]));
		check(x->nattr == y->nattr);
		check(conn_eq(sdp_media_conn(&a, i), sdp_media_conn(&b, i)));
		check(sdp_media_dir(&a, i) == sdp_media_dir(&b, i));
		check(sdp_crypto_list(&a, i, NULL, 0) ==
		      sdp_crypto_list(&b, i, NULL, 0));
		check((sdp_rtcp_get(&a, i, &r1) == 0) ==
		      (sdp_rtcp_get(&b, i, &r2) == 0));
		check(sdp_attr_count(&a, (int)i, SDP_A_CANDIDATE) == 0);
	}
	/* and serialises back to the same bytes */
	check(sdp_encode(&b, out2, sizeof(out2), &n2) == 0);
	check(n1 == n2 && memcmp(out1, out2, n1) == 0);
	return 0;
}
