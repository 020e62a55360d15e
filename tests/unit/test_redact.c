/* SPDX-License-Identifier: MIT */
/* Unit tests for supervisor/supervise/redact.h: built-in patterns, literals, custom patterns,
 * counts. */
#include "supervisor/supervise/redact.h"

#include "common/buf.h"
#include "common/cleanup.h"
#include "tests/unit/tap.h"

#include <errno.h>
#include <locale.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* Redact the C string s with r; caller frees. */
static char *red(struct redactor *r, const char *s)
{
	size_t n;

	return redactor_apply(r, s, strlen(s), &n);
}

/* The count of kind so far, 0 when it was never counted. */
static size_t count_of(const struct redactor *r, const char *kind)
{
	size_t i, n;

	for (i = 0; i < redactor_nkinds(r); i++) {
		const char *k = redactor_kind(r, i, &n);

		if (strcmp(k, kind) == 0)
			return n;
	}
	return 0;
}

/* A fresh redactor: s redacted is want, with exactly one replacement, of kind. */
static void check_one(const char *kind, const char *s, const char *want)
{
	struct redactor *r = redactor_new();
	cleanup_free char *got = red(r, s);

	is_str(got, want, "%s: redacted in context", kind);
	is_int(redactor_nkinds(r), 1, "%s: one kind counted", kind);
	is_int(count_of(r, kind), 1, "%s: counted once", kind);
	redactor_free(r);
}

/* A fresh redactor leaves s alone and counts nothing. */
static void check_untouched(const char *what, const char *s)
{
	struct redactor *r = redactor_new();
	cleanup_free char *got = red(r, s);

	is_str(got, s, "untouched: %s", what);
	is_int(redactor_nkinds(r), 0, "untouched: %s: nothing counted", what);
	redactor_free(r);
}

static void test_builtins(void)
{
	check_one("openai", "export OPENAI_API_KEY=sk-proj-Ab3dE5gH7jK9mN1pQ3sT5vX7z_9-bC1d; run\n",
		  "export OPENAI_API_KEY=[REDACTED:openai]; run\n");
	check_one("openai", "key: sk-ant-api03-aBcDeFgHiJkLmNoPqRsTuV done",
		  "key: [REDACTED:openai] done");
	check_one("aws_access_key", "aws_access_key_id = AKIAIOSFODNN7EXAMPLE\n",
		  "aws_access_key_id = [REDACTED:aws_access_key]\n");
	check_one("aws_access_key", "temporary ASIAY34FZKBOKMUTVV7A used",
		  "temporary [REDACTED:aws_access_key] used");
	check_one("aws_secret",
		  "aws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY\n",
		  "aws_secret_access_key = [REDACTED:aws_secret]\n");
	check_one("aws_secret",
		  "{\"AWS_SECRET_ACCESS_KEY\": \"wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY\"}",
		  "{\"AWS_SECRET_ACCESS_KEY\": \"[REDACTED:aws_secret]\"}");
	check_one("github",
		  "git clone https://x:ghp_1234567890abcdefghijABCDEFGHIJ123456@github.com/a/b",
		  "git clone https://x:[REDACTED:github]@github.com/a/b");
	check_one("github", "token=github_pat_11ABCDEFG0123456789_abcdefghijklmnopqrstuvwxyz end",
		  "token=[REDACTED:github] end");
	check_one("slack", "SLACK_TOKEN=xoxb-1234567890-abcdefghijkl\n",
		  "SLACK_TOKEN=[REDACTED:slack]\n");
	check_one("connection_string", "DATABASE_URL=postgres://app:hunter2@db/x\n",
		  "DATABASE_URL=postgres://app:[REDACTED:connection_string]@db/x\n");
	check_one("connection_string", "redis://:s3cr3t@cache:6379/0",
		  "redis://:[REDACTED:connection_string]@cache:6379/0");
	check_one("connection_string", "\"url\": \"mysql://root:p@ss:w0rd@10.0.0.1:3306/db\"",
		  "\"url\": \"mysql://root:[REDACTED:connection_string]@10.0.0.1:3306/db\"");
	check_one("bearer", "Authorization: Bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.abc-_x\r\n",
		  "Authorization: Bearer [REDACTED:bearer]\r\n");
	check_one("bearer", "authorization: bearer abcd1234efgh",
		  "authorization: bearer [REDACTED:bearer]");
}

