/* SPDX-License-Identifier: MIT */
/*
 * Unit tests for tracee/plan.h's collected overlays: the writable overlays of empty host
 * directories are bound from one collector, and nothing else is. The host's mounts are a
 * mountinfo file of the test's own: "/" and a mount inside a directory of the test's, so
 * that the directory's entries are each planned.
 */
#include "tracee/plan.h"

#include "common/buf.h"
#include "common/cleanup.h"
#include "common/err.h"
#include "common/path.h"
#include "tests/unit/tap.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <grp.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static char *base;

static char *at(const char *rel)
{
	return path_join(base, rel);
}

static void make_dir(const char *rel)
{
	cleanup_free char *p = at(rel);

	if (mkdir(p, 0755) < 0 && errno != EEXIST)
		die_errno("cannot create %s", p);
}

static void make_file(const char *rel)
{
	cleanup_free char *p = at(rel);
	int fd = open(p, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);

	if (fd < 0)
		die_errno("cannot create %s", p);
	close(fd);
}

static const struct plan_item *find(const struct plan *plan, const char *rel)
{
	cleanup_free char *p = at(rel);

	for (size_t i = 0; i < plan->n; i++)
		if (strcmp(plan->items[i].path, p) == 0)
			return &plan->items[i];
	return NULL;
}

static const struct plan_item *collector(const struct plan *plan, size_t *count)
{
	const struct plan_item *c = NULL;

	*count = 0;
	for (size_t i = 0; i < plan->n; i++)
		if (plan->items[i].kind == PLAN_COLLECTOR) {
			c = &plan->items[i];
			(*count)++;
		}
	return c;
}

static bool is_dir(const char *p)
{
	struct stat st;

	return p && stat(p, &st) == 0 && S_ISDIR(st.st_mode);
}

/* Whether the item is an overlay bound from the collector c. */
static bool bound_from(const struct plan_item *it, const struct plan_item *c)
{
	size_t n = strlen(c->upper);

	return it && c && it->kind == PLAN_OVERLAY && it->collected &&
	       strncmp(it->upper, c->upper, n) == 0 && it->upper[n] == '/' &&
	       !strchr(it->upper + n + 1, '/') && strcmp(it->work, c->work) == 0;
}

static int build(struct plan *plan, const char *session, bool collect, const char *const *hide,
		 size_t nhide, const char *const *ro, size_t nro)
{
	cleanup_free char *mountinfo = at("mountinfo");
	struct plan_opts o = {
		.session_dir = session,
		.hide = hide,
		.nhide = nhide,
		.readonly = ro,
		.nreadonly = nro,
		.mountinfo = mountinfo,
		.collect_empty = collect,
	};

	if (mkdir(session, 0700) < 0 && errno != EEXIST)
		die_errno("cannot create %s", session);
	return plan_build(plan, &o);
}

static void test_collected(void)
{
	cleanup_free char *session = at("s1");
	cleanup_free char *secret = at("hold/e3/secret");
	cleanup_free char *ro = at("hold/e4");
	const char *hide[] = {secret};
	const char *readonly[] = {ro};
	const struct plan_item *c, *e1, *e2;
	struct plan plan;
	size_t n;

	is_int(build(&plan, session, true, hide, 1, readonly, 1), 0, "the plan is built");
	c = collector(&plan, &n);
	is_int(n, 1, "one collector");
	ok(c && is_dir(c->bottom) && c->layer_to_make && !is_dir(c->upper),
	   "its empty lower directory is made with the plan, its upper directory is still to make");
	e1 = find(&plan, "hold/e1");
	e2 = find(&plan, "hold/e2");
	ok(c && e1 && plan_make_collector(&plan) == 0 && is_dir(c->upper) && is_dir(c->work) &&
		   is_dir(c->path) && plan_make_layer(e1) == 0 && is_dir(e1->upper),
	   "plan_make_collector() makes its directories, then a collected upper can be made");
	ok(bound_from(e1, c) && bound_from(e2, c),
	   "the empty directories' overlays are bound from it, each with an upper of its own");
	ok(e1 && e2 && strcmp(e1->upper, e2->upper) != 0, "their upper directories differ");
	ok(e1 && e1->layer_to_make && e1->have_attrs,
	   "the tracee makes each upper with the host directory's mode and times");
	ok(find(&plan, "hold/full") && !find(&plan, "hold/full")->collected,
	   "a directory with an entry keeps an overlay of its own");
	ok(find(&plan, "hold/e3") && !find(&plan, "hold/e3")->collected,
	   "so does an empty directory that holds a hidden path's whiteout");
	ok(find(&plan, "hold/e4") && !find(&plan, "hold/e4")->collected,
	   "and one with a read-only path in it");
	plan_free(&plan);
}

