#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# airlock mcp: an MCP conversation on stdio. initialize and tools/list; a run that writes and
# one that reads it back while the host stays untouched; a connect refused under --net none;
# changes, diff and log; malformed, oversized and ill-typed requests and unknown methods get
# JSON-RPC errors and the server goes on; closing stdin stops the session it started, and
# --session works in someone else's live session and leaves it running.
# shellcheck source=tests/lib.sh
. "$(dirname "$0")/../lib.sh"
require_sandbox
cd "$T/work" || exit 1

# rpc LINE: send one line, read one reply line into $reply.
rpc() {
	printf '%s\n' "$1" >&"${MCP[1]}"
	reply=""
	IFS= read -r -t 120 reply <&"${MCP[0]}" || reply="(no reply)"
}
# jr EXPR: EXPR over the reply parsed as j (JSON, or prints "not JSON").
jr() {
	printf '%s' "$reply" | "$PY" -c '
import json, sys
try:
    j = json.loads(sys.stdin.read())
except ValueError:
    print("not JSON"); sys.exit(0)
try:
    print(eval(sys.argv[1]))
except Exception as e:
    print("no such member: %r" % e)' "$1"
}
call() { # call ID TOOL ARGS-JSON
	rpc "{\"jsonrpc\":\"2.0\",\"id\":$1,\"method\":\"tools/call\",\"params\":{\"name\":\"$2\",\"arguments\":$3}}"
}
sc() { jr "j['result']['structuredContent']$1"; }

coproc MCP { exec "$AIRLOCK" mcp --net none 2>"$T/mcp.err"; }
mcp_pid=$MCP_PID

rpc '{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"test","version":"1"}}}'
is "$(jr "j['id'], j['result']['protocolVersion'], j['result']['serverInfo']['name'], 'tools' in j['result']['capabilities']")" \
	"(1, '2025-06-18', 'airlock', True)" "initialize answers with the client's revision and the tools capability"
sid=$(sed -n 's/.*serving session \([^ ]*\).*/\1/p' "$T/mcp.err")
printf '%s\n' '{"jsonrpc":"2.0","method":"notifications/initialized"}' >&"${MCP[1]}"
rpc '{"jsonrpc":"2.0","id":"two","method":"initialize","params":{"protocolVersion":"1999-01-01","capabilities":{}}}'
is "$(jr "j['id'], j['result']['protocolVersion']")" "('two', '2025-11-25')" \
	"a notification gets no answer; an unknown revision is answered with the newest one spoken"

rpc '{"jsonrpc":"2.0","id":3,"method":"tools/list"}'
is "$(jr "[t['name'] for t in j['result']['tools']]")" "['run', 'changes', 'diff', 'log']" \
	"tools/list has run, changes, diff and log (and nothing that commits)"
is "$(jr "all(t['inputSchema']['type'] == 'object' and t['outputSchema']['type'] == 'object' for t in j['result']['tools'])")" \
	True "each tool has an input and an output schema"

call 4 run '{"command":"echo hello > out.txt; mkdir -p d && echo x > d/y; echo to-err >&2"}'
is "$(sc "['exit_code'], j['result']['isError'], j['result']['structuredContent']['stderr']")" "(0, False, 'to-err\\n')" \
	"run runs a shell line"
is "$(sc "['changed']")" "['$T/work/d', '$T/work/d/y', '$T/work/out.txt']" "run lists the paths it changed"
is "$(jr "json.loads(j['result']['content'][0]['text']) == j['result']['structuredContent']")" True \
	"the text content is the structured result"
check "the host is untouched" test ! -e out.txt -a ! -e d
call 5 run '{"argv":["cat","out.txt"]}'
is "$(sc "['stdout'], j['result']['structuredContent']['step'], j['result']['structuredContent']['changed']")" \
	"('hello\\n', 2, [])" "a later run reads back what the first wrote"
call 6 run "{\"argv\":[\"$PY\",\"-c\",\"import socket,errno\\ntry:\\n socket.create_connection(('192.0.2.1',80),5)\\nexcept OSError as e: print(errno.errorcode.get(e.errno))\"]}"
is "$(sc "['stdout']")" "EACCES" "a connect under --net none is refused"
call 7 log '{"step":3,"limit":100}'
is "$(jr "[(e['decision'], e['target']) for e in j['result']['structuredContent']['events'] if e['class'] == 'connect']")" \
	"[('deny', '192.0.2.1:80')]" "log shows the refused connection for that step"
call 8 run '{"command":"printf \"\\377bad\\n\"; exit 3","cwd":"d"}'
is "$(sc "['exit_code'], j['result']['structuredContent']['stdout']")" "(3, '\\\\xffbad\\n')" \
	"a failing command's status is in the result; invalid UTF-8 comes escaped"
