/* Relay session handles: the signaling side of a session; every change
   goes to the owning media worker as a command. */
#define LOG_MODULE "relay"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "relay_int.h"
#include "stack/log.h"
#include "stack/mem.h"

static struct relay_cmd *
cmd_new(struct relay_sess *sess, enum relay_cmd_type type)
{
	struct relay_cmd *cmd = calloc(1, sizeof(*cmd));

	if (!cmd)
		return NULL;
	cmd->type = type;
	cmd->core = sess->core;
	cmd->fd[0] = cmd->fd[1] = -1;
	return cmd;
}

/* The handle goes: the worker closes the session and drops its share.
   Without memory for the command (or if the create never reached the
   worker) the share is dropped here. */
static void
sess_destroy(void *obj)
{
	struct relay_sess *sess = obj;
	struct relay_cmd *cmd;

	if (!sess->core)
		return;
	if (atomic_load(&sess->core->orphan)) {
		relay_core_put(sess->core);
		return;
	}
	cmd = cmd_new(sess, RELAY_CMD_CLOSE);
	if (cmd)
		relay_worker_post(sess->core->w, cmd);
	else
		LOGP_ERR(sess->core->pfx, "no memory to close: ports leak");
	relay_core_put(sess->core);
}

/* FNV-1a: spreads Call-IDs over the workers. */
static unsigned
callid_hash(const char *s)
{
	uint32_t h = 2166136261u;

	for (; *s; s++)
		h = (h ^ (uint8_t)*s) * 16777619u;
	return h;
}

static struct relay_core *
core_new(struct relay_ctx *ctx, const char *callid)
{
	struct relay_core *core = mem_zalloc(sizeof(*core), NULL);
	unsigned l, i, k;

	if (!core)
		return NULL;
	atomic_init(&core->shares, 2); /* handle + worker */
	core->ctx = ctx;
	core->w = &ctx->w[callid_hash(callid) % ctx->nw];
	snprintf(core->pfx, sizeof(core->pfx), "[%.63s]", callid);
	for (l = 0; l < RELAY_LEG_COUNT; l++) {
		for (i = 0; i < RELAY_MAX_STREAMS; i++) {
			struct relay_stream *st = &core->s[l][i];

			st->core = core;
			st->leg = (uint8_t)l;
			st->idx = (uint8_t)i;
			for (k = 0; k < RELAY_SK_COUNT; k++) {
				st->sock[k].fd = -1;
				st->sock[k].st = st;
				st->sock[k].k = (enum relay_sk)k;
			}
		}
	}
	return core;
}

int
relay_sess_alloc(struct relay_sess **sessp, struct relay_ctx *ctx,
		 const char *callid)
{
	struct relay_sess *sess;
	struct relay_cmd *cmd;
	int err = ENOMEM;

	if (!sessp || !ctx || !callid)
		return EINVAL;
	sess = mem_zalloc(sizeof(*sess), sess_destroy);
	if (!sess)
		return ENOMEM;
	sess->ctx = ctx;
	sess->core = core_new(ctx, callid);
	if (!sess->core)
		goto out;
	atomic_fetch_add(&ctx->sessions, 1);
	cmd = cmd_new(sess, RELAY_CMD_CREATE);
	if (!cmd) {
		atomic_fetch_sub(&ctx->sessions, 1);
		relay_core_put(sess->core); /* the worker's share */
		goto out;
	}
	relay_worker_post(sess->core->w, cmd);
	err = 0;
out:
	if (err)
		sess = mem_deref(sess);
	*sessp = sess;
	return err;
}

struct relay_sess *
relay_sess_close(struct relay_sess *sess)
{
	return mem_deref(sess);
}

/* Should the peer be sending (so silence is a timeout)? */
static bool
dir_sends_sig(enum relay_dir d)
{
	return d == RELAY_DIR_SENDRECV || d == RELAY_DIR_SENDONLY;
}

static bool
idx_ok(const struct relay_sess *sess, enum relay_leg leg, unsigned idx)
{
	return sess && (unsigned)leg < RELAY_LEG_COUNT &&
	       idx < RELAY_MAX_STREAMS;
}

