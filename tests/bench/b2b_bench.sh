#!/usr/bin/env bash
# End-to-end B2BUA benchmark: real SIPp calls carrier -> tandemd -> PBX
# over loopback, figures printed; a measurement, not a pass/fail test (not
# in ctest; the "b2b_bench" target of tests/bench runs it on the build).
#
#   tests/bench/b2b_bench.sh BUILD_DIR        (QUICK=1: smoke run, < 60 s)
#
# Method. A "carrier" SIPp (127.0.0.2) places calls (INVITE with an SDP
# offer, 100/180/200, ACK, hold, BYE, 200: scenarios/b2b_bench_*.xml) to
# tandemd (127.0.0.1:5260, static [route.pbx] policy from its config file,
# no database, no CDRs, media relay OFF: the SDP crosses unchanged, no
# RTP is sent, log level warn), which bridges each one to a "PBX" SIPp
# (127.0.0.3:5280) that answers. tandemd is restarted for every run so
# the transactions a run leaves lingering (RFC 3261 Timer J, RFC 6026
# Timer L/M: 64*T1 = 32 s) never weigh on the next. By default tandemd
# runs as deployed (sip.workers = 0: one worker per core) and nothing is
# pinned; with PIN=1 tandemd runs one worker pinned to CPU 1 and both
# SIPps on CPU 0 (same CPU per call within noise, but one worker has half
# the transaction slots, see below). The runs:
#  1. baseline: the carrier calls the PBX SIPp directly at BASE_CPS; the
#     CPU per call of each SIPp, so the tandemd figures can be read
#     against what the load generators themselves cost;
#  2. CPU per call: CPU_CALLS calls at BASE_CPS through tandemd; tandemd's
#     utime+stime (/proc/PID/stat, all threads) from before the first
#     call to 1 s after the last, divided by the calls, in us; in the full
#     run also once more when the lingering transactions have expired;
#  3. memory per concurrent call: CONC calls held HOLD_LONG_MS each
#     (the carrier's -l CONC), VmRSS sampled while all of them are up,
#     (VmRSS during - VmRSS idle) / CONC in KiB, VmHWM after the run;
#  4. max clean call rate: the STEPS rates (cps) in order, each a bounded
#     number of calls (min(STEP_MAX_CALLS, cps * STEP_S)), held HOLD_MS;
#     a step is clean when the carrier counts every call successful and
#     none failed, tandemd's /stats agrees (answered = calls, no failed,
#     rejected or dropped), the retransmissions seen by the SIPps
#     (Retransmissions counters) and by tandemd (sip.rx above the 6
#     messages a call takes) stay under RETRANS_PCT % of the calls, and
#     the carrier reached 95 % of the rate asked (SIPp itself may be the
#     limit). The first unclean step ends the ramp; the figure is the
#     highest clean rate.
# Read the ramp with the transaction lifetimes in mind: every call leaves
# ~101 transaction-seconds behind it (Timers L, M, J 64*T1 = 32 s each, K
# T4 = 5 s), and a worker holds at most txn max_live (65536) at once, so
# at T1 500 ms one worker sustains about 650 cps indefinitely; a step
# shorter than 32 s passes more (STEP_S=60 STEP_MAX_CALLS=90000 measures
# the sustained rate). A step refused that way says so (503s,
# "lack of transaction slots").
# Everything is bounded: SIPp by -m and -timeout, every process by a
# wall-clock kill by PID; only the PIDs started here are killed. Other
# load on the machine moves the figures; run it on a quiet box.
#
# Env: QUICK=1, PHASES (default "1 2 3 4": which runs), SIPP, PIN=0|1, WORKERS (tandemd sip.workers, default 1
# when pinned, else 0), STEPS, BASE_CPS, CPU_CALLS, CONC, HOLD_MS,
# HOLD_LONG_MS, STEP_S, STEP_MAX_CALLS, RETRANS_PCT, KEEP=1 keeps logs.
# Exit 0 when every run completed (whatever the figures), 1 on an error.
set -euo pipefail

