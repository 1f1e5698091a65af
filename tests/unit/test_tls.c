/* Unit tests: SIP over TLS (stack/tp_tls.c with stack/tp_tcp.c). A
   throwaway CA and certificates are made with the openssl CLI (fixed
   arguments) in a temporary directory when the suite starts; sockets on
   127.0.0.1 only; every event loop run is bounded. */
#include <errno.h>
#include <event2/event.h>
#include <fcntl.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "stack/mem.h"
#include "stack/sip_msg.h"
#include "stack/tp.h"
#include "testutil.h"

static char certdir[64]; /* set by suite_init, removed by suite_clean */

/* ---- certificates ------------------------------------------------- */

static const char cnf[] = "[req]\n"
			  "distinguished_name = dn\n"
			  "prompt = no\n"
			  "[dn]\n"
			  "CN = unused\n"
			  "[v3_ca]\n"
			  "basicConstraints = critical,CA:TRUE\n"
			  "keyUsage = critical,keyCertSign,cRLSign\n"
			  "subjectKeyIdentifier = hash\n"
			  "[srv]\n"
			  "basicConstraints = CA:FALSE\n"
			  "keyUsage = critical,digitalSignature\n"
			  "extendedKeyUsage = serverAuth\n"
			  "subjectAltName = DNS:sbc.test,IP:127.0.0.1\n"
			  "[cli]\n"
			  "basicConstraints = CA:FALSE\n"
			  "keyUsage = critical,digitalSignature\n"
			  "extendedKeyUsage = clientAuth\n";

#define KEYGEN "-newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes"
#define SIGN(ca, ext, serial)                                                  \
	"-CA " ca ".crt -CAkey " ca ".key -set_serial " serial                 \
	" -days 2 -extfile t.cnf -extensions " ext

static const char *const cmds[] = {
	"openssl req -x509 -config t.cnf -extensions v3_ca " KEYGEN
	" -keyout ca.key -out ca.crt -days 2 -subj /CN=Tandem-Test-CA",
	"openssl req -new -config t.cnf " KEYGEN
	" -keyout srv.key -out srv.csr -subj /CN=sbc.test",
	"openssl x509 -req -in srv.csr " SIGN("ca", "srv", "2") " -out srv.crt",
	"openssl req -new -config t.cnf " KEYGEN
	" -keyout cli.key -out cli.csr -subj /CN=client.test",
	"openssl x509 -req -in cli.csr " SIGN("ca", "cli", "3") " -out cli.crt",
	"openssl req -x509 -config t.cnf -extensions v3_ca " KEYGEN
	" -keyout ca2.key -out ca2.crt -days 2 -subj /CN=Rogue-CA",
	"openssl req -new -config t.cnf " KEYGEN
	" -keyout srv2.key -out srv2.csr -subj /CN=sbc.test",
	"openssl x509 -req -in srv2.csr " SIGN("ca2", "srv",
					       "4") " -out srv2.crt",
};

static const char *const files[] = {
	"t.cnf",   "ca.key",   "ca.crt",   "srv.key", "srv.csr",
	"srv.crt", "cli.key",  "cli.csr",  "cli.crt", "ca2.key",
	"ca2.crt", "srv2.key", "srv2.csr", "srv2.crt"};

static int
suite_init(void)
{
	char cmd[512], path[128];
	FILE *f;
	size_t i;

	/* raw test clients use OpenSSL's socket BIO, which write()s */
	signal(SIGPIPE, SIG_IGN);
	snprintf(certdir, sizeof(certdir), "/tmp/tandem-tls-XXXXXX");
	if (!mkdtemp(certdir))
		return 1;
	snprintf(path, sizeof(path), "%s/t.cnf", certdir);
	f = fopen(path, "w");
	if (!f)
		return 1;
	fputs(cnf, f);
	fclose(f);
	for (i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++) {
		snprintf(cmd, sizeof(cmd), "cd %s && %s >/dev/null 2>&1",
			 certdir, cmds[i]);
		if (system(cmd) != 0) {
			fprintf(stderr, "tls suite: failed: %s\n", cmd);
			return 1;
		}
	}
	return 0;
}

static int
suite_clean(void)
{
	char path[128];
	size_t i;

	for (i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		snprintf(path, sizeof(path), "%s/%s", certdir, files[i]);
		unlink(path);
	}
	rmdir(certdir);
	return 0;
}

/* Paths of the files a conf names; the strings live here. */
struct certs {
	char cert[128], key[128], ca[128];
};

