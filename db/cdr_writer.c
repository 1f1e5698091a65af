/* The CDR writer: cdr_submit() from any thread into a queue of encoded
   frames, and the spool thread that appends them to the spool segment
   (write-ahead: every record is on disk before it goes to PostgreSQL),
   fdatasync at most fsync_ms later, rotating segments. */
#define LOG_MODULE "cdr"
#include "db/cdr_int.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "stack/log.h"

uint64_t
cdr_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

void
cdr_cond_wait_until(struct cdr_writer *w, pthread_cond_t *cv, uint64_t due)
{
	struct timespec ts;

	ts.tv_sec = (time_t)(due / 1000);
	ts.tv_nsec = (long)(due % 1000) * 1000000L;
	pthread_cond_timedwait(cv, &w->lock, &ts);
}

int
cdr_submit(struct cdr_writer *w, const struct cdr_rec *r)
{
	uint8_t f[CDR_FRAME_MAX];
	struct cdr_rec tmp;
	bool wake = false;
	size_t n;
	int err = 0;

	if (!w || !r || (unsigned)r->disp >= CDR_D_COUNT ||
	    (unsigned)r->hangup >= CDR_H_COUNT)
		return EINVAL;
	if (!r->node[0]) {
		tmp = *r;
		cdr_strset(tmp.node, sizeof(tmp.node), w->node);
		r = &tmp;
	}
	n = cdr_frame_encode(r, f);
	pthread_mutex_lock(&w->lock);
	if (w->stopping)
		err = ESHUTDOWN;
	else if (w->q_n + w->out_n >= w->cfg.queue_max ||
		 cdr_buf_need(&w->q, n))
		err = ENOMEM;
	if (!err) {
		memcpy(w->q.p + w->q.len, f, n);
		w->q.len += n;
		wake = w->q_n++ == 0;
		w->st.submitted++;
	}
	pthread_mutex_unlock(&w->lock);
	if (wake)
		pthread_cond_signal(&w->wake_spool);
	return err;
}

/* Start the next segment once this one is full; on failure keep
   appending to the old one and try again after the next write. */
static void
rotate(struct cdr_writer *w)
{
	int fd, err = cdr_seg_create(w->dir, w->live_seg + 1, &fd);

	if (err) {
		LOG_ERR("spool %s: new segment: %s", w->dir, strerror(err));
		return;
	}
	if (fdatasync(w->seg_fd) != 0)
		LOG_ERR("spool %s: fdatasync: %s", w->dir, strerror(errno));
	close(w->seg_fd);
	w->seg_fd = fd;
	w->seg_len = 0;
	pthread_mutex_lock(&w->lock);
	w->live_seg++;
	w->live_len = 0;
	pthread_mutex_unlock(&w->lock);
	pthread_cond_broadcast(&w->wake_db);
}

/* Append w->out; on a short write cut the file back to whole frames so
   a later append never follows a partial frame. */
static int
spool_write(struct cdr_writer *w, bool quiet)
{
	size_t done = 0;
	ssize_t k;
	int err = 0;

	while (done < w->out.len) {
		k = write(w->seg_fd, w->out.p + done, w->out.len - done);
		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0) {
			err = k < 0 ? errno : EIO;
			break;
		}
		done += (size_t)k;
	}
	if (err) {
		if (done && ftruncate(w->seg_fd, (off_t)w->seg_len) != 0)
			LOG_ERR("spool %s: ftruncate: %s", w->dir,
				strerror(errno));
		if (!quiet)
			LOG_ERR("spool %s: write: %s (retrying every 200 ms)",
				w->dir, strerror(err));
		pthread_mutex_lock(&w->lock);
		w->st.spool_errors++;
		pthread_mutex_unlock(&w->lock);
		return err;
	}
	w->seg_len += w->out.len;
	pthread_mutex_lock(&w->lock);
	w->live_len = w->seg_len;
	w->bytes_in += w->out.len;
	w->st.spooled += w->out_n;
	w->out_n = 0;
	pthread_mutex_unlock(&w->lock);
	pthread_cond_broadcast(&w->wake_db);
	w->out.len = 0;
	if (w->seg_len >= (uint64_t)w->cfg.segment_kb * 1024)
		rotate(w);
	return 0;
}

/* With the lock held: move the queue to out (swap if out is empty, the
   usual case; append after a failed write). */
static void
take_queue(struct cdr_writer *w)
{
	struct cdr_buf t;

	if (!w->q_n)
		return;
	if (!w->out.len) {
		t = w->out;
		w->out = w->q;
		w->q = t;
	} else if (!cdr_buf_need(&w->out, w->q.len)) {
		memcpy(w->out.p + w->out.len, w->q.p, w->q.len);
		w->out.len += w->q.len;
	} else {
		return; /* no memory: leave it queued */
	}
	w->q.len = 0;
	w->out_n += w->q_n;
	w->q_n = 0;
}

