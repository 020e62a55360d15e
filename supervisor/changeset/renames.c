/* SPDX-License-Identifier: MIT */
/* The renames of the event log, followed in order; see renames.h. */
#include "supervisor/changeset/renames.h"

#include "common/buf.h"
#include "common/cleanup.h"
#include "common/json.h"
#include "common/path.h"

#include <errno.h>
#include <stdbool.h>
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

static void drop_at(struct rename_hints *h, size_t i)
{
	free(h->v[i].path);
	free(h->v[i].origin);
	h->v[i] = h->v[--h->n];
}

static size_t find_exact(const struct rename_hints *h, const char *path)
{
	size_t i;

	for (i = 0; i < h->n; i++)
		if (strcmp(h->v[i].path, path) == 0)
			return i;
	return (size_t)-1;
}

/*
 * from was renamed to to: what was below to is gone, and what was at to unless from is a
 * renamed entry itself: a new file renamed over a renamed one (an editor's or sed -i's save
 * through a temporary file) carries on that file's history. What was at or below from is
 * now below to.
 */
static void follow(struct rename_hints *h, const char *from, const char *to)
{
	bool known = find_exact(h, from) != (size_t)-1;
	bool keep_to = !known && find_exact(h, to) != (size_t)-1;
	size_t i;

	if (strcmp(from, to) == 0 || path_is_under(from, to) || path_is_under(to, from))
		return; /* the kernel refuses these */
	for (i = 0; i < h->n;) {
		if (path_is_under(h->v[i].path, to) && !(keep_to && strcmp(h->v[i].path, to) == 0))
			drop_at(h, i);
		else
			i++;
	}
	for (i = 0; i < h->n; i++) {
		char *moved;

		if (!path_is_under(h->v[i].path, from))
			continue;
		moved = xasprintf("%s%s", to, h->v[i].path + strlen(from));
		free(h->v[i].path);
		h->v[i].path = moved;
	}
	if (!known && !keep_to && h->n < RENAME_HINTS_MAX) {
		GROW(h->v, h->cap, h->n + 1);
		h->v[h->n++] = (struct rename_hint){.path = xstrdup(to), .origin = xstrdup(from)};
	}
}

static int cmp_hint(const void *a, const void *b)
{
	return strcmp(((const struct rename_hint *)a)->path, ((const struct rename_hint *)b)->path);
}

int rename_hints_load(const char *events_path, struct rename_hints *h)
{
	FILE *f = fopen(events_path, "re");
	cleanup_free char *line = NULL;
	size_t cap = 0, seen = 0;
	ssize_t len;

	if (!f)
		return -errno;
	while ((len = getline(&line, &cap, f)) > 0 && seen < RENAME_HINTS_MAX) {
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
				follow(h, from, to);
				seen++;
			}
		}
		cJSON_Delete(ev);
	}
	fclose(f);
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

char *rename_hints_origin(const struct rename_hints *h, const char *path)
{
	size_t len = strlen(path);

	if (!h || h->n == 0)
		return NULL;
	/* The entry itself, else the nearest directory above it that was moved. */
	while (len > 1) {
		const struct rename_hint *x = find(h, path, len);

		if (x)
			return xasprintf("%s%s", x->origin, path + len);
		while (len > 0 && path[len - 1] != '/')
			len--;
		if (len > 1)
			len--;
		else
			break;
	}
	return NULL;
}

void rename_hints_free(struct rename_hints *h)
{
	size_t i;

	for (i = 0; i < h->n; i++) {
		free(h->v[i].path);
		free(h->v[i].origin);
	}
	free(h->v);
	*h = (struct rename_hints){0};
}
