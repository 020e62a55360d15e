/* SPDX-License-Identifier: MIT */
/* Unit tests for common/strvec.h, dir_list() (common/path.h), error_rc() and error_code()
 * (common/err.h), sorted_find() (common/path.h). */
#include "common/strvec.h"

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
#include <sys/stat.h>
#include <unistd.h>

static void test_strvec(void)
{
	cleanup_strvec struct strvec sv = STRVEC_INIT;
	char *owned = xstrdup("b");
	const char *copy;
	char **v;

	ok(sv.v == NULL && sv.n == 0, "a new vector is empty");
	copy = strvec_add(&sv, "a");
	is_str(copy, "a", "add copies the string");
	ok(strvec_push(&sv, owned) == owned, "push keeps the string it is given");
	strvec_add(&sv, "c");
	is_int(sv.n, 3, "three strings");
	ok(sv.v[3] == NULL, "the array stays NULL-terminated");
	strvec_remove(&sv, 1);
	is_int(sv.n, 2, "remove takes one out");
	is_str(sv.v[1], "c", "the later strings move down");
	ok(sv.v[2] == NULL, "and the terminator with them");
	strvec_remove(&sv, 7);
	is_int(sv.n, 2, "removing past the end changes nothing");
	v = strvec_detach(&sv);
	ok(sv.v == NULL && sv.n == 0 && sv.cap == 0, "detach leaves the vector empty");
	ok(v && !strcmp(v[0], "a") && !strcmp(v[1], "c") && v[2] == NULL,
	   "detach hands on the NULL-terminated array");
	free(v[0]);
	free(v[1]);
	free(v);
	v = strvec_detach(&sv);
	ok(v && v[0] == NULL, "an empty vector detaches as an empty array, never NULL");
	free(v);
}

static void test_dir_list(void)
{
	char dir[] = "/tmp/airlock-test-strvec-XXXXXX";
	cleanup_strvec struct strvec names = STRVEC_INIT;
	cleanup_fd int dfd = -1;
	size_t i;
	int seen = 0;

	if (!mkdtemp(dir)) {
		ok(0, "mkdtemp: %s", strerror(errno));
		return;
	}
	dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	mkdirat(dfd, "x", 0700);
	close(openat(dfd, "y", O_CREAT | O_WRONLY | O_CLOEXEC, 0600));
	is_int(dir_list(dfd, &names), 0, "dir_list reads the directory");
	is_int(names.n, 2, "without . and ..");
	for (i = 0; i < names.n; i++)
		seen |= !strcmp(names.v[i], "x") ? 1 : !strcmp(names.v[i], "y") ? 2 : 4;
	is_int(seen, 3, "every name, once");
	ok(names.v[names.n] == NULL, "NULL-terminated");
	strvec_clear(&names);
	is_int(dir_list(dfd, &names), 0, "dir_list reads the same descriptor again");
	is_int(names.n, 2, "from its start: the descriptor is rewound");
	is_int(dir_list(-1, &names), -EBADF, "a bad descriptor is -EBADF");
	unlinkat(dfd, "y", 0);
	unlinkat(dfd, "x", AT_REMOVEDIR);
	rmdir(dir);
}

/* A directory whose entries need several reads of the listing's buffer. */
static void test_dir_list_large(void)
{
	char dir[] = "/tmp/airlock-test-strvec-XXXXXX", name[64];
	cleanup_strvec struct strvec names = STRVEC_INIT;
	cleanup_fd int dfd = -1;
	cleanup_fd int pfd = -1;
	const int count = 3000;
	char *seen;
	int i, missing = 0;

	if (!mkdtemp(dir)) {
		ok(0, "mkdtemp: %s", strerror(errno));
		return;
	}
	dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	for (i = 0; i < count; i++) {
		snprintf(name, sizeof(name), "a-rather-long-file-name-number-%06d", i);
		close(openat(dfd, name, O_CREAT | O_WRONLY | O_CLOEXEC, 0600));
	}
	is_int(dir_list(dfd, &names), 0, "dir_list reads a directory of 3000 names");
	is_int(names.n, count, "every one of them, over several reads");
	seen = calloc((size_t)count, 1);
	for (size_t k = 0; k < names.n; k++) {
		if (sscanf(names.v[k], "a-rather-long-file-name-number-%d", &i) == 1 && i >= 0 &&
		    i < count)
			seen[i]++;
	}
	for (i = 0; i < count; i++)
		missing += seen[i] != 1;
	is_int(missing, 0, "each name once");
	free(seen);
	pfd = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
	is_int(dir_list(pfd, &names), -EBADF, "an O_PATH descriptor cannot be read: -EBADF");
	for (i = 0; i < count; i++) {
		snprintf(name, sizeof(name), "a-rather-long-file-name-number-%06d", i);
		unlinkat(dfd, name, 0);
	}
	rmdir(dir);
}

static void test_error_rc(void)
{
	int saved = dup(2), null = open("/dev/null", O_WRONLY | O_CLOEXEC);

	/* The message goes to stderr, which tests/run mixes with the TAP lines: hide it. */
	dup2(null, 2);
	is_int(error_rc(-ENOENT, "test"), -ENOENT, "error_rc returns the code it is given");
	is_int(errno, ENOENT, "and sets errno to it");
	is_int(error_rc(0, "test"), -EIO, "a code that is no error becomes -EIO");
	is_int(error_code(-ENOTDIR, "test"), -ENOTDIR, "error_code returns the code it is given");
	is_int(errno, ENOTDIR, "and sets errno to it");
	is_int(error_code(0, "test"), -EINVAL, "a code that is no error becomes -EINVAL");
	dup2(saved, 2);
	close(saved);
	close(null);
}

static void test_sorted_find(void)
{
	struct item {
		int n;
		const char *path;
	} v[] = {{0, "/a"}, {1, "/b"}, {2, "/b/c"}, {3, "/d"}};

	is_int(SORTED_FIND(v, 4, path, "/"), 0, "sorted_find: a key below all is at 0");
	is_int(SORTED_FIND(v, 4, path, "/b"), 1, "a present key is where it is");
	is_int(SORTED_FIND(v, 4, path, "/b/"), 2, "a missing key is where it would go");
	is_int(SORTED_FIND(v, 4, path, "/e"), 4, "a key above all is at n");
	is_int(SORTED_FIND(v, 0, path, "/a"), 0, "an empty array: 0");
}

int main(void)
{
	setvbuf(stdout, NULL, _IONBF, 0);
	test_strvec();
	test_dir_list();
	test_dir_list_large();
	test_error_rc();
	test_sorted_find();
	return tap_done();
}
