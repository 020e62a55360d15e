/* SPDX-License-Identifier: MIT */
/*
 * The replay timeline: a session's events one per line, filtered by class or by process;
 * a write event opens its file's diff, an exec event the files its process changed.
 */
#include "ui/ui.h"

#include "common/buf.h"
#include "common/cleanup.h"
#include "ui/term.h"
#include "ui/view.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const class_filters[] = {NULL, "exec", "write", "connect", "dns", "step"};

struct replay_app {
	struct app app;
	struct ui_replay *p;
	size_t filter; /* index into class_filters */
	long pid;      /* 0: every process */
	char *diff_path;
};

struct timeline {
	struct replay_app *ra;
	size_t *idx;
	size_t n;
};

/* The files an exec event's process changed. */
struct files {
	struct replay_app *ra;
	char **paths;
	size_t n;
	char *title;
};

static bool is_class(const struct ui_event *e, const char *cls)
{
	return e->cls && strcmp(e->cls, cls) == 0;
}

static bool shown(const struct replay_app *ra, const struct ui_event *e)
{
	const char *cls = class_filters[ra->filter];

	if (cls && !is_class(e, cls))
		return false;
	return ra->pid == 0 || e->pid == ra->pid;
}

/* Rebuild the line model after a filter change, keeping the selected event when it stays. */
static void refilter(struct view *v)
{
	struct timeline *t = v->data;
	struct replay_app *ra = t->ra;
	unsigned long long sel_seq = t->n ? ra->p->events[t->idx[v->sel]].seq : 0;
	size_t i;

	t->n = 0;
	v->sel = 0;
	for (i = 0; i < ra->p->nevents; i++) {
		if (!shown(ra, &ra->p->events[i]))
			continue;
		if (ra->p->events[i].seq <= sel_seq)
			v->sel = t->n;
		t->idx[t->n++] = i;
	}
}

static size_t timeline_count(struct view *v)
{
	return ((struct timeline *)v->data)->n;
}

/* "11:10:05.123" from "2026-11-23T11:10:05.123Z". */
static void short_time(const char *iso, char *out, size_t sz)
{
	const char *t = iso ? strchr(iso, 'T') : NULL;

	snprintf(out, sz, "%.12s", t ? t + 1 : (iso ? iso : ""));
}

static void event_what(const struct ui_event *e, struct buf *b)
{
	if (is_class(e, "exec")) {
		buf_adds(b, e->command ? e->command : (e->target ? e->target : "?"));
		return;
	}
	if (e->op && !is_class(e, "connect"))
		buf_addf(b, "%s ", e->op);
	buf_adds(b, e->target ? e->target : "?");
	if (e->target2)
		buf_addf(b, " -> %s", e->target2);
}

static void timeline_draw(struct view *v, size_t i, int y, int width, bool selected)
{
	struct timeline *t = v->data;
	const struct ui_event *e = &t->ra->p->events[t->idx[i]];
	attr_t sel = selected ? A_REVERSE : 0;
	bool allowed = !e->decision || strcmp(e->decision, "allow") == 0;
	struct buf what = BUF_INIT;
	char head[64], tm[16];
	int x;

	buf_init(&what);
	short_time(e->time, tm, sizeof(tm));
	snprintf(head, sizeof(head), "%5llu %-12s %7ld ", e->seq, tm, e->pid);
	term_blank(y, width, sel);
	x = term_put(y, 0, width, head, sel);
	x += term_put(y, x, 8, e->cls ? e->cls : "?", sel | A_BOLD);
	x = x < 36 ? 36 : x;
	x += term_put(y, x, 7, e->decision ? e->decision : "",
		      term_color(allowed ? PAIR_APPROVED : PAIR_DENIED) | sel);
	x = x < 43 ? 43 : x;
	event_what(e, &what);
	term_put(y, x, width - x, what.data, sel);
	buf_release(&what);
}

