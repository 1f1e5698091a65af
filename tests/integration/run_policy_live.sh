#!/usr/bin/env bash
# The policy engine live, through a real tandemd: policy and CDRs in a
# private PostgreSQL, SIPp calls from a carrier to two PBXs, changes made
# in the database while the calls run. Registered with ctest.
#
#   run_policy_live.sh BUILD_DIR|TANDEMD SCENARIO_DIR
#
# Phases (the CDR table, with each attempt's time and target trunk, is
# the evidence):
#  1. Live reload: calls at LIVE_RATE/s (default 40) to a route whose
#     target is pbx-a; the route's target is changed to pbx-b in the
#     database: tandemd publishes the new version within a second of the
#     commit (its log), every call attempted after that second goes to
#     pbx-b, every call before the commit went to pbx-a, none fails.
#  2. A broken rule (a rewrite whose regex does not compile) is inserted
#     during the calls: refused whole, the log names the row, the calls
#     keep going to pbx-b on the previous version.
#  3. PostgreSQL stopped during calls: they are still routed (pbx-b).
#  4. tandemd restarted while PostgreSQL is down: it serves from its
#     policy cache and says so; its calls are routed (pbx-b).
#  5. PostgreSQL back: tandemd reconnects by itself; the route changed
#     back to pbx-a: the next calls go there. Every CDR of every phase is
#     in the table once.
#
# Addresses and ports (loopback only, fixed: RUN_SERIAL): tandemd
# 127.0.0.1:5760 (API 127.0.0.1:18760), the carrier 127.0.0.2:5770,
# pbx-a 127.0.0.3:5780, pbx-b 127.0.0.3:5781. Every process is bounded
# (SIPp -m and -timeout, wall-clock waits); only PIDs started here are
# killed; PostgreSQL is stopped by the EXIT trap.
#
# Exit 0 pass, 1 fail, 2 usage, 77 skip (sipp missing). Env: SIPP,
# LIVE_RATE, KEEP=1 keeps the logs.
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
RATE=${LIVE_RATE:-40}
SCEN_PREFIX=cdr_
CID_PREFIX=live-

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

T_IP=127.0.0.1
T_PORT=5760
API=127.0.0.1:18760
C_IP=127.0.0.2
C_PORT=5770
P_IP=127.0.0.3
P_A=5780
P_B=5781
NUM=4930100001

WORK=$(mktemp -d "${TMPDIR:-/tmp}/tandem-policy-live.XXXXXX")
chmod 755 "$WORK" # pg.sh runs PostgreSQL as postgres under it
PIDS=()
TD_PID=""
T0=$(date +%s)

# shellcheck source=lib.sh
. "$HERE/lib.sh"
trap cleanup EXIT

ports_free $T_IP:$T_PORT $C_IP:$C_PORT $P_IP:$P_A $P_IP:$P_B

write_config() {
	cat >"$WORK/tandem.conf" <<EOF
; run_policy_live.sh
[sip]
listen = $T_IP
port = $T_PORT
workers = 2
[limits]
max_calls = 10000
max_duration_s = 120
drain_timeout_s = 1
source_rps = 0
[media]
enabled = no
[db]
dsn = $TANDEM_PG_DSN connect_timeout=2
policy_cache = $WORK/policy.cache
[cdr]
spool_dir = $WORK/spool
node = live
fsync_ms = 20
[api]
listen = $API
[log]
level = info
target = stderr
EOF
}

# wait_log PATTERN SECONDS: until tandemd's current log has a line
wait_log() {
	for _ in $(seq 1 $(($2 * 10))); do
		grep -qE "$1" "$TD_LOG" && return 0
		sleep 0.1
	done
	fail "no log line /$1/ after $2 s"
}

# calls NAME COUNT: COUNT answered calls at RATE, the PBX SIPps already
# up; waits for the carrier (every call successful)
calls() {
	carrier "$1" carrier_answer "$C_IP" "$C_PORT" "$NUM" "$2" "$RATE"
	sipp_wait "$SIPP_PID" "$1"
}

# the PBXs answer whatever comes (their -m far above what is sent; they
# are killed at the end: the CDRs and the carrier count, not them)
pbxs() {
	uas "pbx-a-$1" pbx_answer "$P_A" 100000
	PA=$SIPP_PID
	uas "pbx-b-$1" pbx_answer "$P_B" 100000
	PB=$SIPP_PID
}
pbxs_stop() {
	kill -KILL "$PA" "$PB" 2>/dev/null || true
	wait "$PA" "$PB" 2>/dev/null || true
}

set_target() { # TRUNK: the route's only target
	sql "UPDATE route_targets SET trunk_id =
		(SELECT id FROM trunks WHERE name = '$1')
		WHERE route_id = (SELECT id FROM routes WHERE name = 'did')"
}

# per_trunk WHERE: "pbx-a pbx-b" row counts of the CDRs matching WHERE
per_trunk() {
	sql "SELECT count(*) FILTER (WHERE dst_trunk = 'pbx-a') || ' ' ||
		count(*) FILTER (WHERE dst_trunk = 'pbx-b') FROM cdr WHERE $1"
}

# ---- PostgreSQL, schema, policy ---------------------------------------------------

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
INSERT INTO trunks (name, role, host, port, inbound_cidrs)
VALUES ('carrier', 'carrier', '$C_IP', $C_PORT, '{$C_IP/32}'),
	('pbx-a', 'pbx', '$P_IP', $P_A, '{}'),
	('pbx-b', 'pbx', '$P_IP', $P_B, '{}');
