/* SPDX-License-Identifier: MIT */
/* The subcommands of airlock(1); each returns the process exit status. */
#ifndef AIRLOCK_SUPERVISOR_CLI_H
#define AIRLOCK_SUPERVISOR_CLI_H

int cmd_run(int argc, char **argv);
int cmd_list(int argc, char **argv);
int cmd_show(int argc, char **argv);
int cmd_discard(int argc, char **argv);

/* Print the usage of a subcommand to stderr and return EXIT_USAGE (2). */
int usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
