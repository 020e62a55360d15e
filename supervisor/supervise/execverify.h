/* SPDX-License-Identifier: MIT */
/*
 * Checking, after an exec that a rule decided, that what runs is what was checked.
 *
 * The freeze (freeze.h) stops every process of the sandbox while an exec's arguments are read
 * again, but not the kernel: legacy AIO completing into a ring, an O_DIRECT read finishing
 * late, or any other write the kernel makes into the program's memory on its own schedule can
 * change the path or argv between the supervisor's last read and the kernel's. So the outcome
 * is checked instead of the input: before the exec is continued, the file the path names in
 * the sandbox's view is identified by device and inode (for a script, by the interpreter the
 * kernel will run, following "#!" lines as it does); after it, the new program, stopped by
 * the freeze before its first instruction, must be that file ( /proc/PID/exe ), and its
 * argv, which the kernel has just written into memory no one else shares, must be the one
 * decided on (for a script, the tail after the script's name, and that name). Anything
 * else is killed before it runs, and the caller records what really ran.
 */
#ifndef AIRLOCK_SUPERVISOR_EXECVERIFY_H
#define AIRLOCK_SUPERVISOR_EXECVERIFY_H

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <sys/types.h>

struct exec_expect {
	dev_t dev; /* the program the kernel will run: the file, or its last interpreter */
	ino_t ino;
	int scripts;	   /* how many "#!" levels lead to it */
	bool check_name;   /* a script's name in the new argv can be compared with target */
	char target[4096]; /* the path decided on, absolute and normalised */
	const cJSON *argv; /* the argv decided on (borrowed) */
	dev_t old_dev;	   /* the caller before the exec: to tell a failed exec */
	ino_t old_ino;
	unsigned long old_arg_start, old_arg_end;
	pid_t tgid; /* the caller's process: what runs after an exec from any of its threads */
};

/*
 * Identify what the exec of pid (frozen, in its notification) will run. target is the
 * path as decided (absolute, normalised, in pid's view), or for execveat(fd, "",
 * AT_EMPTY_PATH) pass fd >= 0 (target is then only a name). cwd: pid's working directory in
 * its view (for a relative interpreter). argv is borrowed until exec_verify(). 0 or -errno
 * (the caller refuses the exec).
 */
int exec_expect(struct exec_expect *x, pid_t pid, const char *target, int fd, const char *cwd,
		const cJSON *argv);

/*
 * After the exec of thread pid was continued and has happened or failed
 * (freeze_wait_exec()), with the process still held by the freeze: 0 when the exec failed
 * (the old program goes on), the process is gone, or it runs what was checked; -EPERM when it
 * runs something else, or cannot be checked, and was killed (SIGKILL), with what it runs in
 * what[sz] (its executable) and *ran (its argv, caller frees; NULL when unreadable).
 */
int exec_verify(const struct exec_expect *x, pid_t pid, char *what, size_t sz, cJSON **ran);

#endif
