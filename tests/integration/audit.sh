#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The audit record: a real program writes, deletes and links files, runs a subprocess and tries
# a connection; `airlock verify` finds the record intact (fresh, after commit, after undo,
# after discard), `airlock log` (text and --json) shows each event, and every kind of tampering
# (an event edited, deleted, inserted, reordered or appended; meta.json changed; an overlay
# file edited, added or removed) makes verify fail naming the first bad entry. --log-syslog
# sends every line of the chain to a syslog socket.
. "$(dirname "$0")/../lib.sh"
require_sandbox

cd "$T/work" || exit 1
EVIL=$'evil\033[2Jname.txt'
echo "on the host before the run" >old.txt
cat >"$T/agent.py" <<'PY'
import os, socket, subprocess, sys
os.makedirs("sub", exist_ok=True)
open("out.txt", "w").write("hello\n")
open("sub/data.bin", "wb").write(b"\0\1\2")
os.rename("sub/data.bin", "sub/moved.bin")
os.symlink("out.txt", "link")
os.unlink("old.txt")
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
S=$SESS/$sid
EV=$S/events.jsonl
nev=$(wc -l <"$EV")
nent=$(wc -l <"$S/changes.sha256")

# The record as written: the last event seals meta.json and names the change set's hash.
rec() {
	"$PY" - "$S" "$@" <<'PY'
import hashlib, json, sys
d, what = sys.argv[1], sys.argv[2]
m = json.load(open(d + "/meta.json"))
L = open(d + "/events.jsonl", "rb").read().splitlines()
last = json.loads(L[-1])
if what == "seal":
    print(last.get("class"), last.get("op"), last.get("by"),
          len(last.get("meta_sha256", "")), isinstance(last.get("meta_fields"), dict))
elif what == "changes":
    h = hashlib.sha256(open(d + "/changes.sha256", "rb").read()).hexdigest()
    print(h == m.get("changes_sha256") == last.get("changes_sha256"),
          m.get("changes_entries") == len(open(d + "/changes.sha256", "rb").read().splitlines()))
elif what == "head":
    print(m["chain"]["events"] == len(L), m["chain"]["head"] == hashlib.sha256(L[-1]).hexdigest())
PY
}
is "$(rec seal)" "session finish airlock 64 True" "record: the last event (finish) seals meta.json"
is "$(rec changes)" "True True" "record: meta.json and the seal hold the hash of changes.sha256"
is "$(rec head)" "True True" "record: meta.json's chain head is the seal"
hello=$(printf 'hello\n' | sha256sum | cut -d' ' -f1)
check "changes.sha256: a file with its content hash" \
	grep -qE "^$hello file 0[0-7]{3} $T/work/out.txt\$" "$S/changes.sha256"
check "changes.sha256: a symlink with its target's hash" \
	grep -qE "^$(printf out.txt | sha256sum | cut -d' ' -f1) symlink 0777 $T/work/link\$" "$S/changes.sha256"
check "changes.sha256: a deletion as a whiteout" grep -qE "^- whiteout 0[0-7]{3} $T/work/old.txt\$" "$S/changes.sha256"
check "changes.sha256: a new directory" grep -qE "^- dir 0[0-7]{3} $T/work/sub\$" "$S/changes.sha256"
check "changes.sha256: a control character in a name is escaped" grep -qF 'evil\x1b[2Jname.txt' "$S/changes.sha256"

# verify on the fresh session
vout=$("$AIRLOCK" verify "$sid" 2>"$T/verify.err")
is "$?" 0 "verify: a fresh session is intact (exit 0)"
is "$vout" "session $sid: $nev events, chain intact, meta.json sealed, $nent overlay entries as recorded" \
	"verify: one-line summary with the event and entry counts"
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
check "log: the end of the run, with the exit and the changes" \
	grep -qE '^[0-9:.]+  +- +session +finish +exit 0, [0-9]+ changes  \(by airlock\)$' "$T/log.txt"
