/* SPDX-License-Identifier: MIT */
/*
 * The terminal: curses on stdin/stdout, or the test mode. See term.h.
 *
 * The test mode (as tig's): AIRLOCK_UI_SCRIPT=FILE draws to /dev/null at 80x24 (or
 * AIRLOCK_UI_SIZE=COLSxROWS) and reads keys from FILE: each character is a key, newlines are
 * ignored, and <Name> stands for a special key: <Enter> <Space> <Tab> <Esc> <Up> <Down>
 * <Left> <Right> <PgUp> <PgDn> <Home> <End> <BS> <Lt> (a '<'), <C-X> (Ctrl-X),
 * <Resize:COLSxROWS>, and
 * <Dump>, which appends the screen's text (trailing blanks cut) and a "--" line to
 * AIRLOCK_UI_DUMP. When the script ends, the UI sees UI_KEY_EOF: it quits without committing.
 */
#include "ui/term.h"

#include "common/buf.h"
#include "common/cleanup.h"
#include "common/err.h"
#include "common/path.h"
#include "common/utf8.h"
#include "ui/keys.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <locale.h>
#include <poll.h>
#include <signal.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <termios.h>
#include <unistd.h>
#include <wchar.h>

static struct {
	bool open, headless, colors;
	SCREEN *scr;
	FILE *out, *in;
	int saved_err;	  /* the real stderr while ours is captured */
	int err_fd;	  /* where stderr goes meanwhile */
	off_t err_seen;	  /* bytes of it already shown */
	char *script;	  /* test mode: the keys */
	size_t pos, len;  /* test mode: position in the script */
	const char *dump; /* test mode: AIRLOCK_UI_DUMP */
	int sigpipe[2];
	struct sigaction old[8];
} T = {.saved_err = -1, .err_fd = -1, .sigpipe = {-1, -1}};

static const int quit_signals[] = {SIGINT, SIGTERM, SIGHUP, SIGQUIT};
static const int crash_signals[] = {SIGSEGV, SIGBUS, SIGABRT, SIGFPE};

static void on_quit_signal(int sig)
{
	int saved = errno;
	char c = (char)sig;

	if (T.sigpipe[1] >= 0 && write(T.sigpipe[1], &c, 1) < 0) {
		/* full: a quit is pending already */
	}
	errno = saved;
}

/* Best effort only: endwin() is not async-signal-safe, but a crash with the terminal left in
   raw mode and the alternate screen is worse than the small risk. */
static void on_crash_signal(int sig)
{
	if (T.open && !T.headless)
		endwin();
	signal(sig, SIG_DFL);
	raise(sig);
}

static void die_hook(void)
{
	term_close();
}

bool term_headless(void)
{
	return T.headless;
}

static int parse_geometry(const char *s, int *cols, int *rows)
{
	char *end;
	long c = strtol(s, &end, 10), r;

	if (end == s || *end != 'x')
		return -EINVAL;
	s = end + 1;
	r = strtol(s, &end, 10);
	if (end == s || (*end && *end != '>') || c < 20 || r < 5 || c > 1000 || r > 1000)
		return -EINVAL;
	*cols = (int)c;
	*rows = (int)r;
	return 0;
}

static void capture_stderr(void)
{
	int fd = memfd_create("airlock-ui-stderr", MFD_CLOEXEC);

	fflush(stderr);
	if (fd < 0)
		return;
	T.saved_err = fcntl(STDERR_FILENO, F_DUPFD_CLOEXEC, 3);
	if (T.saved_err < 0 || dup2(fd, STDERR_FILENO) < 0) {
		close(fd);
		if (T.saved_err >= 0)
			close(T.saved_err);
		T.saved_err = -1;
		return;
	}
	T.err_fd = fd;
	T.err_seen = 0;
}

/* Put stderr back and print what was written to it meanwhile. */
static void release_stderr(void)
{
	char buf[4096];
	off_t off = 0;
	ssize_t n;

	if (T.saved_err < 0)
		return;
	fflush(stderr);
	dup2(T.saved_err, STDERR_FILENO);
	close(T.saved_err);
	T.saved_err = -1;
	while ((n = pread(T.err_fd, buf, sizeof(buf), off)) > 0) {
		if (write(STDERR_FILENO, buf, (size_t)n) < 0)
			break;
		off += n;
	}
	close(T.err_fd);
	T.err_fd = -1;
}

