/* SPDX-License-Identifier: MIT */
/* Unit tests for common/path.h: lexical path helpers, tree removal, file I/O and unit parsers. */
#include "common/path.h"

#include "common/cleanup.h"
#include "tests/unit/tap.h"

#include <stdint.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

static char base[PATH_MAX];

/* base/rel; caller frees. */
static char *at(const char *rel)
{
	return path_join(base, rel);
}

static bool exists(const char *rel)
{
	cleanup_free char *p = at(rel);
	struct stat st;

	return lstat(p, &st) == 0;
}

static void make_file(const char *rel, const char *content, mode_t mode)
{
	cleanup_free char *p = at(rel);
	cleanup_fd int fd = open(p, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);

	if (fd < 0 || write(fd, content, strlen(content)) != (ssize_t)strlen(content) ||
	    fchmod(fd, mode) < 0)
		printf("# cannot create %s: %s\n", rel, strerror(errno));
}

static void make_dir(const char *rel)
{
	cleanup_free char *p = at(rel);

	if (mkdir(p, 0755) < 0)
		printf("# cannot mkdir %s: %s\n", rel, strerror(errno));
}

static void make_link(const char *rel, const char *target)
{
	cleanup_free char *p = at(rel);

	if (symlink(target, p) < 0)
		printf("# cannot symlink %s: %s\n", rel, strerror(errno));
}

static void set_mode(const char *rel, mode_t mode)
{
	cleanup_free char *p = at(rel);

	if (chmod(p, mode) < 0)
		printf("# cannot chmod %s: %s\n", rel, strerror(errno));
}

/* A chain rel/d/d/.../d of depth levels, made with one descriptor at a time. */
static bool make_chain(const char *rel, int depth)
{
	cleanup_free char *p = at(rel);
	int fd, i;

	if (mkdir(p, 0755) < 0)
		return false;
	fd = open(p, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	for (i = 0; i < depth && fd >= 0; i++) {
		int next;

		if (mkdirat(fd, "d", 0755) < 0) {
			close(fd);
			return false;
		}
		next = openat(fd, "d", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		close(fd);
		fd = next;
	}
	if (fd < 0)
		return false;
	close(fd);
	return true;
}

static void test_join(void)
{
	static const struct {
		const char *a, *b, *want;
	} cases[] = {
		{"/a", "b", "/a/b"},	 {"/a/", "b", "/a/b"}, {"/a//", "b", "/a/b"},
		{"/a", "b/c", "/a/b/c"}, {"/", "b", "/b"},     {"//", "b", "/b"},
		{"/", "/", "/"},	 {"/a", "/c", "/c"},   {"/a/", "/c/d", "/c/d"},
		{"/a", "", "/a"},	 {"/a/", "", "/a"},    {"", "b", "b"},
		{"a", "b", "a/b"},	 {"a/", "b", "a/b"},
	};
	size_t i;

	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		cleanup_free char *got = path_join(cases[i].a, cases[i].b);

		is_str(got, cases[i].want, "path_join(\"%s\", \"%s\")", cases[i].a, cases[i].b);
	}
}

static void test_normalize(void)
{
	static const struct {
		const char *in, *want;
	} cases[] = {
		{"/", "/"},
		{"//", "/"},
		{"///a///b///", "/a/b"},
		{"/a/./b", "/a/b"},
		{"/./", "/"},
		{"/a/b/..", "/a"},
		{"/a/b/../..", "/"},
		{"/a/b/../../..", "/"},
		{"/..", "/"},
		{"/../../etc/passwd", "/etc/passwd"},
		{"/a/../../b", "/b"},
		{"/a/..b/.c", "/a/..b/.c"},
		{"/a/...", "/a/..."},
		{"/a/b/", "/a/b"},
		{"a/b", "a/b"},
		{"./a", "a"},
		{".", "."},
		{"", "."},
		{"a/..", "."},
		{"a/./b/../c", "a/c"},
		{"..", ".."},
		{"../a", "../a"},
		{"../../a", "../../a"},
		{"a/../../b", "../b"},
		{"../a/..", ".."},
		{"../..//./x/", "../../x"},
	};
	size_t i;

	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		cleanup_free char *got = path_normalize(cases[i].in);

		is_str(got, cases[i].want, "path_normalize(\"%s\")", cases[i].in);
	}
}

