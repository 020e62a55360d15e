/* SPDX-License-Identifier: MIT */
/*
 * The launcher of a live session (airlock start): a process of the sandbox, under its filter
 * and without capabilities, that starts each step the supervisor asks for (airlock exec) as
 * its own child and reports how it ended. Steps inherit the filter and its one listener, so
 * an exec pays no namespace, overlay or filter set-up.
 *
 * What it trusts: only the control socket, which nothing else in the sandbox holds (the
 * steps close it before they exec; pidfd_getfd and ptrace are refused by the filter, and the
 * launcher is not dumpable, so /proc/PID/mem and /proc/PID/fd of it are closed to its
 * neighbours). A step that kills the launcher ends the session's sandbox (pid 1 leaves when
 * its child does), which the supervisor then records: it is a denial of service on the
 * session itself, never a way out.
 */
#ifndef AIRLOCK_TRACEE_LAUNCHER_H
#define AIRLOCK_TRACEE_LAUNCHER_H

#include "tracee/sandbox.h"

#include <stdnoreturn.h>

/* Serve TRACEE_MSG_SPAWN and TRACEE_MSG_SIGNAL on control until the supervisor hangs up. */
noreturn void launcher_main(int control);

/* Shared with sandbox.c: each is documented where it is defined. */
char *sandbox_find_command(const char *name, char *const *envp, int *status);
void sandbox_close_fds(int keep);
void sandbox_send_msg(int fd, const struct tracee_msg *msg);

#endif
