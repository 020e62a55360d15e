#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The audit record: a real program writes files, runs a subprocess and tries a connection;
# `airlock verify` finds its chain intact, `airlock log` (text and --json) shows each event, and
# every kind of tampering with a copy of the record (edit, delete, insert, swap, broken meta)
# makes verify fail naming the first bad entry. Verify still passes after `airlock discard`.
. "$(dirname "$0")/../lib.sh"
require_sandbox

cd "$T/work" || exit 1
EVIL=$'evil\033[2Jname.txt'
cat >"$T/agent.py" <<'PY'
import os, socket, subprocess, sys
os.makedirs("sub", exist_ok=True)
open("out.txt", "w").write("hello\n")
open("sub/data.bin", "wb").write(b"\0\1\2")
os.rename("sub/data.bin", "sub/moved.bin")
open(sys.argv[1], "w").write("a name with an escape sequence\n")
subprocess.run(["/bin/echo", "child-marker"], check=True)
s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
s.settimeout(5)
try:
    s.connect(("192.0.2.1", 443))
    print("CONNECTED")
except OSError as e:
    print("REFUSED")
PY

out=$(al_run -- "$PY" "$T/agent.py" "$EVIL" 2>"$T/run.err")
is "$?" 0 "the program runs to the end"
is "$(echo $out)" "child-marker REFUSED" "the subprocess ran and the connection was refused"
sid=$(last_session)
SESS=$AIRLOCK_STATE_DIR/sessions
EV=$SESS/$sid/events.jsonl
nev=$(wc -l <"$EV")

# verify on the fresh session
vout=$("$AIRLOCK" verify "$sid" 2>"$T/verify.err")
is "$?" 0 "verify: a fresh session is intact (exit 0)"
case $vout in
"session $sid: $nev events, chain intact"*) ok "verify: one-line summary with the event count" ;;
*) not_ok "verify: one-line summary ($vout)" ;;
esac
is "$(wc -l <"$T/verify.err")" 0 "verify: nothing on stderr when intact"
"$AIRLOCK" verify >/dev/null 2>&1
is "$?" 0 "verify: no ID means the last session"

# log --json: one object per line, with the events the program caused
"$AIRLOCK" log --json "$sid" >"$T/log.jsonl"
is "$?" 0 "log --json exits 0"
is "$(wc -l <"$T/log.jsonl")" "$nev" "log --json: one line per recorded event"
lj() {
	"$PY" - "$T/log.jsonl" "$@" <<'PY'
import json, sys
evs = []
for n, line in enumerate(open(sys.argv[1], encoding="utf-8"), 1):
    try:
        o = json.loads(line)
    except ValueError:
        print("line %d does not parse" % n)
        sys.exit(0)
    if not isinstance(o, dict):
        print("line %d is not an object" % n)
        sys.exit(0)
    evs.append(o)
what, args = sys.argv[2], sys.argv[3:]
if what == "parse":
    print("ok")
elif what == "exec":
    print(any(e.get("class") == "exec" and e.get("command") == args for e in evs))
elif what == "write":
    print(any(e.get("class") == "write" and e.get("target") == args[0] for e in evs))
elif what == "rename":
    print(any(e.get("class") == "write" and e.get("target") == args[0]
              and e.get("target2") == args[1] for e in evs))
elif what == "connect":
    print(any(e.get("class") == "connect" and e.get("target") == args[0]
              and e.get("decision") == "deny" for e in evs))
elif what == "by":
    print(all(isinstance(e.get("by"), str) and e["by"] for e in evs))
elif what == "seq":
    print([e["seq"] for e in evs] == list(range(len(evs))))
PY
}
is "$(lj parse)" ok "log --json: every line parses as a JSON object"
is "$(lj seq)" True "log --json: the events in order, as recorded"
is "$(lj exec /bin/echo child-marker)" True "log --json: the subprocess's exec with its argv"
is "$(lj write "$T/work/out.txt")" True "log --json: the write path"
is "$(lj rename "$T/work/sub/data.bin" "$T/work/sub/moved.bin")" True \
	"log --json: a rename with both paths"
is "$(lj connect 192.0.2.1:443)" True "log --json: the network target, denied"
is "$(lj by)" True "log --json: every event says who decided"

