/* SPDX-License-Identifier: MIT */
/* The tracee: namespaces, the new root, pid 1, and the command's start; see sandbox.h. */
#include "tracee/sandbox.h"
#include "tracee/landlock.h"
#include "tracee/stub.h"

#include "common/buf.h"
#include "common/cleanup.h"
#include "common/err.h"
#include "common/path.h"
#include "common/testenv.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/filter.h>
#include <linux/netlink.h>
#include <linux/capability.h>
#include <linux/securebits.h>
#include <arpa/inet.h>
#include <net/if.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#ifndef MOUNT_ATTR_RDONLY
#define MOUNT_ATTR_RDONLY 0x00000001
struct mount_attr {
	unsigned long long attr_set, attr_clr, propagation, userns_fd;
};
#endif
#ifndef OPEN_TREE_CLONE
#define OPEN_TREE_CLONE	  1
#define OPEN_TREE_CLOEXEC O_CLOEXEC
#endif
#ifndef MOVE_MOUNT_F_EMPTY_PATH
#define MOVE_MOUNT_F_EMPTY_PATH 0x00000004
#endif
#ifndef AT_RECURSIVE
#define AT_RECURSIVE 0x8000
#endif

/* Signals airlock passes on to the command (as a terminal would to its process group). */
static const int forwarded_signals[] = {SIGINT,	 SIGTERM, SIGHUP,  SIGQUIT,
					SIGUSR1, SIGUSR2, SIGWINCH};

pid_t sandbox_clone(const struct sandbox_spec *spec)
{
	unsigned long flags = SANDBOX_CLONE_FLAGS | SIGCHLD;
	long pid;

	if (spec->net != NET_HOST)
		flags |= CLONE_NEWNET;
	/* A raw clone: glibc's clone() wants a new stack, fork() cannot take namespace flags. */
	pid = syscall(SYS_clone, flags, NULL, NULL, NULL, 0);
	if (pid < 0)
		return -errno;
	if (pid == 0)
		sandbox_main(spec);
	return (pid_t)pid;
}

static void write_proc_file(const char *file, const char *text)
{
	cleanup_fd int fd = open(file, O_WRONLY | O_CLOEXEC);

	if (fd < 0 || write(fd, text, strlen(text)) != (ssize_t)strlen(text))
		die_errno("cannot write %s in the new user namespace", file);
}

/* Map the caller's uid and gid to themselves: only they exist inside. */
static void setup_user_namespace(uid_t uid, gid_t gid)
{
	char map[64];

	write_proc_file("/proc/self/setgroups", "deny");
	snprintf(map, sizeof(map), "%u %u 1\n", (unsigned)uid, (unsigned)uid);
	write_proc_file("/proc/self/uid_map", map);
	snprintf(map, sizeof(map), "%u %u 1\n", (unsigned)gid, (unsigned)gid);
	write_proc_file("/proc/self/gid_map", map);
}

static unsigned long locked_flags(const char *path)
{
	struct statvfs sv;
	unsigned long f = 0;

	if (statvfs(path, &sv) < 0)
		return 0;
	if (sv.f_flag & ST_NOSUID)
		f |= MS_NOSUID;
	if (sv.f_flag & ST_NODEV)
		f |= MS_NODEV;
	if (sv.f_flag & ST_NOEXEC)
		f |= MS_NOEXEC;
	if (sv.f_flag & ST_NOATIME)
		f |= MS_NOATIME;
	if (sv.f_flag & ST_NODIRATIME)
		f |= MS_NODIRATIME;
	if (sv.f_flag & ST_RELATIME)
		f |= MS_RELATIME;
	return f;
}

/* Make the mount at target read-only, keeping the flags the kernel locked on it. */
static void remount_ro(const char *target)
{
	if (mount(NULL, target, NULL, MS_REMOUNT | MS_BIND | MS_RDONLY | locked_flags(target),
		  NULL) < 0)
		die_errno("cannot make %s read-only", target);
}

static void bind_ro(const char *src, const char *target, bool is_dir)
{
	if (is_dir) {
		if (mkdir(target, 0755) < 0 && errno != EEXIST)
			die_errno("cannot create mount point %s", target);
	} else {
		cleanup_fd int fd = open(target, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);

		if (fd < 0)
			die_errno("cannot create mount point %s", target);
	}
	if (mount(src, target, NULL, MS_BIND | MS_REC, NULL) < 0)
		die_errno("cannot bind %s", src);
	remount_ro(target);
}

/* overlayfs separates lower layers with ':' and takes '\' as an escape. */
static char *escape_lower(const char *path)
{
	struct buf b = BUF_INIT;

	buf_init(&b);
	for (; *path; path++) {
		if (*path == ':' || *path == '\\')
			buf_addc(&b, '\\');
		buf_addc(&b, *path);
	}
	return buf_detach(&b);
}

/*
 * Options of every overlay. userxattr: the overlay's own xattrs are user.*, the only ones a user
 * namespace may set (it also turns redirect_dir and metacopy off). index and xino are spelled
 * out: a mount in a user namespace cannot use file handles, so the kernel turns both off anyway,
 * but on a kernel built to default to them (CONFIG_OVERLAY_FS_INDEX, _XINO_AUTO) it first tries,
 * logs a warning per overlay and, for a read-only view, takes xino on, which changes the inode
 * numbers of the host's files there. Off, every kernel gives what the tests check; lookups cost
 * the same (bench/README.md, "Read-only work").
 */
#define OVERLAY_OPTS "userxattr,index=off,xino=off"

static void mount_overlay(const struct plan_item *it, const char *target)
{
	cleanup_free char *lower = escape_lower(it->path);
	cleanup_free char *opts = NULL;
	unsigned long flags = MS_NOSUID | MS_NODEV;

	if (mkdir(target, 0755) < 0 && errno != EEXIST)
		die_errno("cannot create mount point %s", target);
	if (it->ro)
		flags |= MS_RDONLY;
	if (it->noexec)
		flags |= MS_NOEXEC;
	opts = xasprintf("lowerdir=%s,upperdir=%s,workdir=%s," OVERLAY_OPTS ",volatile", lower,
			 it->upper, it->work);
	test_mark("tracee: overlay start %s", it->path);
	if (mount("overlay", target, "overlay", flags, opts) < 0) {
		if (errno == EINVAL || errno == EPERM)
			die_errno(
				"cannot mount overlay on %s (unprivileged overlayfs needs Linux >= "
				"5.11, and the session store must not be on overlayfs)",
				it->path);
		die_errno("cannot mount overlay on %s", it->path);
	}
	test_mark("tracee: overlay done %s", it->path);
}

