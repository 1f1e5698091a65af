#!/usr/bin/env bash
# One wire-level UA-core test (RFC 3261 §8-§15) between ua_peer (the
# Tandem stack's UA core) and SIPp on 127.0.0.1; registered with ctest by
# CMakeLists.txt in this folder.
#
#   run_ua.sh MODE DRIVER SCENARIO_DIR
#
# MODE uas-*: ua_peer listens, SIPp calls it with ua_sipp_uac_*.xml;
# MODE uac-*: SIPp listens with ua_sipp_uas_*.xml, ua_peer calls it.
# Both run as background children; both must exit 0. Kills only the PIDs
# it started. Env: SIPP (the sipp binary), KEEP=1 keeps the logs.
set -euo pipefail

if [ $# -ne 3 ]; then
	echo "usage: $0 MODE DRIVER SCENARIO_DIR" >&2
	exit 2
fi
MODE=$1
DRIVER=$2
SCEN=$3
SIPP=${SIPP:-sipp}
role=${MODE%%-*}
rest=${MODE#*-}
if [ "$role" = uas ]; then other=uac; else other=uas; fi
SF="$SCEN/ua_sipp_${other}_${rest//-/_}.xml"
[ -f "$SF" ] || { echo "no scenario $SF" >&2; exit 2; }

WORK=$(mktemp -d "${TMPDIR:-/tmp}/tandem-ua-$MODE.XXXXXX")
PIDS=()

cleanup() {
	local rc=$? p
	for p in "${PIDS[@]}"; do
		kill "$p" 2>/dev/null || true
	done
	for p in "${PIDS[@]}"; do
		wait "$p" 2>/dev/null || true
	done
	if [ "$rc" -ne 0 ]; then
		for f in driver.out sipp.out sipp_err.log sipp_msg.log; do
			[ -s "$WORK/$f" ] || continue
			echo "----- $f"
			tail -n 80 "$WORK/$f"
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

listening() { # PORT: something listens on UDP 127.0.0.1:PORT
	grep -q "^ *[0-9]*: 0100007F:$(printf '%04X' "$1") " /proc/net/udp
}

wait_listening() {
	for _ in $(seq 1 100); do
		listening "$1" && return 0
		sleep 0.05
	done
	echo "nothing listens on udp 127.0.0.1:$1" >&2
	return 1
}

PORT=$("$DRIVER" port)
SPORT=$("$DRIVER" port)
while [ "$SPORT" = "$PORT" ]; do SPORT=$("$DRIVER" port); done
MPORT=$("$DRIVER" port)

start_sipp() { # extra args
	(cd "$WORK" && exec "$SIPP" "$@" -sf "$SF" -i 127.0.0.1 -p "$SPORT" \
		-mp "$MPORT" -m 1 -nostdin -timeout 20s -timeout_error \
		-trace_msg -message_file "$WORK/sipp_msg.log" \
		-trace_err -error_file "$WORK/sipp_err.log") \
		>"$WORK/sipp.out" 2>&1 </dev/null &
	SIPP_PID=$!
	PIDS+=("$SIPP_PID")
}

start_driver() {
	"$DRIVER" "$MODE" "$PORT" "$SPORT" >"$WORK/driver.out" 2>&1 </dev/null &
	DRIVER_PID=$!
	PIDS+=("$DRIVER_PID")
}

if [ "$role" = uas ]; then
	start_driver
	wait_listening "$PORT"
	start_sipp "127.0.0.1:$PORT"
else
	start_sipp
	wait_listening "$SPORT"
	start_driver
fi

drc=0
wait "$DRIVER_PID" || drc=$?
src=0
wait "$SIPP_PID" || src=$?
PIDS=()
cat "$WORK/driver.out"
if [ "$drc" -ne 0 ] || [ "$src" -ne 0 ]; then
	echo "FAIL: $MODE: driver exit $drc, sipp exit $src"
	exit 1
fi
echo "PASS: $MODE (driver and SIPp both succeeded)"
