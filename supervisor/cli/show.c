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
#include "supervisor/changeset/deferred.h"
#include "supervisor/changeset/diff.h"
#include "supervisor/changeset/renames.h"
#include "supervisor/record/events.h"
#include "supervisor/record/report.h"
#include "supervisor/record/session.h"
#include "supervisor/record/store.h"

#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* show's colours: a decision as log has them, a heading bold. */
static bool colour;

static void put_decision(const char *d, int width)
{
	const char *c = !d			  ? ""
			: strcmp(d, "allow") == 0 ? "\033[32m"
			: strcmp(d, "deny") == 0  ? "\033[31m"
						  : "\033[33m";
	int n = (int)strlen(d ? d : "");

	if (colour)
		printf("%s%s\033[m%*s", c, d ? d : "", width > n ? width - n : 0, "");
	else
		printf("%-*s", width, d ? d : "");
}

/* "changes (3)" */
static void heading(const char *what, int n)
{
	printf("%s%s (%d)%s\n", colour ? "\033[1m" : "", what, n, colour ? "\033[m" : "");
}

/* Print untrusted text for a terminal: escapes instead of control sequences. */
static void put_safe(FILE *f, const char *s)
{
	cleanup_free char *clean = term_sanitize(s ? s : "");

	fputs(clean, f);
}

int parse_id_args(int argc, char **argv, const char *usage, const char **id, bool *json)
{
	return parse_view_args(argc, argv, usage, id, json, NULL);
}

int parse_view_args(int argc, char **argv, const char *usage, const char **id, bool *json,
		    struct view_args *view)
{
	static const struct option opts[] = {
		{"json", no_argument, NULL, 'j'},	 {"help", no_argument, NULL, 'h'},
		{"color", optional_argument, NULL, 'c'}, {"no-color", no_argument, NULL, 'C'},
		{"no-pager", no_argument, NULL, 'P'},	 {NULL, 0, NULL, 0},
	};
	/* Without json, from "help" on; without view, to "help". */
	struct option shown[ARRAY_SIZE(opts)];
	size_t first_opt = json ? 0 : 1, last_opt = view ? ARRAY_SIZE(opts) - 1 : 2, i;
	int c;

	memset(shown, 0, sizeof(shown));
	for (i = first_opt; i < last_opt; i++)
		shown[i - first_opt] = opts[i];
	*id = NULL;
	if (json)
		*json = false;
	if (view)
		*view = (struct view_args){.colour = COLOUR_AUTO};
	optind = 1;
	opterr = 0; /* our own messages, with a suggestion for a near miss */
	while ((c = getopt_long(argc, argv, "h", shown, NULL)) != -1) {
		if (c == 'j' && json) {
			*json = true;
		} else if (c == 'h') {
			printf("usage: %s\n", usage);
			return 0;
		} else if (c == 'c' && view) {
			if (parse_colour_when(optarg, &view->colour) < 0)
				return usage_fail(usage, "--color takes auto, always or never");
		} else if (c == 'C' && view) {
			view->colour = COLOUR_NEVER;
		} else if (c == 'P' && view) {
			view->no_pager = true;
		} else {
			char cmd[32];
			const char *w = usage + strcspn(usage, " ") + 1; /* after "airlock " */

			snprintf(cmd, sizeof(cmd), "%.*s", (int)strcspn(w, " \n"), w);
			return option_error(cmd, argv[optind - 1], shown, usage);
		}
	}
	if (argc - optind > 1)
		return unexpected_arg(usage, argv[optind + 1]);
	if (optind < argc)
		*id = argv[optind];
	return -1;
}

/* Seconds since the recorded UTC time "2026-01-02T03:04:05.678Z"; -1 when it does not parse. */
static double seconds_since(const char *when)
{
	struct tm tm = {0};
	time_t t;

	if (!when || sscanf(when, "%4d-%2d-%2dT%2d:%2d:%2d", &tm.tm_year, &tm.tm_mon, &tm.tm_mday,
			    &tm.tm_hour, &tm.tm_min, &tm.tm_sec) != 6)
		return -1;
	tm.tm_year -= 1900;
	tm.tm_mon -= 1;
	t = timegm(&tm);
	if (t == (time_t)-1)
		return -1;
	return difftime(time(NULL), t);
}

