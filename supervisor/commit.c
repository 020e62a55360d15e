/* SPDX-License-Identifier: MIT */
/* `airlock commit` and `airlock undo`: the journalled, symlink-safe application of a change set. */
#include "supervisor/commit.h"

#include "common/buf.h"
#include "common/cleanup.h"
#include "common/err.h"
#include "common/path.h"
#include "common/utf8.h"
#include "supervisor/audit.h"
#include "supervisor/changes.h"
#include "supervisor/cli.h"
#include "supervisor/events.h"
#include "supervisor/session.h"

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

enum backup_kind {
	BK_NONE,
	BK_TREE,
	BK_MODE
};

static const char *const bk_names[] = {"none", "tree", "mode"};

struct step {
	const struct change *c;
	bool covered;	  /* an earlier step creates (or empties) the host parent */
	bool host_exists; /* the host has an entry at the path now */
	bool replace;	  /* a forced addition replaces what appeared meanwhile */
	char *conflict;	  /* why the host path conflicts, or NULL */
	bool unsafe;	  /* a conflict that --force cannot override */
	mode_t host_mode; /* st_mode of the host entry when host_exists */
	enum backup_kind bk;
};

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
 * Open the directory holding the absolute host path, refusing any symlink on the way (ELOOP):
 * a directory swapped for a symlink after the run must not redirect a write. fd or -errno.
 */
static int host_parent(const char *path, const char **name)
{
	cleanup_free char *dir = split(path, name);

	if (path[0] != '/' || !**name)
		return -EINVAL;
	return open_how(AT_FDCWD, dir, O_RDONLY | O_DIRECTORY,
			RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS);
}

/* Open the directory holding an upper entry, staying inside the session directory. */
static int upper_parent(int sfd, const char *sdir, const char *upper, const char **name)
{
	cleanup_free char *dir = NULL;

	if (!path_is_under(upper, sdir) || strcmp(upper, sdir) == 0)
		return -EXDEV;
	dir = split(path_rel(upper, sdir), name);
	return open_how(sfd, dir, O_PATH | O_DIRECTORY,
			RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS);
}

