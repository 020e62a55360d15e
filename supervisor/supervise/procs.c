/* SPDX-License-Identifier: MIT */
/* The command line of each sandboxed process, as airlock observed its execs; see procs.h. */
#include "supervisor/supervise/procs.h"

#include "common/buf.h"
#include "common/cleanup.h"
#include "supervisor/supervise/procmem.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#define NBUCKETS   256
#define STAT_CACHE 64 /* open /proc/TID/comm descriptors, as the old cmdline cache */
#define MAX_GENS   8  /* command lines kept per process, for children forked earlier */
#define MAX_DEPTH  64 /* parents looked up for a process seen for the first time */
#define MIN_PRUNE  1024
#define ARGV_KEPT  4096 /* bytes of a command line each event carries; the exec event has all */

/* One program a process ran, from the moment it was seen to take effect. */
struct gen {
	unsigned long long tick; /* clock ticks since boot, as /proc/PID/stat's start time */
	long last_pid;		 /* the newest pid of our namespace then */
	cJSON *argv;
	long long seq; /* the exec event's */
};

struct proc {
	pid_t pid;		  /* thread group id, ours */
	unsigned long long start; /* its start time: a reused pid is another process */
	struct gen gens[MAX_GENS];
	int ngens;
	cJSON *pending; /* an exec let through, not seen to take effect yet */
	long long pend_seq;
	pid_t pend_tid; /* the thread that called it */
	unsigned step;	/* a live session's step it belongs to, 0: none (procs_set_step) */
	dev_t pend_dev; /* the executable and the stack before it */
	ino_t pend_ino;
	unsigned long long pend_stack;
	bool pend_alone;	      /* the caller was the process's only thread */
	unsigned long long pend_tick; /* and when it called */
	long pend_last_pid;
	struct proc *next;
};

struct slot {
	pid_t tid;
	int fd;	    /* /proc/TID/comm: tied to the task, so a read fails once it is gone; the
		       cheapest such file to read (stat would format some fifty fields each call) */
	int dir;    /* /proc/TID, O_PATH: tied to the task as well (procs_readlink()) */
	__u64 seen; /* the call in which a read through dir showed the task alive, or 0 */
	pid_t tgid;
	unsigned long long start; /* of tgid */
};

struct pstat {
	pid_t ppid;
	long threads;
	unsigned long long start, stack;
};

struct procs {
	struct proc *buckets[NBUCKETS];
	struct slot slots[STAT_CACHE];
	__u64 call; /* the notification being handled (procs_call()), or 0 */
	/* The stat of call_st_pid read in call_st_call (of_thread()): an exec let through in it
	   takes its stack and threads from it instead of reading them again (procs_exec()). */
	__u64 call_st_call;
	pid_t call_st_pid, call_st_tid; /* the process, and the thread looked up */
	struct pstat call_st;
	int last_pid_fd;       /* /proc/sys/kernel/ns_last_pid, kept: each pread formats it anew */
	struct proc **pending; /* the processes with a pending exec */
	size_t npending, cpending;
	size_t n, prune_at;
};

/* Parse /proc/PID/stat text: fields after the command name, which may hold ')' or spaces. */
static int parse_stat(char *buf, struct pstat *st)
{
	char *p = strrchr(buf, ')'), *save = NULL, *tok;
	int field = 2;

	if (!p)
		return -EINVAL;
	memset(st, 0, sizeof(*st));
	for (tok = strtok_r(p + 1, " ", &save); tok; tok = strtok_r(NULL, " ", &save)) {
		field++;
		if (field == 4)
			st->ppid = (pid_t)strtol(tok, NULL, 10);
		else if (field == 20)
			st->threads = strtol(tok, NULL, 10);
		else if (field == 22)
			st->start = strtoull(tok, NULL, 10);
		else if (field == 28) {
			st->stack = strtoull(tok, NULL, 10);
			return 0;
		}
	}
	return -EINVAL;
}

static int read_stat(pid_t pid, struct pstat *st)
{
	char buf[1024];
	ssize_t n = proc_read(pid, "stat", buf, sizeof(buf));

	return n < 0 ? (int)n : parse_stat(buf, st);
}

