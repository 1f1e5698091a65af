/* CDR writer (issue 8): one row per call attempt in PostgreSQL, exactly
   once, through a CRC-framed write-ahead spool on local disk. */
#ifndef TANDEM_CDR_H
#define TANDEM_CDR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Text field sizes, NUL included (longer input is truncated). */
#define CDR_NODE_SZ 64
#define CDR_CALLID_SZ 128
#define CDR_SESSID_SZ 72 /* RFC 7989: 32 hex digits (+ room for ;remote) */
#define CDR_TRUNK_SZ 64
#define CDR_NUM_SZ 40
#define CDR_REASON_SZ 128
#define CDR_CODECS_SZ 64
#define CDR_TARGET_SZ 64 /* "ip:port/proto" */
#define CDR_ROUTES_MAX 8
#define CDR_ID_TEXT_SZ 37 /* 8-4-4-4-12 hex digits + NUL */

/* How the attempt ended (the cdr.disposition column holds the name). */
enum cdr_disp {
	CDR_D_ANSWERED,	       /* a 2xx was relayed to the caller */
	CDR_D_BUSY,	       /* 486 / 600 from the callee side */
	CDR_D_NO_ANSWER,       /* 408 / 480 / ring timeout */
	CDR_D_CANCELLED,       /* the caller gave up before an answer */
	CDR_D_FAILED,	       /* any other failure (every route failed) */
	CDR_D_REJECTED_POLICY, /* policy said no (403, 404, 603 ...) */
	CDR_D_REJECTED_LIMITS, /* a trunk's max_calls / max_cps */
	CDR_D_COUNT
};

/* Which side ended the call. */
enum cdr_side {
	CDR_H_NONE,   /* never established / not known */
	CDR_H_CALLER, /* A-leg BYE or CANCEL */
	CDR_H_CALLEE, /* B-leg BYE or final failure */
	CDR_H_TANDEM, /* session timer, media timeout, drain, hang-up API */
	CDR_H_COUNT
};

/* One target tried for the B-leg, in order. */
struct cdr_route {
	char target[CDR_TARGET_SZ]; /* "192.0.2.1:5060/udp" */
	uint16_t status;	    /* final status (0: none, e.g. timeout) */
	int64_t start_ms;	    /* when the INVITE went out, UTC ms */
};

/* Media statistics of one direction, as the relay counted them. */
struct cdr_media {
	uint64_t packets;
	uint64_t lost;
	uint32_t jitter_us;
	uint16_t mos; /* MOS estimate x 100 (e.g. 432 = 4.32); 0: none */
};

/*
 * One CDR. Fixed size, no pointers: copy it freely. Strings are
 * NUL-terminated (cdr_strset() truncates safely). Times are UTC
 * milliseconds since the epoch; 0 means "did not happen".
 */
struct cdr_rec {
	uint8_t id[16];		      /* cdr_id_make(): time-ordered, unique */
	char node[CDR_NODE_SZ];	      /* empty: the writer's cfg->node */
	char a_callid[CDR_CALLID_SZ]; /* A-leg (UAS) Call-ID */
	char b_callid[CDR_CALLID_SZ]; /* B-leg (UAC) Call-ID, may be empty */
	char session_id[CDR_SESSID_SZ]; /* RFC 7989 Session-ID, may be empty */
	char src_trunk[CDR_TRUNK_SZ];
	char dst_trunk[CDR_TRUNK_SZ];
	char calling_in[CDR_NUM_SZ]; /* as received */
	char called_in[CDR_NUM_SZ];
	char calling_out[CDR_NUM_SZ]; /* after rewriting */
	char called_out[CDR_NUM_SZ];
	int64_t attempt_ms;	/* INVITE received (the partition key) */
	int64_t provisional_ms; /* first 1xx (other than 100) relayed */
	int64_t answer_ms;
	int64_t end_ms;
	int64_t duration_ms; /* answer -> end; 0 unanswered */
	uint32_t billable_s; /* duration rounded up to whole seconds */
	enum cdr_disp disp;
	enum cdr_side hangup;
	uint16_t a_status; /* final status sent on the A-leg (200 if ok) */
	uint16_t b_status; /* final status of the last B-leg, 0: none */
	char a_reason[CDR_REASON_SZ]; /* Reason header text, may be empty */
	char b_reason[CDR_REASON_SZ];
	uint8_t nroutes; /* used entries of routes[] */
	struct cdr_route routes[CDR_ROUTES_MAX];
	char a_codecs[CDR_CODECS_SZ]; /* e.g. "PCMA,telephone-event" */
	char b_codecs[CDR_CODECS_SZ];
	bool a_srtp;
	bool b_srtp;
	struct cdr_media ab; /* caller -> callee */
	struct cdr_media ba; /* callee -> caller */
};

/*
 * Fill id with a UUIDv7 (RFC 9562 5.7): the 48-bit Unix time now_ms, the
 * version and variant bits, and 74 random bits from getrandom(2). Ids of
 * different milliseconds sort (memcmp) in time order; the random part
 * makes them unique across nodes without coordination. Returns 0 or the
 * errno of getrandom.
 */
