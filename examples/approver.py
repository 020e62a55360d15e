#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Answer airlock's asks over a socket: a template for agent frameworks.

airlock writes one JSON line per ask to the descriptor given with --ask fd:N:

    {"type": "ask", "id": 7, "class": "connect", "pid": 12, "argv": [...],
     "target": "93.184.216.34:443", "name": "example.com", "rule": "<defaults>:2", ...}

and reads one answer line per ask:

    {"id": 7, "decision": "allow" | "deny", "remember": "once" | "session"}

An ask not answered within airlock's --ask-timeout (60 s by default) is denied. This script
starts `airlock ARGS...` with one end of a socket pair as that descriptor, decides each ask
(from --allow/--deny patterns, else by asking on the terminal, else with --default), and
passes airlock's own output and exit status through. Standard library only.

    examples/approver.py --allow 'exec:/usr/bin/git status*' -- run --json -- python3 step.py
    examples/approver.py --default deny --log asks.jsonl -- run -- python3 agent.py

A pattern is CLASS:GLOB, matched (fnmatch) against "TARGET" and, for connections, the host
name as well; "*:*" matches everything. --deny patterns win over --allow patterns.
"""

import argparse
import fnmatch
import json
import os
import socket
import subprocess
import sys


def matches(patterns, ask):
    cls = ask.get("class", "")
    words = [ask.get("target") or ""]
    if ask.get("name"):
        words.append(ask["name"])
    if ask.get("command"):
        words.append(" ".join(ask["command"]))
    for pat in patterns:
        pcls, _, glob = pat.partition(":")
        if pcls not in ("*", cls):
            continue
        if any(fnmatch.fnmatchcase(w, glob) for w in words):
            return True
    return False


def ask_person(ask):
    """Ask on the controlling terminal; None when there is none."""
    try:
        tty = open("/dev/tty", "r+")
    except OSError:
        return None
    with tty:
        who = " ".join(ask.get("argv") or []) or "?"
        what = ask.get("target", "?")
        if ask.get("name"):
            what = "%s (%s)" % (ask["name"], what)
        if ask.get("command"):
            what = " ".join(ask["command"])
        # Everything in an ask comes from the sandboxed program: never print it raw.
        clean = lambda s: s.encode("unicode_escape", "backslashreplace").decode("ascii")
        tty.write("\nairlock asks: pid %s (%s) wants %s %s\n"
                  % (ask.get("pid"), clean(who)[:200], ask.get("class"), clean(what)[:400]))
        tty.write("allow? [y]es once, [a]lways this session, [n]o, [d]eny this session: ")
        tty.flush()
        reply = tty.readline().strip().lower()
    return {"y": ("allow", "once"), "a": ("allow", "session"),
            "d": ("deny", "session")}.get(reply, ("deny", "once"))


def decide(opts, ask):
    if matches(opts.deny, ask):
        return "deny", "session"
    if matches(opts.allow, ask):
        return "allow", "session"
    if opts.default == "ask":
        answer = ask_person(ask)
        if answer:
            return answer
        return "deny", "once"
    return opts.default, "once"


def serve(sock, opts, log):
    buf = b""
    with sock:
        while True:
            data = sock.recv(65536)
            if not data:
                return  # airlock closed its end: the run is over
            buf += data
            while b"\n" in buf:
                line, buf = buf.split(b"\n", 1)
                try:
                    ask = json.loads(line)
                except ValueError:
                    continue
                if ask.get("type") != "ask":
                    continue
                decision, remember = decide(opts, ask)
                answer = {"id": ask["id"], "decision": decision, "remember": remember}
                sock.sendall((json.dumps(answer) + "\n").encode())
                if log:
                    log.write(json.dumps({"ask": ask, "answer": answer}) + "\n")
                    log.flush()


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--airlock", default=os.environ.get("AIRLOCK", "airlock"),
                   help="the airlock binary (default: $AIRLOCK or airlock in PATH)")
    p.add_argument("--allow", action="append", default=[], metavar="CLASS:GLOB")
    p.add_argument("--deny", action="append", default=[], metavar="CLASS:GLOB")
    p.add_argument("--default", choices=("ask", "allow", "deny"), default="ask",
                   help="answer for asks no pattern matches (ask: on the terminal)")
    p.add_argument("--log", metavar="FILE", help="append each ask and answer as JSON lines")
    p.add_argument("args", nargs=argparse.REMAINDER, help="-- airlock arguments")
    opts = p.parse_args()
    args = opts.args[1:] if opts.args[:1] == ["--"] else opts.args
    if not args or args[0] != "run":
        p.error("give the airlock command after --, starting with 'run'")

    ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
    cmd = [opts.airlock, "run", "--ask", "fd:%d" % theirs.fileno()] + args[1:]
    proc = subprocess.Popen(cmd, pass_fds=[theirs.fileno()])
    theirs.close()
    log = open(opts.log, "a") if opts.log else None
    try:
        serve(ours, opts, log)
    finally:
        if log:
            log.close()
    return proc.wait()


if __name__ == "__main__":
    sys.exit(main())
