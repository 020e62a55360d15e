#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Ways around the overlay that a program could try: reopening inherited stdio through
# /proc/self/fd, host-wide /proc files, hidden paths reached through a symlinked parent or
# through a scratch overlay, and the session store under a scratch overlay.
. "$(dirname "$0")/../lib.sh"
require_sandbox
cd "$T/work" || exit 1

echo original >"$T/victim.txt"
al_run -- sh -c 'echo PWNED > /proc/self/fd/0' <"$T/victim.txt" >/dev/null 2>&1
is "$(cat "$T/victim.txt")" original "stdin from a host file cannot be reopened for writing"

echo KEEP >"$T/out.txt"
al_run -- sh -c 'echo appended; : > /proc/self/fd/1' >>"$T/out.txt" 2>/dev/null
is "$(head -1 "$T/out.txt")" KEEP "stdout to a host file cannot be reopened and truncated"
check "stdout to a host file still receives the output" grep -q appended "$T/out.txt"

mkdir -p "$T/stdin-dir"
al_run -- sh -c 'echo x > /proc/self/fd/0/evil' <"$T/stdin-dir" >/dev/null 2>&1
check "a directory as stdin does not lead to the host directory" test ! -e "$T/stdin-dir/evil"

out=$(echo piped | al_run -- cat 2>/dev/null)
is "$out" piped "a pipe as stdin still works"

before=$(cat /proc/sys/vm/swappiness)
al_run -- sh -c "echo $((before == 61 ? 62 : 61)) > /proc/sys/vm/swappiness" >/dev/null 2>&1
is "$(cat /proc/sys/vm/swappiness)" "$before" "/proc/sys cannot be written (also as root)"
out=$(al_run -- sh -c 'echo h > /proc/sysrq-trigger && echo written' 2>/dev/null)
is "$out" "" "/proc/sysrq-trigger cannot be written"

mkdir -p "$T/real/.secret-dir" && echo TOKEN >"$T/real/.secret-dir/token"
ln -s real "$T/link"
out=$(al_run --hide "$T/link/.secret-dir" -- sh -c "cat '$T/link/.secret-dir/token' '$T/real/.secret-dir/token'" 2>/dev/null)
is "$out" "" "a path hidden through a symlinked parent is hidden by its real path too"

mkdir -p "$T/s/secret" && echo TOKEN >"$T/s/secret/token"
out=$(al_run --hide "$T/s/secret" --scratch "$T/s" -- cat "$T/s/secret/token" 2>/dev/null)
is "$out" "" "a scratch overlay keeps hidden paths hidden"
out=$(al_run --scratch "$T" -- sh -c "ls '$AIRLOCK_STATE_DIR' 2>/dev/null | wc -l" 2>/dev/null)
is "$out" 0 "a scratch overlay keeps the session store hidden"
al_run --hide "$T/s" --scratch "$T/s/secret" -- true 2>"$T/err"
is "$?" 125 "a scratch path inside a hidden path is refused"

# A handshake instead of sleeps: the program says "started" on its stdout (a FIFO the test
# reads) and waits for a line on its stdin; the hidden path is made in between, while the
# session runs. (A FIFO cannot be shared through the overlay itself: overlayfs gives it an
# inode, and a pipe, of its own.)
mkfifo "$T/in" "$T/outp"
al_run --hide "$T/later" -- sh -c "echo started; read x; cat '$T/later/token' 2>/dev/null || echo absent" \
	<"$T/in" >"$T/outp" 2>/dev/null &
exec 3>"$T/in" 4<"$T/outp"
read -r -t 60 started <&4
mkdir -p "$T/later"; echo TOKEN >"$T/later/token"
echo go >&3
exec 3>&-
read -r -t 60 out <&4
exec 4<&-
wait
is "$started" started "the hidden-path program started before the path was made"
is "$out" absent "a hidden path created on the host during the session stays hidden"

out=$(al_run -- "$PY" -c '
import os
fd = os.memfd_create("prog")
os.write(fd, open("/bin/echo", "rb").read())
os.execve(fd, ["echo", "memfd-exec-ok"], {})' 2>/dev/null)
is "$out" memfd-exec-ok "executing a memfd works (execveat is not a PATH search)"

done_testing
