#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Rules and asks, live: `airlock rules check/show`; deny exec and deny write hold inside a real
# sandbox; ask answered by a JSON controller on a descriptor, both ways, by timeout, and when
# the controller goes away; every event names who decided.
. "$(dirname "$0")/../lib.sh"
require_sandbox

W=$T/work
cd "$W" || exit 1

# --- airlock rules check / show
cat >"$T/good.rules" <<'EOF'
# a comment
deny  exec    git push
allow connect pypi.org:443
deny  write   ./secrets/**
readonly ~/.config
EOF
out=$("$AIRLOCK" rules check "$T/good.rules" 2>&1)
is "$?" 0 "rules check: a good file exits 0"
check "rules check: says ok with the count" grep -q "good.rules: ok, 4 rules" <<<"$out"
printf 'allow exec ls\nfrobnicate write /x\n' >"$T/bad.rules"
out=$("$AIRLOCK" rules check "$T/bad.rules" 2>&1)
is "$?" 1 "rules check: a bad file exits 1"
check "rules check: names file:line" grep -q "bad.rules:2: " <<<"$out"
cp "$T/good.rules" "$T/loose.rules"
chmod 666 "$T/loose.rules"
out=$("$AIRLOCK" rules check "$T/loose.rules" 2>&1)
is "$?" 1 "rules check: a file others can write exits 1"
check "rules check: says run refuses it" grep -q "airlock run refuses it" <<<"$out"
out=$("$AIRLOCK" rules show -r "$T/good.rules" 2>&1)
check "rules show: the defaults first" grep -qE '^<defaults>:1 +allow +exec +\*' <<<"$out"
check "rules show: then the file, with its lines" grep -qE 'good.rules:2 +deny +exec +git push' <<<"$out"
nsessions=$(ls "$AIRLOCK_STATE_DIR/sessions" 2>/dev/null | wc -l)
"$AIRLOCK" run --review never -r "$T/loose.rules" -- true 2>"$T/err"
is "$?" 125 "run refuses a rules file others can write"
check "run says why, naming the file" grep -q "loose.rules" "$T/err"
"$AIRLOCK" run --review never -r "$T/bad.rules" -- true 2>"$T/err"
is "$?" 125 "run refuses a malformed rules file"
check "run names file:line" grep -q "bad.rules:2: " "$T/err"
is "$(ls "$AIRLOCK_STATE_DIR/sessions" 2>/dev/null | wc -l)" "$nsessions" "a refused rules file leaves no session"

# --- deny exec: PermissionError inside, the command never ran
cat >"$T/deny.rules" <<'EOF'
deny exec /usr/bin/touch
deny exec id
deny write ./secret*
EOF
cat >"$T/deny.py" <<'PY'
import subprocess, os
res = []
try:
    subprocess.run(["touch", "ran-marker"])
    res.append("touch-ran")
except PermissionError:
    res.append("touch-denied")
try:
    subprocess.run(["/bin/id"], stdout=subprocess.DEVNULL)  # /bin is a link to /usr/bin
    res.append("id-ran")
except PermissionError:
    res.append("id-denied")
try:
    open("secret.txt", "w").write("x")
    res.append("write-ran")
except PermissionError:
    res.append("write-denied")
open("fine.txt", "w").write("ok\n")
res.append("exists" if os.path.exists("ran-marker") else "absent")
print(" ".join(res))
PY
out=$(al_run -r "$T/deny.rules" -- "$PY" "$T/deny.py" 2>/dev/null)
is "$out" "touch-denied id-denied write-denied absent" "deny rules hold for exec (by name and through a link) and write"
sid=$(last_session)
"$AIRLOCK" show --json "$sid" >"$T/deny.json"
is "$(jf deny "sorted(c['path'].rsplit('/',1)[1] for c in j['changes'])")" "['fine.txt']" \
	"only the allowed write is in the change set"
"$AIRLOCK" log --json "$sid" >"$T/deny.log"
"$PY" - "$T/deny.log" "$T/deny.rules" >"$T/deny.check" <<'PY'
import json, sys
evs = [json.loads(l) for l in open(sys.argv[1])]
rules = sys.argv[2]
def find(cls, pred):
    return [e for e in evs if e.get("class") == cls and pred(e)]
touch = find("exec", lambda e: e.get("target", "").endswith("/touch") and e["decision"] == "deny")
ident = find("exec", lambda e: e.get("target") == "/bin/id")
sec = find("write", lambda e: e.get("target", "").endswith("/secret.txt"))
fine = find("write", lambda e: e.get("target", "").endswith("/fine.txt"))
print(bool(touch) and touch[0]["by"] == rules + ":1")
print(bool(ident) and ident[0]["decision"] == "deny" and ident[0]["by"] == rules + ":2"
      and ident[0].get("resolved") == "/usr/bin/id")
print(bool(sec) and sec[0]["decision"] == "deny" and sec[0]["by"] == rules + ":3"
      and sec[0]["result"] == "EACCES")
print(bool(fine) and fine[0]["decision"] == "allow" and fine[0]["by"] == "<defaults>:4")
PY
is "$(sed -n 1p "$T/deny.check")" True "the event names the deny exec rule file:line"
is "$(sed -n 2p "$T/deny.check")" True "a link to a denied program is denied, with the resolved path"
is "$(sed -n 3p "$T/deny.check")" True "the denied write is recorded EACCES with its rule"
is "$(sed -n 4p "$T/deny.check")" True "an allowed write names the default rule"
# Files as given, then the sources airlock adds (<PATH>: the directories on the person's PATH
# are sensitive), each kept with its hash.
"$PY" -c 'import json,sys; m=json.load(open(sys.argv[1])); r=[x for x in m["rules"] if not x["source"].startswith("<")]; print(len(r), r[0]["source"].endswith("deny.rules"), len(r[0]["sha256"]))' \
	"$AIRLOCK_STATE_DIR/sessions/$sid/meta.json" >"$T/meta.check"
is "$(cat "$T/meta.check")" "1 True 64" "meta records the rules file with its hash"
cmp -s "$AIRLOCK_STATE_DIR/sessions/$sid/rules/1" "$T/deny.rules"
is "$?" 0 "the session keeps a copy of the rules file as loaded"

# --- ask, answered by a JSON controller on fd 3
cat >"$T/ask.rules" <<'EOF'
ask exec /usr/bin/touch
EOF
cat >"$T/touch.py" <<'PY'
import subprocess
try:
    subprocess.run(["touch", "asked-marker"])
    print("ran")
except PermissionError:
    print("denied")
PY
AIRLOCK="$AIRLOCK" "$PY" "$TOP/examples/approver.py" --allow 'exec:*/touch*' --log "$T/asks.jsonl" -- \
	run --review never -r "$T/ask.rules" -- "$PY" "$T/touch.py" >"$T/out" 2>"$T/err"
