/* SPDX-License-Identifier: MIT */
/* Stopping and continuing the sandbox's processes around an exec; see freeze.h. */
#include "supervisor/supervise/freeze.h"

#include "common/buf.h"
#include "common/cleanup.h"
#include "supervisor/supervise/procmem.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#define WAIT_MS 2000

static long long ms_since(const struct timespec *t0)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (long long)(now.tv_sec - t0->tv_sec) * 1000 + (now.tv_nsec - t0->tv_nsec) / 1000000;
}

static void nap(void)
{
	struct timespec ts = {0, 100000};

	nanosleep(&ts, NULL);
}

/* The state letter in a stat file's text (after the command's closing parenthesis). */
static char stat_state(int dirfd, const char *path)
{
	char buf[512];
	cleanup_fd int fd = openat(dirfd, path, O_RDONLY | O_CLOEXEC);
	ssize_t n;
	char *p;

	if (fd < 0)
		return 'X'; /* gone */
	n = read(fd, buf, sizeof(buf) - 1);
	if (n <= 0)
		return 'X';
	buf[n] = '\0';
	p = strrchr(buf, ')');
	return p && p[1] == ' ' ? p[2] : '?';
}

/* Whether no thread of process pid can run user code: T, t, D, Z, X. */
static bool quiet(pid_t pid)
{
	char path[300];
	cleanup_dir DIR *d = NULL;
	struct dirent *e;

	snprintf(path, sizeof(path), "/proc/%d/task", (int)pid);
	d = opendir(path);
	if (!d)
		return true; /* gone */
	while ((e = readdir(d))) {
		char st;

		if (!isdigit((unsigned char)e->d_name[0]))
			continue;
		snprintf(path, sizeof(path), "/proc/%d/task/%s/stat", (int)pid, e->d_name);
		st = stat_state(AT_FDCWD, path);
		if (!strchr("TtDZX", st))
			return false;
	}
	return true;
}

static bool have(const struct freeze *f, pid_t pid)
{
	size_t i;

	for (i = 0; i < f->n; i++)
		if (f->pids[i] == pid)
			return true;
	return false;
}

/* The parent pid in /proc/PID/stat, or -1. */
static pid_t parent_of(pid_t pid)
{
	char buf[512], *p;
	int ppid;

	if (proc_read(pid, "stat", buf, sizeof(buf)) < 0)
		return -1;
	p = strrchr(buf, ')');
	if (!p || sscanf(p + 2, "%*c %d", &ppid) != 1)
		return -1;
	return (pid_t)ppid;
}

/*
 * Stop pid, a child of parent: every thread gets its own SIGSTOP (tgkill), since a signal to
 * the process goes to one thread, and a thread spinning in user space may not look at the
 * process's signals for a long while. The pidfd, taken first and checked against the parent,
 * pins the process: a pid reused meanwhile is never signalled.
 */
static int stop_one(struct freeze *f, pid_t pid, pid_t parent)
{
	char path[64];
	cleanup_dir DIR *d = NULL;
	struct dirent *e;
	int pfd = (int)syscall(SYS_pidfd_open, pid, 0);

	if (pfd < 0)
		return 0; /* gone */
	if (parent_of(pid) != parent) {
		close(pfd);
		return 0; /* not the process we found: it exited and the pid was reused */
	}
	if (syscall(SYS_pidfd_send_signal, pfd, SIGSTOP, NULL, 0) < 0) {
		close(pfd);
		return errno == ESRCH ? 0 : -errno;
	}
	GROW(f->fds, f->cap, f->n + 1);
	GROW(f->pids, f->pcap, f->n + 1);
	f->fds[f->n] = pfd;
	f->pids[f->n] = pid;
	f->n++;
	snprintf(path, sizeof(path), "/proc/%d/task", (int)pid);
	d = opendir(path);
	while (d && (e = readdir(d)))
		if (isdigit((unsigned char)e->d_name[0]))
			syscall(SYS_tgkill, pid, atoi(e->d_name), SIGSTOP);
	return 1;
}

