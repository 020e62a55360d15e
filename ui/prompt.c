/* SPDX-License-Identifier: MIT */
/* The live prompt on /dev/tty: one question at a time, one key per answer, a line to edit a
   rule in. */
#include "ui/prompt.h"

#include "common/buf.h"
#include "common/cleanup.h"
#include "common/err.h"
#include "common/path.h"
#include "common/utf8.h"
#include "ui/keys.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

struct prompt_item {
	unsigned id;
	char *text;		     /* the question, already escaped for the terminal */
	char *suggest;		     /* rule body for "save as a rule", or NULL */
	char *suggest_program;	     /* the same for the program with any arguments, or NULL */
	char *edited;		     /* the rule as the person edited it ('e'), or NULL */
	bool program;		     /* A and D are offered: a question about a command */
	unsigned long long deadline; /* CLOCK_MONOTONIC ms; 0: none */
	struct prompt_item *next;
};

struct prompt {
	int fd;
	bool gone;
	bool shown;	   /* the head of the queue is on screen */
	bool saving;	   /* after 'r': waiting for allow/deny of the rule to save */
	bool save_program; /* ... the rule of the program with any arguments ('p') */
	bool editing;	   /* after 'e': the rule is being edited in edit */
	struct buf edit;
	bool have_saved;     /* saved termios to restore */
	bool can_interrupt;  /* the caller interrupts the program on reply.interrupt */
	long long last_intr; /* ms of the Ctrl-C that denied the last question; 0: none */
	long long secs;	     /* the countdown shown, -1: none */
	const char *line;    /* the input line, drawn after the countdown */
	struct termios saved;
	struct prompt_item *head, *tail;
	char *rules_file;
};

struct prompt *prompt_open(void)
{
	struct prompt *p;
	int fd = open("/dev/tty", O_RDWR | O_NOCTTY | O_CLOEXEC | O_NONBLOCK);

	if (fd < 0) {
		error_errno("--ask tty: cannot open the terminal /dev/tty");
		return NULL;
	}
	p = xcalloc(1, sizeof(*p));
	p->fd = fd;
	buf_init(&p->edit);
	return p;
}

