/* SPDX-License-Identifier: MIT */
/*
 * The review's change list as a tree of directories, apart from drawing: the changes in
 * display order, one node per directory (a chain of directories that hold nothing but the
 * next one is shown as one line, "a/b/c/"), per-directory counts, folds, filters, and the
 * lines shown. Built once when the review opens (no sort of the paths as wholes: they are
 * grouped by directory and the directories sorted); counting and the lines shown are redone
 * only after a key changed decisions, folds or the filter, never on each drawing. Internal
 * to ui/.
 */
#ifndef AIRLOCK_UI_TREE_H
#define AIRLOCK_UI_TREE_H

#include "ui/ui.h"

#include <stdbool.h>
#include <stddef.h>

#define TREE_NONE ((size_t)-1)

/* What a directory counts below it. */
enum tree_count {
	TC_APPROVED,
	TC_DENIED,
	TC_UNDECIDED,
	TC_CONFLICT,
	TC_FLAGGED,
	TC_ALL,
	TC_N,
};

/* Which changes the list shows (f cycles them). */
enum tree_filter {
	FILTER_NONE,
	FILTER_UNDECIDED,
	FILTER_CONFLICTS,
	FILTER_FLAGGED,
	FILTER_N,
};

struct tree_node {
	const char *path;   /* the directory is path[0..len), '/' last; borrowed */
	size_t len;	    /* 0 for changes whose path has no '/' */
	size_t parent;	    /* a node, or TREE_NONE */
	size_t end_node;    /* the first node after its subtree */
	size_t first, own;  /* its changes in display order: [first, first + own) directly */
	size_t end;	    /* in it, [first, end) at any depth below it */
	size_t name;	    /* where the name shown starts in path (its shown parent's len) */
	size_t self;	    /* the change that is this directory itself (dir+), or TREE_NONE */
	unsigned depth;	    /* shown depth */
	bool elided;	    /* holds only one directory: shown within that one's name */
	bool open;	    /* its lines are shown */
	bool noise;	    /* generated (__pycache__, node_modules, .git/objects, *.pyc) */
	bool pyc;	    /* its parent's stray .pyc files (path, len: the parent's) */
	size_t count[TC_N]; /* below it, at any depth */
};

/* A line shown: a directory (a node) or a change. */
struct tree_row {
	size_t idx;
	bool dir;
};

struct tree {
	const struct ui_review *r;
	size_t *order;	 /* the changes in display order */
	size_t *pos;	 /* each change's place in order */
	size_t *node_of; /* each change's directory (a directory's own change: itself) */
	bool *is_self;	 /* the change is a directory's line itself, not a line of its own */
	struct tree_node *nodes;
	size_t nnodes;
	size_t total[TC_N];
	enum tree_filter filter;
	struct tree_row *rows;
	size_t nrows, rows_cap;
};

/* Build the tree of r's changes (counts and lines too). Noise starts folded. */
void tree_build(struct tree *t, const struct ui_review *r);
void tree_free(struct tree *t);

/* Count decisions, conflicts and flags again, per directory and in total. */
void tree_count(struct tree *t);

/* Make the lines shown again, from the folds and the filter. */
void tree_rows(struct tree *t);

/* Whether change i passes the filter. */
bool tree_passes(const struct tree *t, size_t i);

/* The line showing a change or a directory; TREE_NONE when none does. */
size_t tree_find_row(const struct tree *t, size_t idx, bool dir);

/*
 * The next (or previous) undecided change that passes the filter, in display order, after
 * (or before) place pos; pos may be TREE_NONE (from the start or the end). TREE_NONE when
 * there is none.
 */
size_t tree_next_undecided(const struct tree *t, size_t pos, bool forward);

/* Unfold every directory above change i. */
void tree_reveal(struct tree *t, size_t i);

/* The line that shows change i: its own, or its directory's when it is that directory. */
static inline struct tree_row tree_row_of(const struct tree *t, size_t i)
{
	return t->is_self[i] ? (struct tree_row){t->node_of[i], true} : (struct tree_row){i, false};
}

/* The changes at or below node k in display order: [first, end) of t->order. */
static inline size_t tree_node_size(const struct tree *t, size_t k)
{
	return t->nodes[k].end - t->nodes[k].first;
}

#endif
