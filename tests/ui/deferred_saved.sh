#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Decisions on deferred commands are saved in the session as they are made, like those on
# changes: q says so and counts them, the next review starts from them, a command that ran
# since is done whatever was saved, forged or malformed lines are ignored, and a saved approval
# never runs a command by itself: `airlock commit` without --run runs none, the review's
# commit runs it after its summary lists it.
. "$(dirname "$0")/../lib.sh"
require_sandbox

. "$TESTS_DIR/ui/screen.bash"

P=$T/proj
mkdir -p "$P"
printf 'defer exec touch\n' >"$T/defer.rules"
chmod 600 "$T/defer.rules"
cd "$P" || exit 1
# run_deferring TAG: a session whose program writes d-TAG.txt and defers two touches.
run_deferring() {
	al_run -r "$T/defer.rules" -- "$PY" -c '
import subprocess, sys
t, tag = sys.argv[1], sys.argv[2]
open("d-%s.txt" % tag, "w").write("x\n")
subprocess.run(["touch", "%s/first-%s" % (t, tag)])
subprocess.run(["touch", "%s/second-%s" % (t, tag)])' "$T" "$1" 2>/dev/null
}
run_deferring a
ID=$(last_session)
DEC=$AIRLOCK_STATE_DIR/sessions/$ID/decisions.jsonl

# The program's own command comes first: approve #1, deny #2, quit: q counts them and says they are kept.
ui '<Tab>jadq<Dump>y'
check "q counts the decisions on deferred commands" \
	grep -q 'You changed 2 decisions (2 on deferred commands) and did not commit.' <(screen 1)
check "... and says they are saved" \
	grep -q 'Decisions on changes and deferred commands are saved in the session' <(screen 1)
check "nothing ran" test ! -e "$T/first-a" -a ! -e "$T/second-a"
check "the approval is saved by number" grep -qx '{"deferred":1,"state":"approved"}' "$DEC"
check "the denial too" grep -qx '{"deferred":2,"state":"denied"}' "$DEC"

# The next review starts from them; q with nothing changed asks nothing.
ui '<Tab><Dump>j<Dump>q'
check "reopened: #1 approved" grep -qE '^ \[\+\] deferred #1 +touch T/first-a$' <(screen 1)
check "... #2 denied" grep -qE '^ \[-\] deferred #2 +touch T/second-a$' <(screen 1)
check "... by the person, earlier" grep -q '^approved by you, earlier: deferred' <(screen 2)
check "q leaves at once: nothing changed in this review" \
	grep -q 'nothing committed' "$T/err"
is "$(grep -c '^--$' "$T/dump")" 2 "... without a question"

# Forged or malformed lines: a number the session deferred nothing for, a string, a fraction,
# a negative number, an unknown state, no JSON at all. None changes a decision.
cat >>"$DEC" <<'EOF'
{"deferred":9,"state":"approved"}
{"deferred":"2","state":"approved"}
{"deferred":2.5,"state":"approved"}
{"deferred":-2,"state":"approved"}
{"deferred":4294967298,"state":"approved"}
{"deferred":2,"state":"yes"}
{"deferred":2,"state":"approved"
not json
EOF
ui '<Tab><Dump>'
check "forged lines leave #2 denied" grep -qE '^ \[-\] deferred #2 ' <(screen 1)
check "... #1 approved" grep -qE '^ \[\+\] deferred #1 ' <(screen 1)
check "... and add no command" grep -q '\[Commands 3\]' <(screen 1)

# A command that ran since (commit --run) is done, whatever was saved: it runs at most once
# (tests/ui/deferred_ran.sh).
"$AIRLOCK" commit "$ID" --run 1 >/dev/null 2>&1
check "commit --run 1 ran #1" test -e "$T/first-a"
ui '<Tab><Dump>'
check "a command that ran since is done, not approved" grep -qE '^ \[=\] deferred #1 ' <(screen 1)

# A saved approval (here forged, of #2) never runs by itself: commit without --run runs none.
echo '{"deferred":2,"state":"approved"}' >>"$DEC"
"$AIRLOCK" commit "$ID" >"$T/out" 2>&1
check "commit applied the change" test -e "$P/d-a.txt"
check "... and ran no deferred command" test ! -e "$T/second-a"

# The review's commit runs a restored approval, after its summary lists it.
run_deferring b
ID=$(last_session)
ui '<Tab>jaq<Dump>y'
check "the approval of #1 is saved" test -s "$AIRLOCK_STATE_DIR/sessions/$ID/decisions.jsonl"
ui '<Tab>c<Dump>y'
check "reopened, the summary lists the restored approval" \
	grep -q 'Then run 1 approved deferred command on the host' <(screen 1)
check "the review's commit ran it" test -e "$T/first-b"
check "... and not the undecided one" test ! -e "$T/second-b"

done_testing
