/* SPDX-License-Identifier: MIT */
/* Classify what a session changed by reading its overlay upper directories; see changes.h. */
#include "supervisor/changeset/changes.h"

#include "common/buf.h"
#include "common/cleanup.h"
#include "common/err.h"
#include "common/path.h"
#include "common/utf8.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <linux/capability.h>
#include <linux/magic.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#define MAX_DEPTH    CHANGES_MAX_DEPTH
#define CMP_CHUNK    65536
#define OPAQUE_XATTR "user.overlay.opaque"
#define PERM_BITS    07777
#define NO_RESTORE   CHANGES_NO_RESTORE

/* fine_ctime() of the file system last asked about, by its st_dev. */
struct fine_cache {
	dev_t dev;
	bool known, fine;
};

struct scan {
	const struct overlay_layer *layer;
	char *mount;	/* normalised mount_path */
	char *upper;	/* normalised, absolute upper_dir */
	struct buf rel; /* upper-relative path of the entry being looked at */
	char *fail_rel; /* rel where the scan first failed, for the one error message */
	struct change_set *out;
	char *cmp_a, *cmp_b;		 /* CMP_CHUNK bytes each */
	struct scan_seen *seen;		 /* what was looked at, or NULL: not kept */
	size_t layer_index;		 /* of layer, for seen */
	size_t entry;			 /* seen's entry of the name being looked at */
	const struct scan_observer *obs; /* told of every entry, or NULL */
	struct fine_cache *fine;	 /* [0] the upper's, [1] the host's: shared by the layers */
};

const char *change_kind_name(enum change_kind kind)
{
	switch (kind) {
	case CHANGE_ADDED:
		return "added";
	case CHANGE_MODIFIED:
		return "modified";
	case CHANGE_DELETED:
		return "deleted";
	case CHANGE_DIR_ADDED:
		return "dir-added";
	case CHANGE_DIR_REPLACED:
		return "dir-replaced";
	case CHANGE_SYMLINK_ADDED:
		return "symlink-added";
	case CHANGE_SYMLINK_CHANGED:
		return "symlink-changed";
	case CHANGE_TYPE_CHANGED:
		return "type-changed";
	case CHANGE_MODE_CHANGED:
		return "mode-changed";
	}
	return "unknown";
}

static void change_clear(struct change *c)
{
	free(c->path);
	free(c->upper);
	free(c->link_target);
}

void change_set_free(struct change_set *cs)
{
	size_t i;

	for (i = 0; i < cs->n; i++)
		change_clear(&cs->items[i]);
	free(cs->items);
	cs->items = NULL;
	cs->n = cs->cap = 0;
}

static bool is_whiteout(const struct stat *st)
{
	return S_ISCHR(st->st_mode) && st->st_rdev == makedev(0, 0);
}

static bool is_premade(const struct scan *s, const char *rel)
{
	size_t i;

	for (i = 0; i < s->layer->npremade; i++)
		if (strcmp(s->layer->premade[i], rel) == 0)
			return true;
	return false;
}

/*
 * Whether rel is a whiteout airlock made for a hidden path: premade, and no other premade entry
 * lies below it. A premade directory (the parent of a hidden path) that is a whiteout now was
 * removed by the program, and that deletion is the program's change.
 */
static bool is_premade_whiteout(const struct scan *s, const char *rel)
{
	size_t i, len = strlen(rel);

	if (!is_premade(s, rel))
		return false;
	for (i = 0; i < s->layer->npremade; i++)
		if (strncmp(s->layer->premade[i], rel, len) == 0 &&
		    s->layer->premade[i][len] == '/')
			return false;
	return true;
}

/* Sizes mean something for files and symlinks only; a directory's st_size is the fs's business. */
static off_t size_of(const struct stat *st)
{
	return S_ISREG(st->st_mode) || S_ISLNK(st->st_mode) ? st->st_size : 0;
}

