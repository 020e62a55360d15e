/* SPDX-License-Identifier: MIT */
/* SHA-256 digests as lowercase hex, as the record writes them (events.jsonl, meta.json). */
#ifndef AIRLOCK_COMMON_SHA256_H
#define AIRLOCK_COMMON_SHA256_H

#include <stddef.h>

/*
 * Make the first digest cheap: when libcrypto is what will hash (no SHA extensions), load it
 * now rather than at the first digest, whose caller may be answering a program's call.
 */
void sha256_init(void);

/* Hex SHA-256 of data into out[65]. */
void sha256_hex(const void *data, size_t len, char out[65]);

/* Hex SHA-256 of a file's content into out[65] (a symlink is not followed). 0 or -errno. */
int sha256_file(const char *path, char out[65]);

/* Hex SHA-256 of what remains to be read from fd into out[65]. 0 or -errno. */
int sha256_fd(int fd, char out[65]);

/* What hashes: the default (the x86 SHA extensions when the CPU has them, else libcrypto loaded
   on the first digest, else portable C), or one of them by name. For the tests and benchmarks.
   0, or -ENOTSUP when this machine lacks what was asked for (nothing changes then). */
enum sha256_impl {
	SHA256_AUTO,
	SHA256_PORTABLE,
	SHA256_SHANI,
	SHA256_LIBCRYPTO
};
int sha256_select(enum sha256_impl impl);

#endif
