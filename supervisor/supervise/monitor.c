/* SPDX-License-Identifier: MIT */
/* Samples the sandbox's processes through its own /proc; see monitor.h. */
#include "supervisor/supervise/monitor.h"

#include "common/cleanup.h"
#include "common/openat2.h"

#include <ctype.h>
#include <stdbool.h>
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <fcntl.h>
#include <linux/inet_diag.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <linux/sock_diag.h>
#include <linux/unix_diag.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <unistd.h>

int monitor_open(struct monitor *m, pid_t pid)
{
	/* Resolved inside the sandbox's root: nothing it planted can point elsewhere. */
	int fd = openat2_in_view(pid, "proc", O_RDONLY | O_DIRECTORY);

	m->procfd = fd < 0 ? -1 : fd;
	return fd < 0 ? fd : 0;
}

void monitor_close(struct monitor *m)
{
	if (m->procfd >= 0)
		close(m->procfd);
	if (m->storefd >= 0)
		close(m->storefd);
	if (m->diagfd >= 0)
		close(m->diagfd);
	m->procfd = -1;
	m->storefd = -1;
	m->diagfd = -1;
}

/*
 * Every check (10 ms): the store's filesystem keeps disk_reserve bytes free. One fstatvfs()
 * costs about a microsecond; sampling every tenth check let a fast writer put 200 MiB on the
 * disk between two samples. A single file cannot pass the reserve at all (RLIMIT_FSIZE is set
 * to what was free above it, see run.c); this catches many files growing together.
 */
bool monitor_disk_low(struct monitor *m)
{
	struct statvfs sv;

	if (m->storefd < 0 || !m->disk_reserve)
		return false;
	if (fstatvfs(m->storefd, &sv) < 0)
		return false;
	return (unsigned long long)sv.f_bavail * sv.f_frsize < m->disk_reserve;
}

int monitor_disk_room(const struct monitor *m, unsigned long long *room)
{
	struct statvfs sv;
	unsigned long long avail;

	*room = ULLONG_MAX;
	if (!m->disk_reserve)
		return 0;
	if (m->storefd < 0 || fstatvfs(m->storefd, &sv) < 0)
		return -EIO;
	avail = (unsigned long long)sv.f_bavail * sv.f_frsize;
	*room = avail > m->disk_reserve ? avail - m->disk_reserve : 0;
	return 0;
}

/*
 * Kernel memory held by the sandbox's sockets. Data queued in a socket belongs to no process,
 * so resident memory does not show it: eight processes filling socketpairs held about
 * 900 MiB under --memory 200M. pid 1 made a NETLINK_SOCK_DIAG socket in the sandbox's network
 * namespace, so a dump lists exactly the sandbox's sockets, with their memory (the
 * SK_MEMINFO_* counters ss -m shows). A Unix socket's queued data is charged to the sender's
 * write allocation, TCP's to the receiver's read allocation and the sender's write queue.
 */
#define DIAG_BUF 32768

/* The bytes one socket holds, from its SK_MEMINFO_* array. */
static unsigned long long meminfo_bytes(const struct rtattr *rta)
{
	const __u32 *v = RTA_DATA(rta);
	size_t n = RTA_PAYLOAD(rta) / sizeof(__u32);
	unsigned long long wmem;

	if (n <= SK_MEMINFO_WMEM_QUEUED)
		return 0;
	wmem = v[SK_MEMINFO_WMEM_ALLOC] > v[SK_MEMINFO_WMEM_QUEUED] ? v[SK_MEMINFO_WMEM_ALLOC]
								    : v[SK_MEMINFO_WMEM_QUEUED];
	return (unsigned long long)v[SK_MEMINFO_RMEM_ALLOC] + wmem;
}

