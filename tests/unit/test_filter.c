/* SPDX-License-Identifier: MIT */
/* Unit tests for tracee/filter.h: the exported program, and the filter live in a forked child. */
#include "tracee/filter.h"

#include "common/cleanup.h"
#include "common/seccomp_compat.h"
#include "tests/unit/tap.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/filter.h>
#include <sched.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/personality.h>
#include <sys/prctl.h>
#include <linux/netlink.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <unistd.h>

/*
 * Every probe runs in a child under the filter, where nobody answers notifications: a probe
 * must never make a notified call (open for writing, execve, connect, mkdir, ...), or it
 * would block until the alarm. Denied calls get arguments the kernel would refuse anyway,
 * so a filter that let them through fails the test without side effects (as bubblewrap's
 * seccomp tests do): the errno tells the filter's answer from the kernel's.
 */
#define HIGH_BIT	(1UL << 32)
#define X32_SYSCALL_BIT 0x40000000L

static int listener = -1;

/* A descriptor-returning call: close what it gave and return 0, or -1 with errno. */
static long closed(long fd)
{
	if (fd < 0)
		return -1;
	close((int)fd);
	return 0;
}

static long p_ptrace(void)
{
	/* An invalid request on no process: the kernel says ESRCH, the filter EPERM. */
	return syscall(SYS_ptrace, -1L, 0L, 0L, 0L);
}

static long p_clone3(void)
{
	/* NULL arguments of size 0: the kernel says EINVAL, the filter ENOSYS. */
	return syscall(SYS_clone3, NULL, 0UL);
}

static long p_clone_newuser(void)
{
	/* CLONE_NEWUSER | CLONE_FS is invalid (EINVAL): no process is made either way. */
	return syscall(SYS_clone, (unsigned long)(CLONE_NEWUSER | CLONE_FS | SIGCHLD), 0L, 0L, 0L,
		       0L);
}

static long p_clone_newns(void)
{
	return syscall(SYS_clone, (unsigned long)(CLONE_NEWNS | CLONE_FS | SIGCHLD), 0L, 0L, 0L,
		       0L);
}

static long p_clone_parent(void)
{
	/* CLONE_SIGHAND without CLONE_VM is invalid (EINVAL): no process is made either way. */
	return syscall(SYS_clone, (unsigned long)(CLONE_PARENT | CLONE_SIGHAND | SIGCHLD), 0L, 0L,
		       0L, 0L);
}

static long p_unshare(void)
{
	/* unshare(0) does nothing and succeeds, unless denied. */
	return syscall(SYS_unshare, 0L);
}

static long p_mount(void)
{
	return syscall(SYS_mount, NULL, NULL, NULL, 0L, NULL);
}

static long p_io_uring(void)
{
	return syscall(SYS_io_uring_setup, 0L, NULL);
}

/* Legacy AIO: a NULL context pointer is EFAULT or EINVAL from the kernel, ENOSYS from the
   filter; io_submit to context 0 is EINVAL from the kernel. */
static long p_io_setup(void)
{
	return syscall(SYS_io_setup, 1L, NULL);
}

static long p_io_submit(void)
{
	return syscall(SYS_io_submit, 0L, 0L, NULL);
}

static long p_openat2(void)
{
	return syscall(SYS_openat2, (long)AT_FDCWD, NULL, NULL, 0L);
}

static long p_seccomp_listener(void)
{
	return syscall(SYS_seccomp, (long)SECCOMP_SET_MODE_FILTER,
		       (long)SECCOMP_FILTER_FLAG_NEW_LISTENER, NULL);
}

static long p_tiocsti(void)
{
	/* On a bad descriptor: the kernel says EBADF and pushes nothing into any terminal. */
	return syscall(SYS_ioctl, -1L, (unsigned long)TIOCSTI, NULL);
}

static long p_tiocsti_high(void)
{
	return syscall(SYS_ioctl, -1L, (unsigned long)TIOCSTI | HIGH_BIT, NULL);
}

static long p_fionread(void)
{
	return syscall(SYS_ioctl, -1L, (unsigned long)FIONREAD, NULL);
}

static long p_personality(void)
{
	return syscall(SYS_personality, (unsigned long)ADDR_NO_RANDOMIZE);
}

static long p_bpf(void)
{
	return syscall(SYS_bpf, -1L, NULL, 0L);
}

static long p_keyctl(void)
{
	return syscall(SYS_keyctl, -1L, 0L, 0L, 0L, 0L);
}

static long p_netlink(void)
{
	return closed(socket(AF_NETLINK, SOCK_RAW, NETLINK_ROUTE));
}

static long p_netlink_audit(void)
{
	return closed(socket(AF_NETLINK, SOCK_RAW, NETLINK_AUDIT));
}

