/* SPDX-License-Identifier: MIT */
/* airlock(1): the command line, dispatching to the subcommands. */
#include "supervisor/cli/cli.h"

#include "common/cleanup.h"
#include "common/err.h"
#include "common/utf8.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char usage[] =
	"usage: airlock run [options] [--] command [arg...]\n"
	"       airlock start [run options] [--name NAME] [--idle DUR]\n"
	"       airlock exec ID [-C DIR] [--json] [--] command [arg...]\n"
	"       airlock stop ID [-t SECONDS]\n"
	"       airlock attend [ID] [--json]\n"
	"       airlock mcp [--session ID] [run options]\n"
	"       airlock list [--json]\n"
	"       airlock show [ID] [--json]\n"
	"       airlock diff [ID] [--stat|--name-status] [--relative[=DIR]] [--] [PATH...]\n"
	"       airlock review [ID]\n"
	"       airlock commit [ID] [--all | [--] PATH...] [--force] [--run N]\n"
	"       airlock undo [ID] [--force]\n"
	"       airlock discard [ID]\n"
	"       airlock log [ID] [--json]\n"
	"       airlock replay [ID]\n"
	"       airlock verify [ID]\n"
	"       airlock rules check FILE... | rules show [-r FILE]...\n"
	"       airlock doctor\n"
	"       airlock --help | --version\n"
	"\n"
	"Run a command in a sandbox where every file change lands in a copy-on-write overlay,\n"
	"every program it runs and every connection it tries is recorded, and nothing reaches\n"
	"the host. ID is a session id, a unique prefix or suffix of one (its last four hex\n"
	"digits), 'last' (the default), 'last~N' / '@N' for the Nth session before it, or\n"
	"the name a live session was started with.\n"
	"\n"
	"Subcommands:\n"
	"  run       run a command in a new session (see 'airlock run --help')\n"
	"  start     start a live session: a sandbox that stays up for many commands\n"
	"  exec      run a command in a live session; it sees the earlier steps' changes\n"
	"  stop      end a live session and seal its record\n"
	"  attend    answer a live session's asks (--ask attend) from this terminal\n"
	"  mcp       an MCP server on stdio: an agent runs commands in a live session\n"
	"  list      list sessions, newest last\n"
	"  show      show a session's changes, commands and connections\n"
	"  diff      print a session's changes as a patch that `git apply` accepts\n"
	"  review    approve or deny a session's changes and commands on the terminal, commit\n"
	"  commit    apply a session's approved changes to the host (--all, or PATH...)\n"
	"  undo      put the host back as it was before a session's commit\n"
	"  discard   throw a session's changes away, keeping its record\n"
	"  log       print a session's timeline of events (--json: one object per line)\n"
	"  replay    step through a session's events on the terminal, with diffs\n"
	"  verify    check that a session's record and held changes are intact (exit 1\n"
	"            naming what broke)\n"
	"  rules     check rules files, or show the rules in force (airlock-rules(5))\n"
	"  doctor    check what airlock needs from the kernel and the system, for a bug report\n"
	"\n"
	"Sessions live in $AIRLOCK_STATE_DIR, else $XDG_STATE_HOME/airlock, else\n"
	"~/.local/state/airlock. See airlock(1).\n";

int usage_error(const char *fmt, ...)
{
	va_list ap;

	fputs("airlock: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return EXIT_USAGE;
}

/* The subcommands, in the order of the usage. */
static const struct {
	const char *name;
	int (*fn)(int argc, char **argv);
} commands[] = {
	{"run", cmd_run},	{"start", cmd_start},	{"exec", cmd_exec},
	{"stop", cmd_stop},	{"attend", cmd_attend}, {"mcp", cmd_mcp},
	{"list", cmd_list},	{"show", cmd_show},	{"diff", cmd_diff},
	{"commit", cmd_commit}, {"undo", cmd_undo},	{"discard", cmd_discard},
	{"review", cmd_review}, {"replay", cmd_replay}, {"log", cmd_log},
	{"verify", cmd_verify}, {"rules", cmd_rules},	{"doctor", cmd_doctor},
};

int main(int argc, char **argv)
{
	const char *cmd, *best = NULL;
	unsigned best_d = 3;
	char *shown;
	size_t i;

	if (argc < 2) {
		fputs(usage, stderr);
		return EXIT_USAGE;
	}
	cmd = argv[1];
	if (strcmp(cmd, "--help") == 0 || strcmp(cmd, "-h") == 0 || strcmp(cmd, "help") == 0) {
		fputs(usage, stdout);
		return 0;
	}
	if (strcmp(cmd, "--version") == 0) {
		printf("airlock %s\n", AIRLOCK_VERSION);
		return 0;
	}
	for (i = 0; i < ARRAY_SIZE(commands); i++)
		if (strcmp(cmd, commands[i].name) == 0)
			return commands[i].fn(argc - 1, argv + 1);
	for (i = 0; i < ARRAY_SIZE(commands); i++)
		nearer_name(cmd, commands[i].name, &best, &best_d);
	shown = term_sanitize(cmd);
	if (best)
		fprintf(stderr, "airlock: '%s' is not an airlock command; did you mean '%s'?\n",
			shown, best);
	else
		fprintf(stderr, "airlock: '%s' is not an airlock command (see 'airlock --help')\n",
			shown);
	free(shown);
	return EXIT_USAGE;
}
