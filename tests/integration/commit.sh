#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# `airlock commit` and `airlock undo`: every kind of change lands on the host as the sandbox saw
# it, undo restores a checksummed tree exactly, conflicts are refused unless --force, a symlink
# planted on the host is never written through, and PATH arguments commit exactly those paths.
. "$(dirname "$0")/../lib.sh"
require_sandbox

TREE=$TESTS_DIR/helpers/tree.py
sum() { "$PY" "$TREE" sum "$@"; }

cat >"$T/tool.py" <<'PY'
import os, shutil, sys

cmd, root = sys.argv[1], sys.argv[2]
if cmd == "change":
    os.chdir(root)
    open("a.txt", "a").write("four\n")
    open("new.txt", "w").write("created\n")
    os.makedirs("newdir/deeper"); open("newdir/deeper/inner.txt", "w").write("inner\n")
    os.symlink("../a.txt", "newdir/link")
    os.unlink("del.txt")
    shutil.rmtree("deldir")
    shutil.rmtree("repl"); os.mkdir("repl"); open("repl/fresh.txt", "w").write("fresh\n")
    os.unlink("f2d"); os.mkdir("f2d"); open("f2d/inside", "w").write("inside\n")
    shutil.rmtree("d2f"); open("d2f", "w").write("was a directory\n")
    os.unlink("f2l"); os.symlink("a.txt", "f2l")
    os.unlink("link"); os.symlink("b.txt", "link")
    os.chmod("run.sh", 0o755)
    os.chmod("private", 0o700)
    open("exec.sh", "w").write("#!/bin/sh\n"); os.chmod("exec.sh", 0o750)
elif cmd == "two":
    open(os.path.join(root, "one.txt"), "a").write("changed one\n")
    open(os.path.join(root, "two.txt"), "a").write("changed two\n")
elif cmd == "sub":
    open(os.path.join(root, "sub/x.txt"), "w").write("from the sandbox\n")
    open(os.path.join(root, "sub/new.txt"), "w").write("new in sub\n")
elif cmd == "add":
    open(os.path.join(root, "added.txt"), "w").write("added in the sandbox\n")
PY
tool() { "$PY" "$T/tool.py" "$@"; }

# --- every kind of change, then undo -----------------------------------------------------
P=$T/proj
mkdir -p "$P/deldir/sub" "$P/repl" "$P/d2f/in" "$P/private"
printf 'one\ntwo\nthree\n' >"$P/a.txt"
echo b >"$P/b.txt"
ln -s a.txt "$P/link"
echo doomed >"$P/del.txt"
echo x >"$P/deldir/x"
echo y >"$P/deldir/sub/y"
echo same >"$P/repl/same.txt"
echo gone >"$P/repl/gone.txt"
echo in >"$P/d2f/in/f"
echo file >"$P/f2d"
echo file >"$P/f2l"
printf '#!/bin/sh\n' >"$P/run.sh"
chmod 0644 "$P/run.sh"
chmod 0755 "$P/private"
echo secret >"$P/private/s"
touch -d '2020-01-02 03:04:05' "$P/a.txt" "$P/b.txt" "$P/deldir/x"
before=$(sum "$P" --dirtimes)

al_run -- sh -c '"$1" "$2" change "$3" && "$1" "$4" sum "$3"' _ "$PY" "$T/tool.py" "$P" "$TREE" \
	>"$T/want" 2>"$T/err"
is "$?" 0 "the agent changes the project inside the sandbox"
is "$(sum "$P" --dirtimes)" "$before" "nothing reached the host during the run"

# The project is outside the starting directory: every change waits for a decision.
"$AIRLOCK" commit >"$T/out" 2>"$T/err"
is "$?" 0 "commit without --all or paths exits 0"
is "$(sum "$P" --dirtimes)" "$before" "... and applies nothing: no change is approved"
check "... and says so" grep -q "no approved changes to commit" "$T/out"
check "... with what it left" grep -qE "left in session .*: [0-9]+ undecided, 0 flagged, 0 denied" \
	"$T/err"

"$AIRLOCK" commit --all >"$T/out" 2>"$T/err"
is "$?" 0 "commit --all exits 0"
sed 's/^/# /' "$T/err"
got=$(sum "$P")
if [ "$got" = "$(cat "$T/want")" ]; then ok "the host equals the sandbox's view after commit"; else
	not_ok "the host equals the sandbox's view after commit"
	diff <(echo "$got") "$T/want" | sed 's/^/# /'
