#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The review, headless: the real binary draws to /dev/null, takes its keys from a script
# (AIRLOCK_UI_SCRIPT) and dumps each screen's text (AIRLOCK_UI_DUMP), compared with what the
# person must see. A real program runs in a real sandbox first; approvals, denials and the
# commit are then checked on the host. Screens are 80x24 unless a test resizes them.
. "$(dirname "$0")/../lib.sh"
require_sandbox

P=$T/proj
mkdir -p "$P"
printf 'one\ntwo\n' >"$P/a.txt"
echo doomed >"$P/del.txt"
cat >"$T/agent.py" <<'PY'
import os, subprocess, sys
out = sys.argv[1]
open("a.txt", "a").write("three\n")
open("new.txt", "w").write("brand new\n")
os.makedirs("sub/deep")
open("sub/deep/f.py", "w").write("print(1)\n")
open("bin.dat", "wb").write(bytes(range(256)))
open("\x1b[31mred\nname", "w").write("\x1b]0;pwned\x07hostile content\n")
os.symlink("a.txt", "link")
os.unlink("del.txt")
open(out, "w").write("outside the project\n")
subprocess.run(["/bin/sh", "-c", "echo from sh > sh.txt"], check=True)
PY
cd "$P" || exit 1
al_run -- "$PY" "$T/agent.py" "$T/outside.txt" 2>"$T/run.err"
check "the program ran" test -s "$T/run.err"
ID=$(last_session)

. "$TESTS_DIR/ui/screen.bash"

