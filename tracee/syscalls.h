/* SPDX-License-Identifier: MIT */
/*
 * The system calls that notify the supervisor, listed once: the filter (tracee/filter.c)
 * notifies exactly these and the dispatcher (supervisor/supervise/notify.c) handles exactly
 * these, so the two cannot drift apart. Each row names the call, the class the dispatcher
 * hands it to, when the filter notifies it, and where the call keeps the arguments the
 * record needs, by name.
 *
 * The numbers are the x86_64 ABI's: the filter kills every other architecture, and calls
 * newer than the build host's headers are numbered here by hand.
 */
#ifndef AIRLOCK_TRACEE_SYSCALLS_H
#define AIRLOCK_TRACEE_SYSCALLS_H

#include <sys/syscall.h>

#if !defined(__x86_64__)
#error "airlock's syscall table and seccomp filter are written for x86_64 only"
#endif

/* Calls newer than some headers we build against (glibc 2.36, libseccomp 2.5.4). */
#ifndef SYS_set_mempolicy_home_node
#define SYS_set_mempolicy_home_node 450
#endif
#ifndef SYS_fchmodat2
#define SYS_fchmodat2 452
#endif
#ifndef SYS_setxattrat
#define SYS_setxattrat 463
#endif
#ifndef SYS_removexattrat
#define SYS_removexattrat 466
#endif
#ifndef SYS_open_tree_attr
#define SYS_open_tree_attr 467
#endif
_Static_assert(SYS_set_mempolicy_home_node == 450 && SYS_fchmodat2 == 452 &&
		       SYS_setxattrat == 463 && SYS_removexattrat == 466 &&
		       SYS_open_tree_attr == 467,
	       "x86_64 syscall numbers");

/* When the filter notifies a call. */
enum syscall_notify {
	NOTIFY_ALWAYS,	   /* every call */
	NOTIFY_OPEN_WRITE, /* only when the flags at arg.flags open for writing (filter.c) */
	NOTIFY_ADDRESSED,  /* only when arg.addr names a destination (not NULL) */
};

/*
 * Where a call keeps what the supervisor reads: the index of the argument, -1 when absent.
 * dirfd -1 with a path means AT_FDCWD.
 */
struct syscall_args {
	signed char dirfd, path;   /* the path the call acts on, relative to dirfd */
	signed char dirfd2, path2; /* the second path of rename and link */
	signed char str;	   /* symlink: the link's content, a string, not resolved */
	signed char fd;		   /* the object is this descriptor */
	signed char flags;	   /* open flags */
	signed char addr;	   /* a socket address */
};

/*
 * The designated initializer of a struct syscall_args: the slots named override the -1 of
 * the absent ones. A table of them stands between SYSCALL_TABLE_BEGIN and SYSCALL_TABLE_END,
 * which allow the override (-Woverride-init is right everywhere else).
 */
#define SYSCALL_ARGS(...)                                                                          \
	{                                                                                          \
		.dirfd = -1, .path = -1, .dirfd2 = -1, .path2 = -1, .str = -1, .fd = -1,           \
		.flags = -1, .addr = -1, __VA_ARGS__                                               \
	}
#define SYSCALL_TABLE_BEGIN                                                                        \
	_Pragma("GCC diagnostic push") _Pragma("GCC diagnostic ignored \"-Woverride-init\"")
#define SYSCALL_TABLE_END _Pragma("GCC diagnostic pop")

