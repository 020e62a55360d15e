/* SPDX-License-Identifier: MIT */
/* Looking up paths in a sandboxed process's view of the filesystem. */
#include "supervisor/supervise/sbpath.h"

#include "common/buf.h"
#include "common/cleanup.h"
#include "common/openat2.h"
#include "common/path.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#define MAX_LINKS 40

/* The sandbox's root while sb_share_root() is on: init's, opened at the first lookup. */
static pid_t root_init;
static int root_fd = -1;

void sb_share_root(pid_t init)
{
	if (root_fd >= 0)
		close(root_fd);
	root_fd = -1;
	root_init = init;
}

/* pid's root directory, or -1 with errno. Release it with cleanup_root: the kept one stays. */
static int open_root(pid_t pid)
{
	char root[64];

	if (root_fd >= 0)
		return root_fd;
	snprintf(root, sizeof(root), "/proc/%d/root", (int)(root_init > 0 ? root_init : pid));
	if (root_init <= 0)
		return open(root, O_PATH | O_DIRECTORY | O_CLOEXEC);
	root_fd = open(root, O_PATH | O_DIRECTORY | O_CLOEXEC);
	return root_fd;
}

static void root_closep(int *fd)
{
	if (*fd >= 0 && *fd != root_fd)
		close(*fd);
}
#define cleanup_root __attribute__((cleanup(root_closep)))

/* path inside the root open at rfd, as an O_PATH descriptor; -1 with errno set. */
static int open_in_root(int rfd, const char *path, int flags)
{
	int fd = openat2_fd(rfd, path, O_PATH | flags, RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS);

	if (fd < 0) {
		errno = -fd;
		return -1;
	}
	return fd;
}

int sb_exists(pid_t pid, const char *path)
{
	cleanup_root int rfd = open_root(pid);
	int fd;

	if (rfd < 0)
		return -errno;
	fd = open_in_root(rfd, path, 0);
	if (fd >= 0) {
		close(fd);
		return 1;
	}
	return errno == ENOENT || errno == ENOTDIR ? 0 : -errno;
}

char *sb_canonical(pid_t pid, const char *path, bool follow)
{
	cleanup_root int rfd = open_root(pid);
	cleanup_fd int fd = -1;
	char link[64], out[4096];
	ssize_t n;

	if (rfd < 0)
		return NULL;
	fd = open_in_root(rfd, path, follow ? 0 : O_NOFOLLOW);
	if (fd < 0)
		return NULL;
	/* The descriptor's path is computed in the mount namespace it belongs to: the
	   sandbox's view, as /proc/PID/cwd is. */
	snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
	n = readlink(link, out, sizeof(out));
	if (n <= 0 || n >= (ssize_t)sizeof(out) || out[0] != '/') {
		errno = ENAMETOOLONG;
		return NULL;
	}
	out[n] = '\0';
	return xstrdup(out);
}

/* The path of descriptor fd, as its mount namespace names it, into out[sz]; 0 or -1. */
static int fd_path(int fd, char *out, size_t sz)
{
	char link[64];
	ssize_t n;

	snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
	n = readlink(link, out, sz);
	if (n <= 0 || n >= (ssize_t)sz || out[0] != '/') {
		errno = ENAMETOOLONG;
		return -1;
	}
	out[n] = '\0';
	return 0;
}

/*
 * 1 when path (absolute, normalised) passes through no symlink in the root open at rfd: its
 * directory dir, and its last component when it exists, so that the kernel resolves it to
 * itself. RESOLVE_NO_SYMLINKS has the kernel check every component in the same lookup that
 * finds them. 0 when a symlink is on the way or the lookup fails otherwise (the caller then
 * resolves it step by step).
 */
static int plain_path(int rfd, const char *path, const char *dir)
{
	const unsigned long long how = RESOLVE_IN_ROOT | RESOLVE_NO_SYMLINKS;
	int fd = openat2_fd(rfd, path, O_PATH, how);

	if (fd >= 0) {
		close(fd);
		return 1;
	}
	if (fd != -ENOENT)
		return 0; /* ELOOP: a symlink, which the caller follows or not */
	/* A new name, the usual case of a write: its directory alone must be plain. */
	fd = openat2_fd(rfd, dir, O_PATH | O_DIRECTORY, how);
	if (fd < 0)
		return 0;
	close(fd);
	return 1;
}

