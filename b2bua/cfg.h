/* tandemd configuration: an INI file (libinih) plus command-line
   overrides "-o section.key=value"; every bad line is reported with its
   file, line and reason. deploy/tandem.conf.example documents each key. */
#ifndef TANDEM_CFG_H
#define TANDEM_CFG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define CFG_MAX_ROUTES 64
#define CFG_MAX_TARGETS 8
#define CFG_MAX_CODES 16

/* One static route ([route.NAME] sections): the first-match-wins table
   a lab or a first start uses when no database policy is configured. */
struct cfg_target {
	char host[64]; /* numeric IP or DNS name (RFC 3263) */
	uint16_t port;
	char transport[4]; /* "udp" or "tcp" */
};

struct cfg_route {
	char name[32];
	char prefix[32]; /* called-number prefix; "" matches all */
	unsigned strip;	 /* digits removed from the front */
	char add[32];	 /* prefix added after stripping */
	struct cfg_target targets[CFG_MAX_TARGETS];
	unsigned ntargets;
	uint16_t failover[CFG_MAX_CODES]; /* statuses that try the next
					     target; 0-terminated */
	unsigned nfailover;
	unsigned options_s; /* OPTIONS probe interval of the targets; 0 off */
	char auth_user[64]; /* outbound digest credentials of the targets */
	char auth_pass[64];
	bool reg;	      /* the targets need us registered with them */
	uint8_t srtp;	      /* enum pol_srtp of the targets: off */
	char codecs[128];     /* codec allow list of the targets; "" any */
	char status_map[128]; /* "486=600,...": their final statuses
				 translated for the caller; "" none */
	bool nat;	      /* the targets are behind NAT (media latching) */
	bool relay_3xx;	      /* their 3xx relayed to the caller (else
				 followed to a known trunk) */
	char media_addr[46];  /* the relay's address toward them; "" =
				 media.ip_b */
	bool keep_ice;	      /* ICE attributes kept toward them */
	bool hdr_pass;	      /* header policy toward them: pass the
				 caller's extension headers (else strip) */
	char hdr_list[256];   /* the exceptions, comma separated */
	char hdr_add[512];    /* header lines added (LF separated) */
	unsigned reg_expires; /* asked registration lifetime, s; 3600 */
};

struct cfg {
	/* [sip] */
	char listen[64];  /* numeric address; default 127.0.0.1 */
	uint16_t port;	  /* default 5060 */
	bool tcp;	  /* also listen on TCP; default false */
	unsigned workers; /* signaling workers; 0 = one per core */
	unsigned t1, t2;  /* ms; 500, 4000 */
	char server[64];  /* Server / User-Agent; "Tandem" */
	bool refer;	  /* REFER: Tandem transfers (yes) or 403 (no) */
	bool prack;	  /* RFC 3262 100rel per leg; yes */
	unsigned session_expires; /* RFC 4028 per leg, s; 0 off; 1800 */
	unsigned min_se;	  /* our Min-SE, s; 90 */
	char realm[64];		  /* digest realm of inbound challenges; "" =
				     listen */
	char auth_user[64];	  /* static policy: callers must authenticate */
	char auth_pass[64];	  /* with these digest credentials; "" = no */
	char sources[256];	  /* static policy: CIDRs calls may come from,
				     comma separated; "" = any */
	uint8_t srtp;		  /* static policy: enum pol_srtp of the
				     callers' trunk; off */
	bool nat;		  /* static policy: callers behind NAT */
	char dns_servers[256];	  /* resolver for trunks named by DNS,
				     "ip[:port],..."; "" = resolv.conf */
	char codecs[128];	  /* static policy: the callers' trunk's
				     codec allow list; "" = any */
	char user[32];		  /* become this user once the sockets are
				     bound; "" = stay who we are */
	/* [limits] */
	unsigned max_calls;	  /* concurrent calls; 10000 */
	unsigned no_answer_s;	  /* B-leg ringing limit; 60 */
	unsigned max_duration_s;  /* call length limit; 14400 */
	unsigned drain_timeout_s; /* SIGTERM: wait for calls; 30 */
	unsigned max_txn;	  /* transactions alive per worker (RFC 3261
				     keeps each ~32 s after its call: about
				     100 per call-second); 0 = no limit;
				     262144 */
	unsigned source_ban_s;	  /* a source over source_rps is banned this
				     long; 0 = no ban; 10 */
	bool source_403;	  /* refused ones get 403 (else dropped) */
	unsigned source_rps;	  /* out-of-dialog requests per second one
				     source address may send (burst: twice);
				     more are dropped; 0 = off; 200 */
	unsigned auth_fails;	  /* failed digests from one source that
				     block its digests; 0 = off; 5 */
	unsigned auth_window_s;	  /* they count inside it; 60 */
	unsigned auth_ban_s;	  /* the first block, doubled per block;
				     60 */
	/* [log] */
	char log_level[8];  /* err, warn, info, debug; info */
	char log_target[8]; /* stderr or syslog */
	/* [media] */
	bool media;		     /* relay RTP through Tandem; default yes */
	char media_ip_a[64];	     /* local address toward the caller side;
					default: sip.listen */
	char media_ip_b[64];	     /* toward the callee side; default: ip_a */
	unsigned port_min, port_max; /* RTP port range; 30000..39999 */
	unsigned media_workers;	     /* 0: one per core */
	unsigned rtp_timeout_s;	     /* silence that ends a call; 0: off */
	/* [db] */
	char db_dsn[256];   /* libpq DSN of the policy database; "" = the
			       static [route.*] table of this file */
	char db_cache[256]; /* the last good database policy kept here, read
			       when the database is unreachable at start;
			       "" = <cdr_spool>/policy.cache, "off" = none */
	/* [cdr] */
	char cdr_dsn[256];     /* where CDRs go; "" = db.dsn; both empty:
				  no CDRs */
	char cdr_spool[256];   /* spool folder; /var/spool/tandem */
	char node[64];	       /* node name in CDRs; "" = host name */
	unsigned cdr_fsync_ms; /* spool fdatasync interval; 100 */
	/* [cluster] */
	unsigned cluster_nodes; /* tandemds sharing the trunks: each admits
				   lim_share() of a trunk's max_calls and
				   max_cps; 1 */
	/* [api] */
	char api_listen[64]; /* management API address:port; "" = off */
	char api_token[128]; /* bearer token; "" = none */
	bool ladder;	     /* keep each call's messages (GET /calls/{id});
				yes */
	/* [route.*] */
	struct cfg_route routes[CFG_MAX_ROUTES];
	unsigned nroutes;
};

void cfg_default(struct cfg *c);

/*
 * Parse the INI file path into c (defaults first). On error returns
 * EINVAL (a bad line: err gets "path:line: reason") or the errno of
 * opening the file; the first problem is reported, and every bad line
 * makes the whole file fail (the daemon refuses to start).
 */
int cfg_load(struct cfg *c, const char *path, char *err, size_t errsz);

/* Apply one "section.key=value" override (-o). Returns 0 or EINVAL with
   err "-o section.key=value: reason". */
int cfg_override(struct cfg *c, const char *kv, char *err, size_t errsz);

/* Checks across keys (a route without targets ...). Returns 0 or EINVAL
   with err naming the section. */
int cfg_check(const struct cfg *c, char *err, size_t errsz);

#endif
