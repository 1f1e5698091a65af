/*
 * SIP over TLS (RFC 3261 §26.2, RFC 5922 §7 for the names a certificate
 * must carry): the OpenSSL 3 glue under tp_tcp.c. SSL_CTX set-up for the
 * server and client roles, one SSL per connection on a non-blocking
 * socket, the handshake step and read/write wrappers that turn OpenSSL's
 * WANT_READ / WANT_WRITE into flags tp_tcp.c acts on.
 *
 * OpenSSL's error queue is per thread: every entry point clears it before
 * its call and drains it before returning, so a stale error never shows
 * up in another connection's log line. Errors become errnos here, once.
 *
 * Socket I/O goes through our own BIO method (per ctx, no globals) so
 * writes use send(MSG_NOSIGNAL): OpenSSL's socket BIO calls write(),
 * which raises SIGPIPE when the peer has gone.
 */
#define LOG_MODULE "tp"

#include <arpa/inet.h>
#include <errno.h>
#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include "log.h"
#include "tp_int.h"

#define TLS_SID_CTX "tandem-sip"

/* Drain the error queue; the text of its first (root cause) entry. */
static const char *
tls_errs(char *buf, size_t sz)
{
	unsigned long e, first = 0;

	while ((e = ERR_get_error()) != 0)
		if (!first)
			first = e;
	if (first)
		ERR_error_string_n(first, buf, sz);
	else
		snprintf(buf, sz, "unknown TLS error");
	return buf;
}

/* ---- socket BIO with MSG_NOSIGNAL ----------------------------------- */

static int
bio_fd(BIO *b)
{
	return (int)(intptr_t)BIO_get_data(b);
}

static int
bio_sock_write(BIO *b, const char *buf, int len)
{
	ssize_t n;

	BIO_clear_retry_flags(b);
	do
		n = send(bio_fd(b), buf, (size_t)len,
			 MSG_DONTWAIT | MSG_NOSIGNAL);
	while (n < 0 && errno == EINTR);
	if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
		BIO_set_retry_write(b);
	return (int)n;
}

static int
bio_sock_read(BIO *b, char *buf, int len)
{
	ssize_t n;

	BIO_clear_retry_flags(b);
	do
		n = recv(bio_fd(b), buf, (size_t)len, MSG_DONTWAIT);
	while (n < 0 && errno == EINTR);
	if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
		BIO_set_retry_read(b);
	return (int)n;
}

static long
bio_sock_ctrl(BIO *b, int cmd, long num, void *ptr)
{
	return cmd == BIO_CTRL_FLUSH ? 1 : 0;
}

static int
bio_sock_create(BIO *b)
{
	BIO_set_init(b, 0);
	return 1;
}

static BIO_METHOD *
bio_method_new(void)
{
	BIO_METHOD *m = BIO_meth_new(BIO_get_new_index() | BIO_TYPE_SOURCE_SINK,
				     "tandem socket");

	if (!m)
		return NULL;
	if (!BIO_meth_set_write(m, bio_sock_write) ||
	    !BIO_meth_set_read(m, bio_sock_read) ||
	    !BIO_meth_set_ctrl(m, bio_sock_ctrl) ||
	    !BIO_meth_set_create(m, bio_sock_create)) {
		BIO_meth_free(m);
		return NULL;
	}
	return m;
}

/* ---- contexts ------------------------------------------------------- */

/* Encrypted keys are not supported: never let OpenSSL prompt on a tty. */
static int
tls_no_passwd(char *buf, int size, int rwflag, void *u)
{
	return 0;
}

static int
ctx_fail(const char *what, const char *arg)
{
	char why[256];

	LOG_ERR("tls: %s%s%s: %s", what, arg ? " " : "", arg ? arg : "",
		tls_errs(why, sizeof(why)));
	return EINVAL;
}

