/* SPDX-License-Identifier: MIT */
/* Asks: remembered answers, the JSON controller on a descriptor, the terminal prompt. */
#include "supervisor/supervise/ask.h"

#include "common/json.h"
#include "common/path.h"
#include "common/utf8.h"

#include "common/buf.h"
#include "common/cleanup.h"
#include "common/err.h"
#include "rules/rules.h"
#include "ui/prompt.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* A controller's answer line longer than this is refused (and the controller with it). */
#define MAX_ANSWER_LINE 65536

struct pending {
	unsigned id;
	int pid;
	void *cookie;
	char *key;
	char *program_key;	     /* or NULL */
	unsigned long long deadline; /* CLOCK_MONOTONIC ms; 0: none */
	struct prompt_item *shown;   /* tty: what the prompt shows, else NULL */
	char *line;		     /* attend: the question as sent, for the next attender */
};

/*
 * A remembered answer: for the session (pid 0), or, for a "once" answer, for the same process
 * for a moment: execvp() and subprocess try each PATH directory in turn, and /bin/touch after
 * a denied /usr/bin/touch is the same question, not a new one.
 */
struct memo {
	char *key;
	bool allow;
	int pid;
	unsigned long long until; /* CLOCK_MONOTONIC ms; 0: the whole session */
	const char *by;		  /* who gave the answer (a static string) */
};

/* How long a "once" answer also answers the same process's same question. */
#define ONCE_MS 2000

struct asker {
	enum ask_mode mode;
	int fd; /* controller (borrowed) or terminal (owned); -1 when gone */
	bool fd_gone;
	unsigned long long timeout_ms;
	unsigned next_id;
	struct pending *p;
	size_t np, pcap;
	struct memo *m;
	size_t nm, mcap;
	struct buf in; /* partial answer line from the controller */
	struct prompt *tty;
	char *rules_file; /* where a rule the person chose to save goes (asker_set_rules_file) */
};

static unsigned long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (unsigned long long)ts.tv_sec * 1000ULL + (unsigned long long)ts.tv_nsec / 1000000;
}

int ask_parse_mode(const char *s, enum ask_mode *mode, int *fd)
{
	char *end;
	long v;

	*fd = -1;
	if (strcmp(s, "deny") == 0)
		*mode = ASK_MODE_DENY;
	else if (strcmp(s, "allow") == 0)
		*mode = ASK_MODE_ALLOW;
	else if (strcmp(s, "tty") == 0)
		*mode = ASK_MODE_TTY;
	else if (strcmp(s, "attend") == 0)
		*mode = ASK_MODE_ATTEND;
	else if (strncmp(s, "fd:", 3) == 0) {
		errno = 0;
		v = strtol(s + 3, &end, 10);
		if (errno || end == s + 3 || *end || v < 0 || v > 1 << 20)
			return -EINVAL;
		*mode = ASK_MODE_FD;
		*fd = (int)v;
	} else {
		return -EINVAL;
	}
	return 0;
}

struct asker *asker_new(enum ask_mode mode, int fd, unsigned long long timeout_ms)
{
	struct asker *a = xcalloc(1, sizeof(*a));

	a->mode = mode;
	a->fd = -1;
	a->timeout_ms = timeout_ms;
	a->next_id = 1;
	buf_init(&a->in);
	if (mode == ASK_MODE_FD) {
		int fl = fcntl(fd, F_GETFD);

		if (fl < 0) {
			error("--ask fd:%d: descriptor %d is not open", fd, fd);
			asker_free(a);
			return NULL;
		}
		/* The controller's descriptor must not reach the sandbox, nor any deferred command.
		 */
		fcntl(fd, F_SETFD, fl | FD_CLOEXEC);
		a->fd = fd;
	} else if (mode == ASK_MODE_TTY) {
		a->tty = prompt_open();
		if (!a->tty) {
			asker_free(a);
			return NULL;
		}
		prompt_set_interrupt(a->tty, true); /* asker_process() sends the SIGINT */
	}
	return a;
}

void asker_free(struct asker *a)
{
	size_t i;

	if (!a)
		return;
	for (i = 0; i < a->np; i++) {
		free(a->p[i].key);
		free(a->p[i].line);
	}
	for (i = 0; i < a->nm; i++)
		free(a->m[i].key);
	if (a->mode == ASK_MODE_ATTEND && a->fd >= 0)
		close(a->fd);
	free(a->p);
	free(a->m);
	buf_release(&a->in);
	if (a->tty)
		prompt_close(a->tty);
	free(a->rules_file);
	free(a);
}

