#!/usr/bin/env bash
# tandemd as a service, without systemd. Started as root with -u nobody
# under a NOTIFY_SOCKET we listen on (an abstract socket, as systemd's):
#  - READY=1, then every thread runs as nobody (real, effective, saved and
#    file-system ids, /proc/PID/task/*/status) with nobody's groups only;
#  - OPTIONS on 127.0.0.1 answered 200 (the SIP socket bound before the
#    drop), the management API (bound before it too) serves /metrics;
#  - one SIPp call through it, answered, media relayed (the RTP ports are
#    bound per call, as nobody): tandem_calls_answered_total 1;
#  - SIGHUP: RELOADING=1 then READY=1; SIGTERM: STOPPING=1, exit 0.
# Then tandemd started the way deploy/tandemd.service starts it (setpriv:
# user nobody, no_new_privs, only the ambient CAP_NET_BIND_SERVICE) binds
# SIP on a port below 1024 and answers OPTIONS there.
# Exit 77 (skipped) without root, python3, SIPp or setpriv. Loopback only,
# free ports, every process killed by its PID.   privdrop.sh BUILD_DIR
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/lib.sh"
TANDEMD=$(cd "${1:-build}" && pwd)/b2bua/tandemd
need_root
need_cmd python3 sipp setpriv ss
[ -x "$TANDEMD" ] || { echo "FAIL: no $TANDEMD" >&2; exit 1; }
id nobody >/dev/null 2>&1 || skip "no user nobody"
NOU=$(id -u nobody) NOG=$(id -g nobody)
read -r UAS UAC <<<"$(free_ports 2)"
W=$(mktemp -d /tmp/tandem-privdrop.XXXXXX)
chmod 0755 "$W"
mkdir "$W/spool"
chown nobody "$W/spool"
SOCK="@tandem-privdrop-$$"
NOTIFY_PID= TPID= SPID=
cleanup() {
	[ -n "$TPID" ] && kill -KILL "$TPID" 2>/dev/null || true
	[ -n "$SPID" ] && kill -KILL "$SPID" 2>/dev/null || true
	if [ -n "$NOTIFY_PID" ]; then
		kill -KILL "$NOTIFY_PID" 2>/dev/null || true
		wait "$NOTIFY_PID" 2>/dev/null || true
	fi
	rm -rf "$W"
}
trap cleanup EXIT
trap 'echo "FAIL: privdrop.sh line $LINENO" >&2' ERR
notify_listen "$SOCK" "$W/notify" 40
pass=0
ok() {
	echo "$*"
	pass=$((pass + 1))
}
fail() {
	echo "FAIL: $*" >&2
	cat "$W/log" >&2 || true
	exit 1
}

NOTIFY_SOCKET=$SOCK "$TANDEMD" -u nobody -o sip.port=0 \
	-o api.listen=127.0.0.1:0 -o cdr.spool_dir="$W/spool" \
	-o route.all.prefix= -o route.all.targets=127.0.0.1:"$UAS" \
	-o limits.drain_timeout_s=2 2>"$W/log" &
TPID=$!
wait_grep '^READY=1' "$W/notify" 5 || fail "no READY=1: $(cat "$W/notify")"
PORT=$(listen_port "$W/log" sip 1) || fail "no SIP port logged"
API=$(listen_port "$W/log" api 1) || fail "no API port logged"
ok "notify: READY=1"

n=0
for t in /proc/"$TPID"/task/*; do
	u=$(awk '/^Uid:/ {print $2, $3, $4, $5}' "$t/status")
	g=$(awk '/^Gid:/ {print $2, $3, $4, $5}' "$t/status")
	gs=$(awk '/^Groups:/ {$1 = ""; print}' "$t/status" | xargs)
	[ "$u" = "$NOU $NOU $NOU $NOU" ] && [ "$g" = "$NOG $NOG $NOG $NOG" ] &&
		[ "$gs" = "$(id -G nobody)" ] ||
		fail "thread ${t##*/}: Uid $u, Gid $g, Groups $gs"
	n=$((n + 1))
