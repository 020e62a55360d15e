#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# `airlock run --json`: airlock's stdout is exactly one JSON document with every field of the
# result (design.md "JSON"), of the right type, for a success, a failure, a limit, a missing
# command and a death by signal; the program's output is captured into it; secrets the program
# prints are redacted and counted; scrubbed variables are absent inside.
# shellcheck source=tests/lib.sh
. "$(dirname "$0")/../lib.sh"
require_sandbox
cd "$T/work" || exit 1

# The result's schema. Prints "valid", or what is wrong. The whole of stdout must parse.
cat >"$T/validate.py" <<'PY'
import json, sys
text = open(sys.argv[1], encoding="utf-8", errors="replace").read()
try:
    j = json.loads(text)
except ValueError as e:
    print("stdout is not one JSON document: %s; it starts %r" % (e, text[:200]))
    sys.exit(0)
errs = []
isint = lambda v: isinstance(v, int) and not isinstance(v, bool)
isnum = lambda v: isinstance(v, (int, float)) and not isinstance(v, bool)
isstr = lambda v: isinstance(v, str)
fields = {
    "session": lambda v: isstr(v) and v != "",
    "exit_code": isint,
    "signal": lambda v: v is None or isint(v),
    "limit": lambda v: v is None or isstr(v),
    "duration_ms": lambda v: isnum(v) and v >= 0,
    "stdout": isstr,
    "stderr": isstr,
    "truncated": lambda v: isinstance(v, bool),
    "redactions": lambda v: isinstance(v, dict)
        and all(isstr(k) and isint(n) and n >= 0 for k, n in v.items()),
    "changes": lambda v: isinstance(v, list),
    "commands": lambda v: isinstance(v, list),
    "connections": lambda v: isinstance(v, list),
}
if not isinstance(j, dict):
    print("the document is not an object: %r" % text[:200])
    sys.exit(0)
for k, good in fields.items():
    if k not in j:
        errs.append("missing " + k)
    elif not good(j[k]):
        errs.append("bad %s: %r" % (k, j[k]))
items = {
    "changes": {"path": lambda v: isstr(v) and v.startswith("/"), "kind": isstr,
                "size": lambda v: v is None or isint(v),
                "by": lambda v: isinstance(v, list) and all(isstr(x) for x in v)},
    "commands": {"argv": lambda v: isinstance(v, list) and len(v) > 0 and all(isstr(x) for x in v),
                 "decision": isstr},
    "connections": {"target": isstr, "name": lambda v: v is None or isstr(v), "decision": isstr},
}
for k, spec in items.items():
    for e in j.get(k) or []:
        if not isinstance(e, dict):
            errs.append("%s: not an object: %r" % (k, e))
            continue
        for f, good in spec.items():
            if f not in e:
                errs.append("%s: missing %s in %r" % (k, f, e))
            elif not good(e[f]):
                errs.append("%s: bad %s in %r" % (k, f, e))
print("; ".join(errs) if errs else "valid")
PY

# al_json NAME ARGS...: `airlock run --json` into $T/NAME.json, airlock's stderr $T/NAME.err.
al_json() {
	local name=$1
	shift
	timeout -k 5 60 "$AIRLOCK" run --review never --ask deny --json "$@" >"$T/$name.json" 2>"$T/$name.err"
	rc=$?
}
valid() {
	local v
	v=$("$PY" "$T/validate.py" "$T/$1.json")
	is "$v" valid "$2: stdout is one JSON document with every field, each of its type"
	[ "$v" = valid ] || diag "airlock's stderr: $(head -c 400 "$T/$1.err" | tr '\n' '|')"
}

# --- (a) success: output, a file change, a command, a refused connection -------------------
cat >"$T/writer.py" <<'PY'
import socket, subprocess, sys
with open("out.txt", "w") as f:
    f.write("hello json\n")
subprocess.run(["true"], check=True)
s = socket.socket()
s.settimeout(3)
try:
    s.connect(("192.0.2.1", 80))
except OSError:
    pass
print("to-stdout")
print("to-stderr", file=sys.stderr)
PY
al_json ok -- "$PY" "$T/writer.py"
is "$rc" 0 "success: airlock exits 0"
valid ok "success"
is "$(jf ok '(j["exit_code"], j["signal"], j["limit"], j["truncated"])')" "(0, None, None, False)" \
	"success: exit_code 0, signal null, limit null, truncated false"
is "$(jf ok '(j["stdout"], j["stderr"])')" "('to-stdout\n', 'to-stderr\n')" \
	"success: the program's stdout and stderr are captured into the result"
is "$(jf ok '[(c["kind"], c["size"]) for c in j["changes"] if c["path"] == sys.argv[3]]' "$T/work/out.txt")" \
	"[('added', 11)]" "success: changes[] lists the new file, kind added, its size"
is "$(jf ok 'any(sys.argv[4] in b for c in j["changes"] if c["path"] == sys.argv[3] for b in c["by"])' "$T/work/out.txt" "$T/writer.py")" \
	True "success: the change is attributed to the program's argv (by)"
is "$(jf ok 'any(c["argv"][0].endswith("true") for c in j["commands"])')" True \
	"success: commands[] lists the subprocess"
is "$(jf ok '[c["target"] for c in j["connections"] if "192.0.2.1" in c["target"] and c["decision"] == "deny"] != []')" True \
	"success: connections[] lists the refused connection"
