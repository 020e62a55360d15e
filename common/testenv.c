/* SPDX-License-Identifier: MIT */
#include "common/testenv.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

bool test_feature_off(const char *name)
{
	const char *v = getenv("AIRLOCK_TEST_FEATURES_OFF");
	size_t n = strlen(name);

	if (n == 0)
		return false;
	while (v && *v) {
		size_t len = strcspn(v, ",");

		if (len == n && strncmp(v, name, n) == 0)
			return true;
		v += len;
		v += *v == ',';
	}
	return false;
}

int test_timing_fd(void)
{
	static int fd = -2;
	const char *v;
	char *end;
	long n;

	if (fd != -2)
		return fd;
	fd = -1;
	v = getenv("AIRLOCK_TEST_TIMING_FD");
	if (!v || !*v)
		return fd;
	errno = 0;
	n = strtol(v, &end, 10);
	/* Only an open descriptor above stdio: never a write to the program's output. */
	if (errno || *end || n < 3 || n > INT_MAX || fcntl((int)n, F_GETFD) < 0)
		return fd;
	fd = (int)n;
	/* The tracee keeps it until the command's execve, which must not pass it on. */
	fcntl(fd, F_SETFD, FD_CLOEXEC);
	return fd;
}

void test_mark(const char *fmt, ...)
{
	char line[512];
	struct timespec ts;
	va_list ap;
	int fd = test_timing_fd(), n, k;

	if (fd < 0)
		return;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	n = snprintf(line, sizeof(line), "%lld ", (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec);
	va_start(ap, fmt);
	k = vsnprintf(line + n, sizeof(line) - (size_t)n - 1, fmt, ap);
	va_end(ap);
	if (k < 0)
		return;
	n += k < (int)sizeof(line) - n - 1 ? k : (int)sizeof(line) - n - 2;
	line[n++] = '\n';
	/* One write per line: the tracee's two mounting threads share the descriptor. */
	(void)!write(fd, line, (size_t)n);
}
