#!/usr/bin/env bash
# One wire-level transaction test (RFC 3261 §17) between txn_peer (the
# Tandem stack) and SIPp on 127.0.0.1; registered with ctest by
# CMakeLists.txt in this folder.
#
#   run_txn.sh CASE DRIVER SCENARIO_DIR
#
# Starts SIPp as a background child (never -bg), runs the driver, waits
# for both, checks both exit codes, the driver's RESULT lines and the
# message times SIPp wrote with -trace_msg (microsecond timestamps of
# every message sent and received, retransmissions included). Kills only
# the PIDs it started. Env: SIPP (the sipp binary), KEEP=1 keeps the logs.
set -euo pipefail

if [ $# -ne 3 ]; then
	echo "usage: $0 CASE DRIVER SCENARIO_DIR" >&2
	exit 2
fi
CASE=$1
DRIVER=$2
SCEN=$3
SIPP=${SIPP:-sipp}
TOL=40     # % tolerance on each retransmission interval
TOL_TMO=25 # % tolerance on the Timer B/F expiry

WORK=$(mktemp -d "${TMPDIR:-/tmp}/tandem-txn-$CASE.XXXXXX")
PIDS=()
FAILED=0

cleanup() {
	local rc=$? p
	for p in "${PIDS[@]}"; do
		kill "$p" 2>/dev/null || true
	done
	for p in "${PIDS[@]}"; do
		wait "$p" 2>/dev/null || true
	done
	if [ "$rc" -ne 0 ]; then
		for f in driver.out sipp.out sipp_err.log trace.txt \
			bridge.out openssl.log; do
			[ -s "$WORK/$f" ] || continue
			echo "----- $f"
			tail -n 60 "$WORK/$f"
		done
	fi
	if [ "$rc" -eq 0 ] && [ -z "${KEEP:-}" ]; then
		rm -rf "$WORK"
	else
		echo "logs kept in $WORK"
	fi
	exit "$rc"
}
trap cleanup EXIT

fail() {
	echo "FAIL: $CASE: $*"
	FAILED=1
}

# ---- ports and processes ------------------------------------------------

free_port() {
	"$DRIVER" port
}

# listening PROTO PORT: true once something listens on 127.0.0.1:PORT
listening() {
	local hex
	hex=$(printf '%04X' "$2")
	if [ "$1" = udp ]; then
		grep -q "^ *[0-9]*: 0100007F:$hex " /proc/net/udp
	else
		grep -q "^ *[0-9]*: 0100007F:$hex 00000000:0000 0A" /proc/net/tcp
	fi
}

wait_listening() {
	for _ in $(seq 1 100); do
		listening "$1" "$2" && return 0
		sleep 0.05
	done
	echo "nothing listens on $1 127.0.0.1:$2" >&2
	return 1
}

# start_sipp ARGS...: SIPp in the background, in $WORK (it writes files
# to its working directory), its pid in SIPP_PID.
start_sipp() {
	(cd "$WORK" && exec "$SIPP" "$@" -i 127.0.0.1 -p "$SPORT" \
		-mp "$MPORT" -m 1 -nostdin -timeout 20s -timeout_error \
		-trace_msg -message_file "$WORK/sipp_msg.log" \
		-trace_err -error_file "$WORK/sipp_err.log") \
		>"$WORK/sipp.out" 2>&1 </dev/null &
	SIPP_PID=$!
	PIDS+=("$SIPP_PID")
}

# wait_pid PID: its exit status in WAIT_RC, without tripping set -e (not
# in a $(...) subshell: only this shell can wait for its children)
wait_pid() {
	WAIT_RC=0
	wait "$1" || WAIT_RC=$?
}

# ---- what SIPp traced ---------------------------------------------------

# trace.txt: "ms dir key cseq-method" per message, dir rx or tx, key the
# method or the status code, ms since midnight (µs resolution).
parse_trace() {
	awk '
	function flush() {
		if (dir != "")
			printf "%.3f %s %s %s\n", t, dir, key, cm
		dir = ""
	}
	/^-----------------------------------------------/ {
		flush()
		split($3, a, ":")
		t = (a[1] * 3600 + a[2] * 60 + a[3]) * 1000
		next
	}
	/^(UDP|TCP) message received/ { dir = "rx"; key = ""; cm = ""; next }
	/^(UDP|TCP) message sent/ { dir = "tx"; key = ""; cm = ""; next }
	dir != "" && key == "" && NF > 0 {
		key = ($1 == "SIP/2.0") ? $2 : $1
		next
	}
	dir != "" && /^CSeq:/ { cm = $3; sub(/\r$/, "", cm) }
	END { flush() }
	' "$WORK/sipp_msg.log" >"$WORK/trace.txt"
}

# times DIR KEY METHOD: the times of those messages, one a line
times() {
	awk -v d="$1" -v k="$2" -v m="$3" \
		'$2 == d && $3 == k && $4 == m { print $1 }' "$WORK/trace.txt"
}

count() {
	times "$@" | wc -l
}

# expect_count LABEL MIN MAX DIR KEY METHOD
expect_count() {
	local n
	n=$(count "$4" "$5" "$6")
	echo "measured: $1: $n (want $2..$3)"
	if [ "$n" -lt "$2" ] || [ "$n" -gt "$3" ]; then
		fail "$1: $n seen, want $2..$3"
	fi
}

# expect_intervals LABEL "EXPECTED_MS..." DIR KEY METHOD: the gaps between
# consecutive messages match the list, each within TOL %.
expect_intervals() {
	local label=$1 want=$2 got
	got=$(times "$3" "$4" "$5" | awk 'NR > 1 { printf "%.1f ", $1 - p }
		{ p = $1 }')
	echo "measured: $label intervals ms: ${got:-none} (want $want +-$TOL%)"
	awk -v got="$got" -v want="$want" -v tol="$TOL" 'BEGIN {
		ng = split(got, g, " "); nw = split(want, w, " ")
		if (ng != nw) exit 1
		for (i = 1; i <= nw; i++)
			if (g[i] < w[i] * (100 - tol) / 100 ||
			    g[i] > w[i] * (100 + tol) / 100)
				exit 1
	}' || fail "$label: intervals ($got) not within $TOL% of ($want)"
}

# ---- what the driver said -----------------------------------------------

result() {
	sed -n "s/^RESULT $1=//p" "$WORK/driver.out" | tail -n 1
}

expect_result() {
	local v
	v=$(result "$1")
	echo "driver: $1=${v:-missing} (want $2)"
	[ "$v" = "$2" ] || fail "driver $1=${v:-missing}, want $2"
}

# expect_near LABEL VALUE TARGET TOLPCT
expect_near() {
	echo "measured: $1: ${2:-missing} ms (want $3 +-$4%)"
	awk -v v="${2:-x}" -v t="$3" -v tol="$4" 'BEGIN {
		if (v !~ /^[0-9.]+$/) exit 1
		exit !(v >= t * (100 - tol) / 100 && v <= t * (100 + tol) / 100)
	}' || fail "$1: ${2:-missing}, want $3 +-$4%"
}

