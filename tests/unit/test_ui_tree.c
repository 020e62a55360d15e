/* SPDX-License-Identifier: MIT */
/*
 * The review's change list as a tree (ui/tree.c): directories in order, chains shown as one
 * line, a new directory shown as its own line, generated noise folded, counts per directory,
 * filters, and the next undecided change found behind folds.
 */
#include "common/buf.h"
#include "tests/unit/tap.h"
#include "ui/tree.h"

#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static struct ui_change change(const char *path, mode_t mode, enum ui_decision d)
{
	struct ui_change c = {.path = path, .kind = S_ISDIR(mode) ? "dir-added" : "added"};

	c.mode = mode;
	c.decision = d;
	return c;
}

/* The shown text of row i: a directory's name, or a change's path. */
static char *row_text(const struct tree *t, size_t i)
{
	const struct tree_row *l = &t->rows[i];

	if (l->dir) {
		const struct tree_node *nd = &t->nodes[l->idx];

		if (nd->pyc)
			return xasprintf("%s*.pyc", nd->open ? "v " : "> ");
		return xasprintf("%s%.*s", nd->open ? "v " : "> ", (int)(nd->len - nd->name),
				 nd->path + nd->name);
	}
	return xstrdup(t->r->changes[l->idx].path);
}

static char *rows_text(const struct tree *t)
{
	struct buf b = BUF_INIT;
	size_t i;

	buf_init(&b);
	for (i = 0; i < t->nrows; i++) {
		char *s = row_text(t, i);

		buf_addf(&b, "%s|", s);
		free(s);
	}
	return buf_detach(&b);
}

static size_t find_node(const struct tree *t, const char *path)
{
	size_t k;

	for (k = 0; k < t->nnodes; k++)
		if (t->nodes[k].len == strlen(path) &&
		    memcmp(t->nodes[k].path, path, t->nodes[k].len) == 0)
			return k;
	return TREE_NONE;
}

/* Stray .pyc files among sources: one folded line of their directory, after its files. */
static void test_stray_pyc(void)
{
	struct ui_change ch[] = {
		change("/s/z.py", S_IFREG | 0644, UI_APPROVED),
		change("/s/b.pyc", S_IFREG | 0644, UI_UNDECIDED),
		change("/s/a.py", S_IFREG | 0644, UI_APPROVED),
		change("/s/c.pyc", S_IFREG | 0644, UI_APPROVED),
		change("/s/sub/d.py", S_IFREG | 0644, UI_APPROVED),
		change("/s/sub/e.pyc", S_IFREG | 0644, UI_APPROVED),
		change("/o/only.pyc", S_IFREG | 0644, UI_APPROVED),
		change("/s/d.pyc", S_IFDIR | 0755, UI_APPROVED),
		change("/s/d.pyc/f.py", S_IFREG | 0644, UI_APPROVED),
	};
	struct ui_review r = {.changes = ch, .nchanges = 9};
	struct tree t;
	char *s;
	size_t k, i;

	ui_review_prepare(&r);
	tree_build(&t, &r);
	s = rows_text(&t);
	is_str(s,
	       "v /|> o/|v s/|/s/a.py|/s/z.py|> *.pyc|v d.pyc/|/s/d.pyc/f.py|v sub/|/s/sub/d.py|"
	       "> *.pyc|",
	       "stray .pyc files: one folded line after their directory's files; a directory of "
	       "nothing else stays one line; a directory named .pyc is a directory");
	free(s);
	for (k = 0; k < t.nnodes && !(t.nodes[k].pyc && t.nodes[k].parent == find_node(&t, "/s/"));
	     k++)
		;
	ok(k < t.nnodes && t.nodes[k].noise && !t.nodes[k].open, "the .pyc line is folded noise");
	is_int(k < t.nnodes ? t.nodes[k].count[TC_ALL] : 0, 2, "it counts its two files");
	is_int(k < t.nnodes ? t.nodes[k].count[TC_UNDECIDED] : 0, 1, "and their states");
	is_int(t.nodes[find_node(&t, "/s/")].count[TC_ALL], 8, "its directory counts them too");
	i = tree_next_undecided(&t, TREE_NONE, true);
	is_int(i, 1, "the next undecided change is behind the fold");
	tree_reveal(&t, i);
	tree_rows(&t);
	ok(tree_find_row(&t, 1, false) != TREE_NONE && tree_find_row(&t, 3, false) != TREE_NONE,
	   "revealing it unfolds the .pyc line");
	tree_free(&t);
	ui_review_free(&r);
}

