/* SPDX-License-Identifier: MIT */
/* Baseline: the cost of one seccomp user-notification round trip (and of a ptrace stop pair). */

/*
 * A child installs a filter whose only rule is SCMP_ACT_NOTIFY on getppid(2), passes the
 * listener to the parent over a socketpair (SCM_RIGHTS) and calls getppid N times; the parent
 * loops RECV -> SEND(FLAG_CONTINUE), doing nothing else, so the child's time per call is the
 * smallest round trip any supervisor can reach on this machine. The child measures (it is the
 * one that waits) and sends its per-run times back over the socketpair.
 *
 * Usage: notify_pair [--ptrace] [-n CALLS] [-r RUNS]
 * Prints "key value" lines; value is microseconds per call (median over RUNS runs), or "NA"
 * followed by a '#' comment line saying why. Keys: bare_syscall_us (no filter),
 * notify_rtt_us, notify_rtt_sync_us (with SECCOMP_USER_NOTIF_FD_SYNC_WAKE_UP),
 * notify_rtt_best_us (the lower of the two: the baseline a supervisor should reach),
 * notify_rtt_poll_us (poll() before each RECV, as an event loop does; with SYNC_WAKE_UP when
 * the kernel has it) and notify_rtt_1cpu_us (both processes pinned to one CPU: no cross-CPU
 * wake-up); with --ptrace, ptrace_rtt_us and ptrace_rtt_1cpu_us (one syscall = an entry stop and an
 * exit stop).
 */

#include "common/seccomp_compat.h" /* SYNC_WAKE_UP: Linux 6.6; Debian 12's headers lack it */

#include <errno.h>
#include <linux/filter.h>
#include <sched.h>
#include <seccomp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <poll.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define MAX_RUNS 64
#define WARMUP	 1000

static long calls = 20000;
static int runs = 7;

static void die(const char *what)
{
	fprintf(stderr, "notify_pair: %s: %s\n", what, strerror(errno));
	exit(1);
}

static double now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

