#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""A model API on loopback that drives a coding agent through one shell command.

Speaks just enough of the Anthropic Messages API (POST /v1/messages, streaming or not) and of
the OpenAI Responses API (POST /v1/responses, streaming) for Claude Code and Codex CLI: a
request that offers a shell tool and carries K tool results is answered with a call of that
tool running the K+1th --command; once every command has its result, with a final text, FINAL
followed by the first line of the last tool output. Anything else (title generation, token
counts, quota probes) gets a short text.

Usage: fake_agent_api.py [--port N] [--command CMD]... [--tool NAME] [--final TEXT] [--log FILE]
--tool calls that tool (an MCP server's, e.g. mcp__airlock__run) with {"command": CMD} instead
of the agent's own shell tool.
Prints "port N" on stdout once it listens (port 0 picks a free one). --log appends one JSON
line per request: path, the tool names offered, and the tool result seen (if any), so a test
can check what the agent sent back.
"""
import argparse
import json
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

ARGS = None
CALLS = {"n": 0}


def log(entry):
    if ARGS.log:
        with open(ARGS.log, "a") as f:
            f.write(json.dumps(entry) + "\n")


def text_of(content):
    """The text in an Anthropic tool_result's or an OpenAI output's content."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(c.get("text", "") for c in content if isinstance(c, dict))
    return ""


# ---- Anthropic Messages ----------------------------------------------------------------

def anthropic_tool_results(body):
    out = []
    for m in body.get("messages", []):
        if m.get("role") == "user" and isinstance(m.get("content"), list):
            for c in m["content"]:
                if isinstance(c, dict) and c.get("type") == "tool_result":
                    out.append(text_of(c.get("content")))
    return out


def final_text(results):
    first = (results[-1].strip().splitlines() or [""])[0] if results else ""
    return "%s %s" % (ARGS.final, first)


def anthropic_reply(body):
    tools = [t.get("name") for t in body.get("tools", []) if isinstance(t, dict)]
    results = anthropic_tool_results(body)
    log({"api": "anthropic", "tools": tools, "tool_results": results})
    if ARGS.tool not in tools:
        return [{"type": "text", "text": "ok"}], "end_turn"
    if len(results) >= len(ARGS.command):
        return [{"type": "text", "text": final_text(results)}], "end_turn"
    CALLS["n"] += 1
    return [{"type": "tool_use", "id": "toolu_fake%d" % CALLS["n"], "name": ARGS.tool,
             "input": dict({"command": ARGS.command[len(results)]},
                           **({"description": "run the command"} if ARGS.tool == "Bash" else {}))
             }], "tool_use"


def anthropic_message(content, stop, model):
    return {"id": "msg_fake", "type": "message", "role": "assistant", "model": model,
            "content": content, "stop_reason": stop, "stop_sequence": None,
            "usage": {"input_tokens": 10, "output_tokens": 10}}


def anthropic_stream(h, content, stop, model):
    def ev(name, data):
        h.wfile.write(("event: %s\ndata: %s\n\n" % (name, json.dumps(data))).encode())

    start = anthropic_message([], None, model)
    ev("message_start", {"type": "message_start", "message": start})
    for i, block in enumerate(content):
        if block["type"] == "text":
            ev("content_block_start", {"type": "content_block_start", "index": i,
                                       "content_block": {"type": "text", "text": ""}})
            ev("content_block_delta", {"type": "content_block_delta", "index": i,
                                       "delta": {"type": "text_delta", "text": block["text"]}})
        else:
            ev("content_block_start", {"type": "content_block_start", "index": i,
                                       "content_block": dict(block, input={})})
            ev("content_block_delta", {"type": "content_block_delta", "index": i,
                                       "delta": {"type": "input_json_delta",
                                                 "partial_json": json.dumps(block["input"])}})
        ev("content_block_stop", {"type": "content_block_stop", "index": i})
    ev("message_delta", {"type": "message_delta",
                         "delta": {"stop_reason": stop, "stop_sequence": None},
                         "usage": {"output_tokens": 10}})
    ev("message_stop", {"type": "message_stop"})


# ---- OpenAI Responses ------------------------------------------------------------------

def openai_tool_results(body):
    out = []
    items = body.get("input", [])
    for it in items if isinstance(items, list) else []:
        if isinstance(it, dict) and it.get("type") in ("function_call_output",
                                                       "custom_tool_call_output"):
            o = it.get("output")
            out.append(o if isinstance(o, str) else text_of(o))
    return out


def openai_call(tools, command):
    """A call of the shell tool Codex offers, in the shape of its arguments."""
    if ARGS.tool != "Bash":
        return (ARGS.tool, {"command": command}) if ARGS.tool in tools else (None, None)
    if "shell_command" in tools:
        return "shell_command", {"command": command}
    if "exec_command" in tools:
        return "exec_command", {"cmd": command}
    if "shell" in tools:
        return "shell", {"command": ["bash", "-lc", command]}
    return None, None


def openai_reply(body):
    tools = []
    for t in body.get("tools", []) or []:
        if isinstance(t, dict):
            tools.append(t.get("name") or (t.get("function") or {}).get("name"))
            # a namespace (Codex's MCP servers): its tools as NAMESPACE/TOOL
            for sub in t.get("tools", []) if t.get("type") == "namespace" else []:
                if isinstance(sub, dict):
                    tools.append("%s/%s" % (t.get("name"), sub.get("name")))
    results = openai_tool_results(body)
    log({"api": "openai", "tools": tools, "tool_results": results})
    name, args = None, None
    if len(results) < len(ARGS.command):
        name, args = openai_call(tools, ARGS.command[len(results)])
    elif results:
        return {"type": "message", "role": "assistant", "id": "msg_fake", "status": "completed",
                "content": [{"type": "output_text", "annotations": [],
                             "text": final_text(results)}]}
    if name:
        CALLS["n"] += 1
        call = {"type": "function_call", "id": "fc_fake%d" % CALLS["n"], "status": "completed",
                "call_id": "call_fake%d" % CALLS["n"], "name": name, "arguments": json.dumps(args)}
        if "/" in name:
            call["namespace"], call["name"] = name.split("/", 1)
        return call
    return {"type": "message", "role": "assistant", "id": "msg_fake", "status": "completed",
            "content": [{"type": "output_text", "annotations": [], "text": "ok"}]}


def openai_stream(h, item, model):
    def ev(data):
        h.wfile.write(("event: %s\ndata: %s\n\n" % (data["type"], json.dumps(data))).encode())

    resp = {"id": "resp_fake", "object": "response", "status": "in_progress", "model": model,
            "output": []}
    ev({"type": "response.created", "response": resp})
    ev({"type": "response.output_item.added", "output_index": 0, "item": item})
    if item["type"] == "message":
        ev({"type": "response.output_text.delta", "output_index": 0, "content_index": 0,
            "item_id": item["id"], "delta": item["content"][0]["text"]})
    ev({"type": "response.output_item.done", "output_index": 0, "item": item})
    done = dict(resp, status="completed", output=[item],
                usage={"input_tokens": 10, "input_tokens_details": {"cached_tokens": 0},
                       "output_tokens": 10, "output_tokens_details": {"reasoning_tokens": 0},
                       "total_tokens": 20})
    ev({"type": "response.completed", "response": done})


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *a):
        pass

    def send(self, code, ctype, data=None):
        self.send_response(code)
        self.send_header("Content-Type", ctype)
        if data is not None:
            self.send_header("Content-Length", str(len(data)))
        else:
            self.send_header("Connection", "close")
            self.close_connection = True
        self.end_headers()
        if data is not None:
            self.wfile.write(data)

    def do_GET(self):
        # model lists and the like: an empty but valid answer
        log({"api": "get", "path": self.path})
        self.send(200, "application/json", json.dumps({"data": [], "models": []}).encode())

    def do_HEAD(self):
        self.send(200, "application/json", b"")

    def do_POST(self):
        n = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(n) if n else b""
        try:
            body = json.loads(raw or b"{}")
        except ValueError:
            self.send(400, "application/json", b'{"error":"not JSON"}')
            return
        path = self.path.split("?")[0]
        model = body.get("model", "fake")
        if ARGS.dump:
            with open(ARGS.dump, "a") as f:
                f.write(json.dumps({"path": path, "body": body}) + "\n")
        if path.endswith("/messages/count_tokens"):
            self.send(200, "application/json", b'{"input_tokens": 10}')
        elif path.endswith("/messages"):
            content, stop = anthropic_reply(body)
            if body.get("stream"):
                self.send(200, "text/event-stream")
                anthropic_stream(self, content, stop, model)
            else:
                self.send(200, "application/json",
                          json.dumps(anthropic_message(content, stop, model)).encode())
        elif path.endswith("/responses"):
            item = openai_reply(body)
            self.send(200, "text/event-stream")
            openai_stream(self, item, model)
        else:
            log({"api": "post", "path": self.path})
            self.send(404, "application/json", b'{"error":"not here"}')


def main():
    global ARGS
    p = argparse.ArgumentParser()
    p.add_argument("--port", type=int, default=0)
    p.add_argument("--command", action="append")
    p.add_argument("--final", default="DONE")
    p.add_argument("--tool", default="Bash",
                   help="the tool to call with {command: ...} (default: the agent's shell)")
    p.add_argument("--log")
    p.add_argument("--dump", help="append each request, whole, as a JSON line")
    ARGS = p.parse_args()
    if not ARGS.command:
        ARGS.command = ["echo hi > agent.txt; cat agent.txt"]
    srv = ThreadingHTTPServer(("127.0.0.1", ARGS.port), Handler)
    print("port %d" % srv.server_address[1], flush=True)
    try:
        srv.serve_forever()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    sys.exit(main())