static void test_not_asked(void)
{
	cleanup_free char *session = at("s2");
	struct plan plan;
	size_t n;

	is_int(build(&plan, session, false, NULL, 0, NULL, 0), 0, "the plan is built");
	collector(&plan, &n);
	is_int(n, 0, "without collect_empty (a live session) there is no collector");
	ok(find(&plan, "hold/e1") && !find(&plan, "hold/e1")->collected,
	   "and every empty directory keeps its own overlay");
	plan_free(&plan);
}

/*
 * A directory that holds a mount has each entry planned: from the type its listing gives, a
 * symlink is copied, a file bound, anything else left out; the directories are lstat()ed.
 */
#define NMANY 1200

static void test_listed(void)
{
	cleanup_free char *session = at("s3");
	const struct plan_item *f, *l, *d;
	struct plan plan;
	size_t i, many = 0, sorted = 0;

	is_int(build(&plan, session, false, NULL, 0, NULL, 0), 0, "the plan is built");
	f = find(&plan, "hold/file");
	l = find(&plan, "hold/link");
	d = find(&plan, "hold/e1");
	ok(f && f->kind == PLAN_BIND_RO, "a file beside a mount is bound");
	ok(l && l->kind == PLAN_SYMLINK && strcmp(l->link, "full/f") == 0,
	   "a symlink is copied, with its target");
	ok(!find(&plan, "hold/fifo"), "a fifo is left out");
	ok(d && d->kind == PLAN_OVERLAY && d->maybe_empty, "a directory is an overlay");
	for (i = 0; i < plan.n; i++) {
		const char *it = plan.items[i].path, *prev = i ? plan.items[i - 1].path : "";

		if (!strstr(it, "/hold/many-") || plan.items[i].kind != PLAN_BIND_RO)
			continue;
		many++;
		sorted += !strstr(prev, "/hold/many-") || strcmp(prev, it) < 0;
	}
	is_int(many, NMANY, "every file of a listing longer than one read is bound");
	is_int(sorted, NMANY, "one after the other, in the order of their names");
	plan_free(&plan);
}

/* path relative to the session directory s when it lies in it, else itself. */
static const char *in_session(const char *path, const char *s)
{
	return path && path_is_under(path, s) ? path_rel(path, s) : path;
}

/* Whether two items are alike; paths in the session directories relative to them. */
static bool alike(const struct plan_item *a, const char *sa, const struct plan_item *b,
		  const char *sb)
{
	size_t i;

#define SAME_STR(x, y) ((!(x) && !(y)) || ((x) && (y) && strcmp(x, y) == 0))
	if (a->kind != b->kind || !SAME_STR(in_session(a->path, sa), in_session(b->path, sb)) ||
	    !SAME_STR(a->link, b->link) || a->mode != b->mode || a->ro != b->ro ||
	    a->noexec != b->noexec || a->hidden != b->hidden || a->is_dir != b->is_dir ||
	    a->collected != b->collected || a->maybe_empty != b->maybe_empty ||
	    a->layer_to_make != b->layer_to_make || a->have_attrs != b->have_attrs ||
	    a->upper_mode != b->upper_mode || a->npremade != b->npremade || a->nops != b->nops ||
	    !SAME_STR(in_session(a->upper, sa), in_session(b->upper, sb)) ||
	    !SAME_STR(in_session(a->work, sa), in_session(b->work, sb)) ||
	    !SAME_STR(in_session(a->bottom, sa), in_session(b->bottom, sb)))
		return false;
	for (i = 0; i < a->npremade; i++)
		if (strcmp(a->premade[i], b->premade[i]) != 0)
			return false;
	for (i = 0; i < a->nops; i++)
		if (strcmp(a->ops[i].rel, b->ops[i].rel) != 0 ||
		    a->ops[i].whiteout != b->ops[i].whiteout || a->ops[i].mode != b->ops[i].mode)
			return false;
#undef SAME_STR
	return true;
}

static int build_host(struct plan *plan, const char *session, const char *const *hide, size_t nhide)
{
	struct plan_opts o = {
		.session_dir = session, .hide = hide, .nhide = nhide, .collect_empty = true};

	if (mkdir(session, 0700) < 0 && errno != EEXIST)
		die_errno("cannot create %s", session);
	return plan_build(plan, &o);
}

/*
 * The plan of this host's own root built twice, with the planner's shortcuts and without
 * (each entry lstat()ed and access-checked): the number of items that differ, or -1.
 */
