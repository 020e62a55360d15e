/* SPDX-License-Identifier: MIT */
/* Computes the mount plan from the host's mountinfo; see plan.h for the why. */
#include "tracee/plan.h"
#include "tracee/stub.h"

#include "common/buf.h"
#include "common/cleanup.h"
#include "common/err.h"
#include "common/path.h"
#include "common/testenv.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/time.h>
#include <unistd.h>

/* Trees the tracee builds afresh: they are never overlaid. */
static const char *const special_roots[] = {"/proc", "/sys", "/dev"};

struct host_mount {
	char *path;
	char *fstype;
	bool ro, noexec, pseudo;
};

struct mount_table {
	struct host_mount *m;
	size_t n, cap;
};

bool plan_is_pseudo_fs(const char *fstype)
{
	static const char *const pseudo[] = {
		"proc",	      "sysfs",	  "devtmpfs",  "devpts",      "cgroup",	      "cgroup2",
		"mqueue",     "debugfs",  "tracefs",   "securityfs",  "pstore",	      "bpf",
		"hugetlbfs",  "fusectl",  "configfs",  "binfmt_misc", "autofs",	      "nsfs",
		"rpc_pipefs", "efivarfs", "selinuxfs", "nfsd",	      "ramfs_pseudo",
	};
	size_t i;

	for (i = 0; i < ARRAY_SIZE(pseudo); i++)
		if (strcmp(fstype, pseudo[i]) == 0)
			return true;
	return false;
}

/* mountinfo escapes space, tab, newline and backslash as \ooo. */
void plan_unescape_octal(char *s)
{
	char *o = s;

	while (*s) {
		if (s[0] == '\\' && s[1] >= '0' && s[1] <= '3' && s[2] >= '0' && s[2] <= '7' &&
		    s[3] >= '0' && s[3] <= '7') {
			*o++ = (char)(((s[1] - '0') << 6) | ((s[2] - '0') << 3) | (s[3] - '0'));
			s += 4;
		} else {
			*o++ = *s++;
		}
	}
	*o = '\0';
}

bool plan_has_option(const char *opts, const char *want)
{
	size_t n = strlen(want);
	const char *p = opts;

	while (p && *p) {
		if (strncmp(p, want, n) == 0 && (p[n] == ',' || p[n] == '\0'))
			return true;
		p = strchr(p, ',');
		if (p)
			p++;
	}
	return false;
}

/* Parse one mountinfo line into m; returns false for a line we cannot read. */
static bool parse_mountinfo_line(char *line, struct host_mount *m)
{
	char *fields[6] = {0};
	char *save = NULL, *tok, *fstype = NULL;
	int i = 0;
	bool after_sep = false;

	for (tok = strtok_r(line, " \n", &save); tok; tok = strtok_r(NULL, " \n", &save)) {
		if (after_sep) {
			fstype = tok;
			break;
		}
		if (i < 6)
			fields[i] = tok;
		if (i >= 6 && strcmp(tok, "-") == 0)
			after_sep = true;
		i++;
	}
	if (!fields[4] || !fields[5] || !fstype)
		return false;
	plan_unescape_octal(fields[4]);
	m->path = path_normalize(fields[4]);
	m->fstype = xstrdup(fstype);
	m->ro = plan_has_option(fields[5], "ro");
	m->noexec = plan_has_option(fields[5], "noexec");
	m->pseudo = plan_is_pseudo_fs(fstype);
	return true;
}

static int read_mounts(const char *file, struct mount_table *t)
{
	cleanup_file FILE *f = fopen(file, "re");
	cleanup_free char *line = NULL;
	size_t cap = 0;

	if (!f)
		return error_errno("cannot read %s", file);
	while (getline(&line, &cap, f) > 0) {
		struct host_mount m;
		size_t i;

		if (!parse_mountinfo_line(line, &m))
			continue;
		/* A later mount on the same path covers the earlier one. */
		for (i = 0; i < t->n; i++) {
			if (strcmp(t->m[i].path, m.path) == 0) {
				free(t->m[i].path);
				free(t->m[i].fstype);
				t->m[i] = t->m[--t->n];
				break;
			}
		}
		GROW(t->m, t->cap, t->n + 1);
		t->m[t->n++] = m;
	}
	return 0;
}

static void free_mounts(struct mount_table *t)
{
	size_t i;

	for (i = 0; i < t->n; i++) {
		free(t->m[i].path);
		free(t->m[i].fstype);
	}
	free(t->m);
}

/*
 * The caller's effective IDs and groups, taken once a plan: every directory's access is
 * judged against them (a few hundred directories as an unprivileged user).
 */
struct caller {
	uid_t uid;
	gid_t gid;
	gid_t groups[256];
	int ngroups; /* -1: more than groups holds, as getgroups() says; none is counted */
};

