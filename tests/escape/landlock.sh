#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Landlock, the second wall (tracee/landlock.h). A host directory the program gets as a
# descriptor from a host socket it was allowed to reach lies outside every overlay: the
# supervisor's write decision (allowed, under ./**) trusts the overlay to bound the write, and
# without Landlock the write lands on the host, unrecorded. With Landlock it is refused. Also:
# signals to pid 1 are scoped while forwarding still works, what programs write still works,
# and meta.json records the domain.
. "$(dirname "$0")/../lib.sh"
require_sandbox
cd "$T/work" || exit 1

abi=$("$PY" -c 'import ctypes; print(ctypes.CDLL(None, use_errno=True).syscall(444, None, 0, 1))')
if [ "$abi" -lt 2 ]; then
	skip "Landlock" "the kernel's Landlock ABI is $abi (2 needed, Linux 5.19)"
	done_testing
	exit
fi

# --- a descriptor from outside: a host directory and a host file, passed over SCM_RIGHTS
cat >"$T/fdsrv.py" <<'PY'
import os, socket, sys
path, d, f = sys.argv[1:4]
s = socket.socket(socket.AF_UNIX); s.bind(path); s.listen(8)
open(path + ".ready", "w").close()
s.settimeout(60)
while True:
    c, _ = s.accept()
    fds = [os.open(d, os.O_RDONLY | os.O_DIRECTORY), os.open(f, os.O_RDONLY)]
    socket.send_fds(c, [b"fds"], fds)
    for fd in fds:
        os.close(fd)
    c.close()
PY
cat >"$T/fdcli.py" <<'PY'
import errno, os, socket, sys
c = socket.socket(socket.AF_UNIX); c.connect(sys.argv[1])
_, (d, f), _, _ = socket.recv_fds(c, 10, 2)
def attempt(what):
    try:
        what(); return "done"
    except OSError as e:
        return errno.errorcode.get(e.errno, str(e))
def create():
    fd = os.open("evil", os.O_CREAT | os.O_WRONLY, 0o644, dir_fd=d); os.write(fd, b"x")
def reopen():
    fd = os.open("/proc/self/fd/%d" % f, os.O_WRONLY | os.O_TRUNC); os.write(fd, b"PWNED")
print(attempt(create), attempt(lambda: os.mkdir("evil-dir", dir_fd=d)),
      attempt(lambda: os.unlink("keep", dir_fd=d)), attempt(reopen))
PY
mkdir -p hostdir && echo keep >hostdir/keep && echo original >hostfile
"$PY" "$T/fdsrv.py" "$T/fd.sock" "$T/work/hostdir" "$T/work/hostfile" &
srv=$!
tags+=("$T/fd.sock")
wait_for 10 test -e "$T/fd.sock.ready" || diag "the descriptor server did not start"
echo "allow connect unix:$T/fd.sock" >"$T/fd.rules"
host_state() { echo "$(ls hostdir | tr '\n' ' ')$(cat hostfile)"; }
# The program's own complaints, if any (airlock's session line aside).
errors() { grep -v '^airlock: session' "$1" | while IFS= read -r l; do diag "$l"; done; }

out=$(al_run -r "$T/fd.rules" -- "$PY" "$T/fdcli.py" "$T/fd.sock" 2>"$T/fd.err")
is "$out" "EACCES EACCES EACCES EACCES" \
	"through a host directory's descriptor: no create, mkdir, unlink; no reopening a host file for writing"
is "$(host_state)" "keep original" "  and the host directory and file are unchanged"
errors "$T/fd.err"

# The control: the same program without Landlock reaches the host, so the test can fail.
out=$(AIRLOCK_TEST_FEATURES_OFF=landlock al_run -r "$T/fd.rules" -- "$PY" "$T/fdcli.py" "$T/fd.sock" 2>/dev/null)
is "$out:$(host_state)" "done done done done:evil evil-dir PWNED" \
	"control: without Landlock it writes the host (the gap this wall closes; if the mounts close it too, find another)"

kill "$srv" 2>/dev/null
wait "$srv" 2>/dev/null