static void
tls_conf(struct tp_conf *conf, struct certs *p, const char *cert,
	 const char *ca)
{
	tp_conf_default(conf);
	if (cert) {
		snprintf(p->cert, sizeof(p->cert), "%s/%s.crt", certdir, cert);
		snprintf(p->key, sizeof(p->key), "%s/%s.key", certdir, cert);
		conf->tls.cert_file = p->cert;
		conf->tls.key_file = p->key;
	}
	if (ca) {
		snprintf(p->ca, sizeof(p->ca), "%s/%s.crt", certdir, ca);
		conf->tls.ca_file = p->ca;
	}
}

/* ---- harness ------------------------------------------------------ */

struct peer {
	struct tp_ctx *tp;
	bool answer; /* reply 200 to requests over the same connection */
	int nrecv, nerr, lasterr;
	uint16_t status;
	struct tp_recv rx; /* copy of the last one (holds a conn ref) */
};

static const char req_fmt[] =
	"OPTIONS sip:sbc.test;transport=tls SIP/2.0\r\n"
	"Via: SIP/2.0/TLS 127.0.0.1:5099;branch=z9hG4bK%d\r\n"
	"Max-Forwards: 70\r\n"
	"From: <sip:a@example.com>;tag=1\r\n"
	"To: <sip:b@sbc.test>\r\n"
	"Call-ID: tls%d@example.com\r\n"
	"CSeq: 1 OPTIONS\r\n"
	"Content-Length: 0\r\n\r\n";

static void
answer(struct peer *p, const struct sip_msg *msg, const struct tp_recv *rx)
{
	char buf[1024];
	int n;

	n = snprintf(buf, sizeof(buf),
		     "SIP/2.0 200 OK\r\n"
		     "Via: %.*s\r\n"
		     "From: <sip:a@example.com>;tag=1\r\n"
		     "To: <sip:b@sbc.test>;tag=2\r\n"
		     "Call-ID: %.*s\r\n"
		     "CSeq: 1 OPTIONS\r\n"
		     "Content-Length: 0\r\n\r\n",
		     (int)msg->via.raw.l, msg->via.raw.p, (int)msg->callid.l,
		     msg->callid.p);
	CU_ASSERT(tp_send_response(p->tp, rx, buf, (size_t)n) == 0);
}

static void
on_recv(const struct sip_msg *msg, const struct tp_recv *rx, void *arg)
{
	struct peer *p = arg;

	p->status = msg->status;
	tp_recv_release(&p->rx);
	tp_recv_copy(&p->rx, rx);
	p->nrecv++;
	if (p->answer && msg->req)
		answer(p, msg, rx);
}

static void
on_err(enum tp_proto proto, const struct sockaddr *peer, socklen_t len, int err,
       void *arg)
{
	struct peer *p = arg;

	p->nerr++;
	p->lasterr = err;
}

static int
peer_init(struct peer *p, struct event_base *base, const struct tp_conf *conf)
{
	memset(p, 0, sizeof(*p));
	return tp_ctx_alloc(&p->tp, base, conf, on_recv, on_err, p);
}

static void
peer_done(struct peer *p)
{
	tp_recv_release(&p->rx);
	p->tp = mem_deref(p->tp);
}

static void
run(struct event_base *base, int ms)
{
	struct timeval tv = {0, ms * 1000};

	event_base_loopexit(base, &tv);
	event_base_dispatch(base);
}

/* Run in 10 ms slices until *v64 or *v reaches want, at most ms. */
static void
run_until(struct event_base *base, const uint64_t *v64, const int *v, long want,
	  int ms)
{
	int t;

	for (t = 0; t < ms; t += 10) {
		if ((v64 && (long)*v64 >= want) || (v && *v >= want))
			return;
		run(base, 10);
	}
}

/* A TLS server peer on 127.0.0.1 answering requests; its port. */
static uint16_t
server_up(struct peer *srv, struct event_base *base, const char *cert,
	  bool mtls)
{
	struct tp_conf conf;
	struct certs c;

	tls_conf(&conf, &c, cert, mtls ? "ca" : NULL);
	conf.tls.require_client_cert = mtls;
	conf.tls.handshake_ms = 300;
	CU_ASSERT_FATAL(peer_init(srv, base, &conf) == 0);
	srv->answer = true;
	CU_ASSERT_FATAL(tp_listen_str(srv->tp, TP_TLS, "127.0.0.1", 0) == 0);
	return tp_local_port(srv->tp, TP_TLS, AF_INET);
}