static void
do_sync(struct cdr_writer *w)
{
	if (fdatasync(w->seg_fd) != 0)
		LOG_ERR("spool %s: fdatasync: %s", w->dir, strerror(errno));
}

static void *
spool_main(void *arg)
{
	struct cdr_writer *w = arg;
	uint64_t due = 0; /* fdatasync due at (0: nothing unsynced) */
	unsigned fails = 0;
	bool stop;

	pthread_mutex_lock(&w->lock);
	for (;;) {
		while (!w->q_n && !w->out.len && !w->stopping &&
		       !(due && cdr_now_ms() >= due))
			if (due)
				cdr_cond_wait_until(w, &w->wake_spool, due);
			else
				pthread_cond_wait(&w->wake_spool, &w->lock);
		take_queue(w);
		stop = w->stopping;
		pthread_mutex_unlock(&w->lock);
		if (w->out.len && !spool_write(w, fails > 0)) {
			if (fails)
				LOG_INFO("spool %s: writing again", w->dir);
			fails = 0;
			if (!due)
				due = cdr_now_ms() + w->cfg.fsync_ms;
		} else if (w->out.len) {
			fails++;
		}
		if (due && (stop || cdr_now_ms() >= due)) {
			do_sync(w);
			due = 0;
		}
		pthread_mutex_lock(&w->lock);
		if (w->out.len && stop && fails >= 10) {
			LOG_ERR("spool %s: %llu CDR(s) could not be written",
				w->dir, (unsigned long long)w->out_n);
			break;
		}
		if (w->out.len) /* a failed write: retry in 200 ms */
			cdr_cond_wait_until(w, &w->wake_spool,
					    cdr_now_ms() + 200);
		if (stop && !w->q_n && !w->out.len && !due)
			break;
	}
	w->spool_done = true;
	pthread_mutex_unlock(&w->lock);
	pthread_cond_broadcast(&w->wake_db);
	return NULL;
}

/* Size of segment seg, 0 if it cannot be read. */
static uint64_t
seg_size(const char *dir, uint64_t seg)
{
	char path[4200];
	struct stat sb;

	cdr_seg_path(path, sizeof(path), dir, seg);
	return stat(path, &sb) == 0 ? (uint64_t)sb.st_size : 0;
}

/*
 * Find where the previous run stopped: the checkpoint (or, without a
 * readable one, the oldest segment), drop segments wholly committed, and
 * count what is left to replay. The new run appends to a fresh segment
 * after every existing one, so a checkpoint beyond a segment's end (its
 * tail lost in an OS crash) can never skip new records.
 */
static int
spool_open(struct cdr_writer *w)
{
	uint64_t *segs = NULL, last = 0, left = 0, sz;
	char path[4200];
	size_t n, i;
	int err = cdr_spool_list(w->dir, &segs, &n);

	if (err)
		return err;
	err = cdr_ckpt_read(w->dir, &w->rd);
	if (err) {
		if (err != ENOENT)
			LOG_WARN("spool %s: checkpoint unreadable (%s): "
				 "replaying every segment",
				 w->dir, strerror(err));
		w->rd.seg = n ? segs[0] : 1;
		w->rd.off = 0;
	}
	for (i = 0; i < n; i++) {
		last = segs[i];
		if (segs[i] < w->rd.seg) {
			cdr_seg_path(path, sizeof(path), w->dir, segs[i]);
			unlink(path);
			continue;
		}
		sz = seg_size(w->dir, segs[i]);
		if (segs[i] == w->rd.seg)
			sz = sz > w->rd.off ? sz - w->rd.off : 0;
		left += sz;
	}
	free(segs);
	if (w->rd.seg > last) { /* its file is gone (or none yet) */
		w->rd.off = 0;
		w->live_seg = w->rd.seg;
	} else {
		w->live_seg = last + 1;
	}
	w->first_seg = w->live_seg;
	w->bytes_in = left;
	if (left)
		LOG_INFO("spool %s: %llu byte(s) left by the previous run "
			 "to replay",
			 w->dir, (unsigned long long)left);
	err = cdr_seg_create(w->dir, w->live_seg, &w->seg_fd);
	if (!err)
		err = cdr_ckpt_open(w->dir, &w->ckpt_fd);
	if (!err)
		err = cdr_ckpt_write(w->ckpt_fd, &w->rd);
	return err;
}

