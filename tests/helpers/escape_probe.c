/* SPDX-License-Identifier: MIT */
/* escape_probe: makes one sandbox escape attempt and reports whether the sandbox stopped it. */

/*
 * Usage: escape_probe NAME [PATH]   run one probe
 *        escape_probe all [MARKER]  run every probe, each in its own child, and summarise
 *        escape_probe list          print "NAME<TAB>what it tries", one probe a line
 *
 * Each probe prints one line and exits with its verdict:
 *   PROBE NAME: blocked (errno=EPERM) [attempt: errno; ...]     exit 0
 *   PROBE NAME: ESCAPED - attempt succeeded; ...                exit 1
 *   PROBE NAME: ERROR what failed                               exit 2 (usage or setup error)
 * The errno in parentheses is that of the first attempt; tests compare it (TIOCSTI must get the
 * filter's EPERM, not the EIO that dev.tty.legacy_tiocsti=0 gives).
 *
 * A probe makes one or more attempts of two kinds:
 *   real: the attack itself, with arguments that work on an unconfined host (a control run
 *         outside the sandbox shows the probe can see success). Any failure counts as blocked.
 *   poke: for calls that must not really succeed on a host (kexec, swapon, settime, reboot ...),
 *         arguments the kernel rejects, chosen so that the rejection happens in the syscall
 *         itself, mostly before any capability check. The filter answers EPERM/EACCES/ENOSYS;
 *         any other errno (EFAULT, EINVAL, EBADF ...) means the call went past the filter and
 *         reached the kernel: the deny rule is missing, which counts as an escape. This is
 *         bubblewrap's way of testing a filter without side effects.
 * A probe killed by SIGSYS counts as blocked (a filter may kill instead of failing the call).
 * Probes change only process-local state, in a child that exits; the one host effect is the
 * marker file that unshare_mount_write tries to create when given a path.
 *
 * x86_64 only. Raw syscall(2) throughout, so that glibc wrappers cannot mask what the kernel
 * or the filter answered; constants newer than old libc headers are defined here.
 */

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/personality.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/perf_event.h>
#include <linux/seccomp.h>

#if !defined(__x86_64__)
#error "escape_probe is x86_64 only"
#endif

#ifndef __NR_io_uring_setup
#define __NR_io_uring_setup 425
#endif
#ifndef __NR_open_tree
#define __NR_open_tree 428
#endif
#ifndef __NR_fsopen
#define __NR_fsopen 430
#endif
#ifndef __NR_fsconfig
#define __NR_fsconfig 431
#endif
#ifndef __NR_pidfd_open
#define __NR_pidfd_open 434
#endif
#ifndef __NR_clone3
#define __NR_clone3 435
#endif
#ifndef __NR_openat2
#define __NR_openat2 437
#endif
#ifndef __NR_pidfd_getfd
#define __NR_pidfd_getfd 438
#endif
#ifndef __NR_mount_setattr
#define __NR_mount_setattr 442
#endif
#ifndef __NR_quotactl_fd
#define __NR_quotactl_fd 443
#endif

/* A trailing _ marks names that some libc or kernel header may also define. */
#define X32_SYSCALL_BIT	     0x40000000UL
#define X32_NR_GETPID	     39 /* x32 shares the "common" x86_64 numbers */
#define X32_NR_UNSHARE	     272
#define I386_NR_GETPID	     20
#define I386_NR_UNSHARE	     310
#define HIGH_BIT	     (1UL << 32)
#define KCMP_VM_	     1
#define KEYCTL_GET_ID	     0
#define KEY_SPEC_PROCESS     (-2)
#define UFFD_USER_MODE_ONLY_ 1
#define SYSLOG_READ_ALL	     3
#define MPOL_DEFAULT_	     0
#define FILEID_INO32_GEN_    1
#define FSOPEN_CLOEXEC_	     1
#define OPEN_TREE_CLONE_     1
#define OPEN_TREE_CLOEXEC_   O_CLOEXEC
#define Q_GETINFO_	     0x800005
#define TIOCLINUX_	     0x541C
#define BAD_PTR		     ((void *)1)
#define NOWHERE		     "/nonexistent-airlock-escape-probe"

#ifndef SECCOMP_FILTER_FLAG_NEW_LISTENER
#define SECCOMP_FILTER_FLAG_NEW_LISTENER (1UL << 3)
#endif
#ifndef SECCOMP_RET_USER_NOTIF
#define SECCOMP_RET_USER_NOTIF 0x7fc00000U
#endif

/* struct clone_args up to tls: CLONE_ARGS_SIZE_VER0. */
struct probe_clone_args {
	uint64_t flags, pidfd, child_tid, parent_tid, exit_signal, stack, stack_size, tls;
};

/* struct open_how (openat2). */
struct probe_open_how {
	uint64_t flags, mode, resolve;
};

/* A probe that hangs (a notification nobody answers) is reported, not waited for forever. */
#define PROBE_TIMEOUT 20

/* ---- errno and signal names -------------------------------------------------------------- */

static const char *errname(int e)
{
	/* clang-format off */
#define E(x) {x, #x}
	/* clang-format on */
	static const struct {
		int e;
		const char *name;
	} names[] = {E(EPERM),
		     E(ENOENT),
		     E(ESRCH),
		     E(EINTR),
		     E(EIO),
		     E(ENXIO),
		     E(E2BIG),
		     E(ENOEXEC),
		     E(EBADF),
		     E(ECHILD),
		     E(EAGAIN),
		     E(ENOMEM),
		     E(EACCES),
		     E(EFAULT),
		     E(EBUSY),
		     E(EEXIST),
		     E(EXDEV),
		     E(ENODEV),
		     E(ENOTDIR),
		     E(EISDIR),
		     E(EINVAL),
		     E(EMFILE),
		     E(ENOTTY),
		     E(ENOSPC),
		     E(EROFS),
		     E(ERANGE),
		     E(ENAMETOOLONG),
		     E(ENOSYS),
		     E(ELOOP),
		     E(EOVERFLOW),
		     E(EOPNOTSUPP),
		     E(EPROTONOSUPPORT),
		     E(ESOCKTNOSUPPORT),
		     E(EAFNOSUPPORT),
		     E(EPROTOTYPE),
		     E(ESTALE),
		     E(ENOKEY),
		     E(EDQUOT),
		     E(EUSERS),
		     E(ENOTBLK),
		     E(EPROTO)};
#undef E
	static char buf[24];
	size_t i;

	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (names[i].e == e)
			return names[i].name;
	snprintf(buf, sizeof(buf), "errno %d", e);
	return buf;
}

static const char *signame(int sig)
{
	static char buf[24];

	switch (sig) {
	case SIGSYS:
		return "SIGSYS";
	case SIGSEGV:
		return "SIGSEGV";
	case SIGILL:
		return "SIGILL";
	case SIGBUS:
		return "SIGBUS";
	case SIGKILL:
		return "SIGKILL";
	case SIGALRM:
		return "SIGALRM";
	case SIGABRT:
		return "SIGABRT";
	case SIGTRAP:
		return "SIGTRAP";
	}
	snprintf(buf, sizeof(buf), "signal %d", sig);
	return buf;
}

/* ---- verdicts ---------------------------------------------------------------------------- */

static const char *probe_name = "?";
static const char *opt_path; /* argv[2]: the marker, or the file to take a handle of */

/*
 * The write end of a pipe to the parent: each escape is sent the moment it happens, so that a
 * later attempt which gets the probe killed (SIGSYS) cannot hide an earlier success.
 */
static int escape_fd = -1;

enum kind {
	REAL, /* success is an escape; any failure is blocked */
	POKE, /* success or an errno the filter never gives is an escape */
	STEP, /* a means to an end: success is only noted; failure is blocked */
};

struct tally {
	int attempts;
	int escapes;
	char first[40];	 /* "errno=EPERM" or "signal=SIGSYS" of the first blocked attempt */
	char esc[1024];	 /* what got through */
	char blk[1536];	 /* what was stopped, and notes */
	char error[256]; /* the first setup failure */
};

