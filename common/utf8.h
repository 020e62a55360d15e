/* SPDX-License-Identifier: MIT */
/* Text from the sandboxed program made safe for JSON and terminals. */
#ifndef AIRLOCK_COMMON_UTF8_H
#define AIRLOCK_COMMON_UTF8_H

#include <stdbool.h>
#include <stddef.h>

/*
 * A copy of s in which every byte that is not part of valid UTF-8 is written as "\xNN",
 * so the result is valid UTF-8 (JSON needs it). Caller frees.
 */
char *utf8_sanitize(const char *s);

/*
 * A copy of s fit for a terminal: control characters (C0, DEL, C1), escape sequences and
 * invalid UTF-8 are written as visible escapes ("\n", "\e", "\x9b"), so nothing the program
 * chose can move the cursor, change colours or retitle the window; invisible characters
 * (utf8_invisible()) are written as "\u202e" or "\U000e0041", so what is shown is what is
 * there (a right-to-left override cannot make "gnp.exe" read as "exe.png"). A backslash is
 * doubled. Caller frees.
 */
char *term_sanitize(const char *s);

/* Length of the valid UTF-8 sequence at s (1-4), or 0 when s does not start one. */
size_t utf8_seq_len(const unsigned char *s);

/*
 * Whether the valid n-byte UTF-8 sequence at s is a character a terminal draws as nothing
 * or uses to reorder or join what is around it: the bidirectional controls (U+202A-U+202E,
 * U+2066-U+2069, U+200E, U+200F, U+061C), zero-width characters (U+200B-U+200D, U+2060,
 * U+FEFF), every other format character (Unicode category Cf: soft hyphen, tags, ...), the
 * line and paragraph separators, variation selectors and the fillers that draw blank. Sets
 * *cp to the code point whenever n > 1. C0 and C1 controls are not included (they have
 * their own escapes).
 */
bool utf8_invisible(const unsigned char *s, size_t n, unsigned *cp);

#endif
