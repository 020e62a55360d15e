/* SPDX-License-Identifier: MIT */
/*
 * Deferred commands (design.md, "Exec"): execs a `defer` rule held back. The event log
 * records each with its argv, executable, cwd and environment ("deferred": N, 1-based, in
 * order). After the file commit, the ones a person approved run on the host, in order, as
 * the person approved them: the recorded executable and argv, from the recorded cwd, in the
 * environment of the person's own `airlock commit` or `airlock review`. Nothing of the
 * recorded environment is carried over: the program chose it and nobody was shown it, and
 * one variable (LD_PRELOAD, GIT_CONFIG_*, PATH, BASH_ENV, PYTHONPATH, ...) turns an approved
 * `git push` into anything. It stays in the record, for the audit. Output is shown and kept
 * in the session as deferred/N.out; each run is an event ("class":"deferred") in the same
 * hash chain, and a command runs at most once.
 */
#ifndef AIRLOCK_SUPERVISOR_DEFERRED_H
#define AIRLOCK_SUPERVISOR_DEFERRED_H

#include "supervisor/record/events.h"
#include "supervisor/record/store.h"

#include <cjson/cJSON.h>
#include <stddef.h>

struct deferred_cmd {
	unsigned n;	/* 1-based, in the order the program ran them */
	cJSON *command; /* argv */
	char *path;	/* the executable, as the sandbox resolved it */
	char *cwd;
	cJSON *env; /* "NAME=VALUE" strings, as recorded (never used to run it) */
	int ran;    /* -1: not run; -2: started, no end recorded; else its exit status */
};

struct deferred_list {
	struct deferred_cmd *v;
	size_t n, cap;
};

/* Read the session's deferred commands (and which ran) from its event log. 0 or -errno. */
int deferred_load(const struct session *s, struct deferred_list *out);

/* The same from events already read (writers_deferred_events(): the review's one reading of
   the log). */
void deferred_from_events(const cJSON *events, struct deferred_list *out);

/* Deferred command n of l, or NULL when the log has none of that number. */
struct deferred_cmd *deferred_find(struct deferred_list *l, unsigned n);

void deferred_free(struct deferred_list *l);

/*
 * Give each deferred command of commands (the "commands" of a report, report_add()) its
 * "state": "ran" with its "exit_code" (null when its end is not recorded), else the decision
 * a review saved on it ("approved", "denied"), else "undecided". A saved decision never runs
 * a command: only `airlock commit --run N` or the review's commit does.
 */
void deferred_report(const struct session *s, cJSON *commands);

/*
 * Run the deferred commands numbered which[0..n) (each must exist and not have run; checked
 * for all before any runs), in recorded order, appending an event for each to log. Returns 0
 * when every one ran and exited 0, 1 when one exited non-zero or could not start (the rest
 * still run), -1 after printing why nothing ran (an unknown or already run N).
 */
int deferred_run(const struct session *s, struct event_log *log, const unsigned *which, size_t n);

#endif
