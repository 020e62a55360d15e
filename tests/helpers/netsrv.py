#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Small servers on this machine's loopback for the network tests (standard library only).

    netsrv.py MODE ADDR PORTFILE LOG [NAME=IP...]

MODE is tcp (echo), udp (echo), unix (echo on the path ADDR), abstract (echo on the abstract
name ADDR) or dns (a fake upstream resolver: NAME=IP answers A queries for NAME with IP;
AAAA queries for a known name get an empty answer; every other name gets NXDOMAIN). ADDR for
tcp, udp and dns is an IP address of the loopback (127.0.0.1, ::1); the port is chosen by the
kernel and written to PORTFILE (atomically; for unix and abstract, "ready"). LOG gets one line
per connection ("conn"), per received chunk or datagram ("data N"), per DNS query ("query NAME
TYPE"). The server stops by itself after 60 seconds without traffic.
"""

import os
import socket
import struct
import sys
import threading

IDLE = 60


def ready(portfile, text):
    with open(portfile + ".tmp", "w") as f:
        f.write(text)
    os.rename(portfile + ".tmp", portfile)


def family(addr):
    return socket.AF_INET6 if ":" in addr else socket.AF_INET


def echo_stream(c, log):
    with c:
        while True:
            d = c.recv(65536)
            if not d:
                return
            log("data %d" % len(d))
            c.sendall(d)


def serve_stream(s, log):
    s.listen(64)
    s.settimeout(IDLE)
    try:
        while True:
            c, _ = s.accept()
            c.settimeout(IDLE)
            log("conn")
            threading.Thread(target=echo_stream, args=(c, log), daemon=True).start()
    except (socket.timeout, OSError):
        pass


def dns_name(q, off):
    labels = []
    while q[off]:
        n = q[off]
        labels.append(q[off + 1:off + 1 + n].decode("ascii", "replace").lower())
        off += 1 + n
    return ".".join(labels), off + 1


def serve_dns(s, log, table):
    s.settimeout(IDLE)
    try:
        while True:
            q, peer = s.recvfrom(4096)
            name, off = dns_name(q, 12)
            qtype, = struct.unpack("!H", q[off:off + 2])
            log("query %s %d" % (name, qtype))
            head = bytearray(q[:12])
            head[2] = 0x81
            head[3] = 0x80
            question = q[12:off + 4]
            answers = b""
            if name not in table:
                head[3] = 0x83  # NXDOMAIN
            elif qtype == 1:
                answers = (b"\xc0\x0c" + struct.pack("!HHIH", 1, 1, 60, 4) +
                           socket.inet_aton(table[name]))
            head[4:12] = struct.pack("!HHHH", 1, 1 if answers else 0, 0, 0)
            s.sendto(bytes(head) + question + answers, peer)
    except (socket.timeout, OSError):
        pass


def main():
    mode, addr, portfile, logpath = sys.argv[1:5]
    lock = threading.Lock()
    logf = open(logpath, "a")

    def log(line):
        with lock:
            logf.write(line + "\n")
            logf.flush()

    if mode == "tcp":
        s = socket.socket(family(addr), socket.SOCK_STREAM)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind((addr, 0))
        ready(portfile, str(s.getsockname()[1]))
        serve_stream(s, log)
    elif mode in ("unix", "abstract"):
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.bind(addr if mode == "unix" else "\0" + addr)
        ready(portfile, "ready")
        serve_stream(s, log)
    elif mode == "udp":
        s = socket.socket(family(addr), socket.SOCK_DGRAM)
        s.bind((addr, 0))
        ready(portfile, str(s.getsockname()[1]))
        s.settimeout(IDLE)
        try:
            while True:
                d, peer = s.recvfrom(65536)
                log("data %d" % len(d))
                s.sendto(d.upper(), peer)
        except (socket.timeout, OSError):
            pass
    elif mode == "dns":
        table = dict(a.split("=", 1) for a in sys.argv[5:])
        s = socket.socket(family(addr), socket.SOCK_DGRAM)
        s.bind((addr, 0))
        ready(portfile, str(s.getsockname()[1]))
        serve_dns(s, log, table)
    else:
        sys.exit("netsrv: unknown mode " + mode)


if __name__ == "__main__":
    main()
