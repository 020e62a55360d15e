/* SPDX-License-Identifier: MIT */
/* rules_file_trusted(): refuse a rules file that anyone but the user or root could change. */
#include "rules/rules.h"

#include "common/buf.h"
#include "common/cleanup.h"
#include "common/path.h"

#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* As the kernel's limit on symlinks followed in one lookup. */
#define MAX_LINKS 40

static int refuse(struct rules_error *err, int rc, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static int refuse(struct rules_error *err, int rc, const char *fmt, ...)
{
	va_list ap;

	if (err) {
		va_start(ap, fmt);
		vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
		va_end(ap);
		err->line = 0;
	}
	return rc;
}

/*
 * Group or other write permission. With a POSIX ACL the group bits are the ACL mask, so a
 * named user or group granted write shows here too.
 */
static bool others_can_write(const struct stat *st)
{
	return (st->st_mode & (S_IWGRP | S_IWOTH)) != 0;
}

static bool owner_ok(const struct stat *st, uid_t uid)
{
	return st->st_uid == uid || st->st_uid == 0;
}

/*
 * A directory in which a name of the path is looked up. Root's sticky directories (/tmp)
 * pass although others can write them: nobody else may rename or remove our entries there,
 * and an entry someone else planted is owned by them, which the file check refuses.
 */
static int check_dir(const char *path, const char *dir, uid_t uid, struct rules_error *err)
{
	struct stat st;

	if (stat(dir, &st) < 0)
		return refuse(err, -errno, "%s: %s: %s", path, dir, strerror(errno));
	if (!S_ISDIR(st.st_mode))
		return refuse(err, -ENOTDIR, "%s: %s: %s", path, dir, strerror(ENOTDIR));
	if (!owner_ok(&st, uid))
		return refuse(err, -EPERM,
			      "%s: directory %s is owned by uid %u, neither you nor root", path,
			      dir, (unsigned int)st.st_uid);
	if (others_can_write(&st) && !(st.st_uid == 0 && (st.st_mode & S_ISVTX)))
		return refuse(err, -EPERM, "%s: directory %s is writable by group or others", path,
			      dir);
	return 0;
}

static int check_file(const char *path, const struct stat *st, uid_t uid, struct rules_error *err)
{
	if (!S_ISREG(st->st_mode))
		return refuse(err, -EPERM, "%s: not a regular file", path);
	if (!owner_ok(st, uid))
		return refuse(err, -EPERM, "%s: owned by uid %u, neither you nor root", path,
			      (unsigned int)st->st_uid);
	if (others_can_write(st))
		return refuse(err, -EPERM, "%s: writable by group or others", path);
	return 0;
}

/* Split the first component off *todo: returns it (NUL-terminated in place), or NULL at the end. */
static char *next_component(char **todo)
{
	char *c = *todo, *end;

	while (*c == '/')
		c++;
	if (*c == '\0')
		return NULL;
	end = c + strcspn(c, "/");
	*todo = *end ? end + 1 : end;
	*end = '\0';
	return c;
}

static bool only_slashes(const char *s)
{
	return s[strspn(s, "/")] == '\0';
}

/* The parent of an absolute, symlink-free path (itself for "/"). Caller frees. */
static char *parent_dir(const char *dir)
{
	const char *slash = strrchr(dir, '/');

	return slash == dir ? xstrdup("/") : xstrndup(dir, (size_t)(slash - dir));
}

/*
 * Resolve the path one component at a time, as the kernel does, so that every directory the
 * lookup passes through is checked, including those a symlink leads through.
 */
int rules_file_trusted(const char *path, uid_t uid, struct rules_error *err)
{
	cleanup_free char *cur = xstrdup("/"), *todo_buf = NULL;
	char *todo, *name;
	int links = 0, rc;

	if (path[0] == '/') {
		todo_buf = xstrdup(path);
	} else {
		char cwd[PATH_MAX];

		if (!getcwd(cwd, sizeof(cwd)))
			return refuse(err, -errno, "%s: cannot get the current directory: %s", path,
				      strerror(errno));
		todo_buf = path_join(cwd, path);
	}
	todo = todo_buf;
	rc = check_dir(path, "/", uid, err);
	while (rc == 0 && (name = next_component(&todo))) {
		cleanup_free char *next = NULL;
		struct stat st;

		if (strcmp(name, ".") == 0)
			continue;
		if (strcmp(name, "..") == 0) {
			char *up = parent_dir(cur);

			free(cur);
			cur = up;
			continue;
		}
		next = path_join(cur, name);
		if (lstat(next, &st) < 0)
			return refuse(err, -errno, "%s: %s: %s", path, next, strerror(errno));
		if (S_ISLNK(st.st_mode)) {
			char target[PATH_MAX];
			ssize_t n;
			char *rest;

			if (++links > MAX_LINKS)
				return refuse(err, -ELOOP, "%s: %s", path, strerror(ELOOP));
			n = readlink(next, target, sizeof(target) - 1);
			if (n < 0)
				return refuse(err, -errno, "%s: %s: %s", path, next,
					      strerror(errno));
			target[n] = '\0';
			/* The link's target replaces its name; what followed it still follows. */
			rest = xasprintf("%s/%s", target, todo);
			free(todo_buf);
			todo = todo_buf = rest;
			if (target[0] == '/') {
				free(cur);
				cur = xstrdup("/");
			}
			continue;
		}
		if (only_slashes(todo))
			return check_file(path, &st, uid, err);
		rc = check_dir(path, next, uid, err);
		free(cur);
		cur = steal_pointer(&next);
	}
	if (rc == 0)
		rc = refuse(err, -EPERM, "%s: not a regular file", path);
	return rc;
}
