#!/usr/bin/env bash
# The scale-out example of deploy/cluster/ end to end (issue 9 item 5):
# Kamailio (dispatcher, OPTIONS probing every second) on 127.0.0.1 in
# front of two tandemd nodes on 127.0.0.2 and 127.0.0.3, both on one
# private PostgreSQL (policy and CDRs), a carrier SIPp sending to Kamailio,
# a PBX SIPp the nodes route to. Every port is picked free at run time.
#
#   1. calls are spread over both nodes (CDRs per node name: both > 0);
#   2. node 1 drained (POST /drain: its OPTIONS get 503): once the
#      dispatcher has marked it inactive, every new call goes to node 2,
#      none fails, none is even tried on node 1;
#   3. node 2 stopped (SIGTERM), node 1 undrained: calls go to node 1;
#   4. every call placed has exactly one CDR.
#
# usage: run_cluster.sh TANDEMD TANDEMCTL    (SIPP, KAMAILIO from the env)
# Exit 77 (skip) only when kamailio is missing and cannot be installed.
set -euo pipefail

TANDEMD=$(realpath "$1")
TANDEMCTL=$(realpath "$2")
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
SIPP=${SIPP:-sipp}
N1=${CLUSTER_CALLS_SPREAD:-20} # phase 1: over both nodes
N2=${CLUSTER_CALLS_DRAIN:-10}  # phase 2: node 1 drained
N3=${CLUSTER_CALLS_STOP:-10}   # phase 3: node 2 stopped
RATE=5                         # calls per second (each lasts 0.5 s)
T0=$(date +%s)

say() { echo "cluster [$(($(date +%s) - T0))s]: $*"; }
fail() {
	echo "cluster: FAIL: $*" >&2
	exit 1
}

# ---- Kamailio (Debian's package; install it when we may) ---------------
KAMAILIO=${KAMAILIO:-$(command -v kamailio || echo /usr/sbin/kamailio)}
if [ ! -x "$KAMAILIO" ]; then
	if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null; then
		say "kamailio missing: apt-get install kamailio"
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
			--no-install-recommends kamailio >/dev/null 2>&1 || true
	fi
	KAMAILIO=$(command -v kamailio || echo /usr/sbin/kamailio)
	if [ ! -x "$KAMAILIO" ]; then
		echo "cluster: SKIP: kamailio is not installed and could not be" \
			"installed (apt-get install kamailio, or deploy/deps.sh)" >&2
		exit 77
	fi
fi
KAMCMD=$(dirname "$KAMAILIO")/kamcmd
[ -x "$KAMCMD" ] || KAMCMD=$(command -v kamcmd) || fail "kamcmd not found"
command -v "$SIPP" >/dev/null || fail "sipp not found"

work=$(mktemp -d /tmp/tandem-cluster.XXXXXX)
chmod 755 "$work"
declare -A PID=()
cleanup() {
	local rc=$? k
	for k in "${!PID[@]}"; do
		case $k in
		sipp*) kill -KILL "${PID[$k]}" 2>/dev/null || true ;;
		*) kill -TERM "${PID[$k]}" 2>/dev/null || true ;;
		esac
	done
	for k in "${!PID[@]}"; do
		wait "${PID[$k]}" 2>/dev/null || true
	done
	"$root/tests/integration/pg.sh" stop "$work/pg" >/dev/null 2>&1 || true
	if [ "$rc" -eq 0 ]; then
		rm -rf "$work"
	else
		echo "cluster: logs kept in $work" >&2
		for f in node1.log node2.log kamailio.log; do
			[ -f "$work/$f" ] || continue
			echo "---- tail $f" >&2
			tail -n 15 "$work/$f" >&2
		done
	fi
	exit "$rc"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

# Free ports, all picked at once (every socket held open until the last
# is chosen, so no two are the same): one per "IP" or "IP/tcp" argument
# (tcp: free for both UDP and TCP).
free_ports() {
	python3 - "$@" <<'EOF'
import socket, sys
held, out = [], []
for spec in sys.argv[1:]:
    ip, _, tcp = spec.partition("/")
    while True:
        u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        u.bind((ip, 0))
        port = u.getsockname()[1]
        held.append(u)
        if not 20000 <= port < 60000:
            continue
        if tcp:
            t = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            try:
                t.bind((ip, port))
            except OSError:
                t.close()
                continue
            held.append(t)
        out.append(str(port))
        break
print(" ".join(out))
EOF
}
read -r KPORT PBXPORT CARPORT P1 P2 API1 API2 PBXMP CARMP < <(free_ports \
	127.0.0.1 127.0.0.1 127.0.0.1 127.0.0.2 127.0.0.3 127.0.0.1/tcp \
	127.0.0.1/tcp 127.0.0.1 127.0.0.1)