struct planner {
	struct plan *plan;
	struct caller me;
	const struct plan_opts *opts;
	struct mount_table mounts;
	char *bottom;	 /* the empty directory under every PLAN_LOWER, made on first use */
	bool bases_made; /* the parents of the writable overlays' upper and work directories */
	/* Trust what a directory's listing says of its entries (struct known) and a mode that
	   refuses the caller a write (mode_refuses()); the tests compare the plan without
	   (test_feature_off("plan_shortcuts")) */
	bool shortcuts;
	bool mode_decides; /* the caller is not root and cannot override a mode */
};

static bool is_special(const char *path)
{
	size_t i;

	for (i = 0; i < ARRAY_SIZE(special_roots); i++)
		if (path_is_under(path, special_roots[i]))
			return true;
	return false;
}

static bool is_hidden(const struct planner *pl, const char *path)
{
	size_t i;

	for (i = 0; i < pl->opts->nhide; i++)
		if (strcmp(pl->opts->hide[i], path) == 0)
			return true;
	return false;
}

static bool mount_below(const struct planner *pl, const char *path)
{
	size_t i;

	for (i = 0; i < pl->mounts.n; i++) {
		const char *mp = pl->mounts.m[i].path;

		if (strcmp(mp, path) != 0 && path_is_under(mp, path))
			return true;
	}
	return false;
}

/* The host mount that holds path: the one with the longest mount point above it. */
static const struct host_mount *mount_of(const struct planner *pl, const char *path)
{
	const struct host_mount *best = NULL;
	size_t i;

	for (i = 0; i < pl->mounts.n; i++) {
		const struct host_mount *m = &pl->mounts.m[i];

		if (path_is_under(path, m->path) && (!best || strlen(m->path) > strlen(best->path)))
			best = m;
	}
	return best;
}

static struct plan_item *add_item(struct plan *plan, enum plan_kind kind, const char *path)
{
	struct plan_item *it;

	GROW(plan->items, plan->cap, plan->n + 1);
	it = &plan->items[plan->n++];
	memset(it, 0, sizeof(*it));
	it->kind = kind;
	it->path = xstrdup(path);
	return it;
}

/* Whether the caller's effective or a supplementary group is gid. */
static bool in_group(const struct caller *me, gid_t gid)
{
	int i;

	if (gid == me->gid)
		return true;
	for (i = 0; i < me->ngroups; i++)
		if (me->groups[i] == gid)
			return true;
	return false;
}

/*
 * Give dst (a directory airlock makes in an upper layer) the mode and times of the host
 * directory src. overlayfs shows the upper's attributes for a merged directory, and it will
 * be owned by the caller, who cannot chown it: so its owner bits become the access the
 * caller really has on the host directory (group or other bits), and /etc stays unwritable
 * for an unprivileged caller inside as outside. Best effort.
 */
static bool dir_attrs(const struct caller *me, const char *src, mode_t *mode, struct timespec ts[2])
{
	struct stat st;

	if (stat(src, &st) < 0)
		return false;
	*mode = st.st_mode & 07777;
	if (st.st_uid != me->uid) {
		mode_t mine = in_group(me, st.st_gid) ? (*mode >> 3) & 7 : *mode & 7;

		*mode = (*mode & ~(mode_t)0700) | (mine << 6);
	}
	ts[0] = st.st_atim;
	ts[1] = st.st_mtim;
	return true;
}

/* Give dst the mode and times dir_attrs() found. Best effort, as finish_attrs() is. */
static void set_dir_attrs(const char *dst, mode_t mode, const struct timespec ts[2])
{
	(void)!chmod(dst, mode);
	utimensat(AT_FDCWD, dst, ts, 0);
}

static void copy_dir_attrs(const struct caller *me, const char *src, const char *dst)
{
	struct timespec ts[2];
	mode_t mode;

	if (dir_attrs(me, src, &mode, ts))
		set_dir_attrs(dst, mode, ts);
}

/* The parent of an upper or work directory: the session directory itself exists. */
static int make_parent(const char *dir)
{
	cleanup_free char *parent = xstrdup(dir);

	*strrchr(parent, '/') = '\0';
	return mkdir(parent, 0700) == 0 || errno == EEXIST ? 0 : mkdir_p(parent, 0700);
}

/*
 * The directories and whiteouts of hidden paths (hide_in_overlay()), in the order planned,
 * parents first; then each directory gets the host's attributes, the last made first, so
 * that a parent's copied mode does not stop the making of what it holds. 0 or -errno.
 */
/* A whiteout, or a directory writable for now, at up in an upper directory. 0 or -errno. */
static int make_entry(const char *up, bool whiteout)
{
	if ((whiteout ? mknod(up, S_IFCHR | 0, makedev(0, 0)) : mkdir(up, 0700)) < 0 &&
	    errno != EEXIST)
		return -errno;
	return 0;
}

static int make_premade(const struct plan_item *it)
{
	size_t i;
	int rc;

	for (i = 0; i < it->nops; i++) {
		cleanup_free char *up = path_join(it->upper, it->ops[i].rel);

		rc = make_entry(up, it->ops[i].whiteout);
		if (rc < 0)
			return rc;
	}
	for (i = it->nops; i-- > 0;) {
		const struct plan_premade_op *op = &it->ops[i];
		cleanup_free char *up = NULL;

		if (op->whiteout || !op->have_attrs)
			continue;
		up = path_join(it->upper, op->rel);
		set_dir_attrs(up, op->mode, op->times);
	}
	return 0;
}

