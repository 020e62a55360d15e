/* SPDX-License-Identifier: MIT */
/* airlock(1): the command line, dispatching to the subcommands. */
#include "supervisor/cli.h"

#include "common/err.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static const char usage[] =
	"usage: airlock run [options] [--] command [arg...]\n"
	"       airlock list [--json]\n"
	"       airlock show [ID] [--json]\n"
	"       airlock diff [ID] [--] [PATH...]\n"
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
	"the host. ID is a session id, a unique prefix of one, or 'last' (the default).\n"
	"\n"
	"Subcommands:\n"
	"  run       run a command in a new session (see 'airlock run --help')\n"
	"  list      list sessions, newest last\n"
	"  show      show a session's changes, commands and connections\n"
	"  diff      print a session's changes as a patch that `git apply` accepts\n"
	"  review    approve or deny a session's changes and commands on the terminal, commit\n"
	"  commit    apply a session's changes to the host (--all, or PATH...)\n"
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

int main(int argc, char **argv)
{
	const char *cmd;

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
	if (strcmp(cmd, "run") == 0)
		return cmd_run(argc - 1, argv + 1);
	if (strcmp(cmd, "list") == 0)
		return cmd_list(argc - 1, argv + 1);
	if (strcmp(cmd, "show") == 0)
		return cmd_show(argc - 1, argv + 1);
	if (strcmp(cmd, "diff") == 0)
		return cmd_diff(argc - 1, argv + 1);
	if (strcmp(cmd, "commit") == 0)
		return cmd_commit(argc - 1, argv + 1);
	if (strcmp(cmd, "undo") == 0)
		return cmd_undo(argc - 1, argv + 1);
	if (strcmp(cmd, "discard") == 0)
		return cmd_discard(argc - 1, argv + 1);
	if (strcmp(cmd, "review") == 0)
		return cmd_review(argc - 1, argv + 1);
	if (strcmp(cmd, "replay") == 0)
		return cmd_replay(argc - 1, argv + 1);
	if (strcmp(cmd, "log") == 0)
		return cmd_log(argc - 1, argv + 1);
	if (strcmp(cmd, "verify") == 0)
		return cmd_verify(argc - 1, argv + 1);
	if (strcmp(cmd, "rules") == 0)
		return cmd_rules(argc - 1, argv + 1);
	if (strcmp(cmd, "doctor") == 0)
		return cmd_doctor(argc - 1, argv + 1);
	fprintf(stderr, "airlock: '%s' is not an airlock command\n\n%s", cmd, usage);
	return EXIT_USAGE;
}
