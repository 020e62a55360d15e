/* SPDX-License-Identifier: MIT */
/*
 * Paths as a sandboxed process sees them, looked up by the supervisor from the process's own
 * root (/proc/PID/root) with openat2(RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS) (Linux 5.6), so
 * a symlink the program planted cannot lead the supervisor outside the sandbox (sandlock #112).
 */
#ifndef AIRLOCK_SUPERVISOR_SBPATH_H
#define AIRLOCK_SUPERVISOR_SBPATH_H

#include <stdbool.h>
#include <sys/types.h>

/*
 * init > 0: every process the lookups are made for shares the root of init, the sandbox's
 * pid 1 and the caller's child (its pid cannot be reused before the caller reaps it): under
 * airlock's filter no process can chroot, pivot_root, mount or make a namespace. Its
 * /proc/INIT/root is opened at the first lookup and kept, which saves a procfs lookup per
 * call. 0: each lookup opens its process's own root again, and the kept one is closed.
 */
void sb_share_root(pid_t init);

/* Whether path exists in pid's view: 1, 0 (ENOENT or ENOTDIR), or -errno when it cannot tell. */
int sb_exists(pid_t pid, const char *path);

/*
 * path (absolute) with every symlink resolved in pid's view, normalised: what the kernel will
 * run for an exec of path. A missing component ends the resolution (the rest is kept as it
 * is). Caller frees; NULL + errno (ELOOP after 40 links).
 */
char *sb_realpath(pid_t pid, const char *path);

/*
 * The path of what path (absolute) names in pid's view, found by the kernel's own lookup
 * (every symlink resolved; the last one too when follow): one lookup instead of one per
 * component. Caller frees; NULL + errno (ENOENT when it does not exist).
 */
char *sb_canonical(pid_t pid, const char *path, bool follow);

/*
 * Where a call that names path (absolute) acts in pid's view: its directory with every
 * symlink resolved, then its last component, followed too when it is a symlink and follow
 * is set (to where it leads, even when that does not exist yet, as O_CREAT makes it). A path
 * with no symlink on the way, the usual case of a write, costs one lookup (two for a new
 * name) that refuses symlinks: it resolves to itself. Caller frees; NULL + errno when the
 * directory cannot be looked up.
 */
char *sb_resolve_name(pid_t pid, const char *path, bool follow);

#endif