static void test_untouched(void)
{
	check_untouched("sk- alone",
			"ls sk- and sk-short and task-manager-settings-for-production");
	check_untouched("short AKIA", "AKIA1234 and XAKIAIOSFODNN7EXAMPLE");
	check_untouched("url without password", "see https://example.com/path?q=1#top");
	check_untouched("url with port", "http://localhost:8080/api and ssh://git@github.com/x");
	check_untouched("Bearer without token", "Authorization: Bearer\nBearer tokens");
	check_untouched("ghp too short", "ghp_abc123 gho_");
	check_untouched("certificate",
			"-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n");
	check_untouched("empty", "");
}

static void test_private_key(void)
{
	const char *key = "-----BEGIN RSA PRIVATE KEY-----\n"
			  "MIIEowIBAAKCAQEAn3Xb7\nq1w2e3r4t5y6u7i8o9p0\n"
			  "-----END RSA PRIVATE KEY-----";
	cleanup_free char *in = xasprintf("before\n%s\nbetween\n%s\nafter\n", key, key);
	cleanup_free char *got = NULL, *trunc = NULL, *pgp = NULL;
	struct redactor *r = redactor_new();

	got = red(r, in);
	is_str(got, "before\n[REDACTED:private_key]\nbetween\n[REDACTED:private_key]\nafter\n",
	       "private key: each block replaced, text between kept");
	is_int(count_of(r, "private_key"), 2, "private key: two blocks counted");
	trunc = red(r, "log\n-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXk\nsk-");
	is_str(trunc, "log\n[REDACTED:private_key]", "private key: unterminated block to the end");
	pgp = red(r, "-----BEGIN PGP PRIVATE KEY BLOCK-----\nlQOYBF\n"
		     "-----END PGP PRIVATE KEY BLOCK-----\nok");
	is_str(pgp, "[REDACTED:private_key]\nok", "private key: PGP block");
	is_int(count_of(r, "private_key"), 4, "private key: counts accumulate across calls");
	redactor_free(r);
}

static void test_literals(void)
{
	struct redactor *r = redactor_new();
	cleanup_free char *a = NULL, *b = NULL, *c = NULL, *d = NULL;

	redactor_add_literal(r, "env", "tok-abcdef123456");
	redactor_add_literal(r, "env", "tok-abcdef123456"); /* a duplicate changes nothing */
	redactor_add_literal(r, "short", "abc12");
	redactor_add_literal(r, "env", NULL);
	a = red(r, "MY_TOKEN=tok-abcdef123456 abc12 and again:tok-abcdef123456.");
	is_str(a, "MY_TOKEN=[REDACTED:env] abc12 and again:[REDACTED:env].",
	       "literal: every occurrence replaced, short literal ignored");
	is_int(count_of(r, "env"), 2, "literal: counted per occurrence");
	is_int(count_of(r, "short"), 0, "literal: short literal never counted");

	/* At one offset the longest literal wins, whatever the order they were added in. */
	redactor_add_literal(r, "pw", "correct-horse");
	redactor_add_literal(r, "pw_long", "correct-horse-battery-staple");
	b = red(r, "pw=correct-horse-battery-staple; old=correct-horse!");
	is_str(b, "pw=[REDACTED:pw_long]; old=[REDACTED:pw]!", "literal: longest first");

	/* A literal that is also an OpenAI key is reported under the caller's kind. */
	redactor_add_literal(r, "OPENAI_API_KEY", "sk-live-0123456789abcdefghijKLMN");
	c = red(r, "k=sk-live-0123456789abcdefghijKLMN sk-other-0123456789abcdefghij");
	is_str(c, "k=[REDACTED:OPENAI_API_KEY] [REDACTED:openai]",
	       "literal: wins a tie with a pattern");

	/* Overlap: the leftmost candidate wins and the next search starts after it. */
	redactor_add_literal(r, "env", "456xyzw789");
	d = red(r, "tok-abcdef123456xyzw789");
	is_str(d, "[REDACTED:env]xyzw789",
	       "overlap: leftmost candidate wins, no double replacement");

	is_int(redactor_nkinds(r), 5, "kinds: five counted");
	is_str(redactor_kind(r, 0, NULL), "env", "kinds: first-seen order (env)");
	is_str(redactor_kind(r, 1, NULL), "pw_long", "kinds: first-seen order (pw_long)");
	is_str(redactor_kind(r, 2, NULL), "pw", "kinds: first-seen order (pw)");
	is_str(redactor_kind(r, 3, NULL), "OPENAI_API_KEY", "kinds: first-seen order (literal)");
	is_str(redactor_kind(r, 4, NULL), "openai", "kinds: first-seen order (openai)");
	ok(redactor_kind(r, 5, NULL) == NULL, "kinds: out of range is NULL");
	is_int(count_of(r, "env"), 3, "kinds: env counted three times in all");
	redactor_free(r);
}

