#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The host survives: a fork bomb, a memory hog, a busy loop, a huge file and an output flood
# each end (or, for output, are cut) at the limit given on the command line. A limit that ends
# the run kills the whole sandbox, exits 124 (--timeout) or 137 (the others), names itself in
# the --json result's "limit" and in a line on airlock's stderr. Every program here also bounds
# itself, so that a broken limit fails the test instead of taking the machine down.
# shellcheck source=tests/lib.sh
. "$(dirname "$0")/../lib.sh"
require_sandbox
cd "$T/work" || exit 1

# al_json NAME ARGS...: `airlock run --review never --json ARGS...` under timeout(1); the
# result goes to $T/NAME.json, airlock's stderr to $T/NAME.err. Sets rc and ms (wall clock).
al_json() {
	local name=$1 start
	shift
	start=$(date +%s%N)
	timeout -k 5 60 "$AIRLOCK" run --review never --ask deny --json "$@" >"$T/$name.json" 2>"$T/$name.err"
	rc=$?
	ms=$((($(date +%s%N) - start) / 1000000))
}


# show_run NAME: what airlock said, for a failed test.
show_run() {
	diag "airlock exited $rc after $ms ms; stderr: $(head -c 600 "$T/$1.err" | tr '\n' '|')"
	diag "result: $(head -c 600 "$T/$1.json" | tr '\n' ' ')"
}

# limit_case NAME STATUS LIMIT WORD MAX_MS DESC: the checks every limit that ends a run gets.
limit_case() {
	local name=$1 want_rc=$2 want_limit=$3 word=$4 max_ms=$5 desc=$6 bad=$tap_fail
	is "$rc" "$want_rc" "$desc: airlock exits $want_rc"
	is "$(jf "$name" 'j["limit"]')" "$want_limit" "$desc: the result's limit is \"$want_limit\""
	is "$(jf "$name" 'j["exit_code"]')" "$want_rc" "$desc: the result's exit_code is $want_rc"
	if grep -qi "^airlock:.*$word" "$T/$name.err"; then
		ok "$desc: airlock says on stderr that --$word stopped the sandbox"
	else
		not_ok "$desc: airlock says on stderr that --$word stopped the sandbox"
	fi
	if [ "$ms" -lt "$max_ms" ]; then
		ok "$desc: ends within $((max_ms / 1000)) s"
	else
		not_ok "$desc: ends within $((max_ms / 1000)) s (took $ms ms)"
	fi
	[ "$tap_fail" -eq "$bad" ] || show_run "$name"
}

# --- a fork bomb under --pids ----------------------------------------------------------
# Every process forks in a loop, children too. Safety net for a broken limit: no growth past
# 400 processes in the sandbox's /proc, and every process gives up after 40 s.
cat >"$T/bomb.py" <<'PY'
import os, sys, time
deadline = time.time() + 40
while time.time() < deadline:
    try:
        if sum(1 for p in os.listdir("/proc") if p.isdigit()) > 400:
            time.sleep(0.2)
            continue
        os.fork()
    except OSError:
        time.sleep(0.01)
PY
bomb_tag=airlock-bomb-$$-$RANDOM
tags+=("$bomb_tag")
al_json bomb --pids 64 -- "$PY" "$T/bomb.py" "$bomb_tag"
limit_case bomb 137 pids pids 30000 "fork bomb under --pids 64"
if wait_for 10 gone "$bomb_tag"; then
	ok "fork bomb: no process of the bomb is left on the host"
else
	not_ok "fork bomb: no process of the bomb is left on the host"
	diag "still running: $(pgrep -f -- "$bomb_tag" | wc -l) processes"
	reap "$bomb_tag"
fi
check "fork bomb: the host's process table works (ps)" sh -c 'ps -e >/dev/null'
check "fork bomb: the host can still start processes" sh -c "'$PY' -c pass"