static int host_differs(const char *s1, const char *s2)
{
	const char *home = getenv("HOME") ? getenv("HOME") : "/root";
	cleanup_free char *h1 = path_join(home, ".ssh"), *h2 = path_join(home, ".config/gh");
	cleanup_free char *h3 = at("hold/full/f");
	const char *hide[] = {h1, h2, h3};
	struct plan fast, slow;
	int rc1, rc2, differ = 0;

	rc1 = build_host(&fast, s1, hide, ARRAY_SIZE(hide));
	setenv("AIRLOCK_TEST_FEATURES_OFF", "plan_shortcuts", 1);
	rc2 = build_host(&slow, s2, hide, ARRAY_SIZE(hide));
	unsetenv("AIRLOCK_TEST_FEATURES_OFF");
	if (rc1 < 0 || rc2 < 0)
		differ = -1;
	else if (fast.n != slow.n)
		differ = (int)(fast.n > slow.n ? fast.n - slow.n : slow.n - fast.n);
	for (size_t i = 0; differ >= 0 && i < fast.n && i < slow.n; i++)
		if (!alike(&fast.items[i], s1, &slow.items[i], s2)) {
			printf("#   differs: %s\n", fast.items[i].path);
			differ++;
		}
	if (rc1 == 0)
		plan_free(&fast);
	if (rc2 == 0)
		plan_free(&slow);
	return differ;
}

/* host_differs() as nobody, an unprivileged user whose writes the modes decide. */
static int host_differs_as_nobody(void)
{
	cleanup_free char *dir = at("nobody"), *s1 = at("nobody/1"), *s2 = at("nobody/2");
	int status;
	pid_t pid;

	if (mkdir(dir, 0700) < 0 || chown(dir, 65534, 65534) < 0 || chmod(base, 0755) < 0)
		die_errno("cannot create %s", dir);
	pid = fork();
	if (pid < 0)
		die_errno("cannot fork");
	if (pid == 0) {
		if (setgroups(0, NULL) < 0 || setresgid(65534, 65534, 65534) < 0 ||
		    setresuid(65534, 65534, 65534) < 0)
			_exit(127);
		_exit(host_differs(s1, s2) == 0 ? 0 : 1);
	}
	if (waitpid(pid, &status, 0) < 0 || !WIFEXITED(status))
		return -1;
	return WEXITSTATUS(status) == 127 ? -1 : WEXITSTATUS(status);
}

/*
 * The plan of this host's own root, as the one who runs the tests (and as nobody, for root),
 * is the same whether the planner trusts what the directories' listings say of their entries
 * and the modes that refuse a write, or lstat()s and access-checks each entry.
 */
static void test_host_same(void)
{
	cleanup_free char *s1 = at("host1"), *s2 = at("host2");

	is_int(host_differs(s1, s2), 0, "the host's plan is the same with the shortcuts");
	/* (Run by someone else, the check above was the unprivileged one.) */
	if (geteuid() == 0)
		is_int(host_differs_as_nobody(), 0, "and so it is for nobody");
}

int main(void)
{
	char tmpl[] = "/tmp/airlock-test-plan.XXXXXX";
	cleanup_free char *inner = NULL, *mountinfo = NULL;
	FILE *f;

	if (!mkdtemp(tmpl))
		die_errno("cannot create a temporary directory");
	base = tmpl;
	make_dir("hold");
	make_dir("hold/e1");
	make_dir("hold/e2");
	make_dir("hold/e3");
	make_dir("hold/e4");
	make_dir("hold/full");
	make_file("hold/full/f");
	make_dir("hold/inner");
	make_file("hold/file");
	{
		cleanup_free char *link = at("hold/link"), *fifo = at("hold/fifo");

		if (symlink("full/f", link) < 0 || mkfifo(fifo, 0644) < 0)
			die_errno("cannot create %s or %s", link, fifo);
	}
	for (int i = 0; i < NMANY; i++) {
		cleanup_free char *name = xasprintf("hold/many-%0*d", 60, i);

		make_file(name);
	}
	inner = at("hold/inner");
	mountinfo = at("mountinfo");
	f = fopen(mountinfo, "we");
	if (!f)
		die_errno("cannot write %s", mountinfo);
	fprintf(f, "1 0 8:1 / / rw,relatime - ext4 /dev/root rw\n");
	fprintf(f, "2 1 0:99 / %s rw,relatime - ext4 /dev/other rw\n", inner);
	fclose(f);
	test_collected();
	test_not_asked();
	test_listed();
	test_host_same();
	{
		cleanup_free char *cmd = xasprintf("rm -rf '%s'", base);

		(void)!system(cmd);
	}
	return tap_done();
}
