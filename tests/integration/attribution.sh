#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The record says who really did it: a program that rewrites its command line to read
# `git status` (its argv in memory, as setproctitle does, or through /proc/self/mem), that
# does so in a forked child, that tries to exec `git status` and fails, or whose child was
# forked before it really exec'd `git status`, is still shown as the command it exec'd, in
# show --json ("by"), the event log and the review; approving `git status` in the review
# does not approve its changes.
. "$(dirname "$0")/../lib.sh"
require_sandbox

H=$HELPERS/fake_argv
P=$T/proj
O=$T/outside # outside the starting directory: its changes start undecided
mkdir -p "$P" "$O"
printf '#!/bin/sh\n' >"$T/notexec" # not executable: an exec of it fails
chmod 644 "$T/notexec"
chmod -R a+rwX "$T"
cd "$P" || exit 1

# by NAME: the "by" of the change to path NAME (under $P or $O), as one line.
by() { "$AIRLOCK" show --json last | json_get - '" | ".join(next(c["by"] for c in j["changes"] if c["path"] == sys.argv[1]))' "$1"; }
json_by() { "$PY" -c 'import json,sys; j=json.load(sys.stdin); print(" | ".join(next(c["by"] for c in j["changes"] if c["path"] == sys.argv[1])))' "$1"; }

al_run -- "$H" rewrite "$P/r1.txt" >"$T/out" 2>"$T/err"
check "the program did rewrite its command line (/proc/self/cmdline read git status)" \
	grep -q "^cmdline: git status" "$T/out"
is "$("$AIRLOCK" show --json last | json_by "$P/r1.txt")" "$H rewrite $P/r1.txt" \
	"a rewritten command line: the change is by the command it exec'd"
"$AIRLOCK" log --json last >"$T/log.json"
is "$("$PY" -c 'import json,sys
cmd = {}
for line in open(sys.argv[1]):
    ev = json.loads(line)
    if ev.get("class") == "exec":
        cmd[ev["seq"]] = ev["command"]
    if ev.get("class") == "write" and ev.get("target") == sys.argv[2]:
        print(" ".join(cmd[ev["exec_seq"]]), ev.get("exec_seq"), "argv" in ev); break' "$T/log.json" "$P/r1.txt")" \
	"$H rewrite $P/r1.txt 0 False" \
	"... and so is its event, naming the exec event that started it (which alone holds the command line)"

al_run -- "$H" fork "$P/r2.txt" >"$T/out" 2>"$T/err"
check "a forked child rewrote its command line" grep -q "^cmdline: git status" "$T/out"
is "$("$AIRLOCK" show --json last | json_by "$P/r2.txt")" "$H fork $P/r2.txt" \
	"a forked child that rewrites its command line: by the command its parent exec'd"

# Through /proc/self/mem, from Python: the same, by another way in.
cat >"$T/mem.py" <<'PY'
import os, sys
f = open("/proc/self/stat").read()
fields = f[f.rindex(")") + 2:].split()
start, end = int(fields[45]), int(fields[46])  # arg_start, arg_end (fields 48, 49)
fake = b"git\0status\0"
with open("/proc/self/mem", "r+b", buffering=0) as m:
    m.seek(start)
    m.write(fake + b"\0" * (end - start - len(fake)))
print("cmdline:", open("/proc/self/cmdline", "rb").read().replace(b"\0", b" ").decode().strip())
open(sys.argv[1], "w").write("x\n")
PY
al_run -- "$PY" "$T/mem.py" "$P/r3.txt" >"$T/out" 2>"$T/err"
check "python rewrote its command line through /proc/self/mem" grep -q "^cmdline: git status" "$T/out"
is "$("$AIRLOCK" show --json last | json_by "$P/r3.txt")" "$PY $T/mem.py $P/r3.txt" \
	"... still shown as itself"

# A child forked before its parent really exec'd `git status` is not `git status`.
al_run -- sh -c "'$H' forkexec '$P/r4.txt'; :" >"$T/out" 2>"$T/err"
check "the child wrote once its parent showed git status" grep -q "parent shows git: yes" "$T/out"
is "$("$AIRLOCK" show --json last | json_by "$P/r4.txt")" "$H forkexec $P/r4.txt" \
	"a child forked before its parent exec'd: by what the parent ran then"
check "... while the parent did run as git status" \
	bash -c "'$AIRLOCK' show --json last | grep -q '\"git\",\\s*\"status\"'"

# An exec of `git status` that fails changes nothing: the program is still itself.
al_run -- "$H" failexec "$O/f.txt" "$T/notexec" >"$T/out" 2>"$T/err"
check "the exec failed in the sandbox" grep -q "^exec failed: Permission denied" "$T/out"
ID=$(last_session)
is "$("$AIRLOCK" show --json "$ID" | json_by "$O/f.txt")" "$H failexec $O/f.txt $T/notexec" \
	"a failed exec of git status: by the command that is really running"
is "$("$AIRLOCK" show --json "$ID" | json_get - '[c["argv"] for c in j["commands"]][-1]')" \
	"['git', 'status']" "the attempt is listed as a command"

# In the review: approving the `git status` command does not approve the fake's change.
. "$TESTS_DIR/ui/screen.bash"
ui '<Tab>j<Dump>a<Dump>c<Dump>y'
check "review: git status made no change" grep -qE '^ \[.\] 0 files +git status' <(screen 1)
check "review: the program's own command made the change" grep -qE "^ \[.\] 1 file +$H failexec" <(screen 1)
check "review: with git status approved, nothing is approved to commit" \
	grep -q "nothing is approved: nothing to commit" <(screen 3)
check "approving git status did not apply the fake's change" test ! -e "$O/f.txt"

# Control: approving the command that really made it does.
al_run -- "$H" failexec "$O/g.txt" "$T/notexec" >/dev/null 2>&1
ui '<Tab>a<Dump>cy'
check "control: approving the real command applies its change" test -e "$O/g.txt"

# clone(CLONE_PARENT) would make a sibling that passes for the parent's program's child.
cat >"$T/cp.py" <<'PY'
import ctypes, errno, os
libc = ctypes.CDLL(None, use_errno=True)
CLONE_PARENT, SIGCHLD = 0x8000, 17
r = libc.syscall(56, CLONE_PARENT | SIGCHLD, 0, 0, 0, 0)  # clone on x86_64
if r == 0:
    os._exit(0)
print("clone:", r, errno.errorcode.get(ctypes.get_errno(), "?") if r < 0 else "made")
PY
if [ "$(uname -m)" = x86_64 ]; then
	out=$(al_run -- "$PY" "$T/cp.py" 2>/dev/null)
	is "$out" "clone: -1 EPERM" "clone(CLONE_PARENT) is refused in the sandbox"
else
	skip "clone(CLONE_PARENT) is refused in the sandbox" "the probe is for x86_64"
fi

done_testing
