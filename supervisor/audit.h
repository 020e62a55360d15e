/* SPDX-License-Identifier: MIT */
/*
 * Reading a session's record back: `airlock verify` recomputes the hash chain of events.jsonl
 * and checks meta.json and the files it vouches for, and `airlock log` prints the timeline
 * (cmd_verify and cmd_log are declared in cli.h). This header holds what the writers of the
 * record need: every write of a finished session's meta.json is sealed here.
 */
#ifndef AIRLOCK_SUPERVISOR_AUDIT_H
#define AIRLOCK_SUPERVISOR_AUDIT_H

#include "supervisor/events.h"
#include "supervisor/store.h"

#include <cjson/cJSON.h>
#include <stdbool.h>

/*
 * A new event of the session itself ("class": "session"), such as the end of the run or a
 * commit: op names it and is also its decision, target (or NULL) says what came of it, by is
 * who acted ("person", or "airlock" at the end of a run). The caller hands it to audit_seal().
 */
cJSON *audit_session_event(const char *op, const char *target, const char *by);

/*
 * Seal meta and write it: complete ev with "meta_sha256", the SHA-256 of meta's compact text
 * without "chain", and "meta_fields", a short digest of each member so that verify can name the
 * member that changed; append ev to the log; record the chain head (now the seal) in meta as
 * "chain": {"events": N, "head": HEX}; write meta.json (fsynced when durable). ev is consumed.
 * Whoever changes meta.json after the run (commit, undo, discard) seals it again; verify checks
 * meta.json against the last seal and that the seal is the log's last line.
 * 0, or a negative value after printing what failed (meta.json is written whenever it can be).
 */
int audit_seal(const struct session *s, cJSON *meta, struct event_log *log, cJSON *ev,
	       bool durable);

/*
 * Open the session's events.jsonl for appending; when the run forwarded its events to syslog
 * (meta "syslog"), forward these too. 0 or -errno (printed).
 */
int audit_open_log(const struct session *s, const cJSON *meta, struct event_log *log);

#endif
