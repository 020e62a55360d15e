/* SPDX-License-Identifier: MIT */
/* `airlock list`, `airlock show` and `airlock discard`: reading and retiring sessions. */
#include "supervisor/cli.h"

#include "common/buf.h"
#include "common/cleanup.h"
#include "common/err.h"
#include "common/path.h"
#include "common/utf8.h"
#include "supervisor/changes.h"
#include "supervisor/events.h"
#include "supervisor/session.h"
#include "supervisor/store.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Print untrusted text for a terminal: escapes instead of control sequences. */
static void put_safe(FILE *f, const char *s)
{
	cleanup_free char *clean = term_sanitize(s ? s : "");

	fputs(clean, f);
}

/* Join a JSON array of strings with spaces (for display). Caller frees. */
static char *join_argv(const cJSON *arr)
{
	struct buf b = BUF_INIT;
	const cJSON *a;

	buf_init(&b);
	cJSON_ArrayForEach(a, arr)
	{
		if (!cJSON_IsString(a))
			continue;
		if (b.len)
			buf_addc(&b, ' ');
		buf_adds(&b, a->valuestring);
	}
	return buf_detach(&b);
}

/* Parse "[ID] [--json]" for list/show. Returns -1 to go on, or an exit status. */
static int parse_id_json(int argc, char **argv, const char *usage, const char **id, bool *json)
{
	static const struct option opts[] = {
		{"json", no_argument, NULL, 'j'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	int c;

	*id = NULL;
	*json = false;
	optind = 1;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (c == 'j') {
			*json = true;
		} else if (c == 'h') {
			printf("usage: %s\n", usage);
			return 0;
		} else {
			return usage_error("usage: %s", usage);
		}
	}
	if (argc - optind > 1)
		return usage_error("usage: %s", usage);
	if (optind < argc)
		*id = argv[optind];
	return -1;
}

int cmd_list(int argc, char **argv)
{
	const char *id;
	bool json;
	char **ids;
	size_t n, i;
	cJSON *out;
	int rc = parse_id_json(argc, argv, "airlock list [--json]", &id, &json);

	if (rc >= 0)
		return rc;
	if (id)
		return usage_error("usage: airlock list [--json]");
	if (store_list(&ids, &n) < 0)
		return EXIT_REFUSED;
	out = cJSON_CreateArray();
	if (!json && n > 0)
		printf("%-18s  %-11s  %7s  %s\n", "ID", "STATE", "CHANGES", "COMMAND");
	for (i = 0; i < n; i++) {
		struct session s = {.id = ids[i], .lock_fd = -1};
		cleanup_free char *root = store_root();
		cleanup_free char *sdir = NULL, *cmd = NULL;
		cJSON *meta;
		const char *state;
		double changes;

		sdir = xasprintf("%s/sessions/%s", root, ids[i]);
		s.dir = sdir;
		meta = store_read_meta(&s);
		if (!meta) {
			free(ids[i]);
			continue;
		}
		state = session_state(&s, meta);
		changes = meta_num(meta, "changes", -1);
		cmd = join_argv(cJSON_GetObjectItemCaseSensitive(meta, "command"));
		if (json) {
			cJSON *o = cJSON_CreateObject();

			cJSON_AddStringToObject(o, "session", ids[i]);
			cJSON_AddStringToObject(o, "state", state);
			if (changes >= 0)
				cJSON_AddNumberToObject(o, "changes", changes);
			else
				cJSON_AddNullToObject(o, "changes");
			cJSON_AddItemToObject(o, "command",
					      cJSON_Duplicate(cJSON_GetObjectItemCaseSensitive(
								      meta, "command"),
							      true));
			cJSON_AddItemToObject(o, "start",
					      cJSON_Duplicate(cJSON_GetObjectItemCaseSensitive(
								      meta, "start"),
							      true));
			cJSON_AddItemToObject(o, "exit_code",
					      cJSON_Duplicate(cJSON_GetObjectItemCaseSensitive(
								      meta, "exit_code"),
							      true));
			cJSON_AddItemToArray(out, o);
		} else {
			char ch[32] = "-";

			if (changes >= 0)
				snprintf(ch, sizeof(ch), "%.0f", changes);
			printf("%-18s  %-11s  %7s  ", ids[i], state, ch);
			/* One line a session: long commands (python3 -c '...') are cut. */
			if (strlen(cmd) > 72)
				strcpy(cmd + 69, "...");
			put_safe(stdout, cmd);
			putchar('\n');
		}
		cJSON_Delete(meta);
		free(ids[i]);
	}
	free(ids);
	if (json) {
		cleanup_free char *text = cJSON_Print(out);

		puts(text);
	}
	cJSON_Delete(out);
	return 0;
}

/* Which processes wrote which path, from the event log: sorted (path, argv) pairs. */
struct writer {
	char *path;
	char *argv;
};

struct writers {
	struct writer *w;
	size_t n, cap;
};

static int cmp_writer(const void *a, const void *b)
{
	const struct writer *x = a, *y = b;
	int c = strcmp(x->path, y->path);

	return c ? c : strcmp(x->argv, y->argv);
}

static void add_writer(struct writers *ws, const char *path, const char *argv)
{
	GROW(ws->w, ws->cap, ws->n + 1);
	ws->w[ws->n].path = xstrdup(path);
	ws->w[ws->n].argv = xstrdup(argv);
	ws->n++;
}

/* Read events.jsonl, filling writers, commands and connections. */
static void read_events(const struct session *s, struct writers *ws, cJSON *commands,
			cJSON *connections)
{
	cleanup_free char *path = session_path(s, "events.jsonl");
	cleanup_file FILE *f = fopen(path, "re");
	cleanup_free char *line = NULL;
	size_t cap = 0;

	if (!f)
		return;
	while (getline(&line, &cap, f) > 0) {
		cJSON *ev = cJSON_Parse(line);
		const char *cls = ev ? meta_str(ev, "class") : NULL;

		if (!cls) {
			cJSON_Delete(ev);
			continue;
		}
		if (strcmp(cls, "write") == 0) {
			cleanup_free char *who = join_argv(cJSON_GetObjectItemCaseSensitive(ev, "argv"));
			const char *t1 = meta_str(ev, "target");
			const char *t2 = meta_str(ev, "target2");

			if (t1)
				add_writer(ws, t1, who);
			if (t2)
				add_writer(ws, t2, who);
		} else if (strcmp(cls, "exec") == 0) {
			cJSON *c = cJSON_CreateObject();

			cJSON_AddItemToObject(c, "argv",
					      cJSON_Duplicate(cJSON_GetObjectItemCaseSensitive(
								      ev, "command"),
							      true));
			cJSON_AddItemToObject(c, "path",
					      cJSON_Duplicate(cJSON_GetObjectItemCaseSensitive(
								      ev, "target"),
							      true));
			cJSON_AddStringToObject(c, "decision", meta_str(ev, "decision") ?: "?");
			cJSON_AddStringToObject(c, "by", meta_str(ev, "by") ?: "?");
			cJSON_AddNumberToObject(c, "pid", meta_num(ev, "pid", 0));
			cJSON_AddStringToObject(c, "time", meta_str(ev, "time") ?: "");
			cJSON_AddItemToArray(commands, c);
		} else if (strcmp(cls, "connect") == 0) {
			cJSON *c = cJSON_CreateObject();

			cJSON_AddStringToObject(c, "target", meta_str(ev, "target") ?: "?");
			cJSON_AddNullToObject(c, "name");
			cJSON_AddStringToObject(c, "op", meta_str(ev, "op") ?: "?");
			cJSON_AddStringToObject(c, "decision", meta_str(ev, "decision") ?: "?");
			cJSON_AddStringToObject(c, "by", meta_str(ev, "by") ?: "?");
			cJSON_AddItemToObject(c, "argv",
					      cJSON_Duplicate(cJSON_GetObjectItemCaseSensitive(
								      ev, "argv"),
							      true));
			cJSON_AddItemToArray(connections, c);
		}
		cJSON_Delete(ev);
	}
	if (ws->n)
		qsort(ws->w, ws->n, sizeof(*ws->w), cmp_writer);
}

/* The distinct processes that wrote path, as a JSON array of command lines. */
static cJSON *writers_of(const struct writers *ws, const char *path)
{
	cJSON *arr = cJSON_CreateArray();
	size_t lo = 0, hi = ws->n;
	const char *last = NULL;

	while (lo < hi) {
		size_t mid = (lo + hi) / 2;

		if (strcmp(ws->w[mid].path, path) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	for (; lo < ws->n && strcmp(ws->w[lo].path, path) == 0; lo++) {
		if (last && strcmp(last, ws->w[lo].argv) == 0)
			continue;
		last = ws->w[lo].argv;
		cJSON_AddItemToArray(arr, cJSON_CreateString(last));
	}
	return arr;
}

static const char *type_name(mode_t m)
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

static cJSON *change_json(const struct change *c, const struct writers *ws)
{
	cJSON *o = cJSON_CreateObject();
	cleanup_free char *path = utf8_sanitize(c->path);
	const char *t = type_name(c->mode), *ot = type_name(c->old_mode);
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
	return o;
}

static void free_writers(struct writers *ws)
{
	size_t i;

	for (i = 0; i < ws->n; i++) {
		free(ws->w[i].path);
		free(ws->w[i].argv);
	}
	free(ws->w);
}

static void copy_field(cJSON *dst, const cJSON *meta, const char *key)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(meta, key);

	cJSON_AddItemToObject(dst, key, v ? cJSON_Duplicate(v, true) : cJSON_CreateNull());
}

static void print_size(off_t size)
{
	if (size < 10240)
		printf("%7lld B", (long long)size);
	else if (size < 10485760)
		printf("%5.1f KiB", (double)size / 1024);
	else
		printf("%5.1f MiB", (double)size / 1048576);
}

static void print_show_text(const cJSON *out, const struct change_set *cs)
{
	const cJSON *changes = cJSON_GetObjectItemCaseSensitive(out, "changes");
	const cJSON *commands = cJSON_GetObjectItemCaseSensitive(out, "commands");
	const cJSON *conns = cJSON_GetObjectItemCaseSensitive(out, "connections");
	cleanup_free char *cmd = join_argv(cJSON_GetObjectItemCaseSensitive(out, "command"));
	const cJSON *c;
	size_t i = 0;

	printf("session   %s (%s", meta_str(out, "session"), meta_str(out, "state"));
	if (cJSON_IsNumber(cJSON_GetObjectItemCaseSensitive(out, "exit_code")))
		printf(", exit %.0f", meta_num(out, "exit_code", 0));
	printf(")\ncommand   ");
	put_safe(stdout, cmd);
	printf("\ncwd       ");
	put_safe(stdout, meta_str(out, "cwd"));
	printf("\nstarted   %s", meta_str(out, "start") ?: "?");
	if (meta_num(out, "duration_ms", -1) >= 0)
		printf(", ran %.2f s", meta_num(out, "duration_ms", 0) / 1000.0);
	printf("\n\nchanges (%d)\n", cJSON_GetArraySize(changes));
	cJSON_ArrayForEach(c, changes)
	{
		const struct change *ch = &cs->items[i++];
		cleanup_free char *by = NULL;
		const cJSON *w = cJSON_GetObjectItemCaseSensitive(c, "by");

		printf("  %-15s ", change_kind_name(ch->kind));
		if (S_ISREG(ch->mode))
			print_size(ch->size);
		else
			printf("%9s", "");
		printf("  ");
		put_safe(stdout, ch->path);
		if (ch->kind == CHANGE_SYMLINK_ADDED || ch->kind == CHANGE_SYMLINK_CHANGED) {
			printf(" -> ");
			put_safe(stdout, ch->link_target);
		}
		if (cJSON_GetArraySize(w) > 0) {
			printf("   (by ");
			put_safe(stdout, cJSON_GetArrayItem(w, 0)->valuestring);
			if (cJSON_GetArraySize(w) > 1)
				printf(" and %d more", cJSON_GetArraySize(w) - 1);
			putchar(')');
		}
		putchar('\n');
	}
	printf("\ncommands (%d)\n", cJSON_GetArraySize(commands));
	cJSON_ArrayForEach(c, commands)
	{
		cleanup_free char *argv = join_argv(cJSON_GetObjectItemCaseSensitive(c, "argv"));

		printf("  %-6s ", meta_str(c, "decision"));
		put_safe(stdout, argv);
		putchar('\n');
	}
	printf("\nconnections (%d)\n", cJSON_GetArraySize(conns));
	cJSON_ArrayForEach(c, conns)
	{
		printf("  %-6s ", meta_str(c, "decision"));
		put_safe(stdout, meta_str(c, "target"));
		printf("  (%s)\n", meta_str(c, "op"));
	}
}

int cmd_show(int argc, char **argv)
{
	const char *id;
	bool json;
	struct session s;
	struct change_set cs = {0};
	struct writers ws = {0};
	cJSON *meta, *out, *changes, *commands, *conns;
	size_t i;
	int rc = parse_id_json(argc, argv, "airlock show [ID] [--json]", &id, &json);

	if (rc >= 0)
		return rc;
	/* Reading needs no lock: a running session can be looked at as it goes. */
	rc = store_open(id, false, &s);
	if (rc == -EBUSY) {
		rc = 0;
	}
	if (rc < 0 && !s.id)
		return EXIT_REFUSED;
	meta = store_read_meta(&s);
	if (!meta) {
		store_close(&s);
		return EXIT_REFUSED;
	}
	out = cJSON_CreateObject();
	cJSON_AddStringToObject(out, "session", s.id);
	cJSON_AddStringToObject(out, "state", session_state(&s, meta));
	copy_field(out, meta, "command");
	copy_field(out, meta, "cwd");
	copy_field(out, meta, "start");
	copy_field(out, meta, "end");
	copy_field(out, meta, "duration_ms");
	copy_field(out, meta, "exit_code");
	copy_field(out, meta, "signal");
	copy_field(out, meta, "limit");
	copy_field(out, meta, "script");
	changes = cJSON_AddArrayToObject(out, "changes");
	commands = cJSON_CreateArray();
	conns = cJSON_CreateArray();
	read_events(&s, &ws, commands, conns);
	if (strcmp(session_state(&s, meta), "discarded") != 0) {
		if (session_scan_changes(&s, meta, &cs) < 0)
			warn("the change set of %s could not be read completely", s.id);
	}
	for (i = 0; i < cs.n; i++)
		cJSON_AddItemToArray(changes, change_json(&cs.items[i], &ws));
	cJSON_AddItemToObject(out, "commands", commands);
	cJSON_AddItemToObject(out, "connections", conns);
	if (json) {
		cleanup_free char *text = cJSON_Print(out);

		puts(text);
	} else {
		print_show_text(out, &cs);
	}
	cJSON_Delete(out);
	cJSON_Delete(meta);
	change_set_free(&cs);
	free_writers(&ws);
	store_close(&s);
	return 0;
}

int cmd_discard(int argc, char **argv)
{
	static const char *const dirs[] = {"upper", "work", "scratch", "scratch-work", "root"};
	static const char usage[] = "airlock discard [ID]";
	struct session s;
	struct event_log log;
	cleanup_free char *events = NULL;
	cJSON *meta, *ev;
	size_t i;
	int rc = 0;

	if (argc > 2 || (argc == 2 && argv[1][0] == '-' && strcmp(argv[1], "-") != 0)) {
		if (argc == 2 && strcmp(argv[1], "--help") == 0) {
			printf("usage: %s\n", usage);
			return 0;
		}
		return usage_error("usage: %s", usage);
	}
	if (store_open(argc == 2 ? argv[1] : NULL, true, &s) < 0)
		return EXIT_REFUSED;
	meta = store_read_meta(&s);
	if (!meta) {
		store_close(&s);
		return EXIT_REFUSED;
	}
	if (strcmp(session_state(&s, meta), "discarded") == 0) {
		printf("session %s was already discarded\n", s.id);
		goto out;
	}
	events = session_path(&s, "events.jsonl");
	if (events_open(&log, events) == 0) {
		ev = cJSON_CreateObject();
		cJSON_AddStringToObject(ev, "class", "session");
		cJSON_AddStringToObject(ev, "op", "discard");
		cJSON_AddStringToObject(ev, "decision", "discard");
		cJSON_AddStringToObject(ev, "by", "person");
		events_append(&log, ev);
		events_close(&log);
	}
	for (i = 0; i < ARRAY_SIZE(dirs); i++) {
		cleanup_free char *d = session_path(&s, dirs[i]);
		int r = rm_rf(d);

		if (r < 0) {
			errno = -r;
			rc = error_errno("cannot remove %s", d);
		}
	}
	cJSON_ReplaceItemInObjectCaseSensitive(meta, "state", cJSON_CreateString("discarded"));
	if (store_write_meta(&s, meta, true) < 0)
		rc = -1;
	if (rc == 0)
		printf("discarded session %s (its record is kept)\n", s.id);
out:
	cJSON_Delete(meta);
	store_close(&s);
	return rc == 0 ? 0 : EXIT_REFUSED;
}
