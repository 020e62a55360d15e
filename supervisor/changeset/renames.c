/* SPDX-License-Identifier: MIT */
/* The renames of the event log, followed in order; see renames.h. */
#include "supervisor/changeset/renames.h"

#include "common/buf.h"
#include "common/cleanup.h"
#include "common/json.h"
#include "common/path.h"

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static bool is_rename(const cJSON *ev)
{
	const char *cls = meta_str(ev, "class"), *op = meta_str(ev, "op");
	const char *decision = meta_str(ev, "decision");

	return cls && op && decision && strcmp(cls, "write") == 0 &&
	       strcmp(decision, "allow") == 0 &&
	       (strcmp(op, "rename") == 0 || strcmp(op, "renameat") == 0 ||
		strcmp(op, "renameat2") == 0);
}

/* The path of an event as the host has it: resolved through symlinks when recorded so. */
static char *event_path(const cJSON *ev, const char *resolved, const char *named)
{
	const char *p = meta_str(ev, resolved) ?: meta_str(ev, named);

	return p && p[0] == '/' ? path_normalize(p) : NULL;
}

/*
 * A table of paths, each with a number: for the entries, where each is in the array; for the
 * directories above them, how many entries are below. A `git mv` of ten thousand files is ten
 * thousand renames: each must cost a few lookups, not a walk of every entry.
 */
struct slot {
	char *key; /* NULL: free */
	size_t val;
};

struct table {
	struct slot *s;
	size_t cap, used; /* used counts the keys back at 0 too, until the next growth */
};

static uint64_t hash_of(const char *p, size_t len)
{
	uint64_t h = 14695981039346656037ULL;

	while (len--)
		h = (h ^ (unsigned char)*p++) * 1099511628211ULL;
	return h;
}

/* The slot of key (its first len bytes), or the free one where it would go. */
static struct slot *slot_of(const struct table *t, const char *key, size_t len)
{
	size_t i = hash_of(key, len) & (t->cap - 1);

	while (t->s[i].key && !(strncmp(t->s[i].key, key, len) == 0 && t->s[i].key[len] == '\0'))
		i = (i + 1) & (t->cap - 1);
	return &t->s[i];
}

/* Make room: a table four times the keys still counted (the others are dropped). */
static void table_grow(struct table *t)
{
	struct table n = {.cap = 64};
	size_t i, live = 0;

	for (i = 0; i < t->cap; i++)
		live += t->s[i].key && t->s[i].val;
	while (n.cap < 4 * (live + 1))
		n.cap *= 2;
	n.s = xcalloc(n.cap, sizeof(*n.s));
	for (i = 0; i < t->cap; i++) {
		if (!t->s[i].key)
			continue;
		if (!t->s[i].val) {
			free(t->s[i].key);
			continue;
		}
		*slot_of(&n, t->s[i].key, strlen(t->s[i].key)) = t->s[i];
		n.used++;
	}
	free(t->s);
	*t = n;
}

/* The slot of key (its first len bytes); when absent, NULL, or a new one with val 0 (make). A
   key whose val went back to 0 means the same as none, and is dropped when the table grows. */
static struct slot *table_get(struct table *t, const char *key, size_t len, bool make)
{
	struct slot *s = t->cap ? slot_of(t, key, len) : NULL;

	if ((s && s->key) || !make)
		return s && s->key ? s : NULL;
	if (2 * (t->used + 1) > t->cap) {
		table_grow(t);
		s = slot_of(t, key, len);
	}
	s->key = xstrndup(key, len);
	s->val = 0;
	t->used++;
	return s;
}

static void table_free(struct table *t)
{
	size_t i;

	for (i = 0; i < t->cap; i++)
		free(t->s[i].key);
	free(t->s);
}

/* The entries while the log is read: an entry's index is kept in at as index + 1. */
struct follower {
	struct rename_hints *h;
	struct table at;    /* path -> 1 + its index in h->v; 0: none */
	struct table below; /* directory -> how many entries are below it */
};