/*
 * A read-only view of the host directory: an overlay without an upper layer shows the host's
 * owner and mode for its root, and gives each FIFO a pipe of its own where a bind would hand
 * out the host's FIFOs. overlayfs wants two lower layers then; the second is empty.
 */
static void mount_lower(const struct plan_item *it, const char *target)
{
	cleanup_free char *lower = escape_lower(it->path);
	cleanup_free char *bottom = escape_lower(it->bottom);
	cleanup_free char *opts = xasprintf("lowerdir=%s:%s," OVERLAY_OPTS, lower, bottom);
	unsigned long flags = MS_RDONLY | MS_NOSUID | MS_NODEV;

	if (mkdir(target, 0755) < 0 && errno != EEXIST)
		die_errno("cannot create mount point %s", target);
	if (it->noexec)
		flags |= MS_NOEXEC;
	if (mount("overlay", target, "overlay", flags, opts) < 0)
		die_errno("cannot mount a read-only overlay on %s", it->path);
}

static void make_item(const struct plan_item *it, const char *root)
{
	/* it->path is absolute: the target is the same path below the new root. */
	cleanup_free char *target =
		strcmp(it->path, "/") == 0 ? xstrdup(root) : xasprintf("%s%s", root, it->path);

	switch (it->kind) {
	case PLAN_DIR:
		if (mkdir(target, it->mode) < 0 && errno != EEXIST)
			die_errno("cannot create %s in the new root", it->path);
		chmod(target, it->mode);
		break;
	case PLAN_SYMLINK:
		if (symlink(it->link, target) < 0)
			die_errno("cannot create symlink %s in the new root", it->path);
		break;
	case PLAN_BIND_RO:
		bind_ro(it->path, target, it->is_dir);
		break;
	case PLAN_OVERLAY:
	case PLAN_SCRATCH:
		mount_overlay(it, target);
		break;
	case PLAN_LOWER:
		mount_lower(it, target);
		break;
	case PLAN_COLLECTOR:
		break; /* outside the new root: mount_collected() */
	case PLAN_READONLY:
		/* Bind the sandbox's own view (the overlay) onto itself, then seal it. */
		if (mount(target, target, NULL, MS_BIND | MS_REC, NULL) < 0)
			die_errno("cannot make %s read-only", it->path);
		remount_ro(target);
		break;
	}
}

static void make_dev(const char *root, unsigned long long shm_size)
{
	static const char *const nodes[] = {"null", "zero", "full", "random", "urandom", "tty"};
	static const char *const links[][2] = {
		{"/proc/self/fd", "fd"},       {"/proc/self/fd/0", "stdin"},
		{"/proc/self/fd/1", "stdout"}, {"/proc/self/fd/2", "stderr"},
		{"pts/ptmx", "ptmx"},
	};
	cleanup_free char *dev = path_join(root, "dev");
	size_t i;

	if (mount("tmpfs", dev, "tmpfs", MS_NOSUID | MS_NOEXEC, "mode=0755") < 0)
		die_errno("cannot mount tmpfs on /dev");
	for (i = 0; i < ARRAY_SIZE(nodes); i++) {
		cleanup_free char *host = path_join("/dev", nodes[i]);
		cleanup_free char *target = path_join(dev, nodes[i]);
		cleanup_fd int fd = open(target, O_WRONLY | O_CREAT | O_CLOEXEC, 0666);

		if (fd < 0)
			die_errno("cannot create /dev/%s", nodes[i]);
		if (mount(host, target, NULL, MS_BIND, NULL) < 0)
			die_errno("cannot bind /dev/%s", nodes[i]);
		/*
		 * The node is the host's own inode: read-only, so chmod, chown, utimes and
		 * xattrs fail with EROFS instead of changing it for the whole machine (a root
		 * run once left the host's /dev/full mode 600). I/O is unaffected: a read-only
		 * mount refuses writes to files, not to devices.
		 */
		remount_ro(target);
	}
	for (i = 0; i < ARRAY_SIZE(links); i++) {
		cleanup_free char *target = path_join(dev, links[i][1]);

		if (symlink(links[i][0], target) < 0)
			die_errno("cannot create /dev/%s", links[i][1]);
	}
	{
		cleanup_free char *pts = path_join(dev, "pts");
		cleanup_free char *shm = path_join(dev, "shm");

		if (mkdir(pts, 0755) < 0 || mkdir(shm, 01777) < 0)
			die_errno("cannot create /dev/pts or /dev/shm");
		/* A new devpts instance: the host's terminals are not reachable by name. */
		if (mount("devpts", pts, "devpts", MS_NOSUID | MS_NOEXEC,
			  "newinstance,ptmxmode=0666,mode=620") < 0)
			die_errno("cannot mount devpts on /dev/pts");
		cleanup_free char *opts = shm_size ? xasprintf("mode=1777,size=%llu", shm_size)
						   : xstrdup("mode=1777");

		/* tmpfs pages are memory that no process's resident set shows: bound them. */
		if (mount("tmpfs", shm, "tmpfs", MS_NOSUID | MS_NODEV, opts) < 0)
			die_errno("cannot mount tmpfs on /dev/shm");
	}
	/* Nothing else is written in /dev: files there would be memory outside every limit. */
	if (mount(NULL, dev, NULL, MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NOEXEC, "mode=0755") < 0)
		die_errno("cannot make /dev read-only");
}

/*
 * The parts of /proc that act on the whole host. Writes to /proc/sys are checked against the
 * writer's uid, not its capabilities, so a caller running airlock as root (uid 0 maps to
 * itself) could otherwise set kernel.core_pattern and run a command as real root; the
 * sysrq trigger needs no capability at all. As runc does: read-only or masked.
 */