# Every line has its columns where the header has them.
cols=$(awk 'NR == 1 { c = index($0, "CLASS"); d = index($0, "DECISION"); next }
	/^-- / { next }
	substr($0, c - 2, 2) != "  " || substr($0, c, 1) == " " || substr($0, d - 2, 2) != "  " ||
	substr($0, d, 1) == " " { bad++ } END { print bad + 0 }' "$T/log.txt")
is "$cols" 0 "log: the CLASS and DECISION columns are aligned on every line"
# Times are local, headed by the day and the offset; JSON keeps the recorded UTC.
check "log: the day and the offset head the times" \
	grep -qE '^-- [0-9]{4}-[0-9]{2}-[0-9]{2} [+-][0-9]{4} --$' <(sed -n 2p "$T/log.txt")
utc=$("$AIRLOCK" log --json "$sid" | head -1 | json_get - 'j["time"]')
check "log --json: the time is UTC" grep -qE '^[0-9-]{10}T[0-9:]{8}\.[0-9]+Z$' <<<"$utc"
want=$(TZ='<+0530>-5:30' date -d "${utc%Z}Z" '+-- %Y-%m-%d +0530 --|%H:%M:%S')
got=$(TZ='<+0530>-5:30' "$AIRLOCK" log "$sid" | sed -n '2p;3p' | cut -c1-22 | tr '\n' '|')
is "${got%%.*}" "${want%%|*}|${want#*|}" "log: in another zone the day, offset and times are its own"

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
sys.stdout.write(" green" if b"\x1b[32mallow" in out else "")
sys.stdout.write(" raw-escape" if b"\x1b[2J" in out else "")
PY
}
is "$(on_tty env -u NO_COLOR "$AIRLOCK" log "$sid")" "red green" "log: decisions coloured on a terminal"
is "$(on_tty env NO_COLOR=1 "$AIRLOCK" log "$sid")" plain "log: NO_COLOR turns colour off"

# Tampering, each with the session's own files, put back after each case. The verify error is
# checked for the entry it names.
mkdir "$T/orig"
cp -p "$S/meta.json" "$S/events.jsonl" "$S/changes.sha256" "$T/orig/"
put_back() { cp -p "$T/orig/meta.json" "$T/orig/events.jsonl" "$T/orig/changes.sha256" "$S/"; }
# edit FILE PYTHON: run PYTHON on the list of lines L (bytes, newline kept), write it back.
edit() {
	"$PY" - "$1" "$2" <<'PY'
import hashlib, re, sys
path, code = sys.argv[1], sys.argv[2]
L = open(path, "rb").read().splitlines(keepends=True)
exec(code)
open(path, "wb").write(b"".join(L))
PY
}
# edit_meta PYTHON: run PYTHON on the parsed meta.json m (and the log's lines L), write it back.
edit_meta() {
	"$PY" - "$S" "$1" <<'PY'
import hashlib, json, sys
d, code = sys.argv[1], sys.argv[2]
m = json.load(open(d + "/meta.json"))
L = open(d + "/events.jsonl", "rb").read().splitlines()
exec(code)
json.dump(m, open(d + "/meta.json", "w"), indent="\t")
PY
}
# tampered DESC PATTERN: verify exits 1 and its message matches PATTERN.
tampered() {
	local desc=$1 pat=$2 err
	err=$("$AIRLOCK" verify "$sid" 2>&1 >/dev/null)
	local rc=$?
	if [ "$rc" = 1 ] && [[ $err == *"$pat"* ]]; then ok "$desc"; else
		not_ok "$desc"
		diag "exit $rc: $err"
		diag "wanted: *$pat*"
	fi
}
intact() {
	local out
	out=$("$AIRLOCK" verify "$sid" 2>&1)
	if [ "$?" = 0 ]; then ok "$1"; else
		not_ok "$1"
		diag "$out"
	fi
}

# Events: the write of out.txt, a line well inside the log.
wline=$(grep -n "\"target\":\"$T/work/out.txt\"" "$EV" | head -1 | cut -d: -f1)
check "tamper: the write event is not the last line" test "$wline" -lt "$nev"
edit "$EV" "i = $wline - 1; L[i] = L[i].replace(b'out.txt', b'put.txt', 1)"
tampered "tamper: one byte of a target edited -> names the next line" \
	"events.jsonl:$((wline + 1)): seq $wline: prev hash does not match line $wline"
put_back

edit "$EV" "del L[2]"
tampered "tamper: a line deleted" "events.jsonl:3: seq 3 where 2 was expected"
put_back

edit "$EV" "L.insert(3, L[2])"
tampered "tamper: a duplicated line inserted" "events.jsonl:4: seq 2 where 3 was expected"
put_back