static long long now_ms(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (long long)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

static void tty_write(struct prompt *p, const char *s)
{
	size_t len = strlen(s);

	while (len > 0 && !p->gone) {
		ssize_t w = write(p->fd, s, len);

		if (w < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (w <= 0) {
			p->gone = true;
			return;
		}
		s += w;
		len -= (size_t)w;
	}
}

/* Keys without Enter and without echo while a question is up; the old mode comes back after. */
static void keys_mode(struct prompt *p, bool on)
{
	struct termios t;

	if (on) {
		if (tcgetattr(p->fd, &p->saved) < 0)
			return;
		p->have_saved = true;
		t = p->saved;
		/* No ISIG: Ctrl-C is an answer (deny) while a question is up. */
		t.c_lflag &= ~(tcflag_t)(ICANON | ECHO | ISIG);
		t.c_cc[VMIN] = 1;
		t.c_cc[VTIME] = 0;
		tcsetattr(p->fd, TCSANOW, &t);
	} else if (p->have_saved) {
		tcsetattr(p->fd, TCSANOW, &p->saved);
		p->have_saved = false;
	}
}

/* Seconds left of the question on screen, rounded up; -1 without a deadline. */
static long long secs_left(const struct prompt *p)
{
	long long left;

	if (!p->shown || !p->head || !p->head->deadline)
		return -1;
	left = (long long)p->head->deadline - now_ms();
	return left <= 0 ? 0 : (left + 999) / 1000;
}

/* The input line, from its start: the countdown, then what is asked, or the rule edited. */
static void draw_line(struct prompt *p)
{
	char count[48] = "";

	p->secs = secs_left(p);
	if (p->secs >= 0)
		snprintf(count, sizeof(count), "(denied in %llds) ", p->secs);
	tty_write(p, "\r\033[K  ");
	tty_write(p, count);
	if (p->editing) {
		/* The rule being edited: escaped, as all else the program chose. */
		cleanup_free char *clean = term_sanitize(p->edit.data);

		tty_write(p, "rule: ... ");
		tty_write(p, clean);
	} else {
		tty_write(p, p->line);
	}
}

void prompt_set_deadline(struct prompt_item *it, unsigned long long deadline_ms)
{
	it->deadline = deadline_ms;
}

void prompt_tick(struct prompt *p)
{
	if (p->shown && !p->gone && p->head && p->head->deadline && secs_left(p) != p->secs)
		draw_line(p);
}

int prompt_tick_ms(const struct prompt *p)
{
	long long left;

	if (!p->shown || p->gone || !p->head || !p->head->deadline)
		return -1;
	left = (long long)p->head->deadline - now_ms();
	return left <= 0 ? 0 : (int)((left - 1) % 1000) + 1;
}

void prompt_timed_out(struct prompt *p, struct prompt_item *it)
{
	if (p->shown && p->head == it)
		tty_write(p, "timed out: denied");
}

static void show_head(struct prompt *p)
{
	if (p->shown || !p->head || p->gone)
		return;
	p->shown = true;
	p->saving = false;
	p->save_program = false;
	p->editing = false;
	keys_mode(p, true);
	tcflush(p->fd, TCIFLUSH); /* a key typed before the question is not its answer */
	tty_write(p, p->head->text);
	p->line = "> ";
	p->secs = -1;
	draw_line(p);
}

void prompt_close(struct prompt *p)
{
	struct prompt_item *it, *next;

	if (!p)
		return;
	keys_mode(p, false);
	for (it = p->head; it; it = next) {
		next = it->next;
		free(it->text);
		free(it->suggest);
		free(it->suggest_program);
		free(it->edited);
		free(it);
	}
	buf_release(&p->edit);
	free(p->rules_file);
	close(p->fd);
	free(p);
}

int prompt_fd(const struct prompt *p)
{
	return p->shown && !p->gone ? p->fd : -1;
}

bool prompt_active(const struct prompt *p)
{
	return p->shown && !p->gone;
}

bool prompt_gone(const struct prompt *p)
{
	return p->gone;
}

void prompt_set_interrupt(struct prompt *p, bool on)
{
	p->can_interrupt = on;
}

void prompt_set_rules_file(struct prompt *p, const char *path)
{
	free(p->rules_file);
	p->rules_file = xstrdup(path);
}

static void add_field(struct buf *b, const char *label, const char *value)
{
	cleanup_free char *clean = term_sanitize(value ? value : "");

	buf_addf(b, "  %-8s %s\r\n", label, clean);
}

/*
 * The keys, from the table (ui/keys.h): allow in one row, deny in the next, in columns; the
 * program-wide ones for a command only, "save as a rule" when there is a rule to save.
 */
static void add_menu(struct buf *b, bool program, bool save)
{
	static const enum ui_prompt_req rows[3][3] = {
		{UI_PROMPT_ALLOW_ONCE, UI_PROMPT_ALLOW_SESSION, UI_PROMPT_ALLOW_PROGRAM},
		{UI_PROMPT_DENY_ONCE, UI_PROMPT_DENY_SESSION, UI_PROMPT_DENY_PROGRAM},
		{UI_PROMPT_SAVE_RULE, UI_PROMPT_INTERRUPT, UI_PROMPT_NONE},
	};
	int width[3] = {0, 0, 0};
	size_t r, c;

	for (r = 0; r < 2; r++)
		for (c = 0; c < 3; c++) {
			const struct ui_prompt_key *k = &ui_prompt_keys[rows[r][c] - 1];
			int w = (int)(strlen(k->shown) + strlen(k->label) + 3);

			width[c] = w > width[c] ? w : width[c];
		}
	for (r = 0; r < 3; r++) {
		for (c = 0; c < 3 && rows[r][c] != UI_PROMPT_NONE; c++) {
			const struct ui_prompt_key *k = &ui_prompt_keys[rows[r][c] - 1];
			cleanup_free char *cell = xasprintf("[%s] %s", k->shown, k->label);

			if ((k->req == UI_PROMPT_ALLOW_PROGRAM ||
			     k->req == UI_PROMPT_DENY_PROGRAM) &&
			    !program)
				continue;
			if (k->req == UI_PROMPT_SAVE_RULE && !save)
				continue;
			buf_addf(b, "%s%-*s", c ? "   " : "  ", r < 2 && c < 2 ? width[c] : 0,
				 cell);
		}
		buf_adds(b, "\r\n");
	}
}

static char *question_text(const struct prompt *p, const struct prompt_question *q)
{
	const char *who = q->who ? q->who : "";
	const char *cmd = q->command;
	/* pid 0: a DNS lookup, which names no process (the sandbox's resolver cannot tell). */
	cleanup_free char *pid = q->pid ? xasprintf("pid %d: %s", q->pid, who)
					: xstrdup("a name lookup (the process is not known)");
	cleanup_free char *what = NULL;
	struct buf b = BUF_INIT;

	buf_init(&b);
	if (q->name && q->name[0])
		what = xasprintf("%s %s (%s)", q->cls, q->name, q->target);
	else if (cmd)
		what = xasprintf("%s %s  [%s]", q->cls, cmd, q->target);
	else if (strcmp(q->cls, "dns") == 0)
		what = xasprintf("to look up %s (the name leaves the machine with the query)",
				 q->target);
	else
		what = xasprintf("%s %s", q->cls, q->target);
	buf_adds(&b, "\r\n\033[1mairlock: allow this?\033[0m\r\n");
	add_field(&b, "process", pid);
	add_field(&b, "wants", what);
	if (q->rule)
		add_field(&b, "rule", q->rule);
	add_menu(&b, q->program, q->suggest && p->rules_file);
	return buf_detach(&b);
}

struct prompt_item *prompt_add(struct prompt *p, const struct prompt_question *q, unsigned id)
{
	struct prompt_item *it = xcalloc(1, sizeof(*it));

	it->id = id;
	it->text = question_text(p, q);
	it->suggest = q->suggest ? xstrdup(q->suggest) : NULL;
	it->suggest_program = q->suggest_program ? xstrdup(q->suggest_program) : NULL;
	it->program = q->program;
	if (p->tail)
		p->tail->next = it;
	else
		p->head = it;
	p->tail = it;
	show_head(p);
	return it;
}

void prompt_remove(struct prompt *p, struct prompt_item *it)
{
	struct prompt_item **pp;

	for (pp = &p->head; *pp; pp = &(*pp)->next) {
		if (*pp != it)
			continue;
		*pp = it->next;
		if (p->tail == it) {
			p->tail = NULL;
			for (struct prompt_item *x = p->head; x; x = x->next)
				p->tail = x;
		}
		if (pp == &p->head && p->shown) {
			/* The question on screen: close it off, give the terminal back. */
			tty_write(p, "\r\n");
			keys_mode(p, false);
			p->shown = false;
		}
		free(it->text);
		free(it->suggest);
		free(it->suggest_program);
		free(it->edited);
		free(it);
		break;
	}
	show_head(p);
}

/* The rule "save as a rule" offers: as edited, else the exact one, or the program's with any
   arguments. */
static const char *save_body(const struct prompt *p)
{
	if (p->head->edited)
		return p->head->edited;
	return p->save_program && p->head->suggest_program ? p->head->suggest_program
							   : p->head->suggest;
}

/* After 'r' (and 'p'): the rule, and what to press. */
static void show_rule(struct prompt *p)
{
	cleanup_free char *clean = term_sanitize(save_body(p));
	cleanup_free char *msg = xasprintf("\r\n  rule: ... %s\r\n", clean);

	tty_write(p, msg);
	p->line =
		p->head->suggest_program && !p->head->edited
			? (p->save_program ? "save it as [y] allow or [n] deny ([p] this "
					     "command only, [e] edit, Esc: back) > "
					   : "save it as [y] allow or [n] deny ([p] any arguments, "
					     "[e] edit, Esc: back) > ")
			: "save it as [y] allow or [n] deny ([e] edit, Esc: back) > ";
	p->secs = -1;
	draw_line(p);
}

/* 'e': edit the rule proposed (Enter keeps it, Esc goes back to it as it was). */
static void start_edit(struct prompt *p, const char *body)
{
	buf_reset(&p->edit);
	buf_adds(&p->edit, body);
	p->editing = true;
	tty_write(p, "\r\033[K  edit the rule: Enter to keep it, Esc to leave it as it was, "
		     "Ctrl-U to clear\r\n");
	draw_line(p);
}

/* Leave the editor: keep the text as the rule to save (keep) or not, and show the rule. */
static void end_edit(struct prompt *p, bool keep)
{
	p->editing = false;
	if (keep) {
		free(p->head->edited);
		p->head->edited = xstrdup(p->edit.data);
	}
	tty_write(p, "\r\n");
	show_rule(p);
}

/* An escape sequence (an arrow key) after ESC, read now: the editor has no use for it.
   true when there was one, false for a lone Esc. */
static bool skip_sequence(struct prompt *p)
{
	char c;

	if (read(p->fd, &c, 1) != 1)
		return false;
	if (c != '[' && c != 'O')
		return true;
	while (read(p->fd, &c, 1) == 1 && !(c >= 0x40 && c <= 0x7e))
		;
	return true;
}

/* A key typed in the editor: text is added, Backspace and Ctrl-U remove, Enter and Esc end. */
static void edit_key(struct prompt *p, char c)
{
	unsigned char u = (unsigned char)c;

	if (c == '\r' || c == '\n') {
		end_edit(p, true);
		return;
	}
	if (c == 27) {
		if (!skip_sequence(p))
			end_edit(p, false);
		return;
	}
	if (u == 0x7f || u == 0x08) {
		/* One character back, however many bytes its UTF-8 takes. */
		while (p->edit.len > 0 &&
		       ((unsigned char)p->edit.data[--p->edit.len] & 0xc0) == 0x80)
			;
		p->edit.data[p->edit.len] = '\0';
	} else if (c == UI_CTRL('u')) {
		buf_reset(&p->edit);
	} else if (u >= 0x20 && p->edit.len < PROMPT_MAX_RULE) {
		buf_addc(&p->edit, c);
	}
	draw_line(p);
}

void prompt_save_refused(struct prompt *p, const char *why)
{
	cleanup_free char *clean = term_sanitize(why);
	cleanup_free char *msg = xasprintf("\r\n  not saved: %s\r\n", clean);

	if (!p->shown || !p->head)
		return;
	tty_write(p, msg);
	p->saving = true;
	start_edit(p, save_body(p));
}

void prompt_say(struct prompt *p, const char *msg)
{
	cleanup_free char *clean = term_sanitize(msg);

	tty_write(p, clean);
}

/* Ctrl-C at a question: deny it; a second one soon after also interrupts the program. */
static int interrupt_key(struct prompt *p, struct prompt_reply *r)
{
	long long t = now_ms();

	r->allow = false;
	r->remember = false;
	if (!p->can_interrupt) {
		tty_write(p, "denied once");
		return 1;
	}
	if (p->last_intr && t - p->last_intr < 2000) {
		r->interrupt = true;
		p->last_intr = 0;
		tty_write(p, "denied, and the program interrupted");
	} else {
		p->last_intr = t;
		tty_write(p, "denied once (Ctrl-C again to interrupt the program)");
	}
	return 1;
}

/* A key after 'r': y or n answers with the rule shown, e edits it, p widens or narrows it,
   Esc goes back to the question (dropping an edit). */
static int save_key(struct prompt *p, char c, struct prompt_reply *r)
{
	if (c == 'y' || c == 'n') {
		r->allow = c == 'y';
		r->remember = true;
		/* An edited rule says what it says: this session remembers the exact question
		   (the rule holds from the next run on). */
		r->program = p->save_program && p->head->suggest_program && !p->head->edited;
		r->save_as = save_body(p); /* the caller checks and saves it (ask.c) */
		return 1;
	}
	if (c == 'e') {
		start_edit(p, save_body(p));
	} else if (c == 'p' && p->head->suggest_program && !p->head->edited) {
		p->save_program = !p->save_program;
		show_rule(p);
	} else if (c == 27 || c == 'q') {
		p->saving = false;
		p->save_program = false;
		free(p->head->edited);
		p->head->edited = NULL;
		tty_write(p, "\r\n");
		p->line = "> ";
		draw_line(p);
	}
	return 0;
}

static int answer_key(struct prompt *p, char c, struct prompt_reply *r)
{
	enum ui_prompt_req req = ui_prompt_request((unsigned char)c);

	*r = (struct prompt_reply){.id = p->head->id};
	if (req == UI_PROMPT_INTERRUPT) {
		p->editing = false;
		return interrupt_key(p, r);
	}
	if (p->editing) {
		edit_key(p, c);
		return 0;
	}
	if (p->saving)
		return save_key(p, c, r);
	switch (req) {
	case UI_PROMPT_ALLOW_ONCE:
	case UI_PROMPT_DENY_ONCE:
		r->allow = req == UI_PROMPT_ALLOW_ONCE;
		tty_write(p, r->allow ? "allowed once" : "denied once");
		return 1;
	case UI_PROMPT_ALLOW_SESSION:
	case UI_PROMPT_DENY_SESSION:
		r->allow = req == UI_PROMPT_ALLOW_SESSION;
		r->remember = true;
		tty_write(p, r->allow ? "allowed for this session" : "denied for this session");
		return 1;
	case UI_PROMPT_ALLOW_PROGRAM:
	case UI_PROMPT_DENY_PROGRAM:
		if (!p->head->program)
			return 0;
		r->allow = req == UI_PROMPT_ALLOW_PROGRAM;
		r->remember = true;
		r->program = true;
		tty_write(p, r->allow ? "allowed with any arguments for this session"
				      : "denied with any arguments for this session");
		return 1;
	case UI_PROMPT_SAVE_RULE:
		if (p->head->suggest && p->rules_file) {
			p->saving = true;
			p->save_program = false;
			show_rule(p);
		}
		return 0;
	default:
		return 0;
	}
}

int prompt_read(struct prompt *p, struct prompt_reply *r)
{
	char c;
	ssize_t n;

	while (p->shown && !p->gone) {
		n = read(p->fd, &c, 1);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			return 0;
		if (n <= 0) {
			p->gone = true;
			return 0;
		}
		if (answer_key(p, c, r))
			return 1;
	}
	return 0;
}

unsigned prompt_item_id(const struct prompt_item *it)
{
	return it ? it->id : 0;
}