char *term_last_message(void)
{
	struct stat st;
	cleanup_free char *text = NULL;
	char *end, *start;
	size_t len;

	if (T.err_fd < 0)
		return NULL;
	fflush(stderr);
	if (fstat(T.err_fd, &st) < 0 || st.st_size <= T.err_seen)
		return NULL;
	len = (size_t)(st.st_size - T.err_seen);
	if (len > 4096) {
		T.err_seen = st.st_size - 4096;
		len = 4096;
	}
	text = xmalloc(len + 1);
	if (pread(T.err_fd, text, len, T.err_seen) != (ssize_t)len)
		return NULL;
	T.err_seen = st.st_size;
	text[len] = '\0';
	end = text + len;
	while (end > text && end[-1] == '\n')
		*--end = '\0';
	start = strrchr(text, '\n');
	return xstrdup(start ? start + 1 : text);
}

static void init_colors(void)
{
	T.colors = has_colors() && !(getenv("NO_COLOR") && getenv("NO_COLOR")[0]);
	if (!T.colors)
		return;
	start_color();
	use_default_colors();
	init_pair(PAIR_TITLE, COLOR_WHITE, COLOR_BLUE);
	init_pair(PAIR_ADD, COLOR_GREEN, -1);
	init_pair(PAIR_DEL, COLOR_RED, -1);
	init_pair(PAIR_HUNK, COLOR_CYAN, -1);
	init_pair(PAIR_APPROVED, COLOR_GREEN, -1);
	init_pair(PAIR_DENIED, COLOR_RED, -1);
	init_pair(PAIR_UNDECIDED, COLOR_YELLOW, -1);
	init_pair(PAIR_CONFLICT, COLOR_MAGENTA, -1);
	init_pair(PAIR_HEADER, COLOR_BLUE, -1);
}

attr_t term_color(enum term_pair p)
{
	if (p == PAIR_TITLE && !T.colors)
		return A_REVERSE;
	return T.colors ? COLOR_PAIR(p) : A_NORMAL;
}

static void handle_signals(void)
{
	struct sigaction sa;
	size_t i;

	memset(&sa, 0, sizeof(sa));
	sigemptyset(&sa.sa_mask);
	sa.sa_handler = on_quit_signal;
	for (i = 0; i < ARRAY_SIZE(quit_signals); i++)
		sigaction(quit_signals[i], &sa, &T.old[i]);
	sa.sa_handler = on_crash_signal;
	for (i = 0; i < ARRAY_SIZE(crash_signals); i++)
		sigaction(crash_signals[i], &sa, &T.old[ARRAY_SIZE(quit_signals) + i]);
}

static void restore_signals(void)
{
	size_t i;

	for (i = 0; i < ARRAY_SIZE(quit_signals); i++)
		sigaction(quit_signals[i], &T.old[i], NULL);
	for (i = 0; i < ARRAY_SIZE(crash_signals); i++)
		sigaction(crash_signals[i], &T.old[ARRAY_SIZE(quit_signals) + i], NULL);
}