fi
check "a deleted directory is gone with its children" test ! -e "$P/deldir"
check "a replaced directory's old children are not resurrected" test ! -e "$P/repl/gone.txt"
is "$(stat -c %a "$P/exec.sh")" 750 "an added file keeps its mode"
id=$(last_session)
is "$("$AIRLOCK" show --json "$id" | json_get - 'j["state"]')" committed \
	"the session is committed"
is "$(json_get "$AIRLOCK_STATE_DIR/sessions/$id/meta.json" 'len(j["commit"]["paths"]) == j["commit"]["applied"] > 0 and j["commit"]["user"] != ""')" \
	True "meta.json records the committed paths and the user"
check "the event log records the commit" grep -q '"class":"commit"' "$AIRLOCK_STATE_DIR/sessions/$id/events.jsonl"
"$AIRLOCK" verify "$id" >/dev/null 2>&1
is "$?" 0 "the record still verifies after commit"

"$AIRLOCK" commit --all >/dev/null 2>&1
is "$?" 1 "a second commit of the same session is refused"

"$AIRLOCK" undo >"$T/out" 2>"$T/err"
is "$?" 0 "undo exits 0"
sed 's/^/# /' "$T/err"
got=$(sum "$P" --dirtimes)
if [ "$got" = "$before" ]; then ok "undo restores the tree exactly (content, modes, every mtime, links)"; else
	not_ok "undo restores the tree exactly (content, modes, every mtime, links)"
	diff <(echo "$got") <(echo "$before") | sed 's/^/# /'
fi
is "$("$AIRLOCK" show --json "$id" | json_get - 'j["state"]')" undone "the session is undone"
check "the event log records the undo" grep -q '"class":"undo"' "$AIRLOCK_STATE_DIR/sessions/$id/events.jsonl"
"$AIRLOCK" verify "$id" >/dev/null 2>&1
is "$?" 0 "the record still verifies after undo"
"$AIRLOCK" undo >/dev/null 2>&1
is "$?" 1 "undo with nothing to undo exits 1"

# --- conflict: the host file changed after the run ---------------------------------------
C=$T/conf
mkdir -p "$C"
echo one >"$C/one.txt"
echo two >"$C/two.txt"
al_run -- "$PY" "$T/tool.py" two "$C" >/dev/null 2>&1
echo "edited on the host" >"$C/one.txt"
"$AIRLOCK" commit --all >"$T/out" 2>"$T/err"
is "$?" 1 "a conflict refuses the commit"
check "the conflict names the path" grep -qF "$C/one.txt" "$T/err"
is "$(cat "$C/one.txt")" "edited on the host" "the host edit is kept"
is "$(cat "$C/two.txt")" "two" "nothing else was applied either"
"$AIRLOCK" commit --all --force >"$T/out" 2>"$T/err"
is "$?" 0 "--force applies the conflicting change"
is "$(cat "$C/one.txt")" "$(printf 'one\nchanged one')" "the sandbox's version is on the host"
is "$(cat "$C/two.txt")" "$(printf 'two\nchanged two')" "and the other change too"

# --- commit PATH: exactly those paths ----------------------------------------------------
Q=$T/paths
mkdir -p "$Q"
echo one >"$Q/one.txt"
echo two >"$Q/two.txt"
al_run -- "$PY" "$T/tool.py" two "$Q" >/dev/null 2>&1
"$AIRLOCK" commit "$Q/one.txt" "$Q/nowhere" >/dev/null 2>"$T/err"
is "$?" 1 "a PATH matching no change is refused"
is "$(cat "$Q/one.txt")" one "and nothing is applied"
(cd "$Q" && "$AIRLOCK" commit one.txt) >/dev/null 2>"$T/err"
is "$?" 0 "commit of a relative PATH exits 0"
is "$(cat "$Q/one.txt")" "$(printf 'one\nchanged one')" "the named path is committed"
is "$(cat "$Q/two.txt")" two "the other path is not"
id=$(last_session)
is "$(json_get "$AIRLOCK_STATE_DIR/sessions/$id/meta.json" '(j["commit"]["applied"], j["commit"]["left"], [p.rsplit("/", 1)[1] for p in j["commit"]["left_paths"]])')" \
	"(1, 1, ['two.txt'])" "meta.json records what was applied and what was left out"
"$AIRLOCK" show "$id" >"$T/show"
check "show says who committed how many, and how many were left out" \
	grep -qE "^committed .* by $(id -un): 1 applied, 1 left out" "$T/show"