static long p_netlink_diag(void)
{
	return closed(socket(AF_NETLINK, SOCK_DGRAM, NETLINK_SOCK_DIAG));
}

static long p_netlink_route_high(void)
{
	return closed(
		syscall(SYS_socket, (long)AF_NETLINK, (long)SOCK_RAW, (unsigned long)HIGH_BIT));
}

static long p_netlink_proto_high(void)
{
	return closed(syscall(SYS_socket, (long)AF_NETLINK, (long)SOCK_RAW,
			      (unsigned long)NETLINK_AUDIT | HIGH_BIT));
}

static long p_packet(void)
{
	return closed(socket(AF_PACKET, SOCK_DGRAM, 0));
}

static long p_unspec(void)
{
	return closed(socket(AF_UNSPEC, SOCK_STREAM, 0));
}

static long p_unix_high(void)
{
	/* The kernel reads the domain as an int: this is AF_UNIX to it, so the filter must not
	   compare all 64 bits for equality with AF_UNIX and let it through. */
	return closed(
		syscall(SYS_socket, (unsigned long)AF_UNIX | HIGH_BIT, (long)SOCK_STREAM, 0L));
}

static long p_netlink_high(void)
{
	return closed(
		syscall(SYS_socket, (unsigned long)AF_NETLINK | HIGH_BIT, (long)SOCK_RAW, 0L));
}

static long p_socketpair_netlink(void)
{
	/* Netlink has no socketpair (EOPNOTSUPP), but the kernel creates the socket first. */
	int sv[2];
	long r = syscall(SYS_socketpair, (long)AF_NETLINK, (long)SOCK_RAW, 0L, sv);

	if (r == 0) {
		close(sv[0]);
		close(sv[1]);
	}
	return r;
}

static long p_socketpair_unix_high(void)
{
	int sv[2];
	long r = syscall(SYS_socketpair, (unsigned long)AF_UNIX | HIGH_BIT, (long)SOCK_STREAM, 0L,
			 sv);

	if (r == 0) {
		close(sv[0]);
		close(sv[1]);
	}
	return r;
}

static long p_socketpair_unix(void)
{
	int sv[2];
	long r = socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv);

	if (r == 0) {
		close(sv[0]);
		close(sv[1]);
	}
	return r;
}

static long p_unix(void)
{
	return closed(socket(AF_UNIX, SOCK_STREAM, 0));
}

static long p_inet(void)
{
	return closed(socket(AF_INET, SOCK_DGRAM, 0));
}

static long p_open_ro(void)
{
	return closed(open("/etc/hostname", O_RDONLY | O_CLOEXEC));
}

static long p_openat_ro(void)
{
	return closed(syscall(SYS_openat, (long)AT_FDCWD, "/etc/hostname", (long)O_RDONLY, 0L));
}

static long p_open_append_ro(void)
{
	/* O_APPEND without a write access mode is still a read-only open. */
	return closed(open("/etc/hostname", O_RDONLY | O_APPEND | O_CLOEXEC));
}

static long p_read(void)
{
	char c;
	int fd = open("/etc/hostname", O_RDONLY | O_CLOEXEC);
	long r;

	if (fd < 0)
		return -1;
	r = read(fd, &c, 1);
	close(fd);
	return r < 0 ? -1 : 0;
}

static long p_listener_valid(void)
{
	/* A seccomp listener knows no notification 1 (ENOENT); another descriptor says ENOTTY. */
	unsigned long long id = 1;

	return syscall(SYS_ioctl, (long)listener, (unsigned long)SECCOMP_IOCTL_NOTIF_ID_VALID, &id);
}