static const char *const proc_readonly[] = {"sys", "sysrq-trigger", "irq", "bus", "fs"};
static const char *const proc_masked[] = {"kcore",    "keys", "timer_list", "sched_debug",
					  "kallsyms", "kmsg", "acpi",	    "scsi"};

static void seal_proc(const char *proc)
{
	size_t i;

	for (i = 0; i < ARRAY_SIZE(proc_readonly); i++) {
		cleanup_free char *p = path_join(proc, proc_readonly[i]);

		if (access(p, F_OK) < 0)
			continue;
		if (mount(p, p, NULL, MS_BIND | MS_REC, NULL) < 0)
			die_errno("cannot bind /proc/%s", proc_readonly[i]);
		remount_ro(p);
	}
	for (i = 0; i < ARRAY_SIZE(proc_masked); i++) {
		cleanup_free char *p = path_join(proc, proc_masked[i]);
		struct stat st;

		if (lstat(p, &st) < 0)
			continue;
		if (S_ISDIR(st.st_mode)) {
			if (mount("tmpfs", p, "tmpfs", MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC,
				  "size=0") < 0)
				die_errno("cannot mask /proc/%s", proc_masked[i]);
		} else if (mount("/dev/null", p, NULL, MS_BIND, NULL) < 0) {
			die_errno("cannot mask /proc/%s", proc_masked[i]);
		} else {
			/* The host's /dev/null: its metadata is not the sandbox's to change. */
			remount_ro(p);
		}
	}
}

