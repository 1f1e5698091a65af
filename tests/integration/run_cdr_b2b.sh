#!/usr/bin/env bash
# CDRs end to end: a real tandemd with its policy and CDRs in a private
# PostgreSQL, real SIPp on both sides, then the cdr table checked row by
# row against what SIPp reports. Registered with ctest by CMakeLists.txt.
#
#   run_cdr_b2b.sh BUILD_DIR|TANDEMD SCENARIO_DIR
#
# Phases (each asserts exact row counts and no duplicate ids):
#  1. CDR_IT_CALLS calls (default 10000) of mixed outcomes at about
#     CDR_IT_RATE calls/s (default 500), media off: answered with the
#     caller's BYE, answered and hung up through the API (the call that
#     holds a trunk's only slot), busy (PBX 486), cancelled by the
#     carrier, no answer (Tandem's no-answer timer, 480), no route (404),
#     called number on the block list (403), trunk call limit (503).
#     One row per carrier call, per-kind counts equal to SIPp's successful
#     calls, the right a_status/b_status/disposition/hangup per kind.
#  2. PostgreSQL stopped: calls still complete, their CDRs wait in the
#     spool (the segment grows, /stats cdr.spool_bytes > 0); PostgreSQL
#     resumed: exactly those rows arrive, no duplicates.
#  3. PostgreSQL stopped, calls, kill -9 of tandemd as soon as their CDRs
#     are in the spool (/stats cdr.spooled), PostgreSQL up, tandemd
#     restarted: the spool is replayed, exactly those rows arrive.
#  4. The same with a torn tail (half of a record) appended to the spool
#     before the restart: the log names the skipped tail, every whole
#     record lands.
#
# Addresses and ports (loopback only): tandemd 127.0.0.1:5360 (API
# 127.0.0.1:18360), carriers 127.0.0.2:5370-5376, the limited carrier
# trunk 127.0.0.6:5377-5378, PBXs 127.0.0.3:5380 (answers), 5381 (486),
# 5382 (rings until CANCELled). Every process is bounded (SIPp -m and
# -timeout, a wall-clock kill by PID); only PIDs started here are killed;
# PostgreSQL is stopped by the EXIT trap.
#
# Exit 0 pass, 1 fail, 2 usage, 77 skip (sipp missing). Env: SIPP,
# CDR_IT_CALLS, CDR_IT_RATE, CDR_IT_OUTAGE (phase 2 calls, default 1000),
# CDR_IT_KILL (phases 3 and 4, default 500), KEEP=1 keeps the logs.
set -euo pipefail