static void
writer_free(struct cdr_writer *w)
{
	if (w->seg_fd >= 0)
		close(w->seg_fd);
	if (w->ckpt_fd >= 0)
		close(w->ckpt_fd);
	if (w->rd_fd >= 0)
		close(w->rd_fd);
	if (w->lock_fd >= 0)
		close(w->lock_fd);
	pthread_cond_destroy(&w->wake_spool);
	pthread_cond_destroy(&w->wake_db);
	pthread_mutex_destroy(&w->lock);
	free(w->q.p);
	free(w->out.p);
	free(w->rbuf);
	free(w->recs);
	free(w->dsn);
	free(w->dir);
	free(w->node);
	free(w);
}

static void
set_defaults(struct cdr_cfg *c)
{
	c->batch_max = c->batch_max ? c->batch_max : 1000;
	c->queue_max = c->queue_max ? c->queue_max : 100000;
	c->backoff_min_ms = c->backoff_min_ms ? c->backoff_min_ms : 100;
	c->backoff_max_ms = c->backoff_max_ms ? c->backoff_max_ms : 5000;
	c->segment_kb = c->segment_kb ? c->segment_kb : 16384;
	c->stop_timeout_ms = c->stop_timeout_ms ? c->stop_timeout_ms : 10000;
}

/* Allocate w with its copies, buffers and synchronisation. */
static int
writer_alloc(struct cdr_writer **wp, const struct cdr_cfg *cfg)
{
	struct cdr_writer *w = calloc(1, sizeof(*w));
	pthread_condattr_t ca;

	if (!w)
		return ENOMEM;
	w->seg_fd = w->ckpt_fd = w->rd_fd = w->lock_fd = -1;
	w->cfg = *cfg;
	set_defaults(&w->cfg);
	pthread_mutex_init(&w->lock, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&w->wake_spool, &ca);
	pthread_cond_init(&w->wake_db, &ca);
	pthread_condattr_destroy(&ca);
	w->dsn = strdup(cfg->dsn);
	w->dir = strdup(cfg->spool_dir);
	w->node = strdup(cfg->node ? cfg->node : "");
	w->rcap = (size_t)w->cfg.batch_max * 1024 + 4 * CDR_FRAME_MAX;
	w->rbuf = malloc(w->rcap);
	w->recs = calloc(w->cfg.batch_max, sizeof(*w->recs));
	*wp = w;
	if (!w->dsn || !w->dir || !w->node || !w->rbuf || !w->recs)
		return ENOMEM;
	w->cfg.dsn = w->dsn;
	w->cfg.spool_dir = w->dir;
	w->cfg.node = w->node;
	return 0;
}

int
cdr_writer_start(struct cdr_writer **wp, const struct cdr_cfg *cfg)
{
	struct cdr_writer *w = NULL;
	int err;

	if (!wp || !cfg || !cfg->dsn || !cfg->spool_dir || !cfg->spool_dir[0])
		return EINVAL;
	err = writer_alloc(&w, cfg);
	if (!err)
		err = cdr_spool_lock(w->dir, &w->lock_fd);
	if (!err)
		err = spool_open(w);
	if (!err)
		err = pthread_create(&w->spool_thr, NULL, spool_main, w);
	if (err)
		goto out;
	err = pthread_create(&w->db_thr, NULL, cdr_db_main, w);
	if (err) {
		pthread_mutex_lock(&w->lock);
		w->stopping = true;
		pthread_mutex_unlock(&w->lock);
		pthread_cond_signal(&w->wake_spool);
		pthread_join(w->spool_thr, NULL);
	}
out:
	if (err) {
		if (w)
			writer_free(w);
		return err;
	}
	*wp = w;
	return 0;
}

void
cdr_writer_stop(struct cdr_writer *w)
{
	if (!w)
		return;
	pthread_mutex_lock(&w->lock);
	w->stopping = true;
	w->stop_deadline = cdr_now_ms() + w->cfg.stop_timeout_ms;
	pthread_mutex_unlock(&w->lock);
	pthread_cond_broadcast(&w->wake_spool);
	pthread_cond_broadcast(&w->wake_db);
	pthread_join(w->spool_thr, NULL);
	pthread_join(w->db_thr, NULL);
	if (w->bytes_in > w->bytes_done)
		LOG_WARN("spool %s: %llu byte(s) left for the next start",
			 w->dir,
			 (unsigned long long)(w->bytes_in - w->bytes_done));
	writer_free(w);
}

void
cdr_writer_stats(struct cdr_writer *w, struct cdr_stats *st)
{
	pthread_mutex_lock(&w->lock);
	*st = w->st;
	st->queue = w->q_n + w->out_n;
	st->spool_bytes = w->bytes_in - w->bytes_done;
	pthread_mutex_unlock(&w->lock);
}
