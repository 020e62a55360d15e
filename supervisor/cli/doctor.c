/* SPDX-License-Identifier: MIT */
/*
 * Why airlock cannot start here, and what to do about it (doctor.h). Each cause gets one
 * line naming it and its fix: people meet these inside containers, on Ubuntu's AppArmor
 * restriction and on old kernels, and a bare EPERM tells them nothing.
 */
#include "supervisor/cli/doctor.h"

#include "common/buf.h"
#include "common/cleanup.h"
#include "common/err.h"
#include "common/path.h"
#include "common/seccomp_compat.h"
#include "common/testenv.h"
#include "common/utf8.h"
#include "supervisor/cli/cli.h"
#include "supervisor/record/store.h"
#include "tracee/landlock.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/filter.h>
#include <linux/magic.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <stdint.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <stdarg.h>
#include <unistd.h>

#ifndef PIDFD_THREAD
#define PIDFD_THREAD O_EXCL
#endif
#ifndef SO_NETNS_COOKIE
#define SO_NETNS_COOKIE 71
#endif
#ifndef OVERLAYFS_SUPER_MAGIC
#define OVERLAYFS_SUPER_MAGIC 0x794c7630
#endif

#define NOT_TRIED (-1)

/* A sysctl's first line, from /proc/sys or the test's fake tree; NULL when absent. */
static char *sysctl_read(const char *name)
{
	const char *root = getenv("AIRLOCK_TEST_PROC_SYS");
	cleanup_free char *path = path_join(root && root[0] ? root : "/proc/sys", name);
	char *v = read_file(path, 256, NULL);

	if (v)
		v[strcspn(v, "\n")] = '\0';
	return v;
}

/* A sysctl as a number; -1 when absent or not a number. */
static long sysctl_long(const char *name)
{
	cleanup_free char *v = sysctl_read(name);
	char *end;
	long n;

	if (!v || !v[0])
		return -1;
	n = strtol(v, &end, 10);
	return *end ? -1 : n;
}

static bool kernel_at_least(unsigned want_major, unsigned want_minor, unsigned *major,
			    unsigned *minor)
{
	cleanup_free char *rel = sysctl_read("kernel/osrelease"); /* uname's, or the test's */
	struct utsname u;

	*major = *minor = 0;
	if (!rel && uname(&u) == 0)
		rel = xstrdup(u.release);
	if (!rel || sscanf(rel, "%u.%u", major, minor) != 2)
		return true; /* unknown: let the probes tell */
	return *major > want_major || (*major == want_major && *minor >= want_minor);
}

/* The AppArmor label of this process ("unconfined" when AppArmor is off or says so). */
static char *apparmor_label(void)
{
	char *v = read_file("/proc/self/attr/apparmor/current", 4096, NULL);

	if (!v)
		v = read_file("/proc/self/attr/current", 4096, NULL);
	if (!v)
		return xstrdup("unconfined");
	v[strcspn(v, "\n")] = '\0';
	return v;
}

/*
 * Ubuntu 23.10 and later: an unconfined process gets a user namespace without capabilities
 * in it, so the mounts fail. A profile that grants "userns" (apparmor/airlock) lifts it.
 */
static bool apparmor_restricts(void)
{
	cleanup_free char *label = NULL;

	if (geteuid() == 0 || sysctl_long("kernel/apparmor_restrict_unprivileged_userns") != 1)
		return false;
	label = apparmor_label();
	return label[0] == '\0' || strncmp(label, "unconfined", 10) == 0;
}

static void say_apparmor(void)
{
	cleanup_free char *self = realpath("/proc/self/exe", NULL);

	error("AppArmor restricts unprivileged user namespaces "
	      "(kernel.apparmor_restrict_unprivileged_userns=1) and %s runs without a profile "
	      "that allows them: install the airlock package, or copy apparmor/airlock to "
	      "/etc/apparmor.d/ (make install does) and run 'sudo apparmor_parser -r "
	      "/etc/apparmor.d/airlock' (the profile covers /usr/bin/airlock and "
	      "/usr/local/bin/airlock); or allow them for everyone until reboot with 'sudo sysctl "
	      "-w kernel.apparmor_restrict_unprivileged_userns=0'",
	      self ? self : "airlock");
}