static void test_under_rel(void)
{
	static const struct {
		const char *path, *dir;
		bool under;
		const char *rel; /* path_rel() when under */
	} cases[] = {
		{"/a/b", "/a", true, "b"},   {"/a/b/c", "/a", true, "b/c"},
		{"/a", "/a", true, ""},	     {"/a/b", "/a/", true, "b"},
		{"/a", "/a/", true, ""},     {"/ab", "/a", false, NULL},
		{"/a", "/ab", false, NULL},  {"/a", "/a/b", false, NULL},
		{"/b/a", "/a", false, NULL}, {"/", "/", true, ""},
		{"/a", "/", true, "a"},	     {"/a/b/c", "/", true, "a/b/c"},
		{"/x/y", "/x/y", true, ""},
	};
	size_t i;

	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		ok(path_is_under(cases[i].path, cases[i].dir) == cases[i].under,
		   "path_is_under(\"%s\", \"%s\") is %s", cases[i].path, cases[i].dir,
		   cases[i].under ? "true" : "false");
		if (cases[i].rel)
			is_str(path_rel(cases[i].path, cases[i].dir), cases[i].rel,
			       "path_rel(\"%s\", \"%s\")", cases[i].path, cases[i].dir);
	}
}

static void test_mkdir_p(void)
{
	cleanup_free char *deep = at("mk/a/b/c");
	cleanup_free char *slash = at("mk/x//y/");
	cleanup_free char *file = at("mk/file");
	cleanup_free char *below_file = at("mk/file/sub");
	struct stat st;

	is_int(mkdir_p(deep, 0750), 0, "mkdir_p makes every missing level");
	ok(stat(deep, &st) == 0 && S_ISDIR(st.st_mode) && (st.st_mode & 07777) == 0750,
	   "mkdir_p gives new directories the mode asked for");
	is_int(mkdir_p(deep, 0750), 0, "mkdir_p on an existing directory succeeds");
	is_int(mkdir_p(slash, 0755), 0, "mkdir_p accepts doubled and trailing slashes");
	ok(exists("mk/x/y"), "mkdir_p made mk/x/y");
	make_file("mk/file", "x", 0644);
	is_int(mkdir_p(below_file, 0755), -ENOTDIR, "mkdir_p below a regular file fails");
	is_int(mkdir_p(file, 0755), -ENOTDIR, "mkdir_p on a regular file fails");
	ok(mkdir_p("", 0755) < 0, "mkdir_p(\"\") fails");
}

static void test_rm_rf(void)
{
	cleanup_free char *tree = at("tree");
	cleanup_free char *outside_dir = at("outside");
	cleanup_free char *link = at("outside/link-to-keep");
	struct stat st;

	make_dir("outside");
	make_file("outside/keep", "precious", 0644);
	make_dir("tree");
	make_file("tree/file", "x", 0644);
	make_file("tree/unreadable", "x", 0);
	make_dir("tree/sub");
	make_file("tree/sub/inner", "x", 0644);
	make_dir("tree/locked");
	make_file("tree/locked/f", "x", 0644);
	make_dir("tree/locked/inner");
	make_file("tree/locked/inner/f", "x", 0644);
	make_dir("tree/readonly");
	make_file("tree/readonly/f", "x", 0644);
	/* An absolute and a relative link to outside the tree, to a directory and a file. */
	make_link("tree/abs-dir", outside_dir);
	make_link("tree/rel-dir", "../outside");
	make_link("tree/sub/rel-file", "../../outside/keep");
	make_link("tree/dangling", "/nonexistent/airlock");
	set_mode("tree/locked/inner", 0);
	set_mode("tree/locked", 0);
	set_mode("tree/readonly", 0500);

	is_int(rm_rf(tree), 0, "rm_rf removes a tree with mode-000 and read-only directories");
	ok(lstat(tree, &st) < 0 && errno == ENOENT, "the tree is gone");
	ok(exists("outside/keep"), "a symlink's target outside the tree survives");
	ok(exists("outside"), "a symlinked directory outside the tree survives");

	is_int(rm_rf(tree), 0, "rm_rf of a missing path succeeds");

	make_link("outside/link-to-keep", "keep");
	is_int(rm_rf(link), 0, "rm_rf on a symlink removes the link");
	ok(!exists("outside/link-to-keep") && exists("outside/keep"),
	   "rm_rf on a symlink leaves its target");

	make_file("lone", "x", 0);
	{
		cleanup_free char *lone = at("lone");

		is_int(rm_rf(lone), 0, "rm_rf on a file removes it");
		ok(!exists("lone"), "the file is gone");
	}
	{
		/* The top directory itself may be mode 000. */
		cleanup_free char *top = at("top000");

		make_dir("top000");
		make_file("top000/f", "x", 0644);
		set_mode("top000", 0);
		is_int(rm_rf(top), 0, "rm_rf removes a tree whose top is mode 000");
		ok(!exists("top000"), "the mode-000 top is gone");
	}
}

