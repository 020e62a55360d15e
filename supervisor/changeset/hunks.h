/* SPDX-License-Identifier: MIT */
/*
 * Per-hunk decisions: a modified text file committed as the host's original with only the
 * hunks the person approved applied. The hunks are those of the patch the review showed
 * (libgit2, the options of `airlock diff`); the review records the SHA-256 of both sides it
 * was made from, and the commit recomputes the patch only from sides with the same hashes,
 * so the hunks it applies are the ones the person saw. Nothing of a side is trusted: a
 * binary side (a NUL anywhere), a file over HUNKS_MAX_SIZE or anything but a modified
 * regular file on both sides gets no hunks, and hunks_apply() checks that what lies between
 * the hunks is the same on both sides before it writes a byte.
 *
 * A file's hunk decisions are a string of one letter a hunk, in order: 'a' approved, 'd'
 * denied, 'u' undecided. Only 'a' hunks are applied.
 */
#ifndef AIRLOCK_SUPERVISOR_HUNKS_H
#define AIRLOCK_SUPERVISOR_HUNKS_H

#include "common/buf.h"
#include "supervisor/changeset/changes.h"

#include <stdbool.h>
#include <stddef.h>

/* Larger sides are decided whole (both are held in memory to diff them). */
#define HUNKS_MAX_SIZE (16 << 20)
/* More hunks than this: decided whole. */
#define HUNKS_MAX 10000

/* One hunk: lines [start, start + lines) of each side, 0-based. */
struct hunk {
	size_t old_start, old_lines, new_start, new_lines;
};

/* Both sides of a modified file as read once, with their hashes and hunks. */
struct hunk_file {
	char *old, *new;
	size_t olen, nlen;
	char old_sha[65], new_sha[65];
	char *patch; /* libgit2's patch of the two (its hunks start at patch + hunks_at) */
	size_t plen, hunks_at;
	struct hunk *v;
	size_t n;
};

/*
 * Parse the hunks of a one-file patch as libgit2 writes it: every "@@ -a,b +c,d @@" line and
 * exactly the body its counts say, so a content line that looks like a header is content.
 * *at receives where the first hunk starts. 0 (n may be 0: no hunk, e.g. a binary patch), or
 * -EINVAL when the text is not such a patch.
 */
int hunks_parse(const char *patch, size_t len, struct hunk **v, size_t *n, size_t *at);

/*
 * The host's original (old) with the hunks whose letter in states is 'a' applied, into out:
 * byte for byte new's lines for those hunks, old's for the rest. -EINVAL (out unchanged in
 * meaning) when the hunks do not describe old and new: ranges out of order or out of bounds,
 * or different bytes between hunks.
 */
int hunks_apply(const char *old, size_t olen, const char *new, size_t nlen, const struct hunk *v,
		size_t n, const char *states, struct buf *out);

/*
 * The patch and hunks of two buffers (copied), as the review shows them. 0; -EMEDIUMTYPE
 * when the diff is not text (a NUL on either side); -errno.
 */
int hunk_file_from(struct hunk_file *f, const char *old, size_t olen, const char *new, size_t nlen);

/*
 * Read change c's sides (the host's file at c->path, the upper file below the session
 * directory sdir open at sfd, never through a symlink) and make its hunks. 0; -EMEDIUMTYPE
 * when c cannot be decided by hunks (not a modified regular file, too large, not text);
 * -errno.
 */
int hunk_file_load(struct hunk_file *f, int sfd, const char *sdir, const struct change *c);

void hunk_file_free(struct hunk_file *f);

/* Whether shown (a patch the review showed) has exactly f's hunks, byte for byte. */
bool hunks_shown(const struct hunk_file *f, const char *shown, size_t len);

/* Whether states is a valid decision string for n hunks. */
bool hunks_valid(const char *states, size_t n);

#endif