static long fs_type(const char *path);

/* overlayfs cannot be an overlay's upper layer: a container's root filesystem is one. */
static void say_store_on_overlay(const char *store, int err)
{
	error("cannot mount overlayfs in a user namespace over the session store %s: %s (the "
	      "store is on overlayfs, as a container's root is, and overlayfs cannot hold an "
	      "overlay's changes): set AIRLOCK_STATE_DIR to a directory on a volume or a tmpfs",
	      store, strerror(err));
}

/*
 * Whether this process runs inside an airlock sandbox: the sandbox names its session in
 * AIRLOCK_SESSION, and this process has a seccomp filter. The program can remove the
 * variable; then the other causes below explain the failure, less plainly.
 */
static const char *inside_airlock(void)
{
	const char *id = getenv("AIRLOCK_SESSION");
	char line[256];
	bool filtered = false;
	FILE *f;

	if (!id || !id[0])
		return NULL;
	f = fopen("/proc/self/status", "re");
	if (!f)
		return NULL;
	while (fgets(line, sizeof(line), f))
		if (strncmp(line, "Seccomp:", 8) == 0)
			filtered = atoi(line + 8) == 2;
	fclose(f);
	return filtered ? id : NULL;
}

int doctor_preflight(void)
{
	const char *env = getenv("AIRLOCK_STATE_DIR");
	/* A relative AIRLOCK_STATE_DIR is refused by the caller, with its own message. */
	cleanup_free char *store = env && env[0] && env[0] != '/' ? NULL : store_root();
	unsigned major, minor;
	int causes = 0;
	const char *outer = inside_airlock();

	/* Said alone: every other check would only describe the outer sandbox. */
	if (outer) {
		cleanup_free char *shown = term_sanitize(outer);

		return error("cannot run inside an airlock sandbox (session %s): nesting is not "
			     "supported, because the outer sandbox refuses the new namespaces a "
			     "sandbox needs; run the command directly, it is sandboxed already",
			     shown);
	}
	if (!kernel_at_least(5, 11, &major, &minor)) {
		error("Linux %u.%u is too old: airlock needs Linux >= 5.11 (overlayfs in a user "
		      "namespace); upgrade the kernel or run airlock in a VM with a newer one",
		      major, minor);
		causes++;
	}
	if (geteuid() != 0 && sysctl_long("kernel/unprivileged_userns_clone") == 0) {
		error("unprivileged user namespaces are disabled "
		      "(kernel.unprivileged_userns_clone=0): enable them with 'sudo sysctl -w "
		      "kernel.unprivileged_userns_clone=1'");
		causes++;
	}
	if (sysctl_long("user/max_user_namespaces") == 0) {
		error("user namespaces are disabled (user.max_user_namespaces=0): enable them with "
		      "'sudo sysctl -w user.max_user_namespaces=15000'");
		causes++;
	}
	if (apparmor_restricts()) {
		say_apparmor();
		causes++;
	}
	if (store && (unsigned long)fs_type(store) == OVERLAYFS_SUPER_MAGIC) {
		say_store_on_overlay(store, EINVAL);
		causes++;
	}
	return causes ? -1 : 0;
}

/* What the probes found: 0 works, an errno fails, NOT_TRIED when an earlier step failed. */
struct probes {
	int userns, uid_map, overlay;
	int notify, wait_killable, addfd, addfd_send, sync_wakeup;
	int pidfd_getfd, pidfd_thread, netns_cookie;
	int landlock; /* the ABI version (> 0), or -errno */
};

