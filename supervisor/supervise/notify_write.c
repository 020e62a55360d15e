/* SPDX-License-Identifier: MIT */
/* The notifier's file changes: write rules, the path the kernel will use, disk room, IDs. */
#include "supervisor/supervise/notify_int.h"

static int rank(const struct rule *r)
{
	if (!r)
		return 0;
	return r->action == RULE_DENY ? 2 : r->action == RULE_ASK ? 1 : 0;
}

/*
 * A write's verdict from the write rules. The overlay bounds where a write lands whatever the
 * memory says by the time the kernel reads it, so CONTINUE is safe: a deny rule refuses the
 * call now (EACCES); ask and allow let it land and tell the review how to start the change
 * (held for an explicit decision, or approved). Both paths of a rename or link need write
 * authority (sandlock #194), and each path counts as named and as the kernel will resolve it
 * in the sandbox (a symlink into a denied directory): the strictest rule of them decides.
 * Paths the record could not resolve to an absolute path (an anonymous descriptor) match no
 * rule.
 */
static struct verdict decide_write(const struct notifier *n, const char *const paths[4])
{
	const struct rule *r = NULL, *ri;
	struct verdict v;
	int i;

	if (!n->rules)
		return ALLOW;
	for (i = 0; i < 4; i++) {
		if (!paths[i] || paths[i][0] != '/')
			continue;
		ri = rules_match_write(n->rules, paths[i]);
		if (!r || rank(ri) > rank(r))
			r = ri;
	}
	v = rule_verdict(r, EACCES);
	if (r && r->action == RULE_ASK)
		v.decision = "ask";
	return v;
}

/*
 * fallocate() takes blocks without writing them; with FALLOC_FL_KEEP_SIZE it does so past the
 * end of the file, where RLIMIT_FSIZE does not look. Each call is held to the room left above
 * the store's reserve. The decision rests on the call's registers alone, which the program
 * cannot change once the call is made, so letting the kernel run it is safe. A hole punched
 * frees blocks and is not held.
 */
static struct verdict decide_space(const struct notifier *n)
{
	const struct seccomp_data *d = &n->req->data;
	unsigned mode = (unsigned)d->args[1];
	unsigned long long room;

	if (mode & FALLOC_FL_PUNCH_HOLE)
		return ALLOW;
	if (!n->space)
		return ALLOW;
	if (monitor_disk_room(n->space, &room) < 0)
		return deny_by(EIO, "airlock");
	if (d->args[3] > room)
		return deny_by(ENOSPC, "disk reserve");
	return ALLOW;
}

/* Whether the call acts on what a final symlink in path idx points to (open follows it unless
   O_NOFOLLOW or O_CREAT|O_EXCL; the l* and *at calls as their flags say). */
static bool follows_final(const struct sys_desc *sd, const struct seccomp_data *d, int idx)
{
	unsigned flags;

	switch (sd->nr) {
	case SYS_open:
	case SYS_openat:
		flags = (unsigned)d->args[sd->arg.flags];
		return !(flags & O_NOFOLLOW) && (flags & (O_CREAT | O_EXCL)) != (O_CREAT | O_EXCL);
	case SYS_creat:
	case SYS_truncate:
	case SYS_chmod:
	case SYS_fchmodat:
	case SYS_chown:
	case SYS_utime:
	case SYS_utimes:
	case SYS_futimesat:
	case SYS_setxattr:
	case SYS_removexattr:
		return true;
	case SYS_fchmodat2:
	case SYS_utimensat:
		return !((unsigned)d->args[3] & AT_SYMLINK_NOFOLLOW);
	case SYS_fchownat:
		return !((unsigned)d->args[4] & AT_SYMLINK_NOFOLLOW);
	case SYS_setxattrat:
	case SYS_removexattrat:
		return !((unsigned)d->args[2] & AT_SYMLINK_NOFOLLOW);
	case SYS_linkat:
		return idx == 0 && ((unsigned)d->args[4] & AT_SYMLINK_FOLLOW);
	default:
		return false;
	}
}

