#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# A connection the supervisor makes for the program keeps what the program set on its socket
# before connecting: the socket options it carries (net.c) and the descriptor's flags, blocking
# mode and close-on-exec. The supervisor skips work it can prove unneeded (an option equal to a
# fresh host socket's, a flag read back from a socket it made itself); these checks show a
# program cannot tell, nor slip a setting past it. Only this machine's loopback is used.
. "$(dirname "$0")/../lib.sh"
require_sandbox

W=$T/work
cd "$W" || exit 1
# shellcheck source=tests/netlib.sh
. "$TOP/tests/netlib.sh"

start_srv echo tcp 127.0.0.1
P=$(port echo)
rules allow "allow connect 127.0.0.1:$P"

# opts.py PORT MODE: a TCP socket with options set before connect; after the connect (made by
# the supervisor inside airlock) print what the socket now holds. MODE: "blocking",
# "nonblocking" (connect in progress, then waited for) or "inheritable" (no FD_CLOEXEC).
cat >"$T/opts.py" <<'PY'
import errno, fcntl, os, select, socket, sys
port, mode = int(sys.argv[1]), sys.argv[2]
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)
s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
s.setsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPIDLE, 77)
s.setsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPCNT, 4)
s.setsockopt(socket.IPPROTO_IP, socket.IP_TOS, 0x10)
s.setsockopt(socket.IPPROTO_IP, socket.IP_TTL, 33)
if mode == "inheritable":
    os.set_inheritable(s.fileno(), True)
if mode == "nonblocking":
    s.setblocking(False)
    rc = s.connect_ex(("127.0.0.1", port))
    if rc not in (0, errno.EINPROGRESS):
        sys.exit("connect: " + errno.errorcode.get(rc, str(rc)))
    select.select([], [s], [], 5)
    err = s.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
    if err:
        sys.exit("connect: " + errno.errorcode.get(err, str(err)))
else:
    s.connect(("127.0.0.1", port))
fl = fcntl.fcntl(s.fileno(), fcntl.F_GETFL)
fd = fcntl.fcntl(s.fileno(), fcntl.F_GETFD)
print("keepalive=%d nodelay=%d keepidle=%d keepcnt=%d tos=%#x ttl=%d" % (
    s.getsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE),
    s.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY),
    s.getsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPIDLE),
    s.getsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPCNT),
    s.getsockopt(socket.IPPROTO_IP, socket.IP_TOS),
    s.getsockopt(socket.IPPROTO_IP, socket.IP_TTL)))
print("nonblock=%d cloexec=%d" % (bool(fl & os.O_NONBLOCK), bool(fd & fcntl.FD_CLOEXEC)))
s.setblocking(True)
s.sendall(b"ping")
print(s.recv(100).decode())
PY

want_opts="keepalive=1 nodelay=1 keepidle=77 keepcnt=4 tos=0x10 ttl=33"
# Bare, for the control: the same program prints the same lines directly.
is "$("$PY" "$T/opts.py" "$P" blocking | sed -n 1p)" "$want_opts" "bare: the options hold (control)"

for mode in blocking nonblocking inheritable; do
	before=$(seen echo conn)
	out=$(al_run -r "$T/allow.rules" -- "$PY" "$T/opts.py" "$P" "$mode" 2>"$T/err.$mode")
	is "$(sed -n 1p <<<"$out")" "$want_opts" \
		"$mode: every option set before connect holds on the connected socket"
	case $mode in
	blocking) flags="nonblock=0 cloexec=1" ;;
	nonblocking) flags="nonblock=1 cloexec=1" ;;
	inheritable) flags="nonblock=0 cloexec=0" ;;
	esac
	is "$(sed -n 2p <<<"$out")" "$flags" "$mode: the descriptor keeps its blocking mode and close-on-exec"
	is "$(sed -n 3p <<<"$out")" ping "$mode: the connection is the host's server's"
	is "$(seen echo conn)" $((before + 1)) "$mode: the host's server saw one connection"
done

# Options left at their defaults stay the kernel's: a fresh socket inside reads the same
# defaults after a connect as bare (none is copied over from a stale socket of an earlier
# connect).
cat >"$T/defaults.py" <<'PY'
import socket, sys
port = int(sys.argv[1])
a = socket.socket()
a.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
a.setsockopt(socket.IPPROTO_IP, socket.IP_TTL, 33)
a.connect(("127.0.0.1", port))
b = socket.socket()
b.connect(("127.0.0.1", port))
print("nodelay=%d ttl=%d" % (b.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY),
                             b.getsockopt(socket.IPPROTO_IP, socket.IP_TTL)))
PY
bare=$("$PY" "$T/defaults.py" "$P")
is "$(al_run -r "$T/allow.rules" -- "$PY" "$T/defaults.py" "$P" 2>/dev/null)" "$bare" \
	"a second socket left at its defaults gets none of the first one's options"

done_testing
