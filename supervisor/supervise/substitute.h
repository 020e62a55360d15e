/* SPDX-License-Identifier: MIT */
/*
 * Deferring an exec (design.md, "Exec"): the program must see its command start and exit 0
 * with no output, while the command itself does not run. seccomp cannot change the path a
 * call names, so the supervisor rewrites the first bytes of the path string in the caller's
 * memory to name the stub, "/.@" (a 129-byte static program that only calls exit_group(0),
 * made in the sandbox's own root skeleton, never on the host), and lets the kernel run the
 * exec.
 *
 * Writing another process's memory is safe only when nothing else reads or changes it
 * meanwhile:
 *   - the caller must be single-threaded: another thread could put the old path back
 *     between the write and the kernel's copy (or see the rewritten string);
 *   - the rest of the sandbox is stopped meanwhile (freeze.h): a vfork child (Python's
 *     subprocess, posix_spawn) shares its parent's memory, so the parent's bytes are put back
 *     once the exec has replaced the child's memory, before the sandbox continues;
 *   - after the exec, /proc/PID/exe must be the stub (its device and inode, taken from the
 *     caller's root before the exec; a file of the same name does not pass), or the process
 *     is killed: whatever ran
 *     instead (memory shared by some other means) never gets to run a single instruction
 *     unnoticed for long, and the event log says so.
 * Any exec where this cannot be guaranteed is refused (EACCES), never run.
 */
#ifndef AIRLOCK_SUPERVISOR_SUBSTITUTE_H
#define AIRLOCK_SUPERVISOR_SUBSTITUTE_H

#include "tracee/stub.h"

#include <stdbool.h>
#include <sys/types.h>

struct substitution {
	pid_t pid;	    /* the caller */
	pid_t sharer;	    /* its vfork parent, which shares the string; 0 when none */
	unsigned long addr; /* the path string in the caller's memory */
	char saved[sizeof(STUB_PATH)];
	char old_exe[4096]; /* /proc/PID/exe before the exec */
	dev_t stub_dev;	    /* the stub in the caller's root, which the exec must run */
	ino_t stub_ino;
	bool written;
};

/*
 * Check that the exec of pid (path string at addr) can be substituted and write the stub's
 * path over the string; the caller has frozen the sandbox. 0, or -errno (the caller answers
 * EACCES): -EBUSY (other threads), -ENAMETOOLONG (path shorter than the stub's), -EIO.
 */
int substitute_begin(struct substitution *sub, pid_t pid, unsigned long addr);

/*
 * After the CONTINUE: wait (bounded, freeze_wait_exec()) until the exec has replaced the
 * caller's memory or failed, check that it runs the stub (else kill it: -EPERM, or
 * -ETIMEDOUT when it still runs the old program), put the sharer's bytes back. 0 or -errno.
 */
int substitute_end(struct substitution *sub);

/* The exec is not going ahead after all: undo the write. */
void substitute_abort(struct substitution *sub);

#endif
