#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The diff view of a file decided hunk by hunk, headless, as golden screens at 80x24: each
# hunk's @@ line with its decision, '>' on the hunk under the cursor, the status rows, and
# the list's [~] for a file approved in part (under its directory's row).
. "$(dirname "$0")/../lib.sh"
require_sandbox
. "$TESTS_DIR/ui/screen.bash"

in_project
"$PY" -c 'open("f.txt", "w").write("".join("l%d\n" % i for i in range(1, 21)))'
al_run -- "$PY" -c '
s = open("f.txt").read().split("\n")
s[1], s[17] = "TWO", "EIGHTEEN"
open("f.txt", "w").write("\n".join(s))' 2>/dev/null
ID=$(last_session)

ui '<Enter><Dump>d<Dump>{<Dump>q<Dump>'
is "$(screen 1 | sed -n '1,21p')" "airlock review ID   diff: T/proj/f.txt
modified: file 0644, 71 bytes -> 77 bytes

a and d decide the hunk marked >, A and D the whole file

diff --git aT/proj/f.txt bT/proj/>
index 86bba90..aad6ecb 100644
--- aT/proj/f.txt
+++ bT/proj/f.txt
> [+] @@ -1,5 +1,5 @@
 l1
-l2
+TWO
 l3
 l4
 l5
  [+] @@ -15,6 +15,6 @@ l14
 l15
 l16
 l17
-l18" "the diff: each hunk's decision, > on the hunk under the cursor, > on a cut line"
check "the status row names the hunk under the cursor" grep -q '^hunk 1 of 2: approved; approved: allow write' <(screen 1)
check "d denies it and says what the file is now" \
	grep -q '^hunk 1 of 2 denied; the file: approved in part (hunks 2 of 2)$' <(screen 2)
check "and the cursor moves to hunk 2" grep -q '^> \[+\] @@ -15,6 +15,6 @@ l14$' <(screen 2)
check "{ goes back to hunk 1, marked denied" grep -q '^> \[-\] @@ -1,5 +1,5 @@$' <(screen 3)
check "its status row says so" grep -q '^hunk 1 of 2: denied; approved in part (hunks 2 of 2)' <(screen 3)
is "$(screen 4 | sed -n '2,3p')" " [+]          v T/proj/                      +1 -0 ?0 !0
 [~]   mod      f.txt                                                     +2 -2" \
	"the list marks the file approved in part, under its directory"

# Denying its other hunk denies the whole file: the directory's row and the title count it.
ui '<Enter>}d<Dump>q<Dump>'
check "d on the last approved hunk denies the file" grep -q '^hunk 2 of 2 denied; the file: denied$' <(screen 1)
is "$(screen 2 | sed -n '1,3p')" "airlock review ID (exit 0)  [Changes 1: +0 -1 ?0 !0]  Commands 1
 [-]          v T/proj/                      +0 -1 ?0 !0
 [-]   mod      f.txt                                                     +2 -2" \
	"the tree counts it denied"

# Approved whole again, then one hunk denied: the file stays approved, but q still asks.
ui 'a'
ui '<Enter>dqq<Dump>y'
check "q asks first after a hunk's decision alone" \
	grep -q '| You changed 1 decision and did not commit.' <(screen 1)

done_testing
