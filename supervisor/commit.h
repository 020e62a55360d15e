/* SPDX-License-Identifier: MIT */
/*
 * `airlock commit` and `airlock undo` (cmd_commit and cmd_undo are declared in cli.h): applying a
 * session's change set to the host and taking it back. The session directory's
 * commit/journal.jsonl lists each planned step before the first host change, commit/backup/N
 * holds a copy of everything step N overwrites or deletes, and a "done" line follows each
 * completed step; undo walks the done steps in reverse and restores the backups.
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