/* A client peer (no listener) verifying against ca, with cert if set. */
static void
client_up(struct peer *cli, struct event_base *base, const char *cert,
	  const char *ca)
{
	struct tp_conf conf;
	struct certs c;

	tls_conf(&conf, &c, cert, ca);
	CU_ASSERT_FATAL(peer_init(cli, base, &conf) == 0);
	CU_ASSERT_FATAL(tp_sentby_add(cli->tp, "127.0.0.1", 5099) == 0);
}

static int
send_req(struct peer *cli, uint16_t port, const char *host, int n)
{
	struct sockaddr_storage ss;
	socklen_t len;
	char buf[1024];
	int l = snprintf(buf, sizeof(buf), req_fmt, n, n);

	CU_ASSERT_FATAL(tp_addr_set(&ss, &len, "127.0.0.1", port) == 0);
	return tp_send_host(cli->tp, TP_TLS, (struct sockaddr *)&ss, len, host,
			    NULL, buf, (size_t)l);
}

/* ---- tests -------------------------------------------------------- */

static void
test_tls_conf(void)
{
	struct event_base *base = event_base_new();
	struct tp_conf conf;
	struct certs c;
	struct peer p;

	CU_ASSERT_FATAL(base != NULL);
	CU_ASSERT_STRING_EQUAL(tp_proto_name(TP_TLS), "TLS");
	tp_conf_default(&conf);
	CU_ASSERT(conf.tls.verify_peer);
	CU_ASSERT(!conf.tls.require_client_cert);
	CU_ASSERT_EQUAL(conf.tls.min_version, TLS1_2_VERSION);
	/* no certificate: no TLS listener */
	CU_ASSERT_FATAL(peer_init(&p, base, &conf) == 0);
	CU_ASSERT_EQUAL(tp_listen_str(p.tp, TP_TLS, "127.0.0.1", 0), EINVAL);
	peer_done(&p);
	/* a missing file, a key of another certificate, bad ciphers */
	tls_conf(&conf, &c, "srv", "ca");
	conf.tls.cert_file = "/nonexistent/x.crt";
	CU_ASSERT_EQUAL(peer_init(&p, base, &conf), EINVAL);
	tls_conf(&conf, &c, "srv", "ca");
	snprintf(c.key, sizeof(c.key), "%s/cli.key", certdir);
	CU_ASSERT_EQUAL(peer_init(&p, base, &conf), EINVAL);
	tls_conf(&conf, &c, "srv", "ca");
	conf.tls.ciphers = "NO-SUCH-CIPHER";
	CU_ASSERT_EQUAL(peer_init(&p, base, &conf), EINVAL);
	event_base_free(base);
}

/* (1) request over TLS, response back on the same connection; reuse is
   keyed by the verified name */
static void
test_tls_request_response(void)
{
	struct event_base *base = event_base_new();
	struct peer srv, cli;
	uint16_t port;

	CU_ASSERT_FATAL(base != NULL);
	port = server_up(&srv, base, "srv", false);
	client_up(&cli, base, NULL, "ca");
	CU_ASSERT_EQUAL(send_req(&cli, port, "sbc.test", 1), 0);
	run_until(base, NULL, &cli.nrecv, 1, 2000);
	CU_ASSERT_EQUAL(srv.nrecv, 1);
	CU_ASSERT_EQUAL(srv.rx.proto, TP_TLS);
	CU_ASSERT_EQUAL(cli.nrecv, 1);
	CU_ASSERT_EQUAL(cli.status, 200);
	CU_ASSERT_EQUAL(cli.rx.proto, TP_TLS);
	CU_ASSERT(tp_conn_open(cli.rx.conn));
	CU_ASSERT_EQUAL(cli.nerr, 0);
	CU_ASSERT_EQUAL(tp_stats(cli.tp)->tls_handshakes, 1);
	CU_ASSERT_EQUAL(tp_stats(srv.tp)->tls_handshakes, 1);
	/* same name: the connection is reused */
	CU_ASSERT_EQUAL(send_req(&cli, port, "sbc.test", 2), 0);
	run_until(base, NULL, &cli.nrecv, 2, 2000);
	CU_ASSERT_EQUAL(srv.nrecv, 2);
	CU_ASSERT_EQUAL(tp_stats(srv.tp)->tcp_accepted, 1);
	/* another name (the IP, in the SAN): a new, verified connection */
	CU_ASSERT_EQUAL(send_req(&cli, port, NULL, 3), 0);
	run_until(base, NULL, &cli.nrecv, 3, 2000);
	CU_ASSERT_EQUAL(cli.nrecv, 3);
	CU_ASSERT_EQUAL(tp_stats(srv.tp)->tcp_accepted, 2);
	CU_ASSERT_EQUAL(tp_stats(cli.tp)->tls_failed, 0);
	peer_done(&cli);
	peer_done(&srv);
	event_base_free(base);
}

