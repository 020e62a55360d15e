/* SPDX-License-Identifier: MIT */
/* `airlock list`, `airlock show` and `airlock discard`: reading and retiring sessions. */
#include "supervisor/cli/cli.h"

#include "common/buf.h"
#include "common/cleanup.h"
#include "common/err.h"
#include "common/json.h"
#include "common/path.h"
#include "common/strvec.h"
#include "common/utf8.h"
#include "supervisor/record/seal.h"
#include "supervisor/changeset/changes.h"
#include "supervisor/record/events.h"
#include "supervisor/record/report.h"
#include "supervisor/record/session.h"
#include "supervisor/record/store.h"

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

int parse_id_args(int argc, char **argv, const char *usage, const char **id, bool *json)
{
	static const struct option opts[] = {
		{"json", no_argument, NULL, 'j'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	int c, first = (int)strcspn(usage, "\n"); /* errors show the first line only */

	*id = NULL;
	if (json)
		*json = false;
	optind = 1;
	opterr = 0; /* our own messages, with a suggestion for a near miss */
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		if (c == 'j' && json) {
			*json = true;
		} else if (c == 'h') {
			printf("usage: %s\n", usage);
			return 0;
		} else {
			char cmd[32];
			const char *w = usage + strcspn(usage, " ") + 1; /* after "airlock " */

			snprintf(cmd, sizeof(cmd), "%.*s", (int)strcspn(w, " \n"), w);
			return option_error(cmd, argv[optind - 1], json ? opts : opts + 1, usage);
		}
	}
	if (argc - optind > 1)
		return usage_error("usage: %.*s", first, usage);
	if (optind < argc)
		*id = argv[optind];
	return -1;
}

int cmd_list(int argc, char **argv)
{
	const char *id;
	bool json;
	cleanup_strvec struct strvec list = STRVEC_INIT;
	char **ids;
	size_t n, i;
	cJSON *out;
	int rc = parse_id_args(argc, argv, "airlock list [--json]", &id, &json);

	if (rc >= 0)
		return rc;
	if (id)
		return usage_error("usage: airlock list [--json]");
	if (store_list(&list) < 0)
		return EXIT_REFUSED;
	ids = list.v;
	n = list.n;
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
		if (!meta)
			continue;
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
			json_copy(o, "command", meta, "command");
			json_copy(o, "start", meta, "start");
			json_copy(o, "exit_code", meta, "exit_code");
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
	}
	if (json) {
		cleanup_free char *text = cJSON_Print(out);

		puts(text);
	}
	cJSON_Delete(out);
	return 0;
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

/* The commit and undo lines: who, when, and what was applied and left out. */
static void print_commit_text(const cJSON *out)
{
	const cJSON *c = cJSON_GetObjectItemCaseSensitive(out, "commit");
	const cJSON *u = cJSON_GetObjectItemCaseSensitive(out, "undo");

	if (cJSON_IsObject(c)) {
		printf("\ncommitted %s by ", meta_str(c, "time") ?: "?");
		put_safe(stdout, meta_str(c, "user") ?: "?");
		printf(": %.0f applied", meta_num(c, "applied", 0));
		if (meta_num(c, "left", 0) > 0) {
			printf(", %.0f left out", meta_num(c, "left", 0));
			if (meta_num(c, "hidden", 0) > 0)
				printf(" (%.0f hidden)", meta_num(c, "hidden", 0));
		}
		if (meta_num(c, "forced", 0) > 0)
			printf(", %.0f conflicts forced", meta_num(c, "forced", 0));
	}
	if (cJSON_IsObject(u)) {
		printf("\nundone    %s by ", meta_str(u, "time") ?: "?");
		put_safe(stdout, meta_str(u, "user") ?: "?");
		if (meta_num(u, "forced", 0) > 0)
			printf(", over %.0f later host changes (--force)",
			       meta_num(u, "forced", 0));
	}
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
	print_commit_text(out);
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
		/* The state, and a risk where the person looks (the reason is a rules file's). */
		printf("   [%s", meta_str(c, "state") ?: "?");
		if (meta_str(c, "risk")) {
			printf(", flagged: ");
			put_safe(stdout, meta_str(c, "risk"));
		}
		putchar(']');
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
		/* A deferred command waits for `commit --run N`, or the review. */
		if (meta_num(c, "deferred", 0) >= 1) {
			/* What would run: the program, where, and that the environment is the
			   person's (deferred.h). */
			printf("   (deferred %.0f)\n         runs ", meta_num(c, "deferred", 0));
			put_safe(stdout, meta_str(c, "path"));
			printf(" in ");
			put_safe(stdout, meta_str(c, "cwd"));
			printf(", with your environment");
		}
		putchar('\n');
	}
	printf("\nconnections (%d)\n", cJSON_GetArraySize(conns));
	cJSON_ArrayForEach(c, conns)
	{
		const char *name = meta_str(c, "name");
		const cJSON *names;

		printf("  %-6s ", meta_str(c, "decision"));
		if (name) {
			put_safe(stdout, name);
			printf(" = ");
		}
		put_safe(stdout, meta_str(c, "target"));
		printf("  (%s, %s)", meta_str(c, "op"), meta_str(c, "by"));
		names = cJSON_GetObjectItemCaseSensitive(c, "names");
		if (cJSON_GetArraySize(names) > 0) {
			const cJSON *x;
			const char *sep = "  looked up as ";

			cJSON_ArrayForEach(x, names)
			{
				if (!cJSON_IsString(x))
					continue;
				fputs(sep, stdout);
				put_safe(stdout, x->valuestring);
				sep = ", ";
			}
		}
		putchar('\n');
	}
}