/*
 * named (absolute, as named: a ".." after a symlink leaves where the symlink leads, as the
 * kernel walks it) as the kernel will find it in pid's view: every symlink resolved, the last
 * one too when the call follows it, else only the parent directory's. NULL when the same as
 * path (named, normalised), or when it cannot be resolved (then the kernel's lookup fails as
 * well, or the named path decides alone: *failed is then set).
 */
static char *resolve_write(pid_t pid, char *named, const char *path, bool follow, bool *failed)
{
	size_t len = named ? strlen(named) : 0;
	char *real;

	if (!path || !named || named[0] != '/')
		return NULL;
	/* "dir/": the entry dir itself (mkdir, rmdir, rename), in its parent. */
	while (len > 1 && named[len - 1] == '/')
		named[--len] = '\0';
	real = sb_resolve_name(pid, named, follow);
	*failed = !real;
	if (real && strcmp(real, path) == 0) {
		free(real);
		return NULL;
	}
	return real;
}

/* The next component of *rest (moved past it) into comp; false at the end or when too long. */
static bool next_comp(const char **rest, char *comp, size_t sz)
{
	const char *p = *rest, *end;

	while (*p == '/')
		p++;
	end = strchrnul(p, '/');
	if (end == p || (size_t)(end - p) >= sz)
		return false;
	memcpy(comp, p, (size_t)(end - p));
	comp[end - p] = '\0';
	*rest = end;
	return true;
}

/* A component that is all digits, as a number; -1 otherwise. */
static long number(const char *comp)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(comp, &end, 10);
	return comp[0] >= '0' && comp[0] <= '9' && !*end && !errno ? v : -1;
}

/* The entries of /proc/<pid>/ that are magic links, or lead to some (fd/N, task/T/cwd). */
static bool is_magic(const char *comp)
{
	static const char *const magic[] = {"cwd", "root", "fd", "exe", "map_files", "task"};

	for (size_t i = 0; i < ARRAY_SIZE(magic); i++)
		if (strcmp(comp, magic[i]) == 0)
			return true;
	return false;
}

/* Whether the component after rest is one (a path in another process's /proc directory). */
static bool magic_next(const char *rest)
{
	char comp[32];

	return next_comp(&rest, comp, sizeof(comp)) && is_magic(comp);
}

/* The last number on the line of /proc/TID/status that starts with key: the ID in the
   innermost pid namespace (the sandbox's), or the only one. -1 when absent. */
static long status_id(const char *status, const char *key)
{
	const char *line = strstr(status, key), *end;
	long id = -1;

	if (!line)
		return -1;
	line += strlen(key);
	end = strchrnul(line, '\n');
	for (; line < end; line++)
		if (line[-1] == '\t' || line[-1] == ' ' || line[-1] == ':')
			if (*line >= '0' && *line <= '9')
				id = strtol(line, NULL, 10);
	return id;
}

/*
 * The /proc directory (in the supervisor's view) of the task that /proc/<who>[/task/<t>]
 * names in the sandbox's /proc, for the caller tid: "self", its own process or thread IDs.
 * The supervisor cannot map another process's number: -1, and the caller fails closed.
 * *rest is moved past what was used.
 */
static int proc_task_dir(pid_t tid, const char **rest, char *dir, size_t sz)
{
	char comp[32], status[2048];
	long who, t, tgid, nstgid;

	if (proc_read(tid, "status", status, sizeof(status)) < 0)
		return -1;
	tgid = status_id(status, "\nTgid:");
	if (!next_comp(rest, comp, sizeof(comp)))
		return -1;
	if (strcmp(comp, "thread-self") == 0) {
		snprintf(dir, sz, "/proc/%d", (int)tid);
		return 0;
	}
	nstgid = status_id(status, "\nNStgid:");
	who = strcmp(comp, "self") == 0 ? nstgid : number(comp);
	if (who <= 0 || who != nstgid || tgid <= 0)
		return -1;
	snprintf(dir, sz, "/proc/%ld", tgid);
	if (strncmp(*rest, "/task/", 6) != 0)
		return 0;
	*rest += 5;
	if (!next_comp(rest, comp, sizeof(comp)))
		return -1;
	t = number(comp);
	if (t <= 0 || t != status_id(status, "\nNSpid:"))
		return -1;
	snprintf(dir, sz, "/proc/%d", (int)tid);
	return 0;
}

