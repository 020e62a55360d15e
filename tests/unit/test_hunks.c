/* SPDX-License-Identifier: MIT */
/*
 * Unit tests for per-hunk decisions (supervisor/changeset/hunks.h): the hunks libgit2 finds,
 * parsed from its patch so that content posing as a header stays content, and the host's file
 * with some of them applied, byte for byte, for the content a sandboxed program may write:
 * no trailing newline, CRLF, NUL bytes, header look-alikes, an empty side, a large file.
 */
#include "supervisor/changeset/hunks.h"

#include "common/buf.h"
#include "common/cleanup.h"
#include "supervisor/changeset/git.h"
#include "tests/unit/tap.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* old with the hunks of states applied, or NULL when it fails; *len its length. */
static char *applied(const char *old, size_t olen, const char *new, size_t nlen, const char *states,
		     size_t *n, size_t *len)
{
	struct hunk_file f;
	struct buf b = BUF_INIT;
	int rc = hunk_file_from(&f, old, olen, new, nlen);

	*n = f.n;
	if (rc < 0 || hunks_apply(f.old, f.olen, f.new, f.nlen, f.v, f.n, states, &b) < 0) {
		hunk_file_free(&f);
		return NULL;
	}
	hunk_file_free(&f);
	buf_addc(&b, '\0');
	*len = b.len - 1;
	return buf_detach(&b);
}

/* 30 numbered lines, with lines 2, 15 and 28 (1-based) replaced by the given ones when set. */
static char *thirty(const char *l2, const char *l15, const char *l28)
{
	struct buf b = BUF_INIT;
	int i;

	buf_init(&b);
	for (i = 1; i <= 30; i++) {
		const char *r = i == 2 ? l2 : i == 15 ? l15 : i == 28 ? l28 : NULL;

		if (r)
			buf_addf(&b, "%s\n", r);
		else
			buf_addf(&b, "line %d\n", i);
	}
	return buf_detach(&b);
}

static void check_ends(const char *what, const char *old, size_t olen, const char *new, size_t nlen,
		       size_t want_hunks)
{
	char all[8] = "", none[8] = "";
	size_t n = 0, len = 0, i;
	cleanup_free char *r = NULL;

	for (i = 0; i < want_hunks && i < 7; i++) {
		all[i] = 'a';
		none[i] = 'd';
	}
	r = applied(old, olen, new, nlen, all, &n, &len);
	is_int(n, want_hunks, "%s: %zu hunk%s", what, want_hunks, want_hunks == 1 ? "" : "s");
	ok(r && len == nlen && memcmp(r, new, nlen) == 0, "%s: every hunk gives the new file",
	   what);
	free(r);
	r = applied(old, olen, new, nlen, none, &n, &len);
	ok(r && len == olen && memcmp(r, old, olen) == 0, "%s: no hunk gives the old file", what);
}

static void test_three_places(void)
{
	cleanup_free char *old = thirty(NULL, NULL, NULL);
	cleanup_free char *new = thirty("TWO", "FIFTEEN", "TWENTY-EIGHT");
	cleanup_free char *want = thirty("TWO", NULL, "TWENTY-EIGHT");
	cleanup_free char *mid = thirty(NULL, "FIFTEEN", NULL);
	cleanup_free char *r = NULL;
	size_t n = 0, len = 0;

	check_ends("three places", old, strlen(old), new, strlen(new), 3);
	r = applied(old, strlen(old), new, strlen(new), "ada", &n, &len);
	is_str(r, want, "hunks 1 and 3: exactly those lines change");
	free(r);
	r = applied(old, strlen(old), new, strlen(new), "udu", &n, &len);
	is_str(r, old, "undecided hunks are not applied");
	free(r);
	r = applied(old, strlen(old), new, strlen(new), "dad", &n, &len);
	is_str(r, mid, "hunk 2 alone");
	free(r);
	r = applied(old, strlen(old), new, strlen(new), "aa", &n, &len);
	ok(r == NULL, "a decision string of the wrong length is refused");
	free(r);
	r = applied(old, strlen(old), new, strlen(new), "axa", &n, &len);
	ok(r == NULL, "and one with another letter");
}

static void test_newlines(void)
{
	static const struct {
		const char *what, *old, *new;
	} cases[] = {
		{"no newline at the end of either", "a\nb\nc", "a\nb\nC"},
		{"a newline added at the end", "a\nb\nc", "a\nb\nc\n"},
		{"the newline taken away", "a\nb\nc\n", "a\nb\nc"},
		{"CRLF lines", "a\r\nb\r\nc\r\n", "a\r\nB\r\nc\r\n"},
		{"CRLF to LF", "a\r\nb\r\n", "a\nb\n"},
		{"a lone CR", "a\rb\n", "a\rc\n"},
		{"an empty old side", "", "x\ny\n"},
		{"an empty new side", "x\ny\n", ""},
		{"only newlines", "\n\n\n", "\n\n"},
	};
	size_t i;

	for (i = 0; i < ARRAY_SIZE(cases); i++)
		check_ends(cases[i].what, cases[i].old, strlen(cases[i].old), cases[i].new,
			   strlen(cases[i].new), 1);
}