/* Time CALLS getppid calls RUNS times after a warmup; results go to out[]. */
static void time_calls(double *out)
{
	for (long i = 0; i < WARMUP; i++)
		syscall(SYS_getppid);
	for (int r = 0; r < runs; r++) {
		double t0 = now_us();

		for (long i = 0; i < calls; i++)
			syscall(SYS_getppid);
		out[r] = (now_us() - t0) / calls;
	}
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

static double median(double *v, int n)
{
	qsort(v, n, sizeof(*v), cmp_double);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

static void send_fd(int sock, int fd)
{
	char dummy = 'F';
	struct iovec iov = {.iov_base = &dummy, .iov_len = 1};
	union {
		char buf[CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} u;
	struct msghdr msg = {.msg_iov = &iov,
			     .msg_iovlen = 1,
			     .msg_control = u.buf,
			     .msg_controllen = sizeof(u.buf)};
	struct cmsghdr *c = CMSG_FIRSTHDR(&msg);

	memset(u.buf, 0, sizeof(u.buf));
	c->cmsg_level = SOL_SOCKET;
	c->cmsg_type = SCM_RIGHTS;
	c->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(c), &fd, sizeof(int));
	if (sendmsg(sock, &msg, 0) != 1)
		die("sendmsg listener");
}

/* Returns the received descriptor or -1. */
static int recv_fd(int sock)
{
	char dummy;
	struct iovec iov = {.iov_base = &dummy, .iov_len = 1};
	union {
		char buf[CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} u;
	struct msghdr msg = {.msg_iov = &iov,
			     .msg_iovlen = 1,
			     .msg_control = u.buf,
			     .msg_controllen = sizeof(u.buf)};
	struct cmsghdr *c;
	int fd;

	if (recvmsg(sock, &msg, 0) != 1)
		return -1;
	c = CMSG_FIRSTHDR(&msg);
	if (!c || c->cmsg_type != SCM_RIGHTS)
		return -1;
	memcpy(&fd, CMSG_DATA(c), sizeof(int));
	return fd;
}

static void write_all(int fd, const void *p, size_t n)
{
	if (write(fd, p, n) != (ssize_t)n)
		die("write results");
}

static int read_all(int fd, void *p, size_t n)
{
	size_t got = 0;

	while (got < n) {
		ssize_t k = read(fd, (char *)p + got, n - got);

		if (k <= 0)
			return -1;
		got += k;
	}
	return 0;
}

/* The child side of the notify pair: filter, hand over the listener, wait for "go", measure. */
static void notify_child(int sock)
{
	scmp_filter_ctx ctx;
	double res[MAX_RUNS];
	char go;
	int rc, lfd;

	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0))
		die("PR_SET_NO_NEW_PRIVS");
	ctx = seccomp_init(SCMP_ACT_ALLOW);
	if (!ctx)
		die("seccomp_init");
	rc = seccomp_rule_add(ctx, SCMP_ACT_NOTIFY, SCMP_SYS(getppid), 0);
	if (rc == 0)
		rc = seccomp_load(ctx);
	if (rc < 0) {
		errno = -rc;
		die("seccomp filter with SCMP_ACT_NOTIFY");
	}
	lfd = seccomp_notify_fd(ctx);
	if (lfd < 0) {
		errno = -lfd;
		die("seccomp_notify_fd");
	}
	send_fd(sock, lfd);
	close(lfd);
	seccomp_release(ctx);
	if (read(sock, &go, 1) != 1)
		_exit(1);
	time_calls(res);
	write_all(sock, res, sizeof(res[0]) * runs);
	_exit(0);
}

/* run_notify() variants: synchronous wake-ups; poll() before each RECV as an event loop does. */
#define NP_SYNC 1u
#define NP_POLL 2u

/*
 * One notify measurement in a fresh child, in the variant HOW (NP_* bits).
 * Returns 0, or -1 with errno set when the kernel refused SET_FLAGS.
 */
static int run_notify(unsigned how, double *res)
{
	long total = WARMUP + calls * runs;
	struct seccomp_notif req;
	struct seccomp_notif_resp resp;
	int sv[2], lfd, status, saved;
	pid_t pid;

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv))
		die("socketpair");
	pid = fork();
	if (pid < 0)
		die("fork");
	if (pid == 0) {
		close(sv[0]);
		notify_child(sv[1]);
	}
	close(sv[1]);
	lfd = recv_fd(sv[0]);
	if (lfd < 0) {
		fprintf(stderr, "notify_pair: child did not send a listener\n");
		exit(1);
	}
	if ((how & NP_SYNC) &&
	    ioctl(lfd, SECCOMP_IOCTL_NOTIF_SET_FLAGS, SECCOMP_USER_NOTIF_FD_SYNC_WAKE_UP)) {
		saved = errno;
		/* The child still waits for "go": EOF on the socket makes it exit. */
		close(lfd);
		close(sv[0]);
		waitpid(pid, &status, 0);
		errno = saved;
		return -1;
	}
	if (write(sv[0], "g", 1) != 1)
		die("write go");
	for (long i = 0; i < total; i++) {
		if (how & NP_POLL) {
			struct pollfd pfd = {.fd = lfd, .events = POLLIN};

			if (poll(&pfd, 1, -1) < 0 && errno != EINTR)
				die("poll");
		}
		/* RECV wants a zeroed buffer; anything else is EINVAL. */
		memset(&req, 0, sizeof(req));
		if (ioctl(lfd, SECCOMP_IOCTL_NOTIF_RECV, &req)) {
			if (errno == EINTR)
				continue;
			die("SECCOMP_IOCTL_NOTIF_RECV");
		}
		memset(&resp, 0, sizeof(resp));
		resp.id = req.id;
		resp.flags = SECCOMP_USER_NOTIF_FLAG_CONTINUE;
		if (ioctl(lfd, SECCOMP_IOCTL_NOTIF_SEND, &resp) && errno != ENOENT)
			die("SECCOMP_IOCTL_NOTIF_SEND");
	}
	if (read_all(sv[0], res, sizeof(res[0]) * runs)) {
		fprintf(stderr, "notify_pair: child did not report\n");
		exit(1);
	}
	close(lfd);
	close(sv[0]);
	waitpid(pid, &status, 0);
	return 0;
}

