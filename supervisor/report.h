/* SPDX-License-Identifier: MIT */
/*
 * A session's report, shared by `airlock show --json` and the `airlock run --json` result:
 * "changes" (path, kind, type, size, mode, by: the command lines that wrote the path, from the
 * event log), "commands" (argv, decision, by, ...) and "connections" (target, name, decision).
 */
#ifndef AIRLOCK_SUPERVISOR_REPORT_H
#define AIRLOCK_SUPERVISOR_REPORT_H

#include "supervisor/changes.h"
#include "supervisor/store.h"

#include <cjson/cJSON.h>
#include <stdbool.h>

/*
 * Add "changes", "commands" and "connections" to out. With scanned, *cs is the session's
 * change set already; otherwise the scan fills *cs (zeroed by the caller, freed with
 * change_set_free()).
 */
void report_add(cJSON *out, const struct session *s, const cJSON *meta, struct change_set *cs,
		bool scanned);

/* Set dst[dkey] to a copy of src[skey], or null when src has none. */
void json_copy(cJSON *dst, const char *dkey, const cJSON *src, const char *skey);

/* Join a JSON array of strings with spaces, for display. Caller frees. */
char *join_argv(const cJSON *arr);

#endif
