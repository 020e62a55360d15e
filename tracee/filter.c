/* SPDX-License-Identifier: MIT */
/*
 * Builds the seccomp filter with libseccomp and loads it with the raw seccomp() call, since
 * libseccomp 2.5.4 (Debian 12) cannot ask for WAIT_KILLABLE_RECV.
 *
 * Argument rules follow two lessons: every comparison on a 32-bit argument is a masked
 * comparison on the low 32 bits (a plain 64-bit EQ is bypassed by setting high bits, as
 * socket(AF_UNIX | 1UL << 32) did in a shipped filter), and rules on one syscall stay simple
 * because libseccomp 2.5.4 can merge overlapping 64-bit argument rules wrongly; each rule
 * here is checked behaviourally by tests/escape.
 */
#include "tracee/filter.h"

#include "common/cleanup.h"
#include "common/err.h"
#include "common/seccomp_compat.h"
#include "common/testenv.h"
#include "tracee/syscalls.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/netlink.h>
#include <linux/filter.h>
#include <sched.h>
#include <seccomp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/personality.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#define MASK32 0xffffffffULL

struct deny {
	int nr;
	int err;
};

/* Denied outright: kernel attack surface, escapes from the namespaces, host-wide effects. */
static const struct deny deny_list[] = {
	/* io_uring runs operations in kernel workers that seccomp never sees. */
	{SCMP_SYS(io_uring_setup), ENOSYS},
	{SCMP_SYS(io_uring_enter), ENOSYS},
	{SCMP_SYS(io_uring_register), ENOSYS},
	/*
	 * Legacy AIO completes into memory from interrupt context, whenever it likes: a write
	 * the freeze around an exec cannot hold still. glibc's POSIX AIO (aio_read) uses threads,
	 * not these, and ENOSYS is what a kernel without CONFIG_AIO answers, so libaio users fall
	 * back. io_submit alone has no context to submit to; it is refused too for clarity.
	 */
	{SCMP_SYS(io_setup), ENOSYS},
	{SCMP_SYS(io_submit), ENOSYS},
	/* Reading or writing another process: the supervisor's copies must stay authoritative. */
	{SCMP_SYS(ptrace), EPERM},
	{SCMP_SYS(process_vm_readv), EPERM},
	{SCMP_SYS(process_vm_writev), EPERM},
	{SCMP_SYS(kcmp), EPERM},
	{SCMP_SYS(pidfd_getfd), EPERM},
	{SCMP_SYS(bpf), EPERM},
	{SCMP_SYS(perf_event_open), EPERM},
	/* userfaultfd stretches kernel races (it stalls page faults at will). */
	{SCMP_SYS(userfaultfd), EPERM},
	{SCMP_SYS(keyctl), EPERM},
	{SCMP_SYS(add_key), EPERM},
	{SCMP_SYS(request_key), EPERM},
	/* The filesystem view is fixed once the program starts. */
	{SCMP_SYS(mount), EPERM},
	{SCMP_SYS(umount2), EPERM},
	{SCMP_SYS(pivot_root), EPERM},
	{SCMP_SYS(chroot), EPERM},
	{SCMP_SYS(open_tree), EPERM},
	{SCMP_SYS(move_mount), EPERM},
	{SCMP_SYS(fsopen), EPERM},
	{SCMP_SYS(fsconfig), EPERM},
	{SCMP_SYS(fsmount), EPERM},
	{SCMP_SYS(fspick), EPERM},
	{SCMP_SYS(mount_setattr), EPERM},
	{SYS_open_tree_attr, EPERM},
	{SCMP_SYS(unshare), EPERM},
	{SCMP_SYS(setns), EPERM},
	/* clone3 keeps its flags in memory, out of the filter's sight: libc falls back to clone. */
	{SCMP_SYS(clone3), ENOSYS},
	/* File handles bypass path lookup and so the overlay's view. */
	{SCMP_SYS(open_by_handle_at), EPERM},
	{SCMP_SYS(name_to_handle_at), EPERM},
	/* openat2's flags live in memory too; libc and Python fall back to openat. */
	{SCMP_SYS(openat2), ENOSYS},
	{SCMP_SYS(kexec_load), EPERM},
	{SCMP_SYS(kexec_file_load), EPERM},
	{SCMP_SYS(init_module), EPERM},
	{SCMP_SYS(finit_module), EPERM},
	{SCMP_SYS(delete_module), EPERM},
	{SCMP_SYS(reboot), EPERM},
	{SCMP_SYS(swapon), EPERM},
	{SCMP_SYS(swapoff), EPERM},
	{SCMP_SYS(acct), EPERM},
	{SCMP_SYS(quotactl), EPERM},
	{SCMP_SYS(quotactl_fd), EPERM},
	{SCMP_SYS(syslog), EPERM},
	{SCMP_SYS(settimeofday), EPERM},
	{SCMP_SYS(clock_settime), EPERM},
	{SCMP_SYS(clock_adjtime), EPERM},
	{SCMP_SYS(adjtimex), EPERM},
	{SCMP_SYS(iopl), EPERM},
	{SCMP_SYS(ioperm), EPERM},
	{SCMP_SYS(modify_ldt), EPERM},
	{SCMP_SYS(mbind), EPERM},
	{SCMP_SYS(set_mempolicy), EPERM},
	{SCMP_SYS(migrate_pages), EPERM},
	{SCMP_SYS(move_pages), EPERM},
	{SYS_set_mempolicy_home_node, EPERM},
	{SCMP_SYS(lookup_dcookie), EPERM},
	{SCMP_SYS(vhangup), EPERM},
	{SCMP_SYS(uselib), EPERM},
};

