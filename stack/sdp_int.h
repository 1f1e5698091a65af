/* SDP internals shared by sdp.c (parser), sdp_attr.c (attribute values,
   getters) and sdp_edit.c (rewrites, writer). Not part of the public
   API. */
#ifndef TANDEM_SDP_INT_H
#define TANDEM_SDP_INT_H

#include "sdp.h"

/* Fill name/val/id of ln from ln->text and ln->type (set by the caller);
   check the values of the attributes we rely on. 0 or EBADMSG. */
int sdp_line_split(struct sdp_line *ln, const char **why);
/* m= value into *md (media fields only; the section bookkeeping is left
   alone). 0 or EBADMSG. */
int sdp_mline_decode(struct sdp_media *md, const struct pl *val,
		     const char **why);
/* c= value. 0 or EBADMSG. */
int sdp_conn_decode(struct sdp_conn *c, const struct pl *val, const char **why);
/* o= value. 0 or EBADMSG. */
int sdp_origin_decode(struct sdp_origin *o, const struct pl *val,
		      const char **why);
/* Next token of *rest separated by SP/HTAB runs; false at the end. */
bool sdp_tok(struct pl *rest, struct pl *tok);
/* First token of an fmtp / rtcp-fb value as a PT; false if not one. */
bool sdp_val_pt(const struct pl *val, uint8_t *pt);
/* How a connection address failed; callers map it to their phrase. */
enum sdp_conn_err {
	SDP_CONN_OK,
	SDP_CONN_E_NETTYPE,
	SDP_CONN_E_AF,
	SDP_CONN_E_IP4,
	SDP_CONN_E_IP6,
	SDP_CONN_E_SUFFIX,
	SDP_CONN_E_COUNT
};

/* "IN <IP4|IP6> <addr>[/suffix]" from three tokens into *c. */
enum sdp_conn_err sdp_conn_fill(struct sdp_conn *c, const struct pl *net,
				const struct pl *at, const struct pl *addr,
				bool allow_suffix);
/* pl without leading and trailing SP/HTAB. */
struct pl sdp_trim_wsp(const struct pl *pl);
/* Split pl at the first c: *head before it, *tail after it (absent when c
   does not occur). */
void sdp_split_at(const struct pl *pl, char c, struct pl *head,
		  struct pl *tail);
/* Attribute id of a name (SDP_A_OTHER if unknown). */
enum sdp_attr_id sdp_attr_id_of(const struct pl *name);
/* Check the values of the attributes a relay relies on (rtpmap, rtcp,
   crypto, fmtp). 0 or EBADMSG. */
int sdp_attr_check(const struct sdp_line *ln, const char **why);
/* m is SDP_SESSION or a media index of sdp. */
static inline bool
sdp_level_ok(const struct sdp *sdp, int m)
{
	return m == SDP_SESSION || (m >= 0 && (unsigned)m < sdp->nmedia);
}
/* Section number of level m (SDP_SESSION -> 0, media i -> 1 + i). */
static inline uint8_t
sdp_sect_of(int m)
{
	return (uint8_t)(m + 1);
}
/* First line of level m. */
uint16_t sdp_sect_first(const struct sdp *sdp, int m);

#endif
