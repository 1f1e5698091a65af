#!/usr/bin/env bash
# tandemd started as root with -u nobody: runs as nobody (/proc/PID/status
# Uid/Gid), still answers OPTIONS on 127.0.0.1, and tells systemd READY=1
# then STOPPING=1 on a NOTIFY_SOCKET we listen on. Usage: privdrop.sh
# BUILD_DIR [PORT]. Needs root and python3. Loopback only, bounded.
set -euo pipefail
B=$(realpath "$1"); PORT=${2:-5460}
[ "$(id -u)" -eq 0 ] || { echo "SKIP: needs root"; exit 0; }
T=$(mktemp -d); chmod 755 "$T"
PID=; NPID=
cleanup() {
	[ -n "$PID" ] && kill -KILL "$PID" 2>/dev/null || true
	[ -n "$NPID" ] && kill -KILL "$NPID" 2>/dev/null || true
	rm -rf "$T"
}
trap cleanup EXIT
if ss -lun | grep -q ":$PORT "; then echo "port $PORT busy" >&2; exit 1; fi
# notify listener: prints each datagram on its own line, 30 s at most
python3 - "$T/notify" >"$T/notify.log" <<'PY' &
import socket, sys, time
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM); s.bind(sys.argv[1])
import os; os.chmod(sys.argv[1], 0o777)
s.settimeout(1); end = time.time() + 30
while time.time() < end:
    try: d = s.recv(4096)
    except socket.timeout: continue
    print(d.decode().replace("\n", "|"), flush=True)
    if d.startswith(b"STOPPING=1"): break
PY
NPID=$!
for _ in $(seq 50); do [ -S "$T/notify" ] && break; sleep 0.1; done
NOTIFY_SOCKET=$T/notify "$B/b2bua/tandemd" -u nobody -o sip.port=$PORT \
	-o media.enabled=no -o cdr.spool_dir="$T/spool" \
	-o route.x.targets=127.0.0.1:5999 2>"$T/log" &
PID=$!
for _ in $(seq 50); do grep -q READY=1 "$T/notify.log" && break; sleep 0.1; done
grep -q READY=1 "$T/notify.log" || { cat "$T/log"; echo "FAIL: no READY=1"; exit 1; }
uid=$(awk '/^Uid:/{print $2, $3, $4, $5}' /proc/$PID/status)
gid=$(awk '/^Gid:/{print $2, $3, $4, $5}' /proc/$PID/status)
nob=$(id -u nobody); nog=$(id -g nobody)
echo "tandemd pid $PID Uid: $uid Gid: $gid (nobody = $nob/$nog)"
[ "$uid" = "$nob $nob $nob $nob" ] || { echo "FAIL: uid"; exit 1; }
[ "$gid" = "$nog $nog $nog $nog" ] || { echo "FAIL: gid"; exit 1; }
resp=$(python3 - "$PORT" <<'PY'
import socket, sys
p = int(sys.argv[1]); s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("127.0.0.1", 0)); lp = s.getsockname()[1]; s.settimeout(2)
m = ("OPTIONS sip:127.0.0.1:%d SIP/2.0\r\n"
     "Via: SIP/2.0/UDP 127.0.0.1:%d;branch=z9hG4bK-pd1\r\n"
     "Max-Forwards: 70\r\nFrom: <sip:t@127.0.0.1>;tag=1\r\n"
     "To: <sip:127.0.0.1:%d>\r\nCall-ID: pd1@127.0.0.1\r\n"
     "CSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n") % (p, lp, p)
s.sendto(m.encode(), ("127.0.0.1", p))
print(s.recv(4096).decode().split("\r\n")[0])
PY
)
echo "OPTIONS -> $resp"
case "$resp" in "SIP/2.0 200"*) ;; *) echo "FAIL: OPTIONS"; exit 1;; esac
kill -HUP "$PID"
for _ in $(seq 50); do grep -q RELOADING=1 "$T/notify.log" && break; sleep 0.1; done
grep -q RELOADING=1 "$T/notify.log" || { echo "FAIL: no RELOADING=1"; exit 1; }
sleep 0.3
kill -TERM "$PID"
for _ in $(seq 50); do kill -0 "$PID" 2>/dev/null || break; sleep 0.1; done
wait "$PID" || { echo "FAIL: exit status"; exit 1; }
PID=
grep -q STOPPING=1 "$T/notify.log" || { echo "FAIL: no STOPPING=1"; exit 1; }
echo "notify: $(tr '\n' ' ' <"$T/notify.log")"
grep "running as" "$T/log"
echo "privdrop: 1 passed, 0 failed"