/* The upper directory alone (with the host's attributes). 0 or -errno. */
static int plan_make_upper(const struct plan_item *it)
{
	int rc;

	if (mkdir(it->upper, 0700) < 0 && errno != EEXIST)
		return -errno;
	rc = make_premade(it);
	if (rc < 0)
		return rc;
	if (it->have_attrs)
		set_dir_attrs(it->upper, it->upper_mode, it->upper_times);
	return 0;
}

int plan_make_layer(const struct plan_item *it)
{
	int rc = plan_make_upper(it);

	/* A collected overlay's work directory is the collector's. */
	if (rc == 0 && !it->collected && mkdir(it->work, 0700) < 0 && errno != EEXIST)
		rc = -errno;
	return rc;
}

int plan_make_collector(const struct plan *plan)
{
	for (size_t i = 0; i < plan->n; i++) {
		const struct plan_item *it = &plan->items[i];

		if (it->kind != PLAN_COLLECTOR || !it->layer_to_make)
			continue;
		if ((mkdir(it->upper, 0700) < 0 && errno != EEXIST) ||
		    (mkdir(it->work, 0700) < 0 && errno != EEXIST) ||
		    (mkdir(it->path, 0700) < 0 && errno != EEXIST))
			return -errno;
	}
	return 0;
}

void plan_make_layers(const struct plan *plan)
{
	(void)!plan_make_collector(plan);
	for (size_t i = 0; i < plan->n; i++)
		if (plan->items[i].layer_to_make && plan->items[i].kind == PLAN_OVERLAY)
			(void)!plan_make_layer(&plan->items[i]);
}

/*
 * Give an overlay item its numbered upper and work directories. Those of a writable overlay
 * are made by the tracee, just before its mount (plan_make_layer()); a scratch overlay's here.
 */
static int add_layer_dirs(struct planner *pl, struct plan_item *it, const char *upper_base,
			  const char *work_base)
{
	unsigned n = pl->plan->next_layer++;
	int rc = 0;

	it->upper = xasprintf("%s/%s/%u", pl->opts->session_dir, upper_base, n);
	it->work = xasprintf("%s/%s/%u", pl->opts->session_dir, work_base, n);
	/* (The tracee leaves out an entry where its stub goes: tracee/sandbox.c, made().) */
	if (it->kind == PLAN_OVERLAY && !path_is_under(it->path, STUB_PATH)) {
		/* Their parents, once. */
		if (!pl->bases_made)
			rc = make_parent(it->upper);
		if (!pl->bases_made && rc == 0)
			rc = make_parent(it->work);
		pl->bases_made = rc == 0;
		it->layer_to_make = true;
	} else {
		/* Plain mkdir first: one call each in the common case, mkdir_p only for the
		   first. */
		rc = mkdir(it->upper, 0700) == 0 ? 0 : mkdir_p(it->upper, 0700);
		if (rc == 0)
			rc = mkdir(it->work, 0700) == 0 ? 0 : mkdir_p(it->work, 0700);
	}
	if (rc < 0)
		return error_rc(rc, "cannot create overlay directories in %s",
				pl->opts->session_dir);
	return 0;
}

static int cmp_names(const void *a, const void *b)
{
	return alphasort((const struct dirent **)(uintptr_t)a,
			 (const struct dirent **)(uintptr_t)b);
}

struct listing {
	struct dirent **v;
	size_t n, cap;
};

static bool keep_entry(const struct dirent64 *e, void *arg)
{
	struct listing *l = arg;
	size_t len = strlen(e->d_name);
	struct dirent *d = xmalloc(offsetof(struct dirent, d_name) + len + 1);

	d->d_ino = e->d_ino;
	d->d_off = e->d_off;
	d->d_reclen = e->d_reclen;
	d->d_type = e->d_type;
	memcpy(d->d_name, e->d_name, len + 1);
	GROW(l->v, l->cap, l->n + 1);
	l->v[l->n++] = d;
	return true;
}

/*
 * scandir(dir, names, NULL, alphasort) without "." and "..", and without the fstat() its
 * opendir() makes for the size of its buffer: one a directory the plan lists, 30 or more. The
 * count, or -1 with errno.
 */
static int list_dir(const char *dir, struct dirent ***names)
{
	cleanup_fd int fd = open(dir, O_RDONLY | O_NONBLOCK | O_DIRECTORY | O_CLOEXEC);
	struct listing l = {0};
	int rc;

	if (fd < 0)
		return -1;
	rc = dir_each(fd, keep_entry, &l);
	if (rc < 0) {
		for (size_t i = 0; i < l.n; i++)
			free(l.v[i]);
		free(l.v);
		errno = -rc;
		return -1;
	}
	if (l.n > 1)
		qsort(l.v, l.n, sizeof(*l.v), cmp_names);
	*names = l.v;
	return (int)l.n;
}

