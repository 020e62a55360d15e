/* SPDX-License-Identifier: MIT */
/*
 * Unit tests for report_read_events(): its reader of plain write events without cJSON takes a
 * line exactly as cJSON does. Each line is read twice, as written and with a member cJSON alone
 * reads (an array) put first, and the writers found must be the same.
 */
#include "supervisor/record/report.h"

#include "common/buf.h"
#include "common/cleanup.h"
#include "common/path.h"
#include "supervisor/record/store.h"
#include "tests/unit/tap.h"

#include <cjson/cJSON.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char base[PATH_MAX];

/* The exec event that write events name by "exec_seq": 0. */
#define EXEC0                                                                                      \
	"{\"seq\":0,\"class\":\"exec\",\"op\":\"execve\",\"target\":\"/bin/sh\","                  \
	"\"command\":[\"sh\",\"-c\",\"x\"]}\n"

static const char *const lines[] = {
	/* The common form. */
	"{\"seq\":1,\"pid\":2,\"exec_seq\":0,\"class\":\"write\",\"op\":\"openat\","
	"\"target\":\"/p/a\",\"flags\":\"O_WRONLY\",\"decision\":\"allow\",\"prev\":\"ab\"}",
	/* Two targets, a step, white space, literals, numbers of every form. */
	" { \"class\" : \"write\" , \"target\":\"/p/b\",\"target2\":\"/p/c\",\"step\":3,"
	"\"exec_seq\":0,\"x\":true,\"y\":false,\"z\":null,\"n\":-1.5e+3,\"m\":0.25 } \r",
	/* Escapes: the one-letter ones, and \u, in a target and elsewhere. */
	"{\"class\":\"write\",\"target\":\"/p/q\\\"d\\\\e\\/f\\n\",\"exec_seq\":0}",
	"{\"class\":\"write\",\"target\":\"/p/\\u00e9\",\"exec_seq\":0}",
	"{\"class\":\"write\",\"target\":\"/p/g\",\"note\":\"\\t\\u0041\",\"exec_seq\":0}",
	"{\"cl\\u0061ss\":\"write\",\"target\":\"/p/h\"}",
	"{\"class\":\"wr\\u0069te\",\"target\":\"/p/i\"}",
	/* Not strings, not numbers, not counts where they are expected. */
	"{\"class\":\"write\",\"target\":5,\"target2\":\"/p/j\",\"exec_seq\":\"0\"}",
	"{\"class\":\"write\",\"target\":\"/p/k\",\"exec_seq\":-0,\"step\":2.5}",
	"{\"class\":\"write\",\"target\":\"/p/l\",\"exec_seq\":1e0,\"step\":99999999999}",
	"{\"class\":\"write\",\"target\":\"/p/m\",\"exec_seq\":123456789012345678901234567890}",
	"{\"class\":\"write\",\"target\":\"/p/n\",\"exec_seq\":7}",
	"{\"class\":true,\"target\":\"/p/o\"}",
	/* Duplicate members: the first counts. */
	"{\"class\":\"write\",\"target\":\"/p/r\",\"target\":\"/p/s\",\"class\":\"exec\"}",
	"{\"class\":\"step\",\"class\":\"write\",\"target\":\"/p/t\"}",
	/* Nested members, a copied tree. */
	"{\"class\":\"write\",\"target\":\"/p/u\",\"argv\":[\"own\",\"argv\"]}",
	"{\"class\":\"write\",\"target\":\"/p/v\",\"target2\":\"/p/w\",\"dirmove\":{\"copied\":true}}",
	"{\"class\":\"write\",\"target\":\"/p/x\",\"dirmove\":true}",
	/* Malformed: each is skipped, or taken, as cJSON has it. */
	"{\"class\":\"write\",\"target\":\"/p/y1\"",
	"{\"class\":\"write\",\"target\":\"/p/y2\"}}",
	"{\"class\":\"write\",\"target\":\"/p/y3\"} trailing",
	"{\"class\":\"write\",\"target\":\"/p/y4\",}",
	"{\"class\":\"write\",\"target\":\"/p/y5\" \"x\":1}",
	"{\"class\":\"write\",\"target\":\"/p/y6\",\"x\":01}",
	"{\"class\":\"write\",\"target\":\"/p/y7\",\"x\":1.}",
	"{\"class\":\"write\",\"target\":\"/p/y8\",\"x\":tru}",
	"{\"class\":\"write\",\"target\":\"/p/y9\",\"x\":\"\\q\"}",
	"{\"class\":\"write\",\"target\":\"/p/y10\",\"x\":\"open",
	"{\"class\":\"write\",\"target\":\"/p/y11\"\v}",
	"{\"class\":\"write\",\"target\":\"/p/y12\",\"x\":+1}",
	"{\"class\":\"write\",\"target\":\"/p/y13\",\"x\":.5}",
	"{\"class\":\"write\",\"target\":\"/p/y14\",\"x\":1e}",
	"{\"class\":\"write\",\"target\":\"/p/y15\",\"x\":0x10}",
	"{\"class\":\"write\",\"target\":\"/p/y16\",\"x\":1234567890123456789012345678901234567890123456"
	"789012345678901234567890}",
	"{\"class\":\"write\",\"target\":\"/p/y17\",\"x\":\"\\uZZZZ\"}",
	"{\"class\":\"write\",\"target\":\"/p/y18\",\"x\":\"\\ud800\"}",
	"[\"class\",\"write\"]",
	"",
	"{}",
};

