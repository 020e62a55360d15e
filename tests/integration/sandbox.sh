#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The sandbox's view: hidden secrets and store, the network, exit statuses, the environment,
# read-only and scratch paths.
. "$(dirname "$0")/../lib.sh"
require_sandbox
cd "$T/work" || exit 1

# --- secrets and the store -------------------------------------------------------------
made_ssh=
if [ ! -e "$HOME/.ssh" ]; then
	mkdir -p "$HOME/.ssh" && echo "PRIVATE KEY" >"$HOME/.ssh/id_rsa" && made_ssh=1
fi
trap '[ -n "$made_ssh" ] && rm -rf "$HOME/.ssh"; cleanup_scratch' EXIT
out=$(al_run -- "$PY" -c '
import os, sys
home = os.path.expanduser("~")
print("ssh-visible" if os.path.exists(os.path.join(home, ".ssh")) else "ssh-absent")
try:
    open(os.path.join(home, ".ssh", "id_rsa")).read(); print("key-read")
except FileNotFoundError:
    print("key-enoent")
store = sys.argv[1]
print("store-visible" if os.path.exists(store) else "store-absent")
print("store-listed" if os.path.basename(store) in os.listdir(os.path.dirname(store)) else "store-unlisted")
' "$AIRLOCK_STATE_DIR" 2>/dev/null)
is "$(echo $out)" "ssh-absent key-enoent store-absent store-unlisted" \
	"~/.ssh and the session store are absent inside (ENOENT)"

mkdir -p "$T/secret-dir" && echo s3cret >"$T/secret-dir/token"
out=$(al_run --hide "$T/secret-dir" -- cat "$T/secret-dir/token" 2>&1)
case $out in *s3cret*) not_ok "--hide makes a path absent" ;; *"No such file"*) ok "--hide makes a path absent" ;; *) not_ok "--hide ($out)" ;; esac

# A program that recreates a hidden path gets an empty new one; the host keeps its own.
al_run --hide "$T/secret-dir" -- sh -c "mkdir -p '$T/secret-dir' && echo fake > '$T/secret-dir/token'" 2>/dev/null
is "$(cat "$T/secret-dir/token")" s3cret "recreating a hidden path inside does not touch the host"

