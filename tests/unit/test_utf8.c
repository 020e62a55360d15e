/* SPDX-License-Identifier: MIT */
/* Unit tests for common/utf8.h: UTF-8 validation and escaping for JSON and for terminals. */
#include "common/utf8.h"

#include "common/cleanup.h"
#include "tests/unit/tap.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* Encode cp (any value below 0x110000, surrogates included) into out; returns the length. */
static size_t encode(uint32_t cp, unsigned char *out)
{
	if (cp < 0x80) {
		out[0] = (unsigned char)cp;
		return 1;
	}
	if (cp < 0x800) {
		out[0] = (unsigned char)(0xc0 | (cp >> 6));
		out[1] = (unsigned char)(0x80 | (cp & 0x3f));
		return 2;
	}
	if (cp < 0x10000) {
		out[0] = (unsigned char)(0xe0 | (cp >> 12));
		out[1] = (unsigned char)(0x80 | ((cp >> 6) & 0x3f));
		out[2] = (unsigned char)(0x80 | (cp & 0x3f));
		return 3;
	}
	out[0] = (unsigned char)(0xf0 | (cp >> 18));
	out[1] = (unsigned char)(0x80 | ((cp >> 12) & 0x3f));
	out[2] = (unsigned char)(0x80 | ((cp >> 6) & 0x3f));
	out[3] = (unsigned char)(0x80 | (cp & 0x3f));
	return 4;
}

static bool valid_utf8(const char *s)
{
	const unsigned char *p = (const unsigned char *)s;

	while (*p) {
		size_t n = utf8_seq_len(p);

		if (n == 0)
			return false;
		p += n;
	}
	return true;
}

/* Nothing a terminal acts on: no C0 byte, no DEL, no U+0080-U+009F, and valid UTF-8. */
static bool terminal_safe(const char *s)
{
	const unsigned char *p = (const unsigned char *)s;

	for (; *p; p++) {
		if (*p < 0x20 || *p == 0x7f)
			return false;
		if (p[0] == 0xc2 && p[1] >= 0x80 && p[1] <= 0x9f)
			return false;
	}
	if (!valid_utf8(s))
		return false;
	for (p = (const unsigned char *)s; *p; p += utf8_seq_len(p)) {
		unsigned cp;

		if (utf8_invisible(p, utf8_seq_len(p), &cp))
			return false;
	}
	return true;
}