int cmd_show(int argc, char **argv)
{
	/* The members of meta.json that the report shows as they are. */
	static const char *const copied[] = {
		"command", "cwd",   "start",  "end",	"duration_ms", "exit_code",
		"signal",  "limit", "script", "commit", "undo",
	};
	const char *id;
	bool json;
	struct session s;
	struct change_set cs = {0};
	cJSON *meta, *out;
	size_t i;
	int rc = parse_id_args(argc, argv, "airlock show [ID] [--json]", &id, &json);

	if (rc >= 0)
		return rc;
	/* Reading needs no lock: a running session can be looked at as it goes. */
	if (store_find(id, &s) < 0)
		return EXIT_REFUSED;
	meta = store_read_meta(&s);
	if (!meta) {
		store_close(&s);
		return EXIT_REFUSED;
	}
	out = cJSON_CreateObject();
	cJSON_AddStringToObject(out, "session", s.id);
	cJSON_AddStringToObject(out, "state", session_state(&s, meta));
	for (i = 0; i < ARRAY_SIZE(copied); i++)
		json_copy(out, copied[i], meta, copied[i]);
	report_add(out, &s, meta, &cs, false);
	if (json) {
		cleanup_free char *text = cJSON_Print(out);

		puts(text);
	} else {
		print_show_text(out, &cs);
	}
	cJSON_Delete(out);
	cJSON_Delete(meta);
	change_set_free(&cs);
	store_close(&s);
	return 0;
}

int cmd_discard(int argc, char **argv)
{
	static const char *const dirs[] = {"upper", "work", "scratch", "scratch-work", "root"};
	static const char usage[] = "airlock discard [ID]";
	const char *id;
	struct session s;
	struct event_log log;
	cleanup_free char *events = NULL;
	cJSON *meta;
	size_t i;
	int rc = 0;

	rc = parse_id_args(argc, argv, usage, &id, NULL);
	if (rc >= 0)
		return rc;
	rc = 0;
	if (store_open(id, true, &s) < 0)
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
	/* The state first: the discard event seals meta.json as it is written below. */
	cJSON_ReplaceItemInObjectCaseSensitive(meta, "state", cJSON_CreateString("discarded"));
	events = session_path(&s, "events.jsonl");
	if (seal_open_log(&log, events, meta) == 0) {
		seal_meta(meta, &log, seal_session_event("discard", NULL, "person"));
		events_close(&log);
	}
	for (i = 0; i < ARRAY_SIZE(dirs); i++) {
		cleanup_free char *d = session_path(&s, dirs[i]);
		int r = rm_rf(d);

		if (r < 0)
			rc = error_rc(r, "cannot remove %s", d);
	}
	if (store_write_meta(&s, meta, true) < 0)
		rc = -1;
	if (rc == 0)
		printf("discarded session %s (its record is kept)\n", s.id);
out:
	cJSON_Delete(meta);
	store_close(&s);
	return rc == 0 ? 0 : EXIT_REFUSED;
}