static size_t index_of(struct follower *f, const char *path)
{
	struct slot *s = table_get(&f->at, path, strlen(path), false);

	return s && s->val ? s->val - 1 : (size_t)-1;
}

/* Count the entry at path in (delta +1) or out (-1) of the directories above it. */
static void count_below(struct follower *f, const char *path, int delta)
{
	size_t len = strlen(path);

	while (len > 1) {
		while (len > 0 && path[len - 1] != '/')
			len--;
		if (len > 1)
			len--; /* "/p/d/x" -> "/p/d" */
		if (len == 0 || (len == 1 && path[0] == '/'))
			break;
		table_get(&f->below, path, len, true)->val += (size_t)delta;
	}
}

static bool has_below(struct follower *f, const char *dir)
{
	struct slot *s = table_get(&f->below, dir, strlen(dir), false);

	return s && s->val > 0;
}

static void add_entry(struct follower *f, char *path, struct rename_hint from)
{
	struct rename_hints *h = f->h;

	GROW(h->v, h->cap, h->n + 1);
	h->v[h->n] = (struct rename_hint){
		.path = path, .origin = from.origin, .replaced = from.replaced};
	table_get(&f->at, path, strlen(path), true)->val = ++h->n;
	count_below(f, path, +1);
}

/* Take entry i out; its path and what it came from go to *path and *from when not NULL, else
   they are freed. */
static void take_entry(struct follower *f, size_t i, char **path, struct rename_hint *from)
{
	struct rename_hints *h = f->h;
	struct rename_hint e = h->v[i];

	table_get(&f->at, e.path, strlen(e.path), false)->val = 0;
	count_below(f, e.path, -1);
	h->v[i] = h->v[--h->n];
	if (i < h->n)
		table_get(&f->at, h->v[i].path, strlen(h->v[i].path), false)->val = i + 1;
	if (path)
		*path = e.path;
	else
		free(e.path);
	if (from) {
		*from = (struct rename_hint){.origin = e.origin, .replaced = e.replaced};
	} else {
		free(e.origin);
		free(e.replaced);
	}
}

/* Rare: a directory that has renamed entries below it was renamed or replaced. */
static void below_moved(struct follower *f, const char *from, const char *to)
{
	size_t i, len = strlen(from);

	for (i = 0; i < f->h->n;) {
		struct rename_hint was;
		char *path;

		if (!path_is_under(f->h->v[i].path, from) || f->h->v[i].path[len] != '/') {
			i++;
			continue;
		}
		take_entry(f, i, &path, &was);
		if (to) {
			add_entry(f, xasprintf("%s%s", to, path + len), was);
		} else {
			free(was.origin);
			free(was.replaced);
		}
		free(path);
		/* The array changed at i: look at i again. */
	}
}

/*
 * from was renamed to to: what was below to is gone, and what was at to unless from is a
 * renamed entry itself: a new file renamed over a renamed one (an editor's or sed -i's save
 * through a temporary file) carries on that file's history. What was at or below from is
 * now below to.
 *
 * An entry never renamed before is either a host file or a new one, and the log does not say
 * which: renamed over to, it is the host file from (a mv over another file), or a new file
 * that takes the place of to (sed -i, an editor's atomic save, os.replace()), to keep to's
 * identity. The entry at to names both; the change set decides (the origin when it is a
 * deleted host file, else what it replaced), so a later mv of to is a rename of to.
 */
