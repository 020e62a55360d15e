/* SPDX-License-Identifier: MIT */
/*
 * Connection set-up latency and bulk throughput over TCP on 127.0.0.1, for bench/run: run
 * directly on the host and inside airlock (where a rule allows the port, so each connect is
 * made by the supervisor and the data then flows without it).
 *
 *   net_loop serve PORTFILE SECONDS    a sink: accepts, reads to end of file, closes; writes
 *                                      its port to PORTFILE; exits after SECONDS
 *   net_loop connect PORT N RUNS       N connect+close per run; prints connect_us (median of
 *                                      the runs' means)
 *   net_loop bulk PORT MBYTES RUNS     sends MBYTES per run and waits until the sink has read
 *                                      it all; prints bulk_mbps (median)
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static double median(double *v, int n)
{
	qsort(v, (size_t)n, sizeof(*v), cmp);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

/* Read what c has; close it at end of file or on an error. */
static void drain(int ep, int c)
{
	static char buf[1 << 18];
	ssize_t k;

	while ((k = read(c, buf, sizeof(buf))) > 0)
		;
	if (k == 0 || errno != EAGAIN) {
		epoll_ctl(ep, EPOLL_CTL_DEL, c, NULL);
		close(c);
	}
}

/*
 * One thread and epoll: the sink must accept as fast as any client connects. A thread per
 * connection fell behind a client that only connects and closes: its accept queue filled, the
 * kernel dropped SYNs, and each dropped one cost the client a 1 s retransmission, which made
 * the direct figure, and so the ratio against it, meaningless.
 */
static int serve(const char *portfile, int seconds)
{
	struct sockaddr_in sin = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t len = sizeof(sin);
	int s = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0), one = 1;
	int ep = epoll_create1(0);
	struct epoll_event ev = {.events = EPOLLIN}, evs[64];
	char tmp[4096];
	FILE *f;

	alarm((unsigned)seconds); /* bounded: stops by itself */
	setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	ev.data.fd = s;
	if (s < 0 || ep < 0 || bind(s, (struct sockaddr *)&sin, sizeof(sin)) < 0 ||
	    listen(s, 4096) < 0 || getsockname(s, (struct sockaddr *)&sin, &len) < 0 ||
	    epoll_ctl(ep, EPOLL_CTL_ADD, s, &ev) < 0) {
		perror("net_loop: serve");
		return 1;
	}
	snprintf(tmp, sizeof(tmp), "%s.tmp", portfile);
	f = fopen(tmp, "w");
	if (!f)
		return 1;
	fprintf(f, "%u\n", ntohs(sin.sin_port));
	fclose(f);
	rename(tmp, portfile);
	for (;;) {
		int n = epoll_wait(ep, evs, 64, -1);

		for (int i = 0; i < n; i++) {
			int c;

			if (evs[i].data.fd != s) {
				drain(ep, evs[i].data.fd);
				continue;
			}
			while ((c = accept4(s, NULL, NULL, SOCK_NONBLOCK)) >= 0) {
				ev.data.fd = c;
				if (epoll_ctl(ep, EPOLL_CTL_ADD, c, &ev) < 0)
					close(c);
			}
		}
	}
}

static int dial(int port)
{
	struct sockaddr_in sin = {.sin_family = AF_INET,
				  .sin_port = htons((unsigned short)port),
				  .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	int s = socket(AF_INET, SOCK_STREAM, 0);

	if (s < 0 || connect(s, (struct sockaddr *)&sin, sizeof(sin)) < 0) {
		fprintf(stderr, "net_loop: connect to 127.0.0.1:%d: %s\n", port, strerror(errno));
		exit(1);
	}
	return s;
}

int main(int argc, char **argv)
{
	int runs, port, r;
	double *v;

	signal(SIGPIPE, SIG_IGN);
	if (argc == 4 && strcmp(argv[1], "serve") == 0)
		return serve(argv[2], atoi(argv[3]));
	if (argc != 5)
		return 2;
	port = atoi(argv[2]);
	runs = atoi(argv[4]);
	if (runs < 1)
		return 2;
	v = calloc((size_t)runs, sizeof(*v));
	if (strcmp(argv[1], "connect") == 0) {
		long n = atol(argv[3]);

		close(dial(port)); /* warm up */
		for (r = 0; r < runs; r++) {
			double t0 = now();

			for (long i = 0; i < n; i++)
				close(dial(port));
			v[r] = (now() - t0) / (double)n * 1e6;
		}
		printf("connect_us %.2f\n", median(v, runs));
		return 0;
	}
	if (strcmp(argv[1], "bulk") == 0) {
		static char buf[1 << 18];
		long long total = atoll(argv[3]) << 20;

		memset(buf, 'x', sizeof(buf));
		for (r = 0; r < runs; r++) {
			int s = dial(port);
			long long sent = 0;
			double t0 = now();

			while (sent < total) {
				ssize_t k = write(s, buf, sizeof(buf));

				if (k <= 0) {
					perror("net_loop: write");
					return 1;
				}
				sent += k;
			}
			/* The sink has read everything when it closes after our end of file. */
			shutdown(s, SHUT_WR);
			while (read(s, buf, sizeof(buf)) > 0)
				;
			v[r] = (double)total / (1 << 20) / (now() - t0);
			close(s);
		}
		printf("bulk_mbps %.1f\n", median(v, runs));
		return 0;
	}
	return 2;
}