/* Read the symlink name in dfd into *out (caller frees). 0 or -errno. */
int changes_read_link(int dfd, const char *name, char **out)
{
	/* On the heap: this may be inlined into the recursion, 1024 frames deep. */
	cleanup_free char *target = xmalloc(PATH_MAX);
	ssize_t n;

	n = readlinkat(dfd, name, target, PATH_MAX);
	if (n < 0)
		return -errno;
	if (n >= PATH_MAX)
		return -ENAMETOOLONG;
	target[n] = '\0';
	*out = steal_pointer(&target);
	return 0;
}

/*
 * Append a change for the entry name in the upper directory dfd, at s->rel. st is the upper
 * entry (NULL for a deletion), host the host entry (NULL when the host has none).
 */
static int add_change(struct scan *s, enum change_kind kind, int dfd, const char *name,
		      const struct stat *st, const struct stat *host)
{
	struct change c = {0};
	int rc;

	if (st && S_ISLNK(st->st_mode)) {
		rc = changes_read_link(dfd, name, &c.link_target);
		if (rc < 0)
			return rc;
	}
	c.path = path_join(s->mount, s->rel.data);
	c.upper = path_join(s->upper, s->rel.data);
	c.kind = kind;
	c.mode = st ? st->st_mode : 0;
	c.size = st ? size_of(st) : 0;
	c.old_mode = host ? host->st_mode : 0;
	c.old_size = host ? size_of(host) : 0;
	if (st) {
		c.dev = st->st_dev;
		c.ino = st->st_ino;
		c.ctim = st->st_ctim;
	}
	c.seen = s->seen ? s->entry : 0;
	GROW(s->out->items, s->out->cap, s->out->n + 1);
	s->out->items[s->out->n++] = c;
	return 0;
}

/* Open a regular file for reading without following a symlink or blocking on a swapped fifo. */
static int open_regular(int dfd, const char *name)
{
	struct stat st;
	int fd;

	fd = openat(dfd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		return -EINVAL;
	}
	return fd;
}

/* Read up to len bytes, short only at end of file. Bytes read or -errno. */
static ssize_t read_full(int fd, char *p, size_t len)
{
	size_t got = 0;

	while (got < len) {
		ssize_t n = read(fd, p + got, len - got);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (n == 0)
			break;
		got += (size_t)n;
	}
	return (ssize_t)got;
}

/*
 * Whether the regular file name differs between the upper (dfd) and the host (hfd), whose sizes
 * are equal. 1 differ, 0 same, -errno on a read error. A file we cannot open (the program may
 * leave it mode 000) counts as different: we cannot show it is the same, and an unreported
 * change would be lost at commit.
 */
static int files_differ(struct scan *s, int dfd, int hfd, const char *name)
{
	cleanup_fd int a = open_regular(dfd, name);
	cleanup_fd int b = open_regular(hfd, name);

	if (a < 0 || b < 0)
		return 1;
	for (;;) {
		ssize_t na = read_full(a, s->cmp_a, CMP_CHUNK);
		ssize_t nb = read_full(b, s->cmp_b, CMP_CHUNK);

		if (na < 0)
			return (int)na;
		if (nb < 0)
			return (int)nb;
		if (na != nb || memcmp(s->cmp_a, s->cmp_b, (size_t)na) != 0)
			return 1;
		if (na < CMP_CHUNK)
			return 0;
	}
}

/* 1 when the two symlinks named name point to different targets, 0 when the same, or -errno. */
static int links_differ(int dfd, int hfd, const char *name)
{
	cleanup_free char *a = NULL;
	cleanup_free char *b = NULL;
	int rc;

	rc = changes_read_link(dfd, name, &a);
	if (rc == 0)
		rc = changes_read_link(hfd, name, &b);
	if (rc < 0)
		return rc;
	return strcmp(a, b) != 0;
}

