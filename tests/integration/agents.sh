#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The agent wiring of examples/agents.md, without the agents (CI has neither Claude Code nor
# Codex; examples/try-agents.sh runs the real ones against the same fake API):
# - tests/helpers/fake_agent_api.py answers as the Anthropic and OpenAI APIs do, a tool call
#   first and a final text once the tool's result comes back;
# - examples/claude-code-shell, given the command string Claude Code 2.1 builds for its Bash
#   tool, runs it as a step of a live session and hands the working-directory file back;
# - examples/airlock-hook turns the PreToolUse events of Claude Code and Codex into a
#   rewrite through airlock exec that runs in the session;
# - the rules files check.
# shellcheck source=tests/lib.sh
. "$(dirname "$0")/../lib.sh"
require_sandbox
cd "$T/work" || exit 1
mkdir -p sub

# --- the fake API ---------------------------------------------------------------------------
tags+=("$T/api") # reaped on exit, by the --log paths only these servers have
"$PY" "$TESTS_DIR/helpers/fake_agent_api.py" --command 'echo hi > agent.txt' --command pwd \
	--log "$T/api.log" >"$T/api.port" 2>"$T/api.err" &
api_pid=$!
wait_for 30 grep -q '^port ' "$T/api.port" || diag "the fake API did not start: $(cat "$T/api.err")"
port=$(sed -n 's/^port //p' "$T/api.port")
# post PATH JSON: the streamed answer, its SSE events folded into what a client rebuilds.
post() {
	"$PY" - "$port" "$1" "$2" <<'PY'
import http.client, json, sys
c = http.client.HTTPConnection("127.0.0.1", int(sys.argv[1]), timeout=30)
c.request("POST", sys.argv[2], sys.argv[3], {"Content-Type": "application/json"})
r = c.getresponse()
events = [json.loads(l[6:]) for l in r.read().decode().splitlines() if l.startswith("data: ")]
out = []
for e in events:
    t = e.get("type")
    if t == "content_block_start" and e["content_block"]["type"] == "tool_use":
        out.append("tool_use " + e["content_block"]["name"])
    elif t == "content_block_delta":
        d = e["delta"]
        out.append(d.get("partial_json") or d.get("text"))
    elif t == "message_delta":
        out.append("stop " + e["delta"]["stop_reason"])
    elif t == "response.output_item.done":
        it = e["item"]
        if it["type"] == "function_call":
            out.append("call %s%s %s" % (it.get("namespace", "") + "/" if "namespace" in it else "",
                                         it["name"], it["arguments"]))
        else:
            out.append("text " + it["content"][0]["text"])
    elif t == "response.completed":
        out.append("completed")
print(" | ".join(out))
PY
}
bash_tool='{"name":"Bash","input_schema":{"type":"object"}}'
is "$(post /v1/messages "{\"stream\":true,\"tools\":[$bash_tool],\"messages\":[{\"role\":\"user\",\"content\":\"go\"}]}")" \
	'tool_use Bash | {"command": "echo hi > agent.txt", "description": "run the command"} | stop tool_use' \
	"Messages API: the first turn is a Bash call of the first command"
result='{"type":"tool_result","tool_use_id":"toolu_fake1","content":"ok"}'
is "$(post /v1/messages "{\"stream\":true,\"tools\":[$bash_tool],\"messages\":[{\"role\":\"user\",\"content\":[$result]}]}")" \
	'tool_use Bash | {"command": "pwd", "description": "run the command"} | stop tool_use' \
	"one result later, the second command"
is "$(post /v1/messages "{\"stream\":true,\"tools\":[$bash_tool],\"messages\":[{\"role\":\"user\",\"content\":[$result,{\"type\":\"tool_result\",\"content\":[{\"type\":\"text\",\"text\":\"/some/dir\"}]}]}]}")" \
	'DONE /some/dir | stop end_turn' "then the final text, with the last result's first line"
is "$(post /v1/messages '{"stream":true,"messages":[{"role":"user","content":"title?"}]}')" \
	'ok | stop end_turn' "a request without the tool (title, quota) gets a short text"
is "$(post /v1/responses '{"stream":true,"tools":[{"type":"function","name":"exec_command"}],"input":[]}')" \
	'call exec_command {"cmd": "echo hi > agent.txt"} | completed' \
	"Responses API: a call of Codex's exec_command"
is "$(post /v1/responses '{"stream":true,"tools":[{"type":"function","name":"exec_command"}],"input":[{"type":"function_call_output","call_id":"c","output":"x"},{"type":"function_call_output","call_id":"d","output":"y"}]}')" \
	'text DONE y | completed' "and the final text once both results are in"
kill "$api_pid"
"$PY" "$TESTS_DIR/helpers/fake_agent_api.py" --tool mcp__airlock/run --command true \
	--log "$T/api2.log" >"$T/api2.port" &
