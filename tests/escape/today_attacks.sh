#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Attacks on the end of a run, write rules and the per-thread view of the caller:
# - a deny write rule holds whatever name the program gives the file: "..", "//", "/./", a
#   dirfd, a path near PATH_MAX, and the magic links of /proc (/proc/self/cwd, /proc/self/fd/N
#   reopening a read-only descriptor for writing, /dev/fd/N, /dev/stdout, /proc/PID/...,
#   /proc/thread-self), while the same links into an allowed place still work;
# - a relative name is resolved against the calling thread's own cwd (a thread that unshared
#   its fs_struct, a thread that execs in place of its leader);
# - nothing of the sandbox outlives the report of the command's end: a daemon, a stopped
#   process, a thread group whose leader has exited, a process ignoring signals, a fork storm;
#   the change set holds what the upper layers hold.
. "$(dirname "$0")/../lib.sh"
require_sandbox
W=$T/work
cd "$W" || exit 1
mkdir -p secret open/sub
echo original >secret/f
echo mine >open/f
ln -s open/sub lsub
printf 'deny write %s/secret/**\n' "$W" >"$T/deny.rules"

# --- names the kernel resolves to a denied file -------------------------------------------
out=$(al_run -r "$T/deny.rules" -- "$PY" -c '
import os, threading
W = os.getcwd()
res = []
def attempt(name, f):
    try:
        f()
        res.append(name + "=written")
    except PermissionError:
        res.append(name + "=denied")
    except OSError as e:
        res.append(name + "=" + os.strerror(e.errno))
def w(p, fl=os.O_WRONLY | os.O_CREAT | os.O_TRUNC, dir_fd=None):
    os.close(os.open(p, fl, 0o644, dir_fd=dir_fd))
attempt("dotdot", lambda: w("open/../secret/a"))
attempt("dslash", lambda: w(".//secret//b"))
attempt("dot", lambda: w("./secret/./c"))
attempt("abs-dotdot", lambda: w(W + "/open/sub/../../secret/d"))
dfd = os.open(".", os.O_RDONLY | os.O_DIRECTORY)
attempt("dirfd-rel", lambda: w("secret/h", dir_fd=dfd))
sfd = os.open("secret", os.O_RDONLY | os.O_DIRECTORY)
attempt("dirfd-in", lambda: w("i", dir_fd=sfd))
attempt("dirfd-dotdot", lambda: w("../secret/j", dir_fd=os.open("open", os.O_RDONLY)))
attempt("lsub-dotdot", lambda: w("lsub/../../secret/k"))
attempt("mkdir-trail", lambda: os.mkdir("secret/m//"))
attempt("long", lambda: w("./" * 2000 + "secret/l"))
attempt("long-dotdot", lambda: w("open/" + "sub/../" * 580 + "../secret/n"))
attempt("rename-dotdot", lambda: (w("mine"), os.rename("mine", "open/sub/../../secret/o")))
attempt("symlink-in", lambda: os.symlink("x", "open/../secret/p"))
attempt("cwdlink", lambda: w("/proc/self/cwd/secret/e"))
attempt("fdlink", lambda: w("/proc/self/fd/%d/secret/g" % dfd))
r = os.open("secret/f", os.O_RDONLY)
attempt("reopen", lambda: w("/proc/self/fd/%d" % r, os.O_WRONLY | os.O_TRUNC))
attempt("devfd-reopen", lambda: w("/dev/fd/%d" % r, os.O_WRONLY | os.O_APPEND))
attempt("devfd-dir", lambda: w("/dev/fd/%d/secret/q" % dfd))
attempt("thread-self", lambda: w("/proc/thread-self/cwd/secret/r"))
attempt("pid", lambda: w("/proc/%d/cwd/secret/s" % os.getpid()))
attempt("root", lambda: w("/proc/self/root" + W + "/secret/t"))
os.symlink("/proc/self/cwd", "mycwd")
attempt("own-link", lambda: w("mycwd/secret/u"))
sub = os.open("open/sub", os.O_RDONLY)
attempt("fd-dotdot", lambda: w("/proc/self/fd/%d/../../secret/w" % sub))
attempt("devfd-dotdot", lambda: w("/dev/fd/%d/../../secret/x" % sub))
attempt("cwd-dotdot", lambda: w("/proc/self/cwd/../%s/secret/y" % os.path.basename(W)))
attempt("net-dotdot", lambda: w("/proc/net/../cwd/secret/z"))
attempt("rename-proc", lambda: (w("mine3"), os.rename("mine3", "/proc/self/cwd/secret/mv")))
attempt("rename-out", lambda: os.rename("/proc/self/cwd/secret/f", "stolen"))
attempt("mkdir-proc", lambda: os.mkdir("/proc/self/cwd/secret/dir"))
attempt("unlink-proc", lambda: os.unlink("/dev/fd/%d/secret/f" % dfd))
attempt("chmod-proc", lambda: os.chmod("/proc/self/fd/%d" % r, 0o600))
attempt("task", lambda: w("/proc/self/task/%d/cwd/secret/v" % threading.get_native_id()))
os.dup2(r, 5)
attempt("stdlink", lambda: w("/dev/fd/5", os.O_WRONLY))
# The same links into a place no rule denies: still the program'\''s to use.
o = os.open("open/f", os.O_RDONLY)
attempt("ok-reopen", lambda: w("/proc/self/fd/%d" % o, os.O_WRONLY | os.O_APPEND))
attempt("ok-cwdlink", lambda: w("/proc/self/cwd/open/e"))
attempt("ok-devfd", lambda: w("/dev/fd/%d/open/g" % dfd))
attempt("ok-stdout", lambda: w("/dev/stdout", os.O_WRONLY))
attempt("ok-comm", lambda: open("/proc/self/comm", "w").write("renamed"))
attempt("ok-root", lambda: w("/proc/self/root" + W + "/open/r"))
attempt("ok-pid", lambda: w("/proc/%d/cwd/open/s" % os.getpid()))
attempt("ok-task", lambda: w("/proc/self/task/%d/cwd/open/t" % threading.get_native_id()))
attempt("ok-memfd", lambda: w("/proc/self/fd/%d" % os.memfd_create("jit"), os.O_RDWR))
attempt("ok-tmpfile", lambda: w("/proc/self/fd/%d" % os.open("open", os.O_TMPFILE | os.O_RDWR), os.O_RDWR))
attempt("ok-pipe", lambda: w("/dev/fd/%d" % os.pipe()[1], os.O_WRONLY))
# A ".." after a link of /proc, then a magic link: refused, even into an allowed place.
attempt("dotdot-magic", lambda: w("/proc/thread-self/../%d/cwd/open/u" % threading.get_native_id()))
print(" ".join(res))
' 2>"$T/err")
is "$out" "dotdot=denied dslash=denied dot=denied abs-dotdot=denied dirfd-rel=denied dirfd-in=denied dirfd-dotdot=denied lsub-dotdot=denied mkdir-trail=denied long=denied long-dotdot=denied rename-dotdot=denied symlink-in=denied cwdlink=denied fdlink=denied reopen=denied devfd-reopen=denied devfd-dir=denied thread-self=denied pid=denied root=denied own-link=denied fd-dotdot=denied devfd-dotdot=denied cwd-dotdot=denied net-dotdot=denied rename-proc=denied rename-out=denied mkdir-proc=denied unlink-proc=denied chmod-proc=denied task=denied stdlink=denied ok-reopen=written ok-cwdlink=written ok-devfd=written ok-stdout=written ok-comm=written ok-root=written ok-pid=written ok-task=written ok-memfd=written ok-tmpfile=written ok-pipe=written dotdot-magic=denied" \
	"a deny rule holds through .., //, /./, dirfds, long names and /proc's magic links"
sid=$(last_session)
"$AIRLOCK" show --json "$sid" >"$T/names.json"
is "$(jf names "sorted(c['path'][len(sys.argv[3]) + 1:] for c in j['changes'])" "$W")" \
	"['mine', 'mine3', 'mycwd', 'open/e', 'open/g', 'open/r', 'open/s', 'open/t']" "nothing under the denied directory is in the overlay"
is "$(cat secret/f)" original "the host's file is untouched"

# --- relative names and the calling thread's own cwd --------------------------------------
# A thread cannot take a cwd of its own (unshare(CLONE_FS) is refused), so the cwd the
# supervisor reads for a thread is its process's.
out=$(al_run -- "$PY" -c '
import ctypes
libc = ctypes.CDLL(None, use_errno=True)
print(libc.unshare(0x200), ctypes.get_errno())' 2>"$T/err")
is "$out" "-1 1" "unshare(CLONE_FS) is refused (EPERM)"

# A thread that is not the leader execs: it takes the leader's TID, with its own cwd.
out=$(al_run -r "$T/deny.rules" -- "$PY" -c '
import ctypes, os, sys, threading
libc = ctypes.CDLL(None, use_errno=True)
def child():
    os.chdir("../secret")
    os.execv("/bin/sh", ["/bin/sh", "-c", "echo x >after 2>/dev/null && echo written || echo denied"])
os.chdir("open")
open("before", "w").close()  # the leader'\''s TID is looked up with cwd open/
t = threading.Thread(target=child)
t.start()
t.join()
' 2>"$T/err")
is "$out" denied "after a non-leader thread execs, its own cwd decides its relative writes"
is "$(ls secret)" f "nothing reached the denied directory"

# --- nothing outlives the report ----------------------------------------------------------
tag=airlock-survivor-$$
out=$(al_run -- "$PY" - "$W/open" "$tag" <<'PY' 2>"$T/err"
import ctypes, os, signal, sys, threading, time
libc = ctypes.CDLL(None, use_errno=True)
W, tag = sys.argv[1], sys.argv[2]
def looper(name):
    libc.prctl(15, tag.encode(), 0, 0, 0)  # PR_SET_NAME: found by pgrep afterwards
    n = 0
    while True:
        with open(os.path.join(W, name), "a") as f:
            f.write("%d\n" % n)
        n += 1
        time.sleep(0.005)
def spawn(name, how):
    if os.fork() == 0:
        try:
            how(name)
        finally:
            os._exit(0)
def daemon(name):
    if os.fork():
        os._exit(0)
    os.setsid()
    if os.fork():
        os._exit(0)
    looper(name)
def stopped(name):
    pid = os.fork()
    if pid == 0:
        looper(name)
    while not os.path.exists(os.path.join(W, name)):
        time.sleep(0.005)
    os.kill(pid, signal.SIGSTOP)
def zleader(name):
    threading.Thread(target=looper, args=(name,)).start()
    libc.syscall(60, 0)  # SYS_exit: the leader alone
def ignoring(name):
    for s in (signal.SIGTERM, signal.SIGHUP, signal.SIGINT, signal.SIGCHLD):
        signal.signal(s, signal.SIG_IGN)
    looper(name)
def storm(name):
    libc.prctl(15, tag.encode(), 0, 0, 0)
    while True:
        try:
            if os.fork() == 0:
                open(os.path.join(W, name), "a").write("x\n")
            else:
                os._exit(0)
        except OSError:
            pass
for name, how in (("daemon", daemon), ("stopped", stopped), ("zleader", zleader),
                  ("ignoring", ignoring), ("storm", storm)):
    spawn(name, how)
for name in ("daemon", "stopped", "zleader", "ignoring", "storm"):
    while not os.path.exists(os.path.join(W, name)):
        time.sleep(0.005)
print("started")
PY
)
is "$out" started "the survivors were running when the command ended"
# pgrep -f does not see the names; the comm is the tag (15 bytes).
check "no process of the sandbox outlives the run" sh -c "! pgrep -x '${tag:0:15}' >/dev/null"
sid=$(last_session)
"$AIRLOCK" show --json "$sid" >"$T/surv.json"
up=$(find "$AIRLOCK_STATE_DIR/sessions/$sid/upper" -path "*/open/daemon" | head -1)
up=${up%/daemon}
for name in daemon stopped zleader ignoring storm; do
	want=$(stat -c %s "$up/$name")
	is "$(jf surv "[c.get('size') for c in j['changes'] if c['path'].endswith('/open/$name')]")" \
		"[$want]" "the record of $name holds what its upper layer holds"
done
[ -n "$up" ] && before=$(cat "$up"/* | wc -l)
check "no process of the sandbox outlives the run (again, after the checks)" \
	sh -c "! pgrep -x '${tag:0:15}' >/dev/null"
is "$(cat "$up"/* | wc -l)" "$before" "nothing writes into the upper layers after the run"

# --- no way out of the pid namespace pid 1 empties -----------------------------------------
# kill(-1) reaches every process of pid 1's namespace and those nested in it: a process must
# not get into another one (a new pid or user namespace, setns, a clone with CLONE_NEWPID).
out=$(al_run -- "$PY" -c '
import ctypes, os
libc = ctypes.CDLL(None, use_errno=True)
res = []
for name, flags in (("newpid", 0x20000000), ("newuser", 0x10000000)):
    res.append("%s=%d" % (name, libc.unshare(flags)))
res.append("setns=%d" % libc.setns(os.open("/proc/self/ns/pid", os.O_RDONLY), 0))
r = libc.syscall(56, 0x20000000 | 17, 0, 0, 0, 0)  # clone(CLONE_NEWPID | SIGCHLD)
if r == 0:
    os._exit(0)
res.append("clone=%d" % min(r, 0))
print(" ".join(res))' 2>"$T/err")
is "$out" "newpid=-1 newuser=-1 setns=-1 clone=-1" "no process gets into another pid namespace"

# --- the report of the command's end comes from pid 1 alone -------------------------------
# The control socket pid 1 reports on is out of the command's reach: not by /proc/1/fd, not
# by pidfd_getfd (a forged report would end the run while the program still writes).
out=$(al_run -- "$PY" -c '
import ctypes, os
libc = ctypes.CDLL(None, use_errno=True)
res = []
for n in os.listdir("/proc/1/fd"):
    try:
        os.close(os.open("/proc/1/fd/" + n, os.O_RDWR))
        res.append("open-%s" % n)
    except OSError:
        pass
pfd = libc.syscall(434, 1, 0)  # pidfd_open
for n in range(0, 64):
    if libc.syscall(438, pfd, n, 0) >= 0:  # pidfd_getfd
        res.append("getfd-%d" % n)
print(" ".join(res) or "none")' 2>"$T/err")
is "$out" none "no descriptor of pid 1 can be taken by the command"

# --- renames in the review: a pair is one decision only when its content came along -------
R=$T/ren
mkdir -p "$R"
seq 1 20 >"$R/f.txt"
seq 301 340 >"$R/h.txt"
(cd "$R" && al_run -- "$PY" -c '
import os, subprocess
# A new file saved over a host file, then moved: nothing of the host file came along.
open("tmp", "w").write("".join("other %d\n" % i for i in range(40)))
os.replace("tmp", "h.txt")
os.rename("h.txt", "z.txt")
# Saved in place, then moved: a rename.
subprocess.run(["sed", "-i", "s/^5$/five/", "f.txt"], check=True)
os.rename("f.txt", "g.txt")' >/dev/null 2>"$T/err")
rid=$(last_session)
"$AIRLOCK" show --json "$rid" >"$T/ren.json"
is "$(jf ren "sorted((c['path'][len(sys.argv[3]) + 1:], c['kind'], (c.get('renamed_from') or '')[len(sys.argv[3]) + 1:]) for c in j['changes'])" "$R")" \
	"[('f.txt', 'deleted', ''), ('g.txt', 'added', 'f.txt'), ('h.txt', 'deleted', ''), ('z.txt', 'added', '')]" \
	"a host file replaced by unrelated content, then moved, is its own deletion, not a rename"
# Naming the rename's new path commits that addition alone: the deletion is its own row.
"$AIRLOCK" commit "$rid" "$R/g.txt" >/dev/null 2>"$T/err"
is "$(cd "$R" && ls | paste -sd' ')" "f.txt g.txt h.txt" \
	"a commit of the rename's new path applies that path only (the host file stays)"

# --- a symlink swapped between the check and the kernel's lookup ---------------------------
# The runtime check and the kernel's own lookup are apart (the call is continued): a write
# that wins the race lands in the overlay, never on the host, and the rule still denies it in
# the change set (the gate decides on the path the upper layer holds).
S=$T/race
mkdir -p "$S/secret" "$S/open"
printf 'deny write %s/secret/**\n' "$S" >"$T/race.rules"
(cd "$S" && al_run -r "$T/race.rules" -- "$PY" -c '
import os, threading
stop = False
def flip():
    while not stop:
        for t in ("open", "secret"):
            try:
                os.symlink(t, "l.tmp")
                os.replace("l.tmp", "lnk")
            except OSError:
                pass
threading.Thread(target=flip, daemon=True).start()
for i in range(600):
    try:
        os.close(os.open("lnk/x%d" % i, os.O_WRONLY | os.O_CREAT, 0o644))
    except OSError:
        pass
stop = True' >/dev/null 2>"$T/err")
"$AIRLOCK" show --json "$(last_session)" >"$T/race.json"
diag "writes that won the race: $(jf race "len([c for c in j['changes'] if '/secret/' in c['path']])")"
is "$(jf race "sorted(set(c['state'] for c in j['changes'] if '/secret/' in c['path']) - {'denied'})")" \
	"[]" "a write that won the race into a denied directory is denied in the change set"
is "$(ls "$S/secret" | wc -l)" 0 "... and nothing reached the host's denied directory"

# --- the output's pipes held open by descriptors in flight ---------------------------------
# stdout and stderr sent into a unix socket that is itself in flight (a cycle only the
# kernel's garbage collector frees): no process is left to write, so the run ends anyway,
# with the command's output and status.
out=$(timeout 60 "$AIRLOCK" run --review never -- "$PY" -c '
import array, os, socket
a, b = socket.socketpair(socket.AF_UNIX, socket.SOCK_DGRAM)
a.sendmsg([b"x"], [(socket.SOL_SOCKET, socket.SCM_RIGHTS, array.array("i", [1, 2, b.fileno()]))])
b.sendmsg([b"y"], [(socket.SOL_SOCKET, socket.SCM_RIGHTS, array.array("i", [a.fileno()]))])
print("last words", flush=True)
os._exit(3)' 2>"$T/err")
is "$?/$out" "3/last words" "pipes held by descriptors in flight do not hold the run (its output and status come back)"

# --- a host unix socket named through /proc's links ----------------------------------------
# The supervisor refuses the socket's own path; the names through /proc's links it cannot
# follow reach only the overlay's copy of the socket file, which connects nowhere.
H=$T/hostsock
mkdir -p "$H"
"$PY" -c '
import socket, sys
s = socket.socket(socket.AF_UNIX)
s.bind(sys.argv[1] + "/host.sock")
s.listen(8)
open(sys.argv[1] + "/ready", "w").close()
while True:
    c, _ = s.accept()
    c.send(b"HOST")
    c.close()' "$H" &
srv=$!
check "the host's socket listens" wait_for 30 test -e "$H/ready"
out=$(cd "$H" && al_run -- "$PY" -c '
import os, socket
d = os.open(".", os.O_RDONLY)
res = []
for p in ("host.sock", os.getcwd() + "/host.sock", "/proc/self/cwd/host.sock",
          "/proc/self/fd/%d/host.sock" % d, "/dev/fd/%d/host.sock" % d,
          "/proc/self/root" + os.getcwd() + "/host.sock", "/proc/%d/cwd/host.sock" % os.getpid()):
    s = socket.socket(socket.AF_UNIX)
    try:
        s.connect(p)
        res.append("connected:" + s.recv(8).decode())
    except OSError:
        res.append("refused")
print(" ".join(res))' 2>"$T/err")
kill "$srv" 2>/dev/null
wait "$srv" 2>/dev/null
is "$out" "refused refused refused refused refused refused refused" \
	"a host unix socket is out of reach by its name and through /proc's links"

done_testing