static void make_proc_sys(const char *root)
{
	cleanup_free char *proc = path_join(root, "proc");
	cleanup_free char *sys = path_join(root, "sys");
	struct mount_attr attr = {.attr_set = MOUNT_ATTR_RDONLY};

	/* A fresh /proc for the new pid namespace: only the sandbox's processes show. */
	if (mount("proc", proc, "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) < 0)
		die_errno("cannot mount /proc (a /proc with hidden parts, as in some containers, "
			  "prevents it)");
	seal_proc(proc);
	if (mount("/sys", sys, NULL, MS_BIND | MS_REC, NULL) < 0)
		die_errno("cannot bind /sys");
	/* Linux 5.12: read-only for the whole tree at once; older kernels get the top only. */
	if (syscall(SYS_mount_setattr, AT_FDCWD, sys, AT_RECURSIVE, &attr, sizeof(attr)) < 0)
		remount_ro(sys);
}

static void pivot_into(const char *root)
{
	if (chdir(root) < 0)
		die_errno("cannot enter %s", root);
	/* pivot_root(".", ".") stacks the old root under the new one; detach it at once. */
	if (syscall(SYS_pivot_root, ".", ".") < 0)
		die_errno("cannot pivot_root into %s", root);
	if (umount2(".", MNT_DETACH) < 0)
		die_errno("cannot detach the host's root");
	if (chdir("/") < 0)
		die_errno("cannot enter the new root");
	/* The skeleton is read-only: writes outside the overlays fail instead of vanishing. */
	if (mount(NULL, "/", NULL, MS_REMOUNT | MS_BIND | MS_RDONLY | MS_NOSUID | MS_NODEV, NULL) <
	    0)
		die_errno("cannot make the new root read-only");
}

/*
 * The stub deferred execs run (supervisor/supervise/substitute.h), in the read-only root skeleton
 * where the program cannot replace it. STUB_PATH is absolute, so it is appended to the new root,
 * never joined (a join would name the host's own root). A host root entry of the same name
 * is left out of the skeleton (made()), so the stub is always this file; the supervisor checks
 * the executable by its inode after the exec, not by its name.
 */
static void make_stub(const char *root)
{
	cleanup_free char *path = xasprintf("%s%s", root, STUB_PATH);
	cleanup_fd int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0555);

	if (fd < 0)
		die_errno("cannot create the deferred-exec stub %s in the new root", path);
	if (write(fd, stub_elf, sizeof(stub_elf)) != (ssize_t)sizeof(stub_elf))
		die_errno("cannot write %s", path);
}

/* Whether a plan item is made: not hidden, and not where the stub goes. */
static bool made(const struct plan_item *it)
{
	return !it->hidden && !path_is_under(it->path, STUB_PATH);
}

/* The mounts of one half of the plan, made by one of two threads (see build_root). */
struct mount_half {
	const struct sandbox_spec *spec;
	int half;
	pthread_barrier_t *ready; /* the views are mounted and the layers made */
};

/*
 * The writable overlays' upper and work directories (tracee/plan.h), one after the other:
 * ext4 creates inodes in the same two directories no faster from two threads, and slower
 * under load (bench/README.md).
 */
static void make_layers(const struct plan *plan)
{
	int rc = plan_make_collector(plan);

	if (rc < 0) {
		errno = -rc;
		die_errno("cannot create the directories of the overlay of empty directories");
	}
	for (size_t i = 0; i < plan->n; i++) {
		const struct plan_item *it = &plan->items[i];

		if (!made(it) || it->kind != PLAN_OVERLAY || !it->layer_to_make)
			continue;
		rc = plan_make_layer(it);
		if (rc < 0) {
			errno = -rc;
			die_errno("cannot create the upper directory %s or %s", it->upper,
				  it->work);
		}
	}
}

static void mount_kind(const struct mount_half *mh, enum plan_kind kind)
{
	const struct plan *plan = mh->spec->plan;
	size_t i, k = 0;

	for (i = 0; i < plan->n; i++)
		if (made(&plan->items[i]) && plan->items[i].kind == kind &&
		    !plan->items[i].collected && k++ % 2 == (size_t)mh->half)
			make_item(&plan->items[i], mh->spec->root_dir);
}

static void mount_views(const struct sandbox_spec *spec)
{
	for (size_t i = 0; i < spec->plan->n; i++)
		if (made(&spec->plan->items[i]) && spec->plan->items[i].kind == PLAN_LOWER)
			make_item(&spec->plan->items[i], spec->root_dir);
}

/*
 * One thread mounts the read-only views (two threads were no faster: bench/README.md) while
 * the other makes the layers; the writable overlays, some of them inside views, wait for
 * both, then each thread mounts half of them.
 */
static void *mount_half(void *arg)
{
	const struct mount_half *mh = arg;

	if (mh->half == 0)
		make_layers(mh->spec->plan);
	else
		mount_views(mh->spec);
	pthread_barrier_wait(mh->ready);
	mount_kind(mh, PLAN_OVERLAY);
	return NULL;
}

/* The same in one thread, when a second one cannot be had. */
static void mount_serially(const struct mount_half halves[2])
{
	make_layers(halves[0].spec->plan);
	mount_views(halves[0].spec);
	mount_kind(&halves[0], PLAN_OVERLAY);
	mount_kind(&halves[1], PLAN_OVERLAY);
}

/*
 * The read-only views' empty bottom layer is a directory of the session, and the session is
 * often below a view's own directory (the store under $HOME, a view of /home): overlayfs
 * refuses lower layers inside each other ("overlapping lowerdir path", ELOOP). An empty,
 * read-only tmpfs mounted on it in this namespace is a filesystem of its own, inside
 * nothing; it goes away with the host's mounts at pivot_root. The collector's lower layer is
 * the same directory.
 */
static void mount_bottom(const struct plan *plan)
{
	size_t i;

	for (i = 0; i < plan->n; i++) {
		const struct plan_item *it = &plan->items[i];

		if (!made(it) || (it->kind != PLAN_LOWER && it->kind != PLAN_COLLECTOR))
			continue;
		if (mount("tmpfs", it->bottom, "tmpfs",
			  MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC, "mode=0500,size=4k") < 0)
			die_errno("cannot mount an empty tmpfs on %s", it->bottom);
		return; /* every view has the same bottom (tracee/plan.c) */
	}
}

/*
 * The collected overlays (tracee/plan.h): one overlay, mounted where the plan says in the
 * session directory (the host's tree, detached at pivot_root), and each collected overlay's
 * upper directory bound from it onto the overlay's path. A bind carries the collector's
 * nosuid and nodev; read-only and noexec are each bind's own, as the host mount's are.
 */
static void bind_collected(const struct plan_item *col, const struct plan_item *it,
			   const char *root)
{
	cleanup_free char *src = xasprintf("%s/%s", col->path, it->upper + strlen(col->upper) + 1);
	cleanup_free char *target = xasprintf("%s%s", root, it->path);
	unsigned long flags = MS_REMOUNT | MS_BIND | MS_NOSUID | MS_NODEV;

	if (mkdir(target, 0755) < 0 && errno != EEXIST)
		die_errno("cannot create mount point %s", target);
	if (mount(src, target, NULL, MS_BIND, NULL) < 0)
		die_errno("cannot bind %s onto %s", src, it->path);
	if (!it->ro && !it->noexec)
		return;
	flags |= (it->ro ? MS_RDONLY : 0) | (it->noexec ? MS_NOEXEC : 0);
	if (mount(NULL, target, NULL, flags, NULL) < 0)
		die_errno("cannot make %s read-only or noexec", it->path);
}

/* The collector, then every collected overlay bound from it. */
static void mount_collected(const struct sandbox_spec *spec)
{
	const struct plan *plan = spec->plan;
	const struct plan_item *col = NULL;
	cleanup_free char *lower = NULL, *opts = NULL;
	size_t i;

	for (i = 0; i < plan->n && !col; i++)
		if (plan->items[i].kind == PLAN_COLLECTOR)
			col = &plan->items[i];
	if (!col)
		return;
	lower = escape_lower(col->bottom);
	opts = xasprintf("lowerdir=%s,upperdir=%s,workdir=%s," OVERLAY_OPTS ",volatile", lower,
			 col->upper, col->work);
	test_mark("tracee: overlay start %s", col->path);
	if (mount("overlay", col->path, "overlay", MS_NOSUID | MS_NODEV, opts) < 0)
		die_errno("cannot mount the overlay of empty directories on %s", col->path);
	test_mark("tracee: overlay done %s", col->path);
	for (i = 0; i < plan->n; i++)
		if (made(&plan->items[i]) && plan->items[i].collected)
			bind_collected(col, &plan->items[i], spec->root_dir);
}

static void build_root(const struct sandbox_spec *spec)
{
	const struct plan *plan = spec->plan;
	pthread_barrier_t ready;
	struct mount_half halves[2] = {{spec, 0, &ready}, {spec, 1, &ready}};
	pthread_t worker;
	size_t i;

	/* Nothing done here may propagate back to the host's mounts. */
	if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
		die_errno("cannot make mounts private");
	if (mount("tmpfs", spec->root_dir, "tmpfs", MS_NOSUID | MS_NODEV, "mode=0755") < 0)
		die_errno("cannot mount tmpfs on %s", spec->root_dir);
	test_mark("tracee: root tmpfs");
	mount_bottom(plan);
	/* The skeleton first (tmpfs entries and binds): every view's mount point has its parent. */
	for (i = 0; i < plan->n; i++)
		if (made(&plan->items[i]) &&
		    (plan->items[i].kind == PLAN_DIR || plan->items[i].kind == PLAN_SYMLINK ||
		     plan->items[i].kind == PLAN_BIND_RO))
			make_item(&plan->items[i], spec->root_dir);
	test_mark("tracee: skeleton");
	/*
	 * Then the read-only views and the writable overlays: each mount costs a hundred
	 * microseconds or more of filesystem checks, so two threads share them. A thread takes
	 * a pid number in the new namespace: the command is pid 3.
	 */
	if (pthread_barrier_init(&ready, NULL, 2) != 0) {
		mount_serially(halves);
	} else if (pthread_create(&worker, NULL, mount_half, &halves[1]) != 0) {
		mount_serially(halves);
		pthread_barrier_destroy(&ready);
	} else {
		mount_half(&halves[0]);
		pthread_join(worker, NULL);
		pthread_barrier_destroy(&ready);
	}
	mount_collected(spec);
	test_mark("tracee: overlays");
	for (i = 0; i < plan->n; i++)
		if (made(&plan->items[i]) && plan->items[i].kind == PLAN_SCRATCH)
			make_item(&plan->items[i], spec->root_dir);
	make_dev(spec->root_dir, spec->shm_size);
	test_mark("tracee: /dev");
	make_proc_sys(spec->root_dir);
	test_mark("tracee: /proc and /sys");
	make_stub(spec->root_dir);
	/* Read-only paths last: they seal whatever the overlays above put there. */
	for (i = 0; i < plan->n; i++)
		if (made(&plan->items[i]) && plan->items[i].kind == PLAN_READONLY)
			make_item(&plan->items[i], spec->root_dir);
	pivot_into(spec->root_dir);
	test_mark("tracee: read-only paths, pivot_root");
}

static void loopback_up(void)
{
	cleanup_fd int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	struct ifreq ifr;

	if (fd < 0)
		die_errno("cannot create a socket to configure loopback");
	memset(&ifr, 0, sizeof(ifr));
	strcpy(ifr.ifr_name, "lo");
	if (ioctl(fd, SIOCGIFFLAGS, &ifr) < 0)
		die_errno("cannot read the loopback interface's flags");
	ifr.ifr_flags |= IFF_UP | IFF_RUNNING;
	if (ioctl(fd, SIOCSIFFLAGS, &ifr) < 0)
		die_errno("cannot bring the loopback interface up");
}

/* Hand fd to the supervisor in a message of type (before the filter: no notification). */
static void send_socket(int control, int type, int fd, const char *what)
{
	union {
		char buf[CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} cbuf;
	struct tracee_msg msg = {.type = type};
	struct iovec iov = {.iov_base = &msg, .iov_len = sizeof(msg)};
	struct msghdr mh = {.msg_iov = &iov,
			    .msg_iovlen = 1,
			    .msg_control = cbuf.buf,
			    .msg_controllen = sizeof(cbuf.buf)};
	struct cmsghdr *cm;

	memset(&cbuf, 0, sizeof(cbuf));
	cm = CMSG_FIRSTHDR(&mh);
	cm->cmsg_level = SOL_SOCKET;
	cm->cmsg_type = SCM_RIGHTS;
	cm->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(cm), &fd, sizeof(fd));
	while (sendmsg(control, &mh, MSG_NOSIGNAL) < 0)
		if (errno != EINTR)
			die_errno("cannot hand %s to the supervisor", what);
}

/*
 * The resolver's socket: the command's process, before it drops its capabilities, may bind
 * port 53 on the sandbox's loopback (it holds CAP_NET_BIND_SERVICE in its user namespace, which
 * owns the network namespace) and hands the socket to the supervisor, which cannot enter the
 * namespace but answers from the host's network.
 */
static void send_dns_socket(int control)
{
	struct sockaddr_in sin = {.sin_family = AF_INET, .sin_port = htons(53)};
	cleanup_fd int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);

	inet_pton(AF_INET, "127.0.0.53", &sin.sin_addr);
	if (fd < 0 || bind(fd, (struct sockaddr *)&sin, sizeof(sin)) < 0)
		die_errno("cannot bind the sandbox's resolver on 127.0.0.53:53");
	send_socket(control, TRACEE_MSG_DNS, fd, "the resolver's socket");
}

