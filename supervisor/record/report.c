/* SPDX-License-Identifier: MIT */
/* A session's report: its changes (with the processes that made them), commands, connections. */
#include "supervisor/record/report.h"

#include "common/buf.h"
#include "common/cleanup.h"
#include "common/err.h"
#include "common/json.h"
#include "common/utf8.h"
#include "supervisor/changeset/gate.h"
#include "supervisor/record/handover.h"
#include "supervisor/record/session.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* Which processes wrote which path, from the event log: sorted (path, argv) pairs. */
struct writer {
	char *path;
	char *argv;
	long long exec_seq; /* the exec event that started the writer's program, -1 */
	unsigned step;	    /* a live session's step it was part of, 0: none */
	bool own_argv;	    /* argv is this entry's to free (others share the last one's) */
	const char *from;   /* the argv handed to push_writer(), compared by address only */
	uint64_t key;	    /* path's bytes after the prefix all paths share (sort_writers()) */
};

struct writers {
	struct writer *w;
	size_t n, cap;
	cJSON *steps;	      /* a live session's steps, from their "step" events */
	struct writer *trees; /* directories from the host that airlock renamed by copying */
	size_t ntrees, ctrees;
	cJSON *deferred; /* the events deferred_load() reads, kept for the review */
	bool any_step;	 /* some writer or tree has a step */
};

static int cmp_writer(const void *a, const void *b)
{
	const struct writer *x = a, *y = b;
	int c = x->key != y->key ? (x->key > y->key) - (x->key < y->key) : strcmp(x->path, y->path);

	if (c == 0 && x->argv != y->argv)
		c = strcmp(x->argv, y->argv);
	return c ? c : (x->exec_seq > y->exec_seq) - (x->exec_seq < y->exec_seq);
}

/*
 * Sort the writers as cmp_writer() says. 100,000 paths share long prefixes ("/home/u/proj/src/"),
 * which strcmp() goes through at each of 1.7 million comparisons: each path's next 8 bytes
 * after the prefix all share, big-endian, order two paths as strcmp() does whenever they
 * differ (bytes compare unsigned; a path's end reads as zeros, below any byte).
 */
static void sort_writers(struct writer *w, size_t n)
{
	size_t common = n ? strlen(w[0].path) : 0, i, k;

	for (i = 1; i < n && common > 0; i++) {
		for (k = 0; k < common && w[i].path[k] == w[0].path[k]; k++)
			;
		common = k;
	}
	for (i = 0; i < n; i++) {
		const unsigned char *p = (const unsigned char *)w[i].path + common;
		uint64_t key = 0;
		bool end = false;

		for (k = 0; k < 8; k++) {
			end = end || p[k] == '\0';
			key = key << 8 | (end ? 0 : p[k]);
		}
		w[i].key = key;
	}
	if (n)
		qsort(w, n, sizeof(*w), cmp_writer);
}

/* Append a writer to v (ws->w, or ws->trees). */
static void push_writer(struct writer **v, size_t *n, size_t *cap, const char *path,
			const char *argv, long long exec_seq, unsigned step)
{
	/* One copy of a program's command line for its run of writes (100,000 from one program);
	   the exec index hands the same string to each, which needs no comparing. */
	bool same = *n && ((*v)[*n - 1].from == argv || strcmp((*v)[*n - 1].argv, argv) == 0);

	GROW(*v, *cap, *n + 1);
	(*v)[*n].path = xstrdup(path);
	(*v)[*n].argv = same ? (*v)[*n - 1].argv : xstrdup(argv);
	(*v)[*n].own_argv = !same;
	(*v)[*n].from = argv;
	(*v)[*n].key = 0;
	(*v)[*n].exec_seq = exec_seq;
	(*v)[*n].step = step;
	(*n)++;
}

static void add_writer(struct writers *ws, const char *path, const char *argv, long long exec_seq,
		       unsigned step)
{
	push_writer(&ws->w, &ws->n, &ws->cap, path, argv, exec_seq, step);
}

