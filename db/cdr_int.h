/* Private to db/cdr*.c: spool framing, segment files and the PostgreSQL
   batch writer behind db/cdr.h. */
#ifndef TANDEM_CDR_INT_H
#define TANDEM_CDR_INT_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "db/cdr.h"

/*
 * A spool frame: magic, payload length, CRC-32 (IEEE) of the payload,
 * all little-endian u32, then the payload: a version byte and the record's
 * fields (numbers as fixed-width bytes, strings as a length byte + text).
 */
#define CDR_FRAME_MAGIC 0x52444354u /* "TCDR" */
#define CDR_FRAME_HDR 12
#define CDR_PAYLOAD_VER 1
/* Upper bound of one encoded frame. */
#define CDR_FRAME_MAX (CDR_FRAME_HDR + sizeof(struct cdr_rec) + 128)

uint32_t cdr_crc32(uint32_t crc, const void *p, size_t n);

/* Encode r as one frame into buf (CDR_FRAME_MAX bytes); returns its
   length. */
size_t cdr_frame_encode(const struct cdr_rec *r, uint8_t *buf);

enum cdr_frame_res {
	CDR_F_OK,    /* *r decoded, *used = the frame's length */
	CDR_F_SHORT, /* a frame may start at p but is incomplete: read more
			(at the end of a file: a torn tail) */
	CDR_F_BAD    /* p[0..*used) is garbage (bad magic, length, CRC or
			content): skip it and look again */
};

/* Look at the bytes p[0..n) of a spool file from a frame boundary. */
enum cdr_frame_res cdr_frame_next(const uint8_t *p, size_t n, struct cdr_rec *r,
				  size_t *used);

/* ---- spool files (cdr_spool.c) ------------------------------------- */

/* Records the database refused as data, in spool framing. */
#define CDR_REJECTED_FILE "rejected.cdr"

/* A place in the spool: segment number and byte offset in it. */
struct cdr_pos {
	uint64_t seg;
	uint64_t off;
};

/* mkdir -p dir (0700) and flock its lock file; *fdp holds the lock.
   EBUSY if another writer has it. */
int cdr_spool_lock(const char *dir, int *fdp);
/* Sorted numbers of the segment files in dir (*segs malloc'd, may be
   NULL when *n is 0). */
int cdr_spool_list(const char *dir, uint64_t **segs, size_t *n);
void cdr_seg_path(char *buf, size_t sz, const char *dir, uint64_t seg);
/* Create segment seg for appending and make its name durable. */
int cdr_seg_create(const char *dir, uint64_t seg, int *fdp);
/* Checkpoint: the position up to which everything is committed. Stored
   in dir/checkpoint with a CRC. ENOENT if none, EBADMSG if unreadable. */
int cdr_ckpt_read(const char *dir, struct cdr_pos *pos);
int cdr_ckpt_open(const char *dir, int *fdp);
int cdr_ckpt_write(int fd, const struct cdr_pos *pos);

/* ---- PostgreSQL (cdr_pg.c) ------------------------------------------ */

struct cdr_pg;

/* Connect, create the session's staging table and make sure this and
   next month's partitions exist. EIO with err set on failure. */
int cdr_pg_open(struct cdr_pg **pgp, const char *dsn, char *err, size_t errsz);
void cdr_pg_close(struct cdr_pg *pg);

/*
 * Insert n records in one transaction; *inserted gets the new rows.
 * idem: COPY into the session's staging table, then INSERT .. ON CONFLICT
 * DO NOTHING (rows already there are skipped). Otherwise one plain COPY
 * into cdr, about twice as fast, which fails whole with EEXIST if any row
 * is there already (then retry with idem). Errors: EEXIST, EIO
 * (connection or server trouble: retry later on a new connection),
 * EBADMSG (the data was refused, SQLSTATE class 22/23: retrying the same
 * rows cannot help), ENOMEM. err gets PostgreSQL's message.
 */
int cdr_pg_insert(struct cdr_pg *pg, const struct cdr_rec *recs, size_t n,
		  bool idem, uint64_t *inserted, char *err, size_t errsz);

/* Append the COPY text line of r to the growable buffer (for tests and
   the writer). Returns 0 or ENOMEM. */
struct cdr_buf {
	char *p; /* owned */
	size_t len, cap;
};
int cdr_copy_line(struct cdr_buf *b, const struct cdr_rec *r);
/* Make room for n more bytes. 0 or ENOMEM. */
int cdr_buf_need(struct cdr_buf *b, size_t n);

/* ---- the writer (cdr_writer.c: submit, spool thread; cdr_dbthr.c:
   database thread) ------------------------------------------------- */

struct cdr_writer {
	struct cdr_cfg cfg;	/* strings point at the owned copies below */
	char *dsn, *dir, *node; /* owned */
	int lock_fd;		/* flock on dir/lock, for our lifetime */
	pthread_t spool_thr, db_thr;

	pthread_mutex_t lock;
	pthread_cond_t wake_spool; /* queue no longer empty, or stop */
	pthread_cond_t wake_db;	   /* segment grew, spool done, or stop */
	/* guarded by lock: */
	struct cdr_buf q;	/* encoded frames waiting for the spool */
	uint64_t q_n;		/* frames in q */
	uint64_t out_n;		/* frames taken by the spool thread, not
				   yet written */
	bool stopping;		/* cdr_writer_stop began */
	bool spool_done;	/* the spool thread has written its last */
	uint64_t stop_deadline; /* monotonic ms: give up on the database */
	uint64_t live_seg;	/* segment the spool thread appends to */
	uint64_t live_len;	/* its length: only whole frames */
	uint64_t bytes_in;	/* spool bytes ever to be committed */
	uint64_t bytes_done;	/* of which the cursor has passed */
	struct cdr_stats st;

	/* spool thread only: */
	int seg_fd;
	uint64_t seg_len;
	struct cdr_buf out;

	/* database thread only: */
	uint64_t first_seg; /* first segment of this run (older: replay) */
	struct cdr_pos rd;  /* committed up to here */
	int rd_fd;	    /* rd.seg opened for reading, or -1 */
	int ckpt_fd;
	uint8_t *rbuf; /* owned, rcap bytes */
	size_t rcap;
	struct cdr_rec *recs; /* owned, cfg.batch_max */
	bool bad;	      /* the cursor is inside a corrupt region */
	uint64_t bad_off;     /* which began here */
	uint64_t single;      /* records left to insert one at a time */
	bool idem;	      /* insert the next batch idempotently */
};

uint64_t cdr_now_ms(void);
/* Wait on cv (with w->lock held) until the monotonic time due_ms. */
void cdr_cond_wait_until(struct cdr_writer *w, pthread_cond_t *cv,
			 uint64_t due_ms);
/* The database thread (cdr_dbthr.c). */
void *cdr_db_main(void *arg);

#endif
