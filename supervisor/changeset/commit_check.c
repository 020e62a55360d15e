/* SPDX-License-Identifier: MIT */
/* The host side of a commit: symlink-safe lookups, copies and removals, and the conflict check. */
#include "supervisor/changeset/commit_int.h"

void cm_ident_of(const struct stat *st, struct ident *id)
{
	id->dev = (unsigned long long)st->st_dev;
	id->ino = (unsigned long long)st->st_ino;
}

bool cm_ident_is(const struct stat *st, const struct ident *id)
{
	return (unsigned long long)st->st_dev == id->dev &&
	       (unsigned long long)st->st_ino == id->ino;
}

/* The directory part of an absolute or relative path (caller frees) and its last component. */
char *cm_split(const char *path, const char **name)
{
	const char *slash = strrchr(path, '/');

	if (!slash) {
		*name = path;
		return xstrdup(".");
	}
	*name = slash + 1;
	if (slash == path)
		return xstrdup("/");
	return xasprintf("%.*s", (int)(slash - path), path);
}

/*
 * Open a host directory by its absolute path, refusing any symlink on the way (ELOOP): a
 * directory swapped for a symlink after the run must not redirect a write. fd or -errno.
 */
static int host_dir(const char *dir)
{
	if (dir[0] != '/')
		return -EINVAL;
	return openat2_fd(AT_FDCWD, dir, O_RDONLY | O_DIRECTORY,
			  RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS);
}

/* Open the directory holding the absolute host path, as host_dir(). fd or -errno. */
int cm_host_parent(const char *path, const char **name)
{
	cleanup_free char *dir = cm_split(path, name);

	if (!**name)
		return -EINVAL;
	return host_dir(dir);
}

/* Open the directory holding an upper entry, staying inside the session directory. */
int cm_upper_dir(int sfd, const char *sdir, const char *dir)
{
	if (!path_is_under(dir, sdir))
		return -EXDEV;
	if (strcmp(dir, sdir) == 0)
		return -EXDEV;
	return openat2_fd(sfd, path_rel(dir, sdir), O_PATH | O_DIRECTORY,
			  RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS);
}

/* Remember the filesystem of the directory open at fd (on device dev, or found by fstat). */
void devs_add(struct devs *d, int fd, dev_t dev)
{
	struct stat st;
	size_t i;

	if (dev == 0) {
		if (fstat(fd, &st) < 0)
			return;
		dev = st.st_dev;
	}
	for (i = 0; i < d->n; i++)
		if (d->v[i] == dev)
			return;
	if (d->n == ARRAY_SIZE(d->v)) {
		d->overflow = true;
		return;
	}
	d->v[d->n] = dev;
	d->fd[d->n++] = dup(fd);
}

/* syncfs() each filesystem noted; keep remembers them for the next sync. 0 or -errno. */
int devs_sync(struct devs *d, bool keep)
{
	size_t i;
	int rc = 0;

	for (i = 0; i < d->n; i++) {
		if (d->fd[i] >= 0 && syncfs(d->fd[i]) < 0 && rc == 0)
			rc = -errno;
		if (d->fd[i] >= 0 && !keep)
			close(d->fd[i]);
	}
	if (d->overflow)
		sync();
	if (!keep) {
		d->n = 0;
		d->overflow = false;
	}
	return rc;
}

void dir_cache_reset(struct dir_cache *dc)
{
	free(dc->dir);
	dc->dir = NULL;
	if (dc->fd >= 0)
		close(dc->fd);
	dc->fd = -1;
}

/* The parent of path, opened by opener (host_dir or upper_dir); borrowed fd or -errno. */
int dir_cache_get(struct dir_cache *dc, const char *path, const char **name, int sfd,
		  const char *sdir)
{
	cleanup_free char *dir = cm_split(path, name);
	int fd;

	if (!**name)
		return -EINVAL;
	if (dc->dir && strcmp(dc->dir, dir) == 0)
		return dc->fd;
	fd = sdir ? cm_upper_dir(sfd, sdir, dir) : host_dir(dir);
	if (fd < 0)
		return fd;
	dir_cache_reset(dc);
	if (fstat(fd, &dc->st) < 0)
		memset(&dc->st, 0, sizeof(dc->st));
	if (dc->devs)
		devs_add(dc->devs, fd, dc->st.st_dev);
	dc->dir = steal_pointer(&dir);
	dc->fd = fd;
	return fd;
}