/* A step's number from an event, 0 when it has none (or a nonsense one). */
static unsigned step_of(const cJSON *ev)
{
	double v = meta_num(ev, "step", 0);

	return v >= 1 && v < 4e9 ? (unsigned)v : 0;
}

/* A live session's step event: its start makes an entry, its end completes it. */
static void add_step(cJSON *steps, const cJSON *ev)
{
	const char *op = meta_str(ev, "op");
	unsigned n = step_of(ev);
	cJSON *st = NULL, *it;

	if (!n || !op)
		return;
	cJSON_ArrayForEach(it, steps)
	{
		if ((unsigned)meta_num(it, "step", 0) == n)
			st = it;
	}
	if (strcmp(op, "start") == 0 && !st) {
		st = cJSON_CreateObject();
		cJSON_AddNumberToObject(st, "step", n);
		json_copy(st, "command", ev, "command");
		json_copy(st, "cwd", ev, "cwd");
		json_copy(st, "start", ev, "time");
		cJSON_AddNullToObject(st, "exit_code");
		cJSON_AddNullToObject(st, "end");
		cJSON_AddItemToArray(steps, st);
	} else if (strcmp(op, "end") == 0 && st) {
		cJSON_ReplaceItemInObjectCaseSensitive(
			st, "exit_code", cJSON_CreateNumber(meta_num(ev, "exit_code", -1)));
		cJSON_ReplaceItemInObjectCaseSensitive(
			st, "end", cJSON_CreateString(meta_str(ev, "time") ?: ""));
		if (meta_str(ev, "target"))
			json_copy(st, "ended_by", ev, "target");
	}
}

/* A write event: its paths are the writing program's; a tree copied by a rename, whole. */
static void add_write_event(struct writers *ws, struct exec_index *xi, const cJSON *ev)
{
	const char *who = exec_index_joined(xi, ev);
	const char *t1 = meta_str(ev, "target");
	const char *t2 = meta_str(ev, "target2");
	double seq = meta_num(ev, "exec_seq", -1);
	long long es = seq >= 0 && seq < 1e18 ? (long long)seq : -1;
	const cJSON *dm = cJSON_GetObjectItemCaseSensitive(ev, "dirmove");

	if (t1)
		add_writer(ws, t1, who, es, step_of(ev));
	if (t2)
		add_writer(ws, t2, who, es, step_of(ev));
	/* Every entry of a copied tree is the renaming process's (dirmove.h). */
	if (t2 && cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(dm, "copied")))
		push_writer(&ws->trees, &ws->ntrees, &ws->ctrees, t2, who, es, step_of(ev));
}

/* An exec event as the report's "commands" have it. */
static cJSON *command_json(const cJSON *ev)
{
	cJSON *c = cJSON_CreateObject();

	json_copy(c, "argv", ev, "command");
	json_copy(c, "path", ev, "target");
	cJSON_AddStringToObject(c, "decision", meta_str(ev, "decision") ?: "?");
	cJSON_AddStringToObject(c, "by", meta_str(ev, "by") ?: "?");
	cJSON_AddNumberToObject(c, "pid", meta_num(ev, "pid", 0));
	cJSON_AddStringToObject(c, "time", meta_str(ev, "time") ?: "");
	json_copy(c, "seq", ev, "seq");
	if (step_of(ev))
		cJSON_AddNumberToObject(c, "step", step_of(ev));
	if (cJSON_GetObjectItemCaseSensitive(ev, "deferred")) {
		json_copy(c, "deferred", ev, "deferred");
		json_copy(c, "cwd", ev, "cwd");
	}
	return c;
}

/* A connect event as the report's "connections" have it, with the program that made it. */
static cJSON *connection_json(struct exec_index *xi, const cJSON *ev)
{
	cJSON *c = cJSON_CreateObject();
	const cJSON *argv;

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
	argv = exec_index_argv(xi, ev);
	cJSON_AddItemToObject(c, "argv", argv ? cJSON_Duplicate(argv, true) : cJSON_CreateNull());
	return c;
}

