/* SPDX-License-Identifier: MIT */
/*
 * Test-only switches. AIRLOCK_TEST_FEATURES_OFF=a,b,... makes airlock treat those kernel
 * features as missing, so the tests can run the fallbacks and the refusals a newer kernel
 * never takes. Only the test suites set it; it can only take features away.
 * AIRLOCK_TEST_TIMING_FD only adds output for the benchmarks.
 */
#ifndef AIRLOCK_COMMON_TESTENV_H
#define AIRLOCK_COMMON_TESTENV_H

#include <stdbool.h>

/*
 * Is the feature NAME turned off? Names: userns, uid_map, overlay, notify,
 * wait_killable_recv, addfd, addfd_send, sync_wakeup, pidfd_getfd, pidfd_thread, netns_cookie,
 * landlock; and lower_view, airlock's own read-only views of the directories the caller cannot
 * change (tracee/plan.h), for the benchmark's before/after; plan_shortcuts, the plan's trust
 * in what a directory's listing says of an entry and in a mode that refuses a write, so that a
 * test compares the plan without.
 */
bool test_feature_off(const char *name);

/*
 * AIRLOCK_TEST_TIMING_FD=N (bench/ and the tests only): airlock writes one line
 * "<CLOCK_MONOTONIC ns> <what>" to descriptor N at each step of a run's start and end, in
 * the supervisor and in the tracee until the command's execve (the tracee keeps N open, close
 * on exec, so the program never gets it); and along each `airlock exec` (bench/exec_breakdown),
 * for which a live session's supervisor keeps N from `airlock start` until it ends, so a pipe
 * there sees no end of file before the session does. Returns N, or -1 when unset or not open.
 */
int test_timing_fd(void);

/* Write a timing line (printf format) when AIRLOCK_TEST_TIMING_FD is set; else nothing. */
void test_mark(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
