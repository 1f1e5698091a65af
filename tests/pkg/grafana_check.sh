#!/usr/bin/env bash
# deploy/grafana/tandem.json is valid JSON and every tandem_* metric its
# queries name is one tandemd exports: the names are taken from the
# b2bua/*.c sources (literal "tandem_..." names and the
# C(field, ...) table of b2b_api.c, which makes tandem_calls_FIELD_total).
# Exit 77 (skipped) without python3. Usage: grafana_check.sh [REPO_DIR]
set -euo pipefail
R=${1:-$(dirname "$0")/../..}
. "$(dirname "$0")/lib.sh"
need_cmd python3
J=$R/deploy/grafana/tandem.json
python3 -m json.tool "$J" >/dev/null || { echo "FAIL: $J is not JSON"; exit 1; }
have=$( { grep -ohE '"tandem_[a-z0-9_]*[a-z0-9]"' "$R"/b2bua/*.c | tr -d '"'
	  sed -n 's/^[[:space:]]*C(\([a-z_]*\),.*/tandem_calls_\1_total/p' \
		"$R"/b2bua/b2b_api.c; } | sort -u)
used=$(python3 -c 'import json,sys
d=json.load(open(sys.argv[1]))
for p in d["panels"]:
    for t in p.get("targets", []): print(t["expr"])
for v in d["templating"]["list"]: print(v["definition"])' "$J" |
	grep -oE 'tandem_[a-z0-9_]+' | sort -u)
pass=0 fail=0
for m in $used; do
	if grep -qx "$m" <<<"$have"; then pass=$((pass + 1))
	else echo "FAIL: $m is not exported by tandemd"; fail=$((fail + 1)); fi
done
echo "exported: $(wc -l <<<"$have") metric(s); dashboard uses $(wc -w <<<"$used")"
echo "grafana: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
