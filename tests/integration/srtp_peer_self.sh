#!/usr/bin/env bash
# srtp_peer against itself, back to back on 127.0.0.1 (no tandemd): the
# media end of the srtp_* B2B cases must pass what is right and fail what
# is wrong, or those cases prove nothing. Pairs: plain both ways; SRTP
# both ways (AES_CM_128_HMAC_SHA1_80 and _32, a different key per
# direction); and the failures it must report: tampered tags (what the
# relay is to drop in srtp_carrier / srtp_pbx arrive here unfiltered),
# a wrong receive key, plain RTP to an SRTP receiver.
#
#   srtp_peer_self.sh SRTP_PEER
#
# Exit 0 pass, 1 fail, 2 usage. Every peer is bounded by its own timeout
# (5 s) and waited for by PID.
set -euo pipefail

if [ $# -ne 1 ] || [ ! -x "$1" ]; then
	echo "usage: $0 SRTP_PEER" >&2
	exit 2
fi
PEER=$1
WORK=$(mktemp -d "${TMPDIR:-/tmp}/srtp-peer-self.XXXXXX")
trap 'rm -rf "$WORK"' EXIT
FAILED=0

# two free UDP ports on 127.0.0.1 (not bound by anyone now)
free_port() {
	local p
	while :; do
		p=$((20000 + RANDOM % 20000))
		if ! ss -Hlun "sport = :$p" | grep -q . &&
			! ss -Hlun "sport = :$((p + 1))" | grep -q .; then
			echo "$p"
			return
		fi
	done
}

K80A=AES_CM_128_HMAC_SHA1_80:inline:WVNfX19zZW1jdGwgKCkgewkyMjA7fQp9CnVubGVz
K80B=AES_CM_128_HMAC_SHA1_80:inline:d0RmdmcmVCspeEc3QGZiNWpVLFJhQX1cfHAwJSoj
K32A=AES_CM_128_HMAC_SHA1_32:inline:NzB4d1BINUAvLEw6UzF3WSJ+PSdFcGdUJShpX1Zj
K32B=AES_CM_128_HMAC_SHA1_32:inline:QUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVphYmNk

# pair NAME WANT_A WANT_B "A_ARGS" "B_ARGS": a and b send 50 each to one
# another (MIN 40), A_ARGS/B_ARGS = SEND_KEY RECV_KEY TAMPER; WANT_x is
# the exit code expected of x and, after a slash, the least bad count
pair() {
	local name=$1 wa=$2 wb=$3 pa pb ra rb a_pid b_pid ok=1
	local -a aa bb
	read -r -a aa <<<"$4"
	read -r -a bb <<<"$5"
	pa=$(free_port)
	pb=$((pa + 1))
	# b first: every packet a sends (tampered ones first) finds b bound
	"$PEER" b "$WORK/$name.b" "127.0.0.1:$pb" "127.0.0.1:$pa" 50 40 5 \
		"${bb[@]}" &
	b_pid=$!
	sleep 0.1
	"$PEER" a "$WORK/$name.a" "127.0.0.1:$pa" "127.0.0.1:$pb" 50 40 5 \
		"${aa[@]}" &
	a_pid=$!
	ra=0
	wait "$a_pid" || ra=$?
	rb=0
	wait "$b_pid" || rb=$?
	for x in a:"$ra":"$wa" b:"$rb":"$wb"; do
		IFS=: read -r role rc want <<<"$x"
		local wrc=${want%%/*} wbad=${want#*/}
		local line bad
		line=$(grep '^srtp_peer' "$WORK/$name.$role" || echo "(no result)")
		bad=$(sed -n 's/.* bad \([0-9]*\)$/\1/p' <<<"$line")
		# bad exactly 0 when none is wanted, else at least wbad (b's
		# packets to a before a binds are lost, a's to b are not)
		if [ "$rc" != "$wrc" ] || [ -z "$bad" ] ||
			{ [ "$wbad" -eq 0 ] && [ "$bad" -ne 0 ]; } ||
			[ "$bad" -lt "$wbad" ]; then
			ok=0
		fi
		echo "$name $role: exit $rc (want $wrc, bad >= $wbad): $line"
	done
	[ "$ok" -eq 1 ] || { echo "FAIL: $name"; FAILED=1; }
}

# the packets a sends arrive at b: b's result judges a's sending, and back
pair plain 0/0 0/0 "- - 0" "- - 0"
pair srtp80 0/0 0/0 "$K80A $K80B 0" "$K80B $K80A 0"
pair srtp32 0/0 0/0 "$K32A $K32B 0" "$K32B $K32A 0"
pair tamper 0/0 1/3 "$K80A $K80B 3" "$K80B $K80A 0"
pair wrongkey 1/30 0/0 "$K80A $K80A 0" "$K80B $K80A 0"
pair plain_to_srtp 0/0 1/50 "- - 0" "- $K80A 0"

if [ "$FAILED" -eq 0 ]; then
	echo "PASS: srtp_peer self test"
fi
exit "$FAILED"
