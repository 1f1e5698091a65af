#!/usr/bin/env bash
# Type=notify with a database policy: tandemd tells systemd READY=1 only
# once a policy is loaded. With db.dsn unreachable and no policy cache it
# listens, answers nothing but says STATUS=listening, waiting for the
# database policy, and never READY=1 (2 s watched); with a fresh migrated
# private PostgreSQL (tests/integration/pg.sh) it sends READY=1 and routes
# (OPTIONS 200). Exit 77 (skipped) without python3 or PostgreSQL; runs as
# any user (as root, pg.sh runs the cluster as postgres). Loopback only,
# free ports, every process killed by its PID.   ready_db.sh BUILD_DIR
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/lib.sh"
TANDEMD=$(cd "${1:-build}" && pwd)/b2bua/tandemd
need_cmd python3 ss
[ -x "$TANDEMD" ] || { echo "FAIL: no $TANDEMD" >&2; exit 1; }
read -r DEAD <<<"$(free_ports 1)"
W=$(mktemp -d /tmp/tandem-ready-db.XXXXXX)
chmod 0755 "$W" # pg.sh runs the cluster in it as user postgres
SOCK="@tandem-ready-db-$$"
NOTIFY_PID= TPID= PG=
cleanup() {
	[ -n "$TPID" ] && kill -KILL "$TPID" 2>/dev/null || true
	if [ -n "$NOTIFY_PID" ]; then
		kill -KILL "$NOTIFY_PID" 2>/dev/null || true
		wait "$NOTIFY_PID" 2>/dev/null || true
	fi
	[ -n "$PG" ] && "$HERE/../integration/pg.sh" stop "$W/pg" >/dev/null 2>&1 || true
	rm -rf "$W"
}
trap cleanup EXIT
trap 'echo "FAIL: ready_db.sh line $LINENO" >&2' ERR
notify_listen "$SOCK" "$W/notify" 30

start() { # DSN: tandemd with that policy (and CDR) database, no cache
	: >"$W/notify"
	: >"$W/log"
	NOTIFY_SOCKET=$SOCK "$TANDEMD" -o sip.port=0 -o db.dsn="$1" \
		-o db.policy_cache=off \
		-o cdr.spool_dir="$W/spool" -o media.enabled=no \
		2>"$W/log" &
	TPID=$!
	PORT=$(listen_port "$W/log" sip 5) ||
		{ echo "FAIL: tandemd did not listen" >&2; cat "$W/log" >&2; exit 1; }
}
stop() { # SIGTERM, exit 0 expected
	local rc=0
	kill -TERM "$TPID"
	wait "$TPID" || rc=$?
	TPID=
	[ "$rc" -eq 0 ] || { echo "FAIL: exit $rc" >&2; cat "$W/log" >&2; exit 1; }
}

# 1. nothing listens on 127.0.0.1:$DEAD
start "host=127.0.0.1 port=$DEAD dbname=none connect_timeout=1"
wait_grep '^STATUS=listening, waiting for the database policy' "$W/notify" 5 ||
	{ echo "FAIL: no waiting STATUS" >&2; cat "$W/notify" "$W/log" >&2; exit 1; }
sleep 2
if grep -q 'READY=1' "$W/notify"; then
	echo "FAIL: READY=1 without a policy" >&2
	exit 1
fi
ss -lun | grep -q "127.0.0.1:$PORT " ||
	{ echo "FAIL: not listening on $PORT while waiting" >&2; exit 1; }
echo "database unreachable: $(head -1 "$W/notify"); no READY=1 in 2 s"
stop

# 2. a migrated database
"$HERE/../integration/pg.sh" start "$W/pg" >"$W/pg.log" 2>&1 ||
	{ cat "$W/pg.log"; skip "no PostgreSQL (tests/integration/pg.sh start failed)"; }
PG=1
# shellcheck disable=SC1091
. "$W/pg/env"
"$TANDEMD" -m -o db.dsn="$TANDEM_PG_DSN" >"$W/migrate.log" 2>&1 ||
	{ cat "$W/migrate.log" >&2; exit 1; }
start "$TANDEM_PG_DSN"
wait_grep '^READY=1' "$W/notify" 5 ||
	{ echo "FAIL: no READY=1 with the database" >&2; cat "$W/notify" "$W/log" >&2; exit 1; }
if grep -q 'waiting for the database' "$W/notify"; then
	t="after a moment of waiting"
else
	t="at once"
fi
options "$PORT"
echo "migrated PostgreSQL: READY=1 $t; then $(grep '^STATUS=' "$W/notify" | grep -v -m1 waiting || true)"
stop
echo "ready_db: 2 passed, 0 failed"
