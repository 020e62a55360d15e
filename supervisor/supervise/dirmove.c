/* SPDX-License-Identifier: MIT */
/* Renaming a host directory inside the sandbox, by a helper in the sandbox's view; see dirmove.h.
 */
#include "supervisor/supervise/dirmove.h"

#include "common/buf.h"
#include "common/cleanup.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/capability.h>
#include <linux/magic.h>
#include <linux/openat2.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/sysmacros.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <sys/xattr.h>
#include <unistd.h>

#define HELPER_NOT_STARTED 3 /* the helper's exit status when it did nothing */
#define XATTR_LIST_MAX_	   65536

struct dirmove {
	int userns, mntns, root, cwd; /* the caller's, opened from /proc/PID */
	int olddir, newdir;	      /* the call's directories (-1: AT_FDCWD or unused) */
	char *oldpath, *newpath;
	unsigned flags;
};

void dirmove_free(struct dirmove *m)
{
	int *fds[] = {&m->userns, &m->mntns, &m->root, &m->cwd, &m->olddir, &m->newdir};
	size_t i;

	if (!m)
		return;
	for (i = 0; i < ARRAY_SIZE(fds); i++)
		if (*fds[i] >= 0)
			close(*fds[i]);
	free(m->oldpath);
	free(m->newpath);
	free(m);
}

static int open_proc(pid_t pid, const char *what, int flags)
{
	char path[64];

	snprintf(path, sizeof(path), "/proc/%d/%s", (int)pid, what);
	return open(path, flags | O_CLOEXEC);
}

/* The directory a relative path starts from when the call passed dirfd; -1 for AT_FDCWD. */
static int open_dirfd(pid_t pid, int dirfd, const char *path, bool *failed)
{
	char what[32];
	int fd;

	if (path[0] == '/' || dirfd == AT_FDCWD)
		return -1;
	snprintf(what, sizeof(what), "fd/%d", dirfd);
	/* O_PATH: the same file the descriptor holds, whatever it is (the kernel says ENOTDIR). */
	fd = open_proc(pid, what, O_PATH);
	if (fd < 0)
		*failed = true;
	return fd;
}

struct dirmove *dirmove_open(pid_t pid, int olddirfd, const char *oldpath, int newdirfd,
			     const char *newpath, unsigned flags)
{
	struct dirmove *m = xcalloc(1, sizeof(*m));
	bool failed = false;

	m->userns = open_proc(pid, "ns/user", O_RDONLY);
	m->mntns = open_proc(pid, "ns/mnt", O_RDONLY);
	m->root = open_proc(pid, "root", O_PATH | O_DIRECTORY);
	m->cwd = open_proc(pid, "cwd", O_PATH | O_DIRECTORY);
	m->olddir = open_dirfd(pid, olddirfd, oldpath, &failed);
	m->newdir = open_dirfd(pid, newdirfd, newpath, &failed);
	m->oldpath = xstrdup(oldpath);
	m->newpath = xstrdup(newpath);
	m->flags = flags;
	if (failed || m->userns < 0 || m->mntns < 0 || m->root < 0 || m->cwd < 0) {
		int err = errno;

		dirmove_free(m);
		errno = err ? err : EBADF;
		return NULL;
	}
	return m;
}

/* --- The helper: everything below runs in the forked process. --- */

/* What the walk found and made. */
struct walk {
	unsigned long long entries, bytes, max_bytes;
	unsigned long long mnt_id; /* the overlay's mount: the tree must not leave it */
	uid_t uid;
	char note[120];
	int troot;	/* the copy's root directory */
	struct buf rel; /* the path below troot of the directory being copied */
	struct hlink {
		dev_t dev;
		ino_t ino;
		char *rel;
	} * links;
	size_t nlinks, clinks;
	struct node {
		dev_t dev;
		ino_t ino;
	} * nodes; /* every directory and regular file of the source tree */
	size_t nnodes, cnodes;
};