/* The thread group and the parent of tid (/proc/TID/status). 0 or -errno. */
static int read_ids(pid_t tid, pid_t *tgid, pid_t *ppid)
{
	char buf[2048], *p;
	ssize_t n = proc_read(tid, "status", buf, sizeof(buf));

	if (n < 0)
		return (int)n;
	/* Fields the kernel writes; the name (first line) cannot hold a newline. */
	p = strstr(buf, "\nTgid:\t");
	if (!p)
		return -EINVAL;
	*tgid = (pid_t)strtol(p + 7, NULL, 10);
	p = strstr(buf, "\nPPid:\t");
	if (!p)
		return -EINVAL;
	*ppid = (pid_t)strtol(p + 7, NULL, 10);
	return *tgid > 0 ? 0 : -EINVAL;
}

/* Now, as a start time is counted, and the newest pid: what a later fork is newer than. */
static void now_mark(struct procs *p, unsigned long long *tick, long *last_pid)
{
	struct timespec ts;
	long hz = sysconf(_SC_CLK_TCK);
	char buf[32];
	ssize_t n;

	if (p->last_pid_fd < 0)
		p->last_pid_fd = open("/proc/sys/kernel/ns_last_pid", O_RDONLY | O_CLOEXEC);
	n = p->last_pid_fd >= 0 ? pread(p->last_pid_fd, buf, sizeof(buf) - 1, 0) : -1;

	clock_gettime(CLOCK_BOOTTIME, &ts);
	if (hz <= 0)
		hz = 100;
	*tick = ((unsigned long long)ts.tv_sec * 1000000000ULL + (unsigned long long)ts.tv_nsec) /
		(1000000000ULL / (unsigned long long)hz);
	buf[n > 0 ? n : 0] = '\0';
	/* Unknown: every fork in this tick counts as older (the earlier command line). */
	*last_pid = n > 0 ? strtol(buf, NULL, 10) : 0x7fffffff;
}

struct procs *procs_new(void)
{
	struct procs *p = xcalloc(1, sizeof(*p));

	for (size_t i = 0; i < STAT_CACHE; i++)
		p->slots[i].fd = p->slots[i].dir = -1;
	p->prune_at = MIN_PRUNE;
	p->last_pid_fd = -1;
	return p;
}

static void proc_free(struct procs *p, struct proc *e)
{
	for (size_t i = 0; i < p->npending; i++)
		if (p->pending[i] == e) {
			p->pending[i] = p->pending[--p->npending];
			break;
		}
	for (int i = 0; i < e->ngens; i++)
		cJSON_Delete(e->gens[i].argv);
	cJSON_Delete(e->pending);
	free(e);
	p->n--;
}

void procs_free(struct procs *p)
{
	if (!p)
		return;
	for (size_t b = 0; b < NBUCKETS; b++)
		while (p->buckets[b]) {
			struct proc *e = p->buckets[b];

			p->buckets[b] = e->next;
			proc_free(p, e);
		}
	for (size_t i = 0; i < STAT_CACHE; i++) {
		if (p->slots[i].fd >= 0)
			close(p->slots[i].fd);
		if (p->slots[i].dir >= 0)
			close(p->slots[i].dir);
	}
	if (p->last_pid_fd >= 0)
		close(p->last_pid_fd);
	free(p->pending);
	free(p);
}

static void drop_pending(struct procs *p, struct proc *e)
{
	for (size_t i = 0; i < p->npending; i++)
		if (p->pending[i] == e) {
			p->pending[i] = p->pending[--p->npending];
			break;
		}
	cJSON_Delete(e->pending);
	e->pending = NULL;
}

static void push_gen(struct proc *e, cJSON *argv, long long seq, unsigned long long tick,
		     long last_pid)
{
	if (e->ngens == MAX_GENS) {
		cJSON_Delete(e->gens[0].argv);
		memmove(&e->gens[0], &e->gens[1], (MAX_GENS - 1) * sizeof(e->gens[0]));
		e->ngens--;
	}
	e->gens[e->ngens++] =
		(struct gen){.tick = tick, .last_pid = last_pid, .argv = argv, .seq = seq};
}

/*
 * The identity of what pid runs: its executable and its stack. 0 or -errno. With p, its
 * stat may be the one read earlier in the call being handled (it cannot have exec'd since:
 * its exec is the call).
 */