static bool is_dotdot(const char *comp)
{
	return strcmp(comp, "..") == 0;
}

/*
 * Whether a component of path is one that test() picks. A ".." after a link of /proc (self,
 * net, a magic link) leaves where the link leads, which a lexical reading gets wrong: with a
 * magic link on the way, proc_link() refuses such a name.
 */
static bool has_component(const char *path, bool (*test)(const char *))
{
	char comp[NAME_MAX + 1];
	const char *rest = path;

	while (next_comp(&rest, comp, sizeof(comp)))
		if (test(comp))
			return true;
	return false;
}

/* name without its empty and "." components (its ".." kept: they are the kernel's). */
static char *collapse(const char *name)
{
	char comp[NAME_MAX + 1];
	const char *rest = name;
	struct buf b = BUF_INIT;

	buf_init(&b);
	while (next_comp(&rest, comp, sizeof(comp)))
		if (strcmp(comp, ".") != 0) {
			buf_addc(&b, '/');
			buf_adds(&b, comp);
		}
	if (b.len == 0)
		buf_addc(&b, '/');
	return buf_detach(&b);
}

/*
 * path (absolute, "." and "//" collapsed) under /proc/<who>/ through a magic link (cwd, root,
 * fd/N): the kernel jumps to the file the link stands for, as reading it shows; no lookup of the
 * supervisor's follows it (its /proc/self is not the caller's), so a reopen of a read-only
 * descriptor for writing ("/proc/self/fd/3", "/dev/fd/3") or a path under the caller's cwd
 * ("/proc/self/cwd/x") would pass as a name in /proc. 1 and *out = the file's path and the
 * rest; 0 when path is no such path (or the link is a pipe's or a socket's, no file's); -1
 * when it is one the supervisor cannot follow.
 */
static int proc_link(pid_t tid, const char *path, char **out)
{
	char dir[64], comp[32], link[128], target[MAX_PATH_BYTES];
	const char *rest;
	ssize_t n;

	*out = NULL;
	if (!path || strncmp(path, "/proc/", 6) != 0)
		return 0;
	rest = path + 5;
	if (has_component(path, is_dotdot))
		return has_component(path, is_magic) ? -1 : 0;
	if (proc_task_dir(tid, &rest, dir, sizeof(dir)) < 0)
		return magic_next(rest) ? -1 : 0;
	if (!next_comp(&rest, comp, sizeof(comp)) || !is_magic(comp))
		return 0;
	if (strcmp(comp, "cwd") == 0 || strcmp(comp, "root") == 0)
		snprintf(link, sizeof(link), "%s/%s", dir, comp);
	else if (strcmp(comp, "fd") == 0 && next_comp(&rest, comp, sizeof(comp)))
		snprintf(link, sizeof(link), "%s/fd/%s", dir, comp);
	else if (strcmp(comp, "fd") == 0)
		return 0; /* the fd directory itself */
	else
		return -1; /* exe, map_files/..., task/...: not followed here */
	n = readlink(link, target, sizeof(target) - 1);
	if (n <= 0)
		return -1;
	target[n] = '\0';
	if (target[0] != '/')
		return 0;
	*out = path_join(target, rest[0] == '/' ? rest + 1 : rest);
	return 1;
}

/*
 * Where name (absolute) leads when the supervisor's lookup stops short of it: its symlinks
 * followed as far as they go, or, where a readlink of the supervisor's fails (a /proc/self on
 * the way: its own, not the caller's), the name itself under /proc, or the /proc path that
 * /dev's fixed aliases stand for (airlock's /dev is read-only). NULL when none: the caller
 * fails closed.
 */
static char *resolve_fallback(pid_t pid, const char *name)
{
	static const char *const aliases[][2] = {{"/dev/stdin", "/proc/self/fd/0"},
						 {"/dev/stdout", "/proc/self/fd/1"},
						 {"/dev/stderr", "/proc/self/fd/2"}};
	cleanup_free char *named = NULL;
	char *real = sb_realpath(pid, name);

	if (real)
		return real;
	/* The name's own ".." stay: proc_link() reads them. */
	named = collapse(name);
	if (strncmp(named, "/proc/", 6) == 0)
		return xstrdup(named);
	if (strcmp(named, "/dev/fd") == 0 || strncmp(named, "/dev/fd/", 8) == 0)
		return xasprintf("/proc/self/fd%s", named + 7);
	for (size_t i = 0; i < ARRAY_SIZE(aliases); i++)
		if (strcmp(named, aliases[i][0]) == 0)
			return xstrdup(aliases[i][1]);
	return NULL;
}

