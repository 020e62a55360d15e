/* SPDX-License-Identifier: MIT */
/*
 * The live prompt: a question the rules left open ("ask"), put to the person on the
 * terminal (/dev/tty) while the sandbox keeps running. One question is on screen at a time;
 * later ones wait in order. No curses: a few lines of plain text and one key per answer (and
 * one input line to edit a rule before it is saved), so the program's own screen (which the
 * supervisor holds back meanwhile, see run.c) is left as it was. Everything the program
 * controls is shown escaped (term_sanitize).
 */
#ifndef AIRLOCK_UI_PROMPT_H
#define AIRLOCK_UI_PROMPT_H

#include <stdbool.h>

struct prompt;
struct prompt_item;

/*
 * A question, as the person reads it: plain strings, so that the prompt needs nothing of the
 * supervisor's (supervisor/supervise/ask.c fills it). Borrowed for the duration of prompt_add().
 */
struct prompt_question {
	const char *cls;	     /* "exec", "connect", "dns" */
	const char *target;	     /* what the class acts on ("/usr/bin/git", "1.2.3.4:443") */
	const char *name;	     /* connect: the host name looked up, or NULL */
	const char *rule;	     /* the rule that said ask ("file:line"), or NULL */
	const char *who;	     /* the asking process's command line, joined */
	const char *command;	     /* exec: the command to run, joined, or NULL */
	const char *suggest;	     /* a rule body the answer can be saved as, or NULL */
	const char *suggest_program; /* the same for the program with any arguments, or NULL */
	bool program;		     /* the program-wide answers (A, D) are offered */
	int pid;		     /* 0: a name lookup, which names no process */
};

struct prompt_reply {
	unsigned id; /* the id given to prompt_add() */
	bool allow;
	bool remember;	     /* for this session (also when the answer was saved as a rule) */
	bool program;	     /* ... for the program with any arguments (with remember) */
	bool interrupt;	     /* a second Ctrl-C: the program is to be interrupted as well */
	const char *save_as; /* the person chose to save the answer as a rule with this body
				(valid until prompt_remove()), as proposed or as edited ('e');
				the caller checks it, saves it and says how with prompt_say(), or
				refuses it with prompt_save_refused(): nothing in ui/ writes a
				file */
};

/* Open /dev/tty for questions. NULL after printing why. */
struct prompt *prompt_open(void);

void prompt_close(struct prompt *p);

/* The terminal's descriptor while a question is on screen (to poll), else -1. */
int prompt_fd(const struct prompt *p);

/* Whether a question is on screen: the program's terminal output and input are held. */
bool prompt_active(const struct prompt *p);

/* Queue q (copied) under id; shown at once when nothing else is. */
struct prompt_item *prompt_add(struct prompt *p, const struct prompt_question *q, unsigned id);

/* When the question is denied unless answered (CLOCK_MONOTONIC ms): the prompt counts down. */
void prompt_set_deadline(struct prompt_item *it, unsigned long long deadline_ms);

/* Redraw the countdown of the question on screen when its second changed. */
void prompt_tick(struct prompt *p);

/* Milliseconds until the countdown on screen changes; -1 when none is shown. */
int prompt_tick_ms(const struct prompt *p);

/* The question it ran out of time: say "timed out: denied" (before prompt_remove()). */
void prompt_timed_out(struct prompt *p, struct prompt_item *it);

/* The id a question was added under. */
unsigned prompt_item_id(const struct prompt_item *it);

/* Take a question back (answered elsewhere, or its process died); the next one is shown. */
void prompt_remove(struct prompt *p, struct prompt_item *it);

/*
 * Read the keys typed. Returns 1 with *r filled when the question on screen was answered (the
 * caller then removes it with prompt_remove()), 0 when no answer is complete yet.
 */
int prompt_read(struct prompt *p, struct prompt_reply *r);

/* The terminal went away (hang-up, read error): nobody can answer any more. */
bool prompt_gone(const struct prompt *p);

/*
 * Whether a second Ctrl-C within two seconds, at a question, asks to interrupt the program too
 * (prompt_reply.interrupt; the caller does it). Off: every Ctrl-C at a question just denies.
 */
void prompt_set_interrupt(struct prompt *p, bool on);

/* Where "save as a rule" goes (shown; the caller writes it). Set before the first question:
   without it, saving is not offered. */
void prompt_set_rules_file(struct prompt *p, const char *path);

/* Say msg (escaped) after the answer on screen, before the caller removes the question. */
void prompt_say(struct prompt *p, const char *msg);

/* The longest rule the person can type when editing one. */
#define PROMPT_MAX_RULE 4096

/*
 * The rule of a reply's save_as cannot be saved (why: the rules parser's message): say so,
 * and put the rule back into the editor, the question still up, for the person to fix it
 * (Enter, then y or n again) or leave it (Esc). Call instead of prompt_remove().
 */
void prompt_save_refused(struct prompt *p, const char *why);

#endif
