/* SPDX-License-Identifier: MIT */
/*
 * Races the supervisor's decision on execve(): in each of N child processes one thread calls
 * execve() on a path buffer while another flips that buffer between an allowed program and a
 * denied one (argv[1] and argv[2], same length). With `deny exec DENIED`, the denied program
 * must never run, whatever the supervisor read (prior-art: CONTINUE after checking memory).
 * The denied program is run with argv[3] as its argument (touch MARKER: its file must never
 * appear). Also races through a vfork child, whose memory the parent's thread flips.
 * usage: race_exec ALLOWED DENIED MARKER ITERATIONS; prints "done N".
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static char path[256];
static const char *allowed, *denied;
static atomic_int stop;

static void *flipper(void *arg)
{
	size_t len = strlen(allowed) + 1;

	(void)arg;
	while (!atomic_load(&stop)) {
		memcpy((char *)path, allowed, len);
		memcpy((char *)path, denied, len);
	}
	return NULL;
}

int main(int argc, char **argv)
{
	int i, n;

	if (argc != 5 || strlen(argv[1]) != strlen(argv[2]) || strlen(argv[1]) >= sizeof(path)) {
		fprintf(stderr,
			"usage: race_exec ALLOWED DENIED MARKER ITERATIONS (same lengths)\n");
		return 2;
	}
	allowed = argv[1];
	denied = argv[2];
	n = atoi(argv[4]);
	for (i = 0; i < n; i++) {
		pid_t pid = fork();

		if (pid == 0) {
			char *args[] = {"x", argv[3], NULL};
			char *env[] = {NULL};
			pthread_t t;

			strcpy(path, allowed);
			pthread_create(&t, NULL, flipper, NULL);
			execve(path, args, env);
			_exit(0); /* denied: fine */
		}
		if (pid > 0)
			waitpid(pid, NULL, 0);
	}
	/* vfork: the child shares our memory, our thread flips it. */
	{
		pthread_t t;

		strcpy(path, allowed);
		pthread_create(&t, NULL, flipper, NULL);
		for (i = 0; i < n; i++) {
			char *args[] = {"x", argv[3], NULL};
			char *env[] = {NULL};
			pid_t pid = vfork();

			if (pid == 0) {
				execve(path, args, env);
				_exit(0);
			}
			if (pid > 0)
				waitpid(pid, NULL, 0);
		}
		atomic_store(&stop, 1);
		pthread_join(t, NULL);
	}
	printf("done %d\n", n);
	return 0;
}