/* Write a /proc file in the new user namespace; 0 or errno. */
static int write_proc(const char *path, const char *text)
{
	cleanup_fd int fd = open(path, O_WRONLY | O_CLOEXEC);
	size_t len = strlen(text);

	if (fd < 0)
		return errno;
	if (write(fd, text, len) != (ssize_t)len)
		return errno ? errno : EIO;
	return 0;
}

/* In a child: a user namespace, its maps, a mount namespace and an overlay under dir. */
static void probe_userns_child(const char *dir, int out)
{
	int r[3] = {0, NOT_TRIED, NOT_TRIED};
	uid_t uid = getuid();
	gid_t gid = getgid();
	char map[64];

	if (test_feature_off("userns"))
		r[0] = EPERM;
	else if (unshare(CLONE_NEWUSER) < 0)
		r[0] = errno;
	if (r[0] == 0) {
		if (test_feature_off("uid_map"))
			r[1] = EROFS;
		else
			r[1] = write_proc("/proc/self/setgroups", "deny");
		snprintf(map, sizeof(map), "%u %u 1\n", (unsigned)uid, (unsigned)uid);
		if (r[1] == 0)
			r[1] = write_proc("/proc/self/uid_map", map);
		snprintf(map, sizeof(map), "%u %u 1\n", (unsigned)gid, (unsigned)gid);
		if (r[1] == 0)
			r[1] = write_proc("/proc/self/gid_map", map);
	}
	if (r[1] == 0) {
		cleanup_free char *lower = path_join(dir, "l");
		cleanup_free char *upper = path_join(dir, "u");
		cleanup_free char *work = path_join(dir, "w");
		cleanup_free char *merged = path_join(dir, "m");
		cleanup_free char *opts = xasprintf("lowerdir=%s,upperdir=%s,workdir=%s,userxattr",
						    lower, upper, work);

		if (test_feature_off("overlay"))
			r[2] = EINVAL;
		else if (unshare(CLONE_NEWNS) < 0 ||
			 mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
			r[2] = errno;
		else if (mount("overlay", merged, "overlay", 0, opts) < 0)
			r[2] = errno;
		else
			r[2] = 0;
	}
	if (write(out, r, sizeof(r)) != (ssize_t)sizeof(r))
		_exit(1);
	_exit(0);
}

/* In a child: a seccomp listener and what it supports. */
static void probe_seccomp_child(int out)
{
	struct sock_filter allow[] = {BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW)};
	struct sock_fprog prog = {.len = 1, .filter = allow};
	unsigned long flags = SECCOMP_FILTER_FLAG_NEW_LISTENER;
	int r[5] = {NOT_TRIED, NOT_TRIED, NOT_TRIED, NOT_TRIED, NOT_TRIED};
	struct seccomp_notif_addfd addfd = {.srcfd = 0};
	int fd = -1;

	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0) {
		r[0] = errno;
		goto out;
	}
	if (test_feature_off("notify")) {
		r[0] = EINVAL;
		goto out;
	}
	if (!test_feature_off("wait_killable_recv")) {
		fd = (int)syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER,
				  flags | SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV, &prog);
		r[1] = fd >= 0 ? 0 : errno;
	} else {
		r[1] = EINVAL;
	}
	if (fd < 0)
		fd = (int)syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, flags, &prog);
	r[0] = fd >= 0 ? 0 : errno;
	if (fd < 0)
		goto out;
	/* No notification has this id: a kernel that knows the ioctl says ENOENT. */
	addfd.id = 1ULL << 62;
	addfd.srcfd = (unsigned)fd;
	if (test_feature_off("addfd"))
		r[2] = ENOTTY;
	else
		r[2] = ioctl(fd, SECCOMP_IOCTL_NOTIF_ADDFD, &addfd) < 0 && errno != ENOENT ? errno
											   : 0;
	addfd.flags = SECCOMP_ADDFD_FLAG_SEND;
	if (test_feature_off("addfd_send"))
		r[3] = EINVAL;
	else
		r[3] = ioctl(fd, SECCOMP_IOCTL_NOTIF_ADDFD, &addfd) < 0 && errno != ENOENT ? errno
											   : 0;
	if (test_feature_off("sync_wakeup"))
		r[4] = EINVAL;
	else
		r[4] = ioctl(fd, SECCOMP_IOCTL_NOTIF_SET_FLAGS, SECCOMP_USER_NOTIF_FD_SYNC_WAKE_UP,
			     0) < 0
			       ? errno
			       : 0;