static void test_seq_len(void)
{
	static const struct {
		const char *what;
		const char *s;
		size_t want;
	} cases[] = {
		{"ASCII letter", "A", 1},
		{"DEL", "\x7f", 1},
		{"U+0080, smallest 2-byte", "\xc2\x80", 2},
		{"U+00E9", "\xc3\xa9", 2},
		{"U+07FF, largest 2-byte", "\xdf\xbf", 2},
		{"U+0800, smallest 3-byte", "\xe0\xa0\x80", 3},
		{"U+20AC euro sign", "\xe2\x82\xac", 3},
		{"U+D7FF, below the surrogates", "\xed\x9f\xbf", 3},
		{"U+E000, above the surrogates", "\xee\x80\x80", 3},
		{"U+FFFF", "\xef\xbf\xbf", 3},
		{"U+10000, smallest 4-byte", "\xf0\x90\x80\x80", 4},
		{"U+1F600", "\xf0\x9f\x98\x80", 4},
		{"U+10FFFF, the last code point", "\xf4\x8f\xbf\xbf", 4},
		{"lone continuation byte 0x80", "\x80", 0},
		{"lone continuation byte 0xbf", "\xbf", 0},
		{"overlong NUL C0 80", "\xc0\x80", 0},
		{"overlong '/' C0 AF", "\xc0\xaf", 0},
		{"overlong C1 BF", "\xc1\xbf", 0},
		{"overlong 3-byte NUL", "\xe0\x80\x80", 0},
		{"overlong 3-byte U+07FF", "\xe0\x9f\xbf", 0},
		{"overlong 4-byte NUL", "\xf0\x80\x80\x80", 0},
		{"overlong 4-byte U+FFFF", "\xf0\x8f\xbf\xbf", 0},
		{"surrogate U+D800", "\xed\xa0\x80", 0},
		{"surrogate U+DBFF", "\xed\xaf\xbf", 0},
		{"surrogate U+DC00", "\xed\xb0\x80", 0},
		{"surrogate U+DFFF", "\xed\xbf\xbf", 0},
		{"U+110000, past the last", "\xf4\x90\x80\x80", 0},
		{"lead F5", "\xf5\x80\x80\x80", 0},
		{"lead F7 (U+1FFFFF)", "\xf7\xbf\xbf\xbf", 0},
		{"lead F8, 5-byte form", "\xf8\x88\x80\x80\x80", 0},
		{"lead FC, 6-byte form", "\xfc\x84\x80\x80\x80\x80", 0},
		{"byte FE", "\xfe", 0},
		{"byte FF", "\xff", 0},
		{"2-byte truncated at end", "\xc3", 0},
		{"2-byte followed by ASCII",
		 "\xc3"
		 "A",
		 0},
		{"3-byte truncated after 1", "\xe2", 0},
		{"3-byte truncated after 2", "\xe2\x82", 0},
		{"3-byte with ASCII third",
		 "\xe2\x82"
		 "A",
		 0},
		{"3-byte with a new lead second", "\xe2\xc3\xa9", 0},
		{"4-byte truncated after 3", "\xf0\x9f\x98", 0},
		{"4-byte with ASCII fourth",
		 "\xf0\x9f\x98"
		 "A",
		 0},
	};
	unsigned char buf[8];
	uint32_t cp;
	size_t i;
	bool all = true;

	for (i = 0; i < ARRAY_SIZE(cases); i++)
		is_int(utf8_seq_len((const unsigned char *)cases[i].s), cases[i].want,
		       "utf8_seq_len: %s", cases[i].what);

	/* Every code point: the shortest form is accepted at its length, unless a surrogate. */
	for (cp = 1; cp < 0x110000 && all; cp++) {
		size_t n = encode(cp, buf), want = (cp >= 0xd800 && cp <= 0xdfff) ? 0 : n;

		buf[n] = '\0';
		if (utf8_seq_len(buf) != want) {
			printf("# U+%04X: got %zu, want %zu\n", (unsigned)cp, utf8_seq_len(buf),
			       want);
			all = false;
		}
	}
	ok(all, "utf8_seq_len on the shortest form of every code point");

	/* Every 2-byte overlong (C0/C1 leads) and every 3-byte overlong (E0 80-9F). */
	all = true;
	for (cp = 0; cp < 0x800 && all; cp++) {
		buf[0] = (unsigned char)(0xe0 | (cp >> 12));
		buf[1] = (unsigned char)(0x80 | ((cp >> 6) & 0x3f));
		buf[2] = (unsigned char)(0x80 | (cp & 0x3f));
		buf[3] = '\0';
		if (utf8_seq_len(buf) != 0)
			all = false;
		if (cp < 0x80) {
			buf[0] = (unsigned char)(0xc0 | (cp >> 6));
			buf[1] = (unsigned char)(0x80 | (cp & 0x3f));
			buf[2] = '\0';
			if (utf8_seq_len(buf) != 0)
				all = false;
		}
	}
	ok(all, "utf8_seq_len refuses every overlong 2- and 3-byte form");
}

static void test_utf8_sanitize(void)
{
	static const struct {
		const char *what, *in, *want;
	} cases[] = {
		{"plain ASCII", "hello world", "hello world"},
		{"empty", "", ""},
		{"2-byte kept", "caf\xc3\xa9", "caf\xc3\xa9"},
		{"3-byte kept",
		 "\xe2\x82\xac"
		 "5",
		 "\xe2\x82\xac"
		 "5"},
		{"4-byte kept", "\xf0\x9f\x98\x80!", "\xf0\x9f\x98\x80!"},
		{"controls are not its business", "a\nb\tc\x1b", "a\nb\tc\x1b"},
		{"invalid byte in the middle",
		 "a\xff"
		 "b",
		 "a\\xffb"},
		{"lone continuation", "\x80", "\\x80"},
		{"overlong NUL", "\xc0\x80", "\\xc0\\x80"},
		{"surrogate", "\xed\xa0\x80", "\\xed\\xa0\\x80"},
		{"past U+10FFFF", "\xf4\x90\x80\x80", "\\xf4\\x90\\x80\\x80"},
		{"truncated at the end", "x\xe2\x82", "x\\xe2\\x82"},
		{"truncated, then valid", "\xe2\x82\xc3\xa9", "\\xe2\\x82\xc3\xa9"},
		{"Latin-1 text", "na\xefve", "na\\xefve"},
		{"C1 CSI as one raw byte",
		 "\x9b"
		 "2J",
		 "\\x9b"
		 "2J"},
	};
	size_t i;

	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		cleanup_free char *got = utf8_sanitize(cases[i].in);

		is_str(got, cases[i].want, "utf8_sanitize: %s", cases[i].what);
	}
}

