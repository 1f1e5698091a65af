/* The CDR spool on disk: a locked folder of numbered append-only segment
   files and a checkpoint of what PostgreSQL has committed. */
#include "db/cdr_int.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#define CKPT_MAGIC 0x4b504354u /* "TCPK" */

/* mkdir -p with mode 0700 for the parts that are missing. */
static int
mkdirs(const char *dir)
{
	char p[4096];
	size_t i, n = strlen(dir);

	if (n == 0 || n >= sizeof(p))
		return EINVAL;
	memcpy(p, dir, n + 1);
	for (i = 1; i <= n; i++) {
		if (p[i] != '/' && p[i] != '\0')
			continue;
		p[i] = '\0';
		if (mkdir(p, 0700) != 0 && errno != EEXIST)
			return errno;
		p[i] = i < n ? '/' : '\0';
	}
	return 0;
}

int
cdr_spool_lock(const char *dir, int *fdp)
{
	char path[4200];
	int fd, err = mkdirs(dir);

	if (err)
		return err;
	snprintf(path, sizeof(path), "%s/lock", dir);
	fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0)
		return errno;
	if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
		err = errno == EWOULDBLOCK ? EBUSY : errno;
		close(fd);
		return err;
	}
	*fdp = fd;
	return 0;
}

void
cdr_seg_path(char *buf, size_t sz, const char *dir, uint64_t seg)
{
	snprintf(buf, sz, "%s/%016llx.cdr", dir, (unsigned long long)seg);
}

/* Segment number of a file name "%016llx.cdr", or 0 (not a segment). */
static uint64_t
seg_of(const char *name)
{
	uint64_t v = 0;
	int i;

	if (strlen(name) != 20 || strcmp(name + 16, ".cdr") != 0)
		return 0;
	for (i = 0; i < 16; i++) {
		char c = name[i];
		int d = c >= '0' && c <= '9'   ? c - '0'
			: c >= 'a' && c <= 'f' ? c - 'a' + 10
					       : -1;

		if (d < 0)
			return 0;
		v = v << 4 | (uint64_t)d;
	}
	return v;
}

static int
cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

int
cdr_spool_list(const char *dir, uint64_t **segs, size_t *n)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	uint64_t *v = NULL, *nv, s;
	size_t cnt = 0, cap = 0;
	int err = 0;

	*segs = NULL;
	*n = 0;
	if (!d)
		return errno;
	while ((e = readdir(d))) {
		if (!(s = seg_of(e->d_name)))
			continue;
		if (cnt == cap) {
			cap = cap ? cap * 2 : 16;
			nv = realloc(v, cap * sizeof(*v));
			if (!nv) {
				err = ENOMEM;
				break;
			}
			v = nv;
		}
		v[cnt++] = s;
	}
	closedir(d);
	if (err) {
		free(v);
		return err;
	}
	if (cnt)
		qsort(v, cnt, sizeof(*v), cmp_u64);
	*segs = v;
	*n = cnt;
	return 0;
}

/* fsync the folder so a created file's name survives a crash. */
static int
sync_dir(const char *dir)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC), err = 0;

	if (fd < 0)
		return errno;
	if (fsync(fd) != 0)
		err = errno;
	close(fd);
	return err;
}

int
cdr_seg_create(const char *dir, uint64_t seg, int *fdp)
{
	char path[4200];
	int fd, err;

	cdr_seg_path(path, sizeof(path), dir, seg);
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_APPEND | O_CLOEXEC,
		  0600);
	if (fd < 0)
		return errno;
	err = sync_dir(dir);
	if (err) {
		close(fd);
		unlink(path);
		return err;
	}
	*fdp = fd;
	return 0;
}

/* The checkpoint is 24 bytes written in place with pwrite: magic, CRC of
   the 16 bytes that follow, segment, offset. A torn one fails the CRC and
   the next start replays from the oldest segment (harmless: inserts are
   idempotent). */
static void
ckpt_pack(uint8_t b[24], const struct cdr_pos *pos)
{
	uint32_t m = CKPT_MAGIC, crc;

	memcpy(b + 8, &pos->seg, 8);
	memcpy(b + 16, &pos->off, 8);
	crc = cdr_crc32(0, b + 8, 16);
	memcpy(b, &m, 4);
	memcpy(b + 4, &crc, 4);
}

int
cdr_ckpt_read(const char *dir, struct cdr_pos *pos)
{
	char path[4200];
	uint8_t b[24];
	uint32_t m, crc;
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "%s/checkpoint", dir);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return errno;
	n = pread(fd, b, sizeof(b), 0);
	close(fd);
	if (n == 0)
		return ENOENT;
	if (n != (ssize_t)sizeof(b))
		return EBADMSG;
	memcpy(&m, b, 4);
	memcpy(&crc, b + 4, 4);
	if (m != CKPT_MAGIC || crc != cdr_crc32(0, b + 8, 16))
		return EBADMSG;
	memcpy(&pos->seg, b + 8, 8);
	memcpy(&pos->off, b + 16, 8);
	return 0;
}

int
cdr_ckpt_open(const char *dir, int *fdp)
{
	char path[4200];
	int fd;

	snprintf(path, sizeof(path), "%s/checkpoint", dir);
	fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0)
		return errno;
	*fdp = fd;
	return 0;
}

int
cdr_ckpt_write(int fd, const struct cdr_pos *pos)
{
	uint8_t b[24];

	ckpt_pack(b, pos);
	if (pwrite(fd, b, sizeof(b), 0) != (ssize_t)sizeof(b))
		return errno ? errno : EIO;
	return 0;
}