/* Content that looks like the patch's own lines stays content. */
static void test_lookalikes(void)
{
	cleanup_free char *old = thirty("@@ -1,2 +1,2 @@", "diff --git a/f b/f", "--- a/f");
	cleanup_free char *new =
		thirty("@@ -1,9 +1,1 @@", "\\ No newline at end of file", "+++ b/f");
	cleanup_free char *want =
		thirty("@@ -1,2 +1,2 @@", "\\ No newline at end of file", "--- a/f");
	cleanup_free char *r = NULL;
	size_t n = 0, len = 0;

	check_ends("header look-alikes", old, strlen(old), new, strlen(new), 3);
	r = applied(old, strlen(old), new, strlen(new), "dad", &n, &len);
	is_str(r, want, "header look-alikes: hunk 2 alone");
}

static void test_not_text(void)
{
	struct hunk_file f;
	cleanup_free char *big = xcalloc(HUNKS_MAX_SIZE + 2, 1);

	is_int(hunk_file_from(&f, "a\0b\n", 4, "a\0c\n", 4), -EMEDIUMTYPE,
	       "a NUL byte: no hunks (binary)");
	hunk_file_free(&f);
	is_int(hunk_file_from(&f, "a\n", 2, "a\nb\n\0", 5), -EMEDIUMTYPE,
	       "a NUL at the very end of one side too");
	hunk_file_free(&f);
	memset(big, 'x', HUNKS_MAX_SIZE + 1);
	is_int(hunk_file_from(&f, "a\n", 2, big, HUNKS_MAX_SIZE + 1), -EMEDIUMTYPE,
	       "a side over HUNKS_MAX_SIZE: no hunks");
	hunk_file_free(&f);
	is_int(hunk_file_from(&f, "same\n", 5, "same\n", 5), -EMEDIUMTYPE,
	       "no difference: no hunks");
	hunk_file_free(&f);
}

static void test_large(void)
{
	struct buf o = BUF_INIT, n = BUF_INIT, w = BUF_INIT;
	cleanup_free char *r = NULL;
	size_t nh = 0, len = 0;
	int i;

	buf_init(&o);
	buf_init(&n);
	buf_init(&w);
	for (i = 0; i < 100000; i++) {
		buf_addf(&o, "%d\n", i);
		buf_addf(&n, "%d\n", i == 10 ? -1 : i == 99990 ? -2 : i);
		buf_addf(&w, "%d\n", i == 99990 ? -2 : i);
	}
	r = applied(o.data, o.len, n.data, n.len, "da", &nh, &len);
	is_int(nh, 2, "100,000 lines changed in two places: two hunks");
	ok(r && len == w.len && memcmp(r, w.data, w.len) == 0, "the second alone is applied");
	buf_release(&w);
	buf_release(&o);
	buf_release(&n);
}

static void test_parse(void)
{
	static const struct {
		const char *what, *patch;
		int rc;
		size_t n;
	} cases[] = {
		{"a body shorter than its counts", "@@ -1,2 +1,2 @@\n a\n", -EINVAL, 0},
		{"a body line without a prefix", "@@ -1 +1 @@\nzz\n", -EINVAL, 0},
		{"an empty body line", "@@ -1 +1 @@\n\n", -EINVAL, 0},
		{"a header without its end", "@@ -1 +1\n a\n", -EINVAL, 0},
		{"a start of 0 with lines", "@@ -0,1 +1 @@\n-a\n+b\n", -EINVAL, 0},
		{"a number too large", "@@ -99999999999 +1 @@\n-a\n+b\n", -EINVAL, 0},
		{"garbage after a hunk", "@@ -1 +1 @@\n-a\n+b\njunk\n", -EINVAL, 0},
		{"two hunks", "x\n@@ -1 +1 @@\n-a\n+b\n@@ -5,0 +6 @@\n+c\n", 0, 2},
		{"a marker after the last line",
		 "@@ -1 +1 @@\n-a\n\\ No newline at end of file\n+b\n", 0, 1},
		{"a binary patch", "diff --git a/f b/f\nGIT binary patch\nliteral 1\nIcmZPo0001\n",
		 0, 0},
	};
	size_t i;

	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		struct hunk *v = NULL;
		size_t n = 0, at = 0;
		int rc = hunks_parse(cases[i].patch, strlen(cases[i].patch), &v, &n, &at);

		is_int(rc, cases[i].rc, "parse, %s: %s", cases[i].what,
		       cases[i].rc ? "refused" : "read");
		if (rc == 0)
			is_int(n, cases[i].n, "  %zu hunks", cases[i].n);
		free(v);
	}
}

