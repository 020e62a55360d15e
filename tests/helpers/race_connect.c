/* SPDX-License-Identifier: MIT */
/*
 * Races the supervisor's decision on connect(): one thread connects over and over while
 * another flips the very sockaddr it passes between an address inside the sandbox
 * (127.0.0.1) and one outside (argv[1]). Whatever the supervisor read, the outside address
 * must never be reached (sandlock #27: CONTINUE after checking memory).
 * usage: race_connect OUTSIDE-IP PORT ITERATIONS; prints how many connects succeeded.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static struct sockaddr_in addr;
static in_addr_t inside, outside;
static atomic_int stop;

static void *flipper(void *arg)
{
	(void)arg;
	while (!atomic_load(&stop)) {
		*(volatile in_addr_t *)&addr.sin_addr.s_addr = inside;
		*(volatile in_addr_t *)&addr.sin_addr.s_addr = outside;
	}
	return NULL;
}

int main(int argc, char **argv)
{
	pthread_t t;
	long i, n, connected = 0;

	if (argc != 4)
		return 2;
	inside = inet_addr("127.0.0.1");
	outside = inet_addr(argv[1]);
	n = atol(argv[3]);
	addr.sin_family = AF_INET;
	addr.sin_port = htons((unsigned short)atoi(argv[2]));
	addr.sin_addr.s_addr = inside;
	pthread_create(&t, NULL, flipper, NULL);
	for (i = 0; i < n; i++) {
		int fd = socket(AF_INET, SOCK_STREAM, 0);

		if (fd < 0)
			return 2;
		if (connect(fd, (struct sockaddr *)&addr, sizeof(addr)) == 0)
			connected++;
		close(fd);
	}
	atomic_store(&stop, 1);
	pthread_join(t, NULL);
	printf("%ld\n", connected);
	return 0;
}