/*
 * A sandboxed program can nest directories deeper than any fixed limit (mkdir d; cd d; ...),
 * and the usual descriptor limit is 1024: rm_rf must not need a descriptor per level.
 */
static void test_rm_rf_deep(void)
{
	static const int depths[] = {100, 1000, 6000};
	struct rlimit saved, low;
	size_t i;

	if (getrlimit(RLIMIT_NOFILE, &saved) < 0) {
		ok(0, "getrlimit: %s", strerror(errno));
		return;
	}
	low = saved;
	if (low.rlim_cur == RLIM_INFINITY || low.rlim_cur > 256)
		low.rlim_cur = 256;
	for (i = 0; i < ARRAY_SIZE(depths); i++) {
		cleanup_free char *p = at("deep");
		int rc;

		if (!make_chain("deep", depths[i])) {
			ok(0, "cannot make a chain %d deep: %s", depths[i], strerror(errno));
			continue;
		}
		setrlimit(RLIMIT_NOFILE, &low);
		rc = rm_rf(p);
		setrlimit(RLIMIT_NOFILE, &saved);
		is_int(rc, 0, "rm_rf removes a chain %d deep with %llu descriptors", depths[i],
		       (unsigned long long)low.rlim_cur);
		ok(!exists("deep"), "the %d-deep chain is gone", depths[i]);
		if (exists("deep"))
			return; /* the next depth would start from a leftover */
	}
	{
		/* Wide and deep together, with the bottom levels locked. */
		cleanup_free char *p = at("deep");
		bool made = make_chain("deep", 300);

		make_dir("deep/w1");
		make_dir("deep/w2");
		make_file("deep/w2/f", "x", 0644);
		set_mode("deep/w2", 0);
		ok(made && make_chain("deep/w1/c", 700), "made a wide tree with two deep chains");
		setrlimit(RLIMIT_NOFILE, &low);
		is_int(rm_rf(p), 0, "rm_rf removes a wide and deep tree");
		setrlimit(RLIMIT_NOFILE, &saved);
		ok(!exists("deep"), "the wide and deep tree is gone");
	}
}

/* read_last_line() of a file holding text (len bytes): the line, or NULL with errno 0. */
static char *last_line_of(const char *text, size_t len, size_t max, size_t *llen, off_t *end)
{
	cleanup_free char *path = at("lastline");
	cleanup_fd int fd = -1;

	if (write_file_atomic(path, text, len, 0644, false) < 0)
		return NULL;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	return fd < 0 ? NULL : read_last_line(fd, (off_t)len, max, llen, end);
}

static void test_last_line(void)
{
	cleanup_free char *big = malloc(100003);
	size_t len = 0;
	off_t end = -1;
	char *got;

	got = last_line_of("a\nbc\n", 5, 100, &len, &end);
	ok(got && len == 2 && strcmp(got, "bc") == 0 && end == 5, "the last of two lines");
	free(got);
	got = last_line_of("a\nbc\ntorn", 9, 100, &len, &end);
	ok(got && strcmp(got, "bc") == 0 && end == 5, "a line cut short after it: *end before it");
	free(got);
	got = last_line_of("only\n", 5, 100, &len, &end);
	ok(got && strcmp(got, "only") == 0 && end == 5, "a file of one line");
	free(got);
	got = last_line_of("a\0b\n", 4, 100, &len, &end);
	ok(got && len == 3 && memcmp(got, "a\0b", 3) == 0, "a NUL inside is kept, with its length");
	free(got);
	errno = -1;
	got = last_line_of("torn", 4, 100, &len, &end);
	ok(!got && errno == 0, "no complete line: NULL, errno 0");
	errno = -1;
	got = last_line_of("x\nlonger\n", 9, 5, &len, &end);
	ok(!got && errno == 0, "a last line longer than max: NULL, errno 0");

	/* Longer than the first pieces read back: 100,000 bytes, then a line cut short. */
	if (!big)
		return;
	memset(big, 'y', 100003);
	big[0] = 'z';
	big[1] = '\n';
	big[100001] = '\n';
	big[100002] = 't';
	got = last_line_of(big, 100003, SIZE_MAX, &len, &end);
	ok(got && len == 99999 && got[0] == 'y' && end == 100002,
	   "a last line longer than the pieces read back, a torn one after it");
	free(got);
	errno = -1;
	got = last_line_of(big, 100003, 5000, &len, &end);
	ok(!got && errno == 0, "the same with max 5000: NULL, errno 0, not read whole");
	errno = 0;
	ok(!read_last_line(-1, 10, 100, &len, &end) && errno == EBADF, "a bad descriptor: EBADF");
}