static long p_status(void)
{
	char buf[4096];
	int fd = open("/proc/self/status", O_RDONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return -1;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return -1;
	buf[n] = '\0';
	if (!strstr(buf, "\nSeccomp:\t2\n")) {
		errno = EINVAL;
		return -1;
	}
	return 0;
}

static const struct probe {
	const char *what;
	long (*run)(void);
	int want; /* errno the call must fail with, or 0 when it must succeed */
} probes[] = {
	{"ptrace is denied with EPERM", p_ptrace, EPERM},
	{"clone3 is denied with ENOSYS (libc falls back to clone)", p_clone3, ENOSYS},
	{"clone(CLONE_NEWUSER) is denied with EPERM", p_clone_newuser, EPERM},
	{"clone(CLONE_NEWNS) is denied with EPERM", p_clone_newns, EPERM},
	{"clone(CLONE_PARENT) is denied with EPERM", p_clone_parent, EPERM},
	{"unshare is denied with EPERM", p_unshare, EPERM},
	{"mount is denied with EPERM", p_mount, EPERM},
	{"io_uring_setup is denied with ENOSYS", p_io_uring, ENOSYS},
	{"io_setup (legacy AIO) is denied with ENOSYS", p_io_setup, ENOSYS},
	{"io_submit (legacy AIO) is denied with ENOSYS", p_io_submit, ENOSYS},
	{"openat2 is denied with ENOSYS (libc falls back to openat)", p_openat2, ENOSYS},
	{"a nested seccomp listener is denied with EPERM", p_seccomp_listener, EPERM},
	{"ioctl(TIOCSTI) is denied with EPERM", p_tiocsti, EPERM},
	{"ioctl(TIOCSTI | 1<<32) is denied with EPERM", p_tiocsti_high, EPERM},
	{"ioctl(FIONREAD) reaches the kernel (EBADF)", p_fionread, EBADF},
	{"personality(ADDR_NO_RANDOMIZE) is denied with EPERM", p_personality, EPERM},
	{"bpf is denied with EPERM", p_bpf, EPERM},
	{"keyctl is denied with EPERM", p_keyctl, EPERM},
	{"socket(AF_NETLINK, NETLINK_ROUTE) works (interfaces, addresses, routes)", p_netlink, 0},
	{"socket(AF_NETLINK, NETLINK_AUDIT) is refused", p_netlink_audit, EPROTONOSUPPORT},
	{"socket(AF_NETLINK, NETLINK_SOCK_DIAG) is refused", p_netlink_diag, EPROTONOSUPPORT},
	{"socket(AF_NETLINK, 1<<32) is refused (never read as NETLINK_ROUTE)", p_netlink_route_high,
	 EPROTONOSUPPORT},
	{"socket(AF_NETLINK, NETLINK_AUDIT | 1<<32) is refused", p_netlink_proto_high,
	 EPROTONOSUPPORT},
	{"socket(AF_PACKET) is refused with EAFNOSUPPORT", p_packet, EAFNOSUPPORT},
	{"socket(AF_UNSPEC) is refused with EAFNOSUPPORT", p_unspec, EAFNOSUPPORT},
	{"socket(AF_UNIX | 1<<32) is refused", p_unix_high, EAFNOSUPPORT},
	{"socket(AF_NETLINK | 1<<32) is refused", p_netlink_high, EAFNOSUPPORT},
	{"socketpair(AF_NETLINK) is refused with EAFNOSUPPORT", p_socketpair_netlink, EAFNOSUPPORT},
	{"socketpair(AF_UNIX | 1<<32) is refused", p_socketpair_unix_high, EAFNOSUPPORT},
	{"socketpair(AF_UNIX) works", p_socketpair_unix, 0},
	{"socket(AF_UNIX, SOCK_STREAM) works", p_unix, 0},
	{"socket(AF_INET, SOCK_DGRAM) works", p_inet, 0},
	{"open(/etc/hostname, O_RDONLY) works without a notification", p_open_ro, 0},
	{"openat(/etc/hostname, O_RDONLY) works without a notification", p_openat_ro, 0},
	{"open(O_RDONLY | O_APPEND) works without a notification", p_open_append_ro, 0},
	{"read works", p_read, 0},
	{"the listener is a seccomp notification descriptor", p_listener_valid, ENOENT},
	{"/proc/self/status shows seccomp filter mode", p_status, 0},
};

struct result {
	long ret;
	int err;
};

static void child_probes(int out)
{
	struct filter_info info;
	struct result res;
	size_t i;

	alarm(5); /* a notified call would block forever: fail instead of hanging */
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		_exit(100);
	listener = filter_install(&info);
	res.ret = listener;
	res.err = info.wait_killable;
	if (write(out, &res, sizeof(res)) != sizeof(res) || listener < 0)
		_exit(101);
	for (i = 0; i < ARRAY_SIZE(probes); i++) {
		errno = 0;
		res.ret = probes[i].run();
		res.err = res.ret < 0 ? errno : 0;
		if (write(out, &res, sizeof(res)) != sizeof(res))
			_exit(102);
	}
	_exit(0);
}

/* Read one result; false at the end of what the child sent. */
static bool read_result(int fd, struct result *res)
{
	size_t got = 0;

	while (got < sizeof(*res)) {
		ssize_t n = read(fd, (char *)res + got, sizeof(*res) - got);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return false;
		got += (size_t)n;
	}
	return true;
}

static bool kernel_at_least(int major, int minor)
{
	struct utsname u;
	int ma = 0, mi = 0;

	if (uname(&u) < 0 || sscanf(u.release, "%d.%d", &ma, &mi) != 2)
		return false;
	return ma > major || (ma == major && mi >= minor);
}

static void describe_exit(int status)
{
	if (WIFSIGNALED(status))
		printf("#   child killed by signal %d (%s)%s\n", WTERMSIG(status),
		       strsignal(WTERMSIG(status)),
		       WTERMSIG(status) == SIGALRM ? ": a probe blocked on a notification?" : "");
	else if (WIFEXITED(status))
		printf("#   child exited with %d\n", WEXITSTATUS(status));
}

static void test_live(void)
{
	int pfd[2], status = 0;
	struct result res;
	pid_t pid;
	size_t i;

	if (pipe2(pfd, O_CLOEXEC) < 0) {
		ok(0, "pipe: %s", strerror(errno));
		return;
	}
	pid = fork();
	if (pid < 0) {
		ok(0, "fork: %s", strerror(errno));
		return;
	}
	if (pid == 0) {
		close(pfd[0]);
		child_probes(pfd[1]);
	}
	close(pfd[1]);
	if (read_result(pfd[0], &res)) {
		ok(res.ret >= 0, "filter_install returns a listener descriptor in the child");
		if (res.ret < 0)
			printf("#   got %ld\n", res.ret);
		ok(res.err || !kernel_at_least(5, 19),
		   "the filter waits killably for the supervisor (Linux >= 5.19)");
	} else {
		ok(0, "filter_install returns a listener descriptor in the child");
	}
	for (i = 0; i < ARRAY_SIZE(probes); i++) {
		if (!read_result(pfd[0], &res)) {
			ok(0, "%s (no answer from the child)", probes[i].what);
			continue;
		}
		if (probes[i].want) {
			ok(res.ret == -1 && res.err == probes[i].want, "%s", probes[i].what);
		} else {
			ok(res.ret >= 0, "%s", probes[i].what);
		}
		if (probes[i].want ? res.ret != -1 || res.err != probes[i].want : res.ret < 0)
			printf("#   got %ld, errno %d (%s)\n", res.ret, res.err, strerror(res.err));
	}
	close(pfd[0]);
	waitpid(pid, &status, 0);
	ok(WIFEXITED(status) && WEXITSTATUS(status) == 0, "the child ran every probe and exited");
	if (!(WIFEXITED(status) && WEXITSTATUS(status) == 0))
		describe_exit(status);
}

/* Run fn in a child under the filter; returns its wait status. */
static int under_filter(void (*fn)(void))
{
	int status = 0;
	pid_t pid = fork();

	if (pid < 0)
		return -1;
	if (pid == 0) {
		struct filter_info info;

		alarm(5);
		if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0 || filter_install(&info) < 0)
			_exit(100);
		fn();
		_exit(0);
	}
	waitpid(pid, &status, 0);
	return status;
}