/* Copy in to out: size bytes, or to the end when the file turns out shorter. 0 or -errno. */
static int copy_data(int in, int out, off_t size)
{
	char buf[65536];
	ssize_t n;
	off_t done = 0;

	/* In-kernel first (no copy through user space; a reflink where the filesystem can). */
	while (done < size) {
		n = copy_file_range(in, NULL, out, NULL, (size_t)(size - done), 0);
		if (n == 0)
			return 0;
		if (n > 0) {
			done += n;
			continue;
		}
		if (errno == EINTR)
			continue;
		if (errno == EXDEV || errno == EINVAL || errno == ENOSYS || errno == EOPNOTSUPP ||
		    errno == EPERM)
			break;
		return -errno;
	}
	if (done >= size)
		return 0;
	while ((n = read(in, buf, sizeof(buf))) != 0) {
		char *p = buf;

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		while (n > 0) {
			ssize_t w = write(out, p, (size_t)n);

			if (w < 0) {
				if (errno == EINTR)
					continue;
				return -errno;
			}
			p += w;
			n -= w;
		}
	}
	return 0;
}

/*
 * The regular file open at in (st says what it is) copied to dfd/dname, which must not exist,
 * with its mode less the bits in strip and its times; the copy's identity in *made, when made,
 * from its descriptor. 0 or -errno.
 */