/* "45s", "5m", "2h", "3d": how long ago, in the largest unit that is at least 1 (2 for days). */
static void format_age(double secs, char out[16])
{
	if (secs < 0)
		snprintf(out, 16, "-");
	else if (secs < 60)
		snprintf(out, 16, "%lds", (long)secs);
	else if (secs < 3600)
		snprintf(out, 16, "%ldm", (long)(secs / 60));
	else if (secs < 172800)
		snprintf(out, 16, "%ldh", (long)(secs / 3600));
	else
		snprintf(out, 16, "%ldd", (long)(secs / 86400));
}

/* How the session's program ended: its exit status, the limit that stopped it, the signal
   that killed it; "-" while it runs. Caller frees. */
static char *exit_text(const cJSON *meta)
{
	const char *limit = meta_str(meta, "limit");
	double sig = meta_num(meta, "signal", 0);

	if (limit)
		return term_sanitize(limit);
	if (sig > 0 && sig < 65) {
		const char *abbrev = sigabbrev_np((int)sig);

		return abbrev ? xasprintf("SIG%s", abbrev) : xasprintf("signal %.0f", sig);
	}
	if (cJSON_IsNumber(cJSON_GetObjectItemCaseSensitive(meta, "exit_code")))
		return xasprintf("%.0f", meta_num(meta, "exit_code", 0));
	return xstrdup("-");
}

static char *safe_cut(const char *s, unsigned cols);
static char *safe_cut_start(const char *s, unsigned cols);
static unsigned safe_columns(const char *clean);

/* The columns of the CWD column: a longer directory is cut at its start. */
#define CWD_COLUMNS 32
/* The columns of the COMMAND column before it is cut, as show cuts its "(by ...)". */
#define LIST_COMMAND_COLUMNS 72

/* The directory with the home directory as "~", and a long one cut at its start. */
static char *short_cwd(const char *cwd)
{
	const char *home = home_dir();
	cleanup_free char *shown = NULL;

	if (!cwd)
		return xstrdup("-");
	if (home && strcmp(home, "/") != 0 && path_is_under(cwd, home))
		shown = xasprintf("~%s%s", strcmp(cwd, home) == 0 ? "" : "/", path_rel(cwd, home));
	else
		shown = xstrdup(cwd);
	return safe_cut_start(shown, CWD_COLUMNS);
}

/* One row of `airlock list`, every string escaped for the terminal. */
struct list_row {
	char *id, *state, *exit, *cwd, *cmd;
	char changes[24], age[16];
};

/* Widths in columns, not bytes: a directory may hold wide characters, or escapes. */
static unsigned max_width(unsigned w, const char *s)
{
	unsigned n = safe_columns(s);

	return n > w ? n : w;
}

/* s (escaped already) and the spaces that make it w columns wide, then two more. */
static void put_padded(const char *s, unsigned w)
{
	unsigned n = safe_columns(s);

	fputs(s, stdout);
	printf("%*s", (int)(w - n + 2), "");
}

static void print_list_row(const struct list_row *r, const unsigned *w)
{
	put_padded(r->id, w[0]);
	put_padded(r->state, w[1]);
	put_padded(r->exit, w[2]);
	printf("%7s  %4s  ", r->changes, r->age);
	put_padded(r->cwd, w[3]);
	printf("%s\n", r->cmd);
}

static void print_list(const struct list_row *rows, size_t n)
{
	static const struct list_row head = {.id = (char *)"ID",
					     .state = (char *)"STATE",
					     .exit = (char *)"EXIT",
					     .cwd = (char *)"CWD",
					     .cmd = (char *)"COMMAND",
					     .changes = "CHANGES",
					     .age = "AGE"};
	unsigned w[4] = {2, 5, 4, 3};
	size_t i;

	for (i = 0; i < n; i++) {
		w[0] = max_width(w[0], rows[i].id);
		w[1] = max_width(w[1], rows[i].state);
		w[2] = max_width(w[2], rows[i].exit);
		w[3] = max_width(w[3], rows[i].cwd);
	}
	print_list_row(&head, w);
	for (i = 0; i < n; i++)
		print_list_row(&rows[i], w);
}

/* The command column: the argv, or for a live session its name and how many steps ran. */
static char *list_command(const cJSON *meta, const char *state)
{
	char *cmd = join_argv(cJSON_GetObjectItemCaseSensitive(meta, "command"));
	const cJSON *live = cJSON_GetObjectItemCaseSensitive(meta, "live");
	const char *name;
	double steps;

	if (cmd[0] || !cJSON_IsObject(live))
		return cmd;
	name = meta_str(live, "name");
	steps = meta_num(live, "steps", -1);
	free(cmd);
	if (steps >= 0 && strcmp(state, "finished") == 0)
		return xasprintf("(live session%s%s, %.0f step%s)", name ? " " : "",
				 name ? name : "", steps, steps == 1 ? "" : "s");
	return xasprintf("(live session%s%s)", name ? " " : "", name ? name : "");
}