if [ $# -ne 1 ]; then
	echo "usage: $0 BUILD_DIR" >&2
	exit 2
fi
BUILD=$(cd "$1" && pwd)
TANDEMD=$BUILD/b2bua/tandemd
SCEN=$(cd "$(dirname "$0")/scenarios" && pwd)
SIPP=${SIPP:-sipp}
[ -x "$TANDEMD" ] || {
	echo "no tandemd at $TANDEMD" >&2
	exit 1
}
command -v "$SIPP" >/dev/null || {
	echo "sipp not found" >&2
	exit 1
}
command -v curl >/dev/null || {
	echo "curl not found" >&2
	exit 1
}

T_IP=127.0.0.1 T_PORT=5260 API=127.0.0.1:18260
C_IP=127.0.0.2 C_PORT=5270 C_MPORT=5272
P_IP=127.0.0.3 P_PORT=5280 P_MPORT=5282
PIN=${PIN:-0}
if [ "$PIN" = 1 ]; then
	WORKERS=${WORKERS:-1}
	TD_CPU=(taskset -c 1)
	SIPP_CPU=(taskset -c 0)
else
	WORKERS=${WORKERS:-0}
	TD_CPU=()
	SIPP_CPU=()
fi
if [ -n "${QUICK:-}" ]; then
	STEPS=${STEPS:-"200 500"}
	BASE_CPS=${BASE_CPS:-500} CPU_CALLS=${CPU_CALLS:-2000}
	CONC=${CONC:-1000} HOLD_LONG_MS=${HOLD_LONG_MS:-5000}
	STEP_S=${STEP_S:-3} STEP_MAX_CALLS=${STEP_MAX_CALLS:-2000}
else
	STEPS=${STEPS:-"500 1000 2000 3000 4000 5000 6000 8000 10000"}
	BASE_CPS=${BASE_CPS:-1000} CPU_CALLS=${CPU_CALLS:-20000}
	CONC=${CONC:-10000} HOLD_LONG_MS=${HOLD_LONG_MS:-20000}
	STEP_S=${STEP_S:-20} STEP_MAX_CALLS=${STEP_MAX_CALLS:-20000}
fi
HOLD_MS=${HOLD_MS:-1000}
PHASES=${PHASES:-"1 2 3 4"}
RETRANS_PCT=${RETRANS_PCT:-1}
HZ=$(getconf CLK_TCK)

WORK=$(mktemp -d "${TMPDIR:-/tmp}/tandem-bench-e2e.XXXXXX")
PIDS=()
TD_PID=""
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"
trap cleanup EXIT
die() {
	echo "b2b_bench: $*" >&2
	exit 1
}

for p in "$T_PORT" "$C_PORT" "$C_MPORT" "$P_PORT" "$P_MPORT"; do
	if ss -Hlun "sport = :$p" | grep -q .; then
		die "UDP port $p is in use: $(ss -Hlunp "sport = :$p")"
	fi
done
ss -Hltn "sport = :${API##*:}" | grep -q . && die "TCP ${API} is in use"

# ---- helpers -----------------------------------------------------------

# cpu_ticks PID: utime+stime of the process (all its threads), in ticks
cpu_ticks() {
	awk '{ sub(/^.*\) /, ""); print $12 + $13 }' "/proc/$1/stat"
}
# cpu_split PID: utime and stime in ticks
cpu_split() {
	awk '{ sub(/^.*\) /, ""); print $12, $13 }' "/proc/$1/stat"
}
# status_kb PID FIELD: VmRSS, VmHWM ... in KiB
status_kb() {
	awk -v f="$2:" '$1 == f { print $2 }' "/proc/$1/status"
}
# col CSV NAME: the last row's value of column NAME of a SIPp -trace_stat
# reached_cps CSV CALLS: the carrier's call rate while it was still
# placing calls: calls placed / elapsed s at the last once-a-second row
# before it had placed all CALLS (CALLS if all went out in the first s)
reached_cps() {
	awk -F';' -v n="$2" 'NR == 1 { for (i = 1; i <= NF; i++) {
			if ($i == "OutgoingCall(C)") c = i
			if ($i == "ElapsedTime(C)") e = i }; next }
		{ split($e, t, ":"); s = t[1] * 3600 + t[2] * 60 + t[3] }
		$c + 0 >= n + 0 { exit }
		s > 0 { r = $c / s }
		END { printf "%d\n", r ? r : n }' "$1"
}
stat_json() {
	curl -s --max-time 2 "http://$API/stats"
}
# js JSON KEY: a number of the /stats object (top level or sip.KEY)
js() {
	sed -n "s/.*\"$2\":\([0-9]*\).*/\1/p" <<<"$1"
}
# per CALLS TICKS: microseconds per call
per() {
	awk -v c="$1" -v t="$2" -v hz="$HZ" \
		'BEGIN { printf "%.1f", c ? t * 1e6 / hz / c : 0 }'
}

