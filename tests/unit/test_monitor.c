/* SPDX-License-Identifier: MIT */
/*
 * Unit tests for the pace of the limits check (supervisor/supervise/monitor.h): a check far
 * from every limit asks for the longest delay, one near a limit or past it for the shortest,
 * and the delay never leaves [MONITOR_MS, MONITOR_MAX_MS]. The checks read this machine's own
 * /proc, as the supervisor reads the sandbox's.
 */
#include "supervisor/supervise/monitor.h"

#include "tests/unit/tap.h"

#include <fcntl.h>
#include <math.h>
#include <string.h>
#include <sys/statvfs.h>
#include <unistd.h>

static void delays(void)
{
	is_int(monitor_delay_ms(0), MONITOR_MS, "a limit reached: the shortest delay");
	is_int(monitor_delay_ms(-5), MONITOR_MS, "a limit passed: the shortest delay");
	is_int(monitor_delay_ms(NAN), MONITOR_MS, "not a number: the shortest delay");
	is_int(monitor_delay_ms(7.9), MONITOR_MS + 7, "7.9 ms ahead: 7 ms more than the shortest");
	is_int(monitor_delay_ms(MONITOR_MAX_MS - MONITOR_MS), MONITOR_MAX_MS,
	       "far enough ahead: the longest delay");
	is_int(monitor_delay_ms(1e12), MONITOR_MAX_MS, "very far ahead: still the longest delay");
}

static void open_self(struct monitor *m)
{
	memset(m, 0, sizeof(*m));
	m->storefd = m->diagfd = m->resolverfd = -1;
	ok(monitor_open(m, getpid()) == 0, "the monitor opens this machine's /proc");
}

static void checks(void)
{
	struct monitor m;
	struct statvfs sv;
	const char *hit;

	open_self(&m);
	m.tasks_max = m.mem_max = 1ULL << 62;
	m.cpu_max_ms = 1ULL << 40;
	hit = monitor_check(&m);
	ok(hit == NULL, "limits out of reach are not hit");
	ok(m.tasks > 0 && m.mem > 0, "the check counted tasks and memory");
	is_int(m.next_ms, MONITOR_MAX_MS, "limits out of reach: the next check comes last");

	/* CPU time grows by at most one ms per CPU and ms: ten seconds of it per CPU are far,
	   even seen growing twice as fast as they can between two quick checks (clock ticks). */
	m.tasks_max = m.mem_max = 0;
	m.cpu_max_ms = m.cpu_ms + 10000 * (unsigned long long)sysconf(_SC_NPROCESSORS_CONF);
	ok(monitor_check(&m) == NULL, "a CPU limit ten seconds away is not hit");
	is_int(m.next_ms, MONITOR_MAX_MS, "a CPU limit ten seconds away: the longest delay");

	m.cpu_max_ms = 0;
	m.tasks_max = 1;
	hit = monitor_check(&m);
	is_str(hit ? hit : "(none)", "pids", "one task allowed: the pids limit is hit");
	is_int(m.next_ms, MONITOR_MS, "a limit passed: the next check comes first");

	/* A few tasks of headroom are made in well under a millisecond: no slack to speak of. */
	m.tasks_max = m.tasks + 2;
	monitor_check(&m);
	ok(m.next_ms >= MONITOR_MS && m.next_ms <= MONITOR_MS + 1,
	   "a pids limit two tasks away: about the shortest delay (%ld ms)", m.next_ms);

	/* The store's room above its reserve is a limit too; unknown, it is as good as none. */
	m.tasks_max = 0;
	m.disk_reserve = 1;
	m.storefd = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
	ok(monitor_check(&m) == NULL, "a reserve of one byte is not passed");
	/* A GiB takes 64 ms at 8 MiB per ms even on two CPUs: past the longest delay. */
	if (statvfs("/", &sv) == 0 && (unsigned long long)sv.f_bavail * sv.f_frsize >= 1ULL << 30 &&
	    sysconf(_SC_NPROCESSORS_CONF) <= 2)
		is_int(m.next_ms, MONITOR_MAX_MS, "a disk with a GiB to spare: the longest delay");
	else
		ok(m.next_ms >= MONITOR_MS && m.next_ms <= MONITOR_MAX_MS,
		   "a disk with room to spare: a delay in bounds (%ld ms)", m.next_ms);
	close(m.storefd);
	m.storefd = -1;
	monitor_check(&m);
	is_int(m.next_ms, MONITOR_MS, "a disk whose room cannot be read: the shortest delay");
	monitor_close(&m);
}

int main(void)
{
	delays();
	checks();
	return tap_done();
}
