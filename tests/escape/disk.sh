#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Filling the disk that holds the session store: every way of making a file take blocks is
# bounded before the blocks are taken (a write faster than the monitor samples, fallocate with
# and without FALLOC_FL_KEEP_SIZE, truncate growth then filling the holes, copy_file_range,
# many files at once), the run is stopped and named, and the record is always written whole.
# The reserve is set 40 MiB below what is free when each case starts (1 GiB for the calls that
# are refused before they take a block).
. "$(dirname "$0")/../lib.sh"
require_sandbox
cd "$T/work" || exit 1

MiB=1048576
# A held file stops at the room: 40 MiB, plus the 1 MiB the bound overshoots, plus what others
# freed on the shared disk between our measure and airlock's (the room is airlock's own).
RoomSlack=48

# room_case NAME PROGRAM [MIB]: run PROGRAM (Python) with MIB (default 40) above the reserve.
# Sets rc. The disk is shared: others writing meanwhile take from the room.
room_case() {
	local name=$1 prog=$2 room=${3:-40} free
	free=$(df -B1 --output=avail "$AIRLOCK_STATE_DIR" | tail -1)
	AIRLOCK_DISK_RESERVE=$((free - room * MiB)) timeout -k 5 120 \
		"$AIRLOCK" run --review never --ask deny --json -- "$PY" -c "$prog" \
		>"$T/$name.json" 2>"$T/$name.err"
	rc=$?
}

# held_size NAME FILE: the size of FILE as the session NAME holds it ("absent" when not held).
held_size() {
	local sid
	sid=$(jf "$1" 'j["session"]')
	"$AIRLOCK" show --json "$sid" | "$PY" -c '
import json, sys
j = json.load(sys.stdin)
s = [c.get("size") for c in j["changes"] if c["path"].endswith("/" + sys.argv[1])]
print(s[0] if s else "absent")' "$2"
}

# record_whole NAME DESC: the session's record verifies.
record_whole() {
	local sid
	sid=$(jf "$1" 'j["session"]')
	if "$AIRLOCK" verify "$sid" >"$T/$1.verify" 2>&1; then
		ok "$2: the record is written whole (verify passes)"
	else
		not_ok "$2: the record is written whole (verify passes)"
		diag "$(head -c 400 "$T/$1.verify")"
	fi
}

# 1. One file written faster than any sampling: it never grows past the room.
room_case burst '
f = open("burst.bin", "wb")
try:
    for i in range(200):
        f.write(b"x" * 1048576); f.flush()
except OSError as e:
    print("stopped:", e.errno)'
is "$rc" 137 "a 200 MiB burst with 40 MiB of room ends the run (137)"
is "$(jf burst 'j["limit"]')" disk "a 200 MiB burst: the limit named is disk"
size=$(held_size burst burst.bin)
if [ "$size" != absent ] && [ "$size" -le $((RoomSlack * MiB)) ]; then
	ok "a 200 MiB burst: the held file stopped at the room (${size} bytes)"
else
	not_ok "a 200 MiB burst: the held file stopped at the room (got $size)"
fi
record_whole burst "a 200 MiB burst"
check "a 200 MiB burst: nothing on the host" test ! -e burst.bin

# 2. fallocate() past the end of the file (FALLOC_FL_KEEP_SIZE): RLIMIT_FSIZE does not look
# there, the supervisor does. A refusal takes no block, so these two cases can have a room of
# 1 GiB (and ask for 200 MiB more): what other writers on the disk take meanwhile cannot use
# it up and end the run by a limit before the call.
room_case keepsize '
import ctypes, ctypes.util, os
libc = ctypes.CDLL(ctypes.util.find_library("c"), use_errno=True)
libc.fallocate.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_long, ctypes.c_long]
fd = os.open("keep.bin", os.O_WRONLY | os.O_CREAT, 0o644)
r = libc.fallocate(fd, 1, 0, 1224 << 20)
print(r, ctypes.get_errno())' 1024
is "$(jf keepsize 'j["stdout"].strip()')" "-1 28" "fallocate(KEEP_SIZE) of 1.2 GiB with 1 GiB of room fails with ENOSPC"
is "$(jf keepsize 'j["limit"]')" None "fallocate(KEEP_SIZE): refused before any block is taken, so no limit is hit"
record_whole keepsize "fallocate(KEEP_SIZE)"

room_case posixfa '
import os
fd = os.open("pfa.bin", os.O_WRONLY | os.O_CREAT, 0o644)
try:
    os.posix_fallocate(fd, 0, 1224 << 20)
    print("allocated")
except OSError as e:
    print("refused", e.errno)' 1024
case $(jf posixfa 'j["stdout"].strip()') in
"refused 28" | "refused 27") ok "posix_fallocate of 1.2 GiB with 1 GiB of room is refused" ;;
*) not_ok "posix_fallocate of 1.2 GiB with 1 GiB of room is refused (got $(jf posixfa 'j["stdout"]'))" ;;
esac
record_whole posixfa "posix_fallocate"

# 3. A sparse file grown with truncate, then its holes filled: the growth itself is refused.
room_case sparse '
import os
fd = os.open("sparse.bin", os.O_WRONLY | os.O_CREAT, 0o644)
try:
    os.ftruncate(fd, 200 << 20)
    print("grown")
except OSError as e:
    print("refused", e.errno)
    os.ftruncate(fd, 0)'
is "$(jf sparse 'j["stdout"].strip()')" "refused 27" "growing a file to 200 MiB with truncate is refused (EFBIG)"
record_whole sparse "truncate growth"

# 4. copy_file_range from a large file made before the run.
head -c $((100 * MiB)) /dev/zero >"$T/big.src"
room_case cfr "
import os
src = os.open('$T/big.src', os.O_RDONLY)
dst = os.open('copy.bin', os.O_WRONLY | os.O_CREAT, 0o644)
n = 0
try:
    while True:
        k = os.copy_file_range(src, dst, 8 << 20)
        if k == 0:
            break
        n += k
except OSError as e:
    print('stopped', e.errno)"
size=$(held_size cfr copy.bin)
if [ "$size" = absent ] || [ "$size" -le $((RoomSlack * MiB)) ]; then
	ok "copy_file_range of 100 MiB stops at the room (held: $size)"
else
	not_ok "copy_file_range of 100 MiB stops at the room (held: $size bytes)"
fi
record_whole cfr "copy_file_range"
rm -f "$T/big.src"

# 5. Many files at once, each under the per-file bound: the monitor stops the run, and the
# record is still written.
room_case many '
import os
kids = []
for k in range(8):
    pid = os.fork()
    if pid == 0:
        try:
            with open("many%d.bin" % k, "wb") as f:
                for i in range(30):
                    f.write(b"m" * 1048576); f.flush()
        except OSError:
            pass
        os._exit(0)
    kids.append(pid)
for p in kids:
    os.waitpid(p, 0)'
is "$rc" 137 "8 writers of 30 MiB each with 40 MiB of room: the run is stopped (137)"
is "$(jf many 'j["limit"]')" disk "8 writers: the limit named is disk"
record_whole many "8 writers"

done_testing
