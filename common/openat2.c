/* SPDX-License-Identifier: MIT */
/* openat2(2) and the sandbox's view through it; see openat2.h. */
#include "common/openat2.h"

#include "common/cleanup.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/syscall.h>
#include <unistd.h>

int openat2_fd(int dfd, const char *path, int flags, unsigned long long resolve)
{
	struct open_how how = {.flags = (unsigned)(flags | O_CLOEXEC), .resolve = resolve};
	int fd = (int)syscall(SYS_openat2, dfd, path, &how, sizeof(how));

	return fd < 0 ? -errno : fd;
}

int proc_root_open(pid_t pid)
{
	char root[64];
	int fd;

	snprintf(root, sizeof(root), "/proc/%d/root", (int)pid);
	fd = open(root, O_PATH | O_DIRECTORY | O_CLOEXEC);
	return fd < 0 ? -errno : fd;
}

int openat2_in_view(pid_t pid, const char *path, int flags)
{
	cleanup_fd int rfd = proc_root_open(pid);

	if (rfd < 0)
		return rfd;
	return openat2_fd(rfd, path, flags, RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS);
}
