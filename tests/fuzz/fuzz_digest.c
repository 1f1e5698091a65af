/*
 * libFuzzer target: digest authentication (stack/auth_*.c). The input is
 * decoded as a challenge and answered by a client, and decoded as
 * credentials and verified by a server. Every "@N" in the input is first
 * replaced by a nonce the server just issued, so verification gets past
 * the nonce MAC to the digest, freshness and nonce-count checks.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "stack/auth.h"
#include "stack/mem.h"
#include "stack/sip_msg.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_IN 4096

static int
lookup(const struct pl *user, const struct pl *realm, enum auth_alg alg,
       struct auth_secret *sec, void *arg)
{
	(void)realm;
	(void)alg;
	(void)arg;
	if (!pl_eq_str(user, "u"))
		return ENOENT;
	sec->is_ha1 = false;
	sec->len = 2;
	memcpy(sec->buf, "pw", 2);
	return 0;
}

static uint64_t
fixed_now(void *arg)
{
	(void)arg;
	return 1700000000;
}

static struct auth_server *
server(void)
{
	static struct auth_server *srv; /* harness only: one per process */
	static const uint8_t secret[AUTH_SECRET_LEN] = {7};
	struct auth_server_conf c;

	if (srv)
		return srv;
	memset(&c, 0, sizeof(c));
	c.realm = "r";
	c.secret = secret;
	c.algs = (AUTH_ALG_BIT(AUTH_ALG_COUNT) - 1);
	c.now_h = fixed_now;
	c.lookup_h = lookup;
	if (auth_server_alloc(&srv, &c))
		abort();
	return srv;
}

/* Copy data into out with "@N" replaced by nonce. */
static size_t
expand(const uint8_t *data, size_t size, const char *nonce, char *out)
{
	size_t i, o = 0, nl = strlen(nonce);

	for (i = 0; i < size && o + nl < MAX_IN; i++) {
		if (data[i] == '@' && i + 1 < size && data[i + 1] == 'N') {
			memcpy(out + o, nonce, nl);
			o += nl;
			i++;
		} else {
			out[o++] = (char)data[i];
		}
	}
	return o;
}

static void
client(const struct pl *v)
{
	struct auth_cred cred = {{"u", 1}, {"pw", 2}};
	struct auth_req req = {{"INVITE", 6}, {"sip:a@b", 7}, {"", 0}};
	struct auth_client cl;
	struct sip_auth ch;
	char buf[1024];
	size_t idx;

	if (sip_auth_decode(&ch, v, NULL))
		return;
	auth_client_init(&cl);
	if (auth_challenge_pick(&ch, 1, &idx) == 0 && idx != 0)
		abort();
	(void)auth_client_answer(&cl, &ch, &cred, &req, buf, sizeof(buf));
	(void)auth_client_answer(&cl, &ch, &cred, &req, buf, sizeof(buf));
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct auth_req req = {{"INVITE", 6}, {"sip:a@b", 7}, {"", 0}};
	struct auth_server *srv = server();
	char ch[512], nonce[128], in[MAX_IN];
	struct sip_auth a, cr;
	enum auth_verdict v;
	struct pl p;

	if (auth_server_challenge(srv, AUTH_ALG_MD5, false, NULL, ch,
				  sizeof(ch)))
		abort();
	p.p = ch;
	p.l = strlen(ch);
	if (sip_auth_decode(&a, &p, NULL))
		abort();
	p.p = in;
	p.l = expand(data, size, "", in);
	client(&p);
	pl_strcpy(&a.nonce, nonce, sizeof(nonce));
	p.l = expand(data, size, nonce, in);
	if (sip_auth_decode(&cr, &p, NULL) == 0) {
		if (auth_server_verify(srv, &cr, &req, NULL, &v))
			abort();
		if ((unsigned)v >= AUTH_V_COUNT)
			abort();
	}
	return 0;
}