/* One session as `airlock list --json` has it. */
static cJSON *list_json_row(const char *id, const cJSON *meta, const char *state, double changes,
			    double age)
{
	cJSON *o = cJSON_CreateObject();

	cJSON_AddStringToObject(o, "session", id);
	cJSON_AddStringToObject(o, "state", state);
	if (changes >= 0)
		cJSON_AddNumberToObject(o, "changes", changes);
	else
		cJSON_AddNullToObject(o, "changes");
	json_copy(o, "command", meta, "command");
	json_copy(o, "cwd", meta, "cwd");
	json_copy(o, "start", meta, "start");
	json_copy(o, "end", meta, "end");
	if (age >= 0)
		cJSON_AddNumberToObject(o, "age_s", (double)(long long)age);
	else
		cJSON_AddNullToObject(o, "age_s");
	json_copy(o, "exit_code", meta, "exit_code");
	json_copy(o, "signal", meta, "signal");
	json_copy(o, "limit", meta, "limit");
	if (cJSON_GetObjectItemCaseSensitive(meta, "live"))
		json_copy(o, "live", meta, "live");
	return o;
}

/* One session as a text row. */
static void fill_list_row(struct list_row *r, const char *id, const cJSON *meta, const char *state,
			  double changes, double age, char *cmd)
{
	r->id = term_sanitize(id);
	r->state = term_sanitize(state);
	r->exit = strcmp(state, "running") == 0 || strcmp(state, "live") == 0 ? xstrdup("-")
									      : exit_text(meta);
	r->cwd = short_cwd(meta_str(meta, "cwd"));
	snprintf(r->changes, sizeof(r->changes), "-");
	if (changes >= 0)
		snprintf(r->changes, sizeof(r->changes), "%.0f", changes);
	format_age(age, r->age);
	/* One line a session: long commands (python3 -c '...') are cut, after escaping. */
	r->cmd = safe_cut(cmd, LIST_COMMAND_COLUMNS);
}

static void free_list_rows(struct list_row *rows, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		free(rows[i].id);
		free(rows[i].state);
		free(rows[i].exit);
		free(rows[i].cwd);
		free(rows[i].cmd);
	}
	free(rows);
}

/* Session id as a JSON object added to out, or a text row in rows[*nrows]; a session
   whose meta cannot be read is left out. */
static void list_session(char *id, bool json, cJSON *out, struct list_row *rows, size_t *nrows)
{
	struct session s = {.id = id, .lock_fd = -1};
	cleanup_free char *root = store_root();
	cleanup_free char *sdir = NULL, *cmd = NULL;
	cJSON *meta;
	const char *state;
	double changes, age;

	sdir = xasprintf("%s/sessions/%s", root, id);
	s.dir = sdir;
	meta = store_read_meta(&s);
	if (!meta)
		return;
	state = session_state(&s, meta);
	changes = meta_num(meta, "changes", -1);
	age = seconds_since(meta_str(meta, "start"));
	cmd = list_command(meta, state);
	if (json)
		cJSON_AddItemToArray(out, list_json_row(id, meta, state, changes, age));
	else
		fill_list_row(&rows[(*nrows)++], id, meta, state, changes, age, cmd);
	cJSON_Delete(meta);
}

