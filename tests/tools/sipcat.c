/*
 * sipcat: parse SIP messages from files (one message per file, as a UDP
 * datagram) and print what the message layer found, or why it refused the
 * message and with which status. Used by deploy/demo.sh and by people
 * looking at a capture. Exit status: 0 if every file was read.
 *
 * Usage: sipcat [-v] FILE...
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "stack/sip_msg.h"

static int
read_file(const char *path, char **buf, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *b;
	long n;

	if (!f)
		return errno;
	if (fseek(f, 0, SEEK_END) || (n = ftell(f)) < 0 ||
	    fseek(f, 0, SEEK_SET) || !(b = malloc((size_t)n + 1))) {
		fclose(f);
		return EIO;
	}
	if (fread(b, 1, (size_t)n, f) != (size_t)n) {
		free(b);
		fclose(f);
		return EIO;
	}
	fclose(f);
	*buf = b;
	*len = (size_t)n;
	return 0;
}

/* Print a slice with control and non-ASCII bytes escaped, at most max. */
static void
put(const struct pl *pl, size_t max)
{
	size_t i;

	for (i = 0; i < pl->l && i < max; i++) {
		unsigned char c = (unsigned char)pl->p[i];

		if (c >= 0x20 && c < 0x7f)
			putchar(c);
		else
			printf("\\x%02x", c);
	}
	if (pl->l > max)
		fputs("...", stdout);
}

static void
show(const char *path, const struct sip_msg *m, int verbose)
{
	printf("%-34s ok   ", path);
	if (m->req) {
		put(&m->method, 12);
		putchar(' ');
		put(&m->ruri_raw, 40);
	} else {
		printf("%u ", m->status);
		put(&m->reason, 20);
	}
	printf("  hdrs=%u body=%zu\n", m->nhdrs, m->body.l);
	if (!verbose)
		return;
	printf("    Via %.*s host=", (int)m->via.transport.l,
	       m->via.transport.p);
	put(&m->via.host, 40);
	printf(" branch=");
	put(&m->via.branch, 40);
	printf("\n    From ");
	put(&m->from.uri.raw, 60);
	printf(" tag=");
	put(&m->from.tag, 30);
	printf("\n    To   ");
	put(&m->to.uri.raw, 60);
	printf(" tag=");
	put(&m->to.tag, 30);
	printf("\n    Call-ID ");
	put(&m->callid, 60);
	printf("\n    CSeq %u ", m->cseq.num);
	put(&m->cseq.method, 20);
	printf("  Max-Forwards %d\n", m->max_forwards);
}

int
main(int argc, char **argv)
{
	static struct sip_msg msg;
	struct sip_limits lim;
	int i, verbose = 0, bad = 0, nok = 0, nref = 0;

	sip_limits_default(&lim);
	for (i = 1; i < argc; i++) {
		struct sip_perr err;
		char phrase[256];
		char *buf = NULL;
		size_t len = 0;
		int rc;

		if (strcmp(argv[i], "-v") == 0) {
			verbose = 1;
			continue;
		}
		if (read_file(argv[i], &buf, &len)) {
			fprintf(stderr, "sipcat: cannot read %s\n", argv[i]);
			bad = 1;
			continue;
		}
		rc = sip_msg_parse(&msg, buf, len, SIP_FRAMING_DGRAM, &lim,
				   &err);
		if (rc == 0)
			rc = sip_msg_check(&msg, &err);
		if (rc == 0) {
			show(argv[i], &msg, verbose);
			nok++;
		} else {
			sip_perr_phrase(&err, phrase, sizeof(phrase));
			if (err.status)
				printf("%-34s %u  %s\n", argv[i], err.status,
				       phrase);
			else
				printf("%-34s drop %s\n", argv[i], phrase);
			nref++;
		}
		free(buf);
	}
	printf("%d parsed, %d refused\n", nok, nref);
	return bad;
}