/*
 * What the listing of its directory already told of an entry: its type (DT_UNKNOWN when the
 * filesystem does not say); for a kid of a PLAN_LOWER, also its lstat(), taken by
 * lower_kids() once it found that the caller may change it.
 */
struct known {
	unsigned char type;
	const struct stat *st; /* NULL: not taken */
};

/* A subdirectory the caller may change, as lower_kids() found it. */
struct kid {
	char *path;
	struct stat st;
};

static int plan_path(struct planner *pl, const char *path, int depth, const struct known *k);

/* Whether the caller holds CAP_DAC_OVERRIDE, or cannot tell. */
static bool may_override_modes(void)
{
	struct __user_cap_header_struct hdr = {.version = _LINUX_CAPABILITY_VERSION_3};
	struct __user_cap_data_struct data[2] = {0};

	if (syscall(SYS_capget, &hdr, data) < 0)
		return true;
	return data[CAP_TO_INDEX(CAP_DAC_OVERRIDE)].effective & CAP_TO_MASK(CAP_DAC_OVERRIDE);
}

/* Filesystems whose access checks are the kernel's own (generic_permission()). */
static bool kernel_checks(const char *fstype)
{
	static const char *const local[] = {"ext2",  "ext3",  "ext4",	"xfs",
					    "btrfs", "tmpfs", "overlay"};

	for (size_t i = 0; i < ARRAY_SIZE(local); i++)
		if (strcmp(fstype, local[i]) == 0)
			return true;
	return false;
}

/*
 * Whether the directory's mode alone refuses the caller a write, as faccessat() would say
 * without being asked (a hundred and fifty directories of /etc, /usr, /var as an unprivileged
 * user): not the owner, no write bit for the group or others (an ACL's entries are capped by
 * the group bits), no CAP_DAC_OVERRIDE, and a filesystem that leaves the check to the
 * kernel (FUSE's or NFS's server decides for itself). A security module can only refuse more.
 */
static bool mode_refuses(const struct planner *pl, const struct stat *st,
			 const struct host_mount *m)
{
	return pl->mode_decides && st->st_uid != pl->me.uid && !(st->st_mode & 0022) && m &&
	       kernel_checks(m->fstype);
}

/*
 * Whether the caller may change the directory itself: it owns it, or may write in it. m: the
 * host mount that holds it (mount_of()).
 */
static bool caller_may_change(const struct planner *pl, const char *path, const struct stat *st,
			      const struct host_mount *m)
{
	if (st->st_uid == pl->me.uid)
		return true;
	return !mode_refuses(pl, st, m) && faccessat(AT_FDCWD, path, W_OK, AT_EACCESS) == 0;
}

/*
 * Whether a host mount lies on path: its directory entry then tells the type of what the
 * mount covers, not of what is seen there.
 */
static bool is_mount_point(const struct planner *pl, const char *path)
{
	for (size_t i = 0; i < pl->mounts.n; i++)
		if (strcmp(pl->mounts.m[i].path, path) == 0)
			return true;
	return false;
}

/* Whether the entry's type, as its directory listed it, says it is a symlink. */
static bool listed_as_link(const struct planner *pl, const char *path, unsigned char type)
{
	return type == DT_LNK && !is_mount_point(pl, path);
}

/* Whether every hidden path strictly below dir is strictly below one of the kids. */
static bool hides_covered(const struct planner *pl, const char *dir, const struct kid *kids,
			  size_t nkids)
{
	size_t i, j;

	for (i = 0; i < pl->opts->nhide; i++) {
		const char *h = pl->opts->hide[i];
		bool covered = false;

		if (strcmp(h, dir) == 0 || !path_is_under(h, dir))
			continue;
		for (j = 0; j < nkids && !covered; j++)
			covered = strcmp(h, kids[j].path) != 0 && path_is_under(h, kids[j].path);
		if (!covered)
			return false;
	}
	return true;
}

/*
 * One entry of lower_kids()'s dir: a symlink is left alone (its directory entry says so, or
 * lstat() does), a file of the caller's, user and group, does not fit; a subdirectory the
 * caller may change is a kid, which fits when it is not hidden and has no comma. Returns
 * whether the entry fits.
 */
static bool kid_step(const struct planner *pl, const char *dir, const struct host_mount *m,
		     const struct dirent *e, struct kid **kids, size_t *nkids, size_t *cap)
{
	cleanup_free char *child = path_join(dir, e->d_name);
	struct stat st;

	if ((pl->shortcuts && listed_as_link(pl, child, e->d_type)) || lstat(child, &st) < 0 ||
	    S_ISLNK(st.st_mode))
		return true;
	if (!S_ISDIR(st.st_mode))
		/* An overlay copies a file up only with both its IDs mapped. */
		return st.st_uid != pl->me.uid || st.st_gid != pl->me.gid;
	if (!caller_may_change(pl, child, &st, m))
		return true;
	GROW(*kids, *cap, *nkids + 1);
	(*kids)[(*nkids)++] = (struct kid){.path = steal_pointer(&child), .st = st};
	return !strchr((*kids)[*nkids - 1].path, ',') && !is_hidden(pl, (*kids)[*nkids - 1].path);
}

