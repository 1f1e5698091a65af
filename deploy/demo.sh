#!/usr/bin/env bash
# Tandem demo: installs what is missing, builds, starts a throwaway
# PostgreSQL in a local folder, migrates it and loads the sample policy
# (deploy/sample_policy.sql: a carrier trunk on 127.0.0.1:5070, a PBX
# trunk on 127.0.0.1:5080, number rewrites, a block list), starts tandemd
# on 127.0.0.1:5060 with that database as its policy, then sends real
# calls with SIPp: from the "carrier" (national numbers, G.711 A-law RTP
# played from SIPp's sample) through Tandem to the "PBX" (which echoes
# the RTP back), plus calls the policy refuses (a blocked number, a number
# without a route). Prints what tandemd logged per call (routing, both
# legs, RTP figures per direction) and its counters. Cleans up everything
# it started (by PID) on exit.
#
# ctest runs it as integration.demo with TANDEM_DEMO_BIN (the folder with
# the tree's tandemd and tandemctl: no build of its own) and
# TANDEM_DEMO_NODEPS=1 (deploy/test.sh has installed what it needs).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
CALLS=${TANDEM_DEMO_CALLS:-10}

[ "${TANDEM_DEMO_NODEPS:-0}" = 1 ] || ./deploy/deps.sh
if [ -n "${TANDEM_DEMO_BIN:-}" ]; then
	bin=$TANDEM_DEMO_BIN
else
	cmake -S "$root" -B "$root/build-demo" -DCMAKE_BUILD_TYPE=Release \
		>/dev/null
	cmake --build "$root/build-demo" -j "$(nproc)" --target tandemd \
		tandemctl >/dev/null
	bin="$root/build-demo/b2bua"
fi
for b in tandemd tandemctl; do
	[ -x "$bin/$b" ] || {
		echo "demo: no $bin/$b" >&2
		exit 1
	}
done

for p in 5060 5070 5080; do
	if ss -Hlun "sport = :$p" | grep -q .; then
		echo "demo: UDP port $p is in use on this machine; the sample" \
			"policy needs 5060, 5070 and 5080 free" >&2
		exit 1
	fi
done

work=$(mktemp -d /tmp/tandem-demo.XXXXXX)
chmod 755 "$work"
pids=()
cleanup() {
	local rc=$?
	for p in "${pids[@]}"; do
		kill "$p" 2>/dev/null || true
	done
	for p in "${pids[@]}"; do
		wait "$p" 2>/dev/null || true
	done
	"$root/tests/integration/pg.sh" stop "$work/pg" >/dev/null 2>&1 || true
	if [ "$rc" -eq 0 ]; then
		rm -rf "$work"
	else
		echo "demo: failed; logs kept in $work" >&2
	fi
	exit $rc
}
trap cleanup EXIT

echo
echo "== PostgreSQL (private cluster in $work/pg)"
"$root/tests/integration/pg.sh" start "$work/pg"
# shellcheck disable=SC1091
. "$work/pg/env"
export PGHOST PGPORT PGUSER PGDATABASE

cat >"$work/tandem.conf" <<EOT
; written by deploy/demo.sh (deploy/tandem.conf.example documents every key)
[sip]
listen = 127.0.0.1
port = 5060
[media]
port_min = 31000
port_max = 31999
[db]
dsn = $TANDEM_PG_DSN
[cdr]
spool_dir = $work/spool
node = demo
[api]
listen = 127.0.0.1:18080
[log]
level = info
EOT

echo
echo "== Schema and sample policy"
"$bin/tandemd" -m -c "$work/tandem.conf"
psql -q -v ON_ERROR_STOP=1 -f "$root/deploy/sample_policy.sql"
psql -c "SELECT name, role, host, port, transport FROM trunks ORDER BY id"

echo
echo "== tandemd"
"$bin/tandemd" -c "$work/tandem.conf" >"$work/tandemd.log" 2>&1 &
tpid=$!
pids+=("$tpid")
for _ in $(seq 100); do
	grep -q "policy version" "$work/tandemd.log" && break
	kill -0 "$tpid" 2>/dev/null || break
	sleep 0.1
done
if ! grep -q "policy version" "$work/tandemd.log"; then
	cat "$work/tandemd.log"
	echo "demo: tandemd did not load the policy" >&2
	exit 1
fi
head -n 5 "$work/tandemd.log"