start_tandemd() { # NAME
	cat >"$WORK/$1.conf" <<EOF
; b2b_bench.sh
[sip]
listen = $T_IP
port = $T_PORT
workers = $WORKERS
sources = $C_IP/32
[limits]
max_calls = $((CONC * 2 + 10000))
source_rps = 0
no_answer_s = 15
max_duration_s = 300
drain_timeout_s = 2
[media]
enabled = no
[cdr]
spool_dir = $WORK/spool
[api]
listen = $API
[log]
level = warn
target = stderr
[route.pbx]
prefix = 1555
targets = $P_IP:$P_PORT
EOF
	tandemd_up "$1"
}

# sipp NAME ROLE ARGS...: a SIPp in the background, its PID in SIPP_PID
sipp_bg() {
	local name=$1 role=$2 ip port mport
	shift 2
	if [ "$role" = carrier ]; then
		ip=$C_IP port=$C_PORT mport=$C_MPORT
	else
		ip=$P_IP port=$P_PORT mport=$P_MPORT
	fi
	(cd "$WORK" && exec "${SIPP_CPU[@]}" "$SIPP" \
		-sf "$SCEN/b2b_bench_$role.xml" -i "$ip" -p "$port" \
		-mi "$ip" -mp "$mport" -nostdin -buff_size 4194304 \
		-trace_stat -stf "$WORK/$name.csv" -fd 1 \
		-trace_err -error_file "$WORK/$name.err" "$@") \
		>"$WORK/$name.out" 2>&1 </dev/null &
	SIPP_PID=$!
	PIDS+=("$SIPP_PID")
}

# run NAME DEST CPS CALLS HOLD_MS [LIMIT]: one carrier run against a
# fresh PBX SIPp; sets R_CPU_C / R_CPU_P (SIPp ticks), R_OK, R_FAIL,
# R_RETR (both SIPps), R_REACHED (cps); with tandemd up, R_TD0 / R_TD1 (its
# ticks before / 1 s after) and R_STATS (/stats after). MEMWATCH=1
# samples tandemd's VmRSS while the calls are up (R_RSS_MAX).
run() {
	local name=$1 dest=$2 cps=$3 calls=$4 hold=$5 lim=${6:-}
	local dur wall deadline cp pp c_last=0 p_last=0 rss
	dur=$((calls / cps + hold / 1000 + 2))
	wall=$((dur + 40))
	[ -n "$lim" ] || lim=$((cps * (hold / 1000 + 2) * 2))
	sipp_bg "$name.pbx" pbx -m "$calls" -timeout "$((wall - 5))s"
	pp=$SIPP_PID
	wait_udp "$P_IP" "$P_PORT" "$pp"
	R_TD0=0 R_RSS_MAX=0
	[ -z "$TD_PID" ] || R_TD0=$(cpu_ticks "$TD_PID")
	sipp_bg "$name.carrier" carrier -m "$calls" -r "$cps" -rp 1000 \
		-l "$lim" -d "$hold" -timeout "$((wall - 5))s" -timeout_error \
		-cid_str "bench-%u-%p@%s" "$dest"
	cp=$SIPP_PID
	deadline=$(($(date +%s) + wall))
	while kill -0 "$cp" 2>/dev/null; do
		[ "$(date +%s)" -lt "$deadline" ] || {
			kill -KILL "$cp" 2>/dev/null || true
			echo "  $name: carrier SIPp killed after ${wall}s" >&2
			break
		}
		c_last=$(cpu_ticks "$cp" 2>/dev/null || echo "$c_last")
		p_last=$(cpu_ticks "$pp" 2>/dev/null || echo "$p_last")
		if [ -n "${MEMWATCH:-}" ] && [ -n "$TD_PID" ]; then
			rss=$(status_kb "$TD_PID" VmRSS)
			[ "$rss" -le "$R_RSS_MAX" ] || R_RSS_MAX=$rss
			[ -z "$R_ACTIVE_MAX" ] || {
				a=$(js "$(stat_json)" active)
				[ -z "$a" ] || [ "$a" -le "$R_ACTIVE_MAX" ] ||
					R_ACTIVE_MAX=$a
			}
		fi
		sleep 0.2
	done
	wait "$cp" 2>/dev/null || true
	# the PBX ends by itself after the last BYE; 5 s more at most
	deadline=$(($(date +%s) + 5))
	while kill -0 "$pp" 2>/dev/null; do
		p_last=$(cpu_ticks "$pp" 2>/dev/null || echo "$p_last")
		[ "$(date +%s)" -lt "$deadline" ] || {
			kill -KILL "$pp" 2>/dev/null || true
			break
		}
		sleep 0.2
	done
	wait "$pp" 2>/dev/null || true
	R_CPU_C=$c_last R_CPU_P=$p_last
	[ -s "$WORK/$name.carrier.csv" ] || die "$name: no carrier statistics"
	R_OK=$(col "$WORK/$name.carrier.csv" "SuccessfulCall(C)")
	R_FAIL=$(col "$WORK/$name.carrier.csv" "FailedCall(C)")
	R_RETR=$(($(col "$WORK/$name.carrier.csv" "Retransmissions(C)") + \
		$(col "$WORK/$name.pbx.csv" "Retransmissions(C)")))
	R_REACHED=$(reached_cps "$WORK/$name.carrier.csv" "$calls")
	R_TD1=0 R_STATS=""
	if [ -n "$TD_PID" ]; then
		sleep 1
		R_TD1=$(cpu_ticks "$TD_PID")
		R_STATS=$(stat_json)
	fi
}

