/* SPDX-License-Identifier: MIT */
/*
 * Whole-sandbox limits the supervisor enforces itself: total resident memory and what the
 * sandbox's sockets hold in the kernel, total CPU time and the number of tasks of every
 * process in the sandbox, read from the sandbox's own /proc and a sock_diag socket in its
 * network namespace every few milliseconds. Per-process rlimits (tracee/) are the backstop between
 * two checks; cgroups would do this in the kernel, but an unprivileged user rarely has a delegated
 * cgroup, and this works for everyone.
 */
#ifndef AIRLOCK_SUPERVISOR_MONITOR_H
#define AIRLOCK_SUPERVISOR_MONITOR_H

#include <stdbool.h>
#include <sys/types.h>

struct monitor_keep; /* descriptors kept from one check to the next (monitor.c) */

struct monitor {
	int procfd;		       /* the sandbox's /proc */
	struct monitor_keep *keep;     /* NULL until monitor_open() */
	unsigned long long mem_max;    /* bytes of resident memory, 0: unlimited */
	unsigned long long cpu_max_ms; /* milliseconds of CPU, 0: unlimited */
	unsigned long long tasks_max;  /* tasks (processes and threads), 0: unlimited */
	int storefd;		       /* the session directory, for the free space check */
	int diagfd;	/* NETLINK_SOCK_DIAG in the sandbox's network namespace, or -1 */
	int resolverfd; /* the sandbox's resolver socket, the supervisor's own UDP socket there */
	unsigned long long disk_reserve; /* stop when the store's filesystem has less free */
	/* The last sample, for the record. */
	unsigned long long mem, cpu_ms, tasks;
	unsigned long long sock_mem; /* of mem: what the sandbox's sockets hold */
	unsigned long long tcp_mem;  /* of sock_mem: TCP's, counted every 20th check */
	unsigned long long checks;   /* since the namespace had sockets of the sandbox's own */
	bool sockets;		     /* it has (the last check found): checks every MONITOR_MS */
	unsigned long long mem_peak, tasks_peak;
	/* The pace (monitor_next_ms()): the last check's time and figures, what it asks for,
	   and what the timer is set to (run.c). */
	long long last_ns;
	unsigned long long last_mem, last_cpu_ms, last_tasks, last_disk_room;
	long next_ms, armed_ms;
	bool idle; /* a live session between steps: a slower pace (run.c) */
};

/* Open the /proc of the sandbox whose pid 1 is pid (in our namespace). 0 or -errno. */
int monitor_open(struct monitor *m, pid_t pid);

/*
 * Sample the sandbox. Returns the name of the limit it exceeds ("memory", "cpu", "pids", or
 * "disk" when the filesystem of the session store runs below disk_reserve: the upper
 * directories and the event log grow with what the program does), or NULL.
 */
const char *monitor_check(struct monitor *m);

/*
 * The period of the checks. Each check names the next one's delay: MONITOR_MS plus the time
 * the sandbox needs, at the fastest growth assumed (or twice the growth last seen, if that
 * is faster), to reach the nearest limit from where it stands; at most MONITOR_MAX_MS. Far
 * from every limit a check comes less often, and a limit is passed by no more than a check
 * every MONITOR_MS would have let it be: the delay past the point where it could first be
 * reached is MONITOR_MS in both. While the sandbox's network namespace holds sockets of its
 * own, whose queued data the socket dumps count, every check comes after MONITOR_MS.
 */
#define MONITOR_MS     10
#define MONITOR_MAX_MS 50

/*
 * The delay in milliseconds of a check that is ms_left ahead of the limit (a count of
 * milliseconds before it can be reached), bounded as above.
 */
long monitor_delay_ms(double ms_left);

/* True when the store's filesystem has less than disk_reserve bytes free. */
bool monitor_disk_low(struct monitor *m);

/*
 * Bytes the sandbox may still add to the store's filesystem before its reserve (ULLONG_MAX
 * when there is no reserve). 0, or -EIO when the filesystem cannot be asked (fail closed).
 */
int monitor_disk_room(const struct monitor *m, unsigned long long *room);

void monitor_close(struct monitor *m);

#endif