int
relay_stream_open(struct relay_sess *sess, enum relay_leg leg, unsigned idx,
		  uint16_t *portp)
{
	struct relay_cmd *cmd;
	int err;

	if (!idx_ok(sess, leg, idx) || !portp)
		return EINVAL;
	if (sess->port[leg][idx]) {
		*portp = sess->port[leg][idx];
		return 0;
	}
	cmd = cmd_new(sess, RELAY_CMD_OPEN);
	if (!cmd)
		return ENOMEM;
	err = relay_ports_take(sess->ctx, leg,
			       sess->lip_set[leg] ? &sess->lip[leg] : NULL,
			       sess->lip_len[leg], &cmd->port, cmd->fd);
	if (err) {
		free(cmd);
		return err;
	}
	cmd->leg = (uint8_t)leg;
	cmd->idx = (uint8_t)idx;
	sess->port[leg][idx] = cmd->port;
	*portp = cmd->port;
	relay_worker_post(sess->core->w, cmd);
	return 0;
}

int
relay_sess_local_ip(struct relay_sess *sess, enum relay_leg leg, const char *ip)
{
	union relay_sa ss;
	socklen_t len = 0;
	const char *cur;
	unsigned i;
	int err = 0;

	if (!sess || (unsigned)leg >= RELAY_LEG_COUNT)
		return EINVAL;
	cur = relay_sess_ip(sess, leg);
	if (!ip || !*ip)
		ip = relay_ctx_local_ip(sess->ctx, leg);
	if (cur && !strcmp(cur, ip))
		return 0;
	if (strlen(ip) >= RELAY_IP_LEN || relay_sa_set(&ss, &len, ip, 0))
		return EINVAL;
	sess->lip[leg] = ss;
	sess->lip_len[leg] = len;
	strcpy(sess->lip_str[leg], ip);
	sess->lip_set[leg] = true;
	/* streams already open move: new sockets on the new address (the
	   worker swaps them in, keeping the stream's state) */
	for (i = 0; !err && i < RELAY_MAX_STREAMS; i++) {
		struct relay_cmd *cmd;

		if (!sess->port[leg][i])
			continue;
		cmd = cmd_new(sess, RELAY_CMD_OPEN);
		if (!cmd)
			return ENOMEM;
		err = relay_ports_take(sess->ctx, leg, &sess->lip[leg],
				       sess->lip_len[leg], &cmd->port, cmd->fd);
		if (err) {
			free(cmd);
			break;
		}
		cmd->leg = (uint8_t)leg;
		cmd->idx = (uint8_t)i;
		sess->port[leg][i] = cmd->port;
		relay_worker_post(sess->core->w, cmd);
	}
	return err;
}

const char *
relay_sess_ip(const struct relay_sess *sess, enum relay_leg leg)
{
	if (!sess || (unsigned)leg >= RELAY_LEG_COUNT)
		return NULL;
	return sess->lip_set[leg] ? sess->lip_str[leg]
				  : relay_ctx_local_ip(sess->ctx, leg);
}

int
relay_stream_remote(struct relay_sess *sess, enum relay_leg leg, unsigned idx,
		    const struct relay_remote *r)
{
	union relay_sa ss;
	struct relay_cmd *cmd;
	socklen_t len;

	if (!idx_ok(sess, leg, idx) || !r || !sess->port[leg][idx] ||
	    !memchr(r->ip, '\0', sizeof(r->ip)) ||
	    (unsigned)r->dir > RELAY_DIR_INACTIVE ||
	    relay_sa_set(&ss, &len, r->ip, 0))
		return EINVAL;
	cmd = cmd_new(sess, RELAY_CMD_REMOTE);
	if (!cmd)
		return ENOMEM;
	cmd->leg = (uint8_t)leg;
	cmd->idx = (uint8_t)idx;
	cmd->rem = *r;
	sess->have_rem[leg][idx] = r->rtp_port != 0;
	sess->dir[leg][idx] = r->dir;
	relay_worker_post(sess->core->w, cmd);
	return 0;
}

