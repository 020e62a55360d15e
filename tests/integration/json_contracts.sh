#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The JSON contracts of airlock-json(7), checked against real output: run --json, exec and
# start --json, show --json, log --json, the approver protocol's asks and answers, and the
# MCP tools' results (against the page and against the tools' own outputSchema). The
# schemas are read out of the man page by tests/json_schema.py, so page and output agree.
# shellcheck source=tests/lib.sh
. "$(dirname "$0")/../lib.sh"
require_sandbox
cd "$T/work" || exit 1

PAGE=$TOP/man/airlock-json.7
# valid NAME FILE... DESC: FILE(s) follow schema NAME of the page.
valid() {
	local name=$1 desc=${*: -1} out
	out=$("$PY" "$TESTS_DIR/json_schema.py" "$PAGE" "$name" "${@:2:$#-2}" 2>&1)
	is "$out" valid "$desc"
}

names=$("$PY" -c 'import sys; sys.path.insert(0, sys.argv[1]); import json_schema as s
print(" ".join(sorted(s.read_schemas(sys.argv[2]))))' "$TESTS_DIR" "$PAGE")
is "$names" "answer-lines ask-lines event-lines exec mcp-changes mcp-diff mcp-log mcp-run run show start" \
	"the page documents every contract"

# The checker can fail: a wrong type, a missing and an undocumented member are each named.
printf '{"version":1,"session":"x","exit_code":"0","surprise":1}' >"$T/bad.json"
out=$("$PY" "$TESTS_DIR/json_schema.py" "$PAGE" run "$T/bad.json")
check "the checker names a wrong type" grep -q "exit_code: '0' is not integer" <<<"$out"
check "a missing member" grep -q "missing changes" <<<"$out"
check "and one the page does not document" grep -q "member 'surprise' is not documented" <<<"$out"
printf '{"version":2,"session":"x"}' >"$T/v2.json"
check "and a version it does not know" grep -q "version: 2 is not 1" \
	<<<"$("$PY" "$TESTS_DIR/json_schema.py" "$PAGE" start "$T/v2.json")"

# run --json: a file, a symlink, a deletion, a denied connection, a redaction.
echo old >old.txt
FAKE_SERVICE_TOKEN=s3cr3t-t0ken-value "$AIRLOCK" run --review never --ask deny --net none --json \
	-- sh -c 'echo new > new.txt; ln -s new.txt link; rm old.txt
		"$0" -c "import socket
try: socket.create_connection((\"192.0.2.1\", 80), 3)
except OSError: pass"; echo "$FAKE_SERVICE_TOKEN"' "$PY" >"$T/run.json" 2>"$T/run.err"
valid run "$T/run.json" "run --json follows the page"
is "$(jf run "j['version'], sorted(c['kind'] for c in j['changes']), len(j['connections']) > 0")" \
	"(1, ['added', 'deleted', 'symlink-added'], True)" "and the run exercised changes and connections"
"$AIRLOCK" run --review never --json -- no-such-command-here >"$T/nf.json" 2>/dev/null
valid run "$T/nf.json" "run --json of a command not found follows the page"
"$AIRLOCK" show --json >"$T/show.json"
valid show "$T/show.json" "show --json follows the page"
seq 1 40 >moved.txt
"$AIRLOCK" run --review never -- sh -c 'mv moved.txt moved2.txt; echo 41 >>moved2.txt' \
	>/dev/null 2>&1
"$AIRLOCK" show --json >"$T/show-renamed.json"
valid show "$T/show-renamed.json" "show --json of a rename follows the page"
is "$(jf show-renamed "sorted((c['kind'], c.get('renamed_to', c.get('renamed_from')) \
	.rsplit('/', 1)[1], c['similarity']) for c in j['changes'])")" \
	"[('added', 'moved.txt', 97), ('deleted', 'moved2.txt', 97)]" "and has the rename's members"
"$AIRLOCK" log --json >"$T/log.jsonl"
valid event-lines "$T/log.jsonl" "log --json follows the page"

# Deferred commands: show --json gives each its state. #1 and #2 ran (commit --run; #2 fails
# on the host), the review approved #3 and denied #4, and #5 waits.
printf 'defer exec touch\n' >"$T/defer.rules"
al_run -r "$T/defer.rules" -- sh -c 'for f in one no/such/two three four five; do
	touch "$0/$f"; done' "$T" >/dev/null 2>&1
did=$(last_session)
"$AIRLOCK" commit "$did" --run 1 --run 2 >/dev/null 2>&1
. "$TESTS_DIR/ui/screen.bash"
ui '<Tab>jjjadqy' review "$did"
"$AIRLOCK" show --json "$did" >"$T/show-deferred.json"
valid show "$T/show-deferred.json" "show --json of deferred commands follows the page"
is "$(jf show-deferred "[(c['deferred'], c['decision'], c['state'], c.get('exit_code', '-')) \
	for c in j['commands'] if 'deferred' in c]")" \
	"[(1, 'defer', 'ran', 0), (2, 'defer', 'ran', 1), (3, 'defer', 'approved', '-'), \
(4, 'defer', 'denied', '-'), (5, 'defer', 'undecided', '-')]" \
	"each deferred command has its state, a run one its exit status"
is "$(jf show-deferred "[sorted(c) for c in j['commands'] if 'deferred' not in c]")" \
	"[['argv', 'by', 'decision', 'path', 'pid', 'seq', 'time']]" \
	"a command that was not deferred has no state"
check "the approval ran nothing" test ! -e "$T/three"
"$AIRLOCK" show "$did" >"$T/show-deferred.txt" 2>&1
check "show says so too" grep -qF '(deferred 2, ran: exit status 1)' "$T/show-deferred.txt"
check "... and which it would run" grep -qF '(deferred 3, approved)' "$T/show-deferred.txt"

# A live session: start, exec (a success and a failure), its log with the step events.
"$AIRLOCK" start --json --net none >"$T/start.json"
valid start "$T/start.json" "start --json follows the page"
sid=$(jf start "j['session']")
"$AIRLOCK" exec "$sid" --json -- sh -c 'echo out; echo err >&2; echo x > live.txt' >"$T/exec.json"
valid exec "$T/exec.json" "exec --json follows the page"
"$AIRLOCK" exec "$sid" --json -C /no/such/dir -- true >"$T/exec-bad.json" 2>/dev/null
valid exec "$T/exec-bad.json" "exec --json of a step that cannot start follows the page"
is "$(jf exec-bad "j['exit_code'], 'cannot enter the working directory' in j['stderr']")" "(125, True)" \
	"and it says why"
"$AIRLOCK" log --json "$sid" >"$T/live-log.jsonl"
valid event-lines "$T/live-log.jsonl" "a live session's log --json follows the page"
"$AIRLOCK" show --json "$sid" >"$T/live-show.json"
valid show "$T/live-show.json" "a live session's show --json follows the page"
"$AIRLOCK" stop "$sid" 2>/dev/null

# The approver protocol: an exec and a connect ask, answered by examples/approver.py.
printf 'ask exec touch\nask connect 192.0.2.1\n' >"$T/ask.rules"
AIRLOCK=$AIRLOCK "$PY" "$TOP/examples/approver.py" --default deny --log "$T/asks.log" -- \
	run --review never -r "$T/ask.rules" -- sh -c 'touch a.txt; "$0" -c "import socket
try: socket.create_connection((\"192.0.2.1\", 80), 3)
except OSError: pass"' "$PY" >/dev/null 2>&1
"$PY" - "$T" <<'PY'
import json, sys
t = sys.argv[1]
with open(t + "/asks.jsonl", "w") as a, open(t + "/answers.jsonl", "w") as b:
    for line in open(t + "/asks.log"):
        e = json.loads(line)
        a.write(json.dumps(e["ask"]) + "\n")
        b.write(json.dumps(e["answer"]) + "\n")
PY
is "$("$PY" -c 'import json,sys; print(sorted(json.loads(l)["class"] for l in open(sys.argv[1])))' "$T/asks.jsonl")" \
	"['connect', 'exec']" "the approver was asked about an exec and a connection"
valid ask-lines "$T/asks.jsonl" "the ask lines follow the page"
valid answer-lines "$T/answers.jsonl" "the approver's answers follow the page"

# The MCP tools: each result against the page and against the tool's outputSchema.
"$PY" - "$AIRLOCK" "$T" <<'PY' >"$T/mcp.out" 2>&1
import json, subprocess, sys
airlock, t = sys.argv[1], sys.argv[2]
p = subprocess.Popen([airlock, "mcp", "--net", "none"], stdin=subprocess.PIPE,
                     stdout=subprocess.PIPE, stderr=open(t + "/mcp.err", "w"), text=True)
n = 0
def rpc(method, params):
    global n
    n += 1
    p.stdin.write(json.dumps({"jsonrpc": "2.0", "id": n, "method": method, "params": params}) + "\n")
    p.stdin.flush()
    return json.loads(p.stdout.readline())
rpc("initialize", {"protocolVersion": "2025-06-18", "capabilities": {},
                   "clientInfo": {"name": "t", "version": "1"}})
tools = rpc("tools/list", {})["result"]["tools"]
for tool in tools:
    json.dump(tool["outputSchema"], open("%s/schema-%s.json" % (t, tool["name"]), "w"))
calls = [("run", {"command": "echo hi > m.txt; echo out"}), ("run", {"argv": ["sleep", "5"], "timeout": 0.2}),
         ("changes", {}), ("diff", {}), ("log", {"limit": 5})]
for i, (name, args) in enumerate(calls):
    r = rpc("tools/call", {"name": name, "arguments": args})["result"]
    json.dump(r["structuredContent"], open("%s/mcp-%s-%d.json" % (t, name, i), "w"))
p.stdin.close()
print("exit", p.wait())
PY
is "$(cat "$T/mcp.out")" "exit 0" "the MCP conversation ran"
for f in "$T"/mcp-*.json; do
	tool=$(basename "$f" .json)
	tool=${tool#mcp-}
	tool=${tool%-*}
	valid "mcp-$tool" "$f" "mcp $tool ($(basename "$f")) follows the page"
	is "$("$PY" "$TESTS_DIR/json_schema.py" --jsonschema "$T/schema-$tool.json" "$f")" valid \
		"and the tool's own outputSchema"
done
check "the host is untouched" test ! -e new.txt -a ! -e live.txt -a ! -e a.txt -a ! -e m.txt -a -e old.txt

done_testing
