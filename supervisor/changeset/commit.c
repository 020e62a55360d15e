/* SPDX-License-Identifier: MIT */
/* `airlock commit` and `airlock undo`: the journalled, symlink-safe application of a change set. */
#include "supervisor/changeset/commit.h"

#include "common/buf.h"
#include "common/cleanup.h"
#include "common/err.h"
#include "common/path.h"
#include "common/utf8.h"
#include "supervisor/record/audit.h"
#include "supervisor/changeset/changes.h"
#include "supervisor/cli/cli.h"
#include "supervisor/changeset/deferred.h"
#include "supervisor/record/events.h"
#include "supervisor/changeset/gate.h"
#include "supervisor/supervise/policy.h"
#include "supervisor/record/report.h"
#include "supervisor/record/session.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/openat2.h>
#include <pwd.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/xattr.h>
#include <time.h>
#include <unistd.h>

#define MAX_DEPTH 1024
/*
 * Steps applied between two journal syncs. Each batch costs two syncfs() of the host
 * filesystem and two fdatasync() of the journal whatever its size, so this is what makes a
 * commit of many files cost about what copying them does.
 */
#define BATCH_STEPS 2048
#define BATCH_BYTES (256ll << 20) /* and at most this much new file data to sync at once */
/* meta.json lists the paths of a commit only up to this many; counts are always there. */
#define RECORD_PATHS 100
#define JOURNAL_MAX  (1024u << 20)
/* The journal's format; rollback refuses another one rather than guess. */
#define JOURNAL_VERSION 2

/*
 * What a step does to the host path. add: put the new entry where the host has none.
 * replace: swap the new entry in (RENAME_EXCHANGE) and move the host's entry to the backup.
 * delete: move the host's entry to the backup. chmod: set the mode (the old one is journalled).
 */
enum step_op {
	OP_ADD,
	OP_REPLACE,
	OP_DELETE,
	OP_CHMOD
};

static const char *const op_names[] = {"add", "replace", "delete", "chmod"};

/* Where an entry is: the device and inode that identify it across renames. */
struct ident {
	unsigned long long dev, ino;
};

struct step {
	const struct change *c;
	enum step_op op;
	long dep;	  /* index of the nearest step creating an ancestor directory, or -1 */
	bool covered;	  /* an earlier step creates the host parent (dep >= 0) */
	bool host_exists; /* the host has an entry at the path now */
	bool replace;	  /* a forced addition replaces what appeared meanwhile */
	char *conflict;	  /* why the host path conflicts, or NULL */
	bool unsafe;	  /* a conflict that --force cannot override */
	mode_t host_mode; /* st_mode of the host entry when host_exists */
	mode_t strip;	  /* the setuid/setgid bits of the new entry the host does not get */
	struct ident host_id;
	bool has_pmtime; /* the parent's mtime before the commit, to put back on undo */
	struct timespec pmtime;
	bool has_new; /* the new entry made under its temporary name */
	struct ident new_id;
	bool has_old; /* the host's entry the step moves away */
	struct ident old_id;
};

static void ident_of(const struct stat *st, struct ident *id)
{
	id->dev = (unsigned long long)st->st_dev;
	id->ino = (unsigned long long)st->st_ino;
}

static bool ident_is(const struct stat *st, const struct ident *id)
{
	return (unsigned long long)st->st_dev == id->dev &&
	       (unsigned long long)st->st_ino == id->ino;
}

static int open_how(int dfd, const char *path, int flags, unsigned long long resolve)
{
	struct open_how how = {.flags = (unsigned)(flags | O_CLOEXEC), .resolve = resolve};
	int fd = (int)syscall(SYS_openat2, dfd, path, &how, sizeof(how));

	return fd < 0 ? -errno : fd;
}

/* The directory part of an absolute or relative path (caller frees) and its last component. */
static char *split(const char *path, const char **name)
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
	return open_how(AT_FDCWD, dir, O_RDONLY | O_DIRECTORY,
			RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS);
}

/* Open the directory holding the absolute host path, as host_dir(). fd or -errno. */
static int host_parent(const char *path, const char **name)
{
	cleanup_free char *dir = split(path, name);

	if (!**name)
		return -EINVAL;
	return host_dir(dir);
}

/* Open the directory holding an upper entry, staying inside the session directory. */
static int upper_dir(int sfd, const char *sdir, const char *dir)
{
	if (!path_is_under(dir, sdir))
		return -EXDEV;
	if (strcmp(dir, sdir) == 0)
		return -EXDEV;
	return open_how(sfd, path_rel(dir, sdir), O_PATH | O_DIRECTORY,
			RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS);
}

/* The devices of the host directories a batch touched, each synced once. */
struct devs {
	dev_t v[8];
	int fd[8];
	size_t n;
	bool overflow; /* more than fit: sync them all */
};

/* Remember the filesystem of the directory open at fd (on device dev, or found by fstat). */
static void devs_add(struct devs *d, int fd, dev_t dev)
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
static int devs_sync(struct devs *d, bool keep)
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

/*
 * The last directory opened, kept for the next step with the same parent: a commit of many
 * files in one directory then resolves it once. A descriptor stays valid for the directory it
 * names even if the path is swapped meanwhile, so nothing is written through a symlink that
 * appears later. Reset wherever a step may have replaced a directory.
 */
struct dir_cache {
	char *dir;
	int fd;
	struct stat st;	   /* of the directory, when it was opened */
	struct devs *devs; /* host directories: where their filesystems are noted for syncing */
};

static void dir_cache_reset(struct dir_cache *dc)
{
	free(dc->dir);
	dc->dir = NULL;
	if (dc->fd >= 0)
		close(dc->fd);
	dc->fd = -1;
}

/* The parent of path, opened by opener (host_dir or upper_dir); borrowed fd or -errno. */
static int dir_cache_get(struct dir_cache *dc, const char *path, const char **name, int sfd,
			 const char *sdir)
{
	cleanup_free char *dir = split(path, name);
	int fd;

	if (!**name)
		return -EINVAL;
	if (dc->dir && strcmp(dc->dir, dir) == 0)
		return dc->fd;
	fd = sdir ? upper_dir(sfd, sdir, dir) : host_dir(dir);
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
 * Copy the entry sfd/sname to dfd/dname (which must not exist) with its mode (less the bits in
 * strip) and times, never following a symlink: regular files, symlinks, fifos and directories.
 * A directory's content is copied when recursive; otherwise it is made empty with mode 0700,
 * for the caller to fix up once its content is in. Nothing is synced: callers sync a whole
 * batch with syncfs(). 0 or -errno.
 */
static int copy_entry(int sfd, const char *sname, int dfd, const char *dname, bool recursive,
		      mode_t strip, int depth)
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
		cleanup_fd int out = -1;

		if (in < 0)
			return -errno;
		out = openat(dfd, dname, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
			     0600);
		if (out < 0)
			return -errno;
		rc = copy_data(in, out, st.st_size);
		if (rc == 0 &&
		    (fchmod(out, st.st_mode & 07777 & ~strip) < 0 || futimens(out, ts) < 0))
			rc = -errno;
		return rc;
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
		char **names = NULL;
		size_t n = 0, i;

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
		rc = dir_list(in, &names, &n);
		for (i = 0; rc == 0 && i < n; i++)
			rc = copy_entry(in, names[i], out, names[i], true, strip, depth + 1);
		dir_list_free(names, n);
		if (rc == 0 &&
		    (fchmod(out, st.st_mode & 07777 & ~strip) < 0 || futimens(out, ts) < 0))
			rc = -errno;
		return rc;
	}
	return -EOPNOTSUPP;
}

/* Remove dfd/name and, for a directory, everything below it; never follows a symlink. */
static int remove_at(int dfd, const char *name, int depth)
{
	struct stat st;
	cleanup_fd int fd = -1;
	char **names = NULL;
	size_t n = 0, i;
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
	rc = dir_list(fd, &names, &n);
	for (i = 0; rc == 0 && i < n; i++) {
		struct stat cst;

		/* Stay on this filesystem: a mount below is not ours to empty. */
		if (fstatat(fd, names[i], &cst, AT_SYMLINK_NOFOLLOW) == 0 &&
		    cst.st_dev != st.st_dev)
			rc = -EXDEV;
		else
			rc = remove_at(fd, names[i], depth + 1);
	}
	dir_list_free(names, n);
	if (rc == 0 && unlinkat(dfd, name, AT_REMOVEDIR) < 0)
		rc = -errno;
	return rc;
}

static bool ts_after(const struct timespec *a, const struct timespec *b)
{
	return a->tv_sec > b->tv_sec || (a->tv_sec == b->tv_sec && a->tv_nsec > b->tv_nsec);
}

static bool ts_eq(const struct timespec *a, const struct timespec *b)
{
	return a->tv_sec == b->tv_sec && a->tv_nsec == b->tv_nsec;
}

static bool newer(const struct stat *st, const struct timespec *start)
{
	return ts_after(&st->st_ctim, start) || ts_after(&st->st_mtim, start);
}

/* 1 (and *which, caller frees) when something below dfd/name changed after start; 0; -errno. */
static int tree_newer(int dfd, const char *name, const struct timespec *start, const char *shown,
		      char **which, int depth)
{
	cleanup_fd int fd = openat(dfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	char **names = NULL;
	size_t n = 0, i;
	int rc;

	if (depth > MAX_DEPTH)
		return -ELOOP;
	if (fd < 0)
		return -errno;
	rc = dir_list(fd, &names, &n);
	for (i = 0; rc == 0 && i < n; i++) {
		cleanup_free char *sub = xasprintf("%s/%s", shown, names[i]);
		struct stat st;

		if (fstatat(fd, names[i], &st, AT_SYMLINK_NOFOLLOW) < 0) {
			rc = -errno;
		} else if (newer(&st, start)) {
			*which = steal_pointer(&sub);
			rc = 1;
		} else if (S_ISDIR(st.st_mode)) {
			rc = tree_newer(fd, names[i], start, sub, which, depth + 1);
		}
	}
	dir_list_free(names, n);
	return rc;
}

/* The session's start from meta ("2026-01-02T03:04:05.678Z"), rounded up to the next ms. */
static int parse_start(const char *s, struct timespec *out)
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
	fd = open_how(sfd, path_rel(upper, sdir), O_RDONLY | O_DIRECTORY,
		      RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS);
	if (fd < 0)
		return fd;
	n = fgetxattr(fd, "user.overlay.opaque", val, sizeof(val));
	if (n < 0)
		return errno == ENODATA || errno == ENOTSUP || errno == ERANGE ? 1 : -errno;
	return !(n == 1 && val[0] == 'y');
}

static bool creates_dir(const struct change *c)
{
	return S_ISDIR(c->mode) && c->kind != CHANGE_MODE_CHANGED && c->kind != CHANGE_DELETED;
}

static bool is_addition(const struct change *c)
{
	return c->kind == CHANGE_ADDED || c->kind == CHANGE_DIR_ADDED ||
	       c->kind == CHANGE_SYMLINK_ADDED;
}