check "the event log has the left-out path" \
	grep -q '"class":"commit","op":"modified","target":"'"$Q"'/two.txt","decision":"skip"' \
	"$AIRLOCK_STATE_DIR/sessions/$id/events.jsonl"
check "... and the commit's summary with its user" \
	grep -q '"class":"commit","op":"end","decision":"committed","by":"person","user":"'"$(id -un)"'","applied":1,"left":1' \
	"$AIRLOCK_STATE_DIR/sessions/$id/events.jsonl"

# --- symlink attack: a directory on the way is now a symlink -------------------------------
S=$T/sym
mkdir -p "$S/sub" "$T/outside"
echo x >"$S/sub/x.txt"
al_run -- "$PY" "$T/tool.py" sub "$S" >/dev/null 2>&1
mv "$S/sub" "$S/sub.moved"
ln -s "$T/outside" "$S/sub"
"$AIRLOCK" commit --all --force >"$T/out" 2>"$T/err"
is "$?" 1 "commit refuses a path through a planted symlink, even with --force"
is "$(ls -A "$T/outside")" "" "nothing was written through the symlink"
is "$(cat "$S/sub.moved/x.txt")" x "the moved directory is untouched"

# --- a host symlink at the destination of an added file (opendot #145) -------------------
A=$T/add
mkdir -p "$A" "$T/outside2"
al_run -- "$PY" "$T/tool.py" add "$A" >/dev/null 2>&1
ln -s "$T/outside2/target" "$A/added.txt"
"$AIRLOCK" commit --all >"$T/out" 2>"$T/err"
is "$?" 1 "an added file over a symlink that appeared is a conflict"
check "the symlink's target was not created" test ! -e "$T/outside2/target"
"$AIRLOCK" commit --all --force >"$T/out" 2>"$T/err"
is "$?" 0 "--force replaces the symlink itself"
check "the target still was not written through" test ! -e "$T/outside2/target"
check "the added file is a regular file now" test -f "$A/added.txt" -a ! -L "$A/added.txt"
"$AIRLOCK" undo >/dev/null 2>&1
is "$?" 0 "undo of the forced commit exits 0"
is "$(readlink "$A/added.txt")" "$T/outside2/target" "undo puts the symlink back"

# --- an interrupted commit (journal without its end) is rolled back ---------------------
I=$T/intr
mkdir -p "$I/d"
echo one >"$I/one.txt"
echo two >"$I/two.txt"
echo in >"$I/d/in"
before=$(sum "$I" --dirtimes)
al_run -- "$PY" -c 'import os, shutil, sys
open(sys.argv[1] + "/one.txt", "a").write("more\n")
os.unlink(sys.argv[1] + "/two.txt")
shutil.rmtree(sys.argv[1] + "/d")' "$I" >/dev/null 2>&1
id=$(last_session)
"$AIRLOCK" commit --all >/dev/null 2>&1
is "$?" 0 "commit before the simulated crash exits 0"
J=$AIRLOCK_STATE_DIR/sessions/$id/commit/journal.jsonl
grep -v '"op":"end"' "$J" >"$T/j" && cat "$T/j" >"$J"
"$AIRLOCK" commit --all >"$T/out" 2>&1
is "$?" 0 "the next commit rolls the unfinished one back and commits again"
check "it says it rolled back" grep -q "rolling back" "$T/out"
sed 's/^/# /' "$T/out"
grep -v '"op":"end"' "$J" >"$T/j" && cat "$T/j" >"$J"
"$AIRLOCK" undo >/dev/null 2>&1
is "$?" 0 "undo of an unfinished commit exits 0"
is "$(sum "$I" --dirtimes)" "$before" "undo rolls back every step the journal shows done"

# A hidden path is never committed: the program never saw what it holds (~/.ssh), and an
# empty directory of its making must not replace the host's keys.
H=$T/hidden
mkdir -p "$H/keys" && echo KEY >"$H/keys/id"
al_run --hide "$H/keys" -- sh -c "mkdir -p '$H/keys'; echo evil > '$H/keys/authorized_keys'; echo ok > '$H/plain'" >/dev/null 2>&1
"$AIRLOCK" commit --all >"$T/out" 2>&1
is "$?" 0 "commit --all with changes under a hidden path exits 0"
check "it says the hidden path is never committed" grep -q "never committed" "$T/out"
is "$(ls "$H/keys")" id "the hidden directory on the host is untouched"
is "$(cat "$H/plain" 2>/dev/null)" ok "the other changes are applied"

