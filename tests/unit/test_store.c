/* SPDX-License-Identifier: MIT */
/*
 * Unit tests for supervisor/record/store.h's session creation: the ID's UTC date and time
 * without gmtime_r() (store_utc()), and a store made on its first session.
 */
#include "supervisor/record/store.h"

#include "common/buf.h"
#include "common/cleanup.h"
#include "common/err.h"
#include "common/path.h"
#include "tests/unit/tap.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* Whether store_utc() says what gmtime_r() says of t; the first that differs is printed. */
static bool same_as_gmtime(time_t t)
{
	struct tm want, got;

	if (!gmtime_r(&t, &want))
		return true;
	store_utc(t, &got);
	if (got.tm_year == want.tm_year && got.tm_mon == want.tm_mon &&
	    got.tm_mday == want.tm_mday && got.tm_hour == want.tm_hour &&
	    got.tm_min == want.tm_min && got.tm_sec == want.tm_sec)
		return true;
	printf("#   %lld: %d-%d-%d %d:%d:%d, gmtime_r: %d-%d-%d %d:%d:%d\n", (long long)t,
	       got.tm_year, got.tm_mon, got.tm_mday, got.tm_hour, got.tm_min, got.tm_sec,
	       want.tm_year, want.tm_mon, want.tm_mday, want.tm_hour, want.tm_min, want.tm_sec);
	return false;
}

static void test_utc(void)
{
	const time_t edges[] = {0,	   -1,	      86399,	  86400,      951782399,
				951782400, 951868800, 4107542399, 4107542400, 253402300799};
	bool all = true;
	size_t i;
	time_t t;

	for (i = 0; i < ARRAY_SIZE(edges) && all; i++)
		all = same_as_gmtime(edges[i]);
	ok(all, "the epoch, leap days (2000-02-29, 2100-03-01) and the year 9999 as gmtime_r()");
	all = true;
	/* Every day from 1900 to 2400 at a time of day that moves. */
	for (t = -2208988800LL; t < 13569465600LL && all; t += 86400 + 37)
		all = same_as_gmtime(t);
	ok(all, "every day from 1900 to 2400 as gmtime_r()");
}

static void test_first_session(void)
{
	char tmpl[] = "/tmp/airlock-test-store.XXXXXX";
	cleanup_free char *state = NULL, *sessions = NULL;
	struct session a, b;
	struct stat st;

	if (!mkdtemp(tmpl))
		die_errno("cannot create a temporary directory");
	state = path_join(tmpl, "new/state");
	sessions = path_join(state, "sessions");
	setenv("AIRLOCK_STATE_DIR", state, 1);
	is_int(store_create(&a), 0, "the first session of a store that does not exist is made");
	ok(stat(sessions, &st) == 0 && S_ISDIR(st.st_mode) && (st.st_mode & 07777) == 0700,
	   "with the store's directories (mode 700)");
	is_int(store_create(&b), 0, "and a second one beside it");
	ok(a.dir && b.dir && strcmp(a.dir, b.dir) != 0 && stat(b.dir, &st) == 0,
	   "each with a directory of its own");
	store_close(&a);
	store_close(&b);
	{
		cleanup_free char *cmd = xasprintf("rm -rf '%s'", tmpl);

		(void)!system(cmd);
	}
}

int main(void)
{
	test_utc();
	test_first_session();
	return tap_done();
}
