/* SPDX-License-Identifier: MIT */
/*
 * Reading a session's record back: `airlock verify` recomputes the hash chain of events.jsonl
 * and checks meta.json, and `airlock log` prints the timeline (cmd_verify and cmd_log are
 * declared in cli.h). This header holds what other parts of airlock need from it.
 */
#ifndef AIRLOCK_SUPERVISOR_AUDIT_H
#define AIRLOCK_SUPERVISOR_AUDIT_H

#include "supervisor/events.h"

#include <cjson/cJSON.h>

/*
 * Record the chain's head in meta as "chain": {"events": N, "head": HEX} (replacing an older
 * one): N lines so far, HEX the SHA-256 of line N ("" when N is 0). Call it with the open log
 * just before writing meta.json (end of a run, commit, undo, discard). The log is append-only,
 * so later events do not invalidate it; with it, `airlock verify` also detects lines cut from
 * the end of events.jsonl and an edit of the last recorded line, which the chain alone cannot.
 */
void audit_record_head(cJSON *meta, const struct event_log *log);

#endif