edit "$EV" "L[2], L[3] = L[3], L[2]"
tampered "tamper: two lines swapped" "events.jsonl:3: seq 3 where 2 was expected"
put_back

# A careful forger renumbers after deleting: the hashes still give it away.
edit "$EV" "
del L[2]
L = [re.sub(rb'^\{\"seq\":\d+', b'{\"seq\":%d' % i, l) for i, l in enumerate(L)]"
tampered "tamper: a line deleted and the rest renumbered" \
	"events.jsonl:3: seq 2: prev hash does not match line 2"
put_back

edit "$EV" "L[4] = L[4][:len(L[4]) // 2] + b'\n'"
tampered "tamper: a line cut short is not valid JSON" "events.jsonl:5: not valid JSON"
put_back

edit "$EV" "del L[-1]"
tampered "tamper: the last line (the seal) deleted" \
	"$((nev - 1)) lines where meta.json recorded $nev (lines were cut from the end)"
put_back

edit "$EV" "L[-1] = L[-1].replace(b'\"exit 0', b'\"exit 1')"
tampered "tamper: the last line edited" \
	"events.jsonl:$nev: seq $((nev - 1)): does not match the chain head recorded in meta.json"
put_back

# An event forged after the seal, chained correctly: the seal is no longer the last line.
edit "$EV" "
prev = hashlib.sha256(L[-1].rstrip(b'\n')).hexdigest().encode()
L.append(b'{\"seq\":$nev,\"time\":\"2030-01-01T00:00:00.000000Z\",\"class\":\"write\",\"op\":\"openat\",\"target\":\"/etc/x\",\"decision\":\"allow\",\"by\":\"default\",\"prev\":\"' + prev + b'\"}\n')"
tampered "tamper: an event appended after the seal" \
	"events.jsonl:$((nev + 1)): seq $nev: written after the last seal (line $nev)"
put_back

# The seal cut off and the chain head in meta.json moved back to match: still caught.
edit "$EV" "del L[-1]"
edit_meta "m['chain'] = {'events': len(L), 'head': hashlib.sha256(L[-1]).hexdigest()}"
tampered "tamper: the seal removed and meta.json's head moved back" \
	"meta.json: the state is 'finished' but no event of events.jsonl seals meta.json"
put_back

# meta.json
edit_meta "pass"
intact "meta.json rewritten with another layout, same content: still intact"
put_back

edit_meta "m['exit_code'] = 1"
tampered "tamper: meta.json exit_code changed -> names it" \
	"meta.json: \"exit_code\" differs from what events.jsonl:$nev sealed (edited)"
put_back

edit_meta "m['command'][0] = '/usr/bin/true'"
tampered "tamper: meta.json command changed -> names it" "meta.json: \"command\" differs"
put_back

edit_meta "m['changes_sha256'] = '0' * 64"
tampered "tamper: meta.json change-set hash changed -> names it" "meta.json: \"changes_sha256\" differs"
put_back

edit_meta "m['rules'] = [{'source': '/x', 'sha256': '0' * 64}]"
tampered "tamper: meta.json rules changed -> names them" "meta.json: \"rules\" differs"
put_back

edit_meta "del m['script']"
tampered "tamper: a meta.json member removed" "meta.json: \"script\" was removed after events.jsonl:$nev sealed it"
put_back

edit_meta "m['reviewed_by'] = 'nobody'"
tampered "tamper: a meta.json member added" "meta.json: \"reviewed_by\" was added after events.jsonl:$nev sealed it"
put_back

edit_meta "del m['chain']"
tampered "tamper: meta.json's chain head removed" "meta.json: records no chain head, but events.jsonl:$nev sealed it"
put_back

truncate -s 40 "$S/meta.json"
tampered "tamper: meta.json truncated" "meta.json: not a valid JSON object"
put_back

sed -i "s/\"$sid\"/\"${sid%????}eeee\"/" "$S/meta.json"
tampered "tamper: meta.json names another session" "meta.json: names session '${sid%????}eeee'"
put_back

# The overlays, against changes.sha256.
upper_of() { find "$S/upper" -path "*/$(basename "$T")/work/$1" -print -quit; }
uout=$(upper_of out.txt)
check "the upper entry of out.txt is found" test -n "$uout"
printf 'hellO\n' >"$uout"
tampered "tamper: an overlay file edited -> names it" \
	"overlay: $T/work/out.txt: its content differs from the record (changed after the run)"
