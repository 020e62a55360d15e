/* SPDX-License-Identifier: MIT */
/* UTF-8 validation and escaping of untrusted text; see utf8.h. */
#include "common/utf8.h"

#include "common/buf.h"

#include <stdio.h>
#include <string.h>

size_t utf8_seq_len(const unsigned char *s)
{
	if (s[0] < 0x80)
		return 1;
	if (s[0] >= 0xc2 && s[0] <= 0xdf)
		return (s[1] & 0xc0) == 0x80 ? 2 : 0;
	if (s[0] >= 0xe0 && s[0] <= 0xef) {
		unsigned cp;

		if ((s[1] & 0xc0) != 0x80 || (s[2] & 0xc0) != 0x80)
			return 0;
		cp = ((s[0] & 0x0fu) << 12) | ((s[1] & 0x3fu) << 6) | (s[2] & 0x3fu);
		/* Overlong forms and UTF-16 surrogates are not valid UTF-8. */
		if (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))
			return 0;
		return 3;
	}
	if (s[0] >= 0xf0 && s[0] <= 0xf4) {
		unsigned cp;

		if ((s[1] & 0xc0) != 0x80 || (s[2] & 0xc0) != 0x80 || (s[3] & 0xc0) != 0x80)
			return 0;
		cp = ((s[0] & 0x07u) << 18) | ((s[1] & 0x3fu) << 12) | ((s[2] & 0x3fu) << 6) |
		     (s[3] & 0x3fu);
		if (cp < 0x10000 || cp > 0x10ffff)
			return 0;
		return 4;
	}
	return 0;
}

char *utf8_sanitize(const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	struct buf b = BUF_INIT;

	buf_init(&b);
	while (*p) {
		size_t n = utf8_seq_len(p);

		if (n == 0) {
			buf_addf(&b, "\\x%02x", *p);
			p++;
			continue;
		}
		buf_add(&b, p, n);
		p += n;
	}
	return buf_detach(&b);
}

/* The code point of the valid n-byte sequence at s. */
static unsigned decode(const unsigned char *s, size_t n)
{
	switch (n) {
	case 1:
		return s[0];
	case 2:
		return ((s[0] & 0x1fu) << 6) | (s[1] & 0x3fu);
	case 3:
		return ((s[0] & 0x0fu) << 12) | ((s[1] & 0x3fu) << 6) | (s[2] & 0x3fu);
	default:
		return ((s[0] & 0x07u) << 18) | ((s[1] & 0x3fu) << 12) | ((s[2] & 0x3fu) << 6) |
		       (s[3] & 0x3fu);
	}
}

/*
 * Unicode's format characters (general category Cf, Unicode 15.1), the line and paragraph
 * separators, and the fillers that draw as nothing: ranges, inclusive, sorted.
 */
static const unsigned invisible_ranges[][2] = {
	{0x00ad, 0x00ad}, /* soft hyphen */
	{0x034f, 0x034f}, /* combining grapheme joiner */
	{0x0600, 0x0605}, /* Arabic number signs */
	{0x061c, 0x061c}, /* Arabic letter mark (bidi) */
	{0x06dd, 0x06dd},   {0x070f, 0x070f},	{0x0890, 0x0891},   {0x08e2, 0x08e2},
	{0x115f, 0x1160}, /* Hangul fillers */
	{0x17b4, 0x17b5}, /* Khmer inherent vowels */
	{0x180b, 0x180f}, /* Mongolian variation selectors and vowel separator */
	{0x200b, 0x200f}, /* zero-width space, non-joiner, joiner; LRM, RLM */
	{0x2028, 0x202e}, /* line and paragraph separators; LRE, RLE, PDF, LRO, RLO */
	{0x2060, 0x206f}, /* word joiner, invisible operators; LRI, RLI, FSI, PDI; ... */
	{0x3164, 0x3164}, /* Hangul filler */
	{0xfe00, 0xfe0f}, /* variation selectors */
	{0xfeff, 0xfeff}, /* zero-width no-break space (BOM) */
	{0xffa0, 0xffa0}, /* halfwidth Hangul filler */
	{0xfff0, 0xfffb}, /* unassigned specials; interlinear annotation */
	{0x110bd, 0x110bd}, {0x110cd, 0x110cd}, {0x13430, 0x1343f}, {0x1bca0, 0x1bca3},
	{0x1d173, 0x1d17a}, {0xe0000, 0xe0fff}, /* tags, variation selectors supplement */
};

bool utf8_invisible(const unsigned char *s, size_t n, unsigned *cp)
{
	unsigned c;
	size_t lo = 0, hi = sizeof(invisible_ranges) / sizeof(invisible_ranges[0]);

	if (n < 2)
		return false;
	c = decode(s, n);
	*cp = c;
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;

		if (c < invisible_ranges[mid][0])
			hi = mid;
		else if (c > invisible_ranges[mid][1])
			lo = mid + 1;
		else
			return true;
	}
	return false;
}

char *term_sanitize(const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	struct buf b = BUF_INIT;
	unsigned cp;

	buf_init(&b);
	while (*p) {
		size_t n = utf8_seq_len(p);

		if (n == 0) {
			buf_addf(&b, "\\x%02x", *p++);
		} else if (n == 1 && (*p < 0x20 || *p == 0x7f)) {
			switch (*p) {
			case '\n':
				buf_adds(&b, "\\n");
				break;
			case '\t':
				buf_adds(&b, "\\t");
				break;
			case '\r':
				buf_adds(&b, "\\r");
				break;
			case 0x1b:
				buf_adds(&b, "\\e");
				break;
			default:
				buf_addf(&b, "\\x%02x", *p);
			}
			p++;
		} else if (n == 2 && p[0] == 0xc2 && p[1] >= 0x80 && p[1] <= 0x9f) {
			/* C1 controls (U+0080-U+009F): CSI and friends on some terminals. */
			buf_addf(&b, "\\u%04x", p[1]);
			p += 2;
		} else if (n > 1 && utf8_invisible(p, n, &cp)) {
			/* Bidi overrides reorder what follows; zero-width ones hide a difference.
			 */
			buf_addf(&b, cp > 0xffff ? "\\U%08x" : "\\u%04x", cp);
			p += n;
		} else if (*p == '\\') {
			buf_adds(&b, "\\\\");
			p++;
		} else {
			buf_add(&b, p, n);
			p += n;
		}
	}
	return buf_detach(&b);
}
