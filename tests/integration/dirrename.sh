#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Renaming a directory that comes from the host (airlock(1), "Renaming a host directory"): the
# overlay alone refuses it with EXDEV; airlock makes it happen as on a filesystem, answers
# what a filesystem answers, holds the sandbox still while it copies, never follows a link
# the program planted, and commit applies the result.
. "$(dirname "$0")/../lib.sh"
require_sandbox
cd "$T/work" || exit 1

# A tree with what a rename must keep: files, modes, a symlink, a hard link, nested dirs.
make_tree() {
	mkdir -p "$1/src/sub/deep" "$1/full" "$1/empty" "$1/other" "$1/nest/a" "$1/trail"
	echo one >"$1/src/a.txt"
	printf 'two\n' >"$1/src/sub/b.txt"
	echo exec >"$1/src/sub/run.sh" && chmod 750 "$1/src/sub/run.sh"
	ln -s ../a.txt "$1/src/sub/link"
	ln -s /etc/hostname "$1/src/abs-link"
	ln "$1/src/a.txt" "$1/src/sub/hard"
	chmod 711 "$1/src/sub/deep"
	echo x >"$1/full/x"
	echo o >"$1/other/o"
	echo n >"$1/nest/a/n"
	echo t >"$1/trail/t"
	echo f >"$1/file"
	touch -d '2001-02-03 04:05:06' "$1/src/a.txt" "$1/src/sub/b.txt" "$1/src/sub"
	touch -h -d '2002-02-03 04:05:06' "$1/src/sub/link"
	"$PY" -c 'import os, sys; os.setxattr(sys.argv[1], "user.airlock.test", b"kept")' \
		"$1/src/sub/b.txt" 2>/dev/null
}

# dump DIR [nolinks]: every entry below DIR with what a rename keeps; with nolinks, without
# hard link counts and xattrs, which a commit does not carry to the host.
dump='
import os, sys, hashlib
top, links = sys.argv[1], len(sys.argv) < 3
for root, dirs, files in os.walk(top):
    dirs.sort()
    for name in sorted(dirs + files):
        p = os.path.join(root, name)
        rel = os.path.relpath(p, top)
        st = os.lstat(p)
        kind = "l" if os.path.islink(p) else "d" if os.path.isdir(p) else "f"
        line = [rel, kind, oct(st.st_mode & 0o7777), str(st.st_uid)]
        if kind == "f":
            line += [hashlib.sha256(open(p, "rb").read()).hexdigest()[:12], str(st.st_mtime_ns)]
            if links:
                line.append("nlink=%d" % st.st_nlink)
            try:
                if links:
                    line.append(os.getxattr(p, "user.airlock.test").decode())
            except OSError:
                pass
        elif kind == "l":
            line += [os.readlink(p), str(st.st_mtime_ns)]
        elif rel.split("/")[0] in ("dst", "empty"):
            line.append(str(st.st_mtime_ns))
        print(" ".join(line))
'

# The same calls bare and inside: errors as on a filesystem, then the tree.
ops='
import os, errno, sys, ctypes
libc = ctypes.CDLL(None, use_errno=True)
def t(name, f):
    try:
        f(); print(name, "ok")
    except OSError as e:
        print(name, errno.errorcode[e.errno])
def rename2(a, b, flags):
    if libc.renameat2(-100, a.encode(), -100, b.encode(), flags) == 0:
        return "ok"
    return errno.errorcode[ctypes.get_errno()]
t("into a non-empty directory", lambda: os.rename("src", "full"))
t("into its own subdirectory", lambda: os.rename("src", "src/sub/inner"))
t("onto a file", lambda: os.rename("src", "file"))
t("from a missing name", lambda: os.rename("missing", "x"))
print("RENAME_NOREPLACE onto an existing name", rename2("src", "empty", 1))
t("a host directory", lambda: os.rename("src", "dst"))
t("onto an empty directory", lambda: os.rename("other", "empty"))
fd = os.open("nest", os.O_RDONLY | os.O_DIRECTORY)
t("relative to a directory descriptor", lambda: os.rename("a", "b", src_dir_fd=fd, dst_dir_fd=fd))
t("named with a trailing slash", lambda: os.rename("trail/", "trail2/"))
t("back again", lambda: os.rename("dst", "src2"))
t("and again", lambda: os.rename("src2", "dst"))
print(sorted(os.listdir(".")))
'

mkdir bare inside
make_tree "$T/work/bare"
cp -a "$T/work/bare/." "$T/work/inside/"
bare=$(cd bare && "$PY" -c "$ops" && "$PY" -c "$dump" .)
inside=$(cd inside && al_run -- sh -c '"$1" -c "$2" && "$1" -c "$3" .' _ "$PY" "$ops" "$dump" 2>"$T/run.err")
is "$inside" "$bare" "renames of host directories: answers, contents, modes, links, times as bare"
check "... without an EXDEV" sh -c "! echo '$inside' | grep -q EXDEV"
if grep -q ' kept$' <<<"$bare"; then
	is "$(grep -c ' kept$' <<<"$inside")" 1 "... a user xattr kept"
