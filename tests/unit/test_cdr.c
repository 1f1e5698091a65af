/* Unit tests: CDR ids, spool framing (torn and corrupt data) and the COPY
   encoding of db/cdr_*.c, and the writer's spool without a database. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "db/cdr.h"
#include "db/cdr_int.h"
#include "testutil.h"

/* A record with every field set; i varies the content. */
static void
fill(struct cdr_rec *r, int i)
{
	char s[256];
	int k;

	memset(r, 0, sizeof(*r));
	CU_ASSERT_EQUAL(cdr_id_make(r->id, 1764765197000LL + i), 0);
	snprintf(s, sizeof(s), "a%d@10.0.0.1", i);
	cdr_strset(r->a_callid, sizeof(r->a_callid), s);
	snprintf(s, sizeof(s), "b%d-tandem-shard3", i);
	cdr_strset(r->b_callid, sizeof(r->b_callid), s);
	cdr_strset(r->session_id, sizeof(r->session_id),
		   "ab30317f1a784dc48ff824d0d3715d86");
	cdr_strset(r->node, sizeof(r->node), "node-1");
	cdr_strset(r->src_trunk, sizeof(r->src_trunk), "carrier");
	cdr_strset(r->dst_trunk, sizeof(r->dst_trunk), "pbx");
	cdr_strset(r->calling_in, sizeof(r->calling_in), "01711234567");
	cdr_strset(r->called_in, sizeof(r->called_in), "030123456");
	cdr_strset(r->calling_out, sizeof(r->calling_out), "+491711234567");
	cdr_strset(r->called_out, sizeof(r->called_out), "+4930123456");
	r->attempt_ms = 1764765197000LL + i;
	r->provisional_ms = r->attempt_ms + 120;
	r->answer_ms = i % 2 ? 0 : r->attempt_ms + 3000;
	r->end_ms = r->attempt_ms + 63500;
	cdr_rec_bill(r);
	r->disp = (enum cdr_disp)(i % CDR_D_COUNT);
	r->hangup = (enum cdr_side)(i % CDR_H_COUNT);
	r->a_status = 200;
	r->b_status = 486;
	cdr_strset(r->a_reason, sizeof(r->a_reason), "Q.850;cause=16");
	cdr_strset(r->b_reason, sizeof(r->b_reason),
		   "SIP;cause=486;text=\"Busy Here\"");
	r->nroutes = (uint8_t)(i % (CDR_ROUTES_MAX + 1));
	for (k = 0; k < r->nroutes; k++) {
		snprintf(s, sizeof(s), "192.0.2.%d:5060/udp", k + 1);
		cdr_strset(r->routes[k].target, CDR_TARGET_SZ, s);
		r->routes[k].status = (uint16_t)(500 + k);
		r->routes[k].start_ms = r->attempt_ms + k;
	}
	cdr_strset(r->a_codecs, sizeof(r->a_codecs), "PCMA,telephone-event");
	cdr_strset(r->b_codecs, sizeof(r->b_codecs), "PCMA");
	r->a_srtp = i % 3 == 0;
	r->b_srtp = true;
	r->ab = (struct cdr_media){3000u + (unsigned)i, 3, 2100, 432};
	r->ba = (struct cdr_media){2999, 0, 900, 0};
}

static void
test_id(void)
{
	uint8_t prev[16], id[16], same[64][16];
	char txt[CDR_ID_TEXT_SZ];
	int i, j;

	CU_ASSERT_EQUAL(cdr_id_make(prev, 1000), 0);
	for (i = 1; i < 2000; i++) {
		CU_ASSERT_EQUAL_FATAL(cdr_id_make(id, 1000 + i), 0);
		CU_ASSERT(memcmp(prev, id, 16) < 0); /* time order */
		CU_ASSERT_EQUAL(cdr_id_time(id), 1000 + i);
		CU_ASSERT_EQUAL(id[6] >> 4, 7);	     /* version 7 */
		CU_ASSERT_EQUAL(id[8] & 0xc0, 0x80); /* variant 10 */
		memcpy(prev, id, 16);
	}
	/* Same millisecond: still unique. */
	for (i = 0; i < 64; i++)
		CU_ASSERT_EQUAL(cdr_id_make(same[i], 5555), 0);
	for (i = 0; i < 64; i++)
		for (j = i + 1; j < 64; j++)
			CU_ASSERT(memcmp(same[i], same[j], 16) != 0);
	memcpy(id,
	       (uint8_t[16]){0x01, 0x8f, 0x3a, 0x4b, 0x5c, 0x6d, 0x7a, 0xbc,
			     0x8d, 0xef, 0x01, 0x23, 0x45, 0x67, 0x89, 0xab},
	       16);
	cdr_id_text(id, txt);
	CU_ASSERT_STRING_EQUAL(txt, "018f3a4b-5c6d-7abc-8def-0123456789ab");
	CU_ASSERT_EQUAL(cdr_id_time(id), 0x018f3a4b5c6dLL);
}

