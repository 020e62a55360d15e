/* SPDX-License-Identifier: MIT */
/*
 * The review: the change list (a tree of directories, ui/tree.c), the commands, the
 * connections, and the diff of a change; approve, deny, commit. Line counts and conflicts are
 * computed when a line is shown, and conflicts for the rest in the background, so the review
 * opens at once whatever the size of the change set.
 */
#include "ui/ui.h"

#include "common/buf.h"
#include "common/cleanup.h"
#include "common/path.h"
#include "ui/term.h"
#include "ui/tree.h"
#include "ui/view.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* Files larger than this get no +/- counts in the list (Enter still shows their diff). */
#define COUNT_MAX_SIZE (1 << 20)
/* Conflict checks per background step. */
#define CONFLICT_CHUNK 256
/* Deferred commands listed by name in the commit confirmation; the rest are counted. */
#define MAX_SHOWN_DEFERRED 4

enum root_view {
	ROOT_CHANGES,
	ROOT_COMMANDS,
	ROOT_CONNECTIONS,
};

struct review_app {
	struct app app;
	struct ui_review *r;
	enum root_view root;
	size_t next_check; /* background conflict checks: the next change to look at */
	size_t diff_change;
	size_t diff_hunks;	/* hunks of the diff shown decided one by one, 0: none */
	struct view *diff_view; /* the diff shown, while it is */
	char *whole;		/* its hunks' letters while the file is decided whole */
	bool force;
	struct tree tree; /* the change list, kept across Tab */
	bool have_tree;
	bool dirty;		 /* decisions changed since the tree counted them */
	size_t nconflicts;	 /* conflicts found so far */
	size_t counted;		 /* ... when the tree counted them */
	enum ui_decision *first; /* the decisions when the review opened: changes, commands */
	char **first_hunks;	 /* ... and the changes' hunk letters */
};

/*
 * A change list: the tree of every change (rows NULL: the tree's lines), or the files one
 * command changed, with full paths.
 */
struct changes_view {
	struct review_app *ra;
	struct tree_row *rows;
	size_t n;
	char *title;
};

static const char *short_kind(const char *kind)
{
	static const char *const names[][2] = {
		{"added", "add"},
		{"modified", "mod"},
		{"deleted", "del"},
		{"dir-added", "dir+"},
		{"dir-replaced", "dir~"},
		{"symlink-added", "link+"},
		{"symlink-changed", "link~"},
		{"type-changed", "type"},
		{"mode-changed", "mode"},
	};
	size_t i;

	for (i = 0; i < ARRAY_SIZE(names); i++)
		if (strcmp(kind, names[i][0]) == 0)
			return names[i][1];
	return kind;
}

static const char *decision_mark(enum ui_decision d)
{
	return d == UI_APPROVED ? "[+]" : d == UI_DENIED ? "[-]" : "[?]";
}

/* A change's mark: [~] for a file approved in part (some of its hunks). */
static const char *change_mark(const struct ui_change *c)
{
	return c->hunks && c->decision == UI_APPROVED ? "[~]" : decision_mark(c->decision);
}

static enum term_pair decision_pair(enum ui_decision d)
{
	return d == UI_APPROVED ? PAIR_APPROVED : d == UI_DENIED ? PAIR_DENIED : PAIR_UNDECIDED;
}

static const char *decision_word(enum ui_decision d)
{
	return d == UI_APPROVED ? "approved" : d == UI_DENIED ? "denied" : "undecided";
}

/* Below a directory the commit creates: that directory's check covers it. */
static bool covered(const struct ui_review *r, const struct ui_change *c)
{
	size_t p;

	for (p = c->parent; p != (size_t)-1; p = r->changes[p].parent)
		if (r->changes[p].creates_dir)
			return true;
	return false;
}

static void check_conflict(struct review_app *ra, size_t i)
{
	struct ui_review *r = ra->r;
	struct ui_change *c = &r->changes[i];
	bool unsafe = false;

	if (c->conflict_state)
		return;
	if (!r->conflict || covered(r, c)) {
		c->conflict_state = 1;
		return;
	}
	c->conflict = r->conflict(r->ctx, i, &unsafe);
	c->conflict_state = c->conflict ? (unsafe ? 3 : 2) : 1;
	/* The directories' counts take it in at the next drawing. */
	ra->nconflicts += c->conflict_state >= 2;
}

static void count_lines(struct ui_review *r, size_t i)
{
	struct ui_change *c = &r->changes[i];
	cleanup_free char *text = NULL;
	size_t len = 0;

	if (c->added != -1)
		return;
	c->added = c->removed = -2;
	if (S_ISDIR(c->mode) || S_ISDIR(c->old_mode) || c->size > COUNT_MAX_SIZE ||
	    c->old_size > COUNT_MAX_SIZE || !r->diff)
		return;
	text = r->diff(r->ctx, i, &len);
	if (text)
		diff_count(text, len, &c->added, &c->removed);
	else
		c->added = c->removed = -3;
}

/* A size as people read it: "812 bytes", "4.0 KiB", "1.5 MiB". */
static void human_size(char *out, size_t size, long long bytes)
{
	static const char *const units[] = {"KiB", "MiB", "GiB", "TiB"};
	double v = (double)bytes;
	size_t u = 0;

	if (bytes < 1024) {
		snprintf(out, size, "%lld byte%s", bytes, bytes == 1 ? "" : "s");
		return;
	}
	for (v /= 1024; v >= 1024 && u + 1 < ARRAY_SIZE(units); u++)
		v /= 1024;
	snprintf(out, size, "%.1f %s", v, units[u]);
}

/* Only the permission bits changed (the type is the same): "0644 -> 0755", or "". */
static void mode_change(char *out, size_t size, const struct ui_change *c)
{
	out[0] = '\0';
	if (c->mode && c->old_mode && (c->mode & S_IFMT) == (c->old_mode & S_IFMT) &&
	    (c->mode & 07777) != (c->old_mode & 07777))
		snprintf(out, size, "%04o -> %04o", (unsigned)(c->old_mode & 07777),
			 (unsigned)(c->mode & 07777));
}

/* --- drawing ------------------------------------------------------------------------- */

/* The length of path's directory, with its '/' (0 for a bare name). */
static size_t dir_len(const char *path)
{
	const char *slash = strrchr(path, '/');

	return slash ? (size_t)(slash - path) + 1 : 0;
}

/* A rename's name in the list: "old -> new" on the new path's row, "old  (renamed to new)"
   on the old one's; the other path by its name when in the same directory, else in full. */
static char *rename_label(const struct ui_review *r, const struct ui_change *c, const char *mine,
			  bool flat)
{
	const struct ui_change *o = &r->changes[c->rename_other];
	bool same = dir_len(c->path) == dir_len(o->path) &&
		    strncmp(c->path, o->path, dir_len(c->path)) == 0;
	const char *other = same && !flat ? o->path + dir_len(o->path) : o->path;

	if (strcmp(c->kind, "deleted") == 0)
		return xasprintf("%s  (renamed to %s)", mine, other);
	if (c->similarity < 100)
		return xasprintf("%s -> %s  (%d%% similar)", other, mine, c->similarity);
	return xasprintf("%s -> %s", other, mine);
}

/* What the right of a change's line says: line counts, size, mode change, flagged. */
static void change_right(const struct ui_change *c, char *right, size_t size)
{
	char what[32] = "", mode[24];
	bool file = !S_ISDIR(c->mode) && !S_ISDIR(c->old_mode);

	if (c->added >= 0)
		snprintf(what, sizeof(what), "+%d -%d", c->added, c->removed);
	else if (c->added == -2 && file &&
		 (c->size > COUNT_MAX_SIZE || c->old_size > COUNT_MAX_SIZE))
		human_size(what, sizeof(what), (long long)c->size);
	else if (c->added == -2 && file)
		snprintf(what, sizeof(what), "binary");
	mode_change(mode, sizeof(mode), c);
	/* In the list itself: it runs code on the host later (the status row says why). */
	snprintf(right, size, "%s%s%s%s%s", c->risk ? "flagged" : "",
		 c->risk && (mode[0] || what[0]) ? "  " : "", mode, mode[0] && what[0] ? "  " : "",
		 what);
}

