/* SPDX-License-Identifier: MIT */
/*
 * A session's report, shared by `airlock show --json` and the `airlock run --json` result:
 * "changes" (path, kind, type, size, mode, by: the command lines that wrote the path, from the
 * event log), "commands" (argv, decision, by, ...) and "connections" (target, name, decision).
 */
#ifndef AIRLOCK_SUPERVISOR_REPORT_H
#define AIRLOCK_SUPERVISOR_REPORT_H

#include "supervisor/changeset/changes.h"
#include "supervisor/record/store.h"

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <sys/types.h>

/*
 * Add "changes", "commands" and "connections" to out. With scanned, *cs is the session's
 * change set already; otherwise the scan fills *cs (zeroed by the caller, freed with
 * change_set_free()).
 */
void report_add(cJSON *out, const struct session *s, const cJSON *meta, struct change_set *cs,
		bool scanned);

/* Who wrote which path, from the event log. */
struct writers;

/*
 * Read the session's events.jsonl: who wrote which path, and (each when not NULL) the commands
 * and connections as report_add() lists them, appended to the JSON arrays. Free the result
 * with writers_free().
 */
struct writers *report_read_events(const struct session *s, cJSON *commands, cJSON *connections);

/*
 * Call fn with each distinct process that wrote path (the log's form of it: invalid UTF-8
 * escaped, see utf8_sanitize()): its command line and the seq of the exec event that started
 * its program (-1 when unknown, or in a record from before it was kept), sorted by command
 * line. Returns how many.
 */
size_t writers_each(const struct writers *ws, const char *path,
		    void (*fn)(void *ctx, const char *argv, long long exec_seq), void *ctx);

/*
 * writers_each() and writers_steps() for a caller going through paths in sorted order: *at
 * (0 to start) is where the last path's writers were, so finding the next is a step or two,
 * not a search of the whole list (any *at gives the same answer, only slower).
 */
size_t writers_each_at(const struct writers *ws, size_t *at, const char *path,
		       void (*fn)(void *ctx, const char *argv, long long exec_seq), void *ctx);
size_t writers_steps_at(const struct writers *ws, size_t *at, const char *path, unsigned *steps,
			size_t max);

void writers_free(struct writers *ws);

/* The distinct live-session steps that wrote path (at most max of them, into steps). */
size_t writers_steps(const struct writers *ws, const char *path, unsigned *steps, size_t max);

/* A live session's steps as the log has them: [{step, command, cwd, start, end, exit_code}]. */
const cJSON *writers_steps_json(const struct writers *ws);

/* The log's events about deferred commands (exec events and "deferred" events with a
   "deferred" number), in log order, for deferred_from_events(). */
const cJSON *writers_deferred_events(const struct writers *ws);

/* The type of an st_mode as the report names it: "file", "dir", "symlink", "fifo", "socket",
   "device"; NULL for 0 (nothing there). */
const char *report_type_name(mode_t m);

#endif
