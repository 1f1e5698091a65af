#!/usr/bin/env bash
# Scanners at a running tandemd (the hardening issue, item 4): sipvicious
# svmap, svwar and svcrack from 127.0.0.1 against a tandemd whose callers
# must authenticate (sip.auth_user) and whose route leads to a PBX that
# would say "PbxBox" if anything of it leaked. Asserted: svmap sees
# Tandem's Server value and nothing of the PBX side; svwar finds no
# extension (unknown and known numbers get the same 407); svcrack (it
# brute-forces REGISTER digests) finds no REGISTER challenge to work on
# at all: Tandem is no registrar, so even a wordlist holding the password
# would not crack it (checked by hand); tandemd is alive
# afterwards and exits 0 on SIGTERM (no leak under ASan).
#   run_scan.sh TANDEMD      exit 0 pass, 1 fail, 77 skip (no sipvicious)
set -euo pipefail
TANDEMD=$1
for t in svmap svwar svcrack; do
	command -v "$t" >/dev/null 2>&1 || { echo "SKIP: $t not found"; exit 77; }
done
WORK=$(mktemp -d "${TMPDIR:-/tmp}/tandem-scan.XXXXXX")
PORT=5660
TD_PID=""
cleanup() {
	local rc=$?
	[ -z "$TD_PID" ] || kill -KILL "$TD_PID" 2>/dev/null || true
	if [ "$rc" -ne 0 ]; then
		tail -n 30 "$WORK"/*.out "$WORK/tandemd.log" 2>/dev/null || true
		echo "logs kept in $WORK"
	else
		rm -rf "$WORK"
	fi
	exit "$rc"
}
trap cleanup EXIT
if grep -q ":$(printf '%04X' $PORT) " /proc/net/udp; then
	echo "FAIL: udp port $PORT busy"
	exit 1
fi
cat >"$WORK/tandem.conf" <<EOT
[sip]
listen = 127.0.0.1
port = $PORT
server = Tandem-IT
auth_user = trunkuser
auth_pass = Zq9-not-in-any-list
[log]
level = info
target = stderr
[media]
enabled = no
[route.pbx]
prefix =
targets = 127.0.0.3:5680
EOT
"$TANDEMD" -c "$WORK/tandem.conf" >"$WORK/tandemd.log" 2>&1 </dev/null &
TD_PID=$!
for _ in $(seq 1 50); do
	grep -q ":$(printf '%04X' $PORT) " /proc/net/udp && break
	sleep 0.1
done
fail=0
timeout 60 svmap -p "$PORT" 127.0.0.1 >"$WORK/svmap.out" 2>&1 || true
grep -q "127.0.0.1:$PORT.*Tandem-IT" "$WORK/svmap.out" ||
	{ echo "FAIL: svmap did not see tandemd"; fail=1; }
if grep -qE "PbxBox|127\.0\.0\.3" "$WORK/svmap.out"; then
	echo "FAIL: svmap learnt of the PBX side"
	fail=1
fi
timeout 120 svwar -p "$PORT" -e100-120 -m INVITE 127.0.0.1 \
	>"$WORK/svwar.out" 2>&1 || true
grep -q "found nothing" "$WORK/svwar.out" ||
	{ echo "FAIL: svwar found extensions"; fail=1; }
printf '%s\n' password 123456 secret trunkuser admin 1234 >"$WORK/words"
timeout 120 svcrack -u trunkuser -p "$PORT" -d "$WORK/words" 127.0.0.1 \
	>"$WORK/svcrack.out" 2>&1 || true
if grep -qiE "password.*found|\| *trunkuser *\|" "$WORK/svcrack.out" ||
	! grep -q "unknown response" "$WORK/svcrack.out"; then
	echo "FAIL: svcrack result unexpected"
	fail=1
fi
kill -0 "$TD_PID" || { echo "FAIL: tandemd died"; exit 1; }
kill -TERM "$TD_PID"
rc=0
wait "$TD_PID" || rc=$?
TD_PID=""
[ "$rc" -eq 0 ] || { echo "FAIL: tandemd exited $rc"; fail=1; }
[ "$fail" -eq 0 ] || exit 1
echo "measured: svmap: $(grep -c '127.0.0.1:' "$WORK/svmap.out") device(s), svwar: nothing found in 100-120, svcrack: no REGISTER challenge to attack"
echo "PASS: scanners learn nothing"