static void test_read(void)
{
	cleanup_free char *small = at("small");
	cleanup_free char *big = at("big");
	cleanup_free char *empty = at("empty");
	cleanup_free char *missing = at("missing");
	cleanup_free char *data = NULL;
	cleanup_free char *bigdata = malloc(150000);
	size_t len = 12345, i;
	char *got;

	make_file("small", "0123456789", 0644);
	make_file("empty", "", 0644);

	got = read_file(small, 10, &len);
	ok(got && len == 10 && memcmp(got, "0123456789", 11) == 0,
	   "read_file reads a file exactly max bytes long, NUL-terminated");
	free(got);
	errno = 0;
	got = read_file(small, 9, &len);
	ok(!got && errno == EFBIG, "read_file of a file one byte past max fails with EFBIG");
	free(got);
	got = read_file(empty, 0, &len);
	ok(got && len == 0 && got[0] == '\0', "read_file of an empty file with max 0");
	free(got);
	errno = 0;
	got = read_file(missing, 100, NULL);
	ok(!got && errno == ENOENT, "read_file of a missing file fails with ENOENT");
	free(got);

	/* Past one 64 KiB read, with NUL bytes inside that must be kept. */
	if (!bigdata)
		return;
	for (i = 0; i < 150000; i++)
		bigdata[i] = (char)(i % 251);
	is_int(write_file_atomic(big, bigdata, 150000, 0644, false), 0, "wrote a 150000-byte file");
	{
		cleanup_fd int fd = open(big, O_RDONLY | O_CLOEXEC);

		data = read_fd(fd, 150000, &len);
		ok(data && len == 150000 && memcmp(data, bigdata, len) == 0 && data[len] == '\0',
		   "read_fd reads past its chunk size, embedded NULs kept");
	}
	{
		cleanup_fd int fd = open(big, O_RDONLY | O_CLOEXEC);

		errno = 0;
		got = read_fd(fd, 149999, &len);
		ok(!got && errno == EFBIG, "read_fd one byte past max fails with EFBIG");
		free(got);
	}
	{
		int pfd[2];

		if (pipe(pfd) == 0) {
			(void)!write(pfd[1], "piped", 5);
			close(pfd[1]);
			got = read_fd(pfd[0], 5, &len);
			ok(got && len == 5 && strcmp(got, "piped") == 0, "read_fd reads a pipe");
			free(got);
			close(pfd[0]);
		}
	}
	{
		errno = 0;
		got = read_fd(-1, 10, &len);
		ok(!got && errno == EBADF, "read_fd on a bad descriptor fails with EBADF");
		free(got);
	}
}

static int count_entries(const char *rel)
{
	cleanup_free char *p = at(rel);
	cleanup_dir DIR *d = opendir(p);
	struct dirent *de;
	int n = 0;

	if (!d)
		return -1;
	while ((de = readdir(d)))
		if (strcmp(de->d_name, ".") && strcmp(de->d_name, ".."))
			n++;
	return n;
}

static void test_write_atomic(void)
{
	cleanup_free char *p = at("w/out");
	cleanup_free char *link = at("w/link");
	cleanup_free char *target = at("w/target");
	cleanup_free char *nodir = at("nodir/out");
	struct stat st;
	char *got;

	make_dir("w");
	is_int(write_file_atomic(p, "first", 5, 0640, true), 0, "write_file_atomic, new file");
	got = read_file(p, 100, NULL);
	is_str(got, "first", "the content is there");
	free(got);
	ok(stat(p, &st) == 0 && (st.st_mode & 07777) == 0640, "with the mode asked for");
	is_int(write_file_atomic(p, "second!", 7, 0640, false), 0, "write_file_atomic replaces");
	got = read_file(p, 100, NULL);
	is_str(got, "second!", "the new content replaced the old");
	free(got);
	is_int(write_file_atomic(p, "", 0, 0600, true), 0, "write_file_atomic of nothing");
	ok(stat(p, &st) == 0 && st.st_size == 0, "leaves an empty file");
	is_int(count_entries("w"), 1, "no temporary file is left behind");

	/* rename() replaces a symlink at the destination; it never writes through it. */
	make_file("w/target", "untouched", 0644);
	make_link("w/link", "target");
	is_int(write_file_atomic(link, "new", 3, 0644, true), 0,
	       "write_file_atomic over a symlink");
	got = read_file(target, 100, NULL);
	is_str(got, "untouched", "the symlink's target is untouched");
	free(got);
	ok(lstat(link, &st) == 0 && S_ISREG(st.st_mode), "the link became a regular file");

	is_int(write_file_atomic(nodir, "x", 1, 0644, true), -ENOENT,
	       "write_file_atomic into a missing directory fails with -ENOENT");
}