printf 'hello\n' >"$uout"
intact "the same content put back: intact again"

mode=$(stat -c %a "$uout")
chmod 0600 "$uout"
tampered "tamper: an overlay file's mode changed" \
	"overlay: $T/work/out.txt: mode 0600 where 0$mode was recorded"
chmod "$mode" "$uout"

echo extra >"$(dirname "$uout")/extra.txt"
tampered "tamper: an overlay file added -> names it" \
	"overlay: $T/work/extra.txt: not in the record (added after the run)"
rm "$(dirname "$uout")/extra.txt"

umoved=$(upper_of sub/moved.bin)
mv "$umoved" "$T/moved.bin"
tampered "tamper: an overlay file removed -> names it" \
	"overlay: $T/work/sub/moved.bin: recorded, now missing (removed after the run)"
mv "$T/moved.bin" "$umoved"

ulink=$(upper_of link)
ln -sfn /etc/passwd "$ulink"
tampered "tamper: an overlay symlink pointed elsewhere" \
	"overlay: $T/work/link: its target differs from the record"
ln -sfn out.txt "$ulink"

edit "$S/changes.sha256" "L[0] = L[0].replace(b' 0', b' 1', 1)"
tampered "tamper: changes.sha256 edited" "changes.sha256: does not match the SHA-256 meta.json records (edited)"
put_back
intact "every tampering put back: intact again"

# Files and directories the program made unreadable are hashed all the same, and left as
# they were.
mkdir "$T/locked" && cd "$T/locked" || exit 1
al_run -- "$PY" -c "
import os
os.mkdir('dir'); open('dir/in.txt', 'w').write('in'); open('file.txt', 'w').write('f')
os.chmod('dir/in.txt', 0); os.chmod('file.txt', 0); os.chmod('dir', 0)" 2>/dev/null
lsid=$(last_session)
"$AIRLOCK" verify "$lsid" >"$T/locked.out" 2>&1
is "$?" 0 "unreadable files: verify passes"
check "unreadable files: hashed in changes.sha256" \
	grep -qE "^$(printf in | sha256sum | cut -d' ' -f1) file 0000 $T/locked/dir/in.txt\$" "$SESS/$lsid/changes.sha256"
ldir=$(find "$SESS/$lsid/upper" -path "*/$(basename "$T")/locked/dir" -print -quit)
is "$(stat -c %a "$ldir")" 0 "unreadable files: the directory's mode is left as it was"
chmod 700 "$ldir" && chmod 600 "$ldir/in.txt" && printf 'IN' >"$ldir/in.txt" && chmod 0 "$ldir/in.txt" "$ldir"
err=$("$AIRLOCK" verify "$lsid" 2>&1 >/dev/null)
case $err in
*"overlay: $T/locked/dir/in.txt: its content differs from the record"*) ok "unreadable files: an edit is still found" ;;
*) not_ok "unreadable files: an edit is still found ($err)" ;;
esac
chmod 700 "$ldir"
cd "$T/work" || exit 1

# The copies of the rules files a run used are covered by their hashes in meta.json.
printf 'allow exec *\n' >"$T/my.rules"
chmod 644 "$T/my.rules"
al_run -r "$T/my.rules" -- /bin/true 2>/dev/null
rsid=$(last_session)
copy=$("$PY" -c 'import json, sys
j = json.load(open(sys.argv[1]))
print([r["copy"] for r in j["rules"] if r.get("source") == sys.argv[2]][0])' "$SESS/$rsid/meta.json" "$T/my.rules" 2>/dev/null)
"$AIRLOCK" verify "$rsid" >/dev/null 2>&1
is "$?:${copy%/*}" "0:rules" "rules: the session keeps a copy of the rules file, and verifies"
echo "allow connect *" >>"$SESS/$rsid/$copy"
err=$("$AIRLOCK" verify "$rsid" 2>&1 >/dev/null)
case $err in
*"$copy: does not match the SHA-256 meta.json records (edited)"*) ok "tamper: a rules copy edited -> names it" ;;
*) not_ok "tamper: a rules copy edited -> names it ($err)" ;;
esac