/*
 * The subdirectories of dir that the caller may change, in *kids, when a read-only view of
 * dir with a writable overlay on each of them lets through every write a single overlay of
 * dir would: no file in dir is the caller's, user and group (it could be written), no kid
 * is hidden or has a comma, and every hidden path below dir lies in a kid. Returns whether
 * it does. m holds dir and, no mount lying below dir, every kid.
 */
static bool lower_kids(const struct planner *pl, const char *dir, const struct host_mount *m,
		       struct kid **kids, size_t *nkids)
{
	struct dirent **names = NULL;
	size_t cap = 0;
	bool fits = true;
	int n, i;

	*kids = NULL;
	*nkids = 0;
	n = list_dir(dir, &names);
	if (n < 0)
		/* Unlistable: fine when nothing below can be reached either (mode 700). */
		return faccessat(AT_FDCWD, dir, X_OK, AT_EACCESS) < 0;
	for (i = 0; i < n; i++) {
		if (fits)
			fits = kid_step(pl, dir, m, names[i], kids, nkids, &cap);
		free(names[i]);
	}
	free(names);
	return fits && hides_covered(pl, dir, *kids, *nkids);
}

/* The empty directory under every PLAN_LOWER and the PLAN_COLLECTOR, made on first use. */
static int make_bottom(struct planner *pl)
{
	if (pl->bottom)
		return 0;
	pl->bottom = path_join(pl->opts->session_dir, "lower");
	if (mkdir(pl->bottom, 0500) < 0 && errno != EEXIST)
		return error_errno("cannot create %s", pl->bottom);
	return 0;
}

/*
 * Plan dir, a directory with no mount below it that the caller may not change, as a
 * PLAN_LOWER with overlays on the kids (see plan.h). Returns 1 when planned so, 0 when dir
 * must be one overlay, or -errno.
 */
static int plan_lower(struct planner *pl, const char *dir, const struct host_mount *m, int depth)
{
	struct kid *kids;
	size_t nkids, i;
	struct plan_item *it;
	int rc = 1;

	if (!lower_kids(pl, dir, m, &kids, &nkids)) {
		rc = 0;
		goto out;
	}
	rc = make_bottom(pl);
	if (rc < 0)
		goto out;
	rc = 1;
	it = add_item(pl->plan, PLAN_LOWER, dir);
	it->bottom = xstrdup(pl->bottom);
	it->noexec = m && m->noexec;
	for (i = 0; i < nkids && rc == 1; i++) {
		const struct known k = {.type = DT_DIR, .st = &kids[i].st};
		int r = plan_path(pl, kids[i].path, depth + 1, pl->shortcuts ? &k : NULL);

		if (r < 0)
			rc = r;
	}
out:
	for (i = 0; i < nkids; i++)
		free(kids[i].path);
	free(kids);
	return rc;
}

static int plan_entries(struct planner *pl, const char *dir, int depth)
{
	struct dirent **names = NULL;
	int n, i, rc = 0;

	n = list_dir(dir, &names);
	if (n < 0)
		return error_errno("cannot list %s", dir);
	for (i = 0; i < n; i++) {
		if (rc == 0) {
			cleanup_free char *child = path_join(dir, names[i]->d_name);
			const struct known k = {.type = names[i]->d_type};

			rc = plan_path(pl, child, depth + 1, pl->shortcuts ? &k : NULL);
		}
		free(names[i]);
	}
	free(names);
	return rc;
}

/* Copy the symlink at path, its target as readlink() gives it now. 0 or -errno. */
static int plan_symlink(struct planner *pl, const char *path)
{
	char target[4096];
	ssize_t n = readlink(path, target, sizeof(target) - 1);

	if (n < 0)
		return -errno;
	target[n] = '\0';
	add_item(pl->plan, PLAN_SYMLINK, path)->link = xstrdup(target);
	return 0;
}

/*
 * Plan an entry that is no directory from what its directory's listing says, without an
 * lstat() (a few hundred of them on /etc, /usr, /run): a symlink is copied (readlink() tells
 * that it still is one), a regular file bound, anything else left out. Returns 1 when
 * planned so (or vanished), 0 to be planned after an lstat(): a type the listing does not
 * give, a directory, whose mode and owner the plan needs, a mount point.
 */
static int plan_listed(struct planner *pl, const char *path, unsigned char type)
{
	if (type == DT_UNKNOWN || type == DT_DIR || is_mount_point(pl, path))
		return 0;
	if (type == DT_REG) {
		add_item(pl->plan, PLAN_BIND_RO, path);
		return 1;
	}
	if (type != DT_LNK)
		return 1;
	return plan_symlink(pl, path) == -EINVAL ? 0 : 1; /* EINVAL: no longer a symlink */
}

