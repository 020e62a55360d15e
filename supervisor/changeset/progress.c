/* SPDX-License-Identifier: MIT */
/* One updating line on stderr while a commit or an undo works through many steps; see
   commit_int.h. */
#include "supervisor/changeset/commit_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

static long long now_ms(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (long long)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

void progress_start(struct progress *p, const char *what, size_t total)
{
	const char *delay = getenv("AIRLOCK_PROGRESS_DELAY");

	*p = (struct progress){.what = what, .total = total};
	/* A person watching, and enough to wait for: as git, after a moment only. */
	p->on = total > 0 && isatty(STDERR_FILENO);
	p->start = now_ms() + (delay && *delay ? atoll(delay) : 1000);
	p->last = -1;
}

static void show(struct progress *p, size_t done)
{
	fprintf(stderr, "\rairlock: %s: %3u%% (%zu/%zu)", p->what,
		(unsigned)(done * 100 / p->total), done, p->total);
	fflush(stderr);
	p->shown = true;
}

void progress_update(struct progress *p, size_t done)
{
	long long t;

	if (!p || !p->on)
		return;
	t = now_ms();
	/* Ten times a second at most: the terminal is not the work. */
	if (t < p->start || (p->last >= 0 && t - p->last < 100))
		return;
	p->last = t;
	show(p, done > p->total ? p->total : done);
}

void progress_end(struct progress *p, size_t done)
{
	if (!p->on || !p->shown)
		return;
	show(p, done > p->total ? p->total : done);
	/* A failure says what failed on the next line. */
	fputs(done >= p->total ? ", done.\n" : "\n", stderr);
}
