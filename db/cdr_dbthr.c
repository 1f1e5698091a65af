/* The CDR database thread: reads the spool in order from the checkpoint
   (a previous run's segments first, then the live one as it grows),
   inserts batches, advances the checkpoint and drops finished segments.
   Corrupt or torn spool data is skipped with a log line. */
#define LOG_MODULE "cdr"
#include "db/cdr_int.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "stack/log.h"

/* What one read of the spool found, applied to the stats on commit. */
struct batch {
	size_t n;	   /* records in w->recs */
	uint64_t next_off; /* cursor after them (and skipped bytes) */
	uint64_t corrupt;  /* corrupt regions that ended in this batch */
	uint64_t torn;	   /* torn tail skipped (0 or 1) */
	bool bad;	   /* still inside a corrupt region at next_off */
	uint64_t bad_off;
	uint64_t c_from, c_to; /* the last corrupt region that ended */
	uint64_t t_from;       /* where the torn tail began */
};

static void
save_ckpt(struct cdr_writer *w)
{
	int err = cdr_ckpt_write(w->ckpt_fd, &w->rd);

	if (err)
		LOG_ERR("spool %s: checkpoint: %s", w->dir, strerror(err));
}

/* Everything in rd.seg is committed: move to the next segment, record
   that, then delete the old file (in this order: a crash in between
   leaves a file the next start deletes). */
static void
next_seg(struct cdr_writer *w)
{
	char path[4200];
	uint64_t old = w->rd.seg;

	if (w->rd_fd >= 0)
		close(w->rd_fd);
	w->rd_fd = -1;
	w->rd.seg++;
	w->rd.off = 0;
	w->bad = false;
	save_ckpt(w);
	cdr_seg_path(path, sizeof(path), w->dir, old);
	unlink(path);
}

/* Say what was skipped: once, when the batch is committed. */
static void
log_skipped(const struct cdr_writer *w, const struct batch *b)
{
	if (b->corrupt)
		LOG_WARN("spool %s: segment %llx: %llu corrupt region(s) "
			 "skipped, the last at %llu..%llu",
			 w->dir, (unsigned long long)w->rd.seg,
			 (unsigned long long)b->corrupt,
			 (unsigned long long)b->c_from,
			 (unsigned long long)b->c_to);
	if (b->torn)
		LOG_WARN("spool %s: segment %llx: torn tail at %llu "
			 "(%llu byte(s)) skipped",
			 w->dir, (unsigned long long)w->rd.seg,
			 (unsigned long long)b->t_from,
			 (unsigned long long)(b->next_off - b->t_from));
}

/* Advance the cursor over a read batch whose n records are committed
   (inserted of them new, rejected refused), and count. */
static void
commit(struct cdr_writer *w, const struct batch *b, uint64_t inserted,
       uint64_t rejected)
{
	uint64_t adv = b->next_off - w->rd.off;

	log_skipped(w, b);
	w->rd.off = b->next_off;
	w->bad = b->bad;
	w->bad_off = b->bad_off;
	save_ckpt(w);
	pthread_mutex_lock(&w->lock);
	w->st.written += inserted;
	w->st.rejected += rejected;
	w->st.dup_skipped += b->n - inserted - rejected;
	if (w->rd.seg < w->first_seg)
		w->st.replayed += b->n;
	w->st.corrupt_skipped += b->corrupt;
	w->st.torn_skipped += b->torn;
	w->st.batches += b->n && !rejected;
	w->bytes_done += adv;
	pthread_mutex_unlock(&w->lock);
}

/* Parse up to lim frames of rbuf[0..len) read at w->rd.off; eof: the
   segment is finished and rbuf reaches its end. */
static void
parse(struct cdr_writer *w, size_t len, bool eof, size_t lim, struct batch *b)
{
	enum cdr_frame_res res;
	size_t pos = 0, used;

	memset(b, 0, sizeof(*b));
	b->bad = w->bad;
	b->bad_off = w->bad_off;
	while (b->n < lim && pos < len) {
		res = cdr_frame_next(w->rbuf + pos, len - pos, &w->recs[b->n],
				     &used);
		if (res == CDR_F_SHORT)
			break;
		if (res == CDR_F_BAD) {
			if (!b->bad)
				b->bad_off = w->rd.off + pos;
			b->bad = true;
			pos += used;
			continue;
		}
		if (b->bad) {
			b->c_from = b->bad_off;
			b->c_to = w->rd.off + pos;
			b->corrupt++;
			b->bad = false;
		}
		b->n++;
		pos += used;
	}
	/* At the end of a finished segment, an incomplete frame or a corrupt
	   region reaching the end is a torn tail (a write cut short). */
	if (eof && b->n < lim && (pos < len || b->bad)) {
		b->t_from = b->bad ? b->bad_off : w->rd.off + pos;
		b->torn = 1;
		b->bad = false;
		pos = len;
	}
	b->next_off = w->rd.off + pos;
}