api_pid=$!
wait_for 30 grep -q '^port ' "$T/api2.port" || diag "the second fake API did not start"
port=$(sed -n 's/^port //p' "$T/api2.port")
is "$(post /v1/responses '{"tools":[{"type":"namespace","name":"mcp__airlock","tools":[{"type":"function","name":"run"}]}],"input":[]}')" \
	'call mcp__airlock/run {"command": "true"} | completed' \
	"--tool calls an MCP server's tool inside Codex's namespace"
kill "$api_pid"

# --- examples/claude-code-shell -------------------------------------------------------------
"$AIRLOCK" start --name agent >/dev/null 2>"$T/start.err" || diag "$(cat "$T/start.err")"
# What Claude Code 2.1.197 passes to CLAUDE_CODE_SHELL_PREFIX: a snapshot sourced, extglob
# off, the command under eval, and the final directory written to a file it reads back.
cwdfile=$T/claude-4f2e-cwd
claude_string() {
	printf '%s' "source $T/no-snapshot.sh 2>/dev/null || true && { shopt -u extglob || setopt NO_EXTENDED_GLOB NO_BARE_GLOB_QUAL; } >/dev/null 2>&1 || true && eval '$1' < /dev/null && pwd -P >| $cwdfile"
}
AIRLOCK=$AIRLOCK AIRLOCK_AGENT_SESSION=agent "$TOP/examples/claude-code-shell" \
	"$(claude_string 'cd sub && echo hi > agent.txt && cat agent.txt')" >"$T/cc.out" 2>"$T/cc.err"
is "$?:$(cat "$T/cc.out")" "0:hi" "claude-code-shell runs the command string as a step"
is "$(cat "$cwdfile" 2>&1)" "$T/work/sub" "the directory file comes back, after the cd"
check "what the command wrote stays in the session" test ! -e sub/agent.txt
is "$("$AIRLOCK" exec agent -- cat sub/agent.txt)" hi "where the next step sees it"
# Claude Code names a new file for each call.
cwdfile=$T/claude-5a3b-cwd
AIRLOCK=$AIRLOCK AIRLOCK_AGENT_SESSION=agent "$TOP/examples/claude-code-shell" \
	"$(claude_string 'exit 3')" 2>"$T/cc3.err"
is "$?" 3 "a failing command's status is the agent's"
check "and leaves no directory file (Claude Code keeps its directory)" test ! -e "$cwdfile"
"$AIRLOCK" log agent --json | "$PY" -c '
import json, sys
starts = [e for e in map(json.loads, sys.stdin) if e.get("class") == "step" and e.get("op") == "start"]
print(" ".join(starts[-1]["command"]))' >"$T/step.txt"
check "the step is the whole string, under bash" grep -q "^/bin/bash -c source .*eval 'exit 3'" "$T/step.txt"
AIRLOCK=$AIRLOCK "$TOP/examples/claude-code-shell" a b 2>"$T/two.err"
is "$?" 2 "more than one argument is refused (the prefix is not a command line)"

# --- examples/airlock-hook ------------------------------------------------------------------
# The event Claude Code 2.1.197 and Codex 0.171 send a PreToolUse hook for their shell tool.
event='{"session_id":"s","cwd":"'$T'/work","hook_event_name":"PreToolUse","tool_name":"Bash","tool_input":{"command":"echo hooked > hooked.txt; cat hooked.txt","description":"d"},"tool_use_id":"t"}'
printf '%s' "$event" | AIRLOCK=$AIRLOCK "$TOP/examples/airlock-hook" >"$T/hook.json"
"$PY" - "$T/hook.json" >"$T/hook.out" <<'PY'
import json, sys
o = json.load(open(sys.argv[1]))["hookSpecificOutput"]
print(o["hookEventName"], o["permissionDecision"], o["updatedInput"]["description"])
print(o["updatedInput"]["command"])
PY
is "$(sed -n 1p "$T/hook.out")" "PreToolUse allow d" \
	"the hook allows the call and keeps the tool's other fields"
bash -c "$(sed -n 2p "$T/hook.out")" >"$T/hooked.out"
is "$?:$(cat "$T/hooked.out")" "0:hooked" "the rewritten command runs"
check "in the session, not on the host" test ! -e hooked.txt
is "$("$AIRLOCK" exec agent -- cat hooked.txt)" hooked "the session has its write"
check "airlock is named by its absolute path (Codex's login shell resets PATH)" \
	grep -q "^'*/" "$T/hook.out"
printf '%s' '{"tool_input":{"command":["not","a","string"]}}' | "$TOP/examples/airlock-hook" >"$T/nohook.json"
is "$?:$(cat "$T/nohook.json")" "0:" "an event it does not understand gets no opinion"
printf '%s' "$event" | PATH=/nonexistent AIRLOCK= /usr/bin/env "$PY" "$TOP/examples/airlock-hook" >/dev/null 2>&1
is "$?" 2 "without airlock the hook blocks the call (exit 2) rather than let it run outside"
"$AIRLOCK" stop agent >/dev/null 2>&1

# --- the rules files ------------------------------------------------------------------------
for f in claude-code codex; do
	"$AIRLOCK" rules check "$TOP/examples/$f.rules" >"$T/$f.check" 2>&1
	is "$?" 0 "examples/$f.rules checks"
done

done_testing