is "$(cat "$T/out")" "ran" "an ask allowed by the JSON controller runs the command"
"$PY" - "$T/asks.jsonl" >"$T/ask.check" <<'PY'
import json, sys
l = [json.loads(x) for x in open(sys.argv[1])]
a = l[0]["ask"]
print(len(l) >= 1, a["type"], a["class"], a["target"].endswith("/touch"), isinstance(a["id"], int),
      isinstance(a["pid"], int), a["command"][0], a["rule"].endswith("ask.rules:1"), "argv" in a)
PY
is "$(cat "$T/ask.check")" "True ask exec True True True touch True True" "the ask carries id, class, pid, argv, command and rule"
sid=$(last_session)
"$AIRLOCK" log --json "$sid" >"$T/ask.log"
is "$("$PY" -c 'import json,sys
e=[json.loads(l) for l in open(sys.argv[1]) if "\"asked\"" in l]
print(e[0]["decision"], e[0]["by"], e[0]["rule"].endswith("ask.rules:1"))' "$T/ask.log")" "allow approver True" \
	"the event says the approver allowed it, and which rule asked"
"$AIRLOCK" show --json "$sid" >"$T/ask.json"
is "$(jf ask "[c['path'].rsplit('/',1)[1] for c in j['changes']]")" "['asked-marker']" "the allowed command's file is in the change set"