echo "b2b_bench: $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg)," \
	"PIN=$PIN, tandemd sip.workers=$WORKERS, media relay off," \
	"$("$SIPP" -v 2>&1 | grep -o 'SIPp v[^ ]*' | head -n1)"

phase() { [[ " $PHASES " == *" $1 "* ]]; }

# ---- 1. baseline: SIPp to SIPp --------------------------------------------
BASE_OK=0 BASE_C=0 BASE_P=0
if phase 1; then
echo "== 1. baseline: carrier SIPp -> PBX SIPp directly, $BASE_CPS cps," \
	"$CPU_CALLS calls, hold ${HOLD_MS} ms"
run base "$P_IP:$P_PORT" "$BASE_CPS" "$CPU_CALLS" "$HOLD_MS"
echo "  ok $R_OK failed $R_FAIL retrans $R_RETR;" \
	"SIPp CPU per call: carrier $(per "$R_OK" "$R_CPU_C") us," \
	"PBX $(per "$R_OK" "$R_CPU_P") us"
BASE_C=$R_CPU_C BASE_P=$R_CPU_P BASE_OK=$R_OK
fi

# ---- 2. tandemd CPU per call ------------------------------------------------
if phase 2; then
echo "== 2. through tandemd: $BASE_CPS cps, $CPU_CALLS calls, hold ${HOLD_MS} ms"
start_tandemd cpu
read -r U0 S0 < <(cpu_split "$TD_PID")
run cpu "$T_IP:$T_PORT" "$BASE_CPS" "$CPU_CALLS" "$HOLD_MS"
echo "  ok $R_OK failed $R_FAIL retrans $R_RETR;" \
	"/stats answered $(js "$R_STATS" answered) failed $(js "$R_STATS" failed)"
echo "  tandemd CPU per call: $(per "$R_OK" $((R_TD1 - R_TD0))) us" \
	"($((R_TD1 - R_TD0)) ticks of 1/$HZ s for $R_OK calls)"
read -r U1 S1 < <(cpu_split "$TD_PID")
echo "    of which user $(per "$R_OK" $((U1 - U0))) us," \
	"system $(per "$R_OK" $((S1 - S0))) us (the kernel's UDP send and" \
	"loopback delivery to the SIPps are counted in tandemd's system time)"
echo "  SIPp CPU per call here: carrier $(per "$R_OK" "$R_CPU_C") us," \
	"PBX $(per "$R_OK" "$R_CPU_P") us$([ "$BASE_OK" -eq 0 ] ||
		echo " (baseline: $(per "$BASE_OK" "$BASE_C")," \
			"$(per "$BASE_OK" "$BASE_P"))")"
echo "  tandemd after the run: VmRSS $(status_kb "$TD_PID" VmRSS) KiB," \
	"VmHWM $(status_kb "$TD_PID" VmHWM) KiB"
if [ -z "${QUICK:-}" ]; then
	# the 32 s transaction lingering (Timer J, L, M at T1 500 ms) expires
	sleep 33
	t=$(cpu_ticks "$TD_PID")
	echo "  with the lingering transactions expired (+33 s):" \
		"$(per "$R_OK" $((t - R_TD0))) us per call;" \
		"VmRSS $(status_kb "$TD_PID" VmRSS) KiB"