/*
 * Data queued in the sandbox's sockets is memory no process maps: the supervisor counts it
 * against --memory through sock_diag, which lists the sockets of the netlink socket's own
 * network namespace, so it must be made here. Without it (a kernel without sock_diag), only
 * resident memory is counted.
 */
static void send_diag_socket(int control)
{
	cleanup_fd int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_SOCK_DIAG);

	if (fd < 0) {
		warn("cannot open sock_diag (%s): socket memory is not counted in --memory",
		     strerror(errno));
		return;
	}
	send_socket(control, TRACEE_MSG_SOCKDIAG, fd, "the sock_diag socket");
}

/*
 * /etc/resolv.conf names the supervisor's resolver: the file behind srcfd (a detached copy of
 * its mount, from open_tree(): the host's mounts are gone after pivot_root) is mounted
 * read-only over it, in the new root. The host's may be a symlink (systemd-resolved's points into
 * /run): the link is followed inside the sandbox and the file it names is covered; when that file
 * is missing, its directory gets a small tmpfs holding just it.
 */
static void bind_resolv_conf(int srcfd)
{
	char target[4096];
	cleanup_free char *real = realpath("/etc/resolv.conf", NULL);
	ssize_t k;

	if (!real) {
		cleanup_free char *joined = NULL, *dir = NULL, *rdir = NULL;
		char *slash;

		k = readlink("/etc/resolv.conf", target, sizeof(target) - 1);
		if (k <= 0) {
			warn("the sandbox has no /etc/resolv.conf to point at its resolver");
			return;
		}
		target[k] = '\0';
		joined = target[0] == '/' ? path_normalize(target) : path_join("/etc", target);
		dir = xstrdup(joined);
		slash = strrchr(dir, '/');
		if (!slash || !slash[1])
			return;
		*slash = '\0';
		rdir = realpath(dir[0] ? dir : "/", NULL);
		if (!rdir || mount("tmpfs", rdir, "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC,
				   "mode=0755,size=64k") < 0) {
			warn("cannot make %s for the sandbox's resolver", joined);
			return;
		}
		real = path_join(rdir, slash + 1);
		{
			cleanup_fd int fd = open(real, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);

			if (fd < 0)
				die_errno("cannot create %s", real);
		}
		/* Memory the program could fill, and a writable mount Landlock would refuse. */
		remount_ro(rdir);
	}
	if (syscall(SYS_move_mount, srcfd, "", AT_FDCWD, real, MOVE_MOUNT_F_EMPTY_PATH) < 0)
		die_errno("cannot mount the sandbox's resolv.conf over %s (Linux >= 5.2 needed)",
			  real);
	remount_ro(real);
}

void sandbox_send_msg(int fd, const struct tracee_msg *msg)
{
	/* write(), not sendmsg(): sendmsg is notified once the filter is installed. */
	while (write(fd, msg, sizeof(*msg)) != (ssize_t)sizeof(*msg)) {
		if (errno != EINTR)
			die_errno("cannot reach the supervisor");
	}
}