__attribute__((format(printf, 3, 4))) static void appendf(char *buf, size_t size, const char *fmt,
							  ...)
{
	size_t len = strlen(buf);
	va_list ap;

	if (len + 1 >= size)
		return;
	va_start(ap, fmt);
	vsnprintf(buf + len, size - len, fmt, ap);
	va_end(ap);
}

#define APPEND(buf, ...) appendf((buf), sizeof(buf), __VA_ARGS__)

__attribute__((format(printf, 1, 2))) static void say(const char *fmt, ...)
{
	va_list ap;

	printf("PROBE %s: ", probe_name);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
	fflush(stdout);
}

static bool filter_errno(int e)
{
	return e == EPERM || e == EACCES || e == ENOSYS;
}

static void add_escape(struct tally *t, const char *line)
{
	t->escapes++;
	APPEND(t->esc, "%s%s", t->esc[0] ? "; " : "", line);
	if (escape_fd >= 0) {
		char msg[300];
		int n = snprintf(msg, sizeof(msg), "%s; ", line);

		if (n > 0 && write(escape_fd, msg,
				   (size_t)n < sizeof(msg) ? (size_t)n : sizeof(msg) - 1) < 0)
			escape_fd = -1;
	}
}

static void add_blocked(struct tally *t, const char *what, const char *why)
{
	if (!t->first[0])
		snprintf(t->first, sizeof(t->first), "%s", why);
	APPEND(t->blk, "%s%s: %s", t->blk[0] ? "; " : "", what, why);
}

/* A remark for the detail list that is neither an escape nor a block. */
__attribute__((format(printf, 2, 3))) static void note_info(struct tally *t, const char *fmt, ...)
{
	char line[300];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	APPEND(t->blk, "%s%s", t->blk[0] ? "; " : "", line);
}

__attribute__((format(printf, 2, 3))) static void setup_fail(struct tally *t, const char *fmt, ...)
{
	va_list ap;

	if (t->error[0])
		return;
	va_start(ap, fmt);
	vsnprintf(t->error, sizeof(t->error), fmt, ap);
	va_end(ap);
}

static void note(struct tally *t, enum kind kind, const char *what, long rc, int err)
{
	char line[300];
	char why[40];

	t->attempts++;
	if (rc >= 0) {
		if (kind == STEP) {
			note_info(t, "%s: ok", what);
			return;
		}
		snprintf(line, sizeof(line), "%s succeeded (%ld)", what, rc);
		add_escape(t, line);
	} else if (kind == POKE && !filter_errno(err)) {
		snprintf(line, sizeof(line), "%s not filtered (the kernel answered %s)", what,
			 errname(err));
		add_escape(t, line);
	} else {
		snprintf(why, sizeof(why), "errno=%s", errname(err));
		add_blocked(t, what, why);
	}
}

/*
 * Record the attempt whose result is RC, reading errno as the call left it: RC is an argument,
 * so the call has returned before this body runs. Returns RC.
 */
static long attempt(struct tally *t, enum kind kind, const char *what, long rc)
{
	int err = errno;

	note(t, kind, what, rc, err);
	errno = err;
	return rc;
}

static void close_if(long fd)
{
	if (fd >= 0)
		close((int)fd);
}

/* Print the probe's line; returns the exit status: 0 blocked, 1 escaped, 2 setup error. */
static int finish(const struct tally *t)
{
	if (t->escapes) {
		say("ESCAPED - %s%s%s", t->esc, t->blk[0] ? "; otherwise: " : "", t->blk);
		return 1;
	}
	if (t->error[0]) {
		say("ERROR %s%s%s", t->error, t->blk[0] ? "; " : "", t->blk);
		return 2;
	}
	if (!t->first[0]) {
		say("ERROR nothing was attempted%s%s", t->blk[0] ? ": " : "", t->blk);
		return 2;
	}
	if (t->attempts > 1 || strchr(t->blk, ';'))
		say("blocked (%s) [%s]", t->first, t->blk);
	else
		say("blocked (%s)", t->first);
	return 0;
}

/* ---- running attempts in children -------------------------------------------------------- */

struct child_result {
	long rc;
	int err;
	int sig;      /* set by the parent when the child was killed */
	int setup;    /* the child could not get to the attempt */
	char msg[96]; /* what failed, when setup is set */
};

typedef void (*child_fn)(void *arg, struct child_result *r);

static void child_setup_fail(struct child_result *r, const char *what)
{
	r->setup = 1;
	r->err = errno;
	snprintf(r->msg, sizeof(r->msg), "%s: %s", what, errname(errno));
}

/*
 * Run FN in a forked child, for attempts that can kill the caller (other ABIs) or that must start
 * from a fresh session. Fills *R from the child, or notes the killing signal.
 * Returns 0, or -1 with errno set when the child could not be run.
 */
static int in_child(child_fn fn, void *arg, struct child_result *r)
{
	struct child_result got;
	int p[2], st;
	ssize_t n;
	pid_t pid;

	memset(r, 0, sizeof(*r));
	if (pipe2(p, O_CLOEXEC) < 0)
		return -1;
	fflush(stdout);
	pid = fork();
	if (pid < 0) {
		close(p[0]);
		close(p[1]);
		return -1;
	}
	if (pid == 0) {
		close(p[0]);
		memset(&got, 0, sizeof(got));
		errno = 0;
		fn(arg, &got);
		if (write(p[1], &got, sizeof(got)) != (ssize_t)sizeof(got))
			_exit(3);
		_exit(0);
	}
	close(p[1]);
	do
		n = read(p[0], &got, sizeof(got));
	while (n < 0 && errno == EINTR);
	close(p[0]);
	while (waitpid(pid, &st, 0) < 0)
		if (errno != EINTR)
			return -1;
	if (n == (ssize_t)sizeof(got)) {
		*r = got;
		return 0;
	}
	if (WIFSIGNALED(st)) {
		r->rc = -1;
		r->sig = WTERMSIG(st);
		return 0;
	}
	errno = EPROTO;
	return -1;
}

/* Record an attempt run by in_child(); a kill by SIGSYS (or by OK_SIG, when not 0) is a block. */
static void note_child(struct tally *t, enum kind kind, const char *what,
		       const struct child_result *r, int ok_sig)
{
	char why[40];

	if (r->setup) {
		setup_fail(t, "%s: %s", what, r->msg);
		return;
	}
	if (r->sig) {
		if (r->sig == SIGSYS || r->sig == ok_sig) {
			t->attempts++;
			snprintf(why, sizeof(why), "signal=%s", signame(r->sig));
			add_blocked(t, what, why);
		} else {
			setup_fail(t, "%s: child killed by %s", what, signame(r->sig));
		}
		return;
	}
	note(t, kind, what, r->rc, r->err);
}

/* A child blocked reading a pipe until the parent closes it: a target for ptrace and company. */
struct sleeper {
	pid_t pid;
	int fd;	      /* our end; closing it ends the child */
	int child_fd; /* the pipe end open in the child, same number there */
};

static int sleeper_start(struct sleeper *s)
{
	int p[2];

	if (pipe2(p, O_CLOEXEC) < 0)
		return -1;
	fflush(stdout);
	s->pid = fork();
	if (s->pid < 0) {
		close(p[0]);
		close(p[1]);
		return -1;
	}
	if (s->pid == 0) {
		char c;

		close(p[1]);
		while (read(p[0], &c, 1) < 0 && errno == EINTR)
			;
		_exit(0);
	}
	close(p[0]);
	s->fd = p[1];
	s->child_fd = p[0];
	return 0;
}

static void sleeper_stop(struct sleeper *s)
{
	close(s->fd);
	kill(s->pid, SIGKILL);
	while (waitpid(s->pid, NULL, 0) < 0 && errno == EINTR)
		;
}

/* ---- small helpers ----------------------------------------------------------------------- */

static int write_file(const char *path, const char *text)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return -1;
	n = write(fd, text, strlen(text));
	close(fd);
	return n == (ssize_t)strlen(text) ? 0 : -1;
}

/* Whether CAP (a capability number) is in our effective set, from /proc/self/status. */
static bool have_cap(int cap)
{
	char line[256];
	unsigned long long eff = 0;
	FILE *f = fopen("/proc/self/status", "re");

	if (!f)
		return true; /* unknown: assume the worst */
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "CapEff: %llx", &eff) == 1)
			break;
	fclose(f);
	return (eff >> cap) & 1;
}

