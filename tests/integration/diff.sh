#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# `airlock diff`: a program changes every kind of file in a project (text, binary, symlinks,
# deletions, a deleted and a replaced directory, type and mode changes, hostile names); the
# patch applies with `git apply` to a pristine copy and reproduces what the sandbox saw; PATH
# arguments restrict it; 10,000 changed files diff in well under the time limit.
. "$(dirname "$0")/../lib.sh"
require_sandbox

if ! command -v git >/dev/null; then
	skip "diff applies with git apply" "git is not installed"
	done_testing
	exit
fi

P=$T/proj
NL=$'new\nline.txt'
mkdir -p "$P/deldir/sub" "$P/repl" "$P/d2f/in" "$P/keepdir" "$P/emptyrepl"
printf 'one\ntwo\nthree\n' >"$P/a.txt"
printf 'no newline at the end\n' >"$P/noeol.txt"
printf 'bin\0\1\2\3\377data' >"$P/bin.dat"
ln -s a.txt "$P/link"
ln -s a.txt "$P/l2f"
echo doomed >"$P/del.txt"
echo x >"$P/deldir/x"
echo y >"$P/deldir/sub/y"
printf '#!/bin/sh\necho hi\n' >"$P/run.sh"
chmod 0644 "$P/run.sh"
printf '#!/bin/sh\n' >"$P/unexec.sh"
chmod 0755 "$P/unexec.sh"
echo spaced >"$P/with space.txt"
echo newline >"$P/$NL"
: >"$P/empty.txt"
echo file >"$P/f2d"
echo file >"$P/f2l"
echo in >"$P/d2f/in/f"
echo same >"$P/repl/same.txt"
echo gone >"$P/repl/gone.txt"
echo kept >"$P/keepdir/kept.txt"
echo unchanged >"$P/unchanged.txt"
printf 'echo old\n' >"$P/modx.sh"
chmod 0644 "$P/modx.sh"
printf 'bin\0old' >"$P/binx"
chmod 0644 "$P/binx"
: >"$P/del-empty"
ln -s a.txt "$P/l2d"
ln -s ../a.txt "$P/repl/was-link"
"$PY" -c 'import sys; open(sys.argv[1], "wb").write(b"line\n" * 2000 + b"a NUL \0 late\n")' "$P/latenul.txt"
cp -a "$P" "$T/orig" # the pristine copy, taken before the run

cat >"$T/agent.py" <<'PY'
import hashlib, os, shutil, stat, sys

def manifest(root):
    out = []
    for dirpath, dirs, files in os.walk(root):
        for name in sorted(dirs + files):
            p = os.path.join(dirpath, name)
            rel = os.path.relpath(p, root)
            st = os.lstat(p)
            if stat.S_ISLNK(st.st_mode):
                out.append("%r l %r" % (rel, os.readlink(p)))
            elif stat.S_ISDIR(st.st_mode):
                out.append("%r d" % rel)
            else:
                x = "x" if st.st_mode & 0o100 else "-"
                h = hashlib.sha256(open(p, "rb").read()).hexdigest()
                out.append("%r f %s %s" % (rel, x, h))
    return "\n".join(sorted(out))

if sys.argv[1] == "manifest":
    print(manifest(sys.argv[2]))
    sys.exit(0)
os.chdir(sys.argv[2])
with open("a.txt", "a") as f:
    f.write("four\n")
open("noeol.txt", "w").write("now without a newline")
open("bin.dat", "wb").write(b"bin\0\1\2\4\376data and more \0")
os.unlink("link"); os.symlink("noeol.txt", "link")
os.unlink("l2f"); open("l2f", "w").write("was a symlink\n")
os.unlink("f2l"); os.symlink("a.txt", "f2l")
os.unlink("f2d"); os.mkdir("f2d"); open("f2d/inside", "w").write("inside\n")
shutil.rmtree("d2f"); open("d2f", "w").write("was a directory\n")
os.unlink("del.txt")
shutil.rmtree("deldir")
os.chmod("run.sh", 0o755)
os.chmod("unexec.sh", 0o644)
open("with space.txt", "a").write("more\n")
open("new\nline.txt", "a").write("more\n")
open("empty.txt", "w").write("not empty now\n")
shutil.rmtree("repl"); os.mkdir("repl")
os.rmdir("emptyrepl"); os.mkdir("emptyrepl")
open("repl/same.txt", "w").write("same name, new content\n")
open("repl/fresh.txt", "w").write("fresh\n")
open("modx.sh", "a").write("echo new\n"); os.chmod("modx.sh", 0o755)
open("binx", "ab").write(b"\0new"); os.chmod("binx", 0o755)
os.unlink("del-empty")
os.unlink("l2d"); os.mkdir("l2d"); open("l2d/f", "w").write("in a dir now\n")
open("repl/was-link", "w").write("a file now\n")
open("latenul.txt", "ab").write(b"appended\n")
open("new.txt", "w").write("created\n")
open("new-empty.txt", "w").close()
open("new-bin", "wb").write(bytes(range(256)) * 4)
open("new-noeol", "w").write("x")
open("esc\x1b[31mred\x7f.txt", "w").write("\x1b]0;title\x07\n")
open("new.sh", "w").write("#!/bin/sh\n"); os.chmod("new.sh", 0o755)
os.makedirs("newdir/deeper"); open("newdir/deeper/inner.txt", "w").write("inner\n")
os.symlink("../a.txt", "newdir/link")
print(manifest(sys.argv[2]))
PY