static int image_of(struct procs *p, pid_t pid, dev_t *dev, ino_t *ino, unsigned long long *stack,
		    unsigned long long *start, long *threads)
{
	char path[64];
	struct stat sb;
	struct pstat st;
	int rc;

	snprintf(path, sizeof(path), "/proc/%d/exe", (int)pid);
	if (stat(path, &sb) < 0)
		return -errno;
	if (p && p->call && p->call_st_call == p->call && p->call_st_pid == pid) {
		st = p->call_st;
	} else {
		rc = read_stat(pid, &st);
		if (rc < 0)
			return rc;
	}
	*dev = sb.st_dev;
	*ino = sb.st_ino;
	*stack = st.stack;
	*start = st.start;
	if (threads)
		*threads = st.threads;
	return 0;
}

/*
 * Settle e's pending exec: taken effect (the executable or the stack changed: a new image,
 * and every other thread of the old one is gone by then), failed (the thread that called it
 * is calling again, caller is that thread), or still under way.
 */
static void settle(struct procs *p, struct proc *e, pid_t caller)
{
	dev_t dev;
	ino_t ino;
	unsigned long long stack, start;

	if (image_of(NULL, e->pid, &dev, &ino, &stack, &start, NULL) < 0 || start != e->start) {
		drop_pending(p, e); /* gone */
		return;
	}
	if (dev != e->pend_dev || ino != e->pend_ino || stack != e->pend_stack) {
		unsigned long long tick;
		long last_pid;

		/*
		 * Which children were forked before it: when the caller was the only thread, none
		 * could be forked by the old program after the call (the caller was stopped in
		 * it), so the moment of the call divides them exactly. Otherwise another thread
		 * could fork until the exec took effect: the moment it was seen divides them, and
		 * a child the new program forked before that counts as the old program's (the one
		 * that chose to run it), never the other way round.
		 */
		if (e->pend_alone) {
			tick = e->pend_tick;
			last_pid = e->pend_last_pid;
		} else {
			now_mark(p, &tick, &last_pid);
		}
		push_gen(e, e->pending, e->pend_seq, tick, last_pid);
		e->pending = NULL;
		drop_pending(p, e);
	} else if (caller == e->pend_tid) {
		drop_pending(p, e);
	}
}

static void settle_all(struct procs *p, pid_t caller)
{
	size_t i = p->npending;

	/* Backwards: settling removes the entry from the array by moving the last one in. */
	while (i-- > 0)
		if (i < p->npending)
			settle(p, p->pending[i], caller);
}

/* Drop the processes that are gone, once the table has grown. */
static void prune(struct procs *p)
{
	if (p->n < p->prune_at)
		return;
	for (size_t b = 0; b < NBUCKETS; b++) {
		struct proc **pp = &p->buckets[b];

		while (*pp) {
			struct proc *e = *pp;
			struct pstat st;

			if (read_stat(e->pid, &st) < 0 || st.start != e->start) {
				*pp = e->next;
				proc_free(p, e);
			} else {
				pp = &e->next;
			}
		}
	}
	p->prune_at = p->n * 2 > MIN_PRUNE ? p->n * 2 : MIN_PRUNE;
}

/* The program a child (pid, start) of e runs: e's at the moment it was forked. */
static const struct gen *gen_at(const struct proc *e, pid_t pid, unsigned long long start)
{
	for (int i = e->ngens - 1; i >= 0; i--) {
		const struct gen *g = &e->gens[i];

		if (start > g->tick || (start == g->tick && (long)pid > g->last_pid))
			return g;
	}
	return NULL; /* older than what is kept */
}

static struct proc *find(struct procs *p, pid_t pid, unsigned long long start)
{
	struct proc **pp = &p->buckets[(unsigned)pid % NBUCKETS];

	while (*pp) {
		struct proc *e = *pp;

		if (e->pid == pid) {
			if (e->start == start)
				return e;
			/* The pid was reused: that process is gone. */
			*pp = e->next;
			proc_free(p, e);
			continue;
		}
		pp = &e->next;
	}
	return NULL;
}

static struct proc *lookup(struct procs *p, pid_t init, pid_t pid, unsigned long long start,
			   pid_t ppid, int depth);

/* Whether the task of slot s (its fd open) is alive: a read in this call showed it already,
   or one through its descriptor does now. */
static bool slot_alive(const struct procs *p, const struct slot *s)
{
	char buf[64];

	return (p->call && s->seen == p->call) || pread(s->fd, buf, sizeof(buf), 0) > 0;
}