static void
test_names(void)
{
	char b[8];

	CU_ASSERT_STRING_EQUAL(cdr_disp_name(CDR_D_ANSWERED), "answered");
	CU_ASSERT_STRING_EQUAL(cdr_disp_name(CDR_D_REJECTED_LIMITS),
			       "rejected_limits");
	CU_ASSERT_STRING_EQUAL(cdr_disp_name(CDR_D_COUNT), "?");
	CU_ASSERT_STRING_EQUAL(cdr_side_name(CDR_H_TANDEM), "tandem");
	CU_ASSERT_STRING_EQUAL(cdr_side_name((enum cdr_side) - 1), "?");
	cdr_strset(b, sizeof(b), "0123456789");
	CU_ASSERT_STRING_EQUAL(b, "0123456");
	cdr_strset(b, sizeof(b), NULL);
	CU_ASSERT_STRING_EQUAL(b, "");
}

static void
test_bill(void)
{
	struct cdr_rec r;

	memset(&r, 0, sizeof(r));
	r.answer_ms = 10000;
	r.end_ms = 12001;
	cdr_rec_bill(&r);
	CU_ASSERT_EQUAL(r.duration_ms, 2001);
	CU_ASSERT_EQUAL(r.billable_s, 3);
	r.end_ms = 12000;
	cdr_rec_bill(&r);
	CU_ASSERT_EQUAL(r.billable_s, 2);
	r.answer_ms = 0;
	cdr_rec_bill(&r);
	CU_ASSERT_EQUAL(r.duration_ms, 0);
	CU_ASSERT_EQUAL(r.billable_s, 0);
}

static void
test_crc(void)
{
	/* The standard check value of CRC-32/ISO-HDLC. */
	CU_ASSERT_EQUAL(cdr_crc32(0, "123456789", 9), 0xcbf43926u);
	CU_ASSERT_EQUAL(cdr_crc32(cdr_crc32(0, "1234", 4), "56789", 5),
			0xcbf43926u);
}

/* Every field survives encode -> decode, for all route counts, and with
   strings of the maximum length. */
static void
test_frame_roundtrip(void)
{
	static uint8_t f[CDR_FRAME_MAX];
	struct cdr_rec a, b;
	size_t n, used;
	int i;

	for (i = 0; i < 40; i++) {
		fill(&a, i);
		if (i == 39) {
			memset(a.a_callid, 'x', sizeof(a.a_callid) - 1);
			memset(a.routes[0].target, 'y', CDR_TARGET_SZ - 1);
			a.nroutes = CDR_ROUTES_MAX;
		}
		n = cdr_frame_encode(&a, f);
		CU_ASSERT(n > CDR_FRAME_HDR && n <= CDR_FRAME_MAX);
		CU_ASSERT_EQUAL(cdr_frame_next(f, n, &b, &used), CDR_F_OK);
		CU_ASSERT_EQUAL(used, n);
		CU_ASSERT(memcmp(&a, &b, sizeof(a)) == 0);
		/* Any prefix is incomplete, never garbage or a record. */
		CU_ASSERT_EQUAL(cdr_frame_next(f, n - 1, &b, &used),
				CDR_F_SHORT);
		CU_ASSERT_EQUAL(cdr_frame_next(f, 7, &b, &used), CDR_F_SHORT);
	}
	/* A compact encoding: far below the struct size. */
	fill(&a, 8);
	n = cdr_frame_encode(&a, f);
	CU_ASSERT(n < sizeof(a) / 2);
}