/* Join the sandbox as the caller stands in it, without a capability. 0 or -errno. */
static int enter_sandbox(const struct dirmove *m)
{
	struct __user_cap_header_struct hdr = {.version = _LINUX_CAPABILITY_VERSION_3};
	struct __user_cap_data_struct caps[2];

	if (prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) < 0)
		return -errno;
	/* The user namespace first: it gives the capabilities to enter the mount namespace and
	   to chroot there; the supervisor's user owns it. */
	if (setns(m->userns, CLONE_NEWUSER) < 0 || setns(m->mntns, CLONE_NEWNS) < 0)
		return -errno;
	if (fchdir(m->root) < 0 || chroot(".") < 0 || fchdir(m->cwd) < 0)
		return -errno;
	/* As the caller: its own IDs and no capability, so the kernel checks what it would. */
	memset(caps, 0, sizeof(caps));
	if (syscall(SYS_capset, &hdr, caps) < 0)
		return -errno;
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0 || prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) < 0)
		return -errno;
	return 0;
}

/* Stop the walk: the tree is left to the kernel, which answers EXDEV. Returns -EXDEV. */
__attribute__((format(printf, 2, 3))) static int give_up(struct walk *w, const char *fmt, ...)
{
	va_list ap;

	if (!w->note[0]) {
		va_start(ap, fmt);
		vsnprintf(w->note, sizeof(w->note), fmt, ap);
		va_end(ap);
	}
	return -EXDEV;
}

static int open_beneath(int dfd, const char *name, int flags)
{
	struct open_how how = {
		.flags = (unsigned)(flags | O_NOFOLLOW | O_CLOEXEC),
		.resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_XDEV |
			   RESOLVE_NO_MAGICLINKS,
	};
	int fd = (int)syscall(SYS_openat2, dfd, name, &how, sizeof(how));

	return fd < 0 ? -errno : fd;
}

static int stat_entry(int dfd, const char *name, struct statx *sx)
{
	if (statx(dfd, name, AT_SYMLINK_NOFOLLOW | AT_NO_AUTOMOUNT | (name[0] ? 0 : AT_EMPTY_PATH),
		  STATX_BASIC_STATS | STATX_MNT_ID, sx) < 0)
		return -errno;
	return 0;
}

static bool dot(const char *name)
{
	return strcmp(name, ".") == 0 || strcmp(name, "..") == 0;
}

/* The entries of the directory open at fd (fd stays open), one by one. */
static DIR *list(int fd)
{
	int dup = fcntl(fd, F_DUPFD_CLOEXEC, 0);
	DIR *d;

	if (dup < 0)
		return NULL;
	d = fdopendir(dup);
	if (!d)
		close(dup);
	else
		rewinddir(d);
	return d;
}

/*
 * Check the directory open at fd (sx its statx) and everything below it, counting: every
 * entry can be copied and removed by the caller, the tree stays on one mount and within the
 * limits. 0 or -EXDEV (w->note says why), -errno.
 */
static void add_node(struct walk *w, const struct statx *sx)
{
	GROW(w->nodes, w->cnodes, w->nnodes + 1);
	w->nodes[w->nnodes].dev = makedev(sx->stx_dev_major, sx->stx_dev_minor);
	w->nodes[w->nnodes].ino = sx->stx_ino;
	w->nnodes++;
}

static int cmp_node(const void *a, const void *b)
{
	const struct node *x = a, *y = b;

	if (x->dev != y->dev)
		return x->dev < y->dev ? -1 : 1;
	return x->ino < y->ino ? -1 : x->ino > y->ino;
}

static bool in_tree(const struct walk *w, const struct stat *st)
{
	struct node key = {st->st_dev, st->st_ino};

	return bsearch(&key, w->nodes, w->nnodes, sizeof(key), cmp_node) != NULL;
}