/*
 * resolve_write(), then on through the /proc magic links where it leads: 0 and *out (NULL:
 * the named path decides alone), or -EACCES when the write goes where the supervisor cannot
 * follow: a write rule must not be decided on a name the kernel does not write.
 */
static int resolve_write_links(pid_t pid, char *named, const char *path, bool follow, char **out)
{
	bool failed = false;
	char *real = resolve_write(pid, named, path, follow, &failed), *next;
	int i, rc = 0;

	if (failed)
		real = resolve_fallback(pid, named);
	for (i = 0; i < 8 && (real || !failed); i++) {
		rc = proc_link(pid, real ? real : path, &next);
		if (rc <= 0)
			break;
		free(real);
		real = sb_resolve_name(pid, next, follow);
		if (!real)
			real = resolve_fallback(pid, next);
		free(next);
		if (!real) {
			rc = -1; /* where the link leads cannot be followed further */
			break;
		}
	}
	if (rc < 0 || i == 8 || (failed && !real)) {
		free(real);
		*out = NULL;
		return -EACCES;
	}
	*out = real;
	return 0;
}

/*
 * Whether a hard link's source (absolute, as named) is a file that came from the host.
 * overlayfs links the copied-up file, but without its inode index (which needs trusted
 * xattrs, out of reach in a user namespace) the new name reports another inode number than
 * the old one, so a tool that checks its link gets a different file: git's local clone dies
 * with "hardlink different from source". Such a link is refused with EXDEV, as a link across
 * filesystems is, and git, cp and package managers copy instead. The overlay's lower layer
 * is the host itself at the same path, so "came from the host" is: the path the sandbox
 * resolves it to exists on the host as a non-directory.
 */
static bool links_host_file(pid_t pid, const char *src, bool follow)
{
	cleanup_free char *real = NULL;
	struct stat st;

	if (!src || src[0] != '/')
		return false;
	real = sb_canonical(pid, src, follow);
	return real && lstat(real, &st) == 0 && !S_ISDIR(st.st_mode);
}

/*
 * Whether a rename's source (absolute, as named) is a directory that came from the host,
 * which the overlay cannot move (dirmove.h). As for links, the lower layer is the host
 * itself at the same path. A hint that costs a lookup: the helper's own rename decides.
 */
static bool renames_host_dir(pid_t pid, const char *src)
{
	cleanup_free char *real = NULL;
	struct stat st;

	if (!src || src[0] != '/')
		return false;
	real = sb_canonical(pid, src, false);
	return real && lstat(real, &st) == 0 && S_ISDIR(st.st_mode);
}

/* Whether process pid has one thread (in its /proc/PID/status). */
static bool single_threaded(pid_t pid)
{
	char buf[4096];
	const char *p;

	if (proc_read(pid, "status", buf, sizeof(buf)) < 0)
		return false;
	p = strstr(buf, "\nThreads:");
	return p && strtol(p + 9, NULL, 10) == 1;
}

/*
 * A rename (v lets it land) whose source is a directory from the host: the overlay would
 * refuse it with EXDEV, so the supervisor makes it itself (dirmove.h), with the sandbox
 * frozen so that no process sees the tree half-copied or changes it meanwhile. The event
 * says what was done ("dirmove") and is recorded before any process of the sandbox runs
 * again; the host changes only at commit, as for every write. Whatever keeps the helper
 * from starting lets the kernel answer, as without it (EXDEV).
 */