[ -n "$CARMP" ] || fail "no free ports"
say "kamailio 127.0.0.1:$KPORT, node1 127.0.0.2:$P1 (api $API1)," \
	"node2 127.0.0.3:$P2 (api $API2), pbx :$PBXPORT, carrier :$CARPORT"

# ---- PostgreSQL: schema and the cluster policy -------------------------
"$root/tests/integration/pg.sh" start "$work/pg" >"$work/pg.log" 2>&1 ||
	fail "PostgreSQL did not start: $(tail -n 3 "$work/pg.log")"
# shellcheck disable=SC1091
. "$work/pg/env"
export PGHOST PGPORT PGUSER PGDATABASE

# The arguments of node N: deploy/cluster/nodeN.conf with this run's
# ports, database and spool (in the array NODE_ARGS).
node_args() { # N PORT API MEDIA_MIN
	NODE_ARGS=(-c "$root/deploy/cluster/node$1.conf" -o "sip.port=$2"
		-o "db.dsn=$TANDEM_PG_DSN" -o "cdr.spool_dir=$work/spool$1"
		-o "api.listen=127.0.0.1:$3" -o "media.port_min=$4"
		-o "media.port_max=$(($4 + 199))" -o "db.policy_cache=off"
		-o "sip.workers=1" -o "media.workers=1"
		-o "limits.drain_timeout_s=5")
}
mkdir -p "$work/spool1" "$work/spool2"
node_args 1 "$P1" "$API1" 41000
"$TANDEMD" -m "${NODE_ARGS[@]}" >"$work/migrate.log" 2>&1 ||
	fail "migrate: $(tail -n 3 "$work/migrate.log")"
psql -q -v ON_ERROR_STOP=1 -v kport="$KPORT" -v pbxport="$PBXPORT" \
	-f "$root/deploy/cluster/policy.sql" >"$work/policy.log" 2>&1 ||
	fail "policy: $(tail -n 3 "$work/policy.log")"

# ---- the nodes ---------------------------------------------------------
start_node() { # N PORT API MEDIA_MIN
	node_args "$@"
	"$TANDEMD" "${NODE_ARGS[@]}" >"$work/node$1.log" 2>&1 &
	PID[node$1]=$!
}
start_node 1 "$P1" "$API1" 41000
start_node 2 "$P2" "$API2" 42000
for n in 1 2; do
	for _ in $(seq 100); do
		grep -q "policy version" "$work/node$n.log" && break
		kill -0 "${PID[node$n]}" 2>/dev/null || break
		sleep 0.1
	done
	grep -q "policy version" "$work/node$n.log" ||
		fail "node$n did not load the policy"
done

# Each node admits its share of the trunk limits (carrier: 100 calls,
# 20 cps for the cluster; [cluster] nodes = 2): GET /trunks says so.
for n in 1 2; do
	api=$([ "$n" = 1 ] && echo "$API1" || echo "$API2")
	share=$(curl -s "http://127.0.0.1:$api/trunks" | python3 -c '
import json, sys
d = json.load(sys.stdin)
for t in d if isinstance(d, list) else d["trunks"]:
    if t["name"] == "carrier":
        print(t["max_calls"], t["max_cps"], t["node_max_calls"], t["node_max_cps"])' ||
		true)
	[ "$share" = "100 20 50 10" ] ||
		fail "node$n carrier limits/share: '$share', expected 100 20 50 10"
done

# The status of an OPTIONS sent straight to IP:PORT.
options() {
	python3 - "$1" "$2" <<'EOF'
import socket, sys
ip, port = sys.argv[1], int(sys.argv[2])
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("127.0.0.1", 0))
s.settimeout(2)
me = s.getsockname()[1]
s.sendto((f"OPTIONS sip:{ip}:{port} SIP/2.0\r\n"
          f"Via: SIP/2.0/UDP 127.0.0.1:{me};branch=z9hG4bK-cl{me}\r\n"
          "Max-Forwards: 70\r\n"
          f"From: <sip:probe@127.0.0.1>;tag=cl{me}\r\n"
          f"To: <sip:{ip}:{port}>\r\n"
          f"Call-ID: cl-options-{me}\r\n"
          "CSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n").encode(), (ip, port))