static void write_log(const char *dir, const char *line, bool padded)
{
	cleanup_free char *path = path_join(dir, "events.jsonl");
	FILE *f = fopen(path, "w");

	if (!f) {
		perror(path);
		exit(1);
	}
	fputs(EXEC0, f);
	/* The same members and one more that only cJSON reads: the old way of reading the line. */
	if (padded && line[strspn(line, " ")] == '{')
		fprintf(f, "{\"pad\":[],%s\n", line + strspn(line, " ") + 1);
	else
		fprintf(f, "%s\n", line);
	fclose(f);
}

static void add(void *ctx, const char *argv, long long exec_seq)
{
	buf_addf(ctx, "[%s|%lld]", argv, exec_seq);
}

/* What the writers say of the paths the lines name, as text. */
static char *describe(struct writers *ws)
{
	static const char *const paths[] = {
		"/p/a",	  "/p/b",   "/p/c",   "/p/q\"d\\e/f\n", "/p/\xc3\xa9", "/p/g",	 "/p/h",
		"/p/i",	  "/p/j",   "/p/k",   "/p/l",		"/p/m",	       "/p/n",	 "/p/o",
		"/p/r",	  "/p/s",   "/p/t",   "/p/u",		"/p/v",	       "/p/w",	 "/p/w/in",
		"/p/x",	  "/p/y1",  "/p/y2",  "/p/y3",		"/p/y4",       "/p/y5",	 "/p/y6",
		"/p/y7",  "/p/y8",  "/p/y9",  "/p/y10",		"/p/y11",      "/p/y12", "/p/y13",
		"/p/y14", "/p/y15", "/p/y16", "/p/y17",		"/p/y18"};
	struct buf b;

	buf_init(&b);
	for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
		unsigned steps[4];
		size_t n;

		buf_addf(&b, "%s:", paths[i]);
		writers_each(ws, paths[i], add, &b);
		n = writers_steps(ws, paths[i], steps, 4);
		for (size_t k = 0; k < n; k++)
			buf_addf(&b, "s%u", steps[k]);
		buf_addc(&b, ' ');
	}
	return b.data;
}

static char *read_as(const char *line, bool padded)
{
	struct session s = {.id = (char *)"t", .dir = base, .lock_fd = -1};
	struct writers *ws;
	char *text;

	write_log(base, line, padded);
	ws = report_read_events(&s, NULL, NULL);
	text = describe(ws);
	writers_free(ws);
	return text;
}

static void count_one(void *ctx, const char *argv, long long exec_seq)
{
	(void)argv;
	(void)exec_seq;
	(*(size_t *)ctx)++;
}

/*
 * The writers are sorted as strcmp() orders their paths, whatever bytes follow the prefix all
 * share (ends, bytes above 0x7f, long equal runs): every path written is found again, each
 * with the steps of its three writes, the paths written in a scrambled order.
 */
static void test_sorted_lookup(void)
{
	static const char *const tails[] = {
		"",	"a",  "a\xc3\xa9", "ab",       "a/b",	  "abcdefghij1", "abcdefghij2",
		"\xff", "zz", "a\x7f",	   "abcdefgh", "abcdefg", "abcdefgh/i",	 "B"};
	size_t n = sizeof(tails) / sizeof(tails[0]), bad = 0;

	for (int prefix = 0; prefix < 2; prefix++) {
		struct session s = {.id = (char *)"t", .dir = base, .lock_fd = -1};
		cleanup_free char *path = path_join(base, "events.jsonl");
		const char *pre = prefix ? "/home/u/a/long/shared/prefix/" : "/";
		struct writers *ws;
		FILE *f = fopen(path, "w");

		if (!f) {
			perror(path);
			exit(1);
		}
		fputs(EXEC0, f);
		for (unsigned step = 1; step <= 3; step++)
			for (size_t i = 0; i < n; i++)
				fprintf(f,
					"{\"class\":\"write\",\"target\":\"%s%s\",\"exec_seq\":0,"
					"\"step\":%u}\n",
					pre, tails[(i * 5 + step) % n], step);
		fclose(f);
		ws = report_read_events(&s, NULL, NULL);
		for (size_t i = 0; i < n; i++) {
			cleanup_free char *p = NULL;
			unsigned steps[4];
			size_t count = 0;

			p = malloc(strlen(pre) + strlen(tails[i]) + 1);
			strcpy(p, pre);
			strcat(p, tails[i]);
			writers_each(ws, p, count_one, &count);
			if (count != 1 || writers_steps(ws, p, steps, 4) != 3)
				bad++;
		}
		writers_free(ws);
	}
	is_int((int)bad, 0, "every path written is found with its steps, whatever its bytes");
}

int main(void)
{
	size_t i, n = sizeof(lines) / sizeof(lines[0]);

	snprintf(base, sizeof(base), "%s/airlock-test-report.XXXXXX", getenv("TMPDIR") ?: "/tmp");
	if (!mkdtemp(base)) {
		perror("mkdtemp");
		return 1;
	}
	for (i = 0; i < n; i++) {
		cleanup_free char *fast = read_as(lines[i], false);
		cleanup_free char *slow = read_as(lines[i], true);

		is_str(fast, slow, "line %zu is read as cJSON reads it", i);
	}
	{
		cleanup_free char *t = read_as(lines[0], false);

		ok(strstr(t, "/p/a:[sh -c x|0]") != NULL, "the common form names its program");
	}
	{
		cleanup_free char *t = read_as(lines[1], false);

		ok(strstr(t, "/p/b:[sh -c x|0]s3") && strstr(t, "/p/c:[sh -c x|0]s3"),
		   "both targets, with the step");
	}
	test_sorted_lookup();
	{
		cleanup_free char *p = path_join(base, "events.jsonl");

		unlink(p);
		rmdir(base);
	}
	return tap_done();
}