out:
	if (write(out, r, sizeof(r)) != (ssize_t)sizeof(r))
		_exit(1);
	_exit(0);
}

/* Run fn in a child and read its n results; a child that died says EIO for each. */
static void run_probe(int *res, size_t n, void (*fn)(const char *, int), const char *arg)
{
	int p[2], st;
	size_t i;
	pid_t pid;

	for (i = 0; i < n; i++)
		res[i] = EIO;
	if (pipe2(p, O_CLOEXEC) < 0)
		return;
	fflush(NULL);
	pid = fork();
	if (pid == 0) {
		close(p[0]);
		fn(arg, p[1]);
		_exit(1);
	}
	close(p[1]);
	if (pid > 0) {
		if (read(p[0], res, n * sizeof(int)) != (ssize_t)(n * sizeof(int)))
			for (i = 0; i < n; i++)
				res[i] = EIO;
		while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
			;
	}
	close(p[0]);
}

static void seccomp_child(const char *unused, int out)
{
	(void)unused;
	probe_seccomp_child(out);
}

static void userns_child(const char *dir, int out)
{
	probe_userns_child(dir, out);
}

/* Every probe; the overlay is tried in a scratch directory in the store. */
static void probe_all(const char *store, struct probes *p)
{
	cleanup_free char *dir = NULL;
	int r[5];
	long fd;

	memset(p, 0, sizeof(*p));
	p->uid_map = p->overlay = NOT_TRIED;
	if (store && mkdir_p(store, 0700) == 0) {
		static const char *const sub[] = {"l", "u", "w", "m"};
		size_t i;

		dir = path_join(store, ".doctor-XXXXXX");
		if (!mkdtemp(dir)) {
			free(dir);
			dir = NULL;
		}
		for (i = 0; dir && i < 4; i++) {
			cleanup_free char *s = path_join(dir, sub[i]);

			mkdir(s, 0700);
		}
	}
	run_probe(r, 3, userns_child, dir ? dir : "/nonexistent");
	p->userns = r[0];
	p->uid_map = r[1];
	p->overlay = dir ? r[2] : NOT_TRIED;
	if (dir)
		rm_rf(dir);

	run_probe(r, 5, seccomp_child, NULL);
	p->notify = r[0];
	p->wait_killable = r[1];
	p->addfd = r[2];
	p->addfd_send = r[3];
	p->sync_wakeup = r[4];

	if (test_feature_off("pidfd_getfd"))
		p->pidfd_getfd = ENOSYS;
	else
		p->pidfd_getfd =
			syscall(SYS_pidfd_getfd, -1, 0, 0) < 0 && errno != EBADF ? errno : 0;
	{
		/* Linux 5.14: the supervisor tells the sandbox's sockets from its own by it. */
		cleanup_fd int s = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
		uint64_t cookie;
		socklen_t len = sizeof(cookie);

		if (test_feature_off("netns_cookie"))
			p->netns_cookie = ENOPROTOOPT;
		else
			p->netns_cookie =
				s < 0 ? errno
				: getsockopt(s, SOL_SOCKET, SO_NETNS_COOKIE, &cookie, &len) < 0
					? errno
					: 0;
	}
	fd = test_feature_off("pidfd_thread") ? -1
					      : syscall(SYS_pidfd_open, getpid(), PIDFD_THREAD);
	p->pidfd_thread = fd >= 0 ? 0 : test_feature_off("pidfd_thread") ? EINVAL : errno;
	if (fd >= 0)
		close((int)fd);
	if (test_feature_off("landlock")) {
		p->landlock = -ENOSYS;
	} else {
		/* LANDLOCK_CREATE_RULESET_VERSION */
		long abi = syscall(SYS_landlock_create_ruleset, NULL, 0, 1UL << 0);

		p->landlock = abi > 0 ? (int)abi : -errno;
	}
}