AIRLOCK="$AIRLOCK" "$PY" "$TOP/examples/approver.py" --deny 'exec:*' -- \
	run --review never -r "$T/ask.rules" -- "$PY" "$T/touch.py" >"$T/out" 2>"$T/err"
is "$(cat "$T/out")" "denied" "an ask denied by the JSON controller gets PermissionError"
"$AIRLOCK" show --json last >"$T/ask2.json"
is "$(jf ask2 "len(j['changes'])")" 0 "the denied command changed nothing"

# remember: session answers the second ask without asking
cat >"$T/twice.py" <<'PY'
import subprocess
for i in range(3):
    subprocess.run(["touch", "m%d" % i])
print("done")
PY
cat >"$T/ask-touch-any.rules" <<'EOF'
ask exec /usr/bin/touch
EOF
rm -f "$T/asks2.jsonl"
AIRLOCK="$AIRLOCK" "$PY" "$TOP/examples/approver.py" --allow 'exec:*/touch' --log "$T/asks2.jsonl" -- \
	run --review never -r "$T/ask-touch-any.rules" -- "$PY" "$T/twice.py" >"$T/out" 2>"$T/err"
is "$(cat "$T/out")" "done" "the program ran through its asks"
is "$(wc -l <"$T/asks2.jsonl")" 3 "each different command line is asked once"

# --- an ask nobody answers is denied at --ask-timeout
start=$(date +%s)
"$PY" - "$AIRLOCK" "$T/ask.rules" "$PY" "$T/touch.py" >"$T/out" 2>"$T/err" <<'PY'
import os, socket, subprocess, sys
al, rules, py, script = sys.argv[1:5]
a, b = socket.socketpair()
p = subprocess.Popen([al, "run", "--review", "never", "--ask", "fd:%d" % b.fileno(),
                      "--ask-timeout", "1s", "-r", rules, "--", py, script], pass_fds=[b.fileno()])
b.close()
p.wait()  # never answers; keeps its end open
a.close()
PY
end=$(date +%s)
is "$(cat "$T/out")" "denied" "an unanswered ask is denied at the ask timeout"
check "the timeout is the one asked for (under 20 s)" test $((end - start)) -lt 20
"$AIRLOCK" log --json last >"$T/to.log"
is "$("$PY" -c 'import json,sys
e=[json.loads(l) for l in open(sys.argv[1]) if "\"asked\"" in l]
print(e[0]["decision"], e[0]["by"])' "$T/to.log")" "deny timeout" "the event says the timeout decided"

# --- a controller that closes its end: asks are denied, airlock says why
"$PY" - "$AIRLOCK" "$T/ask.rules" "$PY" "$T/touch.py" >"$T/out" 2>"$T/err" <<'PY'
import socket, subprocess, sys
al, rules, py, script = sys.argv[1:5]
a, b = socket.socketpair()
p = subprocess.Popen([al, "run", "--review", "never", "--ask", "fd:%d" % b.fileno(),
                      "-r", rules, "--", py, script], pass_fds=[b.fileno()])
b.close()
a.close()  # goes away before the first ask
sys.exit(p.wait())
PY
is "$(cat "$T/out")" "denied" "asks are denied when the controller closed its end"
check "airlock says the approver went away" grep -q "approver on fd [0-9]* closed its end" "$T/err"

# --- --ask allow / deny without a controller
out=$(al_run --ask allow -r "$T/ask.rules" -- "$PY" "$T/touch.py" 2>/dev/null)
is "$out" "ran" "--ask allow answers asks with allow"
out=$(al_run --ask deny -r "$T/ask.rules" -- "$PY" "$T/touch.py" 2>/dev/null)
is "$out" "denied" "--ask deny answers asks with deny"
"$AIRLOCK" run --ask sometimes -- true 2>"$T/err"
is "$?" 125 "a bad --ask mode is refused"
check "the refusal lists the modes" grep -q "expected tty, deny, allow or fd:N" "$T/err"
"$AIRLOCK" run --ask fd:77 -- true 2>"$T/err"
is "$?" 125 "--ask fd:N with N not open is refused"
check "the refusal names the descriptor" grep -q "descriptor 77 is not open" "$T/err"

