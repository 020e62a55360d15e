/* SPDX-License-Identifier: MIT */
/*
 * `airlock mcp`: a Model Context Protocol server on stdio (JSON-RPC 2.0, one message a line)
 * that lets an agent run commands in a live session and look at what they did. Its tools are
 * run, changes, diff and log; none commits, approves or changes rules: the agent proposes, the
 * person decides (airlock review, commit). The server starts a live session with the run
 * options it was given and stops it when its input ends, or works in the one --session names.
 *
 * Everything the client sends is untrusted: each line is bounded (MCP_MAX_LINE), parsed as
 * JSON, checked against the method's parameters, and bad input gets a JSON-RPC error, never a
 * crash or a partial action. stdout carries the protocol only: our own fd 1 points at stderr
 * once the channel is set aside, so no stray message can corrupt it.
 */
#include "supervisor/cli/cli.h"

#include "common/json.h"
#include "common/buf.h"
#include "common/cleanup.h"
#include "common/err.h"
#include "common/path.h"
#include "common/utf8.h"
#include "supervisor/changeset/changes.h"
#include "supervisor/changeset/diff.h"
#include "supervisor/record/report.h"
#include "supervisor/record/session.h"
#include "supervisor/record/store.h"
#include "supervisor/supervise/live_client.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/wait.h>
#include <unistd.h>

#define MCP_MAX_LINE	(1 << 20) /* a request's line, newline excluded */
#define MCP_MAX_OUTPUT	(1 << 20) /* what run keeps of each of stdout and stderr */
#define MCP_MAX_PATCH	(4 << 20) /* what diff returns of the patch */
#define MCP_MAX_ARGV	4096	  /* strings in run's argv */
#define MCP_MAX_PATHS	256	  /* diff's paths */
#define MCP_MAX_CHANGED 1000	  /* paths run lists as changed */
#define MCP_DEF_TIMEOUT 300	  /* seconds a run may take unless it says otherwise */
#define MCP_MAX_TIMEOUT 86400

enum {
	RPC_PARSE = -32700,
	RPC_INVALID = -32600,
	RPC_NO_METHOD = -32601,
	RPC_PARAMS = -32602,
	RPC_INTERNAL = -32603,
};

/* The protocol revisions this server speaks (the handshake kind), newest first. */
static const char *const protocol_versions[] = {"2025-11-25", "2025-06-18", "2025-03-26",
						"2024-11-05"};

struct mcp {
	FILE *out; /* the protocol channel (our original stdout) */
	struct session s;
	bool started; /* we started the session, and stop it at the end */
	int sigfd;
	int stop_signal; /* a signal that ends the server */
};

static const char mcp_usage[] =
	"usage: airlock mcp [--session ID] [run options]\n"
	"\n"
	"A Model Context Protocol server on stdin and stdout (JSON-RPC 2.0, one message a\n"
	"line) with the tools run, changes, diff and log. Without --session it starts a live\n"
	"session with the run options given (as 'airlock start' does) and stops it when its\n"
	"input ends; with --session it works in that live session and leaves it running.\n"
	"No tool commits, approves or changes rules: 'airlock review' and 'airlock commit'\n"
	"are the person's. See airlock-json(7) for the tools' schemas.\n"
	"\n"
	"      --session ID   use live session ID ('airlock start') instead of starting one\n";

static void send_msg(struct mcp *m, cJSON *msg)
{
	char *text = cJSON_PrintUnformatted(msg);

	if (!text || fprintf(m->out, "%s\n", text) < 0 || fflush(m->out) != 0) {
		/* The client is gone: nobody reads what we would say. */
		free(text);
		cJSON_Delete(msg);
		m->stop_signal = m->stop_signal ? m->stop_signal : SIGPIPE;
		return;
	}
	free(text);
	cJSON_Delete(msg);
}

/* The request's id for the answer: a string id came from the client, as any bytes. */
static cJSON *id_copy(const cJSON *id)
{
	if (!id)
		return cJSON_CreateNull();
	return cJSON_IsString(id) ? json_text(id->valuestring) : cJSON_Duplicate(id, true);
}

static void send_result(struct mcp *m, const cJSON *id, cJSON *result)
{
	cJSON *msg = cJSON_CreateObject();

	cJSON_AddStringToObject(msg, "jsonrpc", "2.0");
	cJSON_AddItemToObject(msg, "id", id_copy(id));
	cJSON_AddItemToObject(msg, "result", result);
	send_msg(m, msg);
}