# Timer A / E intervals from T1 until 64*T1 (17.1.1.2, 17.1.2.2): the gaps
# between the copies sent before the timeout, capped at T2 when given.
# Prints "N gap1 gap2 ...", N the number of copies sent in all.
backoff() {
	awk -v t1="$1" -v cap="${2:-0}" 'BEGIN {
		n = 1; at = 0; iv = t1; s = ""
		while (at + iv < 64 * t1) {
			at += iv; n++; s = s " " iv
			iv *= 2
			if (cap && iv > cap) iv = cap
		}
		print n s
	}'
}

# ---- TLS ----------------------------------------------------------------

# make_certs: a throwaway CA and leaf certificates in $WORK/tls (openssl
# CLI, P-256 keys, valid 2 days): srv (IP 127.0.0.1 and sbc.test, from
# the CA: the driver's own and the good peer's), name (only other.test:
# a wrong name for 127.0.0.1) and untrusted (IP 127.0.0.1, from a second
# CA nobody trusts).
make_certs() {
	local d=$WORK/tls
	mkdir -p "$d"
	ca_make() {
		openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 \
			-nodes -keyout "$d/$1.key" -out "$d/$1.pem" -days 2 \
			-subj "/CN=tandem test $1" \
			-addext "basicConstraints=critical,CA:TRUE" \
			-addext "keyUsage=critical,keyCertSign,cRLSign"
	}
	leaf_make() { # NAME SAN CA
		openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
			-keyout "$d/$1.key" -out "$d/$1.csr" -subj "/CN=$1"
		printf '%s\n' "subjectAltName=$2" "basicConstraints=CA:FALSE" \
			"extendedKeyUsage=serverAuth,clientAuth" >"$d/$1.ext"
		openssl x509 -req -in "$d/$1.csr" -CA "$d/$3.pem" \
			-CAkey "$d/$3.key" -CAcreateserial -days 2 \
			-extfile "$d/$1.ext" -out "$d/$1.pem"
	}
	{
		ca_make ca && ca_make ca2 &&
			leaf_make srv "IP:127.0.0.1,DNS:sbc.test" ca &&
			leaf_make name "DNS:other.test" ca &&
			leaf_make untrusted "IP:127.0.0.1" ca2
	} >"$WORK/openssl.log" 2>&1 || {
		fail "openssl could not make the test certificates"
		exit 1
	}
	export TXN_PEER_TLS_DIR=$d
}