static int copy_reg(int in, const struct stat *st, int dfd, const char *dname, mode_t strip,
		    struct ident *made)
{
	struct timespec ts[2] = {st->st_atim, st->st_mtim};
	cleanup_fd int out =
		openat(dfd, dname, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	struct stat os;
	int rc;

	if (out < 0)
		return -errno;
	rc = copy_data(in, out, st->st_size);
	if (rc == 0 && (fchmod(out, st->st_mode & 07777 & ~strip) < 0 || futimens(out, ts) < 0))
		rc = -errno;
	if (rc == 0 && made) {
		if (fstat(out, &os) < 0)
			return -errno;
		cm_ident_of(&os, made);
	}
	return rc;
}

/*
 * Copy the regular file of change c, sfd/sname in the session, to dfd/dname as copy_entry()
 * does, giving the copy's identity in *made. What is copied is what was opened, and only if it
 * is still the entry the change set scanned: the identity a decision is pinned to (gate_pin()),
 * its size and mode. Anything else there now (rewritten, replaced, made a symlink or a fifo)
 * is -ESTALE: what reaches the host is what was selected and approved. Both looks go through
 * descriptors, not names. 0 or -errno.
 */
int cm_copy_file(int sfd, const char *sname, const struct change *c, int dfd, const char *dname,
		 mode_t strip, struct ident *made)
{
	/* O_NONBLOCK: a fifo in its place must not hang the commit (a regular file ignores it). */
	cleanup_fd int in =
		openat(sfd, sname, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
	struct stat st;

	if (in < 0)
		return errno == ELOOP ? -ESTALE : -errno;
	if (fstat(in, &st) < 0)
		return -errno;
	if (!S_ISREG(st.st_mode) || st.st_mode != c->mode || st.st_dev != c->dev ||
	    st.st_ino != c->ino || st.st_size != c->size || !cm_ts_eq(&st.st_ctim, &c->ctim))
		return -ESTALE;
	return copy_reg(in, &st, dfd, dname, strip, made);
}

/*
 * Copy the entry sfd/sname to dfd/dname (which must not exist) with its mode (less the bits in
 * strip) and times, never following a symlink: regular files, symlinks, fifos and directories.
 * A directory's content is copied when recursive; otherwise it is made empty with mode 0700,
 * for the caller to fix up once its content is in. Nothing is synced: callers sync a whole
 * batch with syncfs(). 0 or -errno.
 */
int copy_entry(int sfd, const char *sname, int dfd, const char *dname, bool recursive, mode_t strip,
	       int depth)
{
	struct stat st;
	struct timespec ts[2];
	int rc = 0;

	if (depth > MAX_DEPTH)
		return -ELOOP;
	if (fstatat(sfd, sname, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return -errno;
	ts[0] = st.st_atim;
	ts[1] = st.st_mtim;
	if (S_ISREG(st.st_mode)) {
		cleanup_fd int in = openat(sfd, sname, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);

		if (in < 0)
			return -errno;
		return copy_reg(in, &st, dfd, dname, strip, NULL);
	}
	if (S_ISLNK(st.st_mode)) {
		char target[PATH_MAX];
		ssize_t n = readlinkat(sfd, sname, target, sizeof(target) - 1);

		if (n < 0)
			return -errno;
		target[n] = '\0';
		if (symlinkat(target, dfd, dname) < 0)
			return -errno;
		utimensat(dfd, dname, ts, AT_SYMLINK_NOFOLLOW);
		return 0;
	}
	if (S_ISFIFO(st.st_mode)) {
		if (mkfifoat(dfd, dname, 0600) < 0)
			return -errno;
		if (fchmodat(dfd, dname, st.st_mode & 07777 & ~strip, 0) < 0 ||
		    utimensat(dfd, dname, ts, AT_SYMLINK_NOFOLLOW) < 0)
			return -errno;
		return 0;
	}
	if (S_ISDIR(st.st_mode)) {
		cleanup_fd int in = -1, out = -1;
		cleanup_strvec struct strvec names = STRVEC_INIT;
		size_t i;

		if (mkdirat(dfd, dname, 0700) < 0)
			return -errno;
		if (!recursive)
			return 0;
		out = openat(dfd, dname, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (out < 0)
			return -errno;
		in = openat(sfd, sname, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (in < 0)
			return -errno;
		rc = dir_list(in, &names);
		for (i = 0; rc == 0 && i < names.n; i++)
			rc = copy_entry(in, names.v[i], out, names.v[i], true, strip, depth + 1);
		if (rc == 0 &&
		    (fchmod(out, st.st_mode & 07777 & ~strip) < 0 || futimens(out, ts) < 0))
			rc = -errno;
		return rc;
	}
	return -EOPNOTSUPP;
}

/* Remove dfd/name and, for a directory, everything below it; never follows a symlink. */
int cm_remove_at(int dfd, const char *name, int depth)
{
	struct stat st;
	cleanup_fd int fd = -1;
	cleanup_strvec struct strvec names = STRVEC_INIT;
	size_t i;
	int rc;

	if (depth > MAX_DEPTH)
		return -ELOOP;
	if (fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return errno == ENOENT ? 0 : -errno;
	if (!S_ISDIR(st.st_mode))
		return unlinkat(dfd, name, 0) < 0 ? -errno : 0;
	if ((st.st_mode & 0700) != 0700 && fchmodat(dfd, name, 0700, 0) < 0)
		return -errno;
	fd = openat(dfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	rc = dir_list(fd, &names);
	for (i = 0; rc == 0 && i < names.n; i++) {
		struct stat cst;

		/* Stay on this filesystem: a mount below is not ours to empty. */
		if (fstatat(fd, names.v[i], &cst, AT_SYMLINK_NOFOLLOW) == 0 &&
		    cst.st_dev != st.st_dev)
			rc = -EXDEV;
		else
			rc = cm_remove_at(fd, names.v[i], depth + 1);
	}
	if (rc == 0 && unlinkat(dfd, name, AT_REMOVEDIR) < 0)
		rc = -errno;
	return rc;
}

bool cm_ts_after(const struct timespec *a, const struct timespec *b)
{
	return a->tv_sec > b->tv_sec || (a->tv_sec == b->tv_sec && a->tv_nsec > b->tv_nsec);
}

bool cm_ts_eq(const struct timespec *a, const struct timespec *b)
{
	return a->tv_sec == b->tv_sec && a->tv_nsec == b->tv_nsec;
}

bool cm_newer(const struct stat *st, const struct timespec *start)
{
	return cm_ts_after(&st->st_ctim, start) || cm_ts_after(&st->st_mtim, start);
}

/* 1 (and *which, caller frees) when something below dfd/name changed after start; 0; -errno. */
static int tree_newer(int dfd, const char *name, const struct timespec *start, const char *shown,
		      char **which, int depth)
{
	cleanup_fd int fd = openat(dfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	cleanup_strvec struct strvec names = STRVEC_INIT;
	size_t i;
	int rc;

	if (depth > MAX_DEPTH)
		return -ELOOP;
	if (fd < 0)
		return -errno;
	rc = dir_list(fd, &names);
	for (i = 0; rc == 0 && i < names.n; i++) {
		cleanup_free char *sub = xasprintf("%s/%s", shown, names.v[i]);
		struct stat st;

		if (fstatat(fd, names.v[i], &st, AT_SYMLINK_NOFOLLOW) < 0) {
			rc = -errno;
		} else if (cm_newer(&st, start)) {
			*which = steal_pointer(&sub);
			rc = 1;
		} else if (S_ISDIR(st.st_mode)) {
			rc = tree_newer(fd, names.v[i], start, sub, which, depth + 1);
		}
	}
	return rc;
}

/* The session's start from meta ("2026-01-02T03:04:05.678Z"), rounded up to the next ms. */
int cm_parse_start(const char *s, struct timespec *out)
{
	struct tm tm = {0};
	int ms = 0;
	char *end;

	if (!s || !(end = strptime(s, "%Y-%m-%dT%H:%M:%S", &tm)))
		return -EINVAL;
	if (*end == '.')
		ms = atoi(end + 1);
	out->tv_sec = timegm(&tm);
	/* start is truncated to the millisecond: anything within it is older than the run. */
	out->tv_nsec = (long)ms * 1000000L + 999999L;
	return 0;
}

/*
 * 1 when the upper directory is not opaque, so the lower (host) side was a directory during the
 * run; 0 when it is opaque; -errno. The change set compares the upper with the host as it is
 * now: a host directory swapped for a symlink after the run shows as a type change from a
 * symlink, and only this tells the swap apart from a change the program made.
 */
static int upper_merged_dir(int sfd, const char *sdir, const char *upper)
{
	cleanup_fd int fd = -1;
	char val[2];
	ssize_t n;

	if (!path_is_under(upper, sdir))
		return -EXDEV;
	fd = openat2_fd(sfd, path_rel(upper, sdir), O_RDONLY | O_DIRECTORY,
			RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS);
	if (fd < 0)
		return fd;
	n = fgetxattr(fd, "user.overlay.opaque", val, sizeof(val));
	if (n < 0)
		return errno == ENODATA || errno == ENOTSUP || errno == ERANGE ? 1 : -errno;
	return !(n == 1 && val[0] == 'y');
}

bool cm_creates_dir(const struct change *c)
{
	return S_ISDIR(c->mode) && c->kind != CHANGE_MODE_CHANGED && c->kind != CHANGE_DELETED;
}

bool cm_is_addition(const struct change *c)
{
	return c->kind == CHANGE_ADDED || c->kind == CHANGE_DIR_ADDED ||
	       c->kind == CHANGE_SYMLINK_ADDED;
}

/* Look at the host path of one step; record a conflict with the session start, if any. */
void check_step(struct step *st, const struct timespec *start, int sfd, const char *sdir,
		struct dir_cache *dc)
{
	const struct change *c = st->c;
	const char *name;
	struct stat hs;
	int pfd, r;

	if (st->covered)
		return;
	pfd = dir_cache_get(dc, c->path, &name, -1, NULL);
	if (pfd < 0) {
		st->unsafe = true;
		if (pfd == -ELOOP || pfd == -ENOTDIR || pfd == -EXDEV)
			st->conflict = xstrdup("a directory on the way to it is no longer a "
					       "directory on the host (a symlink?)");
		else if (pfd == -ENOENT)
			st->conflict = xstrdup("its parent directory is missing on the host "
					       "(commit the parent too)");
		else
			st->conflict =
				xasprintf("cannot open its parent directory: %s", strerror(-pfd));
		return;
	}
	st->has_pmtime = true;
	st->pmtime = dc->st.st_mtim;
	if (fstatat(pfd, name, &hs, AT_SYMLINK_NOFOLLOW) == 0) {
		st->host_exists = true;
		st->host_mode = hs.st_mode;
		cm_ident_of(&hs, &st->host_id);
	} else if (errno != ENOENT) {
		st->unsafe = true;
		st->conflict = xasprintf("cannot look at it on the host: %s", strerror(errno));
		return;
	}
	if (c->kind == CHANGE_TYPE_CHANGED && S_ISDIR(c->mode) && st->host_exists &&
	    !S_ISDIR(hs.st_mode) && upper_merged_dir(sfd, sdir, c->upper) != 0) {
		st->unsafe = true;
		st->conflict = xstrdup("the directory was replaced on the host after the run");
		return;
	}
	if (c->old_mode == 0) {
		if (st->host_exists)
			st->conflict = xstrdup("something appeared at this path on the host");
		return;
	}
	if (!st->host_exists) {
		st->conflict = xstrdup("it was removed from the host");
		return;
	}
	if ((hs.st_mode & S_IFMT) != (c->old_mode & S_IFMT)) {
		st->conflict = xstrdup("it changed type on the host");
		return;
	}
	if (cm_newer(&hs, start)) {
		st->conflict = xstrdup("it changed on the host after the session started");
		return;
	}
	if (S_ISDIR(hs.st_mode) && c->kind != CHANGE_MODE_CHANGED) {
		char *which = NULL;

		r = tree_newer(pfd, name, start, c->path, &which, 0);
		if (r == 1) {
			st->conflict =
				xasprintf("%s below it changed on the host after the session "
					  "started",
					  which);
			free(which);
		} else if (r < 0) {
			st->unsafe = true;
			st->conflict = xasprintf("cannot read the tree below it: %s", strerror(-r));
		}
	}
}

char *commit_conflict(int sfd, const char *sdir, const struct change *c,
		      const struct timespec *start, bool *unsafe)
{
	struct step st = {.c = c};
	struct dir_cache dc = {.fd = -1};

	check_step(&st, start, sfd, sdir, &dc);
	dir_cache_reset(&dc);
	*unsafe = st.unsafe;
	return st.conflict;
}