char *sb_resolve_name(pid_t pid, const char *path, bool follow)
{
	cleanup_root int rfd = -1;
	cleanup_fd int dfd = -1;
	cleanup_free char *dir = NULL;
	const char *base = path ? strrchr(path, '/') : NULL;
	char out[4096];
	struct stat st;

	if (!base || path[0] != '/') {
		errno = EINVAL;
		return NULL;
	}
	base++;
	if (!*base || strcmp(base, "..") == 0 || strcmp(base, ".") == 0)
		return sb_canonical(pid, path, true);
	rfd = open_root(pid);
	if (rfd < 0)
		return NULL;
	dir = base - path > 1 ? xstrndup(path, (size_t)(base - path - 1)) : xstrdup("/");
	if (plain_path(rfd, path, dir))
		return path_normalize(path);
	/* The directory first: for a new name (most writes make one) that is all there is. */
	dfd = open_in_root(rfd, dir, 0);
	if (dfd < 0 || fd_path(dfd, out, sizeof(out)) < 0)
		return NULL;
	if (fstatat(dfd, base, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISLNK(st.st_mode) && follow) {
		/* The call follows a symlink: where it leads, even dangling (O_CREAT makes it). */
		char *real = sb_canonical(pid, path, true);

		return real ? real : sb_realpath(pid, path);
	}
	return path_join(out, base);
}

/* The next component of *rest (advanced past it), into comp; false at the end. */
static bool next_component(const char **rest, char *comp, size_t sz)
{
	const char *p = *rest, *end;
	size_t len;

	while (*p == '/')
		p++;
	if (!*p)
		return false;
	end = strchrnul(p, '/');
	len = (size_t)(end - p);
	if (len >= sz)
		len = sz - 1; /* longer than NAME_MAX: the lookup fails later anyway */
	memcpy(comp, p, len);
	comp[len] = '\0';
	*rest = end;
	return true;
}

char *sb_realpath(pid_t pid, const char *path)
{
	cleanup_root int rfd = open_root(pid);
	struct buf done = BUF_INIT; /* resolved so far: no symlink in it */
	cleanup_free char *todo = xstrdup(path);
	const char *rest = todo;
	char comp[256], target[4096];
	int links = 0;

	if (rfd < 0)
		return NULL;
	buf_init(&done);
	while (next_component(&rest, comp, sizeof(comp))) {
		struct stat st;
		ssize_t n;
		int fd;

		if (strcmp(comp, ".") == 0)
			continue;
		if (strcmp(comp, "..") == 0) {
			char *slash = strrchr(done.data, '/');

			done.len = slash ? (size_t)(slash - done.data) : 0;
			done.data[done.len] = '\0';
			continue;
		}
		buf_addc(&done, '/');
		buf_adds(&done, comp);
		fd = open_in_root(rfd, done.data, O_NOFOLLOW);
		if (fd < 0) {
			/* Missing: nothing further to resolve; keep the rest as it was named. */
			buf_adds(&done, rest);
			break;
		}
		if (fstat(fd, &st) < 0 || !S_ISLNK(st.st_mode)) {
			close(fd);
			continue;
		}
		n = readlinkat(fd, "", target, sizeof(target) - 1);
		close(fd);
		if (n < 0 || ++links > MAX_LINKS) {
			errno = n < 0 ? errno : ELOOP;
			buf_release(&done);
			return NULL;
		}
		target[n] = '\0';
		/* The link's own component goes; its target takes its place before the rest. */
		done.len -= strlen(comp) + 1;
		done.data[done.len] = '\0';
		if (target[0] == '/')
			buf_reset(&done);
		{
			char *next = xasprintf("%s/%s", target, rest);

			free(todo);
			todo = next;
			rest = todo;
		}
	}
	if (done.len == 0)
		buf_addc(&done, '/');
	{
		char *norm = path_normalize(done.data);

		buf_release(&done);
		return norm;
	}
}
