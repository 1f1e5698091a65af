#!/usr/bin/env bash
# cmake --install of a built tree: with DESTDIR and --prefix /opt/tandem
# every file lands under the stage in its place and the unit's ExecStart
# and ExecStartPre name /opt/tandem/sbin/tandemd (the prefix chosen at
# install time, not the configure-time one); with --prefix /usr, as the
# README installs it, /usr/sbin/tandemd. The installed tandemd checks the
# installed example config (-t), and systemd-analyze verify finds nothing
# wrong with a unit installed under a real prefix (systemd need not run:
# exit 77 with the reason when systemd-analyze is absent, after the other
# checks). Writes only below a temporary folder.   install.sh BUILD_DIR
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/lib.sh"
B=$(cd "${1:-build}" && pwd)
need_cmd cmake
W=$(mktemp -d /tmp/tandem-install.XXXXXX)
trap 'rm -rf "$W"' EXIT
trap 'echo "FAIL: install.sh line $LINENO" >&2' ERR
pass=0 fail=0
check() { # DESCRIPTION COMMAND...
	local d=$1
	shift
	if "$@"; then pass=$((pass + 1))
	else echo "FAIL: $d"; fail=$((fail + 1)); fi
}

inst() { # DESTDIR PREFIX
	DESTDIR=$1 cmake --install "$B" --prefix "$2" >"$W/install.log" 2>&1 ||
		{ cat "$W/install.log"; echo "FAIL: cmake --install --prefix $2"; exit 1; }
}

inst "$W/stage" /opt/tandem
P=$W/stage/opt/tandem
for f in sbin/tandemd bin/tandemctl share/man/man8/tandemd.8 \
	share/man/man5/tandem.conf.5 share/man/man1/tandemctl.1 \
	share/doc/tandem/tandem.conf.example share/doc/tandem/README.md \
	share/doc/tandem/grafana/tandem.json \
	lib/systemd/system/tandemd.service lib/sysusers.d/tandem.conf \
	lib/tmpfiles.d/tandem.conf; do
	check "$f not installed under /opt/tandem" test -f "$P/$f"
done
check "tandemd not executable" test -x "$P/sbin/tandemd"
n=$(find "$W/stage" -type f | wc -l)
check "$n files installed, 11 expected" test "$n" -eq 11
U=$P/lib/systemd/system/tandemd.service
exec_lines() { grep -E '^ExecStart(Pre)?=' "$1" | cut -d' ' -f1 | sort -u | xargs; }
e=$(exec_lines "$U")
check "--prefix /opt/tandem: unit runs '$e'" test \
	"$e" = "ExecStart=/opt/tandem/sbin/tandemd ExecStartPre=/opt/tandem/sbin/tandemd"
echo "--prefix /opt/tandem: $n files, $e"
"$P/sbin/tandemd" -t -c "$P/share/doc/tandem/tandem.conf.example" >"$W/t.out" 2>&1 ||
	true
check "installed tandemd -t on the installed example: $(cat "$W/t.out")" \
	grep -q 'configuration OK' "$W/t.out"

inst "$W/stage2" /usr
e=$(exec_lines "$W/stage2/usr/lib/systemd/system/tandemd.service")
check "--prefix /usr: unit runs '$e'" test \
	"$e" = "ExecStart=/usr/sbin/tandemd ExecStartPre=/usr/sbin/tandemd"
echo "--prefix /usr: $e"

if command -v systemd-analyze >/dev/null; then
	# a real prefix, so the ExecStart binary exists where the unit says
	inst "" "$W/real"
	if systemd-analyze verify --man=no \
		"$W/real/lib/systemd/system/tandemd.service" >"$W/verify" 2>&1 &&
		[ ! -s "$W/verify" ]; then
		pass=$((pass + 1))
		echo "systemd-analyze verify: clean"
	else
		echo "FAIL: systemd-analyze verify:"
		cat "$W/verify"
		fail=$((fail + 1))
	fi
fi
echo "install: $pass passed, $fail failed"
[ "$fail" -eq 0 ] || exit 1
command -v systemd-analyze >/dev/null ||
	skip "no systemd-analyze (Debian package systemd): the unit was not verified"
