/* SPDX-License-Identifier: MIT */
/* Scope-bound cleanup attributes, as bubblewrap uses them: early returns cannot leak. */
#ifndef AIRLOCK_COMMON_CLEANUP_H
#define AIRLOCK_COMMON_CLEANUP_H

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

static inline void cleanup_freep(void *p)
{
	void **pp = (void **)p;

	free(*pp);
}

static inline void cleanup_fdp(int *fdp)
{
	int saved = errno;

	if (*fdp >= 0)
		close(*fdp);
	errno = saved;
}

static inline void cleanup_dirp(DIR **dp)
{
	int saved = errno;

	if (*dp)
		closedir(*dp);
	errno = saved;
}

static inline void cleanup_filep(FILE **fp)
{
	int saved = errno;

	if (*fp)
		fclose(*fp);
	errno = saved;
}

#define cleanup_free __attribute__((cleanup(cleanup_freep)))
#define cleanup_fd   __attribute__((cleanup(cleanup_fdp)))
#define cleanup_dir  __attribute__((cleanup(cleanup_dirp)))
#define cleanup_file __attribute__((cleanup(cleanup_filep)))

/* Hand ownership on: returns *pp and leaves NULL behind so the cleanup does nothing. */
static inline void *steal_pointer(void *pp)
{
	void **ptr = (void **)pp;
	void *ret = *ptr;

	*ptr = NULL;
	return ret;
}

/*
 * The type check bubblewrap and GLib make, made a hard error: *(pp) must be a pointer (type
 * class 5), so steal_pointer(&n) of an int, or steal_pointer(p) of a char *, does not compile,
 * where the function would write NULL over whatever pp points to. The result has *(pp)'s type.
 * The function's name in parentheses is not expanded again.
 */
#define steal_pointer(pp)                                                                          \
	__extension__({                                                                            \
		_Static_assert(__builtin_classify_type(*(pp)) == 5,                                \
			       "steal_pointer() takes the address of a pointer");                  \
		(__typeof__(*(pp)))(steal_pointer)(pp);                                            \
	})

/* As steal_pointer() for descriptors. */
static inline int steal_fd(int *fdp)
{
	int fd = *fdp;

	*fdp = -1;
	return fd;
}

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

#endif
