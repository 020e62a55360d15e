/* SPDX-License-Identifier: MIT */
/*
 * A change set as a git patch that `git apply` accepts and that reproduces the sandbox's files
 * on a pristine copy of the host. Paths are the full host paths without their leading slash
 * after "a/" and "b/" ("a/home/u/proj/f"), so `cd / && git apply` applies it to the host, and
 * `cd COPY && git apply -pN` (N = 1 + the components of the copied directory's host path)
 * applies it to a copy of one directory.
 *
 * What a git patch can express: regular files (content, and the executable bit as mode 100755),
 * symlinks (mode 120000, the target as content), additions, deletions (a deleted or replaced
 * directory is every file below it on the host), type changes (a deletion and an addition).
 * What it cannot, reported with a warning on stderr and left out: empty directories, directory
 * modes, permission changes other than the owner's executable bit, fifos, sockets and devices.
 * Beyond that, git apply removes a directory once it deletes its last file, even one the
 * program emptied and kept (not reported), and refuses paths inside a .git directory (a
 * warning counts them).
 *
 * Renames: a deleted host file and a new file are written as one rename, with git's headers
 * ("similarity index N%", "rename from", "rename to", then the hunks from the old content to
 * the new), when their content is the same (not for empty files), or when the record says the
 * program renamed the one to the other (renames.h) and at least half of the old content is
 * still there (as git's default -M50%; a binary file only when identical). Each file is in at
 * most one pair; among identical candidates the one with the same name wins, then the first
 * by path. git apply takes such a patch as it takes git's.
 */
#ifndef AIRLOCK_SUPERVISOR_DIFF_H
#define AIRLOCK_SUPERVISOR_DIFF_H

#include "supervisor/changeset/changes.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

/* What diff_write() writes. */
enum diff_output {
	DIFF_PATCH,	  /* the patch */
	DIFF_STAT,	  /* as `git diff --stat` */
	DIFF_NAME_STATUS, /* as `git diff --name-status`: A, M, D or T, a tab, the path; a
			     rename R and its similarity, the old path, the new path */
};

struct rename_hints;

struct diff_format {
	enum diff_output output;
	bool escape; /* for a terminal: see diff_write() */
	bool colour; /* git's colours */
	/* An absolute, normalised directory: paths are written relative to it (so `git apply`
	   works there without -p) and changes outside it are left out, as git diff --relative
	   does; NULL: relative to "/". */
	const char *relative;
	int width; /* DIFF_STAT: the columns to lay it out in */
	/* The renames the record saw (renames.h), or NULL: renames are then found by identical
	   content only. */
	const struct rename_hints *renames;
	bool quiet; /* no warnings about what the patch cannot carry or git apply refuses: the
		       patch is for reading (the review) */
};

/*
 * Write to out the patch of the changes in cs at or below any of paths (absolute, normalised
 * host paths; every change when npaths is 0). upper_base is a directory every change's upper
 * entry lies below (the session directory): upper entries are opened beneath it without
 * following any symlink, and their lengths come from fstat, never from the content. matched
 * has npaths elements (NULL when npaths is 0), each set to whether that path names a change or
 * a file the patch deletes; when one is unmatched nothing is written. fmt (NULL: a plain
 * patch) says what to write; fmt->escape writes it for a terminal: control characters and
 * escape sequences from file names and contents are shown escaped (the result no longer
 * applies when they occur).
 *
 * Returns 0; -ENOENT when a path is unmatched (not printed); or -errno after printing what
 * failed (a file that cannot be read is reported and left out, the rest is still written).
 * Calls git_libgit2_init() and git_libgit2_shutdown() itself.
 */
int diff_write(FILE *out, const struct change_set *cs, const char *upper_base,
	       const char *const *paths, size_t npaths, bool *matched,
	       const struct diff_format *fmt);

/*
 * The renames among the changes of cs themselves (a deleted host file or symlink and an added
 * one), found as diff_write() finds them; hints may be NULL. partner (cs->n elements) is set
 * to the index of the other change of each one's rename, or (size_t)-1; score (cs->n
 * elements, or NULL) to the similarity in percent. Returns 0 or -errno after printing why.
 */
int diff_find_renames(const struct change_set *cs, const char *upper_base,
		      const struct rename_hints *hints, size_t *partner, int *score);

#endif