/* Scan buf as the database thread does; ids[] gets the record numbers
   (attempt_ms offsets) found. Returns the count; *torn, *bad counted. */
static int
scan(const uint8_t *buf, size_t len, int *ids, int *torn, int *bad)
{
	struct cdr_rec r;
	size_t pos = 0, used;
	int n = 0, inbad = 0;

	*torn = *bad = 0;
	while (pos < len) {
		enum cdr_frame_res res =
			cdr_frame_next(buf + pos, len - pos, &r, &used);

		if (res == CDR_F_SHORT) {
			(*torn)++;
			return n;
		}
		if (res == CDR_F_BAD) {
			inbad = 1;
			pos += used;
			continue;
		}
		*bad += inbad;
		inbad = 0;
		ids[n++] = (int)(r.attempt_ms - 1764765197000LL);
		pos += used;
	}
	*torn += inbad;
	return n;
}

static size_t
build(uint8_t *buf, int count, size_t *offs)
{
	struct cdr_rec r;
	size_t len = 0;
	int i;

	for (i = 0; i < count; i++) {
		fill(&r, i);
		offs[i] = len;
		len += cdr_frame_encode(&r, buf + len);
	}
	offs[count] = len;
	return len;
}

/* A torn last record is reported and every earlier one kept. */
static void
test_torn_tail(void)
{
	static uint8_t buf[10 * CDR_FRAME_MAX];
	size_t offs[11], len = build(buf, 10, offs), cut;
	int ids[10], torn, bad, n, i;

	n = scan(buf, len, ids, &torn, &bad);
	CU_ASSERT_EQUAL(n, 10);
	CU_ASSERT_EQUAL(torn + bad, 0);
	/* Cut anywhere inside the last frame, header included. */
	for (cut = offs[9] + 1; cut < len; cut += 7) {
		n = scan(buf, cut, ids, &torn, &bad);
		CU_ASSERT_EQUAL(n, 9);
		CU_ASSERT_EQUAL(torn, 1);
		CU_ASSERT_EQUAL(bad, 0);
		for (i = 0; i < n; i++)
			CU_ASSERT_EQUAL(ids[i], i);
	}
	/* Garbage appended after complete records (a torn header). */
	memset(buf + len, 0xee, 5);
	n = scan(buf, len + 5, ids, &torn, &bad);
	CU_ASSERT_EQUAL(n, 10);
	CU_ASSERT_EQUAL(torn, 1);
}

/* A bad CRC (or a bad length) in the middle costs that record only. */
static void
test_corrupt_middle(void)
{
	static uint8_t buf[10 * CDR_FRAME_MAX];
	size_t offs[11], len = build(buf, 10, offs);
	int ids[10], torn, bad, n;

	buf[offs[4] + CDR_FRAME_HDR + 20] ^= 0x40; /* payload of #4 */
	n = scan(buf, len, ids, &torn, &bad);
	CU_ASSERT_EQUAL(n, 9);
	CU_ASSERT_EQUAL(bad, 1);
	CU_ASSERT_EQUAL(torn, 0);
	CU_ASSERT(n == 9 && ids[3] == 3 && ids[4] == 5 && ids[8] == 9);

	len = build(buf, 10, offs);
	buf[offs[2] + 5] = 0x7f; /* length of #2: huge */
	buf[offs[6] + 1] ^= 1;	 /* magic of #6 */
	n = scan(buf, len, ids, &torn, &bad);
	CU_ASSERT_EQUAL(n, 8);
	CU_ASSERT_EQUAL(bad, 2);
	CU_ASSERT(n == 8 && ids[2] == 3 && ids[5] == 7);

	/* A payload that passes the CRC but not the decoder (a record
	   count out of range) is garbage too, not a record. */
	len = build(buf, 3, offs);
	buf[offs[1] + CDR_FRAME_HDR] = 99; /* payload version */
	{
		uint32_t crc = cdr_crc32(0, buf + offs[1] + CDR_FRAME_HDR,
					 offs[2] - offs[1] - CDR_FRAME_HDR);

		memcpy(buf + offs[1] + 8, &crc, 4);
	}
	n = scan(buf, len, ids, &torn, &bad);
	CU_ASSERT_EQUAL(n, 2);
	CU_ASSERT_EQUAL(bad, 1);
}