/* Fork with raw clone(FLAGS); the child exits at once. Returns the child's pid or -1. */
static long raw_clone_exit(unsigned long flags)
{
	long pid = syscall(SYS_clone, flags, 0UL, NULL, NULL, 0UL);

	if (pid == 0)
		_exit(0);
	if (pid > 0)
		while (waitpid((pid_t)pid, NULL, __WALL) < 0 && errno == EINTR)
			;
	return pid;
}

struct pty {
	int master;
	char slave[64];
};

/* Open a new pty pair; the sandbox's /dev/ptmx may be missing while /dev/pts/ptmx exists. */
static int pty_open(struct pty *p)
{
	p->master = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (p->master < 0)
		p->master = open("/dev/pts/ptmx", O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (p->master < 0)
		return -1;
	if (grantpt(p->master) < 0 || unlockpt(p->master) < 0 ||
	    ptsname_r(p->master, p->slave, sizeof(p->slave)) != 0) {
		int e = errno;

		close(p->master);
		errno = e;
		return -1;
	}
	return 0;
}

/* ---- the probes -------------------------------------------------------------------------- */

/* io_uring operations run in kernel workers that seccomp never sees (prior-art bug 8). */
static int p_io_uring_setup(void)
{
	struct tally t = {0};
	uint32_t params[30] = {0}; /* struct io_uring_params, 120 bytes; zero asks for defaults */

	close_if(attempt(&t, REAL, "io_uring_setup(4)", syscall(__NR_io_uring_setup, 4, params)));
	return finish(&t);
}

static void traceme_child(void *arg, struct child_result *r)
{
	(void)arg;
	r->rc = syscall(SYS_ptrace, PTRACE_TRACEME, 0, NULL, NULL);
	r->err = errno;
}

/* ptrace reads and writes other processes' memory and registers: the supervisor's checks
 * and copies would be worthless. */
static int p_ptrace(void)
{
	struct tally t = {0};
	struct child_result r;
	struct sleeper s;

	if (sleeper_start(&s) < 0) {
		setup_fail(&t, "fork: %s", errname(errno));
		return finish(&t);
	}
	attempt(&t, REAL, "ptrace(PTRACE_SEIZE, child)",
		syscall(SYS_ptrace, PTRACE_SEIZE, s.pid, NULL, NULL));
	sleeper_stop(&s);
	if (in_child(traceme_child, NULL, &r) < 0)
		setup_fail(&t, "fork: %s", errname(errno));
	else
		note_child(&t, REAL, "ptrace(PTRACE_TRACEME)", &r, 0);
	return finish(&t);
}

static int pv_target = 1;

static int p_process_vm_writev(void)
{
	struct tally t = {0};
	struct sleeper s;
	int val = 2;
	struct iovec local = {&val, sizeof(val)};
	struct iovec remote = {&pv_target, sizeof(pv_target)};

	if (sleeper_start(&s) < 0) {
		setup_fail(&t, "fork: %s", errname(errno));
		return finish(&t);
	}
	attempt(&t, REAL, "process_vm_writev(child)",
		syscall(SYS_process_vm_writev, s.pid, &local, 1UL, &remote, 1UL, 0UL));
	sleeper_stop(&s);
	return finish(&t);
}

static int p_process_vm_readv(void)
{
	struct tally t = {0};
	struct sleeper s;
	int val = 0;
	struct iovec local = {&val, sizeof(val)};
	struct iovec remote = {&pv_target, sizeof(pv_target)};

	if (sleeper_start(&s) < 0) {
		setup_fail(&t, "fork: %s", errname(errno));
		return finish(&t);
	}
	attempt(&t, REAL, "process_vm_readv(child)",
		syscall(SYS_process_vm_readv, s.pid, &local, 1UL, &remote, 1UL, 0UL));
	sleeper_stop(&s);
	return finish(&t);
}

/* A nested user namespace gives back every capability, and with it mount and the rest. */
static int p_unshare_user(void)
{
	struct tally t = {0};

	attempt(&t, REAL, "unshare(CLONE_NEWUSER)", syscall(SYS_unshare, CLONE_NEWUSER));
	return finish(&t);
}

/*
 * The classic container escape: a fresh user+mount namespace, then mounts over the view (and
 * attempts to peel the sandbox's overlays off) to write past the copy-on-write layer. The
 * marker must never appear on the host; the test checks that from outside.
 */
static int p_unshare_mount_write(void)
{
	struct tally t = {0};
	char dir[PATH_MAX], map[64], *slash;
	uid_t uid = getuid();
	gid_t gid = getgid();
	int peeled = 0, fd;
	long rc;

	if (attempt(&t, STEP, "unshare(CLONE_NEWUSER|CLONE_NEWNS)",
		    syscall(SYS_unshare, CLONE_NEWUSER | CLONE_NEWNS)) < 0)
		return finish(&t);
	/* Map ourselves to root inside so that what we create has an owner. */
	if (write_file("/proc/self/setgroups", "deny") < 0)
		note_info(&t, "setgroups: %s", errname(errno));
	snprintf(map, sizeof(map), "0 %u 1", (unsigned)uid);
	if (write_file("/proc/self/uid_map", map) < 0)
		note_info(&t, "uid_map: %s", errname(errno));
	snprintf(map, sizeof(map), "0 %u 1", (unsigned)gid);
	if (write_file("/proc/self/gid_map", map) < 0)
		note_info(&t, "gid_map: %s", errname(errno));
	/* Our namespace belongs to a less privileged user namespace, so nothing propagates back;
	 * private says so again. */
	mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL);

	snprintf(dir, sizeof(dir), "%s", opt_path ? opt_path : "/tmp/x");
	slash = strrchr(dir, '/');
	if (slash == dir)
		dir[1] = '\0';
	else if (slash)
		*slash = '\0';
	else
		snprintf(dir, sizeof(dir), ".");

	rc = attempt(&t, REAL, "bind mount over the marker's directory",
		     mount(dir, dir, NULL, MS_BIND | MS_REC, NULL));

	/* Unmount every mount point from the marker's directory up to / as far as the kernel
	 * lets us: below the sandbox's overlays lies the host. */
	for (;;) {
		while (peeled < 64 && umount2(dir, MNT_DETACH) == 0)
			peeled++;
		if (strcmp(dir, "/") == 0 || strcmp(dir, ".") == 0)
			break;
		slash = strrchr(dir, '/');
		if (slash == dir)
			dir[1] = '\0';
		else if (slash)
			*slash = '\0';
		else
			break;
	}
	note_info(&t, "unmounted %d mount(s) on the way to /", peeled);

	if (opt_path) {
		fd = open(opt_path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
		if (fd >= 0) {
			if (write(fd, "escaped\n", 8) != 8)
				note_info(&t, "marker write: %s", errname(errno));
			close(fd);
			note_info(&t, "marker created at %s in the namespace", opt_path);
		} else {
			note_info(&t, "marker not created: %s", errname(errno));
		}
	}
	if (rc < 0)
		attempt(&t, REAL, "mount tmpfs",
			mount("tmpfs", opt_path ? "/tmp" : "/mnt", "tmpfs", 0, "size=64k"));
	return finish(&t);
}

/* clone takes 64-bit flags but the kernel uses only the low 32 bits (lower_32_bits() in
 * kernel/fork.c), so a filter comparing all 64 is bypassed by setting high bits (bug 7). */
static int p_clone_newuser(void)
{
	struct tally t = {0};

	attempt(&t, REAL, "clone(CLONE_NEWUSER|SIGCHLD)", raw_clone_exit(CLONE_NEWUSER | SIGCHLD));
	attempt(&t, REAL, "clone(CLONE_NEWUSER|SIGCHLD|1<<32)",
		raw_clone_exit(CLONE_NEWUSER | SIGCHLD | HIGH_BIT));
	return finish(&t);
}

/* clone3's flags live in memory the filter cannot read: the whole call must fail, with ENOSYS
 * so that libc falls back to clone (bug 9). */
static int p_clone3_newuser(void)
{
	struct tally t = {0};
	struct probe_clone_args a = {.flags = CLONE_NEWUSER, .exit_signal = SIGCHLD};
	long pid = syscall(__NR_clone3, &a, sizeof(a));
	int err = errno;

	if (pid == 0)
		_exit(0);
	if (pid > 0)
		while (waitpid((pid_t)pid, NULL, __WALL) < 0 && errno == EINTR)
			;
	note(&t, REAL, "clone3(CLONE_NEWUSER)", pid, err);
	return finish(&t);
}

/*
 * mount(2) and umount2(2). The real attempt (tmpfs over /tmp) is made only where it cannot
 * touch a namespace anyone else uses: after unshare(CLONE_NEWNS) worked, or where we lack
 * CAP_SYS_ADMIN so the kernel refuses anyway. The pokes pass bad pointers, which the kernel
 * copies (EFAULT) before it checks any capability.
 */
static int p_mount(void)
{
	struct tally t = {0};
	bool safe = false;

	if (syscall(SYS_unshare, CLONE_NEWNS) == 0) {
		mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL);
		safe = true;
	} else if (!have_cap(21 /* CAP_SYS_ADMIN */)) {
		safe = true;
	}
	if (safe)
		attempt(&t, REAL, "mount tmpfs on /tmp",
			mount("tmpfs", "/tmp", "tmpfs", 0, "size=64k"));
	else
		note_info(&t, "tmpfs on /tmp not attempted: it would change this mount namespace");
	attempt(&t, POKE, "mount(type=bad pointer)",
		syscall(SYS_mount, "none", NOWHERE, BAD_PTR, 0UL, NULL));
	attempt(&t, POKE, "umount2(bad pointer)", syscall(SYS_umount2, BAD_PTR, 0));
	return finish(&t);
}

