/* SPDX-License-Identifier: MIT */
/*
 * The one way airlock opens a path with openat2(2) (Linux 5.6): with RESOLVE_* flags that
 * keep a lookup in a sandbox's root, beneath a directory, or off symlinks, whatever the path
 * holds. glibc has no wrapper before 2.38.
 */
#ifndef AIRLOCK_COMMON_OPENAT2_H
#define AIRLOCK_COMMON_OPENAT2_H

#include <linux/openat2.h> /* RESOLVE_* */
#include <sys/types.h>

/*
 * Open path relative to dfd (or AT_FDCWD) with flags | O_CLOEXEC, resolved as resolve says.
 * A descriptor, or -errno.
 */
int openat2_fd(int dfd, const char *path, int flags, unsigned long long resolve);

/* The root of pid's view, /proc/PID/root, as an O_PATH directory descriptor; -errno. */
int proc_root_open(pid_t pid);

/*
 * path in pid's view, resolved inside its root (RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS:
 * nothing the program planted can lead elsewhere), with flags | O_CLOEXEC. A descriptor, or
 * -errno.
 */
int openat2_in_view(pid_t pid, const char *path, int flags);

#endif