check "success: the host has no out.txt (the change waits in the sandbox)" test ! -e "$T/work/out.txt"
sid=$(jf ok 'j["session"]')
is "$("$AIRLOCK" show --json "$sid" 2>&1 | json_get - 'j["session"]' 2>&1)" "$sid" "success: the session named in the result exists"
is "$(jf ok 'j["duration_ms"] > 0')" True "success: duration_ms is positive"

# --- (b) a failing command ---------------------------------------------------------------
al_json fail -- sh -c 'echo partial; echo "something broke" >&2; exit 3'
is "$rc" 3 "failure: airlock exits with the command's status 3"
valid fail "failure"
is "$(jf fail '(j["exit_code"], j["signal"], j["limit"], j["stdout"], j["stderr"])')" \
	"(3, None, None, 'partial\n', 'something broke\n')" "failure: exit_code 3, stdout and stderr captured"

# --- (c) a limit ends the run --------------------------------------------------------------
al_json limit --timeout 1s -- sh -c 'echo started; exec sleep 30'
is "$rc" 124 "timeout: airlock exits 124"
valid limit "timeout"
is "$(jf limit '(j["exit_code"], j["limit"], j["stdout"])')" "(124, 'timeout', 'started\n')" \
	"timeout: exit_code 124, limit timeout, output before the end kept"
is "$(jf limit '900 <= j["duration_ms"] < 15000')" True "timeout: duration_ms is about the limit"

# --- (d) a command that does not exist -----------------------------------------------------
al_json missing -- no-such-command-airlock-json
is "$rc" 127 "missing command: airlock exits 127"
valid missing "missing command"
is "$(jf missing '(j["exit_code"], j["signal"], j["limit"])')" "(127, None, None)" "missing command: exit_code 127"
is "$(jf missing '"command not found" in j["stderr"]')" True "missing command: the result's stderr says command not found"
[ "$(jf missing '"command not found" in j["stderr"]')" = True ] ||
	diag "result stderr: $(jf missing 'repr(j["stderr"])'); airlock's stderr: $(head -c 300 "$T/missing.err")"

# --- (e) death by signal -------------------------------------------------------------------
al_json sig -- sh -c 'kill -TERM $$'
is "$rc" 143 "signal: airlock exits 143"
valid sig "signal"
is "$(jf sig '(j["exit_code"], j["signal"], j["limit"])')" "(143, 15, None)" "signal: exit_code 143, signal 15"

# --- --capture: captured, no JSON ------------------------------------------------------------
out=$(timeout 60 "$AIRLOCK" run --review never --capture -- sh -c 'echo captured-out; exit 4' 2>"$T/capture.err")
rc=$?
is "$rc" 4 "--capture: the command's status comes back"
is "$(printf '%s' "$out" | "$PY" -c 'import json,sys
try:
    json.loads(sys.stdin.read()); print("json")
except ValueError:
    print("no json")')" "no json" "--capture: no JSON result on stdout"

# --- secrets -------------------------------------------------------------------------------
TOKEN=tok-abcdef123456
PASSWORD=hunter2hunter2
SKKEY=sk-proj-abcdefghijklmnopqrstuvwxyz012345
printf 'token=%s\npassword=%s\nopenai=%s\n' "$TOKEN" "$PASSWORD" "$SKKEY" >"$T/secrets.txt"
FAKE_SERVICE_TOKEN=$TOKEN MY_PASSWORD=$PASSWORD al_json secret -- "$PY" -c '
import os, subprocess, sys
data = open(sys.argv[1]).read()
print(data)
print(data, file=sys.stderr)
print("token-var", "present" if "FAKE_SERVICE_TOKEN" in os.environ else "absent")
print("password-var", "present" if "MY_PASSWORD" in os.environ else "absent")
r = subprocess.run(["printenv", "FAKE_SERVICE_TOKEN"], capture_output=True)
print("printenv-bytes", len(r.stdout))' "$T/secrets.txt"
is "$rc" 0 "secrets: the run succeeds"
valid secret "secrets"
leaks=
for s in "$TOKEN" "$PASSWORD" "$SKKEY"; do
	grep -qF -- "$s" "$T/secret.json" && leaks="$leaks $s"
done
is "$leaks" "" "secrets: airlock's stdout holds none of the secrets the program printed"
is "$(jf secret '"[REDACTED:" in j["stdout"] and "[REDACTED:" in j["stderr"]')" True \
	"secrets: stdout and stderr show [REDACTED:...] in their place"
is "$(jf secret 'len(j["redactions"]) >= 1 and all(n >= 1 for n in j["redactions"].values()) and sum(j["redactions"].values()) >= 3')" True \
	"secrets: redactions counts them"
[ "$(jf secret 'sum(j["redactions"].values())')" -ge 3 ] 2>/dev/null || diag "redactions: $(jf secret 'j["redactions"]')"
is "$(jf secret '[l for l in j["stdout"].splitlines() if l.split(" ")[0] in ("token-var", "password-var", "printenv-bytes")]')" \
	"['token-var absent', 'password-var absent', 'printenv-bytes 0']" \
	"secrets: the variables are absent inside (printenv prints nothing)"
is "$(jf secret '"openai" in j["stdout"] and "token=" in j["stdout"]')" True "secrets: the rest of the output is kept"
leaks=$(grep -rlF -e "$TOKEN" -e "$PASSWORD" -e "$SKKEY" "$AIRLOCK_STATE_DIR" 2>/dev/null)
is "$leaks" "" "secrets: the session store keeps none of them"

done_testing
