#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# What reaches the terminal is what is there: a program names a file, fills it and runs a
# command with bidirectional controls (a right-to-left override that makes "gpj.exe" read
# "exe.jpg", isolates), zero-width characters and other invisible format characters; `show`,
# `list`, `log`, `log --json` and `diff` on a terminal, and the review, show them as escapes,
# never as the raw characters.
. "$(dirname "$0")/../lib.sh"
require_sandbox

P=$T/proj
mkdir -p "$P"
cat >"$T/agent.py" <<'PY'
import subprocess
# U+202E RLO, U+2066 LRI, U+2069 PDI, U+200B ZWSP, U+FEFF BOM, U+00AD soft hyphen, a tag.
name = "invoice\u202egpj.exe"
open(name, "w").write("safe\u2066 = True\u2069 # \u200bchecked\ufeff\n")
open("pass\u00adwd\U000e0041", "w").write("x\n")
subprocess.run(["/bin/echo", "git\u200b", "status\u202e"], stdout=subprocess.DEVNULL)
PY
cd "$P" || exit 1
al_run -- "$PY" "$T/agent.py" 2>"$T/run.err"
check "the program ran" test -f "$T/state/sessions/$(last_session)/meta.json"
ID=$(last_session)

# raw FILE: whether FILE holds any of the characters (as UTF-8 bytes).
raw() { LC_ALL=C grep -qE $'\xe2\x80\xae|\xe2\x81\xa6|\xe2\x81\xa9|\xe2\x80\x8b|\xef\xbb\xbf|\xc2\xad|\xf3\xa0\x81\x81' "$1"; }
clean() { ! raw "$1"; }

"$AIRLOCK" show "$ID" >"$T/show" 2>&1
check "show: the right-to-left override is not written raw" clean "$T/show"
check "show: the name is shown escaped" grep -qF 'invoice\u202egpj.exe' "$T/show"
check "show: soft hyphen and tag character escaped" grep -qF 'pass\u00adwd\U000e0041' "$T/show"
check "show: the command's zero-width space and override escaped" grep -qF 'git\u200b status\u202e' "$T/show"

"$AIRLOCK" log "$ID" >"$T/log" 2>&1
check "log: nothing invisible written raw" clean "$T/log"
check "log: the name is shown escaped" grep -qF 'invoice\u202egpj.exe' "$T/log"

"$AIRLOCK" list >"$T/list" 2>&1
check "list: nothing invisible written raw" clean "$T/list"

if command -v script >/dev/null; then
	script -qec "'$AIRLOCK' diff '$ID'" /dev/null >"$T/tty" 2>&1
	check "diff on a terminal: nothing invisible written raw" clean "$T/tty"
	check "diff on a terminal: the content's isolates and zero-width space are escaped" \
		grep -qF 'safe\u2066 = True\u2069 # \u200bchecked\ufeff' "$T/tty"
	check "diff on a terminal: the name is escaped (git's quoting)" \
		grep -qF "invoice\\\\342\\\\200\\\\256gpj.exe" "$T/tty"
	script -qec "'$AIRLOCK' log --json '$ID'" /dev/null >"$T/logjson" 2>&1
	check "log --json on a terminal: nothing invisible written raw" \
		clean "$T/logjson"
	check "log --json on a terminal: still the same JSON (escaped as \\u202e)" \
		"$PY" -c 'import json,sys
ok = False
for line in open(sys.argv[1], encoding="utf-8"):
    line = line.strip()
    if line.startswith("{"):
        ev = json.loads(line)
        ok = ok or "invoice\u202egpj.exe" in json.dumps(ev, ensure_ascii=False)
sys.exit(0 if ok else 1)' "$T/logjson"
else
	skip "diff on a terminal escapes invisible characters" "no script(1)"
fi

# Piped, diff is the patch as it is: the name and content are the real ones.
"$AIRLOCK" diff "$ID" >"$T/patch" 2>/dev/null
check "diff into a pipe keeps the real bytes (a patch must apply)" raw "$T/patch"

. "$TESTS_DIR/ui/screen.bash"
ui "<Dump><Enter><Dump>"
check "review: nothing invisible on the screen" clean "$T/dump"
check "review: the name is shown escaped" grep -qF 'invoice\u202egpj.exe' "$T/dump"
check "review: the content is shown escaped" grep -qF '\u200bchecked\ufeff' "$T/dump"

done_testing
