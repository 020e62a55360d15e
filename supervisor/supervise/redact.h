/* SPDX-License-Identifier: MIT */
/*
 * Redaction of captured output: credentials a program printed (API keys, private keys,
 * passwords in connection strings, bearer tokens, and the values of every environment
 * variable the scrub removed) are replaced by "[REDACTED:kind]" before the output is stored
 * or shown. Each replacement is counted by kind; the secret itself is never kept.
 */
#ifndef AIRLOCK_SUPERVISOR_REDACT_H
#define AIRLOCK_SUPERVISOR_REDACT_H

#include <stddef.h>

struct redactor;

/* A redactor with the built-in patterns (see redact.c for the list). Never NULL. */
struct redactor *redactor_new(void);

/*
 * Redact every occurrence of value (a literal, e.g. a removed environment variable's value)
 * as kind. Values shorter than 6 bytes are ignored: they would match too much.
 */
void redactor_add_literal(struct redactor *r, const char *kind, const char *value);

/*
 * Add a POSIX extended regular expression; each match is redacted as kind. Returns 0, or
 * -EINVAL when the expression does not compile (for rules files: the caller reports it).
 */
int redactor_add_pattern(struct redactor *r, const char *kind, const char *ere);

/*
 * Return a redacted copy of data[0..len) (caller frees; NUL-terminated; *out_len set), and
 * add the replacements to the counts. Binary data (NUL bytes) is handled: matching treats it
 * as text between NULs.
 */
char *redactor_apply(struct redactor *r, const char *data, size_t len, size_t *out_len);

/* Number of kinds counted so far, and the i-th kind and count (in first-seen order). */
size_t redactor_nkinds(const struct redactor *r);
const char *redactor_kind(const struct redactor *r, size_t i, size_t *count);

void redactor_free(struct redactor *r);

#endif
