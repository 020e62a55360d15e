/* SPDX-License-Identifier: MIT */
/*
 * Races the supervisor's decision on connect() and sendto(): one thread calls over and over
 * while another flips the very sockaddr it passes between two addresses. Whatever the
 * supervisor read, the destination it did not allow must never be reached (sandlock #27:
 * CONTINUE after checking memory).
 *
 *   race_connect OUTSIDE-IP PORT ITERATIONS
 *       connect(), flipping between 127.0.0.1 (the sandbox's own loopback) and OUTSIDE-IP
 *   race_connect connect|sendto ALLOWED-IP ALLOWED-PORT DENIED-IP DENIED-PORT ITERATIONS
 *       flipping between an allowed destination and a denied one (address and port); sendto
 *       sends one datagram per call, on a socket kept for 50 calls, so later calls go out
 *       on the host socket the supervisor installed
 *
 * Prints how many calls succeeded.
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
static struct sockaddr_in one, two;
static atomic_int stop;

/* Hold each value for a short, varying while, so that the supervisor's read and the kernel's
   (were it to read again) land on either, and sometimes on different ones. */
static void hold(unsigned spins)
{
	for (volatile unsigned k = 0; k < spins; k++)
		;
}

static void *flipper(void *arg)
{
	unsigned r = 1;

	(void)arg;
	while (!atomic_load(&stop)) {
		r = r * 1103515245u + 12345u;
		memcpy((void *)&addr, &one, sizeof(addr));
		/* A compiler barrier: neither store may be dropped as overwritten. */
		__asm__ volatile("" ::: "memory");
		hold((r >> 16) % 4000);
		memcpy((void *)&addr, &two, sizeof(addr));
		__asm__ volatile("" ::: "memory");
		hold((r >> 4) % 4000);
	}
	return NULL;
}

static void set(struct sockaddr_in *sin, const char *ip, const char *port)
{
	memset(sin, 0, sizeof(*sin));
	sin->sin_family = AF_INET;
	sin->sin_addr.s_addr = inet_addr(ip);
	sin->sin_port = htons((unsigned short)atoi(port));
}

int main(int argc, char **argv)
{
	pthread_t t;
	long i, n, ok = 0;
	int udp = 0, fd = -1;

	if (argc == 4) {
		set(&one, "127.0.0.1", argv[2]);
		set(&two, argv[1], argv[2]);
		n = atol(argv[3]);
	} else if (argc == 7) {
		udp = strcmp(argv[1], "sendto") == 0;
		set(&one, argv[2], argv[3]);
		set(&two, argv[4], argv[5]);
		n = atol(argv[6]);
	} else {
		return 2;
	}
	addr = one;
	pthread_create(&t, NULL, flipper, NULL);
	for (i = 0; i < n; i++) {
		if (!udp) {
			fd = socket(AF_INET, SOCK_STREAM, 0);
			if (fd < 0)
				return 2;
			if (connect(fd, (struct sockaddr *)&addr, sizeof(addr)) == 0) {
				ok++;
				(void)!write(fd, "x", 1);
			}
			close(fd);
			continue;
		}
		if (i % 50 == 0) {
			if (fd >= 0)
				close(fd);
			fd = socket(AF_INET, SOCK_DGRAM, 0);
			if (fd < 0)
				return 2;
		}
		if (sendto(fd, "x", 1, 0, (struct sockaddr *)&addr, sizeof(addr)) == 1)
			ok++;
	}
	atomic_store(&stop, 1);
	pthread_join(t, NULL);
	printf("%ld\n", ok);
	return 0;
}
