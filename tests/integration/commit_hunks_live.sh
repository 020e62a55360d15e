#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Per-hunk decisions in a live session, where the program keeps running while the person
# reviews: a step that rewrites the file after its hunks were decided makes the commit refuse
# it; the same bytes written back make it commit exactly the approved hunks again; a step that
# moves the file away leaves a decision no commit applies to anything.
. "$(dirname "$0")/../lib.sh"
require_sandbox
. "$TESTS_DIR/ui/screen.bash"

in_project
"$PY" -c 'open("f.txt", "w").write("".join("line %d\n" % i for i in range(1, 31)))'
cp f.txt "$T/f.orig"
cat >"$T/agent.py" <<'PY'
s = open("f.txt").read().split("\n")
s[1], s[14], s[27] = "TWO", "FIFTEEN", "TWENTY-EIGHT"
open("f.txt", "w").write("\n".join(s))
PY
"$PY" - "$T" <<'PY'
import sys
t = sys.argv[1]
s = open(t + "/f.orig").read().split("\n")
s[1], s[27] = "TWO", "TWENTY-EIGHT"
open(t + "/f.want", "w").write("\n".join(s))
PY

"$PY" - "$T" <<'PY'
import sys
t = sys.argv[1]
s = open(t + "/f.orig").read().split("\n")
s[1], s[14], s[27] = "TWO", "FIFTEEN", "TWENTY-EIGHT"
open(t + "/f.new", "w").write("\n".join(s))
PY

# stop, again while the step just ended still holds the session ("in use by another airlock
# process"), until the session is no longer live and its supervisor has let go of it.
stopped() { "$AIRLOCK" stop "$ID" >/dev/null 2>&1 || ! "$AIRLOCK" list | grep -q "^$ID  live"; }
stop_it() {
	wait_for 30 stopped || diag "cannot stop $ID"
	wait_for 30 flock -n "$AIRLOCK_STATE_DIR/sessions/$ID/lock" true || diag "$ID stays locked"
}
ID=$("$AIRLOCK" start 2>"$T/start.err")
is "$?" 0 "a live session starts"
"$AIRLOCK" exec "$ID" -- "$PY" "$T/agent.py"
stop_it
ui '<Enter>ada'
check "the review saves f.txt's hunks" \
	grep -q '"hunks":"ada"' "$AIRLOCK_STATE_DIR/sessions/$ID/decisions.jsonl"

# A later step rewrites the file after the person decided its hunks.
"$AIRLOCK" exec "$ID" -- sh -c 'echo "and one more line" >>f.txt'
stop_it
"$AIRLOCK" commit --force "$ID" >"$T/out" 2>"$T/err"
is "$?" 1 "a step that rewrote the file since the review: the commit is refused"
check "saying it changed in the session" grep -q 'f.txt: it changed in the session since' "$T/err"
check "the host's file is untouched" cmp "$P/f.txt" "$T/f.orig"

# A step moves the file away: its hunk decisions apply to nothing.
"$AIRLOCK" exec "$ID" -- mv f.txt h.txt
stop_it
"$AIRLOCK" commit --force "$ID" >"$T/out" 2>"$T/err"
is "$?" 1 "a file moved away after its hunks were decided: the commit is refused"
check "saying it is no longer a modified text file" grep -q 'f.txt: .*cannot be read hunk by hunk now' "$T/err"
check "the host's file is still there, untouched" cmp "$P/f.txt" "$T/f.orig"
check "and nothing appeared next to it" test ! -e "$P/h.txt"

# The bytes the person saw, back in place (another inode, another time): exactly the
# approved hunks go in.
"$AIRLOCK" exec "$ID" -- sh -c "rm h.txt && cp '$T/f.new' f.txt"
stop_it
"$AIRLOCK" commit "$ID" >"$T/out" 2>"$T/err"
is "$?" 0 "the bytes the person saw, written back, commit"
check "with exactly hunks 1 and 3" cmp "$P/f.txt" "$T/f.want"
"$AIRLOCK" undo "$ID" >/dev/null 2>&1
check "undo puts the host's file back" cmp "$P/f.txt" "$T/f.orig"

done_testing
