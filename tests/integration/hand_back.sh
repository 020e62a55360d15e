#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# airlock exec --hand-back: once the step ended, the final content of one file, as the
# sandbox sees it, is copied to the same path on the host (mode 0600, by a rename), and
# nothing else: a symlink, a FIFO or a too-large file in the session is refused, a path outside
# the temporary directory or a host symlink is never written, a step that leaves no file
# leaves the host alone, and the event log records what came back.
# shellcheck source=tests/lib.sh
. "$(dirname "$0")/../lib.sh"
require_sandbox
cd "$T/work" || exit 1
mkdir -p sub

"$AIRLOCK" start --name hb >/dev/null 2>"$T/start.err" || diag "$(cat "$T/start.err")"
hb=$T/claude-1a2b-cwd

"$AIRLOCK" exec hb --hand-back "$hb" -- sh -c "cd sub && echo in-session > x.txt && pwd -P > '$hb'"
is "$?" 0 "a step with --hand-back runs"
is "$(cat "$hb" 2>&1)" "$T/work/sub" "the file's final content is on the host"
is "$(stat -c %a "$hb")" 600 "with mode 0600"
check "and nothing else the step wrote" test ! -e sub/x.txt
is "$("$AIRLOCK" exec hb -- cat "$hb")" "$T/work/sub" "the session keeps its own copy"

printf 'old\n' >"$hb"
"$AIRLOCK" exec hb --hand-back "$hb" -- sh -c "printf 'a\\0b\\nno newline' > '$hb'"
is "$(od -An -c "$hb" | tr -s ' ')" " a \\0 b \\n n o n e w l i n e" \
	"the content comes back byte for byte (NUL, no final newline), replacing the old"

printf 'keep\n' >"$T/none"
"$AIRLOCK" exec hb --hand-back "$T/none" -- rm -f "$T/none" 2>"$T/none.err"
is "$?" 0 "a step that leaves no such file"
is "$(cat "$T/none"):$(cat "$T/none.err")" "keep:" "leaves the host's file alone, silently"

printf 'keep\n' >"$T/ln"
"$AIRLOCK" exec hb --hand-back "$T/ln" -- sh -c "rm -f '$T/ln'; ln -s /etc/passwd '$T/ln'" 2>"$T/ln.err"
is "$(cat "$T/ln")" "keep" "a symlink in the session is not followed"
check "and the caller says why" grep -q "hand-back $T/ln: not handed back: a symlink in the session" "$T/ln.err"
mkdir "$T/dir"
"$AIRLOCK" exec hb --hand-back "$T/dir/f" -- sh -c "rmdir '$T/dir' && mkdir -p '$T/real' && ln -s '$T/real' '$T/dir' && echo x > '$T/real/f'" 2>"$T/lndir.err"
check "nor a symlink on the way to it" grep -q "a symlink in the session" "$T/lndir.err"
check "whose target stays unwritten" test ! -e "$T/dir/f" -a ! -e "$T/real"
"$AIRLOCK" exec hb --hand-back "$T/fifo" -- mkfifo "$T/fifo" 2>"$T/fifo.err"
is "$?" 0 "a FIFO in the session does not hang the step's end"
check "and is not handed back" grep -q "not a regular file in the session" "$T/fifo.err"
check "nor created on the host" test ! -e "$T/fifo"
"$AIRLOCK" exec hb --hand-back "$T/big" -- sh -c "head -c 70000 /dev/zero > '$T/big'" 2>"$T/big.err"
check "a file over 64 KiB is refused" grep -q "larger than 64 KiB" "$T/big.err"
check "and not written" test ! -e "$T/big"

"$AIRLOCK" exec hb --hand-back /etc/airlock-hand-back-test -- true 2>"$T/etc.err"
is "$?" 125 "a path outside /tmp and \$TMPDIR is refused before the step runs"
check "saying so" grep -q "not under /tmp or \$TMPDIR" "$T/etc.err"
# A $TMPDIR outside /tmp: the other place a temporary file may be. The step leaves the
# host's file as it is (an unprivileged user cannot create entries under /var/tmp inside,
# see BUGS in airlock(1)): handed back, it comes back as a new file of mode 0600.
tmpdir=$(mktemp -d /var/tmp/airlock-hand-back.XXXXXX)
echo via-tmpdir >"$tmpdir/f"
chmod 644 "$tmpdir/f"
TMPDIR=$tmpdir "$AIRLOCK" exec hb --hand-back "$tmpdir/f" -- cat "$tmpdir/f" >/dev/null
is "$(stat -c %a "$tmpdir/f"):$(cat "$tmpdir/f")" "600:via-tmpdir" "a path under \$TMPDIR is handed back"
"$AIRLOCK" exec hb --hand-back "$tmpdir/g" -- true 2>"$T/notmpdir.err"
is "$?" 125 "and refused when \$TMPDIR is elsewhere"
rm -rf "$tmpdir"
"$AIRLOCK" exec hb --hand-back relative -- true 2>"$T/rel.err"
is "$?" 125 "a relative path is refused"

ln -s "$T/target" "$T/hostlink"
"$AIRLOCK" exec hb --hand-back "$T/hostlink" -- sh -c "rm -f '$T/hostlink'; echo x > '$T/hostlink'" 2>"$T/hl.err"
is "$?" 125 "a host path that is a symlink is refused"
check "and never written through" test ! -e "$T/target"
mkdir "$T/adir"
"$AIRLOCK" exec hb --hand-back "$T/adir" -- true 2>"$T/adir.err"
is "$?" 125 "a host path that is a directory is refused"

"$AIRLOCK" exec hb --hand-back "$T/a" --hand-back "$T/b" -- true 2>"$T/two.err"
is "$?" 2 "one --hand-back per step"

"$AIRLOCK" log hb --json >"$T/log.jsonl"
"$PY" - "$T/log.jsonl" "$hb" >"$T/log.out" <<'PY'
import json, sys
ends = [e for e in map(json.loads, open(sys.argv[1])) if e.get("class") == "step" and e.get("op") == "end"]
print(ends[0].get("hand_back"))
print(sum(1 for e in ends if "hand_back" in e and "error" in e["hand_back"]))
PY
is "$(sed -n 1p "$T/log.out")" "{'path': '$hb', 'bytes': $((${#T} + 10))}" \
	"the step's end event records the path and the size handed back"
is "$(sed -n 2p "$T/log.out")" 5 "and why a file was not (ENOENT, symlinks, FIFO, too large)"

"$AIRLOCK" stop hb >/dev/null 2>&1
done_testing
