/* SPDX-License-Identifier: MIT */
/* Redaction of captured output: built-in credential patterns, custom EREs and literal values. */
#include "supervisor/supervise/redact.h"

#include "common/buf.h"
#include "common/cleanup.h"
#include "common/err.h"

#include <errno.h>
#include <limits.h>
#include <locale.h>
#include <regex.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

/* Literal values shorter than this would match ordinary text. */
#define MIN_LITERAL 6

/*
 * regoff_t is an int in glibc, and --output-limit may exceed 2 GiB: a longer segment is searched
 * in windows that overlap by a sixteenth, so only a match longer than that can be missed or cut.
 */
#ifndef REGEX_WINDOW
#define REGEX_WINDOW ((size_t)INT_MAX)
#endif

/* What a built-in pattern's match needs beyond the regular expression. */
enum fixup {
	FIX_NONE,
	FIX_PEM_END,	/* the match is a BEGIN line: extend it through the END line */
	FIX_URL_SCHEME, /* the match starts at "://": require a scheme before it */
};

/*
 * The built-in patterns. Each match of re is redacted as kind; when group is 1 only that
 * subexpression is replaced, so "postgres://app:" and "Bearer " stay readable. min_len is the
 * shortest possible match: a NUL-delimited segment shorter than that is not searched, which
 * keeps binary output (many tiny segments) cheap. The leading \b (a GNU extension) keeps
 * "task-..." or "XAKIA..." from matching inside a longer word. Case-insensitive words are
 * spelled [Bb][Ee]... because with REG_ICASE glibc copies the input into a translated buffer.
 */
static const struct builtin {
	const char *kind;
	const char *re;
	int group;
	size_t min_len;
	enum fixup fixup;
} builtins[] = {
	{"openai", "\\bsk-[A-Za-z0-9_-]{20,}", 0, 23, FIX_NONE},
	{"aws_access_key", "\\b(AKIA|ASIA)[0-9A-Z]{16}", 0, 20, FIX_NONE},
	{"aws_secret",
	 "[Aa][Ww][Ss]_[Ss][Ee][Cc][Rr][Ee][Tt]_[Aa][Cc][Cc][Ee][Ss][Ss]_[Kk][Ee][Yy]"
	 "[\"']?[[:space:]]*[=:][[:space:]]*[\"']?([A-Za-z0-9/+=]{40,})",
	 1, 62, FIX_NONE},
	{"github", "\\b((ghp|gho|ghu|ghs|ghr)_[A-Za-z0-9]{36,}|github_pat_[A-Za-z0-9_]{22,})", 0,
	 33, FIX_NONE},
	{"slack", "\\bxox[abposr]-[A-Za-z0-9-]{10,}", 0, 15, FIX_NONE},
	{"private_key", "-----BEGIN [A-Z ]*PRIVATE KEY( BLOCK)?-----", 0, 32, FIX_PEM_END},
	/*
	 * scheme://user:password@ -- the password may contain '@' (unencoded ones are common)
	 * but not what ends a URL in running text or JSON. The search starts at "://" and the
	 * scheme is checked by hand: "[A-Za-z][A-Za-z0-9+.-]*://" costs glibc a DFA run from
	 * every letter of the output, which doubled the time of a whole redaction.
	 */
	{"connection_string", "://[^/?#@:[:space:]\"'<>]*:([^/?#[:space:]\"'<>]+)@", 1, 5,
	 FIX_URL_SCHEME},
	{"bearer", "\\b[Bb][Ee][Aa][Rr][Ee][Rr][ \t]+([A-Za-z0-9._~+/=-]{8,})", 1, 15, FIX_NONE},
};

struct kind {
	char *name;
	size_t count;
};

struct pattern {
	regex_t re;
	size_t kind; /* index into kinds */
	int group;
	size_t min_len;
	enum fixup fixup;
};

struct literal {
	char *value; /* the secret itself: wiped before it is freed */
	size_t len;
	size_t kind;
};