static int plan_path(struct planner *pl, const char *path, int depth, const struct known *k)
{
	const struct host_mount *m;
	struct plan_item *it;
	struct stat st;

	if (depth > 64)
		return error_code(-ELOOP, "cannot plan %s: mounts nested too deeply", path);
	if (is_hidden(pl, path))
		return 0;
	if (is_special(path)) {
		if (strcmp(path, "/proc") == 0 || strcmp(path, "/sys") == 0 ||
		    strcmp(path, "/dev") == 0)
			add_item(pl->plan, PLAN_DIR, path)->mode = 0755;
		return 0;
	}
	if (k && k->st)
		st = *k->st;
	else if (k && plan_listed(pl, path, k->type))
		return 0;
	else if (lstat(path, &st) < 0)
		return 0; /* vanished while we looked: nothing to plan */
	if (S_ISLNK(st.st_mode)) {
		(void)plan_symlink(pl, path); /* gone meanwhile: nothing to plan */
		return 0;
	}
	if (!S_ISDIR(st.st_mode)) {
		if (S_ISREG(st.st_mode))
			add_item(pl->plan, PLAN_BIND_RO, path);
		return 0;
	}
	m = mount_of(pl, path);
	if (m && m->pseudo && strcmp(m->path, path) == 0) {
		/* A pseudo filesystem outside /proc, /sys, /dev: leave an empty mount point. */
		add_item(pl->plan, PLAN_DIR, path)->mode = st.st_mode & 07777;
		return 0;
	}
	if (mount_below(pl, path) || (m && m->pseudo)) {
		add_item(pl->plan, PLAN_DIR, path)->mode = st.st_mode & 07777;
		return plan_entries(pl, path, depth);
	}
	if (strchr(path, ',')) {
		/*
		 * overlayfs options cannot carry a comma. A read-only bind would still let the
		 * program connect to host sockets in it and would not hide paths below it: the
		 * directory is shown empty instead.
		 */
		warn("%s is shown empty: its name has a comma, which overlayfs cannot mount", path);
		add_item(pl->plan, PLAN_DIR, path)->mode = st.st_mode & 07777;
		return 0;
	}
	/* A kid of a PLAN_LOWER: lower_kids() found that the caller may change it. */
	if (!(k && k->st) && !caller_may_change(pl, path, &st, m) &&
	    !test_feature_off("lower_view")) {
		int rc = plan_lower(pl, path, m, depth);

		if (rc != 0)
			return rc < 0 ? rc : 0;
	}
	it = add_item(pl->plan, PLAN_OVERLAY, path);
	/* A subdirectory's ".." counts in st_nlink (btrfs says 1 whatever it holds). */
	it->maybe_empty = st.st_nlink <= 2;
	it->ro = m && m->ro;
	it->noexec = m && m->noexec;
	return add_layer_dirs(pl, it, "upper", "work");
}

/* Whether the overlay (or scratch overlay) item's tree holds path below its root. */
static bool holds(const struct plan_item *it, const char *path)
{
	return (it->kind == PLAN_OVERLAY || it->kind == PLAN_SCRATCH) &&
	       strcmp(it->path, path) != 0 && path_is_under(path, it->path);
}

static void add_premade(struct plan_item *it, const char *rel)
{
	size_t i, cap = it->npremade;

	for (i = 0; i < it->npremade; i++)
		if (strcmp(it->premade[i], rel) == 0)
			return;
	GROW(it->premade, cap, it->npremade + 1);
	it->premade[it->npremade++] = xstrdup(rel);
}

/*
 * Make a directory (writable for now; finish_attrs() gives it the host's attributes at the
 * end) or a whiteout in the upper directory; or, for a writable overlay whose upper directory
 * the tracee makes, have the tracee make it then (make_premade()), off the supervisor's way
 * to the clone: each is an inode of the session's filesystem.
 */
static int premade_step(struct plan_item *it, const char *rel, bool whiteout, const char *path)
{
	cleanup_free char *up = NULL;
	size_t i;
	int rc;

	add_premade(it, rel);
	if (it->layer_to_make) {
		for (i = 0; i < it->nops; i++)
			if (strcmp(it->ops[i].rel, rel) == 0 && it->ops[i].whiteout == whiteout)
				return 0;
		GROW(it->ops, it->ops_cap, it->nops + 1);
		it->ops[it->nops++] =
			(struct plan_premade_op){.rel = xstrdup(rel), .whiteout = whiteout};
		return 0;
	}
	up = path_join(it->upper, rel);
	rc = make_entry(up, whiteout);
	if (rc < 0 && whiteout)
		return error_rc(rc, "cannot hide %s (whiteout %s)", path, up);
	if (rc < 0)
		return error_rc(rc, "cannot create %s", up);
	return 0;
}

/*
 * Hide path inside an overlay by a whiteout in its upper directory: lookups then end in
 * ENOENT before they reach anything below, which also keeps the session store (whose
 * upper directories lie inside the lower layer) out of reach; overlayfs answers a lookup
 * that reaches its own upper directory with ELOOP. Parent directories made in the upper
 * copy the host's mode and times so the merged view looks unchanged.
 */
