#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# `airlock commit` and `airlock undo`: every kind of change lands on the host as the sandbox saw
# it, undo restores a checksummed tree exactly, conflicts are refused unless --force, a symlink
# planted on the host is never written through, and PATH arguments commit exactly those paths.
. "$(dirname "$0")/../lib.sh"
require_sandbox

cat >"$T/tool.py" <<'PY'
import hashlib, os, shutil, stat, sys

def manifest(root, times):
    out = []
    for dirpath, dirs, files in os.walk(root):
        for name in dirs + files:
            p = os.path.join(dirpath, name)
            rel = os.path.relpath(p, root)
            st = os.lstat(p)
            mode = "%o" % stat.S_IMODE(st.st_mode)
            if stat.S_ISLNK(st.st_mode):
                out.append("%r l %r" % (rel, os.readlink(p)))
            elif stat.S_ISDIR(st.st_mode):
                out.append("%r d %s" % (rel, mode))
            else:
                h = hashlib.sha256(open(p, "rb").read()).hexdigest()
                t = " %d" % st.st_mtime_ns if times else ""
                out.append("%r f %s %s%s" % (rel, mode, h, t))
    return "\n".join(sorted(out))

cmd, root = sys.argv[1], sys.argv[2]
if cmd == "manifest":
    print(manifest(root, False))
elif cmd == "sum":
    print(manifest(root, True))
elif cmd == "change":
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
    print(manifest(root, False))
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
before=$(tool sum "$P")

al_run -- "$PY" "$T/tool.py" change "$P" >"$T/want" 2>"$T/err"
is "$?" 0 "the agent changes the project inside the sandbox"
is "$(tool sum "$P")" "$before" "nothing reached the host during the run"

"$AIRLOCK" commit >/dev/null 2>"$T/usage.err"
is "$?" 2 "commit without --all or paths is a usage error"
check "the usage error says to name paths or --all" grep -q -- "--all" "$T/usage.err"

"$AIRLOCK" commit --all >"$T/out" 2>"$T/err"
is "$?" 0 "commit --all exits 0"
sed 's/^/# /' "$T/err"
got=$(tool manifest "$P")
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
is "$(json_get "$AIRLOCK_STATE_DIR/sessions/$id/meta.json" 'len(j["commit"]["paths"]) > 0 and j["commit"]["user"] != ""')" \
	True "meta.json records the committed paths and the user"
check "the event log records the commit" grep -q '"class":"commit"' "$AIRLOCK_STATE_DIR/sessions/$id/events.jsonl"
"$AIRLOCK" verify "$id" >/dev/null 2>&1
is "$?" 0 "the record still verifies after commit"

"$AIRLOCK" commit --all >/dev/null 2>&1
is "$?" 1 "a second commit of the same session is refused"

"$AIRLOCK" undo >"$T/out" 2>"$T/err"
is "$?" 0 "undo exits 0"
sed 's/^/# /' "$T/err"
got=$(tool sum "$P")
if [ "$got" = "$before" ]; then ok "undo restores the tree exactly (content, modes, mtimes, links)"; else
	not_ok "undo restores the tree exactly (content, modes, mtimes, links)"
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
before=$(tool sum "$I")
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
is "$(tool sum "$I")" "$before" "undo rolls back every step the journal shows done"

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

done_testing