al_run -- "$PY" "$T/agent.py" change "$P" >"$T/want" 2>"$T/err"
is "$?" 0 "the agent changes the project inside the sandbox"
"$AIRLOCK" diff >"$T/patch" 2>"$T/diff.err"
is "$?" 0 "airlock diff exits 0"
is "$(cat "$T/diff.err")" "" "no warning: every change here can be expressed"
check "the patch uses full host paths after a/ and b/" \
	grep -qxF "diff --git a${P}/a.txt b${P}/a.txt" "$T/patch"
check "a binary file is a git binary patch" grep -q '^GIT binary patch$' "$T/patch"
check "a symlink has mode 120000" grep -q '^new file mode 120000$' "$T/patch"
check "chmod +x is a mode change" grep -q '^new mode 100755$' "$T/patch"
check "a name with a newline is quoted" grep -qF "\"a/${P#/}/new\\nline.txt\"" "$T/patch"
check "an escape in a name is quoted" grep -qF '\033[31mred\177.txt' "$T/patch"
if LC_ALL=C grep -q $'\x1b' "$T/patch"; then
	# Content may carry it (this file holds one); names may not.
	if LC_ALL=C grep -a $'\x1b' "$T/patch" | grep -qv '^[+-]'; then
		not_ok "no raw escape outside content lines"
	else ok "no raw escape outside content lines"; fi
else ok "no raw escape outside content lines"; fi

# Applied from a root that mirrors the host: as `cd / && git apply` would on the host.
mkdir -p "$T/mirror$P"
cp -a "$T/orig/." "$T/mirror$P/"
(cd "$T/mirror" && git apply "$T/patch") 2>"$T/apply.err"
is "$?" 0 "git apply (paths relative to /) accepts the patch"
sed 's/^/# /' "$T/apply.err"
got=$("$PY" "$T/agent.py" manifest "$T/mirror$P")
if [ "$got" = "$(cat "$T/want")" ]; then ok "the patched copy equals the sandbox's view"; else
	not_ok "the patched copy equals the sandbox's view"
	diff <(echo "$got") "$T/want" | sed 's/^/# /'
fi

# Applied to a copy of the project alone: strip "a/" and each component of $P.
strip=$(($(tr -cd / <<<"$P" | wc -c) + 1))
cp -a "$T/orig" "$T/copy"
(cd "$T/copy" && git apply -p"$strip" "$T/patch")
is "$?" 0 "git apply -p$strip applies it to a copy of the project"
is "$("$PY" "$T/agent.py" manifest "$T/copy")" "$(cat "$T/want")" \
	"that copy equals the sandbox's view too"

orig=$("$PY" "$T/agent.py" manifest "$P")
is "$orig" "$("$PY" "$T/agent.py" manifest "$T/orig")" "the host project is untouched"

# PATH arguments.
"$AIRLOCK" diff last "$P/a.txt" >"$T/one"
is "$?" 0 "diff of one path exits 0"
is "$(grep -c '^diff --git' "$T/one")" 1 "diff of one path has one file"
check "... that file" grep -qxF "diff --git a${P}/a.txt b${P}/a.txt" "$T/one"
(cd "$P" && "$AIRLOCK" diff -- deldir) >"$T/deldir"
is "$(grep -c '^deleted file mode' "$T/deldir")" 2 "a relative PATH of a deleted directory: its two files"
"$AIRLOCK" diff "$P/deldir/sub" >"$T/sub"
is "$(grep -c '^deleted file mode' "$T/sub")" 1 "a PATH below a deleted directory: the one file there"
(cd "$T/copy" && git apply -p"$strip" -R --check "$T/one")
is "$?" 0 "the one-path patch reverses cleanly on the patched copy"
"$AIRLOCK" diff last "$P/unchanged.txt" "$P/a.txt" >"$T/none" 2>"$T/none.err"
is "$?" 1 "a PATH outside the change set exits 1"
check "... naming it" grep -qF "$P/unchanged.txt: not changed" "$T/none.err"
is "$(wc -c <"$T/none")" 0 "... and writes no patch"
"$AIRLOCK" diff bogus-session-id-that-is-a-path >/dev/null 2>"$T/bogus.err"
is "$?" 1 "a relative PATH that is not changed exits 1"

