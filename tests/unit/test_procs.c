/* SPDX-License-Identifier: MIT */
/*
 * Unit tests for supervisor/supervise/procs.h on real processes (this test plays the sandbox's
 * init): an exec counts once it takes effect, a failed one never, and a child forked before its
 * parent's exec keeps the command line its parent had then.
 */
#include "supervisor/supervise/procs.h"

#include "tests/unit/tap.h"

#include <errno.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static pid_t self;
static struct procs *P;

static cJSON *argv_of(const char *a, const char *b)
{
	cJSON *v = cJSON_CreateArray();

	cJSON_AddItemToArray(v, cJSON_CreateString(a));
	if (b)
		cJSON_AddItemToArray(v, cJSON_CreateString(b));
	return v;
}

/* The observed command line of tid, joined with spaces; *seq its exec event. */
static char *shown(pid_t tid, long long *seq)
{
	long long s;
	cJSON *v = procs_argv(P, self, tid, seq ? seq : &s), *a;
	char buf[256] = "";

	cJSON_ArrayForEach(a, v)
	{
		if (buf[0])
			strncat(buf, " ", sizeof(buf) - strlen(buf) - 1);
		strncat(buf, a->valuestring, sizeof(buf) - strlen(buf) - 1);
	}
	cJSON_Delete(v);
	return strdup(buf);
}

/* Wait (5 s at most) until pid runs exe. */
static bool wait_exe(pid_t pid, const char *exe)
{
	char link[64], got[4096];
	struct timespec t = {0, 5 * 1000 * 1000};

	snprintf(link, sizeof(link), "/proc/%d/exe", (int)pid);
	for (int i = 0; i < 1000; i++) {
		ssize_t n = readlink(link, got, sizeof(got) - 1);

		if (n > 0) {
			got[n] = '\0';
			if (strcmp(got, exe) == 0)
				return true;
		}
		nanosleep(&t, NULL);
	}
	return false;
}

static void put(int fd, char c)
{
	if (write(fd, &c, 1) != 1)
		_exit(3);
}

static char get(int fd)
{
	char c = 0;

	if (read(fd, &c, 1) != 1)
		_exit(3);
	return c;
}

/* Re-exec'd as "forker GO REPORT": fork a child that waits, report its pid, then on GO exec
   cat (which lives until its standard input closes). */
static int forker(int go, int report)
{
	pid_t g = fork();

	if (g == 0) {
		pause();
		_exit(0);
	}
	if (write(report, &g, sizeof(g)) != sizeof(g))
		return 3;
	get(go);
	execl("/bin/cat", "cat", (char *)NULL);
	return 4;
}

static void test_exec(void)
{
	int go[2], in[2];
	long long seq = -2;
	cJSON *v = argv_of("cat", NULL);
	pid_t c;
	char *s;

	if (pipe(go) < 0 || pipe(in) < 0)
		exit(2);
	c = fork();
	if (c == 0) {
		dup2(in[0], 0);
		close(in[1]);
		get(go[0]);
		execl("/bin/cat", "cat", (char *)NULL);
		_exit(4);
	}
	s = shown(c, NULL);
	is_str(s, "", "a process that never exec'd under watch, child of init: unknown");
	free(s);
	procs_exec(P, self, c, v, 7);
	put(go[1], 'x');
	ok(wait_exe(c, "/bin/cat") || wait_exe(c, "/usr/bin/cat"), "the child runs cat");
	s = shown(c, &seq);
	is_str(s, "cat", "once the exec took effect, it is the process's command line");
	is_int(seq, 7, "... from exec event 7");
	free(s);
	close(in[1]);
	kill(c, SIGKILL);
	waitpid(c, NULL, 0);
	cJSON_Delete(v);
}

static void test_failed_exec(void)
{
	int go[2], back[2];
	cJSON *v = argv_of("git", "status");
	pid_t c;
	char *s;

	if (pipe(go) < 0 || pipe(back) < 0)
		exit(2);
	c = fork();
	if (c == 0) {
		char g0[] = "git", g1[] = "status";
		char *gargv[] = {g0, g1, NULL};

		get(go[0]);
		execv("/nonexistent/git", gargv);
		put(back[1], 'f');
		pause();
		_exit(0);
	}
	procs_exec(P, self, c, v, 9);
	put(go[1], 'x');
	ok(get(back[0]) == 'f', "the exec of git status failed in the child");
	s = shown(c, NULL);
	is_str(s, "", "a failed exec of git status: not git status");
	free(s);
	kill(c, SIGKILL);
	waitpid(c, NULL, 0);
	cJSON_Delete(v);
}

static void test_fork_before_exec(const char *me)
{
	int go[2], report[2], in[2];
	cJSON *first = argv_of("first", "program"), *second = argv_of("cat", NULL);
	pid_t e, g = 0;
	char *s, fgo[16], frep[16];

	if (pipe(go) < 0 || pipe(report) < 0 || pipe(in) < 0)
		exit(2);
	e = fork();
	if (e == 0) {
		dup2(in[0], 0);
		close(in[1]);
		get(go[0]);
		snprintf(fgo, sizeof(fgo), "%d", go[0]);
		snprintf(frep, sizeof(frep), "%d", report[1]);
		execl(me, me, "forker", fgo, frep, (char *)NULL);
		_exit(4);
	}
	procs_exec(P, self, e, first, 1);
	put(go[1], 'x');
	if (read(report[0], &g, sizeof(g)) != sizeof(g))
		exit(2);
	s = shown(e, NULL);
	is_str(s, "first program", "the first exec took effect (same executable, new stack)");
	free(s);
	procs_exec(P, self, e, second, 2);
	put(go[1], 'y');
	ok(wait_exe(e, "/bin/cat") || wait_exe(e, "/usr/bin/cat"), "then it runs cat");
	s = shown(e, NULL);
	is_str(s, "cat", "the second exec is its command line now");
	free(s);
	s = shown(g, NULL);
	is_str(s, "first program",
	       "a child forked before the second exec: what its parent ran when it was forked");
	free(s);
	kill(g, SIGKILL);
	close(in[1]);
	kill(e, SIGKILL);
	waitpid(e, NULL, 0);
	cJSON_Delete(first);
	cJSON_Delete(second);
}

int main(int argc, char **argv)
{
	FILE *f;
	int aslr = 2;

	if (argc == 4 && strcmp(argv[1], "forker") == 0)
		return forker(atoi(argv[2]), atoi(argv[3]));
	setvbuf(stdout, NULL, _IONBF, 0);
	self = getpid();
	P = procs_new();
	test_exec();
	test_failed_exec();
	f = fopen("/proc/sys/kernel/randomize_va_space", "re");
	if (f) {
		if (fscanf(f, "%d", &aslr) != 1)
			aslr = 2;
		fclose(f);
	}
	if (aslr > 0)
		test_fork_before_exec("/proc/self/exe");
	else
		printf("ok %d - # SKIP address space randomisation is off\n", ++tap_n);
	procs_free(P);
	return tap_done();
}
