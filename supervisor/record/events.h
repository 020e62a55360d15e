/* SPDX-License-Identifier: MIT */
/*
 * The session's event log, events.jsonl: one JSON object per line, each carrying its
 * sequence number, time, and the SHA-256 of the previous line ("prev"), so that an edited,
 * deleted, inserted or reordered line breaks the chain. An event is written before the
 * decision it records takes effect.
 */
#ifndef AIRLOCK_SUPERVISOR_EVENTS_H
#define AIRLOCK_SUPERVISOR_EVENTS_H

#include "common/buf.h"

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <time.h>

struct syslog_fwd;

struct event_log {
	int fd;
	unsigned long long seq; /* sequence number of the next event */
	char prev[65];		/* hex SHA-256 of the last line, "" before the first; read it
				   with events_head(): it is computed when first needed */
	bool unhashed;		/* line holds the last line, not hashed into prev yet */
	struct syslog_fwd *fwd; /* forwarding to syslog (events_forward_syslog), or NULL */
	/* Denied connections and lookups, counted by events_append() for the run's last line:
	   a program that retries a refused network for minutes should not end unexplained. */
	unsigned long denied_net;
	char denied_first[3][128]; /* the first few names or targets, distinct */
	unsigned ndenied_first;
	struct buf line;    /* the line being written, kept for the next one */
	time_t when_sec;    /* the second whose date and time when_text holds, 0: none yet */
	char when_text[20]; /* "YYYY-MM-DDTHH:MM:SS." of when_sec */
};

/* Open (creating if needed) the log at path and find the chain's head. 0 or -errno. */
int events_open(struct event_log *log, const char *path);

/*
 * Append ev (which this call completes with seq, time and prev, and then frees).
 * 0 or -errno; on error nothing partial is left in the file.
 */
int events_append(struct event_log *log, cJSON *ev);

/* Append item as compact JSON, byte for byte what cJSON_PrintUnformatted() prints, without
   printf's floating point for whole numbers (the commit journal writes its lines with it). */
void events_put_json(struct buf *b, const cJSON *item);

/* The hex SHA-256 of the last line ("" before the first): the chain's head. Borrowed. */
const char *events_head(struct event_log *log);

/* Close the log and stop forwarding. */
void events_close(struct event_log *log);

/*
 * From now on, also send each appended line to syslog, as syslog(3) would with facility user,
 * priority info and ident "airlock": "<14>Mmm dd hh:mm:ss airlock[PID]: session=ID LINE",
 * LINE exactly as events.jsonl holds it (cut at 8 KiB, marked " [cut]"). The socket is
 * $AIRLOCK_SYSLOG_SOCKET when set, else /dev/log (where journald and rsyslog listen). The copy
 * never holds back the record: a line that cannot be sent is counted and dropped. 0, or
 * -errno after a warning when the socket cannot be reached now (later lines try again).
 */
int events_forward_syslog(struct event_log *log, const char *session_id);

/* Lines sent to syslog and lines lost so far (both 0 when not forwarding). */
void events_syslog_counts(const struct event_log *log, unsigned long long *sent,
			  unsigned long long *dropped);

/* The socket lines are forwarded to, or NULL when not forwarding. Borrowed. */
const char *events_syslog_path(const struct event_log *log);

/*
 * The command lines of an event log's exec events, by seq. An event names the process that
 * made it by "exec_seq", the exec event that started its program, whose "command" is the
 * command line (the log holds each command line once); a record written before that carries
 * "argv" in each event instead. Feed every event in log order to exec_index_add(), then ask
 * exec_index_argv() about each.
 */
struct exec_index;

struct exec_index *exec_index_new(void);
void exec_index_free(struct exec_index *x);

/* Remember ev's command line when it is an exec event. */
void exec_index_add(struct exec_index *x, const cJSON *ev);

/*
 * The command line of the process that made ev: its "argv", else the "command" of the exec
 * event its "exec_seq" names. NULL when not known. Borrowed from ev or from x.
 */
const cJSON *exec_index_argv(const struct exec_index *x, const cJSON *ev);

/* The same joined with spaces for display (joined with spaces); "" when not known. Borrowed. */
const char *exec_index_joined(struct exec_index *x, const cJSON *ev);

/* The same for an event without "argv" whose "exec_seq" is exec_seq (-1: it has none). */
const char *exec_index_joined_seq(struct exec_index *x, double exec_seq);

#endif