ui '<Dump>'
is "$(screen 1 | sed 's|/tmp/airlock-test.*|/tmp/airlock-test|')" "airlock ID (exit 0)  [Changes 11: +10 -0 ?1 !0]  Commands 2
 [*]          v T/                          +10 -0 ?1 !0
 [?]   add      outside.txt                                               +1 -0
 [+]            v proj/                                            +10 -0 ?0 !0
 [+]   add        \\e[31mred\\nname                                         +1 -0
 [+]   mod        a.txt                                                   +1 -0
 [+]   add        bin.dat                                                binary
 [+]   del        del.txt                                                 +0 -1
 [+]   link+      link -> a.txt                                           +1 -0
 [+]   add        new.txt                                                 +1 -0
 [+]   add        sh.txt                                                  +1 -0
 [+]   dir+       v sub/                                            +3 -0 ?0 !0
 [+]   dir+         v deep/                                         +2 -0 ?0 !0
 [+]   add            f.py                                                +1 -0







undecided: ask write /** (<defaults>:3)  [2/13]
written by: $PY T/agent.py /tmp/airlock-test
Enter open  f filter  Tab views  a approve  d deny  c commit  ? help  q quit" \
	"the change list: a tree of directories with counts, kinds, states from the rules and why"

# The hostile name is shown escaped, and nothing the program chose reaches the terminal raw.
check "no escape byte on the screen" bash -c "! grep -q \$'\\x1b' '$T/dump'"
ui 'j<Enter><Dump>'
check "the hostile file's content is escaped in its diff" \
	grep -qF '+\e]0;pwned\x07hostile content' "$T/dump"
check "its name too" grep -qF 'diff: T/proj/\e[31m' <(screen 1)
check "no raw escape or BEL in the diff" bash -c "! grep -q \$'[\\x1b\\x07]' '$T/dump'"

ui 'jj<Enter><Dump>'
is "$(screen 1 | sed -n '1,12p')" "airlock review ID   diff: T/proj/a.txt
modified: file 0644, 8 bytes -> 14 bytes

diff --git aT/proj/a.txt bT/proj/>
index 814f4a4..4cb29ea 100644
--- aT/proj/a.txt
+++ bT/proj/a.txt
@@ -1,2 +1,3 @@
 one
 two
+three" "Enter shows the diff of the selected file (> marks a line cut at the edge)"
check "the diff's status rows say why the file is approved" \
	grep -q '^approved: allow write ./\*\* (<defaults>:4)' <(screen 1)
ui 'jjj<Enter><Dump>'
check "a binary file is summarised, not dumped" grep -q '^Binary content changed (not shown)' <(screen 1)
check "no base85 data" bash -c "! grep -q 'literal 256' '$T/dump'"
ui 'jjjj<Enter><Dump>'
check "a deletion shows what goes" grep -q '^deleted: file 0644, 7 bytes -> 0 bytes$' <(screen 1)
check "and the deleted line" grep -q '^-doomed$' <(screen 1)
ui 'jjjjj<Enter><Dump>'
check "a symlink shows its target" grep -q '^symlink to: a.txt$' <(screen 1)

# Keys: help, search, the views.
ui '?<Dump> <Dump>'
check "? lists the keys" grep -q '^  j, Down        move to the next line' <(screen 1)
check "... Space pages through them" grep -q '^  a              approve the selected change or command; on a directory' <(screen 2)
check "the review's help has no replay keys" bash -c "! grep -q 'show only one class' '$T/dump'"
ui '/new.txt<Enter><Dump>'
is "$(screen 1 | sed -n '22p')" "approved: allow write ./** (<defaults>:4)  [9/13]" \
	"/ selects the first match: new.txt"
ui '<Tab><Dump><Enter><Dump>'
check "Tab shows the commands" grep -q '\[Commands 2\]' <(screen 1)
check "with the files each changed" grep -qE '^ \[\+\] 10 files +.*agent.py' <(screen 1)
check "Enter lists a command's files" grep -q "files changed by: $PY" <(screen 2)
check "with full paths" grep -q '^ \[+\]   add    T/proj/new.txt' <(screen 2)
check "the sh command made sh.txt" grep -qE '^ \[\+\] 1 file +/bin/sh -c echo from sh > sh.txt$' <(screen 1)
UI_SIZE=100x30 ui '<Tab><Tab><Dump>'
check "a second Tab shows the connections" grep -q '\[Connections 0\]' <(screen 1)

# Resizing redraws to the new size.
ui '<Resize:100x30><Dump><Resize:80x24><Dump>'
is "$(screen 1 | wc -l)" 30 "a resize to 100x30 draws 30 rows"
check "and uses the width" grep -qE '^ \[\?\]   add      outside.txt {60,}\+1 -0$' <(screen 1)
is "$(screen 2 | wc -l)" 24 "back to 24 rows"

# q quits without committing; so does the end of the keys.
ui 'q'
check "q leaves the host as it was" test ! -e "$T/outside.txt" -a ! -e "$P/new.txt"
check "and says how to come back" grep -q "nothing committed; 'airlock review $ID'" "$T/err"

# The y/n summary; n goes back.
ui 'c<Dump>n<Dump>'
check "c shows a summary" grep -q 'Apply 10 approved changes of session ID to the host.' <(screen 1)
check "with what is left out" grep -q 'Left out: 0 denied, 1 undecided.' <(screen 1)
check "n does not commit" test ! -e "$P/new.txt"
check "and says so" grep -q 'not committed' <(screen 2)

# A command's decision applies to the changes it made.
ui '<Tab>jd<Tab><Tab><Dump>'
check "denying the sh command denies sh.txt" grep -q '^ \[-\]   add        sh.txt' <(screen 1)
# Decisions are saved in the session as they are made: a review that was quit keeps them.
ui '/sh.txt<Enter><Dump>'
check "the next review starts from the decision" grep -q '^ \[-\]   add        sh.txt' <(screen 1)
check "... saying whose it is" grep -q '^denied (you, earlier; the rules said' <(screen 1)
is "$("$AIRLOCK" show --json "$ID" | json_get - "[c['state'] for c in j['changes'] if c['path'].endswith('/sh.txt')][0]")" \
	denied "show --json gives the saved decision as the state"
# The steps below start from the rules again.
rm -f "$AIRLOCK_STATE_DIR/sessions/$ID/decisions.jsonl"

# Conflicts are flagged before the commit.
echo "edited on the host" >>"$P/a.txt"
ui 'jj<Dump>'
check "a host file changed after the run is marked !" grep -q '^ \[+\] ! mod        a.txt' <(screen 1)
check "and so is its directory" grep -qE '^ \[\+\] !  +v proj/ +\+10 -0 \?0 !1$' <(screen 1)
check "and the status says why" grep -q '^CONFLICT: it changed on the host after the session started' <(screen 1)

# Approve one file, deny another, commit, check the host. The conflicting a.txt is denied.
ui 'ajdc<Dump>y'
check "the summary counts the decisions" grep -q 'Left out: 1 denied, 0 undecided.' <(screen 1)
is "$(cat "$T/outside.txt" 2>&1)" "outside the project" "the approved outside file is committed"
is "$(cat "$P/a.txt")" "one
two
edited on the host" "the denied file keeps the host's content"
is "$(cat "$P/new.txt" 2>&1)" "brand new" "approved changes are committed"
check "the deleted file is gone" test ! -e "$P/del.txt"
is "$(readlink "$P/link")" "a.txt" "the symlink is committed"
check "the review printed the commit" grep -q "committed 10 changes of session $ID" "$T/out"
state=$("$AIRLOCK" show --json "$ID" | json_get - 'j["state"]')
is "$state" committed "the session is committed"
ui '<Dump>'
check "a committed session is not reviewed again" grep -q "already committed" "$T/err"

# `airlock run --review always` opens the review when the program ends.
cd "$P" || exit 1
: >"$T/dump"
printf '<Dump>q' >"$T/keys"
AIRLOCK_UI_SCRIPT=$T/keys AIRLOCK_UI_DUMP=$T/dump LC_ALL=C.UTF-8 \
	"$AIRLOCK" run --review always -- "$PY" -c 'open("late.txt", "w").write("x\n")' \
	>"$T/out" 2>"$T/err"
is "$?" 0 "run --review always exits with the program's status"
ID=$(last_session)
check "the review opened at the end of the run" grep -q "airlock review ID" <(screen 1)
check "with the run's change" grep -q 'add      late.txt' <(screen 1)
check "nothing committed after q" test ! -e "$P/late.txt"
AIRLOCK_UI_SCRIPT=$T/keys AIRLOCK_UI_DUMP=$T/dump "$AIRLOCK" run --review auto -- /bin/true \
	>/dev/null 2>"$T/err" </dev/null
check "--review auto without a terminal does not open it" bash -c "! grep -q airlock '$T/dump' || [ \$(grep -c '^--$' '$T/dump') = 1 ]"
"$AIRLOCK" run --review sometimes -- /bin/true 2>"$T/err"
is "$?" 125 "--review with a bad value is refused"

"$AIRLOCK" review --help >"$T/out"
check "review --help describes the review" grep -q 'q quits without committing' "$T/out"
"$AIRLOCK" review "$ID" </dev/null >/dev/null 2>"$T/err"
is "$?" 1 "review without a terminal refuses"
check "and says why" grep -q 'needs a terminal' "$T/err"


# Deferred commands start undecided; the approved one runs on the host after the commit.
printf 'defer exec touch\n' >"$T/defer.rules"
chmod 600 "$T/defer.rules"
cd "$P" || exit 1
al_run -r "$T/defer.rules" -- "$PY" -c '
import subprocess, sys
open("d.txt", "w").write("x\n")
subprocess.run(["touch", sys.argv[1] + "/first-ran"])
subprocess.run(["touch", sys.argv[1] + "/second-ran"])' "$T" 2>/dev/null
ID=$(last_session)
check "deferred commands did not run in the sandbox" test ! -e "$T/first-ran" -a ! -e "$T/second-ran"
ui '<Tab><Dump>jajdc<Dump>y'
check "they are listed, undecided" grep -qE '^ \[\?\] deferred #1 +touch T/first-ran$' <(screen 1)
check "with their number" grep -qE '^ \[\?\] deferred #2 +touch T/second-ran$' <(screen 1)
check "the summary says one will run" grep -q 'Then run 1 approved deferred command on the host.' <(screen 2)
check "and that what it does cannot be undone" grep -q 'What the deferred commands do on the host cannot be undone.' <(screen 2)
check "the approved one ran on the host after the commit" test -e "$T/first-ran"
check "the denied one did not" test ! -e "$T/second-ran"
check "with the change committed" test -e "$P/d.txt"

done_testing
