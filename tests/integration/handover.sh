#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The change set handed over from the run's end (changes.handover, supervisor/record/
# handover.h) is used only while a scan would see the same: a file rewritten in the upper
# after the run, a name added there, the host's side changed, a damaged or truncated file, a
# hand-over from an earlier step of a live session, or a live session running again all fall
# back to the scan. Whichever is used, `show --json` is the same as with the hand-over off, and
# an approval the review pins on a handed-over change holds at commit.
. "$(dirname "$0")/../lib.sh"
require_sandbox
. "$TESTS_DIR/ui/screen.bash"

in_project
echo host-side >kept.txt
echo same >same.txt
mkdir sub

# The ctimes kept must be older than the clock's tick the end-of-run scan starts in: the
# program waits for the coarse clock (CLOCK_REALTIME_COARSE, 5) to move past its writes.
settle='import time
t = time.clock_gettime(5)
while time.clock_gettime(5) == t:
    pass'
al_run -- /bin/sh -c "echo new >new.txt && echo more >>kept.txt && echo same >same.txt &&
	echo deep >sub/deep.txt && ln -s kept.txt link && rm -f nothing &&
	$PY -c '$settle'" >/dev/null 2>"$T/run.err"
is "$?" 0 "a run makes changes"
ID=$(last_session)
S=$AIRLOCK_STATE_DIR/sessions/$ID
check "its end hands the change set over" test -s "$S/changes.handover"

# how: show --json of the session, into $T/NAME.json, and what the reader did (test_mark()).
how() {
	AIRLOCK_TEST_TIMING_FD=3 "$AIRLOCK" show --json "$ID" 3>"$T/marks" >"$T/$1.json"
	AIRLOCK_TEST_FEATURES_OFF=handover "$AIRLOCK" show --json "$ID" >"$T/$1.scan.json"
	cut -d' ' -f2- "$T/marks" | grep handover
}
same_as_scan() { cmp -s "$T/$1.json" "$T/$1.scan.json"; }
size_of() { jf "$1" '[c["size"] for c in j["changes"] if c["path"].endswith(sys.argv[3])][0]' "$2"; }

is "$(how fresh)" "handover used" "show uses the hand-over of a session left alone"
check "with the same result as a scan" same_as_scan fresh
is "$(jf fresh 'len(j["changes"])')" 4 "four changes (same.txt is none)"

upper_of() { find "$S/upper" -name "$1" -not -type c | head -1; }
NEW=$(upper_of new.txt)
echo appended >>"$NEW"
is "$(how appended)" "handover scan: stale" "a file rewritten in the upper: the set is stale"
check "show gives the scan's result" same_as_scan appended
is "$(size_of appended new.txt)" 13 "with the file's new size"

how appended >/dev/null # a scan moves no ctime: the set stays stale, not fresh again
touch "$(dirname "$NEW")/added.txt"
is "$(how added)" "handover scan: stale" "a name added in an upper directory: stale"
check "show lists it, as a scan does" same_as_scan added
rm "$(dirname "$NEW")/added.txt"

# A fresh hand-over again, then the host's side changes: the modification disappears.
al_run -- /bin/sh -c "echo other >>kept.txt && $PY -c '$settle'" >/dev/null 2>"$T/run.err"
is "$?" 0 "a second run changes kept.txt"
ID=$(last_session)
S=$AIRLOCK_STATE_DIR/sessions/$ID
is "$(how before-host)" "handover used" "a second session's hand-over is used"
KEPT=$(upper_of kept.txt)
check "its upper has kept.txt" test -f "$KEPT"
cat "$KEPT" >"$P/kept.txt"
is "$(how host)" "handover scan: stale" "the host's file changed: stale"
check "show gives the scan's result" same_as_scan host
is "$(jf host 'len(j["changes"])')" 0 "kept.txt is the same as the host's now: no change"

