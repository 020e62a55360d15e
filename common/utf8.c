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

char *term_sanitize(const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	struct buf b = BUF_INIT;

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
