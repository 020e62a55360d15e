/* SPDX-License-Identifier: MIT */
/*
 * The review: the change list (grouped by directory), the commands, the connections, and the
 * diff of a change; approve, deny, commit. Counts and conflicts are computed when a line is
 * shown, and conflicts for the rest in the background, so the review opens at once whatever
 * the size of the change set.
 */
#include "ui/ui.h"

#include "common/buf.h"
#include "common/cleanup.h"
#include "common/path.h"
#include "ui/term.h"
#include "ui/view.h"

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
};

/* A line of a change list: a directory header or a change. */
struct cline {
	size_t idx; /* the change (for a header: the first change of the directory) */
	bool header;
};

struct changes_view {
	struct review_app *ra;
	struct cline *lines;
	size_t n;
	bool flat; /* full paths, no headers (the files of one command) */
	char *title;
};

static size_t dir_len(const char *path)
{
	const char *slash = strrchr(path, '/');

	return slash ? (size_t)(slash - path) + 1 : 0;
}

/* A change to sort for display, with its directory's length computed once. */
struct sort_key {
	const char *path;
	size_t dir;
	size_t idx;
};

/* Directories in tree order ('/' before every other byte), then names. */
static int cmp_display(const void *a, const void *b)
{
	const struct sort_key *kx = a, *ky = b;
	const char *x = kx->path, *y = ky->path;
	size_t dx = kx->dir, dy = ky->dir, i;

	for (i = 0; i < dx && i < dy && x[i] == y[i]; i++)
		;
	if (i < dx || i < dy) {
		unsigned char cx = i < dx ? (unsigned char)x[i] : 0;
		unsigned char cy = i < dy ? (unsigned char)y[i] : 0;

		if (cx == '/')
			cx = 1;
		if (cy == '/')
			cy = 1;
		if (cx != cy)
			return cx < cy ? -1 : 1;
	}
	return strcmp(x + dx, y + dy);
}

static int cmp_name(const void *a, const void *b)
{
	const struct sort_key *x = a, *y = b;

	return strcmp(x->path + x->dir, y->path + y->dir);
}

/* One directory of the change list: where its changes start in the display order. */
struct group {
	const char *path; /* of its first change */
	size_t dir;	  /* length of the directory's part */
	size_t n, start;
};

static int cmp_group(const void *a, const void *b)
{
	const struct group *x = a, *y = b;
	struct sort_key kx = {x->path, x->dir, 0}, ky = {y->path, y->dir, 0};

	return cmp_display(&kx, &ky);
}

static size_t hash_dir(const char *p, size_t n)
{
	size_t h = 14695981039346656037ULL;

	while (n--)
		h = (h ^ (unsigned char)*p++) * 1099511628211ULL;
	return h;
}

/*
 * The changes in display order (cmp_display). Sorting 100,000 paths that share long prefixes
 * with that comparator cost more than anything else at start-up: group them by directory
 * with a hash table instead, sort the directories, and sort each directory's names only when
 * they do not come sorted already (a change set of one overlay does). Caller frees.
 */
static struct sort_key *display_order(const struct ui_review *r)
{
	size_t n = r->nchanges, cap = 64, ng = 0, i, *slot, *gi;
	struct group *g = xcalloc(n + 1, sizeof(*g));
	struct sort_key *out = xcalloc(n + 1, sizeof(*out));