# start_bridge MODE LPORT TPORT ARGS...: tls_bridge.py in the background
start_bridge() {
	python3 "$(dirname "$0")/tls_bridge.py" "$@" --lifetime 25 \
		>"$WORK/bridge.out" 2>&1 </dev/null &
	PIDS+=("$!")
	wait_listening tcp "$2"
}

# expect_log LABEL FILE ERE
expect_log() {
	local line
	line=$(grep -E -m 1 "$3" "$2" || true)
	echo "log: $1: ${line:-missing}"
	[ -n "$line" ] || fail "$1: no line matching /$3/ in $(basename "$2")"
}

# tls_refused CERT: the driver's OPTIONS towards a TLS peer presenting
# CERT must be refused at the handshake, with a WARN line saying why.
tls_refused() {
	local why=$1 drc=0
	make_certs
	start_bridge server "$BPORT" "$SPORT" "$WORK/tls/$2.pem" \
		"$WORK/tls/$2.key"
	"$DRIVER" uac-tls-refused tls "$BPORT" 100 4000 \
		>"$WORK/driver.out" 2>&1 || drc=$?
	grep -E '^(PASS|FAIL)' "$WORK/driver.out" || true
	[ "$drc" -eq 0 ] || fail "driver exited $drc"
	expect_result tp_err ECONNREFUSED
	expect_result tls_verify_failed 1
	expect_log "the refusal" "$WORK/driver.out" \
		"warn +tp: tls to .*127\.0\.0\.1.*handshake failed, connection refused: certificate verify failed: $why"
	expect_log "the peer saw the handshake fail" "$WORK/bridge.out" \
		'^handshake failed'
}

# ---- the cases ----------------------------------------------------------

SPORT=$(free_port)
MPORT=$(free_port)
DPORT=$(free_port)
while [ "$DPORT" = "$SPORT" ] || [ "$DPORT" = "$MPORT" ]; do
	DPORT=$(free_port)
done
BPORT=$(free_port) # tls_bridge.py
while [ "$BPORT" = "$SPORT" ] || [ "$BPORT" = "$MPORT" ] ||
	[ "$BPORT" = "$DPORT" ]; do
	BPORT=$(free_port)
done

