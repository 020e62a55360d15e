#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The sandbox's /dev nodes and /proc masks are binds of the host's own inodes: a program may
# use the devices, but no chmod, chown, utime or xattr call of its reaches the host's inodes
# (a root run once left the host's /dev/full mode 600). Path and descriptor forms, as the
# suite's user (root too: root maps to itself in the sandbox). Each attempt sets what is
# there already (same mode, owner, times), so that a regression is seen (the call succeeds,
# the ctime moves) without breaking the host's /dev/null for everyone else.
. "$(dirname "$0")/../lib.sh"
require_sandbox
cd "$T/work" || exit 1

nodes="/dev/null /dev/zero /dev/full /dev/random /dev/urandom /dev/tty"
# The masks that exist on this kernel (each is the host's /dev/null inside).
masks=""
for m in kcore keys timer_list sched_debug kallsyms kmsg; do
	[ -e "/proc/$m" ] && masks="$masks /proc/$m"
done

# Mode, owner and ctime (every metadata change moves it); not the mtime, which writes to a
# terminal through /dev/tty move anywhere on the host.
host_meta() { stat -c '%n %a %u %g %Z' $nodes 2>&1; }
before=$(host_meta)

cat >"$T/meta.py" <<'PY'
import os, sys
for path in sys.argv[1:]:
    st = os.stat(path)
    mode = st.st_mode & 0o7777
    same = (st.st_atime_ns, st.st_mtime_ns)
    tries = [
        ("chmod", lambda: os.chmod(path, mode)),
        ("chown", lambda: os.chown(path, st.st_uid, st.st_gid)),
        ("utime", lambda: os.utime(path, ns=same)),
        ("touch", lambda: os.utime(path, None)),
        ("setxattr", lambda: os.setxattr(path, "user.airlock", b"1")),
        ("removexattr", lambda: os.removexattr(path, "user.airlock")),
    ]
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_NOCTTY)
    except OSError:
        fd = -1
    if fd >= 0:
        tries += [
            ("fchmod", lambda: os.fchmod(fd, mode)),
            ("fchown", lambda: os.fchown(fd, st.st_uid, st.st_gid)),
            ("futime", lambda: os.utime(fd, None)),
            ("fsetxattr", lambda: os.setxattr(fd, "user.airlock", b"1")),
        ]
    for name, f in tries:
        try:
            f()
            print(path, name, "CHANGED")
        except OSError as e:
            print(path, name, "refused", e.errno)
    after = os.stat(path)
    if (after.st_mode, after.st_uid, after.st_gid, after.st_ctime_ns) != \
       (st.st_mode, st.st_uid, st.st_gid, st.st_ctime_ns):
        print(path, "stat", "CHANGED")
PY
# shellcheck disable=SC2086
out=$(al_run -- "$PY" "$T/meta.py" $nodes $masks 2>"$T/err")
is "$?" 0 "the metadata probe ran"
is "$(grep -c CHANGED <<<"$out")" 0 "no chmod, chown, utime or xattr call changed a device node or mask"
grep CHANGED <<<"$out" | head -n 5 | while IFS= read -r l; do diag "$l"; done
check "every node was tried by path and by descriptor" \
	test "$(grep -c ' refused ' <<<"$out")" -ge $((6 * 6 + 4))
is "$(host_meta)" "$before" "the host's nodes keep their mode, owner and times"

# Read-only binds: the devices themselves still work.
out=$(al_run -- sh -c '
echo discard > /dev/null && echo null-ok
test "$(head -c 16 /dev/zero | od -An -tx1 | tr -d " \n")" = 00000000000000000000000000000000 && echo zero-ok
test "$(head -c 16 /dev/urandom | wc -c)" = 16 && echo urandom-ok
test "$(head -c 16 /dev/random | wc -c)" = 16 && echo random-ok
echo x 2>/dev/null > /dev/full || echo full-enospc
' 2>/dev/null | paste -sd' ')
is "$out" "null-ok zero-ok urandom-ok random-ok full-enospc" "the devices still read and write as devices"
out=$(al_run -- "$PY" -c '
import errno, os
fd = os.open("/dev/full", os.O_WRONLY)
try:
    os.write(fd, b"x")
except OSError as e:
    print(errno.errorcode[e.errno])' 2>/dev/null)
is "$out" ENOSPC "/dev/full answers ENOSPC, not EROFS"

done_testing
