/* SPDX-License-Identifier: MIT */
/*
 * The seccomp filter every sandboxed process runs under: which system calls are denied
 * outright, which notify the supervisor, and how it is installed.
 */
#ifndef AIRLOCK_TRACEE_FILTER_H
#define AIRLOCK_TRACEE_FILTER_H

#include <stdbool.h>

/* What the installed filter got from the kernel, reported to the supervisor. */
struct filter_info {
	bool wait_killable; /* SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV (Linux 5.19) */
};

struct sock_fprog;

/*
 * Compile the filter to BPF (the caller frees prog->filter). Done by the supervisor before
 * the sandbox is cloned, so the child, which inherits the memory, only loads it.
 * 0 or -errno after printing what failed.
 */
int filter_compile(struct sock_fprog *prog);

/*
 * Install the compiled filter on the calling thread with a notification listener. The
 * caller must have set no_new_privs. Returns the listener descriptor, or -errno after
 * printing what failed.
 */
int filter_load(const struct sock_fprog *prog, struct filter_info *info);

/* filter_compile() and filter_load() in one step. */
int filter_install(struct filter_info *info);

/*
 * Write the filter in BPF form to fd (for inspection and tests). 0 or -errno.
 */
int filter_export(int fd);

#endif
