/* SPDX-License-Identifier: MIT */
/* Workload: the cost of one path lookup or open, on several paths, measured interleaved. */

/*
 * Usage: lookup_loop [--stat|--open|--missing|--readdir|--read] [--landlock DIR]... N ROUNDS
 *                    PATH...
 * Each round does N operations on each PATH in turn (the order rotates every round), so that
 * a load on the machine falls on every path alike; it prints, per path, the median over the
 * rounds of the nanoseconds per operation, and the ratio to the first path:
 *   "PATH ns ratio".
 * --open (default): open(O_RDONLY) + close. --stat: fstatat. --missing: fstatat of
 * PATH/nonexistent (a negative lookup). --readdir: open, getdents to the end, close, of a
 * directory. --read: open, read 4 KiB, close.
 * --list FILE: the operation (--stat, --open or --read) is done once on PATH/NAME for each line
 * NAME of FILE, and N is ignored: a round is one pass over the list. On a freshly mounted
 * overlay every such lookup misses the overlay's dentry cache (bench/mount_lookup mounts a
 * new one per round), as every first lookup of a sandbox's run does.
 * --landlock DIR: before measuring, restrict this process with a Landlock ruleset that handles
 * every filesystem right and grants reading beneath / and everything beneath each DIR, as
 * airlock's command has (tracee/landlock.c): Landlock's check walks up from the opened file
 * to the nearest rule that grants the access.
 * bench/mount_lookup runs it on every kind of mount the sandbox makes.
 */

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/landlock.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#define MAX_ROUNDS 101
#define MAX_PATHS  64
#define MAX_RULES  16

enum op {
	OP_OPEN,
	OP_STAT,
	OP_MISSING,
	OP_READDIR,
	OP_READ
};

static double now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e9 + ts.tv_nsec;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

static void die(const char *what, const char *path)
{
	fprintf(stderr, "lookup_loop: %s %s: %s\n", what, path, strerror(errno));
	exit(1);
}

static void one(enum op op, const char *path)
{
	char buf[4096];
	struct stat st;
	int fd;

	switch (op) {
	case OP_STAT:
	case OP_MISSING:
		if (fstatat(AT_FDCWD, path, &st, 0) < 0 && (op == OP_STAT || errno != ENOENT))
			die("cannot stat", path);
		return;
	case OP_READDIR:
		fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (fd < 0)
			die("cannot open", path);
		while (syscall(SYS_getdents64, fd, buf, sizeof(buf)) > 0)
			;
		close(fd);
		return;
	case OP_OPEN:
	case OP_READ:
		fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			die("cannot open", path);
		if (op == OP_READ && read(fd, buf, sizeof(buf)) < 0)
			die("cannot read", path);
		close(fd);
		return;
	}
}

static char **list;
static long nlist;

static void read_list(const char *file)
{
	FILE *f = fopen(file, "re");
	char line[4096];
	long cap = 0;

	if (!f)
		die("cannot read", file);
	while (fgets(line, sizeof(line), f)) {
		line[strcspn(line, "\n")] = '\0';
		if (nlist == cap) {
			cap = cap ? 2 * cap : 1024;
			list = realloc(list, cap * sizeof(*list));
			if (!list)
				exit(1);
		}
		list[nlist++] = strdup(line);
	}
	fclose(f);
}

static double timed(enum op op, const char *path, long n)
{
	char buf[8192];
	double t0 = now_ns();

	if (!list) {
		for (long i = 0; i < n; i++)
			one(op, path);
		return (now_ns() - t0) / n;
	}
	for (long i = 0; i < nlist; i++) {
		snprintf(buf, sizeof(buf), "%s/%s", path, list[i]);
		one(op, buf);
	}
	return (now_ns() - t0) / nlist;
}

static void add_rule(int ruleset, const char *dir, uint64_t access)
{
	struct landlock_path_beneath_attr pb = {.allowed_access = access};

	pb.parent_fd = open(dir, O_PATH | O_CLOEXEC);
	if (pb.parent_fd < 0)
		die("cannot open", dir);
	if (syscall(SYS_landlock_add_rule, ruleset, LANDLOCK_RULE_PATH_BENEATH, &pb, 0) < 0)
		die("landlock: cannot add a rule for", dir);
	close(pb.parent_fd);
}

