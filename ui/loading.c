/* SPDX-License-Identifier: MIT */
/*
 * Progress while the review opens (see ui.h): a thread that, once opening has taken longer
 * than a moment, rewrites one line of the terminal's stderr with what is being done and for
 * how long, until ui_loading_done(). Nothing when stderr is not a terminal.
 */
#include "ui/ui.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

/* How long opening may take before the line shows (AIRLOCK_UI_LOADING_MS, for the tests),
   and how often it changes. */
#define LOADING_QUIET_MS 300
#define LOADING_TICK_MS	 200

static struct {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	pthread_t th;
	bool running, stop, shown;
	const char *what, *stage;
	struct timespec t0;
} L = {.mu = PTHREAD_MUTEX_INITIALIZER, .cv = PTHREAD_COND_INITIALIZER};

static double since(const struct timespec *t0)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (double)(now.tv_sec - t0->tv_sec) + (double)(now.tv_nsec - t0->tv_nsec) / 1e9;
}

static void deadline(struct timespec *ts, long ms)
{
	clock_gettime(CLOCK_MONOTONIC, ts);
	ts->tv_sec += ms / 1000;
	ts->tv_nsec += (ms % 1000) * 1000000L;
	if (ts->tv_nsec >= 1000000000L) {
		ts->tv_sec++;
		ts->tv_nsec -= 1000000000L;
	}
}

static void *loading_thread(void *arg)
{
	const char *quiet = getenv("AIRLOCK_UI_LOADING_MS");
	struct timespec ts;
	long wait = quiet ? strtol(quiet, NULL, 10) : LOADING_QUIET_MS;

	(void)arg;
	pthread_mutex_lock(&L.mu);
	for (bool first = true;; first = false) {
		deadline(&ts, wait);
		while (!L.stop && pthread_cond_timedwait(&L.cv, &L.mu, &ts) == 0)
			;
		/* Stopped: nothing to say, unless the quiet time had passed before and this thread
		   was only scheduled late (on a busy machine, or always with a quiet time of 0). */
		if (L.stop && !(first && since(&L.t0) * 1000 >= (double)wait))
			break;
		/* The session's ID and our own words only: nothing the program chose. */
		fprintf(stderr, "\rairlock: opening the review of session %s: %s (%.1fs)\033[K",
			L.what, L.stage ? L.stage : "reading its changes and event log",
			since(&L.t0));
		fflush(stderr);
		L.shown = true;
		if (L.stop)
			break;
		wait = LOADING_TICK_MS;
	}
	pthread_mutex_unlock(&L.mu);
	return NULL;
}

void ui_loading_start(const char *id)
{
	pthread_condattr_t ca;

	if (L.running || !isatty(STDERR_FILENO))
		return;
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&L.cv, &ca);
	pthread_condattr_destroy(&ca);
	L.what = id;
	L.stage = NULL;
	L.stop = L.shown = false;
	clock_gettime(CLOCK_MONOTONIC, &L.t0);
	L.running = pthread_create(&L.th, NULL, loading_thread, NULL) == 0;
}

void ui_loading_stage(const char *stage)
{
	pthread_mutex_lock(&L.mu);
	L.stage = stage;
	pthread_mutex_unlock(&L.mu);
}

void ui_loading_done(void)
{
	if (!L.running)
		return;
	pthread_mutex_lock(&L.mu);
	L.stop = true;
	pthread_cond_signal(&L.cv);
	pthread_mutex_unlock(&L.mu);
	pthread_join(L.th, NULL);
	L.running = false;
	if (L.shown)
		fputs("\r\033[K", stderr);
}
