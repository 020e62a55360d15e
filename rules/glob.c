/* SPDX-License-Identifier: MIT */
/* Glob matching for rules; see glob.h. */
#include "rules/glob.h"

#include "common/buf.h"

#include <stdint.h>
#include <string.h>

/*
 * `\` escapes only `*` and itself; before anything else it is an ordinary byte, so a path
 * holding a backslash needs no care. Length of the escape at p (2), or 0.
 */
static size_t escape_len(const char *p, size_t left)
{
	return left >= 2 && p[0] == '\\' && (p[1] == '*' || p[1] == '\\') ? 2 : 0;
}

/* As escape_len() on a NUL-terminated string (whose next byte is always readable). */
static bool escaped_at(const char *s)
{
	return s[0] && escape_len(s, 2);
}

static char fold_ascii(char c)
{
	return c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c;
}

/*
 * The classic wildcard walk: on a mismatch, retry from the last `*` with one more byte
 * swallowed. Only the last `*` needs revisiting, since every other pattern item matches
 * exactly one byte; that keeps hostile input from making this exponential.
 */
bool glob_match_seg(const char *pat, size_t plen, const char *s, size_t slen, bool fold)
{
	size_t pi = 0, si = 0, star_p = SIZE_MAX, star_s = 0;

	while (si < slen) {
		if (pi < plen && pat[pi] == '*') {
			star_p = ++pi;
			star_s = si;
			continue;
		}
		if (pi < plen) {
			size_t step = escape_len(pat + pi, plen - pi) ? 2 : 1;
			char c = pat[pi + step - 1];

			if (c == s[si] || (fold && fold_ascii(c) == fold_ascii(s[si]))) {
				pi += step;
				si++;
				continue;
			}
		}
		if (star_p == SIZE_MAX)
			return false;
		pi = star_p;
		si = ++star_s;
	}
	while (pi < plen && pat[pi] == '*')
		pi++;
	return pi == plen;
}

/* Length of the component starting at c. */
static size_t comp_len(const char *c)
{
	return strcspn(c, "/");
}

/* The component after the one at c ("" at the end). */
static const char *comp_next(const char *c)
{
	size_t n = comp_len(c);

	return c[n] == '/' ? c + n + 1 : c + n;
}

static bool comp_is_dstar(const char *c)
{
	return c[0] == '*' && c[1] == '*' && (c[2] == '/' || c[2] == '\0');
}

/* The same walk as glob_match_seg(), one level up: components for bytes, `**` for `*`. */
bool glob_match_path(const char *pat, const char *path)
{
	const char *p, *s, *star_p = NULL, *star_s = NULL;

	if (pat[0] != '/' || path[0] != '/')
		return false;
	p = pat + 1;
	s = path + 1;
	while (*s) {
		if (*p && comp_is_dstar(p)) {
			star_p = p = comp_next(p);
			star_s = s;
			continue;
		}
		if (*p && glob_match_seg(p, comp_len(p), s, comp_len(s), false)) {
			p = comp_next(p);
			s = comp_next(s);
			continue;
		}
		if (!star_p)
			return false;
		p = star_p;
		s = star_s = comp_next(star_s);
	}
	while (*p && comp_is_dstar(p))
		p = comp_next(p);
	return *p == '\0';
}

/* Components a pattern may have for glob_match_child() to follow it. */
#define FOLLOW_MAX 63

/* Add to the states st (a position in comp each) the ones a `**` there may skip to. */
static void skip_dstars(const char *const *comp, size_t m, bool *st)
{
	for (size_t i = 0; i < m; i++)
		if (st[i] && comp_is_dstar(comp[i]))
			st[i + 1] = true;
}