# --- defer: the program sees success, nothing runs, the command is recorded for later
cat >"$T/defer.rules" <<'EOF'
defer exec /usr/bin/touch
EOF
cat >"$T/defer.py" <<'PY'
import os, subprocess, threading, time
out = []
r = subprocess.run(["touch", "d-run"], capture_output=True)
out.append("run:%d:%r" % (r.returncode, r.stdout + r.stderr))
out.append("system:%d" % os.system("touch d-system"))
r = subprocess.run(["sh", "-c", "touch d-sh && echo after"], capture_output=True)
out.append("sh:%d:%s" % (r.returncode, r.stdout.decode().strip()))
out.append("files:" + ",".join(sorted(f for f in os.listdir(".") if f.startswith("d-"))))
print(" ".join(out), flush=True)
# A process with another thread cannot be deferred safely: refused, not run.
threading.Thread(target=time.sleep, args=(5,), daemon=True).start()
try:
    os.execv("/usr/bin/touch", ["touch", "d-threaded"])
except PermissionError:
    print("threaded:denied")
PY
out=$(al_run -r "$T/defer.rules" -- "$PY" "$T/defer.py" 2>/dev/null | paste -sd' ')
is "$out" "run:0:b'' system:0 sh:0:after files: threaded:denied" \
	"deferred commands exit 0 with no output for subprocess.run, os.system and sh -c, and do not run"
sid=$(last_session)
"$AIRLOCK" show --json "$sid" >"$T/defer.json"
is "$(jf defer "[(c['decision'], c.get('deferred'), c['argv'][1]) for c in j['commands'] if c['decision'] in ('defer', 'deny')]")" \
	"[('defer', 1, 'd-run'), ('defer', 2, 'd-system'), ('defer', 3, 'd-sh'), ('deny', None, 'd-threaded')]" \
	"show lists the deferred commands in order, numbered, and the refused one"
is "$(jf defer "len(j['changes'])")" 0 "no deferred command changed anything"
"$AIRLOCK" log --json "$sid" >"$T/defer.log"
is "$("$PY" -c 'import json,sys
e=[json.loads(l) for l in open(sys.argv[1]) if "\"deferred\"" in l][0]
print(e["result"], e["cwd"] == sys.argv[2], any(v.startswith("PATH=") for v in e["env"]))' "$T/defer.log" "$W")" \
	"deferred True True" "a deferred command is recorded with its cwd and environment"
for i in 1 2 3 4 5; do
	al_run -r "$T/defer.rules" -- sh -c 'touch d-loop; echo rc=$?' 2>/dev/null
done >"$T/loop.out"
is "$(sort -u "$T/loop.out")" "rc=0" "deferring is reliable (five runs)"

# --- TOCTOU: a thread (or a vfork parent's thread) flips the path between an allowed and a
# denied program while the exec is decided: the denied program never runs.
printf 'deny exec /usr/bin/touch\n' >"$T/race.rules"
out=$(al_run -r "$T/race.rules" -- "$HELPERS/race_exec" /usr/bin/sleep /usr/bin/touch "$W/raced" 300 2>/dev/null)
is "$out" "done 300" "the exec race ran to the end"
"$AIRLOCK" show --json last >"$T/race.json"
is "$(jf race "[c['path'] for c in j['changes']]")" "[]" "the denied program never ran (no file, inside or out)"
check "the host has no file either" test ! -e "$W/raced"
is "$(jf race "all(c['decision'] == 'deny' for c in j['commands'] if c['path'] == '/usr/bin/touch')")" True \
	"every exec of the denied program that reached the supervisor was denied"

# --- --replay: an earlier session's answers answer the same asks; anything new is asked
cat >"$T/three.py" <<'PY'
import subprocess, sys
for name in sys.argv[1:]:
    try:
        subprocess.run(["touch", name])
        print("ran", name)
    except PermissionError:
        print("denied", name)