int term_open(void)
{
	const char *script = getenv("AIRLOCK_UI_SCRIPT");
	const char *term = getenv("TERM");
	int cols = 80, rows = 24;
	sigset_t unblock;

	if (T.open)
		return 0;
	setlocale(LC_ALL, "");
	T.headless = script && script[0];
	if (T.headless) {
		const char *size = getenv("AIRLOCK_UI_SIZE");

		T.script = read_file(script, 1 << 20, &T.len);
		if (!T.script)
			return error_errno("cannot read %s", script);
		T.pos = 0;
		T.dump = getenv("AIRLOCK_UI_DUMP");
		if (size && parse_geometry(size, &cols, &rows) < 0)
			return error_code(-EINVAL, "AIRLOCK_UI_SIZE=%s: expected COLSxROWS", size);
		T.out = fopen("/dev/null", "we");
		T.in = fopen("/dev/null", "re");
		term = "xterm-256color";
	} else {
		if (!isatty(STDIN_FILENO) || !isatty(STDOUT_FILENO))
			return error_code(
				-ENOTTY,
				"the review needs a terminal on its standard input and output");
		T.out = fdopen(dup(STDOUT_FILENO), "w");
		T.in = fdopen(dup(STDIN_FILENO), "r");
	}
	if (!T.out || !T.in)
		return error_errno("cannot open the terminal");
	if (pipe2(T.sigpipe, O_CLOEXEC | O_NONBLOCK) < 0)
		return error_errno("cannot create a pipe");
	T.scr = newterm(term && term[0] ? term : "xterm", T.out, T.in);
	if (!T.scr) {
		error("cannot use the terminal type '%s'", term ? term : "");
		term_close();
		return -ENOTTY;
	}
	T.open = true;
	set_term(T.scr);
	err_set_die_hook(die_hook);
	handle_signals();
	/* `airlock run` blocks these for its signalfd: the review wants them delivered. */
	sigemptyset(&unblock);
	for (size_t i = 0; i < ARRAY_SIZE(quit_signals); i++)
		sigaddset(&unblock, quit_signals[i]);
	sigaddset(&unblock, SIGWINCH);
	sigprocmask(SIG_UNBLOCK, &unblock, NULL);
	if (T.headless)
		resizeterm(rows, cols);
	cbreak();
	noecho();
	nonl();
	keypad(stdscr, TRUE);
	nodelay(stdscr, TRUE);
	set_escdelay(50);
	curs_set(0);
	init_colors();
	capture_stderr();
	return 0;
}

void term_show_below(void)
{
	struct pollfd fds[2];
	struct termios shell, raw;
	char buf[64];

	if (!T.open || T.headless)
		return;
	def_prog_mode();
	endwin();
	/* Written where the program's output ends: it stays there, above the shell's prompt. */
	fputs("\r\n-- airlock: the terminal as the program left it; any key returns to the review --",
	      T.out);
	fflush(T.out);
	/* endwin() gave the terminal back its line mode: any single key, unechoed, ends this. */
	if (tcgetattr(fileno(T.in), &shell) == 0) {
		raw = shell;
		raw.c_lflag &= ~(tcflag_t)(ICANON | ECHO);
		raw.c_cc[VMIN] = 1;
		raw.c_cc[VTIME] = 0;
		tcsetattr(fileno(T.in), TCSANOW, &raw);
	}
	fds[0] = (struct pollfd){.fd = fileno(T.in), .events = POLLIN};
	fds[1] = (struct pollfd){.fd = T.sigpipe[0], .events = POLLIN};
	while (poll(fds, 2, -1) < 0 && errno == EINTR)
		;
	/* The key that came back is not a command (an escape sequence arrives whole). */
	if (fds[0].revents & POLLIN)
		(void)!read(fileno(T.in), buf, sizeof(buf));
	tcsetattr(fileno(T.in), TCSANOW, &shell);
	reset_prog_mode();
	clearok(curscr, TRUE);
	refresh();
}

void term_close(void)
{
	if (T.open) {
		T.open = false;
		endwin();
		delscreen(T.scr);
		T.scr = NULL;
		restore_signals();
		err_set_die_hook(NULL);
	}
	release_stderr();
	if (T.out)
		fclose(T.out);
	if (T.in)
		fclose(T.in);
	T.out = T.in = NULL;
	for (int i = 0; i < 2; i++) {
		if (T.sigpipe[i] >= 0)
			close(T.sigpipe[i]);
		T.sigpipe[i] = -1;
	}
	free(T.script);
	T.script = NULL;
}

static int map_curses_key(int c)
{
	switch (c) {
	case KEY_DOWN:
		return UI_KEY_DOWN;
	case KEY_UP:
		return UI_KEY_UP;
	case KEY_LEFT:
		return UI_KEY_LEFT;
	case KEY_RIGHT:
		return UI_KEY_RIGHT;
	case KEY_NPAGE:
		return UI_KEY_NPAGE;
	case KEY_PPAGE:
		return UI_KEY_PPAGE;
	case KEY_HOME:
		return UI_KEY_HOME;
	case KEY_END:
		return UI_KEY_END;
	case KEY_ENTER:
	case '\r':
	case '\n':
		return UI_KEY_ENTER;
	case KEY_RESIZE:
		return UI_KEY_RESIZE;
	case KEY_BACKSPACE:
	case 0x7f:
	case 0x08:
		return UI_KEY_BACKSPACE;
	case 0x1b:
		return UI_KEY_ESC;
	case '\t':
		return UI_KEY_TAB;
	default:
		return c >= KEY_MIN ? 0 : c;
	}
}