void asker_set_rules_file(struct asker *a, const char *path)
{
	free(a->rules_file);
	a->rules_file = path ? xstrdup(path) : NULL;
	if (a->tty)
		prompt_set_rules_file(a->tty, path);
}

/* The newest answer filed under key, or under program_key (the program with any arguments,
   when not NULL): a later answer replaces an earlier one, however wide either is. */
static const struct memo *recall(const struct asker *a, const char *key, const char *program_key,
				 int pid)
{
	unsigned long long t = now_ms();
	size_t i;

	/* Newest first: a later answer replaces an earlier one. */
	for (i = a->nm; i-- > 0;) {
		const struct memo *m = &a->m[i];

		if (m->until && (m->pid != pid || m->until < t))
			continue;
		if (strcmp(m->key, key) == 0 || (program_key && strcmp(m->key, program_key) == 0))
			return m;
	}
	return NULL;
}

static void remember(struct asker *a, const char *key, const struct ask_answer *ans, int pid)
{
	unsigned long long t = now_ms();
	size_t i, k = 0;

	/* Forget the moments that passed. */
	for (i = 0; i < a->nm; i++) {
		if (a->m[i].until && a->m[i].until < t)
			free(a->m[i].key);
		else
			a->m[k++] = a->m[i];
	}
	a->nm = k;
	GROW(a->m, a->mcap, a->nm + 1);
	a->m[a->nm].key = xstrdup(key);
	a->m[a->nm].allow = ans->allow;
	a->m[a->nm].pid = ans->remember ? 0 : pid;
	a->m[a->nm].until = ans->remember ? 0 : t + ONCE_MS;
	a->m[a->nm].by = ans->by;
	a->nm++;
}

/* Write all of line to the controller, waiting at most a second for room. 0 or -errno. */
void asker_preload(struct asker *a, const char *key, bool allow, const char *by)
{
	struct ask_answer ans = {.allow = allow, .remember = true, .by = by};

	remember(a, key, &ans, 0);
}

static int send_line(int fd, const char *line, size_t len)
{
	unsigned long long give_up = now_ms() + 1000;

	while (len > 0) {
		ssize_t w = write(fd, line, len);

		if (w > 0) {
			line += w;
			len -= (size_t)w;
			continue;
		}
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0 && errno == EAGAIN) {
			struct pollfd pf = {.fd = fd, .events = POLLOUT};
			long long left = (long long)(give_up - now_ms());

			if (left <= 0 || poll(&pf, 1, (int)left) <= 0)
				return -ETIMEDOUT;
			continue;
		}
		return w < 0 ? -errno : -EIO;
	}
	return 0;
}

static void controller_gone(struct asker *a, const char *why)
{
	if (a->fd_gone)
		return;
	a->fd_gone = true;
	error("the approver on fd %d %s: every ask is denied from now on", a->fd, why);
}

/* The question as the controller's JSON line (with its newline); NULL out of memory. */
static char *question_line(const struct asker *a, const struct ask_question *q, unsigned id)
{
	cJSON *o = cJSON_CreateObject();
	cleanup_free char *text = NULL;
	const cJSON *x;

	cJSON_AddStringToObject(o, "type", "ask");
	cJSON_AddNumberToObject(o, "version", 1); /* airlock-json(7) */
	cJSON_AddNumberToObject(o, "id", id);
	cJSON_AddStringToObject(o, "class", q->cls);
	cJSON_AddNumberToObject(o, "pid", q->pid);
	cJSON_AddItemToObject(o, "argv",
			      q->argv ? cJSON_Duplicate(q->argv, true) : cJSON_CreateArray());
	cJSON_AddStringToObject(o, "target", q->target);
	if (q->name)
		cJSON_AddStringToObject(o, "name", q->name);
	else
		cJSON_AddNullToObject(o, "name");
	if (q->command)
		cJSON_AddItemToObject(o, "command", cJSON_Duplicate(q->command, true));
	if (q->rule)
		cJSON_AddStringToObject(o, "rule", q->rule);
	cJSON_ArrayForEach(x, q->extra)
	{
		cJSON_AddItemToObject(o, x->string, cJSON_Duplicate(x, true));
	}
	if (a->timeout_ms)
		cJSON_AddNumberToObject(o, "timeout_ms", (double)a->timeout_ms);
	text = cJSON_PrintUnformatted(o);
	cJSON_Delete(o);
	return text ? xasprintf("%s\n", text) : NULL;
}