static void draw_change(struct review_app *ra, size_t i, int y, int width, bool selected,
			int indent, const char *name)
{
	struct ui_change *c = &ra->r->changes[i];
	attr_t sel = selected ? A_REVERSE : 0;
	char right[80];
	int x, rw;
	cleanup_free char *renamed =
		c->renamed ? rename_label(ra->r, c, name, name == c->path) : NULL;

	if (renamed)
		name = renamed;
	check_conflict(ra, i);
	count_lines(ra->r, i);
	change_right(c, right, sizeof(right));
	term_blank(y, width, sel);
	x = term_put(y, 1, 3, change_mark(c),
		     term_color(decision_pair(c->decision)) | sel | A_BOLD);
	x += 1;
	x += term_put(y, x + 1, 1, c->conflict_state >= 2 ? "!" : " ",
		      term_color(PAIR_CONFLICT) | A_BOLD | sel) +
	     1;
	x += term_put(y, x + 1, 6,
		      short_kind(c->renamed && strcmp(c->kind, "deleted") != 0 ? "ren" : c->kind),
		      sel) +
	     1;
	x = 14 + indent;
	rw = (int)strlen(right);
	x += term_put(y, x, width - x - rw - 2, name, sel);
	if (c->link_target && x + 4 < width - rw - 2) {
		x += term_put(y, x, width - x - rw - 2, " -> ", sel);
		term_put(y, x, width - x - rw - 2, c->link_target, sel);
	}
	if (rw)
		term_put(y, width - rw - 1, rw, right, sel);
}

/* One mark for a directory: all approved, all denied, all undecided, or mixed [*]. */
static enum ui_decision dir_state(const struct tree_node *nd, bool *mixed)
{
	*mixed = false;
	if (nd->count[TC_APPROVED] == nd->count[TC_ALL])
		return UI_APPROVED;
	if (nd->count[TC_DENIED] == nd->count[TC_ALL])
		return UI_DENIED;
	*mixed = nd->count[TC_UNDECIDED] != nd->count[TC_ALL];
	return UI_UNDECIDED;
}

static void counts_text(char *out, size_t size, const size_t *count)
{
	snprintf(out, size, "+%zu -%zu ?%zu !%zu", count[TC_APPROVED], count[TC_DENIED],
		 count[TC_UNDECIDED], count[TC_CONFLICT]);
}

/* A directory line's path: the directory's, or for the line of its .pyc files, the directory's
   and "*.pyc". Caller frees. */
static char *node_path(const struct tree_node *nd)
{
	return xasprintf("%.*s%s", (int)nd->len, nd->path, nd->pyc ? "*.pyc" : "");
}

static void draw_dir(struct review_app *ra, size_t k, int y, int width, bool selected)
{
	const struct tree_node *nd = &ra->tree.nodes[k];
	cleanup_free char *name =
		nd->pyc ? xstrdup("*.pyc") : xstrndup(nd->path + nd->name, nd->len - nd->name);
	attr_t sel = selected ? A_REVERSE : 0;
	char counts[96], right[128];
	enum ui_decision d;
	bool mixed;
	int x, rw;

	d = dir_state(nd, &mixed);
	counts_text(counts, sizeof(counts), nd->count);
	if (nd->open)
		snprintf(right, sizeof(right), "%s", counts);
	else
		snprintf(right, sizeof(right), "%zu change%s  %s", nd->count[TC_ALL],
			 nd->count[TC_ALL] == 1 ? "" : "s", counts);
	term_blank(y, width, sel);
	term_put(y, 1, 3, mixed ? "[*]" : decision_mark(d),
		 term_color(mixed ? PAIR_HEADER : decision_pair(d)) | sel | A_BOLD);
	if (nd->count[TC_CONFLICT])
		term_put(y, 5, 1, "!", term_color(PAIR_CONFLICT) | A_BOLD | sel);
	if (nd->self != TREE_NONE)
		term_put(y, 7, 6, short_kind(ra->r->changes[nd->self].kind), sel);
	x = 14 + 2 * (int)nd->depth;
	x += term_put(y, x, 2, nd->open ? "v " : "> ", sel | A_BOLD);
	rw = (int)strlen(right);
	x += term_put(y, x, width - x - rw - 2, name[0] ? name : "./",
		      term_color(PAIR_HEADER) | A_BOLD | sel);
	if (nd->noise)
		term_put(y, x, width - x - rw - 2, " (generated)", sel);
	term_put(y, width - rw - 1, rw, right, sel);
}

/* --- the change lists ---------------------------------------------------------------- */

static bool is_tree(const struct changes_view *cv)
{
	return cv->rows == NULL;
}

static size_t nrows(const struct changes_view *cv)
{
	return is_tree(cv) ? cv->ra->tree.nrows : cv->n;
}

static const struct tree_row *row_at(const struct changes_view *cv, size_t i)
{
	return is_tree(cv) ? &cv->ra->tree.rows[i] : &cv->rows[i];
}

static const struct tree_row *sel_row(const struct view *v)
{
	const struct changes_view *cv = v->data;

	return nrows(cv) ? row_at(cv, v->sel < nrows(cv) ? v->sel : nrows(cv) - 1) : NULL;
}

/* Select the line of a change or directory; false when no line shows it. */
static bool select_row(struct view *v, size_t idx, bool dir)
{
	struct changes_view *cv = v->data;
	size_t i = tree_find_row(&cv->ra->tree, idx, dir);

	if (i == TREE_NONE)
		return false;
	v->sel = i;
	return true;
}

/* Make the tree's lines again, keeping the selection on what it was on when still shown. */
static void relist(struct view *v)
{
	struct changes_view *cv = v->data;
	const struct tree_row *r = sel_row(v);
	struct tree_row was = r ? *r : (struct tree_row){TREE_NONE, false};

	tree_rows(&cv->ra->tree);
	if (was.idx != TREE_NONE)
		select_row(v, was.idx, was.dir);
}

/* Count again when decisions changed or conflicts were found: after a key, not per drawing. */
static void tree_sync(struct view *v)
{
	struct changes_view *cv = v->data;
	struct review_app *ra = cv->ra;

	if (!is_tree(cv) || (!ra->dirty && ra->counted == ra->nconflicts))
		return;
	ra->dirty = false;
	ra->counted = ra->nconflicts;
	tree_count(&ra->tree);
	relist(v);
}

static size_t changes_count(struct view *v)
{
	tree_sync(v);
	return nrows(v->data);
}

static void changes_draw(struct view *v, size_t i, int y, int width, bool selected)
{
	struct changes_view *cv = v->data;
	const struct tree_row *l = row_at(cv, i);
	const struct ui_change *c = &cv->ra->r->changes[l->idx];
	const struct tree *t = &cv->ra->tree;

	if (l->dir)
		draw_dir(cv->ra, l->idx, y, width, selected);
	else if (!is_tree(cv))
		draw_change(cv->ra, l->idx, y, width, selected, 0, c->path);
	else
		draw_change(cv->ra, l->idx, y, width, selected,
			    2 * (int)(t->nodes[t->node_of[l->idx]].depth + 1),
			    c->path + t->nodes[t->node_of[l->idx]].len);
}

static char *changes_text(struct view *v, size_t i)
{
	struct changes_view *cv = v->data;
	const struct tree_row *l = row_at(cv, i);

	if (l->dir)
		return node_path(&cv->ra->tree.nodes[l->idx]);
	return xstrdup(cv->ra->r->changes[l->idx].path);
}

/* " in part (hunks 1, 3 of 4)" for a file decided hunk by hunk. */
static void add_hunks(struct buf *b, const struct ui_change *c)
{
	size_t k, n = 0;

	if (!c->hunks)
		return;
	buf_adds(b, c->decision == UI_APPROVED ? " in part (hunks" : " (approved hunks:");
	for (k = 0; c->hunks[k]; k++)
		if (c->hunks[k] == 'a')
			buf_addf(b, "%s %zu", n++ ? "," : "", k + 1);
	buf_addf(b, "%s of %zu)", n ? "" : " none", strlen(c->hunks));
}