# A tree 1000 levels deep is walked with few descriptors (the usual limit is 1024); one deeper
# than 1024 levels cannot be recorded, and verify says so rather than vouch for it.
mkdir "$T/deep" && cd "$T/deep" || exit 1
deep() { printf 'import os\nfor _ in range(%d):\n    os.mkdir("d"); os.chdir("d")\nopen("f", "w").write("f")\n' "$1"; }
al_run -- "$PY" -c "$(deep 1000)" 2>"$T/deep.err"
"$AIRLOCK" verify >"$T/deep.out" 2>&1
is "$?" 0 "a tree 1000 deep: recorded and verified"
is "$(grep -cE "^- dir 0[0-7]{3} $T/deep/d(/d)*\$" "$SESS/$(last_session)/changes.sha256")" 1000 \
	"a tree 1000 deep: every level listed"
al_run -- "$PY" -c "$(deep 1030)" 2>"$T/deeper.err"
err=$("$AIRLOCK" verify 2>&1 >/dev/null)
case $err in
*"the change set was not recorded when the run ended (the overlay is deeper than 1024 levels)"*) ok "a tree 1030 deep: verify refuses to vouch for the overlays" ;;
*) not_ok "a tree 1030 deep: verify refuses to vouch for the overlays ($err)" ;;
esac
cd "$T/work" || exit 1

# Commit and undo append to the chain, re-seal meta.json and leave the overlays as recorded.
"$AIRLOCK" commit "$sid" --all >"$T/commit.out" 2>&1
is "$?" 0 "commit --all"
is "$(cat out.txt 2>/dev/null)" hello "commit: the change is on the host"
vout=$("$AIRLOCK" verify "$sid" 2>&1)
is "$?" 0 "verify: intact after commit"
case $vout in
*", meta.json sealed, $nent overlay entries as recorded") ok "verify after commit: meta.json sealed, the overlays as recorded" ;;
*) not_ok "verify after commit: meta.json sealed, the overlays as recorded ($vout)" ;;
esac
is "$(rec seal)" "session seal airlock 64 True" "commit: its last event seals meta.json"
is "$(rec head)" "True True" "commit: meta.json's chain head is the new seal"
check "log: the commit is in the timeline" sh -c "'$AIRLOCK' log '$sid' | grep -qE ' commit +apply +$T/work/out.txt  \(by person\)\$'"

"$AIRLOCK" undo "$sid" >/dev/null 2>&1
is "$?" 0 "undo"
check "undo: the host is back" test -f old.txt -a ! -e out.txt
"$AIRLOCK" verify "$sid" >"$T/undo.verify" 2>&1
is "$?" 0 "verify: intact after undo"
is "$(rec seal)" "session seal airlock 64 True" "undo: its last event seals meta.json"

# A whiteout taken out of the overlay after the run (the deletion would no longer be seen).
rm "$(upper_of old.txt)"
tampered "tamper: a whiteout removed from the overlay" \
	"overlay: $T/work/old.txt: recorded, now missing (removed after the run)"

# Usage errors
"$AIRLOCK" verify a b >/dev/null 2>&1
is "$?" 2 "verify: too many arguments is a usage error"
"$AIRLOCK" log --bogus >/dev/null 2>&1
is "$?" 2 "log: an unknown option is a usage error"
"$AIRLOCK" verify nosuch >/dev/null 2>&1
is "$?" 1 "verify: an unknown session is refused"
check "verify --help: says what is checked" sh -c "'$AIRLOCK' verify --help | grep -q 'changes.sha256'"
check "log --help: describes the columns and NO_COLOR" sh -c "'$AIRLOCK' log --help | grep -q NO_COLOR"
check "run --help: describes --log-syslog" sh -c "'$AIRLOCK' run --help | grep -q -- '--log-syslog .*syslog'"
check "a usage error says what is wrong, then the synopsis only" sh -c \
	"'$AIRLOCK' verify a b 2>&1 | tr '\\n' '|' | grep -qx \"airlock: verify: unexpected argument 'b'|usage: airlock verify \\[ID\\]|\""

# Discard appends to the same chain and removes the overlays: verify checks the record only.
nev=$(wc -l <"$EV")
"$AIRLOCK" discard "$sid" >/dev/null
is "$?" 0 "discard the session"
vout=$("$AIRLOCK" verify "$sid" 2>&1)
is "$?" 0 "verify: intact after discard"
is "$vout" "session $sid: $((nev + 1)) events, chain intact, meta.json sealed, change set discarded (the overlays are gone; their recorded hashes are kept)" \
	"verify: the discard event joined the chain and the change set is said to be discarded"
