/* SPDX-License-Identifier: MIT */
/* The subcommands of airlock(1); each returns the process exit status. */
#ifndef AIRLOCK_SUPERVISOR_CLI_H
#define AIRLOCK_SUPERVISOR_CLI_H

#include <stdbool.h>

int cmd_run(int argc, char **argv);
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

/*
 * Parse "[ID]" and, when json is not NULL, "[--json]" (and --help). usage is the synopsis,
 * optionally followed by lines that describe the command: --help prints it all, a usage error
 * the synopsis only. Returns -1 to go on, or the exit status to stop with (0 after --help, 2
 * after a usage error).
 */
int parse_id_args(int argc, char **argv, const char *usage, const char **id, bool *json);

/* Print the usage of a subcommand to stderr and return EXIT_USAGE (2). */
int usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