/* An error answer; id NULL answers with a null id (the request's could not be read). */
static void send_error(struct mcp *m, const cJSON *id, int code, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
static void send_error(struct mcp *m, const cJSON *id, int code, const char *fmt, ...)
{
	cJSON *msg = cJSON_CreateObject(), *err = cJSON_CreateObject();
	struct buf text = BUF_INIT;
	va_list ap;

	buf_init(&text);
	va_start(ap, fmt);
	buf_vaddf(&text, fmt, ap);
	va_end(ap);
	cJSON_AddStringToObject(msg, "jsonrpc", "2.0");
	cJSON_AddItemToObject(msg, "id", id_copy(id));
	cJSON_AddNumberToObject(err, "code", code);
	cJSON_AddItemToObject(err, "message", json_text(text.data));
	cJSON_AddItemToObject(msg, "error", err);
	buf_release(&text);
	send_msg(m, msg);
}

/* ---- the tools' schemas (airlock-json(7) documents the same) ---- */

static cJSON *prop(cJSON *props, const char *name, const char *type, const char *desc)
{
	cJSON *p = cJSON_CreateObject();

	cJSON_AddStringToObject(p, "type", type);
	if (desc)
		cJSON_AddStringToObject(p, "description", desc);
	cJSON_AddItemToObject(props, name, p);
	return p;
}

static cJSON *string_array(cJSON *props, const char *name, const char *desc)
{
	cJSON *p = prop(props, name, "array", desc);
	cJSON *items = cJSON_CreateObject();

	cJSON_AddStringToObject(items, "type", "string");
	cJSON_AddItemToObject(p, "items", items);
	return p;
}

/* A member that may be null. */
static void nullable(cJSON *p, const char *type)
{
	cJSON *types = cJSON_CreateArray();

	cJSON_AddItemToArray(types, cJSON_CreateString(type));
	cJSON_AddItemToArray(types, cJSON_CreateString("null"));
	cJSON_ReplaceItemInObjectCaseSensitive(p, "type", types);
}

static cJSON *schema(cJSON **props)
{
	cJSON *o = cJSON_CreateObject();

	cJSON_AddStringToObject(o, "type", "object");
	*props = cJSON_AddObjectToObject(o, "properties");
	return o;
}

static cJSON *tool(cJSON *tools, const char *name, const char *title, const char *desc)
{
	cJSON *t = cJSON_CreateObject(), *ann;

	cJSON_AddStringToObject(t, "name", name);
	cJSON_AddStringToObject(t, "title", title);
	cJSON_AddStringToObject(t, "description", desc);
	ann = cJSON_AddObjectToObject(t, "annotations");
	/* Nothing reaches the host: even run only writes into the held session. */
	cJSON_AddBoolToObject(ann, "readOnlyHint", strcmp(name, "run") != 0);
	cJSON_AddBoolToObject(ann, "destructiveHint", false);
	cJSON_AddBoolToObject(ann, "openWorldHint", strcmp(name, "run") == 0);
	cJSON_AddItemToArray(tools, t);
	return t;
}

static void run_input(cJSON *props)
{
	cJSON *p = string_array(props, "argv", "the program and its arguments");

	cJSON_AddNumberToObject(p, "minItems", 1);
	cJSON_AddNumberToObject(p, "maxItems", MCP_MAX_ARGV);
	prop(props, "command", "string", "a shell command line, run by /bin/sh -c");
	prop(props, "cwd", "string",
	     "the directory to run in (relative: to the server's); default: the server's");
	p = prop(props, "timeout", "number",
		 "seconds before the command gets SIGTERM (SIGKILL 2 s later); default 300");
	cJSON_AddNumberToObject(p, "exclusiveMinimum", 0);
	cJSON_AddNumberToObject(p, "maximum", MCP_MAX_TIMEOUT);
}

static void run_output(cJSON *props)
{
	prop(props, "version", "integer", "1");
	prop(props, "session", "string", NULL);
	nullable(prop(props, "step", "integer", "the step's number in the session's record"),
		 "integer");
	prop(props, "exit_code", "integer",
	     "the command's status; 128+N when killed by signal N; 125 when airlock failed");
	nullable(prop(props, "signal", "integer", "the signal that ended it"), "integer");
	prop(props, "stdout", "string", "captured, secrets redacted, invalid UTF-8 escaped");
	prop(props, "stderr", "string", NULL);
	prop(props, "truncated", "boolean", "stdout or stderr was cut at 1 MiB");
	prop(props, "timed_out", "boolean", NULL);
	string_array(props, "changed", "paths the command wrote, created, renamed or removed");
	prop(props, "error", "string", "why airlock could not run it, or ended it");
}

static void no_input(cJSON *props)
{
	(void)props;
}

static void changes_output(cJSON *props)
{
	cJSON *iprops, *item = schema(&iprops);

	prop(props, "version", "integer", "1");
	prop(props, "session", "string", NULL);
	prop(props, "state", "string", "live, finished, ...");
	prop(iprops, "path", "string", NULL);
	prop(iprops, "kind", "string", NULL);
	prop(iprops, "state", "string", NULL);
	cJSON_AddItemToObject(prop(props, "changes", "array", NULL), "items", item);
}

static void diff_input(cJSON *props)
{
	cJSON *p = string_array(props, "paths", "absolute, or relative to the server's directory");

	cJSON_AddNumberToObject(p, "maxItems", MCP_MAX_PATHS);
}

static void diff_output(cJSON *props)
{
	prop(props, "version", "integer", "1");
	prop(props, "session", "string", NULL);
	prop(props, "patch", "string", NULL);
	prop(props, "truncated", "boolean", "the patch was cut at 4 MiB");
}

static void log_input(cJSON *props)
{
	cJSON *p = prop(props, "limit", "integer", "how many events, at most (default 50)");

	cJSON_AddNumberToObject(p, "minimum", 1);
	cJSON_AddNumberToObject(p, "maximum", 1000);
	p = prop(props, "step", "integer", "only the events of this step");
	cJSON_AddNumberToObject(p, "minimum", 1);
}

static void log_output(cJSON *props)
{
	prop(props, "version", "integer", "1");
	prop(props, "session", "string", NULL);
	cJSON_AddItemToObject(prop(props, "events", "array", NULL), "items", cJSON_CreateObject());
}

#define MAX_REQUIRED 10

/* The tools tools/list offers: what each is, and what its arguments and result hold. */
static const struct tool_spec {
	const char *name, *title, *desc;
	void (*input)(cJSON *props), (*output)(cJSON *props);
	const char *const out_required[MAX_REQUIRED + 1]; /* NULL-terminated */
} tool_specs[] = {
	{"run",
	 "Run a command in the sandbox",
	 "Run a command in the airlock session's sandbox. It sees the files of the host "
	 "plus every change earlier commands made; its own writes are held in the "
	 "session for the person's review and never reach the host until they commit "
	 "them. Programs, connections and writes outside the project may be refused or "
	 "asked about by the session's rules. Give argv (an array) or command (a shell "
	 "line for /bin/sh -c), not both.",
	 run_input,
	 run_output,
	 {"version", "session", "step", "exit_code", "signal", "stdout", "stderr", "truncated",
	  "timed_out", "changed"}},
	{"changes",
	 "Held changes",
	 "The changes the session holds for the person's review, with each one's "
	 "state (approved, undecided, denied) and risk (why it is flagged), as "
	 "'airlock show --json' lists them.",
	 no_input,
	 changes_output,
	 {"version", "session", "state", "changes"}},
	{"diff",
	 "Diff of held changes",
	 "A git patch of the session's held changes (all, or those at or below the "
	 "paths given), as 'airlock diff' prints it.",
	 diff_input,
	 diff_output,
	 {"version", "session", "patch", "truncated"}},
	{"log",
	 "Recent events",
	 "The session's most recent events (programs run, connections, writes, steps), "
	 "as 'airlock log --json' prints them, oldest first.",
	 log_input,
	 log_output,
	 {"version", "session", "events"}},
};

static cJSON *tools_list(void)
{
	cJSON *res = cJSON_CreateObject(), *tools = cJSON_AddArrayToObject(res, "tools");

	for (size_t i = 0; i < ARRAY_SIZE(tool_specs); i++) {
		const struct tool_spec *s = &tool_specs[i];
		cJSON *t = tool(tools, s->name, s->title, s->desc), *props, *in, *out, *req;

		in = schema(&props);
		s->input(props);
		cJSON_AddBoolToObject(in, "additionalProperties", false);
		cJSON_AddItemToObject(t, "inputSchema", in);
		out = schema(&props);
		s->output(props);
		req = cJSON_AddArrayToObject(out, "required");
		for (const char *const *r = s->out_required; *r; r++)
			cJSON_AddItemToArray(req, cJSON_CreateString(*r));
		cJSON_AddItemToObject(t, "outputSchema", out);
	}
	return res;
}

/* ---- argument checks: each names the argument that is wrong ---- */

/* args may only hold the names in allowed. */
static const char *unknown_arg(const cJSON *args, const char *const *allowed, size_t n)
{
	const cJSON *a;

	cJSON_ArrayForEach(a, args)
	{
		size_t i;

		for (i = 0; i < n && strcmp(a->string, allowed[i]) != 0; i++)
			;
		if (i == n)
			return a->string;
	}
	return NULL;
}

static bool is_int(const cJSON *v, double lo, double hi)
{
	return cJSON_IsNumber(v) && v->valuedouble == (double)(long long)v->valuedouble &&
	       v->valuedouble >= lo && v->valuedouble <= hi;
}

/* A vector of the strings of array v (borrowed), or NULL when v is not max strings at most. */
static char **string_vector(const cJSON *v, int max, bool nonempty)
{
	const cJSON *x;
	char **vec;
	int n = cJSON_GetArraySize(v), i = 0;

	if (!cJSON_IsArray(v) || n > max || (nonempty && n == 0))
		return NULL;
	cJSON_ArrayForEach(x, v)
	{
		if (!cJSON_IsString(x) || !x->valuestring)
			return NULL;
	}
	vec = xcalloc((size_t)n + 1, sizeof(*vec));
	cJSON_ArrayForEach(x, v)
	{
		vec[i++] = x->valuestring;
	}
	return vec;
}

/* A tool's result: structured, with its text form for clients that read only content. */
static cJSON *tool_result(cJSON *structured, bool is_error)
{
	cJSON *res = cJSON_CreateObject(), *content = cJSON_AddArrayToObject(res, "content");
	cJSON *text = cJSON_CreateObject();
	char *s = cJSON_PrintUnformatted(structured);

	cJSON_AddStringToObject(text, "type", "text");
	cJSON_AddStringToObject(text, "text", s ? s : "{}");
	free(s);
	cJSON_AddItemToArray(content, text);
	cJSON_AddItemToObject(res, "structuredContent", structured);
	cJSON_AddBoolToObject(res, "isError", is_error);
	return res;
}

/* A tool that could not do its work: the reason in plain text, isError set. */
static cJSON *tool_failure(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static cJSON *tool_failure(const char *fmt, ...)
{
	cJSON *res = cJSON_CreateObject(), *content = cJSON_AddArrayToObject(res, "content");
	cJSON *text = cJSON_CreateObject();
	struct buf b = BUF_INIT;
	va_list ap;

	buf_init(&b);
	va_start(ap, fmt);
	buf_vaddf(&b, fmt, ap);
	va_end(ap);
	cJSON_AddStringToObject(text, "type", "text");
	cJSON_AddItemToObject(text, "text", json_text(b.data));
	cJSON_AddItemToArray(content, text);
	cJSON_AddBoolToObject(res, "isError", true);
	buf_release(&b);
	return res;
}

static cJSON *base_result(const struct mcp *m)
{
	cJSON *o = cJSON_CreateObject();

	cJSON_AddNumberToObject(o, "version", 1);
	cJSON_AddStringToObject(o, "session", m->s.id);
	return o;
}

/* ---- the paths a step changed, from its write events ---- */

static void add_path(cJSON *paths, const cJSON *v)
{
	const cJSON *x;

	if (!cJSON_IsString(v) || !v->valuestring || cJSON_GetArraySize(paths) >= MCP_MAX_CHANGED)
		return;
	cJSON_ArrayForEach(x, paths)
	{
		if (strcmp(x->valuestring, v->valuestring) == 0)
			return;
	}
	/* The log holds paths already escaped as UTF-8 (utf8_sanitize()). */
	cJSON_AddItemToArray(paths, cJSON_CreateString(v->valuestring));
}

static int cmp_json_strings(const void *a, const void *b)
{
	return strcmp((*(cJSON *const *)a)->valuestring, (*(cJSON *const *)b)->valuestring);
}

/* Read events.jsonl calling fn for each event (a parsed line); fn may keep it (returns true). */
static int each_event(const struct session *s, bool (*fn)(void *ctx, cJSON *ev), void *ctx)
{
	cleanup_free char *path = session_path(s, "events.jsonl");
	cleanup_free char *line = NULL;
	cleanup_file FILE *f = fopen(path, "re");
	size_t cap = 0;
	ssize_t len;

	if (!f)
		return -errno;
	while ((len = getline(&line, &cap, f)) > 0) {
		cJSON *ev;

		/* An unterminated last line is still being written. */
		if (line[len - 1] != '\n')
			break;
		ev = cJSON_ParseWithLength(line, (size_t)len);
		if (!ev)
			continue;
		if (!fn(ctx, ev))
			cJSON_Delete(ev);
	}
	return 0;
}

struct changed_ctx {
	unsigned step;
	cJSON *paths;
};

static bool changed_event(void *ctx, cJSON *ev)
{
	struct changed_ctx *c = ctx;
	const char *cls = meta_str(ev, "class"), *decision = meta_str(ev, "decision");

	if (cls && strcmp(cls, "write") == 0 && meta_num(ev, "step", 0) == c->step &&
	    (!decision || strcmp(decision, "deny") != 0)) {
		add_path(c->paths, cJSON_GetObjectItemCaseSensitive(ev, "target"));
		add_path(c->paths, cJSON_GetObjectItemCaseSensitive(ev, "target2"));
	}
	return false;
}

static cJSON *step_changed(const struct session *s, unsigned step)
{
	struct changed_ctx c = {.step = step, .paths = cJSON_CreateArray()};
	int n;

	if (step)
		each_event(s, changed_event, &c);
	n = cJSON_GetArraySize(c.paths);
	if (n > 1) {
		cJSON **v = xcalloc((size_t)n, sizeof(*v));
		cJSON *sorted = cJSON_CreateArray();

		for (int i = 0; i < n; i++)
			v[i] = cJSON_DetachItemFromArray(c.paths, 0);
		qsort(v, (size_t)n, sizeof(*v), cmp_json_strings);
		for (int i = 0; i < n; i++)
			cJSON_AddItemToArray(sorted, v[i]);
		free(v);
		cJSON_Delete(c.paths);
		c.paths = sorted;
	}
	return c.paths;
}

/* ---- the tools ---- */

/* run's command: argv, or command for /bin/sh -c (borrowed). NULL with *bad set. */
static char **run_vector(const cJSON *argv, const cJSON *command, const char **bad)
{
	char **vec;

	if (!argv == !command) {
		*bad = "give exactly one of 'argv' and 'command'";
		return NULL;
	}
	if (argv) {
		vec = string_vector(argv, MCP_MAX_ARGV, true);
		if (!vec)
			*bad = "'argv' must be a non-empty array of strings (4096 at most)";
		return vec;
	}
	if (!cJSON_IsString(command) || !command->valuestring[0]) {
		*bad = "'command' must be a non-empty string";
		return NULL;
	}
	vec = xcalloc(4, sizeof(*vec));
	vec[0] = (char *)"/bin/sh";
	vec[1] = (char *)"-c";
	vec[2] = command->valuestring;
	return vec;
}

/* run's structured result from what the step did. */
static cJSON *run_result(struct mcp *m, const struct live_capture *r)
{
	cJSON *o = base_result(m);

	if (r->step)
		cJSON_AddNumberToObject(o, "step", r->step);
	else
		cJSON_AddNullToObject(o, "step");
	cJSON_AddNumberToObject(o, "exit_code", r->exit_code);
	if (r->signal)
		cJSON_AddNumberToObject(o, "signal", r->signal);
	else
		cJSON_AddNullToObject(o, "signal");
	cJSON_AddItemToObject(o, "stdout", json_text(r->out));
	cJSON_AddItemToObject(o, "stderr", json_text(r->err));
	cJSON_AddBoolToObject(o, "truncated", r->truncated);
	cJSON_AddBoolToObject(o, "timed_out", r->timed_out);
	cJSON_AddItemToObject(o, "changed", step_changed(&m->s, r->step));
	if (r->error[0] || r->timed_out)
		cJSON_AddItemToObject(o, "error",
				      json_text(r->timed_out && !r->error[0]
							? "the timeout ended it"
							: r->error));
	return o;
}

static cJSON *tool_run(struct mcp *m, const cJSON *args, const char **bad)
{
	static const char *const names[] = {"argv", "command", "cwd", "timeout"};
	const cJSON *cwd = cJSON_GetObjectItemCaseSensitive(args, "cwd");
	const cJSON *timeout = cJSON_GetObjectItemCaseSensitive(args, "timeout");
	cleanup_free char **vec = NULL;
	struct live_capture r;
	double secs = MCP_DEF_TIMEOUT;
	cJSON *o;
	int rc;

	if ((*bad = unknown_arg(args, names, ARRAY_SIZE(names))))
		return NULL;
	vec = run_vector(cJSON_GetObjectItemCaseSensitive(args, "argv"),
			 cJSON_GetObjectItemCaseSensitive(args, "command"), bad);
	if (!vec)
		return NULL;
	if (cwd && (!cJSON_IsString(cwd) || !cwd->valuestring[0])) {
		*bad = "'cwd' must be a non-empty string";
		return NULL;
	}
	if (timeout) {
		if (!cJSON_IsNumber(timeout) || !(timeout->valuedouble > 0) ||
		    timeout->valuedouble > MCP_MAX_TIMEOUT) {
			*bad = "'timeout' must be a number of seconds, above 0 and at most 86400";
			return NULL;
		}
		secs = timeout->valuedouble;
	}
	rc = live_exec_capture(&m->s, vec, cwd ? cwd->valuestring : NULL,
			       (int)(secs * 1000 + 0.5) ?: 1, MCP_MAX_OUTPUT, m->sigfd, &r);
	if (r.interrupted)
		m->stop_signal = r.interrupted;
	if (rc < 0) {
		live_capture_free(&r);
		return tool_failure("airlock: %s", r.error);
	}
	o = run_result(m, &r);
	live_capture_free(&r);
	/* A command that failed is a result like any other; isError is for airlock failing. */
	return tool_result(o, r.step == 0);
}

static cJSON *tool_changes(struct mcp *m, const cJSON *args, const char **bad)
{
	struct change_set cs = {0};
	cJSON *meta, *report, *o;

	if ((*bad = unknown_arg(args, NULL, 0)))
		return NULL;
	meta = store_read_meta(&m->s);
	if (!meta)
		return tool_failure("airlock: session %s: cannot read its record", m->s.id);
	report = cJSON_CreateObject();
	report_add(report, &m->s, meta, &cs, false);
	o = base_result(m);
	cJSON_AddStringToObject(o, "state", session_state(&m->s, meta));
	cJSON_AddItemToObject(o, "changes", cJSON_DetachItemFromObject(report, "changes"));
	cJSON_Delete(report);
	cJSON_Delete(meta);
	change_set_free(&cs);
	return tool_result(o, false);
}

/* diff's paths, absolute and normalised (*n of them, caller frees). NULL with *bad set. */
static char **diff_paths(const cJSON *paths, size_t *n, const char **bad)
{
	cleanup_free char **given = NULL;
	cleanup_free char *cwd = NULL;
	char **abs;
	size_t i;

	*n = 0;
	if (paths) {
		given = string_vector(paths, MCP_MAX_PATHS, false);
		if (!given) {
			*bad = "'paths' must be an array of strings (256 at most)";
			return NULL;
		}
		for (i = 0; given[i]; i++)
			if (!given[i][0]) {
				*bad = "'paths' must not hold an empty string";
				return NULL;
			}
		*n = i;
	}
	cwd = getcwd(NULL, 0);
	abs = xcalloc(*n + 1, sizeof(*abs));
	for (i = 0; i < *n; i++) {
		cleanup_free char *joined = given[i][0] == '/'
						    ? xstrdup(given[i])
						    : path_join(cwd ? cwd : "/", given[i]);

		abs[i] = path_normalize(joined);
	}
	return abs;
}

static cJSON *tool_diff(struct mcp *m, const cJSON *args, const char **bad)
{
	static const char *const names[] = {"paths"};
	const cJSON *paths = cJSON_GetObjectItemCaseSensitive(args, "paths");
	char **abs = NULL;
	bool *matched = NULL;
	size_t n = 0, i, size = 0;
	struct change_set cs = {0};
	char *patch = NULL;
	FILE *mem;
	cJSON *meta = NULL, *o = NULL;
	bool truncated;
	int r;

	if ((*bad = unknown_arg(args, names, ARRAY_SIZE(names))))
		return NULL;
	abs = diff_paths(paths, &n, bad);
	if (!abs)
		return NULL;
	matched = xcalloc(n + 1, sizeof(*matched));
	meta = store_read_meta(&m->s);
	if (!meta || session_scan_changes(&m->s, meta, &cs) < 0) {
		o = tool_failure("airlock: session %s: cannot read its changes", m->s.id);
		goto out;
	}
	mem = open_memstream(&patch, &size);
	if (!mem) {
		o = tool_failure("airlock: cannot make the patch: %s", strerror(errno));
		goto out;
	}
	r = diff_write(mem, &cs, m->s.dir, (const char *const *)abs, n, matched, false);
	fclose(mem);
	if (r == -ENOENT) {
		for (i = 0; i < n && matched[i]; i++)
			;
		o = tool_failure("airlock: %s: not changed in session %s", i < n ? abs[i] : "?",
				 m->s.id);
		goto out;
	}
	if (r < 0) {
		o = tool_failure("airlock: cannot make the patch of session %s", m->s.id);
		goto out;
	}
	o = base_result(m);
	truncated = size > MCP_MAX_PATCH; /* a patch of exactly the limit is whole */
	if (truncated)
		patch[MCP_MAX_PATCH] = '\0';
	cJSON_AddItemToObject(o, "patch", json_text(patch));
	cJSON_AddBoolToObject(o, "truncated", truncated);
	o = tool_result(o, false);
out:
	free(patch);
	for (i = 0; i < n; i++)
		free(abs[i]);
	free(abs);
	free(matched);
	change_set_free(&cs);
	cJSON_Delete(meta);
	return o;
}

struct log_ctx {
	cJSON **ring;
	size_t limit, next, count;
	double step;
};

static bool log_event(void *ctx, cJSON *ev)
{
	struct log_ctx *c = ctx;

	if (c->step > 0 && meta_num(ev, "step", 0) != c->step)
		return false;
	cJSON_Delete(c->ring[c->next]);
	c->ring[c->next] = ev;
	c->next = (c->next + 1) % c->limit;
	c->count++;
	return true;
}

static cJSON *tool_log(struct mcp *m, const cJSON *args, const char **bad)
{
	static const char *const names[] = {"limit", "step"};
	const cJSON *limit = cJSON_GetObjectItemCaseSensitive(args, "limit");
	const cJSON *step = cJSON_GetObjectItemCaseSensitive(args, "step");
	struct log_ctx c = {.limit = 50};
	cJSON *o, *events;
	size_t i, n;
	int rc;

	if ((*bad = unknown_arg(args, names, ARRAY_SIZE(names))))
		return NULL;
	if (limit && !is_int(limit, 1, 1000)) {
		*bad = "'limit' must be an integer from 1 to 1000";
		return NULL;
	}
	if (step && !is_int(step, 1, 4294967295.0)) {
		*bad = "'step' must be a positive integer";
		return NULL;
	}
	if (limit)
		c.limit = (size_t)limit->valuedouble;
	if (step)
		c.step = step->valuedouble;
	c.ring = xcalloc(c.limit, sizeof(*c.ring));
	rc = each_event(&m->s, log_event, &c);
	if (rc < 0) {
		free(c.ring);
		return tool_failure("airlock: session %s: cannot read events.jsonl: %s", m->s.id,
				    strerror(-rc));
	}
	o = base_result(m);
	events = cJSON_AddArrayToObject(o, "events");
	n = c.count < c.limit ? c.count : c.limit;
	for (i = 0; i < n; i++) {
		size_t k = (c.next + c.limit - n + i) % c.limit;

		cJSON_AddItemToArray(events, c.ring[k]);
		c.ring[k] = NULL;
	}
	free(c.ring);
	return tool_result(o, false);
}

static void tools_call(struct mcp *m, const cJSON *id, const cJSON *params)
{
	static const struct {
		const char *name;
		cJSON *(*fn)(struct mcp *m, const cJSON *args, const char **bad);
	} tools[] = {
		{"run", tool_run},
		{"changes", tool_changes},
		{"diff", tool_diff},
		{"log", tool_log},
	};
	const cJSON *name = cJSON_GetObjectItemCaseSensitive(params, "name");
	const cJSON *args = cJSON_GetObjectItemCaseSensitive(params, "arguments");
	cJSON *empty = NULL, *res;
	const char *bad = NULL;
	size_t i;

	if (!cJSON_IsString(name)) {
		send_error(m, id, RPC_PARAMS, "tools/call: 'name' must be a string");
		return;
	}
	for (i = 0; i < ARRAY_SIZE(tools) && strcmp(tools[i].name, name->valuestring) != 0; i++)
		;
	if (i == ARRAY_SIZE(tools)) {
		send_error(m, id, RPC_PARAMS,
			   "unknown tool '%s' (the tools: run, changes, diff, log)",
			   name->valuestring);
		return;
	}
	if (args && !cJSON_IsObject(args)) {
		send_error(m, id, RPC_PARAMS, "%s: 'arguments' must be an object", tools[i].name);
		return;
	}
	if (!args)
		args = empty = cJSON_CreateObject();
	res = tools[i].fn(m, args, &bad);
	cJSON_Delete(empty);
	if (!res) {
		/* unknown_arg() gives a name, the checks a sentence. */
		if (strchr(bad, ' '))
			send_error(m, id, RPC_PARAMS, "%s: %s", tools[i].name, bad);
		else
			send_error(m, id, RPC_PARAMS, "%s: unknown argument '%s'", tools[i].name,
				   bad);
		return;
	}
	send_result(m, id, res);
}

static void initialize(struct mcp *m, const cJSON *id, const cJSON *params)
{
	const cJSON *want = cJSON_GetObjectItemCaseSensitive(params, "protocolVersion");
	const char *version = protocol_versions[0];
	cJSON *res, *caps, *info;

	if (!cJSON_IsString(want)) {
		send_error(m, id, RPC_PARAMS, "initialize: 'protocolVersion' must be a string");
		return;
	}
	/* The client's revision when we speak it, else our newest: the client decides. */
	for (size_t i = 0; i < ARRAY_SIZE(protocol_versions); i++)
		if (strcmp(want->valuestring, protocol_versions[i]) == 0)
			version = protocol_versions[i];
	res = cJSON_CreateObject();
	cJSON_AddStringToObject(res, "protocolVersion", version);
	caps = cJSON_AddObjectToObject(res, "capabilities");
	cJSON_AddBoolToObject(cJSON_AddObjectToObject(caps, "tools"), "listChanged", false);
	info = cJSON_AddObjectToObject(res, "serverInfo");
	cJSON_AddStringToObject(info, "name", "airlock");
	cJSON_AddStringToObject(info, "title", "airlock");
	cJSON_AddStringToObject(info, "version", AIRLOCK_VERSION);
	cJSON_AddItemToObject(
		res, "instructions",
		json_text("Commands run with the 'run' tool execute in an airlock session "
			  "which holds every file they change: the host is untouched until "
			  "the person reviews and commits. Use 'changes' and 'diff' to see "
			  "what is held and 'log' for what ran. Nothing here can commit or "
			  "approve; ask the person to run 'airlock review' when done."));
	send_result(m, id, res);
}

/* One request or notification, already parsed. */
static void handle(struct mcp *m, const cJSON *msg)
{
	const cJSON *id, *method, *params, *jsonrpc;
	const char *name;

	if (cJSON_IsArray(msg)) {
		send_error(m, NULL, RPC_INVALID, "batches are not supported (MCP 2025-06-18)");
		return;
	}
	if (!cJSON_IsObject(msg)) {
		send_error(m, NULL, RPC_INVALID, "a request must be a JSON object");
		return;
	}
	id = cJSON_GetObjectItemCaseSensitive(msg, "id");
	method = cJSON_GetObjectItemCaseSensitive(msg, "method");
	params = cJSON_GetObjectItemCaseSensitive(msg, "params");
	jsonrpc = cJSON_GetObjectItemCaseSensitive(msg, "jsonrpc");
	/* MCP: an id is a string or an integer, never null. */
	if (id && !cJSON_IsString(id) && !is_int(id, -9007199254740991.0, 9007199254740991.0)) {
		send_error(m, NULL, RPC_INVALID, "'id' must be a string or an integer");
		return;
	}
	if (!cJSON_IsString(jsonrpc) || strcmp(jsonrpc->valuestring, "2.0") != 0) {
		send_error(m, id, RPC_INVALID, "'jsonrpc' must be \"2.0\"");
		return;
	}
	if (!method) {
		/* A response to a request of ours: we send none, so there is nothing to do. */
		if (id && (cJSON_GetObjectItemCaseSensitive(msg, "result") ||
			   cJSON_GetObjectItemCaseSensitive(msg, "error")))
			return;
		send_error(m, id, RPC_INVALID, "'method' is missing");
		return;
	}
	if (!cJSON_IsString(method)) {
		send_error(m, id, RPC_INVALID, "'method' must be a string");
		return;
	}
	name = method->valuestring;
	if (!id) {
		/* Notifications (initialized, cancelled, ...) are never answered. A run cannot be
		   cancelled while it runs: the server does one thing at a time. */
		return;
	}
	if (params && !cJSON_IsObject(params)) {
		send_error(m, id, RPC_PARAMS, "%s: 'params' must be an object", name);
		return;
	}
	if (strcmp(name, "initialize") == 0)
		initialize(m, id, params);
	else if (strcmp(name, "ping") == 0)
		send_result(m, id, cJSON_CreateObject());
	else if (strcmp(name, "tools/list") == 0)
		send_result(m, id, tools_list());
	else if (strcmp(name, "tools/call") == 0)
		tools_call(m, id, params);
	else
		send_error(m, id, RPC_NO_METHOD, "method '%s' not found", name);
}

static void handle_line(struct mcp *m, const char *line, size_t len)
{
	const char *end = NULL;
	cJSON *msg;
	size_t i;

	for (i = 0; i < len && strchr(" \t\r", line[i]); i++)
		;
	if (i == len)
		return; /* a blank line is no message */
	if (memchr(line, '\0', len)) {
		send_error(m, NULL, RPC_PARSE, "parse error: a NUL byte in the message");
		return;
	}
	msg = cJSON_ParseWithLengthOpts(line, len, &end, false);
	if (msg && end) {
		while (end < line + len && strchr(" \t\r", *end))
			end++;
		if (end != line + len) {
			cJSON_Delete(msg);
			msg = NULL;
		}
	}
	if (!msg) {
		send_error(m, NULL, RPC_PARSE, "parse error: not one JSON value on the line");
		return;
	}
	handle(m, msg);
	cJSON_Delete(msg);
}

/* ---- the session: started and stopped through our own binary, off the channel ---- */

/* Run `airlock ARGS...` with stdin from /dev/null, stdout into *out (NULL: /dev/null) and our
   stderr. Returns its exit status. */
static int run_self(char **args, char **out)
{
	int p[2] = {-1, -1}, status;
	struct buf b = BUF_INIT;
	pid_t pid;

	buf_init(&b);
	if (out && pipe2(p, O_CLOEXEC) < 0)
		die_errno("cannot create a pipe");
	pid = fork();
	if (pid < 0)
		die_errno("cannot fork");
	if (pid == 0) {
		int null = open("/dev/null", O_RDWR | O_CLOEXEC);
		sigset_t none;

		/* The supervisor starts with the signal state of a shell's child, not ours. */
		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);
		signal(SIGPIPE, SIG_DFL);
		if (null < 0 || dup2(null, STDIN_FILENO) < 0 ||
		    dup2(out ? p[1] : null, STDOUT_FILENO) < 0)
			_exit(EXIT_AIRLOCK_FAILED);
		execv("/proc/self/exe", args);
		_exit(EXIT_AIRLOCK_FAILED);
	}
	if (out) {
		char chunk[256];
		ssize_t n;

		close(p[1]);
		while ((n = read(p[0], chunk, sizeof(chunk))) != 0) {
			if (n < 0 && errno == EINTR)
				continue;
			if (n < 0 || b.len > 4096)
				break;
			buf_add(&b, chunk, (size_t)n);
		}
		close(p[0]);
		*out = buf_detach(&b);
	}
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return EXIT_AIRLOCK_FAILED;
	buf_release(&b);
	return WIFEXITED(status) ? WEXITSTATUS(status) : EXIT_AIRLOCK_FAILED;
}

static int start_session(int argc, char **argv, char **id)
{
	cleanup_free char **args = xcalloc((size_t)argc + 3, sizeof(*args));
	cleanup_free char *out = NULL;
	int rc;

	args[0] = (char *)"airlock";
	args[1] = (char *)"start";
	for (int i = 1; i < argc; i++)
		args[i + 1] = argv[i];
	rc = run_self(args, &out);
	if (rc != 0)
		return rc;
	out[strcspn(out, "\n")] = '\0';
	if (out[0] == '{') {
		/* start --json */
		cJSON *j = cJSON_Parse(out);

		*id = cJSON_IsString(cJSON_GetObjectItemCaseSensitive(j, "session"))
			      ? xstrdup(cJSON_GetObjectItemCaseSensitive(j, "session")->valuestring)
			      : NULL;
		cJSON_Delete(j);
	} else {
		*id = out[0] ? xstrdup(out) : NULL;
	}
	if (!*id)
		return error("mcp: 'airlock start' printed no session ID"), EXIT_AIRLOCK_FAILED;
	return 0;
}

static void stop_session(struct mcp *m)
{
	char *args[] = {(char *)"airlock", (char *)"stop", m->s.id, NULL};

	if (m->started)
		run_self(args, NULL);
	m->started = false;
}

/* The server's loop: lines from stdin until it ends (or a signal ends us). */
static void serve(struct mcp *m)
{
	struct buf in = BUF_INIT;
	bool skipping = false; /* inside a line that was too long */

	buf_init(&in);
	while (!m->stop_signal) {
		struct pollfd pf[2] = {{.fd = STDIN_FILENO, .events = POLLIN},
				       {.fd = m->sigfd, .events = POLLIN}};
		char chunk[65536];
		ssize_t n;
		size_t start = 0;

		if (poll(pf, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		if (pf[1].revents) {
			struct signalfd_siginfo si;

			if (read(m->sigfd, &si, sizeof(si)) == (ssize_t)sizeof(si))
				m->stop_signal = (int)si.ssi_signo;
			break;
		}
		if (!pf[0].revents)
			continue;
		n = read(STDIN_FILENO, chunk, sizeof(chunk));
		if (n < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (n <= 0)
			break;
		buf_add(&in, chunk, (size_t)n);
		for (;;) {
			char *nl = memchr(in.data + start, '\n', in.len - start);

			if (!nl)
				break;
			size_t len = (size_t)(nl - (in.data + start));

			if (skipping)
				skipping = false;
			else if (len > MCP_MAX_LINE)
				send_error(m, NULL, RPC_INVALID,
					   "request too large: a message is at most %d bytes",
					   MCP_MAX_LINE);
			else
				handle_line(m, in.data + start, len);
			start = (size_t)(nl - in.data) + 1;
			if (m->stop_signal)
				break;
		}
		if (start) {
			memmove(in.data, in.data + start, in.len - start);
			in.len -= start;
			in.data[in.len] = '\0';
		}
		if (in.len > MCP_MAX_LINE) {
			if (!skipping)
				send_error(m, NULL, RPC_INVALID,
					   "request too large: a message is at most %d bytes",
					   MCP_MAX_LINE);
			skipping = true;
			buf_reset(&in);
		}
	}
	buf_release(&in);
}

/*
 * An option that is neither mcp's nor start's is mcp's error, with a suggestion among both
 * (not start's, which would name the wrong command): EXIT_USAGE, or -1 when all are known.
 * The values and a missing one are left to the parsing that follows, and to start.
 */
static int check_mcp_options(int argc, char **argv)
{
	const struct option *run = run_option_table();
	cleanup_free struct option *opts = NULL;
	size_t n = 0;
	int c;

	while (run[n].name)
		n++;
	opts = xcalloc(n + 2, sizeof(*opts));
	memcpy(opts, run, n * sizeof(*opts));
	opts[n] = (struct option){"session", required_argument, NULL, 's'};
	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "+:r:h", opts, NULL)) != -1)
		if (c == '?')
			return option_error("mcp", argv[optind - 1], opts, mcp_usage + 7);
	optind = 1;
	return -1;
}

/* mcp's own options (everything else is airlock start's, which checks it); -1 to go on. */
static int parse_mcp_args(int argc, char **argv, const char **session)
{
	int i, ours = 0, rc = check_mcp_options(argc, argv);

	if (rc >= 0)
		return rc;

	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
			fputs(mcp_usage, stdout);
			return 0;
		}
		if (strcmp(argv[i], "--session") == 0) {
			if (i + 1 >= argc)
				return usage_error("mcp: option '--session' needs a value\n%.*s",
						   (int)strcspn(mcp_usage, "\n"), mcp_usage);
			*session = argv[++i];
			ours += 2;
		} else if (strncmp(argv[i], "--session=", 10) == 0) {
			*session = argv[i] + 10;
			ours++;
		}
	}
	if (*session && argc - 1 != ours)
		return usage_error("mcp: --session takes no run options: the session has its "
				   "own\n%.*s",
				   (int)strcspn(mcp_usage, "\n"), mcp_usage);
	if (*session && !(*session)[0])
		return usage_error("mcp: --session: no session given");
	return -1;
}