static int hide_in_overlay(struct plan_item *it, const char *path)
{
	const char *rel = path_rel(path, it->path);
	cleanup_free char *relcopy = xstrdup(rel);
	char *slash;
	struct stat st;
	int rc;

	/* Hidden even when absent now: the host may create it while the program runs. */
	if (lstat(path, &st) < 0 && errno != ENOENT)
		return 0;
	for (slash = strchr(relcopy, '/'); slash; slash = strchr(slash + 1, '/')) {
		cleanup_free char *host = NULL;
		struct stat hs;

		*slash = '\0';
		host = path_join(it->path, relcopy);
		if (lstat(host, &hs) < 0 || !S_ISDIR(hs.st_mode)) {
			*slash = '/';
			return 0;
		}
		rc = premade_step(it, relcopy, false, path);
		if (rc < 0)
			return rc;
		*slash = '/';
	}
	return premade_step(it, rel, true, path);
}

/*
 * Whiteouts in every overlay that holds a hidden path: the overlay of its mount and any
 * scratch overlay stacked above it, whose lower layer is the bare host directory. A hidden
 * path that is a skeleton entry was left out by plan_path().
 */
static int plan_hidden(struct planner *pl)
{
	size_t i, j;
	int rc;

	for (i = 0; i < pl->opts->nhide; i++) {
		for (j = 0; j < pl->plan->n; j++) {
			if (!holds(&pl->plan->items[j], pl->opts->hide[i]))
				continue;
			rc = hide_in_overlay(&pl->plan->items[j], pl->opts->hide[i]);
			if (rc < 0)
				return rc;
		}
	}
	return 0;
}

static int plan_scratch(struct planner *pl)
{
	size_t i, j;
	int rc;

	for (i = 0; i < pl->opts->nscratch; i++) {
		const char *p = pl->opts->scratch[i];
		struct plan_item *it;
		struct stat st;

		if (stat(p, &st) < 0 || !S_ISDIR(st.st_mode))
			return error_code(-ENOTDIR,
					  "cannot make %s scratch: not an existing directory", p);
		if (mount_below(pl, p))
			return error_code(-EBUSY, "cannot make %s scratch: a mount lies below it",
					  p);
		for (j = 0; j < pl->opts->nhide; j++)
			if (path_is_under(p, pl->opts->hide[j]))
				return error_code(-EINVAL,
						  "cannot make %s scratch: it is hidden (%s)", p,
						  pl->opts->hide[j]);
		it = add_item(pl->plan, PLAN_SCRATCH, p);
		rc = add_layer_dirs(pl, it, "scratch", "scratch-work");
		if (rc < 0)
			return rc;
	}
	return 0;
}

static int plan_readonly(struct planner *pl)
{
	size_t i;

	for (i = 0; i < pl->opts->nreadonly; i++) {
		struct stat st;

		if (lstat(pl->opts->readonly[i], &st) < 0)
			continue; /* absent: nothing to protect, creating it lands in the overlay */
		add_item(pl->plan, PLAN_READONLY, pl->opts->readonly[i]);
	}
	return 0;
}

static bool found_entry(const struct dirent64 *e, void *arg)
{
	(void)e;
	*(bool *)arg = true;
	return false;
}

/* Whether the host directory has no entry (unreadable: not known to be empty). */
static bool dir_is_empty(const char *path)
{
	cleanup_fd int fd = open(path, O_RDONLY | O_NONBLOCK | O_DIRECTORY | O_CLOEXEC);
	bool found = false;

	return fd >= 0 && dir_each(fd, found_entry, &found) == 0 && !found;
}

/* Whether opts name path among a started-again live session's collected directories. */
static bool listed(const struct plan_opts *opts, const char *path)
{
	for (size_t i = 0; i < opts->ncollected; i++)
		if (strcmp(opts->collected[i], path) == 0)
			return true;
	return false;
}

/*
 * Whether a writable overlay may be collected (plan.h): nothing else of the plan in it, and
 * the host directory empty, or named by the record of the live session started again.
 */
static bool collectable(const struct plan *plan, size_t i, const struct plan_opts *opts)
{
	const struct plan_item *it = &plan->items[i];
	size_t j;

	if (it->kind != PLAN_OVERLAY || it->hidden || it->npremade || !it->layer_to_make)
		return false;
	if (opts->collect_listed && !listed(opts, it->path))
		return false;
	if (!opts->collect_listed && !it->maybe_empty)
		return false;
	for (j = 0; j < plan->n; j++)
		if (j != i && path_is_under(plan->items[j].path, it->path))
			return false;
	return opts->collect_listed || dir_is_empty(it->path);
}

/*
 * Move the writable overlays of empty host directories into one PLAN_COLLECTOR (plan.h):
 * each keeps its own upper directory, now a subdirectory of the collector's.
 */
