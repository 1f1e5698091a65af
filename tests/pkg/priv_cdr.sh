#!/usr/bin/env bash
# Privilege drop and the CDR spool. tandemd started as root with -u nobody
# creates and opens its files as nobody from the start (setfsuid before the
# engine, b2bua/tandemd.c priv_prepare), so:
#  1. a spool folder nobody cannot write (root's, 0755) refuses the start:
#     exit 1, the log naming the folder;
#  2. a spool whose files a root run left there (root's 0600 lock and
#     segment files) refuses the start the same way;
#  3. a spool two levels below a folder of nobody's, not there yet, is
#     created by tandemd as nobody; 2 SIPp calls through tandemd give 2
#     CDRs in a private PostgreSQL (tests/integration/pg.sh), and every
#     folder and file tandemd made is nobody's.
# (Before the fix, case 3 lost its CDRs: the folders were made by root with
# mode 0700 and the writer, as nobody, got EACCES on segment 1.)
# Exit 77 (skipped) without root, SIPp or PostgreSQL. Loopback only, free
# ports (tandemd's SIP port 0: it picks one), every process killed by its PID.   priv_cdr.sh BUILD_DIR
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/lib.sh"
TANDEMD=$(cd "${1:-build}" && pwd)/b2bua/tandemd
need_root
need_cmd sipp psql python3
[ -x "$TANDEMD" ] || { echo "FAIL: no $TANDEMD" >&2; exit 1; }
id nobody >/dev/null 2>&1 || skip "no user nobody"
NOG=$(id -gn nobody)
W=$(mktemp -d /tmp/tandem-priv-cdr.XXXXXX)
chmod 0755 "$W" # pg.sh runs the cluster in it as user postgres
TPID= SPID= PG=
cleanup() {
	[ -n "$TPID" ] && kill -KILL "$TPID" 2>/dev/null || true
	[ -n "$SPID" ] && kill -KILL "$SPID" 2>/dev/null || true
	[ -n "$PG" ] && "$HERE/../integration/pg.sh" stop "$W/pg" >/dev/null 2>&1 || true
	rm -rf "$W"
}
trap cleanup EXIT
trap 'echo "FAIL: priv_cdr.sh line $LINENO" >&2' ERR

"$HERE/../integration/pg.sh" start "$W/pg" >"$W/pg.log" 2>&1 ||
	{ cat "$W/pg.log"; skip "no PostgreSQL (tests/integration/pg.sh start failed)"; }
PG=1
# shellcheck disable=SC1091
. "$W/pg/env"
"$TANDEMD" -m -o db.dsn="$TANDEM_PG_DSN" >"$W/migrate.log" 2>&1 ||
	{ cat "$W/migrate.log" >&2; exit 1; }

refused() { # NAME SPOOL: tandemd -u nobody must exit 1 naming SPOOL
	local rc=0
	timeout 10 "$TANDEMD" -u nobody -o sip.port=0 -o media.enabled=no \
		-o cdr.dsn="$TANDEM_PG_DSN" -o cdr.spool_dir="$2" \
		2>"$W/log.$1" || rc=$?
	if [ "$rc" -ne 1 ] || ! grep -q "spool $2.*Permission denied" "$W/log.$1" ||
		! grep -q "cdr.spool_dir $2 must be writable" "$W/log.$1"; then
		echo "FAIL: $1: exit $rc" >&2
		cat "$W/log.$1" >&2
		exit 1
	fi
	echo "$1: refused (exit 1): $(grep -m1 'Permission denied' "$W/log.$1" | sed 's/.*err  *//')"
}

# 1. root's folder
mkdir "$W/rootspool"
refused "spool of root's" "$W/rootspool"
[ -z "$(ls -A "$W/rootspool")" ] || { echo "FAIL: files made in root's spool" >&2; exit 1; }

# 2. files a root run left: run as root (no -u) once, then give only the
#    folder to nobody
mkdir "$W/left"
"$TANDEMD" -o sip.port=0 -o media.enabled=no -o cdr.dsn="$TANDEM_PG_DSN" \
	-o cdr.spool_dir="$W/left" 2>"$W/log.root" &
TPID=$!
wait_grep 'listening on' "$W/log.root" 5 || { cat "$W/log.root" >&2; exit 1; }
kill -TERM "$TPID"
wait "$TPID"
TPID=
chown "nobody:$NOG" "$W/left"
echo "root run left: $(stat -c '%n %U %a' "$W"/left/* | sed "s#$W/left/##" | xargs)"
refused "files of a root run" "$W/left"

# 3. a spool tandemd creates, two levels down, and 2 calls
mkdir "$W/n"
chown "nobody:$NOG" "$W/n"
read -r UAS UAC <<<"$(free_ports 2)"
"$TANDEMD" -u nobody -o sip.port=0 -o cdr.dsn="$TANDEM_PG_DSN" \
	-o cdr.spool_dir="$W/n/a/spool" -o route.all.prefix= \
	-o route.all.targets=127.0.0.1:"$UAS" -o limits.drain_timeout_s=2 \
	2>"$W/log" &
TPID=$!
PORT=$(listen_port "$W/log" sip 5) || { cat "$W/log" >&2; exit 1; }
cd "$W"
timeout 20 sipp -sn uas -i 127.0.0.1 -p "$UAS" -m 2 -bg >/dev/null 2>&1 &
SPID=$!
sleep 0.3
timeout 20 sipp -sn uac -i 127.0.0.1 -p "$UAC" -m 2 -d 200 -s 123 \
	-timeout 15 127.0.0.1:"$PORT" >/dev/null 2>&1 ||
	{ echo "FAIL: the SIPp calls failed" >&2; cat "$W/log" >&2; exit 1; }
cd - >/dev/null
kill -KILL "$SPID" 2>/dev/null || true
SPID=
n=0
for ((i = 0; i < 50; i++)); do
	n=$(psql "$TANDEM_PG_DSN" -tAc 'select count(*) from cdr')
	[ "$n" -ge 2 ] && break
	sleep 0.1
done
made=$(find "$W/n/a" | sort)
owners=$(stat -c %U $made | sort -u | xargs)
kill -TERM "$TPID"
rc=0
wait "$TPID" || rc=$?
TPID=
if [ "$n" -ne 2 ] || [ "$owners" != nobody ] || [ "$rc" -ne 0 ] ||
	grep -q ' err ' "$W/log"; then
	echo "FAIL: $n CDR(s) (2 expected), owners of what tandemd made: '$owners', exit $rc" >&2
	stat -c '%n %U %a' $made >&2
	cat "$W/log" >&2
	exit 1
fi
echo "2 calls as nobody: $n CDRs in PostgreSQL; tandemd made $(wc -w <<<"$made") folder(s)/file(s), all nobody's; exit 0"
echo "priv_cdr: 3 passed, 0 failed"