/*
 * Open the upper directory name in dfd (st its lstat) for reading. The program may have left it
 * without read or search permission for us (chmod 000); the upper is ours, so grant u+rx for the
 * scan and set *restore to the mode to put back afterwards (else NO_RESTORE). fd or -errno.
 */
/*
 * Whether permission bits stop us reading or searching no directory (CAP_DAC_READ_SEARCH in
 * the namespace the store is in, as root has it). Then no chmod is needed, and none moves a
 * directory's ctime, which a handed-over change set is checked against (handover.h).
 */
static bool search_all(void)
{
	static int known = -1;
	struct __user_cap_header_struct hdr = {.version = _LINUX_CAPABILITY_VERSION_3};
	struct __user_cap_data_struct data[2] = {{0}};

	if (known < 0)
		known = syscall(SYS_capget, &hdr, data) == 0 &&
			(data[CAP_TO_INDEX(CAP_DAC_READ_SEARCH)].effective &
			 CAP_TO_MASK(CAP_DAC_READ_SEARCH));
	return known;
}

/*
 * Whether the upper directory st can be listed and looked into as it is. Without u+x (mode
 * 0400 copied from a host directory) open succeeds but nothing in it can be looked at: a
 * directory of ours missing either bit gets u+rx granted for the walk.
 */
static bool opens_as_is(const struct stat *st)
{
	return (st->st_mode & 0500) == 0500 || st->st_uid != geteuid() || search_all();
}