echo
echo "== $CALLS calls carrier -> Tandem -> PBX, 3 s of RTP each"
cd "$work"
sipp -sf "$root/deploy/demo/pbx.xml" -i 127.0.0.1 -p 5080 -mi 127.0.0.1 \
	-mp 6100 -rtp_echo -m "$CALLS" -timeout 90 -nostdin -trace_err \
	>pbx.out 2>&1 &
ppid=$!
pids+=("$ppid")
sleep 0.3
# 0301234567 arrives in national format; the carrier's inbound rewrite
# makes it +49301234567, which route did-to-pbx sends to the PBX.
sipp -sf "$root/deploy/demo/carrier.xml" -i 127.0.0.1 -p 5070 \
	-mi 127.0.0.1 -mp 6000 -cid_str "carrier-%u-%p@%s" 127.0.0.1:5060 -s 0301234567 -m "$CALLS" \
	-r 5 -l 5 -timeout 90 -nostdin -trace_err -trace_stat \
	>carrier.out 2>&1 &
cpid=$!
pids+=("$cpid")
# while they talk: the live calls as the management API lists them
sleep 1.5
echo "-- tandemctl calls, 1.5 s in"
live=$("$bin/tandemctl" -a 127.0.0.1:18080 calls) || live=""
echo "$live"
grep -q " connected " <<<"$live" || {
	echo "demo: tandemctl calls listed no connected call" >&2
	exit 1
}
# one of them in full: both legs, media so far, and its SIP messages as
# a ladder (A>T: from the carrier to Tandem, T>B: Tandem to the PBX ...)
id=$(awk '$2 == "connected" { print $1; exit }' <<<"$live")
echo "-- tandemctl show $id"
one=$("$bin/tandemctl" -a 127.0.0.1:18080 show "$id") || one=""
echo "$one"
for step in "A>T  INVITE sip:0301234567@" "T>B  INVITE sip:" \
	"B>T  SIP/2.0 200 OK" "T>A  SIP/2.0 200 OK" "A>T  ACK " "T>B  ACK "; do
	grep -qF "$step" <<<"$one" || {
		echo "demo: the ladder of $id lacks '$step'" >&2
		exit 1
	}
done
crc=0
wait "$cpid" || crc=$?
if [ "$crc" -ne 0 ]; then
	tail -n 30 carrier.out
	echo "demo: carrier calls failed" >&2
	exit 1
fi
wait "$ppid" || {
	tail -n 30 pbx.out
	echo "demo: the PBX side failed" >&2
	exit 1
}
echo "all $CALLS calls completed on both sides"

echo
echo "== calls the policy refuses"
# +4913712345 (a mass-calling number) is on the block list: 403;
# +49401234 has no route from the carrier: 404.
for n in 013712345 0401234; do
	sipp -sf "$root/deploy/demo/carrier_reject.xml" -i 127.0.0.1 \
		-p 5070 -mi 127.0.0.1 -mp 6000 127.0.0.1:5060 -s "$n" -m 1 \
		-timeout 20 -nostdin -trace_err >reject.out 2>&1 || {
		tail -n 20 reject.out
		echo "demo: the refused call to $n went wrong" >&2
		exit 1
	}
	echo "$n: refused as expected"
done

echo
echo "== what tandemd logged per call"
grep -E "new call|attempt|answered|A-leg: |end:|media " "$work/tandemd.log" |
	sed -e 's/^[^ ]* //' | head -n 60

echo
echo "== tandemctl stats (management API on 127.0.0.1:18080)"
"$bin/tandemctl" -a 127.0.0.1:18080 stats | head -n 14

kill -TERM "$tpid"
wait "$tpid" || {
	echo "demo: tandemd did not exit cleanly" >&2
	exit 1
}
pids=()
echo
echo "== tandemd counters at exit"
grep -E "tandemd: calls" "$work/tandemd.log" | sed -e 's/^[^ ]* //'
echo
echo "== CDRs in PostgreSQL (one per call attempt)"
psql -c "SELECT to_char(attempt_at, 'HH24:MI:SS.MS') AS attempt,
	calling_in, called_in, called_out, src_trunk, dst_trunk, disposition,
	a_status, hangup, billable_s AS bill_s, ab_packets, ba_packets
	FROM cdr ORDER BY attempt_at"
n=$(psql -Atc "SELECT count(*) FROM cdr")
if [ "$n" -ne $((CALLS + 2)) ]; then
	echo "demo: expected $((CALLS + 2)) CDRs, found $n" >&2
	exit 1
fi
echo
echo "Next: ./deploy/test.sh runs every test; tests/bench has the figures."
