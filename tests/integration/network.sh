#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The mediated network, live: servers on this machine's loopback (127.0.0.1, ::1, Unix and
# abstract sockets, a fake DNS upstream) and programs in real sandboxes trying to reach them.
# Only loopback destinations are ever used. Each server logs what reached it, so "denied"
# means the server saw nothing, not just that the program got an error.
. "$(dirname "$0")/../lib.sh"
require_sandbox

W=$T/work
cd "$W" || exit 1
# shellcheck source=tests/netlib.sh
. "$TOP/tests/netlib.sh"

cat >"$T/tcp.py" <<'PY'
import errno, socket, sys
host, port = sys.argv[1], int(sys.argv[2])
fam = socket.AF_INET6 if ":" in host else socket.AF_INET
s = socket.socket(fam); s.settimeout(5)
try:
    s.connect((host, port)); s.sendall(b"ping"); print(s.recv(100).decode())
except OSError as e:
    print(errno.errorcode.get(e.errno, str(e)))
PY

# --- TCP to a server on the host's 127.0.0.1 ----------------------------------------------
start_srv echo tcp 127.0.0.1
P=$(port echo)
out=$(al_run -- "$PY" "$T/tcp.py" 127.0.0.1 "$P" 2>/dev/null)
is "$out" ECONNREFUSED "127.0.0.1 is the sandbox's own loopback by default"
is "$(seen echo conn)" 0 "the host's server saw nothing"
rules allow "allow connect 127.0.0.1:$P"
out=$(al_run -r "$T/allow.rules" -- "$PY" "$T/tcp.py" 127.0.0.1 "$P" 2>/dev/null)
is "$out" ping "a rule naming the host's loopback port makes the exchange work"
is "$(seen echo conn)" 1 "the host's server saw one connection"
"$AIRLOCK" show --json last >"$T/allow.json"
is "$(jf allow "[(c['decision'], c['name'], c['address'], c['port'], c['protocol']) for c in j['connections'] if c.get('address')]")" \
	"[('allow', 'localhost', '127.0.0.1', $P, 'tcp')]" \
	"connections[] lists it with name, address, port, protocol and decision"
"$AIRLOCK" show last >"$T/allow.txt"
check "airlock show names it" grep -qE "allow +localhost = 127\.0\.0\.1:$P" "$T/allow.txt"

# A blocking socket (no timeout): the supervisor connects for it and answers when the
# handshake is done, at once when it finished during connect(); a refusal too.
cat >"$T/tcpblock.py" <<'PY'
import errno, socket, sys
s = socket.socket()
try:
    s.connect(("127.0.0.1", int(sys.argv[1])))
    print("blocking", s.getblocking(), "connected")
except OSError as e:
    print(errno.errorcode.get(e.errno, str(e)))
