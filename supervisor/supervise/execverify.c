/* SPDX-License-Identifier: MIT */
/* Checking that an exec ran what was decided on; see execverify.h. */
#include "supervisor/supervise/execverify.h"

#include "common/cleanup.h"
#include "common/openat2.h"
#include "common/path.h"
#include "common/utf8.h"
#include "supervisor/supervise/procmem.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#define MAX_SCRIPTS 4	/* the kernel's binfmt recursion limit is 5 programs */
#define BINPRM_BUF  256 /* the kernel reads the "#!" line from this many bytes */
#define MAX_CMDLINE (160 << 10)

/* The interpreter a "#!" line at the start of the regular file fd names, into out; 1, 0 when
   the file is no script, -errno. Read as binfmt_script does. */
static int interpreter_of(int fd, char *out, size_t sz)
{
	char proc[64], buf[BINPRM_BUF + 1];
	cleanup_fd int rfd = -1;
	struct stat st;
	ssize_t n;
	size_t i, j;

	if (fstat(fd, &st) < 0)
		return -errno;
	if (!S_ISREG(st.st_mode))
		return -EACCES;
	snprintf(proc, sizeof(proc), "/proc/self/fd/%d", fd);
	/* Non-blocking: the file is regular now, but nothing here may wait on the program. */
	rfd = open(proc, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	if (rfd < 0)
		return 0; /* unreadable to us: the kernel runs it as a binary or not at all */
	n = pread(rfd, buf, BINPRM_BUF, 0);
	if (n < 2 || buf[0] != '#' || buf[1] != '!')
		return 0;
	buf[n] = '\0';
	for (i = 2; buf[i] == ' ' || buf[i] == '\t'; i++)
		;
	for (j = i; buf[j] && !strchr(" \t\n", buf[j]); j++)
		;
	if (j == i || j - i >= sz)
		return -ENOEXEC;
	memcpy(out, buf + i, j - i);
	out[j - i] = '\0';
	return 1;
}

/* dev/ino of what /proc/PID/exe names; -errno (ENOENT: gone). */
static int exe_id(pid_t pid, dev_t *dev, ino_t *ino)
{
	char link[64];
	struct stat st;

	snprintf(link, sizeof(link), "/proc/%d/exe", (int)pid);
	if (stat(link, &st) < 0)
		return -errno;
	*dev = st.st_dev;
	*ino = st.st_ino;
	return 0;
}

/* arg_start and arg_end from /proc/PID/stat (fields 48 and 49); -errno. */
static int arg_area(pid_t pid, unsigned long *start, unsigned long *end)
{
	char buf[2048], *p;
	ssize_t n = proc_read(pid, "stat", buf, sizeof(buf));
	int field;

	if (n < 0)
		return n == -ESRCH ? -EIO : (int)n;
	p = strrchr(buf, ')');
	if (!p)
		return -EIO;
	/* p + 2 is field 3 (the state). */
	for (p += 2, field = 3; field < 48 && p; field++) {
		p = strchr(p, ' ');
		if (p)
			p++;
	}
	if (!p || sscanf(p, "%lu %lu", start, end) != 2)
		return -EIO;
	return 0;
}

/* The process (thread group) of thread tid, from /proc/TID/status; -1 when gone. */
static pid_t tgid_of(pid_t tid)
{
	char path[64], line[256];
	cleanup_file FILE *f = NULL;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)tid);
	f = fopen(path, "re");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (strncmp(line, "Tgid:", 5) == 0)
			return (pid_t)strtol(line + 5, NULL, 10);
	return -1;
}

/* The state letter of pid ('X' when gone). */
static char state_of(pid_t pid)
{
	char path[64], buf[512], *p;
	cleanup_fd int fd = -1;
	ssize_t n;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	n = fd < 0 ? -1 : read(fd, buf, sizeof(buf) - 1);
	if (n <= 0)
		return 'X';
	buf[n] = '\0';
	p = strrchr(buf, ')');
	return p && p[1] == ' ' && p[2] ? p[2] : '?';
}

int exec_expect(struct exec_expect *x, pid_t pid, const char *target, int fd, const char *cwd,
		const cJSON *argv)
{
	char interp[BINPRM_BUF];
	cleanup_fd int cur = -1;
	struct stat st;
	int rc;

	memset(x, 0, sizeof(*x));
	x->argv = argv;
	snprintf(x->target, sizeof(x->target), "%s", target);
	x->check_name = fd < 0;
	if (fd >= 0) {
		char link[64];

		snprintf(link, sizeof(link), "/proc/%d/fd/%d", (int)pid, fd);
		cur = open(link, O_PATH | O_CLOEXEC);
		if (cur < 0)
			return -errno;
	} else {
		if (target[0] != '/')
			return -EINVAL;
		cur = openat2_in_view(pid, target, O_PATH);
		if (cur < 0)
			return cur;
	}
	for (;;) {
		rc = interpreter_of(cur, interp, sizeof(interp));
		if (rc < 0)
			return rc;
		if (rc == 0)
			break;
		if (++x->scripts > MAX_SCRIPTS)
			return -ELOOP;
		close(cur);
		if (interp[0] == '/') {
			cur = openat2_in_view(pid, interp, O_PATH);
		} else {
			/* The kernel opens a relative interpreter from the caller's cwd. */
			cleanup_free char *abs = NULL;

			if (!cwd || cwd[0] != '/')
				return -EINVAL;
			abs = path_join(cwd, interp);
			cur = openat2_in_view(pid, abs, O_PATH);
		}
		if (cur < 0)
			return cur;
	}
	if (fstat(cur, &st) < 0)
		return -errno;
	x->dev = st.st_dev;
	x->ino = st.st_ino;
	x->tgid = tgid_of(pid);
	if (x->tgid <= 0)
		return -ESRCH;
	rc = exe_id(pid, &x->old_dev, &x->old_ino);
	if (rc == 0)
		rc = arg_area(pid, &x->old_arg_start, &x->old_arg_end);
	return rc;
}

