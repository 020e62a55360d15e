#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# A whole-file approval is tied to the version of the file the person saw: in a live session a
# later step that rewrites the approved file (same size, mtime put back) leaves it out of the
# commit, named, and a review shows it undecided until the person approves it again. A file
# approved and left alone still commits; a run's review and commit are unaffected.
. "$(dirname "$0")/../lib.sh"
require_sandbox
. "$TESTS_DIR/ui/screen.bash"

# The files are written above the working directory, where the default rules ask (`ask write
# /**`): a person's approval, not a rule's, is what lets them in.
P=$T/proj
mkdir -p "$P/sub"
cd "$P/sub" || exit 1

stopped() { "$AIRLOCK" stop "$ID" >/dev/null 2>&1 || ! "$AIRLOCK" list | grep -q "^$ID  live"; }
stop_it() {
	wait_for 30 stopped || diag "cannot stop $ID"
	wait_for 30 flock -n "$AIRLOCK_STATE_DIR/sessions/$ID/lock" true || diag "$ID stays locked"
}
state_of() { # state_of PATH: the change's state in show --json
	"$AIRLOCK" show "$ID" --json | "$PY" -c '
import json, sys
for c in json.load(sys.stdin)["changes"]:
    if c["path"] == sys.argv[1]:
        print(c["state"] + (" changed" if c.get("changed_since_approved") else ""))' "$1"
}

ID=$("$AIRLOCK" start 2>"$T/start.err")
is "$?" 0 "a live session starts"
"$AIRLOCK" exec "$ID" -- sh -c 'cd .. && echo seen-by-the-person >f.txt'
stop_it
ui 'a'
check "the review saves f.txt's approval with a pin" \
	grep -q '"path":"'"$P"'/f.txt","state":"approved","pin":"i:' \
	"$AIRLOCK_STATE_DIR/sessions/$ID/decisions.jsonl"
is "$(state_of "$P/f.txt")" "approved" "f.txt is approved"

# A later step rewrites f.txt with as many bytes and puts its mtime back.
"$AIRLOCK" exec "$ID" -- sh -c 'cd .. && touch -r f.txt stamp &&
	echo never-seen-by-him >f.txt && touch -r stamp f.txt && rm stamp'
stop_it
is "$(state_of "$P/f.txt")" "undecided changed" "show: f.txt is undecided, changed since approved"
"$AIRLOCK" commit "$ID" >"$T/out" 2>"$T/err"
is "$?" 0 "the commit runs"
check "with nothing approved to apply" grep -q "has no approved changes to commit" "$T/out"
check "naming f.txt as changed since approved" \
	grep -q "f.txt: changed in the session after it was approved: decide it again" "$T/err"
check "f.txt is not committed" test ! -e "$P/f.txt"

# The review shows it undecided, and why; approving it again commits the new content.
ui "<Dump>a" review "$ID"
check "the review says f.txt changed since approved" \
	grep -q "changed in the session after it was approved" "$T/dump"
check "and shows it undecided" grep -q '\[?\].*f.txt' "$T/dump"
is "$(state_of "$P/f.txt")" "approved" "approved again in the review"
"$AIRLOCK" commit "$ID" >"$T/out" 2>"$T/err"
is "$?" 0 "the commit after approving again succeeds"
check "with the content the person approved" grep -qx never-seen-by-him "$P/f.txt"

# An approved file that later steps leave alone still commits.
ID=$("$AIRLOCK" start 2>"$T/start.err")
"$AIRLOCK" exec "$ID" -- sh -c 'cd .. && echo kept >g.txt'
stop_it
ui "<Dump>a" review "$ID"
"$AIRLOCK" exec "$ID" -- sh -c 'echo other >h.txt'
stop_it
is "$(state_of "$P/g.txt")" "approved" "g.txt, untouched since approved, is still approved"
"$AIRLOCK" commit "$ID" >"$T/out" 2>"$T/err"
is "$?" 0 "the commit applies it"
check "g.txt is committed" grep -qx kept "$P/g.txt"
check "with no word of a change since" test "$(grep -c "changed in the session" "$T/err")" = 0

# A run (not live): review then commit as ever.
mkdir -p "$T/q/sub" && cd "$T/q/sub" || exit 1
"$AIRLOCK" run -- sh -c 'echo ran >../r.txt' >/dev/null 2>&1
ID=$(last_session)
ui "<Dump>a" review "$ID"
is "$(state_of "$T/q/r.txt")" "approved" "a run's file, approved in the review"
"$AIRLOCK" commit "$ID" >"$T/out" 2>"$T/err"
is "$?" 0 "a run's approved file commits"
check "with its content" grep -qx ran "$T/q/r.txt"

done_testing
