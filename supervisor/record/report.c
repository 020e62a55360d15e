/* SPDX-License-Identifier: MIT */
/* A session's report: its changes (with the processes that made them), commands, connections. */
#include "supervisor/record/report.h"

#include "common/buf.h"
#include "common/cleanup.h"
#include "common/err.h"
#include "common/json.h"
#include "common/utf8.h"
#include "supervisor/changeset/gate.h"
#include "supervisor/record/session.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* Which processes wrote which path, from the event log: sorted (path, argv) pairs. */
struct writer {
	char *path;
	char *argv;
	long long exec_seq; /* the exec event that started the writer's program, -1 */
};

struct writers {
	struct writer *w;
	size_t n, cap;
};

static int cmp_writer(const void *a, const void *b)
{
	const struct writer *x = a, *y = b;
	int c = strcmp(x->path, y->path);

	if (c == 0)
		c = strcmp(x->argv, y->argv);
	return c ? c : (x->exec_seq > y->exec_seq) - (x->exec_seq < y->exec_seq);
}

static void add_writer(struct writers *ws, const char *path, const char *argv, long long exec_seq)
{
	GROW(ws->w, ws->cap, ws->n + 1);
	ws->w[ws->n].path = xstrdup(path);
	ws->w[ws->n].argv = xstrdup(argv);
	ws->w[ws->n].exec_seq = exec_seq;
	ws->n++;
}

struct writers *report_read_events(const struct session *s, cJSON *commands, cJSON *connections)
{
	struct writers *ws = xcalloc(1, sizeof(*ws));
	cleanup_free char *path = session_path(s, "events.jsonl");
	cleanup_file FILE *f = fopen(path, "re");
	cleanup_free char *line = NULL;
	size_t cap = 0;

	if (!f)
		return ws;
	while (getline(&line, &cap, f) > 0) {
		cJSON *ev = cJSON_Parse(line);
		const char *cls = ev ? meta_str(ev, "class") : NULL;

		if (!cls) {
			cJSON_Delete(ev);
			continue;
		}
		if (strcmp(cls, "write") == 0) {
			cleanup_free char *who =
				join_argv(cJSON_GetObjectItemCaseSensitive(ev, "argv"));
			const char *t1 = meta_str(ev, "target");
			const char *t2 = meta_str(ev, "target2");
			double seq = meta_num(ev, "exec_seq", -1);
			long long es = seq >= 0 && seq < 1e18 ? (long long)seq : -1;

			if (t1)
				add_writer(ws, t1, who, es);
			if (t2)
				add_writer(ws, t2, who, es);
		} else if (strcmp(cls, "exec") == 0 && commands) {
			cJSON *c = cJSON_CreateObject();

			json_copy(c, "argv", ev, "command");
			json_copy(c, "path", ev, "target");
			cJSON_AddStringToObject(c, "decision", meta_str(ev, "decision") ?: "?");
			cJSON_AddStringToObject(c, "by", meta_str(ev, "by") ?: "?");
			cJSON_AddNumberToObject(c, "pid", meta_num(ev, "pid", 0));
			cJSON_AddStringToObject(c, "time", meta_str(ev, "time") ?: "");
			json_copy(c, "seq", ev, "seq");
			if (cJSON_GetObjectItemCaseSensitive(ev, "deferred")) {
				json_copy(c, "deferred", ev, "deferred");
				json_copy(c, "cwd", ev, "cwd");
			}
			cJSON_AddItemToArray(commands, c);
		} else if (strcmp(cls, "connect") == 0 && connections) {
			cJSON *c = cJSON_CreateObject();

			cJSON_AddStringToObject(c, "target", meta_str(ev, "target") ?: "?");
			json_copy(c, "name", ev, "name");
			/* Every name the address was looked up under, when not just name. */
			if (cJSON_GetObjectItemCaseSensitive(ev, "names"))
				json_copy(c, "names", ev, "names");
			json_copy(c, "address", ev, "address");
			json_copy(c, "port", ev, "port");
			json_copy(c, "protocol", ev, "protocol");
			cJSON_AddStringToObject(c, "op", meta_str(ev, "op") ?: "?");
			cJSON_AddStringToObject(c, "decision", meta_str(ev, "decision") ?: "?");
			cJSON_AddStringToObject(c, "by", meta_str(ev, "by") ?: "?");
			json_copy(c, "argv", ev, "argv");
			cJSON_AddItemToArray(connections, c);
		}
		cJSON_Delete(ev);
	}
	if (ws->n)
		qsort(ws->w, ws->n, sizeof(*ws->w), cmp_writer);
	return ws;
}