static int ask_controller(struct asker *a, const struct ask_question *q, unsigned id)
{
	cleanup_free char *line = question_line(a, q, id);
	int rc;

	if (!line)
		return -ENOMEM;
	rc = send_line(a->fd, line, strlen(line));
	if (rc < 0)
		controller_gone(a, rc == -EPIPE ? "closed its end" : "cannot be written to");
	return rc;
}

/* The attender went away: the asks wait on, for the next one or their timeout. */
static void detach(struct asker *a)
{
	if (a->fd >= 0)
		close(a->fd);
	a->fd = -1;
	buf_reset(&a->in);
}

enum ask_mode asker_mode(const struct asker *a)
{
	return a->mode;
}

void asker_attach(struct asker *a, int fd)
{
	size_t i;

	if (a->mode != ASK_MODE_ATTEND) {
		close(fd);
		return;
	}
	detach(a);
	a->fd = fd;
	for (i = 0; i < a->np && a->fd >= 0; i++)
		if (a->p[i].line && send_line(a->fd, a->p[i].line, strlen(a->p[i].line)) < 0)
			detach(a);
}

/* Put q to the person on the terminal: the prompt takes plain strings (ui/prompt.h). */
static struct prompt_item *ask_person(struct asker *a, const struct ask_question *q, unsigned id)
{
	cleanup_free char *who = join_argv(q->argv);
	cleanup_free char *cmd = q->command ? join_argv(q->command) : NULL;
	struct prompt_question pq = {
		.cls = q->cls,
		.target = q->target,
		.name = q->name,
		.rule = q->rule,
		.who = who,
		.command = cmd,
		.suggest = q->suggest,
		.suggest_program = q->suggest_program,
		.program = q->program_key != NULL,
		.pid = q->pid,
	};

	return prompt_add(a->tty, &pq, id);
}

int asker_ask(struct asker *a, const struct ask_question *q, void *cookie, struct ask_answer *now)
{
	const struct memo *m = recall(a, q->key, q->program_key, q->pid);
	struct pending *p;
	int rc = 0;

	if (m) {
		*now = (struct ask_answer){.allow = m->allow, .remember = false, .by = m->by};
		return 1;
	}
	if (a->mode == ASK_MODE_DENY || a->mode == ASK_MODE_ALLOW) {
		*now = (struct ask_answer){.allow = a->mode == ASK_MODE_ALLOW, .by = "default"};
		return 1;
	}
	if (a->fd_gone) {
		*now = (struct ask_answer){.allow = false, .by = "default"};
		return 1;
	}
	GROW(a->p, a->pcap, a->np + 1);
	p = &a->p[a->np];
	memset(p, 0, sizeof(*p));
	p->id = a->next_id++;
	p->cookie = cookie;
	p->key = xstrdup(q->key);
	p->program_key = q->program_key ? xstrdup(q->program_key) : NULL;
	p->pid = q->pid;
	p->deadline = a->timeout_ms ? now_ms() + a->timeout_ms : 0;
	if (a->mode == ASK_MODE_FD) {
		rc = ask_controller(a, q, p->id);
	} else if (a->mode == ASK_MODE_ATTEND) {
		p->line = question_line(a, q, p->id);
		if (!p->line)
			rc = -ENOMEM;
		else if (a->fd >= 0 && send_line(a->fd, p->line, strlen(p->line)) < 0)
			detach(a); /* kept: the next attender gets it */
	} else {
		p->shown = ask_person(a, q, p->id);
		prompt_set_deadline(p->shown, p->deadline);
	}
	if (rc < 0) {
		free(p->key);
		free(p->program_key);
		return rc;
	}
	a->np++;
	return 0;
}

static void drop(struct asker *a, size_t i)
{
	if (a->p[i].shown)
		prompt_remove(a->tty, a->p[i].shown);
	free(a->p[i].key);
	free(a->p[i].program_key);
	free(a->p[i].line);
	memmove(&a->p[i], &a->p[i + 1], (a->np - i - 1) * sizeof(a->p[0]));
	a->np--;
}

void asker_cancel(struct asker *a, void *cookie)
{
	size_t i;

	for (i = 0; i < a->np; i++)
		if (a->p[i].cookie == cookie) {
			drop(a, i);
			return;
		}
}

int asker_poll_fd(const struct asker *a)
{
	if (a->fd_gone)
		return -1;
	if (a->mode == ASK_MODE_TTY)
		return prompt_fd(a->tty); /* only while a question is up: the keys are ours then */
	return a->mode == ASK_MODE_FD || a->mode == ASK_MODE_ATTEND ? a->fd : -1;
}