# log as text
"$AIRLOCK" log "$sid" >"$T/log.txt"
is "$?" 0 "log exits 0"
check "log: a header names the columns" grep -q '^TIME  *PID  *CLASS  *DECISION  *TARGET$' "$T/log.txt"
check "log: the subprocess with its argv" grep -qE '^[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{3}  +[0-9]+ +exec +allow +/bin/echo child-marker$' "$T/log.txt"
check "log: the write path" grep -qE " write +allow +$T/work/out.txt\$" "$T/log.txt"
check "log: a rename as 'a -> b'" grep -qF "$T/work/sub/data.bin -> $T/work/sub/moved.bin" "$T/log.txt"
check "log: the connection, denied" grep -qE ' connect +deny +192\.0\.2\.1:443$' "$T/log.txt"
# The subprocess (a child of python) is indented one step deeper than python's own events.
indent_of() { grep -E "$1" "$T/log.txt" | head -1 | sed -E 's/^[^ ]+  ( *)[0-9].*/\1/' | wc -c; }
parent=$(indent_of " write +allow +$T/work/out.txt\$")
child=$(indent_of ' exec +allow +/bin/echo child-marker$')
is "$((child - parent))" 2 "log: a child process is indented under its parent"
if grep -q $'\033' "$T/log.txt"; then not_ok "log: no escape byte reaches a pipe"; else
	ok "log: no escape byte reaches a pipe (no colour, sanitised names)"; fi
check "log: a hostile file name is shown escaped" grep -qF 'evil\e[2Jname.txt' "$T/log.txt"

# Colour only on a terminal, and never under NO_COLOR.
on_tty() {
	"$PY" - "$@" <<'PY'
import os, pty, subprocess, sys
m, s = pty.openpty()
p = subprocess.Popen(sys.argv[1:], stdout=s, stderr=subprocess.DEVNULL)
os.close(s)
out = b""
while True:
    try:
        d = os.read(m, 65536)
    except OSError:
        break
    if not d:
        break
    out += d
p.wait()
sys.stdout.write("red" if b"\x1b[31mdeny" in out else "plain")
sys.stdout.write(" raw-escape" if b"\x1b[2J" in out else "")
PY
}
is "$(on_tty env -u NO_COLOR "$AIRLOCK" log "$sid")" red "log: decisions coloured on a terminal"
is "$(on_tty env NO_COLOR=1 "$AIRLOCK" log "$sid")" plain "log: NO_COLOR turns colour off"

# Tampering, each on a fresh copy of the record under a new id in the same store.
# copy: a fresh copy of the record (meta.json, events.jsonl) as session $c, with meta naming it.
# Only the record: as an unprivileged user the overlay's work/*/work directories (mode 000,
# made by the kernel) cannot be copied, and verify does not read the overlay yet.
n=0
copy() {
	n=$((n + 1))
	c=${sid%????}f$(printf '%03d' "$n")
	if ! mkdir "$SESS/$c" || ! cp -a "$SESS/$sid/meta.json" "$SESS/$sid/events.jsonl" "$SESS/$c/" ||
		! sed -i "s/\"$sid\"/\"$c\"/" "$SESS/$c/meta.json"; then
		not_ok "copy the session record to $c"
		return 1
	fi
}
# edit FILE PYTHON: run PYTHON on the list of lines L (bytes, newline kept), write it back.
edit() {
	"$PY" - "$1" "$2" <<'PY'
import sys
path, code = sys.argv[1], sys.argv[2]
L = open(path, "rb").read().splitlines(keepends=True)
exec(code)
open(path, "wb").write(b"".join(L))
PY
}
# tampered DESC ID PATTERN: verify ID exits 1 and its message matches PATTERN.
tampered() {
	local desc=$1 id=$2 pat=$3 err
	err=$("$AIRLOCK" verify "$id" 2>&1 >/dev/null)
	local rc=$?
	if [ "$rc" = 1 ] && [[ $err == *$pat* ]]; then ok "$desc"; else
		not_ok "$desc"
		diag "exit $rc: $err"
		diag "wanted: *$pat*"
	fi
}

copy
"$AIRLOCK" verify "$c" >/dev/null 2>&1
is "$?" 0 "tamper: an untouched copy verifies (control)"

