#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The review's diff view on a real terminal, as a pager: tmux runs the review, the test types
# keys with send-keys and polls capture-pane for what must appear (never a fixed sleep).
# Space and b page, } and { go from hunk to hunk (the cursor hunk marked >), a and d decide
# the hunk under it, J and K go from file to file, the search's matches are highlighted, a
# line cut at the right edge ends in '>', and Space still toggles in the list (the tree's
# rows: long.txt under its directory).
. "$(dirname "$0")/../lib.sh"
require_sandbox

if ! command -v tmux >/dev/null; then
	skip "tmux tests" "tmux is not installed"
	done_testing
	exit
fi

SOCK=$T/tmux.sock
tags+=("$T/tmux.")
tm() { tmux -S "$SOCK" -f /dev/null "$@"; }
pane() { tm capture-pane -p -J -t ui 2>/dev/null; }
pane_has() { pane | grep -qF -- "$1"; }
keys() { tm send-keys -t ui "$@"; }
finished() { [ -s "$T/rc" ]; }

in_project
"$PY" -c '
open("long.txt", "w").write("".join("line %d\n" % i for i in range(1, 101)))
open("other.txt", "w").write("other\n")'
al_run -- "$PY" -c '
s = open("long.txt").read().split("\n")
s[4], s[49], s[94] = "FIVE", "FIFTY", "NINETY-FIVE"
s[51] = "wide " + "x" * 150 + " end"
open("long.txt", "w").write("\n".join(s))
open("other.txt", "a").write("more\n")' 2>/dev/null
ID=$(last_session)

# 100x30: 26 lines of text between the title and the three status rows.
tm new-session -d -s ui -x 100 -y 30 \
	"cd '$P' && env AIRLOCK_STATE_DIR='$AIRLOCK_STATE_DIR' LANG=C.UTF-8 TERM=screen '$AIRLOCK' review $ID; echo \$? >'$T/rc'"
tm set-option -t ui remain-on-exit on >/dev/null
check "the review opens" wait_for 10 pane_has "[Changes 2: +2 -0 ?0 !0]"
keys Enter
check "Enter opens long.txt's diff at its first hunk" wait_for 5 pane_has "> [+] @@ -2,7 +2,7 @@"
check "the status row counts the hunks" pane_has "hunk 1 of 3: approved"
cut_marked() { tm capture-pane -p -t ui | grep -q '^+wide x*>$'; }
check "a line cut at the right edge ends in >" cut_marked
keys Space
# (to the last screen when less than a screen is left: the line shown first is past 10)
paged() { pane | grep -qE '\[lines [1-9][0-9]+-[0-9]+ of'; }
check "Space pages down" wait_for 5 paged
keys b
check "b pages up" wait_for 5 pane_has "[lines 1-26 of"
keys '}'
check "} goes to the next hunk" wait_for 5 pane_has "> [+] @@ -47,"
keys '{'
check "{ goes back" wait_for 5 pane_has "> [+] @@ -2,7 +2,7 @@"
keys d
check "d denies the hunk under the cursor" wait_for 5 pane_has "hunk 1 of 3 denied; the file: approved in part (hunks 2, 3 of 3)"
check "and moves to the next" wait_for 5 pane_has "> [+] @@ -47,"
keys / NINETY Enter
check "/ finds a line" wait_for 5 pane_has "+NINETY-FIVE"
hl() { tm capture-pane -e -p -t ui | grep -qP '\e\[(?:[0-9;]*;)?7(?:;[0-9;]*)?m(?:\e\[[0-9;]*m)*NINETY'; }
check "the match is highlighted (reverse video)" wait_for 5 hl
keys J
check "J shows the next change's diff" wait_for 5 pane_has "diff: $P/other.txt"
keys K
check "K the previous one" wait_for 5 pane_has "diff: $P/long.txt"
keys q
check "q goes back to the list, long.txt approved in part" wait_for 5 pane_has "[~]   mod      long.txt"
keys Space
check "Space toggles in the list" wait_for 5 pane_has "[-]   mod      long.txt"
keys q
check "q asks first: a decision changed" wait_for 5 pane_has "Quit without committing? y: yes, n: no"
keys y
check "y ends the review" wait_for 10 finished
tm kill-server 2>/dev/null

done_testing
