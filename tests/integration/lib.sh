# Shell helpers shared by the integration scripts that drive a real
# tandemd with SIPp and PostgreSQL (run_cdr_b2b.sh, run_policy_live.sh).
# Sourced, never run. The caller sets WORK (its scratch folder), SIPP,
# SCEN (the scenario folder), SCEN_PREFIX (scenario file prefix, "cdr_"),
# CID_PREFIX (of the carriers' Call-IDs, "cdr-"), PIDS (an array: every
# PID started here is killed by the caller's EXIT trap), T0 (its start,
# for say), T_IP/T_PORT (tandemd), P_IP (the PBX SIPps), API (tandemd's
# management API), TANDEMD and PGSH (tests/integration/pg.sh; the private
# PostgreSQL in $WORK/pg).
# shellcheck shell=bash

fail() {
	echo "FAIL: $*"
	exit 1
}

secs() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f", b - a }'; }
say() { echo "[$(($(date +%s) - T0))s] $*"; }

busy_port() { # IP PORT proto: something is bound there (or on 0.0.0.0)
	ss -Hln"${3:-u}" "sport = :$2" 2>/dev/null |
		awk -v ip="$1" '$4 ~ "^(" ip "|0\\.0\\.0\\.0|\\*|\\[::\\]):" { f = 1 }
			END { exit !f }'
}

# ports_free IP:PORT...: fail unless each UDP IP:PORT and TCP $API are free
ports_free() {
	local p
	for p in "$@"; do
		if busy_port "${p%:*}" "${p#*:}"; then
			fail "udp $p is in use"
		fi
	done
	if busy_port 127.0.0.1 "${API#*:}" t; then
		fail "tcp $API is in use"
	fi
}

# wait_pid PID NAME SECONDS: its exit status in WAIT_RC; killed (and a
# failure) when it outlives SECONDS
wait_pid() {
	local end=$(($(date +%s) + $3))
	while kill -0 "$1" 2>/dev/null; do
		if [ "$(date +%s)" -ge "$end" ]; then
			kill -KILL "$1" 2>/dev/null || true
			wait "$1" 2>/dev/null || true
			fail "$2 still running after $3 s: killed"
		fi
		sleep 0.1
	done
	WAIT_RC=0
	wait "$1" || WAIT_RC=$?
}

# sipp NAME SCENARIO IP PORT COUNT ARGS...: started in the background,
# pid in SIPP_PID; its statistics in NAME.csv
sipp_start() {
	local name=$1 sf=$SCEN/${SCEN_PREFIX:-cdr_}$2.xml ip=$3 port=$4 m=$5
	shift 5
	[ -f "$sf" ] || fail "no scenario $sf"
	(cd "$WORK" && exec "$SIPP" -sf "$sf" -i "$ip" -p "$port" -m "$m" \
		-nostdin -timeout 90s -timeout_error -max_recv_loops 10000 \
		-trace_err -error_file "$WORK/$name.err" \
		-trace_stat -stf "$WORK/$name.csv" -fd 1 "$@") \
		>"$WORK/$name.out" 2>&1 </dev/null &
	SIPP_PID=$!
	PIDS+=("$SIPP_PID")
}

# sipp_wait PID NAME: exit 0 (every call successful) within 100 s
sipp_wait() {
	wait_pid "$1" "$2" 100
	[ "$WAIT_RC" -eq 0 ] || fail "$2 SIPp exited $WAIT_RC (see $2.out, $2.err)"
}

# sipp_count NAME WHAT: the total of WHAT (SuccessfulCall, FailedCall) in
# the last line of NAME.csv (SIPp's -trace_stat)
sipp_count() {
	awk -F';' -v w="$2(C)" 'NR == 1 { for (i = 1; i <= NF; i++)
			if ($i == w) c = i; next }
		{ v = $c } END { print v + 0 }' "$WORK/$1.csv"
}

listening() { # IP PORT: something is bound to udp IP:PORT
	busy_port "$1" "$2"
}