# The write of out.txt, and a line well inside the log.
wline=$(grep -n "\"target\":\"$T/work/out.txt\"" "$EV" | head -1 | cut -d: -f1)
check "tamper: the write event is not the last line" test "$wline" -lt "$nev"
copy
edit "$SESS/$c/events.jsonl" "i = $wline - 1; L[i] = L[i].replace(b'out.txt', b'put.txt', 1)"
tampered "tamper: one byte of a target edited -> names that line" "$c" \
	"events.jsonl:$((wline + 1)): seq $wline: prev hash does not match line $wline"

copy
edit "$SESS/$c/events.jsonl" "del L[2]"
tampered "tamper: a line deleted" "$c" "events.jsonl:3: seq 3 where 2 was expected"

copy
edit "$SESS/$c/events.jsonl" "L.insert(3, L[2])"
tampered "tamper: a duplicated line inserted" "$c" "events.jsonl:4: seq 2 where 3 was expected"

copy
edit "$SESS/$c/events.jsonl" "L[2], L[3] = L[3], L[2]"
tampered "tamper: two lines swapped" "$c" "events.jsonl:3: seq 3 where 2 was expected"

# A careful forger renumbers after deleting: the hashes still give it away.
copy
edit "$SESS/$c/events.jsonl" "
import re
del L[2]
L = [re.sub(rb'^\{\"seq\":\d+', b'{\"seq\":%d' % i, l) for i, l in enumerate(L)]"
tampered "tamper: a line deleted and the rest renumbered" "$c" \
	"events.jsonl:3: seq 2: prev hash does not match line 2"

copy
edit "$SESS/$c/events.jsonl" "L[4] = L[4][:len(L[4]) // 2] + b'\n'"
tampered "tamper: a line cut short is not valid JSON" "$c" "events.jsonl:5: not valid JSON"

copy
truncate -s 40 "$SESS/$c/meta.json"
tampered "tamper: meta.json truncated" "$c" "meta.json: not a valid JSON object"

copy
sed -i "s/\"$c\"/\"${sid%????}eeee\"/" "$SESS/$c/meta.json"
tampered "tamper: meta.json names another session" "$c" "meta.json: names session '${sid%????}eeee'"

# With the chain head recorded in meta (as audit_record_head writes it), lines cut from the
# end and an edit of the last line are caught too.
with_head() {
	"$PY" - "$SESS/$1/meta.json" "$SESS/$1/events.jsonl" <<'PY'
import hashlib, json, sys
m = json.load(open(sys.argv[1]))
L = open(sys.argv[2], "rb").read().splitlines()
m["chain"] = {"events": len(L), "head": hashlib.sha256(L[-1]).hexdigest()}
json.dump(m, open(sys.argv[1], "w"), indent="\t")
PY
}
copy
with_head "$c"
"$AIRLOCK" verify "$c" >"$T/head.out" 2>&1
is "$?" 0 "chain head in meta: an intact copy verifies"
check "chain head in meta: no warning about the end" grep -qx "session $c: $nev events, chain intact" "$T/head.out"
copy
with_head "$c"
edit "$SESS/$c/events.jsonl" "del L[-1]"
tampered "chain head in meta: the last line deleted" "$c" \
	"$((nev - 1)) lines where meta.json recorded $nev (lines were cut from the end)"
copy
with_head "$c"
edit "$SESS/$c/events.jsonl" "L[-1] = L[-1].replace(b'\"deny\"', b'\"allow\"')"
tampered "chain head in meta: the last line edited" "$c" \
	"events.jsonl:$nev: seq $((nev - 1)): does not match the chain head recorded in meta.json"

# Usage errors
"$AIRLOCK" verify a b >/dev/null 2>&1
is "$?" 2 "verify: too many arguments is a usage error"
"$AIRLOCK" log --bogus >/dev/null 2>&1
is "$?" 2 "log: an unknown option is a usage error"
"$AIRLOCK" verify nosuch >/dev/null 2>&1
is "$?" 1 "verify: an unknown session is refused"

# Discard appends to the same chain, which stays intact.
"$AIRLOCK" discard "$sid" >/dev/null
is "$?" 0 "discard the session"
vout=$("$AIRLOCK" verify "$sid" 2>&1)
is "$?" 0 "verify: intact after discard"
case $vout in
"session $sid: $((nev + 1)) events, chain intact"*) ok "verify: the discard event joined the chain" ;;
*) not_ok "verify: the discard event joined the chain ($vout)" ;;
esac
check "log: the discard is in the timeline" sh -c "'$AIRLOCK' log '$sid' | grep -qE ' session +discard +discard +\(by person\)\$'"

done_testing