static int copy_data(int in, int out)
{
	char buf[65536];
	ssize_t n;

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
 * Copy the entry sfd/sname to dfd/dname (which must not exist) with its mode and times, never
 * following a symlink: regular files (fsynced), symlinks, fifos and directories. A directory's
 * content is copied when recursive; otherwise it is made empty with the owner's rwx kept, for
 * the caller to fix up. 0 or -errno.
 */
static int copy_entry(int sfd, const char *sname, int dfd, const char *dname, bool recursive,
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
		cleanup_fd int out = -1;

		if (in < 0)
			return -errno;
		out = openat(dfd, dname, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
			     0600);
		if (out < 0)
			return -errno;
		rc = copy_data(in, out);
		if (rc == 0 && (fchmod(out, st.st_mode & 07777) < 0 || futimens(out, ts) < 0 ||
				fsync(out) < 0))
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
		if (fchmodat(dfd, dname, st.st_mode & 07777, 0) < 0 ||
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
		out = openat(dfd, dname, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (out < 0)
			return -errno;
		if (!recursive)
			return fchmod(out, (st.st_mode & 07777) | 0700) < 0 ? -errno : 0;
		in = openat(sfd, sname, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (in < 0)
			return -errno;
		rc = dir_list(in, &names, &n);
		for (i = 0; rc == 0 && i < n; i++)
			rc = copy_entry(in, names[i], out, names[i], true, depth + 1);
		dir_list_free(names, n);
		if (rc == 0 && (fchmod(out, st.st_mode & 07777) < 0 || futimens(out, ts) < 0 ||
				fsync(out) < 0))
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

static bool newer(const struct stat *st, const struct timespec *start)
{
	const struct timespec *t[2] = {&st->st_ctim, &st->st_mtim};
	size_t i;

	for (i = 0; i < 2; i++)
		if (t[i]->tv_sec > start->tv_sec ||
		    (t[i]->tv_sec == start->tv_sec && t[i]->tv_nsec > start->tv_nsec))
			return true;
	return false;
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
static void check_host(struct step *st, const struct timespec *start, int sfd, const char *sdir)
{
	const struct change *c = st->c;
	const char *name;
	struct stat hs;
	cleanup_fd int pfd = -1;
	int r;

	pfd = host_parent(c->path, &name);
	if (pfd < 0) {
		st->unsafe = true;
		if (pfd == -ELOOP || pfd == -ENOTDIR)
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
	if (fstatat(pfd, name, &hs, AT_SYMLINK_NOFOLLOW) == 0) {
		st->host_exists = true;
		st->host_mode = hs.st_mode;
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

/* As check_host(), unless an earlier step creates the directory the path is in. */
static void check_step(struct step *st, const struct step *steps, size_t idx,
		       const struct timespec *start, int sfd, const char *sdir)
{
	size_t j;

	for (j = 0; j < idx; j++) {
		if (creates_dir(steps[j].c) && path_is_under(st->c->path, steps[j].c->path) &&
		    strcmp(st->c->path, steps[j].c->path) != 0) {
			st->covered = true;
			return;
		}
	}
	check_host(st, start, sfd, sdir);
}

char *commit_conflict(int sfd, const char *sdir, const struct change *c,
		      const struct timespec *start, bool *unsafe)
{
	struct step st = {.c = c};

	check_host(&st, start, sfd, sdir);
	*unsafe = st.unsafe;
	return st.conflict;
}

static int journal_line(int fd, cJSON *o)
{
	cleanup_free char *text = cJSON_PrintUnformatted(o);
	cleanup_free char *line = xasprintf("%s\n", text);
	size_t len = strlen(line), off = 0;

	cJSON_Delete(o);
	while (off < len) {
		ssize_t w = write(fd, line + off, len - off);

		if (w < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		off += (size_t)w;
	}
	return fdatasync(fd) < 0 ? -errno : 0;
}

static int journal_mark(int fd, const char *op, long step)
{
	cJSON *o = cJSON_CreateObject();

	cJSON_AddStringToObject(o, "op", op);
	if (step >= 0)
		cJSON_AddNumberToObject(o, "step", (double)step);
	return journal_line(fd, o);
}

static char *temp_name(const struct session *s, size_t i)
{
	return xasprintf(".airlock-commit-%s-%zu", s->id, i);
}

/* Apply one step to the host. 0 or -errno. */
static int apply_step(const struct session *s, int sfd, const struct step *st, size_t i)
{
	const struct change *c = st->c;
	const char *name, *uname;
	cleanup_fd int pfd = -1, ufd = -1;
	cleanup_free char *tmp = NULL;
	struct stat hs;
	bool exists;
	int r;

	pfd = host_parent(c->path, &name);
	if (pfd < 0)
		return pfd;
	exists = fstatat(pfd, name, &hs, AT_SYMLINK_NOFOLLOW) == 0;
	if (c->kind == CHANGE_MODE_CHANGED) {
		if (!exists)
			return -ENOENT;
		if (S_ISLNK(hs.st_mode))
			return -ELOOP;
		return fchmodat(pfd, name, c->mode & 07777, AT_SYMLINK_NOFOLLOW) < 0 ? -errno : 0;
	}
	if (c->kind == CHANGE_DELETED)
		r = remove_at(pfd, name, 0);
	else if (S_ISDIR(c->mode)) {
		if (exists && is_addition(c) && !st->replace)
			return -EEXIST;
		if (exists && (r = remove_at(pfd, name, 0)) < 0)
			return r;
		r = mkdirat(pfd, name, 0700) < 0 ? -errno : 0;
		if (r == 0 && fchmodat(pfd, name, (c->mode & 07777) | 0700, 0) < 0)
			r = -errno;
	} else {
		ufd = upper_parent(sfd, s->dir, c->upper, &uname);
		if (ufd < 0)
			return ufd;
		tmp = temp_name(s, i);
		unlinkat(pfd, tmp, 0);
		r = copy_entry(ufd, uname, pfd, tmp, false, 0);
		/* rename cannot put a file over a directory: the tree goes first (backed up). */
		if (r == 0 && exists && S_ISDIR(hs.st_mode) && (!is_addition(c) || st->replace))
			r = remove_at(pfd, name, 0);
		if (r == 0 && is_addition(c) && !st->replace)
			r = renameat2(pfd, tmp, pfd, name, RENAME_NOREPLACE) < 0 ? -errno : 0;
		else if (r == 0)
			r = renameat(pfd, tmp, pfd, name) < 0 ? -errno : 0;
		if (r < 0)
			unlinkat(pfd, tmp, 0);
	}
	if (r == 0)
		fsync(pfd);
	return r;
}

/* Give each directory the commit created its mode and mtime, now that its content is in. */
static void fix_dirs(int sfd, const struct session *s, const struct step *steps, size_t n)
{
	size_t i = n;

	while (i-- > 0) {
		const struct change *c = steps[i].c;
		const char *name, *uname;
		cleanup_fd int pfd = -1, ufd = -1, dfd = -1;
		struct stat us;
		struct timespec ts[2];

		if (!creates_dir(c))
			continue;
		pfd = host_parent(c->path, &name);
		ufd = upper_parent(sfd, s->dir, c->upper, &uname);
		if (pfd < 0 || ufd < 0 || fstatat(ufd, uname, &us, AT_SYMLINK_NOFOLLOW) < 0)
			continue;
		dfd = openat(pfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (dfd < 0)
			continue;
		ts[0] = us.st_atim;
		ts[1] = us.st_mtim;
		if (fchmod(dfd, c->mode & 07777) < 0 || futimens(dfd, ts) < 0)
			warn("cannot set the mode and time of %s: %s", c->path, strerror(errno));
	}
}

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

/* What a journal says: its plan and how far it got. */
struct jstep {
	char *path;
	char *kind;
	enum backup_kind bk;
	mode_t old_mode;
	bool started, done, undone;
};

struct journal {
	struct jstep *steps;
	size_t n;
	bool ended_ok, undo_ended;
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
}

/* Read commit/journal.jsonl. 0, -ENOENT when there is none, or -errno/-EINVAL (printed). */
static int journal_read(const char *path, struct journal *j)
{
	cleanup_free char *text = NULL;
	char *line, *save = NULL;
	size_t len;

	memset(j, 0, sizeof(*j));
	text = read_file(path, 256u << 20, &len);
	if (!text)
		return errno == ENOENT ? -ENOENT : -errno;
	for (line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		cJSON *o = cJSON_Parse(line);
		const char *op = meta_str(o, "op");
		double step = meta_num(o, "step", -1);

		if (!op) {
			cJSON_Delete(o);
			continue; /* a line cut short by a crash */
		}
		if (strcmp(op, "plan") == 0 && step == (double)j->n && meta_str(o, "path")) {
			struct jstep *js;
			const char *bk = meta_str(o, "backup");

			j->steps = realloc(j->steps, (j->n + 1) * sizeof(*j->steps));
			if (!j->steps)
				abort();
			js = &j->steps[j->n++];
			memset(js, 0, sizeof(*js));
			js->path = xstrdup(meta_str(o, "path"));
			js->kind = xstrdup(meta_str(o, "kind") ?: "?");
			js->bk = bk && strcmp(bk, "tree") == 0	 ? BK_TREE
				 : bk && strcmp(bk, "mode") == 0 ? BK_MODE
								 : BK_NONE;
			js->old_mode = (mode_t)meta_num(o, "old_mode", 0);
		} else if (step >= 0 && step < (double)j->n) {
			struct jstep *js = &j->steps[(size_t)step];

			if (strcmp(op, "start") == 0)
				js->started = true;
			else if (strcmp(op, "done") == 0)
				js->done = true;
			else if (strcmp(op, "undone") == 0)
				js->undone = true;
		} else if (strcmp(op, "end") == 0) {
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

/* Put one step back: remove what it made, restore its backup. 0 or -errno. */
static int undo_step(const struct session *s, int bfd, const struct jstep *js, size_t i)
{
	const char *name;
	cleanup_fd int pfd = host_parent(js->path, &name);
	cleanup_free char *tmp = temp_name(s, i);
	cleanup_free char *bname = xasprintf("%zu", i);
	bool deleted = strcmp(js->kind, "deleted") == 0;
	int r = 0;

	if (pfd < 0)
		return pfd;
	unlinkat(pfd, tmp, 0);
	if (js->bk == BK_MODE)
		return fchmodat(pfd, name, js->old_mode & 07777, AT_SYMLINK_NOFOLLOW) < 0 ? -errno
											  : 0;
	/*
	 * What is at the path now is the commit's when the step finished, or the original (or
	 * part of it) when a backup exists; otherwise it may be the person's, and stays (an empty
	 * directory an unfinished step made goes).
	 */
	if (deleted ? !js->done : (js->done || js->bk == BK_TREE))
		r = remove_at(pfd, name, 0);
	else if (!js->done)
		unlinkat(pfd, name, AT_REMOVEDIR);
	if (r == 0 && js->bk == BK_TREE)
		r = copy_entry(bfd, bname, pfd, name, true, 0);
	if (r == 0)
		fsync(pfd);
	return r;
}

static int rollback(const struct session *s, struct event_log *log, bool *had)
{
	cleanup_free char *jpath = session_path(s, "commit/journal.jsonl");
	cleanup_free char *bpath = session_path(s, "commit/backup");
	cleanup_fd int jfd = -1, bfd = -1;
	struct journal j;
	size_t i;
	int r, rc = 0;

	*had = false;
	r = journal_read(jpath, &j);
	if (r == -ENOENT)
		return 0;
	if (r < 0) {
		errno = -r;
		return error_errno("cannot read %s", jpath);
	}
	if (j.undo_ended) {
		journal_free(&j);
		return 0;
	}
	*had = true;
	jfd = open(jpath, O_WRONLY | O_APPEND | O_CLOEXEC);
	bfd = open(bpath, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (jfd < 0 || bfd < 0) {
		rc = error_errno("cannot open %s", jfd < 0 ? jpath : bpath);
		goto out;
	}
	for (i = j.n; i-- > 0;) {
		struct jstep *js = &j.steps[i];
		cleanup_free char *shown = NULL;

		if (!js->started || js->undone)
			continue;
		if (log)
			events_append(log, commit_event("undo", js->kind, js->path, "apply"));
		r = undo_step(s, bfd, js, i);
		if (r < 0) {
			shown = term_sanitize(js->path);
			errno = -r;
			rc = error_errno(
				"undo stopped at step %zu (%s %s); fix it and run 'airlock "
				"undo' again",
				i + 1, js->kind, shown);
			goto out;
		}
		if (journal_mark(jfd, "undone", (long)i) < 0) {
			rc = error_errno("cannot write %s", jpath);
			goto out;
		}
	}
	{
		cJSON *o = cJSON_CreateObject();
		struct timespec now;

		/* The new baseline for conflicts: what undo restored is newer than the session. */
		clock_gettime(CLOCK_REALTIME, &now);
		cJSON_AddStringToObject(o, "op", "undo-end");
		cJSON_AddNumberToObject(o, "sec", (double)now.tv_sec);
		cJSON_AddNumberToObject(o, "nsec", (double)now.tv_nsec);
		if (journal_line(jfd, o) < 0)
			rc = error_errno("cannot write %s", jpath);
	}
out:
	journal_free(&j);
	return rc;
}

int commit_rollback(const struct session *s, bool *had_journal)
{
	return rollback(s, NULL, had_journal);
}

/*
 * Settle an earlier commit: roll back an unfinished one. 1 when a finished commit stands, 0 when
 * none does (*baseline then moves to the end of the last rollback, if later), -1 on error.
 */
static int settle_journal(const struct session *s, struct event_log *log, struct timespec *baseline)
{
	cleanup_free char *jpath = session_path(s, "commit/journal.jsonl");
	struct journal j;
	bool had;
	int r = journal_read(jpath, &j);

	if (r == -ENOENT)
		return 0;
	if (r < 0) {
		errno = -r;
		return error_errno("cannot read %s", jpath);
	}
	r = j.ended_ok && !j.undo_ended;
	if (!j.ended_ok && !j.undo_ended)
		printf("rolling back the unfinished commit of session %s first\n", s->id);
	journal_free(&j);
	if (r)
		return 1;
	if (rollback(s, log, &had) < 0 || journal_read(jpath, &j) < 0)
		return -1;
	if (j.undo_time.tv_sec > baseline->tv_sec ||
	    (j.undo_time.tv_sec == baseline->tv_sec && j.undo_time.tv_nsec > baseline->tv_nsec))
		*baseline = j.undo_time;
	journal_free(&j);
	return 0;
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
	if (j.undo_ended &&
	    (j.undo_time.tv_sec > start->tv_sec ||
	     (j.undo_time.tv_sec == start->tv_sec && j.undo_time.tv_nsec > start->tv_nsec)))
		*start = j.undo_time;
	journal_free(&j);
	return 0;
}

static void print_path(FILE *f, const char *path)
{
	cleanup_free char *shown = term_sanitize(path);

	fputs(shown, f);
}

struct commit_args {
	const char *id;
	char **paths;
	size_t npaths;
	bool all, force;
	bool exact; /* paths (sorted) name changes exactly, not what lies below them */
};

static int parse_commit_args(int argc, char **argv, struct commit_args *a)
{
	static const char usage[] = "airlock commit [ID] [--all | PATH...] [--force]";
	int i, npos = 0;
	bool dashdash = false;

	for (i = 1; i < argc; i++) {
		const char *arg = argv[i];

		if (!dashdash && strcmp(arg, "--") == 0) {
			dashdash = true;
		} else if (!dashdash && (strcmp(arg, "--help") == 0 || strcmp(arg, "-h") == 0)) {
			printf("usage: %s\n\nApply a session's changes to the host: --all, or the "
			       "changes at or below each PATH.\nA host path changed since the session "
			       "started is a conflict, refused unless --force.\n'airlock undo' puts "
			       "the host back.\n",
			       usage);
			return 0;
		} else if (!dashdash && strcmp(arg, "--all") == 0) {
			a->all = true;
		} else if (!dashdash && strcmp(arg, "--force") == 0) {
			a->force = true;
		} else if (!dashdash && arg[0] == '-' && arg[1]) {
			return usage_error("usage: %s", usage);
		} else if (!dashdash && npos++ == 0 && store_is_id_arg(arg)) {
			a->id = arg;
		} else {
			a->paths[a->npaths] = path_absolute(arg);
			if (!a->paths[a->npaths]) {
				error_errno("cannot resolve %s", arg);
				return EXIT_REFUSED;
			}
			a->npaths++;
		}
	}
	if (a->all && a->npaths > 0)
		return usage_error("usage: %s (--all or paths, not both)", usage);
	if (!a->all && a->npaths == 0)
		return usage_error("usage: %s\nname the paths to commit, or --all for every change "
				   "(or choose them in 'airlock review')",
				   usage);
	return -1;
}

/* Backups and the journal's plan, before the first host change. 0 or -1 (printed). */
static int prepare(struct step *steps, size_t n, int jfd, int bfd)
{
	size_t i;
	int r;

	for (i = 0; i < n; i++) {
		struct step *st = &steps[i];
		cJSON *o = cJSON_CreateObject();

		if (st->covered || !st->host_exists)
			st->bk = BK_NONE;
		else if (st->c->kind == CHANGE_MODE_CHANGED)
			st->bk = BK_MODE;
		else if (is_addition(st->c) && !st->replace)
			st->bk = BK_NONE;
		else
			st->bk = BK_TREE;
		cJSON_AddStringToObject(o, "op", "plan");
		cJSON_AddNumberToObject(o, "step", (double)i);
		cJSON_AddStringToObject(o, "path", st->c->path);
		cJSON_AddStringToObject(o, "kind", change_kind_name(st->c->kind));
		cJSON_AddStringToObject(o, "backup", bk_names[st->bk]);
		cJSON_AddNumberToObject(o, "old_mode", st->host_mode);
		if (journal_line(jfd, o) < 0)
			return error_errno("cannot write the commit journal");
	}
	for (i = 0; i < n; i++) {
		const char *name;
		cleanup_fd int pfd = -1;
		cleanup_free char *bname = NULL;

		if (steps[i].bk != BK_TREE)
			continue;
		pfd = host_parent(steps[i].c->path, &name);
		bname = xasprintf("%zu", i);
		r = pfd < 0 ? pfd : copy_entry(pfd, name, bfd, bname, true, 0);
		if (r < 0) {
			errno = -r;
			error_errno("cannot back up %s", steps[i].c->path);
			return -1;
		}
	}
	if (fsync(bfd) < 0 || journal_mark(jfd, "backed-up", -1) < 0)
		return error_errno("cannot write the commit backups");
	return 0;
}

/* The hidden path (from meta "hidden") at or above path, or NULL. */
static const char *hidden_above(const cJSON *meta, const char *path)
{
	const cJSON *h;

	cJSON_ArrayForEach(h, cJSON_GetObjectItemCaseSensitive(meta, "hidden"))
	{
		if (cJSON_IsString(h) && path_is_under(path, h->valuestring))
			return h->valuestring;
	}
	return NULL;
}

static int cmp_pathp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Whether change path is one a names; marks which in matched. */
static bool taken(const struct commit_args *a, const char *path, bool *matched)
{
	bool take = a->all;
	size_t j;

	if (a->exact) {
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

static int commit_session(const struct commit_args *a);

int cmd_commit(int argc, char **argv)
{
	struct commit_args a = {.paths = xcalloc((size_t)argc + 1, sizeof(char *))};
	int rc = parse_commit_args(argc, argv, &a);
	size_t i;

	if (rc < 0)
		rc = commit_session(&a);
	for (i = 0; i < a.npaths; i++)
		free(a.paths[i]);
	free(a.paths);
	return rc;
}

int commit_paths(const char *id, const char *const *paths, size_t n, bool force)
{
	struct commit_args a = {.id = id, .npaths = n, .force = force, .exact = true};
	int rc;

	a.paths = xcalloc(n + 1, sizeof(*a.paths));
	memcpy(a.paths, paths, n * sizeof(*paths));
	if (n)
		qsort(a.paths, n, sizeof(*a.paths), cmp_pathp);
	rc = commit_session(&a);
	free(a.paths);
	return rc;
}

static int commit_session(const struct commit_args *ap)
{
	struct commit_args a = *ap;
	bool *matched = xcalloc(a.npaths + 1, sizeof(bool));
	struct session s = {.lock_fd = -1};
	struct change_set cs = {0};
	struct event_log log = {.fd = -1};
	struct step *steps = NULL;
	struct timespec start;
	cleanup_free char *events = NULL, *cdir = NULL, *jpath = NULL, *bdir = NULL;
	cleanup_fd int jfd = -1, bfd = -1, sfd = -1;
	cJSON *meta = NULL, *rec, *list;
	size_t n = 0, cap = 0, i, j, nconf = 0, nunsafe = 0, failed = SIZE_MAX;
	int rc = EXIT_REFUSED, r;
	bool opened = false, log_open = false;

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
	events = session_path(&s, "events.jsonl");
	if (audit_open_log(&log, events, meta) < 0) /* it says what failed */
		goto out;
	log_open = true;
	r = settle_journal(&s, &log, &start);
	if (r < 0)
		goto out;
	if (r == 1) {
		error("session %s is already committed; 'airlock undo %s' first", s.id, s.id);
		goto out;
	}
	if (session_scan_changes(&s, meta, &cs) < 0) {
		error("cannot read the changes of session %s", s.id);
		goto out;
	}
	for (i = 0; i < cs.n; i++) {
		const char *hidden = hidden_above(meta, cs.items[i].path);

		if (!taken(&a, cs.items[i].path, matched))
			continue;
		/*
		 * The program never saw what a hidden path holds (~/.ssh): whatever it put there
		 * is never applied, or an empty directory would replace the host's keys.
		 */
		if (hidden) {
			fputs("airlock: ", stderr);
			print_path(stderr, cs.items[i].path);
			fputs(": hidden in the sandbox (", stderr);
			print_path(stderr, hidden);
			fputs("), never committed\n", stderr);
			continue;
		}
		GROW(steps, cap, n + 1);
		memset(&steps[n], 0, sizeof(steps[n]));
		steps[n++].c = &cs.items[i];
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
		printf("session %s has no changes to commit\n", s.id);
		rc = 0;
		goto out;
	}
	/* The conflict check comes first: nothing is touched until every path is looked at. */
	sfd = open(s.dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (sfd < 0) {
		error_errno("cannot open %s", s.dir);
		goto out;
	}
	for (i = 0; i < n; i++) {
		check_step(&steps[i], steps, i, &start, sfd, s.dir);
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
			audit_record_head(meta, &log);
			store_write_meta(&s, meta, true);
			fprintf(stderr, "airlock: nothing committed%s\n",
				nunsafe ? "" : "; --force applies the conflicting changes anyway");
			goto out;
		}
	}
	cdir = session_path(&s, "commit");
	jpath = session_path(&s, "commit/journal.jsonl");
	bdir = session_path(&s, "commit/backup");
	if (rm_rf(cdir) < 0 || mkdir(cdir, 0700) < 0 || mkdir(bdir, 0700) < 0) {
		error_errno("cannot prepare %s", cdir);
		goto out;
	}
	jfd = open(jpath, O_WRONLY | O_CREAT | O_EXCL | O_APPEND | O_CLOEXEC, 0600);
	bfd = open(bdir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (jfd < 0 || bfd < 0) {
		error_errno("cannot create %s", jfd < 0 ? jpath : bdir);
		goto out;
	}
	if (journal_mark(jfd, "begin", -1) < 0 || prepare(steps, n, jfd, bfd) < 0) {
		cJSON *o = cJSON_CreateObject();

		cJSON_AddStringToObject(o, "op", "end");
		cJSON_AddFalseToObject(o, "ok");
		journal_line(jfd, o);
		error("nothing committed");
		goto out;
	}
	if (!a.all) {
		for (i = 0, j = 0; i < cs.n; i++) {
			if (j < n && steps[j].c == &cs.items[i]) {
				j++;
				continue;
			}
			events_append(&log,
				      commit_event("commit", change_kind_name(cs.items[i].kind),
						   cs.items[i].path, "skip"));
		}
	}
	for (i = 0; i < n; i++) {
		cJSON *ev = commit_event("commit", change_kind_name(steps[i].c->kind),
					 steps[i].c->path, "apply");

		if (steps[i].conflict) {
			cJSON_AddTrueToObject(ev, "forced");
			cJSON_AddStringToObject(ev, "conflict", steps[i].conflict);
		}
		if (events_append(&log, ev) < 0 || journal_mark(jfd, "start", (long)i) < 0) {
			error_errno("cannot record step %zu", i + 1);
			failed = i;
			break;
		}
		r = apply_step(&s, sfd, &steps[i], i);
		if (r < 0) {
			fprintf(stderr, "airlock: step %zu of %zu failed (%s ", i + 1, n,
				change_kind_name(steps[i].c->kind));
			print_path(stderr, steps[i].c->path);
			fprintf(stderr, "): %s\n", strerror(-r));
			failed = i;
			break;
		}
		if (journal_mark(jfd, "done", (long)i) < 0) {
			error_errno("cannot write %s", jpath);
			failed = i;
			break;
		}
	}
	if (failed == SIZE_MAX) {
		cJSON *o = cJSON_CreateObject();

		fix_dirs(sfd, &s, steps, n);
		cJSON_AddStringToObject(o, "op", "end");
		cJSON_AddTrueToObject(o, "ok");
		if (journal_line(jfd, o) < 0)
			error_errno("cannot write %s", jpath);
	}
	rec = who_when();
	list = cJSON_AddArrayToObject(rec, "paths");
	for (i = 0; i < n && i < failed; i++) {
		cleanup_free char *clean = utf8_sanitize(steps[i].c->path);

		cJSON_AddItemToArray(list, cJSON_CreateString(clean));
	}
	cJSON_AddBoolToObject(rec, "forced", nconf > 0);
	if (failed != SIZE_MAX) {
		cleanup_free char *clean = utf8_sanitize(steps[failed].c->path);

		cJSON_AddStringToObject(rec, "failed", clean);
	}
	set_item(meta, "commit", rec);
	set_item(meta, "state",
		 cJSON_CreateString(failed == SIZE_MAX ? "committed" : "partially committed"));
	audit_record_head(meta, &log);
	if (store_write_meta(&s, meta, true) < 0)
		goto out;
	if (failed != SIZE_MAX) {
		fprintf(stderr,
			"airlock: session %s is partially committed (%zu of %zu steps); 'airlock undo "
			"%s' rolls it back\n",
			s.id, failed, n, s.id);
		goto out;
	}
	printf("committed %zu change%s of session %s%s ('airlock undo %s' takes them back)\n", n,
	       n == 1 ? "" : "s", s.id, nconf ? " (conflicts forced)" : "", s.id);
	rc = 0;
out:
	for (i = 0; i < n; i++)
		free(steps[i].conflict);
	free(steps);
	free(matched);
	if (log_open)
		events_close(&log);
	change_set_free(&cs);
	cJSON_Delete(meta);
	if (opened)
		store_close(&s);
	return rc;
}

int cmd_undo(int argc, char **argv)
{
	static const char usage[] = "airlock undo [ID]";
	const char *id;
	struct session s;
	struct event_log log;
	cleanup_free char *events = NULL;
	cJSON *meta;
	bool had = false;
	int rc = parse_id_args(argc, argv, usage, &id, NULL);

	if (rc >= 0)
		return rc;
	rc = EXIT_REFUSED;
	if (store_open(id, true, &s) < 0)
		return EXIT_REFUSED;
	meta = store_read_meta(&s);
	if (!meta)
		goto out_close;
	events = session_path(&s, "events.jsonl");
	if (audit_open_log(&log, events, meta) < 0) /* it says what failed */
		goto out_meta;
	if (rollback(&s, &log, &had) < 0) {
		set_item(meta, "state", cJSON_CreateString("partially committed"));
		audit_record_head(meta, &log);
		store_write_meta(&s, meta, true);
		goto out_log;
	}
	if (!had) {
		error("session %s has no commit to undo", s.id);
		goto out_log;
	}
	set_item(meta, "undo", who_when());
	set_item(meta, "state", cJSON_CreateString("undone"));
	audit_record_head(meta, &log);
	if (store_write_meta(&s, meta, true) < 0)
		goto out_log;
	printf("undid the commit of session %s\n", s.id);
	rc = 0;
out_log:
	events_close(&log);
out_meta:
	cJSON_Delete(meta);
out_close:
	store_close(&s);
	return rc;
}