int asker_timeout_ms(const struct asker *a)
{
	unsigned long long t = now_ms(), soonest = 0;
	size_t i;

	for (i = 0; i < a->np; i++)
		if (a->p[i].deadline && (!soonest || a->p[i].deadline < soonest))
			soonest = a->p[i].deadline;
	if (!soonest)
		return -1;
	if (a->tty && prompt_tick_ms(a->tty) >= 0 && soonest > t &&
	    (unsigned long long)prompt_tick_ms(a->tty) < soonest - t)
		return prompt_tick_ms(a->tty); /* the countdown's next second */
	return soonest <= t ? 0 : (int)(soonest - t > 60000000 ? 60000000 : soonest - t);
}

bool asker_prompt_active(const struct asker *a)
{
	return a && a->tty && prompt_active(a->tty);
}

unsigned asker_pending(const struct asker *a)
{
	return (unsigned)a->np;
}

/* Hand an answer to the caller and forget the ask. */
static void resolve(struct asker *a, size_t i, struct ask_answer ans, ask_done_fn done, void *ctx)
{
	void *cookie = a->p[i].cookie;
	const char *key = ans.program && a->p[i].program_key ? a->p[i].program_key : a->p[i].key;

	remember(a, key, &ans, a->p[i].pid);
	drop(a, i);
	done(ctx, cookie, &ans);
}

static size_t find_id(const struct asker *a, unsigned id)
{
	size_t i;

	for (i = 0; i < a->np; i++)
		if (a->p[i].id == id)
			return i;
	return (size_t)-1;
}

/* One answer line from the controller: {"id":N,"decision":"allow"|"deny","remember":...}. */
static void controller_answer(struct asker *a, const char *line, ask_done_fn done, void *ctx)
{
	cJSON *o = cJSON_Parse(line);
	const cJSON *id = cJSON_GetObjectItemCaseSensitive(o, "id");
	const cJSON *dec = cJSON_GetObjectItemCaseSensitive(o, "decision");
	const cJSON *rem = cJSON_GetObjectItemCaseSensitive(o, "remember");
	struct ask_answer ans = {.by = a->mode == ASK_MODE_ATTEND ? "person" : "approver"};
	size_t i;

	if (!o || !cJSON_IsNumber(id) || !cJSON_IsString(dec) ||
	    (strcmp(dec->valuestring, "allow") && strcmp(dec->valuestring, "deny")) ||
	    (rem && (!cJSON_IsString(rem) ||
		     (strcmp(rem->valuestring, "once") && strcmp(rem->valuestring, "session"))))) {
		warn("the approver sent a line that is not an answer "
		     "({\"id\":N,\"decision\":\"allow\"|\"deny\",\"remember\":\"once\"|\"session\"}); "
		     "ignored");
		cJSON_Delete(o);
		return;
	}
	ans.allow = strcmp(dec->valuestring, "allow") == 0;
	ans.remember = rem && strcmp(rem->valuestring, "session") == 0;
	i = id->valuedouble >= 1 && id->valuedouble < 4294967296.0
		    ? find_id(a, (unsigned)id->valuedouble)
		    : (size_t)-1;
	cJSON_Delete(o);
	/* An answer to an ask that timed out or whose process died: nothing waits for it. */
	if (i != (size_t)-1)
		resolve(a, i, ans, done, ctx);
}

static void read_controller(struct asker *a, ask_done_fn done, void *ctx)
{
	char chunk[4096];
	ssize_t n;
	char *nl;

	n = read(a->fd, chunk, sizeof(chunk));
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n <= 0 && a->mode == ASK_MODE_ATTEND) {
		detach(a);
		return;
	}
	if (n <= 0) {
		controller_gone(a, n == 0 ? "closed its end" : "cannot be read");
		return;
	}
	buf_add(&a->in, chunk, (size_t)n);
	while ((nl = memchr(a->in.data, '\n', a->in.len))) {
		size_t len = (size_t)(nl - a->in.data);
		cleanup_free char *line = xstrndup(a->in.data, len);

		memmove(a->in.data, nl + 1, a->in.len - len - 1);
		a->in.len -= len + 1;
		a->in.data[a->in.len] = '\0';
		if (line[0])
			controller_answer(a, line, done, ctx);
	}
	if (a->in.len > MAX_ANSWER_LINE) {
		buf_reset(&a->in);
		if (a->mode == ASK_MODE_ATTEND)
			detach(a);
		else
			controller_gone(a, "sent a line longer than 64 KiB");
	}
}

/*
 * A second Ctrl-C at the terminal prompt: what it would have done without a question, SIGINT to
 * the asking process's group (the program in the foreground of its terminal), never to ours.
 */