# --- read-only directories: their modes are set last, and undo opens them again first --------
O=$T/ro
mkdir -p "$O/r"
echo in >"$O/r/in.txt"
before=$(sum "$O" --dirtimes)
al_run -- sh -c 'cd "$1" && echo new >r/new.txt && chmod 555 r &&
	mkdir n && echo f >n/f && chmod 555 n' _ "$O" >/dev/null 2>&1
"$AIRLOCK" commit --all >"$T/out" 2>"$T/err"
is "$?" 0 "commit into a directory the program made read-only exits 0"
sed 's/^/# /' "$T/err"
is "$(stat -c %a "$O/r") $(cat "$O/r/new.txt")" "555 new" "... the file is in, the mode is set"
is "$(stat -c %a "$O/n") $(cat "$O/n/f")" "555 f" "... also in a new read-only directory"
"$AIRLOCK" undo >"$T/out" 2>"$T/err"
is "$?" 0 "undo of it exits 0"
sed 's/^/# /' "$T/err"
is "$(sum "$O" --dirtimes)" "$before" "undo restores the tree exactly"
chmod -R u+w "$O"

# --- symlink attack two levels up: a grandparent directory is now a symlink -----------------
G=$T/grand
mkdir -p "$G/a/b" "$T/outside3/b"
echo x >"$G/a/b/x.txt"
echo "outside" >"$T/outside3/b/x.txt"
al_run -- sh -c "echo changed >'$G/a/b/x.txt'; echo new >'$G/a/b/new.txt'" >/dev/null 2>&1
mv "$G/a" "$G/a.moved"
ln -s "$T/outside3" "$G/a"
"$AIRLOCK" commit --all --force >"$T/out" 2>"$T/err"
is "$?" 1 "commit refuses paths below a grandparent swapped for a symlink, even with --force"
is "$(cat "$T/outside3/b/x.txt")" outside "the file outside is untouched"
check "nothing was added outside" test ! -e "$T/outside3/b/new.txt"

# --- a deleted directory swapped for a symlink: --force removes the symlink, not its target -----
W=$T/wdel
mkdir -p "$W/d" "$T/outside4"
echo x >"$W/d/x"
echo keep >"$T/outside4/keep"
al_run -- rm -r "$W/d" >/dev/null 2>&1
mv "$W/d" "$W/d.moved"
ln -s "$T/outside4" "$W/d"
"$AIRLOCK" commit --all >"$T/out" 2>"$T/err"
is "$?" 1 "a deleted directory that became a symlink is a conflict"
"$AIRLOCK" commit --all --force >"$T/out" 2>"$T/err"
is "$?" 0 "--force deletes the symlink itself"
check "the symlink is gone" test ! -L "$W/d"
is "$(cat "$T/outside4/keep")" keep "its target is untouched"

# --- the command line: the same [ID] [--] [PATH...] rules as diff ----------------------------
R=$T/args
mkdir -p "$R"
echo one >"$R/one.txt"
echo two >"$R/two.txt"
# A whole ID ends in a random hex digit: run until one ends in a letter, which made a whole ID
# look like a path once.
for try in $(seq 40); do
	al_run -- "$PY" "$T/tool.py" two "$R" >/dev/null 2>&1
	id=$(last_session)
	case $id in *[a-f]) break ;; esac