/* The access mode of descriptor fd of the process whose /proc directory is open at pfd. */
static int fd_accmode(int pfd, const char *fd)
{
	char path[300], buf[256], *p;
	cleanup_fd int info = -1;
	ssize_t n;

	snprintf(path, sizeof(path), "fdinfo/%s", fd);
	info = openat(pfd, path, O_RDONLY | O_CLOEXEC);
	if (info < 0 || (n = read(info, buf, sizeof(buf) - 1)) <= 0)
		return -1;
	buf[n] = '\0';
	p = strstr(buf, "flags:");
	return p ? (int)(strtoul(p + 6, NULL, 8) & O_ACCMODE) : -1;
}

/*
 * Whether a process of the sandbox holds the source tree: its working directory in it, or a
 * descriptor of a directory in it, or of a file in it open for writing. On a filesystem they
 * follow the rename; here they would keep naming the removed source (a write would be lost),
 * so such a tree is left to the kernel. The sandbox's own /proc lists its processes; one whose
 * descriptors cannot be read counts as holding it.
 */
static bool held(const struct walk *w)
{
	cleanup_dir DIR *proc = opendir("/proc");
	struct dirent *e;

	if (!proc)
		return true;
	qsort(w->nodes, w->nnodes, sizeof(*w->nodes), cmp_node);
	while ((e = readdir(proc))) {
		cleanup_fd int pfd = -1, fdd = -1;
		cleanup_dir DIR *fds = NULL;
		struct dirent *f;
		struct stat st;

		if (e->d_name[0] < '1' || e->d_name[0] > '9')
			continue;
		pfd = openat(dirfd(proc), e->d_name, O_PATH | O_DIRECTORY | O_CLOEXEC);
		if (pfd < 0)
			continue; /* gone */
		if (fstatat(pfd, "cwd", &st, 0) == 0 && in_tree(w, &st))
			return true;
		fdd = openat(pfd, "fd", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (fdd < 0)
			return errno != ENOENT;
		fds = fdopendir(fdd);
		if (!fds)
			return true;
		fdd = -1;
		while ((f = readdir(fds))) {
			if (f->d_name[0] == '.' || fstatat(dirfd(fds), f->d_name, &st, 0) < 0 ||
			    !in_tree(w, &st))
				continue;
			if (S_ISDIR(st.st_mode) || fd_accmode(pfd, f->d_name) != O_RDONLY)
				return true;
		}
	}
	return false;
}

static int scan(struct walk *w, int fd, const struct statx *sx, int depth)
{
	cleanup_dir DIR *d = NULL;
	struct dirent *e;
	bool owned = sx->stx_uid == w->uid;
	bool removable = owned || faccessat(fd, ".", W_OK | X_OK, AT_EACCESS) == 0;

	add_node(w, sx);
	if (depth > DIRMOVE_MAX_DEPTH)
		return give_up(w, "deeper than %d levels", DIRMOVE_MAX_DEPTH);
	d = list(fd);
	if (!d)
		return give_up(w, "a directory it cannot list");
	while ((errno = 0, e = readdir(d))) {
		struct statx c;
		int rc;

		if (dot(e->d_name))
			continue;
		if (++w->entries > DIRMOVE_MAX_ENTRIES)
			return give_up(w, "more than %d entries", DIRMOVE_MAX_ENTRIES);
		if (stat_entry(fd, e->d_name, &c) < 0)
			return give_up(w, "an entry it cannot look at");
		if (c.stx_mnt_id != w->mnt_id || (c.stx_attributes & STATX_ATTR_MOUNT_ROOT))
			return give_up(w, "a mount inside it");
		/* Emptying it must be possible, as the copy's last step removes every entry. */
		if (!removable || ((sx->stx_mode & S_ISVTX) && !owned && c.stx_uid != w->uid))
			return give_up(w, "a directory whose entries it cannot remove");
		switch (c.stx_mode & S_IFMT) {
		case S_IFDIR: {
			cleanup_fd int sub = open_beneath(fd, e->d_name, O_RDONLY | O_DIRECTORY);

			if (sub < 0)
				return give_up(w, "a directory it cannot read");
			rc = scan(w, sub, &c, depth + 1);
			if (rc < 0)
				return rc;
			break;
		}
		case S_IFREG:
			add_node(w, &c);
			w->bytes += c.stx_size;
			if (w->bytes > w->max_bytes)
				return give_up(w, "more than %llu MiB of files or the store's room",
					       (unsigned long long)(DIRMOVE_MAX_BYTES >> 20));
			if (faccessat(fd, e->d_name, R_OK, AT_EACCESS | AT_SYMLINK_NOFOLLOW) < 0)
				return give_up(w, "a file it cannot read");
			break;
		case S_IFLNK:
		case S_IFIFO:
		case S_IFSOCK:
			break;
		default:
			return give_up(w, "a device node");
		}
	}
	return errno ? give_up(w, "a directory it cannot list") : 0;
}

/* Copy the xattrs the overlay lets a user set (user.*, ACLs); the others are not ours. */
static void copy_xattrs(int in, int out)
{
	cleanup_free char *names = xmalloc(XATTR_LIST_MAX_);
	cleanup_free char *val = xmalloc(XATTR_LIST_MAX_);
	ssize_t n = flistxattr(in, names, XATTR_LIST_MAX_);
	const char *p;

	for (p = names; n > 0 && p < names + n; p += strlen(p) + 1) {
		ssize_t len = fgetxattr(in, p, val, XATTR_LIST_MAX_);

		if (len >= 0)
			(void)fsetxattr(out, p, val, (size_t)len, 0);
	}
}

static struct timespec ts_of(struct statx_timestamp t)
{
	return (struct timespec){.tv_sec = t.tv_sec, .tv_nsec = t.tv_nsec};
}

/* Mode, xattrs and times of the entry open at out from sx (and in, for the xattrs). */
static int finish(int in, int out, const struct statx *sx)
{
	struct timespec ts[2] = {ts_of(sx->stx_atime), ts_of(sx->stx_mtime)};

	if (in >= 0)
		copy_xattrs(in, out);
	if (fchmod(out, sx->stx_mode & 07777) < 0 || futimens(out, ts) < 0)
		return -errno;
	return 0;
}

static int copy_data(int in, int out)
{
	static char chunk[1 << 16];
	bool plain = false;

	for (;;) {
		ssize_t n, off, k;

		if (!plain) {
			n = copy_file_range(in, NULL, out, NULL, 1 << 30, 0);
			if (n == 0)
				return 0;
			if (n > 0)
				continue;
			if (errno == EINTR)
				continue;
			if (errno != EXDEV && errno != EINVAL && errno != ENOSYS &&
			    errno != EOPNOTSUPP)
				return -errno;
			plain = true;
		}
		n = read(in, chunk, sizeof(chunk));
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return n < 0 ? -errno : 0;
		for (off = 0; off < n; off += k) {
			k = write(out, chunk + off, (size_t)(n - off));
			if (k < 0 && errno == EINTR)
				k = 0;
			else if (k <= 0)
				return k < 0 ? -errno : -EIO;
		}
	}
}

/* A hard link within the tree: the first copy of (dev, ino), or NULL. */
static const char *linked(const struct walk *w, const struct statx *sx)
{
	size_t i;

	for (i = 0; i < w->nlinks; i++)
		if (w->links[i].dev == makedev(sx->stx_dev_major, sx->stx_dev_minor) &&
		    w->links[i].ino == sx->stx_ino)
			return w->links[i].rel;
	return NULL;
}

static char *rel_of(const struct walk *w, const char *name)
{
	return w->rel.len ? xasprintf("%s/%s", w->rel.data, name) : xstrdup(name);
}

static int copy_file(struct walk *w, int sfd, int tfd, const char *name, const struct statx *sx)
{
	cleanup_fd int in = -1, out = -1;
	const char *first = sx->stx_nlink > 1 ? linked(w, sx) : NULL;
	struct stat st;
	int rc;

	if (first)
		return linkat(w->troot, first, tfd, name, 0) < 0 ? -errno : 0;
	in = open_beneath(sfd, name, O_RDONLY | O_NONBLOCK | O_NOCTTY);
	if (in < 0)
		return in;
	if (fstat(in, &st) < 0 || !S_ISREG(st.st_mode) || st.st_ino != sx->stx_ino)
		return -ESTALE;
	out = openat(tfd, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (out < 0)
		return -errno;
	rc = copy_data(in, out);
	if (rc == 0)
		rc = finish(in, out, sx);
	if (rc == 0 && sx->stx_nlink > 1) {
		GROW(w->links, w->clinks, w->nlinks + 1);
		w->links[w->nlinks].dev = makedev(sx->stx_dev_major, sx->stx_dev_minor);
		w->links[w->nlinks].ino = sx->stx_ino;
		w->links[w->nlinks].rel = rel_of(w, name);
		w->nlinks++;
	}
	return rc;
}

static int copy_special(int sfd, int tfd, const char *name, const struct statx *sx)
{
	struct timespec ts[2] = {ts_of(sx->stx_atime), ts_of(sx->stx_mtime)};
	char target[PATH_MAX];
	ssize_t n;

	if (S_ISLNK(sx->stx_mode)) {
		n = readlinkat(sfd, name, target, sizeof(target) - 1);
		if (n < 0)
			return -errno;
		target[n] = '\0';
		if (symlinkat(target, tfd, name) < 0)
			return -errno;
	} else {
		if (mknodat(tfd, name, (sx->stx_mode & S_IFMT) | 0600, 0) < 0 ||
		    fchmodat(tfd, name, sx->stx_mode & 07777, 0) < 0)
			return -errno;
	}
	return utimensat(tfd, name, ts, AT_SYMLINK_NOFOLLOW) < 0 ? -errno : 0;
}

/* Copy what the directory open at sfd holds into the one open at tfd. 0 or -errno. */
static int copy_tree(struct walk *w, int sfd, int tfd)
{
	cleanup_dir DIR *d = list(sfd);
	struct dirent *e;
	int rc = 0;

	if (!d)
		return -errno;
	while (rc == 0 && (errno = 0, e = readdir(d))) {
		struct statx sx;

		if (dot(e->d_name))
			continue;
		rc = stat_entry(sfd, e->d_name, &sx);
		if (rc < 0)
			break;
		switch (sx.stx_mode & S_IFMT) {
		case S_IFDIR: {
			cleanup_fd int sub = -1, tsub = -1;
			size_t len = w->rel.len;

			if (mkdirat(tfd, e->d_name, 0700) < 0)
				return -errno;
			sub = open_beneath(sfd, e->d_name, O_RDONLY | O_DIRECTORY);
			tsub = open_beneath(tfd, e->d_name, O_RDONLY | O_DIRECTORY);
			if (sub < 0 || tsub < 0)
				return sub < 0 ? sub : tsub;
			if (len)
				buf_addc(&w->rel, '/');
			buf_adds(&w->rel, e->d_name);
			rc = copy_tree(w, sub, tsub);
			w->rel.len = len;
			w->rel.data[len] = '\0';
			if (rc == 0)
				rc = finish(sub, tsub, &sx);
			break;
		}
		case S_IFREG:
			rc = copy_file(w, sfd, tfd, e->d_name, &sx);
			break;
		case S_IFLNK:
		case S_IFIFO:
		case S_IFSOCK:
			rc = copy_special(sfd, tfd, e->d_name, &sx);
			break;
		default:
			rc = -EXDEV;
		}
	}
	if (rc == 0 && errno)
		rc = -errno;
	return rc;
}

/*
 * Remove name in dfd and all below it, as rm -r does; directories of ours that we may not
 * write get u+rwx first (they go anyway). 0 or -errno.
 */
static int remove_tree(int dfd, const char *name, uid_t uid, int depth)
{
	struct statx sx;
	int rc = stat_entry(dfd, name, &sx);

	if (rc < 0)
		return rc;
	if (S_ISDIR(sx.stx_mode)) {
		cleanup_fd int fd = open_beneath(dfd, name, O_RDONLY | O_DIRECTORY);
		cleanup_dir DIR *d = NULL;
		struct dirent *e;

		if (fd < 0)
			return fd;
		if (depth > DIRMOVE_MAX_DEPTH + 1)
			return -ELOOP;
		if (sx.stx_uid == uid && (sx.stx_mode & S_IRWXU) != S_IRWXU &&
		    fchmod(fd, (sx.stx_mode & 07777) | S_IRWXU) < 0)
			return -errno;
		d = list(fd);
		if (!d)
			return -errno;
		while ((errno = 0, e = readdir(d)))
			if (!dot(e->d_name) &&
			    (rc = remove_tree(fd, e->d_name, uid, depth + 1)) < 0)
				return rc;
		if (errno)
			return -errno;
		return unlinkat(dfd, name, AT_REMOVEDIR) < 0 ? -errno : 0;
	}
	return unlinkat(dfd, name, 0) < 0 ? -errno : 0;
}

/*
 * Split path as the kernel takes its last component: trailing slashes go (a directory may be
 * named with them), the rest is the directory it is looked up in. false for "/", "." or "..".
 */
static bool split(const char *path, char **dir, char **base)
{
	cleanup_free char *p = xstrdup(path);
	size_t len = strlen(p);
	char *slash;

	while (len > 1 && p[len - 1] == '/')
		p[--len] = '\0';
	slash = strrchr(p, '/');
	if (!slash) {
		*dir = xstrdup(".");
		*base = xstrdup(p);
	} else {
		*base = xstrdup(slash + 1);
		*dir = slash == p ? xstrdup("/") : xstrndup(p, (size_t)(slash - p));
	}
	if (!**base || dot(*base)) {
		free(*dir);
		free(*base);
		*dir = *base = NULL; /* the caller frees what it is given, false or not */
		return false;
	}
	return true;
}

static bool on_overlay(int fd, unsigned long long *mnt_id)
{
	struct statfs sf;
	struct statx sx;

	return fstatfs(fd, &sf) == 0 && sf.f_type == OVERLAYFS_SUPER_MAGIC &&
	       stat_entry(fd, "", &sx) == 0 && (sx.stx_mask & STATX_MNT_ID) &&
	       (*mnt_id = sx.stx_mnt_id, true);
}

/* Whether the directory name in dfd has an entry. 1, 0, or -errno. */
static int has_entries(int dfd, const char *name)
{
	cleanup_fd int fd = open_beneath(dfd, name, O_RDONLY | O_DIRECTORY);
	cleanup_dir DIR *d = NULL;
	struct dirent *e;

	if (fd < 0)
		return fd;
	d = list(fd);
	if (!d)
		return -errno;
	while ((errno = 0, e = readdir(d)))
		if (!dot(e->d_name))
			return 1;
	return errno ? -errno : 0;
}

/* The two ends of an emulated move: their parents as the kernel found them, the names. */
struct ends {
	char *sdir, *sbase, *ddir, *dbase;
	int spfd, dpfd;
	unsigned long long mnt; /* the overlay's mount, the same for both */
	struct statx sx;	/* the source directory */
};

static void ends_release(struct ends *e)
{
	free(e->sdir);
	free(e->sbase);
	free(e->ddir);
	free(e->dbase);
	if (e->spfd >= 0)
		close(e->spfd);
	if (e->dpfd >= 0)
		close(e->dpfd);
}

/*
 * Open both ends and check that emulating can be right: both on the same overlay, the source
 * a directory, the target absent or an empty directory. 0 to go on; -1 when the answer is
 * res->err as it stands (EXDEV), or as set here (ENOTEMPTY).
 */
static int open_ends(const struct dirmove *m, int olddir, int newdir, struct ends *e,
		     struct dirmove_result *res)
{
	unsigned long long dmnt;
	struct statx tx;
	int rc;

	if (!split(m->oldpath, &e->sdir, &e->sbase) || !split(m->newpath, &e->ddir, &e->dbase))
		return -1;
	/* The directories as the kernel found them for the call: symlinks in them followed. */
	e->spfd = openat(olddir, e->sdir, O_PATH | O_DIRECTORY | O_CLOEXEC);
	e->dpfd = openat(newdir, e->ddir, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (e->spfd < 0 || e->dpfd < 0)
		return -1;
	/* A rename across mounts is EXDEV on any filesystem: that answer stands. */
	if (!on_overlay(e->spfd, &e->mnt) || !on_overlay(e->dpfd, &dmnt) || e->mnt != dmnt)
		return -1;
	if (stat_entry(e->spfd, e->sbase, &e->sx) < 0 || !S_ISDIR(e->sx.stx_mode))
		return -1;
	/* The VFS checked the target's type; its emptiness is the filesystem's to check. */
	if (stat_entry(e->dpfd, e->dbase, &tx) == 0) {
		if (!S_ISDIR(tx.stx_mode))
			return -1;
		rc = has_entries(e->dpfd, e->dbase);
		if (rc != 0) {
			res->err = rc > 0 ? ENOTEMPTY : EXDEV; /* cannot tell: as before */
			return -1;
		}
	}
	return 0;
}

/*
 * Scan the source tree src: within the limits, on the one mount, removable by us, held by no
 * process of the sandbox. 0, or -errno with res->note saying why not.
 */
static int check_movable(struct walk *w, const struct ends *e, int src, struct dirmove_result *res)
{
	int rc = scan(w, src, &e->sx, 0);

	res->entries = w->entries;
	res->bytes = w->bytes;
	if (rc == 0 &&
	    faccessat(e->spfd, e->sbase, W_OK | X_OK, AT_EACCESS | AT_SYMLINK_NOFOLLOW) < 0 &&
	    e->sx.stx_uid != w->uid)
		rc = give_up(w, "a directory whose entries it cannot remove");
	if (rc == 0 && held(w))
		rc = give_up(w, "a process of the sandbox has its working directory or a "
				"descriptor open in it");
	free(w->nodes);
	w->nodes = NULL;
	if (rc < 0)
		snprintf(res->note, sizeof(res->note), "%s", w->note[0] ? w->note : strerror(-rc));
	return rc;
}

/* A directory of ours next to the target for the copy: its name in tmpname. 0, or -errno. */
static int make_copy_dir(int dpfd, char *tmpname, size_t size)
{
	for (int i = 0;; i++) {
		snprintf(tmpname, size, ".airlock-rename.%d.%d", (int)getpid(), i);
		if (mkdirat(dpfd, tmpname, 0700) == 0)
			return 0;
		if (errno != EEXIST || i > 100)
			return -errno;
	}
}

/* Copy src into tmpname, then move the copy into place whole. 0, or -errno. */
static int copy_into_place(struct walk *w, const struct ends *e, int src, const char *tmpname,
			   unsigned flags)
{
	cleanup_fd int tmp = open_beneath(e->dpfd, tmpname, O_RDONLY | O_DIRECTORY);
	int rc;

	w->troot = tmp;
	rc = tmp < 0 ? tmp : copy_tree(w, src, tmp);
	if (rc == 0)
		rc = finish(src, tmp, &e->sx);
	if (rc == 0 && renameat2(e->dpfd, tmpname, e->dpfd, e->dbase, flags & RENAME_NOREPLACE) < 0)
		rc = -errno;
	for (size_t k = 0; k < w->nlinks; k++)
		free(w->links[k].rel);
	free(w->links);
	return rc;
}

/* The overlay refused to move a directory: copy it, move the copy, remove the source. */
static void emulate(const struct dirmove *m, int olddir, int newdir, unsigned long long room,
		    struct dirmove_result *res)
{
	struct ends e = {.spfd = -1, .dpfd = -1};
	cleanup_fd int src = -1;
	struct walk w = {.max_bytes = room < DIRMOVE_MAX_BYTES ? room : DIRMOVE_MAX_BYTES,
			 .uid = geteuid(),
			 .troot = -1};
	char tmpname[64];
	int rc;

	res->err = EXDEV;
	buf_init(&w.rel);
	if (open_ends(m, olddir, newdir, &e, res) < 0 ||
	    (src = open_beneath(e.spfd, e.sbase, O_RDONLY | O_DIRECTORY)) < 0)
		goto out;
	w.mnt_id = e.mnt;
	if (check_movable(&w, &e, src, res) < 0)
		goto out;
	/* The copy, under a name of ours next to the target; it moves into place whole. */
	rc = make_copy_dir(e.dpfd, tmpname, sizeof(tmpname));
	if (rc < 0) {
		res->err = rc == -ENOSPC || rc == -EDQUOT ? -rc : EXDEV;
		goto out;
	}
	rc = copy_into_place(&w, &e, src, tmpname, m->flags);
	if (rc < 0) {
		/* Nothing of it stays: the copy was all there was. */
		remove_tree(e.dpfd, tmpname, w.uid, 0);
		snprintf(res->note, sizeof(res->note), "the copy failed: %s", strerror(-rc));
		res->err = rc == -ENOSPC || rc == -EDQUOT ? -rc : EXDEV;
		goto out;
	}
	res->copied = true;
	rc = remove_tree(e.spfd, e.sbase, w.uid, 0);
	if (rc < 0) {
		/* The scan made sure this could be done; the caller says it went wrong. */
		snprintf(res->note, sizeof(res->note),
			 "the copy is in place but the source could not be removed: %s",
			 strerror(-rc));
		res->err = -rc;
		goto out;
	}
	res->err = 0;
out:
	buf_release(&w.rel);
	ends_release(&e);
}

static int helper(const struct dirmove *m, unsigned long long room, struct dirmove_result *res)
{
	int olddir = m->olddir >= 0 ? m->olddir : AT_FDCWD;
	int newdir = m->newdir >= 0 ? m->newdir : AT_FDCWD;

	if (enter_sandbox(m) < 0)
		return -1;
	memset(res, 0, sizeof(*res));
	/* The call itself, as the caller would make it: the kernel's checks, its answer. */
	if (renameat2(olddir, m->oldpath, newdir, m->newpath, m->flags) == 0)
		return 0;
	res->err = errno;
	if (res->err == EXDEV && !(m->flags & ~RENAME_NOREPLACE))
		emulate(m, olddir, newdir, room, res);
	return 0;
}

int dirmove_perform(const struct dirmove *m, unsigned long long room, struct dirmove_result *res)
{
	int pfd[2], status;
	ssize_t n;
	pid_t pid;

	if (pipe2(pfd, O_CLOEXEC) < 0)
		return 0;
	pid = fork();
	if (pid < 0) {
		close(pfd[0]);
		close(pfd[1]);
		return 0;
	}
	if (pid == 0) {
		close(pfd[0]);
		if (helper(m, room, res) < 0)
			_exit(HELPER_NOT_STARTED);
		_exit(write(pfd[1], res, sizeof(*res)) == (ssize_t)sizeof(*res) ? 0 : 1);
	}
	close(pfd[1]);
	do
		n = read(pfd[0], res, sizeof(*res));
	while (n < 0 && errno == EINTR);
	close(pfd[0]);
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	if (WIFEXITED(status) && WEXITSTATUS(status) == HELPER_NOT_STARTED)
		return 0;
	if (n != (ssize_t)sizeof(*res) || !WIFEXITED(status) || WEXITSTATUS(status) != 0)
		return -EIO;
	res->note[sizeof(res->note) - 1] = '\0';
	return 1;
}
