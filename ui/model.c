/* SPDX-License-Identifier: MIT */
/*
 * The review's decision model, apart from drawing: how one decision carries to the changes
 * that depend on it (see ui.h). No curses here.
 */
#include "ui/ui.h"

#include "common/buf.h"
#include "common/path.h"

#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* Directory changes sorted by path, for finding a path's parent change. */
static const struct ui_review *sort_ctx;

static int cmp_by_path(const void *a, const void *b)
{
	return strcmp(sort_ctx->changes[*(const size_t *)a].path,
		      sort_ctx->changes[*(const size_t *)b].path);
}

static size_t find_path(const struct ui_review *r, const size_t *order, size_t n, const char *path,
			size_t len)
{
	size_t lo = 0, hi = n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		const char *p = r->changes[order[mid]].path;
		int c = strncmp(p, path, len);

		if (c == 0 && p[len] != '\0')
			c = 1;
		if (c < 0)
			lo = mid + 1;
		else if (c > 0)
			hi = mid;
		else
			return order[mid];
	}
	return (size_t)-1;
}

/* The directory whose parent change was looked up last: sorted changes come in runs of one. */
struct parent_memo {
	const char *dir;
	size_t len, parent;
};

/* The nearest ancestor directory of path that is itself a change (order: the ndirs directory
   changes, sorted), or -1. It depends on path's directory only, which m may know. */
static size_t parent_of(const struct ui_review *r, const size_t *order, size_t ndirs,
			const char *path, struct parent_memo *m)
{
	size_t len = strlen(path), first = 0, parent = (size_t)-1;

	while (ndirs && len > 1) {
		while (len > 0 && path[len - 1] != '/')
			len--;
		if (len > 1)
			len--; /* drop the '/' */
		if (len == 0)
			break;
		if (!first) {
			if (m->dir && m->len == len && memcmp(m->dir, path, len) == 0)
				return m->parent;
			first = len;
		}
		parent = find_path(r, order, ndirs, path, len);
		if (parent != (size_t)-1)
			break;
	}
	if (first)
		*m = (struct parent_memo){path, first, parent};
	return parent;
}

void ui_review_prepare(struct ui_review *r)
{
	size_t *order = xcalloc(r->nchanges ? r->nchanges : 1, sizeof(*order));
	struct parent_memo memo = {NULL, 0, 0};
	size_t i, ndirs = 0;

	/* Only a directory can be a parent: look among those, sorted by path. */
	for (i = 0; i < r->nchanges; i++)
		if (S_ISDIR(r->changes[i].mode) || S_ISDIR(r->changes[i].old_mode))
			order[ndirs++] = i;
	sort_ctx = r;
	if (ndirs)
		qsort(order, ndirs, sizeof(*order), cmp_by_path);
	sort_ctx = NULL;
	for (i = 0; i < r->nchanges; i++) {
		struct ui_change *c = &r->changes[i];

		c->added = c->removed = -1;
		c->conflict_state = 0;
		c->conflict = NULL;
		c->set_by = NULL;
		c->parent = parent_of(r, order, ndirs, c->path, &memo);
	}
	free(order);
}

void ui_review_free(struct ui_review *r)
{
	size_t i;

	for (i = 0; i < r->nchanges; i++) {
		free(r->changes[i].conflict);
		r->changes[i].conflict = NULL;
		free(r->changes[i].hunks);
		r->changes[i].hunks = NULL;
	}
}

void ui_set_hunk(struct ui_review *r, size_t i, size_t n, size_t h, char letter)
{
	struct ui_change *c = &r->changes[i];
	size_t k, approved = 0, denied = 0;
	char *hunks;

	if (!c->hunks || strlen(c->hunks) != n) {
		char first = c->decision == UI_APPROVED ? 'a'
			     : c->decision == UI_DENIED ? 'd'
							: 'u';

		free(c->hunks);
		c->hunks = xcalloc(n + 1, 1);
		memset(c->hunks, first, n);
	}
	if (h < n)
		c->hunks[h] = letter;
	for (k = 0; k < n; k++) {
		approved += c->hunks[k] == 'a';
		denied += c->hunks[k] == 'd';
	}
	if (approved == n || denied == n) {
		ui_set_change(r, i, approved == n ? UI_APPROVED : UI_DENIED, "you");
		return;
	}
	/* Decided in part: the same carries to directories as a whole decision would. */
	hunks = c->hunks;
	c->hunks = NULL;
	ui_set_change(r, i, approved ? UI_APPROVED : UI_UNDECIDED, "you");
	c->hunks = hunks;
}

void ui_set_change(struct ui_review *r, size_t i, enum ui_decision d, const char *by)
{
	struct ui_change *c = &r->changes[i];
	size_t p, j;

	/* The commit never applies it: approving it would only say what does not happen. */
	if (d == UI_APPROVED && c->fixed)
		return;
	/* A decision of the whole file replaces its hunks'. */
	free(c->hunks);
	c->hunks = NULL;
	c->decision = d;
	c->set_by = by;
	/* A rename is one decision: its deletion and its addition reach the host together. */
	if (c->renamed && r->changes[c->rename_other].decision != d)
		ui_set_change(r, c->rename_other, d, by);
	/* A change below a directory the host does not have yet needs that directory. */
	if (d == UI_APPROVED) {
		for (p = c->parent; p != (size_t)-1; p = r->changes[p].parent) {
			struct ui_change *pc = &r->changes[p];

			if (pc->creates_dir && pc->decision != UI_APPROVED && !pc->fixed) {
				pc->decision = UI_APPROVED;
				pc->set_by = "a change below it needs it";
			}
		}
		return;
	}
	/* Without that directory nothing below it can be committed. */
	if (c->creates_dir) {
		for (j = 0; j < r->nchanges; j++) {
			struct ui_change *o = &r->changes[j];

			if (j != i && o->decision != d && path_is_under(o->path, c->path)) {
				o->decision = d;
				o->set_by = "its directory is not approved";
			}
		}
	}
}

bool ui_set_command(struct ui_review *r, size_t i, enum ui_decision d)
{
	struct ui_command *cmd = &r->commands[i];
	size_t j;

	if ((cmd->ran && strcmp(cmd->ran, "deny") == 0) || cmd->done)
		return false;
	cmd->decision = d;
	cmd->set_by = "you";
	for (j = 0; j < cmd->nfiles; j++)
		ui_set_change(r, cmd->files[j], d, "its command");
	return true;
}

size_t ui_set_step(struct ui_review *r, unsigned step, enum ui_decision d)
{
	size_t i, j, n = 0;

	if (!step)
		return 0;
	for (i = 0; i < r->ncommands; i++)
		if (r->commands[i].step == step && ui_set_command(r, i, d))
			n++;
	for (i = 0; i < r->nchanges; i++) {
		struct ui_change *c = &r->changes[i];

		for (j = 0; j < c->nsteps; j++) {
			if (c->steps[j] != step)
				continue;
			ui_set_change(r, i, d, "its step");
			n++;
			break;
		}
	}
	return n;
}
