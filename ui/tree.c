/* SPDX-License-Identifier: MIT */
/* The change list as a tree of directories; see tree.h. No curses here. */
#include "ui/tree.h"

#include "common/buf.h"
#include "common/cleanup.h"

#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static size_t dir_len(const char *path)
{
	const char *slash = strrchr(path, '/');

	return slash ? (size_t)(slash - path) + 1 : 0;
}

static bool ends_pyc(const char *path)
{
	size_t n = strlen(path);

	return n > 4 && strcmp(path + n - 4, ".pyc") == 0;
}

/* A compiled Python file (not a directory so named): generated, folded with its kind. */
static bool is_pyc(const struct ui_change *c)
{
	return ends_pyc(c->path) && !S_ISDIR(c->mode) && !c->creates_dir;
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

/* Group the changes by directory with a hash table; *gi gets each change's group. */
static size_t group_changes(const struct ui_review *r, struct group *g, size_t *gi)
{
	size_t n = r->nchanges, cap = 64, ng = 0, i;
	cleanup_free size_t *slot = NULL;

	while (cap < 2 * n)
		cap *= 2;
	slot = xcalloc(cap, sizeof(*slot)); /* group index + 1; 0 empty */
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
	return ng;
}

/*
 * A directory's .pyc files after its other changes, each part in name order, so that they
 * can be folded together as one line (build_nodes()). k[0..n) is sorted by name.
 */
static void pyc_last(const struct ui_review *r, struct sort_key *k, size_t n)
{
	cleanup_free struct sort_key *pyc = NULL;
	size_t i, kept = 0, np = 0;

	for (i = 0; i < n && !is_pyc(&r->changes[k[i].idx]); i++)
		;
	if (i == n)
		return;
	pyc = xcalloc(n, sizeof(*pyc));
	for (i = 0; i < n; i++) {
		if (is_pyc(&r->changes[k[i].idx]))
			pyc[np++] = k[i];
		else
			k[kept++] = k[i];
	}
	memcpy(k + kept, pyc, np * sizeof(*pyc));
}

/*
 * The changes in display order (cmp_display). Sorting 100,000 paths that share long prefixes
 * with that comparator cost more than anything else at start-up: group them by directory
 * with a hash table instead, sort the directories, and sort each directory's names only when
 * they do not come sorted already (a change set of one overlay does). Caller frees.
 */
static struct sort_key *display_order(const struct ui_review *r)
{
	size_t n = r->nchanges, ng, i;
	cleanup_free struct group *g = xcalloc(n + 1, sizeof(*g));
	cleanup_free size_t *gi = xcalloc(n + 1, sizeof(*gi));
	cleanup_free size_t *where = NULL;
	struct sort_key *out = xcalloc(n + 1, sizeof(*out));
	size_t pos = 0;

	ng = group_changes(r, g, gi);
	/* Sort the directories, remembering where each group went. */
	for (i = 0; i < ng; i++)
		g[i].start = i;
	qsort(g, ng, sizeof(*g), cmp_group);
	where = xcalloc(ng + 1, sizeof(*where));
	for (i = 0; i < ng; i++) {
		where[g[i].start] = i;
		g[i].start = pos;
		pos += g[i].n;
		g[i].n = 0;
	}
	for (i = 0; i < n; i++) {
		struct group *grp = &g[where[gi[i]]];

		out[grp->start + grp->n++] = (struct sort_key){r->changes[i].path, grp->dir, i};
	}
	for (i = 0; i < ng; i++) {
		struct sort_key *k = out + g[i].start;
		size_t j;

		for (j = 1; j < g[i].n && cmp_name(&k[j - 1], &k[j]) < 0; j++)
			;
		if (j < g[i].n)
			qsort(k, g[i].n, sizeof(*k), cmp_name);
		pyc_last(r, k, g[i].n);
	}
	return out;
}

/* --- the nodes ----------------------------------------------------------------------- */

struct builder {
	struct tree *t;
	size_t cap;
	size_t *stack; /* the open directories, outermost first */
	size_t sp, stack_cap;
};

static void push_node(struct builder *b, const char *path, size_t len, size_t first)
{
	struct tree *t = b->t;
	struct tree_node *nd;

	GROW(t->nodes, b->cap, t->nnodes + 1);
	nd = &t->nodes[t->nnodes];
	memset(nd, 0, sizeof(*nd));
	nd->path = path;
	nd->len = len;
	nd->parent = b->sp ? b->stack[b->sp - 1] : TREE_NONE;
	nd->first = first;
	nd->self = TREE_NONE;
	GROW(b->stack, b->stack_cap, b->sp + 1);
	b->stack[b->sp++] = t->nnodes++;
}

static void pop_node(struct builder *b, size_t end)
{
	struct tree_node *nd = &b->t->nodes[b->stack[--b->sp]];

	nd->end = end;
	nd->end_node = b->t->nnodes;
}

/*
 * The .pyc files among a directory's own changes keys[k, j) (last, by pyc_last()) as a line
 * of their own below it, which starts folded: unless they are all it holds, when the
 * directory itself is the generated line (is_noise()). How many stay the directory's own.
 */
static size_t fold_pyc(struct builder *b, const struct sort_key *keys, size_t k, size_t j)
{
	struct tree *t = b->t;
	size_t n = t->r->nchanges, d = keys[k].dir, first = j, q;
	const char *p = keys[k].path;

	while (first > k && is_pyc(&t->r->changes[keys[first - 1].idx]))
		first--;
	if (first == j ||
	    (first == k && !(j < n && keys[j].dir > d && memcmp(keys[j].path, p, d) == 0)))
		return j - k;
	push_node(b, p, d, first);
	t->nodes[t->nnodes - 1].pyc = true;
	t->nodes[t->nnodes - 1].own = j - first;
	for (q = first; q < j; q++)
		t->node_of[keys[q].idx] = t->nnodes - 1;
	pop_node(b, j);
	return first - k;
}

/* The directory of each group of changes, and every directory above it, in preorder. */
static void build_nodes(struct tree *t, const struct sort_key *keys)
{
	struct builder b = {.t = t};
	size_t n = t->r->nchanges, k = 0, j;

	while (k < n) {
		const char *p = keys[k].path;
		size_t d = keys[k].dir, from, q;

		for (j = k + 1; j < n && keys[j].dir == d && memcmp(keys[j].path, p, d) == 0; j++)
			;
		/* Close the directories this one is not below. */
		while (b.sp) {
			const struct tree_node *top = &t->nodes[b.stack[b.sp - 1]];

			if (top->len <= d && memcmp(top->path, p, top->len) == 0)
				break;
			pop_node(&b, k);
		}
		from = b.sp ? t->nodes[b.stack[b.sp - 1]].len : 0;
		for (q = from; q < d; q++)
			if (p[q] == '/')
				push_node(&b, p, q + 1, k);
		if (!b.sp || t->nodes[b.stack[b.sp - 1]].len != d)
			push_node(&b, p, d, k); /* no '/' at all */
		for (q = k; q < j; q++)
			t->node_of[keys[q].idx] = b.stack[b.sp - 1];
		t->nodes[b.stack[b.sp - 1]].own = fold_pyc(&b, keys, k, j);
		k = j;
	}
	while (b.sp)
		pop_node(&b, n);
	free(b.stack);
}

static bool name_is(const struct tree_node *nd, const char *name)
{
	size_t n = strlen(name);

	return nd->len >= n + 1 && memcmp(nd->path + nd->len - n - 1, name, n) == 0 &&
	       (nd->len == n + 1 || nd->path[nd->len - n - 2] == '/');
}

/* Generated files nobody reviews line by line: folded until asked for. */
static bool is_noise(const struct tree *t, size_t k)
{
	const struct tree_node *nd = &t->nodes[k];
	size_t x;

	if (name_is(nd, "__pycache__") || name_is(nd, "node_modules") ||
	    name_is(nd, ".git/objects"))
		return true;
	for (x = nd->first; x < nd->end; x++)
		if (!ends_pyc(t->r->changes[t->order[x]].path))
			return false;
	return true;
}

/*
 * A directory that is a change itself (added, replaced) is shown as one line with what it
 * holds: find it among its parent's own changes, sorted by name.
 */
static void find_selves(struct tree *t)
{
	size_t k;

	for (k = 0; k < t->nnodes; k++) {
		struct tree_node *nd = &t->nodes[k];
		const struct tree_node *up;
		size_t lo, hi, plen;

		if (nd->parent == TREE_NONE || nd->len < 2 || nd->pyc)
			continue;
		up = &t->nodes[nd->parent];
		plen = nd->len - 1 - up->len; /* the name, without its '/' */
		for (lo = up->first, hi = up->first + up->own; lo < hi;) {
			size_t mid = lo + (hi - lo) / 2, i = t->order[mid];
			const char *name = t->r->changes[i].path + up->len;
			int c = strncmp(name, nd->path + up->len, plen);

			if (c == 0 && name[plen] != '\0')
				c = 1;
			if (c == 0) {
				if (S_ISDIR(t->r->changes[i].mode)) {
					nd->self = i;
					t->is_self[i] = true;
					t->node_of[i] = k;
				}
				break;
			}
			if (c < 0)
				lo = mid + 1;
			else
				hi = mid;
		}
	}
}

/* Chains shown as one line, shown depths and names, noise folded. */
static void shape_nodes(struct tree *t)
{
	cleanup_free size_t *children = xcalloc(t->nnodes + 1, sizeof(*children));
	size_t k;

	for (k = 0; k < t->nnodes; k++)
		if (t->nodes[k].parent != TREE_NONE)
			children[t->nodes[k].parent]++;
	for (k = 0; k < t->nnodes; k++) {
		struct tree_node *nd = &t->nodes[k];
		const struct tree_node *up = nd->parent == TREE_NONE ? NULL : &t->nodes[nd->parent];

		nd->elided = nd->own == 0 && children[k] == 1 && nd->self == TREE_NONE;
		nd->depth = !up ? 0 : up->depth + (up->elided ? 0 : 1);
		nd->name = !up ? 0 : up->elided ? up->name : up->len;
		nd->noise = (up && up->noise) || is_noise(t, k);
		nd->open = nd->elided || !nd->noise;
	}
}

void tree_build(struct tree *t, const struct ui_review *r)
{
	size_t n = r->nchanges, i;
	cleanup_free struct sort_key *keys = display_order(r);

	memset(t, 0, sizeof(*t));
	t->r = r;
	t->order = xcalloc(n + 1, sizeof(*t->order));
	t->pos = xcalloc(n + 1, sizeof(*t->pos));
	t->node_of = xcalloc(n + 1, sizeof(*t->node_of));
	t->is_self = xcalloc(n + 1, sizeof(*t->is_self));
	for (i = 0; i < n; i++) {
		t->order[i] = keys[i].idx;
		t->pos[keys[i].idx] = i;
	}
	build_nodes(t, keys);
	find_selves(t);
	shape_nodes(t);
	tree_count(t);
	tree_rows(t);
}

void tree_free(struct tree *t)
{
	free(t->order);
	free(t->pos);
	free(t->node_of);
	free(t->is_self);
	free(t->nodes);
	free(t->rows);
	memset(t, 0, sizeof(*t));
}

/* --- counts, filters and lines ------------------------------------------------------- */

void tree_count(struct tree *t)
{
	const struct ui_review *r = t->r;
	size_t i, k, c;

	for (k = 0; k < t->nnodes; k++)
		memset(t->nodes[k].count, 0, sizeof(t->nodes[k].count));
	memset(t->total, 0, sizeof(t->total));
	for (i = 0; i < r->nchanges; i++) {
		const struct ui_change *ch = &r->changes[i];
		size_t *cnt = t->nodes[t->node_of[i]].count;

		cnt[ch->decision == UI_APPROVED ? TC_APPROVED
		    : ch->decision == UI_DENIED ? TC_DENIED
						: TC_UNDECIDED]++;
		cnt[TC_CONFLICT] += ch->conflict_state >= 2;
		cnt[TC_FLAGGED] += ch->risk != NULL;
		cnt[TC_ALL]++;
	}
	/* Children come after their parent: add them up from the last. */
	for (k = t->nnodes; k-- > 0;) {
		const struct tree_node *nd = &t->nodes[k];
		size_t *to = nd->parent == TREE_NONE ? t->total : t->nodes[nd->parent].count;

		for (c = 0; c < TC_N; c++)
			to[c] += nd->count[c];
	}
}

bool tree_passes(const struct tree *t, size_t i)
{
	const struct ui_change *c = &t->r->changes[i];

	switch (t->filter) {
	case FILTER_UNDECIDED:
		return c->decision == UI_UNDECIDED;
	case FILTER_CONFLICTS:
		return c->conflict_state >= 2;
	case FILTER_FLAGGED:
		return c->risk != NULL;
	default:
		return true;
	}
}

static size_t filter_count(const struct tree *t, const struct tree_node *nd)
{
	static const enum tree_count by[FILTER_N] = {TC_ALL, TC_UNDECIDED, TC_CONFLICT, TC_FLAGGED};

	return nd->count[by[t->filter]];
}

static void add_row(struct tree *t, size_t idx, bool dir)
{
	GROW(t->rows, t->rows_cap, t->nrows + 1);
	t->rows[t->nrows++] = (struct tree_row){idx, dir};
}

void tree_rows(struct tree *t)
{
	size_t k, x, skip = 0;

	t->nrows = 0;
	for (k = 0; k < t->nnodes; k++) {
		const struct tree_node *nd = &t->nodes[k];

		if (k < skip)
			continue;
		if (filter_count(t, nd) == 0) {
			skip = nd->end_node;
			continue;
		}
		if (!nd->elided) {
			add_row(t, k, true);
			if (!nd->open) {
				skip = nd->end_node;
				continue;
			}
		}
		for (x = nd->first; x < nd->first + nd->own; x++)
			if (!t->is_self[t->order[x]] && tree_passes(t, t->order[x]))
				add_row(t, t->order[x], false);
	}
}

size_t tree_find_row(const struct tree *t, size_t idx, bool dir)
{
	size_t i;

	for (i = 0; i < t->nrows; i++)
		if (t->rows[i].idx == idx && t->rows[i].dir == dir)
			return i;
	return TREE_NONE;
}

size_t tree_next_undecided(const struct tree *t, size_t pos, bool forward)
{
	size_t n = t->r->nchanges, x;

	if (forward) {
		for (x = pos == TREE_NONE ? 0 : pos + 1; x < n; x++)
			if (t->r->changes[t->order[x]].decision == UI_UNDECIDED &&
			    tree_passes(t, t->order[x]))
				return t->order[x];
		return TREE_NONE;
	}
	for (x = pos == TREE_NONE ? n : pos; x-- > 0;)
		if (t->r->changes[t->order[x]].decision == UI_UNDECIDED &&
		    tree_passes(t, t->order[x]))
			return t->order[x];
	return TREE_NONE;
}

void tree_reveal(struct tree *t, size_t i)
{
	size_t k;

	for (k = t->node_of[i]; k != TREE_NONE; k = t->nodes[k].parent)
		t->nodes[k].open = true;
}