try:
    while True:
        line = s.recv(4096).decode(errors="replace").split("\r\n")[0]
        if not line.startswith("SIP/2.0 1"):
            print(line)
            break
except socket.timeout:
    print("no answer")
EOF
}
o=$(options 127.0.0.2 "$P1")
[ "$o" = "SIP/2.0 200 OK" ] || fail "node1 OPTIONS: '$o'"

# ---- Kamailio ----------------------------------------------------------
printf '1 sip:127.0.0.2:%s\n1 sip:127.0.0.3:%s\n' "$P1" "$P2" \
	>"$work/dispatcher.list"
CTL="$work/kamailio_ctl"
"$KAMAILIO" -DD -E -m 32 -M 4 -f "$root/deploy/cluster/kamailio.cfg" \
	-A "KPORT=$KPORT" -A "DS_LIST=\"$work/dispatcher.list\"" \
	-A "CTL_SOCK=\"unix:$CTL\"" -P "$work/kamailio.pid" -w "$work" \
	>"$work/kamailio.log" 2>&1 &
PID[kamailio]=$!

# The dispatcher's flags for node N's URI: AP active, IP inactive ...
ds_flags() {
	"$KAMCMD" -s "unix:$CTL" dispatcher.list 2>/dev/null | awk -v u="$1" '
		/URI:/ { uri = $2 }
		/FLAGS:/ { if (uri == u) print $2 }'
}
# Wait (at most 15 s) until node URI $1 has flags matching $2.
wait_ds() {
	local f=
	for _ in $(seq 150); do
		f=$(ds_flags "$1" || true)
		[[ $f =~ $2 ]] && return 0
		kill -0 "${PID[kamailio]}" 2>/dev/null || fail "kamailio died"
		sleep 0.1
	done
	fail "dispatcher: $1 is '$f', expected $2"
}
U1="sip:127.0.0.2:$P1"
U2="sip:127.0.0.3:$P2"
wait_ds "$U1" '^A'
wait_ds "$U2" '^A'
say "dispatcher: both nodes active (OPTIONS answered 200)"

# ---- the PBX and the calls ---------------------------------------------
cd "$work"
"$SIPP" -sf "$root/deploy/demo/pbx.xml" -i 127.0.0.1 -p "$PBXPORT" \
	-mi 127.0.0.1 -mp "$PBXMP" -m $((N1 + N2 + N3)) \
	-timeout 55 -nostdin -trace_err -error_file pbx_err.log >pbx.out 2>&1 &
PID[sipp_pbx]=$!
sleep 0.3

placed=0
calls() { # N LABEL
	local ph=$2
	"$SIPP" -sf "$here/carrier.xml" -i 127.0.0.1 -p "$CARPORT" \
		-mi 127.0.0.1 -mp "$CARMP" \
		-cid_str "cl-$ph-%u-%p@%s" "127.0.0.1:$KPORT" -s 0301234567 \
		-m "$1" -r "$RATE" -l 20 -timeout 20 -nostdin -trace_err \
		-error_file "carrier_$ph.err" >"carrier_$ph.out" 2>&1 &
	PID[sipp_carrier]=$!
	local rc=0
	wait "${PID[sipp_carrier]}" || rc=$?
	unset 'PID[sipp_carrier]'
	placed=$((placed + $1))
	if [ "$rc" -ne 0 ]; then
		tail -n 20 "carrier_$ph.out" >&2
		tail -n 20 "carrier_$ph.err" >&2 2>/dev/null || true
		fail "$ph: carrier SIPp exited $rc (some of $1 calls failed)"
	fi
}
q() { psql -Atc "$1"; }
# Wait (at most 10 s) until the database holds $1 CDRs.
wait_cdrs() {
	local n=0
	for _ in $(seq 100); do
		n=$(q "SELECT count(*) FROM cdr")
		[ "$n" -ge "$1" ] && break
		sleep 0.1
	done
	[ "$n" -eq "$1" ] || fail "$n CDRs in the database, expected $1"
}
per_node() { q "SELECT count(*) FROM cdr WHERE node = '$1' $2"; }
failovers() { grep -c "failed (" "$work/kamailio.log" || true; }

