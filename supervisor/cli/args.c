/* SPDX-License-Identifier: MIT */
/* The "[ID] [--] [PATH...]" command line shared by diff, commit and undo; see cli.h. */
#include "supervisor/cli/cli.h"

#include "common/buf.h"
#include "common/cleanup.h"
#include "common/err.h"
#include "common/path.h"
#include "common/utf8.h"
#include "supervisor/record/store.h"

#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A positive decimal number that fits a long ("--run 3"); 0 or -EINVAL. */
static int parse_positive(const char *s, long *out)
{
	char *end;
	long v;

	if (!s || s[0] < '0' || s[0] > '9')
		return -EINVAL;
	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || *end || v <= 0)
		return -EINVAL;
	*out = v;
	return 0;
}

void nearer_name(const char *word, const char *name, const char **best, unsigned *best_d)
{
	unsigned d = edit_distance(word, name);

	if (d < *best_d) {
		*best_d = d;
		*best = name;
	}
}

unsigned edit_distance(const char *a, const char *b)
{
	unsigned row[64], i, j, la = (unsigned)strlen(a), lb = (unsigned)strlen(b);

	if (la >= 63 || lb >= 63)
		return 9;
	for (j = 0; j <= lb; j++)
		row[j] = j;
	for (i = 1; i <= la; i++) {
		unsigned diag = row[0], next;

		row[0] = i;
		for (j = 1; j <= lb; j++) {
			next = row[j];
			row[j] = diag + (a[i - 1] != b[j - 1]);
			if (row[j - 1] + 1 < row[j])
				row[j] = row[j - 1] + 1;
			if (next + 1 < row[j])
				row[j] = next + 1;
			diag = next;
		}
	}
	return row[lb] > 9 ? 9 : row[lb];
}

int option_error(const char *cmd, const char *arg, const struct option *opts, const char *usage)
{
	char word[64];
	const char *best = NULL;
	unsigned best_d = 3;
	char *shown;
	size_t i;

	/* "--timout=5s": the name is what comes before '='. */
	snprintf(word, sizeof(word), "%.*s", (int)strcspn(arg + strspn(arg, "-"), "="),
		 arg + strspn(arg, "-"));
	for (i = 0; opts && opts[i].name; i++)
		nearer_name(word, opts[i].name, &best, &best_d);
	shown = term_sanitize(arg);
	if (best)
		fprintf(stderr, "airlock: %s: unknown option '%s'; did you mean '--%s'?\n", cmd,
			shown, best);
	else
		fprintf(stderr, "airlock: %s: unknown option '%s'\n", cmd, shown);
	free(shown);
	fprintf(stderr, "usage: %.*s\n", (int)strcspn(usage, "\n"), usage);
	return EXIT_USAGE;
}

int usage_fail(const char *usage, const char *fmt, ...)
{
	const char *w = usage + strcspn(usage, " ") + 1; /* after "airlock " */
	va_list ap;

	fprintf(stderr, "airlock: %.*s: ", (int)strcspn(w, " \n"), w);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\nusage: %.*s\n", (int)strcspn(usage, "\n"), usage);
	return EXIT_USAGE;
}

int unexpected_arg(const char *usage, const char *arg)
{
	cleanup_free char *shown = term_sanitize(arg);

	return usage_fail(usage, "unexpected argument '%s'", shown);
}

void session_args_free(struct session_args *a)
{
	size_t i;

	for (i = 0; i < a->npaths; i++)
		free(a->paths[i]);
	free(a->paths);
	free(a->runs);
	free(a->relative_dir);
	memset(a, 0, sizeof(*a));
}

/* An unknown option of a session subcommand, with the options it does take as suggestions. */
static int session_option_error(const struct session_args_spec *spec, const char *arg)
{
	struct option opts[11] = {{0}};
	const char *w = spec->usage + strcspn(spec->usage, " ") + 1; /* after "airlock " */
	char cmd[32];
	size_t n = 0;

	opts[n++].name = "help";
	if (spec->accept & ARG_ALL)
		opts[n++].name = "all";
	if (spec->accept & ARG_FORCE)
		opts[n++].name = "force";
	if (spec->accept & ARG_RUN)
		opts[n++].name = "run";
	if (spec->accept & ARG_DIFF) {
		static const char *const diff_opts[] = {"stat",	 "name-status", "relative",
							"color", "no-color",	"no-pager"};
		size_t k;

		for (k = 0; k < ARRAY_SIZE(diff_opts); k++)
			opts[n++].name = diff_opts[k];
	}
	snprintf(cmd, sizeof(cmd), "%.*s", (int)strcspn(w, " "), w);
	return option_error(cmd, arg, opts, spec->usage);
}

