/* SPDX-License-Identifier: MIT */
/*
 * The review at the end of `airlock run` (cmd_review and cmd_replay, the subcommands, are
 * declared in cli.h).
 */
#ifndef AIRLOCK_SUPERVISOR_REVIEW_H
#define AIRLOCK_SUPERVISOR_REVIEW_H

#include "supervisor/record/store.h"

#include <stdbool.h>

enum review_when {
	REVIEW_AUTO,   /* when stdin and stdout are terminals, without --json, with changes */
	REVIEW_ALWAYS, /* even with nothing to review; refused (with a message) without a terminal
			*/
	REVIEW_NEVER,
};

/* Parse --review's value: 0, or -EINVAL for anything but auto, always and never. */
int review_parse_when(const char *arg, enum review_when *when);

/*
 * Open the review of the run that just ended in session s (exclusively locked by the run),
 * when `when` says so. The lock is shared while the review is open and released when the
 * person commits. Prints what it does; the run's exit status is not changed by it.
 */
void review_after_run(struct session *s, enum review_when when, bool json);

/* Whether review_after_run() may open the review (false: it certainly returns at once). */
bool review_may_open(enum review_when when, bool json);

#endif
