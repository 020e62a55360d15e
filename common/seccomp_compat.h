/* SPDX-License-Identifier: MIT */
/*
 * The seccomp user-notification ABI as the running kernel may know it and the build host's
 * <linux/seccomp.h> may not: flags and ioctls newer than the oldest headers we build against,
 * with the kernel's values. Whether the running kernel supports each is found out at run time
 * (airlock doctor, filter_load(), notifier_init()).
 */
#ifndef AIRLOCK_COMMON_SECCOMP_COMPAT_H
#define AIRLOCK_COMMON_SECCOMP_COMPAT_H

#include <linux/seccomp.h>

/* Linux 5.0: a listener descriptor for user notification. */
#ifndef SECCOMP_FILTER_FLAG_NEW_LISTENER
#define SECCOMP_FILTER_FLAG_NEW_LISTENER (1UL << 3)
#endif
/* Linux 5.19: a signal no longer aborts a notification the supervisor has received. */
#ifndef SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV
#define SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV (1UL << 5)
#endif
/* Linux 5.9: install a descriptor in the notifying process (5.14: and answer at once). */
#ifndef SECCOMP_IOCTL_NOTIF_ADDFD
#define SECCOMP_IOCTL_NOTIF_ADDFD SECCOMP_IOW(3, struct seccomp_notif_addfd)
#endif
#ifndef SECCOMP_ADDFD_FLAG_SETFD
#define SECCOMP_ADDFD_FLAG_SETFD (1UL << 0)
#endif
#ifndef SECCOMP_ADDFD_FLAG_SEND
#define SECCOMP_ADDFD_FLAG_SEND (1UL << 1)
#endif
/* Linux 6.6: wake the supervisor on the same CPU. */
#ifndef SECCOMP_IOCTL_NOTIF_SET_FLAGS
#define SECCOMP_IOCTL_NOTIF_SET_FLAGS SECCOMP_IOW(4, __u64)
#endif
#ifndef SECCOMP_USER_NOTIF_FD_SYNC_WAKE_UP
#define SECCOMP_USER_NOTIF_FD_SYNC_WAKE_UP (1UL << 0)
#endif

#endif