/* X(name, class, when, argument slots...): SYS_name, CLASS_class, NOTIFY_when. */
#define AIRLOCK_SYSCALLS(X)                                                                        \
	X(open, WRITE, OPEN_WRITE, .path = 0, .flags = 1)                                          \
	X(openat, WRITE, OPEN_WRITE, .dirfd = 0, .path = 1, .flags = 2)                            \
	X(creat, WRITE, ALWAYS, .path = 0)                                                         \
	X(unlink, WRITE, ALWAYS, .path = 0)                                                        \
	X(unlinkat, WRITE, ALWAYS, .dirfd = 0, .path = 1)                                          \
	X(rename, WRITE, ALWAYS, .path = 0, .path2 = 1)                                            \
	X(renameat, WRITE, ALWAYS, .dirfd = 0, .path = 1, .dirfd2 = 2, .path2 = 3)                 \
	X(renameat2, WRITE, ALWAYS, .dirfd = 0, .path = 1, .dirfd2 = 2, .path2 = 3)                \
	X(mkdir, WRITE, ALWAYS, .path = 0)                                                         \
	X(mkdirat, WRITE, ALWAYS, .dirfd = 0, .path = 1)                                           \
	X(rmdir, WRITE, ALWAYS, .path = 0)                                                         \
	X(link, WRITE, ALWAYS, .path = 0, .path2 = 1)                                              \
	X(linkat, WRITE, ALWAYS, .dirfd = 0, .path = 1, .dirfd2 = 2, .path2 = 3)                   \
	X(symlink, WRITE, ALWAYS, .str = 0, .path = 1)                                             \
	X(symlinkat, WRITE, ALWAYS, .str = 0, .dirfd = 1, .path = 2)                               \
	X(chmod, WRITE, ALWAYS, .path = 0)                                                         \
	X(fchmodat, WRITE, ALWAYS, .dirfd = 0, .path = 1)                                          \
	X(fchmodat2, WRITE, ALWAYS, .dirfd = 0, .path = 1)                                         \
	X(chown, WRITE, ALWAYS, .path = 0)                                                         \
	X(lchown, WRITE, ALWAYS, .path = 0)                                                        \
	X(fchownat, WRITE, ALWAYS, .dirfd = 0, .path = 1)                                          \
	X(truncate, WRITE, ALWAYS, .path = 0)                                                      \
	X(utime, WRITE, ALWAYS, .path = 0)                                                         \
	X(utimes, WRITE, ALWAYS, .path = 0)                                                        \
	X(utimensat, WRITE, ALWAYS, .dirfd = 0, .path = 1)                                         \
	X(futimesat, WRITE, ALWAYS, .dirfd = 0, .path = 1)                                         \
	X(mknod, WRITE, ALWAYS, .path = 0)                                                         \
	X(mknodat, WRITE, ALWAYS, .dirfd = 0, .path = 1)                                           \
	X(setxattr, WRITE, ALWAYS, .path = 0)                                                      \
	X(lsetxattr, WRITE, ALWAYS, .path = 0)                                                     \
	X(fsetxattr, WRITE, ALWAYS, .fd = 0)                                                       \
	X(removexattr, WRITE, ALWAYS, .path = 0)                                                   \
	X(lremovexattr, WRITE, ALWAYS, .path = 0)                                                  \
	X(fremovexattr, WRITE, ALWAYS, .fd = 0)                                                    \
	X(setxattrat, WRITE, ALWAYS, .dirfd = 0, .path = 1)                                        \
	X(removexattrat, WRITE, ALWAYS, .dirfd = 0, .path = 1)                                     \
	X(fchmod, WRITE, ALWAYS, .fd = 0)                                                          \
	X(fchown, WRITE, ALWAYS, .fd = 0)                                                          \
	X(fallocate, WRITE, ALWAYS, .fd = 0)                                                       \
	/* ID changes: an ID outside the map gets the host's EPERM, not EINVAL (notify.c). */      \
	X(setuid, IDS, ALWAYS)                                                                     \
	X(setgid, IDS, ALWAYS)                                                                     \
	X(setreuid, IDS, ALWAYS)                                                                   \
	X(setregid, IDS, ALWAYS)                                                                   \
	X(setresuid, IDS, ALWAYS)                                                                  \
	X(setresgid, IDS, ALWAYS)                                                                  \
	X(execve, EXEC, ALWAYS, .path = 0)                                                         \
	X(execveat, EXEC, ALWAYS, .dirfd = 0, .path = 1)                                           \
	X(connect, CONNECT, ALWAYS, .fd = 0, .addr = 1)                                            \
	X(bind, BIND, ALWAYS, .fd = 0, .addr = 1)                                                  \
	/* sendto without a destination sends on a connected socket: nothing to decide. */         \
	X(sendto, SEND, ADDRESSED, .fd = 0, .addr = 4)                                             \
	X(sendmsg, SEND, ALWAYS, .fd = 0)                                                          \
	X(sendmmsg, SEND, ALWAYS, .fd = 0)

#endif