/* Send one dump request and add up the memory of every socket it lists. 0 or -1. */
static int diag_dump(int fd, void *req, size_t reqlen, bool unix_family, unsigned long long *sum)
{
	struct nlmsghdr *nh = req;
	static char buf[DIAG_BUF] __attribute__((aligned(NLMSG_ALIGNTO)));

	nh->nlmsg_len = (__u32)reqlen;
	nh->nlmsg_type = SOCK_DIAG_BY_FAMILY;
	nh->nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
	if (send(fd, req, reqlen, MSG_DONTWAIT | MSG_NOSIGNAL) != (ssize_t)reqlen)
		return -1;
	for (;;) {
		ssize_t len = recv(fd, buf, sizeof(buf), MSG_DONTWAIT);
		struct nlmsghdr *h;

		if (len < 0)
			return errno == EAGAIN ? 0 : -1;
		if (len == 0)
			return 0;
		for (h = (struct nlmsghdr *)buf; NLMSG_OK(h, (size_t)len); h = NLMSG_NEXT(h, len)) {
			size_t head = unix_family ? sizeof(struct unix_diag_msg)
						  : sizeof(struct inet_diag_msg);
			struct rtattr *rta;
			int alen;

			if (h->nlmsg_type == NLMSG_DONE)
				return 0;
			if (h->nlmsg_type == NLMSG_ERROR)
				return -1;
			if (h->nlmsg_len < NLMSG_LENGTH(head))
				continue;
			rta = (struct rtattr *)((char *)NLMSG_DATA(h) + NLMSG_ALIGN(head));
			alen = (int)(h->nlmsg_len - NLMSG_LENGTH(NLMSG_ALIGN(head)));
			for (; RTA_OK(rta, alen); rta = RTA_NEXT(rta, alen))
				if (rta->rta_type ==
				    (unix_family ? UNIX_DIAG_MEMINFO : INET_DIAG_SKMEMINFO))
					*sum += meminfo_bytes(rta);
		}
	}
}

static void dump_unix(int fd, unsigned long long *sum)
{
	struct {
		struct nlmsghdr nh;
		struct unix_diag_req r;
	} req = {.r = {.sdiag_family = AF_UNIX,
		       .udiag_states = ~0U,
		       .udiag_show = UDIAG_SHOW_MEMINFO}};

	diag_dump(fd, &req, sizeof(req), true, sum);
}

static void dump_inet(int fd, unsigned char family, unsigned char protocol, unsigned long long *sum)
{
	struct {
		struct nlmsghdr nh;
		struct inet_diag_req_v2 r;
	} req = {.r = {.sdiag_family = family,
		       .sdiag_protocol = protocol,
		       .idiag_ext = 1 << (INET_DIAG_SKMEMINFO - 1),
		       .idiag_states = ~0U}};

	diag_dump(fd, &req, sizeof(req), false, sum);
}