static void test_overlap(void)
{
	struct redactor *r = redactor_new();
	cleanup_free char *a = NULL, *b = NULL;

	/* The bearer token is an OpenAI key: one replacement, not two. */
	a = red(r, "Authorization: Bearer sk-abcdefghijklmnopqrstuvwxyz0123 next");
	is_str(a, "Authorization: Bearer [REDACTED:openai] next", "overlap: bearer token is a key");
	is_int(count_of(r, "bearer"), 0, "overlap: bearer not counted");
	/* A key inside a private key block belongs to the block. */
	b = red(r, "-----BEGIN PRIVATE KEY-----\nsk-abcdefghijklmnopqrstuvwxyz0123\n"
		   "-----END PRIVATE KEY-----\nAKIAIOSFODNN7EXAMPLE");
	is_str(b, "[REDACTED:private_key]\n[REDACTED:aws_access_key]",
	       "overlap: a key inside a block is not replaced twice");
	is_int(count_of(r, "openai"), 1, "overlap: openai counted once");
	redactor_free(r);
}

static void test_nul_bytes(void)
{
	static const char in[] = "a\0sk-abcdefghijklmnopqrstuvwxyz\0\0secret-env-value\0"
				 "sk-abcdefghij\0klmnopqrstuvwxyz\0AKIAIOSFODNN7EXAMPLE";
	static const char want[] = "a\0[REDACTED:openai]\0\0[REDACTED:env]\0"
				   "sk-abcdefghij\0klmnopqrstuvwxyz\0[REDACTED:aws_access_key]";
	struct redactor *r = redactor_new();
	size_t n = 0;
	cleanup_free char *got = NULL;

	redactor_add_literal(r, "env", "secret-env-value");
	got = redactor_apply(r, in, sizeof(in) - 1, &n);
	ok(n == sizeof(want) - 1 && memcmp(got, want, n) == 0,
	   "nul: segments matched separately, NULs kept");
	ok(got[n] == '\0', "nul: output NUL-terminated");
	is_int(count_of(r, "openai"), 1, "nul: a key split by a NUL is not joined");
	redactor_free(r);
}

static void test_custom_patterns(void)
{
	struct redactor *r = redactor_new();
	cleanup_free char *a = NULL, *b = NULL;

	is_int(redactor_add_pattern(r, "internal", "INT-[0-9]{6}"), 0, "custom: pattern added");
	is_int(redactor_add_pattern(r, "bad", "a(b"), -EINVAL, "custom: unbalanced ( is -EINVAL");
	is_int(redactor_add_pattern(r, "bad", "x{2,1}"), -EINVAL,
	       "custom: bad interval is -EINVAL");
	a = red(r, "ids INT-123456 and INT-12345 and INT-654321");
	is_str(a, "ids [REDACTED:internal] and INT-12345 and [REDACTED:internal]",
	       "custom: matches redacted under the custom kind");
	is_int(count_of(r, "internal"), 2, "custom: counted");
	is_int(count_of(r, "bad"), 0, "custom: failed pattern left no kind");
	/* A pattern that can match the empty string must neither loop nor replace nothing. */
	is_int(redactor_add_pattern(r, "zs", "z*"), 0, "custom: empty-matching pattern added");
	b = red(r, "abc zzz def");
	is_str(b, "abc [REDACTED:zs] def", "custom: empty matches skipped");
	redactor_free(r);
}