static void test_parse(void)
{
	static const struct {
		const char *in;
		int rc;
		unsigned long long want;
	} durations[] = {
		{"30s", 0, 30000},
		{"5m", 0, 300000},
		{"1h", 0, 3600000},
		{"2h", 0, 7200000},
		{"1d", 0, 86400000},
		{"1500ms", 0, 1500},
		{"10", 0, 10000},
		{"0", 0, 0},
		{"0.5s", 0, 500},
		{"1.5m", 0, 90000},
		{"", -EINVAL, 0},
		{"s", -EINVAL, 0},
		{"ms", -EINVAL, 0},
		{"-1s", -EINVAL, 0},
		{"+1s", -EINVAL, 0},
		{"10x", -EINVAL, 0},
		{"10 s", -EINVAL, 0},
		{" 10s", -EINVAL, 0},
		{"10s ", -EINVAL, 0},
		{"10S", -EINVAL, 0},
		{"1s1", -EINVAL, 0},
		{".5s", -EINVAL, 0},
		{"inf", -EINVAL, 0},
		{"nan", -EINVAL, 0},
		{"99999999999999999999d", -EINVAL, 0},
	};
	static const struct {
		const char *in;
		int rc;
		unsigned long long want;
	} sizes[] = {
		{"512M", 0, 512ULL << 20}, {"1G", 0, 1ULL << 30},
		{"1g", 0, 1ULL << 30},	   {"100k", 0, 100ULL << 10},
		{"100K", 0, 100ULL << 10}, {"4096", 0, 4096},
		{"4096b", 0, 4096},	   {"1.5G", 0, 3ULL << 29},
		{"2T", 0, 2ULL << 40},	   {"64MiB", 0, 64ULL << 20},
		{"64mb", 0, 64ULL << 20},  {"0", 0, 0},
		{"", -EINVAL, 0},	   {"G", -EINVAL, 0},
		{"-1G", -EINVAL, 0},	   {"1X", -EINVAL, 0},
		{"1 G", -EINVAL, 0},	   {"1GG", -EINVAL, 0},
		{"1G ", -EINVAL, 0},	   {"inf", -EINVAL, 0},
		{"1e30", -EINVAL, 0},	   {"99999999999T", -EINVAL, 0},
	};
	size_t i;

	for (i = 0; i < ARRAY_SIZE(durations); i++) {
		unsigned long long ms = 424242;
		int rc = parse_duration_ms(durations[i].in, &ms);

		if (durations[i].rc == 0) {
			ok(rc == 0 && ms == durations[i].want, "parse_duration_ms(\"%s\") = %llu",
			   durations[i].in, durations[i].want);
			if (rc != 0 || ms != durations[i].want)
				printf("#   got rc %d, %llu\n", rc, ms);
		} else {
			ok(rc == durations[i].rc && ms == 424242,
			   "parse_duration_ms(\"%s\") is refused, output untouched",
			   durations[i].in);
		}
	}
	for (i = 0; i < ARRAY_SIZE(sizes); i++) {
		unsigned long long bytes = 424242;
		int rc = parse_size(sizes[i].in, &bytes);

		if (sizes[i].rc == 0) {
			ok(rc == 0 && bytes == sizes[i].want, "parse_size(\"%s\") = %llu",
			   sizes[i].in, sizes[i].want);
			if (rc != 0 || bytes != sizes[i].want)
				printf("#   got rc %d, %llu\n", rc, bytes);
		} else {
			ok(rc == sizes[i].rc && bytes == 424242,
			   "parse_size(\"%s\") is refused, output untouched", sizes[i].in);
		}
	}
}

int main(void)
{
	char tmpl[PATH_MAX];
	const char *tmp = getenv("TMPDIR");

	setvbuf(stdout, NULL, _IONBF, 0);
	umask(022);
	snprintf(tmpl, sizeof(tmpl), "%s/airlock-path-XXXXXX", tmp && *tmp ? tmp : "/tmp");
	if (!mkdtemp(tmpl) || !realpath(tmpl, base)) {
		printf("Bail out! cannot make a temporary directory: %s\n", strerror(errno));
		return 1;
	}

	test_join();
	test_normalize();
	test_under_rel();
	test_mkdir_p();
	test_rm_rf();
	test_rm_rf_deep();
	test_read();
	test_last_line();
	test_write_atomic();
	test_parse();

	if (rm_rf(base) < 0)
		printf("# cannot remove %s\n", base);
	return tap_done();
}