static char *timeline_text(struct view *v, size_t i)
{
	struct timeline *t = v->data;
	const struct ui_event *e = &t->ra->p->events[t->idx[i]];
	struct buf b = BUF_INIT;

	buf_init(&b);
	buf_addf(&b, "%s %s %s ", e->cls ? e->cls : "", e->decision ? e->decision : "",
		 e->argv ? e->argv : "");
	event_what(e, &b);
	return buf_detach(&b);
}

static void timeline_status(struct view *v, struct buf *l1, struct buf *l2)
{
	struct timeline *t = v->data;
	const struct ui_event *e;

	if (t->n == 0) {
		buf_adds(l1, "no events match the filter");
		return;
	}
	e = &t->ra->p->events[t->idx[v->sel]];
	buf_addf(l1, "%s %s", e->cls ? e->cls : "?", e->op ? e->op : "");
	if (e->decision)
		buf_addf(l1, ": %s by %s", e->decision, e->by ? e->by : "?");
	if (e->result)
		buf_addf(l1, ", %s", e->result);
	buf_addf(l2, "process %ld: %s", e->pid, e->argv ? e->argv : "?");
}

static void timeline_title(struct view *v, struct buf *out)
{
	struct timeline *t = v->data;
	struct replay_app *ra = t->ra;

	buf_addf(out, "%zu of %zu events", t->n, ra->p->nevents);
	if (class_filters[ra->filter])
		buf_addf(out, "  class: %s", class_filters[ra->filter]);
	if (ra->pid)
		buf_addf(out, "  process: %ld", ra->pid);
}

static void open_path_diff(struct replay_app *ra, const char *path)
{
	const char *why = NULL;
	cleanup_free char *patch = NULL;
	cleanup_free char *title = NULL;
	size_t len = 0;

	patch = ra->p->diff_path ? ra->p->diff_path(ra->p->ctx, path, &len, &why) : NULL;
	if (!patch) {
		app_message(&ra->app, "%s", why ? why : "no diff for this path");
		return;
	}
	title = xasprintf("diff: %s", path);
	app_push(&ra->app,
		 text_view_new(title, len ? patch : "(no content change)\n", len ? len : 20, true));
}

/* --- the files of one process ------------------------------------------------------- */

static size_t files_count(struct view *v)
{
	return ((struct files *)v->data)->n;
}

static void files_draw(struct view *v, size_t i, int y, int width, bool selected)
{
	struct files *f = v->data;
	const char *kind =
		f->ra->p->change_kind ? f->ra->p->change_kind(f->ra->p->ctx, f->paths[i]) : NULL;
	attr_t sel = selected ? A_REVERSE : 0;

	term_blank(y, width, sel);
	term_put(y, 1, 16, kind ? kind : "(not a change)", sel | (kind ? A_BOLD : A_DIM));
	term_put(y, 18, width - 19, f->paths[i], sel);
}

static char *files_text(struct view *v, size_t i)
{
	return xstrdup(((struct files *)v->data)->paths[i]);
}

static void files_status(struct view *v, struct buf *l1, struct buf *l2)
{
	struct files *f = v->data;

	buf_adds(l1, f->n ? "Enter shows the diff of the change at this path"
			  : "this process wrote no file");
	(void)l2;
}

static void files_title(struct view *v, struct buf *out)
{
	buf_adds(out, ((struct files *)v->data)->title);
}

static int files_request(struct view *v, enum ui_req req)
{
	struct files *f = v->data;

	if (req == UI_REQ_ENTER && f->n) {
		open_path_diff(f->ra, f->paths[v->sel]);
		return VIEW_DONE;
	}
	return VIEW_UNHANDLED;
}

static void files_free(struct view *v)
{
	struct files *f = v->data;
	size_t i;

	for (i = 0; i < f->n; i++)
		free(f->paths[i]);
	free(f->paths);
	free(f->title);
	free(f);
}

static const struct view_ops files_ops = {
	.count = files_count,
	.draw = files_draw,
	.text = files_text,
	.request = files_request,
	.status = files_status,
	.title = files_title,
	.free = files_free,
};