static void test_term_sanitize(void)
{
	static const struct {
		const char *what, *in, *want;
	} cases[] = {
		{"plain text", "make: *** [all] Error 2", "make: *** [all] Error 2"},
		{"empty", "", ""},
		{"ESC alone", "\x1b", "\\e"},
		{"CSI clear screen", "\x1b[2J", "\\e[2J"},
		{"CSI cursor home and colour", "\x1b[H\x1b[31mred", "\\e[H\\e[31mred"},
		{"OSC window title ended by BEL", "\x1b]0;pwned\x07", "\\e]0;pwned\\x07"},
		{"OSC 8 hyperlink ended by ST", "\x1b]8;;http://x\x1b\\", "\\e]8;;http://x\\e\\\\"},
		{"C1 CSI as UTF-8",
		 "\xc2\x9b"
		 "2J",
		 "\\u009b2J"},
		{"C1 OSC as UTF-8",
		 "\xc2\x9d"
		 "0;t\xc2\x9c",
		 "\\u009d0;t\\u009c"},
		{"C1 NEL U+0085", "\xc2\x85", "\\u0085"},
		{"C1 CSI as a raw byte",
		 "\x9b"
		 "2J",
		 "\\x9b2J"},
		{"U+00A0 is not C1",
		 "a\xc2\xa0"
		 "b",
		 "a\xc2\xa0"
		 "b"},
		{"newline", "a\nb", "a\\nb"},
		{"tab", "a\tb", "a\\tb"},
		{"carriage return", "100%\r", "100%\\r"},
		{"backspace", "x\by", "x\\x08y"},
		{"BEL", "\x07", "\\x07"},
		{"DEL", "a\x7f", "a\\x7f"},
		{"unit separator 0x1f", "\x1f", "\\x1f"},
		{"backslash doubled", "C:\\dir", "C:\\\\dir"},
		{"an escape's text stays apart from an escape", "\\e[2J", "\\\\e[2J"},
		{"invalid byte",
		 "a\xff"
		 "b",
		 "a\\xffb"},
		{"overlong ESC", "\xc0\x9b", "\\xc0\\x9b"},
		{"multibyte kept", "\xc3\xa9t\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80",
		 "\xc3\xa9t\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80"},
	};
	size_t i;
	unsigned a, b;
	bool all = true;
	unsigned long long rng = 0x9e3779b97f4a7c15ULL;
	int round;

	ok(!terminal_safe("\x1b[2J") && !terminal_safe("a\xc2\x9b") && !terminal_safe("\x7f") &&
		   !terminal_safe("\n") && !terminal_safe("\xff") && terminal_safe("\xc2\xa0\\"),
	   "the terminal-safety check itself tells safe from unsafe");
	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		cleanup_free char *got = term_sanitize(cases[i].in);

		is_str(got, cases[i].want, "term_sanitize: %s", cases[i].what);
		ok(got && terminal_safe(got), "term_sanitize: %s: result is terminal-safe",
		   cases[i].what);
	}

	/* Every string of one or two bytes. */
	for (a = 1; a < 256 && all; a++) {
		for (b = 0; b < 256 && all; b++) {
			char in[3] = {(char)a, (char)b, 0};
			cleanup_free char *t = term_sanitize(in);
			cleanup_free char *u = utf8_sanitize(in);

			if (!terminal_safe(t) || !valid_utf8(u)) {
				printf("# input %02x %02x\n", a, b);
				all = false;
			}
		}
	}
	ok(all, "every 1- and 2-byte string: term_sanitize safe, utf8_sanitize valid");

	/* Random strings biased towards the bytes that matter. */
	all = true;
	for (round = 0; round < 100000 && all; round++) {
		static const unsigned char pick[] = {0x1b, 0x07, 0x9b, 0xc2, 0x80, 0x9f, 0x7f, '\\',
						     '[',  ']',	 '\n', 0xe2, 0xf0, 0xed, 0xff, 'a'};
		char in[24];
		size_t len, j;

		rng = rng * 6364136223846793005ULL + 1442695040888963407ULL;
		len = (size_t)(rng >> 60) + 1; /* 1-16 */
		for (j = 0; j < len; j++) {
			unsigned char c;

			rng = rng * 6364136223846793005ULL + 1442695040888963407ULL;
			c = (rng >> 40) & 1 ? pick[(rng >> 33) & 15] : (unsigned char)(rng >> 48);
			in[j] = (char)(c ? c : 'z');
		}
		in[len] = '\0';
		{
			cleanup_free char *t = term_sanitize(in);
			cleanup_free char *u = utf8_sanitize(in);

			if (!terminal_safe(t) || !valid_utf8(u)) {
				printf("# round %d\n", round);
				all = false;
			}
		}
	}
	ok(all, "100000 random strings: term_sanitize safe, utf8_sanitize valid");
}