/* The new mount API (5.2+) reaches the same code as mount(2) through other syscalls. */
static int p_new_mount_api(void)
{
	struct tally t = {0};

	close_if(
		attempt(&t, REAL, "fsopen(tmpfs)", syscall(__NR_fsopen, "tmpfs", FSOPEN_CLOEXEC_)));
	close_if(attempt(
		&t, REAL, "open_tree(/, OPEN_TREE_CLONE)",
		syscall(__NR_open_tree, AT_FDCWD, "/", OPEN_TREE_CLONE_ | OPEN_TREE_CLOEXEC_)));
	close_if(attempt(&t, POKE, "open_tree(bad flags)",
			 syscall(__NR_open_tree, AT_FDCWD, "/", 0x10000000UL)));
	attempt(&t, POKE, "mount_setattr(bad flags)",
		syscall(__NR_mount_setattr, -1, "", 0x10000000UL, NULL, 0UL));
	attempt(&t, POKE, "fsconfig(-1)", syscall(__NR_fsconfig, -1, 0, NULL, NULL, 0));
	return finish(&t);
}

struct sti_arg {
	const char *slave;
	bool highbits;
};

static void sti_child(void *arg, struct child_result *r)
{
	const struct sti_arg *a = arg;
	unsigned long cmd =
		a->highbits ? (unsigned long)TIOCSTI | HIGH_BIT : (unsigned long)TIOCSTI;
	char c = '#'; /* lands in our own private pty's input queue; nobody reads it */
	int fd;

	if (setsid() < 0) {
		child_setup_fail(r, "setsid");
		return;
	}
	fd = open(a->slave, O_RDWR); /* a session leader opening a tty acquires it */
	if (fd < 0) {
		child_setup_fail(r, "open pty slave");
		return;
	}
	ioctl(fd, TIOCSCTTY, 0);
	if (tcgetsid(fd) != getpid()) {
		child_setup_fail(r, "pty did not become the controlling tty");
		return;
	}
	errno = 0;
	r->rc = syscall(SYS_ioctl, fd, cmd, &c);
	r->err = errno;
}

/*
 * TIOCSTI pushes keystrokes into a terminal's input: a sandboxed program sharing the user's
 * terminal could type commands into the shell after it exits (CVE-2017-5226, bubblewrap).
 * The cmd argument is 32-bit in the kernel, so high bits must not get past the filter
 * (CVE-2019-10063, flatpak; CVE-2019-7303, snapd). The errno is printed so a test can tell the
 * filter's EPERM from the EIO of dev.tty.legacy_tiocsti=0.
 */
static int sti_probe(bool highbits)
{
	const char *what = highbits ? "ioctl(own tty, TIOCSTI|1<<32)" : "ioctl(own tty, TIOCSTI)";
	unsigned long cmd = highbits ? (unsigned long)TIOCSTI | HIGH_BIT : (unsigned long)TIOCSTI;
	struct tally t = {0};
	struct child_result r;
	struct sti_arg a;
	struct pty p;
	char c = '#';
	int fd;

	if (pty_open(&p) < 0) {
		/* No pty to own: the filter can still be seen answering for the call. */
		note_info(&t, "no pty (%s): poked /dev/null instead", errname(errno));
		fd = open("/dev/null", O_RDWR | O_CLOEXEC);
		if (fd < 0) {
			setup_fail(&t, "open /dev/null: %s", errname(errno));
			return finish(&t);
		}
		attempt(&t, POKE,
			highbits ? "ioctl(/dev/null, TIOCSTI|1<<32)" : "ioctl(/dev/null, TIOCSTI)",
			syscall(SYS_ioctl, fd, cmd, &c));
		close(fd);
		return finish(&t);
	}
	a.slave = p.slave;
	a.highbits = highbits;
	if (in_child(sti_child, &a, &r) < 0)
		setup_fail(&t, "fork: %s", errname(errno));
	else
		note_child(&t, REAL, what, &r, 0);
	close(p.master);
	return finish(&t);
}

static int p_tiocsti(void)
{
	return sti_probe(false);
}

static int p_tiocsti_highbits(void)
{
	return sti_probe(true);
}

/*
 * TIOCLINUX's selection paste injects input on a virtual console (CVE-2023-1523, snapd). Poked
 * on /dev/null: a kernel that sees it answers ENOTTY.
 */
static int p_tioclinux(void)
{
	struct tally t = {0};
	char sub = 6; /* TIOCL_GETSHIFTSTATE */
	int fd = open("/dev/null", O_RDWR | O_CLOEXEC);

	if (fd < 0) {
		setup_fail(&t, "open /dev/null: %s", errname(errno));
		return finish(&t);
	}
	attempt(&t, POKE, "ioctl(TIOCLINUX)",
		syscall(SYS_ioctl, fd, (unsigned long)TIOCLINUX_, &sub));
	attempt(&t, POKE, "ioctl(TIOCLINUX|1<<32)",
		syscall(SYS_ioctl, fd, (unsigned long)TIOCLINUX_ | HIGH_BIT, &sub));
	close(fd);
	return finish(&t);
}

/*
 * Only UNIX, INET and INET6 sockets may exist inside, and netlink's NETLINK_ROUTE (which reads
 * the sandbox's own interfaces; every change needs CAP_NET_ADMIN). socket()'s domain and
 * protocol are ints, so a filter comparing the 64-bit register is bypassed by high bits
 * (prior-art bug 7). Other netlink protocols work in any network namespace without privilege;
 * the packet socket needs CAP_NET_RAW. Attempts are real, never pokes: a filter may well deny
 * a family with EAFNOSUPPORT, as a kernel without it would.
 */
