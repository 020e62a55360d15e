#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Per-hunk decisions against a hostile program and a hostile store: after the review decided
# f.txt's hunks, the session's side is swapped for a symlink, a FIFO or a file grown past the
# size hunks are read at, the host's for a symlink, and decisions.jsonl is given too many or
# too few letters or another file's hashes; each commit writes nothing of the file (and does
# not hang). A partial file takes the host's mode without its setuid bits, whatever the
# program set; the program cannot reach the session's decisions.
. "$(dirname "$0")/../lib.sh"
require_sandbox
. "$TESTS_DIR/ui/screen.bash"

in_project
for f in f g s; do
	"$PY" -c 'import sys; open(sys.argv[1], "w").write("".join("%s %d\n" % (sys.argv[1], i) for i in range(1, 31)))' $f.txt
	cp $f.txt "$T/$f.orig"
done
chmod 4755 s.txt
cat >"$T/agent.py" <<'PY'
import os
for name in ("f.txt", "g.txt", "s.txt"):
    s = open(name).read().split("\n")
    s[1], s[14], s[27] = "TWO", "FIFTEEN", "TWENTY-EIGHT"
    open(name, "w").write("\n".join(s))
# The program asks for setuid and exec bits on a file whose hunks the person approves.
os.chmod("g.txt", 0o6755)
PY
al_run -- "$PY" "$T/agent.py" 2>"$T/run.err"
ID=$(last_session)
sdir=$AIRLOCK_STATE_DIR/sessions/$ID
dec=$sdir/decisions.jsonl
"$PY" - "$T" <<'PY'
import sys
t = sys.argv[1]
for f in "fgs":
    s = open(t + "/" + f + ".orig").read().split("\n")
    s[1], s[27] = "TWO", "TWENTY-EIGHT"
    open(t + "/" + f + ".want", "w").write("\n".join(s))
PY
upper_of() { find "$sdir" -path '*/upper*' -name "$1" -type f 2>/dev/null | head -1; }
uf=$(upper_of f.txt)
check "the session holds f.txt" test -n "$uf"
cp "$uf" "$T/f.upper"

# The list: f.txt, g.txt, s.txt. f.txt: approve hunk 1, deny 2, approve 3.
ui '<Enter>ada'
check "the review saves f.txt's hunks" grep -q '"hunks":"ada"' "$dec"
cp "$dec" "$T/dec.saved"

# commit_refused WHAT: the commit fails in bounded time and leaves the host's f.txt alone.
commit_refused() {
	timeout 60 "$AIRLOCK" commit --force "$ID" >"$T/out" 2>"$T/err"
	is "$?" 1 "$1: the commit is refused"
	check "$1: the host's f.txt is untouched" cmp "$P/f.txt" "$T/f.orig"
}
restore_upper() {
	rm -f "$uf"
	cp "$T/f.upper" "$uf"
	cp "$T/dec.saved" "$dec"
}

# The session's side becomes a symlink to a file with the very bytes the person saw.
cp "$T/f.upper" "$T/same"
rm "$uf" && ln -s "$T/same" "$uf"
commit_refused "a symlink in the session"
restore_upper

# A FIFO: reading it would block the commit forever.
rm "$uf" && mkfifo "$uf"
commit_refused "a FIFO in the session"
check "it says why" grep -q 'f.txt: .*cannot be read hunk by hunk now' "$T/err"
restore_upper

# Grown past the size hunks are read at (16 MiB), the decided bytes still its start.
cp "$T/f.upper" "$uf"
head -c $((17 << 20)) /dev/zero | tr '\0' 'x' >>"$uf"
commit_refused "a file grown past 16 MiB"
restore_upper

# decisions.jsonl with letters that do not match the hunks, or another file's hashes.
forge() {
	"$PY" - "$dec" "$@" <<'PY'
import json, sys
dec, path, hunks = sys.argv[1], sys.argv[2], sys.argv[3]
last = [json.loads(l) for l in open(dec) if l.strip()][-1]
last["path"], last["hunks"] = path, hunks
open(dec, "a").write(json.dumps(last) + "\n")
PY
}
forge "$P/f.txt" aaaa
commit_refused "four letters for three hunks"
restore_upper
forge "$P/f.txt" aa
commit_refused "two letters for three hunks"
restore_upper
# g.txt has its own bytes, f.txt's hashes do not describe them. Only g.txt is committed.
forge "$P/g.txt" aaa
timeout 60 "$AIRLOCK" commit --force "$ID" "$P/g.txt" >"$T/out" 2>"$T/err"
is "$?" 1 "f.txt's decision under g.txt's name: the commit is refused"
check "g.txt is untouched" cmp "$P/g.txt" "$T/g.orig"
check "saying its hunks were decided on other content" grep -q "g.txt: it changed .*since its hunks were decided" "$T/err"
restore_upper

# Mode: g.txt and s.txt decided hunk by hunk, with their hashes, as the review writes them.
"$PY" - "$dec" "$P" "$(upper_of g.txt)" "$(upper_of s.txt)" <<'PY'
import hashlib, json, sys
dec, p, ug, us = sys.argv[1:5]
h = lambda f: hashlib.sha256(open(f, "rb").read()).hexdigest()
with open(dec, "a") as out:
    for name, up in (("g.txt", ug), ("s.txt", us)):
        out.write(json.dumps({"path": p + "/" + name, "state": "approved", "hunks": "ada",
                              "old_sha256": h(p + "/" + name), "new_sha256": h(up)}) + "\n")
PY
"$AIRLOCK" commit "$ID" >"$T/out" 2>"$T/err"
rc=$?
is "$rc" 0 "the three files decided hunk by hunk commit"
[ "$rc" = 0 ] || diag "$(cat "$T/err")"
check "f.txt gets exactly hunks 1 and 3" cmp "$P/f.txt" "$T/f.want"
check "g.txt too" cmp "$P/g.txt" "$T/g.want"
check "s.txt too" cmp "$P/s.txt" "$T/s.want"
is "$(stat -c %a "$P/g.txt")" 644 "g.txt keeps the host's mode, not the program's setuid and exec bits"
is "$(stat -c %a "$P/s.txt")" 755 "s.txt keeps the host's mode without its setuid bit: its content is the program's in part"
"$AIRLOCK" undo "$ID" >/dev/null 2>&1
check "undo puts f.txt back" cmp "$P/f.txt" "$T/f.orig"
is "$(stat -c %a "$P/s.txt")" 4755 "and s.txt with its mode"

# The host's side becomes a symlink to a copy of itself (same bytes, same hash). Last: the
# host's file is not the one the session started on after it.
cp "$P/f.txt" "$T/host.copy"
mv "$P/f.txt" "$T/host.real"
ln -s "$T/host.copy" "$P/f.txt"
timeout 60 "$AIRLOCK" commit --force "$ID" >"$T/out" 2>"$T/err"
is "$?" 1 "a host symlink: the commit is refused"
check "the host's symlink is left as it is" test -L "$P/f.txt"
check "and the file it points at" cmp "$T/host.copy" "$T/f.orig"
rm "$P/f.txt" && mv "$T/host.real" "$P/f.txt"
restore_upper

# The program cannot see, let alone write, the decisions of a session.
cp "$dec" "$T/dec.before"
out=$(al_run -- sh -c "cat '$dec' 2>/dev/null; echo '{}' >>'$dec' 2>/dev/null; ls '$sdir' 2>/dev/null | wc -l" 2>/dev/null)
is "$out" 0 "a program sees no session's decisions"
check "nor writes them" cmp "$dec" "$T/dec.before"

done_testing
