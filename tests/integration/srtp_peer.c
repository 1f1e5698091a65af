/* A media end for the SRTP-through-tandemd tests (run_b2b.sh cases
   srtp_*): binds IP:PORT on loopback, sends COUNT RTP packets (PT 0, 160
   bytes of a payload pattern that encodes the sender's role and sequence
   number) every 20 ms to DEST, SRTP-protected when a send key is given,
   and checks what it receives on the same socket (symmetric RTP): each
   packet SRTP-unprotected with the receive key when given, then its
   payload compared bit for bit with the pattern the other role sends.
   TAMPER packets with a broken auth tag go first (the relay must drop
   them: the other end would count a bad packet). Bounded by TIMEOUT
   seconds. Writes "srtp_peer ROLE: sent S received R bad B" and then
   "rc=N" to OUT (SIPp's <exec> runs it without a shell redirection) and
   exits N: 0 when R >= MIN and B == 0.

   srtp_peer ROLE OUT BIND DEST COUNT MIN TIMEOUT_S [SEND_KEY|- [RECV_KEY|-
	     [TAMPER]]]
   ROLE a|b; keys as SUITE:inline:BASE64 (RFC 4568 key-params). */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "media/sec.h"
#include "stack/mem.h"
#include "stack/pl.h"

static int
addr_of(const char *s, struct sockaddr_in *sin)
{
	char buf[64], *colon;

	snprintf(buf, sizeof(buf), "%s", s);
	colon = strrchr(buf, ':');
	if (!colon)
		return -1;
	*colon = '\0';
	memset(sin, 0, sizeof(*sin));
	sin->sin_family = AF_INET;
	sin->sin_port = htons((uint16_t)atoi(colon + 1));
	if (inet_pton(AF_INET, buf, &sin->sin_addr) != 1 ||
	    (ntohl(sin->sin_addr.s_addr) >> 24) != 127)
		return -1; /* loopback only */
	return 0;
}

static int
key_of(const char *s, struct sec_key *k)
{
	const char *colon = strchr(s, ':');
	struct pl suite, kp;
	enum sec_suite su;
	const char *why = NULL;

	if (!colon)
		return -1;
	pl_set(&suite, s, (size_t)(colon - s));
	pl_set(&kp, colon + 1, strlen(colon + 1));
	if (sec_suite_parse(&suite, &su) || sec_key_parse(k, su, &kp, &why)) {
		fprintf(stderr, "srtp_peer: bad key %s: %s\n", s,
			why ? why : "unknown suite");
		return -1;
	}
	return 0;
}

static uint64_t
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static void
fill(uint8_t *p, char role, uint16_t seq)
{
	unsigned i;

	p[0] = 0x80;
	p[1] = 0; /* PCMU */
	p[2] = (uint8_t)(seq >> 8);
	p[3] = (uint8_t)seq;
	memset(p + 4, 0, 4);
	p[7] = (uint8_t)(seq * 160);
	p[6] = (uint8_t)((seq * 160) >> 8);
	p[8] = (uint8_t)role;
	p[9] = 0x5e;
	p[10] = 0xc0;
	p[11] = 0x01;
	for (i = 0; i < 160; i++)
		p[12 + i] = (uint8_t)(role + seq * 7 + i);
}

int
main(int argc, char **argv)
{
	struct sockaddr_in me, dest;
	struct sec_key ks, kr;
	struct sec_stream *tx = NULL, *rx = NULL;
	unsigned count, min, tamper = 0, sent = 0, got = 0, bad = 0;
	uint8_t buf[2048] __attribute__((aligned(4)));
	uint8_t want[172];
	uint64_t end, next;
	char role, other;
	int fd;

	int rc;

	if (argc < 8 || (argv[1][0] != 'a' && argv[1][0] != 'b')) {
		fprintf(stderr, "usage: srtp_peer a|b OUT BIND DEST COUNT MIN "
				"TIMEOUT_S [SEND_KEY|- [RECV_KEY|- "
				"[TAMPER]]]\n");
		return 2;
	}
	if (!freopen(argv[2], "w", stdout) || !freopen(argv[2], "a", stderr))
		return 2;
	setvbuf(stdout, NULL, _IOLBF, 0);
	argv[2] = argv[1]; /* drop OUT: ROLE BIND DEST ... from here */
	argv++;
	argc--;
	if (addr_of(argv[2], &me) || addr_of(argv[3], &dest)) {
		printf("bad address\nrc=2\n");
		return 2;
	}
	role = argv[1][0];
	other = role == 'a' ? 'b' : 'a';
	count = (unsigned)atoi(argv[4]);
	min = (unsigned)atoi(argv[5]);
	end = now_ms() + 1000u * (unsigned)atoi(argv[6]);
	if (argc > 7 && strcmp(argv[7], "-") &&
	    (key_of(argv[7], &ks) ||
	     sec_stream_alloc(&tx, &ks, SEC_DIR_PROTECT))) {
		printf("bad send key\nrc=2\n");
		return 2;
	}
	if (argc > 8 && strcmp(argv[8], "-") &&
	    (key_of(argv[8], &kr) ||
	     sec_stream_alloc(&rx, &kr, SEC_DIR_UNPROTECT))) {
		printf("bad receive key\nrc=2\n");
		return 2;
	}
	if (argc > 9 && tx)
		tamper = (unsigned)atoi(argv[9]); /* SRTP senders only */
	fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || bind(fd, (struct sockaddr *)&me, sizeof(me))) {
		printf("bind: %s\nrc=1\n", strerror(errno));
		return 1;
	}
	next = now_ms();
	while (now_ms() < end && (sent < count + tamper || got < min)) {
		struct pollfd p = {.fd = fd, .events = POLLIN};
		uint64_t t = now_ms();
		int wait = sent < count + tamper && next > t ? (int)(next - t)
			   : sent < count + tamper	     ? 0
							     : 50;

		if (poll(&p, 1, wait) == 1) {
			ssize_t n = recv(fd, buf, sizeof(buf), 0);
			size_t len = n > 0 ? (size_t)n : 0;
			uint16_t seq;

			if (n <= 0)
				continue;
			if (len >= 2 && buf[1] >= 192 && buf[1] <= 223)
				continue; /* RTCP: not ours to check */
			if (rx && sec_rtp_unprotect(rx, buf, &len)) {
				bad++;
				continue;
			}
			seq = len >= 4 ? (uint16_t)(buf[2] << 8 | buf[3]) : 0;
			fill(want, other, seq);
			if (len != sizeof(want) ||
			    memcmp(buf + 12, want + 12, 160) ||
			    (buf[1] & 0x7f) != 0) {
				bad++;
				continue;
			}
			got++;
		}
		if (sent < count + tamper && now_ms() >= next) {
			size_t len = sizeof(want);
			uint16_t seq = (uint16_t)(sent + 1);

			fill(buf, role, seq);
			if (tx && sec_rtp_protect(tx, buf, &len, sizeof(buf)))
				return 1;
			if (sent < tamper)
				buf[len - 1] ^= 0x55; /* bad auth tag */
			if (sendto(fd, buf, len, 0, (struct sockaddr *)&dest,
				   sizeof(dest)) != (ssize_t)len)
				perror("srtp_peer: sendto");
			sent++;
			next += 20;
		}
	}
	rc = got >= min && bad == 0 ? 0 : 1;
	printf("srtp_peer %c: sent %u received %u bad %u\nrc=%d\n", role, sent,
	       got, bad, rc);
	mem_deref(tx);
	mem_deref(rx);
	close(fd);
	return rc;
}
