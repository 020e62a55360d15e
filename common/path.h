/* SPDX-License-Identifier: MIT */
/* Path strings and small file helpers. Lexical only: nothing here resolves symlinks. */
#ifndef AIRLOCK_COMMON_PATH_H
#define AIRLOCK_COMMON_PATH_H

#include "common/strvec.h"

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

/* "a" + "/" + "b" with exactly one slash between; b absolute replaces a. Caller frees. */
char *path_join(const char *a, const char *b);

/*
 * Normalise an absolute path lexically: collapse "//", drop ".", apply ".." (never above "/").
 * Returns a new string (caller frees); a relative input is returned normalised but relative.
 */
char *path_normalize(const char *path);

/* path made absolute against the working directory, normalised; NULL + errno. Caller frees. */
char *path_absolute(const char *p);

/* True when path equals dir or lies below it ("/a/b" is under "/a", "/ab" is not). */
bool path_is_under(const char *path, const char *dir);

/* The part of path below dir ("" when equal); path must be under dir. Borrowed pointer. */
const char *path_rel(const char *path, const char *dir);

/*
 * Each entry of the directory open at dfd (for reading, not O_PATH), from the descriptor's
 * offset to the end, without "." and "..", in directory order, to fn, until fn returns false.
 * One getdents64() at a time into a buffer of its own: no second descriptor, no DIR stream.
 * 0 or -errno.
 */
struct dirent64;
int dir_each(int dfd, bool (*fn)(const struct dirent64 *e, void *arg), void *arg);

/*
 * Append the names in the directory open at dfd, without "." and "..", in directory order,
 * to names (a cleanup_strvec frees them, also after an error). dfd must be open for reading
 * (not O_PATH): it is read from its start (rewound first) to its end, and stays open. 0 or
 * -errno.
 */
int dir_list(int dfd, struct strvec *names);

/* mkdir -p with the given mode for directories it creates. 0 or -errno. */
int mkdir_p(const char *path, mode_t mode);

/*
 * Remove a tree that the sandboxed program may have shaped (directories of mode 000,
 * deep nesting). Never follows symlinks; stays on one filesystem. 0 or -errno.
 */
int rm_rf(const char *path);

/* The caller's home directory: $HOME when absolute, else the password database's, else "/". */
const char *home_dir(void);

/* Read a whole file (at most max bytes) into a NUL-terminated string; NULL + errno. */
char *read_file(const char *path, size_t max, size_t *len_out);

/* Read from fd to its end (at most max bytes); NULL + errno (EFBIG past max). */
char *read_fd(int fd, size_t max, size_t *len_out);

/*
 * The last complete line of the file open at fd, which is size bytes long, without its newline,
 * in a string the caller frees (its length in *len_out: it may hold a NUL); *end: the offset just
 * past its newline (a line cut short may follow). Read back from the end in growing pieces, never
 * more than the line needs, so that a long file costs its last line. NULL with errno 0 when there
 * is no complete line or the last one is longer than max; NULL with errno set when reading fails.
 */
char *read_last_line(int fd, off_t size, size_t max, size_t *len_out, off_t *end);

/* Write data to path atomically (temp file, rename; fsync first when durable). 0 or -errno. */
int write_file_atomic(const char *path, const void *data, size_t len, mode_t mode, bool durable);

/* Parse "30s", "5m", "2h", "1500ms", "10" (seconds) into milliseconds. 0 or -EINVAL. */
int parse_duration_ms(const char *s, unsigned long long *ms);

/* Parse "512M", "1G", "100k", "4096" into bytes (binary units). 0 or -EINVAL. */
int parse_size(const char *s, unsigned long long *bytes);

/*
 * In base[0..n), elements of size bytes sorted by the string at offset off of each (a
 * `char *` member: pass offsetof(struct x, path)), the first index whose string is not below
 * key by strcmp(): where key is, or would be inserted. n when all are below it.
 */
size_t sorted_find(const void *base, size_t n, size_t size, size_t off, const char *key);
#define SORTED_FIND(v, n, member, key)                                                             \
	sorted_find((v), (n), sizeof(*(v)), offsetof(__typeof__(*(v)), member), (key))

#endif
