#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The review's change list as a tree, headless (see review.sh for the mode): directories fold
# and unfold with counts, the header totals them, filters, ] and [ find undecided changes
# behind folds, generated noise starts folded, Esc never quits, q asks before leaving
# decisions uncommitted, one key acting on more than a screenful asks first; small things:
# the exit status, mode changes, sizes, hidden paths that cannot be approved, the commit
# dialog's border. Golden screens at 80x24.
. "$(dirname "$0")/../lib.sh"
require_sandbox

P=$T/proj
mkdir -p "$P"
printf 'one\n' >"$P/a.txt"
printf 'mode\n' >"$P/m.sh"
chmod 644 "$P/m.sh"
cat >"$T/agent.py" <<'PY'
import os, sys
t = sys.argv[1]
open("a.txt", "a").write("two\n")
os.chmod("m.sh", 0o755)
open("big.bin", "wb").write(b"\0" * 3000000)
os.makedirs("src/lib")
open("src/x.c", "w").write("int x;\n")
open("src/lib/y.c", "w").write("int y;\n")
os.makedirs("__pycache__")
for i in range(30):
    open("__pycache__/m%02d.cpython-311.pyc" % i, "wb").write(b"\0\1")
os.makedirs("node_modules/pkg")
for i in range(40):
    open("node_modules/pkg/f%02d.js" % i, "w").write("x\n")
os.makedirs("secret")
open("secret/key", "w").write("k\n")
open(".envrc", "w").write("export X=1\n")
open(t + "/out1.txt", "w").write("1\n")
open(t + "/out2.txt", "w").write("2\n")
sys.exit(3)
PY
cd "$P" || exit 1
al_run --hide "$P/secret" -- "$PY" "$T/agent.py" "$T" 2>"$T/run.err"
ID=$(last_session)

. "$TESTS_DIR/ui/screen.bash"
rows() { screen "$1" | sed -n "$2"; }
# Decisions are saved in the session as they are made: most steps start from the rules again.
fresh() { rm -f "$AIRLOCK_STATE_DIR/sessions/$ID/decisions.jsonl"; }

fresh
ui '<Dump>'
is "$(screen 1 | sed 's|/tmp/airlock-test.*|/tmp/airlock-test|')" "airlock ID (exit 3)  [Changes 85: +80 -2 ?3 !0]  Commands 1
 [*]          v T/                          +80 -2 ?3 !0
 [?]   add      out1.txt                                                  +1 -0
 [?]   add      out2.txt                                                  +1 -0
 [*]            v proj/                                            +80 -2 ?1 !0
 [?]   add        .envrc                                         flagged  +1 -0
 [+]   mod        a.txt                                                   +1 -0
 [+]   add        big.bin                                               2.9 MiB
 [+]   mode       m.sh                                      0644 -> 0755  +0 -0
 [+]   dir+       > __pycache__/ (generated)           31 changes  +31 -0 ?0 !0
 [+]   dir+       > node_modules/ (generated)          42 changes  +42 -0 ?0 !0
 [-]   dir+       v secret/                                         +0 -2 ?0 !0
 [-]   add          key                                                   +1 -0
 [+]   dir+       v src/                                            +4 -0 ?0 !0
 [+]   add          x.c                                                   +1 -0
 [+]   dir+         v lib/                                          +2 -0 ?0 !0
 [+]   add            y.c                                                 +1 -0




