#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# `airlock replay`, headless (see review.sh): the timeline of a real run, filtered by class
# and by process; a write event opens its file's diff, an exec event its process's files.
# Screens are 160 columns wide here, so that the scratch directory's paths fit.
. "$(dirname "$0")/../lib.sh"
require_sandbox

P=$T/proj
mkdir -p "$P"
echo one >"$P/a.txt"
cat >"$T/agent.py" <<'PY'
import socket, subprocess
open("a.txt", "a").write("two\n")
subprocess.run(["/bin/sh", "-c", "echo x > b.txt; echo y > \"$(printf 'c\\033[2J.txt')\""])
try:
    socket.create_connection(("10.1.2.3", 80), timeout=1)
except OSError:
    pass
PY
cd "$P" || exit 1
al_run -- "$PY" "$T/agent.py" 2>/dev/null
ID=$(last_session)

. "$TESTS_DIR/ui/screen.bash"
UI_SIZE=160x24
replay_ui() { ui "$1" replay "$ID"; }
# rows N: the event rows of screen N without their times and pids.
rows() { screen "$1" | sed -n '2,21p' | grep -E '^ +[0-9]+ ' | awk '{ $2 = ""; $3 = ""; print }'; }

replay_ui '<Dump>'
is "$(rows 1)" "0   exec allow $PY T/agent.py
1   write allow openat T/proj/a.txt
2   exec allow /bin/sh -c echo x > b.txt; echo y > \"\$(printf 'c\\\\033[2J.txt')\"
3   write allow openat T/proj/b.txt
4   write allow openat T/proj/c\\e[2J.txt
5   connect deny 10.1.2.3:80
6   session finish finish exit 0, 3 changes" "the timeline lists every event with its class, decision and target"
check "the title counts them" grep -q '^airlock replay ID   7 of 7 events$' <(screen 1)
check "the status rows say who decided and which process" \
	grep -qE '^exec execve: allow by <defaults>:[0-9]+, continued  \[1/7\]$' <(screen 1)
check "no escape byte on the screen" bash -c "! grep -q \$'\\x1b' '$T/dump'"

replay_ui 'f<Dump>f<Dump>f<Dump>f<Dump>f<Dump>f<Dump>'
is "$(rows 1 | awk '{print $1}' | tr '\n' ' ')" "0 2 " "f: exec events only"
is "$(rows 2 | awk '{print $1}' | tr '\n' ' ')" "1 3 4 " "f again: write events"
is "$(rows 3 | awk '{print $1}' | tr '\n' ' ')" "5 " "then connect"
check "then dns (none here)" grep -q 'no events match the filter' <(screen 4)
check "then a live session's steps (none here)" grep -q 'no events match the filter' <(screen 5)
is "$(rows 6 | wc -l)" 7 "and all again"

replay_ui 'jjjp<Dump>p<Dump>'
is "$(rows 1 | awk '{print $1}' | tr '\n' ' ')" "2 3 4 " "p: the selected event's process only"
check "the title says so" grep -q 'process: [0-9]' <(screen 1)
is "$(rows 2 | wc -l)" 7 "p again: every process"

replay_ui 'j<Enter><Dump>'
check "Enter on a write event shows its diff" grep -q '^diff --git aT/proj/a.txt bT/proj/a.txt$' <(screen 1)
check "with the line it added" grep -q '^+two$' <(screen 1)
replay_ui 'jj<Enter><Dump><Enter><Dump>'
check "Enter on an exec event lists the files its process wrote" \
	grep -q 'files written by process [0-9]*: /bin/sh -c' <(screen 1)
check "with their kinds" grep -qE '^ added +T/proj/b.txt$' <(screen 1)
check "hostile names escaped" grep -qF 'T/proj/c\e[2J.txt' <(screen 1)
check "and Enter there shows a diff" grep -q '^+x$' <(screen 2)
replay_ui 'Gk<Enter><Dump>'
check "Enter on a connect event says what it opens" grep -q 'Enter opens write and exec events' <(screen 1)
replay_ui '/b.txt<Enter><Dump>n<Dump>'
check "/ searches the timeline" grep -q '\[3/7\]$' <(screen 1)
check "n goes to the next match" grep -q '\[4/7\]$' <(screen 2)
replay_ui '?<Dump>'
check "? lists the replay's keys" grep -q '^  f              show only one class of events' <(screen 1)
check "and not the review's" bash -c "! grep -q 'approve the selected' '$T/dump'"

"$AIRLOCK" discard "$ID" >/dev/null 2>&1
replay_ui 'j<Enter><Dump>'
check "a discarded session's diff is gone, and the replay says why" grep -q 'discarded' <(screen 1)
"$AIRLOCK" replay --help >"$T/out"
check "replay --help describes it" grep -q 'Enter on a write event' "$T/out"

done_testing