/*
 * The calls the supervisor decides and records (tracee/syscalls.h): file changes, so that
 * every change is attributed, execs, the network, and ID changes.
 */
SYSCALL_TABLE_BEGIN
static const struct {
	int nr;
	enum syscall_notify when;
	struct syscall_args arg;
} notified[] = {
#define X(name, cls, when, ...) {SYS_##name, NOTIFY_##when, SYSCALL_ARGS(__VA_ARGS__)},
	AIRLOCK_SYSCALLS(X)
#undef X
};
SYSCALL_TABLE_END

/* Open flags that make an open a write. O_TMPFILE needs O_WRONLY or O_RDWR, so it is here. */
static const unsigned long write_open_flags[] = {O_WRONLY, O_RDWR, O_CREAT, O_TRUNC};

/* CLONE_NEW* flags: a new namespace would let the program build its own mounts. */
static const unsigned long clone_ns_flags[] = {
	CLONE_NEWNS,   CLONE_NEWCGROUP, CLONE_NEWUTS, CLONE_NEWIPC,
	CLONE_NEWUSER, CLONE_NEWPID,	CLONE_NEWNET,
};

/* personality() bits that weaken the address space (READ_IMPLIES_EXEC, no ASLR, page 0). */
static const unsigned long personality_bits[] = {
	READ_IMPLIES_EXEC, ADDR_NO_RANDOMIZE, MMAP_PAGE_ZERO, ADDR_COMPAT_LAYOUT, ADDR_LIMIT_3GB,
};

static int add_masked(scmp_filter_ctx ctx, uint32_t action, int nr, unsigned arg,
		      unsigned long long mask, unsigned long long value)
{
	struct scmp_arg_cmp cmp = {
		.arg = arg, .op = SCMP_CMP_MASKED_EQ, .datum_a = mask, .datum_b = value};

	return seccomp_rule_add_exact_array(ctx, action, nr, 1, &cmp);
}

/* Notify the supervisor of call nr, always or as when says. */
static int add_notify(scmp_filter_ctx ctx, int nr, enum syscall_notify when,
		      const struct syscall_args *arg)
{
	struct scmp_arg_cmp cmp;
	size_t i;
	int rc = 0;

	switch (when) {
	case NOTIFY_ALWAYS:
		return seccomp_rule_add_exact(ctx, SCMP_ACT_NOTIFY, nr, 0);
	case NOTIFY_OPEN_WRITE:
		for (i = 0; i < ARRAY_SIZE(write_open_flags) && rc == 0; i++)
			rc = add_masked(ctx, SCMP_ACT_NOTIFY, nr, (unsigned)arg->flags,
					write_open_flags[i], write_open_flags[i]);
		return rc;
	case NOTIFY_ADDRESSED:
		/* A NULL address sends on a connected socket: nothing to decide. */
		cmp = (struct scmp_arg_cmp){.arg = (unsigned)arg->addr, .op = SCMP_CMP_NE};
		return seccomp_rule_add_exact_array(ctx, SCMP_ACT_NOTIFY, nr, 1, &cmp);
	}
	return -EINVAL;
}