undecided: ask write /** (<defaults>:3)  [2/16]
written by: $PY T/agent.py /tmp/airlock-test
Enter open  f filter  Tab views  a approve  d deny  c commit  ? help  q quit" \
	"the tree: counts per directory and in the header, the exit status, noise folded"


# Fold and unfold: Enter and l/Right open a folded directory, h/Left fold it.
fresh
ui 'l<Dump>/__pycache__<Enter><Enter><Dump>h<Dump><Right><Dump><Left><Dump>'
check "l on a change says what it is for" grep -q '^l unfolds a directory' <(screen 1)
check "Enter unfolds a folded directory" grep -qE '^ \[\+\]   dir\+       v __pycache__/ \(generated\) +\+31 -0 \?0 !0$' <(screen 2)
check "... and shows what it holds" grep -qE '^ \[\+\]   add          m00.cpython-311.pyc +binary$' <(screen 2)
check "h folds it again" grep -q '> __pycache__/' <(screen 3)
check "... and hides what it holds" bash -c "! grep -q m00 <(awk 'n==2' RS='--\n' '$T/dump')"
check "Right unfolds it and goes to its first line" grep -q '^approved: allow write ./\*\* (<defaults>:4)  \[10/46\]' <(screen 4)
check "Left folds the directory of the line selected and selects it" grep -q '^dir-added, T/proj/__pycache__/: 31 changes: 31 approved' <(screen 5)

# The counts follow the decisions; the header totals them.
fresh
ui 'a<Dump>'
check "approving a change counts it in its directories" grep -qE '^ \[\*\]          v T/ +\+81 -2 \?2 !0$' <(screen 1)
check "... and in the header" grep -q '^airlock ID (exit 3)  \[Changes 85: +81 -2 ?2 !0\]' <(screen 1)

# f cycles the filters, shown in the title.
fresh
ui 'f<Dump>f<Dump>f<Dump>f<Dump>'
is "$(rows 1 '1,6p')" "(exit 3)  [Changes 85, only undecided: +80 -2 ?3 !0]  Commands 1
 [*]          v T/                          +80 -2 ?3 !0
 [?]   add      out1.txt                                                  +1 -0
 [?]   add      out2.txt                                                  +1 -0
 [*]            v proj/                                            +80 -2 ?1 !0
 [?]   add        .envrc                                         flagged  +1 -0" "f shows only the undecided changes"
check "then only conflicts: none here" grep -q '^nothing to show: only conflicts' <(screen 2)
is "$(rows 3 '1,4p')" "(exit 3)  [Changes 85, only flagged: +80 -2 ?3 !0]  Commands 1
 [*]          v T/                          +80 -2 ?3 !0
 [*]            v proj/                                            +80 -2 ?1 !0
 [?]   add        .envrc                                         flagged  +1 -0" "then only the flagged ones"
check "then all again" grep -q 'showing every change' <(screen 4)
check "... with the title as it was" grep -q '^airlock ID (exit 3)  \[Changes 85: +80' <(screen 4)

# ] and [ go to the next and previous undecided change, unfolding what hides it.
fresh
ui ']<Dump>]<Dump>]<Dump>[<Dump>'
check "] goes to the next undecided change" grep -q '\[3/16\]' <(screen 1)
check "... and the next" grep -q '^undecided: flagged' <(screen 2)
check "... and says when there is none below" grep -q '^no undecided change below' <(screen 3)
check "[ goes back" grep -q '\[3/16\]' <(screen 4)
fresh
ui 'jjjh<Dump>kj<Dump>]<Dump>'
check "h on a change folds its directory" grep -qE '^ \[\*\]            > proj/ +83 changes  \+80 -2 \?1 !0$' <(screen 1)
check "... and selects it" grep -q '^T/proj/: 83 changes: 80 approved, 2 denied, 1 undecided' <(screen 1)
check "j stops on a folded directory's line" grep -q '^T/proj/: 83 changes' <(screen 2)
check "] unfolds the directory that hides the next undecided change" grep -q '^undecided: flagged' <(screen 3)
check "... and its line is shown" grep -q '^ \[?\]   add        .envrc' <(screen 3)

# Esc closes views and never quits the review.
fresh
ui '<Esc><Dump>/a.txt<Enter><Enter><Esc><Dump>'
check "Esc on the list says it does not quit" grep -q '^Esc closes views; q quits' <(screen 1)
check "Esc closes the diff" grep -q '^ \[+\]   mod        a.txt' <(screen 2)
check "the review went on after both" test "$(grep -c '^--$' "$T/dump")" = 2

# q with decisions made asks first, and says they are saved.
fresh
ui 'd<Dump>q<Dump>n<Dump>qy'
check "q after a decision asks first" grep -q '| You changed 1 decision and did not commit.' <(screen 2)
check "... saying the decisions are kept" grep -q '| Decisions on changes are saved in the session:' <(screen 2)
check "n goes back to the review" grep -q '^still reviewing: c commits' <(screen 3)
check "y leaves without committing" grep -q 'nothing committed' "$T/err"
ui '<Dump>q'
check "the decision was saved: the next review starts from it" grep -q '^denied (you, earlier' <(screen 1)
check "q with no decision changed quits at once" test "$(grep -c '^--$' "$T/dump")" = 1

# One key acting on more than a screenful asks first, with the count.
fresh
ui '/node_modules<Enter>d<Dump>n<Dump>dy<Dump>'
is "$(rows 1 '9,16p')" " [+]   mode       m.sh                                      0644 -> 0755  +0 -0
 [+--------------------------------------------------------------------------+0
 [| Deny 42 changes below T/proj/node_modules/        |0
 [| (one key acting on more than a screenful asks first)                     |0
 [|                                                                          |0
 [| Go on? y: yes, n: no                                                     |0
 [+--------------------------------------------------------------------------+0
 [+]   dir+         v lib/                                          +2 -0 ?0 !0" \
	"d on a directory of 42 changes asks in a bordered box"
check "n changes nothing" grep -q '^nothing changed' <(screen 2)
check "... the counts say so" grep -q 'node_modules/ (generated) .*+42 -0 ?0 !0' <(screen 2)
check "y denies them all" grep -q 'node_modules/ (generated) .*+0 -42 ?0 !0' <(screen 3)
fresh
ui 'D<Dump>n<Dump>'
check "D asks with the count" grep -q '| Deny all 85 changes' <(screen 1)
check "... and n leaves them" grep -q 'node_modules/ (generated) .*+42 -0 ?0 !0' <(screen 2)

# A change inside a hidden path cannot be approved, and the message says why.
fresh
ui '/secret/key<Enter>a<Dump>/secret/<Enter>a<Dump>'
check "a on a hidden path's change says why not" grep -q '^cannot be approved: inside a path hidden in the sandbox' <(screen 1)
check "... and it stays denied" grep -q '^ \[-\]   add          key' <(screen 1)
check "a on its directory leaves both out" grep -q '^2 of them cannot be approved' <(screen 2)

# Mode changes and sizes read as people say them.
fresh
ui '/m.sh<Enter><Enter><Dump><Esc>/big.bin<Enter><Enter><Dump>'
check "a mode change reads 0644 -> 0755" grep -q '^mode-changed: file 0644 -> 0755, 5 bytes -> 5 bytes$' <(screen 1)
check "a size is human-readable" grep -q '^added: file 0644, 0 bytes -> 2.9 MiB$' <(screen 2)

# The commit's summary: a box with a border, blanking what is under it.
fresh
ui 'c<Dump>n'
check "the summary has a border" grep -qE '\+-{70,}\+' <(screen 1)
check "... with the summary in it" grep -qE '\| Apply 80 approved changes of session ID to the host\. +\|' <(screen 1)
check "... and what cannot be undone" grep -q "| 'airlock undo' takes the changes to files back." <(screen 1)
inside() { screen 1 | awk '/\+-{70,}\+/ { n++; next } n == 1'; }
check "... and nothing of the list inside it" bash -c "! grep -q ' add ' <(echo \"\$1\")" _ "$(inside)"

# A resize draws the tree at the new size.
fresh
ui '<Resize:100x30><Dump><Resize:60x16><Dump>'
is "$(screen 1 | wc -l)" 30 "a resize to 100x30 draws 30 rows"
check "... with the counts at the right edge" grep -qE '^ \[\*\]            v proj/ {60,}\+80 -2 \?1 !0$' <(screen 1)
is "$(screen 2 | wc -l)" 16 "and to 60x16, 16 rows"
check "... the tree still there" grep -q '^ \[?\]   add      out1.txt' <(screen 2)

# Opening shows a line of progress on a terminal when it takes long (here: at once).
if command -v script >/dev/null; then
	printf q | AIRLOCK_UI_LOADING_MS=0 timeout 60 script -qfec "env TERM=xterm '$AIRLOCK' review $ID" \
		"$T/typescript" >/dev/null 2>&1
	check "opening the review on a terminal shows its progress" \
		grep -aq "opening the review of session $ID: reading its changes and event log (" "$T/typescript"
	check "... and erases it before the review draws" \
		grep -aq $'event log ([0-9.]*s)\e\[K\r\e\[K' "$T/typescript"
	check "... and nothing without a terminal" bash -c "! grep -q 'opening the review' '$T/err'"
else
	skip "progress while opening" "script(1) is not installed"
fi

done_testing
