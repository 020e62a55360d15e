/* SPDX-License-Identifier: MIT */
/* Glob matching for rules: `*` within a component, `**` across components, `\` escapes. */
#ifndef AIRLOCK_RULES_GLOB_H
#define AIRLOCK_RULES_GLOB_H

#include <stdbool.h>
#include <stddef.h>

/*
 * Match plen bytes of pattern against slen bytes of s: `*` matches any run of bytes (the
 * caller splits paths into components first), `\*` and `\\` match `*` and `\`, everything
 * else (a lone `\` too) itself; with
 * fold, ASCII letters match regardless of case. Never recursive: O(plen * slen) at worst,
 * whatever s holds, because s comes from the sandboxed program.
 */
bool glob_match_seg(const char *pat, size_t plen, const char *s, size_t slen, bool fold);

/*
 * Match a normalised absolute path against a normalised absolute path glob, component by
 * component: a component `**` matches zero or more components, others go to
 * glob_match_seg(). False when either is not absolute. O(components^2) segment matches.
 */
bool glob_match_path(const char *pat, const char *path);

/*
 * How the path glob pat matches the paths made of dir (a normalised absolute directory, "/"
 * for the root) and one more name: glob_match_child() works it out once per directory, then
 * glob_child_match() gives glob_match_path()'s answer for each such path from its name alone
 * (for matching a review's 100,000 changes). gc points into pat.
 */
struct glob_child {
	enum {
		GLOB_CHILD_NONE, /* no such path matches */
		GLOB_CHILD_ANY,	 /* every one matches */
		GLOB_CHILD_SEG,	 /* one whose name matches the component seg */
		GLOB_CHILD_FULL, /* too long a pattern to follow: glob_match_path() */
	} how;
	const char *seg;
	size_t seglen;
	bool literal; /* seg holds no `*` and no `\`: it matches only itself */
};
void glob_match_child(const char *pat, const char *dir, struct glob_child *gc);
/* path: dir + "/" + name (normalised), for GLOB_CHILD_FULL; name of len bytes. */
bool glob_child_match(const struct glob_child *gc, const char *pat, const char *path,
		      const char *name, size_t len);

/* True when s holds an unescaped `*`. */
bool glob_has_wildcard(const char *s);

/* True when every unescaped `**` in the path glob pat is a whole component. */
bool glob_dstar_ok(const char *pat);

/* s with `*` and `\` escaped, so that it matches only itself. Caller frees. */
char *glob_escape(const char *s);

/* s with the escapes `\*` and `\\` undone. Caller frees. */
char *glob_unescape(const char *s);

#endif
