#!/usr/bin/env bash
# The man pages format without a groff warning and say what the code does:
# man/tandem.conf.5 is what man/gen_conf5.py makes of
# deploy/tandem.conf.example (not stale) and has an entry for every section
# and key of it; tandemctl.1 every command of b2bua/tandemctl.c (the cmds[]
# table and migrate), tandemd.8 every option letter of tandemd's getopt.
# Exit 77 (skipped) without groff or python3. Usage: man_check.sh [REPO_DIR]
set -euo pipefail
R=${1:-$(dirname "$0")/../..}
. "$(dirname "$0")/lib.sh"
need_cmd groff python3
pass=0 fail=0
if python3 "$R/man/gen_conf5.py" "$R/deploy/tandem.conf.example" \
	"$R/CMakeLists.txt" | cmp -s - "$R/man/tandem.conf.5"; then
	pass=$((pass + 1))
else
	echo "FAIL: man/tandem.conf.5 is stale: run man/gen_conf5.py" \
		"deploy/tandem.conf.example CMakeLists.txt >man/tandem.conf.5"
	fail=$((fail + 1))
fi
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
nkeys=$pass
# every tandemctl command: a .TP item starting with its name
cmds=$(sed -n '/^static const struct ctl_cmd cmds\[\] = {/,/^};/p' \
	"$R/b2bua/tandemctl.c" | grep -o '{"[a-z-]*"' | tr -d '{"')
grep -q '"migrate"' "$R/b2bua/tandemctl.c" && cmds="$cmds migrate"
[ "$(wc -w <<<"$cmds")" -ge 10 ] || { echo "FAIL: only '$cmds' read from tandemctl.c"; fail=$((fail + 1)); }
for c in $cmds; do
	if grep -A1 '^\.TP' "$R/man/tandemctl.1" | grep -E '^\.B[IR]? ' |
		grep -Eq "^\.B[IR]? (.*\" )?${c//-/\\\\-}( |\"|$)"; then pass=$((pass + 1))
	else echo "FAIL: tandemctl.1 lacks the command $c"; fail=$((fail + 1)); fi
done
# every tandemd option letter: a .B/.BI line naming \-X
opts=$(grep -o 'getopt(argc, argv, "[^"]*"' "$R/b2bua/tandemd.c" |
	sed 's/.*"\(.*\)"/\1/' | tr -d ':')
[ -n "$opts" ] || { echo "FAIL: no getopt string in tandemd.c"; fail=$((fail + 1)); }
for o in $(grep -o . <<<"$opts"); do
	if grep -Eq "^\.B[IR]? \\\\-$o( |$)" "$R/man/tandemd.8"; then pass=$((pass + 1))
	else echo "FAIL: tandemd.8 lacks the option -$o"; fail=$((fail + 1)); fi
done
echo "man: groff, tandem.conf.5 fresh, its sections and keys ($nkeys checks), tandemctl commands" \
	"($(wc -w <<<"$cmds")), tandemd options (-$opts)"
echo "man: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
