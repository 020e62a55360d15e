#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The exec event's command is the argv exactly as passed, however it lies in memory: more
# entries than one read of pointers takes, a string longer than the first read of each, a
# string and a pointer array that end on the last bytes before an unreadable page (a read
# past them would fail, and the exec with it).
. "$(dirname "$0")/../lib.sh"
require_sandbox
cd "$T/work" || exit 1

H=$HELPERS/argv_edge
if [ ! -x "$H" ]; then
	not_ok "argv_edge is built ($H)"
	done_testing
	exit
fi

"$H" /bin/true >"$T/want" || not_ok "control: argv_edge execs outside the sandbox"
al_run -- "$H" /bin/true >"$T/out" 2>"$T/err"
is "$?" "0" "the exec with an argv at the edges of memory runs in the sandbox"
"$AIRLOCK" log --json last >"$T/log.json"
"$PY" -c 'import json,sys
for line in open(sys.argv[1]):
    ev = json.loads(line)
    if ev.get("class") == "exec" and ev.get("target") == "/bin/true":
        print("\n".join(ev["command"]))
        print("truncated" in ev, file=sys.stderr)' "$T/log.json" >"$T/got" 2>"$T/trunc"
check "its event records the whole argv as it was passed ($(wc -l <"$T/want") entries)" \
	cmp -s "$T/want" "$T/got"
is "$(cat "$T/trunc")" "False" "... and does not call it cut"

# Twice the copy bound of one argument: cut, and said to be.
long=$(head -c 9000 /dev/zero | tr '\0' y)
al_run -- /bin/true a "$long" b >/dev/null 2>&1
"$AIRLOCK" log --json last >"$T/log2.json"
is "$("$PY" -c 'import json,sys
for line in open(sys.argv[1]):
    ev = json.loads(line)
    if ev.get("class") == "exec" and ev.get("target") == "/bin/true":
        c = ev["command"]
        print(len(c), c[1], len(c[2]), ev.get("truncated"))' "$T/log2.json")" "4 a 4095 True" \
	"an argument longer than the bound is cut at it and the event says so"
done_testing
