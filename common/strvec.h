/* SPDX-License-Identifier: MIT */
/*
 * A growable vector of owned strings, kept NULL-terminated so that v can be handed to execve()
 * or anything else that takes a char **. Declare it with cleanup_strvec and early returns
 * cannot leak:
 *
 *	cleanup_strvec struct strvec names = STRVEC_INIT;
 */
#ifndef AIRLOCK_COMMON_STRVEC_H
#define AIRLOCK_COMMON_STRVEC_H

#include <stddef.h>

struct strvec {
	char **v; /* NULL until the first push, then NULL-terminated: v[n] == NULL */
	size_t n, cap;
};

#define STRVEC_INIT                                                                                \
	{                                                                                          \
		NULL, 0, 0                                                                         \
	}

/* Append s, which the vector owns from now on. Returns s. */
char *strvec_push(struct strvec *sv, char *s);

/* Append a copy of s. Returns the copy (the vector's). */
const char *strvec_add(struct strvec *sv, const char *s);

/* Remove and free v[i]; the later strings move down. */
void strvec_remove(struct strvec *sv, size_t i);

/* Hand the array on: NULL-terminated (never NULL itself), the caller's to free with each
   string. The vector is left empty. */
char **strvec_detach(struct strvec *sv);

/* Free every string and the array; the vector is left empty, ready for reuse. */
void strvec_clear(struct strvec *sv);

#define cleanup_strvec __attribute__((cleanup(strvec_clear)))

#endif