static void change_status(struct review_app *ra, size_t i, struct buf *l1, struct buf *l2)
{
	struct ui_review *r = ra->r;
	struct ui_change *c = &r->changes[i];
	size_t k;

	check_conflict(ra, i);
	buf_addf(l1, "%s", decision_word(c->decision));
	add_hunks(l1, c);
	if (c->set_by)
		buf_addf(l1, " (%s; the rules said: %s)", c->set_by, c->why ? c->why : "?");
	else
		buf_addf(l1, ": %s", c->why ? c->why : "?");
	if (c->conflict_state >= 2) {
		buf_addf(l2, "CONFLICT: %s%s", c->conflict,
			 c->conflict_state == 3 ? " (the commit cannot apply it)" : "");
		return;
	}
	if (c->ncmds == 0) {
		buf_adds(l2, "written by: (no recorded command)");
		return;
	}
	buf_adds(l2, "written by: ");
	for (k = 0; k < c->ncmds && l2->len < 400; k++)
		buf_addf(l2, "%s%s", k ? "; " : "", r->commands[c->cmds[k]].argv);
}

static const char *const filter_names[FILTER_N] = {"all", "undecided", "conflicts", "flagged"};

static void dir_status(struct review_app *ra, size_t k, struct buf *l1, struct buf *l2)
{
	const struct tree_node *nd = &ra->tree.nodes[k];
	const size_t *n = nd->count;
	cleanup_free char *path = node_path(nd);

	if (nd->self != TREE_NONE)
		buf_addf(l1, "%s, ", ra->r->changes[nd->self].kind);
	buf_addf(l1, "%s: %zu change%s: %zu approved, %zu denied, %zu undecided, %zu conflicts",
		 path, n[TC_ALL], n[TC_ALL] == 1 ? "" : "s", n[TC_APPROVED], n[TC_DENIED],
		 n[TC_UNDECIDED], n[TC_CONFLICT]);
	if (n[TC_FLAGGED])
		buf_addf(l1, ", %zu flagged", n[TC_FLAGGED]);
	buf_addf(l2, "%s%s; a, d and Space set every %schange below it",
		 nd->noise ? "generated files; " : "", nd->open ? "h folds it" : "l unfolds it",
		 ra->tree.filter ? "shown " : "");
}

static void changes_status(struct view *v, struct buf *l1, struct buf *l2)
{
	struct changes_view *cv = v->data;
	const struct tree_row *l = sel_row(v);

	if (!l) {
		if (is_tree(cv) && cv->ra->tree.filter)
			buf_addf(l1, "nothing to show: only %s (f shows the next filter)",
				 filter_names[cv->ra->tree.filter]);
		else
			buf_adds(l1, "no changes");
		return;
	}
	if (l->dir)
		dir_status(cv->ra, l->idx, l1, l2);
	else
		change_status(cv->ra, l->idx, l1, l2);
}

/* (The tree's totals and filter are in the review's title.) */
static void changes_title(struct view *v, struct buf *out)
{
	struct changes_view *cv = v->data;

	if (cv->title)
		buf_adds(out, cv->title);
}

static enum ui_decision wanted(enum ui_req req, enum ui_decision now)
{
	return req == UI_REQ_APPROVE || req == UI_REQ_APPROVE_ALL || req == UI_REQ_APPROVE_STEP
		       ? UI_APPROVED
	       : req == UI_REQ_DENY || req == UI_REQ_DENY_ALL || req == UI_REQ_DENY_STEP ? UI_DENIED
	       : now == UI_APPROVED							 ? UI_DENIED
				    : UI_APPROVED;
}

static void set_one(struct review_app *ra, size_t i, enum ui_req req)
{
	struct ui_change *c = &ra->r->changes[i];
	enum ui_decision d = wanted(req, c->decision);

	if (d == UI_APPROVED && c->fixed) {
		app_message(&ra->app, "cannot be approved: %s", c->fixed);
		return;
	}
	ui_set_change(ra->r, i, d, "you");
	ra->dirty = true;
}

/*
 * Set the changes at display places [from, to) that the filter shows; how many could not be
 * approved. Without a filter every change below a new directory is in the range with it, so
 * a denial needs no carrying (which costs a pass over every change per new directory).
 */
static size_t set_range(struct review_app *ra, size_t from, size_t to, enum ui_decision d)
{
	struct tree *t = &ra->tree;
	size_t x, fixed = 0;

	for (x = from; x < to; x++) {
		size_t i = t->order[x];
		struct ui_change *c = &ra->r->changes[i];

		if (!tree_passes(t, i))
			continue;
		if (d == UI_APPROVED && c->fixed) {
			fixed++;
		} else if (d == UI_APPROVED || t->filter || !c->creates_dir) {
			/* Only a new directory's carrying costs: a rename's other path and a
			   file's hunks are still decided with it. */
			ui_set_change(ra->r, i, d, "you");
		} else {
			c->decision = d;
			c->set_by = "you";
		}
	}
	ra->dirty = true;
	return fixed;
}

/*
 * One key acting on more than a screenful: ask first. what: "deny 5,000 changes below
 * /x/" and so on. True to go on.
 */
