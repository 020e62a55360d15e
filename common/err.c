/* SPDX-License-Identifier: MIT */
/* Error reporting helpers; see err.h. */
#include "common/err.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void (*die_hook)(void);
static int die_status = EXIT_AIRLOCK_FAILED;

void err_set_die_hook(void (*hook)(void))
{
	die_hook = hook;
}

void err_set_die_status(int status)
{
	die_status = status;
}

static void vreport(const char *prefix, const char *fmt, va_list ap, int errnum)
{
	char msg[4096];
	int n;

	n = snprintf(msg, sizeof(msg), "airlock: %s", prefix);
	if (n < 0 || (size_t)n >= sizeof(msg))
		n = 0;
	vsnprintf(msg + n, sizeof(msg) - (size_t)n, fmt, ap);
	if (errnum)
		fprintf(stderr, "%s: %s\n", msg, strerror(errnum));
	else
		fprintf(stderr, "%s\n", msg);
}

int error(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vreport("", fmt, ap, 0);
	va_end(ap);
	return -1;
}

int error_errno(const char *fmt, ...)
{
	int saved = errno ? errno : EIO;
	va_list ap;

	va_start(ap, fmt);
	vreport("", fmt, ap, saved);
	va_end(ap);
	errno = saved;
	return -saved;
}

int error_code(int rc, const char *fmt, ...)
{
	int err = rc < 0 ? -rc : EINVAL;
	va_list ap;

	va_start(ap, fmt);
	vreport("", fmt, ap, 0);
	va_end(ap);
	errno = err;
	return -err;
}

int error_rc(int rc, const char *fmt, ...)
{
	int err = rc < 0 ? -rc : EIO;
	va_list ap;

	va_start(ap, fmt);
	vreport("", fmt, ap, err);
	va_end(ap);
	errno = err;
	return -err;
}

void warn(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vreport("warning: ", fmt, ap, 0);
	va_end(ap);
}

noreturn void die(const char *fmt, ...)
{
	va_list ap;

	if (die_hook)
		die_hook();
	va_start(ap, fmt);
	vreport("", fmt, ap, 0);
	va_end(ap);
	exit(die_status);
}

noreturn void die_errno(const char *fmt, ...)
{
	int saved = errno;
	va_list ap;

	if (die_hook)
		die_hook();
	va_start(ap, fmt);
	vreport("", fmt, ap, saved);
	va_end(ap);
	exit(die_status);
}
