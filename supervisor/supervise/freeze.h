/* SPDX-License-Identifier: MIT */
/*
 * Freezing the sandbox around an exec (design.md, "Exec", TOCTOU): another thread, a vfork
 * parent, or any process sharing memory with the caller (MAP_SHARED, memfd) could rewrite the
 * path or argv between the supervisor's copy and the kernel's. With every other process of
 * the sandbox stopped, the supervisor reads the arguments again, and answers only when they
 * are what it decided on; nothing can change them until the kernel has copied them, and the
 * processes continue once the exec is done. Processes are found from the sandbox's init
 * down (/proc/PID/task/TID/children) and held by pidfds (Linux 5.3), so a pid reused
 * meanwhile is never signalled. Used only where a decision depends on the arguments:
 * the exec rules hold something other than "allow", or the exec is deferred.
 */
#ifndef AIRLOCK_SUPERVISOR_FREEZE_H
#define AIRLOCK_SUPERVISOR_FREEZE_H

#include <stddef.h>
#include <sys/types.h>

struct freeze {
	int *fds;    /* pidfds of the stopped processes */
	pid_t *pids; /* their pids (ours) */
	size_t n, cap, pcap;
};

/*
 * Stop every process of the sandbox (the tree below init, its pid 1, in our pid namespace)
 * but its init, and wait (bounded)
 * until none of their threads can run: stopped, or asleep in the kernel uninterruptibly
 * (the caller in its notification, a vfork parent). The caller's own process is stopped
 * too (its other threads); the caller, waiting for our answer, stops when it returns to
 * user space (after its exec). 0, or -errno with everything continued again.
 */
int freeze_sandbox(struct freeze *f, pid_t init);

/*
 * freeze_sandbox(), leaving the process keep running (its children are stopped): a caller of
 * one thread, blocked in the notification being handled, cannot act meanwhile, and a stop
 * would be reported to its parent (an interactive shell would say the job stopped).
 */
int freeze_sandbox_but(struct freeze *f, pid_t init, pid_t keep);

/* Continue every process freeze_sandbox() stopped. */
void thaw_sandbox(struct freeze *f);

/*
 * Wait (bounded) until the exec of the task tid has happened or failed: its exe changed from
 * old_exe, or it is stopped back in user space, or it is gone. For answering after CONTINUE.
 */
void freeze_wait_exec(pid_t tid, const char *old_exe);

#endif