INSERT INTO routes (name, src_trunk_id, called_prefix)
SELECT 'did', id, '4930100' FROM trunks WHERE name = 'carrier';
INSERT INTO route_targets (route_id, trunk_id)
SELECT r.id, t.id FROM routes r, trunks t
WHERE r.name = 'did' AND t.name = 'pbx-a';
COMMIT;
EOF

say "tandemd"
start_tandemd
wait_stat .cdr.connected true 10
v0=$(stats .policy_version)

# ---- 1 and 2: live reload, a broken rule -------------------------------------------

N1=$((RATE * 8))
say "phases 1-2: $N1 calls at $RATE/s; target changed at ~2 s, a broken rule at ~5 s"
pbxs 1
carrier live "carrier_answer" "$C_IP" "$C_PORT" "$NUM" "$N1" "$RATE"
LIVE=$SIPP_PID
sleep 2
t_change=$(sql "SELECT extract(epoch FROM clock_timestamp())")
set_target pbx-b
# the new version: published within a second of the commit
for _ in $(seq 1 30); do
	v1=$(stats .policy_version)
	[ "$v1" != "$v0" ] && break
	sleep 0.05
done
[ "$v1" != "$v0" ] || fail "policy version still $v0 1.5 s after the change"
t_seen=$(date +%s.%N)
lag=$(secs "$t_change" "$t_seen")
say "version $v0 -> $v1 seen by the API ${lag} s after the commit"
awk -v l="$lag" 'BEGIN { exit !(l < 1.0) }' ||
	fail "the new policy took ${lag} s (want < 1 s)"

sleep 3
sql "INSERT INTO rewrite_rules (trunk_id, direction, field, pattern,
	replacement) SELECT id, 'inbound', 'called', '^(49', '\\1'
	FROM trunks WHERE name = 'carrier'"
bad_id=$(sql "SELECT max(id) FROM rewrite_rules")
wait_log "policy refused: .*rewrite_rules id=$bad_id" 3
say "broken rule refused: $(grep -m1 -o 'policy refused: .*' "$TD_LOG" | cut -c1-120)"
[ "$(stats .policy_version)" = "$v1" ] ||
	fail "after the refused rule /stats policy.version is $(stats .policy_version), want $v1"
sipp_wait "$LIVE" live
wait_rows "$N1" 20
before=$(per_trunk "a_callid LIKE 'live-live-%' AND
	extract(epoch FROM attempt_at) < $t_change")
after=$(per_trunk "a_callid LIKE 'live-live-%' AND
	extract(epoch FROM attempt_at) > $t_change + 1.0")
say "attempts before the commit (pbx-a pbx-b): $before; a second after it: $after"
[ "${before#* }" = 0 ] && [ "${before% *}" -gt 0 ] ||
	fail "before the change: pbx-a pbx-b = $before"
[ "${after% *}" = 0 ] && [ "${after#* }" -gt 0 ] ||
	fail "a second after the change: pbx-a pbx-b = $after"
[ "$(sql "SELECT count(*) FROM cdr WHERE disposition <> 'answered'")" = 0 ] ||
	fail "calls not answered: $(sql "SELECT disposition, count(*) FROM cdr GROUP BY 1")"
sql "DELETE FROM rewrite_rules WHERE id = $bad_id"
for _ in $(seq 1 30); do
	[ "$(stats .policy_version)" != "$v1" ] && break
	sleep 0.05
done

# ---- 3: PostgreSQL down during calls ------------------------------------------------

N3=$((RATE * 2))
say "phase 3: PostgreSQL stopped, $N3 calls"
"$PGSH" stop "$WORK/pg" >/dev/null
calls down "$N3"
say "phase 3: $N3 calls routed with the database down"

# ---- 4: a restart while it is down: the cache -----------------------------------------

N4=$RATE
say "phase 4: tandemd restarted with PostgreSQL down, $N4 calls"
kill -TERM "$TD_PID"
wait_pid "$TD_PID" tandemd 10
[ "$WAIT_RC" -eq 0 ] || fail "tandemd exited $WAIT_RC on SIGTERM"
start_tandemd
wait_log "database unreachable: serving policy version [0-9]+ from the cache" 5
calls cache "$N4"
say "phase 4: $N4 calls routed from the cache"

# ---- 5: PostgreSQL back: reconnect, a change applies -----------------------------------

say "phase 5: PostgreSQL resumed"
"$PGSH" resume "$WORK/pg" >/dev/null
wait_stat .cdr.connected true 15
vc=$(stats .policy_version)
set_target pbx-a
for _ in $(seq 1 40); do
	[ "$(stats .policy_version)" != "$vc" ] && break
	sleep 0.05
done
[ "$(stats .policy_version)" != "$vc" ] ||
	fail "no new policy version 2 s after the change (reconnected?)"
N5=$RATE
calls back "$N5"
pbxs_stop
total=$((N1 + N3 + N4 + N5))
wait_rows "$total" 30
no_dups "$total"
r3=$(per_trunk "a_callid LIKE 'live-down-%' OR a_callid LIKE 'live-cache-%'")
r5=$(per_trunk "a_callid LIKE 'live-back-%'")
[ "$r3" = "0 $((N3 + N4))" ] || fail "phases 3-4: pbx-a pbx-b = $r3, want 0 $((N3 + N4))"
[ "$r5" = "$N5 0" ] || fail "phase 5: pbx-a pbx-b = $r5, want $N5 0"
say "PASS: $total calls answered, every CDR once; the reload took ${lag} s"