/* Open rd.seg for reading if not yet. 0, ENOENT (gone), or an errno. */
static int
open_seg(struct cdr_writer *w)
{
	char path[4200];

	if (w->rd_fd >= 0)
		return 0;
	cdr_seg_path(path, sizeof(path), w->dir, w->rd.seg);
	w->rd_fd = open(path, O_RDONLY | O_CLOEXEC);
	return w->rd_fd < 0 ? errno : 0;
}

/* A record the database refuses is kept, framed like the spool, in
   CDR_REJECTED_FILE for an operator: never silently dropped. */
static void
keep_rejected(struct cdr_writer *w, const struct cdr_rec *r)
{
	uint8_t f[CDR_FRAME_MAX];
	char path[4200];
	size_t n = cdr_frame_encode(r, f);
	int fd;

	snprintf(path, sizeof(path), "%s/%s", w->dir, CDR_REJECTED_FILE);
	fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
	if (fd < 0 || write(fd, f, n) != (ssize_t)n || fdatasync(fd) != 0)
		LOG_ERR("spool %s: %s: %s", w->dir, CDR_REJECTED_FILE,
			strerror(errno));
	if (fd >= 0)
		close(fd);
}

/* Insert the parsed batch and commit the cursor. A batch the database
   refuses as data (not as an outage) is retried one record at a time so
   that only the bad record itself is set aside (in CDR_REJECTED_FILE,
   with an error line). */
static int
insert(struct cdr_writer *w, struct cdr_pg *pg, const struct batch *b)
{
	char err[512], id[CDR_ID_TEXT_SZ];
	uint64_t ins = 0;
	int ret = cdr_pg_insert(pg, w->recs, b->n, w->idem, &ins, err,
				sizeof(err));

	if (ret == EEXIST) /* some are in: the idempotent way */
		ret = cdr_pg_insert(pg, w->recs, b->n, true, &ins, err,
				    sizeof(err));
	/* Stay idempotent after a failure (the outcome is unknown: a COMMIT
	   may have gone through) and while batches find rows already in (a
	   replay of committed records); plain COPY again after a clean one.
	   Only the batch in flight at a crash can be in already, unless the
	   checkpoint was lost. */
	w->idem = ret != 0 || ins < b->n;

	if (ret == EBADMSG && b->n > 1) {
		LOG_WARN("batch of %zu CDR(s) refused (%s): inserting them "
			 "one by one",
			 b->n, err);
		w->single = b->n;
		return 0;
	}
	if (ret == EBADMSG) {
		cdr_id_text(w->recs[0].id, id);
		LOG_ERR("CDR %s refused by the database (%s): moved to %s/%s",
			id, err, w->dir, CDR_REJECTED_FILE);
		keep_rejected(w, &w->recs[0]);
		commit(w, b, 0, 1);
	} else if (ret) {
		LOG_WARN("database: %s", err);
		return EIO;
	} else {
		commit(w, b, ins, 0);
	}
	if (w->single)
		w->single--;
	return 0;
}

/* Open rd.seg and find where its data ends: the published length of the
   live segment, the file size of a finished one. */
static int
seg_avail(struct cdr_writer *w, uint64_t *avail, bool *finished)
{
	struct stat sb;
	int err;

	pthread_mutex_lock(&w->lock);
	*finished = w->rd.seg < w->live_seg;
	*avail = w->live_len;
	pthread_mutex_unlock(&w->lock);
	err = open_seg(w);
	if (!err && *finished) {
		if (fstat(w->rd_fd, &sb) != 0)
			return errno;
		*avail = (uint64_t)sb.st_size;
	}
	return err;
}

/*
 * One step of the cursor: read what is there, insert, commit. Returns 0
 * after progress, EAGAIN when caught up with what the spool thread has
 * published, ETIMEDOUT when the spool cannot be read (wait and retry),
 * EIO when the database connection failed.
 */