static const struct {
	const char *name;
	int key;
} script_names[] = {
	{"Enter", UI_KEY_ENTER}, {"Space", ' '},	   {"Tab", UI_KEY_TAB},
	{"Esc", UI_KEY_ESC},	 {"Up", UI_KEY_UP},	   {"Down", UI_KEY_DOWN},
	{"PgUp", UI_KEY_PPAGE},	 {"PgDn", UI_KEY_NPAGE},   {"Home", UI_KEY_HOME},
	{"End", UI_KEY_END},	 {"BS", UI_KEY_BACKSPACE}, {"Lt", '<'},
	{"Left", UI_KEY_LEFT},	 {"Right", UI_KEY_RIGHT},
};

/* The next key of the test script. */
static int script_key(void)
{
	while (T.pos < T.len) {
		const char *p = T.script + T.pos, *end;
		size_t n, i;
		wchar_t wc;
		mbstate_t st;

		if (*p == '\n') {
			T.pos++;
			continue;
		}
		if (*p != '<' || !(end = memchr(p, '>', T.len - T.pos))) {
			memset(&st, 0, sizeof(st));
			n = mbrtowc(&wc, p, T.len - T.pos, &st);
			if (n == 0 || n > T.len - T.pos) {
				T.pos++;
				return (unsigned char)*p;
			}
			T.pos += n;
			return (int)wc;
		}
		T.pos += (size_t)(end - p) + 1;
		p++;
		n = (size_t)(end - p);
		for (i = 0; i < ARRAY_SIZE(script_names); i++)
			if (strlen(script_names[i].name) == n &&
			    memcmp(script_names[i].name, p, n) == 0)
				return script_names[i].key;
		if (n == 3 && p[0] == 'C' && p[1] == '-')
			return UI_CTRL(p[2]);
		if (n == 4 && memcmp(p, "Dump", 4) == 0) {
			term_dump();
			continue;
		}
		if (n > 7 && memcmp(p, "Resize:", 7) == 0) {
			int cols, rows;

			if (parse_geometry(p + 7, &cols, &rows) == 0) {
				resizeterm(rows, cols);
				return UI_KEY_RESIZE;
			}
		}
		error("AIRLOCK_UI_SCRIPT: unknown key <%.*s>", (int)n, p);
	}
	return UI_KEY_EOF;
}

int term_key(int timeout_ms)
{
	struct pollfd fds[2];
	char c;

	/* Background work only checks what is off screen: the test mode goes on with the keys,
	   which keeps screens reproducible and the start-up measurable. */
	if (T.headless)
		return script_key();
	for (unsigned idle_wakeups = 0;;) {
		int k;
		wint_t wc;

		if (read(T.sigpipe[0], &c, 1) == 1)
			return UI_KEY_EOF;
		k = get_wch(&wc);
		if (k == KEY_CODE_YES) {
			k = map_curses_key((int)wc);
			if (k)
				return k;
			continue;
		}
		if (k == OK)
			return map_curses_key((int)wc);
		/* Nothing buffered: wait for the terminal or a signal. */
		fds[0] = (struct pollfd){.fd = fileno(T.in), .events = POLLIN};
		fds[1] = (struct pollfd){.fd = T.sigpipe[0], .events = POLLIN};
		k = poll(fds, 2, timeout_ms);
		if (k == 0)
			return TERM_IDLE;
		if (k < 0 && errno != EINTR)
			return UI_KEY_EOF;
		/*
		 * The terminal went away (a closed tmux pane, a dead ssh session): a hung-up tty
		 * polls readable and hung up at once, and get_wch() then finds nothing, for ever.
		 * Whatever it still held was read above, so the review ends here, not spins.
		 */
		if (k > 0 && (fds[0].revents & (POLLHUP | POLLERR | POLLNVAL)))
			return UI_KEY_EOF;
		/* Readable, yet nothing for curses again and again: a read that fails at once. */
		if (k > 0 && (fds[0].revents & POLLIN) && ++idle_wakeups > 1000)
			return UI_KEY_EOF;
		/* EINTR: SIGWINCH, which get_wch() now reports as KEY_RESIZE. */
	}
}