static bool confirm_many(struct review_app *ra, size_t n, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static bool confirm_many(struct review_app *ra, size_t n, const char *fmt, ...)
{
	cleanup_free char *line = NULL;
	const char *lines[2];
	va_list ap;
	bool yes;

	if (n <= (size_t)view_rows())
		return true;
	va_start(ap, fmt);
	if (vasprintf(&line, fmt, ap) < 0)
		line = NULL;
	va_end(ap);
	lines[0] = line ? line : "change many items at once";
	lines[1] = "(one key acting on more than a screenful asks first)";
	yes = app_ask(&ra->app, lines, 2, "Go on? y: yes, n: no");
	if (!yes)
		app_message(&ra->app, "nothing changed");
	return yes;
}

static void report_fixed(struct review_app *ra, size_t fixed, enum ui_decision d, size_t n)
{
	if (fixed)
		app_message(&ra->app,
			    "%zu of them cannot be approved (a hidden path or a deny write rule: "
			    "never committed); they stay denied",
			    fixed);
	else
		app_message(&ra->app, "%s %zu change%s", decision_word(d), n, n == 1 ? "" : "s");
}

/* a, d, Space on a directory line: every change below it that the filter shows. */
static int dir_request(struct review_app *ra, size_t k, enum ui_req req)
{
	struct tree *t = &ra->tree;
	const struct tree_node *nd = &t->nodes[k];
	size_t n = t->filter == FILTER_NONE	   ? nd->count[TC_ALL]
		   : t->filter == FILTER_UNDECIDED ? nd->count[TC_UNDECIDED]
		   : t->filter == FILTER_CONFLICTS ? nd->count[TC_CONFLICT]
						   : nd->count[TC_FLAGGED];
	/* Space approves them all unless all are approved already. */
	enum ui_decision d =
		req == UI_REQ_TOGGLE
			? (nd->count[TC_APPROVED] == nd->count[TC_ALL] ? UI_DENIED : UI_APPROVED)
			: wanted(req, UI_UNDECIDED);
	cleanup_free char *path = node_path(nd);
	size_t fixed;

	if (!confirm_many(ra, n, "%s %zu change%s %s %s", d == UI_APPROVED ? "Approve" : "Deny", n,
			  n == 1 ? "" : "s", nd->pyc ? "in" : "below", path))
		return VIEW_DONE;
	fixed = set_range(ra, nd->first, nd->end, d);
	/* The directory's own change (a new directory) sits in its parent's range. */
	if (nd->self != TREE_NONE && tree_passes(t, nd->self)) {
		if (d == UI_APPROVED && ra->r->changes[nd->self].fixed)
			fixed++;
		else
			ui_set_change(ra->r, nd->self, d, "you");
	}
	report_fixed(ra, fixed, d, n);
	return VIEW_DONE;
}

static void open_diff(struct review_app *ra, size_t i);
static struct view *switch_to(struct review_app *ra, enum root_view to);
static int finish_commit(struct review_app *ra);
static int quit_request(struct review_app *ra);

/* How many items a step holds: its commands that ran and the changes it made. */
static size_t step_size(const struct ui_review *r, unsigned step)
{
	size_t i, j, n = 0;

	for (i = 0; i < r->ncommands; i++)
		n += r->commands[i].step == step &&
		     !(r->commands[i].ran && strcmp(r->commands[i].ran, "deny") == 0);
	for (i = 0; i < r->nchanges; i++)
		for (j = 0; j < r->changes[i].nsteps; j++)
			if (r->changes[i].steps[j] == step) {
				n++;
				break;
			}
	return n;
}

/* s and S: the whole step of what is selected (its first, for a change several made). */
static int step_request(struct review_app *ra, unsigned step, enum ui_req req)
{
	enum ui_decision d = req == UI_REQ_APPROVE_STEP ? UI_APPROVED : UI_DENIED;
	size_t n;

	if (!step) {
		app_message(&ra->app, "not part of a step: only a live session's execs are steps");
		return VIEW_DONE;
	}
	n = step_size(ra->r, step);
	if (!confirm_many(ra, n, "%s step %u: %zu item%s", d == UI_APPROVED ? "Approve" : "Deny",
			  step, n, n == 1 ? "" : "s"))
		return VIEW_DONE;
	n = ui_set_step(ra->r, step, d);
	ra->dirty = true;
	app_message(&ra->app, "%s step %u: %zu item%s", d == UI_APPROVED ? "approved" : "denied",
		    step, n, n == 1 ? "" : "s");
	return VIEW_DONE;
}

/* The requests every review view shares (commit, quit, the view switch). */
static int review_request(struct review_app *ra, enum ui_req req)
{
	if (req == UI_REQ_COMMIT)
		return finish_commit(ra);
	if (req == UI_REQ_QUIT)
		return quit_request(ra);
	if (req == UI_REQ_OUTPUT) {
		term_show_below();
		return VIEW_DONE;
	}
	if (req == UI_REQ_NEXT_VIEW) {
		app_set_root(&ra->app, switch_to(ra, (ra->root + 1) % 3));
		return VIEW_DONE;
	}
	return VIEW_UNHANDLED;
}

/* A and D: every change of the list shown (the tree: every change the filter shows). */
static int all_request(struct view *v, enum ui_req req)
{
	struct changes_view *cv = v->data;
	struct review_app *ra = cv->ra;
	enum ui_decision d = wanted(req, UI_UNDECIDED);
	size_t i, n = 0, fixed = 0;

	if (is_tree(cv)) {
		for (i = 0; i < ra->r->nchanges; i++)
			n += tree_passes(&ra->tree, i);
		if (!confirm_many(ra, n, "%s all %zu%s%s change%s",
				  d == UI_APPROVED ? "Approve" : "Deny", n,
				  ra->tree.filter ? " " : "",
				  ra->tree.filter ? filter_names[ra->tree.filter] : "",
				  n == 1 ? "" : "s"))
			return VIEW_DONE;
		report_fixed(ra, set_range(ra, 0, ra->r->nchanges, d), d, n);
		return VIEW_DONE;
	}
	if (!confirm_many(ra, cv->n, "%s all %zu changes of this list",
			  d == UI_APPROVED ? "Approve" : "Deny", cv->n))
		return VIEW_DONE;
	/* Set directly: every change of the list gets it, so a denial has nothing to carry but a
	   rename's other half and a file's hunks; an approval still approves the new directories
	   above it. */
	for (i = 0; i < cv->n; i++) {
		struct ui_change *c = &ra->r->changes[cv->rows[i].idx];

		if (d == UI_APPROVED && c->fixed) {
			fixed++;
		} else if (d == UI_APPROVED || c->renamed || c->hunks) {
			/* A rename's other half, out of this list, and a file's hunks follow. */
			ui_set_change(ra->r, cv->rows[i].idx, d, "you");
		} else {
			c->decision = d;
			c->set_by = "you";
		}
	}
	ra->dirty = true;
	report_fixed(ra, fixed, d, cv->n);
	return VIEW_DONE;
}

/* The directory shown that holds a line: for a change its own, for a directory its parent. */
static size_t shown_dir(const struct tree *t, const struct tree_row *l)
{
	size_t k = l->dir ? t->nodes[l->idx].parent : t->node_of[l->idx];

	while (k != TREE_NONE && t->nodes[k].elided)
		k = t->nodes[k].parent;
	return k;
}

/* Fold or unfold directory k and select its line. */
static void fold(struct view *v, size_t k, bool open)
{
	struct changes_view *cv = v->data;

	cv->ra->tree.nodes[k].open = open;
	tree_rows(&cv->ra->tree);
	select_row(v, k, true);
}

/* Enter, h, l on the tree. */
static int fold_request(struct view *v, enum ui_req req)
{
	struct changes_view *cv = v->data;
	struct tree *t = &cv->ra->tree;
	const struct tree_row *l = sel_row(v);
	size_t k;

	if (!l)
		return VIEW_DONE;
	if (req == UI_REQ_ENTER) {
		if (!l->dir)
			open_diff(cv->ra, l->idx);
		else
			fold(v, l->idx, !t->nodes[l->idx].open);
		return VIEW_DONE;
	}
	if (req == UI_REQ_UNFOLD) {
		if (!l->dir)
			app_message(&cv->ra->app, "l unfolds a directory; Enter shows the diff");
		else if (!t->nodes[l->idx].open)
			fold(v, l->idx, true);
		if (l->dir && v->sel + 1 < t->nrows)
			v->sel++;
		return VIEW_DONE;
	}
	/* h: fold the open directory selected, else the one that holds the line. */
	k = l->dir && t->nodes[l->idx].open ? l->idx : shown_dir(t, l);
	if (k == TREE_NONE)
		app_message(&cv->ra->app, "nothing above to fold");
	else
		fold(v, k, false);
	return VIEW_DONE;
}

/* f: the next filter. The conflicts one needs every change checked first. */
static int filter_request(struct view *v)
{
	struct changes_view *cv = v->data;
	struct review_app *ra = cv->ra;
	struct tree *t = &ra->tree;

	t->filter = (t->filter + 1) % FILTER_N;
	if (t->filter == FILTER_CONFLICTS && ra->next_check < ra->r->nchanges) {
		app_message(&ra->app, "checking %zu changes for conflicts with the host...",
			    ra->r->nchanges - ra->next_check);
		app_draw(&ra->app);
		while (ra->app.idle && ra->app.idle(&ra->app))
			;
		ra->app.idle = NULL;
	}
	tree_count(t);
	ra->dirty = false;
	ra->counted = ra->nconflicts;
	relist(v);
	if (t->filter)
		app_message(&ra->app, "showing %s changes only (f: the next filter)",
			    filter_names[t->filter]);
	else
		app_message(&ra->app, "showing every change");
	return VIEW_DONE;
}

/* ] and [: the next or previous undecided change, unfolding what hides it. */
static int jump_request(struct view *v, bool forward)
{
	struct changes_view *cv = v->data;
	struct tree *t = &cv->ra->tree;
	const struct tree_row *l = sel_row(v);
	size_t pos = TREE_NONE, i;

	if (l && !l->dir)
		pos = t->pos[l->idx];
	else if (l)
		pos = forward ? (t->nodes[l->idx].first ? t->nodes[l->idx].first - 1 : TREE_NONE)
			      : t->nodes[l->idx].first;
	i = tree_next_undecided(t, pos, forward);
	if (i == TREE_NONE) {
		app_message(&cv->ra->app, "no undecided change %s", forward ? "below" : "above");
		return VIEW_DONE;
	}
	tree_reveal(t, i);
	tree_rows(t);
	select_row(v, tree_row_of(t, i).idx, tree_row_of(t, i).dir);
	return VIEW_DONE;
}

/* j and k step over the lines of open directories: their changes follow at once. */
static int move_request(struct view *v, bool down)
{
	struct changes_view *cv = v->data;
	const struct tree *t = &cv->ra->tree;
	size_t i = v->sel, n = t->nrows;

	while (down ? i + 1 < n : i > 0) {
		i = down ? i + 1 : i - 1;
		if (!t->rows[i].dir || !t->nodes[t->rows[i].idx].open) {
			v->sel = i;
			break;
		}
	}
	return VIEW_DONE;
}

static int tree_request(struct view *v, enum ui_req req)
{
	switch (req) {
	case UI_REQ_DOWN:
	case UI_REQ_UP:
		return move_request(v, req == UI_REQ_DOWN);
	case UI_REQ_ENTER:
	case UI_REQ_FOLD:
	case UI_REQ_UNFOLD:
		return fold_request(v, req);
	case UI_REQ_FILTER:
		return filter_request(v);
	case UI_REQ_NEXT_UNDECIDED:
	case UI_REQ_PREV_UNDECIDED:
		return jump_request(v, req == UI_REQ_NEXT_UNDECIDED);
	default:
		return VIEW_UNHANDLED;
	}
}

static int changes_request(struct view *v, enum ui_req req)
{
	struct changes_view *cv = v->data;
	struct review_app *ra = cv->ra;
	const struct tree_row *l;
	int rc;

	tree_sync(v);
	l = sel_row(v);
	if (is_tree(cv) && (rc = tree_request(v, req)) != VIEW_UNHANDLED)
		return rc;
	switch (req) {
	case UI_REQ_APPROVE:
	case UI_REQ_DENY:
	case UI_REQ_TOGGLE:
		if (!l)
			return VIEW_DONE;
		if (l->dir)
			return dir_request(ra, l->idx, req);
		set_one(ra, l->idx, req);
		if (is_tree(cv))
			move_request(v, true);
		else if (v->sel + 1 < nrows(cv))
			v->sel++;
		return VIEW_DONE;
	case UI_REQ_APPROVE_ALL:
	case UI_REQ_DENY_ALL:
		return all_request(v, req);
	case UI_REQ_ENTER:
		if (l && !l->dir)
			open_diff(ra, l->idx);
		return VIEW_DONE;
	case UI_REQ_APPROVE_STEP:
	case UI_REQ_DENY_STEP: {
		const struct ui_change *c = l && !l->dir ? &ra->r->changes[l->idx] : NULL;

		return step_request(ra, c && c->nsteps ? c->steps[0] : 0, req);
	}
	default:
		return review_request(ra, req);
	}
}

static void changes_free(struct view *v)
{
	struct changes_view *cv = v->data;

	free(cv->rows);
	free(cv->title);
	free(cv);
}

static const struct view_ops changes_ops = {
	.count = changes_count,
	.draw = changes_draw,
	.text = changes_text,
	.request = changes_request,
	.status = changes_status,
	.title = changes_title,
	.free = changes_free,
};

static struct view *changes_view_new(struct review_app *ra)
{
	struct view *v = xcalloc(1, sizeof(*v));
	struct changes_view *cv = xcalloc(1, sizeof(*cv));

	cv->ra = ra;
	if (!ra->have_tree) {
		tree_build(&ra->tree, ra->r);
		ra->have_tree = true;
		ra->counted = ra->nconflicts;
	}
	v->ops = &changes_ops;
	v->data = cv;
	/* Start on the first line j would stop on rather than on an open directory. */
	v->sel = 0;
	if (ra->tree.nrows && ra->tree.rows[0].dir && ra->tree.nodes[ra->tree.rows[0].idx].open)
		move_request(v, true);
	return v;
}

static struct view *files_view_new(struct review_app *ra, size_t cmd)
{
	struct ui_command *c = &ra->r->commands[cmd];
	struct view *v = xcalloc(1, sizeof(*v));
	struct changes_view *cv = xcalloc(1, sizeof(*cv));
	size_t i;

	cv->ra = ra;
	cv->rows = xcalloc(c->nfiles ? c->nfiles : 1, sizeof(*cv->rows));
	for (i = 0; i < c->nfiles; i++)
		cv->rows[cv->n++] = (struct tree_row){c->files[i], false};
	cv->title = xasprintf("files changed by: %s", c->argv);
	v->ops = &changes_ops;
	v->data = cv;
	return v;
}

/* --- the diff of one change ---------------------------------------------------------- */

/* The letters of the diff's hunks: the file's own, or its whole decision's for each. */
static const char *diff_states(void *ctx)
{
	struct review_app *ra = ctx;
	const struct ui_change *c = &ra->r->changes[ra->diff_change];

	if (c->hunks)
		return c->hunks;
	free(ra->whole);
	ra->whole = xcalloc(ra->diff_hunks + 1, 1);
	memset(ra->whole,
	       c->decision == UI_APPROVED ? 'a'
	       : c->decision == UI_DENIED ? 'd'
					  : 'u',
	       ra->diff_hunks);
	return ra->whole;
}

/* a or d on the hunk under the cursor, then on to the next one. */
static int decide_hunk(struct review_app *ra, enum ui_req req)
{
	size_t h = text_view_hunk(ra->diff_view), n = ra->diff_hunks;
	const struct ui_change *c = &ra->r->changes[ra->diff_change];
	struct buf b = BUF_INIT;

	ui_set_hunk(ra->r, ra->diff_change, n, h, req == UI_REQ_APPROVE ? 'a' : 'd');
	/* The file's decision may have changed with it: the tree counts again. */
	ra->dirty = true;
	buf_init(&b);
	buf_addf(&b, "hunk %zu of %zu %s; the file: %s", h + 1, n,
		 req == UI_REQ_APPROVE ? "approved" : "denied", decision_word(c->decision));
	add_hunks(&b, c);
	app_message(&ra->app, "%s", b.data);
	buf_release(&b);
	text_view_next_hunk(ra->diff_view);
	return VIEW_DONE;
}

/* J and K: the diff of the next or previous change of the list the diff was opened from. */
static int step_file(struct review_app *ra, int dir)
{
	struct view *list = ra->app.depth >= 2 ? ra->app.stack[ra->app.depth - 2] : NULL;
	struct changes_view *cv = list && list->ops == &changes_ops ? list->data : NULL;
	size_t sel;

	if (!cv) {
		app_message(&ra->app, "no list of changes below this diff");
		return VIEW_DONE;
	}
	/* Directory rows are skipped; a folded directory's changes are not on the list. */
	for (sel = list->sel; dir > 0 ? sel + 1 < nrows(cv) : sel > 0;) {
		sel = dir > 0 ? sel + 1 : sel - 1;
		if (row_at(cv, sel)->dir)
			continue;
		list->sel = sel;
		app_pop(&ra->app);
		open_diff(ra, row_at(cv, sel)->idx);
		return VIEW_DONE;
	}
	app_message(&ra->app,
		    dir > 0 ? "the last change of the list" : "the first change of the list");
	return VIEW_DONE;
}

static int diff_forward(void *ctx, enum ui_req req)
{
	struct review_app *ra = ctx;

	if ((req == UI_REQ_APPROVE || req == UI_REQ_DENY) && ra->diff_hunks)
		return decide_hunk(ra, req);
	if (req == UI_REQ_APPROVE || req == UI_REQ_DENY || req == UI_REQ_APPROVE_ALL ||
	    req == UI_REQ_DENY_ALL) {
		set_one(ra, ra->diff_change,
			req == UI_REQ_APPROVE || req == UI_REQ_APPROVE_ALL ? UI_REQ_APPROVE
									   : UI_REQ_DENY);
		app_message(&ra->app, "the whole file: %s",
			    decision_word(ra->r->changes[ra->diff_change].decision));
		return VIEW_DONE;
	}
	if (req == UI_REQ_NEXT_FILE || req == UI_REQ_PREV_FILE)
		return step_file(ra, req == UI_REQ_NEXT_FILE ? 1 : -1);
	if (req == UI_REQ_COMMIT)
		return finish_commit(ra);
	return VIEW_UNHANDLED;
}

static void diff_status(void *ctx, struct buf *l1, struct buf *l2)
{
	struct review_app *ra = ctx;
	size_t h = ra->diff_hunks ? text_view_hunk(ra->diff_view) : SIZE_MAX;

	if (h != SIZE_MAX) {
		char c = diff_states(ra)[h];

		buf_addf(l1, "hunk %zu of %zu: %s; ", h + 1, ra->diff_hunks,
			 c == 'a'   ? "approved"
			 : c == 'd' ? "denied"
				    : "undecided");
	}
	change_status(ra, ra->diff_change, l1, l2);
}

static void describe_mode(struct buf *b, mode_t m)
{
	const char *t = S_ISDIR(m)    ? "directory"
			: S_ISLNK(m)  ? "symlink"
			: S_ISREG(m)  ? "file"
			: S_ISFIFO(m) ? "fifo"
			: S_ISSOCK(m) ? "socket"
				      : "device";

	buf_addf(b, "%s %04o", t, (unsigned)(m & 07777));
}

static void open_diff(struct review_app *ra, size_t i)
{
	struct ui_review *r = ra->r;
	struct ui_change *c = &r->changes[i];
	struct buf b = BUF_INIT;
	cleanup_free char *patch = NULL;
	cleanup_free char *title = NULL;
	size_t len = 0, nh = 0;
	struct view *v;

	buf_init(&b);
	buf_addf(&b, "%s: ", c->kind);
	if (c->old_mode)
		describe_mode(&b, c->old_mode);
	/* The same type: only the permissions, "file 0644 -> 0755". */
	if (c->old_mode && c->mode && (c->old_mode & S_IFMT) == (c->mode & S_IFMT)) {
		if ((c->old_mode & 07777) != (c->mode & 07777))
			buf_addf(&b, " -> %04o", (unsigned)(c->mode & 07777));
	} else {
		if (c->old_mode && c->mode)
			buf_adds(&b, " -> ");
		if (c->mode)
			describe_mode(&b, c->mode);
	}
	if (S_ISREG(c->old_mode) || S_ISREG(c->mode)) {
		char from[32], to[32];

		human_size(from, sizeof(from), (long long)c->old_size);
		human_size(to, sizeof(to), (long long)c->size);
		buf_addf(&b, ", %s -> %s", from, to);
	}
	buf_addc(&b, '\n');
	if (c->link_target)
		buf_addf(&b, "symlink to: %s\n", c->link_target);
	if (c->renamed)
		buf_addf(&b, "renamed, %d%% similar: one decision for its deletion and addition\n",
			 c->similarity);
	check_conflict(ra, i);
	if (c->conflict_state >= 2)
		buf_addf(&b, "CONFLICT: %s\n", c->conflict);
	buf_addc(&b, '\n');
	if (S_ISDIR(c->mode) && strcmp(c->kind, "dir-replaced") != 0 &&
	    strcmp(c->kind, "type-changed") != 0) {
		buf_adds(&b, "A directory: what it holds is listed as changes of their own.\n");
	} else if (r->diff && (patch = r->diff(r->ctx, i, &len))) {
		if (len == 0)
			buf_adds(&b, "(no content change)\n");
		/* Hunks to decide one by one: of this very patch, or none. */
		if (r->hunks)
			nh = r->hunks(r->ctx, i, patch, len);
		if (nh)
			buf_adds(&b,
				 "a and d decide the hunk marked >, A and D the whole file\n\n");
		buf_add(&b, patch, len);
	} else {
		buf_adds(&b, "(the diff could not be made: see the message below)\n");
	}
	title = xasprintf("diff: %s", c->path);
	v = text_view_new(title, b.data, b.len, true);
	buf_release(&b);
	ra->diff_change = i;
	ra->diff_hunks = nh;
	ra->diff_view = v;
	text_view_forward(v, diff_forward, diff_status, ra);
	if (nh)
		text_view_hunks(v, nh, diff_states);
	if (text_view_hunk(v) == SIZE_MAX)
		ra->diff_hunks = 0; /* the view has another number of hunks: decide it whole */
	app_push(&ra->app, v);
}

/* --- commands ------------------------------------------------------------------------ */

static size_t commands_count(struct view *v)
{
	return ((struct review_app *)v->data)->r->ncommands;
}

static bool was_denied(const struct ui_command *c)
{
	return c->ran && strcmp(c->ran, "deny") == 0;
}

static void commands_draw(struct view *v, size_t i, int y, int width, bool selected)
{
	struct review_app *ra = v->data;
	struct ui_command *c = &ra->r->commands[i];
	attr_t sel = selected ? A_REVERSE : 0;
	char what[32];
	int x;

	term_blank(y, width, sel);
	if (was_denied(c))
		x = term_put(y, 1, 3, "[x]", term_color(PAIR_DENIED) | sel | A_BOLD);
	else if (c->done)
		x = term_put(y, 1, 3, "[=]", sel | A_BOLD); /* ran: nothing left to decide */
	else
		x = term_put(y, 1, 3, decision_mark(c->decision),
			     term_color(decision_pair(c->decision)) | sel | A_BOLD);
	if (c->defer_index)
		snprintf(what, sizeof(what), "deferred #%u", c->defer_index);
	else if (was_denied(c))
		snprintf(what, sizeof(what), "denied");
	else
		snprintf(what, sizeof(what), "%zu file%s", c->nfiles, c->nfiles == 1 ? "" : "s");
	term_put(y, x + 2, 12, what, sel);
	if (c->step) {
		char st[16];

		snprintf(st, sizeof(st), "[%u] ", c->step);
		x = 18 + term_put(y, 18, 8, st, sel | A_BOLD);
		term_put(y, x, width - x - 1, c->argv, sel);
	} else {
		term_put(y, 18, width - 19, c->argv, sel);
	}
}

static char *commands_text(struct view *v, size_t i)
{
	const struct ui_command *c = &((struct review_app *)v->data)->r->commands[i];

	return c->step ? xasprintf("[%u] %s", c->step, c->argv) : xstrdup(c->argv);
}

static void commands_status(struct view *v, struct buf *l1, struct buf *l2)
{
	struct review_app *ra = v->data;
	struct ui_command *c;

	if (ra->r->ncommands == 0) {
		buf_adds(l1, "no commands ran");
		return;
	}
	c = &ra->r->commands[v->sel];
	if (was_denied(c))
		buf_addf(l1, "denied when it ran (%s): it did not run, nothing to apply", c->by);
	else if (c->done)
		buf_addf(l1, "ran on the host already (%s): done, it runs at most once", c->done);
	else if (c->defer_index)
		buf_addf(l1,
			 "%s%s%s: deferred (%s); runs on the host after the commit when approved",
			 decision_word(c->decision), c->set_by ? " by " : "",
			 c->set_by ? c->set_by : "", c->by);
	else
		buf_addf(l1, "%s%s: ran (%s %s); its decision applies to the %zu change%s it made",
			 decision_word(c->decision), c->set_by ? " by you" : "", c->ran, c->by,
			 c->nfiles, c->nfiles == 1 ? "" : "s");
	if (c->done)
		buf_addf(l2, "%s%s; ran %s in %s",
			 c->output ? "output kept in the session as " : "no output kept",
			 c->output ? c->output : "", c->exe ? c->exe : "?", c->cwd ? c->cwd : "?");
	else if (c->defer_index)
		buf_addf(l2, "runs %s in %s, with your environment", c->exe ? c->exe : "?",
			 c->cwd ? c->cwd : "?");
	else
		buf_addf(l2, "pid %ld  %s", c->pid, c->exe ? c->exe : "");
}

static void commands_title(struct view *v, struct buf *out)
{
	(void)v;
	(void)out;
}

static int commands_request(struct view *v, enum ui_req req)
{
	struct review_app *ra = v->data;
	struct ui_review *r = ra->r;
	struct ui_command *c = r->ncommands ? &r->commands[v->sel] : NULL;
	enum ui_decision d;
	size_t i, n;

	switch (req) {
	case UI_REQ_APPROVE:
	case UI_REQ_DENY:
	case UI_REQ_TOGGLE:
		if (!c)
			return VIEW_DONE;
		d = wanted(req, c->decision);
		if (!was_denied(c) &&
		    !confirm_many(ra, c->nfiles, "%s this command and the %zu changes it made",
				  d == UI_APPROVED ? "Approve" : "Deny", c->nfiles))
			return VIEW_DONE;
		ra->dirty = true;
		if (c->done)
			app_message(&ra->app, "this deferred command ran on the host already: it "
					      "runs at most once");
		else if (!ui_set_command(r, v->sel, d))
			app_message(&ra->app,
				    "this command was denied when it ran: nothing to apply");
		else if (v->sel + 1 < r->ncommands)
			v->sel++;
		return VIEW_DONE;
	case UI_REQ_APPROVE_ALL:
	case UI_REQ_DENY_ALL:
		d = wanted(req, UI_UNDECIDED);
		if (!confirm_many(ra, r->ncommands + r->nchanges,
				  "%s all %zu commands and every change they made",
				  d == UI_APPROVED ? "Approve" : "Deny", r->ncommands))
			return VIEW_DONE;
		for (i = 0, n = 0; i < r->ncommands; i++)
			n += ui_set_command(r, i, d);
		ra->dirty = true;
		if (n == r->ncommands)
			app_message(&ra->app, "%s every command and the changes they made",
				    decision_word(d));
		else
			app_message(&ra->app,
				    "%s %zu of %zu commands and their changes (%zu ran already, "
				    "or were denied)",
				    decision_word(d), n, r->ncommands, r->ncommands - n);
		return VIEW_DONE;
	case UI_REQ_ENTER:
		if (!c)
			return VIEW_DONE;
		if (c->nfiles == 0)
			app_message(&ra->app, "this command changed no file");
		else
			app_push(&ra->app, files_view_new(ra, v->sel));
		return VIEW_DONE;
	case UI_REQ_APPROVE_STEP:
	case UI_REQ_DENY_STEP:
		return step_request(ra, c ? c->step : 0, req);
	default:
		return review_request(ra, req);
	}
}

static const struct view_ops commands_ops = {
	.count = commands_count,
	.draw = commands_draw,
	.text = commands_text,
	.request = commands_request,
	.status = commands_status,
	.title = commands_title,
};

/* --- connections --------------------------------------------------------------------- */

static size_t conns_count(struct view *v)
{
	return ((struct review_app *)v->data)->r->nconns;
}

static void conns_draw(struct view *v, size_t i, int y, int width, bool selected)
{
	struct review_app *ra = v->data;
	struct ui_connection *c = &ra->r->conns[i];
	attr_t sel = selected ? A_REVERSE : 0;
	bool allowed = c->decision && strcmp(c->decision, "allow") == 0;
	int x;

	term_blank(y, width, sel);
	term_put(y, 1, 6, c->decision ? c->decision : "?",
		 term_color(allowed ? PAIR_APPROVED : PAIR_DENIED) | sel | A_BOLD);
	x = 8 + term_put(y, 8, width - 9, c->name ? c->name : c->target, sel);
	if (c->name && x + 3 < width) {
		x += term_put(y, x, width - x, " (", sel);
		x += term_put(y, x, width - x - 1, c->target, sel);
		term_put(y, x, width - x, ")", sel);
	}
}

static char *conns_text(struct view *v, size_t i)
{
	struct ui_connection *c = &((struct review_app *)v->data)->r->conns[i];

	return xasprintf("%s %s", c->target, c->name ? c->name : "");
}

static void conns_status(struct view *v, struct buf *l1, struct buf *l2)
{
	struct review_app *ra = v->data;
	struct ui_connection *c;

	if (ra->r->nconns == 0) {
		buf_adds(l1, "no connections were tried");
		return;
	}
	c = &ra->r->conns[v->sel];
	buf_addf(l1, "%s by %s, when the program ran (nothing to decide now)", c->decision,
		 c->by ? c->by : "?");
	buf_addf(l2, "from: %s", c->argv ? c->argv : "?");
}

static int conns_request(struct view *v, enum ui_req req)
{
	struct review_app *ra = v->data;

	switch (req) {
	case UI_REQ_APPROVE:
	case UI_REQ_DENY:
	case UI_REQ_TOGGLE:
	case UI_REQ_APPROVE_ALL:
	case UI_REQ_DENY_ALL:
	case UI_REQ_ENTER:
		app_message(&ra->app, "connections were decided when the program ran");
		return VIEW_DONE;
	default:
		return review_request(ra, req);
	}
}

static const struct view_ops conns_ops = {
	.count = conns_count,
	.draw = conns_draw,
	.text = conns_text,
	.request = conns_request,
	.status = conns_status,
	.title = commands_title,
};

static struct view *switch_to(struct review_app *ra, enum root_view to)
{
	struct view *v;

	ra->root = to;
	if (to == ROOT_CHANGES)
		return changes_view_new(ra);
	v = xcalloc(1, sizeof(*v));
	v->ops = to == ROOT_COMMANDS ? &commands_ops : &conns_ops;
	v->data = ra;
	return v;
}

/* --- the whole review ---------------------------------------------------------------- */

/* A part of the review's title, and when it goes if the title is wider than the screen. */
struct title_part {
	char text[160];
	int drop; /* the order in which parts go: lowest first; 0 never; -1 gone */
	int sep;  /* spaces before it, unless it comes first */
};

static void add_part(struct title_part *p, size_t *n, int drop, int sep, const char *fmt, ...)
	__attribute__((format(printf, 5, 6)));

static void add_part(struct title_part *p, size_t *n, int drop, int sep, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(p[*n].text, sizeof(p[*n].text), fmt, ap);
	va_end(ap);
	p[*n].drop = drop;
	p[(*n)++].sep = sep;
}

/* The title's width with the parts not dropped. */
static int title_width(const struct title_part *p, size_t n)
{
	int w = 0;
	size_t i;

	for (i = 0; i < n; i++)
		if (p[i].drop >= 0)
			w += (w ? p[i].sep : 0) + term_width(p[i].text);
	return w;
}

/* Drop parts, lowest rank first, until the rest fits room columns; then add them to out. */
static void fit_parts(struct title_part *p, size_t n, int room, struct buf *out)
{
	size_t i;
	int rank;

	for (rank = 1; rank <= 7 && title_width(p, n) > room; rank++)
		for (i = 0; i < n; i++)
			if (p[i].drop == rank)
				p[i].drop = -1;
	for (i = 0; i < n; i++)
		if (p[i].drop >= 0)
			buf_addf(out, "%.*s%s", out->len ? p[i].sep : 0, "  ", p[i].text);
}

/* Over a diff or another view: the session, as room is left by the view's own title. */
static void view_title(struct review_app *ra, struct buf *out)
{
	struct view *v = ra->app.stack[ra->app.depth - 1];
	struct title_part p[3];
	struct buf own = BUF_INIT;
	size_t n = 0;

	buf_init(&own);
	if (v->ops->title)
		v->ops->title(v, &own);
	add_part(p, &n, 2, 1, "airlock");
	add_part(p, &n, 1, 1, "review");
	add_part(p, &n, 3, 1, "%s", ra->r->id);
	fit_parts(p, n, COLS - 3 - term_width(own.data), out);
	if (out->len)
		buf_adds(out, " "); /* the view's own title follows */
	buf_release(&own);
}

/*
 * The header, made to fit the screen: the counts of the list shown (and its filter) stay, the
 * rest goes as room runs out, the least useful first: the views with nothing in them, the
 * word "review", then "airlock", the session's ID, how the program ended, the other views'
 * counts, and last the note (which warns).
 */
static void review_title(struct app *app, struct buf *out)
{
	struct review_app *ra = (struct review_app *)app;
	static const char *const names[] = {"Changes", "Commands", "Connections"};
	size_t counts[3] = {ra->r->nchanges, ra->r->ncommands, ra->r->nconns};
	struct title_part p[9];
	size_t n = 0, i;

	if (app->depth > 1) {
		view_title(ra, out);
		return;
	}
	add_part(p, &n, 3, 1, "airlock");
	add_part(p, &n, 2, 1, "review");
	add_part(p, &n, 4, 1, "%s", ra->r->id);
	add_part(p, &n, ra->r->ended ? 5 : -1, 1, "(%s)", ra->r->ended ? ra->r->ended : "");
	for (i = 0; i < 3; i++) {
		char total[96] = "";

		if (i != (size_t)ra->root) {
			add_part(p, &n, counts[i] ? 6 : 1, 2, "%s %zu", names[i], counts[i]);
			continue;
		}
		/* The header's total, and the filter: what the list shows. */
		if (i == ROOT_CHANGES && ra->have_tree) {
			counts_text(total, sizeof(total), ra->tree.total);
			add_part(p, &n, 0, 2, "[%s %zu%s%s: %s]", names[i], counts[i],
				 ra->tree.filter ? ", only " : "",
				 ra->tree.filter ? filter_names[ra->tree.filter] : "", total);
		} else {
			add_part(p, &n, 0, 2, "[%s %zu]", names[i], counts[i]);
		}
	}
	add_part(p, &n, ra->r->note ? 7 : -1, 2, "%s", ra->r->note ? ra->r->note : "");
	fit_parts(p, n, COLS, out);
}

static bool review_idle(struct app *app)
{
	struct review_app *ra = (struct review_app *)app;
	size_t end = ra->next_check + CONFLICT_CHUNK;

	for (; ra->next_check < ra->r->nchanges && ra->next_check < end; ra->next_check++)
		check_conflict(ra, ra->next_check);
	return ra->next_check < ra->r->nchanges;
}

/* What the commit would do, counted for its summary. */
struct tally {
	size_t appr, den, und, risky, conf, unsafe, defer;
	size_t part; /* approved in part: only their approved hunks */
	const char *first_conf;
};

/* The conflict checks not done in the background yet: the summary needs them all. */
static void finish_checks(struct review_app *ra)
{
	if (ra->next_check >= ra->r->nchanges)
		return;
	app_message(&ra->app, "checking %zu changes for conflicts with the host...",
		    ra->r->nchanges - ra->next_check);
	app_draw(&ra->app);
	while (review_idle(&ra->app))
		;
	ra->app.idle = NULL;
	buf_reset(&ra->app.message);
}

static void count_decisions(const struct ui_review *r, struct tally *t)
{
	size_t i;

	memset(t, 0, sizeof(*t));
	for (i = 0; i < r->nchanges; i++) {
		const struct ui_change *c = &r->changes[i];

		if (c->decision == UI_APPROVED) {
			t->appr++;
			t->part += c->hunks != NULL;
			if (c->conflict_state >= 2 && !t->first_conf)
				t->first_conf = c->path;
			t->conf += c->conflict_state >= 2;
			t->unsafe += c->conflict_state == 3;
		} else {
			t->den += c->decision == UI_DENIED;
			t->und += c->decision == UI_UNDECIDED;
			t->risky += c->decision == UI_UNDECIDED && c->risk;
		}
	}
	for (i = 0; i < r->ncommands; i++)
		t->defer += r->commands[i].defer_index && !r->commands[i].done &&
			    r->commands[i].decision == UI_APPROVED;
}

/* The approved deferred commands, the first few by name. Returns the lines added. */
static size_t deferred_lines(const struct ui_review *r, const struct tally *t, char **lines)
{
	size_t i, nl = 0, shown = 0;

	lines[nl++] = xasprintf("Then run %zu approved deferred command%s on the host, "
				"with your environment:",
				t->defer, t->defer == 1 ? "" : "s");
	for (i = 0; i < r->ncommands; i++) {
		const struct ui_command *c = &r->commands[i];

		if (!c->defer_index || c->done || c->decision != UI_APPROVED)
			continue;
		if (shown == MAX_SHOWN_DEFERRED) {
			lines[nl++] = xasprintf("  ... and %zu more", t->defer - shown);
			break;
		}
		shown++;
		lines[nl++] = xasprintf("  #%u %s  (%s in %s)", c->defer_index, c->argv,
					c->exe ? c->exe : "?", c->cwd ? c->cwd : "?");
	}
	return nl;
}

/* The commit's summary, one line each (at most 8 + MAX_SHOWN_DEFERRED). Returns how many. */
static size_t summary_lines(const struct ui_review *r, const struct tally *t, char **lines)
{
	size_t nl = 0;

	lines[nl++] = xasprintf("Apply %zu approved change%s of session %s to the host.", t->appr,
				t->appr == 1 ? "" : "s", r->id);
	if (t->part)
		lines[nl++] = xasprintf("%zu of them in part: only their approved hunks.", t->part);
	if (t->risky)
		lines[nl++] =
			xasprintf("Left out: %zu denied, %zu undecided (%zu flagged: they run "
				  "code on the host later).",
				  t->den, t->und, t->risky);
	else
		lines[nl++] = xasprintf("Left out: %zu denied, %zu undecided.", t->den, t->und);
	if (t->defer)
		nl += deferred_lines(r, t, lines + nl);
	if (t->conf) {
		lines[nl++] = xasprintf("%zu approved change%s CONFLICT with the host (marked !), "
					"e.g. %s:",
					t->conf, t->conf == 1 ? "" : "s", t->first_conf);
		lines[nl++] =
			xstrdup(t->unsafe ? "some cannot be applied at all: the commit will "
					    "refuse them"
					  : "y overwrites what changed on the host (as commit "
					    "--force); deny them to keep the host's");
	}
	if (t->appr)
		lines[nl++] = xstrdup("'airlock undo' takes the changes to files back.");
	if (t->defer)
		lines[nl++] =
			xstrdup("What the deferred commands do on the host cannot be undone.");
	return nl;
}

static int finish_commit(struct review_app *ra)
{
	char *lines[9 + MAX_SHOWN_DEFERRED + 1] = {0};
	struct tally t;
	size_t i, nl;
	bool yes;

	finish_checks(ra);
	count_decisions(ra->r, &t);
	if (t.appr == 0 && t.defer == 0) {
		app_message(&ra->app, "nothing is approved: nothing to commit (q quits)");
		return VIEW_DONE;
	}
	nl = summary_lines(ra->r, &t, lines);
	yes = app_confirm(&ra->app, (const char *const *)lines, nl);
	for (i = 0; i < nl; i++)
		free(lines[i]);
	if (!yes) {
		app_message(&ra->app, "not committed");
		return VIEW_DONE;
	}
	ra->force = t.conf > 0;
	ra->app.result = UI_COMMIT;
	return VIEW_EXIT;
}

/* Decisions the person changed in this review: changes, and deferred commands. */
static size_t changed_decisions(const struct review_app *ra, size_t *deferred)
{
	const struct ui_review *r = ra->r;
	size_t i, n = 0;

	*deferred = 0;
	for (i = 0; i < r->nchanges; i++) {
		const char *h = r->changes[i].hunks, *was = ra->first_hunks[i];

		/* A hunk decided is a decision changed, though the file stays approved. */
		n += r->changes[i].decision != ra->first[i] ||
		     ((h || was) && (!h || !was || strcmp(h, was) != 0));
	}
	for (i = 0; i < r->ncommands; i++)
		*deferred += r->commands[i].defer_index &&
			     r->commands[i].decision != ra->first[r->nchanges + i];
	return n + *deferred;
}

/*
 * q: leave. Decisions on changes and deferred commands are saved in the session as they are
 * made (ui_review.decided), so the question says what stays and what goes.
 */
static int quit_request(struct review_app *ra)
{
	const char *lines[3];
	cleanup_free char *l0 = NULL, *l1 = NULL;
	size_t deferred, n = changed_decisions(ra, &deferred), nl = 0;

	if (n == 0)
		return VIEW_EXIT;
	if (deferred)
		l0 = xasprintf("You changed %zu decision%s (%zu on deferred commands) and did not "
			       "commit.",
			       n, n == 1 ? "" : "s", deferred);
	else
		l0 = xasprintf("You changed %zu decision%s and did not commit.", n,
			       n == 1 ? "" : "s");
	lines[nl++] = l0;
	if (ra->r->decided) {
		l1 = xasprintf("Decisions on changes%s are saved in the session: 'airlock review "
			       "%s' starts from them again.",
			       deferred ? " and deferred commands" : "", ra->r->id);
		lines[nl++] = l1;
	} else {
		lines[nl++] = "They are not saved anywhere.";
	}
	if (app_ask(&ra->app, lines, nl, "Quit without committing? y: yes, n: no"))
		return VIEW_EXIT;
	app_message(&ra->app, "still reviewing: c commits");
	return VIEW_DONE;
}

static void review_after(struct app *app)
{
	struct review_app *ra = (struct review_app *)app;

	if (ra->r->decided)
		ra->r->decided(ra->r->ctx);
}

int ui_review_run(struct ui_review *r, bool *force)
{
	struct review_app ra = {.r = r};
	size_t i;
	int rc;

	*force = false;
	ui_loading_done();
	rc = term_open();
	if (rc < 0)
		return rc;
	ra.first = xcalloc(r->nchanges + r->ncommands + 1, sizeof(*ra.first));
	ra.first_hunks = xcalloc(r->nchanges + 1, sizeof(*ra.first_hunks));
	for (i = 0; i < r->nchanges; i++) {
		ra.first[i] = r->changes[i].decision;
		if (r->changes[i].hunks)
			ra.first_hunks[i] = xstrdup(r->changes[i].hunks);
	}
	for (i = 0; i < r->ncommands; i++)
		ra.first[r->nchanges + i] = r->commands[i].decision;
	ra.app.where = UI_REVIEW;
	ra.app.name = "review";
	ra.app.title = review_title;
	ra.app.idle = r->nchanges ? review_idle : NULL;
	ra.app.after = review_after;
	buf_init(&ra.app.message);
	app_push(&ra.app, switch_to(&ra, ROOT_CHANGES));
	rc = app_run(&ra.app);
	app_close(&ra.app);
	free(ra.whole);
	term_close();
	if (ra.have_tree)
		tree_free(&ra.tree);
	free(ra.first);
	for (i = 0; i < r->nchanges; i++)
		free(ra.first_hunks[i]);
	free(ra.first_hunks);
	*force = ra.force;
	return rc;
}
