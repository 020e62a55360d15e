/* SPDX-License-Identifier: MIT */
/*
 * A session's record, meta.json: what ran, where, with which view of the filesystem, how it
 * ended, and the overlays whose upper directories hold its changes.
 */
#ifndef AIRLOCK_SUPERVISOR_SESSION_H
#define AIRLOCK_SUPERVISOR_SESSION_H

#include "supervisor/changeset/changes.h"
#include "supervisor/record/events.h"
#include "supervisor/record/store.h"
#include "tracee/plan.h"

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <time.h>

struct session_record {
	const struct session *s;
	cJSON *meta;
	struct timespec started;   /* CLOCK_MONOTONIC, for the duration */
	long nchanges;		   /* after finish: size of the change set, or -1 */
	struct change_set changes; /* after finish: the change set, when it could be read */
	bool seal_after_return;	   /* nothing of this process reads the session after finish:
				      a large change set may be sealed by a child (see finish) */
};

/* Fill the record for a new run (nothing is written yet). */
void session_record_init(struct session_record *rec, const struct session *s, char *const *command,
			 const char *cwd, const struct plan *plan, const char *const *hidden,
			 size_t nhidden, const char *const *readonly, size_t nreadonly,
			 const char *net, unsigned long long timeout_ms);

/* Write meta.json with state "running". 0 or -errno (printed). */
int session_record_start(struct session_record *rec);

/*
 * Record the end: exit, signal, limit; scan the change set and record every overlay entry's
 * hash (manifest.h); the hashes of the captured output (call it after the output is kept);
 * what was forwarded to syslog; state "finished". Then append the "finish" event, which seals
 * meta.json (seal_meta), and write meta.json.
 *
 * Hashing every held file takes about a second per GB; the program has ended and its sandbox
 * is gone, so nothing but airlock can change the overlays any more. With seal_after_return
 * and at least SEAL_AFTER_BYTES held, the hashing, the seal and the sync are done by a child
 * that holds the session's lock (and STORE_SEALING in the session) until they are written,
 * and this call returns at once: the run's status and output are not held back, and every
 * airlock command on the session waits for the seal (store_wait_sealed()). The caller then
 * writes nothing more to the session or its log.
 */
#define SEAL_AFTER_BYTES (64LL << 20)
void session_record_finish(struct session_record *rec, struct event_log *log, int exit_code,
			   int signal, const char *limit, unsigned long long notifications,
			   bool wait_killable, bool sync_wakeup);

void session_record_free(struct session_record *rec);

/* The session's change set, from the upper directories its meta names. 0 or -errno. */
int session_scan_changes(const struct session *s, const cJSON *meta, struct change_set *cs);

/* The state to show: meta's, or "interrupted" for a "running" session nobody holds. */
const char *session_state(const struct session *s, const cJSON *meta);

/* The time now as the record writes it: "2026-11-23T11:10:05.123Z" (UTC, milliseconds). */
void session_iso_time(char *out, size_t sz);

/*
 * A recorded time (UTC, "2026-11-23T11:10:05.123Z", any number of fraction digits) as local
 * time: *tm, and the milliseconds in *ms. What a person reads on a terminal is local time
 * with its offset; JSON keeps the recorded UTC. false when it does not parse.
 */
bool session_local_time(const char *when, struct tm *tm, long *ms);

/* The same as "2026-11-23T12:10:05.123+0100" into out (the recorded text when it does not
   parse): the replay's times. */
void session_local_iso(const char *when, char *out, size_t sz);

#endif