/* "Seccomp: 2" in /proc/self/status: a filter (a container runtime's profile) is on us. */
static int seccomp_mode(int *nfilters)
{
	cleanup_file FILE *f = fopen("/proc/self/status", "re");
	char line[256];
	int mode = -1;

	*nfilters = 0;
	while (f && fgets(line, sizeof(line), f)) {
		sscanf(line, "Seccomp: %d", &mode);
		sscanf(line, "Seccomp_filters: %d", nfilters);
	}
	return mode;
}

/* Which container or VM-like environment this looks like, for the messages; NULL: none. */
static const char *container_kind(void)
{
	const char *c = getenv("container");
	cleanup_free char *osrel = read_file("/proc/sys/kernel/osrelease", 256, NULL);

	if (access("/run/.containerenv", F_OK) == 0 || (c && strcmp(c, "podman") == 0))
		return "podman";
	if (access("/.dockerenv", F_OK) == 0)
		return "docker";
	if (c && c[0])
		return "container";
	if (osrel && (strstr(osrel, "microsoft") || strstr(osrel, "WSL")))
		return "wsl2";
	return NULL;
}

static const char *fs_name(long type)
{
	switch ((unsigned long)type) {
	case EXT4_SUPER_MAGIC:
		return "ext4";
	case XFS_SUPER_MAGIC:
		return "xfs";
	case BTRFS_SUPER_MAGIC:
		return "btrfs";
	case TMPFS_MAGIC:
		return "tmpfs";
	case OVERLAYFS_SUPER_MAGIC:
		return "overlayfs";
	case NFS_SUPER_MAGIC:
		return "nfs";
	case 0x65735546:
		return "fuse";
	case V9FS_MAGIC:
		return "9p";
	case 0x2fc12fc1:
		return "zfs";
	case ECRYPTFS_SUPER_MAGIC:
		return "ecryptfs";
	default:
		return "other";
	}
}

/* The filesystem type of path or of its nearest existing parent. */
static long fs_type(const char *path)
{
	cleanup_free char *p = xstrdup(path);
	struct statfs sf;

	for (;;) {
		char *slash;

		if (statfs(p, &sf) == 0)
			return (long)sf.f_type;
		slash = strrchr(p, '/');
		if (!slash || slash == p)
			return statfs("/", &sf) == 0 ? (long)sf.f_type : 0;
		*slash = '\0';
	}
}