static int add_rules(scmp_filter_ctx ctx)
{
	size_t i;
	int rc = 0;
	unsigned long fam;

	for (i = 0; i < ARRAY_SIZE(deny_list) && rc == 0; i++)
		rc = seccomp_rule_add_exact(ctx, SCMP_ACT_ERRNO(deny_list[i].err), deny_list[i].nr,
					    0);
	for (i = 0; i < ARRAY_SIZE(notified) && rc == 0; i++)
		rc = add_notify(ctx, notified[i].nr, notified[i].when, &notified[i].arg);
	for (i = 0; i < ARRAY_SIZE(clone_ns_flags) && rc == 0; i++)
		rc = add_masked(ctx, SCMP_ACT_ERRNO(EPERM), SCMP_SYS(clone), 0, clone_ns_flags[i],
				clone_ns_flags[i]);
	/* CLONE_PARENT makes a sibling: a child of the caller's parent that the caller's program
	   runs, which would pass for a child of that parent's program
	   (supervisor/supervise/procs.h). */
	if (rc == 0)
		rc = add_masked(ctx, SCMP_ACT_ERRNO(EPERM), SCMP_SYS(clone), 0, CLONE_PARENT,
				CLONE_PARENT);
	/* TIOCSTI and TIOCLINUX push input into a terminal (CVE-2017-5226, CVE-2019-10063);
	   the ioctl command is an unsigned int, so only the low 32 bits are compared. */
	if (rc == 0)
		rc = add_masked(ctx, SCMP_ACT_ERRNO(EPERM), SCMP_SYS(ioctl), 1, MASK32, TIOCSTI);
	if (rc == 0)
		rc = add_masked(ctx, SCMP_ACT_ERRNO(EPERM), SCMP_SYS(ioctl), 1, MASK32, TIOCLINUX);
	/* A nested listener would let the program answer its own children's notifications. */
	if (rc == 0)
		rc = add_masked(ctx, SCMP_ACT_ERRNO(EPERM), SCMP_SYS(seccomp), 1,
				SECCOMP_FILTER_FLAG_NEW_LISTENER, SECCOMP_FILTER_FLAG_NEW_LISTENER);
	for (i = 0; i < ARRAY_SIZE(personality_bits) && rc == 0; i++)
		rc = add_masked(ctx, SCMP_ACT_ERRNO(EPERM), SCMP_SYS(personality), 0,
				personality_bits[i], personality_bits[i]);
	/*
	 * socket(): only AF_UNIX, AF_INET, AF_INET6, and AF_NETLINK with NETLINK_ROUTE. The
	 * domain is an int, so the kernel reads the low 32 bits; any value above AF_NETLINK in
	 * 64 bits (which includes every value with high bits set) is refused, and the families
	 * below it are refused one by one.
	 *
	 * NETLINK_ROUTE is what if_nameindex(), getifaddrs(), `ip addr` and Node's
	 * os.networkInterfaces() read the interfaces with. It speaks only of the sandbox's own
	 * network namespace, and every change it could make needs CAP_NET_ADMIN, which the
	 * program does not have. Every other netlink protocol is refused: the protocol is an
	 * int too, and refusing any 64-bit value but 0 also refuses 0 with high bits set, which
	 * the kernel would read as NETLINK_ROUTE: more refused than needed, never less.
	 */
	if (rc == 0)
		rc = seccomp_rule_add_exact(ctx, SCMP_ACT_ERRNO(EAFNOSUPPORT), SCMP_SYS(socket), 1,
					    SCMP_A0(SCMP_CMP_GT, AF_NETLINK));
	for (fam = 0; fam < AF_NETLINK && rc == 0; fam++) {
		if (fam == AF_UNIX || fam == AF_INET || fam == AF_INET6)
			continue;
		rc = add_masked(ctx, SCMP_ACT_ERRNO(EAFNOSUPPORT), SCMP_SYS(socket), 0, MASK32,
				fam);
	}
	if (rc == 0) {
		struct scmp_arg_cmp nl[2] = {
			{.arg = 0,
			 .op = SCMP_CMP_MASKED_EQ,
			 .datum_a = MASK32,
			 .datum_b = AF_NETLINK},
			{.arg = 2, .op = SCMP_CMP_NE, .datum_a = NETLINK_ROUTE},
		};

		rc = seccomp_rule_add_exact_array(ctx, SCMP_ACT_ERRNO(EPROTONOSUPPORT),
						  SCMP_SYS(socket), 2, nl);
	}
	/*
	 * socketpair() creates sockets too: the kernel loads the family's module and runs its
	 * create() before it finds out whether the family has pairs, and AF_TIPC does. Only
	 * AF_UNIX has a use here; any other 64-bit value, high bits included, is refused.
	 */
	if (rc == 0)
		rc = seccomp_rule_add_exact(ctx, SCMP_ACT_ERRNO(EAFNOSUPPORT), SCMP_SYS(socketpair),
					    1, SCMP_A0(SCMP_CMP_NE, AF_UNIX));
	return rc;
}