/* Hunks that do not describe the two sides are refused, not applied. */
static void test_mismatch(void)
{
	struct hunk h = {.old_start = 1, .old_lines = 1, .new_start = 1, .new_lines = 1};
	struct hunk out_of_range = {.old_start = 5, .old_lines = 1, .new_start = 5, .new_lines = 1};
	struct hunk two[2] = {{2, 1, 2, 1}, {0, 1, 0, 1}};
	struct buf b = BUF_INIT;

	buf_init(&b);
	is_int(hunks_apply("a\nb\n", 4, "a\nB\n", 4, &h, 1, "a", &b), 0, "a hunk that fits");
	is_str(b.data, "a\nB\n", "  applied");
	buf_reset(&b);
	is_int(hunks_apply("a\nb\n", 4, "X\nB\n", 4, &h, 1, "a", &b), -EINVAL,
	       "different bytes outside the hunks: refused");
	is_int(hunks_apply("a\nb\n", 4, "a\nB\n", 4, &out_of_range, 1, "a", &b), -EINVAL,
	       "a hunk past the end: refused");
	is_int(hunks_apply("a\nb\nc\n", 6, "a\nb\nc\n", 6, two, 2, "aa", &b), -EINVAL,
	       "hunks out of order: refused");
	buf_release(&b);
}

/* A hunk that starts far past the end is refused before a line of it is looked up. */
static void test_far_out(void)
{
	struct hunk far = {
		.old_start = 100000000, .old_lines = 1, .new_start = 100000000, .new_lines = 1};
	struct hunk far_new = {.old_start = 10,
			       .old_lines = 1,
			       .new_start = 100000000,
			       .new_lines = 100000000 - 10};
	struct buf b = BUF_INIT;
	cleanup_free char *text = xcalloc(200, 2);

	memset(text, '\n', 200 * 2 - 1);
	buf_init(&b);
	is_int(hunks_apply(text, 399, text, 399, &far, 1, "a", &b), -EINVAL,
	       "a hunk starting far past both sides' ends: refused");
	is_int(hunks_apply(text, 399, text, 399, &far_new, 1, "a", &b), -EINVAL,
	       "and past the new side's");
	is_int((int)b.len, 0, "nothing written");
	buf_release(&b);
}

/* Random files of lines that trouble a patch: every hunk gives new, none gives old. */
static void test_random(void)
{
	static const char *const pieces[] = {
		"a\n",	"b\n",	"\r\n", "\n", "@@ -1 +1 @@\n", "\\ No newline at end of file\n",
		"+x\n", "-y\n", "c\r"};
	unsigned seed = 12345;
	int i, bad = 0, cases = 0;
	const struct git_api *git = git_api();

	/* Held across the cases: a first init and a last shutdown cost 10 ms each. */
	if (git)
		git->libgit2_init();

	for (i = 0; i < 400; i++) {
		struct buf o = BUF_INIT, n = BUF_INIT;
		int k, lines = 1 + (int)(rand_r(&seed) % 40);
		char all[HUNKS_MAX + 1], none[HUNKS_MAX + 1];
		struct hunk_file f;

		buf_init(&o);
		buf_init(&n);
		for (k = 0; k < lines; k++) {
			const char *pc = pieces[rand_r(&seed) % ARRAY_SIZE(pieces)];

			buf_adds(&o, pc);
			/* Mostly the same, sometimes changed, dropped or doubled. */
			switch (rand_r(&seed) % 8) {
			case 0:
				buf_adds(&n, pieces[rand_r(&seed) % ARRAY_SIZE(pieces)]);
				break;
			case 1:
				break;
			case 2:
				buf_adds(&n, pc);
				buf_adds(&n, pc);
				break;
			default:
				buf_adds(&n, pc);
			}
		}
		if (rand_r(&seed) % 3 == 0)
			buf_adds(&n, "tail without newline");
		if (hunk_file_from(&f, o.data ? o.data : "", o.len, n.data ? n.data : "", n.len) ==
		    0) {
			struct buf ra = BUF_INIT, rn = BUF_INIT;

			buf_init(&ra);
			buf_init(&rn);
			memset(all, 'a', f.n);
			memset(none, 'd', f.n);
			all[f.n] = none[f.n] = '\0';
			cases++;
			if (hunks_apply(f.old, f.olen, f.new, f.nlen, f.v, f.n, all, &ra) < 0 ||
			    hunks_apply(f.old, f.olen, f.new, f.nlen, f.v, f.n, none, &rn) < 0 ||
			    ra.len != n.len || memcmp(ra.data, n.data, n.len) != 0 ||
			    rn.len != o.len || (o.len && memcmp(rn.data, o.data, o.len) != 0))
				bad++;
			buf_release(&ra);
			buf_release(&rn);
		}
		hunk_file_free(&f);
		buf_release(&o);
		buf_release(&n);
	}
	if (git)
		git->libgit2_shutdown();
	ok(cases > 200, "random files: %d with hunks", cases);
	is_int(bad, 0, "random files: every hunk gives the new file, none the old, byte for byte");
}

int main(void)
{
	test_three_places();
	test_newlines();
	test_lookalikes();
	test_not_text();
	test_large();
	test_parse();
	test_mismatch();
	test_far_out();
	test_random();
	return tap_done();
}
