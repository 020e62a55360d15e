/* SPDX-License-Identifier: MIT */
/* Unit tests for the change set: fake host and upper trees, then a real overlay when allowed. */
#include "supervisor/changeset/changes.h"

#include "common/buf.h"
#include "common/cleanup.h"
#include "common/path.h"
#include "tests/unit/tap.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

static char base[PATH_MAX];
static bool can_whiteout, can_opaque;

/* base/rel; caller frees. */
static char *at(const char *rel)
{
	return path_join(base, rel);
}

static void make_file(const char *rel, const char *content, mode_t mode)
{
	cleanup_free char *p = at(rel);
	cleanup_fd int fd = open(p, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);

	if (fd < 0 || write(fd, content, strlen(content)) != (ssize_t)strlen(content) ||
	    fchmod(fd, mode) < 0)
		printf("# cannot create %s: %s\n", rel, strerror(errno));
}

static void make_dir(const char *rel, mode_t mode)
{
	cleanup_free char *p = at(rel);

	if (mkdir(p, 0700) < 0 || chmod(p, mode) < 0)
		printf("# cannot mkdir %s: %s\n", rel, strerror(errno));
}

static void make_link(const char *rel, const char *target)
{
	cleanup_free char *p = at(rel);

	if (symlink(target, p) < 0)
		printf("# cannot symlink %s: %s\n", rel, strerror(errno));
}

static bool make_whiteout(const char *rel)
{
	cleanup_free char *p = at(rel);

	return mknod(p, S_IFCHR | 0, makedev(0, 0)) == 0;
}

static bool make_opaque(const char *rel)
{
	cleanup_free char *p = at(rel);

	return setxattr(p, "user.overlay.opaque", "y", 1, 0) == 0;
}

static const struct change *find(const struct change_set *cs, const char *rel)
{
	cleanup_free char *p = at(rel);
	size_t i;

	for (i = 0; i < cs->n; i++)
		if (strcmp(cs->items[i].path, p) == 0)
			return &cs->items[i];
	return NULL;
}

static const char *kind_of(const struct change_set *cs, const char *rel)
{
	const struct change *c = find(cs, rel);

	return c ? change_kind_name(c->kind) : "(none)";
}

/* Check the kind of the change at base/rel; when the fixture step was not possible, skip. */
#define kind_is(cs, rel, want, possible, ...)                                                      \
	do {                                                                                       \
		if (possible)                                                                      \
			is_str(kind_of(cs, rel), want, __VA_ARGS__);                               \
		else                                                                               \
			skip("cannot make whiteouts or opaque dirs here", __VA_ARGS__);            \
	} while (0)

static bool sorted(const struct change_set *cs)
{
	size_t i;

	for (i = 1; i < cs->n; i++)
		if (strcmp(cs->items[i - 1].path, cs->items[i].path) >= 0)
			return false;
	return true;
}

static void test_kind_names(void)
{
	static const char *const want[] = {
		"added",	 "modified",	    "deleted",	    "dir-added",    "dir-replaced",
		"symlink-added", "symlink-changed", "type-changed", "mode-changed",
	};
	size_t i;
	int same = 1;

	for (i = 0; i < ARRAY_SIZE(want); i++)
		if (strcmp(change_kind_name((enum change_kind)i), want[i]) != 0)
			same = 0;
	ok(same, "change_kind_name gives the documented names");
}

/* The char device 0/0 and the user.overlay.opaque xattr, as the fixture needs them. */
static void probe_overlay_marks(void)
{
	make_file("probe", "", 0644);
	make_dir("probedir", 0755);
	can_whiteout = make_whiteout("probe-wh");
	can_opaque = make_opaque("probedir");
	if (!can_whiteout)
		printf("# mknod of a whiteout is not permitted: %s\n", strerror(errno));
	if (!can_opaque)
		printf("# user.overlay.opaque cannot be set: %s\n", strerror(errno));
}

