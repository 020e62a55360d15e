/* SPDX-License-Identifier: MIT */
/*
 * A program that passes itself off as `git status`: it overwrites its argv in memory (what
 * /proc/PID/cmdline shows, as setproctitle does) and its name, then writes FILE. airlock
 * must still attribute the write to the command line it exec'd.
 * usage: fake_argv MODE FILE [NOTEXEC]; MODE is
 *   rewrite   rewrite itself, then write FILE;
 *   fork      a forked child rewrites itself and writes FILE;
 *   failexec  execve(NOTEXEC) with argv "git status" fails first (NOTEXEC is not executable);
 *   forkexec  fork a child, then exec itself as "git status" (which waits for the child); the
 *             child writes FILE once its parent shows "git status", without rewriting;
 *   status    (argv[1], when exec'd as "git status"): wait for the children, then exit.
 * Prints "cmdline: ..." with what /proc/self/cmdline read after the rewrite.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static const char fake[] = "git status";

static void rewrite(int argc, char **argv)
{
	char *start = argv[0], *end = argv[argc - 1] + strlen(argv[argc - 1]);
	char buf[256];
	ssize_t n;
	int fd;

	/*
	 * As setproctitle(3) does: the arguments are contiguous; with the NUL that ends the
	 * last one overwritten, the kernel shows the area as one string up to its first NUL,
	 * so /proc/PID/cmdline reads exactly "git status".
	 */
	memset(start, 0, (size_t)(end - start));
	memcpy(start, fake, sizeof(fake) <= (size_t)(end - start) ? sizeof(fake) : 0);
	*end = 'x';
	prctl(PR_SET_NAME, "git", 0, 0, 0);
	fd = open("/proc/self/cmdline", O_RDONLY);
	n = fd >= 0 ? read(fd, buf, sizeof(buf) - 1) : -1;
	if (fd >= 0)
		close(fd);
	for (ssize_t i = 0; i < n; i++)
		if (buf[i] == '\0')
			buf[i] = ' ';
	buf[n > 0 ? n : 0] = '\0';
	printf("cmdline: %s\n", buf);
	fflush(stdout);
}

static int write_file(const char *path)
{
	FILE *f = fopen(path, "w");

	if (!f) {
		perror(path);
		return 1;
	}
	fputs("written by the fake\n", f);
	return fclose(f) != 0;
}

/* Whether process pid's command line starts with "git". */
static int shows_git(pid_t pid)
{
	char path[64], buf[8] = {0};
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/cmdline", (int)pid);
	fd = open(path, O_RDONLY);
	if (fd < 0)
		return 0;
	if (read(fd, buf, sizeof(buf) - 1) < 0)
		buf[0] = '\0';
	close(fd);
	return strcmp(buf, "git") == 0;
}

int main(int argc, char **argv)
{
	pid_t pid;
	int status;
	char *file;

	if (argc >= 2 && strcmp(argv[1], "status") == 0) {
		while (wait(NULL) > 0)
			;
		return 0;
	}
	if (argc < 3) {
		fprintf(stderr, "usage: fake_argv rewrite|fork|failexec|forkexec FILE [NOTEXEC]\n");
		return 2;
	}
	file = strdup(argv[2]); /* the rewrite wipes argv */
	if (strcmp(argv[1], "rewrite") == 0) {
		rewrite(argc, argv);
		return write_file(file);
	}
	if (strcmp(argv[1], "fork") == 0) {
		pid = fork();
		if (pid == 0) {
			rewrite(argc, argv);
			_exit(write_file(file));
		}
		waitpid(pid, &status, 0);
		return WIFEXITED(status) ? WEXITSTATUS(status) : 1;
	}
	if (strcmp(argv[1], "failexec") == 0 && argc >= 4) {
		char *gargv[] = {"git", "status", NULL};

		execv(argv[3], gargv);
		printf("exec failed: %s\n", strerror(errno));
		rewrite(argc, argv);
		return write_file(file);
	}
	if (strcmp(argv[1], "forkexec") == 0) {
		char self[4096];
		ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
		pid_t parent = getpid();
		char *gargv[] = {"git", "status", NULL};

		if (n <= 0)
			return 1;
		self[n] = '\0';
		pid = fork();
		if (pid == 0) {
			struct timespec t = {0, 10 * 1000 * 1000};
			int tries;

			/* Only once the parent runs "git status" (10 s at most). */
			for (tries = 0; tries < 1000 && !shows_git(parent); tries++)
				nanosleep(&t, NULL);
			printf("parent shows git: %s\n", shows_git(parent) ? "yes" : "no");
			fflush(stdout);
			_exit(write_file(file));
		}
		execv(self, gargv);
		return 1;
	}
	fprintf(stderr, "fake_argv: unknown mode %s\n", argv[1]);
	return 2;
}
