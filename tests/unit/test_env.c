/* SPDX-License-Identifier: MIT */
/* Unit tests for tracee/env.h: the allowlist scrub, --env, keep_all, PWD and secret names. */
#include "tracee/env.h"

#include "common/cleanup.h"
#include "tests/unit/tap.h"

#include <stdlib.h>
#include <string.h>

static const char *const caller_src[] = {
	"PATH=/usr/local/bin:/usr/bin",
	"HOME=/home/dev",
	"LANG=C.UTF-8",
	"LC_ALL=en_US.UTF-8",
	"TERM=xterm-256color",
	"PWD=/old/dir",
	"OPENAI_API_KEY=sk-secret-1",
	"AWS_SECRET_ACCESS_KEY=aws-secret-2",
	"GITHUB_TOKEN=ghp_secret3",
	"DATABASE_PASSWORD=hunter2",
	"RANDOM_VAR=random",
	"NOEQUALS",
	"EMPTY=",
	NULL,
};

/* caller_src as env_build() takes it, made writable in main(). */
static char *caller_env[ARRAY_SIZE(caller_src)];

/* Names the default scrub must remove from caller_env. */
static const char *const scrubbed[] = {
	"OPENAI_API_KEY", "AWS_SECRET_ACCESS_KEY",
	"GITHUB_TOKEN",	  "DATABASE_PASSWORD",
	"RANDOM_VAR",	  "EMPTY",
};

static size_t count(char **v)
{
	size_t n = 0;

	while (v && v[n])
		n++;
	return n;
}

/* The value of name in envp, or NULL; ok() fails when it appears more than once. */
static const char *get(char **envp, const char *name)
{
	size_t len = strlen(name), i, seen = 0;
	const char *val = NULL;

	for (i = 0; envp && envp[i]; i++) {
		if (strncmp(envp[i], name, len) == 0 && envp[i][len] == '=') {
			val = envp[i] + len + 1;
			seen++;
		}
	}
	if (seen > 1)
		ok(0, "%s appears %zu times", name, seen);
	return val;
}

static bool listed(char **v, const char *name)
{
	size_t i;

	for (i = 0; v && v[i]; i++)
		if (strcmp(v[i], name) == 0)
			return true;
	return false;
}

/* No entry of envp lacks '=' (the caller's malformed NOEQUALS must not come through). */
static bool all_have_eq(char **envp)
{
	size_t i;

	for (i = 0; envp && envp[i]; i++)
		if (!strchr(envp[i], '='))
			return false;
	return true;
}

static void test_default(void)
{
	struct env_result r;
	size_t i;

	is_int(env_build(caller_env, NULL, 0, false, "/work/project", &r), 0,
	       "env_build, defaults");
	is_str(get(r.envp, "PATH"), "/usr/local/bin:/usr/bin", "PATH kept");
	is_str(get(r.envp, "HOME"), "/home/dev", "HOME kept");
	is_str(get(r.envp, "LANG"), "C.UTF-8", "LANG kept");
	is_str(get(r.envp, "LC_ALL"), "en_US.UTF-8", "LC_ALL kept");
	is_str(get(r.envp, "TERM"), "xterm-256color", "TERM kept");
	is_str(get(r.envp, "PWD"), "/work/project", "PWD comes from cwd, once");
	for (i = 0; i < ARRAY_SIZE(scrubbed); i++) {
		ok(!get(r.envp, scrubbed[i]), "%s removed", scrubbed[i]);
		ok(listed(r.removed, scrubbed[i]), "%s listed in removed", scrubbed[i]);
	}
	is_int(count(r.removed), ARRAY_SIZE(scrubbed), "removed lists nothing else");
	is_int(count(r.envp), 6, "envp holds the five kept and PWD");
	ok(all_have_eq(r.envp) && !listed(r.removed, "NOEQUALS"),
	   "a variable without '=' is ignored");
	env_result_free(&r);
	ok(!r.envp && !r.removed, "env_result_free clears the result");
}

static void test_pass(void)
{
	static const char *const pass_name[] = {"GITHUB_TOKEN", "NOT_IN_ENV"};
	static const char *const pass_set[] = {"FOO=bar", "TERM=dumb", "RANDOM_VAR=chosen",
					       "EMPTYVAL=", "WITH_EQ=a=b"};
	struct env_result r;

	is_int(env_build(caller_env, pass_name, ARRAY_SIZE(pass_name), false, "/w", &r), 0,
	       "env_build with --env NAME");
	is_str(get(r.envp, "GITHUB_TOKEN"), "ghp_secret3", "--env GITHUB_TOKEN passes the value");
	ok(!listed(r.removed, "GITHUB_TOKEN"), "and it is not listed in removed");
	ok(!get(r.envp, "NOT_IN_ENV"), "--env of a name not in the environment adds nothing");
	ok(!get(r.envp, "OPENAI_API_KEY") && listed(r.removed, "OPENAI_API_KEY"),
	   "other secrets are still removed");
	env_result_free(&r);

	is_int(env_build(caller_env, pass_set, ARRAY_SIZE(pass_set), false, "/w", &r), 0,
	       "env_build with --env NAME=VALUE");
	is_str(get(r.envp, "FOO"), "bar", "--env FOO=bar sets a new variable");
	is_str(get(r.envp, "TERM"), "dumb", "--env TERM=dumb overrides a kept one");
	is_str(get(r.envp, "RANDOM_VAR"), "chosen", "--env RANDOM_VAR=chosen sets a scrubbed one");
	is_str(get(r.envp, "EMPTYVAL"), "", "--env EMPTYVAL= sets an empty value");
	is_str(get(r.envp, "WITH_EQ"), "a=b", "--env WITH_EQ=a=b keeps '=' in the value");
	is_str(get(r.envp, "PWD"), "/w", "PWD still comes from cwd");
	env_result_free(&r);

	{
		static const char *const pwd[] = {"PWD=/chosen"};

		is_int(env_build(caller_env, pwd, 1, false, "/w", &r), 0, "env_build, --env PWD=");
		is_str(get(r.envp, "PWD"), "/w", "cwd wins over --env PWD=");
		env_result_free(&r);
	}
	is_int(env_build(caller_env, NULL, 0, false, NULL, &r), 0, "env_build without cwd");
	is_str(get(r.envp, "PWD"), "/old/dir", "without cwd the caller's PWD is kept");
	env_result_free(&r);
}