# --- memory ----------------------------------------------------------------------------
# 10 MB chunks, each written; at most 1.5 GB, then it holds them for 30 s and says so.
al_json mem --memory 100M -- "$PY" -c '
import time
chunks = []
for i in range(150):
    chunks.append(bytearray(b"x" * (10 << 20)))
time.sleep(30)
print("survived")'
limit_case mem 137 memory memory 30000 "memory hog under --memory 100M"
# The limit is the whole sandbox's: four processes with 40 MB each, none above 100M alone.
al_json mem2 --memory 100M -- "$PY" -c '
import os, time
kids = []
for i in range(4):
    pid = os.fork()
    if pid == 0:
        b = bytearray(b"y" * (40 << 20))
        time.sleep(30)
        os._exit(0)
    kids.append(pid)
for pid in kids:
    os.waitpid(pid, 0)
print("survived")'
limit_case mem2 137 memory memory 30000 "four 40 MB processes under --memory 100M"
# The monitor keeps each process's /proc files open between checks: 200 processes come and go
# first, then a hog starts under a fresh pid (mem3), or the shell, read since it began, execs
# into one (mem4: what its kept descriptors show must be the new program's).
for how in "" exec; do
	name=mem3
	[ -z "$how" ] || name=mem4
	al_json $name --memory 100M -- sh -c 'i=0
