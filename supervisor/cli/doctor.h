/* SPDX-License-Identifier: MIT */
/*
 * Why airlock cannot start here, and what to do: the checks `airlock run` makes before it
 * clones (cheap: sysctls and the kernel version), the probes it makes after a failed start
 * (a child that tries a user namespace, its uid_map, an overlay and a seccomp listener), and
 * `airlock doctor`, which prints all of it for a bug report.
 *
 * Test-only hooks (never set them otherwise; they can only make airlock refuse more):
 *   AIRLOCK_TEST_PROC_SYS=DIR           read sysctls from DIR (kernel/..., user/...) instead
 *                                       of /proc/sys
 *   AIRLOCK_TEST_FEATURES_OFF=a,b,...   treat these features as missing (common/testenv.h):
 *                                       probes report them missing, and the optional ones
 *                                       (wait_killable_recv, sync_wakeup, pidfd_thread) are
 *                                       not used by `airlock run`, so their fallbacks run
 */
#ifndef AIRLOCK_SUPERVISOR_DOCTOR_H
#define AIRLOCK_SUPERVISOR_DOCTOR_H

/*
 * Before the sandbox is cloned: print one line per reason the kernel or its settings
 * cannot run it (kernel version, user namespaces switched off, AppArmor's restriction),
 * each with the fix. 0, or -1 when at least one was printed.
 */
int doctor_preflight(void);

/*
 * After the sandbox failed to start: probe each step in a child and print one line per
 * cause found, with the fix. store is the session store root. Returns how many causes
 * were printed (0: none found, the message already printed stands alone).
 */
int doctor_explain(const char *store);

#endif