static size_t build_layer_a(void)
{
	bool wo = can_whiteout, op = can_opaque;
	size_t n = 0;

	make_dir("h", 0755);
	make_dir("u", 0755);

	make_file("u/new.txt", "new\n", 0644), n++;
	make_file("h/mod.txt", "old\n", 0644);
	make_file("u/mod.txt", "newer\n", 0644), n++;
	make_file("h/mod2.txt", "aaaa", 0644);
	make_file("u/mod2.txt", "aaab", 0644), n++;
	make_file("h/same.txt", "same", 0644);
	make_file("u/same.txt", "same", 0644);
	make_file("h/chm.txt", "x", 0644);
	make_file("u/chm.txt", "x", 0600), n++;

	make_file("h/gone.txt", "bye", 0644);
	if (wo && make_whiteout("u/gone.txt"))
		n++;
	make_dir("h/gonedir", 0755);
	make_file("h/gonedir/a", "a", 0644);
	make_file("h/gonedir/b", "b", 0644);
	if (wo && make_whiteout("u/gonedir"))
		n++;
	if (wo)
		make_whiteout("u/ghost");

	make_dir("u/newdir", 0755), n++;
	make_file("u/newdir/f1", "1", 0644), n++;
	make_dir("u/newdir/sub", 0750), n++;
	make_file("u/newdir/sub/f2", "2", 0644), n++;
	make_link("u/newdir/ln", "x"), n++;

	make_dir("h/repl", 0755);
	make_file("h/repl/old1", "o", 0644);
	make_file("h/repl/gone", "g", 0644);
	make_dir("u/repl", 0755), n++;
	make_file("u/repl/n1", "n", 0644), n++;
	make_file("u/repl/old1", "o", 0644), n++;
	if (op)
		make_opaque("u/repl");

	make_dir("h/merged", 0755);
	make_file("h/merged/keep", "k", 0644);
	make_dir("u/merged", 0755);
	make_file("u/merged/keep", "k", 0644);
	make_file("u/merged/newin", "n", 0644), n++;
	make_dir("h/mdir", 0755);
	make_dir("u/mdir", 0700), n++;

	make_link("u/sl_new", "t1"), n++;
	make_link("h/sl_ch", "a");
	make_link("u/sl_ch", "b"), n++;
	make_link("h/sl_same", "a");
	make_link("u/sl_same", "a");

	make_file("h/t_fd", "file", 0644);
	make_dir("u/t_fd", 0755), n++;
	make_file("u/t_fd/c", "c", 0644), n++;
	if (op)
		make_opaque("u/t_fd");
	make_dir("h/t_df", 0755);
	make_file("h/t_df/x", "x", 0644);
	make_file("u/t_df", "now a file", 0644), n++;
	make_file("h/t_fl", "file", 0644);
	make_link("u/t_fl", "x"), n++;
	make_link("h/t_ld", "somewhere");
	/* Not opaque on purpose: a directory over a non-directory never merges. */
	make_dir("u/t_ld", 0755), n++;
	make_file("u/t_ld/c", "c", 0644), n++;

	{
		cleanup_free char *p = at("u/fifo");

		if (mkfifo(p, 0640) == 0)
			n++;
	}

	/* premade: a hidden-path whiteout, its parent, and one the program replaced. */
	make_file("h/hidden", "secret", 0600);
	if (wo)
		make_whiteout("u/hidden");
	make_dir("h/pdir", 0755);
	make_file("h/pdir/secret", "s", 0600);
	make_dir("u/pdir", 0700);
	if (wo)
		make_whiteout("u/pdir/secret");
	make_file("u/pdir/newfile", "n", 0644), n++;
	make_file("h/prepl", "secret", 0600);
	make_file("u/prepl", "planted", 0600), n++;
	/* A premade parent the program removed (rm -rf of a parent of a hidden path). */
	make_dir("h/pdel", 0755);
	make_file("h/pdel/secret", "s", 0600);
	if (wo)
		make_whiteout("u/pdel"), n++;

	make_file("u/nl\nname\x1b", "odd", 0644), n++;

	make_file("h/z000", "same", 0644);
	make_file("u/z000", "same", 0), n++;
	make_file("u/new000", "x", 0), n++;
	make_dir("u/d000", 0755), n++;
	make_file("u/d000/inner", "i", 0644), n++;
	{
		cleanup_free char *p = at("u/d000");

		chmod(p, 0);
	}
	return n;
}