/*
 * The paths written by the process of exec event k: its write events after k, until that
 * process runs another program.
 */
static struct view *files_view_new(struct replay_app *ra, size_t k)
{
	const struct ui_event *ex = &ra->p->events[k];
	struct view *v = xcalloc(1, sizeof(*v));
	struct files *f = xcalloc(1, sizeof(*f));
	size_t i, j, cap = 0;

	f->ra = ra;
	for (i = k + 1; i < ra->p->nevents; i++) {
		const struct ui_event *e = &ra->p->events[i];
		const char *t[2] = {e->target, e->target2};

		if (e->pid != ex->pid)
			continue;
		if (is_class(e, "exec") && (!e->decision || strcmp(e->decision, "allow") == 0))
			break;
		if (!is_class(e, "write"))
			continue;
		for (int w = 0; w < 2; w++) {
			bool dup = false;

			if (!t[w])
				continue;
			for (j = 0; j < f->n && !dup; j++)
				dup = strcmp(f->paths[j], t[w]) == 0;
			if (dup)
				continue;
			GROW(f->paths, cap, f->n + 1);
			f->paths[f->n++] = xstrdup(t[w]);
		}
	}
	f->title = xasprintf("files written by process %ld: %s", ex->pid,
			     ex->command ? ex->command : "?");
	v->ops = &files_ops;
	v->data = f;
	return v;
}

static int timeline_request(struct view *v, enum ui_req req)
{
	struct timeline *t = v->data;
	struct replay_app *ra = t->ra;
	const struct ui_event *e = t->n ? &ra->p->events[t->idx[v->sel]] : NULL;

	switch (req) {
	case UI_REQ_FILTER_CLASS:
		ra->filter = (ra->filter + 1) % ARRAY_SIZE(class_filters);
		refilter(v);
		return VIEW_DONE;
	case UI_REQ_FILTER_PROCESS:
		ra->pid = ra->pid || !e ? 0 : e->pid;
		refilter(v);
		return VIEW_DONE;
	case UI_REQ_ENTER:
		if (!e)
			return VIEW_DONE;
		if (is_class(e, "write") && e->target)
			open_path_diff(ra, e->target);
		else if (is_class(e, "exec"))
			app_push(&ra->app, files_view_new(ra, t->idx[v->sel]));
		else
			app_message(&ra->app, "Enter opens write and exec events");
		return VIEW_DONE;
	default:
		return VIEW_UNHANDLED;
	}
}

static void timeline_free(struct view *v)
{
	struct timeline *t = v->data;

	free(t->idx);
	free(t);
}

static const struct view_ops timeline_ops = {
	.count = timeline_count,
	.draw = timeline_draw,
	.text = timeline_text,
	.request = timeline_request,
	.status = timeline_status,
	.title = timeline_title,
	.free = timeline_free,
};

static void replay_title(struct app *app, struct buf *out)
{
	struct replay_app *ra = (struct replay_app *)app;

	buf_addf(out, "airlock replay %s ", ra->p->id);
}

int ui_replay_run(struct ui_replay *p)
{
	struct replay_app ra = {.p = p};
	struct view *v = xcalloc(1, sizeof(*v));
	struct timeline *t = xcalloc(1, sizeof(*t));
	int rc;

	t->ra = &ra;
	t->idx = xcalloc(p->nevents ? p->nevents : 1, sizeof(*t->idx));
	v->ops = &timeline_ops;
	v->data = t;
	refilter(v);
	v->sel = 0;
	rc = term_open();
	if (rc < 0) {
		timeline_free(v);
		free(v);
		return rc;
	}
	ra.app.where = UI_REPLAY;
	ra.app.name = "replay";
	ra.app.title = replay_title;
	buf_init(&ra.app.message);
	app_push(&ra.app, v);
	app_run(&ra.app);
	app_close(&ra.app);
	term_close();
	return 0;
}
