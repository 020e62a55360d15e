# SPDX-License-Identifier: MIT
# A checksummed manifest of a directory tree, for tests that compare the host before and after a
# commit or an undo: one line per entry, sorted, with its type, permission bits, the SHA-256 of
# a file's content, a symlink's target and, with --times, modification times in nanoseconds
# (files, symlinks and fifos; directories too with --dirtimes).
#
# Usage: tree.py sum ROOT [--times] [--dirtimes]
import hashlib
import os
import stat
import sys


def entry(path, rel, times, dirtimes):
    st = os.lstat(path)
    mode = "%o" % stat.S_IMODE(st.st_mode)
    t = " %d" % st.st_mtime_ns if times else ""
    if stat.S_ISLNK(st.st_mode):
        return "%r l %r%s" % (rel, os.readlink(path), t)
    if stat.S_ISDIR(st.st_mode):
        return "%r d %s%s" % (rel, mode, " %d" % st.st_mtime_ns if dirtimes else "")
    if stat.S_ISFIFO(st.st_mode):
        return "%r p %s%s" % (rel, mode, t)
    if stat.S_ISREG(st.st_mode):
        h = hashlib.sha256()
        with open(path, "rb") as f:
            for chunk in iter(lambda: f.read(1 << 20), b""):
                h.update(chunk)
        return "%r f %s %s%s" % (rel, mode, h.hexdigest(), t)
    return "%r ? %o" % (rel, st.st_mode)


def manifest(root, times, dirtimes):
    out = []
    if not os.path.lexists(root):
        return "<absent>"
    if dirtimes:
        out.append(entry(root, ".", times, dirtimes))
    for dirpath, dirs, files in os.walk(root):
        for name in dirs + files:
            p = os.path.join(dirpath, name)
            out.append(entry(p, os.path.relpath(p, root), times, dirtimes))
    return "\n".join(sorted(out))


if __name__ == "__main__":
    if len(sys.argv) < 3 or sys.argv[1] != "sum":
        sys.exit("usage: tree.py sum ROOT [--times] [--dirtimes]")
    flags = sys.argv[3:]
    print(manifest(sys.argv[2], "--times" in flags or "--dirtimes" in flags, "--dirtimes" in flags))