/* One of diff's own options into a: 0, a usage error's status, or -1 when arg is none. */
static int diff_option(const struct session_args_spec *spec, struct session_args *a,
		       const char *arg)
{
	if (strcmp(arg, "--stat") == 0 || strcmp(arg, "--name-status") == 0) {
		if (a->stat || a->name_status)
			return usage_fail(spec->usage,
					  "--stat and --name-status are one or the other");
		a->stat = arg[2] == 's';
		a->name_status = !a->stat;
		return 0;
	}
	if (strcmp(arg, "--relative") == 0 || strncmp(arg, "--relative=", 11) == 0) {
		a->relative = true;
		free(a->relative_dir);
		a->relative_dir = NULL;
		if (arg[10] == '=') {
			if (!arg[11])
				return usage_fail(spec->usage, "--relative= names no directory");
			a->relative_dir = path_absolute(arg + 11);
			if (!a->relative_dir) {
				char *shown = term_sanitize(arg + 11);

				error_errno("cannot resolve %s", shown);
				free(shown);
				return EXIT_REFUSED;
			}
		}
		return 0;
	}
	if (strcmp(arg, "--color") == 0 || strncmp(arg, "--color=", 8) == 0) {
		if (parse_colour_when(arg[7] == '=' ? arg + 8 : NULL, &a->view.colour) < 0)
			return usage_fail(spec->usage, "--color takes auto, always or never");
		return 0;
	}
	if (strcmp(arg, "--no-color") == 0) {
		a->view.colour = COLOUR_NEVER;
		return 0;
	}
	if (strcmp(arg, "--no-pager") == 0) {
		a->view.no_pager = true;
		return 0;
	}
	return -1;
}

static void print_session_help(const struct session_args_spec *spec)
{
	printf("usage: %s\n\n%s", spec->usage, spec->help);
	if (spec->accept & ARG_PATHS)
		fputs("Without --, the first argument is the ID when it is 'last', an ID or the "
		      "prefix of one;\nwith --, the argument before it is the ID and those after "
		      "it are PATHs.\n",
		      stdout);
}

/*
 * The option argv[*i] (before "--", which is argv[dashdash]); --run may take the next
 * argument as its value (*i moves on). -1 to go on, else the exit status.
 */
static int session_option(char **argv, int *i, int dashdash, const struct session_args_spec *spec,
			  struct session_args *a)
{
	const char *arg = argv[*i];
	const char *val;

	if (strcmp(arg, "--help") == 0 || strcmp(arg, "-h") == 0) {
		print_session_help(spec);
		return 0;
	}
	if ((spec->accept & ARG_ALL) && strcmp(arg, "--all") == 0) {
		a->all = true;
		return -1;
	}
	if ((spec->accept & ARG_FORCE) && strcmp(arg, "--force") == 0) {
		a->force = true;
		return -1;
	}
	if ((spec->accept & ARG_RUN) && strncmp(arg, "--run", 5) == 0 &&
	    (arg[5] == '\0' || arg[5] == '=')) {
		val = arg[5] == '=' ? arg + 6 : (*i + 1 < dashdash ? argv[++*i] : NULL);
		if (parse_positive(val, &a->runs[a->nruns]) < 0)
			return usage_fail(
				spec->usage,
				"--run takes the number of a deferred command (1, 2, ...)");
		a->nruns++;
		return -1;
	}
	if (spec->accept & ARG_DIFF) {
		int r = diff_option(spec, a, arg);

		if (r == 0)
			return -1;
		if (r > 0)
			return r;
	}
	return session_option_error(spec, arg);
}

/* A PATH argument, made absolute into a->paths. -1 to go on, else the exit status. */
static int add_session_path(const struct session_args_spec *spec, struct session_args *a,
			    const char *arg)
{
	if (!arg[0])
		return usage_fail(spec->usage, "an empty PATH names nothing");
	a->paths[a->npaths] = path_absolute(arg);
	if (!a->paths[a->npaths]) {
		char *shown = term_sanitize(arg);

		error_errno("cannot resolve %s", shown);
		free(shown);
		return EXIT_REFUSED;
	}
	a->npaths++;
	return -1;
}

int parse_session_args(int argc, char **argv, const struct session_args_spec *spec,
		       struct session_args *a)
{
	int i, rc, dashdash = argc, npos = 0;

	memset(a, 0, sizeof(*a));
	a->view.colour = COLOUR_AUTO;
	a->paths = xcalloc((size_t)argc + 1, sizeof(*a->paths));
	a->runs = xcalloc((size_t)argc + 1, sizeof(*a->runs));
	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--") == 0) {
			dashdash = i;
			break;
		}
	}
	for (i = 1; i < argc; i++) {
		const char *arg = argv[i];

		if (i == dashdash)
			continue;
		if (i < dashdash && arg[0] == '-' && arg[1]) {
			if ((rc = session_option(argv, &i, dashdash, spec, a)) >= 0)
				return rc;
			continue;
		}
		/*
		 * The ID comes first. Before "--" only it may stand, whatever it looks like
		 * ("ID -- PATH" is never ambiguous); without "--", the first argument is the ID
		 * only when it is spelled as one ("last", digits and '-'), else it is a PATH.
		 */
		if (i < dashdash && npos++ == 0 &&
		    (dashdash < argc || store_is_id_arg(arg) || !(spec->accept & ARG_PATHS))) {
			a->id = arg;
			continue;
		}
		if ((i < dashdash && dashdash < argc) || !(spec->accept & ARG_PATHS))
			return unexpected_arg(spec->usage, arg);
		if ((rc = add_session_path(spec, a, arg)) >= 0)
			return rc;
	}
	return -1;
}
