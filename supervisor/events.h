/* SPDX-License-Identifier: MIT */
/*
 * The session's event log, events.jsonl: one JSON object per line, each carrying its
 * sequence number, time, and the SHA-256 of the previous line ("prev"), so that an edited,
 * deleted, inserted or reordered line breaks the chain. An event is written before the
 * decision it records takes effect.
 */
#ifndef AIRLOCK_SUPERVISOR_EVENTS_H
#define AIRLOCK_SUPERVISOR_EVENTS_H

#include <cjson/cJSON.h>
#include <stdbool.h>

struct event_log {
	int fd;
	unsigned long long seq; /* sequence number of the next event */
	char prev[65];		/* hex SHA-256 of the last line, "" before the first */
};

/* Open (creating if needed) the log at path and find the chain's head. 0 or -errno. */
int events_open(struct event_log *log, const char *path);

/*
 * Append ev (which this call completes with seq, time and prev, and then frees).
 * 0 or -errno; on error nothing partial is left in the file.
 */
int events_append(struct event_log *log, cJSON *ev);

void events_close(struct event_log *log);

/* Hex SHA-256 of data into out[65]. */
void sha256_hex(const void *data, size_t len, char out[65]);

/* Hex SHA-256 of a file's content into out[65]. 0 or -errno. */
int sha256_file(const char *path, char out[65]);

#endif
