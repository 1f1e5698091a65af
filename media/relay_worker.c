/* Media workers: one thread and event_base each, a lock-free
   multi-producer command list woken through an eventfd
   (../shared/ARCHITECTURE.md "Media workers"). */
#define LOG_MODULE "relay"

#include <errno.h>
#include <event2/event.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "relay_int.h"
#include "stack/log.h"
#include "stack/mem.h"

void
relay_core_put(struct relay_core *core)
{
	if (core && atomic_fetch_sub(&core->shares, 1) == 1)
		mem_deref(core);
}

/*
 * Producers push on a LIFO list with a CAS; the one that finds the list
 * empty writes the eventfd. The worker reads the eventfd BEFORE taking
 * the list, so a push it did not take always has a write pending.
 */
void
relay_worker_post(struct relay_worker *w, struct relay_cmd *cmd)
{
	struct relay_cmd *head = atomic_load(&w->cmds);
	uint64_t one = 1;

	do {
		cmd->next = head;
	} while (!atomic_compare_exchange_weak(&w->cmds, &head, cmd));
	if (!head && write(w->efd, &one, sizeof(one)) < 0 && errno != EAGAIN)
		LOG_WARN("eventfd write: %s", strerror(errno));
}

/* A stream's sockets closed and its ports back in the range (it stays
   marked open: the caller says what it is now). */
static void
socks_close(struct relay_stream *st)
{
	unsigned k;

	for (k = 0; k < RELAY_SK_COUNT; k++) {
		if (st->sock[k].ev)
			event_free(st->sock[k].ev);
		st->sock[k].ev = NULL;
		if (st->sock[k].fd >= 0)
			close(st->sock[k].fd);
		st->sock[k].fd = -1;
	}
	if (st->open)
		relay_ports_give(st->core->ctx, st->port);
}

/* A stream over: sockets, ports, transform and PT map gone. */
static void
stream_close(struct relay_stream *st)
{
	socks_close(st);
	st->open = false;
	st->xf = mem_deref(st->xf);
	free(st->ptmap);
	st->ptmap = NULL;
}

/* New keys for a stream: the transform is built here, on the worker that
   uses it (libsrtp sessions are not shared between threads). */
static void
cmd_srtp(struct relay_cmd *cmd)
{
	struct relay_stream *st = &cmd->core->s[cmd->leg][cmd->idx];
	struct sec_xform *x = NULL;
	int err = 0;

	if (cmd->has_key[0] || cmd->has_key[1])
		err = sec_xform_alloc(&x, cmd->has_key[0] ? &cmd->key[0] : NULL,
				      cmd->has_key[1] ? &cmd->key[1] : NULL);
	if (err) {
		/* a peer we cannot decrypt for gets nothing rather than
		   undecryptable packets: drop this direction */
		LOGP_ERR(cmd->core->pfx, "leg %c stream %u: SRTP: %s",
			 'A' + cmd->leg, cmd->idx, strerror(err));
	}
	mem_deref(st->xf);
	st->xf = x;
	st->srtp_fail = err != 0;
	RELAY_SET(st->st.srtp_in, cmd->has_key[0]);
	RELAY_SET(st->st.srtp_out, cmd->has_key[1]);
}

static void
core_close(struct relay_worker *w, struct relay_core *core)
{
	unsigned l, i;

	for (l = 0; l < RELAY_LEG_COUNT; l++) {
		for (i = 0; i < RELAY_MAX_STREAMS; i++)
			stream_close(&core->s[l][i]);
	}
	if (core->listed) {
		if (core->prev)
			core->prev->next = core->next;
		else
			w->list = core->next;
		if (core->next)
			core->next->prev = core->prev;
		core->listed = false;
	}
	atomic_fetch_sub(&core->ctx->sessions, 1);
	relay_core_put(core);
}

static void
cmd_open(struct relay_worker *w, struct relay_cmd *cmd)
{
	struct relay_stream *st = &cmd->core->s[cmd->leg][cmd->idx];
	unsigned k;

	/* open already: relay_sess_local_ip() moves the stream to new
	   sockets; its remote, transform and counters stay */
	socks_close(st);
	st->port = cmd->port;
	st->open = true;
	for (k = 0; k < RELAY_SK_COUNT; k++) {
		st->sock[k].fd = cmd->fd[k];
		cmd->fd[k] = -1;
		st->sock[k].ev =
			event_new(w->base, st->sock[k].fd, EV_READ | EV_PERSIST,
				  relay_fwd_read, &st->sock[k]);
		if (!st->sock[k].ev || event_add(st->sock[k].ev, NULL))
			LOGP_ERR(cmd->core->pfx, "stream %u: no event", k);
	}
	RELAY_SET(st->st.last_ms, relay_now_ms());
}

