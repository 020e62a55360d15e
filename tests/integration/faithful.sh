#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Faithfulness: real programs get the same answers inside as bare. Each case runs the same
# program bare and inside and compares what it printed; where a difference is inherent (root
# bare can do what no mapped ID can inside), the inside answer is checked against what the
# man page documents.
. "$(dirname "$0")/../lib.sh"
require_sandbox
cd "$T/work" || exit 1

# same DESC PROGRAM: run the Python PROGRAM bare and inside; their outputs must match.
same() {
	local desc=$1 bare inside
	bare=$("$PY" -c "$2" 2>&1)
	inside=$(al_run -- "$PY" -c "$2" 2>/dev/null)
	is "$inside" "$bare" "$desc: inside as bare"
}

# IDs outside the user namespace's map: the host's EPERM, never EINVAL.
ids='
import os, errno, subprocess
p = "ids.txt"
open(p, "w").close()
fd = os.open(p, os.O_RDONLY)
def t(name, f):
    try:
        f(); print(name, "ok")
    except OSError as e:
        print(name, errno.errorcode[e.errno])
other = 4242 if os.getuid() != 4242 else 4243
t("chown", lambda: os.chown(p, other, -1))
t("chown-group", lambda: os.chown(p, -1, other))
t("lchown", lambda: os.lchown(p, other, other))
t("fchown", lambda: os.fchown(fd, other, -1))
t("chown-own", lambda: os.chown(p, os.getuid(), os.getgid()))
t("chown-unchanged", lambda: os.chown(p, -1, -1))
t("setuid", lambda: os.setuid(other))
t("setgid", lambda: os.setgid(other))
t("setreuid", lambda: os.setreuid(other, -1))
t("setregid", lambda: os.setregid(-1, other))
t("setresuid", lambda: os.setresuid(-1, other, -1))
t("setresgid", lambda: os.setresgid(-1, -1, other))
t("setuid-own", lambda: os.setuid(os.getuid()))
t("setresgid-own", lambda: os.setresgid(os.getgid(), -1, -1))
t("subprocess-user", lambda: subprocess.run(["true"], user=other))
t("subprocess-group", lambda: subprocess.run(["true"], group=other))
'
if [ "$(id -u)" -ne 0 ]; then
	same "IDs outside the map" "$ids"
else
	# Root bare may change to any ID; inside only root's own is mapped: the answer is the
	# one an unprivileged caller gets, EPERM (airlock(1), KNOWN LIMITATIONS).
	out=$(al_run -- "$PY" -c "$ids" 2>/dev/null)
	is "$(echo "$out" | grep -c ' EPERM$')" 12 "as root, IDs outside the map fail with EPERM"
	is "$(echo "$out" | grep -c ' EINVAL$')" 0 "as root, no ID call fails with EINVAL"
	is "$(echo "$out" | grep -c ' ok$')" 4 "as root, the calls with mapped IDs succeed"