/* COPY text: specials escaped, invalid UTF-8 and control bytes replaced,
   NULLs for absent times and statuses, routes as JSON. */
static void
test_copy_line(void)
{
	struct cdr_buf b = {NULL, 0, 0};
	struct cdr_rec r;
	char *line;

	fill(&r, 2); /* answered, two routes */
	cdr_strset(r.a_callid, sizeof(r.a_callid), "x\ty\\z\n\x01\xff\xc3\xa9");
	cdr_strset(r.routes[1].target, CDR_TARGET_SZ, "a\"b");
	r.provisional_ms = 0;
	r.b_status = 0;
	r.attempt_ms = 1764765197123LL; /* 2025-12-03 12:33:17.123 UTC */
	CU_ASSERT_EQUAL_FATAL(cdr_copy_line(&b, &r), 0);
	CU_ASSERT_EQUAL_FATAL(cdr_buf_need(&b, 1), 0);
	b.p[b.len] = '\0';
	line = b.p;
	CU_ASSERT(strstr(line, "\tx\\ty\\\\z\\n??\xc3\xa9\t") != NULL);
	CU_ASSERT(strstr(line, "\t2025-12-03 12:33:17.123+00\t") != NULL);
	CU_ASSERT(strstr(line, "\tnode-1\t") != NULL);
	CU_ASSERT(strstr(line, "\t\\N\t") != NULL);
	CU_ASSERT(strstr(line, "\tno_answer\t") != NULL);
	CU_ASSERT(strstr(line, "[{\"target\":\"192.0.2.1:5060/udp\","
			       "\"status\":500,\"start_ms\":1764765197002},"
			       "{\"target\":\"a\\\\u0022b\"") != NULL);
	CU_ASSERT(strstr(line, "\tf\tt\t3002\t3\t2100\t432\t2999\t0\t900\t"
			       "\\N\n") != NULL);
	CU_ASSERT_EQUAL(strchr(line, '\n'), line + b.len - 1);
	free(b.p);
}

static int
count_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	int n = 0;

	while (d && readdir(d))
		n++;
	if (d)
		closedir(d);
	return n;
}

static void
rm_dir(const char *dir)
{
	char cmd[600];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	CU_ASSERT_EQUAL(system(cmd), 0);
}

/* Without a database: records go to the spool, survive a restart, the
   folder is locked against a second writer, bad input is refused and
   no descriptor leaks. */
static void
test_writer_offline(void)
{
	char dir[] = "/tmp/test_cdr.XXXXXX";
	struct cdr_cfg cfg = {0};
	struct cdr_writer *w = NULL, *w2 = NULL;
	struct cdr_stats st;
	struct cdr_rec r;
	uint64_t bytes;
	int fds = count_fds(), i;

	CU_ASSERT_FATAL(mkdtemp(dir) != NULL);
	cfg.dsn = "host=127.0.0.1 port=1 connect_timeout=1";
	cfg.spool_dir = dir;
	cfg.node = "unit";
	cfg.fsync_ms = 10;
	cfg.segment_kb = 16; /* rotate every ~30 records */
	cfg.backoff_min_ms = 20;
	CU_ASSERT_EQUAL_FATAL(cdr_writer_start(&w, &cfg), 0);
	CU_ASSERT_EQUAL(cdr_writer_start(&w2, &cfg), EBUSY);
	for (i = 0; i < 200; i++) {
		fill(&r, i);
		r.node[0] = '\0';
		CU_ASSERT_EQUAL(cdr_submit(w, &r), 0);
	}
	r.disp = CDR_D_COUNT;
	CU_ASSERT_EQUAL(cdr_submit(w, &r), EINVAL);
	CU_ASSERT_EQUAL(cdr_submit(NULL, &r), EINVAL);
	cdr_writer_stop(w);
	CU_ASSERT_EQUAL_FATAL(cdr_writer_start(&w, &cfg), 0);
	for (i = 0; i < 100; i++) {
		cdr_writer_stats(w, &st);
		if (st.db_errors)
			break;
		usleep(10000);
	}
	CU_ASSERT_EQUAL(st.submitted, 0);
	CU_ASSERT_EQUAL(st.written, 0);
	CU_ASSERT(st.db_errors >= 1);
	CU_ASSERT_EQUAL(st.connected, 0);
	bytes = st.spool_bytes;
	CU_ASSERT(bytes > 200 * 300);
	fill(&r, 1);
	CU_ASSERT_EQUAL(cdr_submit(w, &r), 0);
	for (i = 0; i < 100; i++) {
		cdr_writer_stats(w, &st);
		if (st.spooled == 1)
			break;
		usleep(10000);
	}
	CU_ASSERT_EQUAL(st.spooled, 1);
	CU_ASSERT(st.spool_bytes > bytes);
	CU_ASSERT_EQUAL(st.queue, 0);
	cdr_writer_stop(w);
	CU_ASSERT_EQUAL(count_fds(), fds);
	rm_dir(dir);
}

