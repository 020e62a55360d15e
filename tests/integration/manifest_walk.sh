#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The change-set manifest (changes.sha256) is built from the change-set scan's walk at the end
# of a run. Its bytes must be those of a walk of its own: checked against an independent walk
# written here (Python) and by `airlock verify` (which walks the overlays again with the
# manifest's own walk), for a session with files, directories, symlinks, a fifo, whiteouts, an
# opaque directory, unreadable files and directories, a control character in a name and a
# hidden path; and for a run holding more than the scan hashes (8 MB), whose manifest has its
# own walk.
. "$(dirname "$0")/../lib.sh"
require_sandbox

cd "$T/work" || exit 1
echo kept >keep.txt
echo old >old.txt
mkdir -p olddir/deep secretdir && echo x >olddir/deep/f && echo s >secretdir/s.txt
echo same >same.txt
ln -s keep.txt oldlink

cat >"$T/agent.py" <<'PY'
import os, shutil, sys
os.makedirs("new/sub/subsub")
open("new/sub/a.txt", "w").write("a\n")
open("new/" + sys.argv[1], "w").write("escaped\n")
os.symlink("../keep.txt", "new/link")
os.unlink("oldlink"); os.symlink("same.txt", "oldlink")
os.mkfifo("new/fifo")
os.unlink("old.txt")
shutil.rmtree("olddir"); os.mkdir("olddir"); open("olddir/fresh", "w").write("fresh\n")
os.chmod("same.txt", 0o600)
open("locked.txt", "w").write("locked\n"); os.chmod("locked.txt", 0)
os.mkdir("lockeddir"); open("lockeddir/in.txt", "w").write("in\n")
os.chmod("lockeddir/in.txt", 0); os.chmod("lockeddir", 0)
if len(sys.argv) > 2:
    with open("big.bin", "wb") as f:
        f.write(os.urandom(1 << 20) * int(sys.argv[2]))
PY

# The manifest's lines from the session's upper directories, walked here on its own.
cat >"$T/walk.py" <<'PY'
import hashlib, json, os, stat, sys
sdir = sys.argv[1]
meta = json.load(open(os.path.join(sdir, "meta.json")))

def esc(b):
    out = bytearray()
    for c in b:
        if c == 0x5c:
            out += b"\\\\"
        elif c < 0x20 or c == 0x7f:
            out += b"\\x%02x" % c
        else:
            out.append(c)
    return bytes(out)

def opened(path, st, want, fn):
    # The owner of an entry left without access reads it as airlock does: granted, then put back.
    try:
        return fn()
    except PermissionError:
        os.chmod(path, stat.S_IMODE(st.st_mode) | want)
        try:
            return fn()
        finally:
            os.chmod(path, stat.S_IMODE(st.st_mode))

def walk(upper, mount, rel, lines):
    top = os.path.join(upper, rel) if rel else upper
    st = os.lstat(top)
    granted = os.geteuid() != 0 and st.st_mode & 0o500 != 0o500
    if granted:
        os.chmod(top, stat.S_IMODE(st.st_mode) | 0o500)
    try:
        names = os.listdir(top)
        entries(upper, mount, rel, names, lines)
    finally:
        if granted:
            os.chmod(top, stat.S_IMODE(st.st_mode))