# On a terminal, names and contents the program chose are shown escaped.
if command -v script >/dev/null; then
	script -qec "'$AIRLOCK' diff" /dev/null >"$T/tty" 2>&1
	if LC_ALL=C grep -q $'\x1b\\]0;title' "$T/tty"; then
		not_ok "on a terminal, an escape sequence in content is not written raw"
	else
		ok "on a terminal, an escape sequence in content is not written raw"
	fi
	check "... but shown escaped" grep -qF '\e]0;title' "$T/tty"
else
	skip "on a terminal, an escape sequence in content is not written raw" "no script(1)"
fi

# What a patch cannot say is warned about, not silently lost.
mkdir -p "$T/w/.git"
echo m >"$T/w/m"
chmod 0644 "$T/w/m"
al_run -- "$PY" -c '
import os, sys
os.chdir(sys.argv[1])
os.mkdir("empty")
os.chmod("m", 0o600)
open(".git/HEAD", "w").write("ref: refs/heads/main\n")' "$T/w" 2>/dev/null
"$AIRLOCK" diff >"$T/w.patch" 2>"$T/w.err"
is "$?" 0 "inexpressible changes still exit 0"
check "an empty new directory is warned about" grep -q "$T/w/empty: an empty directory cannot" "$T/w.err"
check "a 0644 -> 0600 change is warned about" grep -q "$T/w/m: the mode change 0644 -> 0600" "$T/w.err"
check "a file in .git is warned about" grep -q "1 files of the patch are inside a .git" "$T/w.err"

