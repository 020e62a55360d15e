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
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

/*
 * What a check keeps open for the next one: the sandbox's /proc listing (rewound, not opened
 * again), its sockstat files, and the stat and statm of each process. Opening and closing two
 * files per process every 10 ms cost the supervisor about 15 us per process and check (0.4 s
 * of CPU in 4 s with 50 processes asleep); a kept descriptor costs one pread. A descriptor of
 * /proc/PID is tied to the process it was opened for: once that process is gone a read fails
 * (ESRCH) even if its pid went to a new process, which is then opened anew. /proc lists pids
 * in ascending order; the kept table, sorted too, is merged with each listing.
 */
struct kept_proc {
	pid_t pid;
	int stat, statm; /* -1: not open (not needed, or the process is gone) */
};

struct monitor_keep {
	DIR *dir;
	int sockstat, sockstat6;
	struct kept_proc *procs, *next; /* a check builds its table in next, then swaps */
	size_t n, max;			/* max: processes whose descriptors are kept */
};

static void close_kept(struct kept_proc *p)
{
	if (p->stat >= 0)
		close(p->stat);
	if (p->statm >= 0)
		close(p->statm);
	p->stat = p->statm = -1;
}

/*
 * At most an eighth of the descriptor table, and 512 processes: the notifier keeps descriptors
 * of its own per task, and running out of them would deny the program's calls. Processes past
 * the bound are read as before, opened and closed at each check.
 */
static size_t kept_max(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) < 0 || rl.rlim_cur == RLIM_INFINITY)
		return 512;
	return rl.rlim_cur / 16 < 512 ? rl.rlim_cur / 16 : 512;
}

static int keep_open(struct monitor *m)
{
	struct monitor_keep *k = calloc(1, sizeof(*k));
	int fd;

	if (!k)
		return -ENOMEM;
	m->keep = k;
	k->sockstat = k->sockstat6 = -1;
	k->max = kept_max();
	k->procs = calloc(k->max + 1, sizeof(*k->procs));
	k->next = calloc(k->max + 1, sizeof(*k->next));
	fd = fcntl(m->procfd, F_DUPFD_CLOEXEC, 0);
	if (fd >= 0 && !(k->dir = fdopendir(fd)))
		close(fd);
	return k->procs && k->next && k->dir ? 0 : -ENOMEM;
}

static void keep_close(struct monitor_keep *k)
{
	size_t i;

	if (!k)
		return;
	for (i = 0; i < k->n; i++)
		close_kept(&k->procs[i]);
	if (k->sockstat >= 0)
		close(k->sockstat);
	if (k->sockstat6 >= 0)
		close(k->sockstat6);
	if (k->dir)
		closedir(k->dir);
	free(k->procs);
	free(k->next);
	free(k);
}

int monitor_open(struct monitor *m, pid_t pid)
{
	/* Resolved inside the sandbox's root: nothing it planted can point elsewhere. */
	int fd = openat2_in_view(pid, "proc", O_RDONLY | O_DIRECTORY);
	int rc;

	m->procfd = fd < 0 ? -1 : fd;
	if (fd < 0)
		return fd;
	rc = keep_open(m);
	if (rc < 0) {
		keep_close(m->keep);
		m->keep = NULL;
		close(m->procfd);
		m->procfd = -1;
	}
	return rc;
}

void monitor_close(struct monitor *m)
{
	keep_close(m->keep);
	m->keep = NULL;
	if (m->procfd >= 0)
		close(m->procfd);
	if (m->storefd >= 0)
		close(m->storefd);
	if (m->diagfd >= 0)
		close(m->diagfd);
	if (m->resolverfd >= 0)
		close(m->resolverfd);
	m->procfd = -1;
	m->storefd = -1;
	m->diagfd = -1;
	m->resolverfd = -1;
}

