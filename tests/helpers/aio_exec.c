/* SPDX-License-Identifier: MIT */
/*
 * Writes into a program's memory that the freeze around an exec cannot stop, and execs that
 * race them (tests/escape/exec_verify.sh).
 *
 *   aio_exec aio
 *       io_setup() and io_submit() of an IOCB_CMD_POLL on a timerfd, legacy AIO whose
 *       completion the kernel writes into user memory from interrupt context. Prints
 *       "io_setup: ERRNO" and "io_submit: ERRNO" ("ok" when the call worked); exit 0.
 *   aio_exec exec FILE N MARKER [thread]
 *       FILE holds a path (NUL-terminated). Maps it MAP_SHARED read-only, and N times forks
 *       a child that execve()s the path as it reads in the mapping, with argv {"x", MARKER};
 *       with "thread", from a second thread (which takes over the process's pid).
 *       Another process outside the sandbox rewrites FILE meanwhile (the lower layer of the
 *       overlay, so the mapping follows): a writer no freeze holds. Prints "done N killed K"
 *       (K children died of SIGKILL).
 *   aio_exec flip FILE ALLOWED DENIED
 *       Outside the sandbox: rewrite FILE between the two paths (same length) until killed.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/aio_abi.h>
#include <poll.h>
#include <pthread.h>
#include <stdbool.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/timerfd.h>
#include <sys/wait.h>
#include <unistd.h>

static const char *err_name(int e)
{
	switch (e) {
	case ENOSYS:
		return "ENOSYS";
	case EPERM:
		return "EPERM";
	case EINVAL:
		return "EINVAL";
	case EAGAIN:
		return "EAGAIN";
	case EFAULT:
		return "EFAULT";
	default:
		return "other";
	}
}

static int do_aio(void)
{
	aio_context_t ctx = 0;
	struct iocb cb, *cbs[1] = {&cb};
	int tfd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC);
	long rc;

	rc = syscall(SYS_io_setup, 8, &ctx);
	printf("io_setup: %s\n", rc == 0 ? "ok" : err_name(errno));
	memset(&cb, 0, sizeof(cb));
	cb.aio_lio_opcode = IOCB_CMD_POLL;
	cb.aio_fildes = (unsigned)tfd;
	cb.aio_buf = POLLIN;
	/* With a context of 0 (io_setup refused) the kernel would answer EINVAL. */
	rc = syscall(SYS_io_submit, ctx, 1, cbs);
	printf("io_submit: %s\n", rc >= 0 ? "ok" : err_name(errno));
	if (ctx)
		syscall(SYS_io_destroy, ctx);
	return 0;
}

static const char *exec_path, *exec_marker;

static void *exec_thread(void *arg)
{
	char *args[] = {"x", (char *)exec_marker, NULL};
	char *env[] = {NULL};

	(void)arg;
	execve(exec_path, args, env);
	_exit(0);
}

static int do_exec(const char *file, int n, const char *marker, bool thread)
{
	int fd = open(file, O_RDONLY | O_CLOEXEC), i, killed = 0;
	char *path;

	if (fd < 0) {
		perror(file);
		return 2;
	}
	path = mmap(NULL, 4096, PROT_READ, MAP_SHARED, fd, 0);
	if (path == MAP_FAILED) {
		perror("mmap");
		return 2;
	}
	for (i = 0; i < n; i++) {
		int status;
		pid_t pid = fork();

		if (pid == 0) {
			char *args[] = {"x", (char *)marker, NULL};
			char *env[] = {NULL};
			pthread_t t;

			if (thread) {
				exec_path = path;
				exec_marker = marker;
				if (pthread_create(&t, NULL, exec_thread, NULL) == 0)
					pthread_join(t, NULL);
				_exit(0);
			}
			execve(path, args, env);
			_exit(0); /* refused: fine */
		}
		if (pid < 0 || waitpid(pid, &status, 0) < 0)
			return 2;
		if (WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL)
			killed++;
	}
	printf("done %d killed %d\n", n, killed);
	return 0;
}

static int do_flip(const char *file, const char *a, const char *b)
{
	size_t len = strlen(a) + 1;
	int fd = open(file, O_WRONLY | O_CLOEXEC);

	if (fd < 0 || strlen(b) + 1 != len) {
		fprintf(stderr, "flip: bad file or lengths\n");
		return 2;
	}
	for (;;) {
		if (pwrite(fd, a, len, 0) != (ssize_t)len || pwrite(fd, b, len, 0) != (ssize_t)len)
			return 2;
	}
}

int main(int argc, char **argv)
{
	setvbuf(stdout, NULL, _IONBF, 0);
	if (argc == 2 && strcmp(argv[1], "aio") == 0)
		return do_aio();
	if ((argc == 5 || argc == 6) && strcmp(argv[1], "exec") == 0)
		return do_exec(argv[2], atoi(argv[3]), argv[4],
			       argc == 6 && strcmp(argv[5], "thread") == 0);
	if (argc == 5 && strcmp(argv[1], "flip") == 0)
		return do_flip(argv[2], argv[3], argv[4]);
	fprintf(stderr,
		"usage: aio_exec aio | exec FILE N MARKER [thread] | flip FILE ALLOWED DENIED\n");
	return 2;
}