# Damaged: a byte flipped in the middle, or the file cut short.
in_project
al_run -- /bin/sh -c "echo a >a.txt && echo b >b.txt && $PY -c '$settle'" >/dev/null 2>&1
ID=$(last_session)
S=$AIRLOCK_STATE_DIR/sessions/$ID
cp "$S/changes.handover" "$T/good"
"$PY" - "$S/changes.handover" <<'PY'
import sys
p = sys.argv[1]
b = bytearray(open(p, "rb").read())
b[len(b) // 2] ^= 0x40
open(p, "wb").write(b)
PY
is "$(how flipped)" "handover scan: none, damaged, or of another end of the run" \
	"a byte flipped: not used"
check "show gives the scan's result" same_as_scan flipped
head -c 100 "$T/good" >"$S/changes.handover"
is "$(how cut)" "handover scan: none, damaged, or of another end of the run" "cut short: not used"
check "show gives the scan's result" same_as_scan cut
# Cut at every boundary of the header and in the middle of the records: never used, never a
# crash, always the scan's result.
len=$(stat -c %s "$T/good")
bad=0
for n in 0 1 27 31 40 64 200 $((len / 3)) $((len - 65)) $((len - 64)) $((len - 1)); do
	head -c "$n" "$T/good" >"$S/changes.handover"
	[ "$(how "cut$n")" = "handover scan: none, damaged, or of another end of the run" ] &&
		same_as_scan "cut$n" || { bad=1; diag "cut at $n"; }
done
is "$bad" 0 "cut anywhere: the scan's result"
# A name changed and the hash made again: the name is not in the upper, the set is stale.
"$PY" - "$T/good" "$S/changes.handover" <<'PY'
import hashlib, sys
b = bytearray(open(sys.argv[1], "rb").read()[:-64])
i = b.rindex(b"b.txt\0")
b[i] = ord("c")
open(sys.argv[2], "wb").write(bytes(b) + hashlib.sha256(bytes(b)).hexdigest().encode())
PY
is "$(how renamed)" "handover scan: stale" "a name changed under a good hash: stale"
check "show gives the scan's result" same_as_scan renamed
cp "$T/good" "$S/changes.handover"
is "$(how restored)" "handover used" "put back whole, it is used"

# The review opens on the hand-over; its pin holds at commit, which scans.
ui 'a' review "$ID"
"$AIRLOCK" commit "$ID" >"$T/out" 2>&1
is "$?" 0 "a commit after the review's approval"
check "applies the file approved on the handed-over set" grep -qx a "$P/a.txt"

# A live session: each stop hands over its own set; an earlier step's is not used.
stopped() { "$AIRLOCK" stop "$ID" >/dev/null 2>&1 || ! "$AIRLOCK" list | grep -q "^$ID  live"; }
stop_it() {
	wait_for 30 stopped || diag "cannot stop $ID"
	wait_for 30 flock -n "$AIRLOCK_STATE_DIR/sessions/$ID/lock" true || diag "$ID stays locked"
}
in_project
ID=$("$AIRLOCK" start 2>"$T/start.err")
is "$?" 0 "a live session starts"
S=$AIRLOCK_STATE_DIR/sessions/$ID
"$AIRLOCK" exec "$ID" -- /bin/sh -c "echo one >live.txt && $PY -c '$settle'"
stop_it
is "$(how step1)" "handover used" "its first step's hand-over is used after stop"
cp "$S/changes.handover" "$T/step1"
"$AIRLOCK" exec "$ID" -- /bin/sh -c "echo two-longer >live.txt && $PY -c '$settle'"
is "$(how running)" "handover scan: the session has not ended" \
	"while it runs again, the hand-over is not used"
check "show gives the scan's result" same_as_scan running
stop_it
is "$(how step2)" "handover used" "the second step's hand-over is used after stop"
is "$(size_of step2 live.txt)" 11 "with the second step's file"
cp "$T/step1" "$S/changes.handover"
is "$(how old)" "handover scan: none, damaged, or of another end of the run" \
	"the first step's hand-over put back is not used"
is "$(size_of old live.txt)" 11 "show has the second step's file"
check "the same as a scan" same_as_scan old

# A large set's proof is shared by two threads, each lstat'ing the entries of about half of
# the directories: a file rewritten after the run is caught in either half.
mk='import os
for d in "ab":
    os.mkdir(d)
    for i in range(2100):
        open("%s/f%d" % (d, i), "w").write("x")'
for half in a b; do
	in_project
	al_run -- /bin/sh -c "$PY -c '$mk' && $PY -c '$settle'" >/dev/null 2>"$T/run.err"
	is "$?" 0 "a run makes 4,200 files in two directories ($half)"
	ID=$(last_session)
	S=$AIRLOCK_STATE_DIR/sessions/$ID
	is "$(how "big-$half")" "handover used" "  its hand-over is used"
	F=$(find "$S/upper" -path "*/$half/f2050" | head -1)
	check "  its upper has $half/f2050" test -f "$F"
	echo more >>"$F"
	is "$(how "big-stale-$half")" "handover scan: stale" "  $half/f2050 rewritten: stale"
	check "  show gives the scan's result" same_as_scan "big-stale-$half"
done

done_testing