# run_uac DRIVER_MODE PROTO T1 T2 SIPP_ARGS...: SIPp is the UAS
run_uac() {
	local mode=$1 proto=$2 t1=$3 t2=$4 drc src
	shift 4
	start_sipp "$@"
	wait_listening "$proto" "$SPORT"
	drc=0
	"$DRIVER" "$mode" "$proto" "$SPORT" "$t1" "$t2" \
		>"$WORK/driver.out" 2>&1 || drc=$?
	wait_pid "$SIPP_PID"
	src=$WAIT_RC
	finish_run "$drc" "$src"
}

# run_uas DRIVER_MODE PROTO T1 T2 SIPP_ARGS...: SIPp is the UAC
run_uas() {
	local mode=$1 proto=$2 t1=$3 t2=$4 dpid drc src
	shift 4
	"$DRIVER" "$mode" "$proto" "$DPORT" "$t1" "$t2" \
		>"$WORK/driver.out" 2>&1 </dev/null &
	dpid=$!
	PIDS+=("$dpid")
	wait_listening "$proto" "$DPORT"
	start_sipp "$@" "127.0.0.1:$DPORT"
	wait_pid "$SIPP_PID"
	src=$WAIT_RC
	wait_pid "$dpid"
	drc=$WAIT_RC
	finish_run "$drc" "$src"
}

finish_run() {
	grep -E '^(PASS|FAIL)' "$WORK/driver.out" || true
	[ "$1" -eq 0 ] || fail "driver exited $1"
	[ "$2" -eq 0 ] || fail "sipp exited $2"
	[ -s "$WORK/sipp_msg.log" ] || {
		fail "no SIPp message trace"
		exit 1
	}
	parse_trace
}

# Timeouts: T1 = 50 ms, T2 = 200 ms, so 64*T1 = 3.2 s.
uac_timeout() {
	local what=$1 proto=$2 mode t1=50 t2=200 b n gaps
	mode=uac-$(echo "$what" | tr '[:upper:]' '[:lower:]')-timeout
	run_uac "$mode" "$proto" $t1 $t2 -sf \
		"$SCEN/uas_silent_$(echo "$what" | tr '[:upper:]' '[:lower:]').xml" \
		-t "$([ "$proto" = udp ] && echo u1 || echo t1)" -pause_msg_ign
	expect_result timeout_status 408
	expect_near "Timer $([ "$what" = INVITE ] && echo B || echo F)" \
		"$(result timeout_ms)" $((64 * t1)) "$TOL_TMO"
	if [ "$proto" = tcp ]; then
		expect_count "$what copies over TCP" 1 1 rx "$what" "$what"
		expect_result retransmits 0
		return
	fi
	# Timer A doubles without cap, Timer E is capped at T2
	b=$(backoff $t1 "$([ "$what" = INVITE ] || echo $t2)")
	read -r n gaps <<<"$b"
	# the last copy is due within T2 of the expiry: allow it to be late
	expect_count "$what copies" $((n - 1)) "$n" rx "$what" "$what"
	n=$(count rx "$what" "$what")
	expect_intervals "Timer $([ "$what" = INVITE ] && echo A || echo E)" \
		"$(echo "$gaps" | cut -d' ' -f1-$((n - 1)))" rx "$what" "$what"
	expect_result retransmits $((n - 1))
}

case "$CASE" in
uac_invite_udp)
	run_uac uac-invite udp 100 4000 -sf "$SCEN/uas_drop2_invite.xml" \
		-t u1 -nr
	expect_count "INVITE copies" 3 3 rx INVITE INVITE
	expect_intervals "Timer A" "100 200" rx INVITE INVITE
	expect_result retransmits 2
	expect_count "ACK" 1 1 rx ACK ACK
	expect_count "BYE" 1 1 rx BYE BYE
	;;
uac_invite_tcp)
	run_uac uac-invite tcp 100 4000 -sf "$SCEN/uas_slow_invite.xml" \
		-t t1
	expect_count "INVITE copies over TCP" 1 1 rx INVITE INVITE
	expect_result retransmits 0
	expect_count "ACK" 1 1 rx ACK ACK
	expect_count "BYE" 1 1 rx BYE BYE
	;;