static int rename_host_dir(struct notifier *n, const struct sys_desc *sd, cJSON *ev,
			   struct verdict v, const char *oldpath, const char *newpath)
{
	const struct seccomp_data *d = &n->req->data;
	pid_t pid = (pid_t)n->req->pid;
	unsigned flags = sd->nr == SYS_renameat2 ? (unsigned)d->args[4] : 0;
	int olddirfd = sd->arg.dirfd >= 0 ? (int)(unsigned)d->args[sd->arg.dirfd] : AT_FDCWD;
	int newdirfd = sd->arg.dirfd2 >= 0 ? (int)(unsigned)d->args[sd->arg.dirfd2] : AT_FDCWD;
	unsigned long long room = ~0ULL;
	struct dirmove_result res;
	struct dirmove *m;
	struct verdict w = v;
	struct freeze fz;
	cJSON *dm;
	int rc;

	/* RENAME_EXCHANGE and RENAME_WHITEOUT: the kernel's answer (EXDEV, EINVAL). */
	if (n->freeze_cancels || n->log_broken || (flags & ~(unsigned)RENAME_NOREPLACE))
		return answer(n, ev, v);
	m = dirmove_open(pid, olddirfd, oldpath, newdirfd, newpath, flags);
	if (!m)
		return answer(n, ev, v);
	if (freeze_sandbox_but(&fz, n->init_pid, single_threaded(pid) ? pid : 0) < 0) {
		dirmove_free(m);
		return answer(n, ev, v);
	}
	/* Still the caller's pid, and the call still waits: a kernel before 5.19 lets the
	   freeze's SIGSTOP abort a received call, which is made again after the thaw; from
	   then on such renames are left to the kernel. */
	if (!id_valid(n)) {
		n->freeze_cancels = true;
		thaw_sandbox(&fz);
		dirmove_free(m);
		cJSON_Delete(ev);
		return 0;
	}
	if (n->space && monitor_disk_room(n->space, &room) < 0)
		room = 0;
	rc = dirmove_perform(m, room, &res);
	dirmove_free(m);
	if (rc == 0) {
		rc = answer(n, ev, v);
		thaw_sandbox(&fz);
		return rc;
	}
	if (rc < 0) {
		res.err = EIO;
		res.copied = false;
		snprintf(res.note, sizeof(res.note), "the helper that copies the tree failed");
	}
	dm = cJSON_AddObjectToObject(ev, "dirmove");
	cJSON_AddBoolToObject(dm, "copied", res.copied);
	cJSON_AddNumberToObject(dm, "entries", (double)res.entries);
	cJSON_AddNumberToObject(dm, "bytes", (double)res.bytes);
	if (res.note[0])
		cJSON_AddItemToObject(dm, "note", json_text(res.note));
	w.cont = false;
	w.err = res.err;
	w.val = 0;
	if (res.err == 0)
		w.result = res.copied ? "renamed by airlock" : "renamed";
	rc = answer(n, ev, w);
	thaw_sandbox(&fz);
	return rc;
}

static bool is_rename(const struct sys_desc *sd)
{
	return sd->nr == SYS_rename || sd->nr == SYS_renameat || sd->nr == SYS_renameat2;
}

/* Whether the call makes the entry at its path idx (what the host refuses with EEXIST when the
   entry is there already). An open is not: it makes one only when none is there. */
static bool makes_entry(const struct sys_desc *sd, int idx)
{
	switch (sd->nr) {
	case SYS_mkdir:
	case SYS_mkdirat:
	case SYS_mknod:
	case SYS_mknodat:
	case SYS_symlink:
	case SYS_symlinkat:
		return true;
	case SYS_link:
	case SYS_linkat:
		return idx == 1;
	default:
		return false;
	}
}

/* Whether the call removes the entry at its path idx (unlink, rmdir, a rename's source). */
static bool removes_entry(const struct sys_desc *sd, int idx)
{
	switch (sd->nr) {
	case SYS_unlink:
	case SYS_unlinkat:
	case SYS_rmdir:
		return true;
	default:
		return is_rename(sd) && idx == 0;
	}
}

/* Whether the call's path idx names an entry it creates, removes or renames in its parent. */
static bool changes_entry(const struct sys_desc *sd, int idx)
{
	return makes_entry(sd, idx) || removes_entry(sd, idx) || is_rename(sd);
}

