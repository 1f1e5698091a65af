#!/usr/bin/env bash
# PROTOS c07-sip (issue 10 item 3) against a running tandemd: all 4,527
# malformed INVITEs (each followed by its CANCEL) over UDP from
# 127.0.0.2:5061, one valid call carrier SIPp (127.0.0.2:5570) ->
# tandemd (127.0.0.1:5560) -> PBX SIPp (127.0.0.3:5580) after every 100
# cases (must exit 0); then tandemd must be alive, answer OPTIONS, not
# have grown its RSS beyond a bound, and exit 0 on SIGTERM (under ASan a
# leak makes that exit non-zero, so it fails the test).
#
#   run_protos.sh TANDEMD SCENARIO_DIR
#
# limits.source_rps is set to 0 (off): the replay sends faster than the
# default 200 new requests/s per source and would only measure drops.
# Corpus: $TANDEM_CORPORA/protos (default ../shared/corpora from the repo);
# exit 77 when absent or sipp is missing. Kills only the PIDs it started.
set -euo pipefail
[ $# -eq 2 ] || { echo "usage: $0 TANDEMD SCENARIO_DIR" >&2; exit 2; }
TANDEMD=$1
SCEN=$(cd "$2" && pwd)
HERE=$(cd "$(dirname "$0")" && pwd)
SIPP=${SIPP:-sipp}
CORP=${TANDEM_CORPORA:-$HERE/../../../shared/corpora}
TGZ=$CORP/protos/c07-sip-cases.tgz
RATE=${PROTOS_RATE:-400} # cases/s
[ -f "$TGZ" ] || { echo "SKIP: PROTOS corpus $TGZ not found (set TANDEM_CORPORA)"; exit 77; }
command -v "$SIPP" >/dev/null 2>&1 || { echo "SKIP: sipp not found"; exit 77; }
command -v python3 >/dev/null 2>&1 || { echo "SKIP: python3 not found"; exit 77; }
[ -x "$TANDEMD" ] || { echo "no tandemd at $TANDEMD" >&2; exit 2; }

T_IP=127.0.0.1 T_PORT=5560 C_IP=127.0.0.2 C_PORT=5570 P_IP=127.0.0.3 P_PORT=5580
for a in "$T_IP:$T_PORT" "$C_IP:$C_PORT" "$P_IP:$P_PORT" "$C_IP:5061"; do
	if ss -Hlun "src $a" | grep -q .; then
		echo "port $a busy" >&2
		exit 1
	fi
done
WORK=$(mktemp -d "${TMPDIR:-/tmp}/tandem-protos.XXXXXX")
PIDS=()
TD_PID=""
FAILED=0
cleanup() {
	local rc=$? p
	for p in "${PIDS[@]}"; do kill -KILL "$p" 2>/dev/null || true; done
	for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
	if [ "$rc" -ne 0 ]; then
		tail -n 60 "$WORK/tandemd.log" 2>/dev/null || true
		echo "logs kept in $WORK"
	elif [ -z "${KEEP:-}" ]; then rm -rf "$WORK"; else echo "logs kept in $WORK"; fi
	exit "$rc"
}
trap cleanup EXIT
fail() { echo "FAIL: protos: $*"; FAILED=1; }
rss_kb() { awk '/^VmRSS:/ { print $2 }' "/proc/$1/status"; }

cat >"$WORK/tandem.conf" <<EOC
; run_protos.sh
[sip]
listen = $T_IP
port = $T_PORT
t1 = 500
server = Tandem-IT
sources = 127.0.0.2/32
[limits]
max_calls = 100
source_rps = 0
[media]
port_min = 18600
port_max = 18639
[log]
level = info
target = stderr
[route.pbx]
prefix = 1555
targets = $P_IP:$P_PORT
EOC
"$TANDEMD" -c "$WORK/tandem.conf" >"$WORK/tandemd.log" 2>&1 </dev/null &
TD_PID=$!
PIDS+=("$TD_PID")
for _ in $(seq 1 100); do
	ss -Hlun "src $T_IP:$T_PORT" | grep -q . && break
	kill -0 "$TD_PID" 2>/dev/null || break
	sleep 0.05
done
ss -Hlun "src $T_IP:$T_PORT" | grep -q . || { fail "tandemd not listening"; exit 1; }

NCALLS=$(( (4527 + 99) / 100 + 1 ))
(cd "$WORK" && exec "$SIPP" -sf "$SCEN/protos_pbx.xml" -i "$P_IP" -p "$P_PORT" \
	-mi "$P_IP" -mp 5584 -m "$NCALLS" -nostdin -timeout 280s \
	-trace_err -error_file "$WORK/pbx.err") >"$WORK/pbx.out" 2>&1 </dev/null &
PBX_PID=$!
PIDS+=("$PBX_PID")
CALL=(timeout -s KILL 30 "$SIPP" -sf "$SCEN/protos_carrier.xml" -i "$C_IP"
	-p "$C_PORT" -mi "$C_IP" -mp 5574 -m 1 -nostdin -timeout 20s
	-timeout_error "$T_IP:$T_PORT")
sleep 0.3
# warm-up call, then the baseline RSS
"${CALL[@]}" >"$WORK/call0.out" 2>&1 </dev/null || fail "warm-up call failed"
RSS0=$(rss_kb "$TD_PID")
echo "measured: tandemd RSS before $RSS0 kB"
timeout -s KILL 600 python3 "$HERE/protos_send.py" "$TGZ" "$T_IP" "$T_PORT" \
	"$RATE" "${CALL[@]}" || fail "sender: valid calls or case 0 failed"
if ! kill -0 "$TD_PID" 2>/dev/null; then
	wait "$TD_PID" || echo "tandemd exit $?"
	fail "tandemd died during the replay"
	exit 1
fi
RSS1=$(rss_kb "$TD_PID")
LIMIT=$((64 * 1024))
grep -q libasan "/proc/$TD_PID/maps" && LIMIT=$((512 * 1024)) # ASan quarantine
echo "measured: tandemd RSS after $RSS1 kB (growth $((RSS1 - RSS0)) kB, bound $LIMIT kB)"
[ $((RSS1 - RSS0)) -le "$LIMIT" ] || fail "RSS grew by $((RSS1 - RSS0)) kB"
# OPTIONS must still be answered 200
python3 - "$T_IP" "$T_PORT" <<'EOP' || fail "no 200 to OPTIONS after the replay"
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(('127.0.0.2', 5570)); s.settimeout(0.5)
m = ('OPTIONS sip:%s:%s SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.2:5570;branch=z9hG4bK-protos-opt\r\n'
     'From: <sip:probe@127.0.0.2>;tag=p1\r\nTo: <sip:%s>\r\nCall-ID: protos-opt@127.0.0.2\r\n'
     'CSeq: 1 OPTIONS\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n') % (sys.argv[1], sys.argv[2], sys.argv[1])
for _ in range(6):
    s.sendto(m.encode(), (sys.argv[1], int(sys.argv[2])))
    try:
        d = s.recv(65535)
        if d.startswith(b'SIP/2.0 200'):
            print('measured: OPTIONS answered 200'); sys.exit(0)
    except socket.timeout:
        pass
sys.exit(1)
EOP
kill -TERM "$TD_PID"
for _ in $(seq 1 150); do kill -0 "$TD_PID" 2>/dev/null || break; sleep 0.1; done
kill -0 "$TD_PID" 2>/dev/null && { fail "tandemd still running 15 s after SIGTERM"; kill -KILL "$TD_PID"; }
rc=0; wait "$TD_PID" || rc=$?
[ "$rc" -eq 0 ] || fail "tandemd exited $rc after SIGTERM (ASan leak report above if any)"
grep -E "ERROR: (Leak|Address)Sanitizer|runtime error" "$WORK/tandemd.log" | head -5 && fail "sanitizer report"
for _ in $(seq 1 50); do kill -0 "$PBX_PID" 2>/dev/null || break; sleep 0.1; done
kill -KILL "$PBX_PID" 2>/dev/null || true
PIDS=()
[ "$FAILED" -eq 0 ] || exit 1
echo "PASS: protos"
