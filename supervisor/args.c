/* SPDX-License-Identifier: MIT */
/* The "[ID] [--] [PATH...]" command line shared by diff, commit and undo; see cli.h. */
#include "supervisor/cli.h"

#include "common/buf.h"
#include "common/err.h"
#include "common/path.h"
#include "common/utf8.h"
#include "supervisor/store.h"

#include <errno.h>
#include <limits.h>
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

void session_args_free(struct session_args *a)
{
	size_t i;

	for (i = 0; i < a->npaths; i++)
		free(a->paths[i]);
	free(a->paths);
	free(a->runs);
	memset(a, 0, sizeof(*a));
}

int parse_session_args(int argc, char **argv, const struct session_args_spec *spec,
		       struct session_args *a)
{
	int i, dashdash = argc, npos = 0;

	memset(a, 0, sizeof(*a));
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
		const char *val = NULL;

		if (i == dashdash)
			continue;
		if (i < dashdash && arg[0] == '-' && arg[1]) {
			if (strcmp(arg, "--help") == 0 || strcmp(arg, "-h") == 0) {
				printf("usage: %s\n\n%s", spec->usage, spec->help);
				if (spec->accept & ARG_PATHS)
					fputs("Without --, the first argument is the ID when it is "
					      "'last', an ID or the prefix of one;\nwith --, the "
					      "argument before it is the ID and those after it are "
					      "PATHs.\n",
					      stdout);
				return 0;
			}
			if ((spec->accept & ARG_ALL) && strcmp(arg, "--all") == 0) {
				a->all = true;
				continue;
			}
			if ((spec->accept & ARG_FORCE) && strcmp(arg, "--force") == 0) {
				a->force = true;
				continue;
			}
			if ((spec->accept & ARG_RUN) && strncmp(arg, "--run", 5) == 0 &&
			    (arg[5] == '\0' || arg[5] == '=')) {
				val = arg[5] == '=' ? arg + 6
						    : (i + 1 < dashdash ? argv[++i] : NULL);
				if (parse_positive(val, &a->runs[a->nruns]) < 0)
					return usage_error("usage: %s\n--run takes the number of a "
							   "deferred command (1, 2, ...)",
							   spec->usage);
				a->nruns++;
				continue;
			}
			return usage_error("usage: %s", spec->usage);
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
			return usage_error("usage: %s", spec->usage);
		if (!arg[0])
			return usage_error("usage: %s\nan empty PATH names nothing", spec->usage);
		a->paths[a->npaths] = path_absolute(arg);
		if (!a->paths[a->npaths]) {
			char *shown = term_sanitize(arg);

			error_errno("cannot resolve %s", shown);
			free(shown);
			return EXIT_REFUSED;
		}
		a->npaths++;
	}
	return -1;
}