check "log: the discard is in the timeline" sh -c "'$AIRLOCK' log '$sid' | grep -qE ' session +discard +discard +\(by person\)\$'"
edit "$S/changes.sha256" "L.append(b'- dir 0755 /forged\n')"
tampered "tamper: changes.sha256 edited after discard" "changes.sha256: does not match"

# A running session verifies as it goes; one whose airlock was killed shows as interrupted.
mkdir "$T/flags"
"$AIRLOCK" run --review never -- "$PY" -c "
import os, time
for _ in range(600):
    if os.path.exists('$T/flags/go'):
        break
    time.sleep(0.05)
open('late.txt', 'w').write('late')" >/dev/null 2>"$T/runner.err" &
runner=$!
has_state() { [ "$("$AIRLOCK" show --json "$1" 2>/dev/null | json_get - 'j["state"]' 2>/dev/null)" = "$2" ]; }
running_sid() {
	local id
	id=$(last_session 2>/dev/null) && [ "$id" != "$sid" ] && has_state "$id" running
}
if wait_for 20 running_sid; then
	rsid=$(last_session)
	vout=$("$AIRLOCK" verify "$rsid" 2>&1)
	is "$?" 0 "verify: a running session is intact"
	case $vout in
	*"chain intact (running: meta.json is sealed when the run ends)") ok "verify: says the session is running" ;;
	*) not_ok "verify: says the session is running ($vout)" ;;
	esac
else
	not_ok "a second session starts"
	not_ok "verify: says the session is running"
fi
touch "$T/flags/go"
wait "$runner"
rrc=$?
is "$rrc" 0 "the running session ends"
[ "$rrc" = 0 ] || diag "$(head -c 600 "$T/runner.err")"
"$AIRLOCK" verify >/dev/null 2>&1
is "$?" 0 "verify: the session, ended, is sealed and intact"

rm -f "$T/flags/go"
"$AIRLOCK" run --review never -- "$PY" -c "
import os, time
open('killed.txt', 'w').write('x')
for _ in range(600):
    if os.path.exists('$T/flags/go'):
        break
    time.sleep(0.05)" >/dev/null 2>&1 &
victim=$!
killed_sid() {
	local id
	id=$(last_session 2>/dev/null) && grep -q 'killed.txt' "$SESS/$id/events.jsonl" 2>/dev/null
}
if wait_for 20 killed_sid; then
	ksid=$(last_session)
	kill -9 "$victim"
	wait "$victim" 2>/dev/null
	wait_for 10 has_state "$ksid" interrupted
	vout=$("$AIRLOCK" verify "$ksid" 2>&1)
	is "$?" 0 "verify: an interrupted session's chain is intact"
	case $vout in
	*"(interrupted: the run never ended, so meta.json was never sealed and the change set never recorded)") ok "verify: says the session was interrupted" ;;
	*) not_ok "verify: says the session was interrupted ($vout)" ;;
	esac
else
	kill -9 "$victim" 2>/dev/null
	not_ok "verify: an interrupted session's chain is intact"
	not_ok "verify: says the session was interrupted"
fi
touch "$T/flags/go"

# --log-syslog: every line of the chain reaches a syslog datagram socket, as syslog(3) would
# send it. The receiver writes one datagram per line.
cat >"$T/syslogd.py" <<'PY'
import os, socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
os.chmod(sys.argv[1], 0o666)
with open(sys.argv[2], "ab", buffering=0) as f:
    while True:
        f.write(s.recv(1 << 20) + b"\n")