/* The argv of pid as the kernel wrote it at the exec, as sanitised strings; NULL on error. */
static cJSON *read_cmdline(pid_t pid)
{
	char path[64];
	cleanup_free char *buf = malloc(MAX_CMDLINE);
	cleanup_fd int fd = -1;
	size_t len = 0, i;
	cJSON *arr;

	snprintf(path, sizeof(path), "/proc/%d/cmdline", (int)pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (!buf || fd < 0)
		return NULL;
	while (len < MAX_CMDLINE) {
		ssize_t n = read(fd, buf + len, MAX_CMDLINE - len);

		if (n < 0)
			return NULL;
		if (n == 0)
			break;
		len += (size_t)n;
	}
	if (len == MAX_CMDLINE || (len > 0 && buf[len - 1] != '\0'))
		return NULL; /* longer than any argv that was decided on, or cut */
	arr = cJSON_CreateArray();
	for (i = 0; i < len;) {
		cleanup_free char *clean = utf8_sanitize(buf + i);

		cJSON_AddItemToArray(arr, cJSON_CreateString(clean));
		i += strlen(buf + i) + 1;
	}
	return arr;
}

/* Whether the new argv is the one decided on: all of it for a binary; for a script, the
   decided argv[1..] at the end, after the script's name. */
static bool argv_matches(const struct exec_expect *x, pid_t pid, const cJSON *now)
{
	int nd = cJSON_GetArraySize(x->argv), nn = cJSON_GetArraySize(now), i;
	const cJSON *name;
	char cwdlink[64], cwd[4096];
	cleanup_free char *joined = NULL, *norm = NULL;
	ssize_t k;

	if (x->scripts == 0) {
		/* An empty argv is given "" as argv[0] by the kernel (Linux 5.18). */
		if (nd == 0)
			return nn == 0 || (nn == 1 && cJSON_IsString(cJSON_GetArrayItem(now, 0)) &&
					   cJSON_GetArrayItem(now, 0)->valuestring[0] == '\0');
		return cJSON_Compare(x->argv, now, true);
	}
	if (nd == 0)
		nd = 1; /* no argv[1..] to find */
	/* interpreter [optional argument] name argv[1..]: at least 2 + (nd - 1) entries. */
	if (nn < nd + 1)
		return false;
	for (i = 1; i < nd; i++)
		if (!cJSON_Compare(cJSON_GetArrayItem(x->argv, i),
				   cJSON_GetArrayItem(now, nn - nd + i), true))
			return false;
	if (!x->check_name)
		return true;
	name = cJSON_GetArrayItem(now, nn - nd);
	if (!cJSON_IsString(name))
		return false;
	if (name->valuestring[0] == '/') {
		norm = path_normalize(name->valuestring);
	} else {
		snprintf(cwdlink, sizeof(cwdlink), "/proc/%d/cwd", (int)pid);
		k = readlink(cwdlink, cwd, sizeof(cwd) - 1);
		if (k <= 0)
			return false;
		cwd[k] = '\0';
		joined = path_join(cwd, name->valuestring);
		norm = path_normalize(joined);
	}
	return strcmp(norm, x->target) == 0;
}

/*
 * Wait (bounded) until pid is back in user space and stopped by the freeze, or gone: the exe
 * changes early in an exec, before the new argv and stack exist. true when it is.
 */
static bool settled(pid_t pid)
{
	struct timespec ts = {0, 100000};
	int i;

	for (i = 0; i < 20000; i++) {
		if (strchr("TtZX", state_of(pid)))
			return true;
		nanosleep(&ts, NULL);
	}
	return false;
}

int exec_verify(const struct exec_expect *x, pid_t pid, char *what, size_t sz, cJSON **ran)
{
	unsigned long start, end;
	dev_t dev;
	ino_t ino;
	cJSON *now;
	bool same;
	char st;

	what[0] = '\0';
	*ran = NULL;
	/*
	 * A thread other than the leader that execs takes over the process's pid (de_thread),
	 * past the point of no return: its own tid then names the dead leader, or nothing.
	 * What runs is the process.
	 */
	st = state_of(pid);
	if (pid != x->tgid && (st == 'Z' || st == 'X'))
		pid = x->tgid;
	if (!settled(pid)) {
		proc_exe(pid, what, sz);
		kill(pid, SIGKILL);
		return -EPERM; /* not where it can be checked: it does not run unchecked */
	}
	if (exe_id(pid, &dev, &ino) < 0 || arg_area(pid, &start, &end) < 0)
		return 0; /* gone (or a zombie): nothing runs */
	/* Same program, same argument area (a new one lies at a fresh random address): the
	   exec failed and the caller goes on as before. */
	if (dev == x->old_dev && ino == x->old_ino && start == x->old_arg_start &&
	    end == x->old_arg_end)
		return 0;
	proc_exe(pid, what, sz);
	now = read_cmdline(pid);
	same = dev == x->dev && ino == x->ino && now && argv_matches(x, pid, now);
	if (same) {
		cJSON_Delete(now);
		return 0;
	}
	kill(pid, SIGKILL);
	*ran = now;
	return -EPERM;
}