size_t writers_each(const struct writers *ws, const char *path,
		    void (*fn)(void *ctx, const char *argv, long long exec_seq), void *ctx)
{
	size_t lo = 0, hi = ws->n, count = 0;
	const struct writer *last = NULL;

	while (lo < hi) {
		size_t mid = (lo + hi) / 2;

		if (strcmp(ws->w[mid].path, path) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	for (; lo < ws->n && strcmp(ws->w[lo].path, path) == 0; lo++) {
		if (last && strcmp(last->argv, ws->w[lo].argv) == 0 &&
		    last->exec_seq == ws->w[lo].exec_seq)
			continue;
		last = &ws->w[lo];
		fn(ctx, last->argv, last->exec_seq);
		count++;
	}
	return count;
}

/* Each distinct command line once (two programs may have run the same one). */
static void add_string(void *arr, const char *s, long long exec_seq)
{
	const cJSON *end = cJSON_GetArrayItem(arr, cJSON_GetArraySize(arr) - 1);

	(void)exec_seq;
	if (!end || strcmp(end->valuestring, s) != 0)
		cJSON_AddItemToArray(arr, cJSON_CreateString(s));
}

/* The distinct processes that wrote path, as a JSON array of command lines. */
static cJSON *writers_of(const struct writers *ws, const char *path)
{
	cJSON *arr = cJSON_CreateArray();

	writers_each(ws, path, add_string, arr);
	return arr;
}

const char *report_type_name(mode_t m)
{
	if (m == 0)
		return NULL;
	if (S_ISREG(m))
		return "file";
	if (S_ISDIR(m))
		return "dir";
	if (S_ISLNK(m))
		return "symlink";
	if (S_ISFIFO(m))
		return "fifo";
	if (S_ISSOCK(m))
		return "socket";
	return "device";
}

static cJSON *change_json(const struct change *c, const struct writers *ws, struct gate *g)
{
	struct gate_verdict v;
	cJSON *o = cJSON_CreateObject();
	cleanup_free char *path = utf8_sanitize(c->path);
	const char *t = report_type_name(c->mode), *ot = report_type_name(c->old_mode);
	char mode[8];

	cJSON_AddStringToObject(o, "path", path);
	cJSON_AddStringToObject(o, "kind", change_kind_name(c->kind));
	if (t)
		cJSON_AddStringToObject(o, "type", t);
	else
		cJSON_AddNullToObject(o, "type");
	if (ot)
		cJSON_AddStringToObject(o, "old_type", ot);
	else
		cJSON_AddNullToObject(o, "old_type");
	cJSON_AddNumberToObject(o, "size", (double)c->size);
	if (c->mode) {
		snprintf(mode, sizeof(mode), "%04o", (unsigned)(c->mode & 07777));
		cJSON_AddStringToObject(o, "mode", mode);
	} else {
		cJSON_AddNullToObject(o, "mode");
	}
	if (c->old_mode) {
		snprintf(mode, sizeof(mode), "%04o", (unsigned)(c->old_mode & 07777));
		cJSON_AddStringToObject(o, "old_mode", mode);
	} else {
		cJSON_AddNullToObject(o, "old_mode");
	}
	if (c->link_target) {
		cleanup_free char *lt = utf8_sanitize(c->link_target);

		cJSON_AddStringToObject(o, "link_target", lt);
	}
	cJSON_AddItemToObject(o, "by", writers_of(ws, path));
	gate_classify(g, c->path, &v);
	cJSON_AddStringToObject(o, "state", gate_state_name(v.state));
	if (v.risk)
		cJSON_AddStringToObject(o, "risk", v.risk);
	else
		cJSON_AddNullToObject(o, "risk");
	return o;
}

void writers_free(struct writers *ws)
{
	size_t i;

	if (!ws)
		return;
	for (i = 0; i < ws->n; i++) {
		free(ws->w[i].path);
		free(ws->w[i].argv);
	}
	free(ws->w);
	free(ws);
}

void report_add(cJSON *out, const struct session *s, const cJSON *meta, struct change_set *cs,
		bool scanned)
{
	cJSON *changes = cJSON_AddArrayToObject(out, "changes");
	cJSON *commands = cJSON_CreateArray();
	cJSON *conns = cJSON_CreateArray();
	struct writers *ws = report_read_events(s, commands, conns);
	struct gate g;
	size_t i;

	if (!scanned && strcmp(session_state(s, meta), "discarded") != 0) {
		if (session_scan_changes(s, meta, cs) < 0)
			warn("the change set of %s could not be read completely", s->id);
	}
	gate_open(&g, s, meta);
	for (i = 0; i < cs->n; i++)
		cJSON_AddItemToArray(changes, change_json(&cs->items[i], ws, &g));
	gate_close(&g);
	cJSON_AddItemToObject(out, "commands", commands);
	cJSON_AddItemToObject(out, "connections", conns);
	writers_free(ws);
}