	while (cap < 2 * n)
		cap *= 2;
	slot = xcalloc(cap, sizeof(*slot)); /* group index + 1; 0 empty */
	gi = xcalloc(n + 1, sizeof(*gi));
	for (i = 0; i < n; i++) {
		const char *p = r->changes[i].path;
		size_t d = dir_len(p), h = hash_dir(p, d) & (cap - 1);

		while (slot[h] &&
		       !(g[slot[h] - 1].dir == d && memcmp(g[slot[h] - 1].path, p, d) == 0))
			h = (h + 1) & (cap - 1);
		if (!slot[h]) {
			g[ng] = (struct group){p, d, 0, 0};
			slot[h] = ++ng;
		}
		gi[i] = slot[h] - 1;
		g[gi[i]].n++;
	}
	/* Sort the directories, remembering where each group went. */
	for (i = 0; i < ng; i++)
		g[i].start = i;
	qsort(g, ng, sizeof(*g), cmp_group);
	{
		size_t *where = xcalloc(ng + 1, sizeof(*where)), pos = 0;

		for (i = 0; i < ng; i++) {
			where[g[i].start] = i;
			g[i].start = pos;
			pos += g[i].n;
			g[i].n = 0;
		}
		for (i = 0; i < n; i++) {
			struct group *grp = &g[where[gi[i]]];

			out[grp->start + grp->n++] =
				(struct sort_key){r->changes[i].path, grp->dir, i};
		}
		free(where);
	}
	for (i = 0; i < ng; i++) {
		struct sort_key *k = out + g[i].start;
		size_t j;

		for (j = 1; j < g[i].n && cmp_name(&k[j - 1], &k[j]) < 0; j++)
			;
		if (j < g[i].n)
			qsort(k, g[i].n, sizeof(*k), cmp_name);
	}
	free(slot);
	free(gi);
	free(g);
	return out;
}

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

