/* SPDX-License-Identifier: MIT */
/*
 * Renames as the record saw them, to show a deleted host file and a new file as one rename
 * (`airlock diff`, the review). The change set is the ground truth and has no renames: a
 * rename there is the deletion of the old path and the addition of the new one, and it is
 * committed so (both, or neither when the review denies the pair). The record only says
 * which deletion and addition may belong together; diff.c decides from the content whether
 * they do (see diff_find_renames()).
 *
 * The hints are the write events of rename(2), renameat(2) and renameat2(2) (and the
 * directory moves airlock makes itself), followed in order: a file renamed twice names its
 * first path; a directory moved takes everything below it along. A renamed entry that a later
 * rename replaces is forgotten. A file never renamed before that is renamed over another may
 * be a new one saved in its place (sed -i, an editor's atomic save): its hint names both paths,
 * and the change set tells which one it is. Each rename costs a few lookups whatever the number
 * before it; past RENAME_HINTS_EVENTS renames, or RENAME_HINTS_MAX entries, the rest are not
 * followed (the pairs they would give are then found by content only, when identical).
 */
#ifndef AIRLOCK_SUPERVISOR_RENAMES_H
#define AIRLOCK_SUPERVISOR_RENAMES_H

#include <stddef.h>

#define RENAME_HINTS_MAX    100000
#define RENAME_HINTS_EVENTS 100000

struct rename_hint {
	char *path;	/* where the entry is after the renames */
	char *origin;	/* where it was before the first of them */
	char *replaced; /* or NULL: the path the first of them replaced, whose identity the entry
			   keeps if origin was a new file (sed -i's temporary file) */
};

struct rename_hints {
	struct rename_hint *v; /* sorted by path once loaded */
	size_t n, cap;
};

/*
 * Read the renames of the event log at events_path into *h (zeroed by the caller; free it with
 * rename_hints_free()). Lines that are not rename events are skipped without being parsed. A
 * log that cannot be read gives no hints: 0 or -errno (not printed).
 */
int rename_hints_load(const char *events_path, struct rename_hints *h);

/* The path the entry now at path (absolute, normalised) had before it was renamed, or NULL.
   Caller frees. */
char *rename_hints_origin(const struct rename_hints *h, const char *path);

/* The path the entry at path took the place of when it was renamed over it, or NULL: the
   entry is that file, replaced in place, when its origin was no host file. Caller frees. */
char *rename_hints_replaced(const struct rename_hints *h, const char *path);

void rename_hints_free(struct rename_hints *h);

#endif