/* (2) and (3): wrong name, untrusted issuer: refused, error reported */
static void
check_refused(const char *srvcert, const char *host)
{
	struct event_base *base = event_base_new();
	struct peer srv, cli;
	uint16_t port;

	CU_ASSERT_FATAL(base != NULL);
	port = server_up(&srv, base, srvcert, false);
	client_up(&cli, base, NULL, "ca");
	CU_ASSERT_EQUAL(send_req(&cli, port, host, 1), 0);
	run_until(base, NULL, &cli.nerr, 1, 2000);
	CU_ASSERT_EQUAL(cli.nerr, 1);
	CU_ASSERT_EQUAL(cli.lasterr, ECONNREFUSED);
	CU_ASSERT_EQUAL(tp_stats(cli.tp)->tls_verify_failed, 1);
	CU_ASSERT_EQUAL(srv.nrecv, 0);
	/* nothing reusable was left: a new attempt fails the same way */
	CU_ASSERT_EQUAL(send_req(&cli, port, host, 2), 0);
	run_until(base, NULL, &cli.nerr, 2, 2000);
	CU_ASSERT_EQUAL(cli.nerr, 2);
	CU_ASSERT_EQUAL(srv.nrecv, 0);
	peer_done(&cli);
	peer_done(&srv);
	event_base_free(base);
}

static void
test_tls_wrong_host(void)
{
	check_refused("srv", "other.test");
}

static void
test_tls_untrusted(void)
{
	check_refused("srv2", "sbc.test");
}

/* (4) mutual TLS */
static void
test_tls_mutual(void)
{
	struct event_base *base = event_base_new();
	struct peer srv, anon, cli;
	uint16_t port;

	CU_ASSERT_FATAL(base != NULL);
	port = server_up(&srv, base, "srv", true);
	client_up(&anon, base, NULL, "ca");
	CU_ASSERT_EQUAL(send_req(&anon, port, "sbc.test", 1), 0);
	run_until(base, &tp_stats(srv.tp)->tls_failed, NULL, 1, 2000);
	run(base, 50);
	CU_ASSERT_EQUAL(tp_stats(srv.tp)->tls_failed, 1);
	CU_ASSERT_EQUAL(tp_stats(srv.tp)->tls_handshakes, 0);
	CU_ASSERT_EQUAL(srv.nrecv, 0);
	CU_ASSERT_EQUAL(anon.nrecv, 0);

	client_up(&cli, base, "cli", "ca");
	CU_ASSERT_EQUAL(send_req(&cli, port, "sbc.test", 2), 0);
	run_until(base, NULL, &cli.nrecv, 1, 2000);
	CU_ASSERT_EQUAL(srv.nrecv, 1);
	CU_ASSERT_EQUAL(cli.nrecv, 1);
	CU_ASSERT_EQUAL(cli.status, 200);
	CU_ASSERT_EQUAL(tp_stats(srv.tp)->tls_handshakes, 1);
	peer_done(&cli);
	peer_done(&anon);
	peer_done(&srv);
	event_base_free(base);
}

/* A plain TCP socket connected to 127.0.0.1:port, non-blocking. */
static int
raw_connect(uint16_t port)
{
	struct sockaddr_storage ss;
	socklen_t len;
	int fd;

	if (tp_addr_set(&ss, &len, "127.0.0.1", port))
		return -1;
	fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd >= 0 && connect(fd, (struct sockaddr *)&ss, len)) {
		close(fd);
		return -1;
	}
	if (fd >= 0)
		fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
	return fd;
}

/* (5) a TLS 1.1 client is refused by the server */
static void
test_tls_old_version(void)
{
	struct event_base *base = event_base_new();
	SSL_CTX *sc = SSL_CTX_new(TLS_client_method());
	SSL *ssl = NULL;
	struct peer srv;
	uint16_t port;
	int fd, rc = 0, t, e;

	CU_ASSERT_FATAL(base != NULL && sc != NULL);
	port = server_up(&srv, base, "srv", false);
	SSL_CTX_set_security_level(sc, 0);
	CU_ASSERT(SSL_CTX_set_min_proto_version(sc, TLS1_VERSION));
	CU_ASSERT(SSL_CTX_set_max_proto_version(sc, TLS1_1_VERSION));
	CU_ASSERT(SSL_CTX_set_cipher_list(sc, "DEFAULT:@SECLEVEL=0"));
	SSL_CTX_set_verify(sc, SSL_VERIFY_NONE, NULL);
	fd = raw_connect(port);
	CU_ASSERT_FATAL(fd >= 0);
	ssl = SSL_new(sc);
	CU_ASSERT_FATAL(ssl && SSL_set_fd(ssl, fd));
	for (t = 0; t < 2000; t += 10) {
		rc = SSL_connect(ssl);
		e = SSL_get_error(ssl, rc);
		if (rc == 1 ||
		    (e != SSL_ERROR_WANT_READ && e != SSL_ERROR_WANT_WRITE))
			break;
		run(base, 10);
	}
	CU_ASSERT(rc != 1);
	ERR_clear_error();
	run_until(base, &tp_stats(srv.tp)->tls_failed, NULL, 1, 1000);
	CU_ASSERT_EQUAL(tp_stats(srv.tp)->tls_failed, 1);
	CU_ASSERT_EQUAL(tp_stats(srv.tp)->tls_handshakes, 0);
	SSL_free(ssl);
	SSL_CTX_free(sc);
	close(fd);
	peer_done(&srv);
	event_base_free(base);
}