/*
 * The filter the command runs under (TRACEE_MSG_FILTER): the supervisor compiles it while
 * this process builds the sandbox, and it arrives before the command is forked. Anything
 * else, or nothing (the supervisor died), ends the sandbox: the command never runs without it.
 */
static void receive_filter(int fd, struct sock_fprog *prog)
{
	size_t max = sizeof(struct tracee_msg) + BPF_MAXINSNS * sizeof(struct sock_filter);
	cleanup_free char *buf = xmalloc(max);
	struct tracee_msg msg;
	size_t len;
	ssize_t n;

	do {
		n = recv(fd, buf, max, MSG_TRUNC);
	} while (n < 0 && errno == EINTR);
	if (n < (ssize_t)sizeof(msg))
		_exit(EXIT_AIRLOCK_FAILED);
	memcpy(&msg, buf, sizeof(msg));
	len = (size_t)msg.status * sizeof(struct sock_filter);
	if (msg.type != TRACEE_MSG_FILTER || msg.status <= 0 || msg.status > BPF_MAXINSNS ||
	    (size_t)n != sizeof(msg) + len)
		_exit(EXIT_AIRLOCK_FAILED);
	prog->len = (unsigned short)msg.status;
	prog->filter = xmalloc(len);
	memcpy(prog->filter, buf + sizeof(msg), len);
}

/*
 * airlock may have died before the parent death signal was set: then its end of the control
 * socket is closed already (a process's descriptors are closed before its children learn of
 * its death). Checked without waiting: a go-ahead message woke pid 1 on the supervisor's
 * own core (a socket's wake-up is a synchronous one), where it waited while the supervisor
 * started the record and compiled the filter instead of building the sandbox beside it.
 */
static void check_supervisor(int fd)
{
	struct pollfd p = {.fd = fd, .events = POLLIN | POLLRDHUP};

	if (poll(&p, 1, 0) < 0 || (p.revents & (POLLHUP | POLLRDHUP | POLLERR)))
		_exit(EXIT_AIRLOCK_FAILED);
}

/* Wait for a message of the given type from the supervisor; EOF means it died. */
static void wait_msg(int fd, int type)
{
	struct tracee_msg msg;
	ssize_t n;

	do {
		n = read(fd, &msg, sizeof(msg));
	} while (n < 0 && errno == EINTR);
	if (n != (ssize_t)sizeof(msg) || msg.type != type)
		_exit(EXIT_AIRLOCK_FAILED);
}

/*
 * Drop every capability the new user namespace gave us, for good: the bounding set, the
 * ambient set, and the securebits that would give them back to uid 0 on execve (root
 * running airlock maps uid 0 to itself).
 */
static void drop_capabilities(void)
{
	struct __user_cap_header_struct hdr = {.version = _LINUX_CAPABILITY_VERSION_3};
	struct __user_cap_data_struct data[2];
	int cap;

	/* The kernel's capabilities are 0 to CAP_LAST_CAP: the first it does not know ends them. */
	for (cap = 0; cap <= 63; cap++)
		if (prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) < 0) {
			if (errno != EINVAL)
				die_errno("cannot drop capability %d", cap);
			break;
		}
	prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0);
	if (prctl(PR_SET_SECUREBITS,
		  SECBIT_NOROOT | SECBIT_NOROOT_LOCKED | SECBIT_NO_SETUID_FIXUP |
			  SECBIT_NO_SETUID_FIXUP_LOCKED | SECBIT_KEEP_CAPS_LOCKED,
		  0, 0, 0) < 0)
		die_errno("cannot set securebits");
	memset(data, 0, sizeof(data));
	if (syscall(SYS_capset, &hdr, data) < 0)
		die_errno("cannot clear capabilities");
}

static const char *env_get(char *const *envp, const char *name)
{
	size_t n = strlen(name);

	for (; envp && *envp; envp++)
		if (strncmp(*envp, name, n) == 0 && (*envp)[n] == '=')
			return *envp + n + 1;
	return NULL;
}

/*
 * Find the command as execvp() would, in the sandbox's view, before the filter exists (so a
 * PATH search does not notify once per directory). Returns the path, or NULL with the exit
 * status to use in *status (127 not found, 126 found but not executable).
 */
char *sandbox_find_command(const char *name, char *const *envp, int *status)
{
	const char *path = env_get(envp, "PATH");
	bool denied = false;
	const char *p;

	*status = EXIT_NOT_FOUND;
	if (name[0] == '\0')
		return NULL;
	if (strchr(name, '/')) {
		struct stat st;

		if (stat(name, &st) < 0)
			return NULL;
		if (S_ISDIR(st.st_mode) || access(name, X_OK) < 0) {
			*status = EXIT_CANNOT_EXEC;
			return NULL;
		}
		return xstrdup(name);
	}
	if (!path)
		path = "/usr/local/bin:/usr/bin:/bin";
	for (p = path;; p++) {
		const char *end = strchrnul(p, ':');
		cleanup_free char *dir = end > p ? xstrndup(p, (size_t)(end - p)) : xstrdup(".");
		cleanup_free char *cand = path_join(dir, name);
		struct stat st;

		if (stat(cand, &st) == 0 && S_ISREG(st.st_mode)) {
			if (access(cand, X_OK) == 0)
				return steal_pointer(&cand);
			denied = true;
		}
		if (*end == '\0')
			break;
		p = end;
	}
	if (denied)
		*status = EXIT_CANNOT_EXEC;
	return NULL;
}

static int cmp_int(const void *a, const void *b)
{
	int x = *(const int *)a, y = *(const int *)b;

	return (x > y) - (x < y);
}

