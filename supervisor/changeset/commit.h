/* SPDX-License-Identifier: MIT */
/*
 * `airlock commit` and `airlock undo` (cmd_commit and cmd_undo are declared in cli.h): applying a
 * session's change set to the host and taking it back. The session directory's
 * commit/journal.jsonl plans every step before the first host change; steps then go in batches:
 * each new entry is written under a temporary name beside its place and synced, the batch's
 * start lines (with the inodes of the entries it will move) are synced, the entries are swapped
 * in with one rename each (RENAME_EXCHANGE over an existing entry, RENAME_NOREPLACE for an
 * addition) and the host's old entries moved into commit/backup/STEP, and done lines follow.
 * Undo and crash rollback find every entry by its inode, wherever a crash left it, and move the
 * old ones back; a finished commit's result lines let undo refuse to lose a later host change.
 */
#ifndef AIRLOCK_SUPERVISOR_COMMIT_H
#define AIRLOCK_SUPERVISOR_COMMIT_H

#include "supervisor/changeset/changes.h"
#include "supervisor/record/store.h"

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <time.h>

/*
 * Roll back the commit journal of an open (exclusively locked) session: every step the journal
 * shows started, newest first. Prints what it does; returns 0 (also when there was nothing to
 * roll back, *had_journal then false) or -1 after printing which step failed.
 */
int commit_rollback(const struct session *s, bool *had_journal);

/*
 * Commit the changes of session id (as `airlock commit ID PATH...` does, printing what it does)
 * whose paths are exactly paths[0..n): a directory's path takes that directory, not what lies
 * below it. The review commits this way. Returns the exit status (0, or 1 after printing why).
 */
int commit_paths(const char *id, const char *const *paths, size_t n, bool force);

/*
 * The time the conflict check compares the host with: the session's start, or the end of the
 * last undo of its commit. 0, or -EINVAL when meta has no valid start. Read-only.
 */
int commit_baseline(const struct session *s, const cJSON *meta, struct timespec *start);

/*
 * Whether committing c now would conflict with the host, by the check `airlock commit` makes
 * (read-only): NULL, or why (caller frees), with *unsafe when --force cannot override it. sfd
 * is the session directory sdir opened O_PATH. A change below a directory the commit creates
 * is a commit of that directory first: check only that one.
 */
char *commit_conflict(int sfd, const char *sdir, const struct change *c,
		      const struct timespec *start, bool *unsafe);

#endif