static int p_socket_highbits(void)
{
	static const struct {
		int family, type, proto;
		const char *name;
	} denied[] = {
		{AF_NETLINK, SOCK_RAW, 9 /* NETLINK_AUDIT */, "AF_NETLINK, NETLINK_AUDIT"},
		{AF_NETLINK, SOCK_DGRAM, 4 /* NETLINK_SOCK_DIAG */,
		 "AF_NETLINK, NETLINK_SOCK_DIAG"},
		{AF_NETLINK, SOCK_RAW, 16 /* NETLINK_GENERIC */, "AF_NETLINK, NETLINK_GENERIC"},
		{AF_PACKET, SOCK_DGRAM, 0, "AF_PACKET"},
		{AF_VSOCK, SOCK_STREAM, 0, "AF_VSOCK"},
		{AF_BLUETOOTH, SOCK_SEQPACKET, 0, "AF_BLUETOOTH"},
		{AF_ALG, SOCK_SEQPACKET, 0, "AF_ALG"},
		{AF_KEY, SOCK_RAW, 2 /* PF_KEY_V2 */, "AF_KEY"},
	};
	struct tally t = {0};
	char what[80];
	long fd;
	size_t i;

	/* The allowed families must still work, or every block below means nothing. */
	fd = syscall(SYS_socket, AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		setup_fail(&t, "socket(AF_UNIX) must work but failed: %s", errname(errno));
	close_if(fd);
	fd = syscall(SYS_socket, AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		setup_fail(&t, "socket(AF_INET) must work but failed: %s", errname(errno));
	close_if(fd);

	close_if(attempt(&t, REAL, "socket(AF_NETLINK|1<<32)",
			 syscall(SYS_socket, (unsigned long)AF_NETLINK | HIGH_BIT,
				 SOCK_RAW | SOCK_CLOEXEC, 0)));
	close_if(attempt(&t, REAL, "socket(AF_NETLINK, NETLINK_AUDIT|1<<32)",
			 syscall(SYS_socket, AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC,
				 (unsigned long)9 | HIGH_BIT)));
	close_if(attempt(&t, REAL, "socket(AF_PACKET|1<<32)",
			 syscall(SYS_socket, (unsigned long)AF_PACKET | HIGH_BIT,
				 SOCK_DGRAM | SOCK_CLOEXEC, 0)));
	for (i = 0; i < sizeof(denied) / sizeof(denied[0]); i++) {
		snprintf(what, sizeof(what), "socket(%s)", denied[i].name);
		close_if(attempt(&t, REAL, what,
				 syscall(SYS_socket, denied[i].family,
					 denied[i].type | SOCK_CLOEXEC, denied[i].proto)));
	}
	return finish(&t);
}

struct raw_call {
	unsigned long nr;
	unsigned long a0;
};

static void x32_child(void *arg, struct child_result *r)
{
	const struct raw_call *c = arg;

	r->rc = syscall((long)c->nr, c->a0);
	r->err = errno;
}

/*
 * x32 syscalls reach the kernel with the same audit arch as x86_64 but with bit 30 set in the
 * number: a filter matching only native numbers lets x32 unshare() through. Kernels without
 * CONFIG_X86_X32_ABI answer ENOSYS themselves.
 */
static int p_x32(void)
{
	struct raw_call getpid_call = {X32_SYSCALL_BIT | X32_NR_GETPID, 0};
	struct raw_call unshare_call = {X32_SYSCALL_BIT | X32_NR_UNSHARE, CLONE_NEWUSER};
	struct tally t = {0};
	struct child_result r;

	if (in_child(x32_child, &getpid_call, &r) < 0)
		setup_fail(&t, "fork: %s", errname(errno));
	else
		note_child(&t, REAL, "x32 getpid", &r, 0);
	if (in_child(x32_child, &unshare_call, &r) < 0)
		setup_fail(&t, "fork: %s", errname(errno));
	else
		note_child(&t, REAL, "x32 unshare(CLONE_NEWUSER)", &r, 0);
	return finish(&t);
}

static void int80_child(void *arg, struct child_result *r)
{
	const struct raw_call *c = arg;
	long ret;

	/* The i386 entry from 64-bit code: r8-r11 were not preserved before Linux 4.17. */
	__asm__ volatile("int $0x80"
			 : "=a"(ret)
			 : "a"(c->nr), "b"(c->a0)
			 : "memory", "cc", "r8", "r9", "r10", "r11");
	if (ret < 0 && ret >= -4095) {
		r->rc = -1;
		r->err = (int)-ret;
	} else {
		r->rc = ret;
	}
}

/*
 * int $0x80 enters the i386 syscall table from a 64-bit process: other numbers (unshare is 310
 * there), other audit arch. The filter must kill any non-native arch. A kernel booted with
 * ia32_emulation=0 answers with SIGSEGV, which is blocked too.
 */
static int p_int80(void)
{
	struct raw_call getpid_call = {I386_NR_GETPID, 0};
	struct raw_call unshare_call = {I386_NR_UNSHARE, CLONE_NEWUSER};
	struct tally t = {0};
	struct child_result r;

	if (in_child(int80_child, &getpid_call, &r) < 0)
		setup_fail(&t, "fork: %s", errname(errno));
	else
		note_child(&t, REAL, "int $0x80 getpid", &r, SIGSEGV);
	if (in_child(int80_child, &unshare_call, &r) < 0)
		setup_fail(&t, "fork: %s", errname(errno));
	else
		note_child(&t, REAL, "int $0x80 unshare(CLONE_NEWUSER)", &r, SIGSEGV);
	return finish(&t);
}

/*
 * A listener of its own would let the program answer its own syscalls' notifications, and a
 * listener installed before the sandbox's would be consulted in its place. The kernel already
 * refuses a second listener in one filter chain (EBUSY); the filter denies it regardless. The
 * flags argument is 32-bit in the kernel, so high bits must not help; the poke passes a bad
 * program pointer, which the kernel copies before looking for other listeners.
 */
static int p_seccomp_listener(void)
{
	struct sock_filter insns[] = {
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, arch)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, AUDIT_ARCH_X86_64, 0, 3),
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_uselib, 0, 1),
		BPF_STMT(BPF_RET | BPF_K,
			 SECCOMP_RET_USER_NOTIF), /* only uselib, which nothing calls */
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
	};
	struct sock_fprog prog = {.len = sizeof(insns) / sizeof(insns[0]), .filter = insns};
	struct tally t = {0};

	attempt(&t, STEP, "prctl(PR_SET_NO_NEW_PRIVS)", prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0));
	close_if(attempt(&t, REAL, "seccomp(NEW_LISTENER)",
			 syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER,
				 SECCOMP_FILTER_FLAG_NEW_LISTENER, &prog)));
	close_if(attempt(&t, REAL, "seccomp(NEW_LISTENER|1<<32)",
			 syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER,
				 SECCOMP_FILTER_FLAG_NEW_LISTENER | HIGH_BIT, &prog)));
	close_if(attempt(&t, REAL, "seccomp(NEW_LISTENER|LOG)",
			 syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER,
				 SECCOMP_FILTER_FLAG_NEW_LISTENER | SECCOMP_FILTER_FLAG_LOG,
				 &prog)));
	close_if(attempt(&t, REAL, "seccomp(SET_MODE_FILTER|1<<32, NEW_LISTENER)",
			 syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER | HIGH_BIT,
				 SECCOMP_FILTER_FLAG_NEW_LISTENER, &prog)));
	close_if(attempt(&t, POKE, "seccomp(NEW_LISTENER, bad program)",
			 syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER,
				 SECCOMP_FILTER_FLAG_NEW_LISTENER, BAD_PTR)));
	return finish(&t);
}

static const char *handle_path(void)
{
	return opt_path ? opt_path : "/etc/passwd";
}

/* Room for MAX_HANDLE_SZ (128) bytes of handle after the header. */
union handle_buf {
	struct file_handle fh;
	unsigned char bytes[sizeof(struct file_handle) + 128];
};

/*
 * open_by_handle_at opens any inode of a filesystem by number, from any fd on it: the "shocker"
 * escape from Docker (2014) brute-forced handles from the root inode to read the host's
 * /etc/shadow. With no real handle, a forged one for inode 2 (the root of ext2/3/4) is tried.
 * The poke passes fd -1: Linux >= 6.12 checks the fd before the capability (EBADF), older
 * kernels answer EPERM themselves, so there it cannot tell.
 */