int cdr_id_make(uint8_t id[16], int64_t now_ms);
/* The canonical text form (lower-case 8-4-4-4-12) into buf. */
void cdr_id_text(const uint8_t id[16], char buf[CDR_ID_TEXT_SZ]);
/* The millisecond time embedded in an id. */
int64_t cdr_id_time(const uint8_t id[16]);

/* "answered", "busy", "no_answer", "cancelled", "failed",
   "rejected_policy", "rejected_limits" ("?" if out of range). */
const char *cdr_disp_name(enum cdr_disp d);
/* "none", "caller", "callee", "tandem" ("?" if out of range). */
const char *cdr_side_name(enum cdr_side s);

/* Copy src (may be NULL) into the char array dst of size sz, truncated
   and NUL-terminated. */
void cdr_strset(char *dst, size_t sz, const char *src);

/* Set duration_ms (answer -> end, 0 if unanswered or end is before it) and
   billable_s (duration rounded up to the second) from the times. */
void cdr_rec_bill(struct cdr_rec *r);

/* Writer configuration; strings are copied by cdr_writer_start. */
struct cdr_cfg {
	const char *dsn;	 /* libpq connection string */
	const char *spool_dir;	 /* created if missing; one writer at a time */
	const char *node;	 /* stamped into records with an empty node */
	unsigned batch_max;	 /* rows per transaction (0: 1000) */
	unsigned fsync_ms;	 /* spool fdatasync interval (0: every write) */
	unsigned queue_max;	 /* records waiting for the spool file before
				    cdr_submit says ENOMEM (0: 100000) */
	unsigned backoff_min_ms; /* reconnect back-off start (0: 100) */
	unsigned backoff_max_ms; /* and cap (0: 5000) */
	unsigned segment_kb;	 /* spool segment size before rotation
				    (0: 16384 = 16 MiB) */
	unsigned stop_timeout_ms; /* cdr_writer_stop: how long to keep
				     writing to a live database (0: 10000) */
};

/* Counters for tests and /stats (a consistent copy). */
struct cdr_stats {
	uint64_t submitted;	  /* accepted by cdr_submit */
	uint64_t spooled;	  /* appended to the spool file */
	uint64_t written;	  /* rows inserted */
	uint64_t dup_skipped;	  /* already in the table (replays) */
	uint64_t replayed;	  /* read from a previous run's spool */
	uint64_t torn_skipped;	  /* incomplete records at a spool end */
	uint64_t corrupt_skipped; /* bad CRC/framing inside a spool file */
	uint64_t rejected;	  /* refused by the database as bad data:
				     logged, kept in spool_dir/rejected.cdr */
	uint64_t db_errors;	  /* failed connects or batches */
	uint64_t spool_errors;	  /* failed spool writes (retried) */
	uint64_t batches;	  /* committed transactions */
	uint64_t queue;		  /* records waiting for the spool file */
	uint64_t spool_bytes;	  /* spooled but not yet committed */
	int connected;		  /* 1 while the database is up */
};

struct cdr_writer;

/*
 * Start a writer: take an exclusive lock on cfg->spool_dir (EBUSY if
 * another writer holds it), open the spool and start two threads: the
 * spool thread appends every submitted record to the spool (one write per
 * wake-up, fdatasync at most fsync_ms later), and the database thread
 * reads the spool in order -- first what a previous run left uncommitted
 * (e.g. after kill -9), then the new records -- and inserts it in batches
 * with ON CONFLICT DO NOTHING, checkpointing what is committed. While the
 * database is unreachable it reconnects with back-off; nothing waits for
 * it. Returns 0, EINVAL, EBUSY, ENOMEM or the errno of a spool or thread
 * call. The database need not be reachable, but its schema must be
 * migrated (db_migrate) before rows can go in.
 */
int cdr_writer_start(struct cdr_writer **wp, const struct cdr_cfg *cfg);

/*
 * Queue a copy of r (its node is set from the configuration if empty).
 * Callable from any thread; never waits for the database or the disk,
 * only for a short mutex. Returns 0, EINVAL (NULL, or a disposition or
 * hang-up side out of range), ENOMEM (queue_max records are waiting for
 * the disk) or ESHUTDOWN (cdr_writer_stop has begun in another thread;
 * once it has returned, w is gone and must not be used).
 */
int cdr_submit(struct cdr_writer *w, const struct cdr_rec *r);

/*
 * Stop: refuse new records, write and fdatasync the queue to the spool,
 * then keep inserting while the database is reachable (at most
 * stop_timeout_ms); what is left stays in the spool for the next start.
 * Joins the threads and frees w. NULL is accepted.
 */
void cdr_writer_stop(struct cdr_writer *w);

void cdr_writer_stats(struct cdr_writer *w, struct cdr_stats *st);

#endif
