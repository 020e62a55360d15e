# SPDX-License-Identifier: MIT
# Run a command and SIGKILL it as soon as the commit journal it writes shows a given point: the
# crash tests use it to stop `airlock commit` or `airlock undo` mid-way without fixed sleeps.
#
# Usage: killat.py JOURNAL OP COUNT -- COMMAND [ARG...]
#   OP COUNT: kill once COUNT lines with "op":"OP" were written after the command started
#   ("begin", "plan", "batch", "start", "done", "result", "end", "undone", ...). Lines of the
#   journal as it was at the start are not counted; a journal made anew (another inode) is read
#   from its first byte.
# Prints one JSON object: {"killed": bool, "rc": exit status or null, "counts": {op: n}}.
import json
import os
import re
import signal
import subprocess
import sys
import time

OP = re.compile(rb'"op":"([a-z-]+)"')


def ident(path):
    try:
        st = os.stat(path)
        return (st.st_dev, st.st_ino), st.st_size
    except FileNotFoundError:
        return None, 0


def main():
    journal, op, want = sys.argv[1], sys.argv[2], int(sys.argv[3])
    cmd = sys.argv[5:] if sys.argv[4] == "--" else sys.argv[4:]
    first_id, first_size = ident(journal)
    # Held open, the old journal's inode cannot be reused by the one a commit makes anew.
    keep = os.open(journal, os.O_RDONLY) if first_id else None
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    counts, cur, off, tail, killed = {}, None, 0, b"", False
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        done = proc.poll() is not None
        jid, _ = ident(journal)
        if jid is not None and jid != cur:
            cur, tail = jid, b""
            off = first_size if jid == first_id else 0
        if cur is not None:
            try:
                with open(journal, "rb") as f:
                    f.seek(off)
                    data = f.read()
            except FileNotFoundError:
                data = b""
            off += len(data)
            lines = (tail + data).split(b"\n")
            tail = lines.pop()
            for line in lines:
                m = OP.search(line)
                if m:
                    k = m.group(1).decode()
                    counts[k] = counts.get(k, 0) + 1
        if counts.get(op, 0) >= want and not done:
            os.kill(proc.pid, signal.SIGKILL)
            killed = True
            break
        if done:
            break
        time.sleep(0.0003)
    rc = proc.wait()
    if keep is not None:
        os.close(keep)
    print(json.dumps({"killed": killed, "rc": None if killed else rc, "counts": counts}))


main()