PY
AIRLOCK="$AIRLOCK" "$PY" "$TOP/examples/approver.py" --allow 'exec:*r-yes*' --deny 'exec:*r-no*' -- \
	run --review never -r "$T/ask.rules" -- "$PY" "$T/three.py" r-yes r-no >"$T/out" 2>"$T/err"
is "$(paste -sd' ' "$T/out")" "ran r-yes denied r-no" "the first session: one allowed, one denied by the approver"
first=$(last_session)
rm -f "$T/asks3.jsonl"
AIRLOCK="$AIRLOCK" "$PY" "$TOP/examples/approver.py" --allow 'exec:*' --log "$T/asks3.jsonl" -- \
	run --review never --replay "$first" -r "$T/ask.rules" -- "$PY" "$T/three.py" r-yes r-no r-new \
	>"$T/out" 2>"$T/err"
is "$(paste -sd' ' "$T/out")" "ran r-yes denied r-no ran r-new" \
	"replay answers the recorded allow and deny, and the new command is asked"
is "$("$PY" -c 'import json,sys; print([" ".join(json.loads(l)["ask"]["command"]) for l in open(sys.argv[1])])' "$T/asks3.jsonl")" \
	"['touch r-new']" "only the new command reached the approver"
second=$(last_session)
"$AIRLOCK" log --json "$second" >"$T/replay.log"
is "$("$PY" -c 'import json,sys
e=[json.loads(l) for l in open(sys.argv[1]) if "\"asked\"" in l]
seen = []
for x in e:
    k = (x["command"][1], x["decision"], x["by"])
    if x["decision"] != "none" and k not in seen:
        seen.append(k)
print(seen)' "$T/replay.log")" \
	"[('r-yes', 'allow', 'replay'), ('r-no', 'deny', 'replay'), ('r-new', 'allow', 'approver')]" \
	"the events say which answers came from the replay"
is "$("$PY" -c 'import json,sys; m=json.load(open(sys.argv[1])); print(m["replay"]["session"], m["replay"]["answers"] >= 2)' \
	"$AIRLOCK_STATE_DIR/sessions/$second/meta.json")" "$first True" "the new session records which session answered"
"$AIRLOCK" run --review never --replay no-such-session -- true 2>"$T/err"
is "$?" 125 "--replay of an unknown session is refused"

# --- redact KIND ERE: the rules' own redactions of captured output
printf 'redact internal-id "ITK-[0-9]{6}"\n' >"$T/redact.rules"
al_run --json -r "$T/redact.rules" -- sh -c 'printf "id ITK-%s short ITK-12\n" 123456; printf "ITK-%s\n" 654321 >&2' \
	>"$T/red.json" 2>/dev/null
is "$(jf red "j['stdout'].strip()")" "id [REDACTED:internal-id] short ITK-12" "a redact rule redacts stdout"
is "$(jf red "j['stderr'].strip()")" "[REDACTED:internal-id]" "... and stderr"
is "$(jf red "j['redactions'].get('internal-id')")" 2 "each redaction is counted under the rule's kind"
check "the session keeps only the redacted output" \
	bash -c "! grep -rqE 'ITK-(123456|654321)' '$AIRLOCK_STATE_DIR/sessions/$(last_session)'"

# --- the command line's --hide joins the rules: a later readonly turns a default hide around
mkdir -p "$HOME/.airlock-rules-test-$$"
echo visible >"$HOME/.airlock-rules-test-$$/f"
printf 'hide ~/.airlock-rules-test-%s\n' $$ >"$T/hide.rules"
out=$(al_run -r "$T/hide.rules" -- cat "$HOME/.airlock-rules-test-$$/f" 2>&1)
check "a hide rule hides the path" grep -q "No such file" <<<"$out"
out=$(al_run -r "$T/hide.rules" --readonly "$HOME/.airlock-rules-test-$$" -- sh -c \
	"cat $HOME/.airlock-rules-test-$$/f; echo x >$HOME/.airlock-rules-test-$$/f" 2>&1)
check "a later --readonly for the same path wins: readable" grep -q "^visible$" <<<"$out"
check "... and read-only" grep -q "Read-only file system" <<<"$out"
rm -rf "$HOME/.airlock-rules-test-$$"

done_testing
