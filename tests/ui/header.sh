#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The review's title with a real session ID (18 characters; the other UI tests show it as
# "ID"): it fits the width, dropping the least useful parts first and never the counts of the
# list shown; headless at 120, 80, 60 and 40 columns, through a resize, over a diff, and on a
# real terminal (tmux) at 80x24 resized to 120x35 and back.
. "$(dirname "$0")/../lib.sh"
require_sandbox

in_project
al_run -- "$PY" -c '
import subprocess
for i in range(12):
    open("f%02d.txt" % i, "w").write("x\n")
subprocess.run(["/bin/true"])' 2>/dev/null
ID=$(last_session)
is "${#ID}" 18 "a session ID has 18 characters"

# The dumped screens as they are: the ID is not replaced here.
raw() { awk -v n="$1" '$0 == "--" { k++; next } k == n - 1' "$T/dump"; }
title() { raw "$1" | sed -n 1p; }
widest() { raw "$1" | awk '{ if (length($0) > w) w = length($0) } END { print w + 0 }'; }

ui_at() {
	printf '%s' "$2" >"$T/keys"
	: >"$T/dump"
	AIRLOCK_UI_SCRIPT=$T/keys AIRLOCK_UI_DUMP=$T/dump AIRLOCK_UI_SIZE=$1 LC_ALL=C.UTF-8 \
		"$AIRLOCK" review "$ID" >"$T/out" 2>"$T/err"
}

ui_at 120x35 '<Dump>'
is "$(title 1)" "airlock review $ID (exit 0)  [Changes 12: +12 -0 ?0 !0]  Commands 2  Connections 0" \
	"at 120 columns the whole title"
ui_at 100x30 'f<Dump>'
is "$(title 1)" "airlock review $ID (exit 0)  [Changes 12, only undecided: +12 -0 ?0 !0]  Commands 2" \
	"at 100 with a filter, the empty view's count goes first"

ui_at 80x24 '<Dump>f<Dump><Tab><Dump>'
is "$(title 1)" "airlock $ID (exit 0)  [Changes 12: +12 -0 ?0 !0]  Commands 2" \
	"at 80 columns: the real ID and every count that matters"
is "$(title 2)" "(exit 0)  [Changes 12, only undecided: +12 -0 ?0 !0]  Commands 2" \
	"with a filter the words and the ID go, not the counts"
is "$(title 3)" "airlock review $ID (exit 0)  Changes 12  [Commands 2]" \
	"the commands view: its count in brackets"
is "$(widest 1)" 80 "nothing is drawn past column 80"

ui_at 60x20 '<Dump>'
is "$(title 1)" "(exit 0)  [Changes 12: +12 -0 ?0 !0]  Commands 2" "at 60: the ID goes too"
ui_at 40x20 '<Dump>'
is "$(title 1)" "[Changes 12: +12 -0 ?0 !0]  Commands 2" "at 40: the counts stay"
ui_at 26x20 '<Dump>'
is "$(title 1)" "[Changes 12: +12 -0 ?0 !0]" "at 26: only the counts of the list shown"

# A resize makes the title again for the new width.
ui_at 120x35 '<Resize:80x24><Dump><Resize:50x20><Dump><Resize:120x35><Dump>'
is "$(title 1)" "airlock $ID (exit 0)  [Changes 12: +12 -0 ?0 !0]  Commands 2" \
	"resized to 80 columns"
is "$(title 2)" "(exit 0)  [Changes 12: +12 -0 ?0 !0]  Commands 2" "to 50"
is "$(title 3)" "airlock review $ID (exit 0)  [Changes 12: +12 -0 ?0 !0]  Commands 2  Connections 0" \
	"and back to 120"

# Over a diff, the session's part of the title makes room for the file's path.
ui_at 120x35 '<Enter><Dump>'
is "$(title 1)" "airlock review $ID   diff: $P/f00.txt" "over a diff: the session, then the path"
ui_at 60x20 '<Enter><Dump>'
is "$(title 1)" "diff: $P/f00.txt" "narrow, the path alone, whole"

# --- on a real terminal -------------------------------------------------------------------
if ! command -v tmux >/dev/null; then
	skip "the title in tmux" "tmux is not installed"
	done_testing
	exit
fi
SOCK=$T/tmux.sock
tags+=("$SOCK")
tm() { tmux -S "$SOCK" -f /dev/null "$@"; }
row1() { tm capture-pane -p -t ui 2>/dev/null | sed -n 1p | sed 's/ *$//'; }
row1_is() { [ "$(row1)" = "$1" ]; }
tm new-session -d -s ui -x 80 -y 24 \
	"cd '$P' && env AIRLOCK_STATE_DIR='$AIRLOCK_STATE_DIR' LANG=C.UTF-8 TERM=screen '$AIRLOCK' review $ID"
want80="airlock $ID (exit 0)  [Changes 12: +12 -0 ?0 !0]  Commands 2"
if wait_for 10 row1_is "$want80"; then ok "tmux 80x24: the title fits with the real ID"; else
	not_ok "tmux 80x24: the title fits with the real ID"
	diag "got: '$(row1)'"
fi
tm resize-window -t ui -x 120 -y 35
check "tmux resized to 120x35: the whole title" \
	wait_for 5 row1_is "airlock review $ID (exit 0)  [Changes 12: +12 -0 ?0 !0]  Commands 2  Connections 0"
tm resize-window -t ui -x 80 -y 24
check "tmux back to 80x24" wait_for 5 row1_is "$want80"
tm send-keys -t ui q
tm kill-server 2>/dev/null

done_testing