/* The channel is set aside (fd 1 becomes stderr for anything else that writes); the
   signals that end the server are read from m->sigfd. Dies on failure. */
static void setup_channel(struct mcp *m)
{
	sigset_t mask;
	int out_fd;

	fflush(stdout);
	out_fd = fcntl(STDOUT_FILENO, F_DUPFD_CLOEXEC, 3);
	if (out_fd < 0 || dup2(STDERR_FILENO, STDOUT_FILENO) < 0)
		die_errno("mcp: cannot set the channel aside");
	m->out = fdopen(out_fd, "w");
	if (!m->out)
		die_errno("mcp: cannot set the channel aside");
	signal(SIGPIPE, SIG_IGN);
	sigemptyset(&mask);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGHUP);
	if (sigprocmask(SIG_BLOCK, &mask, NULL) < 0)
		die_errno("mcp: cannot block signals");
	m->sigfd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
	if (m->sigfd < 0)
		die_errno("mcp: cannot watch signals");
}

/* An attached session must be live now, or every run would fail. 0, or the exit status. */
static int check_live(struct mcp *m)
{
	cJSON *meta = store_read_meta(&m->s);
	const char *state = meta ? session_state(&m->s, meta) : "unknown";
	int rc = 0;

	if (strcmp(state, "live") != 0) {
		error("mcp: session %s is not live (%s); 'airlock start' begins one", m->s.id,
		      state);
		rc = EXIT_AIRLOCK_FAILED;
	}
	cJSON_Delete(meta);
	return rc;
}