/* One line per cause the probes found, each with the fix. Returns how many. */
/* Why no user namespace could be made (p->userns, an errno). 1 when it failed, else 0. */
static int explain_userns(int err, bool filtered, int nf)
{
	if (err == EPERM || err == EACCES) {
		if (filtered)
			error("a seccomp filter refuses to create user namespaces (unshare: %s; this "
			      "process runs under %d seccomp filter(s), as under Docker's or Podman's "
			      "default profile): run the container with --security-opt "
			      "seccomp=unconfined, or a profile that allows unshare, clone with "
			      "CLONE_NEWUSER, mount and seccomp",
			      strerror(err), nf);
		else if (geteuid() != 0 && sysctl_long("kernel/unprivileged_userns_clone") == 0)
			error("unprivileged user namespaces are disabled "
			      "(kernel.unprivileged_userns_clone=0): enable them with 'sudo sysctl -w "
			      "kernel.unprivileged_userns_clone=1'");
		else
			error("cannot create a user namespace: %s%s: allow unprivileged user "
			      "namespaces (a container needs --security-opt seccomp=unconfined, or "
			      "rootless Podman)",
			      strerror(err), container_kind() ? " (inside a container)" : "");
	} else if (err == ENOSPC) {
		error("cannot create a user namespace: user.max_user_namespaces is 0 or used up "
		      "(%ld): raise it with 'sudo sysctl -w user.max_user_namespaces=15000'",
		      sysctl_long("user/max_user_namespaces"));
	} else if (err == EUSERS) {
		error("cannot create a user namespace: nested 32 deep already: run airlock fewer "
		      "containers deep");
	} else if (err == EINVAL || err == ENOSYS) {
		error("cannot create a user namespace: the kernel was built without them "
		      "(CONFIG_USER_NS): use a kernel with user namespaces");
	} else if (err > 0) {
		error("cannot create a user namespace: %s", strerror(err));
	} else {
		return 0;
	}
	return 1;
}

/* Why overlayfs could not be mounted over the session store (err, an errno). */
static void explain_overlay(int err, const char *store)
{
	unsigned major, minor;
	long type = fs_type(store);

	if (!kernel_at_least(5, 11, &major, &minor))
		error("cannot mount overlayfs in a user namespace: Linux %u.%u is too old "
		      "(5.11 has it): upgrade the kernel",
		      major, minor);
	else if ((unsigned long)type == OVERLAYFS_SUPER_MAGIC)
		say_store_on_overlay(store, err);
	else
		error("cannot mount overlayfs with userxattr in a user namespace over the "
		      "session store %s (%s): %s: set AIRLOCK_STATE_DIR to a directory on "
		      "ext4, xfs, btrfs or tmpfs",
		      store, fs_name(type), strerror(err));
}

static int explain(const struct probes *p, const char *store)
{
	int nf, causes = 0;
	bool filtered = seccomp_mode(&nf) == 2;
	/* Where the calling process is filtered already: what refused a probe may be that. */
	const char *profile_hint = "; a container's seccomp profile may refuse it: run with "
				   "--security-opt seccomp=unconfined";

	if (apparmor_restricts() &&
	    (p->userns == EPERM || p->userns == EACCES || p->uid_map > 0 || p->overlay > 0)) {
		say_apparmor();
		return 1;
	}
	causes += explain_userns(p->userns, filtered, nf);
	if (p->uid_map > 0) {
		error("cannot write /proc/self/uid_map in a new user namespace: %s (/proc is "
		      "read-only or masked, as in some containers): run the container with "
		      "--security-opt systempaths=unconfined (Docker) or --security-opt unmask=ALL "
		      "(Podman)",
		      strerror(p->uid_map));
		causes++;
	}
	if (p->overlay > 0) {
		explain_overlay(p->overlay, store);
		causes++;
	}
	if (p->notify > 0) {
		error("seccomp user notification is unavailable: %s: airlock needs Linux >= 5.5 "
		      "with CONFIG_SECCOMP_FILTER (gVisor and some sandboxes lack it)%s",
		      strerror(p->notify), filtered ? profile_hint : "");
		causes++;
	}
	if (p->pidfd_getfd > 0) {
		error("pidfd_getfd() is unavailable: %s: airlock needs it (Linux >= 5.6) to take the "
		      "sandbox's seccomp listener%s",
		      strerror(p->pidfd_getfd), filtered ? profile_hint : "");
		causes++;
	}
	return causes;
}

int doctor_explain(const char *store)
{
	struct probes p;

	probe_all(store, &p);
	return explain(&p, store);
}

/* ---- airlock doctor ---- */