void term_dump(void)
{
	cleanup_file FILE *f = NULL;
	int y, rows, cols;

	if (!T.dump)
		return;
	f = fopen(T.dump, "ae");
	if (!f)
		return;
	getmaxyx(stdscr, rows, cols);
	for (y = 0; y < rows; y++) {
		wchar_t line[1024];
		char out[4096];
		size_t n;
		int len = mvinnwstr(y, 0, line, cols < 1023 ? cols : 1023);

		if (len < 0)
			len = 0;
		line[len] = L'\0';
		n = wcstombs(out, line, sizeof(out) - 1);
		if (n == (size_t)-1)
			n = 0;
		out[n] = '\0';
		while (n > 0 && out[n - 1] == ' ')
			out[--n] = '\0';
		fprintf(f, "%s\n", out);
	}
	fputs("--\n", f);
}

/* Bidirectional controls reorder what follows them on the screen ("Trojan Source"): a name
   must read as it is. */
static bool is_bidi_control(wchar_t wc)
{
	return wc == 0x061c || wc == 0x200e || wc == 0x200f || (wc >= 0x202a && wc <= 0x202e) ||
	       (wc >= 0x2066 && wc <= 0x2069);
}

/* Draw as term_put(), or with draw false only count the columns it would use. */
static int put(int y, int x, int width, const char *raw, attr_t attr, bool draw)
{
	cleanup_free char *safe = term_sanitize(raw ? raw : "");
	const char *p = safe;
	size_t left = strlen(safe);
	int used = 0;
	mbstate_t st;

	memset(&st, 0, sizeof(st));
	if (draw) {
		move(y, x);
		attron(attr);
	}
	while (left > 0 && used < width) {
		char esc[16];
		wchar_t wc;
		size_t n = mbrtowc(&wc, p, left, &st);
		int w;

		if (n == (size_t)-1 || n == (size_t)-2 || n == 0) {
			/* Not UTF-8 in this locale: show the byte. */
			wc = 0;
			memset(&st, 0, sizeof(st));
			snprintf(esc, sizeof(esc), "\\x%02x", (unsigned char)*p);
			n = 1;
			w = -1;
		} else {
			w = wcwidth(wc);
			if (w < 0 || is_bidi_control(wc))
				snprintf(esc, sizeof(esc), "\\u%04x", (unsigned)wc);
		}
		if (w < 0 || is_bidi_control(wc)) {
			int elen = (int)strlen(esc);

			if (used + elen > width)
				break;
			if (draw)
				addstr(esc);
			used += elen;
		} else {
			if (used + w > width)
				break;
			if (draw)
				addnwstr(&wc, 1);
			used += w;
		}
		p += n;
		left -= n;
	}
	if (draw)
		attroff(attr);
	return used;
}

int term_put(int y, int x, int width, const char *raw, attr_t attr)
{
	return put(y, x, width, raw, attr, true);
}

int term_width(const char *raw)
{
	return put(0, 0, INT_MAX, raw, A_NORMAL, false);
}

size_t term_skip(const char *raw, int cols, int *pad)
{
	size_t off = 0;
	int used = 0;

	*pad = 0;
	/* One character (or byte that is none) at a time, escaped as term_put() escapes it. */
	while (raw[off]) {
		size_t n = utf8_seq_len((const unsigned char *)raw + off);
		char unit[8];
		int w;

		n = n ? n : 1;
		memcpy(unit, raw + off, n);
		unit[n] = '\0';
		/* Printable ASCII but the backslash (doubled) is drawn as itself: no copy to
		   escape for most of a diff's characters, each redraw of each scrolled line. */
		if (n == 1 && unit[0] >= 0x20 && unit[0] < 0x7f && unit[0] != '\\')
			w = 1;
		else
			w = term_width(unit);
		if (used + w > cols) {
			if (used < cols) {
				*pad = used + w - cols;
				off += n;
			}
			break;
		}
		used += w;
		off += n;
	}
	return off;
}

void term_blank(int y, int width, attr_t attr)
{
	move(y, 0);
	attron(attr);
	hline(' ', width);
	attroff(attr);
}

void term_fill(int y, int x, attr_t attr)
{
	int rows, cols;

	getmaxyx(stdscr, rows, cols);
	(void)rows;
	if (x >= cols)
		return;
	attron(attr);
	mvhline(y, x, ' ', cols - x);
	attroff(attr);
}
