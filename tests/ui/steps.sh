#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# A live session's steps in the review: the commands list shows each command's step, and s / S
# approve or deny a whole step (its commands and every change it made), which the commit then
# follows on the host.
. "$(dirname "$0")/../lib.sh"
require_sandbox

in_project
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

# s and S on a step of more than a screenful of items ask first, with the count.
ID=$("$AIRLOCK" start)
"$AIRLOCK" exec "$ID" -- sh -c 'for i in $(seq 30); do echo $i > many$i.txt; done'
"$AIRLOCK" stop "$ID" 2>/dev/null
ui 'S<Dump>n<Dump>Sy<Dump>' review "$ID"
# (30 changes and the commands of the step: sh and the seq it ran)
check "S on a step of more than a screenful asks first" grep -qE '\| Deny step 1: 3[0-9] items' <(screen 1)
check "n changes nothing" grep -q '^nothing changed' <(screen 2)
check "... the step's changes keep their state" grep -qE '^ \[\+\]   add      many1.txt' <(screen 2)
check "y denies the whole step" grep -qE '^denied step 1: 3[0-9] items' <(screen 3)
check "... and its changes" grep -qE '^ \[-\]   add      many1.txt' <(screen 3)

done_testing
