/* SPDX-License-Identifier: MIT */
/*
 * argv_edge PROGRAM: exec PROGRAM with an argv laid out at the edges of readable memory:
 * its pointer array (more than one batch of them) ends on the last bytes of a page that an
 * unreadable page follows, and so does its last string; one string is longer than a first
 * read of each. What is copied must be the argv, and the exec must not fail for it. Prints
 * the argv it passes, one per line, before the exec.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#define NARGS 41 /* argv[0..40], then NULL */

/* Two pages: the first readable, the second not. The first's address. */
static char *edge_page(size_t ps)
{
	char *m = mmap(NULL, 2 * ps, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (m == MAP_FAILED || mprotect(m + ps, ps, PROT_NONE) < 0) {
		perror("argv_edge: mmap");
		exit(2);
	}
	return m;
}

int main(int argc, char **argv)
{
	size_t ps = (size_t)sysconf(_SC_PAGESIZE);
	char *strs = edge_page(ps), *ptrpage = edge_page(ps);
	char **v = (char **)(ptrpage + ps - (NARGS + 1) * sizeof(char *));
	static char names[NARGS][8], longarg[301];
	int i;

	if (argc != 2) {
		fprintf(stderr, "usage: argv_edge PROGRAM\n");
		return 2;
	}
	memset(longarg, 'x', 300);
	v[0] = argv[1];
	for (i = 1; i < NARGS - 2; i++) {
		snprintf(names[i], sizeof(names[i]), "a%d", i);
		v[i] = names[i];
	}
	v[NARGS - 2] = longarg;
	/* "edge" and its NUL are the last five bytes before the unreadable page. */
	v[NARGS - 1] = memcpy(strs + ps - 5, "edge", 5);
	v[NARGS] = NULL;
	for (i = 0; i < NARGS; i++)
		printf("%s\n", v[i]);
	fflush(stdout);
	execv(argv[1], v);
	perror("argv_edge: execv");
	return 1;
}