/*
 * Write events read without a cJSON tree: a run's log holds one per file it wrote (100,000
 * parses and frees of a tree for a field or four). Only a line of the plainest form is read
 * here: one object of strings, numbers, true, false and null, no escape but the one-letter
 * ones, nothing but white space after it. JSON of that form is read by cJSON in the same way,
 * so any other line (and any write event whose needed fields are not plain) goes to cJSON as
 * before and is taken or skipped exactly as it was.
 */
#define FLAT_MAX 32

struct flat_val {
	char *key, *val; /* in the line; val: a string's contents, a number's or literal's text */
	size_t klen, vlen;
	char type; /* 's' string, 'e' string with escapes, 'n' number, 'l' literal */
};

struct flat {
	struct flat_val v[FLAT_MAX];
	size_t n;
};

static char *flat_ws(char *p)
{
	while (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r')
		p++;
	return p;
}

/* The end of the string whose contents start at p (past its closing quote), NULL if not plain. */
static char *flat_string(char *p, bool *escaped)
{
	*escaped = false;
	for (;; p++) {
		p += strcspn(p, "\"\\"); /* the bytes that are neither, in bulk */
		if (*p == '"')
			return p + 1;
		if (*p == '\0')
			return NULL;
		if (*p == '\\') {
			if (p[1] == '\0' || !strchr("\"\\/bfnrt", p[1]))
				return NULL;
			*escaped = true;
			p++;
		}
	}
}

static char *flat_digits(char *p)
{
	while (*p >= '0' && *p <= '9')
		p++;
	return p;
}

/* The end of the JSON number at p, NULL if it is not one (or long enough to be odd). */
static char *flat_number(char *p)
{
	char *s = p;

	if (*p == '-')
		p++;
	if (*p == '0')
		p++;
	else if (*p >= '1' && *p <= '9')
		p = flat_digits(p);
	else
		return NULL;
	if (*p == '.') {
		if (p[1] < '0' || p[1] > '9')
			return NULL;
		p = flat_digits(p + 1);
	}
	if (*p == 'e' || *p == 'E') {
		p += p[1] == '+' || p[1] == '-' ? 2 : 1;
		if (*p < '0' || *p > '9')
			return NULL;
		p = flat_digits(p);
	}
	return p - s <= 40 ? p : NULL;
}

/* The value at p into v; its end, NULL if it is not a plain scalar. */
static char *flat_value(char *p, struct flat_val *v)
{
	static const char *const lits[] = {"true", "false", "null"};
	bool esc;

	if (*p == '"') {
		v->val = p + 1;
		p = flat_string(p + 1, &esc);
		if (!p)
			return NULL;
		v->vlen = (size_t)(p - 1 - v->val);
		v->type = esc ? 'e' : 's';
		return p;
	}
	v->val = p;
	v->type = 'l';
	for (size_t i = 0; i < ARRAY_SIZE(lits); i++) {
		if (*p != lits[i][0]) /* most values are numbers: one byte tells */
			continue;
		v->vlen = strlen(lits[i]);
		if (strncmp(p, lits[i], v->vlen) == 0)
			return p + v->vlen;
	}
	v->type = 'n';
	p = flat_number(v->val);
	v->vlen = p ? (size_t)(p - v->val) : 0;
	return p;
}

/* Split a line of the plainest form into its members; false for any other line. */
static bool flat_parse(char *p, struct flat *f)
{
	bool esc;

	f->n = 0;
	p = flat_ws(p);
	if (*p++ != '{')
		return false;
	for (p = flat_ws(p);; p = flat_ws(p + 1)) {
		struct flat_val *v = &f->v[f->n];

		if (f->n == FLAT_MAX || *p != '"')
			return false;
		v->key = p + 1;
		p = flat_string(p + 1, &esc);
		if (!p || esc)
			return false;
		v->klen = (size_t)(p - 1 - v->key);
		p = flat_ws(p);
		if (*p != ':' || !(p = flat_value(flat_ws(p + 1), v)))
			return false;
		f->n++;
		p = flat_ws(p);
		if (*p == '}')
			return *flat_ws(p + 1) == '\0';
		if (*p != ',')
			return false;
	}
}

/* A member by name, the first of that name as cJSON finds it; NULL when absent. */
static struct flat_val *flat_get(struct flat *f, const char *key)
{
	size_t len = strlen(key);

	for (size_t i = 0; i < f->n; i++)
		if (f->v[i].klen == len && memcmp(f->v[i].key, key, len) == 0)
			return &f->v[i];
	return NULL;
}

/* A member as meta_num() reads it (dflt unless a number); false if not a plain count. */
static bool flat_num(const struct flat_val *v, double dflt, double *out)
{
	*out = dflt;
	if (!v || v->type != 'n')
		return true;
	if (v->vlen > 15 || flat_digits(v->val) != v->val + v->vlen)
		return false;
	*out = (double)strtoull(v->val, NULL, 10);
	return true;
}

/* A member as meta_str() reads it (NULL unless a string), terminated in the line. */
static const char *flat_str(struct flat_val *v)
{
	if (!v || v->type != 's')
		return NULL;
	v->val[v->vlen] = '\0';
	return v->val;
}

/* A plain write event taken as add_write_event() takes it: 1, or 0 for cJSON to read it. */
static int flat_write(struct writers *ws, struct exec_index *xi, char *line)
{
	struct flat f;
	struct flat_val *cls, *v1, *v2;
	const char *t1, *t2, *who;
	double es, step;

	if (!flat_parse(line, &f))
		return 0;
	cls = flat_get(&f, "class");
	if (!cls || cls->type != 's' || cls->vlen != 5 || memcmp(cls->val, "write", 5) != 0)
		return 0;
	if (!flat_num(flat_get(&f, "exec_seq"), -1, &es) ||
	    !flat_num(flat_get(&f, "step"), 0, &step))
		return 0;
	v1 = flat_get(&f, "target");
	v2 = flat_get(&f, "target2");
	if ((v1 && v1->type == 'e') || (v2 && v2->type == 'e'))
		return 0;
	/* Only now, the line taken, may the strings be terminated in it. */
	t1 = flat_str(v1);
	t2 = flat_str(v2);
	/* Without an array "argv" (an old record's), the writer is the exec_seq's command. */
	who = exec_index_joined_seq(xi, es);
	step = step >= 1 && step < 4e9 ? step : 0;
	es = es >= 0 && es < 1e18 ? es : -1;
	if (t1)
		add_writer(ws, t1, who, (long long)es, (unsigned)step);
	if (t2)
		add_writer(ws, t2, who, (long long)es, (unsigned)step);
	/* A scalar "dirmove" has no "copied": no tree is pushed (see add_write_event()). */
	return 1;
}

struct writers *report_read_events(const struct session *s, cJSON *commands, cJSON *connections)
{
	struct writers *ws = xcalloc(1, sizeof(*ws));
	cleanup_free char *path = session_path(s, "events.jsonl");

	ws->steps = cJSON_CreateArray();
	ws->deferred = cJSON_CreateArray();
	cleanup_file FILE *f = fopen(path, "re");
	cleanup_free char *line = NULL;
	struct exec_index *xi;
	size_t cap = 0;

	if (!f)
		return ws;
	xi = exec_index_new();
	while (getline(&line, &cap, f) > 0) {
		cJSON *ev = flat_write(ws, xi, line) ? NULL : cJSON_Parse(line);
		const char *cls = ev ? meta_str(ev, "class") : NULL;

		if (!cls) {
			cJSON_Delete(ev);
			continue;
		}
		exec_index_add(xi, ev);
		/* A deferred command and how it ran, for the review: the log is read once. */
		if (cJSON_GetObjectItemCaseSensitive(ev, "deferred") &&
		    (strcmp(cls, "exec") == 0 || strcmp(cls, "deferred") == 0))
			cJSON_AddItemToArray(ws->deferred, cJSON_Duplicate(ev, true));
		if (strcmp(cls, "write") == 0)
			add_write_event(ws, xi, ev);
		else if (strcmp(cls, "step") == 0)
			add_step(ws->steps, ev);
		else if (strcmp(cls, "exec") == 0 && commands)
			cJSON_AddItemToArray(commands, command_json(ev));
		else if (strcmp(cls, "connect") == 0 && connections)
			cJSON_AddItemToArray(connections, connection_json(xi, ev));
		cJSON_Delete(ev);
	}
	exec_index_free(xi);
	sort_writers(ws->w, ws->n);
	for (size_t i = 0; i < ws->n && !ws->any_step; i++)
		ws->any_step = ws->w[i].step != 0;
	for (size_t i = 0; i < ws->ntrees && !ws->any_step; i++)
		ws->any_step = ws->trees[i].step != 0;
	return ws;
}

/*
 * The first writer of path in the sorted list (or where it would be), searched from *at when
 * every writer before *at sorts before path (else from the start), and left in *at: galloping
 * forward from the last path's place takes a step or two when paths come in sorted order.
 */
static size_t first_of(const struct writers *ws, size_t *at, const char *path)
{
	size_t lo = *at, hi, step = 1;

	if (lo > ws->n || (lo > 0 && strcmp(ws->w[lo - 1].path, path) >= 0))
		lo = 0;
	hi = lo;
	while (hi < ws->n && strcmp(ws->w[hi].path, path) < 0) {
		lo = hi + 1;
		hi = lo + step;
		step *= 2;
	}
	if (hi > ws->n)
		hi = ws->n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (strcmp(ws->w[mid].path, path) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	*at = lo;
	return lo;
}

size_t writers_each(const struct writers *ws, const char *path,
		    void (*fn)(void *ctx, const char *argv, long long exec_seq), void *ctx)
{
	size_t at = 0;

	return writers_each_at(ws, &at, path, fn, ctx);
}

size_t writers_each_at(const struct writers *ws, size_t *at, const char *path,
		       void (*fn)(void *ctx, const char *argv, long long exec_seq), void *ctx)
{
	size_t lo = first_of(ws, at, path), count = 0;
	const struct writer *last = NULL;

	for (; lo < ws->n && strcmp(ws->w[lo].path, path) == 0; lo++) {
		if (last && strcmp(last->argv, ws->w[lo].argv) == 0 &&
		    last->exec_seq == ws->w[lo].exec_seq)
			continue;
		last = &ws->w[lo];
		fn(ctx, last->argv, last->exec_seq);
		count++;
	}
	/* Nobody wrote it by name: the last rename that copied a tree holding it did. */
	for (lo = ws->ntrees; count == 0 && lo-- > 0;) {
		size_t len = strlen(ws->trees[lo].path);

		if (strncmp(path, ws->trees[lo].path, len) == 0 && path[len] == '/') {
			fn(ctx, ws->trees[lo].argv, ws->trees[lo].exec_seq);
			count++;
		}
	}
	return count;
}

size_t writers_steps(const struct writers *ws, const char *path, unsigned *steps, size_t max)
{
	size_t at = 0;

	return writers_steps_at(ws, &at, path, steps, max);
}

size_t writers_steps_at(const struct writers *ws, size_t *at, const char *path, unsigned *steps,
			size_t max)
{
	size_t lo, n = 0;

	/* Only a live session's writers have steps: for a run's, nothing to look up. */
	if (!ws->any_step)
		return 0;
	for (lo = first_of(ws, at, path); lo < ws->n && strcmp(ws->w[lo].path, path) == 0; lo++) {
		unsigned st = ws->w[lo].step;
		size_t j;

		if (!st)
			continue;
		for (j = 0; j < n && steps[j] != st; j++)
			;
		if (j == n && n < max)
			steps[n++] = st;
	}
	/* Nobody wrote it by name: the step of the last rename that copied a tree holding it. */
	for (lo = ws->ntrees; n == 0 && max > 0 && lo-- > 0;) {
		size_t len = strlen(ws->trees[lo].path);

		if (strncmp(path, ws->trees[lo].path, len) == 0 && path[len] == '/' &&
		    ws->trees[lo].step)
			steps[n++] = ws->trees[lo].step;
	}
	return n;
}

const cJSON *writers_steps_json(const struct writers *ws)
{
	return ws->steps;
}

const cJSON *writers_deferred_events(const struct writers *ws)
{
	return ws->deferred;
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

/* A file decided hunk by hunk: its hunks (1-based) by decision. */
static cJSON *hunks_json(const char *letters)
{
	static const char *const names[][2] = {
		{"a", "approved"}, {"d", "denied"}, {"u", "undecided"}};
	cJSON *o = cJSON_CreateObject();
	size_t i, k;

	cJSON_AddNumberToObject(o, "count", (double)strlen(letters));
	for (k = 0; k < ARRAY_SIZE(names); k++) {
		cJSON *a = cJSON_AddArrayToObject(o, names[k][1]);

		for (i = 0; letters[i]; i++)
			if (letters[i] == names[k][0][0])
				cJSON_AddItemToArray(a, cJSON_CreateNumber((double)(i + 1)));
	}
	return o;
}

static cJSON *change_json(const struct change *c, const struct writers *ws, struct gate *g,
			  struct gate_cache *gc)
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
	{
		unsigned steps[16];
		size_t n = writers_steps(ws, path, steps, ARRAY_SIZE(steps));

		if (n) {
			cJSON *a = cJSON_AddArrayToObject(o, "steps");

			for (size_t i = 0; i < n; i++)
				cJSON_AddItemToArray(a, cJSON_CreateNumber(steps[i]));
		}
	}
	gate_classify_change_cached(g, gc, c, &v);
	cJSON_AddStringToObject(o, "state", gate_state_name(v.state));
	if (v.changed)
		cJSON_AddBoolToObject(o, "changed_since_approved", true);
	if (v.hunks)
		cJSON_AddItemToObject(o, "hunks", hunks_json(v.hunks));
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
		if (ws->w[i].own_argv)
			free(ws->w[i].argv);
	}
	for (i = 0; i < ws->ntrees; i++) {
		free(ws->trees[i].path);
		if (ws->trees[i].own_argv)
			free(ws->trees[i].argv);
	}
	free(ws->w);
	cJSON_Delete(ws->steps);
	cJSON_Delete(ws->deferred);
	free(ws->trees);
	free(ws);
}

void report_add(cJSON *out, const struct session *s, const cJSON *meta, struct change_set *cs,
		bool scanned)
{
	cJSON *changes = cJSON_AddArrayToObject(out, "changes");
	cJSON *commands = cJSON_CreateArray();
	cJSON *conns = cJSON_CreateArray();
	struct writers *ws = report_read_events(s, commands, conns);
	struct gate_cache gc = {0};
	struct gate g;
	size_t i;

	if (!scanned && strcmp(session_state(s, meta), "discarded") != 0) {
		if (handover_changes(s, meta, cs) < 0)
			warn("the change set of %s could not be read completely", s->id);
	}
	gate_open(&g, s, meta);
	for (i = 0; i < cs->n; i++)
		cJSON_AddItemToArray(changes, change_json(&cs->items[i], ws, &g, &gc));
	gate_cache_free(&gc);
	gate_close(&g);
	if (cJSON_GetArraySize(ws->steps) > 0) {
		cJSON *steps = cJSON_Duplicate(ws->steps, true), *st, *ch;

		/* How many of the held changes each step made (a change may be several's). */
		cJSON_ArrayForEach(st, steps)
		{
			double n = meta_num(st, "step", 0), count = 0;

			cJSON_ArrayForEach(ch, changes)
			{
				const cJSON *x;

				cJSON_ArrayForEach(x, cJSON_GetObjectItemCaseSensitive(ch, "steps"))
				{
					if (cJSON_IsNumber(x) && x->valuedouble == n)
						count++;
				}
			}
			cJSON_AddNumberToObject(st, "changes", count);
		}
		cJSON_AddItemToObject(out, "steps", steps);
	}
	cJSON_AddItemToObject(out, "commands", commands);
	cJSON_AddItemToObject(out, "connections", conns);
	writers_free(ws);
}