struct redactor {
	locale_t c_locale;  /* patterns are compiled and run byte-wise, whatever the locale */
	struct kind *kinds; /* every kind a rule names, in registration order */
	size_t nkinds, kinds_cap;
	size_t *seen; /* indices into kinds, in the order they were first counted */
	size_t nseen, seen_cap;
	struct pattern *pats;
	size_t npats, pats_cap;
	struct literal *lits; /* longest first */
	size_t nlits, lits_cap;
};

/* The next candidate of one rule during redactor_apply(). */
struct cursor {
	size_t start, end;	   /* the span to replace */
	size_t seg_start, seg_end; /* the NUL-delimited segment searched last (patterns) */
	bool valid;		   /* start/end hold a candidate */
	bool done;		   /* no candidate until the end of the data */
};

static size_t intern_kind(struct redactor *r, const char *name)
{
	size_t i;

	for (i = 0; i < r->nkinds; i++)
		if (strcmp(r->kinds[i].name, name) == 0)
			return i;
	GROW(r->kinds, r->kinds_cap, r->nkinds + 1);
	r->kinds[r->nkinds].name = xstrdup(name);
	r->kinds[r->nkinds].count = 0;
	return r->nkinds++;
}

static void count_kind(struct redactor *r, size_t k)
{
	if (r->kinds[k].count++ == 0) {
		GROW(r->seen, r->seen_cap, r->nseen + 1);
		r->seen[r->nseen++] = k;
	}
}

/*
 * Compile in the C locale: in a UTF-8 locale glibc turns bracket expressions into multibyte
 * nodes, which is much slower and would make invalid UTF-8 in the output change what matches.
 */
static int compile(struct redactor *r, regex_t *re, const char *ere)
{
	locale_t old = uselocale(r->c_locale);
	int rc = regcomp(re, ere, REG_EXTENDED);

	uselocale(old);
	return rc;
}

static int add_pattern(struct redactor *r, const char *kind, const char *ere, int group,
		       size_t min_len, enum fixup fixup)
{
	struct pattern *p;

	GROW(r->pats, r->pats_cap, r->npats + 1);
	p = &r->pats[r->npats];
	if (compile(r, &p->re, ere) != 0)
		return -EINVAL;
	if ((size_t)group > p->re.re_nsub) {
		regfree(&p->re);
		return -EINVAL;
	}
	p->kind = intern_kind(r, kind);
	p->group = group;
	p->min_len = min_len;
	p->fixup = fixup;
	r->npats++;
	return 0;
}

struct redactor *redactor_new(void)
{
	struct redactor *r = xcalloc(1, sizeof(*r));
	size_t i;

	r->c_locale = newlocale(LC_ALL_MASK, "C", (locale_t)0);
	if (r->c_locale == (locale_t)0)
		die_errno("cannot create the C locale");
	for (i = 0; i < ARRAY_SIZE(builtins); i++) {
		const struct builtin *b = &builtins[i];

		if (add_pattern(r, b->kind, b->re, b->group, b->min_len, b->fixup) < 0)
			die("cannot compile the built-in %s pattern", b->kind);
	}
	return r;
}

void redactor_add_literal(struct redactor *r, const char *kind, const char *value)
{
	size_t len, i;

	if (!value)
		return;
	len = strlen(value);
	if (len < MIN_LITERAL)
		return;
	for (i = 0; i < r->nlits; i++)
		if (r->lits[i].len == len && memcmp(r->lits[i].value, value, len) == 0)
			return;
	/* Keep the list longest first, so the longer of two literals at one offset wins. */
	for (i = 0; i < r->nlits && r->lits[i].len >= len; i++)
		;
	GROW(r->lits, r->lits_cap, r->nlits + 1);
	memmove(&r->lits[i + 1], &r->lits[i], (r->nlits - i) * sizeof(*r->lits));
	r->lits[i].value = xstrdup(value);
	r->lits[i].len = len;
	r->lits[i].kind = intern_kind(r, kind);
	r->nlits++;
}

int redactor_add_pattern(struct redactor *r, const char *kind, const char *ere)
{
	return add_pattern(r, kind, ere, 0, 1, FIX_NONE);
}

