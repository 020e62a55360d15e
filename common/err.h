/* SPDX-License-Identifier: MIT */
/* Error reporting: every message is "airlock: what failed: why" on stderr. */
#ifndef AIRLOCK_COMMON_ERR_H
#define AIRLOCK_COMMON_ERR_H

#include <stdarg.h>
#include <stdnoreturn.h>

/* Exit statuses of `airlock run` when airlock itself (not the command) fails. */
enum {
	EXIT_AIRLOCK_FAILED = 125, /* airlock could not do its job */
	EXIT_CANNOT_EXEC = 126,	   /* the command exists but cannot be executed */
	EXIT_NOT_FOUND = 127,	   /* the command was not found */
	EXIT_USAGE = 2,		   /* bad usage of a subcommand other than run */
	EXIT_REFUSED = 1,	   /* refusal: conflict, failed verify, ... */
};

/*
 * A hook run by die() before exiting, so a UI can restore the terminal.
 * At most one; NULL clears it.
 */
void err_set_die_hook(void (*hook)(void));

/* The exit status die() uses; 125 by default (airlock failed). */
void err_set_die_status(int status);

/*
 * The convention: a function returns 0 or a negative errno, and reports once, where the
 * failure is understood, with error_rc() (a callee's -errno) or error_errno() (errno after a
 * system call), which return the code for the caller to pass on. error() returns -1: it is
 * for the paths that end in an exit status (a command's usage, a refusal), where no errno
 * means anything.
 */

/* Print "airlock: <msg>" to stderr. Always returns -1, as git's error() does. */
int error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/*
 * Print "airlock: <msg>" (the message says why; no strerror) and return rc, a negative errno
 * (EINVAL for a rc that is not negative): error() for a function whose contract is 0 or
 * -errno. return error_code(-ENAMETOOLONG, "the socket path %s is too long", path);
 */
int error_code(int rc, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Print "airlock: <msg>: strerror(errno)" and return -errno (negative, never 0). */
int error_errno(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/*
 * Print "airlock: <msg>: strerror(-rc)" and return rc, a negative errno (EIO for a rc that is
 * not negative); errno is set to -rc too. return error_rc(rc, "cannot write %s", path);
 */
int error_rc(int rc, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Print "airlock: warning: <msg>". */
void warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Print and exit with the die status. Only during setup (main, the child before execve). */
noreturn void die(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* As die(), appending ": strerror(errno)". */
noreturn void die_errno(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
