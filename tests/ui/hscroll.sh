#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The diff view scrolls sideways as less does (Right or >, Left or <, half a screen): a line
# cut at the right edge ends in '>', one with text scrolled away to the left starts with '<',
# and every line shows the same columns of its text. The scroll never starts inside an
# escape (\e, \u202e, \xff) or a wide character: what the edge would cut is left blank, and
# nothing the program wrote reaches the terminal raw. Headless at 80x24, then in tmux.
. "$(dirname "$0")/../lib.sh"
require_sandbox
. "$TESTS_DIR/ui/screen.bash"

in_project
# In the diff each line has a '+' first: a line's text starts at column 1. Scrolled by 40,
# the screen's first column is the '<' and its second shows column 41 of the line.
cat >"$T/agent.py" <<'PY'
lines = [
    b"0123456789" * 20,                      # digits: column c shows (c - 1) % 10
    b"a" * 39 + b"\x1b" + b"Z" * 100,        # \e on columns 40-41: cut by the edge
    b"a" * 38 + b"\x1b" + b"Y" * 100,        # \e on columns 39-40: scrolled away whole
    "\u5bbd".encode() * 100,                 # wide: columns 41-42 are one character
    b"x" + "\u5bbd".encode() * 100,          # wide: columns 40-41 are one: cut
    b"b" * 37 + "\u202e".encode() + b"R" * 100,  # \u202e on columns 38-43: cut
    b"c" * 40 + b"\xc2\x9b\xff\x07" + b"Q" * 100,  # C1 CSI, a byte not UTF-8, BEL
    b"short",
]
open("long.txt", "wb").write(b"\n".join(lines) + b"\n")
PY
al_run -- "$PY" "$T/agent.py" 2>/dev/null
ID=$(last_session)

ui '<Enter><Dump>><Dump><Right><Dump><Left><Left><Dump><Left><Dump>'
# row N of screen S
row() { screen "$1" | grep -m1 -- "$2"; }
d10=0123456789
is "$(row 1 '^+0123')" "+$d10$d10$d10$d10$d10$d10${d10}01234567>" \
	"a long line is cut with > in the last column"
is "$(row 1 '^+short')" "+short" "a short one is not"
is "$(row 2 '^<0123')" "<$d10$d10$d10$d10$d10$d10${d10}01234567>" \
	"> scrolls half a screen: '<' then column 41 on"
is "$(row 2 '^< Z')" "< $(printf 'Z%.0s' {1..77})>" "an escape the edge cuts is left blank, not cut"
is "$(row 2 '^<Y')" "<$(printf 'Y%.0s' {1..78})>" "one scrolled away whole leaves nothing of it"
is "$(row 2 '^<宽')" "<$(printf '宽%.0s' {1..39})>" "wide characters from their first column"
is "$(row 2 '^< 宽')" "< $(printf '宽%.0s' {1..38}) >" \
	"one the edge cuts is left blank (and none is cut by the '>')"
is "$(row 2 '^<   R')" "<   $(printf 'R%.0s' {1..75})>" "a bidi control's escape the edge cuts, blank"
is "$(row 2 'u009b')" "<\\u009b\\xff\\x07$(printf 'Q%.0s' {1..64})>" \
	"controls and bytes just past the edge are escaped whole"
check "a line with nothing left to show has its '<'" grep -qx '<' <(screen 2)
check "the status row says from which column" grep -q 'from column 41' <(screen 2)
is "$(row 3 '^<0123')" "<$d10$d10$d10$d10$d10$d10${d10}01234567>" "Right scrolls as > does"
check "... to column 81" grep -q 'from column 81' <(screen 3)
is "$(row 4 '^+0123')" "+$d10$d10$d10$d10$d10$d10${d10}01234567>" "Left twice: back to the start"
check "Left at the start says so" grep -q '^the lines are shown from their start' <(screen 5)
check "no raw ESC, BEL or C1 control reaches the screen" \
	bash -c "! LC_ALL=C grep -q \$'[\\x1b\\x07]\\|\\xc2[\\x80-\\x9f]' '$T/dump'"
check "nor the bidi override" bash -c "! grep -q \$'\\xe2\\x80\\xae' '$T/dump'"

# As far right as the longest line needs, and no further.
ui "<Enter>$(printf '>%.0s' {1..8})<Dump>"
check "> stops at the end of the longest line" \
	grep -q '^the end of the longest line is shown' <(screen 1)
check "... with its last columns on the screen" grep -q '89>*$' <(screen 1)

# In the list, Left and Right still fold and unfold.
ui '<Left><Dump><Right><Dump>'
check "Left folds the directory in the list" grep -q '> T/proj/' <(screen 1)
check "Right unfolds it" grep -q 'v T/proj/' <(screen 2)

# --- on a real terminal ---------------------------------------------------------------
if ! command -v tmux >/dev/null; then
	skip "the scroll in tmux" "tmux is not installed"
	done_testing
	exit
fi
SOCK=$T/tmux.sock
tags+=("$SOCK")
tm() { tmux -S "$SOCK" -f /dev/null "$@"; }
pane_has() { tm capture-pane -p -t ui 2>/dev/null | grep -q -- "$1"; }
tm new-session -d -s ui -x 80 -y 24 \
	"cd '$P' && env AIRLOCK_STATE_DIR='$AIRLOCK_STATE_DIR' LANG=C.UTF-8 TERM=screen '$AIRLOCK' review $ID"
check "tmux 80x24: the review opens" wait_for 10 pane_has 'long.txt'
tm send-keys -t ui Enter
check "the diff's long line is cut with '>'" wait_for 5 pane_has "^+${d10}.*01234567>$"
tm send-keys -t ui Right
check "Right scrolls it" wait_for 5 pane_has "^<${d10}.*01234567>$"
check "... the cut escape left blank" pane_has '^< ZZZ'
tm resize-window -t ui -x 120 -y 35
check "resized to 120 columns: the line is cut at the new edge" \
	wait_for 5 pane_has "^<$d10$d10$d10$d10$d10$d10$d10$d10$d10$d10${d10}01234567>$"
tm send-keys -t ui '<'
check "< scrolls back" wait_for 5 pane_has "^+${d10}.*01234567>$"
tm send-keys -t ui q q
tm kill-server 2>/dev/null

done_testing
