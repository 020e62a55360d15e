/* SPDX-License-Identifier: MIT */
/*
 * Unit tests for the hidden paths' resolution (supervisor/supervise/run_opts.c): one batch
 * resolves each prefix once, and says what realpath(3) says for every path, symlinks, loops,
 * missing names and files in the way among them; add_hidden() adds the real path too.
 */
#include "common/cleanup.h"
#include "common/err.h"
#include "common/path.h"
#include "common/strvec.h"
#include "supervisor/supervise/run_int.h"
#include "tests/unit/tap.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char *base;

static char *at(const char *rel)
{
	return path_join(base, rel);
}

static void make(const char *rel, const char *link_to)
{
	cleanup_free char *p = at(rel);
	int fd;

	if (link_to) {
		if (symlink(link_to, p) < 0)
			die_errno("cannot create %s", p);
	} else if (rel[strlen(rel) - 1] == '/') {
		if (mkdir(p, 0755) < 0)
			die_errno("cannot create %s", p);
	} else {
		fd = open(p, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
		if (fd < 0)
			die_errno("cannot create %s", p);
		close(fd);
	}
}

/* Whether the batch says what realpath(3) says: the same path, or NULL and the same errno. */
static void same(struct realpaths *c, const char *rel)
{
	cleanup_free char *p = rel[0] == '/' ? xstrdup(rel) : at(rel);
	cleanup_free char *want = NULL, *got = NULL;
	int want_err, got_err;

	errno = 0;
	want = realpath(p, NULL);
	want_err = want ? 0 : errno;
	errno = 0;
	got = realpaths_get(c, p);
	got_err = got ? 0 : errno;
	ok((want ? got && strcmp(want, got) == 0 : !got) && want_err == got_err,
	   "%s: %s (%s), as realpath(3): %s (%s)", rel, got ? got : "NULL", strerror(got_err),
	   want ? want : "NULL", strerror(want_err));
}

static const char *const paths[] = {
	"real/dir",
	"link/dir",
	"link/dir/x",
	"link/dir/x/y",
	"abslink/dir/a",
	"dang",
	"dang/x",
	"dang2",
	"loop1",
	"loop1/x",
	"dotdot/dir",
	"dotdot/z",
	"file",
	"file/x",
	"rel/q",
	"chain/dir",
	"chain",
	"real",
	"link/../real/dir",
	"real//dir/",
	"link/./dir",
	"missing/x",
	"/",
	"",
};

static void test_batch(void)
{
	struct realpaths c = {0};
	size_t i, n = ARRAY_SIZE(paths);

	for (i = 0; i < n; i++)
		same(&c, paths[i]);
	/* Again, every prefix now remembered, and in the other order. */
	for (i = n; i-- > 0;)
		same(&c, paths[i]);
	realpaths_free(&c);
}

static void test_add_hidden(void)
{
	struct realpaths c = {0};
	struct strvec out = {0};
	cleanup_free char *real = at("real/dir/secret");
	cleanup_free char *file = at("file/x");

	add_hidden(&out, at("link/dir/secret"), &c);
	is_int(out.n, 2, "an absent path below a symlink is hidden by both names");
	ok(out.n == 2 && strcmp(out.v[1], real) == 0, "the second is its real path");
	add_hidden(&out, at("file/x"), &c);
	is_int(out.n, 3, "a path that cannot be resolved is hidden by its name alone");
	ok(out.n == 3 && strcmp(out.v[2], file) == 0, "as named");
	strvec_clear(&out);
	realpaths_free(&c);
}

int main(void)
{
	char tmpl[] = "/tmp/airlock-test-realpaths.XXXXXX";

	if (!mkdtemp(tmpl))
		die_errno("cannot create a temporary directory");
	base = realpath(tmpl, NULL);
	make("real/", NULL);
	make("real/dir/", NULL);
	make("file", NULL);
	make("link", "real");
	{
		cleanup_free char *abs = at("real");

		make("abslink", abs);
	}
	make("dang", "nowhere");
	make("dang2", "dang");
	make("loop1", "loop2");
	make("loop2", "loop1");
	make("dotdot", "real/dir/..");
	{
		cleanup_free char *up = xasprintf("../%s/link/dir", strrchr(base, '/') + 1);

		make("rel", up);
	}
	make("chain", "link");
	test_batch();
	test_add_hidden();
	{
		cleanup_free char *cmd = xasprintf("rm -rf '%s'", base);

		(void)!system(cmd);
	}
	free(base);
	return tap_done();
}
