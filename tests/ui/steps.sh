#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# A live session's steps in the review: the commands list shows each command's step, and s / S
# approve or deny a whole step (its commands and every change it made), which the commit then
# follows on the host.
. "$(dirname "$0")/../lib.sh"
require_sandbox

P=$T/proj
mkdir -p "$P"
cd "$P" || exit 1
ID=$("$AIRLOCK" start)
"$AIRLOCK" exec "$ID" -- sh -c 'echo one > a.txt'
"$AIRLOCK" exec "$ID" -- sh -c 'echo two > b.txt; echo three > c.txt'
"$AIRLOCK" stop "$ID" 2>/dev/null

. "$TESTS_DIR/ui/screen.bash"

shows() { screen 1 | grep -qF -- "$1"; }
ui '<Tab><Dump>q' review "$ID"
check "the commands list shows step 1's command" shows "[1] sh -c echo one > a.txt"
check "and step 2's" shows "[2] sh -c echo two > b.txt"

# The first change is a.txt, step 1's: S denies that step, then commit.
ui 'S<Dump>cy' review "$ID"
check "S says which step it denied" grep -q "denied step 1" "$T/dump"
check "the denied step's change stays out" test ! -e a.txt
is "$(cat b.txt c.txt 2>/dev/null)" "two
three" "the other step's changes are committed"

# s approves a whole step: a denied one comes back.
"$AIRLOCK" undo "$ID" >/dev/null 2>&1
ui 'S<Tab>s<Dump>q' review "$ID"
check "s on a command approves its step" grep -q "approved step 1" "$T/dump"
"$AIRLOCK" commit "$ID" a.txt >/dev/null 2>&1
is "$(cat a.txt 2>/dev/null)" "one" "and the step's change can be committed"

done_testing
