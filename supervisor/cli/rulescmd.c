/* SPDX-License-Identifier: MIT */
/* `airlock rules check FILE...` and `airlock rules show [-r FILE]...`. */
#include "supervisor/cli/cli.h"

#include "common/buf.h"
#include "common/cleanup.h"
#include "common/err.h"
#include "common/path.h"
#include "common/utf8.h"
#include "rules/rules.h"
#include "supervisor/supervise/policy.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char rules_usage[] =
	"usage: airlock rules check FILE...\n"
	"       airlock rules show [-r FILE]...\n"
	"\n"
	"  check   parse each rules file and check that airlock run would load it (owned by\n"
	"          you or root, not writable by others); exit 1 naming FILE:LINE otherwise\n"
	"  show    print the rules in force, in the order they are matched (the last matching\n"
	"          rule wins): the built-in defaults, ~/.config/airlock/rules, then each -r FILE,\n"
	"          then the directories of your PATH as sensitive paths (as a run adds them)\n"
	"\n"
	"The grammar is in airlock-rules(5).\n";

/* Print one bad line's message as the parser finds it; count them in *ctx. */
static void say_bad_line(const char *msg, void *ctx)
{
	error("%s", msg);
	(*(unsigned *)ctx)++;
}

/* The usage lines, without the help below them. */
static void put_usage_lines(void)
{
	fprintf(stderr, "%.*s", (int)(strstr(rules_usage, "\n\n") - rules_usage + 1), rules_usage);
}

/* "airlock: rules SUB: why 'arg'" (arg escaped, when not NULL), then the usage lines.
   EXIT_USAGE. */
static int rules_usage_error(const char *sub, const char *why, const char *arg)
{
	cleanup_free char *shown = arg ? term_sanitize(arg) : NULL;

	fprintf(stderr, "airlock: rules %s: %s", sub, why);
	if (shown)
		fprintf(stderr, " '%s'", shown);
	fputc('\n', stderr);
	put_usage_lines();
	return EXIT_USAGE;
}

static int rules_check(int argc, char **argv)
{
	cleanup_free char *cwd = getcwd(NULL, 0);
	struct rules_env env = {.home = home_dir(), .cwd = cwd};
	int i = 0, bad = 0;

	/* -h and --help as every subcommand takes them; "--" before a FILE named "-x". */
	if (argc > 0 && (strcmp(argv[0], "-h") == 0 || strcmp(argv[0], "--help") == 0)) {
		fputs(rules_usage, stdout);
		return 0;
	}
	if (argc > 0 && strcmp(argv[0], "--") == 0)
		i = 1;
	else if (argc > 0 && argv[0][0] == '-' && argv[0][1])
		return rules_usage_error("check", "unknown option", argv[0]);
	if (argc - i < 1)
		return rules_usage_error("check", "no file given", NULL);
	for (; i < argc; i++) {
		struct ruleset rs = RULESET_INIT;
		unsigned nbad = 0;
		struct rules_error err = {0};

		if (rules_check_file(&rs, argv[i], &env, &err, say_bad_line, &nbad) < 0) {
			/* Every bad line is said already; a file that cannot be read is not. */
			if (nbad == 0)
				error("%s", err.msg);
			bad = 1;
		} else if (rules_file_trusted(argv[i], getuid(), &err) < 0) {
			error("%s (airlock run refuses it)", err.msg);
			bad = 1;
		} else {
			printf("%s: ok, %zu rule%s\n", argv[i], rs.n, rs.n == 1 ? "" : "s");
		}
		rules_release(&rs);
	}
	return bad ? EXIT_REFUSED : 0;
}

static int rules_show(int argc, char **argv)
{
	cleanup_free char *cwd = getcwd(NULL, 0);
	struct rules_env env = {.home = home_dir(), .cwd = cwd};
	const char **files = xcalloc((size_t)argc + 1, sizeof(*files));
	struct policy pol = {0};
	size_t nfiles = 0, i;
	int k, rc = 0;

	for (k = 0; k < argc; k++) {
		if ((strcmp(argv[k], "-r") == 0 || strcmp(argv[k], "--rules") == 0) &&
		    k + 1 < argc) {
			files[nfiles++] = argv[++k];
		} else if (strncmp(argv[k], "--rules=", 8) == 0) {
			files[nfiles++] = argv[k] + 8;
		} else if (strcmp(argv[k], "-h") == 0 || strcmp(argv[k], "--help") == 0) {
			free(files);
			fputs(rules_usage, stdout);
			return 0;
		} else {
			free(files);
			return rules_usage_error("show", "unexpected argument", argv[k]);
		}
	}
	if (policy_load(&pol, files, nfiles, &env, NULL) < 0 ||
	    policy_add_path_dirs(&pol, getenv("PATH"), &env) < 0) {
		rc = EXIT_REFUSED;
		goto out;
	}
	for (i = 0; i < pol.rs.n; i++) {
		const struct rule *r = pol.rs.rules[i];
		cleanup_free char *origin = rule_origin(r);

		if (r->cls == RULE_OUTPUT)
			printf("%-22s %-8s %s %s\n", origin, "redact", r->kind, r->text);
		else if (r->cls == RULE_RISK && r->reason)
			printf("%-22s %-8s %s  # %s\n", origin, rule_action_name(r->action),
			       r->text, r->reason);
		else if (r->cls == RULE_PATH || r->cls == RULE_RISK)
			printf("%-22s %-8s %s\n", origin, rule_action_name(r->action), r->text);
		else
			printf("%-22s %-5s %-7s %s\n", origin, rule_action_name(r->action),
			       rule_class_name(r->cls), r->text);
	}
out:
	policy_free(&pol);
	free(files);
	return rc;
}

/* A typo gets the nearest subcommand and the usage lines, not the whole help. */
static int unknown_subcommand(const char *word)
{
	cleanup_free char *shown = term_sanitize(word);
	const char *best = NULL;
	unsigned best_d = 3;

	nearer_name(word, "check", &best, &best_d);
	nearer_name(word, "show", &best, &best_d);
	if (best)
		fprintf(stderr, "airlock: rules: unknown subcommand '%s'; did you mean '%s'?\n",
			shown, best);
	else
		fprintf(stderr, "airlock: rules: unknown subcommand '%s'\n", shown);
	put_usage_lines();
	return EXIT_USAGE;
}

int cmd_rules(int argc, char **argv)
{
	if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
		fputs(rules_usage, argc < 2 ? stderr : stdout);
		return argc < 2 ? EXIT_USAGE : 0;
	}
	if (strcmp(argv[1], "check") == 0)
		return rules_check(argc - 2, argv + 2);
	if (strcmp(argv[1], "show") == 0)
		return rules_show(argc - 2, argv + 2);
	return unknown_subcommand(argv[1]);
}