int cmd_list(int argc, char **argv)
{
	static const char usage[] =
		"airlock list [--json]\n\n"
		"One line a session, oldest first: ID; STATE (running, live, interrupted, finished,\n"
		"committed, partially committed, undone, discarded); EXIT, the program's exit status,\n"
		"or the limit or signal that ended it; CHANGES held; AGE since it started (45s, 5m,\n"
		"2h, 3d); CWD, where it ran (~ for the home directory); COMMAND, escaped and cut\n"
		"after 72 columns. --json prints the same as an array of objects, whole, times in\n"
		"UTC.";
	const char *id;
	bool json;
	cleanup_strvec struct strvec list = STRVEC_INIT;
	size_t i, nrows = 0;
	struct list_row *rows;
	cJSON *out;
	int rc = parse_id_args(argc, argv, usage, &id, &json);

	if (rc >= 0)
		return rc;
	if (id)
		return unexpected_arg(usage, id);
	if (store_list(&list) < 0)
		return EXIT_REFUSED;
	out = cJSON_CreateArray();
	rows = xcalloc(list.n + 1, sizeof(*rows));
	for (i = 0; i < list.n; i++)
		list_session(list.v[i], json, out, rows, &nrows);
	if (json) {
		cleanup_free char *text = cJSON_Print(out);

		puts(text);
	} else if (nrows > 0) {
		print_list(rows, nrows);
	}
	free_list_rows(rows, nrows);
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

/* A recorded UTC time ("2026-01-02T03:04:05.678Z") as local time with its offset,
   "2026-01-02 04:04:05 +0100"; the recorded text when it does not parse. */
static void local_time(const char *when, char *out, size_t size)
{
	struct tm tm = {0};
	time_t t;

	snprintf(out, size, "%s", when ? when : "?");
	if (!when || sscanf(when, "%4d-%2d-%2dT%2d:%2d:%2d", &tm.tm_year, &tm.tm_mon, &tm.tm_mday,
			    &tm.tm_hour, &tm.tm_min, &tm.tm_sec) != 6)
		return;
	tm.tm_year -= 1900;
	tm.tm_mon -= 1;
	t = timegm(&tm);
	if (t == (time_t)-1 || !localtime_r(&t, &tm))
		return;
	strftime(out, size, "%Y-%m-%d %H:%M:%S %z", &tm);
}

/* What the last commit did with a path: "apply", or why it was left out. */
struct commit_mark {
	char *path, *why;
	size_t order;
};

static int cmp_mark(const void *a, const void *b)
{
	const struct commit_mark *x = a, *y = b;
	int r = strcmp(x->path, y->path);

	return r ? r : (x->order > y->order) - (x->order < y->order);
}

/* The last commit's per-path events: each path applied, or left out and why. */
static struct commit_mark *read_commit_marks(const struct session *s, size_t *n)
{
	cleanup_free char *path = session_path(s, "events.jsonl");
	cleanup_free char *line = NULL;
	cleanup_file FILE *f = fopen(path, "re");
	struct commit_mark *v = NULL;
	size_t cap = 0, linecap = 0, i;
	bool ended = false;
	ssize_t len;

	*n = 0;
	if (!f)
		return NULL;
	while ((len = getline(&line, &linecap, f)) > 0) {
		cJSON *ev = cJSON_ParseWithLength(line, (size_t)len);
		const char *cls = meta_str(ev, "class"), *op = meta_str(ev, "op");
		const char *target = meta_str(ev, "target"), *why = meta_str(ev, "decision");

		if (cls && op && strcmp(cls, "commit") == 0 && strcmp(op, "end") == 0)
			ended = true;
		else if (cls && strcmp(cls, "commit") == 0 && op && target && why &&
			 strcmp(op, "unsealed") != 0) {
			if (ended) { /* a commit again, after an undo: its marks are the ones */
				for (i = 0; i < *n; i++) {
					free(v[i].path);
					free(v[i].why);
				}
				*n = 0;
				ended = false;
			}
			GROW(v, cap, *n + 1);
			v[*n] = (struct commit_mark){xstrdup(target), xstrdup(why), *n};
			(*n)++;
		}
		cJSON_Delete(ev);
	}
	if (*n > 0)
		qsort(v, *n, sizeof(*v), cmp_mark);
	return v;
}

/* The last mark of path, or NULL. */
static const struct commit_mark *find_mark(const struct commit_mark *v, size_t n, const char *path)
{
	size_t lo = 0, hi = n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (strcmp(v[mid].path, path) <= 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo > 0 && strcmp(v[lo - 1].path, path) == 0 ? &v[lo - 1] : NULL;
}

/* Each change of a committed session says whether the commit applied it ("committed": true)
   or left it out, and why ("left": "denied", "hidden", ...). */
static void add_commit_marks(const struct session *s, cJSON *out)
{
	const char *state = meta_str(out, "state");
	const cJSON *changes = cJSON_GetObjectItemCaseSensitive(out, "changes");
	struct commit_mark *v;
	cJSON *c, *applied;
	size_t n, i;

	if (!state ||
	    (strcmp(state, "committed") != 0 && strcmp(state, "partially committed") != 0))
		return;
	v = read_commit_marks(s, &n);
	/* What went in is no longer a change (the host has it now): list it from the log. */
	applied = cJSON_AddArrayToObject(out, "committed");
	for (i = 0; i < n; i++)
		if (strcmp(v[i].why, "apply") == 0 &&
		    (i + 1 == n || strcmp(v[i + 1].path, v[i].path)))
			cJSON_AddItemToArray(applied, cJSON_CreateString(v[i].path));
	cJSON_ArrayForEach(c, changes)
	{
		const struct commit_mark *m = find_mark(v, n, meta_str(c, "path") ?: "");
		const char *why = m ? m->why : "not selected";

		if (m && strcmp(m->why, "apply") == 0) {
			cJSON_AddTrueToObject(c, "committed");
			continue;
		}
		/* "skip": the commit did not take it; its state says why (denied, undecided), or
		   it was approved and not chosen (commit PATH...). */
		if (strcmp(why, "skip") == 0 && meta_str(c, "state"))
			why = strcmp(meta_str(c, "state"), "approved") == 0 ? "not chosen"
									    : meta_str(c, "state");
		cJSON_AddFalseToObject(c, "committed");
		cJSON_AddStringToObject(c, "left", why);
	}
	for (i = 0; i < n; i++) {
		free(v[i].path);
		free(v[i].why);
	}
	free(v);
}

/* The commit and undo lines: who, when, and what was applied and left out. */
static void print_commit_text(const cJSON *out)
{
	const cJSON *c = cJSON_GetObjectItemCaseSensitive(out, "commit");
	const cJSON *u = cJSON_GetObjectItemCaseSensitive(out, "undo");

	char when[64];

	if (cJSON_IsObject(c)) {
		local_time(meta_str(c, "time"), when, sizeof(when));
		printf("\ncommitted %s by ", when);
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
		local_time(meta_str(u, "time"), when, sizeof(when));
		printf("\nundone    %s by ", when);
		put_safe(stdout, meta_str(u, "user") ?: "?");
		if (meta_num(u, "forced", 0) > 0)
			printf(", over %.0f later host changes (--force)",
			       meta_num(u, "forced", 0));
	}
}

/* A live session's steps: each exec, where it ran, how it ended, what it changed. */
static void print_steps_text(const cJSON *steps)
{
	const cJSON *st;

	if (cJSON_GetArraySize(steps) <= 0)
		return;
	printf("\n\nsteps (%d)", cJSON_GetArraySize(steps));
	cJSON_ArrayForEach(st, steps)
	{
		cleanup_free char *argv =
			join_argv(cJSON_GetObjectItemCaseSensitive(st, "command"));
		double changes = meta_num(st, "changes", 0);

		printf("\n  %3.0f  ", meta_num(st, "step", 0));
		if (cJSON_IsNumber(cJSON_GetObjectItemCaseSensitive(st, "exit_code")))
			printf("exit %-3.0f  ", meta_num(st, "exit_code", 0));
		else
			printf("%-10s", "running");
		put_safe(stdout, argv);
		printf("   (in ");
		put_safe(stdout, meta_str(st, "cwd") ?: "?");
		printf(", %.0f change%s)", changes, changes == 1 ? "" : "s");
	}
}

static void print_change_steps(const cJSON *steps)
{
	const cJSON *x;
	const char *sep = "   step ";

	cJSON_ArrayForEach(x, steps)
	{
		printf("%s%.0f", sep, x->valuedouble);
		sep = ", ";
	}
}

/* The heading lines: the session, its command, where and when it ran, commit and steps. */
static void print_header_text(const cJSON *out)
{
	cleanup_free char *cmd = join_argv(cJSON_GetObjectItemCaseSensitive(out, "command"));
	char when[64];

	printf("session   %s (%s", meta_str(out, "session"), meta_str(out, "state"));
	if (cJSON_IsNumber(cJSON_GetObjectItemCaseSensitive(out, "exit_code")))
		printf(", exit %.0f", meta_num(out, "exit_code", 0));
	printf(")\ncommand   ");
	if (!cmd[0] && cJSON_IsObject(cJSON_GetObjectItemCaseSensitive(out, "live"))) {
		const char *name = meta_str(cJSON_GetObjectItemCaseSensitive(out, "live"), "name");

		printf("(live session%s", name ? " " : "");
		put_safe(stdout, name ? name : "");
		printf(": airlock exec runs each step)");
	}
	put_safe(stdout, cmd);
	printf("\ncwd       ");
	put_safe(stdout, meta_str(out, "cwd"));
	local_time(meta_str(out, "start"), when, sizeof(when));
	printf("\nstarted   %s", when);
	if (meta_num(out, "duration_ms", -1) >= 0)
		printf(", ran %.2f s", meta_num(out, "duration_ms", 0) / 1000.0);
	print_commit_text(out);
	print_steps_text(cJSON_GetObjectItemCaseSensitive(out, "steps"));
	printf("\n\n");
}

/* The paths a partial commit applied, when there was one. */
static void print_committed_text(const cJSON *committed)
{
	const cJSON *c;

	if (!cJSON_IsArray(committed))
		return;
	heading("committed", cJSON_GetArraySize(committed));
	cJSON_ArrayForEach(c, committed)
	{
		printf("  ");
		put_safe(stdout, cJSON_IsString(c) ? c->valuestring : "?");
		putchar('\n');
	}
	putchar('\n');
}

/* The columns of a change row's "(by ...)": a whole command line (pip's python3 -c with a
   twenty-line program) would bury the rows; the JSON has it whole. */
#define BY_COLUMNS 60

/* The columns a terminal gives the valid n-byte UTF-8 character at s: 2 in the East Asian
   wide ranges, else 1 (show runs in the C locale, so not wcwidth()). */
static unsigned char_columns(const unsigned char *s, size_t n)
{
	static const unsigned wide[][2] = {
		{0x1100, 0x115f},   {0x2e80, 0xa4cf},	{0xac00, 0xd7a3}, {0xf900, 0xfaff},
		{0xfe30, 0xfe4f},   {0xff00, 0xff60},	{0xffe0, 0xffe6}, {0x1f300, 0x1f64f},
		{0x1f900, 0x1f9ff}, {0x20000, 0x3fffd},
	};
	unsigned cp = n == 1 ? s[0] : s[0] & (0x7fu >> n);
	size_t i;

	for (i = 1; i < n; i++)
		cp = cp << 6 | (s[i] & 0x3fu);
	for (i = 0; i < ARRAY_SIZE(wide); i++)
		if (cp >= wide[i][0] && cp <= wide[i][1])
			return 2;
	return 1;
}

/* The length of the unit at s in term_sanitize()'s output: an escape ("\\", "\n", "\x9b",
   "\u202e", "\U000e0041") or one character, never less. */
static size_t sanitized_unit(const char *s)
{
	size_t n;

	if (s[0] == '\\') {
		n = s[1] == 'x' ? 4 : s[1] == 'u' ? 6 : s[1] == 'U' ? 10 : 2;
		return strnlen(s, n);
	}
	n = utf8_seq_len((const unsigned char *)s);
	return n ? n : 1;
}

/* The columns of the unit of n bytes at clean (term_sanitize()'s output). */
static unsigned unit_columns(const char *clean, size_t n)
{
	return clean[0] == '\\' ? (unsigned)n : char_columns((const unsigned char *)clean, n);
}

/* The length of the first units of clean that fit in cols columns; their columns in *used. */
static size_t fit_units(const char *clean, unsigned cols, unsigned *used)
{
	size_t i = 0, n;
	unsigned w;

	for (*used = 0; clean[i]; i += n) {
		n = sanitized_unit(clean + i);
		w = unit_columns(clean + i, n);
		if (*used + w > cols)
			break;
		*used += w;
	}
	return i;
}

/* The columns clean (term_sanitize()'s output) takes. */
static unsigned safe_columns(const char *clean)
{
	unsigned used;

	fit_units(clean, UINT_MAX, &used);
	return used;
}

/* s made safe, then cut to its first cols columns and "…" when longer: cut after the
   escaping, so never inside an escape or a character. Caller frees. */
static char *safe_cut(const char *s, unsigned cols)
{
	char *clean = term_sanitize(s ? s : ""), *out;
	unsigned used;
	size_t i = fit_units(clean, cols, &used);

	if (!clean[i])
		return clean;
	out = xasprintf("%.*s\u2026", (int)i, clean);
	free(clean);
	return out;
}

/* s made safe, then "…" and its last units when it takes more than cols columns: at most
   cols columns in all. Caller frees. */
static char *safe_cut_start(const char *s, unsigned cols)
{
	char *clean = term_sanitize(s ? s : ""), *out;
	unsigned total = safe_columns(clean);
	size_t i = 0, n;

	if (total <= cols)
		return clean;
	/* Drop units from the start until the rest fits with the "…". */
	for (; clean[i] && total > cols - 1; i += n) {
		n = sanitized_unit(clean + i);
		total -= unit_columns(clean + i, n);
	}
	out = xasprintf("\u2026%s", clean + i);
	free(clean);
	return out;
}

static void put_safe_cut(FILE *f, const char *s, unsigned cols)
{
	cleanup_free char *cut = safe_cut(s, cols);

	fputs(cut, f);
}

/* After the path of a rename's change: "old -> new (renamed, 90%)" on the addition's row
   (its path is the new one: the old goes before), "(renamed to new, 90%)" on the deletion's. */
static void print_rename(const cJSON *c)
{
	int score = (int)meta_num(c, "similarity", 0);

	if (meta_str(c, "renamed_to")) {
		printf(" (renamed to ");
		put_safe(stdout, meta_str(c, "renamed_to"));
		printf(", %d%%)", score);
	} else if (meta_str(c, "renamed_from")) {
		printf(" (renamed from ");
		put_safe(stdout, meta_str(c, "renamed_from"));
		printf(", %d%%)", score);
	}
}

/* One change: kind, size, path, its state and risk, the steps and programs that made it. */
static void print_change_line(const cJSON *c, const struct change *ch)
{
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
	print_rename(c);
	/* The state, and a risk where the person looks (the reason is a rules file's). */
	if (cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(c, "committed"))) {
		printf("   [committed");
	} else if (meta_str(c, "left")) {
		printf("   [left: ");
		put_safe(stdout, meta_str(c, "left"));
	} else {
		const cJSON *ap = cJSON_GetObjectItemCaseSensitive(
			cJSON_GetObjectItemCaseSensitive(c, "hunks"), "approved");

		printf("   [%s", meta_str(c, "state") ?: "?");
		/* Decided hunk by hunk in the review: which hunks go in. */
		if (ap)
			printf(" in part: %d of %d hunks", cJSON_GetArraySize(ap),
			       (int)meta_num(cJSON_GetObjectItemCaseSensitive(c, "hunks"), "count",
					     0));
	}
	if (meta_str(c, "risk")) {
		printf(", flagged: ");
		put_safe(stdout, meta_str(c, "risk"));
	}
	putchar(']');
	print_change_steps(cJSON_GetObjectItemCaseSensitive(c, "steps"));
	if (cJSON_GetArraySize(w) > 0) {
		printf("   (by ");
		put_safe_cut(stdout, cJSON_GetArrayItem(w, 0)->valuestring, BY_COLUMNS);
		if (cJSON_GetArraySize(w) > 1)
			printf(" and %d more", cJSON_GetArraySize(w) - 1);
		putchar(')');
	}
	putchar('\n');
}

/* The changes, in the change set's order (the JSON's "changes" follows it). */
static void print_changes_text(const cJSON *changes, const struct change_set *cs)
{
	const cJSON *c;
	size_t i = 0, nleft = 0;

	cJSON_ArrayForEach(c, changes)
	{
		nleft += cJSON_IsFalse(cJSON_GetObjectItemCaseSensitive(c, "committed"));
	}
	if (nleft > 0)
		printf("%schanges left (%d)%s\n", colour ? "\033[1m" : "",
		       cJSON_GetArraySize(changes), colour ? "\033[m" : "");
	else
		heading("changes", cJSON_GetArraySize(changes));
	cJSON_ArrayForEach(c, changes)
	{
		print_change_line(c, &cs->items[i++]);
	}
	putchar('\n');
}

static void print_command_line(const cJSON *c)
{
	cleanup_free char *argv = join_argv(cJSON_GetObjectItemCaseSensitive(c, "argv"));

	printf("  ");
	put_decision(meta_str(c, "decision"), 6);
	putchar(' ');
	put_safe(stdout, argv);
	/* A deferred command waits for `commit --run N`, or the review, and runs once. */
	if (meta_num(c, "deferred", 0) >= 1) {
		/* What runs (or ran): the program, where, and that the environment is the
		   person's (deferred.h). */
		const char *state = meta_str(c, "state") ?: "undecided";
		bool ran = strcmp(state, "ran") == 0;
		const cJSON *code = cJSON_GetObjectItemCaseSensitive(c, "exit_code");

		printf("   (deferred %.0f, %s", meta_num(c, "deferred", 0), state);
		if (ran && cJSON_IsNumber(code))
			printf(": exit status %d", code->valueint);
		printf(")\n         %s ", ran ? "ran" : "runs");
		put_safe(stdout, meta_str(c, "path"));
		printf(" in ");
		put_safe(stdout, meta_str(c, "cwd"));
		if (!ran)
			printf(", with your environment");
	}
	putchar('\n');
}

static void print_connection_line(const cJSON *c)
{
	const char *name = meta_str(c, "name");
	const cJSON *names;

	printf("  ");
	put_decision(meta_str(c, "decision"), 6);
	putchar(' ');
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

static void print_show_text(const cJSON *out, const struct change_set *cs)
{
	const cJSON *commands = cJSON_GetObjectItemCaseSensitive(out, "commands");
	const cJSON *conns = cJSON_GetObjectItemCaseSensitive(out, "connections");
	const cJSON *c;

	print_header_text(out);
	print_committed_text(cJSON_GetObjectItemCaseSensitive(out, "committed"));
	print_changes_text(cJSON_GetObjectItemCaseSensitive(out, "changes"), cs);
	heading("commands", cJSON_GetArraySize(commands));
	cJSON_ArrayForEach(c, commands)
	{
		print_command_line(c);
	}
	putchar('\n');
	heading("connections", cJSON_GetArraySize(conns));
	cJSON_ArrayForEach(c, conns)
	{
		print_connection_line(c);
	}
}

/* One change of a rename: the deletion names the new path, the addition the old one. */
static void add_rename(cJSON *o, const struct change *c, const struct change *other, int score)
{
	cleanup_free char *path = utf8_sanitize(other->path);

	cJSON_AddStringToObject(o, c->kind == CHANGE_DELETED ? "renamed_to" : "renamed_from", path);
	cJSON_AddNumberToObject(o, "similarity", score);
}

/*
 * The renames among the changes, paired as `airlock diff` pairs them (diff.h). Here and not in
 * report_add(): pairing may compare contents with libgit2, which `run --json` never loads.
 * Without a deleted file there is nothing to pair, and nothing is loaded.
 */
static void add_renames(cJSON *changes, const struct session *s, const struct change_set *cs)
{
	struct rename_hints hints = {0};
	cleanup_free char *events = NULL;
	cleanup_free size_t *other = NULL;
	cleanup_free int *score = NULL;
	cJSON *c;
	size_t i;

	for (i = 0;
	     i < cs->n && (cs->items[i].kind != CHANGE_DELETED || S_ISDIR(cs->items[i].old_mode));
	     i++)
		;
	if (i == cs->n || (size_t)cJSON_GetArraySize(changes) != cs->n)
		return;
	events = session_path(s, "events.jsonl");
	rename_hints_load(events, &hints);
	other = xcalloc(cs->n, sizeof(*other));
	score = xcalloc(cs->n, sizeof(*score));
	i = 0;
	if (diff_find_renames(cs, s->dir, &hints, other, score) == 0)
		cJSON_ArrayForEach(c, changes)
		{
			if (other[i] != (size_t)-1)
				add_rename(c, &cs->items[i], &cs->items[other[i]], score[i]);
			i++;
		}
	rename_hints_free(&hints);
}

int cmd_show(int argc, char **argv)
{
	static const char usage[] =
		"airlock show [ID] [--json] [--color=WHEN] [--no-pager]\n\n"
		"Print the session: its command, how it ended, what it changed (and, once committed,\n"
		"what was applied and what was left; a rename's two changes name each other; the\n"
		"command that wrote each is cut to 60 columns), the commands it ran and the\n"
		"connections it made. On a terminal the decisions are coloured\n"
		"(--color=auto|always|never; NO_COLOR turns auto off) and the output goes through\n"
		"$AIRLOCK_PAGER, else $PAGER, else 'less -FRX' (--no-pager or PAGER=cat: none).\n"
		"--json prints one object, times in UTC.";
	/* The members of meta.json that the report shows as they are. */
	static const char *const copied[] = {
		"command", "cwd",   "start",  "end",	"duration_ms", "exit_code",
		"signal",  "limit", "script", "commit", "undo",
	};
	const char *id;
	bool json;
	struct session s;
	struct change_set cs = {0};
	struct view_args view;
	cJSON *meta, *out;
	size_t i;
	int rc = parse_view_args(argc, argv, usage, &id, &json, &view);

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
	cJSON_AddNumberToObject(out, "version", 1); /* airlock-json(7) */
	cJSON_AddStringToObject(out, "session", s.id);
	cJSON_AddStringToObject(out, "state", session_state(&s, meta));
	for (i = 0; i < ARRAY_SIZE(copied); i++)
		json_copy(out, copied[i], meta, copied[i]);
	if (cJSON_GetObjectItemCaseSensitive(meta, "live"))
		json_copy(out, "live", meta, "live");
	report_add(out, &s, meta, &cs, false);
	deferred_report(&s, cJSON_GetObjectItemCaseSensitive(out, "commands"));
	add_renames(cJSON_GetObjectItemCaseSensitive(out, "changes"), &s, &cs);
	add_commit_marks(&s, out);
	if (json) {
		cleanup_free char *text = cJSON_Print(out);

		puts(text);
	} else {
		colour = colour_wanted(view.colour);
		pager_start(view.no_pager);
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