static bool ends_with(const char *s, size_t n, const char *suffix)
{
	size_t k = strlen(suffix);

	return n >= k && memcmp(s + n - k, suffix, k) == 0;
}

/*
 * The end of a private key block whose BEGIN line ends at from: just past the first
 * "-----END [A-Z ]*PRIVATE KEY( BLOCK)?-----" after it, or len when the block is unterminated
 * (a truncated key is still a key).
 */
static size_t pem_end(const char *data, size_t len, size_t from)
{
	static const char tag[] = "-----END ";
	const char *p;

	while (from < len && (p = memmem(data + from, len - from, tag, sizeof(tag) - 1)) != NULL) {
		size_t label = (size_t)(p - data) + sizeof(tag) - 1, i = label;

		while (i < len && ((data[i] >= 'A' && data[i] <= 'Z') || data[i] == ' '))
			i++;
		if (len - i >= 5 && memcmp(data + i, "-----", 5) == 0 &&
		    (ends_with(data + label, i - label, "PRIVATE KEY") ||
		     ends_with(data + label, i - label, "PRIVATE KEY BLOCK")))
			return i + 5;
		from = i;
	}
	return len;
}

static bool is_alpha(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static bool is_word_char(char c)
{
	return is_alpha(c) || (c >= '0' && c <= '9') || c == '_';
}

/*
 * Whether "://" at seg[at] follows a URL scheme, as "\\b[A-Za-z][A-Za-z0-9+.-]{0,31}" would
 * match it: a letter at a word start, then up to 31 scheme characters.
 */
static bool scheme_before(const char *seg, size_t at)
{
	size_t i;

	for (i = at; i > 0 && at - i < 32; i--) {
		char c = seg[i - 1];

		if (!is_alpha(c) && !(c >= '0' && c <= '9') && c != '+' && c != '.' && c != '-')
			return false;
		if (is_alpha(c) && (i == 1 || !is_word_char(seg[i - 2])))
			return true;
	}
	return false;
}

/*
 * Find the first match of p whose replaced span starts at or after from, searching the NUL-free
 * segments of data one at a time (REG_STARTEND, so nothing is copied). The segment is cached in
 * c: the searches of one rule only move forward, so each segment is delimited once.
 */
static void find_pattern(const struct pattern *p, const char *data, size_t len, size_t from,
			 struct cursor *c)
{
	regmatch_t m[2];
	size_t nmatch = (size_t)p->group + 1;
	const char *nul;

	c->valid = false;
	if (from > c->seg_end || c->seg_end == SIZE_MAX) {
		size_t lo = c->seg_end == SIZE_MAX ? 0 : c->seg_end;

		nul = memrchr(data + lo, '\0', from - lo);
		c->seg_start = nul ? (size_t)(nul - data) + 1 : lo;
		nul = memchr(data + from, '\0', len - from);
		c->seg_end = nul ? (size_t)(nul - data) : len;
	}
	for (;;) {
		while (from <= c->seg_end && c->seg_end - from >= p->min_len) {
			size_t base = c->seg_start, end = c->seg_end;

			if (end - base > REGEX_WINDOW) {
				/* Keep the byte before from: \b looks at it. */
				base = from > c->seg_start ? from - 1 : from;
				end = end - base > REGEX_WINDOW ? base + REGEX_WINDOW : end;
			}
			m[0].rm_so = (regoff_t)(from - base);
			m[0].rm_eo = (regoff_t)(end - base);
			if (regexec(&p->re, data + base, nmatch, m, REG_STARTEND) != 0) {
				if (end == c->seg_end)
					break;
				from = end - REGEX_WINDOW / 16;
				continue;
			}
			if (m[p->group].rm_so >= 0 && m[p->group].rm_eo > m[p->group].rm_so &&
			    (p->fixup != FIX_URL_SCHEME ||
			     scheme_before(data + base, (size_t)m[0].rm_so))) {
				c->start = base + (size_t)m[p->group].rm_so;
				c->end = base + (size_t)m[p->group].rm_eo;
				if (p->fixup == FIX_PEM_END)
					c->end = pem_end(data, len, c->end);
				c->valid = true;
				return;
			}
			/* An empty or refused match replaces nothing: look one byte further. */
			from = base + (size_t)m[0].rm_so + 1;
		}
		if (c->seg_end >= len) {
			c->done = true;
			return;
		}
		/* Runs of NULs (zero padding in binary output) hold no match: skip them here. */
		for (from = c->seg_end + 1; from < len && data[from] == '\0'; from++)
			;
		c->seg_start = from;
		nul = memchr(data + from, '\0', len - from);
		c->seg_end = nul ? (size_t)(nul - data) : len;
	}
}

static void find_literal(const struct literal *l, const char *data, size_t len, size_t from,
			 struct cursor *c)
{
	const char *p = from < len ? memmem(data + from, len - from, l->value, l->len) : NULL;

	c->valid = p != NULL;
	c->done = p == NULL;
	if (p) {
		c->start = (size_t)(p - data);
		c->end = c->start + l->len;
	}
}

/*
 * Replace the leftmost candidate of all rules, then continue after it. Each rule's next
 * candidate is kept and searched again only once the output has moved past its start, so the
 * cost is linear in len for every rule instead of one search per rule per replacement.
 * At one offset the longer span wins; on a tie, literals (the caller's own knowledge) win over
 * patterns and earlier rules over later ones.
 */
char *redactor_apply(struct redactor *r, const char *data, size_t len, size_t *out_len)
{
	size_t nrules = r->nlits + r->npats, cur = 0, i;
	cleanup_free struct cursor *cur_of = xcalloc(nrules, sizeof(*cur_of));
	struct buf out = BUF_INIT;
	locale_t old = uselocale(r->c_locale);

	buf_init(&out);
	for (i = 0; i < nrules; i++)
		cur_of[i].seg_end = SIZE_MAX;
	while (cur < len) {
		struct cursor *best = NULL;
		size_t best_kind = 0;

		for (i = 0; i < nrules; i++) {
			struct cursor *c = &cur_of[i];
			bool lit = i < r->nlits;

			if (c->done)
				continue;
			if (!c->valid || c->start < cur) {
				if (lit)
					find_literal(&r->lits[i], data, len, cur, c);
				else
					find_pattern(&r->pats[i - r->nlits], data, len, cur, c);
				if (!c->valid)
					continue;
			}
			if (!best || c->start < best->start ||
			    (c->start == best->start && c->end > best->end)) {
				best = c;
				best_kind = lit ? r->lits[i].kind : r->pats[i - r->nlits].kind;
			}
		}
		if (!best)
			break;
		buf_add(&out, data + cur, best->start - cur);
		buf_addf(&out, "[REDACTED:%s]", r->kinds[best_kind].name);
		count_kind(r, best_kind);
		cur = best->end;
	}
	if (cur < len)
		buf_add(&out, data + cur, len - cur);
	uselocale(old);
	if (out_len)
		*out_len = out.len;
	return buf_detach(&out);
}

size_t redactor_nkinds(const struct redactor *r)
{
	return r->nseen;
}

const char *redactor_kind(const struct redactor *r, size_t i, size_t *count)
{
	if (i >= r->nseen)
		return NULL;
	if (count)
		*count = r->kinds[r->seen[i]].count;
	return r->kinds[r->seen[i]].name;
}

void redactor_free(struct redactor *r)
{
	size_t i;

	if (!r)
		return;
	for (i = 0; i < r->npats; i++)
		regfree(&r->pats[i].re);
	for (i = 0; i < r->nlits; i++) {
		explicit_bzero(r->lits[i].value, r->lits[i].len);
		free(r->lits[i].value);
	}
	for (i = 0; i < r->nkinds; i++)
		free(r->kinds[i].name);
	free(r->pats);
	free(r->lits);
	free(r->kinds);
	free(r->seen);
	freelocale(r->c_locale);
	free(r);
}