static void check_conflict(struct ui_review *r, size_t i)
{
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

/* --- drawing ------------------------------------------------------------------------- */

/* A rename's name in the list: "old -> new" on the new path's row, "old  (renamed to new)"
   on the old one's; the other path by its name when in the same directory, else in full. */
static char *rename_label(const struct ui_review *r, const struct ui_change *c, bool flat)
{
	const struct ui_change *o = &r->changes[c->rename_other];
	bool same = dir_len(c->path) == dir_len(o->path) &&
		    strncmp(c->path, o->path, dir_len(c->path)) == 0;
	const char *mine = flat ? c->path : c->path + dir_len(c->path);
	const char *other = same && !flat ? o->path + dir_len(o->path) : o->path;

	if (strcmp(c->kind, "deleted") == 0)
		return xasprintf("%s  (renamed to %s)", mine, other);
	if (c->similarity < 100)
		return xasprintf("%s -> %s  (%d%% similar)", other, mine, c->similarity);
	return xasprintf("%s -> %s", other, mine);
}

static void draw_change(struct review_app *ra, size_t i, int y, int width, bool selected, bool flat)
{
	struct ui_review *r = ra->r;
	struct ui_change *c = &r->changes[i];
	attr_t sel = selected ? A_REVERSE : 0;
	char right[40] = "";
	int x, rw;
	cleanup_free char *renamed = c->renamed ? rename_label(r, c, flat) : NULL;
	const char *name = renamed ? renamed : flat ? c->path : c->path + dir_len(c->path);

	check_conflict(r, i);
	count_lines(r, i);
	if (c->added >= 0)
		snprintf(right, sizeof(right), "+%d -%d", c->added, c->removed);
	else if (c->added == -2 && !S_ISDIR(c->mode) && !S_ISDIR(c->old_mode) &&
		 (c->size > COUNT_MAX_SIZE || c->old_size > COUNT_MAX_SIZE))
		snprintf(right, sizeof(right), "%lld bytes", (long long)c->size);
	else if (c->added == -2 && !S_ISDIR(c->mode) && !S_ISDIR(c->old_mode))
		snprintf(right, sizeof(right), "binary");
	/* In the list itself: it runs code on the host later (the status row says why). */
	if (c->risk) {
		char counts[sizeof(right) - 10];

		snprintf(counts, sizeof(counts), "%s", right);
		snprintf(right, sizeof(right), "flagged%s%s", counts[0] ? "  " : "", counts);
	}
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
	x = 14;
	rw = (int)strlen(right);
	x += term_put(y, x, width - x - rw - 2, name, sel);
	if (c->link_target && x + 4 < width - rw - 2) {
		x += term_put(y, x, width - x - rw - 2, " -> ", sel);
		term_put(y, x, width - x - rw - 2, c->link_target, sel);
	}
	if (rw)
		term_put(y, width - rw - 1, rw, right, sel);
}

static void draw_header(struct review_app *ra, size_t i, int y, int width, bool selected)
{
	const char *path = ra->r->changes[i].path;
	cleanup_free char *dir = xstrndup(path, dir_len(path));
	attr_t sel = selected ? A_REVERSE : 0;

	term_blank(y, width, sel);
	term_put(y, 0, width, dir, term_color(PAIR_HEADER) | A_BOLD | sel);
}

/* --- the change lists ---------------------------------------------------------------- */

static size_t changes_count(struct view *v)
{
	return ((struct changes_view *)v->data)->n;
}

static void changes_draw(struct view *v, size_t i, int y, int width, bool selected)
{
	struct changes_view *cv = v->data;

	if (cv->lines[i].header)
		draw_header(cv->ra, cv->lines[i].idx, y, width, selected);
	else
		draw_change(cv->ra, cv->lines[i].idx, y, width, selected, cv->flat);
}

static char *changes_text(struct view *v, size_t i)
{
	struct changes_view *cv = v->data;
	const char *path = cv->ra->r->changes[cv->lines[i].idx].path;

	if (cv->lines[i].header)
		return xstrndup(path, dir_len(path));
	return xstrdup(path);
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

	check_conflict(r, i);
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

static void changes_status(struct view *v, struct buf *l1, struct buf *l2)
{
	struct changes_view *cv = v->data;
	struct cline *l;

	if (cv->n == 0) {
		buf_adds(l1, "no changes");
		return;
	}
	l = &cv->lines[v->sel];
	if (l->header) {
		const char *path = cv->ra->r->changes[l->idx].path;

		buf_addf(l1, "directory %.*s", (int)dir_len(path), path);
		buf_adds(l2, "a, d and Space here apply to every change below it");
		return;
	}
	change_status(cv->ra, l->idx, l1, l2);
}

static void changes_title(struct view *v, struct buf *out)
{
	struct changes_view *cv = v->data;

	if (cv->title)
		buf_adds(out, cv->title);
}

static void set_one(struct review_app *ra, size_t i, enum ui_req req)
{
	struct ui_change *c = &ra->r->changes[i];
	enum ui_decision d = req == UI_REQ_APPROVE	  ? UI_APPROVED
			     : req == UI_REQ_DENY	  ? UI_DENIED
			     : c->decision == UI_APPROVED ? UI_DENIED
							  : UI_APPROVED;

	ui_set_change(ra->r, i, d, "you");
}

/* Every change at or below a directory (a header line). */
static void set_dir(struct review_app *ra, const char *path, enum ui_req req)
{
	cleanup_free char *dir = xstrndup(path, dir_len(path) > 1 ? dir_len(path) - 1 : 1);
	size_t i;

	for (i = 0; i < ra->r->nchanges; i++)
		if (path_is_under(ra->r->changes[i].path, dir))
			set_one(ra, i, req);
}

static void open_diff(struct review_app *ra, size_t i);
static struct view *switch_to(struct review_app *ra, enum root_view to);
static int finish_commit(struct review_app *ra);

/* The requests every review view shares (commit, the view switch). */
/* s and S: the whole step of what is selected (its first, for a change several made). */
static int step_request(struct review_app *ra, unsigned step, enum ui_req req)
{
	enum ui_decision d = req == UI_REQ_APPROVE_STEP ? UI_APPROVED : UI_DENIED;
	size_t n;

	if (!step) {
		app_message(&ra->app, "not part of a step: only a live session's execs are steps");
		return VIEW_DONE;
	}
	n = ui_set_step(ra->r, step, d);
	app_message(&ra->app, "%s step %u: %zu item%s", d == UI_APPROVED ? "approved" : "denied",
		    step, n, n == 1 ? "" : "s");
	return VIEW_DONE;
}

static int review_request(struct review_app *ra, enum ui_req req)
{
	if (req == UI_REQ_COMMIT)
		return finish_commit(ra);
	if (req == UI_REQ_NEXT_VIEW) {
		app_set_root(&ra->app, switch_to(ra, (ra->root + 1) % 3));
		return VIEW_DONE;
	}
	return VIEW_UNHANDLED;
}

static int changes_request(struct view *v, enum ui_req req)
{
	struct changes_view *cv = v->data;
	struct review_app *ra = cv->ra;
	struct cline *l = cv->n ? &cv->lines[v->sel] : NULL;
	size_t i;

	switch (req) {
	case UI_REQ_APPROVE:
	case UI_REQ_DENY:
	case UI_REQ_TOGGLE:
		if (!l)
			return VIEW_DONE;
		if (l->header)
			set_dir(ra, ra->r->changes[l->idx].path, req);
		else
			set_one(ra, l->idx, req);
		if (v->sel + 1 < cv->n && !l->header)
			v->sel++;
		return VIEW_DONE;
	case UI_REQ_APPROVE_ALL:
	case UI_REQ_DENY_ALL:
		/* Set directly: every change of the list gets it, so nothing is left to carry. */
		for (i = 0; i < cv->n; i++) {
			struct ui_change *c = &ra->r->changes[cv->lines[i].idx];

			if (cv->lines[i].header)
				continue;
			c->decision = req == UI_REQ_APPROVE_ALL ? UI_APPROVED : UI_DENIED;
			c->set_by = "you";
		}
		if (cv->flat)
			for (i = 0; i < cv->n; i++)
				if (req == UI_REQ_APPROVE_ALL)
					ui_set_change(ra->r, cv->lines[i].idx, UI_APPROVED, "you");
		app_message(&ra->app, "%s every change of this list",
			    req == UI_REQ_APPROVE_ALL ? "approved" : "denied");
		return VIEW_DONE;
	case UI_REQ_ENTER:
		if (l && !l->header)
			open_diff(ra, l->idx);
		return VIEW_DONE;
	case UI_REQ_APPROVE_STEP:
	case UI_REQ_DENY_STEP: {
		const struct ui_change *c = l ? &ra->r->changes[l->idx] : NULL;

		return step_request(ra, c && c->nsteps ? c->steps[0] : 0, req);
	}
	default:
		return review_request(ra, req);
	}
}

static void changes_free(struct view *v)
{
	struct changes_view *cv = v->data;

	free(cv->lines);
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
	struct ui_review *r = ra->r;
	struct view *v = xcalloc(1, sizeof(*v));
	struct changes_view *cv = xcalloc(1, sizeof(*cv));
	struct sort_key *order = display_order(r);
	size_t i, cap = r->nchanges + 1;

	cv->ra = ra;
	cv->lines = xcalloc(cap, sizeof(*cv->lines));
	for (i = 0; i < r->nchanges; i++) {
		/* A directory's header before its first change. */
		if (i == 0 || order[i - 1].dir != order[i].dir ||
		    memcmp(order[i - 1].path, order[i].path, order[i].dir) != 0) {
			GROW(cv->lines, cap, cv->n + 1);
			cv->lines[cv->n++] = (struct cline){order[i].idx, true};
		}
		GROW(cv->lines, cap, cv->n + 1);
		cv->lines[cv->n++] = (struct cline){order[i].idx, false};
	}
	free(order);
	/* Start on the first change rather than on its directory. */
	v->sel = cv->n > 1 ? 1 : 0;
	v->ops = &changes_ops;
	v->data = cv;
	return v;
}

static struct view *files_view_new(struct review_app *ra, size_t cmd)
{
	struct ui_command *c = &ra->r->commands[cmd];
	struct view *v = xcalloc(1, sizeof(*v));
	struct changes_view *cv = xcalloc(1, sizeof(*cv));
	size_t i;

	cv->ra = ra;
	cv->flat = true;
	cv->lines = xcalloc(c->nfiles ? c->nfiles : 1, sizeof(*cv->lines));
	for (i = 0; i < c->nfiles; i++)
		cv->lines[cv->n++] = (struct cline){c->files[i], false};
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
	for (sel = list->sel; dir > 0 ? sel + 1 < cv->n : sel > 0;) {
		sel = dir > 0 ? sel + 1 : sel - 1;
		if (cv->lines[sel].header)
			continue;
		list->sel = sel;
		app_pop(&ra->app);
		open_diff(ra, cv->lines[sel].idx);
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
	if (c->old_mode && c->mode)
		buf_adds(&b, " -> ");
	if (c->mode)
		describe_mode(&b, c->mode);
	if (S_ISREG(c->old_mode) || S_ISREG(c->mode))
		buf_addf(&b, ", %lld -> %lld bytes", (long long)c->old_size, (long long)c->size);
	buf_addc(&b, '\n');
	if (c->link_target)
		buf_addf(&b, "symlink to: %s\n", c->link_target);
	if (c->renamed)
		buf_addf(&b, "renamed, %d%% similar: one decision for its deletion and addition\n",
			 c->similarity);
	check_conflict(r, i);
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
	else if (c->defer_index)
		buf_addf(l1, "%s: deferred (%s); runs on the host after the commit when approved",
			 decision_word(c->decision), c->by);
	else
		buf_addf(l1, "%s%s: ran (%s %s); its decision applies to the %zu change%s it made",
			 decision_word(c->decision), c->set_by ? " by you" : "", c->ran, c->by,
			 c->nfiles, c->nfiles == 1 ? "" : "s");
	if (c->defer_index)
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
	size_t i;

	switch (req) {
	case UI_REQ_APPROVE:
	case UI_REQ_DENY:
	case UI_REQ_TOGGLE:
		if (!c)
			return VIEW_DONE;
		d = req == UI_REQ_APPROVE	 ? UI_APPROVED
		    : req == UI_REQ_DENY	 ? UI_DENIED
		    : c->decision == UI_APPROVED ? UI_DENIED
						 : UI_APPROVED;
		if (!ui_set_command(r, v->sel, d))
			app_message(&ra->app,
				    "this command was denied when it ran: nothing to apply");
		else if (v->sel + 1 < r->ncommands)
			v->sel++;
		return VIEW_DONE;
	case UI_REQ_APPROVE_ALL:
	case UI_REQ_DENY_ALL:
		for (i = 0; i < r->ncommands; i++)
			ui_set_command(r, i, req == UI_REQ_APPROVE_ALL ? UI_APPROVED : UI_DENIED);
		app_message(&ra->app, "%s every command and the changes they made",
			    req == UI_REQ_APPROVE_ALL ? "approved" : "denied");
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

static void review_title(struct app *app, struct buf *out)
{
	struct review_app *ra = (struct review_app *)app;
	static const char *const names[] = {"Changes", "Commands", "Connections"};
	size_t counts[3] = {ra->r->nchanges, ra->r->ncommands, ra->r->nconns};
	int i;

	buf_addf(out, "airlock review %s ", ra->r->id);
	if (app->depth > 1)
		return; /* the view's own title follows */
	for (i = 0; i < 3; i++)
		buf_addf(out, i == (int)ra->root ? " [%s %zu]" : "  %s %zu ", names[i], counts[i]);
	if (ra->r->note)
		buf_addf(out, "  %s", ra->r->note);
}

static bool review_idle(struct app *app)
{
	struct review_app *ra = (struct review_app *)app;
	size_t end = ra->next_check + CONFLICT_CHUNK;

	for (; ra->next_check < ra->r->nchanges && ra->next_check < end; ra->next_check++)
		check_conflict(ra->r, ra->next_check);
	return ra->next_check < ra->r->nchanges;
}

static int finish_commit(struct review_app *ra)
{
	struct ui_review *r = ra->r;
	size_t i, appr = 0, den = 0, und = 0, conf = 0, unsafe = 0, defer = 0, nl = 0, risky = 0;
	size_t part = 0;
	char *lines[9 + MAX_SHOWN_DEFERRED + 1] = {0};
	const char *first_conf = NULL;
	bool yes;

	if (ra->next_check < r->nchanges) {
		app_message(&ra->app, "checking %zu changes for conflicts with the host...",
			    r->nchanges - ra->next_check);
		app_draw(&ra->app);
		while (review_idle(&ra->app))
			;
		ra->app.idle = NULL;
		buf_reset(&ra->app.message);
	}
	for (i = 0; i < r->nchanges; i++) {
		struct ui_change *c = &r->changes[i];

		if (c->decision == UI_APPROVED) {
			appr++;
			part += c->hunks != NULL;
			if (c->conflict_state >= 2 && !first_conf)
				first_conf = c->path;
			conf += c->conflict_state >= 2;
			unsafe += c->conflict_state == 3;
		} else {
			den += c->decision == UI_DENIED;
			und += c->decision == UI_UNDECIDED;
			risky += c->decision == UI_UNDECIDED && c->risk;
		}
	}
	for (i = 0; i < r->ncommands; i++)
		defer += r->commands[i].defer_index && r->commands[i].decision == UI_APPROVED;
	if (appr == 0 && defer == 0) {
		app_message(&ra->app, "nothing is approved: nothing to commit (q quits)");
		return VIEW_DONE;
	}
	lines[nl++] = xasprintf("Apply %zu approved change%s of session %s to the host.", appr,
				appr == 1 ? "" : "s", r->id);
	if (part)
		lines[nl++] = xasprintf("%zu of them in part: only their approved hunks.", part);
	if (risky)
		lines[nl++] =
			xasprintf("Left out: %zu denied, %zu undecided (%zu flagged: they run "
				  "code on the host later).",
				  den, und, risky);
	else
		lines[nl++] = xasprintf("Left out: %zu denied, %zu undecided.", den, und);
	if (defer) {
		size_t shown = 0;

		lines[nl++] = xasprintf("Then run %zu approved deferred command%s on the host, "
					"with your environment:",
					defer, defer == 1 ? "" : "s");
		for (i = 0; i < r->ncommands; i++) {
			const struct ui_command *c = &r->commands[i];

			if (!c->defer_index || c->decision != UI_APPROVED)
				continue;
			if (shown == MAX_SHOWN_DEFERRED) {
				lines[nl++] = xasprintf("  ... and %zu more", defer - shown);
				break;
			}
			shown++;
			lines[nl++] = xasprintf("  #%u %s  (%s in %s)", c->defer_index, c->argv,
						c->exe ? c->exe : "?", c->cwd ? c->cwd : "?");
		}
	}
	if (conf) {
		cleanup_free char *shown = xstrdup(first_conf);

		lines[nl++] = xasprintf("%zu approved change%s CONFLICT with the host (marked !), "
					"e.g. %s:",
					conf, conf == 1 ? "" : "s", shown);
		lines[nl++] = xstrdup(unsafe ? "some cannot be applied at all: the commit will "
					       "refuse them"
					     : "y overwrites what changed on the host (as commit "
					       "--force); deny them to keep the host's");
	}
	lines[nl++] = xstrdup("'airlock undo' takes a commit back.");
	yes = app_confirm(&ra->app, (const char *const *)lines, nl);
	for (i = 0; i < nl; i++)
		free(lines[i]);
	if (!yes) {
		app_message(&ra->app, "not committed");
		return VIEW_DONE;
	}
	ra->force = conf > 0;
	ra->app.result = UI_COMMIT;
	return VIEW_EXIT;
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
	int rc;

	*force = false;
	rc = term_open();
	if (rc < 0)
		return rc;
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
	*force = ra.force;
	return rc;
}