int changes_open_upper_dir(int dfd, const char *name, const struct stat *st, mode_t *restore)
{
	struct stat now;
	int fd;

	*restore = NO_RESTORE;
	if (opens_as_is(st)) {
		fd = openat(dfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		return fd >= 0 ? fd : -errno;
	}
	if (fchmodat(dfd, name, (st->st_mode & PERM_BITS) | 0500, AT_SYMLINK_NOFOLLOW) < 0)
		return -errno;
	*restore = st->st_mode & PERM_BITS;
	fd = openat(dfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	/* Only the directory we looked at may keep our chmod undone. */
	if (fstat(fd, &now) < 0 || now.st_dev != st->st_dev || now.st_ino != st->st_ino) {
		close(fd);
		return -ESTALE;
	}
	return fd;
}

/* 1 when the upper directory open at fd is opaque, 0 when not, or -errno. */
int changes_is_opaque(int fd)
{
	char val[2];
	ssize_t n;

	/*
	 * Exactly "y", as the kernel's ovl_is_opaquedir() reads it. Since Linux 6.7 "x" marks a
	 * directory holding xattr whiteouts, which the kernel honours in lower layers only. The
	 * program cannot forge either: overlayfs escapes user.overlay.* set through the mount
	 * (it lands as user.overlay.overlay.*).
	 */
	n = fgetxattr(fd, OPAQUE_XATTR, val, sizeof(val));
	if (n < 0)
		return errno == ENODATA || errno == ENOTSUP || errno == ERANGE ? 0 : -errno;
	return n == 1 && val[0] == 'y';
}

/* Reopen the directory above the one open at fd and check it is still want. fd or -errno. */
int changes_reopen_parent(int fd, const struct stat *want)
{
	struct stat st;
	int pfd;

	pfd = openat(fd, "..", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (pfd < 0)
		return -errno;
	if (fstat(pfd, &st) < 0) {
		int rc = -errno;

		close(pfd);
		return rc;
	}
	/* The program (if still running) moved directories under us: the walk is off. */
	if (st.st_dev != want->st_dev || st.st_ino != want->st_ino) {
		close(pfd);
		return -ESTALE;
	}
	return pfd;
}

static int scan_dir(struct scan *s, int *dfd, const struct stat *known, int hfd, int depth);

void scan_stat_of(struct scan_stat *to, const struct stat *st)
{
	*to = (struct scan_stat){.dev = st->st_dev,
				 .rdev = st->st_rdev,
				 .ino = st->st_ino,
				 .mode = st->st_mode,
				 .size = st->st_size,
				 .ctim = st->st_ctim};
}

void scan_seen_free(struct scan_seen *seen)
{
	size_t i;

	for (i = 0; i < seen->ndirs; i++)
		free(seen->dirs[i].rel);
	for (i = 0; i < seen->nentries; i++)
		free(seen->entries[i].name);
	free(seen->dirs);
	free(seen->entries);
	memset(seen, 0, sizeof(*seen));
}

/* Whether the file system of fd stamps ctimes in nanoseconds from this machine's clock. */
static bool fine_ctime(int fd)
{
	struct statfs sf;

	if (fstatfs(fd, &sf) < 0)
		return false;
	switch ((unsigned long)sf.f_type) {
	case EXT4_SUPER_MAGIC: /* ext2 and ext3 too: the same number */
	case XFS_SUPER_MAGIC:
	case BTRFS_SUPER_MAGIC:
	case TMPFS_MAGIC:
		return true;
	}
	return false;
}

/*
 * fine_ctime() of the file system of fd, whose st_dev is dev, asked once for a run of
 * directories on it: the upper directories are on one file system (the store's), the host's
 * on a few, and two fstatfs() per directory were a fifth of the scan's calls.
 */
static bool fine_ctime_of(struct fine_cache *c, int fd, dev_t dev)
{
	if (!c->known || c->dev != dev)
		*c = (struct fine_cache){.dev = dev, .known = true, .fine = fine_ctime(fd)};
	return c->fine;
}

/* Keep the upper directory being listed (self, before the listing) and its names. */
static int seen_dir(struct scan *s, int dfd, const struct stat *self, int hfd,
		    const struct strvec *ns)
{
	struct scan_seen *sn = s->seen;
	struct scan_seen_dir *d;
	struct stat hst;
	size_t i;

	if (hfd >= 0 && fstat(hfd, &hst) < 0)
		return -errno;
	GROW(sn->dirs, sn->dirs_cap, sn->ndirs + 1);
	d = &sn->dirs[sn->ndirs++];
	*d = (struct scan_seen_dir){.layer = s->layer_index,
				    .rel = xstrdup(s->rel.data),
				    .host = hfd >= 0,
				    .first = sn->nentries,
				    .n = ns->n,
				    .fine = fine_ctime_of(&s->fine[0], dfd, self->st_dev),
				    .hfine = hfd >= 0 &&
					     fine_ctime_of(&s->fine[1], hfd, hst.st_dev)};
	scan_stat_of(&d->st, self);
	if (hfd >= 0)
		scan_stat_of(&d->hst, &hst);
	GROW(sn->entries, sn->entries_cap, sn->nentries + ns->n);
	for (i = 0; i < ns->n; i++)
		sn->entries[sn->nentries++] = (struct scan_seen_entry){.name = xstrdup(ns->v[i])};
	return 0;
}

/* Keep the lstat of the name being looked at (s->entry), and the host's when looked up. */
static void seen_entry(struct scan *s, const struct stat *st, bool looked, const struct stat *host)
{
	struct scan_seen_entry *e = &s->seen->entries[s->entry];

	scan_stat_of(&e->st, st);
	e->host = !looked ? SCAN_HOST_NONE : host ? SCAN_HOST_PRESENT : SCAN_HOST_ABSENT;
	if (host)
		scan_stat_of(&e->hst, host);
}

/* Tell the observer, if any, of the entry name in dfd (at s->rel). */
static void observe(const struct scan *s, int dfd, const char *name, const struct stat *st,
		    bool opaque)
{
	if (s->obs)
		s->obs->entry(s->obs->arg, s->layer, dfd, name, s->rel.data, st, opaque);
}

/*
 * Classify a directory of the upper and descend into it. *dfd is its parent (self the parent's
 * fstat), hfd the host directory at the same place or -1. Below an added, replaced or
 * type-changed directory the host is not consulted (hfd -1), so every entry shows as new.
 */
static int scan_subdir(struct scan *s, int *dfd, const struct stat *self, int hfd, const char *name,
		       const struct stat *st, const struct stat *host, int depth)
{
	cleanup_fd int cfd = -1;
	cleanup_fd int chfd = -1;
	bool host_dir = host && S_ISDIR(host->st_mode);
	mode_t restore;
	int opaque, rc;

	cfd = changes_open_upper_dir(*dfd, name, st, &restore);
	if (cfd < 0)
		return cfd;
	opaque = changes_is_opaque(cfd);
	if (opaque < 0) {
		rc = opaque;
		goto out;
	}
	observe(s, *dfd, name, st, opaque);
	/*
	 * airlock made this directory to hold hidden-path whiteouts: not a change. An opaque one
	 * is the program's own (it removed and recreated the directory) and is reported.
	 */
	if (is_premade(s, s->rel.data) && !opaque)
		rc = 0;
	else if (!host)
		rc = add_change(s, CHANGE_DIR_ADDED, *dfd, name, st, NULL);
	else if (!host_dir)
		rc = add_change(s, CHANGE_TYPE_CHANGED, *dfd, name, st, host);
	else if (opaque)
		rc = add_change(s, CHANGE_DIR_REPLACED, *dfd, name, st, host);
	else if ((st->st_mode & PERM_BITS) != (host->st_mode & PERM_BITS))
		rc = add_change(s, CHANGE_MODE_CHANGED, *dfd, name, st, host);
	else
		rc = 0;
	if (rc < 0)
		goto out;
	if (host_dir && !opaque) {
		chfd = openat(hfd, name, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (chfd < 0 && errno != ENOENT && errno != ENOTDIR) {
			rc = -errno;
			goto out;
		}
		if (chfd < 0 && s->seen)
			s->seen->raced = true;
	}
	/*
	 * Hold one upper descriptor, not one per level: a tree 1024 deep would otherwise exhaust
	 * the usual 1024-descriptor limit. Host descriptors stay open: the host tree's own depth
	 * bounds them, the program cannot deepen it.
	 */
	close(*dfd);
	*dfd = -1;
	rc = scan_dir(s, &cfd, NULL, chfd, depth + 1);
	if (cfd >= 0) {
		int pfd = changes_reopen_parent(cfd, self);

		if (pfd < 0 && rc == 0)
			rc = pfd;
		*dfd = pfd;
	}
out:
	if (restore != NO_RESTORE && cfd >= 0 && fchmod(cfd, restore) < 0 && rc == 0)
		rc = -errno;
	return rc;
}

/* Classify the entry name of the upper directory *dfd, at s->rel. */
static int scan_entry(struct scan *s, int *dfd, const struct stat *self, int hfd, const char *name,
		      int depth)
{
	struct stat st, hst;
	const struct stat *host = NULL;
	int rc;

	if (fstatat(*dfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return -errno;
	if (hfd >= 0) {
		if (fstatat(hfd, name, &hst, AT_SYMLINK_NOFOLLOW) == 0)
			host = &hst;
		else if (errno != ENOENT && errno != ENOTDIR)
			return -errno;
	}
	if (s->seen)
		seen_entry(s, &st, hfd >= 0, host);

	if (S_ISDIR(st.st_mode))
		return scan_subdir(s, dfd, self, hfd, name, &st, host, depth);
	observe(s, *dfd, name, &st, false);

	if (is_whiteout(&st)) {
		/* A whiteout over nothing hides nothing: the host lost the entry meanwhile. */
		if (!host || is_premade_whiteout(s, s->rel.data))
			return 0;
		return add_change(s, CHANGE_DELETED, *dfd, name, NULL, host);
	}

	if (!host) {
		enum change_kind kind = S_ISLNK(st.st_mode) ? CHANGE_SYMLINK_ADDED : CHANGE_ADDED;

		return add_change(s, kind, *dfd, name, &st, NULL);
	}
	if ((st.st_mode & S_IFMT) != (hst.st_mode & S_IFMT))
		return add_change(s, CHANGE_TYPE_CHANGED, *dfd, name, &st, host);

	if (S_ISLNK(st.st_mode)) {
		rc = links_differ(*dfd, hfd, name);
		if (rc <= 0)
			return rc;
		return add_change(s, CHANGE_SYMLINK_CHANGED, *dfd, name, &st, host);
	}
	if (S_ISREG(st.st_mode)) {
		rc = st.st_size != hst.st_size ? 1 : files_differ(s, *dfd, hfd, name);
		if (rc < 0)
			return rc;
		if (rc)
			return add_change(s, CHANGE_MODIFIED, *dfd, name, &st, host);
	} else if ((S_ISCHR(st.st_mode) || S_ISBLK(st.st_mode)) && st.st_rdev != hst.st_rdev) {
		return add_change(s, CHANGE_MODIFIED, *dfd, name, &st, host);
	}
	if ((st.st_mode & PERM_BITS) != (hst.st_mode & PERM_BITS))
		return add_change(s, CHANGE_MODE_CHANGED, *dfd, name, &st, host);
	return 0;
}

static int cmp_name(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/*
 * Scan the upper directory open at *dfd (which may be closed and reopened meanwhile); known is
 * its fstat when the caller has it, else NULL.
 */
static int scan_dir(struct scan *s, int *dfd, const struct stat *known, int hfd, int depth)
{
	cleanup_strvec struct strvec ns = STRVEC_INIT;
	size_t base = s->rel.len;
	struct stat self;
	size_t i, first;
	int rc;

	if (depth > MAX_DEPTH)
		return -ELOOP;
	if (known)
		self = *known;
	else if (fstat(*dfd, &self) < 0)
		return -errno;
	rc = dir_list(*dfd, &ns);
	if (rc < 0)
		return rc;
	/* In byte order, so that the set comes out sorted (see sorted()) and errors are stable. */
	if (ns.n > 1)
		qsort(ns.v, ns.n, sizeof(*ns.v), cmp_name);
	first = s->seen ? s->seen->nentries : 0;
	if (s->seen) {
		rc = seen_dir(s, *dfd, &self, hfd, &ns);
		if (rc < 0)
			return rc;
	}
	for (i = 0; i < ns.n; i++) {
		if (base > 0)
			buf_addc(&s->rel, '/');
		buf_adds(&s->rel, ns.v[i]);
		s->entry = first + i;
		rc = scan_entry(s, dfd, &self, hfd, ns.v[i], depth);
		if (rc < 0) {
			if (!s->fail_rel)
				s->fail_rel = xstrdup(s->rel.data);
			return rc;
		}
		s->rel.len = base;
		s->rel.data[base] = '\0';
	}
	return 0;
}

static int cmp_change_path(const void *a, const void *b)
{
	const struct change *ca = a, *cb = b;

	return strcmp(ca->path, cb->path);
}

/*
 * Whether the scan's order is already the paths' byte order, as it mostly is (one layer, names
 * sorted in each directory; not when "a.b" sorts before "a/x"). A check is n comparisons, the
 * sort n log n even of a sorted list.
 */
static bool sorted(const struct change *v, size_t n)
{
	size_t i;

	for (i = 1; i < n; i++)
		if (strcmp(v[i - 1].path, v[i].path) > 0)
			return false;
	return true;
}

/*
 * Open a layer's upper directory upper for reading: *self is its fstat when the result says so.
 * Most are readable as they are, and an open and its fstat do, where an lstat first looked up
 * the whole path once more for each of a run's layers (35 as root). One the program left
 * without access for us (a chmod of the mount's root) is opened by changes_open_upper_dir().
 * fd or -errno.
 */
static int open_layer_root(const char *upper, struct stat *self, bool *have_self, mode_t *restore)
{
	struct stat st;
	int fd;

	*restore = NO_RESTORE;
	fd = open(upper, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	*have_self = fd >= 0 && fstat(fd, self) == 0 && opens_as_is(self);
	if (*have_self)
		return fd;
	if (fd >= 0)
		close(fd);
	if (lstat(upper, &st) < 0)
		return -errno;
	if (!S_ISDIR(st.st_mode))
		return -ENOTDIR;
	return changes_open_upper_dir(AT_FDCWD, upper, &st, restore);
}

static int scan_layer(const struct overlay_layer *layer, struct change_set *out, char *cmp,
		      struct scan_seen *seen, size_t index, const struct scan_observer *obs,
		      struct fine_cache *fine)
{
	struct scan s = {.layer = layer,
			 .out = out,
			 .cmp_a = cmp,
			 .cmp_b = cmp + CMP_CHUNK,
			 .seen = seen,
			 .layer_index = index,
			 .obs = obs,
			 .fine = fine};
	cleanup_fd int ufd = -1;
	cleanup_fd int hfd = -1;
	struct stat self;
	mode_t restore = NO_RESTORE;
	bool reported = false, have_self;
	int rc;

	s.mount = path_normalize(layer->mount_path);
	s.upper = path_absolute(layer->upper_dir);
	buf_init(&s.rel);
	if (!s.upper) {
		rc = -errno;
		goto out;
	}
	ufd = open_layer_root(s.upper, &self, &have_self, &restore);
	if (ufd < 0) {
		rc = ufd;
		goto out;
	}
	/* A host mount that vanished leaves nothing to compare with: all shows as new. */
	hfd = open(s.mount, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (hfd < 0 && errno != ENOENT && errno != ENOTDIR) {
		rc = error_errno("cannot open %s", s.mount);
		reported = true;
	} else {
		rc = scan_dir(&s, &ufd, have_self ? &self : NULL, hfd, 0);
	}
	/* Put the root's mode back whatever happened (ufd, reopened meanwhile, is still it). */
	if (restore != NO_RESTORE && ufd >= 0 && fchmod(ufd, restore) < 0 && rc == 0)
		rc = -errno;
out:
	if (rc < 0 && !reported)
		changes_walk_error("scan changes in", s.upper ? s.upper : layer->upper_dir,
				   s.fail_rel, rc);
	free(s.mount);
	free(s.upper);
	free(s.fail_rel);
	buf_release(&s.rel);
	return rc;
}

void changes_walk_error(const char *verb, const char *upper, const char *rel, int rc)
{
	cleanup_free char *full = path_join(upper, rel ? rel : "");
	cleanup_free char *shown = term_sanitize(full); /* names are the program's */

	if (rc == -ELOOP)
		error("cannot %s %s: deeper than %d levels", verb, shown, MAX_DEPTH);
	else
		error("cannot %s %s: %s", verb, shown, strerror(-rc));
}

int changes_scan(const struct overlay_layer *layers, size_t nlayers, struct change_set *out)
{
	return changes_scan_seen(layers, nlayers, out, NULL, NULL);
}

int changes_scan_seen(const struct overlay_layer *layers, size_t nlayers, struct change_set *out,
		      struct scan_seen *seen, const struct scan_observer *obs)
{
	cleanup_free char *cmp = xmalloc(2 * CMP_CHUNK);
	struct fine_cache fine[2] = {{0}};
	size_t start = out->n;
	size_t i;
	int rc;

	for (i = 0; i < nlayers; i++) {
		rc = scan_layer(&layers[i], out, cmp, seen, i, obs, fine);
		if (rc < 0) {
			/* All or nothing: the caller's set is left as it was. */
			while (out->n > start)
				change_clear(&out->items[--out->n]);
			if (seen)
				scan_seen_free(seen);
			return rc;
		}
	}
	if (!sorted(out->items + start, out->n - start))
		qsort(out->items + start, out->n - start, sizeof(*out->items), cmp_change_path);
	return 0;
}