/* The bytes free to an unprivileged writer on the store's filesystem. 0 or -1. */
static int disk_avail(const struct monitor *m, unsigned long long *avail)
{
	struct statvfs sv;

	if (m->storefd < 0 || fstatvfs(m->storefd, &sv) < 0)
		return -1;
	*avail = (unsigned long long)sv.f_bavail * sv.f_frsize;
	return 0;
}

/*
 * Every check: the store's filesystem keeps disk_reserve bytes free. One fstatvfs() costs
 * about a microsecond; sampling every tenth check let a fast writer put 200 MiB on the disk
 * between two samples. A single file cannot pass the reserve at all (RLIMIT_FSIZE is set to
 * what was free above it, see run.c); this catches many files growing together. Also the
 * room above the reserve, for the pace (0 when unknown).
 */
static bool disk_room_now(const struct monitor *m, unsigned long long *room)
{
	unsigned long long avail;

	*room = 0;
	if (!m->disk_reserve || disk_avail(m, &avail) < 0)
		return false;
	*room = avail > m->disk_reserve ? avail - m->disk_reserve : 0;
	return avail < m->disk_reserve;
}

bool monitor_disk_low(struct monitor *m)
{
	unsigned long long room;

	return disk_room_now(m, &room);
}

int monitor_disk_room(const struct monitor *m, unsigned long long *room)
{
	unsigned long long avail;

	*room = ULLONG_MAX;
	if (!m->disk_reserve)
		return 0;
	if (disk_avail(m, &avail) < 0)
		return -EIO;
	*room = avail > m->disk_reserve ? avail - m->disk_reserve : 0;
	return 0;
}

/*
 * Kernel memory held by the sandbox's sockets. Data queued in a socket belongs to no process,
 * so resident memory does not show it: eight processes filling socketpairs held about
 * 900 MiB under --memory 200M. The sandbox made a NETLINK_SOCK_DIAG socket in its network
 * namespace, so a dump lists exactly the sandbox's sockets, with their memory (the
 * SK_MEMINFO_* counters ss -m shows). A Unix socket's queued data is charged to the sender's
 * write allocation, TCP's to the receiver's read allocation and the sender's write queue.
 */
#define DIAG_BUF 32768

