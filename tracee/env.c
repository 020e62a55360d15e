/* SPDX-License-Identifier: MIT */
/* Environment scrubbing; see env.h. */
#include "tracee/env.h"

#include "common/buf.h"
#include "common/cleanup.h"
#include "common/err.h"
#include "common/strvec.h"

#include <ctype.h>
#include <errno.h>
#include <fnmatch.h>
#include <stdlib.h>
#include <string.h>

/*
 * What programs need to behave as in the caller's shell: where things are (PATH, HOME,
 * TMPDIR, PWD, SHELL), who runs them (USER, LOGNAME), language and time (LANG, LANGUAGE,
 * LC_*, TZ), and the terminal (TERM, COLORTERM, COLUMNS, LINES, NO_COLOR). EDITOR, VISUAL
 * and PAGER name programs, never secrets, and tools such as git consult them.
 */
static const char *const allowlist[] = {
	"PATH",	 "HOME",     "USER",	  "LOGNAME", "SHELL",  "LANG", "LANGUAGE",
	"LC_*",	 "TERM",     "COLORTERM", "TZ",	     "TMPDIR", "PWD",  "COLUMNS",
	"LINES", "NO_COLOR", "EDITOR",	  "VISUAL",  "PAGER",
};

static const char *const secret_patterns[] = {
	"*_TOKEN",	 "*_TOKEN_*",	   "*_KEY",	 "*_KEY_*",
	"*_SECRET",	 "*_SECRET_*",	   "*PASSWORD*", "*PASSWD*",
	"*_PASS",	 "AWS_*",	   "AZURE_*",	 "GOOGLE_APPLICATION_CREDENTIALS",
	"*_CREDENTIALS", "*APIKEY*",	   "*_AUTH",	 "*SESSION_ID*",
	"SSH_AUTH_SOCK", "GPG_AGENT_INFO",
};

static bool match_any(const char *name, const char *const *pats, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (fnmatch(pats[i], name, 0) == 0)
			return true;
	return false;
}

bool env_allowed(const char *name)
{
	return match_any(name, allowlist, ARRAY_SIZE(allowlist));
}

bool env_looks_secret(const char *name)
{
	cleanup_free char *up = xstrdup(name);
	char *p;

	for (p = up; *p; p++)
		*p = (char)toupper((unsigned char)*p);
	return match_any(up, secret_patterns, ARRAY_SIZE(secret_patterns));
}

static bool valid_name(const char *s, size_t n)
{
	size_t i;

	if (n == 0 || isdigit((unsigned char)s[0]))
		return false;
	for (i = 0; i < n; i++)
		if (!(isalnum((unsigned char)s[i]) || s[i] == '_'))
			return false;
	return true;
}

/* Replace or add NAME=VALUE in sv (entry is owned by sv afterwards). */
static void env_put(struct strvec *sv, char *entry)
{
	size_t n = (size_t)(strchr(entry, '=') - entry), i;

	for (i = 0; i < sv->n; i++) {
		if (strncmp(sv->v[i], entry, n) == 0 && sv->v[i][n] == '=') {
			free(sv->v[i]);
			sv->v[i] = entry;
			return;
		}
	}
	strvec_push(sv, entry);
}

/* Remove the bare name from a list of names. */
static void remove_name(struct strvec *sv, const char *name)
{
	size_t i;

	for (i = 0; i < sv->n; i++) {
		if (strcmp(sv->v[i], name) == 0) {
			strvec_remove(sv, i);
			return;
		}
	}
}

int env_build(char *const *env, const char *const *pass, size_t npass, bool keep_all,
	      const char *cwd, struct env_result *out)
{
	cleanup_strvec struct strvec keep = STRVEC_INIT;
	cleanup_strvec struct strvec removed = STRVEC_INIT;
	size_t i;

	memset(out, 0, sizeof(*out));
	for (i = 0; i < npass; i++) {
		const char *eq = strchr(pass[i], '=');
		size_t n = eq ? (size_t)(eq - pass[i]) : strlen(pass[i]);

		if (!valid_name(pass[i], n)) {
			error("--env %s: not a valid variable name", pass[i]);
			return -EINVAL;
		}
	}
	for (; env && *env; env++) {
		const char *eq = strchr(*env, '=');
		cleanup_free char *name = NULL;
		bool passed = keep_all;

		if (!eq)
			continue;
		name = xstrndup(*env, (size_t)(eq - *env));
		if (!passed && env_allowed(name) && !env_looks_secret(name))
			passed = true;
		for (i = 0; i < npass && !passed; i++)
			if (strcmp(pass[i], name) == 0)
				passed = true;
		if (passed)
			strvec_add(&keep, *env);
		else
			strvec_push(&removed, steal_pointer(&name));
	}
	for (i = 0; i < npass; i++) {
		if (strchr(pass[i], '=')) {
			cleanup_free char *name = xstrndup(pass[i], strcspn(pass[i], "="));

			remove_name(&removed, name);
			env_put(&keep, xstrdup(pass[i]));
		}
	}
	if (cwd)
		env_put(&keep, xasprintf("PWD=%s", cwd));
	out->envp = strvec_detach(&keep);
	out->removed = strvec_detach(&removed);
	return 0;
}

void env_set(struct env_result *r, const char *name, const char *value)
{
	size_t n, len = strlen(name);
	char *entry = xasprintf("%s=%s", name, value);

	for (n = 0; r->envp && r->envp[n]; n++) {
		if (strncmp(r->envp[n], name, len) == 0 && r->envp[n][len] == '=') {
			free(r->envp[n]);
			r->envp[n] = entry;
			return;
		}
	}
	r->envp = xrealloc(r->envp, (n + 2) * sizeof(*r->envp));
	r->envp[n] = entry;
	r->envp[n + 1] = NULL;
}

void env_result_free(struct env_result *r)
{
	char **p;

	for (p = r->envp; p && *p; p++)
		free(*p);
	free(r->envp);
	for (p = r->removed; p && *p; p++)
		free(*p);
	free(r->removed);
	memset(r, 0, sizeof(*r));
}