PY
# syslog_matches GOT SESSION-DIR: the datagrams are the session's lines, in order, each in
# syslog(3)'s format, the run's from airlock's pid. Prints "ok N" or what differs.
syslog_matches() {
	"$PY" - "$1" "$2" <<'PY'
import json, re, sys
got = open(sys.argv[1], "rb").read().splitlines()
lines = open(sys.argv[2] + "/events.jsonl", "rb").read().splitlines()
m = json.load(open(sys.argv[2] + "/meta.json"))
pat = re.compile(rb"^<14>[A-Z][a-z]{2} [ 1-3][0-9] [0-2][0-9]:[0-5][0-9]:[0-6][0-9] "
                 rb"airlock\[(\d+)\]: session=([0-9a-f-]+) (.*)$")
cut = 0
for i, (g, l) in enumerate(zip(got, lines)):
    r = pat.match(g)
    if not r:
        print("datagram %d is not in syslog format: %r" % (i, g[:120]))
        sys.exit(0)
    body = r.group(3)
    # A line too long for syslog is cut, marked, and fits in 8 KiB.
    if len(l) > len(body) and body.endswith(b" [cut]") and l.startswith(body[:-6]) and len(g) <= 8192:
        cut += 1
    elif r.group(2).decode() != m["id"] or body != l:
        print("datagram %d is not line %d of events.jsonl: %r" % (i, i + 1, g[:120]))
        sys.exit(0)
    if i == 0 and int(r.group(1)) != m["supervisor_pid"]:
        print("the run's datagrams are not from airlock's pid")
        sys.exit(0)
if len(got) != len(lines):
    print("%d datagrams, %d lines" % (len(got), len(lines)))
else:
    print("ok %d" % len(got) + (" (%d cut)" % cut if cut else ""))
PY
}
sock=$T/syslog.sock
"$PY" "$T/syslogd.py" "$sock" "$T/syslog.got" &
syslogd=$!
if wait_for 10 test -S "$sock"; then
	AIRLOCK_SYSLOG_SOCKET=$sock al_run --log-syslog --capture -- "$PY" -c \
		"import subprocess; print('to be captured'); open('fwd.txt', 'w').write('fwd')
subprocess.run(['/bin/true'] + ['x' * 4000] * 3)" >/dev/null 2>"$T/fwd.err"
	is "$?" 0 "--log-syslog: the run succeeds"
	fsid=$(last_session)
	F=$SESS/$fsid
	fev=$(wc -l <"$F/events.jsonl")
	wait_for 10 sh -c "[ \$(wc -l <'$T/syslog.got') -ge $fev ]"
	is "$(syslog_matches "$T/syslog.got" "$F")" "ok $fev (1 cut)" \
		"--log-syslog: each line of events.jsonl, in order, in syslog(3)'s format; a long one cut"
	is "$(json_get "$F/meta.json" '(j["syslog"]["socket"], j["syslog"]["sent"], j["syslog"]["dropped"])')" \
		"('$sock', $((fev - 1)), 0)" "--log-syslog: meta.json counts the lines sent before the end, none lost"
	check "--log-syslog: no warning" sh -c "! grep -q syslog '$T/fwd.err'"
	AIRLOCK_SYSLOG_SOCKET=$sock "$AIRLOCK" commit "$fsid" --all >"$T/fwd-commit.out" 2>&1 || diag "commit: $(cat "$T/fwd-commit.out")"
	fev=$(wc -l <"$F/events.jsonl")
	wait_for 10 sh -c "[ \$(wc -l <'$T/syslog.got') -ge $fev ]"
	is "$(syslog_matches "$T/syslog.got" "$F")" "ok $fev (1 cut)" "--log-syslog: the commit's events are forwarded too"
	intact_f=$("$AIRLOCK" verify "$fsid" 2>&1)
	is "$?" 0 "--log-syslog: the session verifies"

	# The captured output is covered too.
	cp -p "$F/stdout" "$T/stdout.orig"
	echo "forged" >"$F/stdout"
	err=$("$AIRLOCK" verify "$fsid" 2>&1 >/dev/null)
	case $err in
	*"stdout: the captured output does not match the SHA-256 meta.json records (edited)"*) ok "tamper: captured stdout edited" ;;
	*) not_ok "tamper: captured stdout edited ($err)" ;;
	esac
	cp -p "$T/stdout.orig" "$F/stdout"
else
	for d in "--log-syslog: the run succeeds" "--log-syslog: each line" "--log-syslog: meta.json counts" \
		"--log-syslog: no warning" "--log-syslog: the commit's events" "--log-syslog: the session verifies" \
		"tamper: captured stdout edited"; do
		not_ok "$d (the test's syslog socket did not appear)"
	done
fi
kill "$syslogd" 2>/dev/null
wait "$syslogd" 2>/dev/null

# Nobody listening: the run goes on, says so once, and meta.json counts what was lost.
AIRLOCK_SYSLOG_SOCKET=$T/nobody.sock al_run --log-syslog -- /bin/true 2>"$T/nobody.err"
is "$?" 0 "--log-syslog, nobody listening: the run succeeds"
check "--log-syslog, nobody listening: one warning naming the socket" \
	sh -c "[ \$(grep -c 'log-syslog' '$T/nobody.err') = 1 ] && grep -q 'cannot connect to $T/nobody.sock' '$T/nobody.err'"
