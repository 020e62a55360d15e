/* SPDX-License-Identifier: MIT */
/*
 * A signal storm during notified calls (sandlock #235): one thread opens files for writing
 * (each open waits on the supervisor) while another sends the process SIGUSR1 in a loop,
 * with a handler installed. Prints how many opens failed with EINTR and how many with another
 * error. Interrupted before the supervisor received it, a notified call restarts like any
 * slow call (SA_RESTART) or fails with EINTR (without it); once received, WAIT_KILLABLE_RECV
 * (Linux 5.19) keeps signals from aborting it.
 * usage: signal_storm DIR ITERATIONS [norestart]
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static atomic_int stop;
static pid_t self;

static void on_signal(int sig)
{
	(void)sig;
}

static void *storm(void *arg)
{
	(void)arg;
	while (!atomic_load(&stop))
		kill(self, SIGUSR1);
	return NULL;
}

int main(int argc, char **argv)
{
	struct sigaction sa;
	pthread_t t;
	long i, n, eintr = 0, other = 0;
	char path[4096];

	if (argc < 3)
		return 2;
	n = atol(argv[2]);
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	/* argv[3] "norestart": no SA_RESTART, so an open interrupted before the supervisor
	   received it shows as EINTR (as for any slow call); by default SA_RESTART, as signal()
	   sets it. */
	sa.sa_flags = argc > 3 && strcmp(argv[3], "norestart") == 0 ? 0 : SA_RESTART;
	sigaction(SIGUSR1, &sa, NULL);
	self = getpid();
	snprintf(path, sizeof(path), "%s/storm.txt", argv[1]);
	pthread_create(&t, NULL, storm, NULL);
	for (i = 0; i < n; i++) {
		int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);

		if (fd >= 0)
			close(fd);
		else if (errno == EINTR)
			eintr++;
		else
			other++;
	}
	atomic_store(&stop, 1);
	pthread_join(t, NULL);
	printf("%ld %ld\n", eintr, other);
	return 0;
}
