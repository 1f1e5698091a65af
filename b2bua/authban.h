/* Digest brute force (issue 10 item 4: "digest brute force slowed and
   logged"): failed digest answers counted per source address across all
   signaling workers; a source with `fails` failures inside `window_ms`
   is blocked for `ban_ms`, doubled at each new block up to 64 times
   (strikes forgotten after a quiet hour). While blocked, its digest
   attempts are refused without being checked, with the same 403 a wrong
   password gets (nothing tells the two apart), so guessing runs at a few
   tries per block. A success clears the source. */
#ifndef TANDEM_AUTHBAN_H
#define TANDEM_AUTHBAN_H

#include <stdint.h>
#include <sys/socket.h>

struct authban;

struct authban_conf {
	unsigned fails;	    /* failures that start a block; 0: off */
	uint64_t window_ms; /* they count inside this window; 60000 */
	uint64_t ban_ms;    /* the first block; 60000 */
};

/* A table for about 4096 sources (the least recently seen give way).
   Returns 0, EINVAL or ENOMEM. */
int authban_alloc(struct authban **abp, const struct authban_conf *conf);
void authban_free(struct authban *ab);

/* Is sa blocked at now_ms? 0: no; else the ms the block has left. Any
   thread (a short mutex). */
uint64_t authban_blocked(struct authban *ab, const struct sockaddr *sa,
			 uint64_t now_ms);
/* A failed digest from sa at now_ms: the length (ms) of the block it
   starts, 0 if none starts now; *nfails gets the failures counted. */
uint64_t authban_fail(struct authban *ab, const struct sockaddr *sa,
		      uint64_t now_ms, unsigned *nfails);
/* A digest from sa verified: its failures are forgotten. */
void authban_ok(struct authban *ab, const struct sockaddr *sa);

#endif