/* (6) a peer that never starts the handshake is closed in time */
static void
test_tls_handshake_timeout(void)
{
	struct event_base *base = event_base_new();
	struct pollfd pf;
	struct peer srv;
	uint16_t port;
	char b[16];
	int fd;

	CU_ASSERT_FATAL(base != NULL);
	port = server_up(&srv, base, "srv", false); /* 300 ms */
	fd = raw_connect(port);
	CU_ASSERT_FATAL(fd >= 0);
	run(base, 100);
	CU_ASSERT_EQUAL(tp_stats(srv.tp)->tls_timeouts, 0);
	run_until(base, &tp_stats(srv.tp)->tls_timeouts, NULL, 1, 2000);
	CU_ASSERT_EQUAL(tp_stats(srv.tp)->tls_timeouts, 1);
	CU_ASSERT_EQUAL(tp_stats(srv.tp)->tcp_idle, 0);
	pf.fd = fd;
	pf.events = POLLIN;
	CU_ASSERT(poll(&pf, 1, 1000) == 1);
	CU_ASSERT_EQUAL(recv(fd, b, sizeof(b), MSG_DONTWAIT), 0); /* EOF */
	close(fd);
	peer_done(&srv);
	event_base_free(base);
}

/* (6, client side) a server that accepts TCP and never answers the
   ClientHello: the handshake timeout reports ETIMEDOUT */
static void
test_tls_handshake_timeout_out(void)
{
	struct event_base *base = event_base_new();
	struct sockaddr_storage ss;
	struct tp_conf conf;
	struct certs c;
	struct peer cli;
	socklen_t len;
	int lfd;

	CU_ASSERT_FATAL(base != NULL);
	CU_ASSERT_FATAL(tp_addr_set(&ss, &len, "127.0.0.1", 0) == 0);
	lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	CU_ASSERT_FATAL(lfd >= 0);
	CU_ASSERT_FATAL(bind(lfd, (struct sockaddr *)&ss, len) == 0);
	CU_ASSERT_FATAL(listen(lfd, 4) == 0);
	len = sizeof(ss);
	getsockname(lfd, (struct sockaddr *)&ss, &len);
	tls_conf(&conf, &c, NULL, "ca");
	conf.tls.handshake_ms = 200;
	CU_ASSERT_FATAL(peer_init(&cli, base, &conf) == 0);
	CU_ASSERT_EQUAL(send_req(&cli,
				 ntohs(((struct sockaddr_in *)&ss)->sin_port),
				 "sbc.test", 1),
			0);
	run_until(base, NULL, &cli.nerr, 1, 2000);
	CU_ASSERT_EQUAL(cli.nerr, 1);
	CU_ASSERT_EQUAL(cli.lasterr, ETIMEDOUT);
	CU_ASSERT_EQUAL(tp_stats(cli.tp)->tls_timeouts, 1);
	close(lfd);
	peer_done(&cli);
	event_base_free(base);
}

void test_tls_register(void);
void
test_tls_register(void)
{
	CU_pSuite s = CU_add_suite("tls", suite_init, suite_clean);

	if (!s) {
		fprintf(stderr, "CUnit: cannot add suite tls: %s\n",
			CU_get_error_msg());
		exit(2);
	}
	TU_ADD(s, test_tls_conf);
	TU_ADD(s, test_tls_request_response);
	TU_ADD(s, test_tls_wrong_host);
	TU_ADD(s, test_tls_untrusted);
	TU_ADD(s, test_tls_mutual);
	TU_ADD(s, test_tls_old_version);
	TU_ADD(s, test_tls_handshake_timeout);
	TU_ADD(s, test_tls_handshake_timeout_out);
}
