/* SPDX-License-Identifier: MIT */
/*
 * The command's environment: the caller's, scrubbed to an allowlist unless told otherwise.
 * Credentials travel in environment variables (API keys, cloud tokens); an allowlist keeps
 * every unknown name out, where a denylist would miss the next vendor's naming.
 */
#ifndef AIRLOCK_TRACEE_ENV_H
#define AIRLOCK_TRACEE_ENV_H

#include <stdbool.h>
#include <stddef.h>

struct env_result {
	char **envp;	/* NULL-terminated "NAME=VALUE" strings for the command */
	char **removed; /* NULL-terminated names the scrub removed (their values are secrets
			   to redact from captured output) */
};

/*
 * Build the environment from env (the caller's). pass holds --env arguments: "NAME" passes
 * the caller's value, "NAME=VALUE" sets one. keep_all passes everything. cwd becomes PWD.
 * Returns 0, or -EINVAL for a malformed --env argument (printed).
 */
int env_build(char *const *env, const char *const *pass, size_t npass, bool keep_all,
	      const char *cwd, struct env_result *out);

/* Set NAME=VALUE in r->envp, replacing a value it has. */
void env_set(struct env_result *r, const char *name, const char *value);

void env_result_free(struct env_result *r);

/* True when name is on the default allowlist (PATH, HOME, LANG, LC_*, TERM, ...). */
bool env_allowed(const char *name);

/* True when name looks like it holds a credential (*_TOKEN, *_KEY, AWS_*, ...). */
bool env_looks_secret(const char *name);

#endif
