/* SPDX-License-Identifier: MIT */
/* SHA-256 digests as lowercase hex, as the record writes them (events.jsonl, meta.json). */
#ifndef AIRLOCK_COMMON_SHA256_H
#define AIRLOCK_COMMON_SHA256_H

#include <stddef.h>

/*
 * Load libcrypto now (it is loaded at the first digest otherwise; a failure to load it then
 * ends the process after saying why). Thread-safe. 0, or -ENOENT after printing why.
 */
int sha256_init(void);

/* Hex SHA-256 of data into out[65]. */
void sha256_hex(const void *data, size_t len, char out[65]);

/* Hex SHA-256 of a file's content into out[65] (a symlink is not followed). 0 or -errno. */
int sha256_file(const char *path, char out[65]);

/* Hex SHA-256 of what remains to be read from fd into out[65]. 0 or -errno. */
int sha256_fd(int fd, char out[65]);

#endif
