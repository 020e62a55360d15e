/* SPDX-License-Identifier: MIT */
/* libFuzzer target for the rules parser and matchers: no input may crash, leak or break an
 * invariant. */
#include "rules/rules.h"

#include "common/buf.h"
#include "common/cleanup.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const struct rules_env env = {"/home/u", "/work/p"};

/* An invariant failed: abort, so libFuzzer saves the input. */
static void check(int cond, const char *what)
{
	if (!cond) {
		fprintf(stderr, "fuzz_rules: invariant failed: %s\n", what);
		abort();
	}
}

/* A refused buffer leaves the ruleset as it was and explains itself as "fuzz:...". */
static int parse(struct ruleset *rs, const char *d, size_t n)
{
	struct rules_error err = {0};
	size_t before = rs->n, sources = rs->nsources;
	int rc = rules_parse_buffer(rs, "fuzz", d, n, &env, &err);

	if (rc == 0) {
		check(rs->nsources == sources + 1, "one source added");
		return 0;
	}
	check(rc == -EINVAL, "parse errors are -EINVAL");
	check(strncmp(err.msg, "fuzz:", 5) == 0, "message starts with the name");
	check(rs->n == before && rs->nsources == sources, "a refused buffer adds nothing");
	return rc;
}

/* rule.text written back after its action and class must parse to exactly one rule. */
static void check_text(const struct rule *r)
{
	struct ruleset one = RULESET_INIT;
	struct buf line = BUF_INIT;

	buf_init(&line);
	if (r->cls == RULE_OUTPUT)
		buf_addf(&line, "redact %s %s", r->kind, r->text);
	else if (r->cls == RULE_PATH || r->cls == RULE_RISK)
		buf_addf(&line, "%s %s", rule_action_name(r->action), r->text);
	else
		buf_addf(&line, "%s %s %s", rule_action_name(r->action), rule_class_name(r->cls),
			 r->text);
	/* Re-quoting can lengthen a line past the limit; that is not a defect. */
	if (line.len <= RULES_MAX_LINE) {
		check(parse(&one, line.data, line.len) == 0, "rule.text parses again");
		check(one.n == 1, "rule.text is one rule");
		check(one.rules[0]->action == r->action && one.rules[0]->cls == r->cls,
		      "rule.text keeps action and class");
	}
	buf_release(&line);
	rules_release(&one);
}

/* Match the bytes after the first NUL (the "subject") in every way a notification could. */
static void match_all(const struct ruleset *rs, const char *subj, size_t n)
{
	cleanup_free char *s = xstrndup(subj, n);
	cleanup_free char *copy = xstrdup(s);
	char *argv[16];
	size_t argc = 0;
	struct rules_target t;
	const struct rule **v = NULL;

	for (char *tok = strtok(copy, " "); tok && argc < 15; tok = strtok(NULL, " "))
		argv[argc++] = tok;
	argv[argc] = NULL;
	rules_match_exec(rs, argc ? argv[0] : s, argv);
	rules_match_write(rs, s);

	memset(&t, 0, sizeof(t));
	t.family = AF_UNIX;
	t.unix_name = subj;
	t.unix_len = n;
	rules_match_connect(rs, &t);
	t.abstract = true;
	rules_match_connect(rs, &t);

	memset(&t, 0, sizeof(t));
	t.family = n % 3 == 0 ? AF_UNSPEC : (n % 3 == 1 ? AF_INET : AF_INET6);
	t.name = s;
	t.port = n > 0 ? (unsigned char)subj[0] * 256 + (n > 1 ? (unsigned char)subj[1] : 0) : -1;
	memcpy(&t.addr, subj, n < sizeof(t.addr) ? n : sizeof(t.addr));
	rules_match_connect(rs, &t);

	for (enum rule_action k = RULE_HIDE; k <= RULE_SCRATCH; k++) {
		size_t count = rules_paths(rs, k, &v);

		check(v[count] == NULL, "rules_paths ends with NULL");
		for (size_t i = 0; i < count; i++)
			check(v[i]->path && v[i]->path[0] == '/', "paths are absolute");
		free(v);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *d = (const char *)data;
	const char *nul = memchr(d, '\0', size);
	size_t rules_len = nul ? (size_t)(nul - d) : size;
	size_t subj_len = nul ? size - rules_len - 1 : 0;
	/* libFuzzer's bytes end without a NUL: string functions get a terminated copy. */
	cleanup_free char *subj = xstrndup(nul ? nul + 1 : "", subj_len);
	struct ruleset rs = RULESET_INIT;
	cleanup_free char *q = NULL;

	/* The whole input (NUL bytes and all), then the text before the first NUL. */
	parse(&rs, d, size);
	if (nul && parse(&rs, d, rules_len) == 0) {
		for (size_t i = 0; i < rs.n; i++)
			check_text(rs.rules[i]);
	}
	match_all(&rs, nul ? nul + 1 : "", subj_len);
	rules_release(&rs);

	q = rules_quote(subj);
	check(q != NULL || errno == EINVAL, "rules_quote refuses only with EINVAL");
	return 0;
}