uac_options_timeout_udp) uac_timeout OPTIONS udp ;;
uac_options_timeout_tcp) uac_timeout OPTIONS tcp ;;
uac_invite_timeout_udp) uac_timeout INVITE udp ;;
uac_invite_timeout_tcp) uac_timeout INVITE tcp ;;
uas_options_udp)
	# SIPp sends at 0, 150, 450 ms; the TU answers at 700 ms
	run_uas uas-options udp 100 4000 -sf "$SCEN/uac_options_retrans.xml" \
		-t u1
	expect_count "OPTIONS copies SIPp sent" 2 4 tx OPTIONS OPTIONS
	expect_intervals "SIPp OPTIONS retransmission" \
		"$(count tx OPTIONS OPTIONS | awk '{ for (i = 1; i < $1; i++)
			printf "%d ", 150 * 2 ^ (i - 1) }')" tx OPTIONS OPTIONS
	expect_result tu_requests 1
	expect_count "200 for OPTIONS" 1 1 rx 200 OPTIONS
	;;
uas_486_udp)
	run_uas uas-486 udp 100 4000 -sf "$SCEN/uac_invite_486_late_ack.xml" \
		-t u1 -nr
	expect_count "486 copies" 3 3 rx 486 INVITE
	expect_intervals "Timer G" "100 200" rx 486 INVITE
	expect_result retransmits 2
	expect_result tu_requests 1
	expect_result timeouts 0
	;;
uas_486_tcp)
	run_uas uas-486 tcp 100 4000 -sf "$SCEN/uac_invite_486_tcp.xml" \
		-t t1
	expect_count "486 copies over TCP" 1 1 rx 486 INVITE
	expect_result retransmits 0
	expect_result tu_requests 1
	expect_result timeouts 0
	;;
uas_486_timer_h_udp)
	# §17.2.1: no ACK ever. Timer G from T1 doubling to T2, Timer H at
	# 64*T1 ends the transaction and tells the TU; nothing after it.
	t1=50 t2=200
	run_uas uas-486-timer-h udp $t1 $t2 \
		-sf "$SCEN/uac_invite_486_no_ack.xml" -t u1 -pause_msg_ign
	read -r n gaps <<<"$(backoff $t1 $t2)"
	# the last copy is due within T2 of the expiry: allow it to be late
	expect_count "486 copies" $((n - 1)) "$n" rx 486 INVITE
	n=$(count rx 486 INVITE)
	expect_intervals "Timer G" \
		"$(echo "$gaps" | cut -d' ' -f1-$((n - 1)))" rx 486 INVITE
	expect_near "Timer H" "$(result timer_h_ms)" $((64 * t1)) "$TOL_TMO"
	# no copy after Timer H: the last one within 64*T1 of the first
	last=$(times rx 486 INVITE | awk 'NR == 1 { f = $1 } { l = $1 }
		END { printf "%.1f", l - f }')
	echo "measured: last 486 copy at $last ms after the first"
	awk -v l="$last" -v m=$((64 * t1)) 'BEGIN { exit !(l < m) }' ||
		fail "a 486 copy $last ms after the first (Timer H $((64 * t1)))"
	expect_result retransmits $((n - 1))
	expect_result tu_requests 1
	expect_result timeouts 1
	expect_count "ACK" 0 0 tx ACK ACK
	;;
uac_invite_prov_timeout_udp | uac_invite_prov_timeout_tcp)
	# The provisional-response timeout (txn_cfg.timer_c = 800 ms, like
	# §16.6 Timer C): SIPp rings at 0 and 400 ms, then nothing. The
	# CANCEL must leave 800 ms after the LAST 180 (1200 after the first).
	proto=${CASE##*_}
	run_uac uac-invite-prov-timeout "$proto" 100 4000 \
		-sf "$SCEN/uas_180_silent_invite.xml" \
		-t "$([ "$proto" = udp ] && echo u1 || echo t1)"
	expect_result n_1xx 3
	expect_near "timer_c after the last 1xx (driver)" \
		"$(result prov_timeout_ms)" 800 "$TOL_TMO"
	c=$(times rx CANCEL CANCEL | head -n 1)
	r=$(times tx 180 INVITE | tail -n 1)
	expect_near "last 180 -> CANCEL on the wire" \
		"$(awk -v c="${c:-0}" -v r="${r:-0}" 'BEGIN {
			if (c && r) printf "%.1f", c - r }')" 800 "$TOL_TMO"
	expect_count "180 sent" 2 2 tx 180 INVITE
	expect_count "INVITE copies" 1 1 rx INVITE INVITE
	expect_count "CANCEL" 1 1 rx CANCEL CANCEL
	expect_count "ACK for the 487" 1 1 rx ACK ACK
	expect_result final 487
	;;
