#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# `airlock list` of hostile command lines and directories: control characters, a
# right-to-left override, zero-width characters, wide characters and a 3 KB argument. The
# command is escaped first, then cut by display columns with "…" as show cuts its "(by ...)":
# never inside an escape or a character; a long directory is cut at its start the same way,
# and every row's columns line up with the header's, counted in columns, not bytes.
. "$(dirname "$0")/../lib.sh"
require_sandbox

# A directory with wide characters and an escape in its name, longer than the CWD column.
D=$T/$'d\x1b'州州州州州州州州州州州州州州州州州州州州
mkdir -p "$D"
cd "$D" || exit 1
x60=$(printf 'x%.0s' $(seq 60))
big=$(head -c 3072 /dev/zero | tr '\0' y)
run() { al_run -- /bin/echo "$@" >/dev/null 2>&1; }
run $'a\x1b[31mred\x07' $'\u202eevil' $'zw\u200bx\u2060' $'tab\there'
run "${x60}"$'\u202e'"tail"
run "${x60}x漢字"
run "$big"
cd "$T" || exit 1
run short

"$AIRLOCK" list >"$T/list" 2>"$T/list.err"
is "$?" 0 "list exits 0"
# require_sandbox's /bin/true is the first session.
is "$(wc -l <"$T/list")" 7 "one line a session, and the header"
raw() { LC_ALL=C grep -q "$1" "$T/list"; }
check "no raw escape reaches the terminal" sh -c "! LC_ALL=C grep -q \$'\\e' '$T/list'"
check "... nor a bell" sh -c "! LC_ALL=C grep -q \$'\\a' '$T/list'"
check "... nor a tab" sh -c "! LC_ALL=C grep -q \$'\\t' '$T/list'"
check "... nor the right-to-left override" sh -c "! LC_ALL=C grep -q \$'\\xe2\\x80\\xae' '$T/list'"
check "... nor a zero-width space or word joiner" \
	sh -c "! LC_ALL=C grep -qE \$'\\xe2\\x80\\x8b|\\xe2\\x81\\xa0' '$T/list'"

# The COMMAND column of each row, and the columns before it (wide characters count 2).
"$PY" - "$T/list" >"$T/cols" <<'PY'
import sys, unicodedata
def width(s):
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in s)
lines = open(sys.argv[1], encoding="utf-8", errors="replace").read().split("\n")[:-1]
head = lines[0]
print(width(head[: head.index("COMMAND")]), "COMMAND")
for l in lines[1:]:
    i = l.index("/bin/")
    print(width(l[:i]), l[i:])
PY
is "$(wc -l <"$T/cols")" 7 "the header and each row have a COMMAND column"
start=$(awk 'NR == 1 { print $1 }' "$T/cols")
is "$(awk -v s="$start" '$1 != s' "$T/cols")" "" "every row's command starts in the header's COMMAND column"
cmds=$(cut -d' ' -f2- "$T/cols")
has() { grep -qxF -- "$1" <<<"$cmds" || { diag "commands:"; sed 's/^/#   /' <<<"$cmds"; false; }; }
check "control characters, the override and zero-width characters are escapes" \
	has '/bin/echo a\e[31mred\x07 \u202eevil zw\u200bx\u2060 tab\there'
check "an escape that would cross the cut is left out whole" has "/bin/echo ${x60}…"
check "a wide character that would cross the cut is left out whole" has "/bin/echo ${x60}x…"
check "a 3 KB argument is cut at 72 columns" has "/bin/echo ${big:0:62}…"
check "a short command is whole" has "/bin/echo short"
check "the long directory is cut at its start to 31 columns and its escape with it" \
	grep -qE '^[0-9a-f-]+ +finished +0 +0 +[0-9]+s +…(州){15}  /bin/echo a' "$T/list"

"$AIRLOCK" list --json >"$T/list.json"
is "$(json_get "$T/list.json" 'max(len(a) for x in j for a in x["command"])')" 3072 \
	"list --json has the argument whole"

done_testing
