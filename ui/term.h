/* SPDX-License-Identifier: MIT */
/*
 * The terminal under the review and the replay: curses set up and always restored (on return,
 * on die(), on SIGINT/SIGTERM/SIGHUP/SIGQUIT, best effort on a crash), keys mapped onto
 * ui/keys.h codes, text drawn escaped, and the headless test mode. Internal to ui/.
 */
#ifndef AIRLOCK_UI_TERM_H
#define AIRLOCK_UI_TERM_H

#define NCURSES_WIDECHAR 1
#include <curses.h>
#include <stdbool.h>

enum term_pair {
	PAIR_NONE,
	PAIR_TITLE,
	PAIR_ADD,
	PAIR_DEL,
	PAIR_HUNK,
	PAIR_APPROVED,
	PAIR_DENIED,
	PAIR_UNDECIDED,
	PAIR_CONFLICT,
	PAIR_HEADER,
};

/* No key within the timeout term_key() was given: time for background work. */
#define TERM_IDLE (-1)

/*
 * Take over the terminal (stdin/stdout), or /dev/null in the test mode. Messages airlock
 * prints on stderr meanwhile are kept and printed after term_close(); the last one is shown
 * by term_last_message(). 0, or -errno after printing why (no terminal).
 */
int term_open(void);

/* Give the terminal back as it was. Safe to call twice. */
void term_close(void);

/*
 * Leave curses until a key is pressed, so that the terminal shows what was on it before the
 * review opened (the program's last output: curses draws on the alternate screen). Nothing in
 * the test mode. The caller redraws.
 */
void term_show_below(void);

/* Whether term_open() chose the test mode (AIRLOCK_UI_SCRIPT). */
bool term_headless(void);

/*
 * The next key (a character, or a UI_KEY_* code). With timeout_ms >= 0, TERM_IDLE when
 * none came in time (never in the test mode, where background work waits for the commit's
 * summary, which finishes it). UI_KEY_EOF when the script ends, the terminal is gone or a
 * signal asks to quit.
 */
int term_key(int timeout_ms);

/* Append the screen's text to AIRLOCK_UI_DUMP (test mode). */
void term_dump(void);

/*
 * Draw raw (untrusted) text at row y from column x in at most width columns with attr,
 * escaping what the terminal must not receive. Returns the columns used.
 */
int term_put(int y, int x, int width, const char *raw, attr_t attr);

/* The columns term_put() would use for raw with no limit. */
int term_width(const char *raw);

/*
 * Where raw's drawing from column cols on starts (horizontal scroll): the bytes of raw whose
 * whole drawing by term_put() lies in its first cols columns. An escape (\e, \x07, \u202e) or
 * a wide character that straddles column cols is skipped whole, never cut: *pad gets the
 * columns of it past cols, to leave blank. Combining marks go with what they follow.
 */
size_t term_skip(const char *raw, int cols, int *pad);

/* Blank the first width columns of row y in attr (a selected line's bar). */
void term_blank(int y, int width, attr_t attr);

/* Fill the rest of row y from column x with spaces in attr. */
void term_fill(int y, int x, attr_t attr);

/* The attribute of a colour pair (A_NORMAL when colours are off or NO_COLOR is set). */
attr_t term_color(enum term_pair p);

/* The newest line airlock printed on stderr since the last call, or NULL. Caller frees. */
char *term_last_message(void);

#endif
