#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# A deferred command that ran already (commit --run N, or an earlier review's commit) is done
# in the review: its row and status row say it ran and how it ended, it cannot be approved or
# denied again, the commit summary does not count it, and the review's commit runs the other
# approved deferred commands without asking for it (which would refuse them all).
. "$(dirname "$0")/../lib.sh"
require_sandbox

. "$TESTS_DIR/ui/screen.bash"

P=$T/proj
mkdir -p "$P"
printf 'defer exec touch\ndefer exec sh\n' >"$T/defer.rules"
chmod 600 "$T/defer.rules"
cd "$P" || exit 1
# The program writes d.txt and defers four commands: a touch, a failing sh, two touches.
al_run -r "$T/defer.rules" -- "$PY" -c '
import subprocess, sys
t = sys.argv[1]
open("d.txt", "w").write("x\n")
subprocess.run(["touch", t + "/first"])
subprocess.run(["sh", "-c", "echo ran >>%s/second; exit 3" % t])
subprocess.run(["touch", t + "/third"])
subprocess.run(["touch", t + "/fourth"])' "$T" 2>/dev/null
ID=$(last_session)
EV=$AIRLOCK_STATE_DIR/sessions/$ID/events.jsonl

"$AIRLOCK" commit "$ID" --run 1 --run 2 >/dev/null 2>&1
check "commit --run ran #1" test -e "$T/first"
is "$(cat "$T/second")" ran "... and #2, once"

# Reopened: #1 and #2 are done, with their exit status; #3 waits for a decision. The
# program's own command comes first.
ui '<Tab>j<Dump>j<Dump>j<Dump>'
check "#1's row says it ran" grep -qE '^ \[=\] deferred #1 +touch T/first$' <(screen 1)
check "#2's too" grep -qE '^ \[=\] deferred #2 +sh -c ' <(screen 1)
check "#3 is undecided" grep -qE '^ \[\?\] deferred #3 +touch T/third$' <(screen 1)
check "#1's status row says it ran, exit status 0" \
	grep -q '^ran on the host already (exit status 0): done, it runs at most once' <(screen 1)
check "... and where its output is" \
	grep -q '^output kept in the session as deferred/1.out; ran /.*/touch in ' <(screen 1)
check "#2's says exit status 3" \
	grep -q '^ran on the host already (exit status 3): done' <(screen 2)
check "#3's waits for the person" grep -q '^undecided: deferred' <(screen 3)

# It cannot be decided: a and d on it say why and change nothing.
ui '<Tab>ja<Dump>d<Dump>q'
check "a on a command that ran says so" \
	grep -q 'this deferred command ran on the host already: it runs at most once' <(screen 1)
check "... and leaves it done" grep -qE '^ \[=\] deferred #1 ' <(screen 1)
check "d leaves it done too" grep -qE '^ \[=\] deferred #1 ' <(screen 2)
is "$(cat "$AIRLOCK_STATE_DIR/sessions/$ID/decisions.jsonl" 2>/dev/null | grep -c '"deferred":1,')" 0 \
	"nothing was saved for it"

# The review's commit of only #3 (the program's command and its change denied) runs it,
# commits no file, and leaves the session open for review.
ui '<Tab>djja<Dump>c<Dump>y'
check "#3 approved" grep -qE '^ \[\+\] deferred #3 ' <(screen 1)
check "the summary counts only #3" \
	grep -q 'Then run 1 approved deferred command on the host' <(screen 2)
check "#3 ran" test -e "$T/third"
check "no file was committed" test ! -e "$P/d.txt"
ui '<Tab><Dump>q'
check "reopened, the command the review's commit ran is done too" \
	grep -qE '^ \[=\] deferred #3 ' <(screen 1)
check "... and #4 still waits" grep -qE '^ \[\?\] deferred #4 ' <(screen 1)

# Approve everything (A) and commit: the change is applied, #4 runs, the others not again.
ui '<Tab>A<Dump>c<Dump>y'
check "A says which commands it could not approve" grep -q \
	'^approved 2 of 5 commands and their changes (3 ran already, or were denied)$' \
	<(screen 1)
check "the summary counts only #4" \
	grep -q 'Then run 1 approved deferred command on the host' <(screen 2)
check "... and lists it" grep -qE '\| +#4 touch T/fourth' <(screen 2)
is "$(screen 2 | grep -cE '\| +#[123] ')" 0 "... and not #1, #2 or #3"
check "the change was applied" test -e "$P/d.txt"
check "#4 ran" test -e "$T/fourth"
is "$(cat "$T/second")" ran "#2 did not run again"
is "$(grep -c 'ran already\|already ran' "$T/err")" 0 "nothing was refused"
is "$(grep -o '"class":"deferred","op":"start","deferred":[0-9]*' "$EV" | cut -d: -f4 | paste -sd,)" \
	1,2,3,4 "the log has one start of each, in turn"

done_testing
