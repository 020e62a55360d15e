/* SPDX-License-Identifier: MIT */
/* Relaying the sandbox's pty to the person's terminal; see ptyrelay.h. */
#include "supervisor/supervise/ptyrelay.h"

#include "common/err.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

/* Output held while a question is up; past it the program waits (its writes block). */
#define HOLD_MAX (4u << 20)

/* The one terminal whose mode we changed, for relay_restore() from any exit path. */
static int restore_fd = -1;
static struct termios restore_mode;

void relay_restore(void)
{
	if (restore_fd >= 0)
		tcsetattr(restore_fd, TCSAFLUSH, &restore_mode);
}

static void write_all(int fd, const char *p, size_t n)
{
	while (n > 0) {
		ssize_t w = write(fd, p, n);

		if (w < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (w <= 0)
			return; /* the terminal went away: the output is lost, as it would be */
		p += w;
		n -= (size_t)w;
	}
}

int relay_open(struct relay *r, bool use_slave[3])
{
	struct termios t;
	struct winsize ws;
	int k, model = -1;
	char *name;

	memset(r, 0, sizeof(*r));
	r->master = r->slave = r->in = r->out = -1;
	for (k = 0; k < 3; k++) {
		use_slave[k] = isatty(k);
		if (use_slave[k] && model < 0)
			model = k;
	}
	if (model < 0)
		return 0;
	r->master = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (r->master < 0 || grantpt(r->master) < 0 || unlockpt(r->master) < 0 ||
	    !(name = ptsname(r->master))) {
		error_errno("cannot create a terminal for the sandbox");
		return -1;
	}
	r->slave = open(name, O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (r->slave < 0) {
		error_errno("cannot open the sandbox's terminal %s", name);
		return -1;
	}
	if (tcgetattr(model, &t) == 0) {
		/* Ctrl-Z would stop the program with nobody inside to continue it. */
		t.c_cc[VSUSP] = _POSIX_VDISABLE;
		tcsetattr(r->slave, TCSANOW, &t);
	}
	if (ioctl(model, TIOCGWINSZ, &ws) == 0)
		ioctl(r->slave, TIOCSWINSZ, &ws);
	r->in = use_slave[0] ? STDIN_FILENO : -1;
	r->out = use_slave[1] ? STDOUT_FILENO : STDERR_FILENO;
	fcntl(r->master, F_SETFL, O_NONBLOCK);
	buf_init(&r->held);
	return 1;
}

void relay_start(struct relay *r)
{
	struct termios t;

	if (r->slave >= 0) {
		close(r->slave);
		r->slave = -1;
	}
	if (r->in < 0 || tcgetattr(r->in, &r->saved) < 0)
		return;
	t = r->saved;
	cfmakeraw(&t);
	if (tcsetattr(r->in, TCSANOW, &t) == 0) {
		r->raw = true;
		restore_fd = r->in;
		restore_mode = r->saved;
		err_set_die_hook(relay_restore);
	}
}

int relay_poll_master(const struct relay *r)
{
	return r->master >= 0 && !r->master_eof && r->held.len < HOLD_MAX ? r->master : -1;
}

int relay_poll_in(const struct relay *r, bool prompt_active)
{
	/* While a question is up, the keys are the prompt's. */
	return r->master >= 0 && !prompt_active ? r->in : -1;
}

void relay_from_master(struct relay *r, bool prompt_active)
{
	char chunk[65536];
	ssize_t n = read(r->master, chunk, sizeof(chunk));

	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n <= 0) {
		/* EIO: every descriptor of the slave is closed (the sandbox is gone). */
		r->master_eof = true;
		return;
	}
	if (prompt_active)
		buf_add(&r->held, chunk, (size_t)n);
	else
		write_all(r->out, chunk, (size_t)n);
}

void relay_from_in(struct relay *r)
{
	char chunk[4096];
	ssize_t n = read(r->in, chunk, sizeof(chunk));

	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n <= 0) {
		r->in = -1; /* the person's input ended; the program keeps its terminal */
		return;
	}
	write_all(r->master, chunk, (size_t)n);
}

void relay_flush(struct relay *r)
{
	if (r->held.len == 0)
		return;
	write_all(r->out, r->held.data, r->held.len);
	buf_reset(&r->held);
}

void relay_winch(struct relay *r)
{
	struct winsize ws;
	int model = r->in >= 0 ? r->in : r->out;

	if (r->master >= 0 && ioctl(model, TIOCGWINSZ, &ws) == 0)
		ioctl(r->master, TIOCSWINSZ, &ws);
}

void relay_close(struct relay *r)
{
	int rounds;

	if (r->master < 0)
		return;
	relay_flush(r);
	/* What the program wrote last is still in the pty: copy it out (bounded). */
	for (rounds = 0; rounds < 64 && !r->master_eof; rounds++) {
		char chunk[65536];
		ssize_t n = read(r->master, chunk, sizeof(chunk));

		if (n <= 0)
			break;
		write_all(r->out, chunk, (size_t)n);
	}
	if (r->raw) {
		tcsetattr(r->in, TCSAFLUSH, &r->saved);
		r->raw = false;
		restore_fd = -1;
		err_set_die_hook(NULL);
	}
	if (r->slave >= 0)
		close(r->slave);
	close(r->master);
	r->master = -1;
	buf_release(&r->held);
}
