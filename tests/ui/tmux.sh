#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The review and the replay on a real terminal: tmux runs them, the test types keys with
# send-keys and polls capture-pane for what must appear (never a fixed sleep). The review
# approves one file, denies another and commits, then the host is checked; the replay moves
# through events and opens a diff; a SIGTERM during the review gives the terminal back.
. "$(dirname "$0")/../lib.sh"
require_sandbox

if ! command -v tmux >/dev/null; then
	skip "tmux tests" "tmux is not installed"
	done_testing
	exit
fi

SOCK=
tags+=("$T/tmux.")
tm() { tmux -S "$SOCK" -f /dev/null "$@"; }
pane() { tm capture-pane -p -J -S -100 -t ui 2>/dev/null; }
pane_has() { pane | grep -qF -- "$1"; }
# start CMD: run CMD in a fresh 100x30 window of a new tmux server (a server being killed
# still answers on its socket for a while); the pane stays after CMD exits, and $T/rc gets
# its exit status.
nstart=0
start() {
	rm -f "$T/rc"
	[ -n "$SOCK" ] && tm kill-server 2>/dev/null
	nstart=$((nstart + 1))
	SOCK=$T/tmux.$nstart.sock
	tm new-session -d -s ui -x 100 -y 30 \
		"cd '$P' && env AIRLOCK_STATE_DIR='$AIRLOCK_STATE_DIR' LANG=C.UTF-8 TERM=screen $1; echo \$? >'$T/rc'"
	tm set-option -t ui remain-on-exit on >/dev/null
}
keys() { tm send-keys -t ui "$@"; }
finished() { [ -s "$T/rc" ]; }

P=$T/proj
mkdir -p "$P"
echo one >"$P/a.txt"
cd "$P" || exit 1
al_run -- "$PY" -c '
open("keep.txt", "w").write("keep me\n")
open("drop.txt", "w").write("drop me\n")
open("a.txt", "a").write("two\n")' 2>/dev/null
ID=$(last_session)

# --- replay: move through the events, open a diff -----------------------------------------
start "'$AIRLOCK' replay $ID"
check "the replay opens" wait_for 10 pane_has "airlock replay $ID"
check "with the run's events" wait_for 5 pane_has "openat $P/keep.txt"
keys f f
check "f f shows the write events" wait_for 5 pane_has "class: write"
keys j
check "j moves to the next event" wait_for 5 pane_has "[2/3]"
keys Enter
check "Enter on a write event opens its diff" wait_for 5 pane_has "+++ b$P/drop.txt"
keys q q
check "q q leaves the replay" wait_for 10 finished
is "$(cat "$T/rc" 2>/dev/null)" 0 "the replay exits 0"
is "$(tm display-message -p -t ui '#{alternate_on}')" 0 "the terminal is restored"

# --- review: deny one, approve another, commit ---------------------------------------------
start "'$AIRLOCK' review $ID"
if wait_for 10 pane_has "[Changes 3:"; then ok "the review opens in tmux"; else
	not_ok "the review opens in tmux"
	pane | sed 's/^/# /'
fi
check "the first file is selected, with why it is approved" wait_for 5 pane_has "approved: allow write ./**"
# Sorted: a.txt, drop.txt, keep.txt; the cursor starts on a.txt.
keys j d
check "d denies drop.txt" wait_for 5 pane_has " [-]   add      drop.txt"
keys a
check "a approves keep.txt" wait_for 5 pane_has " [+]   add      keep.txt"
# A resize redraws for the new size: the key hints move to the new last row.
tm resize-window -t ui -x 120 -y 40
last_row_hints() { [ "$(tm capture-pane -p -t ui | sed -n '40p' | cut -c1-10)" = "Enter open" ]; }
check "a resize redraws at the new size" wait_for 5 last_row_hints
# The arrow keys fold and unfold the directory; Esc never quits.
keys Left
check "Left folds the directory" wait_for 5 pane_has "> $P/"
keys Right
check "Right unfolds it" wait_for 5 pane_has "v $P/"
keys Escape
check "Esc on the list does not quit" wait_for 5 pane_has "Esc closes views; q quits"
check "... the review is still open" test ! -s "$T/rc"
keys k Enter
check "Enter shows a.txt's diff" wait_for 5 pane_has "+two"
keys Escape
check "Esc closes the diff" wait_for 5 pane_has "[Changes 3:"
keys c
check "c asks with a summary" wait_for 5 pane_has "Apply 2 approved changes"
check "in a box with a border" pane_has "| Apply 2 approved changes"
check "and the denied one left out" pane_has "Left out: 1 denied, 0 undecided."
keys y
check "y commits and the review ends" wait_for 10 finished
is "$(cat "$T/rc" 2>/dev/null)" 0 "the review exits 0"
if wait_for 5 pane_has "committed 2 changes of session $ID"; then ok "the commit's output is on the terminal"; else
	not_ok "the commit's output is on the terminal"
	pane | sed "s/^/# /"