static int
step(struct cdr_writer *w, struct cdr_pg *pg)
{
	uint64_t avail;
	struct batch b;
	bool finished;
	ssize_t k;
	int err = seg_avail(w, &avail, &finished);

	if (err == ENOENT && finished) {
		LOG_WARN("spool %s: segment %llx missing, skipped", w->dir,
			 (unsigned long long)w->rd.seg);
		next_seg(w);
		return 0;
	}
	if (err) {
		LOG_ERR("spool %s: segment %llx: %s", w->dir,
			(unsigned long long)w->rd.seg, strerror(err));
		return ETIMEDOUT;
	}
	if (w->rd.off >= avail) {
		if (!finished)
			return EAGAIN;
		if (w->bad) { /* a corrupt region reached the end */
			parse(w, 0, true, 1, &b);
			commit(w, &b, 0, 0);
		}
		next_seg(w);
		return 0;
	}
	k = pread(w->rd_fd, w->rbuf,
		  avail - w->rd.off < w->rcap ? avail - w->rd.off : w->rcap,
		  (off_t)w->rd.off);
	if (k <= 0) {
		LOG_ERR("spool %s: segment %llx: read: %s", w->dir,
			(unsigned long long)w->rd.seg,
			k < 0 ? strerror(errno) : "short");
		return ETIMEDOUT;
	}
	parse(w, (size_t)k, finished && w->rd.off + (uint64_t)k == avail,
	      w->single ? 1 : w->cfg.batch_max, &b);
	if (b.n)
		return insert(w, pg, &b);
	if (b.next_off == w->rd.off) /* cannot happen on whole frames */
		return ETIMEDOUT;
	commit(w, &b, 0, 0); /* only skipped bytes */
	return 0;
}

static void
set_conn(struct cdr_writer *w, int up, bool error)
{
	pthread_mutex_lock(&w->lock);
	w->st.connected = up;
	if (error)
		w->st.db_errors++;
	pthread_mutex_unlock(&w->lock);
}

/* Sleep ms unless stop is asked (then true, at once). */
static bool
backoff_wait(struct cdr_writer *w, uint64_t ms)
{
	uint64_t due = cdr_now_ms() + ms;
	bool stop;

	pthread_mutex_lock(&w->lock);
	while (!w->stopping && cdr_now_ms() < due)
		cdr_cond_wait_until(w, &w->wake_db, due);
	stop = w->stopping;
	pthread_mutex_unlock(&w->lock);
	return stop;
}

/* Caught up with the spool: wait for more. True: time to leave (stop
   asked and everything written, or the stop deadline passed). */
static bool
idle_wait(struct cdr_writer *w)
{
	bool leave = false, level;

	pthread_mutex_lock(&w->lock);
	level = w->rd.seg == w->live_seg && w->rd.off >= w->live_len;
	if (w->stopping &&
	    (cdr_now_ms() >= w->stop_deadline || (w->spool_done && level)))
		leave = true;
	else if (level)
		cdr_cond_wait_until(w, &w->wake_db, cdr_now_ms() + 1000);
	pthread_mutex_unlock(&w->lock);
	return leave;
}

static bool
past_deadline(struct cdr_writer *w)
{
	bool r;

	pthread_mutex_lock(&w->lock);
	r = w->stopping && cdr_now_ms() >= w->stop_deadline;
	pthread_mutex_unlock(&w->lock);
	return r;
}

/* Connect; on failure wait the back-off. NULL: not connected. */
static struct cdr_pg *
connect_db(struct cdr_writer *w, uint64_t *backoff, bool *logged)
{
	struct cdr_pg *pg = NULL;
	char err[512];

	if (cdr_pg_open(&pg, w->dsn, err, sizeof(err)) == 0) {
		LOG_INFO("database connected");
		*logged = false;
		*backoff = w->cfg.backoff_min_ms;
		set_conn(w, 1, false);
		return pg;
	}
	if (!*logged)
		LOG_WARN("database: %s (retrying; CDRs wait in the spool)",
			 err);
	*logged = true;
	set_conn(w, 0, true);
	return NULL;
}

void *
cdr_db_main(void *arg)
{
	struct cdr_writer *w = arg;
	uint64_t backoff = w->cfg.backoff_min_ms;
	struct cdr_pg *pg = NULL;
	bool logged = false, stop = false;
	int ret;

	while (!stop && !past_deadline(w)) {
		if (!pg) {
			pthread_mutex_lock(&w->lock);
			stop = w->stopping; /* down at stop: leave it spooled */
			pthread_mutex_unlock(&w->lock);
			if (stop || (pg = connect_db(w, &backoff, &logged)))
				continue;
		} else if ((ret = step(w, pg)) == 0) {
			continue;
		} else if (ret == EAGAIN) {
			stop = idle_wait(w);
			continue;
		} else if (ret == ETIMEDOUT) {
			stop = backoff_wait(w, 1000);
			continue;
		} else {
			cdr_pg_close(pg);
			pg = NULL;
			set_conn(w, 0, true);
		}
		stop = backoff_wait(w, backoff);
		backoff = backoff * 2 > w->cfg.backoff_max_ms
				  ? w->cfg.backoff_max_ms
				  : backoff * 2;
	}
	cdr_pg_close(pg);
	set_conn(w, 0, false);
	return NULL;
}