# --stat, --name-status and --relative, against git's own view of the same change.
G=$T/repo
mkdir -p "$G/sub/deeper"
(
	cd "$G" && git init -q && printf 'a\nb\nc\n' >a.txt && seq 1 300 >long.txt &&
		echo x >del.txt && printf '\0bin' >b.bin && echo s >sub/deeper/s.txt &&
		ln -s a.txt lnk && echo m >mode.sh && chmod 0644 mode.sh && git add . &&
		git -c user.name=t -c user.email=t@t commit -qm init
)
cp -a "$G" "$T/repo2"
(cd "$G" && al_run -- sh -c 'echo d >>a.txt; seq 5 400 >long.txt; rm del.txt
	printf "\0bin2x" >b.bin; echo n >new.txt; echo t >>sub/deeper/s.txt
	rm lnk; echo file >lnk; chmod +x mode.sh') 2>/dev/null
(cd / && "$AIRLOCK" diff --relative) >"$T/rel.patch"
is "$?" 0 "diff --relative exits 0"
check "--relative: paths below the session's directory" grep -qxF "diff --git a/a.txt b/a.txt" "$T/rel.patch"
(cd "$T/repo2" && git apply "$T/rel.patch")
is "$?" 0 "git apply in a copy of the directory takes the --relative patch without -p"
(cd "$T/repo2" && git add -A && git diff --cached --stat) >"$T/git.stat"
(cd "$T/repo2" && git diff --cached --name-status) >"$T/git.ns"
"$AIRLOCK" diff --stat --relative >"$T/al.stat"
is "$(cat "$T/al.stat")" "$(cat "$T/git.stat")" "diff --stat is git diff --stat"
"$AIRLOCK" diff --name-status --relative="$G" >"$T/al.ns"
is "$(cat "$T/al.ns")" "$(cat "$T/git.ns")" "diff --name-status is git diff --name-status (A M D T)"
for cols in 30 50; do
	got=$(COLUMNS=$cols "$AIRLOCK" diff --stat --relative)
	want=$(cd "$T/repo2" && COLUMNS=$cols git diff --cached --stat)
	is "$got" "$want" "diff --stat in $cols columns is git's"
done
(cd "$G/sub" && "$AIRLOCK" diff --name-status --relative=.) >"$T/sub.ns"
is "$(cat "$T/sub.ns")" "$(printf 'M\tdeeper/s.txt')" "--relative=DIR leaves out what is outside DIR"
"$AIRLOCK" diff --stat --name-status >/dev/null 2>&1
is "$?" 2 "--stat and --name-status together are a usage error"
"$AIRLOCK" diff --color=sometimes >/dev/null 2>&1
is "$?" 2 "--color=sometimes is a usage error"

# Colour: git's, when asked for or on a terminal; never with NO_COLOR or --color=never.
(cd "$G" && "$AIRLOCK" diff --color=always --relative a.txt) >"$T/col"
check "--color=always: added lines green" grep -qF $'\033[32m+d\033[m' "$T/col"
check "--color=always: the header bold" grep -qF $'\033[1mdiff --git a/a.txt b/a.txt\033[m' "$T/col"
check "--color=always: the hunk range cyan" grep -qF $'\033[36m@@ -1,3 +1,4 @@\033[m' "$T/col"
if LC_ALL=C grep -q $'\033' <(cd "$G" && "$AIRLOCK" diff --relative a.txt); then
	not_ok "not on a terminal: no colour"
else ok "not on a terminal: no colour"; fi
if command -v script >/dev/null; then
	# A pager that marks what went through it.
	export AIRLOCK_PAGER="sed s/^/PAGED:/" TERM=xterm
	script -qec "'$AIRLOCK' diff --stat --relative" /dev/null >"$T/tty" 2>&1
	check "on a terminal the output goes through \$AIRLOCK_PAGER" grep -q '^PAGED: a.txt' "$T/tty"
	check "on a terminal --stat is coloured" grep -qF $'\033[32m+' "$T/tty"
	NO_COLOR=1 script -qec "'$AIRLOCK' diff --stat --relative" /dev/null >"$T/tty" 2>&1
	if LC_ALL=C grep -q $'\033\\[3' "$T/tty"; then not_ok "NO_COLOR: no colour on a terminal"; else
		ok "NO_COLOR: no colour on a terminal"
	fi
	script -qec "'$AIRLOCK' diff --no-pager --color=never --stat --relative" /dev/null >"$T/tty" 2>&1
	if grep -q PAGED "$T/tty"; then not_ok "--no-pager: no pager"; else ok "--no-pager: no pager"; fi
	check "... and --color=never: no colour" sh -c "! grep -q \$(printf '\033') '$T/tty'"
	script -qec "'$AIRLOCK' log" /dev/null >"$T/tty" 2>&1
	check "log goes through the pager too" grep -q '^PAGED:TIME' "$T/tty"
	script -qec "'$AIRLOCK' show" /dev/null >"$T/tty" 2>&1
	check "show goes through the pager too" grep -q '^PAGED:session' "$T/tty"
	unset AIRLOCK_PAGER
	PAGER=cat script -qec "'$AIRLOCK' log" /dev/null >"$T/tty" 2>&1
	check "PAGER=cat: no pager, the timeline as it is" grep -q '^TIME' "$T/tty"
	PAGER="sed s/^/P2:/" script -qec "'$AIRLOCK' log --no-pager" /dev/null >"$T/tty" 2>&1
	check "log --no-pager: no pager" grep -q '^TIME' "$T/tty"
	PAGER="sed s/^/P2:/" script -qec "'$AIRLOCK' log" /dev/null >"$T/tty" 2>&1
	check "\$PAGER when \$AIRLOCK_PAGER is not set" grep -q '^P2:TIME' "$T/tty"
	export AIRLOCK_PAGER=cat
	"$AIRLOCK" log --color=always | grep -q $'\033\\[32mallow'
	is "$?" 0 "log --color=always colours the decisions, even into a pipe"
else
	skip "diff, log and show on a terminal" "no script(1)"
fi

# 10,000 changed small files.
mkdir -p "$T/many"
"$PY" -c '
import sys
for i in range(10000):
    open("%s/f%05d" % (sys.argv[1], i), "w").write("line %d\nsecond\n" % i)' "$T/many"
al_run -- "$PY" -c '
import sys
for i in range(10000):
    open("%s/f%05d" % (sys.argv[1], i), "a").write("third\n")' "$T/many" 2>/dev/null
start=$(date +%s%N)
"$AIRLOCK" diff >"$T/many.patch"
rc=$?
ms=$((($(date +%s%N) - start) / 1000000))
diag "airlock diff of 10,000 modified files: $ms ms"
is "$rc" 0 "diff of 10,000 files exits 0"
is "$(grep -c '^diff --git' "$T/many.patch")" 10000 "... with 10,000 files in the patch"
check "... in under 5 s ($ms ms)" test "$ms" -lt 5000

done_testing