/* Whether the call is an open or creat; its open flags in *flags. */
static bool open_flags(const struct sys_desc *sd, const struct seccomp_data *d, unsigned *flags)
{
	*flags = 0;
	if (sd->nr == SYS_creat)
		*flags = O_CREAT | O_WRONLY | O_TRUNC;
	else if (sd->nr == SYS_open || sd->nr == SYS_openat)
		*flags = (unsigned)d->args[sd->arg.flags];
	else
		return false;
	return true;
}

/*
 * The host's answer to a call that makes, removes or renames the entry path in a read-only
 * view, in the kernel's order: a missing or non-directory parent fails the lookup inside as on
 * the host (0), then an entry already there is EEXIST for a call that makes one and a missing
 * one ENOENT for a call that removes one, and only then does the parent's write permission
 * count (EACCES).
 */
static int entry_refusal(const struct sys_desc *sd, int idx, const char *path, bool exists)
{
	cleanup_free char *parent = xstrdup(path);
	char *slash = strrchr(parent, '/');
	struct stat st;

	if (slash == parent)
		slash[1] = '\0'; /* the parent is the root */
	else
		*slash = '\0';
	if (stat(parent, &st) < 0 || !S_ISDIR(st.st_mode))
		return 0;
	if (exists && makes_entry(sd, idx))
		return EEXIST;
	if (!exists && removes_entry(sd, idx))
		return ENOENT;
	if (faccessat(AT_FDCWD, parent, W_OK | X_OK, AT_EACCESS) < 0 && errno == EACCES)
		return EACCES;
	return 0;
}

/* The host's answer to a change of the existing file path (st) itself: its mode, owner,
   times, attributes or contents. */
static int content_refusal(const struct sys_desc *sd, const struct stat *st, const char *path,
			   bool is_open)
{
	if (sd->nr == SYS_chmod || sd->nr == SYS_fchmodat || sd->nr == SYS_fchmodat2 ||
	    sd->nr == SYS_chown || sd->nr == SYS_lchown || sd->nr == SYS_fchownat ||
	    sd->nr == SYS_fchmod || sd->nr == SYS_fchown)
		return st->st_uid == geteuid() ? 0 : EPERM;
	/* Opened for writing or truncated, a directory is EISDIR before any permission check. */
	if (S_ISDIR(st->st_mode) && (is_open || sd->nr == SYS_truncate))
		return EISDIR;
	/* Never through a symlink: its target may be outside the view, even hidden. */
	if (faccessat(AT_FDCWD, path, W_OK, AT_EACCESS | AT_SYMLINK_NOFOLLOW) < 0 &&
	    errno == EACCES)
		return EACCES;
	return 0;
}

/*
 * A change inside a read-only view of a host directory the caller cannot change
 * (tracee/plan.h, PLAN_LOWER) fails there with EROFS, where the host checks the caller's
 * permissions first and says EACCES or EPERM, or before that EEXIST, ENOENT or EISDIR: the
 * host's answer, as a program that handles PermissionError or FileExistsError expects, or 0
 * when the host would let the call through to its own EROFS or to success (then the view's
 * EROFS stands), or when the lookup fails inside as on the host. path is absolute, as the
 * sandbox resolves it, which is the host's own path inside a view.
 */
static int view_refusal(const struct notifier *n, const struct sys_desc *sd, const char *path,
			int idx)
{
	const struct plan_item *best = NULL;
	unsigned oflags;
	bool is_open = open_flags(sd, &n->req->data, &oflags), exists;
	struct stat st;

	/* Without a view (as root, say) no call is refused here: skip the walk of the plan. */
	if (!n->plan || !n->plan_views || !path || path[0] != '/')
		return 0;
	for (size_t i = 0; i < n->plan->n; i++) {
		const struct plan_item *it = &n->plan->items[i];

		if ((it->kind == PLAN_OVERLAY || it->kind == PLAN_SCRATCH ||
		     it->kind == PLAN_LOWER || it->kind == PLAN_READONLY) &&
		    !it->hidden && path_is_under(path, it->path) &&
		    (!best || strlen(it->path) >= strlen(best->path)))
			best = it;
	}
	if (!best || best->kind != PLAN_LOWER)
		return 0;
	exists = lstat(path, &st) == 0;
	if (!exists && errno != ENOENT)
		return 0; /* ENOTDIR, ELOOP, ...: the lookup fails inside as on the host */
	if (changes_entry(sd, idx) || (!exists && (oflags & O_CREAT)))
		return entry_refusal(sd, idx, path, exists);
	if (!exists)
		return 0; /* the lookup's ENOENT, inside as on the host */
	if ((oflags & (O_CREAT | O_EXCL)) == (O_CREAT | O_EXCL))
		return EEXIST;
	return content_refusal(sd, &st, path, is_open);
}