/* Code points written as escapes: bidi controls, zero-width and other format characters. */
static void test_invisible(void)
{
	static const unsigned must[] = {
		0x202a,	 0x202b,  0x202c,  0x202d,  0x202e, /* LRE RLE PDF LRO RLO */
		0x2066,	 0x2067,  0x2068,  0x2069,	    /* LRI RLI FSI PDI */
		0x200b,	 0x200c,  0x200d,  0x200e,  0x200f, /* ZWSP ZWNJ ZWJ LRM RLM */
		0x061c,	 0x2060,  0xfeff,  0x00ad,  0x2028,  0x2029,  0x180e,
		0x2064,	 0x206f,  0xfff9,  0xfffb,  0x3164,  0x115f,  0xfe0f,
		0xe0001, 0xe0041, 0xe007f, 0xe0100, 0x1d173, 0x13430,
	};
	static const unsigned keep[] = {
		'a',
		0xa0,
		0xe9,
		0x2027,
		0x202f,
		0x2065 + 0x10 /* 0x2075 */,
		0x20ac,
		0x4e2d,
		0xfffd,
		0x1f600,
		0x10ffff - 2,
		0x05d0 /* Hebrew alef */,
		0x0627 /* Arabic alef */,
		0x0301 /* combining acute: visible on its base */,
	};
	static const struct {
		const char *what, *in, *want;
	} cases[] = {
		{"RLO reversing an extension", "invoice\xe2\x80\xaegpj.exe",
		 "invoice\\u202egpj.exe"},
		{"an isolate pair",
		 "a\xe2\x81\xa7"
		 "b\xe2\x81\xa9"
		 "c",
		 "a\\u2067b\\u2069c"},
		{"zero-width space in a name", "git\xe2\x80\x8b", "git\\u200b"},
		{"BOM", "\xef\xbb\xbfx", "\\ufeffx"},
		{"soft hyphen", "pass\xc2\xadwd", "pass\\u00adwd"},
		{"tag characters", "x\xf3\xa0\x81\x81", "x\\U000e0041"},
		{"line separator",
		 "a\xe2\x80\xa8"
		 "b",
		 "a\\u2028b"},
		{"Hebrew text kept", "\xd7\xa9\xd7\x9c\xd7\x95\xd7\x9d",
		 "\xd7\xa9\xd7\x9c\xd7\x95\xd7\x9d"},
	};
	unsigned char buf[8];
	size_t i;

	for (i = 0; i < ARRAY_SIZE(must); i++) {
		unsigned cp = 0;
		size_t n = encode(must[i], buf);

		ok(utf8_invisible(buf, n, &cp) && cp == must[i], "U+%04X is invisible", must[i]);
	}
	for (i = 0; i < ARRAY_SIZE(keep); i++) {
		unsigned cp = 0;
		size_t n = encode(keep[i], buf);

		ok(!utf8_invisible(buf, n, &cp), "U+%04X is shown as it is", keep[i]);
	}
	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		cleanup_free char *got = term_sanitize(cases[i].in);

		is_str(got, cases[i].want, "term_sanitize: %s", cases[i].what);
		ok(got && terminal_safe(got), "term_sanitize: %s: result is terminal-safe",
		   cases[i].what);
	}
}

int main(void)
{
	setvbuf(stdout, NULL, _IONBF, 0);
	test_seq_len();
	test_utf8_sanitize();
	test_term_sanitize();
	test_invisible();
	return tap_done();
}
