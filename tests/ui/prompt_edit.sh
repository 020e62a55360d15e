#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The prompt's rule, edited before it is saved (tmux, a real terminal): 'r' proposes the rule,
# 'e' opens it for editing (Backspace, Ctrl-U, typed text; Esc drops the edit), y saves what
# was typed; an edit the rules parser refuses is not saved, the prompt says why and opens it
# again; the program's hostile argument is shown escaped while it is edited; the file written
# is one that `airlock rules check` takes.
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
RULES=$XDG_CONFIG_HOME/airlock/rules
SOCK=$T/tmux.sock
tm() { tmux -S "$SOCK" "$@"; }
trap 'tm kill-server 2>/dev/null; cleanup_scratch' EXIT
tm new-session -d -s keep "sleep 900"
S=none
n_sessions=0
screen() { tm capture-pane -p -J -t "$S" -S -100 2>/dev/null; }
wait_screen() { wait_for 20 sh -c 'tmux -S "$1" capture-pane -p -J -t "$2" -S -100 | grep -qE -- "$3"' _ "$SOCK" "$S" "$1"; }
start() {
	[ "$S" = none ] || tm kill-session -t "$S" 2>/dev/null
	n_sessions=$((n_sessions + 1))
	S=case$n_sessions
	tm new-session -d -s "$S" -x 120 -y 35 "cd '$W' && $1; echo EXIT=\$?; sleep 60"
}
keys() { tm send-keys -t "$S" "$@"; }

printf 'ask exec /usr/bin/touch\n' >"$T/ask.rules"
cat >"$T/prog.py" <<'PY'
import subprocess, sys
for name in sys.argv[1:]:
    try:
        subprocess.run(["touch", name])
        print("ran", repr(name), flush=True)
    except PermissionError:
        print("denied", repr(name), flush=True)
PY
AL="'$AIRLOCK' run --review never -r '$T/ask.rules' -- '$PY' '$T/prog.py'"

# Edit the exact rule into a glob over the arguments, and save it.
start "$AL report.txt"
check "the question appears" wait_screen 'wants +exec touch report.txt'
keys r
check "r proposes the exact command" wait_screen 'rule: \.\.\. exec /usr/bin/touch report\.txt \$'
check "... and offers to edit it" wait_screen '\[e\] edit'
keys e
check "e opens the rule for editing" wait_screen 'edit the rule: Enter to keep it'
# Backspace x12 takes "report.txt $" off; then a glob.
for _ in $(seq 12); do keys BSpace; done
keys -l '*.txt'
check "the edit shows on the line" wait_screen 'rule: \.\.\. exec /usr/bin/touch \*\.txt$'
keys Enter
check "Enter keeps the edit and shows the rule" wait_screen '^  rule: \.\.\. exec /usr/bin/touch \*\.txt'
check "... without p, which an edit replaces" wait_screen 'deny \(\[e\] edit, Esc: back\) >'
keys y
check "y saves it" wait_screen "saved to $RULES"
check "the program ran" wait_screen "^ran 'report.txt'"
check "done" wait_screen "^EXIT=0"
is "$(cat "$RULES" 2>/dev/null)" 'allow exec /usr/bin/touch *.txt' "the edited rule is what the file holds"
"$AIRLOCK" rules check "$RULES" >/dev/null 2>&1
is "$?" 0 "the saved file passes rules check"
rm -rf "$XDG_CONFIG_HOME"

# A bad edit: the parser's message, the editor again; Esc drops the edit; then n saves a deny.
start "$AL other.txt"
check "the question appears (bad edit)" wait_screen 'wants +exec touch other.txt'
keys r e C-u
keys -l 'bogus words here'
keys Enter
check "the bad rule is shown" wait_screen '^  rule: \.\.\. bogus words here'
keys y
check "a rule the parser refuses is not saved, and says why" wait_screen "not saved: .*'bogus'"
check "... the rule is open for editing again" wait_screen 'rule: \.\.\. bogus words here$'
check "... and the question is still up (no answer yet)" sh -c "! tmux -S '$SOCK' capture-pane -p -t '$S' | grep -q \"^ran 'other.txt'\""
keys C-u
keys -l 'exec /usr/bin/touch other.*'
keys Enter n
check "n saves the fixed rule as a deny" wait_screen "saved to $RULES"
check "... and denies" wait_screen "^denied 'other.txt'"
check "done (bad edit)" wait_screen "^EXIT=0"
is "$(cat "$RULES" 2>/dev/null)" 'deny exec /usr/bin/touch other.*' "only the fixed rule is saved"
rm -rf "$XDG_CONFIG_HOME"

# Esc leaves an edit as it was; the proposed rule is saved.
start "$AL kept.txt"
check "the question appears (Esc)" wait_screen 'wants +exec touch kept.txt'
keys r e
keys -l 'zzz'
keys Escape
check "Esc shows the rule as it was" wait_screen '^  rule: \.\.\. exec /usr/bin/touch kept\.txt \$ *$'
keys e
keys -l 'yyy'
keys Enter
check "an edit kept" wait_screen '^  rule: \.\.\. exec /usr/bin/touch kept\.txt \$yyy'
proposed() { screen | grep -cE '^  rule: \.\.\. exec /usr/bin/touch kept\.txt \$ *$'; }
before=$(proposed)
keys Escape
keys r
check "... is dropped by Esc back to the question: r proposes the rule again" \
	wait_for 20 sh -c "[ \$(tmux -S '$SOCK' capture-pane -p -J -t '$S' -S -100 | grep -cE '^  rule: \.\.\. exec /usr/bin/touch kept\.txt \\\$ *\$') -gt $before ]"
check "... with p again" wait_screen '\[p\] any arguments, \[e\] edit'
keys y
check "done (Esc)" wait_screen "^EXIT=0"
is "$(cat "$RULES" 2>/dev/null)" 'allow exec /usr/bin/touch kept.txt $' "the proposed rule is saved"
rm -rf "$XDG_CONFIG_HOME"

# The countdown goes on while the rule is edited, and its ticks keep the text being typed.
start "'$AIRLOCK' run --review never --ask-timeout 20s -r '$T/ask.rules' -- '$PY' '$T/prog.py' tick.txt"
check "the question appears (countdown)" wait_screen 'wants +exec touch tick.txt'
keys r e
keys -l 'abc'
check "the countdown ticks on the line being edited, the text kept" \
	wait_screen '\(denied in 1[0-7]s\) rule: \.\.\. exec /usr/bin/touch tick\.txt \$abc$'
keys Escape n
check "done (countdown)" wait_screen "^EXIT=0"

# The program chose the argument: an escape sequence in it is shown escaped, and a rule that
# would have to hold it is not offered (r does nothing), so none reaches the editor.
start "$AL \$'\\e[31mred'"
check "the question shows the argument escaped" wait_screen 'wants +exec touch \\e\[31mred'
if screen | grep -qF '[r] save'; then not_ok "no rule is offered for it"; else ok "no rule is offered for it"; fi
keys r e n
check "r and e do nothing there; n answers" wait_screen "^denied '.x1b.31mred'"
check "done (hostile)" wait_screen "^EXIT=0"

done_testing