/* Stop the session if we started it (id: its ID, should it not have been found). */
static void finish_mcp(struct mcp *m, char *id)
{
	if (m->s.id)
		stop_session(m);
	else if (m->started && id) {
		m->s.id = id;
		stop_session(m);
		m->s.id = NULL;
	}
	if (m->s.dir)
		store_close(&m->s);
	fclose(m->out);
	close(m->sigfd);
}

int cmd_mcp(int argc, char **argv)
{
	struct mcp m = {.s = {.lock_fd = -1}, .sigfd = -1};
	const char *session = NULL;
	cleanup_free char *id = NULL;
	int rc = parse_mcp_args(argc, argv, &session);

	if (rc >= 0)
		return rc;
	err_set_die_status(EXIT_AIRLOCK_FAILED);
	setup_channel(&m);
	if (!session) {
		rc = start_session(argc, argv, &id);
		if (rc != 0)
			return rc;
		session = id;
		m.started = true;
	}
	if (store_find(session, &m.s) < 0)
		rc = EXIT_AIRLOCK_FAILED;
	else if (!m.started)
		rc = check_live(&m);
	if (rc == 0) {
		fprintf(stderr, "airlock: mcp: serving session %s%s\n", m.s.id,
			m.started ? " (stopped when the client leaves)" : "");
		serve(&m);
	}
	finish_mcp(&m, id);
	return rc;
}