static void test_keep_all(void)
{
	static const char *const pass_set[] = {"TERM=dumb"};
	struct env_result r;
	size_t i;

	is_int(env_build(caller_env, pass_set, 1, true, "/k", &r), 0, "env_build, keep_all");
	for (i = 0; caller_env[i]; i++) {
		const char *eq = strchr(caller_env[i], '=');
		cleanup_free char *name = NULL;

		if (!eq)
			continue;
		name = strndup(caller_env[i], (size_t)(eq - caller_env[i]));
		if (!strcmp(name, "PWD") || !strcmp(name, "TERM"))
			continue;
		is_str(get(r.envp, name), eq + 1, "keep_all passes %s", name);
	}
	is_str(get(r.envp, "TERM"), "dumb", "keep_all still applies --env NAME=VALUE");
	is_str(get(r.envp, "PWD"), "/k", "keep_all still sets PWD from cwd");
	is_int(count(r.removed), 0, "keep_all removes nothing");
	ok(all_have_eq(r.envp), "keep_all ignores a variable without '='");
	env_result_free(&r);

	is_int(env_build(NULL, NULL, 0, false, "/n", &r), 0, "env_build with no environment");
	is_int(count(r.envp), 1, "gives only PWD");
	is_int(count(r.removed), 0, "and removes nothing");
	env_result_free(&r);
}

static void test_invalid(void)
{
	static const struct {
		const char *arg, *what;
	} bad[] = {
		{"", "empty"},
		{"=value", "=value"},
		{"1ABC", "1ABC"},
		{"9=x", "9=x"},
		{"A-B", "A-B"},
		{"A B", "A B"},
		{"A.B=1", "A.B=1"},
		{"FOO BAR=1", "FOO BAR=1"},
		{"X\n=1", "X<newline>=1"},
		{"\xc3\xa9=1", "U+00E9=1"},
	};
	size_t i;

	for (i = 0; i < ARRAY_SIZE(bad); i++) {
		const char *pass[] = {"GOOD=1", bad[i].arg};
		struct env_result r;
		int rc = env_build(caller_env, pass, 2, false, "/w", &r);

		ok(rc < 0 && !r.envp && !r.removed, "--env %s is refused", bad[i].what);
		env_result_free(&r);
	}
	{
		static const char *const good[] = {"_", "_X1", "lower_case=v", "A1=2"};
		struct env_result r;

		is_int(env_build(caller_env, good, ARRAY_SIZE(good), false, "/w", &r), 0,
		       "--env _ _X1 lower_case=v A1=2 are accepted");
		is_str(get(r.envp, "lower_case"), "v", "lower_case=v set");
		env_result_free(&r);
	}
}

static void test_looks_secret(void)
{
	static const struct {
		const char *name;
		bool secret;
	} cases[] = {
		{"GITHUB_TOKEN", true},
		{"github_token", true},
		{"GitHub_Token", true},
		{"OPENAI_API_KEY", true},
		{"openai_api_key", true},
		{"AWS_SECRET_ACCESS_KEY", true},
		{"aws_access_key_id", true},
		{"AWS_REGION", true},
		{"DATABASE_PASSWORD", true},
		{"db_password", true},
		{"PGPASSWORD", true},
		{"FTP_PASSWD", true},
		{"SMTP_PASS", true},
		{"STRIPE_SECRET", true},
		{"CLIENT_SECRET_ID", true},
		{"NPM_TOKEN", true},
		{"GH_TOKEN_FILE", true},
		{"SENTRY_AUTH", true},
		{"MY_APIKEY", true},
		{"GOOGLE_APPLICATION_CREDENTIALS", true},
		{"AZURE_CLIENT_ID", true},
		{"SSH_AUTH_SOCK", true},
		{"DOCKER_CREDENTIALS", true},
		{"PATH", false},
		{"HOME", false},
		{"LANG", false},
		{"LC_ALL", false},
		{"TERM", false},
		{"PWD", false},
		{"EDITOR", false},
		{"KEYBOARD", false},
		{"RANDOM_VAR", false},
		{"", false},
	};
	size_t i;

	for (i = 0; i < ARRAY_SIZE(cases); i++)
		ok(env_looks_secret(cases[i].name) == cases[i].secret,
		   "env_looks_secret(\"%s\") is %s", cases[i].name,
		   cases[i].secret ? "true" : "false");
	ok(env_allowed("LC_CTYPE") && env_allowed("PATH") && !env_allowed("path") &&
		   !env_allowed("GITHUB_TOKEN") && !env_allowed("PATHX"),
	   "env_allowed: LC_* and PATH, case-sensitive, whole names");
}

int main(void)
{
	size_t i;

	setvbuf(stdout, NULL, _IONBF, 0);
	for (i = 0; caller_src[i]; i++)
		caller_env[i] = strdup(caller_src[i]);
	test_default();
	test_pass();
	test_keep_all();
	test_invalid();
	test_looks_secret();
	for (i = 0; caller_env[i]; i++)
		free(caller_env[i]);
	return tap_done();
}