/* Protocol floor, options, ciphers: the same for both roles. */
static int
ctx_common(SSL_CTX *sc, const struct tp_tls_conf *tc, bool server)
{
	int minv = tc->min_version > TLS1_2_VERSION ? tc->min_version
						    : TLS1_2_VERSION;
	uint64_t opts = SSL_OP_NO_RENEGOTIATION | SSL_OP_NO_COMPRESSION |
			SSL_OP_IGNORE_UNEXPECTED_EOF;

	if (minv > TLS1_3_VERSION) {
		LOG_ERR("tls: unknown minimum version 0x%x", tc->min_version);
		return EINVAL;
	}
	if (!SSL_CTX_set_min_proto_version(sc, minv))
		return ctx_fail("minimum version", NULL);
	if (server)
		opts |= SSL_OP_CIPHER_SERVER_PREFERENCE;
	SSL_CTX_set_options(sc, opts);
	/* partial writes: the output queue drains what each write took */
	SSL_CTX_set_mode(sc, SSL_MODE_ENABLE_PARTIAL_WRITE |
				     SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER |
				     SSL_MODE_RELEASE_BUFFERS);
	SSL_CTX_set_default_passwd_cb(sc, tls_no_passwd);
	if (tc->ciphers && !SSL_CTX_set_cipher_list(sc, tc->ciphers))
		return ctx_fail("cipher list", tc->ciphers);
	if (tc->ciphersuites && !SSL_CTX_set_ciphersuites(sc, tc->ciphersuites))
		return ctx_fail("ciphersuites", tc->ciphersuites);
	return 0;
}

/* Our certificate chain and key. */
static int
ctx_cert(SSL_CTX *sc, const struct tp_tls_conf *tc)
{
	const char *key = tc->key_file ? tc->key_file : tc->cert_file;

	if (!SSL_CTX_use_certificate_chain_file(sc, tc->cert_file))
		return ctx_fail("certificate", tc->cert_file);
	if (!SSL_CTX_use_PrivateKey_file(sc, key, SSL_FILETYPE_PEM))
		return ctx_fail("private key", key);
	if (!SSL_CTX_check_private_key(sc))
		return ctx_fail("key does not match certificate", key);
	return 0;
}

static int
ctx_cas(SSL_CTX *sc, const struct tp_tls_conf *tc)
{
	if (!tc->ca_file && !tc->ca_dir) {
		if (!SSL_CTX_set_default_verify_paths(sc))
			return ctx_fail("default CA store", NULL);
		return 0;
	}
	if (!SSL_CTX_load_verify_locations(sc, tc->ca_file, tc->ca_dir))
		return ctx_fail("CA file/dir",
				tc->ca_file ? tc->ca_file : tc->ca_dir);
	return 0;
}

static int
ctx_server(SSL_CTX *sc, const struct tp_tls_conf *tc)
{
	STACK_OF(X509_NAME) * names;
	int err;

	err = ctx_common(sc, tc, true);
	if (!err)
		err = ctx_cert(sc, tc);
	if (err)
		return err;
	/* required with client verification and a session cache */
	SSL_CTX_set_session_id_context(sc, (const unsigned char *)TLS_SID_CTX,
				       sizeof(TLS_SID_CTX) - 1);
	if (!tc->require_client_cert)
		return 0;
	err = ctx_cas(sc, tc);
	if (err)
		return err;
	SSL_CTX_set_verify(
		sc, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, NULL);
	if (tc->ca_file) {
		/* tell clients which CAs we accept */
		names = SSL_load_client_CA_file(tc->ca_file);
		if (names)
			SSL_CTX_set_client_CA_list(sc, names);
		ERR_clear_error();
	}
	return 0;
}

static int
ctx_client(SSL_CTX *sc, const struct tp_tls_conf *tc)
{
	int err;

	err = ctx_common(sc, tc, false);
	if (!err && tc->cert_file)
		err = ctx_cert(sc, tc);
	if (!err && tc->verify_peer)
		err = ctx_cas(sc, tc);
	if (err)
		return err;
	SSL_CTX_set_verify(
		sc, tc->verify_peer ? SSL_VERIFY_PEER : SSL_VERIFY_NONE, NULL);
	return 0;
}