static void
cmd_run(struct relay_worker *w, struct relay_cmd *cmd)
{
	struct relay_core *core = cmd->core;

	switch (cmd->type) {
	case RELAY_CMD_CREATE:
		core->next = w->list;
		if (w->list)
			w->list->prev = core;
		w->list = core;
		core->listed = true;
		break;
	case RELAY_CMD_OPEN:
		cmd_open(w, cmd);
		break;
	case RELAY_CMD_REMOTE:
		relay_fwd_remote(&core->s[cmd->leg][cmd->idx], &cmd->rem,
				 relay_now_ms());
		break;
	case RELAY_CMD_SRTP:
		cmd_srtp(cmd);
		break;
	case RELAY_CMD_PTMAP:
		free(core->s[cmd->leg][cmd->idx].ptmap);
		core->s[cmd->leg][cmd->idx].ptmap = cmd->ptmap;
		cmd->ptmap = NULL;
		break;
	case RELAY_CMD_CLOSE:
		core_close(w, core);
		break;
	case RELAY_CMD_SYNC:
		pthread_mutex_lock(&cmd->sync->mtx);
		cmd->sync->pending--;
		pthread_cond_broadcast(&cmd->sync->cond);
		pthread_mutex_unlock(&cmd->sync->mtx);
		break;
	case RELAY_CMD_STOP:
		event_base_loopbreak(w->base);
		break;
	}
}

static void
cmd_free(struct relay_cmd *cmd)
{
	unsigned k;

	for (k = 0; cmd->type == RELAY_CMD_OPEN && k < RELAY_SK_COUNT; k++) {
		if (cmd->fd[k] >= 0)
			close(cmd->fd[k]);
	}
	free(cmd->ptmap);
	if (cmd->type == RELAY_CMD_SRTP) {
		sec_key_wipe(&cmd->key[0]);
		sec_key_wipe(&cmd->key[1]);
	}
	free(cmd);
}

/* Take every queued command, oldest first. */
static void
cmds_drain(struct relay_worker *w)
{
	struct relay_cmd *list = atomic_exchange(&w->cmds, NULL), *rev = NULL;

	while (list) {
		struct relay_cmd *next = list->next;

		list->next = rev;
		rev = list;
		list = next;
	}
	while (rev) {
		struct relay_cmd *next = rev->next;

		cmd_run(w, rev);
		RELAY_INC(w->ncmds, 1);
		cmd_free(rev);
		rev = next;
	}
}

static void
on_wake(evutil_socket_t fd, short what, void *arg)
{
	struct relay_worker *w = arg;
	uint64_t v;

	if (read(fd, &v, sizeof(v)) < 0 && errno != EAGAIN)
		LOG_WARN("eventfd read: %s", strerror(errno));
	cmds_drain(w);
}

static void *
worker_main(void *arg)
{
	struct relay_worker *w = arg;

	event_base_dispatch(w->base);
	return NULL;
}

static void
buffers_init(struct relay_worker *w)
{
	unsigned i;

	for (i = 0; i < RELAY_BATCH_MAX; i++) {
		w->rxiov[i].iov_base = w->buf + (size_t)i * RELAY_SLOT;
		w->rxiov[i].iov_len = RELAY_SLOT - RELAY_SLOT_SPARE;
		w->rx[i].msg_hdr.msg_iov = &w->rxiov[i];
		w->rx[i].msg_hdr.msg_iovlen = 1;
		w->rx[i].msg_hdr.msg_name = &w->src[i];
	}
}

int
relay_worker_start(struct relay_worker *w)
{
	int err;

	w->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (w->efd < 0)
		return errno;
	w->buf = malloc((size_t)RELAY_BATCH_MAX * RELAY_SLOT);
	w->base = event_base_new();
	if (!w->buf || !w->base)
		return ENOMEM;
	buffers_init(w);
	w->batch = w->ctx->conf.batch;
	w->wake_ev =
		event_new(w->base, w->efd, EV_READ | EV_PERSIST, on_wake, w);
	if (!w->wake_ev || event_add(w->wake_ev, NULL))
		return ENOMEM;
	err = pthread_create(&w->th, NULL, worker_main, w);
	if (err)
		return err;
	w->started = true;
	return 0;
}

/* Stop the thread, then (on the caller's thread, the worker is gone)
   close what it still holds and free what is queued. */
void
relay_worker_stop(struct relay_worker *w)
{
	struct relay_cmd *stop;

	if (w->started) {
		stop = calloc(1, sizeof(*stop));
		if (stop) {
			stop->type = RELAY_CMD_STOP;
			relay_worker_post(w, stop);
		}
		pthread_join(w->th, NULL);
		w->started = false;
	}
	if (w->base)
		cmds_drain(w); /* what came after STOP */
	while (w->list) {
		LOGP_WARN(w->list->pfx, "session still open at shutdown");
		atomic_store(&w->list->orphan, true);
		core_close(w, w->list);
	}
	if (w->wake_ev)
		event_free(w->wake_ev);
	if (w->base)
		event_base_free(w->base);
	if (w->efd > 0)
		close(w->efd);
	free(w->buf);
}