PY
closed=$("$PY" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
rules block "allow connect 127.0.0.1:$P
allow connect 127.0.0.1:$closed"
is "$(al_run -r "$T/block.rules" -- "$PY" "$T/tcpblock.py" "$P" 2>/dev/null)" \
	"blocking True connected" "a blocking connect to an allowed host port connects, still blocking"
is "$("$PY" "$T/tcpblock.py" "$closed")" ECONNREFUSED "bare, a closed host port refuses"
is "$(al_run -r "$T/block.rules" -- "$PY" "$T/tcpblock.py" "$closed" 2>/dev/null)" \
	ECONNREFUSED "inside, a blocking connect to a closed allowed host port is refused the same"

rules deny "allow connect 127.0.0.1:$P
deny connect localhost:$P"
out=$(al_run -r "$T/deny.rules" -- "$PY" "$T/tcp.py" 127.0.0.1 "$P" 2>/dev/null)
is "$out" ECONNREFUSED "a later deny keeps the connection inside"

# --- asks answered by a JSON controller
rules ask "ask connect 127.0.0.1:$P"
: >"$T/asks.jsonl"
out=$(AIRLOCK="$AIRLOCK" "$PY" "$TOP/examples/approver.py" --allow "connect:127.0.0.1:$P" \
	--log "$T/asks.jsonl" -- run --review never -r "$T/ask.rules" -- "$PY" "$T/tcp.py" \
	127.0.0.1 "$P" 2>/dev/null)
is "$out" ping "a JSON controller's allow holds"
is "$("$PY" -c 'import json,sys
a=json.loads(open(sys.argv[1]).readline())["ask"]
print(a["class"], a["target"], a["name"], a["address"], a["port"], a["protocol"])' "$T/asks.jsonl")" \
	"connect 127.0.0.1:$P localhost 127.0.0.1 $P tcp" "the ask carries target, name, address, port and protocol"
before=$(seen echo conn)
out=$(AIRLOCK="$AIRLOCK" "$PY" "$TOP/examples/approver.py" --deny "connect:*" -- \
	run --review never -r "$T/ask.rules" -- "$PY" "$T/tcp.py" 127.0.0.1 "$P" 2>/dev/null)
is "$out" EACCES "a JSON controller's deny holds (EACCES)"
is "$(seen echo conn)" "$before" "the denied connection never reached the server"
"$AIRLOCK" log --json last >"$T/ask.log"
is "$("$PY" -c 'import json,sys
e=[json.loads(l) for l in open(sys.argv[1]) if "\"asked\"" in l]
print(e[0]["decision"], e[0]["by"])' "$T/ask.log")" "deny approver" "the event says the approver denied it"

# --- non-blocking connect (asyncio), and a server the program runs itself
out=$(al_run -r "$T/allow.rules" -- "$PY" -c '
import asyncio, sys
async def main():
    r, w = await asyncio.open_connection("127.0.0.1", int(sys.argv[1]))
    w.write(b"async"); await w.drain()
    print((await r.read(100)).decode()); w.close()
asyncio.run(main())' "$P" 2>/dev/null)
is "$out" async "a non-blocking connect (asyncio) completes through the supervisor"
# own.py WORD [PORT]: a server of the program's own on its loopback, asked after an allowed
# connection to the host's PORT when one is given.
cat >"$T/own.py" <<'PY'
import socket, sys, threading
srv = socket.socket(); srv.bind(("127.0.0.1", 0)); srv.listen(1)
def serve():
    c, _ = srv.accept(); c.sendall(c.recv(100).upper()); c.close()
threading.Thread(target=serve).start()
if len(sys.argv) > 2:
    out = socket.create_connection(("127.0.0.1", int(sys.argv[2])), timeout=5)
    out.sendall(b"x"); out.recv(10)
c = socket.create_connection(srv.getsockname(), timeout=5); c.sendall(sys.argv[1].encode())
print(c.recv(100).decode())
PY
out=$(al_run -r "$T/allow.rules" -- "$PY" "$T/own.py" inside 2>/dev/null)
is "$out" INSIDE "a server the program starts on its own loopback works, with no rule for it"
out=$(al_run -r "$T/allow.rules" -- "$PY" "$T/own.py" after "$P" 2>/dev/null)
is "$out" AFTER "its own loopback still works once it holds a host connection"

# --- IPv6 loopback, v4-mapped addresses
start_srv echo6 tcp ::1
P6=$(port echo6)
out=$(al_run -- "$PY" "$T/tcp.py" ::1 "$P6" 2>/dev/null)
is "$out" ECONNREFUSED "::1 is the sandbox's own loopback by default"
rules allow6 "allow connect [::1]:$P6"
out=$(al_run -r "$T/allow6.rules" -- "$PY" "$T/tcp.py" ::1 "$P6" 2>/dev/null)
is "$out" ping "an IPv6 rule reaches the host's ::1"
is "$(seen echo6 conn)" 1 "the IPv6 server saw one connection"
before=$(seen echo conn)
out=$(al_run -r "$T/allow.rules" -- "$PY" "$T/tcp.py" ::ffff:127.0.0.1 "$P" 2>/dev/null)
is "$out" ping "::ffff:127.0.0.1 is matched as 127.0.0.1 (the IPv4 rule allows it)"
is "$(seen echo conn)" $((before + 1)) "the v4-mapped connection reached the IPv4 server"
before=$(seen echo conn)
out=$(al_run -r "$T/deny.rules" -- "$PY" "$T/tcp.py" ::ffff:127.0.0.1 "$P" 2>/dev/null)
is "$out" ECONNREFUSED "a deny of 127.0.0.1 holds for ::ffff:127.0.0.1"
is "$(seen echo conn)" "$before" "  and the server saw nothing"

# --- UDP
start_srv udp udp 127.0.0.1
PU=$(port udp)
cat >"$T/udp.py" <<'PY'
import errno, socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.settimeout(2)
try:
    s.sendto(b"dgram", ("127.0.0.1", int(sys.argv[1]))); print(s.recvfrom(100)[0].decode())
except socket.timeout:
    print("timeout")
except OSError as e:
    print(errno.errorcode.get(e.errno, str(e)))
PY
out=$(al_run -- "$PY" "$T/udp.py" "$PU" 2>/dev/null)
is "$out" timeout "a datagram to the host's port without a rule stays inside"
is "$(seen udp data)" 0 "the host's UDP server received nothing"
rules allowu "allow connect 127.0.0.1:$PU"
out=$(al_run -r "$T/allowu.rules" -- "$PY" "$T/udp.py" "$PU" 2>/dev/null)
is "$out" DGRAM "with a rule, the request goes out and the answer comes back"
is "$(seen udp data)" 1 "the UDP server received exactly one datagram"
out=$(al_run -r "$T/allowu.rules" -- "$PY" -c '
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.settimeout(2)
p = int(sys.argv[1])
n = s.sendmsg([b"a", b"bc"], [], 0, ("127.0.0.1", p))
print(n, s.recv(100).decode())' "$PU" 2>/dev/null)
is "$out" "3 ABC" "sendmsg with a destination: gathered pieces sent by the supervisor"

# --- DNS: a fake upstream, names decided by rules. svc.test's address is the host's loopback,
# which a name never opens (tests/escape/network.sh): the rule naming localhost does.
start_srv dns dns 127.0.0.1 svc.test=127.0.0.1
PD=$(port dns)
rules dns "allow connect svc.test:$P
deny connect denied.test
allow connect localhost:$P"
cat >"$T/dns.py" <<'PY'
import socket, sys
port = int(sys.argv[1])
try:
    ai = socket.getaddrinfo("svc.test", port, socket.AF_INET, socket.SOCK_STREAM)
    c = socket.create_connection(ai[0][4], timeout=5); c.sendall(b"named")
    print(ai[0][4][0], c.recv(100).decode())
except OSError as e:
    print("svc.test failed:", e)
try:
    socket.getaddrinfo("denied.test", port)
    print("denied.test resolved")
except socket.gaierror as e:
    print("denied.test:", "NXDOMAIN" if e.errno == socket.EAI_NONAME else e)
PY
out=$(al_run --dns-upstream "127.0.0.1:$PD" -r "$T/dns.rules" -- "$PY" "$T/dns.py" "$P" 2>/dev/null)
is "$out" "127.0.0.1 named
denied.test: NXDOMAIN" "a rule by name allows getaddrinfo + connect; a denied name gets NXDOMAIN"
check "the upstream was asked for svc.test" grep -q "^query svc.test 1" "$T/dns.log"
is "$(seen dns "query denied")" 0 "the denied name never reached the upstream"
sid=$(last_session)
"$AIRLOCK" log --json "$sid" >"$T/dns.events"
is "$("$PY" -c 'import json,sys
e=[json.loads(l) for l in open(sys.argv[1])]
q=[x for x in e if x.get("class")=="dns" and x.get("op")=="query"]
d=[x for x in q if x["target"]=="denied.test"]
s=[x for x in q if x["target"]=="svc.test" and x["type"]=="A"]
print(d[0]["decision"], d[0]["result"], d[0]["by"].endswith("dns.rules:2"), s[0]["decision"], s[0]["result"])' "$T/dns.events")" \
	"deny NXDOMAIN True allow forwarded" "each query is logged with its name, type and decision"
"$AIRLOCK" show --json "$sid" >"$T/dns.json"
is "$(jf dns "[(c['name'], c.get('names'), c['decision'], c['by'].endswith('dns.rules:3')) for c in j['connections'] if c.get('address')]")" \
	"[('localhost', ['svc.test'], 'allow', True)]" \
	"a loopback connection is decided as localhost; the name the program looked up is recorded"
out=$(al_run --net none --dns-upstream "127.0.0.1:$PD" -r "$T/dns.rules" -- "$PY" -c '
import socket
try:
    socket.getaddrinfo("svc.test", 80); print("resolved")
except socket.gaierror as e:
    print("NXDOMAIN" if e.errno == socket.EAI_NONAME else e)' 2>/dev/null)
is "$out" NXDOMAIN "--net none: every name is NXDOMAIN"

# --- races: a thread flips the address between an allowed and a denied destination
start_srv victim tcp 127.0.0.1
start_srv victimu udp 127.0.0.1
PV=$(port victim)
PVU=$(port victimu)
rules race "allow connect 127.0.0.1:$P
allow connect 127.0.0.1:$PU"
out=$(al_run -r "$T/race.rules" -- "$HELPERS/race_connect" connect 127.0.0.1 "$P" 127.0.0.1 "$PV" 3000 2>/dev/null)
case $out in '' | *[!0-9]*) not_ok "the connect race ran ($out)" ;; *) ok "the connect race ran: $out of 3000 connected" ;; esac
out=$(al_run -r "$T/race.rules" -- "$HELPERS/race_connect" sendto 127.0.0.1 "$PU" 127.0.0.1 "$PVU" 3000 2>/dev/null)
case $out in '' | *[!0-9]*) not_ok "the sendto race ran ($out)" ;; *) ok "the sendto race ran: $out of 3000 sent" ;; esac
is "$(seen victim conn):$(seen victim data)" "0:0" "racing connect(): the denied server never saw a connection or a byte"
is "$(seen victimu data)" 0 "racing sendto(): the denied server never received a datagram"