call 9 run '{"argv":["pwd"],"cwd":"d"}'
is "$(sc "['stdout']")" "$T/work/d" "cwd names the directory"
call 10 run '{"argv":["sleep","60"],"timeout":0.5}'
is "$(sc "['timed_out'], j['result']['structuredContent']['exit_code']")" "(True, 143)" \
	"a run past its timeout is ended with SIGTERM"
call 10 run '{"command":"trap \"\" TERM; sleep 60 & wait; sleep 60","timeout":0.3}'
is "$(sc "['timed_out'], j['result']['structuredContent']['signal']")" "(True, 9)" \
	"and one that ignores SIGTERM with SIGKILL"

call 11 changes '{}'
is "$(jr "sorted((c['path'], c['state']) for c in j['result']['structuredContent']['changes'])")" \
	"[('$T/work/d', 'approved'), ('$T/work/d/y', 'approved'), ('$T/work/out.txt', 'approved')]" \
	"changes lists the held changes with their state"
call 12 diff '{"paths":["out.txt"]}'
is "$(sc "['patch'].splitlines()[-1], 'd/y' in j['result']['structuredContent']['patch']")" "('+hello', False)" \
	"diff gives the patch of the paths asked for"
call 13 diff '{"paths":["/no/such/file"]}'
is "$(jr "j['result']['isError'], 'not changed' in j['result']['content'][0]['text']")" "(True, True)" \
	"diff of an unchanged path is a tool error"

# Bad input: an error answer each time, and the server goes on.
rpc '{"jsonrpc":"2.0","id":20,"method":'
is "$(jr "j['id'], j['error']['code']")" "(None, -32700)" "malformed JSON: -32700"
rpc 'true false'
is "$(jr "j['error']['code']")" "-32700" "two values on a line: -32700"
big=$("$PY" -c 'print("{\"jsonrpc\":\"2.0\",\"id\":21,\"method\":\"ping\",\"params\":{\"x\":\"" + "a" * (1 << 20) + "\"}}")')
rpc "$big"
is "$(jr "j['id'], j['error']['code'], 'too large' in j['error']['message']")" "(None, -32600, True)" \
	"an oversized request: -32600"
rpc '{"jsonrpc":"2.0","id":22,"method":"ping"}'
is "$(jr "j['id'], j['result']")" "(22, {})" "the server goes on after an oversized request"
rpc '{"jsonrpc":"2.0","id":23,"method":"resources/list"}'
is "$(jr "j['id'], j['error']['code']")" "(23, -32601)" "an unknown method: -32601"
rpc '{"jsonrpc":"2.0","id":"d","method":"server/discover","params":{"_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28"}}}'
is "$(jr "j['id'], j['error']['code']")" "('d', -32601)" \
	"server/discover gets -32601: a 2026-07-28 client falls back to initialize"
rpc '[{"jsonrpc":"2.0","id":24,"method":"ping"}]'
is "$(jr "j['error']['code']")" "-32600" "a batch: -32600"
rpc '{"id":25,"method":"ping"}'
is "$(jr "j['id'], j['error']['code']")" "(25, -32600)" "no jsonrpc member: -32600"
rpc '{"jsonrpc":"2.0","id":null,"method":"ping"}'
is "$(jr "j['error']['code']")" "-32600" "a null id: -32600"
rpc '{"jsonrpc":"2.0","id":26,"method":"tools/call","params":[1]}'
is "$(jr "j['error']['code']")" "-32602" "params that are not an object: -32602"
n=30
for bad in '"run" {"argv":"ls"}' '"run" {"argv":[]}' '"run" {"argv":["ls",1]}' \
	'"run" {"argv":["ls"],"command":"ls"}' '"run" {"command":"ls","timeout":"5"}' \
	'"run" {"command":"ls","timeout":-1}' '"run" {"command":"ls","cwd":7}' \
	'"run" {"command":"ls","extra":1}' '"log" {"limit":0}' '"log" {"limit":1.5}' \
	'"diff" {"paths":"x"}' '"commit" {}' '"approve" {}' '7 {}' '"run" [1]'; do
	n=$((n + 1))
	rpc "{\"jsonrpc\":\"2.0\",\"id\":$n,\"method\":\"tools/call\",\"params\":{\"name\":${bad% *},\"arguments\":${bad#* }}}"
	is "$(jr "j['id'], j['error']['code']")" "($n, -32602)" "tools/call ${bad}: -32602"
done
rpc "$(printf '{"jsonrpc":"2.0","id":"a\377b","method":"ping"}')"
is "$(jr "j['id']")" 'a\xffb' "a string id with invalid UTF-8 comes back escaped"

