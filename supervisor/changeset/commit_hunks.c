/* SPDX-License-Identifier: MIT */
/*
 * A commit of a file decided hunk by hunk (hunks.h): the conflict check that the sides are
 * still the ones the person saw, and the file it writes, the host's with the approved hunks.
 */
#include "supervisor/changeset/commit_int.h"
#include "supervisor/changeset/hunks.h"

static void refuse(struct step *st, char *why)
{
	free(st->conflict);
	st->conflict = why;
	st->unsafe = true;
}

/*
 * Check a step decided hunk by hunk and make the file it writes. Hunks apply only to the
 * sides they were seen on: a host change since the session started, or either side changed
 * since the review, is a conflict --force cannot override (there is no file to force), so
 * nothing of this file is written.
 */
void cm_check_hunks(struct step *st, int sfd, const char *sdir)
{
	struct hunk_file f;
	struct buf b = BUF_INIT;
	int rc;

	if (!st->hunks)
		return;
	if (st->conflict) {
		st->unsafe = true; /* the hunks were decided on what the host had */
		return;
	}
	rc = hunk_file_load(&f, sfd, sdir, st->c);
	if (rc < 0) {
		refuse(st,
		       xasprintf("its hunks were decided in the review, but it cannot be read "
				 "hunk by hunk now: %s",
				 rc == -EMEDIUMTYPE ? "not a modified text file" : strerror(-rc)));
	} else if (strcmp(f.old_sha, st->hunk_old) != 0 || strcmp(f.new_sha, st->hunk_new) != 0 ||
		   strlen(st->hunks) != f.n) {
		refuse(st, xasprintf("it changed %s since its hunks were decided in the review "
				     "('airlock review' decides them again)",
				     strcmp(f.old_sha, st->hunk_old) != 0 ? "on the host"
									  : "in the session"));
	} else {
		buf_init(&b);
		rc = hunks_apply(f.old, f.olen, f.new, f.nlen, f.v, f.n, st->hunks, &b);
		if (rc < 0) {
			buf_release(&b);
			refuse(st, xstrdup("its approved hunks do not apply to it"));
		} else {
			st->partial_len = b.len;
			st->partial = buf_detach(&b);
		}
	}
	hunk_file_free(&f);
}

/*
 * Write a step's partial file as dfd/name (which must not exist), with the host file's mode:
 * only content is approved hunk by hunk. Not its setuid and setgid bits: the content is the
 * program's in part now, and a file the host gets from a session never runs as its owner
 * (as strip_bits() does for a whole file; a write by its owner clears them too). Not synced
 * (the batch is). 0 or -errno.
 */
int cm_write_partial(int dfd, const char *name, const struct step *st)
{
	cleanup_fd int fd =
		openat(dfd, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	size_t done = 0;

	if (fd < 0)
		return -errno;
	while (done < st->partial_len) {
		ssize_t w = write(fd, st->partial + done, st->partial_len - done);

		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			return -errno;
		done += (size_t)w;
	}
	return fchmod(fd, st->host_mode & 07777 & ~(mode_t)(S_ISUID | S_ISGID)) < 0 ? -errno : 0;
}
