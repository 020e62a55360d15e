/* SPDX-License-Identifier: MIT */
/*
 * One step in a live session for a caller that is not a terminal (airlock mcp): the command
 * runs as `airlock exec --json` runs it (stdin /dev/null, stdout and stderr captured and
 * redacted), and the result comes back instead of being printed.
 */
#ifndef AIRLOCK_SUPERVISOR_LIVE_CLIENT_H
#define AIRLOCK_SUPERVISOR_LIVE_CLIENT_H

#include "supervisor/record/store.h"

#include <stdbool.h>
#include <stddef.h>

struct live_capture {
	unsigned step;	 /* the step's number; 0 when none started */
	int exit_code;	 /* as `airlock exec` gives it (125: airlock failed) */
	int signal;	 /* the signal that ended the step, or 0 */
	char *out, *err; /* captured and redacted; NUL-terminated, may hold NULs */
	size_t out_len, err_len;
	bool truncated;	 /* a stream was cut at max_output */
	bool timed_out;	 /* the timeout ended the step */
	int interrupted; /* a signal that came to us through sigfd (and went to the step) */
	char error[512]; /* why the step did not run or ended early, or "" */
};

/*
 * Run argv in live session s, in dir (absolute, or relative to our working directory; NULL: our
 * working directory, or the session's when ours is not in its view), with our environment as
 * `airlock exec` passes it. A timeout_ms > 0 sends the step SIGTERM when it is over, SIGKILL two
 * seconds later. Each stream keeps max_output bytes (0: exec's default). sigfd, when >= 0, is a
 * signalfd whose signals are passed on to the step. Returns 0 when the step was started and
 * ended (r filled), or -errno when the session could not take it (r->error says why). Free r with
 * live_capture_free() either way.
 */
int live_exec_capture(const struct session *s, char **argv, const char *dir, int timeout_ms,
		      size_t max_output, int sigfd, struct live_capture *r);
void live_capture_free(struct live_capture *r);

#endif
