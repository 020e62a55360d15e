/* SPDX-License-Identifier: MIT */
/*
 * The terminal relay: when asks go to the person on the terminal, the sandbox gets a pty of
 * its own instead of the person's terminal. The supervisor copies between the two, so
 * isatty(), colours, progress bars and window size keep working, and while a question is on
 * screen (ui/prompt.h) it holds the program's output back and keeps the keys for the prompt:
 * the program can neither garble the question nor read its answer. The person's terminal is
 * in raw mode meanwhile (restored on every exit path: relay_restore() is also the die hook);
 * Ctrl-C reaches the program through the pty's line discipline, Ctrl-Z is disabled there
 * (nothing in the sandbox could continue a stopped foreground job).
 */
#ifndef AIRLOCK_SUPERVISOR_PTYRELAY_H
#define AIRLOCK_SUPERVISOR_PTYRELAY_H

#include "common/buf.h"

#include <stdbool.h>
#include <termios.h>

struct relay {
	int master; /* our end of the pty, -1 when not relaying */
	int slave;  /* the sandbox's end until it is handed over, then -1 */
	int in;	    /* the person's terminal to read keys from (stdin), or -1 */
	int out;    /* where the program's terminal output goes (stdout or stderr) */
	bool raw;   /* in was put in raw mode (saved holds the mode to restore) */
	struct termios saved;
	struct buf held; /* output held back while a question is on screen */
	bool master_eof;
};

/*
 * Whether to relay: some of stdin, stdout, stderr is a terminal. On success the relay is
 * set up (pty open, sized and moded as the terminal) and *use_slave[k] says which of the
 * descriptors 0-2 the sandbox gets relay->slave for. Returns 1 relaying, 0 not (no terminal),
 * -1 after printing why it could not.
 */
int relay_open(struct relay *r, bool use_slave[3]);

/* Put the person's terminal in raw mode (after the sandbox started). */
void relay_start(struct relay *r);

/* The descriptors to poll: master (POLLIN, unless too much is held), in (POLLIN, unless
   held). -1 for none. */
int relay_poll_master(const struct relay *r);
int relay_poll_in(const struct relay *r, bool prompt_active);

/* Copy what the program wrote (held while prompt_active) and what the person typed. */
void relay_from_master(struct relay *r, bool prompt_active);
void relay_from_in(struct relay *r);

/* A question left the screen: write what was held back. */
void relay_flush(struct relay *r);

/* The person's terminal changed size: tell the pty (the kernel signals the program). */
void relay_winch(struct relay *r);

/* At the end: copy what is left, restore the terminal, close. */
void relay_close(struct relay *r);

/* Restore the person's terminal mode now (for the die hook). */
void relay_restore(void);

#endif
