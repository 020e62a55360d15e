#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Memory that no process maps: data queued in the sandbox's sockets (socketpairs, TCP and UDP over
# the sandbox's own loopback, datagrams) counts against --memory, so a program that parks its
# memory in kernel buffers is stopped like any memory hog. Every program here stops itself at
# 1.2 GiB in all, so that a broken limit fails the test instead of hurting the machine.
. "$(dirname "$0")/../lib.sh"
require_sandbox
cd "$T/work" || exit 1

# hog NAME PROGRAM: run PROGRAM (Python) under --memory 200M; sets rc and ms.
hog() {
	local name=$1 start
	start=$(date +%s%N)
	timeout -k 5 90 "$AIRLOCK" run --review never --ask deny --json --memory 200M -- \
		"$PY" -c "$2" >"$T/$name.json" 2>"$T/$name.err"
	rc=$?
	ms=$((($(date +%s%N) - start) / 1000000))
}

# stopped NAME DESC: the run ended at the memory limit, before the program said it held all.
stopped() {
	is "$rc" 137 "$2: the run is stopped (137)"
	is "$(jf "$1" 'j["limit"]')" memory "$2: the limit named is memory"
	is "$(jf "$1" '"all held" in j["stdout"]')" False "$2: stopped before it held 1.2 GiB"
	if [ "$ms" -lt 60000 ]; then ok "$2: within 60 s"; else not_ok "$2: within 60 s ($ms ms)"; fi
}

# 8 processes fill Unix socketpairs of type KIND (each stops at 150 MiB, or when out of
# descriptors) and hold them.
pairs='
import os, socket, time
kind = socket.KIND
kids = []
for k in range(8):
    pid = os.fork()
    if pid == 0:
        held, total = [], 0
        try:
            while total < (150 << 20):
                a, b = socket.socketpair(socket.AF_UNIX, kind)
                if kind == socket.SOCK_STREAM:
                    a.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 1 << 22)
                a.setblocking(False)
                held.append((a, b))
                try:
                    while True:
                        total += a.send(b"z" * (65536 if kind == socket.SOCK_STREAM else 32768))
                except BlockingIOError:
                    pass
        except OSError:
            pass  # out of descriptors: hold what there is
        time.sleep(20)
        os._exit(0)
    kids.append(pid)
for p in kids:
    os.waitpid(p, 0)
print("all held")'

hog unix "${pairs/KIND/SOCK_STREAM}"
stopped unix "8 processes filling socketpairs under --memory 200M"

hog dgram "${pairs/KIND/SOCK_DGRAM}"
stopped dgram "Unix datagrams queued unread"

hog tcp '
import os, socket, time
srv = socket.socket()
srv.bind(("127.0.0.1", 0))
srv.listen(1024)
port = srv.getsockname()[1]
held, total = [], 0
while total < (1200 << 20):
    c = socket.create_connection(("127.0.0.1", port))
    s, _ = srv.accept()
    c.setblocking(False)
    held.append((c, s))
    try:
        while True:
            total += c.send(b"t" * 65536)
    except BlockingIOError:
        pass
time.sleep(20)
print("all held")'
stopped tcp "TCP over the sandbox's loopback, never read"

# UDP datagrams a socket sends itself and never reads. The namespace always has one UDP socket,
# the resolver's, which the supervisor reads without a UDP dump while it is the only one: the
# sandbox's own sockets must still be dumped and counted. A full queue drops a datagram
# without an error, so each socket gets 20 of them.
hog udp '
import socket, time
held, total = [], 0
try:
    while total < (1200 << 20):
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 22)
        s.bind(("127.0.0.1", 0))
        held.append(s)
        for i in range(20):
            total += s.sendto(b"u" * 32768, s.getsockname())
except OSError:
    pass  # out of descriptors: hold what there is
time.sleep(20)
print("all held")'
stopped udp "UDP datagrams over the sandbox's loopback, never read"

# A program that uses sockets normally is not stopped.
hog normal '
import socket
a, b = socket.socketpair()
for i in range(1000):
    a.sendall(b"n" * 4096)
    assert len(b.recv(4096)) > 0
print("fine")'
is "$rc" 0 "ordinary socket traffic under --memory 200M runs to its end"
is "$(jf normal 'j["limit"]')" None "ordinary socket traffic: no limit"

done_testing
