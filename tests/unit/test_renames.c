/* SPDX-License-Identifier: MIT */
/* Unit tests for supervisor/changeset/renames.h: the record's renames, followed in order. */
#include "supervisor/changeset/renames.h"

#include "common/cleanup.h"
#include "tests/unit/tap.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static char log_path[] = "/tmp/airlock-test-renames.XXXXXX";

/* One write event per "from>to" of spec (';'-separated), as events.jsonl holds them, plus
   lines that are not renames. */
static void write_log(const char *spec)
{
	FILE *f = fopen(log_path, "w");
	cleanup_free char *copy = strdup(spec);
	char *save = NULL, *item;

	fputs("{\"seq\":0,\"class\":\"exec\",\"op\":\"execve\",\"target\":\"/bin/mv\"}\n", f);
	for (item = strtok_r(copy, ";", &save); item; item = strtok_r(NULL, ";", &save)) {
		char *to = strchr(item, '>');

		*to++ = '\0';
		fprintf(f,
			"{\"class\":\"write\",\"op\":\"renameat2\",\"target\":\"%s\",\"target2\":"
			"\"%s\",\"decision\":\"allow\",\"result\":\"continued\"}\n",
			item, to);
		/* A denied rename did not happen. */
		fprintf(f,
			"{\"class\":\"write\",\"op\":\"rename\",\"target\":\"%s\",\"target2\":"
			"\"/elsewhere\",\"decision\":\"deny\"}\n",
			to);
	}
	fputs("{\"class\":\"write\",\"op\":\"link\",\"target\":\"/a\",\"target2\":\"/b\","
	      "\"decision\":\"allow\"}\n",
	      f);
	fclose(f);
}

/* The origin of path after the renames of spec, or "-" for none; with "|" and the path it
   replaced when the hint names one. */
static char *origin(const char *spec, const char *path)
{
	struct rename_hints h = {0};
	cleanup_free char *o = NULL, *r = NULL;
	char *s;

	write_log(spec);
	if (rename_hints_load(log_path, &h) < 0)
		return strdup("<load failed>");
	o = rename_hints_origin(&h, path);
	r = rename_hints_replaced(&h, path);
	rename_hints_free(&h);
	if (asprintf(&s, "%s%s%s", o ? o : "-", r ? "|" : "", r ? r : "") < 0)
		return NULL;
	return s;
}

static void check(const char *spec, const char *path, const char *want, const char *what)
{
	cleanup_free char *got = origin(spec, path);

	is_str(got, want, "%s", what);
}

int main(void)
{
	int fd = mkstemp(log_path);

	if (fd < 0)
		return 1;
	close(fd);
	check("/p/a>/p/b", "/p/b", "/p/a|/p/b", "a rename, or a new file saved over /p/b");
	check("/p/a>/p/b", "/p/a", "-", "the old path has no origin");
	check("/p/a>/p/b;/p/b>/p/c", "/p/c", "/p/a|/p/b",
	      "a file renamed twice names its first path");
	check("/p/d>/p/e", "/p/e/sub/x", "/p/d/sub/x|/p/e/sub/x", "a file below a moved directory");
	check("/p/d/x>/p/d/y;/p/d>/p/e", "/p/e/y", "/p/d/x|/p/d/y",
	      "a renamed file moved along with its directory");
	check("/p/a>/p/b;/p/tmp>/p/b", "/p/b", "/p/a|/p/b",
	      "a new file renamed over a renamed one carries its history (sed -i)");
	check("/p/a>/p/b;/p/c>/p/d;/p/d>/p/b", "/p/b", "/p/c|/p/d",
	      "a renamed file renamed over another takes its own history");
	/* The log does not say whether a path is a file: a new directory renamed over a moved
	   (emptied) one keeps its history as a file would; the content decides the pairing. */
	check("/p/d>/p/e;/p/n>/p/e", "/p/e/x", "/p/d/x|/p/e/x",
	      "a new entry renamed over a moved one carries its history");
	check("/p/d>/p/e;/p/a>/p/b;/p/b>/p/e", "/p/e/x", "/p/a/x|/p/b/x",
	      "a moved entry renamed over another moved one replaces its history");
	check("/p/a>/p/a", "/p/a", "-", "a rename onto itself is nothing");
	check("/p/d>/p/d/sub", "/p/d/sub", "-", "a rename into itself is refused by the kernel");
	check("/p/a>/p/b;/p/b>/p/a", "/p/a", "/p/a|/p/b", "renamed there and back: its own origin");
	check("/p/sedX>/p/f;/p/f>/p/g", "/p/g", "/p/sedX|/p/f",
	      "sed -i then mv: the temporary file, or the file it was saved over (its identity)");
	check("/p/f>/p/g;/p/sedX>/p/g", "/p/g", "/p/f|/p/g",
	      "mv then sed -i: the file keeps the history of its rename");
	check("/p/t1>/p/f;/p/t2>/p/f;/p/f>/p/g", "/p/g", "/p/t1|/p/f",
	      "saved over twice, then moved: still the file saved over");
	check("/p/a>/p/t;/p/b>/p/a;/p/t>/p/b", "/p/b", "/p/a|/p/t",
	      "a swap through a temporary name");
	check("/p/a>/p/t;/p/b>/p/a;/p/t>/p/b", "/p/a", "/p/b|/p/a", "... both ways");
	check("", "/p/x", "-", "no renames: no origin");
	{
		struct rename_hints h = {0};

		is_int(rename_hints_load("/nonexistent/events.jsonl", &h), -2,
		       "a log that cannot be read: -ENOENT, no hints");
		is_int(h.n, 0, "... and nothing loaded");
	}
	{
		/* Many renames: each costs a few lookups (the time is printed, not judged). */
		struct rename_hints h = {0};
		struct timespec t0, t1;
		FILE *f = fopen(log_path, "w");
		char *o;
		int i;

		for (i = 0; i < 20000; i++)
			fprintf(f,
				"{\"class\":\"write\",\"op\":\"rename\",\"target\":\"/p/a%d\","
				"\"target2\":\"/p/d/b%d\",\"decision\":\"allow\"}\n",
				i, i);
		fputs("{\"class\":\"write\",\"op\":\"rename\",\"target\":\"/p/d\",\"target2\":"
		      "\"/p/e\",\"decision\":\"allow\"}\n",
		      f);
		fclose(f);
		clock_gettime(CLOCK_MONOTONIC, &t0);
		rename_hints_load(log_path, &h);
		clock_gettime(CLOCK_MONOTONIC, &t1);
		printf("# 20,001 renames followed in %.0f ms\n",
		       (double)(t1.tv_sec - t0.tv_sec) * 1e3 +
			       (double)(t1.tv_nsec - t0.tv_nsec) / 1e6);
		is_int(h.n, 20001, "20,000 renamed files, then their directory: 20,001 entries");
		o = rename_hints_origin(&h, "/p/e/b12345");
		is_str(o, "/p/a12345", "... each found below the directory's new name");
		free(o);
		rename_hints_free(&h);
	}
	unlink(log_path);
	return tap_done();
}