static void row(const char *name, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void row(const char *name, const char *fmt, ...)
{
	va_list ap;

	printf("%-26s ", name);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
}

static void feature_row(const char *name, int err, const char *kernel, const char *without)
{
	if (err == 0)
		row(name, "yes (Linux %s)", kernel);
	else if (err == NOT_TRIED)
		row(name, "not tried");
	else
		row(name, "no: %s (Linux %s has it; without it %s)", strerror(err), kernel,
		    without);
}

/* The cgroup this process is in, its version, and whether the user may manage it. */
static void cgroup_rows(void)
{
	cleanup_free char *own = read_file("/proc/self/cgroup", 4096, NULL);
	cleanup_free char *ctl = read_file("/sys/fs/cgroup/cgroup.controllers", 4096, NULL);
	char *rel;

	if (!ctl) {
		row("cgroup:", "v1 or hybrid (no /sys/fs/cgroup/cgroup.controllers)");
		return;
	}
	ctl[strcspn(ctl, "\n")] = '\0';
	rel = own ? strstr(own, "0::") : NULL;
	if (!rel) {
		row("cgroup:", "v2, controllers: %s; own cgroup unknown", ctl);
		return;
	}
	rel += 3;
	rel[strcspn(rel, "\n")] = '\0';
	{
		cleanup_free char *dir = xasprintf("/sys/fs/cgroup%s", rel);
		cleanup_free char *procs = path_join(dir, "cgroup.procs");
		cleanup_free char *sub = path_join(dir, "cgroup.subtree_control");
		cleanup_free char *sc = read_file(sub, 4096, NULL);

		if (sc)
			sc[strcspn(sc, "\n")] = '\0';
		row("cgroup:", "v2, controllers: %s", ctl);
		row("cgroup (own):", "%s, delegated to this user: %s, subtree_control: %s", rel,
		    access(procs, W_OK) == 0 ? "yes" : "no", sc && sc[0] ? sc : "(none)");
	}
}

static void lsm_rows(void)
{
	cleanup_free char *aa = read_file("/sys/module/apparmor/parameters/enabled", 64, NULL);
	cleanup_free char *restrict_ = sysctl_read("kernel/apparmor_restrict_unprivileged_userns");
	cleanup_free char *label = apparmor_label();
	cleanup_free char *se = read_file("/sys/fs/selinux/enforce", 64, NULL);
	cleanup_free char *lsm = read_file("/sys/kernel/security/lsm", 4096, NULL);

	if (lsm)
		lsm[strcspn(lsm, "\n")] = '\0';
	row("LSMs:", "%s", lsm && lsm[0] ? lsm : "unknown");
	row("AppArmor:", "%s, restrict_unprivileged_userns=%s, this process: %s",
	    aa && aa[0] == 'Y' ? "enabled" : "not enabled", restrict_ ? restrict_ : "(absent)",
	    label);
	row("SELinux:", "%s", !se ? "not enabled" : se[0] == '1' ? "enforcing" : "permissive");
}

/* The second wall (tracee/landlock.h): what the sandbox's command gets from this kernel. */
static void landlock_row(int abi)
{
	struct landlock_state st;

	landlock_probe(&st, false);
	if (abi <= 0)
		row("Landlock:", "no: %s (Linux 5.13): the mounts are the only wall",
		    strerror(-abi));
	else if (!st.enforced)
		row("Landlock:", "ABI %d, not used: %s", abi, st.why);
	else if (st.scope_signal)
		row("Landlock:",
		    "ABI %d: writes only in the overlays; signals and abstract sockets scoped",
		    abi);
	else
		row("Landlock:",
		    "ABI %d: writes only in the overlays; no scoping (ABI 6: Linux 6.12)", abi);
}

static void store_row(const char *store)
{
	struct statvfs sv;
	long type;

	if (!store) {
		row("store:", "unknown");
		return;
	}
	type = fs_type(store);
	if (statvfs(store, &sv) == 0)
		row("store:", "%s (%s), %.1f GiB free", store, fs_name(type),
		    (double)sv.f_bavail * (double)sv.f_frsize / (1024.0 * 1024 * 1024));
	else
		row("store:", "%s (not created yet; parent on %s)", store, fs_name(type));
}

static const char doctor_usage[] =
	"usage: airlock doctor\n"
	"\n"
	"Check everything airlock needs from the kernel and the system and print one line per\n"
	"item, in a form to paste into a bug report; then one line per reason airlock cannot\n"
	"run here, with its fix. Exit 0 when airlock can run, 1 when it cannot.\n";

int cmd_doctor(int argc, char **argv)
{
	cleanup_free char *store = NULL;
	cleanup_free char *self = realpath("/proc/self/exe", NULL);
	const char *where = container_kind();
	struct utsname u;
	struct probes p;
	int nf, mode, causes;

	if (argc > 1 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
		fputs(doctor_usage, stdout);
		return 0;
	}
	if (argc > 1) {
		/* Not usage_error(): that lives in main.c, and this file is in the library. */
		fprintf(stderr, "airlock: doctor: unexpected argument '%s'\n%s", argv[1],
			doctor_usage);
		return EXIT_USAGE;
	}
	store = store_root();
	if (uname(&u) < 0)
		memset(&u, 0, sizeof(u));
	row("airlock:", "%s (%s)", AIRLOCK_VERSION, self ? self : "?");
	row("kernel:", "%s %s %s", u.sysname, u.release, u.machine);
	row("user:", "uid %u, euid %u, gid %u", (unsigned)getuid(), (unsigned)geteuid(),
	    (unsigned)getgid());
	row("environment:", "%s", where ? where : "no container detected");
	mode = seccomp_mode(&nf);
	if (mode == 2)
		row("seccomp on this process:", "filter (%d filters; a container's profile?)", nf);
	else
		row("seccomp on this process:", "%s", mode == 0 ? "none" : "unknown");
	{
		cleanup_free char *clone = sysctl_read("kernel/unprivileged_userns_clone");
		cleanup_free char *max = sysctl_read("user/max_user_namespaces");

		row("userns sysctls:",
		    "kernel.unprivileged_userns_clone=%s user.max_user_namespaces=%s",
		    clone ? clone : "(absent)", max ? max : "(absent)");
	}
	lsm_rows();
	probe_all(store, &p);
	feature_row("user namespace:", p.userns, "3.8", "airlock cannot run");
	feature_row("uid_map written:", p.uid_map, "3.8", "airlock cannot run");
	feature_row("overlayfs userxattr:", p.overlay, "5.11", "airlock cannot run");
	feature_row("seccomp user notify:", p.notify, "5.5", "airlock cannot run");
	feature_row("  WAIT_KILLABLE_RECV:", p.wait_killable, "5.19",
		    "a signal can abort a held call, which is then retried");
	feature_row("  NOTIF_ADDFD:", p.addfd, "5.9", "--net mediated cannot hand sockets over");
	feature_row("  ADDFD_FLAG_SEND:", p.addfd_send, "5.14", "nothing changes (not used yet)");
	feature_row("  SYNC_WAKE_UP:", p.sync_wakeup, "6.6", "each notified call is slower");
	feature_row("pidfd_getfd:", p.pidfd_getfd, "5.6", "airlock cannot take the listener");
	feature_row("pidfd_open PIDFD_THREAD:", p.pidfd_thread, "6.9",
		    "a thread's descriptors are found through its process");
	feature_row("SO_NETNS_COOKIE:", p.netns_cookie, "5.14",
		    "allowed connections are denied under --net mediated");
	landlock_row(p.landlock);
	cgroup_rows();
	store_row(store);
	fflush(stdout);
	causes = doctor_preflight() < 0 ? 1 : 0;
	if (!causes)
		causes = explain(&p, store);
	if (causes) {
		row("result:", "airlock cannot run here (see above, on stderr)");
		return EXIT_REFUSED;
	}
	row("result:", "airlock can run here");
	return 0;
}
