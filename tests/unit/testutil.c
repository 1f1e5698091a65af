/* Helpers shared by the unit test suites. */
#include "testutil.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>

const char *
tu_corpora(void)
{
	const char *env = getenv("TANDEM_CORPORA");

	return env && *env ? env : TANDEM_CORPORA_DEFAULT;
}

int
tu_corpus_missing(const char *sub)
{
	char path[4096];
	struct stat st;

	snprintf(path, sizeof(path), "%s/%s", tu_corpora(), sub);
	if (stat(path, &st) == 0 && S_ISDIR(st.st_mode))
		return 0;
	fprintf(stderr, "SKIP: corpus %s not found (set TANDEM_CORPORA)\n",
		path);
	return 1;
}

int
tu_read_file(const char *path, char **buf, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *b = NULL;
	long n;
	int err = 0;

	if (!f)
		return errno;
	if (fseek(f, 0, SEEK_END) != 0 || (n = ftell(f)) < 0 ||
	    fseek(f, 0, SEEK_SET) != 0) {
		err = errno;
		goto out;
	}
	b = malloc((size_t)n + 1);
	if (!b) {
		err = ENOMEM;
		goto out;
	}
	if (fread(b, 1, (size_t)n, f) != (size_t)n) {
		err = EIO;
		free(b);
		goto out;
	}
	b[n] = '\0';
	*buf = b;
	*len = (size_t)n;
out:
	fclose(f);
	return err;
}

const char *
tu_data(const char *name)
{
	static char path[4096];

	snprintf(path, sizeof(path), "%s/%s", TANDEM_TESTDATA, name);
	return path;
}

CU_pSuite
tu_suite(const char *name)
{
	CU_pSuite s = CU_add_suite(name, NULL, NULL);

	if (!s) {
		fprintf(stderr, "CUnit: cannot add suite %s: %s\n", name,
			CU_get_error_msg());
		exit(2);
	}
	return s;
}

int
tu_udp_bind(const char *ip, uint16_t *port)
{
	struct sockaddr_in sin = {.sin_family = AF_INET};
	socklen_t len = sizeof(sin);
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);

	CU_ASSERT_FATAL(inet_pton(AF_INET, ip, &sin.sin_addr) == 1);
	CU_ASSERT_FATAL(fd >= 0);
	CU_ASSERT_FATAL(bind(fd, (struct sockaddr *)&sin, sizeof(sin)) == 0);
	CU_ASSERT_FATAL(getsockname(fd, (struct sockaddr *)&sin, &len) == 0);
	*port = ntohs(sin.sin_port);
	return fd;
}