done
ok "$n threads, all Uid/Gid $NOU/$NOG (real, effective, saved, fs), Groups: $(id -G nobody)"

r=$(options "$PORT") || fail "$r"
ok "$r"

metric() { # NAME: its value in /metrics
	python3 - "$API" "$1" <<'PY'
import re, sys, urllib.request
t = urllib.request.urlopen("http://127.0.0.1:%s/metrics" % sys.argv[1],
                           timeout=3).read().decode()
m = re.search(r"^%s(?:\{[^}]*\})? (\S+)$" % re.escape(sys.argv[2]), t, re.M)
print(m.group(1) if m else "absent")
PY
}

cd "$W"
timeout 20 sipp -sn uas -i 127.0.0.1 -p "$UAS" -m 1 -bg >/dev/null 2>&1 &
SPID=$!
sleep 0.3
timeout 20 sipp -sn uac -i 127.0.0.1 -p "$UAC" -m 1 -d 300 -s 123 \
	-timeout 15 127.0.0.1:"$PORT" >/dev/null 2>&1 || fail "the SIPp call failed"
cd - >/dev/null
kill -KILL "$SPID" 2>/dev/null || true
SPID=
a=$(metric tandem_calls_answered_total)
[ "$a" = 1 ] || fail "tandem_calls_answered_total $a, 1 expected"
grep -q 'answered 200' "$W/log" || fail "no answered call in the log"
ok "1 SIPp call through tandemd as nobody, answered (tandem_calls_answered_total $a, media relayed)"

kill -HUP "$TPID"
wait_grep '^RELOADING=1' "$W/notify" 3 || fail "no RELOADING=1"
[ "$(grep -c '^READY=1' "$W/notify")" -ge 2 ] || sleep 0.5
[ "$(grep -c '^READY=1' "$W/notify")" -ge 2 ] || fail "no READY=1 after the reload"
ok "SIGHUP: $(grep -m1 '^RELOADING=1' "$W/notify" | cut -c1-40), then READY=1"
kill -TERM "$TPID"
rc=0
wait "$TPID" || rc=$?
TPID=
[ "$rc" -eq 0 ] || fail "exit $rc after SIGTERM"
grep -q '^STOPPING=1' "$W/notify" || fail "no STOPPING=1"
ok "SIGTERM: $(grep -m1 '^STOPPING=1' "$W/notify"); exit 0"

# As the unit runs it: User=nobody, NoNewPrivileges, only the ambient
# CAP_NET_BIND_SERVICE; a free UDP port below 1024.
LOW=$(python3 -c '
import socket
for p in range(1023, 600, -1):
    u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        u.bind(("127.0.0.1", p))
    except OSError:
        continue
    print(p)
    break')
setpriv --reuid=nobody --regid="$NOG" --clear-groups --no-new-privs \
	--inh-caps=-all,+net_bind_service \
	--ambient-caps=-all,+net_bind_service \
	--bounding-set=-all,+net_bind_service \
	"$TANDEMD" -o sip.port="$LOW" -o cdr.spool_dir="$W/spool" \
	-o media.enabled=no 2>"$W/log" &
TPID=$!
wait_grep 'listening on' "$W/log" 5 || fail "the setpriv start"
caps=$(awk '/^CapEff:/ {print $2}' /proc/"$TPID"/status)
nnp=$(awk '/^NoNewPrivs:/ {print $2}' /proc/"$TPID"/status)
[ "$caps" = 0000000000000400 ] && [ "$nnp" = 1 ] ||
	fail "CapEff $caps NoNewPrivs $nnp"
r=$(options "$LOW") || fail "$r"
kill -TERM "$TPID"
rc=0
wait "$TPID" || rc=$?
TPID=
[ "$rc" -eq 0 ] || fail "exit $rc"
ok "as the unit runs it (nobody, NoNewPrivs 1, CapEff $caps = CAP_NET_BIND_SERVICE): SIP on port $LOW, $r, exit 0"
echo "privdrop: $pass passed, 0 failed"
