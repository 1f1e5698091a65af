#!/usr/bin/env bash
# tandemctl migrate against the test PostgreSQL (fixture pg): it applies
# what is missing (whatever ran before), a second run applies nothing,
# both report the schema version tandemctl was built with; a bad DSN
# fails with the database's message and exit 1.
#   ctl_migrate.sh TANDEMCTL
set -euo pipefail
CTL=$1
[ -f "${TANDEM_PG_ENVFILE:-}" ] || { echo "no TANDEM_PG_ENVFILE" >&2; exit 1; }
# shellcheck disable=SC1090
. "$TANDEM_PG_ENVFILE"
out1=$("$CTL" migrate "$TANDEM_PG_DSN")
out2=$("$CTL" migrate "$TANDEM_PG_DSN")
echo "$out1"
echo "$out2"
ver=$(sed -n 's/.*schema version \([0-9]*\)$/\1/p' <<<"$out1")
[ -n "$ver" ] && [ "$ver" -ge 3 ] || { echo "FAIL: version in: $out1"; exit 1; }
[ "$out2" = "applied 0 migrations; schema version $ver" ] ||
	{ echo "FAIL: second run: $out2"; exit 1; }
json=$("$CTL" --json migrate "$TANDEM_PG_DSN")
[ "$json" = "{\"applied\": 0, \"schema_version\": $ver}" ] ||
	{ echo "FAIL: json: $json"; exit 1; }
rc=0
err=$("$CTL" migrate "host=127.0.0.1 port=1 dbname=x connect_timeout=2" 2>&1) || rc=$?
[ "$rc" -eq 1 ] && grep -q "tandemctl: database:" <<<"$err" ||
	{ echo "FAIL: bad DSN rc=$rc: $err"; exit 1; }
echo "PASS: tandemctl migrate"