/* The bytes one socket holds, from its n SK_MEMINFO_* counters. */
static unsigned long long meminfo_bytes(const __u32 *v, size_t n)
{
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
					*sum += meminfo_bytes(RTA_DATA(rta),
							      RTA_PAYLOAD(rta) / sizeof(__u32));
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

/*
 * Read a small /proc file into buf through *fd, opening it (path below dirfd) when *fd is -1
 * or names a process that is gone. Length, or -1 with *fd closed.
 */
static ssize_t read_kept(int *fd, int dirfd, const char *path, char *buf, size_t size)
{
	ssize_t n = *fd >= 0 ? pread(*fd, buf, size - 1, 0) : -1;

	if (n < 0 && *fd >= 0) {
		close(*fd);
		*fd = -1;
	}
	if (n < 0) {
		*fd = openat(dirfd, path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
		if (*fd < 0)
			return -1;
		n = pread(*fd, buf, size - 1, 0);
		if (n < 0) {
			close(*fd);
			*fd = -1;
			return -1;
		}
	}
	buf[n] = '\0';
	return n;
}

/* "TCP: inuse N" and the like from the sandbox's own /proc/1/net/sockstat{,6}: per namespace. */
static unsigned long inuse(const char *buf, const char *proto)
{
	char key[32];
	const char *line;
	size_t klen;

	if (!*buf)
		return 1; /* unknown: count as in use, so the dump is made */
	klen = (size_t)snprintf(key, sizeof(key), "%s: inuse ", proto);
	for (line = buf; line; line = strchr(line, '\n'), line = line ? line + 1 : NULL)
		if (strncmp(line, key, klen) == 0)
			return strtoul(line + klen, NULL, 10);
	return 1;
}

/*
 * The namespace always holds one UDP socket: the resolver's, which the sandbox bound and handed to
 * the supervisor (run.c keeps a duplicate for the monitor, so it stays counted in sockstat's
 * "inuse" as long as the monitor runs). A UDP dump walks the whole host's UDP hash, about
 * half of what an idle check cost; while that socket is the only one, SO_MEMINFO on it
 * gives the same counters. Unknown (an older kernel): as many bytes as it may hold.
 */
static unsigned long long own_socket_memory(int fd)
{
	__u32 v[SK_MEMINFO_VARS];
	socklen_t len = sizeof(v);
	int rcvbuf = 0;

	if (getsockopt(fd, SOL_SOCKET, SO_MEMINFO, v, &len) == 0)
		return meminfo_bytes(v, len / sizeof(__u32));
	len = sizeof(rcvbuf);
	if (getsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, &len) < 0 || rcvbuf < 0)
		return 0;
	return (unsigned long long)rcvbuf;
}

/*
 * Whether the namespace holds no socket but the supervisor's own: sockstat's "sockets: used"
 * counts every socket a process made in this network namespace (of any family, Unix too;
 * per namespace since Linux 4.16), and the supervisor holds two there, the sock_diag socket
 * and the resolver's. Unknown (no such line): false, and the dumps are made.
 */
static bool only_own_sockets(const struct monitor *m, const char *v4)
{
	static const char key[] = "sockets: used "; /* sockstat's first line */
	unsigned long own = (m->diagfd >= 0) + (m->resolverfd >= 0), used;
	char *end;

	if (strncmp(v4, key, sizeof(key) - 1) != 0)
		return false;
	used = strtoul(v4 + sizeof(key) - 1, &end, 10);
	return end != v4 + sizeof(key) - 1 && *end == '\n' && used <= own;
}

/*
 * Kernel memory of every socket in the sandbox's network namespace; 0 when unknown. Cost
 * decides the order: sockstat is read first, and while it counts no socket but the
 * supervisor's own (a build makes none), nothing is dumped: the Unix dump walks the
 * namespace's whole hash under a lock per bucket, the most costly step of a check. Else Unix
 * sockets are dumped every check. A TCP dump walks the whole host's connection hash
 * (4.5 ms measured here), and a check every 10 ms spent on it stalled every notification: it
 * is made only while the namespace has TCP sockets (sockstat's per-namespace counts), and
 * then every 20th check; UDP likewise, every check. Each sockstat file is read once per
 * check, for both protocols.
 */
static unsigned long long socket_memory(struct monitor *m)
{
	struct monitor_keep *k = m->keep;
	char v4[1024] = "", v6[1024] = "";
	unsigned long long sum = 0;
	unsigned long udp;

	if (m->diagfd < 0)
		return 0;
	if (read_kept(&k->sockstat, m->procfd, "1/net/sockstat", v4, sizeof(v4)) <= 0)
		v4[0] = '\0';
	m->sockets = !only_own_sockets(m, v4);
	if (!m->sockets) {
		m->checks = 0; /* the first check that finds a socket dumps TCP as well */
		m->tcp_mem = 0;
		return m->resolverfd >= 0 ? own_socket_memory(m->resolverfd) : 0;
	}
	dump_unix(m->diagfd, &sum);
	if (read_kept(&k->sockstat6, m->procfd, "1/net/sockstat6", v6, sizeof(v6)) <= 0)
		v6[0] = '\0';
	udp = inuse(v4, "UDP");
	if (udp == 1 && m->resolverfd >= 0)
		sum += own_socket_memory(m->resolverfd);
	else if (udp)
		dump_inet(m->diagfd, AF_INET, IPPROTO_UDP, &sum);
	if (inuse(v6, "UDP6"))
		dump_inet(m->diagfd, AF_INET6, IPPROTO_UDP, &sum);
	if (m->checks++ % 20 == 0) {
		m->tcp_mem = 0;
		if (inuse(v4, "TCP"))
			dump_inet(m->diagfd, AF_INET, IPPROTO_TCP, &m->tcp_mem);
		if (inuse(v6, "TCP6"))
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

/* From /proc/PID/statm, "size resident shared ...": the resident pages. sscanf() showed in a
   profile of the check, at 50 processes a check; two strtoull() do. */
static int parse_statm(const char *buf, unsigned long long *rss)
{
	char *end;

	strtoull(buf, &end, 10);
	if (end == buf || *end != ' ')
		return -1;
	buf = end;
	*rss = strtoull(buf, &end, 10);
	return end == buf ? -1 : 0;
}

/* What one check adds up. */
struct sample {
	unsigned long long mem, ticks, tasks;
};

/*
 * Add one process to the sample, reading only what a limit needs: stat for CPU time and
 * threads, statm for resident memory. Recent kernels sum the per-CPU memory counters for
 * statm; stat's rss (field 24) is their cached total, which can lag by a batch of pages per
 * CPU and counter for each process, so it is not used for the limit.
 */
static void sample_proc(const struct monitor *m, struct kept_proc *p, struct sample *s)
{
	static long page;
	char path[32], buf[1024];
	unsigned long long t = 0, th = 0, rss = 0;

	if (!page)
		page = sysconf(_SC_PAGESIZE);
	if (m->cpu_max_ms || m->tasks_max) {
		snprintf(path, sizeof(path), "%d/stat", (int)p->pid);
		if (read_kept(&p->stat, m->procfd, path, buf, sizeof(buf)) > 0 &&
		    parse_stat(buf, &t, &th) == 0) {
			s->ticks += t;
			s->tasks += th;
		}
	}
	if (m->mem_max) {
		snprintf(path, sizeof(path), "%d/statm", (int)p->pid);
		if (read_kept(&p->statm, m->procfd, path, buf, sizeof(buf)) > 0 &&
		    parse_statm(buf, &rss) == 0)
			s->mem += rss * (unsigned long long)page;
	}
}

/*
 * Every process the sandbox's /proc lists, in the kept table's order: a pid below the next
 * kept one is new, a kept one below the listed pid is gone. A pid out of order, or past the
 * table's bound, is read through descriptors closed right after.
 */
static void sample_procs(struct monitor *m, struct sample *s)
{
	struct monitor_keep *k = m->keep;
	struct kept_proc *swap;
	struct dirent *de;
	size_t old = 0, n = 0;
	pid_t last = 0;

	rewinddir(k->dir);
	while ((de = readdir(k->dir))) {
		struct kept_proc p = {.stat = -1, .statm = -1};
		char *end;
		unsigned long v;

		if (!isdigit((unsigned char)de->d_name[0]))
			continue;
		v = strtoul(de->d_name, &end, 10);
		if (*end || v == 0 || v > INT_MAX)
			continue;
		p.pid = (pid_t)v;
		while (old < k->n && k->procs[old].pid < p.pid)
			close_kept(&k->procs[old++]);
		if (old < k->n && k->procs[old].pid == p.pid)
			p = k->procs[old++];
		sample_proc(m, &p, s);
		if (p.pid > last && n < k->max) {
			k->next[n++] = p;
			last = p.pid;
		} else {
			close_kept(&p);
		}
	}
	while (old < k->n)
		close_kept(&k->procs[old++]);
	swap = k->procs;
	k->procs = k->next;
	k->next = swap;
	k->n = n;
}

/*
 * The fastest growth assumed, per CPU and millisecond: about four times what was measured on
 * a 2-core machine (a thread that only starts threads made 28 a millisecond; memset() of
 * fresh pages faulted in 2 GiB a second, and writing a file's pages costs as much).
 */
#define TASKS_PER_MS 100
#define BYTES_PER_MS (8ULL << 20)

long monitor_delay_ms(double ms_left)
{
	if (!(ms_left > 0)) /* reached, or not a number */
		return MONITOR_MS;
	if (ms_left >= MONITOR_MAX_MS - MONITOR_MS)
		return MONITOR_MAX_MS;
	return MONITOR_MS + (long)ms_left;
}

/*
 * Milliseconds before room is used up at per_ms, or at twice the growth seen since the last
 * check (grown, dt_ms ago) when that is faster.
 */
static double room_ms(unsigned long long room, unsigned long long grown, double dt_ms,
		      double per_ms)
{
	if (dt_ms > 0 && 2.0 * (double)grown / dt_ms > per_ms)
		per_ms = 2.0 * (double)grown / dt_ms;
	return (double)room / per_ms;
}

/* Milliseconds before used, was dt_ms ago, can pass limit (0: no limit): room_ms(). */
static double ms_left(unsigned long long limit, unsigned long long used, unsigned long long was,
		      double dt_ms, double per_ms)
{
	if (!limit)
		return 1e9;
	if (used >= limit)
		return 0;
	return room_ms(limit - used, used > was ? used - was : 0, dt_ms, per_ms);
}

/* The next check's delay, from this one's figures (monitor.h), which become the last. */
static void pace(struct monitor *m, unsigned long long disk_room)
{
	static long ncpu;
	struct timespec ts;
	long long now;
	double dt = 0, left, l;

	if (!ncpu)
		ncpu = sysconf(_SC_NPROCESSORS_CONF) > 0 ? sysconf(_SC_NPROCESSORS_CONF) : 64;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	now = (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
	if (m->last_ns)
		dt = (double)(now - m->last_ns) / 1e6;
	/* CPU time grows by at most one millisecond per CPU and millisecond: no guess. */
	left = ms_left(m->cpu_max_ms, m->cpu_ms, m->last_cpu_ms, dt, (double)ncpu);
	l = ms_left(m->mem_max, m->mem, m->last_mem, dt, (double)(BYTES_PER_MS * ncpu));
	left = l < left ? l : left;
	l = ms_left(m->tasks_max, m->tasks, m->last_tasks, dt, (double)(TASKS_PER_MS * ncpu));
	left = l < left ? l : left;
	/* The disk's room above the reserve, used up as fast as memory is. */
	if (m->disk_reserve) {
		l = room_ms(disk_room,
			    m->last_disk_room > disk_room ? m->last_disk_room - disk_room : 0, dt,
			    (double)(BYTES_PER_MS * ncpu));
		left = l < left ? l : left;
	}
	/* Sockets of the sandbox's own: their dumps and the TCP one's cadence as before. */
	if (m->sockets)
		left = 0;
	m->next_ms = monitor_delay_ms(left);
	m->last_ns = now;
	m->last_mem = m->mem;
	m->last_cpu_ms = m->cpu_ms;
	m->last_tasks = m->tasks;
	m->last_disk_room = disk_room;
}

const char *monitor_check(struct monitor *m)
{
	static long hz;
	struct sample s = {0};
	unsigned long long room;
	bool disk_low;

	if (m->procfd < 0 || !m->keep)
		return NULL;
	if (!hz)
		hz = sysconf(_SC_CLK_TCK);
	if (m->mem_max || m->cpu_max_ms || m->tasks_max)
		sample_procs(m, &s);
	/* Queued socket data counts only against the memory limit. */
	m->sock_mem = m->mem_max ? socket_memory(m) : 0;
	s.mem += m->sock_mem;
	m->mem = s.mem;
	m->cpu_ms = hz > 0 ? s.ticks * 1000ULL / (unsigned long long)hz : 0;
	m->tasks = s.tasks;
	if (s.mem > m->mem_peak)
		m->mem_peak = s.mem;
	if (s.tasks > m->tasks_peak)
		m->tasks_peak = s.tasks;
	disk_low = disk_room_now(m, &room);
	pace(m, room);
	if (m->tasks_max && s.tasks > m->tasks_max)
		return "pids";
	if (m->mem_max && s.mem > m->mem_max)
		return "memory";
	if (m->cpu_max_ms && m->cpu_ms > m->cpu_max_ms)
		return "cpu";
	if (disk_low)
		return "disk";
	return NULL;
}
