/* SPDX-License-Identifier: MIT */
/* Workload: a loop of write-ish opens (each notifies inside airlock) or of read-only opens. */

/*
 * Usage: write_loop [--read] DIR N [RUNS]
 * Default: N times open(DIR/write_loop.out, O_WRONLY|O_CREAT|O_TRUNC) + close.
 * --read:  N times open(DIR/write_loop.in, O_RDONLY) + close; the file is created first if
 *          missing, outside the timed part (inside airlock that creation is one notification).
 * Runs the loop RUNS times (default 5) after a short warmup and prints the median time per
 * iteration in microseconds as "write_loop_us X" or "read_loop_us X".
 */

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define MAX_RUNS 64

static double now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

static void loop(const char *path, int flags, long n)
{
	for (long i = 0; i < n; i++) {
		int fd = open(path, flags, 0644);

		if (fd < 0) {
			fprintf(stderr, "write_loop: cannot open '%s': %s\n", path,
				strerror(errno));
			exit(1);
		}
		close(fd);
	}
}

static void usage(void)
{
	fprintf(stderr, "usage: write_loop [--read] DIR N [RUNS]\n");
	exit(2);
}

int main(int argc, char **argv)
{
	double t[MAX_RUNS];
	char path[PATH_MAX];
	int flags = O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, rd = 0, runs = 5;
	long n;

	if (argc > 1 && !strcmp(argv[1], "--read")) {
		rd = 1;
		flags = O_RDONLY | O_CLOEXEC;
		argv++;
		argc--;
	}
	if (argc < 3 || argc > 4)
		usage();
	n = strtol(argv[2], NULL, 10);
	if (argc == 4)
		runs = atoi(argv[3]);
	if (n < 1 || runs < 1 || runs > MAX_RUNS)
		usage();
	if (snprintf(path, sizeof(path), "%s/%s", argv[1],
		     rd ? "write_loop.in" : "write_loop.out") >= (int)sizeof(path))
		usage();
	if (rd && access(path, F_OK))
		loop(path, O_WRONLY | O_CREAT | O_CLOEXEC, 1);

	loop(path, flags, n / 10 + 1);
	for (int r = 0; r < runs; r++) {
		double t0 = now_us();

		loop(path, flags, n);
		t[r] = (now_us() - t0) / n;
	}
	qsort(t, runs, sizeof(t[0]), cmp_double);
	printf("%s %.3f\n", rd ? "read_loop_us" : "write_loop_us",
	       runs % 2 ? t[runs / 2] : (t[runs / 2 - 1] + t[runs / 2]) / 2);
	return 0;
}
