/* SPDX-License-Identifier: MIT */
/*
 * Sealing a session's record: every writer of a finished session's meta.json seals it here,
 * with an event in the hash-chained log, and `airlock verify` (audit.c) recomputes the seal
 * with seal_meta_text() and seal_member_digest().
 */
#ifndef AIRLOCK_SUPERVISOR_SEAL_H
#define AIRLOCK_SUPERVISOR_SEAL_H

#include "supervisor/record/events.h"

#include <cjson/cJSON.h>

/* Hex digits of a member's digest in a seal: enough to name the member that changed. */
#define SEAL_FIELD_DIGEST 16

/*
 * A new event of the session itself ("class": "session"), such as the end of the run or a
 * discard: op names it and is also its decision, target (or NULL) says what came of it, by is
 * who acted ("person", or "airlock" for airlock's own record keeping).
 */
cJSON *seal_session_event(const char *op, const char *target, const char *by);

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
int seal_meta(cJSON *meta, struct event_log *log, cJSON *ev);

/*
 * Seal meta with a plain seal event ("op": "seal") and record the chain head: call it just
 * before writing meta.json (commit, undo), as seal_meta() explains.
 */
void seal_head(cJSON *meta, struct event_log *log);

/*
 * Open the event log at path for appending (events_open); when the run forwarded its events to
 * syslog (meta "syslog"), forward these too. 0 or -errno (printed).
 */
int seal_open_log(struct event_log *log, const char *path, const cJSON *meta);

/*
 * What a seal covers: meta's compact text without "chain". Caller frees; NULL when out of
 * memory.
 */
char *seal_meta_text(cJSON *meta);

/* The first SEAL_FIELD_DIGEST hex digits of the SHA-256 of a member's compact value. */
void seal_member_digest(const cJSON *item, char out[SEAL_FIELD_DIGEST + 1]);

#endif
