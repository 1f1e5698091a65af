# shellcheck shell=bash
# Shared by the tests/pkg/*.sh checks (sourced, not run).
# ctest runs them with SKIP_RETURN_CODE 77: skip() says why and exits 77,
# so a missing tool or privilege never passes silently.

skip() {
	echo "SKIP: $*"
	exit 77
}

need_root() {
	[ "$(id -u)" -eq 0 ] || skip "needs root (started as $(id -un))"
}

need_cmd() { # CMD...
	local c
	for c in "$@"; do
		command -v "$c" >/dev/null || skip "no $c on PATH"
	done
}

# free_ports N: N distinct 127.0.0.1 ports free for both UDP and TCP right
# now (the kernel picks them; they are released before use, so a parallel
# test could take one in between, which then fails loudly, not silently).
free_ports() {
	python3 - "$1" <<'PY'
import socket, sys
socks, out = [], []
while len(out) < int(sys.argv[1]):
    u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    u.bind(("127.0.0.1", 0))
    p = u.getsockname()[1]
    t = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        t.bind(("127.0.0.1", p))
    except OSError:
        u.close()
        continue
    socks += [u, t]
    out.append(p)
print(" ".join(map(str, out)))
PY
}

# wait_grep PATTERN FILE SECONDS: 0 once grep -q finds it, 1 after SECONDS.
wait_grep() {
	local i
	for ((i = 0; i < $3 * 10; i++)); do
		grep -q -- "$1" "$2" 2>/dev/null && return 0
		sleep 0.1
	done
	return 1
}

# notify_listen SOCK LOG SECONDS: an abstract AF_UNIX datagram socket
# ("@name", as systemd's NOTIFY_SOCKET may be) whose datagrams go to LOG,
# one a line ("\n" inside shown as " | "), for SECONDS at most. Sets
# NOTIFY_PID; returns once the socket is bound.
notify_listen() {
	python3 - "$1" "$2" "$3" <<'PY' &
import socket, sys, time
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind("\0" + sys.argv[1][1:])
open(sys.argv[2] + ".bound", "w").close()
s.settimeout(0.5)
end = time.time() + float(sys.argv[3])
with open(sys.argv[2], "a", buffering=1) as f:
    while time.time() < end:
        try:
            f.write(s.recv(4096).decode().replace("\n", " | ") + "\n")
        except socket.timeout:
            pass
PY
	# shellcheck disable=SC2034 # read by the sourcing script
	NOTIFY_PID=$!
	local i
	for ((i = 0; i < 50; i++)); do
		[ -e "$2.bound" ] && return 0
		sleep 0.1
	done
	echo "notify listener did not start" >&2
	return 1
}

# options PORT: one OPTIONS to 127.0.0.1:PORT; prints the status line and
# returns 0 on a 200.
options() {
	python3 - "$1" <<'PY'
import socket, sys
port = int(sys.argv[1])
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("127.0.0.1", 0))
lp = s.getsockname()[1]
msg = ("OPTIONS sip:127.0.0.1:%d SIP/2.0\r\n"
       "Via: SIP/2.0/UDP 127.0.0.1:%d;branch=z9hG4bK-pkg-%d\r\n"
       "Max-Forwards: 70\r\nFrom: <sip:t@127.0.0.1>;tag=p1\r\n"
       "To: <sip:127.0.0.1:%d>\r\nCall-ID: pkg-%d@127.0.0.1\r\n"
       "CSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n") % (port, lp, lp, port, lp)
s.settimeout(2.0)
s.sendto(msg.encode(), ("127.0.0.1", port))
try:
    line = s.recv(4096).decode().split("\r\n")[0]
except socket.timeout:
    line = "(no answer in 2 s)"
print("OPTIONS -> " + line)
sys.exit(0 if line.startswith("SIP/2.0 200") else 1)
PY
}

# listen_port LOG WHAT SECONDS: the port tandemd logged it took for WHAT
# ("sip": "listening on ADDR:PORT", "api": "management API on port PORT"),
# waiting for the line; started with port 0, it picked a free one itself.
listen_port() {
	local pat
	case $2 in
	sip) pat='listening on [^ ]*:\([0-9]*\) .*' ;;
	api) pat='management API on port \([0-9]*\).*' ;;
	esac
	wait_grep "${pat%%\\(*}" "$1" "$3" || return 1
	sed -n "s/.*$pat/\1/p" "$1" | head -1
}