# --- signals: pid 1 is outside the command's domain, and still forwards to it
if [ "$abi" -ge 6 ]; then
	out=$(al_run -- "$PY" -c '
import errno, os, signal
try:
    os.kill(1, signal.SIGTERM); print("sent")
except OSError as e:
    print(errno.errorcode[e.errno])' 2>/dev/null)
	is "$out" EPERM "the command cannot signal pid 1 (LANDLOCK_SCOPE_SIGNAL)"
	out=$(al_run -- sh -c 'sh -c "sleep 30" & kill -TERM $! && wait $!; echo "child: $?"' 2>/dev/null)
	is "$out" "child: 143" "  and still signals its own children"
else
	skip "signal scoping" "ABI $abi (6 needed, Linux 6.12)"
fi
"$AIRLOCK" run --review never -- "$PY" -c '
import signal, sys, time
signal.signal(signal.SIGTERM, lambda *a: (print("got TERM", flush=True), sys.exit(3)))
print("ready", flush=True)
time.sleep(30)' >"$T/sig.out" 2>/dev/null &
pid=$!
wait_for 20 grep -q ready "$T/sig.out" || diag "the command did not start"
kill -TERM "$pid"
wait "$pid"
rc=$?
is "$(tail -1 "$T/sig.out"):$rc" "got TERM:3" "a signal to airlock is forwarded by pid 1 to the command"

# --- what programs write keeps working in the domain
out=$(al_run -- sh -c '
set -e
echo a > f && mkdir -p d/e && mv f d/e/g && ln d/e/g h && ln -s h s && : > h && mkfifo p
echo t > /tmp/airlock-landlock-$$ && rm /tmp/airlock-landlock-$$
echo m > /dev/shm/x && rm /dev/shm/x
echo n > /dev/null && echo 500 > /proc/self/oom_score_adj && echo ll > /proc/self/comm
echo to-stdout > /dev/stdout
'"$PY"' -c "import socket; socket.socket(socket.AF_UNIX).bind(\"sock\")"
echo all-written' 2>"$T/w.err" </dev/null)
is "$out" "to-stdout
all-written" "files, directories, renames, links, FIFOs, sockets, /tmp, /dev/shm, /dev/null, /proc/self and /dev/stdout"
errors "$T/w.err"
out=$(al_run -- sh -c 'echo hi > /dev/stdout && echo reopened >&2' 2>&1 >/dev/null | grep -v '^airlock:')
is "$out" reopened "stdout handed over as the host's /dev/null reopens through /proc/self/fd"

# --- the record and doctor
al_run -- true 2>/dev/null
want="True $abi"
[ "$abi" -ge 6 ] && want="$want ['abstract_unix_socket', 'signal']"
got=$("$PY" -c '
import json, sys
l = json.load(open(sys.argv[1]))["landlock"]
print(l["enforced"], l["abi"], *([l["scoped"]] if l["scoped"] else []))' "$AIRLOCK_STATE_DIR/sessions/$(last_session)/meta.json")
is "$got" "$want" "meta.json records the domain: enforced, the ABI, the scopes"
al_run --net host -- true 2>/dev/null
got=$("$PY" -c 'import json, sys; print(json.load(open(sys.argv[1]))["landlock"]["scoped"])' \
	"$AIRLOCK_STATE_DIR/sessions/$(last_session)/meta.json")
if [ "$abi" -ge 6 ]; then
	is "$got" "['signal']" "  under --net host abstract sockets are not scoped (the host's network is the program's)"
fi
AIRLOCK_TEST_FEATURES_OFF=landlock al_run -- true 2>/dev/null
got=$("$PY" -c 'import json, sys; l = json.load(open(sys.argv[1]))["landlock"]; print(l["enforced"], l["why"])' \
	"$AIRLOCK_STATE_DIR/sessions/$(last_session)/meta.json")
is "$got" "False turned off (AIRLOCK_TEST_FEATURES_OFF)" "  and says why when it is off"
check "doctor shows the wall" sh -c "'$AIRLOCK' doctor 2>/dev/null | grep -Eq '^Landlock: +ABI $abi: writes only in the overlays'"

done_testing
