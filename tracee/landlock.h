/* SPDX-License-Identifier: MIT */
/*
 * Landlock, the second wall: the command's own kernel-enforced limits on the filesystem,
 * under the mount layer that builds its view (plan.h, sandbox.c).
 *
 * The mount layer decides what the program sees; Landlock decides, independently of it, what
 * the program may do with what it reaches, whatever path or descriptor led there:
 *   read and execute    everything in the sandbox's view
 *   write, create,      only beneath a mount that is an overlay (the writes land in the
 *   remove, rename      session's upper directories) and /dev/shm (memory)
 *   write to a file     also on the device nodes in /dev, in /proc (the sandbox's own: the
 *                      parts that act on the host are read-only mounts), and on a terminal
 *                      or device the command got as its stdin, stdout or stderr
 *   ioctl on a device   /dev and those stdio devices
 * Nothing reached any other way can be written: a host directory or file whose descriptor
 * the program received (SCM_RIGHTS from a host socket it was allowed to reach), a host
 * mount that a mistake in the plan left writable. Rules are taken from the sandbox's mount
 * table as the kernel reports it, not from the plan, so they do not repeat its mistakes; a
 * writable mount below a writable tree that is not one of the above would inherit that
 * tree's rights (Landlock adds rights beneath a directory, it cannot take them away), so the
 * command refuses to start instead.
 *
 * Landlock cannot make a path below a writable tree read-only or absent: --readonly and
 * --hide stay with the mount layer (a read-only bind, a whiteout).
 *
 * Scoping (ABI 6): the command cannot signal a process outside its domain (pid 1, which
 * forwards signals to it, and is itself outside the domain; the supervisor is outside the
 * pid namespace) and, unless --net host, cannot reach an abstract Unix socket bound outside
 * its domain. Under --net host abstract sockets stay reachable, as the host's network does.
 * TCP rules (ABI 4) are not used: under --net mediated and none the network namespace holds
 * only the sandbox's loopback, where any port is the program's own, and the supervisor makes
 * every connection outside on sockets of its own, beyond the domain; under --net host the
 * rules decide host and port together, which Landlock's port rules cannot express.
 *
 * ABI 1 (Linux 5.13) refuses every rename and link across directories (EXDEV), which breaks
 * ordinary programs: Landlock is used from ABI 2 (Linux 5.19), with every filesystem right the
 * kernel knows (ABI 3 truncate, ABI 5 device ioctls) and scoping from ABI 6.
 */
#ifndef AIRLOCK_TRACEE_LANDLOCK_H
#define AIRLOCK_TRACEE_LANDLOCK_H

#include <stdbool.h>
#include <stdint.h>

struct landlock_state {
	int abi;	     /* the kernel's Landlock ABI, 0 without one (or turned off) */
	bool enforced;	     /* the command runs in a Landlock domain */
	bool scope_signal;   /* signals to processes outside the domain are refused */
	bool scope_abstract; /* abstract Unix sockets bound outside the domain are refused */
	const char *why;     /* not enforced: why, for doctor and the record (static) */
};

/*
 * What Landlock the sandbox gets on this kernel (net_host: --net host). No side effects; the
 * supervisor records it, the command enforces exactly this. AIRLOCK_TEST_FEATURES_OFF=landlock
 * turns it off (common/testenv.h).
 */
void landlock_probe(struct landlock_state *st, bool net_host);

/* The command's ruleset: made by pid 1, entered by the command it forks. */
struct landlock_ruleset {
	int fd;		  /* -1 when Landlock is not enforced */
	uint64_t handled; /* the filesystem rights it handles (all the ABI knows) */
};

/*
 * The domain is made in three steps, so that pid 1 writes the rules while the command it has
 * just forked gets ready (sandbox.c):
 *   landlock_create()   pid 1, before the fork: an empty ruleset for what landlock_probe()
 *                       says; the command inherits the descriptor (close-on-exec)
 *   landlock_fill()     pid 1, once the sandbox's mounts are final: the rules, from the
 *                       mount table as the kernel reports it (and pid 1's stdio, which is
 *                       the command's); the command's descriptor names the same ruleset
 *   landlock_restrict() the command, after no_new_privs, once pid 1 has said the rules are
 *                       all in, and before the seccomp filter: restricts the calling process
 *                       (single-threaded) and everything it starts, and closes the ruleset
 * A domain is a copy of the ruleset when it is entered: nothing pid 1 could add later would
 * reach the command. Each dies (exit 125) when Landlock is available but cannot be applied;
 * landlock_fill() also when the mount table holds a writable mount that would inherit rights
 * it must not have.
 */
void landlock_create(struct landlock_ruleset *rs, bool net_host);
void landlock_fill(const struct landlock_ruleset *rs);
void landlock_restrict(struct landlock_ruleset *rs);

#endif