int
relay_stream_srtp(struct relay_sess *sess, enum relay_leg leg, unsigned idx,
		  const struct sec_key *in, const struct sec_key *out)
{
	struct relay_cmd *cmd;

	if (!idx_ok(sess, leg, idx) || !sess->port[leg][idx] ||
	    (in && in->len != sec_suite_key_len(in->suite)) ||
	    (out && out->len != sec_suite_key_len(out->suite)))
		return EINVAL;
	cmd = cmd_new(sess, RELAY_CMD_SRTP);
	if (!cmd)
		return ENOMEM;
	cmd->leg = (uint8_t)leg;
	cmd->idx = (uint8_t)idx;
	if (in) {
		cmd->key[0] = *in;
		cmd->has_key[0] = true;
	}
	if (out) {
		cmd->key[1] = *out;
		cmd->has_key[1] = true;
	}
	relay_worker_post(sess->core->w, cmd);
	return 0;
}

int
relay_stream_ptmap(struct relay_sess *sess, enum relay_leg leg, unsigned idx,
		   const uint8_t *map)
{
	struct relay_cmd *cmd;
	unsigned i;

	if (!idx_ok(sess, leg, idx) || !sess->port[leg][idx])
		return EINVAL;
	for (i = 0; map && i < 128; i++)
		if (map[i] > 127)
			return EINVAL;
	cmd = cmd_new(sess, RELAY_CMD_PTMAP);
	if (!cmd)
		return ENOMEM;
	cmd->leg = (uint8_t)leg;
	cmd->idx = (uint8_t)idx;
	for (i = 0; map && i < 128 && map[i] == i; i++)
		;
	if (map && i < 128) { /* not the identity */
		cmd->ptmap = malloc(128);
		if (!cmd->ptmap) {
			free(cmd);
			return ENOMEM;
		}
		memcpy(cmd->ptmap, map, 128);
	}
	relay_worker_post(sess->core->w, cmd);
	return 0;
}

struct relay_ctx *
relay_sess_ctx(const struct relay_sess *sess)
{
	return sess ? sess->ctx : NULL;
}

uint16_t
relay_stream_port(const struct relay_sess *sess, enum relay_leg leg,
		  unsigned idx)
{
	return idx_ok(sess, leg, idx) ? sess->port[leg][idx] : 0;
}

int
relay_stream_stats(const struct relay_sess *sess, enum relay_leg leg,
		   unsigned idx, struct relay_stats *out)
{
	const struct relay_astats *a;
	uint64_t now = relay_now_ms(), last;
	enum relay_dir dir;

	if (!idx_ok(sess, leg, idx) || !out)
		return EINVAL;
	a = &sess->core->s[leg][idx].st;
	memset(out, 0, sizeof(*out));
	out->packets = RELAY_GET(a->packets);
	out->bytes = RELAY_GET(a->bytes);
	out->rtcp = RELAY_GET(a->rtcp);
	out->forwarded = RELAY_GET(a->forwarded);
	out->drop_source = RELAY_GET(a->drop_source);
	out->drop_noremote = RELAY_GET(a->drop_noremote);
	out->drop_hold = RELAY_GET(a->drop_hold);
	out->drop_send = RELAY_GET(a->drop_send);
	out->drop_big = RELAY_GET(a->drop_big);
	out->malformed = RELAY_GET(a->malformed);
	out->relatched = RELAY_GET(a->relatched);
	out->drop_srtp = RELAY_GET(a->drop_srtp);
	out->peer_reports = RELAY_GET(a->peer_reports);
	out->peer_fraction = (uint8_t)RELAY_GET(a->peer_fraction);
	out->peer_lost = RELAY_GET(a->peer_lost);
	out->peer_jitter_us = RELAY_GET(a->peer_jitter_us);
	out->srtp_in = RELAY_GET(a->srtp_in);
	out->srtp_out = RELAY_GET(a->srtp_out);
	out->lost = RELAY_GET(a->lost);
	out->jitter = RELAY_GET(a->jitter);
	out->jitter_us = RELAY_GET(a->jitter_us);
	out->latched = RELAY_GET(a->latched);
	last = RELAY_GET(a->last_ms);
	out->idle_ms = last && now > last ? now - last : 0;
	dir = sess->dir[leg][idx];
	out->timed_out = sess->have_rem[leg][idx] && dir_sends_sig(dir) &&
			 out->idle_ms >= sess->ctx->conf.rtp_timeout_ms;
	return 0;
}