/* Slot s with its descriptors closed: no lookup relies on it. */
static void slot_clear(struct slot *s)
{
	if (s->fd >= 0)
		close(s->fd);
	if (s->dir >= 0)
		close(s->dir);
	s->fd = s->dir = -1;
	s->seen = 0;
}

/*
 * The process pid (a parent's: /proc names a parent by its thread group id, so pid is one),
 * found or made; NULL when it is gone. Its stat says its start and its own parent.
 */
static struct proc *lookup_pid(struct procs *p, pid_t init, pid_t pid, int depth)
{
	struct slot *s = &p->slots[(unsigned)pid % STAT_CACHE];
	struct pstat st;

	/* A parent that made a call of its own (a compiler driver, forking its passes) has a
	   slot: a read through it that works shows its task alive, so pid is still its. */
	if (s->fd >= 0 && s->tid == pid && s->tgid == pid && slot_alive(p, s)) {
		struct proc *e = find(p, pid, s->start);

		if (e)
			return e;
	}
	if (read_stat(pid, &st) < 0)
		return NULL;
	return lookup(p, init, pid, st.start, st.ppid, depth);
}

static struct proc *lookup(struct procs *p, pid_t init, pid_t pid, unsigned long long start,
			   pid_t ppid, int depth)
{
	struct proc *e, *parent = NULL;
	const struct gen *from = NULL;

	/* First: nothing below may free what a caller up the chain holds. */
	prune(p);
	e = find(p, pid, start);
	if (e)
		return e;
	/* Not seen before: it runs what its parent ran when it was forked. Nothing above the
	   sandbox's init is asked: its processes are not the program's. */
	if (pid != init && init > 0 && ppid > 0 && depth < MAX_DEPTH)
		parent = lookup_pid(p, init, ppid, depth + 1);
	if (parent) {
		if (parent->pending)
			settle(p, parent, 0);
		from = gen_at(parent, pid, start);
	}
	e = xcalloc(1, sizeof(*e));
	e->pid = pid;
	e->start = start;
	if (from)
		push_gen(e, cJSON_Duplicate(from->argv, true), from->seq, 0, 0);
	if (parent)
		e->step = parent->step;
	e->next = p->buckets[(unsigned)pid % NBUCKETS];
	p->buckets[(unsigned)pid % NBUCKETS] = e;
	p->n++;
	return e;
}

/*
 * The thread group and parent of thread tid, and the stat of its group, by number. A thread
 * a pidfd opens for without PIDFD_THREAD leads its group (tid is the group's id): its stat
 * says the rest, and /proc/TID/status, which formats far more, is read only for the others.
 */
static int ids_of(pid_t tid, pid_t *tgid, pid_t *ppid, struct pstat *st)
{
	int pfd = (int)syscall(SYS_pidfd_open, tid, 0);
	int rc;

	if (pfd >= 0) {
		close(pfd);
		*tgid = tid;
	} else {
		rc = read_ids(tid, tgid, ppid);
		if (rc < 0)
			return rc;
	}
	rc = read_stat(*tgid, st);
	if (rc == 0 && pfd >= 0)
		*ppid = st->ppid;
	return rc;
}

/* The process of thread tid; NULL when it is gone. */
static struct proc *of_thread(struct procs *p, pid_t init, pid_t tid)
{
	struct slot *s = &p->slots[(unsigned)tid % STAT_CACHE];
	char buf[64], path[64];
	pid_t tgid, ppid;
	struct pstat st;

