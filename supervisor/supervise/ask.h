/* SPDX-License-Identifier: MIT */
/*
 * Asking about a decision the rules left open ("ask"): nobody (--ask deny / allow), a person
 * on the terminal (--ask tty), or a controller speaking JSON lines on a descriptor (--ask fd:N,
 * design.md "JSON"). An ask never blocks the supervisor: asker_ask() sends the question and
 * returns; the answer arrives later through asker_process(), which the event loop calls when
 * asker_poll_fd() is readable or asker_timeout_ms() has passed. Answers given "for this
 * session" are remembered by key and answer later asks without asking.
 */
#ifndef AIRLOCK_SUPERVISOR_ASK_H
#define AIRLOCK_SUPERVISOR_ASK_H

#include <cjson/cJSON.h>
#include <stdbool.h>

enum ask_mode {
	ASK_MODE_DENY,
	ASK_MODE_ALLOW,
	ASK_MODE_TTY,
	ASK_MODE_FD,
	ASK_MODE_ATTEND, /* a live session's asks wait for `airlock attend` (asker_attach) */
};

/* What is asked. Borrowed for the duration of asker_ask(). */
struct ask_question {
	const char *cls;    /* "exec", "connect", "dns" (a name only an ask could open) */
	const char *target; /* what the class acts on, as shown ("/usr/bin/git", "1.2.3.4:443") */
	const char *name;   /* connect: the host name the program looked up, or NULL */
	const char *key;    /* what a remembered answer is filed under */
	const char *program_key;     /* exec: what an answer for the program with any arguments is
					filed under, or NULL (the prompt then does not offer one) */
	const char *rule;	     /* the rule that said ask ("file:line"), or NULL */
	const char *suggest;	     /* a rule body matching this ask, for "save as a rule"
					("exec /usr/bin/git push $"), or NULL */
	const char *suggest_program; /* the same for the program with any arguments
					("exec /usr/bin/git"), or NULL */
	const cJSON *argv;	     /* the asking process's command line */
	const cJSON *command;	     /* exec: the command to run, or NULL */
	const cJSON *extra; /* more fields for the JSON ask (address, port, protocol), or NULL */
	int pid;
};

struct ask_answer {
	bool allow;
	bool remember;	/* "for this session" */
	bool program;	/* ... for the program with any arguments (q->program_key) */
	const char *by; /* "person", "approver", "timeout", "default", "session" (remembered) */
};

struct asker;

/* Parse --ask MODE: "deny", "allow", "tty", "fd:N", "attend". 0 or -EINVAL. */
int ask_parse_mode(const char *s, enum ask_mode *mode, int *fd);

/*
 * A new asker. For ASK_MODE_FD, fd is the controller's descriptor (borrowed: the caller's);
 * for ASK_MODE_TTY the terminal is opened here. timeout_ms: how long an ask waits before it is
 * denied (0: forever). NULL after printing why.
 */
struct asker *asker_new(enum ask_mode mode, int fd, unsigned long long timeout_ms);

void asker_free(struct asker *a);

/*
 * File an answer for the whole session under key, as if given now (--replay: an earlier
 * session's decisions). by is a static string, "replay".
 */
void asker_preload(struct asker *a, const char *key, bool allow, const char *by);

/* Where the terminal prompt's "save as a rule" appends (the user's rules file). */
void asker_set_rules_file(struct asker *a, const char *path);

/*
 * Called with each answer that arrives for an ask: cookie is what asker_ask() was given.
 * Every ask started gets exactly one answer, unless asker_cancel() took it back.
 */
typedef void (*ask_done_fn)(void *ctx, void *cookie, const struct ask_answer *ans);

/*
 * Ask q. Returns 1 when the answer is known now (remembered, or a mode that asks nobody; *now
 * holds it), 0 when the question went out and the answer will come to done, or -errno when it
 * could not be asked (the caller denies).
 */
int asker_ask(struct asker *a, const struct ask_question *q, void *cookie, struct ask_answer *now);

/* Forget an ask whose caller went away (the task died); its answer is dropped. */
void asker_cancel(struct asker *a, void *cookie);

/* The descriptor to poll for input, or -1. */
int asker_poll_fd(const struct asker *a);

/* Milliseconds until the next ask times out; -1 when none waits. */
int asker_timeout_ms(const struct asker *a);

/* Read what arrived (readable) and expire asks past their time; call done for each answer. */
void asker_process(struct asker *a, bool readable, ask_done_fn done, void *ctx);

/*
 * ASK_MODE_ATTEND: fd (owned from now on) is a person's `airlock attend`, speaking the
 * controller's JSON lines; every ask that waits is sent to it, and so is every later one,
 * until it goes away (the asks then wait for the next, or their timeout). A newer attend
 * takes over from an older one, which is closed.
 */
void asker_attach(struct asker *a, int fd);

enum ask_mode asker_mode(const struct asker *a);

/* Whether a question is on the terminal now (the relay holds the program's output). */
bool asker_prompt_active(const struct asker *a);

/* How many asks wait for an answer. */
unsigned asker_pending(const struct asker *a);

#endif