/* Checkpoint round trip; a damaged one is refused (the writer then
   replays every segment); only segment names are listed, in order. */
static void
test_ckpt_list(void)
{
	char dir[] = "/tmp/test_cdr.XXXXXX", path[600];
	struct cdr_pos a = {0x1234567890ull, 987654}, b = {0, 0};
	uint64_t *segs = NULL;
	size_t n = 0;
	int fd = -1, fd2 = -1;
	const char *names[] = {"0000000000000003.cdr",
			       "000000000000000a.cdr",
			       "0000000000000001.cdr",
			       "checkpoint",
			       "lock",
			       "00000000000000zz.cdr",
			       "1.cdr"};
	size_t i;

	CU_ASSERT_FATAL(mkdtemp(dir) != NULL);
	CU_ASSERT_EQUAL(cdr_ckpt_read(dir, &b), ENOENT);
	CU_ASSERT_EQUAL(cdr_spool_lock(dir, &fd), 0);
	CU_ASSERT_EQUAL(cdr_spool_lock(dir, &fd2), EBUSY);
	CU_ASSERT_EQUAL_FATAL(cdr_ckpt_open(dir, &fd2), 0);
	CU_ASSERT_EQUAL(cdr_ckpt_write(fd2, &a), 0);
	CU_ASSERT_EQUAL(cdr_ckpt_read(dir, &b), 0);
	CU_ASSERT(b.seg == a.seg && b.off == a.off);
	CU_ASSERT_EQUAL(pwrite(fd2, "x", 1, 20), 1); /* torn/flipped */
	CU_ASSERT_EQUAL(cdr_ckpt_read(dir, &b), EBADMSG);
	close(fd2);
	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
		fd2 = open(path, O_WRONLY | O_CREAT, 0600);
		CU_ASSERT(fd2 >= 0);
		if (fd2 >= 0)
			close(fd2);
	}
	CU_ASSERT_EQUAL(cdr_spool_list(dir, &segs, &n), 0);
	CU_ASSERT_EQUAL(n, 3);
	CU_ASSERT(n == 3 && segs[0] == 1 && segs[1] == 3 && segs[2] == 10);
	free(segs);
	CU_ASSERT_EQUAL(cdr_seg_create(dir, 3, &fd2), EEXIST);
	close(fd);
	rm_dir(dir);
}

void test_cdr_register(void);

void
test_cdr_register(void)
{
	CU_pSuite s = tu_suite("cdr");

	TU_ADD(s, test_id);
	TU_ADD(s, test_names);
	TU_ADD(s, test_bill);
	TU_ADD(s, test_crc);
	TU_ADD(s, test_frame_roundtrip);
	TU_ADD(s, test_torn_tail);
	TU_ADD(s, test_corrupt_middle);
	TU_ADD(s, test_copy_line);
	TU_ADD(s, test_ckpt_list);
	TU_ADD(s, test_writer_offline);
}