int main(void)
{
	struct ui_change ch[] = {
		change("/p/src/x.c", S_IFREG | 0644, UI_APPROVED),
		change("/p/a.txt", S_IFREG | 0644, UI_UNDECIDED),
		change("/p/__pycache__", S_IFDIR | 0755, UI_APPROVED),
		change("/p/__pycache__/m.pyc", S_IFREG | 0644, UI_UNDECIDED),
		change("/p/src/lib/y.c", S_IFREG | 0644, UI_DENIED),
		change("/p/deep/only/z", S_IFREG | 0644, UI_UNDECIDED),
		change("/q/w", S_IFREG | 0644, UI_APPROVED),
		change("/p/src-old", S_IFREG | 0644, UI_APPROVED),
	};
	struct ui_review r = {.changes = ch, .nchanges = 8};
	struct tree t;
	char *s;
	size_t k, i;

	ui_review_prepare(&r);
	ch[4].conflict_state = 2;
	ch[0].risk = "a hook";
	tree_build(&t, &r);
	s = rows_text(&t);
	is_str(s,
	       "v /|v p/|/p/a.txt|/p/src-old|> __pycache__/|v deep/only/|/p/deep/only/z|v src/|"
	       "/p/src/x.c|v lib/|/p/src/lib/y.c|v q/|/q/w|",
	       "directories in tree order, each's files first; a chain is one line; noise folded");
	free(s);
	k = find_node(&t, "/p/__pycache__/");
	ok(k != TREE_NONE && t.nodes[k].noise, "__pycache__ is generated noise");
	ok(k != TREE_NONE && t.nodes[k].self == 2, "a new directory is its own line's change");
	ok(t.is_self[2], "and is not listed again in its parent");
	is_int(t.nodes[k].count[TC_ALL], 2, "the directory counts itself and what it holds");
	k = find_node(&t, "/p/");
	is_int(t.nodes[k].count[TC_APPROVED], 3, "p/ counts its approved changes at any depth");
	is_int(t.nodes[k].count[TC_UNDECIDED], 3, "its undecided");
	is_int(t.nodes[k].count[TC_DENIED], 1, "its denied");
	is_int(t.nodes[k].count[TC_CONFLICT], 1, "its conflicts");
	is_int(t.nodes[k].count[TC_FLAGGED], 1, "its flagged");
	is_int(t.total[TC_ALL], 8, "the total counts every change");
	is_int(t.total[TC_APPROVED], 4, "the total's approved");
	ok(find_node(&t, "/p/deep/") != TREE_NONE && t.nodes[find_node(&t, "/p/deep/")].elided,
	   "a directory holding only one directory is elided");

	/* The next undecided change behind a fold: a.txt, then m.pyc in __pycache__. */
	i = tree_next_undecided(&t, t.pos[1], true);
	is_int(i, 3, "the next undecided after a.txt is inside the folded __pycache__");
	tree_reveal(&t, i);
	tree_rows(&t);
	ok(tree_find_row(&t, 3, false) != TREE_NONE, "revealing it unfolds its directory");
	is_int(tree_next_undecided(&t, t.pos[1], false), TREE_NONE,
	       "nothing undecided before a.txt");

	t.filter = FILTER_UNDECIDED;
	tree_rows(&t);
	s = rows_text(&t);
	is_str(s,
	       "v /|v p/|/p/a.txt|v __pycache__/|/p/__pycache__/m.pyc|v deep/only/|/p/deep/only/z|",
	       "the undecided filter shows only undecided changes and their directories");
	free(s);
	t.filter = FILTER_CONFLICTS;
	tree_rows(&t);
	s = rows_text(&t);
	is_str(s, "v /|v p/|v src/|v lib/|/p/src/lib/y.c|", "the conflicts filter");
	free(s);
	t.filter = FILTER_NONE;

	ch[1].decision = UI_APPROVED;
	tree_count(&t);
	is_int(t.total[TC_UNDECIDED], 2, "counting again follows the decisions");
	k = find_node(&t, "/p/src/");
	t.nodes[k].open = false;
	tree_rows(&t);
	ok(tree_find_row(&t, 0, false) == TREE_NONE, "a folded directory hides what it holds");
	ok(tree_find_row(&t, k, true) != TREE_NONE, "but not itself");
	tree_free(&t);
	ui_review_free(&r);
	test_stray_pyc();
	return tap_done();
}