/* The children of every thread of pid (host pids), appended to *kids. */
static void children_of(pid_t pid, pid_t **kids, size_t *nk, size_t *ck)
{
	char path[300];
	cleanup_dir DIR *d = NULL;
	struct dirent *e;

	snprintf(path, sizeof(path), "/proc/%d/task", (int)pid);
	d = opendir(path);
	while (d && (e = readdir(d))) {
		char buf[4096];
		cleanup_fd int fd = -1;
		ssize_t n;
		char *p, *end;

		if (!isdigit((unsigned char)e->d_name[0]))
			continue;
		snprintf(path, sizeof(path), "/proc/%d/task/%s/children", (int)pid, e->d_name);
		fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			continue;
		n = read(fd, buf, sizeof(buf) - 1);
		if (n <= 0)
			continue;
		buf[n] = '\0';
		for (p = buf; *p; p = end) {
			long v = strtol(p, &end, 10);

			if (end == p)
				break;
			GROW(*kids, *ck, *nk + 1);
			(*kids)[(*nk)++] = (pid_t)v;
		}
	}
}

/*
 * One round: walk the tree below init (host pids) and stop what is not stopped yet. Returns
 * how many were new, or -errno.
 */
static int stop_round(struct freeze *f, pid_t init, pid_t keep)
{
	cleanup_free pid_t *queue = NULL;
	size_t nq = 0, cq = 0, head = 0;
	int added = 0;

	GROW(queue, cq, 1);
	queue[nq++] = init;
	while (head < nq) {
		pid_t pid = queue[head++];
		size_t before = nq, i;

		children_of(pid, &queue, &nq, &cq);
		for (i = before; i < nq; i++) {
			int rc;

			if (queue[i] == keep || have(f, queue[i]))
				continue;
			rc = stop_one(f, queue[i], pid);
			if (rc < 0)
				return rc;
			added += rc;
		}
	}
	return added;
}

int freeze_sandbox(struct freeze *f, pid_t init)
{
	return freeze_sandbox_but(f, init, 0);
}

int freeze_sandbox_but(struct freeze *f, pid_t init, pid_t keep)
{
	struct timespec t0;
	int rc;
	size_t i;

	memset(f, 0, sizeof(*f));
	if (init <= 0)
		return -ESRCH;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	/* Until a round finds nobody new: a process may have forked while we stopped others. */
	do {
		rc = stop_round(f, init, keep);
		if (rc < 0)
			goto fail;
		for (i = 0; i < f->n; i++) {
			while (!quiet(f->pids[i])) {
				if (ms_since(&t0) > WAIT_MS) {
					rc = -ETIMEDOUT;
					goto fail;
				}
				nap();
			}
		}
	} while (rc > 0);
	return 0;
fail:
	thaw_sandbox(f);
	return rc;
}

void thaw_sandbox(struct freeze *f)
{
	size_t i;

	for (i = 0; i < f->n; i++) {
		syscall(SYS_pidfd_send_signal, f->fds[i], SIGCONT, NULL, 0);
		close(f->fds[i]);
	}
	free(f->fds);
	free(f->pids);
	memset(f, 0, sizeof(*f));
}

void freeze_wait_exec(pid_t tid, const char *old_exe)
{
	struct timespec t0;
	char exe[4096], stat[64];

	snprintf(stat, sizeof(stat), "/proc/%d/stat", (int)tid);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	while (ms_since(&t0) < WAIT_MS) {
		char st;

		proc_exe(tid, exe, sizeof(exe));
		if (!exe[0])
			return; /* gone, or a zombie */
		if (strcmp(exe, old_exe) != 0)
			return; /* the new program (stopped, or about to stop) */
		st = stat_state(AT_FDCWD, stat);
		if (st == 'T' || st == 't' || st == 'X' || st == 'Z')
			return; /* the exec failed and the caller is back, stopped */
		nap();
	}
}