while [ $i -lt 200 ]; do /bin/true; i=$((i + 1)); done
$2 "$1" -c "
import time
chunks = [bytearray(b\"z\" * (10 << 20)) for i in range(150)]
time.sleep(30)
print(\"survived\")"' sh "$PY" "$how"
	limit_case $name 137 memory memory 30000 "memory hog after 200 short processes${how:+ (exec)} under --memory 100M"
done

# --- time ------------------------------------------------------------------------------
al_json timeout --timeout 2s -- "$PY" -c 'while True: pass'
limit_case timeout 124 timeout timeout 15000 "busy loop under --timeout 2s"
if [ "$ms" -ge 1900 ]; then ok "--timeout 2s: not before 2 s"; else not_ok "--timeout 2s: not before 2 s (took $ms ms)"; fi

al_json cpu --cpu 1s -- "$PY" -c 'while True: pass'
limit_case cpu 137 cpu cpu 8000 "busy loop under --cpu 1s"
# CPU is counted for the whole sandbox: ten children in turn, 0.5 s of CPU each (5 s in all),
# none of them above 1 s alone.
al_json cpu2 --cpu 1s -- "$PY" -c '
import subprocess, sys
spin = "import time\nwhile time.process_time() < 0.5: pass\n"
for i in range(10):
    subprocess.run([sys.executable, "-c", spin], check=True)
print("survived")'
limit_case cpu2 137 cpu cpu 8000 "ten 0.5 s children in turn under --cpu 1s"
al_json cpusleep --cpu 1s -- sleep 2
is "$rc:$(jf cpusleep 'j["limit"]')" "0:None" "--cpu counts CPU time, not the wall clock (sleep 2 under --cpu 1s)"

# --- file size -------------------------------------------------------------------------
# Python ignores SIGXFSZ; a program that keeps the default dies of it.
al_json fsize --fsize 1M -- "$PY" -c '
import signal
signal.signal(signal.SIGXFSZ, signal.SIG_DFL)
with open("big.bin", "wb") as f:
    for i in range(5):
        f.write(b"z" * (1 << 20))
print("survived")'
limit_case fsize 137 fsize fsize 15000 "writing 5 MB under --fsize 1M"
check "--fsize: the file never exists on the host" test ! -e "$T/work/big.bin"
# A program that ignores SIGXFSZ gets EFBIG at 1 MiB and goes on.
out=$(timeout -k 5 60 "$AIRLOCK" run --review never --fsize 1M -- "$PY" -c '
import errno, os
fd = os.open("big2.bin", os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
try:
    for i in range(5):
        os.write(fd, b"z" * (1 << 20))
    print("wrote-all", os.fstat(fd).st_size)
except OSError as e:
    print(errno.errorcode.get(e.errno, e.errno), os.fstat(fd).st_size)' 2>"$T/fsize2.err")
is "$out" "EFBIG 1048576" "--fsize 1M: a write past 1 MiB fails with EFBIG when SIGXFSZ is ignored"
check "--fsize: that file never exists on the host either" test ! -e "$T/work/big2.bin"

# --- output ----------------------------------------------------------------------------
al_json flood --output-limit 1M -- "$PY" -c '
import sys
chunk = b"A" * (1 << 20)
for i in range(100):
    sys.stdout.buffer.write(chunk)
sys.stdout.flush()
print("flood done", file=sys.stderr)'
bad=$tap_fail
is "$rc" 0 "100 MB of output under --output-limit 1M: the run is not ended (exit 0)"
is "$(jf flood '(j["exit_code"], j["limit"], j["truncated"])')" "(0, None, True)" \
	"output flood: exit_code 0, limit null, truncated true"
is "$(jf flood '1048576 <= len(j["stdout"]) <= 1048576 + 200')" True \
	"output flood: stdout is cut at 1 MiB plus at most a short marker"
is "$(jf flood 'j["stdout"].startswith("A" * 4096)')" True "output flood: stdout keeps the start of the output"
is "$(jf flood 'j["stderr"]')" "flood done" "output flood: the program ran to its end"
size=$(stat -c %s "$T/flood.json")
if [ "$size" -lt $((3 << 20)) ]; then ok "output flood: airlock's stdout holds the JSON only ($size bytes)"; else
	not_ok "output flood: airlock's stdout holds the JSON only ($size bytes)"
fi
if [ "$ms" -lt 30000 ]; then ok "output flood: ends within 30 s"; else not_ok "output flood: ends within 30 s (took $ms ms)"; fi
[ "$tap_fail" -eq "$bad" ] || show_run flood
al_json flood2 --output-limit 64K -- "$PY" -c '
import sys
for i in range(10):
    sys.stderr.buffer.write(b"E" * (1 << 20))
print("small")'
is "$(jf flood2 '(j["exit_code"], j["truncated"], j["stdout"], 65536 <= len(j["stderr"]) <= 65536 + 200)')" \
	"(0, True, 'small\n', True)" "stderr is cut at --output-limit too, stdout kept whole"

# --- every limit at once, and a program that stays within them -----------------------
# Disk: the store's filesystem keeps a reserve; here it is set 40 MiB below what is free now,
# and the program writes 200 MiB.
free=$(df -B1 --output=avail "$AIRLOCK_STATE_DIR" 2>/dev/null | tail -1)
if [ -n "$free" ] && [ "$free" -gt $((200 * 1048576)) ]; then
	AIRLOCK_DISK_RESERVE=$((free - 40 * 1048576)) al_json disk -- "$PY" -c '
f = open("fill.bin", "wb")
for i in range(200):
    f.write(b"x" * 1048576); f.flush()'
	limit_case disk 137 disk disk 30000 "writing 200 MiB with 40 MiB left above the disk reserve"
	check "disk: the file never exists on the host" test ! -e "$T/work/fill.bin"
else
	not_ok "disk reserve: the store's filesystem has less than 200 MiB free"
fi

al_json normal --timeout 30s --cpu 10s --memory 200M --pids 64 --fsize 10M --output-limit 1M -- "$PY" -c '
import subprocess, time
subprocess.run(["true"], check=True)
with open("small.bin", "wb") as f:
    f.write(b"s" * (100 << 10))
data = bytearray(20 << 20)
time.sleep(0.5)
print("all-limits-ok")'
is "$rc" 0 "a program within every limit: exit 0"
is "$(jf normal '(j["exit_code"], j["limit"], j["truncated"], j["stdout"])')" "(0, None, False, 'all-limits-ok\n')" \
	"a program within every limit: limit null, output whole"
[ "$rc" = 0 ] || show_run normal

done_testing
