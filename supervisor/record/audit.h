/* SPDX-License-Identifier: MIT */
/*
 * Reading a session's record back: `airlock verify` recomputes the hash chain of events.jsonl
 * and checks meta.json and the files it vouches for, and `airlock log` prints the timeline
 * (cmd_verify and cmd_log are declared in cli.h). This header holds what the writers of the
 * record need: every write of a finished session's meta.json is sealed here.
 */
#ifndef AIRLOCK_SUPERVISOR_AUDIT_H
#define AIRLOCK_SUPERVISOR_AUDIT_H

#include "supervisor/record/events.h"

#include <cjson/cJSON.h>
#include <stdbool.h>

/*
 * A new event of the session itself ("class": "session"), such as the end of the run or a
 * discard: op names it and is also its decision, target (or NULL) says what came of it, by is
 * who acted ("person", or "airlock" for airlock's own record keeping).
 */
cJSON *audit_session_event(const char *op, const char *target, const char *by);

/*
 * Seal meta with ev, then record the chain head. ev (consumed) is completed with "meta_sha256",
 * the SHA-256 of meta's compact text without "chain", and "meta_fields", a short digest of
 * each member so that verify can name the member that changed, and appended to the log; meta
 * then gets "chain": {"events": N, "head": HEX}, N the lines so far and HEX the SHA-256 of the
 * last (the seal). The caller writes meta.json next, unchanged. verify checks meta.json
 * against the log's last seal, and that the seal is the last line: so every writer of a
 * finished session's meta.json seals it. 0, or -errno after printing why (the head is
 * recorded anyway, and verify will report meta.json unsealed).
 */
int audit_seal_event(cJSON *meta, struct event_log *log, cJSON *ev);

/*
 * Seal meta with a plain seal event ("op": "seal") and record the chain head: call it just
 * before writing meta.json (commit, undo), as audit_seal_event() explains.
 */
void audit_record_head(cJSON *meta, struct event_log *log);

/*
 * Open the event log at path for appending (events_open); when the run forwarded its events to
 * syslog (meta "syslog"), forward these too. 0 or -errno (printed).
 */
int audit_open_log(struct event_log *log, const char *path, const cJSON *meta);

#endif