wait_listening() { # IP PORT PID
	for _ in $(seq 1 100); do
		listening "$1" "$2" && return 0
		kill -0 "$3" 2>/dev/null || break
		sleep 0.05
	done
	fail "nothing listens on udp $1:$2"
}

uas() { # NAME SCENARIO PORT COUNT: a PBX SIPp, waiting for calls
	sipp_start "$1" "$2" "$P_IP" "$3" "$4"
	wait_listening "$P_IP" "$3" "$SIPP_PID"
}

# carrier NAME SCENARIO IP PORT NUMBER COUNT RATE: calls to tandemd
carrier() {
	sipp_start "$1" "$2" "$3" "$4" "$6" -s "$5" -r "$7" -l 2000 \
		-cid_str "${CID_PREFIX:-cdr-}$1-%u-%p@%s" "$T_IP:$T_PORT"
}

stats() { # jq filter over GET /stats
	curl -sf --max-time 5 "http://$API/stats" | jq -r "$1"
}

# wait_stat FILTER VALUE SECONDS: until /stats FILTER == VALUE
wait_stat() {
	local v=""
	for _ in $(seq 1 $(($3 * 10))); do
		v=$(stats "$1" 2>/dev/null || true)
		[ "$v" = "$2" ] && return 0
		sleep 0.1
	done
	fail "/stats $1 is '$v' after $3 s, want $2"
}

sql() { psql -X -q -At -v ON_ERROR_STOP=1 -c "$1"; }

# wait_rows N SECONDS: until the cdr table holds N rows
wait_rows() {
	local n=""
	for _ in $(seq 1 $(($2 * 10))); do
		n=$(sql "SELECT count(*) FROM cdr" 2>/dev/null || true)
		[ "$n" = "$1" ] && return 0
		sleep 0.1
	done
	fail "cdr holds '$n' rows after $2 s, want $1"
}

# no_dups N: N rows, N distinct ids, N distinct A-leg Call-IDs
no_dups() {
	local r
	r=$(sql "SELECT count(*) || ' ' || count(DISTINCT id) || ' ' ||
		count(DISTINCT a_callid) FROM cdr")
	[ "$r" = "$1 $1 $1" ] ||
		fail "rows / distinct ids / distinct Call-IDs: $r, want $1 each"
}

# The EXIT trap: every PID started here killed, PostgreSQL stopped, the
# logs shown on failure, WORK removed on success (kept with KEEP=1).
cleanup() {
	local rc=$? p
	for p in "${PIDS[@]}"; do
		kill -KILL "$p" 2>/dev/null || true
	done
	for p in "${PIDS[@]}"; do
		wait "$p" 2>/dev/null || true
	done
	"$PGSH" stop "$WORK/pg" >/dev/null 2>&1 || true
	if [ "$rc" -ne 0 ]; then
		for f in "$WORK"/tandemd*.log "$WORK"/*.err "$WORK"/*.out; do
			[ -s "$f" ] || continue
			echo "----- ${f##*/}"
			tail -n 40 "$f"
		done
	fi
	if [ "$rc" -eq 0 ] && [ -z "${KEEP:-}" ]; then
		rm -rf "$WORK"
	else
		echo "logs kept in $WORK"
	fi
	exit "$rc"
}

# start_tandemd: one more tandemd on $WORK/tandem.conf (its log in
# $TD_LOG), up when its SIP port listens and its API answers
TD_RUN=0
start_tandemd() {
	TD_RUN=$((TD_RUN + 1))
	TD_LOG=$WORK/tandemd.$TD_RUN.log
	"$TANDEMD" -c "$WORK/tandem.conf" >"$TD_LOG" 2>&1 </dev/null &
	TD_PID=$!
	PIDS+=("$TD_PID")
	wait_listening "$T_IP" "$T_PORT" "$TD_PID"
	for _ in $(seq 1 100); do
		curl -sf "http://$API/stats" >/dev/null 2>&1 && return 0
		sleep 0.05
	done
	fail "tandemd's API on $API does not answer"
}