int handle_write(struct notifier *n, const struct sys_desc *sd)
{
	const struct seccomp_data *d = &n->req->data;
	pid_t pid = (pid_t)n->req->pid;
	cleanup_free char *target = NULL, *target2 = NULL, *real = NULL, *real2 = NULL;
	cleanup_free char *named = NULL, *named2 = NULL;
	char link[MAX_PATH_BYTES], raw[MAX_PATH_BYTES], raw2[MAX_PATH_BYTES];
	bool host_link = false, host_dir = false;
	struct verdict v;
	cJSON *ev;
	int rc = 0;

	link[0] = '\0';
	if (sd->arg.fd >= 0) {
		target = dir_of(pid, (int)(unsigned)d->args[sd->arg.fd]);
		if (!target)
			rc = -EBADF;
	} else {
		rc = copy_path_raw(n->procs, pid, d, sd->arg.dirfd, sd->arg.path, raw, &named,
				   &target);
	}
	if (rc == 0 && sd->arg.path2 >= 0)
		rc = copy_path_raw(n->procs, pid, d, sd->arg.dirfd2, sd->arg.path2, raw2, &named2,
				   &target2);
	if (rc == 0 && sd->arg.str >= 0)
		rc = mem_read_string(pid, d->args[sd->arg.str], link, sizeof(link));
	/* A descriptor's path is already the file's own; a named path may pass through links. */
	if (rc == 0 && n->rules && sd->arg.fd < 0) {
		rc = resolve_write_links(pid, named, target, follows_final(sd, d, 0), &real);
		if (rc == 0)
			rc = resolve_write_links(pid, named2, target2, false, &real2);
	}
	if (rc == 0 && (sd->nr == SYS_link || sd->nr == SYS_linkat))
		host_link = links_host_file(pid, target, follows_final(sd, d, 0));
	if (rc == 0 && raw[0] && raw2[0] &&
	    (sd->nr == SYS_rename || sd->nr == SYS_renameat || sd->nr == SYS_renameat2))
		host_dir = renames_host_dir(pid, target);
	if (!id_valid(n))
		return 0;
	ev = new_event(n, "write", sd->name);
	cJSON_AddItemToObjectCS(ev, "target", json_text(target ? target : "?"));
	if (real)
		cJSON_AddItemToObjectCS(ev, "resolved", json_text(real));
	if (target2)
		cJSON_AddItemToObjectCS(ev, "target2", json_text(target2));
	if (real2)
		cJSON_AddItemToObjectCS(ev, "resolved2", json_text(real2));
	if (sd->arg.str >= 0 && rc == 0)
		cJSON_AddItemToObjectCS(ev, "link", json_text(link));
	if (sd->arg.flags >= 0)
		add_open_flags(ev, (unsigned)d->args[sd->arg.flags]);
	if (rc < 0)
		return answer(n, ev, deny(-rc));
	if (!ids_mapped(n))
		return answer(n, ev, deny_by(EPERM, "airlock: an ID outside the sandbox's map"));
	if (sd->nr == SYS_fallocate) {
		v = decide_space(n);
		if (!v.cont)
			return answer(n, ev, v);
	}
	v = decide_write(n, (const char *const[4]){target, target2, real, real2});
	if (v.cont && host_link)
		v = deny_by(EXDEV, "airlock: a hard link to a file from the host");
	if (v.cont) {
		int e = view_refusal(n, sd, real ? real : target, 0);

		if (!e && target2)
			e = view_refusal(n, sd, real2 ? real2 : target2, 1);
		if (e)
			v = deny_by(e, "airlock: the host refuses it (a read-only view)");
	}
	if (v.cont && host_dir)
		return rename_host_dir(n, sd, ev, v, raw, raw2);
	return answer(n, ev, v);
}