# --- read-only and scratch -------------------------------------------------------------
echo keep >"$T/work/ro.txt"
out=$(al_run --readonly "$T/work/ro.txt" -- "$PY" -c '
import errno
try:
    open("ro.txt", "w").write("x"); print("written")
except OSError as e:
    print(errno.errorcode[e.errno])' 2>/dev/null)
is "$out" EROFS "--readonly: writes fail with EROFS"
mkdir -p "$T/work/cache" && echo old >"$T/work/cache/c.txt"
out=$(al_run --scratch "$T/work/cache" -- sh -c 'cat cache/c.txt; echo new > cache/c.txt; cat cache/c.txt' 2>/dev/null)
is "$(echo $out)" "old new" "--scratch: lower content visible, writable inside"
is "$(cat "$T/work/cache/c.txt")" old "--scratch: host untouched"
n=$("$AIRLOCK" show --json | json_get - 'len([c for c in j["changes"] if "cache" in c["path"]])')
is "$n" 0 "--scratch: changes are never reviewed"

# --- the network -----------------------------------------------------------------------
port_file=$T/port
"$PY" - "$port_file" "$T/server.log" <<'PY' &
import socket, sys, time
s = socket.socket(); s.bind(("127.0.0.1", 0)); s.listen(5); s.settimeout(20)
open(sys.argv[1] + ".tmp", "w").write(str(s.getsockname()[1]))
import os; os.rename(sys.argv[1] + ".tmp", sys.argv[1])
log = open(sys.argv[2], "a")
try:
    while True:
        c, a = s.accept(); log.write("connection\n"); log.flush(); c.close()
except socket.timeout:
    pass
PY
server=$!
wait_for 10 test -s "$port_file"
port=$(cat "$port_file")
out=$(al_run -- "$PY" -c '
import socket, sys, errno
s = socket.socket(); s.settimeout(3)
try:
    s.connect(("127.0.0.1", int(sys.argv[1]))); print("connected")
except OSError as e:
    print(errno.errorcode.get(e.errno, str(e)))' "$port" 2>/dev/null)
is "$out" ECONNREFUSED "127.0.0.1 inside is the sandbox's own loopback (nothing listens there)"
hostip=$(hostname -I 2>/dev/null | awk '{print $1}')
if [ -n "$hostip" ]; then
	out=$(al_run -- "$PY" -c '
import socket, sys, errno
s = socket.socket(); s.settimeout(3)
try:
    s.connect((sys.argv[1], int(sys.argv[2]))); print("connected")
except OSError as e:
    print(errno.errorcode.get(e.errno, str(e)))' "$hostip" "$port" 2>/dev/null)
	is "$out" EACCES "a connection to the host's address is refused (EACCES)"
	out=$(al_run -- "$PY" -c '
import socket, sys, errno
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
try:
    s.sendto(b"x", (sys.argv[1], 9)); print("sent")
except OSError as e:
    print(errno.errorcode.get(e.errno, str(e)))' "$hostip" 2>/dev/null)
	is "$out" EACCES "a datagram to an address outside is refused (EACCES)"
else
	skip "connection to the host's address" "no non-loopback address on this machine"
	skip "datagram to the host's address" "no non-loopback address on this machine"
fi
if [ -n "$hostip" ]; then
	# A server on the host's own address, and a thread flipping connect()'s sockaddr
	# between the sandbox's loopback and that address while the supervisor decides.
	"$PY" - "$hostip" "$T/race.port" "$T/race.log" <<'PY' &
import socket, sys, os
s = socket.socket(); s.bind((sys.argv[1], 0)); s.listen(64); s.settimeout(20)
open(sys.argv[2] + ".tmp", "w").write(str(s.getsockname()[1])); os.rename(sys.argv[2] + ".tmp", sys.argv[2])
try:
    while True:
        c, a = s.accept(); open(sys.argv[3], "a").write("connection\n"); c.close()
except socket.timeout:
    pass
PY
	rserver=$!
	wait_for 10 test -s "$T/race.port"
	al_run -- "$HELPERS/race_connect" "$hostip" "$(cat "$T/race.port")" 3000 >/dev/null 2>&1
	kill $rserver 2>/dev/null
	wait $rserver 2>/dev/null
	is "$(cat "$T/race.log" 2>/dev/null | wc -l)" 0 \
		"racing connect() addresses never reach the host's address"
else
	skip "racing connect() addresses" "no non-loopback address on this machine"
fi
is "$(cat "$T/server.log" 2>/dev/null | wc -l)" 0 "the host's server received nothing"
kill $server 2>/dev/null
wait $server 2>/dev/null
conns=$("$AIRLOCK" show --json | json_get - '" ".join(c["decision"] + ":" + c["target"] for c in j["connections"])')
case $conns in *deny:*) ok "denied connections are recorded with their target" ;; *) not_ok "connections recorded ($conns)" ;; esac
# Servers the program runs itself, inside: tests/integration/network.sh.
"$PY" - "$T/host.sock" "$T/unix.log" <<'PY' &
import socket, sys, os
s = socket.socket(socket.AF_UNIX); s.bind(sys.argv[1]); s.listen(5); s.settimeout(15)
try:
    while True:
        c, _ = s.accept(); open(sys.argv[2], "a").write("connection\n"); c.close()
except socket.timeout:
    pass
PY
userver=$!
wait_for 10 test -S "$T/host.sock"
out=$(al_run -- "$PY" -c '
import socket, sys, errno
c = socket.socket(socket.AF_UNIX)
try:
    c.connect(sys.argv[1]); print("connected")
except OSError as e:
    print(errno.errorcode.get(e.errno, str(e)))' "$T/host.sock" 2>/dev/null)
is "$out" EACCES "a host Unix socket is refused without a rule (EACCES)"
kill $userver 2>/dev/null
wait $userver 2>/dev/null
is "$(cat "$T/unix.log" 2>/dev/null | wc -l)" 0 "the host's Unix socket server received nothing"

# --- exit statuses ---------------------------------------------------------------------
al_run -- sh -c 'exit 7' 2>/dev/null
is "$?" 7 "the command's exit status comes back"
al_run -- sh -c 'kill -TERM $$' 2>/dev/null
is "$?" 143 "death by signal N gives 128+N"
al_run -- no-such-command-airlock 2>"$T/err"
is "$?" 127 "a missing command gives 127"
check "the message names the missing command" grep -q "no-such-command-airlock: command not found" "$T/err"
printf '#!/bin/sh\necho hi\n' >"$T/work/noexec.sh"
chmod 644 "$T/work/noexec.sh"
al_run -- ./noexec.sh 2>/dev/null
is "$?" 126 "a file that cannot be executed gives 126"
"$AIRLOCK" run --no-such-option -- true 2>/dev/null
is "$?" 125 "a bad option gives 125"
"$AIRLOCK" run --rules /dev/null -- true 2>"$T/err"
is "$?" 125 "a rules file that is not a regular file is refused"
check "the refusal names it" grep -q "/dev/null: not a regular file" "$T/err"
al_run --timeout 1s -- sleep 30 2>/dev/null
is "$?" 124 "--timeout ends the command with 124"

# --- the environment -------------------------------------------------------------------
out=$(MY_API_TOKEN=tok123 AIRLOCK_TEST_FOO=bar LANG=C.UTF-8 al_run -- sh -c 'echo "${MY_API_TOKEN:-absent} ${AIRLOCK_TEST_FOO:-absent} ${LANG:-absent}"' 2>/dev/null)
is "$out" "absent absent C.UTF-8" "the environment is scrubbed to the allowlist"
out=$(MY_API_TOKEN=tok123 al_run --env MY_API_TOKEN --env EXTRA=1 -- sh -c 'echo "$MY_API_TOKEN $EXTRA"' 2>/dev/null)
is "$out" "tok123 1" "--env passes or sets a variable"
out=$(AIRLOCK_TEST_FOO=bar al_run --keep-env -- sh -c 'echo "$AIRLOCK_TEST_FOO"' 2>/dev/null)
is "$out" bar "--keep-env passes everything"

# --- signals during notified calls (sandlock #235) ---------------------------------------
out=$(al_run -- "$HELPERS/signal_storm" "$T/work" 2000 2>/dev/null)
is "$out" "0 0" "a signal storm during notified opens: with SA_RESTART no open fails"
out=$(al_run -- "$HELPERS/signal_storm" "$T/work" 2000 norestart 2>/dev/null)
case $out in "0 0" | *" 0") ok "without SA_RESTART an interrupted open fails only with EINTR ($out)" ;;
*) not_ok "without SA_RESTART an interrupted open fails only with EINTR ($out)" ;; esac

# --- the process view ------------------------------------------------------------------
out=$(al_run -- "$PY" -c '
import os
print(os.getpid(), len([p for p in os.listdir("/proc") if p.isdigit()]) <= 3, os.getuid() == int(os.environ.get("UID_WANT", os.getuid())))' 2>/dev/null)
is "$out" "3 True True" "the command is pid 3 of its own pid namespace and sees only the sandbox"
out=$(al_run -- sh -c 'test -c /dev/null && test -c /dev/urandom && test ! -e /dev/sda && test ! -e /dev/kmsg && echo dev-ok' 2>/dev/null)
is "$out" dev-ok "a minimal /dev"
out=$(al_run -- sh -c 'echo x > /sys/kernel/new 2>/dev/null || echo sys-ro' 2>/dev/null)
is "$out" sys-ro "/sys is read-only"

done_testing