def entries(upper, mount, rel, names, lines):
    for name in names:
        r = os.path.join(rel, name) if rel else name
        p = os.path.join(upper, r)
        e = os.lstat(p)
        m = e.st_mode
        digest, kind = b"-", None
        if stat.S_ISREG(m):
            kind = b"file"
            digest = opened(p, e, 0o400, lambda: hashlib.sha256(open(p, "rb").read()).hexdigest().encode())
        elif stat.S_ISLNK(m):
            kind = b"symlink"
            digest = hashlib.sha256(os.readlink(p)).hexdigest().encode()
        elif stat.S_ISDIR(m):
            try:
                o = os.getxattr(p, "user.overlay.opaque", follow_symlinks=False)
            except OSError:
                o = b""
            kind = b"opaque-dir" if o == b"y" else b"dir"
        elif stat.S_ISCHR(m):
            kind = b"whiteout" if e.st_rdev == 0 else b"chardev-%d:%d" % (os.major(e.st_rdev), os.minor(e.st_rdev))
        elif stat.S_ISBLK(m):
            kind = b"blockdev-%d:%d" % (os.major(e.st_rdev), os.minor(e.st_rdev))
        elif stat.S_ISFIFO(m):
            kind = b"fifo"
        elif stat.S_ISSOCK(m):
            kind = b"socket"
        path = (mount.rstrip(b"/") + b"/" + r) if mount != b"/" else b"/" + r
        lines.append((path, b"%s %s %04o %s" % (digest, kind, stat.S_IMODE(m), esc(path))))
        if stat.S_ISDIR(m):
            walk(upper, mount, r, lines)

lines = []
for m in meta["mounts"]:
    if m.get("kind") != "overlay":
        continue
    upper = os.fsencode(os.path.join(sdir, m["upper"]))
    if os.path.lexists(upper):
        walk(upper, os.path.normpath(os.fsencode(m["path"])), b"", lines)
lines.sort()
sys.stdout.buffer.write(b"".join(l + b"\n" for _, l in lines))
PY

SESS=$AIRLOCK_STATE_DIR/sessions
NAME=$'ctl\033[2Jname\\x.txt'

# run_case TAG ARGS...: a run of the agent in a fresh copy of the work tree; sets sid and S.
run_case() {
	local tag=$1
	shift
	rm -rf "$T/$tag" && cp -a "$T/work" "$T/$tag" && cd "$T/$tag" || exit 1
	AIRLOCK_TEST_TIMING_FD=3 al_run --hide "$T/$tag/secretdir" -- "$PY" "$T/agent.py" "$@" \
		3>"$T/$tag.marks" 2>"$T/$tag.err"
	is "$?" 0 "$tag: the program runs to the end"
	sid=$(last_session)
	S=$SESS/$sid
	cd "$T/work" || exit 1
}

# same TAG: the recorded manifest is the independent walk's, byte for byte, and verify agrees.
same() {
	"$PY" "$T/walk.py" "$S" >"$T/$1.walked"
	check "$1: changes.sha256 is the independent walk's, byte for byte" cmp "$S/changes.sha256" "$T/$1.walked"
	diff "$S/changes.sha256" "$T/$1.walked" | head -5 | sed 's/^/# /' 
	check "$1: it is not empty" test -s "$S/changes.sha256"
	"$AIRLOCK" verify "$sid" >"$T/$1.verify" 2>&1
	is "$?" 0 "$1: verify walks the overlays again and finds them as recorded"
}

run_case small "$NAME"
check "small: the manifest was taken from the scan's walk" grep -q " manifest from the scan$" "$T/small.marks"
is "$(grep -c " manifest walked$" "$T/small.marks")" 0 "small: no second walk"
same small
for kind in "whiteout" "opaque-dir" "symlink" "fifo" "file 0000"; do
	check "small: the manifest has a $kind" grep -q " $kind " "$S/changes.sha256"
done
check "small: a control character is escaped" grep -qF 'ctl\x1b[2Jname\\x.txt' "$S/changes.sha256"
check "small: the hidden path's whiteout is recorded" grep -qE "^- whiteout 0[0-7]{3} $T/small/secretdir\$" "$S/changes.sha256"
lock=$(find "$S/upper" -path "*/small/lockeddir" -print -quit)
is "$(stat -c %a "$lock")" 0 "small: the unreadable directory's mode is left as it was"
is "$(stat -c %a "${lock%/lockeddir}/locked.txt")" 0 "small: the unreadable file's mode is left as it was"

# More than the scan hashes: the manifest walks on its own, and comes out the same.
run_case large "$NAME" 9
check "large: the manifest walked on its own" grep -q " manifest walked$" "$T/large.marks"
same large

done_testing