fi
# The high 32 bits of an ID argument are not part of it: the kernel reads a 32-bit uid_t.
out=$(al_run -- "$PY" -c '
import ctypes, os, errno
libc = ctypes.CDLL(None, use_errno=True)
r = libc.syscall(105, ctypes.c_ulong((1 << 32) | os.getuid()))
print(r, errno.errorcode.get(ctypes.get_errno(), 0))' 2>/dev/null)
is "$out" "0 0" "setuid(own uid with high bits set) is the caller's own uid"

# The overlays are volatile (the program's syncs are free); the end of the run syncs the held
# changes once so that they survive a crash before the commit.
if command -v strace >/dev/null 2>&1; then
	strace -f -qq -e trace=syncfs -o "$T/strace.out" "$AIRLOCK" run --review never -- \
		sh -c 'echo durable > held.txt; sync' >/dev/null 2>&1
	n=$(grep -c 'syncfs(' "$T/strace.out")
	if [ "$n" -ge 1 ]; then ok "the end of a run syncs the held changes (syncfs)"; else
		not_ok "the end of a run syncs the held changes (syncfs)"; diag "$(head -c 300 "$T/strace.out")"; fi
else
	skip "the end of a run syncs the held changes" "strace is not installed"
fi

# stdin a named FIFO whose writer has sent nothing yet: the program runs meanwhile (the
# supervisor never blocks reading the caller's stdin), and then reads what comes.
mkfifo "$T/stdin.fifo"
al_run -- sh -c 'echo running > ran.txt; echo ok; read x; echo "read $x"' <"$T/stdin.fifo" >"$T/fifo.out" 2>/dev/null &
exec 3>"$T/stdin.fifo"
if wait_for 20 grep -q ok "$T/fifo.out"; then
	ok "a FIFO as stdin: the program runs before any input arrives"
else
	not_ok "a FIFO as stdin: the program runs before any input arrives"
fi
echo late >&3
exec 3>&-
wait
is "$(tail -1 "$T/fifo.out")" "read late" "a FIFO as stdin: the input that comes later is read"

# A refused network is said at the end of the run (a tool that retries would otherwise end
# with only "no changes"), and counted in --json.
net_prog='
import socket
for h in ["registry.example.test", "files.example.test"]:
    try: socket.create_connection((h, 443), timeout=2)
    except OSError: pass
try: socket.create_connection(("192.0.2.1", 443), timeout=2)
except OSError: pass'
al_run --ask deny -- "$PY" -c "$net_prog" >/dev/null 2>"$T/net.err"
check "the end of a run says how many network attempts were denied" \
	grep -qE "^airlock: [0-9]+ network attempts were denied \(registry.example.test, files.example.test, 192.0.2.1" "$T/net.err"
"$AIRLOCK" run --review never --ask deny --json -- "$PY" -c "$net_prog" >"$T/net.json" 2>/dev/null
is "$(jf net 'j["network_denied"] >= 3')" True "--json counts the denied network attempts"
al_run -- true 2>"$T/nonet.err"
check "a run with no network says nothing of it" sh -c "! grep -q 'network attempt' '$T/nonet.err'"

# Hard links: a link to a file from the host is refused with EXDEV (overlayfs would report
# another inode number for the new name), so a local git clone takes its copy path and works
# as bare; links between files made inside are real links.
if command -v git >/dev/null 2>&1; then
	mkdir -p "$T/repo" && (cd "$T/repo" && git init -q . && echo one >a && git add a &&
		git -c user.email=t@e -c user.name=t commit -qm one)
	clone='git clone -q "$1" "$2" && git -C "$2" fsck -q && git -C "$2" log --format=%s && cat "$2/a"'
	bare=$(sh -c "$clone" _ "$T/repo" "$T/bare-clone" 2>&1)
	inside=$(al_run -- sh -c "$clone" _ "$T/repo" "$T/work/clone" 2>&1 | grep -v '^airlock:')
	is "$inside" "$bare" "git clone of a local repository: inside as bare"
else
	skip "git clone of a local repository" "git is not installed"
fi
echo host >"$T/work/hostfile"
out=$(al_run -- "$PY" -c '
import os, errno
try:
    os.link("hostfile", "lnk"); print("linked")
except OSError as e:
    print(errno.errorcode[e.errno])
open("mine", "w").write("x")
os.link("mine", "mine2")
print(os.stat("mine").st_ino == os.stat("mine2").st_ino, os.stat("mine2").st_nlink)' 2>/dev/null)
is "$out" "$(printf 'EXDEV\nTrue 2')" "a link to a host file is EXDEV; a link between files made inside is a real link"
# A host file the program has not changed keeps its inode number, in a copy-on-write overlay
# (the work directory) as in a read-only view (/usr for an unprivileged caller): the overlays
# are mounted xino=off, which a kernel built with CONFIG_OVERLAY_FS_XINO_AUTO would otherwise
# turn on for the views, putting a layer number in the top bits of every st_ino.
same "a host file's inode number" "import os, sys
for p in (sys.executable, '/etc/passwd', '$T/work/hostfile'):
    print(p, os.stat(os.path.realpath(p)).st_ino)"
# The tools without a copy fallback fail inside where they work bare (airlock(1), KNOWN
# LIMITATIONS: an unprivileged overlay cannot keep one inode number for both names).
mkdir -p "$T/work/tree/sub" && echo t >"$T/work/tree/sub/f"
links='ln hostfile ln.out && echo ln ok; cp -al tree tree.out && echo cp ok'
want=$(printf 'ln ok\ncp ok')
if [ -d "$T/repo" ]; then
	links="$links; git clone -q --local \"\$1\" clone.local && echo clone ok"
	want=$(printf '%s\nclone ok' "$want")
fi
bare=$(cd "$T/work" && sh -c "$links" _ "$T/repo" 2>&1)
rm -rf "$T/work/ln.out" "$T/work/tree.out" "$T/work/clone.local"
is "$bare" "$want" "bare, ln, cp -al and git clone --local of host files work"
inside=$(cd "$T/work" && al_run -- sh -c "$links" _ "$T/repo" 2>&1 | grep -v '^airlock:')
check "inside, ln of a host file fails with EXDEV" \
	grep -q "ln: failed to create hard link 'ln.out' => 'hostfile': Invalid cross-device link" <<<"$inside"
check "inside, cp -al of a host tree fails with EXDEV" \
	grep -q "cp: cannot create hard link 'tree.out/sub/f' to 'tree/sub/f': Invalid cross-device link" <<<"$inside"
if [ -d "$T/repo" ]; then
	check "inside, git clone --local fails with EXDEV" \
		grep -q "fatal: failed to create link '.*': Invalid cross-device link" <<<"$inside"
fi
is "$(grep -c ' ok$' <<<"$inside")" 0 "... and none of them succeeds inside"

# Each copy-on-write overlay is a filesystem of its own: a rename from /tmp to /var/tmp, one
# filesystem bare, is EXDEV inside, as between two filesystems, and mv copies (airlock(1),
# KNOWN LIMITATIONS).
xdev='
import os, errno, sys
src, dst = sys.argv[1], sys.argv[2]
open(src, "w").write("x")
print(os.stat("/tmp").st_dev == os.stat("/var/tmp").st_dev)
try:
    os.rename(src, dst); print("renamed"); os.unlink(dst)
except OSError as e:
    print(errno.errorcode[e.errno]); os.unlink(src)'
xname=airlock-test-xdev.$$
bare=$("$PY" -c "$xdev" "$T/work/$xname" "/var/tmp/$xname" 2>&1)
if [ "$bare" = "$(printf 'True\nrenamed')" ]; then
	out=$(al_run -- "$PY" -c "$xdev" "$T/work/$xname" "/var/tmp/$xname" 2>/dev/null)
	is "$out" "$(printf 'False\nEXDEV')" "os.rename from /tmp to /var/tmp: EXDEV inside, as documented"
	out=$(al_run -- sh -c 'echo x >"$1" && mv "$1" "$2" && cat "$2"' _ "$T/work/$xname" \
		"/var/tmp/$xname" 2>/dev/null)
	is "$out" x "... and mv copies"
else
	skip "os.rename from /tmp to /var/tmp inside" "they are not one filesystem here ($bare)"
fi

# airlock inside airlock: one clear line, not a message about overlays or whiteouts.
al_run -- "$AIRLOCK" run --review never -- true >/dev/null 2>"$T/nested.err"
is "$?" 125 "airlock inside airlock exits 125"
check "... saying that nesting is not supported" grep -q "^airlock: cannot run inside an airlock sandbox (session [0-9a-f-]*): nesting is not supported" "$T/nested.err"
is "$(grep -c '^airlock: cannot' "$T/nested.err")" 1 "... in one line"
is "$(al_run -- sh -c 'echo "$AIRLOCK_SESSION"' 2>/dev/null)" "$(last_session)" "the sandbox names its session in AIRLOCK_SESSION"

# Interfaces: NETLINK_ROUTE reads the sandbox's own network (loopback only); changes need
# CAP_NET_ADMIN, which the program has not; other netlink protocols are refused.
out=$(al_run -- "$PY" -c '
import socket, errno
print(socket.if_nameindex())
s = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, socket.NETLINK_ROUTE)
print("route ok")
try:
    socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, 9)  # NETLINK_AUDIT
    print("audit opened")
except OSError as e:
    print(errno.errorcode[e.errno])' 2>/dev/null)
is "$out" "$(printf "[(1, 'lo')]\nroute ok\nEPROTONOSUPPORT")" "if_nameindex shows the sandbox's loopback; other netlink protocols are refused"
if command -v ip >/dev/null 2>&1; then
	out=$(al_run -- sh -c 'ip -o addr show lo | grep -c "inet 127.0.0.1"; ip link set lo down 2>/dev/null; echo $?' 2>/dev/null)
	is "$out" "$(printf '1\n2')" "ip addr reads the sandbox's interfaces; ip link set is refused"
else
	skip "ip addr inside" "iproute2 is not installed"
fi

# Renaming a directory from the host (os.rename, fs.renameSync, git mv): the overlay alone
# says EXDEV; airlock renames it, and the program sees what it sees bare (dirrename.sh has
# the rest).
mkdir -p "$T/mvbare" "$T/work/mvin"
for d in "$T/mvbare" "$T/work/mvin"; do
	mkdir -p "$d/py/sub" "$d/js/sub" && echo a >"$d/py/sub/a" && echo b >"$d/js/sub/b" &&
		ln -s sub/a "$d/py/l" && chmod 700 "$d/py/sub"
done
mvpy='
import os
os.rename("py", "py2")
for r, ds, fs in sorted(os.walk("py2")):
    for n in sorted(ds + fs):
        p = os.path.join(r, n)
        print(p, oct(os.lstat(p).st_mode), os.readlink(p) if os.path.islink(p) else "")
print(os.path.exists("py"))'
bare=$(cd "$T/mvbare" && "$PY" -c "$mvpy" 2>&1)
inside=$(cd "$T/work/mvin" && al_run -- "$PY" -c "$mvpy" 2>/dev/null)
is "$inside" "$bare" "os.rename of a host directory: inside as bare"
if command -v node >/dev/null 2>&1; then
	mvjs='const fs = require("fs"); fs.renameSync("js", "js2"); console.log(fs.readdirSync("js2/sub"), fs.existsSync("js"))'
	bare=$(cd "$T/mvbare" && node -e "$mvjs" 2>&1)
	inside=$(cd "$T/work/mvin" && al_run -- node -e "$mvjs" 2>/dev/null)
	is "$inside" "$bare" "Node's fs.renameSync of a host directory: inside as bare"
else
	skip "Node's fs.renameSync of a host directory" "node is not installed"
fi

# Top-level entries: the host's type and mode inside as bare. Directories also get the same
# access checks and their owner as the user namespace maps it (another user's shows as the
# overflow id), except where airlock(1) says otherwise: a directory the caller may write (the
# top of a writable overlay is the caller's, so that /tmp works) and the read-only skeleton
# made for a directory with a mount below it (its own entries are EROFS).
top='
import os, stat, sys
me = os.geteuid()
skel = set(sys.argv[1:])
for name in sorted(os.listdir("/")):
    p = "/" + name
    if p in ("/proc", "/sys", "/dev"):
        continue
    st = os.lstat(p)
    line = "%s %o %o" % (p, stat.S_IFMT(st.st_mode), stat.S_IMODE(st.st_mode))
    if stat.S_ISDIR(st.st_mode) and p not in skel:
        acc = "".join(c if os.access(p, m) else "-"
                      for c, m in (("r", os.R_OK), ("w", os.W_OK), ("x", os.X_OK)))
        line += " " + acc
        if acc[1] == "-":
            line += " owner=%s" % ("me" if st.st_uid == me else "other")
    print(line)
'
skel=$(awk '{print $5}' /proc/self/mountinfo | awk -F/ 'NF > 2 {print "/" $2}' | sort -u)
# shellcheck disable=SC2086
bare=$("$PY" -c "$top" $skel 2>&1)
# shellcheck disable=SC2086
inside=$(al_run -- "$PY" -c "$top" $skel 2>/dev/null)
is "$(echo "$inside" | sed 's/ owner=.*//')" "$(echo "$bare" | sed 's/ owner=.*//')" \
	"top-level entries: the host's type and mode inside, and for directories the same access"
is "$inside" "$bare" "top-level directories the caller cannot write show their owner as mapped"
if [ "$(id -u)" -ne 0 ]; then
	# Changes the host refuses the caller: the host's errno inside, not the read-only view's
	# EROFS (a program that catches PermissionError must not crash on OSError).
	same "changes in directories the caller cannot change" '
import os, errno
def t(name, f):
    try:
        f(); print(name, "ok")
    except OSError as e:
        print(name, errno.errorcode[e.errno])
t("mkdir /usr/x", lambda: os.mkdir("/usr/airlock-test-x"))
t("create /etc/x", lambda: open("/etc/airlock-test-x", "w"))
t("write /etc/passwd", lambda: open("/etc/passwd", "a"))
t("unlink /etc/passwd", lambda: os.unlink("/etc/passwd"))
t("rename in /etc", lambda: os.rename("/etc/passwd", "/etc/airlock-test-x"))
t("chmod /etc/passwd", lambda: os.chmod("/etc/passwd", 0o777))
t("chmod /usr", lambda: os.chmod("/usr", 0o777))
t("symlink in /usr/lib", lambda: os.symlink("a", "/usr/lib/airlock-test-x"))
t("access W /usr", lambda: os.access("/usr", os.W_OK) and os.mkdir("/"))
t("listdir /root", lambda: os.listdir("/root"))
# The kernel checks these before any permission: EISDIR, ENOTDIR, ENOENT, EEXIST.
t("open /etc for writing", lambda: os.open("/etc", os.O_WRONLY))
t("open /etc O_CREAT", lambda: os.open("/etc", os.O_WRONLY | os.O_CREAT))
t("open below a file", lambda: os.open("/bin/sh/x", os.O_WRONLY | os.O_CREAT))
t("open a missing file for writing", lambda: os.open("/etc/airlock-test-x", os.O_WRONLY))
t("open /etc/passwd O_EXCL", lambda: os.open("/etc/passwd", os.O_WRONLY | os.O_CREAT | os.O_EXCL))
t("unlink a missing file", lambda: os.unlink("/etc/airlock-test-x"))
t("rmdir a missing directory", lambda: os.rmdir("/usr/airlock-test-x"))
t("rename a missing file", lambda: os.rename("/etc/airlock-test-x", "/etc/airlock-test-y"))
t("mkdir /usr/lib", lambda: os.mkdir("/usr/lib"))
t("mkdir below a missing directory", lambda: os.mkdir("/usr/airlock-test-x/y"))
t("symlink over /etc/passwd", lambda: os.symlink("x", "/etc/passwd"))
t("truncate /usr", lambda: os.truncate("/usr", 0))'
	# A directory of another user's that the caller may write, below one it cannot change,
	# gets an overlay of its own: the change is held, not refused with EOVERFLOW.
	if [ -d /var/tmp ] && [ -w /var/tmp ] && [ ! -O /var/tmp ]; then
		out=$(al_run -- sh -c 'mkdir /var/tmp/airlock-test-held.$$ && echo made' 2>/dev/null)
		is "$out" made "a directory made in /var/tmp is held"
		check "... and not on the host" sh -c '! ls -d /var/tmp/airlock-test-held.* 2>/dev/null'
	fi
fi

done_testing