tls_uas_call)
	# SIPp -> (TCP) tls_bridge.py -> TLS, verified against our CA and
	# the name 127.0.0.1 -> the driver's TLS listener: a whole call.
	make_certs
	"$DRIVER" uas-2xx tls "$DPORT" 100 4000 >"$WORK/driver.out" 2>&1 \
		</dev/null &
	dpid=$!
	PIDS+=("$dpid")
	wait_listening tcp "$DPORT"
	start_bridge client "$BPORT" "$DPORT" "$WORK/tls/ca.pem"
	start_sipp -sf "$SCEN/uac_invite_call_tls.xml" -t t1 "127.0.0.1:$BPORT"
	wait_pid "$SIPP_PID"
	src=$WAIT_RC
	wait_pid "$dpid"
	finish_run "$WAIT_RC" "$src"
	expect_log "TLS handshake" "$WORK/bridge.out" \
		'^handshake ok TLSv1\.[23] .* peer verified'
	expect_result tls_handshakes 1
	expect_result tu_requests 2
	expect_result acked 1
	expect_count "200 for INVITE" 1 1 rx 200 INVITE
	expect_count "200 for BYE" 1 1 rx 200 BYE
	;;
tls_uac_call)
	# The driver calls over TLS, verifying the peer's certificate
	# (our CA, name 127.0.0.1): tls_bridge.py -> (TCP) SIPp answers.
	make_certs
	start_sipp -sf "$SCEN/uas_slow_invite.xml" -t t1
	wait_listening tcp "$SPORT"
	start_bridge server "$BPORT" "$SPORT" "$WORK/tls/srv.pem" \
		"$WORK/tls/srv.key"
	drc=0
	"$DRIVER" uac-invite tls "$BPORT" 100 4000 >"$WORK/driver.out" 2>&1 ||
		drc=$?
	wait_pid "$SIPP_PID"
	finish_run "$drc" "$WAIT_RC"
	expect_log "TLS handshake" "$WORK/bridge.out" '^handshake ok TLSv1\.[23]'
	expect_result tls_handshakes 1
	expect_count "INVITE copies over TLS" 1 1 rx INVITE INVITE
	expect_result retransmits 0
	expect_count "ACK" 1 1 rx ACK ACK
	expect_count "BYE" 1 1 rx BYE BYE
	;;
tls_refused_name) tls_refused "(IP address mismatch|Hostname mismatch)" name ;;
tls_refused_untrusted) tls_refused "unable to get local issuer" untrusted ;;
uas_2xx_udp)
	run_uas uas-2xx udp 100 4000 -sf "$SCEN/uac_invite_2xx_late_ack.xml" \
		-t u1 -nr
	expect_count "2xx copies" 3 3 rx 200 INVITE
	expect_intervals "TU 2xx retransmission" "100 200" rx 200 INVITE
	expect_result tu_2xx_retrans 2
	expect_result acked 1
	expect_count "200 for BYE" 1 1 rx 200 BYE
	;;
*)
	echo "unknown case $CASE" >&2
	exit 2
	;;
esac

if [ "$FAILED" -ne 0 ]; then
	exit 1
fi
echo "PASS: $CASE"