# --- Unix sockets
start_srv hostunix unix "$T/host.sock"
cat >"$T/unix.py" <<'PY'
import errno, socket, sys
c = socket.socket(socket.AF_UNIX); c.settimeout(5)
try:
    c.connect(sys.argv[1]); c.sendall(b"unix"); print(c.recv(100).decode())
except OSError as e:
    print(errno.errorcode.get(e.errno, str(e)))
PY
out=$(al_run -- "$PY" "$T/unix.py" "$T/host.sock" 2>/dev/null)
is "$out" EACCES "a host Unix socket is refused without a rule"
out=$(al_run -- "$PY" -c '
import os, socket, sys, errno
os.symlink(sys.argv[1], "link.sock")
c = socket.socket(socket.AF_UNIX)
try:
    c.connect("link.sock"); print("connected")
except OSError as e:
    print(errno.errorcode.get(e.errno, str(e)))' "$T/host.sock" 2>/dev/null)
is "$out" EACCES "  also through a symlink the program planted"
is "$(seen hostunix conn)" 0 "the host's Unix server saw nothing"
rules unix "allow connect unix:$T/host.sock"
out=$(al_run -r "$T/unix.rules" -- "$PY" "$T/unix.py" "$T/host.sock" 2>/dev/null)
is "$out" unix "a unix: rule lets the supervisor connect it"
mkdir -p "$T/run"
start_srv docker unix "$T/run/docker.sock"
out=$(al_run -- "$PY" "$T/unix.py" "$T/run/docker.sock" 2>/dev/null)
is "$out" EACCES "a docker.sock-style host socket is refused"
is "$(seen docker conn)" 0 "  and its server saw nothing"
start_srv abstract abstract "airlock-net-test-$$"
out=$(al_run -- "$PY" -c '
import errno, socket, sys
c = socket.socket(socket.AF_UNIX); c.settimeout(5)
try:
    c.connect("\0" + sys.argv[1]); print("connected")
except OSError as e:
    print(errno.errorcode.get(e.errno, str(e)))' "airlock-net-test-$$" 2>/dev/null)
is "$out" EACCES "a host abstract socket is refused without a rule"
is "$(seen abstract conn)" 0 "the host's abstract server saw nothing"
rules abstract "allow connect unix:@airlock-net-test-$$"
out=$(al_run -r "$T/abstract.rules" -- "$PY" -c '
import socket, sys
c = socket.socket(socket.AF_UNIX); c.settimeout(5)
c.connect("\0" + sys.argv[1]); c.sendall(b"abs"); print(c.recv(100).decode())' "airlock-net-test-$$" 2>/dev/null)
is "$out" abs "a unix:@NAME rule reaches the host's abstract socket"
out=$(al_run -- "$PY" -c '
import socket, threading, sys
name = "\0" + sys.argv[1]
srv = socket.socket(socket.AF_UNIX); srv.bind(name); srv.listen(1)
def serve():
    c, _ = srv.accept(); c.sendall(b"own-" + c.recv(10)); c.close()
threading.Thread(target=serve).start()
c = socket.socket(socket.AF_UNIX); c.connect(name); c.sendall(b"abs"); print(c.recv(100).decode())' "airlock-net-test-$$" 2>/dev/null)
is "$out" own-abs "an abstract name the program binds is its own, even when the host has one"
is "$(seen abstract conn)" 1 "  and the host's server saw only the allowed connection"
out=$(al_run -- "$PY" -c '
import socket, threading
srv = socket.socket(socket.AF_UNIX); srv.bind("own.sock"); srv.listen(1)
def serve():
    c, _ = srv.accept(); c.sendall(b"unix-ok"); c.close()
threading.Thread(target=serve).start()
c = socket.socket(socket.AF_UNIX); c.connect("own.sock"); print(c.recv(100).decode())' 2>/dev/null)
is "$out" unix-ok "a Unix socket the program binds inside works"
out=$(al_run -r "$T/allow.rules" -- "$PY" -c '
import os, socket, sys, threading
out = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=5)
out.sendall(b"x"); out.recv(10)
a, b = socket.socketpair()
r, w = os.pipe(); os.write(w, b"passed")
socket.send_fds(a, [b"fd"], [r])
msg, fds, _, _ = socket.recv_fds(b, 10, 1)
print(os.read(fds[0], 10).decode())
srv = socket.socket(socket.AF_UNIX); srv.bind("own2.sock"); srv.listen(1)
def serve():
    c, _ = srv.accept(); c.sendall(b"unix-after"); c.close()
threading.Thread(target=serve).start()
c = socket.socket(socket.AF_UNIX); c.connect("own2.sock"); print(c.recv(100).decode())' "$P" 2>/dev/null | paste -sd' ')
is "$out" "passed unix-after" \
	"once it holds a host connection: descriptors still pass (SCM_RIGHTS), Unix bind and connect work"

# --- hostile calls
out=$(al_run -- "$PY" -c '
import ctypes, errno, socket
libc = ctypes.CDLL(None, use_errno=True)
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
r = libc.sendmsg(s.fileno(), ctypes.c_void_p(16), 0)
print(r, errno.errorcode.get(ctypes.get_errno()))
class msghdr(ctypes.Structure):
    _fields_ = [("name", ctypes.c_void_p), ("namelen", ctypes.c_uint), ("iov", ctypes.c_void_p),
                ("iovlen", ctypes.c_size_t), ("control", ctypes.c_void_p),
                ("controllen", ctypes.c_size_t), ("flags", ctypes.c_int)]
m = msghdr(ctypes.c_void_p(16), 16, None, 0, None, 0, 0)
r = libc.sendmsg(s.fileno(), ctypes.byref(m), 0)
print(r, errno.errorcode.get(ctypes.get_errno()))' 2>/dev/null | paste -sd' ')
is "$out" "-1 EFAULT -1 EFAULT" "a malformed msghdr (bad header, bad name) gets EFAULT"
out=$(al_run -r "$T/allow.rules" -- "$PY" -c '
import errno, os, resource, socket, sys
port = int(sys.argv[1])
s = socket.socket()
high = os.dup2(s.fileno(), 200); s.close()
resource.setrlimit(resource.RLIMIT_NOFILE, (64, 1024))
held = []
try:
    while True:
        held.append(os.open("/dev/null", os.O_RDONLY))
except OSError:
    pass
t = socket.socket(fileno=high)
try:
    t.connect(("127.0.0.1", port)); print("connected")
except OSError as e:
    print(errno.errorcode.get(e.errno, str(e)))
for fd in held[:4]: os.close(fd)
u = socket.socket(); u.settimeout(5)
u.connect(("127.0.0.1", port)); u.sendall(b"after"); print(u.recv(10).decode())' "$P" 2>/dev/null | paste -sd' ')
case $out in "EMFILE after" | "EBADF after") ok "fd exhaustion during the install fails cleanly ($out), and the next connect works" ;;
*) not_ok "fd exhaustion during the install fails cleanly ($out)" ;; esac

# --- --net host: no isolation, still recorded
before=$(seen echo conn)
out=$(al_run --net host -- "$PY" "$T/tcp.py" 127.0.0.1 "$P" 2>/dev/null)
is "$out" ping "--net host reaches the host's loopback without a rule"
"$AIRLOCK" log --json last >"$T/host.log"
is "$("$PY" -c 'import json,sys
e=[json.loads(l) for l in open(sys.argv[1]) if "\"connect\"" in l]
print([(x["target"], x["decision"], x["by"]) for x in e if x["target"].startswith("127.0.0.1")][0])' "$T/host.log")" \
	"('127.0.0.1:$P', 'allow', '--net host')" "--net host records the connection"
out=$(al_run --net none -r "$T/allow.rules" -- "$PY" "$T/tcp.py" 127.0.0.1 "$P" 2>/dev/null)
is "$out" EACCES "--net none refuses even what a rule allows"
"$AIRLOCK" run --net sideways -- true 2>"$T/err"
is "$?" 125 "a bad --net is refused"
"$AIRLOCK" run --dns-upstream nowhere:53 -- true 2>"$T/err"
is "$?" 125 "a bad --dns-upstream is refused"
check "  saying what it expects" grep -q "expected ADDR or ADDR:PORT" "$T/err"

done_testing