static void follow(struct follower *f, const char *from, const char *to)
{
	struct rename_hint was = {0};
	bool known, keep_to;
	char *path;
	size_t i;

	if (strcmp(from, to) == 0 || path_is_under(from, to) || path_is_under(to, from))
		return; /* the kernel refuses these */
	known = index_of(f, from) != (size_t)-1;
	keep_to = !known && index_of(f, to) != (size_t)-1;
	/* Each step moves entries in the array: indices are looked up again after it. */
	if (has_below(f, to))
		below_moved(f, to, NULL);
	if (!keep_to && (i = index_of(f, to)) != (size_t)-1)
		take_entry(f, i, NULL, NULL);
	if (has_below(f, from))
		below_moved(f, from, to);
	if (known) {
		take_entry(f, index_of(f, from), &path, &was);
		free(path);
		add_entry(f, xstrdup(to), was);
	} else if (!keep_to && f->h->n < RENAME_HINTS_MAX) {
		was = (struct rename_hint){.origin = xstrdup(from), .replaced = xstrdup(to)};
		add_entry(f, xstrdup(to), was);
	}
}

static int cmp_hint(const void *a, const void *b)
{
	return strcmp(((const struct rename_hint *)a)->path, ((const struct rename_hint *)b)->path);
}

int rename_hints_load(const char *events_path, struct rename_hints *h)
{
	FILE *f = fopen(events_path, "re");
	struct follower fw = {.h = h};
	cleanup_free char *line = NULL;
	size_t cap = 0, seen = 0;
	ssize_t len;

	if (!f)
		return -errno;
	while ((len = getline(&line, &cap, f)) > 0 && seen < RENAME_HINTS_EVENTS) {
		cJSON *ev;

		/* Most lines are not renames: look before parsing. */
		if (!memmem(line, (size_t)len, "\"target2\":", 10) ||
		    !memmem(line, (size_t)len, "\"op\":\"rename", 12))
			continue;
		ev = cJSON_Parse(line);
		if (ev && is_rename(ev)) {
			cleanup_free char *from = event_path(ev, "resolved", "target");
			cleanup_free char *to = event_path(ev, "resolved2", "target2");

			if (from && to) {
				follow(&fw, from, to);
				seen++;
			}
		}
		cJSON_Delete(ev);
	}
	fclose(f);
	table_free(&fw.at);
	table_free(&fw.below);
	if (h->n)
		qsort(h->v, h->n, sizeof(*h->v), cmp_hint);
	return 0;
}

static const struct rename_hint *find(const struct rename_hints *h, const char *path, size_t len)
{
	size_t lo = 0, hi = h->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		const char *p = h->v[mid].path;
		int c = strncmp(p, path, len);

		if (c == 0 && p[len] != '\0')
			c = 1;
		if (c < 0)
			lo = mid + 1;
		else if (c > 0)
			hi = mid;
		else
			return &h->v[mid];
	}
	return NULL;
}

/* The entry at path, else at the nearest directory above it that was moved; *len is then the
   length of that directory. */
static const struct rename_hint *hint_of(const struct rename_hints *h, const char *path,
					 size_t *len)
{
	*len = strlen(path);
	if (!h || h->n == 0)
		return NULL;
	while (*len > 1) {
		const struct rename_hint *x = find(h, path, *len);

		if (x)
			return x;
		while (*len > 0 && path[*len - 1] != '/')
			(*len)--;
		if (*len > 1)
			(*len)--;
		else
			break;
	}
	return NULL;
}

char *rename_hints_origin(const struct rename_hints *h, const char *path)
{
	size_t len;
	const struct rename_hint *x = hint_of(h, path, &len);

	return x ? xasprintf("%s%s", x->origin, path + len) : NULL;
}

char *rename_hints_replaced(const struct rename_hints *h, const char *path)
{
	size_t len;
	const struct rename_hint *x = hint_of(h, path, &len);

	return x && x->replaced ? xasprintf("%s%s", x->replaced, path + len) : NULL;
}

void rename_hints_free(struct rename_hints *h)
{
	size_t i;

	for (i = 0; i < h->n; i++) {
		free(h->v[i].path);
		free(h->v[i].origin);
		free(h->v[i].replaced);
	}
	free(h->v);
	*h = (struct rename_hints){0};
}