/* Close every descriptor above stdio but the n in keep (and the benchmarks' timing one). */
static void close_fds_but(const int *keep, size_t n)
{
	int k[8], timing = test_timing_fd(), from = 3, fd;
	size_t m = 0, i;

	for (i = 0; i < n && m < ARRAY_SIZE(k) - 1; i++)
		if (keep[i] >= 3)
			k[m++] = keep[i];
	if (timing >= 3)
		k[m++] = timing;
	qsort(k, m, sizeof(*k), cmp_int);
	/* close_range: Linux 5.9; the loop is the fallback for older kernels. */
	for (i = 0; i < m; i++) {
		if (k[i] > from)
			syscall(SYS_close_range, (unsigned)from, (unsigned)k[i] - 1, 0U);
		if (k[i] >= from)
			from = k[i] + 1;
	}
	if (syscall(SYS_close_range, (unsigned)from, ~0U, 0U) == 0)
		return;
	for (fd = 3; fd < 65536; fd++) {
		for (i = 0; i < m && k[i] != fd; i++)
			;
		if (i == m)
			close(fd);
	}
}

/* Close every descriptor above stdio but keep (and the benchmarks' timing descriptor). */
void sandbox_close_fds(int keep)
{
	close_fds_but(&keep, 1);
}

static void set_limit(int resource, unsigned long long value, const char *name)
{
	struct rlimit rl;

	if (value == RLIM_INFINITY)
		return;
	if (getrlimit(resource, &rl) < 0)
		die_errno("cannot read %s", name);
	/* Never raise a limit the caller already had lower. */
	if (rl.rlim_max != RLIM_INFINITY && value > rl.rlim_max)
		value = rl.rlim_max;
	rl.rlim_cur = value;
	/* RLIMIT_CPU: SIGXCPU at the soft limit, SIGKILL a second later at the hard one. */
	if (resource == RLIMIT_CPU && (rl.rlim_max == RLIM_INFINITY || value < rl.rlim_max))
		rl.rlim_max = value + 1;
	else
		rl.rlim_max = value;
	if (setrlimit(resource, &rl) < 0)
		die_errno("cannot set %s", name);
}

static void apply_rlimits(const struct sandbox_rlimits *l)
{
	set_limit(RLIMIT_CPU, l->cpu_s, "RLIMIT_CPU");
	set_limit(RLIMIT_AS, l->as, "RLIMIT_AS");
	set_limit(RLIMIT_NPROC, l->nproc, "RLIMIT_NPROC");
	set_limit(RLIMIT_FSIZE, l->fsize, "RLIMIT_FSIZE");
}

/*
 * pid 1 forks the command as soon as the sandbox's mounts are final, then writes Landlock's
 * rules while the command, still airlock's code, sets up the sandbox's network and gets ready
 * to run. Each tells the other when its part is done with one byte on a socket pair (the
 * gate): the command enters its domain only once the rules are all in; pid 1 goes on to serve
 * the sandbox only once the network is up, or ends it (exit 125: the sandbox could not start)
 * when the command died setting it up, as it would had it failed itself.
 */
/* pid 1: every Landlock rule is in the ruleset. */
#define GATE_RULES 'L'
/* The command: loopback is up, the resolver's and sock_diag's sockets are with the supervisor. */
#define GATE_NET 'N'

static void gate_open(int gate, char what)
{
	/* MSG_NOSIGNAL: a peer that has died already must not take this process with it. */
	while (send(gate, &what, 1, MSG_NOSIGNAL) < 0 && errno == EINTR)
		;
}

static void gate_wait(int gate, char what)
{
	char got = 0;
	ssize_t n;

	do {
		n = read(gate, &got, 1);
	} while (n < 0 && errno == EINTR);
	if (n != 1 || got != what)
		_exit(EXIT_AIRLOCK_FAILED);
}

/*
 * The sandbox's network, in the command's process before it drops its capabilities (it holds
 * them in the user namespace that owns the network namespace) and before its filter (which
 * would notify the sendmsg() of each socket).
 */
static void setup_network(const struct sandbox_spec *spec, int gate)
{
	if (spec->net != NET_HOST) {
		loopback_up();
		send_dns_socket(spec->control_fd);
		send_diag_socket(spec->control_fd);
	}
	test_mark("command: network");
	gate_open(gate, GATE_NET);
}

/* pid 1's part of the command's start (see GATE_RULES above). */
static void finish_beside(struct landlock_ruleset *rules, int gate)
{
	landlock_fill(rules);
	if (rules->fd >= 0)
		close(rules->fd);
	test_mark("tracee: landlock rules");
	gate_open(gate, GATE_RULES);
	gate_wait(gate, GATE_NET);
	close(gate);
}

static noreturn void run_command(const struct sandbox_spec *spec, const struct sock_fprog *filter,
				 struct landlock_ruleset *rules, int gate)
{
	struct tracee_msg msg = {.type = TRACEE_MSG_LISTENER}, hello = {0};
	const int keep[] = {spec->control_fd, rules->fd, gate};
	sigset_t none;
	cleanup_free char *exe = NULL;
	int listener, status;
	size_t i;

	setup_network(spec, gate);
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	for (i = 1; i < NSIG; i++)
		signal((int)i, SIG_DFL);
	/* Its own session: no controlling terminal to push keystrokes into (TIOCSTI). */
	if (setsid() < 0)
		die_errno("cannot start a new session");
	/* A pty of its own (supervisor/supervise/ptyrelay.h), never the person's terminal. */
	if (spec->ctty_fd >= 0 && ioctl(spec->ctty_fd, TIOCSCTTY, 0) < 0)
		die_errno("cannot make the sandbox's pty its terminal");
	close_fds_but(keep, ARRAY_SIZE(keep));
	if (chdir(spec->cwd) < 0)
		die_errno("cannot enter the working directory %s inside the sandbox", spec->cwd);
	exe = spec->live ? xstrdup("") : sandbox_find_command(spec->argv[0], spec->envp, &status);
	if (!exe) {
		err_set_die_status(status);
		die("%s: %s", spec->argv[0],
		    status == EXIT_NOT_FOUND ? "command not found" : "permission denied");
	}
	apply_rlimits(&spec->limits);
	drop_capabilities();
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		die_errno("cannot set no_new_privs");
	gate_wait(gate, GATE_RULES);
	close(gate);
	landlock_restrict(rules);
	hello.type = TRACEE_MSG_HELLO;
	sandbox_send_msg(spec->control_fd, &hello);
	test_mark("command: before filter");
	listener = filter_load(filter, &msg.filter);
	if (listener < 0)
		exit(EXIT_AIRLOCK_FAILED);
	msg.listener = listener;
	sandbox_send_msg(spec->control_fd, &msg);
	wait_msg(spec->control_fd, TRACEE_MSG_TAKEN);
	close(listener);
	if (spec->live)
		launcher_main(spec->control_fd);
	close(spec->control_fd);
	test_mark("command: execve");
	execve(exe, spec->argv, spec->envp);
	status = errno == ENOENT ? EXIT_NOT_FOUND : EXIT_CANNOT_EXEC;
	fprintf(stderr, "airlock: cannot run %s: %s\n", exe, strerror(errno));
	_exit(status);
}