static size_t build_layer_b(void)
{
	make_dir("g", 0755);
	make_dir("ub", 0755);
	make_file("g/b1", "b", 0644);
	make_file("ub/b1", "B", 0644);
	make_file("ub/a0", "a", 0644);
	make_file("ub/zz", "z", 0644);
	return 3;
}

/*
 * Layer C is mounted on "/": its upper mirrors the real path down to base/c, each directory with
 * the real one's mode so that only base/c/in-root is a change.
 */
static size_t build_layer_c(void)
{
	cleanup_free char *upper = at("r");
	struct buf p = BUF_INIT;
	const char *s = base;

	make_dir("c", 0755);
	make_dir("r", 0755);
	make_file("c/existing", "e", 0644);
	buf_init(&p);
	for (;;) {
		cleanup_free char *real = NULL;
		cleanup_free char *mirror = NULL;
		const char *slash;
		struct stat st;

		while (*s == '/')
			s++;
		if (!*s)
			break;
		slash = strchr(s, '/');
		if (p.len)
			buf_addc(&p, '/');
		buf_add(&p, s, slash ? (size_t)(slash - s) : strlen(s));
		s = slash ? slash : s + strlen(s);
		real = path_join("/", p.data);
		mirror = path_join(upper, p.data);
		if (lstat(real, &st) < 0 || mkdir(mirror, 0700) < 0 ||
		    chmod(mirror, st.st_mode & 07777))
			printf("# cannot mirror %s: %s\n", real, strerror(errno));
	}
	{
		cleanup_free char *c = path_join(p.data, "c");
		cleanup_free char *mirror = path_join(upper, c);
		cleanup_free char *f = path_join(mirror, "in-root");
		cleanup_fd int fd = -1;

		if (mkdir(mirror, 0700) < 0 || chmod(mirror, 0755) < 0)
			printf("# cannot mkdir %s: %s\n", mirror, strerror(errno));
		fd = open(f, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
		if (fd < 0 || write(fd, "r", 1) != 1)
			printf("# cannot create %s: %s\n", f, strerror(errno));
	}
	buf_release(&p);
	return 1;
}

static void test_fixture(void)
{
	const char *const premade[] = {"hidden", "pdir", "pdir/secret",
				       "prepl",	 "pdel", "pdel/secret"};
	cleanup_free char *mount_a = at("h");
	cleanup_free char *upper_a = at("u");
	cleanup_free char *mount_b = at("g/"); /* trailing slash: normalised away */
	cleanup_free char *upper_b = at("ub");
	cleanup_free char *upper_c = at("r");
	struct overlay_layer layers[] = {
		{mount_a, upper_a, premade, ARRAY_SIZE(premade)},
		{mount_b, upper_b, NULL, 0},
		{"/", upper_c, NULL, 0},
	};
	struct change_set cs = {0};
	const struct change *c;
	bool wo = can_whiteout, op = can_opaque;
	size_t want;
	int rc;

	want = build_layer_a() + build_layer_b() + build_layer_c();
	rc = changes_scan(layers, ARRAY_SIZE(layers), &cs);
	is_int(rc, 0, "scan of three layers succeeds");
	is_int(cs.n, want, "exactly the expected number of changes");
	ok(sorted(&cs), "changes are sorted by path across layers");
	{
		cleanup_free char *first = at("c/in-root");

		is_str(cs.n ? cs.items[0].path : NULL, first, "the layer given last sorts first");
	}
	ok(find(&cs, "g/zz") && find(&cs, "h/new.txt") &&
		   find(&cs, "g/zz") < find(&cs, "h/new.txt"),
	   "layer b (g) sorts before layer a (h)");

	is_str(kind_of(&cs, "h/new.txt"), "added", "new file is added");
	c = find(&cs, "h/new.txt");
	ok(c && c->mode == (S_IFREG | 0644) && c->size == 4 && c->old_mode == 0 && c->old_size == 0,
	   "added file has its mode and size, no old ones");
	{
		cleanup_free char *up = at("u/new.txt");

		is_str(c ? c->upper : NULL, up, "upper is the absolute upper path");
	}
	is_str(kind_of(&cs, "h/mod.txt"), "modified", "file of another size is modified");
	c = find(&cs, "h/mod.txt");
	ok(c && c->size == 6 && c->old_size == 4 && c->old_mode == (S_IFREG | 0644),
	   "modified file has new and old size");
	is_str(kind_of(&cs, "h/mod2.txt"), "modified", "same size, other content is modified");
	is_str(kind_of(&cs, "h/same.txt"), "(none)", "same content and mode is not a change");
	is_str(kind_of(&cs, "h/chm.txt"), "mode-changed", "same content, other mode");
	c = find(&cs, "h/chm.txt");
	ok(c && c->mode == (S_IFREG | 0600) && c->old_mode == (S_IFREG | 0644),
	   "mode change keeps both modes");

	kind_is(&cs, "h/gone.txt", "deleted", wo, "whiteout over a file is deleted");
	c = find(&cs, "h/gone.txt");
	if (wo)
		ok(c && c->mode == 0 && c->size == 0 && c->old_mode == (S_IFREG | 0644) &&
			   c->old_size == 3,
		   "deleted file has the host mode and size only");
	kind_is(&cs, "h/gonedir", "deleted", wo, "whiteout over a directory is deleted");
	c = find(&cs, "h/gonedir");
	if (wo)
		ok(c && S_ISDIR(c->old_mode), "deleted directory keeps the host directory mode");
	is_str(kind_of(&cs, "h/gonedir/a"), "(none)", "a deleted directory is one entry");
	is_str(kind_of(&cs, "h/ghost"), "(none)", "whiteout over nothing is not reported");

	is_str(kind_of(&cs, "h/newdir"), "dir-added", "new directory is dir-added");
	is_str(kind_of(&cs, "h/newdir/f1"), "added", "file in a new directory is listed");
	is_str(kind_of(&cs, "h/newdir/sub"), "dir-added", "directory in a new directory is listed");
	c = find(&cs, "h/newdir/sub");
	ok(c && c->mode == (S_IFDIR | 0750) && c->size == 0, "dir-added has its mode, size 0");
	is_str(kind_of(&cs, "h/newdir/sub/f2"), "added",
	       "nested file in a new directory is listed");
	is_str(kind_of(&cs, "h/newdir/ln"), "symlink-added",
	       "symlink in a new directory is listed");

	kind_is(&cs, "h/repl", "dir-replaced", op, "opaque directory over a host one is replaced");
	is_str(kind_of(&cs, "h/repl/n1"), "added", "new file in a replaced directory is added");
	kind_is(&cs, "h/repl/old1", "added", op,
		"same file in a replaced directory is still added");
	is_str(kind_of(&cs, "h/repl/gone"), "(none)",
	       "host content of a replaced dir is not listed");

	is_str(kind_of(&cs, "h/merged"), "(none)", "merged directory with the same mode is silent");
	is_str(kind_of(&cs, "h/merged/keep"), "(none)", "unchanged file in a merged dir is silent");
	is_str(kind_of(&cs, "h/merged/newin"), "added", "new file in a merged directory");
	is_str(kind_of(&cs, "h/mdir"), "mode-changed", "merged directory with another mode");

	is_str(kind_of(&cs, "h/sl_new"), "symlink-added", "new symlink");
	c = find(&cs, "h/sl_new");
	is_str(c ? c->link_target : NULL, "t1", "new symlink has its target");
	ok(c && S_ISLNK(c->mode) && c->size == 2, "new symlink has its mode and size");
	is_str(kind_of(&cs, "h/sl_ch"), "symlink-changed", "symlink with another target");
	c = find(&cs, "h/sl_ch");
	is_str(c ? c->link_target : NULL, "b", "changed symlink has the new target");
	is_str(kind_of(&cs, "h/sl_same"), "(none)", "symlink with the same target is silent");

	is_str(kind_of(&cs, "h/t_fd"), "type-changed", "file -> directory");
	c = find(&cs, "h/t_fd");
	ok(c && S_ISDIR(c->mode) && S_ISREG(c->old_mode), "file -> directory modes");
	is_str(kind_of(&cs, "h/t_fd/c"), "added", "content of a file-turned-directory is added");
	is_str(kind_of(&cs, "h/t_df"), "type-changed", "directory -> file");
	is_str(kind_of(&cs, "h/t_df/x"), "(none)",
	       "host content under a dir-turned-file is silent");
	is_str(kind_of(&cs, "h/t_fl"), "type-changed", "file -> symlink");
	c = find(&cs, "h/t_fl");
	is_str(c ? c->link_target : NULL, "x", "file -> symlink has the target");
	is_str(kind_of(&cs, "h/t_ld"), "type-changed", "symlink -> directory");
	is_str(kind_of(&cs, "h/t_ld/c"), "added", "content of a symlink-turned-directory is added");

	is_str(kind_of(&cs, "h/fifo"), "added", "fifo is added");
	c = find(&cs, "h/fifo");
	ok(c && S_ISFIFO(c->mode), "fifo keeps its type");

	kind_is(&cs, "h/hidden", "(none)", wo, "premade whiteout is not reported");
	is_str(kind_of(&cs, "h/pdir"), "(none)", "premade directory is not reported");
	is_str(kind_of(&cs, "h/pdir/secret"), "(none)",
	       "premade whiteout below it is not reported");
	is_str(kind_of(&cs, "h/pdir/newfile"), "added", "premade directory is still descended");
	is_str(kind_of(&cs, "h/prepl"), "modified",
	       "premade whiteout the program replaced is shown");
	kind_is(&cs, "h/pdel", "deleted", wo,
		"premade directory the program deleted is shown as its deletion");
	is_str(kind_of(&cs, "h/pdel/secret"), "(none)",
	       "... and the hidden path below it is not listed");

	is_str(kind_of(&cs, "h/nl\nname\x1b"), "added", "name with a newline and ESC byte");

	c = find(&cs, "h/z000");
	ok(c && (c->kind == CHANGE_MODIFIED || c->kind == CHANGE_MODE_CHANGED) &&
		   c->mode == S_IFREG,
	   "mode 000 file over the same content is reported (%s)",
	   c ? change_kind_name(c->kind) : "");
	c = find(&cs, "h/new000");
	ok(c && c->kind == CHANGE_ADDED && c->mode == S_IFREG, "mode 000 new file is added");
	c = find(&cs, "h/d000");
	ok(c && c->kind == CHANGE_DIR_ADDED && c->mode == S_IFDIR, "mode 000 directory is added");
	is_str(kind_of(&cs, "h/d000/inner"), "added", "file inside a mode 000 directory is listed");
	{
		cleanup_free char *p = at("u/d000");
		struct stat st;

		ok(lstat(p, &st) == 0 && (st.st_mode & 07777) == 0,
		   "mode 000 directory is left as the program made it");
	}

	is_str(kind_of(&cs, "g/b1"), "modified", "layer b: modified");
	is_str(kind_of(&cs, "g/a0"), "added", "layer b: added");
	{
		cleanup_free char *p = at("g/zz");

		c = find(&cs, "g/zz");
		is_str(c ? c->path : NULL, p, "trailing slash of a mount path is normalised");
	}

	c = find(&cs, "c/in-root");
	is_str(c ? change_kind_name(c->kind) : "(none)", "added", "layer on / reports its change");
	{
		cleanup_free char *p = at("c/in-root");

		is_str(c ? c->path : NULL, p, "layer on / joins paths with one slash");
	}
	is_str(kind_of(&cs, "c"), "(none)", "layer on /: mirrored directories are silent");

	change_set_free(&cs);
	ok(cs.items == NULL && cs.n == 0 && cs.cap == 0, "change_set_free zeroes the set");
}

/* A chain of n directories "d" below base/rel. */
static void make_chain(const char *rel, int n)
{
	cleanup_free char *p = at(rel);
	int fd = open(p, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	int i;

	for (i = 0; i < n && fd >= 0; i++) {
		int next;

		mkdirat(fd, "d", 0755);
		next = openat(fd, "d", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		close(fd);
		fd = next;
	}
	if (fd >= 0)
		close(fd);
}

/* Remove the chain bottom-up holding one descriptor: rm_rf would need one per level. */
static void remove_chain(const char *rel)
{
	cleanup_free char *p = at(rel);
	int fd = open(p, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	int depth = 0;

	for (;;) {
		int next = openat(fd, "d", O_RDONLY | O_DIRECTORY | O_CLOEXEC);

		if (next < 0)
			break;
		close(fd);
		fd = next;
		depth++;
	}
	while (depth-- > 0 && fd >= 0) {
		int up = openat(fd, "..", O_RDONLY | O_DIRECTORY | O_CLOEXEC);

		close(fd);
		fd = up;
		if (fd >= 0)
			unlinkat(fd, "d", AT_REMOVEDIR);
	}
	if (fd >= 0)
		close(fd);
}

static void test_depth(void)
{
	cleanup_free char *upper = at("deep");
	cleanup_free char *mount = at("nohost");
	struct overlay_layer layer = {mount, upper, NULL, 0};
	struct change_set cs = {0};
	size_t i;
	int rc, all = 1;

	make_dir("deep", 0755);
	make_chain("deep", 1024);
	rc = changes_scan(&layer, 1, &cs);
	is_int(rc, 0, "a tree 1024 deep is scanned");
	is_int(cs.n, 1024, "every level of it is listed");
	for (i = 0; i < cs.n; i++)
		if (cs.items[i].kind != CHANGE_DIR_ADDED)
			all = 0;
	ok(all, "each level is dir-added");
	change_set_free(&cs);

	remove_chain("deep");
	make_chain("deep", 1025);
	rc = changes_scan(&layer, 1, &cs);
	is_int(rc, -ELOOP, "a tree 1025 deep stops the scan with ELOOP");
	is_int(cs.n, 0, "a failed scan leaves the set as it was");
	change_set_free(&cs);
	remove_chain("deep");
}

/*
 * The conventions above, checked against the kernel: a real overlay in a user and mount
 * namespace, changed by ordinary commands, then scanned.
 */
static void test_real_overlay(const char *self)
{
	cleanup_free char *h = at("ov/h");
	cleanup_free char *u = at("ov/u");
	cleanup_free char *w = at("ov/w");
	cleanup_free char *m = at("ov/m");
	cleanup_free char *cmd = NULL;
	struct overlay_layer layer = {h, u, NULL, 0};
	struct change_set cs = {0};
	const char *why = NULL;
	const char *desc = "real overlay: the scan matches what the commands did";
	int rc;

	if (system("unshare -rm true >/dev/null 2>&1") != 0)
		why = "unshare -rm is not permitted here";
	if (!why) {
		make_dir("ov", 0755);
		make_dir("ov/h", 0755);
		make_dir("ov/u", 0755);
		make_dir("ov/w", 0755);
		make_dir("ov/m", 0755);
		make_dir("ov/h/d", 0755);
		make_file("ov/h/d/a", "a", 0644);
		make_file("ov/h/f", "f", 0644);
		make_file("ov/h/edit", "one\n", 0644);
		make_file("ov/h/perm", "p", 0644);
		make_file("ov/h/touched", "t", 0644);
		make_dir("ov/h/repl", 0755);
		make_file("ov/h/repl/old", "o", 0644);
		make_dir("ov/h/forged", 0755);
		make_file("ov/h/forged/k", "k", 0644);
		cmd = xasprintf(
			"unshare -rm sh -ec 'mount -t overlay overlay -o "
			"lowerdir=%s,upperdir=%s,workdir=%s,userxattr %s; cd %s; "
			"rm -rf d; rm f; echo two >> edit; chmod 600 perm; touch touched; "
			"ln -s target link; mkdir newdir; echo x > newdir/inside; "
			"rm -rf repl; mkdir repl; echo y > repl/new; touch forged/n; "
			"mkdir tmpdir; rmdir tmpdir; %s --forge-opaque forged' >/dev/null 2>&1",
			h, u, w, m, m, self);
		if (system(cmd) != 0)
			why = "cannot mount an unprivileged overlay (needs Linux >= 5.11)";
	}
	if (why) {
		skip(why, "%s", desc);
		return;
	}
	rc = changes_scan(&layer, 1, &cs);
	is_int(rc, 0, "real overlay: scan succeeds");
	is_int(cs.n, 10, "real overlay: ten changes, none from overlayfs's own bookkeeping");
	is_str(kind_of(&cs, "ov/h/d"), "deleted", "real overlay: rm -rf dir is a whiteout");
	is_str(kind_of(&cs, "ov/h/f"), "deleted", "real overlay: rm file is a whiteout");
	is_str(kind_of(&cs, "ov/h/edit"), "modified", "real overlay: appended file is modified");
	is_str(kind_of(&cs, "ov/h/perm"), "mode-changed", "real overlay: chmod is mode-changed");
	is_str(kind_of(&cs, "ov/h/touched"), "(none)", "real overlay: touch alone is not a change");
	is_str(kind_of(&cs, "ov/h/link"), "symlink-added", "real overlay: ln -s");
	is_str(kind_of(&cs, "ov/h/newdir"), "dir-added", "real overlay: mkdir");
	is_str(kind_of(&cs, "ov/h/newdir/inside"), "added", "real overlay: file in the new dir");
	is_str(kind_of(&cs, "ov/h/repl"), "dir-replaced", "real overlay: rm -rf + mkdir is opaque");
	is_str(kind_of(&cs, "ov/h/repl/new"), "added", "real overlay: file in the replaced dir");
	is_str(kind_of(&cs, "ov/h/forged"), "(none)",
	       "real overlay: user.overlay.opaque set through the mount is not honoured");
	is_str(kind_of(&cs, "ov/h/forged/n"), "added", "real overlay: file in a merged dir");
	is_str(kind_of(&cs, "ov/h/tmpdir"), "(none)", "real overlay: mkdir + rmdir leaves nothing");
	change_set_free(&cs);
}

int main(int argc, char **argv)
{
	cleanup_free char *self = NULL;
	char tmpl[PATH_MAX];
	const char *tmp = getenv("TMPDIR");

	/* Run inside the test overlay: try to forge an opaque directory as a program would. */
	if (argc == 3 && strcmp(argv[1], "--forge-opaque") == 0) {
		if (setxattr(argv[2], "user.overlay.opaque", "y", 1, 0) < 0)
			fprintf(stderr, "setxattr %s: %s\n", argv[2], strerror(errno));
		return 0;
	}

	setvbuf(stdout, NULL, _IONBF, 0);
	umask(022);
	self = realpath("/proc/self/exe", NULL);
	snprintf(tmpl, sizeof(tmpl), "%s/airlock-changes-XXXXXX", tmp && *tmp ? tmp : "/tmp");
	if (!mkdtemp(tmpl) || !realpath(tmpl, base)) {
		printf("Bail out! cannot make a temporary directory: %s\n", strerror(errno));
		return 1;
	}

	test_kind_names();
	probe_overlay_marks();
	test_fixture();
	test_depth();
	test_real_overlay(self ? self : argv[0]);

	if (rm_rf(base) < 0)
		printf("# cannot remove %s\n", base);
	return tap_done();
}
