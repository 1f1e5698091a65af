# shellcheck shell=bash
# Shared by tests/bench/b2b_bench.sh and flood_bench.sh (sourced, not
# run). The caller sets WORK, PIDS (every PID started, killed by the EXIT
# trap), TANDEMD, TD_CPU (a taskset prefix, or empty), TD_PID, and
# defines die and stat_json (GET /stats of the running tandemd).

# The EXIT trap: every PID started here killed; WORK removed on success
# (kept with KEEP=1 or on failure).
cleanup() {
	local rc=$? p
	for p in "${PIDS[@]}"; do
		kill -KILL "$p" 2>/dev/null || true
	done
	for p in "${PIDS[@]}"; do
		wait "$p" 2>/dev/null || true
	done
	if [ "$rc" -eq 0 ] && [ -z "${KEEP:-}" ]; then
		rm -rf "$WORK"
	else
		echo "logs kept in $WORK"
	fi
	exit "$rc"
}

# col FILE NAME: the last value of column NAME of a SIPp -trace_stat csv
col() {
	awk -F';' -v n="$2" 'NR == 1 { for (i = 1; i <= NF; i++)
			if ($i == n) c = i; next }
		{ v = $c } END { print v + 0 }' "$1"
}

# tandemd_up NAME: tandemd on $WORK/NAME.conf (log NAME.tandemd.log), up
# once its API answers /stats
tandemd_up() {
	"${TD_CPU[@]}" "$TANDEMD" -c "$WORK/$1.conf" >"$WORK/$1.tandemd.log" \
		2>&1 </dev/null &
	TD_PID=$!
	PIDS+=("$TD_PID")
	for _ in $(seq 1 100); do
		stat_json | grep -q '"calls"' && return 0
		kill -0 "$TD_PID" 2>/dev/null || break
		sleep 0.05
	done
	cat "$WORK/$1.tandemd.log" >&2
	die "tandemd did not come up"
}

# stop_tandemd: SIGTERM, SIGKILL after 10 s, reaped
stop_tandemd() {
	kill -TERM "$TD_PID" 2>/dev/null || true
	for _ in $(seq 1 100); do
		kill -0 "$TD_PID" 2>/dev/null || break
		sleep 0.1
	done
	kill -KILL "$TD_PID" 2>/dev/null || true
	wait "$TD_PID" 2>/dev/null || true
	TD_PID=""
}

wait_udp() { # IP PORT PID
	for _ in $(seq 1 100); do
		ss -Hlun "src $1:$2" | grep -q . && return 0
		kill -0 "$3" 2>/dev/null || break
		sleep 0.05
	done
	die "nothing listens on udp $1:$2 (see $WORK)"
}