/* The UI sets a UTF-8 locale; matching must stay byte-wise (invalid UTF-8 is common output). */
static void test_locale(void)
{
	struct redactor *r;
	cleanup_free char *got = NULL;

	if (!setlocale(LC_ALL, "C.UTF-8")) {
		skip("no C.UTF-8 locale", "matching stays byte-wise under a UTF-8 locale");
		return;
	}
	r = redactor_new();
	got = red(r, "\xff\xfe"
		     "AKIAIOSFODNN7EXAMPLE \xc3(sk-abcdefghijklmnopqrstuvwxyz\xe9");
	is_str(got, "\xff\xfe[REDACTED:aws_access_key] \xc3([REDACTED:openai]\xe9",
	       "locale: UTF-8 locale, invalid UTF-8 around keys");
	redactor_free(r);
	setlocale(LC_ALL, "C");
}

/*
 * ASan's regexec() interceptor runs strlen() over the rest of the segment at every call, so
 * under it a large input costs quadratic time: the sanitizer build checks a smaller one.
 */
#if defined(__SANITIZE_ADDRESS__)
#define PERF_SIZE ((size_t)256 << 10)
#else
#define PERF_SIZE ((size_t)10 << 20)
#endif

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Time one redaction of data; the output must have exactly want replacements. */
static void timed(const char *what, const char *data, size_t len, size_t want, double limit)
{
	struct redactor *r = redactor_new();
	size_t n, total = 0, i, c;
	double t0, dt;
	cleanup_free char *got = NULL;

	redactor_add_literal(r, "env", "tok-abcdef123456");
	t0 = now();
	got = redactor_apply(r, data, len, &n);
	dt = now() - t0;
	for (i = 0; i < redactor_nkinds(r); i++) {
		redactor_kind(r, i, &c);
		total += c;
	}
	printf("# %s: %zu bytes in %.3f s\n", what, len, dt);
	is_int(total, want, "perf: %s: %zu replacements", what, want);
	/* Generous for sanitizer builds; an optimised build takes a fraction of this. */
	ok(dt < limit, "perf: %s in %.2f s (limit %.0f s)", what, dt, limit);
	redactor_free(r);
}

static void test_performance(void)
{
	static const char *lines[] = {
		"2024-05-01T12:00:00Z INFO request GET /api/v1/items?page=2 200 12ms\n",
		"DEBUG connecting to https://example.com/path with timeout=30s retries=3\n",
		"WARN task-manager-settings: queue depth 1234 exceeds soft limit 1000\n",
		"Traceback (most recent call last): File \"/app/main.py\", line 42, in run\n",
		"export OPENAI_API_KEY=sk-proj-Ab3dE5gH7jK9mN1pQ3sT5vX7z_9bC1d\n",
		"MY_TOKEN=tok-abcdef123456 DATABASE_URL=postgres://app:hunter2@db/x\n",
	};
	static const char bin[] = "\0\x01\x7f\x61\x62\0\0ELF\0\xff\xfe";
	const size_t target = PERF_SIZE;
	struct buf b = BUF_INIT;
	size_t i, want = 0;

	buf_init(&b);
	for (i = 0; b.len < target; i++) {
		buf_adds(&b, lines[i % ARRAY_SIZE(lines)]);
		want += i % ARRAY_SIZE(lines) == 4 ? 1 : i % ARRAY_SIZE(lines) == 5 ? 2 : 0;
	}
	timed("log text", b.data, b.len, want, 5.0);

	/* No spaces or NULs: long runs that every start position could rescan. */
	buf_reset(&b);
	for (i = 0; b.len < target; i++)
		buf_adds(&b, "QUtJQUlPU0ZPRE5ON0VYQU1QTEUgc2stcHJvai1hYmM+Lz0tX2E.b-c+d/");
	timed("base64-like text", b.data, b.len, 0, 5.0);

	/* Binary: short NUL-separated segments. */
	buf_reset(&b);
	while (b.len < target)
		buf_add(&b, bin, sizeof(bin) - 1);
	timed("binary", b.data, b.len, 0, 5.0);
	buf_release(&b);
}

int main(void)
{
	test_builtins();
	test_untouched();
	test_private_key();
	test_literals();
	test_overlap();
	test_nul_bytes();
	test_custom_patterns();
	test_locale();
	test_performance();
	return tap_done();
}
