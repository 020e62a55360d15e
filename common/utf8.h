/* SPDX-License-Identifier: MIT */
/* Text from the sandboxed program made safe for JSON and terminals. */
#ifndef AIRLOCK_COMMON_UTF8_H
#define AIRLOCK_COMMON_UTF8_H

#include <stddef.h>

/*
 * A copy of s in which every byte that is not part of valid UTF-8 is written as "\xNN",
 * so the result is valid UTF-8 (JSON needs it). Caller frees.
 */
char *utf8_sanitize(const char *s);

/*
 * A copy of s fit for a terminal: control characters (C0, DEL, C1), escape sequences and
 * invalid UTF-8 are written as visible escapes ("\n", "\e", "\x9b"), so nothing the program
 * chose can move the cursor, change colours or retitle the window. Caller frees.
 */
char *term_sanitize(const char *s);

/* Length of the valid UTF-8 sequence at s (1-4), or 0 when s does not start one. */
size_t utf8_seq_len(const unsigned char *s);

#endif