/* The states after one more path component, s of slen bytes. */
static void advance(const char *const *comp, size_t m, bool *st, const char *s, size_t slen)
{
	bool next[FOLLOW_MAX + 1] = {false};

	for (size_t i = 0; i < m; i++) {
		if (!st[i])
			continue;
		if (comp_is_dstar(comp[i]))
			next[i] = true;
		else if (glob_match_seg(comp[i], comp_len(comp[i]), s, slen, false))
			next[i + 1] = true;
	}
	memcpy(st, next, (m + 1) * sizeof(*st));
	skip_dstars(comp, m, st);
}

/*
 * glob_match_path() followed as a set of states (each a position in the pattern's
 * components) through the directory's components; then what one more name must be for a
 * state to reach the end with only `**` after it: anything after a `**` so placed, else the
 * last component that is not `**`, from the state just before it.
 */
void glob_match_child(const char *pat, const char *dir, struct glob_child *gc)
{
	const char *comp[FOLLOW_MAX];
	bool st[FOLLOW_MAX + 1] = {false};
	size_t m = 0, last;

	*gc = (struct glob_child){GLOB_CHILD_NONE, NULL, 0, false};
	if (pat[0] != '/' || dir[0] != '/')
		return; /* glob_match_path() matches nothing */
	for (const char *p = pat + 1; *p; p = comp_next(p)) {
		if (m == FOLLOW_MAX) {
			gc->how = GLOB_CHILD_FULL;
			return;
		}
		comp[m++] = p;
	}
	st[0] = true;
	skip_dstars(comp, m, st);
	for (const char *s = dir + 1; *s; s = comp_next(s))
		advance(comp, m, st, s, comp_len(s));
	for (last = m; last > 0 && comp_is_dstar(comp[last - 1]); last--)
		if (st[last - 1]) {
			gc->how = GLOB_CHILD_ANY;
			return;
		}
	if (last > 0 && st[last - 1]) {
		gc->how = GLOB_CHILD_SEG;
		gc->seg = comp[last - 1];
		gc->seglen = comp_len(comp[last - 1]);
		gc->literal =
			!memchr(gc->seg, '*', gc->seglen) && !memchr(gc->seg, '\\', gc->seglen);
	}
}

bool glob_child_match(const struct glob_child *gc, const char *pat, const char *path,
		      const char *name, size_t len)
{
	switch (gc->how) {
	case GLOB_CHILD_NONE:
		return false;
	case GLOB_CHILD_ANY:
		return true;
	case GLOB_CHILD_SEG:
		if (gc->literal) /* as glob_match_seg() compares a component without `*` or `\\` */
			return gc->seglen == len && memcmp(gc->seg, name, len) == 0;
		return glob_match_seg(gc->seg, gc->seglen, name, len, false);
	case GLOB_CHILD_FULL:
		break;
	}
	return glob_match_path(pat, path);
}

bool glob_has_wildcard(const char *s)
{
	for (; *s; s++) {
		if (escaped_at(s))
			s++;
		else if (*s == '*')
			return true;
	}
	return false;
}

bool glob_dstar_ok(const char *pat)
{
	const char *c = pat;

	while (*c == '/')
		c++;
	for (; *c; c = comp_next(c)) {
		size_t n = comp_len(c), i;

		if (comp_is_dstar(c))
			continue;
		for (i = 0; i < n; i++) {
			if (escape_len(c + i, n - i))
				i++;
			else if (c[i] == '*' && i + 1 < n && c[i + 1] == '*')
				return false;
		}
	}
	return true;
}

char *glob_escape(const char *s)
{
	struct buf b = BUF_INIT;

	buf_init(&b);
	for (; *s; s++) {
		if (*s == '*' || *s == '\\')
			buf_addc(&b, '\\');
		buf_addc(&b, *s);
	}
	return buf_detach(&b);
}

char *glob_unescape(const char *s)
{
	struct buf b = BUF_INIT;

	buf_init(&b);
	for (; *s; s++) {
		if (escaped_at(s))
			s++;
		buf_addc(&b, *s);
	}
	return buf_detach(&b);
}
