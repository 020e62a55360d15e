/* SPDX-License-Identifier: MIT */
/* The subcommands of airlock(1); each returns the process exit status. */
#ifndef AIRLOCK_SUPERVISOR_CLI_H
#define AIRLOCK_SUPERVISOR_CLI_H

#include <stdbool.h>
#include <stddef.h>

int cmd_run(int argc, char **argv);
int cmd_start(int argc, char **argv);
int cmd_exec(int argc, char **argv);
int cmd_stop(int argc, char **argv);
int cmd_attend(int argc, char **argv);
int cmd_list(int argc, char **argv);
int cmd_show(int argc, char **argv);
int cmd_discard(int argc, char **argv);
int cmd_log(int argc, char **argv);
int cmd_verify(int argc, char **argv);
int cmd_diff(int argc, char **argv);
int cmd_commit(int argc, char **argv);
int cmd_undo(int argc, char **argv);
int cmd_review(int argc, char **argv);
int cmd_replay(int argc, char **argv);
int cmd_rules(int argc, char **argv);
int cmd_doctor(int argc, char **argv);
int cmd_mcp(int argc, char **argv);

/*
 * Parse "[ID]" and, when json is not NULL, "[--json]" (and --help). usage is the synopsis,
 * optionally followed by lines that describe the command: --help prints it all, a usage error
 * the synopsis only. Returns -1 to go on, or the exit status to stop with (0 after --help, 2
 * after a usage error).
 */
int parse_id_args(int argc, char **argv, const char *usage, const char **id, bool *json);

/* --color=WHEN of diff, log and show. */
enum colour_when {
	COLOUR_AUTO,
	COLOUR_ALWAYS,
	COLOUR_NEVER
};

/* "auto", "always" or "never" (NULL, a bare --color: always) into *out; 0 or -EINVAL. */
int parse_colour_when(const char *s, enum colour_when *out);

/*
 * Whether to colour stdout: always, never, or for auto on a terminal unless NO_COLOR is set
 * (no-color.org) or TERM is dumb. Ask before pager_start(), which makes stdout a pipe.
 */
bool colour_wanted(enum colour_when w);

/*
 * Send stdout (and stderr when it is a terminal) through a pager, as git does: only when
 * stdout is a terminal and no_pager is false; $AIRLOCK_PAGER, else $PAGER, else "less -FRX",
 * run with sh -c, LESS=FRX when unset; an empty pager or "cat" is none. airlock waits for the
 * pager at exit. Failing to start one leaves the output unpaged.
 */
void pager_start(bool no_pager);

/* The width to lay output out in: $COLUMNS, else the terminal's (before the pager), else 80. */
int term_columns(void);

/* How diff, log and show look on a terminal: --color=WHEN and --no-pager. */
struct view_args {
	enum colour_when colour;
	bool no_pager;
};

/* What parse_session_args() accepts beside "[ID]". */
enum {
	ARG_PATHS = 1 << 0, /* PATH... after the ID (diff, commit) */
	ARG_ALL = 1 << 1,   /* --all */
	ARG_FORCE = 1 << 2, /* --force */
	ARG_RUN = 1 << 3,   /* --run N, --run=N (repeatable; N >= 1) */
	ARG_DIFF = 1 << 4,  /* --stat, --name-status, --relative[=DIR], --color[=WHEN],
			       --no-color, --no-pager */
};

struct session_args_spec {
	const char *usage; /* "airlock commit [ID] ..." */
	const char *help;  /* printed after the usage line by --help; ends with a newline */
	unsigned accept;   /* ARG_* */
};

struct session_args {
	const char *id; /* borrowed from argv, or NULL for the newest session */
	char **paths;	/* absolute, normalised */
	size_t npaths;
	bool all, force;
	long *runs; /* --run numbers in the order given */
	size_t nruns;
	bool stat, name_status; /* --stat, --name-status */
	bool relative;		/* --relative given */
	char *relative_dir;	/* its DIR made absolute, or NULL for the session's cwd */
	struct view_args view;
};

/*
 * Parse "[ID] [options] [--] [PATH...]" the same way for every subcommand that takes a session
 * and paths. Options are recognised before "--" only, anywhere among the other arguments. With
 * a "--", the single argument before it is the ID, however it is spelled, and everything after
 * it is a PATH; without one, the first argument is the ID when it is spelled as one ("last",
 * digits and '-', see store_is_id_arg()), else it is the first PATH. Relative PATHs are made
 * absolute against the working directory. Returns -1 to go on, or the exit status to stop with: 0
 * after --help, 2 after a usage error (printed), 1 when a PATH cannot be resolved (printed).
 * Either way the caller frees *a with session_args_free().
 */
int parse_session_args(int argc, char **argv, const struct session_args_spec *spec,
		       struct session_args *a);
void session_args_free(struct session_args *a);

struct option;

/* Edit distance between a and b, capped at 9: how near a typo is to a name. */
unsigned edit_distance(const char *a, const char *b);

/* When name is nearer word than *best_d edits, make it *best (start with *best_d = 3). */
void nearer_name(const char *word, const char *name, const char **best, unsigned *best_d);

/*
 * Say that arg (an argument of subcommand cmd that looks like an option) is not one of opts,
 * suggesting the closest long option when it is a near miss ("did you mean '--timeout'?"),
 * then the first line of usage. Returns EXIT_USAGE (2).
 */
int option_error(const char *cmd, const char *arg, const struct option *opts, const char *usage);
/*
 * Say why a command line of the subcommand that usage describes ("airlock diff [ID] ...") is
 * wrong, as "airlock: diff: why", then the first line of usage. Returns EXIT_USAGE (2).
 */
int usage_fail(const char *usage, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* The same for an argument it does not take: "unexpected argument 'x'", escaped. */
int unexpected_arg(const char *usage, const char *arg);
/* run's and start's options (getopt_long's table, ending with a NULL name). */
const struct option *run_option_table(void);

/*
 * parse_id_args() with --color[=WHEN], --no-color and --no-pager besides (view may be NULL:
 * then it is parse_id_args()).
 */
int parse_view_args(int argc, char **argv, const char *usage, const char **id, bool *json,
		    struct view_args *view);

/* Print the usage of a subcommand to stderr and return EXIT_USAGE (2). */
int usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
