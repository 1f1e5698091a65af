#!/usr/bin/env bash
# A throw-away PostgreSQL cluster for integration tests (policy, CDRs,
# tandemd), on 127.0.0.1 only, owned by the postgres user, in DIR.
#
#   pg.sh start DIR    fresh cluster: wipe DIR, initdb, pick a free port,
#                      start, create database "tandem", write DIR/env
#   pg.sh stop DIR     stop this cluster (only the postmaster of DIR)
#   pg.sh resume DIR   start the existing cluster again on the same port
#   pg.sh env DIR      print DIR/env (TANDEM_PG_DSN=..., PGHOST=...)
#
# DIR/env holds shell assignments; tests read TANDEM_PG_DSN from it. Works
# as root (runs the server as postgres via runuser) or as postgres itself.
set -euo pipefail

if [ $# -ne 2 ]; then
	echo "usage: $0 start|stop|resume|env DIR" >&2
	exit 2
fi
CMD=$1
DIR=$2
case "$DIR" in
/*) ;;
*) DIR="$PWD/$DIR" ;;
esac
DATA="$DIR/data"
DB=tandem

# initdb and pg_ctl are not on PATH on Debian: ask pg_config, then look in
# /usr/lib/postgresql/*/bin (newest first), then PATH.
find_bindir() {
	local d
	if command -v pg_config >/dev/null; then
		d=$(pg_config --bindir 2>/dev/null || true)
		if [ -n "$d" ] && [ -x "$d/initdb" ] && [ -x "$d/pg_ctl" ]; then
			echo "$d"
			return
		fi
	fi
	for d in $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V -r); do
		if [ -x "$d/initdb" ] && [ -x "$d/pg_ctl" ]; then
			echo "$d"
			return
		fi
	done
	d=$(command -v initdb 2>/dev/null || true)
	if [ -n "$d" ] && [ -x "$(dirname "$d")/pg_ctl" ]; then
		dirname "$d"
		return
	fi
	echo "pg.sh: initdb/pg_ctl not found (install postgresql)" >&2
	exit 1
}
BIN=$(find_bindir)

# Run a command as the postgres user (PostgreSQL refuses root).
as_pg() {
	if [ "$(id -u)" -eq 0 ]; then
		runuser -u postgres -- "$@"
	else
		"$@"
	fi
}

port_in_use() { # port: something accepts on 127.0.0.1:port
	(exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

is_running() {
	[ -f "$DATA/postmaster.pid" ] &&
		as_pg "$BIN/pg_ctl" -D "$DATA" status >/dev/null 2>&1
}

server_start() { # port
	as_pg "$BIN/pg_ctl" -D "$DATA" -w -t 30 -l "$DIR/server.log" \
		-o "-p $1 -c listen_addresses=127.0.0.1 -c unix_socket_directories='$DIR/sock' -c fsync=off" \
		start >/dev/null
}

write_env() { # port
	local dsn="host=127.0.0.1 port=$1 user=postgres dbname=$DB"
	cat >"$DIR/env.tmp" <<EOT
TANDEM_PG_DSN='$dsn'
PGHOST=127.0.0.1
PGPORT=$1
PGUSER=postgres
PGDATABASE=$DB
EOT
	mv "$DIR/env.tmp" "$DIR/env"
}

do_stop() {
	if is_running; then
		as_pg "$BIN/pg_ctl" -D "$DATA" -w -t 30 -m fast stop >/dev/null
	fi
}

do_start() {
	local port tries=0
	do_stop
	# Wipe only a folder this script made (or an empty or absent one).
	if [ -d "$DIR" ] && [ ! -f "$DIR/.tandem-pg" ] &&
		[ -n "$(ls -A "$DIR")" ]; then
		echo "pg.sh: $DIR exists and is not ours; not wiping it" >&2
		exit 1
	fi
	rm -rf "$DIR"
	mkdir -p "$DIR/sock"
	touch "$DIR/.tandem-pg"
	if [ "$(id -u)" -eq 0 ]; then
		chown -R postgres: "$DIR"
	fi
	chmod 700 "$DIR"
	if ! as_pg test -w "$DIR"; then
		echo "pg.sh: postgres cannot reach $DIR (a parent folder is" \
			"not searchable by it); use a build tree it can enter" >&2
		exit 1
	fi
	as_pg "$BIN/initdb" -D "$DATA" -U postgres --auth=trust -E UTF8 \
		--no-locale >"$DIR/initdb.log" 2>&1 || {
		cat "$DIR/initdb.log" >&2
		exit 1
	}
	while :; do
		port=$((20000 + (RANDOM % 20000)))
		tries=$((tries + 1))
		if ! port_in_use "$port" && server_start "$port"; then
			break
		fi
		if [ "$tries" -ge 8 ]; then
			echo "pg.sh: cannot start PostgreSQL" >&2
			tail -n 20 "$DIR/server.log" >&2 || true
			exit 1
		fi
	done
	echo "$port" >"$DIR/port"
	as_pg "$BIN/createdb" -h 127.0.0.1 -p "$port" -U postgres "$DB"
	write_env "$port"
	echo "pg.sh: PostgreSQL on 127.0.0.1:$port, env in $DIR/env"
}

do_resume() {
	[ -f "$DIR/port" ] || {
		echo "pg.sh: no cluster in $DIR" >&2
		exit 1
	}
	is_running || server_start "$(cat "$DIR/port")"
}

case "$CMD" in
start) do_start ;;
stop) do_stop ;;
resume) do_resume ;;
env) cat "$DIR/env" ;;
*)
	echo "usage: $0 start|stop|resume|env DIR" >&2
	exit 2
	;;
esac
