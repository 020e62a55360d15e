#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# airlock attend: a live session started with --ask attend queues its asks; a person answers
# them from another terminal (tmux runs `airlock attend`; the test types the key) while the
# exec waits; --json speaks the approver's lines; without an attender an ask times out and is
# denied.
. "$(dirname "$0")/../lib.sh"
require_sandbox

if ! command -v tmux >/dev/null; then
	skip "attend tests" "tmux is not installed"
	done_testing
	exit
fi

SOCK=$T/tmux.sock
tags+=("$T/tmux.")
tm() { tmux -S "$SOCK" -f /dev/null "$@"; }
pane() { tm capture-pane -p -J -S -100 -t at 2>/dev/null; }
pane_has() { pane | grep -qF -- "$1"; }

in_project
printf 'ask exec /usr/bin/whoami\nask exec /usr/bin/id\n' >"$T/ask.rules"
chmod 600 "$T/ask.rules"
ID=$("$AIRLOCK" start --ask attend --ask-timeout 30s -r "$T/ask.rules")

tm new-session -d -s at -x 100 -y 30 \
	"env AIRLOCK_STATE_DIR='$AIRLOCK_STATE_DIR' LANG=C.UTF-8 TERM=screen '$AIRLOCK' attend $ID"
tm set-option -t at remain-on-exit on >/dev/null
check "attend says which session it answers" wait_for 10 pane_has "answering the asks of session $ID"
"$AIRLOCK" exec "$ID" -- whoami >"$T/who.out" 2>"$T/who.err" &
execpid=$!
check "the ask appears on the attending terminal" wait_for 10 pane_has "/usr/bin/whoami"
tm send-keys -t at y
wait "$execpid"
is "$?" 0 "the exec went on once the person allowed it"
is "$(cat "$T/who.out")" "$(id -un)" "and ran the command"

"$AIRLOCK" exec "$ID" -- id -u >"$T/id.out" 2>"$T/id.err" &
execpid=$!
check "a second ask appears" wait_for 10 pane_has "/usr/bin/id"
tm send-keys -t at n
wait "$execpid"
is "$?" 126 "a denied exec fails as a refused exec does (126)"
tm kill-server 2>/dev/null

# --json: the approver protocol, with the session named.
"$PY" - "$AIRLOCK" "$ID" >"$T/json.out" 2>"$T/json.err" <<'PY' &
import json, subprocess, sys
p = subprocess.Popen([sys.argv[1], "attend", "--json", sys.argv[2]], stdin=subprocess.PIPE,
                     stdout=subprocess.PIPE, text=True)
ask = json.loads(p.stdout.readline())
print(ask["type"], ask["class"], ask["target"], ask["session"] == sys.argv[2])
p.stdin.write(json.dumps({"id": ask["id"], "decision": "allow", "remember": "session"}) + "\n")
p.stdin.flush()
p.stdin.close()
p.wait(timeout=30)
PY
jpid=$!
is "$("$AIRLOCK" exec "$ID" -- whoami 2>/dev/null)" "$(id -un)" "attend --json answers an ask"
wait "$jpid"
is "$(cat "$T/json.out")" "ask exec /usr/bin/whoami True" "with the approver's line and the session"
"$AIRLOCK" stop "$ID" 2>/dev/null
"$AIRLOCK" log --json "$ID" >"$T/log.jsonl"
check "the log says the person decided" grep -q '"op":"execve".*"decision":"allow","by":"person"' "$T/log.jsonl"

# Nobody attends: the ask waits out its timeout and is denied.
ID2=$("$AIRLOCK" start --ask attend --ask-timeout 1s -r "$T/ask.rules")
"$AIRLOCK" exec "$ID2" -- whoami 2>/dev/null
is "$?" 126 "without an attender the ask times out and is denied"
"$AIRLOCK" stop "$ID2" 2>/dev/null
check "the log says it timed out" sh -c "'$AIRLOCK' log --json '$ID2' | grep -q '\"by\":\"timeout\"'"

# attend on a session that does not ask, and run --ask attend, are refused.
ID3=$("$AIRLOCK" start)
"$AIRLOCK" attend --json "$ID3" </dev/null 2>"$T/noattend.err"
is "$?" 1 "attend on a session without --ask attend is refused"
check "saying why" grep -q "not started with --ask attend" "$T/noattend.err"
"$AIRLOCK" stop "$ID3" 2>/dev/null
"$AIRLOCK" run --ask attend -- true 2>"$T/run.err"
is "$?" 125 "run --ask attend is refused"
check "pointing to airlock start" grep -q "airlock start --ask attend" "$T/run.err"

done_testing
