/* SPDX-License-Identifier: MIT */
/* Colour and a pager for diff, log and show on a terminal, as git has them; see cli.h. */
#include "supervisor/cli/cli.h"

#include "common/json.h"
#include "common/err.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/wait.h>
#include <unistd.h>

static pid_t pager_pid = -1;
static int columns; /* the terminal's, taken before stdout became the pager's pipe */

int parse_colour_when(const char *s, enum colour_when *out)
{
	if (!s || strcmp(s, "always") == 0)
		*out = COLOUR_ALWAYS; /* a bare --color, as git takes it */
	else if (strcmp(s, "auto") == 0)
		*out = COLOUR_AUTO;
	else if (strcmp(s, "never") == 0)
		*out = COLOUR_NEVER;
	else
		return -EINVAL;
	return 0;
}

bool colour_wanted(enum colour_when w)
{
	const char *no = getenv("NO_COLOR");
	const char *term = getenv("TERM");

	if (w != COLOUR_AUTO)
		return w == COLOUR_ALWAYS;
	/* no-color.org: any non-empty value; a dumb terminal cannot show them. */
	if ((no && no[0]) || (term && strcmp(term, "dumb") == 0))
		return false;
	return isatty(STDOUT_FILENO);
}

int term_columns(void)
{
	const char *env = getenv("COLUMNS");
	struct winsize ws;
	int n;

	if (env && (n = atoi(env)) > 0)
		return n;
	if (columns > 0)
		return columns;
	if (isatty(STDOUT_FILENO) && ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0)
		return ws.ws_col;
	return 80;
}

/* At exit: the pager sees the end of its input, and the shell its prompt only once the
   person has left the pager. */
static void pager_wait(void)
{
	int status;

	fflush(stdout);
	fflush(stderr);
	close(STDOUT_FILENO);
	close(STDERR_FILENO);
	while (waitpid(pager_pid, &status, 0) < 0 && errno == EINTR)
		;
}

void pager_start(bool no_pager)
{
	const char *pager = getenv("AIRLOCK_PAGER");
	struct winsize ws;
	int fds[2];
	pid_t pid;

	if (no_pager || pager_pid >= 0 || !isatty(STDOUT_FILENO))
		return;
	if (!pager)
		pager = getenv("PAGER");
	if (!pager)
		pager = "less -FRX";
	if (!pager[0] || strcmp(pager, "cat") == 0)
		return;
	if (ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0)
		columns = ws.ws_col;
	if (pipe2(fds, O_CLOEXEC) < 0)
		return; /* unpaged output is still the output */
	fflush(stdout);
	fflush(stderr);
	pid = fork();
	if (pid < 0) {
		close(fds[0]);
		close(fds[1]);
		return;
	}
	if (pid == 0) {
		if (dup2(fds[0], STDIN_FILENO) < 0)
			_exit(127);
		/* git's defaults for a less or lv the person did not configure. */
		setenv("LESS", "FRX", 0);
		setenv("LV", "-c", 0);
		execl("/bin/sh", "sh", "-c", pager, (char *)NULL);
		_exit(127);
	}
	pager_pid = pid;
	dup2(fds[1], STDOUT_FILENO);
	if (isatty(STDERR_FILENO))
		dup2(fds[1], STDERR_FILENO); /* warnings in the page, not under it */
	close(fds[0]);
	close(fds[1]);
	atexit(pager_wait);
}