else
	skip "... a user xattr kept" "no user xattrs on $T"
fi
is "$(cat "$AIRLOCK_STATE_DIR"/sessions/*/events.jsonl | grep -c '"dirmove":{"copied":true')" 4 \
	"the log records each copied rename"
"$AIRLOCK" show --json last >"$T/show.json" 2>/dev/null
is "$(jf show '[any("RENAME_NOREPLACE" in b for b in c["by"]) for c in j["changes"] if c["path"].endswith("/inside/dst/sub/b.txt")]')" "[True]" \
	"the copied tree's files are attributed to the process that renamed it"
"$AIRLOCK" log last >"$T/log.txt" 2>&1
check "... and airlock log shows it as a rename" grep -q "inside/src -> $T/work/inside/dst" "$T/log.txt"

# commit applies the renames: the host tree is what the program saw.
"$AIRLOCK" commit last >/dev/null 2>"$T/commit.err"
is "$?" 0 "commit applies the renamed directories"
is "$("$PY" -c "$dump" inside nolinks)" "$("$PY" -c "$dump" bare nolinks)" "... the host tree is as bare"

# RENAME_EXCHANGE of a host directory stays refused (airlock(1)): the kernel's EXDEV.
mkdir -p x1 x2 && echo 1 >x1/f && echo 2 >x2/f
out=$(al_run -- "$PY" -c '
import ctypes, errno
libc = ctypes.CDLL(None, use_errno=True)
r = libc.renameat2(-100, b"x1", -100, b"x2", 2)
print(r, errno.errorcode.get(ctypes.get_errno(), 0))' 2>/dev/null)
is "$out" "-1 EXDEV" "RENAME_EXCHANGE of host directories is EXDEV"

# git mv of a tracked directory, then git status: inside as bare; and after the commit.
if command -v git >/dev/null 2>&1; then
	mkdir repo && (cd repo && git init -q . && mkdir -p src/pkg && echo a >src/a.c &&
		echo b >src/pkg/b.c && echo r >README && git add . &&
		git -c user.email=t@e -c user.name=t commit -qm one)
	cp -a repo repo-bare
	gitmv='git mv src lib && git status --porcelain && git ls-files && ls lib lib/pkg'
	bare=$(cd repo-bare && sh -c "$gitmv" 2>&1)
	inside=$(cd repo && al_run -- sh -c "$gitmv" 2>&1 | grep -v '^airlock:')
	is "$inside" "$bare" "git mv of a tracked directory and git status: inside as bare"
	"$AIRLOCK" commit last >/dev/null 2>&1
	is "$(cd repo && git status --porcelain)" "$(cd repo-bare && git status --porcelain)" \
		"... and on the host after the commit"
else
	skip "git mv of a tracked directory" "git is not installed"
	skip "... and on the host after the commit" "git is not installed"
fi

# The sandbox is held still while the tree is copied: a process creating files in it either
# made a file before the rename (it is in the new tree) or failed after it, never lost one.
# While it holds a file in the tree open for writing, the rename is refused with EXDEV (on a
# filesystem the descriptor would follow the rename; here it would name the removed source):
# the program tries again.
mkdir busy && echo 0 >busy/seed
out=$(al_run -- "$PY" -c '
import os, sys, time
pid = os.fork()
if pid == 0:
    n = 0
    while True:
        try:
            with open("busy/w%d" % n, "x") as f:
                f.write("x" * 4096)
        except OSError:
            break
        n += 1
    open("writer.out", "w").write(str(n))
    os._exit(0)
while len(os.listdir("busy")) < 21:
    time.sleep(0.001)
while True:
    try:
        os.rename("busy", "moved"); break
    except OSError:
        pass
os.waitpid(pid, 0)
n = int(open("writer.out").read())
names = [x for x in os.listdir("moved") if x.startswith("w")]
full = all(os.path.getsize("moved/" + x) == 4096 for x in names)
print(len(names) == n, full, n >= 20)' 2>/dev/null)
is "$out" "True True True" "a writer during the rename loses no file and leaves none half-written"

# A link planted in the tree while it is renamed is copied as a link, never followed: a
# thread swaps busy2/sub between a directory and a link to /etc while another renames busy2.
mkdir -p busy2/keep && echo k >busy2/keep/k
out=$(al_run -- "$PY" -c '
import os, threading, errno
stop = False
def swap():
    while not stop:
        try:
            os.symlink("/etc", "busy2/sub.l"); os.rename("busy2/sub.l", "busy2/sub")
            os.unlink("busy2/sub"); os.mkdir("busy2/sub"); os.rmdir("busy2/sub")
        except OSError:
            if not os.path.isdir("busy2"):
                return
threading.Thread(target=swap, daemon=True).start()
try:
    os.rename("busy2", "moved2"); print("renamed")
except OSError as e:
    print(errno.errorcode[e.errno])
stop = True
bad = [r for r, d, f in os.walk("moved2") if "passwd" in f or "hostname" in f]
print(bad, os.path.islink("moved2/sub") or not os.path.exists("moved2/sub") or os.listdir("moved2/sub") == [])' 2>/dev/null)
is "$out" "$(printf 'renamed\n[] True')" "a symlink swapped in during the rename is not followed"

# The source named through a link that another thread flips between two host directories:
# whichever the kernel finds is renamed whole, in the sandbox only; the host is untouched.
mkdir -p one/d two/d && echo 1 >one/d/f && echo 2 >two/d/f && ln -s one via
out=$(al_run -- "$PY" -c '
import os, threading
stop = False
def flip():
    i = 0
    while not stop:
        os.symlink(("two", "one")[i % 2], "via.n"); os.rename("via.n", "via"); i += 1
t = threading.Thread(target=flip); t.start()
try:
    os.rename("via/d", "via/e"); r = "renamed"
except OSError as e:
    r = e.strerror
stop = True; t.join()
ok = lambda x: os.path.isdir(x + "/e") and not os.path.exists(x + "/d")
same = lambda x: os.path.isdir(x + "/d") and not os.path.exists(x + "/e")
print(r, (ok("one") and same("two")) or (ok("two") and same("one")))' 2>/dev/null)
is "$out" "renamed True" "a source path whose link flips: one whole directory is renamed"
is "$(cat one/d/f two/d/f; ls one; ls two)" "$(printf '1\n2\nd\nd')" "... and the host is unchanged until commit"

# A link to a host directory outside: rename moves the link itself, as on a filesystem.
mkdir -p "$T/outside/d" && echo secret >"$T/outside/d/f" && ln -s "$T/outside/d" ptr
out=$(al_run -- sh -c 'mv -T ptr ptr2 && readlink ptr2 && ls' 2>/dev/null)
is "$out" "$(printf '%s\n%s' "$T/outside/d" "$(ls | sed 's/^ptr$/ptr2/' | sort)")" "renaming a link to a host directory moves the link"
is "$(ls "$T/outside/d")" "f" "... and the directory it names stays"

# A process whose working directory is in the tree would be left in the removed source: the
# rename is left to the kernel (EXDEV), and the log says why.
mkdir -p held && echo h >held/f
out=$(al_run -- sh -c 'cd held && "$1" -c "
import os, errno
try:
    os.rename(\"../held\", \"../held2\"); print(\"renamed\")
except OSError as e:
    print(errno.errorcode[e.errno])"' _ "$PY" 2>/dev/null)
is "$out" "EXDEV" "a tree that holds a process's working directory gets EXDEV"
check "... the log says why" grep -q '"note":"a process of the sandbox has its working directory' "$(ls -d "$AIRLOCK_STATE_DIR"/sessions/* | tail -1)/events.jsonl"

# A kernel before 5.19 lets the freeze abort the call of a caller with other threads (no
# WAIT_KILLABLE_RECV): the call is made again and gets the kernel's EXDEV; nothing hangs and
# nothing is half done.
mkdir -p oldk && echo o >oldk/f
out=$(AIRLOCK_TEST_FEATURES_OFF=wait_killable_recv al_run -- "$PY" -c '
import os, errno, threading
threading.Thread(target=threading.Event().wait, daemon=True).start()
for i in range(2):
    try:
        os.rename("oldk", "oldk2"); print("renamed")
    except OSError as e:
        print(errno.errorcode[e.errno])
print(sorted(os.listdir("oldk")), os.path.exists("oldk2"))' 2>/dev/null)
is "$out" "$(printf "EXDEV\nEXDEV\n['f'] False")" "without WAIT_KILLABLE_RECV a host directory rename stays EXDEV"

# Past the limit the rename is left to the kernel (EXDEV as before); mv copies instead.
mkdir big && "$PY" -c 'import os
for i in range(10001): open("big/%d" % i, "w").close()'
out=$(al_run -- "$PY" -c '
import os, errno
try:
    os.rename("big", "big2"); print("renamed")
except OSError as e:
    print(errno.errorcode[e.errno])' 2>/dev/null)
is "$out" "EXDEV" "a tree of more than 10000 entries gets EXDEV, as without airlock"
check "... the log says why" grep -q '"note":"more than 10000 entries"' "$(ls -d "$AIRLOCK_STATE_DIR"/sessions/* | tail -1)/events.jsonl"
out=$(al_run -- sh -c 'mv big big3 && ls big3 | wc -l' 2>/dev/null)
is "$out" "10001" "... and mv falls back to copying it"

done_testing