int
tp_tls_setup(struct tp_ctx *ctx)
{
	struct tp_tls_conf *tc = &ctx->conf.tls;
	int err = ENOMEM;

	ERR_clear_error();
	ctx->tls_bio = bio_method_new();
	ctx->tls_cli = SSL_CTX_new(TLS_client_method());
	if (!ctx->tls_bio || !ctx->tls_cli)
		goto out;
	err = ctx_client(ctx->tls_cli, tc);
	if (err || !tc->cert_file)
		goto out;
	err = ENOMEM;
	ctx->tls_srv = SSL_CTX_new(TLS_server_method());
	if (ctx->tls_srv)
		err = ctx_server(ctx->tls_srv, tc);
out:
	ERR_clear_error();
	/* borrowed strings: no pointer kept past tp_ctx_alloc() */
	tc->cert_file = tc->key_file = tc->ca_file = tc->ca_dir = NULL;
	tc->ciphers = tc->ciphersuites = NULL;
	return err;
}

void
tp_tls_free(struct tp_ctx *ctx)
{
	SSL_CTX_free(ctx->tls_srv);
	SSL_CTX_free(ctx->tls_cli);
	BIO_meth_free(ctx->tls_bio);
	ctx->tls_srv = ctx->tls_cli = NULL;
	ctx->tls_bio = NULL;
}

/* ---- connections ---------------------------------------------------- */

static bool
is_ip_literal(const char *host)
{
	unsigned char bin[16];

	return inet_pton(AF_INET, host, bin) == 1 ||
	       inet_pton(AF_INET6, host, bin) == 1;
}

/* Client role: SNI (DNS names only, RFC 6066 §3) and the name check. */
static int
conn_client_names(struct tp_conn *c)
{
	bool ip = is_ip_literal(c->host);

	if (!ip && !SSL_set_tlsext_host_name(c->ssl, c->host))
		return EINVAL;
	if (!c->ctx->conf.tls.verify_peer)
		return 0;
	if (ip)
		return X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(c->ssl),
						     c->host)
			       ? 0
			       : EINVAL;
	SSL_set_hostflags(c->ssl, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
	return SSL_set1_host(c->ssl, c->host) ? 0 : EINVAL;
}

int
tp_tls_conn_start(struct tp_conn *c)
{
	struct tp_ctx *ctx = c->ctx;
	SSL_CTX *sc = c->out ? ctx->tls_cli : ctx->tls_srv;
	char why[256];
	BIO *bio;
	int err = ENOMEM;

	if (!sc)
		return EINVAL;
	ERR_clear_error();
	c->ssl = SSL_new(sc);
	bio = BIO_new(ctx->tls_bio);
	if (!c->ssl || !bio) {
		BIO_free(bio);
		goto fail;
	}
	BIO_set_data(bio, (void *)(intptr_t)c->fd);
	BIO_set_init(bio, 1);
	SSL_set_bio(c->ssl, bio, bio); /* the SSL owns the BIO */
	if (!c->out) {
		SSL_set_accept_state(c->ssl);
		return 0;
	}
	SSL_set_connect_state(c->ssl);
	err = conn_client_names(c);
	if (!err)
		return 0;
fail:
	LOG_WARN("tls: cannot set up a connection: %s",
		 tls_errs(why, sizeof(why)));
	SSL_free(c->ssl);
	c->ssl = NULL;
	return err;
}

/* A failed handshake: count, log once with the peer and the reason,
   pick the errno for tp_err_h. */