static void x32_getpid(void)
{
	syscall(X32_SYSCALL_BIT | SYS_getpid);
}

#if defined(__x86_64__)
static void i386_getpid(void)
{
	long ret = 20; /* __NR_getpid on i386 */

	__asm__ volatile("int $0x80" : "+a"(ret) : : "memory");
}
#endif

static void test_other_abis(void)
{
	int status = under_filter(x32_getpid);

	ok(WIFSIGNALED(status) && WTERMSIG(status) == SIGSYS,
	   "an x32 system call kills the process (SIGSYS)");
	if (!(WIFSIGNALED(status) && WTERMSIG(status) == SIGSYS))
		describe_exit(status);
#if defined(__x86_64__)
	status = under_filter(i386_getpid);
	if (WIFSIGNALED(status) && WTERMSIG(status) == SIGSEGV) {
		ok(1, "an i386 system call (int 0x80) kills the process # SKIP no IA32 emulation");
	} else {
		ok(WIFSIGNALED(status) && WTERMSIG(status) == SIGSYS,
		   "an i386 system call (int 0x80) kills the process (SIGSYS)");
		if (!(WIFSIGNALED(status) && WTERMSIG(status) == SIGSYS))
			describe_exit(status);
	}
#endif
}

static void test_export(void)
{
	cleanup_fd int mfd = memfd_create("test-filter", MFD_CLOEXEC);
	off_t size;

	if (mfd < 0) {
		ok(0, "memfd_create: %s", strerror(errno));
		return;
	}
	is_int(filter_export(mfd), 0, "filter_export writes the program");
	size = lseek(mfd, 0, SEEK_END);
	ok(size > 0, "the program is not empty (%lld bytes)", (long long)size);
	is_int(size % (off_t)sizeof(struct sock_filter), 0,
	       "its size is a whole number of BPF instructions");
	ok(size / (off_t)sizeof(struct sock_filter) <= BPF_MAXINSNS,
	   "it fits the kernel's limit of %d instructions (%lld)", BPF_MAXINSNS,
	   (long long)(size / (off_t)sizeof(struct sock_filter)));
	ok(filter_export(-1) < 0, "filter_export to a bad descriptor fails");
}

int main(void)
{
	setvbuf(stdout, NULL, _IONBF, 0);
	test_export();
	test_live();
	test_other_abis();
	return tap_done();
}