if [ $# -ne 2 ]; then
	echo "usage: $0 BUILD_DIR|TANDEMD SCENARIO_DIR" >&2
	exit 2
fi
TANDEMD=$1
[ -d "$TANDEMD" ] && TANDEMD=$TANDEMD/b2bua/tandemd
SCEN=$(cd "$2" && pwd)
HERE=$(cd "$(dirname "$0")" && pwd)
PGSH=$HERE/pg.sh
SIPP=${SIPP:-sipp}
TOTAL=${CDR_IT_CALLS:-10000}
RATE=${CDR_IT_RATE:-500}
N_OUT=${CDR_IT_OUTAGE:-1000}
N_KILL=${CDR_IT_KILL:-500}

if ! command -v "$SIPP" >/dev/null 2>&1; then
	echo "SKIP: sipp not found"
	exit 77
fi
for t in psql curl jq; do
	command -v "$t" >/dev/null || {
		echo "FAIL: $t not found" >&2
		exit 1
	}
done
[ -x "$TANDEMD" ] || {
	echo "no tandemd at $TANDEMD" >&2
	exit 2
}
[ "$TOTAL" -ge 100 ] || {
	echo "CDR_IT_CALLS must be at least 100" >&2
	exit 2
}

T_IP=127.0.0.1
T_PORT=5360
API=127.0.0.1:18360
C_IP=127.0.0.2
L_IP=127.0.0.6 # the carrier trunk with max_calls = 1
P_IP=127.0.0.3
P_ANS=5380
P_BUSY=5381
P_RING=5382
NODE=cdrit

# called numbers, one per kind (routes and lists in the policy below)
N_ANSWER=4930100001
N_HOLD=4930100999
N_LIMIT=4930100998
N_BUSY=4930200001
N_CANCEL=4930300001
N_NOANS=4930300002
N_NOROUTE=4940000001
N_BLOCKED=4913700001

WORK=$(mktemp -d "${TMPDIR:-/tmp}/tandem-cdr-b2b.XXXXXX")
chmod 755 "$WORK" # pg.sh runs PostgreSQL as postgres under it
PIDS=()
TD_PID=""
T0=$(date +%s)

# shellcheck source=lib.sh
. "$HERE/lib.sh"
trap cleanup EXIT

# ---- ports --------------------------------------------------------------------

ports_free $T_IP:$T_PORT $C_IP:5370 $C_IP:5371 $C_IP:5372 $C_IP:5373 \
	$C_IP:5374 $C_IP:5375 $C_IP:5376 $L_IP:5377 $L_IP:5378 \
	$P_IP:$P_ANS $P_IP:$P_BUSY $P_IP:$P_RING

# ---- processes ------------------------------------------------------------------

write_config() {
	cat >"$WORK/tandem.conf" <<EOF
; run_cdr_b2b.sh
[sip]
listen = $T_IP
port = $T_PORT
workers = 2
[limits]
max_calls = 10000
no_answer_s = 1
max_duration_s = 120
drain_timeout_s = 2
; every carrier SIPp sends from $C_IP: no per-source rate cap
source_rps = 0
[media]
enabled = no
[db]
dsn = $TANDEM_PG_DSN
[cdr]
spool_dir = $WORK/spool
node = $NODE
fsync_ms = 20
[api]
listen = $API
[log]
level = warn
target = stderr
EOF
}

spool_size() { # bytes in the spool's segment files
	local s=0 f
	for f in "$WORK"/spool/*.cdr; do
		[ -f "$f" ] && s=$((s + $(stat -c %s "$f")))
	done
	echo "$s"
}

# answered_calls NAME COUNT: COUNT answered calls with the caller's BYE
# through a fresh PBX SIPp (used while PostgreSQL is down)
answered_calls() {
	local pp
	uas "$1-pbx" pbx_answer $P_ANS "$2"
	pp=$SIPP_PID
	carrier "$1" carrier_answer $C_IP 5370 "$N_ANSWER" "$2" "$RATE"
	sipp_wait "$SIPP_PID" "$1"
	sipp_wait "$pp" "$1-pbx"
	[ "$(sipp_count "$1" SuccessfulCall)" -eq "$2" ] ||
		fail "$1: SIPp counted $(sipp_count "$1" SuccessfulCall) successful calls, want $2"
}

# ---- PostgreSQL, schema, policy --------------------------------------------------

say "PostgreSQL"
"$PGSH" start "$WORK/pg" >/dev/null
# shellcheck disable=SC1091
. "$WORK/pg/env"
export PGHOST PGPORT PGUSER PGDATABASE
write_config
"$TANDEMD" -m -c "$WORK/tandem.conf" >"$WORK/migrate.log" 2>&1 ||
	fail "tandemd -m: $(cat "$WORK/migrate.log")"
psql -X -q -v ON_ERROR_STOP=1 >"$WORK/policy.log" 2>&1 <<EOF || fail "policy: $(cat "$WORK/policy.log")"
BEGIN;
INSERT INTO trunks (name, role, host, port, inbound_cidrs, max_calls)
VALUES ('carrier', 'carrier', '$C_IP', 5370, '{$C_IP/32}', 0),
	('carrier-lim', 'carrier', '$L_IP', 5377, '{$L_IP/32}', 1),
	('pbx-ans', 'pbx', '$P_IP', $P_ANS, '{}', 0),
	('pbx-busy', 'pbx', '$P_IP', $P_BUSY, '{}', 0),
	('pbx-ring', 'pbx', '$P_IP', $P_RING, '{}', 0);
INSERT INTO routes (name, src_trunk_id, called_prefix)
SELECT r.name, t.id, r.prefix FROM trunks t,
	(VALUES ('ans', 'carrier', '4930100'), ('busy', 'carrier', '4930200'),
		('ring', 'carrier', '4930300'),
		('lim', 'carrier-lim', '4930100')) AS r(name, src, prefix)
WHERE t.name = r.src;
INSERT INTO route_targets (route_id, trunk_id)
SELECT r.id, t.id FROM routes r, trunks t
WHERE (r.name IN ('ans', 'lim') AND t.name = 'pbx-ans')
   OR (r.name = 'busy' AND t.name = 'pbx-busy')
   OR (r.name = 'ring' AND t.name = 'pbx-ring');
INSERT INTO number_lists (kind, field, prefix, status, reason)
VALUES ('block', 'called', '49137', 403, 'mass-calling numbers');
COMMIT;
EOF

say "tandemd"
start_tandemd
[ "$(stats .cdr.connected)" = true ] || wait_stat .cdr.connected true 10

# ---- 1. mixed calls ----------------------------------------------------------------

# Shares of TOTAL per kind; the limited trunk takes the rest (one of its
# calls is the holder, the others get 503).
n_answer=$((TOTAL * 40 / 100))
n_busy=$((TOTAL * 15 / 100))
n_cancel=$((TOTAL * 10 / 100))
n_noans=$((TOTAL * 10 / 100))
n_noroute=$((TOTAL * 10 / 100))
n_blocked=$((TOTAL * 10 / 100))
n_limit=$((TOTAL - n_answer - n_busy - n_cancel - n_noans - n_noroute -
	n_blocked - 1))
r() { # the rate for COUNT calls so every kind ends about together
	local v=$(($1 * RATE / TOTAL))
	[ "$v" -ge 1 ] || v=1
	echo "$v"
}
say "phase 1: $TOTAL calls at $RATE calls/s"

uas pbx-ans pbx_answer $P_ANS $((n_answer + 1))
PA=$SIPP_PID
uas pbx-busy pbx_busy $P_BUSY "$n_busy"
PB=$SIPP_PID
uas pbx-ring pbx_ring $P_RING $((n_cancel + n_noans))
PR=$SIPP_PID

# the holder: the only call the limited trunk may have at a time
carrier hold carrier_hold $L_IP 5377 "$N_HOLD" 1 1
HOLD=$SIPP_PID
hold_id=""
for _ in $(seq 1 100); do
	hold_id=$(curl -sf "http://$API/calls?number=$N_HOLD&state=connected" |
		jq -r '.[].id' 2>/dev/null | head -n 1)
	[ -n "$hold_id" ] && break
	sleep 0.05
done
[ -n "$hold_id" ] || fail "the holder's call is not up: $(curl -sf "http://$API/calls" || true)"

t1=$(date +%s.%N)
declare -A KPID
carrier answer carrier_answer $C_IP 5370 $N_ANSWER $n_answer "$(r $n_answer)"
KPID[answer]=$SIPP_PID
carrier busy carrier_486 $C_IP 5371 $N_BUSY $n_busy "$(r $n_busy)"
KPID[busy]=$SIPP_PID
carrier cancel carrier_cancel $C_IP 5372 $N_CANCEL $n_cancel "$(r $n_cancel)"
KPID[cancel]=$SIPP_PID
carrier noans carrier_480 $C_IP 5373 $N_NOANS $n_noans "$(r $n_noans)"
KPID[noans]=$SIPP_PID
carrier noroute carrier_404 $C_IP 5374 $N_NOROUTE $n_noroute "$(r $n_noroute)"
KPID[noroute]=$SIPP_PID
carrier blocked carrier_403 $C_IP 5375 $N_BLOCKED $n_blocked "$(r $n_blocked)"
KPID[blocked]=$SIPP_PID
carrier limit carrier_503 $L_IP 5378 $N_LIMIT $n_limit "$(r $n_limit)"
KPID[limit]=$SIPP_PID
for k in answer busy cancel noans noroute blocked limit; do
	sipp_wait "${KPID[$k]}" "$k"
done
# the holder's call ends by the API: Tandem sends BYE on both legs
curl -sf -X DELETE "http://$API/calls/$hold_id" >/dev/null ||
	fail "DELETE /calls/$hold_id failed"
sipp_wait "$HOLD" hold
sipp_wait "$PA" pbx-ans
sipp_wait "$PB" pbx-busy
sipp_wait "$PR" pbx-ring
t2=$(date +%s.%N)
say "phase 1: SIPp done in $(secs "$t1" "$t2") s"

declare -A SIPPN
sum=0
for k in hold answer busy cancel noans noroute blocked limit; do
	[ "$(sipp_count $k FailedCall)" -eq 0 ] ||
		fail "$k: SIPp counted $(sipp_count $k FailedCall) failed calls"
	SIPPN[$k]=$(sipp_count $k SuccessfulCall)
	sum=$((sum + SIPPN[$k]))
done
[ "$sum" -eq "$TOTAL" ] || fail "SIPp counted $sum successful calls, want $TOTAL"
wait_rows "$TOTAL" 30
no_dups "$TOTAL"
say "phase 1: $TOTAL rows, ids and Call-IDs unique"

# per kind: called number -> count|disposition|a_status|b_status|hangup|
# src_trunk|dst_trunk, compared with what SIPp counted
check_kind() { # NAME NUMBER DISP A_STATUS B_STATUS HANGUP SRC DST
	local got want
	got=$(sql "SELECT count(*) || '|' || string_agg(DISTINCT disposition, ',')
		|| '|' || string_agg(DISTINCT a_status::text, ',') || '|' ||
		coalesce(string_agg(DISTINCT b_status::text, ','), '-') || '|' ||
		string_agg(DISTINCT hangup, ',') || '|' ||
		string_agg(DISTINCT src_trunk, ',') || '|' ||
		string_agg(DISTINCT dst_trunk, ',') || '|' ||
		string_agg(DISTINCT node, ',')
		FROM cdr WHERE called_in = '$2'")
	want="${SIPPN[$1]}|$3|$4|$5|$6|$7|$8|$NODE"
	echo "  $1: $got"
	[ "$got" = "$want" ] || {
		echo "FAIL: $1 ($2): count|disp|a|b|hangup|src|dst|node is $got, want $want"
		KIND_FAILED=1
	}
}
KIND_FAILED=0
check_kind answer $N_ANSWER answered 200 200 caller carrier pbx-ans
check_kind hold $N_HOLD answered 200 200 tandem carrier-lim pbx-ans
check_kind busy $N_BUSY busy 486 486 callee carrier pbx-busy
check_kind cancel $N_CANCEL cancelled 487 487 caller carrier pbx-ring
check_kind noans $N_NOANS no_answer 480 487 tandem carrier pbx-ring
check_kind noroute $N_NOROUTE rejected_policy 404 - none carrier ""
check_kind blocked $N_BLOCKED rejected_policy 403 - none carrier ""
check_kind limit $N_LIMIT rejected_limits 503 - none carrier-lim ""
[ "$KIND_FAILED" -eq 0 ] || fail "CDR content per kind (above)"
# row by row: times, durations, Call-IDs, routes (each condition names
# what a bad row breaks)
while IFS='|' read -r what cond; do
	n=$(sql "SELECT count(*) FROM cdr WHERE $cond")
	[ "$n" -eq 0 ] || fail "$n rows: $what"
done <<EOF
answer_at set iff answered|(disposition = 'answered') <> (answer_at IS NOT NULL)
times out of order|end_at < attempt_at OR answer_at < attempt_at OR end_at < answer_at
answered without a duration|disposition = 'answered' AND duration_ms <= 0
billable_s not the duration rounded up|billable_s <> (duration_ms + 999) / 1000
a duration without an answer|disposition <> 'answered' AND duration_ms <> 0
A-leg Call-ID not the carrier's|a_callid NOT LIKE 'cdr-%'
routed without its own B-leg Call-ID and one route|dst_trunk <> '' AND (b_callid = '' OR b_callid = a_callid OR jsonb_array_length(routes) <> 1)
refused with a B-leg|dst_trunk = '' AND (b_callid <> '' OR routes <> '[]')
a provisional time iff the PBX rang|(provisional_at IS NOT NULL) <> (called_in IN ('$N_CANCEL', '$N_NOANS'))
EOF
say "phase 1: per-kind counts, statuses and times as SIPp saw them"

# ---- 2. PostgreSQL outage ------------------------------------------------------------

rows=$TOTAL
written0=$(stats .cdr.written)
spooled0=$(stats .cdr.spooled)
size0=$(spool_size)
say "phase 2: PostgreSQL stopped, $N_OUT calls"
"$PGSH" stop "$WORK/pg"
answered_calls outage "$N_OUT"
wait_stat .cdr.spooled $((spooled0 + N_OUT)) 10
size1=$(spool_size)
w=$(stats .cdr.written)
sb=$(stats .cdr.spool_bytes)
conn=$(stats .cdr.connected)
echo "  spool $size0 -> $size1 bytes, /stats cdr.spool_bytes $sb, written $w, connected $conn"
[ "$w" -eq "$written0" ] || fail "$((w - written0)) rows written while PostgreSQL was down"
[ "$size1" -gt "$size0" ] || fail "the spool did not grow ($size0 -> $size1 bytes)"
[ "$sb" -gt 0 ] || fail "/stats cdr.spool_bytes is $sb while PostgreSQL is down"
[ "$conn" = false ] || fail "/stats cdr.connected is $conn while PostgreSQL is down"
t1=$(date +%s.%N)
"$PGSH" resume "$WORK/pg"
rows=$((rows + N_OUT))
wait_rows "$rows" 30
wait_stat .cdr.spool_bytes 0 10
t2=$(date +%s.%N)
no_dups "$rows"
[ "$(sql "SELECT count(*) FROM cdr WHERE a_callid LIKE 'cdr-outage-%'
	AND disposition = 'answered' AND a_status = 200")" -eq "$N_OUT" ] ||
	fail "the outage's rows are not its $N_OUT answered calls"
say "phase 2: $N_OUT rows replayed $(secs "$t1" "$t2") s after PostgreSQL came back; $rows rows, no duplicates"

# ---- 3. kill -9 with PostgreSQL down ---------------------------------------------------

# kill9 NAME COUNT: PostgreSQL down, COUNT calls, kill -9 as soon as their
# CDRs are in the spool file (written, not necessarily fdatasync'ed: the
# kernel keeps them through a process kill)
kill9() {
	local sub0
	sub0=$(stats .cdr.submitted)
	"$PGSH" stop "$WORK/pg"
	answered_calls "$1" "$2"
	wait_stat .cdr.submitted $((sub0 + $2)) 10
	wait_stat .cdr.spooled $((sub0 + $2)) 10
	kill -KILL "$TD_PID"
	wait "$TD_PID" 2>/dev/null || true
	echo "  killed tandemd with $(spool_size) bytes in the spool"
}

say "phase 3: PostgreSQL stopped, $N_KILL calls, kill -9"
kill9 kill "$N_KILL"
"$PGSH" resume "$WORK/pg"
t1=$(date +%s.%N)
start_tandemd
rows=$((rows + N_KILL))
wait_rows "$rows" 30
t2=$(date +%s.%N)
no_dups "$rows"
[ "$(sql "SELECT count(*) FROM cdr WHERE a_callid LIKE 'cdr-kill-%'")" -eq "$N_KILL" ] ||
	fail "the killed run's rows are not its $N_KILL calls"
wait_stat .cdr.replayed "$N_KILL" 10
say "phase 3: replayed $N_KILL rows $(secs "$t1" "$t2") s after the restart; $rows rows"

# ---- 4. a torn tail -----------------------------------------------------------------------

say "phase 4: PostgreSQL stopped, $N_KILL calls, kill -9, half a record appended"
wait_stat .cdr.spool_bytes 0 10
kill9 torn "$N_KILL"
seg=$(ls "$WORK"/spool/*.cdr | sort | tail -n 1)
segsz=$(stat -c %s "$seg")
# the segment's first frame: magic, payload length (LE), CRC, payload
flen=$(od -An -tu4 -j4 -N4 "$seg" | tr -d ' ')
[ -n "$flen" ] && [ "$flen" -gt 0 ] || fail "no frame at the start of $seg"
cut=$((12 + flen / 2))
head -c "$cut" "$seg" >>"$seg"
echo "  appended $cut of the $((12 + flen)) bytes of a record to ${seg##*/} at $segsz"
"$PGSH" resume "$WORK/pg"
start_tandemd
rows=$((rows + N_KILL))
wait_rows "$rows" 30
no_dups "$rows"
[ "$(sql "SELECT count(*) FROM cdr WHERE a_callid LIKE 'cdr-torn-%'")" -eq "$N_KILL" ] ||
	fail "the torn run's rows are not its $N_KILL calls"
wait_stat .cdr.torn_skipped 1 10
grep -E "torn tail at $segsz \($cut byte\(s\)\) skipped" "$TD_LOG" ||
	fail "tandemd did not name the torn tail at $segsz ($cut bytes): $(grep -i torn "$TD_LOG" || true)"
say "phase 4: torn tail skipped and named, every whole record in; $rows rows"

# ---- the end --------------------------------------------------------------------------------

kill -TERM "$TD_PID"
wait_pid "$TD_PID" tandemd 15
[ "$WAIT_RC" -eq 0 ] || fail "tandemd exited $WAIT_RC after SIGTERM"
PIDS=()
no_dups "$rows"
say "PASS: $rows CDRs, each exactly once"