static int plan_collect(struct planner *pl)
{
	struct plan *plan = pl->plan;
	cleanup_free size_t *take = xmalloc((plan->n + 1) * sizeof(*take));
	cleanup_free char *mount_point = path_join(pl->opts->session_dir, "collect");
	size_t n = 0, i;
	struct plan_item *col;
	int rc;

	for (i = 0; (pl->opts->collect_empty || pl->opts->collect_listed) && i < plan->n; i++)
		if (collectable(plan, i, pl->opts))
			take[n++] = i;
	if (n < 2) /* one overlay for one: nothing saved */
		return 0;
	rc = make_bottom(pl);
	if (rc < 0)
		return rc;
	/* Its directories are made by the tracee, as the writable overlays' are. */
	col = add_item(plan, PLAN_COLLECTOR, mount_point);
	col->bottom = xstrdup(pl->bottom);
	col->upper = xasprintf("%s/upper/%u", pl->opts->session_dir, plan->next_layer);
	col->work = xasprintf("%s/work/%u", pl->opts->session_dir, plan->next_layer++);
	col->layer_to_make = true;
	for (i = 0; i < n; i++) {
		struct plan_item *it = &plan->items[take[i]];

		free(it->upper);
		free(it->work);
		it->upper = xasprintf("%s/%zu", col->upper, i);
		it->work = xstrdup(col->work);
		it->collected = true;
	}
	return 0;
}

static int cmp_depth_desc(const void *a, const void *b)
{
	size_t la = strlen(*(char *const *)a), lb = strlen(*(char *const *)b);

	return la < lb ? 1 : la > lb ? -1 : 0;
}

/*
 * overlayfs shows an upper directory's mode and times for a merged directory: give the
 * directories airlock made (upper roots and the parents of whiteouts) the host's, deepest
 * first, once nothing more is created in them (the copied mode may not let us write).
 */
static void finish_attrs(const struct planner *pl)
{
	struct plan *plan = pl->plan;
	size_t i, j;

	for (i = 0; i < plan->n; i++) {
		struct plan_item *it = &plan->items[i];

		if (it->kind != PLAN_OVERLAY && it->kind != PLAN_SCRATCH)
			continue;
		if (it->npremade > 1)
			qsort(it->premade, it->npremade, sizeof(*it->premade), cmp_depth_desc);
		if (it->layer_to_make) {
			/* Still to be made: the tracee gives them these. */
			it->have_attrs =
				dir_attrs(&pl->me, it->path, &it->upper_mode, it->upper_times);
			for (j = 0; j < it->nops; j++) {
				struct plan_premade_op *op = &it->ops[j];
				cleanup_free char *host = path_join(it->path, op->rel);

				if (!op->whiteout)
					op->have_attrs =
						dir_attrs(&pl->me, host, &op->mode, op->times);
			}
			continue;
		}
		for (j = 0; j < it->npremade; j++) {
			cleanup_free char *up = path_join(it->upper, it->premade[j]);
			cleanup_free char *host = path_join(it->path, it->premade[j]);
			struct stat st;

			if (lstat(up, &st) == 0 && S_ISDIR(st.st_mode))
				copy_dir_attrs(&pl->me, host, up);
		}
		copy_dir_attrs(&pl->me, it->path, it->upper);
	}
}

int plan_build(struct plan *plan, const struct plan_opts *opts)
{
	struct planner pl = {.plan = plan, .opts = opts};
	int rc;

	memset(plan, 0, sizeof(*plan));
	pl.me.uid = geteuid();
	pl.me.gid = getegid();
	pl.me.ngroups = getgroups(ARRAY_SIZE(pl.me.groups), pl.me.groups);
	pl.shortcuts = !test_feature_off("plan_shortcuts");
	pl.mode_decides = pl.shortcuts && pl.me.uid != 0 && !may_override_modes();
	rc = read_mounts(opts->mountinfo ? opts->mountinfo : "/proc/self/mountinfo", &pl.mounts);
	if (rc == 0)
		rc = plan_path(&pl, "/", 0, NULL);
	/* Scratch overlays before the whiteouts: they need them too. */
	if (rc == 0)
		rc = plan_scratch(&pl);
	if (rc == 0)
		rc = plan_hidden(&pl);
	if (rc == 0)
		rc = plan_readonly(&pl);
	if (rc == 0)
		rc = plan_collect(&pl);
	if (rc == 0)
		finish_attrs(&pl);
	free_mounts(&pl.mounts);
	free(pl.bottom);
	if (rc < 0)
		plan_free(plan);
	return rc;
}

void plan_free(struct plan *plan)
{
	size_t i, j;

	for (i = 0; i < plan->n; i++) {
		struct plan_item *it = &plan->items[i];

		free(it->path);
		free(it->upper);
		free(it->work);
		free(it->link);
		free(it->bottom);
		for (j = 0; j < it->npremade; j++)
			free(it->premade[j]);
		free(it->premade);
		for (j = 0; j < it->nops; j++)
			free(it->ops[j].rel);
		free(it->ops);
	}
	free(plan->items);
	memset(plan, 0, sizeof(*plan));
}