nsid=$(last_session)
nfev=$(wc -l <"$SESS/$nsid/events.jsonl")
is "$(json_get "$SESS/$nsid/meta.json" '(j["syslog"]["sent"], j["syslog"]["dropped"])')" "(0, $((nfev - 1)))" \
	"--log-syslog, nobody listening: meta.json counts every line as lost"
"$AIRLOCK" verify "$nsid" >/dev/null 2>&1
is "$?" 0 "--log-syslog, nobody listening: the record itself is whole"

# A daemon that stops reading: the run waits for it once, briefly, then drops and counts.
cat >"$T/deaf.py" <<'PY'
import socket, sys, time
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
time.sleep(600)
PY
"$PY" "$T/deaf.py" "$T/deaf.sock" &
deaf=$!
if wait_for 10 test -S "$T/deaf.sock"; then
	AIRLOCK_SYSLOG_SOCKET=$T/deaf.sock timeout 120 "$AIRLOCK" run --review never --log-syslog -- "$PY" -c "
for i in range(3000):
    open('deaf-%d' % i, 'w').close()" 2>"$T/deaf.err"
	is "$?" 0 "--log-syslog, a daemon that does not read: the run ends on its own"
	dsid=$(last_session)
	dev=$(wc -l <"$SESS/$dsid/events.jsonl")
	is "$(json_get "$SESS/$dsid/meta.json" 'j["syslog"]["dropped"] > 0, j["syslog"]["sent"] + j["syslog"]["dropped"]')" \
		"True $((dev - 1))" "--log-syslog, a daemon that does not read: lines dropped and counted"
	check "--log-syslog, a daemon that does not read: one warning" \
		sh -c "[ \$(grep -c 'log-syslog' '$T/deaf.err') = 1 ] && grep -q 'the log daemon is not reading' '$T/deaf.err'"
else
	not_ok "--log-syslog, a daemon that does not read (the test's socket did not appear)"
fi
kill "$deaf" 2>/dev/null
wait "$deaf" 2>/dev/null

# The default socket is /dev/log, where journald and rsyslog listen.
env -u AIRLOCK_SYSLOG_SOCKET "$AIRLOCK" run --review never --log-syslog -- /bin/true 2>"$T/devlog.err"
dsid=$(last_session)
dfev=$(wc -l <"$SESS/$dsid/events.jsonl")
is "$(json_get "$SESS/$dsid/meta.json" 'j["syslog"]["socket"], j["syslog"]["sent"] + j["syslog"]["dropped"]')" \
	"/dev/log $((dfev - 1))" "--log-syslog: the default socket is /dev/log"
if [ ! -e /dev/log ]; then
	check "--log-syslog: no /dev/log here, and the warning says so" grep -q 'cannot connect to /dev/log' "$T/devlog.err"
fi
# As root, a private mount namespace can put an overlay on /dev (the host's /dev is untouched)
# so that the test's receiver listens at /dev/log itself. (As another user the check above
# is what can be tested: which socket airlock sends to.)
if [ "$(id -u)" = 0 ] && command -v unshare >/dev/null; then
	mkdir -p "$T/dev-upper" "$T/dev-work"
	unshare -m --propagation private bash -c '
		mount -t overlay overlay -o "lowerdir=/dev,upperdir=$1/dev-upper,workdir=$1/dev-work" /dev || exit 3
		rm -f /dev/log
		"$2" "$1/syslogd.py" /dev/log "$1/devlog.got" &
		d=$!
		for _ in $(seq 200); do [ -S /dev/log ] && break; sleep 0.05; done
		env -u AIRLOCK_SYSLOG_SOCKET "$3" run --review never --log-syslog -- /bin/true >/dev/null 2>&1
		rc=$?
		kill $d
		exit $rc' devlog "$T" "$PY" "$AIRLOCK"
	rc=$?
	if [ "$rc" = 3 ]; then
		skip "--log-syslog: lines reach /dev/log" "cannot mount an overlay on /dev here"
	else
		dsid=$(last_session)
		is "$rc:$(syslog_matches "$T/devlog.got" "$SESS/$dsid")" "0:ok $(wc -l <"$SESS/$dsid/events.jsonl")" \
			"--log-syslog: lines reach /dev/log"
	fi
fi

done_testing