/* Child stops at every syscall entry and exit (PTRACE_SYSCALL); the tracer only resumes it. */
static void run_ptrace(double *res)
{
	int sv[2], status;
	pid_t pid;

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv))
		die("socketpair");
	pid = fork();
	if (pid < 0)
		die("fork");
	if (pid == 0) {
		double r[MAX_RUNS];

		close(sv[0]);
		if (ptrace(PTRACE_TRACEME, 0, 0, 0))
			die("PTRACE_TRACEME");
		raise(SIGSTOP);
		time_calls(r);
		write_all(sv[1], r, sizeof(r[0]) * runs);
		_exit(0);
	}
	close(sv[1]);
	if (waitpid(pid, &status, 0) != pid || !WIFSTOPPED(status))
		die("waitpid for the traced child");
	if (ptrace(PTRACE_SETOPTIONS, pid, 0, PTRACE_O_TRACESYSGOOD | PTRACE_O_EXITKILL))
		die("PTRACE_SETOPTIONS");
	for (int sig = 0;;) {
		if (ptrace(PTRACE_SYSCALL, pid, 0, sig))
			die("PTRACE_SYSCALL");
		if (waitpid(pid, &status, 0) != pid)
			die("waitpid");
		if (WIFEXITED(status) || WIFSIGNALED(status))
			break;
		sig = WIFSTOPPED(status) && WSTOPSIG(status) != (SIGTRAP | 0x80) ? WSTOPSIG(status)
										 : 0;
	}
	if (read_all(sv[0], res, sizeof(res[0]) * runs)) {
		fprintf(stderr, "notify_pair: traced child did not report\n");
		exit(1);
	}
	close(sv[0]);
}

/* Pin this process (and the children it forks later) to the CPU it is running on. */
static void pin_one_cpu(void)
{
	cpu_set_t set;
	int cpu = sched_getcpu();

	CPU_ZERO(&set);
	CPU_SET(cpu < 0 ? 0 : cpu, &set);
	if (sched_setaffinity(0, sizeof(set), &set))
		die("sched_setaffinity");
}

static void usage(void)
{
	fprintf(stderr, "usage: notify_pair [--ptrace] [-n CALLS] [-r RUNS]\n");
	exit(2);
}

int main(int argc, char **argv)
{
	double bare[MAX_RUNS], plain[MAX_RUNS], sync[MAX_RUNS], polled[MAX_RUNS], traced[MAX_RUNS];
	double tmp[MAX_RUNS];
	double best;
	int do_ptrace = 0, have_sync = 1, sync_errno = 0;

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--ptrace"))
			do_ptrace = 1;
		else if (!strcmp(argv[i], "-n") && i + 1 < argc)
			calls = strtol(argv[++i], NULL, 10);
		else if (!strcmp(argv[i], "-r") && i + 1 < argc)
			runs = atoi(argv[++i]);
		else
			usage();
	}
	if (calls < 1 || runs < 1 || runs > MAX_RUNS)
		usage();
	setvbuf(stdout, NULL, _IOLBF, 0);

	time_calls(bare);
	printf("calls %ld\nruns %d\n", calls, runs);
	printf("bare_syscall_us %.3f\n", median(bare, runs));

	if (do_ptrace) {
		run_ptrace(traced);
		printf("ptrace_rtt_us %.3f\n", median(traced, runs));
		pin_one_cpu();
		run_ptrace(traced);
		printf("ptrace_rtt_1cpu_us %.3f\n", median(traced, runs));
		return 0;
	}

	/*
	 * One run per child, alternating the variants, so that drift (frequency scaling, a
	 * noisy neighbour) hits them alike.
	 */
	int keep = runs;

	runs = 1;
	for (int r = 0; r < keep; r++) {
		run_notify(0, tmp);
		plain[r] = tmp[0];
		if (have_sync) {
			if (run_notify(NP_SYNC, tmp)) {
				have_sync = 0;
				sync_errno = errno;
			} else {
				sync[r] = tmp[0];
			}
		}
		run_notify(NP_POLL | (have_sync ? NP_SYNC : 0), tmp);
		polled[r] = tmp[0];
	}
	runs = keep;
	best = median(plain, runs);
	printf("notify_rtt_us %.3f\n", best);
	if (have_sync) {
		double s = median(sync, runs);

		printf("notify_rtt_sync_us %.3f\n", s);
		if (s < best)
			best = s;
	} else {
		printf("notify_rtt_sync_us NA\n# SECCOMP_USER_NOTIF_FD_SYNC_WAKE_UP unavailable: %s "
		       "(needs Linux >= 6.6)\n",
		       strerror(sync_errno));
	}
	printf("notify_rtt_best_us %.3f\n", best);
	printf("notify_rtt_poll_us %.3f\n", median(polled, runs));

	/* Lower bound, for reference: supervisor and child share one CPU, so no wake-up IPI. */
	pin_one_cpu();
	runs = 1;
	for (int r = 0; r < keep; r++) {
		run_notify(0, tmp);
		plain[r] = tmp[0];
	}
	runs = keep;
	printf("notify_rtt_1cpu_us %.3f\n", median(plain, runs));
	return 0;
}