static void interrupt(int pid)
{
	pid_t pgid;

	if (pid <= 0)
		return; /* a name lookup names no process */
	pgid = getpgid(pid);
	if (pgid > 0 && pgid != getpgrp())
		kill(-pgid, SIGINT);
	else
		kill(pid, SIGINT);
}

/*
 * Whether line is one rule the rules parser takes, as airlock run would load it from the
 * user's rules file: 0, or -EINVAL with why in err->msg.
 */
static int check_rule(const char *line, struct rules_error *err)
{
	char cwd[4096];
	struct rules_env env = {.home = home_dir(), .cwd = getcwd(cwd, sizeof(cwd)) ?: "/"};
	struct ruleset rs = {0};
	int rc;

	err->msg[0] = '\0';
	rc = rules_parse_buffer(&rs, "the rule", line, strlen(line), &env, err);
	if (rc == 0 && rs.n != 1) {
		snprintf(err->msg, sizeof(err->msg), "the rule: %s",
			 rs.n ? "one rule, not several" : "no rule, only a comment or blanks");
		rc = -EINVAL;
	}
	rules_release(&rs);
	return rc;
}

/*
 * The person chose to save the answer as a rule: append "allow|deny BODY" to the user's rules
 * file (0600, in a 0700 directory, never through a symlink) and say how it went on the prompt.
 * The prompt only asks; the supervisor writes.
 */
static bool save_answer(struct asker *a, const struct prompt_reply *r)
{
	cleanup_free char *line = xasprintf("%s %s\n", r->allow ? "allow" : "deny", r->save_as);
	cleanup_free char *dir = a->rules_file ? xstrdup(a->rules_file) : NULL;
	cleanup_free char *clean = a->rules_file ? term_sanitize(a->rules_file) : NULL;
	cleanup_free char *msg = NULL;
	char *slash = dir ? strrchr(dir, '/') : NULL;
	cleanup_fd int fd = -1;

	struct rules_error err;

	if (!a->rules_file)
		return true;
	/* An edited rule the parser refuses would make every later run refuse the file. */
	if (strchr(r->save_as, '\n') || check_rule(line, &err) < 0) {
		const char *why = strstr(err.msg, ": "); /* after "the rule:1" */

		prompt_save_refused(a->tty, why ? why + 2 : "a rule is one line");
		return false;
	}
	if (slash && slash != dir) {
		*slash = '\0';
		if (mkdir_p(dir, 0700) < 0)
			goto failed;
	}
	fd = open(a->rules_file, O_WRONLY | O_APPEND | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0 || write(fd, line, strlen(line)) != (ssize_t)strlen(line))
		goto failed;
	msg = xasprintf("saved to %s", clean);
	prompt_say(a->tty, msg);
	return true;
failed:
	msg = xasprintf("could not save to %s: %s (answered for this session)", clean,
			strerror(errno));
	prompt_say(a->tty, msg);
	return true;
}

void asker_process(struct asker *a, bool readable, ask_done_fn done, void *ctx)
{
	unsigned long long t;
	size_t i;

	if (readable && (a->mode == ASK_MODE_FD || a->mode == ASK_MODE_ATTEND) && !a->fd_gone &&
	    a->fd >= 0)
		read_controller(a, done, ctx);
	if (readable && a->mode == ASK_MODE_TTY) {
		struct prompt_reply r;

		while (prompt_read(a->tty, &r) > 0) {
			int pid;

			/* A rule the parser refuses is not saved and the question stays up. */
			if (r.save_as && !save_answer(a, &r))
				continue;
			i = find_id(a, r.id);
			if (i == (size_t)-1)
				continue;
			pid = a->p[i].pid;
			resolve(a, i,
				(struct ask_answer){.allow = r.allow,
						    .remember = r.remember,
						    .program = r.program,
						    .by = "person"},
				done, ctx);
			if (r.interrupt)
				interrupt(pid);
		}
		if (prompt_gone(a->tty))
			a->fd_gone = true;
	}
	/* A controller or terminal that went away leaves nobody to answer: deny what waits. */
	while (a->fd_gone && a->np > 0)
		resolve(a, 0, (struct ask_answer){.allow = false, .by = "default"}, done, ctx);
	t = now_ms();
	for (i = 0; i < a->np;) {
		if (a->p[i].deadline && a->p[i].deadline <= t) {
			if (a->p[i].shown)
				prompt_timed_out(a->tty, a->p[i].shown);
			resolve(a, i, (struct ask_answer){.allow = false, .by = "timeout"}, done,
				ctx);
			continue;
		}
		i++;
	}
	if (a->tty)
		prompt_tick(a->tty);
}
