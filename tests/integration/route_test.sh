#!/usr/bin/env bash
# tandemd -r (route dry-run) over a static policy written here: the
# longest prefix wins, strip/add rewrites per target, targets in order,
# an address outside sip.sources is refused, a bad config is refused
# with file:line. Usage: route_test.sh TANDEMD
set -euo pipefail
td=$1
dir=$(mktemp -d /tmp/tandem-rt.XXXXXX)
trap 'rm -rf "$dir"' EXIT
cat >"$dir/t.conf" <<'EOT'
[sip]
sources = 127.0.0.0/8
[route.all]
targets = 127.0.0.9:5099
[route.berlin]
prefix = 030
strip = 1
add = +4930
targets = 127.0.0.3:5080, 127.0.0.4:5082/tcp
failover = 486, 503
EOT
fail() { echo "FAIL: $*" >&2; exit 1; }
out=$("$td" -c "$dir/t.conf" -r 127.0.0.2:5070 0301234 4930111) ||
	fail "routed call: exit $?"
echo "$out"
grep -q '^source trunk    static-in$' <<<"$out" || fail "source trunk"
grep -q '^failover on     486 503$' <<<"$out" || fail "failover codes"
grep -q '^target 1        berlin/1 127.0.0.3:5080/udp called +4930301234 calling 4930111$' <<<"$out" ||
	fail "target 1"
grep -q '^target 2        berlin/2 127.0.0.4:5082/tcp called +4930301234' <<<"$out" ||
	fail "target 2"
out=$("$td" -c "$dir/t.conf" -r 127.0.0.2 0401234) || fail "default route"
grep -q '^target 1        all/1 127.0.0.9:5099/udp called 0401234' <<<"$out" ||
	fail "default route target"
rc=0
out=$("$td" -c "$dir/t.conf" -r 10.1.2.3 0301234) || rc=$?
[ "$rc" -eq 3 ] || fail "unknown source: exit $rc, want 3"
grep -q '^verdict         403 unknown source$' <<<"$out" || fail "403 text"
rc=0
"$td" -c "$dir/t.conf" -r nonsense 1 2>/dev/null || rc=$?
[ "$rc" -eq 2 ] || fail "bad source: exit $rc, want 2"
printf '[sip]\nport = 99999\n' >"$dir/bad.conf"
rc=0
err=$("$td" -c "$dir/bad.conf" -t 2>&1) || rc=$?
[ "$rc" -eq 2 ] || fail "bad config: exit $rc, want 2"
grep -q "bad.conf:2: sip.port: out of range" <<<"$err" || fail "bad config text: $err"
echo PASS
