#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# `airlock show`: the "(by COMMAND)" after a change is cut to its first 60 columns and "…",
# after the escaping and never inside an escape or a character; `show --json` has it whole.
# shellcheck source=tests/lib.sh
. "$(dirname "$0")/../lib.sh"
require_sandbox
cd "$T/work" || exit 1

# by SCRIPT: run sh -c SCRIPT (which writes out.txt) and print show's "(by ...)" of it.
by() {
	local sid
	rm -f out.txt
	sid=$("$AIRLOCK" run --json -- sh -c "$1" 2>"$T/run.err" |
		python3 -c 'import json, sys; print(json.load(sys.stdin)["session"])')
	"$AIRLOCK" show --no-pager "$sid" >"$T/show.txt" 2>&1
	"$AIRLOCK" show --json "$sid" >"$T/show.json"
	grep -F "$T/work/out.txt" "$T/show.txt" | sed 's/.*   (by /(by /'
}

pad() { printf "%${1}s" "" | tr ' ' x; }

# "sh -c " and this are 24 columns.
head='echo hi >out.txt #'

is "$(by "$head short")" "(by sh -c $head short)" "a short command is whole, with no ellipsis"

out=$(by "$head$(pad 36)")
is "$out" "(by sh -c $head$(pad 36))" "exactly 60 columns: whole"
out=$(by "$head$(pad 37)")
is "$out" "(by sh -c $head$(pad 36)…)" "61 columns: the first 60 and an ellipsis"

# An escape is not cut: "\e" from column 60 on would end at 61, so it goes whole to the next.
out=$(by "$head$(pad 35)"$'\e[31m red')
is "$out" "(by sh -c $head$(pad 35)…)" "an escape that would pass column 60 is left out whole"
check "no raw escape reaches the output" sh -c "! grep -q \$(printf '\\033') '$T/show.txt'"
out=$(by "$head$(pad 34)"$'\e[31m red')
is "$out" "(by sh -c $head$(pad 34)\\e…)" "an escape that ends at column 60 is in"

# A wide character is two columns, and not cut in two.
out=$(by "$head$(pad 35)日本")
is "$out" "(by sh -c $head$(pad 35)…)" "a wide character past column 60 is left out whole"
out=$(by "$head$(pad 34)日本")
is "$out" "(by sh -c $head$(pad 34)日…)" "a wide character ending at column 60 is in"

# pip's python3 -c "<program>": one row each, not the program with escaped newlines.
prog="$head
import sys
$(for i in $(seq 20); do echo "print('line $i of a long program that goes on')"; done)"
out=$(by "$prog")
is "$out" "(by sh -c $head\\nimport sys\\nprint('line 1 of a lon…)" "a many-line program: its start, newlines escaped"
check "show --json has the command whole" python3 -c '
import json, sys
by = json.load(open(sys.argv[1]))["changes"][0]["by"][0]
sys.exit(by != "sh -c " + sys.argv[2])' "$T/show.json" "$prog"

done_testing
