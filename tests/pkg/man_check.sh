#!/usr/bin/env bash
# The man pages format without a groff warning, and every section and key
# of deploy/tandem.conf.example has its entry in man/tandem.conf.5.
# Usage: man_check.sh [REPO_DIR]
set -euo pipefail
R=${1:-$(dirname "$0")/../..}
pass=0 fail=0
for m in "$R"/man/*.[0-9]; do
	w=$(groff -man -Tutf8 -ww "$m" 2>&1 >/dev/null)
	if [ -z "$w" ]; then pass=$((pass + 1))
	else echo "FAIL: $m: $w"; fail=$((fail + 1)); fi
done
M=$R/man/tandem.conf.5
sec=
while IFS= read -r l; do
	if [[ $l =~ ^\;?\[([a-z]+)(\.[a-z]+)?\]$ ]]; then
		sec=${BASH_REMATCH[1]}
		if [ "$sec" = route ]; then pat='\[route.NAME\]'; else pat="\[$sec\]"; fi
		if grep -q "^.SH .*$pat" "$M"; then pass=$((pass + 1))
		else echo "FAIL: section [$sec] missing"; fail=$((fail + 1)); fi
	elif [[ -n $sec && $l =~ ^\;?([a-z_0-9]+)\ = ]]; then
		k=${BASH_REMATCH[1]}
		# the key's entry inside its section's part of the page
		if awk -v s="$sec" -v k="$k" '
			/^\.SH/ { insec = (index($0, "[" s) > 0) }
			insec && ($0 == ".BR " k " = " || index($0, ".BR " k " \"") == 1 ||
			       index($0, ".BR \"" k " =\"") == 1) { f = 1 }
			END { exit !f }' "$M"; then pass=$((pass + 1))
		else echo "FAIL: $sec.$k missing from tandem.conf.5"; fail=$((fail + 1)); fi
	fi
done <"$R/deploy/tandem.conf.example"
echo "man: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