static scmp_filter_ctx build_filter(void)
{
	scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_ALLOW);
	int rc;

	if (!ctx) {
		error("cannot create the seccomp filter: out of memory");
		return NULL;
	}
	/* Anything but the native ABI (i386 int 0x80, x32) kills the process. */
	rc = seccomp_attr_set(ctx, SCMP_FLTATR_ACT_BADARCH, SCMP_ACT_KILL_PROCESS);
	if (rc == 0)
		rc = seccomp_attr_set(ctx, SCMP_FLTATR_CTL_NNP, 0);
#if SCMP_VER_MAJOR > 2 || (SCMP_VER_MAJOR == 2 && SCMP_VER_MINOR >= 5)
	/*
	 * A binary tree on the syscall number instead of one test after another: the same
	 * decisions in O(log n) steps. The kernel runs the program once per syscall number when
	 * it loads it (to cache the calls always allowed) and JIT-compiles it, both in the
	 * command's start: the load took 0.32 ms with the list, 0.155 ms with the tree
	 * (bench/README.md). Without it (an older libseccomp at run time) the list does the same.
	 */
	if (rc == 0)
		(void)seccomp_attr_set(ctx, SCMP_FLTATR_CTL_OPTIMIZE, 2);
#endif
	if (rc == 0)
		rc = add_rules(ctx);
	if (rc < 0) {
		error_rc(rc, "cannot build the seccomp filter");
		seccomp_release(ctx);
		return NULL;
	}
	return ctx;
}

int filter_export(int fd)
{
	scmp_filter_ctx ctx = build_filter();
	int rc;

	if (!ctx)
		return -EINVAL;
	rc = seccomp_export_bpf(ctx, fd);
	seccomp_release(ctx);
	return rc;
}

/* The filter as a BPF program in memory (libseccomp 2.5.4 can only write it to a fd). */
int filter_compile(struct sock_fprog *prog)
{
	cleanup_fd int mfd = -1;
	off_t size;
	void *data;
	int rc;

	mfd = memfd_create("airlock-filter", MFD_CLOEXEC);
	if (mfd < 0)
		return error_errno("cannot create a memfd for the seccomp filter");
	rc = filter_export(mfd);
	if (rc < 0)
		return error_rc(rc, "cannot export the seccomp filter");
	size = lseek(mfd, 0, SEEK_END);
	if (size <= 0 || size % (off_t)sizeof(struct sock_filter) != 0)
		return error_code(-EINVAL, "cannot export the seccomp filter: bad size %lld",
				  (long long)size);
	data = malloc((size_t)size);
	if (!data)
		return error_code(-ENOMEM, "cannot load the seccomp filter: out of memory");
	if (pread(mfd, data, (size_t)size, 0) != size) {
		free(data);
		return error_errno("cannot read the seccomp filter back");
	}
	prog->len = (unsigned short)(size / (off_t)sizeof(struct sock_filter));
	prog->filter = data;
	return 0;
}

int filter_load(const struct sock_fprog *prog, struct filter_info *info)
{
	unsigned long flags = SECCOMP_FILTER_FLAG_NEW_LISTENER;
	int fd;

	memset(info, 0, sizeof(*info));
	/* Linux 5.19: a signal no longer aborts a notification the supervisor has received. */
	if (test_feature_off("wait_killable_recv")) {
		fd = -1;
		errno = EINVAL; /* as a kernel before 5.19 answers */
	} else {
		fd = (int)syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER,
				  flags | SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV, prog);
	}
	if (fd >= 0)
		info->wait_killable = true;
	else if (errno == EINVAL)
		fd = (int)syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, flags, prog);
	if (fd < 0)
		return error_errno("cannot install the seccomp filter (seccomp user notification "
				   "needs Linux >= 5.5)");
	return fd;
}

int filter_install(struct filter_info *info)
{
	struct sock_fprog prog;
	int rc;

	rc = filter_compile(&prog);
	if (rc < 0)
		return rc;
	rc = filter_load(&prog, info);
	free(prog.filter);
	return rc;
}