fi
is "$(tm display-message -p -t ui '#{alternate_on}')" 0 "the terminal is back from the alternate screen"
is "$(cat "$P/keep.txt" 2>&1)" "keep me" "the approved file is on the host"
check "the denied file is not" test ! -e "$P/drop.txt"
is "$(cat "$P/a.txt")" "one
two" "the approved modification is applied"

# --- airlock run on a terminal opens the review when the program ends ------------------------
start "'$AIRLOCK' run -- '$PY' -c 'open(\"ran.txt\", \"w\").write(\"x\\n\"); raise SystemExit(3)'"
check "airlock run opens the review on a terminal" wait_for 20 pane_has "add      ran.txt"
check "its title shows how the program ended" pane_has "(exit 3)"
keys d q
check "q after a decision asks first" wait_for 5 pane_has "You changed 1 decision and did not commit."
keys y
check "q ends it" wait_for 10 finished
is "$(cat "$T/rc" 2>/dev/null)" 3 "airlock run still exits with the program's status"
check "nothing was committed" test ! -e "$P/ran.txt"

# --- a signal during the review --------------------------------------------------------------
al_run -- "$PY" -c 'open("later.txt", "w").write("x\n")' 2>/dev/null
ID2=$(last_session)
start "'$AIRLOCK' review $ID2"
check "a second review opens" wait_for 10 pane_has "[Changes 1:"
pid=$(pgrep -f "airlock review $ID2" | head -1)
kill -TERM "$pid" 2>/dev/null
check "SIGTERM ends the review" wait_for 10 finished
is "$(tm display-message -p -t ui '#{alternate_on}')" 0 "and the terminal is restored"
check "nothing was committed" test ! -e "$P/later.txt"

# The terminal goes away (the pane's server killed: its tty hangs up): the review ends.
start "'$AIRLOCK' review $ID2"
check "the review opens again" wait_for 10 pane_has "[Changes 1:"
pid=$(pgrep -f "airlock review $ID2" | head -1)
tm kill-server 2>/dev/null
SOCK=
gone_pid() { ! kill -0 "$pid" 2>/dev/null; }
check "a review whose terminal hung up exits instead of spinning" wait_for 10 gone_pid
kill -9 "$pid" 2>/dev/null

# --- o: the program's last output, one key away from the review ---------------------------
# The marker is made by the program, so that the review's own lines (which show its
# command line) cannot contain it.
start "'$AIRLOCK' run -- sh -c 'echo OUTPUT-MARK-\$((40 + 2)); echo x >o.txt'"
check "run opens the review when the program ends" wait_for 15 pane_has "[Changes 1:"
check "the review covers the program's output" sh -c "! tmux -S '$SOCK' -f /dev/null capture-pane -p -t ui | grep -q OUTPUT-MARK-42"
keys o
check "o shows the terminal as the program left it" wait_for 5 pane_has "OUTPUT-MARK-42"
check "... saying how to go back" wait_for 5 pane_has "any key returns to the review"
is "$(tm display-message -p -t ui '#{alternate_on}')" 0 "... off the review's screen"
keys x
check "a key returns to the review" wait_for 5 pane_has "[Changes 1:"
check "... which took the key for nothing else" test ! -s "$T/rc"
keys q
check "q then ends it" wait_for 10 finished
check "nothing was committed" test ! -e "$P/o.txt"
tm kill-server 2>/dev/null

done_testing