static int p_open_by_handle_at(void)
{
	union handle_buf h;
	struct tally t = {0};
	const char *path = handle_path();
	int mount_id, mfd;

	memset(&h, 0, sizeof(h));
	h.fh.handle_bytes = 128;
	if (syscall(SYS_name_to_handle_at, AT_FDCWD, path, &h.fh, &mount_id, 0) < 0) {
		uint32_t forged[2] = {2, 0}; /* FILEID_INO32_GEN: inode 2, generation 0 */

		note_info(&t, "name_to_handle_at: %s, forged a handle for inode 2", errname(errno));
		h.fh.handle_bytes = sizeof(forged);
		h.fh.handle_type = FILEID_INO32_GEN_;
		memcpy(h.fh.f_handle, forged, sizeof(forged));
		path = "/";
	}
	/* Any fd on the filesystem names it, but not an O_PATH one (fdget() refuses those). */
	mfd = open(path, O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
	if (mfd < 0)
		mfd = open("/", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (mfd < 0) {
		setup_fail(&t, "open %s: %s", path, errname(errno));
		return finish(&t);
	}
	close_if(attempt(&t, REAL, "open_by_handle_at",
			 syscall(SYS_open_by_handle_at, mfd, &h.fh, O_RDONLY | O_CLOEXEC)));
	close_if(attempt(&t, POKE, "open_by_handle_at(fd -1)",
			 syscall(SYS_open_by_handle_at, -1, &h.fh, O_RDONLY | O_CLOEXEC)));
	close(mfd);
	return finish(&t);
}

/* Denied with open_by_handle_at: a handle is half of the shocker escape. */
static int p_name_to_handle_at(void)
{
	union handle_buf h;
	struct tally t = {0};
	int mount_id;

	memset(&h, 0, sizeof(h));
	h.fh.handle_bytes = 128;
	attempt(&t, REAL, "name_to_handle_at",
		syscall(SYS_name_to_handle_at, AT_FDCWD, handle_path(), &h.fh, &mount_id, 0));
	attempt(&t, POKE, "name_to_handle_at(bad flags)",
		syscall(SYS_name_to_handle_at, AT_FDCWD, handle_path(), &h.fh, &mount_id,
			0x10000000));
	return finish(&t);
}

/*
 * Keyrings are per user, not per namespace: the sandbox runs as the user's own uid, so the
 * user's keyrings (Kerberos tickets, fscrypt and ecryptfs keys) would be reachable. The
 * probe itself only touches its own process keyring, which dies with it.
 */
static int p_keyctl(void)
{
	struct tally t = {0};

	attempt(&t, REAL, "keyctl(GET_KEYRING_ID, process keyring, create)",
		syscall(SYS_keyctl, KEYCTL_GET_ID, KEY_SPEC_PROCESS, 1));
	attempt(&t, POKE, "keyctl(unknown command)", syscall(SYS_keyctl, 0x7fff, 0, 0, 0, 0));
	return finish(&t);
}

static int p_add_key(void)
{
	struct tally t = {0};

	attempt(&t, REAL, "add_key(user, process keyring)",
		syscall(SYS_add_key, "user", "airlock-escape-probe", "x", 1UL, KEY_SPEC_PROCESS));
	attempt(&t, POKE, "request_key(user)",
		syscall(SYS_request_key, "user", "airlock-escape-probe", NULL, KEY_SPEC_PROCESS));
	return finish(&t);
}

/* bpf is kernel attack surface of the first order; maps and programs need no file to exist. */
static int p_bpf(void)
{
	struct tally t = {0};
	uint32_t attr[32] = {0}; /* union bpf_attr for BPF_MAP_CREATE */

	attr[0] = 2; /* BPF_MAP_TYPE_ARRAY */
	attr[1] = 4; /* key_size */
	attr[2] = 4; /* value_size */
	attr[3] = 1; /* max_entries */
	close_if(attempt(&t, REAL, "bpf(BPF_MAP_CREATE)", syscall(SYS_bpf, 0, attr, sizeof(attr))));
	close_if(attempt(&t, POKE, "bpf(BPF_MAP_CREATE, bad attr)",
			 syscall(SYS_bpf, 0, BAD_PTR, sizeof(attr))));
	return finish(&t);
}

/* perf events: a long list of kernel CVEs and a side channel; perf_event_paranoid=2 still lets
 * a process count its own user-space events, which is what the real attempt does. */
static int p_perf_event_open(void)
{
	struct perf_event_attr attr;
	struct tally t = {0};

	memset(&attr, 0, sizeof(attr));
	attr.type = PERF_TYPE_SOFTWARE;
	attr.size = sizeof(attr);
	attr.config = PERF_COUNT_SW_TASK_CLOCK;
	attr.disabled = 1;
	attr.exclude_kernel = 1;
	attr.exclude_hv = 1;
	close_if(attempt(&t, REAL, "perf_event_open(task clock, self)",
			 syscall(SYS_perf_event_open, &attr, 0, -1, -1, 8UL /* FD_CLOEXEC */)));
	close_if(attempt(&t, POKE, "perf_event_open(bad attr)",
			 syscall(SYS_perf_event_open, BAD_PTR, 0, -1, -1, 0UL)));
	return finish(&t);
}

/* userfaultfd stalls kernel accesses to user memory at will: the standard tool for winning
 * kernel races, and a way to stall the supervisor's process_vm_readv of our memory. */
static int p_userfaultfd(void)
{
	struct tally t = {0};

	close_if(attempt(&t, REAL, "userfaultfd(UFFD_USER_MODE_ONLY)",
			 syscall(SYS_userfaultfd, O_CLOEXEC | UFFD_USER_MODE_ONLY_)));
	close_if(attempt(&t, REAL, "userfaultfd(0)", syscall(SYS_userfaultfd, O_CLOEXEC)));
	return finish(&t);
}

/*
 * READ_IMPLIES_EXEC makes every readable mapping executable, ADDR_NO_RANDOMIZE turns ASLR off
 * for what we exec: both help exploits (Docker's profile allows only a few personas). The
 * argument is 32-bit in the kernel, so the high-bit forms must be denied too.
 */
static int p_personality(void)
{
	struct tally t = {0};

	attempt(&t, REAL, "personality(READ_IMPLIES_EXEC)",
		syscall(SYS_personality, (unsigned long)READ_IMPLIES_EXEC));
	attempt(&t, REAL, "personality(ADDR_NO_RANDOMIZE)",
		syscall(SYS_personality, (unsigned long)ADDR_NO_RANDOMIZE));
	attempt(&t, REAL, "personality(READ_IMPLIES_EXEC|1<<32)",
		syscall(SYS_personality, (unsigned long)READ_IMPLIES_EXEC | HIGH_BIT));
	attempt(&t, REAL, "personality(ADDR_NO_RANDOMIZE|1<<32)",
		syscall(SYS_personality, (unsigned long)ADDR_NO_RANDOMIZE | HIGH_BIT));
	return finish(&t);
}

/* Invalid flags, refused after the capability check: EINVAL means the call was not filtered.
 * (Flags 0 with no segments would unload the loaded kexec image.) */
static int p_kexec_load(void)
{
	struct tally t = {0};

	attempt(&t, POKE, "kexec_load(bad flags)",
		syscall(SYS_kexec_load, 0UL, 0UL, NULL, 0x8000UL));
	attempt(&t, POKE, "kexec_file_load(bad flags)",
		syscall(SYS_kexec_file_load, -1, -1, 0UL, NULL, 0x80000000UL));
	return finish(&t);
}

/* An empty image (ENOEXEC), fd -1 (EBADF) and a module that does not exist (ENOENT). */
static int p_init_module(void)
{
	struct tally t = {0};

	attempt(&t, POKE, "init_module(empty)", syscall(SYS_init_module, NULL, 0UL, ""));
	attempt(&t, POKE, "finit_module(-1)", syscall(SYS_finit_module, -1, "", 0));
	attempt(&t, POKE, "delete_module(absent)",
		syscall(SYS_delete_module, "airlock_escape_probe", O_NONBLOCK));
	return finish(&t);
}

/* pidfd_getfd copies a descriptor out of another process: the supervisor's own network
 * emulation uses it, the program must not. */
static int p_pidfd_getfd(void)
{
	struct tally t = {0};
	struct sleeper s;
	long pidfd;

	if (sleeper_start(&s) < 0) {
		setup_fail(&t, "fork: %s", errname(errno));
		return finish(&t);
	}
	pidfd = syscall(__NR_pidfd_open, s.pid, 0);
	if (pidfd >= 0) {
		close_if(attempt(&t, REAL, "pidfd_getfd(child's pipe)",
				 syscall(__NR_pidfd_getfd, pidfd, s.child_fd, 0)));
	} else {
		note_info(&t, "pidfd_open: %s", errname(errno));
		close_if(attempt(&t, POKE, "pidfd_getfd(-1)", syscall(__NR_pidfd_getfd, -1, 0, 0)));
	}
	close_if(pidfd);
	sleeper_stop(&s);
	return finish(&t);
}

/* kcmp tells whether two processes share kernel objects: an information leak, denied with ptrace.
 */
static int p_kcmp(void)
{
	struct tally t = {0};
	struct sleeper s;

	if (sleeper_start(&s) < 0) {
		setup_fail(&t, "fork: %s", errname(errno));
		return finish(&t);
	}
	attempt(&t, REAL, "kcmp(self, child, KCMP_VM)",
		syscall(SYS_kcmp, getpid(), s.pid, KCMP_VM_, 0UL, 0UL));
	sleeper_stop(&s);
	return finish(&t);
}

/* openat2's flags are in memory the filter cannot read, so a write-mode open through it would
 * never notify: it must fail with ENOSYS so that libc and Python fall back to openat. */
static int p_openat2(void)
{
	struct probe_open_how how = {.flags = O_RDONLY | O_CLOEXEC};
	struct tally t = {0};

	close_if(attempt(&t, REAL, "openat2(/, O_RDONLY)",
			 syscall(__NR_openat2, AT_FDCWD, "/", &how, sizeof(how))));
	return finish(&t);
}

/* chroot and pivot_root move the root the supervisor resolves the program's paths against. */
static int p_chroot(void)
{
	struct tally t = {0};

	attempt(&t, REAL, "chroot(/)", syscall(SYS_chroot, "/"));
	attempt(&t, POKE, "chroot(bad pointer)", syscall(SYS_chroot, BAD_PTR));
	return finish(&t);
}

/* Paths that do not exist: ENOENT would mean the call got past the filter and the
 * capability check. pivot_root checks the capability first, so there is no earlier poke. */
static int p_pivot_root(void)
{
	struct tally t = {0};

	attempt(&t, POKE, "pivot_root(nonexistent)", syscall(SYS_pivot_root, NOWHERE, NOWHERE));
	return finish(&t);
}

/* setns joins another namespace by fd; our own network namespace is a harmless target. */
static int p_setns(void)
{
	struct tally t = {0};
	int fd = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);

	if (fd >= 0) {
		attempt(&t, REAL, "setns(own netns)", syscall(SYS_setns, fd, CLONE_NEWNET));
		close(fd);
	} else {
		note_info(&t, "open /proc/self/ns/net: %s", errname(errno));
	}
	attempt(&t, POKE, "setns(-1)", syscall(SYS_setns, -1, 0));
	return finish(&t);
}

/* Port I/O: iopl(3) needs CAP_SYS_RAWIO; iopl(0) lowers nothing and needs no privilege. */
static int p_iopl(void)
{
	struct tally t = {0};

	attempt(&t, REAL, "iopl(3)", syscall(SYS_iopl, 3));
	attempt(&t, POKE, "iopl(0)", syscall(SYS_iopl, 0));
	return finish(&t);
}

/* Port 0x80 is the POST diagnostic port; no I/O is done, only the permission bitmap set. */
static int p_ioperm(void)
{
	struct tally t = {0};

	attempt(&t, REAL, "ioperm(0x80, on)", syscall(SYS_ioperm, 0x80UL, 1UL, 1));
	attempt(&t, POKE, "ioperm(0x80, off)", syscall(SYS_ioperm, 0x80UL, 1UL, 0));
	return finish(&t);
}

/* modify_ldt: 16-bit segments were the way into several kernel bugs (espfix, CVE-2014-8133). */
static int p_modify_ldt(void)
{
	struct tally t = {0};
	char buf[16];

	attempt(&t, POKE, "modify_ldt(read)", syscall(SYS_modify_ldt, 0, buf, sizeof(buf)));
	return finish(&t);
}

/* A file that cannot be created: ENOENT means it got past the filter and CAP_SYS_PACCT.
 * (acct(NULL) would switch accounting off for the whole system.) */
static int p_acct(void)
{
	struct tally t = {0};

	attempt(&t, POKE, "acct(nonexistent)", syscall(SYS_acct, NOWHERE "/acct"));
	return finish(&t);
}

/* swapon checks its flags before the capability: invalid flags give EINVAL to anyone. */
static int p_swapon(void)
{
	struct tally t = {0};

	attempt(&t, POKE, "swapon(bad flags)", syscall(SYS_swapon, NOWHERE, 0x40000000));
	attempt(&t, POKE, "swapoff(nonexistent)", syscall(SYS_swapoff, NOWHERE));
	return finish(&t);
}

/* The kernel log holds kernel addresses and the host's hardware and mount history. */
static int p_syslog(void)
{
	struct tally t = {0};
	static char buf[4096];

	attempt(&t, REAL, "syslog(SYSLOG_ACTION_READ_ALL)",
		syscall(SYS_syslog, SYSLOG_READ_ALL, buf, (int)sizeof(buf)));
	return finish(&t);
}

/*
 * settimeofday(NULL, NULL) checks CAP_SYS_TIME and then changes nothing; the pokes pass bad
 * pointers, which the kernel copies before any capability check.
 */
static int p_clock_settime(void)
{
	struct tally t = {0};

	attempt(&t, REAL, "settimeofday(NULL, NULL)", syscall(SYS_settimeofday, NULL, NULL));
	attempt(&t, POKE, "clock_settime(REALTIME, bad pointer)",
		syscall(SYS_clock_settime, CLOCK_REALTIME, BAD_PTR));
	attempt(&t, POKE, "clock_adjtime(REALTIME, bad pointer)",
		syscall(SYS_clock_adjtime, CLOCK_REALTIME, BAD_PTR));
	return finish(&t);
}

/* NUMA policy calls: kernel attack surface with no use in a sandboxed script. All four
 * attempts are no-ops on our own memory (default policy, empty node sets, zero pages). */
static int p_mbind(void)
{
	struct tally t = {0};
	void *page = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (page == MAP_FAILED) {
		setup_fail(&t, "mmap: %s", errname(errno));
		return finish(&t);
	}
	attempt(&t, REAL, "mbind(MPOL_DEFAULT)",
		syscall(SYS_mbind, page, 4096UL, MPOL_DEFAULT_, NULL, 0UL, 0U));
	munmap(page, 4096);
	return finish(&t);
}

static int p_set_mempolicy(void)
{
	struct tally t = {0};

	attempt(&t, REAL, "set_mempolicy(MPOL_DEFAULT)",
		syscall(SYS_set_mempolicy, MPOL_DEFAULT_, NULL, 0UL));
	return finish(&t);
}

static int p_migrate_pages(void)
{
	struct tally t = {0};

	unsigned long node0 = 1;

	/* From node 0 to node 0: nothing moves. A kernel that sees it answers 0 or, on a machine
	 * without node 0, an error no filter gives, hence a poke. */
	attempt(&t, POKE, "migrate_pages(self, node 0 to node 0)",
		syscall(SYS_migrate_pages, 0, 2UL, &node0, &node0));
	return finish(&t);
}

static int p_move_pages(void)
{
	struct tally t = {0};

	attempt(&t, REAL, "move_pages(self, 0 pages)",
		syscall(SYS_move_pages, 0, 0UL, NULL, NULL, NULL, 0));
	return finish(&t);
}

/* Bad magic numbers (and a bad command) make sure nothing reboots: EINVAL means the call got
 * past the filter and CAP_SYS_BOOT. In a pid namespace a real reboot would kill the sandbox. */
static int p_reboot(void)
{
	struct tally t = {0};

	attempt(&t, POKE, "reboot(bad magic)", syscall(SYS_reboot, 0, 0, 0x12345678U, NULL));
	return finish(&t);
}

/* quotactl without a device is refused (ENODEV) before any capability check. */
static int p_quotactl(void)
{
	struct tally t = {0};

	attempt(&t, POKE, "quotactl(Q_GETINFO, no device)",
		syscall(SYS_quotactl, (unsigned)(Q_GETINFO_ << 8), NULL, 0, NULL));
	attempt(&t, POKE, "quotactl_fd(-1)", syscall(__NR_quotactl_fd, -1, 0U, 0, NULL));
	return finish(&t);
}

struct probe {
	const char *name;
	int (*fn)(void);
	const char *what;
};

static const struct probe probes[] = {
	{"io_uring_setup", p_io_uring_setup,
	 "io_uring_setup: io_uring runs operations seccomp never sees"},
	{"ptrace", p_ptrace, "PTRACE_SEIZE a child, PTRACE_TRACEME"},
	{"process_vm_writev", p_process_vm_writev, "write a child's memory"},
	{"process_vm_readv", p_process_vm_readv, "read a child's memory"},
	{"unshare_user", p_unshare_user, "unshare(CLONE_NEWUSER)"},
	{"unshare_mount_write", p_unshare_mount_write,
	 "unshare user+mount namespaces, mount, peel mounts, write the marker argv[2]"},
	{"clone_newuser", p_clone_newuser, "raw clone(CLONE_NEWUSER), also with high flag bits"},
	{"clone3_newuser", p_clone3_newuser, "clone3 with CLONE_NEWUSER (must be ENOSYS)"},
	{"mount", p_mount, "mount tmpfs on /tmp; mount/umount2 pokes"},
	{"new_mount_api", p_new_mount_api, "fsopen, open_tree(CLONE), mount_setattr, fsconfig"},
	{"tiocsti", p_tiocsti, "TIOCSTI on our own controlling pty"},
	{"tiocsti_highbits", p_tiocsti_highbits, "TIOCSTI|1<<32 on our own controlling pty"},
	{"tioclinux", p_tioclinux, "TIOCLINUX (also with high bits) poked on /dev/null"},
	{"socket_highbits", p_socket_highbits,
	 "socket(AF_NETLINK|1<<32), (AF_PACKET|1<<32), denied families; UNIX and INET must work"},
	{"x32", p_x32, "x32 getpid and unshare (syscall bit 30)"},
	{"int80", p_int80, "i386 getpid and unshare through int $0x80"},
	{"seccomp_listener", p_seccomp_listener,
	 "install a filter with NEW_LISTENER (also high bits)"},
	{"open_by_handle_at", p_open_by_handle_at,
	 "open a file by handle (argv[2] or /etc/passwd)"},
	{"name_to_handle_at", p_name_to_handle_at, "take a handle of argv[2] or /etc/passwd"},
	{"keyctl", p_keyctl, "keyctl on the process keyring"},
	{"add_key", p_add_key, "add_key and request_key on the process keyring"},
	{"bpf", p_bpf, "BPF_MAP_CREATE"},
	{"perf_event_open", p_perf_event_open, "a software counter on ourselves"},
	{"userfaultfd", p_userfaultfd, "userfaultfd, user-mode-only and full"},
	{"personality", p_personality, "READ_IMPLIES_EXEC, ADDR_NO_RANDOMIZE, also with high bits"},
	{"kexec_load", p_kexec_load, "kexec_load/kexec_file_load pokes"},
	{"init_module", p_init_module, "init_module/finit_module/delete_module pokes"},
	{"pidfd_getfd", p_pidfd_getfd, "copy a descriptor out of a child"},
	{"kcmp", p_kcmp, "compare our memory with a child's"},
	{"openat2", p_openat2, "openat2 (must be ENOSYS)"},
	{"chroot", p_chroot, "chroot(/)"},
	{"pivot_root", p_pivot_root, "pivot_root poke"},
	{"setns", p_setns, "setns into our own network namespace"},
	{"iopl", p_iopl, "iopl(3), iopl(0)"},
	{"ioperm", p_ioperm, "ioperm on port 0x80"},
	{"modify_ldt", p_modify_ldt, "read the LDT"},
	{"acct", p_acct, "process accounting poke"},
	{"swapon", p_swapon, "swapon/swapoff pokes"},
	{"syslog", p_syslog, "read the kernel log"},
	{"clock_settime", p_clock_settime,
	 "settimeofday(NULL, NULL); clock_settime/clock_adjtime pokes"},
	{"mbind", p_mbind, "mbind(MPOL_DEFAULT) on our own page"},
	{"set_mempolicy", p_set_mempolicy, "set_mempolicy(MPOL_DEFAULT)"},
	{"migrate_pages", p_migrate_pages, "migrate_pages with empty node sets"},
	{"move_pages", p_move_pages, "move_pages of zero pages"},
	{"reboot", p_reboot, "reboot poke with bad magic"},
	{"quotactl", p_quotactl, "quotactl/quotactl_fd pokes"},
};

#define NPROBES (sizeof(probes) / sizeof(probes[0]))

/* Run one probe in a child and return its verdict; reports deaths by signal itself. */
static int run_one(const struct probe *p)
{
	char esc[1024];
	int pipefd[2], st, sig;
	ssize_t n;
	pid_t pid;

	probe_name = p->name;
	if (pipe2(pipefd, O_CLOEXEC) < 0) {
		say("ERROR pipe: %s", errname(errno));
		return 2;
	}
	fflush(stdout);
	pid = fork();
	if (pid < 0) {
		say("ERROR fork: %s", errname(errno));
		close(pipefd[0]);
		close(pipefd[1]);
		return 2;
	}
	if (pid == 0) {
		close(pipefd[0]);
		escape_fd = pipefd[1];
		alarm(PROBE_TIMEOUT);
		_exit(p->fn());
	}
	close(pipefd[1]);
	while (waitpid(pid, &st, 0) < 0) {
		if (errno != EINTR) {
			say("ERROR waitpid: %s", errname(errno));
			close(pipefd[0]);
			return 2;
		}
	}
	if (WIFEXITED(st)) {
		close(pipefd[0]);
		return WEXITSTATUS(st) <= 2 ? WEXITSTATUS(st) : 2;
	}
	/* Killed: what escaped before the kill is in the pipe. Its write end may live on in a
	 * grandchild, so read without waiting. */
	sig = WTERMSIG(st);
	fcntl(pipefd[0], F_SETFL, O_NONBLOCK);
	n = read(pipefd[0], esc, sizeof(esc) - 1);
	close(pipefd[0]);
	esc[n > 0 ? n : 0] = '\0';
	if (esc[0]) {
		say("ESCAPED - %sthen killed by %s", esc, signame(sig));
		return 1;
	}
	if (sig == SIGSYS) {
		say("blocked (signal=SIGSYS)");
		return 0;
	}
	if (sig == SIGALRM)
		say("ERROR no answer within %d s", PROBE_TIMEOUT);
	else
		say("ERROR killed by %s", signame(sig));
	return 2;
}

static int run_all(void)
{
	int blocked = 0, escaped = 0, errors = 0;
	size_t i;

	for (i = 0; i < NPROBES; i++) {
		switch (run_one(&probes[i])) {
		case 0:
			blocked++;
			break;
		case 1:
			escaped++;
			break;
		default:
			errors++;
			break;
		}
	}
	printf("SUMMARY: %zu probes, %d blocked, %d escaped, %d errors\n", NPROBES, blocked,
	       escaped, errors);
	fflush(stdout);
	return escaped ? 1 : errors ? 2 : 0;
}

static void usage(FILE *f)
{
	fprintf(f, "usage: escape_probe NAME [PATH] | all [MARKER] | list\n"
		   "exit status: 0 blocked, 1 escaped, 2 usage or setup error\n");
}

int main(int argc, char **argv)
{
	size_t i;

	if (argc < 2 || argc > 3) {
		usage(stderr);
		return 2;
	}
	if (strcmp(argv[1], "list") == 0) {
		for (i = 0; i < NPROBES; i++)
			printf("%s\t%s\n", probes[i].name, probes[i].what);
		return 0;
	}
	if (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0) {
		usage(stdout);
		return 0;
	}
	opt_path = argc > 2 ? argv[2] : NULL;
	if (strcmp(argv[1], "all") == 0)
		return run_all();
	for (i = 0; i < NPROBES; i++)
		if (strcmp(argv[1], probes[i].name) == 0)
			return run_one(&probes[i]);
	fprintf(stderr, "escape_probe: unknown probe '%s' (try: escape_probe list)\n", argv[1]);
	return 2;
}