/*
 * The command has ended: pid 1 kills every process left in the sandbox and reaps each before
 * it reports the command's status, so the supervisor takes the report as the word that
 * nothing of the sandbox runs any more. Its own exit comes once the supervisor lets go, and
 * with it the kernel's teardown of the namespaces (the overlays' unmounting above all), which
 * a run does not wait for.
 */
static noreturn void end_sandbox(int control, int status)
{
	struct tracee_msg msg = {.type = TRACEE_MSG_EXIT, .status = status};

	test_mark("tracee: command ended");
	/* Every process of the pid namespace but pid 1. A fork under way either fails (its
	   parent has the signal pending) or its child is already on the list the kill walks. */
	kill(-1, SIGKILL);
	/* An orphan is pid 1's child before its dead parent can be reaped: once there is no
	   child left, there is no process left. __WALL: clone children with any exit signal. */
	while (waitpid(-1, NULL, __WALL) >= 0 || errno == EINTR)
		;
	/* The output's pipes reach their end now, not when pid 1 has gone. */
	close(STDIN_FILENO);
	close(STDOUT_FILENO);
	close(STDERR_FILENO);
	test_mark("tracee: sandbox emptied");
	sandbox_send_msg(control, &msg);
	/*
	 * Then wait for the supervisor to let go: the control socket's end, or the parent death
	 * signal when it exits. The teardown then runs after its last work, not beside it on
	 * the same cores.
	 */
	for (;;) {
		ssize_t n = read(control, &msg, sizeof(msg));

		if (n == 0 || (n < 0 && errno != EINTR))
			break;
	}
	_exit(0);
}

/* pid 1: forward signals to the command, reap everything, report the command's end. */
static noreturn void run_init(const struct sandbox_spec *spec, pid_t cmd, const sigset_t *mask)
{
	int sfd = signalfd(-1, mask, SFD_CLOEXEC);

	if (sfd < 0)
		die_errno("cannot create signalfd in the sandbox");
	for (;;) {
		struct signalfd_siginfo si;
		ssize_t n = read(sfd, &si, sizeof(si));
		int status;
		pid_t pid;

		if (n != (ssize_t)sizeof(si)) {
			if (n < 0 && errno == EINTR)
				continue;
			die_errno("cannot read signals in the sandbox");
		}
		if (si.ssi_signo != SIGCHLD) {
			/* The command runs in its own session; its process group has its pid. */
			if (kill(-cmd, (int)si.ssi_signo) < 0)
				kill(cmd, (int)si.ssi_signo);
			continue;
		}
		while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
			if (pid == cmd)
				end_sandbox(spec->control_fd, status);
		}
	}
}

noreturn void sandbox_main(const struct sandbox_spec *spec)
{
	struct sock_fprog filter;
	struct landlock_ruleset rules;
	sigset_t mask;
	pid_t cmd;
	size_t i;
	int resolv_fd = -1, gate[2];

	close(spec->supervisor_fd);
	/* Captured output: everything from here on, setup errors included, goes to airlock. */
	if ((spec->stdin_fd >= 0 && dup2(spec->stdin_fd, STDIN_FILENO) < 0) ||
	    (spec->stdout_fd >= 0 && dup2(spec->stdout_fd, STDOUT_FILENO) < 0) ||
	    (spec->stderr_fd >= 0 && dup2(spec->stderr_fd, STDERR_FILENO) < 0))
		_exit(EXIT_AIRLOCK_FAILED);
	/* The clone copied every descriptor of airlock's (pipe ends among them, which would keep
	   the command's stdin from ever ending): keep only stdio and the control socket. */
	sandbox_close_fds(spec->control_fd);
	/* If airlock dies, so does pid 1, and with it the whole pid namespace. */
	if (prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) < 0)
		die_errno("cannot set the parent death signal");
	check_supervisor(spec->control_fd);
	test_mark("tracee: ready");
	setup_user_namespace(spec->uid, spec->gid);
	test_mark("tracee: user namespace mapped");
	if (spec->resolv_conf) {
		resolv_fd = (int)syscall(SYS_open_tree, AT_FDCWD, spec->resolv_conf,
					 OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC);
		if (resolv_fd < 0)
			die_errno("cannot open %s", spec->resolv_conf);
	}
	build_root(spec);
	if (resolv_fd >= 0) {
		bind_resolv_conf(resolv_fd);
		close(resolv_fd);
	}
	test_mark("tracee: resolv.conf");
	receive_filter(spec->control_fd, &filter);
	test_mark("tracee: filter received");
	landlock_create(&rules, spec->net == NET_HOST);
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, gate) < 0)
		die_errno("cannot create a socket pair for the command's start");

	sigemptyset(&mask);
	sigaddset(&mask, SIGCHLD);
	for (i = 0; i < ARRAY_SIZE(forwarded_signals); i++)
		sigaddset(&mask, forwarded_signals[i]);
	if (sigprocmask(SIG_BLOCK, &mask, NULL) < 0)
		die_errno("cannot block signals");
	cmd = fork();
	if (cmd < 0)
		die_errno("cannot fork the command");
	if (cmd == 0) {
		close(gate[0]);
		run_command(spec, &filter, &rules, gate[1]);
	}
	close(gate[1]);
	finish_beside(&rules, gate[0]);
	run_init(spec, cmd, &mask);
}
