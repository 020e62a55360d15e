/* SPDX-License-Identifier: MIT */
/* Rewriting a deferred exec's path to the stub; see substitute.h for why it is safe. */
#include "supervisor/supervise/substitute.h"

#include "common/cleanup.h"
#include "supervisor/supervise/freeze.h"
#include "supervisor/supervise/procmem.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#define KCMP_VM 1

/* A field of /proc/PID/status as a number ("Threads", "PPid"), or -1. */
static long status_field(pid_t pid, const char *name)
{
	char path[64], line[256];
	size_t len = strlen(name);
	cleanup_file FILE *f = NULL;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	f = fopen(path, "re");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (strncmp(line, name, len) == 0 && line[len] == ':')
			return strtol(line + len + 1, NULL, 10);
	return -1;
}

static int mem_force_write(pid_t pid, unsigned long addr, const void *data, size_t len)
{
	char path[64];
	cleanup_fd int fd = -1;

	/* /proc/PID/mem writes even read-only private pages (a string literal), copy-on-write. */
	snprintf(path, sizeof(path), "/proc/%d/mem", (int)pid);
	fd = open(path, O_RDWR | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (pwrite(fd, data, len, (off_t)addr) != (ssize_t)len)
		return -EIO;
	return 0;
}

/* The stub's device and inode in pid's root: the file a substituted exec must run. */
static int stub_id(pid_t pid, dev_t *dev, ino_t *ino)
{
	char root[64];
	cleanup_fd int rfd = -1;
	struct stat st;

	snprintf(root, sizeof(root), "/proc/%d/root", (int)pid);
	rfd = open(root, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (rfd < 0)
		return -errno;
	if (fstatat(rfd, STUB_PATH + 1, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return -errno;
	if (!S_ISREG(st.st_mode))
		return -EPERM;
	*dev = st.st_dev;
	*ino = st.st_ino;
	return 0;
}

int substitute_begin(struct substitution *sub, pid_t pid, unsigned long addr)
{
	long ppid;
	int rc;

	memset(sub, 0, sizeof(*sub));
	sub->pid = pid;
	sub->addr = addr;
	if (status_field(pid, "Threads") != 1)
		return -EBUSY;
	rc = stub_id(pid, &sub->stub_dev, &sub->stub_ino);
	if (rc < 0)
		return rc;
	rc = mem_read(pid, addr, sub->saved, sizeof(sub->saved));
	if (rc < 0)
		return rc;
	/* The stub's path with its NUL must fit inside the old string. */
	if (memchr(sub->saved, '\0', sizeof(sub->saved) - 1))
		return -ENAMETOOLONG;
	ppid = status_field(pid, "PPid");
	/* A vfork child: its parent (stopped with the rest of the sandbox, freeze.h) shares
	   the bytes we write, and gets them back once the exec has replaced the child's. */
	if (ppid > 1 && syscall(SYS_kcmp, pid, (pid_t)ppid, KCMP_VM, 0, 0) == 0)
		sub->sharer = (pid_t)ppid;
	proc_exe(pid, sub->old_exe, sizeof(sub->old_exe));
	rc = mem_force_write(pid, addr, STUB_PATH, sizeof(STUB_PATH));
	if (rc < 0)
		return rc;
	sub->written = true;
	return 0;
}

int substitute_end(struct substitution *sub)
{
	char exe[4096], link[64];
	struct stat st;
	int rc = 0;

	freeze_wait_exec(sub->pid, sub->old_exe);
	proc_exe(sub->pid, exe, sizeof(exe));
	snprintf(link, sizeof(link), "/proc/%d/exe", (int)sub->pid);
	/* By inode, not by name: a file of the same name is not the stub. */
	if (exe[0] != '\0' &&
	    (stat(link, &st) < 0 || st.st_dev != sub->stub_dev || st.st_ino != sub->stub_ino)) {
		/* Still the old program (the exec failed), or something other than the stub. */
		kill(sub->pid, SIGKILL);
		rc = strcmp(exe, sub->old_exe) == 0 ? -ETIMEDOUT : -EPERM;
	}
	if (sub->sharer > 0)
		mem_force_write(sub->sharer, sub->addr, sub->saved, sizeof(sub->saved));
	return rc;
}

void substitute_abort(struct substitution *sub)
{
	if (sub->written)
		mem_force_write(sub->pid, sub->addr, sub->saved, sizeof(sub->saved));
	sub->written = false;
}