done
full=$id
"$AIRLOCK" commit --run x "$id" --all >/dev/null 2>"$T/err"
is "$?" 2 "--run takes a number"
"$AIRLOCK" commit "$id" --run 3 >/dev/null 2>"$T/err"
is "$?" 1 "--run N without that deferred command is refused"
check "... saying so" grep -q "no deferred command 3 in session $id" "$T/err"
"$AIRLOCK" commit "$id" --all "$R/one.txt" >/dev/null 2>&1
is "$?" 2 "--all and paths together are a usage error"
"$AIRLOCK" commit "$id" "$R" -- "$R/one.txt" >/dev/null 2>&1
is "$?" 2 "two arguments before -- are a usage error (as for diff)"
"$AIRLOCK" diff "$id" "$R" -- "$R/one.txt" >/dev/null 2>&1
is "$?" 2 "... and for diff"
"$AIRLOCK" commit --bogus >/dev/null 2>&1
is "$?" 2 "an unknown option is a usage error"
"$AIRLOCK" commit -- last >/dev/null 2>"$T/err"
is "$?" 1 "after --, 'last' is a path"
check "... not changed in the session" grep -q "last: not changed in session" "$T/err"
"$AIRLOCK" diff -- last >/dev/null 2>"$T/err"
is "$?" 1 "... for diff too"
(cd "$R" && "$AIRLOCK" diff "$full" -- one.txt) >"$T/one.patch"
is "$?" 0 "diff takes a whole ID (ending in a hex digit) before --"
check "... and the relative path after it" grep -qF "b$R/one.txt" "$T/one.patch"
(cd "$R" && "$AIRLOCK" commit "$full" -- one.txt) >/dev/null 2>"$T/err"
is "$?" 0 "commit takes the same arguments"
is "$(cat "$R/one.txt")" "$(printf 'one\nchanged one')" "... and commits that path"
is "$(cat "$R/two.txt")" two "... only"
"$AIRLOCK" undo "$full" extra >/dev/null 2>&1
is "$?" 2 "undo takes no path"
"$AIRLOCK" undo --force "$full" >/dev/null 2>&1
is "$?" 0 "undo --force ID exits 0"
# --run N: deferred commands run on the host after the files, each at most once.
D=$T/deferred
mkdir -p "$D"
printf 'defer exec /usr/bin/touch\n' >"$T/defer.rules"
(cd "$D" && al_run -r "$T/defer.rules" -- sh -c 'echo file >f.txt; touch later-1; touch later-2') \
	>/dev/null 2>&1
did=$(last_session)
check "the deferred commands did not run in the sandbox" test ! -e "$D/later-1"
"$AIRLOCK" commit "$did" --all --run 3 >/dev/null 2>"$T/err"
is "$?" 1 "--run with a number the session did not defer is refused"
check "... before anything is applied" test ! -e "$D/f.txt"
"$AIRLOCK" commit "$did" --all --run 2 >"$T/out" 2>"$T/err"
is "$?" 0 "commit --all --run 2 exits 0"
check "the files are committed" test -f "$D/f.txt"
check "deferred command 2 ran on the host after them" test -e "$D/later-2"
check "deferred command 1 did not" test ! -e "$D/later-1"
"$AIRLOCK" commit "$did" --run 2 >/dev/null 2>"$T/err"
is "$?" 1 "a deferred command runs at most once"
check "... saying so" grep -q "deferred command 2 of session $did ran already" "$T/err"
"$AIRLOCK" commit "$did" --run 1 >/dev/null 2>"$T/err"
is "$?" 0 "--run N alone runs it on a committed session"
check "deferred command 1 ran" test -e "$D/later-1"
"$AIRLOCK" verify "$did" >/dev/null 2>&1
is "$?" 0 "the record verifies after the deferred runs"

# Progress of a commit and an undo of thousands of files: one updating line on a terminal only.
M=$T/many
mkdir -p "$M"
(cd "$M" && al_run -- "$PY" -c '
for i in range(2000):
    open("f%04d" % i, "w").write("x\n")') >/dev/null 2>&1
mid=$(last_session)
if command -v script >/dev/null; then
	AIRLOCK_PROGRESS_DELAY=0 script -qec "'$AIRLOCK' commit $mid --all" /dev/null >"$T/tty" 2>&1
	check "commit on a terminal: the files are there" test -f "$M/f1999"
	check "commit on a terminal: progress ends at 100% and done" \
		grep -qF "airlock: committing: 100% (2000/2000), done." "$T/tty"
	check "... on one line rewritten with carriage returns" grep -qF $'\rairlock: committing:' "$T/tty"
	AIRLOCK_PROGRESS_DELAY=0 script -qec "'$AIRLOCK' undo $mid" /dev/null >"$T/tty" 2>&1
	check "undo on a terminal: the files are gone" test ! -e "$M/f1999"
	check "undo on a terminal: progress ends at 100% and done" \
		grep -qF "airlock: undoing: 100% (2000/2000), done." "$T/tty"
else
	skip "progress on a terminal" "no script(1)"
fi
AIRLOCK_PROGRESS_DELAY=0 "$AIRLOCK" commit "$mid" --all >/dev/null 2>"$T/err"
is "$?" 0 "commit of 2000 files again, stderr not a terminal"
check "... without progress" sh -c "! grep -q 'committing:' '$T/err'"

"$AIRLOCK" commit --help >"$T/help"
is "$?" 0 "commit --help exits 0"
check "... and describes --run and --force" grep -q -- "--run N.*--force\|--force.*--run N" "$T/help"
"$AIRLOCK" undo --help >"$T/help"
check "undo --help describes --force" grep -q -- "--force" "$T/help"

done_testing