/* Every right of ABI 1 (EXECUTE .. MAKE_SYM), enough for the walk the open check makes. */
static void enter_landlock(char **dirs, int n)
{
	uint64_t all = (LANDLOCK_ACCESS_FS_MAKE_SYM << 1) - 1;
	uint64_t rd = LANDLOCK_ACCESS_FS_READ_FILE | LANDLOCK_ACCESS_FS_READ_DIR |
		      LANDLOCK_ACCESS_FS_EXECUTE;
	struct landlock_ruleset_attr attr = {.handled_access_fs = all};
	int ruleset = (int)syscall(SYS_landlock_create_ruleset, &attr, sizeof(attr), 0);

	if (ruleset < 0)
		die("landlock: cannot create a ruleset", "");
	add_rule(ruleset, "/", rd);
	for (int i = 0; i < n; i++)
		add_rule(ruleset, dirs[i], all);
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0 ||
	    syscall(SYS_landlock_restrict_self, ruleset, 0) < 0)
		die("landlock: cannot restrict", "self");
	close(ruleset);
}

static void usage(void)
{
	fprintf(stderr, "usage: lookup_loop [--stat|--open|--missing|--readdir|--read] "
			"[--list FILE] [--landlock DIR]... N ROUNDS PATH...\n");
	exit(2);
}

int main(int argc, char **argv)
{
	static double t[MAX_PATHS][MAX_ROUNDS];
	char *paths[MAX_PATHS], *rules[MAX_RULES];
	enum op op = OP_OPEN;
	int i = 1, nrules = 0, npaths, rounds;
	long n;

	for (; i < argc && argv[i][0] == '-'; i++) {
		if (!strcmp(argv[i], "--stat"))
			op = OP_STAT;
		else if (!strcmp(argv[i], "--open"))
			op = OP_OPEN;
		else if (!strcmp(argv[i], "--missing"))
			op = OP_MISSING;
		else if (!strcmp(argv[i], "--readdir"))
			op = OP_READDIR;
		else if (!strcmp(argv[i], "--read"))
			op = OP_READ;
		else if (!strcmp(argv[i], "--list") && i + 1 < argc)
			read_list(argv[++i]);
		else if (!strcmp(argv[i], "--landlock") && i + 1 < argc && nrules < MAX_RULES)
			rules[nrules++] = argv[++i];
		else
			usage();
	}
	if (argc - i < 3)
		usage();
	n = strtol(argv[i], NULL, 10);
	rounds = atoi(argv[i + 1]);
	npaths = argc - i - 2;
	if (n < 1 || rounds < 1 || rounds > MAX_ROUNDS || npaths > MAX_PATHS)
		usage();
	for (int p = 0; p < npaths; p++) {
		const char *a = argv[i + 2 + p];

		if (op == OP_MISSING) {
			paths[p] = malloc(strlen(a) + sizeof("/nonexistent"));
			if (!paths[p])
				return 1;
			sprintf(paths[p], "%s/nonexistent", a);
		} else {
			paths[p] = argv[i + 2 + p];
		}
	}
	if (nrules)
		enter_landlock(rules, nrules);
	for (int p = 0; p < npaths && !list; p++)
		timed(op, paths[p], n / 10 + 1); /* warm the caches */
	for (int r = 0; r < rounds; r++)
		for (int k = 0; k < npaths; k++) {
			int p = (k + r) % npaths;

			t[p][r] = timed(op, paths[p], n);
		}
	double base = 0;

	for (int p = 0; p < npaths; p++) {
		double m;

		qsort(t[p], rounds, sizeof(double), cmp_double);
		m = rounds % 2 ? t[p][rounds / 2] : (t[p][rounds / 2 - 1] + t[p][rounds / 2]) / 2;
		if (p == 0)
			base = m;
		printf("%s %.0f %.2f\n", argv[i + 2 + p], m, m / base);
	}
	return 0;
}