/* Read a small /proc file below dirfd into buf. Length, or -1. */
static ssize_t read_small(int dirfd, const char *name, char *buf, size_t size)
{
	cleanup_fd int fd = openat(dirfd, name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	ssize_t n;

	if (fd < 0)
		return -1;
	n = read(fd, buf, size - 1);
	if (n < 0)
		return -1;
	buf[n] = '\0';
	return n;
}

/* "TCP: inuse N" and the like from the sandbox's own /proc/1/net/sockstat{,6}: per namespace. */
static unsigned long inuse(int procfd, const char *file, const char *proto)
{
	char buf[1024], key[32];
	const char *line;
	size_t klen;

	if (read_small(procfd, file, buf, sizeof(buf)) <= 0)
		return 1; /* unknown: count as in use, so the dump is made */
	klen = (size_t)snprintf(key, sizeof(key), "%s: inuse ", proto);
	for (line = buf; line; line = strchr(line, '\n'), line = line ? line + 1 : NULL)
		if (strncmp(line, key, klen) == 0)
			return strtoul(line + klen, NULL, 10);
	return 1;
}

/*
 * Kernel memory of every socket in the sandbox's network namespace; 0 when unknown. Cost
 * decides the order: Unix sockets are hashed per namespace and a dump of them takes tens of
 * microseconds, so it is made every check. A TCP dump walks the whole host's connection hash
 * (4.5 ms measured here), and a check every 10 ms spent on it stalled every notification: it
 * is made only while the namespace has TCP sockets (sockstat's per-namespace counts, read
 * first), and then every 20th check; UDP likewise, every check.
 */
static unsigned long long socket_memory(struct monitor *m)
{
	unsigned long long sum = 0;

	if (m->diagfd < 0)
		return 0;
	dump_unix(m->diagfd, &sum);
	if (inuse(m->procfd, "1/net/sockstat", "UDP"))
		dump_inet(m->diagfd, AF_INET, IPPROTO_UDP, &sum);
	if (inuse(m->procfd, "1/net/sockstat6", "UDP6"))
		dump_inet(m->diagfd, AF_INET6, IPPROTO_UDP, &sum);
	if (m->checks++ % 20 == 0) {
		m->tcp_mem = 0;
		if (inuse(m->procfd, "1/net/sockstat", "TCP"))
			dump_inet(m->diagfd, AF_INET, IPPROTO_TCP, &m->tcp_mem);
		if (inuse(m->procfd, "1/net/sockstat6", "TCP6"))
			dump_inet(m->diagfd, AF_INET6, IPPROTO_TCP, &m->tcp_mem);
	}
	return sum + m->tcp_mem;
}

/*
 * From /proc/PID/stat: CPU ticks (own and reaped children's) and the number of threads. The
 * command name (field 2) is the program's choice and may hold spaces and parentheses:
 * parsing starts after its last ')'.
 */
static int parse_stat(const char *buf, unsigned long long *ticks, unsigned long long *threads)
{
	const char *p = strrchr(buf, ')');
	unsigned long long v[18];
	int i;

	if (!p)
		return -1;
	p++;
	/* Fields 3..20: state, ppid, ..., utime(14) stime(15) cutime(16) cstime(17) ...
	   num_threads(20). The state is a character; skip it, then read numbers. */
	while (*p == ' ')
		p++;
	if (!*p)
		return -1;
	p++;
	for (i = 4; i <= 20; i++) {
		char *end;

		while (*p == ' ')
			p++;
		v[i - 4] = strtoull(p, &end, 10);
		if (end == p && *p != '-')
			return -1;
		if (*p == '-') /* negative fields (priority, nice) */
			v[i - 4] = 0, end = (char *)strchrnul(p, ' ');
		p = end;
	}
	*ticks = v[14 - 4] + v[15 - 4] + v[16 - 4] + v[17 - 4];
	*threads = v[20 - 4];
	return 0;
}

const char *monitor_check(struct monitor *m)
{
	static long page, hz;
	cleanup_dir DIR *d = NULL;
	struct dirent *de;
	unsigned long long mem = 0, ticks = 0, tasks = 0;
	int fd;

	if (m->procfd < 0)
		return NULL;
	if (!page) {
		page = sysconf(_SC_PAGESIZE);
		hz = sysconf(_SC_CLK_TCK);
	}
	fd = dup(m->procfd);
	if (fd < 0)
		return NULL;
	d = fdopendir(fd);
	if (!d) {
		close(fd);
		return NULL;
	}
	rewinddir(d);
	while ((de = readdir(d))) {
		char path[300], buf[1024];
		unsigned long long t = 0, th = 0, size = 0, rss = 0;

		if (!isdigit((unsigned char)de->d_name[0]))
			continue;
		snprintf(path, sizeof(path), "%s/stat", de->d_name);
		if (read_small(m->procfd, path, buf, sizeof(buf)) > 0 &&
		    parse_stat(buf, &t, &th) == 0) {
			ticks += t;
			tasks += th;
		}
		snprintf(path, sizeof(path), "%s/statm", de->d_name);
		if (read_small(m->procfd, path, buf, sizeof(buf)) > 0 &&
		    sscanf(buf, "%llu %llu", &size, &rss) == 2)
			mem += rss * (unsigned long long)page;
	}
	m->sock_mem = socket_memory(m);
	mem += m->sock_mem;
	m->mem = mem;
	m->cpu_ms = hz > 0 ? ticks * 1000ULL / (unsigned long long)hz : 0;
	m->tasks = tasks;
	if (mem > m->mem_peak)
		m->mem_peak = mem;
	if (tasks > m->tasks_peak)
		m->tasks_peak = tasks;
	if (m->tasks_max && tasks > m->tasks_max)
		return "pids";
	if (m->mem_max && mem > m->mem_max)
		return "memory";
	if (m->cpu_max_ms && m->cpu_ms > m->cpu_max_ms)
		return "cpu";
	if (monitor_disk_low(m))
		return "disk";
	return NULL;
}
