#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Try the recipes of examples/agents.md with the real agents, offline: a fake model API on
# loopback (tests/helpers/fake_agent_api.py) makes the agent call its shell tool (or the
# airlock MCP server's run tool), and each recipe passes when the command ran in an airlock
# session, its write did not reach the host, and the agent got the result back.
#
#   examples/try-agents.sh            # every recipe whose agent is on PATH
#   CLAUDE=/path/to/claude CODEX=/path/to/codex examples/try-agents.sh
#
# Install the agents anywhere, e.g. npm install --prefix /tmp/agents @anthropic-ai/claude-code
# @openai/codex, then PATH=/tmp/agents/node_modules/.bin:$PATH. Everything runs in a scratch
# directory with its own HOME and airlock store: your own agent configuration, keys and
# sessions are not read or touched. Not part of `make check` (CI has no agents); the parts
# that need no agent are tests/integration/agents.sh.
set -u
TOP=$(cd "$(dirname "$0")/.." && pwd)
AIRLOCK=$(command -v "${AIRLOCK:-$TOP/build/airlock}") || { echo "no airlock binary" >&2; exit 2; }
CLAUDE=${CLAUDE:-$(command -v claude || true)}
CODEX=${CODEX:-$(command -v codex || true)}
PY=${PYTHON:-python3}

W=$(mktemp -d /tmp/try-agents.XXXXXX)
export HOME=$W/home AIRLOCK_STATE_DIR=$W/state
mkdir -p "$HOME/.claude" "$HOME/.codex" "$W/bin"
ln -s "$AIRLOCK" "$W/bin/airlock"
export PATH=$W/bin:$PATH
api_pid=
cleanup() {
	[ -n "$api_pid" ] && kill "$api_pid" 2>/dev/null
	"$AIRLOCK" stop agent >/dev/null 2>&1
	[ -n "${KEEP:-}" ] || { chmod -R u+rwX "$W" 2>/dev/null; rm -rf "$W"; }
}
trap cleanup EXIT
fails=0
pass() { echo "PASS  $1"; }
fail() { echo "FAIL  $1: $2"; fails=$((fails + 1)); }

# api ARGS...: a fresh fake API (the previous one stopped); its port in $port.
api() {
	[ -n "$api_pid" ] && kill "$api_pid" 2>/dev/null
	: >"$W/api.port"
	"$PY" "$TOP/tests/helpers/fake_agent_api.py" --log "$W/api.log" "$@" >"$W/api.port" &
	api_pid=$!
	for _ in $(seq 100); do grep -q '^port ' "$W/api.port" && break; sleep 0.1; done
	port=$(sed -n 's/^port //p' "$W/api.port")
}
# project NAME: a fresh project directory, the current one.
project() {
	mkdir -p "$W/$1/sub" && cd "$W/$1" || exit 2
}
# held SESSION FILE: FILE (relative to here) is held in SESSION and not on the host.
held() {
	[ ! -e "$2" ] && "$AIRLOCK" show "$1" 2>/dev/null | grep -q "added .*$PWD/$2"
}

claude_run() {
	ANTHROPIC_BASE_URL=http://127.0.0.1:$port ANTHROPIC_API_KEY=sk-ant-fake \
		timeout 180 "$CLAUDE" -p "do it" "$@" 2>&1 | tail -n 1
}
codex_config() {
	cat >"$HOME/.codex/config.toml" <<-EOF
		model = "gpt-fake"
		model_provider = "fake"
		[model_providers.fake]
		name = "fake"
		base_url = "http://127.0.0.1:$port/v1"
		env_key = "FAKE_API_KEY"
		wire_api = "responses"
		supports_websockets = false
	EOF
}
codex_run() {
	FAKE_API_KEY=sk-fake timeout 180 "$CODEX" exec --skip-git-repo-check "$@" "do it" 2>&1 |
		tail -n 1
}