/* Look at the host path of one step; record a conflict with the session start, if any. */
static void check_step(struct step *st, const struct timespec *start, int sfd, const char *sdir,
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
		ident_of(&hs, &st->host_id);
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
	if (newer(&hs, start)) {
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

/* ---- the journal ------------------------------------------------------------------------ */

/*
 * commit/journal.jsonl, one JSON object a line:
 *   begin                       the commit starts (version 2)
 *   plan   step path kind do    every step, before any host change; do is add, replace,
 *          old_mode [pmtime]    delete or chmod; pmtime is the parent's mtime before
 *   batch  from to              the steps whose temporary entries may exist from now on
 *   start  step [new] [old]     before the step touches the host: new is the device:inode of
 *                               the entry it puts in place, old that of the entry it moves away
 *   done   step                 the step is complete (the old entry is in commit/backup/STEP)
 *   result step type ...        what the path holds after the whole commit (for undo's check)
 *   end    ok                   the commit finished (ok true) or gave up before any change
 *   undo-begin                  undo of a finished commit starts, its check passed
 *   pm-skip step                undo leaves the mtime of the step's directory as it is
 *   undone step                 undo put the step back
 *   undo-end sec nsec           undo (or a rollback) finished
 * Lines are buffered and written at the sync points only; a line cut short by a crash is
 * ignored when read.
 */
struct jwriter {
	int fd;
	struct buf b;
};

static void jw_add(struct jwriter *w, cJSON *o)
{
	cleanup_free char *text = cJSON_PrintUnformatted(o);

	cJSON_Delete(o);
	buf_adds(&w->b, text);
	buf_addc(&w->b, '\n');
}

/* Write what is buffered; with sync, make it durable. 0 or -errno. */
static int jw_flush(struct jwriter *w, bool sync)
{
	size_t off = 0;

	while (off < w->b.len) {
		ssize_t n = write(w->fd, w->b.data + off, w->b.len - off);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		off += (size_t)n;
	}
	buf_reset(&w->b);
	return sync && fdatasync(w->fd) < 0 ? -errno : 0;
}

static cJSON *jline(const char *op, long step)
{
	cJSON *o = cJSON_CreateObject();

	cJSON_AddStringToObject(o, "op", op);
	if (step >= 0)
		cJSON_AddNumberToObject(o, "step", (double)step);
	return o;
}

static void add_ts(cJSON *o, const char *key, const struct timespec *ts)
{
	cJSON *a = cJSON_AddArrayToObject(o, key);

	cJSON_AddItemToArray(a, cJSON_CreateNumber((double)ts->tv_sec));
	cJSON_AddItemToArray(a, cJSON_CreateNumber((double)ts->tv_nsec));
}

static bool get_ts(const cJSON *o, const char *key, struct timespec *ts)
{
	const cJSON *a = cJSON_GetObjectItemCaseSensitive(o, key);
	const cJSON *s = cJSON_GetArrayItem(a, 0), *ns = cJSON_GetArrayItem(a, 1);

	if (!cJSON_IsNumber(s) || !cJSON_IsNumber(ns))
		return false;
	ts->tv_sec = (time_t)s->valuedouble;
	ts->tv_nsec = (long)ns->valuedouble;
	return true;
}

/* Inode numbers go up to 2^64, past what a JSON number holds exactly: written as hex text. */
static void add_ident(cJSON *o, const char *key, const struct ident *id)
{
	char text[40];

	snprintf(text, sizeof(text), "%llx:%llx", id->dev, id->ino);
	cJSON_AddStringToObject(o, key, text);
}

static bool get_ident(const cJSON *o, const char *key, struct ident *id)
{
	const char *s = meta_str(o, key);

	return s && sscanf(s, "%llx:%llx", &id->dev, &id->ino) == 2;
}

/* The temporary names of step i in its host directory: the new entry, the old one, undo's. */
static char *temp_name(const char *id, size_t i, const char *suffix)
{
	return xasprintf(".airlock-commit-%s-%zu%s", id, i, suffix);
}

/* ---- the record --------------------------------------------------------------------------- */

static cJSON *commit_event(const char *cls, const char *kind, const char *path,
			   const char *decision)
{
	cleanup_free char *clean = utf8_sanitize(path);
	cJSON *ev = cJSON_CreateObject();

	cJSON_AddStringToObject(ev, "class", cls);
	cJSON_AddStringToObject(ev, "op", kind);
	cJSON_AddStringToObject(ev, "target", clean);
	cJSON_AddStringToObject(ev, "decision", decision);
	cJSON_AddStringToObject(ev, "by", "person");
	return ev;
}

/* {"user", "uid", "time"}: who did it, and when. */
static cJSON *who_when(void)
{
	struct passwd *pw = getpwuid(getuid());
	cJSON *o = cJSON_CreateObject();
	char now[64];

	session_iso_time(now, sizeof(now));
	cJSON_AddStringToObject(o, "user", pw ? pw->pw_name : "?");
	cJSON_AddNumberToObject(o, "uid", getuid());
	cJSON_AddStringToObject(o, "time", now);
	return o;
}

static void set_item(cJSON *obj, const char *key, cJSON *v)
{
	if (cJSON_HasObjectItem(obj, key))
		cJSON_ReplaceItemInObjectCaseSensitive(obj, key, v);
	else
		cJSON_AddItemToObject(obj, key, v);
}

/* ---- applying --------------------------------------------------------------------------- */

struct applier {
	const struct session *s;
	int sfd; /* the session directory */
	int bfd; /* commit/backup */
	struct step *steps;
	size_t n;
	struct jwriter jw;
	struct event_log *log;
	struct dir_cache host, upper;
	struct devs devs;
	size_t failed;	  /* the step that failed, or SIZE_MAX */
	int failed_rc;	  /* and why */
	const char *what; /* what was being done when it failed */
};

static void fail(struct applier *a, size_t i, int rc, const char *what)
{
	if (a->failed != SIZE_MAX)
		return;
	a->failed = i;
	a->failed_rc = rc;
	a->what = what;
}

/*
 * Put the old entry, now at pfd/from, into commit/backup/N. A rename where the backup is on
 * the same filesystem (and the entry is ours to move); otherwise a copy, made durable before
 * the entry leaves the host directory. 0 or -errno.
 */
static int stash(struct applier *a, int pfd, const char *from, size_t i)
{
	char bname[32], part[40];
	int r;

	snprintf(bname, sizeof(bname), "%zu", i);
	if (renameat(pfd, from, a->bfd, bname) == 0)
		return 0;
	/* EXDEV: another filesystem or mount; EACCES/EPERM: a directory we may not re-parent. */
	if (errno != EXDEV && errno != EACCES && errno != EPERM)
		return -errno;
	snprintf(part, sizeof(part), "%zu.part", i);
	r = remove_at(a->bfd, part, 0);
	if (r == 0)
		r = copy_entry(pfd, from, a->bfd, part, true, 0, 0);
	if (r == 0 && syncfs(a->bfd) < 0)
		r = -errno;
	if (r == 0 && renameat(a->bfd, part, a->bfd, bname) < 0)
		r = -errno;
	if (r == 0 && fsync(a->bfd) < 0)
		r = -errno;
	return r < 0 ? r : remove_at(pfd, from, 0);
}

/* Phase 1: make each new entry under its temporary name, next to where it goes. */
static void make_temps(struct applier *a, size_t from, size_t to)
{
	size_t i;

	for (i = from; i < to && a->failed == SIZE_MAX; i++) {
		struct step *st = &a->steps[i];
		cleanup_free char *tmp = NULL;
		const char *name, *uname;
		struct stat ts;
		int pfd, ufd, r;

		if (st->op != OP_ADD && st->op != OP_REPLACE)
			continue;
		pfd = dir_cache_get(&a->host, st->c->path, &name, -1, NULL);
		if (pfd < 0) {
			fail(a, i, pfd, "cannot open its directory");
			break;
		}
		ufd = dir_cache_get(&a->upper, st->c->upper, &uname, a->sfd, a->s->dir);
		if (ufd < 0) {
			fail(a, i, ufd, "cannot open it in the session");
			break;
		}
		tmp = temp_name(a->s->id, i, "");
		r = copy_entry(ufd, uname, pfd, tmp, false, st->strip, 0);
		/* A stale one from an earlier attempt that was killed is ours. */
		if (r == -EEXIST && (r = remove_at(pfd, tmp, 0)) == 0)
			r = copy_entry(ufd, uname, pfd, tmp, false, st->strip, 0);
		if (r == 0 && fstatat(pfd, tmp, &ts, AT_SYMLINK_NOFOLLOW) < 0)
			r = -errno;
		if (r < 0) {
			fail(a, i, r, "cannot write it");
			break;
		}
		st->has_new = true;
		ident_of(&ts, &st->new_id);
	}
}

/* Phase 2: journal each step of the batch with the entries it will move, before any moves. */
static void journal_starts(struct applier *a, size_t from, size_t to)
{
	size_t i;

	for (i = from; i < to && a->failed == SIZE_MAX; i++) {
		struct step *st = &a->steps[i];
		cJSON *o = jline("start", (long)i);
		cJSON *ev =
			commit_event("commit", change_kind_name(st->c->kind), st->c->path, "apply");
		/*
		 * The entry the conflict check looked at is the only one the step may move: the
		 * move itself checks that it is still there.
		 */
		if (st->op == OP_REPLACE || st->op == OP_DELETE) {
			st->has_old = true;
			st->old_id = st->host_id;
			add_ident(o, "old", &st->old_id);
		}
		if (st->has_new)
			add_ident(o, "new", &st->new_id);
		if (st->conflict) {
			cJSON_AddTrueToObject(ev, "forced");
			cJSON_AddStringToObject(ev, "conflict", st->conflict);
		}
		if (st->strip) {
			char bits[16];

			snprintf(bits, sizeof(bits), "%04o", (unsigned)st->strip);
			cJSON_AddStringToObject(ev, "stripped", bits);
		}
		jw_add(&a->jw, o);
		if (events_append(a->log, ev) < 0) {
			fail(a, i, -EIO, "cannot record it in the event log");
			break;
		}
	}
}

/* Phase 3: one step's host change. 0 or -errno (a.what says which part failed). */
static int apply_one(struct applier *a, size_t i)
{
	struct step *st = &a->steps[i];
	const struct change *c = st->c;
	cleanup_free char *tmp = temp_name(a->s->id, i, "");
	cleanup_free char *old = temp_name(a->s->id, i, ".old");
	const char *name;
	struct stat hs;
	int pfd = dir_cache_get(&a->host, c->path, &name, -1, NULL);

	if (pfd < 0)
		return pfd;
	if (st->op == OP_CHMOD) {
		if (fstatat(pfd, name, &hs, AT_SYMLINK_NOFOLLOW) < 0)
			return -errno;
		if (S_ISLNK(hs.st_mode))
			return -ELOOP;
		/* A directory's mode waits for the end: its new content goes in first. */
		if (S_ISDIR(hs.st_mode))
			return 0;
		return fchmodat(pfd, name, c->mode & 07777 & ~st->strip, AT_SYMLINK_NOFOLLOW) < 0
			       ? -errno
			       : 0;
	}
	if (st->op == OP_ADD) {
		if (renameat2(pfd, tmp, pfd, name, RENAME_NOREPLACE) == 0)
			return 0;
		if (errno != EINVAL)
			return -errno;
		/* No RENAME_NOREPLACE here: look, then rename (an addition race stays possible). */
		if (fstatat(pfd, name, &hs, AT_SYMLINK_NOFOLLOW) == 0)
			return -EEXIST;
		return renameat(pfd, tmp, pfd, name) < 0 ? -errno : 0;
	}
	/* replace and delete move the entry journalled as "old", and only that one. */
	if (fstatat(pfd, name, &hs, AT_SYMLINK_NOFOLLOW) < 0)
		return -errno;
	if (!ident_is(&hs, &st->old_id))
		return -ESTALE;
	if (st->op == OP_DELETE) {
		char bname[32];

		snprintf(bname, sizeof(bname), "%zu", i);
		if (renameat(pfd, name, a->bfd, bname) == 0)
			return 0;
		if (renameat(pfd, name, pfd, old) < 0)
			return -errno;
		return stash(a, pfd, old, i);
	}
	/* One atomic swap: nobody sees the path missing; the old entry lands on the temp name. */
	if (renameat2(pfd, tmp, pfd, name, RENAME_EXCHANGE) == 0)
		return stash(a, pfd, tmp, i);
	if (errno != EINVAL && errno != ENOSYS && errno != EOPNOTSUPP)
		return -errno;
	/* A filesystem without RENAME_EXCHANGE: move the old entry aside, then put ours in. */
	if (renameat(pfd, name, pfd, old) < 0)
		return -errno;
	if (renameat2(pfd, tmp, pfd, name, RENAME_NOREPLACE) < 0)
		return -errno;
	return stash(a, pfd, old, i);
}

/*
 * Apply steps [from, to): their temporary entries, synced; the journal's start lines, synced;
 * the moves; the done lines. A crash anywhere leaves a journal from which rollback finds every
 * entry by its inode.
 */
static void apply_batch(struct applier *a, size_t from, size_t to)
{
	cJSON *b = jline("batch", -1);
	size_t i;
	int r;

	cJSON_AddNumberToObject(b, "from", (double)from);
	cJSON_AddNumberToObject(b, "to", (double)to);
	jw_add(&a->jw, b);
	if ((r = jw_flush(&a->jw, false)) < 0) {
		fail(a, from, r, "cannot write the journal");
		return;
	}
	make_temps(a, from, to);
	if (a->failed == SIZE_MAX && (r = devs_sync(&a->devs, true)) < 0)
		fail(a, from, r, "cannot sync the new files");
	journal_starts(a, from, to);
	/* Every start line, even of a failed batch: rollback needs what was made. */
	if ((r = jw_flush(&a->jw, true)) < 0)
		fail(a, from, r, "cannot write the journal");
	for (i = from; i < to && a->failed == SIZE_MAX; i++) {
		r = apply_one(a, i);
		if (r < 0) {
			fail(a, i, r,
			     r == -EEXIST   ? "something appeared at this path during the commit"
			     : r == -ESTALE ? "it changed on the host during the commit"
					    : "cannot put it in place");
			break;
		}
	}
	if (a->failed != SIZE_MAX)
		return;
	/*
	 * Not synced: rollback finds each entry by its inode whether or not a done line or a
	 * rename survived a power cut; the end of the commit syncs everything before "end".
	 */
	for (i = from; i < to; i++)
		jw_add(&a->jw, jline("done", (long)i));
	if ((r = jw_flush(&a->jw, false)) < 0)
		fail(a, to - 1, r, "cannot write the journal");
}

/* Give each directory the commit made, and each chmod of one, its mode and mtime, last. */
static void fix_dirs(struct applier *a)
{
	size_t i = a->n;

	while (i-- > 0) {
		const struct step *st = &a->steps[i];
		const struct change *c = st->c;
		const char *name, *uname;
		cleanup_fd int pfd = -1, ufd = -1, dfd = -1;
		struct stat us;
		struct timespec ts[2];

		if (!S_ISDIR(c->mode) || st->op == OP_DELETE)
			continue;
		pfd = host_parent(c->path, &name);
		if (pfd < 0)
			continue;
		devs_add(&a->devs, pfd, 0);
		dfd = openat(pfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (dfd < 0)
			continue;
		if (st->op == OP_CHMOD) {
			if (fchmod(dfd, c->mode & 07777 & ~st->strip) < 0)
				warn("cannot set the mode of %s: %s", c->path, strerror(errno));
			continue;
		}
		{
			cleanup_free char *udir = split(c->upper, &uname);

			ufd = upper_dir(a->sfd, a->s->dir, udir);
		}
		if (ufd < 0 || fstatat(ufd, uname, &us, AT_SYMLINK_NOFOLLOW) < 0)
			continue;
		ts[0] = us.st_atim;
		ts[1] = us.st_mtim;
		if (fchmod(dfd, c->mode & 07777 & ~st->strip) < 0 || futimens(dfd, ts) < 0)
			warn("cannot set the mode and time of %s: %s", c->path, strerror(errno));
	}
}

/* The result lines: what each path holds now, for undo to tell later host changes apart. */
static void journal_results(struct applier *a)
{
	size_t i;

	dir_cache_reset(&a->host);
	for (i = 0; i < a->n; i++) {
		const struct step *st = &a->steps[i];
		cJSON *o = jline("result", (long)i);
		const char *name;
		struct stat hs;
		int pfd = dir_cache_get(&a->host, st->c->path, &name, -1, NULL);
		const char *type = "-";

		if (pfd >= 0 && fstatat(pfd, name, &hs, AT_SYMLINK_NOFOLLOW) == 0) {
			struct ident id;
			char mode[8];

			ident_of(&hs, &id);
			type = report_type_name(hs.st_mode);
			add_ident(o, "id", &id);
			snprintf(mode, sizeof(mode), "%o", (unsigned)(hs.st_mode & 07777));
			cJSON_AddStringToObject(o, "mode", mode);
			cJSON_AddNumberToObject(o, "size", (double)hs.st_size);
			add_ts(o, "mtime", &hs.st_mtim);
			add_ts(o, "ctime", &hs.st_ctim);
		}
		cJSON_AddStringToObject(o, "type", type);
		if (st->has_pmtime && pfd >= 0)
			add_ts(o, "pmtime", &a->host.st.st_mtim);
		jw_add(&a->jw, o);
		if (a->jw.b.len > (1u << 20))
			jw_flush(&a->jw, false);
	}
}

/* ---- reading the journal, undo ---------------------------------------------------------- */

struct result {
	char type[8]; /* as report_type_name(), "-" when the path held nothing */
	struct ident id;
	mode_t mode;
	long long size;
	struct timespec mtime, ctime;
	bool has_pmtime; /* the parent's mtime right after the commit */
	struct timespec pmtime;
};

struct jstep {
	char *path;
	char *kind;
	enum step_op op;
	mode_t old_mode;
	bool covered;
	bool has_pmtime; /* the parent's mtime before the commit */
	struct timespec pmtime;
	bool batched, started, done, undone;
	bool has_new, has_old;
	struct ident new_id, old_id;
	bool has_result;
	struct result res;
	bool restore_pmtime; /* undo puts the parent's mtime back */
	bool pm_skip;	     /* an earlier undo decided not to (the person changed it) */
};

struct journal {
	struct jstep *steps;
	size_t n;
	int version;
	bool ended, ended_ok, undo_begun, undo_ended;
	struct timespec undo_time; /* when the last rollback finished */
};

static void journal_free(struct journal *j)
{
	size_t i;

	for (i = 0; i < j->n; i++) {
		free(j->steps[i].path);
		free(j->steps[i].kind);
	}
	free(j->steps);
	memset(j, 0, sizeof(*j));
}

static enum step_op op_of(const char *s)
{
	size_t i;

	for (i = 0; s && i < ARRAY_SIZE(op_names); i++)
		if (strcmp(s, op_names[i]) == 0)
			return (enum step_op)i;
	return OP_REPLACE;
}

static void read_result(const cJSON *o, struct result *r)
{
	const char *t = meta_str(o, "type");
	const char *mode = meta_str(o, "mode");

	memset(r, 0, sizeof(*r));
	snprintf(r->type, sizeof(r->type), "%s", t ? t : "-");
	get_ident(o, "id", &r->id);
	r->mode = mode ? (mode_t)strtoul(mode, NULL, 8) : 0;
	r->size = (long long)meta_num(o, "size", 0);
	get_ts(o, "mtime", &r->mtime);
	get_ts(o, "ctime", &r->ctime);
	r->has_pmtime = get_ts(o, "pmtime", &r->pmtime);
}

/* Read commit/journal.jsonl. 0, -ENOENT when there is none, or -errno. */
static int journal_read(const char *path, struct journal *j)
{
	cleanup_free char *text = NULL;
	char *line, *save = NULL;
	size_t len, cap = 0;

	memset(j, 0, sizeof(*j));
	text = read_file(path, JOURNAL_MAX, &len);
	if (!text)
		return errno == ENOENT ? -ENOENT : -errno;
	for (line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		cJSON *o = cJSON_Parse(line);
		const char *op = meta_str(o, "op");
		double step = meta_num(o, "step", -1);
		struct jstep *js =
			step >= 0 && step < (double)j->n ? &j->steps[(size_t)step] : NULL;

		if (!op) {
			cJSON_Delete(o);
			continue; /* a line cut short by a crash */
		}
		if (strcmp(op, "begin") == 0) {
			j->version = (int)meta_num(o, "version", 1);
		} else if (strcmp(op, "plan") == 0 && step == (double)j->n && meta_str(o, "path")) {
			GROW(j->steps, cap, j->n + 1);
			js = &j->steps[j->n++];
			memset(js, 0, sizeof(*js));
			js->path = xstrdup(meta_str(o, "path"));
			js->kind = xstrdup(meta_str(o, "kind") ?: "?");
			js->op = op_of(meta_str(o, "do"));
			js->old_mode = (mode_t)meta_num(o, "old_mode", 0);
			js->covered = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(o, "covered"));
			js->has_pmtime = get_ts(o, "pmtime", &js->pmtime);
		} else if (strcmp(op, "batch") == 0) {
			double from = meta_num(o, "from", 0), to = meta_num(o, "to", 0);
			size_t k;

			for (k = (size_t)from; k < (size_t)to && k < j->n; k++)
				j->steps[k].batched = true;
		} else if (js && strcmp(op, "start") == 0) {
			js->started = true;
			js->has_new = get_ident(o, "new", &js->new_id);
			js->has_old = get_ident(o, "old", &js->old_id);
		} else if (js && strcmp(op, "done") == 0) {
			js->done = true;
		} else if (js && strcmp(op, "result") == 0) {
			js->has_result = true;
			read_result(o, &js->res);
		} else if (js && strcmp(op, "undone") == 0) {
			js->undone = true;
		} else if (js && strcmp(op, "pm-skip") == 0) {
			js->pm_skip = true;
		} else if (strcmp(op, "undo-begin") == 0) {
			j->undo_begun = true;
		} else if (strcmp(op, "end") == 0) {
			j->ended = true;
			j->ended_ok = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(o, "ok"));
		} else if (strcmp(op, "undo-end") == 0) {
			j->undo_ended = true;
			j->undo_time.tv_sec = (time_t)meta_num(o, "sec", 0);
			j->undo_time.tv_nsec = (long)meta_num(o, "nsec", 0);
		}
		cJSON_Delete(o);
	}
	return 0;
}

/*
 * Put the entry at fdir/fname at pfd/name. What is at name (ours, or with --force anything)
 * is swapped out and removed; from another filesystem the entry is copied in first.
 * 0 or -errno.
 */
static int place(int fdir, const char *fname, int pfd, const char *name, const char *spare)
{
	struct stat st;
	int r;

	if (fstatat(pfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0) {
		if (errno != ENOENT)
			return -errno;
		if (renameat(fdir, fname, pfd, name) == 0)
			return 0;
	} else {
		if (renameat2(fdir, fname, pfd, name, RENAME_EXCHANGE) == 0)
			return remove_at(fdir, fname, 0);
		if (errno == EINVAL || errno == ENOSYS || errno == EOPNOTSUPP) {
			r = remove_at(pfd, name, 0);
			if (r < 0)
				return r;
			if (renameat(fdir, fname, pfd, name) == 0)
				return 0;
		}
	}
	if (errno != EXDEV && errno != EACCES && errno != EPERM)
		return -errno;
	/* The backup lives on another filesystem: copy it next to its place, then swap it in. */
	r = remove_at(pfd, spare, 0);
	if (r == 0)
		r = copy_entry(fdir, fname, pfd, spare, true, 0, 0);
	if (r == 0 && syncfs(pfd) < 0)
		r = -errno;
	if (r == 0)
		r = place(pfd, spare, pfd, name, spare);
	return r;
}

/* Remove pfd/name when it is the entry id. 0 or -errno. */
static int remove_if(int pfd, const char *name, const struct ident *id)
{
	struct stat st;

	if (fstatat(pfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return errno == ENOENT ? 0 : -errno;
	return ident_is(&st, id) ? remove_at(pfd, name, 0) : 0;
}

/*
 * Put one step back: find the host's old entry (where it was, on a temporary name, or in the
 * backup) and move it to the path; remove the entry the step made. 0 or -errno.
 */
static int undo_step(const struct session *s, int bfd, const struct jstep *js, size_t i,
		     struct devs *devs)
{
	const char *name;
	cleanup_fd int pfd = host_parent(js->path, &name);
	cleanup_free char *tmp = temp_name(s->id, i, "");
	cleanup_free char *old = temp_name(s->id, i, ".old");
	cleanup_free char *spare = temp_name(s->id, i, ".undo");
	char bname[32];
	struct stat st;
	int r = 0;

	snprintf(bname, sizeof(bname), "%zu", i);
	if (pfd >= 0)
		devs_add(devs, pfd, 0);
	if (pfd < 0)
		/* The directory is gone: nothing the step made is left, nothing to restore. */
		return pfd == -ENOENT && (js->op == OP_ADD || js->op == OP_CHMOD) ? 0 : pfd;
	if (js->op == OP_CHMOD) {
		if (fstatat(pfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
			return errno == ENOENT ? 0 : -errno;
		if (S_ISLNK(st.st_mode))
			return 0;
		return fchmodat(pfd, name, js->old_mode & 07777, AT_SYMLINK_NOFOLLOW) < 0 ? -errno
											  : 0;
	}
	/* A directory the commit made may have been given a mode without u+w: it is ours. */
	if (js->covered && fstat(pfd, &st) == 0 && (st.st_mode & 0300) != 0300)
		fchmod(pfd, (st.st_mode & 07777) | 0300);
	{
		bool at_path = false;

		if (js->has_old && fstatat(pfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0)
			at_path = ident_is(&st, &js->old_id);
		if (js->has_old && !at_path) {
			struct stat ts;

			if (fstatat(pfd, tmp, &ts, AT_SYMLINK_NOFOLLOW) == 0 &&
			    ident_is(&ts, &js->old_id))
				r = place(pfd, tmp, pfd, name, spare);
			else if (fstatat(pfd, old, &ts, AT_SYMLINK_NOFOLLOW) == 0 &&
				 ident_is(&ts, &js->old_id))
				r = place(pfd, old, pfd, name, spare);
			else if (fstatat(bfd, bname, &ts, AT_SYMLINK_NOFOLLOW) == 0)
				r = place(bfd, bname, pfd, name, spare);
			else if (js->done)
				r = -ENOENT; /* the backup is gone */
			/* else: never moved; the path holds the host's own entry or ours */
			if (r < 0)
				return r;
		}
		if (js->has_new && r == 0)
			r = remove_if(pfd, name, &js->new_id);
		/* Our temporary names hold only what the step made or moved: never the person's. */
		if (r == 0)
			r = remove_at(pfd, tmp, 0);
		if (r == 0)
			r = remove_at(pfd, old, 0);
		if (r == 0)
			r = remove_at(pfd, spare, 0);
		return r;
	}
}

static int cmp_jstep_path(const void *key, const void *elem)
{
	return strcmp(key, ((const struct jstep *)elem)->path);
}

/*
 * Why undoing step js would lose a change made on the host after the commit (caller frees), or
 * NULL. *unsafe when even --force must not go on (a symlink on the way). pm_now is set to the
 * parent's mtime now.
 */
static char *undo_conflict(const struct session *s, const struct journal *j, struct jstep *js,
			   bool *unsafe)
{
	const struct result *res = &js->res;
	const char *name;
	cleanup_fd int pfd = host_parent(js->path, &name);
	cleanup_free char *prefix = xasprintf(".airlock-commit-%s-", s->id);
	struct stat st, ps;

	*unsafe = false;
	if (pfd < 0) {
		if (pfd == -ENOENT && (js->op == OP_ADD || js->op == OP_CHMOD))
			return NULL;
		*unsafe = true;
		if (pfd == -ELOOP || pfd == -ENOTDIR || pfd == -EXDEV)
			return xstrdup(
				"a directory on the way to it is no longer a directory on the "
				"host (a symlink?)");
		return xasprintf("cannot open its directory: %s", strerror(-pfd));
	}
	if (js->has_pmtime && res->has_pmtime && fstat(pfd, &ps) == 0)
		js->restore_pmtime = ts_eq(&ps.st_mtim, &res->pmtime);
	if (fstatat(pfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0) {
		if (errno != ENOENT)
			return xasprintf("cannot look at it: %s", strerror(errno));
		return NULL; /* removed since: undo loses nothing there */
	}
	/* Already put back by an undo that was interrupted before it said so. */
	if ((js->has_old && ident_is(&st, &js->old_id)) ||
	    (js->op == OP_CHMOD && (st.st_mode & 07777) == (js->old_mode & 07777)))
		return NULL;
	if (strcmp(res->type, "-") == 0)
		return xstrdup("something was created at this path after the commit");
	if (strcmp(report_type_name(st.st_mode), res->type) != 0 || !ident_is(&st, &res->id))
		return xstrdup("it was replaced on the host after the commit");
	if ((st.st_mode & 07777) != res->mode)
		return xstrdup("its mode changed on the host after the commit");
	if (js->op == OP_CHMOD)
		return NULL;
	if (!S_ISDIR(st.st_mode)) {
		if (st.st_size != res->size || !ts_eq(&st.st_mtim, &res->mtime) ||
		    !ts_eq(&st.st_ctim, &res->ctime))
			return xstrdup("it changed on the host after the commit");
		return NULL;
	}
	/* A directory the commit made goes whole: everything in it must be the commit's. */
	{
		cleanup_fd int dfd =
			openat(pfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		char **names = NULL;
		char *why = NULL;
		size_t n = 0, k;

		if (dfd < 0 || dir_list(dfd, &names, &n) < 0) {
			dir_list_free(names, n);
			return xasprintf("cannot read it: %s", strerror(errno));
		}
		for (k = 0; k < n && !why; k++) {
			cleanup_free char *child = path_join(js->path, names[k]);
			const struct jstep *cj;

			if (strncmp(names[k], prefix, strlen(prefix)) == 0)
				continue;
			cj = bsearch(child, j->steps, j->n, sizeof(*j->steps), cmp_jstep_path);
			if (!cj || !cj->done || cj->undone) {
				cleanup_free char *shown = term_sanitize(names[k]);

				why = xasprintf("%s was added in it after the commit", shown);
			}
		}
		dir_list_free(names, n);
		return why;
	}
}

/* Put back the mtime each parent directory had before the commit. */
static void restore_pmtimes(const struct journal *j, bool checked)
{
	size_t i;

	for (i = 0; i < j->n; i++) {
		const struct jstep *js = &j->steps[i];
		struct timespec ts[2] = {{.tv_nsec = UTIME_OMIT}, js->pmtime};
		cleanup_free char *dir = NULL;
		cleanup_fd int fd = -1;
		const char *name;

		/* A batch's temporary entries alone changed the directory's mtime. */
		if ((!js->started && !js->batched) || !js->has_pmtime || js->covered ||
		    (checked && !js->restore_pmtime))
			continue;
		/* Consecutive steps share directories: set each once. */
		if (i + 1 < j->n && (j->steps[i + 1].started || j->steps[i + 1].batched) &&
		    j->steps[i + 1].has_pmtime) {
			cleanup_free char *next = split(j->steps[i + 1].path, &name);

			dir = split(js->path, &name);
			if (strcmp(dir, next) == 0 && ts_eq(&js->pmtime, &j->steps[i + 1].pmtime) &&
			    (!checked || j->steps[i + 1].restore_pmtime))
				continue;
		}
		fd = host_parent(js->path, &name);
		if (fd >= 0)
			futimens(fd, ts);
	}
}

/*
 * Roll back the journal j of an open session: every step it shows started, newest first, then
 * the parents' mtimes. checked: undo_conflict() ran and said which mtimes to put back.
 * Prints what failed; returns 0 or -1.
 */
static int rollback_journal(const struct session *s, struct event_log *log, struct journal *j,
			    bool checked)
{
	cleanup_free char *jpath = session_path(s, "commit/journal.jsonl");
	cleanup_free char *bpath = session_path(s, "commit/backup");
	struct jwriter jw = {.fd = -1, .b = BUF_INIT};
	struct devs devs = {.n = 0};
	cleanup_fd int bfd = -1;
	size_t i, k;
	int r, rc = 0;

	if (j->version != JOURNAL_VERSION && j->n > 0)
		return error("%s is in another format (version %d); undo it with the airlock that "
			     "made it",
			     jpath, j->version);
	buf_init(&jw.b);
	jw.fd = open(jpath, O_WRONLY | O_APPEND | O_CLOEXEC);
	bfd = open(bpath, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (jw.fd < 0 || bfd < 0) {
		rc = error_errno("cannot open %s", jw.fd < 0 ? jpath : bpath);
		goto out;
	}
	/*
	 * Which directory mtimes go back was decided before the first step (later ones see our
	 * own changes): journal it, so an undo that is interrupted keeps the decision.
	 */
	if (checked) {
		jw_add(&jw, jline("undo-begin", -1));
		for (i = 0; i < j->n; i++)
			if (j->steps[i].has_pmtime && !j->steps[i].restore_pmtime)
				jw_add(&jw, jline("pm-skip", (long)i));
	} else if (j->undo_begun) {
		checked = true;
		for (i = 0; i < j->n; i++)
			j->steps[i].restore_pmtime = !j->steps[i].pm_skip;
	}
	if (jw_flush(&jw, true) < 0) {
		rc = error_errno("cannot write %s", jpath);
		goto out;
	}
	/*
	 * Mode changes first: a host directory the commit made read-only must have its old mode
	 * back before what the commit put in it can go. Then the rest, newest step first.
	 */
	for (k = 0; k < 2 * j->n; k++) {
		struct jstep *js;

		i = k < j->n ? j->n - 1 - k : 2 * j->n - 1 - k;
		js = &j->steps[i];

		if ((js->op == OP_CHMOD) != (k < j->n))
			continue;
		if (js->undone || (!js->started && !js->batched))
			continue;
		if (log && js->started)
			events_append(log, commit_event("undo", js->kind, js->path, "apply"));
		r = undo_step(s, bfd, js, i, &devs);
		if (r < 0) {
			cleanup_free char *shown = term_sanitize(js->path);

			errno = -r;
			rc = error_errno(
				"undo stopped at step %zu (%s %s); fix it and run 'airlock "
				"undo' again",
				i + 1, js->kind, shown);
			break;
		}
		/* Written at once (not synced): a second undo after a kill skips what is done. */
		if (js->started)
			jw_add(&jw, jline("undone", (long)i));
		if (jw_flush(&jw, false) < 0) {
			rc = error_errno("cannot write %s", jpath);
			break;
		}
	}
	if (rc == 0) {
		cJSON *o = jline("undo-end", -1);
		struct timespec now;

		restore_pmtimes(j, checked);
		/* The new baseline for conflicts: what undo restored is newer than the session. */
		clock_gettime(CLOCK_REALTIME, &now);
		cJSON_AddNumberToObject(o, "sec", (double)now.tv_sec);
		cJSON_AddNumberToObject(o, "nsec", (double)now.tv_nsec);
		if (devs_sync(&devs, false) < 0 || syncfs(bfd) < 0)
			rc = error_errno("cannot sync the host");
		jw_add(&jw, o);
	}
	/* What was undone stays undone: write the marks even after a failure. */
	if (jw_flush(&jw, true) < 0)
		rc = error_errno("cannot write %s", jpath);
out:
	devs_sync(&devs, false);
	if (jw.fd >= 0)
		close(jw.fd);
	buf_release(&jw.b);
	return rc;
}

static int rollback(const struct session *s, struct event_log *log, bool *had)
{
	cleanup_free char *jpath = session_path(s, "commit/journal.jsonl");
	struct journal j;
	int r;

	*had = false;
	r = journal_read(jpath, &j);
	if (r == -ENOENT)
		return 0;
	if (r < 0) {
		errno = -r;
		return error_errno("cannot read %s", jpath);
	}
	if (!j.undo_ended) {
		*had = true;
		r = rollback_journal(s, log, &j, false);
	}
	journal_free(&j);
	return r;
}

int commit_rollback(const struct session *s, bool *had_journal)
{
	return rollback(s, NULL, had_journal);
}

int commit_baseline(const struct session *s, const cJSON *meta, struct timespec *start)
{
	cleanup_free char *jpath = session_path(s, "commit/journal.jsonl");
	struct journal j;

	if (parse_start(meta_str(meta, "start"), start) < 0)
		return -EINVAL;
	if (journal_read(jpath, &j) < 0)
		return 0;
	/* What an undo restored is newer than the session: the undo is the baseline then. */
	if (j.undo_ended && ts_after(&j.undo_time, start))
		*start = j.undo_time;
	journal_free(&j);
	return 0;
}

/* ---- the commands ----------------------------------------------------------------------- */

static void print_path(FILE *f, const char *path)
{
	cleanup_free char *shown = term_sanitize(path);

	fputs(shown, f);
}

/* The closing event of a commit or undo, with its counts. */
static cJSON *summary_event(const char *cls, const char *decision, size_t applied, size_t left)
{
	struct passwd *pw = getpwuid(getuid());
	cJSON *ev = cJSON_CreateObject();

	cJSON_AddStringToObject(ev, "class", cls);
	cJSON_AddStringToObject(ev, "op", "end");
	cJSON_AddStringToObject(ev, "decision", decision);
	cJSON_AddStringToObject(ev, "by", "person");
	cJSON_AddStringToObject(ev, "user", pw ? pw->pw_name : "?");
	cJSON_AddNumberToObject(ev, "applied", (double)applied);
	cJSON_AddNumberToObject(ev, "left", (double)left);
	return ev;
}

/* meta.json's record of a finished commit the journal shows but meta lacks (a crash between). */
static void repair_record(cJSON *meta, struct event_log *log, const struct journal *j)
{
	cJSON *rec = who_when(), *ev;
	size_t i, done = 0;

	for (i = 0; i < j->n; i++)
		done += j->steps[i].done;
	cJSON_AddNumberToObject(rec, "applied", (double)done);
	cJSON_AddTrueToObject(rec, "repaired");
	set_item(meta, "commit", rec);
	set_item(meta, "state", cJSON_CreateString("committed"));
	ev = summary_event("commit", "committed", done, 0);
	cJSON_AddTrueToObject(ev, "repaired");
	events_append(log, ev); /* the caller seals meta over it */
}

/*
 * Settle an earlier commit: roll back an unfinished one. 1 when a finished commit stands, 0
 * when none does (*baseline then moves to the end of the last rollback, if later), -1 on error.
 */
static int settle_journal(const struct session *s, cJSON *meta, struct event_log *log,
			  struct timespec *baseline)
{
	cleanup_free char *jpath = session_path(s, "commit/journal.jsonl");
	struct journal j;
	int r = journal_read(jpath, &j);

	if (r == -ENOENT)
		return 0;
	if (r < 0) {
		errno = -r;
		return error_errno("cannot read %s", jpath);
	}
	if (j.ended_ok && !j.undo_ended) {
		const char *state = meta_str(meta, "state");

		if (!state || strcmp(state, "committed") != 0)
			repair_record(meta, log, &j);
		journal_free(&j);
		return 1;
	}
	if (!j.undo_ended) {
		printf("rolling back the unfinished commit of session %s first\n", s->id);
		r = rollback_journal(s, log, &j, false);
		journal_free(&j);
		if (r < 0 || journal_read(jpath, &j) < 0)
			return -1;
	}
	if (ts_after(&j.undo_time, baseline))
		*baseline = j.undo_time;
	journal_free(&j);
	return 0;
}

/*
 * A host path no commit changes, nor takes away with a directory above it: the session's hidden
 * paths (the program never saw what they hold), airlock's own configuration and the store.
 */
struct guard {
	char *path;
	const char *what; /* "hidden", "config", "store" */
	bool always;	  /* no symlink above it, even when the host has nothing there */
};

struct guards {
	struct guard *v;
	size_t n, cap;
};

static void guard_add(struct guards *g, const char *path, const char *what, bool always)
{
	GROW(g->v, g->cap, g->n + 1);
	g->v[g->n++] = (struct guard){.path = path_normalize(path), .what = what, .always = always};
}

/* path and, when a component is a symlink, what it resolves to (by its parent when absent). */
static void guard_add_real(struct guards *g, const char *path, const char *what)
{
	cleanup_free char *real = realpath(path, NULL);

	if (!real) {
		const char *name;
		cleanup_free char *dir = split(path, &name);
		cleanup_free char *rdir = realpath(dir, NULL);

		if (rdir && *name)
			real = path_join(rdir, name);
	}
	guard_add(g, path, what, true);
	if (real && strcmp(real, path) != 0)
		guard_add(g, real, what, true);
}

/* The guards of a session: its hidden paths (meta "hidden", real paths included by the run),
   the configuration directories and the store as the person's environment names them now. */
static void guards_init(struct guards *g, const cJSON *meta)
{
	const cJSON *h;
	char *conf[2];
	size_t n = policy_config_dirs(home_dir(), conf), i;
	cleanup_free char *store = store_root();

	cJSON_ArrayForEach(h, cJSON_GetObjectItemCaseSensitive(meta, "hidden"))
	{
		if (cJSON_IsString(h) && h->valuestring[0] == '/')
			guard_add(g, h->valuestring, "hidden", false);
	}
	for (i = 0; i < n; i++) {
		guard_add_real(g, conf[i], "config");
		free(conf[i]);
	}
	if (store)
		guard_add_real(g, store, "store");
}

static void guards_free(struct guards *g)
{
	size_t i;

	for (i = 0; i < g->n; i++)
		free(g->v[i].path);
	free(g->v);
}

/* Whether applying c removes, replaces or redirects (a symlink) the host directory at its path. */
static bool takes_away(const struct change *c)
{
	return c->kind == CHANGE_DELETED || c->kind == CHANGE_DIR_REPLACED ||
	       (c->kind == CHANGE_TYPE_CHANGED && S_ISDIR(c->old_mode)) || S_ISLNK(c->mode);
}

/*
 * Why c must be left out to keep a guarded path as it is (caller frees; the paths escaped for
 * the terminal), or NULL: c is at or below the guarded path, or it takes away a directory above
 * one (rm -rf ~/.config, or a symlink in its place, would take ~/.config/gh with it).
 */
static char *guarded(const struct guards *g, const struct change *c, const char **why)
{
	static const char *const names[][2] = {
		{"hidden", "hidden in the sandbox"},
		{"config", "airlock's own configuration"},
		{"store", "airlock's session store"},
	};
	size_t i, k;

	for (i = 0; i < g->n; i++) {
		const struct guard *gd = &g->v[i];
		const char *what = gd->what;
		cleanup_free char *shown = NULL;
		struct stat st;

		for (k = 0; k < ARRAY_SIZE(names); k++)
			if (strcmp(names[k][0], gd->what) == 0)
				what = names[k][1];
		if (path_is_under(c->path, gd->path)) {
			shown = term_sanitize(gd->path);
			*why = strcmp(gd->what, "hidden") == 0 ? "hidden" : "protected";
			return xasprintf("%s (%s), never committed", what, shown);
		}
		if (!path_is_under(gd->path, c->path) || !takes_away(c))
			continue;
		/*
		 * What the host does not have is not taken away; but a symlink above airlock's
		 * configuration would point the next run at rules the program wrote elsewhere.
		 */
		if (lstat(gd->path, &st) < 0 && (errno == ENOENT || errno == ENOTDIR) &&
		    !(gd->always && S_ISLNK(c->mode)))
			continue;
		shown = term_sanitize(gd->path);
		*why = strcmp(gd->what, "hidden") == 0 ? "hidden" : "protected";
		return xasprintf(
			"never committed: it would take %s (%s) with it; the host keeps it", shown,
			what);
	}
	return NULL;
}

static int cmp_step_path(const void *key, const void *elem)
{
	const char *k = key;
	const struct step *st = *(const struct step *const *)elem;

	return strcmp(k, st->c->path);
}

/*
 * For each step, the nearest earlier step that creates a directory above it (dep, or -1), and
 * so whether the step's host parent is the commit's own (covered). Steps are sorted by path,
 * so every ancestor comes first; each prefix of a path is looked up among the directories made.
 */
static void find_deps(struct step *steps, size_t n)
{
	struct step **made = xcalloc(n + 1, sizeof(*made));
	size_t nmade = 0, i;

	for (i = 0; i < n; i++) {
		const char *p = steps[i].c->path;
		size_t len = strlen(p);

		steps[i].dep = -1;
		while (nmade > 0 && len > 1) {
			struct step **hit;
			char *prefix;

			while (len > 0 && p[len - 1] != '/')
				len--;
			if (len <= 1)
				break;
			prefix = xstrndup(p, len - 1);
			hit = bsearch(prefix, made, nmade, sizeof(*made), cmp_step_path);
			free(prefix);
			len--;
			if (hit) {
				steps[i].dep = (long)(*hit - steps);
				break;
			}
		}
		steps[i].covered = steps[i].dep >= 0;
		if (creates_dir(steps[i].c))
			made[nmade++] = &steps[i];
	}
	free(made);
}

/*
 * What kind of entry cannot be committed (sockets, devices), or NULL. A device node never
 * reaches the host, nor a mode change of one there.
 */
static const char *uncommittable(const struct change *c)
{
	if (c->kind == CHANGE_DELETED)
		return NULL;
	if (S_ISCHR(c->mode) || S_ISBLK(c->mode))
		return "a device";
	if (c->kind == CHANGE_MODE_CHANGED)
		return NULL;
	if (S_ISSOCK(c->mode))
		return "a socket";
	return NULL;
}

/*
 * The setuid and setgid bits of st's new entry that the host must not get: a program would
 * leave a binary that runs as the person for whoever starts it. Kept only where they add
 * nothing: the bits the host entry has already when only the mode changes, and a directory's
 * setgid where the host gives it anyway (its parent is setgid: mkdir inherits it) or has it.
 */
static mode_t strip_bits(const struct step *steps, const struct step *st)
{
	const struct change *c = st->c;
	mode_t bits = c->mode & (S_ISUID | S_ISGID);

	if (!bits || c->kind == CHANGE_DELETED || S_ISLNK(c->mode))
		return 0;
	if (c->kind == CHANGE_MODE_CHANGED && st->host_exists &&
	    (st->host_mode & S_IFMT) == (c->mode & S_IFMT))
		bits &= ~(st->host_mode & (S_ISUID | S_ISGID));
	if (S_ISDIR(c->mode) && (bits & S_ISGID)) {
		mode_t parent = 0;

		if (st->dep >= 0) {
			parent = steps[st->dep].c->mode & ~steps[st->dep].strip;
		} else {
			const char *name;
			cleanup_fd int pfd = host_parent(c->path, &name);
			struct stat ps;

			if (pfd >= 0 && fstat(pfd, &ps) == 0)
				parent = ps.st_mode;
		}
		if ((parent & S_ISGID) ||
		    (st->host_exists && S_ISDIR(st->host_mode) && (st->host_mode & S_ISGID)))
			bits &= ~S_ISGID;
	}
	return bits;
}

/*
 * A change the commit leaves out, and why ("skip": not named, "hidden": at or above a hidden
 * path, "protected": airlock's configuration or store, "unsupported").
 */
struct left {
	const struct change *c;
	const char *why;
};

static cJSON *path_list(const struct step *steps, size_t n, const struct left *left, size_t nleft)
{
	cJSON *arr = cJSON_CreateArray();
	size_t i;

	for (i = 0; i < (steps ? n : nleft); i++) {
		cleanup_free char *clean =
			utf8_sanitize(steps ? steps[i].c->path : left[i].c->path);

		cJSON_AddItemToArray(arr, cJSON_CreateString(clean));
	}
	return arr;
}

/*
 * meta.json's "commit": who, when, how many changes were applied and left out (and why), with
 * the paths themselves only when there are few: a session of 100,000 changes keeps a small
 * record, and the event log has every path.
 */
static cJSON *commit_record(const struct step *steps, size_t n, const struct left *left,
			    size_t nleft, size_t nforced)
{
	cJSON *rec = who_when();
	size_t i, hidden = 0, unsupported = 0, protected = 0;

	for (i = 0; i < nleft; i++) {
		hidden += strcmp(left[i].why, "hidden") == 0;
		unsupported += strcmp(left[i].why, "unsupported") == 0;
		protected += strcmp(left[i].why, "protected") == 0;
	}
	cJSON_AddNumberToObject(rec, "applied", (double)n);
	cJSON_AddNumberToObject(rec, "left", (double)nleft);
	cJSON_AddNumberToObject(rec, "hidden", (double)hidden);
	cJSON_AddNumberToObject(rec, "unsupported", (double)unsupported);
	cJSON_AddNumberToObject(rec, "protected", (double)protected);
	cJSON_AddNumberToObject(rec, "forced", (double)nforced);
	if (n <= RECORD_PATHS)
		cJSON_AddItemToObject(rec, "paths", path_list(steps, n, NULL, 0));
	if (nleft <= RECORD_PATHS)
		cJSON_AddItemToObject(rec, "left_paths", path_list(NULL, 0, left, nleft));
	return rec;
}

static const struct session_args_spec commit_spec = {
	.usage = "airlock commit [ID] [--all | [--] PATH...] [--force] [--run N]",
	.help = "Apply a session's approved changes to the host (approved by the rules or in "
		"'airlock review').\n"
		"--all adds the undecided ones, never a denied or a flagged one (a change that "
		"runs code\non the host later: git hooks, shell start-up files, ...). PATH... "
		"applies the changes at or\nbelow each PATH instead; a flagged one only when "
		"its PATH names it.\n"
		"A change under a 'deny write' rule is never applied.\n"
		"A host path changed since the session started is a conflict, refused unless "
		"--force.\n"
		"Nothing is applied when anything fails: the host is put back as it was.\n"
		"Never applied: setuid/setgid bits (stripped), devices, hidden paths, airlock's\n"
		"configuration and store, or what would take them away. A session whose run\n"
		"was interrupted is refused unless --force.\n"
		"--run N (repeatable) runs deferred command N on the host after the commit, or\n"
		"alone without --all or PATHs.\n"
		"'airlock undo' puts the host back.\n",
	.accept = ARG_PATHS | ARG_ALL | ARG_FORCE | ARG_RUN,
};

static int parse_commit_args(int argc, char **argv, struct session_args *a)
{
	int rc = parse_session_args(argc, argv, &commit_spec, a);

	if (rc >= 0)
		return rc;
	if (a->all && a->npaths > 0)
		return usage_error("usage: %s (--all or paths, not both)", commit_spec.usage);
	return -1;
}

/*
 * Refuse --run N, before anything is applied, when the session deferred no command N or N ran
 * already (deferred_run() checks again before it runs any). 0 or -1 (printed).
 */
static int check_runs(const struct session *s, const struct session_args *a)
{
	struct deferred_list l;
	size_t i, k;
	int rc = 0;

	if (a->nruns == 0)
		return 0;
	if (deferred_load(s, &l) < 0)
		return error("cannot read the deferred commands of session %s", s->id);
	for (i = 0; i < a->nruns && rc == 0; i++) {
		const struct deferred_cmd *c = NULL;

		for (k = 0; k < l.n; k++)
			if ((long)l.v[k].n == a->runs[i])
				c = &l.v[k];
		if (!c)
			rc = error("no deferred command %ld in session %s (it deferred %zu)",
				   a->runs[i], s->id, l.n);
		else if (c->ran != -1)
			rc = error("deferred command %ld of session %s ran already", a->runs[i],
				   s->id);
	}
	deferred_free(&l);
	return rc;
}

/* Run the --run commands after the commit. 0, or 1 when one failed or none could run. */
static int run_deferred(const struct session *s, struct event_log *log,
			const struct session_args *a)
{
	cleanup_free unsigned *which = xcalloc(a->nruns + 1, sizeof(*which));
	size_t i;

	for (i = 0; i < a->nruns; i++)
		which[i] = (unsigned)a->runs[i];
	return deferred_run(s, log, which, a->nruns) == 0 ? 0 : EXIT_REFUSED;
}

static int cmp_pathp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/*
 * Whether the change at path is one the arguments take, marking which PATH in matched: with
 * exact, the paths (sorted) name changes themselves (the review's way), else a PATH takes
 * everything at or below it.
 */
static bool taken(const struct session_args *a, bool exact, const char *path, bool *matched)
{
	bool take = a->all;
	size_t j;

	if (exact) {
		char *const *hit =
			bsearch(&path, a->paths, a->npaths, sizeof(*a->paths), cmp_pathp);

		if (hit)
			matched[hit - a->paths] = true;
		return hit != NULL;
	}
	for (j = 0; j < a->npaths; j++) {
		if (path_is_under(path, a->paths[j])) {
			take = true;
			matched[j] = true;
		}
	}
	return take;
}

/* A directory the commit leaves out although it would create it, and why. */
struct left_dir {
	const char *path;
	const char *why;
};

static int cmp_left_dir(const void *key, const void *elem)
{
	return strcmp(key, ((const struct left_dir *)elem)->path);
}

/*
 * Why the change at path is left out with a directory above it that the commit does not
 * create (dirs sorted by path), or NULL: without the directory the change cannot go in, and
 * trying would refuse the whole commit.
 */
static const char *below_left_dir(const struct left_dir *dirs, size_t n, const char *path)
{
	size_t len = strlen(path);

	while (n > 0 && len > 1) {
		cleanup_free char *prefix = NULL;
		const struct left_dir *hit;

		while (len > 0 && path[len - 1] != '/')
			len--;
		if (len <= 1)
			break;
		len--;
		prefix = xstrndup(path, len);
		hit = bsearch(prefix, dirs, n, sizeof(*dirs), cmp_left_dir);
		if (hit)
			return hit->why;
	}
	return NULL;
}

/*
 * Say what the commit left out for the person to decide, with the paths when few; committed
 * says whether the commit applied anything (a session commits once).
 */
static void say_left(const struct session *s, const struct left *left, size_t nleft, bool committed)
{
	static const char *const whys[] = {"undecided", "flagged", "denied"};
	size_t count[3] = {0, 0, 0}, total = 0, i, k;

	for (i = 0; i < nleft; i++)
		for (k = 0; k < 3; k++)
			if (strcmp(left[i].why, whys[k]) == 0) {
				count[k]++;
				total++;
			}
	if (total == 0)
		return;
	fprintf(stderr, "airlock: left in session %s: %zu undecided, %zu flagged, %zu denied\n",
		s->id, count[0], count[1], count[2]);
	for (i = 0; i < nleft && total <= 10; i++)
		for (k = 0; k < 3; k++)
			if (strcmp(left[i].why, whys[k]) == 0) {
				fprintf(stderr, "  %-9s ", whys[k]);
				print_path(stderr, left[i].c->path);
				fputc('\n', stderr);
			}
	if (count[1] && !committed)
		fprintf(stderr,
			"airlock: flagged changes run code on the host later; "
			"'airlock review %s' or 'airlock commit %s PATH' applies one\n",
			s->id, s->id);
	else if (count[1])
		fprintf(stderr,
			"airlock: flagged changes run code on the host later; to apply "
			"one too, 'airlock undo %s' and commit again naming it\n",
			s->id);
}

/* Apply the steps: journal, batches, the directories' modes, the results. 0 or -1 (printed). */
static int apply_all(struct applier *a, const char *jpath)
{
	size_t i, from;
	int r;

	{
		cJSON *o = jline("begin", -1);

		cJSON_AddNumberToObject(o, "version", JOURNAL_VERSION);
		jw_add(&a->jw, o);
	}
	for (i = 0; i < a->n; i++) {
		const struct step *st = &a->steps[i];
		cJSON *o = jline("plan", (long)i);

		cJSON_AddStringToObject(o, "path", st->c->path);
		cJSON_AddStringToObject(o, "kind", change_kind_name(st->c->kind));
		cJSON_AddStringToObject(o, "do", op_names[st->op]);
		cJSON_AddNumberToObject(o, "old_mode", st->host_mode);
		if (st->covered)
			cJSON_AddTrueToObject(o, "covered");
		if (st->has_pmtime)
			add_ts(o, "pmtime", &st->pmtime);
		jw_add(&a->jw, o);
		if (a->jw.b.len > (1u << 20) && (r = jw_flush(&a->jw, false)) < 0)
			goto bad_journal;
	}
	/* Nothing on the host changes before the whole plan is durable. */
	if ((r = jw_flush(&a->jw, true)) < 0)
		goto bad_journal;
	for (from = 0; from < a->n && a->failed == SIZE_MAX;) {
		size_t to = from + 1;

		long long bytes = a->steps[from].c->size;

		/* A batch ends before a step whose directory a step of the batch creates. */
		while (to < a->n && to - from < BATCH_STEPS && a->steps[to].dep < (long)from &&
		       bytes + a->steps[to].c->size <= BATCH_BYTES)
			bytes += a->steps[to++].c->size;
		dir_cache_reset(&a->host);
		apply_batch(a, from, to);
		from = to;
	}
	dir_cache_reset(&a->host);
	if (a->failed != SIZE_MAX)
		return -1;
	fix_dirs(a);
	if (devs_sync(&a->devs, false) < 0)
		return error_errno("cannot sync the host");
	journal_results(a);
	if ((r = jw_flush(&a->jw, true)) < 0)
		goto bad_journal;
	{
		cJSON *o = jline("end", -1);

		cJSON_AddTrueToObject(o, "ok");
		jw_add(&a->jw, o);
	}
	if ((r = jw_flush(&a->jw, true)) < 0)
		goto bad_journal;
	return 0;
bad_journal:
	errno = -r;
	return error_errno("cannot write %s", jpath);
}

/* Seal meta.json over the events appended since the last seal, and write it. 0 or -1. */
static int seal(const struct session *s, cJSON *meta, struct event_log *log,
		unsigned long long *sealed)
{
	if (log->fd < 0 || log->seq == *sealed)
		return 0;
	audit_record_head(meta, log);
	*sealed = log->seq;
	return store_write_meta(s, meta, true);
}

static int commit_session(const struct session_args *args, bool exact);

/*
 * Refuse, unless force, a session whose run did not end normally: its supervisor was killed
 * (or the machine stopped) before the change set was hashed and sealed, so nothing vouches
 * for what its overlays hold now. The caller holds the session's lock, so "running" means
 * that no run is. 0 (a forced commit is recorded) or -1 after printing why.
 */
static int check_ended(const struct session *s, cJSON *meta, struct event_log *log, bool force)
{
	const char *state = meta_str(meta, "state");
	const char *err = meta_str(meta, "changes_error");
	cleanup_free char *why = NULL;
	cJSON *ev;

	if (!state || strcmp(state, "running") == 0)
		why = xstrdup("its run did not end normally (interrupted: the supervisor was "
			      "killed or the machine stopped), so its change set was never sealed");
	else if (!cJSON_IsString(cJSON_GetObjectItemCaseSensitive(meta, "changes_sha256")))
		why = err ? xasprintf("its change set was never recorded (%s)", err)
			  : xstrdup("its change set was never recorded");
	if (!why)
		return 0;
	if (!force) {
		cleanup_free char *shown = term_sanitize(why);

		fprintf(stderr,
			"airlock: session %s: %s; nothing committed ('airlock diff %s' shows what its "
			"overlays hold; --force commits it anyway)\n",
			s->id, shown, s->id);
		return -1;
	}
	warn("session %s: %s; committing anyway (--force)", s->id, why);
	ev = commit_event("commit", "unsealed", s->id, "forced");
	cJSON_AddStringToObject(ev, "reason", why);
	events_append(log, ev);
	return 0;
}

int cmd_commit(int argc, char **argv)
{
	struct session_args a;
	int rc = parse_commit_args(argc, argv, &a);

	if (rc < 0)
		rc = commit_session(&a, false);
	session_args_free(&a);
	return rc;
}

int commit_paths(const char *id, const char *const *paths, size_t n, bool force)
{
	struct session_args a = {.id = id, .npaths = n, .force = force};
	int rc;

	a.paths = xcalloc(n + 1, sizeof(*a.paths));
	memcpy(a.paths, paths, n * sizeof(*paths));
	if (n)
		qsort(a.paths, n, sizeof(*a.paths), cmp_pathp);
	rc = commit_session(&a, true);
	free(a.paths); /* the strings are the caller's */
	return rc;
}

/* `airlock commit`: the paths a takes (exactly, with exact), then a's deferred commands. */
static int commit_session(const struct session_args *args, bool exact)
{
	const struct session_args a = *args;
	struct session s = {.lock_fd = -1};
	struct change_set cs = {0};
	struct event_log log = {.fd = -1};
	struct applier ap = {.failed = SIZE_MAX, .host = {.fd = -1}, .upper = {.fd = -1}};
	struct dir_cache checks = {.fd = -1};
	struct guards guards = {0};
	struct step *steps = NULL;
	struct left *left = NULL;
	bool *matched = NULL;
	struct timespec start;
	struct gate gate;
	struct left_dir *ldirs = NULL;
	size_t nldirs = 0, ldcap = 0;
	bool have_gate = false;
	enum gate_mode mode = exact || a.npaths > 0 ? GATE_TAKE_NAMED
			      : a.all		    ? GATE_TAKE_ALL
						    : GATE_TAKE_APPROVED;
	cleanup_free char *events = NULL, *cdir = NULL, *jpath = NULL, *bdir = NULL;
	cleanup_fd int bfd = -1, sfd = -1;
	cJSON *meta = NULL;
	size_t n = 0, cap = 0, nleft = 0, lcap = 0, i, j, nconf = 0, nunsafe = 0;
	unsigned long long sealed = 0;
	int rc = EXIT_REFUSED, r;
	bool opened = false, log_open = false, files = a.all || a.npaths > 0 || a.nruns == 0;

	buf_init(&ap.jw.b);
	ap.jw.fd = -1;
	matched = xcalloc(a.npaths + 1, sizeof(*matched));
	if (store_open(a.id, true, &s) < 0)
		goto out;
	opened = true;
	meta = store_read_meta(&s);
	if (!meta)
		goto out;
	if (strcmp(session_state(&s, meta), "discarded") == 0) {
		error("session %s was discarded: its changes are gone", s.id);
		goto out;
	}
	if (parse_start(meta_str(meta, "start"), &start) < 0) {
		error("session %s has no valid start time", s.id);
		goto out;
	}
	if (check_runs(&s, &a) < 0)
		goto out;
	events = session_path(&s, "events.jsonl");
	if (audit_open_log(&log, events, meta) < 0) /* it says what failed */
		goto out;
	log_open = true;
	sealed = log.seq;
	if (check_ended(&s, meta, &log, a.force) < 0)
		goto out;
	r = settle_journal(&s, meta, &log, &start);
	if (r < 0)
		goto out;
	if (!files) {
		/* --run N alone: the deferred commands, with the files as they are. */
		rc = run_deferred(&s, &log, &a);
		goto out;
	}
	if (r == 1) {
		error("session %s is already committed; 'airlock undo %s' first", s.id, s.id);
		goto out;
	}
	if (session_scan_changes(&s, meta, &cs) < 0) {
		error("cannot read the changes of session %s", s.id);
		goto out;
	}
	/* The states the review and show give, and every final host path checked again. */
	gate_open(&gate, &s, meta);
	guards_init(&guards, meta);
	have_gate = true;
	if (!gate.have_rules) {
		error("nothing committed: session %s's rules cannot be read to check its changes",
		      s.id);
		goto out;
	}
	for (i = 0; i < cs.n; i++) {
		const struct change *c = &cs.items[i];
		bool take = taken(&a, exact, c->path, matched);
		const char *odd = uncommittable(c), *gwhy = NULL;
		cleanup_free char *guard = NULL;
		struct gate_verdict v;
		const char *why = gate_select(
			&gate, c->path, mode, take,
			exact || (take && gate_named_exactly(&gate, c->path, a.paths, a.npaths)),
			&v);

		if (!why)
			why = below_left_dir(ldirs, nldirs, c->path);
		/* (A PATH below a new directory it does not name is refused below, as ever.) */
		if (why && (exact || strcmp(why, "skip") != 0) &&
		    (c->kind == CHANGE_DIR_ADDED ||
		     (c->kind == CHANGE_TYPE_CHANGED && S_ISDIR(c->mode)))) {
			GROW(ldirs, ldcap, nldirs + 1);
			ldirs[nldirs++] = (struct left_dir){c->path, why};
		}

		GROW(left, lcap, nleft + 1);
		left[nleft] = (struct left){.c = c, .why = why ? why : "skip"};
		if (why && v.by == GATE_BY_DENY && take) {
			cleanup_free char *origin = rule_origin(v.rule);

			fputs("airlock: ", stderr);
			print_path(stderr, c->path);
			fprintf(stderr, ": denied by 'deny write %s' (%s), never committed\n",
				v.rule->text, origin);
		}
		if (why) {
			nleft++;
			continue;
		}
		/*
		 * The program never saw what a hidden path holds (~/.ssh): whatever it put there
		 * is never applied, or an empty directory would replace the host's keys; nor is a
		 * directory above one taken away. airlock's own rules and store are the same.
		 */
		guard = guarded(&guards, c, &gwhy);
		if (guard || odd) {
			fputs("airlock: ", stderr);
			print_path(stderr, c->path);
			if (guard)
				fprintf(stderr, ": %s\n", guard);
			else
				fprintf(stderr, ": %s cannot be committed; left out\n", odd);
			left[nleft++].why = guard ? gwhy : "unsupported";
			continue;
		}
		GROW(steps, cap, n + 1);
		memset(&steps[n], 0, sizeof(steps[n]));
		steps[n++].c = c;
	}
	for (j = 0; j < a.npaths; j++) {
		if (!matched[j]) {
			fputs("airlock: ", stderr);
			print_path(stderr, a.paths[j]);
			fprintf(stderr, ": not changed in session %s\n", s.id);
			goto out;
		}
	}
	if (n == 0) {
		if (mode == GATE_TAKE_APPROVED && cs.n > 0)
			printf("session %s has no approved changes to commit\n", s.id);
		else
			printf("session %s has no changes to commit\n", s.id);
		say_left(&s, left, nleft, false);
		rc = run_deferred(&s, &log, &a);
		goto out;
	}
	/* The conflict check comes first: nothing is touched until every path is looked at. */
	sfd = open(s.dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (sfd < 0) {
		error_errno("cannot open %s", s.dir);
		goto out;
	}
	find_deps(steps, n);
	for (i = 0; i < n; i++) {
		check_step(&steps[i], &start, sfd, s.dir, &checks);
		if (steps[i].conflict) {
			nconf++;
			nunsafe += steps[i].unsafe;
			steps[i].replace = is_addition(steps[i].c) && steps[i].host_exists;
		}
	}
	if (nconf > 0) {
		fprintf(stderr, "airlock: %zu conflict%s in session %s:\n", nconf,
			nconf == 1 ? "" : "s", s.id);
		for (i = 0; i < n; i++) {
			if (!steps[i].conflict)
				continue;
			fputs("  ", stderr);
			print_path(stderr, steps[i].c->path);
			fprintf(stderr, ": %s%s\n", steps[i].conflict,
				steps[i].unsafe ? " (--force cannot override this)" : "");
		}
		if (!a.force || nunsafe > 0) {
			for (i = 0; i < n; i++)
				if (steps[i].conflict)
					events_append(
						&log,
						commit_event("commit",
							     change_kind_name(steps[i].c->kind),
							     steps[i].c->path, "conflict"));
			/* The refusal's events are sealed like any other. */
			seal(&s, meta, &log, &sealed);
			fprintf(stderr, "airlock: nothing committed%s\n",
				nunsafe ? "" : "; --force applies the conflicting changes anyway");
			goto out;
		}
	}
	/* What each step does; a forced deletion or chmod of what the host lost is nothing. */
	for (i = j = 0; i < n; i++) {
		struct step *st = &steps[i];

		if (st->c->kind == CHANGE_MODE_CHANGED)
			st->op = OP_CHMOD;
		else if (st->c->kind == CHANGE_DELETED)
			st->op = OP_DELETE;
		else
			st->op = st->host_exists ? OP_REPLACE : OP_ADD;
		if ((st->op == OP_DELETE || st->op == OP_CHMOD) && !st->host_exists) {
			free(st->conflict);
			GROW(left, lcap, nleft + 1);
			left[nleft++] = (struct left){.c = st->c, .why = "gone"};
			continue;
		}
		steps[j++] = *st;
	}
	n = j;
	find_deps(steps, n);
	for (i = 0; i < n; i++) {
		struct step *st = &steps[i];
		mode_t want = st->c->mode & 07777;

		st->strip = strip_bits(steps, st);
		if (!st->strip)
			continue;
		fputs("airlock: ", stderr);
		print_path(stderr, st->c->path);
		fprintf(stderr, ": committed without its %s (mode %04o, not %04o)\n",
			st->strip == (S_ISUID | S_ISGID) ? "setuid and setgid bits"
			: st->strip == S_ISUID		 ? "setuid bit"
							 : "setgid bit",
			(unsigned)(want & ~st->strip), (unsigned)want);
	}
	for (i = 0; i < nleft; i++)
		events_append(&log, commit_event("commit", change_kind_name(left[i].c->kind),
						 left[i].c->path, left[i].why));
	cdir = session_path(&s, "commit");
	jpath = session_path(&s, "commit/journal.jsonl");
	bdir = session_path(&s, "commit/backup");
	if (rm_rf(cdir) < 0 || mkdir(cdir, 0700) < 0 || mkdir(bdir, 0700) < 0) {
		error_errno("cannot prepare %s", cdir);
		goto out;
	}
	ap.jw.fd = open(jpath, O_WRONLY | O_CREAT | O_EXCL | O_APPEND | O_CLOEXEC, 0600);
	bfd = open(bdir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (ap.jw.fd < 0 || bfd < 0) {
		error_errno("cannot create %s", ap.jw.fd < 0 ? jpath : bdir);
		goto out;
	}
	ap.s = &s;
	ap.sfd = sfd;
	ap.bfd = bfd;
	ap.steps = steps;
	ap.n = n;
	ap.log = &log;
	ap.host.devs = &ap.devs;
	devs_add(&ap.devs, bfd, 0); /* the backups, when the store is on another filesystem */
	if (apply_all(&ap, jpath) < 0) {
		struct journal jr;

		if (ap.failed != SIZE_MAX) {
			const struct step *st = &steps[ap.failed];

			fprintf(stderr, "airlock: step %zu of %zu failed (%s ", ap.failed + 1, n,
				change_kind_name(st->c->kind));
			print_path(stderr, st->c->path);
			fprintf(stderr, "): %s: %s\n", ap.what, strerror(-ap.failed_rc));
		}
		jw_flush(&ap.jw, true);
		/* All or nothing: put back every step the journal shows started. */
		if (journal_read(jpath, &jr) < 0 || rollback_journal(&s, &log, &jr, false) < 0) {
			journal_free(&jr);
			set_item(meta, "state", cJSON_CreateString("partially committed"));
			events_append(&log, summary_event("commit", "failed", 0, cs.n));
			seal(&s, meta, &log, &sealed);
			fprintf(stderr,
				"airlock: session %s is partially committed; 'airlock undo %s' "
				"rolls the rest back\n",
				s.id, s.id);
			goto out;
		}
		journal_free(&jr);
		events_append(&log, summary_event("commit", "failed", 0, cs.n));
		seal(&s, meta, &log, &sealed);
		error("nothing committed: the host is as it was");
		goto out;
	}
	events_append(&log, summary_event("commit", "committed", n, nleft));
	set_item(meta, "commit", commit_record(steps, n, left, nleft, nconf));
	cJSON_DeleteItemFromObjectCaseSensitive(meta, "undo"); /* of an earlier commit */
	set_item(meta, "state", cJSON_CreateString("committed"));
	if (seal(&s, meta, &log, &sealed) < 0)
		goto out;
	printf("committed %zu change%s of session %s%s ('airlock undo %s' takes them back)\n", n,
	       n == 1 ? "" : "s", s.id, nconf ? " (conflicts forced)" : "", s.id);
	say_left(&s, left, nleft, true);
	/* The approved deferred commands run after the files, and only when they went in. */
	rc = run_deferred(&s, &log, &a);
out:
	/* Whatever was appended (a rollback, a refusal, deferred runs) is sealed. */
	if (log_open)
		seal(&s, meta, &log, &sealed);
	for (i = 0; i < n; i++)
		free(steps[i].conflict);
	free(steps);
	free(left);
	free(ldirs);
	free(matched);
	if (ap.jw.fd >= 0)
		close(ap.jw.fd);
	buf_release(&ap.jw.b);
	dir_cache_reset(&ap.host);
	dir_cache_reset(&ap.upper);
	dir_cache_reset(&checks);
	guards_free(&guards);
	if (log_open)
		events_close(&log);
	change_set_free(&cs);
	if (have_gate)
		gate_close(&gate);
	cJSON_Delete(meta);
	if (opened)
		store_close(&s);
	return rc;
}

int cmd_undo(int argc, char **argv)
{
	static const struct session_args_spec spec = {
		.usage = "airlock undo [ID] [--force]",
		.help = "Put the host back exactly as it was before the session's commit.\n"
			"A path changed on the host after the commit is refused (nothing is "
			"undone)\nunless --force, which undoes it anyway and loses that change.\n",
		.accept = ARG_FORCE,
	};
	struct session_args a;
	struct session s = {.lock_fd = -1};
	struct event_log log = {.fd = -1};
	struct journal j = {0};
	cleanup_free char *events = NULL, *jpath = NULL;
	cJSON *meta = NULL, *rec;
	size_t i, nconf = 0, nunsafe = 0, nundo = 0;
	unsigned long long sealed = 0;
	bool opened = false, log_open = false, checked = false;
	int rc = parse_session_args(argc, argv, &spec, &a), r;

	if (rc >= 0)
		goto out;
	rc = EXIT_REFUSED;
	if (store_open(a.id, true, &s) < 0)
		goto out;
	opened = true;
	meta = store_read_meta(&s);
	if (!meta)
		goto out;
	events = session_path(&s, "events.jsonl");
	if (audit_open_log(&log, events, meta) < 0) /* it says what failed */
		goto out;
	log_open = true;
	sealed = log.seq;
	jpath = session_path(&s, "commit/journal.jsonl");
	r = journal_read(jpath, &j);
	if (r < 0 && r != -ENOENT) {
		errno = -r;
		error_errno("cannot read %s", jpath);
		goto out;
	}
	if (r == -ENOENT || j.undo_ended) {
		error("session %s has no commit to undo", s.id);
		goto out;
	}
	/*
	 * A finished commit may be old: the person may have changed its paths since. Look at all
	 * of them before touching any, and refuse to lose a change silently.
	 */
	if (j.ended_ok && !j.undo_begun) {
		checked = true;
		for (i = 0; i < j.n; i++) {
			struct jstep *js = &j.steps[i];
			cleanup_free char *why = NULL;
			bool unsafe;

			if (!js->done || js->undone || !js->has_result)
				continue;
			why = undo_conflict(&s, &j, js, &unsafe);
			if (!why)
				continue;
			if (nconf++ == 0)
				fprintf(stderr,
					"airlock: changed on the host since the commit of session "
					"%s:\n",
					s.id);
			fputs("  ", stderr);
			print_path(stderr, js->path);
			fprintf(stderr, ": %s%s\n", why,
				unsafe ? " (--force cannot override this)" : "");
			nunsafe += unsafe;
			events_append(&log, commit_event("undo", js->kind, js->path, "conflict"));
		}
		if (nconf > 0 && (!a.force || nunsafe > 0)) {
			fprintf(stderr, "airlock: nothing undone%s\n",
				nunsafe ? ""
					: "; --force undoes anyway, and those changes are lost");
			seal(&s, meta, &log, &sealed);
			goto out;
		}
	}
	for (i = 0; i < j.n; i++)
		nundo += j.steps[i].started && !j.steps[i].undone;
	if (rollback_journal(&s, &log, &j, checked) < 0) {
		set_item(meta, "state", cJSON_CreateString("partially committed"));
		events_append(&log, summary_event("undo", "failed", 0, 0));
		seal(&s, meta, &log, &sealed);
		goto out;
	}
	rec = who_when();
	cJSON_AddNumberToObject(rec, "undone", (double)nundo);
	cJSON_AddNumberToObject(rec, "forced", (double)nconf);
	set_item(meta, "undo", rec);
	set_item(meta, "state", cJSON_CreateString("undone"));
	events_append(&log, summary_event("undo", "undone", nundo, 0));
	if (seal(&s, meta, &log, &sealed) < 0)
		goto out;
	printf("undid the commit of session %s%s\n", s.id,
	       nconf ? " (later host changes overwritten)" : "");
	rc = 0;
out:
	if (log_open)
		seal(&s, meta, &log, &sealed);
	journal_free(&j);
	session_args_free(&a);
	if (log_open)
		events_close(&log);
	cJSON_Delete(meta);
	if (opened)
		store_close(&s);
	return rc;
}
