/* SPDX-License-Identifier: MIT */
/* A growable, always NUL-terminated byte buffer (after git's strbuf). */
#ifndef AIRLOCK_COMMON_BUF_H
#define AIRLOCK_COMMON_BUF_H

#include <stdarg.h>
#include <stddef.h>

struct buf {
	char *data; /* NUL-terminated; never NULL after buf_init() */
	size_t len;
	size_t cap;
};

#define BUF_INIT                                                                                   \
	{                                                                                          \
		NULL, 0, 0                                                                         \
	}

/* Prepare an empty buffer. Aborts on out-of-memory, as every buf_* call does. */
void buf_init(struct buf *b);

/* Free the storage and reset to empty. */
void buf_release(struct buf *b);

/* Hand the storage to the caller (who frees it); the buffer becomes empty. */
char *buf_detach(struct buf *b);

void buf_reset(struct buf *b);
void buf_add(struct buf *b, const void *data, size_t len);
void buf_adds(struct buf *b, const char *s);
void buf_addc(struct buf *b, char c);
void buf_addf(struct buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void buf_vaddf(struct buf *b, const char *fmt, va_list ap);

/* Allocation helpers that abort with a message on out-of-memory. */
/*
 * The NUL-terminated strings packed in p[0..len) (a message's body), as a NULL-terminated array
 * of pointers into p, their number in *count. NULL when the last one is not terminated. The
 * caller frees the array, not the strings.
 */
char **nul_strings(char *p, size_t len, size_t *count);

void *xmalloc(size_t n);
void *xcalloc(size_t n, size_t size);
void *xrealloc(void *p, size_t n);
char *xstrdup(const char *s);
char *xstrndup(const char *s, size_t n);
char *xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Grow *arr (of *cap elements of size elem) so that index need-1 fits. */
void grow_array(void **arr, size_t *cap, size_t need, size_t elem);
#define GROW(arr, cap, need) grow_array((void **)&(arr), &(cap), (need), sizeof(*(arr)))

#endif
