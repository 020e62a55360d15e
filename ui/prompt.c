/* SPDX-License-Identifier: MIT */
/* The live prompt on /dev/tty: one question at a time, one key per answer. */
#include "ui/prompt.h"

#include "common/buf.h"
#include "common/cleanup.h"
#include "common/err.h"
#include "common/utf8.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <termios.h>
#include <unistd.h>

struct prompt_item {
	unsigned id;
	char *text;    /* the question, already escaped for the terminal */
	char *suggest; /* rule body for "save as a rule", or NULL */
	struct prompt_item *next;
};

struct prompt {
	int fd;
	bool gone;
	bool shown;	 /* the head of the queue is on screen */
	bool saving;	 /* after 'r': waiting for allow/deny of the rule to save */
	bool have_saved; /* saved termios to restore */
	struct termios saved;
	struct prompt_item *head, *tail;
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
	return p;
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
		t.c_lflag &= ~(tcflag_t)(ICANON | ECHO);
		t.c_cc[VMIN] = 1;
		t.c_cc[VTIME] = 0;
		tcsetattr(p->fd, TCSANOW, &t);
	} else if (p->have_saved) {
		tcsetattr(p->fd, TCSANOW, &p->saved);
		p->have_saved = false;
	}
}

static void show_head(struct prompt *p)
{
	if (p->shown || !p->head || p->gone)
		return;
	p->shown = true;
	p->saving = false;
	keys_mode(p, true);
	tcflush(p->fd, TCIFLUSH); /* a key typed before the question is not its answer */
	tty_write(p, p->head->text);
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
		free(it);
	}
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

void prompt_say(struct prompt *p, const char *msg)
{
	cleanup_free char *clean = term_sanitize(msg);

	tty_write(p, clean);
}

static void add_field(struct buf *b, const char *label, const char *value)
{
	cleanup_free char *clean = term_sanitize(value ? value : "");

	buf_addf(b, "  %-8s %s\r\n", label, clean);
}

static char *question_text(const struct prompt_question *q)
{
	const char *cmd = q->command;
	/* pid 0: a DNS lookup, which names no process (the sandbox's resolver cannot tell). */
	cleanup_free char *pid = q->pid ? xasprintf("pid %d: %s", q->pid, q->who ? q->who : "")
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
	buf_adds(&b, "  [y] allow once   [a] allow for this session\r\n"
		     "  [n] deny once    [d] deny for this session\r\n");
	if (q->suggest)
		buf_adds(&b, "  [r] save the answer as a rule\r\n");
	buf_adds(&b, "  > ");
	return buf_detach(&b);
}

struct prompt_item *prompt_add(struct prompt *p, const struct prompt_question *q, unsigned id)
{
	struct prompt_item *it = xcalloc(1, sizeof(*it));

	it->id = id;
	it->text = question_text(q);
	it->suggest = q->suggest ? xstrdup(q->suggest) : NULL;
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
		free(it);
		break;
	}
	show_head(p);
}

static int answer_key(struct prompt *p, char c, struct prompt_reply *r)
{
	r->id = p->head->id;
	r->save_as = NULL;
	if (p->saving) {
		if (c == 'y' || c == 'n') {
			r->allow = c == 'y';
			r->remember = true;
			r->save_as = p->head->suggest;
			return 1;
		}
		if (c == 27 || c == 'q') {
			p->saving = false;
			tty_write(p, "\r\n  > ");
		}
		return 0;
	}
	switch (c) {
	case 'y':
		r->allow = true;
		r->remember = false;
		tty_write(p, "allowed once");
		return 1;
	case 'a':
		r->allow = true;
		r->remember = true;
		tty_write(p, "allowed for this session");
		return 1;
	case 'n':
		r->allow = false;
		r->remember = false;
		tty_write(p, "denied once");
		return 1;
	case 'd':
		r->allow = false;
		r->remember = true;
		tty_write(p, "denied for this session");
		return 1;
	case 'r':
		if (p->head->suggest) {
			cleanup_free char *clean = term_sanitize(p->head->suggest);
			cleanup_free char *msg = xasprintf(
				"\r\n  rule: ... %s\r\n  save it as [y] allow or [n] deny "
				"(Esc: back) > ",
				clean);

			p->saving = true;
			tty_write(p, msg);
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
