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

#include "supervisor/store.h"

/*
 * Roll back the commit journal of an open (exclusively locked) session: every step the journal
 * shows started, newest first. Prints what it does; returns 0 (also when there was nothing to
 * roll back, *had_journal then false) or -1 after printing which step failed.
 */
int commit_rollback(const struct session *s, bool *had_journal);

#endif