fi
stop_tandemd
fi

# ---- 3. memory per concurrent call ------------------------------------------
if phase 3; then
echo "== 3. memory: $CONC concurrent calls held ${HOLD_LONG_MS} ms"
start_tandemd mem
sleep 0.5
IDLE=$(status_kb "$TD_PID" VmRSS)
R_ACTIVE_MAX=0
MEMWATCH=1 run mem "$T_IP:$T_PORT" "$BASE_CPS" "$CONC" "$HOLD_LONG_MS" \
	"$CONC"
echo "  ok $R_OK failed $R_FAIL retrans $R_RETR; most calls up at once" \
	"(/stats active): $R_ACTIVE_MAX"
echo "  VmRSS idle $IDLE KiB, during $R_RSS_MAX KiB:" \
	"$(awk -v a="$IDLE" -v b="$R_RSS_MAX" -v n="$R_ACTIVE_MAX" \
		'BEGIN { printf "%.2f", n ? (b - a) / n : 0 }') KiB per concurrent call"
echo "  after the run: VmRSS $(status_kb "$TD_PID" VmRSS) KiB," \
	"VmHWM $(status_kb "$TD_PID" VmHWM) KiB"
stop_tandemd
fi

# ---- 4. max clean call rate ------------------------------------------------
phase 4 || exit 0
echo "== 4. call rate ramp: hold ${HOLD_MS} ms; clean = 0 failed, retrans" \
	"< ${RETRANS_PCT}% of calls, >= 95% of the rate reached"
BEST=0
for cps in $STEPS; do
	calls=$((cps * STEP_S))
	[ "$calls" -le "$STEP_MAX_CALLS" ] || calls=$STEP_MAX_CALLS
	start_tandemd "r$cps"
	run "r$cps" "$T_IP:$T_PORT" "$cps" "$calls" "$HOLD_MS"
	rx=$(js "$R_STATS" rx)
	extra=$((rx - 6 * R_OK))
	[ "$extra" -ge 0 ] || extra=0
	ans=$(js "$R_STATS" answered)
	bad=$(($(js "$R_STATS" failed) + $(js "$R_STATS" rejected) + \
		$(js "$R_STATS" rejected_load) + $(js "$R_STATS" source_dropped) + \
		$(js "$R_STATS" handoff_drop)))
	reached=$R_REACHED
	verdict=clean
	why=""
	[ "$R_OK" -eq "$calls" ] && [ "$R_FAIL" -eq 0 ] ||
		why="$why failed calls;"
	[ "$ans" = "$calls" ] && [ "$bad" -eq 0 ] || why="$why tandemd /stats;"
	[ $(((R_RETR + extra) * 100)) -lt $((calls * RETRANS_PCT)) ] ||
		why="$why retransmissions;"
	[ $((reached * 100)) -ge $((cps * 95)) ] || why="$why rate not reached;"
	if [ -n "$why" ]; then
		# what the carrier got instead, and what tandemd said about it
		verdict="NOT clean:$why $(grep -o 'received .SIP/2.0 [0-9]*' \
			"$WORK/r$cps.carrier.err" 2>/dev/null | sort | uniq -c |
			sed 's/received .SIP\/2.0/x/' | tr -s ' \n' ' ')"
		# a worker at its transaction cap (txn max_live) answers new
		# INVITEs 503 with Retry-After: 5 and fails B-legs with ENOBUFS
		n=$(grep -c 'No buffer space' "$WORK/r$cps.tandemd.log" || true)
		n5=$(grep -c '^Retry-After: 5' "$WORK/r$cps.carrier.err" || true)
		[ $((n + n5)) -eq 0 ] || verdict="$verdict; transaction cap\
 (txn max_live) reached: $n5 INVITEs refused 503 Retry-After 5, $n B-legs\
 failed with ENOBUFS"
	fi
	echo "  $cps cps x $calls calls: ok $R_OK failed $R_FAIL," \
		"SIPp retrans $R_RETR, tandemd rx beyond 6/call $extra," \
		"/stats answered $ans bad $bad, ~$reached cps reached;" \
		"tandemd $(per "$R_OK" $((R_TD1 - R_TD0))) us/call," \
		"VmHWM $(status_kb "$TD_PID" VmHWM) KiB: $verdict"
	stop_tandemd
	[ "$verdict" = clean ] || break
	BEST=$cps
done
echo "== max clean call rate: $BEST cps (steps: $STEPS)"