static int
hs_fail(struct tp_conn *c, int sslerr, int syserr)
{
	struct tp_stats *st = &c->ctx->stats;
	long vr = SSL_get_verify_result(c->ssl);
	char peer[80], why[256];
	int err = EPROTO;

	st->tls_failed++;
	tp_addr_str((struct sockaddr *)&c->peer, peer, sizeof(peer));
	if (vr != X509_V_OK) {
		ERR_clear_error();
		snprintf(why, sizeof(why), "certificate verify failed: %s",
			 X509_verify_cert_error_string(vr));
		if (c->out) {
			st->tls_verify_failed++;
			err = ECONNREFUSED;
		}
	} else if (sslerr == SSL_ERROR_SYSCALL ||
		   sslerr == SSL_ERROR_ZERO_RETURN) {
		ERR_clear_error();
		err = syserr ? syserr : ECONNRESET;
		snprintf(why, sizeof(why), "%s", strerror(err));
	} else {
		tls_errs(why, sizeof(why));
	}
	if (c->out)
		LOG_WARN("tls to %s (%s): handshake failed, connection "
			 "refused: %s",
			 c->host, peer, why);
	else
		LOG_INFO("tls from %s: handshake failed: %s", peer, why);
	return err;
}

int
tp_tls_handshake(struct tp_conn *c)
{
	int rc, e;

	ERR_clear_error();
	errno = 0;
	rc = SSL_do_handshake(c->ssl);
	if (rc == 1) {
		c->rd_wants_w = false;
		c->ctx->stats.tls_handshakes++;
		LOG_DBG("tls %s %s: %s %s", c->out ? "to" : "from",
			c->out ? c->host : "peer", SSL_get_version(c->ssl),
			SSL_get_cipher_name(c->ssl));
		return 0;
	}
	e = SSL_get_error(c->ssl, rc);
	c->rd_wants_w = e == SSL_ERROR_WANT_WRITE;
	if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE)
		return EAGAIN;
	return hs_fail(c, e, errno);
}

/* After a failed SSL_read/SSL_write: the errno, the queue drained. */
static int
io_error(struct tp_conn *c, int e, int syserr, const char *op)
{
	char why[256], peer[80];

	if (e == SSL_ERROR_ZERO_RETURN) {
		ERR_clear_error();
		return ECONNRESET; /* close_notify, or EOF */
	}
	if (e == SSL_ERROR_SYSCALL) {
		ERR_clear_error();
		return syserr ? syserr : ECONNRESET;
	}
	LOG_DBG("tls %s %s: %s",
		tp_addr_str((struct sockaddr *)&c->peer, peer, sizeof(peer)),
		op, tls_errs(why, sizeof(why)));
	return EPROTO;
}

int
tp_tls_read(struct tp_conn *c, char *buf, size_t size, size_t *n)
{
	int rc, e;

	ERR_clear_error();
	errno = 0;
	rc = SSL_read_ex(c->ssl, buf, size, n);
	c->rd_wants_w = false;
	if (rc == 1)
		return 0;
	e = SSL_get_error(c->ssl, rc);
	if (e == SSL_ERROR_WANT_READ)
		return EAGAIN;
	if (e == SSL_ERROR_WANT_WRITE) {
		c->rd_wants_w = true;
		return EAGAIN;
	}
	return io_error(c, e, errno, "read");
}

int
tp_tls_write(struct tp_conn *c, const char *buf, size_t len, size_t *n)
{
	int rc, e;

	ERR_clear_error();
	errno = 0;
	rc = SSL_write_ex(c->ssl, buf, len, n);
	c->wr_wants_r = false;
	if (rc == 1)
		return 0;
	e = SSL_get_error(c->ssl, rc);
	if (e == SSL_ERROR_WANT_WRITE)
		return EAGAIN;
	if (e == SSL_ERROR_WANT_READ) {
		c->wr_wants_r = true;
		return EAGAIN;
	}
	return io_error(c, e, errno, "write");
}

bool
tp_tls_pending(const struct tp_conn *c)
{
	return c->ssl && SSL_pending(c->ssl) > 0;
}

void
tp_tls_conn_stop(struct tp_conn *c, bool graceful)
{
	if (!c->ssl)
		return;
	if (graceful && !c->handshaking) {
		ERR_clear_error();
		SSL_shutdown(c->ssl); /* one try: close_notify, no wait */
	}
	ERR_clear_error();
	SSL_free(c->ssl);
	c->ssl = NULL;
}
