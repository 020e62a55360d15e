/* SPDX-License-Identifier: MIT */
/*
 * The session store: $AIRLOCK_STATE_DIR, else $XDG_STATE_HOME/airlock, else
 * ~/.local/state/airlock. Each session is sessions/ID/ with meta.json, events.jsonl, the
 * overlay upper/work directories and a lock file. IDs are short, unique and sort by time
 * ("YYMMDD-HHMMSS-mmmr": UTC time, milliseconds, a random digit); "last" (or no ID) names the
 * newest session, and a unique prefix names a session as git abbreviates commits. A live
 * session may also have a name (sessions/ID/name); a name names the newest session with it.
 */
#ifndef AIRLOCK_SUPERVISOR_STORE_H
#define AIRLOCK_SUPERVISOR_STORE_H

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stddef.h>
#include <time.h>

struct strvec;

struct session {
	char *id;
	char *dir;   /* absolute path of sessions/ID */
	int lock_fd; /* holds the session's flock while the session is open */
};

/* The store's root directory (caller frees), or NULL after printing why (no HOME). */
char *store_root(void);

/* Create a new session directory, locked exclusively. 0 or -errno (printed). */
int store_create(struct session *s);

/*
 * gmtime_r()'s date and time of t (the other fields 0), without its first call's load of the
 * time zone (/etc/localtime, seven system calls) on the way to the clone: the session's ID.
 */
void store_utc(time_t t, struct tm *tm);

/*
 * Open the session named by arg ("last", NULL, an ID or a unique prefix) and take its lock
 * (exclusive, or shared). Returns 0; -ENOENT / -EINVAL (ambiguous) after printing why;
 * -EBUSY when the session is in use by another airlock (running, or being committed).
 */
int store_open(const char *arg, bool exclusive, struct session *s);

/*
 * A file in a session directory while the run that made it seals its record after it has
 * returned the command's status (session.h): the run holds the session's lock until then.
 */
#define STORE_SEALING "sealing"

/*
 * Wait until the record of session s is sealed, when its run seals it after returning (see
 * STORE_SEALING); return at once otherwise. store_find() and store_open() call it: every
 * command sees a session as its run left it.
 */
void store_wait_sealed(const struct session *s);

/*
 * Wait until no process holds s's lock (a supervisor that answered "stopped" and is still
 * exiting), up to timeout_ms. 0, -ETIMEDOUT, or -errno.
 */
int store_wait_released(const struct session *s, int timeout_ms);

/*
 * Find the session named by arg without locking it, for reading (show, list): a running
 * session can be looked at as it goes. 0 or -ENOENT / -EINVAL after printing why.
 */
int store_find(const char *arg, struct session *s);

/* As store_find(), without a message when arg names no session. */
int store_find_quiet(const char *arg, struct session *s);

/* Give the session a name (airlock start --name) that store_find() resolves. 0 or -errno. */
int store_set_name(const struct session *s, const char *name);

void store_close(struct session *s);

/*
 * Whether a subcommand's first argument names a session ("last", a whole ID, or digits and
 * dashes as the prefixes of IDs are) rather than a path, for commands that take both (diff,
 * commit).
 */
bool store_is_id_arg(const char *arg);

/* Append the IDs of every session to ids, sorted. 0 or -errno. */
int store_list(struct strvec *ids);

/* True when a process holds the session's lock (it is running or being changed). */
bool store_in_use(const char *id);

/* Read sessions/ID/meta.json; NULL after printing why. Caller deletes. */
cJSON *store_read_meta(const struct session *s);

/*
 * Write meta.json atomically (temp file and rename). durable also fsyncs it: the start of a
 * run skips that, since a crash then leaves a session that shows as interrupted anyway.
 * 0 or -errno (printed).
 */
int store_write_meta(const struct session *s, const cJSON *meta, bool durable);

/* A path inside the session directory; caller frees. */
char *session_path(const struct session *s, const char *name);

#endif