	/* A descriptor that still reads is the same task: its thread group is known. A read
	   in this call already showed it (procs_readlink(), or an earlier lookup): the task
	   the call was made by, which a later reuse of its number must not replace. */
	if (s->fd >= 0 && s->tid == tid && slot_alive(p, s)) {
		struct proc *e = find(p, s->tgid, s->start);

		s->seen = p->call;
		if (e)
			return e;
	}
	slot_clear(s);
	/* The descriptors first, the IDs by number next, then a read that shows the task of
	   the descriptors still alive: the IDs were its own, not those of a task that took its
	   number meanwhile. */
	snprintf(path, sizeof(path), "/proc/%d", (int)tid);
	s->dir = open(path, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (s->dir >= 0)
		s->fd = openat(s->dir, "comm", O_RDONLY | O_CLOEXEC);
	s->tid = tid;
	if (ids_of(tid, &tgid, &ppid, &st) < 0 ||
	    (s->fd >= 0 && pread(s->fd, buf, sizeof(buf), 0) <= 0)) {
		slot_clear(s); /* no later lookup may rely on it */
		return NULL;
	}
	s->tgid = tgid;
	s->start = st.start;
	if (s->fd >= 0)
		s->seen = p->call;
	p->call_st_call = p->call;
	p->call_st_pid = tgid;
	p->call_st_tid = tid;
	p->call_st = st;
	return lookup(p, init, tgid, st.start, ppid, 0);
}

/*
 * A copy of argv of at most ARGV_KEPT bytes, cut at a character: every event of the process
 * carries it, and the exec event (exec_seq) has the whole.
 */
static cJSON *bounded_copy(const cJSON *argv)
{
	cJSON *v = cJSON_CreateArray();
	const cJSON *a;
	size_t total = 0;

	cJSON_ArrayForEach(a, argv)
	{
		const char *s = cJSON_IsString(a) ? a->valuestring : "";
		size_t len = strlen(s);

		if (total + len > ARGV_KEPT) {
			cleanup_free char *cut = xstrdup(s);

			len = ARGV_KEPT - total;
			while (len > 0 && ((unsigned char)cut[len] & 0xc0) == 0x80)
				len--;
			cut[len] = '\0';
			cJSON_AddItemToArray(v, cJSON_CreateString(cut));
			break;
		}
		total += len + 1;
		cJSON_AddItemToArray(v, cJSON_CreateString(s));
	}
	return v;
}

void procs_exec(struct procs *p, pid_t init, pid_t tid, const cJSON *argv, long long seq)
{
	struct proc *e;
	unsigned long long start;
	long threads = 0;

	/* An earlier exec that took effect counts first: this one is the new program's. */
	settle_all(p, 0);
	e = of_thread(p, init, tid);
	if (!e)
		return;
	if (e->pending)
		drop_pending(p, e);
	/* The stat read in this call serves only the thread it was read for: the caller, in
	   its exec (an exec answered later, after a question, reads it anew). */
	if (image_of(p->call_st_tid == tid ? p : NULL, e->pid, &e->pend_dev, &e->pend_ino,
		     &e->pend_stack, &start, &threads) < 0 ||
	    start != e->start)
		return;
	e->pend_alone = threads == 1;
	/* Otherwise settle() marks the moment it sees the exec take effect. */
	if (e->pend_alone)
		now_mark(p, &e->pend_tick, &e->pend_last_pid);
	e->pending = bounded_copy(argv);
	e->pend_seq = seq;
	e->pend_tid = tid;
	GROW(p->pending, p->cpending, p->npending + 1);
	p->pending[p->npending++] = e;
}

cJSON *procs_argv(struct procs *p, pid_t init, pid_t tid, long long *seq)
{
	struct proc *e;

	*seq = -1;
	settle_all(p, tid);
	e = of_thread(p, init, tid);
	if (!e || e->ngens == 0)
		return cJSON_CreateArray();
	*seq = e->gens[e->ngens - 1].seq;
	return cJSON_Duplicate(e->gens[e->ngens - 1].argv, true);
}

void procs_set_step(struct procs *p, pid_t init, pid_t tid, unsigned step)
{
	struct proc *e = of_thread(p, init, tid);

	if (e)
		e->step = step;
}

long long procs_seq(struct procs *p, pid_t init, pid_t tid, unsigned *step)
{
	struct proc *e;

	settle_all(p, tid);
	e = of_thread(p, init, tid);
	*step = e ? e->step : 0;
	return e && e->ngens > 0 ? e->gens[e->ngens - 1].seq : -1;
}

void procs_call(struct procs *p, __u64 id)
{
	p->call = id;
}

int procs_readlink(struct procs *p, pid_t tid, const char *name, char *out, size_t sz)
{
	struct slot *s = &p->slots[(unsigned)tid % STAT_CACHE];
	ssize_t n;

	if (s->dir < 0 || s->tid != tid || sz < 2)
		return -1;
	n = readlinkat(s->dir, name, out, sz - 1);
	if (n <= 0)
		return -1; /* gone, or another task with its number: the caller asks by number */
	out[n] = '\0';
	s->seen = p->call;
	return 0;
}