# Garbage: mutated requests (bytes flipped, cut, inserted) get answers that are JSON, or none
# for what parses as a notification, and the server still answers after them.
"$PY" - >"$T/fuzz.txt" <<'PY'
import random
r = random.Random(15)
base = [b'{"jsonrpc":"2.0","id":1,"method":"ping"}',
        b'{"jsonrpc":"2.0","id":2,"method":"tools/list"}',
        b'{"jsonrpc":"2.0","id":3,"method":"tools/call","params":{"name":"log","arguments":{"limit":3}}}',
        b'{"jsonrpc":"2.0","id":4,"method":"tools/call","params":{"name":"run","arguments":{"argv":["true"]}}}',
        b'{"jsonrpc":"2.0","id":5,"method":"tools/call","params":{"name":"diff","arguments":{"paths":["a"]}}}',
        b'{"jsonrpc":"2.0","id":6,"method":"initialize","params":{"protocolVersion":"2025-06-18"}}']
out = []
for i in range(300):
    b = bytearray(r.choice(base))
    for _ in range(r.randint(1, 4)):
        op, at = r.randint(0, 2), r.randrange(len(b))
        if op == 0:
            b[at] = r.choice([c for c in range(256) if c != 10])
        elif op == 1:
            del b[at:at + r.randint(1, 8)]
        else:
            b[at:at] = bytes(r.choice([c for c in range(256) if c != 10]) for _ in range(r.randint(1, 4)))
    out.append(bytes(b))
out.append(b'{"jsonrpc":"2.0","id":"end","method":"ping"}')
import sys
sys.stdout.buffer.write(b"\n".join(out) + b"\n")
PY
cat "$T/fuzz.txt" >&"${MCP[1]}"
: >"$T/fuzz.replies"
while IFS= read -r -t 120 line <&"${MCP[0]}"; do
	printf '%s\n' "$line" >>"$T/fuzz.replies"
	case $line in *'"id":"end"'*) break ;; esac
done
is "$(tail -n 1 "$T/fuzz.replies")" '{"jsonrpc":"2.0","id":"end","result":{}}' \
	"the server answers after 300 mutated requests"
is "$("$PY" -c '
import json, sys
bad = 0
for l in open(sys.argv[1], "rb"):
    try:
        j = json.loads(l.decode("utf-8"))
        bad += j.get("jsonrpc") != "2.0" or ("result" in j) == ("error" in j)
    except ValueError:
        bad += 1
print(bad)' "$T/fuzz.replies")" 0 "every answer to them is a JSON-RPC response in valid UTF-8"
check "the server is still running" kill -0 "$mcp_pid"
check "the host is still untouched" test ! -e out.txt -a ! -e d
"$AIRLOCK" list >"$T/list.out"
check "the session is live while the client is there" grep -q "^$sid  live" "$T/list.out"

eval "exec ${MCP[1]}>&-"
wait "$mcp_pid"
is "$?" 0 "the server ends when its input ends"
check "and stops the session it started" sh -c "'$AIRLOCK' list | grep -q '^$sid  finished'"
check "whose changes wait for review" sh -c "'$AIRLOCK' show '$sid' | grep -q out.txt"
check "the host is untouched after the server ended" test ! -e out.txt

# --session: someone else's live session, left running.
sid2=$("$AIRLOCK" start --net none)
coproc MCP { exec "$AIRLOCK" mcp --session "$sid2" 2>"$T/mcp2.err"; }
mcp_pid=$MCP_PID
call 1 run '{"command":"echo attached > att.txt"}'
is "$(sc "['session'], j['result']['structuredContent']['exit_code']")" "('$sid2', 0)" \
	"--session runs in the session named"
eval "exec ${MCP[1]}>&-"
wait "$mcp_pid"
is "$?" 0 "the attached server ends with its input"
is "$("$AIRLOCK" exec "$sid2" -- cat att.txt)" attached "and leaves the session live, with the change"
"$AIRLOCK" stop "$sid2" 2>/dev/null

# A signal ends the server and its session.
coproc MCP { exec "$AIRLOCK" mcp --net none 2>"$T/mcp3.err"; }
mcp_pid=$MCP_PID
rpc '{"jsonrpc":"2.0","id":1,"method":"ping"}'
sid3=$(sed -n 's/.*serving session \([^ ]*\).*/\1/p' "$T/mcp3.err")
kill -TERM "$mcp_pid"
wait "$mcp_pid"
check "SIGTERM ends the server" gone "mcp --net none"
check "and stops its session" sh -c "'$AIRLOCK' list | grep -q '^$sid3  finished'"

for f in "$TOP"/examples/*.rules; do
	"$AIRLOCK" rules check "$f" >/dev/null 2>"$T/rc.err"
	is "$?" 0 "the recipe's rules file $(basename "$f") is valid"
done

"$AIRLOCK" mcp --session "$sid2" --net none </dev/null >/dev/null 2>"$T/use.err"
is "$?" 2 "--session with run options is a usage error"
"$AIRLOCK" mcp --session "$sid2" </dev/null >"$T/notlive.out" 2>"$T/notlive.err"
is "$?" 125 "--session naming a session that is not live fails"
check "saying so" grep -q "is not live (finished)" "$T/notlive.err"

done_testing