# 1. spread over both nodes
calls "$N1" spread
wait_cdrs "$placed"
a1=$(per_node node1 "")
a2=$(per_node node2 "")
say "phase 1: $N1 calls: node1 $a1, node2 $a2 CDRs"
[ "$a1" -gt 0 ] && [ "$a2" -gt 0 ] || fail "calls not spread: $a1 / $a2"
[ $((a1 + a2)) -eq "$N1" ] || fail "CDRs of other nodes"

# 2. drain node 1: its OPTIONS get 503, the dispatcher takes it out
"$TANDEMCTL" -a "127.0.0.1:$API1" drain >/dev/null || fail "drain node1"
st=$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$API1/ready")
[ "$st" = 503 ] || fail "node1 /ready while draining: $st"
o=$(options 127.0.0.2 "$P1")
[ "$o" = "SIP/2.0 503 Draining" ] || fail "drained node1 OPTIONS: '$o'"
wait_ds "$U1" '^I'
say "dispatcher: node1 inactive after POST /drain (OPTIONS: $o)"
fo=$(failovers)
calls "$N2" drain
wait_cdrs "$placed"
b1=$(per_node node1 "")
b2=$(per_node node2 "")
say "phase 2: $N2 calls: node1 $((b1 - a1)), node2 $((b2 - a2)) new CDRs"
[ "$b1" -eq "$a1" ] || fail "the drained node1 got $((b1 - a1)) calls"
[ "$((b2 - a2))" -eq "$N2" ] || fail "node2 got $((b2 - a2)) of $N2 calls"
[ "$(failovers)" -eq "$fo" ] || fail "Kamailio still tried the drained node"

# 3. stop node 2 (SIGTERM: it drains and exits), undrain node 1
kill -TERM "${PID[node2]}"
for _ in $(seq 100); do
	kill -0 "${PID[node2]}" 2>/dev/null || break
	sleep 0.1
done
kill -0 "${PID[node2]}" 2>/dev/null && fail "node2 still running 10 s after SIGTERM"
rc=0
wait "${PID[node2]}" || rc=$?
unset 'PID[node2]'
[ "$rc" -eq 0 ] || fail "node2 exited $rc after SIGTERM"
"$TANDEMCTL" -a "127.0.0.1:$API1" undrain >/dev/null || fail "undrain node1"
o=$(options 127.0.0.2 "$P1")
[ "$o" = "SIP/2.0 200 OK" ] || fail "undrained node1 OPTIONS: '$o'"
wait_ds "$U1" '^A'
wait_ds "$U2" '^I'
say "dispatcher: node1 active again, node2 (stopped) inactive"
fo=$(failovers)
calls "$N3" stop
wait_cdrs "$placed"
c1=$(per_node node1 "")
c2=$(per_node node2 "")
say "phase 3: $N3 calls: node1 $((c1 - b1)), node2 $((c2 - b2)) new CDRs"
[ "$((c1 - b1))" -eq "$N3" ] || fail "node1 got $((c1 - b1)) of $N3 calls"
[ "$c2" -eq "$b2" ] || fail "the stopped node2 got calls"
[ "$(failovers)" -eq "$fo" ] || fail "Kamailio still tried the stopped node"

# 4. every call once: as many CDRs as calls, one per A-leg Call-ID, all
#    answered by the PBX and ended by the carrier
sleep 0.5 # a late duplicate would have landed by now
tot=$(q "SELECT count(*) FROM cdr")
ids=$(q "SELECT count(DISTINCT a_callid) FROM cdr")
ok=$(q "SELECT count(*) FROM cdr WHERE disposition = 'answered'
	AND hangup = 'caller' AND src_trunk = 'carrier' AND dst_trunk = 'pbx'")
say "CDRs: $tot for $placed calls ($ids Call-IDs, $ok answered carrier->pbx)"
[ "$tot" -eq "$placed" ] && [ "$ids" -eq "$placed" ] && [ "$ok" -eq "$placed" ] ||
	fail "CDRs do not match the calls placed"
q "SELECT node, count(*) FROM cdr GROUP BY node ORDER BY node" |
	sed 's/^/cluster:   /'
rc=0
wait "${PID[sipp_pbx]}" || rc=$?
unset 'PID[sipp_pbx]'
[ "$rc" -eq 0 ] || fail "the PBX SIPp exited $rc"
say "PASS"