if [ -n "$CLAUDE" ]; then
	echo "# Claude Code $("$CLAUDE" --version 2>&1)"

	# 3. CLAUDE_CODE_SHELL_PREFIX with the directory file handed back: the cd of the first
	# call holds for the second, which runs in sub/ and sees the first's write.
	project c-prefix
	api --command 'cd sub && echo hi > agent.txt' --command 'pwd; cat agent.txt'
	"$AIRLOCK" start --name agent >/dev/null
	out=$(CLAUDE_CODE_SHELL_PREFIX=$TOP/examples/claude-code-shell claude_run --allowedTools Bash)
	"$AIRLOCK" stop agent >/dev/null 2>&1
	if [ "$out" = "DONE $PWD/sub" ] && held agent sub/agent.txt; then
		pass "claude: CLAUDE_CODE_SHELL_PREFIX=examples/claude-code-shell (cd handed back)"
	else
		fail "claude: CLAUDE_CODE_SHELL_PREFIX" "agent said '$out'"
	fi

	# 3. A PreToolUse hook rewriting the command through updatedInput.command.
	project c-hook
	mkdir -p .claude
	printf '{"hooks":{"PreToolUse":[{"matcher":"Bash","hooks":[{"type":"command","command":"%s"}]}]}}\n' \
		"$TOP/examples/airlock-hook" >.claude/settings.json
	api --command 'echo hooked > hooked.txt; cat hooked.txt'
	"$AIRLOCK" start --name agent >/dev/null
	out=$(claude_run)
	"$AIRLOCK" stop agent >/dev/null 2>&1
	if [ "$out" = "DONE hooked" ] && held agent hooked.txt; then
		pass "claude: PreToolUse hook examples/airlock-hook"
	else
		fail "claude: PreToolUse hook" "agent said '$out'"
	fi

	# 1. claude mcp add: the run tool of airlock mcp.
	project c-mcp
	api --tool mcp__airlock__run --command 'echo viamcp > mcp.txt; cat mcp.txt'
	"$CLAUDE" mcp add airlock -- airlock mcp --net none >/dev/null 2>&1
	out=$(claude_run --allowedTools mcp__airlock__run)
	if [[ $out == *'"stdout":"viamcp\n"'* ]] && held last mcp.txt; then
		pass "claude: claude mcp add airlock -- airlock mcp"
	else
		fail "claude: mcp" "agent said '$out'"
	fi

	# 2. The whole agent under airlock run, examples/claude-code.rules plus the fake API.
	project c-run
	api --command 'echo inside > inside.txt; cat inside.txt'
	{ cat "$TOP/examples/claude-code.rules"; echo "allow connect 127.0.0.1:$port"; } >"$W/claude.rules"
	out=$(ANTHROPIC_BASE_URL=http://127.0.0.1:$port ANTHROPIC_API_KEY=sk-ant-fake timeout 180 \
		"$AIRLOCK" run --review never -r "$W/claude.rules" --env ANTHROPIC_API_KEY \
		--env ANTHROPIC_BASE_URL -- "$CLAUDE" -p "do it" --allowedTools Bash 2>/dev/null | tail -n 1)
	if [ "$out" = "DONE inside" ] && held last inside.txt; then
		pass "claude: airlock run -r examples/claude-code.rules -- claude"
	else
		fail "claude: airlock run" "agent said '$out'"
	fi
else
	echo "# no claude on PATH: Claude Code recipes not tried"
fi

if [ -n "$CODEX" ]; then
	echo "# Codex $("$CODEX" --version 2>/dev/null)"

	# 3. hooks.json: PreToolUse, updatedInput.command (Codex runs hooks it trusts; the
	# flag trusts them for this run).
	project x-hook
	api --command 'echo cx > codex.txt; cat codex.txt'
	codex_config
	printf '{"hooks":{"PreToolUse":[{"matcher":"Bash","hooks":[{"type":"command","command":"%s"}]}]}}\n' \
		"$TOP/examples/airlock-hook" >"$HOME/.codex/hooks.json"
	"$AIRLOCK" start --name agent >/dev/null
	out=$(codex_run -s danger-full-access --dangerously-bypass-hook-trust)
	"$AIRLOCK" stop agent >/dev/null 2>&1
	rm -f "$HOME/.codex/hooks.json"
	if [[ $out == "DONE "* ]] && held agent codex.txt; then
		pass "codex: hooks.json PreToolUse examples/airlock-hook"
	else
		fail "codex: hooks.json" "agent said '$out'"
	fi

	# 1. [mcp_servers.airlock] in config.toml.
	project x-mcp
	api --tool mcp__airlock/run --command 'echo viamcp > mcp.txt; cat mcp.txt'
	codex_config
	# Codex gives an MCP server a reduced environment: airlock's store is named in env.
	printf '[mcp_servers.airlock]\ncommand = "airlock"\nargs = ["mcp", "--net", "none"]\nenv = { AIRLOCK_STATE_DIR = "%s" }\n' \
		"$AIRLOCK_STATE_DIR" >>"$HOME/.codex/config.toml"
	codex_run -s danger-full-access >/dev/null
	if grep -q 'viamcp' "$W/api.log" && held last mcp.txt; then
		pass "codex: [mcp_servers.airlock] in ~/.codex/config.toml"
	else
		fail "codex: mcp" "the run tool's result did not reach the API"
	fi

	# 2. The whole agent under airlock run, its own sandbox off.
	project x-run
	api --command 'echo cxin > cxin.txt; cat cxin.txt'
	codex_config
	{ cat "$TOP/examples/codex.rules"; echo "allow connect 127.0.0.1:$port"; } >"$W/codex.rules"
	out=$(FAKE_API_KEY=sk-fake timeout 180 "$AIRLOCK" run --review never -r "$W/codex.rules" \
		--env FAKE_API_KEY -- "$CODEX" exec --skip-git-repo-check -s danger-full-access \
		"do it" 2>/dev/null | tail -n 1)
	if [[ $out == "DONE "* ]] && held last cxin.txt; then
		pass "codex: airlock run -r examples/codex.rules -- codex exec -s danger-full-access"
	else
		fail "codex: airlock run" "agent said '$out'"
	fi
else
	echo "# no codex on PATH: Codex recipes not tried"
fi

[ "$fails" -eq 0 ]
